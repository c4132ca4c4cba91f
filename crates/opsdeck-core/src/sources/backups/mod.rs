//! Backups: freshness against a recovery-point objective (`max_age`) for pgBackRest stanzas,
//! PostgreSQL WAL archiving, Redis persistence and backup files. Each poll gives a verdict
//! (fresh, stale, failed, unknown) with the reason, plus the figures it was made from.

mod ops;
mod probes;

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use crate::config::keymap::Action;
use crate::config::{BackupSpec, ContextSpec, parse_duration};
use crate::sources::{CommandResult, Poller, Sample};
use crate::views::{Cell, Column, Detail, Level, PaneModel, Row, Summary, Table, fmt};

pub use ops::{BackupOp, Verification, last_verification};
pub use probes::{glob_match, pgbackrest_from_json, redis_from_info};

/// The guarded keys this pane offers (hint bar and help).
pub const ACTIONS: &[Action] = &[Action::Verify, Action::BackupNow];

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
    /// The latest verification run from this console (null: none yet).
    pub last_verification: Option<Verification>,
    /// Where the backups are (pgBackRest stanza/config, files dir), for the actions.
    pub stanza: Option<String>,
    pub pgbackrest_config: Option<String>,
    pub dir: Option<String>,
    /// redis: the context's redis entry.
    pub source: Option<String>,
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
            last_verification: last_verification(&spec.name),
            stanza: spec.stanza.clone(),
            pgbackrest_config: spec.pgbackrest_config.clone(),
            dir: spec.dir.clone(),
            source: spec.source.clone(),
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
        key: &str,
        _marked: &BTreeSet<String>,
        action: Action,
    ) -> Option<CommandResult> {
        use crate::actions::{Op, Risk};
        let op = match (action, self.kind.as_str()) {
            (Action::Verify, "pgbackrest") => BackupOp::VerifyStanza {
                stanza: self.stanza.clone()?,
                config: self.pgbackrest_config.clone(),
            },
            (Action::Verify, "files") => {
                let path = format!("{}/{key}", self.dir.as_deref()?);
                if key.ends_with(".rdb") {
                    BackupOp::VerifyRdb { path }
                } else {
                    BackupOp::VerifyDump { path }
                }
            }
            (Action::Verify, _) => {
                return Some(Err(format!(
                    "{} backups cannot be verified here; point a `files` backup source at the \
                     backup files (e.g. pattern \"*.rdb\") and verify those",
                    self.kind
                )));
            }
            (Action::BackupNow, "pgbackrest") => BackupOp::PgBackRestBackup {
                stanza: self.stanza.clone()?,
                config: self.pgbackrest_config.clone(),
                backup_type: self
                    .items
                    .iter()
                    .find(|i| i.label == key)
                    .map(|i| i.kind.clone())
                    .filter(|k| ["full", "diff", "incr"].contains(&k.as_str()))
                    .unwrap_or_else(|| "incr".into()),
            },
            (Action::BackupNow, "redis") => BackupOp::RedisBgsave {
                redis: self.source.clone()?,
            },
            (Action::BackupNow, _) => {
                return Some(Err(format!(
                    "opsdeck does not run {} backups; run the job that writes them",
                    self.kind
                )));
            }
            _ => return None,
        };
        let risk = if matches!(op, BackupOp::PgBackRestBackup { .. }) {
            Risk::Medium
        } else {
            Risk::Low
        };
        let target = if key.is_empty() {
            self.name.clone()
        } else {
            key.to_string()
        };
        Some(Ok((target, Op::Backup(op), risk)))
    }

    /// The selected backup, the latest verification and the restore runbook.
    pub fn detail(&self, _table: usize, key: &str) -> Option<Detail> {
        let mut lines = vec![vec![Cell::level(
            format!("{}: {}", self.verdict.label(), self.reason),
            self.level(),
        )]];
        if let Some(i) = self.items.iter().find(|i| i.label == key) {
            lines.push(vec![Cell::new(format!(
                "{} {}  finished {}  took {}  size {}{}",
                i.kind,
                i.label,
                i.age_secs
                    .map(|a| format!("{} ago", fmt::duration(Duration::from_secs(a))))
                    .unwrap_or_else(|| "?".into()),
                i.duration_secs
                    .map(|a| fmt::duration(Duration::from_secs(a)))
                    .unwrap_or_else(|| "?".into()),
                i.size.map(fmt::bytes).unwrap_or_else(|| "?".into()),
                if i.error { "  ERRORS" } else { "" }
            ))]);
        }
        lines.push(vec![Cell::new(match &self.last_verification {
            Some(v) => format!(
                "last verified {} ({}): {} {}",
                v.at,
                v.target,
                if v.ok { "ok" } else { "FAILED" },
                v.message
            ),
            None => "not verified from this console yet (v verifies)".into(),
        })]);
        lines.push(vec![Cell::level("Restore runbook", Level::Info)]);
        let runbook = self
            .runbook
            .clone()
            .unwrap_or_else(|| default_runbook(&self.kind));
        for l in runbook.lines() {
            lines.push(vec![Cell::new(l.to_string())]);
        }
        Some(Detail {
            title: format!("Backup {}", self.name),
            lines,
            table: None,
        })
    }
}

/// The runbook shown when the config gives none: the steps are for the person.
fn default_runbook(kind: &str) -> String {
    match kind {
        "pgbackrest" => "1. stop PostgreSQL on the target\n\
             2. pgbackrest --stanza=<stanza> --delta restore [--type=time --target=\"<time>\"]\n\
             3. start PostgreSQL; watch the log until recovery completes\n\
             4. check the data, then pgbackrest check"
            .into(),
        "pg_archiver" => "WAL archiving feeds point-in-time recovery: restore the base backup, \
             set restore_command, create recovery.signal, start PostgreSQL"
            .into(),
        "redis" => "1. stop Redis\n2. copy the RDB (or AOF directory) into its dir\n\
             3. start Redis and check DBSIZE"
            .into(),
        "files" => "createdb <db>; pg_restore -d <db> --jobs 4 <file>  (check with \
             pg_restore --list <file> first)"
            .into(),
        _ => "no runbook configured (set `runbook` on this backup source)".into(),
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
