//! Sources: one tokio task per monitored thing. Each polls on its interval, sends owned,
//! typed samples into the loop's channel, reports its own status, and reconnects by itself
//! with backoff. A poll that hangs is cut off by a timeout, so a dead backend never holds
//! anything but its own pane. Nothing here imports ratatui.

pub mod backups;
pub mod endpoints;
pub mod host;
pub mod kafka;
pub mod mysql;
pub mod postgres;
pub mod redis;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Local};
use serde::Serialize;
use tokio::sync::{Notify, mpsc};

use std::collections::BTreeSet;

use crate::actions::{Op, Risk};
use crate::config::keymap::Action;
use crate::config::{ContextSpec, SecretSpec};

/// A guarded command's target (as shown), operation and risk.
pub type CommandResult = Result<(String, Op, Risk), String>;
use crate::views::{Detail, PaneModel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Kafka,
    Postgres,
    Redis,
    Backup,
    Host,
    Endpoint,
}

impl SourceKind {
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Kafka => "kafka",
            SourceKind::Postgres => "postgres",
            SourceKind::Redis => "redis",
            SourceKind::Backup => "backup",
            SourceKind::Host => "host",
            SourceKind::Endpoint => "endpoint",
        }
    }
}

/// What to poll: one configured thing of a context.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    Kafka(crate::config::KafkaSpec),
    Postgres(crate::config::PostgresSpec),
    Redis(crate::config::RedisSpec),
    /// A backup source plus its context (pg_archiver/redis kinds refer to other entries).
    Backup(crate::config::BackupSpec, Box<ContextSpec>),
    Host,
    Endpoint(crate::config::EndpointSpec),
}

impl SourceSpec {
    pub fn kind(&self) -> SourceKind {
        match self {
            SourceSpec::Kafka(_) => SourceKind::Kafka,
            SourceSpec::Postgres(_) => SourceKind::Postgres,
            SourceSpec::Redis(_) => SourceKind::Redis,
            SourceSpec::Backup(..) => SourceKind::Backup,
            SourceSpec::Host => SourceKind::Host,
            SourceSpec::Endpoint(_) => SourceKind::Endpoint,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            SourceSpec::Kafka(s) => &s.name,
            SourceSpec::Postgres(s) => &s.name,
            SourceSpec::Redis(s) => &s.name,
            SourceSpec::Backup(s, _) => &s.name,
            SourceSpec::Host => "host",
            SourceSpec::Endpoint(s) => &s.name,
        }
    }

    pub fn secret(&self) -> SecretSpec {
        match self {
            SourceSpec::Kafka(s) => s.secret(),
            SourceSpec::Postgres(s) => s.secret(),
            SourceSpec::Redis(s) => s.secret(),
            _ => SecretSpec::default(),
        }
    }
}

/// Every source of a context, in pane order.
pub fn plan(ctx: &ContextSpec) -> Vec<SourceSpec> {
    let mut out = Vec::new();
    out.extend(ctx.kafka.iter().cloned().map(SourceSpec::Kafka));
    out.extend(ctx.postgres.iter().cloned().map(SourceSpec::Postgres));
    out.extend(ctx.redis.iter().cloned().map(SourceSpec::Redis));
    out.extend(
        ctx.backups
            .iter()
            .cloned()
            .map(|b| SourceSpec::Backup(b, Box::new(ctx.clone()))),
    );
    if ctx.host {
        out.push(SourceSpec::Host);
    }
    out.extend(ctx.endpoints.iter().cloned().map(SourceSpec::Endpoint));
    out
}

/// One poll's result, owned and typed.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Sample {
    Kafka(Box<kafka::KafkaSample>),
    Postgres(Box<postgres::PgSample>),
    Redis(Box<redis::RedisSample>),
    Backup(Box<backups::BackupSample>),
    Host(Box<host::HostSample>),
    Endpoint(Box<endpoints::EndpointSample>),
}

impl Sample {
    pub fn model(&self) -> PaneModel {
        match self {
            Sample::Kafka(s) => s.model(),
            Sample::Postgres(s) => s.model(),
            Sample::Redis(s) => s.model(),
            Sample::Backup(s) => s.model(),
            Sample::Host(s) => s.model(),
            Sample::Endpoint(s) => s.model(),
        }
    }

    /// The command a guarded key means for the selected row (`key`) or the marked rows of a
    /// table: `None` when the action does not apply here, `Err` to say why it cannot run.
    pub fn command(
        &self,
        table: usize,
        key: &str,
        marked: &BTreeSet<String>,
        action: Action,
    ) -> Option<CommandResult> {
        match self {
            Sample::Kafka(s) => s.command(table, key, marked, action),
            Sample::Postgres(s) => s.command(table, key, marked, action),
            Sample::Redis(s) => s.command(table, key, marked, action),
            Sample::Backup(s) => s.command(table, key, marked, action),
            Sample::Host(_) | Sample::Endpoint(_) => None,
        }
    }

    /// The question to ask before `action` on the selected row can become a command (a
    /// count, a duration, a name), or `None` when it needs no input.
    pub fn prompt(&self, table: usize, key: &str, action: Action) -> Option<String> {
        match self {
            Sample::Kafka(s) => s.prompt(table, key, action),
            Sample::Postgres(s) => s.prompt(table, key, action),
            _ => None,
        }
    }

    /// The command for `action` once the person answered its prompt with `input`.
    pub fn command_with_input(
        &self,
        table: usize,
        key: &str,
        action: Action,
        input: &str,
    ) -> Option<CommandResult> {
        match self {
            Sample::Kafka(s) => s.command_with_input(table, key, action, input),
            Sample::Postgres(s) => s.command_with_input(table, key, action, input),
            _ => None,
        }
    }

    pub fn detail(&self, table: usize, key: &str) -> Option<Detail> {
        match self {
            Sample::Kafka(s) => s.detail(table, key),
            Sample::Postgres(s) => s.detail(table, key),
            Sample::Redis(s) => s.detail(table, key),
            Sample::Backup(s) => s.detail(table, key),
            Sample::Host(_) | Sample::Endpoint(_) => None,
        }
    }
}

/// A source's health as its pane shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "status", content = "error")]
pub enum Status {
    Connecting,
    Ok,
    Error(String),
}

/// What a source task reports.
#[derive(Debug, Clone)]
pub enum Update {
    Status(Status),
    Sample(Sample),
    /// A sample with its view model already built by the source task, so a big sample
    /// (10k partitions) costs the loop nothing but a move.
    Modelled(Sample, Box<PaneModel>),
}

/// A source's poller. Implementations keep their connection between polls and drop it in
/// `reset` (after an error or a timeout) so the next poll reconnects.
pub trait Poller: Send + 'static {
    fn poll(&mut self) -> impl Future<Output = Result<Sample, String>> + Send;
    fn reset(&mut self) {}
}

/// Longest a single poll may take before it counts as hung.
pub fn poll_timeout(interval: Duration) -> Duration {
    // A first Kafka poll of 10k partitions takes ~7 s on a loaded 2-core machine.
    (interval * 5).clamp(Duration::from_secs(10), Duration::from_secs(30))
}

/// Exponential backoff between reconnect attempts, capped.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let base = interval.max(Duration::from_millis(500));
    (base * 2u32.saturating_pow(failures.saturating_sub(1).min(5))).min(Duration::from_secs(30))
}

/// Runs a poller until the receiving side closes. `now` wakes it early (the refresh key).
pub async fn run<P: Poller>(
    mut poller: P,
    interval: Duration,
    now: Arc<Notify>,
    mut send: impl FnMut(Update) -> bool,
) {
    if !send(Update::Status(Status::Connecting)) {
        return;
    }
    let mut failures = 0u32;
    loop {
        let started = tokio::time::Instant::now();
        let result = match tokio::time::timeout(poll_timeout(interval), poller.poll()).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no answer within {}s (hung?)",
                poll_timeout(interval).as_secs()
            )),
        };
        let keep_going = match result {
            Ok(sample) => {
                failures = 0;
                match tokio::task::spawn_blocking(move || {
                    let model = sample.model();
                    (sample, model)
                })
                .await
                {
                    Ok((sample, model)) => send(Update::Modelled(sample, Box::new(model))),
                    Err(e) => send(Update::Status(Status::Error(format!(
                        "building the view failed: {e}"
                    )))),
                }
            }
            Err(e) => {
                failures += 1;
                poller.reset();
                tracing::warn!(error = %e, "poll failed");
                send(Update::Status(Status::Error(e)))
            }
        };
        if !keep_going {
            return;
        }
        let wait = if failures > 0 {
            backoff(interval, failures)
        } else {
            // A poll slower than the refresh (a 10k-partition cluster) rests as long as it
            // worked, rather than running back to back: at most half the time polling.
            let took = started.elapsed();
            interval.saturating_sub(took).max(took)
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = now.notified() => {}
        }
    }
}

/// Starts the task of one source; its updates go to `tx` tagged with `id`.
pub fn spawn<T: Send + 'static>(
    spec: SourceSpec,
    interval: Duration,
    now: Arc<Notify>,
    tx: mpsc::UnboundedSender<T>,
    wrap: impl Fn(Update) -> T + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let send = move |u| tx.send(wrap(u)).is_ok();
    match spec {
        SourceSpec::Kafka(s) => tokio::spawn(run(kafka::KafkaPoller::new(s), interval, now, send)),
        SourceSpec::Postgres(s) => {
            tokio::spawn(run(postgres::PgPoller::new(s), interval, now, send))
        }
        SourceSpec::Redis(s) => tokio::spawn(run(redis::RedisPoller::new(s), interval, now, send)),
        SourceSpec::Backup(s, ctx) => tokio::spawn(run(
            backups::BackupPoller::new(s, *ctx),
            interval,
            now,
            send,
        )),
        SourceSpec::Host => tokio::spawn(run(host::HostPoller::new(), interval, now, send)),
        SourceSpec::Endpoint(s) => {
            tokio::spawn(run(endpoints::EndpointPoller::new(s), interval, now, send))
        }
    }
}

/// One poll of one source (for `check` and `snapshot`), with the same timeout as the console.
pub async fn poll_once(spec: SourceSpec, timeout: Duration) -> Result<Sample, String> {
    async fn once<P: Poller>(mut p: P, timeout: Duration) -> Result<Sample, String> {
        match tokio::time::timeout(timeout, p.poll()).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {}s", timeout.as_secs())),
        }
    }
    match spec {
        SourceSpec::Kafka(s) => once(kafka::KafkaPoller::new(s), timeout).await,
        SourceSpec::Postgres(s) => once(postgres::PgPoller::new(s), timeout).await,
        SourceSpec::Redis(s) => once(redis::RedisPoller::new(s), timeout).await,
        SourceSpec::Backup(s, ctx) => once(backups::BackupPoller::new(s, *ctx), timeout).await,
        SourceSpec::Host => once(host::HostPoller::new(), timeout).await,
        SourceSpec::Endpoint(s) => once(endpoints::EndpointPoller::new(s), timeout).await,
    }
}

/// Wall-clock time for display and JSON ("stale since 03:12:09").
pub fn now_local() -> DateTime<Local> {
    Local::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let i = Duration::from_secs(2);
        assert_eq!(backoff(i, 1), Duration::from_secs(2));
        assert_eq!(backoff(i, 2), Duration::from_secs(4));
        assert_eq!(backoff(i, 3), Duration::from_secs(8));
        assert_eq!(backoff(i, 10), Duration::from_secs(30));
    }

    struct Flaky(u32);
    impl Poller for Flaky {
        async fn poll(&mut self) -> Result<Sample, String> {
            self.0 += 1;
            if self.0 == 1 {
                Err("down".into())
            } else {
                Ok(Sample::Host(Box::default()))
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn runner_reports_error_then_recovers_by_itself() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(
            Flaky(0),
            Duration::from_secs(1),
            Arc::new(Notify::new()),
            move |u| tx.send(u).is_ok(),
        ));
        assert!(matches!(
            rx.recv().await,
            Some(Update::Status(Status::Connecting))
        ));
        assert!(matches!(rx.recv().await, Some(Update::Status(Status::Error(e))) if e == "down"));
        assert!(matches!(
            rx.recv().await,
            Some(Update::Modelled(Sample::Host(_), _))
        ));
        task.abort();
    }

    struct Slow;
    impl Poller for Slow {
        async fn poll(&mut self) -> Result<Sample, String> {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok(Sample::Host(Box::default()))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_slower_than_the_refresh_rests_as_long_as_it_took() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let t0 = tokio::time::Instant::now();
        let task = tokio::spawn(run(
            Slow,
            Duration::from_secs(2),
            Arc::new(Notify::new()),
            move |u| {
                tx.send((tokio::time::Instant::now() - t0).as_secs())
                    .is_ok()
                    && {
                        drop(u);
                        true
                    }
            },
        ));
        let mut secs = Vec::new();
        for _ in 0..3 {
            secs.extend(rx.recv().await);
        }
        task.abort();
        // Connecting at 0; a sample at 3 s, then a 3 s rest (not 0) and a 3 s poll: 9 s.
        assert_eq!(secs, vec![0, 3, 9]);
    }

    struct Hung;
    impl Poller for Hung {
        async fn poll(&mut self) -> Result<Sample, String> {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_poll_becomes_an_error() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(
            Hung,
            Duration::from_secs(2),
            Arc::new(Notify::new()),
            move |u| tx.send(u).is_ok(),
        ));
        rx.recv().await;
        match rx.recv().await {
            Some(Update::Status(Status::Error(e))) => {
                assert!(e.contains("no answer within 10s"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        task.abort();
    }
}
