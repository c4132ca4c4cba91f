//! Backup operations: verify a backup (reads it, changes nothing), back up now. A
//! verification's outcome goes back to the source's poller (`Verification::of`), so its next
//! sample shows it.

use std::time::Duration;

use serde::Serialize;

use crate::sources::redis::Redis;
use crate::sources::system::{Done, Entries, entry};

/// The outcome of the latest verification of one backup source.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Verification {
    /// RFC 3339 local time.
    pub at: String,
    /// What was verified (a file, a stanza).
    pub target: String,
    pub ok: bool,
    /// The tool's own words (first lines), or its error.
    pub message: String,
}

impl Verification {
    /// The verification a finished operation was, if it was one.
    pub fn of(done: &Done<BackupOp>) -> Option<Verification> {
        let target = match &done.op {
            BackupOp::VerifyDump { path } | BackupOp::VerifyRdb { path } => path.clone(),
            BackupOp::VerifyStanza { stanza, .. } => format!("stanza {stanza}"),
            _ => return None,
        };
        Some(Verification {
            at: done.at.clone(),
            target,
            ok: done.result.is_ok(),
            message: match &done.result {
                Ok(s) | Err(s) => s.clone(),
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum BackupOp {
    /// `pgbackrest verify` of a stanza.
    VerifyStanza {
        stanza: String,
        config: Option<String>,
    },
    /// `pg_restore --file=/dev/null` of a custom-format dump file: reads the whole archive
    /// (`--list` reads only the table of contents and passes a truncated file).
    VerifyDump { path: String },
    /// `redis-check-rdb` of an RDB file.
    VerifyRdb { path: String },
    /// `pgbackrest backup --type=full|diff|incr`.
    PgBackRestBackup {
        stanza: String,
        config: Option<String>,
        backup_type: String,
    },
    /// Redis `BGSAVE` on the context's redis entry `redis`.
    RedisBgsave { redis: String },
}

fn pgbr_args(stanza: &str, config: &Option<String>, tail: &[String]) -> Vec<String> {
    let mut a = Vec::new();
    if let Some(c) = config {
        a.push(format!("--config={c}"));
    }
    a.push(format!("--stanza={stanza}"));
    a.push("--log-level-console=warn".into());
    a.extend(tail.iter().cloned());
    a
}

impl BackupOp {
    fn argv(&self) -> Option<(&'static str, Vec<String>)> {
        match self {
            BackupOp::VerifyStanza { stanza, config } => {
                Some(("pgbackrest", pgbr_args(stanza, config, &["verify".into()])))
            }
            BackupOp::VerifyDump { path } => {
                Some(("pg_restore", vec!["--file=/dev/null".into(), path.clone()]))
            }
            BackupOp::VerifyRdb { path } => Some(("redis-check-rdb", vec![path.clone()])),
            BackupOp::PgBackRestBackup {
                stanza,
                config,
                backup_type,
            } => Some((
                "pgbackrest",
                pgbr_args(
                    stanza,
                    config,
                    &[format!("--type={backup_type}"), "backup".into()],
                ),
            )),
            BackupOp::RedisBgsave { .. } => None,
        }
    }

    pub fn describe(&self) -> String {
        match (self, self.argv()) {
            (BackupOp::RedisBgsave { redis }, _) => format!("BGSAVE on redis {redis}"),
            (_, Some((prog, args))) => format!("{prog} {}", args.join(" ")),
            (_, None) => String::new(),
        }
    }

    pub fn is_verify(&self) -> bool {
        matches!(
            self,
            BackupOp::VerifyStanza { .. }
                | BackupOp::VerifyDump { .. }
                | BackupOp::VerifyRdb { .. }
        )
    }

    pub async fn execute(&self, ctx: &dyn Entries) -> Result<String, String> {
        match (self, self.argv()) {
            (BackupOp::RedisBgsave { redis }, _) => bgsave(redis, ctx).await,
            (_, Some((prog, args))) => run(prog, &args).await,
            (_, None) => Err("nothing to run".into()),
        }
    }
}

/// Runs a tool, keeping the first lines of its output as the result.
async fn run(prog: &str, args: &[String]) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(3600), cmd.output())
        .await
        .map_err(|_| format!("{prog}: no answer within an hour"))?
        .map_err(|e| format!("{prog}: {e}"))?;
    let first = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(6)
            .collect::<Vec<_>>()
            .join("\n")
    };
    if out.status.success() {
        let lines = String::from_utf8_lossy(&out.stdout).lines().count();
        Ok(format!("{prog}: ok ({lines} lines of output)"))
    } else {
        let err = first(&out.stderr);
        Err(format!(
            "{prog} failed ({}): {}",
            out.status,
            if err.is_empty() {
                first(&out.stdout)
            } else {
                err
            }
        ))
    }
}

async fn bgsave(name: &str, ctx: &dyn Entries) -> Result<String, String> {
    let r = entry::<Redis>(ctx, name)
        .ok_or_else(|| format!("no redis entry named {name:?} in this context"))?;
    let url = r.url.clone().ok_or("BGSAVE needs a standalone redis url")?;
    let secret = r.secret().resolve_async().await?;
    let info = crate::sources::redis::connection_info(&url, r.username.as_deref(), secret.as_ref())
        .map_err(|e| e.to_string())?;
    let client = ::redis::Client::open(info).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let reply: String = ::redis::cmd("BGSAVE")
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(reply)
}
