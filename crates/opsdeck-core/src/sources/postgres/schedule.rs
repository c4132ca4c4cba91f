//! Per-figure schedules: a heavy figure is read when its interval has passed and kept, with
//! its age, in between. opsdeck is opened when the database struggles; what it costs the
//! server then matters.

use std::time::{Duration, Instant};

/// Default interval of the heavy figures (`slow_refresh`).
pub const DEFAULT_SLOW: Duration = Duration::from_secs(30);

/// A figure read on the slow schedule: its last value, when it was read, and the error of
/// the last attempt if that failed (the previous value is kept).
#[derive(Debug, Clone, Default)]
pub struct Slow<T> {
    pub value: T,
    pub at: Option<Instant>,
    pub error: Option<String>,
    tried: Option<Instant>,
}

impl<T> Slow<T> {
    /// Whether it is time to read it again (never read, or `every` since the last try).
    pub fn due(&self, now: Instant, every: Duration) -> bool {
        self.tried
            .is_none_or(|t| now.saturating_duration_since(t) >= every)
    }

    /// Seconds since the value was read.
    pub fn age(&self, now: Instant) -> Option<f64> {
        self.at
            .map(|t| now.saturating_duration_since(t).as_secs_f64())
    }

    /// Records a read: the new value, or the error (keeping the old value).
    pub fn set(&mut self, now: Instant, r: Result<T, String>) {
        self.tried = Some(now);
        match r {
            Ok(v) => {
                self.value = v;
                self.at = Some(now);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Read it at the next poll whatever the schedule says (after a reconnect).
    pub fn expire(&mut self) {
        self.tried = None;
    }
}

/// The heavy reads (statements, index advice, a share of database sizes: 30-60 ms each at
/// 200 databases and 2,000 sessions) fall due together: at most one of them a poll after
/// the first, so no poll pays for all. One that has to wait stays due and goes at a later
/// poll. With a slow interval under `SPREAD_FROM` (tests, or a user who wants every figure
/// every poll) there is nothing to spread over: all run when due.
#[derive(Debug, Default)]
pub struct Heavy {
    spent: bool,
    warmed: bool,
    spread: bool,
}

/// The shortest slow interval over which heavy reads are spread.
pub const SPREAD_FROM: Duration = Duration::from_secs(5);

impl Heavy {
    /// A new poll: its one heavy read is free again.
    pub fn begin(&mut self, every: Duration) {
        self.spent = false;
        self.spread = every >= SPREAD_FROM;
    }

    /// The first poll is over: from now on one heavy read a poll.
    pub fn end(&mut self) {
        self.warmed = true;
    }

    /// Whether a heavy read may run in this poll; if so it takes the poll's turn.
    pub fn claim(&mut self) -> bool {
        if !self.warmed || !self.spread {
            return true;
        }
        !std::mem::replace(&mut self.spent, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_on_first_poll_then_after_the_interval_only() {
        let t0 = Instant::now();
        let every = Duration::from_secs(30);
        let mut s: Slow<u32> = Slow::default();
        assert!(s.due(t0, every));
        s.set(t0, Ok(7));
        assert!(!s.due(t0 + Duration::from_secs(29), every));
        assert!(s.due(t0 + every, every));
        assert_eq!(s.age(t0 + Duration::from_secs(12)), Some(12.0));
        // A failed read keeps the value and its age, and waits a full interval too.
        s.set(t0 + every, Err("boom".into()));
        assert_eq!(s.value, 7);
        assert_eq!(s.age(t0 + every), Some(30.0));
        assert!(!s.due(t0 + every, every));
        s.expire();
        assert!(s.due(t0 + every, every));
    }

    #[test]
    fn one_heavy_read_a_poll_after_the_first() {
        let every = DEFAULT_SLOW;
        let mut h = Heavy::default();
        h.begin(every);
        assert!(h.claim() && h.claim(), "the first poll reads everything");
        h.end();
        h.begin(every);
        assert!(h.claim());
        assert!(!h.claim(), "a second heavy read waits");
        h.begin(every);
        assert!(h.claim(), "and goes next poll");
        // Nothing to spread over: everything when due.
        h.begin(Duration::ZERO);
        assert!(h.claim() && h.claim());
    }
}
