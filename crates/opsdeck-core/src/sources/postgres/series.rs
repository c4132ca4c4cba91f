//! What the exporter serves for PostgreSQL beyond the rule metrics: sessions by state
//! against the usable slots, the blocking tree in two numbers and its longest wait, lag per
//! standby and the WAL each slot retains.

use super::PgSample;
use crate::series::{Family, Series};

pub const SESSIONS: Family = Family::gauge(
    "opsdeck_postgres_sessions",
    "client sessions by state (active, idle, idle in transaction, waiting on a lock, …)",
    &["source", "state"],
);
pub const USABLE: Family = Family::gauge(
    "opsdeck_postgres_usable_connections",
    "connection slots applications can use: max_connections minus the reserved ones",
    &["source"],
);
pub const MAX: Family = Family::gauge(
    "opsdeck_postgres_max_connections",
    "max_connections",
    &["source"],
);
pub const BLOCKING: Family = Family::gauge(
    "opsdeck_postgres_blocking_sessions",
    "root blockers: sessions that hold a lock others wait for and wait for nothing themselves",
    &["source"],
);
pub const BLOCKED: Family = Family::gauge(
    "opsdeck_postgres_blocked_sessions",
    "sessions waiting for a lock another session holds",
    &["source"],
);
pub const LONGEST_WAIT: Family = Family::gauge(
    "opsdeck_postgres_lock_wait_longest_seconds",
    "the longest lock wait now (0 when nobody waits)",
    &["source"],
);
pub const STANDBY_LAG: Family = Family::gauge(
    "opsdeck_postgres_standby_replay_lag_seconds",
    "replay lag of each standby, on the primary (standbys the role may not read are left out)",
    &["source", "standby"],
);
pub const STANDBY_LAG_BYTES: Family = Family::gauge(
    "opsdeck_postgres_standby_replay_lag_bytes",
    "WAL each standby has not replayed, on the primary",
    &["source", "standby"],
);
pub const SLOT_RETAINED: Family = Family::gauge(
    "opsdeck_postgres_slot_retained_bytes",
    "WAL each replication slot holds back (active or not)",
    &["source", "slot", "slot_type", "active"],
);
pub const IN_RECOVERY: Family = Family::gauge(
    "opsdeck_postgres_in_recovery",
    "1 on a standby, 0 on a primary",
    &["source"],
);

pub const SERIES: &[Family] = &[
    SESSIONS,
    USABLE,
    MAX,
    BLOCKING,
    BLOCKED,
    LONGEST_WAIT,
    STANDBY_LAG,
    STANDBY_LAG_BYTES,
    SLOT_RETAINED,
    IN_RECOVERY,
];

pub fn series(p: &PgSample, source: &str) -> Vec<Series> {
    let mut out = vec![
        USABLE.at(&[source], p.usable_connections as f64),
        MAX.at(&[source], p.max_connections as f64),
        IN_RECOVERY.at(&[source], if p.in_recovery { 1.0 } else { 0.0 }),
    ];
    for (state, n) in &p.connections.by_state {
        out.push(SESSIONS.at(&[source, state], *n as f64));
    }
    let roots = p.locks.iter().filter(|n| n.depth == 0).count();
    let waiting = p.locks.iter().filter(|n| n.depth > 0).count();
    let longest = p
        .locks
        .iter()
        .map(|n| n.longest_wait_seconds)
        .fold(0.0, f64::max);
    out.push(BLOCKING.at(&[source], roots as f64));
    out.push(BLOCKED.at(&[source], waiting as f64));
    out.push(LONGEST_WAIT.at(&[source], longest));
    for st in p.replication.standbys.iter().filter(|s| !s.hidden) {
        if let Some(s) = st.replay_lag_seconds {
            out.push(STANDBY_LAG.at(&[source, &st.application], s));
        }
        out.push(STANDBY_LAG_BYTES.at(&[source, &st.application], st.replay_lag_bytes as f64));
    }
    for sl in &p.slots {
        if let Some(b) = sl.retained_bytes {
            let active = if sl.active { "true" } else { "false" };
            out.push(SLOT_RETAINED.at(&[source, &sl.name, &sl.slot_type, active], b as f64));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::postgres::model::LockNode;

    #[test]
    fn blocking_tree_in_numbers() {
        let node = |pid, depth, wait| LockNode {
            pid,
            depth,
            longest_wait_seconds: wait,
            ..Default::default()
        };
        let p = PgSample {
            locks: vec![node(1, 0, 12.0), node(2, 1, 12.0), node(3, 1, 4.0)],
            ..Default::default()
        };
        let s = series(&p, "db");
        let get = |f: &Family| s.iter().find(|x| x.name == f.name).map(|x| x.value);
        assert_eq!(get(&BLOCKING), Some(1.0));
        assert_eq!(get(&BLOCKED), Some(2.0));
        assert_eq!(get(&LONGEST_WAIT), Some(12.0));
    }
}
