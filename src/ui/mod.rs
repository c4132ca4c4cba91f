//! Drawing: reads the state, builds only what is visible. No I/O, no state changes.

pub mod dialogs;
pub mod fleet;
pub mod layout;
pub mod panes;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::state::{Mode, Pane, State};
use crate::config::keymap::Action;
use crate::sources::Availability;
use crate::views::Level;

pub fn draw(f: &mut Frame, state: &State) {
    let area = f.area();
    let t = &state.theme;
    f.render_widget(
        ratatui::widgets::Block::new().style(Style::new().bg(t.bg).fg(t.fg)),
        area,
    );
    let [header, body, message, hints] = layout::frame(area);
    draw_header(f, header, state);
    if state.fleet.open {
        fleet::draw(f, body, state);
    } else if state.zoomed {
        panes::draw_zoomed(f, body, state, state.focus);
    } else {
        for (pane, rect) in layout::tiles(area) {
            panes::draw_tile(f, rect, state, pane);
        }
    }
    draw_message(f, message, state);
    draw_hints(f, hints, state);
    match &state.mode {
        Mode::Help { scroll } => dialogs::help(f, area, state, *scroll),
        Mode::Confirm(c) => dialogs::confirm(f, area, state, c),
        Mode::Running(cmd) => dialogs::running(f, area, state, cmd),
        _ => {}
    }
}

pub fn level_style(state: &State, level: Level) -> Style {
    let t = &state.theme;
    let s = Style::new();
    if t.colourless() {
        return match level {
            Level::Crit => s.add_modifier(Modifier::BOLD),
            Level::Muted => s.add_modifier(Modifier::DIM),
            _ => s,
        };
    }
    match level {
        Level::Normal => s.fg(t.fg),
        Level::Muted => s.fg(t.muted),
        Level::Ok => s.fg(t.ok),
        Level::Info => s.fg(t.info),
        Level::Warn => s.fg(t.warn),
        Level::Crit => s.fg(t.crit).add_modifier(Modifier::BOLD),
    }
}

fn draw_header(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let base = Style::new().fg(t.header_fg).bg(t.header_bg);
    let badge = Style::new()
        .fg(t.badge_fg)
        .bg(t.badge_bg)
        .add_modifier(Modifier::BOLD);
    let mut spans = vec![
        Span::styled(" opsdeck ", base.add_modifier(Modifier::BOLD)),
        Span::styled(" ctx ", base),
        Span::styled(
            state.context.clone(),
            base.fg(t.context_color(state.ctx.color.as_deref()))
                .add_modifier(Modifier::BOLD),
        ),
        Span::styled(" ", base),
    ];
    if state.readonly() {
        spans.push(Span::styled(" READ-ONLY ", badge));
        spans.push(Span::styled(" ", base));
    }
    if state.ctx.production {
        spans.push(Span::styled(" PRODUCTION ", badge));
        spans.push(Span::styled(" ", base));
    }
    spans.push(Span::styled(
        format!(" {} ", state.local_now().format("%H:%M")),
        base,
    ));
    // Background jobs: what runs and for how long.
    if let Some((cmd, since)) = state.jobs.first() {
        let secs = (state.now - *since).num_seconds().max(0) as u64;
        let more = if state.jobs.len() > 1 {
            format!(" +{}", state.jobs.len() - 1)
        } else {
            String::new()
        };
        spans.push(Span::styled(
            format!(
                " ⏳ {} {}{more} ",
                crate::views::fmt::fit(&cmd.target, 24),
                crate::views::fmt::duration(std::time::Duration::from_secs(secs))
            ),
            base.fg(t.info),
        ));
    }
    match state.worst_alert() {
        Some(a) => {
            let level = match a.severity {
                crate::alerts::Severity::Critical => Level::Crit,
                crate::alerts::Severity::Warning => Level::Warn,
                crate::alerts::Severity::Info => Level::Info,
            };
            let more = if state.alerts.len() > 1 {
                format!(" (+{})", state.alerts.len() - 1)
            } else {
                String::new()
            };
            // Cut the summary, not the count of others, and never in the middle of a number.
            let used: usize = spans.iter().map(|s| s.width()).sum();
            let room = (area.width as usize)
                .saturating_sub(used + more.chars().count() + 2 + a.severity.label().len());
            spans.push(Span::styled(
                format!(
                    " {} {}{more}",
                    a.severity.label(),
                    crate::views::fmt::fit(&a.summary, room)
                ),
                level_style(state, level).bg(t.header_bg),
            ));
        }
        None => spans.push(Span::styled(" no alerts", base.fg(t.ok))),
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(base), area);
}

fn draw_message(f: &mut Frame, area: Rect, state: &State) {
    let line = match (&state.mode, &state.message) {
        (Mode::Filter(input), _) => Line::from(vec![
            Span::styled("/", level_style(state, Level::Info)),
            Span::raw(input.text.clone()),
            Span::styled("█", Style::new().add_modifier(Modifier::SLOW_BLINK)),
        ]),
        (Mode::Ask(ask), message) => {
            let mut spans = vec![
                Span::styled(
                    format!("{} ", ask.question),
                    level_style(state, Level::Info),
                ),
                Span::raw(ask.input.text.clone()),
                Span::styled("█", Style::new().add_modifier(Modifier::SLOW_BLINK)),
            ];
            if let Some((text, level)) = message {
                spans.push(Span::styled(
                    format!("  {text}"),
                    level_style(state, *level),
                ));
            }
            Line::from(spans)
        }
        (_, Some((text, level))) => {
            Line::from(Span::styled(text.clone(), level_style(state, *level)))
        }
        _ => {
            let filter = &state.pane_state(state.focus).filter;
            if state.zoomed && !filter.is_empty() {
                Line::from(Span::styled(
                    format!("filter: {filter}"),
                    level_style(state, Level::Info),
                ))
            } else {
                Line::default()
            }
        }
    };
    f.render_widget(Paragraph::new(line), area);
}

/// One entry of the hint bar: a key, its word, and whether it can run now.
pub struct Hint {
    pub action: Action,
    pub label: &'static str,
    /// Dimmed: refused here (why is said when pressed), or a change in read-only mode.
    pub dimmed: bool,
}

/// The hint bar's keys, in order: navigation that applies, the keys the selected row offers
/// (from the pane's view), then the global ones.
pub fn hints(state: &State) -> Vec<Hint> {
    let plain = |action: Action, label: &'static str| Hint {
        action,
        label,
        dimmed: false,
    };
    let mut out = Vec::new();
    let pane = state.focus;
    if state.fleet.open {
        out.extend([
            plain(Action::Select, "switch"),
            plain(Action::Back, "back"),
            plain(Action::Refresh, "poll now"),
        ]);
    } else if state.zoomed {
        let v = state.view(pane);
        out.push(plain(Action::Back, "back"));
        if v.selected.is_some() {
            out.push(plain(
                Action::Select,
                if pane == Pane::Alerts || pane == Pane::Timeline {
                    "go to cause"
                } else {
                    "detail"
                },
            ));
        }
        if v.tabs.len() > 1 {
            out.push(plain(Action::NextView, "view"));
        }
        if pane == Pane::Timeline {
            out.push(plain(Action::NextSource, "source"));
        } else if !pane.merges_sources() && state.pane_sources(pane).len() > 1 {
            out.push(plain(Action::NextSource, "server"));
        }
        out.push(plain(Action::Filter, "filter"));
        if v.selected.is_some() {
            out.push(plain(Action::Copy, "copy"));
        }
        for o in &v.offers {
            out.push(Hint {
                action: o.action,
                label: o.label,
                dimmed: matches!(o.availability, Availability::Refused(_))
                    || (o.action.is_mutating() && state.readonly()),
            });
        }
    } else {
        out.push(plain(Action::Select, "zoom"));
        out.push(plain(Action::NextPane, "next"));
        out.push(plain(Action::Note, "note"));
    }
    out.extend([
        plain(Action::Command, "cmd"),
        plain(Action::Help, "help"),
        plain(Action::Quit, "quit"),
    ]);
    out
}

fn draw_hints(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    if let Mode::Command(input) = &state.mode {
        let line = Line::from(vec![
            Span::styled(":", Style::new().fg(t.key)),
            Span::raw(input.text.clone()),
            Span::raw("█"),
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    // When the bar is too narrow, the global keys go first, then the row's keys from the
    // end; "?" stays and says there is more.
    let mut shown: Vec<(String, Hint)> = hints(state)
        .into_iter()
        .filter_map(|h| Some((state.keymap.keys_of(h.action).first()?.to_string(), h)))
        .collect();
    let width = |v: &[(String, Hint)]| -> usize {
        v.iter()
            .map(|(k, h)| k.chars().count() + h.label.chars().count() + 3)
            .sum()
    };
    let mut cut = false;
    while width(&shown) > area.width as usize {
        let order = [
            Action::Quit,
            Action::Command,
            Action::Filter,
            Action::NextPane,
        ];
        let pos = order
            .iter()
            .find_map(|a| shown.iter().position(|(_, h)| h.action == *a))
            .or_else(|| shown.iter().rposition(|(_, h)| h.action != Action::Help));
        match pos {
            Some(p) if shown.len() > 1 => {
                shown.remove(p);
                cut = true;
            }
            _ => break,
        }
    }
    let mut spans = Vec::new();
    for (k, h) in shown {
        let key_style = if h.dimmed {
            Style::new().fg(t.muted).add_modifier(Modifier::CROSSED_OUT)
        } else {
            Style::new().fg(t.key).add_modifier(Modifier::BOLD)
        };
        let label = if cut && h.action == Action::Help {
            "all keys"
        } else {
            h.label
        };
        spans.push(Span::styled(k, key_style));
        spans.push(Span::styled(
            format!(" {label}  "),
            Style::new().fg(t.muted),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
mod first_screen;
#[cfg(test)]
mod tests;
