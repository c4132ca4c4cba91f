//! The fleet: every context of the config at a glance. One row per context: its worst
//! alert, a figure per pane (read from the metrics its systems publish, as alert rules read
//! them), and how many of its sources answered, judged the way `check` judges one context.
//!
//! The console runs rounds on the slower `fleet_refresh` schedule with at most `IN_FLIGHT`
//! contexts polled at once, and keeps each source's poller between rounds: verdicts over
//! time (a Kafka group's STALL) need the history a fresh poller does not have.
//! `check --all-contexts` takes one round of fresh polls, as `check` does.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::Notify;

use crate::alerts::{Alert, RuleSet};
use crate::config::Context;
use crate::metrics::{Severity, Unit};
use crate::report::{self, Health, Snapshot, SourceReport};
use crate::sources::registry::AnyPoller;
use crate::sources::system::FleetFigure as Reading;
use crate::sources::{self, SourceKind, SourceSpec};
use crate::views::{Cell, Column, Level, Pane, Row, Table};

/// Contexts polled at once: twenty contexts with a hung source each take three timeouts,
/// not one per context, and never open every connection of the config in the same second.
pub const IN_FLIGHT: usize = 8;

/// The systems' figures shown in a pane's column, in registry order.
fn readings_of(pane: Pane) -> Vec<&'static Reading> {
    SourceKind::ALL
        .iter()
        .filter(|k| k.pane() == pane)
        .flat_map(|k| k.fleet())
        .collect()
}

/// The panes with a figure, in the order the fleet shows them.
pub fn panes() -> impl Iterator<Item = Pane> {
    Pane::ALL
        .into_iter()
        .filter(|p| !readings_of(*p).is_empty())
}

/// The metric names the figures read (each must be in some system's catalogue).
pub fn metrics_read() -> Vec<&'static str> {
    let mut out = Vec::new();
    for pane in panes() {
        for r in readings_of(pane) {
            match r {
                Reading::NotOk { metric, .. } | Reading::Flagged { metric, .. } => {
                    out.push(*metric)
                }
                Reading::Highest { metrics, .. } => out.extend(metrics.iter().copied()),
                Reading::Worst { flags, known, .. } => {
                    out.extend(flags.iter().map(|(m, _)| *m));
                    out.push(*known);
                }
            }
        }
    }
    out
}

fn unit_of(metric: &str) -> Unit {
    SourceKind::ALL
        .iter()
        .flat_map(|k| k.metrics())
        .find(|m| m.name == metric)
        .map_or(Unit::Count, |m| m.unit)
}

/// One pane's figure in one context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub pane: Pane,
    pub text: String,
    /// Its worst alert's severity; critical when one of its sources did not answer.
    pub level: Level,
}

/// One context as the fleet shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetRow {
    pub context: String,
    /// Worst status of its sources (an unreachable one is critical); unknown with none.
    pub status: Health,
    pub exit_code: i32,
    /// Sources that answered, of how many.
    pub answered: usize,
    pub sources: usize,
    /// It has sources and none of them answered.
    pub unreachable: bool,
    /// The worst alert, "CRIT group orders STALL …"; null when nothing is wrong.
    pub worst: Option<String>,
    /// Poll errors, "redis cache: Connection refused" (passwords redacted).
    pub errors: Vec<String>,
    /// A figure per pane the context has sources in.
    pub figures: Vec<Figure>,
    pub alerts: Vec<Alert>,
    pub taken_at: String,
}

fn level_of(sev: Severity) -> Level {
    sev.level()
}

impl FleetRow {
    /// The row of a context's snapshot (pure: unit-tested).
    pub fn of(snap: &Snapshot) -> FleetRow {
        let answered = snap.sources.iter().filter(|s| s.reachable).count();
        let errors = snap
            .sources
            .iter()
            .filter_map(|s| {
                s.error
                    .as_ref()
                    .map(|e| format!("{}: {e}", display_name(s)))
            })
            .collect();
        let worst = snap
            .alerts
            .iter()
            .find(|a| a.severity > Severity::Info)
            .map(|a| format!("{} {}", a.severity.label(), a.summary));
        let figures = panes()
            .filter_map(|pane| {
                let of_pane: Vec<&SourceReport> = snap
                    .sources
                    .iter()
                    .filter(|s| s.kind.pane() == pane)
                    .collect();
                // What an empty figure says comes from a system the context has.
                let none = of_pane
                    .iter()
                    .map(|s| s.kind.fleet_none())
                    .find(|n| !n.is_empty())
                    .unwrap_or_default();
                (!of_pane.is_empty())
                    .then(|| figure(pane, &of_pane, &readings_of(pane), none, snap))
            })
            .collect();
        FleetRow {
            context: snap.context.clone(),
            status: snap.status,
            exit_code: snap.exit_code,
            answered,
            sources: snap.sources.len(),
            unreachable: !snap.sources.is_empty() && answered == 0,
            worst,
            errors,
            figures,
            alerts: snap.alerts.clone(),
            taken_at: snap.taken_at.clone(),
        }
    }

    /// A context whose poll could not be judged at all.
    pub fn failed(context: &str, error: String) -> FleetRow {
        FleetRow {
            context: context.to_string(),
            status: Health::Unknown,
            exit_code: Health::Unknown.exit_code(),
            answered: 0,
            sources: 0,
            unreachable: false,
            worst: None,
            errors: vec![error],
            figures: Vec::new(),
            alerts: Vec::new(),
            taken_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }

    pub fn figure(&self, pane: Pane) -> Option<&Figure> {
        self.figures.iter().find(|f| f.pane == pane)
    }

    /// "3/3 up", "1/3 up", "unreachable", "nothing configured".
    pub fn reach(&self) -> (String, Level) {
        if self.sources == 0 {
            ("nothing configured".into(), Level::Muted)
        } else if self.unreachable {
            ("unreachable".into(), Level::Crit)
        } else if self.answered < self.sources {
            (
                format!("{}/{} up", self.answered, self.sources),
                Level::Warn,
            )
        } else {
            (
                format!("{}/{} up", self.answered, self.sources),
                Level::Normal,
            )
        }
    }

    /// What is wrong, in one line: the error of an unreachable context, else its worst
    /// alert, else "no alerts".
    pub fn problem(&self) -> (String, Level) {
        let more = |n: usize| {
            if n > 1 {
                format!(" (+{} more)", n - 1)
            } else {
                String::new()
            }
        };
        if self.unreachable || (self.sources == 0 && !self.errors.is_empty()) {
            let first = self.errors.first().cloned().unwrap_or_default();
            return (format!("{first}{}", more(self.errors.len())), Level::Crit);
        }
        match &self.worst {
            Some(w) => (
                w.clone(),
                match self.status {
                    Health::Critical => Level::Crit,
                    Health::Warning => Level::Warn,
                    _ => Level::Normal,
                },
            ),
            None if self.sources == 0 => ("nothing to check".into(), Level::Muted),
            None => ("no alerts".into(), Level::Ok),
        }
    }
}

/// "redis cache"; just "host" for the host.
fn display_name(s: &SourceReport) -> String {
    if s.kind.label() == s.name {
        s.name.clone()
    } else {
        format!("{} {}", s.kind.label(), s.name)
    }
}

fn figure(
    pane: Pane,
    reports: &[&SourceReport],
    readings: &[&Reading],
    none: &str,
    snap: &Snapshot,
) -> Figure {
    let down = reports.iter().filter(|s| !s.reachable).count();
    let mut level = snap
        .alerts
        .iter()
        .filter(|a| a.kind.pane() == pane && a.severity > Severity::Info)
        .map(|a| level_of(a.severity))
        .max()
        .unwrap_or(Level::Normal);
    if down > 0 {
        level = Level::Crit;
    }
    if down == reports.len() {
        return Figure {
            pane,
            text: "unreachable".into(),
            level,
        };
    }
    let up: Vec<&SourceReport> = reports.iter().copied().filter(|s| s.reachable).collect();
    let parts: Vec<String> = readings
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            // Systems sharing a pane and a label make one figure: the highest of all
            // ("conn 83%" over PostgreSQL and MariaDB).
            Reading::Highest { label, .. } => {
                let same =
                    |o: &&&Reading| matches!(o, Reading::Highest { label: l, .. } if l == label);
                if readings[..i].iter().any(|o| same(&o)) {
                    return None;
                }
                let metrics: Vec<&str> = readings
                    .iter()
                    .filter(same)
                    .flat_map(|o| match o {
                        Reading::Highest { metrics, .. } => metrics.to_vec(),
                        _ => Vec::new(),
                    })
                    .collect();
                highest(&metrics, label, &up)
            }
            _ => read(r, &up),
        })
        .collect();
    let mut text = if parts.is_empty() {
        none.to_string()
    } else {
        parts.join(" · ")
    };
    if down > 0 {
        text = format!("{text} ({down} down)").trim_start().to_string();
    }
    Figure { pane, text, level }
}

/// The values of `metric` in the answering sources, per source.
fn values(up: &[&SourceReport], metric: &str) -> Vec<Vec<f64>> {
    up.iter()
        .map(|s| {
            s.data
                .as_ref()
                .map(|d| {
                    d.measure(metric, &s.name)
                        .into_iter()
                        .map(|p| p.value)
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

/// The highest value of any of the metrics, in the first one's unit.
fn highest(metrics: &[&str], label: &str, up: &[&SourceReport]) -> Option<String> {
    let max = metrics
        .iter()
        .flat_map(|m| values(up, m).into_iter().flatten())
        .fold(None, |acc: Option<f64>, v| {
            Some(acc.map_or(v, |a| a.max(v)))
        })?;
    let unit = unit_of(metrics.first().copied().unwrap_or_default());
    Some(format!("{label} {}", unit.format(max)))
}

fn read(r: &Reading, up: &[&SourceReport]) -> Option<String> {
    match r {
        Reading::NotOk { metric, noun } => {
            let all: Vec<f64> = values(up, metric).into_iter().flatten().collect();
            let bad = all.iter().filter(|v| **v >= 1.0).count();
            match (all.len(), bad) {
                (0, _) => None,
                (n, 0) => Some(format!("{n} {noun} OK")),
                (n, b) => Some(format!("{b}/{n} {noun} not OK")),
            }
        }
        Reading::Highest { metrics, label } => highest(metrics, label, up),
        Reading::Worst { flags, known, ok } => {
            for (metric, word) in *flags {
                let raised = values(up, metric)
                    .iter()
                    .filter(|vs| vs.iter().any(|v| *v >= 1.0))
                    .count();
                if raised > 0 {
                    return Some(if up.len() > 1 {
                        format!("{raised}/{} {word}", up.len())
                    } else {
                        word.to_string()
                    });
                }
            }
            let all_known = values(up, known).iter().all(|vs| !vs.is_empty());
            Some(if all_known { *ok } else { "unknown" }.to_string())
        }
        Reading::Flagged { metric, noun, word } => {
            let n = values(up, metric)
                .into_iter()
                .flatten()
                .filter(|v| *v >= 1.0)
                .count();
            (n > 0).then(|| {
                let s = if n == 1 { "" } else { "s" };
                format!("{n} {noun}{s} {word}")
            })
        }
    }
}

/// `check --all-contexts`: every context's row, and the worst of them.
#[derive(Debug, Serialize)]
pub struct FleetReport {
    /// The config file used; null for the built-in defaults.
    pub config: Option<String>,
    pub taken_at: String,
    /// Worst status over the contexts (`unknown` ranks worst, as in `check`).
    pub status: Health,
    pub exit_code: i32,
    pub contexts: Vec<FleetRow>,
}

impl FleetReport {
    pub fn new(config: Option<String>, contexts: Vec<FleetRow>) -> FleetReport {
        let status = contexts
            .iter()
            .map(|r| r.status)
            .max()
            .unwrap_or(Health::Unknown);
        FleetReport {
            config,
            taken_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            status,
            exit_code: status.exit_code(),
            contexts,
        }
    }
}

/// The contexts `--only` leaves something to check in: with `--only redis`, a context
/// without Redis is not "unknown", it is not asked about. Without `--only`, every context
/// (an empty one is then unknown, as `check` says of it).
pub fn selected<'a>(contexts: &'a [Context], only: &[SourceKind]) -> Vec<&'a Context> {
    contexts
        .iter()
        .filter(|c| {
            only.is_empty()
                || sources::plan(&c.spec)
                    .iter()
                    .any(|s| only.contains(&s.kind()))
        })
        .collect()
}

/// One round of fresh polls of every context `--only` selects (at most `IN_FLIGHT` at
/// once), rows in the order given.
pub async fn take(
    contexts: &[Context],
    config: Option<String>,
    only: &[SourceKind],
    rules: &RuleSet,
    timeout: Duration,
) -> FleetReport {
    let rows = futures::stream::iter(selected(contexts, only))
        .map(|c| async move { FleetRow::of(&report::take(c, None, only, rules, timeout).await) })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    FleetReport::new(config, rows)
}

/// "20 contexts: 2 critical, 1 warning, 17 ok; 1 unreachable".
pub fn headline<'a>(rows: impl IntoIterator<Item = &'a FleetRow>) -> String {
    let rows: Vec<&FleetRow> = rows.into_iter().collect();
    let count = |h: Health| rows.iter().filter(|r| r.status == h).count();
    let mut parts = Vec::new();
    for h in [
        Health::Critical,
        Health::Warning,
        Health::Unknown,
        Health::Ok,
    ] {
        let n = count(h);
        if n > 0 {
            parts.push(format!("{n} {}", h.label()));
        }
    }
    let unreachable = rows.iter().filter(|r| r.unreachable).count();
    let mut out = format!(
        "{} context{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    if !parts.is_empty() {
        out.push_str(&format!(": {}", parts.join(", ")));
    }
    if unreachable > 0 {
        out.push_str(&format!("; {unreachable} unreachable"));
    }
    out
}

/// The panes any row has a figure for, in fleet order.
fn shown_panes<'a>(rows: impl Iterator<Item = &'a [Pane]> + Clone) -> Vec<Pane> {
    panes()
        .filter(|p| rows.clone().any(|ps| ps.contains(p)))
        .collect()
}

/// The panes a context has sources in.
pub fn panes_of(ctx: &crate::config::ContextSpec) -> Vec<Pane> {
    let kinds: Vec<Pane> = sources::plan(ctx).iter().map(|s| s.kind().pane()).collect();
    panes().filter(|p| kinds.contains(p)).collect()
}

fn clip(s: &str, n: usize) -> String {
    crate::views::fmt::fit(s, n)
}

/// The compact table of `check --all-contexts`: one line per context, then the headline.
pub fn text_table(r: &FleetReport) -> String {
    let panes_per_row: Vec<Vec<Pane>> = r
        .contexts
        .iter()
        .map(|row| row.figures.iter().map(|f| f.pane).collect())
        .collect();
    let panes = shown_panes(panes_per_row.iter().map(Vec::as_slice));
    let mut header = vec!["CONTEXT".to_string(), "STATUS".into(), "REACH".into()];
    header.extend(panes.iter().map(|p| p.title().to_uppercase()));
    header.push("PROBLEM".into());
    let lines: Vec<Vec<String>> = r
        .contexts
        .iter()
        .map(|row| {
            let mut cells = vec![
                row.context.clone(),
                row.status.label().to_string(),
                row.reach().0,
            ];
            cells.extend(panes.iter().map(|p| {
                row.figure(*p)
                    .map(|f| clip(&f.text, 24))
                    .unwrap_or_else(|| "-".into())
            }));
            cells.push(row.problem().0);
            cells
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            std::iter::once(&header)
                .chain(&lines)
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in std::iter::once(&header).chain(&lines) {
        let mut line = String::new();
        for (i, c) in l.iter().enumerate() {
            if i + 1 == l.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if r.contexts.is_empty() {
        out.push_str("no contexts in the config\n");
    }
    out.push_str(&format!(
        "{}: {}\n",
        r.status.label().to_uppercase(),
        headline(&r.contexts)
    ));
    out
}

/// A row of the fleet view: a context, the panes it has sources in, its latest answer, and
/// whether a poll of it is under way.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub context: String,
    pub panes: Vec<Pane>,
    pub row: Option<FleetRow>,
    pub polling: bool,
}

impl Slot {
    pub fn new(name: &str, ctx: &crate::config::ContextSpec) -> Slot {
        Slot {
            context: name.to_string(),
            panes: panes_of(ctx),
            row: None,
            polling: false,
        }
    }
}

/// The fleet view's table: a row per context (its key is the context's name), `current`
/// marked.
pub fn model(slots: &[Slot], current: &str) -> Table {
    let panes = shown_panes(slots.iter().map(|s| s.panes.as_slice()));
    let mut columns = vec![
        Column::left("CONTEXT", 10),
        Column::left("STATUS", 8).keep(),
        Column::left("REACH", 11).priority(70),
    ];
    columns.extend(panes.iter().map(|p| Column::left(pane_column(*p), 18)));
    columns.push(Column::left("PROBLEM", 20));
    let rows = slots
        .iter()
        .map(|s| {
            let name = if s.context == current {
                Cell::level(format!("{} (current)", s.context), Level::Info)
            } else {
                Cell::new(s.context.clone())
            };
            let mut cells = vec![name];
            match &s.row {
                None => {
                    cells.push(Cell::level(
                        if s.polling { "polling…" } else { "" },
                        Level::Muted,
                    ));
                    cells.push(Cell::default());
                    cells.extend(panes.iter().map(|_| Cell::default()));
                    cells.push(Cell::default());
                }
                Some(r) => {
                    let status_level = match r.status {
                        Health::Ok => Level::Ok,
                        Health::Warning => Level::Warn,
                        Health::Critical => Level::Crit,
                        Health::Unknown => Level::Muted,
                    };
                    cells.push(Cell::level(r.status.label(), status_level));
                    let (reach, level) = r.reach();
                    let reach = if s.polling {
                        format!("{reach} …")
                    } else {
                        reach
                    };
                    cells.push(Cell::level(reach, level));
                    cells.extend(panes.iter().map(|p| match r.figure(*p) {
                        Some(f) => Cell::level(f.text.clone(), f.level),
                        None => Cell::level("-", Level::Muted),
                    }));
                    let (text, level) = r.problem();
                    cells.push(Cell::level(text, level));
                }
            }
            Row::new(s.context.clone(), cells)
        })
        .collect();
    Table {
        title: "Fleet".into(),
        columns,
        rows,
        empty: "no contexts in the config".into(),
    }
}

fn pane_column(p: Pane) -> &'static str {
    match p {
        Pane::Kafka => "KAFKA",
        Pane::Databases => "DATABASES",
        Pane::Redis => "REDIS",
        Pane::Backups => "BACKUPS",
        Pane::Alerts => "ALERTS",
        Pane::Host => "HOST",
        // No figure reads the timeline (it is this console's own), so no column shows it.
        Pane::Timeline => "TIMELINE",
    }
}

/// A context's sources with their pollers, kept between rounds.
struct Polled {
    ctx: Context,
    specs: Vec<SourceSpec>,
    pollers: Vec<AnyPoller>,
}

impl Polled {
    fn new(ctx: Context) -> Polled {
        let specs = sources::plan(&ctx.spec);
        let pollers = specs
            .iter()
            .cloned()
            .map(|s| AnyPoller::new(s, &ctx.spec))
            .collect();
        Polled {
            ctx,
            specs,
            pollers,
        }
    }

    /// Every source at once, each cut at `timeout`, then judged by `rules`.
    async fn poll(&mut self, rules: Arc<RuleSet>, timeout: Duration) -> FleetRow {
        let results =
            futures::future::join_all(self.pollers.iter_mut().map(|p| p.poll(timeout))).await;
        let (ctx, specs) = (self.ctx.clone(), self.specs.clone());
        // Judging builds each source's pane model (its tile figure): off the async workers,
        // which also read the keyboard.
        let judged = tokio::task::spawn_blocking(move || {
            FleetRow::of(&report::build(&ctx, None, &specs, results, &rules))
        })
        .await;
        judged.unwrap_or_else(|e| {
            FleetRow::failed(&self.ctx.name, format!("judging the poll failed: {e}"))
        })
    }
}

/// What a fleet task reports.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A round began: every context is being polled again.
    Round,
    /// A context answered (or its sources were cut by the timeout).
    Row(Box<FleetRow>),
    /// Every context of the round answered.
    Done,
}

/// Polls `contexts` in rounds every `every` (at once when `now` is notified), at most
/// `IN_FLIGHT` contexts at a time and each source cut at `timeout`, until `send` returns
/// false. Rows are sent as they come, so a slow context never holds the others.
pub async fn run(
    contexts: Vec<Context>,
    rules: Arc<RuleSet>,
    every: Duration,
    timeout: Duration,
    now: Arc<Notify>,
    mut send: impl FnMut(Progress) -> bool,
) {
    let mut polled: Vec<Polled> = contexts.into_iter().map(Polled::new).collect();
    loop {
        if !send(Progress::Round) {
            return;
        }
        let started = tokio::time::Instant::now();
        // Each poll owns its context's pollers and hands them back with the row.
        let mut waiting = std::mem::take(&mut polled).into_iter();
        let mut in_flight = futures::stream::FuturesUnordered::new();
        let start = |mut p: Polled| {
            let rules = rules.clone();
            async move {
                let row = p.poll(rules, timeout).await;
                (p, row)
            }
        };
        in_flight.extend(waiting.by_ref().take(IN_FLIGHT).map(start));
        while let Some((p, row)) = in_flight.next().await {
            polled.push(p);
            in_flight.extend(waiting.next().map(start));
            if !send(Progress::Row(Box::new(row))) {
                return;
            }
        }
        if !send(Progress::Done) {
            return;
        }
        let wait = every.saturating_sub(started.elapsed());
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = now.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests;
