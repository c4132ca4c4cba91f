//! Applying a rebalance plan and cancelling reassignments, on the wire path's connections.
//!
//! A rebalance: the partitions' replicas are checked again against those the plan was made
//! from (and the cluster must still be healthy with nothing reassigning), the plan file is
//! written, the replication throttle set (`leader/follower.replication.throttled.rate` on
//! the brokers involved, the moving replicas listed in the topics'
//! `*.replication.throttled.replicas`), `AlterPartitionReassignments` applied, then followed
//! with `ListPartitionReassignments` until none of its partitions moves any more; the
//! throttle is removed whatever happened after it was set.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use super::super::wire::{self, BROKER, Batch, ConfigChange, TOPIC};
use super::super::{KafkaSpec, admin::Admin, client_config};
use super::plan::{Target, reassignment_json};

const TIMEOUT: Duration = Duration::from_secs(10);
/// How often a running reassignment is asked about.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);
/// Consecutive failed listings after which following gives up (the throttle is removed).
const FOLLOW_ERRORS: usize = 30;

const RATE_KEYS: [&str; 2] = [
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
];
const LEADER_REPLICAS: &str = "leader.replication.throttled.replicas";
const FOLLOWER_REPLICAS: &str = "follower.replication.throttled.replicas";

/// A partition as metadata shows it: (leader, replicas, isr).
type PartState = (i32, Vec<i32>, Vec<i32>);

/// The cluster as metadata shows it now.
struct Now {
    brokers: Vec<(i32, String, i32)>,
    /// (topic, partition) → (leader, replicas, isr).
    parts: HashMap<(String, i32), PartState>,
}

async fn now(spec: &KafkaSpec) -> Result<Now, String> {
    let cfg = client_config(spec).await?;
    tokio::task::spawn_blocking(move || {
        let md = Admin::new(&cfg, TIMEOUT)?.metadata()?;
        Ok(Now {
            brokers: md
                .brokers()
                .iter()
                .map(|b| (b.id(), b.host().to_string(), b.port()))
                .collect(),
            parts: md
                .topics()
                .iter()
                .filter(|t| t.error().is_none())
                .flat_map(|t| {
                    t.partitions().iter().map(move |p| {
                        (
                            (t.name().to_string(), p.id()),
                            (p.leader(), p.replicas().to_vec(), p.isr().to_vec()),
                        )
                    })
                })
                .collect(),
        })
    })
    .await
    .map_err(|e| e.to_string())?
}

async fn batch(spec: &KafkaSpec, brokers: &[(i32, String, i32)]) -> Result<(Batch, i32), String> {
    let cfg = client_config(spec).await?;
    let mut b = Batch::new(&wire::properties(&cfg), TIMEOUT)
        .map_err(|u| format!("reassignments need opsdeck's own Kafka connection: {}", u.0))?;
    b.use_brokers(brokers);
    let node = brokers
        .iter()
        .map(|x| x.0)
        .min()
        .ok_or("no broker in the metadata")?;
    Ok((b, node))
}

fn tp(t: &str, p: i32) -> String {
    format!("{t}[{p}]")
}

/// Refused unless every partition still has the replicas the plan was made from, the
/// cluster has no offline or under-replicated partition, and every target broker is up.
fn recheck(now: &Now, targets: &[Target]) -> Result<(), String> {
    let live: BTreeSet<i32> = now.brokers.iter().map(|b| b.0).collect();
    for t in targets {
        let Some((_, replicas, _)) = now.parts.get(&(t.topic.clone(), t.partition)) else {
            return Err(format!(
                "{} no longer exists: nothing was changed; look at the Balance tab again",
                tp(&t.topic, t.partition)
            ));
        };
        if *replicas != t.current {
            return Err(format!(
                "{} now has replicas {:?}, not {:?} as previewed: nothing was changed; look at the Balance tab again",
                tp(&t.topic, t.partition),
                replicas,
                t.current
            ));
        }
        if let Some(b) = t.target.iter().find(|b| !live.contains(b)) {
            return Err(format!("broker {b} is not up: nothing was changed"));
        }
    }
    let mut sick: Vec<String> = now
        .parts
        .iter()
        .filter(|(_, (leader, replicas, isr))| *leader < 0 || isr.len() < replicas.len())
        .map(|((t, p), _)| tp(t, *p))
        .collect();
    if !sick.is_empty() {
        sick.sort();
        return Err(format!(
            "{} partition(s) offline or under-replicated ({}): nothing was changed",
            sick.len(),
            sick.into_iter().take(5).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(())
}

/// The throttled-replicas lists per topic: leaders = the current replicas, followers = the
/// new ones (as `kafka-reassign-partitions` sets them).
fn throttled_replicas(targets: &[Target]) -> BTreeMap<&str, (Vec<String>, Vec<String>)> {
    let mut m: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for t in targets {
        let e = m.entry(t.topic.as_str()).or_default();
        e.0.extend(t.current.iter().map(|b| format!("{}:{b}", t.partition)));
        e.1.extend(
            t.target
                .iter()
                .filter(|b| !t.current.contains(b))
                .map(|b| format!("{}:{b}", t.partition)),
        );
    }
    m
}

async fn set_throttle(
    b: &mut Batch,
    node: i32,
    brokers: &BTreeSet<i32>,
    targets: &[Target],
    rate: u64,
) -> Result<(), String> {
    for id in brokers {
        let set: Vec<ConfigChange> = RATE_KEYS
            .iter()
            .map(|k| ConfigChange::Set(k.to_string(), rate.to_string()))
            .collect();
        b.alter_configs(*id, BROKER, &id.to_string(), &set)
            .await
            .map_err(|e| format!("throttle on broker {id}: {e}"))?;
    }
    for (topic, (leaders, followers)) in throttled_replicas(targets) {
        let mut set = vec![ConfigChange::Set(LEADER_REPLICAS.into(), leaders.join(","))];
        if !followers.is_empty() {
            set.push(ConfigChange::Set(
                FOLLOWER_REPLICAS.into(),
                followers.join(","),
            ));
        }
        b.alter_configs(node, TOPIC, topic, &set)
            .await
            .map_err(|e| format!("throttled replicas of topic {topic}: {e}"))?;
    }
    Ok(())
}

/// Removes the throttle from `brokers` and `topics`; what could not be removed, in words.
async fn clear_throttle(
    b: &mut Batch,
    node: i32,
    brokers: &BTreeSet<i32>,
    topics: &BTreeSet<String>,
) -> Vec<String> {
    let mut left = Vec::new();
    for id in brokers {
        let del: Vec<ConfigChange> = RATE_KEYS
            .iter()
            .map(|k| ConfigChange::Delete(k.to_string()))
            .collect();
        if let Err(e) = b.alter_configs(*id, BROKER, &id.to_string(), &del).await {
            left.push(format!("broker {id}: {e}"));
        }
    }
    for t in topics {
        let del = vec![
            ConfigChange::Delete(LEADER_REPLICAS.into()),
            ConfigChange::Delete(FOLLOWER_REPLICAS.into()),
        ];
        if let Err(e) = b.alter_configs(node, TOPIC, t, &del).await {
            left.push(format!("topic {t}: {e}"));
        }
    }
    left
}

fn throttle_note(left: &[String]) -> String {
    if left.is_empty() {
        "throttle removed".into()
    } else {
        format!(
            "throttle NOT removed ({}): remove the *.replication.throttled.* configs by hand",
            left.join("; ")
        )
    }
}

/// Applies `targets` (made from the replicas in `current`), throttled to `rate` bytes/s per
/// broker, and follows it to the end. The plan is written to `file` first.
pub async fn rebalance(
    spec: &KafkaSpec,
    targets: &[Target],
    rate: u64,
    file: &str,
) -> Result<String, String> {
    let cluster = now(spec).await?;
    recheck(&cluster, targets)?;
    let (mut b, node) = batch(spec, &cluster.brokers).await?;
    let ongoing = b
        .reassignments(node)
        .await
        .map_err(|e| format!("cannot tell whether a reassignment is in progress: {e}"))?;
    if !ongoing.is_empty() {
        return Err(format!(
            "a reassignment is in progress ({} partition(s)): nothing was changed",
            ongoing.len()
        ));
    }
    write_plan(file, targets)?;
    let brokers: BTreeSet<i32> = targets
        .iter()
        .flat_map(|t| t.current.iter().chain(&t.target).copied())
        .collect();
    let topics: BTreeSet<String> = targets.iter().map(|t| t.topic.clone()).collect();
    if let Err(e) = set_throttle(&mut b, node, &brokers, targets, rate).await {
        let left = clear_throttle(&mut b, node, &brokers, &topics).await;
        return Err(format!(
            "{e}: nothing was reassigned; {}",
            throttle_note(&left)
        ));
    }
    let wanted: Vec<(String, i32, Option<Vec<i32>>)> = targets
        .iter()
        .map(|t| (t.topic.clone(), t.partition, Some(t.target.clone())))
        .collect();
    let answers = match b.alter_reassignments(node, &wanted).await {
        Ok(a) => a,
        Err(e) => {
            let left = clear_throttle(&mut b, node, &brokers, &topics).await;
            return Err(format!(
                "AlterPartitionReassignments: {e}; {}",
                throttle_note(&left)
            ));
        }
    };
    let refused: Vec<String> = answers
        .iter()
        .filter_map(|(t, p, r)| r.as_ref().err().map(|e| format!("{}: {e}", tp(t, *p))))
        .collect();
    let started: BTreeSet<(String, i32)> = answers
        .iter()
        .filter(|(_, _, r)| r.is_ok())
        .map(|(t, p, _)| (t.clone(), *p))
        .collect();
    let follow = follow(&mut b, node, &started).await;
    let left = clear_throttle(&mut b, node, &brokers, &topics).await;
    let after = now(spec).await.ok();
    let moved = targets
        .iter()
        .filter(|t| {
            after
                .as_ref()
                .and_then(|n| n.parts.get(&(t.topic.clone(), t.partition)))
                .is_some_and(|(_, rs, _)| {
                    rs.iter().collect::<BTreeSet<_>>() == t.target.iter().collect::<BTreeSet<_>>()
                })
        })
        .count();
    let mut msg = format!(
        "{moved} of {} partition(s) on their new replicas; {}",
        targets.len(),
        throttle_note(&left)
    );
    if !refused.is_empty() {
        msg.push_str(&format!("; refused: {}", refused.join("; ")));
    }
    if let Err(e) = follow {
        msg.push_str(&format!("; {e}"));
    }
    if moved == targets.len() && left.is_empty() {
        Ok(format!("rebalanced: {msg}; plan {file}"))
    } else if moved < targets.len() && refused.is_empty() {
        Err(format!(
            "reassignment cancelled or undone before it finished: {msg}"
        ))
    } else {
        Err(msg)
    }
}

/// Waits until none of `ours` is reassigning; Err when the listing kept failing.
async fn follow(b: &mut Batch, node: i32, ours: &BTreeSet<(String, i32)>) -> Result<(), String> {
    let mut errors = 0;
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        match b.reassignments(node).await {
            Ok(list) => {
                errors = 0;
                if !list
                    .iter()
                    .any(|o| ours.contains(&(o.topic.clone(), o.partition)))
                {
                    return Ok(());
                }
            }
            Err(e) => {
                errors += 1;
                tracing::warn!(error = %e, "following a reassignment");
                if errors >= FOLLOW_ERRORS {
                    return Err(format!(
                        "stopped following it after {errors} failed listings ({e}): it may still run"
                    ));
                }
            }
        }
    }
}

/// Cancels the reassignments of `partitions` still in progress and removes the throttle.
pub async fn cancel(spec: &KafkaSpec, partitions: &[(String, i32)]) -> Result<String, String> {
    let cluster = now(spec).await?;
    let (mut b, node) = batch(spec, &cluster.brokers).await?;
    let ongoing = b
        .reassignments(node)
        .await
        .map_err(|e| format!("ListPartitionReassignments: {e}"))?;
    let wanted: BTreeSet<&(String, i32)> = partitions.iter().collect();
    let ours: Vec<(String, i32, Option<Vec<i32>>)> = ongoing
        .iter()
        .filter(|o| wanted.contains(&(o.topic.clone(), o.partition)))
        .map(|o| (o.topic.clone(), o.partition, None))
        .collect();
    if ours.is_empty() {
        return Ok(
            "no reassignment of those partitions is in progress any more: nothing to cancel".into(),
        );
    }
    let answers = b
        .alter_reassignments(node, &ours)
        .await
        .map_err(|e| format!("AlterPartitionReassignments (cancel): {e}"))?;
    let failed: Vec<String> = answers
        .iter()
        .filter_map(|(t, p, r)| r.as_ref().err().map(|e| format!("{}: {e}", tp(t, *p))))
        .collect();
    let brokers: BTreeSet<i32> = cluster.brokers.iter().map(|x| x.0).collect();
    let topics: BTreeSet<String> = ours.iter().map(|o| o.0.clone()).collect();
    let left = clear_throttle(&mut b, node, &brokers, &topics).await;
    let msg = format!(
        "{} of {} reassignment(s) cancelled (their partitions keep their old replicas); {}",
        answers.len() - failed.len(),
        ours.len(),
        throttle_note(&left)
    );
    if failed.is_empty() {
        Ok(msg)
    } else {
        Err(format!("{msg}; not cancelled: {}", failed.join("; ")))
    }
}

/// Writes the plan as `kafka-reassign-partitions` reads it (creating the directory).
pub fn write_plan(file: &str, targets: &[Target]) -> Result<(), String> {
    let path = std::path::Path::new(file);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, reassignment_json(targets) + "\n")
        .map_err(|e| format!("cannot write the plan to {file}: {e}"))
}
