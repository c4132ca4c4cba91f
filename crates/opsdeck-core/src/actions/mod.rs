//! The guarded pipeline every change to a monitored system goes through:
//! preview → confirmation (focus on Cancel; a typed name for high-risk commands and
//! production contexts) → execution off the loop with a timeout → audit entry (flushed
//! before the result is shown) → result. Read-only refuses before any of it.

pub mod audit;

use std::time::Duration;

use serde::Serialize;

use crate::config::ContextSpec;
use crate::sources::SourceKind;
use crate::sources::{backups, kafka, postgres, redis};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "system", rename_all = "snake_case")]
pub enum Op {
    Redis(redis::RedisOp),
    Postgres(postgres::PgOp),
    Kafka(kafka::KafkaOp),
    Backup(backups::BackupOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Reversible or harmless (BGSAVE, cancel a query).
    Low,
    /// Disrupts clients (terminate a session, failover).
    Medium,
    /// Destroys data or state (delete a topic, reset offsets): the target's name must be typed.
    High,
}

/// A typed command against one target of one source of the current context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Command {
    pub kind: SourceKind,
    /// The configured source's name.
    pub source: String,
    /// What it acts on (a node, a pid, a topic), as shown to the person.
    pub target: String,
    pub op: Op,
    pub risk: Risk,
}

impl Command {
    /// Exactly what will run, for the preview.
    pub fn describe(&self) -> String {
        match &self.op {
            Op::Redis(o) => o.describe(),
            Op::Postgres(o) => o.describe(),
            Op::Kafka(o) => o.describe(),
            Op::Backup(o) => o.describe(),
        }
    }

    /// What the person must type to confirm, if anything.
    pub fn typed_confirmation(&self, context: &str, production: bool) -> Option<String> {
        if production {
            Some(context.to_string())
        } else if self.risk == Risk::High {
            Some(self.target.clone())
        } else {
            None
        }
    }
}

/// Why an action cannot even be previewed.
pub fn refuse_readonly(context: &str, cli_readonly: bool) -> String {
    if cli_readonly {
        "read-only mode (--readonly): actions that change a system are disabled".to_string()
    } else {
        format!("context {context} is read-only: actions that change a system are disabled")
    }
}

/// Runs a confirmed command with a timeout. Runs on its own task, never on the loop.
pub async fn execute(
    cmd: &Command,
    ctx: &ContextSpec,
    timeout: Duration,
) -> Result<String, String> {
    let run = async {
        match &cmd.op {
            Op::Redis(o) => {
                let spec = ctx
                    .redis
                    .iter()
                    .find(|r| r.name == cmd.source)
                    .ok_or_else(|| missing(cmd))?;
                o.execute(spec).await
            }
            Op::Postgres(o) => {
                let spec = ctx
                    .postgres
                    .iter()
                    .find(|r| r.name == cmd.source)
                    .ok_or_else(|| missing(cmd))?;
                o.execute(spec).await
            }
            Op::Kafka(o) => {
                let spec = ctx
                    .kafka
                    .iter()
                    .find(|r| r.name == cmd.source)
                    .ok_or_else(|| missing(cmd))?;
                o.execute(spec).await
            }
            Op::Backup(o) => {
                let spec = ctx
                    .backups
                    .iter()
                    .find(|r| r.name == cmd.source)
                    .ok_or_else(|| missing(cmd))?;
                o.execute(spec, ctx).await
            }
        }
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "timed out after {}",
            crate::views::fmt::duration(timeout)
        )),
    }
}

fn missing(cmd: &Command) -> String {
    format!(
        "{} source {:?} is not in this context",
        cmd.kind.label(),
        cmd.source
    )
}
