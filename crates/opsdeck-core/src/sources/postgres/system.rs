//! PostgreSQL as a monitored system: its metrics and built-in rules, its verbs, and the glue
//! from the `System` contract to the poller, the pane model and the operations.

use super::{PgOp, PgPoller, PgSample, PostgresSpec, TAB_ACTIVITY, TAB_LOCKS};
use crate::keymap::Action;
use crate::metrics::Severity::{Critical, Warning};
use crate::metrics::{Builtin, Cause, Cmp, Metric, Point, Unit};
use crate::secrets::{SecretSpec, redact_urls};
use crate::sources::system::{At, Entries, Plan, Planning, Problem, System, ready};
use crate::views::{Detail, Pane, PaneModel};

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
        "1 on a standby whose WAL receiver is not streaming",
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
];

impl System for Postgres {
    const LABEL: &'static str = "postgres";
    const PANE: Pane = Pane::Databases;
    const METRICS: &'static [Metric] = METRICS;
    const BUILTINS: &'static [Builtin] = BUILTINS;
    const VERBS: &'static [Action] = &[
        Action::CancelQuery,
        Action::Terminate,
        Action::TerminateIdle,
        Action::ConnectionLimit,
    ];

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
        out
    }
    fn poller(spec: PostgresSpec, _ctx: &dyn Entries) -> PgPoller {
        PgPoller::new(spec)
    }

    fn model(sample: &PgSample) -> PaneModel {
        sample.model()
    }
    fn detail(sample: &PgSample, table: usize, key: &str) -> Option<Detail> {
        sample.detail(table, key)
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
                for st in &p.replication.standbys {
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
                if let Some(r) = &p.replication.receiver {
                    out.push(Point::new(
                        "receiver",
                        "WAL receiver",
                        if r.status == "streaming" { 0.0 } else { 1.0 },
                        r.status.clone(),
                        Cause::new("Replication", "receiver"),
                    ));
                }
            }
            _ => {}
        }
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
                s.command(at.table, key, at.marked, action).map(ready)
            }
            Action::TerminateIdle if at.table != TAB_ACTIVITY => None,
            _ => match input {
                Some(input) => s
                    .command_with_input(at.table, key, action, input)
                    .map(ready),
                None => s.prompt(at.table, key, action).map(|q| Ok(Plan::Ask(q))),
            },
        }
    }

    fn describe(op: &PgOp) -> String {
        op.describe()
    }
    async fn execute(op: &PgOp, spec: &PostgresSpec, _ctx: &dyn Entries) -> Result<String, String> {
        op.execute(spec).await
    }
}
