//! End-to-end: the MariaDB source through the real binary in a pseudo-terminal, against a
//! real MariaDB and a real PostgreSQL from the harness: the Databases pane shows PostgreSQL,
//! `n` switches it to MariaDB, a session running `SELECT SLEEP(60)` is selected, `K`
//! previews KILL CONNECTION with the thread id and its query, Tab+Enter runs it, the session
//! is gone on the server and the audit log has the entry.

#[allow(dead_code)]
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

    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let l = &lines[0];
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
