//! Backups: freshness against a recovery-point objective for pgBackRest, WAL archiving,
//! Redis persistence and backup files. First version: backup files in a directory.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::config::keymap::Action;
use crate::config::{BackupSpec, ContextSpec, parse_duration};
use crate::sources::{CommandResult, Poller, Sample};

/// The guarded keys this pane offers (hint bar and help).
pub const ACTIONS: &[Action] = &[];
use crate::views::{Detail, Level, PaneModel, Summary, fmt};

#[derive(Debug, Clone, Default, Serialize)]
pub struct BackupSample {
    pub name: String,
    pub kind: String,
    /// fresh | stale | failed | unknown
    pub verdict: String,
    pub reason: String,
    pub newest_age_secs: Option<u64>,
}

pub struct BackupPoller {
    spec: BackupSpec,
}

impl BackupPoller {
    pub fn new(spec: BackupSpec, _ctx: ContextSpec) -> Self {
        Self { spec }
    }
}

impl Poller for BackupPoller {
    async fn poll(&mut self) -> Result<Sample, String> {
        let spec = self.spec.clone();
        let max_age = spec.max_age.as_deref().map(parse_duration).transpose()?;
        let (verdict, reason, age) = match spec.kind.as_str() {
            "files" => {
                let dir = spec.dir.clone().ok_or("files backup needs dir")?;
                let newest = std::fs::read_dir(&dir)
                    .map_err(|e| format!("{dir}: {e}"))?
                    .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
                    .max();
                match newest {
                    None => ("failed".to_string(), format!("no files in {dir}"), None),
                    Some(t) => {
                        let age = SystemTime::now()
                            .duration_since(t)
                            .unwrap_or(Duration::ZERO);
                        match max_age {
                            Some(m) if age > m => (
                                "stale".into(),
                                format!(
                                    "newest is {} old (objective {})",
                                    fmt::duration(age),
                                    fmt::duration(m)
                                ),
                                Some(age),
                            ),
                            _ => (
                                "fresh".into(),
                                format!("newest is {} old", fmt::duration(age)),
                                Some(age),
                            ),
                        }
                    }
                }
            }
            other => (
                "unknown".into(),
                format!("{other} backups are not polled yet"),
                None,
            ),
        };
        Ok(Sample::Backup(Box::new(BackupSample {
            name: spec.name,
            kind: spec.kind,
            verdict,
            reason,
            newest_age_secs: age.map(|a| a.as_secs()),
        })))
    }
}

impl BackupSample {
    pub fn level(&self) -> Level {
        match self.verdict.as_str() {
            "fresh" => Level::Ok,
            "stale" => Level::Warn,
            "failed" => Level::Crit,
            _ => Level::Muted,
        }
    }

    pub fn model(&self) -> PaneModel {
        let line = Summary::line(
            format!("{} {}: {}", self.name, self.verdict, self.reason),
            self.level(),
        );
        PaneModel {
            tile: vec![line.clone()],
            summary: vec![line],
            tables: vec![],
            level: self.level(),
        }
    }

    pub fn command(
        &self,
        _table: usize,
        _key: &str,
        _marked: &BTreeSet<String>,
        _action: Action,
    ) -> Option<CommandResult> {
        None
    }

    pub fn detail(&self, _table: usize, _key: &str) -> Option<Detail> {
        None
    }
}

/// Guarded backup operations (verify, back up now).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum BackupOp {}

impl BackupOp {
    pub fn describe(&self) -> String {
        match *self {}
    }

    pub async fn execute(&self, _spec: &BackupSpec, _ctx: &ContextSpec) -> Result<String, String> {
        match *self {}
    }
}
