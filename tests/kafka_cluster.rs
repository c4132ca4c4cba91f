//! On the 3-broker cluster: killing a broker shows under-replicated partitions and the
//! shrunken ISR (the dead broker listed as missing) within a few polls of the same
//! long-lived poller; restarting it clears them.

#[path = "kafka_common/mod.rs"]
mod common;
mod support;

use std::time::{Duration, Instant};

use common::*;
use opsdeck::sources::kafka::{KafkaSample, Windows};
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
        if let Ok(opsdeck::sources::Sample::Kafka(s)) = opsdeck::sources::Poller::poll(p).await {
            if ok(&s) {
                return (s, polls);
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
}
