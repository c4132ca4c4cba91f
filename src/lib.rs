//! opsdeck: an on-call console for Kafka, PostgreSQL, Redis, backups, alerts and the host.
//!
//! The engine lives in the `opsdeck-core` crate (re-exported here under its module names);
//! this crate holds the console: `app` owns the state and its pure `update`, `ui` draws it,
//! `theme` maps view levels to colours, `cli` parses the command line.
#![deny(clippy::unwrap_used)]

pub use opsdeck_core::{
    actions, alerts, config, fleet, note, report, sources, timeline, topics, views,
};

pub mod app;
pub mod cli;
pub mod manpage;
pub mod memory;
pub mod theme;
pub mod ui;
