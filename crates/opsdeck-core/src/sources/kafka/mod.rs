//! Kafka: brokers, topics, partitions and consumer-group lag.
//!
//! Approach (cost that does not grow with groups × partitions): each cycle speaks the few
//! requests a poll needs itself (`wire`, message types from the `kafka-protocol` crate) over
//! one async connection per broker, kept between polls:
//! - `Metadata` (brokers with racks, the controller, every partition) to one broker,
//!   `ListGroups` to every broker, the topics' configs every tenth cycle;
//! - per partition leader one `ListOffsets` EARLIEST, one LATEST and one LATEST
//!   READ_COMMITTED (open transactions excluded) for all its partitions;
//! - per group coordinator, the groups' states, members and committed offsets
//!   (`DescribeGroups` and `OffsetFetch` for many groups per request); a group the batch
//!   could not read (its coordinator did not answer) is an error for that group: its
//!   verdict turns stale;
//! - every tenth cycle, for groups without members, ListOffsets by timestamp: whether their
//!   oldest unread records are older than `abandoned_after` (Kafka keeps no commit times).
//!
//! librdkafka's client (`admin::Admin`, a producer handle that never produces and never
//! joins a group, in `spawn_blocking` with timeouts) is built only where that path cannot
//! run: settings it cannot honour (OAUTHBEARER), or a request a broker refuses. Its
//! per-group calls (`DescribeConsumerGroups`, `ListConsumerGroupOffsets`: one group per
//! request) then read the groups and the sample says so (`offsets_fallback`).
//!
//! The raw result goes through `State::ingest` (pure): lag = log end − committed, time lag
//! from a (high watermark, time) table per partition, and a Burrow-style verdict judged over
//! time and commits (`lag`, `groups`, `policy`). librdkafka's logs go to `tracing` through
//! `admin::LogContext`.

pub mod admin;
pub mod balance;
mod batched;
pub mod compact;
#[cfg(test)]
mod compact_tests;
mod events;
mod groups;
mod interned;
pub mod lag;
mod model;
mod ops;
pub mod policy;
mod series;
#[cfg(test)]
mod sizes_tests;
mod slots;
pub mod spec;
mod system;
pub mod why;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdkafka::ClientConfig;
use serde::Serialize;

use crate::sources::system::Poller;

pub use lag::Status as LagStatus;
pub use ops::{KafkaOp, ResetTo};
pub use policy::{Isolation, Policy};
pub use spec::{KafkaGroupRuleSpec, KafkaGroupsSpec, KafkaSpec};
pub use system::Kafka;

/// Table indices of the zoomed pane.
pub const TABLE_BROKERS: usize = 0;
pub const TABLE_TOPICS: usize = 1;
pub const TABLE_GROUPS: usize = 2;
pub const TABLE_BALANCE: usize = 3;
pub const TABLE_CAPACITY: usize = 4;

#[derive(Debug, Clone, Default, Serialize)]
pub struct KafkaSample {
    pub brokers: Vec<BrokerInfo>,
    pub controller: Option<i32>,
    pub topics: Vec<TopicInfo>,
    pub groups: Vec<GroupInfo>,
    /// Whether internal topics are listed (`show_internal`).
    pub show_internal: bool,
    /// How long the poll's requests took, in milliseconds.
    pub poll_ms: u64,
    /// Set when committed offsets came from librdkafka's per-group requests instead of the
    /// batched ones: why.
    pub offsets_fallback: Option<String>,
    /// Leaders, replicas and bytes per broker, log directories, reassignments, the plan.
    pub balance: balance::Balance,
    /// The log directories' capacity forecasts (`kafka.log_dir`).
    pub capacity: Vec<crate::capacity::Forecast>,
    /// Hints for the pane (Prometheus backfill trouble, a plan file not written).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
    pub controller: bool,
    /// Partitions this broker leads (leader skew).
    pub leaders: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TopicInfo {
    pub name: String,
    pub internal: bool,
    pub partition_count: usize,
    pub replication_factor: usize,
    pub under_replicated: usize,
    /// Partitions without a leader.
    pub offline: usize,
    /// `retention.ms` (-1: forever; None until configs are read).
    pub retention_ms: Option<i64>,
    pub cleanup_policy: Option<String>,
    pub min_insync_replicas: Option<usize>,
    /// Partitions whose ISR is smaller than `min.insync.replicas` (acks=all writes fail).
    pub under_min_isr: usize,
    /// Messages per second from high-watermark deltas (None on the first poll).
    pub messages_per_sec: Option<f64>,
    pub partitions: Vec<PartitionInfo>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PartitionInfo {
    pub partition: i32,
    /// -1 when the partition has no leader.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Replicas not in the ISR.
    pub missing: Vec<i32>,
    pub low: Option<i64>,
    pub high: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MemberInfo {
    pub client_id: String,
    pub consumer_id: String,
    pub host: String,
    /// "topic[p]" of each assigned partition.
    pub assignment: compact::Assignment,
}

/// Which offset the LAG figures of a group are measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LagBasis {
    /// As Kafka's own tool: what a read_uncommitted consumer can read.
    #[default]
    HighWatermark,
    /// What a read_committed consumer can read: open transactions excluded.
    LastStableOffset,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupInfo {
    pub name: String,
    pub state: String,
    pub members: Vec<MemberInfo>,
    /// Sum of partition lags (partitions without a committed offset not counted), against
    /// `lag_basis`.
    pub total_lag: i64,
    /// The same against the last stable offsets (records of open transactions excluded).
    pub total_stable_lag: i64,
    pub lag_basis: LagBasis,
    /// The consumers' isolation level as configured (`group_rules`); unknown by default.
    pub isolation: Isolation,
    pub max_partition_lag: i64,
    /// Worst partition's time lag (None while unknown).
    pub lag_seconds: Option<f64>,
    /// Recent total lags, oldest first.
    pub trend: Vec<u64>,
    /// OK while judging or abandoned: alert rules read this.
    pub status: LagStatus,
    /// Seen for less than `stall_after`: not judged yet (shown muted, raises nothing).
    pub judging: bool,
    /// No members and no commit for `abandoned_after` (shown muted, raises nothing).
    pub abandoned: bool,
    pub reason: String,
    /// Set when this poll could not read the group (or some of its partitions): the status
    /// is the last one read, this many seconds old.
    pub stale_secs: Option<f64>,
    /// What could not be read this poll.
    pub error: Option<String>,
    /// Records deleted by retention before the group read them (committed below the log
    /// start), summed over partitions.
    pub lost_records: i64,
    /// Partitions whose committed offset is above the high watermark (the log was truncated).
    pub ahead_partitions: usize,
    /// Partitions assigned to a member, never committed for longer than `stall_after`
    /// while records arrived.
    pub uncommitted_partitions: usize,
    /// Partitions with offsets in topics no member of the (Stable) group is assigned: left
    /// from an earlier subscription, not judged.
    pub unread_partitions: usize,
    /// Seconds since the committed offset of the longest-idle lagging partition moved.
    pub idle_secs: Option<f64>,
    /// Its partitions' rows, compact (`compact::Partitions`; shown as `GroupPartition`s).
    pub partitions: compact::Partitions,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupPartition {
    /// Interned: the rows of a poll share one copy of each topic's name.
    pub topic: compact::Name,
    pub partition: i32,
    /// None: the group never committed this partition.
    pub committed: Option<i64>,
    /// Log start offset.
    pub low: Option<i64>,
    pub high: Option<i64>,
    /// Last stable offset (below `high` while a transaction is open).
    pub stable: Option<i64>,
    /// Against the group's `lag_basis`.
    pub lag: Option<i64>,
    /// Against the last stable offset.
    pub stable_lag: Option<i64>,
    pub lag_seconds: Option<f64>,
    /// The member owning the partition: "client-id@host" (interned, as `topic`).
    pub owner: Option<compact::Name>,
    pub status: LagStatus,
    pub judging: bool,
    pub reason: String,
    /// The state shown is from a poll this many seconds ago (this one had no watermark).
    pub stale_secs: Option<f64>,
    /// Log start − committed when the committed offset is below the log start: records
    /// deleted before the group read them.
    pub lost_records: i64,
    /// Committed − high watermark when above it: the log was truncated under the group.
    pub ahead_by: i64,
    /// Assigned without a commit for this long while records arrived (≥ `stall_after`).
    pub uncommitted_secs: Option<f64>,
    /// Seconds since the committed offset last moved (or since first seen, see
    /// `commit_seen`).
    pub idle_secs: Option<f64>,
    /// Whether opsdeck saw the committed offset move (Kafka keeps no commit times).
    pub commit_seen: bool,
    /// No member of the Stable group is assigned this topic: offsets left from an earlier
    /// subscription, shown OK and not judged.
    pub unread: bool,
    /// The reason as figures while the poll judges the row (`reason` is empty then): the
    /// lag store keeps them so, and builds `reason` when the row is shown.
    #[serde(skip)]
    #[doc(hidden)]
    pub why: why::Why,
}

impl GroupPartition {
    /// The reason text, whether it is given as text or still as figures.
    pub fn reason_text(&self) -> String {
        let open = match (self.high, self.stable) {
            (Some(h), Some(s)) => h - s,
            _ => 0,
        };
        self.why.render(&self.topic, &self.reason, open)
    }
}

/// librdkafka's configuration of a cluster. Async because the password may come from a
/// `password_command`, which runs off the runtime's threads (bounded by its timeout).
pub async fn client_config(spec: &KafkaSpec) -> Result<ClientConfig, String> {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &spec.brokers);
    cfg.set("socket.timeout.ms", "5000");
    for (k, v) in &spec.properties {
        cfg.set(k, v);
    }
    if let Some(s) = spec.secret().resolve_async().await? {
        cfg.set("sasl.password", s.expose());
    }
    Ok(cfg)
}

/// A partition as metadata shows it: (id, leader, replicas, isr).
pub type RawPartition = (i32, i32, Vec<i32>, Vec<i32>);

/// What one poll read from the cluster, before any state is applied.
#[derive(Debug, Default)]
pub struct Raw {
    pub cluster: Option<admin::Cluster>,
    /// (name, internal, partitions).
    pub topics: Vec<(String, bool, Vec<RawPartition>)>,
    pub brokers: Vec<(i32, String, i32)>,
    pub watermarks: admin::Watermarks,
    /// Every listed group's name.
    pub group_names: Vec<String>,
    pub groups: Vec<admin::GroupDescription>,
    /// Brokers whose group listing failed: groups missing this poll may still exist.
    pub listing_errors: Vec<String>,
    pub offsets: HashMap<String, Result<admin::Committed, String>>,
    /// Last stable offsets; a partition is absent when unknown (request failed).
    pub stable: HashMap<(String, i32), i64>,
    /// Timestamp probes for groups without members (see `Probe`).
    pub probes: Vec<Probe>,
    /// Why the per-group fallback read the groups (None: the batched path did).
    pub offsets_fallback: Option<String>,
    /// Topic configs (TOPIC_CONFIG_KEYS), when read this cycle.
    pub configs: Option<HashMap<String, HashMap<String, String>>>,
    /// Log directories per broker, when read this cycle (the slow schedule, or every cycle
    /// while a reassignment runs).
    pub log_dirs: Option<balance::LogDirsRead>,
    /// Reassignments in progress (None: not asked).
    pub reassignments: Option<Result<Vec<wire::Ongoing>, String>>,
    /// Why balance figures cannot be read (the wire path cannot run).
    pub balance_unavailable: Option<String>,
    pub elapsed: Duration,
}

/// For groups without members whose `abandoned_after` is this: the first offset written at
/// or after `before` (unix seconds) of each partition they lag on (-1: none that recent).
#[derive(Debug, Clone, Default)]
pub struct Probe {
    pub abandoned_after: f64,
    pub before: f64,
    pub offsets: HashMap<(String, i32), i64>,
}

/// Topic configs the Topics view shows.
pub const TOPIC_CONFIG_KEYS: &[&str] = &["retention.ms", "cleanup.policy", "min.insync.replicas"];

/// One poll cycle against `a` (blocking) with every group judged by the default policy.
pub fn collect(a: &admin::Admin, with_configs: bool) -> Result<Raw, String> {
    collect_with(a, with_configs, &Policy::default(), unix_now())
}

/// One poll cycle against `a` (blocking) at unix time `now`, all through librdkafka: only
/// the groups `policy` judges; topic configs and the abandonment probes only when
/// `with_configs` (they change rarely, so the poller reads them every few cycles).
pub fn collect_with(
    a: &admin::Admin,
    with_configs: bool,
    policy: &Policy,
    now: f64,
) -> Result<Raw, String> {
    let mut raw = collect_parts(a, with_configs, policy, true)?;
    if with_configs {
        let started = std::time::Instant::now();
        raw.probes = probe_idle_groups(a, policy, now, &raw);
        raw.elapsed += started.elapsed();
    }
    Ok(raw)
}

/// `collect_with` without the probes; the watermarks, the last stable offsets and the
/// groups' descriptions and offsets only when `librdkafka` (otherwise the poller reads them
/// through `wire`, then the probes).
fn collect_parts(
    a: &admin::Admin,
    with_configs: bool,
    policy: &Policy,
    librdkafka: bool,
) -> Result<Raw, String> {
    let started = std::time::Instant::now();
    a.drain_logs();
    let md = a.metadata()?;
    let cluster = a.describe_cluster().ok();
    let topics: Vec<_> = md
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| {
            (
                t.name().to_string(),
                t.name().starts_with("__"),
                t.partitions()
                    .iter()
                    .map(|p| (p.id(), p.leader(), p.replicas().to_vec(), p.isr().to_vec()))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let (watermarks, stable) = if librdkafka {
        a.watermarks_and_stable(&led_partitions(&topics))?
    } else {
        Default::default()
    };
    let (mut names, listing_errors) = a.list_groups_checked()?;
    names.retain(|n| policy.judged(n));
    let (groups, offsets) = if librdkafka {
        per_group_offsets(a, &names)?
    } else {
        Default::default()
    };
    let configs = if with_configs {
        let names: Vec<String> = topics.iter().map(|t| t.0.clone()).collect();
        a.topic_configs(&names, TOPIC_CONFIG_KEYS)
            .map_err(|e| tracing::warn!(error = %e, "topic configs"))
            .ok()
    } else {
        None
    };
    Ok(Raw {
        configs,
        cluster,
        brokers: md
            .brokers()
            .iter()
            .map(|b| (b.id(), b.host().to_string(), b.port()))
            .collect(),
        topics,
        watermarks,
        group_names: names,
        groups,
        listing_errors,
        offsets,
        stable,
        probes: Vec::new(),
        offsets_fallback: None,
        log_dirs: None,
        reassignments: None,
        balance_unavailable: None,
        elapsed: started.elapsed(),
    })
}

type GroupsRead = (
    Vec<admin::GroupDescription>,
    HashMap<String, Result<admin::Committed, String>>,
);

/// (topic, partition) of every partition with a leader.
fn led_partitions(topics: &[(String, bool, Vec<RawPartition>)]) -> Vec<(String, i32)> {
    topics
        .iter()
        .flat_map(|(n, _, ps)| {
            ps.iter()
                .filter(|p| p.1 >= 0)
                .map(move |p| (n.clone(), p.0))
        })
        .collect()
}

/// librdkafka's path: one describe and one OffsetFetch request per group (blocking).
fn per_group_offsets(a: &admin::Admin, names: &[String]) -> Result<GroupsRead, String> {
    let mut groups = a.describe_groups(names)?;
    // A listed group the describe call did not return is unread this poll, not gone.
    let described: BTreeSet<String> = groups.iter().map(|g| g.name.clone()).collect();
    for n in names.iter().filter(|n| !described.contains(*n)) {
        groups.push(admin::GroupDescription {
            name: n.clone(),
            state: String::new(),
            error: Some("not in the describe answer".into()),
            members: Vec::new(),
        });
    }
    Ok((groups, a.group_offsets(names)?))
}

/// What the abandonment probes ask for each `abandoned_after` in force: the probe (its
/// offsets still empty) and the partitions where groups without members lag.
fn probe_wants(policy: &Policy, now: f64, raw: &Raw) -> Vec<(Probe, Vec<(String, i32)>)> {
    let mut out = Vec::new();
    for after in policy.abandoned_afters() {
        let parts: BTreeSet<(String, i32)> = raw
            .groups
            .iter()
            .filter(|g| g.error.is_none() && g.members.is_empty())
            .filter(|g| policy.for_group(&g.name).abandoned_after == after)
            .filter_map(|g| raw.offsets.get(&g.name)?.as_ref().ok())
            .flat_map(|c| c.iter())
            .map(|((t, p), off)| ((t.to_string(), p), off))
            .filter(|(k, off)| raw.watermarks.get(k).is_some_and(|w| w.1 > *off))
            .map(|(k, _)| k)
            .collect();
        if !parts.is_empty() {
            let probe = Probe {
                abandoned_after: after,
                before: now - after,
                offsets: HashMap::new(),
            };
            out.push((probe, parts.into_iter().collect()));
        }
    }
    out
}

/// For each `abandoned_after` in force: ListOffsets at `now − abandoned_after` on the
/// partitions where groups without members lag, so a group first seen long dead is judged
/// ABANDONED from its records' write times rather than paged as STOP. Failures only log:
/// the verdict then rests on what opsdeck sees.
fn probe_idle_groups(a: &admin::Admin, policy: &Policy, now: f64, raw: &Raw) -> Vec<Probe> {
    let mut out = Vec::new();
    for (probe, parts) in probe_wants(policy, now, raw) {
        match a.offsets_at(&parts, (probe.before * 1000.0) as i64) {
            Ok(offsets) => out.push(Probe { offsets, ..probe }),
            Err(e) => tracing::warn!(error = %e, "abandoned-group timestamp probe"),
        }
    }
    out
}

/// Sizes of the sliding tables (the verdict windows span time: `stall_after`).
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    /// (high watermark, time) points kept per partition.
    pub hwm_points: usize,
    /// Points of the group trend sparkline.
    pub trend: usize,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            hwm_points: 60,
            trend: 30,
        }
    }
}

/// What the poller remembers between polls.
#[derive(Debug, Default)]
pub struct State {
    pub windows: Windows,
    policy: Policy,
    hwm: lag::HwmTables,
    /// Per group: its partitions' tracks, trend and last answered state.
    groups: HashMap<String, groups::GroupMemo>,
    /// Topic names, owners, assigned partitions and reasons given as text, stored once each.
    names: compact::Interner,
    configs: HashMap<String, HashMap<String, String>>,
    /// The last log-dir read and when (unix seconds).
    log_dirs: Option<(f64, balance::LogDirsRead)>,
    /// The reassignments as last listed (`reassignments_due` says when to ask again).
    reassignments: Option<Result<Vec<wire::Ongoing>, String>>,
    /// An action ran on this cluster since: list the reassignments at the next poll.
    acted: bool,
    plan: balance::PlanCache,
    polls: u64,
}

impl State {
    pub fn new(windows: Windows) -> Self {
        Self::with_policy(windows, Policy::default())
    }

    pub fn with_policy(windows: Windows, policy: Policy) -> Self {
        State {
            windows,
            policy,
            ..Default::default()
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether log directories were read at least once.
    pub fn has_log_dirs(&self) -> bool {
        self.log_dirs.is_some()
    }

    /// Whether this poll lists the reassignments again (one round trip to the controller):
    /// on the slow schedule, after an action, until a listing answers, while one is listed,
    /// and whenever a partition has a replica out of sync. A reassignment that moves data
    /// adds replicas that are out of sync until they caught up, so it shows at once; one
    /// that moves none ends within a poll anyway.
    pub fn reassignments_due(
        &self,
        topics: &[(String, bool, Vec<RawPartition>)],
        slow: bool,
    ) -> bool {
        let listed = match &self.reassignments {
            Some(Ok(list)) => !list.is_empty(),
            Some(Err(_)) | None => true,
        };
        slow || self.acted
            || listed
            || topics
                .iter()
                .flat_map(|(_, _, ps)| ps)
                .any(|(_, _, replicas, isr)| replicas.iter().any(|r| !isr.contains(r)))
    }

    /// Applies one poll at unix time `now` (seconds): pure apart from the sliding windows.
    pub fn ingest(&mut self, mut raw: Raw, now: f64, show_internal: bool) -> KafkaSample {
        let w = self.windows;
        let descs = std::mem::take(&mut raw.groups);
        let offsets = std::mem::take(&mut raw.offsets);
        if let Some(d) = raw.log_dirs.take() {
            self.log_dirs = Some((now, d));
        }
        if let Some(r) = raw.reassignments.take() {
            self.reassignments = Some(r);
            self.acted = false;
        }
        if let Some(c) = &raw.configs {
            self.configs = c.clone();
        }
        for ((t, p), (_, h)) in &raw.watermarks {
            self.hwm.push(t, *p, *h, now, w.hwm_points);
        }
        // A partition whose watermark this poll missed keeps its table (its history is what
        // lag seconds are read from); only partitions gone from the metadata drop theirs.
        let known: HashMap<&str, usize> = raw
            .topics
            .iter()
            .map(|(n, _, ps)| (n.as_str(), ps.len()))
            .collect();
        self.hwm.retain_known(&known);
        let controller = raw.cluster.as_ref().and_then(|c| c.controller);
        let racks: HashMap<i32, Option<String>> = raw
            .cluster
            .iter()
            .flat_map(|c| c.nodes.iter().map(|n| (n.id, n.rack.clone())))
            .collect();
        let mut leaders: HashMap<i32, usize> = HashMap::new();
        let mut topics = Vec::new();
        let mut topic_parts: HashMap<&str, Vec<groups::PartEnds>> = HashMap::new();
        for (name, internal, parts) in &raw.topics {
            let mut ends = Vec::with_capacity(parts.len());
            let mut rate = None::<f64>;
            let mut partitions: Vec<PartitionInfo> = parts
                .iter()
                .map(|(id, leader, replicas, isr)| {
                    if *leader >= 0 {
                        *leaders.entry(*leader).or_default() += 1;
                    }
                    let key = (name.clone(), *id);
                    if let Some(r) = self.hwm.get(name, *id).and_then(|t| t.rate(now)) {
                        *rate.get_or_insert(0.0) += r;
                    }
                    let wm = raw.watermarks.get(&key);
                    ends.push(groups::PartEnds {
                        id: *id,
                        watermarks: wm.copied(),
                        stable: raw.stable.get(&key).copied(),
                    });
                    PartitionInfo {
                        partition: *id,
                        leader: *leader,
                        replicas: replicas.clone(),
                        isr: isr.clone(),
                        missing: replicas
                            .iter()
                            .filter(|r| !isr.contains(r))
                            .copied()
                            .collect(),
                        low: wm.map(|w| w.0),
                        high: wm.map(|w| w.1),
                    }
                })
                .collect();
            topic_parts.insert(name, ends);
            partitions.sort_by_key(|p| p.partition);
            let conf = self.configs.get(name);
            let get = |k: &str| conf.and_then(|c| c.get(k)).cloned();
            let min_isr = get("min.insync.replicas").and_then(|v| v.parse::<usize>().ok());
            topics.push(TopicInfo {
                retention_ms: get("retention.ms").and_then(|v| v.parse().ok()),
                cleanup_policy: get("cleanup.policy"),
                min_insync_replicas: min_isr,
                under_min_isr: min_isr
                    .map(|m| {
                        partitions
                            .iter()
                            .filter(|p| p.leader >= 0 && p.isr.len() < m)
                            .count()
                    })
                    .unwrap_or(0),
                name: name.clone(),
                internal: *internal,
                partition_count: partitions.len(),
                replication_factor: partitions.first().map(|p| p.replicas.len()).unwrap_or(0),
                under_replicated: partitions.iter().filter(|p| !p.missing.is_empty()).count(),
                offline: partitions.iter().filter(|p| p.leader < 0).count(),
                messages_per_sec: rate,
                partitions,
            });
        }
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        let mut brokers: Vec<BrokerInfo> = raw
            .brokers
            .iter()
            .map(|(id, host, port)| BrokerInfo {
                id: *id,
                host: host.clone(),
                port: *port,
                rack: racks.get(id).cloned().flatten(),
                controller: controller == Some(*id),
                leaders: leaders.get(id).copied().unwrap_or(0),
            })
            .collect();
        brokers.sort_by_key(|b| b.id);
        let mut balance = balance::build(
            &topics,
            &brokers,
            self.log_dirs
                .as_ref()
                .map(|(at, d)| (d, (now - at).max(0.0))),
            self.reassignments.clone(),
            &mut self.plan,
        );
        balance.unavailable = raw.balance_unavailable.take();

        let mut groups = groups::judge(
            &mut self.groups,
            &mut self.names,
            &groups::Input {
                raw: &raw,
                now,
                policy: &self.policy,
                topic_parts: &topic_parts,
                hwm: &self.hwm,
                trend_len: w.trend,
            },
            descs,
            offsets,
        );
        // Names no row holds any more (past reasons, deleted topics) go.
        self.names.sweep();
        // Worst first; muted rows (abandoned, judging) below the judged ones of their status.
        groups.sort_by(|a, b| {
            b.status
                .cmp(&a.status)
                .then(a.abandoned.cmp(&b.abandoned))
                .then(a.judging.cmp(&b.judging))
                .then(
                    b.lag_seconds
                        .unwrap_or(0.0)
                        .total_cmp(&a.lag_seconds.unwrap_or(0.0)),
                )
                .then(b.total_lag.cmp(&a.total_lag))
                .then(a.name.cmp(&b.name))
        });
        KafkaSample {
            brokers,
            controller,
            topics,
            groups,
            show_internal,
            poll_ms: raw.elapsed.as_millis() as u64,
            offsets_fallback: raw.offsets_fallback,
            balance,
            capacity: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Topic configs are re-read every this many polls.
const CONFIG_EVERY: u64 = 10;

/// Polls with at most this many partitions plus group partitions are judged on the
/// runtime's worker; bigger ones on a blocking thread.
const INLINE_INGEST: usize = 5_000;

/// Partitions plus committed group partitions of a poll's answer.
fn raw_size(raw: &Raw) -> usize {
    let committed: usize = raw.offsets.values().flatten().map(|c| c.len()).sum();
    raw.watermarks.len() + committed
}

pub struct KafkaPoller {
    spec: KafkaSpec,
    /// librdkafka's settings for this entry, built once per connection (they may run
    /// `password_command`); the batch is made from them.
    cfg: Option<ClientConfig>,
    /// librdkafka's client, built only when the batch cannot read something.
    admin: Option<admin::Admin>,
    /// The batched groups path; Err: why it cannot run with this entry's settings.
    batch: Option<Result<wire::Batch, String>>,
    /// Only librdkafka's per-group path (benchmarks compare the two).
    per_group_only: bool,
    /// Requests the last batched fetch sent.
    batch_requests: Option<usize>,
    state: State,
    /// The state while a blocking ingest has it (see `poll_at`).
    judging: Option<Arc<Mutex<Option<State>>>>,
    /// Set when the entry's verdict settings do not compile (config validation reports
    /// them first; this keeps a hand-built spec from being judged by defaults silently).
    policy_error: Option<String>,
    timeout: Duration,
    /// Where the rebalance plan file goes (the data dir).
    data_dir: std::path::PathBuf,
    /// The plan file's content as last written.
    plan_written: Option<String>,
    capacity: crate::capacity::CapacitySpec,
    tracker: crate::capacity::Tracker,
    backfill: crate::capacity::prometheus::Backfill,
    forecasts: Vec<crate::capacity::Forecast>,
}

impl KafkaPoller {
    pub fn new(spec: KafkaSpec) -> Self {
        Self::with_windows(spec, Windows::default())
    }

    /// A poller with chosen window sizes (tests use short ones).
    pub fn with_windows(spec: KafkaSpec, windows: Windows) -> Self {
        let (policy, policy_error) = match Policy::from_spec(&spec) {
            Ok(p) => (p, None),
            Err(es) => (
                Policy::default(),
                Some(format!(
                    "kafka {}: {}",
                    spec.name,
                    es.into_iter().map(|e| e.0).collect::<Vec<_>>().join("; ")
                )),
            ),
        };
        Self {
            spec,
            cfg: None,
            admin: None,
            batch: None,
            per_group_only: false,
            batch_requests: None,
            state: State::with_policy(windows, policy),
            judging: None,
            policy_error,
            timeout: Duration::from_secs(5),
            data_dir: crate::config::paths::data_dir(),
            plan_written: None,
            capacity: Default::default(),
            tracker: Default::default(),
            backfill: Default::default(),
            forecasts: Vec::new(),
        }
    }

    /// Writes the rebalance plan file into `dir` instead of the data dir.
    pub fn with_data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.data_dir = dir.into();
        self
    }

    /// Log-dir forecasts over `[capacity]`'s window, backfilled from its Prometheus if set.
    pub fn with_capacity(mut self, spec: crate::capacity::CapacitySpec) -> Self {
        self.tracker = crate::capacity::Tracker::new(spec.window_secs());
        self.capacity = spec;
        self
    }

    /// A poller that reads groups with librdkafka's per-group requests only.
    pub fn per_group_only(mut self) -> Self {
        self.per_group_only = true;
        self
    }

    /// Whether librdkafka's client is alive: only after the batch could not read something
    /// (or with `per_group_only`).
    pub fn has_librdkafka_client(&self) -> bool {
        self.admin.is_some()
    }

    /// Requests the last poll's batched groups fetch sent (None: it did not run).
    pub fn batch_requests(&self) -> Option<usize> {
        self.batch_requests
    }

    /// Each group's coordinator as the batched path last resolved it.
    pub fn coordinators(&self) -> Option<&HashMap<String, i32>> {
        match &self.batch {
            Some(Ok(b)) => Some(b.coordinators()),
            _ => None,
        }
    }

    /// One poll read at the times `clock` gives (unix seconds): the console's clock, or a
    /// test's. The abandonment probes ask about the poll's start, the sample is judged at
    /// its end.
    pub async fn poll_at(
        &mut self,
        clock: &(dyn Fn() -> f64 + Send + Sync),
    ) -> Result<KafkaSample, String> {
        self.reclaim_state().await;
        if let Some(e) = &self.policy_error {
            return Err(e.clone());
        }
        if self.cfg.is_none() {
            // librdkafka retries a refused broker until its timeout; a refused TCP connect
            // to every bootstrap address is a faster, clearer answer.
            if let Some(e) = refused(&self.spec.brokers).await {
                return Err(e);
            }
            let cfg = client_config(&self.spec).await?;
            if self.batch.is_none() && !self.per_group_only {
                self.batch =
                    Some(wire::Batch::new(&wire::properties(&cfg), self.timeout).map_err(|u| u.0));
            }
            self.cfg = Some(cfg);
        }
        let with_configs = self.state.polls.is_multiple_of(CONFIG_EVERY);
        let policy = self.state.policy.clone();
        let now = clock();
        let mut raw = match self.read_cluster(with_configs, &policy).await {
            Some(raw) => raw?,
            None => {
                let batched = matches!(self.batch, Some(Ok(_)));
                self.blocking(move |a| {
                    if batched {
                        collect_parts(a, with_configs, &policy, false)
                    } else {
                        collect_with(a, with_configs, &policy, now)
                    }
                })
                .await?
            }
        };
        let batched = matches!(self.batch, Some(Ok(_)));
        let started = std::time::Instant::now();
        let probe_at = (batched && with_configs).then_some(now);
        self.read_batched(&mut raw, batched, probe_at).await?;
        self.read_balance(&mut raw, with_configs).await;
        raw.elapsed += started.elapsed();
        self.state.polls += 1;
        let fresh_dirs = raw.log_dirs.is_some();
        let (at, show_internal) = (clock(), self.spec.show_internal);
        let mut sample = if raw_size(&raw) <= INLINE_INGEST {
            // Microseconds: a thread hop would cost more than the work.
            self.state.ingest(raw, at, show_internal)
        } else {
            // At 10k partitions and 1k groups ingest takes hundreds of milliseconds of CPU:
            // off the runtime's workers, so the other sources' futures are not held up
            // meanwhile. The state waits in `judging`: a poll cut by its timeout here leaves
            // it there for the next poll, so the verdicts' history survives.
            let slot = Arc::new(Mutex::new(Some(std::mem::take(&mut self.state))));
            self.judging = Some(slot.clone());
            let judged = tokio::task::spawn_blocking(move || {
                let mut st = slot.lock().unwrap_or_else(PoisonError::into_inner);
                st.as_mut().map(|st| st.ingest(raw, at, show_internal))
            })
            .await;
            self.reclaim_state().await;
            judged
                .map_err(|e| format!("judging the Kafka poll failed: {e}"))?
                .ok_or("the Kafka poll was judged after a later poll had started; it is dropped")?
        };
        self.finish_balance(&mut sample, fresh_dirs).await;
        Ok(sample)
    }
}

impl KafkaPoller {
    /// Takes the state back from the ingest of an earlier poll, waiting (off the runtime's
    /// workers) if a poll cut by its timeout left it running.
    async fn reclaim_state(&mut self) {
        let Some(slot) = self.judging.take() else {
            return;
        };
        // Free once the ingest ended (always, after a poll that was not cut): no thread hop.
        let free = match slot.try_lock() {
            Ok(mut g) => Some(g.take()),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner().take()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        if let Some(st) = free {
            if let Some(st) = st {
                self.state = st;
            }
            return;
        }
        let taken = tokio::task::spawn_blocking(move || {
            slot.lock().unwrap_or_else(PoisonError::into_inner).take()
        })
        .await;
        if let Ok(Some(st)) = taken {
            self.state = st;
        }
    }
}

pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Poller for KafkaPoller {
    type Sample = KafkaSample;
    type Op = KafkaOp;

    async fn poll(&mut self) -> Result<KafkaSample, String> {
        self.poll_at(&unix_now).await
    }

    fn absorb(&mut self, _done: &crate::sources::system::Done<KafkaOp>) {
        // A reassignment it started is listed at once, not at the slow schedule.
        self.state.acted = true;
    }

    fn reset(&mut self) {
        self.cfg = None;
        self.admin = None;
        // Reconnects too, and checks again whether the brokers support the batched path.
        self.batch = None;
    }
}

/// `Some(error)` when every bootstrap broker refuses a TCP connection.
async fn refused(brokers: &str) -> Option<String> {
    let mut errors = Vec::new();
    for b in brokers.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        let addr = b.rsplit("://").next().unwrap_or(b);
        match tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr))
            .await
        {
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                errors.push(format!("{addr}: {e}"))
            }
            _ => return None,
        }
    }
    (!errors.is_empty()).then(|| format!("no broker reachable: {}", errors.join("; ")))
}

/// Groups per topic name, for the topics view.
pub fn groups_by_topic(s: &KafkaSample) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for g in &s.groups {
        let ts: BTreeSet<&str> = g.partitions.topics().collect();
        for t in ts {
            *m.entry(t).or_default() += 1;
        }
    }
    m
}
