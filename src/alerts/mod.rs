//! Alert rules: pure functions of the latest samples, evaluated in the state loop.
//! First version: the built-in threshold rules, evaluated on each poll, without `for`
//! durations or hysteresis yet.

use serde::Serialize;

use crate::sources::{Sample, SourceKind, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARN",
            Severity::Critical => "CRIT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The rule's name, e.g. `source_unreachable`.
    pub rule: String,
    pub severity: Severity,
    pub kind: SourceKind,
    pub source: String,
    /// What it is about within the source (a group, a node, a mount).
    pub subject: String,
    pub summary: String,
}

/// What the rules read of one source.
pub struct SourceView<'a> {
    pub kind: SourceKind,
    pub name: &'a str,
    pub status: &'a Status,
    pub sample: Option<&'a Sample>,
}

/// Evaluates every built-in rule over the sources' latest state; worst first.
pub fn evaluate<'a>(sources: impl IntoIterator<Item = SourceView<'a>>) -> Vec<Alert> {
    let mut out = Vec::new();
    for s in sources {
        let mut push = |rule: &str, severity, subject: String, summary: String| {
            out.push(Alert {
                rule: rule.into(),
                severity,
                kind: s.kind,
                source: s.name.to_string(),
                subject,
                summary,
            })
        };
        if let Status::Error(e) = s.status {
            push(
                "source_unreachable",
                Severity::Critical,
                String::new(),
                format!("{} {} unreachable: {e}", s.kind.label(), s.name),
            );
            continue;
        }
        match s.sample {
            Some(Sample::Postgres(p)) => {
                for (rule, sev, subject, summary) in postgres_rules(p) {
                    push(rule, sev, subject, summary);
                }
            }
            Some(Sample::Redis(r)) => {
                for n in r.nodes.iter().filter(|n| n.error.is_none()) {
                    if let Some(ratio) = n.memory_ratio()
                        && ratio >= 0.9
                    {
                        push(
                            "redis_memory",
                            Severity::Warning,
                            n.addr.clone(),
                            format!("{} memory at {:.0}% of maxmemory", n.addr, 100.0 * ratio),
                        );
                    }
                    if let Some(rate) = n.evicted_per_sec
                        && rate > 0.0
                    {
                        push(
                            "redis_evictions",
                            Severity::Warning,
                            n.addr.clone(),
                            format!("{} evicting {rate:.1} keys/s", n.addr),
                        );
                    }
                }
                for (replica, why) in r.links_down() {
                    push(
                        "redis_replica_link_down",
                        Severity::Warning,
                        replica.clone(),
                        format!("replica {replica} link down: {why}"),
                    );
                }
                if let Some(f) = r.recent_failover() {
                    push(
                        "redis_failover",
                        Severity::Warning,
                        f.to.clone(),
                        format!("failover: {} -> {}", f.from, f.to),
                    );
                }
            }
            Some(Sample::Host(h)) => {
                for d in &h.disks {
                    if d.used_ratio() >= 0.9 {
                        push(
                            "host_disk",
                            Severity::Warning,
                            d.mount.clone(),
                            format!("disk {} {:.0}% full", d.mount, d.used_ratio() * 100.0),
                        );
                    }
                }
            }
            Some(Sample::Backup(b)) => match b.verdict {
                crate::sources::backups::Verdict::Stale => push(
                    "backup_stale",
                    Severity::Warning,
                    String::new(),
                    format!("backup {} stale: {}", b.name, b.reason),
                ),
                crate::sources::backups::Verdict::Failed => push(
                    "backup_failed",
                    Severity::Critical,
                    String::new(),
                    format!("backup {} failed: {}", b.name, b.reason),
                ),
                _ => {}
            },
            Some(Sample::Endpoint(e)) => {
                if let Some(err) = &e.error {
                    push(
                        "endpoint_down",
                        Severity::Critical,
                        String::new(),
                        format!("endpoint {} down: {err}", e.name),
                    );
                }
            }
            Some(Sample::Kafka(k)) => {
                let urp: usize = k.topics.iter().map(|t| t.under_replicated).sum();
                if urp > 0 {
                    push(
                        "kafka_under_replicated",
                        Severity::Warning,
                        String::new(),
                        format!("{urp} under-replicated partitions"),
                    );
                }
                let under_min: usize = k.topics.iter().map(|t| t.under_min_isr).sum();
                if under_min > 0 {
                    push(
                        "kafka_under_min_isr",
                        Severity::Critical,
                        String::new(),
                        format!(
                            "{under_min} partitions below min.insync.replicas (acks=all writes fail)"
                        ),
                    );
                }
                let offline: usize = k.topics.iter().map(|t| t.offline).sum();
                if offline > 0 {
                    push(
                        "kafka_offline_partitions",
                        Severity::Critical,
                        String::new(),
                        format!("{offline} partitions without a leader"),
                    );
                }
                use crate::sources::kafka::LagStatus;
                for g in &k.groups {
                    let sev = match g.status {
                        LagStatus::Stop | LagStatus::Stall => Severity::Critical,
                        LagStatus::Warn | LagStatus::Rewind => Severity::Warning,
                        LagStatus::Ok => continue,
                    };
                    push(
                        "kafka_group_lag",
                        sev,
                        g.name.clone(),
                        format!(
                            "group {} {}: lag {}; {}",
                            g.name,
                            g.status.label(),
                            g.total_lag,
                            g.reason
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.source.cmp(&b.source))
    });
    out
}

/// PostgreSQL rules: connections over 80/95% of the usable slots, a query running over
/// 5 min, a session idle in transaction over 5 min, replication lag.
fn postgres_rules(
    p: &crate::sources::postgres::PgSample,
) -> Vec<(&'static str, Severity, String, String)> {
    use crate::sources::postgres::{
        IDLE_IN_TX_SECS, LAG_WARN_BYTES, LAG_WARN_SECS, LONG_QUERY_SECS,
    };
    let mut out = Vec::new();
    let r = p.connection_ratio();
    if r >= 0.8 {
        out.push((
            "pg_connections",
            if r >= 0.95 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            String::new(),
            format!(
                "{} of {} usable connections in use",
                p.connections.total, p.usable_connections
            ),
        ));
    }
    for s in p.activity.iter().filter(|s| !s.own) {
        let subject = format!("pid {}", s.pid);
        if s.state == "active" && s.query_seconds.unwrap_or(0.0) >= LONG_QUERY_SECS {
            out.push((
                "pg_long_query",
                Severity::Warning,
                subject,
                format!(
                    "pid {} ({}@{}) query running {:.0}s",
                    s.pid,
                    s.user,
                    s.database,
                    s.query_seconds.unwrap_or(0.0)
                ),
            ));
        } else if s.state.starts_with("idle in transaction")
            && s.state_seconds.unwrap_or(0.0) >= IDLE_IN_TX_SECS
        {
            out.push((
                "pg_idle_in_transaction",
                Severity::Warning,
                subject,
                format!(
                    "pid {} ({}@{}) idle in transaction {:.0}s",
                    s.pid,
                    s.user,
                    s.database,
                    s.state_seconds.unwrap_or(0.0)
                ),
            ));
        }
    }
    for s in &p.replication.standbys {
        let secs = s.replay_lag_seconds.unwrap_or(0.0);
        if s.replay_lag_bytes >= LAG_WARN_BYTES || secs >= LAG_WARN_SECS {
            out.push((
                "pg_replication_lag",
                if secs >= 10.0 * LAG_WARN_SECS {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                s.application.clone(),
                format!(
                    "standby {} replay lag {} bytes, {secs:.0}s",
                    s.application, s.replay_lag_bytes
                ),
            ));
        }
    }
    if let Some(r) = &p.replication.receiver {
        if r.status != "streaming" {
            out.push((
                "pg_replication_lag",
                Severity::Critical,
                "receiver".into(),
                format!("WAL receiver {}", r.status),
            ));
        } else if r.replay_lag_bytes >= LAG_WARN_BYTES {
            out.push((
                "pg_replication_lag",
                Severity::Warning,
                "receiver".into(),
                format!("{} bytes received but not replayed", r.replay_lag_bytes),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_source_is_critical() {
        let st = Status::Error("connection refused".into());
        let alerts = evaluate([SourceView {
            kind: SourceKind::Redis,
            name: "cache",
            status: &st,
            sample: None,
        }]);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].severity, Severity::Critical);
        assert_eq!(
            alerts[0].summary,
            "redis cache unreachable: connection refused"
        );
    }

    #[test]
    fn postgres_connections_and_idle_in_transaction() {
        use crate::sources::postgres::{PgSample, Session, count_connections};
        let mut p = PgSample {
            usable_connections: 10,
            ..Default::default()
        };
        p.activity = (0..9)
            .map(|i| Session {
                pid: i,
                state: if i == 0 {
                    "idle in transaction"
                } else {
                    "idle"
                }
                .into(),
                state_seconds: Some(if i == 0 { 600.0 } else { 1.0 }),
                ..Default::default()
            })
            .collect();
        p.connections = count_connections(&p.activity);
        let st = Status::Ok;
        let sample = Sample::Postgres(Box::new(p));
        let alerts = evaluate([SourceView {
            kind: SourceKind::Postgres,
            name: "db",
            status: &st,
            sample: Some(&sample),
        }]);
        let rules: Vec<_> = alerts
            .iter()
            .map(|a| (a.rule.as_str(), a.severity))
            .collect();
        assert_eq!(
            rules,
            vec![
                ("pg_connections", Severity::Warning),
                ("pg_idle_in_transaction", Severity::Warning)
            ]
        );
        assert_eq!(alerts[0].summary, "9 of 10 usable connections in use");
    }

    #[test]
    fn healthy_sources_raise_nothing() {
        let st = Status::Ok;
        let sample = Sample::Host(Box::default());
        assert!(
            evaluate([SourceView {
                kind: SourceKind::Host,
                name: "host",
                status: &st,
                sample: Some(&sample)
            }])
            .is_empty()
        );
    }
}
