//! Backups on the timeline: a verdict changing (fresh → stale, → failed, back to fresh) and
//! each new backup finishing, at its own time. A run's first sample recovers the newest
//! backup's time.

use chrono::{DateTime, Utc};

use super::{BackupItem, BackupSample, TABLE_SOURCES, Verdict};
use crate::timeline::{Severity, TimelineEvent};
use crate::views::fmt;

fn severity(v: Verdict) -> Severity {
    match v {
        Verdict::Failed => Severity::Critical,
        Verdict::Stale => Severity::Warning,
        Verdict::Fresh => Severity::Ok,
        Verdict::Unknown => Severity::Info,
    }
}

fn finished(b: &BackupSample, i: &BackupItem) -> Option<TimelineEvent> {
    let at = DateTime::from_timestamp(i.finished_at?, 0)?;
    let size = i
        .size
        .map(|s| format!(", {}", fmt::bytes(s)))
        .unwrap_or_default();
    let took = i
        .duration_secs
        .map(|d| {
            format!(
                ", took {}",
                fmt::duration(std::time::Duration::from_secs(d))
            )
        })
        .unwrap_or_default();
    Some(
        TimelineEvent::new(
            at,
            "backup",
            if i.error {
                Severity::Warning
            } else {
                Severity::Info
            },
            i.label.clone(),
            format!(
                "backup {} finished: {} ({}{size}{took}){}",
                b.name,
                i.label,
                i.kind,
                if i.error { " with errors" } else { "" }
            ),
        )
        .jump(TABLE_SOURCES, b.name.clone()),
    )
}

pub fn diff(
    prev: Option<&BackupSample>,
    next: &BackupSample,
    now: DateTime<Utc>,
) -> Vec<TimelineEvent> {
    let mut out = Vec::new();
    let Some(prev) = prev else {
        out.extend(
            next.items
                .first()
                .and_then(|i| finished(next, i))
                .map(TimelineEvent::recovered),
        );
        return out;
    };
    if prev.verdict != next.verdict
        && !(prev.verdict == Verdict::Unknown && next.verdict == Verdict::Fresh)
    {
        out.push(
            TimelineEvent::new(
                now,
                "verdict",
                severity(next.verdict),
                "",
                format!(
                    "backup {} {} (was {}): {}",
                    next.name,
                    next.verdict.label(),
                    prev.verdict.label(),
                    next.reason
                ),
            )
            .jump(TABLE_SOURCES, next.name.clone()),
        );
    }
    let known = |label: &str| prev.items.iter().any(|i| i.label == label);
    for i in next.items.iter().filter(|i| !known(&i.label)) {
        out.extend(finished(next, i));
    }
    out
}
