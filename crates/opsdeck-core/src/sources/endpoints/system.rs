//! Endpoint probes as a monitored system: shown as rows of the Host pane's Endpoints table.

use chrono::{DateTime, Utc};

use super::{EndpointPoller, EndpointSample, EndpointSpec};
use crate::input::values::parse_duration;
use crate::metrics::Severity::Critical;
use crate::metrics::{Builtin, Cause, Cmp, Metric, Point, Unit, flag};
use crate::secrets::redact_urls;
use crate::series::{Family, Limits, Series};
use crate::sources::system::FleetFigure;
use crate::sources::system::{Entries, NoOp, Problem, System};
use crate::timeline::TimelineEvent;
use crate::views::{Detail, Pane, PaneModel};

pub struct Endpoints;

impl System for Endpoints {
    const LABEL: &'static str = "endpoint";
    const PANE: Pane = Pane::Host;
    const SERIES: &'static [Family] = super::series::SERIES;
    const FLEET: &'static [FleetFigure] = &[FleetFigure::Flagged {
        metric: "endpoint.down",
        noun: "endpoint",
        word: "down",
    }];
    const FLEET_NONE: &'static str = "ok";
    const TILE_NAMES_SOURCE: bool = true;
    const METRICS: &'static [Metric] = &[Metric::new(
        "endpoint.down",
        Unit::Flag,
        "1 while the endpoint's probe fails",
    )];
    const BUILTINS: &'static [Builtin] = &[Builtin::new(
        "endpoint_down",
        "endpoint.down",
        Cmp::Ge,
        1.0,
        0,
        Critical,
        "down",
        "The probe failed: check the service behind the endpoint and its health check.",
    )];

    type Entries = Vec<EndpointSpec>;
    type Spec = EndpointSpec;
    type Sample = EndpointSample;
    type Op = NoOp;
    type Poller = EndpointPoller;

    fn instances(entries: &Vec<EndpointSpec>) -> &[EndpointSpec] {
        entries
    }
    fn name(spec: &EndpointSpec) -> &str {
        &spec.name
    }
    fn target(spec: &EndpointSpec) -> String {
        redact_urls(&spec.url)
    }
    fn validate(e: &EndpointSpec, _ctx: &dyn Entries) -> Vec<Problem> {
        let mut out = Vec::new();
        if !(e.url.starts_with("tcp://")
            || e.url.starts_with("http://")
            || e.url.starts_with("https://"))
        {
            out.push(Problem::new(
                &e.name,
                format!(
                    "endpoint {}: url must start with tcp://, http:// or https://",
                    e.name
                ),
                "url = \"http://127.0.0.1:8080/health\"",
            ));
        }
        if let Some(t) = &e.timeout
            && let Err(msg) = parse_duration(t)
        {
            out.push(Problem::new(
                &e.name,
                format!("endpoint {}: timeout: {msg}", e.name),
                "timeout = \"2s\"",
            ));
        }
        out
    }
    fn poller(spec: EndpointSpec, _ctx: &dyn Entries) -> EndpointPoller {
        EndpointPoller::new(spec)
    }

    fn model(sample: &EndpointSample) -> PaneModel {
        sample.model()
    }
    fn detail(sample: &EndpointSample, _table: usize, _key: &str) -> Option<Detail> {
        Some(sample.detail())
    }
    fn events(
        prev: Option<&EndpointSample>,
        next: &EndpointSample,
        now: DateTime<Utc>,
    ) -> Vec<TimelineEvent> {
        super::events::diff(prev, next, now)
    }
    fn series(e: &EndpointSample, source: &str, limits: &Limits) -> Vec<Series> {
        let mut out = crate::sources::system::rule_series::<Self>(e, source, limits);
        out.extend(super::series::series(e, source));
        out
    }

    fn measure(e: &EndpointSample, metric: &str, _source: &str) -> Vec<Point> {
        if metric != "endpoint.down" {
            return Vec::new();
        }
        vec![Point::new(
            "",
            format!("endpoint {}", e.name),
            flag(e.error.is_some()),
            e.error.clone().unwrap_or_default(),
            Cause::new("Endpoints", &e.name),
        )]
    }

    fn describe(op: &NoOp) -> String {
        match *op {}
    }
    async fn execute(
        op: &NoOp,
        _spec: &EndpointSpec,
        _ctx: &dyn Entries,
    ) -> Result<String, String> {
        match *op {}
    }
}
