//! A small safe wrapper over librdkafka's admin API (through `rdkafka-sys`), for the calls
//! the `rdkafka` crate does not expose: `ListOffsets`, `DescribeCluster`,
//! `ListConsumerGroups`, `DescribeConsumerGroups`, `ListConsumerGroupOffsets`,
//! `AlterConsumerGroupOffsets`, `ElectLeaders`.
//!
//! Every librdkafka object is owned by an RAII type (`Queue`, `Options`, `Event`,
//! `PartList`) that destroys it on drop; results are copied into owned Rust values before
//! the event holding them is destroyed. All calls block (up to the admin's timeout) and
//! must run in `spawn_blocking`. Requests are sent asynchronously on one result queue and
//! then awaited together, so N group-offset requests are in flight at once.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::bindings as rd;
use rdkafka::client::{Client, ClientContext};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaType;

/// Routes librdkafka's logs and errors to `tracing` (the log file), never the terminal.
pub struct LogContext;

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", fac, "{msg}"),
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", fac, "{msg}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", fac, "{msg}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", fac, "{msg}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", %error, "{reason}");
    }
}

fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: librdkafka returns NUL-terminated strings valid while their owner lives.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

fn err_name(code: rd::rd_kafka_resp_err_t) -> String {
    // SAFETY: rd_kafka_err2str returns a static string for any code.
    cstr(unsafe { rd::rd_kafka_err2str(code) })
}

fn error_string(e: *const rd::rd_kafka_error_t) -> Option<String> {
    if e.is_null() {
        return None;
    }
    // SAFETY: e is a valid error object owned by the enclosing result.
    Some(cstr(unsafe { rd::rd_kafka_error_string(e) }))
}

fn c(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("name contains a NUL byte: {s:?}"))
}

struct Queue(*mut rd::rd_kafka_queue_t);
impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: we own this queue reference.
        unsafe { rd::rd_kafka_queue_destroy(self.0) }
    }
}

struct Options(*mut rd::rd_kafka_AdminOptions_t);
impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_AdminOptions_new; requests copy what they need.
        unsafe { rd::rd_kafka_AdminOptions_destroy(self.0) }
    }
}

struct Event(*mut rd::rd_kafka_event_t);
impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: we own the event returned by rd_kafka_queue_poll.
        unsafe { rd::rd_kafka_event_destroy(self.0) }
    }
}

impl Event {
    fn tag(&self) -> usize {
        // SAFETY: valid event; the opaque is the integer tag we set.
        unsafe { rd::rd_kafka_event_opaque(self.0) as usize }
    }
    fn check(&self) -> Result<(), String> {
        // SAFETY: valid event.
        let code = unsafe { rd::rd_kafka_event_error(self.0) };
        if code == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            Ok(())
        } else {
            Err(cstr(unsafe { rd::rd_kafka_event_error_string(self.0) }))
        }
    }
}

/// An owned config resource (a topic's, here).
struct Resource(*mut rd::rd_kafka_ConfigResource_t);
impl Drop for Resource {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_ConfigResource_new; requests copy it.
        unsafe { rd::rd_kafka_ConfigResource_destroy(self.0) }
    }
}
impl Resource {
    fn topic(name: &str) -> Result<Self, String> {
        let name = c(name)?;
        // SAFETY: the name is copied.
        Ok(Resource(unsafe {
            rd::rd_kafka_ConfigResource_new(
                rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
                name.as_ptr(),
            )
        }))
    }
}

/// An owned topic-partition list.
struct PartList(*mut rd::rd_kafka_topic_partition_list_t);
impl Drop for PartList {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_topic_partition_list_new; requests copy it.
        unsafe { rd::rd_kafka_topic_partition_list_destroy(self.0) }
    }
}

impl PartList {
    fn new(parts: &[(String, i32, i64)]) -> Result<Self, String> {
        // SAFETY: plain allocation; filled through the API below.
        let list =
            PartList(unsafe { rd::rd_kafka_topic_partition_list_new(parts.len().max(1) as i32) });
        for (t, p, off) in parts {
            let name = c(t)?;
            // SAFETY: list is valid; the topic name is copied by librdkafka.
            let tp = unsafe { rd::rd_kafka_topic_partition_list_add(list.0, name.as_ptr(), *p) };
            if !tp.is_null() {
                // SAFETY: tp points into the list just extended.
                unsafe { (*tp).offset = *off };
            }
        }
        Ok(list)
    }
}

/// Copies a borrowed list out: (topic, partition, offset, error).
fn read_list(
    list: *const rd::rd_kafka_topic_partition_list_t,
) -> Vec<(String, i32, i64, Option<String>)> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: list is valid while its owning event lives; cnt elements are initialised.
    let l = unsafe { &*list };
    (0..l.cnt.max(0) as usize)
        .map(|i| {
            let e = unsafe { &*l.elems.add(i) };
            let err = (e.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
                .then(|| err_name(e.err));
            (cstr(e.topic), e.partition, e.offset, err)
        })
        .collect()
}

/// Reads a C array of `n` pointers.
fn slice<'a, T>(p: *mut *const T, n: usize) -> &'a [*const T] {
    if p.is_null() || n == 0 {
        &[]
    } else {
        // SAFETY: librdkafka returns an array of n valid pointers owned by the event.
        unsafe { std::slice::from_raw_parts(p, n) }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub controller: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub client_id: String,
    pub consumer_id: String,
    pub host: String,
    pub assignment: Vec<(String, i32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupDescription {
    pub name: String,
    pub state: String,
    pub error: Option<String>,
    pub members: Vec<Member>,
}

/// Committed offsets of one group (only partitions with one): per topic, sorted by name, its
/// name once and (partition, offset) pairs sorted by partition. 16 bytes a partition where a
/// map keyed by (topic, partition) took about 100 (a string per partition, the table's
/// slack); a poll's answer at 1,000 groups on 10,000 partitions holds 80,000 of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    topics: Vec<(String, Vec<(i32, i64)>)>,
}

impl Committed {
    pub fn new() -> Self {
        Self::default()
    }

    fn topic_mut(&mut self, topic: &str) -> &mut Vec<(i32, i64)> {
        let i = match self.topics.binary_search_by(|(t, _)| t.as_str().cmp(topic)) {
            Ok(i) => i,
            Err(i) => {
                self.topics.insert(i, (topic.to_string(), Vec::new()));
                i
            }
        };
        &mut self.topics[i].1
    }

    /// Sets the offset of `topic[partition]`; the one it replaces, if any.
    pub fn set(&mut self, topic: &str, partition: i32, offset: i64) -> Option<i64> {
        put(self.topic_mut(topic), partition, offset)
    }

    /// [`Committed::set`] with the key as a map would take it.
    pub fn insert(&mut self, (topic, partition): (String, i32), offset: i64) -> Option<i64> {
        self.set(&topic, partition, offset)
    }

    /// A topic's (partition, offset) pairs at once, kept at exactly their number (a decoded
    /// answer gives each topic whole).
    pub fn set_topic(&mut self, topic: &str, pairs: impl IntoIterator<Item = (i32, i64)>) {
        let parts = self.topic_mut(topic);
        for (p, o) in pairs {
            put(parts, p, o);
        }
        parts.shrink_to_fit();
        if parts.is_empty() {
            self.topics.retain(|(_, ps)| !ps.is_empty());
        }
    }

    pub fn get(&self, topic: &str, partition: i32) -> Option<i64> {
        offset_in(self.topic(topic)?, partition)
    }

    /// A topic's (partition, offset) pairs, sorted by partition (`offset_in` reads one):
    /// the topic's name is looked up once for all its partitions.
    pub fn topic(&self, topic: &str) -> Option<&[(i32, i64)]> {
        let i = self
            .topics
            .binary_search_by(|(t, _)| t.as_str().cmp(topic))
            .ok()?;
        Some(&self.topics[i].1)
    }

    /// ((topic, partition), offset), by topic then partition.
    pub fn iter(&self) -> impl Iterator<Item = ((&str, i32), i64)> + '_ {
        self.topics
            .iter()
            .flat_map(|(t, ps)| ps.iter().map(move |&(p, o)| ((t.as_str(), p), o)))
    }

    pub fn keys(&self) -> impl Iterator<Item = (&str, i32)> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// The topics with a committed offset, each once.
    pub fn topics(&self) -> impl Iterator<Item = &str> + '_ {
        self.topics.iter().map(|(t, _)| t.as_str())
    }

    pub fn len(&self) -> usize {
        self.topics.iter().map(|(_, ps)| ps.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }
}

/// `partition`'s offset in pairs sorted by partition (`Committed::topic`).
pub fn offset_in(parts: &[(i32, i64)], partition: i32) -> Option<i64> {
    let j = parts.binary_search_by_key(&partition, |p| p.0).ok()?;
    Some(parts[j].1)
}

/// Sets `partition`'s offset in pairs sorted by partition; the one it replaces, if any.
fn put(parts: &mut Vec<(i32, i64)>, partition: i32, offset: i64) -> Option<i64> {
    match parts.binary_search_by_key(&partition, |p| p.0) {
        Ok(j) => Some(std::mem::replace(&mut parts[j].1, offset)),
        Err(j) => {
            parts.insert(j, (partition, offset));
            None
        }
    }
}

impl FromIterator<((String, i32), i64)> for Committed {
    fn from_iter<I: IntoIterator<Item = ((String, i32), i64)>>(it: I) -> Committed {
        let mut c = Committed::new();
        for (k, o) in it {
            c.insert(k, o);
        }
        c
    }
}

/// One partition's election: Ok(true) elected, Ok(false) already the preferred leader.
pub type ElectResult = (String, i32, Result<bool, String>);

/// One offset per partition.
pub type Offsets = HashMap<(String, i32), i64>;

/// Low and high watermark of each partition.
pub type Watermarks = HashMap<(String, i32), (i64, i64)>;

fn join_watermarks(
    low: HashMap<(String, i32), i64>,
    high: HashMap<(String, i32), i64>,
) -> Watermarks {
    high.into_iter()
        .map(|(k, h)| {
            let l = low.get(&k).copied().unwrap_or(h);
            (k, (l, h))
        })
        .collect()
}

/// One long-lived librdkafka handle plus its admin result queue.
pub struct Admin {
    // Field order is drop order: queues before the client that owns them.
    queue: Queue,
    main: Queue,
    client: Client<LogContext>,
    timeout: Duration,
}

// SAFETY: librdkafka handles and queues are thread-safe; an Admin is used by one thread at a
// time (it is moved into spawn_blocking), never shared.
unsafe impl Send for Admin {}

impl Admin {
    pub fn new(cfg: &ClientConfig, timeout: Duration) -> Result<Self, String> {
        let native = cfg.create_native_config().map_err(|e| e.to_string())?;
        // librdkafka only has consumer and producer handles; a producer that never produces
        // is the lightest (as rdkafka's AdminClient does). It never joins a group.
        let client = Client::new(cfg, native, RDKafkaType::RD_KAFKA_PRODUCER, LogContext)
            .map_err(|e| e.to_string())?;
        // SAFETY: the handle is valid; both queue references are released in Drop.
        let queue = Queue(unsafe { rd::rd_kafka_queue_new(client.native_ptr()) });
        let main = Queue(unsafe { rd::rd_kafka_queue_get_main(client.native_ptr()) });
        Ok(Admin {
            queue,
            main,
            client,
            timeout,
        })
    }

    /// Hands queued librdkafka log lines to the ClientContext (rdkafka sends logs to the
    /// main queue, which nothing else polls for this handle).
    pub fn drain_logs(&self) {
        loop {
            // SAFETY: valid queue; a 0 ms poll never blocks.
            let ev = unsafe { rd::rd_kafka_queue_poll(self.main.0, 0) };
            if ev.is_null() {
                return;
            }
            let ev = Event(ev);
            if unsafe { rd::rd_kafka_event_type(ev.0) } == rd::RD_KAFKA_EVENT_LOG {
                let (mut fac, mut msg, mut level) = (ptr::null(), ptr::null(), 0);
                if unsafe { rd::rd_kafka_event_log(ev.0, &mut fac, &mut msg, &mut level) } == 0 {
                    let level = match level {
                        0..=3 => RDKafkaLogLevel::Error,
                        4 => RDKafkaLogLevel::Warning,
                        5 | 6 => RDKafkaLogLevel::Info,
                        _ => RDKafkaLogLevel::Debug,
                    };
                    self.client
                        .context()
                        .log(level, cstr(fac).trim(), cstr(msg).trim());
                }
            }
        }
    }

    pub fn metadata(&self) -> Result<Metadata, String> {
        self.client
            .fetch_metadata(None, self.timeout)
            .map_err(|e| format!("metadata: {e}"))
    }

    fn options(
        &self,
        op: rd::rd_kafka_admin_op_t,
        tag: usize,
        validate_only: bool,
    ) -> Result<Options, String> {
        // SAFETY: valid handle; options are destroyed by Options' Drop.
        let o = Options(unsafe { rd::rd_kafka_AdminOptions_new(self.client.native_ptr(), op) });
        if o.0.is_null() {
            return Err("librdkafka refused admin options".into());
        }
        let mut buf = [0 as c_char; 256];
        let ms = self.timeout.as_millis().min(i32::MAX as u128) as i32;
        unsafe {
            rd::rd_kafka_AdminOptions_set_request_timeout(o.0, ms, buf.as_mut_ptr(), buf.len());
            rd::rd_kafka_AdminOptions_set_opaque(o.0, tag as *mut c_void);
            if validate_only {
                rd::rd_kafka_AdminOptions_set_validate_only(o.0, 1, buf.as_mut_ptr(), buf.len());
            }
        }
        Ok(o)
    }

    /// Waits for `n` result events on the admin queue (or the timeout).
    fn wait(&self, n: usize) -> Result<Vec<Event>, String> {
        let deadline = Instant::now() + self.timeout + Duration::from_secs(1);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "no admin answer within {}s ({} of {n} results)",
                    self.timeout.as_secs(),
                    out.len()
                ));
            }
            // SAFETY: valid queue; blocks at most `left`.
            let ev = unsafe { rd::rd_kafka_queue_poll(self.queue.0, left.as_millis() as i32) };
            if !ev.is_null() {
                out.push(Event(ev));
            }
        }
        self.drain_logs();
        Ok(out)
    }

    /// Brokers (with rack) and the controller, in one request.
    pub fn describe_cluster(&self) -> Result<Cluster, String> {
        let o = self.options(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER,
            0,
            false,
        )?;
        unsafe { rd::rd_kafka_DescribeCluster(self.client.native_ptr(), o.0, self.queue.0) };
        let evs = self.wait(1)?;
        let ev = &evs[0];
        ev.check().map_err(|e| format!("describe cluster: {e}"))?;
        let res = unsafe { rd::rd_kafka_event_DescribeCluster_result(ev.0) };
        if res.is_null() {
            return Err("describe cluster: unexpected event".into());
        }
        let mut n = 0;
        let nodes = unsafe { rd::rd_kafka_DescribeCluster_result_nodes(res, &mut n) };
        let node = |p: *const rd::rd_kafka_Node_t| unsafe {
            let rack = rd::rd_kafka_Node_rack(p);
            Node {
                id: rd::rd_kafka_Node_id(p),
                host: cstr(rd::rd_kafka_Node_host(p)),
                port: rd::rd_kafka_Node_port(p),
                rack: (!rack.is_null()).then(|| cstr(rack)),
            }
        };
        let nodes = slice(nodes, n).iter().map(|p| node(*p)).collect();
        let ctl = unsafe { rd::rd_kafka_DescribeCluster_result_controller(res) };
        Ok(Cluster {
            nodes,
            controller: (!ctl.is_null()).then(|| unsafe { rd::rd_kafka_Node_id(ctl) }),
        })
    }

    /// Offsets for `spec` of each partition, in one ListOffsets call (librdkafka groups it
    /// into one request per partition leader). `spec`: -2 earliest, -1 latest, or a
    /// timestamp in ms (the first offset at or after it).
    /// With `read_committed`, LATEST is the last stable offset (open transactions excluded).
    fn list_offsets_send(
        &self,
        parts: &[(String, i32)],
        spec: i64,
        tag: usize,
        read_committed: bool,
    ) -> Result<(), String> {
        let list = PartList::new(
            &parts
                .iter()
                .map(|(t, p)| (t.clone(), *p, spec))
                .collect::<Vec<_>>(),
        )?;
        let o = self.options(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS,
            tag,
            false,
        )?;
        if read_committed {
            // SAFETY: valid options for ListOffsets; the error, if any, is ours to free.
            let e = unsafe {
                rd::rd_kafka_AdminOptions_set_isolation_level(
                    o.0,
                    rd::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_COMMITTED,
                )
            };
            if let Some(msg) = error_string(e) {
                unsafe { rd::rd_kafka_error_destroy(e) };
                return Err(format!("list offsets: {msg}"));
            }
        }
        // SAFETY: librdkafka copies the list and options.
        unsafe { rd::rd_kafka_ListOffsets(self.client.native_ptr(), list.0, o.0, self.queue.0) };
        Ok(())
    }

    fn list_offsets_read(ev: &Event) -> Result<HashMap<(String, i32), i64>, String> {
        ev.check().map_err(|e| format!("list offsets: {e}"))?;
        let res = unsafe { rd::rd_kafka_event_ListOffsets_result(ev.0) };
        if res.is_null() {
            return Err("list offsets: unexpected event".into());
        }
        let mut n = 0;
        let infos = unsafe { rd::rd_kafka_ListOffsets_result_infos(res, &mut n) };
        let mut out = HashMap::new();
        for info in slice(infos, n) {
            let tp = unsafe { rd::rd_kafka_ListOffsetsResultInfo_topic_partition(*info) };
            if tp.is_null() {
                continue;
            }
            let tp = unsafe { &*tp };
            if tp.err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                out.insert((cstr(tp.topic), tp.partition), tp.offset);
            }
        }
        Ok(out)
    }

    /// Offsets at `spec` (see `list_offsets_send`); partitions in error are left out.
    pub fn offsets_at(
        &self,
        parts: &[(String, i32)],
        spec: i64,
    ) -> Result<HashMap<(String, i32), i64>, String> {
        if parts.is_empty() {
            return Ok(HashMap::new());
        }
        self.list_offsets_send(parts, spec, 0, false)?;
        let evs = self.wait(1)?;
        Self::list_offsets_read(&evs[0])
    }

    /// Low and high watermarks of all `parts`: two ListOffsets calls in flight together.
    pub fn watermarks(&self, parts: &[(String, i32)]) -> Result<Watermarks, String> {
        if parts.is_empty() {
            return Ok(HashMap::new());
        }
        self.list_offsets_send(parts, -2, 0, false)?;
        self.list_offsets_send(parts, -1, 1, false)?;
        let evs = self.wait(2)?;
        let (mut low, mut high) = (HashMap::new(), HashMap::new());
        for ev in &evs {
            let m = Self::list_offsets_read(ev)?;
            if ev.tag() == 0 { low = m } else { high = m }
        }
        Ok(join_watermarks(low, high))
    }

    /// Watermarks plus the last stable offsets (a third ListOffsets, READ_COMMITTED, in
    /// flight with the other two). A failed stable-offset request only logs and leaves the
    /// map empty: lag is then measured against the high watermark.
    pub fn watermarks_and_stable(
        &self,
        parts: &[(String, i32)],
    ) -> Result<(Watermarks, Offsets), String> {
        if parts.is_empty() {
            return Ok((HashMap::new(), HashMap::new()));
        }
        self.list_offsets_send(parts, -2, 0, false)?;
        self.list_offsets_send(parts, -1, 1, false)?;
        let stable_sent = self.list_offsets_send(parts, -1, 2, true);
        if let Err(e) = &stable_sent {
            tracing::warn!(error = %e, "last stable offsets");
        }
        let evs = self.wait(if stable_sent.is_ok() { 3 } else { 2 })?;
        let (mut low, mut high, mut stable) = (HashMap::new(), HashMap::new(), HashMap::new());
        for ev in &evs {
            match ev.tag() {
                0 => low = Self::list_offsets_read(ev)?,
                1 => high = Self::list_offsets_read(ev)?,
                _ => match Self::list_offsets_read(ev) {
                    Ok(m) => stable = m,
                    Err(e) => tracing::warn!(error = %e, "last stable offsets"),
                },
            }
        }
        // A partition missing either end is unanswered this poll (a guessed log start would
        // show records as lost).
        let both = high
            .into_iter()
            .filter_map(|(k, h)| low.get(&k).map(|l| (k, (*l, h))))
            .collect();
        Ok((both, stable))
    }

    /// All consumer groups' names (one request per broker).
    pub fn list_groups(&self) -> Result<Vec<String>, String> {
        self.list_groups_checked().map(|(names, _)| names)
    }

    /// All consumer groups' names, and the errors of the brokers that did not answer (their
    /// groups are missing from the list, not gone).
    pub fn list_groups_checked(&self) -> Result<(Vec<String>, Vec<String>), String> {
        let o = self.options(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS,
            0,
            false,
        )?;
        unsafe { rd::rd_kafka_ListConsumerGroups(self.client.native_ptr(), o.0, self.queue.0) };
        let evs = self.wait(1)?;
        let ev = &evs[0];
        ev.check().map_err(|e| format!("list groups: {e}"))?;
        let res = unsafe { rd::rd_kafka_event_ListConsumerGroups_result(ev.0) };
        if res.is_null() {
            return Err("list groups: unexpected event".into());
        }
        let mut n = 0;
        let valid = unsafe { rd::rd_kafka_ListConsumerGroups_result_valid(res, &mut n) };
        let mut names: Vec<String> = slice(valid, n)
            .iter()
            .map(|g| cstr(unsafe { rd::rd_kafka_ConsumerGroupListing_group_id(*g) }))
            .collect();
        let mut ne = 0;
        let errs = unsafe { rd::rd_kafka_ListConsumerGroups_result_errors(res, &mut ne) };
        let mut errors = Vec::new();
        for e in slice(errs, ne) {
            if let Some(e) = error_string(*e) {
                tracing::warn!(error = %e, "listing consumer groups on one broker failed");
                errors.push(e);
            }
        }
        names.sort();
        names.dedup();
        Ok((names, errors))
    }

    /// State and members (client id, host, assignment) of `groups`, in one call.
    pub fn describe_groups(&self, groups: &[String]) -> Result<Vec<GroupDescription>, String> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let names = groups.iter().map(|g| c(g)).collect::<Result<Vec<_>, _>>()?;
        let mut ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
        let o = self.options(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
            0,
            false,
        )?;
        // SAFETY: librdkafka copies the names.
        unsafe {
            rd::rd_kafka_DescribeConsumerGroups(
                self.client.native_ptr(),
                ptrs.as_mut_ptr(),
                ptrs.len(),
                o.0,
                self.queue.0,
            )
        };
        let evs = self.wait(1)?;
        let ev = &evs[0];
        ev.check().map_err(|e| format!("describe groups: {e}"))?;
        let res = unsafe { rd::rd_kafka_event_DescribeConsumerGroups_result(ev.0) };
        if res.is_null() {
            return Err("describe groups: unexpected event".into());
        }
        let mut n = 0;
        let descs = unsafe { rd::rd_kafka_DescribeConsumerGroups_result_groups(res, &mut n) };
        Ok(slice(descs, n)
            .iter()
            .map(|d| unsafe {
                let d = *d;
                let members = (0..rd::rd_kafka_ConsumerGroupDescription_member_count(d))
                    .map(|i| {
                        let m = rd::rd_kafka_ConsumerGroupDescription_member(d, i);
                        let a = rd::rd_kafka_MemberDescription_assignment(m);
                        let parts = if a.is_null() {
                            ptr::null()
                        } else {
                            rd::rd_kafka_MemberAssignment_partitions(a)
                        };
                        Member {
                            client_id: cstr(rd::rd_kafka_MemberDescription_client_id(m)),
                            consumer_id: cstr(rd::rd_kafka_MemberDescription_consumer_id(m)),
                            host: cstr(rd::rd_kafka_MemberDescription_host(m)),
                            assignment: read_list(parts)
                                .into_iter()
                                .map(|(t, p, _, _)| (t, p))
                                .collect(),
                        }
                    })
                    .collect();
                GroupDescription {
                    name: cstr(rd::rd_kafka_ConsumerGroupDescription_group_id(d)),
                    state: cstr(rd::rd_kafka_consumer_group_state_name(
                        rd::rd_kafka_ConsumerGroupDescription_state(d),
                    )),
                    error: error_string(rd::rd_kafka_ConsumerGroupDescription_error(d)),
                    members,
                }
            })
            .collect())
    }

    /// Committed offsets of every group in `groups`. librdkafka takes one group per
    /// ListConsumerGroupOffsets request, so all requests are sent first on the one queue and
    /// awaited together.
    pub fn group_offsets(
        &self,
        groups: &[String],
    ) -> Result<HashMap<String, Result<Committed, String>>, String> {
        self.group_offsets_send(groups)?;
        self.group_offsets_recv(groups)
    }

    /// Committed offsets of `groups`, spread over several clients (connections). Measured
    /// by `benches/kafka_poll.rs` against one client; the poller does not use it, since it
    /// did not help reliably on one broker.
    pub fn group_offsets_on(
        clients: &[&Admin],
        groups: &[String],
    ) -> Result<HashMap<String, Result<Committed, String>>, String> {
        if clients.len() <= 1 || groups.len() < 2 {
            return match clients.first() {
                Some(a) => a.group_offsets(groups),
                None => Err("no Kafka client".into()),
            };
        }
        let chunks: Vec<&[String]> = groups
            .chunks(groups.len().div_ceil(clients.len()))
            .collect();
        for (a, c) in clients.iter().zip(&chunks) {
            a.group_offsets_send(c)?;
        }
        let mut out = HashMap::new();
        for (a, c) in clients.iter().zip(&chunks) {
            out.extend(a.group_offsets_recv(c)?);
        }
        Ok(out)
    }

    fn group_offsets_send(&self, groups: &[String]) -> Result<(), String> {
        for (i, g) in groups.iter().enumerate() {
            let name = c(g)?;
            // SAFETY: NULL partitions = all committed partitions; the request object is
            // copied by the call and destroyed right after.
            let mut req =
                unsafe { rd::rd_kafka_ListConsumerGroupOffsets_new(name.as_ptr(), ptr::null()) };
            let o = self.options(
                rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
                i,
                false,
            )?;
            unsafe {
                rd::rd_kafka_ListConsumerGroupOffsets(
                    self.client.native_ptr(),
                    &mut req,
                    1,
                    o.0,
                    self.queue.0,
                );
                rd::rd_kafka_ListConsumerGroupOffsets_destroy(req);
            }
        }
        Ok(())
    }

    fn group_offsets_recv(
        &self,
        groups: &[String],
    ) -> Result<HashMap<String, Result<Committed, String>>, String> {
        let evs = self.wait(groups.len())?;
        let mut out = HashMap::new();
        for ev in &evs {
            let Some(group) = groups.get(ev.tag()) else {
                continue;
            };
            let r = (|| {
                ev.check()?;
                let res = unsafe { rd::rd_kafka_event_ListConsumerGroupOffsets_result(ev.0) };
                if res.is_null() {
                    return Err("unexpected event".to_string());
                }
                let mut n = 0;
                let grs =
                    unsafe { rd::rd_kafka_ListConsumerGroupOffsets_result_groups(res, &mut n) };
                let mut m = Committed::new();
                for gr in slice(grs, n) {
                    if let Some(e) = error_string(unsafe { rd::rd_kafka_group_result_error(*gr) }) {
                        return Err(e);
                    }
                    for (t, p, off, err) in
                        read_list(unsafe { rd::rd_kafka_group_result_partitions(*gr) })
                    {
                        if err.is_none() && off >= 0 {
                            m.set(&t, p, off);
                        }
                    }
                }
                Ok(m)
            })();
            out.insert(group.clone(), r);
        }
        Ok(out)
    }

    /// Commits `offsets` for `group` (the group must have no members).
    pub fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<(), String> {
        let name = c(group)?;
        let list = PartList::new(offsets)?;
        let o = self.options(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS,
            0,
            false,
        )?;
        unsafe {
            let mut req = rd::rd_kafka_AlterConsumerGroupOffsets_new(name.as_ptr(), list.0);
            rd::rd_kafka_AlterConsumerGroupOffsets(
                self.client.native_ptr(),
                &mut req,
                1,
                o.0,
                self.queue.0,
            );
            rd::rd_kafka_AlterConsumerGroupOffsets_destroy(req);
        }
        let evs = self.wait(1)?;
        let ev = &evs[0];
        ev.check()?;
        let res = unsafe { rd::rd_kafka_event_AlterConsumerGroupOffsets_result(ev.0) };
        if res.is_null() {
            return Err("alter offsets: unexpected event".into());
        }
        let mut n = 0;
        let grs = unsafe { rd::rd_kafka_AlterConsumerGroupOffsets_result_groups(res, &mut n) };
        for gr in slice(grs, n) {
            if let Some(e) = error_string(unsafe { rd::rd_kafka_group_result_error(*gr) }) {
                return Err(e);
            }
            for (t, p, _, err) in read_list(unsafe { rd::rd_kafka_group_result_partitions(*gr) }) {
                if let Some(e) = err {
                    return Err(format!("{t}[{p}]: {e}"));
                }
            }
        }
        Ok(())
    }

    /// Sets `configs` on `topic` with IncrementalAlterConfigs: only the named keys change
    /// (the older AlterConfigs would reset every other dynamic config of the topic).
    pub fn set_topic_configs(
        &self,
        topic: &str,
        configs: &[(String, String)],
        validate_only: bool,
    ) -> Result<(), String> {
        let res = Resource::topic(topic)?;
        for (k, v) in configs {
            let (k, v) = (c(k)?, c(v)?);
            // SAFETY: valid resource; key and value are copied; the error is ours to free.
            let e = unsafe {
                rd::rd_kafka_ConfigResource_add_incremental_config(
                    res.0,
                    k.as_ptr(),
                    rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET,
                    v.as_ptr(),
                )
            };
            if let Some(msg) = error_string(e) {
                unsafe { rd::rd_kafka_error_destroy(e) };
                return Err(msg);
            }
        }
        let o = self.options(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
            0,
            validate_only,
        )?;
        let mut arr = [res.0];
        unsafe {
            rd::rd_kafka_IncrementalAlterConfigs(
                self.client.native_ptr(),
                arr.as_mut_ptr(),
                1,
                o.0,
                self.queue.0,
            )
        };
        let evs = self.wait(1)?;
        let ev = &evs[0];
        ev.check()?;
        let r = unsafe { rd::rd_kafka_event_IncrementalAlterConfigs_result(ev.0) };
        if r.is_null() {
            return Err("alter configs: unexpected event".into());
        }
        let mut n = 0;
        let rs = unsafe { rd::rd_kafka_IncrementalAlterConfigs_result_resources(r, &mut n) };
        for x in slice(rs, n) {
            let code = unsafe { rd::rd_kafka_ConfigResource_error(*x) };
            if code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                let why = cstr(unsafe { rd::rd_kafka_ConfigResource_error_string(*x) });
                return Err(if why.is_empty() { err_name(code) } else { why });
            }
        }
        Ok(())
    }

    /// Preferred leader election for `partitions` (None: every partition of the cluster).
    /// Per partition: Ok(true) elected, Ok(false) already led by its preferred replica
    /// (the broker's ELECTION_NOT_NEEDED), Err(reason) otherwise. With None the broker only
    /// reports the partitions it elected or failed to elect.
    pub fn elect_leaders(
        &self,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<Vec<ElectResult>, String> {
        let list = partitions
            .map(|ps| {
                PartList::new(
                    &ps.iter()
                        .map(|(t, p)| (t.clone(), *p, rd::RD_KAFKA_OFFSET_INVALID as i64))
                        .collect::<Vec<_>>(),
                )
            })
            .transpose()?;
        let o = self.options(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ELECTLEADERS,
            0,
            false,
        )?;
        let ms = self.timeout.as_millis().min(i32::MAX as u128) as i32;
        let mut buf = [0 as c_char; 256];
        // SAFETY: valid options; the broker waits at most this long for the elections.
        unsafe {
            rd::rd_kafka_AdminOptions_set_operation_timeout(o.0, ms, buf.as_mut_ptr(), buf.len())
        };
        // SAFETY: the request copies the list (NULL = all partitions); the request object is
        // copied by rd_kafka_ElectLeaders and destroyed right after.
        unsafe {
            let req = rd::rd_kafka_ElectLeaders_new(
                rd::rd_kafka_ElectionType_t::RD_KAFKA_ELECTION_TYPE_PREFERRED,
                list.as_ref().map_or(ptr::null_mut(), |l| l.0),
            );
            if req.is_null() {
                return Err("librdkafka refused the election request".into());
            }
            rd::rd_kafka_ElectLeaders(self.client.native_ptr(), req, o.0, self.queue.0);
            rd::rd_kafka_ElectLeaders_destroy(req);
        }
        let evs = self.wait(1)?;
        let ev = &evs[0];
        ev.check().map_err(|e| format!("elect leaders: {e}"))?;
        let res = unsafe { rd::rd_kafka_event_ElectLeaders_result(ev.0) };
        if res.is_null() {
            return Err("elect leaders: unexpected event".into());
        }
        let mut n = 0;
        let parts = unsafe { rd::rd_kafka_ElectLeaders_result_partitions(res, &mut n) };
        let mut out: Vec<ElectResult> = slice(parts, n)
            .iter()
            .filter_map(|r| {
                // SAFETY: r and what it points to live as long as the event.
                let tp = unsafe { rd::rd_kafka_topic_partition_result_partition(*r) };
                if tp.is_null() {
                    return None;
                }
                let tp = unsafe { &*tp };
                let e = unsafe { rd::rd_kafka_topic_partition_result_error(*r) };
                let code = if e.is_null() {
                    rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
                } else {
                    unsafe { rd::rd_kafka_error_code(e) }
                };
                let outcome = match code {
                    rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR => Ok(true),
                    rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_ELECTION_NOT_NEEDED => Ok(false),
                    _ => Err(error_string(e)
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| err_name(code))),
                };
                Some((cstr(tp.topic), tp.partition, outcome))
            })
            .collect();
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        Ok(out)
    }

    /// The `keys` configs of every topic in `topics`, in one DescribeConfigs call.
    pub fn topic_configs(
        &self,
        topics: &[String],
        keys: &[&str],
    ) -> Result<HashMap<String, HashMap<String, String>>, String> {
        if topics.is_empty() {
            return Ok(HashMap::new());
        }
        let res = topics
            .iter()
            .map(|t| Resource::topic(t))
            .collect::<Result<Vec<_>, _>>()?;
        let mut arr: Vec<_> = res.iter().map(|r| r.0).collect();
        let o = self.options(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS,
            0,
            false,
        )?;
        // SAFETY: the resources are copied by the call.
        unsafe {
            rd::rd_kafka_DescribeConfigs(
                self.client.native_ptr(),
                arr.as_mut_ptr(),
                arr.len(),
                o.0,
                self.queue.0,
            )
        };
        let evs = self.wait(1)?;
        let ev = &evs[0];
        ev.check().map_err(|e| format!("describe configs: {e}"))?;
        let r = unsafe { rd::rd_kafka_event_DescribeConfigs_result(ev.0) };
        if r.is_null() {
            return Err("describe configs: unexpected event".into());
        }
        let mut n = 0;
        let rs = unsafe { rd::rd_kafka_DescribeConfigs_result_resources(r, &mut n) };
        let mut out = HashMap::new();
        for x in slice(rs, n) {
            if unsafe { rd::rd_kafka_ConfigResource_error(*x) }
                != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
            {
                continue;
            }
            let mut m = 0;
            let entries = unsafe { rd::rd_kafka_ConfigResource_configs(*x, &mut m) };
            let vals: HashMap<String, String> = slice(entries, m)
                .iter()
                .filter_map(|e| {
                    let k = cstr(unsafe { rd::rd_kafka_ConfigEntry_name(*e) });
                    keys.contains(&k.as_str())
                        .then(|| (k, cstr(unsafe { rd::rd_kafka_ConfigEntry_value(*e) })))
                })
                .collect();
            out.insert(cstr(unsafe { rd::rd_kafka_ConfigResource_name(*x) }), vals);
        }
        Ok(out)
    }
}
