//! The incident note for a hand-over, as Markdown: the context and time, the worst alerts
//! with their values and runbooks, the timeline of the last hour, and key figures per
//! source. The console's `:note` and `opsdeck snapshot --output markdown` both write it.

use chrono::{DateTime, Local, Utc};

use crate::alerts::{Alert, Severity, user};
use crate::report::Snapshot;
use crate::timeline::TimelineEvent;
use crate::views::Summary;

/// An alert as the note tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteAlert {
    pub severity: Severity,
    /// "redis cache".
    pub origin: String,
    pub summary: String,
    /// "value 96% (threshold ≥ 90%)"; empty for a flag.
    pub value: String,
    pub since: Option<DateTime<Utc>>,
    pub runbook: Option<String>,
    /// "acked by …: note", "silenced until 04:00".
    pub state: String,
}

impl NoteAlert {
    pub fn of(a: &Alert, since: Option<DateTime<Utc>>) -> NoteAlert {
        NoteAlert {
            severity: a.severity,
            origin: origin(a.kind.label(), &a.source),
            summary: a.summary.clone(),
            value: value(a),
            since,
            runbook: a.runbook.clone(),
            state: String::new(),
        }
    }
}

/// What one source shows: its status and its tile's lines.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteSource {
    pub origin: String,
    pub status: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub context: String,
    pub at: DateTime<Utc>,
    /// Who wrote it: user@host.
    pub by: String,
    /// The config file, or None for the localhost defaults.
    pub config: Option<String>,
    pub readonly: bool,
    /// Worst first.
    pub alerts: Vec<NoteAlert>,
    /// The last hour, oldest first.
    pub timeline: Vec<TimelineEvent>,
    pub sources: Vec<NoteSource>,
}

/// "redis cache"; "host" alone.
pub fn origin(kind: &str, source: &str) -> String {
    if kind == source || source.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} {source}")
    }
}

/// An alert's value against its threshold, in the metric's unit.
pub fn value(a: &Alert) -> String {
    let unit = user::metric(&a.metric)
        .map(|(_, m)| m.unit)
        .unwrap_or(user::Unit::Count);
    if unit == user::Unit::Flag {
        String::new()
    } else {
        format!(
            "value {} (threshold {})",
            unit.format(a.value),
            unit.format(a.threshold)
        )
    }
}

/// A tile line as text.
pub fn summary_text(s: &Summary) -> String {
    match s {
        Summary::Text(cells) => cells.iter().map(|c| c.text.as_str()).collect(),
        Summary::Gauge { label, text, .. } => format!("{label} {text}"),
        Summary::Spark { label, text, .. } => format!("{label} {text}"),
    }
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// Markdown table cells hold no pipes or line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The note as Markdown; its sections are `## Context`, `## Worst alerts`,
/// `## Timeline (last hour)` and `## Key figures`.
pub fn markdown(n: &Note) -> String {
    let mut out = format!(
        "# Incident note: {} at {}\n\n## Context\n\n",
        n.context,
        local(n.at)
    );
    out.push_str(&format!(
        "- context: `{}`{}\n",
        n.context,
        if n.readonly { " (read-only)" } else { "" }
    ));
    out.push_str(&format!(
        "- written: {} ({} UTC) by {}\n",
        local(n.at),
        n.at.format("%H:%M:%S"),
        if n.by.is_empty() { "unknown" } else { &n.by }
    ));
    out.push_str(&format!(
        "- config: {}\n",
        n.config
            .as_deref()
            .map(|c| format!("`{c}`"))
            .unwrap_or_else(|| "none (the localhost defaults)".into())
    ));
    let crit = n
        .alerts
        .iter()
        .filter(|a| a.severity == Severity::Critical)
        .count();
    out.push_str(&format!(
        "- alerts: {} firing ({crit} critical)\n\n## Worst alerts\n\n",
        n.alerts.len()
    ));
    if n.alerts.is_empty() {
        out.push_str("Nothing firing.\n");
    } else {
        out.push_str(
            "| severity | source | alert | value | since | runbook |\n|---|---|---|---|---|---|\n",
        );
        for a in &n.alerts {
            out.push_str(&format!(
                "| {} | {} | {}{} | {} | {} | {} |\n",
                a.severity.label(),
                cell(&a.origin),
                cell(&a.summary),
                if a.state.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", cell(&a.state))
                },
                cell(&a.value),
                a.since
                    .map(|s| s.with_timezone(&Local).format("%H:%M:%S").to_string())
                    .unwrap_or_default(),
                cell(a.runbook.as_deref().unwrap_or(""))
            ));
        }
    }
    out.push_str("\n## Timeline (last hour)\n\n");
    if n.timeline.is_empty() {
        out.push_str("No events in the last hour.\n");
    }
    for e in &n.timeline {
        out.push_str(&format!(
            "- {} **{}** {}: {}{}\n",
            e.at.with_timezone(&Local).format("%H:%M:%S"),
            e.severity.label(),
            e.origin(),
            e.text,
            if e.recovered {
                " _(recovered: dated by the system)_"
            } else {
                ""
            }
        ));
    }
    out.push_str("\n## Key figures\n\n");
    for s in &n.sources {
        out.push_str(&format!("### {} — {}\n\n", s.origin, s.status));
        for l in s.lines.iter().filter(|l| !l.trim().is_empty()) {
            out.push_str(&format!("- {l}\n"));
        }
        out.push('\n');
    }
    out
}

/// The note of one `snapshot`: its alerts, the timeline kept in the data dir, each source's
/// figure lines.
pub fn of_snapshot(
    s: &Snapshot,
    timeline: Vec<TimelineEvent>,
    by: String,
    at: DateTime<Utc>,
) -> Note {
    Note {
        context: s.context.clone(),
        at,
        by,
        config: s.config.clone(),
        readonly: false,
        alerts: s.alerts.iter().map(|a| NoteAlert::of(a, None)).collect(),
        timeline,
        sources: s
            .sources
            .iter()
            .map(|src| NoteSource {
                origin: origin(src.kind.label(), &src.name),
                status: match &src.problem {
                    Some(p) => format!("{}: {p}", src.status.label()),
                    None => src.status.label().to_string(),
                },
                lines: src
                    .data
                    .as_ref()
                    .map(|d| d.model().tile.iter().map(summary_text).collect())
                    .unwrap_or_default(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Severity as Sev;

    #[test]
    fn the_note_has_its_sections_alerts_timeline_and_figures() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("t");
        let n = Note {
            context: "prod".into(),
            at,
            by: "alice@oncall-1".into(),
            config: Some("/etc/opsdeck.toml".into()),
            readonly: true,
            alerts: vec![NoteAlert {
                severity: Severity::Critical,
                origin: "kafka main".into(),
                summary: "group billing STALL | no commit".into(),
                value: "value STALL (threshold STALL)".into(),
                since: Some(at),
                runbook: Some("https://wiki/kafka-stall".into()),
                state: "acked: on it".into(),
            }],
            timeline: vec![
                TimelineEvent::new(
                    at,
                    "failover",
                    Sev::Warning,
                    "a",
                    "Sentinel switched mymaster",
                )
                .of("redis", "cache")
                .recovered(),
            ],
            sources: vec![NoteSource {
                origin: "redis cache".into(),
                status: "warning".into(),
                lines: vec!["failover 2m ago".into()],
            }],
        };
        let md = markdown(&n);
        for section in [
            "## Context",
            "## Worst alerts",
            "## Timeline (last hour)",
            "## Key figures",
        ] {
            assert!(md.contains(section), "{section}:\n{md}");
        }
        assert!(md.contains("| CRIT | kafka main | group billing STALL \\| no commit (acked: on it) | value STALL (threshold STALL) |"), "{md}");
        assert!(md.contains("https://wiki/kafka-stall"), "{md}");
        assert!(
            md.contains("redis cache: Sentinel switched mymaster _(recovered"),
            "{md}"
        );
        assert!(
            md.contains("### redis cache — warning\n\n- failover 2m ago"),
            "{md}"
        );
        assert!(md.contains("(read-only)"));
        assert!(md.contains("alice@oncall-1"));
    }
}
