//! On the 3-broker cluster: killing a broker shows under-replicated partitions and the
//! shrunken ISR (the dead broker listed as missing) within a few polls of the same
//! long-lived poller; restarting it clears them. The same cluster then checks preferred
//! leader election: the restarted broker is back in the ISR but no longer leads the
//! partitions it prefers until `KafkaOp::ElectPreferredLeaders` moves them back.

#[path = "kafka_common/mod.rs"]
mod common;
mod support;

use std::time::{Duration, Instant};

use common::*;
use opsdeck::sources::kafka::{KafkaOp, KafkaSample, Windows};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use support::{KafkaCluster, unique_name};

async fn poll_until(
    p: &mut opsdeck::sources::kafka::KafkaPoller,
    what: &str,
    timeout: Duration,
    ok: impl Fn(&KafkaSample) -> bool,
) -> (Box<KafkaSample>, usize) {
    let start = Instant::now();
    let mut polls = 0;
    loop {
        polls += 1;
        // A poll may fail while the cluster re-elects; the poller reconnects by itself.
        if let Ok(s) = opsdeck::sources::Poller::poll(p).await {
            if ok(&s) {
                return (Box::new(s), polls);
            }
        } else {
            opsdeck::sources::Poller::reset(p);
        }
        assert!(
            start.elapsed() < timeout,
            "{what}: not seen after {polls} polls"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_broker_shows_under_replicated_and_clears_after_restart() {
    let cluster = KafkaCluster::start();
    let topic = unique_name("replicated");
    cluster.create_topic(&topic, 6);
    let mut p = poller(&cluster.bootstrap(), Windows::default());
    let (s, _) = poll_until(&mut p, "healthy topic", Duration::from_secs(30), |s| {
        s.topics
            .iter()
            .any(|t| t.name == topic && t.partition_count == 6 && t.under_replicated == 0)
    })
    .await;
    assert_eq!(s.brokers.len(), 3);
    let t = s.topics.iter().find(|t| t.name == topic).expect("topic");
    assert_eq!(t.replication_factor, 3);

    let victim = cluster.broker(2);
    let dead = victim.id();
    victim.kill();
    let (s, polls) = poll_until(
        &mut p,
        "under-replicated after kill",
        Duration::from_secs(60),
        |s| {
            s.topics
                .iter()
                .any(|t| t.name == topic && t.under_replicated == 6)
        },
    )
    .await;
    let t = s.topics.iter().find(|t| t.name == topic).expect("topic");
    for part in &t.partitions {
        assert_eq!(part.missing, vec![dead], "{part:?}");
        assert_eq!(part.isr.len(), 2, "{part:?}");
        assert_ne!(part.leader, dead);
    }
    // The pane's Topics table shows it, and the pane is at least a warning.
    let m = s.model();
    let row = m.tables[opsdeck::sources::kafka::TABLE_TOPICS]
        .rows
        .iter()
        .find(|r| r.key == topic)
        .expect("topic row");
    assert_eq!(row.cells[3].text, "6");
    assert!(m.level >= opsdeck::views::Level::Warn);
    eprintln!("under-replicated seen after {polls} polls");

    victim.restart();
    let (s, polls) = poll_until(&mut p, "ISR restored", Duration::from_secs(90), |s| {
        s.brokers.len() == 3
            && s.topics
                .iter()
                .any(|t| t.name == topic && t.under_replicated == 0)
    })
    .await;
    let t = s.topics.iter().find(|t| t.name == topic).expect("topic");
    assert!(t.partitions.iter().all(|p| p.isr.len() == 3));
    eprintln!("cleared after {polls} polls");

    // Preferred leader election. The victim is back in every ISR but leads nothing it
    // prefers: leadership moved away at the kill and stays (the brokers' automatic
    // rebalance only checks every 300 s).
    let bootstrap = cluster.bootstrap();
    let before = leaders(&bootstrap, &topic);
    let off: Vec<_> = before.iter().filter(|(_, l, r)| *l != r[0]).collect();
    assert!(
        !off.is_empty(),
        "the kill should have left partitions off their preferred leader: {before:?}"
    );
    assert!(
        off.iter().all(|(_, _, r)| r[0] == dead),
        "only the victim's partitions should be off-preferred: {before:?}"
    );
    let op = KafkaOp::ElectPreferredLeaders {
        topic: Some(topic.clone()),
    };
    assert_eq!(
        op.describe(),
        format!("elect the preferred leader of every partition of {topic}")
    );
    let out = op.execute(&spec(&bootstrap)).await.expect("election");
    assert_eq!(
        out,
        format!(
            "{} elected, {} already preferred, 0 failed",
            off.len(),
            6 - off.len()
        )
    );
    let after = leaders(&bootstrap, &topic);
    assert!(
        after.iter().all(|(_, l, r)| *l == r[0]),
        "every partition should be led by its first replica: {after:?}"
    );
    eprintln!("elected: {out}");

    // A healthy topic: nothing to do, and that is success.
    let healthy = unique_name("healthy");
    cluster.create_topic(&healthy, 4);
    let out = KafkaOp::ElectPreferredLeaders {
        topic: Some(healthy.clone()),
    }
    .execute(&spec(&bootstrap))
    .await
    .expect("election on a healthy topic");
    assert_eq!(out, "0 elected, 4 already preferred, 0 failed");

    // The whole cluster (internal topics included): a second run finds nothing to elect.
    let cluster_op = KafkaOp::ElectPreferredLeaders { topic: None };
    let first = cluster_op
        .execute(&spec(&bootstrap))
        .await
        .expect("cluster");
    let again = cluster_op
        .execute(&spec(&bootstrap))
        .await
        .expect("cluster");
    assert!(again.starts_with("0 elected, "), "{first} / {again}");
    assert!(again.ends_with(" already preferred, 0 failed"), "{again}");
    // A topic that does not exist is refused before any request.
    let err = KafkaOp::ElectPreferredLeaders {
        topic: Some(unique_name("missing")),
    }
    .execute(&spec(&bootstrap))
    .await
    .expect_err("missing topic");
    assert!(err.contains("does not exist"), "{err}");
}

/// (partition, leader, replicas in assignment order) of `topic`, read with rdkafka.
fn leaders(bootstrap: &str, topic: &str) -> Vec<(i32, i32, Vec<i32>)> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("consumer");
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let t = &md.topics()[0];
    assert!(t.error().is_none(), "{topic}: {:?}", t.error());
    let mut v: Vec<_> = t
        .partitions()
        .iter()
        .map(|p| (p.id(), p.leader(), p.replicas().to_vec()))
        .collect();
    v.sort();
    v
}
