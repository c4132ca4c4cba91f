//! The guarded pipeline every change to a monitored system goes through:
//! preview → confirmation (focus on Cancel; a typed name for high-risk commands and
//! production contexts) → execution off the loop with a timeout → audit entry (flushed
//! before the result is shown) → result. Read-only refuses before any of it.

pub mod audit;

use std::time::Duration;

use serde::Serialize;

use crate::sources::registry::{self, ContextSpec};
use crate::sources::{Planned, SourceKind};

pub use crate::sources::registry::Op;
pub use crate::sources::system::Risk;

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
    /// What it will do to the system's users, where known (shown in the preview).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
}

impl Command {
    /// A planned operation of the source `source`.
    pub fn new(source: &str, planned: Planned<Op>) -> Command {
        Command {
            kind: planned.op.kind(),
            source: source.to_string(),
            target: planned.target,
            op: planned.op,
            risk: planned.risk,
            impact: planned.impact,
        }
    }

    /// Exactly what will run, for the preview.
    pub fn describe(&self) -> String {
        self.op.describe()
    }

    /// Whether it changes the monitored system (refused in read-only mode).
    pub fn changes_system(&self) -> bool {
        self.op.changes_system()
    }

    /// What the person must type to confirm, if anything: the target's name for a high-risk
    /// command, the context's name in a production context, both (in that order, separated
    /// by a space) for a high-risk command in production.
    pub fn typed_confirmation(&self, context: &str, production: bool) -> Option<String> {
        let high = self.risk == Risk::High && self.changes_system();
        match (high, production && self.changes_system()) {
            (true, true) => Some(format!("{} {context}", self.target)),
            (true, false) => Some(self.target.clone()),
            (false, true) => Some(context.to_string()),
            (false, false) => None,
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

/// How an executed command ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", content = "message", rename_all = "lowercase")]
pub enum Outcome {
    Ok(String),
    Error(String),
    /// It may or may not have been applied (a timeout after the request was sent).
    Unknown(String),
}

impl Outcome {
    /// The audit log's word for it.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::Error(_) => "error",
            Outcome::Unknown(_) => "unknown",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Outcome::Ok(m) | Outcome::Error(m) | Outcome::Unknown(m) => m,
        }
    }

    pub fn into_result(self) -> Result<String, String> {
        match self {
            Outcome::Ok(m) => Ok(m),
            Outcome::Error(m) | Outcome::Unknown(m) => Err(m),
        }
    }
}

/// The longest a long-running operation (a backup, a full restore check) may take.
pub const LONG_LIMIT: Duration = Duration::from_secs(6 * 3600);

/// Runs a confirmed command: with `timeout`, or `LONG_LIMIT` for long work. A timeout of a
/// command that changes the system leaves its outcome unknown: the request may have been
/// carried out. Runs on its own task, never on the loop.
pub async fn run(cmd: &Command, ctx: &ContextSpec, timeout: Duration) -> Outcome {
    let limit = if cmd.op.long_running() {
        LONG_LIMIT
    } else {
        timeout
    };
    match tokio::time::timeout(limit, registry::execute(&cmd.op, &cmd.source, ctx)).await {
        Ok(Ok(m)) => Outcome::Ok(m),
        Ok(Err(e)) if cmd.op.unknown_after(&e) => Outcome::Unknown(format!(
            "{e} — it may have been applied: check {} before trying again",
            cmd.target
        )),
        Ok(Err(e)) => Outcome::Error(e),
        Err(_) if cmd.changes_system() => Outcome::Unknown(format!(
            "no answer within {}: it may have been applied — check {} before trying again",
            crate::views::fmt::duration(limit),
            cmd.target
        )),
        Err(_) => Outcome::Error(format!(
            "timed out after {}",
            crate::views::fmt::duration(limit)
        )),
    }
}

/// `run` as a result (an unknown outcome is an error to a script).
pub async fn execute(
    cmd: &Command,
    ctx: &ContextSpec,
    timeout: Duration,
) -> Result<String, String> {
    run(cmd, ctx, timeout).await.into_result()
}
