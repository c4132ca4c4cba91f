//! The overview tiles and the zoomed view of a pane. Every pane draws from its
//! `views::PaneModel`, so a new system only adds a model, not a drawing routine.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

use super::level_style;
use super::widgets::{self, summary_line};
use crate::app::state::{Pane, State};
use crate::views::{Cell, Level};

fn border_style(state: &State, pane: Pane, level: Level) -> Style {
    let t = &state.theme;
    if state.focus == pane {
        Style::new()
            .fg(t.border_focused)
            .add_modifier(Modifier::BOLD)
    } else if level >= Level::Warn {
        level_style(state, level)
    } else {
        Style::new().fg(t.border)
    }
}

fn pane_level(state: &State, pane: Pane) -> Level {
    let mut level = state.pane_model(pane).level;
    for i in state.pane_sources(pane) {
        if matches!(state.sources[i].status, crate::sources::Status::Error(_)) {
            level = Level::Crit;
        }
    }
    level
}

pub fn draw_tile(f: &mut Frame, area: Rect, state: &State, pane: Pane) {
    let level = pane_level(state, pane);
    let title = Line::from(vec![
        Span::styled(
            format!(" {} ", pane.index() + 1),
            Style::new().fg(state.theme.key),
        ),
        Span::styled(
            format!("{} ", pane.title()),
            Style::new()
                .fg(state.theme.title)
                .add_modifier(Modifier::BOLD),
        ),
    ]);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(title)
        .border_style(border_style(state, pane, level));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    let ids = state.pane_sources(pane);
    match pane {
        Pane::Alerts | Pane::Backups => {
            for s in state.pane_model(pane).tile.iter() {
                lines.push(summary_line(state, s, inner.width));
            }
            if pane == Pane::Backups && ids.is_empty() {
                lines.push(Line::from(Span::styled(
                    "no backup sources configured",
                    Style::new().fg(state.theme.muted),
                )));
            }
        }
        _ => {
            if ids.is_empty() {
                lines.push(Line::from(Span::styled(
                    "none configured in this context",
                    Style::new().fg(state.theme.muted),
                )));
            }
            for i in ids {
                let src = &state.sources[i];
                let (status, lvl) = src.status_line();
                lines.push(Line::from(vec![
                    Span::styled(format!("{} ", src.name), Style::new().fg(state.theme.title)),
                    Span::styled(status, level_style(state, lvl)),
                ]));
                if let Some(m) = &src.model {
                    for s in &m.tile {
                        lines.push(summary_line(state, s, inner.width));
                    }
                }
            }
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
}

pub fn draw_zoomed(f: &mut Frame, area: Rect, state: &State, pane: Pane) {
    let t = &state.theme;
    let model = state.pane_model(pane);
    let ids = state.pane_sources(pane);
    let ps = state.pane_state(pane);
    let mut title = vec![
        Span::styled(format!(" {} ", pane.index() + 1), Style::new().fg(t.key)),
        Span::styled(
            format!("{} ", pane.title()),
            Style::new().fg(t.title).add_modifier(Modifier::BOLD),
        ),
    ];
    let mut status_line = None;
    if matches!(pane, Pane::Kafka | Pane::Postgres | Pane::Redis)
        && let Some(src) = state.current_source(pane)
    {
        let n = ids.len();
        let which = if n > 1 {
            format!(" [{}/{}]", ps.source.min(n - 1) + 1, n)
        } else {
            String::new()
        };
        title.push(Span::styled(
            format!("— {}{which} ", src.name),
            Style::new().fg(t.title),
        ));
        status_line = Some(src.status_line());
    }
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(Line::from(title))
        .border_style(border_style(state, pane, model.level));
    f.render_widget(block, area);
    let mut summary: Vec<Line> = Vec::new();
    if let Some((text, lvl)) = status_line {
        summary.push(Line::from(Span::styled(text, level_style(state, lvl))));
    } else if ids.is_empty() && pane != Pane::Alerts {
        summary.push(Line::from(Span::styled(
            "none configured in this context",
            Style::new().fg(t.muted),
        )));
    }
    for s in &model.summary {
        summary.push(summary_line(state, s, area.width.saturating_sub(2)));
    }
    let [sum_area, tabs_area, table_area] = super::layout::zoomed(area, summary.len() as u16);
    f.render_widget(Paragraph::new(summary), sum_area);
    let current = ps.table.min(model.tables.len().saturating_sub(1));
    let mut tabs = Vec::new();
    for (i, tb) in model.tables.iter().enumerate() {
        let style = if i == current {
            Style::new()
                .fg(t.selection_fg)
                .bg(t.selection_bg)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(t.muted)
        };
        tabs.push(Span::styled(format!(" {} ", tb.title), style));
        tabs.push(Span::raw(" "));
    }
    f.render_widget(Paragraph::new(Line::from(tabs)), tabs_area);
    if let Some(tb) = model.tables.get(current) {
        widgets::table(f, table_area, state, pane, tb);
    }
    if let Some(key) = &ps.detail {
        draw_detail(f, area, state, pane, key, current);
    }
}

fn draw_detail(f: &mut Frame, area: Rect, state: &State, pane: Pane, key: &str, table: usize) {
    let t = &state.theme;
    let model = state.pane_model(pane);
    let from_source = state
        .current_source(pane)
        .and_then(|s| s.sample.as_ref())
        .and_then(|s| s.detail(table, key));
    let rect = widgets::centered(
        area,
        area.width.saturating_sub(6),
        area.height.saturating_sub(4),
    );
    f.render_widget(Clear, rect);
    let (title, lines, tbl) = match from_source {
        Some(d) => (d.title, d.lines, d.table),
        None => {
            // Without a richer detail, show the row as name: value lines.
            let Some(tb) = model.tables.get(table) else {
                return;
            };
            let Some(row) = tb.rows.iter().find(|r| r.key == key) else {
                return;
            };
            let lines = tb
                .columns
                .iter()
                .zip(&row.cells)
                .map(|(c, cell)| {
                    vec![
                        Cell::level(format!("{:<14}", c.name), Level::Muted),
                        cell.clone(),
                    ]
                })
                .collect();
            (key.to_string(), lines, None)
        }
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(format!(" {title} "))
        .border_style(Style::new().fg(t.border_focused));
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let text: Vec<Line> = lines
        .iter()
        .map(|cells| {
            Line::from(
                cells
                    .iter()
                    .map(|c| Span::styled(c.text.clone(), level_style(state, c.level)))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let text_height = (text.len() as u16).min(inner.height);
    f.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }),
        Rect {
            height: text_height,
            ..inner
        },
    );
    if let Some(tb) = tbl {
        let rest = Rect {
            y: inner.y + text_height + 1,
            height: inner.height.saturating_sub(text_height + 1),
            ..inner
        };
        widgets::table(f, rest, state, pane, &tb);
    }
}
