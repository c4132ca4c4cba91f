//! What the pane shows: the sample as a `PaneModel` (pure), the detail of a row, and the
//! kill a key means on the selected or marked rows.

use std::collections::BTreeSet;

use super::model::*;
use super::ops::{KillMode, MysqlOp};
use crate::sources::system::{Resolved, Risk};
use crate::views::{Cell, Column, Detail, Level, PaneModel, Row, Summary, Table, fmt};

pub const TAB_OVERVIEW: usize = 0;
pub const TAB_PROCESSLIST: usize = 1;
pub const TAB_LOCKS: usize = 2;
pub const TAB_STATEMENTS: usize = 3;
pub const TAB_REPLICATION: usize = 4;

/// Thresholds shared with the alert rules.
pub const LONG_QUERY_SECS: f64 = 300.0;
pub const IDLE_IN_TX_SECS: f64 = 300.0;
pub const BEHIND_WARN_SECS: i64 = 30;
pub const CONNECTIONS_WARN: f64 = 0.8;
pub const CONNECTIONS_CRIT: f64 = 0.95;

fn opt_secs(s: Option<f64>) -> String {
    s.map(fmt::secs).unwrap_or_else(|| "-".into())
}

impl MysqlSample {
    pub fn connection_ratio(&self) -> f64 {
        self.threads_connected as f64 / self.max_connections.max(1) as f64
    }

    pub fn connection_level(&self) -> Level {
        let r = self.connection_ratio();
        if r >= CONNECTIONS_CRIT {
            Level::Crit
        } else if r >= CONNECTIONS_WARN {
            Level::Warn
        } else {
            Level::Ok
        }
    }

    /// "primary", "replica" (it has channels) or "replica+primary" (replicas read it too).
    pub fn role(&self) -> &'static str {
        match (
            self.replication.channels.is_empty(),
            self.replication.replicas.is_empty(),
        ) {
            (true, _) => "primary",
            (false, true) => "replica",
            (false, false) => "replica+primary",
        }
    }

    /// The longest running statement of a client thread: (id, seconds).
    pub fn longest_query(&self) -> Option<(u64, f64)> {
        self.processlist
            .iter()
            .filter(|t| t.running() && !t.console && t.label != "waiting on a lock")
            .map(|t| (t.id, t.seconds))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The longest open transaction of an idle client: (id, seconds).
    pub fn longest_idle_in_transaction(&self) -> Option<(u64, f64)> {
        self.processlist
            .iter()
            .filter(|t| t.label == "idle in transaction")
            .filter_map(|t| t.trx_seconds.map(|s| (t.id, s)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The longest lock wait: (blocker at the root, waiter seconds).
    pub fn longest_lock_wait(&self) -> Option<(u64, f64)> {
        self.locks
            .iter()
            .filter(|n| n.depth == 0)
            .map(|n| (n.id, n.wait_seconds))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Channels whose IO or SQL thread is not running.
    pub fn stopped_channels(&self) -> Vec<&Channel> {
        self.replication
            .channels
            .iter()
            .filter(|c| !c.running())
            .collect()
    }

    /// The largest `Seconds_Behind_*` among the channels.
    pub fn seconds_behind(&self) -> Option<i64> {
        self.replication
            .channels
            .iter()
            .filter_map(|c| c.seconds_behind)
            .max()
    }

    /// The single most alarming thing, for the tile.
    pub fn worst(&self) -> Option<(String, Level)> {
        if let Some(root) = self.locks.first() {
            return Some((
                format!(
                    "thread {} ({}) blocks {} for {}",
                    root.id,
                    root.user,
                    root.waiters,
                    fmt::secs(root.wait_seconds)
                ),
                Level::Crit,
            ));
        }
        if let Some(c) = self.stopped_channels().first() {
            let err = [&c.last_io_error, &c.last_sql_error]
                .into_iter()
                .find(|e| !e.is_empty())
                .map(|e| format!(": {}", fmt::one_line(e, 60)))
                .unwrap_or_default();
            return Some((
                format!(
                    "replication stopped (IO {}, SQL {}){err}",
                    c.io_running, c.sql_running
                ),
                Level::Crit,
            ));
        }
        if let Some(b) = self.seconds_behind()
            && b >= BEHIND_WARN_SECS
        {
            return Some((
                format!("replica {} behind", fmt::secs(b as f64)),
                Level::Warn,
            ));
        }
        if let Some((id, s)) = self.longest_idle_in_transaction()
            && s >= IDLE_IN_TX_SECS
        {
            return Some((
                format!("thread {id} idle in transaction {}", fmt::secs(s)),
                Level::Warn,
            ));
        }
        if let Some((id, s)) = self.longest_query()
            && s >= LONG_QUERY_SECS
        {
            return Some((
                format!("thread {id} query running {}", fmt::secs(s)),
                Level::Warn,
            ));
        }
        None
    }

    pub fn model(&self) -> PaneModel {
        let conn_level = self.connection_level();
        let gauge = Summary::Gauge {
            label: "connections".into(),
            ratio: self.connection_ratio().min(1.0),
            text: format!(
                "{} / {} connections ({} running)",
                self.threads_connected, self.max_connections, self.threads_running
            ),
            level: conn_level,
        };
        let worst = self.worst();
        let mut level = conn_level;
        let mut tile = vec![
            Summary::line(
                format!("{}  up {}", self.role(), fmt::secs(self.uptime_seconds)),
                Level::Normal,
            ),
            gauge.clone(),
        ];
        match &worst {
            Some((text, l)) => {
                level = level.max(*l);
                tile.push(Summary::line(text.clone(), *l));
            }
            None if !self.has_process => {
                tile.push(Summary::line("needs PROCESS to see threads", Level::Info))
            }
            None => tile.push(Summary::line(
                "no lock waits, lag or long queries",
                Level::Ok,
            )),
        }

        let states: Vec<Cell> = STATES
            .iter()
            .map(|st| {
                let n = self.connections.by_state.get(*st).copied().unwrap_or(0);
                let l = match (*st, n) {
                    (_, 0) => Level::Muted,
                    ("waiting on a lock" | "idle in transaction", _) => Level::Warn,
                    _ => Level::Normal,
                };
                Cell::level(format!("{st} {n}  "), l)
            })
            .collect();
        let mut summary = vec![
            Summary::line(
                format!(
                    "{}  {}  server_id {}{}  up {}  as {}",
                    self.version,
                    self.role(),
                    self.server_id,
                    if self.read_only { "  read-only" } else { "" },
                    fmt::secs(self.uptime_seconds),
                    self.connected_as
                ),
                Level::Normal,
            ),
            gauge,
        ];
        if self.has_process {
            summary.push(Summary::text(states));
        }
        if let Some(r) = &self.rates {
            summary.push(Summary::line(
                format!(
                    "qps {}  slow {}  buffer pool hit {}  deadlocks +{}  aborted connects +{}",
                    fmt::rate(r.queries_per_second),
                    fmt::rate(r.slow_queries_per_second),
                    r.buffer_pool_hit_ratio
                        .map(fmt::pct)
                        .unwrap_or_else(|| "-".into()),
                    r.deadlocks,
                    r.aborted_connects
                ),
                if r.deadlocks > 0 || r.slow_queries_per_second > 0.0 {
                    Level::Warn
                } else {
                    Level::Normal
                },
            ));
        }
        if let Some((text, l)) = &worst {
            summary.push(Summary::line(text.clone(), *l));
        }
        for h in &self.hints {
            summary.push(Summary::line(format!("hint: {h}"), Level::Info));
        }
        PaneModel {
            tile,
            summary,
            tables: vec![
                self.overview_table(),
                self.processlist_table(),
                self.locks_table(),
                self.statements_table(),
                self.replication_table(),
            ],
            level,
        }
    }

    fn needs_process_text(&self) -> String {
        format!(
            "needs PROCESS: GRANT PROCESS ON *.* TO {}",
            self.connected_as
        )
    }

    fn overview_table(&self) -> Table {
        let c = &self.connections;
        let mut rows = Vec::new();
        for (dim, map) in [
            ("user", &c.by_user),
            ("host", &c.by_host),
            ("database", &c.by_database),
        ] {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by_key(|(name, m)| (-m.values().sum::<i64>(), (*name).clone()));
            for (name, m) in entries {
                let g = |s: &str| m.get(s).copied().unwrap_or(0).to_string();
                let shown = if name.is_empty() { "(none)" } else { name };
                rows.push(Row::new(
                    format!("{dim}:{name}"),
                    vec![
                        dim.into(),
                        shown.into(),
                        m.values().sum::<i64>().to_string().into(),
                        g("active").into(),
                        g("waiting on a lock").into(),
                        g("idle in transaction").into(),
                        g("idle").into(),
                        g("other").into(),
                    ],
                ));
            }
        }
        Table {
            title: "Overview".into(),
            columns: vec![
                Column::left("BY", 9),
                Column::left("NAME", 20),
                Column::right("TOTAL", 6),
                Column::right("ACTIVE", 6),
                Column::right("LOCK", 5),
                Column::right("IDLE-TX", 7),
                Column::right("IDLE", 6),
                Column::right("OTHER", 6),
            ],
            rows,
            empty: if self.has_process {
                "no client connections besides the console".into()
            } else {
                self.needs_process_text()
            },
        }
    }

    fn processlist_table(&self) -> Table {
        Table {
            title: "Processlist".into(),
            columns: vec![
                Column::right("ID", 7),
                Column::left("USER", 10),
                Column::left("HOST", 15),
                Column::left("DB", 10),
                Column::left("COMMAND", 10),
                Column::right("TIME", 7),
                Column::right("TRX", 7),
                Column::left("STATE", 16),
                Column::left("SQL", 20),
            ],
            rows: self
                .processlist
                .iter()
                .map(|t| {
                    let label_level = match t.label.as_str() {
                        "waiting on a lock" => Level::Crit,
                        "idle in transaction" => Level::Warn,
                        "active" => Level::Ok,
                        _ => Level::Muted,
                    };
                    let muted = t.console || t.system;
                    let state = if t.console {
                        "opsdeck console".to_string()
                    } else if t.state.is_empty() {
                        t.label.clone()
                    } else {
                        t.state.clone()
                    };
                    Row::new(
                        t.id.to_string(),
                        vec![
                            Cell::level(
                                t.id.to_string(),
                                if muted { Level::Muted } else { Level::Normal },
                            ),
                            t.user.as_str().into(),
                            t.host.as_str().into(),
                            t.database.as_str().into(),
                            Cell::level(t.command.clone(), label_level),
                            Cell::level(
                                fmt::secs(t.seconds),
                                if t.running() && t.seconds >= LONG_QUERY_SECS {
                                    Level::Warn
                                } else {
                                    Level::Normal
                                },
                            ),
                            opt_secs(t.trx_seconds).into(),
                            Cell::level(state, if muted { Level::Muted } else { label_level }),
                            fmt::one_line(&t.info, 200).into(),
                        ],
                    )
                })
                .collect(),
            empty: if self.has_process {
                "no threads besides the console's own".into()
            } else {
                self.needs_process_text()
            },
        }
    }

    fn locks_table(&self) -> Table {
        Table {
            title: "Locks".into(),
            columns: vec![
                Column::left("ID", 12),
                Column::right("WAITERS", 7),
                Column::right("WAIT", 7),
                Column::left("USER", 10),
                Column::left("HOST", 15),
                Column::left("STATE", 19),
                Column::left("LOCK", 24),
                Column::left("SQL", 20),
            ],
            rows: self
                .locks
                .iter()
                .map(|n| {
                    let state = match (n.label.as_str(), n.trx_seconds) {
                        ("idle in transaction", Some(s)) => {
                            format!("idle in trx {}", fmt::secs(s))
                        }
                        (l, _) => l.to_string(),
                    };
                    Row::new(
                        n.id.to_string(),
                        vec![
                            Cell::level(
                                format!("{}{}", "  ".repeat(n.depth), n.id),
                                if n.depth == 0 {
                                    Level::Crit
                                } else {
                                    Level::Warn
                                },
                            ),
                            n.waiters.to_string().into(),
                            fmt::secs(n.wait_seconds).into(),
                            n.user.as_str().into(),
                            n.host.as_str().into(),
                            state.into(),
                            n.lock.as_str().into(),
                            fmt::one_line(&n.info, 200).into(),
                        ],
                    )
                })
                .collect(),
            empty: if !self.has_process {
                self.needs_process_text()
            } else if self.lock_source.is_empty() {
                "this server has no lock-wait view (see the hint above)".into()
            } else {
                "no thread waits on a lock".into()
            },
        }
    }

    fn statements_table(&self) -> Table {
        let rows = self
            .statements
            .iter()
            .flatten()
            .map(|s| {
                Row::new(
                    format!("{}:{}", s.schema, s.digest),
                    vec![
                        s.calls_per_second
                            .map(fmt::rate)
                            .unwrap_or_else(|| "-".into())
                            .into(),
                        s.ms_per_second
                            .map(|m| format!("{m:.1}"))
                            .unwrap_or_else(|| "-".into())
                            .into(),
                        fmt::count(s.calls.max(0) as u64).into(),
                        fmt::secs(s.total_ms / 1000.0).into(),
                        Cell::level(
                            format!("{:.2}ms", s.mean_ms),
                            if s.mean_ms >= 1000.0 {
                                Level::Warn
                            } else {
                                Level::Normal
                            },
                        ),
                        fmt::count(s.rows_examined.max(0) as u64).into(),
                        s.schema.as_str().into(),
                        fmt::one_line(&s.text, 200).into(),
                    ],
                )
            })
            .collect();
        Table {
            title: "Statements".into(),
            columns: vec![
                Column::right("CALLS/S", 8),
                Column::right("MS/S", 8),
                Column::right("CALLS", 8),
                Column::right("TOTAL", 8),
                Column::right("MEAN", 9),
                Column::right("EXAMINED", 9),
                Column::left("SCHEMA", 10),
                Column::left("SQL", 20),
            ],
            rows,
            empty: match &self.statements {
                None if !self.performance_schema => {
                    "performance_schema is OFF: set performance_schema = ON in the server's \
                     config and restart it to see top statements"
                        .into()
                }
                None => "statement digests are unreadable (see the hint above)".into(),
                Some(_) => "no statements recorded yet".into(),
            },
        }
    }

    fn replication_table(&self) -> Table {
        let r = &self.replication;
        let mut rows: Vec<Row> = r
            .channels
            .iter()
            .map(|c| {
                let yes = |v: &str| {
                    Cell::level(
                        v.to_string(),
                        if v == "Yes" { Level::Ok } else { Level::Crit },
                    )
                };
                let error = [&c.last_io_error, &c.last_sql_error]
                    .into_iter()
                    .find(|e| !e.is_empty())
                    .cloned()
                    .unwrap_or_default();
                Row::new(
                    format!("channel:{}", c.name),
                    vec![
                        if c.name.is_empty() {
                            format!("from {}", c.source)
                        } else {
                            format!("{} from {}", c.name, c.source)
                        }
                        .into(),
                        yes(&c.io_running),
                        yes(&c.sql_running),
                        Cell::level(
                            c.seconds_behind
                                .map(|s| fmt::secs(s as f64))
                                .unwrap_or_else(|| "-".into()),
                            match c.seconds_behind {
                                None => Level::Crit,
                                Some(s) if s >= BEHIND_WARN_SECS => Level::Warn,
                                Some(_) => Level::Normal,
                            },
                        ),
                        if c.gtid_executed.is_empty() {
                            c.gtid_io_pos.as_str()
                        } else {
                            c.gtid_executed.as_str()
                        }
                        .into(),
                        Cell::level(
                            fmt::one_line(&error, 200),
                            if error.is_empty() {
                                Level::Normal
                            } else {
                                Level::Crit
                            },
                        ),
                    ],
                )
            })
            .collect();
        rows.extend(r.replicas.iter().map(|who| {
            Row::new(
                format!("replica:{who}"),
                vec![
                    format!("replica {who}").into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    r.gtid_binlog_pos.as_str().into(),
                    "reads this server's binary log".into(),
                ],
            )
        }));
        Table {
            title: "Replication".into(),
            columns: vec![
                Column::left("CHANNEL", 24),
                Column::left("IO", 10),
                Column::left("SQL", 4),
                Column::right("BEHIND", 7),
                Column::left("GTID", 16),
                Column::left("ERROR", 20),
            ],
            rows,
            empty: match &r.error {
                Some(e) => e.clone(),
                None if !self.has_process => format!(
                    "not a replica; replicas of it are hidden ({})",
                    self.needs_process_text()
                ),
                None => format!(
                    "not a replica and no replica reads it (binlog GTID {})",
                    if r.gtid_binlog_pos.is_empty() {
                        "none"
                    } else {
                        &r.gtid_binlog_pos
                    }
                ),
            },
        }
    }

    /// The kill a key means on the Processlist or Locks tab: the marked rows, else the
    /// selected one. The target as shown, the op and its risk; Err says why not.
    pub fn kill(
        &self,
        table: usize,
        key: &str,
        marked: &BTreeSet<String>,
        mode: KillMode,
    ) -> Resolved<MysqlOp> {
        if table != TAB_PROCESSLIST && table != TAB_LOCKS {
            return Err("kill works on the Processlist and Locks tabs".into());
        }
        if !self.has_process {
            return Err(self.needs_process_text());
        }
        let keys: Vec<&str> = if marked.is_empty() {
            vec![key]
        } else {
            marked.iter().map(String::as_str).collect()
        };
        let ids: Vec<u64> = keys.iter().filter_map(|k| k.parse().ok()).collect();
        if ids.is_empty() {
            return Err("select a thread (a row with an id) first".into());
        }
        let op = MysqlOp::kill(self, mode, &ids)?;
        let MysqlOp::Kill { targets, .. } = &op;
        // One thread: who it is and what it runs, so the preview shows what ends.
        let target = match targets.as_slice() {
            [t] if t.info.is_empty() => {
                format!("thread {} {}@{} ({})", t.id, t.user, t.host, t.command)
            }
            [t] => format!(
                "thread {} {}@{}: {}",
                t.id,
                t.user,
                t.host,
                fmt::one_line(&t.info, 80)
            ),
            _ => format!(
                "thread {}",
                targets
                    .iter()
                    .map(|t| t.id.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        let risk = match mode {
            KillMode::Query => Risk::Low,
            KillMode::Connection => Risk::Medium,
        };
        Ok((target, op, risk))
    }

    /// The full statement of a thread, a digest, or a replication channel's state.
    pub fn detail(&self, table: usize, key: &str) -> Option<Detail> {
        let kv =
            |k: &str, v: String| vec![Cell::level(format!("{k:<14}"), Level::Muted), Cell::new(v)];
        let text_lines = |q: &str| {
            q.lines()
                .map(|l| vec![Cell::new(l.to_string())])
                .collect::<Vec<_>>()
        };
        match table {
            TAB_PROCESSLIST | TAB_LOCKS => {
                let id: u64 = key.parse().ok()?;
                let t = self.processlist.iter().find(|t| t.id == id)?;
                let mut lines = vec![
                    kv("user", t.user.clone()),
                    kv("host", t.host.clone()),
                    kv("database", t.database.clone()),
                    kv("command", t.command.clone()),
                    kv("time", fmt::secs(t.seconds)),
                    kv("state", t.state.clone()),
                    kv("transaction", opt_secs(t.trx_seconds)),
                ];
                if let Some(n) = t.trx_rows_modified {
                    lines.push(kv("rows modified", n.to_string()));
                }
                if let Some(n) = self.locks.iter().find(|n| n.id == id) {
                    if !n.blocked_by.is_empty() {
                        lines.push(kv(
                            "blocked by",
                            n.blocked_by
                                .iter()
                                .map(|b| format!("thread {b}"))
                                .collect::<Vec<_>>()
                                .join(", "),
                        ));
                        lines.push(kv("waits for", n.lock.clone()));
                    }
                    if n.waiters > 0 {
                        lines.push(kv("blocks", format!("{} threads", n.waiters)));
                    }
                }
                lines.push(vec![]);
                lines.extend(text_lines(&t.info));
                Some(Detail {
                    title: format!("thread {id}"),
                    lines,
                    table: None,
                })
            }
            TAB_STATEMENTS => {
                let s = self
                    .statements
                    .iter()
                    .flatten()
                    .find(|s| format!("{}:{}", s.schema, s.digest) == key)?;
                let mut lines = vec![
                    kv("schema", s.schema.clone()),
                    kv("digest", s.digest.clone()),
                    kv("calls", s.calls.to_string()),
                    kv("total", format!("{:.1} ms", s.total_ms)),
                    kv("mean", format!("{:.3} ms", s.mean_ms)),
                    kv("max", format!("{:.3} ms", s.max_ms)),
                    kv("rows examined", s.rows_examined.to_string()),
                    kv("rows sent", s.rows_sent.to_string()),
                    kv("errors", s.errors.to_string()),
                    kv("no index used", s.no_index_used.to_string()),
                    vec![],
                ];
                lines.extend(text_lines(&s.text));
                Some(Detail {
                    title: format!("statement {}", s.digest),
                    lines,
                    table: None,
                })
            }
            TAB_REPLICATION => {
                let name = key.strip_prefix("channel:")?;
                let c = self.replication.channels.iter().find(|c| c.name == name)?;
                Some(Detail {
                    title: if name.is_empty() {
                        format!("replication from {}", c.source)
                    } else {
                        format!("replication channel {name}")
                    },
                    lines: vec![
                        kv("source", c.source.clone()),
                        kv("IO thread", c.io_running.clone()),
                        kv("SQL thread", c.sql_running.clone()),
                        kv(
                            "behind",
                            c.seconds_behind
                                .map(|s| format!("{s}s"))
                                .unwrap_or_else(|| "unknown (a thread is stopped)".into()),
                        ),
                        kv("SQL state", c.state.clone()),
                        kv("using GTID", c.using_gtid.clone()),
                        kv("GTID received", c.gtid_io_pos.clone()),
                        kv(
                            "GTID applied",
                            if c.gtid_executed.is_empty() {
                                self.replication.gtid_slave_pos.clone()
                            } else {
                                c.gtid_executed.clone()
                            },
                        ),
                        kv("last IO error", c.last_io_error.clone()),
                        kv("last SQL error", c.last_sql_error.clone()),
                    ],
                    table: None,
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::mysql::build_tree;
    use crate::sources::mysql::locks::Wait;

    fn sample() -> MysqlSample {
        let t = |id: u64, user: &str, command: &str, label: &str, secs: f64| Thread {
            id,
            user: user.into(),
            host: format!("10.0.0.1:{}", 5000 + id),
            database: "shop".into(),
            command: command.into(),
            seconds: secs,
            label: label.into(),
            info: if command == "Query" {
                format!("select {id}\nfrom t")
            } else {
                String::new()
            },
            trx_seconds: (label == "idle in transaction").then_some(400.0),
            ..Default::default()
        };
        let processlist = vec![
            t(10, "app", "Query", "active", 700.0),
            t(11, "app", "Query", "waiting on a lock", 30.0),
            t(12, "batch", "Sleep", "idle in transaction", 20.0),
            t(13, "web", "Sleep", "idle", 3.0),
        ];
        MysqlSample {
            version: "10.11.6-MariaDB".into(),
            connected_as: "monitor@%".into(),
            own_connection_id: 2,
            max_connections: 10,
            threads_connected: 5,
            threads_running: 2,
            has_process: true,
            connections: count_connections(&processlist),
            processlist,
            ..Default::default()
        }
    }

    #[test]
    fn tile_shows_role_gauge_and_worst_thing() {
        let mut s = sample();
        let m = s.model();
        assert_eq!(m.tables.len(), 5);
        let titles: Vec<&str> = m.tables.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Overview",
                "Processlist",
                "Locks",
                "Statements",
                "Replication"
            ]
        );
        assert!(
            matches!(&m.tile[1], Summary::Gauge { text, .. } if text == "5 / 10 connections (2 running)")
        );
        assert!(
            matches!(&m.tile[2], Summary::Text(c) if c[0].text == "thread 12 idle in transaction 6m40s"),
            "{:?}",
            m.tile[2]
        );
        s.locks = build_tree(
            &[Wait {
                waiter: 11,
                blocker: 12,
                seconds: 30.0,
                lock: "X on `shop`.`t` (PRIMARY)".into(),
            }],
            &s.processlist,
        );
        let m = s.model();
        assert!(
            matches!(&m.tile[2], Summary::Text(c) if c[0].text == "thread 12 (batch) blocks 1 for 30s")
        );
        assert_eq!(m.level, Level::Crit);
        let locks = &m.tables[TAB_LOCKS];
        assert_eq!(locks.rows[0].cells[0].text, "12");
        assert_eq!(locks.rows[0].cells[5].text, "idle in trx 6m40s");
        assert_eq!(locks.rows[1].cells[0].text, "  11");
        assert_eq!(locks.rows[1].cells[6].text, "X on `shop`.`t` (PRIMARY)");
        s.replication.channels = vec![Channel {
            io_running: "No".into(),
            sql_running: "No".into(),
            source: "db-1:3306".into(),
            ..Default::default()
        }];
        s.locks.clear();
        let m = s.model();
        assert!(
            matches!(&m.tile[2], Summary::Text(c) if c[0].text == "replication stopped (IO No, SQL No)")
        );
        assert!(matches!(&m.tile[0], Summary::Text(c) if c[0].text.starts_with("replica")));
    }

    #[test]
    fn overview_counts_by_user_host_and_database() {
        let m = sample().model();
        let rows = &m.tables[TAB_OVERVIEW].rows;
        let find = |k: &str| {
            rows.iter()
                .find(|r| r.key == k)
                .map(|r| r.cells.iter().map(|c| c.text.clone()).collect::<Vec<_>>())
        };
        assert_eq!(
            find("user:app").expect("app"),
            ["user", "app", "2", "1", "1", "0", "0", "0"]
        );
        assert_eq!(
            find("host:10.0.0.1").expect("host"),
            ["host", "10.0.0.1", "4", "1", "1", "1", "1", "0"]
        );
        assert_eq!(find("database:shop").expect("db")[2], "4");
    }

    #[test]
    fn without_process_every_thread_table_says_so() {
        let s = MysqlSample {
            connected_as: "limited@%".into(),
            max_connections: 10,
            threads_connected: 3,
            has_process: false,
            ..Default::default()
        };
        let m = s.model();
        for tab in [TAB_OVERVIEW, TAB_PROCESSLIST, TAB_LOCKS] {
            assert_eq!(
                m.tables[tab].empty, "needs PROCESS: GRANT PROCESS ON *.* TO limited@%",
                "tab {tab}"
            );
        }
        assert!(
            matches!(&m.tile[2], Summary::Text(c) if c[0].text == "needs PROCESS to see threads")
        );
        assert!(
            s.kill(TAB_PROCESSLIST, "5", &BTreeSet::new(), KillMode::Query)
                .unwrap_err()
                .starts_with("needs PROCESS")
        );
    }

    #[test]
    fn kill_maps_rows_and_marked_sets_and_never_the_console() {
        let s = sample();
        let none = BTreeSet::new();
        let (target, op, risk) = s
            .kill(TAB_PROCESSLIST, "10", &none, KillMode::Query)
            .expect("kill");
        assert_eq!(target, "thread 10 app@10.0.0.1:5010: select 10 from t");
        assert_eq!(risk, Risk::Low);
        assert!(op.describe().starts_with("KILL QUERY 10 "));
        let marked: BTreeSet<String> = ["12", "13", "2"].map(String::from).into();
        let (target, op, risk) = s
            .kill(TAB_LOCKS, "10", &marked, KillMode::Connection)
            .expect("kill");
        assert_eq!(target, "thread 12,13");
        assert_eq!(risk, Risk::Medium);
        assert!(
            op.describe()
                .contains("not touching 2 (the console's own connection)"),
            "{}",
            op.describe()
        );
        assert!(
            s.kill(TAB_PROCESSLIST, "2", &none, KillMode::Connection)
                .unwrap_err()
                .contains("own connection")
        );
        assert!(s.kill(TAB_OVERVIEW, "10", &none, KillMode::Query).is_err());
    }

    #[test]
    fn statements_say_when_performance_schema_is_off() {
        let s = sample();
        assert!(
            s.model().tables[TAB_STATEMENTS]
                .empty
                .starts_with("performance_schema is OFF")
        );
    }

    #[test]
    fn detail_shows_the_full_statement() {
        let d = sample().detail(TAB_PROCESSLIST, "10").expect("detail");
        let texts: Vec<String> = d.lines.iter().flatten().map(|c| c.text.clone()).collect();
        assert!(texts.contains(&"select 10".to_string()));
        assert!(texts.contains(&"from t".to_string()));
    }
}
