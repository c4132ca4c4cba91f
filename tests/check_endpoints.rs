//! Endpoint probes against a real HTTP server on loopback (canned responses), and through
//! `opsdeck check`.

use std::time::Duration;

use opsdeck::sources::endpoints::EndpointSpec;
use opsdeck::sources::endpoints::{http_client, probe_http, probe_tcp};
use opsdeck::sources::{Poller, endpoints::EndpointPoller};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves: /ok 200 "status: healthy", /down 503, /slow never answers.
async fn server() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, body) = match path.as_str() {
                    "/ok" => ("200 OK", "status: healthy"),
                    "/down" => ("503 Service Unavailable", "status: draining"),
                    "/slow" => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                    _ => ("404 Not Found", "no"),
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn http_status_and_body() {
    let addr = server().await;
    let c = http_client().unwrap();
    let t = Duration::from_secs(3);

    let ok = probe_http(&c, &format!("http://{addr}/ok"), None, Some("healthy"), t).await;
    assert_eq!(ok.error, None);
    assert_eq!(ok.status_code, Some(200));
    assert_eq!(ok.body_matched, Some(true));
    assert!(ok.latency.is_some());

    let wrong_body = probe_http(&c, &format!("http://{addr}/ok"), None, Some("ready"), t).await;
    assert_eq!(wrong_body.body_matched, Some(false));
    assert_eq!(
        wrong_body.error.as_deref(),
        Some("body does not contain \"ready\"")
    );

    let down = probe_http(&c, &format!("http://{addr}/down"), None, None, t).await;
    assert_eq!(down.status_code, Some(503));
    assert_eq!(down.error.as_deref(), Some("status 503, expected 2xx"));

    let expected_503 = probe_http(&c, &format!("http://{addr}/down"), Some(503), None, t).await;
    assert_eq!(expected_503.error, None);
}

#[tokio::test]
async fn http_timeout_is_reported() {
    let addr = server().await;
    let c = http_client().unwrap();
    let slow = probe_http(
        &c,
        &format!("http://{addr}/slow"),
        None,
        None,
        Duration::from_millis(300),
    )
    .await;
    let e = slow.error.unwrap();
    assert!(e.contains("no complete answer within"), "{e}");
    assert_eq!(slow.status_code, None);
}

#[tokio::test]
async fn tcp_connect_up_and_refused() {
    let addr = server().await;
    let up = probe_tcp(&addr.to_string(), Duration::from_secs(2)).await;
    assert_eq!(up.error, None);
    // A port that was just freed refuses.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = l.local_addr().unwrap();
    drop(l);
    let down = probe_tcp(&dead.to_string(), Duration::from_secs(2)).await;
    assert!(down.error.unwrap().contains("refused"));
}

#[tokio::test]
async fn poller_reports_the_failure_as_a_sample_with_last_error() {
    let addr = server().await;
    let mut p = EndpointPoller::new(EndpointSpec {
        name: "api".into(),
        url: format!("http://{addr}/down"),
        ..Default::default()
    });
    let first = p.poll().await.unwrap();
    assert!(!first.ok);
    assert_eq!(
        first.last_error.as_deref(),
        Some("status 503, expected 2xx")
    );
}

#[test]
fn check_fails_naming_the_endpoint() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr = rt.block_on(server());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "default_context = \"t\"\n[contexts.t]\nhost = false\n\
             [[contexts.t.endpoints]]\nname = \"health\"\nurl = \"http://{addr}/ok\"\nexpect_body = \"healthy\"\n\
             [[contexts.t.endpoints]]\nname = \"lb\"\nurl = \"http://{addr}/down\"\n"
        ),
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["--config", cfg.to_str().unwrap(), "check"])
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("endpoint lb") && out.contains("status 503"),
        "{out}"
    );
    let ok_line = out.lines().find(|l| l.contains("endpoint health")).unwrap();
    assert!(ok_line.contains(" ok "), "{out}");
}
