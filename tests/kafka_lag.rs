//! The Kafka poll against a real broker: lag per partition equals N − M and Kafka's own
//! consumer-groups tool; `snapshot --output json` shows the same; a group whose commits stop
//! while a producer writes turns STOP.

#[path = "kafka_common/mod.rs"]
mod common;
mod support;

use common::*;
use opsdeck::sources::kafka::{LagStatus, Windows};
use support::{shared_kafka, unique_name};

const N: [usize; 3] = [10, 25, 40];
const M: [usize; 3] = [4, 25, 0];

#[tokio::test(flavor = "multi_thread")]
async fn lag_is_n_minus_m_per_partition_and_matches_kafka_tool_and_snapshot() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let topic = unique_name("orders");
    let group = unique_name("billing");
    kafka.create_topic(&topic, 3);
    for p in 0..3 {
        produce(&b, &topic, p, N[p as usize]);
    }
    for p in 0..2 {
        consume_and_commit(&b, &group, &topic, p, M[p as usize]);
    }

    let mut poller = poller(&b, Windows::default());
    let s = poll(&mut poller).await;
    let g = s
        .groups
        .iter()
        .find(|g| g.name == group)
        .expect("group listed");
    let lags: Vec<_> = g
        .partitions
        .iter()
        .filter(|p| p.topic == topic)
        .map(|p| (p.partition, p.committed, p.lag))
        .collect();
    assert_eq!(
        lags,
        vec![
            (0, Some(4), Some(6)),
            (1, Some(25), Some(0)),
            // Never committed: shown as unknown, not as 0 or 40.
            (2, None, None),
        ]
    );
    assert_eq!(g.total_lag, 6);
    assert_eq!(g.max_partition_lag, 6);
    assert_eq!(g.state, "Empty");
    let t = s.topics.iter().find(|t| t.name == topic).expect("topic");
    assert_eq!(t.partition_count, 3);
    assert_eq!(t.partitions[2].high, Some(40));
    assert_eq!(t.partitions[2].low, Some(0));
    assert!(s.brokers.iter().any(|b| b.controller));

    // Kafka's own tool agrees on every committed partition.
    let out = kafka.consumer_groups(&["--describe", "--group", &group]);
    let ours: Vec<(i32, i64)> = lags
        .iter()
        .filter_map(|(p, _, l)| l.map(|l| (*p, l)))
        .collect();
    assert_eq!(tool_lags(&out, &topic), ours, "tool output:\n{out}");

    // And so does `opsdeck snapshot --output json`, run as a user would.
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("opsdeck.toml");
    std::fs::write(
        &cfg,
        format!(
            "default_context = \"t\"\n[contexts.t]\nhost = false\n[[contexts.t.kafka]]\nname = \"k\"\nbrokers = \"{b}\"\n"
        ),
    )
    .expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--config")
        .arg(&cfg)
        .args(["snapshot", "--output", "json", "--timeout", "15s"])
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .expect("run opsdeck");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let groups = v["sources"][0]["data"]["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("no groups in {v}"));
    let jg = groups
        .iter()
        .find(|g| g["name"] == group.as_str())
        .expect("group in snapshot");
    let jl: Vec<(i64, Option<i64>)> = jg["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .filter(|p| p["topic"] == topic.as_str())
        .map(|p| (p["partition"].as_i64().expect("id"), p["lag"].as_i64()))
        .collect();
    assert_eq!(jl, vec![(0, Some(6)), (1, Some(0)), (2, None)]);
    assert_eq!(jg["total_lag"], 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_commits_while_producing_turn_the_group_stop_and_time_lag_grows() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let topic = unique_name("events");
    let group = unique_name("stalled");
    kafka.create_topic(&topic, 2);
    produce(&b, &topic, 0, 5);
    consume_and_commit(&b, &group, &topic, 0, 5);

    // A stall after 1 s instead of 5 minutes keeps the test short.
    let mut poller = opsdeck::sources::kafka::KafkaPoller::with_windows(
        opsdeck::sources::kafka::KafkaSpec {
            stall_after: Some("1s".into()),
            ..spec(&b)
        },
        Windows {
            hwm_points: 20,
            trend: 10,
        },
    );
    let mut statuses = Vec::new();
    let mut lag_secs = Vec::new();
    for round in 0..5 {
        produce(&b, &topic, 0, 3);
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let s = poll(&mut poller).await;
        let g = s.groups.iter().find(|g| g.name == group).expect("group");
        assert_eq!(g.total_lag, 3 * (round + 1) as i64);
        statuses.push((g.status, g.reason.clone()));
        lag_secs.push(g.lag_seconds);
    }
    assert_eq!(statuses[0].0, LagStatus::Ok, "{statuses:?}");
    let (last, why) = statuses.last().expect("polled");
    assert_eq!(*last, LagStatus::Stop, "{statuses:?}");
    assert!(why.contains("no commit"), "{why}");
    // Time lag is known once two watermark points exist, and it keeps growing.
    let known: Vec<f64> = lag_secs.iter().flatten().copied().collect();
    assert!(known.len() >= 3, "{lag_secs:?}");
    assert!(known.windows(2).all(|w| w[1] > w[0]), "{lag_secs:?}");
}
