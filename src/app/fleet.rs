//! The fleet view (`:fleet`, `opsdeck --fleet`): every context of the config, one row each,
//! with its worst alert, a figure per pane and how many of its sources answer; Enter
//! switches into the selected context as `:ctx NAME` does.
//!
//! It is a screen over the panes rather than a `Mode`, so the command line, the help and
//! the messages keep working on top of it; and not a seventh pane, because panes show the
//! current context's sources while the fleet stands above contexts and outlives a switch.
//! Its polls run in their own task (`fleet::run`), started when it opens and stopped when it
//! closes, so contexts nobody looks at are not polled; rows arrive as events.

use chrono::{DateTime, Utc};

use super::event::Effect;
use super::state::State;

use crate::config::keymap::Action;
use crate::fleet::{self, Progress};
use crate::views::Level;

/// What the fleet makes of an action pressed while it is open.
pub enum Handled {
    Done(Vec<Effect>),
    /// Quit, help, the command line, suspend: as anywhere, over the fleet.
    Global,
    /// Anything about the current context's panes: the fleet closes, then the action runs.
    Leave,
}

fn rebuild(state: &mut State) {
    state.fleet.table = fleet::model(&state.fleet.slots, &state.context);
}

/// Opens the fleet on the current context's row and starts its polls.
pub fn open(state: &mut State) -> Vec<Effect> {
    state.dirty = true;
    if state.fleet.open {
        return vec![];
    }
    state.fleet.open = true;
    if let Some(i) = state
        .fleet
        .slots
        .iter()
        .position(|s| s.context == state.context)
    {
        state.fleet.selected = i;
    }
    rebuild(state);
    vec![Effect::StartFleet]
}

/// Closes the fleet and stops its polls (rows are kept for the next time it opens).
pub fn close(state: &mut State) -> Vec<Effect> {
    if !state.fleet.open {
        return vec![];
    }
    state.fleet.open = false;
    state.fleet.round_since = None;
    for s in &mut state.fleet.slots {
        s.polling = false;
    }
    rebuild(state);
    state.dirty = true;
    vec![Effect::StopFleet]
}

pub fn on_progress(state: &mut State, progress: Progress, now: DateTime<Utc>) -> Vec<Effect> {
    let f = &mut state.fleet;
    match progress {
        Progress::Round => {
            f.round_since = Some(now);
            for s in &mut f.slots {
                s.polling = true;
            }
        }
        Progress::Row(row) => {
            if let Some(s) = f.slots.iter_mut().find(|s| s.context == row.context) {
                s.polling = false;
                s.row = Some(*row);
            }
        }
        Progress::Done => {
            f.round_since = None;
            f.last_round = Some(now);
            for s in &mut f.slots {
                s.polling = false;
            }
        }
    }
    rebuild(state);
    if state.fleet.open {
        state.dirty = true;
    }
    vec![]
}

/// Rows a page moves.
fn page(state: &State) -> usize {
    (state.size.1 as usize).saturating_sub(9).max(1)
}

fn select(state: &mut State, to: impl Fn(usize, usize) -> usize) {
    let n = state.fleet.slots.len();
    if n > 0 {
        state.fleet.selected = to(state.fleet.selected, n).min(n - 1);
    }
}

pub fn on_action(state: &mut State, action: Action) -> Handled {
    let p = page(state);
    match action {
        Action::Up => select(state, |i, _| i.saturating_sub(1)),
        Action::Down => select(state, |i, _| i + 1),
        Action::PageUp => select(state, |i, _| i.saturating_sub(p)),
        Action::PageDown => select(state, |i, _| i + p),
        Action::Top => select(state, |_, _| 0),
        Action::Bottom => select(state, |_, n| n - 1),
        Action::Select => return Handled::Done(enter(state)),
        Action::Back => return Handled::Done(close(state)),
        Action::Refresh => {
            state.message = Some(("polling every context…".into(), Level::Muted));
            return Handled::Done(vec![Effect::PollFleetNow]);
        }
        Action::Quit | Action::Suspend | Action::Help | Action::Command => return Handled::Global,
        Action::Filter
        | Action::NextView
        | Action::PrevView
        | Action::NextSource
        | Action::Mark => {
            state.message = Some((
                format!(
                    "{}: not in the fleet view (enter opens a context)",
                    action.hint()
                ),
                Level::Muted,
            ));
        }
        _ => return Handled::Leave,
    }
    Handled::Done(vec![])
}

/// Enter: into the selected context, as `:ctx NAME`.
fn enter(state: &mut State) -> Vec<Effect> {
    let Some(name) = state
        .fleet
        .slots
        .get(state.fleet.selected)
        .map(|s| s.context.clone())
    else {
        return vec![];
    };
    if name == state.context {
        state.message = Some((format!("context {name}"), Level::Info));
        return close(state);
    }
    switch_context(state, &name)
}

/// A click on a row of the fleet table selects it; on the selected row, enters it.
pub fn click(state: &mut State, row: Option<usize>) -> Vec<Effect> {
    match row {
        Some(i) if i == state.fleet.selected => enter(state),
        Some(i) if i < state.fleet.slots.len() => {
            state.fleet.selected = i;
            state.dirty = true;
            vec![]
        }
        _ => vec![],
    }
}

/// Stops the current context's sources and starts those of `name` (a defined context), as
/// `:ctx NAME` and Enter in the fleet do; the fleet closes.
pub fn switch_context(state: &mut State, name: &str) -> Vec<Effect> {
    let Some(ctx) = state.config.contexts.get(name).cloned() else {
        state.message = Some((format!("no context {name:?}"), Level::Warn));
        state.dirty = true;
        return vec![];
    };
    let mut effects = close(state);
    state.context = name.to_string();
    state.ctx = ctx;
    state.generation += 1;
    state.reset_sources();
    state.zoomed = false;
    state.message = Some((format!("context {name}"), Level::Info));
    state.dirty = true;
    effects.push(Effect::RestartSources);
    effects
}

#[cfg(test)]
mod tests;
