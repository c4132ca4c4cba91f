//! Backups: freshness against a recovery-point objective (`max_age`) for pgBackRest stanzas,
//! PostgreSQL WAL archiving, Redis persistence and backup files. Each poll gives a verdict
//! (fresh, stale, failed, unknown) with the reason, plus the figures it was made from.

mod probes;

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use crate::config::keymap::Action;
use crate::config::{BackupSpec, ContextSpec, parse_duration};
use crate::sources::{CommandResult, Poller, Sample};
use crate::views::{Cell, Column, Detail, Level, PaneModel, Row, Summary, Table, fmt};

pub use probes::{glob_match, pgbackrest_from_json, redis_from_info};

/// The guarded keys this pane offers (hint bar and help).
pub const ACTIONS: &[Action] = &[];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Fresh,
    Stale,
    Failed,
    #[default]
    Unknown,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Fresh => "fresh",
            Verdict::Stale => "stale",
            Verdict::Failed => "failed",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One backup (a pgBackRest backup set, a file) as listed in the pane.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BackupItem {
    /// The backup's label or file name.
    pub label: String,
    /// full | diff | incr for pgBackRest; "file" for files.
    pub kind: String,
    /// When it finished (Unix seconds).
    pub finished_at: Option<i64>,
    pub age_secs: Option<u64>,
    pub duration_secs: Option<u64>,
    /// Size in bytes (database size for pgBackRest, file size for files).
    pub size: Option<u64>,
    /// pgBackRest flagged page checksum or other errors in this backup.
    pub error: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BackupSample {
    pub name: String,
    /// pgbackrest | pg_archiver | redis | files
    pub kind: String,
    pub verdict: Verdict,
    /// Why the verdict (e.g. "newest full is 27h old, objective 26h").
    pub reason: String,
    /// The recovery-point objective in seconds, when configured.
    pub max_age_secs: Option<u64>,
    /// Age of the newest good backup (or archived WAL segment, or RDB save).
    pub newest_age_secs: Option<u64>,
    /// Backups found, newest first (pgBackRest sets, files).
    pub items: Vec<BackupItem>,
    /// pgBackRest: stanza status code and message (0 = ok).
    pub status_code: Option<i64>,
    pub status_message: Option<String>,
    /// pgBackRest: a backup is running now.
    pub running: bool,
    /// pgBackRest: oldest and newest WAL segment in the archive.
    pub wal_min: Option<String>,
    pub wal_max: Option<String>,
    /// pg_archiver: the last archived segment, failure count and the last failed segment.
    pub last_archived_wal: Option<String>,
    pub failed_count: Option<i64>,
    pub last_failed_wal: Option<String>,
    /// pg_archiver: a failure happened after the last success.
    pub failing: bool,
    /// redis: last BGSAVE status ("ok"/"err"), changes since it, AOF on and its statuses.
    pub rdb_last_bgsave_status: Option<String>,
    pub rdb_changes_since_last_save: Option<u64>,
    pub aof_enabled: Option<bool>,
    pub aof_last_write_status: Option<String>,
    pub aof_last_bgrewrite_status: Option<String>,
    /// files: number of matching files and the newest one's size drop vs the previous file
    /// (0.3 = 30 % smaller).
    pub file_count: Option<usize>,
    pub size_drop: Option<f64>,
    /// The configured restore runbook.
    pub runbook: Option<String>,
}

impl BackupSample {
    /// Fills verdict/reason from the newest age against the objective (when not failed).
    pub fn judge_age(&mut self, what: &str) {
        if self.verdict == Verdict::Failed {
            return;
        }
        match (self.newest_age_secs, self.max_age_secs) {
            (None, _) => {
                self.verdict = Verdict::Failed;
                self.reason = format!("no {what} found");
            }
            (Some(age), Some(max)) if age > max => {
                self.verdict = Verdict::Stale;
                self.reason = format!(
                    "newest {what} is {} old, objective {}",
                    fmt::duration(Duration::from_secs(age)),
                    fmt::duration(Duration::from_secs(max))
                );
            }
            (Some(age), _) => {
                self.verdict = Verdict::Fresh;
                self.reason = format!(
                    "newest {what} is {} old",
                    fmt::duration(Duration::from_secs(age))
                );
            }
        }
    }
}

pub struct BackupPoller {
    spec: BackupSpec,
    ctx: ContextSpec,
}

impl BackupPoller {
    pub fn new(spec: BackupSpec, ctx: ContextSpec) -> Self {
        Self { spec, ctx }
    }
}

impl Poller for BackupPoller {
    async fn poll(&mut self) -> Result<Sample, String> {
        let spec = self.spec.clone();
        let max_age = spec.max_age.as_deref().map(parse_duration).transpose()?;
        let mut s = BackupSample {
            name: spec.name.clone(),
            kind: spec.kind.clone(),
            max_age_secs: max_age.map(|d| d.as_secs()),
            runbook: spec.runbook.clone(),
            ..Default::default()
        };
        match spec.kind.as_str() {
            "files" => probes::files(&spec, &mut s)?,
            "pgbackrest" => probes::pgbackrest(&spec, &mut s).await?,
            "pg_archiver" => probes::pg_archiver(&spec, &self.ctx, &mut s).await?,
            "redis" => probes::redis(&spec, &self.ctx, &mut s).await?,
            other => {
                s.verdict = Verdict::Unknown;
                s.reason = format!(
                    "unknown backup kind {other:?} (pgbackrest, pg_archiver, redis, files)"
                );
            }
        }
        Ok(Sample::Backup(Box::new(s)))
    }
}

impl BackupSample {
    pub fn level(&self) -> Level {
        match self.verdict {
            Verdict::Fresh => Level::Ok,
            Verdict::Stale => Level::Warn,
            Verdict::Failed => Level::Crit,
            Verdict::Unknown => Level::Muted,
        }
    }

    pub fn model(&self) -> PaneModel {
        let line = Summary::line(
            format!("{} {}: {}", self.name, self.verdict.label(), self.reason),
            self.level(),
        );
        let mut m = PaneModel {
            tile: vec![line.clone()],
            summary: vec![line],
            level: self.level(),
            ..Default::default()
        };
        if let Some(msg) = &self.status_message {
            m.summary.push(Summary::line(
                format!("stanza status {}: {msg}", self.status_code.unwrap_or(-1)),
                Level::Normal,
            ));
        }
        if let (Some(a), Some(b)) = (&self.wal_min, &self.wal_max) {
            m.summary.push(Summary::line(
                format!("WAL archive {a} .. {b}"),
                Level::Normal,
            ));
        }
        if self.running {
            m.summary
                .push(Summary::line("a backup is running", Level::Info));
        }
        if let Some(w) = &self.last_archived_wal {
            m.summary.push(Summary::line(
                format!(
                    "last archived {w}, {} failed{}",
                    self.failed_count.unwrap_or(0),
                    if self.failing { " (failing now)" } else { "" }
                ),
                if self.failing {
                    Level::Crit
                } else {
                    Level::Normal
                },
            ));
        }
        if let Some(st) = &self.rdb_last_bgsave_status {
            m.summary.push(Summary::line(
                format!(
                    "last bgsave {st}, {} changes since; aof {}",
                    self.rdb_changes_since_last_save.unwrap_or(0),
                    match self.aof_enabled {
                        Some(true) => format!(
                            "on (write {}, rewrite {})",
                            self.aof_last_write_status.as_deref().unwrap_or("?"),
                            self.aof_last_bgrewrite_status.as_deref().unwrap_or("?")
                        ),
                        _ => "off".into(),
                    }
                ),
                Level::Normal,
            ));
        }
        if !self.items.is_empty() {
            m.tables.push(Table {
                title: "Backups".into(),
                columns: vec![
                    Column::left("BACKUP", 28),
                    Column::left("TYPE", 5),
                    Column::right("AGE", 8),
                    Column::right("TOOK", 8),
                    Column::right("SIZE", 10),
                    Column::left("ERROR", 5),
                ],
                rows: self
                    .items
                    .iter()
                    .map(|i| {
                        let d = |s: Option<u64>| {
                            s.map(|s| fmt::duration(Duration::from_secs(s)))
                                .unwrap_or_else(|| "-".into())
                        };
                        Row::new(
                            i.label.clone(),
                            vec![
                                Cell::new(i.label.clone()),
                                Cell::new(i.kind.clone()),
                                Cell::new(d(i.age_secs)),
                                Cell::new(d(i.duration_secs)),
                                Cell::new(i.size.map(fmt::bytes).unwrap_or_else(|| "-".into())),
                                if i.error {
                                    Cell::level("yes", Level::Crit)
                                } else {
                                    Cell::new("")
                                },
                            ],
                        )
                    })
                    .collect(),
                empty: "no backups".into(),
            });
        }
        m
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_against_objective() {
        let mut s = BackupSample {
            newest_age_secs: Some(27 * 3600),
            max_age_secs: Some(26 * 3600),
            ..Default::default()
        };
        s.judge_age("backup");
        assert_eq!(s.verdict, Verdict::Stale);
        assert!(s.reason.contains("objective"), "{}", s.reason);
        s.max_age_secs = None;
        s.judge_age("backup");
        assert_eq!(s.verdict, Verdict::Fresh);
        s.newest_age_secs = None;
        s.judge_age("backup");
        assert_eq!(s.verdict, Verdict::Failed);
    }
}
