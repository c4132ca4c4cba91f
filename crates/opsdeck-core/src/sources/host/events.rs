//! The host on the timeline: a disk crossing the `host_disk` threshold (90 % used) and
//! going back under it.

use chrono::{DateTime, Utc};

use super::HostSample;
use crate::timeline::{Severity, TimelineEvent};
use crate::views::fmt;

/// The built-in `host_disk` rule's default.
const DISK_FULL: f64 = 0.9;

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
        let (was, is) = (p.used_ratio(), d.used_ratio());
        let ev = |sev, text| {
            TimelineEvent::new(now, "disk", sev, d.mount.clone(), text)
                .jump("Disks", d.mount.clone())
        };
        if is >= DISK_FULL && was < DISK_FULL {
            out.push(ev(
                Severity::Warning,
                format!(
                    "disk {} {} full ({} free)",
                    d.mount,
                    fmt::pct(is),
                    fmt::bytes(d.available)
                ),
            ));
        } else if was >= DISK_FULL && is < DISK_FULL * 0.95 {
            out.push(ev(
                Severity::Ok,
                format!("disk {} back to {} used", d.mount, fmt::pct(is)),
            ));
        }
    }
    out
}
