//! Endpoint probes: TCP connect, or HTTP(S) GET with an expected status and an optional body
//! substring, each with a timeout, the latency and the last error. A failed probe is a sample
//! (`ok = false`) rather than a poll error, so the pane keeps the latency history and the
//! alert names the reason.

use std::time::{Duration, Instant};

use serde::Serialize;

mod events;
mod series;
mod spec;
mod system;

use crate::input::values::parse_duration;
use crate::secrets::redact_urls;
use crate::sources::system::{NoOp, Poller};
use crate::views::{Cell, Column, Detail, Level, PaneModel, Row, Summary, Table, fmt};

pub use spec::EndpointSpec;
pub use system::Endpoints;

/// Default probe timeout when the config gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// The most of a body read for the substring match.
const MAX_BODY: usize = 1 << 20;

#[derive(Debug, Clone, Default, Serialize)]
pub struct EndpointSample {
    pub name: String,
    /// The probed URL (a password in it redacted).
    pub url: String,
    /// tcp | http
    pub probe: String,
    /// Whether the last probe met every expectation.
    pub ok: bool,
    /// Time to connect (tcp) or to the complete response (http); null when it failed before.
    pub latency_ms: Option<f64>,
    /// HTTP status received; null for tcp or when no response came.
    pub status_code: Option<u16>,
    /// The expected status: the configured one, else any 2xx (null).
    pub expect_status: Option<u16>,
    /// Whether the body contained `expect_body`; null when no substring is configured.
    pub body_matched: Option<bool>,
    /// Why the last probe failed; null when it passed.
    pub error: Option<String>,
    /// The most recent failure of this probe while the console runs, and when (RFC 3339).
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Latency of recent probes in ms (oldest first), for the sparkline.
    pub history_ms: Vec<u64>,
}

pub struct EndpointPoller {
    spec: EndpointSpec,
    client: Option<reqwest::Client>,
    last_error: Option<(String, String)>,
    history: Vec<u64>,
}

impl EndpointPoller {
    pub fn new(spec: EndpointSpec) -> Self {
        Self {
            spec,
            client: None,
            last_error: None,
            history: Vec::new(),
        }
    }
}

/// What one probe found.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub latency: Option<Duration>,
    pub status_code: Option<u16>,
    pub body_matched: Option<bool>,
    pub error: Option<String>,
}

fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// `tcp://host:port` or a bare `host:port`.
fn tcp_addr(url: &str) -> &str {
    url.trim_start_matches("tcp://").trim_end_matches('/')
}

pub async fn probe_tcp(addr: &str, timeout: Duration) -> Outcome {
    let t = Instant::now();
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Outcome {
            latency: Some(t.elapsed()),
            ..Default::default()
        },
        Ok(Err(e)) => Outcome {
            error: Some(format!("connect {addr}: {e}")),
            ..Default::default()
        },
        Err(_) => Outcome {
            error: Some(format!(
                "connect {addr}: no answer within {}",
                fmt::duration(timeout)
            )),
            ..Default::default()
        },
    }
}

pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        // A probe reports what this URL answers; a redirect is an answer.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    redact_urls(&s)
}

pub async fn probe_http(
    client: &reqwest::Client,
    url: &str,
    expect_status: Option<u16>,
    expect_body: Option<&str>,
    timeout: Duration,
) -> Outcome {
    let t = Instant::now();
    let fetch = async {
        let mut resp = client.get(url).send().await.map_err(|e| error_chain(&e))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        if expect_body.is_some() {
            while let Some(chunk) = resp.chunk().await.map_err(|e| error_chain(&e))? {
                body.extend_from_slice(&chunk);
                if body.len() >= MAX_BODY {
                    break;
                }
            }
        }
        Ok::<_, String>((status, body))
    };
    let (status, body) = match tokio::time::timeout(timeout, fetch).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Outcome {
                error: Some(format!("GET {}: {e}", redact_urls(url))),
                ..Default::default()
            };
        }
        Err(_) => {
            return Outcome {
                error: Some(format!(
                    "GET {}: no complete answer within {}",
                    redact_urls(url),
                    fmt::duration(timeout)
                )),
                ..Default::default()
            };
        }
    };
    let latency = t.elapsed();
    let status_ok = match expect_status {
        Some(want) => status == want,
        None => (200..300).contains(&status),
    };
    let body_matched = expect_body.map(|want| String::from_utf8_lossy(&body).contains(want));
    let error = if !status_ok {
        Some(match expect_status {
            Some(want) => format!("status {status}, expected {want}"),
            None => format!("status {status}, expected 2xx"),
        })
    } else if body_matched == Some(false) {
        Some(format!(
            "body does not contain {:?}",
            expect_body.unwrap_or_default()
        ))
    } else {
        None
    };
    Outcome {
        latency: Some(latency),
        status_code: Some(status),
        body_matched,
        error,
    }
}

impl Poller for EndpointPoller {
    type Sample = EndpointSample;
    type Op = NoOp;

    async fn poll(&mut self) -> Result<EndpointSample, String> {
        let timeout = self
            .spec
            .timeout
            .as_deref()
            .map(parse_duration)
            .transpose()?
            .unwrap_or(DEFAULT_TIMEOUT);
        let url = self.spec.url.clone();
        let http = is_http(&url);
        let outcome = if http {
            if self.client.is_none() {
                self.client = Some(http_client()?);
            }
            let Some(client) = self.client.as_ref() else {
                return Err("HTTP client missing".into());
            };
            probe_http(
                client,
                &url,
                self.spec.expect_status,
                self.spec.expect_body.as_deref(),
                timeout,
            )
            .await
        } else {
            probe_tcp(tcp_addr(&url), timeout).await
        };
        if let Some(e) = &outcome.error {
            self.last_error = Some((e.clone(), crate::sources::now_local().to_rfc3339()));
        }
        if let Some(l) = outcome.latency {
            self.history.push(l.as_millis() as u64);
            if self.history.len() > 120 {
                self.history.remove(0);
            }
        }
        Ok(EndpointSample {
            name: self.spec.name.clone(),
            url: redact_urls(&url),
            probe: if http { "http" } else { "tcp" }.into(),
            ok: outcome.error.is_none(),
            latency_ms: outcome.latency.map(|l| l.as_secs_f64() * 1000.0),
            status_code: outcome.status_code,
            expect_status: self.spec.expect_status,
            body_matched: outcome.body_matched,
            error: outcome.error,
            last_error: self.last_error.as_ref().map(|e| e.0.clone()),
            last_error_at: self.last_error.as_ref().map(|e| e.1.clone()),
            history_ms: self.history.clone(),
        })
    }

    fn reset(&mut self) {
        self.client = None;
    }
}

impl EndpointSample {
    pub fn level(&self) -> Level {
        if self.ok { Level::Ok } else { Level::Crit }
    }

    fn latency_text(&self) -> String {
        self.latency_ms
            .map(|ms| format!("{ms:.1} ms"))
            .unwrap_or_else(|| "-".into())
    }

    fn verdict(&self) -> String {
        match (&self.error, self.status_code) {
            (Some(e), _) => format!("DOWN {e}"),
            (None, Some(code)) => format!("{code} in {}", self.latency_text()),
            (None, None) => format!("up in {}", self.latency_text()),
        }
    }

    /// One row in the Host pane's Endpoints table; the probe's particulars are its detail.
    pub fn model(&self) -> PaneModel {
        let verdict = self.verdict();
        PaneModel {
            tile: vec![Summary::line(
                format!("{} {verdict}", self.name),
                self.level(),
            )],
            summary: Vec::new(),
            level: self.level(),
            tables: vec![Table {
                title: "Endpoints".into(),
                columns: vec![
                    Column::left("ENDPOINT", 16),
                    Column::left("PROBE", 28),
                    Column::right("LATENCY", 10),
                    Column::left("RESULT", 30),
                ],
                rows: vec![Row::new(
                    self.name.clone(),
                    vec![
                        Cell::new(self.name.clone()),
                        Cell::new(format!("{} {}", self.probe, self.url)),
                        Cell::new(self.latency_text()),
                        Cell::level(verdict, self.level()),
                    ],
                )],
                empty: String::new(),
            }],
        }
    }

    /// The probe: what is asked, what came back, the latency history and the last failure.
    pub fn detail(&self) -> Detail {
        let kv = |k: &str, v: Cell| vec![Cell::level(format!("{k:<12}"), Level::Muted), v];
        let mut lines = vec![
            kv("probe", Cell::new(format!("{} {}", self.probe, self.url))),
            kv("result", Cell::level(self.verdict(), self.level())),
            kv(
                "latency",
                Cell::new(format!(
                    "{}  {}",
                    self.latency_text(),
                    fmt::spark(&self.history_ms, 40)
                )),
            ),
        ];
        if self.probe == "http" {
            let want = self
                .expect_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "2xx".into());
            let got = self
                .status_code
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into());
            lines.push(kv("status", Cell::new(format!("{got} (expected {want})"))));
            if let Some(m) = self.body_matched {
                lines.push(kv(
                    "body",
                    Cell::level(
                        if m { "matches" } else { "does not match" },
                        if m { Level::Ok } else { Level::Crit },
                    ),
                ));
            }
        }
        if let Some(e) = &self.last_error {
            lines.push(kv(
                "last error",
                Cell::level(
                    format!("{} {e}", self.last_error_at.as_deref().unwrap_or("")),
                    Level::Warn,
                ),
            ));
        }
        Detail {
            title: format!("endpoint {}", self.name),
            lines,
            table: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_addresses_accept_a_scheme_or_not() {
        assert_eq!(tcp_addr("tcp://db:5432"), "db:5432");
        assert_eq!(tcp_addr("db:5432"), "db:5432");
        assert!(is_http("https://x/health"));
        assert!(!is_http("tcp://x:1"));
    }

    #[test]
    fn a_failed_probe_shows_down_with_its_reason() {
        let s = EndpointSample {
            name: "api".into(),
            probe: "http".into(),
            error: Some("status 503, expected 2xx".into()),
            status_code: Some(503),
            ..Default::default()
        };
        let m = s.model();
        assert_eq!(m.level, Level::Crit);
        let Summary::Text(cells) = &m.tile[0] else {
            panic!()
        };
        assert_eq!(cells[0].text, "api DOWN status 503, expected 2xx");
    }
}
