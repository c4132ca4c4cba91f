//! Partition balance: per broker leaders, replicas and bytes with their skew, the brokers'
//! log directories (`DescribeLogDirs`), under-replicated and offline partitions,
//! reassignments in progress with their progress, and the rebalance plan (`plan.rs`). Built
//! from one poll's metadata and the last log-dir read (pure); the Balance tab is its table.

pub mod plan;
mod read;
pub mod reassign;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::wire::{LogDirRead, Ongoing};
use super::{BrokerInfo, TopicInfo};
use crate::views::{Cell, Column, Level, Row, Table, fmt};
pub use plan::{Plan, Skew};

/// Log directories per broker as last read: broker → its dirs, or why they could not be read.
pub type LogDirsRead = HashMap<i32, Result<Vec<LogDirRead>, String>>;

/// The last plan and a hash of what it was made from: a plan is remade only when the
/// brokers, the replica lists or the sizes change (it takes seconds on a lopsided 10k
/// partitions).
pub type PlanCache = Option<(u64, Option<Plan>)>;

/// Replication throttle of a rebalance when the entry sets none: 50 MiB/s per broker.
pub const DEFAULT_THROTTLE: u64 = 50 << 20;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Balance {
    pub brokers: Vec<BrokerLoad>,
    /// max/mean of leaders (actual), replicas and bytes across live brokers.
    pub skew: Option<Skew>,
    pub log_dirs: Vec<LogDir>,
    /// Seconds since the log directories were read (None: not yet).
    pub log_dirs_age_seconds: Option<f64>,
    /// Brokers whose log directories could not be read, with why.
    pub log_dirs_errors: Vec<String>,
    /// Bytes per topic (all replicas), largest first.
    pub topics: Vec<TopicBytes>,
    pub reassignments: Vec<Reassignment>,
    /// Set when the reassignments could not be listed (so none is known not to run).
    pub reassignments_error: Option<String>,
    /// Brokers that hold replicas but are not in the metadata.
    pub down_brokers: Vec<i32>,
    /// "topic[partition]" of partitions missing an in-sync replica / without a leader.
    pub under_replicated: Vec<String>,
    pub offline: Vec<String>,
    /// The rebalance plan from this poll (None: nothing to move, or not computed).
    pub plan: Option<Plan>,
    /// Where the plan was written (`kafka-reassign-partitions` JSON).
    pub plan_file: Option<String>,
    /// The replication throttle a rebalance sets, bytes per second per broker.
    pub throttle_bytes_per_sec: u64,
    /// Why balance figures are not read at all (the wire path cannot run).
    pub unavailable: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BrokerLoad {
    pub id: i32,
    pub rack: Option<String>,
    /// Partitions it leads now.
    pub leaders: usize,
    /// Partitions whose first replica (preferred leader) it is.
    pub preferred_leaders: usize,
    pub replicas: usize,
    /// Bytes of its replicas (None until its log dirs are read).
    pub bytes: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LogDir {
    pub broker: i32,
    pub path: String,
    /// Bytes of the replicas in it.
    pub bytes: i64,
    pub total_bytes: Option<i64>,
    pub usable_bytes: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TopicBytes {
    pub topic: String,
    pub bytes: i64,
    pub per_broker: BTreeMap<i32, i64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Reassignment {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
    /// Bytes the adding replicas hold so far, and what they must reach (the largest existing
    /// replica, times the adding replicas), when the log dirs know.
    pub caught_up_bytes: Option<i64>,
    pub target_bytes: Option<i64>,
}

/// Partition sizes: (topic, partition) → broker → bytes of that broker's replica.
fn replica_sizes(dirs: &LogDirsRead) -> HashMap<(String, i32), BTreeMap<i32, i64>> {
    let mut m: HashMap<(String, i32), BTreeMap<i32, i64>> = HashMap::new();
    for (b, r) in dirs {
        for d in r.iter().flatten() {
            for (k, size) in &d.replicas {
                *m.entry(k.clone()).or_default().entry(*b).or_default() += size;
            }
        }
    }
    m
}

/// The balance of one poll: `topics` and `brokers` as ingested, `dirs` the last log-dir
/// read (with its age), `ongoing` this poll's reassignments.
pub fn build(
    topics: &[TopicInfo],
    brokers: &[BrokerInfo],
    dirs: Option<(&LogDirsRead, f64)>,
    ongoing: Option<Result<Vec<Ongoing>, String>>,
    cache: &mut PlanCache,
) -> Balance {
    let sizes = dirs.map(|(d, _)| replica_sizes(d)).unwrap_or_default();
    let live: BTreeSet<i32> = brokers.iter().map(|b| b.id).collect();
    let mut out = Balance {
        log_dirs_age_seconds: dirs.map(|(_, age)| age),
        ..Default::default()
    };
    let mut parts = Vec::new();
    let mut down = BTreeSet::new();
    let mut per_topic: BTreeMap<&str, TopicBytes> = BTreeMap::new();
    for t in topics {
        for p in &t.partitions {
            let key = (t.name.clone(), p.partition);
            let size = sizes.get(&key);
            down.extend(p.replicas.iter().filter(|r| !live.contains(r)));
            if p.leader < 0 {
                out.offline.push(format!("{}[{}]", t.name, p.partition));
            } else if !p.missing.is_empty() {
                out.under_replicated
                    .push(format!("{}[{}]", t.name, p.partition));
            }
            if let Some(s) = size {
                let tb = per_topic.entry(&t.name).or_insert_with(|| TopicBytes {
                    topic: t.name.clone(),
                    ..Default::default()
                });
                for (b, n) in s {
                    tb.bytes += n;
                    *tb.per_broker.entry(*b).or_default() += n;
                }
            }
            parts.push(plan::Part {
                topic: t.name.clone(),
                partition: p.partition,
                replicas: p.replicas.clone(),
                bytes: size.and_then(|s| s.values().max().copied()),
                movable: !t.internal,
            });
        }
    }
    out.down_brokers = down.into_iter().collect();
    let mut tb: Vec<TopicBytes> = per_topic.into_values().collect();
    tb.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.topic.cmp(&b.topic)));
    out.topics = tb;

    let plan_brokers: Vec<plan::Broker> = brokers
        .iter()
        .map(|b| plan::Broker {
            id: b.id,
            rack: b.rack.clone(),
        })
        .collect();
    let loads = plan::loads(&plan_brokers, &parts);
    let known = dirs.is_some();
    out.brokers = brokers
        .iter()
        .map(|b| {
            let l = loads.get(&b.id).cloned().unwrap_or_default();
            let bytes = dirs.and_then(|(d, _)| match d.get(&b.id) {
                Some(Ok(ds)) => Some(ds.iter().flat_map(|d| d.replicas.values()).sum()),
                _ => None,
            });
            BrokerLoad {
                id: b.id,
                rack: b.rack.clone(),
                leaders: b.leaders,
                preferred_leaders: l.leaders,
                replicas: l.replicas,
                bytes,
            }
        })
        .collect();
    if !brokers.is_empty() {
        out.skew = Some(Skew {
            leaders: plan::skew_of(out.brokers.iter().map(|b| b.leaders as f64)),
            replicas: plan::skew_of(out.brokers.iter().map(|b| b.replicas as f64)),
            bytes: known
                .then(|| plan::skew_of(out.brokers.iter().map(|b| b.bytes.unwrap_or(0) as f64))),
        });
    }
    if let Some((d, _)) = dirs {
        let mut ids: Vec<&i32> = d.keys().collect();
        ids.sort();
        for b in ids {
            match &d[b] {
                Ok(ds) => out.log_dirs.extend(ds.iter().map(|x| LogDir {
                    broker: *b,
                    path: x.path.clone(),
                    bytes: x.replicas.values().sum(),
                    total_bytes: x.total_bytes,
                    usable_bytes: x.usable_bytes,
                    error: x.error.clone(),
                })),
                Err(e) => out.log_dirs_errors.push(format!("broker {b}: {e}")),
            }
        }
    }
    match ongoing {
        Some(Ok(list)) => {
            out.reassignments = list
                .into_iter()
                .map(|o| {
                    let s = sizes.get(&(o.topic.clone(), o.partition));
                    let (have, want) = match s {
                        Some(s) if !o.adding.is_empty() => {
                            let full = o
                                .replicas
                                .iter()
                                .filter(|r| !o.adding.contains(r))
                                .filter_map(|r| s.get(r))
                                .max()
                                .copied();
                            let have: i64 = o.adding.iter().filter_map(|r| s.get(r)).sum::<i64>();
                            (full.map(|_| have), full.map(|f| f * o.adding.len() as i64))
                        }
                        _ => (None, None),
                    };
                    Reassignment {
                        topic: o.topic,
                        partition: o.partition,
                        replicas: o.replicas,
                        adding: o.adding,
                        removing: o.removing,
                        caught_up_bytes: have,
                        target_bytes: want,
                    }
                })
                .collect()
        }
        Some(Err(e)) => out.reassignments_error = Some(e),
        None => out.reassignments_error = Some("not read yet".into()),
    }
    // A plan is made only from a settled cluster: mid-reassignment the metadata lists the
    // old and new replicas together.
    if out.blocked(brokers.len()).is_none() {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&plan_brokers, &parts).hash(&mut h);
        let key = h.finish();
        out.plan = match cache {
            Some((k, p)) if *k == key => p.clone(),
            _ => {
                let p = plan::plan(&plan_brokers, &parts);
                let p = (!p.is_empty()).then_some(p);
                *cache = Some((key, p.clone()));
                p
            }
        };
    }
    out
}

impl Balance {
    /// Why a rebalance cannot start now, if it cannot.
    pub fn refusal(&self, brokers: usize) -> Option<String> {
        if let Some(why) = self.blocked(brokers) {
            return Some(why);
        }
        if self.plan.is_none() {
            return Some(match &self.skew {
                Some(s) => format!("already balanced ({}): nothing to move", s.text()),
                None => "nothing to move".into(),
            });
        }
        None
    }

    /// Why no plan can be made or applied now: the cluster is not settled.
    fn blocked(&self, brokers: usize) -> Option<String> {
        if let Some(why) = &self.unavailable {
            return Some(format!("partition balance is not read: {why}"));
        }
        if brokers < 2 {
            return Some("a single broker: there is nothing to balance".into());
        }
        // Adding replicas are out of sync until they catch up: the reassignment is the reason.
        if !self.reassignments.is_empty() {
            return Some(format!(
                "a reassignment is in progress ({} partition(s)): wait for it to finish, or cancel it",
                self.reassignments.len()
            ));
        }
        if !self.offline.is_empty() {
            return Some(format!(
                "{} partition(s) offline ({}): bring their brokers back before moving replicas",
                self.offline.len(),
                list(&self.offline)
            ));
        }
        if !self.down_brokers.is_empty() {
            return Some(format!(
                "broker(s) {} down (they hold replicas but are not in the metadata): bring them back first",
                self.down_brokers
                    .iter()
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.under_replicated.is_empty() {
            return Some(format!(
                "{} partition(s) under-replicated ({}): let the followers catch up before moving replicas",
                self.under_replicated.len(),
                list(&self.under_replicated)
            ));
        }
        if let Some(e) = &self.reassignments_error {
            return Some(format!(
                "cannot tell whether a reassignment is in progress: {e}"
            ));
        }
        None
    }

    pub fn table(&self) -> Table {
        let mut rows = Vec::new();
        let disk = |b: i32| {
            let ds: Vec<&LogDir> = self.log_dirs.iter().filter(|d| d.broker == b).collect();
            if ds.is_empty() {
                return "-".to_string();
            }
            let free: Option<i64> = ds.iter().map(|d| d.usable_bytes).sum();
            let total: Option<i64> = ds.iter().map(|d| d.total_bytes).sum();
            match (free, total) {
                (Some(f), Some(t)) => format!(
                    "{} free of {}",
                    fmt::bytes(f.max(0) as u64),
                    fmt::bytes(t.max(0) as u64)
                ),
                _ => format!("{} dir(s)", ds.len()),
            }
        };
        for b in &self.brokers {
            let errors: Vec<&String> = self
                .log_dirs_errors
                .iter()
                .filter(|e| e.starts_with(&format!("broker {}:", b.id)))
                .collect();
            let offline_dirs = self
                .log_dirs
                .iter()
                .filter(|d| d.broker == b.id && d.error.is_some())
                .count();
            let (note, level) = if let Some(e) = errors.first() {
                ((*e).clone(), Level::Warn)
            } else if offline_dirs > 0 {
                (format!("{offline_dirs} log dir(s) offline"), Level::Crit)
            } else {
                (String::new(), Level::Normal)
            };
            rows.push(Row::new(
                format!("broker:{}", b.id),
                vec![
                    Cell::new(format!("broker {}", b.id)),
                    Cell::new(b.rack.clone().unwrap_or_else(|| "-".into())),
                    Cell::new(b.leaders.to_string()),
                    Cell::new(b.replicas.to_string()),
                    Cell::new(
                        b.bytes
                            .map(|n| fmt::bytes(n.max(0) as u64))
                            .unwrap_or_else(|| "-".into()),
                    ),
                    Cell::new(disk(b.id)),
                    Cell::level(note, level),
                ],
            ));
        }
        for b in &self.down_brokers {
            rows.push(Row::new(
                format!("broker:{b}"),
                vec![
                    Cell::level(format!("broker {b}"), Level::Crit),
                    Cell::new("-"),
                    Cell::new("-"),
                    Cell::new("-"),
                    Cell::new("-"),
                    Cell::new("-"),
                    Cell::level("down: holds replicas, not in the metadata", Level::Crit),
                ],
            ));
        }
        if let Some(s) = &self.skew {
            let lv = |x: f64| {
                if x >= 1.5 { Level::Warn } else { Level::Normal }
            };
            let note = match (&self.plan, self.blocked(self.brokers.len())) {
                (Some(p), None) => Cell::level(format!("plan: {}", p.summary()), Level::Info),
                (_, Some(why)) => Cell::level(format!("no plan now: {why}"), Level::Warn),
                (None, None) => Cell::level("balanced", Level::Ok),
            };
            rows.push(Row::new(
                "skew",
                vec![
                    Cell::new("skew max/mean"),
                    Cell::new(""),
                    Cell::level(format!("{:.2}", s.leaders), lv(s.leaders)),
                    Cell::level(format!("{:.2}", s.replicas), lv(s.replicas)),
                    s.bytes
                        .map(|b| Cell::level(format!("{b:.2}"), lv(b)))
                        .unwrap_or_else(|| Cell::new("-")),
                    Cell::new(""),
                    note,
                ],
            ));
        }
        for r in &self.reassignments {
            let progress = match (r.caught_up_bytes, r.target_bytes) {
                (Some(h), Some(w)) if w > 0 => format!(
                    "; {} of {} caught up ({:.0}%)",
                    fmt::bytes(h.max(0) as u64),
                    fmt::bytes(w as u64),
                    (h as f64 / w as f64 * 100.0).min(100.0)
                ),
                _ => String::new(),
            };
            rows.push(Row::new(
                format!("reassign:{}:{}", r.topic, r.partition),
                vec![
                    Cell::level(format!("{}[{}]", r.topic, r.partition), Level::Info),
                    Cell::new(""),
                    Cell::new(""),
                    Cell::new(ids(&r.replicas)),
                    Cell::new(""),
                    Cell::new(""),
                    Cell::level(
                        format!(
                            "reassigning: adding {}, removing {}{progress}",
                            ids(&r.adding),
                            ids(&r.removing)
                        ),
                        Level::Info,
                    ),
                ],
            ));
        }
        for (what, level, list) in [
            ("offline", Level::Crit, &self.offline),
            ("under-replicated", Level::Warn, &self.under_replicated),
        ] {
            for p in list {
                rows.push(Row::new(
                    format!("partition:{p}"),
                    vec![
                        Cell::level(p.clone(), level),
                        Cell::new(""),
                        Cell::new(""),
                        Cell::new(""),
                        Cell::new(""),
                        Cell::new(""),
                        Cell::level(what, level),
                    ],
                ));
            }
        }
        Table {
            title: "Balance".into(),
            columns: vec![
                Column::left("BROKER", 16),
                Column::left("RACK", 6),
                Column::right("LEADERS", 7),
                Column::right("REPLICAS", 8),
                Column::right("BYTES", 10),
                Column::left("LOG DIRS", 22),
                Column::left("NOTE", 40),
            ],
            rows,
            empty: match &self.unavailable {
                Some(why) => format!("partition balance not read: {why}"),
                None => "no brokers".into(),
            },
        }
    }

    /// The log directories as capacity figures: their replicas' bytes against those plus
    /// the filesystem's free space, where the broker reports it (KIP-827).
    pub fn figures(&self) -> Vec<crate::capacity::Figure> {
        self.log_dirs
            .iter()
            .filter(|d| d.error.is_none())
            .map(|d| crate::capacity::Figure {
                kind: "kafka.log_dir",
                subject: format!("{}:{}", d.broker, d.path),
                what: format!("broker {} log dir {}", d.broker, d.path),
                used: d.bytes as f64,
                limit: d.usable_bytes.map(|u| (d.bytes + u) as f64),
                unit: crate::metrics::Unit::Bytes,
                table: "Balance",
                key: format!("broker:{}", d.broker),
            })
            .collect()
    }
}

impl Plan {
    /// "4 replica moves in 4 partitions, 12.0 MiB; replicas 1.50 → 1.00, leaders …".
    pub fn summary(&self) -> String {
        let bytes = if self.unknown_size == self.moves.len() {
            "size unknown".to_string()
        } else if self.unknown_size > 0 {
            format!(
                "{} (+{} of unknown size)",
                fmt::bytes(self.bytes.max(0) as u64),
                self.unknown_size
            )
        } else {
            fmt::bytes(self.bytes.max(0) as u64)
        };
        let mut skew = format!(
            "replicas {:.2} → {:.2}, leaders {:.2} → {:.2}",
            self.before.replicas, self.after.replicas, self.before.leaders, self.after.leaders
        );
        if let (Some(a), Some(b)) = (self.before.bytes, self.after.bytes) {
            skew.push_str(&format!(", bytes {a:.2} → {b:.2}"));
        }
        format!(
            "{} replica move(s) in {} partition(s), {bytes}; skew {skew}",
            self.moves.len(),
            self.partitions.len()
        )
    }
}

fn ids(v: &[i32]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The first few of a list, "and N more".
fn list(v: &[String]) -> String {
    let mut s = v.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if v.len() > 5 {
        s.push_str(&format!(" and {} more", v.len() - 5));
    }
    s
}

/// `reassignment_throttle`: bytes per second, "10MiB", "50MB", "1048576".
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim().trim_end_matches("/s");
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a rate: write bytes per second like \"10MiB\""))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        u => {
            return Err(format!(
                "unknown unit {u:?} in {s:?}: use B, KiB, MiB or GiB"
            ));
        }
    };
    let v = (n * mult).round();
    if v < 1.0 {
        return Err(format!(
            "{s:?}: the throttle must be at least 1 byte per second"
        ));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(parts: &[(i32, i32, &[i32], &[i32])]) -> TopicInfo {
        let partitions: Vec<super::super::PartitionInfo> = parts
            .iter()
            .map(|(p, leader, replicas, isr)| super::super::PartitionInfo {
                partition: *p,
                leader: *leader,
                replicas: replicas.to_vec(),
                isr: isr.to_vec(),
                missing: replicas
                    .iter()
                    .filter(|r| !isr.contains(r))
                    .copied()
                    .collect(),
                ..Default::default()
            })
            .collect();
        TopicInfo {
            name: "t".into(),
            partition_count: partitions.len(),
            partitions,
            ..Default::default()
        }
    }

    fn brokers(ids: &[i32]) -> Vec<BrokerInfo> {
        ids.iter()
            .map(|id| BrokerInfo {
                id: *id,
                ..Default::default()
            })
            .collect()
    }

    fn refusal(t: TopicInfo, live: &[i32], ongoing: Vec<Ongoing>) -> Option<String> {
        let b = brokers(live);
        build(&[t], &b, None, Some(Ok(ongoing)), &mut None).refusal(b.len())
    }

    #[test]
    fn a_rebalance_is_refused_with_the_reason_until_the_cluster_is_settled() {
        let lopsided = || topic(&[(0, 1, &[1, 2], &[1, 2]), (1, 2, &[2, 1], &[2, 1])]);
        // Offline, a broker down, under-replicated, reassigning: each named, and no plan.
        let offline = topic(&[(0, -1, &[1, 2], &[]), (1, 2, &[2, 1], &[2, 1])]);
        let why = refusal(offline, &[1, 2, 3], vec![]).unwrap_or_default();
        assert!(why.starts_with("1 partition(s) offline (t[0])"), "{why}");
        let down = topic(&[(0, 1, &[1, 4], &[1, 4]), (1, 2, &[2, 1], &[2, 1])]);
        let why = refusal(down, &[1, 2, 3], vec![]).unwrap_or_default();
        assert!(why.starts_with("broker(s) 4 down"), "{why}");
        let urp = topic(&[(0, 1, &[1, 2], &[1]), (1, 2, &[2, 1], &[2, 1])]);
        let why = refusal(urp, &[1, 2, 3], vec![]).unwrap_or_default();
        assert!(
            why.starts_with("1 partition(s) under-replicated (t[0])"),
            "{why}"
        );
        let moving = Ongoing {
            topic: "t".into(),
            partition: 0,
            replicas: vec![3, 2, 1],
            adding: vec![3],
            removing: vec![1],
        };
        let why = refusal(lopsided(), &[1, 2, 3], vec![moving]).unwrap_or_default();
        assert!(
            why.starts_with("a reassignment is in progress (1 partition(s))"),
            "{why}"
        );
        let b = brokers(&[1, 2, 3]);
        let unknown = build(
            &[lopsided()],
            &b,
            None,
            Some(Err("timeout".into())),
            &mut None,
        );
        assert!(unknown.plan.is_none());
        assert!(
            unknown
                .refusal(3)
                .is_some_and(|w| w.contains("cannot tell whether a reassignment")),
        );
        // Settled and lopsided: a plan, no refusal; one broker: nothing to balance.
        let ok = build(&[lopsided()], &b, None, Some(Ok(vec![])), &mut None);
        assert!(
            ok.plan.is_some() && ok.refusal(3).is_none(),
            "{:?}",
            ok.refusal(3)
        );
        assert!(
            refusal(lopsided(), &[1, 2], vec![]).is_some_and(|w| w.starts_with("already balanced"))
        );
    }

    #[test]
    fn rates_parse_with_units() {
        assert_eq!(parse_rate("10MiB"), Ok(10 << 20));
        assert_eq!(parse_rate("1024"), Ok(1024));
        assert_eq!(parse_rate("2 KB/s"), Ok(2000));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("5 parsecs").is_err());
    }
}
