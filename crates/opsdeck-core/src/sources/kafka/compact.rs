//! The compact lag store: a group's partition rows as the poller keeps them between polls
//! and the sample carries them (10,000 partitions × 1,000 groups is 80,000 rows). A row is
//! one fixed-size record: names shared (`Name`, interned: a topic's name is stored once, a
//! member's once per poll), the reason as the verdict's figures (`why`: its text is built
//! when the row is shown), offsets and seconds without `Option` wrappers. The rows of a group are shared between the sample and
//! the poller's memory of the group (`Arc`), so a poll keeps one copy, not two.
//! `GroupPartition` is the row as shown, built from a record on demand (detail, JSON).

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

pub use super::interned::{Interner, Name};
use super::why::{Stored, Why};
use super::{GroupPartition, LagStatus};

/// A member's assigned partitions as shown ("topic[p]"), interned and shared: the sample
/// and the poller's memory of the group hold one copy, and a partition assigned in several
/// groups one string.
#[derive(Clone, Default, PartialEq)]
pub struct Assignment(Arc<[Name]>);

impl Assignment {
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.0.iter().map(Name::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Name> for Assignment {
    fn from_iter<I: IntoIterator<Item = Name>>(it: I) -> Assignment {
        Assignment(it.into_iter().collect())
    }
}

impl From<Vec<String>> for Assignment {
    fn from(v: Vec<String>) -> Assignment {
        v.iter().map(|s| Name::from(s.as_str())).collect()
    }
}

impl fmt::Debug for Assignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl Serialize for Assignment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

/// "None" of an offset or a lag (offsets and lags are never negative).
const NO_I64: i64 = i64::MIN;

fn pack(v: Option<i64>) -> i64 {
    v.unwrap_or(NO_I64)
}

fn unpack(v: i64) -> Option<i64> {
    (v != NO_I64).then_some(v)
}

/// Seconds (lag, staleness, idleness) as `f32`: within a millisecond up to four and a half
/// hours and a second up to six months, finer than they are shown; read back rounded to the
/// millisecond so that an export does not print the float's noise.
fn pack_s(v: Option<f64>) -> f32 {
    v.map_or(f32::NAN, |v| v as f32)
}

fn unpack_s(v: f32) -> Option<f64> {
    (!v.is_nan()).then(|| (f64::from(v) * 1e3).round() / 1e3)
}

const JUDGING: u8 = 1;
const COMMIT_SEEN: u8 = 2;
const UNREAD: u8 = 4;

/// One partition of one group: `GroupPartition` (296 bytes and three strings) in 120 bytes
/// (the reason's figures take 40 of them; names are one thin pointer each, seconds `f32`). The
/// lag against the last stable offset, the records lost below the log start and the
/// offsets ahead of the log end are not kept: they follow from the offsets (`row`).
#[derive(Debug, Clone)]
struct Rec {
    topic: Name,
    reason: Stored,
    owner: Option<Name>,
    committed: i64,
    low: i64,
    high: i64,
    stable: i64,
    lag: i64,
    lag_seconds: f32,
    stale_secs: f32,
    uncommitted_secs: f32,
    idle_secs: f32,
    partition: i32,
    status: LagStatus,
    flags: u8,
}

/// Bytes of one row (the size report in `sizes_tests`).
#[cfg(test)]
pub(super) const ROW_BYTES: usize = std::mem::size_of::<Rec>();

/// A group's partition rows (see the module comment). Cloning shares them.
#[derive(Clone, Default)]
pub struct Partitions {
    rows: Arc<[Rec]>,
}

impl Partitions {
    /// Packs rows; a reason given as text is shared through `names` (the topic and the
    /// owner come interned: the verdicts intern them once a topic and once a member).
    pub fn pack(rows: Vec<GroupPartition>, names: &mut Interner) -> Partitions {
        Partitions {
            rows: rows.into_iter().map(|p| rec(p, names)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i` as shown.
    pub fn get(&self, i: usize) -> Option<GroupPartition> {
        self.rows.get(i).map(row)
    }

    /// The rows as shown, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = GroupPartition> + '_ {
        self.rows.iter().map(row)
    }

    pub fn to_vec(&self) -> Vec<GroupPartition> {
        self.iter().collect()
    }

    /// The row of `topic[partition]`, if the group has one.
    pub fn find(&self, topic: &str, partition: i32) -> Option<GroupPartition> {
        self.rows
            .iter()
            .find(|r| r.partition == partition && r.topic.as_str() == topic)
            .map(row)
    }

    /// Whether some row is still being judged, without building the rows (the pane model
    /// asks for every group every poll).
    pub fn any_judging(&self) -> bool {
        self.rows.iter().any(|r| r.flags & JUDGING != 0)
    }

    /// The topics of the rows (with repeats), without building the rows.
    pub fn topics(&self) -> impl Iterator<Item = &str> + '_ {
        self.rows.iter().map(|r| r.topic.as_str())
    }

    /// Each row's lag figures, borrowed: for walks over every row of every group (metrics,
    /// exports) that would otherwise build 80,000 rows.
    pub fn lags(&self) -> impl ExactSizeIterator<Item = LagRef<'_>> + '_ {
        self.rows.iter().map(|r| LagRef {
            topic: r.topic.as_str(),
            partition: r.partition,
            lag: unpack(r.lag),
            lag_seconds: unpack_s(r.lag_seconds),
        })
    }
}

/// A row's place and lag, borrowed from the store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LagRef<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub lag: Option<i64>,
    pub lag_seconds: Option<f64>,
}

impl FromIterator<GroupPartition> for Partitions {
    fn from_iter<I: IntoIterator<Item = GroupPartition>>(rows: I) -> Partitions {
        Partitions::from(rows.into_iter().collect::<Vec<_>>())
    }
}

impl From<Vec<GroupPartition>> for Partitions {
    fn from(rows: Vec<GroupPartition>) -> Partitions {
        Partitions::pack(rows, &mut Interner::default())
    }
}

impl fmt::Debug for Partitions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Partitions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

fn rec(p: GroupPartition, names: &mut Interner) -> Rec {
    let mut flags = 0;
    if p.judging {
        flags |= JUDGING;
    }
    if p.commit_seen {
        flags |= COMMIT_SEEN;
    }
    if p.unread {
        flags |= UNREAD;
    }
    Rec {
        // Already interned where the rows are judged (`groups`): shared, not looked up.
        topic: p.topic,
        reason: match p.why {
            Why::Text => Stored::Text(names.get(&p.reason)),
            why => Stored::Why(why),
        },
        owner: p.owner,
        committed: pack(p.committed),
        low: pack(p.low),
        high: pack(p.high),
        stable: pack(p.stable),
        lag: pack(p.lag),
        lag_seconds: pack_s(p.lag_seconds),
        stale_secs: pack_s(p.stale_secs),
        uncommitted_secs: pack_s(p.uncommitted_secs),
        idle_secs: pack_s(p.idle_secs),
        partition: p.partition,
        status: p.status,
        flags,
    }
}

fn row(r: &Rec) -> GroupPartition {
    let committed = unpack(r.committed);
    // As the verdicts compute them (`groups::judge_group`): from the offsets of the row.
    let beyond = |end: i64, sign: i64| {
        unpack(end)
            .zip(committed)
            .map_or(0, |(e, c)| (sign * (e - c)).max(0))
    };
    GroupPartition {
        topic: r.topic.clone(),
        partition: r.partition,
        committed,
        low: unpack(r.low),
        high: unpack(r.high),
        stable: unpack(r.stable),
        lag: unpack(r.lag),
        stable_lag: unpack(r.stable).and_then(|s| super::lag::offset_lag(s, committed)),
        lag_seconds: unpack_s(r.lag_seconds),
        owner: r.owner.clone(),
        status: r.status,
        judging: r.flags & JUDGING != 0,
        reason: match &r.reason {
            Stored::Text(t) => t.to_string(),
            Stored::Why(w) => w.render(
                &r.topic,
                "",
                unpack(r.high)
                    .zip(unpack(r.stable))
                    .map_or(0, |(h, s)| h - s),
            ),
        },
        stale_secs: unpack_s(r.stale_secs),
        lost_records: beyond(r.low, 1),
        ahead_by: beyond(r.high, -1),
        uncommitted_secs: unpack_s(r.uncommitted_secs),
        idle_secs: unpack_s(r.idle_secs),
        commit_seen: r.flags & COMMIT_SEEN != 0,
        unread: r.flags & UNREAD != 0,
        why: Why::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> GroupPartition {
        GroupPartition {
            topic: "orders".into(),
            partition: 3,
            committed: Some(10),
            low: Some(2),
            high: Some(40),
            stable: Some(38),
            lag: Some(30),
            stable_lag: Some(28),
            lag_seconds: Some(12.5),
            owner: Some("c@/10.0.0.1".into()),
            status: LagStatus::Stall,
            judging: true,
            reason: "no commit for 5m00s".into(),
            stale_secs: Some(4.0),
            lost_records: 0,
            ahead_by: 0,
            uncommitted_secs: Some(301.0),
            idle_secs: Some(0.0),
            commit_seen: true,
            unread: true,
            why: Why::Text,
        }
    }

    #[test]
    fn a_row_comes_back_as_it_went_in() {
        for p in [full(), GroupPartition::default()] {
            let packed = Partitions::from(vec![p.clone()]);
            let back = packed.get(0).expect("one row");
            assert_eq!(
                serde_json::to_string(&back).unwrap(),
                serde_json::to_string(&p).unwrap()
            );
            assert_eq!(
                serde_json::to_string(&packed).unwrap(),
                format!("[{}]", serde_json::to_string(&p).unwrap())
            );
        }
    }

    #[test]
    fn seconds_come_back_to_the_millisecond_without_the_floats_noise() {
        // (stored, read back): exact below four and a half hours, within a second past them;
        // equal to the literal, so an export prints it as such.
        for (secs, back) in [
            (0.001, 0.001),
            (12.345, 12.345),
            (299.999, 299.999),
            (16_000.123, 16_000.123),
            (86_400.3, 86_400.297),
            (7_776_000.0, 7_776_000.0),
        ] {
            let p = Partitions::from(vec![GroupPartition {
                lag_seconds: Some(secs),
                stale_secs: Some(secs),
                uncommitted_secs: Some(secs),
                idle_secs: Some(secs),
                ..full()
            }]);
            let r = p.get(0).expect("one row");
            for got in [r.lag_seconds, r.stale_secs, r.uncommitted_secs, r.idle_secs] {
                assert_eq!(got, Some(back), "{secs}");
            }
        }
    }

    #[test]
    fn names_are_stored_once_and_forgotten_when_unused() {
        let mut names = Interner::default();
        // As the verdicts make rows: topic and owner interned once, shared by every row.
        let (topic, owner) = (names.get("orders"), names.get("c-1@/10.0.0.7"));
        let rows = (0..100)
            .map(|i| GroupPartition {
                partition: i,
                topic: topic.clone(),
                owner: Some(owner.clone()),
                ..full()
            })
            .collect();
        drop((topic, owner));
        let p = Partitions::pack(rows, &mut names);
        assert_eq!(names.len(), 3, "topic, reason, owner");
        assert_eq!(p.len(), 100);
        assert_eq!(p.find("orders", 7).map(|r| r.partition), Some(7));
        assert!(p.find("orders", 100).is_none());
        drop(p);
        names.sweep();
        assert!(names.is_empty());
    }

    #[test]
    fn a_record_is_small() {
        assert!(
            std::mem::size_of::<Rec>() <= 120,
            "{}",
            std::mem::size_of::<Rec>()
        );
    }
}
