//! Consumer-group verdicts for one poll: each group's partitions judged from their tracks
//! (`lag::Track`), then the group's worst status, abandonment and flags.
//!
//! A poll that did not answer for a group (its description or offsets failed, its
//! coordinator was down, its listing broker did not answer) or for some of its partitions
//! (a watermark missing) changes nothing: the group's last state is shown again, marked
//! stale with its age, and its windows are left as they were. Only a poll that answered
//! for a group can change its verdict.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::compact::{Interner, Name, Partitions};
use super::lag::{self, Judge, Track};
use super::policy::{GroupPolicy, Isolation, Policy};
use super::why::Why;
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
    /// When a complete listing first left the group out (None: listed last poll).
    unlisted_since: Option<f64>,
}

/// How long a group a complete listing leaves out is still shown, stale, before it counts
/// as deleted. A broker just restarted lists its groups successfully but without those of
/// the `__consumer_offsets` partitions it does not lead yet (Kafka's group coordinator
/// answers for loaded partitions only), so one poll's absence proves nothing; a STOP alert
/// must not resolve for it.
const UNLISTED_GRACE_SECS: f64 = 30.0;

/// A partition's track; the last poll that answered for it is `Track::answered_at`.
type Tracked = Track;

/// A partition of the poll's metadata and its offsets as the poll answered them: looked up
/// once a poll, not once for each group that reads it (80,000 lookups at 1,000 groups on
/// 10,000 partitions, each hashing a topic name).
#[derive(Debug, Clone, Copy)]
pub(super) struct PartEnds {
    pub id: i32,
    /// (low, high) watermarks; None: not answered this poll.
    pub watermarks: Option<(i64, i64)>,
    pub stable: Option<i64>,
}

/// One poll's input to the group verdicts.
pub(super) struct Input<'a> {
    pub raw: &'a Raw,
    pub now: f64,
    pub policy: &'a Policy,
    pub topic_parts: &'a HashMap<&'a str, Vec<PartEnds>>,
    pub hwm: &'a lag::HwmTables,
    pub trend_len: usize,
}

/// Judges every group of the poll (and re-shows, stale, those it could not read). Each
/// group's description and offsets, taken out of the poll's answer, are dropped as soon as
/// it is judged, so the answer shrinks while the new sample grows.
pub(super) fn judge(
    memo: &mut HashMap<String, GroupMemo>,
    names: &mut Interner,
    inp: &Input,
    descs: Vec<admin::GroupDescription>,
    mut offsets: HashMap<String, Result<admin::Committed, String>>,
) -> Vec<GroupInfo> {
    let raw = inp.raw;
    let mut prev = std::mem::take(memo);
    let mut out = Vec::with_capacity(descs.len());
    for g in descs {
        let g = &g;
        let mut m = prev.remove(&g.name).unwrap_or_default();
        m.unlisted_since = None;
        let info = match (&g.error, offsets.remove(&g.name)) {
            (None, Some(Ok(committed))) => {
                let info = judge_group(&mut m, g, &committed, names, inp);
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
    // Some broker did not list its groups, or a complete listing left out groups listed
    // before: the ones missing may well still exist.
    let partial = (!raw.listing_errors.is_empty())
        .then(|| format!("not listed this poll ({})", raw.listing_errors.join("; ")));
    for (name, mut m) in prev {
        let why = match &partial {
            Some(why) => why.clone(),
            None => {
                let since = *m.unlisted_since.get_or_insert(inp.now);
                if inp.now - since >= UNLISTED_GRACE_SECS {
                    continue;
                }
                format!(
                    "not listed for {} (deleted, or its coordinator is not back yet)",
                    fmt::secs(inp.now - since)
                )
            }
        };
        if let Some(last) = m.last.as_ref().filter(|_| inp.policy.judged(&name)) {
            let g = admin::GroupDescription {
                name: name.clone(),
                state: last.state.clone(),
                error: None,
                members: Vec::new(),
            };
            out.push(stale(&m, &g, inp.now, why));
            memo.insert(name, m);
        }
    }
    out
}

/// The group's last state again, marked stale; a group never read yet is only "judging…".
fn stale(m: &GroupMemo, g: &admin::GroupDescription, now: f64, why: String) -> GroupInfo {
    match &m.last {
        Some(last) => GroupInfo {
            // A partly stale last answer was older still.
            stale_secs: Some(now - m.answered_at + last.stale_secs.unwrap_or(0.0)),
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
    names: &mut Interner,
    inp: &Input,
) -> GroupInfo {
    let now = inp.now;
    let gp = inp.policy.for_group(&g.name);
    let active = !g.members.is_empty();
    let judge = Judge {
        stall_after: gp.stall_after,
        active,
    };
    // By topic, then partition id: a member's label is made and interned once, and a
    // topic's name hashed once, not once for each partition.
    let mut owners: HashMap<&str, Vec<Option<Name>>> = HashMap::new();
    for mb in &g.members {
        let label = names.get(&format!("{}@{}", mb.client_id, mb.host));
        for (t, p) in &mb.assignment {
            let Ok(i) = usize::try_from(*p) else { continue };
            let of_topic = owners.entry(t.as_str()).or_default();
            if of_topic.len() <= i {
                of_topic.resize(i + 1, None);
            }
            of_topic[i] = Some(label.clone());
        }
    }
    // Every partition of every topic the group commits to or is assigned.
    let topics: BTreeSet<&str> = committed.topics().chain(owners.keys().copied()).collect();
    // A Stable group's members read what they are assigned: a topic it has offsets for but
    // no member is assigned is one it no longer reads (offsets left from an earlier
    // subscription, kept by the broker for days). Judging those would page for a week.
    let assigned: BTreeSet<&str> = owners.keys().copied().collect();
    let knows_assignments = active && g.state == "Stable" && !owners.is_empty();
    let mut prev_tracks = std::mem::take(&mut m.tracks);
    let mut partitions = Vec::new();
    // (partition index, unconsumed seconds, proven by a probe) of lagging partitions, for
    // abandonment; `watched` = committed partitions' idle times when none lags.
    let mut lagging: Vec<(usize, f64, bool)> = Vec::new();
    let mut idle_all: Vec<f64> = Vec::new();
    let mut stale_parts = 0usize;
    // Which of a topic's kept slots this poll's partitions reached.
    let mut visited: Vec<bool> = Vec::new();
    let probe = inp
        .raw
        .probes
        .iter()
        .find(|p| p.abandoned_after == gp.abandoned_after);
    for t in topics {
        let unread = knows_assignments && !assigned.contains(t);
        let parts = inp.topic_parts.get(t).map_or(&[][..], Vec::as_slice);
        let topic = names.get(t);
        let topic_owners = owners.get(t).map_or(&[][..], Vec::as_slice);
        let topic_committed = committed.topic(t).unwrap_or_default();
        let hwm = inp.hwm.topic(t);
        // The topic's tracks are updated in their own vector, not moved to a new one: at
        // 80,000 group partitions a new vector each poll was 9 MB of short-lived memory
        // that left the allocator's arenas fragmented.
        let (topic_key, mut slots) = prev_tracks
            .remove_entry(t)
            .unwrap_or_else(|| (t.to_string(), Vec::new()));
        visited.clear();
        visited.resize(slots.len(), false);
        for pe in parts {
            let p = pe.id;
            let Ok(i) = usize::try_from(p) else { continue };
            let c = admin::offset_in(topic_committed, p);
            let owner = topic_owners.get(i).cloned().flatten();
            let mut tracked = slots.get_mut(i).and_then(Option::take);
            if let Some(v) = visited.get_mut(i) {
                *v = true;
            }
            let Some((low, high)) = pe.watermarks else {
                // Not answered for this partition: its last state stands, its track waits.
                if let Some(tr) = &tracked {
                    stale_parts += 1;
                    let age = now - tr.answered_at();
                    partitions.push(last_partition(m, &topic, p, owner, age));
                } else {
                    partitions.push(GroupPartition {
                        topic: topic.clone(),
                        partition: p,
                        committed: c,
                        owner,
                        why: Why::NoWatermark,
                        ..Default::default()
                    });
                }
                put(&mut slots, i, tracked);
                continue;
            };
            let stable = pe.stable.filter(|s| *s <= high);
            let (shown_end, judged_end) = ends(gp.isolation, high, stable);
            let mut gpart = GroupPartition {
                topic: topic.clone(),
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
                    let track = tracked.get_or_insert_with(|| Track::new(now));
                    track.answered(now);
                    track.observe(now, c, judged_end, gp.stall_after);
                    let probed = probe.and_then(|pr| pr.offsets.get(&(t.to_string(), p)));
                    if let Some(o) = probed {
                        // The oldest unread record still in the log: below the log start
                        // the records were deleted, and the probe cannot date those (they
                        // may be minutes old), only the first one left, written after them.
                        let first = c.max(low);
                        // -1: no record at or after the probe time, so all are older.
                        if (*o < 0 && first < high) || (*o >= 0 && first < *o) {
                            track.note_written_before(c, probe.map_or(now, |pr| pr.before));
                        }
                    }
                    let written = hwm.and_then(|v| v.get(i)).and_then(|tab| tab.time_of(c));
                    gpart.lag_seconds = track.lag_seconds(c, judged, written, now);
                    let v = track.evaluate(now, judged, judge);
                    let (idle, seen) = track.idle(now);
                    gpart.idle_secs = Some(idle);
                    gpart.commit_seen = seen;
                    gpart.status = v.status;
                    gpart.judging = v.judging;
                    // The row's high − stable is then the number in open transactions.
                    let open_tx = judged_end == stable.unwrap_or(high) && high > judged_end;
                    gpart.why = Why::Verdict(v.reason, open_tx);
                    gpart.lost_records = (low - c).max(0);
                    gpart.ahead_by = (c - high).max(0);
                    if unread {
                        gpart.unread = true;
                        gpart.status = LagStatus::Ok;
                        gpart.judging = false;
                        gpart.why = Why::Unread { lag: judged };
                    } else if judged > 0 {
                        let (secs, proven) = track.unconsumed_for(now, c);
                        lagging.push((partitions.len(), secs, proven));
                    } else {
                        idle_all.push(idle);
                    }
                }
                None if gpart.owner.is_some() => {
                    let tr = tracked.get_or_insert_with(|| Track::new(now));
                    tr.answered(now);
                    tr.observe_uncommitted(now, true, high);
                    gpart.uncommitted_secs = tr
                        .uncommitted_for(now, high)
                        .filter(|s| *s >= gp.stall_after);
                    gpart.why = match gpart.uncommitted_secs {
                        Some(secs) => Why::Uncommitted { secs },
                        None => Why::NoCommittedOffset,
                    };
                }
                None => {
                    tracked = None;
                    gpart.why = Why::NoCommittedOffset;
                }
            }
            partitions.push(gpart);
            put(&mut slots, i, tracked);
        }
        // A partition the poll no longer lists (topic recreated smaller) is forgotten.
        for (slot, seen) in slots.iter_mut().zip(&visited) {
            if !seen {
                *slot = None;
            }
        }
        while slots.last().is_some_and(Option::is_none) {
            slots.pop();
        }
        if !slots.is_empty() {
            // Grown one partition at a time, the vector's doubling left up to half its
            // slots (a track each) empty: 5 MiB at 1,000 groups on 10,000 partitions.
            slots.shrink_to_fit();
            m.tracks.insert(topic_key, slots);
        }
    }
    let was_abandoned = m.last.as_ref().is_some_and(|l| l.abandoned);
    let abandoned = (!active && (stale_parts == 0 || was_abandoned))
        .then(|| abandonment(&partitions, &lagging, &idle_all, gp))
        .flatten();
    summarize(m, g, gp, partitions, abandoned, stale_parts, names, inp)
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
    topic: &Name,
    p: i32,
    owner: Option<Name>,
    age: f64,
) -> GroupPartition {
    let last = m.last.as_ref().and_then(|g| g.partitions.find(topic, p));
    GroupPartition {
        stale_secs: Some(age),
        ..last.unwrap_or_else(|| GroupPartition {
            topic: topic.clone(),
            partition: p,
            owner,
            judging: true,
            why: Why::NotReadNoWatermark,
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

#[allow(clippy::too_many_arguments)]
fn summarize(
    m: &mut GroupMemo,
    g: &admin::GroupDescription,
    gp: GroupPolicy,
    mut partitions: Vec<GroupPartition>,
    abandoned: Option<String>,
    stale_parts: usize,
    names: &mut Interner,
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
            format!("{}[{}]: {}", w.topic, w.partition, w.reason_text()),
        ),
        (None, _, Some(j)) => (
            LagStatus::Ok,
            true,
            format!("{}[{}]: {}", j.topic, j.partition, j.reason_text()),
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
                    .map(|(t, p)| names.get(&format!("{t}[{p}]")))
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
            .filter(|p| !p.unread)
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
        unread_partitions: partitions.iter().filter(|p| p.unread).count(),
        idle_secs: partitions
            .iter()
            .filter(|p| !p.unread && p.stable_lag.or(p.lag).unwrap_or(0) > 0)
            .filter_map(|p| p.idle_secs)
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s)))),
        partitions: Partitions::pack(partitions, names),
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::super::{KafkaGroupRuleSpec, KafkaSpec};

    /// One topic `orders` of `parts` partitions, every watermark (0, `high`).
    fn raw(parts: i32, high: i64) -> Raw {
        Raw {
            topics: vec![(
                "orders".into(),
                false,
                (0..parts).map(|p| (p, 1, vec![1], vec![1])).collect(),
            )],
            brokers: vec![(1, "localhost".into(), 9092)],
            watermarks: (0..parts)
                .map(|p| (("orders".to_string(), p), (0, high)))
                .collect(),
            ..Default::default()
        }
    }

    /// Adds group `name` with members assigned `assigned` and commits `(partition, offset)`.
    fn group(mut r: Raw, name: &str, assigned: &[i32], commits: &[(i32, i64)]) -> Raw {
        r.groups.push(admin::GroupDescription {
            name: name.into(),
            state: if assigned.is_empty() {
                "Empty"
            } else {
                "Stable"
            }
            .into(),
            error: None,
            members: if assigned.is_empty() {
                vec![]
            } else {
                vec![admin::Member {
                    client_id: "c".into(),
                    consumer_id: "c-1".into(),
                    host: "/10.0.0.1".into(),
                    assignment: assigned.iter().map(|p| ("orders".into(), *p)).collect(),
                }]
            },
        });
        r.offsets.insert(
            name.into(),
            Ok(commits
                .iter()
                .map(|(p, c)| (("orders".to_string(), *p), *c))
                .collect()),
        );
        r
    }

    fn state(spec: KafkaSpec) -> State {
        State::with_policy(
            Windows::default(),
            Policy::from_spec(&spec).expect("policy"),
        )
    }

    fn find<'a>(s: &'a KafkaSample, name: &str) -> &'a GroupInfo {
        s.groups
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("{name} not in {:?}", s.groups))
    }

    fn alerts_of(s: KafkaSample) -> Vec<String> {
        let sample = crate::sources::Sample::Kafka(Box::new(s));
        crate::alerts::evaluate(
            &crate::alerts::RuleSet::default(),
            [crate::alerts::SourceView {
                kind: crate::sources::SourceKind::Kafka,
                name: "k",
                status: &crate::sources::Status::Ok,
                sample: Some(&sample),
            }],
        )
        .into_iter()
        .map(|a| format!("{} {}", a.rule, a.subject))
        .collect()
    }

    #[test]
    fn a_memberless_group_stops_then_is_abandoned_and_raises_nothing() {
        let mut st = state(KafkaSpec {
            abandoned_after: Some("1h".into()),
            ..Default::default()
        });
        let mut t = 0.0;
        let mut seen = Vec::new();
        while t <= 3600.0 {
            let s = st.ingest(group(raw(1, 100), "old", &[], &[(0, 40)]), t, false);
            let g = find(&s, "old");
            seen.push((t, g.status, g.abandoned, g.judging));
            t += 60.0;
        }
        let s = st.ingest(group(raw(1, 100), "old", &[], &[(0, 40)]), 3600.0, false);
        let g = find(&s, "old");
        assert!(g.abandoned && !g.judging, "{g:?}");
        assert_eq!(g.status, LagStatus::Ok);
        assert_eq!(
            g.reason,
            "abandoned: no members and no commit in the 1h00m opsdeck has watched, lag 60 (abandoned after 1h00m)"
        );
        assert!(alerts_of(s).is_empty());
        // Judging for 5 minutes, STOP until the hour, then abandoned.
        assert_eq!(seen[0], (0.0, LagStatus::Ok, false, true));
        assert_eq!(seen[5], (300.0, LagStatus::Stop, false, false));
        assert_eq!(seen[59], (3540.0, LagStatus::Stop, false, false));
        assert_eq!(seen[60], (3600.0, LagStatus::Ok, true, false));
        // Members again: judged again.
        let s = st.ingest(group(raw(1, 100), "old", &[0], &[(0, 40)]), 3660.0, false);
        let g = find(&s, "old");
        assert!(!g.abandoned);
        assert_eq!(g.status, LagStatus::Stall, "{}", g.reason);
    }

    #[test]
    fn a_group_first_seen_long_dead_is_abandoned_from_its_records_write_times() {
        let now = 1_000_000.0;
        let mut r = group(raw(2, 100), "dead", &[], &[(0, 40), (1, 100)]);
        r = group(r, "live", &[0], &[(0, 40)]);
        r.probes.push(Probe {
            abandoned_after: 86_400.0,
            before: now - 86_400.0,
            // The first record written in the last day is 50: record 40 is older.
            offsets: [(("orders".to_string(), 0), 50)].into_iter().collect(),
        });
        let s = state(KafkaSpec::default()).ingest(r, now, false);
        let g = find(&s, "dead");
        assert!(g.abandoned, "{g:?}");
        assert_eq!(
            g.reason,
            "abandoned: no members, and the oldest unread record of orders[0] (offset 40) was written over 1d00h ago, so nothing was consumed since; lag 60 (Kafka keeps no commit times: judged from record times)"
        );
        assert!(!find(&s, "live").abandoned, "members: never abandoned");
        // Records newer than the probe: judging, as for any group first seen.
        let mut r = group(raw(1, 100), "recent", &[], &[(0, 40)]);
        r.probes.push(Probe {
            abandoned_after: 86_400.0,
            before: now - 86_400.0,
            offsets: [(("orders".to_string(), 0), 10)].into_iter().collect(),
        });
        let s = state(KafkaSpec::default()).ingest(r, now, false);
        let g = find(&s, "recent");
        assert!(!g.abandoned && g.judging, "{g:?}");
        // Committed below the log start: the deleted records cannot be dated, only the
        // first one left. Here it is recent (the first record of the last day), so
        // nothing is proven; once the log start itself is older, the group is abandoned.
        let deleted = |first_recent: i64| {
            let mut r = group(raw(1, 100), "lost", &[], &[(0, 10)]);
            r.watermarks.insert(("orders".into(), 0), (60, 100));
            r.probes.push(Probe {
                abandoned_after: 86_400.0,
                before: now - 86_400.0,
                offsets: [(("orders".to_string(), 0), first_recent)]
                    .into_iter()
                    .collect(),
            });
            let s = state(KafkaSpec::default()).ingest(r, now, false);
            find(&s, "lost").clone()
        };
        let g = deleted(60);
        assert!(!g.abandoned && g.judging && g.lost_records == 50, "{g:?}");
        assert!(deleted(70).abandoned);
    }

    #[test]
    fn an_unreadable_group_keeps_its_verdict_marked_stale_and_its_window() {
        let mut st = state(KafkaSpec::default());
        let mut t = 0.0;
        while t <= 400.0 {
            st.ingest(group(raw(1, 100), "g", &[0], &[(0, 40)]), t, false);
            t += 10.0;
        }
        let mut r = group(raw(1, 100), "g", &[0], &[(0, 40)]);
        r.offsets
            .insert("g".into(), Err("Broker: Coordinator not available".into()));
        let s = st.ingest(r, 410.0, false);
        let g = find(&s, "g");
        assert_eq!(g.status, LagStatus::Stall, "{g:?}");
        assert_eq!(g.stale_secs, Some(10.0));
        assert_eq!(
            g.error.as_deref(),
            Some("reading its offsets failed: Broker: Coordinator not available")
        );
        assert!(g.reason.contains("no commit in the 6m40s"), "{}", g.reason);
        assert!(!alerts_of(s).is_empty(), "still alerting while stale");
        // The coordinator is back: the clock ran on, nothing was reset.
        let s = st.ingest(group(raw(1, 100), "g", &[0], &[(0, 40)]), 420.0, false);
        let g = find(&s, "g");
        assert_eq!((g.status, g.stale_secs), (LagStatus::Stall, None));
        assert!(g.reason.contains("no commit in the 7m00s"), "{}", g.reason);
        // A describe error or a missing partition watermark is stale too.
        let mut r = group(raw(1, 100), "g", &[0], &[(0, 40)]);
        r.groups[0].error = Some("Broker: Coordinator load in progress".into());
        r.groups[0].members.clear();
        let g = find(&st.ingest(r, 430.0, false), "g").clone();
        assert_eq!((g.status, g.stale_secs), (LagStatus::Stall, Some(10.0)));
        let mut r = group(raw(1, 100), "g", &[0], &[(0, 40)]);
        r.watermarks.clear();
        let g = find(&st.ingest(r, 440.0, false), "g").clone();
        assert_eq!((g.status, g.stale_secs), (LagStatus::Stall, Some(20.0)));
        assert_eq!(g.partitions.to_vec()[0].stale_secs, Some(20.0));
        // Missing from a listing some broker did not answer: still shown, stale.
        let mut r = raw(1, 100);
        r.listing_errors = vec!["Broker: Coordinator not available".into()];
        let g = find(&st.ingest(r, 450.0, false), "g").clone();
        assert_eq!((g.status, g.stale_secs), (LagStatus::Stall, Some(30.0)));
        // Missing from a complete listing (a broker just restarted lists only the groups
        // of the partitions it leads already): still shown, stale, for a while...
        let g = find(&st.ingest(raw(1, 100), 460.0, false), "g").clone();
        assert_eq!((g.status, g.stale_secs), (LagStatus::Stall, Some(40.0)));
        assert_eq!(
            g.error.as_deref(),
            Some("not listed for 0s (deleted, or its coordinator is not back yet)")
        );
        let g = find(&st.ingest(raw(1, 100), 489.0, false), "g").clone();
        assert!(g.error.unwrap().starts_with("not listed for 29s"));
        // ... and its STOP alert still fires.
        let alerts = alerts_of(st.ingest(raw(1, 100), 489.5, false));
        assert!(alerts.iter().any(|a| a.contains(" g")), "{alerts:?}");
        // Listed again: the absence is forgotten.
        let r = group(raw(1, 100), "g", &[0], &[(0, 40)]);
        assert_eq!(find(&st.ingest(r, 495.0, false), "g").stale_secs, None);
        let g = find(&st.ingest(raw(1, 100), 500.0, false), "g").clone();
        assert!(g.error.unwrap().starts_with("not listed for 0s"));
        // Left out for the whole grace: deleted.
        assert!(st.ingest(raw(1, 100), 530.0, false).groups.is_empty());
        // A group never read: judging, nothing to alert on.
        let mut r = group(raw(1, 100), "new", &[0], &[]);
        r.offsets.insert("new".into(), Err("timed out".into()));
        let s = st.ingest(r, 540.0, false);
        let g = find(&s, "new");
        assert!(g.judging && g.status == LagStatus::Ok, "{g:?}");
        assert_eq!(
            g.reason,
            "not read yet: reading its offsets failed: timed out"
        );
    }

    #[test]
    fn open_transactions_do_not_stall_a_consumer_at_the_last_stable_offset() {
        let rules = |iso: Option<&str>| KafkaSpec {
            group_rules: vec![KafkaGroupRuleSpec {
                pattern: "^eos".into(),
                isolation: iso.map(str::to_string),
                ..Default::default()
            }],
            ..Default::default()
        };
        let poll = |st: &mut State, t: f64| {
            let mut r = group(raw(1, 100), "eos", &[0], &[(0, 90)]);
            r.stable.insert(("orders".into(), 0), 90);
            st.ingest(r, t, false)
        };
        for (iso, basis, lag, status) in [
            (None, LagBasis::HighWatermark, 10, LagStatus::Ok),
            (
                Some("read_committed"),
                LagBasis::LastStableOffset,
                0,
                LagStatus::Ok,
            ),
            (
                Some("read_uncommitted"),
                LagBasis::HighWatermark,
                10,
                LagStatus::Stall,
            ),
        ] {
            let mut st = state(rules(iso));
            poll(&mut st, 0.0);
            let s = poll(&mut st, 600.0);
            let g = find(&s, "eos");
            assert_eq!(
                (g.lag_basis, g.total_lag, g.total_stable_lag, g.status),
                (basis, lag, 0, status),
                "{iso:?}: {g:?}"
            );
            let p = &g.partitions.to_vec()[0];
            assert_eq!((p.stable, p.stable_lag), (Some(90), Some(0)));
        }
        let mut st = state(KafkaSpec::default());
        let s = poll(&mut st, 0.0);
        assert_eq!(
            find(&s, "eos").partitions.to_vec()[0].reason,
            "caught up (10 above the last stable offset: open transactions)"
        );
    }

    #[test]
    fn records_lost_logs_truncated_and_assignments_never_committed_are_flagged() {
        let mut st = state(KafkaSpec::default());
        let poll = |st: &mut State, t: f64, high: i64| {
            let mut r = raw(3, high);
            r.watermarks.insert(("orders".into(), 0), (100, high)); // retention deleted 0..100
            r = group(r, "g", &[0, 1, 2], &[(0, 40), (1, high + 50)]);
            st.ingest(r, t, false)
        };
        poll(&mut st, 0.0, 200);
        let s = poll(&mut st, 400.0, 300);
        let g = find(&s, "g");
        assert_eq!(g.lost_records, 60);
        assert_eq!(g.partitions.to_vec()[0].lost_records, 60);
        assert_eq!(g.ahead_partitions, 1);
        assert_eq!(
            (
                g.partitions.to_vec()[1].ahead_by,
                g.partitions.to_vec()[1].lag
            ),
            (50, Some(0))
        );
        assert_eq!(g.uncommitted_partitions, 1);
        assert_eq!(g.partitions.to_vec()[2].uncommitted_secs, Some(400.0));
        assert_eq!(
            g.partitions.to_vec()[2].reason,
            "assigned for 6m40s and never committed while records arrived"
        );
        let d = s.detail(TABLE_GROUPS, "g").expect("detail");
        let text: Vec<String> = d
            .lines
            .iter()
            .map(|l| l.iter().map(|c| c.text.as_str()).collect())
            .collect();
        assert!(
            text.contains(&"data loss: 60 records were deleted before the group read them (committed below the log start)".to_string()),
            "{text:?}"
        );
        let rows = d.table.expect("partitions").rows;
        assert_eq!(
            rows[0].cells.last().map(|c| c.text.as_str()),
            Some("lost 60")
        );
        let alerts = alerts_of(s);
        for want in [
            "kafka_records_lost g",
            "kafka_offsets_ahead_of_log g",
            "kafka_never_committed g",
        ] {
            assert!(alerts.iter().any(|a| a == want), "{want} not in {alerts:?}");
        }
    }

    #[test]
    fn flags_and_long_unreadable_groups_alert_but_judging_groups_raise_nothing() {
        // First seen with records lost: judging, so nothing yet.
        let mut st = state(KafkaSpec::default());
        let lost = || {
            let mut r = raw(1, 300);
            r.watermarks.insert(("orders".into(), 0), (100, 300));
            group(r, "g", &[0], &[(0, 40)])
        };
        let s = st.ingest(lost(), 0.0, false);
        assert!(find(&s, "g").judging && find(&s, "g").lost_records == 60);
        assert!(alerts_of(s).is_empty());
        let s = st.ingest(lost(), 400.0, false);
        assert!(alerts_of(s).contains(&"kafka_records_lost g".to_string()));

        // Unreadable for 50 s: stale, not yet an alert of its own; for 200 s: one.
        let mut st = state(KafkaSpec::default());
        let ok = || group(raw(1, 100), "g", &[0], &[(0, 100)]);
        let unreadable = || {
            let mut r = ok();
            r.offsets
                .insert("g".into(), Err("Broker: Coordinator not available".into()));
            r
        };
        st.ingest(ok(), 0.0, false);
        st.ingest(ok(), 400.0, false);
        let s = st.ingest(unreadable(), 450.0, false);
        assert_eq!(find(&s, "g").stale_secs, Some(50.0));
        assert!(alerts_of(s).is_empty());
        let s = st.ingest(unreadable(), 600.0, false);
        assert_eq!(alerts_of(s), vec!["kafka_group_unreadable g".to_string()]);
        // Read again: resolved.
        assert!(alerts_of(st.ingest(ok(), 610.0, false)).is_empty());
    }

    #[test]
    fn the_groups_table_mutes_judging_and_abandoned_rows() {
        let mut r = group(raw(1, 100), "fresh", &[0], &[(0, 40)]);
        r = group(r, "dead", &[], &[(0, 40)]);
        r.probes.push(Probe {
            abandoned_after: 86_400.0,
            before: 0.0,
            offsets: [(("orders".to_string(), 0), -1)].into_iter().collect(),
        });
        let s = state(KafkaSpec::default()).ingest(r, 86_400.0, false);
        let m = s.model();
        let t = &m.tables[TABLE_GROUPS];
        let status: Vec<(&str, &str, crate::views::Level)> = t
            .rows
            .iter()
            .map(|r| (r.key.as_str(), r.cells[7].text.as_str(), r.cells[7].level))
            .collect();
        use crate::views::Level::Muted;
        assert_eq!(
            status,
            vec![("fresh", "judging…", Muted), ("dead", "ABANDONED", Muted)]
        );
        let crate::views::Summary::Text(line) = &m.summary[1] else {
            panic!("not text: {:?}", m.summary[1]);
        };
        assert_eq!(
            line[0].text,
            "2 groups, none failing (1 judging, 1 abandoned)"
        );
    }

    #[test]
    fn offsets_left_from_an_earlier_subscription_are_not_judged() {
        let mut st = state(KafkaSpec::default());
        let poll = |st: &mut State, t: f64| {
            let mut r = raw(2, 100);
            r.topics
                .push(("old".into(), false, vec![(0, 1, vec![1], vec![1])]));
            r.watermarks.insert(("old".into(), 0), (0, 500));
            r = group(r, "g", &[0, 1], &[(0, 100), (1, 100)]);
            if let Some(Ok(c)) = r.offsets.get_mut("g") {
                c.insert(("old".into(), 0), 10);
            }
            st.ingest(r, t, false)
        };
        poll(&mut st, 0.0);
        let s = poll(&mut st, 900.0);
        let g = find(&s, "g");
        assert_eq!(g.status, LagStatus::Ok, "{}", g.reason);
        assert_eq!((g.unread_partitions, g.total_lag), (1, 490));
        let p = g.partitions.iter().find(|p| p.topic == "old").expect("old");
        assert!(p.unread);
        assert_eq!(
            p.reason,
            "no member reads old: offsets left from an earlier subscription, lag 490"
        );
        assert_eq!(g.lag_seconds, Some(0.0), "unread partitions do not count");
        assert!(alerts_of(s).is_empty());
    }
}
