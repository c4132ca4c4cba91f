//! What a node's latency monitor, slow log and command statistics said (read by
//! `latency`, kept in the sample by `model`).

use serde::Serialize;

/// One `LATENCY LATEST` event with its recent history.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LatencyEvent {
    pub event: String,
    /// Unix seconds of the latest spike.
    pub at: i64,
    pub latest_ms: u64,
    pub max_ms: u64,
    /// `LATENCY HISTORY`: (Unix seconds, ms), oldest first, the last 20.
    pub history: Vec<(i64, u64)>,
}

/// One `SLOWLOG GET` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlowEntry {
    pub id: i64,
    /// Unix seconds when it ran.
    pub at: i64,
    pub duration_us: u64,
    /// The command as shown: its name (and subcommand), the first argument cut to 32
    /// characters where it names a key, and how many arguments followed; no values.
    pub command: String,
    pub client: String,
    pub client_name: String,
}

/// One `INFO commandstats` line, with calls per second since the previous read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CommandStat {
    pub command: String,
    pub calls: u64,
    pub usec: u64,
    pub usec_per_call: f64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
    pub calls_per_sec: Option<f64>,
}

/// One `INFO errorstats` line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ErrorStat {
    pub error: String,
    pub count: u64,
    pub per_sec: Option<f64>,
}

/// What one node said.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diagnostics {
    pub node: String,
    pub latency: Vec<LatencyEvent>,
    pub slowlog: Vec<SlowEntry>,
    /// Busiest first (by time spent).
    pub commands: Vec<CommandStat>,
    pub errors: Vec<ErrorStat>,
    /// What could not be read (an ACL refusal, LATENCY on an old server).
    pub notes: Vec<String>,
}
