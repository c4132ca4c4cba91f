//! The built-in rules: each is a metric, a comparison and defaults (threshold, `for`,
//! severity), tunable or disabled under `[alerts.builtin.<name>]`. The whole rule set
//! (built-in then user rules) is compiled once from the config.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::SourceView;
use super::user::{Cmp, Observation, Rule, compile_user_rules};
use crate::config::{AlertsSpec, ConfigError, find_span, parse_duration};

use super::Severity::{self, Critical, Warning};

/// A built-in rule's definition and defaults.
pub struct Builtin {
    pub name: &'static str,
    pub metric: &'static str,
    pub cmp: Cmp,
    pub threshold: f64,
    pub for_secs: u64,
    pub severity: Severity,
    pub title: &'static str,
    pub runbook: &'static str,
}

#[allow(clippy::too_many_arguments)]
const fn b(
    name: &'static str,
    metric: &'static str,
    cmp: Cmp,
    threshold: f64,
    for_secs: u64,
    severity: Severity,
    title: &'static str,
    runbook: &'static str,
) -> Builtin {
    Builtin {
        name,
        metric,
        cmp,
        threshold,
        for_secs,
        severity,
        title,
        runbook,
    }
}

pub const BUILTINS: &[Builtin] = &[
    b(
        "source_unreachable",
        "source.unreachable",
        Cmp::Ge,
        1.0,
        0,
        Critical,
        "unreachable",
        "Check the service is up and reachable from this host (network, credentials, TLS); the error says which.",
    ),
    b(
        "kafka_group_stalled",
        "kafka.group.status",
        Cmp::Ge,
        3.0,
        0,
        Critical,
        "consumer status",
        "STALL: committing but not progressing; STOP: not committing while lag grows. Check the consumers' logs and members, then restart them or reset offsets (Kafka pane, Groups).",
    ),
    b(
        "kafka_group_warning",
        "kafka.group.warning",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "lag rising or offsets rewound",
        "Consumers commit but fall further behind (WARN) or went back (REWIND): check consumer throughput and recent offset resets.",
    ),
    b(
        "kafka_lag_seconds",
        "kafka.group.lag_seconds",
        Cmp::Gt,
        300.0,
        60,
        Warning,
        "time lag",
        "Consumers fall behind: scale consumers or check a slow downstream.",
    ),
    b(
        "kafka_under_replicated",
        "kafka.topic.under_replicated",
        Cmp::Gt,
        0.0,
        30,
        Warning,
        "under-replicated partitions",
        "A broker is down or slow to follow: check broker health and disk.",
    ),
    b(
        "kafka_under_min_isr",
        "kafka.topic.under_min_isr",
        Cmp::Gt,
        0.0,
        0,
        Critical,
        "partitions below min.insync.replicas",
        "acks=all producers fail on these partitions: bring the lagging replicas back in sync (broker health, disk, network).",
    ),
    b(
        "kafka_offline_partitions",
        "kafka.topic.offline",
        Cmp::Gt,
        0.0,
        0,
        Critical,
        "offline partitions",
        "Partitions have no leader: bring the brokers holding their replicas back.",
    ),
    b(
        "pg_connections",
        "postgres.connections_ratio",
        Cmp::Ge,
        0.8,
        0,
        Warning,
        "connections of usable slots",
        "Look for idle and idle-in-transaction sessions by application (Databases pane, Connections); consider a pooler.",
    ),
    b(
        "pg_connections_critical",
        "postgres.connections_ratio",
        Cmp::Ge,
        0.95,
        0,
        Critical,
        "connections of usable slots",
        "New connections will fail soon: terminate idle-in-transaction sessions, fix the leaking application.",
    ),
    b(
        "pg_long_query",
        "postgres.query_seconds",
        Cmp::Ge,
        300.0,
        0,
        Warning,
        "query running",
        "Check the plan and locks; cancel the query (c) if it is runaway.",
    ),
    b(
        "pg_idle_in_transaction",
        "postgres.idle_in_transaction_seconds",
        Cmp::Ge,
        300.0,
        0,
        Warning,
        "idle in transaction",
        "The session holds locks and blocks vacuum: find the application and terminate the session (k).",
    ),
    b(
        "pg_blocking",
        "postgres.blocking_seconds",
        Cmp::Ge,
        30.0,
        0,
        Warning,
        "blocking others for",
        "A session holds a lock others wait for: see the Locks tab; cancel or terminate the root blocker.",
    ),
    b(
        "pg_replication_lag",
        "postgres.replication_lag_seconds",
        Cmp::Ge,
        30.0,
        60,
        Warning,
        "replay lag",
        "Check the standby's IO and network, and long queries on the standby.",
    ),
    b(
        "pg_replication_lag_bytes",
        "postgres.replication_lag_bytes",
        Cmp::Ge,
        16.0 * 1024.0 * 1024.0,
        60,
        Warning,
        "replay lag",
        "Check the standby's IO and network, and long queries on the standby.",
    ),
    b(
        "pg_wal_receiver_down",
        "postgres.wal_receiver_down",
        Cmp::Ge,
        1.0,
        0,
        Critical,
        "not streaming",
        "The standby does not receive WAL: check primary_conninfo, the primary and the network.",
    ),
    b(
        "pg_slot_inactive",
        "postgres.slot_inactive_retained_bytes",
        Cmp::Gt,
        1024.0 * 1024.0 * 1024.0,
        300,
        Warning,
        "inactive slot retains WAL",
        "The slot's consumer is gone and the server keeps WAL for it, filling pg_wal: bring the consumer back, or drop an abandoned slot (SELECT pg_drop_replication_slot('NAME')); max_slot_wal_keep_size caps the damage.",
    ),
    b(
        "pg_slot_unreserved",
        "postgres.slot_wal_status",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "slot past max_slot_wal_keep_size",
        "The slot needs WAL beyond max_slot_wal_keep_size: the next checkpoint removes it and the slot is lost unless its consumer catches up now.",
    ),
    b(
        "pg_slot_lost",
        "postgres.slot_wal_status",
        Cmp::Ge,
        2.0,
        0,
        Critical,
        "slot lost its WAL",
        "The slot's consumer can never resume from it: re-create the slot and re-sync the consumer (a new base backup for a standby, a new initial copy for a logical subscriber).",
    ),
    b(
        "pg_xid_wraparound",
        "postgres.xid_wraparound_ratio",
        Cmp::Ge,
        0.5,
        0,
        Warning,
        "transaction ID age",
        "Anti-wraparound autovacuum is not keeping up: find what holds the xmin back (long transactions, prepared transactions, slots, standbys with hot_standby_feedback) and VACUUM (FREEZE) the oldest tables of that database.",
    ),
    b(
        "pg_xid_wraparound_critical",
        "postgres.xid_wraparound_ratio",
        Cmp::Ge,
        0.9,
        0,
        Critical,
        "transaction ID age",
        "The server will stop assigning transaction IDs near 100%: remove what holds the xmin back and VACUUM (FREEZE) the oldest tables now.",
    ),
    b(
        "pg_mxid_wraparound",
        "postgres.mxid_wraparound_ratio",
        Cmp::Ge,
        0.5,
        0,
        Warning,
        "multixact ID age",
        "Multixact freezing is not keeping up (row locks by many sessions, FOR SHARE/KEY SHARE): VACUUM (FREEZE) the oldest tables of that database; check autovacuum_multixact_freeze_max_age.",
    ),
    b(
        "pg_mxid_wraparound_critical",
        "postgres.mxid_wraparound_ratio",
        Cmp::Ge,
        0.9,
        0,
        Critical,
        "multixact ID age",
        "The server will stop assigning multixact IDs near 100%: VACUUM (FREEZE) the oldest tables of that database now.",
    ),
    b(
        "redis_memory",
        "redis.memory_ratio",
        Cmp::Ge,
        0.9,
        0,
        Warning,
        "memory of maxmemory",
        "Find big keys (redis-cli --bigkeys), check TTLs and the eviction policy, or raise maxmemory.",
    ),
    b(
        "redis_evictions",
        "redis.evicted_per_sec",
        Cmp::Gt,
        0.0,
        0,
        Warning,
        "evicting keys",
        "Redis is at maxmemory and evicting: raise maxmemory or reduce the data set.",
    ),
    b(
        "redis_replica_link_down",
        "redis.replica_link_down",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "link down",
        "Check the replica process and the network between it and its master.",
    ),
    b(
        "redis_failover",
        "redis.failover_recent",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "failover",
        "Check why the old master went away, and that clients follow the new one.",
    ),
    b(
        "backup_stale",
        "backup.stale",
        Cmp::Ge,
        1.0,
        0,
        Warning,
        "stale",
        "The newest backup is older than max_age: check the backup schedule (cron, timers).",
    ),
    b(
        "backup_failed",
        "backup.failed",
        Cmp::Ge,
        1.0,
        0,
        Critical,
        "failed",
        "Read the backup tool's log; run the backup again (Backups pane).",
    ),
    b(
        "endpoint_down",
        "endpoint.down",
        Cmp::Ge,
        1.0,
        0,
        Critical,
        "down",
        "The probe failed: check the service behind the endpoint and its health check.",
    ),
    b(
        "host_disk",
        "host.disk_ratio",
        Cmp::Ge,
        0.9,
        0,
        Warning,
        "disk used",
        "Free space: old logs, WAL archives, core dumps; or grow the volume.",
    ),
];

impl Builtin {
    pub fn rule(&self) -> Rule {
        Rule {
            name: self.name.into(),
            metric: self.metric,
            source: None,
            cmp: self.cmp,
            threshold: self.threshold,
            for_: Duration::from_secs(self.for_secs),
            severity: self.severity,
            title: self.title.into(),
            labels: BTreeMap::new(),
            runbook: Some(self.runbook.into()),
            enabled: true,
        }
    }
}

/// Every rule in force, plus the alert settings of `[alerts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub hysteresis: f64,
    pub bell: bool,
    pub alertmanager: Option<String>,
    pub alertmanager_interval: Duration,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet {
            rules: BUILTINS.iter().map(Builtin::rule).collect(),
            hysteresis: 0.05,
            bell: false,
            alertmanager: None,
            alertmanager_interval: Duration::from_secs(15),
        }
    }
}

impl RuleSet {
    /// Builds the rule set from `[alerts]`; problems go to `errors` with file and line.
    pub fn from_spec(
        path: &Path,
        text: &str,
        spec: &AlertsSpec,
        errors: &mut Vec<ConfigError>,
    ) -> RuleSet {
        let mut set = RuleSet {
            bell: spec.bell,
            alertmanager: spec
                .alertmanager
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            ..Default::default()
        };
        let at = |needle: &str| find_span(text, needle).or_else(|| find_span(text, "[alerts"));
        if let Some(h) = spec.hysteresis {
            if (0.0..1.0).contains(&h) {
                set.hysteresis = h;
            } else {
                errors.push(
                    ConfigError::new(
                        path,
                        text,
                        at("hysteresis"),
                        "alerts.hysteresis must be in [0, 1)",
                    )
                    .with_hint("hysteresis = 0.05 (5% of the threshold)"),
                );
            }
        }
        if let Some(u) = &set.alertmanager
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            errors.push(
                ConfigError::new(
                    path,
                    text,
                    at("alertmanager"),
                    "alerts.alertmanager must be an http(s) URL",
                )
                .with_hint("alertmanager = \"http://127.0.0.1:9093\""),
            );
        }
        if let Some(i) = &spec.alertmanager_interval {
            match parse_duration(i) {
                Ok(d) if d >= Duration::from_secs(1) => set.alertmanager_interval = d,
                Ok(_) => errors.push(ConfigError::new(
                    path,
                    text,
                    at("alertmanager_interval"),
                    "alerts.alertmanager_interval must be at least 1s",
                )),
                Err(e) => errors.push(ConfigError::new(
                    path,
                    text,
                    at("alertmanager_interval"),
                    format!("alerts.alertmanager_interval: {e}"),
                )),
            }
        }
        for (name, o) in &spec.builtin {
            let here = || at(&format!("builtin.{name}"));
            let Some(rule) = set.rules.iter_mut().find(|r| &r.name == name) else {
                errors.push(
                    ConfigError::new(
                        path,
                        text,
                        here(),
                        format!("unknown built-in alert rule {name:?}"),
                    )
                    .with_hint(format!(
                        "built-in rules: {}",
                        BUILTINS
                            .iter()
                            .map(|b| b.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
                continue;
            };
            if let Some(e) = o.enabled {
                rule.enabled = e;
            }
            if let Some(t) = o.threshold {
                rule.threshold = t;
            }
            if let Some(r) = &o.runbook {
                rule.runbook = Some(r.clone());
            }
            if let Some(f) = &o.for_ {
                match parse_duration(f) {
                    Ok(d) => rule.for_ = d,
                    Err(e) => errors.push(
                        ConfigError::new(
                            path,
                            text,
                            at(&format!("\"{f}\"")),
                            format!("alert rule {name}: for: {e}"),
                        )
                        .with_hint("for = \"5m\""),
                    ),
                }
            }
            if let Some(s) = &o.severity {
                match Severity::parse(s) {
                    Some(s) => rule.severity = s,
                    None => errors.push(
                        ConfigError::new(
                            path,
                            text,
                            at(&format!("\"{s}\"")),
                            format!("alert rule {name}: unknown severity {s:?}"),
                        )
                        .with_hint("severity is one of info, warning, critical"),
                    ),
                }
            }
        }
        let user = compile_user_rules(path, text, &spec.rules, errors);
        for r in &user {
            if set.rules.iter().any(|x| x.name == r.name) {
                errors.push(
                    ConfigError::new(path, text, at(&format!("name = \"{}\"", r.name)), format!("alert rule name {:?} is already used", r.name))
                        .with_hint("rule names must be unique (built-in names are taken; tune those under [alerts.builtin.NAME])"),
                );
            }
        }
        set.rules.extend(user);
        set
    }

    /// Every enabled rule over every source. A source whose poll failed keeps its last
    /// sample in the console, so its other alerts keep their state until it answers again.
    pub fn observe(&self, sources: &[SourceView]) -> Vec<Observation> {
        let mut out = Vec::new();
        for s in sources {
            for r in &self.rules {
                out.extend(r.observe(s, self.hysteresis));
            }
        }
        out
    }
}
