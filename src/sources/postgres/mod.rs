//! PostgreSQL: connections, activity, locks, statements, replication, maintenance.
//! First version: version, role and connections by state.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row as _};

use crate::actions::{Op, Risk};
use crate::config::PostgresSpec;
use crate::config::keymap::Action;
use crate::config::secrets::{Secret, scrub};
use crate::sources::{CommandResult, Poller, Sample};

/// The guarded keys this pane offers (hint bar and help).
pub const ACTIONS: &[Action] = &[Action::CancelQuery, Action::Terminate];
use crate::views::{Cell, Column, Detail, Level, PaneModel, Row, Summary, Table};

#[derive(Debug, Clone, Default, Serialize)]
pub struct PgSample {
    pub version: String,
    pub in_recovery: bool,
    pub max_connections: i64,
    pub by_state: Vec<(String, i64)>,
}

pub struct PgPoller {
    spec: PostgresSpec,
    secret: Option<Secret>,
    conn: Option<PgConnection>,
}

impl PgPoller {
    pub fn new(spec: PostgresSpec) -> Self {
        Self {
            spec,
            secret: None,
            conn: None,
        }
    }

    fn scrub(&self, e: impl std::fmt::Display) -> String {
        let s: Vec<&Secret> = self.secret.iter().collect();
        scrub(&e.to_string(), &s)
    }
}

pub fn connect_options(
    spec: &PostgresSpec,
    secret: Option<&Secret>,
) -> Result<PgConnectOptions, String> {
    let mut opts: PgConnectOptions = spec
        .url
        .parse()
        .map_err(|e: sqlx::Error| scrub(&e.to_string(), &[]))?;
    if let Some(s) = secret {
        opts = opts.password(s.expose());
    }
    if let Some(ca) = &spec.ssl_root_cert {
        opts = opts.ssl_root_cert(ca);
    }
    Ok(opts
        .application_name("opsdeck")
        .options([("statement_timeout", "5000"), ("lock_timeout", "1000")])
        .log_statements(tracing::log::LevelFilter::Trace))
}

impl Poller for PgPoller {
    async fn poll(&mut self) -> Result<Sample, String> {
        if self.conn.is_none() {
            if self.secret.is_none() {
                self.secret = self.spec.secret().resolve()?;
            }
            let opts = connect_options(&self.spec, self.secret.as_ref())?;
            let conn =
                tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&opts))
                    .await
                    .map_err(|_| "connect timed out after 5s".to_string())?
                    .map_err(|e| self.scrub(e))?;
            self.conn = Some(conn);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err("not connected".into());
        };
        let row = sqlx::query(
            "select version(), pg_is_in_recovery(), current_setting('max_connections')::bigint",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
        let rows = sqlx::query(
            "select coalesce(state, 'other'), count(*) from pg_stat_activity where backend_type = 'client backend' group by 1 order by 1",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
        Ok(Sample::Postgres(Box::new(PgSample {
            version: row.get::<String, _>(0),
            in_recovery: row.get(1),
            max_connections: row.get(2),
            by_state: rows
                .iter()
                .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
                .collect(),
        })))
    }

    fn reset(&mut self) {
        self.conn = None;
    }
}

impl PgSample {
    pub fn model(&self) -> PaneModel {
        let total: i64 = self.by_state.iter().map(|(_, n)| n).sum();
        let ratio = if self.max_connections > 0 {
            total as f64 / self.max_connections as f64
        } else {
            0.0
        };
        let level = if ratio >= 0.95 {
            Level::Crit
        } else if ratio >= 0.8 {
            Level::Warn
        } else {
            Level::Ok
        };
        let role = if self.in_recovery {
            "standby"
        } else {
            "primary"
        };
        let text = format!("{total} / {} connections", self.max_connections);
        PaneModel {
            tile: vec![Summary::line(format!("{role}  {text}"), level)],
            summary: vec![
                Summary::line(
                    format!(
                        "{}  ({role})",
                        self.version.split(" on ").next().unwrap_or("")
                    ),
                    Level::Normal,
                ),
                Summary::Gauge {
                    label: "connections".into(),
                    ratio,
                    text,
                    level,
                },
            ],
            tables: vec![Table {
                title: "Connections".into(),
                columns: vec![Column::left("STATE", 30), Column::right("COUNT", 8)],
                rows: self
                    .by_state
                    .iter()
                    .map(|(s, n)| {
                        Row::new(
                            s.clone(),
                            vec![Cell::new(s.clone()), Cell::new(n.to_string())],
                        )
                    })
                    .collect(),
                empty: "no client sessions".into(),
            }],
            level,
        }
    }

    /// Cancel or terminate the selected session, or every marked one.
    pub fn command(
        &self,
        _table: usize,
        key: &str,
        marked: &BTreeSet<String>,
        action: Action,
    ) -> Option<CommandResult> {
        if !matches!(action, Action::CancelQuery | Action::Terminate) {
            return None;
        }
        let keys: Vec<&String> = if marked.is_empty() {
            vec![]
        } else {
            marked.iter().collect()
        };
        let mut pids: Vec<i32> = keys.iter().filter_map(|k| k.parse().ok()).collect();
        if pids.is_empty() {
            pids = key.parse().ok().into_iter().collect();
        }
        if pids.is_empty() {
            return Some(Err("select a session (a row with a pid) first".into()));
        }
        let target = format!(
            "pid {}",
            pids.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        Some(Ok(if action == Action::CancelQuery {
            (target, Op::Postgres(PgOp::Cancel { pids }), Risk::Low)
        } else {
            (target, Op::Postgres(PgOp::Terminate { pids }), Risk::Medium)
        }))
    }

    pub fn detail(&self, _table: usize, _key: &str) -> Option<Detail> {
        None
    }
}

/// Guarded PostgreSQL operations.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PgOp {
    /// `pg_cancel_backend(pid)`: cancels the running query, keeps the session.
    Cancel { pids: Vec<i32> },
    /// `pg_terminate_backend(pid)`: ends the session.
    Terminate { pids: Vec<i32> },
}

impl PgOp {
    pub fn describe(&self) -> String {
        let list = |p: &[i32]| {
            p.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            PgOp::Cancel { pids } => {
                format!("SELECT pg_cancel_backend(pid) for pid {}", list(pids))
            }
            PgOp::Terminate { pids } => {
                format!("SELECT pg_terminate_backend(pid) for pid {}", list(pids))
            }
        }
    }

    pub async fn execute(&self, spec: &PostgresSpec) -> Result<String, String> {
        let secret = spec.secret().resolve()?;
        let opts = connect_options(spec, secret.as_ref())?;
        let s: Vec<&Secret> = secret.iter().collect();
        let mut conn = PgConnection::connect_with(&opts)
            .await
            .map_err(|e| scrub(&e.to_string(), &s))?;
        let (func, pids) = match self {
            PgOp::Cancel { pids } => ("pg_cancel_backend", pids),
            PgOp::Terminate { pids } => ("pg_terminate_backend", pids),
        };
        // Never act on the console's own sessions.
        let sql = format!(
            "select pid, {func}(pid) from unnest($1::int[]) as pid where pid <> pg_backend_pid() \
             and pid not in (select pid from pg_stat_activity where application_name = 'opsdeck')"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(pids)
            .fetch_all(&mut conn)
            .await
            .map_err(|e| scrub(&e.to_string(), &s))?;
        let done = rows.iter().filter(|r| r.get::<bool, _>(1)).count();
        let _ = conn.close().await;
        Ok(format!(
            "{func}: {done} of {} sessions signalled",
            pids.len()
        ))
    }
}
