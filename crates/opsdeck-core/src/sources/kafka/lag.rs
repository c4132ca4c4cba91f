//! Lag maths, pure: offset lag, time lag by interpolation over a sliding table of
//! (high watermark, time) points per partition (as kafka-lag-exporter does), and a status
//! verdict after Burrow's evaluation rules over a sliding window of observed commits.

use std::collections::VecDeque;

use serde::Serialize;

/// Lag in offsets: high watermark − committed, never negative; `None` without a commit.
pub fn offset_lag(high: i64, committed: Option<i64>) -> Option<i64> {
    committed.map(|c| (high - c).max(0))
}

/// Sliding table of (high watermark, unix seconds) points of one partition.
#[derive(Debug, Clone, Default)]
pub struct HwmTable {
    points: VecDeque<(i64, f64)>,
    cap: usize,
}

impl HwmTable {
    pub fn new(cap: usize) -> Self {
        HwmTable {
            points: VecDeque::new(),
            cap: cap.max(2),
        }
    }

    /// Records the high watermark seen at `t`. A flat watermark keeps the first time it was
    /// reached (that is when the offset was produced); older points slide out.
    pub fn push(&mut self, high: i64, t: f64) {
        match self.points.back() {
            Some(&(h, _)) if h == high => return,
            Some(&(h, _)) if high < h => self.points.clear(), // truncated/recreated topic
            _ => {}
        }
        self.points.push_back((high, t));
        while self.points.len() > self.cap {
            self.points.pop_front();
        }
    }

    /// Estimated time at which `offset` was the high watermark: interpolated between the
    /// points around it, extrapolated from the table's rate below its oldest point.
    pub fn time_of(&self, offset: i64) -> Option<f64> {
        let &(last_o, last_t) = self.points.back()?;
        if offset >= last_o {
            return Some(last_t);
        }
        let pts: Vec<_> = self.points.iter().copied().collect();
        for w in pts.windows(2) {
            let ((o1, t1), (o2, t2)) = (w[0], w[1]);
            if offset >= o1 && offset <= o2 {
                let f = (offset - o1) as f64 / (o2 - o1) as f64;
                return Some(t1 + f * (t2 - t1));
            }
        }
        let &(first_o, first_t) = self.points.front()?;
        if pts.len() < 2 || last_o == first_o {
            return None;
        }
        let rate = (last_o - first_o) as f64 / (last_t - first_t);
        (rate > 0.0).then(|| first_t - (first_o - offset) as f64 / rate)
    }

    /// Time lag of a consumer at `committed`, at time `now`: 0 when caught up.
    pub fn lag_seconds(&self, committed: i64, now: f64) -> Option<f64> {
        let &(last_o, _) = self.points.back()?;
        if committed >= last_o {
            return Some(0.0);
        }
        self.time_of(committed).map(|t| (now - t).max(0.0))
    }

    /// Messages per second over the table (None with fewer than two points).
    pub fn rate(&self, now: f64) -> Option<f64> {
        let &(first_o, first_t) = self.points.front()?;
        let &(last_o, _) = self.points.back()?;
        let span = now - first_t;
        (self.points.len() >= 2 && span > 0.0).then(|| (last_o - first_o) as f64 / span)
    }
}

/// Burrow's partition/group statuses, best to worst.
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

/// One observation of a partition: committed offset, its lag, and when it was seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    pub t: f64,
    pub committed: i64,
    pub lag: i64,
}

/// Burrow's rules over a window of observations (oldest first), `window` = how many make a
/// complete window, `active` = the group has members:
/// 1. an incomplete window is OK (not enough data);
/// 2. the latest lag is 0 → OK;
/// 3. the committed offset went back → REWIND;
/// 4. the offset did not move across the whole window while lag > 0 → STOP when the group
///    has no members (commits stopped), STALL when members are there but stuck;
/// 5. offsets move but lag rose at every step → WARN;
/// 6. otherwise OK.
pub fn evaluate(obs: &[Obs], window: usize, active: bool) -> (Status, String) {
    let w = &obs[obs.len().saturating_sub(window.max(2))..];
    let Some(last) = w.last() else {
        return (Status::Ok, "no commits seen yet".into());
    };
    if w.windows(2).any(|p| p[1].committed < p[0].committed) {
        let p = w
            .windows(2)
            .rfind(|p| p[1].committed < p[0].committed)
            .map(|p| (p[0].committed, p[1].committed))
            .unwrap_or_default();
        return (
            Status::Rewind,
            format!("committed offset moved back from {} to {}", p.0, p.1),
        );
    }
    if last.lag == 0 {
        return (Status::Ok, "caught up".into());
    }
    if w.len() < window.max(2) {
        return (
            Status::Ok,
            format!(
                "{} of {} observations, not enough to judge",
                w.len(),
                window
            ),
        );
    }
    let first = w[0];
    let span = last.t - first.t;
    if first.committed == last.committed {
        return if active {
            (
                Status::Stall,
                format!(
                    "offset stuck at {} for {:.0}s while lag is {} (consumers present)",
                    last.committed, span, last.lag
                ),
            )
        } else {
            (
                Status::Stop,
                format!(
                    "no commits for {:.0}s, lag {} and no members in the group",
                    span, last.lag
                ),
            )
        };
    }
    if w.windows(2).all(|p| p[1].lag > p[0].lag) {
        return (
            Status::Warn,
            format!("lag rising over the window: {} → {}", first.lag, last.lag),
        );
    }
    (Status::Ok, "consuming".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(v: &[(i64, i64)]) -> Vec<Obs> {
        v.iter()
            .enumerate()
            .map(|(i, &(c, l))| Obs {
                t: i as f64 * 10.0,
                committed: c,
                lag: l,
            })
            .collect()
    }

    #[test]
    fn lag_is_never_negative_and_none_without_commit() {
        assert_eq!(offset_lag(100, Some(40)), Some(60));
        assert_eq!(offset_lag(100, Some(120)), Some(0));
        assert_eq!(offset_lag(100, None), None);
    }

    #[test]
    fn time_lag_interpolates_between_points() {
        let mut t = HwmTable::new(10);
        t.push(0, 100.0);
        t.push(100, 110.0);
        t.push(100, 115.0); // flat: keeps 110
        t.push(300, 120.0);
        assert_eq!(t.time_of(50), Some(105.0));
        assert_eq!(t.time_of(200), Some(115.0));
        assert_eq!(t.lag_seconds(200, 130.0), Some(15.0));
        assert_eq!(t.lag_seconds(300, 130.0), Some(0.0));
        assert_eq!(t.time_of(100), Some(110.0));
    }

    #[test]
    fn time_lag_extrapolates_below_the_table_and_slides() {
        let mut t = HwmTable::new(2);
        t.push(100, 10.0);
        t.push(200, 20.0);
        t.push(300, 30.0); // 100@10 slides out
        assert_eq!(t.time_of(100), Some(10.0));
        assert_eq!(t.lag_seconds(100, 40.0), Some(30.0));
        let mut one = HwmTable::new(5);
        one.push(100, 10.0);
        assert_eq!(one.lag_seconds(50, 20.0), None);
        assert_eq!(one.lag_seconds(100, 20.0), Some(0.0));
    }

    #[test]
    fn rate_from_watermark_deltas() {
        let mut t = HwmTable::new(5);
        t.push(0, 0.0);
        t.push(50, 5.0);
        assert_eq!(t.rate(10.0), Some(5.0));
    }

    #[test]
    fn burrow_rules() {
        let w = 3;
        assert_eq!(evaluate(&[], w, true).0, Status::Ok);
        assert_eq!(evaluate(&obs(&[(5, 3)]), w, true).0, Status::Ok);
        assert_eq!(
            evaluate(&obs(&[(5, 3), (5, 4), (5, 9)]), w, true).0,
            Status::Stall
        );
        let (s, why) = evaluate(&obs(&[(5, 3), (5, 4), (5, 9)]), w, false);
        assert_eq!(s, Status::Stop);
        assert!(why.contains("no commits for 20s"), "{why}");
        assert_eq!(
            evaluate(&obs(&[(5, 3), (6, 4), (7, 9)]), w, true).0,
            Status::Warn
        );
        assert_eq!(
            evaluate(&obs(&[(5, 3), (8, 4), (9, 2)]), w, true).0,
            Status::Ok
        );
        assert_eq!(
            evaluate(&obs(&[(5, 3), (9, 4), (2, 2)]), w, true).0,
            Status::Rewind
        );
        assert_eq!(
            evaluate(&obs(&[(5, 3), (5, 3), (5, 0)]), w, false).0,
            Status::Ok
        );
        // Only the last `window` observations count.
        assert_eq!(
            evaluate(&obs(&[(1, 1), (5, 3), (6, 2), (7, 1)]), w, true).0,
            Status::Ok
        );
        assert!(Status::Stop > Status::Stall && Status::Stall > Status::Warn);
    }
}
