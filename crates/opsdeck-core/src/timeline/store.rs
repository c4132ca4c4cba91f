//! The timeline on disk: `timeline.jsonl` in the data dir, one JSON event per line.
//!
//! Appends are one `write` on a file opened with `O_APPEND`, so consoles sharing the data
//! dir never interleave within a line. A line cut short (a crash mid-write, a full disk) is
//! skipped when reading, never fatal, and the next append starts on a line of its own. The
//! file is rewritten (temp file, rename) only when it outgrows its bounds by a tenth, under
//! an exclusive lock that appenders share.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};

use super::{MAX_AGE_DAYS, MAX_EVENTS, TimelineEvent};

pub fn file(data_dir: &Path) -> PathBuf {
    data_dir.join("timeline.jsonl")
}

fn lock_path(path: &Path) -> PathBuf {
    path.with_extension("jsonl.lock")
}

/// What reading the file found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Within the bounds, oldest first.
    pub events: Vec<TimelineEvent>,
    /// Lines that were not an event (a torn last line, a foreign line).
    pub skipped: usize,
    /// The file was rewritten to its bounds.
    pub compacted: bool,
}

/// Parses the file's text: every line that is an event, in time order, within the bounds.
pub fn parse(text: &str, now: DateTime<Utc>) -> (Vec<TimelineEvent>, usize, usize) {
    let cutoff = now - Duration::days(MAX_AGE_DAYS);
    let mut skipped = 0;
    let mut lines = 0;
    let mut events: Vec<TimelineEvent> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        lines += 1;
        match serde_json::from_str::<TimelineEvent>(line) {
            Ok(e) if e.at >= cutoff => events.push(e),
            Ok(_) => {}
            Err(_) => skipped += 1,
        }
    }
    events.sort_by_key(|e| e.at);
    let extra = events.len().saturating_sub(MAX_EVENTS);
    events.drain(..extra);
    (events, skipped, lines)
}

/// Reads the timeline; a missing file is an empty one. A file past its bounds by more than
/// a tenth is rewritten to them.
pub fn load(path: &Path, now: DateTime<Utc>) -> Result<Loaded, String> {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let (events, skipped, lines) = parse(&text, now);
    let mut compacted = false;
    if lines > events.len() + MAX_EVENTS / 10 {
        rewrite(path, &events)?;
        compacted = true;
    } else if !text.is_empty() && !text.ends_with('\n') {
        // A torn last line: end it, so the next append does not continue it.
        append_raw(path, b"\n")?;
    }
    Ok(Loaded {
        events,
        skipped,
        compacted,
    })
}

/// Appends events, as one write.
pub fn append(path: &Path, events: &[TimelineEvent]) -> Result<(), String> {
    if events.is_empty() {
        return Ok(());
    }
    let mut buf = Vec::new();
    for e in events {
        serde_json::to_writer(&mut buf, e).map_err(|e| e.to_string())?;
        buf.push(b'\n');
    }
    append_raw(path, &buf)
}

fn append_raw(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let at = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let lock = open_lock(path)?;
    let _held = Lock::take(&lock, libc::LOCK_SH).map_err(at)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(at)?;
    f.write_all(bytes).map_err(at)
}

/// Replaces the file with `events`: a temp file, synced, renamed over it.
fn rewrite(path: &Path, events: &[TimelineEvent]) -> Result<(), String> {
    let at = |e: std::io::Error| format!("{}: {e}", path.display());
    let lock = open_lock(path)?;
    let _held = Lock::take(&lock, libc::LOCK_EX).map_err(at)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".timeline.jsonl.{}", std::process::id()));
    let mut buf = Vec::new();
    for e in events {
        serde_json::to_writer(&mut buf, e).map_err(|e| e.to_string())?;
        buf.push(b'\n');
    }
    let mut f = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(&buf)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(at)
}

fn open_lock(path: &Path) -> Result<std::fs::File, String> {
    let p = lock_path(path);
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// A `flock` held until dropped.
struct Lock<'a>(&'a std::fs::File);

impl<'a> Lock<'a> {
    fn take(f: &'a std::fs::File, how: libc::c_int) -> std::io::Result<Lock<'a>> {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this process holds open for the lock's lifetime.
        if unsafe { libc::flock(f.as_raw_fd(), how) } == 0 {
            Ok(Lock(f))
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above; unlocking a held lock.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}
