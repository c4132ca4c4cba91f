//! Real servers for integration tests: Apache Kafka (KRaft), PostgreSQL (+ streaming
//! replica), Redis (standalone, Sentinel, Cluster), MariaDB (+ GTID replica) and
//! pgBackRest, on free loopback ports with data in temp dirs. Use from an integration test
//! with `mod support;`. See tests/support/README.md.
#![allow(dead_code)]

pub mod alertmanager;
pub mod kafka;
pub mod mariadb;
pub mod pgbackrest;
pub mod postgres;
pub mod process;
pub mod prometheus;
pub mod redis;

#[allow(unused_imports)]
pub use alertmanager::Alertmanager;
#[allow(unused_imports)]
pub use kafka::{Kafka, KafkaCluster, shared_kafka};
#[allow(unused_imports)]
pub use mariadb::Mariadb;
#[allow(unused_imports)]
pub use pgbackrest::PgBackRest;
#[allow(unused_imports)]
pub use postgres::{Postgres, shared_postgres};
#[allow(unused_imports)]
pub use process::{ServerProcess, TestDir, free_port};
#[allow(unused_imports)]
pub use prometheus::Prometheus;
#[allow(unused_imports)]
pub use redis::{Redis, RedisCluster, RedisSentinel};

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A name unique within this machine run: `<prefix>_<pid>_<n>`, safe as a Kafka topic,
/// consumer group, PostgreSQL database/role or Redis key.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `f` every 100 ms until it returns Some, panicking with `what` after `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Path of a program, or a panic that says what is missing and how to get it.
pub fn require_program(name: &str, package: &str) -> std::path::PathBuf {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = std::path::Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "`{name}` not found (Debian package `{package}`). Run `scripts/test` once: it installs \
         every server the integration tests need."
    );
}
