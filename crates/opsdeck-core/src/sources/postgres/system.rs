//! PostgreSQL as a monitored system: its metrics and built-in rules, its verbs, and the glue
//! from the `System` contract to the poller, the pane model and the operations.

use super::{PgOp, PgPoller, PgSample, PostgresSpec, TAB_ACTIVITY, TAB_INDEXES, TAB_LOCKS};
use crate::input::values::parse_duration;
use crate::keymap::Action;
use crate::metrics::Severity::{Critical, Warning};
use crate::metrics::{Builtin, Cause, Cmp, Metric, Point, Unit};
use crate::secrets::{SecretSpec, redact_urls};
use crate::series::{Family, Limits, Series};
use crate::sources::system::FleetFigure;
use crate::sources::system::{At, Entries, Plan, Planning, Problem, System, ready, row_text};
use crate::timeline::TimelineEvent;
use crate::views::{Detail, Pane, PaneModel};
use chrono::{DateTime, Utc};

pub struct Postgres;

const METRICS: &[Metric] = &[
    Metric::new(
        "postgres.connections_ratio",
        Unit::Ratio,
        "client connections over usable slots (max_connections minus reserved)",
    ),
    Metric::new("postgres.connections", Unit::Count, "client connections"),
    Metric::new(
        "postgres.query_seconds",
        Unit::Seconds,
        "running time of each active query",
    ),
    Metric::new(
        "postgres.idle_in_transaction_seconds",
        Unit::Seconds,
        "time each session has been idle in transaction",
    ),
    Metric::new(
        "postgres.blocking_seconds",
        Unit::Seconds,
        "longest wait behind each root blocker session",
    ),
    Metric::new(
        "postgres.replication_lag_seconds",
        Unit::Seconds,
        "replay lag of each standby (on the primary)",
    )
    .kept_when_gone(),
    Metric::new(
        "postgres.replication_lag_bytes",
        Unit::Bytes,
        "replay lag in bytes of each standby, or of this standby's receiver",
    )
    .kept_when_gone(),
    Metric::new(
        "postgres.wal_receiver_down",
        Unit::Flag,
        "1 on a standby whose WAL receiver is not streaming (skipped while its status needs pg_read_all_stats)",
    ),
    Metric::new(
        "postgres.slot_inactive_retained_bytes",
        Unit::Bytes,
        "WAL held back by each inactive replication slot",
    ),
    Metric::new(
        "postgres.slot_wal_status",
        Unit::Count,
        "wal_status of each replication slot: 0 reserved/extended, 1 unreserved, 2 lost",
    ),
    Metric::new(
        "postgres.xid_wraparound_ratio",
        Unit::Ratio,
        "age(datfrozenxid) of each database over the 2^31 wraparound limit",
    ),
    Metric::new(
        "postgres.mxid_wraparound_ratio",
        Unit::Ratio,
        "mxid_age(datminmxid) of each database over the 2^31 wraparound limit",
    ),
    Metric::new(
        "postgres.database_full_seconds",
        Unit::Seconds,
        "time until each database, at its recent growth, fills the space left on the data directory's disk (local servers whose data_directory the role may read)",
    ),
    Metric::new(
        "postgres.data_directory_full_seconds",
        Unit::Seconds,
        "time until the data directory's filesystem is full at its recent rate (local servers)",
    ),
    Metric::new(
        "postgres.connections_full_seconds",
        Unit::Seconds,
        "time until client connections reach the usable slots at their recent rate",
    ),
];

const BUILTINS: &[Builtin] = &[
    Builtin::new(
        "pg_connections",
        "postgres.connections_ratio",
        Cmp::Ge,
        0.8,
        0,
        Warning,
        "connections of usable slots",
        "Look for idle and idle-in-transaction sessions by application (Databases pane, Connections); consider a pooler.",
    ),
    Builtin::new(
        "pg_connections_critical",
        "postgres.connections_ratio",
        Cmp::Ge,
        0.95,
        0,
        Critical,
        "connections of usable slots",
        "New connections will fail soon: terminate idle-in-transaction sessions, fix the leaking application.",
    ),
    Builtin::new(
        "pg_long_query",
        "postgres.query_seconds",
        Cmp::Ge,
        300.0,
        0,
        Warning,
        "query running",
        "Check the plan and locks; cancel the query ({key:cancel_query}) if it is runaway.",
    ),
    Builtin::new(
        "pg_idle_in_transaction",
        "postgres.idle_in_transaction_seconds",
        Cmp::Ge,
        300.0,
        0,
        Warning,
        "idle in transaction",
        "The session holds locks and blocks vacuum: find the application and terminate the session ({key:terminate}).",
    ),
    Builtin::new(
        "pg_blocking",
        "postgres.blocking_seconds",
        Cmp::Ge,
        30.0,
        0,
        Warning,
        "blocking others for",
        "A session holds a lock others wait for: see the Locks tab; cancel or terminate the root blocker.",
    ),
    Builtin::new(
        "pg_replication_lag",
        "postgres.replication_lag_seconds",
        Cmp::Ge,
        30.0,
        60,
        Warning,
        "replay lag",
        "Check the standby's IO and network, and long queries on the standby.",
    ),
    Builtin::new(
        "pg_replication_lag_bytes",
        "postgres.replication_lag_bytes",
        Cmp::Ge,
        16.0 * 1024.0 * 1024.0,
        60,
        Warning,
        "replay lag",
        "Check the standby's IO and network, and long queries on the standby.",
    ),
    Builtin::new(
        "pg_wal_receiver_down",
        "postgres.wal_receiver_down",
        Cmp::Ge,
        1.0,
        0,
        Critical,
        "not streaming",
        "The standby does not receive WAL: check primary_conninfo, the primary and the network.",
    ),
    Builtin::new(
        "pg_slot_inactive",
        "postgres.slot_inactive_retained_bytes",
        Cmp::Gt,
        1024.0 * 1024.0 * 1024.0,
        300,
        Warning,
        "inactive slot retains WAL",
        "The slot's consumer is gone and the server keeps WAL for it, filling pg_wal: bring the consumer back, or drop an abandoned slot (SELECT pg_drop_replication_slot('NAME')); max_slot_wal_keep_size caps the damage.",
    ),
    Builtin::new(
        "pg_slot_unreserved",
        "postgres.slot_wal_status",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "slot past max_slot_wal_keep_size",
        "The slot needs WAL beyond max_slot_wal_keep_size: the next checkpoint removes it and the slot is lost unless its consumer catches up now.",
    ),
    Builtin::new(
        "pg_slot_lost",
        "postgres.slot_wal_status",
        Cmp::Ge,
        2.0,
        0,
        Critical,
        "slot lost its WAL",
        "The slot's consumer can never resume from it: re-create the slot and re-sync the consumer (a new base backup for a standby, a new initial copy for a logical subscriber).",
    ),
    Builtin::new(
        "pg_xid_wraparound",
        "postgres.xid_wraparound_ratio",
        Cmp::Ge,
        0.5,
        0,
        Warning,
        "transaction ID age",
        "Anti-wraparound autovacuum is not keeping up: find what holds the xmin back (long transactions, prepared transactions, slots, standbys with hot_standby_feedback) and VACUUM (FREEZE) the oldest tables of that database.",
    ),
    Builtin::new(
        "pg_xid_wraparound_critical",
        "postgres.xid_wraparound_ratio",
        Cmp::Ge,
        0.9,
        0,
        Critical,
        "transaction ID age",
        "The server will stop assigning transaction IDs near 100%: remove what holds the xmin back and VACUUM (FREEZE) the oldest tables now.",
    ),
    Builtin::new(
        "pg_mxid_wraparound",
        "postgres.mxid_wraparound_ratio",
        Cmp::Ge,
        0.5,
        0,
        Warning,
        "multixact ID age",
        "Multixact freezing is not keeping up (row locks by many sessions, FOR SHARE/KEY SHARE): VACUUM (FREEZE) the oldest tables of that database; check autovacuum_multixact_freeze_max_age.",
    ),
    Builtin::new(
        "pg_mxid_wraparound_critical",
        "postgres.mxid_wraparound_ratio",
        Cmp::Ge,
        0.9,
        0,
        Critical,
        "multixact ID age",
        "The server will stop assigning multixact IDs near 100%: VACUUM (FREEZE) the oldest tables of that database now.",
    ),
    Builtin::new(
        "pg_database_full_soon",
        "postgres.database_full_seconds",
        Cmp::Lt,
        crate::capacity::SOON_SECS,
        600,
        Warning,
        "fills the disk in",
        "At its recent growth the database fills the data directory's disk within a day: find the growing tables (bloat in the Indexes tab, a runaway job), free space or grow the volume.",
    ),
    Builtin::new(
        "pg_data_directory_full_soon",
        "postgres.data_directory_full_seconds",
        Cmp::Lt,
        crate::capacity::SOON_SECS,
        600,
        Warning,
        "full in",
        "The data directory's disk fills within a day at its recent rate: check pg_wal (an inactive slot, failing archiving), logs and growing databases; the server stops when it is full.",
    ),
    Builtin::new(
        "pg_connections_full_soon",
        "postgres.connections_full_seconds",
        Cmp::Lt,
        crate::capacity::SOON_SECS,
        600,
        Warning,
        "slots used up in",
        "Connections grow steadily toward max_connections: look for a leaking application (Connections tab, by application) or add a pooler.",
    ),
];

/// `wal_status` as a number: 0 reserved/extended, 1 unreserved, 2 lost (none before PG 13).
fn wal_status_level(s: &str) -> Option<f64> {
    match s {
        "reserved" | "extended" => Some(0.0),
        "unreserved" => Some(1.0),
        "lost" => Some(2.0),
        _ => None,
    }
}

impl System for Postgres {
    const LABEL: &'static str = "postgres";
    const ALIASES: &'static [&'static str] = &["postgresql", "pg"];
    const PANE: Pane = Pane::Databases;
    const METRICS: &'static [Metric] = METRICS;
    const BUILTINS: &'static [Builtin] = BUILTINS;
    const FLEET: &'static [FleetFigure] = &[FleetFigure::Highest {
        metrics: &["postgres.connections_ratio"],
        label: "conn",
    }];
    const VERBS: &'static [Action] = &[
        Action::CancelQuery,
        Action::Terminate,
        Action::TerminateIdle,
        Action::ConnectionLimit,
        Action::RunDdl,
    ];
    const SERIES: &'static [Family] = super::series::SERIES;

    type Entries = Vec<PostgresSpec>;
    type Spec = PostgresSpec;
    type Sample = PgSample;
    type Op = PgOp;
    type Poller = PgPoller;

    fn instances(entries: &Vec<PostgresSpec>) -> &[PostgresSpec] {
        entries
    }
    fn local() -> Vec<PostgresSpec> {
        vec![PostgresSpec {
            name: "local".into(),
            url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
            ..Default::default()
        }]
    }
    fn inline_secret(spec: &PostgresSpec) -> bool {
        spec.password.is_some() || redact_urls(&spec.url) != spec.url
    }
    fn name(spec: &PostgresSpec) -> &str {
        &spec.name
    }
    fn secret(spec: &PostgresSpec) -> SecretSpec {
        spec.secret()
    }
    fn target(spec: &PostgresSpec) -> String {
        redact_urls(&spec.url)
    }
    fn validate(spec: &PostgresSpec, _ctx: &dyn Entries) -> Vec<Problem> {
        let mut out = Vec::new();
        if !(spec.url.starts_with("postgres://") || spec.url.starts_with("postgresql://")) {
            out.push(Problem::new(
                &spec.name,
                format!("postgres {}: url must start with postgres://", spec.name),
                "url = \"postgres://user@host:5432/db\"",
            ));
        }
        if let Some(d) = &spec.slow_refresh
            && let Err(e) = parse_duration(d)
        {
            out.push(Problem::new(
                &spec.name,
                format!("postgres {}: slow_refresh: {e}", spec.name),
                "slow_refresh = \"30s\"",
            ));
        }
        out
    }
    fn poller(spec: PostgresSpec, ctx: &dyn Entries) -> PgPoller {
        PgPoller::new(spec).with_capacity(ctx.capacity())
    }

    fn model(sample: &PgSample) -> PaneModel {
        sample.model()
    }
    fn detail(sample: &PgSample, table: usize, key: &str) -> Option<Detail> {
        sample.detail(table, key)
    }
    fn events(prev: Option<&PgSample>, next: &PgSample, now: DateTime<Utc>) -> Vec<TimelineEvent> {
        super::events::diff(prev, next, now)
    }
    fn copy_text(sample: &PgSample, table: usize, key: &str) -> Option<String> {
        super::events::copy_text(sample, table, key)
            .or_else(|| row_text(&sample.model(), table, key))
    }

    fn measure(p: &PgSample, metric: &str, source: &str) -> Vec<Point> {
        let mut out = Vec::new();
        match metric {
            "postgres.connections_ratio" | "postgres.connections" => out.push(Point::new(
                "",
                format!("postgres {source}"),
                if metric == "postgres.connections" {
                    p.connections.total as f64
                } else {
                    p.connection_ratio()
                },
                format!(
                    "{} of {} usable connections in use",
                    p.connections.total, p.usable_connections
                ),
                Cause::new("Connections", ""),
            )),
            "postgres.query_seconds" | "postgres.idle_in_transaction_seconds" => {
                for x in p.activity.iter().filter(|x| !x.own) {
                    let v = if metric == "postgres.query_seconds" {
                        (x.state == "active").then_some(x.query_seconds).flatten()
                    } else {
                        x.state
                            .starts_with("idle in transaction")
                            .then_some(x.state_seconds)
                            .flatten()
                    };
                    if let Some(v) = v {
                        out.push(Point::new(
                            format!("pid {}", x.pid),
                            format!("pid {} ({}@{})", x.pid, x.user, x.database),
                            v,
                            "",
                            Cause::new("Activity", &x.pid.to_string()),
                        ));
                    }
                }
            }
            "postgres.blocking_seconds" => {
                for n in p.locks.iter().filter(|n| n.depth == 0) {
                    out.push(Point::new(
                        format!("pid {}", n.pid),
                        format!("pid {} ({}@{})", n.pid, n.user, n.database),
                        n.longest_wait_seconds,
                        format!(
                            "blocks {} session{}",
                            n.waiters,
                            if n.waiters == 1 { "" } else { "s" }
                        ),
                        Cause::new("Locks", &n.pid.to_string()),
                    ));
                }
            }
            "postgres.replication_lag_seconds" | "postgres.replication_lag_bytes" => {
                // A standby the role may not read has unknown lags, not zero ones.
                for st in p.replication.standbys.iter().filter(|s| !s.hidden) {
                    let v = if metric == "postgres.replication_lag_bytes" {
                        Some(st.replay_lag_bytes as f64)
                    } else {
                        st.replay_lag_seconds
                    };
                    if let Some(v) = v {
                        out.push(Point::new(
                            st.application.clone(),
                            format!("standby {}", st.application),
                            v,
                            "",
                            Cause::new("Replication", &format!("{}@{}", st.application, st.client)),
                        ));
                    }
                }
                if let Some(r) = &p.replication.receiver
                    && metric == "postgres.replication_lag_bytes"
                {
                    out.push(Point::new(
                        "receiver",
                        "WAL receiver",
                        r.replay_lag_bytes as f64,
                        "",
                        Cause::new("Replication", "receiver"),
                    ));
                }
            }
            "postgres.wal_receiver_down" => {
                // A receiver whose status the role may not read is unknown, not down.
                if let Some(r) = p.replication.receiver.as_ref().filter(|r| !r.hidden) {
                    out.push(Point::new(
                        "receiver",
                        "WAL receiver",
                        if r.status == "streaming" { 0.0 } else { 1.0 },
                        r.status.clone(),
                        Cause::new("Replication", "receiver"),
                    ));
                }
            }
            "postgres.slot_inactive_retained_bytes" => {
                for sl in p.slots.iter().filter(|s| !s.active) {
                    if let Some(b) = sl.retained_bytes {
                        out.push(Point::new(
                            format!("slot {}", sl.name),
                            format!("inactive slot {}", sl.name),
                            b as f64,
                            format!("{} slot, wal_status {}", sl.slot_type, sl.wal_status),
                            Cause::new("Slots", &sl.name),
                        ));
                    }
                }
            }
            "postgres.slot_wal_status" => {
                for sl in &p.slots {
                    if let Some(v) = wal_status_level(&sl.wal_status) {
                        out.push(Point::new(
                            format!("slot {}", sl.name),
                            format!("slot {}", sl.name),
                            v,
                            format!("wal_status {}", sl.wal_status),
                            Cause::new("Slots", &sl.name),
                        ));
                    }
                }
            }
            "postgres.database_full_seconds" => {
                out = crate::capacity::points(&p.capacity, "postgres.database");
            }
            "postgres.data_directory_full_seconds" => {
                out = crate::capacity::points(&p.capacity, "postgres.data_directory");
            }
            "postgres.connections_full_seconds" => {
                out = crate::capacity::points(&p.capacity, "postgres.connections");
            }
            "postgres.xid_wraparound_ratio" | "postgres.mxid_wraparound_ratio" => {
                for d in &p.maintenance.databases {
                    let (v, age, what) = if metric == "postgres.xid_wraparound_ratio" {
                        (d.xid_wraparound_ratio, d.xid_age, "age(datfrozenxid)")
                    } else {
                        (d.mxid_wraparound_ratio, d.mxid_age, "mxid_age(datminmxid)")
                    };
                    out.push(Point::new(
                        format!("database {}", d.database),
                        format!("database {}", d.database),
                        v,
                        format!("{what} {age}"),
                        Cause::new("Databases", &d.database),
                    ));
                }
            }
            _ => {}
        }
        out
    }

    fn series(p: &PgSample, source: &str, limits: &Limits) -> Vec<Series> {
        let mut out = crate::sources::system::rule_series::<Self>(p, source, limits);
        out.extend(super::series::series(p, source));
        out
    }

    fn plan(s: &PgSample, at: &At, action: Action, input: Option<&str>) -> Planning<PgOp> {
        let key = at.key();
        match action {
            // Sessions are rows of the Activity and Locks tabs only.
            Action::CancelQuery | Action::Terminate => {
                if at.table != TAB_ACTIVITY && at.table != TAB_LOCKS {
                    return None;
                }
                if key.is_empty() && at.marked.is_empty() {
                    return None;
                }
                // Marked rows that will not be touched are said, never dropped silently.
                let left_out: Vec<String> = at
                    .marked
                    .iter()
                    .filter_map(|k| k.parse::<i32>().ok())
                    .filter(|p| s.activity.iter().any(|x| x.pid == *p && x.own))
                    .map(|p| format!("pid {p} (this console's own session)"))
                    .collect();
                let impact =
                    (!left_out.is_empty()).then(|| format!("left out: {}", left_out.join(", ")));
                s.command(at.table, key, at.marked, action)
                    .map(ready)
                    .map(|r| r.map(|p| p.map_ready(|planned| planned.with_impact(impact))))
            }
            Action::TerminateIdle if at.table != TAB_ACTIVITY => None,
            // Index advice rows only; what a row advises decides what runs.
            Action::RunDdl if at.table != TAB_INDEXES || key.is_empty() => None,
            Action::RunDdl => super::index_view::command(s, key).map(ready),
            _ => match input {
                Some(input) => s
                    .command_with_input(at.table, key, action, input)
                    .map(ready),
                None => s.prompt(at.table, key, action).map(|q| Ok(Plan::Ask(q))),
            },
        }
    }

    fn capacity(sample: &PgSample) -> &[crate::capacity::Forecast] {
        &sample.capacity
    }
    fn describe(op: &PgOp) -> String {
        op.describe()
    }
    /// A concurrent index build or drop waits for transactions and may take minutes.
    fn long_running(op: &PgOp) -> bool {
        matches!(op, PgOp::IndexDdl(_))
    }
    async fn execute(op: &PgOp, spec: &PostgresSpec, _ctx: &dyn Entries) -> Result<String, String> {
        // The entry finds the source poller's connection (`shared`): an action needs no
        // free slot on a server that has none left.
        op.execute(spec).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::sources::postgres::{
        DbHealth, Maintenance, Receiver, Session, Slot, Standby, TAB_REPLICATION, TAB_SLOTS,
        count_connections,
    };

    fn measure(p: &PgSample, metric: &str) -> Vec<Point> {
        Postgres::measure(p, metric, "db")
    }

    #[test]
    fn hidden_values_are_skipped_not_read_as_down_or_caught_up() {
        let mut p = PgSample::default();
        p.replication.receiver = Some(Receiver {
            status: "unknown".into(),
            hidden: true,
            ..Default::default()
        });
        p.replication.standbys = vec![Standby {
            application: "r1".into(),
            hidden: true,
            ..Default::default()
        }];
        assert!(measure(&p, "postgres.wal_receiver_down").is_empty());
        assert!(measure(&p, "postgres.replication_lag_seconds").is_empty());
        p.replication.receiver = Some(Receiver {
            status: "stopped".into(),
            ..Default::default()
        });
        assert_eq!(measure(&p, "postgres.wal_receiver_down")[0].value, 1.0);
    }

    #[test]
    fn slots_and_wraparound() {
        let slot = |name: &str, active: bool, status: &str, bytes: i64| Slot {
            name: name.into(),
            slot_type: "logical".into(),
            active,
            wal_status: status.into(),
            retained_bytes: Some(bytes),
            ..Default::default()
        };
        let p = PgSample {
            slots: vec![
                slot("busy", true, "reserved", 10),
                slot("idle", false, "unreserved", 5 << 30),
                slot("old", false, "", 1),
            ],
            maintenance: Maintenance {
                databases: vec![DbHealth {
                    database: "app".into(),
                    xid_age: 1 << 30,
                    xid_wraparound_ratio: 0.5,
                    ..Default::default()
                }],
                ..Default::default()
            },
            ..Default::default()
        };
        let inactive = measure(&p, "postgres.slot_inactive_retained_bytes");
        assert_eq!(
            inactive
                .iter()
                .map(|x| (x.subject.as_str(), x.value))
                .collect::<Vec<_>>(),
            vec![("slot idle", (5u64 << 30) as f64), ("slot old", 1.0)]
        );
        assert_eq!(inactive[0].cause, Cause::new("Slots", "idle"));
        let status = measure(&p, "postgres.slot_wal_status");
        assert_eq!(
            status.iter().map(|x| x.value).collect::<Vec<_>>(),
            vec![0.0, 1.0]
        );
        let xid = measure(&p, "postgres.xid_wraparound_ratio");
        assert_eq!(xid[0].value, 0.5);
        assert_eq!(xid[0].cause, Cause::new("Databases", "app"));
    }

    #[test]
    fn every_builtin_reads_a_metric_of_the_catalogue() {
        for b in BUILTINS {
            assert!(METRICS.iter().any(|m| m.name == b.metric), "{}", b.name);
        }
    }

    #[test]
    fn sessions_are_signalled_from_activity_and_locks_only_never_the_console() {
        let sess = |pid: i32, own: bool| Session {
            pid,
            user: "app".into(),
            database: "shop".into(),
            state: "active".into(),
            own,
            backend_start: Some(1_700_000_000_000_000 + pid as i64),
            ..Default::default()
        };
        let activity = vec![sess(10, false), sess(99, true)];
        let s = PgSample {
            connections: count_connections(&activity),
            activity,
            ..Default::default()
        };
        let m = Postgres::model(&s);
        assert_eq!(m.tables[TAB_ACTIVITY].title, "Activity");
        assert_eq!(m.tables[TAB_LOCKS].title, "Locks");
        assert_eq!(m.tables[TAB_SLOTS].title, "Slots");
        let marked = BTreeSet::new();
        let at = |table, key| At {
            table,
            key: Some(key),
            marked: &marked,
        };
        for table in [TAB_ACTIVITY, TAB_LOCKS] {
            for verb in [Action::CancelQuery, Action::Terminate] {
                let plan = Postgres::plan(&s, &at(table, "10"), verb, None);
                assert!(matches!(plan, Some(Ok(Plan::Ready(_)))), "{table} {verb:?}");
                let own = Postgres::plan(&s, &at(table, "99"), verb, None);
                assert!(
                    matches!(&own, Some(Err(e)) if e.contains("own session")),
                    "{own:?}"
                );
            }
        }
        // The Slots tab sits after Replication: its rows are slots, not sessions.
        for table in [TAB_REPLICATION, TAB_SLOTS] {
            assert!(Postgres::plan(&s, &at(table, "10"), Action::Terminate, None).is_none());
            assert!(Postgres::plan(&s, &at(table, "10"), Action::TerminateIdle, None).is_none());
        }
    }
}
