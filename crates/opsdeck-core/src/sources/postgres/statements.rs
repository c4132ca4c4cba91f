//! pg_stat_statements as deltas between two snapshots of the whole view (every entry, not
//! an all-time top list), so a query that turns hot shows within one slow interval even
//! when thousands of older statements have more total time. Texts are read only for the
//! statements about to be shown and not seen before. Pure except for `Tracker::read`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use sqlx::Row as _;
use sqlx::postgres::PgConnection;

use super::model::{Statement, StatementsInfo};
use super::names::Names;
use super::queries;

/// (userid, dbid, queryid); queryid is None for other roles' statements (hidden).
pub type Key = (i64, i64, Option<i64>);

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    pub calls: i64,
    pub total_ms: f64,
    pub rows: i64,
}

pub type Snapshot = HashMap<Key, Counters>;

/// One statement to show: its counters now and what changed since the previous snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub key: Key,
    pub now: Counters,
    /// None on the first snapshot.
    pub delta: Option<Counters>,
}

/// What a statement did between two snapshots. A statement absent before is new (or was
/// evicted and came back): everything it counts happened since. A counter that went
/// backwards (a reset, an eviction and return) counts from zero.
pub fn delta(before: Option<&Counters>, now: &Counters) -> Counters {
    match before {
        Some(b) if now.calls >= b.calls && now.total_ms >= b.total_ms => Counters {
            calls: now.calls - b.calls,
            total_ms: now.total_ms - b.total_ms,
            rows: (now.rows - b.rows).max(0),
        },
        _ => *now,
    }
}

/// The `limit` statements to show: those busy since `prev` by time spent (then calls),
/// then the rest by total time; on the first snapshot, by total time.
pub fn rank(prev: Option<&Snapshot>, now: &Snapshot, limit: usize) -> Vec<Ranked> {
    let by_total = |a: &Ranked, b: &Ranked| {
        b.now
            .total_ms
            .total_cmp(&a.now.total_ms)
            .then(a.key.cmp(&b.key))
    };
    let mut all: Vec<Ranked> = now
        .iter()
        .map(|(k, c)| Ranked {
            key: *k,
            now: *c,
            delta: prev.map(|p| delta(p.get(k), c)),
        })
        .collect();
    let Some(_) = prev else {
        all.sort_by(by_total);
        all.truncate(limit);
        return all;
    };
    let busy = |r: &Ranked| r.delta.is_some_and(|d| d.calls > 0 || d.total_ms > 0.0);
    let (mut hot, mut rest): (Vec<Ranked>, Vec<Ranked>) = all.into_iter().partition(busy);
    hot.sort_by(|a, b| {
        let (da, db) = (a.delta.unwrap_or_default(), b.delta.unwrap_or_default());
        db.total_ms
            .total_cmp(&da.total_ms)
            .then(db.calls.cmp(&da.calls))
            .then(a.key.cmp(&b.key))
    });
    hot.truncate(limit);
    if hot.len() < limit {
        rest.sort_by(by_total);
        rest.truncate(limit - hot.len());
        hot.extend(rest);
    }
    hot
}

/// The snapshots and texts kept between reads (names come from the sessions' `Names`).
#[derive(Debug, Default)]
pub struct Tracker {
    snapshot: Option<(Instant, Snapshot)>,
    texts: HashMap<Key, String>,
    dealloc: Option<i64>,
}

/// Rows shown in the Statements tab.
pub const SHOWN: usize = 200;

impl Tracker {
    /// Reads a snapshot and returns the statements to show with the read's bookkeeping;
    /// `names` (shared with the sessions, see `Names::refresh`) names their database and role.
    pub async fn read(
        &mut self,
        conn: &mut PgConnection,
        names: &mut Names,
        version_num: i32,
        now: Instant,
        every: Duration,
    ) -> Result<(Vec<Statement>, StatementsInfo), sqlx::Error> {
        let rows = sqlx::query(queries::statements_snapshot(version_num))
            .fetch_all(&mut *conn)
            .await?;
        let mut snap = Snapshot::with_capacity(rows.len());
        for r in &rows {
            let key: Key = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            snap.insert(
                key,
                Counters {
                    calls: r.try_get(3)?,
                    total_ms: r.try_get(4)?,
                    rows: r.try_get(5)?,
                },
            );
        }
        // pg_stat_statements_info appeared with PG 14 (extension 1.9): without it, no count.
        let dealloc = if version_num >= 140000 {
            sqlx::query_scalar::<_, i64>(queries::STATEMENTS_DEALLOC)
                .fetch_one(&mut *conn)
                .await
                .ok()
        } else {
            None
        };
        let ranked = rank(self.snapshot.as_ref().map(|(_, s)| s), &snap, SHOWN);
        let dbs = ranked.iter().map(|r| r.key.1);
        names
            .refresh(conn, dbs, ranked.iter().map(|r| r.key.0), now, every)
            .await?;
        let missing: Vec<i64> = ranked
            .iter()
            .filter(|r| !self.texts.contains_key(&r.key))
            .filter_map(|r| r.key.2)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            for r in sqlx::query(queries::STATEMENT_TEXTS)
                .bind(&missing)
                .fetch_all(&mut *conn)
                .await?
            {
                let key: Key = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                self.texts.insert(key, r.try_get(3)?);
            }
        }
        // Texts of evicted statements are not needed again.
        self.texts.retain(|k, _| snap.contains_key(k));

        let secs = self
            .snapshot
            .as_ref()
            .map(|(at, _)| now.duration_since(*at).as_secs_f64())
            .filter(|s| *s > 0.0);
        let evicted = match (self.dealloc, dealloc) {
            (Some(before), Some(after)) if after >= before => after - before,
            _ => 0,
        };
        let info = StatementsInfo {
            interval_seconds: secs,
            entries: snap.len(),
            dealloc,
            evicted,
        };
        let out = ranked
            .iter()
            .map(|r| self.statement(r, secs, names))
            .collect::<Vec<_>>();
        self.snapshot = Some((now, snap));
        self.dealloc = dealloc;
        Ok((out, info))
    }

    fn statement(&self, r: &Ranked, secs: Option<f64>, names: &Names) -> Statement {
        let name = |n: &str, oid: i64| match n {
            "" => format!("oid {oid}"),
            n => n.to_string(),
        };
        let per = |v: f64| secs.map(|s| v / s);
        let hidden = r.key.2.is_none();
        Statement {
            queryid: r.key.2.unwrap_or(0),
            database: name(names.database(r.key.1), r.key.1),
            user: name(names.role(r.key.0), r.key.0),
            calls: r.now.calls,
            total_ms: r.now.total_ms,
            mean_ms: if r.now.calls > 0 {
                r.now.total_ms / r.now.calls as f64
            } else {
                0.0
            },
            rows: r.now.rows,
            calls_per_second: r.delta.and_then(|d| per(d.calls as f64)),
            ms_per_second: r.delta.and_then(|d| per(d.total_ms)),
            query: if hidden {
                "<insufficient privilege>".into()
            } else {
                self.texts.get(&r.key).cloned().unwrap_or_default()
            },
            hidden,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(calls: i64, total_ms: f64) -> Counters {
        Counters {
            calls,
            total_ms,
            rows: calls,
        }
    }

    #[test]
    fn a_new_hot_query_outranks_old_heavy_ones() {
        // 300 old statements with far more total time than the new one, all idle since.
        let mut before: Snapshot = (0..300).map(|i| ((1, 1, Some(i)), c(10, 1e6))).collect();
        let mut now = before.clone();
        now.insert((1, 1, Some(999)), c(50, 20.0));
        let top = rank(Some(&before), &now, 200);
        assert_eq!(top[0].key, (1, 1, Some(999)));
        assert_eq!(top[0].delta, Some(c(50, 20.0)));
        assert_eq!(top.len(), 200);
        // An all-time top list would not have it at all.
        let first = rank(None, &now, 200);
        assert!(first.iter().all(|r| r.key.2 != Some(999)));
        // Busier in the interval ranks first, whatever the totals.
        before.insert((1, 1, Some(999)), c(50, 20.0));
        now.insert((1, 1, Some(999)), c(60, 25.0));
        now.insert((1, 1, Some(7)), c(11, 1e6 + 100.0));
        let top = rank(Some(&before), &now, 200);
        assert_eq!(top[0].key, (1, 1, Some(7)));
        assert_eq!(top[1].key, (1, 1, Some(999)));
        assert_eq!(top[1].delta, Some(c(10, 5.0)));
    }

    #[test]
    fn counters_that_went_back_count_from_zero() {
        assert_eq!(delta(Some(&c(100, 50.0)), &c(3, 1.0)), c(3, 1.0));
        assert_eq!(delta(None, &c(3, 1.0)), c(3, 1.0));
        assert_eq!(delta(Some(&c(3, 1.0)), &c(3, 1.0)), c(0, 0.0));
    }
}
