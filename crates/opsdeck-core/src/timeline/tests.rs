use chrono::{DateTime, Duration, Utc};

use super::*;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("time")
}

fn ev(secs: i64, text: &str) -> TimelineEvent {
    TimelineEvent::new(
        t0() + Duration::seconds(secs),
        "role",
        Severity::Warning,
        "127.0.0.1:6379",
        text,
    )
    .of("redis", "cache")
    .in_context("prod")
}

fn texts(t: &Timeline) -> Vec<&str> {
    t.events().iter().map(|e| e.text.as_str()).collect()
}

#[test]
fn events_are_kept_in_time_order_whatever_order_they_arrive_in() {
    let mut t = Timeline::default();
    let now = t0() + Duration::seconds(100);
    assert!(t.add(ev(10, "b"), now));
    assert!(t.add(ev(30, "d"), now));
    // A recovered event dated before the others goes where its time says.
    let mut a = ev(5, "a").recovered();
    a.subject = "127.0.0.1:6380".into();
    assert!(t.add(a, now));
    assert!(t.add(ev(20, "c"), now));
    assert_eq!(texts(&t), ["a", "b", "c", "d"]);
    let newest: Vec<&str> = t.newest_of("prod").map(|e| e.text.as_str()).collect();
    assert_eq!(newest, ["d", "c", "b", "a"]);
    assert_eq!(t.newest_of("staging").count(), 0);
}

#[test]
fn the_same_change_seen_twice_is_kept_once() {
    let mut t = Timeline::default();
    let now = t0() + Duration::seconds(600);
    assert!(t.add(ev(10, "is now master"), now));
    // Another console sharing the data dir wrote it a second later.
    assert!(!t.add(ev(11, "is now master"), now));
    // Recovered again after a restart, dated a little differently.
    assert!(!t.add(ev(70, "failover (recovered)").recovered(), now));
    // A different change of the same node is its own event.
    assert!(t.add(ev(12, "is now replica"), now));
    assert_eq!(t.len(), 2);
}

#[test]
fn bounded_by_age_and_by_count() {
    let mut t = Timeline::default();
    let now = t0() + Duration::days(MAX_AGE_DAYS) + Duration::seconds(50);
    // Older than the bound: not even added.
    assert!(!t.add(ev(0, "ancient"), now));
    for i in 0..(MAX_EVENTS + 10) {
        t.add(
            ev(100 + i as i64 * 3, &format!("e{i}")),
            t0() + Duration::seconds(200),
        );
    }
    assert_eq!(t.len(), MAX_EVENTS);
    assert_eq!(t.events()[0].text, "e10");
    // Time passes: a week later the early ones go.
    t.prune(t0() + Duration::days(MAX_AGE_DAYS) + Duration::seconds(100 + 3 * 1000));
    assert!(t.events()[0].at >= t0() + Duration::seconds(100 + 3 * 1000));
}

#[test]
fn a_restart_keeps_the_timeline_and_a_torn_last_line_is_skipped() {
    let dir = tempfile::tempdir().expect("dir");
    let path = store::file(dir.path());
    let now = t0() + Duration::seconds(100);
    store::append(&path, &[ev(1, "one"), ev(2, "two")]).expect("append");
    store::append(&path, &[ev(3, "three")]).expect("append");
    // A crash in the middle of a write.
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str("{\"at\":\"2027-01-15T08:00:");
    std::fs::write(&path, text).expect("write");
    let loaded = store::load(&path, now).expect("load");
    assert_eq!(loaded.skipped, 1);
    let got: Vec<&str> = loaded.events.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(got, ["one", "two", "three"]);
    // The next console's append starts on a line of its own.
    store::append(&path, &[ev(4, "four")]).expect("append");
    let again = store::load(&path, now).expect("load");
    let got: Vec<&str> = again.events.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(got, ["one", "two", "three", "four"]);
    assert_eq!(again.skipped, 1);
    assert_eq!(again.events[0], ev(1, "one"));
}

#[test]
fn a_file_past_its_bounds_is_rewritten_to_them() {
    let dir = tempfile::tempdir().expect("dir");
    let path = store::file(dir.path());
    let now = t0() + Duration::days(MAX_AGE_DAYS) + Duration::seconds(10);
    let old: Vec<TimelineEvent> = (0..(MAX_EVENTS / 10 + 5))
        .map(|i| ev(i as i64 % 5, "old"))
        .collect();
    store::append(&path, &old).expect("append");
    store::append(&path, &[ev(MAX_AGE_DAYS * 86400, "recent")]).expect("append");
    let loaded = store::load(&path, now).expect("load");
    assert!(loaded.compacted);
    assert_eq!(loaded.events.len(), 1);
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("recent"));
}

#[test]
fn the_pane_lists_newest_first_by_severity_tab_and_source() {
    let mut t = Timeline::default();
    let now = t0() + Duration::seconds(100);
    t.add(ev(1, "warned"), now);
    let mut crit = ev(2, "down");
    crit.severity = Severity::Critical;
    t.add(crit, now);
    let mut other = ev(3, "group stalled").of("kafka", "main");
    other.severity = Severity::Ok;
    t.add(other, now);
    let sel = pane::Selection {
        context: "prod",
        source: None,
        selected: None,
    };
    let m = pane::model(&t, &sel, now);
    let col = |table: usize| -> Vec<String> {
        m.tables[table]
            .rows
            .iter()
            .map(|r| r.cells[3].text.clone())
            .collect()
    };
    assert_eq!(col(0), ["group stalled", "down", "warned"]);
    assert_eq!(col(1), ["down", "warned"]);
    assert_eq!(col(2), ["down"]);
    let only = pane::Selection {
        source: Some(("redis", "cache")),
        ..sel
    };
    let m = pane::model(&t, &only, now);
    assert_eq!(m.tables[0].rows.len(), 2);
    assert_eq!(m.level, Level::Crit);
    // A row's key finds its event again, whatever the precision of its time.
    let k = m.tables[0].rows[0].key.clone();
    assert_eq!(t.find(&k).map(|e| e.text.as_str()), Some("down"));
    let mut fine = ev(4, "fine");
    fine.at += Duration::nanoseconds(123_456_789);
    t.add(fine, now);
    let m = pane::model(&t, &sel, now);
    let k = m.tables[0].rows[0].key.clone();
    assert_eq!(t.find(&k).map(|e| e.text.as_str()), Some("fine"));
    // Two events of one subject in the same millisecond: each row finds its own.
    let mut pending = ev(5, "pending: group billing: time lag 6m12s");
    pending.severity = Severity::Info;
    let mut firing = ev(5, "firing: group billing: consumer status STALL");
    firing.severity = Severity::Critical;
    t.add(pending, now);
    t.add(firing, now);
    let m = pane::model(&t, &sel, now);
    let found: Vec<(String, Option<String>)> = m.tables[0].rows[..2]
        .iter()
        .map(|r| {
            let text = r.cells[3].text.clone();
            (text, t.find(&r.key).map(|e| e.text.clone()))
        })
        .collect();
    for (shown, found) in &found {
        assert_eq!(Some(shown), found.as_ref());
    }
}

#[test]
fn the_audit_log_gives_actions_of_earlier_runs_with_who_ran_them() {
    let text = concat!(
        r#"{"time":"2027-01-15T08:00:00.000Z","user":"alice","host":"oncall-1","context":"prod","source":"cache","target":"10.0.0.2:6379","command":"BGSAVE on 10.0.0.2:6379","parameters":{"system":"redis","op":"bgsave"},"outcome":"started","message":"","id":"1"}"#,
        "\n",
        r#"{"time":"2027-01-15T08:00:01.000Z","user":"alice","host":"oncall-1","context":"prod","source":"cache","target":"10.0.0.2:6379","command":"BGSAVE on 10.0.0.2:6379","parameters":{"system":"redis","op":"bgsave"},"outcome":"ok","message":"Background saving started","id":"1"}"#,
        "\n",
        "not json\n",
        r#"{"time":"2027-01-15T09:00:00.000Z","user":"bob","host":"h","context":"prod","source":"cache","target":"x","command":"BGSAVE on x","parameters":{"system":"redis"},"outcome":"ok","message":""}"#,
        "\n"
    );
    let before = DateTime::parse_from_rfc3339("2027-01-15T08:30:00Z")
        .expect("t")
        .with_timezone(&Utc);
    let got = derive::audit(text, before);
    assert_eq!(got.len(), 1, "{got:?}");
    let e = &got[0];
    assert_eq!(
        (e.system.as_str(), e.source.as_str(), e.context.as_str()),
        ("redis", "cache", "prod")
    );
    assert_eq!(
        e.text,
        "action BGSAVE on 10.0.0.2:6379: ok — Background saving started (by alice on oncall-1)"
    );
}
