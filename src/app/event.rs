//! Everything that reaches the loop, and everything `update` asks the loop to do.

use crossterm::event::{KeyEvent, MouseEvent};

use crate::actions::Command;
use crate::config::theme::Theme;
use crate::sources::Update;

#[derive(Debug)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// A source's update, tagged with the context generation that started it.
    Source {
        generation: u64,
        index: usize,
        update: Update,
    },
    /// The minute changed (the header clock shows HH:MM, so nothing ticks faster while idle).
    Clock,
    ThemeLoaded(Result<Theme, String>),
    ActionDone {
        command: Box<Command>,
        result: Result<String, String>,
    },
    /// SIGTERM, SIGHUP, SIGINT: leave cleanly.
    Terminate,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    Suspend,
    /// Stop the sources and start those of `state.ctx` with `state.generation`.
    RestartSources,
    PollNow,
    LoadTheme(String),
    /// Run a confirmed command off the loop, audit it, report `ActionDone`.
    Execute(Box<Command>, String),
    /// Record a refused command in the audit log.
    AuditRefused(Box<Command>, String),
    Bell,
}
