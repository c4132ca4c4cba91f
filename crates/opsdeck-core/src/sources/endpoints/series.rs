//! What the exporter serves for endpoint probes beyond the rule metric: up and latency.

use super::EndpointSample;
use crate::series::{Family, Series};

pub const UP: Family = Family::gauge(
    "opsdeck_endpoint_up",
    "1 when the last probe met every expectation (connect; for http the status and body)",
    &["source", "probe"],
);
pub const LATENCY: Family = Family::gauge(
    "opsdeck_endpoint_latency_seconds",
    "time to connect (tcp) or to the complete response (http) of the last probe that got that far",
    &["source", "probe"],
);
pub const STATUS: Family = Family::gauge(
    "opsdeck_endpoint_http_status",
    "HTTP status of the last response (http probes that got one)",
    &["source"],
);

pub const SERIES: &[Family] = &[UP, LATENCY, STATUS];

pub fn series(e: &EndpointSample, source: &str) -> Vec<Series> {
    let mut out = vec![UP.at(&[source, &e.probe], if e.ok { 1.0 } else { 0.0 })];
    if let Some(ms) = e.latency_ms {
        out.push(LATENCY.at(&[source, &e.probe], ms / 1000.0));
    }
    if let Some(code) = e.status_code {
        out.push(STATUS.at(&[source], f64::from(code)));
    }
    out
}
