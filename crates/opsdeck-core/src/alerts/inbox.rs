//! Acks, silences and history: the part of the alert state kept across restarts, as JSON in
//! the data dir (`alerts.json`). `update` changes it and asks for a save through an effect;
//! the loop writes the file off the state.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Alert, Severity};

/// History kept: the most recent transitions.
pub const HISTORY_LEN: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One firing episode of an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub key: String,
    pub rule: String,
    pub severity: Severity,
    pub summary: String,
    pub value: f64,
    pub threshold: f64,
    pub since: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    /// Acknowledged alerts by key, until they resolve.
    #[serde(default)]
    pub acks: BTreeMap<String, Ack>,
    /// Silenced alerts by key, until the given time.
    #[serde(default)]
    pub silences: BTreeMap<String, DateTime<Utc>>,
    /// Oldest first.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
}

impl Inbox {
    pub fn file(data_dir: &Path) -> std::path::PathBuf {
        data_dir.join("alerts.json")
    }

    pub fn ack(&mut self, key: &str, note: Option<String>, now: DateTime<Utc>) {
        self.acks.insert(key.to_string(), Ack { at: now, note });
    }

    pub fn unack(&mut self, key: &str) -> bool {
        self.acks.remove(key).is_some()
    }

    pub fn acked(&self, key: &str) -> Option<&Ack> {
        self.acks.get(key)
    }

    pub fn silence(&mut self, key: &str, until: DateTime<Utc>) {
        self.silences.insert(key.to_string(), until);
    }

    pub fn unsilence(&mut self, key: &str) -> bool {
        self.silences.remove(key).is_some()
    }

    /// The end of the silence of `key`, if it is silenced at `now`.
    pub fn silenced_until(&self, key: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.silences.get(key).copied().filter(|u| *u > now)
    }

    /// Drops silences that ended; true when something changed.
    pub fn expire(&mut self, now: DateTime<Utc>) -> bool {
        let before = self.silences.len();
        self.silences.retain(|_, u| *u > now);
        before != self.silences.len()
    }

    /// Opens an episode; an episode still open (from before a restart) is kept.
    pub fn record_fired(&mut self, a: &Alert, since: DateTime<Utc>) {
        if self.open_since(&a.key()).is_some() {
            return;
        }
        self.history.push(HistoryEntry {
            key: a.key(),
            rule: a.rule.clone(),
            severity: a.severity,
            summary: a.summary.clone(),
            value: a.value,
            threshold: a.threshold,
            since,
            resolved_at: None,
        });
        if self.history.len() > HISTORY_LEN {
            let extra = self.history.len() - HISTORY_LEN;
            self.history.drain(..extra);
        }
    }

    /// Closes the open episode of the alert and drops its ack (a new episode starts unacked).
    pub fn record_resolved(&mut self, a: &Alert, now: DateTime<Utc>) {
        let key = a.key();
        self.acks.remove(&key);
        if let Some(h) = self
            .history
            .iter_mut()
            .rev()
            .find(|h| h.key == key && h.resolved_at.is_none())
        {
            // The episode keeps the words it fired with: the resolving value ("status OK")
            // would read as the problem.
            h.resolved_at = Some(now);
        }
    }

    /// Episodes resolved within `window` before `now`, newest first.
    pub fn recently_resolved(
        &self,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Vec<&HistoryEntry> {
        let mut v: Vec<&HistoryEntry> = self
            .history
            .iter()
            .filter(|h| h.resolved_at.is_some_and(|r| now - r <= window))
            .collect();
        v.sort_by_key(|h| std::cmp::Reverse(h.resolved_at));
        v
    }

    /// The episode currently open for `key` (after a restart: when it started firing).
    pub fn open_since(&self, key: &str) -> Option<DateTime<Utc>> {
        self.history
            .iter()
            .rev()
            .find(|h| h.key == key && h.resolved_at.is_none())
            .map(|h| h.since)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_json(text: &str) -> Result<Inbox, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Reads the inbox file; a missing file is an empty inbox.
    pub fn load(path: &Path) -> Result<Inbox, String> {
        match std::fs::read_to_string(path) {
            Ok(t) => Inbox::from_json(&t).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Inbox::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes `json` to `path` atomically (temp file, then rename).
    pub fn save(path: &Path, json: &str) -> Result<(), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
    }
}
