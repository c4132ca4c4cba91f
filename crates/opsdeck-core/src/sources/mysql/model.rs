//! The sample's shape: plain data, serialised as it is for `snapshot --output json`.

use std::collections::BTreeMap;

use serde::Serialize;

/// Counts per thread state label (see [`STATES`]).
pub type StateCounts = BTreeMap<String, i64>;

/// The states the overview counts, in display order.
pub const STATES: [&str; 5] = [
    "active",
    "waiting on a lock",
    "idle in transaction",
    "idle",
    "other",
];

/// MariaDB or MySQL: the SQL differs (timeouts, lock views, replication words).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    #[default]
    Mariadb,
    Mysql,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MysqlSample {
    /// `VERSION()`, e.g. "10.11.6-MariaDB-0+deb12u1-log".
    pub version: String,
    pub flavor: Flavor,
    pub uptime_seconds: f64,
    /// The server's start on its own clock (unix seconds): with a thread id, it names one
    /// connection for the server's whole life (ids are not reused until a restart).
    pub server_started_at: i64,
    /// `CURRENT_USER()` of the console's connection.
    pub connected_as: String,
    /// The console's own connection id (never listed, never a target).
    pub own_connection_id: u64,
    pub server_id: i64,
    pub read_only: bool,
    pub performance_schema: bool,
    pub max_connections: i64,
    /// `Threads_connected`: every client connection, the console's included.
    pub threads_connected: i64,
    pub threads_running: i64,
    pub max_used_connections: i64,
    /// Counted from the processlist (client threads, the console's own excluded).
    pub connections: Connections,
    /// Counter totals since the server started.
    pub totals: Totals,
    /// Per-second rates since the previous poll (absent on the first poll).
    pub rates: Option<Rates>,
    /// False when the console's user lacks PROCESS: the processlist, transactions and lock
    /// waits then show only its own threads, so they are left empty and say so.
    pub has_process: bool,
    /// Client and system threads, longest running first (the console's own excluded).
    pub processlist: Vec<Thread>,
    /// The lock-wait tree, flattened depth-first, root blockers first.
    pub locks: Vec<LockNode>,
    /// Where lock waits come from: "information_schema.INNODB_LOCK_WAITS" (MariaDB,
    /// MySQL 5.7) or "performance_schema.data_lock_waits" (MySQL 8), empty when neither.
    pub lock_source: String,
    /// Top statements by time since the previous poll; None when performance_schema is OFF.
    pub statements: Option<Vec<Statement>>,
    pub replication: Replication,
    /// What the console cannot show and how to fix it.
    pub hints: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Connections {
    pub total: i64,
    pub by_state: StateCounts,
    pub by_user: BTreeMap<String, StateCounts>,
    /// Client host without its port ("127.0.0.1", "localhost").
    pub by_host: BTreeMap<String, StateCounts>,
    /// Default database of the connection, "" for none.
    pub by_database: BTreeMap<String, StateCounts>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    /// Statements sent by clients (`Questions`; the console's own count too).
    pub questions: i64,
    pub slow_queries: i64,
    pub aborted_connects: i64,
    pub aborted_clients: i64,
    pub deadlocks: i64,
    pub buffer_pool_read_requests: i64,
    /// Logical reads that missed the buffer pool and went to disk.
    pub buffer_pool_reads: i64,
    pub row_lock_current_waits: i64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Rates {
    pub interval_seconds: f64,
    pub queries_per_second: f64,
    pub slow_queries_per_second: f64,
    /// New during the interval.
    pub aborted_connects: i64,
    pub deadlocks: i64,
    /// Buffer pool hits / logical reads over the interval; None when nothing was read.
    pub buffer_pool_hit_ratio: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Thread {
    pub id: u64,
    pub user: String,
    /// As the server shows it: "127.0.0.1:51234" for TCP (the port tells connections
    /// apart), "localhost" for a socket.
    pub host: String,
    pub database: String,
    /// `COMMAND`: Sleep, Query, Binlog Dump, Slave_SQL, Daemon, …
    pub command: String,
    /// Seconds in the current command (for Sleep: idle for).
    pub seconds: f64,
    pub state: String,
    pub info: String,
    /// One of [`STATES`].
    pub label: String,
    /// Age of the open InnoDB transaction, if any.
    pub trx_seconds: Option<f64>,
    pub trx_rows_modified: Option<i64>,
    /// Another opsdeck console's connection (seen through its `@opsdeck` variable).
    pub console: bool,
    /// Replication, event scheduler and other server-internal threads.
    pub system: bool,
    /// When the current command started, on the server's clock (unix seconds, fractional).
    pub command_started_at: f64,
    /// MariaDB's id of the current (or last) statement.
    pub query_id: Option<u64>,
}

impl Thread {
    /// Client host without the port.
    pub fn host_name(&self) -> &str {
        host_without_port(&self.host)
    }

    pub fn running(&self) -> bool {
        !self.system && self.command != "Sleep" && self.command != "Daemon"
    }
}

/// "10.0.0.5:51234" -> "10.0.0.5"; "localhost" stays.
pub fn host_without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LockNode {
    pub id: u64,
    /// 0 for a root blocker.
    pub depth: usize,
    /// The threads this one waits for (empty for a root).
    pub blocked_by: Vec<u64>,
    /// Threads waiting behind this one, directly or transitively.
    pub waiters: usize,
    /// This thread's own wait (waiters) or the longest wait behind it (roots).
    pub wait_seconds: f64,
    /// What the waiter waits for: "X on shop.orders (PRIMARY)".
    pub lock: String,
    pub user: String,
    pub host: String,
    pub label: String,
    pub trx_seconds: Option<f64>,
    pub info: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Statement {
    pub digest: String,
    pub schema: String,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
    pub rows_examined: i64,
    pub rows_sent: i64,
    pub errors: i64,
    pub no_index_used: i64,
    /// Since the previous poll (None on the first poll for this digest).
    pub calls_per_second: Option<f64>,
    /// Milliseconds of execution per second of wall time since the previous poll.
    pub ms_per_second: Option<f64>,
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Replication {
    /// This server's replication channels (one per source; the default one is "").
    pub channels: Vec<Channel>,
    /// Replicas reading this server's binary log (its Binlog Dump threads).
    pub replicas: Vec<String>,
    /// MariaDB `@@gtid_binlog_pos` / MySQL `@@gtid_executed`.
    pub gtid_binlog_pos: String,
    /// MariaDB `@@gtid_slave_pos` (empty elsewhere).
    pub gtid_slave_pos: String,
    /// Why channels could not be read (a missing privilege), if so.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Channel {
    /// Connection (MariaDB) or channel (MySQL) name; "" for the default.
    pub name: String,
    pub source: String,
    /// "Yes", "No", "Connecting", "Preparing".
    pub io_running: String,
    pub sql_running: String,
    /// None while the SQL thread is stopped or the IO thread disconnected.
    pub seconds_behind: Option<i64>,
    pub last_io_error: String,
    pub last_sql_error: String,
    /// "Slave_Pos"/"Current_Pos"/"No" (MariaDB), "1"/"0" auto-position (MySQL).
    pub using_gtid: String,
    /// MariaDB `Gtid_IO_Pos` / MySQL `Retrieved_Gtid_Set`.
    pub gtid_io_pos: String,
    /// MySQL `Executed_Gtid_Set` (MariaDB keeps this in `gtid_slave_pos`).
    pub gtid_executed: String,
    pub state: String,
    /// Seconds behind reached 30 s and has not yet fallen under 27 s: kept by the poller
    /// across samples, so a lag hovering at the threshold is one crossing, not one per poll.
    pub lagging: bool,
}

impl Channel {
    pub fn running(&self) -> bool {
        self.io_running == "Yes" && self.sql_running == "Yes"
    }
}

/// The label a thread is counted under.
pub fn state_label(command: &str, state: &str, lock_wait: bool, in_trx: bool) -> &'static str {
    if lock_wait || state.starts_with("Waiting for") && state.contains("lock") {
        return "waiting on a lock";
    }
    match command {
        "Sleep" if in_trx => "idle in transaction",
        "Sleep" => "idle",
        "Query" | "Execute" | "Fetch" => "active",
        _ => "other",
    }
}

/// Counts client threads (not system ones) by state, user, host and database.
pub fn count_connections(threads: &[Thread]) -> Connections {
    let mut c = Connections::default();
    for t in threads.iter().filter(|t| !t.system) {
        c.total += 1;
        *c.by_state.entry(t.label.clone()).or_default() += 1;
        for (map, key) in [
            (&mut c.by_user, t.user.as_str()),
            (&mut c.by_host, t.host_name()),
            (&mut c.by_database, t.database.as_str()),
        ] {
            *map.entry(key.to_string())
                .or_default()
                .entry(t.label.clone())
                .or_default() += 1;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lose_their_port_only() {
        assert_eq!(host_without_port("127.0.0.1:51234"), "127.0.0.1");
        assert_eq!(host_without_port("localhost"), "localhost");
        assert_eq!(host_without_port("::1:4000"), "::1");
        assert_eq!(host_without_port("db-1"), "db-1");
    }

    #[test]
    fn labels() {
        assert_eq!(state_label("Sleep", "", false, false), "idle");
        assert_eq!(state_label("Sleep", "", false, true), "idle in transaction");
        assert_eq!(state_label("Query", "Sending data", false, true), "active");
        assert_eq!(
            state_label("Query", "Updating", true, true),
            "waiting on a lock"
        );
        assert_eq!(
            state_label("Query", "Waiting for table metadata lock", false, false),
            "waiting on a lock"
        );
        assert_eq!(state_label("Binlog Dump", "", false, false), "other");
    }

    #[test]
    fn counts_skip_system_threads() {
        let t = |user: &str, host: &str, db: &str, label: &str, system: bool| Thread {
            user: user.into(),
            host: host.into(),
            database: db.into(),
            label: label.into(),
            system,
            ..Default::default()
        };
        let c = count_connections(&[
            t("app", "10.0.0.1:1", "shop", "idle", false),
            t("app", "10.0.0.1:2", "shop", "active", false),
            t("web", "localhost", "", "idle", false),
            t("system user", "", "", "other", true),
        ]);
        assert_eq!(c.total, 3);
        assert_eq!(c.by_host["10.0.0.1"]["idle"], 1);
        assert_eq!(c.by_host["10.0.0.1"]["active"], 1);
        assert_eq!(c.by_user["web"]["idle"], 1);
        assert_eq!(c.by_database[""]["idle"], 1);
        assert!(!c.by_user.contains_key("system user"));
    }
}
