//! Kafka: brokers, topics, partitions and consumer-group lag.
//!
//! Approach (cost that does not grow with groups × partitions): the poller keeps ONE
//! librdkafka handle per cluster (`admin::Admin`, a producer handle that never produces and
//! never joins a group) and each cycle, in `spawn_blocking` with timeouts:
//! - metadata (one request) and `DescribeCluster` (brokers with rack, the controller);
//! - watermarks of all partitions through `wire`: per partition leader one `ListOffsets`
//!   EARLIEST and one LATEST for all its partitions (librdkafka's admin `ListOffsets`, the
//!   fallback, sends the same requests but is slow at 10k partitions);
//! - `ListConsumerGroups`, then the groups' states, members and committed offsets through
//!   `wire` (DescribeGroups and OffsetFetch for many groups per request, one connection per
//!   coordinator). Where that path cannot run, librdkafka's `DescribeConsumerGroups` and
//!   `ListConsumerGroupOffsets` (one group per request, all sent at once on the same queue),
//!   and the sample says so (`offsets_fallback`).
//!
//! The raw result goes through `State::ingest` (pure): lag = high watermark − committed,
//! time lag from a sliding (high watermark, time) table per partition, and a Burrow-style
//! status over a sliding window of observations. librdkafka's logs go to `tracing` through
//! `admin::LogContext`.

pub mod admin;
mod batched;
pub mod lag;
mod model;
mod ops;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use rdkafka::ClientConfig;
use serde::Serialize;

use crate::config::KafkaSpec;
use crate::config::keymap::Action;
use crate::sources::{Poller, Sample};

pub use lag::Status as LagStatus;
pub use ops::{KafkaOp, ResetTo};

/// The guarded keys this pane offers (hint bar and help).
pub const ACTIONS: &[Action] = &[
    Action::DeleteTopic,
    Action::ResetOffsets,
    Action::ResetOffsetsEarliest,
    Action::ResetOffsetsTo,
    Action::AddPartitions,
    Action::ElectLeaders,
    Action::CreateTopic,
];

/// Table indices of the zoomed pane.
pub const TABLE_BROKERS: usize = 0;
pub const TABLE_TOPICS: usize = 1;
pub const TABLE_GROUPS: usize = 2;

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
    pub assignment: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupInfo {
    pub name: String,
    pub state: String,
    pub members: Vec<MemberInfo>,
    /// Sum of partition lags (partitions without a committed offset not counted).
    pub total_lag: i64,
    pub max_partition_lag: i64,
    /// Worst partition's time lag (None while unknown).
    pub lag_seconds: Option<f64>,
    /// Recent total lags, oldest first.
    pub trend: Vec<u64>,
    pub status: LagStatus,
    pub reason: String,
    /// Set when the group's offsets could not be read.
    pub error: Option<String>,
    pub partitions: Vec<GroupPartition>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupPartition {
    pub topic: String,
    pub partition: i32,
    /// None: the group never committed this partition.
    pub committed: Option<i64>,
    pub high: Option<i64>,
    pub lag: Option<i64>,
    pub lag_seconds: Option<f64>,
    /// The member owning the partition: "client-id@host".
    pub owner: Option<String>,
    pub status: LagStatus,
    pub reason: String,
}

pub fn client_config(spec: &KafkaSpec) -> Result<ClientConfig, String> {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &spec.brokers);
    cfg.set("socket.timeout.ms", "5000");
    for (k, v) in &spec.properties {
        cfg.set(k, v);
    }
    if let Some(s) = spec.secret().resolve()? {
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
    pub offsets: HashMap<String, Result<admin::Committed, String>>,
    /// Why the per-group fallback read the groups (None: the batched path did).
    pub offsets_fallback: Option<String>,
    /// Topic configs (TOPIC_CONFIG_KEYS), when read this cycle.
    pub configs: Option<HashMap<String, HashMap<String, String>>>,
    pub elapsed: Duration,
}

/// Topic configs the Topics view shows.
pub const TOPIC_CONFIG_KEYS: &[&str] = &["retention.ms", "cleanup.policy", "min.insync.replicas"];

/// One poll cycle against `a` (blocking); topic configs only when `with_configs` (they
/// change rarely, so the poller reads them every few cycles).
pub fn collect(a: &admin::Admin, with_configs: bool) -> Result<Raw, String> {
    collect_with(a, with_configs, true)
}

/// `collect`, reading the watermarks and the groups' descriptions and offsets with
/// librdkafka only when `librdkafka` (otherwise the caller reads them through `wire`).
pub fn collect_with(a: &admin::Admin, with_configs: bool, librdkafka: bool) -> Result<Raw, String> {
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
    let watermarks = if librdkafka {
        a.watermarks(&led_partitions(&topics))?
    } else {
        Default::default()
    };
    let names = a.list_groups()?;
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
        offsets,
        offsets_fallback: None,
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
    Ok((a.describe_groups(names)?, a.group_offsets(names)?))
}

/// Sizes of the sliding windows.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    /// Observations that make a complete Burrow window.
    pub status: usize,
    /// (high watermark, time) points kept per partition.
    pub hwm_points: usize,
    /// Points of the group trend sparkline.
    pub trend: usize,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            status: 10,
            hwm_points: 60,
            trend: 30,
        }
    }
}

/// What the poller remembers between polls.
#[derive(Debug, Default)]
pub struct State {
    pub windows: Windows,
    hwm: HashMap<(String, i32), lag::HwmTable>,
    /// Burrow windows by group, then topic, indexed by partition id. Nested so that a
    /// topic's name is stored once per group rather than once per partition (80k windows
    /// with 1k groups); an empty deque (no allocation) is a partition without a window.
    obs: HashMap<String, HashMap<String, Vec<VecDeque<lag::Obs>>>>,
    trend: HashMap<String, VecDeque<u64>>,
    configs: HashMap<String, HashMap<String, String>>,
    polls: u64,
}

impl State {
    pub fn new(windows: Windows) -> Self {
        State {
            windows,
            ..Default::default()
        }
    }

    /// Applies one poll at unix time `now` (seconds): pure apart from the sliding windows.
    pub fn ingest(&mut self, raw: Raw, now: f64, show_internal: bool) -> KafkaSample {
        let w = self.windows;
        if let Some(c) = &raw.configs {
            self.configs = c.clone();
        }
        for (k, (_, h)) in &raw.watermarks {
            self.hwm
                .entry(k.clone())
                .or_insert_with(|| lag::HwmTable::new(w.hwm_points))
                .push(*h, now);
        }
        self.hwm.retain(|k, _| raw.watermarks.contains_key(k));
        let controller = raw.cluster.as_ref().and_then(|c| c.controller);
        let racks: HashMap<i32, Option<String>> = raw
            .cluster
            .iter()
            .flat_map(|c| c.nodes.iter().map(|n| (n.id, n.rack.clone())))
            .collect();
        let mut leaders: HashMap<i32, usize> = HashMap::new();
        let mut topics = Vec::new();
        let mut topic_parts: HashMap<&str, Vec<i32>> = HashMap::new();
        for (name, internal, parts) in &raw.topics {
            topic_parts.insert(name, parts.iter().map(|p| p.0).collect());
            let mut rate = None::<f64>;
            let mut partitions: Vec<PartitionInfo> = parts
                .iter()
                .map(|(id, leader, replicas, isr)| {
                    if *leader >= 0 {
                        *leaders.entry(*leader).or_default() += 1;
                    }
                    let key = (name.clone(), *id);
                    if let Some(r) = self.hwm.get(&key).and_then(|t| t.rate(now)) {
                        *rate.get_or_insert(0.0) += r;
                    }
                    let wm = raw.watermarks.get(&key);
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

        let mut groups = Vec::new();
        // Windows still observed move into `next`; the rest (gone groups, topics and
        // partitions) are dropped with `prev`, without cloning 80k keys every poll.
        let mut prev = std::mem::take(&mut self.obs);
        let cap = w.status.max(2);
        let no_commits = admin::Committed::new();
        for g in &raw.groups {
            let mut prev_group = prev.remove(&g.name).unwrap_or_default();
            let mut next_group: HashMap<String, Vec<VecDeque<lag::Obs>>> = HashMap::new();
            let mut owners: HashMap<(String, i32), String> = HashMap::new();
            for m in &g.members {
                for (t, p) in &m.assignment {
                    owners.insert((t.clone(), *p), format!("{}@{}", m.client_id, m.host));
                }
            }
            let (committed, error) = match raw.offsets.get(&g.name) {
                Some(Ok(c)) => (c, None),
                Some(Err(e)) => (&no_commits, Some(e.clone())),
                None => (&no_commits, None),
            };
            // Every partition of every topic the group commits to or is assigned.
            let group_topics: BTreeSet<&str> = committed
                .keys()
                .chain(owners.keys())
                .map(|(t, _)| t.as_str())
                .collect();
            let active = !g.members.is_empty();
            let mut partitions = Vec::new();
            for t in group_topics {
                let ids = topic_parts.get(t).cloned().unwrap_or_default();
                let mut prev_topic = prev_group.remove(t).unwrap_or_default();
                let mut next_topic: Vec<VecDeque<lag::Obs>> = Vec::new();
                for p in ids {
                    let key = (t.to_string(), p);
                    let c = committed.get(&key).copied();
                    let high = raw.watermarks.get(&key).map(|w| w.1);
                    let lag = high.and_then(|h| lag::offset_lag(h, c));
                    let lag_seconds = match (c, self.hwm.get(&key)) {
                        (Some(c), Some(tab)) => tab.lag_seconds(c, now),
                        _ => None,
                    };
                    let (status, reason) = match (c, lag) {
                        (Some(c), Some(l)) if p >= 0 => {
                            let i = p as usize;
                            let mut win = prev_topic
                                .get_mut(i)
                                .map(std::mem::take)
                                .unwrap_or_default();
                            if win.capacity() < cap {
                                // Exactly the window: a growing deque would round up to 16.
                                win.reserve_exact(cap - win.len());
                            }
                            while win.len() >= cap {
                                win.pop_front();
                            }
                            win.push_back(lag::Obs {
                                t: now,
                                committed: c,
                                lag: l,
                            });
                            let r = lag::evaluate(win.make_contiguous(), w.status, active);
                            if next_topic.len() <= i {
                                next_topic.resize_with(i + 1, VecDeque::new);
                            }
                            next_topic[i] = win;
                            r
                        }
                        _ => (LagStatus::Ok, "no committed offset".into()),
                    };
                    partitions.push(GroupPartition {
                        topic: t.to_string(),
                        partition: p,
                        committed: c,
                        high,
                        lag,
                        lag_seconds,
                        owner: owners.get(&key).cloned(),
                        status,
                        reason,
                    });
                }
                if !next_topic.is_empty() {
                    next_group.insert(t.to_string(), next_topic);
                }
            }
            if !next_group.is_empty() {
                self.obs.insert(g.name.clone(), next_group);
            }
            let total_lag: i64 = partitions.iter().filter_map(|p| p.lag).sum();
            let trend = self.trend.entry(g.name.clone()).or_default();
            trend.push_back(total_lag.max(0) as u64);
            while trend.len() > w.trend {
                trend.pop_front();
            }
            let worst = partitions.iter().max_by(|a, b| {
                a.status
                    .cmp(&b.status)
                    .then(a.lag.unwrap_or(0).cmp(&b.lag.unwrap_or(0)))
            });
            let (status, reason) = worst
                .filter(|p| p.status != LagStatus::Ok)
                .map(|p| {
                    (
                        p.status,
                        format!("{}[{}]: {}", p.topic, p.partition, p.reason),
                    )
                })
                .unwrap_or((
                    LagStatus::Ok,
                    if partitions.is_empty() {
                        "no committed offsets".into()
                    } else {
                        "all partitions OK".into()
                    },
                ));
            groups.push(GroupInfo {
                name: g.name.clone(),
                state: g.state.clone(),
                members: g
                    .members
                    .iter()
                    .map(|m| MemberInfo {
                        client_id: m.client_id.clone(),
                        consumer_id: m.consumer_id.clone(),
                        host: m.host.clone(),
                        assignment: m
                            .assignment
                            .iter()
                            .map(|(t, p)| format!("{t}[{p}]"))
                            .collect(),
                    })
                    .collect(),
                total_lag,
                max_partition_lag: partitions.iter().filter_map(|p| p.lag).max().unwrap_or(0),
                lag_seconds: partitions
                    .iter()
                    .filter_map(|p| p.lag_seconds)
                    .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s)))),
                trend: trend.iter().copied().collect(),
                status,
                reason,
                error: error.or_else(|| g.error.clone()),
                partitions,
            });
        }
        let names: BTreeSet<&String> = groups.iter().map(|g| &g.name).collect();
        self.trend.retain(|k, _| names.contains(k));
        groups.sort_by(|a, b| {
            b.status
                .cmp(&a.status)
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
        }
    }
}

/// Topic configs are re-read every this many polls.
const CONFIG_EVERY: u64 = 10;

pub struct KafkaPoller {
    spec: KafkaSpec,
    admin: Option<admin::Admin>,
    /// The batched groups path; Err: why it cannot run with this entry's settings.
    batch: Option<Result<wire::Batch, String>>,
    /// Only librdkafka's per-group path (benchmarks compare the two).
    per_group_only: bool,
    /// Requests the last batched fetch sent.
    batch_requests: Option<usize>,
    state: State,
    timeout: Duration,
}

impl KafkaPoller {
    pub fn new(spec: KafkaSpec) -> Self {
        Self::with_windows(spec, Windows::default())
    }

    /// A poller with chosen window sizes (tests use short ones).
    pub fn with_windows(spec: KafkaSpec, windows: Windows) -> Self {
        Self {
            spec,
            admin: None,
            batch: None,
            per_group_only: false,
            batch_requests: None,
            state: State::new(windows),
            timeout: Duration::from_secs(5),
        }
    }

    /// A poller that reads groups with librdkafka's per-group requests only.
    pub fn per_group_only(mut self) -> Self {
        self.per_group_only = true;
        self
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
}

pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Poller for KafkaPoller {
    async fn poll(&mut self) -> Result<Sample, String> {
        let admin = match self.admin.take() {
            Some(a) => a,
            None => {
                let cfg = client_config(&self.spec)?;
                if self.batch.is_none() && !self.per_group_only {
                    self.batch = Some(
                        wire::Batch::new(&wire::properties(&cfg), self.timeout).map_err(|u| u.0),
                    );
                }
                admin::Admin::new(&cfg, self.timeout)?
            }
        };
        let with_configs = self.state.polls.is_multiple_of(CONFIG_EVERY);
        let batched = matches!(self.batch, Some(Ok(_)));
        let (admin, raw) = tokio::task::spawn_blocking(move || {
            let r = collect_with(&admin, with_configs, !batched);
            (admin, r)
        })
        .await
        .map_err(|e| e.to_string())?;
        // Kept across polls (one long-lived client); dropped by `reset` after errors.
        self.admin = Some(admin);
        let mut raw = raw?;
        let groups_started = std::time::Instant::now();
        self.read_batched(&mut raw, batched).await?;
        raw.elapsed += groups_started.elapsed();
        self.state.polls += 1;
        let s = self.state.ingest(raw, unix_now(), self.spec.show_internal);
        Ok(Sample::Kafka(Box::new(s)))
    }

    fn reset(&mut self) {
        self.admin = None;
        // Reconnects too, and checks again whether the brokers support the batched path.
        self.batch = None;
    }
}

/// Groups per topic name, for the topics view.
pub fn groups_by_topic(s: &KafkaSample) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for g in &s.groups {
        let ts: BTreeSet<&str> = g.partitions.iter().map(|p| p.topic.as_str()).collect();
        for t in ts {
            *m.entry(t).or_default() += 1;
        }
    }
    m
}
