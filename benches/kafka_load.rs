//! Benchmark (not a test): what watching Kafka costs the broker. One harness broker logs
//! every request it completes (`kafka.request.logger` at DEBUG); the release console
//! (Kafka source only, 2 s refresh, 120x40 PTY through benches/idle.py) runs alone for a
//! window, then `kafka-consumer-groups --describe --all-groups` runs alone for the same
//! window, started every refresh (back to back when a run takes longer). The broker's log
//! says, per window and client id, the requests by API key and the broker's time on them
//! (sum of totalTimeMs); /proc says the broker's CPU over the window. Then both windows
//! again with the request log off (BENCH_UNLOGGED=0 skips them), for the broker's CPU
//! without the log's own cost, and 30 s of nobody watching.
//!
//! Run with `scripts/bench-kafka-load`. Sizes: BENCH_TOPICS (100) × BENCH_PARTS (10)
//! partitions, BENCH_GROUPS (1,000) each committed on BENCH_TOPICS_PER_GROUP (4) topics,
//! BENCH_MINUTES (2) per window. Prints markdown for benches/README.md.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

#[path = "common/cluster.rs"]
mod cluster;

#[path = "common/request_log.rs"]
mod request_log;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use request_log::{Request, Window};
use support::kafka::CONSUMER_GROUP_COMMAND;

const REFRESH: Duration = Duration::from_secs(2);
/// The Kafka tool's client id (its default, `adminclient-N`, says nothing in a log).
const TOOL_CLIENT_ID: &str = "kafka-consumer-groups";

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// User + system CPU of a process so far (clock ticks of 10 ms).
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("the broker (pid {pid}) is gone: {e}"));
    let f: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |x| x.1)
        .split_whitespace()
        .collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0);
    ticks * 1000.0 / 100.0
}

/// A window's time span and the broker's CPU over it.
struct Span {
    from_ms: u64,
    to_ms: u64,
    broker_cpu_ms: f64,
}

fn measure(pid: u32, f: impl FnOnce()) -> Span {
    let cpu0 = cpu_ms(pid);
    let from_ms = unix_ms();
    f();
    let to_ms = unix_ms();
    Span {
        from_ms,
        to_ms,
        broker_cpu_ms: cpu_ms(pid) - cpu0,
    }
}

/// The release console on this broker for `seconds` in a 120x40 PTY; panics saying why
/// when it did not run (no binary, no first frame, no request reached the broker).
fn run_console(root: &Path, dir: &Path, bootstrap: &str, seconds: f64) -> String {
    let binary = root.join("target/release/opsdeck");
    assert!(
        binary.exists(),
        "no release console at {}: run `cargo build --release --bin opsdeck` first",
        binary.display()
    );
    let config = dir.join("opsdeck.toml");
    cluster::write_console_config(&config, bootstrap);
    let log = dir.join("opsdeck.log");
    let out = Command::new("python3")
        .arg(root.join("benches/idle.py"))
        .args([
            "--seconds",
            &format!("{seconds}"),
            "--warm",
            "0",
            "--no-keys",
        ])
        .arg("--binary")
        .arg(&binary)
        .arg("--")
        .arg("--config")
        .arg(&config)
        .arg("--log-file")
        .arg(&log)
        .output()
        .unwrap_or_else(|e| panic!("could not run benches/idle.py (python3): {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() || !text.contains("first frame:") || text.contains("not seen") {
        panic!(
            "the console did not run ({}):\n{text}\n{}\nits log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    // The figures without idle.py's first line (the command line names this machine's paths).
    text.lines().skip(1).collect::<Vec<_>>().join("\n")
}

/// `kafka-consumer-groups --describe --all-groups` started every refresh for `seconds`
/// (the next at once when one takes longer); the run in progress at the end finishes.
/// Returns each run's wall time. Panics with the tool's output if a run fails.
fn run_tool_loop(bootstrap: &str, dir: &Path, seconds: f64, groups: usize) -> Vec<Duration> {
    let props = dir.join("tool.properties");
    std::fs::write(&props, format!("client.id={TOOL_CLIENT_ID}\n")).expect("write tool config");
    let props = props.display().to_string();
    let start = Instant::now();
    let mut runs = Vec::new();
    while start.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        let out = support::kafka::kafka_tool_ok(
            CONSUMER_GROUP_COMMAND,
            &[
                "--bootstrap-server",
                bootstrap,
                "--command-config",
                &props,
                "--describe",
                "--all-groups",
            ],
        );
        let took = t.elapsed();
        let seen: std::collections::HashSet<&str> = out
            .lines()
            .filter(|l| l.starts_with("bench_group_"))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(
            seen.len(),
            groups,
            "kafka-consumer-groups showed {} of the {groups} groups:\n{}",
            seen.len(),
            out.lines().take(20).collect::<Vec<_>>().join("\n")
        );
        runs.push(took);
        if let Some(rest) = REFRESH.checked_sub(took)
            && start.elapsed().as_secs_f64() + rest.as_secs_f64() < seconds
        {
            std::thread::sleep(rest);
        }
    }
    runs
}

fn main() {
    let shape = cluster::Shape {
        topics: env_num("BENCH_TOPICS", 100),
        parts: env_num("BENCH_PARTS", 10),
        groups: env_num("BENCH_GROUPS", 1000),
        topics_per_group: env_num("BENCH_TOPICS_PER_GROUP", 4),
        replication: 1,
    };
    let minutes: f64 = env_num("BENCH_MINUTES", 2.0);
    let seconds = minutes * 60.0;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));

    let kafka = support::Kafka::start_logging_requests();
    let b = kafka.bootstrap();
    let pid = kafka
        .pid()
        .unwrap_or_else(|| panic!("the broker exited after start:\n{}", kafka.log_tail(30)));
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(cluster::build(&b, &shape));
    let dir = support::TestDir::new("kafka-load");

    // Let the setup's last requests complete before the first window opens.
    std::thread::sleep(REFRESH);
    let mut console = String::new();
    let opsdeck = measure(pid, || {
        console = run_console(&root, dir.path(), &b, seconds);
    });
    std::thread::sleep(REFRESH);
    let mut runs = Vec::new();
    let tool = measure(pid, || {
        runs = run_tool_loop(&b, dir.path(), seconds, shape.groups);
    });

    let all = request_log::read(&kafka.request_log());
    let window = |s: &Span| -> Window {
        Window::new(
            all.iter()
                .filter(|r| r.at_ms >= s.from_ms && r.at_ms <= s.to_ms)
                .cloned()
                .collect::<Vec<Request>>(),
            (s.to_ms - s.from_ms) as f64 / 1000.0,
            s.broker_cpu_ms,
        )
    };
    let (w_ops, w_tool) = (window(&opsdeck), window(&tool));
    let ops_clients = w_ops.client_ids();
    let tool_clients = w_tool.client_ids();
    assert!(
        w_ops.total() > 0,
        "no request from the console reached the broker in its window:\n{console}"
    );
    assert!(
        tool_clients.iter().any(|c| c == TOOL_CLIENT_ID),
        "no request from kafka-consumer-groups ({TOOL_CLIENT_ID}) in its window; the broker \
         logged client ids {tool_clients:?}"
    );

    let date = chrono::Local::now().format("%Y-%m-%d");
    let profile = if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut md = format!(
        "`scripts/bench-kafka-load` ({date}, release console, bench harness built {profile}, \
         {cpus}-core VM shared with other builds): one harness broker (Kafka 4.1, KRaft), \
         {} topics × {} = {} partitions, {} groups each committed on {} topics = {} \
         group-partition lags; each tool alone for {:.0} s at a 2 s refresh.\n\n",
        shape.topics,
        shape.parts,
        shape.partitions(),
        shape.groups,
        shape.topics_per_group,
        shape.group_partitions(),
        seconds,
    );
    let runs_per_min = runs.len() as f64 * 60.0 / w_tool.seconds;
    let median = {
        let mut r = runs.clone();
        r.sort();
        r.get(r.len() / 2).copied().unwrap_or_default()
    };
    md += &request_log::table(&[
        (
            format!(
                "**opsdeck** (client ids {})",
                ops_clients
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &w_ops,
            w_ops.seconds / REFRESH.as_secs_f64(),
        ),
        (
            format!(
                "`kafka-consumer-groups --describe --all-groups` ({} runs, {runs_per_min:.1}/min; client ids {})",
                runs.len(),
                tool_clients
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &w_tool,
            runs.len() as f64,
        ),
    ]);
    md += &format!(
        "\nThe tool's runs took {:.1} s each (median; {}), so \"every refresh\" was {}.\n",
        median.as_secs_f64(),
        runs.iter()
            .map(|d| format!("{:.1}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", "),
        if median > REFRESH {
            "back to back"
        } else {
            "every 2 s"
        },
    );
    md += &request_log::polls(&w_ops);
    md += &format!(
        "\nThe console in its window (benches/idle.py, no keys pressed):\n\n    {}\n",
        console.replace('\n', "\n    ")
    );
    // Printed now: the windows below add only the broker's CPU without the log.
    print!("{md}");
    // The same again with the request log off: the broker's CPU without the log's own cost
    // (it renders every request and response as JSON), and with nobody watching.
    let unlogged = (env_num("BENCH_UNLOGGED", 1) != 0).then(|| {
        kafka.log_requests(false);
        let log = kafka.request_log();
        let size = || std::fs::metadata(&log).map_or(0, |m| m.len());
        // The broker re-reads its log config every second; a request now must not be logged.
        std::thread::sleep(REFRESH * 2);
        let before = size();
        support::kafka::broker_ids(&b).unwrap_or_else(|e| panic!("broker: {e}"));
        std::thread::sleep(REFRESH);
        assert_eq!(
            size(),
            before,
            "the broker still logs requests after its log config was rewritten"
        );
        let idle = measure(pid, || std::thread::sleep(Duration::from_secs(30)));
        let ops = measure(pid, || {
            run_console(&root, dir.path(), &b, seconds);
        });
        std::thread::sleep(REFRESH);
        let tool = measure(pid, || {
            run_tool_loop(&b, dir.path(), seconds, shape.groups);
        });
        assert_eq!(size(), before, "requests were logged with the log off");
        (idle, ops, tool)
    });

    if let Some((idle, ops, tool)) = &unlogged {
        let per_min = |s: &Span| s.broker_cpu_ms * 60_000.0 / (s.to_ms - s.from_ms) as f64;
        print!(
            "\nBroker process CPU with the request log off (same windows again): idle broker \
             {:.0} ms/min, opsdeck {:.0} ms/min, `kafka-consumer-groups` {:.0} ms/min \
             (CPU is read in 10 ms ticks).\n",
            per_min(idle),
            per_min(ops),
            per_min(tool),
        );
    }
}
