//! Partition balance against real brokers. On the shared broker: its log directory's size
//! appears (DescribeLogDirs) and grows while records are produced, with the disk's limit
//! (KIP-827) in the `kafka.log_dir` forecast. On the 3-broker cluster: a topic with every
//! replica on two of three brokers is rebalanced through the console (the real binary in a
//! pseudo-terminal: Balance tab, `R`, preview, confirm) and ends up spread, with the audit
//! lines, and the plan file it wrote is accepted by `kafka-reassign-partitions --verify`;
//! then a reassignment throttled to a crawl on a topic with data is cancelled mid-way: its
//! partitions keep their old replicas and the throttle is gone.

mod e2e;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use e2e::pty::{Console, write_config};
use opsdeck::sources::Poller;
use opsdeck::sources::kafka::{KafkaOp, KafkaPoller, KafkaSample, KafkaSpec};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use support::kafka::{TOPIC_COMMAND, kafka_tool};
use support::{KafkaCluster, TestDir, shared_kafka, unique_name};

const REASSIGN_COMMAND: &str = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand";
const CONFIG_COMMAND: &str = "kafka.admin.ConfigCommand";

fn spec(bootstrap: &str, throttle: Option<&str>) -> KafkaSpec {
    KafkaSpec {
        name: "k".into(),
        brokers: bootstrap.into(),
        reassignment_throttle: throttle.map(String::from),
        ..Default::default()
    }
}

/// Produces `n` records of `size` bytes to each of `partitions` of `topic`.
fn produce(bootstrap: &str, topic: &str, partitions: i32, n: usize, size: usize) {
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("compression.type", "none")
        .create()
        .expect("producer");
    let payload = vec![b'x'; size];
    for part in 0..partitions {
        for _ in 0..n {
            let mut rec = BaseRecord::<(), [u8]>::to(topic)
                .partition(part)
                .payload(&payload[..]);
            loop {
                match p.send(rec) {
                    Ok(()) => break,
                    Err((_, r)) => {
                        p.poll(Duration::from_millis(50));
                        rec = r;
                    }
                }
            }
        }
    }
    p.flush(Duration::from_secs(60)).expect("flush");
}

/// Each partition's replicas, from the metadata.
fn replicas(bootstrap: &str, topic: &str) -> BTreeMap<i32, Vec<i32>> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("consumer");
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    md.topics()[0]
        .partitions()
        .iter()
        .map(|p| (p.id(), p.replicas().to_vec()))
        .collect()
}

/// Replicas of `topic` per broker.
fn per_broker(r: &BTreeMap<i32, Vec<i32>>) -> BTreeMap<i32, usize> {
    let mut m = BTreeMap::new();
    for rs in r.values() {
        for b in rs {
            *m.entry(*b).or_default() += 1;
        }
    }
    m
}

async fn poll_until(
    p: &mut KafkaPoller,
    what: &str,
    timeout: Duration,
    ok: impl Fn(&KafkaSample) -> bool,
) -> KafkaSample {
    let start = Instant::now();
    let mut last: String;
    loop {
        match p.poll().await {
            Ok(s) if ok(&s) => return s,
            Ok(s) => last = format!("{:?}", s.balance),
            Err(e) => {
                last = e;
                p.reset();
            }
        }
        assert!(
            start.elapsed() < timeout,
            "{what}: not seen within {timeout:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_brokers_log_dir_size_appears_and_grows_while_records_are_produced() {
    let kafka = shared_kafka();
    let topic = unique_name("logdirs");
    kafka.create_topic(&topic, 1);
    let dir = TestDir::new("balance-data");
    let mut p = KafkaPoller::new(spec(&kafka.bootstrap(), None)).with_data_dir(dir.path());
    let topic_bytes = |s: &KafkaSample| {
        s.balance
            .topics
            .iter()
            .find(|t| t.topic == topic)
            .map(|t| t.bytes)
    };
    let s = poll_until(
        &mut p,
        "the topic in the log dirs",
        Duration::from_secs(30),
        |s| topic_bytes(s).is_some(),
    )
    .await;
    assert_eq!(s.balance.log_dirs.len(), 1, "{:?}", s.balance.log_dirs);
    let d = &s.balance.log_dirs[0];
    assert_eq!(d.broker, s.brokers[0].id);
    assert!(d.error.is_none(), "{d:?}");
    // Kafka 3.3+ reports the filesystem (KIP-827).
    let (total, usable) = (
        d.total_bytes.expect("total"),
        d.usable_bytes.expect("usable"),
    );
    assert!(total > 0 && usable > 0 && usable <= total, "{d:?}");
    let before_dir = d.bytes;
    let before_topic = topic_bytes(&s).unwrap_or(0);
    let f = s
        .capacity
        .iter()
        .find(|f| f.kind == "kafka.log_dir")
        .expect("a kafka.log_dir figure");
    assert_eq!(f.limit, Some((d.bytes + usable) as f64), "{f:?}");
    let m = s.model();
    assert!(
        m.tables[opsdeck::sources::kafka::TABLE_BALANCE]
            .rows
            .iter()
            .any(|r| r.key == format!("broker:{}", d.broker))
    );

    produce(&kafka.bootstrap(), &topic, 1, 2000, 1000);
    let s = poll_until(&mut p, "the log dir grown", Duration::from_secs(60), |s| {
        topic_bytes(s).is_some_and(|b| b >= before_topic + 2_000_000)
    })
    .await;
    let grown = s.balance.log_dirs[0].bytes;
    assert!(
        grown >= before_dir + 2_000_000,
        "log dir {before_dir} -> {grown} after 2 MB produced"
    );
    // The history has two points now (a forecast needs ten minutes of them).
    let f = s
        .capacity
        .iter()
        .find(|f| f.kind == "kafka.log_dir")
        .expect("figure");
    assert_eq!(f.used, grown as f64);
}

fn audit_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}

fn create_on(cluster: &KafkaCluster, topic: &str, assignment: &str) {
    let out = cluster.tool(
        TOPIC_COMMAND,
        &[
            "--create",
            "--topic",
            topic,
            "--replica-assignment",
            assignment,
        ],
    );
    assert!(
        out.status.success(),
        "create {topic}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn broker_configs(cluster: &KafkaCluster, id: i32) -> String {
    let b = cluster.bootstrap();
    let id = id.to_string();
    let out = kafka_tool(
        CONFIG_COMMAND,
        &[
            "--bootstrap-server",
            &b,
            "--describe",
            "--entity-type",
            "brokers",
            "--entity-name",
            &id,
        ],
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn rebalance_through_the_console_then_a_crawling_reassignment_is_cancelled() {
    let cluster = KafkaCluster::start();
    cluster.wait_brokers(3, Duration::from_secs(60));
    let b = cluster.bootstrap();

    // Every replica on brokers 1 and 2: 6/6/0.
    let topic = unique_name("lopsided");
    create_on(&cluster, &topic, "1:2,2:1,1:2,2:1,1:2,2:1");
    assert_eq!(per_broker(&replicas(&b, &topic)).get(&3), None);

    let dir = TestDir::new("balance-console");
    let data = dir.path().join("data");
    let audit = dir.path().join("audit.jsonl");
    let cfg = write_config(
        dir.path(),
        &format!(
            "default_context = \"t\"\nrefresh = \"1s\"\naudit_log = \"{}\"\n[contexts.t]\nhost = false\n[[contexts.t.kafka]]\nname = \"k\"\nbrokers = \"{b}\"\n",
            audit.display()
        ),
    );
    let cfg = cfg.display().to_string();
    let mut c = Console::start_with_env(
        &["--config", &cfg],
        200,
        60,
        &[("XDG_DATA_HOME", data.as_path())],
    );
    c.send(":kafka\r");
    c.wait_for("Brokers");
    c.send("lll");
    c.wait_for("skew max/mean");
    c.wait_for("plan: 4 replica move(s)");
    c.send("R");
    c.wait_for("Confirm action");
    c.wait_for("reassign 4 replica(s) of");
    let screen = c.screen();
    assert!(
        screen.contains("skew replicas") && screen.contains("→ 1.00"),
        "{screen}"
    );
    assert!(screen.contains("rebalance-k.json"), "{screen}");
    c.send("\t");
    c.send("\r");
    c.wait_for("rebalanced");
    let after = replicas(&b, &topic);
    let counts = per_broker(&after);
    assert_eq!(
        counts.values().copied().collect::<Vec<_>>(),
        vec![4, 4, 4],
        "{after:?}"
    );
    for rs in after.values() {
        assert_eq!(
            rs.iter().collect::<BTreeSet<_>>().len(),
            rs.len(),
            "{after:?}"
        );
    }
    let lines = audit_lines(&audit);
    let ours: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| {
            l["command"]
                .as_str()
                .is_some_and(|c| c.starts_with("reassign 4 replica(s)"))
        })
        .collect();
    let outcomes: Vec<&str> = ours.iter().filter_map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, vec!["started", "ok"], "{lines:?}");
    assert!(
        ours[1]["message"].as_str().is_some_and(|m| m.starts_with(
            "rebalanced: 4 of 4 partition(s) on their new replicas; throttle removed"
        )),
        "{:?}",
        ours[1]
    );
    // The throttle is gone from every broker.
    for id in 1..=3 {
        let conf = broker_configs(&cluster, id);
        assert!(!conf.contains("throttled.rate"), "broker {id}: {conf}");
    }
    // The plan file is Kafka's own tool's input.
    let file = data.join("opsdeck").join("rebalance-k.json");
    let f = file.display().to_string();
    let out = kafka_tool(
        REASSIGN_COMMAND,
        &[
            "--bootstrap-server",
            &b,
            "--verify",
            "--reassignment-json-file",
            &f,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("is completed"),
        "--verify: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    c.send("q");
    c.wait_exit();

    // A topic with data, its replicas on brokers 1 and 2 again, moved at 10 KiB/s.
    let slow = unique_name("crawl");
    create_on(&cluster, &slow, "1:2,2:1,1:2,2:1");
    produce(&b, &slow, 4, 3000, 1000);
    let before = replicas(&b, &slow);
    let dir2 = TestDir::new("balance-cancel");
    let spec = spec(&b, Some("10KiB"));
    let mut p = KafkaPoller::new(spec.clone()).with_data_dir(dir2.path());
    let s = poll_until(
        &mut p,
        "a plan moving the crawl topic",
        Duration::from_secs(60),
        |s| {
            s.balance
                .plan
                .as_ref()
                .is_some_and(|pl| pl.partitions.iter().any(|t| t.topic == slow) && pl.bytes > 0)
                && s.balance.plan_file.is_some()
        },
    )
    .await;
    let (_, op, _) = s.rebalance().expect("a rebalance is offered");
    let KafkaOp::Rebalance { throttle, .. } = &op else {
        panic!("{op:?}");
    };
    assert_eq!(*throttle, 10 * 1024);
    let job = {
        let (op, spec) = (op.clone(), spec.clone());
        tokio::spawn(async move { op.execute(&spec).await })
    };
    let s = poll_until(
        &mut p,
        "the reassignment in progress",
        Duration::from_secs(30),
        |s| !s.balance.reassignments.is_empty(),
    )
    .await;
    assert!(!job.is_finished(), "the crawl finished already");
    let r = &s.balance.reassignments[0];
    assert!(!r.adding.is_empty() && !r.removing.is_empty(), "{r:?}");
    let throttled: Vec<String> = (1..=3).map(|id| broker_configs(&cluster, id)).collect();
    assert!(
        throttled
            .iter()
            .any(|c| c.contains("leader.replication.throttled.rate=10240")),
        "{throttled:?}"
    );
    // Cancel refuses nothing here; a second rebalance is refused meanwhile.
    assert!(
        s.rebalance()
            .is_err_and(|e| e.contains("a reassignment is in progress")),
        "{:?}",
        s.rebalance()
    );
    let (_, cancel, _) = s.cancel_reassignments().expect("cancel offered");
    let msg = cancel.execute(&spec).await.expect("cancel");
    assert!(
        msg.contains("cancelled") && msg.contains("throttle removed"),
        "{msg}"
    );
    let res = tokio::time::timeout(Duration::from_secs(60), job)
        .await
        .expect("the rebalance job ends after the cancel")
        .expect("join");
    let e = res.expect_err("a cancelled rebalance is not a success");
    assert!(e.contains("cancelled"), "{e}");
    let as_sets = |m: &BTreeMap<i32, Vec<i32>>| -> Vec<BTreeSet<i32>> {
        m.values().map(|v| v.iter().copied().collect()).collect()
    };
    // The controller drops the added replicas after answering the cancel: the metadata
    // may show them for a moment.
    let settled = Instant::now() + Duration::from_secs(30);
    loop {
        let back = replicas(&b, &slow);
        if as_sets(&back) == as_sets(&before) {
            break;
        }
        assert!(
            Instant::now() < settled,
            "replicas 30 s after the cancel: {back:?}, before: {before:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for id in 1..=3 {
        let conf = broker_configs(&cluster, id);
        assert!(!conf.contains("throttled.rate"), "broker {id}: {conf}");
    }
    poll_until(
        &mut p,
        "no reassignment listed",
        Duration::from_secs(30),
        |s| s.balance.reassignments.is_empty() && s.balance.reassignments_error.is_none(),
    )
    .await;
}
