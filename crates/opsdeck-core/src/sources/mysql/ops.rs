//! Guarded KILL QUERY / KILL CONNECTION. A thread id alone is not an identity: ids start
//! over when the server restarts, and a connection runs many statements. So the preview
//! records, per thread, the server's start, user, host (with the client port for TCP) and,
//! for KILL QUERY, the statement (its start and text; MariaDB's QUERY_ID); execution
//! re-reads the thread on its own connection and kills only what still matches. The
//! console's own connections are never targets.

use serde::Serialize;
use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

use super::model::{Flavor, MysqlSample, Thread};
use super::queries;
use super::rows::{self, KILL_DENIED, NO_SUCH_THREAD};
use super::spec::MysqlSpec;
use crate::secrets::{Secret, scrub};

/// How far two readings of one start may differ: NOW() - TIME is read at different
/// moments, and MySQL's TIME has whole seconds.
const START_TOLERANCE_SECS: f64 = 1.5;
const INFO_PREFIX: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KillMode {
    /// `KILL QUERY`: ends the running statement, keeps the connection.
    Query,
    /// `KILL CONNECTION`: ends the connection (and rolls back its transaction).
    Connection,
}

impl KillMode {
    fn sql(self) -> &'static str {
        match self {
            KillMode::Query => "KILL QUERY",
            KillMode::Connection => "KILL CONNECTION",
        }
    }
}

/// One thread as the preview showed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub id: u64,
    pub user: String,
    pub host: String,
    pub command: String,
    /// The current command's start on the server's clock (unix seconds).
    pub command_started_at: f64,
    pub query_id: Option<u64>,
    /// The start of the statement's text, whitespace collapsed.
    pub info: String,
}

impl Target {
    fn of(t: &Thread) -> Target {
        Target {
            id: t.id,
            user: t.user.clone(),
            host: t.host.clone(),
            command: t.command.clone(),
            command_started_at: t.command_started_at,
            query_id: t.query_id,
            info: prefix(&t.info),
        }
    }
}

fn prefix(info: &str) -> String {
    info.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(INFO_PREFIX)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MysqlOp {
    Kill {
        mode: KillMode,
        flavor: Flavor,
        /// The server's start as the preview saw it (unix seconds).
        server_started_at: i64,
        targets: Vec<Target>,
        /// Ids refused already at preview, with why (the console's own, system threads).
        refused: Vec<(u64, String)>,
    },
}

/// What happened to one thread.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreadResult {
    pub id: u64,
    pub killed: bool,
    pub message: String,
}

fn ids(v: &[u64]) -> String {
    v.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl MysqlOp {
    /// The kill op for `ids` from the latest sample; Err when no id can be a target.
    pub fn kill(sample: &MysqlSample, mode: KillMode, ids: &[u64]) -> Result<MysqlOp, String> {
        let mut targets = Vec::new();
        let mut refused = Vec::new();
        for &id in ids {
            if id == sample.own_connection_id {
                refused.push((id, "the console's own connection".to_string()));
                continue;
            }
            let Some(t) = sample.processlist.iter().find(|t| t.id == id) else {
                refused.push((id, "not in the processlist any more".to_string()));
                continue;
            };
            if t.console {
                refused.push((id, "an opsdeck console's connection".to_string()));
            } else if t.system {
                refused.push((
                    id,
                    format!(
                        "a server thread ({}); stop replication with STOP SLAVE instead",
                        t.command
                    ),
                ));
            } else if mode == KillMode::Query && !t.running() {
                refused.push((id, format!("{}: no statement running", t.command)));
            } else {
                targets.push(Target::of(t));
            }
        }
        if targets.is_empty() {
            return Err(match refused.as_slice() {
                [(id, why)] => format!("thread {id}: {why}; nothing to kill"),
                _ => format!(
                    "nothing to kill: {}",
                    refused
                        .iter()
                        .map(|(id, why)| format!("thread {id}: {why}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            });
        }
        Ok(MysqlOp::Kill {
            mode,
            flavor: sample.flavor,
            server_started_at: sample.server_started_at,
            targets,
            refused,
        })
    }

    /// Exactly what will run, for the preview.
    pub fn describe(&self) -> String {
        let MysqlOp::Kill {
            mode,
            targets,
            refused,
            ..
        } = self;
        let ids_: Vec<u64> = targets.iter().map(|t| t.id).collect();
        let check = match mode {
            KillMode::Query => "user, host and statement",
            KillMode::Connection => "user and host",
        };
        let mut s = format!(
            "{} {} (each only if its {check} still match the preview)",
            mode.sql(),
            ids(&ids_)
        );
        if !refused.is_empty() {
            s.push_str(&format!(
                "; not touching {}",
                refused
                    .iter()
                    .map(|(id, why)| format!("{id} ({why})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        s
    }

    /// Runs on its own connection; per-thread results, one line each.
    pub async fn execute(&self, spec: &MysqlSpec) -> Result<String, String> {
        let results = self.execute_each(spec).await?;
        let killed = results.iter().filter(|r| r.killed).count();
        let MysqlOp::Kill { mode, .. } = self;
        let lines: Vec<String> = results
            .iter()
            .map(|r| format!("thread {}: {}", r.id, r.message))
            .collect();
        let text = format!(
            "{}: {killed} of {} killed; {}",
            mode.sql(),
            results.len(),
            lines.join("; ")
        );
        if killed > 0 { Ok(text) } else { Err(text) }
    }

    /// Like [`MysqlOp::execute`], the results as data (refused-at-preview ids included).
    pub async fn execute_each(&self, spec: &MysqlSpec) -> Result<Vec<ThreadResult>, String> {
        let secret = spec.secret().resolve_async().await?;
        let s: Vec<&Secret> = secret.iter().collect();
        let (mut conn, _) = super::connect(spec, secret.as_ref())
            .await
            .map_err(|e| scrub(&e, &s))?;
        let out = self.run(&mut conn).await.map_err(|e| scrub(&e, &s));
        let _ = conn.close().await;
        out
    }

    async fn run(&self, conn: &mut MySqlConnection) -> Result<Vec<ThreadResult>, String> {
        let MysqlOp::Kill {
            mode,
            flavor,
            server_started_at,
            targets,
            refused,
        } = self;
        let mut out: Vec<ThreadResult> = refused
            .iter()
            .map(|(id, why)| ThreadResult {
                id: *id,
                killed: false,
                message: format!("refused: {why}"),
            })
            .collect();
        let e = |e: sqlx::Error| e.to_string();
        let now = rows::fetch_one(conn, queries::SERVER).await.map_err(e)?;
        let own = now.u64(&["own_id"]).unwrap_or(0);
        let uptime = rows::fetch_one(conn, "/* opsdeck */ SHOW GLOBAL STATUS LIKE 'Uptime'")
            .await
            .map_err(e)?
            .i64(&["value"])
            .unwrap_or(0);
        let started = now.f64(&["now"]).unwrap_or(0.0) as i64 - uptime;
        if (started - server_started_at).abs() > 1 {
            out.extend(targets.iter().map(|t| {
                ThreadResult {
                    id: t.id,
                    killed: false,
                    message: "refused: the server restarted since the preview (thread ids start \
                          over); look again and retry"
                        .into(),
                }
            }));
            return Ok(out);
        }
        let consoles: Vec<u64> = rows::fetch(conn, queries::CONSOLES)
            .await
            .map(|rs| rs.iter().filter_map(|r| r.u64(&["id"])).collect())
            .unwrap_or_default();
        for t in targets {
            let r = match self.check(conn, t, own, &consoles).await.map_err(e)? {
                Err(why) => ThreadResult {
                    id: t.id,
                    killed: false,
                    message: format!("refused: {why}"),
                },
                Ok(()) => kill_one(conn, *mode, *flavor, t).await,
            };
            out.push(r);
        }
        Ok(out)
    }

    /// Ok when the thread is still the one previewed; Err(why) otherwise.
    async fn check(
        &self,
        conn: &mut MySqlConnection,
        t: &Target,
        own: u64,
        consoles: &[u64],
    ) -> Result<Result<(), String>, sqlx::Error> {
        let MysqlOp::Kill { mode, flavor, .. } = self;
        if t.id == own || consoles.contains(&t.id) {
            return Ok(Err("an opsdeck console's connection".into()));
        }
        let sql = queries::thread(*flavor, t.id);
        let Some(now) = rows::fetch(conn, &sql).await?.into_iter().next() else {
            return Ok(Err("gone: no such thread any more".into()));
        };
        let (user, host) = (now.text(&["user"]), now.text(&["host"]));
        if user != t.user || host != t.host {
            return Ok(Err(format!(
                "the id now belongs to another connection ({user}@{host}, previewed {}@{})",
                t.user, t.host
            )));
        }
        if *mode == KillMode::Query {
            let command = now.text(&["command"]);
            let started = now.f64(&["started"]).unwrap_or(0.0);
            let same_id = match (t.query_id, now.u64(&["query_id"])) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            if command == "Sleep" {
                return Ok(Err("its statement already finished".into()));
            }
            if !same_id
                || (started - t.command_started_at).abs() > START_TOLERANCE_SECS
                || prefix(&now.text(&["info"])) != t.info
            {
                return Ok(Err(
                    "it now runs a different statement than the preview showed".into(),
                ));
            }
        }
        Ok(Ok(()))
    }
}

async fn kill_one(
    conn: &mut MySqlConnection,
    mode: KillMode,
    flavor: Flavor,
    t: &Target,
) -> ThreadResult {
    // MariaDB kills a statement by its own id: the check above and the kill cannot race
    // with the thread moving on to its next statement.
    let sql = match (mode, flavor, t.query_id) {
        (KillMode::Query, Flavor::Mariadb, Some(q)) => format!("KILL QUERY ID {q}"),
        _ => format!("{} {}", mode.sql(), t.id),
    };
    match rows::execute(conn, &sql).await {
        Ok(()) => ThreadResult {
            id: t.id,
            killed: true,
            message: match mode {
                KillMode::Query => "statement killed".into(),
                KillMode::Connection => "connection killed".into(),
            },
        },
        Err(e) => ThreadResult {
            id: t.id,
            killed: false,
            message: match rows::error_code(&e) {
                Some(NO_SUCH_THREAD) => "gone before the kill".into(),
                Some(KILL_DENIED) => "not allowed: the console's user is not its owner (needs \
                                      CONNECTION ADMIN or SUPER)"
                    .into(),
                _ => format!("failed: {e}"),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MysqlSample {
        let t = |id: u64, command: &str, console: bool, system: bool| Thread {
            id,
            user: "app".into(),
            host: format!("10.0.0.1:{}", 4000 + id),
            command: command.into(),
            info: if command == "Query" {
                "select  sleep(100)\n from t".into()
            } else {
                String::new()
            },
            console,
            system,
            command_started_at: 1000.0,
            query_id: Some(id * 10),
            ..Default::default()
        };
        MysqlSample {
            own_connection_id: 1,
            server_started_at: 500,
            processlist: vec![
                t(10, "Query", false, false),
                t(11, "Sleep", false, false),
                t(12, "Query", true, false),
                t(13, "Slave_SQL", false, true),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn preview_keeps_targets_and_says_what_it_skips() {
        let s = sample();
        let op = MysqlOp::kill(&s, KillMode::Query, &[10, 11, 1, 12, 13, 99]).expect("op");
        let MysqlOp::Kill {
            targets, refused, ..
        } = &op;
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].host, "10.0.0.1:4010");
        assert_eq!(targets[0].info, "select sleep(100) from t");
        assert_eq!(targets[0].query_id, Some(100));
        let why: Vec<u64> = refused.iter().map(|r| r.0).collect();
        assert_eq!(why, vec![11, 1, 12, 13, 99]);
        assert_eq!(
            op.describe(),
            "KILL QUERY 10 (each only if its user, host and statement still match the \
             preview); not touching 11 (Sleep: no statement running), 1 (the console's own \
             connection), 12 (an opsdeck console's connection), 13 (a server thread \
             (Slave_SQL); stop replication with STOP SLAVE instead), 99 (not in the \
             processlist any more)"
        );
        let op = MysqlOp::kill(&s, KillMode::Connection, &[11]).expect("op");
        assert!(
            op.describe()
                .starts_with("KILL CONNECTION 11 (each only if its user and host")
        );
    }

    #[test]
    fn the_console_alone_is_refused_with_a_reason() {
        let e = MysqlOp::kill(&sample(), KillMode::Connection, &[1]).unwrap_err();
        assert_eq!(e, "thread 1: the console's own connection; nothing to kill");
    }
}
