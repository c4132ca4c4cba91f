//! The audit log: one JSON object per line, appended and flushed (fsync) before the result of
//! an action is reported. Parameters are the typed command, which never holds a secret.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::Command;

#[derive(Debug, Serialize)]
pub struct AuditEntry<'a> {
    pub time: String,
    pub user: String,
    pub host: String,
    pub context: &'a str,
    pub source: &'a str,
    pub target: &'a str,
    pub command: String,
    pub parameters: &'a super::Op,
    /// "started" (written and synced before it runs), then "ok" | "error" | "unknown" (it may
    /// have been applied) | "abandoned" (the console quit before it answered); or "refused".
    pub outcome: &'a str,
    pub message: String,
    /// Pairs an action's "started" line with its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl<'a> AuditEntry<'a> {
    pub fn new(context: &'a str, cmd: &'a Command, outcome: &'a str, message: &str) -> Self {
        AuditEntry {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            user: os_user(),
            host: nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_default(),
            context,
            source: &cmd.source,
            target: &cmd.target,
            command: cmd.describe(),
            parameters: &cmd.op,
            outcome,
            message: crate::secrets::redact_urls(message),
            id: None,
        }
    }

    /// The entry of one run of an action (its "started" and its end share the id).
    pub fn with_id(mut self, id: &str) -> Self {
        self.id = Some(id.to_string());
        self
    }
}

pub fn os_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Appends one entry and syncs it to disk.
pub fn append(path: &Path, entry: &AuditEntry<'_>) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(&line)?;
    f.sync_data()
}
