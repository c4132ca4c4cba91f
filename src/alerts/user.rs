//! The metric catalogue every rule reads (built-in and user rules alike), comparisons, the
//! compiled `Rule`, and validation of `[[alerts.rules]]` with file:line errors.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::{Alert, Jump, Severity, SourceView};
use crate::config::{ConfigError, find_span, parse_duration};
use crate::sources::backups::Verdict;
use crate::sources::{Sample, SourceKind, Status};
use crate::views::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    pub const VALID: &'static str = ">, >=, <, <=";

    pub fn parse(s: &str) -> Option<Cmp> {
        match s.trim() {
            ">" => Some(Cmp::Gt),
            ">=" => Some(Cmp::Ge),
            "<" => Some(Cmp::Lt),
            "<=" => Some(Cmp::Le),
            _ => None,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Ge => "≥",
            Cmp::Lt => "<",
            Cmp::Le => "≤",
        }
    }

    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Cmp::Gt => value > threshold,
            Cmp::Ge => value >= threshold,
            Cmp::Lt => value < threshold,
            Cmp::Le => value <= threshold,
        }
    }

    /// Whether an alert already raised still holds: it resolves only once the value has
    /// crossed back past the threshold by `margin` (a fraction of the threshold), so a value
    /// hovering at the threshold does not flap.
    pub fn still_holds(self, value: f64, threshold: f64, margin: f64) -> bool {
        let m = threshold.abs() * margin;
        match self {
            Cmp::Gt | Cmp::Ge => self.holds(value, threshold - m),
            Cmp::Lt | Cmp::Le => self.holds(value, threshold + m),
        }
    }
}

/// How a metric's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Ratio,
    Seconds,
    Count,
    Bytes,
    Rate,
    /// 1 or 0.
    Flag,
    /// Burrow's consumer status: 0 OK, 1 WARN, 2 REWIND, 3 STALL, 4 STOP.
    LagStatus,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Ratio => fmt::pct(v),
            Unit::Seconds => fmt::secs(v),
            Unit::Count => fmt::thousands(v.round() as i64),
            Unit::Bytes => fmt::bytes(v.max(0.0) as u64),
            Unit::Rate => fmt::rate(v),
            Unit::Flag => if v >= 0.5 { "yes" } else { "no" }.into(),
            Unit::LagStatus => ["OK", "WARN", "REWIND", "STALL", "STOP"]
                .get(v.max(0.0) as usize)
                .unwrap_or(&"?")
                .to_string(),
        }
    }
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// A documented selector: what a rule may compare.
pub struct Metric {
    pub name: &'static str,
    /// The kind of source it reads; None for every kind.
    pub kind: Option<SourceKind>,
    pub unit: Unit,
    pub help: &'static str,
}

pub const METRICS: &[Metric] = &[
    Metric {
        name: "source.unreachable",
        kind: None,
        unit: Unit::Flag,
        help: "1 while the source's last poll failed",
    },
    Metric {
        name: "kafka.group.status",
        kind: Some(SourceKind::Kafka),
        unit: Unit::LagStatus,
        help: "consumer group status per group: 0 OK, 1 WARN, 2 REWIND, 3 STALL, 4 STOP",
    },
    Metric {
        name: "kafka.group.warning",
        kind: Some(SourceKind::Kafka),
        unit: Unit::Flag,
        help: "1 per consumer group whose status is WARN (lag rising) or REWIND",
    },
    Metric {
        name: "kafka.group.lag_seconds",
        kind: Some(SourceKind::Kafka),
        unit: Unit::Seconds,
        help: "worst partition's time lag per consumer group",
    },
    Metric {
        name: "kafka.group.lag",
        kind: Some(SourceKind::Kafka),
        unit: Unit::Count,
        help: "total messages behind per consumer group",
    },
    Metric {
        name: "kafka.topic.under_replicated",
        kind: Some(SourceKind::Kafka),
        unit: Unit::Count,
        help: "under-replicated partitions per topic",
    },
    Metric {
        name: "kafka.topic.under_min_isr",
        kind: Some(SourceKind::Kafka),
        unit: Unit::Count,
        help: "partitions below min.insync.replicas per topic (acks=all writes fail)",
    },
    Metric {
        name: "kafka.topic.offline",
        kind: Some(SourceKind::Kafka),
        unit: Unit::Count,
        help: "partitions without a leader per topic",
    },
    Metric {
        name: "postgres.connections_ratio",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Ratio,
        help: "client connections over usable slots (max_connections minus reserved)",
    },
    Metric {
        name: "postgres.connections",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Count,
        help: "client connections",
    },
    Metric {
        name: "postgres.query_seconds",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Seconds,
        help: "running time of each active query",
    },
    Metric {
        name: "postgres.idle_in_transaction_seconds",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Seconds,
        help: "time each session has been idle in transaction",
    },
    Metric {
        name: "postgres.blocking_seconds",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Seconds,
        help: "longest wait behind each root blocker session",
    },
    Metric {
        name: "postgres.replication_lag_seconds",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Seconds,
        help: "replay lag of each standby (on the primary)",
    },
    Metric {
        name: "postgres.replication_lag_bytes",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Bytes,
        help: "replay lag in bytes of each standby, or of this standby's receiver",
    },
    Metric {
        name: "postgres.wal_receiver_down",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Flag,
        help: "1 on a standby whose WAL receiver is not streaming (skipped while its status needs pg_read_all_stats)",
    },
    Metric {
        name: "postgres.slot_inactive_retained_bytes",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Bytes,
        help: "WAL held back by each inactive replication slot",
    },
    Metric {
        name: "postgres.slot_wal_status",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Count,
        help: "wal_status of each replication slot: 0 reserved/extended, 1 unreserved, 2 lost",
    },
    Metric {
        name: "postgres.xid_wraparound_ratio",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Ratio,
        help: "age(datfrozenxid) of each database over the 2^31 wraparound limit",
    },
    Metric {
        name: "postgres.mxid_wraparound_ratio",
        kind: Some(SourceKind::Postgres),
        unit: Unit::Ratio,
        help: "mxid_age(datminmxid) of each database over the 2^31 wraparound limit",
    },
    Metric {
        name: "redis.memory_ratio",
        kind: Some(SourceKind::Redis),
        unit: Unit::Ratio,
        help: "used_memory over maxmemory per node (nodes without maxmemory skipped)",
    },
    Metric {
        name: "redis.evicted_per_sec",
        kind: Some(SourceKind::Redis),
        unit: Unit::Rate,
        help: "evicted keys per second per node",
    },
    Metric {
        name: "redis.connected_clients",
        kind: Some(SourceKind::Redis),
        unit: Unit::Count,
        help: "connected clients per node",
    },
    Metric {
        name: "redis.replica_link_down",
        kind: Some(SourceKind::Redis),
        unit: Unit::Flag,
        help: "1 per replica whose replication link is down",
    },
    Metric {
        name: "redis.failover_recent",
        kind: Some(SourceKind::Redis),
        unit: Unit::Flag,
        help: "1 while a failover happened recently",
    },
    Metric {
        name: "backup.failed",
        kind: Some(SourceKind::Backup),
        unit: Unit::Flag,
        help: "1 when the last backup failed",
    },
    Metric {
        name: "backup.stale",
        kind: Some(SourceKind::Backup),
        unit: Unit::Flag,
        help: "1 when the newest backup is older than max_age",
    },
    Metric {
        name: "backup.age_seconds",
        kind: Some(SourceKind::Backup),
        unit: Unit::Seconds,
        help: "age of the newest backup",
    },
    Metric {
        name: "endpoint.down",
        kind: Some(SourceKind::Endpoint),
        unit: Unit::Flag,
        help: "1 while the endpoint's probe fails",
    },
    Metric {
        name: "host.disk_ratio",
        kind: Some(SourceKind::Host),
        unit: Unit::Ratio,
        help: "used space per mount",
    },
    Metric {
        name: "host.memory_ratio",
        kind: Some(SourceKind::Host),
        unit: Unit::Ratio,
        help: "used memory",
    },
    Metric {
        name: "host.cpu_ratio",
        kind: Some(SourceKind::Host),
        unit: Unit::Ratio,
        help: "CPU busy",
    },
    Metric {
        name: "host.load1",
        kind: Some(SourceKind::Host),
        unit: Unit::Count,
        help: "1-minute load average",
    },
];

pub fn metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

pub fn metric_names() -> String {
    METRICS
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One value of a metric within a source.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Identity within the source (group, pid, node, mount); empty for the source itself.
    pub subject: String,
    /// How the subject reads in a summary, e.g. "group orders".
    pub what: String,
    pub value: f64,
    /// Extra words for the summary (a reason, an error).
    pub note: String,
    pub jump: Option<Jump>,
}

/// Reads a metric from a source's latest state.
pub fn measure(metric: &str, s: &SourceView) -> Vec<Point> {
    let jump = |table: &str, key: &str| {
        Some(Jump {
            kind: s.kind,
            source: s.name.to_string(),
            table: table.into(),
            key: key.into(),
        })
    };
    let point = |subject: String, what: String, value: f64, note: String, jump| Point {
        subject,
        what,
        value,
        note,
        jump,
    };
    if metric == "source.unreachable" {
        let (v, note) = match s.status {
            Status::Error(e) => (1.0, e.clone()),
            _ => (0.0, String::new()),
        };
        return vec![point(
            String::new(),
            format!("{} {}", s.kind.label(), s.name),
            v,
            note,
            None,
        )];
    }
    let mut out = Vec::new();
    match s.sample {
        Some(Sample::Kafka(k)) => match metric {
            "kafka.group.status"
            | "kafka.group.warning"
            | "kafka.group.lag_seconds"
            | "kafka.group.lag" => {
                for g in &k.groups {
                    let value = match metric {
                        "kafka.group.status" => g.status as u8 as f64,
                        "kafka.group.warning" => flag(matches!(
                            g.status,
                            crate::sources::kafka::LagStatus::Warn
                                | crate::sources::kafka::LagStatus::Rewind
                        )),
                        "kafka.group.lag" => g.total_lag as f64,
                        _ => match g.lag_seconds {
                            Some(v) => v,
                            None => continue,
                        },
                    };
                    out.push(point(
                        g.name.clone(),
                        format!("group {}", g.name),
                        value,
                        g.reason.clone(),
                        jump("Groups", &g.name),
                    ));
                }
            }
            "kafka.topic.under_replicated"
            | "kafka.topic.offline"
            | "kafka.topic.under_min_isr" => {
                for t in &k.topics {
                    let v = match metric {
                        "kafka.topic.offline" => t.offline,
                        "kafka.topic.under_min_isr" => t.under_min_isr,
                        _ => t.under_replicated,
                    };
                    out.push(point(
                        t.name.clone(),
                        format!("topic {}", t.name),
                        v as f64,
                        String::new(),
                        jump("Topics", &t.name),
                    ));
                }
            }
            _ => {}
        },
        Some(Sample::Postgres(p)) => {
            for x in crate::sources::postgres::metrics::points(p, s.name, metric) {
                out.push(point(
                    x.subject,
                    x.what,
                    x.value,
                    x.note,
                    jump(x.table, &x.key),
                ));
            }
        }
        Some(Sample::Redis(r)) => match metric {
            "redis.memory_ratio" | "redis.evicted_per_sec" | "redis.connected_clients" => {
                for n in r.nodes.iter().filter(|n| n.error.is_none()) {
                    let v = match metric {
                        "redis.memory_ratio" => n.memory_ratio(),
                        "redis.evicted_per_sec" => n.evicted_per_sec,
                        _ => Some(n.connected_clients as f64),
                    };
                    if let Some(v) = v {
                        out.push(point(
                            n.addr.clone(),
                            format!("node {}", n.addr),
                            v,
                            String::new(),
                            jump("Nodes", &n.addr),
                        ));
                    }
                }
            }
            "redis.replica_link_down" => {
                for (replica, why) in r.links_down() {
                    out.push(point(
                        replica.clone(),
                        format!("replica {replica}"),
                        1.0,
                        why,
                        jump("Nodes", &replica),
                    ));
                }
            }
            "redis.failover_recent" => {
                if let Some(f) = r.recent_failover() {
                    out.push(point(
                        String::new(),
                        format!("redis {}", s.name),
                        1.0,
                        format!("{} -> {}", f.from, f.to),
                        jump("Nodes", &f.to),
                    ));
                }
            }
            _ => {}
        },
        Some(Sample::Backup(b)) => {
            let v = match metric {
                "backup.failed" => Some(flag(b.verdict == Verdict::Failed)),
                "backup.stale" => Some(flag(b.verdict == Verdict::Stale)),
                "backup.age_seconds" => b.newest_age_secs.map(|a| a as f64),
                _ => None,
            };
            if let Some(v) = v {
                out.push(point(
                    String::new(),
                    format!("backup {}", b.name),
                    v,
                    b.reason.clone(),
                    jump("Backups", &b.name),
                ));
            }
        }
        Some(Sample::Endpoint(e)) if metric == "endpoint.down" => out.push(point(
            String::new(),
            format!("endpoint {}", e.name),
            flag(e.error.is_some()),
            e.error.clone().unwrap_or_default(),
            None,
        )),
        Some(Sample::Host(h)) => match metric {
            "host.disk_ratio" => {
                for d in &h.disks {
                    out.push(point(
                        d.mount.clone(),
                        format!("disk {}", d.mount),
                        d.used_ratio(),
                        String::new(),
                        jump("Disks", &d.mount),
                    ));
                }
            }
            "host.memory_ratio" if h.mem_total > 0 => out.push(point(
                String::new(),
                format!("host {}", h.hostname),
                h.mem_used as f64 / h.mem_total as f64,
                String::new(),
                None,
            )),
            "host.cpu_ratio" => out.push(point(
                String::new(),
                format!("host {}", h.hostname),
                h.cpu_percent as f64 / 100.0,
                String::new(),
                None,
            )),
            "host.load1" => out.push(point(
                String::new(),
                format!("host {}", h.hostname),
                h.load[0],
                String::new(),
                None,
            )),
            _ => {}
        },
        _ => {}
    }
    out
}

/// A compiled rule, built-in or user-defined.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub metric: &'static str,
    /// Only sources of this name (None: every source the metric applies to).
    pub source: Option<String>,
    pub cmp: Cmp,
    pub threshold: f64,
    /// How long the condition must hold before the alert fires.
    pub for_: Duration,
    pub severity: Severity,
    /// Words that say what is wrong, e.g. "memory of maxmemory".
    pub title: String,
    pub labels: BTreeMap<String, String>,
    pub runbook: Option<String>,
    pub enabled: bool,
}

/// One rule over one subject at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub alert: Alert,
    /// The condition holds now.
    pub breached: bool,
    /// The condition holds within the hysteresis margin (keeps a raised alert raised).
    pub held: bool,
    pub for_: Duration,
}

impl Rule {
    pub fn unit(&self) -> Unit {
        metric(self.metric).map(|m| m.unit).unwrap_or(Unit::Count)
    }

    pub fn applies(&self, s: &SourceView) -> bool {
        let kind_ok = metric(self.metric)
            .and_then(|m| m.kind)
            .is_none_or(|k| k == s.kind);
        kind_ok && self.source.as_deref().is_none_or(|n| n == s.name)
    }

    pub fn observe(&self, s: &SourceView, margin: f64) -> Vec<Observation> {
        if !self.enabled || !self.applies(s) {
            return Vec::new();
        }
        let unit = self.unit();
        measure(self.metric, s)
            .into_iter()
            .map(|p| {
                let flag = unit == Unit::Flag;
                let summary = if flag {
                    format!("{} {}", p.what, self.title)
                } else {
                    format!(
                        "{}: {} {} ({} {})",
                        p.what,
                        self.title,
                        unit.format(p.value),
                        self.cmp.symbol(),
                        unit.format(self.threshold)
                    )
                };
                let summary = match (p.note.is_empty(), flag) {
                    (true, _) => summary,
                    (false, true) => format!("{summary}: {}", p.note),
                    (false, false) => format!("{summary} — {}", p.note),
                };
                Observation {
                    breached: self.cmp.holds(p.value, self.threshold),
                    held: self.cmp.still_holds(p.value, self.threshold, margin),
                    for_: self.for_,
                    alert: Alert {
                        rule: self.name.clone(),
                        severity: self.severity,
                        kind: s.kind,
                        source: s.name.to_string(),
                        subject: p.subject,
                        summary,
                        metric: self.metric.to_string(),
                        value: p.value,
                        threshold: self.threshold,
                        labels: self.labels.clone(),
                        runbook: self.runbook.clone(),
                        jump: p.jump,
                    },
                }
            })
            .collect()
    }
}

/// `[[alerts.rules]]` entries compiled into rules; every problem is reported with its line.
pub fn compile_user_rules(
    path: &Path,
    text: &str,
    specs: &[crate::config::UserRuleSpec],
    errors: &mut Vec<ConfigError>,
) -> Vec<Rule> {
    let mut out = Vec::new();
    for r in specs {
        let at = |needle: &str| {
            find_span(text, &format!("\"{needle}\""))
                .or_else(|| find_span(text, &format!("name = \"{}\"", r.name)))
                .or_else(|| find_span(text, "[[alerts.rules]]"))
        };
        let mut err = |needle: &str, msg: String, hint: String| {
            errors.push(
                ConfigError::new(
                    path,
                    text,
                    at(needle),
                    format!("alert rule {:?}: {msg}", r.name),
                )
                .with_hint(hint),
            )
        };
        let m = metric(&r.metric);
        if m.is_none() {
            err(
                &r.metric,
                format!("unknown metric {:?}", r.metric),
                format!("valid metrics: {}", metric_names()),
            );
        }
        let cmp = Cmp::parse(&r.op);
        if cmp.is_none() {
            err(
                &r.op,
                format!("unknown comparison {:?}", r.op),
                format!("op is one of {}", Cmp::VALID),
            );
        }
        let severity = match &r.severity {
            None => Some(Severity::Warning),
            Some(s) => Severity::parse(s),
        };
        if severity.is_none() {
            let s = r.severity.clone().unwrap_or_default();
            err(
                &s,
                format!("unknown severity {s:?}"),
                "severity is one of info, warning, critical".into(),
            );
        }
        let for_ = match &r.for_ {
            None => Some(Duration::ZERO),
            Some(d) => match parse_duration(d) {
                Ok(d) => Some(d),
                Err(e) => {
                    err(d, format!("for: {e}"), "for = \"5m\"".into());
                    None
                }
            },
        };
        if r.name.trim().is_empty() {
            err(
                "",
                "empty name".into(),
                "give every rule a short unique name".into(),
            );
        }
        if let (Some(m), Some(cmp), Some(severity), Some(for_)) = (m, cmp, severity, for_) {
            out.push(Rule {
                name: r.name.clone(),
                metric: m.name,
                source: r.source.clone(),
                cmp,
                threshold: r.threshold,
                for_,
                severity,
                title: r.summary.clone().unwrap_or_else(|| m.name.to_string()),
                labels: r.labels.clone(),
                runbook: r.runbook.clone(),
                enabled: r.enabled.unwrap_or(true),
            });
        }
    }
    out
}
