use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::Config;
use crate::config::keymap::Keymap;
use crate::sources::redis::{NodeInfo, RedisSample};
use crate::sources::{Sample, Update};
use crate::theme::Theme;

use super::tests_support::update;

/// The keys of the visible rows of a pane.
fn visible_keys(s: &State, pane: Pane) -> Vec<String> {
    s.view(pane)
        .rows
        .iter()
        .filter_map(|at| s.row(at).map(|r| r.key.clone()))
        .collect()
}

fn selected_key(s: &State, pane: Pane) -> Option<String> {
    s.selected(pane).map(|(_, r)| r.key.clone())
}

fn state() -> State {
    State::new(
        Config::default(),
        "local".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    )
}

fn key(state: &mut State, c: char) -> Vec<Effect> {
    update(
        state,
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    )
}

fn code(state: &mut State, c: KeyCode) -> Vec<Effect> {
    update(state, Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

fn redis_index(s: &State) -> usize {
    s.pane_sources(Pane::Redis)[0]
}

fn feed_redis(s: &mut State, addrs: &[&str]) {
    let nodes = addrs
        .iter()
        .map(|a| NodeInfo {
            addr: a.to_string(),
            role: "master".into(),
            ..Default::default()
        })
        .collect();
    let index = redis_index(s);
    update(
        s,
        Event::Source {
            generation: s.generation,
            index,
            update: Update::Sample(Sample::Redis(Box::new(RedisSample {
                nodes,
                ..Default::default()
            }))),
        },
    );
}

#[test]
fn number_keys_and_tab_move_between_panes() {
    let mut s = state();
    assert_eq!(s.focus, Pane::Kafka);
    key(&mut s, '3');
    assert_eq!(s.focus, Pane::Redis);
    code(&mut s, KeyCode::Tab);
    assert_eq!(s.focus, Pane::Backups);
    code(&mut s, KeyCode::BackTab);
    code(&mut s, KeyCode::BackTab);
    assert_eq!(s.focus, Pane::Databases);
}

#[test]
fn enter_zooms_and_esc_goes_back() {
    let mut s = state();
    code(&mut s, KeyCode::Enter);
    assert!(s.zoomed);
    code(&mut s, KeyCode::Esc);
    assert!(!s.zoomed);
}

#[test]
fn q_quits() {
    let mut s = state();
    assert_eq!(key(&mut s, 'q'), vec![Effect::Quit]);
    assert!(s.quit);
}

#[test]
fn command_line_completes_and_runs() {
    let mut s = state();
    key(&mut s, ':');
    for c in "re".chars() {
        key(&mut s, c);
    }
    code(&mut s, KeyCode::Tab);
    assert_eq!(
        s.mode,
        Mode::Command(Input {
            text: "redis".into()
        })
    );
    code(&mut s, KeyCode::Enter);
    assert_eq!(
        (s.focus, s.zoomed, &s.mode),
        (Pane::Redis, true, &Mode::Normal)
    );
}

#[test]
fn ctx_switch_restarts_sources_and_drops_old_updates() {
    let mut cfg = Config::default();
    cfg.contexts
        .insert("other".into(), crate::config::ContextSpec::default());
    let mut s = State::new(
        cfg,
        "local".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    );
    let old = s.generation;
    key(&mut s, ':');
    for c in "ctx other".chars() {
        key(&mut s, c);
    }
    assert_eq!(code(&mut s, KeyCode::Enter), vec![Effect::RestartSources]);
    assert_eq!(s.context, "other");
    assert_eq!(s.sources.len(), 1);
    update(
        &mut s,
        Event::Source {
            generation: old,
            index: 0,
            update: Update::Status(crate::sources::Status::Error("x".into())),
        },
    );
    assert_eq!(
        s.sources[0].status,
        crate::sources::Status::Connecting,
        "an update of the old context is ignored"
    );
}

#[test]
fn unknown_command_says_what_exists() {
    let mut s = state();
    key(&mut s, ':');
    key(&mut s, 'x');
    code(&mut s, KeyCode::Enter);
    assert!(
        s.message
            .as_ref()
            .is_some_and(|(m, _)| m.starts_with("unknown command :x"))
    );
}

#[test]
fn filter_narrows_the_focused_table() {
    let mut s = state();
    feed_redis(&mut s, &["10.0.0.1:6379", "10.0.0.2:6379"]);
    key(&mut s, '3');
    key(&mut s, '/');
    assert!(s.zoomed);
    for c in ".2:".chars() {
        key(&mut s, c);
    }
    code(&mut s, KeyCode::Enter);
    assert_eq!(visible_keys(&s, Pane::Redis), vec!["10.0.0.2:6379"]);
    code(&mut s, KeyCode::Esc);
    assert_eq!(
        visible_keys(&s, Pane::Redis).len(),
        2,
        "esc clears the filter"
    );
}

#[test]
fn selection_follows_the_row_across_polls() {
    let mut s = state();
    feed_redis(&mut s, &["a:1", "b:1", "c:1"]);
    key(&mut s, '3');
    code(&mut s, KeyCode::Enter);
    key(&mut s, 'j');
    feed_redis(&mut s, &["0:1", "a:1", "b:1", "c:1"]);
    assert_eq!(selected_key(&s, Pane::Redis).as_deref(), Some("b:1"));
}

#[test]
fn guarded_action_opens_confirmation_with_focus_on_cancel() {
    let mut s = state();
    feed_redis(&mut s, &["a:1"]);
    key(&mut s, '3');
    code(&mut s, KeyCode::Enter);
    assert!(key(&mut s, 'b').is_empty());
    let Mode::Confirm(c) = &s.mode else {
        panic!("{:?}", s.mode)
    };
    assert_eq!(c.focus, Button::Cancel);
    assert_eq!(c.command.target, "a:1");
    // Enter on Cancel cancels.
    assert!(code(&mut s, KeyCode::Enter).is_empty());
    assert_eq!(s.mode, Mode::Normal);
    // Tab to Confirm, Enter runs it.
    key(&mut s, 'b');
    code(&mut s, KeyCode::Tab);
    let effects = code(&mut s, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::Execute(cmd, ctx)] if cmd.target == "a:1" && ctx == "local"),
        "{effects:?}"
    );
    assert!(matches!(s.mode, Mode::Running(_)));
}

#[test]
fn read_only_refuses_and_audits_the_refusal() {
    let mut s = state();
    s.cli_readonly = true;
    feed_redis(&mut s, &["a:1"]);
    key(&mut s, '3');
    code(&mut s, KeyCode::Enter);
    let effects = key(&mut s, 'b');
    assert!(
        matches!(&effects[..], [Effect::AuditRefused(..)]),
        "{effects:?}"
    );
    assert_eq!(s.mode, Mode::Normal);
    assert!(
        s.message
            .as_ref()
            .is_some_and(|(m, _)| m.contains("read-only"))
    );
}

#[test]
fn production_needs_the_context_name_typed() {
    let mut s = state();
    s.ctx.production = true;
    feed_redis(&mut s, &["a:1"]);
    key(&mut s, '3');
    code(&mut s, KeyCode::Enter);
    key(&mut s, 'b');
    code(&mut s, KeyCode::Tab);
    assert!(code(&mut s, KeyCode::Enter).is_empty(), "not typed yet");
    for c in "local".chars() {
        key(&mut s, c);
    }
    let effects = code(&mut s, KeyCode::Enter);
    assert!(matches!(&effects[..], [Effect::Execute(..)]), "{effects:?}");
}

#[test]
fn source_errors_keep_data_and_say_stale_since() {
    let mut s = state();
    feed_redis(&mut s, &["a:1"]);
    let i = redis_index(&s);
    update(
        &mut s,
        Event::Source {
            generation: 0,
            index: i,
            update: Update::Status(crate::sources::Status::Error("connection refused".into())),
        },
    );
    let (line, level) = s.sources[i].status_line();
    assert!(
        line.starts_with("error: connection refused — stale since "),
        "{line}"
    );
    assert_eq!(level, Level::Crit);
    assert!(s.sources[i].sample.is_some());
    assert_eq!(
        s.worst_alert().map(|a| a.rule.as_str()),
        Some("source_unreachable")
    );
}

#[test]
fn an_unchanged_sample_does_not_redraw() {
    let mut s = state();
    feed_redis(&mut s, &["a:1"]);
    s.dirty = false;
    feed_redis(&mut s, &["a:1"]);
    assert!(!s.dirty);
}

#[test]
fn help_opens_and_closes() {
    let mut s = state();
    key(&mut s, '?');
    assert_eq!(s.mode, Mode::Help { scroll: 0 });
    code(&mut s, KeyCode::Esc);
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn mouse_click_focuses_then_zooms_and_wheel_scrolls() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut s = state();
    s.size = (120, 40);
    let area = ratatui::layout::Rect::new(0, 0, 120, 40);
    let (_, host) = crate::ui::layout::tiles(area)
        .into_iter()
        .find(|(p, _)| *p == Pane::Host)
        .unwrap();
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: host.x + 2,
        row: host.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    update(&mut s, Event::Mouse(click));
    assert_eq!((s.focus, s.zoomed), (Pane::Host, false));
    update(&mut s, Event::Mouse(click));
    assert!(s.zoomed, "a second click zooms");
    feed_redis(&mut s, &["a:1", "b:1"]);
    key(&mut s, '3');
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: 10,
        modifiers: KeyModifiers::NONE,
    };
    update(&mut s, Event::Mouse(wheel));
    assert_eq!(selected_key(&s, Pane::Redis).as_deref(), Some("b:1"));
}

#[test]
fn theme_switch_goes_through_an_effect_and_applies() {
    let mut s = state();
    key(&mut s, ':');
    for c in "theme light".chars() {
        key(&mut s, c);
    }
    assert_eq!(
        code(&mut s, KeyCode::Enter),
        vec![Effect::LoadTheme("light".into())]
    );
    let light = Theme::load("light", std::path::Path::new("/nonexistent"), None).unwrap();
    update(&mut s, Event::ThemeLoaded(Ok(light.clone())));
    assert_eq!(s.theme.name, "light");
}

fn feed_pg_idle_session(s: &mut State) {
    use crate::sources::postgres::model::{PgSample, Session};
    let pg = PgSample {
        activity: vec![Session {
            pid: 777,
            state: "idle in transaction".into(),
            state_seconds: Some(600.0),
            ..Default::default()
        }],
        ..Default::default()
    };
    let index = s.pane_sources(Pane::Databases)[0];
    update(
        s,
        Event::Source {
            generation: s.generation,
            index,
            update: Update::Sample(Sample::Postgres(Box::new(pg))),
        },
    );
}

#[test]
fn an_action_with_a_parameter_asks_then_confirms() {
    let mut s = state();
    feed_pg_idle_session(&mut s);
    key(&mut s, '2');
    code(&mut s, KeyCode::Enter);
    key(&mut s, 'I');
    assert!(
        matches!(&s.mode, Mode::Ask(a) if a.question.starts_with("terminate sessions idle in transaction")),
        "{:?}",
        s.mode
    );
    for c in "20m".chars() {
        key(&mut s, c);
    }
    code(&mut s, KeyCode::Enter);
    assert!(
        matches!(&s.mode, Mode::Ask(_)),
        "nobody idle that long: the question stays open"
    );
    assert!(
        s.message
            .as_ref()
            .is_some_and(|(m, _)| m.contains("no session is idle in transaction longer than 20m"))
    );
    for _ in 0..3 {
        code(&mut s, KeyCode::Backspace);
    }
    for c in "5m".chars() {
        key(&mut s, c);
    }
    code(&mut s, KeyCode::Enter);
    let Mode::Confirm(c) = &s.mode else {
        panic!("{:?}", s.mode)
    };
    assert_eq!(c.focus, Button::Cancel);
    assert!(
        c.command.describe().contains("777"),
        "{}",
        c.command.describe()
    );
}

#[test]
fn read_only_refuses_before_asking() {
    let mut s = state();
    s.cli_readonly = true;
    feed_pg_idle_session(&mut s);
    key(&mut s, '2');
    code(&mut s, KeyCode::Enter);
    key(&mut s, 'I');
    assert_eq!(s.mode, Mode::Normal);
    assert!(
        s.message
            .as_ref()
            .is_some_and(|(m, _)| m.starts_with("refused: read-only mode"))
    );
}

#[test]
fn read_only_refuses_every_guarded_key_in_every_pane() {
    let mut s = state();
    s.cli_readonly = true;
    feed_redis(&mut s, &["a:1"]);
    feed_pg_idle_session(&mut s);
    for pane in Pane::ALL {
        for action in crate::config::keymap::Action::all().filter(|a| a.is_mutating()) {
            s.focus = pane;
            s.zoomed = true;
            s.mode = Mode::Normal;
            s.message = None;
            let effects = on_action(&mut s, action);
            assert_eq!(s.mode, Mode::Normal, "{pane:?} {action}");
            assert!(
                s.message
                    .as_ref()
                    .is_some_and(|(m, _)| m.starts_with("refused: read-only mode")),
                "{pane:?} {action}: {:?}",
                s.message
            );
            assert!(
                effects
                    .iter()
                    .all(|e| matches!(e, Effect::AuditRefused(..))),
                "{pane:?} {action}: {effects:?}"
            );
        }
    }
}

fn confirm_mode(s: &mut State, op: crate::actions::Op) {
    let command = crate::actions::Command::new(
        "dumps",
        crate::sources::Planned::new("/b/x.dump", op, crate::sources::Risk::Low),
    );
    s.mode = Mode::Confirm(Box::new(Confirm {
        command,
        context: "local".into(),
        production: false,
        required: None,
        typed: Input::default(),
        focus: Button::Confirm,
    }));
}

#[test]
fn a_long_action_runs_in_the_background_and_the_console_stays_usable() {
    use crate::sources::backups::BackupOp;
    let mut s = state();
    let op = crate::actions::Op::Backup(BackupOp::VerifyDump {
        path: "/b/x.dump".into(),
    });
    confirm_mode(&mut s, op);
    let fx = code(&mut s, KeyCode::Enter);
    assert!(matches!(fx.as_slice(), [Effect::Execute(..)]), "{fx:?}");
    assert_eq!(s.mode, Mode::Normal, "no modal for long work");
    assert_eq!(s.jobs.len(), 1);
    key(&mut s, '3');
    assert_eq!(s.focus, Pane::Redis, "keys keep working while it runs");
    let command = Box::new(s.jobs[0].0.clone());
    update(
        &mut s,
        Event::ActionDone {
            command,
            outcome: crate::actions::Outcome::Ok("pg_restore: ok".into()),
        },
    );
    assert!(s.jobs.is_empty());
    assert!(s.message.as_ref().is_some_and(|m| m.0.starts_with("✔ ")));
}

#[test]
fn an_unknown_outcome_says_to_check_rather_than_failed() {
    let mut s = state();
    let op = crate::actions::Op::Redis(crate::sources::redis::RedisOp::ClientKill {
        node: "n:1".into(),
        id: 7,
        client: "c".into(),
    });
    confirm_mode(&mut s, op);
    code(&mut s, KeyCode::Enter);
    let Mode::Running(command) = s.mode.clone() else {
        panic!("{:?}", s.mode)
    };
    update(
        &mut s,
        Event::ActionDone {
            command,
            outcome: crate::actions::Outcome::Unknown(
                "no answer within 30s: it may have been applied".into(),
            ),
        },
    );
    assert_eq!(s.mode, Mode::Normal);
    let (text, level) = s.message.clone().expect("message");
    assert!(text.starts_with("? outcome unknown: "), "{text}");
    assert_eq!(level, Level::Warn);
}

/// The `Visible` effects among `fx`, as (source, tab).
fn told(fx: &[Effect]) -> Vec<(usize, Option<String>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Visible { index, tab } => Some((*index, tab.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn sources_are_told_which_tab_is_on_screen_and_only_when_it_changes() {
    let mut s = state();
    let r = redis_index(&s);
    feed_redis(&mut s, &["127.0.0.1:6379"]);
    key(&mut s, '3');
    assert!(told(&code(&mut s, KeyCode::Enter)).contains(&(r, Some("Nodes".into()))));
    // Right moves through the tabs: Nodes, Persistence, Replication, Clients.
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.extend(told(&code(&mut s, KeyCode::Right)));
    }
    assert_eq!(
        seen.last(),
        Some(&(r, Some("Clients ".into()))),
        "the Clients tab (no node listed yet): {seen:?}"
    );
    // A new sample changes nothing on screen: nobody is told again.
    let (index, generation) = (r, s.generation);
    let fx = update(
        &mut s,
        Event::Source {
            generation,
            index,
            update: Update::Sample(Sample::Redis(Box::new(RedisSample {
                nodes: vec![NodeInfo {
                    addr: "127.0.0.1:6379".into(),
                    role: "master".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }))),
        },
    );
    assert!(told(&fx).is_empty(), "{fx:?}");
    // Back to the overview: the source shows nothing.
    assert_eq!(told(&code(&mut s, KeyCode::Esc)), vec![(r, None)]);
    assert!(told(&code(&mut s, KeyCode::Tab)).is_empty());
}

#[test]
fn the_host_is_told_when_a_process_tab_opens() {
    let mut s = state();
    let h = s
        .sources
        .iter()
        .position(|x| x.kind == crate::sources::SourceKind::Host)
        .expect("the host is on by default");
    let (index, generation) = (h, s.generation);
    update(
        &mut s,
        Event::Source {
            generation,
            index,
            update: Update::Sample(Sample::Host(Box::default())),
        },
    );
    key(&mut s, '6');
    code(&mut s, KeyCode::Enter);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.extend(told(&code(&mut s, KeyCode::Right)));
    }
    assert!(seen.contains(&(h, Some("Top CPU".into()))), "{seen:?}");
    assert_eq!(s.shown[h].as_deref(), Some("Top memory"));
}

#[test]
fn a_restarted_context_starts_with_nothing_shown() {
    let mut s = state();
    feed_redis(&mut s, &["127.0.0.1:6379"]);
    key(&mut s, '3');
    code(&mut s, KeyCode::Enter);
    assert!(s.shown.iter().any(Option::is_some));
    s.reset_sources();
    assert!(s.shown.iter().all(Option::is_none));
    assert_eq!(s.shown.len(), s.sources.len());
}
