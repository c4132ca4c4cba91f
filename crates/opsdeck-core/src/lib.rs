//! opsdeck's engine: config, sources (one folder per monitored system), alerts, guarded
//! actions and the view models panes are drawn from. Nothing here draws or reads the
//! terminal: the crate depends on neither ratatui nor crossterm, and the compiler keeps it so.
#![deny(clippy::unwrap_used)]

pub mod actions;
pub mod alerts;
pub mod capacity;
pub mod config;
pub mod exporter;
pub mod fleet;
pub mod input;
pub mod keymap;
pub mod metrics;
pub mod note;
pub mod report;
pub mod secrets;
pub mod series;
pub mod sources;
pub mod timeline;
pub mod topics;
pub mod views;
