//! Kafka on the timeline: a consumer group's verdict changing (OK → STALL, STALL → OK,
//! → ABANDONED), with when the group was last seen committing; brokers leaving and joining
//! the metadata. A group being judged has no verdict yet and raises nothing.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::{GroupInfo, KafkaSample, LagStatus};
use crate::timeline::{Severity, TimelineEvent};
use crate::views::fmt;

/// A group's verdict as the timeline tells it; None while it is judged.
fn verdict(g: &GroupInfo) -> Option<&'static str> {
    if g.judging {
        None
    } else if g.abandoned {
        Some("ABANDONED")
    } else {
        Some(g.status.label())
    }
}

fn severity(g: &GroupInfo) -> Severity {
    match g.status {
        _ if g.abandoned => Severity::Info,
        LagStatus::Stall | LagStatus::Stop => Severity::Critical,
        LagStatus::Warn | LagStatus::Rewind => Severity::Warning,
        LagStatus::Ok => Severity::Ok,
    }
}

pub fn diff(
    prev: Option<&KafkaSample>,
    next: &KafkaSample,
    now: DateTime<Utc>,
) -> Vec<TimelineEvent> {
    let mut out = Vec::new();
    // The first poll has no verdicts yet (every group is judged for `stall_after` first).
    let Some(prev) = prev else {
        return out;
    };
    let before: HashMap<&str, &GroupInfo> =
        prev.groups.iter().map(|g| (g.name.as_str(), g)).collect();
    for g in &next.groups {
        let Some(now_says) = verdict(g) else {
            continue;
        };
        let was = before.get(g.name.as_str()).and_then(|p| verdict(p));
        if was == Some(now_says) || (was.is_none() && now_says == "OK") {
            continue;
        }
        let reason = if g.reason.is_empty() {
            format!("lag {}", fmt::thousands(g.total_lag))
        } else {
            g.reason.clone()
        };
        let text = match was {
            Some(w) => format!("group {} {now_says} (was {w}): {reason}", g.name),
            None => format!("group {} {now_says}: {reason}", g.name),
        };
        out.push(
            TimelineEvent::new(now, "group", severity(g), g.name.clone(), text)
                .jump("Groups", g.name.clone()),
        );
        // When it was last seen committing: before the verdict, so marked recovered.
        if matches!(g.status, LagStatus::Stall | LagStatus::Stop)
            && let Some(idle) = g.idle_secs.filter(|s| *s >= 1.0)
        {
            out.push(
                TimelineEvent::new(
                    now - Duration::milliseconds((idle * 1000.0) as i64),
                    "commit",
                    Severity::Info,
                    g.name.clone(),
                    format!(
                        "group {}: last commit seen (lag {} then growing)",
                        g.name,
                        fmt::thousands(g.total_lag)
                    ),
                )
                .recovered()
                .jump("Groups", g.name.clone()),
            );
        }
    }
    let ids = |s: &KafkaSample| s.brokers.iter().map(|b| b.id).collect::<Vec<_>>();
    let (was, is) = (ids(prev), ids(next));
    // An empty list is a failed poll's, not a cluster without brokers.
    if !was.is_empty() && !is.is_empty() {
        for b in prev.brokers.iter().filter(|b| !is.contains(&b.id)) {
            out.push(
                TimelineEvent::new(
                    now,
                    "broker",
                    Severity::Warning,
                    b.id.to_string(),
                    format!("broker {} ({}:{}) left the cluster", b.id, b.host, b.port),
                )
                .jump("Brokers", b.id.to_string()),
            );
        }
        for b in next.brokers.iter().filter(|b| !was.contains(&b.id)) {
            out.push(
                TimelineEvent::new(
                    now,
                    "broker",
                    Severity::Ok,
                    b.id.to_string(),
                    format!("broker {} ({}:{}) joined the cluster", b.id, b.host, b.port),
                )
                .jump("Brokers", b.id.to_string()),
            );
        }
    }
    out
}

/// A group row copies as its lag table; other rows as their cells.
pub fn copy_text(s: &KafkaSample, table: usize, key: &str) -> Option<String> {
    if table != super::TABLE_GROUPS {
        return None;
    }
    let g = s.groups.iter().find(|g| g.name == key)?;
    let mut out = format!(
        "group {} ({}, {} members): {} lag {}{}\n",
        g.name,
        g.state,
        g.members.len(),
        verdict(g).unwrap_or("judging"),
        fmt::thousands(g.total_lag),
        if g.reason.is_empty() {
            String::new()
        } else {
            format!(" — {}", g.reason)
        }
    );
    out.push_str(&format!(
        "{:<32} {:>9} {:>12} {:>12} {:>10}  {}\n",
        "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "OWNER"
    ));
    let num = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
    for p in &g.partitions {
        out.push_str(&format!(
            "{:<32} {:>9} {:>12} {:>12} {:>10}  {}\n",
            p.topic,
            p.partition,
            num(p.committed),
            num(p.high),
            num(p.lag),
            p.owner.as_deref().unwrap_or("-")
        ));
    }
    Some(out.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::kafka::BrokerInfo;

    fn group(status: LagStatus, judging: bool, lag: i64) -> GroupInfo {
        GroupInfo {
            name: "billing".into(),
            status,
            judging,
            total_lag: lag,
            idle_secs: Some(372.0),
            ..Default::default()
        }
    }

    fn sample(g: GroupInfo, brokers: &[i32]) -> KafkaSample {
        KafkaSample {
            groups: vec![g],
            brokers: brokers
                .iter()
                .map(|id| BrokerInfo {
                    id: *id,
                    host: "k".into(),
                    port: 9092,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_group_stalling_and_recovering_and_a_broker_leaving_are_on_the_timeline() {
        let now = Utc::now();
        let judging = sample(group(LagStatus::Ok, true, 10), &[1, 2]);
        let ok = sample(group(LagStatus::Ok, false, 10), &[1, 2]);
        // Judged OK after being judged: no news. The first poll: nothing.
        assert!(diff(Some(&judging), &ok, now).is_empty());
        assert!(diff(None, &ok, now).is_empty());
        let stall = sample(group(LagStatus::Stall, false, 48_210), &[1]);
        let e = diff(Some(&ok), &stall, now);
        let got: Vec<(&str, Severity, bool)> = e
            .iter()
            .map(|e| (e.what.as_str(), e.severity, e.recovered))
            .collect();
        assert_eq!(
            got,
            [
                ("group", Severity::Critical, false),
                ("commit", Severity::Info, true),
                ("broker", Severity::Warning, false),
            ],
            "{e:?}"
        );
        assert_eq!(e[0].text, "group billing STALL (was OK): lag 48,210");
        assert_eq!(
            (e[0].table.as_str(), e[0].key.as_str()),
            ("Groups", "billing")
        );
        assert_eq!(e[1].at, now - Duration::seconds(372));
        assert_eq!(e[2].text, "broker 2 (k:9092) left the cluster");
        // Still stalled: nothing new. Back: OK, and the broker joins.
        assert!(diff(Some(&stall), &stall, now).is_empty());
        let back = sample(group(LagStatus::Ok, false, 0), &[1, 2]);
        let e = diff(Some(&stall), &back, now);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(
            (e[0].severity, e[0].text.as_str()),
            (Severity::Ok, "group billing OK (was STALL): lag 0")
        );
        assert_eq!(e[1].text, "broker 2 (k:9092) joined the cluster");
        // A failed poll's empty broker list is not every broker leaving.
        let failed = KafkaSample {
            groups: back.groups.clone(),
            ..Default::default()
        };
        assert!(diff(Some(&back), &failed, now).is_empty());
    }
}
