//! One poll: the statements of `queries.rs` on the poller's single connection, turned into
//! the sample, with per-second deltas against the previous poll.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use sqlx::mysql::MySqlConnection;

use super::locks::{Wait, build_tree, describe_lock};
use super::model::*;
use super::queries;
use super::rows::{self, ACCESS_DENIED, Record};

type E = sqlx::Error;

/// Calls and total milliseconds per (schema, digest) at the previous poll.
type DigestTotals = HashMap<(String, String), (i64, f64)>;

/// What a poll keeps for the next one: counters for the deltas, and what the server is.
#[derive(Debug, Default)]
pub struct Previous {
    totals: Option<(Instant, Totals)>,
    statements: Option<(Instant, DigestTotals)>,
    /// The lock-wait view, looked up once per connection (None: not yet).
    pub lock_source: Option<String>,
    /// Replication channels (by name) whose lag is over the threshold.
    lagging: std::collections::HashSet<String>,
}

pub struct Server {
    pub flavor: Flavor,
    pub version: String,
}

pub async fn collect(
    conn: &mut MySqlConnection,
    server: &Server,
    prev: &mut Previous,
) -> Result<MysqlSample, E> {
    let flavor = server.flavor;
    let r = rows::fetch_one(conn, queries::SERVER).await?;
    let now_server = r.f64(&["now"]).unwrap_or(0.0);
    let mut s = MysqlSample {
        version: r.text(&["version"]),
        flavor,
        connected_as: r.text(&["user"]),
        own_connection_id: r.u64(&["own_id"]).unwrap_or(0),
        server_id: r.i64(&["server_id"]).unwrap_or(0),
        read_only: r.i64(&["read_only"]).unwrap_or(0) != 0,
        performance_schema: r.i64(&["performance_schema"]).unwrap_or(0) != 0,
        max_connections: r.i64(&["max_connections"]).unwrap_or(0),
        ..Default::default()
    };

    let status: HashMap<String, i64> = rows::fetch(conn, queries::STATUS)
        .await?
        .iter()
        .filter_map(|r| {
            Some((
                r.text(&["variable_name"]).to_ascii_lowercase(),
                r.i64(&["value"])?,
            ))
        })
        .collect();
    let st = |k: &str| status.get(k).copied().unwrap_or(0);
    s.uptime_seconds = st("uptime") as f64;
    s.server_started_at = now_server as i64 - st("uptime");
    s.threads_connected = st("threads_connected");
    s.threads_running = st("threads_running");
    s.max_used_connections = st("max_used_connections");
    let deadlocks = match status.get("innodb_deadlocks") {
        Some(n) => *n,
        None => rows::fetch_one(conn, queries::DEADLOCKS_METRIC)
            .await
            .ok()
            .and_then(|r| r.i64(&["n"]))
            .unwrap_or(0),
    };
    s.totals = Totals {
        questions: st("questions"),
        slow_queries: st("slow_queries"),
        aborted_connects: st("aborted_connects"),
        aborted_clients: st("aborted_clients"),
        deadlocks,
        buffer_pool_read_requests: st("innodb_buffer_pool_read_requests"),
        buffer_pool_reads: st("innodb_buffer_pool_reads"),
        row_lock_current_waits: st("innodb_row_lock_current_waits"),
    };
    let now = Instant::now();
    if let Some((at, p)) = &prev.totals {
        s.rates = Some(rates(now.duration_since(*at).as_secs_f64(), p, &s.totals));
    }
    prev.totals = Some((now, s.totals.clone()));

    // INNODB_TRX needs PROCESS: without it the processlist would hold only the console's
    // own threads, which would read as "nothing running". Say so instead.
    let trx = match rows::fetch(conn, queries::TRANSACTIONS).await {
        Ok(t) => {
            s.has_process = true;
            t
        }
        Err(e) if rows::error_code(&e) == Some(ACCESS_DENIED) => {
            s.has_process = false;
            s.hints.push(needs_process(&s.connected_as));
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    if s.has_process {
        let consoles = if s.performance_schema {
            rows::fetch(conn, queries::CONSOLES)
                .await
                .map(|rs| rs.iter().filter_map(|r| r.u64(&["id"])).collect())
                .unwrap_or_default()
        } else {
            BTreeSet::new()
        };
        let list = rows::fetch(conn, &queries::processlist(flavor)).await?;
        s.processlist = threads(&list, &trx, &consoles);
        s.connections = count_connections(&s.processlist);
        s.replication.replicas = s
            .processlist
            .iter()
            .filter(|t| t.command.starts_with("Binlog Dump"))
            .map(|t| format!("{}@{}", t.user, t.host))
            .collect();

        if prev.lock_source.is_none() {
            prev.lock_source = Some(lock_source(&rows::fetch(conn, queries::LOCK_VIEWS).await?));
        }
        s.lock_source = prev.lock_source.clone().unwrap_or_default();
        match queries::lock_waits(&s.lock_source) {
            Some(q) => {
                let waits: Vec<Wait> = rows::fetch(conn, q)
                    .await?
                    .iter()
                    .filter_map(|r| {
                        Some(Wait {
                            waiter: r.u64(&["waiter"])?,
                            blocker: r.u64(&["blocker"])?,
                            seconds: r.f64(&["wait"]).unwrap_or(0.0),
                            lock: describe_lock(
                                r.get(&["mode"]).unwrap_or(""),
                                r.get(&["tbl"]).unwrap_or(""),
                                r.get(&["idx"]).unwrap_or(""),
                            ),
                        })
                    })
                    .collect();
                mark_lock_waiters(&mut s.processlist, &waits);
                s.connections = count_connections(&s.processlist);
                s.locks = build_tree(&waits, &s.processlist);
            }
            None => s.hints.push(
                "lock waits: neither information_schema.INNODB_LOCK_WAITS nor \
                 performance_schema.data_lock_waits exists on this server"
                    .into(),
            ),
        }
    }

    if s.performance_schema {
        match rows::fetch(conn, queries::DIGESTS).await {
            Ok(list) => s.statements = Some(statements(&list, prev, now)),
            Err(e) => s.hints.push(format!(
                "top statements: cannot read performance_schema.\
                 events_statements_summary_by_digest ({}); GRANT SELECT ON performance_schema.* \
                 TO {}",
                short_error(&e),
                s.connected_as
            )),
        }
    } else {
        s.hints.push(
            "top statements need performance_schema = ON in the server's config (it is OFF; \
             changing it needs a restart)"
                .into(),
        );
    }

    s.replication.error = None;
    let g = rows::fetch_one(conn, queries::gtid_positions(flavor))
        .await
        .unwrap_or_default();
    s.replication.gtid_binlog_pos = g.text(&["binlog"]);
    s.replication.gtid_slave_pos = g.text(&["slave"]);
    match rows::fetch(conn, queries::replica_status(flavor, &server.version)).await {
        Ok(list) => {
            s.replication.channels = list.iter().map(channel).collect();
            for c in &mut s.replication.channels {
                c.lagging =
                    super::events::lagging(prev.lagging.contains(&c.name), c.seconds_behind);
            }
            prev.lagging = s
                .replication
                .channels
                .iter()
                .filter(|c| c.lagging)
                .map(|c| c.name.clone())
                .collect();
        }
        Err(e) if rows::error_code(&e) == Some(ACCESS_DENIED) => {
            let msg = format!(
                "replication status needs REPLICATION CLIENT (MariaDB 10.5+: REPLICA MONITOR \
                 or SLAVE MONITOR): GRANT it TO {}",
                s.connected_as
            );
            s.replication.error = Some(msg.clone());
            s.hints.push(msg);
        }
        Err(e) => return Err(e),
    }
    Ok(s)
}

pub fn needs_process(user: &str) -> String {
    format!(
        "needs PROCESS: {user} sees only its own threads, so the processlist, transactions \
         and lock waits are hidden; GRANT PROCESS ON *.* TO {user}"
    )
}

fn short_error(e: &E) -> String {
    e.as_database_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string())
}

fn lock_source(rows: &[Record]) -> String {
    let has = |schema: &str, table: &str| {
        rows.iter()
            .any(|r| r.text(&["s"]) == schema && r.text(&["t"]) == table)
    };
    // MySQL 8 has only the performance_schema view; MariaDB only the old one.
    if has("performance_schema", "data_lock_waits") {
        queries::LOCK_SOURCE_PS.into()
    } else if has("information_schema", "innodb_lock_waits") {
        queries::LOCK_SOURCE_IS.into()
    } else {
        String::new()
    }
}

/// Users and commands of the server's own threads (replication, event scheduler).
fn is_system(user: &str, command: &str) -> bool {
    matches!(user, "system user" | "event_scheduler")
        || (user.is_empty()
            && matches!(
                command,
                "Daemon" | "Slave_IO" | "Slave_SQL" | "Slave_worker" | "Connect"
            ))
}

fn threads(list: &[Record], trx: &[Record], consoles: &BTreeSet<u64>) -> Vec<Thread> {
    let trx_of: HashMap<u64, &Record> = trx
        .iter()
        .filter_map(|r| Some((r.u64(&["thread"])?, r)))
        .collect();
    let mut out: Vec<Thread> = list
        .iter()
        .filter_map(|r| {
            let id = r.u64(&["id"])?;
            let user = r.text(&["user"]);
            let command = r.text(&["command"]);
            let state = r.text(&["state"]);
            let t = trx_of.get(&id);
            let lock_wait = t.is_some_and(|t| t.text(&["state"]) == "LOCK WAIT");
            Some(Thread {
                id,
                system: is_system(&user, &command),
                label: state_label(&command, &state, lock_wait, t.is_some()).into(),
                host: r.text(&["host"]),
                database: r.text(&["db"]),
                seconds: r.f64(&["seconds"]).unwrap_or(0.0),
                info: r.text(&["info"]),
                trx_seconds: t.and_then(|t| t.f64(&["age"])),
                trx_rows_modified: t.and_then(|t| t.i64(&["modified"])),
                console: consoles.contains(&id),
                command_started_at: r.f64(&["started"]).unwrap_or(0.0),
                query_id: r.u64(&["query_id"]),
                user,
                command,
                state,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.system
            .cmp(&b.system)
            .then(b.running().cmp(&a.running()))
            .then(b.seconds.total_cmp(&a.seconds))
            .then(a.id.cmp(&b.id))
    });
    out
}

/// A waiter found in the lock view is "waiting on a lock" even if INNODB_TRX was read a
/// moment before it began to wait.
fn mark_lock_waiters(threads: &mut [Thread], waits: &[Wait]) {
    let waiting: BTreeSet<u64> = waits.iter().map(|w| w.waiter).collect();
    for t in threads.iter_mut().filter(|t| waiting.contains(&t.id)) {
        t.label = "waiting on a lock".into();
    }
}

fn channel(r: &Record) -> Channel {
    let source = match (
        r.get(&["Source_Host", "Master_Host"]),
        r.get(&["Source_Port", "Master_Port"]),
    ) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    };
    Channel {
        name: r.text(&["Connection_name", "Channel_Name"]),
        source,
        io_running: r.text(&["Replica_IO_Running", "Slave_IO_Running"]),
        sql_running: r.text(&["Replica_SQL_Running", "Slave_SQL_Running"]),
        seconds_behind: r.i64(&["Seconds_Behind_Source", "Seconds_Behind_Master"]),
        last_io_error: r.text(&["Last_IO_Error"]),
        last_sql_error: r.text(&["Last_SQL_Error"]),
        using_gtid: r.text(&["Using_Gtid", "Auto_Position"]),
        gtid_io_pos: r.text(&["Gtid_IO_Pos", "Retrieved_Gtid_Set"]),
        gtid_executed: r.text(&["Executed_Gtid_Set"]),
        state: r.text(&[
            "Slave_SQL_State",
            "Replica_SQL_Running_State",
            "Slave_SQL_Running_State",
        ]),
        lagging: false,
    }
}

/// Rates from two counter snapshots; a counter that went backwards (a restart, FLUSH
/// STATUS) counts as zero.
pub fn rates(secs: f64, prev: &Totals, now: &Totals) -> Rates {
    let d = |a: i64, b: i64| (b - a).max(0);
    let per = |v: i64| if secs > 0.0 { v as f64 / secs } else { 0.0 };
    let requests = d(
        prev.buffer_pool_read_requests,
        now.buffer_pool_read_requests,
    );
    let misses = d(prev.buffer_pool_reads, now.buffer_pool_reads).min(requests);
    Rates {
        interval_seconds: secs,
        queries_per_second: per(d(prev.questions, now.questions)),
        slow_queries_per_second: per(d(prev.slow_queries, now.slow_queries)),
        aborted_connects: d(prev.aborted_connects, now.aborted_connects),
        deadlocks: d(prev.deadlocks, now.deadlocks),
        buffer_pool_hit_ratio: (requests > 0).then(|| (requests - misses) as f64 / requests as f64),
    }
}

fn statements(list: &[Record], prev: &mut Previous, now: Instant) -> Vec<Statement> {
    let mut out: Vec<Statement> = list
        .iter()
        .map(|r| {
            let calls = r.i64(&["calls"]).unwrap_or(0);
            let total_ms = r.f64(&["total_ms"]).unwrap_or(0.0);
            Statement {
                digest: r.text(&["digest"]),
                schema: r.text(&["schema_name"]),
                calls,
                total_ms,
                mean_ms: if calls > 0 {
                    total_ms / calls as f64
                } else {
                    0.0
                },
                max_ms: r.f64(&["max_ms"]).unwrap_or(0.0),
                rows_examined: r.i64(&["examined"]).unwrap_or(0),
                rows_sent: r.i64(&["sent"]).unwrap_or(0),
                errors: r.i64(&["errors"]).unwrap_or(0),
                no_index_used: r.i64(&["no_index"]).unwrap_or(0),
                text: r.text(&["text"]),
                ..Default::default()
            }
        })
        .collect();
    let key = |s: &Statement| (s.schema.clone(), s.digest.clone());
    if let Some((at, old)) = &prev.statements {
        let secs = now.duration_since(*at).as_secs_f64();
        if secs > 0.0 {
            for s in &mut out {
                let (calls, ms) = old.get(&key(s)).copied().unwrap_or((0, 0.0));
                // A digest first seen now ran entirely within the interval.
                s.calls_per_second = Some((s.calls - calls).max(0) as f64 / secs);
                s.ms_per_second = Some((s.total_ms - ms).max(0.0) / secs);
            }
        }
    }
    prev.statements = Some((
        now,
        out.iter()
            .map(|s| (key(s), (s.calls, s.total_ms)))
            .collect(),
    ));
    out.sort_by(|a, b| {
        b.ms_per_second
            .unwrap_or(-1.0)
            .total_cmp(&a.ms_per_second.unwrap_or(-1.0))
            .then(b.total_ms.total_cmp(&a.total_ms))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_from_deltas() {
        let a = Totals {
            questions: 100,
            slow_queries: 1,
            buffer_pool_read_requests: 1000,
            buffer_pool_reads: 10,
            deadlocks: 2,
            ..Default::default()
        };
        let b = Totals {
            questions: 300,
            slow_queries: 3,
            buffer_pool_read_requests: 2000,
            buffer_pool_reads: 20,
            deadlocks: 3,
            aborted_connects: 4,
            ..Default::default()
        };
        let r = rates(2.0, &a, &b);
        assert_eq!(r.queries_per_second, 100.0);
        assert_eq!(r.slow_queries_per_second, 1.0);
        assert_eq!(r.buffer_pool_hit_ratio, Some(0.99));
        assert_eq!(r.deadlocks, 1);
        assert_eq!(r.aborted_connects, 4);
        let reset = rates(1.0, &b, &a);
        assert_eq!(reset.queries_per_second, 0.0);
        assert_eq!(reset.buffer_pool_hit_ratio, None);
    }

    #[test]
    fn replica_columns_of_both_flavours() {
        let maria = Record::from_pairs([
            ("Connection_name", Some("")),
            ("Master_Host", Some("10.0.0.1")),
            ("Master_Port", Some("3306")),
            ("Slave_IO_Running", Some("Yes")),
            ("Slave_SQL_Running", Some("No")),
            ("Seconds_Behind_Master", None),
            ("Last_SQL_Error", Some("Duplicate entry")),
            ("Using_Gtid", Some("Slave_Pos")),
            ("Gtid_IO_Pos", Some("0-1-42")),
        ]);
        let c = channel(&maria);
        assert_eq!(c.source, "10.0.0.1:3306");
        assert_eq!(
            (c.io_running.as_str(), c.sql_running.as_str()),
            ("Yes", "No")
        );
        assert_eq!(c.seconds_behind, None);
        assert_eq!(c.gtid_io_pos, "0-1-42");
        assert!(!c.running());
        let mysql = Record::from_pairs([
            ("Channel_Name", Some("east")),
            ("Source_Host", Some("db-1")),
            ("Source_Port", Some("3306")),
            ("Replica_IO_Running", Some("Yes")),
            ("Replica_SQL_Running", Some("Yes")),
            ("Seconds_Behind_Source", Some("12")),
            ("Executed_Gtid_Set", Some("uuid:1-9")),
        ]);
        let c = channel(&mysql);
        assert_eq!(c.name, "east");
        assert_eq!(c.seconds_behind, Some(12));
        assert_eq!(c.gtid_executed, "uuid:1-9");
        assert!(c.running());
    }

    #[test]
    fn lock_view_choice() {
        let r = |s: &str, t: &str| Record::from_pairs([("s", Some(s)), ("t", Some(t))]);
        assert_eq!(
            lock_source(&[r("information_schema", "innodb_lock_waits")]),
            queries::LOCK_SOURCE_IS
        );
        assert_eq!(
            lock_source(&[
                r("performance_schema", "data_lock_waits"),
                r("information_schema", "innodb_lock_waits")
            ]),
            queries::LOCK_SOURCE_PS
        );
        assert_eq!(lock_source(&[]), "");
    }
}
