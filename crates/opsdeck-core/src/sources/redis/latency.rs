//! Why Redis is slow: `LATENCY LATEST` / `LATENCY HISTORY` events, `SLOWLOG GET` (the
//! command with its arguments cut and values never shown), `INFO commandstats` and
//! `INFO errorstats` with rates. Read per reachable node on the slow schedule; a node whose
//! ACL forbids a command shows why instead.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::aio::MultiplexedConnection;

pub use super::diagnostics::{CommandStat, Diagnostics, ErrorStat, LatencyEvent, SlowEntry};
use super::info::{kv_list, parse_info};
use crate::views::{Cell, Column, Level, Row, Table, fmt};

/// Default interval of these reads.
pub const DEFAULT_SLOW: Duration = Duration::from_secs(30);
/// Slow log entries read per node.
pub const SLOWLOG_ENTRIES: usize = 32;
/// Latency history points kept per event.
const HISTORY_POINTS: usize = 20;

/// Commands whose first argument is a subcommand (shown), not a key.
const CONTAINERS: &[&str] = &[
    "ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DEBUG", "FUNCTION", "LATENCY", "MEMORY",
    "MODULE", "OBJECT", "PUBSUB", "SCRIPT", "SLOWLOG", "XGROUP", "XINFO",
];
/// Commands whose arguments are secrets or code: none shown.
const SECRET: &[&str] = &[
    "AUTH", "HELLO", "MIGRATE", "EVAL", "EVALSHA", "EVAL_RO", "FCALL",
];

/// The slow log's view of a command: never a value.
pub fn shown_command(args: &[String]) -> String {
    let Some(name) = args.first() else {
        return String::new();
    };
    let name = name.to_ascii_uppercase();
    let rest = args.len() - 1;
    let more = |n: usize| {
        if n == 0 {
            String::new()
        } else {
            format!(" (+{n} arg{})", if n == 1 { "" } else { "s" })
        }
    };
    if SECRET.contains(&name.as_str()) {
        return format!("{name}{}", more(rest));
    }
    if CONTAINERS.contains(&name.as_str())
        && let Some(sub) = args.get(1)
    {
        let sub: String = sub
            .chars()
            .take(32)
            .collect::<String>()
            .to_ascii_uppercase();
        return format!("{name} {sub}{}", more(rest - 1));
    }
    match args.get(1) {
        Some(key) => {
            let cut: String = key.chars().take(32).collect();
            let ell = if key.chars().count() > 32 { "…" } else { "" };
            format!("{name} {cut}{ell}{}", more(rest - 1))
        }
        None => name,
    }
}

/// `SLOWLOG GET`'s reply.
pub fn parse_slowlog(v: &redis::Value) -> Vec<SlowEntry> {
    let redis::Value::Array(entries) = v else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let redis::Value::Array(f) = e else {
                return None;
            };
            let int = |i: usize| match f.get(i) {
                Some(redis::Value::Int(n)) => Some(*n),
                _ => None,
            };
            let text = |i: usize| match f.get(i) {
                Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                Some(redis::Value::SimpleString(s)) => s.clone(),
                _ => String::new(),
            };
            let args: Vec<String> = match f.get(3) {
                Some(redis::Value::Array(a)) => a
                    .iter()
                    .map(|x| match x {
                        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                        redis::Value::SimpleString(s) => s.clone(),
                        redis::Value::Int(n) => n.to_string(),
                        _ => String::new(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Some(SlowEntry {
                id: int(0)?,
                at: int(1)?,
                duration_us: int(2)?.max(0) as u64,
                command: shown_command(&args),
                client: text(4),
                client_name: text(5),
            })
        })
        .collect()
}

/// `LATENCY LATEST`'s reply: (event, at, latest ms, max ms).
pub fn parse_latest(v: &redis::Value) -> Vec<LatencyEvent> {
    let redis::Value::Array(rows) = v else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|r| {
            let redis::Value::Array(f) = r else {
                return None;
            };
            let int = |i: usize| match f.get(i) {
                Some(redis::Value::Int(n)) => Some(*n),
                _ => None,
            };
            let event = match f.first() {
                Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                Some(redis::Value::SimpleString(s)) => s.clone(),
                _ => return None,
            };
            Some(LatencyEvent {
                event,
                at: int(1)?,
                latest_ms: int(2)?.max(0) as u64,
                max_ms: int(3)?.max(0) as u64,
                history: Vec::new(),
            })
        })
        .collect()
}

/// `LATENCY HISTORY event`'s reply: (at, ms) pairs.
pub fn parse_history(v: &redis::Value) -> Vec<(i64, u64)> {
    let redis::Value::Array(rows) = v else {
        return Vec::new();
    };
    let mut out: Vec<(i64, u64)> = rows
        .iter()
        .filter_map(|r| match r {
            redis::Value::Array(p) => match (p.first(), p.get(1)) {
                (Some(redis::Value::Int(t)), Some(redis::Value::Int(ms))) => {
                    Some((*t, (*ms).max(0) as u64))
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    if out.len() > HISTORY_POINTS {
        out.drain(..out.len() - HISTORY_POINTS);
    }
    out
}

/// `INFO commandstats` and `INFO errorstats` (both sections in one text).
pub fn parse_stats(text: &str) -> (Vec<CommandStat>, Vec<ErrorStat>) {
    let info = parse_info(text);
    let num = |m: &BTreeMap<&str, &str>, k: &str| {
        m.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
    };
    let mut commands: Vec<CommandStat> = info
        .iter()
        .filter_map(|(k, v)| {
            let cmd = k.strip_prefix("cmdstat_")?;
            let m = kv_list(v);
            Some(CommandStat {
                command: cmd.to_string(),
                calls: num(&m, "calls") as u64,
                usec: num(&m, "usec") as u64,
                usec_per_call: num(&m, "usec_per_call"),
                rejected_calls: num(&m, "rejected_calls") as u64,
                failed_calls: num(&m, "failed_calls") as u64,
                calls_per_sec: None,
            })
        })
        .collect();
    commands.sort_by(|a, b| b.usec.cmp(&a.usec).then(a.command.cmp(&b.command)));
    let mut errors: Vec<ErrorStat> = info
        .iter()
        .filter_map(|(k, v)| {
            let e = k.strip_prefix("errorstat_")?;
            Some(ErrorStat {
                error: e.to_string(),
                count: num(&kv_list(v), "count") as u64,
                per_sec: None,
            })
        })
        .collect();
    errors.sort_by(|a, b| b.count.cmp(&a.count).then(a.error.cmp(&b.error)));
    (commands, errors)
}

/// Rates against the previous read of the same node (a counter that went back: zero).
pub fn rates(now: &mut Diagnostics, prev: Option<&(f64, Diagnostics)>, at: f64) {
    let Some((then, before)) = prev else { return };
    let dt = at - then;
    if dt <= 0.0 {
        return;
    }
    for c in &mut now.commands {
        if let Some(b) = before.commands.iter().find(|b| b.command == c.command) {
            c.calls_per_sec = Some(c.calls.saturating_sub(b.calls) as f64 / dt);
        }
    }
    for e in &mut now.errors {
        let b = before
            .errors
            .iter()
            .find(|b| b.error == e.error)
            .map_or(0, |b| b.count);
        e.per_sec = Some(e.count.saturating_sub(b) as f64 / dt);
    }
}

async fn ask(conn: &mut MultiplexedConnection, args: &[&str]) -> Result<redis::Value, String> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(conn)
        .await
        .map_err(|e| format!("{}: {e}", args.join(" ")))
}

/// Reads one node's diagnostics; what fails becomes a note.
pub async fn read(conn: &mut MultiplexedConnection, node: &str) -> Diagnostics {
    let mut d = Diagnostics {
        node: node.to_string(),
        ..Default::default()
    };
    match ask(conn, &["LATENCY", "LATEST"]).await {
        Ok(v) => d.latency = parse_latest(&v),
        Err(e) => d.notes.push(e),
    }
    for ev in &mut d.latency {
        match ask(conn, &["LATENCY", "HISTORY", &ev.event]).await {
            Ok(v) => ev.history = parse_history(&v),
            Err(e) => d.notes.push(e),
        }
    }
    let n = SLOWLOG_ENTRIES.to_string();
    match ask(conn, &["SLOWLOG", "GET", &n]).await {
        Ok(v) => d.slowlog = parse_slowlog(&v),
        Err(e) => d.notes.push(e),
    }
    // errorstats exists since Redis 6.2; an older server answers commandstats alone.
    let mut text = String::new();
    for section in ["commandstats", "errorstats"] {
        match redis::cmd("INFO")
            .arg(section)
            .query_async::<String>(conn)
            .await
        {
            Ok(t) => text.push_str(&t),
            Err(e) => d.notes.push(format!("INFO {section}: {e}")),
        }
    }
    (d.commands, d.errors) = parse_stats(&text);
    d
}

fn when(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| at.to_string())
}

fn ms_level(ms: u64) -> Level {
    if ms >= 100 {
        Level::Crit
    } else if ms >= 10 {
        Level::Warn
    } else {
        Level::Normal
    }
}

pub fn latency_table(title: &str, diags: &[Diagnostics]) -> Table {
    let mut rows = Vec::new();
    for d in diags {
        for e in &d.latency {
            let hist: Vec<String> = e
                .history
                .iter()
                .rev()
                .take(5)
                .map(|(_, ms)| ms.to_string())
                .collect();
            rows.push(Row::new(
                format!("{}:{}", d.node, e.event),
                vec![
                    d.node.as_str().into(),
                    e.event.as_str().into(),
                    when(e.at).into(),
                    Cell::level(format!("{}ms", e.latest_ms), ms_level(e.latest_ms)),
                    Cell::level(format!("{}ms", e.max_ms), ms_level(e.max_ms)),
                    if hist.is_empty() {
                        "-".into()
                    } else {
                        format!("{} ms (newest first)", hist.join(" ")).into()
                    },
                ],
            ));
        }
    }
    Table {
        title: title.into(),
        columns: vec![
            Column::left("NODE", 18),
            Column::left("EVENT", 16),
            Column::right("AT", 8),
            Column::right("LATEST", 7),
            Column::right("MAX", 7),
            Column::left("HISTORY", 24),
        ],
        rows,
        empty: "no latency events (LATENCY needs latency-monitor-threshold > 0: CONFIG SET \
                latency-monitor-threshold 100)"
            .into(),
    }
}

pub fn slowlog_table(title: &str, diags: &[Diagnostics]) -> Table {
    let mut entries: Vec<(&str, &SlowEntry)> = diags
        .iter()
        .flat_map(|d| d.slowlog.iter().map(move |e| (d.node.as_str(), e)))
        .collect();
    entries.sort_by(|a, b| b.1.at.cmp(&a.1.at).then(b.1.id.cmp(&a.1.id)));
    Table {
        title: title.into(),
        columns: vec![
            Column::left("NODE", 18),
            Column::right("AT", 8),
            Column::right("TOOK", 8),
            Column::left("COMMAND", 30),
            Column::left("CLIENT", 18),
        ],
        rows: entries
            .into_iter()
            .map(|(node, e)| {
                Row::new(
                    format!("{node}:{}", e.id),
                    vec![
                        node.into(),
                        when(e.at).into(),
                        Cell::level(
                            fmt::secs(e.duration_us as f64 / 1e6),
                            ms_level(e.duration_us / 1000),
                        ),
                        e.command.as_str().into(),
                        format!("{} {}", e.client, e.client_name)
                            .trim()
                            .to_string()
                            .into(),
                    ],
                )
            })
            .collect(),
        empty: "the slow log is empty (commands slower than slowlog-log-slower-than)".into(),
    }
}

pub fn commands_table(title: &str, diags: &[Diagnostics]) -> Table {
    let mut rows = Vec::new();
    let rate = |r: Option<f64>| r.map_or("-".into(), fmt::rate);
    for d in diags {
        for c in d.commands.iter().take(20) {
            rows.push(Row::new(
                format!("{}:cmd:{}", d.node, c.command),
                vec![
                    d.node.as_str().into(),
                    c.command.as_str().into(),
                    fmt::count(c.calls).into(),
                    rate(c.calls_per_sec).into(),
                    format!("{:.1}µs", c.usec_per_call).into(),
                    Cell::level(
                        format!("{}/{}", c.failed_calls, c.rejected_calls),
                        if c.failed_calls + c.rejected_calls > 0 {
                            Level::Warn
                        } else {
                            Level::Normal
                        },
                    ),
                ],
            ));
        }
        for e in &d.errors {
            rows.push(Row::new(
                format!("{}:err:{}", d.node, e.error),
                vec![
                    d.node.as_str().into(),
                    Cell::level(format!("error {}", e.error), Level::Warn),
                    fmt::count(e.count).into(),
                    rate(e.per_sec).into(),
                    "".into(),
                    "".into(),
                ],
            ));
        }
    }
    Table {
        title: title.into(),
        columns: vec![
            Column::left("NODE", 18),
            Column::left("COMMAND", 18),
            Column::right("CALLS", 8),
            Column::right("CALLS/S", 8),
            Column::right("PER CALL", 9),
            Column::right("FAIL/REJ", 8),
        ],
        rows,
        empty: "commandstats are read on the slow schedule: not read yet".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn commands_are_shown_without_values() {
        assert_eq!(
            shown_command(&s(&["set", "user:1", "secret"])),
            "SET user:1 (+1 arg)"
        );
        assert_eq!(shown_command(&s(&["AUTH", "hunter2"])), "AUTH (+1 arg)");
        assert_eq!(
            shown_command(&s(&["debug", "sleep", "0.2"])),
            "DEBUG SLEEP (+1 arg)"
        );
        assert_eq!(
            shown_command(&s(&["config", "set", "requirepass", "x"])),
            "CONFIG SET (+2 args)"
        );
        assert_eq!(
            shown_command(&s(&["eval", "return 'x'", "0"])),
            "EVAL (+2 args)"
        );
        let long = format!("k{}", "x".repeat(100));
        assert_eq!(
            shown_command(&s(&["get", &long])).chars().count(),
            4 + 32 + 1
        );
        assert_eq!(shown_command(&s(&["ping"])), "PING");
    }

    #[test]
    fn stats_parse_and_rate() {
        let text = "# Commandstats\r\ncmdstat_get:calls=10,usec=50,usec_per_call=5.00,rejected_calls=0,failed_calls=1\r\ncmdstat_set:calls=4,usec=80,usec_per_call=20.00,rejected_calls=2,failed_calls=0\r\n# Errorstats\r\nerrorstat_ERR:count=3\r\n";
        let (c, e) = parse_stats(text);
        assert_eq!(c[0].command, "set");
        assert_eq!(c[1].failed_calls, 1);
        assert_eq!(e[0].error, "ERR");
        let before = Diagnostics {
            commands: vec![CommandStat {
                command: "get".into(),
                calls: 4,
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut now = Diagnostics {
            commands: c,
            errors: e,
            ..Default::default()
        };
        rates(&mut now, Some(&(100.0, before)), 102.0);
        let get = now.commands.iter().find(|c| c.command == "get").unwrap();
        assert_eq!(get.calls_per_sec, Some(3.0));
        assert_eq!(now.errors[0].per_sec, Some(1.5));
    }
}
