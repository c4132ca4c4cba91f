//! Declarative topics: `opsdeck topics plan | apply | export`.
//!
//! Topic files (TOML, see docs/topics.md) declare name, partitions, replication factor and
//! configs. `plan` compares them with the cluster (`plan::plan`, pure), `apply` performs the
//! plan through the same guarded `KafkaOp`s as the Kafka pane (validated by the broker first,
//! one audit entry per change), then re-reads the cluster until it matches, and `export`
//! writes the cluster's topics as files that `plan` reads back as in sync.
//!
//! Exit codes, as `diff` has them: 0 in sync (or applied and verified), 1 changes pending
//! (`plan`; an `apply` whose confirmation was not given), 2 error, as for every bad input
//! of opsdeck (bad file, config or argument, refused change, read-only, cluster
//! unreachable, failed apply).

pub mod cluster;
pub mod export;
pub mod file;
pub mod plan;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::actions::{self, Command, Op, audit};
use crate::config::Context;
use crate::sources::SourceKind;
use crate::sources::kafka::KafkaSpec;

pub use plan::{Change, Options, Plan};

/// Exit codes.
pub const IN_SYNC: u8 = 0;
pub const PENDING: u8 = 1;
pub const ERROR: u8 = 2;

/// What the commands need from the loaded config and the command line.
#[derive(Debug, Clone)]
pub struct Env {
    pub ctx: Context,
    /// `--readonly` was given.
    pub cli_readonly: bool,
    pub audit_log: PathBuf,
    pub action_timeout: Duration,
}

/// The Kafka entry of the context: `name` when given, else the only one.
pub fn pick_kafka(ctx: &Context, name: Option<&str>) -> Result<KafkaSpec, String> {
    let all = &ctx.spec.kafka;
    let names = || {
        all.iter()
            .map(|k| k.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(n) => all.iter().find(|k| k.name == n).cloned().ok_or_else(|| {
            format!(
                "error: context {} has no kafka entry named {n:?}\n  hint: its kafka entries: {}",
                ctx.name,
                if all.is_empty() {
                    "none".into()
                } else {
                    names()
                }
            )
        }),
        None => match all.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(format!(
                "error: context {} has no kafka entry\n  hint: add a [[contexts.{}.kafka]] table to the config, or pick another context with --context",
                ctx.name, ctx.name
            )),
            _ => Err(format!(
                "error: context {} has {} kafka entries ({})\n  hint: name one with --kafka NAME",
                ctx.name,
                all.len(),
                names()
            )),
        },
    }
}

fn load(paths: &[PathBuf]) -> Result<Vec<file::Declared>, String> {
    file::load(paths).map_err(|e| e.to_string())
}

async fn make_plan(
    spec: &KafkaSpec,
    declared: &[file::Declared],
    opts: &Options,
) -> Result<Plan, String> {
    let names: std::collections::BTreeSet<&str> =
        declared.iter().map(|d| d.name.as_str()).collect();
    let observed = cluster::read(spec, |t| names.contains(t))
        .await
        .map_err(unreachable)?;
    let mut p = plan::plan(declared, &observed, opts);
    validate(spec, declared, &mut p).await;
    Ok(p)
}

/// Has the broker validate every create and config change without making it (bad config
/// names or values, more replicas than brokers, a topic-creation policy) so that `plan`
/// already fails on what `apply` would be refused. A refused topic's changes are dropped.
async fn validate(spec: &KafkaSpec, declared: &[file::Declared], p: &mut Plan) {
    let checks = p.changes.iter().map(|c| async move {
        let op = c.op();
        match op.validate(spec).await {
            Ok(()) => None,
            Err(e) => Some((c.topic().to_string(), e)),
        }
    });
    let refused: Vec<(String, String)> = futures::future::join_all(checks)
        .await
        .into_iter()
        .flatten()
        .collect();
    for (topic, e) in refused {
        let (file, line) = declared
            .iter()
            .find(|d| d.name == topic)
            .map(|d| (d.file.clone(), d.line))
            .unwrap_or_default();
        let hint = match declared.iter().find(|d| d.name == topic) {
            Some(d) if e.contains("InvalidConfig") && !d.configs.is_empty() => format!(
                "; check the declared configs' names and values ({})",
                d.configs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            _ => String::new(),
        };
        p.changes.retain(|c| c.topic() != topic);
        p.refusals.push(plan::Refusal {
            topic,
            file,
            line,
            reason: format!("refused by the broker's validation (nothing changed): {e}{hint}"),
        });
    }
}

fn unreachable(e: String) -> String {
    format!(
        "error: {e}\n  hint: check the kafka entry's brokers (and properties such as \
         security.protocol) in the config, and that the cluster is reachable from here"
    )
}

fn header(spec: &KafkaSpec, ctx: &Context) -> String {
    format!(
        "kafka {} ({}), context {}",
        spec.name, spec.brokers, ctx.name
    )
}

/// `topics plan`: prints the plan (as text, or as JSON with `json`); 0 in sync, 1 changes
/// pending, 2 refused or error.
pub async fn run_plan(
    env: &Env,
    kafka: Option<&str>,
    paths: &[PathBuf],
    opts: &Options,
    json: bool,
    out: &mut impl Write,
) -> Result<u8, String> {
    let declared = load(paths)?;
    let spec = pick_kafka(&env.ctx, kafka)?;
    let p = make_plan(&spec, &declared, opts).await?;
    if json {
        let unmanaged: Vec<_> = p
            .unmanaged
            .iter()
            .map(|(t, k, v)| serde_json::json!({ "topic": t, "config": k, "value": v }))
            .collect();
        let doc = serde_json::json!({
            "context": env.ctx.name,
            "kafka": spec.name,
            "in_sync": p.in_sync,
            "changes": p.changes,
            "refusals": p.refusals,
            "unmanaged": unmanaged,
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        let _ = writeln!(out, "{text}");
    } else {
        let _ = writeln!(out, "{}", header(&spec, &env.ctx));
        let _ = write!(out, "{}", p.render());
    }
    Ok(if !p.refusals.is_empty() {
        ERROR
    } else if p.changes.is_empty() {
        IN_SYNC
    } else {
        PENDING
    })
}

/// `topics apply`: plan, confirmation (unless `yes`), each change through the guarded
/// pipeline with its audit entry, then a re-read until the cluster matches the files.
pub async fn run_apply(
    env: &Env,
    kafka: Option<&str>,
    paths: &[PathBuf],
    opts: &Options,
    yes: bool,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<u8, String> {
    if env.cli_readonly || env.ctx.spec.readonly {
        return refuse_readonly(env, kafka, paths, opts, out).await;
    }
    let declared = load(paths)?;
    let spec = pick_kafka(&env.ctx, kafka)?;
    let p = make_plan(&spec, &declared, opts).await?;
    let _ = writeln!(out, "{}", header(&spec, &env.ctx));
    let _ = write!(out, "{}", p.render());
    if !p.refusals.is_empty() {
        return Err("error: the plan has refused changes; nothing applied".into());
    }
    if p.changes.is_empty() {
        return Ok(IN_SYNC);
    }
    if !yes {
        let deletes = p
            .changes
            .iter()
            .filter(|c| matches!(c, Change::Delete { .. }))
            .count();
        let (word, what) = if env.ctx.spec.production {
            (
                env.ctx.name.clone(),
                format!("context {} is production: type its name", env.ctx.name),
            )
        } else if deletes > 0 {
            (
                "delete".to_string(),
                format!("{deletes} topics and their data will be deleted: type delete"),
            )
        } else {
            ("yes".to_string(), "type yes".to_string())
        };
        let _ = write!(
            out,
            "\nApply {} changes to kafka {}? {what} to confirm: ",
            p.changes.len(),
            spec.name
        );
        let _ = out.flush();
        // A one-shot CLI: nothing else runs on this runtime while it waits for the person.
        let mut line = String::new();
        input
            .read_line(&mut line)
            .map_err(|e| format!("error: reading the confirmation: {e}"))?;
        if line.trim() != word {
            // Nothing broke: the changes are still pending, as `plan` would say.
            let _ = writeln!(out, "\naborted: confirmation not given; nothing applied");
            return Ok(PENDING);
        }
    }
    for change in &p.changes {
        let cmd = Command {
            kind: SourceKind::Kafka,
            source: spec.name.clone(),
            target: change.topic().to_string(),
            op: Op::Kafka(change.op()),
            risk: change.risk(),
            impact: None,
        };
        let result = actions::execute(&cmd, &env.ctx.spec, env.action_timeout).await;
        let (outcome, msg) = match &result {
            Ok(m) => ("ok", m.clone()),
            Err(e) => ("error", e.clone()),
        };
        audit::append(
            &env.audit_log,
            &audit::AuditEntry::new(&env.ctx.name, &cmd, outcome, &msg),
        )
        .map_err(|e| {
            format!(
                "error: cannot write the audit log {}: {e}; stopped after: {}",
                env.audit_log.display(),
                cmd.describe()
            )
        })?;
        match result {
            Ok(m) => {
                let _ = writeln!(out, "ok: {m}");
            }
            Err(e) => {
                return Err(format!(
                    "error: {} failed: {e}\n  stopped; the changes before it were applied (see the audit log {})",
                    cmd.describe(),
                    env.audit_log.display()
                ));
            }
        }
    }
    // Metadata and configs reach every broker shortly after the controller accepts them:
    // re-read until the plan is empty, so "applied" means "the cluster now says so".
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let again = make_plan(&spec, &declared, opts).await;
        match again {
            Ok(p2) if p2.is_empty() => {
                let _ = writeln!(
                    out,
                    "Applied {} changes; the cluster matches the files.",
                    p.changes.len()
                );
                return Ok(IN_SYNC);
            }
            Ok(p2) if Instant::now() >= deadline => {
                return Err(format!(
                    "error: applied, but the cluster does not match the files yet:\n{}",
                    p2.render()
                ));
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(format!(
                    "error: applied, but re-reading the cluster failed: {e}"
                ));
            }
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// `apply` in read-only mode: the plan is read (reading is allowed) so that each change it
/// would make is written to the audit log as refused, like a refused key in the console;
/// nothing is changed.
async fn refuse_readonly(
    env: &Env,
    kafka: Option<&str>,
    paths: &[PathBuf],
    opts: &Options,
    out: &mut impl Write,
) -> Result<u8, String> {
    let why = actions::refuse_readonly(&env.ctx.name, env.cli_readonly);
    let planned = async {
        let declared = load(paths)?;
        let spec = pick_kafka(&env.ctx, kafka)?;
        let p = make_plan(&spec, &declared, opts).await?;
        Ok::<_, String>((spec, p))
    }
    .await;
    let (spec, p) = match planned {
        Ok(sp) => sp,
        Err(e) => return Err(format!("error: {why}; nothing applied\n{e}")),
    };
    let _ = writeln!(out, "{}", header(&spec, &env.ctx));
    let _ = write!(out, "{}", p.render());
    for change in &p.changes {
        let cmd = Command {
            kind: SourceKind::Kafka,
            source: spec.name.clone(),
            target: change.topic().to_string(),
            op: Op::Kafka(change.op()),
            risk: change.risk(),
            impact: None,
        };
        audit::append(
            &env.audit_log,
            &audit::AuditEntry::new(&env.ctx.name, &cmd, "refused", &why),
        )
        .map_err(|e| {
            format!(
                "error: {why}; nothing applied\nerror: cannot write the audit log {}: {e}",
                env.audit_log.display()
            )
        })?;
    }
    Err(format!("error: {why}; nothing applied"))
}

/// `topics export`: the cluster's non-internal topics (under `prefix`) as TOML, to `output`
/// (one `<topic>.toml` per topic) or, without it, to `out` as one document.
pub async fn run_export(
    env: &Env,
    kafka: Option<&str>,
    prefix: Option<&str>,
    output: Option<&Path>,
    force: bool,
    out: &mut impl Write,
) -> Result<u8, String> {
    let spec = pick_kafka(&env.ctx, kafka)?;
    let wanted =
        |t: &str| !cluster::Observed::is_internal(t) && prefix.is_none_or(|p| t.starts_with(p));
    let observed = cluster::read(&spec, wanted).await.map_err(unreachable)?;
    let topics: Vec<_> = observed.values().filter(|t| wanted(&t.name)).collect();
    if let Some(t) = topics.iter().find(|t| t.error.is_some()) {
        return Err(format!(
            "error: the cluster reports {} for topic {}; nothing exported\n  hint: export again when the topic is healthy (e.g. after its leader election)",
            t.error.as_deref().unwrap_or_default(),
            t.name
        ));
    }
    let header = format!(
        "Exported by `opsdeck topics export` from {}.\nOnly configs set on the topic are listed; the others are the broker's defaults.",
        header(&spec, &env.ctx)
    );
    match output {
        None => {
            let _ = write!(out, "{}", export::render(topics, &header)?);
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("error: {}: {e}", dir.display()))?;
            let files: Vec<PathBuf> = topics
                .iter()
                .map(|t| dir.join(format!("{}.toml", t.name)))
                .collect();
            if !force && let Some(f) = files.iter().find(|f| f.exists()) {
                return Err(format!(
                    "error: {} already exists; nothing written\n  hint: pass --force to overwrite, or export to an empty directory",
                    f.display()
                ));
            }
            for (t, f) in topics.iter().zip(&files) {
                std::fs::write(f, export::render([*t], &header)?)
                    .map_err(|e| format!("error: {}: {e}", f.display()))?;
            }
            let _ = writeln!(
                out,
                "wrote {} topic files to {}",
                files.len(),
                dir.display()
            );
        }
    }
    Ok(IN_SYNC)
}
