//! The fleet view end to end: the real binary in a pseudo-terminal over twenty contexts
//! (real Redis servers from the harness, closed ports, a paused server that never answers),
//! and `check --all-contexts` through the binary with its exit codes.

mod e2e;
mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use e2e::pty::{Console, write_config};
use support::{Redis, TestDir, free_port};

/// The contexts, in the order the fleet lists them (by name): two whose endpoint is a
/// paused server (connects, never answers: cut by the fleet's per-poll timeout), twelve on
/// real Redis servers, six on closed ports.
fn fleet_config(dir: &Path, redis: &[&Redis], hung_port: u16, closed: &[u16]) -> String {
    let mut text = String::from("default_context = \"b-redis-01\"\n");
    for i in 1..=2 {
        text.push_str(&format!(
            "[contexts.a-hung-{i}]\nhost = false\n[[contexts.a-hung-{i}.endpoints]]\n\
             name = \"api\"\nurl = \"http://127.0.0.1:{hung_port}/health\"\ntimeout = \"60s\"\n"
        ));
    }
    for i in 1..=12 {
        let r = redis[i % redis.len()];
        // One context also watches this machine.
        let host = if i == 1 { "true" } else { "false" };
        text.push_str(&format!(
            "[contexts.b-redis-{i:02}]\nhost = {host}\n[[contexts.b-redis-{i:02}.redis]]\n\
             name = \"cache\"\nurl = \"{}\"\n",
            r.url()
        ));
    }
    for (i, port) in closed.iter().enumerate() {
        let i = i + 1;
        text.push_str(&format!(
            "[contexts.c-down-{i}]\nhost = false\n[[contexts.c-down-{i}.redis]]\n\
             name = \"cache\"\nurl = \"redis://127.0.0.1:{port}\"\n"
        ));
    }
    write_config(dir, &text).display().to_string()
}

/// Ports nobody listens on.
fn closed_ports(n: usize) -> Vec<u16> {
    (0..n).map(|_| free_port()).collect()
}

/// The screen line of a context's row.
fn row_of(screen: &str, context: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| l.starts_with(&format!("│{context} ")))
        .map(str::to_string)
}

#[test]
fn twenty_contexts_answer_within_one_fleet_refresh_while_keys_move_the_selection() {
    let r1 = Redis::start();
    let r2 = Redis::start_with(&[("maxmemory", "64mb")]);
    let hung = Redis::start();
    hung.pause();
    let dir = TestDir::new("fleet-e2e");
    let cfg = fleet_config(dir.path(), &[&r1, &r2], hung.port(), &closed_ports(6));
    let started = Instant::now();
    let mut c = Console::start(&["--config", &cfg, "--fleet"], 200, 40);
    c.wait_for("Fleet — 20 contexts");

    // While the paused server holds the round open, a Redis context has answered and the
    // keys move the selection at once.
    support::wait_until("a Redis context's row", Duration::from_secs(20), || {
        let s = c.screen();
        row_of(&s, "b-redis-02").filter(|r| r.contains(" ok "))
    });
    assert!(
        c.screen().contains("polling "),
        "the round should still be under way:\n{}",
        c.screen()
    );
    let selected = |c: &Console| {
        c.lines_on_background(1)
            .into_iter()
            .find(|l| l.starts_with('│'))
    };
    assert!(
        selected(&c).is_some_and(|l| l.starts_with("│b-redis-01 (current)")),
        "{:?}",
        selected(&c)
    );
    c.send("jjj");
    support::wait_until(
        "the selection on b-redis-04",
        Duration::from_secs(20),
        || selected(&c).filter(|l| l.starts_with("│b-redis-04 ")),
    );
    // Checked after the move: the first round was under way when the keys answered.
    let s = c.screen();
    assert!(
        s.contains("polling ") && row_of(&s, "a-hung-1").is_some_and(|r| r.contains("polling…")),
        "the hung context should still be polled:\n{s}"
    );
    c.send("k");
    support::wait_until(
        "the selection back on b-redis-03",
        Duration::from_secs(20),
        || selected(&c).filter(|l| l.starts_with("│b-redis-03 ")),
    );
    c.send("j");

    // Every context answers within one fleet refresh (30 s by default), the hung ones cut
    // by the per-poll timeout (10 s with the default 2 s refresh).
    let refresh = Duration::from_secs(30);
    let screen = loop {
        let s = c.screen();
        if s.contains("polled ") {
            break s;
        }
        assert!(
            started.elapsed() < refresh,
            "not every context answered within one fleet refresh:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // b-redis-01 also watches this machine, whose disks may be full enough to warn.
    assert!(
        screen.contains("20 contexts: 8 critical, ")
            && (screen.contains(", 12 ok; 8 unreachable")
                || screen.contains(", 1 warning, 11 ok; 8 unreachable")),
        "{screen}"
    );
    for i in 1..=2 {
        let row = row_of(&screen, &format!("a-hung-{i}")).expect("hung row");
        assert!(
            row.contains("unreachable") && row.contains("endpoint api: no answer within 10s"),
            "{row}"
        );
    }
    for i in 1..=12 {
        let row = row_of(&screen, &format!("b-redis-{i:02}")).expect("redis row");
        assert!(row.contains(" ok ") || i == 1, "{row}");
        let figure = if i % 2 == 1 { "mem " } else { "no maxmemory" };
        assert!(row.contains(figure), "{row}");
    }
    assert!(
        row_of(&screen, "b-redis-01").is_some_and(|r| r.contains("2/2 up") && r.contains("disk ")),
        "{screen}"
    );
    for i in 1..=6 {
        let row = row_of(&screen, &format!("c-down-{i}")).expect("down row");
        assert!(
            row.contains("unreachable") && row.to_lowercase().contains("connection refused"),
            "{row}"
        );
    }

    // Enter switches into the selected context, as `:ctx` does.
    assert!(selected(&c).is_some_and(|l| l.starts_with("│b-redis-04 ")));
    c.send("\r");
    c.wait_for("ctx b-redis-04");
    c.wait_gone("Fleet — 20 contexts");
    c.wait_for("cache ok");
    // Opened again: the rows of the last round are there at once.
    c.send(":fleet\r");
    c.wait_for("Fleet — 20 contexts");
    let s = c.screen();
    assert!(
        row_of(&s, "b-redis-04 (current)").is_some() || s.contains("│b-redis-04 (current)"),
        "{s}"
    );
    assert!(
        row_of(&s, "c-down-1").is_some_and(|r| r.contains("unreachable")),
        "{s}"
    );
    c.send("q");
    let st = c.wait_exit();
    assert!(st.success(), "{st:?}");
    c.assert_restored();
}

fn opsdeck(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env_remove("OPSDECK_CONFIG")
        .output()
        .expect("run opsdeck")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn redis_context(name: &str, url: &str) -> String {
    format!(
        "[contexts.{name}]\nhost = false\n[[contexts.{name}.redis]]\nname = \"cache\"\nurl = \"{url}\"\n"
    )
}

#[test]
fn check_all_contexts_exits_with_the_worst_context() {
    let dir = TestDir::new("fleet-check");
    let redis = Redis::start();
    // 99% of maxmemory once filled: the built-in rule says warning.
    let full = Redis::start_with(&[("maxmemory", "4mb"), ("maxmemory-policy", "noeviction")]);
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    };
    let healthy = write(
        "healthy.toml",
        &(redis_context("one", &redis.url()) + &redis_context("two", &redis.url())),
    );
    let o = opsdeck(
        dir.path(),
        &["--config", &healthy, "check", "--all-contexts"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.starts_with("CONTEXT"), "{out}");
    assert!(out.contains("OK: 2 contexts: 2 ok"), "{out}");

    // Fill `full` until Redis refuses writes (noeviction): memory at its limit.
    let mut conn = full.connection();
    let chunk = "x".repeat(64 * 1024);
    for i in 0..200 {
        let r: redis::RedisResult<()> = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(&chunk)
            .query(&mut conn);
        if r.is_err() {
            break;
        }
    }
    let warning = write(
        "warning.toml",
        &(redis_context("one", &redis.url()) + &redis_context("full", &full.url())),
    );
    let o = opsdeck(
        dir.path(),
        &["--config", &warning, "check", "--all-contexts"],
    );
    let out = text(&o);
    assert!(out.contains("full ") && out.contains("warning"), "{out}");
    assert_eq!(o.status.code(), Some(1), "{out}");

    let port = free_port();
    let critical = write(
        "critical.toml",
        &(redis_context("one", &redis.url())
            + &redis_context("full", &full.url())
            + &redis_context("gone", &format!("redis://127.0.0.1:{port}"))),
    );
    let o = opsdeck(
        dir.path(),
        &["--config", &critical, "check", "--all-contexts"],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    let gone = out.lines().find(|l| l.starts_with("gone ")).expect(&out);
    assert!(
        gone.contains("critical") && gone.contains("unreachable"),
        "{gone}"
    );
    assert!(
        out.contains("CRITICAL: 3 contexts: 1 critical, 1 warning, 1 ok; 1 unreachable"),
        "{out}"
    );

    let o = opsdeck(
        dir.path(),
        &[
            "--config",
            &critical,
            "check",
            "--all-contexts",
            "--output",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "critical");
    assert_eq!(v["exit_code"], 2);
    let names: Vec<&str> = v["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["context"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["full", "gone", "one"]);
    assert_eq!(v["contexts"][1]["unreachable"], true);
    assert_eq!(v["contexts"][1]["exit_code"], 2);
    assert_eq!(v["contexts"][0]["exit_code"], 1);
    assert_eq!(v["contexts"][2]["figures"][0]["pane"], "redis");

    // A context with nothing configured: nothing checked there, unknown (3) ranks worst.
    let unknown = write(
        "unknown.toml",
        &(redis_context("one", &redis.url()) + "[contexts.empty]\nhost = false\n"),
    );
    let o = opsdeck(
        dir.path(),
        &["--config", &unknown, "check", "--all-contexts"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    // Unless --only leaves it out: it has no Redis to be asked about.
    let o = opsdeck(
        dir.path(),
        &[
            "--config",
            &unknown,
            "check",
            "--all-contexts",
            "--only",
            "redis",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("empty"), "{}", text(&o));

    // Bad input is 2, with what to do.
    let o = opsdeck(
        dir.path(),
        &[
            "--config",
            &healthy,
            "--context",
            "one",
            "check",
            "--all-contexts",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("drop one of them"), "{}", text(&o));
    let o = opsdeck(
        dir.path(),
        &["--config", &healthy, "check", "--all-contexts", "--wait"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
