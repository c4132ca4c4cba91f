//! The Redis sample: what one poll saw, as a public JSON API (`opsdeck snapshot`).

use serde::Serialize;

pub use super::diagnostics::Diagnostics;

/// One poll of a Redis deployment (standalone, Sentinel or Cluster).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RedisSample {
    /// `standalone`, `sentinel` or `cluster`.
    pub mode: String,
    /// Every data node polled (for Sentinel: master then replicas; for Cluster: all nodes).
    pub nodes: Vec<NodeInfo>,
    /// Sentinel view of the monitored master, when the deployment uses Sentinel.
    pub sentinel: Option<SentinelView>,
    /// Cluster topology, when the deployment is a Cluster.
    pub cluster: Option<ClusterView>,
    /// Clients of the master (first reachable node), from `CLIENT LIST`.
    pub clients: Vec<ClientInfo>,
    /// Where `clients` came from.
    pub clients_node: String,
    /// The last master change this console saw (Sentinel: address change; Cluster: promotion).
    pub last_failover: Option<Failover>,
    /// Things the configured user may not see or that failed, for people to read.
    pub notes: Vec<String>,
    /// Latency events, slow log and command/error stats per reachable node (slow schedule).
    pub diagnostics: Vec<Diagnostics>,
    /// Seconds since the diagnostics were read (null: not yet).
    pub diagnostics_age_seconds: Option<f64>,
    /// Which maxmemory-policy fits the data, and why.
    pub eviction: Option<EvictionAdvice>,
    /// Time until each node's memory reaches maxmemory (or the system's memory).
    pub capacity: Vec<crate::capacity::Forecast>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Failover {
    pub from: String,
    pub to: String,
    /// Unix seconds when the console noticed it.
    pub at: i64,
}

/// One data node, from `INFO` plus the poller's own measurements.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeInfo {
    pub addr: String,
    /// `master`, `slave` (as Redis says), or empty when unreachable.
    pub role: String,
    pub version: String,
    /// Why this node could not be polled (unreachable, timed out, not permitted).
    pub error: Option<String>,
    pub used_memory: u64,
    pub used_memory_peak: u64,
    pub used_memory_rss: u64,
    /// The host's memory as Redis sees it (`total_system_memory`; 0 when not reported).
    pub total_system_memory: u64,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub allocator_frag_ratio: f64,
    pub mem_fragmentation_ratio: f64,
    pub evicted_keys: u64,
    pub expired_keys: u64,
    /// Keys evicted per second since the previous poll.
    pub evicted_per_sec: Option<f64>,
    /// Keys expired per second since the previous poll.
    pub expired_per_sec: Option<f64>,
    pub ops_per_sec: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Hits / (hits + misses) since the previous poll (or since start on the first poll).
    pub hit_ratio: Option<f64>,
    pub connected_clients: u64,
    pub blocked_clients: u64,
    /// Total keys over every database.
    pub keys: u64,
    /// Keys with a TTL over every database (`expires=` of INFO keyspace).
    pub expiring_keys: u64,
    /// Keys per database, e.g. [("db0", 12)].
    pub keys_per_db: Vec<(String, u64)>,
    pub latency: Latency,
    pub persistence: Persistence,
    pub replication: Replication,
}

/// `PING` round trips measured by the poller.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// This poll's round trip in microseconds.
    pub last_us: Option<u64>,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    /// The window, oldest first (microseconds).
    pub window_us: Vec<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Persistence {
    /// Unix seconds of the last successful RDB save (0: never).
    pub rdb_last_save_time: i64,
    pub rdb_last_bgsave_status: String,
    pub rdb_changes_since_last_save: u64,
    pub rdb_bgsave_in_progress: bool,
    pub aof_enabled: bool,
    pub aof_rewrite_in_progress: bool,
    pub aof_last_bgrewrite_status: String,
    pub aof_last_write_status: String,
    pub loading: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Replication {
    pub master_repl_offset: i64,
    /// On a master: its replicas as it sees them.
    pub replicas: Vec<ReplicaLink>,
    /// On a replica: the master it follows ("host:port").
    pub master: Option<String>,
    /// On a replica: `up` or `down`.
    pub master_link_status: Option<String>,
    /// On a replica whose link is down: seconds since it went down.
    pub master_link_down_secs: Option<u64>,
    /// On a replica: seconds since the last interaction with its master.
    pub master_last_io_secs: Option<u64>,
}

/// A replica as its master reports it (`slaveN:` lines).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ReplicaLink {
    pub addr: String,
    /// `online`, `wait_bgsave`, `send_bulk`, ...
    pub state: String,
    pub offset: i64,
    /// Bytes behind the master's offset.
    pub lag_bytes: i64,
    /// Seconds since the replica's last ACK.
    pub lag_secs: u64,
}

impl ReplicaLink {
    /// A replica that has not acknowledged for this long is treated as disconnected.
    pub const STALE_SECS: u64 = 5;
    pub fn link_down(&self) -> bool {
        self.state != "online" || self.lag_secs >= Self::STALE_SECS
    }
}

/// Sentinel's view of one master.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SentinelView {
    pub master_name: String,
    pub master_addr: String,
    /// The master's flags as Sentinel says (`master`, `s_down`, `o_down`, ...).
    pub master_flags: String,
    pub quorum: u64,
    /// `SENTINEL CKQUORUM` reply (or its error).
    pub ckquorum: String,
    pub ckquorum_ok: bool,
    pub replicas: Vec<SentinelPeer>,
    pub sentinels: Vec<SentinelPeer>,
    /// Which sentinel answered.
    pub asked: String,
    /// The master's config epoch: 0 until a first failover, one more with each.
    pub config_epoch: u64,
    /// Seconds since the answering sentinel last saw the master's role reported changed
    /// (`role-reported-time`): after a failover, about when it happened; otherwise when the
    /// sentinel started watching.
    pub master_role_secs: Option<u64>,
    /// Recent events from the sentinels' pub/sub, oldest first (bounded).
    pub events: Vec<SentinelEvent>,
}

/// A replica or a sentinel as Sentinel lists it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SentinelPeer {
    pub addr: String,
    pub flags: String,
    /// For a sentinel: the master it believes in (asked directly), if reachable.
    pub says_master: Option<String>,
}

impl SentinelPeer {
    pub fn is_down(&self) -> bool {
        self.flags.contains("s_down") || self.flags.contains("o_down")
    }
}

/// One message received on a sentinel's pub/sub (`+sdown`, `+switch-master`, ...).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SentinelEvent {
    /// Unix milliseconds when received.
    pub at_ms: i64,
    pub sentinel: String,
    pub event: String,
    pub detail: String,
}

/// Cluster topology from `CLUSTER NODES` / `CLUSTER INFO`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterView {
    /// `cluster_state` of the node asked.
    pub state: String,
    pub asked: String,
    pub nodes: Vec<ClusterNode>,
    /// Slots served by a master not flagged `fail`.
    pub slots_covered: u32,
    pub all_slots_covered: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ClusterNode {
    pub id: String,
    pub addr: String,
    pub flags: Vec<String>,
    /// `master` or `replica`.
    pub role: String,
    /// For a replica: its master's node id.
    pub master_id: Option<String>,
    pub link_state: String,
    /// Slot ranges, e.g. [(0, 5460)].
    pub slots: Vec<(u16, u16)>,
}

impl ClusterNode {
    pub fn slot_count(&self) -> u32 {
        self.slots
            .iter()
            .map(|(a, b)| u32::from(*b) - u32::from(*a) + 1)
            .sum()
    }
    pub fn failed(&self) -> bool {
        self.flags.iter().any(|f| f == "fail")
    }
    pub fn suspected(&self) -> bool {
        self.flags.iter().any(|f| f == "fail?")
    }
}

/// One client connection (`CLIENT LIST`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub name: String,
    pub user: String,
    pub db: u64,
    pub age_secs: u64,
    pub idle_secs: u64,
    pub cmd: String,
    pub flags: String,
}

/// The valid `maxmemory-policy` values.
pub const POLICIES: &[(&str, &str)] = &[
    ("noeviction", "refuse writes when full"),
    ("allkeys-lru", "evict least recently used keys"),
    ("allkeys-lfu", "evict least frequently used keys"),
    ("allkeys-random", "evict random keys"),
    ("volatile-lru", "evict LRU keys that have a TTL"),
    ("volatile-lfu", "evict LFU keys that have a TTL"),
    ("volatile-random", "evict random keys that have a TTL"),
    ("volatile-ttl", "evict keys with the nearest expiry"),
];

impl NodeInfo {
    pub fn memory_ratio(&self) -> Option<f64> {
        (self.maxmemory > 0).then(|| self.used_memory as f64 / self.maxmemory as f64)
    }
    pub fn is_master(&self) -> bool {
        self.role == "master"
    }
}

/// The eviction policy that fits the key space, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EvictionAdvice {
    /// The policy that fits (null when none can be advised, e.g. maxmemory is 0).
    pub policy: Option<String>,
    /// The policies in force now.
    pub current: String,
    /// The policy in force already is the one advised.
    pub fits: bool,
    pub keys: u64,
    pub expiring_keys: u64,
    /// Key-space hits over lookups since the previous poll (or the start).
    pub hit_ratio: Option<f64>,
    pub evicting: bool,
    /// The reasons, for people.
    pub why: String,
}
