//! Guarded Redis operations: what each runs (`describe`) and running it (`execute`).

use serde::Serialize;

use super::RedisSpec;
use super::{Auth, explain, host_port};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RedisOp {
    /// `BGSAVE` on one node.
    Bgsave { node: String },
    /// `BGREWRITEAOF` on one node.
    Bgrewriteaof { node: String },
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
            RedisOp::Bgsave { node } => format!("BGSAVE on {node}: fork and write an RDB snapshot"),
            RedisOp::Bgrewriteaof { node } => {
                format!("BGREWRITEAOF on {node}: fork and rewrite the append-only file")
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
        let auth = Auth::from_spec(spec)?;
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
            RedisOp::Bgsave { node } => run(node.clone(), redis::cmd("BGSAVE")).await,
            RedisOp::Bgrewriteaof { node } => run(node.clone(), redis::cmd("BGREWRITEAOF")).await,
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
                let mut out = Vec::new();
                for n in nodes {
                    let mut c = redis::cmd("CONFIG");
                    c.arg("SET").arg("maxmemory-policy").arg(policy);
                    out.push(run(n.clone(), c).await?);
                }
                Ok(out.join("; "))
            }
            RedisOp::SentinelFailover { master, .. } => {
                let sauth = auth.sentinel();
                let mut errors = Vec::new();
                for s in &spec.sentinels {
                    let s = host_port(s);
                    let r = async {
                        let mut c = sauth.connect(&s).await?;
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

fn show(v: &redis::Value) -> String {
    match v {
        redis::Value::Okay => "OK".into(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::Int(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}
