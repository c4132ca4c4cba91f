//! What a pane shows, derived from the state once per change (a sample, a key, a filter):
//! its tabs, the rows that pass the filter, which of them is selected, and the keys the
//! selected row offers. Render, mouse hit-testing and command execution all read this one
//! view, so what is drawn, what is clicked and what a key acts on cannot disagree.

use std::collections::BTreeSet;

use super::state::{Origin, Pane, RowId, State};
use crate::config::keymap::Action;
use crate::sources::{At, Availability, Offer, Status};
use crate::views::{Column, Table};

/// A tab: the tables of that title in each shown source's model (one for a pane that shows
/// one source; one per source for Backups and Host, whose sources share the tables).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tab {
    pub title: String,
    pub parts: Vec<(Origin, usize)>,
}

/// A visible row: which model, which of its tables, which row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowAt {
    pub origin: Origin,
    pub table: usize,
    pub row: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaneView {
    /// The models shown, in order.
    pub origins: Vec<Origin>,
    pub tabs: Vec<Tab>,
    /// The current tab (clamped to the tabs there are).
    pub tab: usize,
    /// Rows of the current tab that pass the filter.
    pub rows: Vec<RowAt>,
    /// Index into `rows` of the selected row.
    pub selected: Option<usize>,
    /// The keys the selected row (or, with none, the tab) offers.
    pub offers: Vec<Offer>,
}

impl PaneView {
    pub fn current_tab(&self) -> Option<&Tab> {
        self.tabs.get(self.tab)
    }

    pub fn offer(&self, action: Action) -> Option<&Offer> {
        self.offers.iter().find(|o| o.action == action)
    }
}

/// The models a pane draws from.
fn origins(state: &State, pane: Pane) -> Vec<Origin> {
    if pane == Pane::Alerts {
        return vec![Origin::Alerts];
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

pub fn build(state: &State, pane: Pane) -> PaneView {
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
    let mut view = PaneView {
        origins,
        tabs,
        tab,
        rows,
        selected,
        offers: Vec::new(),
    };
    view.offers = offers(state, pane, &view);
    view
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

/// The marked rows' keys of one origin.
pub fn marked_keys(marked: &BTreeSet<RowId>, origin: Origin) -> BTreeSet<String> {
    marked
        .iter()
        .filter(|m| m.origin == origin)
        .map(|m| m.key.clone())
        .collect()
}

/// The columns and the empty-table text of a tab (its first table's).
pub fn tab_table<'a>(state: &'a State, tab: &Tab) -> Option<&'a Table> {
    let &(o, i) = tab.parts.first()?;
    state.model(o)?.tables.get(i)
}

pub fn columns<'a>(state: &'a State, tab: &Tab) -> &'a [Column] {
    tab_table(state, tab)
        .map(|t| t.columns.as_slice())
        .unwrap_or(&[])
}

/// Whether any source of the pane failed its last poll.
pub fn any_error(state: &State, pane: Pane) -> bool {
    state
        .pane_sources(pane)
        .iter()
        .any(|&i| matches!(state.sources[i].status, Status::Error(_)))
}
