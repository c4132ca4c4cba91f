//! The incident timeline: every state change of every source, in time order, in one place.
//!
//! - Each system says what counts as an event between two of its samples
//!   (`System::events`); the console derives the rest (alerts, acks and silences, sources
//!   becoming unreachable, actions) with the pure functions of `derive`.
//! - `Timeline` holds them in memory, ordered and bounded (7 days or 50k events);
//!   `store` keeps them in the data dir as JSON lines, so a console opened after an event
//!   still shows it.
//! - `pane` is the Timeline pane's model and the overview's strip.

pub mod derive;
pub mod pane;
pub mod store;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::views::Level;

/// Events kept, in memory and in the file: whichever bound is reached first.
pub const MAX_EVENTS: usize = 50_000;
pub const MAX_AGE_DAYS: i64 = 7;

/// How bad an event is: good news (a resolution, a source back) is `ok`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    #[default]
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Ok => "OK",
            Severity::Info => "INFO",
            Severity::Warning => "WARN",
            Severity::Critical => "CRIT",
        }
    }

    pub fn level(self) -> Level {
        match self {
            Severity::Ok => Level::Ok,
            Severity::Info => Level::Info,
            Severity::Warning => Level::Warn,
            Severity::Critical => Level::Crit,
        }
    }
}

impl From<crate::metrics::Severity> for Severity {
    fn from(s: crate::metrics::Severity) -> Severity {
        match s {
            crate::metrics::Severity::Info => Severity::Info,
            crate::metrics::Severity::Warning => Severity::Warning,
            crate::metrics::Severity::Critical => Severity::Critical,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One state change. Systems build it with `new` (time, kind of change, severity, subject,
/// text); the console adds the context, the system's label and the source's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub context: String,
    /// The system's label (`redis`), as in `SourceKind::label`.
    #[serde(default)]
    pub system: String,
    /// The configured source's name (`cache`).
    #[serde(default)]
    pub source: String,
    /// What kind of change: `failover`, `role`, `blocking`, `alert`, `unreachable`, …
    pub what: String,
    pub severity: Severity,
    /// What it is about within the source: a group, a node, a pid, a mount.
    #[serde(default)]
    pub subject: String,
    pub text: String,
    /// It happened before this console started; the system told when (Sentinel's last
    /// failover, a session's start, a backup's time).
    #[serde(default, skip_serializing_if = "is_false")]
    pub recovered: bool,
    /// Where Enter goes: a tab (by title) of the source's pane and a row key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub table: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
}

impl TimelineEvent {
    pub fn new(
        at: DateTime<Utc>,
        what: &str,
        severity: Severity,
        subject: impl Into<String>,
        text: impl Into<String>,
    ) -> TimelineEvent {
        TimelineEvent {
            at,
            context: String::new(),
            system: String::new(),
            source: String::new(),
            what: what.to_string(),
            severity,
            subject: subject.into(),
            text: text.into(),
            recovered: false,
            table: String::new(),
            key: String::new(),
        }
    }

    /// Enter on the event opens this tab of the source's pane with this row selected.
    pub fn jump(mut self, table: &str, key: impl Into<String>) -> TimelineEvent {
        self.table = table.to_string();
        self.key = key.into();
        self
    }

    /// Marks an event dated by the system from before the console saw it.
    pub fn recovered(mut self) -> TimelineEvent {
        self.recovered = true;
        self
    }

    /// Names where it happened.
    pub fn of(mut self, system: &str, source: &str) -> TimelineEvent {
        self.system = system.to_string();
        self.source = source.to_string();
        self
    }

    pub fn in_context(mut self, context: &str) -> TimelineEvent {
        self.context = context.to_string();
        self
    }

    /// "redis cache", or just "host" where the two are the same.
    pub fn origin(&self) -> String {
        match (self.system.as_str(), self.source.as_str()) {
            (s, n) if s == n || n.is_empty() => s.to_string(),
            ("", n) => n.to_string(),
            (s, n) => format!("{s} {n}"),
        }
    }

    /// One line for the clipboard, a note or a log: local date and time, severity, where,
    /// what.
    pub fn line(&self) -> String {
        format!(
            "{} {} {}: {}{}",
            self.at
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S"),
            self.severity.label(),
            self.origin(),
            self.text,
            if self.recovered { " (recovered)" } else { "" }
        )
    }

    /// The same change seen twice: by another console sharing the data dir, or recovered
    /// again after a restart. Recovered times are estimates, so they match more loosely.
    fn same_as(&self, other: &TimelineEvent) -> bool {
        let slack = if self.recovered || other.recovered {
            Duration::seconds(120)
        } else {
            Duration::seconds(2)
        };
        (self.at - other.at).abs() <= slack
            && self.system == other.system
            && self.source == other.source
            && self.what == other.what
            && self.subject == other.subject
            && self.context == other.context
            && (self.recovered || other.recovered || self.text == other.text)
    }
}

/// The events of every context, oldest first, bounded by `MAX_EVENTS` and `MAX_AGE_DAYS`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    events: Vec<TimelineEvent>,
}

impl Timeline {
    pub fn events(&self) -> &[TimelineEvent] {
        &self.events
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Adds an event in time order unless the same change is already there; returns
    /// whether it was added. Most events are newer than all others, so this is a push.
    pub fn add(&mut self, ev: TimelineEvent, now: DateTime<Utc>) -> bool {
        if now - ev.at > Duration::days(MAX_AGE_DAYS) {
            return false;
        }
        let window = Duration::seconds(120);
        let from = self.events.partition_point(|e| e.at < ev.at - window);
        if self.events[from..]
            .iter()
            .take_while(|e| e.at <= ev.at + window)
            .any(|e| e.same_as(&ev))
        {
            return false;
        }
        let at = self.events.partition_point(|e| e.at <= ev.at);
        self.events.insert(at, ev);
        self.prune(now);
        true
    }

    /// Adds several, returning those that were new (to be written to the file).
    pub fn add_all(
        &mut self,
        events: impl IntoIterator<Item = TimelineEvent>,
        now: DateTime<Utc>,
    ) -> Vec<TimelineEvent> {
        events
            .into_iter()
            .filter(|e| self.add(e.clone(), now))
            .collect()
    }

    /// Drops what is past the bounds: older than `MAX_AGE_DAYS`, then the oldest beyond
    /// `MAX_EVENTS`.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let cutoff = now - Duration::days(MAX_AGE_DAYS);
        let old = self.events.partition_point(|e| e.at < cutoff);
        let extra = self.events.len().saturating_sub(MAX_EVENTS);
        let drop = old.max(extra);
        if drop > 0 {
            self.events.drain(..drop);
        }
    }

    /// The events of one context, newest first.
    pub fn newest_of<'a>(&'a self, context: &'a str) -> impl Iterator<Item = &'a TimelineEvent> {
        self.events
            .iter()
            .rev()
            .filter(move |e| e.context == context)
    }

    /// The events of one context since `from`, oldest first.
    pub fn since<'a>(
        &'a self,
        context: &'a str,
        from: DateTime<Utc>,
    ) -> impl Iterator<Item = &'a TimelineEvent> {
        let start = self.events.partition_point(|e| e.at < from);
        self.events[start..]
            .iter()
            .filter(move |e| e.context == context)
    }
}

#[cfg(test)]
mod tests;
