//! End-to-end: the Backups pane's keys through the real binary in a pseudo-terminal, on real
//! backup files (`pg_dump -Fc` of a real PostgreSQL): `v` previews, runs and audits a
//! verification whose result the pane then shows; with two sources, each row's key acts on
//! its own source.

mod e2e;
mod support;

use std::process::Command;

use e2e::pty::{Console, write_config};
use support::{Postgres, TestDir};

fn dump(pg: &Postgres, db: &str, to: &std::path::Path) {
    let out = Command::new("pg_dump")
        .args([
            "-Fc",
            "-d",
            &pg.url_for(db),
            "-f",
            &to.display().to_string(),
        ])
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn audit_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}

#[test]
fn v_verifies_the_selected_sources_newest_dump_and_audits_it() {
    let pg = Postgres::start();
    let db = pg.create_database("shop");
    pg.psql_db(
        &db,
        "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g",
    );
    let good = TestDir::new("good");
    let bad = TestDir::new("bad");
    dump(&pg, &db, &good.path().join("shop-1.dump"));
    // The second source's newest file is a truncated dump: its verification must fail.
    dump(&pg, &db, &bad.path().join("shop-1.dump"));
    let bytes = std::fs::read(bad.path().join("shop-1.dump")).expect("dump");
    std::fs::write(bad.path().join("shop-1.dump"), &bytes[..bytes.len() / 2]).expect("truncate");

    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let cfg = write_config(
        dir.path(),
        &format!(
            "default_context = \"t\"\naudit_log = \"{}\"\n[contexts.t]\nhost = false\n\
             [[contexts.t.backups]]\nname = \"alpha\"\nkind = \"files\"\ndir = \"{}\"\npattern = \"*.dump\"\n\
             [[contexts.t.backups]]\nname = \"beta\"\nkind = \"files\"\ndir = \"{}\"\npattern = \"*.dump\"\n",
            audit.display(),
            good.path().display(),
            bad.path().display(),
        ),
    );
    let cfg = cfg.display().to_string();
    // Read-only: a verification changes nothing, so it still runs.
    let mut c = Console::start(&["--config", &cfg, "--readonly"], 140, 40);
    c.wait_for("4 Backups");
    c.send(":backups\r");
    c.wait_for("Sources");
    c.wait_for("beta");
    // The hint bar offers v on a source row.
    c.wait_for("v verify");
    c.send("v");
    c.wait_for("Confirm action");
    c.wait_for(&format!(
        "pg_restore --file=/dev/null {}/shop-1.dump",
        good.path().display()
    ));
    // Focus starts on Cancel: tab to Confirm, enter.
    c.send("\t");
    c.send("\r");
    c.wait_for("pg_restore: ok");
    // The pane shows it: the detail of the row tells the last verification.
    c.send("\r");
    c.wait_for("last verified");
    c.wait_for("ok pg_restore: ok");
    c.send("\x1b");
    c.wait_gone("last verified");

    // The second row verifies the second source's file, which fails.
    c.send("j");
    c.send("v");
    c.wait_for(&format!(
        "pg_restore --file=/dev/null {}/shop-1.dump",
        bad.path().display()
    ));
    c.send("\t");
    c.send("\r");
    c.wait_for("✘ failed: ");
    c.wait_for("pg_restore failed");
    c.send("q");
    let st = c.wait_exit();
    assert!(st.success(), "{st:?}");
    c.assert_restored();

    // Each action: its "started" line, then its end with the same id.
    let all = audit_lines(&audit);
    let started: Vec<&serde_json::Value> =
        all.iter().filter(|l| l["outcome"] == "started").collect();
    let lines: Vec<&serde_json::Value> = all.iter().filter(|l| l["outcome"] != "started").collect();
    assert_eq!((started.len(), lines.len()), (2, 2), "{all:?}");
    assert_eq!(started[0]["id"], lines[0]["id"]);
    assert_eq!(lines[0]["source"], "alpha");
    assert_eq!(lines[0]["outcome"], "ok");
    assert!(
        lines[0]["command"]
            .as_str()
            .is_some_and(|c| c.starts_with("pg_restore --file=/dev/null ")),
        "{:?}",
        lines[0]
    );
    assert_eq!(lines[1]["source"], "beta");
    assert_eq!(lines[1]["outcome"], "error");
}
