//! PostgreSQL: connections against limits, activity, the blocking tree, top statements,
//! replication and maintenance health, and guarded cancel/terminate/throttle.
//!
//! Footprint: one connection (application_name `opsdeck`, statement_timeout and
//! lock_timeout on every query), shared by the poll and the actions, so an action still
//! works when the server has no connection slot left; cheap figures every refresh, heavy
//! ones on the slow schedule (`slow_refresh`).

pub mod capacity;
mod ddl;
mod events;
mod index_view;
pub mod indexes;
mod locks;
pub mod model;
mod names;
mod ops;
pub mod pgbouncer;
mod queries;
mod sample;
mod schedule;
mod series;
pub mod serverlog;
mod shared;
pub mod spec;
pub mod statements;
mod system;
mod view;

use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::secrets::{Secret, redact_urls, scrub};
use crate::sources::system::Poller;

pub use ddl::{IndexDdl, Verb};
pub use locks::{Waiter, build_tree};
pub use model::*;
pub use ops::{Outcome, PgOp, Target};
pub use sample::rates;
pub use spec::PostgresSpec;
pub use system::Postgres;
pub use view::*;

pub struct PgPoller {
    spec: PostgresSpec,
    secret: Option<Secret>,
    /// Shared with the actions of this source (see `shared`).
    conn: shared::Slot,
    /// Set by `reset` when an action held the connection: dropped at the next poll.
    stale: bool,
    prev: sample::Previous,
    slow_every: Duration,
    pgbouncer: pgbouncer::Admin,
    advice: schedule::Slow<indexes::IndexAdvice>,
    /// `data_directory` as the role may read it (None: not asked since the connect).
    data_directory: Option<Option<String>>,
    disk: schedule::Slow<Option<model::DataDisk>>,
    /// Whether the server runs on this machine (its data disk can be read): from the URL,
    /// which does not change, so parsed once (parsing it each poll was a tenth of a poll).
    local: bool,
    capacity: crate::capacity::CapacitySpec,
    tracker: crate::capacity::Tracker,
    backfill: crate::capacity::prometheus::Backfill,
}

impl PgPoller {
    pub fn new(spec: PostgresSpec) -> Self {
        // The config check reports a bad slow_refresh with its line; here it falls back.
        let slow_every = spec
            .slow_refresh
            .as_deref()
            .and_then(|d| crate::input::parse_duration(d).ok())
            .unwrap_or(schedule::DEFAULT_SLOW);
        let mut prev = sample::Previous::default();
        prev.log = serverlog::Reader::new(spec.log_path.as_ref().map(std::path::PathBuf::from));
        let local = connect_options(&spec, None)
            .map(|o| capacity::local_host(o.get_host()))
            .unwrap_or(false);
        Self {
            conn: shared::register(&spec),
            spec,
            secret: None,
            stale: false,
            prev,
            slow_every,
            pgbouncer: pgbouncer::Admin::default(),
            advice: Default::default(),
            data_directory: None,
            disk: Default::default(),
            local,
            capacity: Default::default(),
            tracker: Default::default(),
            backfill: Default::default(),
        }
    }

    /// Forecasts over `[capacity]`'s window, backfilled from its Prometheus if set.
    pub fn with_capacity(mut self, spec: crate::capacity::CapacitySpec) -> Self {
        self.tracker = crate::capacity::Tracker::new(spec.window_secs());
        self.capacity = spec;
        self
    }

    /// The slow extras on the poll's connection: index advice, and where the data
    /// directory is. Trouble there is a hint, never a failed poll.
    async fn extras(&mut self, conn: &mut PgConnection, s: &mut PgSample) {
        let now = std::time::Instant::now();
        if self.advice.due(now, self.slow_every) && self.prev.heavy.claim() {
            let r = indexes::read(conn, s.version_num).await;
            self.advice.set(now, r.map_err(|e| e.to_string()));
        }
        s.index_advice = self.advice.value.clone();
        s.ages.indexes = self.advice.age(now);
        if let Some(e) = &self.advice.error {
            s.hints.push(format!(
                "index advice unavailable (kept from the last read): {e}"
            ));
        }
        if self.data_directory.is_none() {
            let dir: Option<String> =
                sqlx::query_scalar("select setting from pg_settings where name = 'data_directory'")
                    .fetch_optional(&mut *conn)
                    .await
                    .ok()
                    .flatten();
            self.data_directory = Some(dir);
        }
    }

    /// The capacity figures' forecasts, from the history including this sample.
    async fn forecast(&mut self, s: &mut PgSample) {
        let now = std::time::Instant::now();
        let dir = self.data_directory.clone().flatten().filter(|_| self.local);
        if let Some(dir) = dir
            && self.disk.due(now, self.slow_every)
        {
            let r = tokio::task::spawn_blocking(move || capacity::disk_of(&dir))
                .await
                .map_err(|e| e.to_string());
            self.disk.set(now, r);
        }
        s.data_disk = self.disk.value.clone();
        let figures = capacity::figures(s, s.data_disk.as_ref());
        let t = crate::capacity::now_secs();
        let name = self.spec.name.clone();
        let notes = self
            .backfill
            .run(&self.capacity, &mut self.tracker, &figures, &name, t)
            .await;
        s.hints.extend(notes);
        s.capacity = self.tracker.observe(t, &figures);
    }

    /// Overrides how many sessions are read in full beyond the ones that must be
    /// (`SESSION_ROWS`): the others are counted only.
    pub fn with_session_rows(mut self, rows: i64) -> Self {
        self.prev.session_rows = Some(rows);
        self
    }

    /// Overrides the slow schedule's interval (`slow_refresh`).
    pub fn with_slow_refresh(mut self, every: Duration) -> Self {
        self.slow_every = every;
        self
    }

    fn scrub(&self, e: impl std::fmt::Display) -> String {
        let s: Vec<&Secret> = self.secret.iter().collect();
        scrub(&e.to_string(), &s)
    }

    /// One poll; the sample, or an error with the connection dropped by `reset`.
    pub async fn sample(&mut self) -> Result<PgSample, String> {
        let slot = self.conn.clone();
        let mut guard = slot.lock().await;
        if std::mem::take(&mut self.stale) {
            *guard = None;
        }
        if guard.is_none() {
            if self.secret.is_none() {
                self.secret = self.spec.secret().resolve_async().await?;
            }
            let opts = connect_options(&self.spec, self.secret.as_ref())?;
            let conn =
                tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&opts))
                    .await
                    .map_err(|_| "connect timed out after 5s".to_string())?
                    .map_err(|e| self.scrub(e))?;
            *guard = Some(conn);
            self.prev.reconnected();
            self.data_directory = None;
            self.advice.expire();
        }
        let Some(conn) = guard.as_mut() else {
            return Err("not connected".into());
        };
        let mut result = sample::collect(conn, &mut self.prev, self.slow_every).await;
        if let Ok(s) = &mut result {
            self.extras(conn, s).await;
            self.prev.heavy.end();
        } else {
            // Dropping the connection closes the socket; the next poll reconnects.
            *guard = None;
        }
        drop(guard);
        match result {
            Ok(mut s) => {
                if let Some(url) = &self.spec.pgbouncer {
                    // PgBouncer trouble is a hint, not a failed poll of the server.
                    match self.pgbouncer.pools(url, None).await {
                        Ok(p) => s.pgbouncer_pools = Some(p),
                        Err(e) => {
                            s.pgbouncer_pools = Some(vec![]);
                            s.hints.push(format!("pgbouncer: {}", redact_urls(&e)));
                        }
                    }
                }
                self.forecast(&mut s).await;
                Ok(s)
            }
            Err(e) => Err(self.scrub(e)),
        }
    }
}

pub fn connect_options(
    spec: &PostgresSpec,
    secret: Option<&Secret>,
) -> Result<PgConnectOptions, String> {
    let mut opts: PgConnectOptions = spec
        .url
        .parse()
        .map_err(|e: sqlx::Error| scrub(&e.to_string(), &[]))?;
    if let Some(s) = secret {
        opts = opts.password(s.expose());
    }
    if let Some(ca) = &spec.ssl_root_cert {
        opts = opts.ssl_root_cert(ca);
    }
    // lock_timeout: the console's queries never queue behind (and so never in front of)
    // an application's lock for long; idle_in_transaction_session_timeout: it never holds
    // a snapshot open.
    Ok(opts
        .application_name("opsdeck")
        .options([
            ("statement_timeout", "5000"),
            ("lock_timeout", "1000"),
            ("idle_in_transaction_session_timeout", "10000"),
        ])
        .log_statements(tracing::log::LevelFilter::Trace))
}

impl Poller for PgPoller {
    type Sample = PgSample;
    type Op = PgOp;

    async fn poll(&mut self) -> Result<PgSample, String> {
        self.sample().await
    }

    fn reset(&mut self) {
        self.pgbouncer = pgbouncer::Admin::default();
        // A poll cut off mid-query leaves the connection in an unknown state: drop it. An
        // action may hold it right now; then it goes at the next poll.
        match self.conn.try_lock() {
            Ok(mut c) => *c = None,
            Err(_) => self.stale = true,
        }
    }
}
