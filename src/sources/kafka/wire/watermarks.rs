//! Low and high watermarks of every partition: per partition leader, one ListOffsets request
//! for EARLIEST and one for LATEST with all its partitions, pipelined on the connection the
//! groups path keeps to that broker. librdkafka's admin ListOffsets sends the same requests
//! but spends seconds per call of 10k partitions on its own bookkeeping; on the wire the two
//! requests take milliseconds.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, ListOffsetsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::time::Instant;

use super::conn::{Conn, WireError};
use super::security::Security;
use super::{Batch, MAX_IN_FLIGHT};
use crate::sources::kafka::admin::Watermarks;

const EARLIEST: i64 = -2;
const LATEST: i64 = -1;

/// What one leader answered: (topic, partition) → offset, for each end.
type Ends = (HashMap<(String, i32), i64>, HashMap<(String, i32), i64>);

impl Batch {
    /// Watermarks of `parts` ((topic, partition, leader)); partitions without a leader are
    /// left out by the caller. A leader that fails leaves its partitions out (logged), like
    /// librdkafka's per-partition errors; Err only when no leader answered at all.
    pub async fn watermarks(
        &mut self,
        brokers: &[(i32, String, i32)],
        parts: &[(String, i32, i32)],
    ) -> Result<(Watermarks, usize), WireError> {
        if parts.is_empty() {
            return Ok((Watermarks::new(), 0));
        }
        let deadline = Instant::now() + self.timeout;
        let before = self.sent.load(Ordering::Relaxed);
        self.set_brokers(brokers);
        let mut by_leader: HashMap<i32, BTreeMap<&str, Vec<i32>>> = HashMap::new();
        for (t, p, leader) in parts {
            by_leader
                .entry(*leader)
                .or_default()
                .entry(t.as_str())
                .or_default()
                .push(*p);
        }
        let jobs: Vec<_> = by_leader
            .into_iter()
            .map(|(node, topics)| {
                let conn = self.conns.remove(&node);
                let addr = self.nodes.get(&node).cloned();
                let sec = self.security.clone();
                let sent = self.sent.clone();
                let reqs = [EARLIEST, LATEST].map(|spec| request(&topics, spec, self.timeout));
                async move {
                    let r = leader_ends(addr, conn, &reqs, &sec, &sent, deadline).await;
                    (node, r)
                }
            })
            .collect();
        let leaders = jobs.len();
        let mut results = futures::stream::iter(jobs).buffer_unordered(MAX_IN_FLIGHT);
        let mut out = Watermarks::new();
        let mut failed = Vec::new();
        while let Some((node, r)) = results.next().await {
            match r {
                Ok((conn, (low, high))) => {
                    self.conns.insert(node, conn);
                    for (k, h) in high {
                        let l = low.get(&k).copied().unwrap_or(h);
                        out.insert(k, (l, h));
                    }
                }
                Err(e) => {
                    tracing::warn!(node, error = %e, "watermarks of one leader");
                    failed.push(e);
                }
            }
        }
        if failed.len() == leaders
            && let Some(e) = failed.into_iter().next()
        {
            return Err(e);
        }
        Ok((out, self.sent.load(Ordering::Relaxed) - before))
    }
}

fn request(
    topics: &BTreeMap<&str, Vec<i32>>,
    spec: i64,
    timeout: std::time::Duration,
) -> ListOffsetsRequest {
    let mut r = ListOffsetsRequest::default();
    // A consumer's request (not a follower's), all records visible as librdkafka's admin
    // ListOffsets asks by default.
    r.replica_id = BrokerId(-1);
    r.isolation_level = 0;
    r.timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    r.topics = topics
        .iter()
        .map(|(t, ps)| {
            let mut topic = ListOffsetsTopic::default();
            topic.name = TopicName(StrBytes::from_string(t.to_string()));
            topic.partitions = ps
                .iter()
                .map(|p| {
                    let mut part = ListOffsetsPartition::default();
                    part.partition_index = *p;
                    part.current_leader_epoch = -1;
                    part.timestamp = spec;
                    part
                })
                .collect();
            topic
        })
        .collect();
    r
}

fn offsets(r: ListOffsetsResponse) -> HashMap<(String, i32), i64> {
    let mut m = HashMap::new();
    for t in r.topics {
        let name = t.name.to_string();
        for p in t.partitions {
            // NOT_LEADER_OR_FOLLOWER and friends: left out, as on librdkafka's path.
            if p.error_code == 0 && p.offset >= 0 {
                m.insert((name.clone(), p.partition_index), p.offset);
            }
        }
    }
    m
}

/// Both requests on the leader's connection (reopened once if the kept one broke).
async fn leader_ends(
    addr: Option<(String, u16)>,
    mut conn: Option<Conn>,
    reqs: &[ListOffsetsRequest; 2],
    sec: &Security,
    sent: &Arc<AtomicUsize>,
    deadline: Instant,
) -> Result<(Conn, Ends), WireError> {
    let (host, port) = addr.ok_or_else(|| WireError::Io("leader not in the metadata".into()))?;
    loop {
        let cached = conn.is_some();
        let left = deadline.saturating_duration_since(Instant::now());
        let mut c = match conn.take() {
            Some(c) => c,
            None => Conn::open(&host, port, sec, left, sent.clone()).await?,
        };
        let exchange = async {
            let v = c.version::<ListOffsetsRequest>(1)?;
            let low = c.send(&reqs[0], v).await?;
            let high = c.send(&reqs[1], v).await?;
            let low = offsets(c.recv::<ListOffsetsRequest>(low, v).await?);
            let high = offsets(c.recv::<ListOffsetsRequest>(high, v).await?);
            Ok::<_, WireError>((low, high))
        };
        match tokio::time::timeout(left, exchange).await {
            Ok(Ok(ends)) => return Ok((c, ends)),
            Ok(Err(WireError::Io(_))) if cached => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(WireError::Io(format!(
                    "{host}:{port}: no answer within {left:.0?}"
                )));
            }
        }
    }
}
