//! The timeline against real servers, without a terminal: Sentinel's last failover is
//! recovered by a console started after it, dated by the sentinels; `snapshot --output
//! markdown` writes the hand-over note with the timeline kept in the data dir; with no
//! config and nothing on the default ports the console says what it checks and how to
//! point it elsewhere.

mod e2e;
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use opsdeck::sources::redis::{RedisPoller, RedisSpec};
use opsdeck::sources::{Poller, Sample};
use support::{Redis, RedisSentinel};

fn poll_until(
    rt: &tokio::runtime::Runtime,
    p: &mut RedisPoller,
    what: &str,
    f: impl Fn(&opsdeck::sources::redis::RedisSample) -> bool,
) -> opsdeck::sources::redis::RedisSample {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(15), p.poll())
                .await
                .map_err(|_| "poll hung".to_string())?
        });
        match r {
            Ok(s) if f(&s) => return s,
            Ok(_) => {}
            Err(_) => p.reset(),
        }
        assert!(Instant::now() < deadline, "{what}: never seen");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_console_started_after_a_failover_recovers_it_from_the_sentinels() {
    let set = RedisSentinel::start();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let spec = RedisSpec {
        name: "cache".into(),
        sentinels: set.sentinel_urls(),
        master: Some(set.master_name().into()),
        ..Default::default()
    };
    let old = format!("127.0.0.1:{}", set.master.port());
    // Before any failover the sentinels know of none: nothing is recovered.
    let mut first = RedisPoller::new(spec.clone());
    let s = poll_until(&rt, &mut first, "the set", |s| s.sentinel.is_some());
    assert_eq!(s.sentinel.as_ref().map(|v| v.config_epoch), Some(0));
    let none = Sample::from(s).events(None, "cache", chrono::Utc::now());
    assert!(none.iter().all(|e| e.what != "failover"), "{none:?}");

    let killed = chrono::Utc::now();
    set.master.kill();
    poll_until(&rt, &mut first, "the new master", |s| {
        s.sentinel.as_ref().is_some_and(|v| v.master_addr != old)
    });
    let switched = chrono::Utc::now();
    // A new console: its first sample recovers the failover, dated by the sentinels.
    let mut later = RedisPoller::new(spec);
    let s = poll_until(&rt, &mut later, "the new master, seen afresh", |s| {
        s.sentinel
            .as_ref()
            .is_some_and(|v| v.master_addr != old && v.config_epoch > 0)
    });
    let v = s.sentinel.clone().expect("sentinel");
    let events = Sample::from(s).events(None, "cache", chrono::Utc::now());
    let e = events
        .iter()
        .find(|e| e.what == "failover")
        .unwrap_or_else(|| panic!("no recovered failover in {events:?}"));
    assert!(e.recovered, "{e:?}");
    assert_eq!(e.subject, v.master_addr);
    assert!(
        e.text
            .starts_with(&format!("mymaster failed over to {}", v.master_addr)),
        "{}",
        e.text
    );
    // Sentinel reports whole seconds: the time falls between the kill and the switch seen.
    assert!(
        e.at >= killed - chrono::Duration::seconds(1)
            && e.at <= switched + chrono::Duration::seconds(1),
        "{} not within {killed} .. {switched}",
        e.at
    );
}

fn opsdeck(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("OPSDECK_CONFIG")
        .output()
        .expect("run opsdeck")
}

#[test]
fn snapshot_markdown_is_the_hand_over_note_with_the_kept_timeline() {
    let redis = Redis::start();
    let home = tempfile::tempdir().expect("home");
    let cfg = home.path().join("opsdeck.toml");
    std::fs::write(
        &cfg,
        format!(
            "default_context = \"t\"\n[contexts.t]\nhost = false\n\
             [[contexts.t.redis]]\nname = \"cache\"\nurl = \"{}\"\n\
             [[contexts.t.endpoints]]\nname = \"api\"\nurl = \"tcp://127.0.0.1:1\"\n\
             [alerts.builtin.endpoint_down]\nrunbook = \"https://wiki/api-down\"\n",
            redis.url()
        ),
    )
    .expect("config");
    // What a console wrote to the data dir earlier, in this context and another.
    let data = home.path().join("data").join("opsdeck");
    let now = chrono::Utc::now();
    let kept = |ctx: &str, text: &str, mins: i64| {
        opsdeck::timeline::TimelineEvent::new(
            now - chrono::Duration::minutes(mins),
            "failover",
            opsdeck::timeline::Severity::Warning,
            "127.0.0.1:6380",
            text,
        )
        .of("redis", "cache")
        .in_context(ctx)
    };
    opsdeck::timeline::store::append(
        &opsdeck::timeline::store::file(&data),
        &[
            kept("t", "failover: master 127.0.0.1:6379 → 127.0.0.1:6380", 20),
            kept("t", "an event from yesterday", 26 * 60),
            kept("other", "another context's event", 5),
        ],
    )
    .expect("append");
    let out = opsdeck(
        home.path(),
        &[
            "--config",
            cfg.to_str().expect("path"),
            "snapshot",
            "--output",
            "markdown",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout);
    for section in [
        "# Incident note: t at ",
        "## Context",
        "## Worst alerts",
        "## Timeline (last hour)",
        "## Key figures",
    ] {
        assert!(md.contains(section), "{section}:\n{md}");
    }
    assert!(md.contains("| CRIT | endpoint api |"), "{md}");
    assert!(md.contains("https://wiki/api-down"), "{md}");
    assert!(
        md.contains("redis cache: failover: master 127.0.0.1:6379 → 127.0.0.1:6380"),
        "{md}"
    );
    assert!(
        !md.contains("yesterday") && !md.contains("another context"),
        "{md}"
    );
    assert!(md.contains("### redis cache — ok"), "{md}");
    assert!(
        md.contains(&format!("- 127.0.0.1:{} ", redis.port())),
        "{md}"
    );
}

#[test]
fn with_no_config_and_nothing_running_the_console_says_what_it_checks() {
    use e2e::pty::Console;
    // Nothing of the tests listens on the default ports (the harness uses 20000..32000).
    let mut c = Console::start(&[], 120, 40);
    c.wait_for("no config file: localhost defaults");
    c.wait_for("local not running on 127.0.0.1:9092");
    c.wait_for("not running:");
    for d in [
        "kafka 127.0.0.1:9092",
        "postgres 127.0.0.1:5432",
        "redis 127.0.0.1:6379",
    ] {
        c.wait_for(d);
    }
    c.wait_for("to point elsewhere: --config FILE,");
    c.wait_for("or `opsdeck config init` to write one");
    let screen = c.screen();
    assert!(!screen.contains("Connection refused"), "{screen}");
    assert!(!screen.contains("CRIT "), "{screen}");
    c.send("q");
    c.wait_exit();
}
