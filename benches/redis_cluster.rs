//! Benchmark helper (not a test): holds a Redis Cluster started by the test harness for
//! `scripts/bench-scale redis`, which measures the console against it. BENCH_MASTERS
//! masters (default 15) with BENCH_REPLICAS replicas each (default 1). Prints one line,
//! `cluster <port> <port> ...`, once every node says `cluster_state:ok` and knows every
//! other node, then keeps the cluster until its standard input closes; the servers stop
//! when it returns or dies (the harness's parent-death signal). Run:
//! `cargo bench --bench redis_cluster` (the script does).

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::io::{Read, Write};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let masters = env_usize("BENCH_MASTERS", 15);
    let replicas = env_usize("BENCH_REPLICAS", 1);
    let cluster = support::RedisCluster::start_sized(masters, replicas);
    let ports: Vec<String> = cluster.ports().iter().map(u16::to_string).collect();
    let mut out = std::io::stdout();
    writeln!(out, "cluster {}", ports.join(" ")).expect("stdout");
    out.flush().expect("stdout");
    // Held until the script closes our input (its cleanup, also on error).
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(cluster);
}
