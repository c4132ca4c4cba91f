//! Backups as a monitored system: a row per backup source in the Backups pane, verify and
//! back-up-now verbs, and the freshness metrics with their rules.

use chrono::{DateTime, Utc};

use super::{BackupOp, BackupPoller, BackupSample, BackupSpec, Verdict};
use crate::input::values::parse_duration;
use crate::keymap::Action;
use crate::metrics::Severity::{Critical, Warning};
use crate::metrics::{Builtin, Cause, Cmp, Metric, Point, Unit, flag};
use crate::secrets::redact_urls;
use crate::series::{Family, Limits, Series};
use crate::sources::postgres::Postgres;
use crate::sources::redis::Redis;
use crate::sources::system::FleetFigure;
use crate::sources::system::{At, Entries, Planning, Problem, Risk, System, entry, ready};
use crate::timeline::TimelineEvent;
use crate::views::{Detail, Pane, PaneModel};

pub struct Backups;

const METRICS: &[Metric] = &[
    Metric::new("backup.failed", Unit::Flag, "1 when the last backup failed"),
    Metric::new(
        "backup.stale",
        Unit::Flag,
        "1 when the newest backup is older than max_age",
    ),
    Metric::new(
        "backup.age_seconds",
        Unit::Seconds,
        "age of the newest backup",
    ),
];

const BUILTINS: &[Builtin] = &[
    Builtin::new(
        "backup_stale",
        "backup.stale",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "stale",
        "The newest backup is older than max_age: check the backup schedule (cron, timers).",
    ),
    Builtin::new(
        "backup_failed",
        "backup.failed",
        Cmp::Ge,
        1.0,
        0,
        Critical,
        "failed",
        "Read the backup tool's log; run the backup again (Backups pane).",
    ),
];

const KINDS: &[&str] = &["pgbackrest", "pg_archiver", "redis", "files"];

impl System for Backups {
    const LABEL: &'static str = "backup";
    const PANE: Pane = Pane::Backups;
    const TILE_NAMES_SOURCE: bool = true;
    const METRICS: &'static [Metric] = METRICS;
    const BUILTINS: &'static [Builtin] = BUILTINS;
    const FLEET: &'static [FleetFigure] = &[FleetFigure::Worst {
        flags: &[("backup.failed", "failed"), ("backup.stale", "stale")],
        known: "backup.age_seconds",
        ok: "fresh",
    }];
    const VERBS: &'static [Action] = &[Action::Verify, Action::BackupNow];
    const SERIES: &'static [Family] = super::series::SERIES;

    type Entries = Vec<BackupSpec>;
    type Spec = BackupSpec;
    type Sample = BackupSample;
    type Op = BackupOp;
    type Poller = BackupPoller;

    fn instances(entries: &Vec<BackupSpec>) -> &[BackupSpec] {
        entries
    }
    fn name(spec: &BackupSpec) -> &str {
        &spec.name
    }
    fn target(b: &BackupSpec) -> String {
        let t = match b.kind.as_str() {
            "pgbackrest" => format!("stanza {}", b.stanza.clone().unwrap_or_default()),
            "files" => format!(
                "{}/{}",
                b.dir.clone().unwrap_or_default(),
                b.pattern.clone().unwrap_or_else(|| "*".into())
            ),
            _ => b.source.clone().unwrap_or_default(),
        };
        redact_urls(&t)
    }
    fn validate(b: &BackupSpec, ctx: &dyn Entries) -> Vec<Problem> {
        let mut out = Vec::new();
        let name = &b.name;
        if !KINDS.contains(&b.kind.as_str()) {
            out.push(Problem::new(
                name,
                format!("backup {name}: unknown kind {:?}", b.kind),
                "kind is one of pgbackrest, pg_archiver, redis, files",
            ));
        }
        if let Some(a) = &b.max_age
            && let Err(e) = parse_duration(a)
        {
            out.push(Problem::new(
                name,
                format!("backup {name}: max_age: {e}"),
                "max_age = \"26h\"",
            ));
        }
        let needs = |what: &str, have: bool, hint: &str, out: &mut Vec<Problem>| {
            if !have {
                out.push(Problem::new(
                    name,
                    format!("backup {name}: kind {} needs {what}", b.kind),
                    hint,
                ));
            }
        };
        match b.kind.as_str() {
            "files" => needs(
                "dir",
                b.dir.is_some(),
                "dir = \"/var/backups/pg\"",
                &mut out,
            ),
            "pgbackrest" => needs("stanza", b.stanza.is_some(), "stanza = \"main\"", &mut out),
            "pg_archiver" | "redis" => {
                let system = if b.kind == "redis" {
                    "redis"
                } else {
                    "postgres"
                };
                match &b.source {
                    None => needs(
                        "source",
                        false,
                        &format!("source = \"NAME of a [[contexts.X.{system}]] entry\""),
                        &mut out,
                    ),
                    Some(s) => {
                        let found = if b.kind == "redis" {
                            entry::<Redis>(ctx, s).is_some()
                        } else {
                            entry::<Postgres>(ctx, s).is_some()
                        };
                        if !found {
                            out.push(Problem::new(
                                s,
                                format!("backup {name}: source {s:?} is not a {system} entry of this context"),
                                format!("name one of the context's [[contexts.X.{system}]] entries"),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        out
    }
    fn poller(spec: BackupSpec, ctx: &dyn Entries) -> BackupPoller {
        BackupPoller::new(spec, ctx)
    }

    fn model(sample: &BackupSample) -> PaneModel {
        sample.model()
    }
    fn detail(sample: &BackupSample, table: usize, key: &str) -> Option<Detail> {
        sample.detail(table, key)
    }
    fn events(
        prev: Option<&BackupSample>,
        next: &BackupSample,
        now: DateTime<Utc>,
    ) -> Vec<TimelineEvent> {
        super::events::diff(prev, next, now)
    }

    fn series(b: &BackupSample, source: &str, limits: &Limits) -> Vec<Series> {
        let mut out = crate::sources::system::rule_series::<Self>(b, source, limits);
        out.extend(super::series::series(b, source));
        out
    }

    fn measure(b: &BackupSample, metric: &str, _source: &str) -> Vec<Point> {
        let v = match metric {
            "backup.failed" => Some(flag(b.verdict == Verdict::Failed)),
            "backup.stale" => Some(flag(b.verdict == Verdict::Stale)),
            "backup.age_seconds" => b.newest_age_secs.map(|a| a as f64),
            _ => None,
        };
        v.map(|v| {
            Point::new(
                "",
                format!("backup {}", b.name),
                v,
                b.reason.clone(),
                Cause::new(super::TABLE_SOURCES, &b.name),
            )
        })
        .into_iter()
        .collect()
    }

    /// On a source row, verify checks its newest backup; on a backup row, that backup.
    fn plan(b: &BackupSample, at: &At, action: Action, _input: Option<&str>) -> Planning<BackupOp> {
        let item = b
            .items
            .iter()
            .find(|i| Some(i.label.as_str()) == at.key)
            .or_else(|| b.items.first());
        let op = match (action, b.kind.as_str()) {
            (Action::Verify, "pgbackrest") => BackupOp::VerifyStanza {
                stanza: b.stanza.clone()?,
                config: b.pgbackrest_config.clone(),
            },
            (Action::Verify, "files") => {
                let Some(item) = item else {
                    return Some(Err(format!("{}: no backup file to verify", b.name)));
                };
                let path = format!("{}/{}", b.dir.as_deref()?, item.label);
                if item.label.ends_with(".rdb") {
                    BackupOp::VerifyRdb { path }
                } else {
                    BackupOp::VerifyDump { path }
                }
            }
            (Action::Verify, kind) => {
                return Some(Err(format!(
                    "{kind} backups cannot be verified here; point a `files` backup source at \
                     the backup files (e.g. pattern \"*.rdb\") and verify those"
                )));
            }
            (Action::BackupNow, "pgbackrest") => BackupOp::PgBackRestBackup {
                stanza: b.stanza.clone()?,
                config: b.pgbackrest_config.clone(),
                backup_type: item
                    .map(|i| i.kind.clone())
                    .filter(|k| ["full", "diff", "incr"].contains(&k.as_str()))
                    .unwrap_or_else(|| "incr".into()),
            },
            (Action::BackupNow, "redis") => BackupOp::RedisBgsave {
                redis: b.source.clone()?,
            },
            (Action::BackupNow, kind) => {
                return Some(Err(format!(
                    "opsdeck does not run {kind} backups; run the job that writes them"
                )));
            }
            _ => return None,
        };
        let risk = if matches!(op, BackupOp::PgBackRestBackup { .. }) {
            Risk::Medium
        } else {
            Risk::Low
        };
        let target = match &op {
            BackupOp::VerifyDump { path } | BackupOp::VerifyRdb { path } => path.clone(),
            _ => b.name.clone(),
        };
        Some(ready(Ok((target, op, risk))))
    }

    fn describe(op: &BackupOp) -> String {
        op.describe()
    }
    fn changes_system(op: &BackupOp) -> bool {
        !op.is_verify()
    }
    fn long_running(op: &BackupOp) -> bool {
        !matches!(op, BackupOp::RedisBgsave { .. })
    }
    async fn execute(
        op: &BackupOp,
        _spec: &BackupSpec,
        ctx: &dyn Entries,
    ) -> Result<String, String> {
        op.execute(ctx).await
    }
}
