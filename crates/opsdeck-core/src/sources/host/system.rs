//! This machine as a monitored system: on by default in every context (`host = false` turns
//! it off), shown in the Host pane with the endpoint probes.

use chrono::{DateTime, Utc};

use crate::sources::system::FleetFigure;
use crate::timeline::TimelineEvent;
use serde::Deserialize;

use super::{HostPoller, HostSample};
use crate::metrics::Severity::Warning;
use crate::metrics::{Builtin, Cause, Cmp, Metric, Point, Unit};
use crate::sources::system::{Entries, NoOp, System};
use crate::views::{Pane, PaneModel};

pub struct Host;

/// The only host entry: this machine.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSpec;

static THIS_HOST: [HostSpec; 1] = [HostSpec];

/// `host = true|false` in a context (default true).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct HostSwitch(pub bool);

impl Default for HostSwitch {
    fn default() -> Self {
        HostSwitch(true)
    }
}

const METRICS: &[Metric] = &[
    Metric::new("host.disk_ratio", Unit::Ratio, "used space per mount"),
    Metric::new("host.memory_ratio", Unit::Ratio, "used memory"),
    Metric::new("host.cpu_ratio", Unit::Ratio, "CPU busy"),
    Metric::new("host.load1", Unit::Count, "1-minute load average"),
    Metric::new(
        "host.disk_full_seconds",
        Unit::Seconds,
        "time until each mount is full at its recent rate (least squares over the capacity window; growing mounts only)",
    ),
];

impl System for Host {
    const LABEL: &'static str = "host";
    const PANE: Pane = Pane::Host;
    const METRICS: &'static [Metric] = METRICS;
    const FLEET: &'static [FleetFigure] = &[FleetFigure::Highest {
        metrics: &["host.disk_ratio"],
        label: "disk",
    }];
    const FLEET_NONE: &'static str = "ok";
    const BUILTINS: &'static [Builtin] = &[
        Builtin::new(
            "host_disk",
            "host.disk_ratio",
            Cmp::Ge,
            0.9,
            0,
            Warning,
            "disk used",
            "Free space: old logs, WAL archives, core dumps; or grow the volume.",
        ),
        Builtin::new(
            "host_disk_full_soon",
            "host.disk_full_seconds",
            Cmp::Lt,
            crate::capacity::SOON_SECS,
            600,
            Warning,
            "full in",
            "At its recent rate the mount fills within a day: find what grows (logs, WAL, a runaway table or topic) in the Capacity tab's figures, free space or grow the volume.",
        ),
    ];

    type Entries = HostSwitch;
    type Spec = HostSpec;
    type Sample = HostSample;
    type Op = NoOp;
    type Poller = HostPoller;

    fn instances(entries: &HostSwitch) -> &[HostSpec] {
        if entries.0 { &THIS_HOST } else { &[] }
    }
    fn name(_spec: &HostSpec) -> &str {
        "host"
    }
    fn poller(_spec: HostSpec, ctx: &dyn Entries) -> HostPoller {
        HostPoller::new().with_capacity(ctx.capacity())
    }
    fn model(sample: &HostSample) -> PaneModel {
        sample.model()
    }
    fn events(
        prev: Option<&HostSample>,
        next: &HostSample,
        now: DateTime<Utc>,
    ) -> Vec<TimelineEvent> {
        super::events::diff(prev, next, now)
    }
    fn subject_label(_metric: &str) -> &'static str {
        "mount"
    }
    fn measure(h: &HostSample, metric: &str, _source: &str) -> Vec<Point> {
        let host = || format!("host {}", h.hostname);
        match metric {
            "host.disk_ratio" => h
                .disks
                .iter()
                .map(|d| {
                    Point::new(
                        d.mount.clone(),
                        format!("disk {}", d.mount),
                        d.used_ratio(),
                        "",
                        Cause::new("Disks", &d.mount),
                    )
                })
                .collect(),
            "host.memory_ratio" if h.mem_total > 0 => vec![Point::new(
                "",
                host(),
                h.mem_used as f64 / h.mem_total as f64,
                "",
                None,
            )],
            "host.cpu_ratio" => vec![Point::new(
                "",
                host(),
                h.cpu_percent as f64 / 100.0,
                "",
                None,
            )],
            "host.load1" => vec![Point::new("", host(), h.load[0], "", None)],
            "host.disk_full_seconds" => crate::capacity::points(&h.capacity, "host.disk"),
            _ => Vec::new(),
        }
    }
    fn capacity(sample: &HostSample) -> &[crate::capacity::Forecast] {
        &sample.capacity
    }
    fn describe(op: &NoOp) -> String {
        match *op {}
    }
    async fn execute(op: &NoOp, _spec: &HostSpec, _ctx: &dyn Entries) -> Result<String, String> {
        match *op {}
    }
}
