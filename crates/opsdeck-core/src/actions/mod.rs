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

/// Runs a confirmed command with a timeout. Runs on its own task, never on the loop.
pub async fn execute(
    cmd: &Command,
    ctx: &ContextSpec,
    timeout: Duration,
) -> Result<String, String> {
    match tokio::time::timeout(timeout, registry::execute(&cmd.op, &cmd.source, ctx)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "timed out after {}",
            crate::views::fmt::duration(timeout)
        )),
    }
}
