//! Alert rules against real servers: Redis over its memory threshold and a blocked
//! PostgreSQL session each fire the matching alert within a few polls and resolve when
//! fixed. The engine gets explicit times; the servers are real.

mod support;

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use opsdeck::alerts::{Desk, RuleSet, SourceView};
use opsdeck::config::Config;
use opsdeck::sources::postgres::PgPoller;
use opsdeck::sources::postgres::PostgresSpec;
use opsdeck::sources::redis::RedisPoller;
use opsdeck::sources::redis::RedisSpec;
use opsdeck::sources::{Poller, Sample, SourceKind, Status};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};
use support::{Postgres, Redis};

fn evaluate(desk: &mut Desk, rules: &RuleSet, kind: SourceKind, sample: &Sample) {
    let st = Status::Ok;
    desk.evaluate(
        rules,
        &[SourceView {
            kind,
            name: "live",
            status: &st,
            sample: Some(sample),
        }],
        Utc::now(),
    );
}

fn firing(desk: &Desk) -> Vec<String> {
    desk.engine
        .firing()
        .iter()
        .map(|e| format!("{} {}", e.alert.rule, e.alert.subject))
        .collect()
}

/// Polls and evaluates until `want(firing)` holds, at most 50 polls.
async fn poll_until<P: Poller>(
    p: &mut P,
    desk: &mut Desk,
    rules: &RuleSet,
    kind: SourceKind,
    what: &str,
    want: impl Fn(&[String]) -> bool,
) where
    Sample: From<P::Sample>,
{
    for _ in 0..50 {
        let s: Sample = p.poll().await.expect("poll").into();
        evaluate(desk, rules, kind, &s);
        if want(&firing(desk)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: firing {:?}", firing(desk));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_over_its_memory_threshold_fires_and_resolves() {
    let redis = Redis::start();
    let mut p = RedisPoller::new(RedisSpec {
        name: "live".into(),
        url: Some(redis.url()),
        ..Default::default()
    });
    let rules = RuleSet::default();
    let mut desk = Desk::default();
    let r = p.poll().await.expect("poll");
    let used = r.nodes[0].used_memory;
    let node = format!("redis_memory 127.0.0.1:{}", redis.port());
    // used / maxmemory = 0.95
    redis.cli(&[
        "CONFIG",
        "SET",
        "maxmemory",
        &((used as f64 / 0.95) as u64).to_string(),
    ]);
    poll_until(
        &mut p,
        &mut desk,
        &rules,
        SourceKind::Redis,
        "redis_memory fires",
        |f| f.contains(&node),
    )
    .await;
    let entry = desk.engine.firing()[0];
    assert!(entry.alert.value >= 0.9, "{:?}", entry.alert);
    assert_eq!(entry.alert.jump.as_ref().unwrap().table, "Nodes");
    redis.cli(&["CONFIG", "SET", "maxmemory", &(used * 4).to_string()]);
    poll_until(
        &mut p,
        &mut desk,
        &rules,
        SourceKind::Redis,
        "redis_memory resolves",
        |f| !f.contains(&node),
    )
    .await;
    assert_eq!(desk.inbox.history.len(), 1);
    assert!(desk.inbox.history[0].resolved_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_session_fires_pg_blocking_and_resolves() {
    let pg = Postgres::start();
    let db = pg.create_database("alerts");
    pg.psql_db(
        &db,
        "CREATE TABLE t (id int primary key, v int); INSERT INTO t VALUES (1, 0)",
    );
    let cfg = Config::from_toml(
        Path::new("/c.toml"),
        "[alerts.builtin.pg_blocking]\nthreshold = 0.5\n",
    )
    .unwrap();
    let rules = cfg.alerts;
    let mut p = PgPoller::new(PostgresSpec {
        name: "live".into(),
        url: pg.url_for(&db),
        ..Default::default()
    });
    let opts: PgConnectOptions = pg.url_for(&db).parse().unwrap();
    let mut holder = PgConnection::connect_with(&opts).await.unwrap();
    holder
        .execute("begin; update t set v = 1 where id = 1")
        .await
        .unwrap();
    let holder_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    let waiter = tokio::spawn(async move {
        let mut c = PgConnection::connect_with(&opts).await.unwrap();
        c.execute("update t set v = 2 where id = 1").await.unwrap();
    });
    let mut desk = Desk::default();
    let want = format!("pg_blocking pid {holder_pid}");
    poll_until(
        &mut p,
        &mut desk,
        &rules,
        SourceKind::Postgres,
        "pg_blocking fires",
        |f| f.contains(&want),
    )
    .await;
    let jump = desk.engine.firing()[0].alert.jump.clone().unwrap();
    assert_eq!(
        (jump.table.as_str(), jump.key),
        ("Locks", holder_pid.to_string())
    );
    holder.execute("rollback").await.unwrap();
    waiter.await.unwrap();
    poll_until(
        &mut p,
        &mut desk,
        &rules,
        SourceKind::Postgres,
        "pg_blocking resolves",
        |f| !f.contains(&want),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_consumer_group_fires_kafka_group_stalled_and_resolves() {
    use opsdeck::sources::kafka::KafkaSpec;
    use opsdeck::sources::kafka::{KafkaPoller, Windows};
    use rdkafka::ClientConfig;
    use rdkafka::producer::{FutureProducer, FutureRecord};

    let kafka = support::shared_kafka();
    let topic = support::unique_name("alerts");
    kafka.create_topic(&topic, 1);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap())
        .create()
        .unwrap();
    for i in 0..10 {
        let payload = format!("m{i}");
        producer
            .send(
                FutureRecord::<(), _>::to(&topic).payload(&payload),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    // Offsets committed at 0 with no member: lag 10 and nobody consuming.
    let group = support::unique_name("stopped");
    let reset = |to: &str| {
        kafka.consumer_groups(&[
            "--group",
            &group,
            "--topic",
            &topic,
            "--reset-offsets",
            to,
            "--execute",
        ])
    };
    reset("--to-earliest");
    let mut p = KafkaPoller::with_windows(
        KafkaSpec {
            name: "live".into(),
            brokers: kafka.bootstrap(),
            // Judged within seconds instead of the default 5 minutes.
            stall_after: Some("2s".into()),
            ..Default::default()
        },
        Windows {
            hwm_points: 10,
            trend: 10,
        },
    );
    let rules = RuleSet::default();
    let mut desk = Desk::default();
    let want = format!("kafka_group_stalled {group}");
    poll_until(
        &mut p,
        &mut desk,
        &rules,
        SourceKind::Kafka,
        "STOP fires",
        |f| f.contains(&want),
    )
    .await;
    let e = desk
        .engine
        .firing()
        .into_iter()
        .find(|e| e.alert.subject == group)
        .unwrap()
        .clone();
    assert!(
        e.alert.summary.contains("consumer status STOP"),
        "{}",
        e.alert.summary
    );
    assert_eq!(e.alert.jump.unwrap().table, "Groups");
    reset("--to-latest");
    poll_until(
        &mut p,
        &mut desk,
        &rules,
        SourceKind::Kafka,
        "caught up resolves",
        |f| !f.contains(&want),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_stopped_mid_run_keeps_its_alerts_firing_stale_until_it_is_back_and_fixed() {
    use opsdeck::sources::kafka::KafkaSpec;
    use opsdeck::sources::kafka::{KafkaPoller, Windows};
    use rdkafka::ClientConfig;
    use rdkafka::producer::{FutureProducer, FutureRecord};

    // Its own broker: this test stops it.
    let kafka = support::Kafka::start();
    let topic = support::unique_name("stale");
    kafka.create_topic(&topic, 1);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap())
        .create()
        .unwrap();
    for i in 0..10 {
        let payload = format!("m{i}");
        producer
            .send(
                FutureRecord::<(), _>::to(&topic).payload(&payload),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    drop(producer);
    let group = support::unique_name("stopped");
    let reset = |to: &str| {
        kafka.consumer_groups(&[
            "--group",
            &group,
            "--topic",
            &topic,
            "--reset-offsets",
            to,
            "--execute",
        ])
    };
    reset("--to-earliest");
    let mut p = KafkaPoller::with_windows(
        KafkaSpec {
            name: "live".into(),
            brokers: kafka.bootstrap(),
            stall_after: Some("2s".into()),
            ..Default::default()
        },
        Windows {
            hwm_points: 10,
            trend: 10,
        },
    );
    let rules = RuleSet::default();
    let mut desk = Desk::default();
    let want = format!("kafka_group_stalled {group}");
    poll_until(
        &mut p,
        &mut desk,
        &rules,
        SourceKind::Kafka,
        "STOP fires",
        |f| f.contains(&want),
    )
    .await;
    let last: Sample = p.poll().await.expect("poll").into();
    let entry = |d: &Desk| {
        d.engine
            .firing()
            .into_iter()
            .find(|e| e.alert.subject == group)
            .cloned()
    };

    // The broker goes away: the poll fails; the console keeps the last sample.
    kafka.stop();
    let err = loop {
        match p.poll().await {
            Err(e) => break e,
            Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    p.reset();
    let down = Status::Error(err);
    for _ in 0..3 {
        let o = desk.evaluate(&rules, &[kafka_view(&down, &last)], Utc::now());
        assert!(
            o.transitions
                .resolved
                .iter()
                .all(|(a, _)| a.subject != group),
            "resolved while the broker was down: {o:?}"
        );
    }
    let e = entry(&desk).expect("still firing while the broker is down");
    assert!(e.stale_since.is_some(), "not marked stale: {e:?}");

    // Back, still behind: firing, no longer stale.
    kafka.restart();
    let s = loop {
        match p.poll().await {
            Ok(s) => break Sample::from(s),
            Err(_) => {
                p.reset();
                tokio::time::sleep(Duration::from_millis(300)).await
            }
        }
    };
    desk.evaluate(&rules, &[kafka_view(&Status::Ok, &s)], Utc::now());
    let e = entry(&desk).expect("still firing once back: the group is still stopped");
    assert_eq!(e.stale_since, None);

    // Fixed: only now does it resolve.
    reset("--to-latest");
    poll_until(
        &mut p,
        &mut desk,
        &rules,
        SourceKind::Kafka,
        "caught up resolves",
        |f| !f.contains(&want),
    )
    .await;
}

fn kafka_view<'a>(status: &'a Status, sample: &'a Sample) -> SourceView<'a> {
    SourceView {
        kind: SourceKind::Kafka,
        name: "live",
        status,
        sample: Some(sample),
    }
}
