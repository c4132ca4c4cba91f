//! The timeline through `update`: what each change puts on it, what is written to the file,
//! what a restart shows and does not recover twice, and the localhost defaults that are not
//! running.

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::state::{Pane, State};
use super::update::tests_support::t0;
use super::{Effect, Event};
use crate::config::Config;
use crate::config::keymap::Keymap;
use crate::sources::backups::{BackupItem, BackupSample, BackupSpec, Verdict};
use crate::sources::{Sample, Status, Update};
use crate::theme::Theme;
use crate::timeline::TimelineEvent;

fn state_with(ctx: crate::config::ContextSpec) -> State {
    let mut cfg = Config::default();
    cfg.contexts.insert("t".into(), ctx);
    State::new(
        cfg,
        "t".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    )
}

fn backups_state() -> State {
    state_with(crate::config::ContextSpec {
        backups: vec![BackupSpec {
            name: "nightly".into(),
            kind: "files".into(),
            dir: Some("/b".into()),
            pattern: Some("*.dump".into()),
            max_age: Some("26h".into()),
            ..Default::default()
        }],
        host: crate::sources::host::HostSwitch(false),
        ..Default::default()
    })
}

fn backup(verdict: Verdict) -> Sample {
    BackupSample {
        name: "nightly".into(),
        kind: "files".into(),
        verdict,
        reason: format!("{} reason", verdict.label()),
        items: vec![BackupItem {
            label: "app-1.dump".into(),
            kind: "file".into(),
            finished_at: Some(t0().timestamp() - 3600),
            ..Default::default()
        }],
        ..Default::default()
    }
    .into()
}

fn feed(s: &mut State, update: Update, at: DateTime<Utc>) -> Vec<Effect> {
    super::update(
        s,
        Event::Source {
            generation: s.generation,
            index: 0,
            update,
        },
        at,
    )
}

/// The events an effect list asks to write.
fn written(fx: &[Effect]) -> Vec<TimelineEvent> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::AppendTimeline(v) => Some(v.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn texts(s: &State) -> Vec<String> {
    s.timeline.newest_of("t").map(|e| e.text.clone()).collect()
}

#[test]
fn a_source_going_unreachable_and_coming_back_is_on_the_timeline_and_written() {
    let mut s = backups_state();
    let fx = feed(&mut s, Update::Sample(backup(Verdict::Fresh)), t0());
    // The first sample recovers the newest backup's time.
    let first = written(&fx);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        first[0].recovered
            && first[0]
                .text
                .starts_with("backup nightly finished: app-1.dump")
    );
    assert_eq!(first[0].at, t0() - Duration::seconds(3600));
    assert_eq!(
        (first[0].context.as_str(), first[0].source.as_str()),
        ("t", "nightly")
    );
    let fx = feed(
        &mut s,
        Update::Status(Status::Error("dir /b: permission denied".into())),
        t0() + Duration::seconds(10),
    );
    let down = written(&fx);
    assert_eq!(down[0].text, "unreachable: dir /b: permission denied");
    // Still down: nothing new.
    let fx = feed(
        &mut s,
        Update::Status(Status::Error("dir /b: permission denied".into())),
        t0() + Duration::seconds(20),
    );
    assert!(written(&fx).iter().all(|e| e.what != "unreachable"));
    let fx = feed(
        &mut s,
        Update::Sample(backup(Verdict::Stale)),
        t0() + Duration::seconds(190),
    );
    let back = written(&fx);
    let words: Vec<&str> = back.iter().map(|e| e.text.as_str()).collect();
    assert!(
        words.contains(&"answers again (unreachable for 3m00s)"),
        "{words:?}"
    );
    assert!(
        words.contains(&"backup nightly stale (was fresh): stale reason"),
        "{words:?}"
    );
    assert!(
        words
            .iter()
            .any(|w| w.starts_with("firing: backup nightly stale")),
        "{words:?}"
    );
    // In time order on the pane, newest first.
    assert_eq!(
        texts(&s).last().map(String::as_str),
        Some(first[0].text.as_str())
    );
}

#[test]
fn a_restart_shows_what_was_kept_and_recovers_nothing_twice() {
    let dir = tempfile::tempdir().expect("dir");
    let path = crate::timeline::store::file(dir.path());
    let mut s = backups_state();
    let mut all = written(&feed(&mut s, Update::Sample(backup(Verdict::Fresh)), t0()));
    all.extend(written(&feed(
        &mut s,
        Update::Sample(backup(Verdict::Failed)),
        t0() + Duration::seconds(5),
    )));
    crate::timeline::store::append(&path, &all).expect("append");
    // A new console, later, with the same data dir.
    let mut again = backups_state();
    let later = t0() + Duration::minutes(30);
    again.now = later;
    let loaded = crate::timeline::store::load(&path, later).expect("load");
    super::timeline::loaded(&mut again, loaded.events);
    assert_eq!(texts(&again), texts(&s));
    assert!(
        again
            .timeline_model
            .tile
            .iter()
            .any(|l| crate::note::summary_text(l).contains("backup nightly failed (was fresh)")),
        "{:?}",
        again.timeline_model.tile
    );
    // Its first sample would recover the same backup: it is on the timeline already.
    let fx = feed(&mut again, Update::Sample(backup(Verdict::Failed)), later);
    assert!(
        written(&fx).iter().all(|e| !e.recovered),
        "{:?}",
        written(&fx)
    );
}

#[test]
fn acks_silences_and_actions_are_on_the_timeline_and_actions_left_to_the_audit_log() {
    let mut s = backups_state();
    feed(&mut s, Update::Sample(backup(Verdict::Fresh)), t0());
    feed(&mut s, Update::Sample(backup(Verdict::Failed)), t0());
    let key = |s: &mut State, c: char| {
        super::update(
            s,
            Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
            t0() + Duration::seconds(30),
        )
    };
    key(&mut s, '5');
    super::update(
        &mut s,
        Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        t0(),
    );
    let acked = written(&key(&mut s, 'a'));
    assert_eq!(acked.len(), 1, "{acked:?} {:?}", s.message);
    assert!(
        acked[0].text.starts_with("acked backup nightly failed"),
        "{}",
        acked[0].text
    );
    assert_eq!(acked[0].what, "ack");
    let silenced = written(&key(&mut s, 's'));
    assert!(
        silenced[0]
            .text
            .starts_with("silenced backup nightly failed")
            && silenced[0].text.ends_with("for 1h00m"),
        "{}",
        silenced[0].text
    );
    let command = crate::actions::Command::new(
        "nightly",
        crate::sources::Planned::new(
            "/b/app-1.dump",
            crate::actions::Op::Backup(crate::sources::backups::BackupOp::VerifyDump {
                path: "/b/app-1.dump".into(),
            }),
            crate::sources::Risk::Low,
        ),
    );
    let fx = super::update(
        &mut s,
        Event::ActionDone {
            command: Box::new(command),
            outcome: crate::actions::Outcome::Error("pg_restore: bad header".into()),
        },
        t0() + Duration::seconds(40),
    );
    assert!(written(&fx).is_empty(), "{fx:?}");
    let newest = s.timeline.newest_of("t").next().expect("the action");
    assert_eq!(newest.what, "action");
    assert!(
        newest.text.ends_with("failed — pg_restore: bad header"),
        "{}",
        newest.text
    );
}

#[test]
fn with_no_config_a_default_that_is_not_running_is_no_outage() {
    let mut s = State::new(
        Config::default(),
        "local".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    );
    s.no_config = true;
    let kafka = s
        .sources
        .iter()
        .position(|x| x.kind == crate::sources::SourceKind::Kafka)
        .expect("kafka");
    let fx = super::update(
        &mut s,
        Event::Source {
            generation: 0,
            index: kafka,
            update: Update::Status(Status::Error(
                "no broker reachable: 127.0.0.1:9092: Connection refused (os error 111)".into(),
            )),
        },
        t0(),
    );
    assert!(s.alerts.is_empty(), "{:?}", s.alerts);
    assert!(written(&fx).is_empty(), "{fx:?}");
    assert!(s.sources[kafka].not_running(true));
    // With a config the same error is an outage.
    s.no_config = false;
    s.recompute_alerts_at(t0());
    assert_eq!(s.alerts.len(), 1);
    assert_eq!(s.alerts[0].rule, "source_unreachable");
    // Once it answered, losing it is an outage even without a config.
    s.no_config = true;
    s.sources[kafka].last_ok = Some(t0().with_timezone(&chrono::Local));
    s.recompute_alerts_at(t0());
    assert_eq!(s.alerts.len(), 1);
    let _ = Pane::Timeline;
}
