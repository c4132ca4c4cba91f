//! Smoke tests of the test harness, through the project's own client crates, plus one
//! kill-and-restart fault test per server kind.

mod support;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use redis::AsyncCommands;
use sqlx::Connection;
use std::time::Duration;
use support::kafka::TOPIC_COMMAND;
use support::redis::parse_info;
use support::{
    Kafka, KafkaCluster, PgBackRest, Postgres, Redis, RedisCluster, RedisSentinel, shared_kafka,
    unique_name,
};

fn metadata_broker_ids(bootstrap: &str) -> Vec<i32> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("consumer");
    let md = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata");
    let mut ids: Vec<i32> = md.brokers().iter().map(|b| b.id()).collect();
    ids.sort();
    ids
}

fn topic_partitions(bootstrap: &str, topic: &str) -> Option<usize> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("consumer");
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .ok()?;
    let t = md.topics().iter().find(|t| t.name() == topic)?;
    if t.error().is_some() {
        return None;
    }
    Some(t.partitions().len())
}

#[test]
fn kafka_single_broker_metadata_and_oracle_tool() {
    let kafka = shared_kafka();
    assert_eq!(metadata_broker_ids(&kafka.bootstrap()), vec![1]);

    let topic = unique_name("smoke");
    kafka.create_topic(&topic, 3);
    assert_eq!(topic_partitions(&kafka.bootstrap(), &topic), Some(3));
    // Kafka's own tool, from the same jars, sees the topic too.
    let listed = kafka.topics(&["--list"]);
    assert!(listed.lines().any(|l| l == topic), "{listed}");
}

#[test]
fn kafka_request_log_names_api_and_client_only_on_a_bench_broker() {
    let kafka = Kafka::start_logging_requests();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap())
        .set("client.id", "smoke-request-log")
        .create()
        .expect("consumer");
    consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata");
    // The line is written once the response is sent: wait for it rather than race it.
    let line = support::wait_until(
        "the metadata request in the log",
        Duration::from_secs(20),
        || {
            std::fs::read_to_string(kafka.request_log())
                .ok()?
                .lines()
                .find(|l| {
                    l.contains("\"clientId\":\"smoke-request-log\"")
                        && l.contains("\"requestApiKeyName\":\"METADATA\"")
                })
                .map(str::to_string)
        },
    );
    let (ms, rest) = line.split_once(' ').expect("time, then the message");
    assert!(ms.parse::<u64>().is_ok(), "{line}");
    assert!(rest.starts_with("Completed request:{"), "{line}");
    assert!(rest.contains("\"totalTimeMs\":"), "{line}");
    // The tests' brokers keep the quiet config: no request log at all.
    let quiet = shared_kafka();
    metadata_broker_ids(&quiet.bootstrap());
    assert!(!quiet.request_log().exists());
}

#[tokio::test]
async fn kafka_consumer_group_seen_by_consumer_groups_tool() {
    let kafka = shared_kafka();
    let topic = unique_name("cg");
    let group = unique_name("group");
    kafka.create_topic(&topic, 1);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap())
        .create()
        .expect("producer");
    for i in 0..5 {
        let payload = format!("m{i}");
        producer
            .send(
                FutureRecord::<(), _>::to(&topic).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .expect("produce");
    }
    // Commit offset 2 for the group without consuming: lag is 3.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap())
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, rdkafka::Offset::Offset(2))
        .expect("tpl");
    consumer
        .commit(&tpl, rdkafka::consumer::CommitMode::Sync)
        .expect("commit");

    let described = kafka.consumer_groups(&["--describe", "--group", &group]);
    let row = described
        .lines()
        .find(|l| l.contains(&topic))
        .unwrap_or_else(|| panic!("no row for {topic}: {described}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
    assert_eq!(
        &cols[..6],
        &[group.as_str(), topic.as_str(), "0", "2", "5", "3"],
        "{described}"
    );
}

#[test]
fn kafka_three_broker_cluster_metadata() {
    let cluster = KafkaCluster::start();
    assert_eq!(metadata_broker_ids(&cluster.bootstrap()), vec![1, 2, 3]);
    let topic = unique_name("rf3");
    cluster.create_topic(&topic, 2);
    let out = cluster.tool(TOPIC_COMMAND, &["--describe", "--topic", &topic]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ReplicationFactor: 3"), "{text}");
    assert!(text.contains("min.insync.replicas=2"), "{text}");

    // Broker loss: kill one node, the others still serve and list 2 brokers.
    cluster.broker(2).kill();
    cluster.wait_brokers(2, Duration::from_secs(60));
    cluster.broker(2).restart();
    cluster.wait_brokers(3, Duration::from_secs(60));
}

#[test]
fn kafka_kill_and_restart_keeps_port_and_topic() {
    let kafka = Kafka::start();
    let port = kafka.port();
    let topic = unique_name("durable");
    kafka.create_topic(&topic, 2);
    kafka.kill();
    assert!(!kafka.is_running());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    kafka.restart();
    assert_eq!(kafka.port(), port);
    assert_eq!(metadata_broker_ids(&kafka.bootstrap()), vec![1]);
    assert_eq!(topic_partitions(&kafka.bootstrap(), &topic), Some(2));
}

#[tokio::test]
async fn postgres_primary_and_streaming_replica() {
    let primary = Postgres::start();
    let replica = primary.replica();

    let mut p = sqlx::PgConnection::connect(&primary.url())
        .await
        .expect("connect primary");
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&mut p)
        .await
        .expect("query");
    assert!(!in_recovery);
    sqlx::query("CREATE TABLE t (v text)")
        .execute(&mut p)
        .await
        .expect("create");
    sqlx::query("INSERT INTO t VALUES ('from primary')")
        .execute(&mut p)
        .await
        .expect("insert");
    let preloaded: String = sqlx::query_scalar("SHOW shared_preload_libraries")
        .fetch_one(&mut p)
        .await
        .expect("show");
    assert!(preloaded.contains("pg_stat_statements"));

    let mut r = sqlx::PgConnection::connect(&replica.url())
        .await
        .expect("connect replica");
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&mut r)
        .await
        .expect("query");
    assert!(in_recovery);
    let mut seen = None;
    for _ in 0..100 {
        if let Ok(v) = sqlx::query_scalar::<_, String>("SELECT v FROM t")
            .fetch_one(&mut r)
            .await
        {
            seen = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen.as_deref(), Some("from primary"));
    let senders =
        primary.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'");
    assert_eq!(senders, "1");
}

#[tokio::test]
async fn postgres_password_user_needs_its_password() {
    let pg = Postgres::start();
    let url = pg.create_password_user("alice", "s3cret");
    let mut c = sqlx::PgConnection::connect(&url)
        .await
        .expect("with password");
    let who: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut c)
        .await
        .expect("query");
    assert_eq!(who, "alice");
    let wrong = url.replace("s3cret", "wrong");
    assert!(sqlx::PgConnection::connect(&wrong).await.is_err());
}

#[test]
fn postgres_kill_and_restart_keeps_port_and_rows() {
    let pg = Postgres::start();
    let port = pg.port();
    pg.psql("CREATE TABLE survivor (id int); INSERT INTO survivor VALUES (42);");
    pg.kill();
    assert!(!pg.is_running());
    pg.restart();
    assert_eq!(pg.port(), port);
    assert_eq!(pg.psql("SELECT id FROM survivor"), "42");
}

#[tokio::test]
async fn redis_sentinel_resolves_master() {
    let set = RedisSentinel::start();
    let mut client = redis::sentinel::SentinelClient::build(
        set.sentinel_urls(),
        set.master_name(),
        None,
        redis::sentinel::SentinelServerType::Master,
    )
    .expect("sentinel client");
    let mut con = client
        .get_async_connection()
        .await
        .expect("master via sentinel");
    let key = unique_name("k");
    let _: () = con.set(&key, "v").await.expect("set on master");
    let role: Vec<redis::Value> = redis::cmd("ROLE")
        .query_async(&mut con)
        .await
        .expect("role");
    assert_eq!(role[0], redis::Value::BulkString(b"master".to_vec()));
    assert_eq!(
        set.master_addr_from(0),
        ("127.0.0.1".to_string(), set.master.port())
    );
}

#[tokio::test]
async fn redis_cluster_covers_all_slots() {
    let cluster = RedisCluster::start();
    let client = redis::cluster::ClusterClient::new(cluster.urls()).expect("cluster client");
    let mut con = client
        .get_async_connection()
        .await
        .expect("cluster connection");
    let info: String = redis::cmd("CLUSTER")
        .arg("INFO")
        .query_async(&mut con)
        .await
        .expect("cluster info");
    let fields = parse_info(&info);
    assert_eq!(fields["cluster_state"], "ok");
    assert_eq!(fields["cluster_slots_assigned"], "16384");
    assert_eq!(fields["cluster_slots_ok"], "16384");
    assert_eq!(fields["cluster_size"], "3");
    for i in 0..20 {
        let _: () = con
            .set(format!("key{i}"), i)
            .await
            .expect("set across slots");
    }
}

#[tokio::test]
async fn redis_kill_and_restart_keeps_port_and_key() {
    let r = Redis::start();
    let port = r.port();
    let client = redis::Client::open(r.url()).expect("client");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: () = con.set("survivor", "still here").await.expect("set");
    drop(con);
    r.kill();
    r.restart();
    assert_eq!(r.port(), port);
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("reconnect");
    let v: String = con.get("survivor").await.expect("get");
    assert_eq!(v, "still here");
}

#[test]
fn pgbackrest_stanza_with_backup_and_survives_postgres_kill() {
    let b = PgBackRest::start();
    b.backup("full");
    let info = b.info_json();
    let stanza = &info[0];
    assert_eq!(stanza["name"], b.stanza());
    assert_eq!(stanza["status"]["code"], 0, "{info}");
    let backups = stanza["backup"].as_array().expect("backup list");
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0]["type"], "full");

    // Fault: SIGKILL postgres, restart on the same port; archiving still works and the
    // backup is still listed.
    let port = b.postgres().port();
    b.postgres().kill();
    b.postgres().restart();
    assert_eq!(b.postgres().port(), port);
    b.check();
    assert_eq!(b.info_json()[0]["backup"].as_array().map(Vec::len), Some(1));
}

#[test]
fn redis_pause_blocks_answers_until_resume() {
    let r = Redis::start();
    r.pause();
    // SIGSTOPped: the port still accepts (kernel backlog) but nothing answers.
    assert!(support::redis::query::<String>(r.port(), &["PING"]).is_err());
    r.resume();
    assert_eq!(
        support::redis::query::<String>(r.port(), &["PING"]).as_deref(),
        Ok("PONG")
    );
}
