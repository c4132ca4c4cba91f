//! The four backup probes. Each fills a `BackupSample` and its verdict.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::BackupSpec;
use crate::sources::postgres::PostgresSpec;
use crate::sources::redis::RedisSpec;
use crate::sources::redis::parse_info;

use super::{BackupItem, BackupSample, Verdict};

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn age(at: i64, now: i64) -> u64 {
    (now - at).max(0) as u64
}

/// Shell-style glob: `*` any run, `?` one character.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

pub fn files(spec: &BackupSpec, s: &mut BackupSample) -> Result<(), String> {
    let dir = spec.dir.clone().ok_or("files backup needs dir")?;
    let pattern = spec.pattern.clone().unwrap_or_else(|| "*".into());
    let now = now_secs();
    let mut found: Vec<BackupItem> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().to_string();
            let meta = e.metadata().ok()?;
            if !meta.is_file() || !glob_match(&pattern, &name) {
                return None;
            }
            let at = meta
                .modified()
                .ok()?
                .duration_since(UNIX_EPOCH)
                .ok()?
                .as_secs() as i64;
            Some(BackupItem {
                label: name,
                kind: "file".into(),
                finished_at: Some(at),
                age_secs: Some(age(at, now)),
                size: Some(meta.len()),
                ..Default::default()
            })
        })
        .collect();
    found.sort_by(|a, b| {
        b.finished_at
            .cmp(&a.finished_at)
            .then(a.label.cmp(&b.label))
    });
    s.file_count = Some(found.len());
    s.newest_age_secs = found.first().and_then(|f| f.age_secs);
    if let (Some(new), Some(prev)) = (
        found.first().and_then(|f| f.size),
        found.get(1).and_then(|f| f.size),
    ) && prev > 0
        && new < prev
    {
        s.size_drop = Some(1.0 - new as f64 / prev as f64);
    }
    found.truncate(50);
    s.items = found;
    s.judge_age(&format!("file matching {pattern} in {dir}"));
    if s.verdict == Verdict::Fresh
        && let Some(drop) = s.size_drop
        && drop >= 0.5
    {
        s.verdict = Verdict::Stale;
        s.reason = format!(
            "newest file is {:.0}% smaller than the previous one",
            drop * 100.0
        );
    }
    Ok(())
}

async fn run_tool(program: &str, args: &[String], timeout: Duration) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    let out = tokio::time::timeout(timeout, cmd.output())
        .await
        .map_err(|_| format!("{program}: no answer within {}s", timeout.as_secs()))?
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.trim();
        let stdout = String::from_utf8_lossy(&out.stdout);
        return Err(format!(
            "{program} {} failed ({}): {}",
            args.first().cloned().unwrap_or_default(),
            out.status,
            if err.is_empty() { stdout.trim() } else { err }
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub async fn pgbackrest(spec: &BackupSpec, s: &mut BackupSample) -> Result<(), String> {
    let stanza = spec
        .stanza
        .clone()
        .ok_or("pgbackrest backup needs stanza")?;
    let mut args = Vec::new();
    if let Some(c) = &spec.pgbackrest_config {
        args.push(format!("--config={c}"));
    }
    args.extend([
        format!("--stanza={stanza}"),
        "--log-level-file=off".into(),
        "--log-level-console=error".into(),
        "--output=json".into(),
        "info".into(),
    ]);
    let text = run_tool("pgbackrest", &args, Duration::from_secs(10)).await?;
    pgbackrest_from_json(&text, &stanza, now_secs(), s)
}

/// Reads `pgbackrest info --output=json` for one stanza (pure: unit-tested).
pub fn pgbackrest_from_json(
    text: &str,
    stanza: &str,
    now: i64,
    s: &mut BackupSample,
) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("pgbackrest info: bad JSON: {e}"))?;
    let st = v
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == stanza))
        .ok_or_else(|| format!("pgbackrest info: no stanza {stanza:?}"))?;
    s.status_code = st["status"]["code"].as_i64();
    s.status_message = st["status"]["message"].as_str().map(str::to_string);
    s.running = st["status"]["lock"]["backup"]["held"]
        .as_bool()
        .unwrap_or(false);
    if let Some(a) = st["archive"].as_array().and_then(|a| a.last()) {
        s.wal_min = a["min"].as_str().map(str::to_string);
        s.wal_max = a["max"].as_str().map(str::to_string);
    }
    let mut items: Vec<BackupItem> = st["backup"]
        .as_array()
        .map(|b| {
            b.iter()
                .map(|b| {
                    let start = b["timestamp"]["start"].as_i64();
                    let stop = b["timestamp"]["stop"].as_i64();
                    BackupItem {
                        label: b["label"].as_str().unwrap_or("?").to_string(),
                        kind: b["type"].as_str().unwrap_or("?").to_string(),
                        finished_at: stop,
                        age_secs: stop.map(|t| age(t, now)),
                        duration_secs: start.zip(stop).map(|(a, b)| (b - a).max(0) as u64),
                        size: b["info"]["size"].as_u64(),
                        error: b["error"].as_bool().unwrap_or(false),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    items.reverse();
    s.newest_age_secs = items.iter().find(|i| !i.error).and_then(|i| i.age_secs);
    let code = s.status_code.unwrap_or(-1);
    let msg = s.status_message.clone().unwrap_or_default();
    if code != 0 && (!items.is_empty() || code != 2) {
        // 2 = "no valid backups": judged below as "no backup found".
        s.verdict = Verdict::Failed;
        s.reason = format!("stanza {stanza}: {msg} (status {code})");
    } else if let Some(bad) = items.first().filter(|i| i.error) {
        s.verdict = Verdict::Failed;
        s.reason = format!("latest backup {} has errors", bad.label);
    }
    s.items = items;
    if let Some(newest) = s.items.first().filter(|_| s.verdict != Verdict::Failed) {
        let label = format!("backup ({})", newest.kind);
        s.judge_age(&label);
    } else {
        s.judge_age("backup");
    }
    Ok(())
}

pub async fn pg_archiver(
    spec: &BackupSpec,
    pg: Option<&PostgresSpec>,
    s: &mut BackupSample,
) -> Result<(), String> {
    use sqlx::Connection;
    let name = spec
        .source
        .clone()
        .ok_or("pg_archiver backup needs source")?;
    let pg = pg.ok_or_else(|| format!("no postgres entry named {name:?} in this context"))?;
    let secret = pg.secret().resolve_async().await?;
    let opts = crate::sources::postgres::connect_options(pg, secret.as_ref())?;
    let scrub = |e: sqlx::Error| {
        let sec: Vec<&crate::secrets::Secret> = secret.iter().collect();
        crate::secrets::scrub(&e.to_string(), &sec)
    };
    let mut conn = sqlx::PgConnection::connect_with(&opts)
        .await
        .map_err(|e| format!("postgres {name}: {}", scrub(e)))?;
    let row: (
        Option<String>,
        Option<f64>,
        i64,
        Option<String>,
        bool,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT last_archived_wal, \
                    extract(epoch FROM now() - last_archived_time)::float8, \
                    failed_count, last_failed_wal, \
                    coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false), \
                    current_setting('archive_mode') \
             FROM pg_stat_archiver",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| format!("postgres {name}: {}", scrub(e)))?;
    let _ = conn.close().await;
    let (last, age_s, failed, last_failed, failing, mode) = row;
    s.last_archived_wal = last;
    s.newest_age_secs = age_s.map(|a| a.max(0.0) as u64);
    s.failed_count = Some(failed);
    s.last_failed_wal = last_failed.clone();
    s.failing = failing;
    if mode.as_deref() == Some("off") {
        s.verdict = Verdict::Failed;
        s.reason = "archive_mode is off".into();
    } else if failing {
        s.verdict = Verdict::Failed;
        s.reason = format!(
            "archiving failing: {} failed, last failed {}",
            failed,
            last_failed.unwrap_or_default()
        );
    } else {
        s.judge_age("archived WAL segment");
    }
    Ok(())
}

pub async fn redis(
    spec: &BackupSpec,
    r: Option<&RedisSpec>,
    s: &mut BackupSample,
) -> Result<(), String> {
    let name = spec.source.clone().ok_or("redis backup needs source")?;
    let r = r.ok_or_else(|| format!("no redis entry named {name:?} in this context"))?;
    let url = r
        .url
        .clone()
        .ok_or("redis persistence needs a standalone url")?;
    let secret = r.secret().resolve_async().await?;
    let info = crate::sources::redis::connection_info(&url, r.username.as_deref(), secret.as_ref())
        .map_err(|e| e.to_string())?;
    let addr = info.addr().to_string();
    let client = ::redis::Client::open(info).map_err(|e| e.to_string())?;
    let cfg = ::redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_response_timeout(Some(Duration::from_secs(5)));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&cfg)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    let text: String = ::redis::cmd("INFO")
        .arg("persistence")
        .query_async(&mut conn)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    redis_from_info(&text, now_secs(), s);
    Ok(())
}

/// Reads `INFO persistence` (pure: unit-tested).
pub fn redis_from_info(text: &str, now: i64, s: &mut BackupSample) {
    let i = parse_info(text);
    let get = |k: &str| i.get(k).map(|v| v.to_string());
    s.rdb_last_bgsave_status = get("rdb_last_bgsave_status");
    s.rdb_changes_since_last_save = get("rdb_changes_since_last_save").and_then(|v| v.parse().ok());
    s.aof_enabled = get("aof_enabled").map(|v| v == "1");
    s.aof_last_write_status = get("aof_last_write_status");
    s.aof_last_bgrewrite_status = get("aof_last_bgrewrite_status");
    s.running = get("rdb_bgsave_in_progress").as_deref() == Some("1");
    let last_save = get("rdb_last_save_time").and_then(|v| v.parse::<i64>().ok());
    s.newest_age_secs = last_save.map(|t| age(t, now));
    let bad = |v: &Option<String>| v.as_deref().is_some_and(|v| v != "ok");
    if bad(&s.rdb_last_bgsave_status) {
        s.verdict = Verdict::Failed;
        s.reason = format!(
            "rdb_last_bgsave_status:{} ({} changes not saved)",
            s.rdb_last_bgsave_status.as_deref().unwrap_or("?"),
            s.rdb_changes_since_last_save.unwrap_or(0)
        );
    } else if s.aof_enabled == Some(true)
        && (bad(&s.aof_last_write_status) || bad(&s.aof_last_bgrewrite_status))
    {
        s.verdict = Verdict::Failed;
        s.reason = format!(
            "aof_last_write_status:{} aof_last_bgrewrite_status:{}",
            s.aof_last_write_status.as_deref().unwrap_or("?"),
            s.aof_last_bgrewrite_status.as_deref().unwrap_or("?")
        );
    } else if s.rdb_changes_since_last_save == Some(0) {
        // Nothing unsaved: the last save is as fresh as it needs to be.
        s.verdict = Verdict::Fresh;
        s.reason = "no changes since the last save".into();
    } else {
        s.judge_age("RDB save");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.dump", "db-2026.dump"));
        assert!(glob_match("db-????.dump", "db-2026.dump"));
        assert!(!glob_match("*.dump", "db.dump.tmp"));
        assert!(glob_match("*", "x"));
    }

    #[test]
    fn pgbackrest_json() {
        let j = r#"[{"name":"main","status":{"code":0,"message":"ok","lock":{"backup":{"held":false}}},
          "archive":[{"min":"000000010000000000000001","max":"000000010000000000000009"}],
          "backup":[
            {"label":"F1","type":"full","timestamp":{"start":1000,"stop":1100},"info":{"size":5000},"error":false},
            {"label":"I1","type":"incr","timestamp":{"start":2000,"stop":2010},"info":{"size":6000},"error":false}]}]"#;
        let mut s = BackupSample {
            max_age_secs: Some(100),
            ..Default::default()
        };
        pgbackrest_from_json(j, "main", 2050, &mut s).unwrap();
        assert_eq!(s.verdict, Verdict::Fresh, "{}", s.reason);
        assert_eq!(s.items[0].label, "I1");
        assert_eq!(s.items[0].duration_secs, Some(10));
        assert_eq!(s.newest_age_secs, Some(40));
        assert_eq!(s.wal_max.as_deref(), Some("000000010000000000000009"));
        let mut s2 = BackupSample {
            max_age_secs: Some(10),
            ..Default::default()
        };
        pgbackrest_from_json(j, "main", 2050, &mut s2).unwrap();
        assert_eq!(s2.verdict, Verdict::Stale);
        let broken = j.replace(
            r#""code":0,"message":"ok""#,
            r#""code":1,"message":"missing stanza path""#,
        );
        let mut s3 = BackupSample::default();
        pgbackrest_from_json(&broken, "main", 2050, &mut s3).unwrap();
        assert_eq!(s3.verdict, Verdict::Failed);
        assert!(s3.reason.contains("missing stanza path"));
    }

    #[test]
    fn redis_failed_save() {
        let mut s = BackupSample::default();
        redis_from_info(
            "rdb_changes_since_last_save:3\r\nrdb_last_save_time:100\r\nrdb_last_bgsave_status:err\r\naof_enabled:0\r\n",
            200,
            &mut s,
        );
        assert_eq!(s.verdict, Verdict::Failed);
        assert_eq!(s.reason, "rdb_last_bgsave_status:err (3 changes not saved)");
    }
}
