//! Alert lifecycle: pending → firing → resolved. A condition must hold for the rule's `for`
//! before firing; a raised alert resolves only once the value crosses back past the
//! threshold by the hysteresis margin. Pure: `now` is a parameter.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Alert;
use super::user::Observation;

/// How many recent values an alert keeps for its sparkline.
pub const SPARK_LEN: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Pending,
    Firing,
    Resolved,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub alert: Alert,
    pub phase: Phase,
    /// When the condition started to hold.
    pub since: DateTime<Utc>,
    pub fired_at: Option<DateTime<Utc>>,
    /// Recent values of the metric, oldest first.
    pub values: Vec<f64>,
    /// Since when the condition could not be read again (its source does not answer, or
    /// the subject is no longer reported): the alert stays as it was last seen.
    pub stale_since: Option<DateTime<Utc>>,
}

/// What becomes of a raised alert whose subject was not observed this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unseen {
    /// The subject is gone and that ends the alert (a session ended, a group was deleted).
    Resolve,
    /// Nothing says the condition is over: keep the alert, stale.
    Keep,
    /// Its source was not evaluated this time (another source's sample came in): leave it
    /// exactly as it is.
    NotAsked,
}

/// What changed in one evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transitions {
    /// Newly firing, with when their condition started.
    pub fired: Vec<(Alert, DateTime<Utc>)>,
    pub resolved: Vec<(Alert, DateTime<Utc>)>,
}

impl Transitions {
    pub fn is_empty(&self) -> bool {
        self.fired.is_empty() && self.resolved.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Engine {
    /// Pending and firing alerts by key.
    pub entries: BTreeMap<String, Entry>,
}

impl Engine {
    /// Applies one evaluation of every rule. A pending or firing alert whose subject was not
    /// observed resolves or stays stale, as `unseen` decides from what is known of it.
    pub fn step(
        &mut self,
        observations: Vec<Observation>,
        now: DateTime<Utc>,
        unseen: impl Fn(&Entry) -> Unseen,
    ) -> Transitions {
        let mut t = Transitions::default();
        let mut seen = BTreeSet::new();
        for o in observations {
            let key = o.alert.key();
            // Most observations are of conditions that do not hold and were not raised.
            if !o.breached && !self.entries.contains_key(&key) {
                continue;
            }
            seen.insert(key.clone());
            match self.entries.get_mut(&key) {
                Some(e) => {
                    e.stale_since = None;
                    e.values.push(o.alert.value);
                    if e.values.len() > SPARK_LEN {
                        e.values.remove(0);
                    }
                    if o.held {
                        e.alert = o.alert;
                        if e.phase == Phase::Pending && elapsed(e.since, now) >= o.for_ {
                            e.phase = Phase::Firing;
                            e.fired_at = Some(now);
                            t.fired.push((e.alert.clone(), e.since));
                        }
                    } else if let Some(e) = self.entries.remove(&key)
                        && e.phase == Phase::Firing
                    {
                        // With the words and labels it fired with (Alertmanager matches
                        // the resolution by labels), and the value that resolved it.
                        let alert = Alert {
                            value: o.alert.value,
                            ..e.alert
                        };
                        t.resolved.push((alert, e.since));
                    }
                }
                None if o.breached => {
                    let firing = o.for_.is_zero();
                    let e = Entry {
                        alert: o.alert,
                        phase: if firing {
                            Phase::Firing
                        } else {
                            Phase::Pending
                        },
                        since: now,
                        fired_at: firing.then_some(now),
                        values: Vec::new(),
                        stale_since: None,
                    };
                    let mut e = e;
                    e.values.push(e.alert.value);
                    if firing {
                        t.fired.push((e.alert.clone(), now));
                    }
                    self.entries.insert(key, e);
                }
                None => {}
            }
        }
        let gone: Vec<String> = self
            .entries
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for k in gone {
            if let Some(e) = self.entries.get_mut(&k) {
                match unseen(e) {
                    Unseen::NotAsked => continue,
                    Unseen::Keep => {
                        e.stale_since.get_or_insert(now);
                        continue;
                    }
                    Unseen::Resolve => {}
                }
            }
            if let Some(e) = self.entries.remove(&k)
                && e.phase == Phase::Firing
            {
                t.resolved.push((e.alert, e.since));
            }
        }
        t
    }

    /// Firing alerts, worst severity first, then oldest first.
    pub fn firing(&self) -> Vec<&Entry> {
        // Ties by key: the map's own (formatting keys in each comparison was most of this).
        let mut v: Vec<(&String, &Entry)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.phase == Phase::Firing)
            .collect();
        v.sort_by(|(ka, a), (kb, b)| {
            b.alert
                .severity
                .cmp(&a.alert.severity)
                .then_with(|| a.since.cmp(&b.since))
                .then_with(|| ka.cmp(kb))
        });
        v.into_iter().map(|(_, e)| e).collect()
    }

    pub fn pending(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values().filter(|e| e.phase == Phase::Pending)
    }
}

fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> std::time::Duration {
    (now - since).to_std().unwrap_or_default()
}
