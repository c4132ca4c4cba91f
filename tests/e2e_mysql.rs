//! End-to-end: the MariaDB source through the real binary, against a real MariaDB (and a
//! real PostgreSQL) from the harness. In a pseudo-terminal: the Databases pane shows
//! PostgreSQL, `n` switches it to MariaDB, a session running `SELECT SLEEP(60)` is selected,
//! `K` previews KILL CONNECTION with the thread id and its query, Tab+Enter runs it, the
//! session is gone on the server and the audit log has the entry. And `check`/`snapshot` as
//! the monitoring user the README's grants create.

mod e2e;
mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::pty::{Console, write_config};
use support::{Mariadb, Postgres};

/// A `mariadb` client running one statement; killed on drop so nothing outlives a failed
/// test.
struct Client(Child);

impl Client {
    fn run(db: &Mariadb, user: &str, sql: &str) -> Client {
        let child = Command::new("mariadb")
            .args(["--no-defaults", "--protocol=TCP", "-h", "127.0.0.1"])
            .arg(format!("--port={}", db.port()))
            .arg(format!("--user={user}"))
            .env("MYSQL_PWD", user)
            .args(["--batch", "-e", sql])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the mariadb client (package mariadb-client) runs");
        Client(child)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (up to 20 s) for `f` to return Some; fails with `what`.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn audit_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}

#[test]
fn k_on_a_sleeping_mariadb_session_previews_kills_and_audits_kill_connection() {
    let db = Mariadb::start();
    let pg = Postgres::start();
    let shop = db.create_database("shop");
    let user = db.create_user("sleeper", &shop);
    let mut sleeper = Client::run(&db, &user, "SELECT SLEEP(60)");
    let id: u64 = wait_for("the sleeping session on the server", || {
        db.sql(&format!(
            "SELECT ID FROM information_schema.PROCESSLIST \
             WHERE USER = '{user}' AND INFO = 'SELECT SLEEP(60)'"
        ))
        .parse()
        .ok()
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let cfg = write_config(
        dir.path(),
        &format!(
            "default_context = \"t\"\naudit_log = \"{}\"\n[contexts.t]\nhost = false\n\
             [[contexts.t.postgres]]\nname = \"app\"\nurl = \"{}\"\n\
             [[contexts.t.mysql]]\nname = \"shop\"\nurl = \"{}\"\n",
            audit.display(),
            pg.url(),
            db.url().replacen("mysql://", "mariadb://", 1),
        ),
    );
    let cfg = cfg.display().to_string();
    let mut c = Console::start(&["--config", &cfg], 160, 45);
    c.wait_for("2 Databases");
    c.send(":db\r");
    // PostgreSQL first; `n` shows the MariaDB server, whose tabs are its own.
    c.wait_for("Activity");
    c.send("n");
    c.wait_for("Processlist");
    c.wait_for("MariaDB");
    c.send("l");
    c.wait_for("SELECT SLEEP(60)");
    // Narrow the table to the sleeper's row, which is then the selected one.
    c.send("/");
    c.send(&user);
    c.send("\r");
    c.wait_for("c cancel");
    c.wait_for("K terminate");
    c.send("K");
    c.wait_for("Confirm action");
    c.wait_for(&format!("KILL CONNECTION {id} "));
    c.wait_for(&format!("thread {id} {user}@127.0.0.1:"));
    c.wait_for(": SELECT SLEEP(60)");
    // Focus starts on Cancel: Tab to Confirm, Enter.
    c.send("\t");
    c.send("\r");
    c.wait_for(&format!(
        "KILL CONNECTION: 1 of 1 killed; thread {id}: connection killed"
    ));

    // On the server: the connection is gone, and its client saw it die.
    wait_for("the killed session to leave the processlist", || {
        (db.sql(&format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id}"
        )) == "0")
            .then_some(())
    });
    let status = wait_for("the sleeping client to exit", || {
        sleeper.0.try_wait().expect("try_wait")
    });
    assert!(
        !status.success(),
        "SELECT SLEEP(60) finished normally: it was not killed"
    );
    // The pane follows: the filtered table has no row left.
    c.wait_for(&format!("no rows match /{user}"));

    c.send("q");
    let st = c.wait_exit();
    assert!(st.success(), "{st:?}");
    c.assert_restored();

    // Its "started" line, then its end with the same id.
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["outcome"], "started", "{lines:?}");
    assert_eq!(lines[0]["id"], lines[1]["id"]);
    let l = &lines[1];
    assert_eq!(l["context"], "t", "{l}");
    assert_eq!(l["source"], "shop", "{l}");
    assert_eq!(l["outcome"], "ok", "{l}");
    assert!(
        l["command"]
            .as_str()
            .is_some_and(|c| c.starts_with(&format!("KILL CONNECTION {id} "))),
        "{l}"
    );
    assert!(
        l["target"]
            .as_str()
            .is_some_and(|t| t.ends_with(": SELECT SLEEP(60)")),
        "{l}"
    );
    assert_eq!(l["parameters"]["system"], "mysql", "{l}");
}

fn opsdeck(home: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    c.args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env_remove("OPSDECK_CONFIG");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run opsdeck")
}

#[test]
fn check_and_snapshot_see_everything_as_the_readme_monitoring_user() {
    let db = Mariadb::start();
    // Exactly the README's grants.
    db.sql(
        "CREATE USER 'monitor'@'%' IDENTIFIED BY 'monitor-pw'; \
         GRANT PROCESS, SLAVE MONITOR, CONNECTION ADMIN ON *.* TO 'monitor'@'%'; \
         GRANT SELECT ON performance_schema.* TO 'monitor'@'%';",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("mysql://monitor@127.0.0.1:{}/", db.port());
    let cfg = write_config(
        dir.path(),
        &format!(
            "default_context = \"t\"\n[contexts.t]\nhost = false\n\
             [[contexts.t.mysql]]\nname = \"shop\"\nurl = \"{url}\"\n\
             password_env = \"SHOP_DB_PASSWORD\"\n"
        ),
    );
    let cfg = cfg.display().to_string();
    let env = [("SHOP_DB_PASSWORD", "monitor-pw")];

    let out = opsdeck(
        dir.path(),
        &[
            "--config", &cfg, "check", "--only", "mariadb", "--output", "json",
        ],
        &env,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("check prints JSON");
    let src = &v["sources"][0];
    assert_eq!(v["sources"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(src["kind"], "mysql", "{src}");
    assert_eq!(src["status"], "ok", "{src}");
    assert_eq!(src["target"], url.as_str(), "{src}");

    let out = opsdeck(
        dir.path(),
        &["--config", &cfg, "snapshot", "--output", "json"],
        &env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("snapshot is JSON");
    let data = &v["sources"][0]["data"];
    assert_eq!(data["flavor"], "mariadb", "{data}");
    assert_eq!(data["connected_as"], "monitor@%", "{data}");
    // Nothing is missing for want of a privilege.
    assert_eq!(data["has_process"], true, "{data}");
    assert_eq!(data["hints"], serde_json::json!([]), "{data}");
    assert!(data["statements"].is_array(), "{data}");
    assert!(data["replication"]["error"].is_null(), "{data}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("monitor-pw"));
}
