//! MariaDB / MySQL: connections against `max_connections`, the processlist, the lock-wait
//! tree, top statements by digest, replication channels, and guarded KILL QUERY /
//! KILL CONNECTION with an identity check.
//!
//! Footprint: one connection for polling (statements over the text protocol, each with a
//! 5 s limit and 1 s lock waits), a second short-lived one per action.

mod events;
mod locks;
pub mod model;
mod ops;
mod queries;
mod rows;
mod sample;
pub mod spec;
mod system;
mod view;

use std::time::Duration;

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

use crate::secrets::{Secret, scrub};
use crate::sources::system::Poller;

pub use locks::{Wait, build_tree};
pub use model::*;
pub use ops::{KillMode, MysqlOp, Target, ThreadResult};
pub use sample::{needs_process, rates};
pub use spec::{MysqlSpec, SSL_MODES, connect_options};
pub use system::Mysql;
pub use view::*;

pub struct MysqlPoller {
    spec: MysqlSpec,
    secret: Option<Secret>,
    conn: Option<(MySqlConnection, sample::Server)>,
    prev: sample::Previous,
}

impl MysqlPoller {
    pub fn new(spec: MysqlSpec) -> Self {
        Self {
            spec,
            secret: None,
            conn: None,
            prev: sample::Previous::default(),
        }
    }

    pub fn spec(&self) -> &MysqlSpec {
        &self.spec
    }

    fn scrub(&self, e: impl std::fmt::Display) -> String {
        let s: Vec<&Secret> = self.secret.iter().collect();
        scrub(&e.to_string(), &s)
    }

    /// One poll; the sample, or an error with the connection dropped (the next poll
    /// reconnects).
    pub async fn sample(&mut self) -> Result<MysqlSample, String> {
        if self.conn.is_none() {
            if self.secret.is_none() {
                self.secret = self.spec.secret().resolve_async().await?;
            }
            let c = connect(&self.spec, self.secret.as_ref())
                .await
                .map_err(|e| self.scrub(e))?;
            self.prev.lock_source = None;
            self.conn = Some(c);
        }
        let Some((conn, server)) = self.conn.as_mut() else {
            return Err("not connected".into());
        };
        match sample::collect(conn, server, &mut self.prev).await {
            Ok(s) => Ok(s),
            Err(e) => {
                let msg = self.scrub(e);
                self.reset();
                Err(msg)
            }
        }
    }
}

impl Poller for MysqlPoller {
    type Sample = MysqlSample;
    type Op = MysqlOp;

    async fn poll(&mut self) -> Result<MysqlSample, String> {
        self.sample().await
    }

    fn reset(&mut self) {
        // Dropping the connection closes the socket; the next poll reconnects.
        self.conn = None;
    }
}

/// Connects, learns the flavour and sets up the session (limits, the `@opsdeck` mark).
async fn connect(
    spec: &MysqlSpec,
    secret: Option<&Secret>,
) -> Result<(MySqlConnection, sample::Server), String> {
    let opts = connect_options(spec, secret)?;
    let mut conn =
        tokio::time::timeout(Duration::from_secs(5), MySqlConnection::connect_with(&opts))
            .await
            .map_err(|_| "connect timed out after 5s".to_string())?
            .map_err(|e| e.to_string())?;
    let version = rows::fetch_one(&mut conn, queries::VERSION)
        .await
        .map_err(|e| e.to_string())?
        .text(&["version"]);
    let flavor = queries::flavor_of(&version);
    rows::execute(&mut conn, queries::session_setup(flavor))
        .await
        .map_err(|e| e.to_string())?;
    Ok((conn, sample::Server { flavor, version }))
}
