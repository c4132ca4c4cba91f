//! Capacity: how long until a figure reaches its limit (a disk, a database's data
//! directory, Redis memory, connection slots, a Kafka log directory). Each poller keeps a
//! bounded history of its figures (`Tracker`: one point per minute per subject over the
//! window, 6 h by default), optionally backfilled from Prometheus (`[capacity]`), and puts
//! the forecasts into its sample; the systems' `measure` turn them into alert metrics.
//!
//! The method is always stated: a least-squares line over the points of the window, its
//! slope as the rate, and the time for the line to reach the limit from where it is now.

pub mod fit;
pub mod prometheus;
pub mod spec;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::{Cause, Point, Unit};
use crate::views::{Cell, Column, Level, Row, Table, fmt};
pub use fit::{Line, Series, least_squares};
pub use spec::CapacitySpec;

/// Default window of the fit (and of the history kept).
pub const DEFAULT_WINDOW_SECS: f64 = 6.0 * 3600.0;
/// Fewer points than this, or a shorter span, says "collecting" rather than a forecast.
pub const MIN_POINTS: usize = 5;
pub const MIN_SPAN_SECS: f64 = 600.0;
/// Forecasts further out than this read "not within a year".
pub const HORIZON_SECS: f64 = 365.0 * 86400.0;
/// The built-in "full soon" rules fire below this (24 h).
pub const SOON_SECS: f64 = 86400.0;

/// One figure as a poll saw it: what it is, how much is used and of what limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The kind of figure, e.g. `host.disk`: names the metric and the Prometheus query.
    pub kind: &'static str,
    /// Identity within the source (a mount, a database, a node).
    pub subject: String,
    /// How it reads, e.g. "disk /data".
    pub what: String,
    pub used: f64,
    /// None when no limit is known (a remote server's disk): the rate is shown, no time.
    pub limit: Option<f64>,
    pub unit: Unit,
    /// Where an alert about it jumps (table title, row key).
    pub table: &'static str,
    pub key: String,
}

/// Where a forecast stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not enough history yet (fewer than 5 points or less than 10 minutes).
    Collecting,
    /// Used has reached the limit.
    Full,
    Growing,
    /// The line is flat within a thousandth of the figure over the window.
    Steady,
    Shrinking,
}

/// A figure's forecast, as the sample carries it (`capacity[]` in the snapshot).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub kind: String,
    pub subject: String,
    pub what: String,
    pub used: f64,
    pub limit: Option<f64>,
    /// `bytes` or `count`.
    pub unit: &'static str,
    pub state: State,
    /// Growth per second: the slope of the fitted line (null while collecting).
    pub rate_per_second: Option<f64>,
    /// Seconds until the line reaches the limit (null: no limit, not growing, or collecting).
    pub full_in_seconds: Option<f64>,
    /// Points in the fit and the time they span.
    pub points: usize,
    pub window_seconds: f64,
    /// Where the history came from: `samples` (this console's polls) or `prometheus+samples`.
    pub history: &'static str,
    /// The method in words, e.g. "least squares over 358 points in the last 5h58m".
    pub method: String,
    /// For people: "full in ~3d04h at the last 5h58m's rate".
    pub text: String,
    #[serde(skip)]
    pub table: &'static str,
    #[serde(skip)]
    pub key: String,
    #[serde(skip)]
    unit_kind: UnitKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
enum UnitKind {
    #[default]
    Bytes,
    Count,
}

impl UnitKind {
    fn of(u: Unit) -> UnitKind {
        if u == Unit::Bytes {
            UnitKind::Bytes
        } else {
            UnitKind::Count
        }
    }
    fn name(self) -> &'static str {
        match self {
            UnitKind::Bytes => "bytes",
            UnitKind::Count => "count",
        }
    }
    fn amount(self, v: f64) -> String {
        match self {
            UnitKind::Bytes => fmt::bytes(v.abs() as u64),
            UnitKind::Count => fmt::thousands(v.abs().round() as i64),
        }
    }
    /// A rate per day (bytes) or per hour (counts), signed.
    fn rate(self, per_sec: f64) -> String {
        let sign = if per_sec < 0.0 { "-" } else { "+" };
        match self {
            UnitKind::Bytes => format!("{sign}{}/day", self.amount(per_sec * 86400.0)),
            UnitKind::Count => format!("{sign}{:.1}/h", (per_sec * 3600.0).abs()),
        }
    }
}

/// The forecast of one figure from its points (time, value) within the window.
pub fn forecast(f: &Figure, points: &[(f64, f64)], history: &'static str) -> Forecast {
    let unit = UnitKind::of(f.unit);
    let line = least_squares(points).filter(|l| l.points >= MIN_POINTS && l.span >= MIN_SPAN_SECS);
    let span = match (points.first(), points.last()) {
        (Some(a), Some(b)) => b.0 - a.0,
        _ => 0.0,
    };
    let mut out = Forecast {
        kind: f.kind.to_string(),
        subject: f.subject.clone(),
        what: f.what.clone(),
        used: f.used,
        limit: f.limit,
        unit: unit.name(),
        state: State::Collecting,
        rate_per_second: None,
        full_in_seconds: None,
        points: points.len(),
        window_seconds: span,
        history,
        method: format!(
            "least squares over {} point{} in the last {}",
            points.len(),
            if points.len() == 1 { "" } else { "s" },
            fmt::secs(span)
        ),
        text: String::new(),
        table: f.table,
        key: f.key.clone(),
        unit_kind: unit,
    };
    if let Some(limit) = f.limit
        && limit > 0.0
        && f.used >= limit
    {
        out.state = State::Full;
        out.full_in_seconds = Some(0.0);
        out.text = format!("full ({} of {})", unit.amount(f.used), unit.amount(limit));
        return out;
    }
    let Some(line) = line else {
        out.text = format!(
            "collecting: {} point{} over {} (a forecast needs {MIN_POINTS} over {})",
            points.len(),
            if points.len() == 1 { "" } else { "s" },
            fmt::secs(span),
            fmt::secs(MIN_SPAN_SECS)
        );
        return out;
    };
    out.rate_per_second = Some(line.slope);
    let over = format!("the last {}", fmt::secs(line.span));
    let negligible = (line.slope * line.span).abs() < f.used.abs().max(1.0) * 1e-3;
    if negligible {
        out.state = State::Steady;
        out.text = format!("steady over {over}");
    } else if line.slope < 0.0 {
        out.state = State::Shrinking;
        out.text = format!("shrinking {} over {over}", unit.rate(line.slope));
    } else {
        out.state = State::Growing;
        match f.limit.filter(|l| *l > 0.0) {
            Some(limit) => {
                let secs = ((limit - line.now) / line.slope).max(0.0);
                out.full_in_seconds = Some(secs);
                out.text = if secs > HORIZON_SECS {
                    format!(
                        "not full within a year at {over}'s rate ({})",
                        unit.rate(line.slope)
                    )
                } else {
                    format!(
                        "full in ~{} at {over}'s rate ({})",
                        fmt::secs(secs),
                        unit.rate(line.slope)
                    )
                };
            }
            None => {
                out.text = format!("{} over {over} (no limit known)", unit.rate(line.slope));
            }
        }
    }
    out
}

/// A poller's history of its figures, and the forecasts from it.
#[derive(Debug, Clone)]
pub struct Tracker {
    series: BTreeMap<(&'static str, String), Series>,
    /// Subjects whose history came partly from Prometheus.
    backfilled: std::collections::BTreeSet<(&'static str, String)>,
    window: f64,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new(DEFAULT_WINDOW_SECS)
    }
}

impl Tracker {
    pub fn new(window_secs: f64) -> Tracker {
        Tracker {
            series: BTreeMap::new(),
            backfilled: Default::default(),
            window: window_secs.max(MIN_SPAN_SECS),
        }
    }

    pub fn window(&self) -> f64 {
        self.window
    }

    /// Records this poll's figures at `now` (Unix seconds) and returns their forecasts.
    /// A subject absent from a poll keeps its history until it is older than the window.
    pub fn observe(&mut self, now: f64, figures: &[Figure]) -> Vec<Forecast> {
        let window = self.window;
        for f in figures {
            self.series
                .entry((f.kind, f.subject.clone()))
                .or_default()
                .push(now, f.used, window);
        }
        self.series
            .retain(|_, s| s.newest_time().is_some_and(|t| now - t <= window));
        figures
            .iter()
            .map(|f| {
                let id = (f.kind, f.subject.clone());
                let points = self
                    .series
                    .get(&id)
                    .map(|s| s.since(now - window))
                    .unwrap_or_default();
                let history = if self.backfilled.contains(&id) {
                    "prometheus+samples"
                } else {
                    "samples"
                };
                forecast(f, &points, history)
            })
            .collect()
    }

    /// Adds points from elsewhere (Prometheus) to a subject's history.
    pub fn backfill(&mut self, kind: &'static str, subject: &str, points: &[(f64, f64)]) {
        let window = self.window;
        let s = self.series.entry((kind, subject.to_string())).or_default();
        for (t, v) in points {
            s.push(*t, *v, window);
        }
        if !points.is_empty() {
            self.backfilled.insert((kind, subject.to_string()));
        }
    }

    /// Whether a subject has any history yet (a new one is worth a backfill).
    pub fn knows(&self, kind: &'static str, subject: &str) -> bool {
        self.series.contains_key(&(kind, subject.to_string()))
    }
}

/// Unix seconds now, for `Tracker::observe`.
pub fn now_secs() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// The alert points of one kind of forecast: seconds to full, for the growing ones whose
/// limit is known.
pub fn points(forecasts: &[Forecast], kind: &str) -> Vec<Point> {
    forecasts
        .iter()
        .filter(|f| f.kind == kind)
        .filter_map(|f| {
            let secs = f.full_in_seconds?;
            Some(Point::new(
                f.subject.clone(),
                f.what.clone(),
                secs,
                format!("{}; {}", f.text, f.method),
                Cause::new(f.table, &f.key),
            ))
        })
        .collect()
}

fn level(f: &Forecast) -> Level {
    match (f.state, f.full_in_seconds) {
        (State::Full, _) => Level::Crit,
        (_, Some(s)) if s < SOON_SECS => Level::Crit,
        (_, Some(s)) if s < 7.0 * SOON_SECS => Level::Warn,
        (State::Collecting, _) => Level::Muted,
        _ => Level::Normal,
    }
}

/// The Capacity tab of a pane: one row per figure, soonest full first.
pub fn table(forecasts: &[Forecast]) -> Table {
    let mut sorted: Vec<&Forecast> = forecasts.iter().collect();
    sorted.sort_by(|a, b| {
        let k = |f: &Forecast| f.full_in_seconds.unwrap_or(f64::INFINITY);
        k(a).total_cmp(&k(b)).then(a.what.cmp(&b.what))
    });
    Table {
        title: "Capacity".into(),
        columns: vec![
            Column::left("WHAT", 22),
            Column::right("USED", 10),
            Column::right("LIMIT", 10),
            Column::right("RATE", 12),
            Column::right("FULL IN", 9),
            Column::left("FORECAST", 40),
        ],
        rows: sorted
            .into_iter()
            .map(|f| {
                let u = f.unit_kind;
                let l = level(f);
                Row::new(
                    format!("{}:{}", f.kind, f.subject),
                    vec![
                        Cell::new(f.what.clone()),
                        Cell::new(u.amount(f.used)),
                        Cell::new(f.limit.map(|l| u.amount(l)).unwrap_or_else(|| "-".into())),
                        Cell::new(
                            f.rate_per_second
                                .map(|r| u.rate(r))
                                .unwrap_or_else(|| "-".into()),
                        ),
                        Cell::level(
                            match (f.state, f.full_in_seconds) {
                                (State::Full, _) => "full".to_string(),
                                (_, Some(s)) if s > HORIZON_SECS => "> 1 year".into(),
                                (_, Some(s)) => format!("~{}", fmt::secs(s)),
                                _ => "-".into(),
                            },
                            l,
                        ),
                        Cell::level(
                            format!("{} ({})", f.text, f.method),
                            if l == Level::Muted {
                                Level::Muted
                            } else {
                                Level::Normal
                            },
                        ),
                    ],
                )
            })
            .collect(),
        empty: "no capacity figures yet".into(),
    }
}

#[cfg(test)]
mod tests;
