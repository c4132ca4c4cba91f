//! What the PostgreSQL source costs the server and how its actions behave when the server
//! struggles, against the harness's real servers: heavy figures only on their slow
//! schedule (counted in pg_stat_statements by the console's role), statement deltas that
//! find a new hot query among older heavy ones and notice evictions, one connection shared
//! by the poll and the actions (terminate works with max_connections exhausted), and
//! signals checked against the previewed backend, reported per pid.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use opsdeck::actions::Op;
use opsdeck::config::keymap::Action;
use opsdeck::sources::postgres::{
    Outcome, PgOp, PgPoller, PgSample, PostgresSpec, TAB_ACTIVITY, Target,
};
use opsdeck::sources::{At, Plan, Sample};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};
use support::{Postgres, unique_name};

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

async fn poll(p: &mut PgPoller) -> PgSample {
    p.sample().await.expect("poll")
}

async fn try_connect(pg: &Postgres, db: &str, user: &str, app: &str) -> sqlx::Result<PgConnection> {
    let opts: PgConnectOptions = pg.url_for(db).parse().expect("url");
    PgConnection::connect_with(&opts.username(user).application_name(app)).await
}

async fn connect(pg: &Postgres, db: &str, user: &str, app: &str) -> PgConnection {
    try_connect(pg, db, user, app).await.expect("connect")
}

async fn pid(c: &mut PgConnection) -> i32 {
    sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(c)
        .await
        .expect("pid")
}

fn create_role(pg: &Postgres, prefix: &str, extra: &str) -> String {
    let role = unique_name(prefix);
    pg.psql(&format!("CREATE ROLE {role} LOGIN {extra}"));
    role
}

/// Calls recorded by pg_stat_statements for `role`'s statements whose text contains `like`.
fn calls(pg: &Postgres, role: &str, like: &str) -> i64 {
    pg.psql(&format!(
        "select coalesce(sum(s.calls), 0) from pg_stat_statements s \
         join pg_roles r on r.oid = s.userid where r.rolname = '{role}' \
         and s.query like '%{like}%'"
    ))
    .parse()
    .expect("a count")
}

fn alive(pg: &Postgres, pid: i32) -> bool {
    pg.psql(&format!(
        "select count(*) from pg_stat_activity where pid = {pid}"
    )) == "1"
}

fn wait_gone(pg: &Postgres, pid: i32) {
    support::wait_until(&format!("pid {pid} gone"), Duration::from_secs(10), || {
        (!alive(pg, pid)).then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_sizes_are_read_only_on_their_slow_schedule() {
    let pg = shared();
    let role = create_role(pg, "sizer", "IN ROLE pg_monitor");
    let url = pg.url_as(&role, "postgres");
    let mut p = PgPoller::new(spec(url.clone())).with_slow_refresh(Duration::from_secs(3600));
    for _ in 0..5 {
        poll(&mut p).await;
    }
    // Vital figures every poll, the heavy ones once.
    assert_eq!(
        calls(pg, &role, "from pg_stat_get_activity(%) where backend_type"),
        5
    );
    assert_eq!(calls(pg, &role, "pg_database_size"), 1);
    assert_eq!(calls(pg, &role, "pg_replication_slots"), 1);
    assert_eq!(calls(pg, &role, "sum(total_exec_time)"), 1);
    assert_eq!(calls(pg, &role, "pg_has_role(current_user"), 1);
    // What does not change per poll is not asked per poll: names of the sessions' oids
    // (one cache for the sessions and the statements), and no standby means no scan of
    // every backend for pg_stat_replication.
    let names = calls(pg, &role, "oid::int8, rolname::text from pg_roles");
    assert!((1..=2).contains(&names), "{names} name lookups");
    assert_eq!(calls(pg, &role, "pg_stat_get_wal_senders()"), 5);
    // The vital figures ride on the sessions' statement: one round trip a poll for both.
    assert_eq!(
        calls(pg, &role, "pg_is_in_recovery()%from pg_stat_get_activity"),
        5
    );
    assert_eq!(calls(pg, &role, "pg_is_in_recovery()"), 5);
    assert_eq!(calls(pg, &role, "from pg_stat_replication"), 0);
    let s = poll(&mut p).await;
    assert!(s.ages.sizes.is_some_and(|a| a > 0.0), "{:?}", s.ages);
    assert_eq!(s.slow_refresh_seconds, 3600.0);
    drop(p);

    // With a short interval: read again once it has passed.
    let every = Duration::from_millis(300);
    let mut p = PgPoller::new(spec(url)).with_slow_refresh(every);
    poll(&mut p).await;
    for _ in 0..2 {
        tokio::time::sleep(every + Duration::from_millis(100)).await;
        poll(&mut p).await;
    }
    assert_eq!(calls(pg, &role, "pg_replication_slots"), 1 + 3);
    assert_eq!(
        calls(pg, &role, "from pg_stat_get_activity(%) where backend_type"),
        9
    );
}

/// Sizes: all at once on the first poll, then each round (twice `slow_refresh`) in shares
/// on consecutive polls, at most a tenth of the databases each, so no poll reads them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_sizes_are_read_a_share_per_poll_after_the_first() {
    // Its own server: the database count must not move under the test.
    let pg = Postgres::start();
    for i in 0..23 {
        pg.psql(&format!("create database sized_{i}"));
    }
    let dbs: usize = pg
        .psql("select count(*) from pg_database where datallowconn")
        .parse()
        .expect("a count");
    assert_eq!(dbs, 25, "postgres, template1 and 23 more");
    let role = create_role(&pg, "sizer", "IN ROLE pg_monitor");
    let every = Duration::from_millis(300);
    let mut p = PgPoller::new(spec(pg.url_as(&role, "postgres"))).with_slow_refresh(every);
    let sized = |s: &PgSample| {
        s.maintenance
            .databases
            .iter()
            .filter(|d| d.size_bytes.is_some())
            .count()
    };
    let s = poll(&mut p).await;
    assert_eq!(calls(&pg, &role, "pg_database_size"), 1);
    assert_eq!(sized(&s), dbs, "every size from the first poll");
    tokio::time::sleep(every * 2 + Duration::from_millis(100)).await;
    // 25 databases: shares of 3, so 9 polls; the sizes stay shown meanwhile.
    for i in 1..=9 {
        let s = poll(&mut p).await;
        assert_eq!(calls(&pg, &role, "pg_database_size"), 1 + i, "poll {i}");
        assert_eq!(sized(&s), dbs, "poll {i}");
    }
    // The round is over: nothing until the next one is due.
    let s = poll(&mut p).await;
    assert_eq!(calls(&pg, &role, "pg_database_size"), 10);
    assert!(s.ages.sizes.is_some(), "{:?}", s.ages);
    assert!(
        !s.hints.iter().any(|h| h.contains("sizes")),
        "{:?}",
        s.hints
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_hot_query_shows_in_the_deltas_among_older_heavier_ones() {
    let pg = shared();
    let db = pg.create_database("hot");
    let tables: String = (0..250)
        .map(|i| format!("create table heavy_{i} (x int); insert into heavy_{i} values (1);"))
        .collect();
    pg.psql_db(
        &db,
        &format!("{tables} create table hot_t (x int); insert into hot_t values (1)"),
    );
    // 250 statements, each with more total time than the hot one will ever have.
    let heavy: String = (0..250)
        .map(|i| format!("select count(*) from heavy_{i}, generate_series(1, 20000);"))
        .collect();
    pg.psql_db(&db, &heavy);

    let mut p = PgPoller::new(spec(pg.url())).with_slow_refresh(Duration::ZERO);
    let s = poll(&mut p).await;
    assert!(!s.statements.iter().any(|x| x.query.contains("hot_t")));
    let mut c = connect(pg, &db, "postgres", "hot_app").await;
    for _ in 0..30 {
        c.execute("select count(*) from hot_t").await.expect("hot");
    }
    // The premise: an all-time top 200 by total time would not list it.
    let heavier: i64 = pg
        .psql(
            "select count(*) from pg_stat_statements where toplevel and total_exec_time > \
             (select max(total_exec_time) from pg_stat_statements \
              where query = 'select count(*) from hot_t')",
        )
        .parse()
        .expect("count");
    assert!(heavier >= 200, "{heavier}");

    let s = poll(&mut p).await;
    let pos = |f: &dyn Fn(&opsdeck::sources::postgres::Statement) -> bool| {
        s.statements.iter().position(f)
    };
    let hot = pos(&|x| x.database == db && x.query == "select count(*) from hot_t")
        .unwrap_or_else(|| panic!("hot query missing from {:#?}", s.statements));
    let st = &s.statements[hot];
    assert_eq!(st.calls, 30);
    assert!(st.calls_per_second.is_some_and(|r| r > 0.0), "{st:?}");
    // Busy in the interval, so above every heavy statement that was idle in it.
    let first_heavy = pos(&|x| x.database == db && x.query.contains("heavy_"));
    assert!(
        first_heavy.is_none_or(|h| h > hot),
        "{hot} vs {first_heavy:?}"
    );
    assert!(s.statements_info.interval_seconds.is_some());
    assert!(s.statements_info.entries >= 250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evicted_statements_are_noticed_and_shown() {
    let pg = Postgres::start_with(&[("pg_stat_statements.max", "100")]);
    let mut p = PgPoller::new(spec(pg.url())).with_slow_refresh(Duration::ZERO);
    let s = poll(&mut p).await;
    assert_eq!(s.statements_info.evicted, 0);
    let before = s
        .statements_info
        .dealloc
        .expect("pg_stat_statements_info on 14+");
    let tables: String = (0..300)
        .map(|i| format!("create table t_{i} (x int); select count(*) from t_{i};"))
        .collect();
    pg.psql(&tables);
    let s = poll(&mut p).await;
    let info = &s.statements_info;
    assert!(info.evicted > 0, "{info:?}");
    assert_eq!(info.dealloc, Some(before + info.evicted));
    let model = Sample::Postgres(Box::new(s.clone())).model();
    let lines: Vec<String> = model
        .summary
        .iter()
        .filter_map(|l| match l {
            opsdeck::views::Summary::Text(c) => {
                Some(c.iter().map(|c| c.text.clone()).collect::<String>())
            }
            _ => None,
        })
        .collect();
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "pg_stat_statements evicted {} entries since the last read",
            info.evicted
        ))),
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_check_the_previewed_backend() {
    let pg = shared();
    let db = pg.create_database("identity");
    let mut victim = connect(pg, &db, "postgres", "victim").await;
    let victim_pid = pid(&mut victim).await;
    let spec_db = spec(pg.url_for(&db));
    let mut p = PgPoller::new(spec_db.clone());
    let s = poll(&mut p).await;
    let target = Target::of(
        s.activity
            .iter()
            .find(|a| a.pid == victim_pid)
            .expect("listed"),
    );
    assert!(target.backend_start.is_some());

    // The same pid with another start: a different backend. Refused, left alone.
    let stale = Target {
        backend_start: target.backend_start.map(|t| t - 1),
        ..target.clone()
    };
    for op in [
        PgOp::Terminate {
            targets: vec![stale.clone()],
        },
        PgOp::Cancel {
            targets: vec![stale.clone()],
        },
    ] {
        let r = op.execute_report(&spec_db).await.expect("runs");
        assert!(!r.ok);
        assert!(
            matches!(&r.outcomes[..], [(p, Outcome::Refused(why))]
                if *p == victim_pid && why.contains("is now another session")),
            "{r:?}"
        );
        assert!(
            op.execute(&spec_db)
                .await
                .is_err_and(|e| e.contains("refused"))
        );
    }
    assert!(alive(pg, victim_pid));
    assert!(victim.execute("select 1").await.is_ok());

    // The previewed backend itself: signalled.
    let out = PgOp::Terminate {
        targets: vec![target.clone()],
    }
    .execute(&spec_db)
    .await;
    assert_eq!(
        out,
        Ok("pg_terminate_backend: 1 of 1 sessions signalled".into())
    );
    wait_gone(pg, victim_pid);
    // Once it has ended, the same preview finds nothing to do.
    let r = PgOp::Terminate {
        targets: vec![target],
    }
    .execute_report(&spec_db)
    .await
    .expect("runs");
    assert!(matches!(&r.outcomes[..], [(_, Outcome::Spared(why))] if why.contains("ended")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_reports_each_pid_and_a_superuser_session_does_not_stop_the_others() {
    let pg = shared();
    let db = pg.create_database("perpid");
    let app = create_role(pg, "perpid_app", "");
    let console = create_role(
        pg,
        "perpid_console",
        "IN ROLE pg_signal_backend, pg_read_all_stats",
    );
    pg.psql(&format!("GRANT ALL ON DATABASE {db} TO {app}"));
    let mut a1 = connect(pg, &db, &app, "app_one").await;
    let mut su = connect(pg, &db, "postgres", "superuser_job").await;
    let mut a2 = connect(pg, &db, &app, "app_two").await;
    let (p1, psu, p2) = (pid(&mut a1).await, pid(&mut su).await, pid(&mut a2).await);
    for (c, marker) in [(&mut a1, "one"), (&mut su, "su"), (&mut a2, "two")] {
        c.execute(sqlx::AssertSqlSafe(format!("select 'marker {marker}'")))
            .await
            .expect("query");
    }

    let spec_db = spec(pg.url_as(&console, &db));
    let mut p = PgPoller::new(spec_db.clone());
    let s = poll(&mut p).await;
    let marked: BTreeSet<String> = [p1, psu, p2].iter().map(|p| p.to_string()).collect();
    let key = p1.to_string();
    let at = At {
        table: TAB_ACTIVITY,
        key: Some(&key),
        marked: &marked,
    };
    let plan = Sample::Postgres(Box::new(s))
        .plan(&at, Action::Terminate, None)
        .expect("applies")
        .expect("a command");
    let Plan::Ready(planned) = plan else {
        panic!("{plan:?}")
    };
    let op = planned.op;
    let Op::Postgres(op) = op else {
        panic!("{op:?}")
    };
    // The preview shows what each target runs.
    let preview = op.describe();
    for (pid, marker) in [(p1, "one"), (psu, "su"), (p2, "two")] {
        assert!(
            preview.contains(&format!("pid {pid} ("))
                && preview.contains(&format!("'marker {marker}'")),
            "{preview}"
        );
    }
    let r = op.execute_report(&spec_db).await.expect("runs");
    let by_pid = |want: i32| {
        r.outcomes
            .iter()
            .find(|(p, _)| *p == want)
            .map(|(_, o)| o.clone())
            .unwrap_or_else(|| panic!("no outcome for {want}: {r:?}"))
    };
    assert_eq!(by_pid(p1), Outcome::Signalled);
    assert_eq!(by_pid(p2), Outcome::Signalled);
    assert!(
        // PG 15: "must be a superuser to terminate superuser process"; 16+: "permission
        // denied to terminate process" with the SUPERUSER detail.
        matches!(by_pid(psu), Outcome::Failed(why) if why.contains("superuser") || why.contains("SUPERUSER")),
        "{r:?}"
    );
    assert!(!r.ok);
    assert!(
        r.message
            .starts_with("pg_terminate_backend: 2 of 3 sessions signalled")
            && r.message.contains(&format!("pid {psu}: failed: ")),
        "{}",
        r.message
    );
    wait_gone(pg, p1);
    wait_gone(pg, p2);
    assert!(alive(pg, psu));
    assert!(su.execute("select 1").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_works_with_max_connections_exhausted_on_the_pollers_connection() {
    let pg = Postgres::start_with(&[
        ("max_connections", "10"),
        ("superuser_reserved_connections", "3"),
    ]);
    let console = create_role(&pg, "console", "IN ROLE pg_monitor, pg_signal_backend");
    let app = create_role(&pg, "app", "");
    let spec_pg = spec(pg.url_as(&console, "postgres"));
    let mut p = PgPoller::new(spec_pg.clone());
    poll(&mut p).await;

    // Fill every slot: the application's first, then the superuser's reserved ones.
    let mut apps = Vec::new();
    let app_refused = loop {
        match try_connect(&pg, "postgres", &app, "app").await {
            Ok(c) => apps.push(c),
            Err(e) => break e.to_string(),
        }
        assert!(apps.len() < 20, "max_connections not enforced");
    };
    assert!(
        app_refused.contains("remaining connection slots are reserved"),
        "{app_refused}"
    );
    let mut supers = Vec::new();
    let su_refused = loop {
        match try_connect(&pg, "postgres", "postgres", "filler").await {
            Ok(c) => supers.push(c),
            Err(e) => break e.to_string(),
        }
        assert!(supers.len() < 20, "max_connections not enforced");
    };
    assert!(su_refused.contains("too many clients"), "{su_refused}");
    assert!(!apps.is_empty() && !supers.is_empty());
    // Nobody gets in now, the console's role included.
    assert!(
        try_connect(&pg, "postgres", &console, "opsdeck-probe")
            .await
            .is_err()
    );

    let s = poll(&mut p).await;
    let mut victim = apps.pop().expect("an app session");
    let victim_pid = pid(&mut victim).await;
    let target = Target::of(
        s.activity
            .iter()
            .find(|a| a.pid == victim_pid)
            .expect("listed"),
    );
    // Through the console's path: the op finds the source by name in the context, and the
    // poller's connection by the source's entry.
    let ctx = opsdeck::sources::ContextSpec {
        postgres: vec![spec_pg.clone()],
        ..Default::default()
    };
    let op = Op::Postgres(PgOp::Terminate {
        targets: vec![target],
    });
    let out = opsdeck::sources::registry::execute(&op, "db", &ctx).await;
    assert_eq!(
        out,
        Ok("pg_terminate_backend: 1 of 1 sessions signalled".into())
    );
    let checker = &mut supers[0];
    let mut gone = false;
    for _ in 0..100 {
        let n: i64 = sqlx::query_scalar("select count(*) from pg_stat_activity where pid = $1")
            .bind(victim_pid)
            .fetch_one(&mut *checker)
            .await
            .expect("count");
        if n == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "pid {victim_pid} still there");
    // One connection for the console, before and after the action; polling goes on.
    let own: i64 = sqlx::query_scalar("select count(*) from pg_stat_activity where usename = $1")
        .bind(&console)
        .fetch_one(&mut *checker)
        .await
        .expect("count");
    assert_eq!(own, 1);
    let s = poll(&mut p).await;
    assert!(!s.activity.iter().any(|a| a.pid == victim_pid));
    assert!(victim.execute("select 1").await.is_err());
}
