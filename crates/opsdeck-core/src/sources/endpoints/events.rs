//! An endpoint on the timeline: going down (with why) and answering again.

use chrono::{DateTime, Utc};

use super::EndpointSample;
use crate::timeline::{Severity, TimelineEvent};

pub fn diff(
    prev: Option<&EndpointSample>,
    next: &EndpointSample,
    now: DateTime<Utc>,
) -> Vec<TimelineEvent> {
    let Some(prev) = prev else {
        return Vec::new();
    };
    let ev = |sev, text| {
        TimelineEvent::new(now, "endpoint", sev, next.name.clone(), text)
            .jump("Endpoints", next.name.clone())
    };
    match (&prev.error, &next.error) {
        (None, Some(e)) => vec![ev(
            Severity::Critical,
            format!("endpoint {} down: {e}", next.name),
        )],
        (Some(_), None) => vec![ev(
            Severity::Ok,
            format!("endpoint {} answers again", next.name),
        )],
        _ => Vec::new(),
    }
}
