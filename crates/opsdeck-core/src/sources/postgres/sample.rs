//! One poll: runs the queries of `queries.rs` on the poller's single connection and turns
//! rows into the sample, with per-second deltas against the previous poll.

use std::collections::HashMap;
use std::time::Instant;

use sqlx::Row as _;
use sqlx::postgres::{PgConnection, PgRow};

use super::locks::{Waiter, build_tree};
use super::model::*;
use super::queries;

/// Counters kept between polls for the deltas.
#[derive(Debug, Default)]
pub struct Previous {
    totals: Option<(Instant, [i64; 6])>,
    statements: Option<(Instant, StatementTotals)>,
}

type StatementKey = (i64, String, String);
/// Calls and total milliseconds per statement at the previous poll.
type StatementTotals = HashMap<StatementKey, (i64, f64)>;

type E = sqlx::Error;

pub async fn collect(conn: &mut PgConnection, prev: &mut Previous) -> Result<PgSample, E> {
    let row = sqlx::query(queries::SERVER).fetch_one(&mut *conn).await?;
    let version_num: i32 = row.try_get(1)?;
    let in_recovery: bool = row.try_get(2)?;
    let max_connections: i64 = row.try_get(4)?;
    let reserved: i64 = row.try_get::<i64, _>(5)? + row.try_get::<i64, _>(6)?;
    let connected_as: String = row.try_get(7)?;
    let reads_all_stats: bool = row.try_get(8)?;
    let has_statements: bool = row.try_get(9)?;
    let mut s = PgSample {
        version: row.try_get(0)?,
        version_num,
        in_recovery,
        role: if in_recovery { "standby" } else { "primary" }.into(),
        uptime_seconds: row.try_get(3)?,
        connected_as: connected_as.clone(),
        max_connections,
        reserved_connections: reserved,
        usable_connections: (max_connections - reserved).max(1),
        ..Default::default()
    };

    let rows = sqlx::query(queries::ACTIVITY).fetch_all(&mut *conn).await?;
    s.activity = rows.iter().map(session).collect::<Result<_, _>>()?;
    s.activity.sort_by(|a, b| {
        b.query_seconds
            .unwrap_or(-1.0)
            .total_cmp(&a.query_seconds.unwrap_or(-1.0))
            .then(a.pid.cmp(&b.pid))
    });
    s.connections = count_connections(&s.activity);
    let hidden = s.activity.iter().filter(|a| a.hidden()).count();
    if hidden > 0 && !reads_all_stats {
        s.hints.push(format!(
            "{hidden} sessions of other roles show <insufficient privilege>: GRANT pg_monitor \
             (or pg_read_all_stats) TO {connected_as} to see their state and query"
        ));
    }

    let rows = sqlx::query(queries::BLOCKING).fetch_all(&mut *conn).await?;
    let waiters: Vec<Waiter> = rows
        .iter()
        .map(|r| {
            Ok(Waiter {
                pid: r.try_get(0)?,
                blocked_by: r.try_get(1)?,
            })
        })
        .collect::<Result<_, E>>()?;
    s.locks = build_tree(&waiters, &s.activity);

    let r = sqlx::query(queries::DATABASE_TOTALS)
        .fetch_one(&mut *conn)
        .await?;
    let mut totals = [0i64; 6];
    for (i, t) in totals.iter_mut().enumerate() {
        *t = r.try_get(i)?;
    }
    let now = Instant::now();
    if let Some((at, p)) = prev.totals {
        s.rates = Some(rates(now.duration_since(at).as_secs_f64(), &p, &totals));
    }
    prev.totals = Some((now, totals));

    if has_statements {
        match sqlx::query(queries::statements(version_num))
            .fetch_all(&mut *conn)
            .await
        {
            Ok(rows) => s.statements = statements(&rows, prev, now)?,
            Err(e) => s.hints.push(format!("pg_stat_statements unreadable: {e}")),
        }
    } else {
        s.hints.push(
            "top statements: pg_stat_statements is not installed in this database \
             (shared_preload_libraries = 'pg_stat_statements', then CREATE EXTENSION \
             pg_stat_statements)"
                .into(),
        );
    }

    if in_recovery {
        let r = sqlx::query(queries::REPLICATION_STANDBY)
            .fetch_one(&mut *conn)
            .await?;
        s.replication.receiver = Some(Receiver {
            status: r.try_get(0)?,
            sender: r.try_get(1)?,
            replay_lag_bytes: r.try_get(2)?,
            replay_delay_seconds: r.try_get(3)?,
        });
    } else {
        let rows = sqlx::query(queries::REPLICATION_PRIMARY)
            .fetch_all(&mut *conn)
            .await?;
        s.replication.standbys = rows
            .iter()
            .map(|r| {
                Ok(Standby {
                    application: r.try_get(0)?,
                    client: r.try_get(1)?,
                    state: r.try_get(2)?,
                    sync_state: r.try_get(3)?,
                    sent_lag_bytes: r.try_get(4)?,
                    write_lag_bytes: r.try_get(5)?,
                    flush_lag_bytes: r.try_get(6)?,
                    replay_lag_bytes: r.try_get(7)?,
                    write_lag_seconds: r.try_get(8)?,
                    flush_lag_seconds: r.try_get(9)?,
                    replay_lag_seconds: r.try_get(10)?,
                })
            })
            .collect::<Result<_, E>>()?;
    }

    // Maintenance is secondary: a failure there (a database dropped mid-query) becomes a
    // hint instead of failing the whole poll.
    match maintenance(&mut *conn).await {
        Ok(m) => s.maintenance = m,
        Err(e) => s
            .hints
            .push(format!("maintenance statistics unavailable: {e}")),
    }
    s.roles = sqlx::query(queries::ROLES)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(RoleLimit {
                role: r.try_get(0)?,
                connection_limit: r.try_get(1)?,
                connections: r.try_get(2)?,
            })
        })
        .collect::<Result<_, E>>()?;
    Ok(s)
}

async fn maintenance(conn: &mut PgConnection) -> Result<Maintenance, E> {
    let dead_tuples = tables(
        &sqlx::query(sqlx::AssertSqlSafe(queries::dead_tuples()))
            .fetch_all(&mut *conn)
            .await?,
    )?;
    let seq_scan_heavy = tables(
        &sqlx::query(sqlx::AssertSqlSafe(queries::seq_scan_heavy()))
            .fetch_all(&mut *conn)
            .await?,
    )?;
    let unused_indexes = sqlx::query(queries::UNUSED_INDEXES)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(UnusedIndex {
                index: r.try_get(0)?,
                table: r.try_get(1)?,
                size_bytes: r.try_get(2)?,
            })
        })
        .collect::<Result<_, E>>()?;
    let databases = sqlx::query(queries::DATABASES)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(DbHealth {
                database: r.try_get(0)?,
                size_bytes: r.try_get(1)?,
                xid_age: r.try_get(2)?,
            })
        })
        .collect::<Result<_, E>>()?;
    Ok(Maintenance {
        dead_tuples,
        seq_scan_heavy,
        unused_indexes,
        databases,
    })
}

fn session(r: &PgRow) -> Result<Session, E> {
    let state: Option<String> = r.try_get(5)?;
    let wait_type: Option<String> = r.try_get(6)?;
    Ok(Session {
        pid: r.try_get(0)?,
        database: r.try_get(1)?,
        user: r.try_get(2)?,
        application: r.try_get(3)?,
        client: r.try_get(4)?,
        state: state_label(state.as_deref(), wait_type.as_deref()),
        wait_event: r.try_get(7)?,
        xact_seconds: r.try_get(8)?,
        query_seconds: r.try_get(9)?,
        state_seconds: r.try_get(10)?,
        query: r.try_get(11)?,
        own: r.try_get::<Option<bool>, _>(12)?.unwrap_or(false),
    })
}

fn tables(rows: &[PgRow]) -> Result<Vec<TableHealth>, E> {
    rows.iter()
        .map(|r| {
            Ok(TableHealth {
                table: r.try_get(0)?,
                live_tuples: r.try_get(1)?,
                dead_tuples: r.try_get(2)?,
                seq_scans: r.try_get(3)?,
                seq_tuples_read: r.try_get(4)?,
                index_scans: r.try_get(5)?,
                last_vacuum_seconds: r.try_get(6)?,
                last_analyze_seconds: r.try_get(7)?,
            })
        })
        .collect()
}

/// Rates from two pg_stat_database totals (commit, rollback, hit, read, deadlocks, temp
/// bytes). A counter that went backwards (stats reset) counts as zero.
pub fn rates(secs: f64, prev: &[i64; 6], now: &[i64; 6]) -> DbRates {
    let d = |i: usize| (now[i] - prev[i]).max(0);
    let per = |v: i64| if secs > 0.0 { v as f64 / secs } else { 0.0 };
    let (hit, read) = (d(2), d(3));
    DbRates {
        interval_seconds: secs,
        transactions_per_second: per(d(0) + d(1)),
        rollbacks_per_second: per(d(1)),
        cache_hit_ratio: (hit + read > 0).then(|| hit as f64 / (hit + read) as f64),
        deadlocks: d(4),
        temp_bytes_per_second: per(d(5)),
    }
}

fn statements(rows: &[PgRow], prev: &mut Previous, now: Instant) -> Result<Vec<Statement>, E> {
    let mut out: Vec<Statement> = rows
        .iter()
        .map(|r| {
            Ok(Statement {
                queryid: r.try_get(0)?,
                database: r.try_get(1)?,
                user: r.try_get(2)?,
                calls: r.try_get(3)?,
                total_ms: r.try_get(4)?,
                mean_ms: r.try_get(5)?,
                rows: r.try_get(6)?,
                query: r.try_get(7)?,
                ..Default::default()
            })
        })
        .collect::<Result<_, E>>()?;
    let key = |s: &Statement| (s.queryid, s.database.clone(), s.user.clone());
    if let Some((at, old)) = &prev.statements {
        let secs = now.duration_since(*at).as_secs_f64();
        if secs > 0.0 {
            for s in &mut out {
                if let Some((calls, ms)) = old.get(&key(s)) {
                    s.calls_per_second = Some((s.calls - calls).max(0) as f64 / secs);
                    s.ms_per_second = Some((s.total_ms - ms).max(0.0) / secs);
                }
            }
        }
    }
    prev.statements = Some((
        now,
        out.iter()
            .map(|s| (key(s), (s.calls, s.total_ms)))
            .collect(),
    ));
    // Busiest now first; statements without a delta after those, by total time.
    out.sort_by(|a, b| {
        b.ms_per_second
            .unwrap_or(-1.0)
            .total_cmp(&a.ms_per_second.unwrap_or(-1.0))
            .then(b.total_ms.total_cmp(&a.total_ms))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_from_deltas() {
        let r = rates(
            2.0,
            &[100, 10, 900, 100, 1, 0],
            &[300, 10, 1890, 110, 2, 4096],
        );
        assert_eq!(r.transactions_per_second, 100.0);
        assert_eq!(r.cache_hit_ratio, Some(0.99));
        assert_eq!(r.deadlocks, 1);
        assert_eq!(r.temp_bytes_per_second, 2048.0);
        let reset = rates(1.0, &[100, 0, 0, 0, 5, 0], &[3, 0, 0, 0, 0, 0]);
        assert_eq!(reset.transactions_per_second, 0.0);
        assert_eq!(reset.cache_hit_ratio, None);
    }
}
