//! Sources: one folder per monitored system, each implementing `system::System`; the
//! registry lists them once; the runner polls each configured source on its own task.
//! Nothing here imports ratatui.

pub mod backups;
pub mod endpoints;
pub mod host;
pub mod kafka;
pub mod mysql;
pub mod onscreen;
pub mod postgres;
pub mod redis;

pub mod registry;
pub mod runner;
pub mod system;

use chrono::{DateTime, Local};

pub use registry::{
    ContextSpec, Control, Op, Sample, SourceKind, SourceSpec, Update, plan, poll_once, spawn,
};
pub use runner::{Status, backoff, poll_timeout};
pub use system::{At, Availability, Offer, Plan, Planned, Poller, Risk, System};

/// Wall-clock time for display and JSON ("stale since 03:12:09").
pub fn now_local() -> DateTime<Local> {
    Local::now()
}
