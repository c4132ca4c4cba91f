//! PgBouncer's admin console: `SHOW POOLS` (clients active and waiting, server
//! connections, max wait per pool) joined with `SHOW STATS` (queries and transactions
//! served, average query and wait time per database, averaged by PgBouncer over its
//! `stats_period`). The console speaks the simple query protocol only and
//! rejects unknown startup parameters, so it gets its own plain connection, kept between
//! polls.

use std::time::Duration;

use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{Connection, Row as _};

use crate::secrets::{Secret, scrub};

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Pool {
    pub database: String,
    pub user: String,
    pub clients_active: i64,
    pub clients_waiting: i64,
    pub servers_active: i64,
    pub servers_idle: i64,
    pub servers_used: i64,
    pub max_wait_seconds: f64,
    pub pool_mode: String,
    /// From `SHOW STATS`, per database (shared by the database's pools).
    pub stats: Option<DbStats>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DbStats {
    pub total_query_count: i64,
    pub total_xact_count: i64,
    pub queries_per_second: i64,
    pub avg_query_ms: f64,
    pub avg_wait_ms: f64,
}

/// Numbers come as int8 or as text depending on the column and version: accept both.
fn num(r: &PgRow, col: &str) -> i64 {
    r.try_get::<i64, _>(col)
        .ok()
        .or_else(|| r.try_get::<i32, _>(col).ok().map(i64::from))
        .or_else(|| {
            r.try_get::<String, _>(col)
                .ok()
                .and_then(|s| s.parse().ok())
        })
        // SHOW STATS sends its counters as NUMERIC in text form (simple query protocol).
        .or_else(|| {
            r.try_get_unchecked::<String, _>(col)
                .ok()
                .and_then(|s| s.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn text(r: &PgRow, col: &str) -> String {
    r.try_get::<String, _>(col).unwrap_or_default()
}

/// The admin console's connection, kept between polls (dropped after an error).
#[derive(Default)]
pub struct Admin {
    conn: Option<PgConnection>,
}

impl Admin {
    pub async fn pools(&mut self, url: &str, secret: Option<&Secret>) -> Result<Vec<Pool>, String> {
        let secrets: Vec<&Secret> = secret.into_iter().collect();
        let err = |e: sqlx::Error| scrub(&e.to_string(), &secrets);
        if self.conn.is_none() {
            let mut opts: PgConnectOptions = url.parse().map_err(err)?;
            opts = opts.extra_float_digits(None).statement_cache_capacity(0);
            let conn =
                tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&opts))
                    .await
                    .map_err(|_| "pgbouncer: connect timed out after 5s".to_string())?
                    .map_err(err)?;
            self.conn = Some(conn);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err("pgbouncer: not connected".into());
        };
        let r = read(conn).await;
        if r.is_err() {
            self.conn = None;
        }
        r.map_err(err)
    }
}

async fn read(conn: &mut PgConnection) -> Result<Vec<Pool>, sqlx::Error> {
    let rows: Vec<PgRow> = sqlx::raw_sql("SHOW POOLS").fetch_all(&mut *conn).await?;
    let stats: Vec<PgRow> = sqlx::raw_sql("SHOW STATS").fetch_all(&mut *conn).await?;
    let stats_of = |db: &str| {
        stats
            .iter()
            .find(|r| text(r, "database") == db)
            .map(|r| DbStats {
                total_query_count: num(r, "total_query_count"),
                total_xact_count: num(r, "total_xact_count"),
                queries_per_second: num(r, "avg_query_count"),
                avg_query_ms: num(r, "avg_query_time") as f64 / 1000.0,
                avg_wait_ms: num(r, "avg_wait_time") as f64 / 1000.0,
            })
    };
    Ok(rows
        .iter()
        .map(|r| Pool {
            database: text(r, "database"),
            user: text(r, "user"),
            clients_active: num(r, "cl_active"),
            clients_waiting: num(r, "cl_waiting"),
            servers_active: num(r, "sv_active"),
            servers_idle: num(r, "sv_idle"),
            servers_used: num(r, "sv_used"),
            max_wait_seconds: num(r, "maxwait") as f64 + num(r, "maxwait_us") as f64 / 1e6,
            pool_mode: text(r, "pool_mode"),
            stats: stats_of(&text(r, "database")),
        })
        .filter(|p| p.database != "pgbouncer")
        .collect())
}
