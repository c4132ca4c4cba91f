//! What the exporter serves for Redis beyond the rule metrics: memory against maxmemory in
//! bytes, evictions as a counter, each node's role, and the failovers the poller noticed.

use super::model::RedisSample;
use crate::series::{Family, Series};

pub const USED_MEMORY: Family = Family::gauge(
    "opsdeck_redis_used_memory_bytes",
    "used_memory of each node",
    &["source", "node"],
);
pub const MAXMEMORY: Family = Family::gauge(
    "opsdeck_redis_maxmemory_bytes",
    "maxmemory of each node (0: no limit)",
    &["source", "node"],
);
pub const EVICTED: Family = Family::counter(
    "opsdeck_redis_evicted_keys_total",
    "keys evicted by each node since it started (INFO evicted_keys)",
    &["source", "node"],
);
pub const ROLE: Family = Family::gauge(
    "opsdeck_redis_node_role",
    "1 for each answering node's role (master or slave, as Redis says)",
    &["source", "node", "role"],
);
pub const FAILOVERS: Family = Family::occurrence(
    "opsdeck_redis_failovers_total",
    "master changes the exporter saw (Sentinel: a new master address; Cluster: a promotion) since it started",
    &["source"],
);
pub const LAST_FAILOVER: Family = Family::gauge(
    "opsdeck_redis_last_failover_timestamp_seconds",
    "Unix time the exporter noticed the last master change",
    &["source"],
);

pub const SERIES: &[Family] = &[
    USED_MEMORY,
    MAXMEMORY,
    EVICTED,
    ROLE,
    FAILOVERS,
    LAST_FAILOVER,
];

pub fn series(r: &RedisSample, source: &str) -> Vec<Series> {
    let mut out = Vec::new();
    for n in r.nodes.iter().filter(|n| n.error.is_none()) {
        out.push(USED_MEMORY.at(&[source, &n.addr], n.used_memory as f64));
        out.push(MAXMEMORY.at(&[source, &n.addr], n.maxmemory as f64));
        out.push(EVICTED.at(&[source, &n.addr], n.evicted_keys as f64));
        if !n.role.is_empty() {
            out.push(ROLE.at(&[source, &n.addr, &n.role], 1.0));
        }
    }
    if let Some(f) = &r.last_failover {
        out.push(FAILOVERS.at(&[source], f.at as f64));
        out.push(LAST_FAILOVER.at(&[source], f.at as f64));
    }
    out
}
