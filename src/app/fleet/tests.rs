use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::event::Event;
use crate::app::update::tests_support::update;
use crate::config::Config;
use crate::config::keymap::Keymap;
use crate::fleet::FleetRow;
use crate::report::{self, Health};
use crate::sources::redis::{NodeInfo, RedisSample};
use crate::sources::{self, Sample};
use crate::theme::Theme;

const CONFIG: &str = "default_context = \"b\"\n\
[contexts.a]\nhost = false\n[[contexts.a.redis]]\nname = \"cache\"\nurl = \"redis://127.0.0.1:1\"\n\
[contexts.b]\nhost = false\n[[contexts.b.redis]]\nname = \"cache\"\nurl = \"redis://127.0.0.1:2\"\n\
[contexts.c]\nhost = false\n[[contexts.c.redis]]\nname = \"sessions\"\nurl = \"redis://127.0.0.1:3\"\n";

fn state() -> State {
    let cfg = Config::from_toml(Path::new("/c.toml"), CONFIG).unwrap();
    State::new(
        cfg,
        "b".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    )
}

fn code(s: &mut State, c: KeyCode) -> Vec<Effect> {
    update(s, Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

fn typed(s: &mut State, text: &str) -> Vec<Effect> {
    let mut out = Vec::new();
    for c in text.chars() {
        let k = if c == '\r' {
            KeyCode::Enter
        } else {
            KeyCode::Char(c)
        };
        out.extend(code(s, k));
    }
    out
}

/// The row a poll of context `name` would give: its Redis at `used` of 100 bytes, or
/// refused.
fn row(s: &State, name: &str, used: Option<u64>) -> FleetRow {
    let ctx = s.config.context(name).unwrap();
    let specs = sources::plan(&ctx.spec);
    let result = match used {
        Some(used) => Ok(Sample::from(RedisSample {
            nodes: vec![NodeInfo {
                addr: "127.0.0.1:6379".into(),
                role: "master".into(),
                used_memory: used,
                maxmemory: 100,
                ..Default::default()
            }],
            ..Default::default()
        })),
        None => Err("Connection refused".to_string()),
    };
    FleetRow::of(&report::build(
        &ctx,
        None,
        &specs,
        vec![result],
        &s.config.alerts,
    ))
}

fn cells(s: &State, key: &str) -> Vec<String> {
    s.fleet
        .table
        .rows
        .iter()
        .find(|r| r.key == key)
        .unwrap()
        .cells
        .iter()
        .map(|c| c.text.clone())
        .collect()
}

#[test]
fn the_fleet_fills_its_rows_as_contexts_answer_and_enter_switches_context() {
    let mut s = state();
    let effects = typed(&mut s, ":fleet");
    assert!(effects.is_empty());
    let effects = code(&mut s, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::StartFleet]);
    assert!(s.fleet.open);
    // The current context's row is selected first.
    assert_eq!(s.fleet.selected, 1);
    assert_eq!(cells(&s, "b")[0], "b (current)");

    update(&mut s, Event::Fleet(Progress::Round));
    assert_eq!(cells(&s, "a")[1], "polling…");
    assert_eq!(s.fleet.polling(), 3);
    let a = row(&s, "a", None);
    let c = row(&s, "c", Some(95));
    update(&mut s, Event::Fleet(Progress::Row(Box::new(a))));
    update(&mut s, Event::Fleet(Progress::Row(Box::new(c))));
    let a = cells(&s, "a");
    assert_eq!(a[1], "critical");
    assert_eq!(a[2], "unreachable");
    assert_eq!(a[3], "unreachable");
    assert_eq!(a[4], "redis cache: Connection refused");
    let c = cells(&s, "c");
    assert_eq!(c[1], "warning");
    assert_eq!(c[3], "mem 95%");
    assert!(c[4].starts_with("WARN "), "{c:?}");
    // b has not answered yet: still polling, and keys still move the selection.
    assert_eq!(cells(&s, "b")[1], "polling…");
    assert_eq!(s.fleet.polling(), 1);
    update(&mut s, Event::Fleet(Progress::Done));
    assert_eq!(s.fleet.polling(), 0);
    assert!(s.fleet.last_round.is_some());

    code(&mut s, KeyCode::Down);
    assert_eq!(s.fleet.selected, 2);
    code(&mut s, KeyCode::Down);
    assert_eq!(s.fleet.selected, 2, "the last row stays selected");
    let generation = s.generation;
    let effects = code(&mut s, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::StopFleet, Effect::RestartSources]);
    assert!(!s.fleet.open);
    assert_eq!(s.context, "c");
    assert_eq!(s.generation, generation + 1);
    assert_eq!(s.sources[0].name, "sessions");
    assert_eq!(s.message.as_ref().map(|m| m.0.as_str()), Some("context c"));

    // Opened again: its rows are kept, the new current context is marked and selected.
    let effects = typed(&mut s, ":fleet\r");
    assert_eq!(effects, vec![Effect::StartFleet]);
    assert_eq!(s.fleet.selected, 2);
    assert_eq!(cells(&s, "c")[0], "c (current)");
    assert_eq!(cells(&s, "a")[1], "critical");
}

#[test]
fn keys_of_the_fleet_and_keys_that_leave_it() {
    let mut s = state();
    typed(&mut s, ":fleet\r");
    // Enter on the current context closes the fleet without restarting its sources.
    let effects = code(&mut s, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::StopFleet]);
    assert_eq!(s.context, "b");

    typed(&mut s, ":fleet\r");
    assert_eq!(typed(&mut s, "r"), vec![Effect::PollFleetNow]);
    code(&mut s, KeyCode::Home);
    assert_eq!(s.fleet.selected, 0);
    code(&mut s, KeyCode::End);
    assert_eq!(s.fleet.selected, 2);
    // The help opens over the fleet, which stays open.
    typed(&mut s, "?");
    assert!(matches!(s.mode, crate::app::state::Mode::Help { .. }));
    code(&mut s, KeyCode::Esc);
    assert!(s.fleet.open);
    // A pane key leaves the fleet for that pane of the current context.
    let effects = typed(&mut s, "3");
    assert_eq!(effects, vec![Effect::StopFleet]);
    assert!(!s.fleet.open);
    assert_eq!(s.focus, crate::app::state::Pane::Redis);

    // Esc closes it; :ctx from the command line switches and closes it too.
    typed(&mut s, ":fleet\r");
    assert_eq!(code(&mut s, KeyCode::Esc), vec![Effect::StopFleet]);
    typed(&mut s, ":fleet\r");
    let effects = typed(&mut s, ":ctx a\r");
    assert_eq!(effects, vec![Effect::StopFleet, Effect::RestartSources]);
    assert!(!s.fleet.open);
    assert_eq!(s.context, "a");
}

#[test]
fn rows_of_a_round_that_arrive_after_the_fleet_closed_are_kept_for_next_time() {
    let mut s = state();
    typed(&mut s, ":fleet\r");
    update(&mut s, Event::Fleet(Progress::Round));
    code(&mut s, KeyCode::Esc);
    let a = row(&s, "a", Some(10));
    update(&mut s, Event::Fleet(Progress::Row(Box::new(a))));
    assert!(!s.fleet.open);
    let slot = &s.fleet.slots[0];
    assert_eq!(slot.row.as_ref().map(|r| r.status), Some(Health::Ok));
    assert!(!slot.polling);
}
