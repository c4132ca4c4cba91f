//! A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) on a free loopback
//! port, with a minimal config, its storage in a temp dir and clustering off.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::process::{ProcessSpec, ServerProcess, TestDir, free_port};
use super::require_program;

pub struct Alertmanager {
    process: ServerProcess,
    port: u16,
    _dir: TestDir,
}

impl std::ops::Deref for Alertmanager {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.process
    }
}

/// A one-shot HTTP/1.0 request; returns (status, body).
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    let (head, body) = out.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    Ok((status, body.to_string()))
}

impl Alertmanager {
    pub fn start() -> Alertmanager {
        let dir = TestDir::new("alertmanager");
        let port = free_port();
        let conf = dir.path().join("alertmanager.yml");
        std::fs::write(
            &conf,
            "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n",
        )
        .expect("write alertmanager.yml");
        let storage: PathBuf = dir.sub("data");
        let bin = require_program("prometheus-alertmanager", "prometheus-alertmanager");
        let spec = ProcessSpec {
            name: format!("alertmanager:{port}"),
            command: Box::new(move || {
                let mut c = Command::new(&bin);
                c.arg(format!("--config.file={}", conf.display()))
                    .arg(format!("--storage.path={}", storage.display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg("--cluster.listen-address=");
                c
            }),
            ready: Box::new(move || match http(port, "GET", "/-/ready", "") {
                Ok((200, _)) => Ok(()),
                Ok((s, b)) => Err(format!("{s} {b}")),
                Err(e) => Err(e),
            }),
            stdout_log: dir.path().join("alertmanager.log"),
            extra_logs: vec![],
            stop_signal: libc::SIGTERM,
            start_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(10),
            retry_early_exit: false,
        };
        Alertmanager {
            process: ServerProcess::start(spec),
            port,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The alerts it holds (`GET /api/v2/alerts`), as JSON.
    pub fn alerts(&self) -> serde_json::Value {
        let (status, body) = http(self.port, "GET", "/api/v2/alerts", "").expect("GET alerts");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("alerts JSON")
    }

    /// Posts alerts directly (as Prometheus would).
    pub fn post(&self, alerts: &serde_json::Value) {
        let (status, body) =
            http(self.port, "POST", "/api/v2/alerts", &alerts.to_string()).expect("POST alerts");
        assert_eq!(status, 200, "{body}");
    }
}
