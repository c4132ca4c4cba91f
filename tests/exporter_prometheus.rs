//! `opsdeck exporter` scraped by a real Prometheus, pointed at the harness's Kafka,
//! PostgreSQL and Redis: Prometheus's HTTP API finds the group's lag in seconds, the blocking
//! count and Redis's memory ratio with their labels; the rules of `opsdeck rules export`
//! pass `promtool check rules`, load in that Prometheus, and the stalled-group rule fires
//! there for a group that stopped committing. Passwords appear nowhere in a scrape; SIGTERM
//! stops the exporter cleanly; a busy or bad `--listen` exits 2 saying what to do.

#[path = "kafka_common/mod.rs"]
mod common;
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::{Connection, Executor};
use support::alertmanager::http;
use support::process::{TestDir, die_with_parent, free_port};
use support::prometheus::promtool;
use support::{Postgres, Prometheus, Redis, shared_kafka, unique_name, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const PG_PASSWORD: &str = "pg-Secret-4711";
const REDIS_WRONG_PASSWORD: &str = "redis-Wrong-0815";

/// The exporter as a child of this test: killed and reaped however the test ends.
struct Exporter {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Exporter {
    fn start(config: &Path, dir: &Path) -> Exporter {
        let port = free_port();
        let log = dir.join("exporter.out");
        let out = std::fs::File::create(&log).expect("exporter log");
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(config)
            .arg("--log-file")
            .arg(dir.join("opsdeck.log"))
            .args(["exporter", "--listen", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out);
        die_with_parent(&mut cmd);
        let child = cmd.spawn().expect("start opsdeck exporter");
        let mut e = Exporter { child, port, log };
        wait_until("the exporter's /healthz", Duration::from_secs(30), || {
            if let Ok(Some(status)) = e.child.try_wait() {
                panic!("exporter exited with {status}: {}", e.output());
            }
            matches!(http(port, "GET", "/healthz", ""), Ok((200, _))).then_some(())
        });
        e
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn scrape(&self) -> String {
        let (status, body) = http(self.port, "GET", "/metrics", "").expect("scrape");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// SIGTERM, then the exit status (SIGKILL after 10 s counts as a failure).
    fn terminate(&mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        wait_until(
            "the exporter to exit on SIGTERM",
            Duration::from_secs(10),
            || self.child.try_wait().ok().flatten(),
        )
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A producer writing to `topic` until dropped: the group's lag grows while it commits
/// nothing.
struct Producing(Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>);

impl Producing {
    fn start(bootstrap: String, topic: String) -> Producing {
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let t = std::thread::spawn(move || {
            // Bounded: at most five minutes of records.
            for _ in 0..1000 {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                common::produce(&bootstrap, &topic, 0, 1);
                std::thread::sleep(Duration::from_millis(300));
            }
        });
        Producing(stop, Some(t))
    }
}

impl Drop for Producing {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        if let Some(t) = self.1.take() {
            let _ = t.join();
        }
    }
}

/// The `# TYPE` names of a scrape, with counters' `_total` put back as served.
fn served_families(body: &str) -> BTreeSet<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (name, ty) = (f.next()?, f.next()?);
            Some(match ty {
                "counter" if !name.ends_with("_total") => format!("{name}_total"),
                "info" => format!("{name}_info"),
                _ => name.to_string(),
            })
        })
        .collect()
}

fn one(samples: &[serde_json::Value], what: &str) -> serde_json::Value {
    assert_eq!(samples.len(), 1, "{what}: {samples:#?}");
    samples[0].clone()
}

fn value(sample: &serde_json::Value) -> f64 {
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no value in {sample}"))
}

#[test]
fn prometheus_scrapes_the_exporter_and_fires_the_exported_rules() {
    let kafka = shared_kafka();
    let pg = Postgres::start();
    let redis = Redis::start_with(&[("maxmemory", "64mb")]);
    let dir = TestDir::new("exporter");

    // Kafka: a group that read everything, then stopped while records keep coming.
    let b = kafka.bootstrap();
    let topic = unique_name("payments");
    let group = unique_name("ledger");
    kafka.create_topic(&topic, 1);
    common::produce(&b, &topic, 0, 5);
    common::consume_and_commit(&b, &group, &topic, 0, 5);
    let _producing = Producing::start(b.clone(), topic.clone());

    // PostgreSQL: one session holds a row lock, another waits for it.
    let db = pg.create_database("exp");
    pg.psql_db(
        &db,
        "create table t (id int primary key, v int); insert into t values (1, 0)",
    );
    let pw_url = pg.create_password_user("exp_reader", PG_PASSWORD);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut holder = rt
        .block_on(sqlx::PgConnection::connect(&pg.url_for(&db)))
        .expect("holder connects");
    rt.block_on(holder.execute("begin; update t set v = 1 where id = 1"))
        .expect("holder locks");
    let waiter_url = pg.url_for(&db);
    let waiter = rt.spawn(async move {
        let mut c = sqlx::PgConnection::connect(&waiter_url)
            .await
            .expect("waiter");
        let _ = c.execute("update t set v = 2 where id = 1").await;
    });

    redis.cli(&["SET", "k", &"x".repeat(100_000)]);
    // A second Redis that only lets in a user whose password the config has wrong, so that
    // source fails (the default user, which needs none, is switched off last).
    let locked = Redis::start();
    locked.cli(&[
        "ACL",
        "SETUSER",
        "exporter",
        "on",
        ">right-password",
        "~*",
        "+@all",
    ]);
    locked.cli(&["ACL", "SETUSER", "default", "off"]);

    let config = dir.path().join("opsdeck.toml");
    let pw_url_no_password = pw_url.replace(&format!(":{PG_PASSWORD}@"), "@");
    std::fs::write(
        &config,
        format!(
            r#"default_context = "t"
refresh = "1s"

[contexts.t]
host = false

[[contexts.t.kafka]]
name = "k"
brokers = "{b}"
stall_after = "2s"
groups = {{ include = ["^{group}$"] }}

[[contexts.t.postgres]]
name = "db"
url = "{pg_url}"

[[contexts.t.postgres]]
name = "db_pw"
url = "{pw_url_no_password}"
password = "{PG_PASSWORD}"

[[contexts.t.redis]]
name = "cache"
url = "{redis_url}"

[[contexts.t.redis]]
name = "cache_badpw"
url = "redis://exporter:{REDIS_WRONG_PASSWORD}@127.0.0.1:{redis_port}/"

[[alerts.rules]]
name = "payments lag"
source = "k"
metric = "kafka.group.lag_seconds"
op = ">"
threshold = 3600
for = "5m"
severity = "warning"
runbook = "https://runbooks.example/payments"
labels = {{ team = "payments" }}
"#,
            pg_url = pg.url_for(&db),
            redis_url = redis.url(),
            redis_port = locked.port(),
        ),
    )
    .expect("config");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");

    // The rules file: written by the binary, accepted by promtool.
    let rules = dir.path().join("opsdeck-rules.yml");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["rules", "export", "--format", "prometheus", "--output"])
        .arg(&rules)
        .output()
        .expect("rules export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = promtool(&["check", "rules", &rules.display().to_string()]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(check.status.success(), "promtool check rules:\n{said}");
    assert!(said.contains("SUCCESS"), "{said}");

    let mut exporter = Exporter::start(&config, dir.path());
    let prom = Prometheus::start(&[format!("127.0.0.1:{}", exporter.port)], &[rules]);

    // The target is up and scraped without error.
    wait_until("a successful scrape", Duration::from_secs(60), || {
        let t = prom.targets();
        (t.len() == 1 && t[0]["health"] == "up").then_some(())
    });
    assert_eq!(prom.targets()[0]["lastError"], "", "{:#?}", prom.targets());

    // Kafka: the group's lag in seconds, labelled with the source and the group.
    let lag = wait_until(
        "the group's lag in seconds",
        Duration::from_secs(90),
        || {
            let r = prom.query(&format!(
                "opsdeck_kafka_group_lag_seconds{{source=\"k\",group=\"{group}\"}}"
            ));
            (!r.is_empty()).then_some(r)
        },
    );
    let lag = one(&lag, "group lag seconds");
    assert_eq!(lag["metric"]["job"], "opsdeck");
    assert!(value(&lag) >= 0.0, "{lag}");
    let records = prom.query(&format!(
        "opsdeck_kafka_group_topic_lag{{source=\"k\",group=\"{group}\",topic=\"{topic}\"}}"
    ));
    assert!(value(&one(&records, "topic lag")) >= 1.0, "{records:?}");

    // PostgreSQL: one root blocker, one session waiting behind it, a wait being measured.
    let blocked = wait_until("the blocked session", Duration::from_secs(60), || {
        let r = prom.query("opsdeck_postgres_blocked_sessions{source=\"db\"} >= 1");
        (!r.is_empty()).then_some(r)
    });
    assert_eq!(value(&one(&blocked, "blocked")), 1.0);
    let blocking = prom.query("opsdeck_postgres_blocking_sessions{source=\"db\"}");
    assert_eq!(value(&one(&blocking, "blocking")), 1.0);
    let roots = prom.query("opsdeck_postgres_blocking_seconds{source=\"db\"}");
    assert!(
        one(&roots, "blocking seconds")["metric"]["subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("pid ")),
        "{roots:?}"
    );
    let usable = prom.query("opsdeck_postgres_usable_connections{source=\"db\"}");
    assert!(value(&one(&usable, "usable")) > 0.0);

    // Redis: memory over maxmemory for its one node.
    let ratio = prom.query("opsdeck_redis_memory_ratio{source=\"cache\"}");
    let ratio = one(&ratio, "redis memory ratio");
    assert_eq!(
        ratio["metric"]["node"],
        format!("127.0.0.1:{}", redis.port()),
        "{ratio}"
    );
    let r = value(&ratio);
    assert!(r > 0.0 && r < 1.0, "{ratio}");
    let max = prom.query("opsdeck_redis_maxmemory_bytes{source=\"cache\"}");
    assert_eq!(value(&one(&max, "maxmemory")), 64.0 * 1024.0 * 1024.0);

    // The exported rule over a stopped group fires in Prometheus.
    let fired = wait_until(
        "kafka_group_stalled firing",
        Duration::from_secs(90),
        || {
            let r = prom.query(&format!(
            "ALERTS{{alertname=\"kafka_group_stalled\",alertstate=\"firing\",group=\"{group}\"}}"
        ));
            (!r.is_empty()).then_some(r)
        },
    );
    let fired = one(&fired, "stalled alert");
    assert_eq!(fired["metric"]["severity"], "critical", "{fired}");
    assert_eq!(fired["metric"]["source"], "k", "{fired}");
    let status = prom.query(&format!(
        "opsdeck_kafka_group_status{{group=\"{group}\"}} == 1"
    ));
    let status = one(&status, "group status");
    assert!(
        ["STOP", "STALL"].contains(&status["metric"]["status"].as_str().unwrap_or("")),
        "{status}"
    );
    // Every exported rule loaded and evaluates without error.
    let groups = prom.rule_groups();
    let loaded: Vec<&serde_json::Value> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    assert!(loaded.len() > 30, "{groups:#?}");
    for r in &loaded {
        assert_ne!(r["health"], "err", "{r:#}");
    }
    let user = loaded
        .iter()
        .find(|r| r["name"] == "payments_lag")
        .expect("user rule loaded");
    assert_eq!(user["labels"]["team"], "payments");
    assert_eq!(
        user["annotations"]["runbook_url"],
        "https://runbooks.example/payments"
    );
    assert_eq!(user["duration"], 300.0);

    // The exporter's own view agrees: the same alert from opsdeck's rules.
    let body = exporter.scrape();
    assert!(
        body.lines().any(|l| l.starts_with("opsdeck_alert{")
            && l.contains("rule=\"kafka_group_stalled\"")
            && l.contains(&format!("subject=\"{group}\""))),
        "{body}"
    );

    // A source that fails: up 0 and its error, never a failed scrape, never the password.
    assert!(
        body.contains("opsdeck_source_up{kind=\"redis\",source=\"cache_badpw\"} 0"),
        "{body}"
    );
    let err_line = body
        .lines()
        .find(|l| l.starts_with("opsdeck_source_error_info{kind=\"redis\",source=\"cache_badpw\""))
        .unwrap_or_else(|| panic!("no error info for cache_badpw:\n{body}"));
    assert!(err_line.contains("error=\""), "{err_line}");
    assert!(
        body.contains("opsdeck_source_up{kind=\"postgres\",source=\"db_pw\"} 1"),
        "the password source connects: {body}"
    );
    let in_prom = format!("{:?}", prom.query("{__name__=~\"opsdeck_.+\"}"));
    for secret in [PG_PASSWORD, REDIS_WRONG_PASSWORD] {
        assert!(!body.contains(secret), "{secret} in the scrape:\n{body}");
        assert!(!in_prom.contains(secret), "{secret} stored in Prometheus");
    }

    // Every family served is documented (the docs test checks the page against the
    // catalogue; this checks the catalogue against a real scrape).
    let known: BTreeSet<String> = opsdeck_core::exporter::catalogue()
        .into_iter()
        .map(|d| d.name)
        .collect();
    let served = served_families(&body);
    assert!(served.len() > 20, "{served:?}");
    let unknown: Vec<&String> = served.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "served but not in the catalogue: {unknown:?}"
    );

    // What a scrape costs, for the record (never asserted: the machine is shared).
    for m in ["scrape_duration_seconds", "scrape_samples_scraped"] {
        let v = prom.query(&format!("{m}{{job=\"opsdeck\"}}"));
        eprintln!("{m}: {}", v.first().map(value).unwrap_or(f64::NAN));
    }
    eprintln!("scrape body: {} bytes", body.len());

    // SIGTERM: a clean stop.
    let status = exporter.terminate();
    assert!(status.success(), "exit {status}: {}", exporter.output());

    waiter.abort();
    drop(holder);
}

#[test]
fn a_busy_or_bad_listen_address_exits_2_saying_what_to_do() {
    let dir = TestDir::new("exporter");
    let config = dir.path().join("opsdeck.toml");
    std::fs::write(
        &config,
        "default_context = \"t\"\n[contexts.t]\nhost = false\n",
    )
    .expect("config");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr").to_string();
    for (listen, says) in [
        (addr.as_str(), "something already listens on"),
        ("localhost-9464", "is not an address"),
    ] {
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .arg("--log-file")
            .arg(dir.path().join("opsdeck.log"))
            .args(["exporter", "--listen", listen])
            .output()
            .expect("run exporter");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{listen}: {err}");
        assert!(
            err.contains(says) && err.contains("hint:"),
            "{listen}: {err}"
        );
    }
}

#[test]
fn the_rules_of_the_example_config_pass_promtool() {
    let dir = TestDir::new("exporter");
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let config = dir.path().join("opsdeck.toml");
    std::fs::copy(&example, &config).expect("copy the example");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["rules", "export", "--format", "prometheus"])
        .output()
        .expect("rules export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, &out.stdout).expect("rules file");
    let check = promtool(&["check", "rules", &rules.display().to_string()]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(check.status.success(), "promtool check rules:\n{said}");
    // Every enabled rule is there, built-in and user ones.
    let text = String::from_utf8_lossy(&out.stdout);
    let n = text.matches("- alert: ").count();
    assert!(n > 30, "{n} rules:\n{text}");
    assert!(
        said.contains(&format!("SUCCESS: {n} rules found")),
        "{said}"
    );
}
