//! Keeps each pane's view (`view.rs`) up to date: rebuilt by `update` when a sample, the
//! tab, the filter or the selection changes, and the accessors render reads it through.

use super::state::{Pane, State};
use super::view::{Origin, PaneView, RowAt, RowId, SummaryLine, Tab, marked_keys};
use crate::config::keymap::Action;
use crate::sources::{At, Availability, Offer, Status};
use crate::views::{Column, PaneModel, Row, Table};

impl State {
    /// The model rows of `origin` come from.
    pub fn model(&self, origin: Origin) -> Option<&PaneModel> {
        match origin {
            Origin::Source(i) => self.sources.get(i)?.model.as_ref(),
            Origin::Alerts => Some(&self.alerts_model),
            Origin::Timeline => Some(&self.timeline_model),
        }
    }

    pub fn row(&self, at: &RowAt) -> Option<&Row> {
        self.model(at.origin)?
            .tables
            .get(at.table)?
            .rows
            .get(at.row)
    }

    /// The selected row of a pane's view, if any.
    pub fn selected(&self, pane: Pane) -> Option<(&RowAt, &Row)> {
        let v = self.view(pane);
        let at = v.rows.get(v.selected?)?;
        Some((at, self.row(at)?))
    }

    /// Brings a view left stale by `update::step` up to date (before a frame is drawn).
    pub fn settle(&mut self) {
        if self.alerts_stale {
            self.refresh(Pane::Alerts);
        }
    }

    /// Rebuilds what a pane shows after its sources, tab, filter or selection changed.
    pub fn refresh(&mut self, pane: Pane) {
        if pane == Pane::Alerts {
            self.alerts_stale = false;
            self.rebuild_alerts_model();
        }
        if pane == Pane::Timeline {
            self.rebuild_timeline_model();
        }
        self.views[pane.index()] = build(self, pane);
        // Until the person chooses, the first row is selected; a chosen row that vanished
        // stays selected by key (and so selects nothing) until the person moves.
        let v = &self.views[pane.index()];
        let first = v.rows.first().and_then(|at| {
            self.row(at).map(|r| RowId {
                origin: at.origin,
                key: r.key.clone(),
            })
        });
        let ps = &mut self.panes[pane.index()];
        if !ps.chosen && first.is_some() && ps.selected != first {
            ps.selected = first;
            if pane == Pane::Alerts {
                self.rebuild_alerts_model();
            }
            if pane == Pane::Timeline {
                self.rebuild_timeline_model();
            }
            self.views[pane.index()] = build(self, pane);
        }
    }

    /// Opens tab `table` of a pane with nothing selected yet (its first row will be).
    pub fn set_tab(&mut self, pane: Pane, table: usize) {
        let ps = self.pane_state_mut(pane);
        ps.table = table;
        ps.selected = None;
        ps.chosen = false;
        ps.detail = None;
        self.refresh(pane);
    }

    pub fn refresh_all(&mut self) {
        for p in Pane::ALL {
            self.refresh(p);
        }
    }

    /// The first table of a tab: its columns and its empty-table text.
    pub fn tab_table(&self, tab: &Tab) -> Option<&Table> {
        let &(o, i) = tab.parts.first()?;
        self.model(o)?.tables.get(i)
    }

    pub fn tab_columns(&self, tab: &Tab) -> &[Column] {
        self.tab_table(tab)
            .map(|t| t.columns.as_slice())
            .unwrap_or(&[])
    }

    /// The Timeline pane's source filter: `n` cycles through all sources, then each one.
    pub fn timeline_source(&self) -> Option<(&'static str, &str)> {
        let i = self.pane_state(Pane::Timeline).source;
        let s = self.sources.get(i.checked_sub(1)?)?;
        Some((s.kind.label(), s.name.as_str()))
    }

    fn rebuild_timeline_model(&mut self) {
        let ps = self.pane_state(Pane::Timeline);
        let model = crate::timeline::pane::model(
            &self.timeline,
            &crate::timeline::pane::Selection {
                context: &self.context,
                source: self.timeline_source(),
                selected: ps.selected.as_ref().map(|r| r.key.as_str()),
            },
            self.alert_desk.clock.unwrap_or(self.now),
        );
        self.timeline_model = model;
    }

    fn rebuild_alerts_model(&mut self) {
        use crate::alerts::pane;
        // The rules are the console's for its whole run: their table is built once.
        let rules = match self.alerts_model.tables.pop() {
            Some(t) if t.title == pane::RULES => t,
            _ => pane::rules_table(&self.config.alerts),
        };
        let ps = self.pane_state(Pane::Alerts);
        self.alerts_model = pane::with_rules(
            &self.alert_desk,
            &self.config.alerts,
            &pane::Selection {
                key: ps.selected.as_ref().map(|r| r.key.as_str()),
                index: 0,
                filter: &ps.filter,
                table: ps.table,
            },
            self.alert_desk.clock.unwrap_or(self.now),
            rules,
        );
    }
}

/// The models a pane draws from.
fn origins(state: &State, pane: Pane) -> Vec<Origin> {
    if pane == Pane::Alerts {
        return vec![Origin::Alerts];
    }
    if pane == Pane::Timeline {
        return vec![Origin::Timeline];
    }
    if pane.merges_sources() {
        state
            .pane_sources(pane)
            .into_iter()
            .map(Origin::Source)
            .collect()
    } else {
        state
            .current_source_index(pane)
            .map(Origin::Source)
            .into_iter()
            .collect()
    }
}

fn build(state: &State, pane: Pane) -> PaneView {
    let ps = state.pane_state(pane);
    let origins = origins(state, pane);
    let mut tabs: Vec<Tab> = Vec::new();
    for &o in &origins {
        let Some(m) = state.model(o) else { continue };
        for (i, t) in m.tables.iter().enumerate() {
            match tabs.iter_mut().find(|x| x.title == t.title) {
                Some(tab) => tab.parts.push((o, i)),
                None => tabs.push(Tab {
                    title: t.title.clone(),
                    parts: vec![(o, i)],
                }),
            }
        }
    }
    let tab = ps.table.min(tabs.len().saturating_sub(1));
    let filter = ps.filter.to_lowercase();
    let mut rows = Vec::new();
    if let Some(t) = tabs.get(tab) {
        for &(origin, table) in &t.parts {
            let Some(tb) = state.model(origin).and_then(|m| m.tables.get(table)) else {
                continue;
            };
            rows.extend(
                tb.rows
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| filter.is_empty() || r.matches(&filter))
                    .map(|(row, _)| RowAt { origin, table, row }),
            );
        }
    }
    let selected = ps.selected.as_ref().and_then(|id| {
        rows.iter().position(|at| {
            at.origin == id.origin
                && state
                    .model(at.origin)
                    .and_then(|m| m.tables.get(at.table)?.rows.get(at.row))
                    .is_some_and(|r| r.key == id.key)
        })
    });
    let summary = summary(state, pane, &origins);
    let mut view = PaneView {
        origins,
        summary,
        tabs,
        tab,
        rows,
        selected,
        offers: Vec::new(),
    };
    view.offers = offers(state, pane, &view);
    view
}

/// The lines above the tabs: a lone source's status, or the merged sources in trouble, then
/// each model's summary.
fn summary(state: &State, pane: Pane, origins: &[Origin]) -> Vec<SummaryLine> {
    let mut out = Vec::new();
    if pane != Pane::Alerts && pane != Pane::Timeline && origins.is_empty() {
        out.push(SummaryLine::Nothing);
    }
    for &o in origins {
        if let Origin::Source(i) = o
            && (!pane.merges_sources() || state.sources[i].status != Status::Ok)
        {
            out.push(SummaryLine::Status(i));
        }
        if let Some(m) = state.model(o) {
            out.extend((0..m.summary.len()).map(|line| SummaryLine::Model { origin: o, line }));
        }
    }
    out
}

/// The keys of the selected row: the system's verbs that apply there, or the Alerts pane's
/// inbox keys.
fn offers(state: &State, pane: Pane, view: &PaneView) -> Vec<Offer> {
    let ps = state.pane_state(pane);
    let selected = view.selected.and_then(|i| view.rows.get(i));
    if pane == Pane::Alerts {
        let live = selected
            .and_then(|at| state.row(at))
            .is_some_and(|r| state.alert_desk.is_live(&r.key));
        return [Action::Ack, Action::Silence]
            .into_iter()
            .map(|action| Offer {
                action,
                label: action.hint(),
                availability: if live {
                    Availability::Ready
                } else {
                    Availability::Refused(
                        "only a firing or pending alert can be acked or silenced".into(),
                    )
                },
            })
            .collect();
    }
    // With no row selected, the tab's first table of the shown source answers (verbs that
    // need no row, such as creating a topic).
    let (origin, table, key) = match selected {
        Some(at) => (at.origin, at.table, state.row(at).map(|r| r.key.as_str())),
        None => match view.current_tab().and_then(|t| t.parts.first()) {
            Some(&(o, t)) => (o, t, None),
            None => return Vec::new(),
        },
    };
    let Origin::Source(i) = origin else {
        return Vec::new();
    };
    let Some(sample) = state.sources.get(i).and_then(|s| s.sample.as_ref()) else {
        return Vec::new();
    };
    let marked = marked_keys(&ps.marked, origin);
    sample.offers(&At {
        table,
        key,
        marked: &marked,
    })
}
