//! `opsdeck check` and `opsdeck snapshot`: one poll of every source, the alert rules over it,
//! as a table or a JSON document whose shape is documented in docs/snapshot.md.

use std::time::Duration;

use serde::Serialize;

use crate::alerts::{self, Alert, Severity, SourceView};
use crate::config::Context;
use crate::sources::{self, Sample, SourceKind, Status};

#[derive(Debug, Serialize)]
pub struct SourceReport {
    pub kind: SourceKind,
    pub name: String,
    /// "ok" | "error"
    pub status: &'static str,
    pub error: Option<String>,
    pub data: Option<Sample>,
}

#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub context: String,
    pub taken_at: String,
    pub sources: Vec<SourceReport>,
    pub alerts: Vec<Alert>,
}

/// Polls every source of the context at once.
pub async fn take(ctx: &Context, only: &[String], timeout: Duration) -> Snapshot {
    let specs: Vec<_> = sources::plan(&ctx.spec)
        .into_iter()
        .filter(|s| only.is_empty() || only.iter().any(|o| o == s.kind().label()))
        .collect();
    let polls = specs
        .iter()
        .cloned()
        .map(|s| sources::poll_once(s, timeout));
    let results = futures::future::join_all(polls).await;
    let sources: Vec<SourceReport> = specs
        .iter()
        .zip(results)
        .map(|(spec, r)| match r {
            Ok(sample) => SourceReport {
                kind: spec.kind(),
                name: spec.name().into(),
                status: "ok",
                error: None,
                data: Some(sample),
            },
            Err(e) => SourceReport {
                kind: spec.kind(),
                name: spec.name().into(),
                status: "error",
                error: Some(e),
                data: None,
            },
        })
        .collect();
    let statuses: Vec<Status> = sources
        .iter()
        .map(|s| s.error.clone().map(Status::Error).unwrap_or(Status::Ok))
        .collect();
    let alerts = alerts::evaluate(sources.iter().zip(&statuses).map(|(s, st)| SourceView {
        kind: s.kind,
        name: &s.name,
        status: st,
        sample: s.data.as_ref(),
    }));
    Snapshot {
        context: ctx.name.clone(),
        taken_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        sources,
        alerts,
    }
}

/// Monitoring-plugin convention: 0 ok, 1 warning, 2 critical, 3 unknown.
pub fn exit_code(s: &Snapshot) -> i32 {
    if s.sources.is_empty() {
        return 3;
    }
    match s.alerts.iter().map(|a| a.severity).max() {
        Some(Severity::Critical) => 2,
        Some(Severity::Warning) => 1,
        _ => 0,
    }
}

/// Key figure of a source for the check table.
fn figure(s: &SourceReport) -> String {
    let Some(data) = &s.data else {
        return String::new();
    };
    let model = data.model();
    model
        .tile
        .first()
        .map(|l| match l {
            crate::views::Summary::Text(cells) => {
                cells.iter().map(|c| c.text.as_str()).collect::<String>()
            }
            crate::views::Summary::Gauge { label, text, .. } => format!("{label} {text}"),
            crate::views::Summary::Spark { label, text, .. } => format!("{label} {text}"),
        })
        .unwrap_or_default()
}

pub fn table(s: &Snapshot) -> String {
    let mut out = format!("context {}\n", s.context);
    out.push_str(&format!(
        "{:<9} {:<14} {:<6} {}\n",
        "KIND", "NAME", "STATUS", "DETAIL"
    ));
    for src in &s.sources {
        let detail = src.error.clone().unwrap_or_else(|| figure(src));
        out.push_str(&format!(
            "{:<9} {:<14} {:<6} {}\n",
            src.kind.label(),
            src.name,
            src.status,
            detail
        ));
    }
    if s.alerts.is_empty() {
        out.push_str("no alerts\n");
    }
    for a in &s.alerts {
        out.push_str(&format!("{} {}\n", a.severity.label(), a.summary));
    }
    out
}
