//! End-to-end: the real binary in a pseudo-terminal against a real Redis.

mod e2e;
mod support;

use e2e::pty::{Console, write_config};
use support::Redis;

fn config(dir: &std::path::Path, redis: &Redis, extra: &str) -> String {
    let audit = dir.join("audit.jsonl");
    write_config(
        dir,
        &format!(
            "default_context = \"t\"\naudit_log = \"{}\"\n[contexts.t]\ncolor = \"cyan\"\n{extra}\n[[contexts.t.redis]]\nname = \"cache\"\nurl = \"{}\"\n",
            audit.display(),
            redis.url()
        ),
    )
    .display()
    .to_string()
}

fn addr(redis: &Redis) -> String {
    format!("127.0.0.1:{}", redis.port())
}

#[test]
fn starts_switches_panes_helps_filters_and_quits_restoring_the_terminal() {
    let redis = Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &redis, "");
    let mut c = Console::start(&["--config", &cfg], 120, 50);
    c.wait_for("1 Kafka");
    c.wait_for("6 Host");
    c.wait_for("cache ok");
    c.wait_for(&addr(&redis));
    c.send("3");
    c.send("\r");
    c.wait_for("3 Redis — cache");
    c.wait_for("POLICY");
    c.send("?");
    c.wait_for("Help — keymap default");
    c.wait_for("Redis BGSAVE");
    c.send("\x1b");
    c.wait_gone("Help — keymap default");
    c.send("/");
    c.send("nomatch");
    c.wait_for("no rows match /nomatch");
    c.send("\x1b");
    c.wait_gone("no rows match");
    c.wait_for(&addr(&redis));
    c.send("\x1b");
    c.wait_for("2 Databases");
    c.send("6");
    c.send(":ho\t\r");
    c.wait_for("Disks");
    c.send("q");
    let st = c.wait_exit();
    assert!(st.success(), "{st:?}");
    c.assert_restored();
}

#[test]
fn read_only_refuses_an_action_and_audits_the_refusal() {
    let redis = Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &redis, "");
    let mut c = Console::start(&["--config", &cfg, "--readonly"], 100, 30);
    c.wait_for("READ-ONLY");
    c.send(":redis\r");
    c.wait_for("noeviction");
    c.send("b");
    c.wait_for("refused: read-only mode (--readonly)");
    assert!(!c.screen().contains("Confirm action"));
    c.send("q");
    c.wait_exit();
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let entry: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(entry["outcome"], "refused");
    assert_eq!(entry["target"], addr(&redis));
    assert_eq!(entry["context"], "t");
}

#[test]
fn bgsave_goes_through_confirmation_runs_and_is_audited() {
    let redis = Redis::start();
    let before: i64 = support::redis::query(redis.port(), &["LASTSAVE"]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &redis, "");
    let mut c = Console::start(&["--config", &cfg], 100, 30);
    c.send(":redis\r");
    c.wait_for("noeviction");
    c.send("b");
    c.wait_for("Confirm action");
    c.wait_for("BGSAVE on");
    c.send("\t\r");
    c.wait_for("Background saving started");
    let after = support::wait_until(
        "LASTSAVE to move",
        std::time::Duration::from_secs(10),
        || {
            let t: i64 = support::redis::query(redis.port(), &["LASTSAVE"]).ok()?;
            (t > before).then_some(t)
        },
    );
    assert!(after > before);
    c.send("q");
    c.wait_exit();
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let entry: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(entry["outcome"], "ok");
    assert_eq!(entry["parameters"]["op"], "bgsave");
    assert!(entry["user"].as_str().is_some_and(|u| !u.is_empty()));
}

#[test]
fn a_dead_backend_shows_its_error_and_keys_still_answer() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on.
    let port = support::free_port();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[contexts.t]\n[[contexts.t.redis]]\nname = \"gone\"\nurl = \"redis://127.0.0.1:{port}\"\n"
        ),
    );
    let mut c = Console::start(&["--config", cfg.to_str().unwrap()], 100, 30);
    c.wait_for("Connection refused");
    c.send("?");
    c.wait_for("Help — keymap");
    c.send("q");
    c.wait_exit();
    c.assert_restored();
}

/// The frame follows the terminal's size: the console draws a fixed area, resized from the
/// terminal's resize events (it does not ask the terminal its size before every frame).
#[test]
fn a_resized_terminal_gets_frames_of_its_new_size() {
    let (_redis, _dir, mut c) = console_on_redis_at_80x24();
    // Larger: the tiles' right borders move out to the new last column, the hint bar down
    // to the new last line; then smaller again.
    c.resize(130, 40);
    wait_for_frame_of(&c, 130, 40);
    c.resize(70, 20);
    wait_for_frame_of(&c, 70, 20);
    c.send("q");
    assert!(c.wait_exit().success());
    c.assert_restored();
}

/// A key and a resize that arrive together are both answered: the console is stopped while
/// the terminal is resized and a key is typed, so both are waiting when it reads its input.
/// (An edge-triggered reader answers one and keeps the other until the next key.)
#[test]
fn a_key_typed_while_the_terminal_is_resized_is_answered_with_the_resize() {
    use nix::sys::signal::{Signal, kill};
    let (_redis, _dir, mut c) = console_on_redis_at_80x24();
    let pid = nix::unistd::Pid::from_raw(c.pid());
    for (cols, rows) in [(100, 28), (90, 30), (120, 36)] {
        kill(pid, Signal::SIGSTOP).unwrap();
        // Give the stop a moment to land before the input does.
        std::thread::sleep(std::time::Duration::from_millis(100));
        c.resize(cols, rows);
        c.send("?");
        kill(pid, Signal::SIGCONT).unwrap();
        c.wait_for("Help — keymap");
        wait_for_frame_of(&c, cols, rows);
        c.send("?");
        c.wait_gone("Help — keymap");
    }
    c.send("q");
    assert!(c.wait_exit().success());
    c.assert_restored();
}

/// A console watching a fresh Redis in an 80x24 terminal, its first full frame drawn (the
/// server and config dir are returned to outlive it).
fn console_on_redis_at_80x24() -> (Redis, tempfile::TempDir, Console) {
    let redis = Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &redis, "");
    let c = Console::start(&["--config", &cfg], 80, 24);
    c.wait_for("cache ok");
    wait_for_frame_of(&c, 80, 24);
    (redis, dir, c)
}

/// Waits until the screen's text reaches its last column and its last line is the hint bar
/// (after a shrink, the old frame cut to the new size reaches both edges too).
fn wait_for_frame_of(c: &Console, cols: u16, rows: u16) {
    let (cols, rows) = (usize::from(cols), usize::from(rows));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let s = c.screen();
        let widest = s.lines().map(|l| l.trim_end().chars().count()).max();
        let hints_last = s.lines().last().is_some_and(|l| l.contains("? help"));
        if widest == Some(cols) && s.lines().count() == rows && hints_last {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {cols}x{rows} frame:\n{s}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn signal_restores(sig: nix::sys::signal::Signal) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "[contexts.t]\nhost = true\n");
    let mut c = Console::start(&["--config", cfg.to_str().unwrap()], 100, 30);
    c.wait_for("6 Host");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.pid()), sig).unwrap();
    c.wait_exit();
    c.assert_restored();
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_restores(nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn sighup_restores_the_terminal() {
    signal_restores(nix::sys::signal::Signal::SIGHUP);
}
