//! The first screen of an incident: five problems at once (a stalled consumer group, a
//! session blocking others, a Redis failover, a stale backup, a disk near full), fed through
//! `update` as two polls of each source (healthy, then in trouble), so the alerts and the
//! timeline come from the same path as live. Every problem is on the 120x40 screen with no
//! key pressed, the worst three at 80x24, and each cause is two keys away.

use chrono::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::state::{Pane, State};
use crate::app::{Effect, Event};
use crate::config::keymap::Keymap;
use crate::config::{Config, ContextSpec};
use crate::sources::backups::{BackupItem, BackupSample, BackupSpec, Verdict};
use crate::sources::host::{DiskInfo, HostSample};
use crate::sources::kafka::{
    BrokerInfo, GroupInfo, GroupPartition, KafkaSample, KafkaSpec, LagStatus, MemberInfo,
};
use crate::sources::postgres::{LockNode, PgSample, PostgresSpec, Session};
use crate::sources::redis::model::{Failover, SentinelEvent};
use crate::sources::redis::{NodeInfo, RedisSample, RedisSpec, SentinelPeer, SentinelView};
use crate::sources::{Sample, Update};
use crate::theme::Theme;

fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::Local
        .with_ymd_and_hms(2026, 11, 25, 3, 12, 0)
        .single()
        .expect("valid time")
        .with_timezone(&chrono::Utc)
}

fn context() -> ContextSpec {
    ContextSpec {
        kafka: vec![KafkaSpec {
            name: "main".into(),
            brokers: "kafka-1:9092".into(),
            ..Default::default()
        }],
        postgres: vec![PostgresSpec {
            name: "app".into(),
            url: "postgres://monitor@db-1/app".into(),
            ..Default::default()
        }],
        redis: vec![RedisSpec {
            name: "cache".into(),
            sentinels: vec!["10.0.0.5:26379".into()],
            master: Some("mymaster".into()),
            ..Default::default()
        }],
        backups: vec![BackupSpec {
            name: "nightly".into(),
            kind: "files".into(),
            dir: Some("/var/backups/pg".into()),
            pattern: Some("*.dump".into()),
            max_age: Some("26h".into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn kafka(stalled: bool) -> KafkaSample {
    let group = |name: &str, lag: i64, status: LagStatus, reason: &str| GroupInfo {
        name: name.into(),
        state: "Stable".into(),
        members: vec![MemberInfo {
            client_id: format!("{name}-1"),
            host: "/10.0.1.4".into(),
            ..Default::default()
        }],
        total_lag: lag,
        max_partition_lag: lag,
        lag_seconds: Some(if lag > 1000 { 372.0 } else { 1.0 }),
        status,
        reason: reason.into(),
        idle_secs: Some(372.0),
        partitions: vec![GroupPartition {
            topic: "payments".into(),
            partition: 0,
            committed: Some(1_000_000),
            high: Some(1_000_000 + lag),
            lag: Some(lag),
            owner: Some(format!("{name}-1@/10.0.1.4").as_str().into()),
            ..Default::default()
        }]
        .into(),
        ..Default::default()
    };
    let billing = if stalled {
        group(
            "billing",
            48_210,
            LagStatus::Stall,
            "no commit for 6m12s, lag 48,210",
        )
    } else {
        group("billing", 12, LagStatus::Ok, "")
    };
    KafkaSample {
        brokers: (1..=3)
            .map(|id| BrokerInfo {
                id,
                host: format!("kafka-{id}"),
                port: 9092,
                controller: id == 1,
                leaders: 4,
                ..Default::default()
            })
            .collect(),
        controller: Some(1),
        topics: vec![crate::sources::kafka::TopicInfo {
            name: "payments".into(),
            partition_count: 6,
            replication_factor: 3,
            partitions: (0..6)
                .map(|p| crate::sources::kafka::PartitionInfo {
                    partition: p,
                    leader: p % 3 + 1,
                    replicas: vec![1, 2, 3],
                    isr: vec![1, 2, 3],
                    low: Some(0),
                    high: Some(1_000_000),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        groups: vec![
            billing,
            group("search-indexer", 3, LagStatus::Ok, ""),
            group("audit", 0, LagStatus::Ok, ""),
        ],
        ..Default::default()
    }
}

fn postgres(blocking: bool) -> PgSample {
    let session = |pid, state: &str, secs: f64, query: &str| Session {
        pid,
        database: "app".into(),
        user: "web".into(),
        application: "checkout".into(),
        client: "10.0.2.7".into(),
        state: state.into(),
        xact_seconds: Some(secs),
        query_seconds: Some(secs),
        state_seconds: Some(secs),
        query: query.into(),
        backend_start: Some(1_790_000_000_000_000 + i64::from(pid)),
        ..Default::default()
    };
    let mut s = PgSample {
        version: "PostgreSQL 15.8".into(),
        version_num: 150008,
        role: "primary".into(),
        uptime_seconds: 3.0 * 86400.0,
        connected_as: "monitor".into(),
        max_connections: 100,
        reserved_connections: 3,
        usable_connections: 97,
        activity: vec![session(4100, "active", 0.2, "SELECT 1")],
        ..Default::default()
    };
    if blocking {
        let update = "UPDATE accounts SET balance = balance - 10 WHERE id = 7";
        s.activity = vec![
            session(4242, "idle in transaction", 96.0, update),
            session(4250, "waiting on a lock", 95.0, update),
            session(4251, "waiting on a lock", 80.0, update),
            session(4252, "waiting on a lock", 42.0, update),
        ];
        let waiter = |pid, secs| LockNode {
            pid,
            depth: 1,
            blocked_by: vec![4242],
            waiters: 0,
            longest_wait_seconds: secs,
            wait_seconds: Some(secs),
            state: "waiting on a lock".into(),
            user: "web".into(),
            database: "app".into(),
            query: update.into(),
            ..Default::default()
        };
        s.locks = vec![
            LockNode {
                pid: 4242,
                depth: 0,
                waiters: 3,
                longest_wait_seconds: 95.0,
                state: "idle in transaction".into(),
                user: "web".into(),
                database: "app".into(),
                query: update.into(),
                ..Default::default()
            },
            waiter(4250, 95.0),
            waiter(4251, 80.0),
            waiter(4252, 42.0),
        ];
    }
    s.connections = crate::sources::postgres::count_connections(&s.activity);
    s
}

fn redis(failed_over: bool) -> RedisSample {
    let (master, replica) = if failed_over {
        ("10.0.0.2:6379", "10.0.0.1:6379")
    } else {
        ("10.0.0.1:6379", "10.0.0.2:6379")
    };
    let node = |addr: &str, role: &str| NodeInfo {
        addr: addr.into(),
        role: role.into(),
        used_memory: 610 << 20,
        maxmemory: 2 << 30,
        maxmemory_policy: "allkeys-lru".into(),
        ops_per_sec: 8_400,
        ..Default::default()
    };
    let at = |secs_before: i64| (t0() - chrono::Duration::seconds(secs_before)).timestamp_millis();
    let ev = |secs_before, event: &str, detail: &str| SentinelEvent {
        at_ms: at(secs_before),
        sentinel: "10.0.0.5:26379".into(),
        event: event.into(),
        detail: detail.into(),
    };
    RedisSample {
        mode: "sentinel".into(),
        nodes: vec![node(master, "master"), node(replica, "slave")],
        sentinel: Some(SentinelView {
            master_name: "mymaster".into(),
            master_addr: master.into(),
            master_flags: "master".into(),
            quorum: 2,
            ckquorum_ok: true,
            config_epoch: u64::from(failed_over),
            replicas: vec![SentinelPeer {
                addr: replica.into(),
                flags: "slave".into(),
                ..Default::default()
            }],
            events: if failed_over {
                vec![
                    ev(140, "+sdown", "master mymaster 10.0.0.1 6379"),
                    ev(139, "+odown", "master mymaster 10.0.0.1 6379 #quorum 2/2"),
                    ev(
                        131,
                        "+switch-master",
                        "mymaster 10.0.0.1 6379 10.0.0.2 6379",
                    ),
                ]
            } else {
                vec![]
            },
            ..Default::default()
        }),
        // The poller's own record, against the wall clock (the tile says how long ago).
        last_failover: failed_over.then(|| Failover {
            from: "10.0.0.1:6379".into(),
            to: "10.0.0.2:6379".into(),
            at: chrono::Utc::now().timestamp() - 131,
        }),
        ..Default::default()
    }
}

fn backup(stale: bool) -> BackupSample {
    BackupSample {
        name: "nightly".into(),
        kind: "files".into(),
        verdict: if stale {
            Verdict::Stale
        } else {
            Verdict::Fresh
        },
        reason: if stale {
            "newest app-2026-11-24.dump is 27h old, objective 26h"
        } else {
            "newest app-2026-11-24.dump is 3h old, objective 26h"
        }
        .into(),
        max_age_secs: Some(26 * 3600),
        newest_age_secs: Some(if stale { 27 * 3600 } else { 3 * 3600 }),
        items: vec![BackupItem {
            label: "app-2026-11-24.dump".into(),
            kind: "file".into(),
            finished_at: Some(t0().timestamp() - 27 * 3600),
            size: Some(14 << 30),
            ..Default::default()
        }],
        dir: Some("/var/backups/pg".into()),
        ..Default::default()
    }
}

fn host(full: bool) -> HostSample {
    HostSample {
        hostname: "oncall-1".into(),
        cpu_percent: 23.0,
        cpu_history: vec![12, 18, 23, 40, 23],
        load: [1.8, 1.5, 1.2],
        mem_used: 11 << 30,
        mem_total: 16 << 30,
        disks: vec![DiskInfo {
            mount: "/".into(),
            total: 200 << 30,
            available: if full { 14 << 30 } else { 80 << 30 },
            full,
        }],
        ..Default::default()
    }
}

fn samples(trouble: bool) -> Vec<Sample> {
    vec![
        kafka(trouble).into(),
        postgres(trouble).into(),
        redis(trouble).into(),
        backup(trouble).into(),
        host(trouble).into(),
    ]
}

/// The console after a healthy poll five minutes ago and the poll of the incident now.
pub fn incident() -> State {
    let mut cfg = Config::default();
    cfg.contexts.insert("prod".into(), context());
    let mut s = State::new(
        cfg,
        "prod".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    );
    s.alert_desk.clock = Some(t0());
    for (trouble, at) in [(false, t0() - chrono::Duration::minutes(5)), (true, t0())] {
        for (index, sample) in samples(trouble).into_iter().enumerate() {
            assert_eq!(s.sources[index].kind, sample.kind(), "source order");
            crate::app::update(
                &mut s,
                Event::Source {
                    generation: 0,
                    index,
                    update: Update::Sample(sample),
                },
                at,
            );
        }
    }
    s
}

fn render(s: &mut State, w: u16, h: u16) -> String {
    s.size = (w, h);
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| super::draw(f, s)).expect("draw");
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    // The failover's age is measured against the wall clock: fixed for the snapshot.
    let mut fixed = String::new();
    let mut rest = out.as_str();
    while let Some(i) = rest.find("failover ") {
        let (head, tail) = rest.split_at(i + "failover ".len());
        fixed.push_str(head);
        let age: String = tail
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if tail[age.len()..].starts_with(" ago") && age.starts_with(|c: char| c.is_ascii_digit()) {
            fixed.push_str(&format!("{:<width$}", "2m11s", width = age.len()));
            rest = &tail[age.len()..];
        } else {
            rest = tail;
        }
    }
    fixed.push_str(rest);
    fixed
}

/// What shows each of the five problems.
const PROBLEMS: [&str; 5] = [
    "billing STALL",
    "pid 4242 blocks 3",
    "failover 2m11s ago",
    "nightly stale",
    "disk",
];

#[test]
fn five_incidents_are_all_on_the_first_screen_at_120x40() {
    let mut s = incident();
    let screen = render(&mut s, 120, 40);
    for p in PROBLEMS {
        assert!(
            screen.contains(p),
            "{p:?} not on the first screen:\n{screen}"
        );
    }
    // The disk's gauge is the host tile's first line, at its percentage.
    assert!(screen.contains("/ 93%"), "{screen}");
    // The timeline strip: the newest changes, not repeated by the alerts they raised.
    let strip = screen
        .split("7 Timeline")
        .nth(1)
        .expect("the timeline strip");
    assert!(strip.contains("disk / 93% full"), "{strip}");
    assert!(!strip.contains("firing: disk"), "{strip}");
    insta::assert_snapshot!("first_screen_five_incidents_120x40", screen);
}

#[test]
fn the_worst_three_are_on_the_first_screen_at_80x24() {
    let mut s = incident();
    let screen = render(&mut s, 80, 24);
    assert_eq!(s.alerts.len(), 5, "{:#?}", s.alerts);
    // Worst first: the stalled group (critical), then the warnings oldest first.
    let worst: Vec<&str> = s.alerts.iter().take(3).map(|a| a.rule.as_str()).collect();
    assert_eq!(
        worst[0],
        "kafka_group_stalled",
        "{:?}",
        s.alerts.iter().map(|a| &a.rule).collect::<Vec<_>>()
    );
    for a in s.alerts.iter().take(3) {
        let shown = PROBLEMS
            .iter()
            .zip(["kafka", "postgres", "redis", "backup", "host"])
            .find(|(_, kind)| *kind == a.kind.label())
            .map(|(p, _)| *p)
            .expect("a problem of its kind");
        assert!(
            screen.contains(shown),
            "{} ({shown:?}) not on the 80x24 screen:\n{screen}",
            a.rule
        );
    }
    insta::assert_snapshot!("first_screen_worst_three_80x24", screen);
}

fn press(s: &mut State, c: char) -> Vec<Effect> {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    crate::app::update(
        s,
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        t0(),
    )
}

fn enter(s: &mut State) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    crate::app::update(
        s,
        Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        t0(),
    );
}

#[test]
fn each_cause_is_two_keys_from_the_first_screen() {
    for (key, pane, tab, row) in [
        ('1', Pane::Kafka, "Groups", "billing"),
        ('2', Pane::Databases, "Locks", "4242"),
        ('3', Pane::Redis, "Nodes", "10.0.0.2:6379"),
        ('4', Pane::Backups, "Sources", "nightly"),
        ('6', Pane::Host, "Disks", "/"),
    ] {
        let mut s = incident();
        press(&mut s, key);
        enter(&mut s);
        assert!(s.zoomed && s.focus == pane, "{key}: {:?}", s.focus);
        let v = s.view(pane);
        assert_eq!(
            v.current_tab().map(|t| t.title.as_str()),
            Some(tab),
            "{key}"
        );
        assert_eq!(
            s.selected(pane).map(|(_, r)| r.key.as_str()),
            Some(row),
            "{key}"
        );
    }
}

#[test]
fn the_timeline_pane_lists_the_incident_and_enter_goes_to_a_cause() {
    let mut s = incident();
    press(&mut s, '7');
    enter(&mut s);
    assert!(s.zoomed && s.focus == Pane::Timeline);
    let screen = render(&mut s, 120, 40);
    assert!(screen.contains("7 Timeline — all sources"), "{screen}");
    for text in [
        "group billing STALL (was OK)",
        "pid 4242 (web@app, idle in transaction) blocks 3 sessions",
        "Sentinel switched mymaster from 10.0.0.1:6379 to 10.0.0.2:6379",
        "10.0.0.2:6379 is now master (was replica)",
        "backup nightly stale (was fresh)",
        "disk / 93% full",
        "firing: ",
    ] {
        assert!(screen.contains(text), "{text:?}:\n{screen}");
    }
    // Newest first: the switch to the new master above the master going down.
    let switch = screen.find("switched mymaster").expect("the switch");
    let odown = screen.find("objectively down").expect("odown");
    assert!(odown > switch, "newest first:\n{screen}");
    insta::assert_snapshot!("timeline_pane_120x40", screen);
    // The newest event is selected; Enter goes to its cause.
    let first = s.selected(Pane::Timeline).map(|(_, r)| r.key.clone());
    assert!(first.is_some());
    enter(&mut s);
    assert_ne!(s.focus, Pane::Timeline, "{:?}", s.message);
}

#[test]
fn the_timeline_filters_by_severity_and_source_and_enter_lands_on_the_cause_row() {
    let mut s = incident();
    press(&mut s, '7');
    enter(&mut s);
    let shown = |s: &State| -> Vec<crate::timeline::TimelineEvent> {
        s.view(Pane::Timeline)
            .rows
            .iter()
            .filter_map(|at| s.row(at))
            .filter_map(|r| s.timeline.find(&r.key).cloned())
            .collect()
    };
    let all = shown(&s);
    assert!(
        all.iter()
            .any(|e| e.severity < crate::timeline::Severity::Warning)
    );
    // ] : Warning+ then Critical, each only as bad or worse.
    press(&mut s, ']');
    let warn = shown(&s);
    assert!(!warn.is_empty() && warn.len() < all.len());
    assert!(
        warn.iter()
            .all(|e| e.severity >= crate::timeline::Severity::Warning),
        "{warn:#?}"
    );
    press(&mut s, ']');
    let crit = shown(&s);
    assert!(!crit.is_empty() && crit.len() < warn.len());
    assert!(
        crit.iter()
            .all(|e| e.severity == crate::timeline::Severity::Critical)
    );
    press(&mut s, '[');
    press(&mut s, '[');
    // n: one source at a time (the message says which).
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..s.sources.len() {
        press(&mut s, 'n');
        let (msg, _) = s.message.clone().expect("a message");
        assert!(msg.starts_with("timeline of "), "{msg}");
        let rows = shown(&s);
        let origins: std::collections::BTreeSet<_> = rows
            .iter()
            .map(|e| (e.system.clone(), e.source.clone()))
            .collect();
        assert!(origins.len() <= 1, "{msg}: {origins:?}");
        seen.extend(origins);
    }
    assert!(seen.len() >= 4, "{seen:?}");
    press(&mut s, 'n');
    assert_eq!(shown(&s).len(), all.len(), "back to every source");
    // Enter on the blocking session's event: the Databases pane, its row selected.
    let at = shown(&s)
        .iter()
        .position(|e| e.text.starts_with("pid 4242 ") && e.what == "blocking")
        .expect("the blocking event");
    for _ in 0..at {
        press(&mut s, 'j');
    }
    enter(&mut s);
    assert_eq!(s.focus, Pane::Databases, "{:?}", s.message);
    assert_eq!(
        s.selected(Pane::Databases)
            .map(|(_, r)| r.key.clone())
            .as_deref(),
        Some("4242")
    );
}

#[test]
fn y_copies_the_selected_row_and_says_what() {
    let mut s = incident();
    press(&mut s, '2');
    enter(&mut s);
    let fx = press(&mut s, 'y');
    let Some(Effect::Copy(text)) = fx.first() else {
        panic!("{fx:?} {:?}", s.message);
    };
    assert!(
        text.starts_with("-- pid 4242 web@app (idle in transaction), 3 waiting behind it"),
        "{text}"
    );
    assert!(text.ends_with("UPDATE accounts SET balance = balance - 10 WHERE id = 7"));
    let (msg, _) = s.message.clone().expect("a message");
    assert!(msg.starts_with("copied Locks 4242: -- pid 4242"), "{msg}");
    // Off by config: nothing is written to the terminal.
    s.config.clipboard = false;
    assert!(press(&mut s, 'y').is_empty());
    // An alert copies with its runbook.
    let mut s = incident();
    press(&mut s, '5');
    enter(&mut s);
    let fx = press(&mut s, 'y');
    let Some(Effect::Copy(text)) = fx.first() else {
        panic!("{fx:?}");
    };
    assert!(text.starts_with("CRIT kafka main:"), "{text}");
    assert!(text.contains("runbook: "), "{text}");
}

#[test]
fn the_note_holds_the_incident() {
    let mut s = incident();
    let fx = press(&mut s, 'w');
    let Some(Effect::WriteNote { name, text }) = fx.first() else {
        panic!("{fx:?}");
    };
    assert!(name.starts_with("incident-prod-20261125-"), "{name}");
    assert!(matches!(fx.get(1), Some(Effect::Copy(t)) if t == text));
    for section in [
        "## Context",
        "## Worst alerts",
        "## Timeline (last hour)",
        "## Key figures",
    ] {
        assert!(text.contains(section), "{section}:\n{text}");
    }
    assert!(text.contains("| CRIT | kafka main |"), "{text}");
    assert!(text.contains("Sentinel switched mymaster"), "{text}");
    assert!(text.contains("### postgres app — ok"), "{text}");
    assert!(text.contains("pid 4242 blocks 3 for 1m35s"), "{text}");
}
