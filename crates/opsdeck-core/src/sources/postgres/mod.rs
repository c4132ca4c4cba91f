//! PostgreSQL: connections against limits, activity, the blocking tree, top statements,
//! replication and maintenance health, and guarded cancel/terminate/throttle.
//!
//! Footprint: one connection for polling (application_name `opsdeck`, statement_timeout
//! and lock_timeout on every query), a second short-lived one per action.

mod locks;
pub mod model;
mod ops;
pub mod pgbouncer;
mod queries;
mod sample;
pub mod spec;
mod system;
mod view;

use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::secrets::{Secret, redact_urls, scrub};
use crate::sources::system::Poller;

pub use locks::{Waiter, build_tree};
pub use model::*;
pub use ops::PgOp;
pub use sample::rates;
pub use spec::PostgresSpec;
pub use system::Postgres;
pub use view::*;

pub struct PgPoller {
    spec: PostgresSpec,
    secret: Option<Secret>,
    conn: Option<PgConnection>,
    prev: sample::Previous,
}

impl PgPoller {
    pub fn new(spec: PostgresSpec) -> Self {
        Self {
            spec,
            secret: None,
            conn: None,
            prev: sample::Previous::default(),
        }
    }

    fn scrub(&self, e: impl std::fmt::Display) -> String {
        let s: Vec<&Secret> = self.secret.iter().collect();
        scrub(&e.to_string(), &s)
    }

    /// One poll; the sample, or an error with the connection dropped by `reset`.
    pub async fn sample(&mut self) -> Result<PgSample, String> {
        if self.conn.is_none() {
            if self.secret.is_none() {
                self.secret = self.spec.secret().resolve()?;
            }
            let opts = connect_options(&self.spec, self.secret.as_ref())?;
            let conn =
                tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&opts))
                    .await
                    .map_err(|_| "connect timed out after 5s".to_string())?
                    .map_err(|e| self.scrub(e))?;
            self.conn = Some(conn);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err("not connected".into());
        };
        match sample::collect(conn, &mut self.prev).await {
            Ok(mut s) => {
                if let Some(url) = &self.spec.pgbouncer {
                    // PgBouncer trouble is a hint, not a failed poll of the server.
                    match pgbouncer::pools(url, None).await {
                        Ok(p) => s.pgbouncer_pools = Some(p),
                        Err(e) => {
                            s.pgbouncer_pools = Some(vec![]);
                            s.hints.push(format!("pgbouncer: {}", redact_urls(&e)));
                        }
                    }
                }
                Ok(s)
            }
            Err(e) => {
                let msg = self.scrub(e);
                self.reset();
                Err(msg)
            }
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
        // Dropping the connection closes the socket; the next poll reconnects.
        self.conn = None;
    }
}
