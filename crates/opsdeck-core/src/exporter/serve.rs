//! The exporter's tasks: one per source (`sources::spawn`, as the console starts them), one
//! that takes their updates in, and a small HTTP/1.1 server (hyper) for `/metrics` and
//! `/healthz`. SIGTERM or SIGINT stops it: the listener closes and the source tasks end.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Notify, mpsc};

use super::collect::State;
use super::encode::encode;
use crate::alerts::RuleSet;
use crate::series::Limits;
use crate::sources::{ContextSpec, Update};

/// What the exporter polls and how.
pub struct Options {
    pub context: String,
    pub ctx: ContextSpec,
    pub rules: RuleSet,
    /// The config's `refresh`: each source's poll interval, as in the console.
    pub refresh: Duration,
    pub limits: Limits,
}

/// Binds `--listen` before anything starts, so a bad or busy address is an error that
/// says what to do (and the caller exits 2) rather than an exporter nobody can scrape.
pub fn bind(listen: &str) -> Result<TcpListener, String> {
    let addr: SocketAddr = listen.parse().map_err(|_| {
        format!(
            "error: --listen {listen:?} is not an address\n  hint: give HOST:PORT, e.g. --listen 127.0.0.1:9464 (or 0.0.0.0:9464 for every interface)"
        )
    })?;
    let listener = TcpListener::bind(addr).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "something already listens on {addr}: stop it, or pass another port with --listen"
            ),
            std::io::ErrorKind::PermissionDenied => {
                "ports below 1024 need privileges: use a port such as 9464".into()
            }
            std::io::ErrorKind::AddrNotAvailable => {
                format!("{} is not an address of this machine", addr.ip())
            }
            _ => "check the address given with --listen".into(),
        };
        format!("error: cannot listen on {addr}: {e}\n  hint: {hint}")
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("error: cannot listen on {addr}: {e}"))?;
    Ok(listener)
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding it leaves the data as it was: keep serving it.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(opts: Options, listener: TcpListener) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("error: signals: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("error: signals: {e}"))?;
    serve(opts, listener, async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
    .await
}

/// Serves until `stop` completes.
pub async fn serve(
    opts: Options,
    listener: TcpListener,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| format!("error: cannot listen: {e}"))?;
    let state = Arc::new(Mutex::new(State::new(
        &opts.context,
        &opts.ctx,
        opts.rules.clone(),
        opts.limits,
    )));
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Update)>();
    let now = Arc::new(Notify::new());
    let mut done = Vec::new();
    let mut tasks: Vec<tokio::task::JoinHandle<()>> = crate::sources::plan(&opts.ctx)
        .into_iter()
        .enumerate()
        .map(|(index, spec)| {
            // No actions run here, but the channel stays open as the console's does.
            let (done_tx, done_rx) = mpsc::unbounded_channel();
            done.push(done_tx);
            let tx = tx.clone();
            crate::sources::spawn(
                spec,
                &opts.ctx,
                opts.refresh,
                now.clone(),
                done_rx,
                move |u| tx.send((index, u)).is_ok(),
            )
        })
        .collect();
    drop(tx);
    let intake = Arc::clone(&state);
    tasks.push(tokio::spawn(async move {
        while let Some((index, update)) = rx.recv().await {
            lock(&intake).apply(index, update, chrono::Utc::now());
        }
    }));
    tracing::info!(context = %opts.context, "exporter listening");
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    Err(e) => {
                        // Out of file descriptors, a reset before accept: keep going.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(respond(&state, &req)) }
                    });
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .serve_connection(TokioIo::new(stream), svc);
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended");
                    }
                });
            }
            _ = &mut stop => break,
        }
    }
    tracing::info!("exporter stopping");
    for t in tasks {
        t.abort();
    }
    drop(done);
    Ok(())
}

fn text(status: StatusCode, body: String, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

const PLAIN: &str = "text/plain; charset=utf-8";

fn respond(state: &Mutex<State>, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD\n".into(),
            PLAIN,
        );
    }
    match req.uri().path() {
        "/metrics" => {
            let openmetrics = req
                .headers()
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("application/openmetrics-text"));
            let series = lock(state).series(chrono::Utc::now());
            match encode(series, openmetrics) {
                Ok((body, ty)) => text(StatusCode::OK, body, ty),
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"), PLAIN),
            }
        }
        // Alive and serving; whether the sources answer is in /metrics (opsdeck_source_up).
        "/healthz" => {
            let s = lock(state);
            let up = s
                .slots
                .iter()
                .filter(|s| matches!(s.status, crate::sources::Status::Ok))
                .count();
            text(
                StatusCode::OK,
                format!("ok: {up} of {} sources answer\n", s.slots.len()),
                PLAIN,
            )
        }
        "/" => text(
            StatusCode::OK,
            "opsdeck exporter: /metrics (Prometheus), /healthz\n".into(),
            PLAIN,
        ),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics or /healthz\n".into(),
            PLAIN,
        ),
    }
}
