//! Partition balance on the batch's connections: `DescribeLogDirs` per broker (bytes per
//! log directory and per replica, KIP-827's total/usable bytes from v4),
//! `ListPartitionReassignments`, `AlterPartitionReassignments` (a target replica list, or
//! null to cancel) and `IncrementalAlterConfigs` (the replication throttle). librdkafka has
//! no reassignment calls, so these go through the same protocol layer as the batched offsets.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, BrokerId, DescribeLogDirsRequest,
    IncrementalAlterConfigsRequest, ListPartitionReassignmentsRequest, TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};
use tokio::time::Instant;

use super::conn::{WireError, pipeline};
use super::{Batch, code_text};

/// One log directory of one broker, as `DescribeLogDirs` reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogDirRead {
    pub path: String,
    /// The directory's error (offline log dir), if any.
    pub error: Option<String>,
    /// Filesystem size and free space (KIP-827, v4 and Kafka 3.3+); None when not reported.
    pub total_bytes: Option<i64>,
    pub usable_bytes: Option<i64>,
    /// (topic, partition) → size of this broker's replica in bytes (future replicas of
    /// intra-broker moves left out).
    pub replicas: BTreeMap<(String, i32), i64>,
}

/// A reassignment in progress, as the controller lists it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ongoing {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

/// A config change of `IncrementalAlterConfigs`: set a value or delete the key.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigChange {
    Set(String, String),
    Delete(String),
}

/// Resource types of `IncrementalAlterConfigs`.
pub const TOPIC: i8 = 2;
pub const BROKER: i8 = 4;

fn broker_ids(v: &[BrokerId]) -> Vec<i32> {
    v.iter().map(|b| b.0).collect()
}

fn topic_name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_string()))
}

impl Batch {
    /// Runs `f` on the connection to broker `node` (kept, or opened), within the batch's
    /// timeout; a kept connection that turns out broken is reopened once.
    pub(super) async fn on_node<R: Request>(
        &mut self,
        node: i32,
        req: &R,
        min_version: i16,
    ) -> Result<R::Response, WireError> {
        let deadline = Instant::now() + self.timeout;
        let conn = self.conns.remove(&node);
        let addr = self.nodes.get(&node).cloned();
        let reqs = std::slice::from_ref(req);
        let (c, mut answers) = pipeline(
            addr,
            conn,
            reqs,
            min_version,
            &self.security,
            &self.sent,
            deadline,
        )
        .await?;
        self.conns.insert(node, c);
        answers
            .pop()
            .ok_or_else(|| WireError::Protocol(format!("broker {node} sent no answer")))
    }

    /// The brokers of this poll's metadata ((id, host, port)), for the calls below.
    pub fn use_brokers(&mut self, brokers: &[(i32, String, i32)]) {
        self.set_brokers(brokers);
    }

    /// Every log directory of broker `node` with the size of each replica it holds.
    pub async fn log_dirs(&mut self, node: i32) -> Result<Vec<LogDirRead>, WireError> {
        // topics = null: every partition.
        let mut req = DescribeLogDirsRequest::default();
        req.topics = None;
        let r = self.on_node(node, &req, 1).await?;
        if r.error_code != 0 {
            return Err(WireError::Protocol(format!(
                "broker {node}: DescribeLogDirs: {}",
                code_text(r.error_code, None)
            )));
        }
        Ok(r.results
            .into_iter()
            .map(|d| LogDirRead {
                path: d.log_dir.to_string(),
                error: (d.error_code != 0).then(|| code_text(d.error_code, None)),
                total_bytes: (d.total_bytes >= 0).then_some(d.total_bytes),
                usable_bytes: (d.usable_bytes >= 0).then_some(d.usable_bytes),
                replicas: d
                    .topics
                    .into_iter()
                    .flat_map(|t| {
                        let name = t.name.to_string();
                        t.partitions
                            .into_iter()
                            .filter(|p| !p.is_future_key)
                            .map(move |p| ((name.clone(), p.partition_index), p.partition_size))
                    })
                    .collect(),
            })
            .collect())
    }

    /// Reassignments in progress (all of the cluster), asked of broker `node` (brokers
    /// forward it to the active controller).
    pub async fn reassignments(&mut self, node: i32) -> Result<Vec<Ongoing>, WireError> {
        let mut req = ListPartitionReassignmentsRequest::default();
        req.timeout_ms = i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX);
        req.topics = None;
        let r = self.on_node(node, &req, 0).await?;
        if r.error_code != 0 {
            return Err(WireError::Protocol(format!(
                "ListPartitionReassignments: {}",
                code_text(r.error_code, r.error_message.as_ref())
            )));
        }
        let mut out: Vec<Ongoing> = r
            .topics
            .into_iter()
            .flat_map(|t| {
                let name = t.name.to_string();
                t.partitions.into_iter().map(move |p| Ongoing {
                    topic: name.clone(),
                    partition: p.partition_index,
                    replicas: broker_ids(&p.replicas),
                    adding: broker_ids(&p.adding_replicas),
                    removing: broker_ids(&p.removing_replicas),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(out)
    }

    /// Starts (Some(replicas)) or cancels (None) the reassignment of each partition, asked of
    /// broker `node`. Per partition: Ok, or the controller's refusal.
    pub async fn alter_reassignments(
        &mut self,
        node: i32,
        targets: &[(String, i32, Option<Vec<i32>>)],
    ) -> Result<Vec<(String, i32, Result<(), String>)>, WireError> {
        let mut by_topic: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
        for (t, p, replicas) in targets {
            let mut rp = ReassignablePartition::default();
            rp.partition_index = *p;
            rp.replicas = replicas
                .as_ref()
                .map(|rs| rs.iter().map(|b| BrokerId(*b)).collect());
            by_topic.entry(t.as_str()).or_default().push(rp);
        }
        let mut req = AlterPartitionReassignmentsRequest::default();
        req.timeout_ms = i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX);
        // v1 may refuse a replication factor change; a balance plan never changes one.
        req.allow_replication_factor_change = false;
        req.topics = by_topic
            .into_iter()
            .map(|(t, ps)| {
                let mut rt = ReassignableTopic::default();
                rt.name = topic_name(t);
                rt.partitions = ps;
                rt
            })
            .collect();
        let r = self.on_node(node, &req, 0).await?;
        if r.error_code != 0 {
            return Err(WireError::Protocol(format!(
                "AlterPartitionReassignments: {}",
                code_text(r.error_code, r.error_message.as_ref())
            )));
        }
        Ok(r.responses
            .into_iter()
            .flat_map(|t| {
                let name = t.name.to_string();
                t.partitions.into_iter().map(move |p| {
                    let res = if p.error_code == 0 {
                        Ok(())
                    } else {
                        Err(code_text(p.error_code, p.error_message.as_ref()))
                    };
                    (name.clone(), p.partition_index, res)
                })
            })
            .collect())
    }

    /// Changes configs of one resource (a topic, or a broker by id: sent to that broker).
    pub async fn alter_configs(
        &mut self,
        node: i32,
        resource_type: i8,
        name: &str,
        changes: &[ConfigChange],
    ) -> Result<(), WireError> {
        let mut res = AlterConfigsResource::default();
        res.resource_type = resource_type;
        res.resource_name = StrBytes::from_string(name.to_string());
        res.configs = changes
            .iter()
            .map(|c| {
                let mut a = AlterableConfig::default();
                match c {
                    ConfigChange::Set(k, v) => {
                        a.name = StrBytes::from_string(k.clone());
                        a.config_operation = 0;
                        a.value = Some(StrBytes::from_string(v.clone()));
                    }
                    ConfigChange::Delete(k) => {
                        a.name = StrBytes::from_string(k.clone());
                        a.config_operation = 1;
                        a.value = None;
                    }
                }
                a
            })
            .collect();
        let mut req = IncrementalAlterConfigsRequest::default();
        req.resources = vec![res];
        req.validate_only = false;
        let r = self.on_node(node, &req, 0).await?;
        for x in r.responses {
            if x.error_code != 0 {
                return Err(WireError::Protocol(format!(
                    "configs of {}: {}",
                    x.resource_name,
                    code_text(x.error_code, x.error_message.as_ref())
                )));
            }
        }
        Ok(())
    }
}
