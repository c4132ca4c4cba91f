//! Kafka as a monitored system: its metrics and built-in rules, its verbs, and the glue
//! from the `System` contract to the poller, the pane model and the operations.

use super::{KafkaOp, KafkaPoller, KafkaSample, KafkaSpec, LagStatus, TABLE_GROUPS};
use crate::keymap::Action;
use crate::metrics::Severity::{Critical, Warning};
use crate::metrics::{Builtin, Cause, Cmp, Metric, Point, Unit, flag};
use crate::secrets::{SecretSpec, redact_urls};
use crate::sources::system::{At, Entries, Plan, Planning, Problem, System, ready};
use crate::views::{Detail, Pane, PaneModel};

pub struct Kafka;

const METRICS: &[Metric] = &[
    Metric::new(
        "kafka.group.status",
        Unit::LagStatus,
        "consumer group status per group: 0 OK, 1 WARN, 2 REWIND, 3 STALL, 4 STOP",
    ),
    Metric::new(
        "kafka.group.warning",
        Unit::Flag,
        "1 per consumer group whose status is WARN (lag rising) or REWIND",
    ),
    Metric::new(
        "kafka.group.lag_seconds",
        Unit::Seconds,
        "worst partition's time lag per consumer group",
    ),
    Metric::new(
        "kafka.group.lag",
        Unit::Count,
        "total messages behind per consumer group",
    ),
    Metric::new(
        "kafka.topic.under_replicated",
        Unit::Count,
        "under-replicated partitions per topic",
    ),
    Metric::new(
        "kafka.topic.under_min_isr",
        Unit::Count,
        "partitions below min.insync.replicas per topic (acks=all writes fail)",
    ),
    Metric::new(
        "kafka.topic.offline",
        Unit::Count,
        "partitions without a leader per topic",
    ),
];

const BUILTINS: &[Builtin] = &[
    Builtin::new(
        "kafka_group_stalled",
        "kafka.group.status",
        Cmp::Ge,
        3.0,
        0,
        Critical,
        "consumer status",
        "STALL: committing but not progressing; STOP: not committing while lag grows. Check the consumers' logs and members, then restart them or reset offsets (Kafka pane, Groups).",
    ),
    Builtin::new(
        "kafka_group_warning",
        "kafka.group.warning",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "lag rising or offsets rewound",
        "Consumers commit but fall further behind (WARN) or went back (REWIND): check consumer throughput and recent offset resets.",
    ),
    Builtin::new(
        "kafka_lag_seconds",
        "kafka.group.lag_seconds",
        Cmp::Gt,
        300.0,
        60,
        Warning,
        "time lag",
        "Consumers fall behind: scale consumers or check a slow downstream.",
    ),
    Builtin::new(
        "kafka_under_replicated",
        "kafka.topic.under_replicated",
        Cmp::Gt,
        0.0,
        30,
        Warning,
        "under-replicated partitions",
        "A broker is down or slow to follow: check broker health and disk.",
    ),
    Builtin::new(
        "kafka_under_min_isr",
        "kafka.topic.under_min_isr",
        Cmp::Gt,
        0.0,
        0,
        Critical,
        "partitions below min.insync.replicas",
        "acks=all producers fail on these partitions: bring the lagging replicas back in sync (broker health, disk, network).",
    ),
    Builtin::new(
        "kafka_offline_partitions",
        "kafka.topic.offline",
        Cmp::Gt,
        0.0,
        0,
        Critical,
        "offline partitions",
        "Partitions have no leader: bring the brokers holding their replicas back.",
    ),
];

impl System for Kafka {
    const LABEL: &'static str = "kafka";
    const PANE: Pane = Pane::Kafka;
    const METRICS: &'static [Metric] = METRICS;
    const BUILTINS: &'static [Builtin] = BUILTINS;
    const VERBS: &'static [Action] = &[
        Action::DeleteTopic,
        Action::ResetOffsets,
        Action::ResetOffsetsEarliest,
        Action::ResetOffsetsTo,
        Action::AddPartitions,
        Action::ElectLeaders,
        Action::CreateTopic,
    ];

    type Entries = Vec<KafkaSpec>;
    type Spec = KafkaSpec;
    type Sample = KafkaSample;
    type Op = KafkaOp;
    type Poller = KafkaPoller;

    fn instances(entries: &Vec<KafkaSpec>) -> &[KafkaSpec] {
        entries
    }
    fn local() -> Vec<KafkaSpec> {
        vec![KafkaSpec {
            name: "local".into(),
            brokers: "127.0.0.1:9092".into(),
            ..Default::default()
        }]
    }
    fn name(spec: &KafkaSpec) -> &str {
        &spec.name
    }
    fn secret(spec: &KafkaSpec) -> SecretSpec {
        spec.secret()
    }
    fn target(spec: &KafkaSpec) -> String {
        redact_urls(&spec.brokers)
    }
    fn validate(spec: &KafkaSpec, _ctx: &dyn Entries) -> Vec<Problem> {
        let mut out = Vec::new();
        if spec.brokers.trim().is_empty() {
            out.push(Problem::new(
                &spec.name,
                format!("kafka {}: brokers is empty", spec.name),
                "brokers = \"host:9092,host2:9092\"",
            ));
        }
        out
    }
    fn poller(spec: KafkaSpec, _ctx: &dyn Entries) -> KafkaPoller {
        KafkaPoller::new(spec)
    }

    fn model(sample: &KafkaSample) -> PaneModel {
        sample.model()
    }
    fn detail(sample: &KafkaSample, table: usize, key: &str) -> Option<Detail> {
        sample.detail(table, key)
    }

    fn measure(k: &KafkaSample, metric: &str, _source: &str) -> Vec<Point> {
        let mut out = Vec::new();
        match metric {
            "kafka.group.status"
            | "kafka.group.warning"
            | "kafka.group.lag_seconds"
            | "kafka.group.lag" => {
                for g in &k.groups {
                    let value = match metric {
                        "kafka.group.status" => g.status as u8 as f64,
                        "kafka.group.warning" => {
                            flag(matches!(g.status, LagStatus::Warn | LagStatus::Rewind))
                        }
                        "kafka.group.lag" => g.total_lag as f64,
                        _ => match g.lag_seconds {
                            Some(v) => v,
                            None => continue,
                        },
                    };
                    out.push(Point::new(
                        g.name.clone(),
                        format!("group {}", g.name),
                        value,
                        g.reason.clone(),
                        Cause::new("Groups", &g.name),
                    ));
                }
            }
            "kafka.topic.under_replicated"
            | "kafka.topic.offline"
            | "kafka.topic.under_min_isr" => {
                for t in &k.topics {
                    let v = match metric {
                        "kafka.topic.offline" => t.offline,
                        "kafka.topic.under_min_isr" => t.under_min_isr,
                        _ => t.under_replicated,
                    };
                    out.push(Point::new(
                        t.name.clone(),
                        format!("topic {}", t.name),
                        v as f64,
                        "",
                        Cause::new("Topics", &t.name),
                    ));
                }
            }
            _ => {}
        }
        out
    }

    fn plan(s: &KafkaSample, at: &At, action: Action, input: Option<&str>) -> Planning<KafkaOp> {
        let key = at.key();
        if let Some(input) = input {
            return s
                .command_with_input(at.table, key, action, input)
                .map(ready);
        }
        // Refused before asking: a reset of a group with members could never run.
        if at.table == TABLE_GROUPS
            && action == Action::ResetOffsetsTo
            && let Some(g) = s.groups.iter().find(|g| g.name == key)
            && !g.members.is_empty()
        {
            return Some(Err(format!(
                "group {key} has {} active members: stop its consumers first",
                g.members.len()
            )));
        }
        if let Some(q) = s.prompt(at.table, key, action) {
            return Some(Ok(Plan::Ask(q)));
        }
        if key.is_empty() {
            return None;
        }
        s.command(at.table, key, at.marked, action).map(ready)
    }

    fn describe(op: &KafkaOp) -> String {
        op.describe()
    }
    async fn execute(op: &KafkaOp, spec: &KafkaSpec, _ctx: &dyn Entries) -> Result<String, String> {
        op.execute(spec).await
    }
}
