//! Everything that reaches the loop, and everything `update` asks the loop to do.

use crossterm::event::{KeyEvent, MouseEvent};

use crate::actions::Command;
use crate::sources::Update;
use crate::theme::Theme;

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
    /// A fleet round's progress: a round began, a context's row, the round ended.
    Fleet(crate::fleet::Progress),
    /// The minute changed (the header clock shows HH:MM, so nothing ticks faster while idle).
    Clock,
    ThemeLoaded(Result<Theme, String>),
    ActionDone {
        command: Box<Command>,
        outcome: crate::actions::Outcome,
    },
    /// Alertmanager's alerts, pulled periodically when `alerts.alertmanager` is set.
    AlertsPulled(Result<Vec<crate::alerts::alertmanager::External>, String>),
    /// The outcome of posting alerts to Alertmanager.
    AlertsPushed(Result<(), String>),
    /// The alert inbox as saved (merged with what other consoles wrote) or re-read.
    InboxSaved(Result<crate::alerts::Inbox, String>),
    /// An incident note was written (to this file) or could not be.
    NoteWritten(Result<std::path::PathBuf, String>),
    /// SIGTERM, SIGHUP, SIGINT: leave cleanly.
    Terminate,
}

impl Event {
    /// Whether a source's new sample comes with it (the old one is freed as it is applied).
    pub fn brings_a_sample(&self) -> bool {
        matches!(
            self,
            Event::Source {
                update: Update::Sample(_) | Update::Modelled(..),
                ..
            }
        )
    }

    /// Whether a person waits for the frame this event brings (a key, a result they asked
    /// for). The others (polls, the clock, alert syncs) may wait a moment to share a frame.
    pub fn awaited(&self) -> bool {
        match self {
            Event::Key(_)
            | Event::Mouse(_)
            | Event::Resize(..)
            | Event::ThemeLoaded(_)
            | Event::ActionDone { .. }
            | Event::NoteWritten(_)
            | Event::Terminate => true,
            Event::Source { .. }
            | Event::Fleet(_)
            | Event::Clock
            | Event::AlertsPulled(_)
            | Event::AlertsPushed(_)
            | Event::InboxSaved(_) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    Suspend,
    /// Stop the sources and start those of `state.ctx` with `state.generation`.
    RestartSources,
    PollNow,
    /// Start the fleet's polls (every context, on `fleet_refresh`), unless they run.
    StartFleet,
    /// Stop them (the fleet closed).
    StopFleet,
    /// Start a fleet round now.
    PollFleetNow,
    LoadTheme(String),
    /// Run a confirmed command off the loop, audit it, report `ActionDone`.
    Execute(Box<Command>, String),
    /// Record a refused command in the audit log.
    AuditRefused(Box<Command>, String),
    Bell,
    /// Write the alert inbox (acks, silences, history; JSON) to the data dir, merged with
    /// what the file holds.
    SaveInbox(String),
    /// Re-read the alert inbox file (another console may have acked something).
    ReloadInbox,
    /// Post alerts to Alertmanager.
    PushAlerts(Vec<crate::alerts::alertmanager::PostableAlert>),
    /// Tell source `index` which of its tabs is on screen (`None`: none).
    Visible {
        index: usize,
        tab: Option<String>,
    },
    /// Append these timeline events to the file in the data dir.
    AppendTimeline(Vec<crate::timeline::TimelineEvent>),
    /// Put this text on the terminal's clipboard (OSC 52: through SSH and tmux).
    Copy(String),
    /// Write an incident note (Markdown) as this file name in the data dir's `notes/`.
    WriteNote {
        name: String,
        text: String,
    },
}
