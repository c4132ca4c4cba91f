//! Parsers of Redis replies: `INFO`, `CLIENT LIST`, `CLUSTER NODES`, Sentinel field lists.
//! Pure functions, unit-tested on captured text.

use std::collections::BTreeMap;

use super::model::{
    ClientInfo, ClusterNode, NodeInfo, Persistence, ReplicaLink, Replication, SentinelPeer,
};

/// Parses `INFO` output into field → value, borrowed from the text (a node's INFO is a few
/// hundred fields, read every poll).
pub fn parse_info(text: &str) -> BTreeMap<&str, &str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// `k1=v1,k2=v2` → map (keyspace and `slaveN` lines).
pub(crate) fn kv_list(v: &str) -> BTreeMap<&str, &str> {
    v.split(',').filter_map(|p| p.split_once('=')).collect()
}

impl NodeInfo {
    /// A node's figures from its `INFO` (rates and latency are filled in by the poller).
    pub fn from_info(addr: &str, info: &BTreeMap<&str, &str>) -> Self {
        let s = |k: &str| info.get(k).map(|v| v.to_string()).unwrap_or_default();
        let num = |k: &str| info.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let opt = |k: &str| info.get(k).and_then(|v| v.parse::<u64>().ok());
        let float = |k: &str| {
            info.get(k)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let keys_per_db: Vec<(String, u64)> = info
            .iter()
            .filter(|(k, _)| k.starts_with("db") && k[2..].chars().all(|c| c.is_ascii_digit()))
            .filter_map(|(k, v)| Some((k.to_string(), kv_list(v).get("keys")?.parse().ok()?)))
            .collect();
        let role = s("role");
        let master_offset = num("master_repl_offset") as i64;
        let replicas = info
            .iter()
            .filter(|(k, _)| k.starts_with("slave") && k[5..].chars().all(|c| c.is_ascii_digit()))
            .filter_map(|(_, v)| {
                let f = kv_list(v);
                let offset: i64 = f.get("offset")?.parse().ok()?;
                Some(ReplicaLink {
                    addr: format!("{}:{}", f.get("ip")?, f.get("port")?),
                    state: f.get("state").unwrap_or(&"").to_string(),
                    offset,
                    lag_bytes: (master_offset - offset).max(0),
                    lag_secs: f.get("lag").and_then(|l| l.parse().ok()).unwrap_or(0),
                })
            })
            .collect();
        let is_replica = role == "slave";
        NodeInfo {
            addr: addr.to_string(),
            role,
            version: s("redis_version"),
            used_memory: num("used_memory"),
            used_memory_peak: num("used_memory_peak"),
            used_memory_rss: num("used_memory_rss"),
            total_system_memory: num("total_system_memory"),
            maxmemory: num("maxmemory"),
            maxmemory_policy: s("maxmemory_policy"),
            allocator_frag_ratio: float("allocator_frag_ratio"),
            mem_fragmentation_ratio: float("mem_fragmentation_ratio"),
            evicted_keys: num("evicted_keys"),
            expired_keys: num("expired_keys"),
            ops_per_sec: num("instantaneous_ops_per_sec"),
            keyspace_hits: num("keyspace_hits"),
            keyspace_misses: num("keyspace_misses"),
            connected_clients: num("connected_clients"),
            blocked_clients: num("blocked_clients"),
            keys: keys_per_db.iter().map(|(_, n)| n).sum(),
            expiring_keys: info
                .iter()
                .filter(|(k, _)| k.starts_with("db") && k[2..].chars().all(|c| c.is_ascii_digit()))
                .filter_map(|(_, v)| kv_list(v).get("expires")?.parse::<u64>().ok())
                .sum(),
            keys_per_db,
            persistence: Persistence {
                rdb_last_save_time: num("rdb_last_save_time") as i64,
                rdb_last_bgsave_status: s("rdb_last_bgsave_status"),
                rdb_changes_since_last_save: num("rdb_changes_since_last_save"),
                rdb_bgsave_in_progress: num("rdb_bgsave_in_progress") == 1,
                aof_enabled: num("aof_enabled") == 1,
                aof_rewrite_in_progress: num("aof_rewrite_in_progress") == 1,
                aof_last_bgrewrite_status: s("aof_last_bgrewrite_status"),
                aof_last_write_status: s("aof_last_write_status"),
                loading: num("loading") == 1,
            },
            replication: Replication {
                master_repl_offset: master_offset,
                replicas,
                master: is_replica.then(|| format!("{}:{}", s("master_host"), s("master_port"))),
                master_link_status: is_replica.then(|| s("master_link_status")),
                master_link_down_secs: opt("master_link_down_since_seconds")
                    .filter(|_| s("master_link_status") == "down"),
                master_last_io_secs: opt("master_last_io_seconds_ago"),
            },
            ..Default::default()
        }
    }
}

/// `CLIENT LIST` → clients.
pub fn parse_client_list(text: &str) -> Vec<ClientInfo> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: BTreeMap<&str, &str> = l.split(' ').filter_map(|p| p.split_once('=')).collect();
            let s = |k: &str| f.get(k).unwrap_or(&"").to_string();
            let n = |k: &str| f.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
            ClientInfo {
                id: n("id"),
                addr: s("addr"),
                name: s("name"),
                user: s("user"),
                db: n("db"),
                age_secs: n("age"),
                idle_secs: n("idle"),
                cmd: s("cmd"),
                flags: s("flags"),
            }
        })
        .collect()
}

/// `CLUSTER NODES` → nodes (handshake and noaddr entries are kept; their addr may be empty).
pub fn parse_cluster_nodes(text: &str) -> Vec<ClusterNode> {
    let mut out: Vec<ClusterNode> = text
        .lines()
        .filter_map(|l| {
            let p: Vec<&str> = l.split_whitespace().collect();
            if p.len() < 8 {
                return None;
            }
            // ip:port@cport[,hostname]
            let addr = p[1].split('@').next().unwrap_or("").to_string();
            let flags: Vec<String> = p[2]
                .split(',')
                .filter(|f| *f != "myself")
                .map(str::to_string)
                .collect();
            let role = if flags.iter().any(|f| f == "master") {
                "master"
            } else {
                "replica"
            };
            let slots = p[8..]
                .iter()
                .filter(|s| !s.starts_with('['))
                .filter_map(|s| match s.split_once('-') {
                    Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                    None => {
                        let v = s.parse().ok()?;
                        Some((v, v))
                    }
                })
                .collect();
            Some(ClusterNode {
                id: p[0].to_string(),
                addr,
                role: role.into(),
                master_id: (p[3] != "-").then(|| p[3].to_string()),
                link_state: p[7].to_string(),
                flags,
                slots,
            })
        })
        .collect();
    out.sort_by(|a, b| a.addr.cmp(&b.addr));
    out
}

/// Slots served by masters that are not failed.
pub fn slots_covered(nodes: &[ClusterNode]) -> u32 {
    let mut seen = vec![false; 16384];
    for n in nodes.iter().filter(|n| n.role == "master" && !n.failed()) {
        for (a, b) in &n.slots {
            for s in *a..=*b {
                if let Some(x) = seen.get_mut(usize::from(s)) {
                    *x = true;
                }
            }
        }
    }
    seen.iter().filter(|x| **x).count() as u32
}

/// A Sentinel reply entry (flat `[k1, v1, k2, v2, ...]`) → map.
pub fn pairs(flat: &[String]) -> BTreeMap<String, String> {
    flat.chunks(2)
        .filter_map(|c| match c {
            [k, v] => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect()
}

/// A replica or sentinel entry of `SENTINEL REPLICAS/SENTINELS`.
pub fn peer(m: &BTreeMap<String, String>) -> SentinelPeer {
    SentinelPeer {
        addr: format!(
            "{}:{}",
            m.get("ip").map(String::as_str).unwrap_or("?"),
            m.get("port").map(String::as_str).unwrap_or("?")
        ),
        flags: m.get("flags").cloned().unwrap_or_default(),
        says_master: None,
    }
}

/// p-th percentile (0..=100) of a window, nearest-rank.
pub fn percentile(window: &[u64], p: u32) -> Option<u64> {
    if window.is_empty() {
        return None;
    }
    let mut v = window.to_vec();
    v.sort_unstable();
    let rank = (u64::from(p) * v.len() as u64).div_ceil(100).max(1) as usize;
    v.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO_MASTER: &str = "# Server\r\nredis_version:7.0.15\r\n# Clients\r\nconnected_clients:3\r\nblocked_clients:1\r\n# Memory\r\nused_memory:2048\r\nused_memory_peak:3000\r\nused_memory_rss:9000\r\nmaxmemory:4096\r\nmaxmemory_policy:allkeys-lru\r\nallocator_frag_ratio:1.25\r\nmem_fragmentation_ratio:4.39\r\n# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:7\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:1700000000\r\nrdb_last_bgsave_status:ok\r\naof_enabled:1\r\naof_rewrite_in_progress:0\r\naof_last_bgrewrite_status:ok\r\naof_last_write_status:ok\r\n# Stats\r\nevicted_keys:10\r\nexpired_keys:4\r\nkeyspace_hits:90\r\nkeyspace_misses:10\r\n# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=127.0.0.1,port=7001,state=online,offset=1000,lag=0\r\nslave1:ip=127.0.0.1,port=7002,state=online,offset=400,lag=9\r\nmaster_repl_offset:1200\r\n# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\ndb1:keys=2,expires=0\r\n";

    #[test]
    fn parses_a_master() {
        let n = NodeInfo::from_info("h:1", &parse_info(INFO_MASTER));
        assert_eq!(n.version, "7.0.15");
        assert_eq!(n.keys, 5);
        assert_eq!(n.keys_per_db, vec![("db0".into(), 3), ("db1".into(), 2)]);
        assert_eq!(n.memory_ratio(), Some(0.5));
        assert_eq!(n.allocator_frag_ratio, 1.25);
        assert_eq!(n.blocked_clients, 1);
        assert_eq!(n.persistence.rdb_changes_since_last_save, 7);
        assert!(n.persistence.aof_enabled);
        let r = &n.replication.replicas;
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].lag_bytes, 200);
        assert!(!r[0].link_down());
        assert_eq!(r[1].lag_bytes, 800);
        assert!(r[1].link_down(), "9 s without ACK counts as down");
        assert_eq!(n.replication.master, None);
    }

    #[test]
    fn parses_a_replica_with_its_link_down() {
        let info = parse_info(
            "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:7000\r\nmaster_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\nmaster_link_down_since_seconds:42\r\n",
        );
        let n = NodeInfo::from_info("h:2", &info);
        assert_eq!(n.replication.master.as_deref(), Some("127.0.0.1:7000"));
        assert_eq!(n.replication.master_link_status.as_deref(), Some("down"));
        assert_eq!(n.replication.master_link_down_secs, Some(42));
    }

    #[test]
    fn parses_cluster_nodes_and_coverage() {
        let text = "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n\
                    b2 127.0.0.1:7001@17001 master,fail - 0 0 2 connected 5461-10922\n\
                    c3 127.0.0.1:7002@17002 master - 0 0 3 connected 10923-16383 [1->-x]\n\
                    d4 127.0.0.1:7003@17003 slave a1 0 0 1 connected\n";
        let nodes = parse_cluster_nodes(text);
        assert_eq!(nodes.len(), 4);
        assert_eq!(nodes[0].flags, vec!["master"]);
        assert_eq!(nodes[0].slot_count(), 5461);
        assert!(nodes[1].failed());
        assert_eq!(nodes[3].master_id.as_deref(), Some("a1"));
        assert_eq!(nodes[3].role, "replica");
        assert_eq!(slots_covered(&nodes), 16384 - 5462);
    }

    #[test]
    fn parses_client_list() {
        let c = parse_client_list(
            "id=5 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=8 name=app age=10 idle=2 flags=N db=0 cmd=get user=default\n",
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].id, 5);
        assert_eq!(c[0].name, "app");
        assert_eq!(c[0].cmd, "get");
    }

    #[test]
    fn percentiles() {
        let w: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&w, 50), Some(50));
        assert_eq!(percentile(&w, 99), Some(99));
        assert_eq!(percentile(&[7], 99), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }
}
