//! Small drawing helpers shared by the panes: summary lines (text, bars, sparklines) and the
//! virtualised table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell as TCell, Paragraph, Row as TRow, Table as TTable};

use super::{layout, level_style};
use crate::app::state::{Pane, RowId, State};
use crate::views::{Column, Level, Summary};

pub fn bar(ratio: f64, width: usize) -> (String, String) {
    let filled = ((ratio.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    ("█".repeat(filled), "░".repeat(width - filled))
}

pub fn summary_line(state: &State, s: &Summary, width: u16) -> Line<'static> {
    let t = &state.theme;
    match s {
        Summary::Text(cells) => Line::from(
            cells
                .iter()
                .map(|c| Span::styled(c.text.clone(), level_style(state, c.level)))
                .collect::<Vec<_>>(),
        ),
        Summary::Gauge {
            label,
            ratio,
            text,
            level,
        } => {
            let w = (width as usize)
                .saturating_sub(label.len() + text.len() + 3)
                .clamp(4, 30);
            let (full, empty) = bar(*ratio, w);
            let bar_style = if *level == Level::Normal || *level == Level::Ok {
                Style::new().fg(t.bar)
            } else {
                level_style(state, *level)
            };
            Line::from(vec![
                Span::styled(format!("{label} "), Style::new().fg(t.muted)),
                Span::styled(full, bar_style),
                Span::styled(empty, Style::new().fg(t.bar_empty)),
                Span::styled(format!(" {text}"), level_style(state, *level)),
            ])
        }
        Summary::Spark { label, data, text } => {
            let w = (width as usize)
                .saturating_sub(label.len() + text.len() + 3)
                .clamp(4, 60);
            Line::from(vec![
                Span::styled(format!("{label} "), Style::new().fg(t.muted)),
                Span::styled(crate::views::fmt::spark(data, w), Style::new().fg(t.spark)),
                Span::styled(format!(" {text}"), Style::new().fg(t.fg)),
            ])
        }
    }
}

/// The columns' constraints within `width`: the last takes the remaining room. When the
/// columns do not fit, a kept column's minimum (stronger than the others' lengths) keeps its
/// width and the others are narrowed instead.
fn column_widths(columns: &[Column], width: u16) -> Vec<Constraint> {
    let needed: usize = columns.iter().map(|c| c.width as usize + 1).sum();
    let overflow = needed.saturating_sub(1) > width as usize;
    let last = columns.len().saturating_sub(1);
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if c.keep && overflow {
                Constraint::Min(c.width)
            } else if i == last {
                Constraint::Fill(1)
            } else {
                Constraint::Length(c.width)
            }
        })
        .collect()
}

/// Draws the focused tab of a pane from its view: only the rows that fit, the selection
/// kept in view, marked rows starred.
pub fn table(f: &mut Frame, area: Rect, state: &State, pane: Pane) {
    let t = &state.theme;
    let ps = state.pane_state(pane);
    let view = state.view(pane);
    let Some(tab) = view.current_tab() else {
        return;
    };
    let columns = state.tab_columns(tab);
    let header = TRow::new(columns.iter().map(|c| TCell::from(c.name)))
        .style(Style::new().fg(t.muted).add_modifier(Modifier::BOLD));
    let widths = column_widths(columns, area.width);
    if view.rows.is_empty() {
        let msg = if ps.filter.is_empty() {
            state
                .tab_table(tab)
                .map(|t| t.empty.clone())
                .unwrap_or_default()
        } else {
            format!("no rows match /{}", ps.filter)
        };
        f.render_widget(
            Paragraph::new(vec![
                Line::default(),
                Line::from(Span::styled(msg, Style::new().fg(t.muted))),
            ]),
            area,
        );
        f.render_widget(
            TTable::new(Vec::<TRow>::new(), widths).header(header),
            Rect { height: 1, ..area },
        );
        return;
    }
    let height = area.height.saturating_sub(1) as usize;
    let offset = layout::scroll_offset(view.selected.unwrap_or(0), view.rows.len(), height);
    let visible = view
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .filter_map(|(i, at)| {
            let r = state.row(at)?;
            let marked = ps.marked.contains(&RowId {
                origin: at.origin,
                key: r.key.clone(),
            });
            let cells = r.cells.iter().enumerate().map(|(ci, c)| {
                let right = columns.get(ci).is_some_and(|col| col.right);
                let text = if ci == 0 && marked {
                    format!("*{}", c.text)
                } else {
                    c.text.clone()
                };
                let line = if right {
                    Line::from(text).right_aligned()
                } else {
                    Line::from(text)
                };
                TCell::from(line).style(level_style(state, c.level))
            });
            let row = TRow::new(cells);
            Some(if view.selected == Some(i) {
                let sel = if t.colourless() {
                    Style::new().add_modifier(Modifier::REVERSED)
                } else {
                    Style::new().fg(t.selection_fg).bg(t.selection_bg)
                };
                row.style(sel)
            } else {
                row
            })
        });
    f.render_widget(
        TTable::new(visible, widths)
            .header(header)
            .column_spacing(1),
        area,
    );
}

/// A detail's own table (a group's partitions): every row that fits, nothing selected.
pub fn detail_table(f: &mut Frame, area: Rect, state: &State, table: &crate::views::Table) {
    let t = &state.theme;
    let header = TRow::new(table.columns.iter().map(|c| TCell::from(c.name)))
        .style(Style::new().fg(t.muted).add_modifier(Modifier::BOLD));
    let widths = column_widths(&table.columns, area.width);
    let rows = table
        .rows
        .iter()
        .take(area.height.saturating_sub(1) as usize)
        .map(|r| {
            TRow::new(r.cells.iter().enumerate().map(|(ci, c)| {
                let line = if table.columns.get(ci).is_some_and(|col| col.right) {
                    Line::from(c.text.clone()).right_aligned()
                } else {
                    Line::from(c.text.clone())
                };
                TCell::from(line).style(level_style(state, c.level))
            }))
        });
    f.render_widget(
        TTable::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

/// A centred rectangle of at most `w`×`h`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
