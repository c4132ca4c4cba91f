//! Consumer-group verdicts for one poll: each group's partitions judged from their tracks
//! (`lag::Track`), then the group's worst status, abandonment and flags.
//!
//! A poll that did not answer for a group (its description or offsets failed, its
//! coordinator was down, its listing broker did not answer) or for some of its partitions
//! (a watermark missing) changes nothing: the group's last state is shown again, marked
//! stale with its age, and its windows are left as they were. Only a poll that answered
//! for a group can change its verdict.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::lag::{self, Judge, Track};
use super::policy::{GroupPolicy, Isolation, Policy};
use super::{GroupInfo, GroupPartition, LagBasis, LagStatus, MemberInfo, Raw, admin};
use crate::views::fmt;

/// What opsdeck remembers of one group between polls.
#[derive(Debug, Default)]
pub(super) struct GroupMemo {
    /// Tracks by topic, indexed by partition id (None: nothing to remember). Nested so that
    /// a topic's name is stored once per group, not once per partition.
    tracks: HashMap<String, Vec<Option<Tracked>>>,
    trend: VecDeque<u64>,
    /// The last poll that answered for the group, and what it showed then.
    answered_at: f64,
    last: Option<GroupInfo>,
}

#[derive(Debug, Clone)]
struct Tracked {
    track: Track,
    /// The last poll that answered for this partition.
    answered_at: f64,
}

/// One poll's input to the group verdicts.
pub(super) struct Input<'a> {
    pub raw: &'a Raw,
    pub now: f64,
    pub policy: &'a Policy,
    pub topic_parts: &'a HashMap<&'a str, Vec<i32>>,
    pub hwm: &'a HashMap<(String, i32), lag::HwmTable>,
    pub trend_len: usize,
}

/// Judges every group of the poll (and re-shows, stale, those it could not read).
pub(super) fn judge(memo: &mut HashMap<String, GroupMemo>, inp: &Input) -> Vec<GroupInfo> {
    let raw = inp.raw;
    let mut prev = std::mem::take(memo);
    let mut out = Vec::with_capacity(raw.groups.len());
    for g in &raw.groups {
        let mut m = prev.remove(&g.name).unwrap_or_default();
        let info = match (&g.error, raw.offsets.get(&g.name)) {
            (None, Some(Ok(committed))) => {
                let info = judge_group(&mut m, g, committed, inp);
                m.answered_at = inp.now;
                m.last = Some(info.clone());
                info
            }
            (Some(e), _) => stale(&m, g, inp.now, format!("describing the group failed: {e}")),
            (None, Some(Err(e))) => {
                stale(&m, g, inp.now, format!("reading its offsets failed: {e}"))
            }
            (None, None) => stale(&m, g, inp.now, "its offsets were not answered".into()),
        };
        out.push(info);
        memo.insert(g.name.clone(), m);
    }
    if !raw.listing_errors.is_empty() {
        // Some broker did not list its groups: the ones missing may well still exist.
        let why = format!("not listed this poll ({})", raw.listing_errors.join("; "));
        for (name, m) in prev {
            if let Some(last) = m.last.as_ref().filter(|_| inp.policy.judged(&name)) {
                let g = admin::GroupDescription {
                    name: name.clone(),
                    state: last.state.clone(),
                    error: None,
                    members: Vec::new(),
                };
                out.push(stale(&m, &g, inp.now, why.clone()));
                memo.insert(name, m);
            }
        }
    }
    out
}

/// The group's last state again, marked stale; a group never read yet is only "judging…".
fn stale(m: &GroupMemo, g: &admin::GroupDescription, now: f64, why: String) -> GroupInfo {
    match &m.last {
        Some(last) => GroupInfo {
            stale_secs: Some(now - m.answered_at),
            error: Some(why),
            ..last.clone()
        },
        None => GroupInfo {
            name: g.name.clone(),
            state: g.state.clone(),
            judging: true,
            reason: format!("not read yet: {why}"),
            error: Some(why),
            ..Default::default()
        },
    }
}

fn judge_group(
    m: &mut GroupMemo,
    g: &admin::GroupDescription,
    committed: &admin::Committed,
    inp: &Input,
) -> GroupInfo {
    let now = inp.now;
    let gp = inp.policy.for_group(&g.name);
    let active = !g.members.is_empty();
    let judge = Judge {
        stall_after: gp.stall_after,
        active,
    };
    let mut owners: HashMap<(&str, i32), String> = HashMap::new();
    for mb in &g.members {
        for (t, p) in &mb.assignment {
            owners.insert((t.as_str(), *p), format!("{}@{}", mb.client_id, mb.host));
        }
    }
    // Every partition of every topic the group commits to or is assigned.
    let topics: BTreeSet<&str> = committed
        .keys()
        .map(|(t, _)| t.as_str())
        .chain(owners.keys().map(|(t, _)| *t))
        .collect();
    let mut prev_tracks = std::mem::take(&mut m.tracks);
    let mut partitions = Vec::new();
    // (partition index, unconsumed seconds, proven by a probe) of lagging partitions, for
    // abandonment; `watched` = committed partitions' idle times when none lags.
    let mut lagging: Vec<(usize, f64, bool)> = Vec::new();
    let mut idle_all: Vec<f64> = Vec::new();
    let mut stale_parts = 0usize;
    let probe = inp
        .raw
        .probes
        .iter()
        .find(|p| p.abandoned_after == gp.abandoned_after);
    for t in topics {
        let ids = inp.topic_parts.get(t).cloned().unwrap_or_default();
        let mut prev_topic = prev_tracks.remove(t).unwrap_or_default();
        let mut next_topic: Vec<Option<Tracked>> = Vec::new();
        for p in ids {
            let Ok(i) = usize::try_from(p) else { continue };
            let key = (t.to_string(), p);
            let c = committed.get(&key).copied();
            let owner = owners.get(&(t, p)).cloned();
            let mut tracked = prev_topic.get_mut(i).and_then(Option::take);
            let Some(&(low, high)) = inp.raw.watermarks.get(&key) else {
                // Not answered for this partition: its last state stands, its track waits.
                if let Some(tr) = &tracked {
                    stale_parts += 1;
                    let age = now - tr.answered_at;
                    partitions.push(last_partition(m, t, p, owner, age));
                } else {
                    partitions.push(GroupPartition {
                        topic: t.to_string(),
                        partition: p,
                        committed: c,
                        owner,
                        reason: "no watermark this poll".into(),
                        ..Default::default()
                    });
                }
                put(&mut next_topic, i, tracked);
                continue;
            };
            let stable = inp.raw.stable.get(&key).copied().filter(|s| *s <= high);
            let (shown_end, judged_end) = ends(gp.isolation, high, stable);
            let mut gpart = GroupPartition {
                topic: t.to_string(),
                partition: p,
                committed: c,
                low: Some(low),
                high: Some(high),
                stable,
                lag: lag::offset_lag(shown_end, c),
                stable_lag: stable.and_then(|s| lag::offset_lag(s, c)),
                owner,
                ..Default::default()
            };
            match c {
                Some(c) => {
                    let judged = lag::offset_lag(judged_end, Some(c)).unwrap_or(0);
                    let tr = tracked.get_or_insert_with(|| Tracked {
                        track: Track::new(now),
                        answered_at: now,
                    });
                    tr.answered_at = now;
                    let track = &mut tr.track;
                    track.observe(now, c, judged, gp.stall_after);
                    if let Some(o) = probe.and_then(|pr| pr.offsets.get(&key)) {
                        // -1: no record at or after the probe time, so all are older.
                        if (*o < 0 && c < high) || (*o >= 0 && c < *o) {
                            track.note_written_before(c, probe.map_or(now, |pr| pr.before));
                        }
                    }
                    let written = inp.hwm.get(&key).and_then(|tab| tab.time_of(c));
                    gpart.lag_seconds = track.lag_seconds(c, judged, written, now);
                    let v = track.evaluate(now, judged, judge);
                    let (idle, seen) = track.idle(now);
                    gpart.idle_secs = Some(idle);
                    gpart.commit_seen = seen;
                    gpart.status = v.status;
                    gpart.judging = v.judging;
                    gpart.reason = v.reason;
                    if judged_end == stable.unwrap_or(high) && high > judged_end {
                        gpart.reason.push_str(&format!(
                            " ({} above the last stable offset: open transactions)",
                            fmt::thousands(high - judged_end)
                        ));
                    }
                    gpart.lost_records = (low - c).max(0);
                    gpart.ahead_by = (c - high).max(0);
                    if judged > 0 {
                        let (secs, proven) = track.unconsumed_for(now, c);
                        lagging.push((partitions.len(), secs, proven));
                    } else {
                        idle_all.push(idle);
                    }
                }
                None if gpart.owner.is_some() => {
                    let tr = tracked.get_or_insert_with(|| Tracked {
                        track: Track::new(now),
                        answered_at: now,
                    });
                    tr.answered_at = now;
                    tr.track.observe_uncommitted(now, true, high);
                    gpart.uncommitted_secs = tr
                        .track
                        .uncommitted_for(now, high)
                        .filter(|s| *s >= gp.stall_after);
                    gpart.reason = match gpart.uncommitted_secs {
                        Some(s) => format!(
                            "assigned for {} and never committed while records arrived",
                            fmt::secs(s)
                        ),
                        None => "no committed offset".into(),
                    };
                }
                None => {
                    tracked = None;
                    gpart.reason = "no committed offset".into();
                }
            }
            partitions.push(gpart);
            put(&mut next_topic, i, tracked);
        }
        if next_topic.iter().any(Option::is_some) {
            m.tracks.insert(t.to_string(), next_topic);
        }
    }
    let was_abandoned = m.last.as_ref().is_some_and(|l| l.abandoned);
    let abandoned = (!active && (stale_parts == 0 || was_abandoned))
        .then(|| abandonment(&partitions, &lagging, &idle_all, gp))
        .flatten();
    summarize(m, g, gp, partitions, abandoned, stale_parts, inp)
}

/// The offsets the LAG figures and the verdict are measured against: read_committed
/// consumers cannot read past the last stable offset; for an unknown isolation the figures
/// follow Kafka's own tool (the high watermark) while the verdict uses the stable offset, so
/// an open transaction never makes a caught-up consumer look stuck.
fn ends(iso: Isolation, high: i64, stable: Option<i64>) -> (i64, i64) {
    let lso = stable.unwrap_or(high);
    match iso {
        Isolation::ReadCommitted => (lso, lso),
        Isolation::ReadUncommitted => (high, high),
        Isolation::Unknown => (high, lso),
    }
}

fn put(v: &mut Vec<Option<Tracked>>, i: usize, t: Option<Tracked>) {
    if t.is_some() {
        if v.len() <= i {
            v.resize_with(i + 1, || None);
        }
        v[i] = t;
    }
}

/// The last shown state of one partition, marked stale.
fn last_partition(
    m: &GroupMemo,
    topic: &str,
    p: i32,
    owner: Option<String>,
    age: f64,
) -> GroupPartition {
    let last = m
        .last
        .as_ref()
        .and_then(|g| {
            g.partitions
                .iter()
                .find(|x| x.partition == p && x.topic == topic)
        })
        .cloned();
    GroupPartition {
        stale_secs: Some(age),
        ..last.unwrap_or_else(|| GroupPartition {
            topic: topic.to_string(),
            partition: p,
            owner,
            judging: true,
            reason: "not read yet: no watermark this poll".into(),
            ..Default::default()
        })
    }
}

/// Why a group without members is abandoned, if it is: every lagging partition unconsumed
/// for `abandoned_after` (seen, or proven by the write time of its oldest unread record);
/// with none lagging, every committed partition seen idle that long.
fn abandonment(
    parts: &[GroupPartition],
    lagging: &[(usize, f64, bool)],
    idle_all: &[f64],
    gp: GroupPolicy,
) -> Option<String> {
    let a = gp.abandoned_after;
    let total: i64 = parts.iter().filter_map(|p| p.lag).sum();
    if lagging.is_empty() {
        let least = idle_all
            .iter()
            .copied()
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.min(s))))?;
        return (least >= a).then(|| {
            format!(
                "abandoned: no members and no commit for {}, caught up (abandoned after {})",
                fmt::secs(least),
                fmt::secs(a)
            )
        });
    }
    // The partition with the most recent sign of life decides.
    let &(i, secs, proven) = lagging.iter().min_by(|x, y| x.1.total_cmp(&y.1))?;
    if secs < a {
        return None;
    }
    let p = &parts[i];
    Some(if proven {
        format!(
            "abandoned: no members, and the oldest unread record of {}[{}] (offset {}) was written over {} ago, so nothing was consumed since; lag {} (Kafka keeps no commit times: judged from record times)",
            p.topic,
            p.partition,
            fmt::thousands(p.committed.unwrap_or(0)),
            fmt::secs(a),
            fmt::thousands(total)
        )
    } else if p.commit_seen {
        format!(
            "abandoned: no members and no commit for {}, lag {} (abandoned after {})",
            fmt::secs(secs),
            fmt::thousands(total),
            fmt::secs(a)
        )
    } else {
        format!(
            "abandoned: no members and no commit in the {} opsdeck has watched, lag {} (abandoned after {})",
            fmt::secs(secs),
            fmt::thousands(total),
            fmt::secs(a)
        )
    })
}

fn summarize(
    m: &mut GroupMemo,
    g: &admin::GroupDescription,
    gp: GroupPolicy,
    mut partitions: Vec<GroupPartition>,
    abandoned: Option<String>,
    stale_parts: usize,
    inp: &Input,
) -> GroupInfo {
    let total_lag: i64 = partitions.iter().filter_map(|p| p.lag).sum();
    let total_stable_lag: i64 = partitions
        .iter()
        .filter_map(|p| p.stable_lag.or(p.lag))
        .sum();
    m.trend.push_back(total_lag.max(0) as u64);
    while m.trend.len() > inp.trend_len {
        m.trend.pop_front();
    }
    let worst = partitions.iter().max_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then(a.lag.unwrap_or(0).cmp(&b.lag.unwrap_or(0)))
    });
    let judging_part = partitions.iter().find(|p| p.judging);
    let (mut status, mut judging, reason) = match (&abandoned, worst, judging_part) {
        (Some(why), _, _) => (LagStatus::Ok, false, why.clone()),
        (None, Some(w), _) if w.status != LagStatus::Ok => (
            w.status,
            false,
            format!("{}[{}]: {}", w.topic, w.partition, w.reason),
        ),
        (None, _, Some(j)) => (
            LagStatus::Ok,
            true,
            format!("{}[{}]: {}", j.topic, j.partition, j.reason),
        ),
        (None, _, None) if partitions.is_empty() => {
            (LagStatus::Ok, false, "no committed offsets".into())
        }
        (None, _, None) => (LagStatus::Ok, false, "all partitions OK".into()),
    };
    if abandoned.is_some() {
        // The group verdict speaks for its partitions: nothing of it alerts.
        for p in &mut partitions {
            p.status = LagStatus::Ok;
            p.judging = false;
        }
        status = LagStatus::Ok;
        judging = false;
    }
    let stale_secs = partitions
        .iter()
        .filter_map(|p| p.stale_secs)
        .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
    let lag_basis = if gp.isolation == Isolation::ReadCommitted {
        LagBasis::LastStableOffset
    } else {
        LagBasis::HighWatermark
    };
    GroupInfo {
        name: g.name.clone(),
        state: g.state.clone(),
        members: g
            .members
            .iter()
            .map(|mb| MemberInfo {
                client_id: mb.client_id.clone(),
                consumer_id: mb.consumer_id.clone(),
                host: mb.host.clone(),
                assignment: mb
                    .assignment
                    .iter()
                    .map(|(t, p)| format!("{t}[{p}]"))
                    .collect(),
            })
            .collect(),
        total_lag,
        total_stable_lag,
        lag_basis,
        isolation: gp.isolation,
        max_partition_lag: partitions.iter().filter_map(|p| p.lag).max().unwrap_or(0),
        lag_seconds: partitions
            .iter()
            .filter_map(|p| p.lag_seconds)
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s)))),
        trend: m.trend.iter().copied().collect(),
        status,
        judging,
        abandoned: abandoned.is_some(),
        reason,
        stale_secs,
        error: (stale_parts > 0)
            .then(|| format!("{stale_parts} partitions without a watermark this poll"))
            .or_else(|| g.error.clone()),
        lost_records: partitions.iter().map(|p| p.lost_records).sum(),
        ahead_partitions: partitions.iter().filter(|p| p.ahead_by > 0).count(),
        uncommitted_partitions: partitions
            .iter()
            .filter(|p| p.uncommitted_secs.is_some())
            .count(),
        idle_secs: partitions
            .iter()
            .filter(|p| p.stable_lag.or(p.lag).unwrap_or(0) > 0)
            .filter_map(|p| p.idle_secs)
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s)))),
        partitions,
    }
}
