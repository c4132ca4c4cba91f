//! Process-wide allocator settings, applied once at startup before any thread exists, and
//! the hand-back of freed memory after a poll's answer replaced the last one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

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

/// A trim is worth its system calls once the heap's free bytes moved this much since the
/// last one (a big poll's old sample freed); a small console's heap barely moves, and
/// trimming it again would only repeat the last trim's work.
const TRIM_WHEN_MOVED: usize = 1 << 20;

/// Decides when the heap is worth trimming (`due`), from glibc's count of free bytes, and
/// trims it on a blocking thread (`after_sample`).
#[derive(Debug, Default)]
pub struct Trimmer {
    free_after_last: AtomicUsize,
    running: AtomicBool,
}

impl Trimmer {
    /// True when the free bytes inside the heap moved by `TRIM_WHEN_MOVED` since the last
    /// `trimmed`. Counts the free chunks only: no system call.
    pub fn due(&self) -> bool {
        free_bytes().abs_diff(self.free_after_last.load(Relaxed)) >= TRIM_WHEN_MOVED
    }

    /// Notes the heap as a trim left it.
    pub fn trimmed(&self) {
        self.free_after_last.store(free_bytes(), Relaxed);
    }

    /// Called when a source's new sample replaced its old one, the moment a big poll's
    /// memory is freed: trims then, when due and no trim runs yet. Trimming on a timer
    /// instead let five 10k-partition polls' freed memory stay resident between trims
    /// (20 MB each), and the next poll's peak came on top of it.
    pub fn after_sample(self: &Arc<Self>) {
        if !self.due() || self.running.swap(true, Relaxed) {
            return;
        }
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            trim();
            me.trimmed();
            me.running.store(false, Relaxed);
        });
    }
}

/// Bytes free inside glibc's arenas (0 with another allocator).
pub fn free_bytes() -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallinfo2 only reads the allocator's statistics; it is thread-safe.
    unsafe {
        libc::mallinfo2().fordblks
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    0
}

/// Hands the free pages inside glibc's arenas back to the system (`malloc_trim`): after a
/// large poll the memory it freed stays in the process otherwise, counted in its RSS.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
