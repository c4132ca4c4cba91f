//! Guarded Redis operations: what each runs (`describe`) and running it (`execute`).

use serde::Serialize;

use super::RedisSpec;
use super::{Auth, explain, host_port};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RedisOp {
    /// `BGSAVE` on one node; `headroom` says what the fork may need (preview only).
    Bgsave {
        node: String,
        #[serde(skip)]
        headroom: String,
    },
    /// `BGREWRITEAOF` on one node.
    Bgrewriteaof {
        node: String,
        #[serde(skip)]
        headroom: String,
    },
    /// `SENTINEL FAILOVER <master>` sent to the first sentinel that answers.
    SentinelFailover { master: String, current: String },
    /// `CLUSTER FAILOVER` on a replica: it takes over from its master.
    ClusterFailover { node: String, master: String },
    /// `CONFIG SET maxmemory-policy` on every node of the deployment.
    SetPolicy {
        nodes: Vec<String>,
        policy: String,
        current: String,
    },
    /// `CLIENT KILL ID` of one client connection.
    ClientKill {
        node: String,
        id: u64,
        client: String,
    },
}

impl RedisOp {
    pub fn describe(&self) -> String {
        match self {
            RedisOp::Bgsave { node, headroom } => {
                format!("BGSAVE on {node}: fork and write an RDB snapshot. {headroom}")
                    .trim_end()
                    .to_string()
            }
            RedisOp::Bgrewriteaof { node, headroom } => {
                format!("BGREWRITEAOF on {node}: fork and rewrite the append-only file. {headroom}")
                    .trim_end()
                    .to_string()
            }
            RedisOp::SentinelFailover { master, current } => format!(
                "SENTINEL FAILOVER {master}: the sentinels promote a replica of {current} \
                 without asking the others' agreement; clients reconnect to the new master"
            ),
            RedisOp::ClusterFailover { node, master } => format!(
                "CLUSTER FAILOVER on replica {node}: it takes the slots of its master {master}, \
                 which becomes its replica"
            ),
            RedisOp::SetPolicy {
                nodes,
                policy,
                current,
            } => format!(
                "CONFIG SET maxmemory-policy {policy} on {} (now {current}); not written to redis.conf",
                nodes.join(", ")
            ),
            RedisOp::ClientKill { node, id, client } => {
                format!("CLIENT KILL ID {id} on {node}: close the connection of {client}")
            }
        }
    }

    pub async fn execute(&self, spec: &RedisSpec) -> Result<String, String> {
        let auth = Auth::from_spec(spec).await?;
        let run = |node: String, cmd: redis::Cmd| {
            let auth = auth.clone();
            async move {
                let mut c = auth.connect(&node).await?;
                let v: redis::Value = cmd
                    .query_async(&mut c)
                    .await
                    .map_err(|e| explain(&auth.scrub(e), auth.username.as_deref()))?;
                Ok::<_, String>(format!("{node}: {}", show(&v)))
            }
        };
        match self {
            RedisOp::Bgsave { node, .. } => run(node.clone(), redis::cmd("BGSAVE")).await,
            RedisOp::Bgrewriteaof { node, .. } => {
                run(node.clone(), redis::cmd("BGREWRITEAOF")).await
            }
            RedisOp::ClusterFailover { node, .. } => {
                let mut c = redis::cmd("CLUSTER");
                c.arg("FAILOVER");
                run(node.clone(), c).await
            }
            RedisOp::ClientKill { node, id, .. } => {
                let mut c = redis::cmd("CLIENT");
                c.arg("KILL").arg("ID").arg(*id);
                run(node.clone(), c).await
            }
            RedisOp::SetPolicy { nodes, policy, .. } => {
                if !super::model::POLICIES.iter().any(|(p, _)| p == policy) {
                    return Err(format!("{policy:?} is not a maxmemory-policy"));
                }
                // Every node is tried and reported: a half-applied change is said, never hidden.
                let mut done = Vec::new();
                let mut failed = Vec::new();
                for n in nodes {
                    let mut c = redis::cmd("CONFIG");
                    c.arg("SET").arg("maxmemory-policy").arg(policy);
                    match run(n.clone(), c).await {
                        Ok(r) => done.push(r),
                        Err(e) => failed.push(format!("{n}: {e}")),
                    }
                }
                if failed.is_empty() {
                    Ok(done.join("; "))
                } else {
                    Err(format!(
                        "applied on {} of {} nodes — the deployment now runs mixed policies; failed: {}{}",
                        done.len(),
                        nodes.len(),
                        failed.join("; "),
                        if done.is_empty() {
                            String::new()
                        } else {
                            format!("; applied: {}", done.join("; "))
                        }
                    ))
                }
            }
            RedisOp::SentinelFailover { master, current } => {
                let sauth = auth.sentinel();
                let mut errors = Vec::new();
                for s in &spec.sentinels {
                    let s = host_port(s);
                    let r = async {
                        let mut c = sauth.connect(&s).await?;
                        // The master must still be the one the preview showed: after a
                        // failover since, this would fail over the new master.
                        let now: Vec<String> = redis::cmd("SENTINEL")
                            .arg("get-master-addr-by-name")
                            .arg(master)
                            .query_async(&mut c)
                            .await
                            .map_err(|e| e.to_string())?;
                        let now = now.join(":");
                        if &now != current {
                            return Err(format!(
                                "REFUSED: the master of {master} is now {now}, not {current} as previewed (a failover happened since); look again before failing over"
                            ));
                        }
                        let v: redis::Value = redis::cmd("SENTINEL")
                            .arg("FAILOVER")
                            .arg(master)
                            .query_async(&mut c)
                            .await
                            .map_err(|e| e.to_string())?;
                        Ok::<_, String>(format!("sentinel {s}: {}", show(&v)))
                    }
                    .await;
                    match r {
                        Ok(v) => return Ok(v),
                        Err(e) if e.starts_with("REFUSED: ") => {
                            return Err(e.trim_start_matches("REFUSED: ").to_string());
                        }
                        // A refusal (e.g. a failover already in progress) is the answer.
                        Err(e) if !e.contains("refused") && !e.contains("timed out") => {
                            return Err(format!("sentinel {s}: {e}"));
                        }
                        Err(e) => errors.push(format!("{s}: {e}")),
                    }
                }
                Err(format!("no sentinel answered: {}", errors.join("; ")))
            }
        }
    }
}

/// What a fork of a node may need while it writes: copy-on-write can touch up to the
/// resident memory again; a warning when that is over half the host's memory.
pub fn fork_headroom(rss: u64, system: u64) -> String {
    use crate::views::fmt::bytes;
    if system == 0 {
        return format!(
            "The fork may need up to {} more memory while it writes.",
            bytes(rss)
        );
    }
    let ratio = rss as f64 / system as f64;
    if ratio > 0.5 {
        format!(
            "WARNING: the fork may need up to {} more memory while it writes and the host has {} in all ({:.0}% of it): the kernel may refuse the fork or the OOM killer may stop Redis.",
            bytes(rss),
            bytes(system),
            ratio * 100.0
        )
    } else {
        format!(
            "The fork may need up to {} more memory while it writes (host: {}).",
            bytes(rss),
            bytes(system)
        )
    }
}

fn show(v: &redis::Value) -> String {
    match v {
        redis::Value::Okay => "OK".into(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::Int(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fork_with_little_headroom_is_warned_about() {
        assert!(fork_headroom(600 << 20, 1 << 30).starts_with("WARNING"));
        let ok = fork_headroom(100 << 20, 1 << 30);
        assert!(ok.starts_with("The fork may need up to 100 MiB"), "{ok}");
        let op = RedisOp::Bgsave {
            node: "n:1".into(),
            headroom: fork_headroom(600 << 20, 1 << 30),
        };
        assert!(op.describe().contains("OOM killer"), "{}", op.describe());
    }
}
