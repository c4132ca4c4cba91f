//! The overview tiles and the zoomed view of a pane. Every pane draws from its sources'
//! `views::PaneModel`s through the pane's view (`app::view`), so a new system only adds a
//! model, not a drawing routine.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

use super::level_style;
use super::widgets::{self, summary_line};
use crate::app::state::{Origin, Pane, RowId, SourceState, State};
use crate::app::view::SummaryLine;
use crate::sources::Status;
use crate::views::{Cell, Level, Summary};

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

/// The worst level a pane shows: its models', critical when a source is unreachable.
pub fn pane_level(state: &State, pane: Pane) -> Level {
    if pane == Pane::Alerts {
        return state.alerts_model.level;
    }
    if pane == Pane::Timeline {
        return state.timeline_model.level;
    }
    state
        .pane_sources(pane)
        .into_iter()
        .map(|i| source_level(state, &state.sources[i]))
        .max()
        .unwrap_or(Level::Normal)
}

/// A source's worst level: its model's, critical while unreachable (a localhost default
/// that is not running is not an outage).
fn source_level(state: &State, s: &SourceState) -> Level {
    if s.not_running(state.no_config) {
        return Level::Muted;
    }
    let model = s.model.as_ref().map_or(Level::Normal, |m| m.level);
    if matches!(s.status, Status::Error(_)) {
        Level::Crit
    } else {
        model
    }
}

/// The worst level of a tile line, to order lines by.
fn line_level(s: &Summary) -> Level {
    match s {
        Summary::Text(cells) => cells.iter().map(|c| c.level).max().unwrap_or_default(),
        Summary::Gauge { level, .. } => *level,
        Summary::Spark { .. } => Level::Normal,
    }
}

fn title(state: &State, pane: Pane) -> Vec<Span<'static>> {
    vec![
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
    ]
}

fn muted(state: &State, text: &str) -> Line<'static> {
    Line::from(Span::styled(
        text.to_string(),
        Style::new().fg(state.theme.muted),
    ))
}

/// "name status" for a source.
fn source_line(state: &State, src: &SourceState) -> Line<'static> {
    let (status, lvl) = src.status_line();
    Line::from(vec![
        Span::styled(format!("{} ", src.name), Style::new().fg(state.theme.title)),
        Span::styled(status, level_style(state, lvl)),
    ])
}

fn nothing_configured(pane: Pane) -> &'static str {
    match pane {
        Pane::Backups => "no backup sources configured",
        _ => "none configured in this context",
    }
}

pub fn draw_tile(f: &mut Frame, area: Rect, state: &State, pane: Pane) {
    if pane == Pane::Timeline {
        return draw_strip(f, area, state);
    }
    let level = pane_level(state, pane);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(Line::from(title(state, pane)))
        .border_style(border_style(state, pane, level));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    if pane == Pane::Alerts {
        lines.extend(defaults_hint(state));
        for s in &state.alerts_model.tile {
            lines.push(summary_line(state, s, inner.width));
        }
    } else {
        let ids = state.pane_sources(pane);
        if ids.is_empty() {
            lines.push(muted(state, nothing_configured(pane)));
        }
        // Worst source first; within it, worst line first; a healthy source is one line.
        let mut blocks: Vec<(Level, Vec<Line>)> = ids
            .iter()
            .map(|&i| {
                let src = &state.sources[i];
                (
                    source_level(state, src),
                    source_lines(state, src, inner.width),
                )
            })
            .collect();
        blocks.sort_by_key(|(l, _)| std::cmp::Reverse(*l));
        lines.extend(blocks.into_iter().flat_map(|(_, l)| l));
    }
    let lines = widgets::fit_lines(state, lines, inner.width, inner.height);
    f.render_widget(Paragraph::new(lines), inner);
}

/// One source in its tile: a single line when healthy ("name ok · headline"), else its
/// status and its lines, the worst first.
fn source_lines(state: &State, src: &SourceState, width: u16) -> Vec<Line<'static>> {
    let names_itself =
        src.kind.tile_names_source() && src.model.is_some() && src.status == Status::Ok;
    if src.not_running(state.no_config) {
        let target = state
            .specs()
            .iter()
            .find(|s| s.kind() == src.kind && s.name() == src.name)
            .map(|s| address(&s.target()))
            .unwrap_or_default();
        return vec![Line::from(vec![
            Span::styled(format!("{} ", src.name), Style::new().fg(state.theme.title)),
            Span::styled(
                format!("not running on {target}"),
                level_style(state, Level::Muted),
            ),
        ])];
    }
    let tile: &[Summary] = src.model.as_ref().map_or(&[], |m| m.tile.as_slice());
    let healthy = src.status == Status::Ok && source_level(state, src) < Level::Warn;
    if healthy && let Some(first) = tile.first() {
        let headline = summary_line(state, first, width);
        if names_itself {
            return vec![widgets::clip(headline, width)];
        }
        let mut spans = source_line(state, src).spans;
        spans.push(Span::styled(" · ", Style::new().fg(state.theme.muted)));
        spans.extend(headline.spans);
        // One line, cut rather than wrapped: the room is for the sources in trouble.
        return vec![widgets::clip(Line::from(spans), width)];
    }
    let mut sorted: Vec<&Summary> = tile.iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(line_level(s)));
    let prefixed = src.status == Status::Ok && !names_itself;
    let mut lines: Vec<Line<'static>> = sorted
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            // The first line makes room for the name in front of it (a gauge's bar).
            let room = if i == 0 && prefixed {
                width.saturating_sub(src.name.chars().count() as u16 + 1)
            } else {
                width
            };
            summary_line(state, s, room)
        })
        .collect();
    if names_itself {
        return lines;
    }
    // Answering but in trouble: its name leads its worst line ("main 3 groups, 1 not OK").
    if src.status == Status::Ok && !lines.is_empty() {
        let mut spans = vec![Span::styled(
            format!("{} ", src.name),
            Style::new().fg(state.theme.title),
        )];
        spans.extend(lines.remove(0).spans);
        lines.insert(0, Line::from(spans));
        return lines;
    }
    let mut out = vec![source_line(state, src)];
    out.extend(lines);
    out
}

/// host:port of a target ("postgres://postgres@127.0.0.1:5432/postgres" → "127.0.0.1:5432").
fn address(target: &str) -> String {
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

/// With no config file, the Alerts tile says what is checked and how to point elsewhere.
fn defaults_hint(state: &State) -> Vec<Line<'static>> {
    if !state.no_config {
        return vec![];
    }
    let specs = state.specs();
    let down: Vec<String> = state
        .sources
        .iter()
        .filter(|s| s.not_running(true))
        .filter_map(|s| {
            specs
                .iter()
                .find(|x| x.kind() == s.kind && x.name() == s.name)
                .map(|x| format!("  {} {}", s.kind.label(), address(&x.target())))
        })
        .collect();
    let mut out = vec![Line::from(Span::styled(
        "no config file: localhost defaults".to_string(),
        level_style(state, Level::Info),
    ))];
    if !down.is_empty() {
        out.push(muted(state, "not running:"));
        out.extend(down.iter().map(|d| muted(state, d)));
    }
    out.push(muted(state, "to point elsewhere: --config FILE,"));
    out.push(muted(state, "or `opsdeck config init` to write one"));
    out
}

/// The overview's strip of the last events: a box when there is room, else one line.
fn draw_strip(f: &mut Frame, area: Rect, state: &State) {
    let pane = Pane::Timeline;
    let m = &state.timeline_model;
    if area.height < 3 {
        let mut spans = title(state, pane);
        match m.tile.first() {
            Some(s) => spans.extend(summary_line(state, s, area.width).spans),
            None => spans.push(Span::styled(
                "no events yet",
                Style::new().fg(state.theme.muted),
            )),
        }
        let line = widgets::clip(Line::from(spans), area.width);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(Line::from(title(state, pane)))
        .border_style(border_style(state, pane, m.level));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let lines: Vec<Line> = if m.tile.is_empty() {
        vec![muted(state, "no events yet in this context")]
    } else {
        m.tile
            .iter()
            .take(inner.height as usize)
            .map(|s| widgets::clip(summary_line(state, s, inner.width), inner.width))
            .collect()
    };
    f.render_widget(Paragraph::new(lines), inner);
}

/// The lines above a zoomed pane's tabs, as the view lists them.
fn summary_lines(state: &State, pane: Pane, width: u16) -> Vec<Line<'static>> {
    state
        .view(pane)
        .summary
        .iter()
        .filter_map(|l| match *l {
            SummaryLine::Nothing => Some(muted(state, nothing_configured(pane))),
            SummaryLine::Status(i) => {
                let src = &state.sources[i];
                Some(if pane.merges_sources() {
                    source_line(state, src)
                } else {
                    let (text, lvl) = src.status_line();
                    Line::from(Span::styled(text, level_style(state, lvl)))
                })
            }
            SummaryLine::Model { origin, line } => state
                .model(origin)?
                .summary
                .get(line)
                .map(|s| summary_line(state, s, width)),
        })
        .collect()
}

pub fn draw_zoomed(f: &mut Frame, area: Rect, state: &State, pane: Pane) {
    let t = &state.theme;
    let v = state.view(pane);
    let ps = state.pane_state(pane);
    let mut title = title(state, pane);
    if pane == Pane::Timeline {
        let which = match state.timeline_source() {
            Some((system, source)) => crate::note::origin(system, source),
            None => "all sources".to_string(),
        };
        title.push(Span::styled(
            format!("— {which} "),
            Style::new().fg(t.title),
        ));
    }
    if !pane.merges_sources()
        && pane != Pane::Alerts
        && let Some(src) = state.current_source(pane)
    {
        let n = state.pane_sources(pane).len();
        let which = if n > 1 {
            format!(" [{}/{}]", ps.source.min(n - 1) + 1, n)
        } else {
            String::new()
        };
        title.push(Span::styled(
            format!("— {}{which} ", src.name),
            Style::new().fg(t.title),
        ));
    }
    if !ps.filter.is_empty() {
        title.push(Span::styled(
            format!("/{} ", ps.filter),
            Style::new().fg(t.info),
        ));
    }
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(Line::from(title))
        .border_style(border_style(state, pane, pane_level(state, pane)));
    f.render_widget(block, area);
    let width = area.width.saturating_sub(2);
    let summary: Vec<Line> = summary_lines(state, pane, width)
        .into_iter()
        .map(|l| widgets::clip(l, width))
        .collect();
    let [sum_area, tabs_area, table_area] = super::layout::zoomed(area, summary.len() as u16);
    f.render_widget(Paragraph::new(summary), sum_area);
    // The tabs that fit around the current one; arrows say there are more either side.
    let w = |i: usize| v.tabs[i].title.chars().count() + 3;
    let (mut lo, mut hi) = (v.tab, v.tab);
    let room = tabs_area.width as usize;
    let mut used = if v.tabs.is_empty() { 0 } else { w(v.tab) + 4 };
    loop {
        let grew_right = hi + 1 < v.tabs.len() && used + w(hi + 1) <= room;
        if grew_right {
            hi += 1;
            used += w(hi);
        }
        let grew_left = lo > 0 && used + w(lo - 1) <= room;
        if grew_left {
            lo -= 1;
            used += w(lo);
        }
        if !grew_left && !grew_right {
            break;
        }
    }
    let mut tabs = Vec::new();
    if lo > 0 {
        tabs.push(Span::styled("‹ ", Style::new().fg(t.muted)));
    }
    for (i, tb) in v.tabs.iter().enumerate().take(hi + 1).skip(lo) {
        let style = if i == v.tab {
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
    if hi + 1 < v.tabs.len() {
        tabs.push(Span::styled("›", Style::new().fg(t.muted)));
    }
    f.render_widget(Paragraph::new(Line::from(tabs)), tabs_area);
    widgets::table(f, table_area, state, pane);
    if let Some(id) = &ps.detail {
        draw_detail(f, area, state, pane, id);
    }
}

fn draw_detail(f: &mut Frame, area: Rect, state: &State, pane: Pane, id: &RowId) {
    let t = &state.theme;
    let v = state.view(pane);
    // The table of the row's own model in the current tab.
    let Some(&(_, table)) = v
        .current_tab()
        .and_then(|tab| tab.parts.iter().find(|(o, _)| *o == id.origin))
    else {
        return;
    };
    let from_source = match id.origin {
        Origin::Source(i) => state.sources[i]
            .sample
            .as_ref()
            .and_then(|s| s.detail(table, &id.key)),
        Origin::Alerts | Origin::Timeline => None,
    };
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
            let Some(tb) = state.model(id.origin).and_then(|m| m.tables.get(table)) else {
                return;
            };
            let Some(row) = tb.rows.iter().find(|r| r.key == id.key) else {
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
            let title = row
                .cells
                .first()
                .map(|c| c.text.clone())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| id.key.clone());
            (title, lines, None)
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
                    .map(|c| Span::styled(state.keymap.fill(&c.text), level_style(state, c.level)))
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
        widgets::detail_table(f, rest, state, &tb);
    }
}
