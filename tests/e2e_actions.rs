//! End-to-end: what happens to an action while it runs, with the real binary in a
//! pseudo-terminal. The audit log has its "started" line before it runs, even when the
//! console is killed (SIGKILL) mid-run; quitting while it runs waits, then records it
//! abandoned; a long verification outlives `action_timeout` as a background job, with the
//! console usable meanwhile, and is audited when it ends.

mod e2e;
mod support;

use std::process::Command;
use std::time::Duration;

use e2e::pty::{Console, write_config};
use support::{Postgres, Redis, TestDir};

fn audit_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}

fn redis_config(dir: &std::path::Path, redis: &Redis, extra: &str) -> (String, std::path::PathBuf) {
    let audit = dir.join("audit.jsonl");
    let cfg = write_config(
        dir,
        &format!(
            "default_context = \"t\"\naudit_log = \"{}\"\n{extra}\n[contexts.t]\nhost = false\n[[contexts.t.redis]]\nname = \"cache\"\nurl = \"{}\"\n",
            audit.display(),
            redis.url()
        ),
    );
    (cfg.display().to_string(), audit)
}

/// Opens the confirmation of BGSAVE on the Persistence tab and confirms it.
fn bgsave(c: &mut Console, addr: &str) {
    c.send(":redis\r");
    c.wait_for(addr);
    c.send("l");
    c.wait_for("LAST SAVE");
    c.send("b");
    c.wait_for("Confirm action");
    c.send("\t");
    c.send("\r");
    c.wait_for("Running");
}

#[test]
fn a_console_killed_mid_action_leaves_the_started_line_in_the_audit() {
    let redis = Redis::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, audit) = redis_config(dir.path(), &redis, "action_timeout = \"30s\"");
    let addr = format!("127.0.0.1:{}", redis.port());
    let mut c = Console::start(&["--config", &cfg], 120, 40);
    c.wait_for("cache ok");
    // Stopped, the server takes the command and never answers.
    redis.pause();
    bgsave(&mut c, &addr);
    support::wait_until("the started line", Duration::from_secs(10), || {
        (!audit_lines(&audit).is_empty()).then_some(())
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c.pid()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    c.wait_exit();
    redis.resume();
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["outcome"], "started");
    assert!(lines[0]["id"].is_string(), "{:?}", lines[0]);
    assert!(
        lines[0]["command"]
            .as_str()
            .is_some_and(|c| c.starts_with("BGSAVE on ")),
        "{:?}",
        lines[0]
    );
}

/// A files backup source over a real `pg_dump`, and the path of the dump it lists.
fn dump_source(
    dir: &std::path::Path,
    action_timeout: &str,
) -> (String, std::path::PathBuf, TestDir, Vec<u8>, Postgres) {
    dump_source_of(dir, action_timeout, 1000)
}

fn dump_source_of(
    dir: &std::path::Path,
    action_timeout: &str,
    rows: u32,
) -> (String, std::path::PathBuf, TestDir, Vec<u8>, Postgres) {
    let pg = Postgres::start();
    let db = pg.create_database("shop");
    pg.psql_db(
        &db,
        &format!("CREATE TABLE t AS SELECT g, md5(g::text) AS v FROM generate_series(1, {rows}) g"),
    );
    let files = TestDir::new("dumps");
    let dump = files.path().join("shop.dump");
    let out = Command::new("pg_dump")
        .args([
            "-Fc",
            "-d",
            &pg.url_for(&db),
            "-f",
            &dump.display().to_string(),
        ])
        .output()
        .expect("pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&dump).expect("dump");
    let audit = dir.join("audit.jsonl");
    let cfg = write_config(
        dir,
        &format!(
            "default_context = \"t\"\naudit_log = \"{}\"\naction_timeout = \"{action_timeout}\"\n[contexts.t]\nhost = false\n\
             [[contexts.t.backups]]\nname = \"dumps\"\nkind = \"files\"\ndir = \"{}\"\npattern = \"*.dump\"\n",
            audit.display(),
            files.path().display(),
        ),
    );
    (cfg.display().to_string(), dump, files, bytes, pg)
}

/// Previews `v` on the listed dump, then swaps the file for a FIFO before confirming: the
/// verification then waits on the FIFO as long as the test wants, like a huge dump would.
fn verify_on_a_fifo(c: &mut Console, dump: &std::path::Path) {
    c.send(":backups\r");
    // The key is offered once the source's first poll is in.
    c.wait_for("v verify");
    c.send("v");
    c.wait_for("Confirm action");
    std::fs::remove_file(dump).expect("rm");
    let made = Command::new("mkfifo").arg(dump).status().expect("mkfifo");
    assert!(made.success());
    c.send("\t");
    c.send("\r");
    c.wait_for("started in the background");
}

#[test]
fn quitting_mid_action_waits_then_records_it_abandoned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, dump, _files, _bytes, _pg) = dump_source(dir.path(), "30s");
    let audit = dir.path().join("audit.jsonl");
    let mut c = Console::start(&["--config", &cfg], 140, 40);
    verify_on_a_fifo(&mut c, &dump);
    c.send("q");
    c.wait_for("waiting up to 10s for 1 running action(s) to finish");
    let st = c.wait_exit_within(Duration::from_secs(30));
    assert!(st.success(), "{st:?}");
    c.assert_restored();
    let lines = audit_lines(&audit);
    let outcomes: Vec<&str> = lines.iter().filter_map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, vec!["started", "abandoned"], "{lines:?}");
    assert_eq!(lines[0]["id"], lines[1]["id"]);
}

#[test]
fn a_verification_longer_than_the_action_timeout_runs_to_its_end_in_the_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two million rows: reading the whole dump back takes far longer than 100 ms.
    let (cfg, _dump, _files, _bytes, _pg) = dump_source_of(dir.path(), "100ms", 2_000_000);
    let audit = dir.path().join("audit.jsonl");
    let mut c = Console::start(&["--config", &cfg], 140, 40);
    c.send(":backups\r");
    // The key is offered once the source's first poll is in.
    c.wait_for("v verify");
    c.send("v");
    c.wait_for("Confirm action");
    c.send("\t");
    c.send("\r");
    c.wait_for("started in the background");
    // The console answers keys while the job runs.
    c.send("1");
    c.wait_for("1 Kafka");
    c.wait_for("pg_restore: ok");
    assert!(!c.screen().contains("timed out"), "{}", c.screen());
    c.send("q");
    c.wait_exit();
    let lines = audit_lines(&audit);
    let outcomes: Vec<&str> = lines.iter().filter_map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, vec!["started", "ok"], "{lines:?}");
    // It did outlive the action timeout (else this test would prove nothing).
    let at = |l: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(l["time"].as_str().unwrap_or_default()).expect("time")
    };
    assert!(
        at(&lines[1]) - at(&lines[0]) > chrono::Duration::milliseconds(100),
        "the dump was verified faster than the timeout: make it bigger"
    );
}
