//! Endpoint probes: TCP connect and HTTP(S) GET with expected status and body.
//! First version: TCP connect with latency.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{EndpointSpec, parse_duration};
use crate::sources::{Poller, Sample};
use crate::views::{Level, PaneModel, Summary};

#[derive(Debug, Clone, Default, Serialize)]
pub struct EndpointSample {
    pub name: String,
    pub url: String,
    pub latency_ms: f64,
}

pub struct EndpointPoller {
    spec: EndpointSpec,
}

impl EndpointPoller {
    pub fn new(spec: EndpointSpec) -> Self {
        Self { spec }
    }
}

impl Poller for EndpointPoller {
    async fn poll(&mut self) -> Result<Sample, String> {
        let timeout = self
            .spec
            .timeout
            .as_deref()
            .map(parse_duration)
            .transpose()?
            .unwrap_or(Duration::from_secs(3));
        let addr = self.spec.url.trim_start_matches("tcp://").to_string();
        let t = Instant::now();
        tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&addr))
            .await
            .map_err(|_| {
                format!(
                    "{addr}: no answer within {}",
                    crate::views::fmt::duration(timeout)
                )
            })?
            .map_err(|e| format!("{addr}: {e}"))?;
        Ok(Sample::Endpoint(Box::new(EndpointSample {
            name: self.spec.name.clone(),
            url: self.spec.url.clone(),
            latency_ms: t.elapsed().as_secs_f64() * 1000.0,
        })))
    }
}

impl EndpointSample {
    pub fn model(&self) -> PaneModel {
        let line = Summary::line(
            format!("{} {} {:.1} ms", self.name, self.url, self.latency_ms),
            Level::Ok,
        );
        PaneModel {
            tile: vec![line.clone()],
            summary: vec![line],
            tables: vec![],
            level: Level::Ok,
        }
    }
}
