//! Redis latency diagnostics against a real server: a slow command (`DEBUG SLEEP`, run by
//! this test only) shows in the Slow log tab without its arguments' values, latency events
//! and command stats are read, eviction advice follows the keys' TTLs, and memory has a
//! capacity figure against maxmemory.

mod support;

use std::time::Duration;

use opsdeck::sources::Sample;
use opsdeck::sources::redis::{RedisPoller, RedisSample, RedisSpec, Tab};
use opsdeck::sources::system::Poller;
use support::Redis;

fn poller(r: &Redis) -> RedisPoller {
    RedisPoller::new(RedisSpec {
        name: "cache".into(),
        url: Some(r.url()),
        ..Default::default()
    })
    .with_slow_refresh(Duration::ZERO)
}

fn table<'a>(
    m: &'a opsdeck::views::PaneModel,
    s: &RedisSample,
    tab: Tab,
) -> &'a opsdeck::views::Table {
    let i = s.tabs().iter().position(|t| *t == tab).expect("tab");
    &m.tables[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_command_shows_in_the_slow_log_without_its_values() {
    let r = Redis::start_with(&[
        ("enable-debug-command", "local"),
        ("slowlog-log-slower-than", "10000"),
        ("latency-monitor-threshold", "20"),
        ("maxmemory", "64mb"),
        ("maxmemory-policy", "volatile-lru"),
    ]);
    let mut p = poller(&r);
    let before = p.poll().await.expect("poll");
    let m = Sample::Redis(Box::new(before.clone())).model();
    assert!(
        !table(&m, &before, Tab::SlowLog)
            .rows
            .iter()
            .any(|row| row.cells[3].text.starts_with("DEBUG SLEEP")),
        "no slow command yet"
    );
    r.cli(&["DEBUG", "SLEEP", "0.2"]);
    r.cli(&["SET", "user:42", "a-secret-value"]);
    let s = p.poll().await.expect("poll");
    let m = Sample::Redis(Box::new(s.clone())).model();
    let slow = table(&m, &s, Tab::SlowLog);
    let row = slow
        .rows
        .iter()
        .find(|row| row.cells[3].text.starts_with("DEBUG SLEEP"))
        .unwrap_or_else(|| panic!("DEBUG SLEEP not in the slow log: {:#?}", s.diagnostics));
    assert_eq!(
        row.cells[3].text, "DEBUG SLEEP (+1 arg)",
        "the duration is not shown"
    );
    let took = &s.diagnostics[0]
        .slowlog
        .iter()
        .find(|e| e.command.starts_with("DEBUG SLEEP"))
        .expect("entry");
    assert!(took.duration_us >= 200_000, "{took:?}");
    // The sleep went over latency-monitor-threshold: a "command" latency event.
    let lat = table(&m, &s, Tab::Latency);
    assert!(
        lat.rows.iter().any(|row| row.cells[1].text == "command"),
        "{:#?}",
        s.diagnostics[0].latency
    );
    let ev = s.diagnostics[0]
        .latency
        .iter()
        .find(|e| e.event == "command")
        .expect("event");
    assert!(ev.max_ms >= 200 && !ev.history.is_empty(), "{ev:?}");
    // Command stats: the SET is counted, and no value appears anywhere in the sample.
    assert!(
        s.diagnostics[0]
            .commands
            .iter()
            .any(|c| c.command == "set" && c.calls >= 1),
        "{:?}",
        s.diagnostics[0].commands
    );
    let json = serde_json::to_string(&s).expect("json");
    assert!(
        !json.contains("a-secret-value"),
        "a value leaked into the sample"
    );

    // Eviction advice: keys without TTL under volatile-lru cannot be evicted.
    for i in 0..20 {
        r.cli(&["SET", &format!("k{i}"), "v"]);
    }
    let s = p.poll().await.expect("poll");
    let a = s.eviction.as_ref().expect("advice");
    assert_eq!(a.expiring_keys, 0);
    assert_eq!(a.policy.as_deref(), Some("allkeys-lru"), "{a:?}");
    assert!(a.why.contains("can evict nothing"), "{}", a.why);
    // Memory against maxmemory: a capacity figure from the first poll on.
    let mem = s
        .capacity
        .iter()
        .find(|f| f.kind == "redis.memory")
        .expect("memory figure");
    assert_eq!(mem.limit, Some(64.0 * 1024.0 * 1024.0));
    assert!(mem.what.contains("maxmemory"), "{}", mem.what);
}
