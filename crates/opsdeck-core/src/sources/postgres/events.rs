//! PostgreSQL on the timeline: a session starting to block others (and how many, again when
//! that doubles), and ending; standbys connecting, disconnecting and their replay lag
//! crossing the `pg_replication_lag` threshold; the WAL receiver stopping; new FATAL and
//! PANIC lines of the server log. On a run's first sample, blocking already under way is
//! recovered from its longest wait, and the log's tail from its own times.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::model::{LockNode, PgSample, Standby};
use super::view::LAG_WARN_SECS;
use crate::timeline::{Severity, TimelineEvent};
use crate::views::fmt;

fn one_line(q: &str) -> String {
    // One character past the width: `fit` then cuts at a word.
    fmt::fit(&fmt::one_line(q, 121), 120)
}

fn roots(s: &PgSample) -> HashMap<i32, &LockNode> {
    s.locks
        .iter()
        .filter(|n| n.depth == 0 && n.waiters > 0)
        .map(|n| (n.pid, n))
        .collect()
}

fn blocks(n: &LockNode) -> String {
    format!(
        "pid {} ({}@{}, {}) blocks {} session{}: {}",
        n.pid,
        n.user,
        n.database,
        n.state,
        n.waiters,
        if n.waiters == 1 { "" } else { "s" },
        one_line(&n.query)
    )
}

fn blocking_severity(n: &LockNode) -> Severity {
    if n.waiters >= 10 {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

pub(super) fn standby_key(s: &Standby) -> String {
    format!("{}@{}", s.application, s.client)
}

/// Whether a standby is lagging now, given whether it was: it starts at the threshold and
/// ends only under 90% of it (or once the lag is unknown: idle standbys report none).
pub(super) fn lagging(was: bool, replay_lag_seconds: Option<f64>) -> bool {
    match replay_lag_seconds {
        None => false,
        Some(l) if was => l >= LAG_WARN_SECS * 0.9,
        Some(l) => l >= LAG_WARN_SECS,
    }
}

pub fn diff(prev: Option<&PgSample>, next: &PgSample, now: DateTime<Utc>) -> Vec<TimelineEvent> {
    let mut out = Vec::new();
    let now_roots = roots(next);
    match prev {
        None => {
            // Blocking under way: it began about when its longest waiter started waiting.
            for n in now_roots.values() {
                let began = now - Duration::milliseconds((n.longest_wait_seconds * 1000.0) as i64);
                out.push(
                    TimelineEvent::new(
                        began,
                        "blocking",
                        blocking_severity(n),
                        n.pid.to_string(),
                        blocks(n),
                    )
                    .recovered()
                    .jump("Locks", n.pid.to_string()),
                );
            }
        }
        Some(p) => {
            let was = roots(p);
            for (pid, n) in &now_roots {
                let before = was.get(pid).map_or(0, |w| w.waiters);
                // New, or twice as many waiters as last said.
                if before == 0 || (n.waiters >= before * 2 && n.waiters >= before + 2) {
                    out.push(
                        TimelineEvent::new(
                            now,
                            "blocking",
                            blocking_severity(n),
                            pid.to_string(),
                            blocks(n),
                        )
                        .jump("Locks", pid.to_string()),
                    );
                }
            }
            for (pid, w) in &was {
                if !now_roots.contains_key(pid) {
                    let ended = if next.activity.iter().any(|a| a.pid == *pid) {
                        "no longer blocks anyone"
                    } else {
                        "ended"
                    };
                    out.push(
                        TimelineEvent::new(
                            now,
                            "blocking",
                            Severity::Ok,
                            pid.to_string(),
                            format!(
                                "pid {pid} {ended} (it blocked {} for {})",
                                w.waiters,
                                fmt::secs(w.longest_wait_seconds)
                            ),
                        )
                        .jump("Activity", pid.to_string()),
                    );
                }
            }
            replication(p, next, now, &mut out);
        }
    }
    server_log(prev, next, now, &mut out);
    out
}

fn replication(prev: &PgSample, next: &PgSample, now: DateTime<Utc>, out: &mut Vec<TimelineEvent>) {
    let before: HashMap<String, &Standby> = prev
        .replication
        .standbys
        .iter()
        .map(|s| (standby_key(s), s))
        .collect();
    let after: HashMap<String, &Standby> = next
        .replication
        .standbys
        .iter()
        .map(|s| (standby_key(s), s))
        .collect();
    let ev = |sev, key: &str, text: String| {
        TimelineEvent::new(now, "replication", sev, key.to_string(), text)
            .jump("Replication", key.to_string())
    };
    for (k, s) in &after {
        match before.get(k) {
            None => out.push(ev(
                Severity::Ok,
                k,
                format!("standby {k} connected ({})", s.state),
            )),
            Some(p) => {
                // `lagging` has the hysteresis (the poller keeps it), so neither side flaps.
                if s.lagging && !p.lagging {
                    out.push(ev(
                        Severity::Warning,
                        k,
                        format!(
                            "standby {k} replay lag {} (≥ {})",
                            fmt::secs(s.replay_lag_seconds.unwrap_or(0.0)),
                            fmt::secs(LAG_WARN_SECS)
                        ),
                    ));
                } else if p.lagging && !s.lagging {
                    out.push(ev(
                        Severity::Ok,
                        k,
                        format!(
                            "standby {k} caught up (replay lag {})",
                            s.replay_lag_seconds.map_or("-".into(), fmt::secs)
                        ),
                    ));
                }
            }
        }
    }
    for k in before.keys().filter(|k| !after.contains_key(*k)) {
        out.push(ev(
            Severity::Warning,
            k,
            format!("standby {k} disconnected"),
        ));
    }
    if let (Some(p), Some(n)) = (&prev.replication.receiver, &next.replication.receiver)
        && p.status != n.status
        && !n.hidden
    {
        let sev = if n.status == "streaming" {
            Severity::Ok
        } else {
            Severity::Warning
        };
        out.push(
            TimelineEvent::new(
                now,
                "replication",
                sev,
                "receiver",
                format!(
                    "WAL receiver {} (was {}), from {}",
                    n.status, p.status, n.sender
                ),
            )
            .jump("Replication", "receiver"),
        );
    }
}

/// New noteworthy log lines, one event per message per read ("… (×12)").
fn server_log(
    prev: Option<&PgSample>,
    next: &PgSample,
    now: DateTime<Utc>,
    out: &mut Vec<TimelineEvent>,
) {
    let Some(log) = &next.server_log else {
        return;
    };
    let seen = prev
        .and_then(|p| p.server_log.as_ref())
        .and_then(|l| l.lines.last())
        .map_or(0, |l| l.seq);
    let mut by_message: Vec<(String, &super::serverlog::LogLine, usize)> = Vec::new();
    for l in log.lines.iter().filter(|l| l.seq > seen && l.noteworthy()) {
        let norm = super::serverlog::normalize(&l.message);
        match by_message
            .iter_mut()
            .find(|(m, first, _)| *m == norm && first.severity == l.severity)
        {
            Some(entry) => entry.2 += 1,
            None => by_message.push((norm, l, 1)),
        }
    }
    for (norm, l, n) in by_message {
        let sev = match l.severity.as_str() {
            "PANIC" => Severity::Critical,
            _ => Severity::Warning,
        };
        let times = if n > 1 {
            format!(" (×{n})")
        } else {
            String::new()
        };
        let mut e = TimelineEvent::new(
            l.time().unwrap_or(now),
            "log",
            sev,
            norm.clone(),
            format!(
                "server log {}: {}{times}",
                l.severity,
                fmt::fit(&l.message, 160)
            ),
        )
        .jump(super::serverlog::TITLE, format!("{}|{norm}", l.severity));
        if l.earlier {
            e = e.recovered();
        }
        out.push(e);
    }
}

/// A session's row (Activity, Locks) copies as its query with who runs it.
pub fn copy_text(s: &PgSample, table: usize, key: &str) -> Option<String> {
    use super::view::{TAB_ACTIVITY, TAB_LOCKS};
    let pid: i32 = key.parse().ok()?;
    let a = s.activity.iter().find(|a| a.pid == pid);
    match table {
        TAB_ACTIVITY => {
            let a = a?;
            Some(format!(
                "-- pid {} {}@{} ({}, {}{})\n{}",
                a.pid,
                a.user,
                a.database,
                a.application,
                a.state,
                a.query_seconds
                    .map(|q| format!(", query {}", fmt::secs(q)))
                    .unwrap_or_default(),
                a.query.trim()
            ))
        }
        TAB_LOCKS => {
            let n = s.locks.iter().find(|n| n.pid == pid)?;
            Some(format!(
                "-- pid {} {}@{} ({}), {} waiting behind it{}\n{}",
                n.pid,
                n.user,
                n.database,
                n.state,
                n.waiters,
                if n.blocked_by.is_empty() {
                    String::new()
                } else {
                    format!(", waits for {:?}", n.blocked_by)
                },
                n.query.trim()
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_lag(prev: Option<&PgSample>, lag: Option<f64>) -> PgSample {
        let was = prev.is_some_and(|p| p.replication.standbys[0].lagging);
        let mut s = PgSample::default();
        s.replication.standbys = vec![Standby {
            application: "walreceiver".into(),
            client: "10.0.0.9".into(),
            state: "streaming".into(),
            replay_lag_seconds: lag,
            // As the poller marks it.
            lagging: lagging(was, lag),
            ..Default::default()
        }];
        s
    }

    #[test]
    fn replay_lag_crossing_the_threshold_is_one_event_each_way_even_hovering_at_it() {
        let now = Utc::now();
        let mut prev = with_lag(None, Some(1.0));
        let mut texts = Vec::new();
        for lag in [
            Some(5.0),
            Some(31.0),
            Some(28.0),
            Some(30.5),
            Some(29.0),
            Some(20.0),
        ] {
            let next = with_lag(Some(&prev), lag);
            for e in diff(Some(&prev), &next, now) {
                assert_eq!(
                    (e.table.as_str(), e.key.as_str()),
                    ("Replication", "walreceiver@10.0.0.9")
                );
                texts.push((e.severity, e.text));
            }
            prev = next;
        }
        assert_eq!(
            texts,
            vec![
                (
                    Severity::Warning,
                    "standby walreceiver@10.0.0.9 replay lag 31s (≥ 30s)".into()
                ),
                (
                    Severity::Ok,
                    "standby walreceiver@10.0.0.9 caught up (replay lag 20s)".into()
                ),
            ]
        );
        // An idle standby reports no lag: caught up, not still lagging.
        let lagging_again = with_lag(Some(&prev), Some(45.0));
        let idle = with_lag(Some(&lagging_again), None);
        let e = diff(Some(&lagging_again), &idle, now);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].text.contains("caught up (replay lag -)"), "{e:?}");
    }

    #[test]
    fn standbys_connecting_and_disconnecting_are_events() {
        let now = Utc::now();
        let none = PgSample::default();
        let one = with_lag(None, Some(0.5));
        let up = diff(Some(&none), &one, now);
        assert_eq!(up.len(), 1);
        assert_eq!(up[0].severity, Severity::Ok);
        assert_eq!(
            up[0].text,
            "standby walreceiver@10.0.0.9 connected (streaming)"
        );
        let down = diff(Some(&one), &none, now);
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].severity, Severity::Warning);
        assert_eq!(down[0].text, "standby walreceiver@10.0.0.9 disconnected");
    }
}
