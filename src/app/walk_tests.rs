//! Every pane × every tab × every key it offers, pressed through `update` on realistic
//! samples: each must reach its confirmation, its parameter question or the refusal the
//! offer gave, never "not offered". A key that is shown works.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::state::{Mode, Pane, State};
use super::update::tests_support::{t0, update};
use super::view::Origin;
use super::{Effect, Event};
use crate::config::keymap::{Action, KeyCode as K};
use crate::config::{Config, ContextSpec};
use crate::sources::backups::{BackupItem, BackupSample, BackupSpec, Verdict};
use crate::sources::endpoints::{EndpointSample, EndpointSpec};
use crate::sources::host::{DiskInfo, HostSample};
use crate::sources::kafka::{
    BrokerInfo, GroupInfo, GroupPartition, KafkaSample, KafkaSpec, MemberInfo, PartitionInfo,
    TopicInfo,
};
use crate::sources::mysql::{self, MysqlSample, MysqlSpec, Thread};
use crate::sources::postgres::indexes::{Advice, Kind};
use crate::sources::postgres::{LockNode, PgSample, PostgresSpec, RoleLimit, Session, Slot};
use crate::sources::redis::{
    ClientInfo, NodeInfo, RedisSample, RedisSpec, SentinelPeer, SentinelView,
};
use crate::sources::{Availability, Sample, Update};
use crate::theme::Theme;

fn context() -> ContextSpec {
    let mut ctx = ContextSpec {
        kafka: vec![KafkaSpec {
            name: "main".into(),
            brokers: "k:9092".into(),
            ..Default::default()
        }],
        postgres: vec![PostgresSpec {
            name: "app".into(),
            url: "postgres://u@db/app".into(),
            ..Default::default()
        }],
        mysql: vec![MysqlSpec {
            name: "shop".into(),
            url: "mariadb://monitor@shop-db:3306/shop".into(),
            ..Default::default()
        }],
        redis: vec![RedisSpec {
            name: "cache".into(),
            sentinels: vec!["s:26379".into()],
            master: Some("mymaster".into()),
            ..Default::default()
        }],
        endpoints: vec![EndpointSpec {
            name: "api".into(),
            url: "http://api/health".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    for (name, kind) in [
        ("dumps", "files"),
        ("stanza", "pgbackrest"),
        ("rdb", "redis"),
    ] {
        ctx.backups.push(BackupSpec {
            name: name.into(),
            kind: kind.into(),
            dir: Some("/backups".into()),
            stanza: Some("main".into()),
            source: Some("cache".into()),
            ..Default::default()
        });
    }
    ctx
}

fn kafka() -> KafkaSample {
    let part = |p, committed, high| GroupPartition {
        topic: "orders".into(),
        partition: p,
        committed: Some(committed),
        high: Some(high),
        lag: Some(high - committed),
        ..Default::default()
    };
    let group = |name: &str, members: usize| GroupInfo {
        name: name.into(),
        state: if members > 0 { "Stable" } else { "Empty" }.into(),
        members: (0..members)
            .map(|i| MemberInfo {
                client_id: format!("c{i}"),
                ..Default::default()
            })
            .collect(),
        total_lag: 30,
        partitions: vec![part(0, 10, 20), part(1, 10, 30)],
        ..Default::default()
    };
    let brokers = vec![
        BrokerInfo {
            id: 1,
            host: "k".into(),
            port: 9092,
            controller: true,
            leaders: 2,
            ..Default::default()
        },
        // An empty second broker: the Balance tab has a plan (one move).
        BrokerInfo {
            id: 2,
            host: "k2".into(),
            port: 9092,
            ..Default::default()
        },
    ];
    let mut s = KafkaSample {
        brokers: brokers.clone(),
        controller: Some(1),
        topics: vec![TopicInfo {
            name: "orders".into(),
            partition_count: 2,
            replication_factor: 1,
            partitions: (0..2)
                .map(|p| PartitionInfo {
                    partition: p,
                    leader: 1,
                    replicas: vec![1],
                    isr: vec![1],
                    low: Some(0),
                    high: Some(30),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        groups: vec![group("billing", 0), group("live", 2)],
        ..Default::default()
    };
    s.balance = crate::sources::kafka::balance::build(
        &s.topics,
        &brokers,
        None,
        Some(Ok(Vec::new())),
        &mut None,
    );
    s.balance.plan_file = Some("rebalance-main.json".into());
    s.balance.throttle_bytes_per_sec = 10 << 20;
    s
}

fn advice(kind: Kind, index: &str, ddl: &str) -> Advice {
    Advice {
        kind: Some(kind),
        index: index.into(),
        index_oid: 16400,
        table: "public.orders".into(),
        size_bytes: 8 << 20,
        other: if kind == Kind::Duplicate {
            "public.orders_customer".into()
        } else {
            String::new()
        },
        ddl: ddl.into(),
        ..Default::default()
    }
}

fn postgres() -> PgSample {
    let session = |pid, state: &str, own| Session {
        pid,
        database: "app".into(),
        user: "web".into(),
        state: state.into(),
        query_seconds: Some(30.0),
        state_seconds: Some(400.0),
        query: "select 1".into(),
        own,
        backend_start: Some(1_700_000_000_000_000 + i64::from(pid)),
        ..Default::default()
    };
    PgSample {
        role: "primary".into(),
        max_connections: 100,
        usable_connections: 97,
        activity: vec![
            session(10, "active", false),
            session(11, "idle in transaction", false),
            session(99, "active", true),
        ],
        locks: vec![LockNode {
            pid: 10,
            waiters: 1,
            longest_wait_seconds: 12.0,
            state: "active".into(),
            ..Default::default()
        }],
        roles: vec![RoleLimit {
            role: "web".into(),
            connection_limit: -1,
            connections: 2,
        }],
        // Index advice: a drop (typed name), a rebuild, and rows that refuse with why.
        index_advice: crate::sources::postgres::indexes::IndexAdvice {
            database: "app".into(),
            stats_reset: None,
            rows: vec![
                advice(
                    Kind::Duplicate,
                    "public.orders_customer_dup",
                    "DROP INDEX CONCURRENTLY public.orders_customer_dup",
                ),
                advice(
                    Kind::IndexBloat,
                    "public.orders_pkey",
                    "REINDEX INDEX CONCURRENTLY public.orders_pkey",
                ),
                advice(Kind::SeqScans, "", ""),
                advice(Kind::TableBloat, "", ""),
            ],
        },
        ages: crate::sources::postgres::FigureAges {
            indexes: Some(1.0),
            ..Default::default()
        },
        // A row on the Slots tab (after Replication), where no session verb applies.
        slots: vec![Slot {
            name: "old_sub".into(),
            slot_type: "logical".into(),
            wal_status: "reserved".into(),
            retained_bytes: Some(3 << 30),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A MariaDB primary-and-replica under load: a long query, a lock wait behind an idle
/// transaction, another console and a replication SQL thread (both refused), a digest and
/// a replication channel.
fn mysql() -> MysqlSample {
    let thread = |id: u64, user: &str, command: &str, label: &str, info: &str| Thread {
        id,
        user: user.into(),
        host: format!("10.0.0.7:{}", 40000 + id),
        database: "shop".into(),
        command: command.into(),
        seconds: 42.0,
        state: if command == "Query" {
            "Sending data"
        } else {
            ""
        }
        .into(),
        info: info.into(),
        label: label.into(),
        trx_seconds: (label != "idle").then_some(320.0),
        command_started_at: 1_700_000_000.0,
        query_id: Some(id * 100),
        ..Default::default()
    };
    let mut console = thread(31, "monitor", "Sleep", "idle", "");
    console.console = true;
    let mut sql_thread = thread(5, "system user", "Slave_SQL", "other", "");
    sql_thread.system = true;
    let processlist = vec![
        thread(
            40,
            "app",
            "Query",
            "active",
            "SELECT * FROM orders WHERE total > 100",
        ),
        thread(
            41,
            "app",
            "Query",
            "waiting on a lock",
            "UPDATE stock SET n = n - 1 WHERE id = 7",
        ),
        thread(42, "batch", "Sleep", "idle in transaction", ""),
        thread(43, "web", "Sleep", "idle", ""),
        console,
        sql_thread,
    ];
    let lock = |id: u64, depth, label: &str| mysql::LockNode {
        id,
        depth,
        blocked_by: if depth == 0 { vec![] } else { vec![42] },
        waiters: if depth == 0 { 1 } else { 0 },
        wait_seconds: 12.0,
        lock: "X on `shop`.`stock` (PRIMARY)".into(),
        user: "batch".into(),
        host: "10.0.0.7:40042".into(),
        label: label.into(),
        ..Default::default()
    };
    MysqlSample {
        version: "10.11.6-MariaDB-log".into(),
        flavor: mysql::Flavor::Mariadb,
        uptime_seconds: 86400.0,
        server_started_at: 1_699_900_000,
        connected_as: "monitor@%".into(),
        own_connection_id: 30,
        server_id: 1,
        performance_schema: true,
        max_connections: 151,
        threads_connected: 7,
        threads_running: 2,
        has_process: true,
        connections: mysql::count_connections(&processlist),
        processlist,
        locks: vec![
            lock(42, 0, "idle in transaction"),
            lock(41, 1, "waiting on a lock"),
        ],
        lock_source: "information_schema.INNODB_LOCK_WAITS".into(),
        statements: Some(vec![mysql::Statement {
            digest: "3f2a".into(),
            schema: "shop".into(),
            calls: 1200,
            total_ms: 5400.0,
            mean_ms: 4.5,
            text: "SELECT * FROM orders WHERE total > ?".into(),
            ..Default::default()
        }]),
        replication: mysql::Replication {
            channels: vec![mysql::Channel {
                source: "shop-db-0:3306".into(),
                io_running: "Yes".into(),
                sql_running: "Yes".into(),
                seconds_behind: Some(3),
                using_gtid: "Slave_Pos".into(),
                gtid_io_pos: "0-1-1042".into(),
                ..Default::default()
            }],
            gtid_binlog_pos: "0-1-1042".into(),
            gtid_slave_pos: "0-1-1040".into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn redis() -> RedisSample {
    let node = |addr: &str, role: &str| NodeInfo {
        addr: addr.into(),
        role: role.into(),
        maxmemory_policy: "allkeys-lru".into(),
        ..Default::default()
    };
    RedisSample {
        mode: "sentinel".into(),
        nodes: vec![
            node("10.0.0.1:6379", "master"),
            node("10.0.0.2:6379", "replica"),
        ],
        sentinel: Some(SentinelView {
            master_name: "mymaster".into(),
            master_addr: "10.0.0.1:6379".into(),
            master_flags: "master".into(),
            quorum: 2,
            ckquorum_ok: true,
            replicas: vec![SentinelPeer {
                addr: "10.0.0.2:6379".into(),
                flags: "slave".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        clients: vec![
            ClientInfo {
                id: 7,
                addr: "10.0.0.9:5000".into(),
                name: "worker".into(),
                ..Default::default()
            },
            // The console's own connection: offered, and refused with the reason.
            ClientInfo {
                id: 8,
                addr: "10.0.0.1:6000".into(),
                name: "opsdeck".into(),
                ..Default::default()
            },
        ],
        clients_node: "10.0.0.1:6379".into(),
        ..Default::default()
    }
}

fn backup(name: &str, kind: &str) -> BackupSample {
    BackupSample {
        name: name.into(),
        kind: kind.into(),
        verdict: Verdict::Fresh,
        reason: "newest is 1h old".into(),
        dir: Some("/backups".into()),
        stanza: Some("main".into()),
        source: Some("cache".into()),
        items: if kind == "redis" {
            Vec::new()
        } else {
            vec![BackupItem {
                label: if kind == "files" { "app-1.dump" } else { "F1" }.into(),
                kind: if kind == "files" { "file" } else { "full" }.into(),
                age_secs: Some(3600),
                ..Default::default()
            }]
        },
        ..Default::default()
    }
}

fn host() -> HostSample {
    HostSample {
        hostname: "h".into(),
        mem_total: 1 << 30,
        mem_used: 1 << 29,
        disks: vec![DiskInfo {
            mount: "/".into(),
            total: 100,
            available: 50,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A console with every system of the context fed one realistic sample.
pub fn fed_state() -> State {
    let mut cfg = Config::default();
    cfg.contexts.insert("walk".into(), context());
    let mut s = State::new(
        cfg,
        "walk".into(),
        false,
        Theme::default(),
        crate::config::keymap::Keymap::builtin_default(),
    );
    let samples: Vec<Sample> = s
        .sources
        .iter()
        .map(|src| match (src.kind.label(), src.name.as_str()) {
            ("kafka", _) => kafka().into(),
            ("postgres", _) => postgres().into(),
            ("mysql", _) => mysql().into(),
            ("redis", _) => redis().into(),
            ("backup", "dumps") => backup("dumps", "files").into(),
            ("backup", "stanza") => backup("stanza", "pgbackrest").into(),
            ("backup", _) => backup("rdb", "redis").into(),
            ("endpoint", _) => EndpointSample {
                name: "api".into(),
                probe: "http".into(),
                ok: true,
                latency_ms: Some(3.0),
                ..Default::default()
            }
            .into(),
            _ => host().into(),
        })
        .collect();
    for (index, sample) in samples.into_iter().enumerate() {
        let generation = s.generation;
        update(
            &mut s,
            Event::Source {
                generation,
                index,
                update: Update::Sample(sample),
            },
        );
    }
    s
}

fn press(s: &mut State, action: Action) -> Vec<Effect> {
    let key = s.keymap.keys_of(action)[0];
    let code = match key.code {
        K::Char(c) => KeyCode::Char(c),
        K::Enter => KeyCode::Enter,
        other => panic!("{action} is bound to {other:?}: pick a character key"),
    };
    let mods = if key.ctrl {
        KeyModifiers::CONTROL
    } else {
        KeyModifiers::NONE
    };
    super::update(s, Event::Key(KeyEvent::new(code, mods)), t0())
}

#[test]
fn every_offered_key_of_every_tab_reaches_its_preview_question_or_refusal() {
    let mut s = fed_state();
    let mut pressed = 0;
    // (system, verb) pairs offered somewhere.
    let mut seen = std::collections::BTreeSet::new();
    for pane in Pane::ALL {
        s.focus = pane;
        s.zoomed = true;
        // A pane that shows one server at a time: each of them, `n` to the next.
        let servers = if pane.merges_sources() {
            1
        } else {
            s.pane_sources(pane).len().max(1)
        };
        for server in 0..servers {
            if server > 0 {
                press(&mut s, Action::NextSource);
            }
            let tabs = s.view(pane).tabs.len();
            assert!(tabs > 0, "{pane:?} shows no tab");
            for tab in 0..tabs {
                s.set_tab(pane, tab);
                // Every row of the tab, not only the first: offers depend on the row.
                let rows = s.view(pane).rows.len().max(1);
                for row in 0..rows {
                    s.set_tab(pane, tab);
                    for _ in 0..row {
                        press(&mut s, Action::Down);
                    }
                    let kind = match s.selected(pane).map(|(at, _)| at.origin) {
                        Some(Origin::Source(i)) => Some(s.sources[i].kind),
                        _ => s.current_source_index(pane).map(|i| s.sources[i].kind),
                    };
                    let where_ = format!(
                        "{pane:?} / {} / {} / row {row}",
                        kind.map(|k| k.label()).unwrap_or("-"),
                        s.view(pane)
                            .current_tab()
                            .map(|t| t.title.clone())
                            .unwrap_or_default()
                    );
                    for offer in s.view(pane).offers.clone() {
                        if let Some(k) = kind {
                            seen.insert((k, offer.action));
                        }
                        s.mode = Mode::Normal;
                        s.message = None;
                        press(&mut s, offer.action);
                        pressed += 1;
                        let message = s.message.clone().map(|m| m.0).unwrap_or_default();
                        match (&offer.availability, &s.mode) {
                            (Availability::Ready, Mode::Confirm(c)) => {
                                assert!(!c.command.describe().is_empty(), "{where_}");
                                if let Some(k) = kind {
                                    assert_eq!(c.command.kind, k, "{where_}: {}", offer.action);
                                }
                            }
                            // Ack and silence change the inbox at once, with a message.
                            (Availability::Ready, Mode::Normal)
                                if matches!(offer.action, Action::Ack | Action::Silence) =>
                            {
                                assert!(!message.is_empty(), "{where_}")
                            }
                            (Availability::Asks, Mode::Ask(a)) => {
                                assert!(a.question.ends_with(':'), "{where_}: {}", a.question)
                            }
                            (Availability::Refused(why), Mode::Normal) => {
                                assert_eq!(&message, why, "{where_}: {}", offer.action)
                            }
                            (a, m) => panic!(
                                "{where_}: {} offered as {a:?} led to {m:?} ({message})",
                                offer.action
                            ),
                        }
                        assert!(!message.contains("not offered"), "{where_}: {message}");
                        s.mode = Mode::Normal;
                    }
                }
            }
        }
    }
    assert!(pressed > 20, "only {pressed} keys walked");
    // Every verb of every system is offered somewhere in this console, on its own rows.
    for kind in crate::sources::SourceKind::ALL {
        for verb in kind.verbs() {
            assert!(
                seen.contains(&(*kind, *verb)),
                "{verb} of {} is never offered",
                kind.label()
            );
        }
    }
}

#[test]
fn keys_that_do_not_apply_are_not_shown_and_say_so_when_pressed() {
    let mut s = fed_state();
    s.focus = Pane::Kafka;
    s.zoomed = true;
    // Brokers: no delete, no reset, no partitions.
    s.set_tab(Pane::Kafka, crate::sources::kafka::TABLE_BROKERS);
    let offered: Vec<Action> = s
        .view(Pane::Kafka)
        .offers
        .iter()
        .map(|o| o.action)
        .collect();
    assert!(!offered.contains(&Action::DeleteTopic), "{offered:?}");
    assert!(offered.contains(&Action::ElectLeaders), "{offered:?}");
    press(&mut s, Action::DeleteTopic);
    assert_eq!(s.mode, Mode::Normal);
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.0.contains("not offered")),
        "{:?}",
        s.message
    );
}

#[test]
fn back_up_now_on_the_second_backup_row_previews_the_second_source() {
    let mut s = fed_state();
    s.focus = Pane::Backups;
    s.zoomed = true;
    s.set_tab(Pane::Backups, 0);
    let names: Vec<String> = s
        .view(Pane::Backups)
        .rows
        .iter()
        .filter_map(|at| s.row(at).map(|r| r.key.clone()))
        .collect();
    assert_eq!(names, vec!["dumps", "stanza", "rdb"]);
    press(&mut s, Action::Down);
    press(&mut s, Action::BackupNow);
    let Mode::Confirm(c) = &s.mode else {
        panic!("{:?} {:?}", s.mode, s.message)
    };
    assert_eq!(c.command.source, "stanza");
    assert!(
        c.command.describe().contains("--stanza=main"),
        "{}",
        c.command.describe()
    );
    s.mode = Mode::Normal;
    press(&mut s, Action::Down);
    press(&mut s, Action::BackupNow);
    let Mode::Confirm(c) = &s.mode else {
        panic!("{:?}", s.mode)
    };
    assert_eq!(c.command.source, "rdb");
    assert_eq!(c.command.describe(), "BGSAVE on redis cache");
}

#[test]
fn verify_runs_in_read_only_mode_because_it_changes_nothing() {
    let mut s = fed_state();
    s.cli_readonly = true;
    s.focus = Pane::Backups;
    s.zoomed = true;
    s.set_tab(Pane::Backups, 0);
    press(&mut s, Action::Verify);
    let Mode::Confirm(c) = &s.mode else {
        panic!("{:?} {:?}", s.mode, s.message)
    };
    assert!(
        c.command
            .describe()
            .starts_with("pg_restore --file=/dev/null /backups/app-1.dump")
    );
    s.mode = Mode::Normal;
    press(&mut s, Action::BackupNow);
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.0.starts_with("refused: read-only")),
        "{:?}",
        s.message
    );
}

#[test]
fn n_shows_the_mariadb_server_whose_k_previews_kill_connection_of_the_selected_thread() {
    let mut s = fed_state();
    s.focus = Pane::Databases;
    s.zoomed = true;
    let kind = |s: &State| {
        s.current_source_index(Pane::Databases)
            .map(|i| s.sources[i].kind)
    };
    assert_eq!(kind(&s), Some(crate::sources::SourceKind::Postgres));
    press(&mut s, Action::NextSource);
    assert_eq!(kind(&s), Some(crate::sources::SourceKind::Mysql));
    let titles: Vec<String> = s
        .view(Pane::Databases)
        .tabs
        .iter()
        .map(|t| t.title.clone())
        .collect();
    assert_eq!(
        titles,
        [
            "Overview",
            "Processlist",
            "Locks",
            "Statements",
            "Replication"
        ]
    );
    s.set_tab(Pane::Databases, mysql::TAB_PROCESSLIST);
    press(&mut s, Action::Terminate);
    let Mode::Confirm(c) = &s.mode else {
        panic!("{:?} {:?}", s.mode, s.message)
    };
    assert_eq!(c.command.source, "shop");
    assert_eq!(
        c.command.target,
        "thread 40 app@10.0.0.7:40040: SELECT * FROM orders WHERE total > 100"
    );
    assert!(
        c.command
            .describe()
            .starts_with("KILL CONNECTION 40 (each only if its user and host still match"),
        "{}",
        c.command.describe()
    );
    s.mode = Mode::Normal;
    // Another console's connection: shown, and refused with the reason.
    for _ in 0..4 {
        press(&mut s, Action::Down);
    }
    press(&mut s, Action::Terminate);
    assert_eq!(s.mode, Mode::Normal);
    assert_eq!(
        s.message.as_ref().map(|m| m.0.as_str()),
        Some("thread 31: an opsdeck console's connection; nothing to kill")
    );
    // `n` again: back to PostgreSQL, on the tab of the same name when it has one.
    press(&mut s, Action::NextSource);
    assert_eq!(kind(&s), Some(crate::sources::SourceKind::Postgres));
}

#[test]
fn previews_state_the_impact_where_it_is_known() {
    let mut s = fed_state();
    s.focus = Pane::Kafka;
    s.zoomed = true;
    // Groups: billing has no members (a reset is allowed) and 30 records unread.
    s.set_tab(Pane::Kafka, crate::sources::kafka::TABLE_GROUPS);
    press(&mut s, Action::ResetOffsets);
    let Mode::Confirm(c) = &s.mode else {
        panic!("{:?} {:?}", s.mode, s.message)
    };
    assert_eq!(
        c.command.impact.as_deref(),
        Some("skips 30 records not yet read: the group will never process them")
    );
    s.mode = Mode::Normal;
    // Topics: more partitions is forever and moves keys.
    s.set_tab(Pane::Kafka, crate::sources::kafka::TABLE_TOPICS);
    press(&mut s, Action::AddPartitions);
    let Mode::Ask(a) = &mut s.mode else {
        panic!("{:?}", s.mode)
    };
    a.input.text = "4".into();
    super::update(
        &mut s,
        Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        t0(),
    );
    let Mode::Confirm(c) = &s.mode else {
        panic!("{:?} {:?}", s.mode, s.message)
    };
    let impact = c.command.impact.clone().unwrap_or_default();
    assert!(impact.starts_with("irreversible"), "{impact}");
    assert!(impact.contains("2 → 4"), "{impact}");
}

#[test]
fn marked_rows_left_out_of_an_action_are_said() {
    let mut s = fed_state();
    s.focus = Pane::Databases;
    s.zoomed = true;
    s.set_tab(Pane::Databases, crate::sources::postgres::TAB_ACTIVITY);
    // Mark every session, the console's own (pid 99) among them.
    let rows = s.view(Pane::Databases).rows.len();
    for _ in 0..rows {
        press(&mut s, Action::Mark);
    }
    press(&mut s, Action::Terminate);
    let Mode::Confirm(c) = &s.mode else {
        panic!("{:?} {:?}", s.mode, s.message)
    };
    assert_eq!(c.command.target, "pid 10,11");
    assert_eq!(
        c.command.impact.as_deref(),
        Some("left out: pid 99 (this console's own session)")
    );
}

#[test]
fn rebalance_previews_the_plan_on_the_balance_tab_only_and_cancel_needs_a_reassignment() {
    let mut s = fed_state();
    s.focus = Pane::Kafka;
    s.zoomed = true;
    s.set_tab(Pane::Kafka, crate::sources::kafka::TABLE_BALANCE);
    press(&mut s, Action::Rebalance);
    let Mode::Confirm(c) = &s.mode else {
        panic!("{:?} {:?}", s.mode, s.message)
    };
    assert_eq!(
        c.command.describe(),
        "reassign 1 replica(s) of 1 partition(s) (0 B) throttled to 10.0 MiB/s per broker, then follow it; plan rebalance-main.json"
    );
    let impact = c.command.impact.clone().unwrap_or_default();
    assert!(impact.contains("replicas 2.00 → 1.00"), "{impact}");
    assert!(impact.contains("orders[0] 1→2"), "{impact}");
    assert!(c.command.op.long_running());
    s.mode = Mode::Normal;
    press(&mut s, Action::CancelReassignment);
    assert_eq!(
        s.message.as_ref().map(|m| m.0.as_str()),
        Some("no reassignment in progress")
    );
    s.set_tab(Pane::Kafka, crate::sources::kafka::TABLE_TOPICS);
    s.message = None;
    press(&mut s, Action::Rebalance);
    assert_eq!(s.mode, Mode::Normal);
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.0.contains("not offered here")),
        "{:?}",
        s.message
    );
}
