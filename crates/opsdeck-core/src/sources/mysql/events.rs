//! MariaDB/MySQL on the timeline: a thread starting to block others (and how many, again
//! when that doubles) and ending; replication channels appearing and going, their IO or
//! SQL thread stopping (with its error) and running again, and their lag crossing the
//! `mysql_replication_lag` threshold (`Channel::lagging`, kept by the poller, so a lag
//! hovering at it is one crossing). On a run's first sample, blocking already under way
//! is recovered from its longest wait.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::model::{Channel, LockNode, MysqlSample};
use super::view::BEHIND_WARN_SECS;
use crate::timeline::{Severity, TimelineEvent};
use crate::views::fmt;

fn roots(s: &MysqlSample) -> HashMap<u64, &LockNode> {
    s.locks
        .iter()
        .filter(|n| n.depth == 0 && n.waiters > 0)
        .map(|n| (n.id, n))
        .collect()
}

fn blocks(n: &LockNode) -> String {
    let what = n.info.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "thread {} ({}@{}, {}) blocks {} thread{}{}",
        n.id,
        n.user,
        super::host_without_port(&n.host),
        n.label,
        n.waiters,
        if n.waiters == 1 { "" } else { "s" },
        if what.is_empty() {
            String::new()
        } else {
            format!(": {}", fmt::fit(&what, 120))
        }
    )
}

fn blocking_severity(n: &LockNode) -> Severity {
    if n.waiters >= 10 {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

/// The Replication tab's row key of a channel.
fn channel_key(c: &Channel) -> String {
    format!("channel:{}", c.name)
}

fn channel_label(c: &Channel) -> String {
    if c.name.is_empty() {
        format!("replication from {}", c.source)
    } else {
        format!("replication channel {} from {}", c.name, c.source)
    }
}

/// Whether a channel is lagging now, given whether it was: from the threshold until under
/// 90% of it; a channel with no lag (a stopped thread) is not lagging, it is stopped.
pub(super) fn lagging(was: bool, seconds_behind: Option<i64>) -> bool {
    match seconds_behind {
        None => false,
        Some(b) if was => b * 10 >= BEHIND_WARN_SECS * 9,
        Some(b) => b >= BEHIND_WARN_SECS,
    }
}

pub fn diff(
    prev: Option<&MysqlSample>,
    next: &MysqlSample,
    now: DateTime<Utc>,
) -> Vec<TimelineEvent> {
    let mut out = Vec::new();
    let now_roots = roots(next);
    let Some(p) = prev else {
        for n in now_roots.values() {
            let began = now - Duration::milliseconds((n.wait_seconds * 1000.0) as i64);
            out.push(
                TimelineEvent::new(
                    began,
                    "blocking",
                    blocking_severity(n),
                    n.id.to_string(),
                    blocks(n),
                )
                .recovered()
                .jump("Locks", n.id.to_string()),
            );
        }
        return out;
    };
    let was = roots(p);
    for (id, n) in &now_roots {
        let before = was.get(id).map_or(0, |w| w.waiters);
        if before == 0 || (n.waiters >= before * 2 && n.waiters >= before + 2) {
            out.push(
                TimelineEvent::new(
                    now,
                    "blocking",
                    blocking_severity(n),
                    id.to_string(),
                    blocks(n),
                )
                .jump("Locks", id.to_string()),
            );
        }
    }
    for (id, w) in &was {
        if !now_roots.contains_key(id) {
            out.push(
                TimelineEvent::new(
                    now,
                    "blocking",
                    Severity::Ok,
                    id.to_string(),
                    format!(
                        "thread {id} no longer blocks (it blocked {} for {})",
                        w.waiters,
                        fmt::secs(w.wait_seconds)
                    ),
                )
                .jump("Processlist", id.to_string()),
            );
        }
    }
    replication(p, next, now, &mut out);
    out
}

fn replication(
    prev: &MysqlSample,
    next: &MysqlSample,
    now: DateTime<Utc>,
    out: &mut Vec<TimelineEvent>,
) {
    let before: HashMap<String, &Channel> = prev
        .replication
        .channels
        .iter()
        .map(|c| (channel_key(c), c))
        .collect();
    let ev = |sev, c: &Channel, text: String| {
        TimelineEvent::new(now, "replication", sev, c.name.clone(), text)
            .jump("Replication", channel_key(c))
    };
    for c in &next.replication.channels {
        let label = channel_label(c);
        let Some(p) = before.get(&channel_key(c)) else {
            out.push(ev(
                Severity::Info,
                c,
                format!(
                    "{label} configured (IO {}, SQL {})",
                    c.io_running, c.sql_running
                ),
            ));
            continue;
        };
        if p.running() && !c.running() {
            let error = [&c.last_io_error, &c.last_sql_error]
                .into_iter()
                .find(|e| !e.is_empty())
                .map(|e| format!(": {}", fmt::fit(e, 160)))
                .unwrap_or_default();
            out.push(ev(
                Severity::Critical,
                c,
                format!(
                    "{label} stopped (IO {}, SQL {}){error}",
                    c.io_running, c.sql_running
                ),
            ));
        } else if !p.running() && c.running() {
            out.push(ev(Severity::Ok, c, format!("{label} running again")));
        }
        let behind = || c.seconds_behind.map_or("-".into(), |b| fmt::secs(b as f64));
        if c.lagging && !p.lagging {
            out.push(ev(
                Severity::Warning,
                c,
                format!(
                    "{label} {} behind (≥ {})",
                    behind(),
                    fmt::secs(BEHIND_WARN_SECS as f64)
                ),
            ));
        } else if p.lagging && !c.lagging && c.running() {
            out.push(ev(
                Severity::Ok,
                c,
                format!("{label} caught up ({} behind)", behind()),
            ));
        }
    }
    let after: Vec<String> = next.replication.channels.iter().map(channel_key).collect();
    for (k, c) in &before {
        if !after.contains(k) {
            out.push(ev(
                Severity::Warning,
                c,
                format!(
                    "{} removed (RESET REPLICA ALL or a new source)",
                    channel_label(c)
                ),
            ));
        }
    }
}

/// `y` on a thread (Processlist, Locks): its statement under a comment saying whose it is;
/// other rows copy as "COLUMN value" lines.
pub fn copy_text(s: &MysqlSample, table: usize, key: &str) -> Option<String> {
    use super::view::{TAB_LOCKS, TAB_PROCESSLIST};
    let id: u64 = key.parse().ok()?;
    let t = s.processlist.iter().find(|t| t.id == id);
    match table {
        TAB_PROCESSLIST => {
            let t = t?;
            Some(format!(
                "-- thread {} {}@{} db {} ({}, {})\n{}",
                t.id,
                t.user,
                t.host_name(),
                if t.database.is_empty() {
                    "-"
                } else {
                    &t.database
                },
                t.label,
                fmt::secs(t.seconds),
                t.info.trim()
            ))
        }
        TAB_LOCKS => {
            let n = s.locks.iter().find(|n| n.id == id)?;
            let query = if n.info.trim().is_empty() {
                t.map_or("", |t| t.info.trim())
            } else {
                n.info.trim()
            };
            Some(format!(
                "-- thread {} {}@{} ({}), {} waiting behind it{}\n{}",
                n.id,
                n.user,
                super::host_without_port(&n.host),
                n.label,
                n.waiters,
                if n.blocked_by.is_empty() {
                    String::new()
                } else {
                    format!(", waits for {:?} ({})", n.blocked_by, n.lock)
                },
                query
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica(
        prev: Option<&MysqlSample>,
        io: &str,
        sql: &str,
        behind: Option<i64>,
    ) -> MysqlSample {
        let was = prev.is_some_and(|p| p.replication.channels[0].lagging);
        let mut s = MysqlSample::default();
        s.replication.channels = vec![Channel {
            source: "127.0.0.1:3306".into(),
            io_running: io.into(),
            sql_running: sql.into(),
            seconds_behind: behind,
            last_sql_error: if sql == "No" {
                "Error 'Duplicate entry' on query".into()
            } else {
                String::new()
            },
            // As the poller marks it.
            lagging: lagging(was, behind),
            ..Default::default()
        }];
        s
    }

    #[test]
    fn a_channel_stopping_lagging_and_recovering_is_one_event_each() {
        let now = Utc::now();
        let mut prev = replica(None, "Yes", "Yes", Some(0));
        let mut got = Vec::new();
        for (io, sql, behind) in [
            ("Yes", "Yes", Some(2)),
            ("Yes", "Yes", Some(31)),
            ("Yes", "Yes", Some(28)),
            ("Yes", "Yes", Some(30)),
            ("Yes", "Yes", Some(12)),
            ("Yes", "No", None),
            ("Yes", "No", None),
            ("Yes", "Yes", Some(3)),
        ] {
            let next = replica(Some(&prev), io, sql, behind);
            for e in diff(Some(&prev), &next, now) {
                assert_eq!(
                    (e.table.as_str(), e.key.as_str()),
                    ("Replication", "channel:")
                );
                got.push((e.severity, e.text));
            }
            prev = next;
        }
        let want: Vec<(Severity, String)> = vec![
            (Severity::Warning, "replication from 127.0.0.1:3306 31s behind (≥ 30s)".into()),
            (Severity::Ok, "replication from 127.0.0.1:3306 caught up (12s behind)".into()),
            (
                Severity::Critical,
                "replication from 127.0.0.1:3306 stopped (IO Yes, SQL No): Error 'Duplicate entry' on query".into(),
            ),
            (Severity::Ok, "replication from 127.0.0.1:3306 running again".into()),
        ];
        assert_eq!(got, want);
        // Gone: RESET REPLICA ALL.
        let e = diff(Some(&prev), &MysqlSample::default(), now);
        assert_eq!(e.len(), 1);
        assert!(e[0].text.contains("removed"), "{e:?}");
    }

    #[test]
    fn y_on_a_thread_copies_its_statement() {
        let s = MysqlSample {
            processlist: vec![super::super::model::Thread {
                id: 7,
                user: "app".into(),
                host: "10.0.0.7:5512".into(),
                database: "shop".into(),
                command: "Query".into(),
                seconds: 75.0,
                label: "active".into(),
                info: "  SELECT *\n  FROM orders WHERE id = 7 ".into(),
                ..Default::default()
            }],
            locks: vec![LockNode {
                id: 7,
                depth: 1,
                blocked_by: vec![3],
                lock: "X on shop.orders (PRIMARY)".into(),
                user: "app".into(),
                host: "10.0.0.7:5512".into(),
                label: "active".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            copy_text(&s, super::super::view::TAB_PROCESSLIST, "7").as_deref(),
            Some(
                "-- thread 7 app@10.0.0.7 db shop (active, 1m15s)\nSELECT *\n  FROM orders WHERE id = 7"
            )
        );
        assert_eq!(
            copy_text(&s, super::super::view::TAB_LOCKS, "7").as_deref(),
            Some(
                "-- thread 7 app@10.0.0.7 (active), 0 waiting behind it, waits for [3] (X on shop.orders (PRIMARY))\nSELECT *\n  FROM orders WHERE id = 7"
            )
        );
        assert_eq!(
            copy_text(&s, super::super::view::TAB_PROCESSLIST, "8"),
            None
        );
    }

    #[test]
    fn blocking_starts_grows_and_ends_and_is_recovered_on_a_first_sample() {
        let now = Utc::now();
        let with = |waiters: usize| {
            let mut s = MysqlSample::default();
            if waiters > 0 {
                s.locks = vec![LockNode {
                    id: 42,
                    waiters,
                    wait_seconds: 20.0,
                    user: "app".into(),
                    host: "10.0.0.7:5512".into(),
                    label: "idle in transaction".into(),
                    ..Default::default()
                }];
            }
            s
        };
        let first = diff(None, &with(2), now);
        assert_eq!(first.len(), 1);
        assert!(first[0].recovered);
        assert_eq!(first[0].at, now - Duration::seconds(20));
        assert_eq!(
            first[0].text,
            "thread 42 (app@10.0.0.7, idle in transaction) blocks 2 threads"
        );
        assert_eq!(
            (first[0].table.as_str(), first[0].key.as_str()),
            ("Locks", "42")
        );
        assert!(diff(Some(&with(0)), &with(0), now).is_empty());
        let start = diff(Some(&with(0)), &with(1), now);
        assert_eq!(start[0].severity, Severity::Warning);
        assert!(
            diff(Some(&with(1)), &with(2), now).is_empty(),
            "not yet twice by two"
        );
        let grew = diff(Some(&with(2)), &with(12), now);
        assert_eq!(grew[0].severity, Severity::Critical);
        let ended = diff(Some(&with(12)), &with(0), now);
        assert_eq!(ended[0].severity, Severity::Ok);
        assert_eq!(
            ended[0].text,
            "thread 42 no longer blocks (it blocked 12 for 20s)"
        );
    }
}
