//! The benches' test cluster on a harness broker: topics of `parts` partitions with two
//! messages in each, and consumer groups that committed offsets on a few topics each (no
//! members: a group that stopped, the shape that costs a lag view the most rows).
//! Shared by `kafka_poll` and `kafka_load` (`#[path]`-included, not a bench of its own).

use std::time::{Duration, Instant};

use opsdeck::sources::kafka::{KafkaSpec, admin::Admin, client_config};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

/// How big a cluster to build.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub topics: usize,
    pub parts: i32,
    pub groups: usize,
    /// Topics each group commits on (every partition of each).
    pub topics_per_group: usize,
    /// Replicas of each partition (at most the brokers).
    pub replication: i32,
}

impl Shape {
    pub fn partitions(&self) -> usize {
        self.topics * self.parts as usize
    }
    pub fn group_partitions(&self) -> usize {
        self.groups * self.topics_per_group * self.parts as usize
    }
}

/// The topic names `build` uses.
pub fn topic_names(shape: &Shape) -> Vec<String> {
    (0..shape.topics).map(|i| format!("bench_{i:03}")).collect()
}

/// Group `g`'s name (`bench_group_000` ...).
pub fn group_name(g: usize) -> String {
    format!("bench_group_{g:03}")
}

/// Creates the topics, writes two messages per partition and commits every group's offsets
/// (group `g` on topics `g`, `g+7`, `g+14`, ... at offset `g % 3`). Panics saying what failed.
pub async fn build(bootstrap: &str, shape: &Shape) -> Vec<String> {
    let topics = topic_names(shape);
    let setup = Instant::now();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin");
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| NewTopic::new(t, shape.parts, TopicReplication::Fixed(shape.replication)))
        .collect();
    // KRaft refuses one operation of more than 10,000 records (PolicyViolation): batches.
    for chunk in new.chunks(100) {
        for r in admin
            .create_topics(
                chunk,
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(180))),
            )
            .await
            .expect("create topics")
        {
            r.expect("topic");
        }
    }
    wait_for_replicas(bootstrap, &topics, shape);
    // The leader's acknowledgement is enough for a bench's two records a partition: waiting
    // for every follower of 30,000 replicas on one small machine outlasts any flush.
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "1")
        .set("message.timeout.ms", "900000")
        .create()
        .expect("producer");
    for t in &topics {
        for p in 0..shape.parts {
            for _ in 0..2 {
                let mut rec = BaseRecord::<(), str>::to(t).partition(p).payload("x");
                while let Err((_, r)) = producer.send(rec) {
                    producer.poll(Duration::from_millis(10));
                    rec = r;
                }
            }
        }
    }
    if let Err(e) = producer.flush(Duration::from_secs(600)) {
        panic!(
            "flush: {e} ({} messages in flight)",
            producer.in_flight_count()
        );
    }
    let spec = KafkaSpec {
        name: "bench".into(),
        brokers: bootstrap.into(),
        ..Default::default()
    };
    let wrapper = Admin::new(
        &futures::executor::block_on(client_config(&spec)).expect("cfg"),
        Duration::from_secs(30),
    )
    .expect("admin");
    for g in 0..shape.groups {
        let offsets: Vec<(String, i32, i64)> = (0..shape.topics_per_group)
            .flat_map(|k| {
                let t = topics[(g + k * 7) % shape.topics].clone();
                (0..shape.parts).map(move |p| (t.clone(), p, (g % 3) as i64))
            })
            .collect();
        // A topic just created may not be known to the coordinator yet: retry a little.
        let group = group_name(g);
        let mut tries = 0;
        while let Err(e) = wrapper.alter_group_offsets(&group, &offsets) {
            tries += 1;
            assert!(tries < 30, "commit {group}: {e}");
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    eprintln!("setup took {:.1}s", setup.elapsed().as_secs_f64());
    topics
}

/// Waits until every partition of `topics` has a leader and all its replicas in sync: a
/// cluster still electing leaders of thousands of new partitions leaves records waiting
/// past any flush. Panics after ten minutes saying how many partitions are not ready.
fn wait_for_replicas(bootstrap: &str, topics: &[String], shape: &Shape) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("metadata client");
    let wanted: std::collections::HashSet<&str> = topics.iter().map(String::as_str).collect();
    let since = Instant::now();
    loop {
        let ready = match consumer.fetch_metadata(None, Duration::from_secs(60)) {
            Ok(md) => md
                .topics()
                .iter()
                .filter(|t| wanted.contains(t.name()))
                .flat_map(|t| t.partitions())
                .filter(|p| p.leader() >= 0 && p.isr().len() as i32 >= shape.replication)
                .count(),
            Err(_) => 0,
        };
        if ready == shape.partitions() {
            return;
        }
        assert!(
            since.elapsed() < Duration::from_secs(600),
            "{} of {} partitions still without a leader or a full ISR after 10 minutes",
            shape.partitions() - ready,
            shape.partitions()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// The console's config for a bench: the Kafka source `bench` on `bootstrap` alone, 2 s
/// refresh, no host source.
pub fn write_console_config(path: &std::path::Path, bootstrap: &str) {
    std::fs::write(
        path,
        format!(
            "default_context = \"bench\"\nrefresh = \"2s\"\n\n[contexts.bench]\nhost = false\n\n\
             [[contexts.bench.kafka]]\nname = \"bench\"\nbrokers = \"{bootstrap}\"\n"
        ),
    )
    .expect("write the console's config");
}
