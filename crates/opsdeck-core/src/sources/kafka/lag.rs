//! Lag maths and the consumer verdict, pure: time enters as numbers (unix seconds).
//!
//! **Offset lag** is the log end the consumer can read (the high watermark, or the last
//! stable offset for read_committed consumers) minus its committed offset, never negative.
//!
//! **Time lag** (after kafka-lag-exporter): each partition keeps a table of points
//! (watermark, first seen, last seen). The record at offset `o` was written after the last
//! poll that still saw the watermark at `o`; between two points `(o1, last seen l1)` and
//! `(o2, first seen f2)` the records `o1..o2` are taken as written evenly from `l1` to `f2`.
//! A flat stretch keeps the **last** time its value was seen, so a consumer one record
//! behind on a topic silent for an hour is about one refresh behind, not an hour. Below the
//! oldest point, write times are extrapolated at the table's average rate. A full table
//! drops every other point of its older half: it reaches further back at a coarser grain
//! instead of forgetting. Lag seconds = now − the write time of the record at the committed
//! offset; while that offset does not move, [`Track::lag_seconds`] keeps the earliest write
//! time ever estimated for it, so lag seconds never go backwards while the consumer stands
//! still (a table sliding or thinning would otherwise shift the estimate).
//!
//! **Verdict** (Burrow's rules, judged over time and commits instead of a count of polls):
//! a partition's window holds commit points, an observation entering it only when the
//! committed offset changed (or when the partition is first seen), and spans at least
//! `stall_after`. Rules, first match wins:
//! 1. REWIND: the committed offset moved back within the last `stall_after`;
//! 2. OK: lag 0 (caught up);
//! 3. STALL (the group has members) / STOP (none): behind, and the committed offset has not
//!    moved for `stall_after` since the last commit or the last time it was caught up
//!    (nothing to commit is no fault). Between two commits of a healthy consumer nothing
//!    changes, so a 30 s or 60 s commit cadence never looks stalled;
//! 4. judging…: seen for less than `stall_after`; OK in substance, flagged so it is shown
//!    muted and raises nothing;
//! 5. WARN: the least-squares line of lag over the window's commit points rises, by at
//!    least [`WARN_MIN_RISE`] (10%) of the mean lag and by at least [`WARN_MIN_T`] (3)
//!    standard errors of that rise (a real trend, not the scatter of lag at commit times),
//!    over at least [`WARN_MIN_POINTS`] points, for [`WARN_STREAK`] windows in a row; no
//!    commit point may have had lag 0 (Burrow's rule 1). A commit point's lag is taken
//!    against the log end of the poll before the commit was seen (as Burrow does), so a
//!    consumer current when it commits scores 0 whatever arrived since;
//! 6. OK: consuming.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use super::slots::Maybe;

pub use super::why::Reason;

/// Lag in offsets: `end` − committed, never negative; `None` without a commit.
pub fn offset_lag(end: i64, committed: Option<i64>) -> Option<i64> {
    committed.map(|c| (end - c).max(0))
}

/// Times are seconds after the table's `base` in an `f32` (whole seconds exact for 194
/// days; within a day, to a hundredth of a second), the offset is records after the table's
/// `base_offset`: 12 bytes a point instead of 24, for 60 points of each of 10,000 partitions.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stored {
    offset: u32,
    first: f32,
    last: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    offset: i64,
    first: f64,
    last: f64,
}

/// Bytes of one watermark point and of one commit point (the size report in `sizes_tests`).
#[cfg(test)]
pub(super) const POINT_BYTES: (usize, usize) =
    (std::mem::size_of::<Stored>(), std::mem::size_of::<Kept>());

/// (high watermark, first seen, last seen) points of one partition, oldest first.
#[derive(Debug, Clone, Default)]
pub struct HwmTable {
    points: VecDeque<Stored>,
    base: f64,
    base_offset: i64,
    cap: usize,
}

impl HwmTable {
    pub fn new(cap: usize) -> Self {
        HwmTable {
            points: VecDeque::new(),
            base: 0.0,
            base_offset: 0,
            cap: cap.max(4),
        }
    }

    fn at(&self, i: usize) -> Point {
        let p = self.points[i];
        Point {
            offset: self.base_offset + i64::from(p.offset),
            first: self.base + p.first as f64,
            last: self.base + p.last as f64,
        }
    }

    fn back(&self) -> Option<Point> {
        self.points.len().checked_sub(1).map(|i| self.at(i))
    }

    /// Records the high watermark seen at `t`: a flat watermark moves its point's last-seen
    /// time; a lower one (topic truncated or recreated) starts over.
    pub fn push(&mut self, high: i64, t: f64) {
        match self.back() {
            Some(p) if p.offset == high => {
                if let Some(p) = self.points.back_mut() {
                    p.last = (t - self.base) as f32;
                }
                return;
            }
            Some(p) if high < p.offset => self.points.clear(),
            _ => {}
        }
        self.fit(high);
        if self.points.is_empty() {
            self.base = t;
            self.base_offset = high;
        }
        let rel = (t - self.base) as f32;
        // One more each time (to `cap` + 1): a doubling deque would keep 64 for 60 points.
        self.points.reserve_exact(1);
        self.points.push_back(Stored {
            offset: u32::try_from(high - self.base_offset).unwrap_or(u32::MAX),
            first: rel,
            last: rel,
        });
        if self.points.len() > self.cap {
            // Every other point of the older half goes; the oldest and the newest stay.
            let half = self.points.len() / 2;
            let mut i = 0;
            self.points.retain(|_| {
                let keep = i == 0 || i >= half || i % 2 == 0;
                i += 1;
                keep
            });
        }
    }

    /// Makes room for `high` as an offset after `base_offset`: the points more than
    /// `u32::MAX` records before it go (a table spanning four billion records reaches less
    /// far back) and the rest are counted from the oldest left.
    fn fit(&mut self, high: i64) {
        let span = i64::from(u32::MAX);
        if self.points.is_empty() || high - self.base_offset <= span {
            return;
        }
        while self
            .points
            .front()
            .is_some_and(|p| high - self.base_offset - i64::from(p.offset) > span)
        {
            self.points.pop_front();
        }
        if let Some(shift) = self.points.front().map(|p| p.offset) {
            for p in self.points.iter_mut() {
                p.offset -= shift;
            }
            self.base_offset += i64::from(shift);
        }
    }

    /// Estimated write time of the record at `offset` (see the module comment); the last
    /// time seen for an offset at or past the newest point.
    pub fn time_of(&self, offset: i64) -> Option<f64> {
        let last = self.back()?;
        if offset >= last.offset {
            return Some(last.last);
        }
        let i = self
            .points
            .partition_point(|p| self.base_offset + i64::from(p.offset) <= offset);
        if i == 0 {
            let first = self.at(0);
            let span = last.first - first.first;
            if span <= 0.0 {
                return None;
            }
            let rate = (last.offset - first.offset) as f64 / span;
            return Some(first.first - (first.offset - offset) as f64 / rate);
        }
        let (a, b) = (self.at(i - 1), self.at(i));
        let f = (offset - a.offset) as f64 / (b.offset - a.offset) as f64;
        Some(a.last + f * (b.first - a.last))
    }

    /// Time lag of a consumer at `committed`, at `now`: 0 when caught up.
    pub fn lag_seconds(&self, committed: i64, now: f64) -> Option<f64> {
        let last = self.back()?;
        if committed >= last.offset {
            return Some(0.0);
        }
        self.time_of(committed).map(|t| (now - t).max(0.0))
    }

    /// Messages per second over the newest points (None with fewer than two).
    pub fn rate(&self, now: f64) -> Option<f64> {
        let n = self.points.len();
        if n < 2 {
            return None;
        }
        let from = self.at(n.saturating_sub(10));
        let last = self.at(n - 1);
        let span = now - from.last;
        (span > 0.0).then(|| (last.offset - from.offset) as f64 / span)
    }
}

/// Every partition's table, by topic and partition id (ids run from 0 without gaps): a
/// topic's name once instead of a (name, partition) key per partition.
#[derive(Debug, Default)]
pub struct HwmTables {
    by_topic: HashMap<String, Vec<HwmTable>>,
}

impl HwmTables {
    /// Records `topic[partition]`'s high watermark seen at `t` (a new table keeps `cap`).
    pub fn push(&mut self, topic: &str, partition: i32, high: i64, t: f64, cap: usize) {
        let Ok(i) = usize::try_from(partition) else {
            return;
        };
        if !self.by_topic.contains_key(topic) {
            self.by_topic.insert(topic.to_string(), Vec::new());
        }
        if let Some(v) = self.by_topic.get_mut(topic) {
            if v.len() <= i {
                v.resize_with(i + 1, || HwmTable::new(cap));
            }
            v[i].push(high, t);
        }
    }

    /// A topic's tables, indexed by partition id.
    pub fn topic(&self, topic: &str) -> Option<&[HwmTable]> {
        self.by_topic.get(topic).map(Vec::as_slice)
    }

    pub fn get(&self, topic: &str, partition: i32) -> Option<&HwmTable> {
        self.by_topic
            .get(topic)?
            .get(usize::try_from(partition).ok()?)
    }

    /// Keeps only the partitions that exist: `known` gives each topic's partition count.
    pub fn retain_known(&mut self, known: &HashMap<&str, usize>) {
        self.by_topic.retain(|t, v| match known.get(t.as_str()) {
            Some(&n) => {
                v.truncate(n);
                v.shrink_to_fit();
                true
            }
            None => false,
        });
    }
}

/// Burrow's partition/group statuses, best to worst. Alert rules read the discriminant
/// (`kafka.group.status` ≥ 3 is STALL or STOP), so the order is part of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    #[default]
    Ok,
    Warn,
    Rewind,
    Stall,
    Stop,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Rewind => "REWIND",
            Status::Stall => "STALL",
            Status::Stop => "STOP",
        }
    }
}

/// A commit point: when opsdeck saw the committed offset change, to what, and the lag then.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    pub t: f64,
    pub committed: i64,
    pub lag: i64,
}

/// WARN needs the fitted rise over the window to reach this share of the mean lag...
pub const WARN_MIN_RISE: f64 = 0.10;
/// ...and this many standard errors of the fitted rise...
pub const WARN_MIN_T: f64 = 3.0;
/// ...over at least this many commit points...
pub const WARN_MIN_POINTS: usize = 3;
/// ...for this many windows in a row (one per new commit point): a single window of
/// scattered lags rises by chance about once in fifty, three in a row about once in a
/// thousand.
pub const WARN_STREAK: u32 = 3;

/// A lag trend over a window of commit points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rise {
    /// Fitted lag at the first and the last commit point.
    pub from: f64,
    pub to: f64,
    /// Seconds between them.
    pub span: f64,
}

/// The least-squares trend of lag over `points` when it rises by the WARN thresholds.
pub fn rising(points: &[Obs]) -> Option<Rise> {
    rising_over(points.iter().copied())
}

/// [`rising`] over points read one by one (a track stores them smaller than `Obs`).
fn rising_over<I: Iterator<Item = Obs> + Clone>(points: I) -> Option<Rise> {
    let n = points.clone().count();
    if n < WARN_MIN_POINTS || points.clone().any(|p| p.lag == 0) {
        return None;
    }
    let nf = n as f64;
    let mt = points.clone().map(|p| p.t).sum::<f64>() / nf;
    let ml = points.clone().map(|p| p.lag as f64).sum::<f64>() / nf;
    let sxx: f64 = points.clone().map(|p| (p.t - mt).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = points
        .clone()
        .map(|p| (p.t - mt) * (p.lag as f64 - ml))
        .sum();
    let slope = sxy / sxx;
    let ssr: f64 = points
        .clone()
        .map(|p| (p.lag as f64 - ml - slope * (p.t - mt)).powi(2))
        .sum();
    let mut ts = points.map(|p| p.t);
    let t0 = ts.next()?;
    let t1 = ts.last().unwrap_or(t0);
    let span = t1 - t0;
    let rise = slope * span;
    let se_rise = (ssr / (nf - 2.0) / sxx).sqrt() * span;
    (slope > 0.0 && rise >= WARN_MIN_RISE * ml && rise >= WARN_MIN_T * se_rise).then_some(Rise {
        from: ml + slope * (t0 - mt),
        to: ml + slope * (t1 - mt),
        span,
    })
}

/// What one partition's verdict needs from its group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judge {
    /// Seconds behind without a commit before STALL/STOP; also the window's span.
    pub stall_after: f64,
    /// The group has members.
    pub active: bool,
}

/// A partition's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: Status,
    /// Seen for less than `stall_after`: not judged yet (shown muted, raises nothing).
    pub judging: bool,
    /// Its figures: the text is built when shown (`why`).
    pub reason: Reason,
}

impl Verdict {
    fn new(status: Status, reason: Reason) -> Self {
        Verdict {
            status,
            judging: false,
            reason,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rewind {
    t: f64,
    from: i64,
    to: i64,
}

impl Default for Track {
    fn default() -> Self {
        Track::new(0.0)
    }
}

/// A commit point as a track stores it: its time in `f32` seconds after the track's first
/// sight (see `HwmTable`) and its lag in an `f32` (exact below 16.7 million records, within
/// a ten-millionth above: the lag only feeds the trend's fit and its "was 0" test): 16
/// bytes instead of `Obs`'s 24.
#[derive(Debug, Clone, Copy)]
struct Kept {
    committed: i64,
    lag: f32,
    t: f32,
}

/// "None" of a time kept as `f32` seconds after the first sight.
const NO_T: f32 = f32::NAN;

/// What opsdeck remembers of one partition of one group between polls (80,000 of them at
/// 1,000 groups on 10,000 partitions). Times are `f32` seconds after `first_seen` (NaN:
/// none), optional pairs are split so no field pads another, and the points are kept at
/// exactly their number, and what few partitions ever have (a rewind, an assignment without
/// a commit) is kept out of line: 88 bytes (136, then 112 before) plus 16 a point (24 before).
#[derive(Debug, Clone)]
pub struct Track {
    /// Commit points, oldest first, spanning at least `stall_after`.
    points: Box<[Kept]>,
    first_seen: f64,
    /// When the committed offset was last seen to change (none: not since first seen).
    changed_at: f32,
    /// The last poll that found the partition caught up.
    caught_up_at: f32,
    /// (earliest write time estimated for its record, committed): monotonic lag seconds.
    /// Absolute: an estimate may lie long before the first sight, with fractions.
    written: Maybe<i64>,
    /// The record at `old_before_c` was written before this (a timestamp probe).
    old_before: f32,
    old_before_c: i64,
    /// A rewind seen and an assignment without a commit (None: neither).
    rare: Option<Box<Rare>>,
    /// The log end the previous poll saw (`i64::MIN`: none yet).
    last_end: i64,
    /// Windows in a row, one per new commit point, whose lag trend rose.
    rising_streak: u32,
    /// The last poll that answered for the partition (in what would be padding).
    answered_at: f32,
}

/// The fields of a track that most partitions never set.
#[derive(Debug, Clone, Copy)]
struct Rare {
    /// When, from, to.
    rewind_at: f32,
    rewind: (i64, i64),
    /// Since when assigned to a member but never committed, and the high watermark then.
    uncommitted: f32,
    uncommitted_h: i64,
}

impl Default for Rare {
    fn default() -> Self {
        Rare {
            rewind_at: NO_T,
            rewind: (0, 0),
            uncommitted: NO_T,
            uncommitted_h: 0,
        }
    }
}

impl Track {
    pub fn new(now: f64) -> Self {
        Track {
            points: Box::new([]),
            first_seen: now,
            changed_at: NO_T,
            caught_up_at: NO_T,
            written: Maybe::none(),
            old_before: NO_T,
            old_before_c: 0,
            rare: None,
            last_end: i64::MIN,
            rising_streak: 0,
            answered_at: 0.0,
        }
    }

    fn rare(&self) -> Rare {
        self.rare.as_deref().copied().unwrap_or_default()
    }

    /// Sets the rare fields, dropping their box when none is set.
    fn set_rare(&mut self, r: Rare) {
        self.rare = (!r.rewind_at.is_nan() || !r.uncommitted.is_nan()).then(|| Box::new(r));
    }

    /// Notes that a poll answered for the partition at `now`.
    pub fn answered(&mut self, now: f64) {
        self.answered_at = self.rel(now);
    }

    /// The last poll that answered for the partition (its first sight before any did).
    pub fn answered_at(&self) -> f64 {
        self.first_seen + self.answered_at as f64
    }

    fn rel(&self, t: f64) -> f32 {
        (t - self.first_seen) as f32
    }

    fn abs(&self, r: f32) -> Option<f64> {
        (!r.is_nan()).then_some(self.first_seen + r as f64)
    }

    fn obs(&self, k: Kept) -> Obs {
        Obs {
            t: self.first_seen + k.t as f64,
            committed: k.committed,
            lag: k.lag as i64,
        }
    }

    fn kept(&self, o: Obs) -> Kept {
        Kept {
            committed: o.committed,
            lag: o.lag as f32,
            t: self.rel(o.t),
        }
    }

    fn rising(&self) -> Option<Rise> {
        rising_over(self.points.iter().map(|&k| self.obs(k)))
    }

    /// Records this poll's committed offset and the log end the verdict is judged against.
    /// A commit point's lag is the previous poll's log end − the new committed offset, as
    /// Burrow takes the broker offsets fetched before a commit: a consumer that was current
    /// when it committed scores 0 there, however many records arrived since.
    pub fn observe(&mut self, now: f64, committed: i64, end: i64, stall_after: f64) {
        let lag = (end - committed).max(0);
        let at_commit = match self.last_end {
            i64::MIN => lag,
            e => (e - committed).max(0),
        };
        self.last_end = end;
        let obs = Obs {
            t: now,
            committed,
            lag: at_commit,
        };
        if self.rare.is_some() {
            let r = self.rare();
            self.set_rare(Rare {
                uncommitted: NO_T,
                ..r
            });
        }
        let mut new_point = false;
        match self.points.last().map(|&k| self.obs(k)) {
            None => {
                // A first commit after being seen without one is a commit seen happening.
                if now > self.first_seen {
                    self.changed_at = self.rel(now);
                }
                self.push(Obs { lag, ..obs });
            }
            Some(last) if last.committed == committed => {}
            Some(last) => {
                if committed < last.committed {
                    let r = self.rare();
                    self.set_rare(Rare {
                        rewind_at: self.rel(now),
                        rewind: (last.committed, committed),
                        ..r
                    });
                }
                self.changed_at = self.rel(now);
                // Commits closer together than an eighth of the window replace the newest
                // point (as Burrow's min-distance): about ten points per window, whatever
                // the cadence.
                let n = self.points.len();
                if n >= 2 && now - self.obs(self.points[n - 2]).t < stall_after / 8.0 {
                    self.points[n - 1] = self.kept(obs);
                } else {
                    self.push(obs);
                    new_point = true;
                }
                self.forget_before(now - stall_after);
                self.rising_streak = match self.rising() {
                    None => 0,
                    Some(_) if new_point => self.rising_streak + 1,
                    Some(_) => self.rising_streak,
                };
            }
        }
        if lag == 0 {
            self.caught_up_at = self.rel(now);
        }
        self.forget_before(now - stall_after);
    }

    /// Adds a point, growing the storage by one (a window holds about ten: a doubling
    /// `Vec` would keep up to sixteen).
    fn push(&mut self, obs: Obs) {
        let k = self.kept(obs);
        let mut v = std::mem::take(&mut self.points).into_vec();
        v.reserve_exact(1);
        v.push(k);
        self.points = v.into_boxed_slice();
    }

    /// Drops the points before the window (the last one before it stays: it dates the start).
    fn forget_before(&mut self, start: f64) {
        let old = self
            .points
            .iter()
            .skip(1)
            .take_while(|&&k| self.obs(k).t <= start)
            .count();
        let old = old.min(self.points.len().saturating_sub(2));
        if old > 0 {
            let mut v = std::mem::take(&mut self.points).into_vec();
            v.drain(..old);
            self.points = v.into_boxed_slice();
        }
    }

    /// No committed offset this poll: remembers since when the partition has been assigned
    /// without one, and the high watermark then.
    pub fn observe_uncommitted(&mut self, now: f64, assigned: bool, high: i64) {
        let r = self.rare();
        if !assigned {
            if self.rare.is_some() {
                self.set_rare(Rare {
                    uncommitted: NO_T,
                    ..r
                });
            }
        } else if r.uncommitted.is_nan() {
            self.set_rare(Rare {
                uncommitted: self.rel(now),
                uncommitted_h: high,
                ..r
            });
        }
    }

    /// Seconds assigned without a commit while records arrived (a consumer reset to the
    /// latest offset on a silent partition has nothing to commit, which is no fault).
    pub fn uncommitted_for(&self, now: f64, high: i64) -> Option<f64> {
        let r = self.rare();
        self.abs(r.uncommitted)
            .filter(|_| high > r.uncommitted_h)
            .map(|t| now - t)
    }

    /// Lag seconds from the table's write-time estimate `written` for the record at
    /// `committed`; never less than before while `committed` stays put.
    pub fn lag_seconds(
        &mut self,
        committed: i64,
        lag: i64,
        written: Option<f64>,
        now: f64,
    ) -> Option<f64> {
        if lag == 0 {
            self.written = Maybe::none();
            return Some(0.0);
        }
        let w = match (self.written.get(), written) {
            (Some((prev, c)), Some(new)) if c == committed => prev.min(new),
            (Some((prev, c)), None) if c == committed => prev,
            (_, Some(new)) => new,
            (_, None) => {
                self.written = Maybe::none();
                return None;
            }
        };
        self.written = Maybe::some(w, committed);
        Some((now - w).max(0.0))
    }

    /// A timestamp probe found the record at `committed` written before `t`.
    pub fn note_written_before(&mut self, committed: i64, t: f64) {
        let t = match self.abs(self.old_before) {
            Some(prev) if self.old_before_c == committed => prev.max(t),
            _ => t,
        };
        self.old_before = self.rel(t);
        self.old_before_c = committed;
    }

    /// Seconds since the committed offset last moved, and whether a move was seen (if not,
    /// the seconds since first seen: commit times before that are not known).
    pub fn idle(&self, now: f64) -> (f64, bool) {
        match self.abs(self.changed_at) {
            Some(t) => (now - t, true),
            None => (now - self.first_seen, false),
        }
    }

    /// Seconds with nothing consumed at `committed`, from what opsdeck saw and what a
    /// timestamp probe proved; true when the probe is what proves the most.
    pub fn unconsumed_for(&self, now: f64, committed: i64) -> (f64, bool) {
        let (seen, _) = self.idle(now);
        match self.abs(self.old_before) {
            Some(t) if self.old_before_c == committed && now - t > seen => (now - t, true),
            _ => (seen, false),
        }
    }

    /// The commit points of the window, oldest first.
    pub fn points(&self) -> impl Iterator<Item = Obs> + '_ {
        self.points.iter().map(|&k| self.obs(k))
    }

    /// The verdict at `now` for the current `lag` (see the module comment for the rules).
    pub fn evaluate(&self, now: f64, lag: i64, j: Judge) -> Verdict {
        let r = self.rare();
        let rewind = self.abs(r.rewind_at).map(|t| Rewind {
            t,
            from: r.rewind.0,
            to: r.rewind.1,
        });
        if let Some(r) = rewind.filter(|r| now - r.t < j.stall_after) {
            return Verdict::new(
                Status::Rewind,
                Reason::Rewind {
                    from: r.from,
                    to: r.to,
                    ago: now - r.t,
                },
            );
        }
        if lag == 0 {
            return Verdict::new(Status::Ok, Reason::CaughtUp);
        }
        let (idle, seen) = self.idle(now);
        let behind_since = self
            .abs(self.caught_up_at)
            .map_or(now - idle, |c| c.max(now - idle));
        let behind = now - behind_since;
        if behind >= j.stall_after {
            let reason = Reason::NoCommit {
                idle,
                lag,
                behind: if idle - behind >= 1.0 {
                    behind
                } else {
                    f64::NAN
                },
                seen,
                active: j.active,
            };
            return if j.active {
                Verdict::new(Status::Stall, reason)
            } else {
                Verdict::new(Status::Stop, reason)
            };
        }
        let watched = now - self.first_seen;
        if watched < j.stall_after {
            return Verdict {
                status: Status::Ok,
                judging: true,
                reason: Reason::Judging {
                    watched,
                    stall_after: j.stall_after,
                    lag,
                },
            };
        }
        if let Some(r) = self.rising().filter(|_| self.rising_streak >= WARN_STREAK) {
            return Verdict::new(
                Status::Warn,
                Reason::Rising {
                    span: r.span,
                    from: r.from.round() as i64,
                    to: r.to.round() as i64,
                },
            );
        }
        let caught_up = match (seen, self.abs(self.caught_up_at)) {
            (true, _) | (false, None) => f64::NAN,
            (false, Some(c)) => now - c,
        };
        Verdict::new(
            Status::Ok,
            Reason::Consuming {
                lag,
                idle,
                caught_up,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::fmt;

    const STALL: f64 = 300.0;

    fn judge(active: bool) -> Judge {
        Judge {
            stall_after: STALL,
            active,
        }
    }

    /// 5 records/s.
    fn steady(t: f64) -> i64 {
        1000 + (5.0 * t) as i64
    }

    /// Bursts: 20 records/s for the first 10 s of every minute, 1/s for the other 50.
    fn bursty(t: f64) -> i64 {
        let m = t.rem_euclid(60.0);
        1000 + 250 * (t / 60.0).floor() as i64 + (20.0 * m.min(10.0) + (m - 10.0).max(0.0)) as i64
    }

    /// A consumer that commits what it has read every `cadence` seconds (first at `phase`)
    /// until `stop_at`, on a topic written as `high` says, polled every 2 s for `secs`:
    /// (t, committed, lag, verdict) of every poll.
    fn simulate(
        high: fn(f64) -> i64,
        cadence: f64,
        phase: f64,
        stop_at: f64,
        active: bool,
        secs: f64,
    ) -> Vec<(f64, i64, i64, Verdict)> {
        let mut track = Track::new(0.0);
        let mut out = Vec::new();
        let mut t = 0.0;
        while t <= secs {
            let last_commit = ((t.min(stop_at) - phase) / cadence).floor() * cadence + phase;
            let committed = high(last_commit);
            let lag = high(t) - committed;
            track.observe(t, committed, high(t), STALL);
            out.push((t, committed, lag, track.evaluate(t, lag, judge(active))));
            t += 2.0;
        }
        out
    }

    #[test]
    fn lag_is_never_negative_and_none_without_commit() {
        assert_eq!(offset_lag(100, Some(40)), Some(60));
        assert_eq!(offset_lag(100, Some(120)), Some(0));
        assert_eq!(offset_lag(100, None), None);
    }

    #[test]
    fn time_lag_interpolates_from_last_seen_to_first_seen() {
        let mut t = HwmTable::new(10);
        t.push(0, 100.0);
        t.push(100, 110.0);
        t.push(100, 115.0); // flat: 100 last seen at 115
        t.push(300, 120.0);
        // Records 0..100 were written between 100 (0 last seen) and 110 (100 first seen).
        assert_eq!(t.time_of(50), Some(105.0));
        // Records 100..300 between 115 and 120.
        assert_eq!(t.time_of(100), Some(115.0));
        assert_eq!(t.time_of(200), Some(117.5));
        assert_eq!(t.lag_seconds(200, 130.0), Some(12.5));
        assert_eq!(t.lag_seconds(300, 130.0), Some(0.0));
    }

    #[test]
    fn quiet_topic_one_record_behind_is_a_refresh_behind_not_an_hour() {
        let mut t = HwmTable::new(60);
        let mut now = 0.0;
        while now < 3600.0 {
            t.push(100, now); // silent for an hour
            now += 2.0;
        }
        t.push(101, 3600.0); // one record arrives
        // The consumer still at 100: written after 3598 (last seen at 100).
        assert_eq!(t.lag_seconds(100, 3602.0), Some(4.0));
        assert_eq!(t.lag_seconds(101, 3602.0), Some(0.0));
    }

    #[test]
    fn time_lag_extrapolates_below_the_table_and_thins_instead_of_forgetting() {
        let mut t = HwmTable::new(4);
        for i in 0..=20 {
            t.push(i * 100, i as f64 * 10.0); // 10 records/s
        }
        assert!(t.points.len() <= 5, "{:?}", t.points);
        assert_eq!(t.points.front().map(|p| p.offset), Some(0), "oldest kept");
        // Thinned but linear, so still exact.
        assert!(t.time_of(550).is_some_and(|x| (x - 55.0).abs() < 1e-9));
        let mut one = HwmTable::new(5);
        one.push(100, 10.0);
        assert_eq!(one.lag_seconds(50, 20.0), None);
        assert_eq!(one.lag_seconds(100, 20.0), Some(0.0));
        let mut two = HwmTable::new(5);
        two.push(100, 10.0);
        two.push(200, 20.0);
        assert_eq!(two.time_of(50), Some(5.0));
    }

    #[test]
    fn rate_from_watermark_deltas() {
        let mut t = HwmTable::new(5);
        t.push(0, 0.0);
        t.push(50, 5.0);
        assert_eq!(t.rate(10.0), Some(5.0));
    }

    #[test]
    fn a_table_spanning_billions_of_records_keeps_its_newest_points() {
        let big = i64::from(u32::MAX);
        let mut t = HwmTable::new(60);
        t.push(10, 0.0);
        t.push(1_000, 10.0);
        // 10 is more than u32::MAX records before this one: it goes, 1,000 stays.
        t.push(big + 500, 20.0);
        t.push(big + 600, 30.0);
        assert_eq!(t.points.len(), 3);
        assert_eq!(t.time_of(1_000), Some(10.0));
        assert_eq!(t.time_of(big + 500), Some(20.0));
        assert_eq!(t.time_of(big + 550), Some(25.0));
        assert_eq!(t.time_of(big + 600), Some(30.0));
        // Rate over the points kept: (big + 600 − 1,000) records in 20 s.
        let r = t.rate(30.0).expect("rate");
        assert!((r - (big - 400) as f64 / 20.0).abs() < 1.0, "{r}");
    }

    #[test]
    fn lag_seconds_never_go_backwards_while_the_consumer_stands_still() {
        // A bursty topic (1 000 records at once every 5 minutes, silence between) in a small
        // table that thins; the consumer is stuck at offset 500 of the first burst.
        let mut tab = HwmTable::new(4);
        tab.push(0, -2.0);
        let mut track = Track::new(0.0);
        let mut last = 0.0;
        let mut now: f64 = 0.0;
        while now <= 3600.0 {
            let high = 1000 * (1 + (now / 300.0).floor() as i64);
            tab.push(high, now);
            let lag = high - 500;
            let s = track
                .lag_seconds(500, lag, tab.time_of(500), now)
                .expect("known");
            assert!(s >= last, "lag seconds went back at {now}: {last} → {s}");
            last = s;
            now += 2.0;
        }
        // Record 500 was written between -2 and 0 (the first burst): estimated at -1.
        assert_eq!(last, 3601.0);
        // Once the consumer moves, the estimate starts over from its new offset.
        let s = track.lag_seconds(5000, 1000, tab.time_of(5000), now);
        assert!(s.is_some_and(|s| s < 3600.0), "{s:?}");
        assert_eq!(track.lag_seconds(12_000, 0, None, now), Some(0.0));
    }

    #[test]
    fn commits_every_30s_or_60s_stay_ok_whatever_happens_between_them() {
        for cadence in [30.0, 60.0] {
            let polls = simulate(bursty, cadence, 7.0, f64::INFINITY, true, 900.0);
            for (t, _, lag, v) in &polls {
                assert_eq!(v.status, Status::Ok, "cadence {cadence} at {t}: {v:?}");
                assert_eq!(v.judging, *t < STALL, "cadence {cadence} at {t}: {v:?}");
                assert!(*lag > 0);
            }
            let (_, _, lag, first) = &polls[1];
            assert_eq!(
                first.reason.to_string(),
                format!("judging… 2s of 5m00s seen, lag {}", fmt::thousands(*lag))
            );
            let (_, _, lag, v) = polls.last().expect("polled");
            assert!(
                v.reason
                    .to_string()
                    .starts_with(&format!("consuming, lag {lag}, last commit ")),
                "{v:?}"
            );
        }
    }

    #[test]
    fn stopped_commits_turn_stop_or_stall_after_stall_after_with_the_real_idle_time() {
        // Last commit at 97 s (seen by the poll at 98 s), then nothing.
        let polls = simulate(steady, 30.0, 7.0, 120.0, false, 600.0);
        let first_stop = polls
            .iter()
            .position(|(_, _, _, v)| v.status != Status::Ok)
            .expect("stops");
        let (t, _, lag, v) = &polls[first_stop];
        assert_eq!(*t, 398.0, "{v:?}");
        assert_eq!(v.status, Status::Stop);
        assert_eq!(
            v.reason.to_string(),
            format!(
                "no commit for 5m00s, lag {}, no members",
                fmt::thousands(*lag)
            )
        );
        assert_eq!(*lag, 1505);
        let (_, _, _, before) = &polls[first_stop - 1];
        assert_eq!(
            before.reason.to_string(),
            "consuming, lag 1,495, last commit 4m58s ago"
        );
        let (_, _, lag, v) = polls.last().expect("polled");
        assert_eq!(
            v.reason.to_string(),
            format!(
                "no commit for 8m22s, lag {}, no members",
                fmt::thousands(*lag)
            )
        );
        // With members still in the group: STALL.
        let polls = simulate(steady, 30.0, 7.0, 120.0, true, 400.0);
        let (_, _, lag, v) = polls.last().expect("polled");
        assert_eq!(v.status, Status::Stall);
        assert_eq!(
            v.reason.to_string(),
            format!(
                "no commit for 5m02s, lag {}, consumers present",
                fmt::thousands(*lag)
            )
        );
    }

    #[test]
    fn a_partition_first_seen_stuck_says_what_can_be_known() {
        let mut track = Track::new(0.0);
        let mut t = 0.0;
        while t <= 300.0 {
            track.observe(t, 40, 100, STALL);
            t += 10.0;
        }
        let v = track.evaluate(300.0, 60, judge(false));
        assert_eq!(v.status, Status::Stop);
        assert_eq!(
            v.reason.to_string(),
            "no commit in the 5m00s opsdeck has watched (earlier commit times are not known), lag 60, no members"
        );
        assert_eq!(track.idle(300.0), (300.0, false));
    }

    #[test]
    fn a_quiet_topic_waits_for_records_before_the_stall_clock_runs() {
        // Caught up at 100 for an hour, then one record: the consumer has not had time.
        let mut track = Track::new(0.0);
        let mut t = 0.0;
        while t < 3600.0 {
            track.observe(t, 100, 100, STALL);
            t += 2.0;
        }
        track.observe(3600.0, 100, 101, STALL);
        let v = track.evaluate(3600.0, 1, judge(true));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.reason.to_string(), "consuming, lag 1, caught up 2s ago");
        // Still not read 5 minutes later: now it is a stall, and the reason says both.
        track.observe(3900.0, 100, 101, STALL);
        let v = track.evaluate(3900.0, 1, judge(true));
        assert_eq!(v.status, Status::Stall);
        assert_eq!(
            v.reason.to_string(),
            "no commit in the 1h05m opsdeck has watched (earlier commit times are not known), lag 1 (behind for 5m02s), consumers present"
        );
    }

    #[test]
    fn warn_on_a_rising_trend_only() {
        let pts = |lags: &[i64]| -> Vec<Obs> {
            lags.iter()
                .enumerate()
                .map(|(i, &lag)| Obs {
                    t: i as f64 * 60.0,
                    committed: 1000 * i as i64,
                    lag,
                })
                .collect()
        };
        let r = rising(&pts(&[100, 210, 290, 405, 500, 610])).expect("rising");
        assert_eq!(
            (r.from.round(), r.to.round(), r.span),
            (100.0, 605.0, 300.0)
        );
        // The scatter of lag at commit time is not a trend: this one's line rises 19% of
        // the mean, but by 1.3 standard errors only.
        assert_eq!(rising(&pts(&[40, 12, 55, 8, 60, 20])), None);
        assert_eq!(rising(&pts(&[30, 35, 28, 40, 33, 38])), None);
        // Rising then falling back: catching up.
        assert_eq!(rising(&pts(&[100, 300, 500, 400, 200, 100])), None);
        // A perfect line, but only 5% over the window.
        assert_eq!(
            rising(&pts(&[10_000, 10_100, 10_200, 10_300, 10_400, 10_500])),
            None
        );
        // Caught up once in the window: OK (Burrow's rule 1).
        assert_eq!(rising(&pts(&[0, 210, 290, 405, 500, 610])), None);
        assert_eq!(rising(&pts(&[100, 200])), None);

        // Through the track, polled every 2 s: 10 records/s written, 9 read, a commit
        // every 30 s. Judged at 5 minutes; WARN once three windows in a row rose.
        let mut track = Track::new(0.0);
        let mut first_warn = None;
        let mut t: f64 = 0.0;
        while t <= 600.0 {
            let end = 100 + (10.0 * t) as i64;
            let committed = (9.0 * (t / 30.0).floor() * 30.0) as i64;
            track.observe(t, committed, end, STALL);
            let v = track.evaluate(t, end - committed, judge(true));
            if v.status == Status::Warn && first_warn.is_none() {
                first_warn = Some((t, v.reason.to_string()));
            }
            assert!(v.status <= Status::Warn, "{t}: {v:?}");
            t += 2.0;
        }
        let (t, why) = first_warn.expect("warned");
        assert_eq!(t, 300.0);
        assert_eq!(why, "lag rising over the last 5m00s of commits: 86 → 377");
        // The same consumer keeping up (reads 10/s) never warns.
        let mut track = Track::new(0.0);
        let mut t: f64 = 0.0;
        while t <= 600.0 {
            let end = 100 + (10.0 * t) as i64;
            let committed = 100 + (10.0 * (t / 30.0).floor() * 30.0) as i64;
            track.observe(t, committed, end, STALL);
            let v = track.evaluate(t, end - committed, judge(true));
            assert_eq!(v.status, Status::Ok, "{t}: {v:?}");
            t += 2.0;
        }
    }

    #[test]
    fn rewind_is_reported_for_a_window_then_clears() {
        let mut track = Track::new(0.0);
        track.observe(0.0, 500, 510, STALL);
        track.observe(30.0, 520, 530, STALL);
        track.observe(60.0, 100, 530, STALL);
        let v = track.evaluate(90.0, 430, judge(true));
        assert_eq!(v.status, Status::Rewind);
        assert_eq!(
            v.reason.to_string(),
            "committed offset moved back from 520 to 100 30s ago"
        );
        let mut t = 90.0;
        let mut c = 100;
        while t <= 400.0 {
            c += 100;
            track.observe(t, c, c + 300, STALL);
            t += 30.0;
        }
        let v = track.evaluate(400.0, 300, judge(true));
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn uncommitted_assignment_counts_only_while_records_arrive() {
        let mut track = Track::new(0.0);
        track.observe_uncommitted(0.0, true, 100);
        track.observe_uncommitted(400.0, true, 100);
        assert_eq!(track.uncommitted_for(400.0, 100), None, "silent partition");
        assert_eq!(track.uncommitted_for(400.0, 130), Some(400.0));
        track.observe(410.0, 130, 130, STALL);
        assert_eq!(track.uncommitted_for(420.0, 140), None);
        // The first commit after being seen without one counts as a commit seen.
        assert_eq!(track.idle(420.0), (10.0, true));
    }

    #[test]
    fn commit_points_stay_about_ten_per_window_whatever_the_cadence() {
        let mut track = Track::new(0.0);
        for i in 0..1200 {
            track.observe(i as f64, i, i + 5, STALL); // a commit every second
        }
        let n = track.points().count();
        assert!((8..=12).contains(&n), "{n} points");
        let first = track.points().next().expect("points").t;
        assert!(1199.0 - first >= STALL, "window spans {first}..1199");
    }

    #[test]
    fn a_track_is_small() {
        assert!(
            std::mem::size_of::<Track>() <= 88,
            "{}",
            std::mem::size_of::<Track>()
        );
        assert_eq!(std::mem::size_of::<Kept>(), 16);
    }

    #[test]
    fn statuses_order_is_the_alert_contract() {
        assert_eq!(Status::Stall as u8, 3);
        assert!(Status::Stop > Status::Stall && Status::Stall > Status::Warn);
    }
}
