use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::user::Observation;
use super::*;
use crate::sources::backups::BackupSample;
use crate::sources::host::{DiskInfo, HostSample};
use crate::sources::kafka::{GroupInfo, KafkaSample, LagStatus, TopicInfo};
use crate::sources::postgres::{LockNode, PgSample, Receiver, Session, Standby, count_connections};
use crate::sources::redis::{Failover, NodeInfo, RedisSample, ReplicaLink};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn view<'a>(kind: SourceKind, st: &'a Status, sample: Option<&'a Sample>) -> SourceView<'a> {
    SourceView {
        kind,
        name: "src",
        status: st,
        sample,
    }
}

/// Rules that fire at once (for = 0 as in `opsdeck check`) on one sample.
fn fired(kind: SourceKind, sample: Sample) -> Vec<(String, Severity, String)> {
    let st = Status::Ok;
    evaluate(&RuleSet::default(), [view(kind, &st, Some(&sample))])
        .into_iter()
        .map(|a| (a.rule, a.severity, a.subject))
        .collect()
}

fn names(v: &[(String, Severity, String)]) -> Vec<&str> {
    let mut n: Vec<&str> = v.iter().map(|x| x.0.as_str()).collect();
    n.sort();
    n
}

#[test]
fn source_unreachable_is_critical_with_the_error() {
    let st = Status::Error("connection refused".into());
    let alerts = evaluate(&RuleSet::default(), [view(SourceKind::Redis, &st, None)]);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule, "source_unreachable");
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert_eq!(
        alerts[0].summary,
        "redis src unreachable: connection refused"
    );
}

#[test]
fn kafka_rules_stall_lag_under_replicated_offline() {
    let group = |name: &str, status, lag_s| GroupInfo {
        name: name.into(),
        status,
        lag_seconds: Some(lag_s),
        reason: "committed offset not moving".into(),
        ..Default::default()
    };
    let k = KafkaSample {
        groups: vec![
            group("stuck", LagStatus::Stall, 10.0),
            group("slow", LagStatus::Warn, 900.0),
            group("fine", LagStatus::Ok, 1.0),
        ],
        topics: vec![
            TopicInfo {
                name: "orders".into(),
                under_replicated: 2,
                ..Default::default()
            },
            TopicInfo {
                name: "dead".into(),
                offline: 1,
                ..Default::default()
            },
            TopicInfo {
                name: "acks".into(),
                under_min_isr: 1,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let f = fired(SourceKind::Kafka, Sample::Kafka(Box::new(k)));
    assert_eq!(
        f,
        vec![
            (
                "kafka_group_stalled".into(),
                Severity::Critical,
                "stuck".into()
            ),
            (
                "kafka_under_min_isr".into(),
                Severity::Critical,
                "acks".into()
            ),
            (
                "kafka_offline_partitions".into(),
                Severity::Critical,
                "dead".into()
            ),
            (
                "kafka_group_warning".into(),
                Severity::Warning,
                "slow".into()
            ),
            ("kafka_lag_seconds".into(), Severity::Warning, "slow".into()),
            (
                "kafka_under_replicated".into(),
                Severity::Warning,
                "orders".into()
            ),
        ]
    );
}

#[test]
fn kafka_stalled_summary_names_the_status_and_reason() {
    let k = KafkaSample {
        groups: vec![GroupInfo {
            name: "g".into(),
            status: LagStatus::Stop,
            reason: "no commits".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let st = Status::Ok;
    let s = Sample::Kafka(Box::new(k));
    let a = evaluate(
        &RuleSet::default(),
        [view(SourceKind::Kafka, &st, Some(&s))],
    );
    assert_eq!(
        a[0].summary,
        "group g: consumer status STOP (≥ STALL) — no commits"
    );
    assert_eq!(
        a[0].jump,
        Some(Jump {
            kind: SourceKind::Kafka,
            source: "src".into(),
            table: "Groups".into(),
            key: "g".into()
        })
    );
}

fn pg_with(total: usize, usable: i64) -> PgSample {
    let mut p = PgSample {
        usable_connections: usable,
        ..Default::default()
    };
    p.activity = (0..total as i32)
        .map(|i| Session {
            pid: i + 100,
            state: "idle".into(),
            ..Default::default()
        })
        .collect();
    p.connections = count_connections(&p.activity);
    p
}

#[test]
fn postgres_connections_warn_at_80_and_crit_at_95_percent() {
    let f = fired(
        SourceKind::Postgres,
        Sample::Postgres(Box::new(pg_with(8, 10))),
    );
    assert_eq!(names(&f), vec!["pg_connections"]);
    let f = fired(
        SourceKind::Postgres,
        Sample::Postgres(Box::new(pg_with(96, 100))),
    );
    assert_eq!(names(&f), vec!["pg_connections", "pg_connections_critical"]);
    assert_eq!(f[0].1, Severity::Critical);
    assert!(
        fired(
            SourceKind::Postgres,
            Sample::Postgres(Box::new(pg_with(7, 10)))
        )
        .is_empty()
    );
}

#[test]
fn postgres_long_query_idle_in_tx_blocking_and_replication() {
    let mut p = pg_with(0, 100);
    p.activity = vec![
        Session {
            pid: 1,
            state: "active".into(),
            query_seconds: Some(400.0),
            ..Default::default()
        },
        Session {
            pid: 2,
            state: "idle in transaction".into(),
            state_seconds: Some(301.0),
            ..Default::default()
        },
        Session {
            pid: 3,
            state: "active".into(),
            query_seconds: Some(900.0),
            own: true,
            ..Default::default()
        },
    ];
    p.locks = vec![
        LockNode {
            pid: 2,
            depth: 0,
            waiters: 3,
            longest_wait_seconds: 45.0,
            ..Default::default()
        },
        LockNode {
            pid: 7,
            depth: 1,
            longest_wait_seconds: 45.0,
            ..Default::default()
        },
    ];
    p.replication.standbys = vec![Standby {
        application: "replica1".into(),
        replay_lag_seconds: Some(60.0),
        replay_lag_bytes: 32 * 1024 * 1024,
        ..Default::default()
    }];
    p.replication.receiver = Some(Receiver {
        status: "waiting".into(),
        ..Default::default()
    });
    let f = fired(SourceKind::Postgres, Sample::Postgres(Box::new(p)));
    assert_eq!(
        names(&f),
        vec![
            "pg_blocking",
            "pg_idle_in_transaction",
            "pg_long_query",
            "pg_replication_lag",
            "pg_replication_lag_bytes",
            "pg_wal_receiver_down"
        ]
    );
    let subjects: Vec<&str> = f.iter().map(|x| x.2.as_str()).collect();
    assert!(subjects.contains(&"pid 1") && subjects.contains(&"pid 2"));
    assert!(!subjects.contains(&"pid 3"), "own session ignored: {f:?}");
}

#[test]
fn redis_memory_evictions_link_down_failover() {
    let r = RedisSample {
        nodes: vec![
            NodeInfo {
                addr: "10.0.0.1:6379".into(),
                role: "master".into(),
                used_memory: 95,
                maxmemory: 100,
                evicted_per_sec: Some(3.0),
                replication: crate::sources::redis::Replication {
                    replicas: vec![ReplicaLink {
                        addr: "10.0.0.2:6379".into(),
                        state: "wait_bgsave".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                ..Default::default()
            },
            NodeInfo {
                addr: "10.0.0.3:6379".into(),
                used_memory: 95,
                maxmemory: 0,
                ..Default::default()
            },
        ],
        last_failover: Some(Failover {
            from: "a".into(),
            to: "b".into(),
            at: Utc::now().timestamp(),
        }),
        ..Default::default()
    };
    let f = fired(SourceKind::Redis, Sample::Redis(Box::new(r)));
    assert_eq!(
        names(&f),
        vec![
            "redis_evictions",
            "redis_failover",
            "redis_memory",
            "redis_replica_link_down"
        ]
    );
}

#[test]
fn backup_stale_and_failed_and_host_disk() {
    use crate::sources::backups::Verdict;
    let b = |verdict: Verdict| BackupSample {
        name: "nightly".into(),
        verdict,
        reason: "why".into(),
        ..Default::default()
    };
    assert_eq!(
        names(&fired(
            SourceKind::Backup,
            Sample::Backup(Box::new(b(Verdict::Stale)))
        )),
        vec!["backup_stale"]
    );
    let f = fired(
        SourceKind::Backup,
        Sample::Backup(Box::new(b(Verdict::Failed))),
    );
    assert_eq!(
        f,
        vec![("backup_failed".into(), Severity::Critical, String::new())]
    );
    assert!(
        fired(
            SourceKind::Backup,
            Sample::Backup(Box::new(b(Verdict::Fresh)))
        )
        .is_empty()
    );
    let h = HostSample {
        disks: vec![
            DiskInfo {
                mount: "/".into(),
                total: 100,
                available: 5,
                ..Default::default()
            },
            DiskInfo {
                mount: "/data".into(),
                total: 100,
                available: 50,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    assert_eq!(
        fired(SourceKind::Host, Sample::Host(Box::new(h))),
        vec![("host_disk".into(), Severity::Warning, "/".into())]
    );
}

#[test]
fn endpoint_down_is_critical_with_the_error() {
    let e = crate::sources::endpoints::EndpointSample {
        name: "api".into(),
        error: Some("status 503".into()),
        ..Default::default()
    };
    let st = Status::Ok;
    let s = Sample::Endpoint(Box::new(e));
    let a = evaluate(
        &RuleSet::default(),
        [view(SourceKind::Endpoint, &st, Some(&s))],
    );
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].rule, "endpoint_down");
    assert_eq!(a[0].severity, Severity::Critical);
    assert_eq!(a[0].summary, "endpoint api down: status 503");
}

#[test]
fn healthy_sources_raise_nothing() {
    assert!(fired(SourceKind::Host, Sample::Host(Box::default())).is_empty());
}

/// One observation of `redis_memory` on a node with `ratio`, with a `for`.
fn obs(rules: &RuleSet, ratio: f64) -> Vec<Observation> {
    let s = redis_memory(ratio);
    let st = Status::Ok;
    rules.observe(&[view(SourceKind::Redis, &st, Some(&s))], &|_| false)
}

/// A Redis sample whose one node "n1" uses `ratio` of its maxmemory.
fn redis_memory(ratio: f64) -> Sample {
    Sample::Redis(Box::new(RedisSample {
        nodes: vec![NodeInfo {
            addr: "n1".into(),
            used_memory: (ratio * 1000.0) as u64,
            maxmemory: 1000,
            ..Default::default()
        }],
        ..Default::default()
    }))
}

#[test]
fn a_quiet_point_is_observed_only_when_its_alert_is_known_by_its_full_key() {
    let rules = memory_rules(0);
    let s = redis_memory(0.1);
    let st = Status::Ok;
    let seen = |known: &dyn Fn(&str) -> bool| {
        rules.observe(&[view(SourceKind::Redis, &st, Some(&s))], known)
    };
    let breached = rules.observe(
        &[view(SourceKind::Redis, &st, Some(&redis_memory(0.95)))],
        &|_| false,
    );
    let key = breached[0].alert.key();
    assert!(seen(&|_| false).is_empty(), "never raised: not observed");
    let quiet = seen(&|k| k == key);
    assert_eq!(quiet.len(), 1, "raised before: observed, to resolve it");
    assert!(!quiet[0].breached && !quiet[0].held);
    assert!(seen(&|k| k == format!("{key}x")).is_empty());
}

fn memory_rules(for_secs: u64) -> RuleSet {
    let mut rules = RuleSet::default();
    rules.rules.retain(|r| r.name == "redis_memory");
    rules.rules[0].for_ = Duration::from_secs(for_secs);
    rules
}

#[test]
fn for_keeps_an_alert_pending_until_it_held_long_enough() {
    let rules = memory_rules(60);
    let mut e = Engine::default();
    let tr = e.step(obs(&rules, 0.95), t(0), |_| Unseen::Resolve);
    assert!(tr.fired.is_empty());
    assert_eq!(e.pending().count(), 1);
    assert!(
        e.step(obs(&rules, 0.95), t(59), |_| Unseen::Resolve)
            .fired
            .is_empty()
    );
    let tr = e.step(obs(&rules, 0.95), t(60), |_| Unseen::Resolve);
    assert_eq!(tr.fired.len(), 1);
    assert_eq!(tr.fired[0].1, t(0), "since is when the condition started");
    assert_eq!(e.firing().len(), 1);
    // A pending alert that stops holding is dropped without firing or resolving.
    let mut e = Engine::default();
    e.step(obs(&rules, 0.95), t(0), |_| Unseen::Resolve);
    let tr = e.step(obs(&rules, 0.5), t(30), |_| Unseen::Resolve);
    assert!(tr.is_empty());
    assert!(e.entries.is_empty());
    e.step(obs(&rules, 0.95), t(40), |_| Unseen::Resolve);
    assert!(
        e.step(obs(&rules, 0.95), t(90), |_| Unseen::Resolve)
            .fired
            .is_empty(),
        "the clock restarted"
    );
    assert_eq!(
        e.step(obs(&rules, 0.95), t(100), |_| Unseen::Resolve)
            .fired
            .len(),
        1
    );
}

#[test]
fn hysteresis_resolves_only_past_the_margin() {
    let rules = memory_rules(0);
    let mut e = Engine::default();
    assert_eq!(
        e.step(obs(&rules, 0.91), t(0), |_| Unseen::Resolve)
            .fired
            .len(),
        1
    );
    // 0.89 is below 0.9 but within 5% of it (0.855): still firing.
    assert!(
        e.step(obs(&rules, 0.89), t(1), |_| Unseen::Resolve)
            .is_empty()
    );
    assert!(
        e.step(obs(&rules, 0.86), t(2), |_| Unseen::Resolve)
            .is_empty()
    );
    assert_eq!(e.firing().len(), 1);
    let tr = e.step(obs(&rules, 0.85), t(3), |_| Unseen::Resolve);
    assert_eq!(tr.resolved.len(), 1);
    assert!(e.firing().is_empty());
    // Below the threshold, a new alert does not start within the margin.
    assert!(
        e.step(obs(&rules, 0.89), t(4), |_| Unseen::Resolve)
            .is_empty()
    );
    assert!(e.entries.is_empty());
    // The sparkline keeps the values seen while raised.
    e.step(obs(&rules, 0.92), t(5), |_| Unseen::Resolve);
    e.step(obs(&rules, 0.93), t(6), |_| Unseen::Resolve);
    assert_eq!(e.firing()[0].values, vec![0.92, 0.93]);
}

#[test]
fn a_vanished_subject_resolves() {
    let rules = memory_rules(0);
    let mut e = Engine::default();
    e.step(obs(&rules, 0.95), t(0), |_| Unseen::Resolve);
    let tr = e.step(Vec::new(), t(1), |_| Unseen::Resolve);
    assert_eq!(tr.resolved.len(), 1);
}

#[test]
fn desk_records_history_acks_reset_when_resolved() {
    let rules = memory_rules(0);
    let st = Status::Ok;
    let sample = redis_memory;
    let mut d = Desk::default();
    let s = sample(0.95);
    let o = d.evaluate(&rules, &[view(SourceKind::Redis, &st, Some(&s))], t(0));
    assert!(o.inbox_changed);
    let key = d.engine.firing()[0].alert.key();
    assert_eq!(key, "redis_memory/redis/src/n1");
    d.inbox.ack(&key, Some("looking".into()), t(1));
    let o = d.evaluate(&rules, &[view(SourceKind::Redis, &st, Some(&s))], t(2));
    assert!(!o.inbox_changed);
    assert_eq!(
        d.inbox.acked(&key).unwrap().note.as_deref(),
        Some("looking")
    );
    let s = sample(0.5);
    d.evaluate(&rules, &[view(SourceKind::Redis, &st, Some(&s))], t(10));
    assert!(
        d.inbox.acked(&key).is_none(),
        "a new episode starts unacked"
    );
    assert_eq!(d.inbox.history.len(), 1);
    assert_eq!(d.inbox.history[0].since, t(0));
    assert_eq!(d.inbox.history[0].resolved_at, Some(t(10)));
    assert_eq!(
        d.inbox
            .recently_resolved(t(10 + 3600), chrono::Duration::hours(1))
            .len(),
        1
    );
    assert!(
        d.inbox
            .recently_resolved(t(11 + 3600), chrono::Duration::hours(1))
            .is_empty()
    );
}

#[test]
fn silence_expires_and_hides_from_the_header() {
    let rules = memory_rules(0);
    let st = Status::Ok;
    let s = Sample::Redis(Box::new(RedisSample {
        nodes: vec![NodeInfo {
            addr: "n1".into(),
            used_memory: 950,
            maxmemory: 1000,
            ..Default::default()
        }],
        ..Default::default()
    }));
    let mut d = Desk::default();
    d.evaluate(&rules, &[view(SourceKind::Redis, &st, Some(&s))], t(0));
    let key = d.engine.firing()[0].alert.key();
    d.inbox.silence(&key, t(3600));
    assert!(d.loud(t(10)).is_empty());
    assert_eq!(d.inbox.silenced_until(&key, t(10)), Some(t(3600)));
    assert_eq!(d.inbox.silenced_until(&key, t(3600)), None);
    let o = d.evaluate(&rules, &[view(SourceKind::Redis, &st, Some(&s))], t(3601));
    assert!(o.inbox_changed, "the expired silence is dropped and saved");
    assert!(d.inbox.silences.is_empty());
    assert_eq!(d.loud(t(3601)).len(), 1);
}

#[test]
fn an_episode_left_open_by_a_previous_run_closes_when_its_source_is_fine() {
    let rules = memory_rules(0);
    let st = Status::Ok;
    let node = redis_memory;
    let mut before = Desk::default();
    let hot = node(0.95);
    before.evaluate(&rules, &[view(SourceKind::Redis, &st, Some(&hot))], t(0));
    let key = "redis_memory/redis/src/n1";
    before.inbox.ack(key, None, t(1));
    // Restart: the inbox is loaded, the engine starts empty.
    let mut after = Desk {
        inbox: Inbox::from_json(&before.inbox.to_json()).unwrap(),
        ..Default::default()
    };
    // Still hot: the episode and its ack carry on, with the original start.
    after.evaluate(&rules, &[view(SourceKind::Redis, &st, Some(&hot))], t(100));
    assert_eq!(after.inbox.history.len(), 1);
    assert_eq!(after.engine.firing()[0].since, t(0));
    assert!(after.inbox.acked(key).is_some());
    // Restart again, and now it is fine: closed, ack dropped.
    let mut again = Desk {
        inbox: after.inbox.clone(),
        ..Default::default()
    };
    let cool = node(0.5);
    let o = again.evaluate(&rules, &[view(SourceKind::Redis, &st, Some(&cool))], t(200));
    assert!(o.inbox_changed);
    assert_eq!(again.inbox.history[0].resolved_at, Some(t(200)));
    assert!(again.inbox.acked(key).is_none());
}

#[test]
fn inbox_round_trips_through_json() {
    let mut i = Inbox::default();
    i.ack("k", Some("on it".into()), t(0));
    i.silence("k2", t(100));
    let back = Inbox::from_json(&i.to_json()).unwrap();
    assert_eq!(back, i);
    let dir = tempfile::tempdir().unwrap();
    let p = Inbox::file(dir.path());
    assert_eq!(Inbox::load(&p).unwrap(), Inbox::default());
    Inbox::save(&p, &i.to_json()).unwrap();
    assert_eq!(Inbox::load(&p).unwrap(), i);
}

fn cfg(text: &str) -> Result<crate::config::Config, String> {
    crate::config::Config::from_toml(Path::new("/c.toml"), text).map_err(|e| e.to_string())
}

#[test]
fn builtin_rules_are_tunable_and_can_be_disabled() {
    let c = cfg(
        "[alerts]\nbell = true\n[alerts.builtin.redis_memory]\nthreshold = 0.8\nfor = \"2m\"\nseverity = \"critical\"\n[alerts.builtin.host_disk]\nenabled = false\n",
    )
    .unwrap();
    let r = c
        .alerts
        .rules
        .iter()
        .find(|r| r.name == "redis_memory")
        .unwrap();
    assert_eq!(r.threshold, 0.8);
    assert_eq!(r.for_, Duration::from_secs(120));
    assert_eq!(r.severity, Severity::Critical);
    assert!(
        !c.alerts
            .rules
            .iter()
            .find(|r| r.name == "host_disk")
            .unwrap()
            .enabled
    );
    assert!(c.alerts.bell);
}

#[test]
fn user_rule_compiles_and_fires() {
    let c = cfg(
        "[contexts.t]\n[[contexts.t.redis]]\nname = \"src\"\nurl = \"redis://127.0.0.1:1\"\n[[alerts.rules]]\nname = \"cache-clients\"\nsource = \"src\"\nmetric = \"redis.connected_clients\"\nop = \">\"\nthreshold = 10\nseverity = \"critical\"\nlabels = { team = \"core\" }\nrunbook = \"https://wiki/redis\"\n",
    )
    .unwrap();
    let r = c.alerts.rules.last().unwrap();
    assert_eq!(r.name, "cache-clients");
    let s = Sample::Redis(Box::new(RedisSample {
        nodes: vec![NodeInfo {
            addr: "n1".into(),
            connected_clients: 11,
            ..Default::default()
        }],
        ..Default::default()
    }));
    let st = Status::Ok;
    let a = evaluate(&c.alerts, [view(SourceKind::Redis, &st, Some(&s))]);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].summary, "node n1: redis.connected_clients 11 (> 10)");
    assert_eq!(a[0].labels["team"], "core");
    assert_eq!(a[0].runbook.as_deref(), Some("https://wiki/redis"));
    // Another source name: the selector does not match.
    let other = SourceView {
        name: "other",
        ..view(SourceKind::Redis, &st, Some(&s))
    };
    assert!(evaluate(&c.alerts, [other]).is_empty());
}

#[test]
fn bad_user_rules_name_file_line_and_what_is_valid() {
    let e = cfg(
        "refresh = \"2s\"\n[[alerts.rules]]\nname = \"x\"\nmetric = \"redis.mem\"\nop = \"=>\"\nthreshold = 1\nfor = \"soon\"\n",
    )
    .unwrap_err();
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines[0],
        "error: /c.toml:4:10: alert rule \"x\": unknown metric \"redis.mem\""
    );
    assert!(lines[1].starts_with("  hint: valid metrics: source.unreachable, kafka.group.status,"));
    assert!(lines[1].contains("redis.memory_ratio"));
    assert_eq!(
        lines[2],
        "error: /c.toml:5:6: alert rule \"x\": unknown comparison \"=>\""
    );
    assert_eq!(lines[3], "  hint: op is one of >, >=, <, <=");
    assert!(
        lines[4]
            .starts_with("error: /c.toml:7:7: alert rule \"x\": for: invalid duration \"soon\"")
    );
    let e = cfg("[alerts.builtin.redis_memry]\nthreshold = 1\n").unwrap_err();
    assert!(e.starts_with("error: /c.toml:1:9: unknown built-in alert rule \"redis_memry\"\n  hint: built-in rules: source_unreachable,"), "{e}");
    let e = cfg("[[alerts.rules]]\nname = \"redis_memory\"\nmetric = \"host.load1\"\nop = \">\"\nthreshold = 1\nseverity = \"loud\"\n").unwrap_err();
    assert!(
        e.contains("/c.toml:6:12: alert rule \"redis_memory\": unknown severity \"loud\""),
        "{e}"
    );
    let e = cfg("[[alerts.rules]]\nname = \"redis_memory\"\nmetric = \"host.load1\"\nop = \">\"\nthreshold = 1\n").unwrap_err();
    assert!(
        e.starts_with("error: /c.toml:2:1: alert rule name \"redis_memory\" is already used"),
        "{e}"
    );
}

#[test]
fn every_builtin_reads_a_documented_metric() {
    for b in rules::builtins() {
        assert!(
            user::metric(b.metric).is_some(),
            "{} reads {}",
            b.name,
            b.metric
        );
    }
}

#[test]
fn alertmanager_payloads_and_pulled_alerts() {
    let st = Status::Ok;
    let s = Sample::Backup(Box::new(BackupSample {
        name: "nightly".into(),
        verdict: crate::sources::backups::Verdict::Failed,
        ..Default::default()
    }));
    let a = evaluate(
        &RuleSet::default(),
        [view(SourceKind::Backup, &st, Some(&s))],
    )
    .remove(0);
    let p = alertmanager::postable(&a, "prod", "ops@h1", t(0), Some(t(60)));
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["labels"]["alertname"], "backup_failed");
    assert_eq!(json["labels"]["severity"], "critical");
    assert_eq!(json["labels"]["context"], "prod");
    assert_eq!(json["labels"]["generator"], "opsdeck");
    assert_eq!(json["labels"]["console"], "ops@h1");
    assert_eq!(json["startsAt"], "2023-11-14T22:13:20Z");
    assert_eq!(json["endsAt"], "2023-11-14T22:14:20Z");
    let body = r#"[
      {"labels":{"alertname":"HighLoad","severity":"critical"},"annotations":{"summary":"load high","runbook_url":"http://r"},"startsAt":"2023-11-14T22:13:20Z","endsAt":"2023-11-14T23:13:20Z","fingerprint":"abc","status":{"state":"active"}},
      {"labels":{"alertname":"backup_failed","generator":"opsdeck"},"annotations":{},"startsAt":"2023-11-14T22:13:20Z","fingerprint":"def"}
    ]"#;
    let x = alertmanager::parse_alerts(body).unwrap();
    assert_eq!(x.len(), 1, "opsdeck's own alerts are not pulled back");
    assert_eq!(x[0].name, "HighLoad");
    assert_eq!(x[0].severity, Severity::Critical);
    assert_eq!(x[0].summary, "load high");
    assert_eq!(x[0].runbook.as_deref(), Some("http://r"));
    assert_eq!(x[0].key(), "am/abc");
}

#[test]
fn pane_sorts_by_severity_then_age_with_resolved_greyed_below() {
    let rules = RuleSet::default();
    let st = Status::Ok;
    let mut d = Desk::default();
    let disk = |avail| {
        Sample::Host(Box::new(HostSample {
            disks: vec![DiskInfo {
                mount: "/".into(),
                total: 100,
                available: avail,
                ..Default::default()
            }],
            ..Default::default()
        }))
    };
    let backup = Sample::Backup(Box::new(BackupSample {
        name: "b".into(),
        verdict: crate::sources::backups::Verdict::Failed,
        ..Default::default()
    }));
    let h1 = disk(5);
    d.evaluate(&rules, &[view(SourceKind::Host, &st, Some(&h1))], t(0));
    d.evaluate(
        &rules,
        &[
            view(SourceKind::Host, &st, Some(&h1)),
            view(SourceKind::Backup, &st, Some(&backup)),
        ],
        t(10),
    );
    let h2 = disk(50);
    d.evaluate(
        &rules,
        &[
            view(SourceKind::Host, &st, Some(&h2)),
            view(SourceKind::Backup, &st, Some(&backup)),
        ],
        t(20),
    );
    d.external.push(alertmanager::External {
        fingerprint: "f".into(),
        name: "HighLoad".into(),
        severity: Severity::Warning,
        summary: "load high".into(),
        labels: Default::default(),
        starts_at: t(5),
        runbook: None,
    });
    let sel = pane::Selection {
        key: None,
        index: 0,
        filter: "",
        table: 0,
    };
    let m = pane::model(&d, &rules, &sel, t(30));
    let rows: Vec<(&str, &str, Level)> = m.tables[0]
        .rows
        .iter()
        .map(|r| {
            (
                r.cells[2].text.as_str(),
                r.cells[4].text.as_str(),
                r.cells[0].level,
            )
        })
        .collect();
    use crate::views::Level;
    assert_eq!(rows[0], ("backup_failed", "", Level::Crit));
    assert_eq!(rows[1], ("HighLoad", "ext", Level::Warn));
    assert_eq!(rows[2].0, "host_disk");
    assert!(rows[2].1.starts_with("resolved "));
    assert_eq!(rows[2].2, Level::Muted);
    assert_eq!(m.level, Level::Crit);
    // The selected (first) alert's detail: value, threshold, since, sparkline, runbook.
    let text: Vec<String> = m
        .summary
        .iter()
        .map(|s| match s {
            crate::views::Summary::Text(c) => c.iter().map(|c| c.text.as_str()).collect(),
            crate::views::Summary::Spark { label, .. } => format!("spark {label}"),
            _ => String::new(),
        })
        .collect();
    assert!(text[1].starts_with("since "), "{text:?}");
    assert!(text[1].contains("(20s)") && text[1].ends_with("Enter: go to the cause"));
    assert_eq!(text[2], "spark backup.failed");
    assert!(text[3].starts_with("runbook: Read the backup tool's log"));
    assert_eq!(m.tables[1].title, "Rules");
    assert_eq!(m.tables[1].rows.len(), rules::builtins().count());
}

#[test]
fn a_source_that_stops_answering_keeps_its_alerts_firing_and_stale() {
    let rules = RuleSet::default();
    let mut desk = Desk::default();
    let h = Sample::Host(Box::new(HostSample {
        disks: vec![DiskInfo {
            mount: "/".into(),
            total: 100,
            available: 2,
            ..Default::default()
        }],
        ..Default::default()
    }));
    let ok = Status::Ok;
    desk.evaluate(&rules, &[view(SourceKind::Host, &ok, Some(&h))], t(0));
    assert_eq!(desk.engine.firing().len(), 1);
    // The poll fails; the console still holds the last sample.
    let down = Status::Error("timed out".into());
    let o = desk.evaluate(&rules, &[view(SourceKind::Host, &down, Some(&h))], t(10));
    assert!(o.transitions.resolved.is_empty(), "{o:?}");
    let disk = desk
        .engine
        .firing()
        .into_iter()
        .find(|e| e.alert.rule == "host_disk")
        .expect("still firing");
    assert_eq!(disk.stale_since, Some(t(10)));
    // Back, still full: firing, no longer stale.
    desk.evaluate(&rules, &[view(SourceKind::Host, &ok, Some(&h))], t(20));
    let disk = desk
        .engine
        .firing()
        .into_iter()
        .find(|e| e.alert.rule == "host_disk");
    assert_eq!(disk.map(|e| e.stale_since), Some(None));
}

#[test]
fn a_standby_that_disconnects_does_not_resolve_its_lag_alert() {
    let rules = RuleSet::default();
    let mut desk = Desk::default();
    let lagging = PgSample {
        replication: crate::sources::postgres::Replication {
            standbys: vec![Standby {
                application: "replica1".into(),
                client: "10.0.0.2".into(),
                replay_lag_bytes: 64 << 20,
                replay_lag_seconds: Some(120.0),
                ..Default::default()
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    let gone = PgSample::default();
    let ok = Status::Ok;
    let s1 = Sample::Postgres(Box::new(lagging));
    let s2 = Sample::Postgres(Box::new(gone));
    // Lag fires after its `for` (60 s).
    desk.evaluate(&rules, &[view(SourceKind::Postgres, &ok, Some(&s1))], t(0));
    desk.evaluate(&rules, &[view(SourceKind::Postgres, &ok, Some(&s1))], t(70));
    let firing = |d: &Desk| -> Vec<String> {
        d.engine
            .firing()
            .iter()
            .map(|e| e.alert.rule.clone())
            .collect()
    };
    assert!(
        firing(&desk).contains(&"pg_replication_lag".to_string()),
        "{:?}",
        firing(&desk)
    );
    // The standby vanishes from pg_stat_replication: not evidence that it caught up.
    let o = desk.evaluate(&rules, &[view(SourceKind::Postgres, &ok, Some(&s2))], t(80));
    assert!(o.transitions.resolved.is_empty(), "{o:?}");
    assert!(firing(&desk).contains(&"pg_replication_lag".to_string()));
    assert!(
        desk.engine
            .firing()
            .iter()
            .all(|e| e.stale_since == Some(t(80)))
    );
}

#[test]
fn two_consoles_sharing_the_data_dir_keep_each_others_acks_and_silences() {
    let dir = tempfile::tempdir().unwrap();
    let p = Inbox::file(dir.path());
    let (mut a, mut b) = (Inbox::default(), Inbox::default());
    a.ack("x", Some("on it".into()), t(0));
    b.ack("y", None, t(1));
    b.silence_at("z", t(3600), t(1));
    let after_a = a.save_merged(&p, t(2)).unwrap();
    let after_b = b.save_merged(&p, t(3)).unwrap();
    assert!(after_a.acked("x").is_some());
    let on_disk = Inbox::load(&p).unwrap();
    assert_eq!(on_disk, after_b);
    assert!(on_disk.acked("x").is_some() && on_disk.acked("y").is_some());
    assert_eq!(on_disk.silenced_until("z", t(10)), Some(t(3600)));
    // A takes its ack back and lifts B's silence; B's old copy does not bring them back.
    a = a.merged(&on_disk, t(4));
    a.unack_at("x", t(5));
    a.unsilence_at("z", t(5));
    a.save_merged(&p, t(6)).unwrap();
    let from_b = b.save_merged(&p, t(7)).unwrap();
    assert!(from_b.acked("x").is_none(), "{from_b:?}");
    assert!(from_b.silenced_until("z", t(10)).is_none(), "{from_b:?}");
    assert!(from_b.acked("y").is_some());
    // Acked again later: that wins over the earlier take-back.
    b = from_b;
    b.ack("x", None, t(8));
    let again = b.save_merged(&p, t(9)).unwrap();
    assert!(again.acked("x").is_some());
}

#[test]
fn a_truncated_inbox_is_reported_and_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let p = Inbox::file(dir.path());
    let mut i = Inbox::default();
    i.ack("x", None, t(0));
    i.save_merged(&p, t(0)).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, &text[..text.len() / 2]).unwrap();
    let e = Inbox::load(&p).unwrap_err();
    assert!(e.contains("kept as"), "{e}");
    assert!(
        !p.exists(),
        "the broken file is moved, not left to be overwritten"
    );
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("corrupt"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(&kept[0])).unwrap(),
        text[..text.len() / 2]
    );
}

/// Two Redis sources: "a" over its memory threshold, "b" fine; `evaluate_source` after each
/// source's own sample reaches what `evaluate` of both reaches, and never touches the other
/// source's alerts (no stale mark, no resolution).
#[test]
fn evaluating_one_source_leaves_the_others_alerts_as_they_are() {
    let rules = memory_rules(0);
    let redis = redis_memory;
    let two = |a: &'static Sample, b: &'static Sample| {
        let st: &'static Status = Box::leak(Box::new(Status::Ok));
        [
            SourceView {
                name: "a",
                ..view(SourceKind::Redis, st, Some(a))
            },
            SourceView {
                name: "b",
                ..view(SourceKind::Redis, st, Some(b))
            },
        ]
    };
    let full: &'static Sample = Box::leak(Box::new(redis(0.95)));
    let fine: &'static Sample = Box::leak(Box::new(redis(0.5)));
    let (mut whole, mut scoped) = (Desk::default(), Desk::default());
    whole.evaluate(&rules, &two(full, full), t(0));
    scoped.evaluate_source(&rules, &two(full, full), 0, t(0));
    scoped.evaluate_source(&rules, &two(full, full), 1, t(0));
    assert_eq!(whole.engine, scoped.engine);
    assert_eq!(scoped.engine.firing().len(), 2);
    // "b" recovers but only "a" is evaluated: b's alert stays as it was.
    let o = scoped.evaluate_source(&rules, &two(full, fine), 0, t(2));
    assert!(o.transitions.is_empty(), "{o:?}");
    let b = scoped
        .engine
        .entries
        .get("redis_memory/redis/b/n1")
        .expect("b still raised");
    assert_eq!(b.stale_since, None);
    // b's own update resolves it, with the words it fired with and the value that ended it.
    let o = scoped.evaluate_source(&rules, &two(full, fine), 1, t(4));
    let [(resolved, since)] = o.transitions.resolved.as_slice() else {
        panic!("one resolution: {o:?}");
    };
    assert_eq!((resolved.source.as_str(), *since), ("b", t(0)));
    assert!(resolved.summary.contains("95"), "{}", resolved.summary);
    assert!((resolved.value - 0.5).abs() < 1e-9, "{}", resolved.value);
    whole.evaluate(&rules, &two(full, fine), t(4));
    assert_eq!(
        whole.engine.entries.keys().collect::<Vec<_>>(),
        scoped.engine.entries.keys().collect::<Vec<_>>()
    );
}

#[test]
fn firing_alerts_are_worst_first_then_oldest_then_by_key() {
    let rules = memory_rules(0);
    let node = |addr: &str, ratio: f64| NodeInfo {
        addr: addr.into(),
        used_memory: (ratio * 1000.0) as u64,
        maxmemory: 1000,
        ..Default::default()
    };
    let sample = |nodes: Vec<NodeInfo>| {
        Sample::Redis(Box::new(RedisSample {
            nodes,
            ..Default::default()
        }))
    };
    let st = Status::Ok;
    let mut e = Engine::default();
    let first = sample(vec![node("n3", 0.95)]);
    e.step(
        rules.observe(&[view(SourceKind::Redis, &st, Some(&first))], &|_| false),
        t(0),
        |_| Unseen::Resolve,
    );
    let all = sample(vec![node("n3", 0.95), node("n2", 0.95), node("n1", 0.95)]);
    e.step(
        rules.observe(&[view(SourceKind::Redis, &st, Some(&all))], &|_| false),
        t(10),
        |_| Unseen::Resolve,
    );
    let order: Vec<&str> = e
        .firing()
        .iter()
        .map(|x| x.alert.subject.as_str())
        .collect();
    assert_eq!(order, ["n3", "n1", "n2"], "oldest first, then by key");
}
