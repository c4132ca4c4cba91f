//! Guarded PostgreSQL operations. Every one runs on its own short-lived connection (the
//! console's second, at most) and skips the console's own sessions.

use serde::Serialize;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row as _};

use super::PostgresSpec;
use super::connect_options;
use super::model::PgSample;
use crate::secrets::{Secret, scrub};

/// Never signal the console's own sessions (this one included).
const NOT_OWN: &str = "pid <> pg_backend_pid() and pid not in \
    (select pid from pg_stat_activity where application_name = 'opsdeck')";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PgOp {
    /// `pg_cancel_backend(pid)`: cancels the running query, keeps the session.
    Cancel { pids: Vec<i32> },
    /// `pg_terminate_backend(pid)`: ends the session.
    Terminate { pids: Vec<i32> },
    /// Terminates the previewed sessions that are still idle in transaction for longer
    /// than `older_than_seconds` when it runs (a session that moved on is spared).
    TerminateIdleInTransaction {
        older_than_seconds: u64,
        preview: Vec<i32>,
    },
    /// `ALTER ROLE … CONNECTION LIMIT n` (-1 = no limit); `current` as shown in the preview.
    SetConnectionLimit {
        role: String,
        limit: i32,
        current: Option<i32>,
    },
}

fn list(p: &[i32]) -> String {
    p.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl PgOp {
    /// The bulk idle-in-transaction op with its preview, from the latest sample.
    pub fn idle_in_transaction(sample: &PgSample, older_than_seconds: u64) -> PgOp {
        let preview = sample
            .activity
            .iter()
            .filter(|s| {
                !s.own
                    && s.state.starts_with("idle in transaction")
                    && s.state_seconds.unwrap_or(0.0) > older_than_seconds as f64
            })
            .map(|s| s.pid)
            .collect();
        PgOp::TerminateIdleInTransaction {
            older_than_seconds,
            preview,
        }
    }

    /// The connection-limit op, showing the role's current limit from the latest sample.
    pub fn connection_limit(sample: &PgSample, role: &str, limit: i32) -> PgOp {
        PgOp::SetConnectionLimit {
            role: role.to_string(),
            limit,
            current: sample
                .roles
                .iter()
                .find(|r| r.role == role)
                .map(|r| r.connection_limit),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            PgOp::Cancel { pids } => {
                format!("SELECT pg_cancel_backend(pid) for pid {}", list(pids))
            }
            PgOp::Terminate { pids } => {
                format!("SELECT pg_terminate_backend(pid) for pid {}", list(pids))
            }
            PgOp::TerminateIdleInTransaction {
                older_than_seconds,
                preview,
            } => format!(
                "SELECT pg_terminate_backend(pid) for sessions idle in transaction longer than \
                 {older_than_seconds}s: {} (pid {}; re-checked when it runs)",
                preview.len(),
                if preview.is_empty() {
                    "none".into()
                } else {
                    list(preview)
                }
            ),
            PgOp::SetConnectionLimit {
                role,
                limit,
                current,
            } => format!(
                "ALTER ROLE {role} CONNECTION LIMIT {limit} (currently {})",
                match current {
                    None => "unknown".to_string(),
                    Some(-1) => "no limit".to_string(),
                    Some(n) => n.to_string(),
                }
            ),
        }
    }

    pub async fn execute(&self, spec: &PostgresSpec) -> Result<String, String> {
        let secret = spec.secret().resolve()?;
        let opts = connect_options(spec, secret.as_ref())?;
        let s: Vec<&Secret> = secret.iter().collect();
        let err = |e: sqlx::Error| scrub(&e.to_string(), &s);
        let mut conn = PgConnection::connect_with(&opts).await.map_err(err)?;
        let out = self.run(&mut conn).await.map_err(err);
        let _ = conn.close().await;
        out
    }

    async fn run(&self, conn: &mut PgConnection) -> Result<String, sqlx::Error> {
        match self {
            PgOp::Cancel { pids } | PgOp::Terminate { pids } => {
                let (func, sql) = match self {
                    PgOp::Cancel { .. } => (
                        "pg_cancel_backend",
                        "select pid, pg_cancel_backend(pid) from unnest($1::int[]) as pid where ",
                    ),
                    _ => (
                        "pg_terminate_backend",
                        "select pid, pg_terminate_backend(pid) from unnest($1::int[]) as pid where ",
                    ),
                };
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{sql}{NOT_OWN}")))
                    .bind(pids)
                    .fetch_all(&mut *conn)
                    .await?;
                let done = rows
                    .iter()
                    .filter(|r| r.try_get::<bool, _>(1).unwrap_or(false))
                    .count();
                Ok(format!(
                    "{func}: {done} of {} sessions signalled",
                    pids.len()
                ))
            }
            PgOp::TerminateIdleInTransaction {
                older_than_seconds,
                preview,
            } => {
                let sql = format!(
                    "select pid, pg_terminate_backend(pid) from pg_stat_activity \
                     where pid = any($1::int[]) and state like 'idle in transaction%' \
                     and now() - state_change > make_interval(secs => $2::float8) and {NOT_OWN}"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(preview)
                    .bind(*older_than_seconds as f64)
                    .fetch_all(&mut *conn)
                    .await?;
                let done: Vec<i32> = rows
                    .iter()
                    .filter(|r| r.try_get::<bool, _>(1).unwrap_or(false))
                    .filter_map(|r| r.try_get::<i32, _>(0).ok())
                    .collect();
                Ok(format!(
                    "terminated {} of {} previewed idle-in-transaction sessions{}",
                    done.len(),
                    preview.len(),
                    if done.is_empty() {
                        String::new()
                    } else {
                        format!(" (pid {})", list(&done))
                    }
                ))
            }
            PgOp::SetConnectionLimit { role, limit, .. } => {
                let before: Option<i32> =
                    sqlx::query_scalar("select rolconnlimit from pg_roles where rolname = $1")
                        .bind(role)
                        .fetch_optional(&mut *conn)
                        .await?;
                let Some(before) = before else {
                    return Ok(format!("no role named {role}: nothing changed"));
                };
                // format('%I') quotes the name; the limit is an integer.
                let stmt: String = sqlx::query_scalar(
                    "select format('ALTER ROLE %I CONNECTION LIMIT %s', $1, $2)",
                )
                .bind(role)
                .bind(*limit)
                .fetch_one(&mut *conn)
                .await?;
                sqlx::query(sqlx::AssertSqlSafe(stmt))
                    .execute(&mut *conn)
                    .await?;
                Ok(format!("role {role}: connection limit {before} -> {limit}"))
            }
        }
    }
}
