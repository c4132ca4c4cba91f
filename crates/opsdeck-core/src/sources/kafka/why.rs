//! Why a group partition has its verdict, as figures: the reason text is built from them
//! only when something shows it (a screen, `check`, `snapshot`, the exporter, an alert).
//! Most reasons carry the lag, so as text nearly every one of 80,000 rows was a distinct
//! string held between polls; as figures a reason is 40 bytes inside the row.

use std::fmt;

use super::interned::Name;
use crate::views::fmt as f;

/// A verdict's reason (`lag::Track::evaluate`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reason {
    Rewind {
        from: i64,
        to: i64,
        ago: f64,
    },
    CaughtUp,
    /// Behind with no commit for `stall_after`; `behind` is NaN when it equals `idle`.
    NoCommit {
        idle: f64,
        lag: i64,
        behind: f64,
        seen: bool,
        active: bool,
    },
    Judging {
        watched: f64,
        stall_after: f64,
        lag: i64,
    },
    Rising {
        span: f64,
        from: i64,
        to: i64,
    },
    /// `caught_up` is NaN for "last commit {idle} ago".
    Consuming {
        lag: i64,
        idle: f64,
        caught_up: f64,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::Rewind { from, to, ago } => write!(
                w,
                "committed offset moved back from {} to {} {} ago",
                f::thousands(from),
                f::thousands(to),
                f::secs(ago)
            ),
            Reason::CaughtUp => w.write_str("caught up"),
            Reason::NoCommit {
                idle,
                lag,
                behind,
                seen,
                active,
            } => {
                if seen {
                    write!(
                        w,
                        "no commit for {}, lag {}",
                        f::secs(idle),
                        f::thousands(lag)
                    )?;
                } else {
                    write!(
                        w,
                        "no commit in the {} opsdeck has watched (earlier commit times are not known), lag {}",
                        f::secs(idle),
                        f::thousands(lag)
                    )?;
                }
                if !behind.is_nan() {
                    write!(w, " (behind for {})", f::secs(behind))?;
                }
                w.write_str(if active {
                    ", consumers present"
                } else {
                    ", no members"
                })
            }
            Reason::Judging {
                watched,
                stall_after,
                lag,
            } => write!(
                w,
                "judging… {} of {} seen, lag {}",
                f::secs(watched),
                f::secs(stall_after),
                f::thousands(lag)
            ),
            Reason::Rising { span, from, to } => write!(
                w,
                "lag rising over the last {} of commits: {} → {}",
                f::secs(span),
                f::thousands(from),
                f::thousands(to)
            ),
            Reason::Consuming {
                lag,
                idle,
                caught_up,
            } => {
                write!(w, "consuming, lag {}, ", f::thousands(lag))?;
                if caught_up.is_nan() {
                    write!(w, "last commit {} ago", f::secs(idle))
                } else {
                    write!(w, "caught up {} ago", f::secs(caught_up))
                }
            }
        }
    }
}

/// A row's reason as the row keeps it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Why {
    /// The row's `reason` text as given (rows built elsewhere, rare reasons).
    #[default]
    Text,
    /// A verdict; true when it was judged against the last stable offset while records
    /// above it were open transactions (the row's high watermark − last stable offset).
    Verdict(Reason, bool),
    /// No member reads the row's topic: offsets left from an earlier subscription.
    Unread {
        lag: i64,
    },
    /// Assigned for this long and never committed while records arrived.
    Uncommitted {
        secs: f64,
    },
    NoCommittedOffset,
    NoWatermark,
    NotReadNoWatermark,
}

impl Why {
    /// The reason text of a row of `topic` with `open` records in open transactions;
    /// `text` for [`Why::Text`].
    pub fn render(&self, topic: &str, text: &str, open: i64) -> String {
        match self {
            Why::Text => text.to_string(),
            Why::Verdict(r, false) => r.to_string(),
            Why::Verdict(r, true) => format!(
                "{r} ({} above the last stable offset: open transactions)",
                f::thousands(open)
            ),
            Why::Unread { lag } => format!(
                "no member reads {topic}: offsets left from an earlier subscription, lag {}",
                f::thousands(*lag)
            ),
            Why::Uncommitted { secs } => format!(
                "assigned for {} and never committed while records arrived",
                f::secs(*secs)
            ),
            Why::NoCommittedOffset => "no committed offset".into(),
            Why::NoWatermark => "no watermark this poll".into(),
            Why::NotReadNoWatermark => "not read yet: no watermark this poll".into(),
        }
    }
}

/// The reason as the compact row stores it: figures, or an interned text.
#[derive(Debug, Clone)]
pub(super) enum Stored {
    Why(Why),
    Text(Name),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_reason_is_small() {
        assert!(
            std::mem::size_of::<Stored>() <= 40,
            "{}",
            std::mem::size_of::<Stored>()
        );
    }
}
