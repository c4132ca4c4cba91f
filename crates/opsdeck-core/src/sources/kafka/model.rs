//! The Kafka pane as plain data: tiles, the Brokers/Topics/Groups tables, topic and group
//! details, and the guarded commands a selected row maps to. Pure.

use std::collections::BTreeSet;

use super::{KafkaOp, KafkaSample, LagStatus, ResetTo, TABLE_BROKERS, TABLE_GROUPS, TABLE_TOPICS};
use crate::keymap::Action;
use crate::sources::system::{Resolved, Risk};

use crate::views::{Cell, Column, Detail, Level, PaneModel, Row, Summary, Table, fmt};

fn status_level(s: LagStatus) -> Level {
    match s {
        LagStatus::Ok => Level::Ok,
        LagStatus::Warn | LagStatus::Rewind => Level::Warn,
        LagStatus::Stall | LagStatus::Stop => Level::Crit,
    }
}

/// The STATUS cell of a group: muted while judging or abandoned (they raise nothing).
fn group_status(g: &super::GroupInfo) -> Cell {
    if g.abandoned {
        Cell::level("ABANDONED", Level::Muted)
    } else if g.judging {
        Cell::level("judging…", Level::Muted)
    } else {
        Cell::level(g.status.label(), status_level(g.status))
    }
}

fn partition_status(g: &super::GroupInfo, p: &super::GroupPartition) -> Cell {
    if g.abandoned {
        Cell::level("ABANDONED", Level::Muted)
    } else if p.judging {
        Cell::level("judging…", Level::Muted)
    } else {
        Cell::level(p.status.label(), status_level(p.status))
    }
}

/// Short flags of a group: records lost, truncated logs, uncommitted assignments, stale.
fn group_flags(g: &super::GroupInfo) -> Cell {
    let mut f = Vec::new();
    let mut level = Level::Normal;
    if g.lost_records > 0 {
        f.push(format!("lost {}", fmt::thousands(g.lost_records)));
        level = Level::Crit;
    }
    if g.ahead_partitions > 0 {
        f.push(format!("ahead of log {}p", g.ahead_partitions));
        level = Level::Crit;
    }
    if g.uncommitted_partitions > 0 {
        f.push(format!("uncommitted {}p", g.uncommitted_partitions));
        level = level.max(Level::Warn);
    }
    if let Some(s) = g.stale_secs {
        f.push(format!("stale {}", fmt::secs(s)));
        level = level.max(Level::Warn);
    }
    Cell::level(f.join(", "), level)
}

fn partition_flags(p: &super::GroupPartition) -> Cell {
    let mut f = Vec::new();
    let mut level = Level::Normal;
    if p.lost_records > 0 {
        f.push(format!("lost {}", fmt::thousands(p.lost_records)));
        level = Level::Crit;
    }
    if p.ahead_by > 0 {
        f.push(format!("ahead of log by {}", fmt::thousands(p.ahead_by)));
        level = Level::Crit;
    }
    if let Some(s) = p.uncommitted_secs {
        f.push(format!("uncommitted {}", fmt::secs(s)));
        level = level.max(Level::Warn);
    }
    if let Some(s) = p.stale_secs {
        f.push(format!("stale {}", fmt::secs(s)));
        level = level.max(Level::Warn);
    }
    if p.unread {
        f.push("unread".into());
    }
    Cell::level(f.join(", "), level)
}

fn opt(v: Option<i64>) -> String {
    v.map(fmt::thousands).unwrap_or_else(|| "-".into())
}

fn secs(v: Option<f64>) -> String {
    v.map(fmt::secs).unwrap_or_else(|| "-".into())
}

impl KafkaSample {
    fn visible_topics(&self) -> impl Iterator<Item = &super::TopicInfo> {
        self.topics
            .iter()
            .filter(move |t| self.show_internal || !t.internal)
    }

    pub fn model(&self) -> PaneModel {
        let urp: usize = self.topics.iter().map(|t| t.under_replicated).sum();
        let offline: usize = self.topics.iter().map(|t| t.offline).sum();
        let under_min: usize = self.topics.iter().map(|t| t.under_min_isr).sum();
        // The counts are of the topics shown (internal ones only with show_internal).
        let parts: usize = self.visible_topics().map(|t| t.partition_count).sum();
        let worst = self
            .groups
            .iter()
            .map(|g| g.status)
            .max()
            .unwrap_or_default();
        let mut level = if offline + under_min > 0 {
            Level::Crit
        } else if urp > 0 {
            Level::Warn
        } else {
            Level::Ok
        };
        level = level.max(match status_level(worst) {
            Level::Ok => Level::Ok,
            l => l,
        });
        let cluster = format!(
            "{}  {}  {}  {} under-replicated  {} under-min-ISR  {} offline",
            plural(self.brokers.len(), "broker"),
            plural(self.visible_topics().count(), "topic"),
            plural(parts, "partition"),
            urp,
            under_min,
            offline
        );
        let behind = self
            .groups
            .iter()
            .filter(|g| g.status != LagStatus::Ok)
            .count();
        let muted = |f: fn(&super::GroupInfo) -> bool| self.groups.iter().filter(|g| f(g)).count();
        let mut quiet = Vec::new();
        for (n, what) in [
            (muted(|g| g.judging), "judging"),
            (muted(|g| g.abandoned), "abandoned"),
            (muted(|g| g.stale_secs.is_some()), "stale"),
        ] {
            if n > 0 {
                quiet.push(format!("{n} {what}"));
            }
        }
        let quiet = if quiet.is_empty() {
            String::new()
        } else {
            format!(" ({})", quiet.join(", "))
        };
        let groups_line = match self.groups.first() {
            Some(g) if g.status != LagStatus::Ok => format!(
                "{} groups, {} not OK; worst {} {} lag {} ({}){quiet}",
                self.groups.len(),
                behind,
                g.name,
                g.status.label(),
                fmt::thousands(g.total_lag),
                secs(g.lag_seconds)
            ),
            _ if !quiet.is_empty() => format!("{} groups, none failing{quiet}", self.groups.len()),
            _ => format!("{} groups, all OK", self.groups.len()),
        };
        let summary = vec![
            Summary::line(
                cluster.clone(),
                if urp + offline > 0 { level } else { Level::Ok },
            ),
            Summary::line(groups_line.clone(), status_level(worst)),
        ];
        let mut summary = summary;
        if let Some(why) = &self.offsets_fallback {
            summary.push(Summary::line(
                format!("offsets: per-group fallback ({why})"),
                Level::Info,
            ));
        }
        if !self.balance.reassignments.is_empty() {
            summary.push(Summary::line(
                format!(
                    "{} partition(s) reassigning (Balance tab)",
                    self.balance.reassignments.len()
                ),
                Level::Info,
            ));
        }
        for n in &self.notes {
            summary.push(Summary::line(n.clone(), Level::Info));
        }
        PaneModel {
            tile: summary.clone(),
            summary,
            tables: vec![
                self.brokers_table(),
                self.topics_table(),
                self.groups_table(),
                self.balance.table(),
                crate::capacity::table(&self.capacity),
            ],
            level,
        }
    }

    fn brokers_table(&self) -> Table {
        Table {
            title: "Brokers".into(),
            columns: vec![
                Column::right("ID", 4),
                Column::left("HOST", 24),
                Column::left("RACK", 8),
                Column::right("LEADERS", 7),
                Column::left("ROLE", 10),
            ],
            rows: self
                .brokers
                .iter()
                .map(|b| {
                    Row::new(
                        b.id.to_string(),
                        vec![
                            Cell::new(b.id.to_string()),
                            Cell::new(format!("{}:{}", b.host, b.port)),
                            Cell::new(b.rack.clone().unwrap_or_else(|| "-".into())),
                            Cell::new(b.leaders.to_string()),
                            Cell::new(if b.controller { "controller" } else { "" }),
                        ],
                    )
                })
                .collect(),
            empty: "no brokers".into(),
        }
    }

    fn topics_table(&self) -> Table {
        Table {
            title: "Topics".into(),
            columns: vec![
                Column::left("TOPIC", 30),
                Column::right("PARTS", 6),
                Column::right("RF", 3),
                Column::right("URP", 4),
                Column::right("OFFLINE", 7),
                Column::right("MSG/S", 8),
                Column::right("RETENTION", 9),
                Column::left("CLEANUP", 14),
            ],
            rows: self
                .visible_topics()
                .map(|t| {
                    let lv = |n: usize, l: Level| if n > 0 { l } else { Level::Normal };
                    Row::new(
                        t.name.clone(),
                        vec![
                            Cell::new(t.name.clone()),
                            Cell::new(t.partition_count.to_string()),
                            Cell::new(t.replication_factor.to_string()),
                            Cell::level(
                                t.under_replicated.to_string(),
                                lv(t.under_replicated, Level::Warn),
                            ),
                            Cell::level(t.offline.to_string(), lv(t.offline, Level::Crit)),
                            Cell::new(
                                t.messages_per_sec
                                    .map(fmt::rate)
                                    .unwrap_or_else(|| "-".into()),
                            ),
                            Cell::new(match t.retention_ms {
                                Some(ms) if ms < 0 => "forever".to_string(),
                                Some(ms) => fmt::duration(std::time::Duration::from_millis(
                                    ms.max(0) as u64,
                                )),
                                None => "-".into(),
                            }),
                            Cell::new(t.cleanup_policy.clone().unwrap_or_else(|| "-".into())),
                        ],
                    )
                })
                .collect(),
            empty: "no topics".into(),
        }
    }

    fn groups_table(&self) -> Table {
        let muted = self.groups.iter().any(|g| g.abandoned || g.judging);
        let flags = self.groups.iter().any(|g| !group_flags(g).text.is_empty());
        let mut columns = vec![
            Column::left("GROUP", 28),
            Column::left("STATE", 11),
            Column::right("MEMBERS", 7),
            Column::right("LAG", 10),
            Column::right("MAX", 8),
            Column::right("LAG TIME", 8),
            Column::left("TREND", 12),
            Column::left("STATUS", if muted { 9 } else { 6 }).keep(),
        ];
        if flags {
            columns.push(Column::left("FLAGS", 16));
        }
        Table {
            title: "Groups".into(),
            columns,
            rows: self
                .groups
                .iter()
                .map(|g| {
                    let mut cells = vec![
                        Cell::new(g.name.clone()),
                        Cell::new(g.state.clone()),
                        Cell::new(g.members.len().to_string()),
                        Cell::new(fmt::thousands(g.total_lag)),
                        Cell::new(fmt::thousands(g.max_partition_lag)),
                        Cell::new(secs(g.lag_seconds)),
                        Cell::new(fmt::spark(&g.trend, 12)),
                        group_status(g),
                    ];
                    if flags {
                        cells.push(group_flags(g));
                    }
                    if g.abandoned || g.judging {
                        for c in &mut cells[..7] {
                            c.level = Level::Muted;
                        }
                    }
                    Row::new(g.name.clone(), cells)
                })
                .collect(),
            empty: "no consumer groups".into(),
        }
    }

    pub fn detail(&self, table: usize, key: &str) -> Option<Detail> {
        match table {
            TABLE_TOPICS => {
                let t = self.topics.iter().find(|t| t.name == key)?;
                Some(Detail {
                    title: format!("topic {}", t.name),
                    lines: vec![vec![Cell::new(format!(
                        "{} partitions, RF {}, {} under-replicated, {} offline",
                        t.partition_count, t.replication_factor, t.under_replicated, t.offline
                    ))]],
                    table: Some(Table {
                        title: "Partitions".into(),
                        columns: vec![
                            Column::right("PART", 4),
                            Column::right("LEADER", 6),
                            Column::left("REPLICAS", 12),
                            Column::left("ISR", 12),
                            Column::left("MISSING", 8),
                            Column::right("LOW", 10),
                            Column::right("HIGH", 10),
                        ],
                        rows: t
                            .partitions
                            .iter()
                            .map(|p| {
                                let join = |v: &[i32]| {
                                    v.iter()
                                        .map(|i| i.to_string())
                                        .collect::<Vec<_>>()
                                        .join(",")
                                };
                                Row::new(
                                    p.partition.to_string(),
                                    vec![
                                        Cell::new(p.partition.to_string()),
                                        if p.leader < 0 {
                                            Cell::level("none", Level::Crit)
                                        } else {
                                            Cell::new(p.leader.to_string())
                                        },
                                        Cell::new(join(&p.replicas)),
                                        Cell::new(join(&p.isr)),
                                        Cell::level(
                                            join(&p.missing),
                                            if p.missing.is_empty() {
                                                Level::Normal
                                            } else {
                                                Level::Warn
                                            },
                                        ),
                                        Cell::new(opt(p.low)),
                                        Cell::new(opt(p.high)),
                                    ],
                                )
                            })
                            .collect(),
                        empty: "no partitions".into(),
                    }),
                })
            }
            TABLE_GROUPS => {
                let g = self.groups.iter().find(|g| g.name == key)?;
                Some(group_detail(g))
            }
            _ => None,
        }
    }

    /// Topics: delete (typed name), elect preferred leaders. Brokers: elect preferred leaders
    /// of the whole cluster. Groups: delete, reset to latest or earliest (refused while
    /// the group has members).
    pub fn command(
        &self,
        table: usize,
        key: &str,
        _marked: &BTreeSet<String>,
        action: Action,
    ) -> Option<Resolved<KafkaOp>> {
        match (table, action) {
            (TABLE_TOPICS, Action::DeleteTopic) => Some(Ok((
                key.to_string(),
                KafkaOp::DeleteTopic {
                    topic: key.to_string(),
                },
                Risk::High,
            ))),
            (TABLE_TOPICS, Action::ElectLeaders) => Some(Ok((
                key.to_string(),
                KafkaOp::ElectPreferredLeaders {
                    topic: Some(key.to_string()),
                },
                Risk::Medium,
            ))),
            (TABLE_BROKERS, Action::ElectLeaders) => Some(Ok((
                "cluster".to_string(),
                KafkaOp::ElectPreferredLeaders { topic: None },
                Risk::Medium,
            ))),
            (
                TABLE_GROUPS,
                Action::DeleteTopic | Action::ResetOffsets | Action::ResetOffsetsEarliest,
            ) => {
                let g = self.groups.iter().find(|g| g.name == key)?;
                if !g.members.is_empty() {
                    return Some(Err(format!(
                        "group {} has {} active members: stop its consumers first",
                        g.name,
                        g.members.len()
                    )));
                }
                let reset = |to| KafkaOp::ResetOffsets {
                    group: key.into(),
                    topic: None,
                    to,
                    dry_run: false,
                };
                let op = match action {
                    Action::ResetOffsets => reset(ResetTo::Latest),
                    Action::ResetOffsetsEarliest => reset(ResetTo::Earliest),
                    _ => KafkaOp::DeleteGroup { group: key.into() },
                };
                Some(Ok((key.to_string(), op, Risk::High)))
            }
            _ => None,
        }
    }
}

fn group_detail(g: &super::GroupInfo) -> Detail {
    let mut lines = vec![
        vec![
            Cell::new(format!(
                "state {}  members {}  status ",
                g.state,
                g.members.len()
            )),
            group_status(g),
        ],
        vec![Cell::new(format!("reason: {}", g.reason))],
    ];
    let transactional = g
        .partitions
        .iter()
        .any(|p| p.stable.is_some_and(|s| Some(s) != p.high));
    if transactional || g.isolation != super::Isolation::Unknown {
        let basis = match g.lag_basis {
            super::LagBasis::HighWatermark => "the high watermark",
            super::LagBasis::LastStableOffset => "the last stable offset",
        };
        let iso = match g.isolation {
            super::Isolation::Unknown => {
                "isolation unknown (set it in group_rules): judged on the last stable offset"
            }
            super::Isolation::ReadCommitted => "read_committed",
            super::Isolation::ReadUncommitted => "read_uncommitted",
        };
        lines.push(vec![Cell::new(format!(
            "LAG counts to {basis}: {}; to the last stable offset {}; {iso}",
            fmt::thousands(g.total_lag),
            fmt::thousands(g.total_stable_lag)
        ))]);
    }
    if g.lost_records > 0 {
        lines.push(vec![Cell::level(
            format!(
                "data loss: {} records were deleted before the group read them (committed below the log start)",
                fmt::thousands(g.lost_records)
            ),
            Level::Crit,
        )]);
    }
    if g.ahead_partitions > 0 {
        lines.push(vec![Cell::level(
            format!(
                "{} partitions committed above the high watermark: the log was truncated under the group (unclean leader election, or the topic recreated)",
                g.ahead_partitions
            ),
            Level::Crit,
        )]);
    }
    if g.uncommitted_partitions > 0 {
        lines.push(vec![Cell::level(
            format!(
                "{} partitions assigned but never committed while records arrived",
                g.uncommitted_partitions
            ),
            Level::Warn,
        )]);
    }
    if let Some(s) = g.stale_secs {
        lines.push(vec![Cell::level(
            format!("stale: shown as last read {} ago", fmt::secs(s)),
            Level::Warn,
        )]);
    }
    if let Some(e) = &g.error {
        lines.push(vec![Cell::level(format!("error: {e}"), Level::Crit)]);
    }
    let flags = g
        .partitions
        .iter()
        .any(|p| !partition_flags(&p).text.is_empty());
    let muted = g.abandoned || g.partitions.any_judging();
    let mut columns = vec![
        Column::left("TOPIC", 20),
        Column::right("PART", 4),
        Column::right("COMMITTED", 10),
        Column::right("HIGH", 10),
        Column::right("LAG", 8),
    ];
    if transactional {
        columns.push(Column::right("LSO LAG", 8));
    }
    columns.extend([
        Column::right("LAG TIME", 8),
        Column::left("STATUS", if muted { 9 } else { 6 }).keep(),
        Column::left("OWNER", 20),
    ]);
    if flags {
        columns.push(Column::left("FLAGS", 16));
    }
    Detail {
        title: format!("group {}", g.name),
        lines,
        table: Some(Table {
            title: "Partitions".into(),
            columns,
            rows: g
                .partitions
                .iter()
                .map(|p| {
                    let mut cells = vec![
                        Cell::new(p.topic.clone()),
                        Cell::new(p.partition.to_string()),
                        Cell::new(opt(p.committed)),
                        Cell::new(opt(p.high)),
                        Cell::new(opt(p.lag)),
                    ];
                    if transactional {
                        cells.push(Cell::new(opt(p.stable_lag)));
                    }
                    cells.extend([
                        Cell::new(secs(p.lag_seconds)),
                        partition_status(g, &p),
                        Cell::new(p.owner.clone().unwrap_or_else(|| "-".into())),
                    ]);
                    if flags {
                        cells.push(partition_flags(&p));
                    }
                    Row::new(format!("{}[{}]", p.topic, p.partition), cells)
                })
                .collect(),
            empty: "no committed offsets".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    fn raw(committed: i64, high: i64, members: usize) -> Raw {
        Raw {
            topics: vec![(
                "orders".into(),
                false,
                vec![(0, 1, vec![1], vec![1]), (1, 1, vec![1, 2], vec![1])],
            )],
            brokers: vec![(1, "localhost".into(), 9092)],
            watermarks: [
                (("orders".to_string(), 0), (0, high)),
                (("orders".to_string(), 1), (0, 5)),
            ]
            .into_iter()
            .collect(),
            groups: vec![admin::GroupDescription {
                name: "g".into(),
                state: "Empty".into(),
                error: None,
                members: (0..members)
                    .map(|_| admin::Member {
                        client_id: "c".into(),
                        consumer_id: "id".into(),
                        host: "/127.0.0.1".into(),
                        assignment: vec![("orders".into(), 0)],
                    })
                    .collect(),
            }],
            offsets: [(
                "g".to_string(),
                Ok([(("orders".to_string(), 0), committed)]
                    .into_iter()
                    .collect()),
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn elect_leaders_maps_topic_row_and_brokers_tab() {
        let s = State::new(Windows::default()).ingest(raw(40, 100, 0), 0.0, false);
        let none = BTreeSet::new();
        let Some(Ok((target, op, risk))) =
            s.command(TABLE_TOPICS, "orders", &none, Action::ElectLeaders)
        else {
            panic!("no command on a topic row");
        };
        assert_eq!(target, "orders");
        assert_eq!(risk, Risk::Medium);
        assert_eq!(
            op.describe(),
            "elect the preferred leader of every partition of orders"
        );
        let Some(Ok((_, op, Risk::Medium))) =
            s.command(TABLE_BROKERS, "1", &none, Action::ElectLeaders)
        else {
            panic!("no command on the Brokers tab");
        };
        assert_eq!(op, KafkaOp::ElectPreferredLeaders { topic: None });
        assert_eq!(
            op.describe(),
            "elect the preferred leader of every partition in the cluster"
        );
        assert!(
            s.command(TABLE_GROUPS, "g", &none, Action::ElectLeaders)
                .is_none()
        );
        assert!(
            <super::super::Kafka as crate::sources::System>::VERBS.contains(&Action::ElectLeaders)
        );
    }

    #[test]
    fn election_summary_counts_and_names_failures() {
        let r = vec![
            ("t".to_string(), 0, Ok(true)),
            ("t".to_string(), 1, Ok(false)),
            ("t".to_string(), 2, Ok(false)),
            (
                "t".to_string(),
                3,
                Err("Preferred leader not available".into()),
            ),
        ];
        assert_eq!(
            super::super::ops::summarize(&r),
            "1 elected, 2 already preferred, 1 failed: t[3]: Preferred leader not available"
        );
        assert_eq!(
            super::super::ops::summarize(&r[..2]),
            "1 elected, 1 already preferred, 0 failed"
        );
    }

    #[test]
    fn lag_model_shows_missing_commit_as_dash_and_goes_to_stop() {
        let judged_fast = || {
            let spec = KafkaSpec {
                stall_after: Some("20s".into()),
                ..Default::default()
            };
            let w = Windows {
                hwm_points: 10,
                trend: 5,
            };
            State::with_policy(w, Policy::from_spec(&spec).expect("policy"))
        };
        let mut st = judged_fast();
        let s = st.ingest(raw(40, 100, 0), 0.0, false);
        let g = &s.groups[0];
        assert_eq!(g.total_lag, 60);
        assert_eq!(g.partitions.to_vec()[0].lag, Some(60));
        assert_eq!(g.partitions.to_vec()[1].committed, None);
        assert_eq!(g.partitions.to_vec()[1].lag, None);
        assert_eq!(s.topics[0].under_replicated, 1);
        let d = s.detail(TABLE_GROUPS, "g").unwrap();
        let t = d.table.unwrap();
        assert_eq!(t.rows[1].cells[2].text, "-");
        st.ingest(raw(40, 150, 0), 10.0, false);
        let s = st.ingest(raw(40, 200, 0), 20.0, false);
        let g = &s.groups[0];
        assert_eq!(g.status, LagStatus::Stop, "{}", g.reason);
        assert!(g.reason.contains("orders[0]"), "{}", g.reason);
        // Committed 40 was the high watermark... before the table: extrapolated at 5/s → t=-12.
        assert!(g.lag_seconds.unwrap() > 20.0);
        let s = {
            let mut st = judged_fast();
            st.ingest(raw(40, 100, 1), 0.0, false);
            st.ingest(raw(40, 150, 1), 10.0, false);
            st.ingest(raw(40, 200, 1), 20.0, false)
        };
        assert_eq!(s.groups[0].status, LagStatus::Stall);
        assert!(
            matches!(s.command(TABLE_GROUPS, "g", &BTreeSet::new(), Action::ResetOffsets), Some(Err(e)) if e.contains("active members"))
        );
    }

    #[test]
    fn internal_topics_hidden_and_missing_replicas_marked() {
        let mut r = raw(0, 10, 0);
        r.topics.push((
            "__consumer_offsets".into(),
            true,
            vec![(0, 1, vec![1], vec![1])],
        ));
        let mut st = State::new(Windows::default());
        let s = st.ingest(r, 0.0, false);
        let m = s.model();
        let keys: Vec<_> = m.tables[TABLE_TOPICS]
            .rows
            .iter()
            .map(|r| r.key.as_str())
            .collect();
        assert_eq!(keys, vec!["orders"]);
        assert_eq!(m.level, Level::Warn);
        let d = s.detail(TABLE_TOPICS, "orders").expect("detail");
        let rows = d.table.expect("partitions").rows;
        assert_eq!(rows[1].cells[4], Cell::level("2", Level::Warn));
        assert_eq!(rows[0].cells[4].text, "");
        let mut r = raw(0, 10, 0);
        r.topics.push((
            "__consumer_offsets".into(),
            true,
            vec![(0, 1, vec![1], vec![1])],
        ));
        let s = State::new(Windows::default()).ingest(r, 0.0, true);
        assert_eq!(s.model().tables[TABLE_TOPICS].rows.len(), 2);
    }
}

/// Actions that need a typed parameter: the question, then the command from the answer.
impl KafkaSample {
    pub fn prompt(&self, table: usize, key: &str, action: Action) -> Option<String> {
        match (table, action) {
            (_, Action::CreateTopic) => {
                Some("new topic: NAME PARTITIONS [REPLICATION] [key=value ...]:".into())
            }
            (TABLE_TOPICS, Action::AddPartitions) => {
                let t = self.topics.iter().find(|t| t.name == key)?;
                Some(format!(
                    "new partition count for {key} (now {}):",
                    t.partitions.len()
                ))
            }
            (TABLE_GROUPS, Action::ResetOffsetsTo) => Some(format!(
                "reset {key} to: an offset (1234), a time (2026-11-25T03:00:00Z) or a shift (+100 / -100):"
            )),
            _ => None,
        }
    }

    pub fn command_with_input(
        &self,
        table: usize,
        key: &str,
        action: Action,
        input: &str,
    ) -> Option<Resolved<KafkaOp>> {
        let input = input.trim();
        match (table, action) {
            (_, Action::CreateTopic) => Some(parse_new_topic(input, self.brokers.len())),
            (TABLE_TOPICS, Action::AddPartitions) => {
                let t = self.topics.iter().find(|t| t.name == key)?;
                Some(match input.parse::<usize>() {
                    Ok(n) if n > t.partitions.len() => Ok((
                        key.to_string(),
                        KafkaOp::AddPartitions {
                            topic: key.to_string(),
                            total: n,
                        },
                        Risk::Medium,
                    )),
                    Ok(n) => Err(format!(
                        "{key} has {} partitions: Kafka can only add partitions, not remove them (asked for {n})",
                        t.partitions.len()
                    )),
                    Err(_) => Err(format!("{input:?} is not a partition count")),
                })
            }
            (TABLE_GROUPS, Action::ResetOffsetsTo) => {
                let g = self.groups.iter().find(|g| g.name == key)?;
                if !g.members.is_empty() {
                    return Some(Err(format!(
                        "group {key} has {} active members: stop its consumers first",
                        g.members.len()
                    )));
                }
                Some(parse_reset(input).map(|to| {
                    let op = KafkaOp::ResetOffsets {
                        group: key.to_string(),
                        topic: None,
                        to,
                        dry_run: false,
                    };
                    (key.to_string(), op, Risk::High)
                }))
            }
            _ => None,
        }
    }
}

/// `NAME PARTITIONS [REPLICATION] [key=value ...]`; replication defaults to min(3, brokers).
fn parse_new_topic(input: &str, brokers: usize) -> Resolved<KafkaOp> {
    let mut words = input.split_whitespace();
    let name = words
        .next()
        .ok_or("type at least a name and a partition count")?
        .to_string();
    let partitions: i32 = words
        .next()
        .and_then(|p| p.parse().ok())
        .filter(|p| *p > 0)
        .ok_or("the partition count must be a number above 0")?;
    let mut replication_factor = (brokers.clamp(1, 3)) as i32;
    let mut configs = Vec::new();
    for w in words {
        match w.split_once('=') {
            Some((k, v)) => configs.push((k.to_string(), v.to_string())),
            None => {
                replication_factor = w
                    .parse()
                    .map_err(|_| format!("{w:?} is neither a replication factor nor key=value"))?
            }
        }
    }
    let op = KafkaOp::CreateTopic {
        topic: name.clone(),
        partitions,
        replication_factor,
        configs,
    };
    Ok((name, op, Risk::Low))
}

/// `1234` | `2026-11-25T03:00:00Z` | `+100` / `-100` | `earliest` | `latest`.
fn parse_reset(input: &str) -> Result<ResetTo, String> {
    match input {
        "earliest" => return Ok(ResetTo::Earliest),
        "latest" => return Ok(ResetTo::Latest),
        _ => {}
    }
    if let Some(n) = input
        .strip_prefix('+')
        .or_else(|| input.starts_with('-').then_some(input))
    {
        return n
            .parse::<i64>()
            .map(ResetTo::ShiftBy)
            .map_err(|_| format!("{input:?} is not a shift"));
    }
    if let Ok(n) = input.parse::<i64>() {
        return Ok(ResetTo::Offset(n));
    }
    chrono::DateTime::parse_from_rfc3339(input)
        .map(|t| ResetTo::Timestamp(t.timestamp_millis()))
        .map_err(|_| format!("{input:?} is not an offset, an RFC 3339 time or a +/- shift"))
}

#[cfg(test)]
mod prompt_tests {
    use super::*;

    #[test]
    fn parses_reset_targets() {
        assert_eq!(parse_reset("1234"), Ok(ResetTo::Offset(1234)));
        assert_eq!(parse_reset("+100"), Ok(ResetTo::ShiftBy(100)));
        assert_eq!(parse_reset("-100"), Ok(ResetTo::ShiftBy(-100)));
        assert_eq!(
            parse_reset("2026-11-25T03:00:00Z"),
            Ok(ResetTo::Timestamp(1_795_575_600_000))
        );
        assert!(parse_reset("yesterday").is_err());
    }

    #[test]
    fn parses_new_topics() {
        let (name, op, _) = parse_new_topic("orders 12 2 retention.ms=3600000", 3).unwrap();
        assert_eq!(name, "orders");
        assert_eq!(
            op,
            KafkaOp::CreateTopic {
                topic: "orders".into(),
                partitions: 12,
                replication_factor: 2,
                configs: vec![("retention.ms".into(), "3600000".into())]
            }
        );
        let (_, op, _) = parse_new_topic("t 1", 1).unwrap();
        assert!(matches!(
            op,
            KafkaOp::CreateTopic {
                replication_factor: 1,
                ..
            }
        ));
        assert!(parse_new_topic("t 0", 1).is_err());
        assert!(parse_new_topic("", 1).is_err());
    }
}

/// "1 broker", "3 brokers".
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The Balance tab's verbs.
impl KafkaSample {
    /// The rebalance of this poll's plan, or why it cannot run now.
    pub fn rebalance(&self) -> Resolved<KafkaOp> {
        let b = &self.balance;
        if let Some(why) = b.refusal(self.brokers.len()) {
            return Err(why);
        }
        let plan = b.plan.as_ref().ok_or("nothing to move")?;
        let file = b
            .plan_file
            .clone()
            .ok_or("the plan file could not be written to the data dir (see the pane's note)")?;
        let op = KafkaOp::Rebalance {
            targets: plan.partitions.clone(),
            moves: plan.moves.len(),
            bytes: plan.bytes,
            throttle: b.throttle_bytes_per_sec,
            file,
        };
        Ok((
            format!("{} partition(s)", plan.partitions.len()),
            op,
            Risk::Medium,
        ))
    }

    /// Cancels every reassignment in progress.
    pub fn cancel_reassignments(&self) -> Resolved<KafkaOp> {
        let r = &self.balance.reassignments;
        if r.is_empty() {
            return Err(match &self.balance.reassignments_error {
                Some(e) => format!("cannot list the reassignments: {e}"),
                None => "no reassignment in progress".into(),
            });
        }
        let partitions: Vec<(String, i32)> =
            r.iter().map(|x| (x.topic.clone(), x.partition)).collect();
        Ok((
            format!("{} reassigning partition(s)", partitions.len()),
            KafkaOp::CancelReassignments { partitions },
            Risk::Medium,
        ))
    }
}
