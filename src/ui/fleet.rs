//! Draws the fleet view from `state.fleet`: the headline, when the rows were polled, then
//! the table of contexts with the selected one highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Row as TRow, Table as TTable};

use super::widgets::{self, columns};
use super::{layout, level_style};
use crate::app::state::State;
use crate::views::Level;

/// Lines above the table: the headline and the polling line.
const SUMMARY: u16 = 2;

/// The table's area within the body (the first line is its header).
fn table_area(body: Rect) -> Rect {
    let inner = Block::bordered().inner(body);
    Rect {
        y: inner.y + SUMMARY,
        height: inner.height.saturating_sub(SUMMARY),
        ..inner
    }
}

fn offset(state: &State, height: u16) -> usize {
    layout::scroll_offset(
        state.fleet.selected,
        state.fleet.table.rows.len(),
        height.saturating_sub(1) as usize,
    )
}

/// Which context (index into the fleet's rows) a screen row shows, if any.
pub fn row_at(state: &State, area: Rect, y: u16) -> Option<usize> {
    let t = table_area(layout::frame(area)[1]);
    if y <= t.y || y >= t.y + t.height {
        return None;
    }
    let i = offset(state, t.height) + (y - t.y - 1) as usize;
    (i < state.fleet.table.rows.len()).then_some(i)
}

fn polling_line(state: &State) -> Line<'static> {
    let f = &state.fleet;
    let every = crate::views::fmt::duration(state.config.fleet_refresh);
    let text = match (f.round_since, f.last_round) {
        (Some(_), _) => format!(
            "polling {} of {} contexts… · every {every}",
            f.polling(),
            f.slots.len()
        ),
        (None, Some(t)) => format!(
            "polled {} · every {every} · r polls now",
            t.with_timezone(&chrono::Local).format("%H:%M:%S")
        ),
        (None, None) => format!("starting… · every {every}"),
    };
    Line::from(Span::styled(text, level_style(state, Level::Muted)))
}

pub fn draw(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let fleet = &state.fleet;
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(Line::from(vec![
            Span::styled(
                " Fleet ",
                Style::new().fg(t.title).add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!("— {} contexts ", fleet.slots.len()),
                Style::new().fg(t.title),
            ),
        ]))
        .border_style(Style::new().fg(t.border_focused));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let answered = fleet.slots.iter().filter_map(|s| s.row.as_ref());
    let summary = vec![
        Line::from(Span::styled(
            crate::fleet::headline(answered),
            Style::new().fg(t.fg),
        )),
        polling_line(state),
    ];
    let summary: Vec<Line> = summary
        .into_iter()
        .map(|l| widgets::clip(l, inner.width))
        .collect();
    f.render_widget(
        Paragraph::new(summary),
        Rect {
            height: SUMMARY.min(inner.height),
            ..inner
        },
    );
    table(f, table_area(area), state);
}

fn table(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let table = &state.fleet.table;
    let cols = &table.columns;
    if table.rows.is_empty() {
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(
                table.empty.clone(),
                Style::new().fg(t.muted),
            ))),
            area,
        );
        return;
    }
    let height = area.height.saturating_sub(1) as usize;
    let offset = offset(state, area.height);
    let window: Vec<(usize, &crate::views::Row)> = table
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .collect();
    let content = widgets::content_widths(cols, window.iter().map(|(_, r)| *r));
    let fitted = columns::fit(cols, &content, area.width);
    let rows = window.iter().map(|(i, r)| {
        let row = TRow::new(fitted.iter().map(|&(ci, w)| {
            let c = r.cells.get(ci).cloned().unwrap_or_default();
            widgets::cell(state, cols.get(ci), c.text, c.level, w)
        }));
        if *i == state.fleet.selected {
            let sel = if t.colourless() {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new().fg(t.selection_fg).bg(t.selection_bg)
            };
            row.style(sel)
        } else {
            row
        }
    });
    f.render_widget(
        TTable::new(rows, widgets::lengths(&fitted))
            .header(widgets::header(state, cols, &fitted))
            .column_spacing(columns::SPACING),
        area,
    );
}

#[cfg(test)]
mod tests;
