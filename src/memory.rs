//! Process-wide allocator settings, applied once at startup before any thread exists.

/// glibc gives every thread that allocates under contention an arena of its own, up to eight
/// per core; tokio's workers and blocking threads and librdkafka's threads each keep one with
/// the memory freed in it. Two arenas keep the console's RSS nearer its live heap. A
/// `MALLOC_ARENA_MAX` set in the environment is left to glibc (it wins).
pub fn limit_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; called before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
