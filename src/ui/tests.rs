//! Render snapshots: the whole screen as text, at 80x24 and 200x60.

use chrono::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::state::{Button, Confirm, Input, Mode, Pane, State};
use crate::config::Config;
use crate::config::keymap::Keymap;
use crate::sources::host::{DiskInfo, HostSample};
use crate::sources::redis::{NodeInfo, RedisSample};
use crate::sources::{Sample, Status, Update};
use crate::theme::Theme;

/// The clock of every snapshot: 03:12 local time.
fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::Local
        .with_ymd_and_hms(2026, 11, 25, 3, 12, 0)
        .single()
        .expect("valid time")
        .with_timezone(&chrono::Utc)
}

fn update(s: &mut State, e: crate::app::Event) -> Vec<crate::app::Effect> {
    crate::app::update(s, e, t0())
}

fn state() -> State {
    let mut s = State::new(
        Config::default(),
        "local".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    );
    s.now = t0();
    let host = HostSample {
        hostname: "oncall-1".into(),
        cpu_percent: 12.0,
        cpu_history: vec![3, 5, 9, 12, 30, 12, 8],
        load: [0.42, 0.3, 0.2],
        mem_used: 3 << 30,
        mem_total: 16 << 30,
        disks: vec![DiskInfo {
            mount: "/".into(),
            total: 100 << 30,
            available: 40 << 30,
            ..Default::default()
        }],
        ..Default::default()
    };
    let redis = RedisSample {
        nodes: vec![NodeInfo {
            addr: "127.0.0.1:6379".into(),
            role: "master".into(),
            used_memory: 900 << 20,
            maxmemory: 1 << 30,
            maxmemory_policy: "allkeys-lru".into(),
            ops_per_sec: 1200,
            connected_clients: 14,
            keys: 52_000,
            persistence: crate::sources::redis::model::Persistence {
                rdb_last_bgsave_status: "ok".into(),
                ..Default::default()
            },
            ..Default::default()
        }],
        mode: "standalone".into(),
        ..Default::default()
    };
    let feed = |s: &mut State, kind, u: Update| {
        let index = s
            .sources
            .iter()
            .position(|x| x.kind == kind)
            .expect("source");
        update(
            s,
            crate::app::Event::Source {
                generation: 0,
                index,
                update: u,
            },
        );
    };
    feed(
        &mut s,
        crate::sources::SourceKind::Host,
        Update::Sample(Sample::Host(Box::new(host))),
    );
    feed(
        &mut s,
        crate::sources::SourceKind::Redis,
        Update::Sample(Sample::Redis(Box::new(redis))),
    );
    feed(
        &mut s,
        crate::sources::SourceKind::Postgres,
        Update::Status(Status::Error("connection refused".into())),
    );
    s
}

fn render(s: &State, w: u16, h: u16) -> String {
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
    out
}

fn both_sizes(name: &str, s: &mut State) {
    for (w, h) in [(80, 24), (200, 60)] {
        s.size = (w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(s, w, h));
    }
}

#[test]
fn overview() {
    both_sizes("overview", &mut state());
}

#[test]
fn zoomed_redis() {
    let mut s = state();
    s.focus = Pane::Redis;
    s.zoomed = true;
    both_sizes("zoomed_redis", &mut s);
}

#[test]
fn zoomed_alerts() {
    use chrono::Utc;
    let mut s = state();
    let now = s.now.with_timezone(&Utc);
    let desk = &mut s.alert_desk;
    desk.clock = Some(now);
    for e in desk.engine.entries.values_mut() {
        e.since = now - chrono::Duration::minutes(7);
        e.values = vec![1.0; 5];
    }
    let key = "source_unreachable/postgres/local/";
    desk.inbox.ack(key, Some("DBA paged".into()), now);
    desk.inbox.history.push(crate::alerts::inbox::HistoryEntry {
        key: "redis_memory/redis/local/127.0.0.1:6379".into(),
        rule: "redis_memory".into(),
        severity: crate::alerts::Severity::Warning,
        summary: "node 127.0.0.1:6379: memory of maxmemory 93% (≥ 90%)".into(),
        value: 0.93,
        threshold: 0.9,
        since: now - chrono::Duration::minutes(40),
        resolved_at: Some(now - chrono::Duration::minutes(25)),
    });
    desk.external.push(crate::alerts::alertmanager::External {
        fingerprint: "4f2a".into(),
        name: "NodeFilesystemAlmostFull".into(),
        severity: crate::alerts::Severity::Warning,
        summary: "/var on db1 will fill in 4h".into(),
        labels: Default::default(),
        starts_at: now - chrono::Duration::minutes(90),
        runbook: None,
    });
    desk.inbox
        .silence("am/4f2a", now + chrono::Duration::hours(4));
    s.focus = Pane::Alerts;
    s.zoomed = true;
    s.refresh(Pane::Alerts);
    both_sizes("zoomed_alerts", &mut s);
}

#[test]
fn help() {
    let mut s = state();
    s.mode = Mode::Help { scroll: 0 };
    both_sizes("help", &mut s);
}

#[test]
fn help_read_only_shows_actions_disabled() {
    let mut s = state();
    s.cli_readonly = true;
    s.mode = Mode::Help { scroll: 0 };
    let screen = render(&s, 200, 60);
    assert!(screen.contains("READ-ONLY"));
    assert!(screen.contains("Redis BGSAVE (disabled: read-only)"));
}

#[test]
fn confirm_dialog() {
    let mut s = state();
    s.focus = Pane::Redis;
    s.zoomed = true;
    let command = crate::app::commands::for_action(&s, crate::config::keymap::Action::Bgsave)
        .expect("command");
    s.mode = Mode::Confirm(Box::new(Confirm {
        command,
        context: "local".into(),
        production: false,
        required: None,
        typed: Input::default(),
        focus: Button::Cancel,
    }));
    both_sizes("confirm", &mut s);
}

#[test]
fn no_color_draws_without_colour() {
    let mut s = state();
    s.theme = Theme::default();
    // Through the same path NO_COLOR takes.
    let t = s.theme.clone();
    s.theme = Theme {
        name: t.name.clone(),
        ..colourless(t)
    };
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    term.draw(|f| super::draw(f, &s)).expect("draw");
    let buf = term.backend().buffer();
    assert!(
        buf.content()
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset)
    );
}

fn colourless(t: Theme) -> Theme {
    // SAFETY of the test: set_var is process-global; this test alone reads NO_COLOR.
    unsafe { std::env::set_var("NO_COLOR", "1") };
    let out = t.honour_no_color();
    unsafe { std::env::remove_var("NO_COLOR") };
    out
}

#[test]
fn zoomed_postgres() {
    use crate::sources::postgres::model::{Connections, PgSample, Session};
    let mut s = state();
    let session = |pid, state: &str, secs, query: &str| Session {
        pid,
        database: "app".into(),
        user: "web".into(),
        application: "api".into(),
        client: "10.0.0.7".into(),
        state: state.into(),
        query_seconds: Some(secs),
        xact_seconds: Some(secs),
        query: query.into(),
        ..Default::default()
    };
    let mut by_state = std::collections::BTreeMap::new();
    by_state.insert("active".to_string(), 2);
    by_state.insert("idle in transaction".to_string(), 1);
    let pg = PgSample {
        version: "PostgreSQL 15.18".into(),
        version_num: 150018,
        role: "primary".into(),
        uptime_seconds: 86400.0,
        max_connections: 100,
        reserved_connections: 3,
        usable_connections: 97,
        connections: Connections {
            total: 3,
            by_state,
            ..Default::default()
        },
        activity: vec![
            session(
                4242,
                "active",
                754.0,
                "UPDATE accounts SET balance = balance - 10 WHERE id = 7",
            ),
            session(
                4243,
                "idle in transaction",
                312.0,
                "SELECT * FROM orders FOR UPDATE",
            ),
            session(4244, "active", 0.4, "SELECT 1"),
        ],
        ..Default::default()
    };
    let index = s
        .sources
        .iter()
        .position(|x| x.kind == crate::sources::SourceKind::Postgres)
        .expect("pg");
    update(
        &mut s,
        crate::app::Event::Source {
            generation: 0,
            index,
            update: Update::Sample(Sample::Postgres(Box::new(pg))),
        },
    );
    s.focus = Pane::Databases;
    s.zoomed = true;
    both_sizes("zoomed_postgres", &mut s);
}

/// The default state with a hand-made Kafka sample: a stopped group with a never-committed
/// partition beside a healthy one, on a 3-partition topic with one replica missing.
fn kafka_state() -> State {
    use crate::sources::kafka::{
        BrokerInfo, GroupInfo, GroupPartition, KafkaSample, LagStatus, MemberInfo, PartitionInfo,
        TABLE_GROUPS, TopicInfo,
    };
    let mut s = state();
    let part = |topic: &str,
                partition,
                committed: Option<i64>,
                high,
                secs,
                owner: Option<&str>,
                status| {
        GroupPartition {
            topic: topic.into(),
            partition,
            committed,
            high: Some(high),
            lag: committed.map(|c| high - c),
            lag_seconds: secs,
            owner: owner.map(Into::into),
            status,
            reason: String::new(),
            ..Default::default()
        }
    };
    let kafka = KafkaSample {
        brokers: vec![
            BrokerInfo {
                id: 1,
                host: "kafka-1".into(),
                port: 9092,
                rack: Some("eu-1a".into()),
                controller: true,
                leaders: 3,
            },
            BrokerInfo {
                id: 2,
                host: "kafka-2".into(),
                port: 9092,
                rack: Some("eu-1b".into()),
                controller: false,
                leaders: 0,
            },
        ],
        controller: Some(1),
        topics: vec![TopicInfo {
            name: "orders".into(),
            partition_count: 3,
            replication_factor: 2,
            retention_ms: Some(604_800_000),
            cleanup_policy: Some("delete".into()),
            min_insync_replicas: Some(1),
            messages_per_sec: Some(120.0),
            under_replicated: 1,
            partitions: (0..3)
                .map(|p| PartitionInfo {
                    partition: p,
                    leader: 1,
                    replicas: vec![1, 2],
                    isr: if p == 1 { vec![1] } else { vec![1, 2] },
                    missing: if p == 1 { vec![2] } else { vec![] },
                    low: Some(0),
                    high: Some([30_100, 18_710, 40][p as usize]),
                })
                .collect(),
            ..Default::default()
        }],
        groups: vec![
            GroupInfo {
                name: "billing".into(),
                state: "Empty".into(),
                total_lag: 48_210,
                max_partition_lag: 30_000,
                lag_seconds: Some(1260.0),
                trend: vec![10, 20, 30, 40, 48],
                status: LagStatus::Stop,
                reason: "no commit for 21m while lag grew".into(),
                partitions: vec![
                    part(
                        "orders",
                        0,
                        Some(100),
                        30_100,
                        Some(1260.0),
                        None,
                        LagStatus::Stop,
                    ),
                    part(
                        "orders",
                        1,
                        Some(500),
                        18_710,
                        Some(900.0),
                        None,
                        LagStatus::Stop,
                    ),
                    part("orders", 2, None, 40, None, None, LagStatus::Ok),
                ]
                .into(),
                ..Default::default()
            },
            GroupInfo {
                name: "shipping".into(),
                state: "Stable".into(),
                members: vec![MemberInfo {
                    client_id: "shipper-1".into(),
                    consumer_id: "shipper-1-7f3a".into(),
                    host: "/10.0.0.8".into(),
                    assignment: vec!["orders-0".to_string(), "orders-1".into(), "orders-2".into()]
                        .into(),
                }],
                total_lag: 12,
                max_partition_lag: 7,
                lag_seconds: Some(0.4),
                trend: vec![9, 14, 8, 12],
                status: LagStatus::Ok,
                reason: "consuming".into(),
                partitions: vec![
                    part(
                        "orders",
                        0,
                        Some(30_093),
                        30_100,
                        Some(0.4),
                        Some("shipper-1@/10.0.0.8"),
                        LagStatus::Ok,
                    ),
                    part(
                        "orders",
                        1,
                        Some(18_705),
                        18_710,
                        Some(0.2),
                        Some("shipper-1@/10.0.0.8"),
                        LagStatus::Ok,
                    ),
                    part(
                        "orders",
                        2,
                        Some(40),
                        40,
                        Some(0.0),
                        Some("shipper-1@/10.0.0.8"),
                        LagStatus::Ok,
                    ),
                ]
                .into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let index = s
        .sources
        .iter()
        .position(|x| x.kind == crate::sources::SourceKind::Kafka)
        .expect("kafka source in the default context");
    update(
        &mut s,
        crate::app::Event::Source {
            generation: 0,
            index,
            update: Update::Sample(Sample::Kafka(Box::new(kafka))),
        },
    );
    s.focus = Pane::Kafka;
    s.zoomed = true;
    s.set_tab(Pane::Kafka, TABLE_GROUPS);
    s
}

/// A row of the Kafka source.
fn kafka_row(s: &State, key: &str) -> crate::app::state::RowId {
    let index = s
        .sources
        .iter()
        .position(|x| x.kind == crate::sources::SourceKind::Kafka)
        .expect("kafka source");
    crate::app::state::RowId {
        origin: crate::app::state::Origin::Source(index),
        key: key.into(),
    }
}

#[test]
fn zoomed_kafka() {
    both_sizes("zoomed_kafka", &mut kafka_state());
}

#[test]
fn kafka_group_detail() {
    let mut s = kafka_state();
    s.pane_state_mut(Pane::Kafka).detail = Some(kafka_row(&s, "billing"));
    both_sizes("kafka_group_detail", &mut s);
}

#[test]
fn kafka_topics_and_partitions() {
    use crate::sources::kafka::TABLE_TOPICS;
    let mut s = kafka_state();
    s.set_tab(Pane::Kafka, TABLE_TOPICS);
    both_sizes("kafka_topics", &mut s);
    s.pane_state_mut(Pane::Kafka).detail = Some(kafka_row(&s, "orders"));
    both_sizes("kafka_topic_partitions", &mut s);
}

#[test]
fn kafka_brokers() {
    use crate::sources::kafka::TABLE_BROKERS;
    let mut s = kafka_state();
    s.set_tab(Pane::Kafka, TABLE_BROKERS);
    both_sizes("kafka_brokers", &mut s);
}

/// A MariaDB server alone in the Databases pane, zoomed on its Processlist: a long query, a
/// thread waiting on a lock behind an idle transaction, a replication SQL thread.
#[test]
fn zoomed_mysql() {
    use crate::sources::mysql::{
        LockNode, MysqlSample, MysqlSpec, TAB_PROCESSLIST, Thread, count_connections,
    };
    let mut cfg = Config::default();
    let ctx = cfg.contexts.get_mut("local").expect("local context");
    ctx.postgres.clear();
    ctx.mysql.push(MysqlSpec {
        name: "shop".into(),
        url: "mariadb://monitor@shop-db:3306/shop".into(),
        ..Default::default()
    });
    let mut s = State::new(
        cfg,
        "local".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    );
    s.now = t0();
    let thread = |id: u64, user: &str, command: &str, secs, label: &str, info: &str| Thread {
        id,
        user: user.into(),
        host: format!("10.0.0.7:{}", 40000 + id),
        database: "shop".into(),
        command: command.into(),
        seconds: secs,
        state: if command == "Query" {
            "Sending data"
        } else {
            ""
        }
        .into(),
        info: info.into(),
        label: label.into(),
        trx_seconds: (label != "idle" && label != "other").then_some(secs + 5.0),
        ..Default::default()
    };
    let mut sql_thread = thread(5, "system user", "Slave_SQL", 86000.0, "other", "");
    sql_thread.system = true;
    sql_thread.host = String::new();
    sql_thread.database = String::new();
    sql_thread.state = "Slave has read all relay log; waiting for more updates".into();
    let mut waiter = thread(
        41,
        "app",
        "Query",
        48.0,
        "waiting on a lock",
        "UPDATE stock SET n = n - 1 WHERE id = 7",
    );
    waiter.state = "Updating".into();
    let processlist = vec![
        thread(
            40,
            "report",
            "Query",
            754.0,
            "active",
            "SELECT customer_id, SUM(total) FROM orders GROUP BY customer_id",
        ),
        waiter,
        thread(42, "batch", "Sleep", 312.0, "idle in transaction", ""),
        thread(43, "web", "Sleep", 3.0, "idle", ""),
        sql_thread,
    ];
    let mysql = MysqlSample {
        version: "10.11.6-MariaDB-0+deb12u1-log".into(),
        uptime_seconds: 86400.0,
        connected_as: "monitor@%".into(),
        own_connection_id: 30,
        server_id: 2,
        performance_schema: true,
        max_connections: 151,
        threads_connected: 6,
        threads_running: 3,
        has_process: true,
        connections: count_connections(&processlist),
        locks: vec![
            LockNode {
                id: 42,
                waiters: 1,
                wait_seconds: 48.0,
                user: "batch".into(),
                host: "10.0.0.7:40042".into(),
                label: "idle in transaction".into(),
                trx_seconds: Some(317.0),
                ..Default::default()
            },
            LockNode {
                id: 41,
                depth: 1,
                blocked_by: vec![42],
                wait_seconds: 48.0,
                lock: "X on `shop`.`stock` (PRIMARY)".into(),
                user: "app".into(),
                host: "10.0.0.7:40041".into(),
                label: "waiting on a lock".into(),
                info: "UPDATE stock SET n = n - 1 WHERE id = 7".into(),
                ..Default::default()
            },
        ],
        lock_source: "information_schema.INNODB_LOCK_WAITS".into(),
        processlist,
        replication: crate::sources::mysql::Replication {
            channels: vec![crate::sources::mysql::Channel {
                source: "shop-db-0:3306".into(),
                io_running: "Yes".into(),
                sql_running: "Yes".into(),
                seconds_behind: Some(2),
                ..Default::default()
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    let index = s
        .sources
        .iter()
        .position(|x| x.kind == crate::sources::SourceKind::Mysql)
        .expect("mysql source");
    update(
        &mut s,
        crate::app::Event::Source {
            generation: 0,
            index,
            update: Update::Sample(mysql.into()),
        },
    );
    s.focus = Pane::Databases;
    s.zoomed = true;
    s.set_tab(Pane::Databases, TAB_PROCESSLIST);
    both_sizes("zoomed_mysql", &mut s);
}

/// Groups judged by `State::ingest` over five polls a hundred seconds apart: consuming,
/// stopped with records lost, abandoned, judging, transactional, and stale.
fn kafka_verdicts_state() -> State {
    use crate::sources::kafka::{Probe, Raw, State as Kafka, Windows, admin};
    let poll = |t: f64| {
        let base = 1000 + t as i64;
        let mut r = Raw {
            topics: vec![
                (
                    "orders".into(),
                    false,
                    vec![(0, 1, vec![1], vec![1]), (1, 1, vec![1], vec![1])],
                ),
                ("payments".into(), false, vec![(0, 1, vec![1], vec![1])]),
            ],
            brokers: vec![(1, "kafka-1".into(), 9092)],
            watermarks: [
                (("orders".to_string(), 0), (0, base)),
                (("orders".to_string(), 1), (50, base)),
                (("payments".to_string(), 0), (0, 90)),
            ]
            .into_iter()
            .collect(),
            stable: [(("payments".to_string(), 0), 80)].into_iter().collect(),
            ..Default::default()
        };
        let mut group = |name: &str, members: bool, commits: Vec<(&str, i32, i64)>| {
            r.groups.push(admin::GroupDescription {
                name: name.into(),
                state: if members { "Stable" } else { "Empty" }.into(),
                error: None,
                members: if members {
                    vec![admin::Member {
                        client_id: format!("{name}-1"),
                        consumer_id: format!("{name}-1-7f3a"),
                        host: "/10.0.0.8".into(),
                        assignment: commits.iter().map(|c| (c.0.into(), c.1)).collect(),
                    }]
                } else {
                    vec![]
                },
            });
            r.offsets.insert(
                name.into(),
                Ok(commits
                    .into_iter()
                    .map(|(tp, p, c)| ((tp.to_string(), p), c))
                    .collect()),
            );
        };
        group(
            "billing",
            true,
            vec![("orders", 0, base - 3), ("orders", 1, base - 2)],
        );
        group(
            "reports",
            false,
            vec![("orders", 0, 1040), ("orders", 1, 10)],
        );
        group("archive", false, vec![("orders", 0, 900)]);
        group("eos", true, vec![("payments", 0, 80)]);
        group("flaky", true, vec![("orders", 0, 700)]);
        if t >= 400.0 {
            group("fresh", true, vec![("orders", 0, base - 100)]);
            r.offsets.insert(
                "flaky".into(),
                Err("Broker: Coordinator not available".into()),
            );
        }
        r.probes.push(Probe {
            abandoned_after: 86_400.0,
            before: t - 86_400.0,
            offsets: [(("orders".to_string(), 0), 950)].into_iter().collect(),
        });
        r
    };
    let mut k = Kafka::new(Windows::default());
    let mut sample = None;
    for t in [0.0, 100.0, 200.0, 300.0, 390.0, 400.0] {
        sample = Some(k.ingest(poll(t), t, false));
    }
    let mut s = kafka_state();
    let index = s
        .sources
        .iter()
        .position(|x| x.kind == crate::sources::SourceKind::Kafka)
        .expect("kafka source in the default context");
    update(
        &mut s,
        crate::app::Event::Source {
            generation: 0,
            index,
            update: Update::Sample(Sample::Kafka(Box::new(sample.expect("polled")))),
        },
    );
    s
}

#[test]
fn kafka_group_verdicts() {
    let mut s = kafka_verdicts_state();
    both_sizes("kafka_group_verdicts", &mut s);
    // The details at the large size only: at 80 columns their minimum widths overflow and
    // ratatui's solver breaks the tie differently from run to run.
    s.size = (200, 60);
    for g in ["reports", "eos"] {
        s.pane_state_mut(Pane::Kafka).detail = Some(kafka_row(&s, g));
        insta::assert_snapshot!(
            format!("kafka_group_verdicts_{g}_200x60"),
            render(&s, 200, 60)
        );
    }
}
