//! Process-wide allocator settings, applied once at startup before any thread exists.

/// glibc gives every thread that allocates under contention an arena of its own, up to eight
/// per core; tokio's workers and blocking threads, librdkafka's and sysinfo's threads each
/// leave one holding freed memory. Two arenas keep the console's RSS near its live heap (on
/// a 10k-partition Kafka source the freed arenas were most of the difference).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; called before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
