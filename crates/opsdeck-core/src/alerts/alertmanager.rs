//! Alertmanager's v2 API, both ways: opsdeck's alerts are posted with their labels (so the
//! existing routing pages people), and Alertmanager's own alerts are pulled into the inbox.
//! The HTTP calls run in tasks started by the loop; `update` only builds the payloads.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Alert, Severity};

/// The label that marks alerts sent by opsdeck, so the pull does not show them twice.
pub const GENERATOR_LABEL: &str = "generator";
pub const GENERATOR: &str = "opsdeck";

/// `POST /api/v2/alerts` body item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostableAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    pub starts_at: DateTime<Utc>,
    #[serde(rename = "endsAt", skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
}

/// The label naming the console that sent an alert (`user@host`). Each console's alerts are
/// their own series in Alertmanager, so two consoles watching one context never resolve
/// each other's alerts (route `group_by` without it to be notified once).
pub const CONSOLE_LABEL: &str = "console";

/// The payload of an own alert: firing (no end) or resolved (`ends_at`), sent by `console`.
pub fn postable(
    a: &Alert,
    context: &str,
    console: &str,
    since: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
) -> PostableAlert {
    let mut labels = a.labels.clone();
    labels.insert("alertname".into(), a.rule.clone());
    labels.insert("severity".into(), a.severity.name().into());
    labels.insert("kind".into(), a.kind.label().into());
    labels.insert("source".into(), a.source.clone());
    labels.insert("context".into(), context.into());
    if !a.subject.is_empty() {
        labels.insert("subject".into(), a.subject.clone());
    }
    labels.insert(GENERATOR_LABEL.into(), GENERATOR.into());
    if !console.is_empty() {
        labels.insert(CONSOLE_LABEL.into(), console.into());
    }
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".into(), a.summary.clone());
    annotations.insert("value".into(), format!("{}", a.value));
    annotations.insert("threshold".into(), format!("{}", a.threshold));
    if let Some(r) = &a.runbook {
        annotations.insert("runbook".into(), r.clone());
    }
    PostableAlert {
        labels,
        annotations,
        starts_at: since,
        ends_at,
    }
}

/// An alert Alertmanager holds that opsdeck did not send.
#[derive(Debug, Clone, PartialEq)]
pub struct External {
    pub fingerprint: String,
    pub name: String,
    pub severity: Severity,
    pub summary: String,
    pub labels: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    pub runbook: Option<String>,
}

impl External {
    pub fn key(&self) -> String {
        format!("am/{}", self.fingerprint)
    }
}

#[derive(Debug, Deserialize)]
struct Gettable {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: DateTime<Utc>,
    fingerprint: String,
}

/// Parses `GET /api/v2/alerts`, leaving out opsdeck's own alerts.
pub fn parse_alerts(body: &str) -> Result<Vec<External>, String> {
    let items: Vec<Gettable> =
        serde_json::from_str(body).map_err(|e| format!("unexpected Alertmanager reply: {e}"))?;
    let mut out: Vec<External> = items
        .into_iter()
        .filter(|g| g.labels.get(GENERATOR_LABEL).map(String::as_str) != Some(GENERATOR))
        .map(|g| {
            let name = g.labels.get("alertname").cloned().unwrap_or_default();
            let summary = ["summary", "description", "message"]
                .iter()
                .find_map(|k| g.annotations.get(*k).cloned())
                .unwrap_or_else(|| name.clone());
            External {
                fingerprint: g.fingerprint,
                severity: g
                    .labels
                    .get("severity")
                    .and_then(|s| Severity::parse(s))
                    .unwrap_or(Severity::Warning),
                runbook: ["runbook_url", "runbook"]
                    .iter()
                    .find_map(|k| g.annotations.get(*k).cloned()),
                name,
                summary,
                labels: g.labels,
                starts_at: g.starts_at,
            }
        })
        .collect();
    out.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    Ok(out)
}

pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// Posts alerts to `{base}/api/v2/alerts`.
pub async fn push(
    client: &reqwest::Client,
    base: &str,
    alerts: &[PostableAlert],
) -> Result<(), String> {
    if alerts.is_empty() {
        return Ok(());
    }
    let body = serde_json::to_string(alerts).map_err(|e| e.to_string())?;
    let url = format!("{base}/api/v2/alerts");
    let resp = client
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("Alertmanager {base}: {}", describe(&e)))?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        let text = resp.text().await.unwrap_or_default();
        Err(format!(
            "Alertmanager {base} refused the alerts: {status} {}",
            text.trim()
        ))
    }
}

/// Reads the active, unsilenced alerts of `{base}/api/v2/alerts`.
pub async fn pull(client: &reqwest::Client, base: &str) -> Result<Vec<External>, String> {
    let url = format!("{base}/api/v2/alerts?active=true&silenced=false&inhibited=false");
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("Alertmanager {base}: {}", describe(&e)))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("Alertmanager {base}: {}", describe(&e)))?;
    if !status.is_success() {
        return Err(format!("Alertmanager {base}: {status} {}", text.trim()));
    }
    parse_alerts(&text)
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else {
        crate::secrets::redact_urls(&e.to_string())
    }
}
