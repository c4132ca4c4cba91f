//! What a pane shows, derived from the state once per change (a sample, a key, a filter):
//! its summary lines, its tabs, the rows that pass the filter, which of them is selected,
//! and the keys the selected row offers. Render, mouse hit-testing and command execution all
//! read this one view (`refresh.rs` keeps it up to date), so what is drawn, what is clicked
//! and what a key acts on cannot disagree.

use std::collections::BTreeSet;

use crate::config::keymap::Action;
use crate::sources::Offer;

/// Where a row comes from: a source's model, or the Alerts or Timeline pane's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    Source(usize),
    Alerts,
    Timeline,
}

/// A row's identity: where it comes from and its key. Selection, marks and the open detail
/// follow it across polls; a row that is gone is selected no more.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowId {
    pub origin: Origin,
    pub key: String,
}

/// One line above a zoomed pane's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryLine {
    /// The status of a source ("ok", "error: … — stale since").
    Status(usize),
    /// Line `line` of the summary of a model.
    Model { origin: Origin, line: usize },
    /// "none configured in this context".
    Nothing,
}

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
    pub summary: Vec<SummaryLine>,
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

/// The marked rows' keys of one origin.
pub fn marked_keys(marked: &BTreeSet<RowId>, origin: Origin) -> BTreeSet<String> {
    marked
        .iter()
        .filter(|m| m.origin == origin)
        .map(|m| m.key.clone())
        .collect()
}
