//! Redis as a monitored system: its metrics and built-in rules, its verbs, and the glue from
//! the `System` contract to the poller, the pane model and the operations.

use chrono::{DateTime, Utc};

use super::{RedisOp, RedisPoller, RedisSample, RedisSpec, Tab};
use crate::keymap::Action;
use crate::metrics::Severity::{Critical, Warning};
use crate::metrics::{Builtin, Cause, Cmp, Metric, Point, Unit, flag};
use crate::secrets::{SecretSpec, redact_urls};
use crate::series::{Family, Limits, Series};
use crate::sources::system::FleetFigure;
use crate::sources::system::{At, Entries, Planning, Problem, System, ready};
use crate::timeline::TimelineEvent;
use crate::views::{Detail, Pane, PaneModel};

pub struct Redis;

const METRICS: &[Metric] = &[
    Metric::new(
        "redis.memory_ratio",
        Unit::Ratio,
        "used_memory over maxmemory per node (nodes without maxmemory skipped)",
    ),
    Metric::new(
        "redis.evicted_per_sec",
        Unit::Rate,
        "evicted keys per second per node",
    ),
    Metric::new(
        "redis.connected_clients",
        Unit::Count,
        "connected clients per node",
    ),
    Metric::new(
        "redis.replica_link_down",
        Unit::Flag,
        "1 per replica whose replication link is down",
    )
    .kept_when_gone(),
    Metric::new(
        "redis.failover_recent",
        Unit::Flag,
        "1 while a failover happened recently",
    ),
    Metric::new(
        "redis.master_down",
        Unit::Flag,
        "1 while a Sentinel-managed master cannot take writes (its sentinels flag it s_down, o_down or disconnected, or it does not answer)",
    ),
    Metric::new(
        "redis.cluster_failed",
        Unit::Flag,
        "1 while a Cluster says cluster_state:fail",
    ),
    Metric::new(
        "redis.cluster_slots_uncovered",
        Unit::Count,
        "hash slots no reachable master serves (writes to them fail)",
    ),
    Metric::new(
        "redis.node_down",
        Unit::Flag,
        "1 per node of a Sentinel set or Cluster that does not answer",
    )
    .kept_when_gone(),
    Metric::new(
        "redis.sentinel_peer_down",
        Unit::Flag,
        "1 per replica or sentinel that the sentinels flag s_down or o_down",
    )
    .kept_when_gone(),
    Metric::new(
        "redis.replica_lag_bytes",
        Unit::Bytes,
        "replication offset a replica is behind its master",
    )
    .kept_when_gone(),
    Metric::new(
        "redis.memory_full_seconds",
        Unit::Seconds,
        "time until each node's used_memory reaches maxmemory (the system's memory when maxmemory is 0) at its recent rate",
    ),
];

const BUILTINS: &[Builtin] = &[
    Builtin::new(
        "redis_memory",
        "redis.memory_ratio",
        Cmp::Ge,
        0.9,
        0,
        Warning,
        "memory of maxmemory",
        "Find big keys (redis-cli --bigkeys), check TTLs and the eviction policy, or raise maxmemory.",
    ),
    Builtin::new(
        "redis_evictions",
        "redis.evicted_per_sec",
        Cmp::Gt,
        0.0,
        0,
        Warning,
        "evicting keys",
        "Redis is at maxmemory and evicting: raise maxmemory or reduce the data set.",
    ),
    Builtin::new(
        "redis_replica_link_down",
        "redis.replica_link_down",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "link down",
        "Check the replica process and the network between it and its master.",
    ),
    Builtin::new(
        "redis_master_down",
        "redis.master_down",
        Cmp::Ge,
        1.0,
        0,
        Critical,
        "master down: writes fail",
        "The sentinels see the master down. If no replica is promoted within the failover timeout, check the replicas (Nodes tab) and SENTINEL CKQUORUM; bring the master back or fail over by hand ({key:failover}).",
    ),
    Builtin::new(
        "redis_cluster_failed",
        "redis.cluster_failed",
        Cmp::Ge,
        1.0,
        0,
        Critical,
        "cluster_state:fail",
        "The cluster refuses commands: a master is down with no replica promoted, or slots are unassigned. See the Cluster and Shards tabs.",
    ),
    Builtin::new(
        "redis_slots_uncovered",
        "redis.cluster_slots_uncovered",
        Cmp::Gt,
        0.0,
        0,
        Critical,
        "slots not served",
        "Writes to these slots fail: bring their master back, promote its replica, or reassign the slots.",
    ),
    Builtin::new(
        "redis_node_down",
        "redis.node_down",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "does not answer",
        "A node of the set is down: redundancy is reduced until it is back. Check its process and host.",
    ),
    Builtin::new(
        "redis_sentinel_peer_down",
        "redis.sentinel_peer_down",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "flagged down by the sentinels",
        "A replica or sentinel is down: failover may not be possible (quorum, no replica to promote).",
    ),
    Builtin::new(
        "redis_replica_lag",
        "redis.replica_lag_bytes",
        Cmp::Ge,
        16.0 * 1024.0 * 1024.0,
        60,
        Warning,
        "replica behind",
        "The replica falls behind its master: check its network and load; a failover now would lose writes.",
    ),
    Builtin::new(
        "redis_memory_full_soon",
        "redis.memory_full_seconds",
        Cmp::Lt,
        crate::capacity::SOON_SECS,
        600,
        Warning,
        "memory full in",
        "At its recent growth the node reaches maxmemory within a day: then it evicts (allkeys/volatile policies) or refuses writes (noeviction); with maxmemory 0 the machine runs out of memory. See the Policy tab's eviction advice, find big keys, or raise maxmemory.",
    ),
    Builtin::new(
        "redis_failover",
        "redis.failover_recent",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "failover",
        "Check why the old master went away, and that clients follow the new one.",
    ),
];

impl System for Redis {
    const LABEL: &'static str = "redis";
    const PANE: Pane = Pane::Redis;
    const METRICS: &'static [Metric] = METRICS;
    const BUILTINS: &'static [Builtin] = BUILTINS;
    const FLEET: &'static [FleetFigure] = &[FleetFigure::Highest {
        metrics: &["redis.memory_ratio"],
        label: "mem",
    }];
    const FLEET_NONE: &'static str = "no maxmemory";
    const VERBS: &'static [Action] = &[
        Action::Bgsave,
        Action::Bgrewriteaof,
        Action::Failover,
        Action::SetPolicy,
        Action::Terminate,
    ];
    const SERIES: &'static [Family] = super::series::SERIES;

    type Entries = Vec<RedisSpec>;
    type Spec = RedisSpec;
    type Sample = RedisSample;
    type Op = RedisOp;
    type Poller = RedisPoller;

    fn instances(entries: &Vec<RedisSpec>) -> &[RedisSpec] {
        entries
    }
    fn local() -> Vec<RedisSpec> {
        vec![RedisSpec {
            name: "local".into(),
            url: Some("redis://127.0.0.1:6379".into()),
            ..Default::default()
        }]
    }
    fn inline_secret(spec: &RedisSpec) -> bool {
        spec.password.is_some() || spec.url.as_deref().is_some_and(|u| redact_urls(u) != u)
    }
    fn name(spec: &RedisSpec) -> &str {
        &spec.name
    }
    fn secret(spec: &RedisSpec) -> SecretSpec {
        spec.secret()
    }
    fn target(s: &RedisSpec) -> String {
        let t = s
            .url
            .clone()
            .or_else(|| {
                (!s.sentinels.is_empty()).then(|| format!("sentinel {}", s.sentinels.join(",")))
            })
            .unwrap_or_else(|| s.cluster.join(","));
        redact_urls(&t)
    }
    fn validate(r: &RedisSpec, _ctx: &dyn Entries) -> Vec<Problem> {
        let mut out = Vec::new();
        let modes = [
            r.url.is_some(),
            !r.sentinels.is_empty(),
            !r.cluster.is_empty(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if modes != 1 {
            out.push(Problem::new(
                &r.name,
                format!(
                    "redis {}: set exactly one of url, sentinels (with master) or cluster",
                    r.name
                ),
                "url = \"redis://host:6379\" | sentinels = [\"host:26379\"], master = \"mymaster\" | cluster = [\"host:7000\"]",
            ));
        }
        if !r.sentinels.is_empty() && r.master.is_none() {
            out.push(Problem::new(
                &r.name,
                format!("redis {}: sentinels needs master", r.name),
                "master = \"mymaster\"",
            ));
        }
        out
    }
    fn poller(spec: RedisSpec, ctx: &dyn Entries) -> RedisPoller {
        RedisPoller::new(spec).with_capacity(ctx.capacity())
    }

    fn model(sample: &RedisSample) -> PaneModel {
        sample.model()
    }
    fn detail(sample: &RedisSample, table: usize, key: &str) -> Option<Detail> {
        sample.detail(table, key)
    }
    fn events(
        prev: Option<&RedisSample>,
        next: &RedisSample,
        now: DateTime<Utc>,
    ) -> Vec<TimelineEvent> {
        super::events::diff(prev, next, now)
    }

    fn subject_label(metric: &str) -> &'static str {
        match metric {
            "redis.master_down" => "master",
            "redis.sentinel_peer_down" => "peer",
            _ => "node",
        }
    }
    fn series(r: &RedisSample, source: &str, limits: &Limits) -> Vec<Series> {
        let mut out = crate::sources::system::rule_series::<Self>(r, source, limits);
        out.extend(super::series::series(r, source));
        out
    }

    fn measure(r: &RedisSample, metric: &str, source: &str) -> Vec<Point> {
        let mut out = Vec::new();
        match metric {
            "redis.memory_ratio" | "redis.evicted_per_sec" | "redis.connected_clients" => {
                for n in r.nodes.iter().filter(|n| n.error.is_none()) {
                    let v = match metric {
                        "redis.memory_ratio" => n.memory_ratio(),
                        "redis.evicted_per_sec" => n.evicted_per_sec,
                        _ => Some(n.connected_clients as f64),
                    };
                    if let Some(v) = v {
                        out.push(Point::new(
                            n.addr.clone(),
                            format!("node {}", n.addr),
                            v,
                            "",
                            Cause::new("Nodes", &n.addr),
                        ));
                    }
                }
            }
            "redis.replica_link_down" => {
                for (replica, why) in r.links_down() {
                    out.push(Point::new(
                        replica.clone(),
                        format!("replica {replica}"),
                        1.0,
                        why,
                        Cause::new("Nodes", &replica),
                    ));
                }
            }
            "redis.master_down" => {
                if let Some(sv) = &r.sentinel {
                    let flags = &sv.master_flags;
                    let master_row_down = r
                        .nodes
                        .iter()
                        .any(|n| n.addr == sv.master_addr && n.error.is_some());
                    let down = flags.contains("s_down")
                        || flags.contains("o_down")
                        || flags.contains("disconnected")
                        || master_row_down;
                    out.push(Point::new(
                        sv.master_name.clone(),
                        format!("master {} ({})", sv.master_name, sv.master_addr),
                        flag(down),
                        format!("sentinels say {flags}"),
                        Cause::new("Sentinel", &format!("master:{}", sv.master_name)),
                    ));
                }
            }
            "redis.cluster_failed" | "redis.cluster_slots_uncovered" => {
                if let Some(c) = &r.cluster {
                    let v = if metric == "redis.cluster_failed" {
                        flag(c.state != "ok")
                    } else {
                        f64::from(16384u32.saturating_sub(c.slots_covered))
                    };
                    out.push(Point::new(
                        "",
                        format!("cluster {source}"),
                        v,
                        format!(
                            "cluster_state:{}, {} of 16384 slots served",
                            c.state, c.slots_covered
                        ),
                        Cause::new("Cluster", ""),
                    ));
                }
            }
            "redis.node_down" if r.sentinel.is_some() || r.cluster.is_some() => {
                for n in &r.nodes {
                    out.push(Point::new(
                        n.addr.clone(),
                        format!("node {}", n.addr),
                        flag(n.error.is_some()),
                        n.error.clone().unwrap_or_default(),
                        Cause::new("Nodes", &n.addr),
                    ));
                }
            }
            "redis.sentinel_peer_down" => {
                if let Some(sv) = &r.sentinel {
                    let peers = sv
                        .replicas
                        .iter()
                        .map(|p| ("replica", p))
                        .chain(sv.sentinels.iter().map(|p| ("sentinel", p)));
                    for (what, p) in peers {
                        out.push(Point::new(
                            p.addr.clone(),
                            format!("{what} {}", p.addr),
                            flag(p.is_down()),
                            format!("flags {}", p.flags),
                            Cause::new("Sentinel", &format!("{what}:{}", p.addr)),
                        ));
                    }
                }
            }
            "redis.replica_lag_bytes" => {
                for n in r.nodes.iter().filter(|n| n.error.is_none()) {
                    for l in &n.replication.replicas {
                        out.push(Point::new(
                            l.addr.clone(),
                            format!("replica {}", l.addr),
                            l.lag_bytes.max(0) as f64,
                            format!("of master {}", n.addr),
                            Cause::new("Replication", &n.addr),
                        ));
                    }
                }
            }
            "redis.memory_full_seconds" => {
                out = crate::capacity::points(&r.capacity, "redis.memory");
            }
            "redis.failover_recent" => {
                if let Some(f) = r.recent_failover() {
                    out.push(Point::new(
                        "",
                        format!("redis {source}"),
                        1.0,
                        format!("{} -> {}", f.from, f.to),
                        Cause::new("Nodes", &f.to),
                    ));
                }
            }
            _ => {}
        }
        out
    }

    fn plan(r: &RedisSample, at: &At, action: Action, _input: Option<&str>) -> Planning<RedisOp> {
        let tab = *r.tabs().get(at.table)?;
        match action {
            // A failover is offered where it can happen: any tab of a Sentinel set (it fails
            // over the master), the node tabs of a Cluster (on a replica).
            Action::Failover if r.sentinel.is_none() && r.cluster.is_none() => None,
            Action::Failover
                if r.sentinel.is_none() && !matches!(tab, Tab::Nodes | Tab::Cluster) =>
            {
                None
            }
            Action::SetPolicy if tab != Tab::Policy => None,
            // A Sentinel failover acts on the master whatever row is selected.
            Action::Failover if r.sentinel.is_some() => {
                r.command(at.table, at.key(), at.marked, action).map(ready)
            }
            _ if at.key.is_none() => None,
            _ => r.command(at.table, at.key(), at.marked, action).map(ready),
        }
    }

    fn capacity(sample: &RedisSample) -> &[crate::capacity::Forecast] {
        &sample.capacity
    }
    fn describe(op: &RedisOp) -> String {
        op.describe()
    }
    /// A command sent to a node that then timed out may have run there.
    fn unknown_after(_op: &RedisOp, error: &str) -> bool {
        error.to_ascii_lowercase().contains("timed out")
    }
    async fn execute(op: &RedisOp, spec: &RedisSpec, _ctx: &dyn Entries) -> Result<String, String> {
        op.execute(spec).await
    }
}
