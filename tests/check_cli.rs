//! `opsdeck check` as a user runs it: the real binary against real servers.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use support::{Redis, TestDir};

fn opsdeck(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env_remove("OPSDECK_CONFIG")
        .output()
        .expect("run opsdeck")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn config_for(dir: &Path, redis: &Redis) -> String {
    let path = dir.join("opsdeck.toml");
    std::fs::write(
        &path,
        format!(
            "default_context = \"t\"\n[contexts.t]\nhost = false\n[[contexts.t.redis]]\nname = \"cache\"\nurl = \"{}\"\n",
            redis.url()
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn check_follows_redis_down_and_back() {
    let dir = TestDir::new("check");
    let redis = Redis::start();
    let cfg = config_for(dir.path(), &redis);

    let up = opsdeck(dir.path(), &["--config", &cfg, "check"]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up));
    assert!(text(&up).contains("redis cache"), "{}", text(&up));

    let json = opsdeck(dir.path(), &["--config", &cfg, "check", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["sources"][0]["kind"], "redis");
    assert_eq!(v["sources"][0]["reachable"], true);

    redis.stop();
    let down = opsdeck(dir.path(), &["--config", &cfg, "check"]);
    assert_eq!(down.status.code(), Some(2), "{}", text(&down));
    let out = text(&down);
    assert!(
        out.contains("redis cache") && out.contains("critical"),
        "{out}"
    );
    assert!(!out.contains("panicked"), "{out}");

    // Not restarted: --wait gives up at the timeout with the failure.
    let gave_up = opsdeck(
        dir.path(),
        &["--config", &cfg, "check", "--wait", "--timeout", "3s"],
    );
    assert_eq!(gave_up.status.code(), Some(2), "{}", text(&gave_up));
    assert!(
        String::from_utf8_lossy(&gave_up.stderr).contains("redis cache"),
        "progress names the source: {}",
        text(&gave_up)
    );

    // Restarted while waiting: --wait returns 0.
    let child = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["--config", &cfg, "check", "--wait", "--timeout", "60s"])
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    redis.restart();
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", text(&done));
}

#[test]
fn no_config_checks_local_defaults_and_says_how_to_point_elsewhere() {
    let dir = TestDir::new("check-noconf");
    let o = opsdeck(dir.path(), &["check"]);
    let out = text(&o);
    let code = o.status.code().unwrap_or(-1);
    assert!((0..=3).contains(&code), "{code}: {out}");
    assert!(out.contains("no config file"), "{out}");
    assert!(
        out.contains("--config") && out.contains("opsdeck config init"),
        "{out}"
    );
    assert!(
        !out.contains("panicked") && !out.contains("backtrace"),
        "{out}"
    );
    // Default ports may be taken on a dev box: whatever is down is named, and makes it fail.
    if out.contains("not running") {
        assert!(code == 2 || code == 3, "{code}: {out}");
    } else {
        assert!(out.contains("every local default answered"), "{out}");
    }
}

#[test]
fn only_unknown_kind_is_refused() {
    let dir = TestDir::new("check-only");
    // A bad argument: 2, as for every bad input.
    let o = opsdeck(dir.path(), &["check", "--only", "kafak"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown source kind"), "{}", text(&o));
    assert!(o.stdout.is_empty(), "{}", text(&o));
}

#[test]
fn only_a_kind_the_defaults_lack_says_so_and_is_unknown() {
    let dir = TestDir::new("check-only-endpoint");
    let o = opsdeck(dir.path(), &["check", "--only", "endpoints"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(out.contains("UNKNOWN: nothing checked"), "{out}");
    assert!(!out.contains("every local default answered"), "{out}");
    assert!(out.contains("no source of the kinds asked for"), "{out}");
}

#[test]
fn snapshot_exits_0_with_the_verdict_inside() {
    let dir = TestDir::new("snapshot-exit");
    let redis = Redis::start();
    let cfg = config_for(dir.path(), &redis);
    let up = opsdeck(dir.path(), &["--config", &cfg, "snapshot"]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up));
    let v: serde_json::Value = serde_json::from_slice(&up.stdout).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["exit_code"].as_i64()),
        (Some("ok"), Some(0)),
        "{v}"
    );
    redis.stop();
    // Critical: the document says so, and the command still succeeded in writing it.
    let down = opsdeck(dir.path(), &["--config", &cfg, "snapshot"]);
    assert_eq!(down.status.code(), Some(0), "{}", text(&down));
    let v: serde_json::Value = serde_json::from_slice(&down.stdout).unwrap();
    assert_eq!(v["status"], "critical", "{v}");
    assert_eq!(v["exit_code"], 2, "{v}");
    // `check` is the one whose exit code is the verdict.
    let check = opsdeck(dir.path(), &["--config", &cfg, "check"]);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    // Bad input is 2 for snapshot too.
    let bad = opsdeck(
        dir.path(),
        &["--config", &cfg, "--context", "nope", "snapshot"],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(bad.stdout.is_empty());
}

#[test]
fn check_is_critical_when_a_sentinel_master_is_down_with_no_replica_to_promote() {
    let dir = TestDir::new("check-sentinel");
    let set = support::RedisSentinel::start();
    let cfg = dir.path().join("opsdeck.toml");
    let sentinels = set
        .sentinel_urls()
        .iter()
        .map(|u| format!("\"{u}\""))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        &cfg,
        format!(
            "default_context = \"t\"\n[contexts.t]\nhost = false\n[[contexts.t.redis]]\nname = \"cache\"\nsentinels = [{sentinels}]\nmaster = \"{}\"\n",
            set.master_name()
        ),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    let up = opsdeck(dir.path(), &["--config", &cfg, "check"]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up));
    // Both replicas first, so nothing can be promoted, then the master: the sentinels
    // still answer, the system cannot take writes.
    set.replicas[0].kill();
    set.replicas[1].kill();
    set.master.kill();
    let down = opsdeck(dir.path(), &["--config", &cfg, "check"]);
    let out = text(&down);
    assert_eq!(down.status.code(), Some(2), "{out}");
    assert!(out.contains("master down"), "{out}");
    assert!(out.contains("CRITICAL"), "{out}");
}
