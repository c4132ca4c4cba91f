//! The events the console derives itself, as pure functions of before and after: a source
//! becoming unreachable and coming back, alerts turning pending, firing and resolved, acks
//! and silences (this console's and those merged from another's), actions run here, and
//! the audit log's actions of earlier runs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Severity, TimelineEvent};
use crate::actions::{Command, Outcome};
use crate::alerts::engine::{Engine, Phase, Transitions};
use crate::alerts::inbox::{Ack, Inbox};
use crate::alerts::{Alert, rules};
use crate::sources::{SourceKind, Status};
use crate::views::fmt;

/// A source's status changed: unreachable (from answering or from the start), or answering
/// again after `down_for`.
pub fn status(
    prev: &Status,
    next: &Status,
    down_for: Option<std::time::Duration>,
    now: DateTime<Utc>,
) -> Option<TimelineEvent> {
    match (prev, next) {
        (Status::Error(_), Status::Error(_)) => None,
        (_, Status::Error(e)) => Some(TimelineEvent::new(
            now,
            "unreachable",
            Severity::Critical,
            "",
            format!("unreachable: {e}"),
        )),
        (Status::Error(_), Status::Ok) => Some(TimelineEvent::new(
            now,
            "reachable",
            Severity::Ok,
            "",
            match down_for {
                Some(d) => format!("answers again (unreachable for {})", fmt::duration(d)),
                None => "answers again".to_string(),
            },
        )),
        _ => None,
    }
}

fn of_alert(a: &Alert, at: DateTime<Utc>, severity: Severity, text: String) -> TimelineEvent {
    let mut e = TimelineEvent::new(at, "alert", severity, a.subject.clone(), text)
        .of(a.kind.label(), &a.source);
    if let Some(j) = &a.jump {
        e = e.jump(&j.table, j.key.clone());
    }
    e
}

/// The phases of the engine's alerts, to diff against after an evaluation.
pub fn phases(engine: &Engine) -> BTreeMap<String, Phase> {
    engine
        .entries
        .iter()
        .map(|(k, e)| (k.clone(), e.phase))
        .collect()
}

/// Alerts that turned pending, fired or resolved in one evaluation. Unreachable sources are
/// on the timeline as such, so their alert is not repeated.
pub fn alerts(
    before: &BTreeMap<String, Phase>,
    engine: &Engine,
    t: &Transitions,
    now: DateTime<Utc>,
) -> Vec<TimelineEvent> {
    let own = |a: &Alert| a.rule != rules::UNREACHABLE.name;
    let mut out: Vec<TimelineEvent> = engine
        .entries
        .iter()
        .filter(|(k, e)| e.phase == Phase::Pending && !before.contains_key(*k) && own(&e.alert))
        .map(|(_, e)| {
            of_alert(
                &e.alert,
                now,
                Severity::Info,
                format!("pending: {}", e.alert.summary),
            )
        })
        .collect();
    for (a, _) in t.fired.iter().filter(|(a, _)| own(a)) {
        out.push(of_alert(
            a,
            now,
            a.severity.into(),
            format!("firing: {}", a.summary),
        ));
    }
    for (a, since) in t.resolved.iter().filter(|(a, _)| own(a)) {
        let lasted = (now - *since).to_std().unwrap_or_default();
        out.push(of_alert(
            a,
            now,
            Severity::Ok,
            format!(
                "resolved after {}: {}",
                fmt::duration(lasted),
                a.rule.replace('_', " ")
            ),
        ));
    }
    out
}

/// (rule, kind label, source, subject) of an alert key.
fn key_parts(key: &str) -> (&str, &str, &str, &str) {
    let mut p = key.splitn(4, '/');
    (
        p.next().unwrap_or(""),
        p.next().unwrap_or(""),
        p.next().unwrap_or(""),
        p.next().unwrap_or(""),
    )
}

fn of_key(key: &str, at: DateTime<Utc>, what: &str, text: String) -> TimelineEvent {
    let (_, system, source, subject) = key_parts(key);
    TimelineEvent::new(at, what, Severity::Info, subject, text).of(system, source)
}

/// Acks and silences set, lifted or ended between two states of the inbox. `name` says what
/// an alert key is about (its summary, when the engine still has it).
pub fn inbox(
    prev_acks: &BTreeMap<String, Ack>,
    prev_silences: &BTreeMap<String, DateTime<Utc>>,
    next: &Inbox,
    name: impl Fn(&str) -> String,
    now: DateTime<Utc>,
) -> Vec<TimelineEvent> {
    let mut out = Vec::new();
    for (k, a) in &next.acks {
        if prev_acks.get(k).is_none_or(|p| p.at != a.at) {
            let note = a
                .note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            out.push(of_key(k, a.at, "ack", format!("acked {}{note}", name(k))));
        }
    }
    for (k, a) in prev_acks
        .iter()
        .filter(|(k, _)| !next.acks.contains_key(*k))
    {
        // An ack also ends when its alert resolves: that is on the timeline as the resolution.
        if next
            .lifted
            .get(k)
            .and_then(|l| l.ack)
            .is_some_and(|t| t >= a.at)
        {
            out.push(of_key(k, now, "ack", format!("un-acked {}", name(k))));
        }
    }
    for (k, until) in &next.silences {
        if prev_silences.get(k) != Some(until) {
            let left = (*until - now).to_std().unwrap_or_default();
            out.push(of_key(
                k,
                now,
                "silence",
                format!("silenced {} for {}", name(k), fmt::duration(left)),
            ));
        }
    }
    for (k, until) in prev_silences {
        if !next.silences.contains_key(k) {
            let text = if *until <= now {
                format!("silence of {} ended", name(k))
            } else {
                format!("silence of {} lifted", name(k))
            };
            out.push(of_key(k, now, "silence", text));
        }
    }
    out
}

/// An action this console ran, with its outcome.
pub fn action(command: &Command, outcome: &Outcome, now: DateTime<Utc>) -> TimelineEvent {
    let (severity, word) = match outcome {
        Outcome::Ok(_) => (Severity::Info, "ok"),
        Outcome::Error(_) => (Severity::Warning, "failed"),
        Outcome::Unknown(_) => (Severity::Warning, "outcome unknown"),
    };
    let message = first_line(outcome.message());
    TimelineEvent::new(
        now,
        "action",
        severity,
        command.target.clone(),
        format!("action {}: {word}{message}", command.describe()),
    )
    .of(command.kind.label(), &command.source)
}

fn first_line(m: &str) -> String {
    let joined: Vec<&str> = m.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if joined.is_empty() {
        String::new()
    } else {
        format!(" — {}", fmt::fit(&joined.join("; "), 160))
    }
}

/// The actions of the audit log (JSON lines) that ended before `before`, in their contexts:
/// those of earlier runs and other consoles. "started" lines are skipped: their end says
/// more.
pub fn audit(text: &str, before: DateTime<Utc>) -> Vec<TimelineEvent> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("");
        let context = s("context");
        if s("outcome") == "started" {
            continue;
        }
        let Some(at) = DateTime::parse_from_rfc3339(s("time"))
            .ok()
            .map(|t| t.with_timezone(&Utc))
        else {
            continue;
        };
        if at >= before {
            continue;
        }
        let system = v
            .get("parameters")
            .and_then(|p| p.get("system"))
            .and_then(|x| x.as_str())
            .unwrap_or("");
        let system = SourceKind::ALL
            .iter()
            .find(|k| k.label() == system || k.key() == system)
            .map(|k| k.label())
            .unwrap_or(system);
        let outcome = s("outcome");
        let severity = match outcome {
            "ok" | "refused" => Severity::Info,
            _ => Severity::Warning,
        };
        let by = match (s("user"), s("host")) {
            ("", _) => String::new(),
            (u, "") => format!(" (by {u})"),
            (u, h) => format!(" (by {u} on {h})"),
        };
        out.push(
            TimelineEvent::new(
                at,
                "action",
                severity,
                s("target"),
                format!(
                    "action {}: {outcome}{}{by}",
                    s("command"),
                    first_line(s("message"))
                ),
            )
            .of(system, s("source"))
            .in_context(context),
        );
    }
    out
}
