//! Partition offsets on the batch's connections: per partition leader, one ListOffsets
//! request per query (EARLIEST, LATEST, LATEST read_committed, or a timestamp) with all its
//! partitions, pipelined on the connection the groups path keeps to that broker.
//! librdkafka's admin ListOffsets sends the same requests but spends seconds per call of 10k
//! partitions on its own bookkeeping; on the wire the requests take milliseconds.

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
use crate::sources::kafka::admin::{Offsets, Watermarks};

const EARLIEST: i64 = -2;
const LATEST: i64 = -1;

/// One ListOffsets question: which offset (EARLIEST, LATEST or a timestamp in ms) and
/// whether open transactions are excluded (LATEST is then the last stable offset).
#[derive(Debug, Clone, Copy)]
struct Query {
    spec: i64,
    read_committed: bool,
}

/// What the watermark requests read.
#[derive(Debug, Default)]
pub struct Ends {
    /// Partitions with both ends answered.
    pub watermarks: Watermarks,
    /// Last stable offsets; a partition is absent when unknown.
    pub stable: Offsets,
    /// Requests sent, connection setup included.
    pub requests: usize,
}

impl Batch {
    /// Watermarks and last stable offsets of `parts` ((topic, partition, leader));
    /// partitions without a leader are left out by the caller. A leader that fails leaves
    /// its partitions out (logged), like librdkafka's per-partition errors, and so does a
    /// partition missing either end (a guessed log start would show records as lost); Err
    /// only when no leader answered at all.
    pub async fn watermarks_and_stable(
        &mut self,
        brokers: &[(i32, String, i32)],
        parts: &[(String, i32, i32)],
    ) -> Result<Ends, WireError> {
        let before = self.sent.load(Ordering::Relaxed);
        let queries = [
            Query {
                spec: EARLIEST,
                read_committed: false,
            },
            Query {
                spec: LATEST,
                read_committed: false,
            },
            Query {
                spec: LATEST,
                read_committed: true,
            },
        ];
        let [low, high, stable] = self.list_offsets(brokers, parts, queries).await?;
        let watermarks = high
            .into_iter()
            .filter_map(|(k, h)| low.get(&k).map(|l| (k, (*l, h))))
            .collect();
        Ok(Ends {
            watermarks,
            stable,
            requests: self.sent.load(Ordering::Relaxed) - before,
        })
    }

    /// The first offset written at or after `ts_ms` of each of `parts` ((topic, partition,
    /// leader)); -1 where no record is that recent, absent where the leader did not answer.
    pub async fn offsets_at(
        &mut self,
        brokers: &[(i32, String, i32)],
        parts: &[(String, i32, i32)],
        ts_ms: i64,
    ) -> Result<Offsets, WireError> {
        let q = Query {
            spec: ts_ms.max(0),
            read_committed: false,
        };
        let [o] = self.list_offsets(brokers, parts, [q]).await?;
        Ok(o)
    }

    /// Each query's answers, per leader pipelined on its connection.
    async fn list_offsets<const N: usize>(
        &mut self,
        brokers: &[(i32, String, i32)],
        parts: &[(String, i32, i32)],
        queries: [Query; N],
    ) -> Result<[Offsets; N], WireError> {
        let mut out: [Offsets; N] = std::array::from_fn(|_| Offsets::new());
        if parts.is_empty() {
            return Ok(out);
        }
        let deadline = Instant::now() + self.timeout;
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
                let reqs: Vec<ListOffsetsRequest> = queries
                    .iter()
                    .map(|q| request(&topics, *q, self.timeout))
                    .collect();
                async move {
                    let r = leader_offsets(addr, conn, &reqs, &sec, &sent, deadline).await;
                    (node, r)
                }
            })
            .collect();
        let leaders = jobs.len();
        let mut results = futures::stream::iter(jobs).buffer_unordered(MAX_IN_FLIGHT);
        let mut failed = Vec::new();
        while let Some((node, r)) = results.next().await {
            match r {
                Ok((conn, answers)) => {
                    self.conns.insert(node, conn);
                    for ((o, a), q) in out.iter_mut().zip(answers).zip(&queries) {
                        o.extend(offsets(a, q.spec >= 0));
                    }
                }
                Err(e) => {
                    tracing::warn!(node, error = %e, "offsets of one leader");
                    failed.push(e);
                }
            }
        }
        if failed.len() == leaders
            && let Some(e) = failed.into_iter().next()
        {
            return Err(e);
        }
        Ok(out)
    }
}

fn request(
    topics: &BTreeMap<&str, Vec<i32>>,
    q: Query,
    timeout: std::time::Duration,
) -> ListOffsetsRequest {
    let mut r = ListOffsetsRequest::default();
    // A consumer's request (not a follower's), as librdkafka's admin ListOffsets asks.
    r.replica_id = BrokerId(-1);
    r.isolation_level = i8::from(q.read_committed);
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
                    part.timestamp = q.spec;
                    part
                })
                .collect();
            topic
        })
        .collect();
    r
}

/// The answered offsets; with `by_time`, -1 (no record that recent) is an answer too.
fn offsets(r: ListOffsetsResponse, by_time: bool) -> Offsets {
    let mut m = HashMap::new();
    for t in r.topics {
        let name = t.name.to_string();
        for p in t.partitions {
            // NOT_LEADER_OR_FOLLOWER and friends: left out, as on librdkafka's path.
            if p.error_code == 0 && (p.offset >= 0 || (by_time && p.offset == -1)) {
                m.insert((name.clone(), p.partition_index), p.offset);
            }
        }
    }
    m
}

/// Every request on the leader's connection (reopened once if the kept one broke).
async fn leader_offsets(
    addr: Option<(String, u16)>,
    mut conn: Option<Conn>,
    reqs: &[ListOffsetsRequest],
    sec: &Security,
    sent: &Arc<AtomicUsize>,
    deadline: Instant,
) -> Result<(Conn, Vec<ListOffsetsResponse>), WireError> {
    let (host, port) = addr.ok_or_else(|| WireError::Io("leader not in the metadata".into()))?;
    loop {
        let cached = conn.is_some();
        let left = deadline.saturating_duration_since(Instant::now());
        let mut c = match conn.take() {
            Some(c) => c,
            None => Conn::open(&host, port, sec, left, sent.clone()).await?,
        };
        let exchange = async {
            // v2 (Kafka 0.11) has the isolation level.
            let v = c.version::<ListOffsetsRequest>(2)?;
            let mut ids = Vec::with_capacity(reqs.len());
            for r in reqs {
                ids.push(c.send(r, v).await?);
            }
            let mut answers = Vec::with_capacity(reqs.len());
            for id in ids {
                answers.push(c.recv::<ListOffsetsRequest>(id, v).await?);
            }
            Ok::<_, WireError>(answers)
        };
        match tokio::time::timeout(left, exchange).await {
            Ok(Ok(answers)) => return Ok((c, answers)),
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
