//! Redis on the timeline: the Sentinel events the sample carries (a master down, the
//! switch to a new master, a failover's end), nodes changing role, going down and coming
//! back, and a master change the poller noticed itself (Cluster, or Sentinel without its
//! pub/sub). On a run's first sample, Sentinel's last failover is recovered from the
//! master's config epoch and the time its role was last reported changed.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::model::{RedisSample, SentinelEvent};
use crate::timeline::{Severity, TimelineEvent};

/// Sentinels repeat each other: the same event and detail within this long is one event.
const SAME_EVENT_MS: i64 = 30_000;

/// What a Sentinel event means for the timeline, or None for its chatter.
fn meaning(e: &SentinelEvent) -> Option<(Severity, String)> {
    let d = e.detail.as_str();
    let on_master = d.starts_with("master ");
    let (sev, text) = match e.event.as_str() {
        "+switch-master" => {
            let w: Vec<&str> = d.split_whitespace().collect();
            let text = match w.as_slice() {
                [name, h1, p1, h2, p2, ..] => {
                    format!("Sentinel switched {name} from {h1}:{p1} to {h2}:{p2}")
                }
                _ => format!("Sentinel switched the master: {d}"),
            };
            (Severity::Warning, text)
        }
        "+odown" => (
            Severity::Critical,
            format!("Sentinel: objectively down (quorum agrees): {d}"),
        ),
        "-odown" => (
            Severity::Ok,
            format!("Sentinel: no longer objectively down: {d}"),
        ),
        "+sdown" if on_master => (Severity::Warning, format!("Sentinel: master down: {d}")),
        "+sdown" if d.starts_with("sentinel ") => {
            (Severity::Info, format!("Sentinel: a sentinel is down: {d}"))
        }
        "+sdown" => (Severity::Warning, format!("Sentinel: down: {d}")),
        "-sdown" => (Severity::Ok, format!("Sentinel: back up: {d}")),
        "+try-failover" => (Severity::Info, format!("Sentinel starts a failover: {d}")),
        "+promoted-slave" => (Severity::Info, format!("Sentinel promoted a replica: {d}")),
        "+failover-end" => (Severity::Ok, format!("Sentinel failover done: {d}")),
        "+failover-end-for-timeout" => (
            Severity::Warning,
            format!("Sentinel failover ended by timeout (replicas may not follow yet): {d}"),
        ),
        ev if ev.starts_with("-failover-abort") => (
            if ev == "-failover-abort-not-elected" {
                Severity::Info
            } else {
                Severity::Critical
            },
            format!("Sentinel aborted the failover ({ev}): {d}"),
        ),
        "+tilt" => (
            Severity::Warning,
            format!(
                "Sentinel {} entered TILT mode (its clock jumped or it stalled)",
                e.sentinel
            ),
        ),
        "-tilt" => (
            Severity::Ok,
            format!("Sentinel {} left TILT mode", e.sentinel),
        ),
        _ => return None,
    };
    Some((sev, text))
}

fn at_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub fn diff(
    prev: Option<&RedisSample>,
    next: &RedisSample,
    now: DateTime<Utc>,
) -> Vec<TimelineEvent> {
    let mut out = Vec::new();
    let master_key = next
        .sentinel
        .as_ref()
        .map(|s| format!("master:{}", s.master_name))
        .unwrap_or_default();
    // Sentinel's pub/sub: the events received since the previous sample, once each.
    let seen: &[SentinelEvent] = prev
        .and_then(|p| p.sentinel.as_ref())
        .map(|s| s.events.as_slice())
        .unwrap_or(&[]);
    let newest_seen = seen.iter().map(|e| e.at_ms).max().unwrap_or(i64::MIN);
    let mut taken: Vec<&SentinelEvent> = Vec::new();
    let mut switched = false;
    if let Some(s) = &next.sentinel {
        for e in s.events.iter().filter(|e| e.at_ms > newest_seen) {
            let repeat = |o: &&SentinelEvent| {
                o.event == e.event
                    && o.detail == e.detail
                    && (o.at_ms - e.at_ms).abs() <= SAME_EVENT_MS
            };
            if seen.iter().any(|o| repeat(&o)) || taken.iter().any(repeat) {
                continue;
            }
            let Some((sev, text)) = meaning(e) else {
                continue;
            };
            taken.push(e);
            switched |= e.event == "+switch-master";
            // A switch is about its new master (as a recovered failover is, so the two
            // are one event after a restart).
            let (what, subject) = match e.detail.split_whitespace().collect::<Vec<_>>()[..] {
                [_, _, _, h, p, ..] if e.event == "+switch-master" => {
                    ("failover", format!("{h}:{p}"))
                }
                _ => ("sentinel", e.detail.clone()),
            };
            out.push(
                TimelineEvent::new(at_ms(e.at_ms), what, sev, subject, text)
                    .jump("Sentinel", master_key.clone()),
            );
        }
    }
    let Some(prev) = prev else {
        out.extend(recovered_failover(next, now));
        return out;
    };
    // A master change the poller saw (Cluster; Sentinel when its pub/sub said nothing about
    // it, in this sample or the one before).
    let announced = |f: &super::model::Failover| {
        let to = f.to.replace(':', " ");
        seen.iter()
            .chain(next.sentinel.iter().flat_map(|s| s.events.iter()))
            .any(|e| {
                e.event == "+switch-master"
                    && e.detail.ends_with(&to)
                    && (e.at_ms / 1000 - f.at).abs() <= 60
            })
    };
    if next.last_failover != prev.last_failover
        && let Some(f) = &next.last_failover
        && !switched
        && !announced(f)
    {
        out.push(
            TimelineEvent::new(
                at_ms(f.at * 1000),
                "failover",
                Severity::Warning,
                f.to.clone(),
                format!("failover: master {} → {}", f.from, f.to),
            )
            .jump("Nodes", f.to.clone()),
        );
    }
    let before: HashMap<&str, &super::NodeInfo> =
        prev.nodes.iter().map(|n| (n.addr.as_str(), n)).collect();
    for n in &next.nodes {
        let Some(p) = before.get(n.addr.as_str()) else {
            continue;
        };
        match (&p.error, &n.error) {
            (None, Some(e)) => {
                let sev = if p.is_master() {
                    Severity::Critical
                } else {
                    Severity::Warning
                };
                out.push(
                    TimelineEvent::new(
                        now,
                        "node",
                        sev,
                        n.addr.clone(),
                        format!("{} down: {e}", n.addr),
                    )
                    .jump("Nodes", n.addr.clone()),
                );
            }
            (Some(_), None) => out.push(
                TimelineEvent::new(
                    now,
                    "node",
                    Severity::Ok,
                    n.addr.clone(),
                    format!("{} answers again ({})", n.addr, role_name(&n.role)),
                )
                .jump("Nodes", n.addr.clone()),
            ),
            _ => {}
        }
        if !p.role.is_empty() && !n.role.is_empty() && p.role != n.role {
            out.push(
                TimelineEvent::new(
                    now,
                    "role",
                    Severity::Warning,
                    n.addr.clone(),
                    format!(
                        "{} is now {} (was {})",
                        n.addr,
                        role_name(&n.role),
                        role_name(&p.role)
                    ),
                )
                .jump("Nodes", n.addr.clone()),
            );
        }
    }
    out
}

/// "replica" for Redis's "slave".
fn role_name(role: &str) -> &str {
    match role {
        "slave" => "replica",
        r => r,
    }
}

/// Sentinel's last failover, from before the console started: a master whose config epoch
/// is above 0 was failed over to; its role was reported changed `master_role_secs` ago
/// (that resets when a sentinel restarts, so the failover was then or earlier).
fn recovered_failover(s: &RedisSample, now: DateTime<Utc>) -> Option<TimelineEvent> {
    let v = s.sentinel.as_ref()?;
    if v.config_epoch == 0 {
        return None;
    }
    let ago = v.master_role_secs?;
    let sev = if ago as i64 <= super::view::RECENT_FAILOVER_SECS {
        Severity::Warning
    } else {
        Severity::Info
    };
    Some(
        TimelineEvent::new(
            now - Duration::seconds(ago as i64),
            "failover",
            sev,
            v.master_addr.clone(),
            format!(
                "{} failed over to {} (config epoch {}; at this time or before)",
                v.master_name, v.master_addr, v.config_epoch
            ),
        )
        .recovered()
        .jump("Sentinel", format!("master:{}", v.master_name)),
    )
}
