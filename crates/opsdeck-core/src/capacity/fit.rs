//! A bounded time series per figure (one point per minute) and the least-squares line
//! through it.

use std::collections::BTreeMap;

/// Points are kept one per this many seconds: the last value seen in each minute.
pub const STEP_SECS: f64 = 60.0;

/// One figure's history: minute → (time, value), at most `cap` minutes.
#[derive(Debug, Clone, Default)]
pub struct Series {
    points: BTreeMap<i64, (f64, f64)>,
}

impl Series {
    /// Records `value` at `t` (Unix seconds); a later value in the same minute replaces the
    /// earlier one; minutes older than `window` before the newest are dropped.
    pub fn push(&mut self, t: f64, value: f64, window: f64) {
        if !(t.is_finite() && value.is_finite()) {
            return;
        }
        let minute = (t / STEP_SECS).floor() as i64;
        let keep = match self.points.get(&minute) {
            Some((old_t, _)) => t >= *old_t,
            None => true,
        };
        if keep {
            self.points.insert(minute, (t, value));
        }
        let newest = self.newest_time().unwrap_or(t);
        let oldest = ((newest - window) / STEP_SECS).floor() as i64;
        self.points = self.points.split_off(&oldest);
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn newest_time(&self) -> Option<f64> {
        self.points.values().next_back().map(|p| p.0)
    }

    pub fn oldest_time(&self) -> Option<f64> {
        self.points.values().next().map(|p| p.0)
    }

    /// The points from `since` on, oldest first.
    pub fn since(&self, since: f64) -> Vec<(f64, f64)> {
        self.points
            .values()
            .filter(|(t, _)| *t >= since)
            .copied()
            .collect()
    }
}

/// A straight line fitted by ordinary least squares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Growth per second.
    pub slope: f64,
    /// The line's value at the newest point's time.
    pub now: f64,
    /// Seconds between the first and the last point.
    pub span: f64,
    pub points: usize,
}

/// The least-squares line through `points` (time, value); None for fewer than two points or
/// a zero time span.
pub fn least_squares(points: &[(f64, f64)]) -> Option<Line> {
    let n = points.len();
    if n < 2 {
        return None;
    }
    // Centred on the means: the sums stay small with Unix times of 1.7e9 s.
    let mt = points.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let mv = points.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let (mut stt, mut stv) = (0.0, 0.0);
    for (t, v) in points {
        stt += (t - mt) * (t - mt);
        stv += (t - mt) * (v - mv);
    }
    if stt <= 0.0 {
        return None;
    }
    let slope = stv / stt;
    let first = points.first()?.0;
    let last = points.last()?.0;
    Some(Line {
        slope,
        now: mv + slope * (last - mt),
        span: last - first,
        points: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_point_per_minute_and_bounded() {
        let mut s = Series::default();
        for i in 0..600 {
            // Every 10 s for 100 minutes: 100 minutes, the last value of each.
            s.push(1_700_000_000.0 + i as f64 * 10.0, i as f64, 3600.0);
        }
        assert!(s.len() <= 61, "{}", s.len());
        assert_eq!(s.since(0.0).last().map(|p| p.1), Some(599.0));
        let span = s.newest_time().unwrap() - s.oldest_time().unwrap();
        assert!((3500.0..=3600.0).contains(&span), "{span}");
    }

    #[test]
    fn a_line_through_a_line_is_itself() {
        let pts: Vec<(f64, f64)> = (0..50)
            .map(|i| (1.7e9 + i as f64 * 60.0, 1000.0 + 2.0 * i as f64 * 60.0))
            .collect();
        let l = least_squares(&pts).unwrap();
        assert!((l.slope - 2.0).abs() < 1e-9, "{l:?}");
        assert!((l.now - (1000.0 + 2.0 * 49.0 * 60.0)).abs() < 1e-6, "{l:?}");
        assert_eq!(l.points, 50);
        assert!(least_squares(&pts[..1]).is_none());
    }
}
