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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(verdict: Verdict, reason: &str, items: &[(&str, i64)]) -> BackupSample {
        BackupSample {
            name: "app".into(),
            kind: "pgbackrest".into(),
            verdict,
            reason: reason.into(),
            items: items
                .iter()
                .map(|(label, at)| BackupItem {
                    label: label.to_string(),
                    kind: "full".into(),
                    finished_at: Some(*at),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn verdict_changes_and_new_backups_are_events_a_first_look_is_not() {
        let now = Utc::now();
        let t0 = now.timestamp() - 30 * 3600;
        let first = sample(Verdict::Unknown, "not read yet", &[]);
        let fresh = sample(Verdict::Fresh, "newest full is 2h old", &[("F1", t0)]);
        // Unknown → fresh is the first answer, not news.
        let e = diff(Some(&first), &fresh, now);
        assert!(e.iter().all(|e| e.what != "verdict"), "{e:?}");
        let stale = sample(
            Verdict::Stale,
            "newest full is 27h old, objective 26h",
            &[("F1", t0)],
        );
        let e = diff(Some(&fresh), &stale, now);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            (e[0].what.as_str(), e[0].severity),
            ("verdict", Severity::Warning)
        );
        assert_eq!(
            e[0].text,
            "backup app stale (was fresh): newest full is 27h old, objective 26h"
        );
        assert_eq!(
            (e[0].table.as_str(), e[0].key.as_str()),
            (TABLE_SOURCES, "app")
        );
        let failed = sample(Verdict::Failed, "stanza error", &[("F1", t0)]);
        let e = diff(Some(&stale), &failed, now);
        assert_eq!(e[0].severity, Severity::Critical);
        // A new backup: fresh again, and the backup at its own time.
        let t1 = now.timestamp() - 60;
        let back = sample(
            Verdict::Fresh,
            "newest full is 1m old",
            &[("F2", t1), ("F1", t0)],
        );
        let e = diff(Some(&failed), &back, now);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(
            (e[0].severity, e[0].text.as_str()),
            (
                Severity::Ok,
                "backup app fresh (was failed): newest full is 1m old"
            )
        );
        assert_eq!(e[1].what, "backup");
        assert_eq!(e[1].at.timestamp(), t1);
        assert!(
            e[1].text.starts_with("backup app finished: F2 (full"),
            "{e:?}"
        );
        // Unchanged: nothing.
        assert!(diff(Some(&back), &back, now).is_empty());
        // A run's first sample recovers the newest backup only, marked.
        let e = diff(None, &back, now);
        assert_eq!(e.len(), 1);
        assert!(e[0].recovered && e[0].text.contains("F2"), "{e:?}");
    }
}
