//! Partition offsets on the batch's connections: per partition leader, one ListOffsets
//! request per query (EARLIEST, LATEST, LATEST read_committed, or a timestamp) with all its
//! partitions, pipelined on the connection the groups path keeps to that broker.
//! librdkafka's admin ListOffsets sends the same requests but spends seconds per call of 10k
//! partitions on its own bookkeeping; on the wire the requests take milliseconds.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, ListOffsetsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::time::Instant;

use super::Batch;
use super::conn::WireError;
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
        let jobs: Vec<(i32, Vec<ListOffsetsRequest>)> = by_leader
            .into_iter()
            .map(|(node, topics)| {
                let reqs = queries
                    .iter()
                    .map(|q| request(&topics, *q, self.timeout))
                    .collect();
                (node, reqs)
            })
            .collect();
        let leaders = jobs.len();
        let mut failed = Vec::new();
        // v2 (Kafka 0.11) has the isolation level.
        for (node, r) in self.on_nodes(jobs, 2, deadline).await {
            match r {
                Ok(answers) => {
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
