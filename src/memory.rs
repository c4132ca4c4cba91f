//! Process-wide allocator settings, applied once at startup before any thread exists, and
//! the periodic hand-back of freed memory.

use std::time::Duration;

/// glibc gives every thread that allocates under contention an arena of its own, up to eight
/// per core; tokio's workers and blocking threads and librdkafka's threads each keep one with
/// the memory freed in it. Two arenas keep the console's RSS nearer its live heap. A
/// `MALLOC_ARENA_MAX` set in the environment is left to glibc (it wins).
///
/// glibc also raises its mmap threshold each time a large block is freed, so a big poll's
/// answer (megabytes of offsets on a large Kafka cluster) is later carved out of the heap
/// and leaves it fragmented; a fixed threshold keeps large blocks in their own mappings,
/// returned to the system when freed. `MALLOC_MMAP_THRESHOLD_` in the environment wins.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; called before any other thread starts.
    unsafe {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        }
    }
}

/// How often freed memory inside the heap is handed back to the system.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Hands the free pages inside glibc's arenas back to the system (`malloc_trim`): after a
/// large poll the memory it freed stays in the process otherwise, counted in its RSS.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
