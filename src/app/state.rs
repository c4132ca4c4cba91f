//! The console's state, owned by the loop. Render reads it; only `update` changes it.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::{DateTime, Local};

use crate::actions::Command;
use crate::alerts::{self, Alert, SourceView};
use crate::config::keymap::Keymap;
use crate::config::{Config, ContextSpec};
use crate::sources::{Sample, SourceKind, SourceSpec, Status};
use crate::theme::Theme;
use crate::views::{Cell, Column, Level, PaneModel, Row, Summary, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Kafka,
    Postgres,
    Redis,
    Backups,
    Alerts,
    Host,
}

impl Pane {
    pub const ALL: [Pane; 6] = [
        Pane::Kafka,
        Pane::Postgres,
        Pane::Redis,
        Pane::Backups,
        Pane::Alerts,
        Pane::Host,
    ];

    pub fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Kafka => "Kafka",
            Pane::Postgres => "Databases",
            Pane::Redis => "Redis",
            Pane::Backups => "Backups",
            Pane::Alerts => "Alerts",
            Pane::Host => "Host",
        }
    }

    /// The `:` command that focuses it.
    pub fn command(self) -> &'static str {
        match self {
            Pane::Kafka => "kafka",
            Pane::Postgres => "pg",
            Pane::Redis => "redis",
            Pane::Backups => "backups",
            Pane::Alerts => "alerts",
            Pane::Host => "host",
        }
    }

    pub fn of(kind: SourceKind) -> Pane {
        match kind {
            SourceKind::Kafka => Pane::Kafka,
            SourceKind::Postgres => Pane::Postgres,
            SourceKind::Redis => Pane::Redis,
            SourceKind::Backup => Pane::Backups,
            SourceKind::Host | SourceKind::Endpoint => Pane::Host,
        }
    }
}

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
    /// Which source of the pane's kind is shown when zoomed.
    pub source: usize,
    /// Which table (tab) of the zoomed pane.
    pub table: usize,
    pub selected: usize,
    pub selected_key: Option<String>,
    pub filter: String,
    pub marked: BTreeSet<String>,
    /// The row whose detail is open.
    pub detail: Option<String>,
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

/// A guarded action waiting for a typed parameter (a count, a duration, a name).
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub action: crate::config::keymap::Action,
    pub table: usize,
    pub key: String,
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
    pub panes: [PaneState; 6],
    pub mode: Mode,
    pub message: Option<(String, Level)>,
    /// Firing, unsilenced alerts, worst first (the header shows the first).
    pub alerts: Vec<Alert>,
    /// Alert engine, persisted inbox (acks, silences, history) and Alertmanager's alerts.
    pub alert_desk: alerts::Desk,
    pub now: DateTime<Local>,
    pub size: (u16, u16),
    pub quit: bool,
    /// Something visible changed since the last frame.
    pub dirty: bool,
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
            mode: Mode::Normal,
            message: None,
            alerts: Vec::new(),
            alert_desk: alerts::Desk::default(),
            now: Local::now(),
            size: (80, 24),
            quit: false,
            dirty: true,
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
        self.panes = Default::default();
        self.alerts.clear();
        self.alert_desk.engine = Default::default();
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

    /// Indices (into `sources`) of the sources shown in a pane.
    pub fn pane_sources(&self, pane: Pane) -> Vec<usize> {
        self.sources
            .iter()
            .enumerate()
            .filter(|(_, s)| Pane::of(s.kind) == pane)
            .map(|(i, _)| i)
            .collect()
    }

    /// The source a zoomed single-system pane shows.
    pub fn current_source(&self, pane: Pane) -> Option<&SourceState> {
        let ids = self.pane_sources(pane);
        let i = self
            .pane_state(pane)
            .source
            .min(ids.len().saturating_sub(1));
        ids.get(i).map(|&i| &self.sources[i])
    }

    pub fn recompute_alerts(&mut self) -> alerts::Outcome {
        self.recompute_alerts_at(chrono::Utc::now())
    }

    /// Evaluates the rules over the latest samples at `now`.
    pub fn recompute_alerts_at(&mut self, now: chrono::DateTime<chrono::Utc>) -> alerts::Outcome {
        let views: Vec<SourceView> = self
            .sources
            .iter()
            .map(|s| SourceView {
                kind: s.kind,
                name: &s.name,
                status: &s.status,
                sample: s.sample.as_ref(),
            })
            .collect();
        let outcome = self.alert_desk.evaluate(&self.config.alerts, &views, now);
        self.alerts = self.alert_desk.loud(now);
        outcome
    }

    pub fn worst_alert(&self) -> Option<&Alert> {
        self.alerts.first()
    }

    /// What the zoomed pane shows. Single-system panes borrow their source's model; Backups,
    /// Alerts and Host combine several sources.
    pub fn pane_model(&self, pane: Pane) -> Cow<'_, PaneModel> {
        match pane {
            Pane::Kafka | Pane::Postgres | Pane::Redis => {
                match self.current_source(pane).and_then(|s| s.model.as_ref()) {
                    Some(m) => Cow::Borrowed(m),
                    None => Cow::Owned(PaneModel::default()),
                }
            }
            Pane::Backups => Cow::Owned(self.backups_model()),
            Pane::Alerts => Cow::Owned(self.alerts_model()),
            Pane::Host => Cow::Owned(self.host_model()),
        }
    }

    fn backups_model(&self) -> PaneModel {
        let mut m = PaneModel::default();
        let mut rows = Vec::new();
        for i in self.pane_sources(Pane::Backups) {
            let s = &self.sources[i];
            if let Some(Sample::Backup(b)) = &s.sample {
                m.level = m.level.max(b.level());
                m.tile.push(Summary::text(vec![
                    Cell::new(format!("{} ", b.name)),
                    Cell::level(b.verdict.label(), b.level()),
                ]));
                rows.push(Row::new(
                    b.name.clone(),
                    vec![
                        Cell::new(b.name.clone()),
                        Cell::new(b.kind.clone()),
                        Cell::level(b.verdict.label(), b.level()),
                        Cell::new(b.reason.clone()),
                    ],
                ));
            }
        }
        m.tables.push(Table {
            title: "Backups".into(),
            columns: vec![
                Column::left("NAME", 16),
                Column::left("KIND", 12),
                Column::left("VERDICT", 8),
                Column::left("REASON", 30),
            ],
            rows,
            empty: "no backup sources configured (add [[contexts.NAME.backups]])".into(),
        });
        m
    }

    fn alerts_model(&self) -> PaneModel {
        let ps = self.pane_state(Pane::Alerts);
        alerts::pane::model(
            &self.alert_desk,
            &self.config.alerts,
            &alerts::pane::Selection {
                key: ps.selected_key.as_deref(),
                index: ps.selected,
                filter: &ps.filter,
                table: ps.table,
            },
            self.alert_desk.clock.unwrap_or_else(chrono::Utc::now),
        )
    }

    fn host_model(&self) -> PaneModel {
        let mut m = self
            .sources
            .iter()
            .find(|s| s.kind == SourceKind::Host)
            .and_then(|s| s.model.clone())
            .unwrap_or_default();
        let endpoints: Vec<&SourceState> = self
            .sources
            .iter()
            .filter(|s| s.kind == SourceKind::Endpoint)
            .collect();
        if !endpoints.is_empty() {
            let rows = endpoints
                .iter()
                .map(|s| {
                    let (status, level) = s.status_line();
                    let latency = match &s.sample {
                        Some(Sample::Endpoint(e)) => match (&e.error, e.latency_ms) {
                            (Some(err), _) => format!("DOWN {err}"),
                            (None, Some(ms)) => format!("{ms:.1} ms"),
                            (None, None) => "-".into(),
                        },
                        _ => "-".into(),
                    };
                    m.level = m.level.max(if level == Level::Crit {
                        Level::Crit
                    } else {
                        Level::Normal
                    });
                    Row::new(
                        s.name.clone(),
                        vec![
                            Cell::new(s.name.clone()),
                            Cell::new(latency),
                            Cell::level(status, level),
                        ],
                    )
                })
                .collect();
            m.tables.push(Table {
                title: "Endpoints".into(),
                columns: vec![
                    Column::left("ENDPOINT", 20),
                    Column::right("LATENCY", 10),
                    Column::left("STATUS", 30),
                ],
                rows,
                empty: String::new(),
            });
        }
        m
    }

    /// The rows of the focused table after the filter.
    pub fn visible_rows<'a>(&self, pane: Pane, model: &'a PaneModel) -> Vec<&'a Row> {
        let ps = self.pane_state(pane);
        match model
            .tables
            .get(ps.table.min(model.tables.len().saturating_sub(1)))
        {
            Some(t) => t
                .rows
                .iter()
                .filter(|r| ps.filter.is_empty() || r.matches(&ps.filter))
                .collect(),
            None => Vec::new(),
        }
    }

    pub fn selected_row<'a>(&self, pane: Pane, model: &'a PaneModel) -> Option<&'a Row> {
        let rows = self.visible_rows(pane, model);
        let ps = self.pane_state(pane);
        if let Some(key) = &ps.selected_key
            && let Some(r) = rows.iter().find(|r| &r.key == key)
        {
            return Some(r);
        }
        rows.get(ps.selected.min(rows.len().saturating_sub(1)))
            .copied()
    }
}
