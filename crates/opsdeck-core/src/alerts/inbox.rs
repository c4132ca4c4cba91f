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
    /// When each silence was set or changed (absent in files of older versions).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub silenced_at: BTreeMap<String, DateTime<Utc>>,
    /// Acks and silences taken back, and when, so a merge with another console's file does
    /// not bring them back. Kept for a day.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lifted: BTreeMap<String, Lifted>,
    /// Oldest first.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
}

/// An ack or a silence taken back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lifted {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence: Option<DateTime<Utc>>,
}

/// How long a taken-back ack or silence is remembered for merges.
const LIFTED_KEPT_HOURS: i64 = 24;

impl Inbox {
    pub fn file(data_dir: &Path) -> std::path::PathBuf {
        data_dir.join("alerts.json")
    }

    pub fn ack(&mut self, key: &str, note: Option<String>, now: DateTime<Utc>) {
        self.acks.insert(key.to_string(), Ack { at: now, note });
    }

    pub fn unack_at(&mut self, key: &str, now: DateTime<Utc>) -> bool {
        self.lifted.entry(key.to_string()).or_default().ack = Some(now);
        self.acks.remove(key).is_some()
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

    /// A silence set at `now` (remembered for merges with other consoles).
    pub fn silence_at(&mut self, key: &str, until: DateTime<Utc>, now: DateTime<Utc>) {
        self.silences.insert(key.to_string(), until);
        self.silenced_at.insert(key.to_string(), now);
    }

    pub fn unsilence_at(&mut self, key: &str, now: DateTime<Utc>) -> bool {
        self.lifted.entry(key.to_string()).or_default().silence = Some(now);
        self.silenced_at.remove(key);
        self.silences.remove(key).is_some()
    }

    pub fn unsilence(&mut self, key: &str) -> bool {
        self.silences.remove(key).is_some()
    }

    /// This inbox and `other` (another console's file) as one: every ack, silence and
    /// episode of either; where both changed the same thing the later change wins; an ack
    /// or silence taken back stays taken back unless it was set again afterwards.
    pub fn merged(&self, other: &Inbox, now: DateTime<Utc>) -> Inbox {
        let mut out = self.clone();
        for (k, l) in &other.lifted {
            let mine = out.lifted.entry(k.clone()).or_default();
            mine.ack = mine.ack.max(l.ack);
            mine.silence = mine.silence.max(l.silence);
        }
        for (k, a) in &other.acks {
            match out.acks.get(k) {
                Some(m) if m.at >= a.at => {}
                _ => {
                    out.acks.insert(k.clone(), a.clone());
                }
            }
        }
        for (k, until) in &other.silences {
            let theirs = other.silenced_at.get(k).copied();
            let mine = out.silenced_at.get(k).copied();
            if !out.silences.contains_key(k) || theirs > mine {
                out.silences.insert(k.clone(), *until);
                if let Some(t) = theirs {
                    out.silenced_at.insert(k.clone(), t);
                }
            }
        }
        // Taken back after it was set: gone.
        let epoch = DateTime::<Utc>::MIN_UTC;
        for (k, l) in &out.lifted {
            if let Some(t) = l.ack
                && out.acks.get(k).is_some_and(|a| a.at <= t)
            {
                out.acks.remove(k);
            }
            if let Some(t) = l.silence
                && out.silences.contains_key(k)
                && out.silenced_at.get(k).copied().unwrap_or(epoch) <= t
            {
                out.silences.remove(k);
                out.silenced_at.remove(k);
            }
        }
        out.lifted.retain(|_, l| {
            let newest = l.ack.max(l.silence).unwrap_or(epoch);
            now - newest < chrono::Duration::hours(LIFTED_KEPT_HOURS)
        });
        for h in &other.history {
            match out
                .history
                .iter_mut()
                .find(|x| x.key == h.key && x.since == h.since)
            {
                Some(x) => {
                    if x.resolved_at.is_none() {
                        x.resolved_at = h.resolved_at;
                    }
                }
                None => out.history.push(h.clone()),
            }
        }
        out.history.sort_by_key(|h| h.since);
        if out.history.len() > HISTORY_LEN {
            let extra = out.history.len() - HISTORY_LEN;
            out.history.drain(..extra);
        }
        out
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

    /// Reads the inbox file; a missing file is an empty inbox. A file that cannot be read
    /// as an inbox is moved aside (never silently replaced): the error says where.
    pub fn load(path: &Path) -> Result<Inbox, String> {
        match std::fs::read_to_string(path) {
            Ok(t) => match Inbox::from_json(&t) {
                Ok(i) => Ok(i),
                Err(e) => {
                    let aside = path.with_extension(format!(
                        "json.corrupt-{}",
                        Utc::now().format("%Y%m%dT%H%M%S")
                    ));
                    std::fs::rename(path, &aside).map_err(|r| {
                        format!(
                            "{}: {e}; and it could not be moved aside: {r}",
                            path.display()
                        )
                    })?;
                    Err(format!(
                        "{}: {e}; kept as {} and started a new inbox",
                        path.display(),
                        aside.display()
                    ))
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Inbox::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Saves `self` merged with what the file holds now (another console may share the data
    /// dir), under a lock, atomically: a unique temp file, synced, renamed over the file,
    /// the directory synced. Returns the merged inbox, which the console then shows.
    pub fn save_merged(&self, path: &Path, now: DateTime<Utc>) -> Result<Inbox, String> {
        use std::io::Write;
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let lock_path = path.with_extension("json.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("{}: {e}", lock_path.display()))?;
        let _held = Lock::exclusive(&lock).map_err(|e| format!("{}: {e}", lock_path.display()))?;
        let on_disk = match std::fs::read_to_string(path) {
            Ok(t) => Inbox::from_json(&t).unwrap_or_default(),
            Err(_) => Inbox::default(),
        };
        let merged = self.merged(&on_disk, now);
        let tmp = dir.join(format!(
            ".alerts.json.{}.{}",
            std::process::id(),
            now.timestamp_nanos_opt().unwrap_or_default()
        ));
        let mut f = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        f.write_all(merged.to_json().as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(merged)
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

/// An exclusive `flock` on a file, released when dropped.
struct Lock<'a>(&'a std::fs::File);

impl<'a> Lock<'a> {
    fn exclusive(f: &'a std::fs::File) -> std::io::Result<Lock<'a>> {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this process holds open for the lock's lifetime.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
            Ok(Lock(f))
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above; unlocking a held lock.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}
