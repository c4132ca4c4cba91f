// Helpers shared by the Kafka integration tests (included with `#[path]`, not a test itself).
#![allow(dead_code)]

use std::time::Duration;

use opsdeck::sources::Poller;
use opsdeck::sources::kafka::KafkaSpec;
use opsdeck::sources::kafka::{KafkaPoller, KafkaSample, Windows};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

pub fn spec(bootstrap: &str) -> KafkaSpec {
    KafkaSpec {
        name: "k".into(),
        brokers: bootstrap.into(),
        ..Default::default()
    }
}

/// Produces `n` messages to `partition` of `topic`.
pub fn produce(bootstrap: &str, topic: &str, partition: i32, n: usize) {
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    for i in 0..n {
        let payload = format!("m{i}");
        let mut rec = BaseRecord::<(), String>::to(topic)
            .partition(partition)
            .payload(&payload);
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
    p.flush(Duration::from_secs(30)).expect("flush");
}

/// Consumes `m` messages of `partition` as `group` (assigned, never subscribed: no
/// membership stays behind) and commits the offset after the last one.
pub fn consume_and_commit(bootstrap: &str, group: &str, topic: &str, partition: i32, m: usize) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning)
        .expect("tpl");
    c.assign(&tpl).expect("assign");
    let mut next = 0;
    let mut got = 0;
    while got < m {
        match c.poll(Duration::from_secs(10)) {
            Some(Ok(msg)) => {
                next = msg.offset() + 1;
                got += 1;
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None => panic!("no message within 10s ({got} of {m})"),
        }
    }
    let mut commit = TopicPartitionList::new();
    commit
        .add_partition_offset(topic, partition, Offset::Offset(next))
        .expect("tpl");
    c.commit(&commit, CommitMode::Sync).expect("commit");
}

pub async fn poll(p: &mut KafkaPoller) -> Box<KafkaSample> {
    Box::new(p.poll().await.expect("poll"))
}

pub fn poller(bootstrap: &str, windows: Windows) -> KafkaPoller {
    KafkaPoller::with_windows(spec(bootstrap), windows)
}

/// (partition, lag) rows of `topic` in `kafka-consumer-groups --describe` output.
pub fn tool_lags(out: &str, topic: &str) -> Vec<(i32, i64)> {
    let mut v: Vec<(i32, i64)> = out
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() >= 6 && f[1] == topic {
                Some((f[2].parse().ok()?, f[5].parse().ok()?))
            } else {
                None
            }
        })
        .collect();
    v.sort();
    v
}
