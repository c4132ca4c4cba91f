//! Where things go on the screen: pure functions of the terminal size, shared by render and
//! by mouse handling in `update`.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::state::{Pane, State};

/// Header line, body, message line, hint bar.
pub fn frame(area: Rect) -> [Rect; 4] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Rows of the overview's timeline strip: a box of the last events where the screen is tall
/// enough, else one line with the newest.
pub fn strip_height(body: Rect) -> u16 {
    if body.height >= 30 {
        (body.height / 6).clamp(5, 9)
    } else {
        1
    }
}

/// The overview: the tiles, 3 columns × 2 rows when wide, else 2 × 3, and the Timeline's
/// strip under them.
pub fn tiles(area: Rect) -> Vec<(Pane, Rect)> {
    let body = frame(area)[1];
    let strip = strip_height(body).min(body.height.saturating_sub(3));
    let [grid, strip_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(strip)]).areas(body);
    let panes: Vec<Pane> = Pane::ALL
        .iter()
        .copied()
        .filter(|p| *p != Pane::Timeline)
        .collect();
    let cols = if grid.width >= 120 { 3 } else { 2 };
    let rows = panes.len().div_ceil(cols);
    let row_areas = Layout::vertical(vec![Constraint::Ratio(1, rows as u32); rows]).split(grid);
    let mut out = Vec::new();
    for (r, row) in row_areas.iter().enumerate() {
        let cells = Layout::horizontal(vec![Constraint::Ratio(1, cols as u32); cols]).split(*row);
        for (c, cell) in cells.iter().enumerate() {
            if let Some(p) = panes.get(r * cols + c) {
                out.push((*p, *cell));
            }
        }
    }
    out.push((Pane::Timeline, strip_area));
    out
}

/// A zoomed pane: summary on top (its height), tabs, then the table.
pub fn zoomed(body: Rect, summary_lines: u16) -> [Rect; 3] {
    let inner = Rect {
        x: body.x + 1,
        y: body.y + 1,
        width: body.width.saturating_sub(2),
        height: body.height.saturating_sub(2),
    };
    let summary = summary_lines.min(inner.height / 2);
    Layout::vertical([
        Constraint::Length(summary),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner)
}

/// Which visible table row (0-based, after scrolling) a screen row is, if any.
pub fn table_row_at(state: &State, area: Rect, y: u16) -> Option<usize> {
    let view = state.view(state.focus);
    let [_, _, table] = zoomed(frame(area)[1], summary_height(state, state.focus));
    // First line of the table area is the column header.
    if y <= table.y || y >= table.y + table.height {
        return None;
    }
    let rows = view.rows.len();
    let offset = scroll_offset(
        view.selected.unwrap_or(0),
        rows,
        table.height.saturating_sub(1) as usize,
    );
    let i = offset + (y - table.y - 1) as usize;
    (i < rows).then_some(i)
}

/// Lines above the tabs of a zoomed pane: the status of its sources, then their summaries.
pub fn summary_height(state: &State, pane: Pane) -> u16 {
    state.view(pane).summary.len() as u16
}

/// First visible row so the selection stays on screen.
pub fn scroll_offset(selected: usize, rows: usize, height: usize) -> usize {
    if height == 0 || rows <= height {
        0
    } else {
        selected.saturating_sub(height - 1).min(rows - height)
    }
}
