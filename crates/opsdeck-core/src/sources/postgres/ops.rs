//! Guarded PostgreSQL operations. They run on the source's one connection, borrowed from
//! the poller between two polls (see `shared`), so they work when the server has no slot
//! left; only with no poller alive do they connect on their own. They never signal the
//! console's own sessions, and signal a pid only while it still is the session previewed
//! (same `backend_start`): a pid reused by a new backend is refused. Each target is its own
//! statement, so one that fails (a superuser's session, a missing privilege) does not stop
//! the others, and the result reports every pid.

use crate::views::fmt;
use chrono::{Local, TimeZone};
use serde::Serialize;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row as _};

use super::PostgresSpec;
use super::model::{PgSample, Session};
use super::{connect_options, shared};
use crate::secrets::{Secret, scrub};

/// A session as previewed: the pid, what identifies its backend, and what it was running.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub pid: i32,
    /// `backend_start` in microseconds since the Unix epoch (None: hidden from the role).
    pub backend_start: Option<i64>,
    pub user: String,
    pub database: String,
    /// Its query at preview time, on one line.
    pub query: String,
}

impl Target {
    pub fn of(s: &Session) -> Target {
        Target {
            pid: s.pid,
            backend_start: s.backend_start,
            user: s.user.clone(),
            database: s.database.clone(),
            query: fmt::one_line(&redact_secrets(&s.query), 80),
        }
    }

    /// A target for a pid the sample does not list (it cannot be verified, so it is refused
    /// when it runs).
    pub fn unknown(pid: i32) -> Target {
        Target {
            pid,
            backend_start: None,
            user: String::new(),
            database: String::new(),
            query: String::new(),
        }
    }
}

/// The preview (and so the audit log) carries other sessions' query text: hide what looks
/// like a password in it (`PASSWORD 'x'`, `password=x`, URLs with a password).
pub fn redact_secrets(q: &str) -> String {
    let q = crate::secrets::redact_urls(q);
    // ASCII lowercasing keeps byte offsets, so positions found here index `q` too.
    let lower = q.to_ascii_lowercase();
    let mut out = String::with_capacity(q.len());
    let mut i = 0;
    while let Some(p) = lower[i..].find("password") {
        let key_end = i + p + "password".len();
        out.push_str(&q[i..key_end]);
        let rest = &q[key_end..];
        let sep = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_whitespace() || c == '=')
                .len();
        out.push_str(&rest[..sep]);
        let value = &rest[sep..];
        let taken = if let Some(inner) = value.strip_prefix('\'') {
            inner.find('\'').map(|e| e + 2)
        } else if rest[..sep].contains('=') {
            Some(
                value
                    .find(|c: char| c.is_whitespace() || c == '\'' || c == '"' || c == ')')
                    .unwrap_or(value.len()),
            )
        } else {
            None
        };
        match taken {
            Some(n) if n > 0 => {
                out.push_str(if value.starts_with('\'') {
                    "'***'"
                } else {
                    "***"
                });
                i = key_end + sep + n;
            }
            _ => i = key_end + sep,
        }
    }
    out.push_str(&q[i..]);
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PgOp {
    /// `pg_cancel_backend(pid)`: cancels the running query, keeps the session.
    Cancel { targets: Vec<Target> },
    /// `pg_terminate_backend(pid)`: ends the session.
    Terminate { targets: Vec<Target> },
    /// Terminates the previewed sessions that are still idle in transaction for longer
    /// than `older_than_seconds` when it runs (a session that moved on is spared).
    TerminateIdleInTransaction {
        older_than_seconds: u64,
        preview: Vec<Target>,
    },
    /// `ALTER ROLE … CONNECTION LIMIT n` (-1 = no limit); `current` as shown in the preview.
    SetConnectionLimit {
        role: String,
        limit: i32,
        current: Option<i32>,
    },
    /// DROP INDEX CONCURRENTLY / REINDEX INDEX CONCURRENTLY advised in the Indexes tab,
    /// re-checked when it runs (see `ddl`).
    IndexDdl(super::ddl::IndexDdl),
}

/// What happened to one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", content = "why", rename_all = "snake_case")]
pub enum Outcome {
    Signalled,
    /// Not touched, as intended (it ended, or is no longer idle in transaction).
    Spared(String),
    /// Not touched because the console cannot be sure it is the session previewed.
    Refused(String),
    /// The server refused or failed (a superuser's session, a missing privilege).
    Failed(String),
}

/// Per-target outcomes of a signalling op, or the message of the others.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub outcomes: Vec<(i32, Outcome)>,
    pub message: String,
    /// Everything asked for was done (or spared as intended).
    pub ok: bool,
}

fn started(us: i64) -> String {
    Local
        .timestamp_micros(us)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| us.to_string())
}

/// "pid 10 (app@shop: select …)" for the preview.
fn shown(t: &Target) -> String {
    if t.user.is_empty() && t.query.is_empty() {
        return format!("pid {} (not in the latest sample)", t.pid);
    }
    format!(
        "pid {} ({}@{}: {})",
        t.pid,
        t.user,
        t.database,
        if t.query.is_empty() { "-" } else { &t.query }
    )
}

fn shown_all(t: &[Target]) -> String {
    t.iter().map(shown).collect::<Vec<_>>().join(", ")
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
            .map(Target::of)
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
        const SAME: &str = "each only while it is still the session previewed (same backend_start)";
        match self {
            PgOp::Cancel { targets } => {
                format!(
                    "SELECT pg_cancel_backend(pid) for {}; {SAME}",
                    shown_all(targets)
                )
            }
            PgOp::Terminate { targets } => {
                format!(
                    "SELECT pg_terminate_backend(pid) for {}; {SAME}",
                    shown_all(targets)
                )
            }
            PgOp::TerminateIdleInTransaction {
                older_than_seconds,
                preview,
            } => format!(
                "SELECT pg_terminate_backend(pid) for sessions idle in transaction longer than \
                 {older_than_seconds}s: {} ({}; re-checked when it runs)",
                preview.len(),
                if preview.is_empty() {
                    "none".into()
                } else {
                    shown_all(preview)
                }
            ),
            PgOp::IndexDdl(d) => d.describe(),
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

    /// Runs the op: Ok when everything asked for was done, Err (listing every pid) when
    /// any target was refused or failed.
    pub async fn execute(&self, spec: &PostgresSpec) -> Result<String, String> {
        if let PgOp::IndexDdl(d) = self {
            return d.execute(spec).await;
        }
        let r = self.execute_report(spec).await?;
        if r.ok { Ok(r.message) } else { Err(r.message) }
    }

    /// Runs the op and reports each target.
    pub async fn execute_report(&self, spec: &PostgresSpec) -> Result<Report, String> {
        let secret = spec.secret().resolve_async().await?;
        let s: Vec<&Secret> = secret.iter().collect();
        let err = |e: sqlx::Error| scrub(&e.to_string(), &s);
        if let Some(slot) = shared::find(spec) {
            let mut guard = slot.lock().await;
            if let Some(conn) = guard.as_mut() {
                let r = self.run(conn).await;
                if let Err(e) = &r
                    && shared::broken(e)
                {
                    *guard = None;
                }
                return r.map(|r| scrub_report(r, &s)).map_err(err);
            }
        }
        // No poller holds a connection (a one-shot command, or it is reconnecting).
        let opts = connect_options(spec, secret.as_ref())?;
        let mut conn = PgConnection::connect_with(&opts).await.map_err(err)?;
        let out = self.run(&mut conn).await.map_err(err);
        let _ = conn.close().await;
        out.map(|r| scrub_report(r, &s))
    }

    async fn run(&self, conn: &mut PgConnection) -> Result<Report, sqlx::Error> {
        match self {
            // DDL runs on a connection of its own (`execute`).
            PgOp::IndexDdl(d) => Ok(Report {
                outcomes: vec![],
                message: format!("{}: not run on the shared connection", d.statement()),
                ok: false,
            }),
            PgOp::Cancel { targets } | PgOp::Terminate { targets } => {
                let cancel = matches!(self, PgOp::Cancel { .. });
                let func = if cancel {
                    "pg_cancel_backend"
                } else {
                    "pg_terminate_backend"
                };
                let mut outcomes = Vec::new();
                for t in targets {
                    outcomes.push((t.pid, signal(conn, func, t, None).await?));
                }
                let done = outcomes
                    .iter()
                    .filter(|(_, o)| *o == Outcome::Signalled)
                    .count();
                let ok = outcomes
                    .iter()
                    .all(|(_, o)| matches!(o, Outcome::Signalled | Outcome::Spared(_)));
                let message = format!(
                    "{func}: {done} of {} sessions signalled{}",
                    targets.len(),
                    details(&outcomes, ok)
                );
                Ok(Report {
                    outcomes,
                    message,
                    ok,
                })
            }
            PgOp::TerminateIdleInTransaction {
                older_than_seconds,
                preview,
            } => {
                let mut outcomes = Vec::new();
                for t in preview {
                    let o = signal(conn, "pg_terminate_backend", t, Some(*older_than_seconds));
                    outcomes.push((t.pid, o.await?));
                }
                let done: Vec<i32> = outcomes
                    .iter()
                    .filter(|(_, o)| *o == Outcome::Signalled)
                    .map(|(p, _)| *p)
                    .collect();
                // A session that moved on or ended is spared by design; a pid reused by
                // another session is left alone just the same.
                let ok = !outcomes
                    .iter()
                    .any(|(_, o)| matches!(o, Outcome::Failed(_)));
                let message = format!(
                    "terminated {} of {} previewed idle-in-transaction sessions{}{}",
                    done.len(),
                    preview.len(),
                    if done.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (pid {})",
                            done.iter()
                                .map(|p| p.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                    details(&outcomes, ok && done.len() == preview.len())
                );
                Ok(Report {
                    outcomes,
                    message,
                    ok,
                })
            }
            PgOp::SetConnectionLimit { role, limit, .. } => {
                let before: Option<i32> =
                    sqlx::query_scalar("select rolconnlimit from pg_roles where rolname = $1")
                        .bind(role)
                        .fetch_optional(&mut *conn)
                        .await?;
                let Some(before) = before else {
                    return Ok(Report {
                        outcomes: vec![],
                        message: format!("no role named {role}: nothing changed"),
                        ok: true,
                    });
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
                Ok(Report {
                    outcomes: vec![],
                    message: format!("role {role}: connection limit {before} -> {limit}"),
                    ok: true,
                })
            }
        }
    }
}

fn scrub_report(mut r: Report, s: &[&Secret]) -> Report {
    r.message = scrub(&r.message, s);
    r
}

/// "; pid 11: refused: …" for every target not simply signalled (nothing when all were).
fn details(outcomes: &[(i32, Outcome)], all_done: bool) -> String {
    if all_done
        && outcomes
            .iter()
            .all(|(_, o)| matches!(o, Outcome::Signalled))
    {
        return String::new();
    }
    outcomes
        .iter()
        .map(|(pid, o)| match o {
            Outcome::Signalled => format!("; pid {pid}: done"),
            Outcome::Spared(why) => format!("; pid {pid}: spared: {why}"),
            Outcome::Refused(why) => format!("; pid {pid}: refused: {why}"),
            Outcome::Failed(why) => format!("; pid {pid}: failed: {why}"),
        })
        .collect()
}

/// The target's backend as it is now: start (µs) and whether it is the console's own.
const NOW: &str = "select (extract(epoch from backend_start) * 1000000)::int8, \
    pid = pg_backend_pid() or application_name = 'opsdeck' \
    from pg_stat_activity where pid = $1";

/// Signals one target in a single statement that also checks it is the same backend (and,
/// for `idle_longer`, still idle in transaction that long); on no row, says why.
async fn signal(
    conn: &mut PgConnection,
    func: &str,
    t: &Target,
    idle_longer: Option<u64>,
) -> Result<Outcome, sqlx::Error> {
    let Some(start) = t.backend_start else {
        return Ok(Outcome::Refused(
            "its backend_start was not visible in the preview (needs pg_read_all_stats, or \
             it is not a client session), so the console cannot check the pid still is that \
             session"
                .into(),
        ));
    };
    let idle = if idle_longer.is_some() {
        " and a.state like 'idle in transaction%' \
         and now() - a.state_change > make_interval(secs => $3::float8)"
    } else {
        ""
    };
    let sql = format!(
        "select {func}(a.pid) from pg_stat_activity a where a.pid = $1 \
         and (extract(epoch from a.backend_start) * 1000000)::int8 = $2 \
         and a.pid <> pg_backend_pid() and a.application_name is distinct from 'opsdeck'{idle}"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(t.pid)
        .bind(start);
    if let Some(secs) = idle_longer {
        q = q.bind(secs as f64);
    }
    match q.fetch_optional(&mut *conn).await {
        Ok(Some(r)) => {
            return Ok(if r.try_get::<bool, _>(0)? {
                Outcome::Signalled
            } else {
                Outcome::Failed("the server could not signal it".into())
            });
        }
        Ok(None) => {}
        Err(e) if shared::broken(&e) => return Err(e),
        Err(e) => return Ok(Outcome::Failed(db_message(&e))),
    }
    let now = sqlx::query(NOW)
        .bind(t.pid)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(now) = now else {
        return Ok(Outcome::Spared("the session has ended".into()));
    };
    let (now_start, own): (Option<i64>, Option<bool>) = (now.try_get(0)?, now.try_get(1)?);
    Ok(if own.unwrap_or(false) {
        Outcome::Refused("the console's own session".into())
    } else if now_start != Some(start) {
        Outcome::Refused(format!(
            "pid {} is now another session (started {}; the one previewed started {}): \
             the previewed session has ended",
            t.pid,
            now_start
                .map(started)
                .unwrap_or_else(|| "at a hidden time".into()),
            started(start)
        ))
    } else if let Some(secs) = idle_longer {
        Outcome::Spared(format!("no longer idle in transaction longer than {secs}s"))
    } else {
        Outcome::Failed("not signalled".into())
    })
}

/// The server's words for a failed statement (without sqlx's prefix).
fn db_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => {
            let detail = d
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|p| p.detail());
            match detail {
                Some(x) => format!("{} ({x})", d.message()),
                None => d.message().to_string(),
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previewed_queries_hide_passwords() {
        assert_eq!(
            redact_secrets("ALTER ROLE app PASSWORD 'hunter2' VALID UNTIL 'x'"),
            "ALTER ROLE app PASSWORD '***' VALID UNTIL 'x'"
        );
        assert_eq!(
            redact_secrets("select dblink('host=db password=hunter2 user=x', 'q')"),
            "select dblink('host=db password=*** user=x', 'q')"
        );
        assert_eq!(
            redact_secrets("select * from users where password_hash = $1"),
            "select * from users where password_hash = $1"
        );
        assert!(
            !redact_secrets("copy t from program 'curl postgres://a:hunter2@h/db'")
                .contains("hunter2")
        );
    }
}
