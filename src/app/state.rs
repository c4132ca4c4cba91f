//! The console's state, owned by the loop. Render reads it; only `update` changes it.

use std::collections::BTreeSet;

use chrono::{DateTime, Local, Utc};

use super::view::PaneView;
pub use super::view::{Origin, RowId};
use crate::actions::Command;
use crate::alerts::{self, Alert, SourceView};
use crate::config::keymap::{Action, Keymap};
use crate::config::{Config, ContextSpec};
use crate::sources::{Sample, SourceKind, SourceSpec, Status};
use crate::theme::Theme;
use crate::views::{Level, PaneModel, Table};

pub use crate::views::Pane;

pub struct SourceState {
    pub kind: SourceKind,
    pub name: String,
    pub status: Status,
    pub sample: Option<Sample>,
    /// The sample's view model, computed once per sample rather than per frame.
    pub model: Option<PaneModel>,
    pub last_ok: Option<DateTime<Local>>,
}

impl SourceState {
    pub fn new(spec: &SourceSpec) -> Self {
        SourceState {
            kind: spec.kind(),
            name: spec.name().to_string(),
            status: Status::Connecting,
            sample: None,
            model: None,
            last_ok: None,
        }
    }

    /// With no config file: a localhost default that never answered and refuses connections.
    pub fn not_running(&self, no_config: bool) -> bool {
        no_config
            && self.last_ok.is_none()
            && matches!(&self.status, Status::Error(e) if e.to_ascii_lowercase().contains("refused"))
    }

    /// "ok", "connecting…", or the error, with "stale since" when older data is still shown.
    pub fn status_line(&self) -> (String, Level) {
        match &self.status {
            Status::Ok => ("ok".into(), Level::Ok),
            Status::Connecting => ("connecting…".into(), Level::Info),
            Status::Error(e) => match self.last_ok {
                Some(t) => (
                    format!("error: {e} — stale since {}", t.format("%H:%M:%S")),
                    Level::Crit,
                ),
                None => (format!("error: {e}"), Level::Crit),
            },
        }
    }
}

/// Per-pane navigation.
#[derive(Debug, Clone, Default)]
pub struct PaneState {
    /// Which of the pane's sources is shown (panes that show one source at a time).
    pub source: usize,
    /// Which tab of the zoomed pane.
    pub table: usize,
    /// The selected row; `None` before one was chosen (the first row is then taken).
    pub selected: Option<RowId>,
    /// The person chose the selection (moved, clicked, jumped to a cause); until then the
    /// first row is selected whatever order the sources answer in.
    pub chosen: bool,
    pub filter: String,
    pub marked: BTreeSet<RowId>,
    /// The row whose detail is open.
    pub detail: Option<RowId>,
}

/// A one-line text input (command line, filter, typed confirmation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input {
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Cancel,
    Confirm,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub command: Command,
    pub context: String,
    pub production: bool,
    /// What must be typed before Confirm is enabled.
    pub required: Option<String>,
    pub typed: Input,
    pub focus: Button,
}

impl Confirm {
    pub fn can_confirm(&self) -> bool {
        self.required
            .as_deref()
            .is_none_or(|r| r == self.typed.text)
    }
}

/// A verb waiting for a typed parameter (a count, a duration, a name), with where it was
/// pressed so the answer plans the same target.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub action: Action,
    pub source: usize,
    pub table: usize,
    pub key: Option<String>,
    pub question: String,
    pub input: Input,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    Command(Input),
    Filter(Input),
    Help { scroll: u16 },
    Ask(Box<Ask>),
    Confirm(Box<Confirm>),
    Running(Box<Command>),
}

pub struct State {
    pub config: Config,
    pub context: String,
    pub ctx: ContextSpec,
    /// `--readonly` on the command line (the context may also be read-only).
    pub cli_readonly: bool,
    pub theme: Theme,
    pub keymap: Keymap,
    pub sources: Vec<SourceState>,
    /// Bumped on `:ctx`, so updates of the previous context's tasks are dropped.
    pub generation: u64,
    pub focus: Pane,
    pub zoomed: bool,
    pub panes: [PaneState; Pane::ALL.len()],
    /// What each pane shows now (tabs, visible rows, selection, offered keys), kept up to
    /// date by `update`; render and the mouse read it.
    pub views: [PaneView; Pane::ALL.len()],
    /// The Alerts pane's model, rebuilt when alerts or its selection change.
    pub alerts_model: PaneModel,
    /// A source's answer changed the alerts: the Alerts pane is rebuilt once before the
    /// next frame or the next other event, not once per answer of the same tick.
    pub alerts_stale: bool,
    /// Every state change of every source, all contexts (the file's and this run's).
    pub timeline: crate::timeline::Timeline,
    /// The Timeline pane's model, rebuilt when an event arrives or its selection changes.
    pub timeline_model: PaneModel,
    /// No config file: the sources are the localhost defaults, and one that never answered
    /// (connection refused) is "not running" rather than an outage.
    pub no_config: bool,
    pub mode: Mode,
    pub message: Option<(String, Level)>,
    /// Long actions running in the background (a backup, a restore check) and when they
    /// started; the header shows them and keys keep working.
    pub jobs: Vec<(Command, DateTime<Utc>)>,
    /// Firing, unsilenced alerts, worst first (the header shows the first).
    pub alerts: Vec<Alert>,
    /// Alert engine, persisted inbox (acks, silences, history) and Alertmanager's alerts.
    pub alert_desk: alerts::Desk,
    /// The fleet view: every context's row, and whether it is shown.
    pub fleet: Fleet,
    /// The time of the event being handled (the header shows it); set by `update`.
    pub now: DateTime<Utc>,
    pub size: (u16, u16),
    pub quit: bool,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    /// The tab each source was last told is on screen (`app::visibility`).
    pub shown: Vec<Option<String>>,
}

impl State {
    pub fn new(
        config: Config,
        context: String,
        cli_readonly: bool,
        theme: Theme,
        keymap: Keymap,
    ) -> Self {
        let ctx = config.contexts.get(&context).cloned().unwrap_or_default();
        let fleet = Fleet::new(&config);
        let mut s = State {
            config,
            context,
            ctx,
            cli_readonly,
            theme,
            keymap,
            sources: Vec::new(),
            generation: 0,
            focus: Pane::Kafka,
            zoomed: false,
            panes: Default::default(),
            views: Default::default(),
            alerts_model: PaneModel::default(),
            alerts_stale: false,
            timeline: Default::default(),
            timeline_model: PaneModel::default(),
            no_config: false,
            mode: Mode::Normal,
            message: None,
            jobs: Vec::new(),
            alerts: Vec::new(),
            alert_desk: alerts::Desk::default(),
            fleet,
            now: Utc::now(),
            size: (80, 24),
            quit: false,
            dirty: true,
            shown: Vec::new(),
        };
        s.reset_sources();
        s
    }

    /// The sources of the current context, in the order `sources::plan` starts them.
    pub fn specs(&self) -> Vec<SourceSpec> {
        crate::sources::plan(&self.ctx)
    }

    pub fn reset_sources(&mut self) {
        self.sources = self.specs().iter().map(SourceState::new).collect();
        // New source tasks start with nothing on screen.
        self.shown = vec![None; self.sources.len()];
        self.panes = Default::default();
        self.alerts.clear();
        self.alert_desk.engine = Default::default();
        self.refresh_all();
    }

    pub fn readonly(&self) -> bool {
        self.cli_readonly || self.ctx.readonly
    }

    pub fn pane_state(&self, pane: Pane) -> &PaneState {
        &self.panes[pane.index()]
    }

    pub fn pane_state_mut(&mut self, pane: Pane) -> &mut PaneState {
        &mut self.panes[pane.index()]
    }

    pub fn view(&self, pane: Pane) -> &PaneView {
        &self.views[pane.index()]
    }

    /// Indices (into `sources`) of the sources shown in a pane.
    pub fn pane_sources(&self, pane: Pane) -> Vec<usize> {
        self.sources
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind.pane() == pane)
            .map(|(i, _)| i)
            .collect()
    }

    /// The index of the source a one-source-at-a-time pane shows.
    pub fn current_source_index(&self, pane: Pane) -> Option<usize> {
        let ids = self.pane_sources(pane);
        let i = self
            .pane_state(pane)
            .source
            .min(ids.len().saturating_sub(1));
        ids.get(i).copied()
    }

    pub fn current_source(&self, pane: Pane) -> Option<&SourceState> {
        self.current_source_index(pane).map(|i| &self.sources[i])
    }

    /// Evaluates the rules over the latest samples at `now`.
    pub fn recompute_alerts_at(&mut self, now: DateTime<Utc>) -> alerts::Outcome {
        self.recompute_alerts_of(None, now)
    }

    /// `recompute_alerts_at` after source `only`'s update: only its rules are observed.
    pub fn recompute_alerts_of(
        &mut self,
        only: Option<usize>,
        now: DateTime<Utc>,
    ) -> alerts::Outcome {
        let no_config = self.no_config;
        let views: Vec<SourceView> = self
            .sources
            .iter()
            .map(|s| SourceView {
                kind: s.kind,
                name: &s.name,
                // A localhost default that is not running is not an outage.
                status: if s.not_running(no_config) {
                    &Status::Connecting
                } else {
                    &s.status
                },
                sample: s.sample.as_ref(),
            })
            .collect();
        let outcome = match only {
            Some(i) => self
                .alert_desk
                .evaluate_source(&self.config.alerts, &views, i, now),
            None => self.alert_desk.evaluate(&self.config.alerts, &views, now),
        };
        self.alerts = self.alert_desk.loud(now);
        outcome
    }

    pub fn worst_alert(&self) -> Option<&Alert> {
        self.alerts.first()
    }

    /// The header's local time.
    pub fn local_now(&self) -> DateTime<Local> {
        self.now.with_timezone(&Local)
    }
}

/// The fleet view's state (`app::fleet` drives it): a slot per context.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub open: bool,
    /// One per context, in the config's order (by name); contexts never change at run time.
    pub slots: Vec<crate::fleet::Slot>,
    /// Index into `slots` of the selected context.
    pub selected: usize,
    /// When the round under way started; `None` between rounds.
    pub round_since: Option<DateTime<Utc>>,
    /// When the last complete round ended.
    pub last_round: Option<DateTime<Utc>>,
    /// What is drawn, rebuilt when a row, the selection or the current context changes.
    pub table: Table,
}

impl Fleet {
    pub fn new(config: &Config) -> Fleet {
        Fleet {
            slots: config
                .contexts
                .iter()
                .map(|(name, spec)| crate::fleet::Slot::new(name, spec))
                .collect(),
            ..Default::default()
        }
    }

    /// Contexts with a poll under way.
    pub fn polling(&self) -> usize {
        self.slots.iter().filter(|s| s.polling).count()
    }
}
