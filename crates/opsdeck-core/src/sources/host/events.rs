//! The host on the timeline: a disk crossing the `host_disk` threshold (90 % used) and
//! going back under it.

use chrono::{DateTime, Utc};

use super::HostSample;
use crate::timeline::{Severity, TimelineEvent};
use crate::views::fmt;

/// The built-in `host_disk` rule's default.
const DISK_FULL: f64 = 0.9;

/// Whether a disk is full now, given whether it was: from the threshold until under 95%
/// of it.
pub(super) fn full(was: bool, used_ratio: f64) -> bool {
    used_ratio >= if was { DISK_FULL * 0.95 } else { DISK_FULL }
}

pub fn diff(
    prev: Option<&HostSample>,
    next: &HostSample,
    now: DateTime<Utc>,
) -> Vec<TimelineEvent> {
    let Some(prev) = prev else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in &next.disks {
        let Some(p) = prev.disks.iter().find(|p| p.mount == d.mount) else {
            continue;
        };
        let is = d.used_ratio();
        let ev = |sev, text| {
            TimelineEvent::new(now, "disk", sev, d.mount.clone(), text)
                .jump("Disks", d.mount.clone())
        };
        // `full` has the hysteresis (the poller keeps it), so neither side flaps.
        if d.full && !p.full {
            out.push(ev(
                Severity::Warning,
                format!(
                    "disk {} {} full ({} free)",
                    d.mount,
                    fmt::pct(is),
                    fmt::bytes(d.available)
                ),
            ));
        } else if p.full && !d.full {
            out.push(ev(
                Severity::Ok,
                format!("disk {} back to {} used", d.mount, fmt::pct(is)),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::host::DiskInfo;

    fn at(prev: Option<&HostSample>, available: u64) -> HostSample {
        let was = prev.is_some_and(|p| p.disks[0].full);
        let mut d = DiskInfo {
            mount: "/".into(),
            total: 1000,
            available,
            ..Default::default()
        };
        // As the poller marks it.
        d.full = full(was, d.used_ratio());
        HostSample {
            disks: vec![d],
            ..Default::default()
        }
    }

    #[test]
    fn a_disk_hovering_at_the_threshold_is_one_crossing_each_way() {
        let now = Utc::now();
        let mut prev = at(None, 200);
        let mut got = Vec::new();
        // 80%, 91%, 89%, 90.5%, 88%, 84%: full once, back once.
        for available in [200, 90, 110, 95, 120, 160] {
            let next = at(Some(&prev), available);
            for e in diff(Some(&prev), &next, now) {
                assert_eq!((e.table.as_str(), e.key.as_str()), ("Disks", "/"));
                got.push((e.severity, e.text));
            }
            prev = next;
        }
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, Severity::Warning);
        assert!(got[0].1.starts_with("disk / 91% full"), "{got:?}");
        assert_eq!(got[1].0, Severity::Ok);
        assert!(got[1].1.starts_with("disk / back to 84% used"), "{got:?}");
    }
}
