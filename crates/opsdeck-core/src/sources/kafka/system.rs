//! Kafka as a monitored system: its metrics and built-in rules, its verbs, and the glue
//! from the `System` contract to the poller, the pane model and the operations.

use chrono::{DateTime, Utc};

use super::{
    KafkaOp, KafkaPoller, KafkaSample, KafkaSpec, LagStatus, Policy, TABLE_BALANCE, TABLE_GROUPS,
};
use crate::keymap::Action;
use crate::metrics::Severity::{Critical, Warning};
use crate::metrics::{Builtin, Cause, Cmp, Metric, Point, Unit, flag};
use crate::secrets::{SecretSpec, redact_urls};
use crate::series::{Family, Limits, Series};
use crate::sources::system::FleetFigure;
use crate::sources::system::row_text;
use crate::sources::system::{At, Entries, Plan, Planned, Planning, Problem, System, ready};
use crate::timeline::TimelineEvent;
use crate::views::{Detail, Pane, PaneModel, fmt};

pub struct Kafka;

const METRICS: &[Metric] = &[
    Metric::new(
        "kafka.group.status",
        Unit::LagStatus,
        "consumer group status per group: 0 OK, 1 WARN, 2 REWIND, 3 STALL, 4 STOP (groups judging… or ABANDONED are not measured by any kafka.group metric)",
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
        "kafka.group.stable_lag",
        Unit::Count,
        "total messages behind the last stable offsets per consumer group (records of open transactions not counted)",
    ),
    Metric::new(
        "kafka.group.lost_records",
        Unit::Count,
        "records deleted by retention before the consumer group read them (committed below the log start)",
    ),
    Metric::new(
        "kafka.group.ahead_partitions",
        Unit::Count,
        "partitions whose committed offset is above the high watermark per consumer group (the log was truncated or recreated)",
    ),
    Metric::new(
        "kafka.group.uncommitted_partitions",
        Unit::Count,
        "partitions assigned to a member but never committed for longer than stall_after while records arrived, per consumer group",
    ),
    Metric::new(
        "kafka.group.stale_seconds",
        Unit::Seconds,
        "age of the verdict shown per consumer group when polls cannot read it (0 when read)",
    ),
    Metric::new(
        "kafka.group.idle_seconds",
        Unit::Seconds,
        "seconds since the committed offset of the group's longest-idle lagging partition moved",
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
    Metric::new(
        "kafka.log_dir_full_seconds",
        Unit::Seconds,
        "seconds until a broker's log directory fills its filesystem at the recent rate (growing log dirs whose free space the broker reports)",
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
        "kafka_records_lost",
        "kafka.group.lost_records",
        Cmp::Gt,
        0.0,
        0,
        Critical,
        "records deleted before the group read them",
        "Records were deleted by retention before the group read them: find why it fell behind, then decide whether to reset its offsets (Kafka pane, Groups).",
    ),
    Builtin::new(
        "kafka_offsets_ahead_of_log",
        "kafka.group.ahead_partitions",
        Cmp::Gt,
        0.0,
        0,
        Critical,
        "committed offsets above the log end",
        "The log was truncated or recreated under the group (unclean leader election, topic deleted and created again): check what happened to the topic, then reset the group's offsets.",
    ),
    Builtin::new(
        "kafka_never_committed",
        "kafka.group.uncommitted_partitions",
        Cmp::Gt,
        0.0,
        0,
        Warning,
        "assigned partitions never committed",
        "Members hold partitions that receive records but never commit them: check the consumers' commit settings and logs (a crash loop before the first commit, enable.auto.commit off).",
    ),
    Builtin::new(
        "kafka_group_unreadable",
        "kafka.group.stale_seconds",
        Cmp::Gt,
        120.0,
        0,
        Warning,
        "group unreadable",
        "opsdeck cannot read the group (its coordinator or a partition leader does not answer): its verdict shown is old. Check the brokers' health.",
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
    Builtin::new(
        "kafka_log_dir_full_soon",
        "kafka.log_dir_full_seconds",
        Cmp::Lt,
        crate::capacity::SOON_SECS,
        600,
        Warning,
        "log dir full in",
        "At its recent growth the broker's log directory fills its disk within a day: then the broker stops. Shorten retention of the biggest topics (Balance tab: bytes per broker), add disk, or move replicas to emptier brokers (rebalance).",
    ),
];

impl System for Kafka {
    const LABEL: &'static str = "kafka";
    const PANE: Pane = Pane::Kafka;
    const METRICS: &'static [Metric] = METRICS;
    const BUILTINS: &'static [Builtin] = BUILTINS;
    const FLEET: &'static [FleetFigure] = &[FleetFigure::NotOk {
        metric: "kafka.group.status",
        noun: "groups",
    }];
    const FLEET_NONE: &'static str = "no group judged yet";
    const VERBS: &'static [Action] = &[
        Action::DeleteTopic,
        Action::ResetOffsets,
        Action::ResetOffsetsEarliest,
        Action::ResetOffsetsTo,
        Action::AddPartitions,
        Action::ElectLeaders,
        Action::CreateTopic,
        Action::Rebalance,
        Action::CancelReassignment,
    ];
    const SERIES: &'static [Family] = super::series::SERIES;

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
        if let Some(r) = &spec.reassignment_throttle
            && let Err(e) = super::balance::parse_rate(r)
        {
            out.push(Problem::new(
                r,
                format!("kafka {}: reassignment_throttle: {e}", spec.name),
                "reassignment_throttle = \"50MiB\"",
            ));
        }
        if let Err(problems) = Policy::from_spec(spec) {
            for (msg, hint) in problems {
                out.push(Problem::new(
                    &spec.name,
                    format!("kafka {}: {msg}", spec.name),
                    hint,
                ));
            }
        }
        out
    }
    fn poller(spec: KafkaSpec, ctx: &dyn Entries) -> KafkaPoller {
        KafkaPoller::new(spec).with_capacity(ctx.capacity())
    }

    fn model(sample: &KafkaSample) -> PaneModel {
        sample.model()
    }
    fn detail(sample: &KafkaSample, table: usize, key: &str) -> Option<Detail> {
        sample.detail(table, key)
    }
    fn events(
        prev: Option<&KafkaSample>,
        next: &KafkaSample,
        now: DateTime<Utc>,
    ) -> Vec<TimelineEvent> {
        super::events::diff(prev, next, now)
    }
    fn copy_text(sample: &KafkaSample, table: usize, key: &str) -> Option<String> {
        super::events::copy_text(sample, table, key)
            .or_else(|| row_text(&sample.model(), table, key))
    }

    fn measure(k: &KafkaSample, metric: &str, _source: &str) -> Vec<Point> {
        let mut out = Vec::new();
        match metric {
            "kafka.group.status"
            | "kafka.group.warning"
            | "kafka.group.lag_seconds"
            | "kafka.group.lag"
            | "kafka.group.stable_lag"
            | "kafka.group.lost_records"
            | "kafka.group.ahead_partitions"
            | "kafka.group.uncommitted_partitions"
            | "kafka.group.stale_seconds"
            | "kafka.group.idle_seconds" => {
                // Judging (watched for less than stall_after) and abandoned groups are shown
                // muted and raise nothing.
                for g in k.groups.iter().filter(|g| !g.judging && !g.abandoned) {
                    let value = match metric {
                        "kafka.group.status" => g.status as u8 as f64,
                        "kafka.group.warning" => {
                            flag(matches!(g.status, LagStatus::Warn | LagStatus::Rewind))
                        }
                        "kafka.group.lag" => g.total_lag as f64,
                        "kafka.group.stable_lag" => g.total_stable_lag as f64,
                        "kafka.group.lost_records" => g.lost_records as f64,
                        "kafka.group.ahead_partitions" => g.ahead_partitions as f64,
                        "kafka.group.uncommitted_partitions" => g.uncommitted_partitions as f64,
                        "kafka.group.stale_seconds" => g.stale_secs.unwrap_or(0.0),
                        "kafka.group.idle_seconds" => match g.idle_secs {
                            Some(v) => v,
                            None => continue,
                        },
                        _ => match g.lag_seconds {
                            Some(v) => v,
                            None => continue,
                        },
                    };
                    let note = match metric {
                        "kafka.group.stale_seconds" => g.error.clone().unwrap_or_default(),
                        _ => g.reason.clone(),
                    };
                    out.push(Point::new(
                        g.name.clone(),
                        format!("group {}", g.name),
                        value,
                        note,
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
            "kafka.log_dir_full_seconds" => {
                out = crate::capacity::points(&k.capacity, "kafka.log_dir");
            }
            _ => {}
        }
        out
    }

    fn subject_label(metric: &str) -> &'static str {
        if metric.starts_with("kafka.topic.") {
            "topic"
        } else if metric.starts_with("kafka.log_dir") {
            "log_dir"
        } else {
            "group"
        }
    }
    fn series(k: &KafkaSample, source: &str, limits: &Limits) -> Vec<Series> {
        let mut out = crate::sources::system::rule_series::<Self>(k, source, limits);
        out.extend(super::series::series(k, source, limits));
        out
    }

    fn plan(s: &KafkaSample, at: &At, action: Action, input: Option<&str>) -> Planning<KafkaOp> {
        Self::plan_bare(s, at, action, input)
            .map(|r| r.map(|p| p.map_ready(|planned| with_impact(s, planned))))
    }

    fn capacity(sample: &KafkaSample) -> &[crate::capacity::Forecast] {
        &sample.capacity
    }
    fn describe(op: &KafkaOp) -> String {
        op.describe()
    }
    /// A rebalance is followed to its end: it runs in the background.
    fn long_running(op: &KafkaOp) -> bool {
        matches!(op, KafkaOp::Rebalance { .. })
    }
    /// An admin request that timed out may still be carried out by the controller.
    fn unknown_after(_op: &KafkaOp, error: &str) -> bool {
        let e = error.to_ascii_lowercase();
        e.contains("timed out") || e.contains("timedout") || e.contains("request_timed_out")
    }
    async fn execute(op: &KafkaOp, spec: &KafkaSpec, _ctx: &dyn Entries) -> Result<String, String> {
        op.execute(spec).await
    }
}

impl Kafka {
    /// What `action` means at `at`, before its impact is stated.
    fn plan_bare(
        s: &KafkaSample,
        at: &At,
        action: Action,
        input: Option<&str>,
    ) -> Planning<KafkaOp> {
        let key = at.key();
        match action {
            Action::Rebalance | Action::CancelReassignment if at.table != TABLE_BALANCE => {
                return None;
            }
            Action::Rebalance => return Some(ready(s.rebalance())),
            Action::CancelReassignment => return Some(ready(s.cancel_reassignments())),
            _ => {}
        }
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
}

/// What a reset or a partition increase will do, from what the sample knows.
fn with_impact(s: &KafkaSample, p: Planned<KafkaOp>) -> Planned<KafkaOp> {
    use super::ResetTo;
    let impact = match &p.op {
        KafkaOp::ResetOffsets { group, to, .. } => {
            let Some(g) = s.groups.iter().find(|g| &g.name == group) else {
                return p;
            };
            let parts = &g.partitions;
            let sum = |f: &dyn Fn(&super::GroupPartition) -> Option<i64>| -> i64 {
                parts.iter().filter_map(|x| f(&x)).map(|v| v.max(0)).sum()
            };
            match to {
                ResetTo::Latest => Some(format!(
                    "skips {} records not yet read: the group will never process them",
                    fmt::thousands(sum(&|x| x.lag))
                )),
                ResetTo::Earliest => Some(format!(
                    "replays up to {} records already read (every record still in the log)",
                    fmt::thousands(sum(&|x| Some(
                        x.high? - x.low.unwrap_or(0) - x.lag.unwrap_or(0)
                    )))
                )),
                ResetTo::Offset(o) => {
                    let outside: Vec<String> = parts
                        .iter()
                        .filter(|x| x.low.is_some_and(|l| *o < l) || x.high.is_some_and(|h| *o > h))
                        .map(|x| {
                            format!(
                                "{}[{}] holds {}..{}",
                                x.topic,
                                x.partition,
                                x.low.unwrap_or(0),
                                x.high.unwrap_or(0)
                            )
                        })
                        .collect();
                    (!outside.is_empty()).then(|| {
                        format!(
                            "offset {o} is outside the log of {} partition(s): {} — Kafka moves them to the nearest end",
                            outside.len(),
                            outside.join(", ")
                        )
                    })
                }
                ResetTo::ShiftBy(n) => {
                    let past: usize = parts
                        .iter()
                        .filter(|x| match (x.committed, x.low, x.high) {
                            (Some(c), Some(l), Some(h)) => c + n < l || c + n > h,
                            _ => false,
                        })
                        .count();
                    Some(format!(
                        "{} each partition by {} records{}",
                        if *n >= 0 {
                            "skips forward"
                        } else {
                            "replays back"
                        },
                        n.abs(),
                        if past > 0 {
                            format!(
                                "; {past} partition(s) would go past their log's end and are clamped"
                            )
                        } else {
                            String::new()
                        }
                    ))
                }
                ResetTo::Timestamp(_) => {
                    Some("partitions with no record at or after that time move to their end".into())
                }
            }
        }
        KafkaOp::AddPartitions { topic, total } => {
            let now = s
                .topics
                .iter()
                .find(|t| &t.name == topic)
                .map(|t| t.partition_count)
                .unwrap_or(0);
            Some(format!(
                "irreversible: Kafka cannot remove partitions. {now} → {total}: keys hash to other partitions from now on, so one key's records may be read out of order across the change"
            ))
        }
        KafkaOp::Rebalance { throttle, .. } => s.balance.plan.as_ref().map(|plan| {
            let moves: Vec<String> = plan
                .moves
                .iter()
                .take(6)
                .map(|m| format!("{}[{}] {}→{}", m.topic, m.partition, m.from, m.to))
                .collect();
            format!(
                "{}; replication throttled to {}/s per broker until it ends; moves {}{}",
                plan.summary(),
                fmt::bytes(*throttle),
                moves.join(", "),
                if plan.moves.len() > 6 { ", …" } else { "" }
            )
        }),
        KafkaOp::CancelReassignments { partitions } => Some(format!(
            "the {} partition(s) go back to their old replicas; data copied so far is dropped",
            partitions.len()
        )),
        KafkaOp::DeleteTopic { topic } => {
            let groups = s
                .groups
                .iter()
                .filter(|g| g.partitions.iter().any(|x| x.topic == *topic))
                .count();
            Some(format!(
                "every record of {topic} is lost; {groups} consumer group(s) read it"
            ))
        }
        _ => None,
    };
    p.with_impact(impact)
}
