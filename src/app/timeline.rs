//! What the console's `update` does with the timeline, the clipboard and incident notes:
//! record events (and ask for them to be written), the Timeline pane's keys, zooming into a
//! tile straight to its problem, `y` (copy the selected row's text) and `:note`. Pure: the
//! loop performs the effects.

use chrono::{DateTime, Duration, Utc};

use super::event::Effect;
use super::state::{Pane, State};
use super::view::Origin;
use crate::alerts::{Jump, Severity};
use crate::note::{self, Note, NoteAlert, NoteSource};
use crate::sources::SourceKind;
use crate::timeline::{TimelineEvent, derive};
use crate::views::Level;

fn say(state: &mut State, text: impl Into<String>, level: Level) -> Vec<Effect> {
    state.message = Some((text.into(), level));
    state.dirty = true;
    vec![]
}

/// Adds events of the current context to the timeline; those that were new are written to
/// the file when `persist` (an action's event is not: the audit log keeps it).
pub fn record(state: &mut State, events: Vec<TimelineEvent>, persist: bool) -> Vec<Effect> {
    if events.is_empty() {
        return vec![];
    }
    let now = state.now;
    let ctx = state.context.clone();
    let events = events.into_iter().map(|e| {
        if e.context.is_empty() {
            e.in_context(&ctx)
        } else {
            e
        }
    });
    let added = state.timeline.add_all(events, now);
    if added.is_empty() {
        return vec![];
    }
    state.refresh(Pane::Timeline);
    state.dirty = true;
    if persist {
        vec![Effect::AppendTimeline(added)]
    } else {
        vec![]
    }
}

/// Events loaded at start (the file's, and the audit log's actions of earlier runs).
pub fn loaded(state: &mut State, events: Vec<TimelineEvent>) {
    let now = state.now;
    state.timeline.add_all(events, now);
    state.refresh(Pane::Timeline);
    state.dirty = true;
}

/// How long source `index` has been unreachable, from its last "unreachable" event.
pub fn down_for(state: &State, index: usize) -> Option<std::time::Duration> {
    let s = state.sources.get(index)?;
    let e = state
        .timeline
        .newest_of(&state.context)
        .take(5000)
        .find(|e| e.system == s.kind.label() && e.source == s.name && e.what == "unreachable")?;
    (state.now - e.at).to_std().ok()
}

/// The events of a source's status change (none for a localhost default that is not
/// running: it is not an outage).
pub fn status_events(
    state: &State,
    index: usize,
    prev: &crate::sources::Status,
    now: DateTime<Utc>,
) -> Vec<TimelineEvent> {
    let s = &state.sources[index];
    if s.not_running(state.no_config) {
        return vec![];
    }
    derive::status(prev, &s.status, down_for(state, index), now)
        .map(|e| e.of(s.kind.label(), &s.name))
        .into_iter()
        .collect()
}

fn jump_of(e: &TimelineEvent) -> Option<Jump> {
    let kind = SourceKind::ALL
        .iter()
        .copied()
        .find(|k| k.label() == e.system)?;
    Some(Jump {
        kind,
        source: e.source.clone(),
        table: e.table.clone(),
        key: e.key.clone(),
    })
}

/// Enter on an event: its cause, as the Alerts pane's Enter.
pub fn jump_to_cause(state: &mut State) -> Vec<Effect> {
    let Some(key) = state.selected(Pane::Timeline).map(|(_, r)| r.key.clone()) else {
        return say(state, "no event selected", Level::Muted);
    };
    let Some(j) = state.timeline.find(&key).and_then(jump_of) else {
        return say(state, "this event has no source to go to", Level::Muted);
    };
    super::alerts::jump_to(state, &j)
}

/// `n` in the Timeline pane: every source, then each source of the context in turn.
pub fn next_source(state: &mut State) -> Vec<Effect> {
    let n = state.sources.len() + 1;
    let ps = state.pane_state_mut(Pane::Timeline);
    ps.source = (ps.source + 1) % n;
    ps.selected = None;
    ps.chosen = false;
    state.refresh(Pane::Timeline);
    let what = match state.timeline_source() {
        Some((system, source)) => format!("timeline of {}", note::origin(system, source)),
        None => "timeline of every source".to_string(),
    };
    say(state, what, Level::Info)
}

/// Enter on a tile: zoom; into its problem when the person has not chosen a row of the
/// pane yet and one of its sources raises an alert (the worst), so a cause is two keys
/// from the first screen.
pub fn zoom(state: &mut State) -> Vec<Effect> {
    let pane = state.focus;
    state.zoomed = true;
    if state.pane_state(pane).chosen {
        return vec![];
    }
    let jump = state
        .alerts
        .iter()
        .filter_map(|a| a.jump.as_ref())
        .find(|j| j.kind.pane() == pane)
        .cloned();
    match jump {
        Some(j) => super::alerts::jump_to(state, &j),
        None => vec![],
    }
}

/// The selected row's natural text in the focused pane.
fn selected_text(state: &State) -> Result<(String, String), String> {
    let pane = state.focus;
    let (at, row) = state
        .selected(pane)
        .ok_or_else(|| format!("nothing selected in the {} pane", pane.title()))?;
    match at.origin {
        Origin::Timeline => state
            .timeline
            .find(&row.key)
            .map(|e| (e.line(), "the event".to_string()))
            .ok_or_else(|| "the event is gone".to_string()),
        Origin::Alerts => alert_text(state, &row.key).map(|t| (t, "the alert".to_string())),
        Origin::Source(i) => {
            let src = &state.sources[i];
            let sample = src
                .sample
                .as_ref()
                .ok_or_else(|| format!("{} has no data yet", src.name))?;
            let text = sample
                .copy_text(at.table, &row.key)
                .ok_or_else(|| "this row has nothing to copy".to_string())?;
            let tab = state
                .view(pane)
                .current_tab()
                .map(|t| t.title.clone())
                .unwrap_or_default();
            Ok((text, format!("{tab} {}", row.key)))
        }
    }
}

/// An alert with its value, start and runbook.
fn alert_text(state: &State, key: &str) -> Result<String, String> {
    if let Some(e) = state.alert_desk.engine.entries.get(key) {
        let a = &e.alert;
        let mut out = format!(
            "{} {}: {}",
            a.severity.label(),
            note::origin(a.kind.label(), &a.source),
            a.summary
        );
        let v = note::value(a);
        if !v.is_empty() {
            out.push_str(&format!("\n{v}"));
        }
        out.push_str(&format!(
            "\nrule {} · since {}",
            a.rule,
            e.since
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
        ));
        if let Some(r) = &a.runbook {
            out.push_str(&format!("\nrunbook: {r}"));
        }
        return Ok(out);
    }
    if let Some(x) = state.alert_desk.external.iter().find(|x| x.key() == key) {
        return Ok(format!(
            "{} [alertmanager] {}",
            x.severity.label(),
            x.summary
        ));
    }
    state
        .alert_desk
        .inbox
        .history
        .iter()
        .rev()
        .find(|h| h.key == key)
        .map(|h| format!("{} {} (resolved)", h.severity.label(), h.summary))
        .ok_or_else(|| "the alert is gone".to_string())
}

/// A short description of copied text for the status line.
fn described(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let lines = text.lines().count();
    format!(
        "{}{}",
        crate::views::fmt::fit(first, 48),
        if lines > 1 {
            format!(" (+{} lines)", lines - 1)
        } else {
            String::new()
        }
    )
}

/// `y`: the selected row's text to the clipboard.
pub fn copy(state: &mut State) -> Vec<Effect> {
    if !state.config.clipboard {
        return say(
            state,
            "copy is off (clipboard = false in the config)",
            Level::Muted,
        );
    }
    match selected_text(state) {
        Ok((text, what)) => {
            let msg = format!("copied {what}: {} — via OSC 52", described(&text));
            let fx = vec![Effect::Copy(text)];
            say(state, msg, Level::Info);
            fx
        }
        Err(e) => say(state, e, Level::Warn),
    }
}

/// The incident note of the console as it stands.
pub fn build_note(state: &State, by: &str) -> Note {
    let now = state.now;
    let inbox = &state.alert_desk.inbox;
    let mut alerts: Vec<NoteAlert> = state
        .alert_desk
        .engine
        .firing()
        .into_iter()
        .map(|e| {
            let mut a = NoteAlert::of(&e.alert, Some(e.since));
            let key = e.alert.key();
            let mut st = Vec::new();
            if let Some(ack) = inbox.acked(&key) {
                st.push(match &ack.note {
                    Some(n) => format!("acked: {n}"),
                    None => "acked".to_string(),
                });
            }
            if let Some(u) = inbox.silenced_until(&key, now) {
                st.push(format!(
                    "silenced until {}",
                    u.with_timezone(&chrono::Local).format("%H:%M")
                ));
            }
            a.state = st.join(", ");
            a
        })
        .collect();
    alerts.extend(state.alert_desk.external.iter().map(|x| NoteAlert {
        severity: x.severity,
        origin: "alertmanager".into(),
        summary: x.summary.clone(),
        value: String::new(),
        since: Some(x.starts_at),
        runbook: None,
        state: String::new(),
    }));
    alerts.sort_by_key(|a| std::cmp::Reverse(a.severity));
    let timeline = state
        .timeline
        .since(&state.context, now - Duration::hours(1))
        .cloned()
        .collect();
    let sources = state
        .sources
        .iter()
        .map(|s| NoteSource {
            origin: note::origin(s.kind.label(), &s.name),
            status: s.status_line().0,
            lines: s
                .model
                .as_ref()
                .map(|m| m.tile.iter().map(note::summary_text).collect())
                .unwrap_or_default(),
        })
        .collect();
    Note {
        context: state.context.clone(),
        at: now,
        by: by.to_string(),
        config: state.config.path.as_ref().map(|p| p.display().to_string()),
        readonly: state.readonly(),
        alerts,
        timeline,
        sources,
    }
}

/// `:note` and its key: the note to a file in the data dir and to the clipboard.
pub fn note(state: &mut State) -> Vec<Effect> {
    let by = state.alert_desk.console.clone();
    let text = note::markdown(&build_note(state, &by));
    let name = format!(
        "incident-{}-{}.md",
        state.context,
        state
            .now
            .with_timezone(&chrono::Local)
            .format("%Y%m%d-%H%M%S")
    );
    let mut fx = vec![Effect::WriteNote {
        name,
        text: text.clone(),
    }];
    if state.config.clipboard {
        fx.push(Effect::Copy(text));
    }
    let critical = state
        .alerts
        .iter()
        .filter(|a| a.severity == Severity::Critical)
        .count();
    say(
        state,
        format!(
            "writing the incident note ({} alerts, {critical} critical){}…",
            state.alerts.len(),
            if state.config.clipboard {
                ", copied via OSC 52"
            } else {
                ""
            }
        ),
        Level::Info,
    );
    fx
}
