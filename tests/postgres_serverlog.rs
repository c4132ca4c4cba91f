//! The PostgreSQL server log against real servers: read through the server
//! (`pg_ls_logdir` + `pg_read_binary_file`) with `logging_collector` on, or from a local
//! file (`log_path`); ERROR/FATAL/PANIC lines counted by message; only the new part read;
//! new FATAL lines become timeline events; a role without the privileges is told how to
//! get them.

mod support;

use std::time::Duration;

use opsdeck::sources::Sample;
use opsdeck::sources::postgres::{PgPoller, PgSample, PostgresSpec};
use support::{Postgres, unique_name};

fn spec(url: String, log_path: Option<String>) -> PostgresSpec {
    PostgresSpec {
        name: "db".into(),
        url,
        log_path,
        ..Default::default()
    }
}

fn poller(spec: PostgresSpec) -> PgPoller {
    // The log is read on the slow schedule: make it every poll here.
    PgPoller::new(spec).with_slow_refresh(Duration::from_millis(1))
}

async fn poll_until(p: &mut PgPoller, what: &str, f: impl Fn(&PgSample) -> bool) -> PgSample {
    let mut last = None;
    for _ in 0..100 {
        let s = p.sample().await.expect("poll");
        if f(&s) {
            return s;
        }
        last = Some(s);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{what}: never true; last server log {:#?}",
        last.and_then(|s| s.server_log)
    );
}

/// A FATAL line in the server's log: a connection to a database that does not exist.
fn fatal(pg: &Postgres, db: &str) {
    let out = pg.try_psql_db(db, "select 1");
    assert!(!out.status.success(), "connecting to {db} should fail");
}

fn count(s: &PgSample, sev: &str, message: &str) -> u64 {
    s.server_log
        .as_ref()
        .and_then(|l| {
            l.messages
                .iter()
                .find(|m| m.severity == sev && m.message == message)
        })
        .map_or(0, |m| m.count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_server_errors_are_counted_and_new_fatal_lines_are_events() {
    let pg = Postgres::start_with(&[
        ("logging_collector", "on"),
        ("log_directory", "'log'"),
        ("log_filename", "'postgresql-%Y%m%d.log'"),
    ]);
    // Before the console starts: on the first read, marked as earlier.
    fatal(&pg, "before_console");
    let mut p = poller(spec(pg.url(), None));
    let first = poll_until(&mut p, "the earlier FATAL", |s| {
        count(s, "FATAL", "database \"before_console\" does not exist") == 1
    })
    .await;
    let log = first.server_log.clone().expect("log");
    assert_eq!(log.via, "pg_read_binary_file");
    assert!(log.error.is_none(), "{:?}", log.error);
    assert!(
        log.file.starts_with("postgresql-") && log.file.ends_with(".log"),
        "{}",
        log.file
    );
    let earlier = log
        .lines
        .iter()
        .find(|l| l.message.contains("before_console"))
        .expect("the line");
    assert!(earlier.earlier && earlier.at.is_some(), "{earlier:?}");
    let recovered = Sample::from(first.clone()).events(None, "db", chrono::Utc::now());
    assert!(
        recovered
            .iter()
            .any(|e| e.recovered && e.what == "log" && e.text.contains("before_console")),
        "{recovered:?}"
    );
    // Two ERRORs of one kind count under one message; a new FATAL is an event.
    pg.try_psql_db("postgres", "select * from no_such_table_1");
    pg.try_psql_db("postgres", "select * from no_such_table_2");
    let db = unique_name("nope");
    fatal(&pg, &db);
    let next = poll_until(&mut p, "the new lines", |s| {
        count(
            s,
            "FATAL",
            &format!(
                "database \"{}\" does not exist",
                opsdeck::sources::postgres::serverlog::normalize(&db)
            ),
        ) == 1
    })
    .await;
    let missing = "relation \"no_such_table_N\" does not exist at character N";
    assert_eq!(count(&next, "ERROR", missing), 2, "{:#?}", next.server_log);
    // Read once each: the earlier line is not counted again.
    assert_eq!(
        count(&next, "FATAL", "database \"before_console\" does not exist"),
        1
    );
    let events = Sample::from(next).events(Some(&Sample::from(first)), "db", chrono::Utc::now());
    let fatal_events: Vec<&str> = events
        .iter()
        .filter(|e| e.what == "log")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(fatal_events.len(), 1, "{events:?}");
    assert!(
        fatal_events[0].starts_with("server log FATAL: database"),
        "{fatal_events:?}"
    );
    // A plain ERROR is counted on the Log tab but is not an event.
    assert!(
        events.iter().all(|e| !e.text.contains("no_such_table")),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_log_path_is_read_and_a_role_without_privileges_is_told_what_to_grant() {
    // The harness keeps logging_collector off: the server's output goes to postgres.log.
    let pg = Postgres::start();
    let path = pg.dir().join("postgres.log");
    let mut p = poller(spec(pg.url(), Some(path.display().to_string())));
    let db = unique_name("absent");
    p.sample().await.expect("first poll");
    fatal(&pg, &db);
    let s = poll_until(&mut p, "the FATAL in the local file", |s| {
        s.server_log.as_ref().is_some_and(|l| {
            l.lines
                .iter()
                .any(|x| x.message.contains(&db) && !x.earlier)
        })
    })
    .await;
    let log = s.server_log.expect("log");
    assert_eq!(log.via, "log_path");
    assert_eq!(log.file, path.display().to_string());
    // Through the server, as a role without pg_monitor / pg_read_server_files.
    let role = unique_name("nolog");
    pg.psql(&format!("CREATE ROLE {role} LOGIN"));
    let mut p = poller(spec(pg.url_as(&role, "postgres"), None));
    let s = poll_until(&mut p, "the reason", |s| {
        s.server_log.as_ref().is_some_and(|l| l.error.is_some())
    })
    .await;
    let err = s.server_log.and_then(|l| l.error).expect("error");
    assert!(
        err.contains("GRANT pg_monitor, pg_read_server_files"),
        "{err}"
    );
    assert!(err.contains("log_path"), "{err}");
}
