//! The Redis pane as plain data (tabs, summary, detail) and the guarded keys on its rows.

use std::collections::BTreeSet;
use std::time::Duration;

use super::model::*;
use super::ops::RedisOp;
use crate::keymap::Action;
use crate::sources::system::{Resolved, Risk};

use crate::views::{Cell, Column, Detail, Level, PaneModel, Row, Summary, Table, fmt};

/// A failover this recent is shown (and alerted) as news.
pub const RECENT_FAILOVER_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Nodes,
    Persistence,
    Replication,
    Sentinel,
    Events,
    Cluster,
    Shards,
    Clients,
    Policy,
    Latency,
    SlowLog,
    Commands,
    Capacity,
}

impl Tab {
    pub fn title(self) -> &'static str {
        match self {
            Tab::Nodes => "Nodes",
            Tab::Persistence => "Persistence",
            Tab::Replication => "Replication",
            Tab::Sentinel => "Sentinel",
            Tab::Events => "Events",
            Tab::Cluster => "Cluster",
            Tab::Shards => "Shards",
            Tab::Clients => "Clients",
            Tab::Policy => "Policy",
            Tab::Latency => "Latency",
            Tab::SlowLog => "Slow log",
            Tab::Commands => "Commands",
            Tab::Capacity => "Capacity",
        }
    }
}

fn memory_level(r: Option<f64>) -> Level {
    match r {
        Some(r) if r >= 0.95 => Level::Crit,
        Some(r) if r >= 0.9 => Level::Warn,
        _ => Level::Ok,
    }
}

fn us(v: Option<u64>) -> String {
    match v {
        Some(v) if v >= 1000 => format!("{:.1}ms", v as f64 / 1000.0),
        Some(v) => format!("{v}µs"),
        None => "-".into(),
    }
}

fn ago(unix: i64) -> String {
    if unix <= 0 {
        return "never".into();
    }
    let now = chrono::Utc::now().timestamp();
    format!(
        "{} ago",
        fmt::duration(Duration::from_secs((now - unix).max(0) as u64))
    )
}

fn status_level(s: &str) -> Level {
    if s == "ok" || s.is_empty() {
        Level::Normal
    } else {
        Level::Crit
    }
}

fn opt_rate(r: Option<f64>) -> String {
    r.map_or("-".into(), fmt::rate)
}

impl RedisSample {
    pub fn tabs(&self) -> Vec<Tab> {
        let mut t = vec![Tab::Nodes, Tab::Persistence, Tab::Replication];
        if self.sentinel.is_some() {
            t.extend([Tab::Sentinel, Tab::Events]);
        }
        if self.cluster.is_some() {
            t.extend([Tab::Cluster, Tab::Shards]);
        }
        t.extend([
            Tab::Clients,
            Tab::Policy,
            Tab::Latency,
            Tab::SlowLog,
            Tab::Commands,
            Tab::Capacity,
        ]);
        t
    }

    fn node(&self, addr: &str) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.addr == addr)
    }

    /// The failover shown as news, if recent.
    pub fn recent_failover(&self) -> Option<&Failover> {
        let now = chrono::Utc::now().timestamp();
        self.last_failover
            .as_ref()
            .filter(|f| now - f.at <= RECENT_FAILOVER_SECS)
    }

    /// Replication links that are down, as (replica, how long, seen from).
    pub fn links_down(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for n in &self.nodes {
            for r in &n.replication.replicas {
                if r.link_down() {
                    out.push((
                        r.addr.clone(),
                        format!("no ACK to {} for {}s ({})", n.addr, r.lag_secs, r.state),
                    ));
                }
            }
            if n.replication.master_link_status.as_deref() == Some("down") {
                let d = n
                    .replication
                    .master_link_down_secs
                    .map_or("?".into(), |s| fmt::duration(Duration::from_secs(s)));
                if !out.iter().any(|(a, _)| a == &n.addr) {
                    out.push((n.addr.clone(), format!("link to master down for {d}")));
                }
            }
        }
        out
    }

    pub fn model(&self) -> PaneModel {
        let mut m = PaneModel::default();
        self.summaries(&mut m);
        for tab in self.tabs() {
            let t = match tab {
                Tab::Nodes => self.nodes_table(),
                Tab::Persistence => self.persistence_table(),
                Tab::Replication => self.replication_table(),
                Tab::Sentinel => self.sentinel_table(),
                Tab::Events => self.events_table(),
                Tab::Cluster => self.cluster_table(),
                Tab::Shards => self.shards_table(),
                Tab::Clients => self.clients_table(),
                Tab::Policy => self.policy_table(),
                Tab::Latency => super::latency::latency_table(tab.title(), &self.diagnostics),
                Tab::SlowLog => super::latency::slowlog_table(tab.title(), &self.diagnostics),
                Tab::Commands => super::latency::commands_table(tab.title(), &self.diagnostics),
                Tab::Capacity => crate::capacity::table(&self.capacity),
            };
            m.tables.push(t);
        }
        m
    }

    fn summaries(&self, m: &mut PaneModel) {
        let mut level = Level::Ok;
        // Topology line.
        match (&self.sentinel, &self.cluster) {
            (Some(s), _) => {
                let l = if s.master_flags.contains("o_down") {
                    Level::Crit
                } else if s.master_flags.contains("s_down") || !s.ckquorum_ok {
                    Level::Warn
                } else {
                    Level::Ok
                };
                level = level.max(l);
                let line = format!(
                    "sentinel {} → {} [{}] quorum {} {}",
                    s.master_name,
                    s.master_addr,
                    s.master_flags,
                    s.quorum,
                    if s.ckquorum_ok {
                        "CKQUORUM ok"
                    } else {
                        "CKQUORUM FAILED"
                    }
                );
                m.tile.push(Summary::line(line.clone(), l));
                m.summary.push(Summary::line(line, l));
            }
            (_, Some(c)) => {
                let l = if c.all_slots_covered && c.state == "ok" {
                    Level::Ok
                } else {
                    Level::Crit
                };
                level = level.max(l);
                let failing = c
                    .nodes
                    .iter()
                    .filter(|n| n.failed() || n.suspected())
                    .count();
                let line = format!(
                    "cluster {} · {}/16384 slots covered · {} nodes{}",
                    c.state,
                    c.slots_covered,
                    c.nodes.len(),
                    if failing > 0 {
                        format!(" · {failing} failing")
                    } else {
                        String::new()
                    }
                );
                m.tile.push(Summary::line(line.clone(), l));
                m.summary.push(Summary::line(line, l));
            }
            _ => {}
        }
        if let Some(f) = self.recent_failover() {
            level = level.max(Level::Warn);
            let line = format!(
                "failover {} ago: {} → {}",
                ago(f.at).trim_end_matches(" ago"),
                f.from,
                f.to
            );
            m.tile.push(Summary::line(line.clone(), Level::Warn));
            m.summary.push(Summary::line(line, Level::Warn));
        }
        for n in &self.nodes {
            if let Some(e) = &n.error {
                let l = if n.role == "slave"
                    || self.nodes.len() > 1 && !self.nodes.iter().take(1).any(|f| f.addr == n.addr)
                {
                    Level::Warn
                } else {
                    Level::Crit
                };
                level = level.max(l);
                let line = format!("{} down: {e}", n.addr);
                m.tile.push(Summary::line(line.clone(), l));
                m.summary.push(Summary::line(line, l));
                continue;
            }
            if !n.is_master() {
                continue;
            }
            let ratio = n.memory_ratio();
            let ml = memory_level(ratio);
            level = level.max(ml);
            let mem = match ratio {
                Some(r) => format!(
                    "{} / {} ({}) {}",
                    fmt::bytes(n.used_memory),
                    fmt::bytes(n.maxmemory),
                    fmt::pct(r),
                    n.maxmemory_policy
                ),
                None => format!(
                    "{} (no maxmemory) {}",
                    fmt::bytes(n.used_memory),
                    n.maxmemory_policy
                ),
            };
            let evict = n.evicted_per_sec.unwrap_or(0.0);
            m.tile.push(Summary::text(vec![
                Cell::new(format!("{} ", n.addr)),
                Cell::level(mem.clone(), ml),
                Cell::new(format!(" {} ops/s", n.ops_per_sec)),
                Cell::level(
                    if evict > 0.0 {
                        format!(" evicting {}", fmt::rate(evict))
                    } else {
                        String::new()
                    },
                    Level::Warn,
                ),
            ]));
            match ratio {
                Some(r) => m.summary.push(Summary::Gauge {
                    label: format!("{} memory", n.addr),
                    ratio: r.min(1.0),
                    text: mem,
                    level: ml,
                }),
                None => m.summary.push(Summary::line(
                    format!("{} memory {mem}", n.addr),
                    Level::Normal,
                )),
            }
            m.summary.push(Summary::Spark {
                label: format!("{} ping", n.addr),
                data: n.latency.window_us.clone(),
                text: format!(
                    "p50 {} p99 {} last {}",
                    us(n.latency.p50_us),
                    us(n.latency.p99_us),
                    us(n.latency.last_us)
                ),
            });
        }
        for (addr, why) in self.links_down() {
            level = level.max(Level::Warn);
            let line = format!("replica {addr} link down: {why}");
            m.tile.push(Summary::line(line.clone(), Level::Warn));
            m.summary.push(Summary::line(line, Level::Warn));
        }
        if let Some(a) = &self.eviction {
            let (text, l) = match &a.policy {
                Some(p) if a.fits => (format!("eviction: {p} fits ({})", a.why), Level::Ok),
                Some(p) => (
                    format!("eviction advice: {p} instead of {} ({})", a.current, a.why),
                    Level::Info,
                ),
                None => (format!("eviction advice: {}", a.why), Level::Info),
            };
            m.summary.push(Summary::line(text, l));
        }
        for n in &self.notes {
            m.summary.push(Summary::line(n.clone(), Level::Warn));
        }
        m.level = level;
    }

    fn nodes_table(&self) -> Table {
        let rows = self
            .nodes
            .iter()
            .map(|n| {
                if let Some(e) = &n.error {
                    let mut cells = vec![
                        Cell::new(n.addr.clone()),
                        Cell::level("down", Level::Crit),
                        Cell::level(e.clone(), Level::Crit),
                    ];
                    cells.extend((0..9).map(|_| Cell::new("")));
                    return Row::new(n.addr.clone(), cells);
                }
                let ratio = n.memory_ratio();
                let mem = match ratio {
                    Some(r) => format!(
                        "{}/{} {}",
                        fmt::bytes(n.used_memory),
                        fmt::bytes(n.maxmemory),
                        fmt::pct(r)
                    ),
                    None => fmt::bytes(n.used_memory),
                };
                let evict = n.evicted_per_sec.unwrap_or(0.0);
                Row::new(
                    n.addr.clone(),
                    vec![
                        Cell::new(n.addr.clone()),
                        Cell::new(if n.is_master() { "master" } else { "replica" }),
                        Cell::level(mem, memory_level(ratio)),
                        Cell::new(format!(
                            "{:.2}/{:.2}",
                            n.allocator_frag_ratio, n.mem_fragmentation_ratio
                        )),
                        Cell::new(n.maxmemory_policy.clone()),
                        Cell::level(
                            opt_rate(n.evicted_per_sec),
                            if evict > 0.0 {
                                Level::Warn
                            } else {
                                Level::Normal
                            },
                        ),
                        Cell::new(opt_rate(n.expired_per_sec)),
                        Cell::new(n.ops_per_sec.to_string()),
                        Cell::new(n.hit_ratio.map_or("-".into(), fmt::pct)),
                        Cell::new(format!("{}/{}", n.connected_clients, n.blocked_clients)),
                        Cell::new(fmt::count(n.keys)),
                        Cell::new(format!("{} {}", us(n.latency.p50_us), us(n.latency.p99_us))),
                    ],
                )
            })
            .collect();
        Table {
            title: Tab::Nodes.title().into(),
            columns: vec![
                Column::left("NODE", 16),
                Column::left("ROLE", 7),
                Column::right("MEMORY", 22),
                Column::right("FRAG a/rss", 10),
                Column::left("POLICY", 12),
                Column::right("EVICT", 7),
                Column::right("EXPIRE", 7),
                Column::right("OPS/S", 6),
                Column::right("HIT", 4),
                Column::right("CLI/BLK", 7),
                Column::right("KEYS", 6),
                Column::left("PING p50 p99", 14),
            ],
            rows,
            empty: "no nodes".into(),
        }
    }

    fn persistence_table(&self) -> Table {
        let rows = self
            .nodes
            .iter()
            .filter(|n| n.error.is_none())
            .map(|n| {
                let p = &n.persistence;
                Row::new(
                    n.addr.clone(),
                    vec![
                        Cell::new(n.addr.clone()),
                        Cell::new(ago(p.rdb_last_save_time)),
                        Cell::level(
                            p.rdb_last_bgsave_status.clone(),
                            status_level(&p.rdb_last_bgsave_status),
                        ),
                        Cell::new(fmt::count(p.rdb_changes_since_last_save)),
                        Cell::level(
                            if p.rdb_bgsave_in_progress {
                                "saving"
                            } else if p.loading {
                                "loading"
                            } else {
                                "-"
                            },
                            Level::Info,
                        ),
                        Cell::new(if p.aof_enabled { "on" } else { "off" }),
                        Cell::level(
                            if p.aof_rewrite_in_progress {
                                "rewriting".to_string()
                            } else {
                                p.aof_last_bgrewrite_status.clone()
                            },
                            status_level(&p.aof_last_bgrewrite_status),
                        ),
                        Cell::level(
                            p.aof_last_write_status.clone(),
                            status_level(&p.aof_last_write_status),
                        ),
                    ],
                )
            })
            .collect();
        Table {
            title: Tab::Persistence.title().into(),
            columns: vec![
                Column::left("NODE", 16),
                Column::left("LAST SAVE", 12),
                Column::left("RDB", 5),
                Column::right("CHANGES", 8),
                Column::left("NOW", 8),
                Column::left("AOF", 4),
                Column::left("REWRITE", 9),
                Column::left("AOF WRITE", 9),
            ],
            rows,
            empty: "no reachable node".into(),
        }
    }

    fn replication_table(&self) -> Table {
        let mut rows = Vec::new();
        for n in self.nodes.iter().filter(|n| n.is_master()) {
            for r in &n.replication.replicas {
                let down = r.link_down();
                let (state, detail) = match self.node(&r.addr) {
                    Some(rn) if rn.error.is_some() => {
                        ("unreachable", format!("no ACK for {}s", r.lag_secs))
                    }
                    Some(rn) if rn.replication.master_link_status.as_deref() == Some("down") => (
                        "down",
                        format!(
                            "down for {}s",
                            rn.replication.master_link_down_secs.unwrap_or(0)
                        ),
                    ),
                    _ if down => ("down", format!("no ACK for {}s", r.lag_secs)),
                    _ => ("up", format!("ACK {}s ago", r.lag_secs)),
                };
                rows.push(Row::new(
                    r.addr.clone(),
                    vec![
                        Cell::new(n.addr.clone()),
                        Cell::new(r.addr.clone()),
                        Cell::level(
                            format!("{state} ({})", r.state),
                            if state == "up" {
                                Level::Ok
                            } else {
                                Level::Crit
                            },
                        ),
                        Cell::new(fmt::bytes(r.lag_bytes.max(0) as u64)),
                        Cell::level(
                            detail,
                            if state == "up" {
                                Level::Normal
                            } else {
                                Level::Warn
                            },
                        ),
                    ],
                ));
            }
        }
        // Replicas that say their link is down but no master lists them.
        for n in self
            .nodes
            .iter()
            .filter(|n| n.replication.master_link_status.as_deref() == Some("down"))
        {
            if rows.iter().any(|r| r.key == n.addr) {
                continue;
            }
            rows.push(Row::new(
                n.addr.clone(),
                vec![
                    Cell::new(n.replication.master.clone().unwrap_or_default()),
                    Cell::new(n.addr.clone()),
                    Cell::level("down", Level::Crit),
                    Cell::new("-"),
                    Cell::level(
                        format!(
                            "down for {}s",
                            n.replication.master_link_down_secs.unwrap_or(0)
                        ),
                        Level::Warn,
                    ),
                ],
            ));
        }
        Table {
            title: Tab::Replication.title().into(),
            columns: vec![
                Column::left("MASTER", 16),
                Column::left("REPLICA", 16),
                Column::left("LINK", 18),
                Column::right("LAG", 10),
                Column::left("SINCE", 16),
            ],
            rows,
            empty: "no replicas".into(),
        }
    }

    fn sentinel_table(&self) -> Table {
        let mut rows = Vec::new();
        if let Some(s) = &self.sentinel {
            let flag_level = |f: &str| {
                if f.contains("o_down") {
                    Level::Crit
                } else if f.contains("s_down") || f.contains("disconnected") {
                    Level::Warn
                } else {
                    Level::Normal
                }
            };
            rows.push(Row::new(
                format!("master:{}", s.master_name),
                vec![
                    Cell::new("master"),
                    Cell::new(s.master_addr.clone()),
                    Cell::level(s.master_flags.clone(), flag_level(&s.master_flags)),
                    Cell::level(
                        format!("quorum {} · {}", s.quorum, s.ckquorum),
                        if s.ckquorum_ok {
                            Level::Normal
                        } else {
                            Level::Crit
                        },
                    ),
                ],
            ));
            for r in &s.replicas {
                rows.push(Row::new(
                    format!("replica:{}", r.addr),
                    vec![
                        Cell::new("replica"),
                        Cell::new(r.addr.clone()),
                        Cell::level(r.flags.clone(), flag_level(&r.flags)),
                        Cell::new(""),
                    ],
                ));
            }
            for p in &s.sentinels {
                let says = p.says_master.clone().unwrap_or_else(|| "-".into());
                let agrees = says == s.master_addr;
                rows.push(Row::new(
                    format!("sentinel:{}", p.addr),
                    vec![
                        Cell::new("sentinel"),
                        Cell::new(p.addr.clone()),
                        Cell::level(p.flags.clone(), flag_level(&p.flags)),
                        Cell::level(
                            format!("says master is {says}"),
                            if agrees || p.says_master.is_none() {
                                Level::Normal
                            } else {
                                Level::Warn
                            },
                        ),
                    ],
                ));
            }
        }
        Table {
            title: Tab::Sentinel.title().into(),
            columns: vec![
                Column::left("KIND", 8),
                Column::left("ADDRESS", 16),
                Column::left("FLAGS", 20),
                Column::left("", 20),
            ],
            rows,
            empty: "no sentinel view".into(),
        }
    }

    fn events_table(&self) -> Table {
        let rows = self
            .sentinel
            .iter()
            .flat_map(|s| s.events.iter().rev())
            .enumerate()
            .map(|(i, e)| {
                let l = match e.event.as_str() {
                    "+odown" | "+switch-master" | "+failover-state-select-slave" => Level::Crit,
                    "+sdown" | "+try-failover" | "+failover-end" | "+elected-leader" => Level::Warn,
                    "-sdown" | "-odown" => Level::Ok,
                    _ => Level::Normal,
                };
                let t = chrono::DateTime::from_timestamp_millis(e.at_ms)
                    .map(|t| {
                        t.with_timezone(&chrono::Local)
                            .format("%H:%M:%S%.3f")
                            .to_string()
                    })
                    .unwrap_or_default();
                Row::new(
                    format!("{}:{i}", e.at_ms),
                    vec![
                        Cell::new(t),
                        Cell::new(e.sentinel.clone()),
                        Cell::level(e.event.clone(), l),
                        Cell::new(e.detail.clone()),
                    ],
                )
            })
            .collect();
        Table {
            title: Tab::Events.title().into(),
            columns: vec![
                Column::left("TIME", 12),
                Column::left("SENTINEL", 16),
                Column::left("EVENT", 16),
                Column::left("DETAIL", 30),
            ],
            rows,
            empty: "no sentinel events yet (listening)".into(),
        }
    }

    fn cluster_table(&self) -> Table {
        let rows = self
            .cluster
            .iter()
            .flat_map(|c| {
                c.nodes.iter().map(move |n| {
                    let master = n
                        .master_id
                        .as_deref()
                        .and_then(|id| c.nodes.iter().find(|m| m.id == id))
                        .map_or("-".to_string(), |m| m.addr.clone());
                    let flags = n.flags.join(",");
                    let l = if n.failed() {
                        Level::Crit
                    } else if n.suspected() {
                        Level::Warn
                    } else {
                        Level::Normal
                    };
                    let slots: Vec<String> = n
                        .slots
                        .iter()
                        .map(|(a, b)| {
                            if a == b {
                                a.to_string()
                            } else {
                                format!("{a}-{b}")
                            }
                        })
                        .collect();
                    Row::new(
                        n.addr.clone(),
                        vec![
                            Cell::new(n.addr.clone()),
                            Cell::new(n.role.clone()),
                            Cell::level(flags, l),
                            Cell::new(n.link_state.clone()),
                            Cell::new(master),
                            Cell::new(if n.slots.is_empty() {
                                "-".to_string()
                            } else {
                                format!("{} {}", n.slot_count(), slots.join(" "))
                            }),
                        ],
                    )
                })
            })
            .collect();
        Table {
            title: Tab::Cluster.title().into(),
            columns: vec![
                Column::left("NODE", 16),
                Column::left("ROLE", 7),
                Column::left("FLAGS", 12),
                Column::left("LINK", 12),
                Column::left("MASTER", 16),
                Column::left("SLOTS", 20),
            ],
            rows,
            empty: "no cluster view".into(),
        }
    }

    fn shards_table(&self) -> Table {
        let mut rows = Vec::new();
        if let Some(c) = &self.cluster {
            for m in c
                .nodes
                .iter()
                .filter(|n| n.role == "master" && n.slot_count() > 0)
            {
                let info = self.node(&m.addr).filter(|n| n.error.is_none());
                let offset = info.map_or("-".into(), |n| {
                    fmt::thousands(n.replication.master_repl_offset)
                });
                let replicas: Vec<String> = info
                    .map(|n| {
                        n.replication
                            .replicas
                            .iter()
                            .map(|r| match r.lag_bytes {
                                l if l <= 0 => format!("{} {}, in sync", r.addr, r.state),
                                l => format!(
                                    "{} {}, {} behind",
                                    r.addr,
                                    r.state,
                                    fmt::bytes(l as u64)
                                ),
                            })
                            .collect()
                    })
                    .unwrap_or_else(|| {
                        // Master not polled: its replicas from the topology, offsets unknown.
                        c.nodes
                            .iter()
                            .filter(|r| r.master_id.as_deref() == Some(m.id.as_str()))
                            .map(|r| format!("{} offset ?", r.addr))
                            .collect()
                    });
                rows.push(Row::new(
                    m.addr.clone(),
                    vec![
                        Cell::level(
                            m.addr.clone(),
                            if m.failed() {
                                Level::Crit
                            } else {
                                Level::Normal
                            },
                        ),
                        Cell::new(m.slot_count().to_string()),
                        Cell::new(offset),
                        Cell::level(
                            if replicas.is_empty() {
                                "no replica".into()
                            } else {
                                replicas.join("; ")
                            },
                            if replicas.is_empty() {
                                Level::Warn
                            } else {
                                Level::Normal
                            },
                        ),
                    ],
                ));
            }
        }
        Table {
            title: Tab::Shards.title().into(),
            columns: vec![
                Column::left("MASTER", 16),
                Column::right("SLOTS", 6),
                Column::right("OFFSET", 12),
                Column::left("REPLICAS", 30),
            ],
            rows,
            empty: "no shards".into(),
        }
    }

    fn clients_table(&self) -> Table {
        let rows = self
            .clients
            .iter()
            .map(|c| {
                Row::new(
                    c.id.to_string(),
                    vec![
                        Cell::new(c.id.to_string()),
                        Cell::new(c.addr.clone()),
                        Cell::new(c.name.clone()),
                        Cell::new(c.user.clone()),
                        Cell::new(c.db.to_string()),
                        Cell::new(fmt::duration(Duration::from_secs(c.age_secs))),
                        Cell::new(fmt::duration(Duration::from_secs(c.idle_secs))),
                        Cell::new(c.flags.clone()),
                        Cell::new(c.cmd.clone()),
                    ],
                )
            })
            .collect();
        Table {
            title: format!("{} {}", Tab::Clients.title(), self.clients_node),
            columns: vec![
                Column::right("ID", 6),
                Column::left("ADDR", 16),
                Column::left("NAME", 10),
                Column::left("USER", 8),
                Column::right("DB", 2),
                Column::right("AGE", 7),
                Column::right("IDLE", 7),
                Column::left("FLAGS", 5),
                Column::left("CMD", 10),
            ],
            rows,
            empty: "no clients (or CLIENT LIST not permitted)".into(),
        }
    }

    /// The policies currently in force, e.g. "allkeys-lru" or "allkeys-lru, noeviction".
    pub fn current_policy(&self) -> String {
        let set: BTreeSet<&str> = self
            .nodes
            .iter()
            .filter(|n| n.error.is_none() && !n.maxmemory_policy.is_empty())
            .map(|n| n.maxmemory_policy.as_str())
            .collect();
        if set.is_empty() {
            "unknown".into()
        } else {
            set.into_iter().collect::<Vec<_>>().join(", ")
        }
    }

    fn policy_table(&self) -> Table {
        let up: Vec<&NodeInfo> = self.nodes.iter().filter(|n| n.error.is_none()).collect();
        let advised = self.eviction.as_ref().and_then(|a| a.policy.as_deref());
        let rows = POLICIES
            .iter()
            .map(|(p, what)| {
                let on = up.iter().filter(|n| n.maxmemory_policy == *p).count();
                Row::new(
                    p.to_string(),
                    vec![
                        Cell::level(
                            p.to_string(),
                            if on > 0 { Level::Ok } else { Level::Normal },
                        ),
                        Cell::new(if on > 0 {
                            format!("current on {on}/{}", up.len())
                        } else {
                            String::new()
                        }),
                        Cell::new(what.to_string()),
                        if advised == Some(*p) {
                            Cell::level("advised (see the summary)", Level::Info)
                        } else {
                            Cell::new("")
                        },
                    ],
                )
            })
            .collect();
        Table {
            title: Tab::Policy.title().into(),
            columns: vec![
                Column::left("MAXMEMORY-POLICY", 16),
                Column::left("", 14),
                Column::left("WHAT IT DOES", 30),
                Column::left("ADVICE", 25),
            ],
            rows,
            empty: String::new(),
        }
    }

    /// Guarded keys on the selected row of a tab.
    pub fn command(
        &self,
        table: usize,
        key: &str,
        _marked: &BTreeSet<String>,
        action: Action,
    ) -> Option<Resolved<RedisOp>> {
        let tab = *self.tabs().get(table)?;
        let node_of_row = || match tab {
            Tab::Nodes | Tab::Persistence | Tab::Cluster => Some(key.to_string()),
            Tab::Shards => Some(key.to_string()),
            _ => None,
        };
        let up = |addr: &str| self.node(addr).is_some_and(|n| n.error.is_none());
        match action {
            Action::Bgsave | Action::Bgrewriteaof => {
                let node = node_of_row()?;
                if !up(&node) {
                    return Some(Err(format!("{node} is not reachable")));
                }
                let headroom = self
                    .node(&node)
                    .map(|n| super::ops::fork_headroom(n.used_memory_rss, n.total_system_memory))
                    .unwrap_or_default();
                let op = if action == Action::Bgsave {
                    RedisOp::Bgsave {
                        node: node.clone(),
                        headroom,
                    }
                } else {
                    RedisOp::Bgrewriteaof {
                        node: node.clone(),
                        headroom,
                    }
                };
                Some(Ok((node, op, Risk::Low)))
            }
            Action::Failover => Some(self.failover(tab, key)),
            Action::SetPolicy => {
                if tab != Tab::Policy {
                    return Some(Err("choose a policy in the Policy tab".into()));
                }
                let nodes: Vec<String> = self
                    .nodes
                    .iter()
                    .filter(|n| n.error.is_none())
                    .map(|n| n.addr.clone())
                    .collect();
                if nodes.is_empty() {
                    return Some(Err("no reachable node".into()));
                }
                Some(Ok((
                    key.to_string(),
                    RedisOp::SetPolicy {
                        nodes,
                        policy: key.to_string(),
                        current: self.current_policy(),
                    },
                    Risk::Medium,
                )))
            }
            Action::Terminate => {
                if tab != Tab::Clients {
                    return None;
                }
                let c = self.clients.iter().find(|c| c.id.to_string() == key)?;
                if c.name == super::CLIENT_NAME {
                    return Some(Err(
                        "that is an opsdeck console's own connection: not touching it".into(),
                    ));
                }
                Some(Ok((
                    format!("client {} {}", c.id, c.addr),
                    RedisOp::ClientKill {
                        node: self.clients_node.clone(),
                        id: c.id,
                        client: format!("{} {}", c.addr, c.name).trim().to_string(),
                    },
                    Risk::Medium,
                )))
            }
            _ => None,
        }
    }

    fn failover(&self, tab: Tab, key: &str) -> Resolved<RedisOp> {
        if let Some(s) = &self.sentinel {
            return Ok((
                s.master_name.clone(),
                RedisOp::SentinelFailover {
                    master: s.master_name.clone(),
                    current: s.master_addr.clone(),
                },
                Risk::Medium,
            ));
        }
        let Some(c) = &self.cluster else {
            return Err("failover needs Sentinel or Cluster".into());
        };
        if !matches!(tab, Tab::Nodes | Tab::Cluster) {
            return Err("select a replica in the Cluster tab".into());
        }
        let n = c
            .nodes
            .iter()
            .find(|n| n.addr == key)
            .ok_or_else(|| format!("{key} is not a cluster node"))?;
        let master = n
            .master_id
            .as_deref()
            .and_then(|id| c.nodes.iter().find(|m| m.id == id))
            .filter(|_| n.role == "replica")
            .ok_or_else(|| format!("{key} is a master: select one of its replicas"))?;
        Ok((
            n.addr.clone(),
            RedisOp::ClusterFailover {
                node: n.addr.clone(),
                master: master.addr.clone(),
            },
            Risk::Medium,
        ))
    }

    pub fn detail(&self, table: usize, key: &str) -> Option<Detail> {
        let tab = *self.tabs().get(table)?;
        if tab == Tab::Events {
            let e = self
                .sentinel
                .as_ref()?
                .events
                .iter()
                .find(|e| key.starts_with(&format!("{}:", e.at_ms)))?;
            return Some(Detail {
                title: format!("{} from {}", e.event, e.sentinel),
                lines: vec![vec![Cell::new(e.detail.clone())]],
                table: None,
            });
        }
        let n = self.node(key)?;
        let mut lines = vec![vec![Cell::new(format!(
            "version {}  role {}",
            n.version, n.role
        ))]];
        if let Some(e) = &n.error {
            lines.push(vec![Cell::level(e.clone(), Level::Crit)]);
        }
        lines.push(vec![Cell::new(format!(
            "memory used {} peak {} rss {} max {} policy {}",
            fmt::bytes(n.used_memory),
            fmt::bytes(n.used_memory_peak),
            fmt::bytes(n.used_memory_rss),
            if n.maxmemory > 0 {
                fmt::bytes(n.maxmemory)
            } else {
                "none".into()
            },
            n.maxmemory_policy
        ))]);
        lines.push(vec![Cell::new(format!(
            "fragmentation allocator {:.2} rss {:.2}",
            n.allocator_frag_ratio, n.mem_fragmentation_ratio
        ))]);
        lines.push(vec![Cell::new(format!(
            "evicted {} ({}) expired {} ({})",
            n.evicted_keys,
            opt_rate(n.evicted_per_sec),
            n.expired_keys,
            opt_rate(n.expired_per_sec)
        ))]);
        let dbs: Vec<String> = n
            .keys_per_db
            .iter()
            .map(|(d, k)| format!("{d}={k}"))
            .collect();
        lines.push(vec![Cell::new(format!("keys {}", dbs.join(" ")))]);
        if let Some(m) = &n.replication.master {
            lines.push(vec![Cell::new(format!(
                "replica of {m}, link {}{}",
                n.replication.master_link_status.clone().unwrap_or_default(),
                n.replication
                    .master_link_down_secs
                    .map_or(String::new(), |s| format!(" for {s}s"))
            ))]);
        }
        Some(Detail {
            title: format!("Redis {}", n.addr),
            lines,
            table: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(addr: &str, role: &str) -> NodeInfo {
        NodeInfo {
            addr: addr.into(),
            role: role.into(),
            used_memory: 95,
            maxmemory: 100,
            maxmemory_policy: "allkeys-lru".into(),
            ..Default::default()
        }
    }

    #[test]
    fn standalone_tabs_memory_and_policy() {
        let s = RedisSample {
            mode: "standalone".into(),
            nodes: vec![node("h:1", "master")],
            ..Default::default()
        };
        let m = s.model();
        let titles: Vec<&str> = m.tables.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Nodes",
                "Persistence",
                "Replication",
                "Clients ",
                "Policy",
                "Latency",
                "Slow log",
                "Commands",
                "Capacity"
            ]
        );
        assert_eq!(m.level, Level::Crit);
        let pol = &m.tables[4];
        let cur = pol
            .rows
            .iter()
            .find(|r| r.key == "allkeys-lru")
            .map(|r| r.cells[1].text.clone());
        assert_eq!(cur.as_deref(), Some("current on 1/1"));
        match s.command(4, "allkeys-lfu", &BTreeSet::new(), Action::SetPolicy) {
            Some(Ok((_, op, _))) => {
                let d = op.describe();
                assert!(
                    d.contains("allkeys-lfu") && d.contains("(now allkeys-lru)"),
                    "{d}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            s.command(0, "h:1", &BTreeSet::new(), Action::Failover),
            Some(Err(_))
        ));
    }

    #[test]
    fn cluster_failover_needs_a_replica() {
        let s = RedisSample {
            mode: "cluster".into(),
            cluster: Some(ClusterView {
                nodes: vec![
                    ClusterNode {
                        id: "a".into(),
                        addr: "h:1".into(),
                        role: "master".into(),
                        ..Default::default()
                    },
                    ClusterNode {
                        id: "b".into(),
                        addr: "h:2".into(),
                        role: "replica".into(),
                        master_id: Some("a".into()),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        let cluster_tab = s
            .tabs()
            .iter()
            .position(|t| *t == Tab::Cluster)
            .unwrap_or(0);
        assert!(
            matches!(s.command(cluster_tab, "h:1", &BTreeSet::new(), Action::Failover), Some(Err(e)) if e.contains("is a master"))
        );
        match s.command(cluster_tab, "h:2", &BTreeSet::new(), Action::Failover) {
            Some(Ok((t, RedisOp::ClusterFailover { master, .. }, _))) => {
                assert_eq!(t, "h:2");
                assert_eq!(master, "h:1");
            }
            other => panic!("{other:?}"),
        }
    }
}
