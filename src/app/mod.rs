//! The state, its events, the pure `update`, and the loop that owns them.

pub mod alerts;
pub mod commands;
pub mod event;
pub mod fleet;
pub mod keys;
pub mod osc52;
mod refresh;
pub mod run;
pub mod state;
pub mod terminal;
pub mod timeline;
#[cfg(test)]
mod timeline_tests;
pub mod update;
pub mod view;
#[cfg(test)]
mod walk_tests;

pub use event::{Effect, Event};
pub use state::State;
pub use update::update;
