//! Guarded Kafka actions against a real broker, each verified by reading the cluster back.

#[path = "kafka_common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use common::*;
use opsdeck::actions::{Op, Risk};
use opsdeck::config::keymap::Action;
use opsdeck::sources::Sample;
use opsdeck::sources::kafka::{KafkaOp, ResetTo, TABLE_GROUPS, TABLE_TOPICS, Windows};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use support::{shared_kafka, unique_name, wait_until};

async fn committed(b: &str, group: &str, topic: &str) -> Vec<Option<i64>> {
    let s = poll(&mut poller(b, Windows::default())).await;
    s.groups
        .iter()
        .find(|g| g.name == group)
        .map(|g| {
            g.partitions
                .iter()
                .filter(|p| p.topic == topic)
                .map(|p| p.committed)
                .collect()
        })
        .unwrap_or_default()
}

async fn partitions(b: &str, topic: &str) -> Option<usize> {
    let s = poll(&mut poller(b, Windows::default())).await;
    s.topics
        .iter()
        .find(|t| t.name == topic)
        .map(|t| t.partition_count)
}

#[tokio::test(flavor = "multi_thread")]
async fn create_grow_and_delete_topic() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let spec = spec(&b);
    let topic = unique_name("made");

    // Kafka's validation refuses a bad config before anything is created.
    let bad = KafkaOp::CreateTopic {
        topic: topic.clone(),
        partitions: 3,
        replication_factor: 1,
        configs: vec![("cleanup.policy".into(), "shred".into())],
    };
    let e = bad.execute(&spec).await.expect_err("bad config refused");
    assert!(e.contains("validation of topic"), "{e}");
    assert_eq!(partitions(&b, &topic).await, None);

    let create = KafkaOp::CreateTopic {
        topic: topic.clone(),
        partitions: 3,
        replication_factor: 1,
        configs: vec![("retention.ms".into(), "3600000".into())],
    };
    assert!(create.describe().contains("retention.ms=3600000"));
    create.execute(&spec).await.expect("create");
    let described = kafka.topics(&["--describe", "--topic", &topic]);
    assert!(described.contains("retention.ms=3600000"), "{described}");
    wait_until("topic visible", Duration::from_secs(10), || {
        futures::executor::block_on(partitions(&b, &topic)).filter(|n| *n == 3)
    });

    // The Topics view reads topic configs too.
    let s = poll(&mut poller(&b, Windows::default())).await;
    let t = s.topics.iter().find(|t| t.name == topic).expect("topic");
    assert_eq!(t.retention_ms, Some(3_600_000));
    assert_eq!(t.cleanup_policy.as_deref(), Some("delete"));
    assert_eq!(t.min_insync_replicas, Some(1));
    assert_eq!(t.under_min_isr, 0);

    // Incremental: setting one config keeps the others.
    let e = KafkaOp::AlterTopicConfigs {
        topic: topic.clone(),
        configs: vec![("cleanup.policy".into(), "shred".into())],
    }
    .execute(&spec)
    .await
    .expect_err("bad value refused");
    assert!(e.contains("validation refused"), "{e}");
    KafkaOp::AlterTopicConfigs {
        topic: topic.clone(),
        configs: vec![("max.message.bytes".into(), "200000".into())],
    }
    .execute(&spec)
    .await
    .expect("alter configs");
    let described = kafka.topics(&["--describe", "--topic", &topic]);
    assert!(
        described.contains("max.message.bytes=200000"),
        "{described}"
    );
    assert!(described.contains("retention.ms=3600000"), "{described}");
    assert!(!described.contains("shred"), "{described}");

    KafkaOp::AddPartitions {
        topic: topic.clone(),
        total: 5,
    }
    .execute(&spec)
    .await
    .expect("grow");
    assert_eq!(partitions(&b, &topic).await, Some(5));
    let e = KafkaOp::AddPartitions {
        topic: topic.clone(),
        total: 2,
    }
    .execute(&spec)
    .await
    .expect_err("decrease refused");
    assert!(e.contains("cannot remove partitions"), "{e}");
    assert_eq!(partitions(&b, &topic).await, Some(5));

    // Delete through the pane's mapping of the selected row.
    let s = Sample::Kafka(poll(&mut poller(&b, Windows::default())).await);
    let p = s
        .command(TABLE_TOPICS, &topic, Action::DeleteTopic)
        .expect("maps")
        .expect("allowed");
    let (target, op, risk) = (p.target, p.op, p.risk);
    assert_eq!((target.as_str(), risk), (topic.as_str(), Risk::High));
    let Op::Kafka(op) = op else { panic!("{op:?}") };
    op.execute(&spec).await.expect("delete");
    wait_until("topic gone", Duration::from_secs(15), || {
        futures::executor::block_on(partitions(&b, &topic))
            .is_none()
            .then_some(())
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_offsets_preview_modes_refusal_and_delete_group() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let spec = spec(&b);
    let topic = unique_name("ledger");
    let group = unique_name("reset");
    kafka.create_topic(&topic, 2);
    produce(&b, &topic, 0, 10);
    produce(&b, &topic, 1, 6);
    consume_and_commit(&b, &group, &topic, 0, 4);
    consume_and_commit(&b, &group, &topic, 1, 6);
    assert_eq!(committed(&b, &group, &topic).await, vec![Some(4), Some(6)]);

    let reset = |to: ResetTo, dry_run: bool| KafkaOp::ResetOffsets {
        group: group.clone(),
        topic: Some(topic.clone()),
        to,
        dry_run,
    };
    let preview = reset(ResetTo::ShiftBy(-2), true)
        .execute(&spec)
        .await
        .expect("dry run");
    assert!(preview.contains(&format!("{topic}[0] 4 -> 2")), "{preview}");
    assert!(preview.contains(&format!("{topic}[1] 6 -> 4")), "{preview}");
    assert_eq!(committed(&b, &group, &topic).await, vec![Some(4), Some(6)]);

    for (to, want) in [
        (ResetTo::ShiftBy(-2), vec![Some(2), Some(4)]),
        (ResetTo::Earliest, vec![Some(0), Some(0)]),
        (ResetTo::Latest, vec![Some(10), Some(6)]),
        (ResetTo::Offset(5), vec![Some(5), Some(5)]),
        // Clamped to the partition's range.
        (ResetTo::Offset(99), vec![Some(10), Some(6)]),
        (ResetTo::Timestamp(0), vec![Some(0), Some(0)]),
    ] {
        reset(to.clone(), false)
            .execute(&spec)
            .await
            .unwrap_or_else(|e| panic!("{to:?}: {e}"));
        assert_eq!(committed(&b, &group, &topic).await, want, "{to:?}");
    }
    // Kafka's own tool reads the same committed offsets back.
    let out = kafka.consumer_groups(&["--describe", "--group", &group]);
    assert_eq!(tool_lags(&out, &topic), vec![(0, 10), (1, 6)], "{out}");

    // With a live member the reset is refused, by the op and by the pane's mapping.
    let member: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &b)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    member.subscribe(&[&topic]).expect("subscribe");
    wait_until("member joined", Duration::from_secs(30), || {
        member.poll(Duration::from_millis(200));
        (!member.assignment().ok()?.elements().is_empty()).then_some(())
    });
    let e = reset(ResetTo::Latest, false)
        .execute(&spec)
        .await
        .expect_err("refused with members");
    assert!(e.contains("active members"), "{e}");
    let s = Sample::Kafka(poll(&mut poller(&b, Windows::default())).await);
    let g = match &s {
        Sample::Kafka(k) => k.groups.iter().find(|g| g.name == group).expect("group"),
        _ => unreachable!(),
    };
    assert_eq!(g.members.len(), 1);
    assert!(
        g.partitions.iter().all(|p| p.owner.is_some()),
        "{:?}",
        g.partitions
    );
    assert!(matches!(
        s.command(TABLE_GROUPS, &group, Action::ResetOffsets),
        Some(Err(e)) if e.contains("active members")
    ));
    drop(member);

    // Once empty, the pane maps delete on the group row to DeleteGroup.
    wait_until("group empty", Duration::from_secs(30), || {
        let s = futures::executor::block_on(poll(&mut poller(&b, Windows::default())));
        s.groups
            .iter()
            .find(|g| g.name == group && g.members.is_empty())
            .map(|_| ())
    });
    let s = Sample::Kafka(poll(&mut poller(&b, Windows::default())).await);
    let op = s
        .command(TABLE_GROUPS, &group, Action::DeleteTopic)
        .expect("maps")
        .expect("allowed")
        .op;
    assert_eq!(
        op,
        Op::Kafka(KafkaOp::DeleteGroup {
            group: group.clone()
        })
    );
    let Op::Kafka(op) = op else { unreachable!() };
    op.execute(&spec).await.expect("delete group");
    let s = poll(&mut poller(&b, Windows::default())).await;
    assert!(s.groups.iter().all(|g| g.name != group));
}
