//! What the console's `update` does with alerts: effects of an evaluation (save the inbox,
//! the bell, Alertmanager pushes), ack, silence and jump-to-cause. Pure: no I/O here.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::alerts::Severity;
use crate::alerts::alertmanager::postable;
use crate::app::event::Effect;
use crate::app::state::{Origin, Pane, RowId, State};
use crate::views::Level;

/// `s` cycles through these, then lifts the silence.
pub const SILENCE_STEPS: [Duration; 3] = [
    Duration::from_secs(3600),
    Duration::from_secs(4 * 3600),
    Duration::from_secs(24 * 3600),
];

fn say(state: &mut State, text: impl Into<String>, level: Level) -> Vec<Effect> {
    state.message = Some((text.into(), level));
    state.dirty = true;
    vec![]
}

/// An alert as Alertmanager gets it: its runbook with this keymap's keys.
fn filled(state: &State, a: &crate::alerts::Alert) -> crate::alerts::Alert {
    let mut a = a.clone();
    a.runbook = a.runbook.map(|r| state.keymap.fill(&r));
    a
}

fn save(state: &State) -> Effect {
    Effect::SaveInbox(state.alert_desk.inbox.to_json())
}

/// Effects of one evaluation: save the inbox when it changed, ring the bell for a new
/// unsilenced critical alert (when configured), push transitions to Alertmanager.
pub fn effects(state: &State, outcome: &crate::alerts::Outcome, now: DateTime<Utc>) -> Vec<Effect> {
    let mut fx = Vec::new();
    let t = &outcome.transitions;
    if outcome.inbox_changed {
        fx.push(save(state));
    }
    let rules = &state.config.alerts;
    if rules.bell
        && t.fired.iter().any(|(a, _)| {
            a.severity == Severity::Critical
                && state
                    .alert_desk
                    .inbox
                    .silenced_until(&a.key(), now)
                    .is_none()
        })
    {
        fx.push(Effect::Bell);
    }
    if rules.alertmanager.is_some() && !t.is_empty() {
        let mut v: Vec<_> = t
            .fired
            .iter()
            .map(|(a, since)| {
                postable(
                    &filled(state, a),
                    &state.context,
                    &state.alert_desk.console,
                    *since,
                    None,
                )
            })
            .collect();
        v.extend(t.resolved.iter().map(|(a, since)| {
            postable(
                a,
                &state.context,
                &state.alert_desk.console,
                *since,
                Some(now),
            )
        }));
        fx.push(Effect::PushAlerts(v));
    }
    fx
}

/// Re-sends every firing alert (Alertmanager ends alerts not refreshed in time).
pub fn repush(state: &State, _now: DateTime<Utc>) -> Vec<Effect> {
    if state.config.alerts.alertmanager.is_none() {
        return vec![];
    }
    let v: Vec<_> = state
        .alert_desk
        .engine
        .firing()
        .into_iter()
        .map(|e| {
            postable(
                &e.alert,
                &state.context,
                &state.alert_desk.console,
                e.since,
                None,
            )
        })
        .collect();
    if v.is_empty() {
        vec![]
    } else {
        vec![Effect::PushAlerts(v)]
    }
}

/// The key of the selected inbox row, if it is a live alert.
fn selected_alert(state: &State) -> Result<String, String> {
    let key = state
        .selected(Pane::Alerts)
        .map(|(_, r)| r.key.clone())
        .ok_or("no alert selected")?;
    if state.alert_desk.is_live(&key) {
        Ok(key)
    } else {
        Err("only a firing or pending alert can be acked or silenced".into())
    }
}

/// `a` acks the selected alert (again: un-acks it); `:ack NOTE` acks with a note.
pub fn ack(state: &mut State, note: Option<String>) -> Vec<Effect> {
    if state.focus != Pane::Alerts {
        return say(state, ":ack works in the Alerts pane", Level::Warn);
    }
    let key = match selected_alert(state) {
        Ok(k) => k,
        Err(e) => return say(state, e, Level::Warn),
    };
    let now = state.now;
    let inbox = &mut state.alert_desk.inbox;
    let msg = if note.is_none() && inbox.acked(&key).is_some() {
        inbox.unack_at(&key, now);
        format!("un-acked {key}")
    } else {
        let m = match &note {
            Some(n) => format!("acked {key}: {n}"),
            None => format!("acked {key}"),
        };
        inbox.ack(&key, note, now);
        m
    };
    let fx = vec![save(state)];
    state.refresh(Pane::Alerts);
    say(state, msg, Level::Info);
    fx
}

/// `s` silences the selected alert for 1h, then 4h, 24h, then lifts the silence;
/// `:silence 2h` silences for a typed duration.
pub fn silence(state: &mut State, duration: Option<Duration>) -> Vec<Effect> {
    if state.focus != Pane::Alerts {
        return say(state, ":silence works in the Alerts pane", Level::Warn);
    }
    let key = match selected_alert(state) {
        Ok(k) => k,
        Err(e) => return say(state, e, Level::Warn),
    };
    let now = state.now;
    let inbox = &mut state.alert_desk.inbox;
    let left = inbox
        .silenced_until(&key, now)
        .map(|u| (u - now).to_std().unwrap_or_default());
    let next = match (duration, left) {
        (Some(d), _) => Some(d),
        (None, None) => Some(SILENCE_STEPS[0]),
        (None, Some(l)) => SILENCE_STEPS
            .iter()
            .copied()
            .find(|s| *s > l + Duration::from_secs(60)),
    };
    let msg = match next {
        Some(d) => {
            let until = now + chrono::Duration::from_std(d).unwrap_or_default();
            inbox.silence_at(&key, until, now);
            format!(
                "silenced {key} for {} (s: longer)",
                crate::views::fmt::duration(d)
            )
        }
        None => {
            inbox.unsilence_at(&key, now);
            format!("silence of {key} lifted")
        }
    };
    state.alerts = state.alert_desk.loud(now);
    let fx = vec![save(state)];
    state.refresh(Pane::Alerts);
    say(state, msg, Level::Info);
    fx
}

/// Enter on an alert: focus the pane of its source, select the source, the tab and the row
/// that caused it.
pub fn jump_to_cause(state: &mut State) -> Vec<Effect> {
    let Some(key) = state.selected(Pane::Alerts).map(|(_, r)| r.key.clone()) else {
        return say(state, "no alert selected", Level::Muted);
    };
    let Some(j) = state.alert_desk.jump(&key).cloned() else {
        return say(state, "this alert has no cause to go to", Level::Muted);
    };
    jump_to(state, &j)
}

/// Focuses the pane of `j`'s source, with its tab and row selected (the Alerts and Timeline
/// panes' Enter, and zooming into a tile with a problem).
pub fn jump_to(state: &mut State, j: &crate::alerts::Jump) -> Vec<Effect> {
    let Some(index) = state
        .sources
        .iter()
        .position(|s| s.kind == j.kind && s.name == j.source)
    else {
        return say(
            state,
            format!("{} {} is not in this context", j.kind.label(), j.source),
            Level::Muted,
        );
    };
    let pane = j.kind.pane();
    let position = state
        .pane_sources(pane)
        .iter()
        .position(|&i| i == index)
        .unwrap_or(0);
    state.focus = pane;
    state.zoomed = true;
    {
        let ps = state.pane_state_mut(pane);
        ps.source = position;
        ps.filter.clear();
        ps.detail = None;
        ps.table = 0;
    }
    state.refresh(pane);
    let table = state
        .view(pane)
        .tabs
        .iter()
        .position(|t| t.title == j.table)
        .unwrap_or(0);
    let ps = state.pane_state_mut(pane);
    ps.table = table;
    ps.selected = (!j.key.is_empty()).then(|| RowId {
        origin: Origin::Source(index),
        key: j.key.clone(),
    });
    ps.chosen = !j.key.is_empty();
    state.refresh(pane);
    let what = match (j.table.is_empty(), j.key.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!(": {}", j.table),
        (false, false) => format!(": {} {}", j.table, j.key),
    };
    say(
        state,
        format!("→ {} {}{what}", pane.title(), j.source),
        Level::Info,
    )
}

#[cfg(test)]
mod tests;
