//! PgBouncer (Debian's package, a real server) in front of the harness's PostgreSQL: a
//! saturated pool shows its waiting client in the pane.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use opsdeck::sources::Sample;
use opsdeck::sources::postgres::PostgresSpec;
use opsdeck::sources::postgres::{PgPoller, TAB_PGBOUNCER};
use support::postgres::{as_server_user, chown_for_server, pg_bin_dir};
use support::process::{ProcessSpec, ServerProcess};
use support::{Postgres, TestDir, free_port, require_program};

struct Clients(Vec<Child>);
impl Drop for Clients {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturated_pool_shows_waiting_clients() {
    let bouncer_bin = require_program("pgbouncer", "pgbouncer");
    let pg = Postgres::start();
    let dir = TestDir::new("pgbouncer");
    let port = free_port();
    std::fs::write(
        dir.path().join("users.txt"),
        "\"postgres\" \"\"\n\"pgbouncer\" \"\"\n",
    )
    .expect("auth file");
    std::fs::write(
        dir.path().join("pgbouncer.ini"),
        format!(
            "[databases]\nshop = host=127.0.0.1 port={} dbname=postgres user=postgres\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {}\nadmin_users = pgbouncer\n\
             pool_mode = session\ndefault_pool_size = 1\nmax_client_conn = 20\nstats_period = 1\n",
            pg.port(),
            dir.path().join("users.txt").display()
        ),
    )
    .expect("ini");
    chown_for_server(dir.path());
    let ini = dir.path().join("pgbouncer.ini");
    let home = dir.path().to_path_buf();
    let _bouncer = ServerProcess::start(ProcessSpec {
        name: format!("pgbouncer:{port}"),
        command: Box::new(move || {
            let mut c = as_server_user(&bouncer_bin, &home);
            c.arg(&ini);
            c
        }),
        ready: Box::new(move || {
            std::net::TcpStream::connect(("127.0.0.1", port))
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
        stdout_log: dir.path().join("pgbouncer.log"),
        extra_logs: vec![],
        stop_signal: libc::SIGINT,
        start_timeout: Duration::from_secs(20),
        stop_timeout: Duration::from_secs(10),
        retry_early_exit: false,
    });

    let psql = |sql: &str| {
        Command::new(pg_bin_dir().join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                "shop",
            ])
            .args(["-c", sql])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("psql")
    };
    let mut clients = Clients(vec![psql("select pg_sleep(60)")]);

    let mut poller = PgPoller::new(PostgresSpec {
        name: "db".into(),
        url: pg.url(),
        pgbouncer: Some(format!("postgres://pgbouncer@127.0.0.1:{port}/pgbouncer")),
        ..Default::default()
    });
    let pool = |s: &opsdeck::sources::postgres::PgSample| {
        s.pgbouncer_pools
            .iter()
            .flatten()
            .find(|p| p.database == "shop")
            .cloned()
    };
    let mut last = None;
    for i in 0..100 {
        if i == 10 {
            // The single server connection is taken by now: this one must wait.
            clients.0.push(psql("select 1"));
        }
        let s = poller.sample().await.expect("poll");
        assert!(
            !s.hints.iter().any(|h| h.starts_with("pgbouncer")),
            "{:?}",
            s.hints
        );
        if pool(&s).is_some_and(|p| p.clients_waiting == 1) {
            last = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = last.expect("a waiting client in pool shop");
    let p = pool(&s).expect("pool");
    assert_eq!(
        (p.clients_active, p.clients_waiting, p.servers_active),
        (1, 1, 1)
    );
    assert_eq!(p.pool_mode, "session");
    let model = Sample::Postgres(Box::new(s)).model();
    let t = &model.tables[TAB_PGBOUNCER];
    assert_eq!(t.title, "PgBouncer");
    assert!(
        t.rows
            .iter()
            .any(|r| r.key == "shop/postgres" && r.cells[3].text == "1")
    );
    drop(clients);

    // SHOW STATS: the queries served through the pool are counted (averaged per second).
    let out = Command::new(pg_bin_dir().join("psql"))
        .args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "shop",
            "-c",
            "select 1",
            "-c",
            "select 2",
            "-c",
            "select 3",
        ])
        .output()
        .expect("psql through pgbouncer");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen = None;
    let mut last_pool = None;
    for _ in 0..50 {
        let s = poller.sample().await.expect("poll");
        last_pool = pool(&s);
        if let Some(st) = last_pool
            .as_ref()
            .and_then(|p| p.stats.clone())
            .filter(|st| st.total_query_count >= 3)
        {
            seen = Some(st);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let st = seen.unwrap_or_else(|| {
        panic!("SHOW STATS counts the queries served through pool shop: {last_pool:?}")
    });
    assert!(st.total_xact_count >= 3, "{st:?}");
}
