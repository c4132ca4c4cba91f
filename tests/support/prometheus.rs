//! A real Prometheus server (Debian's `prometheus`) on a free loopback port, scraping the
//! given targets every second and evaluating the given rule files every second, its TSDB in
//! a temp dir. `promtool` (same package) checks rule files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use super::alertmanager::http;
use super::process::{ProcessSpec, ServerProcess, TestDir, free_port, run_tool};
use super::require_program;

pub struct Prometheus {
    process: ServerProcess,
    port: u16,
    dir: TestDir,
}

impl std::ops::Deref for Prometheus {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.process
    }
}

/// `promtool ARGS` (e.g. `check rules FILE`), run as a CLI tool of the harness.
pub fn promtool(args: &[&str]) -> Output {
    let bin = require_program("promtool", "prometheus");
    let mut c = Command::new(bin);
    c.args(args);
    run_tool(c)
}

/// Percent-encodes a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Prometheus {
    /// Scrapes `targets` (`host:port`, path `/metrics`) as job `opsdeck`; loads `rules`.
    pub fn start(targets: &[String], rules: &[PathBuf]) -> Prometheus {
        let dir = TestDir::new("prometheus");
        let port = free_port();
        let conf = dir.path().join("prometheus.yml");
        let quote = |s: &str| serde_json::to_string(s).expect("quote");
        let targets: Vec<String> = targets.iter().map(|t| quote(t)).collect();
        let rule_files: String = rules
            .iter()
            .map(|r| format!("  - {}\n", quote(&r.display().to_string())))
            .collect();
        std::fs::write(
            &conf,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 rule_files:\n{rule_files}\
                 scrape_configs:\n  - job_name: opsdeck\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            ),
        )
        .expect("write prometheus.yml");
        let storage = dir.sub("data");
        let bin = require_program("prometheus", "prometheus");
        let spec = ProcessSpec {
            name: format!("prometheus:{port}"),
            command: Box::new(move || {
                let mut c = Command::new(&bin);
                c.arg(format!("--config.file={}", conf.display()))
                    .arg(format!("--storage.tsdb.path={}", storage.display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"));
                c
            }),
            ready: Box::new(move || match http(port, "GET", "/-/ready", "") {
                Ok((200, _)) => Ok(()),
                Ok((s, b)) => Err(format!("{s} {b}")),
                Err(e) => Err(e),
            }),
            stdout_log: dir.path().join("prometheus.log"),
            extra_logs: vec![],
            stop_signal: libc::SIGTERM,
            start_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(10),
            retry_early_exit: false,
        };
        Prometheus {
            process: ServerProcess::start(spec),
            port,
            dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `GET path` of the HTTP API, its `data` (panics unless `status` is `success`).
    pub fn api(&self, path: &str) -> serde_json::Value {
        let (status, body) = http(self.port, "GET", path, "").expect("Prometheus API");
        assert_eq!(status, 200, "GET {path}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("API JSON");
        assert_eq!(v["status"], "success", "GET {path}: {body}");
        v["data"].clone()
    }

    /// An instant query: the result vector's samples (`metric` labels and `value`).
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let data = self.api(&format!("/api/v1/query?query={}", encode(promql)));
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// Firing and pending alerts (`GET /api/v1/alerts`).
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        self.api("/api/v1/alerts")["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The loaded rule groups (`GET /api/v1/rules`).
    pub fn rule_groups(&self) -> Vec<serde_json::Value> {
        self.api("/api/v1/rules")["groups"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The scrape targets' health (`GET /api/v1/targets`).
    pub fn targets(&self) -> Vec<serde_json::Value> {
        self.api("/api/v1/targets")["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}
