//! The contract every monitored system implements, in its own folder: how it is configured,
//! its poller, the pane model built from a sample, row details, the metrics it feeds to alert
//! rules with its built-in rules, and the verbs it offers on a row together with the
//! operations they run. `registry.rs` lists the systems once; everything else (the runner,
//! the console, `check`, the alert engine, the executor) goes through this trait, so adding
//! a system is a folder plus one registry line.

use std::any::Any;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::keymap::Action;
use crate::metrics::{Builtin, Metric, Point};
use crate::secrets::SecretSpec;
use crate::series::{Family, Limits, Series, metric_series};
use crate::timeline::TimelineEvent;
use crate::views::{Detail, Pane, PaneModel};

/// How much harm a command can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Reversible or harmless (BGSAVE, cancel a query, verify a backup).
    Low,
    /// Disrupts clients (terminate a session, failover).
    Medium,
    /// Destroys data or state (delete a topic, reset offsets): the target's name must be typed.
    High,
}

/// Where a verb is pressed: the tab (table index of the source's model), the selected row's
/// key and the marked rows' keys of this source.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    pub table: usize,
    pub key: Option<&'a str>,
    pub marked: &'a BTreeSet<String>,
}

impl<'a> At<'a> {
    /// The selected row's key, or "" when nothing is selected.
    pub fn key(&self) -> &'a str {
        self.key.unwrap_or("")
    }
}

/// A command a verb resolved to: what it acts on (as shown), the operation, its risk, and
/// what it will do to the system's users where that is known (records skipped, rows left
/// out): the confirmation shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned<Op> {
    pub target: String,
    pub op: Op,
    pub risk: Risk,
    pub impact: Option<String>,
}

impl<Op> Planned<Op> {
    pub fn new(target: impl Into<String>, op: Op, risk: Risk) -> Self {
        Planned {
            target: target.into(),
            op,
            risk,
            impact: None,
        }
    }

    /// States the impact (for the preview).
    pub fn with_impact(mut self, impact: Option<String>) -> Self {
        self.impact = impact.filter(|i| !i.is_empty());
        self
    }

    pub fn map<B>(self, f: impl FnOnce(Op) -> B) -> Planned<B> {
        Planned {
            target: self.target,
            op: f(self.op),
            risk: self.risk,
            impact: self.impact,
        }
    }
}

/// What a verb on a row leads to before the confirmation.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan<Op> {
    /// A parameter must be typed first (a count, a duration, a name): the question.
    Ask(String),
    Ready(Planned<Op>),
}

impl<Op> Plan<Op> {
    pub fn map<B>(self, f: impl FnOnce(Op) -> B) -> Plan<B> {
        match self {
            Plan::Ask(q) => Plan::Ask(q),
            Plan::Ready(p) => Plan::Ready(p.map(f)),
        }
    }

    /// Changes a ready plan (adds its impact, say); a question stays a question.
    pub fn map_ready(self, f: impl FnOnce(Planned<Op>) -> Planned<Op>) -> Plan<Op> {
        match self {
            Plan::Ask(q) => Plan::Ask(q),
            Plan::Ready(p) => Plan::Ready(f(p)),
        }
    }
}

/// A verb's answer: `None` when it does not apply here (not shown), `Some(Err(why))` when it
/// applies but is refused (shown dimmed; pressing it says why).
pub type Planning<Op> = Option<Result<Plan<Op>, String>>;

/// Whether an offered key can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Ready,
    /// It asks for a parameter first.
    Asks,
    /// It applies here but cannot run: why.
    Refused(String),
}

/// A key the focused row offers: the hint bar, the help, the mouse and execution read these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub action: Action,
    /// The hint bar's word.
    pub label: &'static str,
    pub availability: Availability,
}

impl Offer {
    pub fn of<Op>(action: Action, planning: &Result<Plan<Op>, String>) -> Offer {
        Offer {
            action,
            label: action.hint(),
            availability: match planning {
                Ok(Plan::Ask(_)) => Availability::Asks,
                Ok(Plan::Ready(_)) => Availability::Ready,
                Err(why) => Availability::Refused(why.clone()),
            },
        }
    }
}

/// An operation type for systems that change nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum NoOp {}

/// The outcome of an executed operation, handed back to the source's poller so what it
/// learned (a verification) shows in its next sample. No global state carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Done<Op> {
    pub op: Op,
    pub result: Result<String, String>,
    /// RFC 3339 local time of the result.
    pub at: String,
}

/// A context's entries, looked up by another system (a `pg_archiver` backup names a
/// PostgreSQL entry). Implemented by the registry's `ContextSpec`.
pub trait Entries: Sync {
    fn entry_any(&self, label: &str, name: &str) -> Option<&dyn Any>;
    /// `[capacity]`: the forecasts' window and Prometheus, for the pollers' trackers.
    fn capacity(&self) -> crate::capacity::CapacitySpec {
        crate::capacity::CapacitySpec::default()
    }
}

/// The entry of system `S` named `name` in a context.
pub fn entry<'a, S: System>(ctx: &'a dyn Entries, name: &str) -> Option<&'a S::Spec> {
    ctx.entry_any(S::LABEL, name)?.downcast_ref()
}

/// A problem found in a config entry: the text to point at, the message and a hint.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Text near the mistake (a value, the entry's name) to find its line.
    pub near: String,
    pub message: String,
    pub hint: String,
}

impl Problem {
    pub fn new(near: &str, message: impl Into<String>, hint: impl Into<String>) -> Problem {
        Problem {
            near: near.to_string(),
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// A source's poller. Implementations keep their connection between polls and drop it in
/// `reset` (after an error or a timeout) so the next poll reconnects.
pub trait Poller: Send + 'static {
    type Sample: Send + 'static;
    type Op: Send + 'static;
    fn poll(&mut self) -> impl Future<Output = Result<Self::Sample, String>> + Send;
    fn reset(&mut self) {}
    /// An action on this source finished (its result shows in the next sample if relevant).
    fn absorb(&mut self, _done: &Done<Self::Op>) {}
}

/// How the fleet view reads a system's metrics into its pane's column (one short figure
/// per context: "2/14 groups not OK", "conn 83%").
#[derive(Debug)]
pub enum FleetFigure {
    /// Subjects not OK (value ≥ 1) of those judged: "2/14 groups not OK", "14 groups OK".
    NotOk {
        metric: &'static str,
        noun: &'static str,
    },
    /// The highest value of any of the metrics, in the first one's unit: "conn 83%".
    Highest {
        metrics: &'static [&'static str],
        label: &'static str,
    },
    /// The worst flag raised (the first listed is the worst), else `ok` when every source
    /// reported `known`, else "unknown".
    Worst {
        flags: &'static [(&'static str, &'static str)],
        known: &'static str,
        ok: &'static str,
    },
    /// Said only when some subject has the flag: "1 endpoint down".
    Flagged {
        metric: &'static str,
        noun: &'static str,
        word: &'static str,
    },
}

/// One monitored system. Associated functions only: the registry dispatches on the kind.
pub trait System: 'static {
    /// Kind label and config key: `kafka` (`[[contexts.NAME.kafka]]`).
    const LABEL: &'static str;
    /// Other names a person may type for its kind (`check --only pg`), besides the label
    /// and the config key.
    const ALIASES: &'static [&'static str] = &[];
    /// The pane that shows its sources.
    const PANE: Pane;
    /// Its tile lines name the source themselves (one line per backup source), so the
    /// overview does not add a "name status" line above them.
    const TILE_NAMES_SOURCE: bool = false;
    /// The metrics it feeds to alert rules, and its built-in rules over them.
    const METRICS: &'static [Metric] = &[];
    const BUILTINS: &'static [Builtin] = &[];
    /// The verbs it may offer (each is asked through `plan` whether it applies to a row).
    const VERBS: &'static [Action] = &[];
    /// The families it exports to Prometheus besides its `METRICS` (see `series`).
    const SERIES: &'static [Family] = &[];
    /// What the fleet view shows of it, read from its `METRICS`; and what its pane's figure
    /// says when none of them applies ("no maxmemory").
    const FLEET: &'static [FleetFigure] = &[];
    const FLEET_NONE: &'static str = "";

    /// How a context configures it (a list of entries; the host is a switch).
    type Entries: Debug + Clone + Default + PartialEq + serde::de::DeserializeOwned;
    type Spec: Debug + Clone + PartialEq + Send + Sync + 'static;
    type Sample: Debug + Clone + Serialize + Send + Sync + 'static;
    type Op: Debug + Clone + PartialEq + Serialize + Send + Sync + 'static;
    type Poller: Poller<Sample = Self::Sample, Op = Self::Op>;

    fn instances(entries: &Self::Entries) -> &[Self::Spec];
    /// What a context with no config file checks: a dev machine's usual address, if any.
    fn local() -> Self::Entries {
        Self::Entries::default()
    }
    fn name(spec: &Self::Spec) -> &str;
    fn secret(_spec: &Self::Spec) -> SecretSpec {
        SecretSpec::default()
    }
    /// A password written in the config file itself (warned about when others can read it).
    fn inline_secret(spec: &Self::Spec) -> bool {
        Self::secret(spec).password.is_some()
    }
    /// Where it is polled, for `check` (URL or address, passwords redacted).
    fn target(_spec: &Self::Spec) -> String {
        String::new()
    }
    /// Config problems of one entry (other entries of the context are in `ctx`).
    fn validate(_spec: &Self::Spec, _ctx: &dyn Entries) -> Vec<Problem> {
        Vec::new()
    }
    fn poller(spec: Self::Spec, ctx: &dyn Entries) -> Self::Poller;

    fn model(sample: &Self::Sample) -> PaneModel;
    fn detail(_sample: &Self::Sample, _table: usize, _key: &str) -> Option<Detail> {
        None
    }
    /// The points of `metric` (one of `METRICS`) in a sample.
    fn measure(_sample: &Self::Sample, _metric: &str, _source: &str) -> Vec<Point> {
        Vec::new()
    }
    /// The capacity forecasts a sample carries (the snapshot's `capacity` section).
    fn capacity(_sample: &Self::Sample) -> &[crate::capacity::Forecast] {
        &[]
    }

    /// The label naming a point's subject in the exported series of `metric` (`group`,
    /// `node`); `subject` unless the system says better.
    fn subject_label(_metric: &str) -> &'static str {
        "subject"
    }
    /// What the exporter serves for a sample: every metric of `METRICS` (what the rules
    /// read), then the system's own `SERIES`.
    fn series(sample: &Self::Sample, source: &str, limits: &Limits) -> Vec<Series> {
        rule_series::<Self>(sample, source, limits)
    }

    /// What changed between two consecutive samples that belongs on the incident timeline
    /// (a failover, a session starting to block others, a verdict changing): each system
    /// says what counts. `prev` is None for a run's first sample: then it returns what it
    /// can date from before the console started, marked recovered. The console adds the
    /// context and the source.
    fn events(
        _prev: Option<&Self::Sample>,
        _next: &Self::Sample,
        _now: DateTime<Utc>,
    ) -> Vec<TimelineEvent> {
        Vec::new()
    }

    /// A row's natural text for the clipboard (a session's query, a group's lag table); by
    /// default the row as "COLUMN value" lines.
    fn copy_text(sample: &Self::Sample, table: usize, key: &str) -> Option<String> {
        row_text(&Self::model(sample), table, key)
    }

    /// What `action` means at `at`, with the typed parameter once it was asked for.
    fn plan(
        _sample: &Self::Sample,
        _at: &At,
        _action: Action,
        _input: Option<&str>,
    ) -> Planning<Self::Op> {
        None
    }
    /// The keys the row offers: every verb whose plan applies here.
    fn offers(sample: &Self::Sample, at: &At) -> Vec<Offer> {
        Self::VERBS
            .iter()
            .filter_map(|&a| Self::plan(sample, at, a, None).map(|p| Offer::of(a, &p)))
            .collect()
    }

    /// Exactly what will run, for the preview and the audit log.
    fn describe(op: &Self::Op) -> String;
    /// Whether it changes the system (refused in read-only mode); a verification does not.
    fn changes_system(_op: &Self::Op) -> bool {
        true
    }
    /// Long work (a backup, a full restore check): it runs as a background job under its own
    /// limit, never cut off by `action_timeout`, while the console stays usable.
    fn long_running(_op: &Self::Op) -> bool {
        false
    }
    /// The error leaves it unknown whether the operation was applied (an admin call that
    /// timed out on the server side): the outcome is "unknown — check", never "error".
    fn unknown_after(_op: &Self::Op, _error: &str) -> bool {
        false
    }
    /// Runs a confirmed operation (on its own task, never on the loop).
    fn execute(
        op: &Self::Op,
        spec: &Self::Spec,
        ctx: &dyn Entries,
    ) -> impl Future<Output = Result<String, String>> + Send;
}

/// Row `key` of table `table` as "COLUMN value" lines (empty cells left out).
pub fn row_text(model: &PaneModel, table: usize, key: &str) -> Option<String> {
    let t = model.tables.get(table)?;
    let row = t.rows.iter().find(|r| r.key == key)?;
    let width = t.columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let lines: Vec<String> = t
        .columns
        .iter()
        .zip(&row.cells)
        .filter(|(_, c)| !c.text.trim().is_empty())
        .map(|(col, c)| format!("{:<width$}  {}", col.name, c.text))
        .collect();
    Some(lines.join("\n"))
}

/// Every metric of `S::METRICS` of a sample as series (`System::series`'s default).
pub fn rule_series<S: System + ?Sized>(
    sample: &S::Sample,
    source: &str,
    limits: &Limits,
) -> Vec<Series> {
    S::METRICS
        .iter()
        .flat_map(|m| {
            let points = S::measure(sample, m.name, source);
            metric_series(m, points, source, S::subject_label(m.name), limits.subjects)
        })
        .collect()
}

/// What a system's verb resolves to before it is wrapped: (target as shown, op, risk).
pub type Resolved<Op> = Result<(String, Op, Risk), String>;

/// `Resolved` as a ready plan.
pub fn ready<Op>(r: Resolved<Op>) -> Result<Plan<Op>, String> {
    r.map(|(target, op, risk)| Plan::Ready(Planned::new(target, op, risk)))
}
