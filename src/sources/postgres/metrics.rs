//! The values alert rules read from a PostgreSQL sample (pure). What the role may not see
//! (a hidden standby or WAL receiver) yields no value: unknown is skipped, never read as
//! "down" or "caught up".

use super::model::PgSample;

/// One value of a metric: `subject` identifies it within the source, `table` and `key`
/// are where the pane shows its cause.
#[derive(Debug, Clone, PartialEq)]
pub struct PgPoint {
    pub subject: String,
    pub what: String,
    pub value: f64,
    pub note: String,
    pub table: &'static str,
    pub key: String,
}

/// The metrics this module answers (the rest of the catalogue lives with the rules).
pub const NAMES: &[&str] = &[
    "postgres.connections_ratio",
    "postgres.connections",
    "postgres.query_seconds",
    "postgres.idle_in_transaction_seconds",
    "postgres.blocking_seconds",
    "postgres.replication_lag_seconds",
    "postgres.replication_lag_bytes",
    "postgres.wal_receiver_down",
    "postgres.slot_inactive_retained_bytes",
    "postgres.slot_wal_status",
    "postgres.xid_wraparound_ratio",
    "postgres.mxid_wraparound_ratio",
];

/// `wal_status` as a number: 0 reserved/extended, 1 unreserved, 2 lost.
pub fn wal_status_level(s: &str) -> Option<f64> {
    match s {
        "reserved" | "extended" => Some(0.0),
        "unreserved" => Some(1.0),
        "lost" => Some(2.0),
        _ => None,
    }
}

fn pt(
    subject: String,
    what: String,
    value: f64,
    note: String,
    table: &'static str,
    key: String,
) -> PgPoint {
    PgPoint {
        subject,
        what,
        value,
        note,
        table,
        key,
    }
}

pub fn points(p: &PgSample, source: &str, metric: &str) -> Vec<PgPoint> {
    let mut out = Vec::new();
    match metric {
        "postgres.connections_ratio" | "postgres.connections" => out.push(pt(
            String::new(),
            format!("postgres {source}"),
            if metric == "postgres.connections" {
                p.connections.total as f64
            } else {
                p.connection_ratio()
            },
            format!(
                "{} of {} usable connections in use",
                p.connections.total, p.usable_connections
            ),
            "Connections",
            String::new(),
        )),
        "postgres.query_seconds" | "postgres.idle_in_transaction_seconds" => {
            for x in p.activity.iter().filter(|x| !x.own) {
                let v = if metric == "postgres.query_seconds" {
                    (x.state == "active").then_some(x.query_seconds).flatten()
                } else {
                    x.state
                        .starts_with("idle in transaction")
                        .then_some(x.state_seconds)
                        .flatten()
                };
                if let Some(v) = v {
                    out.push(pt(
                        format!("pid {}", x.pid),
                        format!("pid {} ({}@{})", x.pid, x.user, x.database),
                        v,
                        String::new(),
                        "Activity",
                        x.pid.to_string(),
                    ));
                }
            }
        }
        "postgres.blocking_seconds" => {
            for n in p.locks.iter().filter(|n| n.depth == 0) {
                out.push(pt(
                    format!("pid {}", n.pid),
                    format!("pid {} ({}@{})", n.pid, n.user, n.database),
                    n.longest_wait_seconds,
                    format!("blocks {} sessions", n.waiters),
                    "Locks",
                    n.pid.to_string(),
                ));
            }
        }
        "postgres.replication_lag_seconds" | "postgres.replication_lag_bytes" => {
            for st in p.replication.standbys.iter().filter(|s| !s.hidden) {
                let v = if metric == "postgres.replication_lag_bytes" {
                    Some(st.replay_lag_bytes as f64)
                } else {
                    st.replay_lag_seconds
                };
                if let Some(v) = v {
                    out.push(pt(
                        st.application.clone(),
                        format!("standby {}", st.application),
                        v,
                        String::new(),
                        "Replication",
                        format!("{}@{}", st.application, st.client),
                    ));
                }
            }
            if let Some(r) = &p.replication.receiver
                && metric == "postgres.replication_lag_bytes"
            {
                out.push(pt(
                    "receiver".into(),
                    "WAL receiver".into(),
                    r.replay_lag_bytes as f64,
                    String::new(),
                    "Replication",
                    "receiver".into(),
                ));
            }
        }
        "postgres.wal_receiver_down" => {
            if let Some(r) = p.replication.receiver.as_ref().filter(|r| !r.hidden) {
                out.push(pt(
                    "receiver".into(),
                    "WAL receiver".into(),
                    if r.status == "streaming" { 0.0 } else { 1.0 },
                    r.status.clone(),
                    "Replication",
                    "receiver".into(),
                ));
            }
        }
        "postgres.slot_inactive_retained_bytes" => {
            for s in p.slots.iter().filter(|s| !s.active) {
                if let Some(b) = s.retained_bytes {
                    out.push(pt(
                        format!("slot {}", s.name),
                        format!("inactive slot {}", s.name),
                        b as f64,
                        format!("{} slot, wal_status {}", s.slot_type, s.wal_status),
                        "Slots",
                        s.name.clone(),
                    ));
                }
            }
        }
        "postgres.slot_wal_status" => {
            for s in &p.slots {
                if let Some(v) = wal_status_level(&s.wal_status) {
                    out.push(pt(
                        format!("slot {}", s.name),
                        format!("slot {}", s.name),
                        v,
                        format!("wal_status {}", s.wal_status),
                        "Slots",
                        s.name.clone(),
                    ));
                }
            }
        }
        "postgres.xid_wraparound_ratio" | "postgres.mxid_wraparound_ratio" => {
            for d in &p.maintenance.databases {
                let (v, age, what) = if metric == "postgres.xid_wraparound_ratio" {
                    (d.xid_wraparound_ratio, d.xid_age, "age(datfrozenxid)")
                } else {
                    (d.mxid_wraparound_ratio, d.mxid_age, "mxid_age(datminmxid)")
                };
                out.push(pt(
                    format!("database {}", d.database),
                    format!("database {}", d.database),
                    v,
                    format!("{what} {age}"),
                    "Databases",
                    d.database.clone(),
                ));
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::postgres::model::{DbHealth, Receiver, Slot, Standby};

    #[test]
    fn hidden_values_are_skipped_not_read_as_down_or_caught_up() {
        let mut p = PgSample::default();
        p.replication.receiver = Some(Receiver {
            status: "unknown".into(),
            hidden: true,
            ..Default::default()
        });
        p.replication.standbys = vec![Standby {
            application: "r1".into(),
            hidden: true,
            ..Default::default()
        }];
        assert!(points(&p, "db", "postgres.wal_receiver_down").is_empty());
        assert!(points(&p, "db", "postgres.replication_lag_seconds").is_empty());
        p.replication.receiver = Some(Receiver {
            status: "stopped".into(),
            ..Default::default()
        });
        let down = points(&p, "db", "postgres.wal_receiver_down");
        assert_eq!(down[0].value, 1.0);
    }

    #[test]
    fn slots_and_wraparound() {
        let slot = |name: &str, active: bool, status: &str, bytes: i64| Slot {
            name: name.into(),
            slot_type: "logical".into(),
            active,
            wal_status: status.into(),
            retained_bytes: Some(bytes),
            ..Default::default()
        };
        let p = PgSample {
            slots: vec![
                slot("busy", true, "reserved", 10),
                slot("idle", false, "unreserved", 5 << 30),
                slot("old", false, "", 1),
            ],
            maintenance: crate::sources::postgres::model::Maintenance {
                databases: vec![DbHealth {
                    database: "app".into(),
                    xid_age: 1 << 30,
                    xid_wraparound_ratio: 0.5,
                    ..Default::default()
                }],
                ..Default::default()
            },
            ..Default::default()
        };
        let inactive = points(&p, "db", "postgres.slot_inactive_retained_bytes");
        assert_eq!(
            inactive
                .iter()
                .map(|x| (x.subject.as_str(), x.value))
                .collect::<Vec<_>>(),
            vec![("slot idle", (5u64 << 30) as f64), ("slot old", 1.0)]
        );
        let status = points(&p, "db", "postgres.slot_wal_status");
        assert_eq!(
            status.iter().map(|x| x.value).collect::<Vec<_>>(),
            vec![0.0, 1.0]
        );
        let xid = points(&p, "db", "postgres.xid_wraparound_ratio");
        assert_eq!(xid[0].value, 0.5);
        assert_eq!(xid[0].key, "app");
    }
}
