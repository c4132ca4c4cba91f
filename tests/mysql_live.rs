//! The MariaDB/MySQL source against the harness's real MariaDB: exact connection counts
//! for a known scene, a lock wait with its blocker named, a slow statement in the digest
//! view, replication stopped/restarted/held back on a real GTID replica, KILL QUERY and
//! KILL CONNECTION through the ops with their identity check, and the reduced view of a
//! user without PROCESS. The poller, the model and the ops are called directly.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use opsdeck::sources::mysql::{
    KillMode, Mysql, MysqlOp, MysqlPoller, MysqlSample, MysqlSpec, TAB_LOCKS, TAB_OVERVIEW,
    TAB_PROCESSLIST, TAB_REPLICATION, TAB_STATEMENTS,
};
use opsdeck::sources::system::System;
use opsdeck::views::{Level, Summary};
use sqlx::mysql::MySqlConnection;
use sqlx::{AssertSqlSafe, Connection, Row};
use support::{Mariadb, unique_name, wait_until};

fn shared() -> &'static Mariadb {
    static DB: OnceLock<Mariadb> = OnceLock::new();
    DB.get_or_init(Mariadb::start)
}

fn spec(url: String) -> MysqlSpec {
    MysqlSpec {
        name: "db".into(),
        url,
        ..Default::default()
    }
}

async fn poll(p: &mut MysqlPoller) -> MysqlSample {
    p.sample().await.expect("poll")
}

/// Polls until `f` holds (other connections change state asynchronously).
async fn poll_until(
    p: &mut MysqlPoller,
    what: &str,
    f: impl Fn(&MysqlSample) -> bool,
) -> MysqlSample {
    for _ in 0..300 {
        let s = poll(p).await;
        if f(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = poll(p).await;
    panic!(
        "{what}: never true; last sample: connections {:#?}\nprocesslist {:#?}\nlocks {:#?}\n\
         replication {:#?}\nhints {:?}",
        s.connections, s.processlist, s.locks, s.replication, s.hints
    );
}

async fn connect(url: &str) -> MySqlConnection {
    MySqlConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

async fn exec(c: &mut MySqlConnection, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(&mut *c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn connection_id(c: &mut MySqlConnection) -> u64 {
    sqlx::raw_sql("SELECT CONNECTION_ID()")
        .fetch_one(&mut *c)
        .await
        .expect("CONNECTION_ID()")
        .try_get::<u64, _>(0)
        .expect("u64 id")
}

/// Runs `sql` on `c` in the background; the task gives the connection back with the result.
fn spawn_sql(
    mut c: MySqlConnection,
    sql: String,
) -> tokio::task::JoinHandle<(MySqlConnection, Result<(), String>)> {
    tokio::spawn(async move {
        let r = sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        (c, r)
    })
}

fn counts(m: Option<&BTreeMap<String, i64>>) -> Vec<(String, i64)> {
    m.map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default()
}

fn pairs(v: &[(&str, i64)]) -> Vec<(String, i64)> {
    v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

fn tile_text(s: &MysqlSample, line: usize) -> String {
    match &s.model().tile[line] {
        Summary::Text(c) => c.iter().map(|c| c.text.clone()).collect(),
        Summary::Gauge { text, .. } | Summary::Spark { text, .. } => text.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_of_a_known_scene_are_counted_by_user_host_and_database() {
    let db = shared();
    let name = db.create_database("counts");
    db.sql(&format!(
        "CREATE TABLE {name}.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
         INSERT INTO {name}.t VALUES (1, 0), (2, 0)"
    ));
    let alice = db.create_user("alice", &name);
    let bob = db.create_user("bob", &name);
    let mut keep = Vec::new();
    for _ in 0..3 {
        keep.push(connect(&db.url_as(&alice, &alice, &name)).await);
    }
    let mut in_trx = connect(&db.url_as(&alice, &alice, &name)).await;
    exec(&mut in_trx, "BEGIN").await;
    exec(&mut in_trx, "UPDATE t SET v = v + 1 WHERE id = 2").await;
    for _ in 0..2 {
        keep.push(connect(&db.url_as(&bob, &bob, &name)).await);
    }
    let mut busy = connect(&db.url_as(&bob, &bob, &name)).await;
    let busy_id = connection_id(&mut busy).await;
    let sleeper = spawn_sql(busy, "SELECT SLEEP(60)".into());

    let mut p = MysqlPoller::new(spec(db.url()));
    // InnoDB's transaction snapshot (information_schema) may lag a poll behind the UPDATE.
    let s = poll_until(
        &mut p,
        "bob's sleeper active, alice's transaction open",
        |s| {
            let n = |user: &str, state: &str| {
                s.connections
                    .by_user
                    .get(user)
                    .and_then(|m| m.get(state))
                    .copied()
            };
            n(&bob, "active") == Some(1) && n(&alice, "idle in transaction") == Some(1)
        },
    )
    .await;
    assert_eq!(
        counts(s.connections.by_user.get(&alice)),
        pairs(&[("idle", 3), ("idle in transaction", 1)])
    );
    assert_eq!(
        counts(s.connections.by_user.get(&bob)),
        pairs(&[("active", 1), ("idle", 2)])
    );
    assert_eq!(
        counts(s.connections.by_database.get(&name)),
        pairs(&[("active", 1), ("idle", 5), ("idle in transaction", 1)])
    );
    // Seven test connections plus the console's own, at least (other tests share the server).
    assert!(s.threads_connected >= 8, "{}", s.threads_connected);
    assert_eq!(s.max_connections, 100);
    assert!(s.has_process);
    assert!(s.processlist.iter().all(|t| t.id != s.own_connection_id));
    assert!(s.version.contains("MariaDB"), "{}", s.version);
    assert_eq!(s.role(), "primary");

    // What a person sees: the Overview rows, the processlist row and its detail.
    let m = s.model();
    let row = m.tables[TAB_OVERVIEW]
        .rows
        .iter()
        .find(|r| r.key == format!("user:{alice}"))
        .expect("alice's overview row");
    let cells: Vec<&str> = row.cells.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        cells,
        ["user", alice.as_str(), "4", "0", "0", "1", "3", "0"]
    );
    let row = m.tables[TAB_PROCESSLIST]
        .rows
        .iter()
        .find(|r| r.key == busy_id.to_string())
        .expect("the sleeper's row");
    assert_eq!(row.cells[1].text, bob);
    assert_eq!(row.cells[4].text, "Query");
    assert_eq!(row.cells[8].text, "SELECT SLEEP(60)");
    let detail = s
        .detail(TAB_PROCESSLIST, &busy_id.to_string())
        .expect("detail");
    assert!(
        detail
            .lines
            .iter()
            .flatten()
            .any(|c| c.text == "SELECT SLEEP(60)")
    );

    // A second console sees the first one's connection as a console and will not kill it.
    let mut other = MysqlPoller::new(spec(db.url()));
    let s2 = poll(&mut other).await;
    let first = s2
        .processlist
        .iter()
        .find(|t| t.id == s.own_connection_id)
        .expect("the first console's connection");
    assert!(first.console, "{first:?}");
    let e = MysqlOp::kill(&s2, KillMode::Connection, &[s.own_connection_id]).unwrap_err();
    assert!(e.contains("an opsdeck console's connection"), "{e}");

    db.sql(&format!("KILL QUERY {busy_id}"));
    let (_busy, _) = sleeper.await.expect("sleeper task");
    exec(&mut in_trx, "ROLLBACK").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_wait_names_its_blocker_and_killing_it_frees_the_waiters() {
    let db = shared();
    let name = db.create_database("locks");
    db.sql(&format!(
        "CREATE TABLE {name}.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
         INSERT INTO {name}.t VALUES (1, 0)"
    ));
    let holder = db.create_user("holder", &name);
    let waiter = db.create_user("waiter", &name);
    let mut blocker = connect(&db.url_as(&holder, &holder, &name)).await;
    let blocker_id = connection_id(&mut blocker).await;
    exec(&mut blocker, "BEGIN").await;
    exec(&mut blocker, "UPDATE t SET v = 1 WHERE id = 1").await;
    let mut waiters = Vec::new();
    let mut waiter_ids = Vec::new();
    for i in 0..2 {
        let mut c = connect(&db.url_as(&waiter, &waiter, &name)).await;
        exec(&mut c, "SET SESSION innodb_lock_wait_timeout = 120").await;
        waiter_ids.push(connection_id(&mut c).await);
        waiters.push(spawn_sql(
            c,
            format!("UPDATE t SET v = {} WHERE id = 1", i + 10),
        ));
    }

    let mut p = MysqlPoller::new(spec(db.url()));
    let s = poll_until(&mut p, "two threads wait behind the holder", |s| {
        s.locks
            .iter()
            .any(|n| n.id == blocker_id && n.depth == 0 && n.waiters == 2)
    })
    .await;
    assert_eq!(s.lock_source, "information_schema.INNODB_LOCK_WAITS");
    let root = s.locks.iter().find(|n| n.id == blocker_id).expect("root");
    assert_eq!(root.user, holder);
    assert_eq!(root.label, "idle in transaction");
    // The second waiter also queues behind the first one's request; the tree shows both
    // under the holder.
    let mut below: Vec<u64> = s
        .locks
        .iter()
        .filter(|n| n.depth == 1 && n.blocked_by.first() == Some(&blocker_id))
        .map(|n| n.id)
        .collect();
    below.sort();
    let mut want = waiter_ids.clone();
    want.sort();
    assert_eq!(below, want);
    let w = s
        .locks
        .iter()
        .find(|n| n.id == waiter_ids[0])
        .expect("waiter");
    assert_eq!(w.depth, 1);
    assert_eq!(w.user, waiter);
    assert!(
        w.lock.contains(&format!("`{name}`.`t`")) && w.lock.contains("PRIMARY"),
        "{}",
        w.lock
    );
    assert!(w.info.starts_with("UPDATE t SET v = "), "{}", w.info);
    assert_eq!(
        counts(s.connections.by_user.get(&waiter)),
        pairs(&[("waiting on a lock", 2)])
    );
    // The tile names the blocker; the Locks tab shows the tree.
    assert_eq!(
        tile_text(&s, 2),
        format!(
            "thread {blocker_id} ({holder}) blocks 2 for {}",
            opsdeck::views::fmt::secs(root.wait_seconds)
        )
    );
    let m = s.model();
    assert_eq!(m.level, Level::Crit);
    assert_eq!(m.tables[TAB_LOCKS].rows[0].key, blocker_id.to_string());
    assert!(m.tables[TAB_LOCKS].rows[1].cells[0].text.starts_with("  "));

    // KILL CONNECTION on the blocker (from the Locks tab) frees both waiters.
    let (target, op, _) = s
        .kill(
            TAB_LOCKS,
            &blocker_id.to_string(),
            &Default::default(),
            KillMode::Connection,
        )
        .expect("kill op");
    // The preview names the thread, who it is and what it runs (it is idle: its command).
    assert!(
        target.starts_with(&format!("thread {blocker_id} {holder}@127.0.0.1:"))
            && target.ends_with(" (Sleep)"),
        "{target}"
    );
    let out = op.execute(&spec(db.url())).await.expect("kill");
    assert_eq!(
        out,
        format!("KILL CONNECTION: 1 of 1 killed; thread {blocker_id}: connection killed")
    );
    for t in waiters {
        let (_c, r) = t.await.expect("waiter task");
        r.expect("the waiter's UPDATE went through once the blocker was gone");
    }
    let s = poll_until(&mut p, "no lock waits", |s| {
        !s.locks.iter().any(|n| n.id == blocker_id)
    })
    .await;
    assert!(s.processlist.iter().all(|t| t.id != blocker_id));
    assert!(
        exec_fails(&mut blocker).await,
        "the killed connection still answers"
    );
}

async fn exec_fails(c: &mut MySqlConnection) -> bool {
    sqlx::raw_sql("SELECT 1").execute(&mut *c).await.is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_statement_appears_in_the_digest_view_with_its_delta() {
    let db = shared();
    let name = db.create_database("digests");
    let marker = unique_name("slow_marker");
    let mut p = MysqlPoller::new(spec(db.url()));
    let first = poll(&mut p).await;
    assert!(first.performance_schema);
    assert!(first.statements.is_some());
    let mut c = connect(&db.url_for(&name)).await;
    exec(&mut c, &format!("SELECT SLEEP(1.2) AS {marker}")).await;
    // The server accounts a statement (its digest, Slow_queries) just after the client has
    // its answer, so poll until each shows; the poll that first shows one has all of it as
    // its delta.
    let (mut digest, mut slow) = (None, None);
    for _ in 0..100 {
        let s = poll(&mut p).await;
        let found = s
            .statements
            .iter()
            .flatten()
            .find(|st| st.text.contains(&marker))
            .cloned();
        if digest.is_none()
            && let Some(st) = found
        {
            digest = Some((st, s.clone()));
        }
        if slow.is_none()
            && s.rates
                .as_ref()
                .is_some_and(|r| r.slow_queries_per_second > 0.0)
        {
            slow = Some(s.clone());
        }
        if digest.is_some() && slow.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (st, s) = digest.unwrap_or_else(|| panic!("no digest with {marker} after 100 polls"));
    assert_eq!(st.schema, name);
    assert_eq!(st.calls, 1);
    assert!(st.mean_ms >= 1000.0, "{st:?}");
    // New since the previous poll: the delta is all of it.
    assert!(st.calls_per_second.is_some_and(|c| c > 0.0), "{st:?}");
    assert!(st.ms_per_second.is_some_and(|m| m > 0.0), "{st:?}");
    // long_query_time = 1 in the harness: the 1.2 s statement counts as slow.
    let slow = slow.expect("Slow_queries never rose after a 1.2 s statement (long_query_time 1)");
    let rates = slow.rates.as_ref().expect("rates after the first poll");
    assert!(slow.totals.slow_queries >= 1);
    assert!(rates.queries_per_second > 0.0);
    assert!(
        rates
            .buffer_pool_hit_ratio
            .is_none_or(|r| (0.0..=1.0).contains(&r))
    );
    let m = s.model();
    let row = m.tables[TAB_STATEMENTS]
        .rows
        .iter()
        .find(|r| r.cells[7].text.contains(&marker))
        .expect("the statement's row");
    assert_eq!(row.cells[4].level, Level::Warn);
    let d = s
        .detail(TAB_STATEMENTS, &row.key)
        .expect("statement detail");
    assert_eq!(d.title, format!("statement {}", st.digest));
    // No second call: the next delta is zero.
    let s = poll(&mut p).await;
    let st = s
        .statements
        .as_ref()
        .and_then(|v| v.iter().find(|st| st.text.contains(&marker)).cloned())
        .expect("still listed");
    assert_eq!(st.calls_per_second, Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_stopped_restarted_and_held_back_on_a_real_replica() {
    let primary = Mariadb::start();
    let name = primary.create_database("repl");
    primary.sql(&format!(
        "CREATE TABLE {name}.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
         INSERT INTO {name}.t VALUES (1, 0)"
    ));
    let replica = primary.replica();
    let mut p = MysqlPoller::new(spec(replica.url()));
    let s = poll_until(&mut p, "replica running and caught up", |s| {
        s.replication
            .channels
            .first()
            .is_some_and(|c| c.running() && c.seconds_behind == Some(0))
    })
    .await;
    let c = &s.replication.channels[0];
    assert_eq!(c.source, format!("127.0.0.1:{}", primary.port()));
    assert_eq!(c.using_gtid, "Slave_Pos");
    assert_eq!(c.gtid_io_pos, primary.gtid_binlog_pos());
    assert_eq!(s.replication.gtid_slave_pos, primary.gtid_binlog_pos());
    assert_eq!(s.role(), "replica");
    assert_eq!(s.worst(), None);
    // The primary sees its replica's Binlog Dump thread.
    let mut pp = MysqlPoller::new(spec(primary.url()));
    let ps = poll_until(&mut pp, "the primary lists its replica", |s| {
        !s.replication.replicas.is_empty()
    })
    .await;
    assert!(ps.replication.replicas[0].starts_with("repl@127.0.0.1"));
    assert_eq!(ps.role(), "primary");
    assert!(ps.replication.channels.is_empty());

    let running = s;
    replica.stop_slave();
    let s = poll(&mut p).await;
    // On the timeline: the channel stopped, with where it replicates from.
    let events = Mysql::events(Some(&running), &s, chrono::Utc::now());
    let stopped: Vec<&str> = events.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        stopped,
        [format!(
            "replication from 127.0.0.1:{} stopped (IO No, SQL No)",
            primary.port()
        )],
        "{events:?}"
    );
    assert_eq!(events[0].severity, opsdeck::timeline::Severity::Critical);
    assert_eq!(
        (events[0].table.as_str(), events[0].key.as_str()),
        ("Replication", "channel:")
    );
    let c = &s.replication.channels[0];
    assert_eq!(
        (c.io_running.as_str(), c.sql_running.as_str()),
        ("No", "No")
    );
    assert_eq!(c.seconds_behind, None);
    assert_eq!(tile_text(&s, 2), "replication stopped (IO No, SQL No)");
    let m = s.model();
    assert_eq!(m.level, Level::Crit);
    let row = &m.tables[TAB_REPLICATION].rows[0];
    assert_eq!(row.cells[1].text, "No");
    assert_eq!(row.cells[1].level, Level::Crit);
    assert_eq!(row.cells[3].text, "-");
    assert_eq!(s.stopped_channels().len(), 1);

    primary.sql(&format!("UPDATE {name}.t SET v = 1 WHERE id = 1"));
    replica.start_slave();
    let stopped = s;
    let s = poll_until(&mut p, "replication running again", |s| {
        s.replication.channels[0].running() && s.seconds_behind() == Some(0)
    })
    .await;
    assert!(s.stopped_channels().is_empty());
    let texts: Vec<String> = Mysql::events(Some(&stopped), &s, chrono::Utc::now())
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert_eq!(
        texts,
        [format!(
            "replication from 127.0.0.1:{} running again",
            primary.port()
        )]
    );
    replica.wait_caught_up(&primary);
    assert_eq!(replica.sql(&format!("SELECT v FROM {name}.t")), "1");

    let caught_up = poll(&mut p).await;
    // A row lock on the replica holds its SQL thread: seconds behind grows.
    let mut hold = connect(&replica.url()).await;
    exec(&mut hold, "BEGIN").await;
    exec(
        &mut hold,
        &format!("SELECT * FROM {name}.t WHERE id = 1 FOR UPDATE"),
    )
    .await;
    primary.sql(&format!("UPDATE {name}.t SET v = 2 WHERE id = 1"));
    let s = poll_until(&mut p, "the replica falls behind", |s| {
        s.seconds_behind().is_some_and(|b| b >= 2)
    })
    .await;
    assert!(s.replication.channels[0].running());
    // The held-back SQL thread shows in the replica's lock tree, blocked by our session.
    let hold_id = connection_id(&mut hold).await;
    assert!(
        s.locks.iter().any(|n| n.id == hold_id && n.waiters == 1),
        "{:#?}",
        s.locks
    );
    // On the timeline: our session blocking the SQL thread, with its row to go to.
    let blocking: Vec<_> = Mysql::events(Some(&caught_up), &s, chrono::Utc::now())
        .into_iter()
        .filter(|e| e.what == "blocking")
        .collect();
    assert_eq!(blocking.len(), 1, "{blocking:?}");
    assert!(
        blocking[0]
            .text
            .starts_with(&format!("thread {hold_id} (root@127.0.0.1, ")),
        "{blocking:?}"
    );
    assert!(
        blocking[0].text.contains(") blocks 1 thread"),
        "{blocking:?}"
    );
    assert_eq!(blocking[0].key, hold_id.to_string());
    exec(&mut hold, "COMMIT").await;
    // InnoDB refreshes its lock tables' snapshot at most every 100 ms: the wait may still
    // show for a poll after the replica applied the row.
    poll_until(
        &mut p,
        "the replica catches up and its lock wait is gone",
        |s| s.seconds_behind() == Some(0) && s.locks.is_empty(),
    )
    .await;
    replica.wait_caught_up(&primary);
    assert_eq!(replica.sql(&format!("SELECT v FROM {name}.t")), "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_query_and_connection_check_the_thread_is_still_the_one_previewed() {
    let db = Mariadb::start();
    let name = db.create_database("kill");
    let url = db.url_for(&name);
    let ops = spec(db.url());
    let mut p = MysqlPoller::new(spec(db.url()));

    // KILL QUERY ends the statement and keeps the connection.
    let mut a = connect(&url).await;
    let a_id = connection_id(&mut a).await;
    let task = spawn_sql(a, "SELECT SLEEP(60) AS first".into());
    let s = poll_until(&mut p, "the first sleep runs", |s| {
        s.processlist
            .iter()
            .any(|t| t.id == a_id && t.info.contains("first"))
    })
    .await;
    let op = MysqlOp::kill(&s, KillMode::Query, &[a_id]).expect("op");
    let r = op.execute_each(&ops).await.expect("kill query");
    assert_eq!(r.len(), 1);
    assert!(r[0].killed, "{r:?}");
    let (mut a, _) = task.await.expect("sleeper");
    exec(&mut a, "SELECT 1").await;

    // The preview of one statement does not kill the next one on the same connection.
    let task = spawn_sql(a, "SELECT SLEEP(60) AS second".into());
    let s = poll_until(&mut p, "the second sleep runs", |s| {
        s.processlist
            .iter()
            .any(|t| t.id == a_id && t.info.contains("second"))
    })
    .await;
    let stale = MysqlOp::kill(&s, KillMode::Query, &[a_id]).expect("op");
    db.sql(&format!("KILL QUERY {a_id}"));
    let (a, _) = task.await.expect("sleeper");
    let task = spawn_sql(a, "SELECT SLEEP(60) AS third".into());
    poll_until(&mut p, "the third sleep runs", |s| {
        s.processlist
            .iter()
            .any(|t| t.id == a_id && t.info.contains("third"))
    })
    .await;
    let r = stale.execute_each(&ops).await.expect("stale kill");
    assert!(!r[0].killed);
    assert_eq!(
        r[0].message,
        "refused: it now runs a different statement than the preview showed"
    );
    let s = poll(&mut p).await;
    assert!(
        s.processlist
            .iter()
            .any(|t| t.id == a_id && t.info.contains("third")),
        "the third statement must still run"
    );
    db.sql(&format!("KILL QUERY {a_id}"));
    let (_a, _) = task.await.expect("sleeper");

    // Several ids: each gets its own result; the console's own connection is refused.
    let mut b = connect(&url).await;
    let mut c = connect(&url).await;
    let (b_id, c_id) = (connection_id(&mut b).await, connection_id(&mut c).await);
    let s = poll_until(&mut p, "b and c listed", |s| {
        [b_id, c_id]
            .iter()
            .all(|id| s.processlist.iter().any(|t| t.id == *id))
    })
    .await;
    let own = s.own_connection_id;
    let op = MysqlOp::kill(&s, KillMode::Connection, &[b_id, own, c_id]).expect("op");
    let out = op.execute(&ops).await.expect("kill connections");
    assert_eq!(
        out,
        format!(
            "KILL CONNECTION: 2 of 3 killed; thread {own}: refused: the console's own \
             connection; thread {b_id}: connection killed; thread {c_id}: connection killed"
        )
    );
    assert!(exec_fails(&mut b).await && exec_fails(&mut c).await);
    let s = poll(&mut p).await;
    assert!(s.processlist.iter().all(|t| t.id != b_id && t.id != c_id));

    // An id that now names another connection is refused (the op from a preview of d,
    // pointed at e: same user, another client port).
    let mut d = connect(&url).await;
    let mut e = connect(&url).await;
    let (d_id, e_id) = (connection_id(&mut d).await, connection_id(&mut e).await);
    let s = poll_until(&mut p, "d and e listed", |s| {
        [d_id, e_id]
            .iter()
            .all(|id| s.processlist.iter().any(|t| t.id == *id))
    })
    .await;
    let mut op = MysqlOp::kill(&s, KillMode::Connection, &[d_id]).expect("op");
    let MysqlOp::Kill { targets, .. } = &mut op;
    targets[0].id = e_id;
    let r = op.execute_each(&ops).await.expect("run");
    assert!(!r[0].killed);
    assert!(
        r[0].message
            .starts_with("refused: the id now belongs to another connection"),
        "{}",
        r[0].message
    );
    exec(&mut e, "SELECT 1").await;

    // A thread id reused after a restart: the preview of d must not kill its successor.
    let preview = MysqlOp::kill(&s, KillMode::Connection, &[d_id]).expect("op");
    wait_until(
        "the server has been up 3 s",
        Duration::from_secs(30),
        || {
            let up: i64 = db
            .sql("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'")
            .parse()
            .ok()?;
            (up >= 3).then_some(())
        },
    );
    drop((d, e));
    db.restart();
    let mut holders = Vec::new();
    let successor = loop {
        let mut x = connect(&url).await;
        let id = connection_id(&mut x).await;
        if id == d_id {
            break x;
        }
        assert!(
            id < d_id,
            "thread ids after the restart passed {d_id} (got {id}) before one was reused"
        );
        holders.push(x);
    };
    let mut successor = successor;
    let r = preview.execute_each(&ops).await.expect("run");
    assert!(!r[0].killed);
    assert!(
        r[0].message
            .starts_with("refused: the server restarted since the preview"),
        "{}",
        r[0].message
    );
    exec(&mut successor, "SELECT 1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_process_gets_needs_process_not_an_empty_table() {
    let db = shared();
    // Someone else is connected and idle: without PROCESS the console cannot see it.
    let mut other = connect(&db.url()).await;
    exec(&mut other, "SELECT 1").await;
    let mut p = MysqlPoller::new(spec(db.limited_url()));
    let s = poll(&mut p).await;
    assert!(!s.has_process);
    assert!(s.processlist.is_empty());
    assert!(s.threads_connected >= 2, "{}", s.threads_connected);
    assert!(
        s.hints
            .iter()
            .any(|h| h.starts_with("needs PROCESS")
                && h.contains("GRANT PROCESS ON *.* TO limited@%")),
        "{:?}",
        s.hints
    );
    let m = s.model();
    for tab in [TAB_OVERVIEW, TAB_PROCESSLIST, TAB_LOCKS] {
        assert!(m.tables[tab].rows.is_empty());
        assert_eq!(
            m.tables[tab].empty, "needs PROCESS: GRANT PROCESS ON *.* TO limited@%",
            "tab {tab}"
        );
    }
    assert_eq!(tile_text(&s, 2), "needs PROCESS to see threads");
    // No REPLICATION CLIENT either: said, and the poll still succeeds.
    assert!(
        s.replication
            .error
            .as_deref()
            .is_some_and(|e| e.contains("needs REPLICATION CLIENT")),
        "{:?}",
        s.replication
    );
    let e = s
        .kill(TAB_PROCESSLIST, "1", &Default::default(), KillMode::Query)
        .unwrap_err();
    assert!(e.starts_with("needs PROCESS"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn performance_schema_off_is_said_and_a_dead_server_is_an_error() {
    let db = Mariadb::start_with(&[("performance_schema", "OFF")]);
    let mut p = MysqlPoller::new(spec(db.url()));
    let s = poll(&mut p).await;
    assert!(!s.performance_schema);
    assert!(s.statements.is_none());
    assert!(
        s.hints
            .iter()
            .any(|h| h.starts_with("top statements need performance_schema = ON")),
        "{:?}",
        s.hints
    );
    assert!(
        s.model().tables[TAB_STATEMENTS]
            .empty
            .starts_with("performance_schema is OFF")
    );
    // Everything else still works without performance_schema.
    assert!(s.has_process);
    db.kill();
    let e = p.sample().await.unwrap_err();
    assert!(!e.is_empty());
    let e = p.sample().await.unwrap_err();
    assert!(e.to_lowercase().contains("refused"), "{e}");
    db.restart();
    let s = poll(&mut p).await;
    assert!(s.uptime_seconds < 600.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_through_rustls_verifies_the_server_certificate() {
    let db = Mariadb::start_tls();
    db.sql(
        "CREATE USER 'tls'@'%' IDENTIFIED BY 'tls-secret' REQUIRE SSL; \
         GRANT PROCESS, SELECT ON *.* TO 'tls'@'%'",
    );
    let with = |mode: &str, ca: PathBuf| MysqlSpec {
        name: "tls".into(),
        url: format!("mariadb://tls@127.0.0.1:{}/", db.port()),
        password: Some("tls-secret".into()),
        ssl_mode: Some(mode.into()),
        ssl_ca: Some(ca.display().to_string()),
        ..Default::default()
    };
    // The user may only connect over TLS: a sample proves the session is encrypted.
    let mut p = MysqlPoller::new(with("verify_identity", db.tls_ca()));
    let s = poll(&mut p).await;
    assert_eq!(s.connected_as, "tls@%");
    assert!(s.has_process);
    let mut p = MysqlPoller::new(with("disabled", db.tls_ca()));
    let e = p.sample().await.unwrap_err();
    assert!(e.contains("Access denied"), "{e}");
    // A certificate from another CA is refused before the password is sent.
    let other = db.tls_ca().with_file_name("other-ca.pem");
    let mut p = MysqlPoller::new(with("verify_ca", other));
    let e = p.sample().await.unwrap_err();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    assert!(!e.contains("tls-secret"), "{e}");
}
