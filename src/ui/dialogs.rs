//! Overlays: the help (generated from the active keymap), the confirmation dialog and the
//! running indicator.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

use super::widgets::centered;
use crate::actions::{Command, Risk};
use crate::app::state::{Button, Confirm, State};
use crate::config::keymap::Action;

pub fn help(f: &mut Frame, area: Rect, state: &State, scroll: u16) {
    let t = &state.theme;
    let rect = centered(
        area,
        area.width.saturating_sub(4).clamp(40, 110),
        area.height.saturating_sub(2),
    );
    f.render_widget(Clear, rect);
    let title = format!(
        " Help — keymap {} ({} closes) ",
        state.keymap.name,
        state.keymap.keys_label(Action::Back)
    );
    let mut lines = Vec::new();
    // First what the focused row offers now, as the hint bar does, with why a key is
    // refused; then every key.
    if state.zoomed {
        let offers = &state.view(state.focus).offers;
        if !offers.is_empty() {
            lines.push(Line::from(Span::styled(
                format!("  here ({}):", state.focus.title()),
                Style::new().fg(t.title).add_modifier(Modifier::BOLD),
            )));
            for o in offers {
                let why = match &o.availability {
                    crate::sources::Availability::Ready => String::new(),
                    crate::sources::Availability::Asks => " (asks for a value)".into(),
                    crate::sources::Availability::Refused(w) => format!(" — refused: {w}"),
                };
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("{:>18}  ", state.keymap.keys_label(o.action)),
                        Style::new().fg(t.key),
                    ),
                    Span::styled(
                        format!("{}{why}", o.action.description()),
                        Style::new().fg(t.fg),
                    ),
                ]));
            }
            lines.push(Line::default());
        }
    }
    for a in Action::all() {
        let keys = state.keymap.keys_label(a);
        let disabled = a.is_mutating() && state.readonly();
        let desc = if disabled {
            format!("{} (disabled: read-only)", a.description())
        } else {
            a.description().to_string()
        };
        let desc_style = if disabled {
            Style::new().fg(t.muted).add_modifier(Modifier::CROSSED_OUT)
        } else {
            Style::new().fg(t.fg)
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{keys:>18}  "),
                Style::new().fg(if disabled { t.muted } else { t.key }),
            ),
            Span::styled(desc, desc_style),
        ]));
    }
    lines.push(Line::default());
    for c in [
        ":kafka :pg :redis :backups :alerts :host :timeline   focus a pane",
        ":ctx NAME   switch context      :theme NAME   switch theme",
        ":fleet   every context at once; enter switches to the selected one",
        ":ack NOTE   ack the selected alert with a note",
        ":silence 2h   silence the selected alert for a duration",
        ":note   write an incident note (data dir and clipboard)",
        ":q   quit                       Tab completes a command",
    ] {
        lines.push(Line::from(Span::styled(
            format!("  {c}"),
            Style::new().fg(t.muted),
        )));
    }
    // Long lines wrap; the title says when there is more below or above.
    let inner_w = rect.width.saturating_sub(2);
    let lines: Vec<Line> = lines
        .into_iter()
        .flat_map(|l| super::widgets::wrap(l, inner_w))
        .collect();
    let inner_h = rect.height.saturating_sub(2) as usize;
    let max_scroll = lines.len().saturating_sub(inner_h) as u16;
    let scroll = scroll.min(max_scroll);
    let first = |a: Action| {
        state
            .keymap
            .keys_of(a)
            .first()
            .map(|k| k.to_string())
            .unwrap_or_default()
    };
    let keys = format!("{}/{}", first(Action::Down), first(Action::Up));
    let more = match (scroll > 0, scroll < max_scroll) {
        (false, true) => format!(" more below ({keys}) "),
        (true, true) => format!(" more above and below ({keys}) "),
        (true, false) => format!(" more above ({keys}) "),
        (false, false) => String::new(),
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(title)
        .title_bottom(Line::from(more).right_aligned())
        .border_style(Style::new().fg(t.border_focused));
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), rect);
}

fn risk_label(r: Risk) -> &'static str {
    match r {
        Risk::Low => "low",
        Risk::Medium => "medium: disrupts clients",
        Risk::High => "HIGH: destroys data or state",
    }
}

pub fn confirm(f: &mut Frame, area: Rect, state: &State, c: &Confirm) {
    let t = &state.theme;
    // Wide enough for what runs and the footer, so neither wraps where there is room.
    let runs = c.command.describe().chars().count() as u16 + 12;
    let rect = centered(
        area,
        runs.clamp(78, area.width.saturating_sub(4).max(78)),
        14,
    );
    f.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .title(" Confirm action ")
        .border_style(
            Style::new().fg(if c.command.risk == Risk::High || c.production {
                t.crit
            } else {
                t.warn
            }),
        );
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let label = |s: &str| Span::styled(format!("{s:<9}"), Style::new().fg(t.muted));
    let mut lines = vec![
        Line::from(vec![
            label("context"),
            Span::styled(
                c.context.clone(),
                Style::new()
                    .fg(t.context_color(state.ctx.color.as_deref()))
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(if c.production { "  (production)" } else { "" }),
        ]),
        Line::from(vec![
            label("source"),
            Span::raw(format!("{} {}", c.command.kind.label(), c.command.source)),
        ]),
        Line::from(vec![
            label("target"),
            Span::styled(
                c.command.target.clone(),
                Style::new().add_modifier(Modifier::BOLD),
            ),
        ]),
        Line::from(vec![label("runs"), Span::raw(c.command.describe())]),
        Line::from(vec![label("risk"), Span::raw(risk_label(c.command.risk))]),
    ];
    if let Some(impact) = &c.command.impact {
        lines.push(Line::from(vec![
            label("impact"),
            Span::styled(impact.clone(), Style::new().fg(t.warn)),
        ]));
    }
    lines.push(Line::default());
    if let Some(req) = &c.required {
        lines.push(Line::from(vec![
            Span::raw("type "),
            Span::styled(req.clone(), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(" to confirm:"),
        ]));
        let ok = c.can_confirm();
        lines.push(Line::from(Span::styled(
            format!("> {}█", c.typed.text),
            Style::new().fg(if ok { t.ok } else { t.fg }),
        )));
    } else {
        lines.push(Line::default());
        lines.push(Line::default());
    }
    lines.push(Line::default());
    let button = |name: &str, focused: bool, enabled: bool| {
        let mut s = Style::new().fg(if enabled { t.fg } else { t.muted });
        if focused {
            s = if t.colourless() {
                s.add_modifier(Modifier::REVERSED)
            } else {
                s.fg(t.selection_fg).bg(t.selection_bg)
            }
            .add_modifier(Modifier::BOLD);
        }
        Span::styled(format!("[ {name} ]"), s)
    };
    lines.push(Line::from(vec![
        Span::raw("      "),
        button("Cancel", c.focus == Button::Cancel, true),
        Span::raw("    "),
        button("Confirm", c.focus == Button::Confirm, c.can_confirm()),
        Span::styled(
            "   tab switches, enter chooses, esc cancels",
            Style::new().fg(t.muted),
        ),
    ]));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

pub fn running(f: &mut Frame, area: Rect, state: &State, cmd: &Command) {
    let t = &state.theme;
    let rect = centered(area, 64, 5);
    f.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(" Running ")
        .border_style(Style::new().fg(t.info));
    f.render_widget(
        Paragraph::new(format!("{} …", cmd.describe()))
            .wrap(Wrap { trim: true })
            .block(block),
        rect,
    );
}
