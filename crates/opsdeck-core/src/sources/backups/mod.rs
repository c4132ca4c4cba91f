//! Backups: freshness against a recovery-point objective (`max_age`) for pgBackRest stanzas,
//! PostgreSQL WAL archiving, Redis persistence and backup files. Each poll gives a verdict
//! (fresh, stale, failed, unknown) with the reason, plus the figures it was made from.

mod events;
mod ops;
mod probes;
mod series;
mod spec;
mod system;

use std::time::Duration;

use serde::Serialize;

use crate::input::values::parse_duration;
use crate::sources::postgres::{Postgres, PostgresSpec};
use crate::sources::redis::{Redis, RedisSpec};
use crate::sources::system::{Done, Entries, Poller, entry};
use crate::views::{Cell, Column, Detail, Level, PaneModel, Row, Summary, Table, fmt};

pub use ops::{BackupOp, Verification};
pub use probes::{glob_match, pgbackrest_from_json, redis_from_info};
pub use spec::BackupSpec;
pub use system::Backups;

/// The pane's tables: a row per backup source, then their backups.
pub const TABLE_SOURCES: &str = "Sources";
pub const TABLE_BACKUPS: &str = "Backups";

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
    /// The context's entry a `pg_archiver` / `redis` backup reads, looked up once.
    postgres: Option<PostgresSpec>,
    redis: Option<RedisSpec>,
    /// The latest verification of this source run from the console.
    verified: Option<Verification>,
}

impl BackupPoller {
    pub fn new(spec: BackupSpec, ctx: &dyn Entries) -> Self {
        let linked = spec.source.clone().unwrap_or_default();
        Self {
            postgres: entry::<Postgres>(ctx, &linked).cloned(),
            redis: entry::<Redis>(ctx, &linked).cloned(),
            spec,
            verified: None,
        }
    }
}

impl Poller for BackupPoller {
    type Sample = BackupSample;
    type Op = BackupOp;

    async fn poll(&mut self) -> Result<BackupSample, String> {
        let spec = self.spec.clone();
        let max_age = spec.max_age.as_deref().map(parse_duration).transpose()?;
        let mut s = BackupSample {
            name: spec.name.clone(),
            kind: spec.kind.clone(),
            max_age_secs: max_age.map(|d| d.as_secs()),
            runbook: spec.runbook.clone(),
            last_verification: self.verified.clone(),
            stanza: spec.stanza.clone(),
            pgbackrest_config: spec.pgbackrest_config.clone(),
            dir: spec.dir.clone(),
            source: spec.source.clone(),
            ..Default::default()
        };
        match spec.kind.as_str() {
            "files" => probes::files(&spec, &mut s)?,
            "pgbackrest" => probes::pgbackrest(&spec, &mut s).await?,
            "pg_archiver" => probes::pg_archiver(&spec, self.postgres.as_ref(), &mut s).await?,
            "redis" => probes::redis(&spec, self.redis.as_ref(), &mut s).await?,
            other => {
                s.verdict = Verdict::Unknown;
                s.reason = format!(
                    "unknown backup kind {other:?} (pgbackrest, pg_archiver, redis, files)"
                );
            }
        }
        Ok(s)
    }

    fn absorb(&mut self, done: &Done<BackupOp>) {
        if let Some(v) = Verification::of(done) {
            self.verified = Some(v);
        }
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
        // The pane lists every backup source in one table, a row each (the key is the
        // source's name), then the backups of all of them.
        m.tables.push(Table {
            title: TABLE_SOURCES.into(),
            columns: vec![
                Column::left("NAME", 16),
                Column::left("KIND", 12),
                Column::left("VERDICT", 8),
                Column::left("REASON", 30),
            ],
            rows: vec![Row::new(
                self.name.clone(),
                vec![
                    Cell::new(self.name.clone()),
                    Cell::new(self.kind.clone()),
                    Cell::level(self.verdict.label(), self.level()),
                    Cell::new(self.reason.clone()),
                ],
            )],
            empty: "no backup sources configured (add [[contexts.NAME.backups]])".into(),
        });
        if !self.items.is_empty() {
            m.tables.push(Table {
                title: TABLE_BACKUPS.into(),
                columns: vec![
                    Column::left("SOURCE", 12),
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
                                Cell::new(self.name.clone()),
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
            None => "not verified from this console yet ({key:verify} verifies)".into(),
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
