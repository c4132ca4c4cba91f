//! The metric catalogue every rule reads (built-in and user rules alike), comparisons, the
//! compiled `Rule`, and validation of `[[alerts.rules]]` with file:line errors.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::spec::UserRuleSpec;
use super::{Alert, Jump, SourceView};
use crate::input::error::ConfigError;
use crate::input::values::{find_span, parse_duration};
pub use crate::metrics::{Cmp, Metric, Point, Severity, Unit};
use crate::sources::{SourceKind, Status};

/// The metric every source has: whether its last poll failed.
pub const UNREACHABLE: Metric = Metric::new(
    "source.unreachable",
    Unit::Flag,
    "1 while the source's last poll failed",
);

/// The whole catalogue: the source-wide metric, then each system's, with the kind of
/// source it reads (None: every kind).
pub fn catalogue() -> impl Iterator<Item = (Option<SourceKind>, &'static Metric)> {
    std::iter::once((None, &UNREACHABLE)).chain(
        SourceKind::ALL
            .iter()
            .flat_map(|k| k.metrics().iter().map(move |m| (Some(*k), m))),
    )
}

pub fn metric(name: &str) -> Option<(Option<SourceKind>, &'static Metric)> {
    catalogue().find(|(_, m)| m.name == name)
}

pub fn metric_names() -> String {
    catalogue()
        .map(|(_, m)| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a metric from a source's latest state.
pub fn measure(metric: &str, s: &SourceView) -> Vec<Point> {
    if metric == UNREACHABLE.name {
        let (v, note) = match s.status {
            Status::Error(e) => (1.0, e.clone()),
            _ => (0.0, String::new()),
        };
        return vec![Point::new(
            "",
            format!("{} {}", s.kind.label(), s.name),
            v,
            note,
            None,
        )];
    }
    match s.sample {
        Some(sample) => sample.measure(metric, s.name),
        None => Vec::new(),
    }
}

/// A compiled rule, built-in or user-defined.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub metric: &'static str,
    /// Only sources of this name (None: every source the metric applies to).
    pub source: Option<String>,
    pub cmp: Cmp,
    pub threshold: f64,
    /// How long the condition must hold before the alert fires.
    pub for_: Duration,
    pub severity: Severity,
    /// Words that say what is wrong, e.g. "memory of maxmemory".
    pub title: String,
    pub labels: BTreeMap<String, String>,
    pub runbook: Option<String>,
    pub enabled: bool,
}

/// One rule over one subject at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub alert: Alert,
    /// The condition holds now.
    pub breached: bool,
    /// The condition holds within the hysteresis margin (keeps a raised alert raised).
    pub held: bool,
    pub for_: Duration,
}

impl Rule {
    pub fn unit(&self) -> Unit {
        metric(self.metric)
            .map(|(_, m)| m.unit)
            .unwrap_or(Unit::Count)
    }

    pub fn applies(&self, s: &SourceView) -> bool {
        let kind_ok = metric(self.metric)
            .and_then(|(k, _)| k)
            .is_none_or(|k| k == s.kind);
        kind_ok && self.source.as_deref().is_none_or(|n| n == s.name)
    }

    /// Appends this rule's observations of `s` to `out`: the points where the condition
    /// holds, and the quiet ones of alerts `known` by key. Most points are quiet and were
    /// never raised: they cost no alert.
    pub fn observe(
        &self,
        s: &SourceView,
        margin: f64,
        known: &dyn Fn(&str) -> bool,
        out: &mut Vec<Observation>,
    ) {
        if !self.enabled || !self.applies(s) {
            return;
        }
        let unit = self.unit();
        // The keys of quiet points are asked for in one buffer: the rule and source part
        // once, each subject appended (a format per quiet point was most of this cost).
        let mut key = super::key_of(&self.name, s.kind, s.name, "");
        let stem = key.len();
        out.extend(measure(self.metric, s).into_iter().filter_map(|p| {
            let breached = self.cmp.holds(p.value, self.threshold);
            let held = self.cmp.still_holds(p.value, self.threshold, margin);
            let quiet = !breached && !held;
            if quiet {
                key.truncate(stem);
                key.push_str(&p.subject);
                if !known(&key) {
                    return None;
                }
            }
            let flag = unit == Unit::Flag;
            // Words only for a condition that holds (a resolved alert keeps its firing
            // words).
            let summary = if quiet {
                String::new()
            } else if flag {
                format!("{} {}", p.what, self.title)
            } else {
                format!(
                    "{}: {} {} ({} {})",
                    p.what,
                    self.title,
                    unit.format(p.value),
                    self.cmp.symbol(),
                    unit.format(self.threshold)
                )
            };
            let summary = match (p.note.is_empty() || summary.is_empty(), flag) {
                (true, _) => summary,
                (false, true) => format!("{summary}: {}", p.note),
                (false, false) => format!("{summary} — {}", p.note),
            };
            Some(Observation {
                breached,
                held,
                for_: self.for_,
                alert: Alert {
                    rule: self.name.clone(),
                    severity: self.severity,
                    kind: s.kind,
                    source: s.name.to_string(),
                    subject: p.subject,
                    summary,
                    metric: self.metric.to_string(),
                    value: p.value,
                    threshold: self.threshold,
                    labels: self.labels.clone(),
                    runbook: self.runbook.clone(),
                    jump: p.cause.map(|c| Jump {
                        kind: s.kind,
                        source: s.name.to_string(),
                        table: c.table,
                        key: c.key,
                    }),
                },
            })
        }));
    }
}

/// `[[alerts.rules]]` entries compiled into rules; every problem is reported with its line.
pub fn compile_user_rules(
    path: &Path,
    text: &str,
    specs: &[UserRuleSpec],
    errors: &mut Vec<ConfigError>,
) -> Vec<Rule> {
    let mut out = Vec::new();
    for r in specs {
        let at = |needle: &str| {
            find_span(text, &format!("\"{needle}\""))
                .or_else(|| find_span(text, &format!("name = \"{}\"", r.name)))
                .or_else(|| find_span(text, "[[alerts.rules]]"))
        };
        let mut err = |needle: &str, msg: String, hint: String| {
            errors.push(
                ConfigError::new(
                    path,
                    text,
                    at(needle),
                    format!("alert rule {:?}: {msg}", r.name),
                )
                .with_hint(hint),
            )
        };
        let m = metric(&r.metric).map(|(_, m)| m);
        if m.is_none() {
            err(
                &r.metric,
                format!("unknown metric {:?}", r.metric),
                format!("valid metrics: {}", metric_names()),
            );
        }
        let cmp = Cmp::parse(&r.op);
        if cmp.is_none() {
            err(
                &r.op,
                format!("unknown comparison {:?}", r.op),
                format!("op is one of {}", Cmp::VALID),
            );
        }
        let severity = match &r.severity {
            None => Some(Severity::Warning),
            Some(s) => Severity::parse(s),
        };
        if severity.is_none() {
            let s = r.severity.clone().unwrap_or_default();
            err(
                &s,
                format!("unknown severity {s:?}"),
                "severity is one of info, warning, critical".into(),
            );
        }
        let for_ = match &r.for_ {
            None => Some(Duration::ZERO),
            Some(d) => match parse_duration(d) {
                Ok(d) => Some(d),
                Err(e) => {
                    err(d, format!("for: {e}"), "for = \"5m\"".into());
                    None
                }
            },
        };
        if r.name.trim().is_empty() {
            err(
                "",
                "empty name".into(),
                "give every rule a short unique name".into(),
            );
        }
        if let (Some(m), Some(cmp), Some(severity), Some(for_)) = (m, cmp, severity, for_) {
            out.push(Rule {
                name: r.name.clone(),
                metric: m.name,
                source: r.source.clone(),
                cmp,
                threshold: r.threshold,
                for_,
                severity,
                title: r.summary.clone().unwrap_or_else(|| m.name.to_string()),
                labels: r.labels.clone(),
                runbook: r.runbook.clone(),
                enabled: r.enabled.unwrap_or(true),
            });
        }
    }
    out
}
