//! Redis: standalone, master + 2 replicas + 3 sentinels, and a cluster (6 nodes unless
//! sized).

use super::process::{ProcessSpec, ServerProcess, TestDir, free_port, run_tool, run_tool_ok};
use super::{require_program, wait_until};
use std::collections::HashMap;
use std::fs;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const SENTINEL_MASTER_NAME: &str = "mymaster";

/// A blocking connection to 127.0.0.1:port with short timeouts.
pub fn connect(port: u16) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let con = client.get_connection_with_timeout(Duration::from_secs(1))?;
    con.set_read_timeout(Some(Duration::from_secs(2)))?;
    con.set_write_timeout(Some(Duration::from_secs(2)))?;
    Ok(con)
}

/// Runs one command against 127.0.0.1:port, with errors as strings (for readiness probes).
pub fn query<T: redis::FromRedisValue>(port: u16, args: &[&str]) -> Result<T, String> {
    let mut con = connect(port).map_err(|e| e.to_string())?;
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(&mut con).map_err(|e| e.to_string())
}

fn ping_probe(port: u16) -> impl Fn() -> Result<(), String> + Send + Sync {
    move || {
        let pong: String = query(port, &["PING"])?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(format!("PING answered {pong}"))
        }
    }
}

fn write_conf(path: &Path, lines: &[String]) {
    fs::write(path, lines.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// One redis-server on a free port with its own dir. `Deref`s to its [`ServerProcess`]
/// for `stop/kill/pause/resume/restart`.
pub struct Redis {
    process: ServerProcess,
    port: u16,
    dir: PathBuf,
    _owned_dir: Option<TestDir>,
}

impl Deref for Redis {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.process
    }
}

impl Redis {
    /// A standalone server with AOF (`appendfsync always`), so data survives SIGKILL.
    pub fn start() -> Redis {
        Redis::start_with(&[])
    }

    /// Like [`Redis::start`] with extra config directives, e.g.
    /// `&[("maxmemory", "2mb"), ("maxmemory-policy", "allkeys-lru")]`.
    pub fn start_with(extra: &[(&str, &str)]) -> Redis {
        let td = TestDir::new("redis");
        let dir = td.path().to_path_buf();
        let mut r = Redis::spawn_in(&dir, "redis", extra, true);
        r._owned_dir = Some(td);
        r
    }

    fn spawn_in(dir: &Path, name: &str, extra: &[(&str, &str)], wait: bool) -> Redis {
        let port = free_port();
        let mut lines = vec![
            "bind 127.0.0.1".to_string(),
            format!("port {port}"),
            format!("dir {}", dir.display()),
            "daemonize no".into(),
            "protected-mode no".into(),
            "logfile \"\"".into(),
            "appendonly yes".into(),
            "appendfsync always".into(),
            "save \"\"".into(),
            "replica-announce-ip 127.0.0.1".into(),
        ];
        lines.extend(extra.iter().map(|(k, v)| format!("{k} {v}")));
        let conf = dir.join("redis.conf");
        write_conf(&conf, &lines);
        let bin = require_program("redis-server", "redis-server");
        let spec = ProcessSpec {
            name: format!("{name}:{port}"),
            command: Box::new(move || {
                let mut c = Command::new(&bin);
                c.arg(&conf);
                c
            }),
            ready: Box::new(ping_probe(port)),
            stdout_log: dir.join("redis.log"),
            extra_logs: vec![],
            stop_signal: libc::SIGTERM,
            start_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(10),
            retry_early_exit: false,
        };
        let process = if wait {
            ServerProcess::start(spec)
        } else {
            ServerProcess::spawn_only(spec)
        };
        Redis {
            process,
            port,
            dir: dir.to_path_buf(),
            _owned_dir: None,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A blocking connection (redis crate).
    pub fn connection(&self) -> redis::Connection {
        connect(self.port).unwrap_or_else(|e| panic!("connect to {}: {e}", self.url()))
    }

    /// Runs `redis-cli -p port <args>` and returns its stdout (panics on failure).
    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args)
    }
}

/// `redis-cli -h 127.0.0.1 -p port args...`, stdout.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let mut c = Command::new(require_program("redis-cli", "redis-tools"));
    c.args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args);
    run_tool_ok(c)
}

// ---------------------------------------------------------------------------------------

/// One redis-sentinel process.
pub struct Sentinel {
    process: ServerProcess,
    port: u16,
}

impl Deref for Sentinel {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.process
    }
}

impl Sentinel {
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

/// A master, two replicas and three sentinels (quorum 2) watching master
/// [`SENTINEL_MASTER_NAME`]. Fields are dropped in order: sentinels first.
pub struct RedisSentinel {
    pub sentinels: Vec<Sentinel>,
    pub replicas: Vec<Redis>,
    pub master: Redis,
    _dir: TestDir,
}

impl RedisSentinel {
    pub fn start() -> RedisSentinel {
        let td = TestDir::new("redis-sentinel");
        let master = Redis::spawn_in(&td.sub("master"), "redis-master", &[], false);
        let mport = master.port.to_string();
        let replicas: Vec<Redis> = (1..=2)
            .map(|i| {
                Redis::spawn_in(
                    &td.sub(&format!("replica{i}")),
                    &format!("redis-replica{i}"),
                    &[("replicaof", &format!("127.0.0.1 {mport}"))],
                    false,
                )
            })
            .collect();
        master.wait_ready();
        for r in &replicas {
            r.wait_ready();
        }
        let bin = require_program("redis-sentinel", "redis-sentinel");
        let sentinels: Vec<Sentinel> = (1..=3)
            .map(|i| {
                let dir = td.sub(&format!("sentinel{i}"));
                let port = free_port();
                let conf = dir.join("sentinel.conf");
                write_conf(
                    &conf,
                    &[
                        "bind 127.0.0.1".into(),
                        format!("port {port}"),
                        format!("dir {}", dir.display()),
                        "daemonize no".into(),
                        "protected-mode no".into(),
                        "logfile \"\"".into(),
                        "sentinel announce-ip 127.0.0.1".into(),
                        format!("sentinel monitor {SENTINEL_MASTER_NAME} 127.0.0.1 {mport} 2"),
                        format!("sentinel down-after-milliseconds {SENTINEL_MASTER_NAME} 2000"),
                        format!("sentinel failover-timeout {SENTINEL_MASTER_NAME} 10000"),
                        format!("sentinel parallel-syncs {SENTINEL_MASTER_NAME} 1"),
                    ],
                );
                let bin = bin.clone();
                let process = ServerProcess::spawn_only(ProcessSpec {
                    name: format!("redis-sentinel{i}:{port}"),
                    command: Box::new(move || {
                        let mut c = Command::new(&bin);
                        c.arg(&conf);
                        c
                    }),
                    ready: Box::new(ping_probe(port)),
                    stdout_log: dir.join("sentinel.log"),
                    extra_logs: vec![],
                    stop_signal: libc::SIGTERM,
                    start_timeout: Duration::from_secs(30),
                    stop_timeout: Duration::from_secs(10),
                    retry_early_exit: false,
                });
                Sentinel { process, port }
            })
            .collect();
        for s in &sentinels {
            s.wait_ready();
        }
        let set = RedisSentinel {
            sentinels,
            replicas,
            master,
            _dir: td,
        };
        set.wait_agreed(Duration::from_secs(60));
        set
    }

    /// Waits until every sentinel names the same master, sees both replicas up and knows
    /// the two other sentinels. Panics with the logs otherwise.
    pub fn wait_agreed(&self, timeout: Duration) {
        let mut last = String::new();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until("sentinels to agree", timeout, || match self.agreement() {
                Ok(()) => Some(()),
                Err(e) => {
                    last = e;
                    None
                }
            })
        }));
        if res.is_err() {
            let mut logs = String::new();
            for s in &self.sentinels {
                logs.push_str(&s.log_tail(20));
                logs.push('\n');
            }
            panic!("Redis Sentinel set not ready: {last}\n{logs}");
        }
    }

    fn agreement(&self) -> Result<(), String> {
        let mut masters = Vec::new();
        for s in &self.sentinels {
            let addr: Vec<String> = query(
                s.port,
                &["SENTINEL", "get-master-addr-by-name", SENTINEL_MASTER_NAME],
            )?;
            masters.push(addr.join(":"));
            let replicas: Vec<HashMap<String, String>> =
                query(s.port, &["SENTINEL", "replicas", SENTINEL_MASTER_NAME])?;
            let up = replicas
                .iter()
                .filter(|r| {
                    let flags = r.get("flags").map(String::as_str).unwrap_or("");
                    !flags.contains("down")
                        && !flags.contains("disconnected")
                        && r.get("master-link-status").map(String::as_str) == Some("ok")
                })
                .count();
            if up != self.replicas.len() {
                return Err(format!("sentinel {} sees {up} healthy replicas", s.port));
            }
            let others: Vec<HashMap<String, String>> =
                query(s.port, &["SENTINEL", "sentinels", SENTINEL_MASTER_NAME])?;
            if others.len() != self.sentinels.len() - 1 {
                return Err(format!(
                    "sentinel {} knows {} other sentinels",
                    s.port,
                    others.len()
                ));
            }
        }
        masters.dedup();
        if masters.len() != 1 {
            return Err(format!("sentinels disagree on the master: {masters:?}"));
        }
        Ok(())
    }

    pub fn master_name(&self) -> &'static str {
        SENTINEL_MASTER_NAME
    }

    /// `redis://127.0.0.1:<port>/` of each sentinel.
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels.iter().map(Sentinel::url).collect()
    }

    /// The master address a sentinel reports now ("127.0.0.1", port).
    pub fn master_addr_from(&self, sentinel: usize) -> (String, u16) {
        let addr: Vec<String> = query(
            self.sentinels[sentinel].port,
            &["SENTINEL", "get-master-addr-by-name", SENTINEL_MASTER_NAME],
        )
        .unwrap_or_else(|e| panic!("SENTINEL get-master-addr-by-name: {e}"));
        (addr[0].clone(), addr[1].parse().expect("port"))
    }
}

// ---------------------------------------------------------------------------------------

/// A Redis Cluster: 3 masters with one replica each unless sized, all 16384 slots assigned.
pub struct RedisCluster {
    pub nodes: Vec<Redis>,
    _dir: TestDir,
}

impl RedisCluster {
    /// 6 nodes: 3 masters, 3 replicas.
    pub fn start() -> RedisCluster {
        RedisCluster::start_sized(3, 1)
    }

    /// `masters` masters with `replicas` replicas each (`redis-cli --cluster create
    /// --cluster-replicas`), e.g. `start_sized(15, 1)` for 30 nodes.
    pub fn start_sized(masters: usize, replicas: usize) -> RedisCluster {
        assert!(
            masters >= 3,
            "Redis Cluster needs at least 3 masters, asked for {masters}"
        );
        let count = masters * (1 + replicas);
        let td = TestDir::new("redis-cluster");
        let nodes: Vec<Redis> = (1..=count)
            .map(|i| {
                let bus = free_port().to_string();
                Redis::spawn_in(
                    &td.sub(&format!("node{i}")),
                    &format!("redis-cluster-node{i}"),
                    &[
                        ("cluster-enabled", "yes"),
                        ("cluster-config-file", "nodes.conf"),
                        ("cluster-node-timeout", "3000"),
                        ("cluster-port", &bus),
                        ("cluster-announce-ip", "127.0.0.1"),
                    ],
                    false,
                )
            })
            .collect();
        for n in &nodes {
            n.wait_ready();
        }
        let mut c = Command::new(require_program("redis-cli", "redis-tools"));
        c.arg("--cluster").arg("create");
        for n in &nodes {
            c.arg(format!("127.0.0.1:{}", n.port));
        }
        c.args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"]);
        let out = run_tool(c);
        if !out.status.success() {
            panic!(
                "redis-cli --cluster create failed: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let cluster = RedisCluster { nodes, _dir: td };
        // Gossip reaches every node in about a second per few nodes; 30 nodes take longer.
        cluster.wait_ok(Duration::from_secs(60 + 2 * count as u64));
        cluster
    }

    /// Waits until every running node reports cluster_state:ok with all slots ok and
    /// knows every node of the cluster.
    pub fn wait_ok(&self, timeout: Duration) {
        let mut last = String::new();
        let known = self.nodes.len().to_string();
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until("cluster_state:ok on all nodes", timeout, || {
                for n in self.nodes.iter().filter(|n| n.is_running()) {
                    match query::<String>(n.port, &["CLUSTER", "INFO"]) {
                        Ok(info) => {
                            let f = parse_info(&info);
                            let good = f.get("cluster_state").map(String::as_str) == Some("ok")
                                && f.get("cluster_slots_ok").map(String::as_str) == Some("16384")
                                && f.get("cluster_known_nodes") == Some(&known);
                            if !good {
                                last = format!("node {}: {info}", n.port);
                                return None;
                            }
                        }
                        Err(e) => {
                            last = format!("node {}: {e}", n.port);
                            return None;
                        }
                    }
                }
                Some(())
            })
        }));
        if ok.is_err() {
            panic!(
                "Redis Cluster not ok: {last}\n{}",
                self.nodes[0].log_tail(20)
            );
        }
    }

    /// `redis://127.0.0.1:<port>/` of every node (seed list for a cluster client).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Redis::url).collect()
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(Redis::port).collect()
    }
}

/// Parses `key:value` lines of INFO / CLUSTER INFO output.
pub fn parse_info(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
