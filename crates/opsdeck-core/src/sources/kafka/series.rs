//! What the exporter serves for Kafka beyond the rule metrics: the consumer status as a
//! labelled gauge (as Burrow does), lag per group and topic, and per partition for the most
//! lagging partitions only (`Limits::partitions`), so a 10k-partition cluster stays cheap.

use std::collections::BTreeMap;

use super::{GroupInfo, KafkaSample};
use crate::series::{Family, Limits, Series};

pub const GROUP_STATUS: Family = Family::gauge(
    "opsdeck_kafka_group_status",
    "1 for the consumer group's status (OK, WARN, REWIND, STALL, STOP, or JUDGING while watched for less than stall_after, ABANDONED), 0 for the others",
    &["source", "group", "status"],
);
pub const GROUP_MEMBERS: Family = Family::gauge(
    "opsdeck_kafka_group_members",
    "members of the consumer group",
    &["source", "group"],
);
pub const TOPIC_LAG: Family = Family::gauge(
    "opsdeck_kafka_group_topic_lag",
    "records the consumer group is behind on a topic (partitions never committed not counted)",
    &["source", "group", "topic"],
);
pub const TOPIC_LAG_SECONDS: Family = Family::gauge(
    "opsdeck_kafka_group_topic_lag_seconds",
    "time lag of the group's worst partition of a topic",
    &["source", "group", "topic"],
);
pub const PARTITION_LAG: Family = Family::gauge(
    "opsdeck_kafka_partition_lag",
    "records the consumer group is behind on a partition (the most lagging partitions only, see --partition-series)",
    &["source", "group", "topic", "partition"],
);
pub const PARTITION_LAG_SECONDS: Family = Family::gauge(
    "opsdeck_kafka_partition_lag_seconds",
    "time lag of a partition (the same partitions as opsdeck_kafka_partition_lag)",
    &["source", "group", "topic", "partition"],
);
pub const BROKERS: Family = Family::gauge(
    "opsdeck_kafka_brokers",
    "brokers in the cluster's metadata",
    &["source"],
);

pub const SERIES: &[Family] = &[
    GROUP_STATUS,
    GROUP_MEMBERS,
    TOPIC_LAG,
    TOPIC_LAG_SECONDS,
    PARTITION_LAG,
    PARTITION_LAG_SECONDS,
    BROKERS,
];

const STATUSES: [&str; 7] = [
    "OK",
    "WARN",
    "REWIND",
    "STALL",
    "STOP",
    "JUDGING",
    "ABANDONED",
];

fn status(g: &GroupInfo) -> &'static str {
    if g.abandoned {
        "ABANDONED"
    } else if g.judging {
        "JUDGING"
    } else {
        g.status.label()
    }
}

pub fn series(k: &KafkaSample, source: &str, limits: &Limits) -> Vec<Series> {
    let mut out = vec![BROKERS.at(&[source], k.brokers.len() as f64)];
    let mut partitions = Vec::new();
    for g in &k.groups {
        let now = status(g);
        for s in STATUSES {
            out.push(GROUP_STATUS.at(&[source, &g.name, s], if s == now { 1.0 } else { 0.0 }));
        }
        out.push(GROUP_MEMBERS.at(&[source, &g.name], g.members.len() as f64));
        let mut topics: BTreeMap<&str, (i64, Option<f64>)> = BTreeMap::new();
        for p in &g.partitions {
            let t = topics.entry(&p.topic).or_default();
            t.0 += p.lag.unwrap_or(0).max(0);
            if let Some(s) = p.lag_seconds {
                t.1 = Some(t.1.map_or(s, |x: f64| x.max(s)));
            }
            if let Some(lag) = p.lag {
                partitions.push((lag, g, p));
            }
        }
        for (topic, (lag, secs)) in topics {
            out.push(TOPIC_LAG.at(&[source, &g.name, topic], lag as f64));
            if let Some(s) = secs {
                out.push(TOPIC_LAG_SECONDS.at(&[source, &g.name, topic], s));
            }
        }
    }
    // The most lagging first; ties in a stable order so the set does not flap.
    partitions.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.name.cmp(&b.1.name))
            .then_with(|| a.2.topic.cmp(&b.2.topic))
            .then_with(|| a.2.partition.cmp(&b.2.partition))
    });
    for (lag, g, p) in partitions.into_iter().take(limits.partitions) {
        let part = p.partition.to_string();
        let labels = [source, g.name.as_str(), p.topic.as_str(), part.as_str()];
        out.push(PARTITION_LAG.at(&labels, lag as f64));
        if let Some(s) = p.lag_seconds {
            out.push(PARTITION_LAG_SECONDS.at(&labels, s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::kafka::{GroupPartition, LagStatus};

    fn group(name: &str, parts: usize) -> GroupInfo {
        GroupInfo {
            name: name.into(),
            status: LagStatus::Stop,
            partitions: (0..parts)
                .map(|i| GroupPartition {
                    topic: "orders".into(),
                    partition: i as i32,
                    lag: Some(i as i64 * 10),
                    lag_seconds: Some(i as f64),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn status_is_one_of_seven_and_partitions_are_bounded() {
        let k = KafkaSample {
            groups: vec![group("billing", 50), group("reports", 50)],
            ..Default::default()
        };
        let limits = Limits {
            partitions: 10,
            ..Default::default()
        };
        let s = series(&k, "prod", &limits);
        let on: Vec<_> = s
            .iter()
            .filter(|x| x.name == GROUP_STATUS.name && x.value == 1.0)
            .map(|x| (x.label("group"), x.label("status")))
            .collect();
        assert_eq!(
            on,
            vec![
                (Some("billing"), Some("STOP")),
                (Some("reports"), Some("STOP"))
            ]
        );
        let parts: Vec<_> = s.iter().filter(|x| x.name == PARTITION_LAG.name).collect();
        assert_eq!(parts.len(), 10);
        assert_eq!(parts[0].value, 490.0);
        let topic: Vec<_> = s.iter().filter(|x| x.name == TOPIC_LAG.name).collect();
        assert_eq!(topic.len(), 2, "per-group totals are always there");
        assert_eq!(
            topic[0].value,
            (0..50).map(|i| i as f64 * 10.0).sum::<f64>()
        );
    }
}
