//! One poll: runs the queries of `queries.rs` on the poller's single connection and turns
//! rows into the sample, with per-second deltas against the previous poll. Vital figures
//! (sessions, locks, replication, rates) are read every poll; heavy ones (statements,
//! sizes, slots, wraparound ages, settings, maintenance) on the slow schedule.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::Row as _;
use sqlx::postgres::{PgConnection, PgRow};

use super::locks::{Waiter, build_tree};
use super::model::*;
use super::names::Names;
use super::queries;
use super::schedule::{Heavy, Slow};
use super::statements::Tracker;

/// What `SETTINGS` reads.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub version: String,
    pub version_num: i32,
    pub max_connections: i64,
    pub reserved: i64,
    pub connected_as: String,
    pub reads_all_stats: bool,
    pub has_statements: bool,
}

type Tables = (Vec<TableHealth>, Vec<TableHealth>, Vec<UnusedIndex>);
/// datname, age(datfrozenxid), mxid_age(datminmxid), datallowconn.
type Ages = Vec<(String, i64, i64, bool)>;

/// Counters and slow figures kept between polls.
#[derive(Debug, Default)]
pub struct Previous {
    totals: Option<(Instant, [i64; 6])>,
    settings: Slow<Option<Settings>>,
    statements: Slow<(Vec<Statement>, StatementsInfo)>,
    tracker: Tracker,
    sizes: Slow<HashMap<String, i64>>,
    /// The round of sizes under way: databases still to read, how many a poll, and the
    /// sizes read so far (the round's result replaces the value, so dropped ones go).
    size_round: SizeRound,
    wraparound: Slow<Ages>,
    slots: Slow<Vec<Slot>>,
    maintenance: Slow<Tables>,
    roles: Slow<Vec<(String, i32)>>,
    /// Standbys (`events::standby_key`) whose replay lag is over the threshold.
    lagging: std::collections::HashSet<String>,
    /// The server log, read on the slow schedule (`log_due` keeps its time).
    pub log: super::serverlog::Reader,
    log_due: Slow<()>,
    /// The pids of the last lock tree: read in full next poll even if idle by then.
    lock_pids: Vec<i32>,
    /// Sessions read in full beyond the ones that must be (`SESSION_ROWS` unless set).
    pub session_rows: Option<i64>,
    /// One heavy read a poll after the first (`Heavy`).
    pub heavy: Heavy,
    /// Database and role names of the sessions' oids.
    names: super::names::Names,
}

impl Previous {
    /// A new connection may be to a restarted (or different) server: settings first.
    pub fn reconnected(&mut self) {
        self.settings.expire();
    }
}

type E = sqlx::Error;

fn text(e: E) -> String {
    e.to_string()
}

pub async fn collect(
    conn: &mut PgConnection,
    prev: &mut Previous,
    every: Duration,
) -> Result<PgSample, E> {
    let now = Instant::now();
    prev.heavy.begin(every);
    if prev.settings.value.is_none() || prev.settings.due(now, every) {
        let st = settings(conn).await?;
        prev.settings.set(now, Ok(Some(st)));
    }
    let st = prev.settings.value.clone().unwrap_or_default();
    let version_num = st.version_num;

    let rows = sqlx::query(queries::ACTIVITY)
        .bind(&prev.lock_pids)
        .bind(prev.session_rows.unwrap_or(SESSION_ROWS))
        .fetch_all(&mut *conn)
        .await?;
    let r = rows
        .iter()
        .find(|r| matches!(r.try_get::<Option<bool>, _>(0), Ok(None)))
        .ok_or_else(|| sqlx::Error::RowNotFound)?;
    let v = queries::VITALS_AT;
    let in_recovery: bool = r.try_get(v)?;
    let mut totals = [0i64; 6];
    for (i, t) in totals.iter_mut().enumerate() {
        *t = r.try_get(v + 2 + i)?;
    }
    let senders: i64 = r.try_get(v + 8)?;
    let mut s = PgSample {
        version: st.version.clone(),
        version_num,
        in_recovery,
        role: if in_recovery { "standby" } else { "primary" }.into(),
        uptime_seconds: r.try_get(v + 1)?,
        connected_as: st.connected_as.clone(),
        max_connections: st.max_connections,
        reserved_connections: st.reserved,
        usable_connections: (st.max_connections - st.reserved).max(1),
        slow_refresh_seconds: every.as_secs_f64(),
        lock_wait_source: if version_num >= 140000 {
            "waitstart"
        } else {
            "query_start"
        }
        .into(),
        ..Default::default()
    };
    if let Some((at, p)) = prev.totals {
        s.rates = Some(rates(now.duration_since(at).as_secs_f64(), &p, &totals));
    }
    prev.totals = Some((now, totals));

    let oids = |i: usize| rows.iter().filter_map(move |r| r.try_get::<i64, _>(i).ok());
    prev.names
        .refresh(conn, oids(2), oids(3), now, every)
        .await?;
    (s.activity, s.connections) = sessions(&rows, &prev.names)?;
    // Other roles' sessions without pg_read_all_stats: no state (counted, maybe not listed).
    let hidden = s.connections.by_state.get("unknown").copied().unwrap_or(0);
    if hidden > 0 && !st.reads_all_stats {
        s.hints.push(format!(
            "{hidden} sessions of other roles show <insufficient privilege>: GRANT pg_monitor \
             (or pg_read_all_stats) TO {} to see their state and query",
            st.connected_as
        ));
    }

    // Hidden sessions may be waiting too: then we cannot tell without asking.
    let waiting = s.connections.by_state.contains_key("waiting on a lock");
    if waiting || (hidden > 0 && !st.reads_all_stats) {
        let rows = sqlx::query(queries::blocking(version_num))
            .fetch_all(&mut *conn)
            .await?;
        let mut waiters: Vec<Waiter> = Vec::with_capacity(rows.len());
        for r in &rows {
            let pid: i32 = r.try_get(0)?;
            if waiters.iter().any(|w| w.pid == pid) {
                continue;
            }
            let wait: Option<f64> = r.try_get(2)?;
            waiters.push(Waiter {
                pid,
                blocked_by: r.try_get(1)?,
                // waitstart is NULL for a moment after the wait begins.
                wait_seconds: if version_num >= 140000 {
                    Some(wait.unwrap_or(0.0).max(0.0))
                } else {
                    None
                },
                waiting_since: r.try_get(3)?,
            });
        }
        s.locks = build_tree(&waiters, &s.activity);
    }
    prev.lock_pids = s.locks.iter().map(|n| n.pid).collect();
    if version_num < 140000 && !s.locks.is_empty() {
        s.hints.push(
            "lock waits are measured from the waiting query's start (PostgreSQL before 14 \
             has no pg_locks.waitstart): they include the time the query ran before it waited"
                .into(),
        );
    }

    if in_recovery {
        let r = sqlx::query(queries::REPLICATION_STANDBY)
            .fetch_one(&mut *conn)
            .await?;
        let exists: bool = r.try_get(0)?;
        let status: Option<String> = r.try_get(1)?;
        let hidden = exists && status.is_none();
        s.replication.receiver = Some(Receiver {
            status: match (exists, status) {
                (false, _) => "stopped".into(),
                (true, None) => "unknown".into(),
                (true, Some(st)) => st,
            },
            hidden,
            sender: r.try_get(2)?,
            replay_lag_bytes: r.try_get(3)?,
            replay_delay_seconds: r.try_get(4)?,
        });
        if hidden {
            s.hints.push(format!(
                "the WAL receiver's status needs pg_read_all_stats: GRANT pg_monitor TO {}",
                st.connected_as
            ));
        }
    } else {
        let rows = if senders > 0 {
            sqlx::query(queries::REPLICATION_PRIMARY)
                .fetch_all(&mut *conn)
                .await?
        } else {
            Vec::new()
        };
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
                    hidden: r.try_get(11)?,
                    lagging: false,
                })
            })
            .collect::<Result<_, E>>()?;
        for x in &mut s.replication.standbys {
            let key = super::events::standby_key(x);
            x.lagging = super::events::lagging(prev.lagging.contains(&key), x.replay_lag_seconds);
        }
        prev.lagging = s
            .replication
            .standbys
            .iter()
            .filter(|x| x.lagging)
            .map(super::events::standby_key)
            .collect();
        if s.replication.standbys.iter().any(|x| x.hidden) {
            s.hints.push(format!(
                "standbys' state and lag need pg_read_all_stats: GRANT pg_monitor TO {}",
                st.connected_as
            ));
        }
    }

    slow_figures(conn, prev, &st, in_recovery, now, every).await;
    fill_slow(&mut s, prev, &st, now);
    if prev.log_due.due(now, every) {
        prev.log.read(conn).await;
        prev.log_due.set(now, Ok(()));
    }
    s.server_log = prev.log.view();
    Ok(s)
}

async fn settings(conn: &mut PgConnection) -> Result<Settings, E> {
    let r = sqlx::query(queries::SETTINGS).fetch_one(&mut *conn).await?;
    Ok(Settings {
        version: r.try_get(0)?,
        version_num: r.try_get(1)?,
        max_connections: r.try_get(2)?,
        reserved: r.try_get::<i64, _>(3)? + r.try_get::<i64, _>(4)?,
        connected_as: r.try_get(5)?,
        reads_all_stats: r.try_get(6)?,
        has_statements: r.try_get(7)?,
    })
}

/// Reads the heavy figures that are due. A failure there (a database dropped mid-query, a
/// statement timeout) keeps the previous value and becomes a hint, not a failed poll.
async fn slow_figures(
    conn: &mut PgConnection,
    prev: &mut Previous,
    st: &Settings,
    in_recovery: bool,
    now: Instant,
    every: Duration,
) {
    // Of the heavy reads due, statements first, then a share of sizes, then index advice.
    if st.has_statements && prev.statements.due(now, every) && prev.heavy.claim() {
        let r = prev
            .tracker
            .read(conn, &mut prev.names, st.version_num, now, every)
            .await;
        prev.statements.set(now, r.map_err(text));
    }
    sizes_share(conn, prev, now, every * 2).await;
    if prev.wraparound.due(now, every) {
        let r = wraparound(conn).await;
        prev.wraparound.set(now, r.map_err(text));
    }
    if prev.slots.due(now, every) {
        let r = slots(conn, st.version_num, in_recovery).await;
        prev.slots.set(now, r.map_err(text));
    }
    if prev.maintenance.due(now, every) {
        let r = maintenance(conn).await;
        prev.maintenance.set(now, r.map_err(text));
    }
    if prev.roles.due(now, every) {
        let r = roles(conn).await;
        prev.roles.set(now, r.map_err(text));
    }
}

/// Copies the slow figures, their ages and their errors into the sample.
fn fill_slow(s: &mut PgSample, prev: &Previous, st: &Settings, now: Instant) {
    if st.has_statements {
        (s.statements, s.statements_info) = prev.statements.value.clone();
        if let Some(e) = &prev.statements.error {
            s.hints.push(format!("pg_stat_statements unreadable: {e}"));
        }
    } else {
        s.hints.push(
            "top statements: pg_stat_statements is not installed in this database \
             (shared_preload_libraries = 'pg_stat_statements', then CREATE EXTENSION \
             pg_stat_statements)"
                .into(),
        );
    }
    let (dead, seq, unused) = prev.maintenance.value.clone();
    s.maintenance = Maintenance {
        dead_tuples: dead,
        seq_scan_heavy: seq,
        unused_indexes: unused,
        databases: prev
            .wraparound
            .value
            .iter()
            .map(|(db, xid, mxid, allow)| DbHealth {
                database: db.clone(),
                size_bytes: prev.sizes.value.get(db).copied(),
                xid_age: *xid,
                mxid_age: *mxid,
                xid_wraparound_ratio: *xid as f64 / WRAPAROUND_LIMIT,
                mxid_wraparound_ratio: *mxid as f64 / WRAPAROUND_LIMIT,
                allows_connections: *allow,
            })
            .collect(),
    };
    s.slots = prev.slots.value.clone();
    // From the counts: the listed sessions may be a part of them.
    let per_role: HashMap<&str, i64> = s
        .connections
        .by_role
        .iter()
        .map(|(role, states)| (role.as_str(), states.values().sum()))
        .collect();
    s.roles = prev
        .roles
        .value
        .iter()
        .map(|(role, limit)| RoleLimit {
            role: role.clone(),
            connection_limit: *limit,
            connections: per_role.get(role.as_str()).copied().unwrap_or(0),
        })
        .collect();
    s.roles
        .sort_by(|a, b| b.connections.cmp(&a.connections).then(a.role.cmp(&b.role)));
    for (what, e) in [
        ("wraparound ages", &prev.wraparound.error),
        ("database sizes", &prev.sizes.error),
        ("replication slots", &prev.slots.error),
        ("maintenance statistics", &prev.maintenance.error),
        ("role limits", &prev.roles.error),
    ] {
        if let Some(e) = e {
            s.hints
                .push(format!("{what} unavailable (kept from the last read): {e}"));
        }
    }
    s.ages = FigureAges {
        settings: prev.settings.age(now),
        statements: prev.statements.age(now).filter(|_| st.has_statements),
        sizes: prev.sizes.age(now),
        wraparound: prev.wraparound.age(now),
        slots: prev.slots.age(now),
        maintenance: prev.maintenance.age(now),
        roles: prev.roles.age(now),
        indexes: None,
    };
}

async fn wraparound(conn: &mut PgConnection) -> Result<Ages, E> {
    sqlx::query(queries::WRAPAROUND)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect()
}

/// Polls a round of database sizes is spread over: one poll reading all 200 databases of a
/// big server took 0.6 s more than the others; a tenth of them each is ~60 ms.
pub const SIZE_SHARES: usize = 10;

#[derive(Debug, Default)]
struct SizeRound {
    left: Vec<String>,
    per_poll: usize,
    read: HashMap<String, i64>,
}

impl SizeRound {
    /// Starts a round over `names`, SIZE_SHARES polls long at most.
    fn start(&mut self, names: Vec<String>) {
        self.per_poll = names.len().div_ceil(SIZE_SHARES).max(1);
        self.left = names;
        self.read.clear();
    }

    /// The databases of this poll's share (none when no round is under way).
    fn share(&mut self) -> Vec<String> {
        let n = self.per_poll.min(self.left.len());
        self.left.drain(..n).collect()
    }
}

/// Database sizes: all at once the first time (the pane has them at once), then every
/// `every` a round reading a share of the databases on each poll, so no single poll pays
/// for all of them. Sizes read mid-round show at once; the round's end sets their age.
/// The heaviest figure by far (it stats every file of every database: ~0.6 s with 200
/// databases and 20k relations): every other slow interval, in shares over polls.
async fn sizes_share(conn: &mut PgConnection, prev: &mut Previous, now: Instant, every: Duration) {
    let round = &mut prev.size_round;
    let starting = round.left.is_empty() && prev.sizes.due(now, every);
    if !starting && round.left.is_empty() {
        return;
    }
    // A share waits a poll when another heavy read had this one.
    if !prev.heavy.claim() {
        return;
    }
    if starting {
        if prev.sizes.at.is_none() {
            let r = sizes(conn, queries::DATABASE_SIZES, None).await;
            prev.sizes.set(now, r.map_err(text));
            return;
        }
        let names = sqlx::query_scalar::<_, String>(queries::SIZED_DATABASES)
            .fetch_all(&mut *conn)
            .await;
        match names {
            Ok(names) if names.is_empty() => prev.sizes.set(now, Ok(HashMap::new())),
            Ok(names) => round.start(names),
            Err(e) => prev.sizes.set(now, Err(text(e))),
        }
    }
    let share = round.share();
    if share.is_empty() {
        return;
    }
    match sizes(conn, queries::DATABASE_SIZES_OF, Some(share)).await {
        Ok(got) => {
            prev.sizes
                .value
                .extend(got.iter().map(|(k, v)| (k.clone(), *v)));
            round.read.extend(got);
            if round.left.is_empty() {
                prev.sizes.set(now, Ok(std::mem::take(&mut round.read)));
            }
        }
        Err(e) => {
            // The round is given up; the next starts after a full interval.
            round.left.clear();
            prev.sizes.set(now, Err(text(e)));
        }
    }
}

async fn sizes(
    conn: &mut PgConnection,
    sql: &'static str,
    names: Option<Vec<String>>,
) -> Result<HashMap<String, i64>, E> {
    let mut q = sqlx::query(sql);
    if let Some(names) = names {
        q = q.bind(names);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

async fn roles(conn: &mut PgConnection) -> Result<Vec<(String, i32)>, E> {
    sqlx::query(queries::ROLES)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

async fn slots(
    conn: &mut PgConnection,
    version_num: i32,
    in_recovery: bool,
) -> Result<Vec<Slot>, E> {
    sqlx::query(sqlx::AssertSqlSafe(queries::slots(
        version_num,
        in_recovery,
    )))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Slot {
            name: r.try_get(0)?,
            slot_type: r.try_get(1)?,
            database: r.try_get(2)?,
            plugin: r.try_get(3)?,
            active: r.try_get(4)?,
            active_pid: r.try_get(5)?,
            temporary: r.try_get(6)?,
            wal_status: r.try_get(7)?,
            retained_bytes: r.try_get(8)?,
            safe_wal_size: r.try_get(9)?,
            inactive_seconds: r.try_get(10)?,
        })
    })
    .collect()
}

async fn maintenance(conn: &mut PgConnection) -> Result<Tables, E> {
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
    Ok((dead_tuples, seq_scan_heavy, unused_indexes))
}

/// The sessions read in full, longest running first, and the counts of all of them (see
/// `queries::ACTIVITY`).
fn sessions(rows: &[PgRow], names: &Names) -> Result<(Vec<Session>, Connections), E> {
    let mut listed: Vec<Session> = Vec::new();
    let mut c = Connections::default();
    for r in rows {
        let Some(full) = r.try_get::<Option<bool>, _>(0)? else {
            continue; // the vital figures' row
        };
        if full {
            // A session both required and in the top rows comes once.
            let s = session(r, names)?;
            if !listed.iter().any(|x| x.pid == s.pid) {
                listed.push(s);
            }
        } else {
            let text = |i: usize| r.try_get::<String, _>(i);
            c.add(
                names.database(r.try_get(2)?),
                names.role(r.try_get(3)?),
                &text(4)?,
                &text(5)?,
                &text(6)?,
                r.try_get(14)?,
            );
        }
    }
    listed.sort_by(|a, b| {
        b.query_seconds
            .unwrap_or(-1.0)
            .total_cmp(&a.query_seconds.unwrap_or(-1.0))
            .then(a.pid.cmp(&b.pid))
    });
    Ok((listed, c))
}

fn session(r: &PgRow, names: &Names) -> Result<Session, E> {
    Ok(Session {
        pid: r.try_get(1)?,
        database: names.database(r.try_get(2)?).to_string(),
        user: names.role(r.try_get(3)?).to_string(),
        application: r.try_get(4)?,
        client: r.try_get(5)?,
        state: r.try_get(6)?,
        wait_event: r.try_get(7)?,
        xact_seconds: r.try_get(8)?,
        query_seconds: r.try_get(9)?,
        state_seconds: r.try_get(10)?,
        query: r.try_get(11)?,
        own: r.try_get::<Option<bool>, _>(12)?.unwrap_or(false),
        backend_start: r.try_get(13)?,
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

    #[test]
    fn a_round_of_sizes_reads_every_database_once_in_at_most_ten_shares() {
        for (count, per_poll, polls) in [(200, 20, 10), (25, 3, 9), (5, 1, 5), (1, 1, 1)] {
            let names: Vec<String> = (0..count).map(|i| format!("db_{i}")).collect();
            let mut round = SizeRound::default();
            round.start(names.clone());
            let mut seen = Vec::new();
            let mut shares = 0;
            loop {
                let share = round.share();
                if share.is_empty() {
                    break;
                }
                assert!(share.len() <= per_poll, "{count}: {share:?}");
                shares += 1;
                seen.extend(share);
            }
            assert_eq!((shares, seen), (polls, names), "{count} databases");
        }
        assert!(SizeRound::default().share().is_empty());
    }
}
