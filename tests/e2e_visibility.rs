//! End-to-end: the real binary in a pseudo-terminal lists a real Redis's clients only while
//! its Clients tab is on screen, as the server's `INFO commandstats` counts them.

mod e2e;
mod support;

use std::time::{Duration, Instant};

use e2e::pty::{Console, write_config};
use support::Redis;

/// `calls` of one command in the server's `INFO commandstats` (0 when never run).
fn calls(r: &Redis, command: &str) -> u64 {
    let prefix = format!("cmdstat_{command}:calls=");
    r.cli(&["INFO", "commandstats"])
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|rest| rest.split(',').next()?.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits until the console has polled `n` more times (it PINGs each node once a poll; the
/// test itself never PINGs).
fn polls(r: &Redis, n: u64) {
    let start = calls(r, "ping");
    let deadline = Instant::now() + Duration::from_secs(30);
    while calls(r, "ping") < start + n {
        assert!(
            Instant::now() < deadline,
            "the console stopped polling Redis"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_console_lists_redis_clients_only_while_the_clients_tab_is_open() {
    let redis = Redis::start();
    let mut watched = redis.connection();
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("watched-client")
        .query(&mut watched)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "default_context = \"t\"\nrefresh = \"300ms\"\naudit_log = \"{}\"\n[contexts.t]\nhost = false\n[[contexts.t.redis]]\nname = \"cache\"\nurl = \"{}\"\n",
            dir.path().join("audit.jsonl").display(),
            redis.url()
        ),
    );
    let mut c = Console::start(&["--config", &cfg.display().to_string()], 120, 40);
    c.wait_for("cache ok");
    // The Redis pane zoomed on its first tab: no CLIENT LIST in several polls.
    c.send("3");
    c.send("\r");
    c.wait_for("3 Redis — cache");
    polls(&redis, 5);
    assert_eq!(
        calls(&redis, "client|list"),
        0,
        "listed with the Clients tab closed"
    );

    // Right, right, right: Persistence, Replication, Clients.
    c.send("\x1b[C\x1b[C\x1b[C");
    c.wait_for("watched-client");
    polls(&redis, 3);
    let open = calls(&redis, "client|list");
    assert!(open >= 3, "{open} CLIENT LIST calls while the tab was open");

    // Back to the overview: a poll already under way may still list, then none do.
    c.send("\x1b");
    c.wait_gone("watched-client");
    polls(&redis, 2);
    let closed = calls(&redis, "client|list");
    polls(&redis, 5);
    assert_eq!(
        calls(&redis, "client|list"),
        closed,
        "listed after the tab closed"
    );
    c.send("q");
    assert!(c.wait_exit().success());
    c.assert_restored();
}
