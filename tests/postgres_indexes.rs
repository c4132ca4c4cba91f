//! Index advice against the harness's real PostgreSQL: an unused and a duplicate index are
//! listed with their DDL; the DDL is pressed through the console's `update` (preview, the
//! index name typed, confirm) and the confirmed command runs against the server; a drop
//! whose covering index vanished meanwhile is refused. Capacity figures of the databases
//! and the data directory come from the same polls.

mod support;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::state::{Mode, Pane};
use opsdeck::app::{Effect, Event, State, update};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::{Config, ContextSpec};
use opsdeck::sources::postgres::indexes::Kind;
use opsdeck::sources::postgres::{PgPoller, PgSample, PostgresSpec};
use opsdeck::sources::{Sample, Update};
use opsdeck::theme::Theme;
use support::Postgres;

fn shared() -> &'static Postgres {
    support::shared_postgres()
}

fn spec(url: String) -> PostgresSpec {
    PostgresSpec {
        name: "db".into(),
        url,
        ..Default::default()
    }
}

async fn poll_until(p: &mut PgPoller, what: &str, f: impl Fn(&PgSample) -> bool) -> PgSample {
    for _ in 0..100 {
        let s = p.sample().await.expect("poll");
        if f(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = p.sample().await.expect("poll");
    panic!("{what}: never true; advice {:#?}", s.index_advice);
}

fn has(s: &PgSample, kind: Kind, index: &str) -> bool {
    s.index_advice
        .rows
        .iter()
        .any(|a| a.kind == Some(kind) && a.index == index)
}

fn console(pg_spec: &PostgresSpec) -> State {
    let mut cfg = Config::default();
    cfg.contexts.insert(
        "t".into(),
        ContextSpec {
            postgres: vec![pg_spec.clone()],
            ..Default::default()
        },
    );
    State::new(
        cfg,
        "t".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    )
}

fn feed(st: &mut State, s: &PgSample) {
    let index = st.pane_sources(Pane::Databases)[0];
    let generation = st.generation;
    update(
        st,
        Event::Source {
            generation,
            index,
            update: Update::Sample(Sample::Postgres(Box::new(s.clone()))),
        },
        chrono::Utc::now(),
    );
}

fn key(st: &mut State, c: KeyCode) -> Vec<Effect> {
    update(
        st,
        Event::Key(KeyEvent::new(c, KeyModifiers::NONE)),
        chrono::Utc::now(),
    )
}

/// Selects the Indexes tab's row `row_key` and presses the DDL key: the confirmation.
fn press_ddl(st: &mut State, row_key: &str) -> Box<opsdeck::app::state::Confirm> {
    st.focus = Pane::Databases;
    st.zoomed = true;
    let tab = st
        .view(Pane::Databases)
        .tabs
        .iter()
        .position(|t| t.title.starts_with("Indexes"))
        .unwrap_or_else(|| panic!("no Indexes tab in {:?}", st.view(Pane::Databases).tabs));
    st.set_tab(Pane::Databases, tab);
    for _ in 0..st.view(Pane::Databases).rows.len() {
        if st.selected(Pane::Databases).map(|(_, r)| r.key.as_str()) == Some(row_key) {
            break;
        }
        key(st, KeyCode::Down);
    }
    assert_eq!(
        st.selected(Pane::Databases).map(|(_, r)| r.key.clone()),
        Some(row_key.to_string())
    );
    key(st, KeyCode::Char('X'));
    match &st.mode {
        Mode::Confirm(c) => c.clone(),
        m => panic!("X on {row_key} led to {m:?} ({:?})", st.message),
    }
}

/// Types the required name and confirms: the command the console would execute.
fn confirm(st: &mut State, c: &opsdeck::app::state::Confirm) -> opsdeck::actions::Command {
    let name = c.required.clone().expect("a drop needs the name typed");
    for ch in name.chars() {
        key(st, KeyCode::Char(ch));
    }
    let effects = key(st, KeyCode::Enter);
    effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Execute(cmd, _) => Some(*cmd),
            _ => None,
        })
        .expect("confirming executes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_and_duplicate_indexes_are_advised_and_dropped_through_the_confirmation() {
    let pg = shared();
    let db = pg.create_database("advice");
    pg.psql_db(
        &db,
        "create table orders (id int primary key, customer int, note text); \
         insert into orders select g, g % 100, 'n' from generate_series(1, 20000) g; \
         create index orders_note_unused on orders (note); \
         create index orders_customer on orders (customer); \
         create index orders_customer_dup on orders (customer); \
         create index orders_customer_id on orders (customer, id); \
         analyze orders; \
         select count(*) from orders where customer = 5",
    );
    let s_spec = spec(pg.url_for(&db));
    let mut p = PgPoller::new(s_spec.clone()).with_slow_refresh(Duration::ZERO);
    let s = poll_until(&mut p, "unused and duplicate listed", |s| {
        has(s, Kind::Unused, "public.orders_note_unused")
            && has(s, Kind::Duplicate, "public.orders_customer_dup")
    })
    .await;
    // orders_customer is a leading prefix of orders_customer_id.
    assert!(
        has(&s, Kind::Redundant, "public.orders_customer"),
        "{:#?}",
        s.index_advice.rows
    );
    let dup = s
        .index_advice
        .rows
        .iter()
        .find(|a| a.index == "public.orders_customer_dup")
        .expect("dup");
    assert_eq!(dup.other, "public.orders_customer");
    assert_eq!(
        dup.ddl,
        "DROP INDEX CONCURRENTLY public.orders_customer_dup"
    );
    assert!(dup.size_bytes > 0);
    assert_eq!(s.index_advice.database, db);
    // The primary key is never advised, whatever its scans.
    assert!(
        !s.index_advice
            .rows
            .iter()
            .any(|a| a.index == "public.orders_pkey")
    );

    // The duplicate's DDL through the console: preview, name typed, confirmed.
    let mut st = console(&s_spec);
    feed(&mut st, &s);
    let c = press_ddl(&mut st, "duplicate:public.orders_customer_dup");
    assert_eq!(c.required.as_deref(), Some("public.orders_customer_dup"));
    let preview = c.command.describe();
    assert!(
        preview.starts_with("DROP INDEX CONCURRENTLY public.orders_customer_dup"),
        "{preview}"
    );
    assert!(
        preview.contains("public.orders_customer still exists"),
        "{preview}"
    );
    let cmd = confirm(&mut st, &c);
    assert!(cmd.op.long_running(), "DDL runs as a background job");
    let ctx = st.ctx.clone();
    let out = opsdeck::sources::registry::execute(&cmd.op, &cmd.source, &ctx).await;
    assert!(out.as_ref().is_ok_and(|m| m.contains("done in")), "{out:?}");
    let left = pg.psql_db(
        &db,
        "select count(*) from pg_indexes where indexname = 'orders_customer_dup'",
    );
    assert_eq!(left.trim(), "0", "the duplicate is gone");

    // The unused index: a scan between the preview and the run refuses the drop.
    let s = poll_until(&mut p, "unused still listed", |s| {
        has(s, Kind::Unused, "public.orders_note_unused")
            && !has(s, Kind::Duplicate, "public.orders_customer_dup")
    })
    .await;
    feed(&mut st, &s);
    let c = press_ddl(&mut st, "unused:public.orders_note_unused");
    let cmd = confirm(&mut st, &c);
    pg.psql_db(
        &db,
        "set enable_seqscan = off; select count(*) from orders where note = 'n'",
    );
    // The statistics collector reports at transaction end (and up to a second later).
    support::wait_until("the scan is counted", Duration::from_secs(10), || {
        let n = pg.psql_db(
            &db,
            "select idx_scan from pg_stat_user_indexes where indexrelname = 'orders_note_unused'",
        );
        (n.trim() != "0").then_some(())
    });
    let out = opsdeck::sources::registry::execute(&cmd.op, &cmd.source, &ctx).await;
    let err = out.expect_err("a scanned index is not dropped");
    assert!(err.contains("was scanned"), "{err}");
    let kept = pg.psql_db(
        &db,
        "select count(*) from pg_indexes where indexname = 'orders_note_unused'",
    );
    assert_eq!(kept.trim(), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_whose_twin_was_dropped_meanwhile_is_kept() {
    let pg = shared();
    let db = pg.create_database("twins");
    pg.psql_db(
        &db,
        "create table t (a int, b int); insert into t select g, g from generate_series(1, 5000) g; \
         create index t_a on t (a); create index t_a_again on t (a);",
    );
    let s_spec = spec(pg.url_for(&db));
    let mut p = PgPoller::new(s_spec.clone()).with_slow_refresh(Duration::ZERO);
    let s = poll_until(&mut p, "duplicate listed", |s| {
        has(s, Kind::Duplicate, "public.t_a_again")
    })
    .await;
    let mut st = console(&s_spec);
    feed(&mut st, &s);
    let c = press_ddl(&mut st, "duplicate:public.t_a_again");
    let cmd = confirm(&mut st, &c);
    // Someone drops the other one before this runs: dropping this too would leave none.
    pg.psql_db(&db, "drop index t_a");
    let ctx = st.ctx.clone();
    let err = opsdeck::sources::registry::execute(&cmd.op, &cmd.source, &ctx)
        .await
        .expect_err("refused");
    assert!(err.contains("would leave no index"), "{err}");
    let kept = pg.psql_db(
        &db,
        "select count(*) from pg_indexes where indexname = 't_a_again'",
    );
    assert_eq!(kept.trim(), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_and_the_local_data_directory_have_capacity_figures() {
    let pg = shared();
    let db = pg.create_database("cap");
    let mut p = PgPoller::new(spec(pg.url_for(&db))).with_slow_refresh(Duration::ZERO);
    let s = poll_until(&mut p, "capacity figures", |s| {
        s.capacity
            .iter()
            .any(|f| f.kind == "postgres.database" && f.subject == db)
    })
    .await;
    let kinds: Vec<&str> = s.capacity.iter().map(|f| f.kind.as_str()).collect();
    assert!(kinds.contains(&"postgres.connections"), "{kinds:?}");
    // The harness's superuser may read data_directory and the server is on this machine.
    let disk = s.data_disk.as_ref().expect("the data directory's disk");
    assert!(disk.total_bytes > 0 && disk.available_bytes > 0, "{disk:?}");
    let dd = s
        .capacity
        .iter()
        .find(|f| f.kind == "postgres.data_directory")
        .expect("data directory figure");
    assert_eq!(dd.limit, Some(disk.total_bytes as f64));
    let mine = s
        .capacity
        .iter()
        .find(|f| f.kind == "postgres.database" && f.subject == db)
        .expect("database figure");
    // A database may grow into what is left on the disk.
    assert!(mine.limit.unwrap_or(0.0) > mine.used, "{mine:?}");
    // One poll is no history: no time to full yet, and it says so.
    assert!(mine.text.starts_with("collecting"), "{}", mine.text);
}
