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
                let total: i64 = p.by_state.iter().map(|(_, n)| n).sum();
                if p.max_connections > 0 {
                    let r = total as f64 / p.max_connections as f64;
                    let sev = if r >= 0.95 {
                        Some(Severity::Critical)
                    } else if r >= 0.8 {
                        Some(Severity::Warning)
                    } else {
                        None
                    };
                    if let Some(sev) = sev {
                        push(
                            "pg_connections",
                            sev,
                            String::new(),
                            format!("{total} of {} connections in use", p.max_connections),
                        );
                    }
                }
            }
            Some(Sample::Redis(r)) => {
                for n in &r.nodes {
                    if n.maxmemory > 0 && n.used_memory as f64 >= 0.9 * n.maxmemory as f64 {
                        push(
                            "redis_memory",
                            Severity::Warning,
                            n.addr.clone(),
                            format!(
                                "{} memory at {:.0}% of maxmemory",
                                n.addr,
                                100.0 * n.used_memory as f64 / n.maxmemory as f64
                            ),
                        );
                    }
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
