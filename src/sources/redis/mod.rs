//! Redis: standalone servers, Sentinel-managed masters and Clusters.
//! This first version polls `INFO` of a standalone server (or the master a sentinel names);
//! the full pane (latency, persistence, replication, Sentinel timeline, Cluster) builds on it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use crate::actions::{Op, Risk};
use crate::config::RedisSpec;
use crate::config::keymap::Action;
use crate::config::secrets::{Secret, scrub};
use crate::sources::{CommandResult, Poller, Sample};

/// The guarded keys this pane offers (hint bar and help).
pub const ACTIONS: &[Action] = &[Action::Bgsave];
use crate::views::{Cell, Detail, Level, PaneModel, Row, Summary, Table, fmt};

#[derive(Debug, Clone, Default, Serialize)]
pub struct RedisSample {
    pub nodes: Vec<NodeInfo>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeInfo {
    pub addr: String,
    pub role: String,
    pub version: String,
    pub used_memory: u64,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub connected_clients: u64,
    pub ops_per_sec: u64,
    pub rdb_last_save_time: i64,
    pub rdb_last_bgsave_status: String,
    pub rdb_bgsave_in_progress: bool,
    pub evicted_keys: u64,
    pub keys: u64,
}

/// Parses `INFO` output into field → value.
pub fn parse_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

impl NodeInfo {
    pub fn from_info(addr: &str, info: &BTreeMap<String, String>) -> Self {
        let num = |k: &str| info.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let keys = info
            .iter()
            .filter(|(k, _)| k.starts_with("db"))
            .filter_map(|(_, v)| {
                v.split(',')
                    .next()?
                    .strip_prefix("keys=")?
                    .parse::<u64>()
                    .ok()
            })
            .sum();
        NodeInfo {
            addr: addr.to_string(),
            role: info.get("role").cloned().unwrap_or_default(),
            version: info.get("redis_version").cloned().unwrap_or_default(),
            used_memory: num("used_memory"),
            maxmemory: num("maxmemory"),
            maxmemory_policy: info.get("maxmemory_policy").cloned().unwrap_or_default(),
            connected_clients: num("connected_clients"),
            ops_per_sec: num("instantaneous_ops_per_sec"),
            rdb_last_save_time: num("rdb_last_save_time") as i64,
            rdb_last_bgsave_status: info
                .get("rdb_last_bgsave_status")
                .cloned()
                .unwrap_or_default(),
            rdb_bgsave_in_progress: num("rdb_bgsave_in_progress") == 1,
            evicted_keys: num("evicted_keys"),
            keys,
        }
    }

    fn memory_ratio(&self) -> Option<f64> {
        (self.maxmemory > 0).then(|| self.used_memory as f64 / self.maxmemory as f64)
    }
}

pub struct RedisPoller {
    spec: RedisSpec,
    secret: Option<Secret>,
    conn: Option<(String, redis::aio::MultiplexedConnection)>,
}

impl RedisPoller {
    pub fn new(spec: RedisSpec) -> Self {
        Self {
            spec,
            secret: None,
            conn: None,
        }
    }

    fn scrub(&self, e: impl std::fmt::Display) -> String {
        let secrets: Vec<&Secret> = self.secret.iter().collect();
        scrub(&e.to_string(), &secrets)
    }

    async fn connect(&mut self) -> Result<(String, redis::aio::MultiplexedConnection), String> {
        if self.secret.is_none() {
            self.secret = self.spec.secret().resolve()?;
        }
        let url = target_url(&self.spec)?;
        let info = connection_info(&url, self.spec.username.as_deref(), self.secret.as_ref())
            .map_err(|e| self.scrub(e))?;
        let addr = info.addr().to_string();
        let client = redis::Client::open(info).map_err(|e| self.scrub(e))?;
        let cfg = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(5)));
        let conn = client
            .get_multiplexed_async_connection_with_config(&cfg)
            .await
            .map_err(|e| format!("{addr}: {}", self.scrub(e)))?;
        Ok((addr, conn))
    }
}

/// The URL of the standalone server this spec points at.
fn target_url(spec: &RedisSpec) -> Result<String, String> {
    match &spec.url {
        Some(u) => Ok(u.clone()),
        None if !spec.cluster.is_empty() => Ok(format!("redis://{}", spec.cluster[0])),
        None => Err("only standalone redis is supported by this poller so far".into()),
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

impl Poller for RedisPoller {
    async fn poll(&mut self) -> Result<Sample, String> {
        if self.conn.is_none() {
            self.conn = Some(self.connect().await?);
        }
        let Some((addr, conn)) = self.conn.as_mut() else {
            return Err("not connected".into());
        };
        let info: String = redis::cmd("INFO")
            .arg("everything")
            .query_async(conn)
            .await
            .map_err(|e| e.to_string())?;
        let mut node = NodeInfo::from_info(addr, &parse_info(&info));
        if node.maxmemory_policy.is_empty() {
            node.maxmemory_policy = "?".into();
        }
        Ok(Sample::Redis(Box::new(RedisSample { nodes: vec![node] })))
    }

    fn reset(&mut self) {
        self.conn = None;
    }
}

impl RedisSample {
    pub fn model(&self) -> PaneModel {
        let mut m = PaneModel::default();
        for n in &self.nodes {
            let mem = match n.memory_ratio() {
                Some(r) => format!(
                    "{} / {} ({})",
                    fmt::bytes(n.used_memory),
                    fmt::bytes(n.maxmemory),
                    fmt::pct(r)
                ),
                None => format!("{} (no maxmemory)", fmt::bytes(n.used_memory)),
            };
            let level = match n.memory_ratio() {
                Some(r) if r >= 0.95 => Level::Crit,
                Some(r) if r >= 0.9 => Level::Warn,
                _ => Level::Ok,
            };
            m.level = m.level.max(level);
            m.tile.push(Summary::text(vec![
                Cell::new(format!("{} {} ", n.addr, n.role)),
                Cell::level(mem.clone(), level),
                Cell::new(format!(" {} ops/s", n.ops_per_sec)),
            ]));
            match n.memory_ratio() {
                Some(r) => m.summary.push(Summary::Gauge {
                    label: format!("{} memory", n.addr),
                    ratio: r,
                    text: mem,
                    level,
                }),
                None => m.summary.push(Summary::line(
                    format!("{} memory {mem}", n.addr),
                    Level::Normal,
                )),
            }
        }
        let rows = self
            .nodes
            .iter()
            .map(|n| {
                let save = if n.rdb_bgsave_in_progress {
                    "saving".to_string()
                } else {
                    save_age(n.rdb_last_save_time)
                };
                Row::new(
                    n.addr.clone(),
                    vec![
                        Cell::new(n.addr.clone()),
                        Cell::new(n.role.clone()),
                        Cell::new(fmt::bytes(n.used_memory)),
                        Cell::new(if n.maxmemory > 0 {
                            fmt::bytes(n.maxmemory)
                        } else {
                            "-".into()
                        }),
                        Cell::new(n.maxmemory_policy.clone()),
                        Cell::new(n.ops_per_sec.to_string()),
                        Cell::new(n.connected_clients.to_string()),
                        Cell::new(n.keys.to_string()),
                        Cell::level(
                            format!("{save} {}", n.rdb_last_bgsave_status),
                            if n.rdb_last_bgsave_status == "ok" {
                                Level::Normal
                            } else {
                                Level::Crit
                            },
                        ),
                    ],
                )
            })
            .collect();
        m.tables.push(Table {
            title: "Nodes".into(),
            columns: vec![
                crate::views::Column::left("NODE", 21),
                crate::views::Column::left("ROLE", 7),
                crate::views::Column::right("USED", 10),
                crate::views::Column::right("MAX", 10),
                crate::views::Column::left("POLICY", 14),
                crate::views::Column::right("OPS/S", 7),
                crate::views::Column::right("CLIENTS", 7),
                crate::views::Column::right("KEYS", 8),
                crate::views::Column::left("LAST SAVE", 12),
            ],
            rows,
            empty: "no nodes".into(),
        });
        m
    }

    /// Guarded keys of the pane: BGSAVE on the selected node.
    pub fn command(
        &self,
        _table: usize,
        key: &str,
        _marked: &BTreeSet<String>,
        action: Action,
    ) -> Option<CommandResult> {
        match action {
            Action::Bgsave => Some(Ok((
                key.to_string(),
                Op::Redis(RedisOp::Bgsave {
                    node: key.to_string(),
                }),
                Risk::Low,
            ))),
            _ => None,
        }
    }

    pub fn detail(&self, _table: usize, key: &str) -> Option<Detail> {
        let n = self.nodes.iter().find(|n| n.addr == key)?;
        Some(Detail {
            title: format!("Redis {}", n.addr),
            lines: vec![
                vec![Cell::new(format!("version {}  role {}", n.version, n.role))],
                vec![Cell::new(format!("evicted keys {}", n.evicted_keys))],
            ],
            table: None,
        })
    }
}

fn save_age(unix: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    if unix <= 0 {
        "never".into()
    } else {
        format!(
            "{} ago",
            fmt::duration(Duration::from_secs((now - unix).max(0) as u64))
        )
    }
}

/// Guarded Redis operations.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RedisOp {
    /// `BGSAVE` on one node.
    Bgsave { node: String },
}

impl RedisOp {
    pub fn describe(&self) -> String {
        match self {
            RedisOp::Bgsave { node } => format!("BGSAVE on {node}: fork and write an RDB snapshot"),
        }
    }

    pub async fn execute(&self, spec: &RedisSpec) -> Result<String, String> {
        match self {
            RedisOp::Bgsave { node } => {
                let mut p = RedisPoller::new(spec.clone());
                let url = format!("redis://{node}");
                let secret = spec.secret().resolve()?;
                let info = connection_info(&url, spec.username.as_deref(), secret.as_ref())
                    .map_err(|e| p.scrub(e))?;
                let client = redis::Client::open(info).map_err(|e| p.scrub(e))?;
                let mut conn = client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| p.scrub(e))?;
                p.secret = secret;
                let reply: String = redis::cmd("BGSAVE")
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| p.scrub(e))?;
                Ok(reply)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_info() {
        let info = parse_info(
            "# Server\r\nredis_version:7.0.15\r\nrole:master\r\nused_memory:2048\r\nmaxmemory:4096\r\n# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\ndb1:keys=2,expires=0\r\n",
        );
        let n = NodeInfo::from_info("h:1", &info);
        assert_eq!(n.version, "7.0.15");
        assert_eq!(n.keys, 5);
        assert_eq!(n.memory_ratio(), Some(0.5));
    }
}
