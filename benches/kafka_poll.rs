//! Benchmark (not a test): one Kafka poll cycle with many partitions and consumer groups on
//! the harness's broker, against `kafka-consumer-groups --describe --all-groups` on the same
//! cluster. Run with `scripts/bench-kafka` (2,000 partitions, 500 groups; writes
//! benches/README-kafka.md) or `scripts/bench-kafka --large` (10,000 partitions, 1,000
//! groups; writes benches/README-kafka-10k.md). Sizes: BENCH_TOPICS (× 20 partitions),
//! BENCH_GROUPS. With BENCH_CONSOLE=1 (set by `--large`), the release console then runs
//! against the same cluster in a 120x40 PTY (benches/idle.py) for its RSS and idle cost.
//! With BENCH_HOLD=1 it builds the cluster, prints a console config for it and waits
//! (Ctrl-C ends it and the broker): to profile or compare consoles on it by hand.
//! BENCH_BROKERS=3 (`--three-brokers`) runs it all on the harness's three-node cluster
//! instead, its topics replicated three times (BENCH_REPLICATION sets it; `--large
//! --three-brokers` uses 1): leaders, group coordinators and so the requests of a poll
//! spread over three brokers.
//!
//! The poll is measured both ways in the same run: groups read by the batched requests
//! (`sources::kafka::wire`, the default) and by librdkafka's per-group requests (the
//! fallback). Requests per poll are counted, not derived: librdkafka's own protocol debug
//! log ("Sent XRequest") for its requests, the batched path's counter for its own.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

// Shared with kafka_load, which uses more of it.
#[path = "common/cluster.rs"]
#[allow(dead_code)]
mod cluster;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opsdeck::sources::Poller;
use opsdeck::sources::kafka::KafkaSpec;
use opsdeck::sources::kafka::{KafkaPoller, Windows, admin::Admin, client_config, wire};
use support::kafka::CONSUMER_GROUP_COMMAND;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const PARTS: i32 = 20;
/// Topics each group commits to (so 500 × 4 × 20 = 40,000 group-partition lags).
const TOPICS_PER_GROUP: usize = 4;
const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Requests librdkafka logged as sent ("Sent OffsetFetchRequest (v8, ...)" with
/// `debug=protocol`), by request name, while `on` is set.
#[derive(Clone, Default)]
struct Sent {
    on: Arc<std::sync::atomic::AtomicBool>,
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
}

struct Message(String);
impl tracing::field::Visit for Message {
    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        if f.name() == "message" {
            self.0 = format!("{v:?}");
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Sent {
    fn on_event(&self, e: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if !self.on.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let mut m = Message(String::new());
        e.record(&mut m);
        if let Some((_, rest)) = m.0.split_once("Sent ")
            && let Some(name) = rest.split_whitespace().next()
            && name.ends_with("Request")
        {
            *self
                .counts
                .lock()
                .expect("counts")
                .entry(name.trim_end_matches("Request").to_string())
                .or_default() += 1;
        }
    }
}

impl Sent {
    /// Requests of one poll of `poller` (its first poll, connection setup included, is
    /// done before): librdkafka's by name, plus the batched path's own.
    async fn count(&self, poller: &mut KafkaPoller) -> (BTreeMap<String, usize>, Option<usize>) {
        self.counts.lock().expect("counts").clear();
        self.on.store(true, std::sync::atomic::Ordering::Relaxed);
        poller.poll().await.expect("poll");
        self.on.store(false, std::sync::atomic::Ordering::Relaxed);
        (
            self.counts.lock().expect("counts").clone(),
            poller.batch_requests(),
        )
    }
}

fn requests_row(what: &str, (rd, wire): &(BTreeMap<String, usize>, Option<usize>)) -> String {
    let total: usize = rd.values().sum::<usize>() + wire.unwrap_or(0);
    let mut parts: Vec<String> = rd.iter().map(|(k, n)| format!("{n} {k}")).collect();
    if let Some(w) = wire {
        parts.push(format!(
            "{w} batched (ListOffsets EARLIEST, LATEST and read_committed LATEST per leader, DescribeGroups per coordinator and its OffsetFetch in up to 4 pieces)"
        ));
    }
    format!("| {what} | {total} | {} |\n", parts.join(", "))
}

async fn polls(poller: &mut KafkaPoller) -> (Duration, Duration, (usize, usize, usize)) {
    let mut polls = Vec::new();
    let mut first = Duration::ZERO;
    let mut shape = (0, 0, 0);
    for i in 0..=RUNS {
        let t = Instant::now();
        // On a loaded machine one admin call of a poll can miss its 5 s timeout: the poll is
        // tried again (as the console's next refresh would) and its time includes the miss.
        let mut tries = 0;
        let s = loop {
            match poller.poll().await {
                Ok(s) => break s,
                Err(e) if tries < 3 => {
                    tries += 1;
                    eprintln!("poll {i}: {e} (trying again)");
                }
                Err(e) => panic!("poll {i}: {e}"),
            }
        };
        let d = t.elapsed();
        let unread: Vec<_> = s
            .groups
            .iter()
            .filter_map(|g| Some((&g.name, g.error.as_ref()?)))
            .take(3)
            .collect();
        assert!(unread.is_empty(), "groups could not be read: {unread:?}");
        shape = (
            s.topics.iter().map(|t| t.partition_count).sum::<usize>(),
            s.groups.len(),
            s.groups.iter().map(|g| g.partitions.len()).sum::<usize>(),
        );
        if i == 0 {
            first = d;
        } else {
            polls.push(d);
        }
    }
    (first, median(polls), shape)
}

#[tokio::main]
async fn main() {
    let sent = Sent::default();
    // Before any client: rdkafka takes its log level from the `log` facade at creation.
    tracing_subscriber::registry().with(sent.clone()).init();
    let topics_n = env_usize("BENCH_TOPICS", 100);
    let groups_n = env_usize("BENCH_GROUPS", 500);
    let brokers = env_usize("BENCH_BROKERS", 1);
    // Kept alive for the run: dropping it stops the brokers.
    let (_kafka, b): (Box<dyn std::any::Any>, String) = match brokers {
        1 => {
            let k = support::Kafka::start();
            let b = k.bootstrap();
            (Box::new(k), b)
        }
        3 => {
            let c = support::kafka::KafkaCluster::start();
            let b = c.bootstrap();
            (Box::new(c), b)
        }
        n => panic!("BENCH_BROKERS={n}: the harness runs one broker or a cluster of three"),
    };
    let spec = KafkaSpec {
        name: "bench".into(),
        brokers: b.clone(),
        ..Default::default()
    };
    let built = cluster::Shape {
        topics: topics_n,
        parts: PARTS,
        groups: groups_n,
        topics_per_group: TOPICS_PER_GROUP,
        replication: env_usize("BENCH_REPLICATION", brokers) as i32,
    };
    cluster::build(&b, &built).await;
    if std::env::var_os("BENCH_HOLD").is_some() {
        let name = format!("opsdeck-hold-{}.toml", std::process::id());
        let config = std::env::temp_dir().join(name);
        cluster::write_console_config(&config, &b);
        println!(
            "holding the cluster: bootstrap {b}, console config {}; Ctrl-C ends",
            config.display()
        );
        let _ = tokio::signal::ctrl_c().await;
        let _ = std::fs::remove_file(&config);
        return;
    }

    // opsdeck, both ways: the first poll connects; the rest reuse the one long-lived client.
    let spec_for_phases = spec.clone();
    let mut poller = KafkaPoller::with_windows(spec.clone(), Windows::default());
    let (first, poll, shape) = polls(&mut poller).await;
    let mut per_group =
        KafkaPoller::with_windows(spec.clone(), Windows::default()).per_group_only();
    let (pg_first, pg_poll, pg_shape) = polls(&mut per_group).await;
    assert_eq!(shape, pg_shape, "both paths read the same cluster");

    let mut debug_spec = spec.clone();
    debug_spec
        .properties
        .insert("debug".into(), "protocol".into());
    let mut counted = KafkaPoller::with_windows(debug_spec.clone(), Windows::default());
    counted.poll().await.expect("poll");
    let batched_requests = sent.count(&mut counted).await;
    let mut counted = KafkaPoller::with_windows(debug_spec, Windows::default()).per_group_only();
    counted.poll().await.expect("poll");
    let per_group_requests = sent.count(&mut counted).await;
    drop(counted);

    // Where a poll's time goes: each phase of `collect` alone, on a fresh client.
    let phases = {
        let a = Admin::new(
            &futures::executor::block_on(client_config(&spec_for_phases)).expect("cfg"),
            Duration::from_secs(60),
        )
        .expect("admin");
        let mut out = Vec::new();
        let t = Instant::now();
        let md = a.metadata().expect("metadata");
        out.push(("metadata (connect included)", t.elapsed()));
        let parts: Vec<(String, i32)> = md
            .topics()
            .iter()
            .flat_map(|t| {
                t.partitions()
                    .iter()
                    .map(|p| (t.name().to_string(), p.id()))
            })
            .collect();
        let t = Instant::now();
        a.watermarks_and_stable(&parts).expect("watermarks");
        out.push((
            "ListOffsets earliest + latest + read_committed latest",
            t.elapsed(),
        ));
        let t = Instant::now();
        let names = a.list_groups().expect("groups");
        out.push(("ListConsumerGroups", t.elapsed()));
        let brokers: Vec<(i32, String, i32)> = md
            .brokers()
            .iter()
            .map(|b| (b.id(), b.host().to_string(), b.port()))
            .collect();
        let cfg = futures::executor::block_on(client_config(&spec_for_phases)).expect("cfg");
        let mut batch =
            wire::Batch::new(&wire::properties(&cfg), Duration::from_secs(60)).expect("batch");
        let led: Vec<(String, i32, i32)> = md
            .topics()
            .iter()
            .flat_map(|t| {
                t.partitions()
                    .iter()
                    .map(|p| (t.name().to_string(), p.id(), p.leader()))
            })
            .collect();
        let t = Instant::now();
        batch
            .watermarks_and_stable(&brokers, &led)
            .await
            .expect("batched watermarks");
        out.push((
            "batched ListOffsets earliest + latest + read_committed latest (connect included)",
            t.elapsed(),
        ));
        let t = Instant::now();
        batch.fetch(&brokers, &names).await.expect("batched fetch");
        out.push((
            "batched groups, first fetch (FindCoordinator included)",
            t.elapsed(),
        ));
        let t = Instant::now();
        batch.fetch(&brokers, &names).await.expect("batched fetch");
        out.push(("batched groups (DescribeGroups + OffsetFetch)", t.elapsed()));
        let t = Instant::now();
        a.describe_groups(&names).expect("describe");
        out.push(("DescribeConsumerGroups", t.elapsed()));
        let t = Instant::now();
        a.group_offsets(&names).expect("offsets");
        out.push(("ListConsumerGroupOffsets × groups, one client", t.elapsed()));
        let more: Vec<Admin> = (0..3)
            .map(|_| {
                Admin::new(
                    &futures::executor::block_on(client_config(&spec_for_phases)).expect("cfg"),
                    Duration::from_secs(60),
                )
                .expect("admin")
            })
            .collect();
        let all: Vec<&Admin> = std::iter::once(&a).chain(&more).collect();
        let t = Instant::now();
        Admin::group_offsets_on(&all, &names).expect("offsets");
        out.push((
            "ListConsumerGroupOffsets × groups, four clients",
            t.elapsed(),
        ));
        out.iter()
            .map(|(what, d)| format!("| {what} | {:.0} ms |\n", d.as_secs_f64() * 1e3))
            .collect::<String>()
    };

    let mut tool = Vec::new();
    let mut tool_rows = 0;
    for _ in 0..env_usize("BENCH_TOOL_RUNS", 2) {
        let t = Instant::now();
        let out = support::kafka::kafka_tool_ok(
            CONSUMER_GROUP_COMMAND,
            &["--bootstrap-server", &b, "--describe", "--all-groups"],
        );
        tool.push(t.elapsed());
        tool_rows = out
            .lines()
            .filter(|l| l.starts_with("bench_group_"))
            .count();
    }

    // The console itself against this cluster: RSS with every partition and group loaded,
    // and what a 2 s refresh of it costs (benches/idle.py, release binary, 120x40 PTY).
    let console = if std::env::var_os("BENCH_CONSOLE").is_some() {
        console_figures(&b)
    } else {
        String::new()
    };

    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let profile = if cfg!(debug_assertions) {
        "dev (unoptimised)"
    } else {
        "release"
    };
    let large = topics_n * PARTS as usize >= 10_000;
    // One flag and one file-name part per variant: `--large` / -10k, `--three-brokers` / -3brokers.
    let (large_flag, large_part) = if large {
        (" --large", "-10k")
    } else {
        ("", "")
    };
    let (brokers_flag, brokers_part) = if brokers == 3 {
        (" --three-brokers", "-3brokers")
    } else {
        ("", "")
    };
    let script = format!("scripts/bench-kafka{large_flag}{brokers_flag}");
    let file = format!("README-kafka{large_part}{brokers_part}.md");
    let brokers_text = if brokers == 3 {
        format!(
            "three local Kafka 4.1\n\
             brokers (the harness's cluster, each broker also a controller; {} per \
             partition)",
            if built.replication == 1 {
                "one replica".to_string()
            } else {
                format!("{} replicas", built.replication)
            }
        )
    } else {
        "one local Kafka 4.1\n\
         broker (harness)"
            .to_string()
    };
    let tool_ms = if tool.is_empty() {
        f64::NAN
    } else {
        median(tool).as_secs_f64() * 1e3
    };
    let date = chrono::Local::now().format("%Y-%m-%d");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (poll_ms, pg_ms) = (ms(poll), ms(pg_poll));
    let requests = requests_row("batched (default)", &batched_requests)
        + &requests_row("per-group (fallback)", &per_group_requests);
    let md = format!(
        "# Kafka poll benchmark\n\n\
         `{script}`, {date}, on a {cpus}-core VM (shared): {brokers_text}, build profile {profile}.\n\
         Cluster: {} partitions ({topics_n} topics × {PARTS}), {} consumer groups, {} group-partition lags.\n\n\
         | what | groups batched (default) | groups per group (fallback) |\n|---|---|---|\n\
         | opsdeck first poll (connect + metadata + watermarks + groups + offsets) | {:.0} ms | {:.0} ms |\n\
         | opsdeck poll cycle, same client, median of {RUNS} | {poll_ms:.0} ms | {pg_ms:.0} ms |\n\
         | `kafka-consumer-groups --describe --all-groups` ({tool_rows} rows), median of 2 | {tool_ms:.0} ms | |\n\
         | ratio to the tool | {:.1}x | {:.1}x |\n\n\
         Requests of one poll cycle (after the first), counted:\n\n\
         | path | requests | of which |\n|---|---|---|\n{requests}\n\
         One poll's phases, each alone on a fresh client:\n\n\
         | phase | time |\n|---|---|\n{phases}\n\
         A poll sends, on its own connections (no librdkafka client unless something falls back):\n\
         1 Metadata, 1 ListGroups per broker, per partition leader one\n\
         ListOffsets EARLIEST, one LATEST and one read_committed LATEST (last stable offsets) for all\n\
         its partitions, per group coordinator one\n\
         DescribeGroups for all its groups and their OffsetFetch in up to four pieces past 250 groups\n\
         (FindCoordinator only for groups whose coordinator is not known yet);\n\
         ListPartitionReassignments only every 10th poll or while one may run. The fallback sends librdkafka's ListOffsets (one request per\n\
         leader and end, but seconds of client time at this size), DescribeConsumerGroups (a\n\
         ConsumerGroupDescribe and a DescribeGroups per group) and one OffsetFetch per group instead.\n\
         Topic configs (DescribeConfigs, one call) and, for groups without members that lag, the\n\
         abandonment probes (ListOffsets by timestamp, on the batch's connections) are read on the\n\
         first poll and every 10th.\n\
         {console}\n\
         The VM is shared (2 cores, other builds running): expect ±30% between runs.\n",
        shape.0,
        shape.1,
        shape.2,
        ms(first),
        ms(pg_first),
        tool_ms / poll_ms.max(1.0),
        tool_ms / pg_ms.max(1.0),
    );
    print!("{md}");
    let path = format!("{}/benches/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::write(&path, md).expect("write the bench README");
}

/// Runs `benches/idle.py` on the release console with a config holding only this cluster.
fn console_figures(bootstrap: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    // OPSDECK_BIN: another build of the console (its figures then describe that build).
    let binary =
        std::env::var("OPSDECK_BIN").unwrap_or_else(|_| format!("{root}/target/release/opsdeck"));
    if !std::path::Path::new(&binary).exists() {
        return format!("\n(console figures skipped: build {binary} first)\n");
    }
    let dir = std::env::temp_dir().join(format!("opsdeck-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("opsdeck.toml");
    cluster::write_console_config(&config, bootstrap);
    let seconds = std::env::var("BENCH_CONSOLE_SECONDS").unwrap_or_else(|_| "60".into());
    let mut text = run_console(root, &binary, &config, &dir, &seconds, None);
    // The console limits glibc to two arenas; BENCH_CONSOLE_ARENAS=N runs it again with N
    // (glibc's default is eight per core) to show what that limit saves.
    if let Ok(n) = std::env::var("BENCH_CONSOLE_ARENAS") {
        text.push_str(&format!("\nThe same with MALLOC_ARENA_MAX={n}:\n\n"));
        text.push_str(&run_console(
            root,
            &binary,
            &config,
            &dir,
            &seconds,
            Some(&n),
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    format!(
        "\nThe release console on this cluster (Kafka source only, 2 s refresh, 120x40 PTY,\n\
         `benches/idle.py --warm 20 --seconds {seconds}`):\n\n{text}"
    )
}

/// One `benches/idle.py` run of the console, its figures indented (the command line left
/// out: it names this machine's paths).
fn run_console(
    root: &str,
    binary: &str,
    config: &std::path::Path,
    dir: &std::path::Path,
    seconds: &str,
    arenas: Option<&str>,
) -> String {
    let mut cmd = std::process::Command::new("python3");
    if let Some(n) = arenas {
        cmd.env("MALLOC_ARENA_MAX", n);
    }
    let out = cmd
        .arg(format!("{root}/benches/idle.py"))
        .args([
            "--seconds",
            seconds,
            "--warm",
            "20",
            "--binary",
            binary,
            "--",
        ])
        .arg("--config")
        .arg(config)
        .arg("--log-file")
        .arg(dir.join("opsdeck.log"))
        .output()
        .expect("run benches/idle.py");
    let text = String::from_utf8_lossy(&out.stdout);
    if text.lines().count() < 2 {
        // Say why rather than print nothing (idle.py's own error).
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        let why: String = tail.iter().rev().map(|l| format!("    {l}\n")).collect();
        return format!(
            "    (no figures: benches/idle.py exited {})\n{why}",
            out.status
        );
    }
    text.lines().skip(1).map(|l| format!("    {l}\n")).collect()
}
