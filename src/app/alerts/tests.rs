//! The console's alert handling driven through `update`: inbox saves, bell, jump to cause.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::state::{Pane, State};
use crate::app::{Effect, Event};
use crate::config::keymap::Keymap;
use crate::sources::host::{DiskInfo, HostSample};
use crate::sources::{Sample, SourceKind, Status, Update};
use crate::theme::Theme;
use chrono::Utc;

/// `update` at the wall clock (silences are checked against it below).
fn update(s: &mut State, e: Event) -> Vec<Effect> {
    crate::app::update(s, e, Utc::now())
}

fn state() -> State {
    let mut cfg = crate::config::Config::default();
    cfg.alerts.bell = true;
    let mut s = State::new(
        cfg,
        "local".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    );
    s.focus = Pane::Alerts;
    s.zoomed = true;
    s
}

fn key(s: &mut State, c: char) -> Vec<Effect> {
    update(
        s,
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    )
}

/// The host source's answer with its root disk 99% full.
fn full_disk(s: &State) -> Event {
    let i = s
        .sources
        .iter()
        .position(|x| x.kind == SourceKind::Host)
        .unwrap();
    let h = HostSample {
        disks: vec![DiskInfo {
            mount: "/".into(),
            total: 100,
            available: 1,
            ..Default::default()
        }],
        ..Default::default()
    };
    Event::Source {
        generation: 0,
        index: i,
        update: Update::Sample(Sample::Host(Box::new(h))),
    }
}

fn host_full(s: &mut State) -> Vec<Effect> {
    let e = full_disk(s);
    update(s, e)
}

#[test]
fn firing_saves_the_inbox_ack_and_silence_are_saved() {
    let mut s = state();
    let fx = host_full(&mut s);
    // The inbox is saved and the firing goes on the timeline.
    assert!(
        matches!(fx.as_slice(), [Effect::SaveInbox(_), Effect::AppendTimeline(e)] if e[0].text.starts_with("firing: disk /")),
        "{fx:?}"
    );
    assert_eq!(s.alerts[0].rule, "host_disk");
    let fx = key(&mut s, 'a');
    let Some(Effect::SaveInbox(json)) = fx.first() else {
        panic!("{fx:?}")
    };
    assert!(json.contains("host_disk/host/host/"), "{json}");
    assert!(s.alert_desk.inbox.acked("host_disk/host/host//").is_some());
    // With a note through the command line.
    update(
        &mut s,
        Event::Key(KeyEvent::new(KeyCode::Char(':'), KeyModifiers::NONE)),
    );
    for c in "ack disk cleanup running\r".chars() {
        let code = if c == '\r' {
            KeyCode::Enter
        } else {
            KeyCode::Char(c)
        };
        update(&mut s, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
    assert_eq!(
        s.alert_desk
            .inbox
            .acked("host_disk/host/host//")
            .unwrap()
            .note
            .as_deref(),
        Some("disk cleanup running")
    );
    // s: 1h, then 4h, then 24h, then lifted.
    key(&mut s, 's');
    assert!(s.alerts.is_empty(), "silenced alerts leave the header");
    let until = |s: &State| {
        s.alert_desk
            .inbox
            .silences
            .get("host_disk/host/host//")
            .map(|u| (*u - Utc::now()).num_minutes())
    };
    assert_eq!(until(&s), Some(59));
    key(&mut s, 's');
    assert_eq!(until(&s), Some(239));
    key(&mut s, 's');
    assert_eq!(until(&s), Some(1439));
    let fx = key(&mut s, 's');
    assert_eq!(until(&s), None);
    assert!(matches!(fx.first(), Some(Effect::SaveInbox(_))), "{fx:?}");
    assert_eq!(s.alerts.len(), 1);
}

#[test]
fn enter_jumps_to_the_cause() {
    let mut s = state();
    host_full(&mut s);
    update(
        &mut s,
        Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert_eq!(s.focus, Pane::Host);
    assert!(s.zoomed);
    let ps = s.pane_state(Pane::Host);
    assert_eq!(ps.selected.as_ref().map(|r| r.key.as_str()), Some("/"));
    assert_eq!(
        s.view(Pane::Host).current_tab().map(|t| t.title.as_str()),
        Some("Disks")
    );
    assert_eq!(
        s.selected(Pane::Host).map(|(_, r)| r.key.as_str()),
        Some("/")
    );
}

#[test]
fn a_new_critical_alert_rings_the_bell_once() {
    let mut s = state();
    let fx = update(
        &mut s,
        Event::Source {
            generation: 0,
            index: 0,
            update: Update::Status(Status::Error("refused".into())),
        },
    );
    assert!(fx.contains(&Effect::Bell), "{fx:?}");
    let fx = update(
        &mut s,
        Event::Source {
            generation: 0,
            index: 0,
            update: Update::Status(Status::Error("refused".into())),
        },
    );
    assert!(!fx.contains(&Effect::Bell));
}

#[test]
fn the_header_and_the_pane_show_the_current_value_of_a_firing_alert() {
    let mut s = state();
    let i = s
        .sources
        .iter()
        .position(|x| x.kind == SourceKind::Host)
        .unwrap();
    let feed = |s: &mut State, available: u64| {
        let h = HostSample {
            disks: vec![DiskInfo {
                mount: "/".into(),
                total: 100,
                available,
                ..Default::default()
            }],
            ..Default::default()
        };
        update(
            s,
            Event::Source {
                generation: 0,
                index: i,
                update: Update::Sample(Sample::Host(Box::new(h))),
            },
        );
    };
    feed(&mut s, 8);
    assert!(
        s.alerts[0].summary.contains("92%"),
        "{}",
        s.alerts[0].summary
    );
    feed(&mut s, 3);
    assert!(
        s.alerts[0].summary.contains("97%"),
        "{}",
        s.alerts[0].summary
    );
    let pane: Vec<String> = s.alerts_model.tables[0]
        .rows
        .iter()
        .map(|r| {
            r.cells
                .iter()
                .map(|c| c.text.clone())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert!(pane.iter().any(|r| r.contains("97%")), "{pane:?}");
}

#[test]
fn a_ticks_answers_leave_the_alerts_pane_to_be_rebuilt_once_before_the_next_key() {
    let mut s = state();
    let rows = |s: &State| s.alerts_model.tables.first().map_or(0, |t| t.rows.len());
    let before = rows(&s);
    // The loop's step: the alert fires, the pane waits for the frame or the next key.
    let answer = full_disk(&s);
    crate::app::update::step(&mut s, answer, Utc::now());
    assert!(!s.alerts.is_empty(), "the disk alert fires at once");
    assert!(s.alerts_stale);
    assert_eq!(rows(&s), before, "not rebuilt per answer");
    let answer = full_disk(&s);
    crate::app::update::step(&mut s, answer, Utc::now());
    assert!(s.alerts_stale);
    // A key settles first: it acts on the pane as it is now.
    crate::app::update::step(
        &mut s,
        Event::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
        Utc::now(),
    );
    assert!(!s.alerts_stale);
    assert!(rows(&s) > before, "rebuilt before the key");
    // `update` (what every other caller uses) leaves nothing stale.
    host_full(&mut s);
    assert!(!s.alerts_stale);
}
