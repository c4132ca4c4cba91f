//! Consumer groups' states, members and committed offsets in requests that grow with the
//! group coordinators, not the groups. librdkafka sends one OffsetFetch per group and two
//! describe requests per group (ConsumerGroupDescribe, then DescribeGroups for classic
//! groups); the protocol takes many groups per request since Kafka 3.0, so this path speaks
//! those few requests itself (message types from the `kafka-protocol` crate) over one async
//! connection per coordinator, kept between polls:
//!
//! - `FindCoordinator` v4+: every group without a known coordinator in one request, to any
//!   broker (only new groups, or those whose coordinator moved, after the first poll);
//! - per coordinator, pipelined on its connection: `DescribeGroups` and `OffsetFetch` v8+
//!   (`topics = null`: every committed partition) for all its groups (the OffsetFetch in
//!   up to four pieces past 250 groups, each decoded before the next is read), then
//!   `ConsumerGroupDescribe` for the groups that DescribeGroups says are not classic
//!   (KIP-848 consumer groups), when there are any.
//!
//! A coordinator that fails or answers late marks only its groups with an error; groups
//! answered with NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS
//! or whose coordinator's connection broke are re-resolved and asked once more in the same
//! poll. The whole fetch runs under one deadline. When the path cannot run at all (settings
//! it cannot honour, a broker too old, no broker answering FindCoordinator) the caller falls
//! back to librdkafka's per-group requests.
//!
//! The same connections carry the partitions' offsets (`watermarks.rs`): one ListOffsets per
//! leader for each end, one for the last stable offsets and one per abandonment probe,
//! instead of librdkafka's slow admin ListOffsets.

mod balance;
mod cluster;
mod conn;
mod scram;
mod security;
mod watermarks;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Buf, Bytes};
use futures::StreamExt;
use kafka_protocol::error::ParseResponseErrorCode;
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerProtocolAssignment, DescribeGroupsRequest,
    FindCoordinatorRequest, GroupId, OffsetFetchRequest,
    offset_fetch_request::OffsetFetchRequestGroup,
};
use kafka_protocol::protocol::{Decodable, Message, Request, StrBytes};
use tokio::time::Instant;

pub use balance::{BROKER, ConfigChange, LogDirRead, Ongoing, TOPIC};
pub use cluster::{Topology, bootstrap};
pub use conn::WireError;
pub use security::{Security, Unsupported};
pub use watermarks::Ends;

use conn::Conn;

use super::admin::{Committed, GroupDescription, Member};

/// Coordinators asked at once; each has at most `OFFSET_PIECES` + 1 requests in flight.
const MAX_IN_FLIGHT: usize = 16;

/// A coordinator's OffsetFetch is split in up to this many requests of at least
/// `PIECE_GROUPS` groups each, read and decoded one after the other: at 1,000 groups on
/// 10,000 partitions one answer is 4 MB on the wire and about twice that decoded, so the
/// poll holds a quarter of it at a time. Requests still grow with coordinators, not groups.
const OFFSET_PIECES: usize = 4;
const PIECE_GROUPS: usize = 250;

/// Groups per OffsetFetch request for `n` groups of one coordinator.
fn piece_len(n: usize) -> usize {
    let pieces = n.div_ceil(PIECE_GROUPS).clamp(1, OFFSET_PIECES);
    n.div_ceil(pieces).max(1)
}

/// Before asking moved groups again.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Error codes after which the group's coordinator is looked up again.
const NOT_COORDINATOR: i16 = 16;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const GROUP_ID_NOT_FOUND: i16 = 69;

fn moved(code: i16) -> bool {
    matches!(
        code,
        NOT_COORDINATOR | COORDINATOR_NOT_AVAILABLE | COORDINATOR_LOAD_IN_PROGRESS
    )
}

/// The broker's message, else the error's name in words ("NotCoordinator": "not coordinator").
fn code_text(code: i16, message: Option<&StrBytes>) -> String {
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    let name = code.err().map(|e| e.to_string()).unwrap_or_default();
    if name.is_empty() || name.starts_with("Unknown error code") {
        return format!("Kafka error {code}");
    }
    let mut out = String::new();
    for ch in name.chars() {
        if ch.is_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// What one fetch read, in the shapes the librdkafka path returns.
#[derive(Debug, Default)]
pub struct Read {
    pub groups: Vec<GroupDescription>,
    pub offsets: HashMap<String, Result<Committed, String>>,
    /// Requests sent, connection setup (ApiVersions, SASL) included.
    pub requests: usize,
    /// Coordinators asked.
    pub coordinators: usize,
}

/// librdkafka's configuration as plain key/value pairs, secrets included (rdkafka's own
/// `config_map` masks them).
pub fn properties(cfg: &rdkafka::ClientConfig) -> BTreeMap<&str, &str> {
    cfg.config_map()
        .into_keys()
        .filter_map(|k| Some((k, cfg.get(k)?)))
        .collect()
}

/// The batched path's state kept between polls: connections and each group's coordinator.
pub struct Batch {
    security: Arc<Security>,
    timeout: Duration,
    conns: HashMap<i32, Conn>,
    nodes: HashMap<i32, (String, u16)>,
    coordinators: HashMap<String, i32>,
    sent: Arc<AtomicUsize>,
}

/// One group's answer from its coordinator.
enum Answer {
    Read(GroupDescription, Result<Committed, String>),
    /// Ask again after looking the coordinator up (why, for when the retry fails too).
    Moved(String),
}

impl Batch {
    /// Reads librdkafka's configuration map; `Unsupported` when this path cannot connect the
    /// way librdkafka would.
    pub fn new(props: &BTreeMap<&str, &str>, timeout: Duration) -> Result<Batch, Unsupported> {
        Ok(Batch {
            security: Arc::new(Security::from_properties(props)?),
            timeout,
            conns: HashMap::new(),
            nodes: HashMap::new(),
            coordinators: HashMap::new(),
            sent: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The brokers of this poll's metadata; connections to others are closed.
    fn set_brokers(&mut self, brokers: &[(i32, String, i32)]) {
        self.nodes = brokers
            .iter()
            .filter_map(|(id, h, p)| Some((*id, (h.clone(), u16::try_from(*p).ok()?))))
            .collect();
        let nodes = &self.nodes;
        self.conns.retain(|id, _| nodes.contains_key(id));
    }

    /// Each known group's coordinator (node id), as last resolved.
    pub fn coordinators(&self) -> &HashMap<String, i32> {
        &self.coordinators
    }

    /// States, members and committed offsets of `groups`. `brokers` (id, host, port) come
    /// from the poll's metadata. Err only when the path cannot run at all.
    pub async fn fetch(
        &mut self,
        brokers: &[(i32, String, i32)],
        groups: &[String],
    ) -> Result<Read, WireError> {
        let deadline = Instant::now() + self.timeout;
        let before = self.sent.load(Ordering::Relaxed);
        self.set_brokers(brokers);
        let wanted: HashSet<&String> = groups.iter().collect();
        self.coordinators.retain(|g, _| wanted.contains(g));

        let mut out = Read::default();
        let mut asked = HashSet::new();
        let mut pending: Vec<String> = groups.to_vec();
        let mut why: HashMap<String, String> = HashMap::new();
        for round in 0..2 {
            if pending.is_empty() || (round > 0 && Instant::now() >= deadline) {
                break;
            }
            if round > 0 {
                // A coordinator that just took over may still be loading the groups.
                let left = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(RETRY_PAUSE.min(left / 2)).await;
            }
            let unresolved: Vec<String> = pending
                .iter()
                .filter(|g| !self.coordinators.contains_key(*g))
                .cloned()
                .collect();
            if !unresolved.is_empty() {
                match self.find_coordinators(&unresolved, deadline).await {
                    Ok(found) => {
                        for (g, r) in found {
                            match r {
                                Ok(node) => {
                                    self.coordinators.insert(g, node);
                                }
                                Err(e) => {
                                    why.insert(g, e);
                                }
                            }
                        }
                    }
                    // Settings refused, or no broker answers and no coordinator is known:
                    // the path cannot run (the caller falls back).
                    Err(e @ (WireError::Unsupported(_) | WireError::Auth(_))) => return Err(e),
                    Err(e) if round == 0 && self.coordinators.is_empty() => return Err(e),
                    Err(e) => {
                        for g in unresolved {
                            why.insert(g, e.to_string());
                        }
                    }
                }
            }
            let mut by_node: HashMap<i32, Vec<String>> = HashMap::new();
            let mut next = Vec::new();
            for g in pending.drain(..) {
                match self.coordinators.get(&g) {
                    Some(n) => by_node.entry(*n).or_default().push(g),
                    // FindCoordinator had no answer for it: one more try in the next round.
                    None => next.push(g),
                }
            }
            asked.extend(by_node.keys().copied());
            let jobs: Vec<_> = by_node
                .into_iter()
                .map(|(node, gs)| {
                    let conn = self.conns.remove(&node);
                    let addr = self.nodes.get(&node).cloned();
                    let sec = self.security.clone();
                    let sent = self.sent.clone();
                    async move {
                        let r = ask(node, addr, conn, &gs, &sec, &sent, deadline).await;
                        (node, gs, r)
                    }
                })
                .collect();
            let mut results = futures::stream::iter(jobs).buffer_unordered(MAX_IN_FLIGHT);
            let mut fatal = None;
            while let Some((node, gs, r)) = results.next().await {
                match r {
                    Ok((conn, answers)) => {
                        self.conns.insert(node, conn);
                        for (g, a) in gs.into_iter().zip(answers) {
                            match a {
                                Answer::Read(d, o) => {
                                    why.remove(&g);
                                    out.groups.push(d);
                                    out.offsets.insert(g, o);
                                }
                                Answer::Moved(e) => {
                                    self.coordinators.remove(&g);
                                    why.insert(g.clone(), e);
                                    next.push(g);
                                }
                            }
                        }
                    }
                    Err(e @ (WireError::Unsupported(_) | WireError::Auth(_))) => {
                        fatal.get_or_insert(e);
                    }
                    Err(e) => {
                        tracing::warn!(node, error = %e, groups = gs.len(), "group coordinator");
                        let text = format!("coordinator {node}: {e}");
                        for g in gs {
                            self.coordinators.remove(&g);
                            why.insert(g.clone(), text.clone());
                            next.push(g);
                        }
                    }
                }
            }
            if let Some(e) = fatal {
                // The same settings on every broker: librdkafka's path will say more.
                return Err(e);
            }
            pending = next;
        }
        for g in pending {
            let e = why
                .remove(&g)
                .unwrap_or_else(|| "no coordinator found".to_string());
            out.groups.push(GroupDescription {
                name: g.clone(),
                state: "Unknown".into(),
                error: Some(e.clone()),
                members: Vec::new(),
            });
            out.offsets.insert(g, Err(e));
        }
        out.requests = self.sent.load(Ordering::Relaxed) - before;
        out.coordinators = asked.len();
        Ok(out)
    }

    /// One FindCoordinator request for all `groups`, to the first broker that answers.
    async fn find_coordinators(
        &mut self,
        groups: &[String],
        deadline: Instant,
    ) -> Result<Vec<(String, Result<i32, String>)>, WireError> {
        let mut req = FindCoordinatorRequest::default();
        req.key_type = 0;
        req.coordinator_keys = groups
            .iter()
            .map(|g| StrBytes::from_string(g.clone()))
            .collect();
        // Brokers with an open connection first.
        let mut order: Vec<i32> = self.nodes.keys().copied().collect();
        order.sort_by_key(|id| (!self.conns.contains_key(id), *id));
        let mut last = WireError::Io("no broker in the metadata".into());
        let tries = order.len();
        for (i, id) in order.into_iter().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(WireError::Timeout);
            }
            // A hung broker must not use up the time the next one would need.
            let left = if i + 1 < tries { left / 2 } else { left };
            let conn = match self.conns.remove(&id) {
                Some(c) => Ok(c),
                None => self.open(id, left).await,
            };
            let mut conn = match conn {
                Ok(c) => c,
                Err(e @ (WireError::Unsupported(_) | WireError::Auth(_))) => return Err(e),
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let v = conn.version::<FindCoordinatorRequest>(4)?;
            match tokio::time::timeout(left, conn.call(&req, v)).await {
                Ok(Ok(r)) => {
                    self.conns.insert(id, conn);
                    let mut out = Vec::new();
                    for c in r.coordinators {
                        let g = c.key.to_string();
                        if c.error_code == 0 {
                            if let Ok(port) = u16::try_from(c.port) {
                                self.nodes
                                    .entry(c.node_id.0)
                                    .or_insert_with(|| (c.host.to_string(), port));
                            }
                            out.push((g, Ok(c.node_id.0)));
                        } else {
                            out.push((g, Err(code_text(c.error_code, c.error_message.as_ref()))));
                        }
                    }
                    return Ok(out);
                }
                Ok(Err(e)) => last = e,
                Err(_) => last = WireError::Timeout,
            }
        }
        Err(last)
    }

    /// Each job's requests pipelined on its broker's connection, the brokers asked at once
    /// (at most `MAX_IN_FLIGHT`), by `deadline`; the connections that answered are kept.
    async fn on_nodes<R: Request>(
        &mut self,
        jobs: Vec<(i32, Vec<R>)>,
        min_version: i16,
        deadline: Instant,
    ) -> Vec<(i32, Result<Vec<R::Response>, WireError>)> {
        let asks: Vec<_> = jobs
            .into_iter()
            .map(|(node, reqs)| {
                let conn = self.conns.remove(&node);
                let addr = self.nodes.get(&node).cloned();
                let (sec, sent) = (self.security.clone(), self.sent.clone());
                async move {
                    let r = conn::pipeline(addr, conn, &reqs, min_version, &sec, &sent, deadline);
                    (node, r.await)
                }
            })
            .collect();
        let mut results = futures::stream::iter(asks).buffer_unordered(MAX_IN_FLIGHT);
        let mut out = Vec::new();
        while let Some((node, r)) = results.next().await {
            out.push((
                node,
                r.map(|(c, answers)| {
                    self.conns.insert(node, c);
                    answers
                }),
            ));
        }
        out
    }

    async fn open(&self, id: i32, timeout: Duration) -> Result<Conn, WireError> {
        let (host, port) = self
            .nodes
            .get(&id)
            .ok_or_else(|| WireError::Io(format!("broker {id} is not in the metadata")))?;
        Conn::open(host, *port, &self.security, timeout, self.sent.clone()).await
    }
}

/// Asks one coordinator about `groups` (one answer per group, in order). A cached connection
/// that turns out broken (the broker restarted, or closed it while idle) is reopened once.
async fn ask(
    node: i32,
    addr: Option<(String, u16)>,
    mut conn: Option<Conn>,
    groups: &[String],
    sec: &Security,
    sent: &Arc<AtomicUsize>,
    deadline: Instant,
) -> Result<(Conn, Vec<Answer>), WireError> {
    let (host, port) =
        addr.ok_or_else(|| WireError::Io(format!("broker {node} is not in the metadata")))?;
    loop {
        let cached = conn.is_some();
        let left = deadline.saturating_duration_since(Instant::now());
        let mut c = match conn.take() {
            Some(c) => c,
            None => Conn::open(&host, port, sec, left, sent.clone()).await?,
        };
        match tokio::time::timeout(left, exchange(&mut c, groups)).await {
            Ok(Ok(answers)) => return Ok((c, answers)),
            Ok(Err(WireError::Io(e))) if cached => {
                tracing::debug!(node, error = %e, "reconnecting to a group coordinator");
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(WireError::Io(format!(
                    "{host}:{port}: no answer within {:.0?}",
                    left
                )));
            }
        }
    }
}

/// DescribeGroups and OffsetFetch pipelined on one connection, then ConsumerGroupDescribe for
/// the groups that are not classic.
async fn exchange(c: &mut Conn, groups: &[String]) -> Result<Vec<Answer>, WireError> {
    let dv = c.version::<DescribeGroupsRequest>(0)?;
    let ov = c.version::<OffsetFetchRequest>(8)?;
    let ids: Vec<GroupId> = groups
        .iter()
        .map(|g| GroupId(StrBytes::from_string(g.clone())))
        .collect();
    let mut describe = DescribeGroupsRequest::default();
    describe.groups = ids.clone();
    let d_id = c.send(&describe, dv).await?;
    let fetches: Vec<OffsetFetchRequest> = ids
        .chunks(piece_len(ids.len()))
        .map(|piece| {
            let mut fetch = OffsetFetchRequest::default();
            fetch.groups = piece
                .iter()
                .map(|g| {
                    let mut r = OffsetFetchRequestGroup::default();
                    r.group_id = g.clone();
                    // null: every partition the group has committed.
                    r.topics = None;
                    r
                })
                .collect();
            fetch
        })
        .collect();
    let o_ids = c.send_all(&fetches, ov).await?;
    let described = c.recv::<DescribeGroupsRequest>(d_id, dv).await?;
    // Each piece is read, decoded and consumed before the next (answers come in order).
    let mut offsets: HashMap<String, Result<Committed, i16>> = HashMap::new();
    let mut errors: HashMap<String, String> = HashMap::new();
    for o_id in o_ids {
        let fetched = c.recv::<OffsetFetchRequest>(o_id, ov).await?;
        read_offsets(fetched, &mut offsets, &mut errors);
    }

    let mut descs: HashMap<String, Result<GroupDescription, i16>> = HashMap::new();
    let mut not_classic = Vec::new();
    for d in described.groups {
        let name = d.group_id.to_string();
        if d.error_code == GROUP_ID_NOT_FOUND {
            not_classic.push(d.group_id.clone());
            continue;
        }
        if moved(d.error_code) {
            descs.insert(name, Err(d.error_code));
            continue;
        }
        let consumer = d.protocol_type.as_str() == "consumer";
        descs.insert(
            name.clone(),
            Ok(GroupDescription {
                name,
                state: d.group_state.to_string(),
                error: (d.error_code != 0)
                    .then(|| code_text(d.error_code, d.error_message.as_ref())),
                members: d
                    .members
                    .into_iter()
                    .map(|m| Member {
                        client_id: m.client_id.to_string(),
                        consumer_id: m.member_id.to_string(),
                        host: m.client_host.to_string(),
                        assignment: if consumer {
                            assignment(m.member_assignment)
                        } else {
                            Vec::new()
                        },
                    })
                    .collect(),
            }),
        );
    }
    if !not_classic.is_empty() {
        describe_consumer_groups(c, not_classic, &mut descs).await?;
    }

    Ok(groups
        .iter()
        .map(|g| {
            let d = descs.remove(g);
            let o = offsets.remove(g);
            match (d, o) {
                (Some(Err(code)), _) | (_, Some(Err(code))) => Answer::Moved(code_text(code, None)),
                (d, o) => {
                    let d = match d {
                        Some(Ok(d)) => d,
                        // Deleted between listing and describing.
                        _ => GroupDescription {
                            name: g.clone(),
                            state: "Dead".into(),
                            error: None,
                            members: Vec::new(),
                        },
                    };
                    let o = match (errors.remove(g), o) {
                        (Some(e), _) => Err(e),
                        (None, Some(Ok(m))) => Ok(m),
                        _ => Err("the coordinator did not answer for this group".into()),
                    };
                    Answer::Read(d, o)
                }
            }
        })
        .collect())
}

/// One OffsetFetch answer into each group's compact offsets, consumed as it is read.
fn read_offsets(
    fetched: kafka_protocol::messages::OffsetFetchResponse,
    offsets: &mut HashMap<String, Result<Committed, i16>>,
    errors: &mut HashMap<String, String>,
) {
    for g in fetched.groups {
        let name = g.group_id.to_string();
        if moved(g.error_code) {
            offsets.insert(name, Err(g.error_code));
            continue;
        }
        if g.error_code != 0 && g.error_code != GROUP_ID_NOT_FOUND {
            errors.insert(name.clone(), code_text(g.error_code, None));
            offsets.insert(name, Ok(Committed::new()));
            continue;
        }
        // The decoded answer is consumed topic by topic as the compact offsets grow.
        let mut m = Committed::new();
        for t in g.topics {
            m.set_topic(
                t.name.as_str(),
                t.partitions
                    .into_iter()
                    .filter(|p| p.error_code == 0 && p.committed_offset >= 0)
                    .map(|p| (p.partition_index, p.committed_offset)),
            );
        }
        offsets.insert(name, Ok(m));
    }
}

/// KIP-848 consumer groups (DescribeGroups answers GROUP_ID_NOT_FOUND for them).
async fn describe_consumer_groups(
    c: &mut Conn,
    ids: Vec<GroupId>,
    descs: &mut HashMap<String, Result<GroupDescription, i16>>,
) -> Result<(), WireError> {
    let Ok(v) = c.version::<ConsumerGroupDescribeRequest>(0) else {
        // A broker without KIP-848: these groups are gone.
        return Ok(());
    };
    let mut req = ConsumerGroupDescribeRequest::default();
    req.group_ids = ids;
    let r = c.call(&req, v).await?;
    for d in r.groups {
        let name = d.group_id.to_string();
        if moved(d.error_code) {
            descs.insert(name, Err(d.error_code));
            continue;
        }
        if d.error_code == GROUP_ID_NOT_FOUND {
            continue;
        }
        descs.insert(
            name.clone(),
            Ok(GroupDescription {
                name,
                state: d.group_state.to_string(),
                error: (d.error_code != 0)
                    .then(|| code_text(d.error_code, d.error_message.as_ref())),
                members: d
                    .members
                    .into_iter()
                    .map(|m| Member {
                        client_id: m.client_id.to_string(),
                        consumer_id: m.member_id.to_string(),
                        host: m.client_host.to_string(),
                        assignment: m
                            .assignment
                            .topic_partitions
                            .into_iter()
                            .flat_map(|t| {
                                let topic = t.topic_name.to_string();
                                t.partitions.into_iter().map(move |p| (topic.clone(), p))
                            })
                            .collect(),
                    })
                    .collect(),
            }),
        );
    }
    Ok(())
}

/// A classic consumer member's assignment: version (i16), then ConsumerProtocolAssignment.
/// Unreadable bytes give no assignment (the offsets are still right).
fn assignment(mut b: Bytes) -> Vec<(String, i32)> {
    if b.remaining() < 2 {
        return Vec::new();
    }
    // Newer versions only add fields at the end: read them as the newest known one.
    let v = b
        .get_i16()
        .clamp(0, ConsumerProtocolAssignment::VERSIONS.max);
    match ConsumerProtocolAssignment::decode(&mut b, v) {
        Ok(a) => a
            .assigned_partitions
            .into_iter()
            .flat_map(|t| {
                let topic = t.topic.to_string();
                t.partitions.into_iter().map(move |p| (topic.clone(), p))
            })
            .collect(),
        Err(e) => {
            tracing::debug!(error = %e, "unreadable member assignment");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
    use kafka_protocol::protocol::Encodable;

    #[test]
    fn member_assignment_decodes_every_version_and_tolerates_junk() {
        for v in 0..=3i16 {
            let mut tp = TopicPartition::default();
            tp.topic = TopicName(StrBytes::from_static_str("orders"));
            tp.partitions = vec![0, 2];
            let mut a = ConsumerProtocolAssignment::default();
            a.assigned_partitions = vec![tp];
            let mut buf = bytes::BytesMut::new();
            buf.put_i16(v);
            a.encode(&mut buf, v).expect("encode");
            assert_eq!(
                assignment(buf.freeze()),
                vec![("orders".to_string(), 0), ("orders".to_string(), 2)],
                "version {v}"
            );
        }
        assert!(assignment(Bytes::new()).is_empty());
        assert!(assignment(Bytes::from_static(&[0, 1, 0xff, 0xff, 0xff, 0x7f])).is_empty());
    }

    #[test]
    fn offsets_come_in_a_few_pieces_whatever_the_groups() {
        assert_eq!(piece_len(0), 1);
        assert_eq!(piece_len(200), 200, "one request up to 250 groups");
        assert_eq!(piece_len(251), 126);
        assert_eq!(piece_len(1_000), 250);
        assert_eq!(10_000usize.div_ceil(piece_len(10_000)), OFFSET_PIECES);
    }

    #[test]
    fn coordinator_errors_that_mean_ask_again() {
        assert!(moved(NOT_COORDINATOR) && moved(COORDINATOR_NOT_AVAILABLE));
        assert!(moved(COORDINATOR_LOAD_IN_PROGRESS) && !moved(GROUP_ID_NOT_FOUND));
        assert_eq!(code_text(NOT_COORDINATOR, None), "not coordinator");
        assert_eq!(code_text(-1, None), "unknown server error");
        assert_eq!(code_text(9999, None), "Kafka error 9999");
        assert_eq!(
            code_text(16, Some(&StrBytes::from_static_str("moved"))),
            "moved"
        );
    }
}
