//! Render snapshots of the fleet view at 80x24 and 200x60.

use std::path::Path;

use chrono::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::event::Event;
use crate::app::state::State;
use crate::config::Config;
use crate::config::keymap::Keymap;
use crate::fleet::{FleetRow, Progress};
use crate::report;
use crate::sources::host::{DiskInfo, HostSample};
use crate::sources::redis::{NodeInfo, RedisSample};
use crate::sources::{self, Sample};
use crate::theme::Theme;

fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::Local
        .with_ymd_and_hms(2026, 11, 25, 3, 12, 0)
        .single()
        .expect("valid time")
        .with_timezone(&chrono::Utc)
}

const CONFIG: &str = "default_context = \"prod-eu\"\n\
[contexts.dev]\n\
[contexts.prod-eu]\n[[contexts.prod-eu.redis]]\nname = \"cache\"\nurl = \"redis://10.0.0.1:6379\"\n\
[[contexts.prod-eu.redis]]\nname = \"sessions\"\nurl = \"redis://10.0.0.2:6379\"\n\
[contexts.prod-us]\n[[contexts.prod-us.redis]]\nname = \"cache\"\nurl = \"redis://10.1.0.1:6379\"\n\
[contexts.staging]\nhost = false\n[[contexts.staging.redis]]\nname = \"cache\"\nurl = \"redis://10.2.0.1:6379\"\n\
[contexts.zz-new]\nhost = false\n[[contexts.zz-new.redis]]\nname = \"cache\"\nurl = \"redis://10.3.0.1:6379\"\n";

fn redis(used: u64) -> Result<Sample, String> {
    Ok(Sample::from(RedisSample {
        nodes: vec![NodeInfo {
            addr: "10.0.0.1:6379".into(),
            role: "master".into(),
            used_memory: used,
            maxmemory: 100,
            ..Default::default()
        }],
        ..Default::default()
    }))
}

fn host(used_pct: u64) -> Result<Sample, String> {
    Ok(Sample::from(HostSample {
        disks: vec![DiskInfo {
            mount: "/".into(),
            total: 100,
            available: 100 - used_pct,
            ..Default::default()
        }],
        ..Default::default()
    }))
}

fn row(s: &State, name: &str, results: Vec<Result<Sample, String>>) -> FleetRow {
    let ctx = s.config.context(name).expect("context");
    let specs = sources::plan(&ctx.spec);
    FleetRow::of(&report::build(
        &ctx,
        None,
        &specs,
        results,
        &s.config.alerts,
    ))
}

fn state() -> State {
    let cfg = Config::from_toml(Path::new("/c.toml"), CONFIG).expect("config");
    let mut s = State::new(
        cfg,
        "prod-eu".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    );
    let _ = crate::app::fleet::open(&mut s);
    let feed = |s: &mut State, p| {
        crate::app::update(s, Event::Fleet(p), t0());
    };
    feed(&mut s, Progress::Round);
    let rows = [
        row(&s, "dev", vec![host(35)]),
        row(
            &s,
            "prod-eu",
            vec![redis(97), Err("Connection refused".into()), host(62)],
        ),
        row(&s, "prod-us", vec![redis(40), host(91)]),
        row(
            &s,
            "staging",
            vec![Err("10.2.0.1:6379: no answer within 10s (hung?)".into())],
        ),
    ];
    for r in rows {
        feed(&mut s, Progress::Row(Box::new(r)));
    }
    s
}

fn render(s: &State, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| crate::ui::draw(f, s)).expect("draw");
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn fleet_while_a_round_is_under_way() {
    let s = state();
    for (w, h) in [(80, 24), (200, 60)] {
        insta::assert_snapshot!(format!("fleet_polling_{w}x{h}"), render(&s, w, h));
    }
}

#[test]
fn fleet_after_a_round() {
    let mut s = state();
    let last = row(&s, "zz-new", vec![redis(10)]);
    crate::app::update(&mut s, Event::Fleet(Progress::Row(Box::new(last))), t0());
    crate::app::update(&mut s, Event::Fleet(Progress::Done), t0());
    let screen = render(&s, 120, 30);
    assert!(screen.contains("polled 03:12:00"), "{screen}");
    assert!(
        screen.contains("5 contexts: 2 critical, 1 warning, 2 ok; 1 unreachable"),
        "{screen}"
    );
    insta::assert_snapshot!("fleet_done_120x30", screen);
}

#[test]
fn a_click_selects_a_row_and_a_second_click_enters_it() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut s = state();
    s.size = (120, 30);
    let screen = render(&s, 120, 30);
    let y = screen
        .lines()
        .position(|l| l.contains("│staging"))
        .expect("a staging row") as u16;
    let click = |s: &mut State| {
        crate::app::update(
            s,
            Event::Mouse(MouseEvent {
                kind: MouseEventKind::Down(MouseButton::Left),
                column: 10,
                row: y,
                modifiers: crossterm::event::KeyModifiers::NONE,
            }),
            t0(),
        )
    };
    click(&mut s);
    assert_eq!(s.fleet.selected, 3);
    assert!(s.fleet.open);
    click(&mut s);
    assert!(!s.fleet.open);
    assert_eq!(s.context, "staging");
}
