//! Guarded Kafka operations: each says exactly what it will do (`describe`) and is verified
//! against the cluster where Kafka can check first (`validate_only` for topic creation, a
//! dry-run table for offset resets).

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, TopicReplication};
use serde::Serialize;

use super::KafkaSpec;
use super::admin::{Admin, LogContext};
use super::client_config;

/// Where a group's offsets go.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetTo {
    Earliest,
    Latest,
    Offset(i64),
    /// First offset at or after this unix time in milliseconds.
    Timestamp(i64),
    ShiftBy(i64),
}

/// Guarded Kafka operations.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum KafkaOp {
    DeleteTopic {
        topic: String,
    },
    CreateTopic {
        topic: String,
        partitions: i32,
        replication_factor: i32,
        configs: Vec<(String, String)>,
    },
    AddPartitions {
        topic: String,
        total: usize,
    },
    /// Set these configs on the topic; other configs stay as they are.
    AlterTopicConfigs {
        topic: String,
        configs: Vec<(String, String)>,
    },
    DeleteGroup {
        group: String,
    },
    /// Reset `group`'s offsets (of `topic`, or of every topic it committed to).
    ResetOffsets {
        group: String,
        topic: Option<String>,
        to: ResetTo,
        dry_run: bool,
    },
    /// Move leadership of every partition of `topic` (None: of the cluster) back to its
    /// preferred replica (the first of its replica list), where that replica is in the ISR.
    ElectPreferredLeaders {
        topic: Option<String>,
    },
    /// Move replicas as the rebalance plan says (each partition only if its replicas are
    /// still `current`), throttled to `throttle` bytes/s per broker, followed to the end.
    Rebalance {
        targets: Vec<super::balance::plan::Target>,
        moves: usize,
        /// Bytes the moves copy, where known.
        bytes: i64,
        throttle: u64,
        /// The plan as `kafka-reassign-partitions` JSON.
        file: String,
    },
    /// Cancel the reassignments of these partitions (AlterPartitionReassignments with null
    /// replicas) and remove the replication throttle.
    CancelReassignments {
        partitions: Vec<(String, i32)>,
    },
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl KafkaOp {
    pub fn describe(&self) -> String {
        match self {
            KafkaOp::DeleteTopic { topic } => format!("delete topic {topic} and all its data"),
            KafkaOp::CreateTopic {
                topic,
                partitions,
                replication_factor,
                configs,
            } => format!(
                "create topic {topic} with {partitions} partitions, replication factor {replication_factor}{}",
                if configs.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", configs {}",
                        configs
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                }
            ),
            KafkaOp::AddPartitions { topic, total } => {
                format!("grow topic {topic} to {total} partitions")
            }
            KafkaOp::DeleteGroup { group } => {
                format!("delete consumer group {group} and its committed offsets")
            }
            KafkaOp::AlterTopicConfigs { topic, configs } => format!(
                "set {} on topic {topic}",
                configs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            KafkaOp::ResetOffsets {
                group,
                topic,
                to,
                dry_run,
            } => format!(
                "{}reset offsets of group {group} on {} to {}",
                if *dry_run { "preview: " } else { "" },
                topic.as_deref().unwrap_or("all its topics"),
                match to {
                    ResetTo::Earliest => "earliest".to_string(),
                    ResetTo::Latest => "latest".to_string(),
                    ResetTo::Offset(o) => format!("offset {o}"),
                    ResetTo::Timestamp(t) => format!("timestamp {t} ms"),
                    ResetTo::ShiftBy(n) => format!("current {n:+}"),
                }
            ),
            KafkaOp::ElectPreferredLeaders { topic: Some(t) } => {
                format!("elect the preferred leader of every partition of {t}")
            }
            KafkaOp::ElectPreferredLeaders { topic: None } => {
                "elect the preferred leader of every partition in the cluster".to_string()
            }
            KafkaOp::Rebalance {
                targets,
                moves,
                bytes,
                throttle,
                file,
            } => format!(
                "reassign {moves} replica(s) of {} partition(s) ({}) throttled to {}/s per broker, then follow it; plan {file}",
                targets.len(),
                crate::views::fmt::bytes((*bytes).max(0) as u64),
                crate::views::fmt::bytes(*throttle)
            ),
            KafkaOp::CancelReassignments { partitions } => format!(
                "cancel the reassignment of {} partition(s) ({}) and remove the throttle",
                partitions.len(),
                partitions
                    .iter()
                    .take(4)
                    .map(|(t, p)| format!("{t}[{p}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
                    + if partitions.len() > 4 { ", …" } else { "" }
            ),
        }
    }

    pub async fn execute(&self, spec: &KafkaSpec) -> Result<String, String> {
        let cfg = client_config(spec).await?;
        match self {
            KafkaOp::DeleteTopic { topic } => {
                let admin = admin_client(&cfg)?;
                let res = admin
                    .delete_topics(&[topic.as_str()], &opts())
                    .await
                    .map_err(|e| e.to_string())?;
                each_ok(res, |t, e| format!("{t}: {e}"))?;
                Ok(format!("topic {topic} deleted"))
            }
            KafkaOp::CreateTopic {
                topic,
                partitions,
                replication_factor,
                configs,
            } => {
                let admin = admin_client(&cfg)?;
                let nt = new_topic(topic, *partitions, *replication_factor, configs);
                // Kafka validates first (name, counts, configs) so a refusal changes nothing.
                for (validate, what) in [(true, "validation"), (false, "creation")] {
                    let res = admin
                        .create_topics([&nt], &opts().validate_only(validate))
                        .await
                        .map_err(|e| e.to_string())?;
                    each_ok(res, |t, e| format!("{what} of topic {t} refused: {e}"))?;
                }
                Ok(format!("topic {topic} created"))
            }
            KafkaOp::AddPartitions { topic, total } => {
                let current = blocking(cfg.clone(), {
                    let topic = topic.clone();
                    move |a| {
                        let md = a.metadata()?;
                        md.topics()
                            .iter()
                            .find(|t| t.name() == topic && t.error().is_none())
                            .map(|t| t.partitions().len())
                            .ok_or_else(|| format!("topic {topic} does not exist"))
                    }
                })
                .await?;
                if *total < current {
                    return Err(format!(
                        "topic {topic} has {current} partitions: Kafka cannot remove partitions \
                         (keys would map to other partitions); create a new topic instead"
                    ));
                }
                if *total == current {
                    return Ok(format!("topic {topic} already has {total} partitions"));
                }
                let admin = admin_client(&cfg)?;
                let res = admin
                    .create_partitions([&NewPartitions::new(topic, *total)], &opts())
                    .await
                    .map_err(|e| e.to_string())?;
                each_ok(res, |t, e| format!("{t}: {e}"))?;
                Ok(format!(
                    "topic {topic} grown from {current} to {total} partitions"
                ))
            }
            KafkaOp::DeleteGroup { group } => {
                let admin = admin_client(&cfg)?;
                let res = admin
                    .delete_groups(&[group.as_str()], &opts())
                    .await
                    .map_err(|e| e.to_string())?;
                each_ok(res, |g, e| format!("group {g}: {e}"))?;
                Ok(format!("group {group} deleted"))
            }
            KafkaOp::AlterTopicConfigs { topic, configs } => {
                let (topic, configs) = (topic.clone(), configs.clone());
                blocking(cfg, move |a| {
                    // Validated by the broker first, so a bad value changes nothing.
                    a.set_topic_configs(&topic, &configs, true)
                        .map_err(|e| format!("validation refused: {e}"))?;
                    a.set_topic_configs(&topic, &configs, false)?;
                    Ok(format!("topic {topic} configs updated"))
                })
                .await
            }
            KafkaOp::ResetOffsets {
                group,
                topic,
                to,
                dry_run,
            } => {
                let (group, topic, to, dry_run) =
                    (group.clone(), topic.clone(), to.clone(), *dry_run);
                blocking(cfg, move |a| {
                    reset(a, &group, topic.as_deref(), &to, dry_run)
                })
                .await
            }
            KafkaOp::ElectPreferredLeaders { topic } => {
                let topic = topic.clone();
                blocking(cfg, move |a| elect(a, topic.as_deref())).await
            }
            KafkaOp::Rebalance {
                targets,
                throttle,
                file,
                ..
            } => super::balance::reassign::rebalance(spec, targets, *throttle, file).await,
            KafkaOp::CancelReassignments { partitions } => {
                super::balance::reassign::cancel(spec, partitions).await
            }
        }
    }

    /// Asks the broker to validate a create or a config change without making it (for
    /// `opsdeck topics plan`); other operations need no validation and return Ok.
    pub async fn validate(&self, spec: &KafkaSpec) -> Result<(), String> {
        let cfg = client_config(spec).await?;
        match self {
            KafkaOp::CreateTopic {
                topic,
                partitions,
                replication_factor,
                configs,
            } => {
                let admin = admin_client(&cfg)?;
                let nt = new_topic(topic, *partitions, *replication_factor, configs);
                let res = admin
                    .create_topics([&nt], &opts().validate_only(true))
                    .await
                    .map_err(|e| e.to_string())?;
                each_ok(res, |_, e| e.to_string())?;
                Ok(())
            }
            KafkaOp::AlterTopicConfigs { topic, configs } => {
                let (topic, configs) = (topic.clone(), configs.clone());
                blocking(cfg, move |a| a.set_topic_configs(&topic, &configs, true)).await
            }
            _ => Ok(()),
        }
    }
}

fn new_topic<'a>(
    topic: &'a str,
    partitions: i32,
    replication_factor: i32,
    configs: &'a [(String, String)],
) -> NewTopic<'a> {
    let mut nt = NewTopic::new(
        topic,
        partitions,
        TopicReplication::Fixed(replication_factor),
    );
    for (k, v) in configs {
        nt = nt.set(k, v);
    }
    nt
}

/// Fails with the first per-object error of an admin call's results.
fn each_ok<T, E>(
    res: Vec<Result<T, (T, E)>>,
    msg: impl Fn(&T, &E) -> String,
) -> Result<(), String> {
    for r in res {
        r.map_err(|(t, e)| msg(&t, &e))?;
    }
    Ok(())
}

/// rdkafka's async admin client, its librdkafka logs routed to `tracing`.
fn admin_client(cfg: &rdkafka::ClientConfig) -> Result<AdminClient<LogContext>, String> {
    cfg.create_with_context(LogContext)
        .map_err(|e| e.to_string())
}

fn opts() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(TIMEOUT))
}

async fn blocking<T: Send + 'static>(
    cfg: rdkafka::ClientConfig,
    f: impl FnOnce(&Admin) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(move || f(&Admin::new(&cfg, TIMEOUT)?))
        .await
        .map_err(|e| e.to_string())?
}

/// Preferred leader election of `topic`'s partitions (None: every topic's, internal ones
/// included), listed from metadata so the summary also counts the partitions already led
/// by their preferred replica. Err (with the same summary) when any partition failed.
pub fn elect(a: &Admin, topic: Option<&str>) -> Result<String, String> {
    let md = a.metadata()?;
    let mut parts: Vec<(String, i32)> = md
        .topics()
        .iter()
        .filter(|t| topic.is_none_or(|x| t.name() == x))
        .flat_map(|t| {
            t.partitions()
                .iter()
                .map(|p| (t.name().to_string(), p.id()))
        })
        .collect();
    if parts.is_empty() {
        return Err(match topic {
            Some(t) => format!("topic {t} does not exist"),
            None => "the cluster has no partitions".to_string(),
        });
    }
    parts.sort();
    let results = a.elect_leaders(Some(&parts))?;
    let summary = summarize(&results);
    // A partial failure is a failure: the operator must see which partitions are left.
    if results.iter().any(|r| r.2.is_err()) {
        Err(summary)
    } else {
        Ok(summary)
    }
}

/// "N elected, M already preferred, K failed: t[p] reason; …".
pub fn summarize(results: &[super::admin::ElectResult]) -> String {
    let elected = results.iter().filter(|r| r.2 == Ok(true)).count();
    let already = results.iter().filter(|r| r.2 == Ok(false)).count();
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(t, p, r)| r.as_ref().err().map(|e| format!("{t}[{p}]: {e}")))
        .collect();
    let mut s = format!(
        "{elected} elected, {already} already preferred, {} failed",
        failed.len()
    );
    if !failed.is_empty() {
        s.push_str(": ");
        s.push_str(&failed.join("; "));
    }
    s
}

/// One row of a reset plan: topic, partition, old committed offset, new offset.
pub type PlanRow = (String, i32, Option<i64>, i64);

/// Computes the new offsets (clamped to the partitions' [low, high]) and, unless `dry_run`,
/// commits them. Refused while the group has members (they would overwrite it).
pub fn reset(
    a: &Admin,
    group: &str,
    topic: Option<&str>,
    to: &ResetTo,
    dry_run: bool,
) -> Result<String, String> {
    let desc = a.describe_groups(&[group.to_string()])?;
    if let Some(d) = desc.first()
        && !d.members.is_empty()
    {
        return Err(format!(
            "group {group} has {} active members ({}): stop its consumers before resetting",
            d.members.len(),
            d.state
        ));
    }
    let plan = plan_reset(a, group, topic, to)?;
    if plan.is_empty() {
        return Err(format!(
            "group {group} has no committed offsets{} to reset",
            topic.map(|t| format!(" on {t}")).unwrap_or_default()
        ));
    }
    let table = plan
        .iter()
        .map(|(t, p, old, new)| {
            format!(
                "{t}[{p}] {} -> {new}",
                old.map(|o| o.to_string()).unwrap_or_else(|| "-".into())
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    if dry_run {
        return Ok(format!("dry run, nothing changed:\n{table}"));
    }
    let offsets: Vec<_> = plan
        .iter()
        .map(|(t, p, _, n)| (t.clone(), *p, *n))
        .collect();
    a.alter_group_offsets(group, &offsets)?;
    Ok(format!("offsets of group {group} reset:\n{table}"))
}

pub fn plan_reset(
    a: &Admin,
    group: &str,
    topic: Option<&str>,
    to: &ResetTo,
) -> Result<Vec<PlanRow>, String> {
    let committed = a
        .group_offsets(&[group.to_string()])?
        .remove(group)
        .unwrap_or_else(|| Ok(Default::default()))?;
    let md = a.metadata()?;
    let mut parts: Vec<(String, i32)> = Vec::new();
    for t in md.topics() {
        let wanted = match topic {
            Some(x) => t.name() == x,
            None => committed.keys().any(|(ct, _)| ct == t.name()),
        };
        if wanted {
            parts.extend(
                t.partitions()
                    .iter()
                    .map(|p| (t.name().to_string(), p.id())),
            );
        }
    }
    if let Some(x) = topic
        && parts.is_empty()
    {
        return Err(format!("topic {x} does not exist"));
    }
    parts.sort();
    let wm = a.watermarks(&parts)?;
    let at = match to {
        ResetTo::Timestamp(ts) => Some(a.offsets_at(&parts, *ts)?),
        _ => None,
    };
    Ok(parts
        .into_iter()
        .filter_map(|k| {
            let &(low, high) = wm.get(&k)?;
            let old = committed.get(&k.0, k.1);
            let new = match to {
                ResetTo::Earliest => low,
                ResetTo::Latest => high,
                ResetTo::Offset(o) => *o,
                ResetTo::ShiftBy(n) => old.unwrap_or(high) + n,
                // No message at or after the time: the end of the partition.
                ResetTo::Timestamp(_) => at
                    .as_ref()
                    .and_then(|m| m.get(&k).copied())
                    .filter(|o| *o >= 0)
                    .unwrap_or(high),
            }
            .clamp(low, high);
            Some((k.0, k.1, old, new))
        })
        .collect())
}
