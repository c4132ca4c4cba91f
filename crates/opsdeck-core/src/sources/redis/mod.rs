//! Redis: standalone servers, Sentinel-managed masters and Clusters.
//!
//! One poll asks the topology first (the sentinels for the master and its replicas, or a
//! cluster node for `CLUSTER NODES`), then polls every data node concurrently (`PING` timed,
//! `INFO`), and the master's `CLIENT LIST`. Connections are kept per address across polls and
//! dropped on error. A node that does not answer becomes a row with its error; the poll fails
//! only when nothing answers. Sentinel events arrive through subscriber tasks (`sentinel.rs`).

pub mod advice;
pub mod diagnostics;
mod events;
pub mod info;
pub mod latency;
pub mod model;
pub mod ops;
pub mod sentinel;
mod series;
pub mod spec;
mod system;
mod view;
pub use view::Tab;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use crate::secrets::{Secret, scrub};
use crate::sources::onscreen::OnScreen;
use crate::sources::system::Poller;

pub use info::parse_info;
pub use model::*;
pub use ops::RedisOp;
pub use spec::RedisSpec;
pub use system::Redis;

/// The name every connection of an opsdeck console gives itself (`CLIENT SETNAME`).
pub const CLIENT_NAME: &str = "opsdeck";

/// PING round trips kept per node for p50/p99 and the sparkline.
const LATENCY_WINDOW: usize = 60;
/// How long one node may take to answer before it counts as unreachable this poll.
const NODE_TIMEOUT: Duration = Duration::from_secs(2);
/// Most clients listed.
const MAX_CLIENTS: usize = 500;
/// The tab that shows `CLIENT LIST`.
const CLIENT_TABS: &[&str] = &[Tab::Clients.title()];

/// How to reach the data nodes: ACL user, password (resolved once), TLS.
#[derive(Clone)]
pub struct Auth {
    pub username: Option<String>,
    pub secret: Option<Secret>,
    pub tls: bool,
    /// PEM bytes of `tls_ca_file`.
    pub ca: Option<Vec<u8>>,
}

impl Auth {
    pub async fn from_spec(spec: &RedisSpec) -> Result<Self, String> {
        Ok(Auth {
            username: spec.username.clone(),
            secret: spec.secret().resolve_async().await?,
            tls: spec.tls,
            ca: match &spec.tls_ca_file {
                Some(f) => {
                    Some(std::fs::read(f).map_err(|e| format!("redis tls_ca_file {f}: {e}"))?)
                }
                None => None,
            },
        })
    }

    /// No credentials: sentinels usually run without the data nodes' ACL.
    pub fn sentinel(&self) -> Self {
        Auth {
            username: None,
            secret: None,
            tls: self.tls,
            ca: self.ca.clone(),
        }
    }

    pub fn scrub(&self, e: impl std::fmt::Display) -> String {
        let secrets: Vec<&Secret> = self.secret.iter().collect();
        scrub(&e.to_string(), &secrets)
    }

    /// Connection info for `host:port` (or a redis:// URL).
    pub fn info(&self, addr: &str) -> Result<redis::ConnectionInfo, String> {
        let url = if addr.contains("://") {
            addr.to_string()
        } else if self.tls {
            format!("rediss://{addr}")
        } else {
            format!("redis://{addr}")
        };
        connection_info(&url, self.username.as_deref(), self.secret.as_ref())
            .map_err(|e| self.scrub(e))
    }

    /// A client for `addr`, trusting `tls_ca_file` when set.
    pub fn client(&self, addr: &str) -> Result<redis::Client, String> {
        let info = self.info(addr)?;
        match &self.ca {
            Some(ca) if self.tls => redis::Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(ca.clone()),
                },
            ),
            _ => redis::Client::open(info),
        }
        .map_err(|e| self.scrub(e))
    }

    pub async fn connect(&self, addr: &str) -> Result<MultiplexedConnection, String> {
        let client = self.client(addr)?;
        let cfg = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(NODE_TIMEOUT));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&cfg)
            .await
            .map_err(|e| explain(&self.scrub(e), self.username.as_deref()))?;
        // Named, so the Clients tab (this console's and others') can refuse to kill it. A
        // user whose ACL forbids CLIENT SETNAME still polls.
        let _: redis::RedisResult<()> = redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(CLIENT_NAME)
            .query_async(&mut conn)
            .await;
        Ok(conn)
    }
}

pub fn connection_info(
    url: &str,
    user: Option<&str>,
    secret: Option<&Secret>,
) -> redis::RedisResult<redis::ConnectionInfo> {
    use redis::IntoConnectionInfo;
    let mut info = url.into_connection_info()?;
    let mut settings = info.redis_settings().clone();
    if let Some(u) = user {
        settings = settings.set_username(u);
    }
    if let Some(s) = secret {
        settings = settings.set_password(s.expose());
    }
    info = info.set_redis_settings(settings);
    Ok(info)
}

/// `host:port` of a configured address (`host:port` or `redis://host:port/`).
pub fn host_port(addr: &str) -> String {
    let a = addr.split_once("://").map(|(_, r)| r).unwrap_or(addr);
    let a = a.rsplit_once('@').map(|(_, r)| r).unwrap_or(a);
    a.trim_end_matches('/')
        .split('/')
        .next()
        .unwrap_or(a)
        .to_string()
}

/// Turns an ACL refusal into something a person can act on.
pub fn explain(err: &str, user: Option<&str>) -> String {
    let lower = err.to_lowercase();
    if lower.contains("noperm") {
        format!(
            "not permitted for user {} (ACL): {err}",
            user.unwrap_or("default")
        )
    } else if lower.contains("wrongpass")
        || lower.contains("noauth")
        || lower.contains("authentication")
    {
        format!("authentication failed (check username/password): {err}")
    } else {
        err.to_string()
    }
}

/// What one node's poll brings back.
struct Fetched {
    info: String,
    ping_us: u64,
}

async fn fetch_node(conn: &mut MultiplexedConnection) -> Result<Fetched, String> {
    let started = Instant::now();
    let _: String = redis::cmd("PING")
        .query_async(conn)
        .await
        .map_err(|e| format!("PING: {e}"))?;
    let ping_us = started.elapsed().as_micros() as u64;
    let info: String = redis::cmd("INFO")
        .query_async(conn)
        .await
        .map_err(|e| format!("INFO: {e}"))?;
    Ok(Fetched { info, ping_us })
}

/// Counters of the previous poll of a node, for per-second rates.
struct History {
    at: Instant,
    evicted: u64,
    expired: u64,
    hits: u64,
    misses: u64,
    latency: VecDeque<u64>,
}

pub struct RedisPoller {
    spec: RedisSpec,
    auth: Option<Auth>,
    conns: HashMap<String, MultiplexedConnection>,
    history: HashMap<String, History>,
    timeline: sentinel::Timeline,
    subscribers: HashMap<String, tokio::task::JoinHandle<()>>,
    /// Sentinels discovered through `SENTINEL SENTINELS`.
    known_sentinels: Vec<String>,
    /// Cluster nodes discovered through `CLUSTER NODES`.
    known_cluster: Vec<String>,
    last_master: Option<String>,
    /// Cluster: node id → (role, master id).
    last_roles: HashMap<String, (String, Option<String>)>,
    last_failover: Option<Failover>,
    /// `CLIENT LIST` walks every connection of the master: only while the Clients tab is
    /// open.
    clients_shown: OnScreen,
    slow_every: Duration,
    diagnosed: Option<Instant>,
    diagnostics: Vec<latency::Diagnostics>,
    /// Per node: the previous diagnostics and when (Unix s), for rates.
    prev_diagnostics: HashMap<String, (f64, latency::Diagnostics)>,
    capacity: crate::capacity::CapacitySpec,
    tracker: crate::capacity::Tracker,
    backfill: crate::capacity::prometheus::Backfill,
}

impl Drop for RedisPoller {
    fn drop(&mut self) {
        for h in self.subscribers.values() {
            h.abort();
        }
    }
}

impl RedisPoller {
    pub fn new(spec: RedisSpec) -> Self {
        Self {
            spec,
            auth: None,
            conns: HashMap::new(),
            history: HashMap::new(),
            timeline: sentinel::Timeline::default(),
            subscribers: HashMap::new(),
            known_sentinels: Vec::new(),
            known_cluster: Vec::new(),
            last_master: None,
            last_roles: HashMap::new(),
            last_failover: None,
            clients_shown: OnScreen::new(CLIENT_TABS),
            slow_every: latency::DEFAULT_SLOW,
            diagnosed: None,
            diagnostics: Vec::new(),
            prev_diagnostics: HashMap::new(),
            capacity: Default::default(),
            tracker: Default::default(),
            backfill: Default::default(),
        }
    }

    /// How often latency, slow log and command stats are read (default 30 s).
    pub fn with_slow_refresh(mut self, every: Duration) -> Self {
        self.slow_every = every;
        self
    }

    /// Forecasts over `[capacity]`'s window, backfilled from its Prometheus if set.
    pub fn with_capacity(mut self, spec: crate::capacity::CapacitySpec) -> Self {
        self.tracker = crate::capacity::Tracker::new(spec.window_secs());
        self.capacity = spec;
        self
    }

    /// Latency, slow log and command stats of every reachable node, when due.
    async fn diagnose(&mut self, sample: &mut RedisSample, auth: &Auth) {
        let now = Instant::now();
        if self
            .diagnosed
            .is_none_or(|t| now.saturating_duration_since(t) >= self.slow_every)
        {
            self.diagnosed = Some(now);
            let at = crate::capacity::now_secs();
            let mut out = Vec::new();
            let up: Vec<String> = sample
                .nodes
                .iter()
                .filter(|n| n.error.is_none())
                .map(|n| n.addr.clone())
                .collect();
            for addr in up {
                let Ok(mut c) = self.conn(&addr, auth).await else {
                    continue;
                };
                let read = latency::read(&mut c, &addr);
                let mut d = match tokio::time::timeout(NODE_TIMEOUT * 2, read).await {
                    Ok(d) => d,
                    Err(_) => latency::Diagnostics {
                        node: addr.clone(),
                        notes: vec!["no answer to LATENCY/SLOWLOG/INFO in time".into()],
                        ..Default::default()
                    },
                };
                latency::rates(&mut d, self.prev_diagnostics.get(&addr), at);
                self.prev_diagnostics.insert(addr, (at, d.clone()));
                out.push(d);
            }
            self.diagnostics = out;
        }
        sample.diagnostics = self.diagnostics.clone();
        sample.diagnostics_age_seconds = self
            .diagnosed
            .map(|t| now.saturating_duration_since(t).as_secs_f64());
        for d in &sample.diagnostics {
            for n in &d.notes {
                sample.notes.push(format!(
                    "{}: {}",
                    d.node,
                    explain(n, auth.username.as_deref())
                ));
            }
        }
    }

    /// Memory against maxmemory (or the system's memory) per node, and eviction advice.
    async fn forecast(&mut self, sample: &mut RedisSample) {
        sample.eviction = advice::advise(&sample.nodes, &sample.current_policy());
        let figures: Vec<crate::capacity::Figure> = sample
            .nodes
            .iter()
            .filter(|n| n.error.is_none())
            .map(|n| {
                let (limit, of) = if n.maxmemory > 0 {
                    (Some(n.maxmemory as f64), "maxmemory")
                } else if n.total_system_memory > 0 {
                    (
                        Some(n.total_system_memory as f64),
                        "system memory: maxmemory is 0",
                    )
                } else {
                    (None, "no limit known")
                };
                crate::capacity::Figure {
                    kind: "redis.memory",
                    subject: n.addr.clone(),
                    what: format!("node {} memory ({of})", n.addr),
                    used: n.used_memory as f64,
                    limit,
                    unit: crate::metrics::Unit::Bytes,
                    table: "Nodes",
                    key: n.addr.clone(),
                }
            })
            .collect();
        let t = crate::capacity::now_secs();
        let name = self.spec.name.clone();
        let notes = self
            .backfill
            .run(&self.capacity, &mut self.tracker, &figures, &name, t)
            .await;
        sample.notes.extend(notes);
        sample.capacity = self.tracker.observe(t, &figures);
    }

    fn mode(&self) -> &'static str {
        if !self.spec.sentinels.is_empty() {
            "sentinel"
        } else if !self.spec.cluster.is_empty() {
            "cluster"
        } else {
            "standalone"
        }
    }

    /// A kept connection to `addr`, or a new one.
    async fn conn(&mut self, addr: &str, auth: &Auth) -> Result<MultiplexedConnection, String> {
        if let Some(c) = self.conns.get(addr) {
            return Ok(c.clone());
        }
        let c = auth.connect(addr).await?;
        self.conns.insert(addr.to_string(), c.clone());
        Ok(c)
    }

    /// Polls every node concurrently; unreachable ones come back with their error.
    async fn poll_nodes(&mut self, addrs: &[String], auth: &Auth) -> Vec<NodeInfo> {
        let jobs = addrs.iter().map(|addr| {
            let kept = self.conns.get(addr).cloned();
            let auth = auth.clone();
            let addr = addr.clone();
            async move {
                let run = async {
                    let mut c = match kept {
                        Some(c) => c,
                        None => auth.connect(&addr).await?,
                    };
                    let f = fetch_node(&mut c).await?;
                    Ok::<_, String>((c, f))
                };
                let r = match tokio::time::timeout(NODE_TIMEOUT * 2, run).await {
                    Ok(r) => r,
                    Err(_) => Err(format!(
                        "no answer within {}s",
                        (NODE_TIMEOUT * 2).as_secs()
                    )),
                };
                (
                    addr,
                    r.map_err(|e| explain(&auth.scrub(e), auth.username.as_deref())),
                )
            }
        });
        let results = futures::future::join_all(jobs).await;
        let mut out = Vec::new();
        for (addr, r) in results {
            match r {
                Ok((conn, f)) => {
                    self.conns.insert(addr.clone(), conn);
                    let mut n = NodeInfo::from_info(&addr, &parse_info(&f.info));
                    self.measure(&mut n, f.ping_us);
                    out.push(n);
                }
                Err(e) => {
                    self.conns.remove(&addr);
                    out.push(NodeInfo {
                        addr,
                        error: Some(e),
                        ..Default::default()
                    });
                }
            }
        }
        out
    }

    /// Rates since the previous poll and the latency window.
    fn measure(&mut self, n: &mut NodeInfo, ping_us: u64) {
        let now = Instant::now();
        let h = self.history.entry(n.addr.clone()).or_insert(History {
            at: now,
            evicted: n.evicted_keys,
            expired: n.expired_keys,
            hits: 0,
            misses: 0,
            latency: VecDeque::new(),
        });
        let dt = now.duration_since(h.at).as_secs_f64();
        if dt > 0.0 {
            // A restart resets counters: treat a decrease as zero, not a negative rate.
            n.evicted_per_sec = Some(n.evicted_keys.saturating_sub(h.evicted) as f64 / dt);
            n.expired_per_sec = Some(n.expired_keys.saturating_sub(h.expired) as f64 / dt);
        }
        let hits = n.keyspace_hits.saturating_sub(h.hits);
        let misses = n.keyspace_misses.saturating_sub(h.misses);
        n.hit_ratio = (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64);
        h.at = now;
        h.evicted = n.evicted_keys;
        h.expired = n.expired_keys;
        h.hits = n.keyspace_hits;
        h.misses = n.keyspace_misses;
        h.latency.push_back(ping_us);
        while h.latency.len() > LATENCY_WINDOW {
            h.latency.pop_front();
        }
        let w: Vec<u64> = h.latency.iter().copied().collect();
        n.latency = Latency {
            last_us: Some(ping_us),
            p50_us: info::percentile(&w, 50),
            p99_us: info::percentile(&w, 99),
            window_us: w,
        };
    }

    fn noticed_failover(&mut self, from: String, to: String) {
        self.last_failover = Some(Failover {
            from,
            to,
            at: chrono::Utc::now().timestamp(),
        });
    }

    /// Sentinel: ask the sentinels, follow the master, keep a subscriber on each sentinel.
    async fn sentinel_topology(
        &mut self,
        auth: &Auth,
        notes: &mut Vec<String>,
    ) -> Result<(SentinelView, Vec<String>), String> {
        let name = self
            .spec
            .master
            .clone()
            .ok_or("sentinel deployments need `master` (the monitored master's name)")?;
        let sauth = auth.sentinel();
        let mut addrs: Vec<String> = self.spec.sentinels.iter().map(|s| host_port(s)).collect();
        for s in &self.known_sentinels {
            if !addrs.contains(s) {
                addrs.push(s.clone());
            }
        }
        let mut says: BTreeMap<String, Result<String, String>> = BTreeMap::new();
        let mut view: Option<SentinelView> = None;
        for a in &addrs {
            let r = async {
                let mut c = self.conn(a, &sauth).await?;
                let m = tokio::time::timeout(NODE_TIMEOUT, sentinel::master_addr(&mut c, &name))
                    .await
                    .map_err(|_| "no answer".to_string())??;
                if view.is_none() {
                    view = Some(
                        tokio::time::timeout(NODE_TIMEOUT, sentinel::view(&mut c, &name, a))
                            .await
                            .map_err(|_| "no answer".to_string())??,
                    );
                }
                Ok::<_, String>(m)
            }
            .await;
            if r.is_err() {
                self.conns.remove(a);
            }
            says.insert(a.clone(), r);
        }
        let Some(mut view) = view else {
            let why: Vec<String> = says
                .iter()
                .map(|(a, r)| format!("{a}: {}", r.as_ref().err().map_or("?", |e| e.as_str())))
                .collect();
            return Err(format!("no sentinel answered ({})", why.join("; ")));
        };
        for s in &view.sentinels {
            if !addrs.contains(&s.addr) && !self.known_sentinels.contains(&s.addr) {
                self.known_sentinels.push(s.addr.clone());
            }
        }
        // Every sentinel gets a row, asked directly when possible.
        for (a, r) in &says {
            let says_master = Some(match r {
                Ok(m) => m.clone(),
                Err(e) => format!("unreachable: {e}"),
            });
            match view.sentinels.iter_mut().find(|s| &s.addr == a) {
                Some(s) => s.says_master = says_master,
                None => view.sentinels.insert(
                    0,
                    SentinelPeer {
                        addr: a.clone(),
                        flags: "asked".into(),
                        says_master,
                    },
                ),
            }
        }
        let all: Vec<String> = view.sentinels.iter().map(|s| s.addr.clone()).collect();
        for a in all {
            let alive = self.subscribers.get(&a).is_some_and(|h| !h.is_finished());
            if !alive {
                match sauth.client(&a) {
                    Ok(i) => {
                        let h = sentinel::spawn_subscriber(a.clone(), i, self.timeline.clone());
                        self.subscribers.insert(a, h);
                    }
                    Err(e) => notes.push(format!("sentinel {a}: {e}")),
                }
            }
        }
        view.events = sentinel::snapshot(&self.timeline);
        if let Some(prev) = self.last_master.clone()
            && prev != view.master_addr
        {
            self.noticed_failover(prev, view.master_addr.clone());
        }
        self.last_master = Some(view.master_addr.clone());
        let mut nodes = vec![view.master_addr.clone()];
        nodes.extend(view.replicas.iter().map(|r| r.addr.clone()));
        Ok((view, nodes))
    }

    /// Cluster: `CLUSTER NODES` from the first node that answers; every node gets polled.
    async fn cluster_topology(
        &mut self,
        auth: &Auth,
    ) -> Result<(ClusterView, Vec<String>), String> {
        let mut candidates = self.known_cluster.clone();
        for s in &self.spec.cluster {
            let s = host_port(s);
            if !candidates.contains(&s) {
                candidates.push(s);
            }
        }
        let mut errors = Vec::new();
        for a in candidates {
            let r = async {
                let mut c = self.conn(&a, auth).await?;
                let nodes: String = redis::cmd("CLUSTER")
                    .arg("NODES")
                    .query_async(&mut c)
                    .await
                    .map_err(|e| explain(&e.to_string(), auth.username.as_deref()))?;
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query_async(&mut c)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>((nodes, info))
            }
            .await;
            match r {
                Ok((text, info)) => {
                    let nodes = info::parse_cluster_nodes(&text);
                    let covered = info::slots_covered(&nodes);
                    let view = ClusterView {
                        state: parse_info(&info)
                            .get("cluster_state")
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                        asked: a.clone(),
                        slots_covered: covered,
                        all_slots_covered: covered == 16384,
                        nodes,
                    };
                    let addrs: Vec<String> = view
                        .nodes
                        .iter()
                        .filter(|n| !n.addr.is_empty() && !n.addr.starts_with(':'))
                        .map(|n| n.addr.clone())
                        .collect();
                    // Healthy nodes first, so the next poll asks one that answers.
                    let mut known: Vec<&ClusterNode> = view.nodes.iter().collect();
                    known.sort_by_key(|n| n.failed() || n.suspected());
                    self.known_cluster = known.iter().map(|n| n.addr.clone()).collect();
                    self.track_promotions(&view.nodes);
                    return Ok((view, addrs));
                }
                Err(e) => {
                    self.conns.remove(&a);
                    errors.push(format!("{a}: {e}"));
                }
            }
        }
        Err(format!("no cluster node answered ({})", errors.join("; ")))
    }

    fn track_promotions(&mut self, nodes: &[ClusterNode]) {
        let by_id: HashMap<&str, &ClusterNode> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
        let mut promoted = None;
        for n in nodes {
            if let Some((role, master)) = self.last_roles.get(&n.id)
                && role == "replica"
                && n.role == "master"
            {
                let from = master
                    .as_deref()
                    .and_then(|m| by_id.get(m))
                    .map_or_else(|| "?".to_string(), |m| m.addr.clone());
                promoted = Some((from, n.addr.clone()));
            }
        }
        if let Some((from, to)) = promoted {
            self.noticed_failover(from, to);
        }
        self.last_roles = nodes
            .iter()
            .map(|n| (n.id.clone(), (n.role.clone(), n.master_id.clone())))
            .collect();
    }

    async fn clients(&mut self, addr: &str, auth: &Auth) -> Result<Vec<ClientInfo>, String> {
        let mut c = self.conn(addr, auth).await?;
        let text: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut c)
            .await
            .map_err(|e| explain(&e.to_string(), auth.username.as_deref()))?;
        let mut list = info::parse_client_list(&text);
        list.truncate(MAX_CLIENTS);
        Ok(list)
    }
}

impl Poller for RedisPoller {
    type Sample = RedisSample;
    type Op = RedisOp;

    async fn poll(&mut self) -> Result<RedisSample, String> {
        if self.auth.is_none() {
            self.auth = Some(Auth::from_spec(&self.spec).await?);
        }
        let Some(auth) = self.auth.clone() else {
            return Err("no credentials".into());
        };
        let mut sample = RedisSample {
            mode: self.mode().into(),
            ..Default::default()
        };
        let addrs = match sample.mode.as_str() {
            "sentinel" => {
                let (view, addrs) = self.sentinel_topology(&auth, &mut sample.notes).await?;
                sample.sentinel = Some(view);
                addrs
            }
            "cluster" => {
                let (view, addrs) = self.cluster_topology(&auth).await?;
                sample.cluster = Some(view);
                addrs
            }
            _ => {
                let url = self
                    .spec
                    .url
                    .clone()
                    .ok_or("set `url`, `sentinels` + `master`, or `cluster`")?;
                vec![host_port(&url)]
            }
        };
        sample.nodes = self.poll_nodes(&addrs, &auth).await;
        if sample.mode == "standalone"
            && let Some(n) = sample.nodes.first()
            && let Some(e) = &n.error
        {
            return Err(format!("{}: {e}", n.addr));
        }
        if sample.nodes.iter().all(|n| n.error.is_some()) && sample.mode == "cluster" {
            return Err("no cluster node answered INFO".into());
        }
        let master = sample
            .nodes
            .iter()
            .find(|n| n.error.is_none() && n.is_master())
            .map(|n| n.addr.clone());
        if let Some(m) = master {
            if self.clients_shown.wanted() {
                match self.clients(&m, &auth).await {
                    Ok(c) => {
                        sample.clients = c;
                        self.clients_shown.listed(Instant::now());
                    }
                    Err(e) => sample
                        .notes
                        .push(format!("clients of {m}: CLIENT LIST {e}")),
                }
            } else {
                sample.clients_skipped = true;
            }
            sample.clients_age_secs = self.clients_shown.age(Instant::now()).map(|d| d.as_secs());
            sample.clients_node = m;
        }
        for n in &sample.nodes {
            if let Some(e) = &n.error
                && e.contains("not permitted")
            {
                sample.notes.push(format!("{}: {e}", n.addr));
            }
        }
        sample.last_failover = self.last_failover.clone();
        self.diagnose(&mut sample, &auth).await;
        self.forecast(&mut sample).await;
        Ok(sample)
    }

    fn reset(&mut self) {
        self.conns.clear();
    }

    fn visible(&mut self, tab: Option<&str>) -> bool {
        self.clients_shown.tell(tab)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_from_config_forms() {
        assert_eq!(host_port("redis://127.0.0.1:6379/"), "127.0.0.1:6379");
        assert_eq!(host_port("redis://u:p@h:1/0"), "h:1");
        assert_eq!(host_port("h:2"), "h:2");
    }

    #[test]
    fn acl_refusals_are_explained() {
        let e = explain(
            "NOPERM: User reader has no permissions to run the 'client|list' command",
            Some("reader"),
        );
        assert!(e.starts_with("not permitted for user reader (ACL)"), "{e}");
    }
}
