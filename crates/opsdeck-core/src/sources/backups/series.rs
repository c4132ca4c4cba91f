//! What the exporter serves for backups beyond the rule metrics: the verdict as a labelled
//! gauge and the objective the age is judged against.

use super::{BackupSample, Verdict};
use crate::series::{Family, Series};

pub const VERDICT: Family = Family::gauge(
    "opsdeck_backup_verdict",
    "1 for the backup source's verdict (fresh, stale, failed, unknown), 0 for the others",
    &["source", "verdict"],
);
pub const OBJECTIVE: Family = Family::gauge(
    "opsdeck_backup_objective_seconds",
    "the recovery-point objective (max_age) the newest backup's age is judged against",
    &["source"],
);
pub const BACKUPS: Family = Family::gauge(
    "opsdeck_backup_items",
    "backups found (pgBackRest sets, files)",
    &["source"],
);

pub const SERIES: &[Family] = &[VERDICT, OBJECTIVE, BACKUPS];

pub fn series(b: &BackupSample, source: &str) -> Vec<Series> {
    let mut out: Vec<Series> = [
        Verdict::Fresh,
        Verdict::Stale,
        Verdict::Failed,
        Verdict::Unknown,
    ]
    .into_iter()
    .map(|v| VERDICT.at(&[source, v.label()], if v == b.verdict { 1.0 } else { 0.0 }))
    .collect();
    if let Some(max) = b.max_age_secs {
        out.push(OBJECTIVE.at(&[source], max as f64));
    }
    out.push(BACKUPS.at(&[source], b.items.len() as f64));
    out
}
