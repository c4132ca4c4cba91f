//! The sample's shape: a public, stable JSON API (`opsdeck snapshot --output json`).

use std::collections::BTreeMap;

use serde::Serialize;

/// Counts per session state label (see [`state_label`]).
pub type StateCounts = BTreeMap<String, i64>;

/// The states the overview counts, in display order.
pub const STATES: [&str; 5] = [
    "active",
    "waiting on a lock",
    "idle in transaction",
    "idle in transaction (aborted)",
    "idle",
];

#[derive(Debug, Clone, Default, Serialize)]
pub struct PgSample {
    /// `version()` of the server.
    pub version: String,
    /// `server_version_num`, e.g. 150004.
    pub version_num: i32,
    pub in_recovery: bool,
    /// "primary" or "standby".
    pub role: String,
    pub uptime_seconds: f64,
    /// The role the console connects as, and whether it sees everything.
    pub connected_as: String,
    pub max_connections: i64,
    /// `superuser_reserved_connections` (+ `reserved_connections` on 16+).
    pub reserved_connections: i64,
    /// `max_connections` minus the reserved slots: what applications can use.
    pub usable_connections: i64,
    pub connections: Connections,
    /// pg_stat_database deltas since the previous poll (absent on the first poll).
    pub rates: Option<DbRates>,
    /// Client sessions, longest running first: every one idle in a transaction, waiting on
    /// a lock or blocking, and up to `SESSION_ROWS` more (not idle first, then the longest
    /// idle). `connections` counts all of them: fewer rows than `connections.total` means
    /// the rest were counted, not listed.
    pub activity: Vec<Session>,
    /// The blocking tree, flattened depth-first, root blockers first.
    pub locks: Vec<LockNode>,
    /// Top statements by time spent since the previous poll (or in total on the first).
    pub statements: Vec<Statement>,
    pub replication: Replication,
    pub maintenance: Maintenance,
    /// Login roles with their connection limit (-1 = none) and current sessions.
    pub roles: Vec<RoleLimit>,
    /// PgBouncer's `SHOW POOLS`, when a `pgbouncer` admin address is configured.
    pub pgbouncer_pools: Option<Vec<super::pgbouncer::Pool>>,
    /// Replication slots with the WAL each one holds back (read on the slow schedule).
    pub slots: Vec<Slot>,
    /// How the statements' deltas were taken, and whether entries were evicted meanwhile.
    pub statements_info: StatementsInfo,
    /// How often the heavy figures (statements, slots, ages, settings) are read; database
    /// sizes every second time.
    pub slow_refresh_seconds: f64,
    /// Seconds since each heavy figure was read (None: not read yet).
    pub ages: FigureAges,
    /// Where lock wait times come from: "waitstart" (pg_locks, PG 14+) or "query_start"
    /// (older servers: the waiting query's start, which includes time before the wait).
    pub lock_wait_source: String,
    /// What the console cannot show and how to fix it (missing extension, privileges).
    pub hints: Vec<String>,
    /// ERROR, FATAL and PANIC lines of the server log (read on the slow schedule; null
    /// until the first read).
    pub server_log: Option<super::serverlog::ServerLog>,
    /// Index and bloat advice for the database connected to (slow schedule).
    pub index_advice: super::indexes::IndexAdvice,
    /// The filesystem of the data directory when the server runs on this machine and the
    /// role may read `data_directory`.
    pub data_disk: Option<DataDisk>,
    /// Time to full of each database, the data directory and the connection slots.
    pub capacity: Vec<crate::capacity::Forecast>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Connections {
    /// Client backends, all states (the console's own included).
    pub total: i64,
    pub by_state: StateCounts,
    pub by_database: BTreeMap<String, StateCounts>,
    pub by_role: BTreeMap<String, StateCounts>,
    pub by_application: BTreeMap<String, StateCounts>,
    pub by_client: BTreeMap<String, StateCounts>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DbRates {
    pub interval_seconds: f64,
    pub transactions_per_second: f64,
    pub rollbacks_per_second: f64,
    /// Buffer hits / (hits + reads) over the interval; None when nothing was read.
    pub cache_hit_ratio: Option<f64>,
    /// New deadlocks during the interval.
    pub deadlocks: i64,
    pub temp_bytes_per_second: f64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Session {
    pub pid: i32,
    pub database: String,
    pub user: String,
    pub application: String,
    /// Client address, "local" for a Unix socket, empty when unknown.
    pub client: String,
    /// One of [`STATES`], or "unknown" when privileges hide it.
    pub state: String,
    pub wait_event: String,
    pub xact_seconds: Option<f64>,
    pub query_seconds: Option<f64>,
    /// Time in the current state (how long idle in transaction has lasted).
    pub state_seconds: Option<f64>,
    pub query: String,
    /// The console's own connection: never a target of an action.
    pub own: bool,
    /// `backend_start` in microseconds since the Unix epoch: with the pid, the identity an
    /// action checks before signalling (None when privileges hide it).
    pub backend_start: Option<i64>,
}

impl Session {
    pub fn hidden(&self) -> bool {
        self.query == "<insufficient privilege>"
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LockNode {
    pub pid: i32,
    /// 0 for a root blocker.
    pub depth: usize,
    /// The pids this one waits for (empty for a root).
    pub blocked_by: Vec<i32>,
    /// Sessions waiting behind this one, directly or transitively.
    pub waiters: usize,
    /// The longest wait among them (or this session's own wait when it is a waiter).
    pub longest_wait_seconds: f64,
    /// This session's own lock wait (None for a root that does not wait itself).
    pub wait_seconds: Option<f64>,
    /// When that wait began (`pg_locks.waitstart`, Unix seconds; None before PG 14).
    pub waiting_since: Option<f64>,
    pub state: String,
    pub user: String,
    pub database: String,
    pub query: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Statement {
    pub queryid: i64,
    pub database: String,
    pub user: String,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub rows: i64,
    /// Since the previous poll (None on the first poll for this statement).
    pub calls_per_second: Option<f64>,
    /// Milliseconds of execution per second of wall time since the previous poll.
    pub ms_per_second: Option<f64>,
    pub query: String,
    /// Other roles' statements, summed per role and database: their text and queryid need
    /// pg_read_all_stats.
    pub hidden: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StatementsInfo {
    /// Seconds between the two pg_stat_statements snapshots the deltas come from (None
    /// until the second read).
    pub interval_seconds: Option<f64>,
    /// Entries in pg_stat_statements at the last read.
    pub entries: usize,
    /// `pg_stat_statements_info.dealloc` (PG 14+): entries evicted since the reset.
    pub dealloc: Option<i64>,
    /// Entries evicted between the two snapshots: the deltas may miss queries.
    pub evicted: i64,
}

/// Seconds since each heavy figure was last read.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FigureAges {
    pub settings: Option<f64>,
    pub statements: Option<f64>,
    pub sizes: Option<f64>,
    /// age(datfrozenxid) / mxid_age(datminmxid) of every database.
    pub wraparound: Option<f64>,
    pub slots: Option<f64>,
    /// Dead tuples, sequential scans, unused indexes.
    pub maintenance: Option<f64>,
    pub roles: Option<f64>,
    /// Index and bloat advice.
    pub indexes: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Slot {
    pub name: String,
    /// "physical" or "logical".
    pub slot_type: String,
    /// Logical slots: the database and output plugin.
    pub database: String,
    pub plugin: String,
    pub active: bool,
    pub active_pid: Option<i32>,
    pub temporary: bool,
    /// reserved, extended, unreserved (WAL past max_slot_wal_keep_size: removed at the next
    /// checkpoint) or lost (the consumer can never resume); empty before PG 13.
    pub wal_status: String,
    /// WAL held back: the current WAL position (on a standby: the last received) minus
    /// restart_lsn. None when the slot has no restart_lsn.
    pub retained_bytes: Option<i64>,
    /// Bytes that can still be written before the slot loses WAL (None: no limit).
    pub safe_wal_size: Option<i64>,
    /// Seconds since the slot became inactive (`inactive_since`, PG 17+).
    pub inactive_seconds: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Replication {
    /// On a primary: one entry per connected standby.
    pub standbys: Vec<Standby>,
    /// On a standby: the WAL receiver.
    pub receiver: Option<Receiver>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Standby {
    pub application: String,
    pub client: String,
    pub state: String,
    pub sync_state: String,
    pub sent_lag_bytes: i64,
    pub write_lag_bytes: i64,
    pub flush_lag_bytes: i64,
    pub replay_lag_bytes: i64,
    pub write_lag_seconds: Option<f64>,
    pub flush_lag_seconds: Option<f64>,
    pub replay_lag_seconds: Option<f64>,
    /// The role may not read this standby's state and positions (they need
    /// pg_read_all_stats): state is empty and the lags are unknown, not zero.
    pub hidden: bool,
    /// Replay lag reached 30 s and has not yet fallen under 27 s: kept by the poller across
    /// samples, so a lag hovering at the threshold is one crossing, not one per poll.
    pub lagging: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Receiver {
    /// "streaming", "waiting", ... "stopped" when no receiver runs, or "unknown" when a
    /// receiver runs but the role may not read its status (`hidden`).
    pub status: String,
    /// The status needs pg_read_all_stats: a receiver runs, in a state we cannot see.
    pub hidden: bool,
    pub sender: String,
    /// WAL received but not yet replayed.
    pub replay_lag_bytes: i64,
    /// now() - last replayed transaction's commit time (grows on an idle primary too).
    pub replay_delay_seconds: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Maintenance {
    pub dead_tuples: Vec<TableHealth>,
    pub seq_scan_heavy: Vec<TableHealth>,
    pub unused_indexes: Vec<UnusedIndex>,
    pub databases: Vec<DbHealth>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TableHealth {
    pub table: String,
    pub live_tuples: i64,
    pub dead_tuples: i64,
    pub seq_scans: i64,
    pub seq_tuples_read: i64,
    pub index_scans: i64,
    /// Seconds since the last (auto)vacuum / (auto)analyze, None if never.
    pub last_vacuum_seconds: Option<f64>,
    pub last_analyze_seconds: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct UnusedIndex {
    pub index: String,
    pub table: String,
    /// Estimated from pg_class.relpages (takes no lock).
    pub size_bytes: i64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DbHealth {
    pub database: String,
    /// None when the role may not connect to it.
    pub size_bytes: Option<i64>,
    /// age(datfrozenxid): wraparound at ~2.1 billion, autovacuum forces at 200 million.
    pub xid_age: i64,
    /// mxid_age(datminmxid): multixact wraparound, also at 2^31.
    pub mxid_age: i64,
    /// xid_age and mxid_age as fractions of the 2^31 limit.
    pub xid_wraparound_ratio: f64,
    pub mxid_wraparound_ratio: f64,
    /// False for template0 and other databases nobody may connect to (autovacuum still
    /// freezes them).
    pub allows_connections: bool,
}

/// Transaction and multixact IDs wrap around at 2^31 of age.
pub const WRAPAROUND_LIMIT: f64 = 2_147_483_648.0;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RoleLimit {
    pub role: String,
    /// -1 means no limit.
    pub connection_limit: i32,
    pub connections: i64,
}

/// The label a session is counted under.
pub fn state_label(state: Option<&str>, wait_event_type: Option<&str>) -> String {
    if wait_event_type == Some("Lock") {
        return "waiting on a lock".into();
    }
    match state {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "unknown".into(),
    }
}

/// Sessions read in full each poll beyond the ones that must be (own, idle in transaction,
/// waiting, blocking): a zoomed table's worth several times over. The others are counted.
pub const SESSION_ROWS: i64 = 200;

/// Counts sessions by state, overall and per database, role, application and client.
pub fn count_connections(sessions: &[Session]) -> Connections {
    let mut c = Connections::default();
    for s in sessions {
        c.add(&s.database, &s.user, &s.application, &s.client, &s.state, 1);
    }
    c
}

impl Connections {
    /// Adds `n` sessions of one database, role, application, client and state.
    pub fn add(
        &mut self,
        database: &str,
        role: &str,
        app: &str,
        client: &str,
        state: &str,
        n: i64,
    ) {
        self.total += n;
        *self.by_state.entry(state.to_string()).or_default() += n;
        for (map, key) in [
            (&mut self.by_database, database),
            (&mut self.by_role, role),
            (&mut self.by_application, app),
            (&mut self.by_client, client),
        ] {
            *map.entry(key.to_string())
                .or_default()
                .entry(state.to_string())
                .or_default() += n;
        }
    }
}

/// The filesystem holding the data directory, as this machine sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DataDisk {
    pub data_directory: String,
    pub mount: String,
    pub total_bytes: u64,
    pub available_bytes: u64,
}
