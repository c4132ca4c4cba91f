//! Alerts: rules are pure functions of the latest samples, evaluated in the state loop.
//!
//! - `user`: the metric catalogue (documented selectors such as `redis.memory_ratio`) that
//!   every rule reads, user rules from `[[alerts.rules]]`, and their validation.
//! - `rules`: the built-in rules (metric + comparison + default threshold/`for`/severity),
//!   each tunable or disabled under `[alerts.builtin.<name>]`.
//! - `engine`: pending → firing → resolved with `for` durations and hysteresis.
//! - `inbox`: acks, silences and history, persisted as JSON in the data dir (by an effect).
//! - `alertmanager`: push to and pull from Alertmanager's v2 API (run in tasks).
//! - `pane`: the Alerts pane model.

pub mod alertmanager;

pub mod engine;
pub mod inbox;
pub mod pane;
pub mod rules;
pub mod spec;
pub mod user;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sources::{Sample, SourceKind, Status};

pub use crate::metrics::{Builtin, Cmp, Severity};
pub use engine::{Engine, Entry, Phase, Unseen};
pub use inbox::Inbox;
pub use rules::RuleSet;
pub use user::Rule;

/// Where Enter on an alert takes the user: a pane's source, a table (by title) and a row key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    pub kind: SourceKind,
    pub source: String,
    pub table: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The rule's name, e.g. `source_unreachable`.
    pub rule: String,
    pub severity: Severity,
    pub kind: SourceKind,
    pub source: String,
    /// What it is about within the source (a group, a node, a mount).
    pub subject: String,
    pub summary: String,
    /// The metric read (`redis.memory_ratio`), its value and the rule's threshold.
    pub metric: String,
    pub value: f64,
    pub threshold: f64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    #[serde(skip)]
    pub jump: Option<Jump>,
}

impl Alert {
    /// Stable identity across polls: acks, silences and history refer to it.
    pub fn key(&self) -> String {
        key_of(&self.rule, self.kind, &self.source, &self.subject)
    }
}

/// The key of the alert `rule` raises on `subject` of source `source`.
pub fn key_of(rule: &str, kind: SourceKind, source: &str, subject: &str) -> String {
    format!("{rule}/{}/{source}/{subject}", kind.label())
}

/// What the rules read of one source.
pub struct SourceView<'a> {
    pub kind: SourceKind,
    pub name: &'a str,
    pub status: &'a Status,
    pub sample: Option<&'a Sample>,
}

/// One poll's verdict (`opsdeck check`, `snapshot`) with `rules`: a rule with `for` fires
/// at once since there is only one poll. Worst first.
pub fn evaluate<'a>(
    rules: &RuleSet,
    sources: impl IntoIterator<Item = SourceView<'a>>,
) -> Vec<Alert> {
    let sources: Vec<SourceView> = sources.into_iter().collect();
    let mut out: Vec<Alert> = rules
        .observe(&sources, &|_| false)
        .into_iter()
        .filter(|o| o.breached)
        .map(|o| o.alert)
        .collect();
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.source.cmp(&b.source))
    });
    out
}

#[cfg(test)]
mod tests;

/// The console's alert state: the engine, the persisted inbox and Alertmanager's alerts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desk {
    pub engine: Engine,
    pub inbox: Inbox,
    /// Alerts pulled from Alertmanager (not sent by opsdeck).
    pub external: Vec<alertmanager::External>,
    /// The last Alertmanager problem, shown in the pane.
    pub alertmanager_error: Option<String>,
    /// A fixed clock for the pane's ages (render snapshots); None: the wall clock.
    pub clock: Option<chrono::DateTime<chrono::Utc>>,
    /// Who sends this console's alerts to Alertmanager (`user@host`).
    pub console: String,
}

/// What one evaluation changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub transitions: engine::Transitions,
    /// The inbox (history, silences) changed and should be saved.
    pub inbox_changed: bool,
}

impl Desk {
    /// Evaluates every rule over the sources at `now`, records transitions in the history
    /// and expires silences.
    pub fn evaluate(
        &mut self,
        rules: &RuleSet,
        sources: &[SourceView],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Outcome {
        self.evaluate_some(rules, sources, None, now)
    }

    /// `evaluate` after one source's update: only `sources[index]`'s rules are observed
    /// (the others' inputs did not change), and the other sources' alerts are left as they
    /// are. Same outcome as `evaluate` for that source, for a fraction of the work.
    pub fn evaluate_source(
        &mut self,
        rules: &RuleSet,
        sources: &[SourceView],
        index: usize,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Outcome {
        self.evaluate_some(rules, sources, Some(index), now)
    }

    fn evaluate_some(
        &mut self,
        rules: &RuleSet,
        sources: &[SourceView],
        only: Option<usize>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Outcome {
        let answering = |e: &Entry| {
            sources
                .iter()
                .find(|s| s.kind == e.alert.kind && s.name == e.alert.source)
        };
        let observed = match only {
            Some(i) => sources.get(i..=i).unwrap_or(&[]),
            None => sources,
        };
        let asked = |s: &SourceView| {
            observed
                .iter()
                .any(|o| o.kind == s.kind && o.name == s.name)
        };
        let entries = &self.engine.entries;
        let observations = rules.observe(observed, &|key| entries.contains_key(key));
        let mut t = self.engine.step(observations, now, |e| {
            match answering(e) {
                // The source left the context: nothing more will be known.
                None => Unseen::Resolve,
                Some(s) if !asked(s) => Unseen::NotAsked,
                Some(s) if matches!(s.status, Status::Error(_)) => Unseen::Keep,
                Some(_) if user::metric(&e.alert.metric).is_some_and(|(_, m)| m.kept_when_gone) => {
                    Unseen::Keep
                }
                Some(_) => Unseen::Resolve,
            }
        });
        // A source that does not answer leaves its alerts as last seen: stale, not over.
        for e in self.engine.entries.values_mut() {
            let down = answering(e).is_some_and(|s| matches!(s.status, Status::Error(_)));
            if down && e.alert.rule != rules::UNREACHABLE.name {
                e.stale_since.get_or_insert(now);
            }
        }
        for (a, since) in &mut t.fired {
            // After a restart, an episode still open in the history keeps its start.
            if let Some(s) = self.inbox.open_since(&a.key()) {
                *since = s;
                if let Some(e) = self.engine.entries.get_mut(&a.key()) {
                    e.since = s;
                }
            }
            self.inbox.record_fired(a, *since);
        }
        for (a, _) in &t.resolved {
            self.inbox.record_resolved(a, now);
        }
        let expired = self.inbox.expire(now);
        let closed = self.close_stale_episodes(observed, now);
        Outcome {
            inbox_changed: !t.is_empty() || expired || closed,
            transitions: t,
        }
    }

    /// Episodes left open by a previous run (the console quit while they fired) whose
    /// source now answers without raising them are closed, and their acks dropped.
    fn close_stale_episodes(
        &mut self,
        sources: &[SourceView],
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        let answered = |key: &str| {
            let mut parts = key.splitn(4, '/');
            let (_, kind, source) = (parts.next(), parts.next(), parts.next());
            sources.iter().any(|s| {
                Some(s.kind.label()) == kind
                    && Some(s.name) == source
                    && (s.sample.is_some() || matches!(s.status, Status::Error(_)))
            })
        };
        let stale: Vec<String> = self
            .inbox
            .history
            .iter()
            .filter(|h| h.resolved_at.is_none())
            .filter(|h| !self.engine.entries.contains_key(&h.key) && answered(&h.key))
            .map(|h| h.key.clone())
            .collect();
        for key in &stale {
            self.inbox.acks.remove(key);
            for h in self.inbox.history.iter_mut() {
                if &h.key == key && h.resolved_at.is_none() {
                    h.resolved_at = Some(now);
                }
            }
        }
        !stale.is_empty()
    }

    /// Firing alerts that are not silenced, worst first then oldest: the header's list.
    pub fn loud(&self, now: chrono::DateTime<chrono::Utc>) -> Vec<Alert> {
        self.engine
            .firing()
            .into_iter()
            .filter(|e| self.inbox.silenced_until(&e.alert.key(), now).is_none())
            .map(|e| e.alert.clone())
            .collect()
    }

    /// Where Enter on the inbox row `key` goes.
    pub fn jump(&self, key: &str) -> Option<&Jump> {
        self.engine
            .entries
            .get(key)
            .and_then(|e| e.alert.jump.as_ref())
    }

    /// Whether `key` is an alert that can be acked or silenced now (firing, pending or
    /// pulled from Alertmanager).
    pub fn is_live(&self, key: &str) -> bool {
        self.engine.entries.contains_key(key) || self.external.iter().any(|x| x.key() == key)
    }
}
