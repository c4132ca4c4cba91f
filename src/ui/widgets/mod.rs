//! Small drawing helpers shared by the panes: summary lines (text, bars, sparklines) and the
//! virtualised table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell as TCell, Paragraph, Row as TRow, Table as TTable};

pub mod columns;

use super::{layout, level_style};
use crate::app::state::{Pane, RowId, State};
use crate::views::{Level, Summary};

pub fn bar(ratio: f64, width: usize) -> (String, String) {
    let filled = ((ratio.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    ("█".repeat(filled), "░".repeat(width - filled))
}

pub fn summary_line(state: &State, s: &Summary, width: u16) -> Line<'static> {
    let t = &state.theme;
    match s {
        // Runbooks and hints name keys as {key:ACTION}: the keys this keymap binds.
        Summary::Text(cells) => Line::from(
            cells
                .iter()
                .map(|c| Span::styled(state.keymap.fill(&c.text), level_style(state, c.level)))
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

/// Draws the focused tab of a pane from its view: only the rows that fit, the selection
/// kept in view, marked rows starred, columns sized to the room (`columns::fit`).
pub fn table(f: &mut Frame, area: Rect, state: &State, pane: Pane) {
    let t = &state.theme;
    let ps = state.pane_state(pane);
    let view = state.view(pane);
    let Some(tab) = view.current_tab() else {
        return;
    };
    let cols = state.tab_columns(tab);
    if view.rows.is_empty() {
        let msg = if ps.filter.is_empty() {
            state
                .tab_table(tab)
                .map(|t| t.empty.clone())
                .unwrap_or_default()
        } else {
            format!("no rows match /{}", ps.filter)
        };
        let fitted = columns::fit(cols, &[], area.width);
        f.render_widget(
            Paragraph::new(vec![
                Line::default(),
                Line::from(Span::styled(msg, Style::new().fg(t.muted))),
            ]),
            area,
        );
        f.render_widget(
            TTable::new(Vec::<TRow>::new(), lengths(&fitted))
                .header(header(state, cols, &fitted))
                .column_spacing(columns::SPACING),
            Rect { height: 1, ..area },
        );
        return;
    }
    let height = area.height.saturating_sub(1) as usize;
    let offset = layout::scroll_offset(view.selected.unwrap_or(0), view.rows.len(), height);
    let window: Vec<(usize, &crate::views::Row)> = view
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .filter_map(|(i, at)| state.row(at).map(|r| (i, r)))
        .collect();
    let content = content_widths(cols, window.iter().map(|(_, r)| *r));
    let fitted = columns::fit(cols, &content, area.width);
    let rows = window.iter().map(|(i, r)| {
        let origin = view.rows[*i].origin;
        let marked = ps.marked.contains(&RowId {
            origin,
            key: r.key.clone(),
        });
        let row = TRow::new(fitted.iter().map(|&(ci, w)| {
            let c = r.cells.get(ci).cloned().unwrap_or_default();
            let text = if ci == 0 && marked {
                format!("*{}", c.text)
            } else {
                c.text
            };
            cell(state, cols.get(ci), text, c.level, w)
        }));
        if view.selected == Some(*i) {
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
        TTable::new(rows, lengths(&fitted))
            .header(header(state, cols, &fitted))
            .column_spacing(columns::SPACING),
        area,
    );
}

/// The widest text of each column among `rows`, its header included.
pub(crate) fn content_widths<'a>(
    cols: &[crate::views::Column],
    rows: impl Iterator<Item = &'a crate::views::Row>,
) -> Vec<u16> {
    let mut w: Vec<u16> = cols.iter().map(|c| c.name.chars().count() as u16).collect();
    for r in rows {
        for (i, c) in r.cells.iter().enumerate().take(w.len()) {
            // A marked row's star takes a cell of the first column.
            let n = c.text.chars().count() as u16 + u16::from(i == 0);
            w[i] = w[i].max(n);
        }
    }
    w
}

pub(crate) fn lengths(fitted: &[(usize, u16)]) -> Vec<Constraint> {
    fitted.iter().map(|(_, w)| Constraint::Length(*w)).collect()
}

pub(crate) fn header(
    state: &State,
    cols: &[crate::views::Column],
    fitted: &[(usize, u16)],
) -> TRow<'static> {
    let t = &state.theme;
    TRow::new(fitted.iter().map(|&(i, _)| {
        let c = &cols[i];
        let line = if c.right {
            Line::from(c.name).right_aligned()
        } else {
            Line::from(c.name)
        };
        TCell::from(line)
    }))
    .style(Style::new().fg(t.muted).add_modifier(Modifier::BOLD))
}

pub(crate) fn cell(
    state: &State,
    col: Option<&crate::views::Column>,
    text: String,
    level: Level,
    width: u16,
) -> TCell<'static> {
    let text = cut(state.keymap.fill(&text), width as usize);
    let line = if col.is_some_and(|c| c.right) {
        Line::from(text).right_aligned()
    } else {
        Line::from(text)
    };
    TCell::from(line).style(level_style(state, level))
}

/// A detail's own table (a group's partitions): every row that fits, nothing selected.
pub fn detail_table(f: &mut Frame, area: Rect, state: &State, table: &crate::views::Table) {
    let rows: Vec<&crate::views::Row> = table
        .rows
        .iter()
        .take(area.height.saturating_sub(1) as usize)
        .collect();
    let content = content_widths(&table.columns, rows.iter().copied());
    let fitted = columns::fit(&table.columns, &content, area.width);
    let drawn = rows.iter().map(|r| {
        TRow::new(fitted.iter().map(|&(ci, w)| {
            let c = r.cells.get(ci).cloned().unwrap_or_default();
            cell(state, table.columns.get(ci), c.text, c.level, w)
        }))
    });
    f.render_widget(
        TTable::new(drawn, lengths(&fitted))
            .header(header(state, &table.columns, &fitted))
            .column_spacing(columns::SPACING),
        area,
    );
}

/// A cell's text cut to its column: a cut cell ends with "…" rather than losing its end
/// silently, and keeps every character that fits (a query's words are all worth reading).
fn cut(text: String, width: usize) -> String {
    if text.chars().count() <= width {
        return text;
    }
    let keep: String = text.chars().take(width.saturating_sub(1)).collect();
    if width == 0 {
        keep
    } else {
        format!("{}…", keep.trim_end())
    }
}

/// A line cut to `width` cells, the cut span ending with "…" (see `fmt::fit`).
pub fn clip(line: Line<'static>, width: u16) -> Line<'static> {
    let width = width as usize;
    if line.width() <= width {
        return line;
    }
    let mut out = Vec::new();
    let mut used = 0;
    for span in line.spans {
        let w = span.width();
        if used + w <= width {
            used += w;
            out.push(span);
            continue;
        }
        let text = crate::views::fmt::fit(&span.content, width.saturating_sub(used));
        out.push(Span::styled(text, span.style));
        break;
    }
    Line::from(out)
}

/// A line broken at spaces into lines of at most `width` cells (styles kept).
pub fn wrap(line: Line<'static>, width: u16) -> Vec<Line<'static>> {
    let width = width as usize;
    if width == 0 || line.width() <= width {
        return vec![line];
    }
    // Words with their styles; a word longer than the width is cut at it.
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut current: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in line.spans {
        for word in span.content.split_inclusive(' ') {
            let w = word.chars().count();
            if used + w.min(width) > width && used > 0 {
                out.push(Line::from(std::mem::take(&mut current)));
                used = 0;
            }
            let piece: String = if w > width {
                word.chars().take(width).collect()
            } else {
                word.to_string()
            };
            used += piece.chars().count();
            current.push(Span::styled(piece, span.style));
        }
    }
    if !current.is_empty() {
        out.push(Line::from(current));
    }
    out
}

/// At most `height` lines of `width` cells: long lines wrapped, and when some do not fit the
/// last shown line says how many more there are.
pub fn fit_lines(
    state: &State,
    lines: Vec<Line<'static>>,
    width: u16,
    height: u16,
) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = lines.into_iter().flat_map(|l| wrap(l, width)).collect();
    let height = height as usize;
    if lines.len() > height && height > 0 {
        let hidden = lines.len() - (height - 1);
        lines.truncate(height - 1);
        lines.push(Line::from(Span::styled(
            format!("+{hidden} more"),
            Style::new().fg(state.theme.muted),
        )));
    }
    lines.into_iter().map(|l| clip(l, width)).collect()
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
