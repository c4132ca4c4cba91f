//! The state, its events, the pure `update`, and the loop that owns them.

pub mod commands;
pub mod event;
pub mod run;
pub mod state;
pub mod terminal;
pub mod update;

pub use event::{Effect, Event};
pub use state::State;
pub use update::update;
