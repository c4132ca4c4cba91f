//! What the pane shows: the sample as a `PaneModel` (pure), the detail of a row, and the
//! guarded command a key means on a row.

use std::collections::BTreeSet;

use super::model::*;
use super::{PgOp, Target};
use crate::keymap::Action;
use crate::sources::system::{Resolved, Risk};
use crate::views::{Cell, Column, Detail, Level, PaneModel, Row, Summary, Table, fmt};

pub const TAB_ACTIVITY: usize = 0;
pub const TAB_CONNECTIONS: usize = 1;
pub const TAB_LOCKS: usize = 2;
pub const TAB_STATEMENTS: usize = 3;
pub const TAB_REPLICATION: usize = 4;
pub const TAB_SLOTS: usize = 5;
pub const TAB_VACUUM: usize = 6;
pub const TAB_INDEXES: usize = 7;
pub const TAB_DATABASES: usize = 8;
pub const TAB_ROLES: usize = 9;
/// Present only when PgBouncer is configured.
pub const TAB_PGBOUNCER: usize = 10;

/// What a hidden value reads as.
pub const NEEDS_STATS: &str = "needs pg_read_all_stats";
/// Inactive slots holding back more WAL than this are a warning (the pg_slot_inactive rule).
pub const SLOT_RETAINED_WARN_BYTES: i64 = 1 << 30;
/// Wraparound fractions of 2^31 (the pg_xid_wraparound rules).
pub const WRAP_WARN: f64 = 0.5;
pub const WRAP_CRIT: f64 = 0.9;

/// Thresholds shared with the alert rules.
pub const LONG_QUERY_SECS: f64 = 300.0;
pub const IDLE_IN_TX_SECS: f64 = 300.0;
pub const LAG_WARN_BYTES: i64 = 16 * 1024 * 1024;
pub const LAG_WARN_SECS: f64 = 30.0;

fn opt_secs(s: Option<f64>) -> String {
    s.map(fmt::secs).unwrap_or_else(|| "-".into())
}

fn bytes(n: i64) -> String {
    fmt::bytes(n.max(0) as u64)
}

fn lag_bytes(hidden: bool, n: i64) -> String {
    if hidden { "?".into() } else { bytes(n) }
}

fn ago(s: Option<f64>) -> String {
    s.map(|s| format!("{} ago", fmt::secs(s.round())))
        .unwrap_or_else(|| "not yet".into())
}

fn pgbouncer_table(pools: &[super::pgbouncer::Pool]) -> Table {
    Table {
        title: "PgBouncer".into(),
        columns: vec![
            Column::left("POOL", 24),
            Column::left("MODE", 11),
            Column::right("CL-ACT", 6),
            Column::right("CL-WAIT", 7),
            Column::right("SV-ACT", 6),
            Column::right("SV-IDLE", 7),
            Column::right("SV-USED", 7),
            Column::right("MAXWAIT", 8),
            Column::right("QUERIES", 9),
            Column::right("Q/S", 6),
            Column::right("AVG Q", 8),
            Column::right("AVG WAIT", 8),
        ],
        rows: pools
            .iter()
            .map(|p| {
                Row::new(
                    format!("{}/{}", p.database, p.user),
                    vec![
                        format!("{}/{}", p.database, p.user).into(),
                        p.pool_mode.as_str().into(),
                        p.clients_active.to_string().into(),
                        Cell::level(
                            p.clients_waiting.to_string(),
                            if p.clients_waiting > 0 {
                                Level::Warn
                            } else {
                                Level::Normal
                            },
                        ),
                        p.servers_active.to_string().into(),
                        p.servers_idle.to_string().into(),
                        p.servers_used.to_string().into(),
                        fmt::secs(p.max_wait_seconds).into(),
                        p.stats
                            .as_ref()
                            .map_or(
                                "-".into(),
                                |s| fmt::count(s.total_query_count.max(0) as u64),
                            )
                            .into(),
                        p.stats
                            .as_ref()
                            .map_or("-".into(), |s| s.queries_per_second.to_string())
                            .into(),
                        p.stats
                            .as_ref()
                            .map_or("-".into(), |s| format!("{:.1}ms", s.avg_query_ms))
                            .into(),
                        p.stats
                            .as_ref()
                            .map_or("-".into(), |s| format!("{:.1}ms", s.avg_wait_ms))
                            .into(),
                    ],
                )
            })
            .collect(),
        empty: "no PgBouncer pools (see the hint if it is unreachable)".into(),
    }
}

impl PgSample {
    pub fn connection_ratio(&self) -> f64 {
        self.connections.total as f64 / self.usable_connections.max(1) as f64
    }

    pub fn connection_level(&self) -> Level {
        let r = self.connection_ratio();
        if r >= 0.95 {
            Level::Crit
        } else if r >= 0.8 {
            Level::Warn
        } else {
            Level::Ok
        }
    }

    /// The single most alarming thing, for the tile.
    pub fn worst(&self) -> Option<(String, Level)> {
        if let Some(root) = self.locks.first() {
            return Some((
                format!(
                    "pid {} blocks {} for {}",
                    root.pid,
                    root.waiters,
                    fmt::secs(root.longest_wait_seconds)
                ),
                Level::Crit,
            ));
        }
        let lag = self
            .replication
            .standbys
            .iter()
            .map(|s| (s.replay_lag_bytes, s.replay_lag_seconds.unwrap_or(0.0)))
            .chain(self.replication.receiver.iter().map(|r| {
                (
                    r.replay_lag_bytes,
                    if r.replay_lag_bytes > 0 {
                        r.replay_delay_seconds.unwrap_or(0.0)
                    } else {
                        0.0
                    },
                )
            }))
            .max_by(|a, b| a.0.cmp(&b.0));
        if let Some((b, s)) = lag
            && (b >= LAG_WARN_BYTES || s >= LAG_WARN_SECS)
        {
            return Some((
                format!("replay lag {} / {}", bytes(b), fmt::secs(s)),
                Level::Warn,
            ));
        }
        if let Some(r) = &self.replication.receiver
            && r.status != "streaming"
            && !r.hidden
        {
            return Some((format!("WAL receiver {}", r.status), Level::Crit));
        }
        if let Some(s) = self.slots.iter().find(|s| s.wal_status == "lost") {
            return Some((format!("slot {} lost its WAL", s.name), Level::Crit));
        }
        if let Some(d) = self
            .maintenance
            .databases
            .iter()
            .map(|d| (d, d.xid_wraparound_ratio.max(d.mxid_wraparound_ratio)))
            .filter(|(_, r)| *r >= WRAP_WARN)
            .max_by(|a, b| a.1.total_cmp(&b.1))
        {
            return Some((
                format!(
                    "database {} at {} of ID wraparound",
                    d.0.database,
                    fmt::pct(d.1)
                ),
                if d.1 >= WRAP_CRIT {
                    Level::Crit
                } else {
                    Level::Warn
                },
            ));
        }
        if let Some(s) = self.slots.iter().find(|s| s.wal_status == "unreserved") {
            return Some((
                format!("slot {} past max_slot_wal_keep_size", s.name),
                Level::Warn,
            ));
        }
        if let Some(s) = self
            .slots
            .iter()
            .filter(|s| !s.active)
            .filter(|s| s.retained_bytes.unwrap_or(0) > SLOT_RETAINED_WARN_BYTES)
            .max_by_key(|s| s.retained_bytes)
        {
            return Some((
                format!(
                    "inactive slot {} retains {}",
                    s.name,
                    bytes(s.retained_bytes.unwrap_or(0))
                ),
                Level::Warn,
            ));
        }
        let idle = self
            .activity
            .iter()
            .filter(|s| s.state.starts_with("idle in transaction"))
            .filter_map(|s| s.state_seconds.map(|t| (s.pid, t)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((pid, t)) = idle
            && t >= IDLE_IN_TX_SECS
        {
            return Some((
                format!("pid {pid} idle in transaction {}", fmt::secs(t)),
                Level::Warn,
            ));
        }
        let long = self
            .activity
            .iter()
            .filter(|s| s.state == "active" && !s.own)
            .filter_map(|s| s.query_seconds.map(|t| (s.pid, t)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((pid, t)) = long
            && t >= LONG_QUERY_SECS
        {
            return Some((
                format!("pid {pid} query running {}", fmt::secs(t)),
                Level::Warn,
            ));
        }
        None
    }

    pub fn model(&self) -> PaneModel {
        let conn_level = self.connection_level();
        let gauge_text = format!(
            "{} / {} connections ({} reserved)",
            self.connections.total, self.usable_connections, self.reserved_connections
        );
        let gauge = Summary::Gauge {
            label: "connections".into(),
            ratio: self.connection_ratio().min(1.0),
            text: gauge_text,
            level: conn_level,
        };
        let worst = self.worst();
        let mut level = conn_level;
        let mut tile = vec![
            Summary::line(
                format!("{}  up {}", self.role, fmt::secs(self.uptime_seconds)),
                Level::Normal,
            ),
            gauge.clone(),
        ];
        match &worst {
            Some((text, l)) => {
                level = level.max(*l);
                tile.push(Summary::line(text.clone(), *l));
            }
            None => tile.push(Summary::line("no blocking, lag or long queries", Level::Ok)),
        }

        let states: Vec<Cell> = STATES
            .iter()
            .map(|st| {
                let n = self.connections.by_state.get(*st).copied().unwrap_or(0);
                let l = match (*st, n) {
                    (_, 0) => Level::Muted,
                    ("waiting on a lock", _) => Level::Warn,
                    ("idle in transaction" | "idle in transaction (aborted)", _) => Level::Warn,
                    _ => Level::Normal,
                };
                Cell::level(format!("{st} {n}  "), l)
            })
            .collect();
        let mut summary = vec![
            Summary::line(
                format!(
                    "{}  {}  up {}  as {}",
                    self.version.split(" on ").next().unwrap_or(""),
                    self.role,
                    fmt::secs(self.uptime_seconds),
                    self.connected_as
                ),
                Level::Normal,
            ),
            gauge,
            Summary::text(states),
        ];
        if let Some(line) = self.listed_line() {
            summary.push(Summary::line(line, Level::Info));
        }
        if let Some(r) = &self.rates {
            summary.push(Summary::line(
                format!(
                    "tps {}  cache hit {}  deadlocks +{}  temp {}/s",
                    fmt::rate(r.transactions_per_second),
                    r.cache_hit_ratio
                        .map(fmt::pct)
                        .unwrap_or_else(|| "-".into()),
                    r.deadlocks,
                    bytes(r.temp_bytes_per_second as i64)
                ),
                if r.deadlocks > 0 {
                    Level::Warn
                } else {
                    Level::Normal
                },
            ));
        }
        if let Some((text, l)) = &worst {
            summary.push(Summary::line(text.clone(), *l));
        }
        if let Some(line) = self.ages_line() {
            summary.push(Summary::line(line, Level::Muted));
        }
        if self.statements_info.evicted > 0 {
            summary.push(Summary::line(
                format!(
                    "pg_stat_statements evicted {} entries since the last read: the deltas may \
                     miss queries (raise pg_stat_statements.max)",
                    self.statements_info.evicted
                ),
                Level::Warn,
            ));
        }
        for h in &self.hints {
            summary.push(Summary::line(format!("hint: {h}"), Level::Info));
        }

        let mut tables = vec![
            self.activity_table(),
            self.connections_table(),
            self.locks_table(),
            self.statements_table(),
            self.replication_table(),
            self.slots_table(),
            self.vacuum_table(),
            self.indexes_table(),
            self.databases_table(),
            self.roles_table(),
        ];
        if let Some(pools) = &self.pgbouncer_pools {
            tables.push(pgbouncer_table(pools));
        }
        tables.push(super::serverlog::table(self.server_log.as_ref()));
        tables.push(crate::capacity::table(&self.capacity));
        PaneModel {
            tile,
            summary,
            tables,
            level,
        }
    }

    /// Said when the Activity table lists a part of the sessions (the rest are counted
    /// only): sorting and `/` work on the rows listed.
    pub fn listed_line(&self) -> Option<String> {
        let (n, total) = (self.activity.len() as i64, self.connections.total);
        (n < total).then(|| {
            format!(
                "Activity lists {} of {} sessions: all waiting, blocking or idle in a \
                 transaction, then the oldest; the counts are of all {}",
                fmt::count(n.max(0) as u64),
                fmt::count(total as u64),
                fmt::count(total as u64)
            )
        })
    }

    fn activity_table(&self) -> Table {
        Table {
            title: "Activity".into(),
            columns: vec![
                Column::right("PID", 7),
                Column::left("DB", 10),
                Column::left("USER", 10),
                Column::left("APP", 10),
                Column::left("CLIENT", 13),
                Column::left("STATE", 14),
                Column::left("WAIT", 14),
                Column::right("XACT", 7),
                Column::right("QUERY", 7),
                Column::left("SQL", 20),
            ],
            rows: self
                .activity
                .iter()
                .map(|s| {
                    let state_level = match s.state.as_str() {
                        "waiting on a lock" => Level::Crit,
                        st if st.starts_with("idle in transaction") => Level::Warn,
                        "active" => Level::Ok,
                        _ => Level::Muted,
                    };
                    let q = s.query_seconds.filter(|_| s.state != "idle");
                    Row::new(
                        s.pid.to_string(),
                        vec![
                            Cell::level(
                                s.pid.to_string(),
                                if s.own { Level::Muted } else { Level::Normal },
                            ),
                            s.database.as_str().into(),
                            s.user.as_str().into(),
                            if s.own {
                                Cell::level("opsdeck (self)", Level::Muted)
                            } else {
                                s.application.as_str().into()
                            },
                            s.client.as_str().into(),
                            Cell::level(s.state.clone(), state_level),
                            s.wait_event.as_str().into(),
                            opt_secs(s.xact_seconds).into(),
                            Cell::level(
                                opt_secs(q),
                                if q.unwrap_or(0.0) >= LONG_QUERY_SECS {
                                    Level::Warn
                                } else {
                                    Level::Normal
                                },
                            ),
                            if s.hidden() {
                                Cell::level(NEEDS_STATS, Level::Muted)
                            } else {
                                fmt::one_line(&s.query, 200).into()
                            },
                        ],
                    )
                })
                .collect(),
            empty: "no client sessions".into(),
        }
    }

    fn connections_table(&self) -> Table {
        let c = &self.connections;
        let mut rows = Vec::new();
        for (dim, map) in [
            ("database", &c.by_database),
            ("role", &c.by_role),
            ("application", &c.by_application),
            ("client", &c.by_client),
        ] {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by_key(|(name, m)| (-m.values().sum::<i64>(), (*name).clone()));
            for (name, m) in entries {
                let g = |s: &str| m.get(s).copied().unwrap_or(0).to_string();
                rows.push(Row::new(
                    format!("{dim}:{name}"),
                    vec![
                        dim.into(),
                        name.as_str().into(),
                        m.values().sum::<i64>().to_string().into(),
                        g("active").into(),
                        g("waiting on a lock").into(),
                        g("idle in transaction").into(),
                        g("idle in transaction (aborted)").into(),
                        g("idle").into(),
                    ],
                ));
            }
        }
        Table {
            title: "Connections".into(),
            columns: vec![
                Column::left("BY", 11),
                Column::left("NAME", 20),
                Column::right("TOTAL", 6),
                Column::right("ACTIVE", 6),
                Column::right("LOCK", 5),
                Column::right("IDLE-TX", 7),
                Column::right("ABORTED", 7),
                Column::right("IDLE", 6),
            ],
            rows,
            empty: "no client sessions".into(),
        }
    }

    fn locks_table(&self) -> Table {
        Table {
            title: "Locks".into(),
            columns: vec![
                Column::left("PID", 12),
                Column::right("WAITERS", 7),
                Column::right("LONGEST", 8),
                Column::right("WAITED", 8),
                Column::left("STATE", 14),
                Column::left("USER", 10),
                Column::left("DB", 10),
                Column::left("SQL", 20),
            ],
            rows: self
                .locks
                .iter()
                .map(|n| {
                    Row::new(
                        n.pid.to_string(),
                        vec![
                            Cell::level(
                                format!("{}{}", "  ".repeat(n.depth), n.pid),
                                if n.depth == 0 {
                                    Level::Crit
                                } else {
                                    Level::Warn
                                },
                            ),
                            n.waiters.to_string().into(),
                            fmt::secs(n.longest_wait_seconds).into(),
                            opt_secs(n.wait_seconds).into(),
                            n.state.as_str().into(),
                            n.user.as_str().into(),
                            n.database.as_str().into(),
                            fmt::one_line(&n.query, 200).into(),
                        ],
                    )
                })
                .collect(),
            empty: "no session waits on a lock".into(),
        }
    }

    fn statements_table(&self) -> Table {
        Table {
            title: "Statements".into(),
            columns: vec![
                Column::right("CALLS/S", 8),
                Column::right("MS/S", 8),
                Column::right("CALLS", 8),
                Column::right("TOTAL", 8),
                Column::right("MEAN", 8),
                Column::right("ROWS", 8),
                Column::left("DB", 10),
                Column::left("SQL", 20),
            ],
            rows: self
                .statements
                .iter()
                .map(|s| {
                    Row::new(
                        format!("{}:{}:{}", s.queryid, s.database, s.user),
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
                            format!("{:.2}ms", s.mean_ms).into(),
                            fmt::count(s.rows.max(0) as u64).into(),
                            s.database.as_str().into(),
                            if s.hidden {
                                Cell::level(
                                    format!("statements of {} ({NEEDS_STATS})", s.user),
                                    Level::Muted,
                                )
                            } else {
                                fmt::one_line(&s.query, 200).into()
                            },
                        ],
                    )
                })
                .collect(),
            empty: if self.hints.iter().any(|h| h.contains("pg_stat_statements")) {
                "pg_stat_statements is not available (see the hint above)".into()
            } else if self.ages.statements.is_none() {
                "statements are read on the slow schedule: not read yet".into()
            } else {
                "no statements recorded yet".into()
            },
        }
    }

    fn replication_table(&self) -> Table {
        let lag_level = |b: i64, s: Option<f64>| {
            if b >= LAG_WARN_BYTES || s.unwrap_or(0.0) >= LAG_WARN_SECS {
                Level::Warn
            } else {
                Level::Normal
            }
        };
        let mut rows: Vec<Row> = self
            .replication
            .standbys
            .iter()
            .map(|s| {
                Row::new(
                    format!("{}@{}", s.application, s.client),
                    vec![
                        format!("{} ({})", s.application, s.client).into(),
                        if s.hidden {
                            Cell::level(NEEDS_STATS, Level::Muted)
                        } else {
                            Cell::level(
                                format!("{} {}", s.state, s.sync_state),
                                if s.state == "streaming" {
                                    Level::Ok
                                } else {
                                    Level::Warn
                                },
                            )
                        },
                        // Hidden positions are unknown, not zero.
                        lag_bytes(s.hidden, s.write_lag_bytes).into(),
                        lag_bytes(s.hidden, s.flush_lag_bytes).into(),
                        Cell::level(
                            lag_bytes(s.hidden, s.replay_lag_bytes),
                            lag_level(s.replay_lag_bytes, s.replay_lag_seconds),
                        ),
                        opt_secs(s.write_lag_seconds).into(),
                        opt_secs(s.flush_lag_seconds).into(),
                        opt_secs(s.replay_lag_seconds).into(),
                    ],
                )
            })
            .collect();
        if let Some(r) = &self.replication.receiver {
            rows.push(Row::new(
                "receiver",
                vec![
                    format!("receiver from {}", r.sender).into(),
                    if r.hidden {
                        Cell::level(format!("unknown ({NEEDS_STATS})"), Level::Muted)
                    } else {
                        Cell::level(
                            r.status.clone(),
                            if r.status == "streaming" {
                                Level::Ok
                            } else {
                                Level::Crit
                            },
                        )
                    },
                    "-".into(),
                    "-".into(),
                    Cell::level(
                        bytes(r.replay_lag_bytes),
                        lag_level(r.replay_lag_bytes, None),
                    ),
                    "-".into(),
                    "-".into(),
                    opt_secs(r.replay_delay_seconds).into(),
                ],
            ));
        }
        Table {
            title: "Replication".into(),
            columns: vec![
                Column::left("STANDBY", 22),
                Column::left("STATE", 14),
                Column::right("WRITE", 9),
                Column::right("FLUSH", 9),
                Column::right("REPLAY", 9),
                Column::right("W-LAG", 7),
                Column::right("F-LAG", 7),
                Column::right("R-LAG", 7),
            ],
            rows,
            empty: "no standby connected".into(),
        }
    }

    fn vacuum_table(&self) -> Table {
        Table {
            title: "Vacuum".into(),
            columns: vec![
                Column::left("TABLE", 24),
                Column::right("LIVE", 9),
                Column::right("DEAD", 9),
                Column::right("DEAD%", 6),
                Column::right("VACUUMED", 9),
                Column::right("ANALYZED", 9),
            ],
            rows: self
                .maintenance
                .dead_tuples
                .iter()
                .map(|t| {
                    let pct = t.dead_tuples as f64 / (t.live_tuples + t.dead_tuples).max(1) as f64;
                    Row::new(
                        t.table.clone(),
                        vec![
                            t.table.as_str().into(),
                            fmt::count(t.live_tuples.max(0) as u64).into(),
                            fmt::count(t.dead_tuples.max(0) as u64).into(),
                            Cell::level(
                                fmt::pct(pct),
                                if pct >= 0.2 {
                                    Level::Warn
                                } else {
                                    Level::Normal
                                },
                            ),
                            opt_secs(t.last_vacuum_seconds).into(),
                            opt_secs(t.last_analyze_seconds).into(),
                        ],
                    )
                })
                .collect(),
            empty: "no dead tuples in this database".into(),
        }
    }

    fn indexes_table(&self) -> Table {
        super::index_view::table(self)
    }

    fn databases_table(&self) -> Table {
        let wrap_level = |r: f64| {
            if r >= WRAP_CRIT {
                Level::Crit
            } else if r >= WRAP_WARN {
                Level::Warn
            } else {
                Level::Normal
            }
        };
        Table {
            title: "Databases".into(),
            columns: vec![
                Column::left("DATABASE", 20),
                Column::right("SIZE", 10),
                Column::right("XID AGE", 14),
                Column::right("TO WRAP", 8),
                Column::right("MXID AGE", 14),
                Column::right("TO WRAP", 8),
            ],
            rows: self
                .maintenance
                .databases
                .iter()
                .map(|d| {
                    Row::new(
                        d.database.clone(),
                        vec![
                            d.database.as_str().into(),
                            d.size_bytes.map(bytes).unwrap_or_else(|| "-".into()).into(),
                            Cell::level(
                                fmt::thousands(d.xid_age),
                                // autovacuum_freeze_max_age defaults to 200M.
                                if d.xid_age >= 200_000_000 {
                                    wrap_level(d.xid_wraparound_ratio).max(Level::Warn)
                                } else {
                                    Level::Normal
                                },
                            ),
                            Cell::level(
                                fmt::pct(d.xid_wraparound_ratio),
                                wrap_level(d.xid_wraparound_ratio),
                            ),
                            fmt::thousands(d.mxid_age).into(),
                            Cell::level(
                                fmt::pct(d.mxid_wraparound_ratio),
                                wrap_level(d.mxid_wraparound_ratio),
                            ),
                        ],
                    )
                })
                .collect(),
            empty: if self.ages.wraparound.is_none() {
                "database ages are read on the slow schedule: not read yet".into()
            } else {
                "no databases visible".into()
            },
        }
    }

    fn slots_table(&self) -> Table {
        Table {
            title: "Slots".into(),
            columns: vec![
                Column::left("SLOT", 20),
                Column::left("TYPE", 8),
                Column::left("DB", 10),
                Column::left("ACTIVE", 10),
                Column::left("WAL", 10),
                Column::right("RETAINED", 9),
                Column::right("SAFE", 9),
                Column::right("INACTIVE", 8),
            ],
            rows: self
                .slots
                .iter()
                .map(|s| {
                    let retained = s.retained_bytes.unwrap_or(0);
                    Row::new(
                        s.name.clone(),
                        vec![
                            Cell::new(if s.temporary {
                                format!("{} (temp)", s.name)
                            } else {
                                s.name.clone()
                            }),
                            s.slot_type.as_str().into(),
                            s.database.as_str().into(),
                            match (s.active, s.active_pid) {
                                (true, Some(pid)) => Cell::level(format!("pid {pid}"), Level::Ok),
                                (true, None) => Cell::level("yes", Level::Ok),
                                (false, _) => Cell::level(
                                    "no",
                                    if retained > SLOT_RETAINED_WARN_BYTES {
                                        Level::Warn
                                    } else {
                                        Level::Muted
                                    },
                                ),
                            },
                            Cell::level(
                                if s.wal_status.is_empty() {
                                    "-".to_string()
                                } else {
                                    s.wal_status.clone()
                                },
                                match s.wal_status.as_str() {
                                    "lost" => Level::Crit,
                                    "unreserved" => Level::Warn,
                                    _ => Level::Normal,
                                },
                            ),
                            Cell::level(
                                s.retained_bytes.map(bytes).unwrap_or_else(|| "-".into()),
                                if !s.active && retained > SLOT_RETAINED_WARN_BYTES {
                                    Level::Warn
                                } else {
                                    Level::Normal
                                },
                            ),
                            s.safe_wal_size
                                .map(bytes)
                                .unwrap_or_else(|| "no limit".into())
                                .into(),
                            opt_secs(s.inactive_seconds).into(),
                        ],
                    )
                })
                .collect(),
            empty: if self.ages.slots.is_none() {
                "slots are read on the slow schedule: not read yet".into()
            } else {
                "no replication slots".into()
            },
        }
    }

    /// "read every 30s: statements 12s ago  sizes 12s ago …" (the heavy figures' ages).
    pub fn ages_line(&self) -> Option<String> {
        let a = &self.ages;
        a.settings?;
        let mut parts = vec![];
        if a.statements.is_some() || self.statements_info.entries > 0 {
            let over = self
                .statements_info
                .interval_seconds
                .map(|s| format!(" (deltas over {})", fmt::secs(s.round())))
                .unwrap_or_default();
            parts.push(format!("statements {}{over}", ago(a.statements)));
        }
        parts.push(format!("sizes {}", ago(a.sizes)));
        parts.push(format!("slots {}", ago(a.slots)));
        parts.push(format!("xid ages {}", ago(a.wraparound)));
        parts.push(format!("settings {}", ago(a.settings)));
        Some(format!(
            "read every {}: {}",
            fmt::secs(self.slow_refresh_seconds),
            parts.join("  ")
        ))
    }

    fn roles_table(&self) -> Table {
        Table {
            title: "Roles".into(),
            columns: vec![
                Column::left("ROLE", 20),
                Column::right("CONNECTIONS", 11),
                Column::right("LIMIT", 8),
            ],
            rows: self
                .roles
                .iter()
                .map(|r| {
                    Row::new(
                        r.role.clone(),
                        vec![
                            r.role.as_str().into(),
                            r.connections.to_string().into(),
                            if r.connection_limit < 0 {
                                "none".to_string()
                            } else {
                                r.connection_limit.to_string()
                            }
                            .into(),
                        ],
                    )
                })
                .collect(),
            empty: "no login roles visible".into(),
        }
    }

    /// Cancel or terminate the selected session, or every marked one (Activity and Locks
    /// tabs, whose row keys are pids). The console's own sessions are never targets.
    pub fn command(
        &self,
        table: usize,
        key: &str,
        marked: &BTreeSet<String>,
        action: Action,
    ) -> Option<Resolved<PgOp>> {
        if !matches!(action, Action::CancelQuery | Action::Terminate) {
            return None;
        }
        if table != TAB_ACTIVITY && table != TAB_LOCKS {
            return Some(Err(
                "cancel/terminate work on the Activity and Locks tabs".into()
            ));
        }
        let keys: Vec<&str> = if marked.is_empty() {
            vec![key]
        } else {
            marked.iter().map(String::as_str).collect()
        };
        let own: BTreeSet<i32> = self
            .activity
            .iter()
            .filter(|s| s.own)
            .map(|s| s.pid)
            .collect();
        let parsed: Vec<i32> = keys.iter().filter_map(|k| k.parse().ok()).collect();
        if parsed.is_empty() {
            return Some(Err("select a session (a row with a pid) first".into()));
        }
        let pids: Vec<i32> = parsed
            .iter()
            .copied()
            .filter(|p| !own.contains(p))
            .collect();
        if pids.is_empty() {
            return Some(Err(
                "that is the console's own session: not touching it".into()
            ));
        }
        let target = format!(
            "pid {}",
            pids.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        // The identity the op checks when it runs: (pid, backend_start) as shown now.
        let targets: Vec<Target> = pids
            .iter()
            .map(|p| {
                self.activity
                    .iter()
                    .find(|s| s.pid == *p)
                    .map(Target::of)
                    .unwrap_or_else(|| Target::unknown(*p))
            })
            .collect();
        Some(Ok(if action == Action::CancelQuery {
            (target, PgOp::Cancel { targets }, Risk::Low)
        } else {
            (target, PgOp::Terminate { targets }, Risk::Medium)
        }))
    }

    /// The full query (and where it waits) of a session or a statement.
    /// The Log tab's index: last, after PgBouncer's when there is one.
    pub fn log_tab(&self) -> usize {
        TAB_PGBOUNCER + usize::from(self.pgbouncer_pools.is_some())
    }

    pub fn detail(&self, table: usize, key: &str) -> Option<Detail> {
        if table == self.log_tab() {
            return super::serverlog::detail(self.server_log.as_ref()?, key);
        }
        let kv =
            |k: &str, v: String| vec![Cell::level(format!("{k:<12}"), Level::Muted), Cell::new(v)];
        let query_lines = |q: &str| {
            q.lines()
                .map(|l| vec![Cell::new(l.to_string())])
                .collect::<Vec<_>>()
        };
        match table {
            TAB_ACTIVITY | TAB_LOCKS => {
                let pid: i32 = key.parse().ok()?;
                let s = self.activity.iter().find(|s| s.pid == pid)?;
                let mut lines = vec![
                    kv("database", s.database.clone()),
                    kv("user", s.user.clone()),
                    kv("application", s.application.clone()),
                    kv("client", s.client.clone()),
                    kv("state", s.state.clone()),
                    kv("wait event", s.wait_event.clone()),
                    kv("transaction", opt_secs(s.xact_seconds)),
                    kv("query", opt_secs(s.query_seconds)),
                    kv(
                        "connected",
                        s.backend_start
                            .and_then(|us| {
                                use chrono::TimeZone;
                                chrono::Local.timestamp_micros(us).single()
                            })
                            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
                            .unwrap_or_else(|| NEEDS_STATS.into()),
                    ),
                ];
                if let Some(n) = self.locks.iter().find(|n| n.pid == pid) {
                    if !n.blocked_by.is_empty() {
                        lines.push(kv("blocked by", format!("{:?}", n.blocked_by)));
                    }
                    if let Some(w) = n.wait_seconds {
                        lines.push(kv(
                            "lock wait",
                            format!("{} (from {})", fmt::secs(w), self.lock_wait_source),
                        ));
                    }
                    if n.waiters > 0 {
                        lines.push(kv(
                            "blocks",
                            format!(
                                "{} session{}",
                                n.waiters,
                                if n.waiters == 1 { "" } else { "s" }
                            ),
                        ));
                    }
                }
                lines.push(vec![]);
                lines.extend(query_lines(&s.query));
                Some(Detail {
                    title: format!("pid {pid}"),
                    lines,
                    table: None,
                })
            }
            TAB_STATEMENTS => {
                let s = self
                    .statements
                    .iter()
                    .find(|s| format!("{}:{}:{}", s.queryid, s.database, s.user) == key)?;
                let mut lines = vec![
                    kv("database", s.database.clone()),
                    kv("user", s.user.clone()),
                    kv("calls", s.calls.to_string()),
                    kv("total", format!("{:.1} ms", s.total_ms)),
                    kv("mean", format!("{:.3} ms", s.mean_ms)),
                    kv("rows", s.rows.to_string()),
                    vec![],
                ];
                lines.extend(query_lines(&s.query));
                Some(Detail {
                    title: format!("statement {}", s.queryid),
                    lines,
                    table: None,
                })
            }
            TAB_INDEXES => super::index_view::detail(self, key),
            TAB_SLOTS => {
                let sl = self.slots.iter().find(|x| x.name == key)?;
                let opt_bytes = |b: Option<i64>, none: &str| b.map(bytes).unwrap_or(none.into());
                Some(Detail {
                    title: format!("slot {}", sl.name),
                    lines: vec![
                        kv("type", sl.slot_type.clone()),
                        kv("database", sl.database.clone()),
                        kv("plugin", sl.plugin.clone()),
                        kv(
                            "active",
                            match sl.active_pid {
                                Some(p) if sl.active => format!("yes (pid {p})"),
                                _ if sl.active => "yes".into(),
                                _ => "no".into(),
                            },
                        ),
                        kv("temporary", sl.temporary.to_string()),
                        kv("wal status", sl.wal_status.clone()),
                        kv("retained", opt_bytes(sl.retained_bytes, "-")),
                        kv("safe size", opt_bytes(sl.safe_wal_size, "no limit")),
                        kv("inactive", opt_secs(sl.inactive_seconds)),
                        vec![],
                        vec![Cell::level(
                            "An inactive slot keeps WAL until its consumer returns; drop an \
                             abandoned one with SELECT pg_drop_replication_slot('NAME').",
                            Level::Muted,
                        )],
                    ],
                    table: None,
                })
            }
            _ => None,
        }
    }
}

/// Actions that need a typed parameter: the question, then the command from the answer.
impl PgSample {
    pub fn prompt(&self, table: usize, key: &str, action: Action) -> Option<String> {
        match action {
            Action::TerminateIdle => {
                Some("terminate sessions idle in transaction longer than (e.g. 5m):".into())
            }
            Action::ConnectionLimit if table == TAB_ROLES => {
                let current = self
                    .roles
                    .iter()
                    .find(|r| r.role == key)
                    .map(|r| r.connection_limit)?;
                let now = if current < 0 {
                    "none".to_string()
                } else {
                    current.to_string()
                };
                Some(format!(
                    "connection limit for role {key} (now {now}; -1 removes it):"
                ))
            }
            _ => None,
        }
    }

    pub fn command_with_input(
        &self,
        table: usize,
        key: &str,
        action: Action,
        input: &str,
    ) -> Option<Resolved<PgOp>> {
        match action {
            Action::TerminateIdle => {
                let older = match crate::input::parse_duration(input) {
                    Ok(d) => d,
                    Err(e) => return Some(Err(e)),
                };
                let op = PgOp::idle_in_transaction(self, older.as_secs());
                if let PgOp::TerminateIdleInTransaction { preview, .. } = &op
                    && preview.is_empty()
                {
                    return Some(Err(format!(
                        "no session is idle in transaction longer than {}",
                        crate::views::fmt::duration(older)
                    )));
                }
                let target = format!(
                    "idle in transaction > {}",
                    crate::views::fmt::duration(older)
                );
                Some(Ok((target, op, Risk::Medium)))
            }
            Action::ConnectionLimit if table == TAB_ROLES => {
                let limit: i32 = match input.trim().parse() {
                    Ok(n) if n >= -1 => n,
                    _ => {
                        return Some(Err(format!(
                            "{input:?} is not a connection limit (a number, -1 for none)"
                        )));
                    }
                };
                Some(Ok((
                    format!("role {key}"),
                    PgOp::connection_limit(self, key, limit),
                    Risk::Medium,
                )))
            }
            Action::ConnectionLimit => Some(Err("select a role on the Roles tab first".into())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::postgres::{LockNode, queries};

    fn sample() -> PgSample {
        let sess = |pid: i32, state: &str, secs: f64, own: bool| Session {
            pid,
            database: "shop".into(),
            user: "app".into(),
            application: if own { "opsdeck" } else { "web" }.into(),
            state: state.into(),
            query_seconds: Some(secs),
            state_seconds: Some(secs),
            query: format!("select {pid}\nfrom t"),
            own,
            backend_start: Some(1_700_000_000_000_000 + pid as i64),
            ..Default::default()
        };
        let activity = vec![
            sess(10, "active", 700.0, false),
            sess(11, "waiting on a lock", 30.0, false),
            sess(12, "idle in transaction", 20.0, false),
            sess(99, "active", 0.0, true),
        ];
        PgSample {
            role: "primary".into(),
            max_connections: 13,
            reserved_connections: 3,
            usable_connections: 10,
            connections: count_connections(&activity),
            activity,
            ..Default::default()
        }
    }

    #[test]
    fn tile_shows_role_bar_and_worst_thing() {
        let mut s = sample();
        let m = s.model();
        // The ten tabs, then Log and Capacity.
        assert_eq!(m.tables.len(), 12);
        assert_eq!(m.tables[s.log_tab()].title, "Log");
        assert_eq!(m.tables[s.log_tab() + 1].title, "Capacity");
        assert_eq!(m.tables[TAB_SLOTS].title, "Slots");
        assert_eq!(m.tables[TAB_ROLES].title, "Roles");
        assert_eq!(m.tables[TAB_LOCKS].title, "Locks");
        assert!(
            matches!(&m.tile[1], Summary::Gauge { text, .. } if text == "4 / 10 connections (3 reserved)")
        );
        assert!(
            matches!(&m.tile[2], Summary::Text(c) if c[0].text == "pid 10 query running 11m40s")
        );
        s.locks = vec![LockNode {
            pid: 10,
            waiters: 1,
            longest_wait_seconds: 30.0,
            ..Default::default()
        }];
        let m = s.model();
        assert!(matches!(&m.tile[2], Summary::Text(c) if c[0].text == "pid 10 blocks 1 for 30s"));
        assert_eq!(m.level, Level::Crit);
    }

    #[test]
    fn cancel_and_terminate_map_rows_and_marked_sets_but_never_the_console() {
        let s = sample();
        let none = BTreeSet::new();
        let (target, op, risk) = s
            .command(TAB_ACTIVITY, "10", &none, Action::CancelQuery)
            .and_then(Result::ok)
            .expect("cancel");
        assert_eq!(target, "pid 10");
        let PgOp::Cancel { targets } = &op else {
            panic!("{op:?}")
        };
        assert_eq!(targets.iter().map(|t| t.pid).collect::<Vec<_>>(), vec![10]);
        assert_eq!(targets[0].backend_start, Some(1_700_000_000_000_010));
        assert_eq!(targets[0].query, "select 10 from t");
        assert!(
            op.describe()
                .contains("pid 10 (app@shop: select 10 from t)")
        );
        assert_eq!(risk, Risk::Low);
        let marked: BTreeSet<String> = ["11", "12", "99"].map(String::from).into();
        let (target, op, risk) = s
            .command(TAB_LOCKS, "10", &marked, Action::Terminate)
            .and_then(Result::ok)
            .expect("terminate");
        assert_eq!(target, "pid 11,12");
        let PgOp::Terminate { targets } = &op else {
            panic!("{op:?}")
        };
        assert_eq!(
            targets.iter().map(|t| t.pid).collect::<Vec<_>>(),
            vec![11, 12]
        );
        assert_eq!(risk, Risk::Medium);
        assert!(matches!(
            s.command(TAB_ACTIVITY, "99", &none, Action::Terminate),
            Some(Err(e)) if e.contains("own session")
        ));
        assert!(matches!(
            s.command(TAB_DATABASES, "shop", &none, Action::Terminate),
            Some(Err(_))
        ));
        assert!(
            s.command(TAB_ACTIVITY, "10", &none, Action::Refresh)
                .is_none()
        );
    }

    #[test]
    fn hidden_values_read_as_needing_the_privilege_never_as_down() {
        let mut s = sample();
        s.replication.receiver = Some(Receiver {
            status: "unknown".into(),
            hidden: true,
            ..Default::default()
        });
        s.replication.standbys = vec![Standby {
            application: "r1".into(),
            client: "10.0.0.9".into(),
            hidden: true,
            ..Default::default()
        }];
        let m = s.model();
        assert_ne!(m.level, Level::Crit);
        let rows = &m.tables[TAB_REPLICATION].rows;
        assert_eq!(rows[0].cells[1].text, NEEDS_STATS);
        assert_eq!(rows[0].cells[4].text, "?");
        assert_eq!(rows[1].cells[1].text, "unknown (needs pg_read_all_stats)");
        assert_eq!(rows[1].cells[1].level, Level::Muted);
    }

    #[test]
    fn slots_wraparound_and_slow_ages_show() {
        let mut s = sample();
        s.slots = vec![Slot {
            name: "old_sub".into(),
            slot_type: "logical".into(),
            database: "shop".into(),
            wal_status: "reserved".into(),
            retained_bytes: Some(3 << 30),
            ..Default::default()
        }];
        s.ages = FigureAges {
            settings: Some(42.0),
            statements: Some(12.4),
            sizes: Some(42.0),
            slots: Some(42.0),
            wraparound: Some(42.0),
            ..Default::default()
        };
        s.slow_refresh_seconds = 30.0;
        s.statements_info.interval_seconds = Some(30.2);
        let m = s.model();
        let row = &m.tables[TAB_SLOTS].rows[0];
        assert_eq!(row.cells[3].text, "no");
        assert_eq!(row.cells[5].text, "3.0 GiB");
        assert_eq!(row.cells[5].level, Level::Warn);
        let lines: Vec<String> = m
            .summary
            .iter()
            .filter_map(|l| match l {
                Summary::Text(c) => Some(c.iter().map(|c| c.text.clone()).collect()),
                _ => None,
            })
            .collect();
        assert!(
            lines.iter().any(|l| l
                == "read every 30s: statements 12s ago (deltas over 30s)  sizes 42s ago  \
                    slots 42s ago  xid ages 42s ago  settings 42s ago"),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l == "inactive slot old_sub retains 3.0 GiB")
        );
        // Wraparound outranks the slot; 90% is critical.
        s.maintenance.databases = vec![DbHealth {
            database: "shop".into(),
            xid_age: 1_932_735_283,
            xid_wraparound_ratio: 0.9,
            ..Default::default()
        }];
        let m = s.model();
        assert_eq!(m.level, Level::Crit);
        let row = &m.tables[TAB_DATABASES].rows[0];
        assert_eq!(row.cells[3].text, "90%");
    }

    #[test]
    fn idle_in_transaction_preview_and_connection_limit_describe() {
        let mut s = sample();
        s.roles = vec![RoleLimit {
            role: "app".into(),
            connection_limit: 50,
            connections: 3,
        }];
        let op = PgOp::idle_in_transaction(&s, 10);
        assert_eq!(
            op.describe(),
            "SELECT pg_terminate_backend(pid) for sessions idle in transaction longer than 10s: \
             1 (pid 12 (app@shop: select 12 from t); re-checked when it runs)"
        );
        assert_eq!(
            PgOp::connection_limit(&s, "app", 5).describe(),
            "ALTER ROLE app CONNECTION LIMIT 5 (currently 50)"
        );
    }

    #[test]
    fn detail_shows_the_full_query() {
        let d = sample().detail(TAB_ACTIVITY, "10").expect("detail");
        let texts: Vec<String> = d.lines.iter().flatten().map(|c| c.text.clone()).collect();
        assert!(texts.contains(&"select 10".to_string()));
        assert!(texts.contains(&"from t".to_string()));
    }

    #[test]
    fn statement_columns_follow_the_version() {
        let q = queries::statements_snapshot;
        assert!(q(120000).contains("total_time"));
        assert!(!q(120000).contains("toplevel"));
        assert!(q(130000).contains("total_exec_time"));
        assert!(!q(130000).contains("toplevel"));
        assert!(q(170000).contains("where toplevel"));
        assert!(queries::blocking(140000).contains("waitstart"));
        assert!(!queries::blocking(130000).contains("waitstart"));
        assert!(queries::slots(170000, false).contains("inactive_since"));
        assert!(queries::slots(160000, true).contains("pg_last_wal_receive_lsn"));
        assert!(!queries::slots(120000, false).contains("wal_status"));
    }
}
