//! The vocabulary alert rules are written in, shared by the systems that measure and the
//! rules that judge: severities, comparisons, units, metric descriptions, measured points
//! and built-in rule definitions. Each system declares its own metrics and built-in rules
//! (`sources::System::METRICS`, `BUILTINS`); `alerts` evaluates them.

use serde::{Deserialize, Serialize};

use crate::views::{Level, fmt};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARN",
            Severity::Critical => "CRIT",
        }
    }

    /// The config spelling: info, warning, critical.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "critical" | "crit" => Some(Severity::Critical),
            _ => None,
        }
    }

    pub fn level(self) -> Level {
        match self {
            Severity::Critical => Level::Crit,
            Severity::Warning => Level::Warn,
            Severity::Info => Level::Info,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    pub const VALID: &'static str = ">, >=, <, <=";

    pub fn parse(s: &str) -> Option<Cmp> {
        match s.trim() {
            ">" => Some(Cmp::Gt),
            ">=" => Some(Cmp::Ge),
            "<" => Some(Cmp::Lt),
            "<=" => Some(Cmp::Le),
            _ => None,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Ge => "≥",
            Cmp::Lt => "<",
            Cmp::Le => "≤",
        }
    }

    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Cmp::Gt => value > threshold,
            Cmp::Ge => value >= threshold,
            Cmp::Lt => value < threshold,
            Cmp::Le => value <= threshold,
        }
    }

    /// Whether an alert already raised still holds: it resolves only once the value has
    /// crossed back past the threshold by `margin` (a fraction of the threshold), so a value
    /// hovering at the threshold does not flap.
    pub fn still_holds(self, value: f64, threshold: f64, margin: f64) -> bool {
        let m = threshold.abs() * margin;
        match self {
            Cmp::Gt | Cmp::Ge => self.holds(value, threshold - m),
            Cmp::Lt | Cmp::Le => self.holds(value, threshold + m),
        }
    }
}

/// How a metric's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Ratio,
    Seconds,
    Count,
    Bytes,
    Rate,
    /// 1 or 0.
    Flag,
    /// Burrow's consumer status: 0 OK, 1 WARN, 2 REWIND, 3 STALL, 4 STOP.
    LagStatus,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Ratio => fmt::pct(v),
            Unit::Seconds => fmt::secs(v),
            Unit::Count => fmt::thousands(v.round() as i64),
            Unit::Bytes => fmt::bytes(v.max(0.0) as u64),
            Unit::Rate => fmt::rate(v),
            Unit::Flag => if v >= 0.5 { "yes" } else { "no" }.into(),
            Unit::LagStatus => ["OK", "WARN", "REWIND", "STALL", "STOP"]
                .get(v.max(0.0) as usize)
                .unwrap_or(&"?")
                .to_string(),
        }
    }
}

/// 1.0 for true: flag metrics.
pub fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// A documented selector: what a rule may compare.
#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub help: &'static str,
    /// A subject that stops being reported is not evidence that its alert is over (a
    /// standby that disconnects has not caught up): the alert stays, marked stale.
    pub kept_when_gone: bool,
}

impl Metric {
    pub const fn new(name: &'static str, unit: Unit, help: &'static str) -> Metric {
        Metric {
            name,
            unit,
            help,
            kept_when_gone: false,
        }
    }

    /// See `kept_when_gone`.
    pub const fn kept_when_gone(self) -> Metric {
        Metric {
            kept_when_gone: true,
            ..self
        }
    }
}

/// Where Enter on an alert about a point goes within its source: a table (by title) and a
/// row key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub table: String,
    pub key: String,
}

impl Cause {
    pub fn new(table: &str, key: &str) -> Option<Cause> {
        Some(Cause {
            table: table.into(),
            key: key.into(),
        })
    }
}

/// One value of a metric within a source.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Identity within the source (group, pid, node, mount); empty for the source itself.
    pub subject: String,
    /// How the subject reads in a summary, e.g. "group orders".
    pub what: String,
    pub value: f64,
    /// Extra words for the summary (a reason, an error).
    pub note: String,
    pub cause: Option<Cause>,
}

impl Point {
    pub fn new(
        subject: impl Into<String>,
        what: impl Into<String>,
        value: f64,
        note: impl Into<String>,
        cause: Option<Cause>,
    ) -> Point {
        Point {
            subject: subject.into(),
            what: what.into(),
            value,
            note: note.into(),
            cause,
        }
    }
}

/// A built-in rule's definition and defaults, tunable under `[alerts.builtin.<name>]`.
#[derive(Debug)]
pub struct Builtin {
    pub name: &'static str,
    pub metric: &'static str,
    pub cmp: Cmp,
    pub threshold: f64,
    pub for_secs: u64,
    pub severity: Severity,
    pub title: &'static str,
    pub runbook: &'static str,
}

impl Builtin {
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        name: &'static str,
        metric: &'static str,
        cmp: Cmp,
        threshold: f64,
        for_secs: u64,
        severity: Severity,
        title: &'static str,
        runbook: &'static str,
    ) -> Builtin {
        Builtin {
            name,
            metric,
            cmp,
            threshold,
            for_secs,
            severity,
            title,
            runbook,
        }
    }
}
