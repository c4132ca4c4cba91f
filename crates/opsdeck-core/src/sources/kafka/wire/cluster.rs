//! The rest of a steady poll on the batch's connections: `Metadata` (brokers with racks, the
//! controller, every topic's partitions) to one broker, `ListGroups` to every broker at once
//! and the topics' configs (`DescribeConfigs`). With these a poll sends nothing through
//! librdkafka, whose client (its threads' timers and wake-ups, its metadata cache) cost
//! more than the requests; it is built only when this path cannot run.

use std::collections::HashMap;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{
    DescribeConfigsRequest, ListGroupsRequest, MetadataRequest, MetadataResponse,
};
use kafka_protocol::protocol::StrBytes;
use tokio::time::Instant;

use super::conn::{Conn, WireError, pipeline};
use super::{Batch, TOPIC, code_text};
use crate::sources::kafka::RawPartition;
use crate::sources::kafka::admin::{Cluster, Node};

/// What `Metadata` says, in the shapes the librdkafka path gives.
#[derive(Debug, Default)]
pub struct Topology {
    /// (id, host, port).
    pub brokers: Vec<(i32, String, i32)>,
    /// The brokers with their racks, and the controller.
    pub cluster: Cluster,
    /// (name, internal, partitions) of the topics answered without error.
    pub topics: Vec<(String, bool, Vec<RawPartition>)>,
}

/// `host:port` pairs of a `bootstrap.servers` list (a `PLAINTEXT://`-style prefix dropped).
pub fn bootstrap(brokers: &str) -> Vec<(String, u16)> {
    brokers
        .split(',')
        .map(str::trim)
        .filter_map(|b| {
            let addr = b.rsplit("://").next().unwrap_or(b);
            let (host, port) = addr.rsplit_once(':')?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            Some((host.to_string(), port.parse().ok()?))
        })
        .collect()
}

impl Batch {
    /// The cluster's brokers, controller and topics from one broker: one with an open
    /// connection first, then the others of the last metadata, then `bootstrap`.
    pub async fn metadata(&mut self, bootstrap: &[(String, u16)]) -> Result<Topology, WireError> {
        let deadline = Instant::now() + self.timeout;
        let mut known: Vec<i32> = self.nodes.keys().copied().collect();
        known.sort_by_key(|id| (!self.conns.contains_key(id), *id));
        let mut tries: Vec<(Option<i32>, (String, u16))> = known
            .into_iter()
            .filter_map(|id| Some((Some(id), self.nodes.get(&id)?.clone())))
            .collect();
        // A bootstrap address that is also a known broker is asked once: a hung broker then
        // gets all the time left, and the error names it once.
        for a in bootstrap {
            if !tries.iter().any(|(_, t)| t == a) {
                tries.push((None, a.clone()));
            }
        }
        let mut req = MetadataRequest::default();
        // null: every topic.
        req.topics = None;
        req.allow_auto_topic_creation = false;
        let mut errors = Vec::new();
        let n = tries.len();
        for (i, (id, addr)) in tries.into_iter().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // A hung broker must not use up the time the next one would need.
            let until = if i + 1 < n {
                Instant::now() + left / 2
            } else {
                deadline
            };
            let conn = id.and_then(|id| self.conns.remove(&id));
            let sec = self.security.clone();
            // v1 has the controller and racks; v4 lets the request not create topics.
            match pipeline(
                Some(addr.clone()),
                conn,
                std::slice::from_ref(&req),
                4,
                &sec,
                &self.sent,
                until,
            )
            .await
            {
                Ok((c, mut answers)) => {
                    let Some(r) = answers.pop() else { continue };
                    let top = topology(r)?;
                    self.set_brokers(&top.brokers);
                    self.keep(id, addr, c, &top.brokers);
                    return Ok(top);
                }
                Err(e @ (WireError::Unsupported(_) | WireError::Auth(_))) => return Err(e),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(WireError::Io(if errors.is_empty() {
            "no broker to ask for the metadata".into()
        } else {
            format!("metadata: {}", errors.join("; "))
        }))
    }

    /// Keeps the connection that answered under its broker's id (a bootstrap address is
    /// matched to the broker it names).
    fn keep(
        &mut self,
        id: Option<i32>,
        addr: (String, u16),
        c: Conn,
        brokers: &[(i32, String, i32)],
    ) {
        let id = id.filter(|id| self.nodes.contains_key(id)).or_else(|| {
            brokers
                .iter()
                .find(|(_, h, p)| *h == addr.0 && i32::from(addr.1) == *p)
                .map(|b| b.0)
        });
        if let Some(id) = id {
            self.conns.insert(id, c);
        }
    }

    /// Every consumer group's name from every broker at once (classic and KIP-848 groups,
    /// and groups that only commit offsets; Connect's and others' left out, as librdkafka
    /// lists them), sorted, and the errors of the brokers that did not answer (their groups
    /// are missing from the list, not gone).
    pub async fn list_groups(&mut self) -> (Vec<String>, Vec<String>) {
        let deadline = Instant::now() + self.timeout;
        let mut ids: Vec<i32> = self.nodes.keys().copied().collect();
        ids.sort();
        let jobs = ids
            .into_iter()
            .map(|id| (id, vec![ListGroupsRequest::default()]))
            .collect();
        let (mut names, mut errors) = (Vec::new(), Vec::new());
        for (node, r) in self.on_nodes(jobs, 0, deadline).await {
            match r.map(|mut a| a.pop()) {
                Ok(Some(a)) if a.error_code == 0 => names.extend(
                    a.groups
                        .into_iter()
                        .filter(|g| matches!(g.protocol_type.as_str(), "" | "consumer"))
                        .map(|g| g.group_id.to_string()),
                ),
                Ok(Some(a)) => {
                    errors.push(format!("broker {node}: {}", code_text(a.error_code, None)))
                }
                Ok(None) => errors.push(format!("broker {node}: no answer")),
                Err(e) => errors.push(format!("broker {node}: {e}")),
            }
        }
        for e in &errors {
            tracing::warn!(error = %e, "listing consumer groups on one broker failed");
        }
        names.sort();
        names.dedup();
        (names, errors)
    }

    /// The `keys` configs of every topic in `topics`, in one request to any broker (topics
    /// whose answer has an error are left out).
    pub async fn topic_configs(
        &mut self,
        topics: &[String],
        keys: &[&str],
    ) -> Result<HashMap<String, HashMap<String, String>>, WireError> {
        if topics.is_empty() {
            return Ok(HashMap::new());
        }
        let node = self.any_node()?;
        let mut req = DescribeConfigsRequest::default();
        let keys: Vec<StrBytes> = keys
            .iter()
            .map(|k| StrBytes::from_string(k.to_string()))
            .collect();
        req.resources = topics
            .iter()
            .map(|t| {
                let mut r = DescribeConfigsResource::default();
                r.resource_type = TOPIC;
                r.resource_name = StrBytes::from_string(t.clone());
                r.configuration_keys = Some(keys.clone());
                r
            })
            .collect();
        let r = self.on_node(node, &req, 1).await?;
        Ok(r.results
            .into_iter()
            .filter(|t| t.error_code == 0)
            .map(|t| {
                let vals = t
                    .configs
                    .into_iter()
                    .filter_map(|c| Some((c.name.to_string(), c.value?.to_string())))
                    .collect();
                (t.resource_name.to_string(), vals)
            })
            .collect())
    }

    /// A broker to ask what any broker can answer: one with an open connection first.
    fn any_node(&self) -> Result<i32, WireError> {
        let mut ids: Vec<i32> = self.nodes.keys().copied().collect();
        ids.sort_by_key(|id| (!self.conns.contains_key(id), *id));
        ids.first()
            .copied()
            .ok_or_else(|| WireError::Io("no broker in the metadata".into()))
    }
}

/// The metadata answer in the librdkafka path's shapes.
fn topology(r: MetadataResponse) -> Result<Topology, WireError> {
    if r.error_code != 0 {
        return Err(WireError::Protocol(format!(
            "metadata: {}",
            code_text(r.error_code, None)
        )));
    }
    let mut nodes: Vec<Node> = r
        .brokers
        .into_iter()
        .filter_map(|b| {
            Some(Node {
                id: b.node_id.0,
                host: b.host.to_string(),
                port: u16::try_from(b.port).ok()?,
                rack: b.rack.map(|r| r.to_string()),
            })
        })
        .collect();
    nodes.sort_by_key(|n| n.id);
    let brokers = nodes
        .iter()
        .map(|n| (n.id, n.host.clone(), i32::from(n.port)))
        .collect();
    let ids = |v: Vec<kafka_protocol::messages::BrokerId>| v.into_iter().map(|b| b.0).collect();
    let topics = r
        .topics
        .into_iter()
        .filter(|t| t.error_code == 0)
        .filter_map(|t| {
            let name = t.name?.to_string();
            let internal = name.starts_with("__");
            let mut parts: Vec<RawPartition> = t
                .partitions
                .into_iter()
                .map(|p| {
                    (
                        p.partition_index,
                        p.leader_id.0,
                        ids(p.replica_nodes),
                        ids(p.isr_nodes),
                    )
                })
                .collect();
            parts.sort_by_key(|p| p.0);
            Some((name, internal, parts))
        })
        .collect();
    Ok(Topology {
        brokers,
        cluster: Cluster {
            nodes,
            controller: Some(r.controller_id.0).filter(|c| *c >= 0),
        },
        topics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_lists_take_prefixes_spaces_and_ipv6() {
        assert_eq!(
            bootstrap("PLAINTEXT://a:9092, b:19092,[::1]:9093,bad"),
            vec![
                ("a".to_string(), 9092),
                ("b".to_string(), 19092),
                ("::1".to_string(), 9093)
            ]
        );
    }
}
