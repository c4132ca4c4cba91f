//! Drawing: reads the state, builds only what is visible. No I/O, no state changes.

pub mod dialogs;
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
    if state.zoomed {
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
        format!(" {} ", state.now.format("%H:%M")),
        base,
    ));
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
            spans.push(Span::styled(
                format!(" {} {}{more}", a.severity.label(), a.summary),
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

/// The actions a pane offers when zoomed (for the hint bar and the help).
pub fn pane_actions(pane: Pane) -> &'static [Action] {
    use crate::sources::{backups, kafka, postgres, redis};
    match pane {
        Pane::Kafka => kafka::ACTIONS,
        Pane::Postgres => postgres::ACTIONS,
        Pane::Redis => redis::ACTIONS,
        Pane::Backups => backups::ACTIONS,
        Pane::Alerts => &[Action::Ack, Action::Silence],
        Pane::Host => &[],
    }
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
    let mut actions: Vec<(Action, &str)> = Vec::new();
    if state.zoomed {
        actions.extend([
            (Action::Back, "back"),
            (
                Action::Select,
                if state.focus == Pane::Alerts {
                    "go to cause"
                } else {
                    "detail"
                },
            ),
            (Action::NextView, "view"),
            (Action::Filter, "filter"),
        ]);
        actions.extend(pane_actions(state.focus).iter().map(|a| (*a, short(*a))));
    } else {
        actions.extend([
            (Action::Select, "zoom"),
            (Action::NextPane, "next"),
            (Action::Filter, "filter"),
        ]);
    }
    actions.extend([
        (Action::Command, "cmd"),
        (Action::Help, "help"),
        (Action::Quit, "quit"),
    ]);
    let mut spans = Vec::new();
    for (a, label) in actions {
        let keys = state.keymap.keys_of(a);
        let Some(k) = keys.first() else { continue };
        let disabled = a.is_mutating() && state.readonly();
        let key_style = if disabled {
            Style::new().fg(t.muted).add_modifier(Modifier::CROSSED_OUT)
        } else {
            Style::new().fg(t.key).add_modifier(Modifier::BOLD)
        };
        spans.push(Span::styled(format!("{k}"), key_style));
        spans.push(Span::styled(
            format!(" {label}  "),
            Style::new().fg(t.muted),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn short(a: Action) -> &'static str {
    match a {
        Action::CancelQuery => "cancel",
        Action::Terminate => "terminate",
        Action::Bgsave => "bgsave",
        Action::DeleteTopic => "delete",
        Action::Mark => "mark",
        Action::Failover => "failover",
        Action::Bgrewriteaof => "aof rewrite",
        Action::SetPolicy => "set policy",
        Action::ResetOffsets => "reset offsets",
        Action::ResetOffsetsEarliest => "replay",
        Action::ResetOffsetsTo => "reset to…",
        Action::AddPartitions => "partitions",
        Action::ElectLeaders => "elect leaders",
        Action::TerminateIdle => "kill idle-in-tx",
        Action::ConnectionLimit => "conn limit",
        Action::CreateTopic => "new topic",
        Action::Ack => "ack",
        Action::Silence => "silence",
        Action::Verify => "verify",
        Action::BackupNow => "backup",
        _ => "",
    }
}

#[cfg(test)]
mod tests;
