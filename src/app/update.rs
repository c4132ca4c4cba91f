//! `update`: events in, state changed and effects out. Pure: no I/O, no await, so every
//! behaviour here is tested by feeding events.

use chrono::{DateTime, Local, Utc};
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::alerts as alerts_ui;
use super::commands;
use super::event::{Effect, Event};
use super::state::{Button, Confirm, Input, Mode, Pane, RowId, State};
use super::timeline as timeline_ui;
use crate::actions::Outcome;
use crate::config::keymap::Action;
use crate::sources::{SourceKind, Status, Update};
use crate::theme::Theme;
use crate::views::Level;

/// Applies one event at `now` (time enters here, so `update` stays pure and its tests
/// choose the clock); every view is up to date after it.
pub fn update(state: &mut State, event: Event, now: DateTime<Utc>) -> Vec<Effect> {
    let fx = step(state, event, now);
    state.settle();
    fx
}

/// `update` for the loop: a source's answer may leave the Alerts pane stale, so the
/// answers of one tick rebuild it once; the loop settles before it draws, and any other
/// event settles first, so keys always act on what was drawn.
pub fn step(state: &mut State, event: Event, now: DateTime<Utc>) -> Vec<Effect> {
    if !matches!(event, Event::Source { .. }) {
        state.settle();
    }
    let mut fx = apply(state, event, now);
    // The sources whose tab on screen changed are told (costly lists follow what is shown).
    fx.extend(super::visibility::effects(state));
    fx
}

fn apply(state: &mut State, event: Event, now: DateTime<Utc>) -> Vec<Effect> {
    state.now = now;
    // Acks and silences may change on a key, an evaluation or another console's save.
    let acks = state.alert_desk.inbox.acks.clone();
    let silences = state.alert_desk.inbox.silences.clone();
    let mut fx = dispatch(state, event, now);
    let inbox = &state.alert_desk.inbox;
    if inbox.acks != acks || inbox.silences != silences {
        let desk = &state.alert_desk;
        let name = |k: &str| {
            desk.engine
                .entries
                .get(k)
                .map(|e| e.alert.summary.clone())
                .or_else(|| {
                    desk.inbox
                        .history
                        .iter()
                        .rev()
                        .find(|h| h.key == k)
                        .map(|h| h.summary.clone())
                })
                .unwrap_or_else(|| k.to_string())
        };
        let events = crate::timeline::derive::inbox(&acks, &silences, &desk.inbox, name, now);
        fx.extend(timeline_ui::record(state, events, true));
    }
    fx
}

fn dispatch(state: &mut State, event: Event, now: DateTime<Utc>) -> Vec<Effect> {
    match event {
        Event::Key(k) if k.kind != KeyEventKind::Release => on_key(state, k),
        Event::Key(_) => vec![],
        Event::Mouse(m) => on_mouse(state, m),
        Event::Resize(w, h) => {
            state.size = (w, h);
            state.dirty = true;
            vec![]
        }
        Event::Source {
            generation,
            index,
            update,
        } => {
            if generation == state.generation && index < state.sources.len() {
                on_source(state, index, update)
            } else {
                vec![]
            }
        }
        Event::Clock => {
            state.dirty = true;
            vec![Effect::ReloadInbox]
        }
        Event::Fleet(progress) => super::fleet::on_progress(state, progress, now),
        Event::InboxSaved(Ok(saved)) => {
            let merged = state.alert_desk.inbox.merged(&saved, now);
            if merged != state.alert_desk.inbox {
                state.alert_desk.inbox = merged;
                state.alerts = state.alert_desk.loud(now);
                state.refresh(Pane::Alerts);
                state.dirty = true;
            }
            vec![]
        }
        Event::InboxSaved(Err(e)) => say(state, format!("alert inbox: {e}"), Level::Warn),
        Event::NoteWritten(Ok(path)) => say(
            state,
            format!("incident note written to {}", path.display()),
            Level::Info,
        ),
        Event::NoteWritten(Err(e)) => say(state, format!("incident note: {e}"), Level::Crit),
        Event::ThemeLoaded(Ok(theme)) => {
            state.theme = theme.honour_no_color();
            state.message = Some((format!("theme {}", state.theme.name), Level::Info));
            state.dirty = true;
            vec![]
        }
        Event::ThemeLoaded(Err(e)) => say(state, e, Level::Crit),
        Event::ActionDone { command, outcome } => {
            if state.mode == Mode::Running(command.clone()) {
                state.mode = Mode::Normal;
            }
            state.jobs.retain(|(c, _)| c != command.as_ref());
            let event = crate::timeline::derive::action(&command, &outcome, now);
            // The audit log keeps actions; the timeline file need not.
            timeline_ui::record(state, vec![event], false);
            let line = result_line(&command.target, outcome.message());
            state.message = Some(match outcome {
                Outcome::Ok(_) => (format!("✔ {line}"), Level::Ok),
                Outcome::Error(_) => (format!("✘ failed: {line}"), Level::Crit),
                Outcome::Unknown(_) => (format!("? outcome unknown: {line}"), Level::Warn),
            });
            state.dirty = true;
            vec![Effect::PollNow]
        }
        Event::AlertsPulled(Ok(list)) => {
            let changed =
                state.alert_desk.external != list || state.alert_desk.alertmanager_error.is_some();
            state.alert_desk.external = list;
            state.alert_desk.alertmanager_error = None;
            if changed {
                state.refresh(Pane::Alerts);
                state.dirty = true;
            }
            // Alertmanager resolves alerts not re-sent within its resolve_timeout.
            alerts_ui::repush(state, now)
        }
        Event::AlertsPulled(Err(e)) | Event::AlertsPushed(Err(e)) => {
            if state.alert_desk.alertmanager_error.as_ref() != Some(&e) {
                state.alert_desk.alertmanager_error = Some(e);
                state.refresh(Pane::Alerts);
                state.dirty = true;
            }
            vec![]
        }
        Event::AlertsPushed(Ok(())) => vec![],
        Event::Terminate => {
            state.quit = true;
            vec![Effect::Quit]
        }
    }
}

/// A result for the one-line message: its lines joined with "; ", after the target unless
/// the result already starts with it ("127.0.0.1:6379: Background saving started").
fn result_line(target: &str, text: &str) -> String {
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if joined.starts_with(target) {
        joined
    } else {
        format!("{target}: {joined}")
    }
}

/// The keymap's action for a key event.
fn action_of(state: &State, k: &KeyEvent) -> Option<Action> {
    super::keys::of(k).and_then(|key| state.keymap.action(&key))
}

fn say(state: &mut State, text: impl Into<String>, level: Level) -> Vec<Effect> {
    state.message = Some((text.into(), level));
    state.dirty = true;
    vec![]
}

fn on_source(state: &mut State, index: usize, update: Update) -> Vec<Effect> {
    let now = state.now;
    let pane = state.sources[index].kind.pane();
    let visible = !state.zoomed || pane == state.focus;
    let phases = crate::timeline::derive::phases(&state.alert_desk.engine);
    let prev_status = state.sources[index].status.clone();
    let mut events = Vec::new();
    let src = &mut state.sources[index];
    let changed = match update {
        // Poll durations are for the exporter; the console shows none.
        Update::Took(_) => return vec![],
        Update::Status(s) => {
            let changed = src.status != s;
            src.status = s;
            changed
        }
        update @ (Update::Sample(_) | Update::Modelled(..)) => {
            let (sample, model) = match update {
                Update::Modelled(sample, model) => (sample, *model),
                Update::Sample(sample) => {
                    let model = sample.model();
                    (sample, model)
                }
                Update::Status(_) | Update::Took(_) => return vec![],
            };
            let changed = src.status != Status::Ok || src.model.as_ref() != Some(&model);
            // What changed since the previous sample, as the system tells it.
            events = sample.events(src.sample.as_ref(), &src.name, now);
            src.status = Status::Ok;
            src.last_ok = Some(now.with_timezone(&Local));
            src.sample = Some(sample);
            src.model = Some(model);
            changed
        }
    };
    // "polling…" lasts until an answer comes.
    if state.message.as_ref().is_some_and(|(m, _)| m == POLLING) {
        state.message = None;
        state.dirty = true;
    }
    if changed {
        state.refresh(pane);
    }
    let mut events = [
        timeline_ui::status_events(state, index, &prev_status, now),
        events,
    ]
    .concat();
    // Recomputing replaces the list: the old one is kept to compare, not copied.
    let before = std::mem::take(&mut state.alerts);
    let outcome = state.recompute_alerts_of(Some(index), now);
    events.extend(crate::timeline::derive::alerts(
        &phases,
        &state.alert_desk.engine,
        &outcome.transitions,
        now,
    ));
    let alerts_changed = state.alerts != before || !outcome.transitions.is_empty();
    if alerts_changed || state.focus == Pane::Alerts {
        state.alerts_stale = true;
    }
    if (changed && visible) || alerts_changed || (state.focus == Pane::Alerts && state.zoomed) {
        state.dirty = true;
    }
    let mut fx = alerts_ui::effects(state, &outcome, now);
    fx.extend(timeline_ui::record(state, events, true));
    fx
}

/// The message shown while a poll asked for with the refresh key is under way.
const POLLING: &str = "polling…";

/// Keys of a one-line text field. These are the field's own editing keys, like in any
/// terminal prompt, not console actions, so they are not in the keymap.
enum Edit {
    Submit,
    Cancel,
    Complete,
    Changed,
    None,
}

fn edit(input: &mut Input, k: &KeyEvent) -> Edit {
    match k.code {
        KeyCode::Enter => Edit::Submit,
        KeyCode::Esc => Edit::Cancel,
        KeyCode::Tab => Edit::Complete,
        KeyCode::Backspace => {
            input.text.pop();
            Edit::Changed
        }
        KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => {
            input.text.clear();
            Edit::Changed
        }
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Edit::Cancel,
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
            input.text.push(c);
            Edit::Changed
        }
        _ => Edit::None,
    }
}

fn on_key(state: &mut State, k: KeyEvent) -> Vec<Effect> {
    state.dirty = true;
    let mode = std::mem::replace(&mut state.mode, Mode::Normal);
    match mode {
        Mode::Normal => {
            state.message = None;
            match action_of(state, &k) {
                Some(a) => on_action(state, a),
                None => vec![],
            }
        }
        Mode::Command(mut input) => match edit(&mut input, &k) {
            Edit::Submit => run_command(state, input.text.trim()),
            Edit::Cancel => vec![],
            Edit::Complete => {
                let (completed, options) = complete(state, &input.text);
                input.text = completed;
                if options.len() > 1 {
                    state.message = Some((options.join("  "), Level::Muted));
                }
                state.mode = Mode::Command(input);
                vec![]
            }
            Edit::Changed | Edit::None => {
                state.mode = Mode::Command(input);
                vec![]
            }
        },
        Mode::Filter(mut input) => {
            let pane = state.focus;
            match edit(&mut input, &k) {
                Edit::Submit => {}
                Edit::Cancel => {
                    state.pane_state_mut(pane).filter.clear();
                    state.refresh(pane);
                }
                Edit::Changed => {
                    let ps = state.pane_state_mut(pane);
                    ps.filter = input.text.clone();
                    ps.selected = None;
                    ps.chosen = false;
                    state.refresh(pane);
                    state.mode = Mode::Filter(input);
                }
                Edit::Complete | Edit::None => state.mode = Mode::Filter(input),
            }
            vec![]
        }
        Mode::Help { scroll } => {
            match action_of(state, &k) {
                Some(Action::Down) => {
                    state.mode = Mode::Help {
                        scroll: scroll.saturating_add(1),
                    }
                }
                Some(Action::Up) => {
                    state.mode = Mode::Help {
                        scroll: scroll.saturating_sub(1),
                    }
                }
                Some(Action::PageDown) => {
                    state.mode = Mode::Help {
                        scroll: scroll.saturating_add(10),
                    }
                }
                Some(Action::PageUp) => {
                    state.mode = Mode::Help {
                        scroll: scroll.saturating_sub(10),
                    }
                }
                Some(Action::Quit) => {
                    state.quit = true;
                    return vec![Effect::Quit];
                }
                Some(Action::Help) | Some(Action::Back) | Some(Action::Select) => {}
                _ => state.mode = Mode::Help { scroll },
            }
            vec![]
        }
        Mode::Ask(mut ask) => match edit(&mut ask.input, &k) {
            Edit::Submit => match commands::answered(state, &ask) {
                Ok(command) => confirm(state, command),
                Err(why) => {
                    // Keep the question open so the answer can be corrected.
                    state.message = Some((why, Level::Warn));
                    state.mode = Mode::Ask(ask);
                    vec![]
                }
            },
            Edit::Cancel => say(state, "cancelled", Level::Muted),
            Edit::Changed | Edit::Complete | Edit::None => {
                state.message = None;
                state.mode = Mode::Ask(ask);
                vec![]
            }
        },
        Mode::Confirm(mut c) => on_confirm_key(state, &mut c, k),
        Mode::Running(cmd) => {
            state.mode = Mode::Running(cmd);
            if action_of(state, &k) == Some(Action::Quit) {
                state.quit = true;
                return vec![Effect::Quit];
            }
            vec![]
        }
    }
}

fn on_confirm_key(state: &mut State, c: &mut Box<Confirm>, k: KeyEvent) -> Vec<Effect> {
    // The typed-name field takes printable characters first, so a name may contain any key.
    if c.required.is_some() {
        if let KeyCode::Char(ch) = k.code
            && !k.modifiers.contains(KeyModifiers::CONTROL)
        {
            c.typed.text.push(ch);
            state.mode = Mode::Confirm(c.clone());
            return vec![];
        }
        if k.code == KeyCode::Backspace {
            c.typed.text.pop();
            state.mode = Mode::Confirm(c.clone());
            return vec![];
        }
    }
    let cancel = |state: &mut State| say(state, "cancelled", Level::Muted);
    let run = |state: &mut State, c: &Confirm| {
        if c.command.op.long_running() {
            // Long work runs in the background: the console stays usable meanwhile.
            state.jobs.push((c.command.clone(), state.now));
            state.message = Some((
                format!("started in the background: {}", c.command.describe()),
                Level::Info,
            ));
        } else {
            state.mode = Mode::Running(Box::new(c.command.clone()));
        }
        vec![Effect::Execute(
            Box::new(c.command.clone()),
            state.context.clone(),
        )]
    };
    match (k.code, action_of(state, &k)) {
        (KeyCode::Esc, _) | (_, Some(Action::Back)) => cancel(state),
        (KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right, _)
        | (_, Some(Action::NextPane | Action::PrevPane | Action::NextView | Action::PrevView)) => {
            c.focus = if c.focus == Button::Cancel {
                Button::Confirm
            } else {
                Button::Cancel
            };
            state.mode = Mode::Confirm(c.clone());
            vec![]
        }
        // A typed name that matches is the confirmation itself.
        (KeyCode::Enter, _) | (_, Some(Action::Select)) if c.required.is_some() => {
            if c.can_confirm() {
                run(state, c)
            } else {
                state.message = Some((
                    format!(
                        "type {:?} to confirm (esc cancels)",
                        c.required.clone().unwrap_or_default()
                    ),
                    Level::Warn,
                ));
                state.mode = Mode::Confirm(c.clone());
                vec![]
            }
        }
        (KeyCode::Enter, _) | (_, Some(Action::Select)) => match c.focus {
            Button::Cancel => cancel(state),
            Button::Confirm => run(state, c),
        },
        _ => {
            state.mode = Mode::Confirm(c.clone());
            vec![]
        }
    }
}

fn focus(state: &mut State, pane: Pane) {
    state.focus = pane;
}

fn cycle_pane(state: &mut State, delta: isize) {
    let i = (state.focus.index() as isize + delta).rem_euclid(Pane::ALL.len() as isize) as usize;
    focus(state, Pane::ALL[i]);
}

/// Rows a page moves: the table's height in the zoomed layout.
fn page(state: &State) -> usize {
    (state.size.1 as usize).saturating_sub(12).max(1)
}

/// Moves the selection within the focused pane's visible rows; `to` maps the current index
/// (None when nothing is selected) and the row count to the new index.
fn move_selection(state: &mut State, to: impl Fn(Option<usize>, usize) -> usize) {
    let pane = state.focus;
    let view = state.view(pane);
    if view.rows.is_empty() {
        return;
    }
    let next = to(view.selected, view.rows.len()).min(view.rows.len() - 1);
    let at = view.rows[next];
    let Some(key) = state.row(&at).map(|r| r.key.clone()) else {
        return;
    };
    let ps = state.pane_state_mut(pane);
    ps.selected = Some(RowId {
        origin: at.origin,
        key,
    });
    ps.chosen = true;
    state.refresh(pane);
}

/// Whether some system offers this action on its rows.
fn is_verb(action: Action) -> bool {
    SourceKind::ALL.iter().any(|k| k.verbs().contains(&action))
}

fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    if state.fleet.open {
        match super::fleet::on_action(state, action) {
            super::fleet::Handled::Done(effects) => return effects,
            super::fleet::Handled::Global => {}
            super::fleet::Handled::Leave => {
                let mut effects = super::fleet::close(state);
                effects.extend(on_action(state, action));
                return effects;
            }
        }
    }
    let pane = state.focus;
    if state.zoomed && pane == Pane::Alerts {
        match action {
            Action::Ack => return alerts_ui::ack(state, None),
            Action::Silence => return alerts_ui::silence(state, None),
            Action::Select => return alerts_ui::jump_to_cause(state),
            _ => {}
        }
    }
    if state.zoomed && pane == Pane::Timeline {
        match action {
            Action::Select => return timeline_ui::jump_to_cause(state),
            Action::NextSource => return timeline_ui::next_source(state),
            _ => {}
        }
    }
    if is_verb(action) {
        return guarded(state, action);
    }
    match action {
        Action::Quit => {
            state.quit = true;
            return vec![Effect::Quit];
        }
        Action::Suspend => return vec![Effect::Suspend],
        Action::Help => state.mode = Mode::Help { scroll: 0 },
        Action::Command => state.mode = Mode::Command(Input::default()),
        Action::Filter => {
            state.zoomed = true;
            state.mode = Mode::Filter(Input {
                text: state.pane_state(pane).filter.clone(),
            });
        }
        Action::NextPane => cycle_pane(state, 1),
        Action::PrevPane => cycle_pane(state, -1),
        Action::FocusKafka => focus(state, Pane::Kafka),
        Action::FocusPostgres => focus(state, Pane::Databases),
        Action::FocusRedis => focus(state, Pane::Redis),
        Action::FocusBackups => focus(state, Pane::Backups),
        Action::FocusAlerts => focus(state, Pane::Alerts),
        Action::FocusHost => focus(state, Pane::Host),
        Action::FocusTimeline => focus(state, Pane::Timeline),
        Action::Copy => return timeline_ui::copy(state),
        Action::Note => return timeline_ui::note(state),
        Action::Select if !state.zoomed => return timeline_ui::zoom(state),
        Action::Select => {
            if let Some((at, row)) = state.selected(pane) {
                let id = RowId {
                    origin: at.origin,
                    key: row.key.clone(),
                };
                state.pane_state_mut(pane).detail = Some(id);
            }
        }
        Action::Back => {
            let ps = state.pane_state_mut(pane);
            if ps.detail.is_some() {
                ps.detail = None;
            } else if !ps.filter.is_empty() {
                ps.filter.clear();
                state.refresh(pane);
            } else {
                state.zoomed = false;
            }
        }
        Action::Up if !state.zoomed => cycle_pane(state, -1),
        Action::Down if !state.zoomed => cycle_pane(state, 1),
        Action::Up => move_selection(state, |i, _| i.unwrap_or(0).saturating_sub(1)),
        Action::Down => move_selection(state, |i, _| i.map_or(0, |i| i + 1)),
        Action::PageUp => {
            let p = page(state);
            move_selection(state, |i, _| i.unwrap_or(0).saturating_sub(p))
        }
        Action::PageDown => {
            let p = page(state);
            move_selection(state, |i, _| i.map_or(0, |i| i + p))
        }
        Action::Top => move_selection(state, |_, _| 0),
        Action::Bottom => move_selection(state, |_, n| n - 1),
        Action::NextView | Action::PrevView if !state.zoomed => {
            cycle_pane(state, if action == Action::NextView { 1 } else { -1 })
        }
        Action::NextView | Action::PrevView => {
            let n = state.view(pane).tabs.len().max(1);
            let current = state.view(pane).tab;
            let next = if action == Action::NextView {
                (current + 1) % n
            } else {
                (current + n - 1) % n
            };
            state.set_tab(pane, next);
        }
        Action::NextSource => {
            let n = state.pane_sources(pane).len();
            if pane.merges_sources() || n < 2 {
                return say(state, "this pane has one server", Level::Muted);
            }
            // Keep the tab (by title) when the next server has it.
            let title = state.view(pane).current_tab().map(|t| t.title.clone());
            let ps = state.pane_state_mut(pane);
            ps.source = (ps.source + 1) % n;
            ps.selected = None;
            ps.chosen = false;
            ps.detail = None;
            ps.table = 0;
            state.refresh(pane);
            if let Some(i) =
                title.and_then(|t| state.view(pane).tabs.iter().position(|x| x.title == t))
            {
                state.set_tab(pane, i);
            }
        }
        Action::Refresh => {
            state.message = Some((POLLING.into(), Level::Muted));
            return vec![Effect::PollNow];
        }
        Action::Mark => {
            if let Some((at, row)) = state.selected(pane) {
                let id = RowId {
                    origin: at.origin,
                    key: row.key.clone(),
                };
                let ps = state.pane_state_mut(pane);
                if !ps.marked.remove(&id) {
                    ps.marked.insert(id);
                }
            }
            move_selection(state, |i, _| i.map_or(0, |i| i + 1));
            state.refresh(pane);
        }
        Action::Ack | Action::Silence => {
            return say(
                state,
                format!("{}: works in the Alerts pane", action.hint()),
                Level::Muted,
            );
        }
        _ => {}
    }
    vec![]
}

/// A verb: build the command from the selected row, refuse it when read-only and it would
/// change the system, otherwise ask for its parameter or open the confirmation.
fn guarded(state: &mut State, action: Action) -> Vec<Effect> {
    let plan = commands::plan(state, action);
    if state.readonly() && action.is_mutating() {
        // Refused whatever is selected; audited when the key named a concrete command.
        let why = crate::actions::refuse_readonly(&state.context, state.cli_readonly);
        state.message = Some((format!("refused: {why}"), Level::Warn));
        return match plan {
            Ok(commands::Next::Ready(command)) if command.changes_system() => {
                vec![Effect::AuditRefused(Box::new(command), why)]
            }
            Ok(commands::Next::Ready(command)) => confirm(state, command),
            _ => vec![],
        };
    }
    match plan {
        Ok(commands::Next::Ready(command)) => confirm(state, command),
        Ok(commands::Next::Ask(ask)) => {
            state.mode = Mode::Ask(ask);
            vec![]
        }
        Err(why) => say(state, why, Level::Warn),
    }
}

/// Refuses a change when read-only, otherwise opens the confirmation with the focus on
/// Cancel.
fn confirm(state: &mut State, command: crate::actions::Command) -> Vec<Effect> {
    if state.readonly() && command.changes_system() {
        let why = crate::actions::refuse_readonly(&state.context, state.cli_readonly);
        state.message = Some((format!("refused: {why}"), Level::Warn));
        return vec![Effect::AuditRefused(Box::new(command), why)];
    }
    let required = command.typed_confirmation(&state.context, state.ctx.production);
    state.mode = Mode::Confirm(Box::new(Confirm {
        command,
        context: state.context.clone(),
        production: state.ctx.production,
        required,
        typed: Input::default(),
        focus: Button::Cancel,
    }));
    vec![]
}

/// Every `:` command with its completion.
pub fn command_names(state: &State) -> Vec<String> {
    let mut v: Vec<String> = Pane::ALL
        .iter()
        .map(|p| p.commands()[0].to_string())
        .collect();
    v.extend(state.config.contexts.keys().map(|c| format!("ctx {c}")));
    v.push("fleet".into());
    v.extend(Theme::shipped_names().iter().map(|t| format!("theme {t}")));
    v.extend(
        ["q", "quit", "help", "ack", "silence", "note"]
            .iter()
            .map(|s| s.to_string()),
    );
    v
}

/// Completes to the longest common prefix of the matching commands.
pub fn complete(state: &State, text: &str) -> (String, Vec<String>) {
    let options: Vec<String> = command_names(state)
        .into_iter()
        .filter(|c| c.starts_with(text))
        .collect();
    let Some(first) = options.first() else {
        return (text.to_string(), options);
    };
    let mut prefix = first.clone();
    for o in &options[1..] {
        while !o.starts_with(&prefix) {
            prefix.pop();
        }
    }
    (
        if prefix.len() > text.len() {
            prefix
        } else {
            text.to_string()
        },
        options,
    )
}

fn run_command(state: &mut State, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    let head = words.next().unwrap_or("");
    let arg = words.next();
    if let Some(p) = Pane::ALL.iter().find(|p| p.commands().contains(&head)) {
        state.focus = *p;
        state.zoomed = true;
        return vec![];
    }
    match (head, arg) {
        ("", _) => vec![],
        ("q" | "quit" | "q!", _) => {
            state.quit = true;
            vec![Effect::Quit]
        }
        ("help", _) => {
            state.mode = Mode::Help { scroll: 0 };
            vec![]
        }
        ("fleet", _) => super::fleet::open(state),
        ("ctx" | "context", Some(name)) => match state.config.contexts.get(name) {
            Some(_) => super::fleet::switch_context(state, name),
            None => {
                let known = state
                    .config
                    .contexts
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                say(
                    state,
                    format!("no context {name:?}; known: {known}"),
                    Level::Warn,
                )
            }
        },
        ("theme", Some(name)) => vec![Effect::LoadTheme(name.to_string())],
        ("note", _) => timeline_ui::note(state),
        ("ack", _) => {
            let note = line.trim_start()[head.len()..].trim();
            alerts_ui::ack(state, (!note.is_empty()).then(|| note.to_string()))
        }
        ("silence", Some(d)) => match crate::config::parse_duration(d) {
            Ok(d) => alerts_ui::silence(state, Some(d)),
            Err(e) => say(state, e, Level::Warn),
        },
        ("silence", None) => alerts_ui::silence(state, None),
        ("ctx" | "context" | "theme", None) => say(
            state,
            format!(":{head} needs a name (Tab completes)"),
            Level::Warn,
        ),
        _ => say(
            state,
            format!(
                "unknown command :{line} — try :kafka :pg :redis :backups :alerts :host :timeline :note :ctx :fleet :theme :q"
            ),
            Level::Warn,
        ),
    }
}

fn on_mouse(state: &mut State, m: MouseEvent) -> Vec<Effect> {
    if state.mode != Mode::Normal {
        return vec![];
    }
    if state.fleet.open && matches!(m.kind, MouseEventKind::Down(MouseButton::Left)) {
        let area = ratatui::layout::Rect::new(0, 0, state.size.0, state.size.1);
        let row = crate::ui::fleet::row_at(state, area, m.row);
        return super::fleet::click(state, row);
    }
    match m.kind {
        MouseEventKind::ScrollDown => on_action(state, Action::Down),
        MouseEventKind::ScrollUp => on_action(state, Action::Up),
        MouseEventKind::Down(MouseButton::Left) => {
            let area = ratatui::layout::Rect::new(0, 0, state.size.0, state.size.1);
            if !state.zoomed {
                for (pane, rect) in crate::ui::layout::tiles(area) {
                    if rect.contains(ratatui::layout::Position::new(m.column, m.row)) {
                        state.dirty = true;
                        if state.focus == pane {
                            return timeline_ui::zoom(state);
                        }
                        state.focus = pane;
                    }
                }
            } else if let Some(row) = crate::ui::layout::table_row_at(state, area, m.row) {
                move_selection(state, |_, _| row);
            }
            vec![]
        }
        _ => vec![],
    }
}

/// The clock and `update` wrapper tests drive the console with.
#[cfg(test)]
pub mod tests_support {
    use super::*;

    /// The fixed clock tests run at.
    pub fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    /// `update` at the tests' clock.
    pub fn update(state: &mut State, event: Event) -> Vec<Effect> {
        super::update(state, event, t0())
    }
}

#[cfg(test)]
mod tests;
