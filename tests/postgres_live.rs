//! The PostgreSQL pane against the harness's real servers: exact session counts, the
//! blocking tree and the actions that clear it, replication lag (with the replica paused),
//! recovery after a restart, and the reduced view of a role without pg_read_all_stats.

mod support;

use std::sync::Arc;
use std::time::Duration;

use opsdeck::config::keymap::Action;
use opsdeck::sources::postgres::PostgresSpec;
use opsdeck::sources::postgres::{PgOp, PgPoller, PgSample, TAB_ACTIVITY, Target};
use opsdeck::sources::{self, Sample, Status, Update};
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

/// The points of `metric` in a sample, as the alert rules read them.
fn measure(s: &PgSample, metric: &str) -> Vec<opsdeck_core::metrics::Point> {
    Sample::Postgres(Box::new(s.clone())).measure(metric, "db")
}

async fn poll(p: &mut PgPoller) -> PgSample {
    p.sample().await.expect("poll")
}

/// Polls until `f` holds (state changes of other sessions land asynchronously).
async fn poll_until(p: &mut PgPoller, what: &str, f: impl Fn(&PgSample) -> bool) -> PgSample {
    for _ in 0..150 {
        let s = poll(p).await;
        if f(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = poll(p).await;
    panic!("{what}: never true; last sample {:#?}", s.connections);
}

async fn connect(pg: &Postgres, db: &str, user: &str, app: &str) -> PgConnection {
    let opts: PgConnectOptions = pg.url_for(db).parse().expect("url");
    PgConnection::connect_with(&opts.username(user).application_name(app))
        .await
        .expect("connect")
}

fn create_role(pg: &Postgres, prefix: &str, extra: &str) -> String {
    let role = unique_name(prefix);
    pg.psql(&format!("CREATE ROLE {role} LOGIN {extra}"));
    role
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_in_known_states_are_counted_exactly() {
    let pg = shared();
    let db = pg.create_database("counts");
    let role = create_role(pg, "counter", "");
    pg.psql(&format!("GRANT ALL ON DATABASE {db} TO {role}"));
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(connect(pg, &db, &role, "app_idle").await);
    }
    let mut itx = Vec::new();
    for _ in 0..2 {
        let mut c = connect(pg, &db, &role, "app_tx").await;
        c.execute("begin; select 1").await.expect("begin");
        itx.push(c);
    }
    let mut aborted = connect(pg, &db, &role, "app_tx").await;
    aborted.execute("begin").await.expect("begin");
    assert!(aborted.execute("select 1/0").await.is_err());
    let mut busy = connect(pg, &db, &role, "app_busy").await;
    let sleeper = tokio::spawn(async move {
        let _ = busy.execute("select pg_sleep(60)").await;
        busy
    });

    let mut p = PgPoller::new(spec(pg.url_for(&db)));
    // The poller itself is connected to this db too (as the superuser, active).
    let s = poll_until(&mut p, "the sleeper is active", |s| {
        s.connections
            .by_database
            .get(&db)
            .and_then(|m| m.get("active"))
            == Some(&2)
    })
    .await;
    let want: Vec<(String, i64)> = vec![
        ("active".into(), 1),
        ("idle".into(), 2),
        ("idle in transaction".into(), 2),
        ("idle in transaction (aborted)".into(), 1),
    ];
    let got = |m: Option<&std::collections::BTreeMap<String, i64>>| -> Vec<(String, i64)> {
        m.map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    };
    let mut by_db = got(s.connections.by_database.get(&db));
    by_db.iter_mut().for_each(|(k, v)| {
        if k == "active" {
            *v -= 1
        }
    });
    assert_eq!(by_db, want);
    assert_eq!(got(s.connections.by_role.get(&role)), want);
    assert_eq!(
        got(s.connections.by_application.get("app_tx")),
        vec![
            ("idle in transaction".into(), 2),
            ("idle in transaction (aborted)".into(), 1)
        ]
    );
    assert_eq!(
        got(s.connections.by_application.get("app_idle")),
        vec![("idle".into(), 2)]
    );
    assert!(s.usable_connections < s.max_connections);
    assert_eq!(s.role, "primary");
    // The activity table: the sleeper's full query in the detail view.
    let sleeper_pid = s
        .activity
        .iter()
        .find(|a| a.application == "app_busy")
        .expect("sleeper row")
        .pid;
    let detail = Sample::Postgres(Box::new(s.clone()))
        .detail(TAB_ACTIVITY, &sleeper_pid.to_string())
        .expect("detail");
    assert!(
        detail
            .lines
            .iter()
            .any(|l| l.iter().any(|c| c.text == "select pg_sleep(60)"))
    );
    // pg_stat_statements lives in db postgres only: here the pane says so.
    assert!(
        s.hints
            .iter()
            .any(|h| h.contains("pg_stat_statements is not installed")),
        "{:?}",
        s.hints
    );
    // The console's own session is never a target.
    let own = s.activity.iter().find(|a| a.own).expect("own session").pid;
    let cmd = Sample::Postgres(Box::new(s))
        .command(TAB_ACTIVITY, &own.to_string(), Action::Terminate)
        .expect("applies");
    assert!(cmd.is_err(), "{cmd:?}");
    sleeper.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_tree_then_cancel_and_terminate_clear_it() {
    let pg = shared();
    let db = pg.create_database("locks");
    pg.psql_db(
        &db,
        "create table t (id int primary key, v int); insert into t values (1, 0)",
    );
    let mut a = connect(pg, &db, "postgres", "holder").await;
    a.execute("begin; update t set v = 1 where id = 1")
        .await
        .expect("lock");
    let a_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut a)
        .await
        .expect("pid");
    let mut waiters = Vec::new();
    let mut pids = Vec::new();
    for name in ["waiter_b", "waiter_c"] {
        let mut c = connect(pg, &db, "postgres", name).await;
        pids.push(
            sqlx::query_scalar::<_, i32>("select pg_backend_pid()")
                .fetch_one(&mut c)
                .await
                .expect("pid"),
        );
        waiters.push(tokio::spawn(async move {
            c.execute("update t set v = 2 where id = 1")
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }));
        // B waits first, then C: a stable order under A.
        let mut p = PgPoller::new(spec(pg.url_for(&db)));
        let n = pids.len();
        poll_until(&mut p, "waiter queued", |s| {
            s.locks.first().map(|r| r.waiters) == Some(n)
        })
        .await;
    }
    let (b_pid, c_pid) = (pids[0], pids[1]);
    let mut p = PgPoller::new(spec(pg.url_for(&db)));
    let s = poll(&mut p).await;
    let a_target = Target::of(
        s.activity
            .iter()
            .find(|x| x.pid == a_pid)
            .expect("A listed"),
    );
    let tree: Vec<(i32, usize)> = s.locks.iter().map(|n| (n.pid, n.depth)).collect();
    assert_eq!(tree[0], (a_pid, 0), "{:#?}", s.locks);
    assert_eq!(s.locks[0].waiters, 2);
    let mut children: Vec<i32> = tree[1..].iter().map(|(p, _)| *p).collect();
    children.sort();
    let mut want = vec![b_pid, c_pid];
    want.sort();
    assert_eq!(children, want);
    assert_eq!(s.connections.by_state.get("waiting on a lock"), Some(&2));

    // Cancel B through the row's command mapping.
    let op = Sample::Postgres(Box::new(s))
        .command(2, &b_pid.to_string(), Action::CancelQuery)
        .expect("applies")
        .expect("ok")
        .op;
    let opsdeck::actions::Op::Postgres(op) = op else {
        panic!("{op:?}")
    };
    let PgOp::Cancel { targets } = &op else {
        panic!("{op:?}")
    };
    assert_eq!(
        targets.iter().map(|t| t.pid).collect::<Vec<_>>(),
        vec![b_pid]
    );
    let spec_db = spec(pg.url_for(&db));
    op.execute(&spec_db).await.expect("cancel");
    let b_result = waiters.remove(0).await.expect("join");
    assert!(
        b_result
            .as_ref()
            .is_err_and(|e| e.contains("canceling statement due to user request")),
        "{b_result:?}"
    );
    let s = poll_until(&mut p, "one waiter left", |s| {
        s.locks.first().map(|r| (r.pid, r.waiters)) == Some((a_pid, 1))
    })
    .await;
    assert_eq!(s.locks.len(), 2);

    // Terminate A: C gets the row, the tree empties, A is gone from pg_stat_activity.
    PgOp::Terminate {
        targets: vec![a_target],
    }
    .execute(&spec_db)
    .await
    .expect("terminate");
    let c_result = waiters.remove(0).await.expect("join");
    assert!(c_result.is_ok(), "{c_result:?}");
    let s = poll(&mut p).await;
    assert!(s.locks.is_empty(), "{:#?}", s.locks);
    support::wait_until("A gone", Duration::from_secs(10), || {
        (pg.psql(&format!(
            "select count(*) from pg_stat_activity where pid = {a_pid}"
        )) == "0")
            .then_some(())
    });
    drop(a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_in_transaction_bulk_terminate_and_connection_limit() {
    let pg = shared();
    let db = pg.create_database("idletx");
    let mut stuck = connect(pg, &db, "postgres", "stuck").await;
    stuck.execute("begin; select 1").await.expect("begin");
    let stuck_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut stuck)
        .await
        .expect("pid");
    let _idle = connect(pg, &db, "postgres", "idle_ok").await;
    // Roles are a slow figure: read on every poll here.
    let mut p = PgPoller::new(spec(pg.url_for(&db))).with_slow_refresh(Duration::ZERO);
    let s = poll_until(&mut p, "stuck past 1s", |s| {
        s.activity
            .iter()
            .any(|a| a.pid == stuck_pid && a.state_seconds.unwrap_or(0.0) > 1.5)
    })
    .await;
    // Sessions of other tests' databases may be idle in transaction too: keep ours.
    let op = PgOp::idle_in_transaction(&s, 1);
    let PgOp::TerminateIdleInTransaction { preview, .. } = &op else {
        panic!("{op:?}")
    };
    assert!(preview.iter().any(|t| t.pid == stuck_pid), "{preview:?}");
    let ours: Vec<Target> = preview
        .iter()
        .filter(|t| t.database == db)
        .cloned()
        .collect();
    assert_eq!(
        ours.iter().map(|t| t.pid).collect::<Vec<_>>(),
        vec![stuck_pid]
    );
    // The preview carries the session's last query (the pid lookup after its begin).
    assert_eq!(ours[0].query, "select pg_backend_pid()");
    let op = PgOp::TerminateIdleInTransaction {
        older_than_seconds: 1,
        preview: ours,
    };
    assert!(op.describe().contains(&format!("pid {stuck_pid}")));
    let out = op.execute(&spec(pg.url())).await.expect("bulk");
    assert_eq!(
        out,
        format!("terminated 1 of 1 previewed idle-in-transaction sessions (pid {stuck_pid})")
    );
    support::wait_until("stuck gone", Duration::from_secs(10), || {
        (pg.psql(&format!(
            "select count(*) from pg_stat_activity where pid = {stuck_pid}"
        )) == "0")
            .then_some(())
    });
    assert!(stuck.execute("select 1").await.is_err());

    // Even handed the console's own pid, terminate leaves it alone and polling goes on.
    let s = poll(&mut p).await;
    let own = s
        .activity
        .iter()
        .find(|a| a.own && a.database == db)
        .expect("own");
    let out = PgOp::Terminate {
        targets: vec![Target::of(own)],
    }
    .execute(&spec(pg.url()))
    .await;
    assert_eq!(
        out,
        Err(format!(
            "pg_terminate_backend: 0 of 1 sessions signalled; pid {}: refused: the console's \
             own session",
            own.pid
        ))
    );
    let own = own.pid;
    let again = poll(&mut p).await;
    assert!(again.activity.iter().any(|a| a.pid == own));

    // Throttle a role: the preview shows the current limit, the server holds the new one.
    let role = create_role(pg, "throttled", "");
    let s = poll(&mut p).await;
    let op = PgOp::connection_limit(&s, &role, 3);
    assert_eq!(
        op.describe(),
        format!("ALTER ROLE {role} CONNECTION LIMIT 3 (currently no limit)")
    );
    let out = op.execute(&spec(pg.url())).await.expect("alter");
    assert_eq!(out, format!("role {role}: connection limit -1 -> 3"));
    assert_eq!(
        pg.psql(&format!(
            "select rolconnlimit from pg_roles where rolname = '{role}'"
        )),
        "3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_with_deltas_and_reduced_view_without_pg_read_all_stats() {
    let pg = shared();
    let plain = create_role(pg, "plain", "");
    let monitor = create_role(pg, "monitor", "IN ROLE pg_monitor");
    // A superuser session idle in db postgres: its state is hidden from `plain`.
    let mut other = connect(pg, "postgres", "postgres", "hidden_app").await;
    let other_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut other)
        .await
        .expect("pid");

    let url = |role: &str| {
        let base = pg.url();
        base.replacen("postgres@", &format!("{role}@"), 1)
    };
    let mut reduced = PgPoller::new(spec(url(&plain)));
    let s = poll(&mut reduced).await;
    let row = s.activity.iter().find(|a| a.pid == other_pid).expect("row");
    assert_eq!(row.query, "<insufficient privilege>");
    assert_eq!(row.state, "unknown");
    assert!(
        s.hints.iter().any(|h| h.contains(&format!(
            "GRANT pg_monitor (or pg_read_all_stats) TO {plain}"
        ))),
        "{:?}",
        s.hints
    );

    let mut full = PgPoller::new(spec(url(&monitor))).with_slow_refresh(Duration::ZERO);
    let s = poll(&mut full).await;
    let row = s.activity.iter().find(|a| a.pid == other_pid).expect("row");
    assert_eq!(row.state, "idle");
    assert!(
        !s.hints.iter().any(|h| h.contains("GRANT")),
        "{:?}",
        s.hints
    );

    // Top statements as pg_monitor, with per-second deltas on the second poll.
    let marker = unique_name("stmt_marker");
    for _ in 0..5 {
        other
            .execute(sqlx::AssertSqlSafe(format!("select 1 as {marker}")))
            .await
            .expect("run");
    }
    let s = poll(&mut full).await;
    let st = s
        .statements
        .iter()
        .find(|st| st.query.contains(&marker))
        .expect("statement listed");
    assert_eq!(st.calls, 5);
    for _ in 0..3 {
        other
            .execute(sqlx::AssertSqlSafe(format!("select 1 as {marker}")))
            .await
            .expect("run");
    }
    let s = poll(&mut full).await;
    let st = s
        .statements
        .iter()
        .find(|st| st.query.contains(&marker))
        .expect("statement listed");
    assert_eq!(st.calls, 8);
    assert!(st.calls_per_second.is_some_and(|r| r > 0.0), "{st:?}");
    assert!(s.rates.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_lag_visible_while_replica_paused() {
    let primary = Postgres::start();
    let replica = primary.replica();
    let mut p = PgPoller::new(spec(primary.url()));
    let s = poll_until(&mut p, "standby streaming", |s| {
        s.replication
            .standbys
            .iter()
            .any(|r| r.state == "streaming")
    })
    .await;
    assert_eq!(s.replication.standbys.len(), 1);
    let mut r = PgPoller::new(spec(replica.url()));
    let rs = poll(&mut r).await;
    assert_eq!(rs.role, "standby");
    assert_eq!(
        rs.replication.receiver.as_ref().map(|r| r.status.as_str()),
        Some("streaming")
    );

    replica.pause();
    primary.psql(
        "create table filler (x text); \
         insert into filler select repeat('x', 1000) from generate_series(1, 20000)",
    );
    let s = poll_until(&mut p, "replay lag while paused", |s| {
        s.replication
            .standbys
            .first()
            .is_some_and(|r| r.replay_lag_bytes > 1_000_000)
    })
    .await;
    let model = Sample::Postgres(Box::new(s)).model();
    assert_eq!(model.tables[4].title, "Replication");
    assert_eq!(model.tables[4].rows.len(), 1);
    replica.resume();
    poll_until(&mut p, "caught up after resume", |s| {
        s.replication
            .standbys
            .first()
            .is_some_and(|r| r.replay_lag_bytes == 0)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_mid_session_errors_then_recovers_by_itself() {
    let pg = Postgres::start();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (_done, done_rx) = tokio::sync::mpsc::unbounded_channel();
    let task = sources::spawn(
        sources::SourceSpec::Postgres(spec(pg.url())),
        &Default::default(),
        Duration::from_millis(200),
        Arc::new(tokio::sync::Notify::new()),
        done_rx,
        move |u| tx.send(u).is_ok(),
    );
    // Each poll's duration comes first (for the exporter); this test is about the rest.
    let mut next = async || loop {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("an update within 60s")
            .expect("runner alive")
        {
            Update::Took(_) => continue,
            u => break u,
        }
    };
    assert!(matches!(next().await, Update::Status(Status::Connecting)));
    assert!(matches!(
        next().await,
        Update::Modelled(Sample::Postgres(_), _)
    ));
    pg.stop();
    loop {
        match next().await {
            Update::Status(Status::Error(e)) => {
                assert!(!e.is_empty());
                break;
            }
            Update::Modelled(..) => continue,
            other => panic!("{other:?}"),
        }
    }
    pg.restart();
    loop {
        match next().await {
            Update::Modelled(Sample::Postgres(s), _) => {
                assert_eq!(s.role, "primary");
                break;
            }
            Update::Status(Status::Error(_)) => continue,
            other => panic!("{other:?}"),
        }
    }
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_shows_dead_tuples_unused_indexes_seq_scans_and_db_ages() {
    let pg = shared();
    let db = pg.create_database("maint");
    pg.psql_db(
        &db,
        "create table churn (id int, v text) with (autovacuum_enabled = false); \
         create index churn_v_unused on churn (v); \
         insert into churn select g, 'x' from generate_series(1, 1000) g; \
         delete from churn where id <= 400; \
         select count(*) from churn where id > 0; select count(*) from churn where id > 1",
    );
    let mut p = PgPoller::new(spec(pg.url_for(&db))).with_slow_refresh(Duration::ZERO);
    let s = poll_until(&mut p, "dead tuples counted", |s| {
        s.maintenance
            .dead_tuples
            .iter()
            .any(|t| t.table == "public.churn" && t.dead_tuples == 400)
    })
    .await;
    let m = &s.maintenance;
    let churn = m
        .dead_tuples
        .iter()
        .find(|t| t.table == "public.churn")
        .expect("churn");
    assert_eq!(churn.live_tuples, 600);
    assert!(
        m.unused_indexes
            .iter()
            .any(|i| i.index == "public.churn_v_unused" && i.size_bytes > 0),
        "{:?}",
        m.unused_indexes
    );
    assert!(
        m.seq_scan_heavy.iter().any(|t| t.table == "public.churn"),
        "{:?}",
        m.seq_scan_heavy
    );
    let d = m
        .databases
        .iter()
        .find(|d| d.database == db)
        .expect("db listed");
    assert!(d.size_bytes.is_some_and(|b| b > 0));
    assert!(d.xid_age > 0);
}

/// The built-in rules over one sample: the names of the alerts that fire.
fn firing(sample: &PgSample) -> Vec<String> {
    use opsdeck::alerts::{Desk, RuleSet, SourceView};
    let rules = RuleSet::default();
    let mut desk = Desk::default();
    let st = Status::Ok;
    let s = Sample::Postgres(Box::new(sample.clone()));
    desk.evaluate(
        &rules,
        &[SourceView {
            kind: opsdeck::sources::SourceKind::Postgres,
            name: "db",
            status: &st,
            sample: Some(&s),
        }],
        chrono::Utc::now(),
    );
    desk.engine
        .firing()
        .iter()
        .map(|e| format!("{} {}", e.alert.rule, e.alert.subject))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_pg_read_all_stats_replication_is_unknown_not_down() {
    let primary = Postgres::start();
    let plain = create_role(&primary, "plain", "");
    let monitor = create_role(&primary, "monitor", "IN ROLE pg_monitor");
    let replica = primary.replica();
    support::wait_until("roles on the replica", Duration::from_secs(30), || {
        (replica.psql(&format!(
            "select count(*) from pg_roles where rolname in ('{plain}', '{monitor}')"
        )) == "2")
            .then_some(())
    });

    // The privileged view first: the receiver streams.
    let mut full = PgPoller::new(spec(replica.url_as(&monitor, "postgres")));
    let s = poll_until(&mut full, "receiver streaming", |s| {
        s.replication
            .receiver
            .as_ref()
            .is_some_and(|r| r.status == "streaming")
    })
    .await;
    assert!(!s.replication.receiver.as_ref().is_some_and(|r| r.hidden));

    // The plain role sees that a receiver runs, not its status: unknown, never "stopped".
    let mut reduced = PgPoller::new(spec(replica.url_as(&plain, "postgres")));
    let s = poll(&mut reduced).await;
    let r = s.replication.receiver.clone().expect("receiver");
    assert_eq!((r.status.as_str(), r.hidden), ("unknown", true));
    assert!(measure(&s, "postgres.wal_receiver_down").is_empty());
    let alerts = firing(&s);
    assert!(
        !alerts.iter().any(|a| a.starts_with("pg_wal_receiver_down")),
        "{alerts:?}"
    );
    let model = Sample::Postgres(Box::new(s.clone())).model();
    assert_ne!(model.level, opsdeck::views::Level::Crit);
    let row = model.tables[opsdeck::sources::postgres::TAB_REPLICATION]
        .rows
        .iter()
        .find(|r| r.key == "receiver")
        .expect("receiver row");
    assert_eq!(row.cells[1].text, "unknown (needs pg_read_all_stats)");
    assert!(
        s.hints
            .iter()
            .any(|h| h.contains("needs pg_read_all_stats")),
        "{:?}",
        s.hints
    );

    // On the primary: the standby is listed, its lag unknown (not 0), no lag alert read.
    let mut reduced = PgPoller::new(spec(primary.url_as(&plain, "postgres")));
    let s = poll_until(&mut reduced, "standby listed", |s| {
        !s.replication.standbys.is_empty()
    })
    .await;
    assert!(s.replication.standbys.iter().all(|x| x.hidden));
    assert!(measure(&s, "postgres.replication_lag_bytes").is_empty());
    let mut full = PgPoller::new(spec(primary.url_as(&monitor, "postgres")));
    let s = poll(&mut full).await;
    assert!(
        s.replication
            .standbys
            .iter()
            .all(|x| !x.hidden && x.state == "streaming")
    );

    // A receiver that really stopped is still called down (the standby's own view).
    replica.psql("alter system set primary_conninfo = ''");
    replica.psql("select pg_reload_conf()");
    let mut full = PgPoller::new(spec(replica.url()));
    let s = poll_until(&mut full, "receiver stopped", |s| {
        s.replication
            .receiver
            .as_ref()
            .is_some_and(|r| r.status == "stopped")
    })
    .await;
    assert!(
        firing(&s)
            .iter()
            .any(|a| a.starts_with("pg_wal_receiver_down"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_logical_slot_retaining_wal_then_lost() {
    let pg = Postgres::start_with(&[("wal_level", "logical")]);
    let slot = unique_name("orders_sub");
    pg.psql(&format!(
        "select pg_create_logical_replication_slot('{slot}', 'test_decoding')"
    ));
    pg.psql(
        "create table filler (x text); \
         insert into filler select repeat('x', 1000) from generate_series(1, 5000)",
    );
    let mut p = PgPoller::new(spec(pg.url())).with_slow_refresh(Duration::ZERO);
    let s = poll(&mut p).await;
    let after: i64 = pg
        .psql(&format!(
            "select pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::int8 \
             from pg_replication_slots where slot_name = '{slot}'"
        ))
        .parse()
        .expect("bytes");
    let sl = s
        .slots
        .iter()
        .find(|x| x.name == slot)
        .expect("slot listed");
    assert_eq!(
        (sl.slot_type.as_str(), sl.plugin.as_str(), sl.active),
        ("logical", "test_decoding", false)
    );
    assert_eq!(sl.database, "postgres");
    let retained = sl.retained_bytes.expect("retained");
    // 5000 rows of 1 kB went into the WAL after the slot's restart_lsn.
    assert!(retained > 5_000_000, "{sl:?}");
    assert!(retained <= after, "{retained} > {after}");
    assert_eq!(sl.wal_status, "reserved");
    assert!(
        sl.safe_wal_size.is_none(),
        "no max_slot_wal_keep_size: {sl:?}"
    );
    let pts = measure(&s, "postgres.slot_inactive_retained_bytes");
    assert_eq!(pts.len(), 1);
    assert_eq!(pts[0].value, retained as f64);
    let model = Sample::Postgres(Box::new(s)).model();
    let t = &model.tables[opsdeck::sources::postgres::TAB_SLOTS];
    assert_eq!(t.title, "Slots");
    assert_eq!(t.rows[0].cells[3].text, "no");

    // Cap the slot's WAL and write past it: the checkpoint removes the WAL, the slot is lost.
    pg.psql("alter system set max_slot_wal_keep_size = '1MB'");
    pg.psql("select pg_reload_conf()");
    for _ in 0..3 {
        pg.psql(
            "insert into filler select repeat('y', 1000) from generate_series(1, 20000); \
             select pg_switch_wal()",
        );
    }
    pg.psql("checkpoint");
    let s = poll_until(&mut p, "slot lost", |s| {
        s.slots
            .iter()
            .any(|x| x.name == slot && x.wal_status == "lost")
    })
    .await;
    let alerts = firing(&s);
    assert!(
        alerts.contains(&format!("pg_slot_lost slot {slot}")),
        "{alerts:?}"
    );
    let model = Sample::Postgres(Box::new(s)).model();
    assert_eq!(model.level, opsdeck::views::Level::Crit);
    assert!(matches!(&model.tile[2], opsdeck::views::Summary::Text(c)
        if c[0].text == format!("slot {slot} lost its WAL")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_wait_is_measured_from_waitstart_not_the_query_start() {
    let pg = shared();
    let db = pg.create_database("waitstart");
    pg.psql_db(
        &db,
        "create table t (id int primary key, v int); insert into t values (1, 0)",
    );
    let mut holder = connect(pg, &db, "postgres", "holder").await;
    holder
        .execute("begin; update t set v = 1 where id = 1")
        .await
        .expect("lock");
    let mut w = connect(pg, &db, "postgres", "slow_waiter").await;
    let w_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut w)
        .await
        .expect("pid");
    // The statement runs 8 s before it queues on the row lock.
    let waiter = tokio::spawn(async move {
        w.execute("do $$ begin perform pg_sleep(8); update t set v = 2 where id = 1; end $$")
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let mut p = PgPoller::new(spec(pg.url_for(&db)));
    let s = poll_until(&mut p, "waiter queued", |s| {
        s.locks.iter().any(|n| n.pid == w_pid)
    })
    .await;
    let node = s.locks.iter().find(|n| n.pid == w_pid).expect("waiter");
    let since = node.waiting_since.expect("waitstart on PG 14+");
    let (waitstart, query_start): (f64, f64) = {
        let out = pg.psql(&format!(
            "select extract(epoch from l.waitstart), extract(epoch from a.query_start) \
             from pg_locks l join pg_stat_activity a using (pid) \
             where l.pid = {w_pid} and not l.granted"
        ));
        let (a, b) = out.split_once('|').expect("two columns");
        (
            a.parse().expect("waitstart"),
            b.parse().expect("query_start"),
        )
    };
    assert!((since - waitstart).abs() < 1e-3, "{since} vs {waitstart}");
    assert!(waitstart - query_start >= 8.0, "{waitstart} {query_start}");
    assert_eq!(s.lock_wait_source, "waitstart");
    // The tree's wait is the lock wait, not the statement's running time (8 s more; the
    // margin only covers the moment between the poll's two statements).
    let session = s.activity.iter().find(|a| a.pid == w_pid).expect("session");
    let wait = node.wait_seconds.expect("own wait");
    assert!(
        wait < session.query_seconds.expect("running") - 4.0,
        "wait {wait} vs query {:?}",
        session.query_seconds
    );
    assert_eq!(s.locks[0].longest_wait_seconds, wait);
    holder.execute("rollback").await.expect("release");
    assert!(waiter.await.expect("join").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wraparound_ages_per_database() {
    let pg = shared();
    let db = pg.create_database("xidage");
    pg.psql_db(
        &db,
        "create table t (id int primary key); insert into t values (1)",
    );
    // 50 transactions with an xid each, and one multixact (two sessions share a row lock).
    let mut c = connect(pg, &db, "postgres", "xids").await;
    for _ in 0..50 {
        c.execute("select txid_current()").await.expect("xid");
    }
    let mut a = connect(pg, &db, "postgres", "share_a").await;
    let mut b = connect(pg, &db, "postgres", "share_b").await;
    a.execute("begin; select * from t for share")
        .await
        .expect("a");
    b.execute("begin; select * from t for share")
        .await
        .expect("b");
    b.execute("commit").await.expect("b");
    a.execute("commit").await.expect("a");

    let before: i64 = pg
        .psql(&format!(
            "select age(datfrozenxid) from pg_database where datname = '{db}'"
        ))
        .parse()
        .expect("age");
    let mut p = PgPoller::new(spec(pg.url())).with_slow_refresh(Duration::ZERO);
    let s = poll(&mut p).await;
    let after: i64 = pg
        .psql(&format!(
            "select age(datfrozenxid) from pg_database where datname = '{db}'"
        ))
        .parse()
        .expect("age");
    let d = s
        .maintenance
        .databases
        .iter()
        .find(|d| d.database == db)
        .expect("db listed");
    assert!(
        before >= 50 && d.xid_age >= before && d.xid_age <= after,
        "{d:?}"
    );
    assert_eq!(d.xid_wraparound_ratio, d.xid_age as f64 / 2_147_483_648.0);
    assert!(d.mxid_age >= 1, "{d:?}");
    assert_eq!(d.mxid_wraparound_ratio, d.mxid_age as f64 / 2_147_483_648.0);
    assert!(d.allows_connections);
    let t0 = s
        .maintenance
        .databases
        .iter()
        .find(|d| d.database == "template0")
        .expect("template0 is aged too");
    assert!(!t0.allows_connections && t0.size_bytes.is_none());
    let pts = measure(&s, "postgres.xid_wraparound_ratio");
    assert!(pts.iter().any(
        |x| x.cause.as_ref().is_some_and(|c| c.key == db) && x.value == d.xid_wraparound_ratio
    ));
    assert!(s.ages.wraparound.is_some() && s.ages.sizes.is_some());
    let model = Sample::Postgres(Box::new(s.clone())).model();
    let row = model.tables[opsdeck::sources::postgres::TAB_DATABASES]
        .rows
        .iter()
        .find(|r| r.key == db)
        .expect("row");
    assert_eq!(row.cells[2].text, opsdeck::views::fmt::thousands(d.xid_age));
    assert_eq!(row.cells[3].text, "0%");
}

/// Many sessions, few listed: the counts stay exact, and every session an on-call engineer
/// needs is listed even far past the top rows: the longest running, the idle-in-transaction
/// ones, a blocker that sits idle (a session advisory lock) and its waiters; a blocker that
/// stopped blocking is still listed on the next poll, so it reads as "no longer blocks
/// anyone", not "ended".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_many_sessions_counts_are_exact_and_waiters_blockers_listed_past_the_top() {
    let pg = shared();
    let db = pg.create_database("crowd");
    let role = create_role(pg, "crowd", "");
    pg.psql(&format!("GRANT ALL ON DATABASE {db} TO {role}"));
    let mut p = PgPoller::new(spec(pg.url_for(&db))).with_session_rows(3);
    async fn pid(c: &mut PgConnection) -> i32 {
        sqlx::query_scalar("select pg_backend_pid()")
            .fetch_one(c)
            .await
            .expect("pid")
    }
    let mut sleeper = connect(pg, &db, &role, "crowd_busy").await;
    let sleeper_pid = pid(&mut sleeper).await;
    let sleeping = tokio::spawn(async move {
        let _ = sleeper.execute("select pg_sleep(60)").await;
        sleeper
    });
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut c = connect(pg, &db, &role, "crowd_idle").await;
        // A query each, so their query_start is older than the blocker's (a session that
        // never ran one ranks last).
        c.execute("select 1").await.expect("a query");
        idle.push(c);
    }
    let mut itx = Vec::new();
    let mut itx_pids = Vec::new();
    for _ in 0..2 {
        let mut c = connect(pg, &db, &role, "crowd_tx").await;
        c.execute("begin; select 1").await.expect("begin");
        itx_pids.push(pid(&mut c).await);
        itx.push(c);
    }
    // The blocker connects last and holds a session lock while idle: of the idle sessions
    // it ran its query last, so the rank alone never lists it.
    let mut blocker = connect(pg, &db, &role, "crowd_blocker").await;
    blocker
        .execute("select pg_advisory_lock(4242)")
        .await
        .expect("lock");
    let blocker_pid = pid(&mut blocker).await;
    let mut waiter_pids = Vec::new();
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let mut c = connect(pg, &db, &role, "crowd_waiter").await;
        waiter_pids.push(pid(&mut c).await);
        waiting.push(tokio::spawn(async move {
            c.execute("select pg_advisory_lock(4242)")
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }));
    }

    // Active: the sleeper and this poller's own session. Sessions change state on their
    // own time, so poll until the counts settle (a wrong count never does: it fails).
    let want: Vec<(String, i64)> = vec![
        ("active".into(), 2),
        ("idle".into(), 21),
        ("idle in transaction".into(), 2),
        ("waiting on a lock".into(), 2),
    ];
    let counts = |s: &PgSample| -> Vec<(String, i64)> {
        s.connections
            .by_database
            .get(&db)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    };
    let s = poll_until(
        &mut p,
        "the counts and two waiters behind the blocker",
        |s| {
            s.locks.first().map(|r| (r.pid, r.waiters)) == Some((blocker_pid, 2))
                && counts(s) == want
        },
    )
    .await;
    let by_role: i64 = s.connections.by_role[&role].values().sum();
    assert_eq!(by_role, 26);
    assert_eq!(
        s.roles
            .iter()
            .find(|r| r.role == role)
            .map(|r| r.connections),
        Some(26),
        "role limits count every session, listed or not"
    );
    let listed = |pid: i32| s.activity.iter().any(|a| a.pid == pid);
    let crowd_listed = s
        .activity
        .iter()
        .filter(|a| a.database == db && a.application == "crowd_idle")
        .count();
    assert!(crowd_listed < 20, "only a part is listed: {crowd_listed}");
    assert!((s.activity.len() as i64) < s.connections.total);
    let line = s.listed_line().expect("the pane says a part is listed");
    assert!(
        line.contains(&format!("of {} sessions", s.connections.total)),
        "{line}"
    );
    for (what, pids) in [
        ("blocker", vec![blocker_pid]),
        ("waiters", waiter_pids.clone()),
        ("idle in transaction", itx_pids.clone()),
    ] {
        for p in pids {
            assert!(listed(p), "{what} {p} not listed");
        }
    }
    let b = s
        .activity
        .iter()
        .find(|a| a.pid == blocker_pid)
        .expect("blocker row");
    assert_eq!(b.state, "idle");
    assert!(b.backend_start.is_some(), "the identity actions check");
    assert_eq!(s.locks[0].user, role, "the tree has the blocker's details");
    // The longest running query of this database shows too, if the top rows reach it
    // (other tests' active sessions may come first): it is what the alert rules measure.
    let points = measure(&s, "postgres.query_seconds");
    if listed(sleeper_pid) {
        assert!(
            points
                .iter()
                .any(|x| x.subject == format!("pid {sleeper_pid}"))
        );
    }

    // The blocker lets go: the waiters get the lock one after the other and return.
    blocker
        .execute("select pg_advisory_unlock(4242)")
        .await
        .expect("unlock");
    // Each waiter's task ends with its query and closes its connection, which lets the
    // session lock go to the next.
    for w in waiting {
        let r = tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .expect("the waiters got the lock in turn");
        r.expect("join").expect("the waiter's lock");
    }
    let next = poll_until(&mut p, "nobody waits", |s| {
        !s.connections
            .by_database
            .get(&db)
            .is_some_and(|m| m.contains_key("waiting on a lock"))
    })
    .await;
    assert!(
        next.activity.iter().any(|a| a.pid == blocker_pid),
        "the former blocker is listed the poll after"
    );
    sleeping.abort();
    drop((idle, itx, blocker));
}
