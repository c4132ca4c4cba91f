//! `[capacity]` as written in the config file.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[capacity]`: the forecasts' window and, optionally, a Prometheus server to read their
/// history from at once.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CapacitySpec {
    /// How far back forecasts look (and how much history each source keeps), e.g. "6h".
    pub window: Option<String>,
    /// Prometheus base URL, e.g. "http://127.0.0.1:9090": a range query per figure gives a
    /// forecast from the first poll instead of after ten minutes.
    pub prometheus: Option<String>,
    /// PromQL per figure kind (`host.disk`, `postgres.database`, `postgres.data_directory`,
    /// `postgres.connections`, `redis.memory`, `kafka.log_dir`), with `{subject}`,
    /// `{source}` and `{hostname}` replaced; a query must return one series.
    #[serde(default)]
    pub queries: BTreeMap<String, String>,
}

/// The figure kinds a query may be written for.
pub const KINDS: &[&str] = &[
    "host.disk",
    "postgres.database",
    "postgres.data_directory",
    "postgres.connections",
    "redis.memory",
    "kafka.log_dir",
];

impl CapacitySpec {
    /// The window in seconds (the default when unset or invalid: the config check reports
    /// an invalid one with its line).
    pub fn window_secs(&self) -> f64 {
        self.window
            .as_deref()
            .and_then(|w| crate::input::parse_duration(w).ok())
            .map(|d| d.as_secs_f64())
            .filter(|s| *s >= super::MIN_SPAN_SECS)
            .unwrap_or(super::DEFAULT_WINDOW_SECS)
    }

    /// Problems of the section: (text to point at, message, hint).
    pub fn problems(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        if let Some(w) = &self.window {
            match crate::input::parse_duration(w) {
                Ok(d) if d.as_secs_f64() >= super::MIN_SPAN_SECS => {}
                Ok(_) => out.push((
                    "window".into(),
                    "capacity.window must be at least 10m".into(),
                    "window = \"6h\"".into(),
                )),
                Err(e) => out.push((
                    "window".into(),
                    format!("capacity.window: {e}"),
                    "window = \"6h\"".into(),
                )),
            }
        }
        if let Some(u) = &self.prometheus
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            out.push((
                "prometheus".into(),
                "capacity.prometheus must be an http:// or https:// URL".into(),
                "prometheus = \"http://127.0.0.1:9090\"".into(),
            ));
        }
        for k in self.queries.keys() {
            if !KINDS.contains(&k.as_str()) {
                out.push((
                    k.clone(),
                    format!("capacity.queries: unknown figure kind {k:?}"),
                    format!("use one of: {}", KINDS.join(", ")),
                ));
            }
        }
        if !self.queries.is_empty() && self.prometheus.is_none() {
            out.push((
                "queries".into(),
                "capacity.queries need capacity.prometheus".into(),
                "prometheus = \"http://127.0.0.1:9090\"".into(),
            ));
        }
        out
    }
}
