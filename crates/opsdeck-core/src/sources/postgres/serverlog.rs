//! The PostgreSQL server log: its ERROR, FATAL and PANIC lines, counted by message, for the
//! Databases pane's Log tab, and the new FATAL and PANIC lines (and the ERRORs that mean
//! trouble: a deadlock, a failed write) for the timeline.
//!
//! Read on the slow schedule, only the part written since the last read: from a local file
//! or directory (`log_path`), else through the server (`pg_ls_logdir()` for the newest file,
//! `pg_read_binary_file` for its new bytes) where the role may. The first read takes the
//! file's last 256 KiB, marked as written before the console started. Lines are stderr
//! format (`log_line_prefix` starting with `%m` or `%t` gives each line its time) or jsonlog.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;
use sqlx::Row as _;
use sqlx::postgres::PgConnection;

use crate::views::{Cell, Column, Detail, Level, Row, Table};

/// The first read of a file takes this much of its end.
const FIRST_TAIL: u64 = 256 * 1024;
/// At most this much is read per slow poll (the rest at the next).
const MAX_READ: u64 = 1024 * 1024;
/// Lines and messages kept.
const MAX_LINES: usize = 200;
const MAX_MESSAGES: usize = 200;

/// What the console read of the server log.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ServerLog {
    /// `log_path` (a file on this machine) or `pg_read_binary_file` (through the server).
    pub via: String,
    /// The file being read.
    pub file: String,
    /// Why it cannot be read now, and what to do.
    pub error: Option<String>,
    /// ERROR, FATAL and PANIC lines by message (numbers replaced by N), worst then most
    /// frequent first.
    pub messages: Vec<LogMessage>,
    /// The latest such lines, oldest first.
    pub lines: Vec<LogLine>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LogMessage {
    /// `ERROR`, `FATAL` or `PANIC`.
    pub severity: String,
    /// The message with numbers replaced by N: what lines are counted by.
    pub message: String,
    pub count: u64,
    /// The latest line's time (Unix s) when the line gave one.
    pub last_at: Option<i64>,
    /// The latest line's message as written.
    pub example: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LogLine {
    /// Increases with every line read (the timeline takes the lines above the last seen).
    pub seq: u64,
    /// Unix seconds, when the line's prefix gives a time.
    pub at: Option<f64>,
    pub severity: String,
    pub message: String,
    /// Read from the file's tail on the first read: written before the console started.
    pub earlier: bool,
}

impl LogLine {
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.at
            .and_then(|s| DateTime::from_timestamp_millis((s * 1000.0) as i64))
    }
}

/// Messages that are trouble even as a plain ERROR.
const ALARMING: &[&str] = &[
    "deadlock detected",
    "could not write",
    "could not extend",
    "no space left",
    "out of memory",
    "too many connections",
    "too many clients",
    "could not fsync",
];

impl LogLine {
    /// Whether the timeline shows it: FATAL and PANIC, and alarming ERRORs.
    pub fn noteworthy(&self) -> bool {
        let m = self.message.to_ascii_lowercase();
        self.severity != "ERROR" || ALARMING.iter().any(|a| m.contains(a))
    }
}

/// One parsed line: severity, message, time.
pub fn parse_line(line: &str) -> Option<(String, String, Option<DateTime<Utc>>)> {
    let line = line.trim_end();
    if line.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        let sev = v.get("error_severity")?.as_str()?;
        if !matches!(sev, "ERROR" | "FATAL" | "PANIC") {
            return None;
        }
        let msg = v.get("message").and_then(|m| m.as_str()).unwrap_or("");
        let at = v
            .get("timestamp")
            .and_then(|t| t.as_str())
            .and_then(timestamp);
        return Some((sev.to_string(), msg.to_string(), at));
    }
    let (pos, sev) = ["ERROR:  ", "FATAL:  ", "PANIC:  "]
        .iter()
        .filter_map(|s| line.find(s).map(|p| (p, *s)))
        .min_by_key(|(p, _)| *p)?;
    let message = line[pos + sev.len()..].trim().to_string();
    Some((sev[..5].to_string(), message, timestamp(&line[..pos])))
}

/// The time at the start of a line prefix: `2026-11-25 03:12:00.123 UTC` (`%m`) or
/// `2026-11-25 03:12:00 UTC` (`%t`); a zone other than UTC/GMT is read as local time.
fn timestamp(prefix: &str) -> Option<DateTime<Utc>> {
    let prefix = prefix.trim_start();
    let (naive, rest) = [23usize, 19]
        .iter()
        .filter_map(|&n| {
            let head = prefix.get(..n)?;
            let fmt = if n == 23 {
                "%Y-%m-%d %H:%M:%S%.3f"
            } else {
                "%Y-%m-%d %H:%M:%S"
            };
            NaiveDateTime::parse_from_str(head, fmt)
                .ok()
                .map(|t| (t, &prefix[n..]))
        })
        .next()?;
    let zone = rest.split_whitespace().next().unwrap_or("");
    if matches!(zone, "UTC" | "GMT" | "Z") {
        Some(Utc.from_utc_datetime(&naive))
    } else {
        Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// Numbers replaced by N, so "process 4242 waits" and "process 17 waits" count together.
pub fn normalize(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_number = false;
    for c in message.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    crate::views::fmt::fit(&out, 200)
}

fn sev_rank(s: &str) -> u8 {
    match s {
        "PANIC" => 3,
        "FATAL" => 2,
        _ => 1,
    }
}

/// Where the log is read from and what was read of it, between polls.
#[derive(Debug, Default)]
pub struct Reader {
    /// `log_path`: a file, or a directory whose newest file is read.
    pub path: Option<PathBuf>,
    file: String,
    offset: u64,
    started: bool,
    seq: u64,
    lines: VecDeque<LogLine>,
    messages: BTreeMap<(String, String), LogMessage>,
    error: Option<String>,
}

impl Reader {
    pub fn new(path: Option<PathBuf>) -> Reader {
        Reader {
            path,
            ..Default::default()
        }
    }

    /// What the sample shows.
    pub fn view(&self) -> Option<ServerLog> {
        if !self.started && self.error.is_none() {
            return None;
        }
        let mut messages: Vec<LogMessage> = self.messages.values().cloned().collect();
        messages.sort_by(|a, b| {
            sev_rank(&b.severity)
                .cmp(&sev_rank(&a.severity))
                .then(b.count.cmp(&a.count))
                .then(b.last_at.cmp(&a.last_at))
        });
        Some(ServerLog {
            via: if self.path.is_some() {
                "log_path".into()
            } else {
                "pg_read_binary_file".into()
            },
            file: self.file.clone(),
            error: self.error.clone(),
            messages,
            lines: self.lines.iter().cloned().collect(),
        })
    }

    /// Takes in a chunk read at `start` of `file`; `earlier`: read as the first tail.
    fn ingest(&mut self, file: &str, start: u64, bytes: &[u8], earlier: bool) {
        self.file = file.to_string();
        // Only whole lines: the rest is read again next time.
        let Some(end) = bytes.iter().rposition(|b| *b == b'\n') else {
            return;
        };
        let mut chunk = &bytes[..=end];
        self.offset = start + chunk.len() as u64;
        // A tail read starts mid-line.
        if earlier
            && start > 0
            && let Some(nl) = chunk.iter().position(|b| *b == b'\n')
        {
            chunk = &chunk[nl + 1..];
        }
        for line in String::from_utf8_lossy(chunk).lines() {
            let Some((severity, message, at)) = parse_line(line) else {
                continue;
            };
            self.seq += 1;
            let norm = normalize(&message);
            let m = self
                .messages
                .entry((severity.clone(), norm.clone()))
                .or_insert_with(|| LogMessage {
                    severity: severity.clone(),
                    message: norm,
                    ..Default::default()
                });
            m.count += 1;
            m.example = message.clone();
            if let Some(t) = at {
                m.last_at = Some(t.timestamp());
            }
            self.lines.push_back(LogLine {
                seq: self.seq,
                at: at.map(|t| t.timestamp_millis() as f64 / 1000.0),
                severity,
                message,
                earlier,
            });
            while self.lines.len() > MAX_LINES {
                self.lines.pop_front();
            }
        }
        while self.messages.len() > MAX_MESSAGES {
            // The one seen least recently goes.
            let Some(k) = self
                .messages
                .iter()
                .min_by_key(|(_, m)| m.last_at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.messages.remove(&k);
        }
    }

    /// Where to read in a file of `size` bytes named `file`: (start, how much, first read).
    fn window(&mut self, file: &str, size: u64) -> (u64, u64, bool) {
        let first = !self.started;
        if first {
            self.offset = size.saturating_sub(FIRST_TAIL);
        } else if file != self.file || size < self.offset {
            // Rotated to a new file, or truncated: from its start.
            self.offset = 0;
        }
        self.started = true;
        self.file = file.to_string();
        let len = size.saturating_sub(self.offset).min(MAX_READ);
        (self.offset, len, first)
    }

    /// Reads what is new. Failures are kept in `error` (the poll goes on without the log).
    pub async fn read(&mut self, conn: &mut PgConnection) {
        let r = match self.path.clone() {
            Some(p) => self.read_local(&p).await,
            None => self.read_remote(conn).await,
        };
        self.error = r.err();
    }

    async fn read_local(&mut self, path: &Path) -> Result<(), String> {
        let file = newest_file(path).await?;
        let meta = tokio::fs::metadata(&file)
            .await
            .map_err(|e| format!("log_path {}: {e}", file.display()))?;
        let name = file.display().to_string();
        let (start, len, first) = self.window(&name, meta.len());
        if len == 0 {
            return Ok(());
        }
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut f = tokio::fs::File::open(&file)
            .await
            .map_err(|e| format!("log_path {}: {e}", file.display()))?;
        f.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| format!("log_path {}: {e}", file.display()))?;
        let mut buf = vec![0u8; len as usize];
        f.read_exact(&mut buf)
            .await
            .map_err(|e| format!("log_path {}: {e}", file.display()))?;
        self.ingest(&name, start, &buf, first);
        Ok(())
    }

    async fn read_remote(&mut self, conn: &mut PgConnection) -> Result<(), String> {
        let rows = sqlx::query(
            "SELECT /* opsdeck */ name, size FROM pg_ls_logdir() \
             WHERE name LIKE '%.log' OR name LIKE '%.json' \
             ORDER BY modification DESC, name DESC LIMIT 2",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| remote_error(&e.to_string()))?;
        // Prefer the stderr file when jsonlog writes beside it.
        let pick = rows
            .iter()
            .find(|r| r.try_get::<String, _>(0).is_ok_and(|n| n.ends_with(".log")))
            .or(rows.first());
        let Some(r) = pick else {
            return Err(
                "no log file in log_directory (logging_collector is off?): set log_path to the \
                 file the server's output goes to"
                    .into(),
            );
        };
        let name: String = r.try_get(0).map_err(|e| e.to_string())?;
        let size: i64 = r.try_get(1).map_err(|e| e.to_string())?;
        let (start, len, first) = self.window(&name, size.max(0) as u64);
        if len == 0 {
            return Ok(());
        }
        let bytes: Vec<u8> = sqlx::query_scalar(
            "SELECT /* opsdeck */ pg_read_binary_file(current_setting('log_directory') || '/' || $1, $2, $3)",
        )
        .bind(&name)
        .bind(start as i64)
        .bind(len as i64)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| remote_error(&e.to_string()))?;
        self.ingest(&name, start, &bytes, first);
        Ok(())
    }
}

/// What a failed remote read means for a person.
fn remote_error(e: &str) -> String {
    if e.contains("permission denied") {
        format!(
            "the server log needs pg_monitor (pg_ls_logdir) and pg_read_server_files \
             (pg_read_binary_file): GRANT pg_monitor, pg_read_server_files TO the console's role, \
             or set log_path to the log file on this machine ({e})"
        )
    } else if e.contains("could not open directory") || e.contains("No such file") {
        format!(
            "no log directory (logging_collector is off?): set log_path to the file the \
             server's output goes to ({e})"
        )
    } else {
        format!("server log unreadable: {e}")
    }
}

/// `path` itself, or the newest regular file in it.
async fn newest_file(path: &Path) -> Result<PathBuf, String> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| format!("log_path {}: {e}", path.display()))?;
    if !meta.is_dir() {
        return Ok(path.to_path_buf());
    }
    let mut dir = tokio::fs::read_dir(path)
        .await
        .map_err(|e| format!("log_path {}: {e}", path.display()))?;
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    while let Ok(Some(e)) = dir.next_entry().await {
        let Ok(m) = e.metadata().await else { continue };
        let p = e.path();
        if !m.is_file() || p.extension().is_some_and(|x| x == "csv") {
            continue;
        }
        let t = m.modified().unwrap_or(std::time::UNIX_EPOCH);
        if best.as_ref().is_none_or(|(bt, _)| t > *bt) {
            best = Some((t, p));
        }
    }
    best.map(|(_, p)| p)
        .ok_or_else(|| format!("log_path {}: no log file in this directory", path.display()))
}

fn sev_level(s: &str) -> Level {
    match s {
        "PANIC" => Level::Crit,
        "FATAL" => Level::Warn,
        _ => Level::Normal,
    }
}

fn local_time(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .map(|t| t.with_timezone(&Local).format("%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

pub const TITLE: &str = "Log";

/// The Log tab: one row per message.
pub fn table(log: Option<&ServerLog>) -> Table {
    let empty = match log {
        None => "the server log is read on the slow schedule (slow_refresh): not yet".to_string(),
        Some(l) => match &l.error {
            Some(e) => e.clone(),
            None => format!(
                "no ERROR, FATAL or PANIC lines in {} since the console started reading",
                l.file
            ),
        },
    };
    Table {
        title: TITLE.into(),
        columns: vec![
            Column::left("SEV", 5).keep(),
            Column::right("COUNT", 6).keep(),
            Column::left("LAST", 14),
            Column::left("MESSAGE", 40).priority(96),
        ],
        rows: log
            .map(|l| {
                l.messages
                    .iter()
                    .map(|m| {
                        Row::new(
                            format!("{}|{}", m.severity, m.message),
                            vec![
                                Cell::level(m.severity.clone(), sev_level(&m.severity)),
                                Cell::new(m.count.to_string()),
                                Cell::level(
                                    m.last_at.map(local_time).unwrap_or_else(|| "-".into()),
                                    Level::Muted,
                                ),
                                Cell::new(m.message.clone()),
                            ],
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        empty,
    }
}

/// Enter on a message: its latest lines.
pub fn detail(log: &ServerLog, key: &str) -> Option<Detail> {
    let m = log
        .messages
        .iter()
        .find(|m| format!("{}|{}", m.severity, m.message) == key)?;
    let mut lines = vec![
        vec![
            Cell::level(format!("{} ", m.severity), sev_level(&m.severity)),
            Cell::new(format!("{} times", m.count)),
        ],
        vec![Cell::new(m.example.clone())],
        vec![Cell::level(
            format!("from {} ({})", log.file, log.via),
            Level::Muted,
        )],
        vec![],
    ];
    for l in log
        .lines
        .iter()
        .rev()
        .filter(|l| l.severity == m.severity && normalize(&l.message) == m.message)
        .take(20)
    {
        let t = l
            .time()
            .map(|t| t.with_timezone(&Local).format("%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".into());
        lines.push(vec![
            Cell::level(format!("{t}  "), Level::Muted),
            Cell::new(l.message.clone()),
        ]);
    }
    Some(Detail {
        title: format!("server log: {}", m.message),
        lines,
        table: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stderr_and_json_lines() {
        let (sev, msg, at) = parse_line(
            "2026-11-25 03:12:00.123 UTC [4242] app@shop FATAL:  sorry, too many clients already",
        )
        .expect("line");
        assert_eq!(sev, "FATAL");
        assert_eq!(msg, "sorry, too many clients already");
        assert_eq!(
            at.map(|t| t.timestamp_millis()),
            Some(
                Utc.with_ymd_and_hms(2026, 11, 25, 3, 12, 0)
                    .single()
                    .expect("t")
                    .timestamp_millis()
                    + 123
            )
        );
        assert!(parse_line("2026-11-25 03:12:00 UTC [1] LOG:  checkpoint starting").is_none());
        let (sev, msg, _) = parse_line(
            r#"{"timestamp":"2026-11-25 03:12:00.123 UTC","pid":1,"error_severity":"ERROR","message":"deadlock detected"}"#,
        )
        .expect("json");
        assert_eq!((sev.as_str(), msg.as_str()), ("ERROR", "deadlock detected"));
        assert_eq!(
            normalize("process 4242 waits for ShareLock on transaction 17"),
            "process N waits for ShareLock on transaction N"
        );
    }

    #[test]
    fn reads_only_new_whole_lines_and_counts_by_message() {
        let mut r = Reader::default();
        let text = b"junk line cut\n2026-11-25 03:00:00 UTC [1] ERROR:  deadlock detected\n2026-11-25 03:00:01 UTC [2] ERROR:  relation \"t1\" does not exist\n2026-11-25 03:00:02 UTC [3] FATAL:  terminating conn";
        let (start, len, first) = r.window("f.log", 5000);
        assert!(first);
        assert_eq!((start, len), (0, 5000));
        r.ingest("f.log", 10, text, true);
        let v = r.view().expect("view");
        assert_eq!(v.lines.len(), 2, "{v:?}");
        assert!(v.lines.iter().all(|l| l.earlier));
        assert!(v.lines[0].noteworthy());
        assert!(!v.lines[1].noteworthy());
        // The unfinished line is read again next time, from where the whole lines ended.
        let (start, _, first) = r.window("f.log", 5000);
        assert!(!first);
        assert_eq!(
            start,
            10 + text.iter().rposition(|b| *b == b'\n').expect("nl") as u64 + 1
        );
        r.ingest("f.log", start, b"2026-11-25 03:00:02 UTC [3] FATAL:  terminating connection due to administrator command\n2026-11-25 03:00:05 UTC [9] ERROR:  deadlock detected\n", false);
        let v = r.view().expect("view");
        assert_eq!(v.messages[0].severity, "FATAL");
        let deadlock = v
            .messages
            .iter()
            .find(|m| m.message == "deadlock detected")
            .expect("counted");
        assert_eq!(deadlock.count, 2);
        assert_eq!(v.lines.last().map(|l| l.seq), Some(4));
        // Rotation: a new file is read from its start.
        let (start, _, _) = r.window("g.log", 100);
        assert_eq!(start, 0);
    }
}
