//! opsdeck: an on-call console for Kafka, PostgreSQL, Redis, backups, alerts and the host.
//!
//! The engine (`sources`, `alerts`, `actions`, `views`) never imports ratatui; `app` owns
//! the state and its pure `update`; `ui` draws it.
#![deny(clippy::unwrap_used)]

pub mod actions;
pub mod alerts;
pub mod app;
pub mod cli;
pub mod config;
pub mod report;
pub mod sources;
pub mod topics;
pub mod ui;
pub mod views;
