//! MariaDB/MySQL as a monitored system: its metrics and built-in rules, its verbs, and the
//! glue from the `System` contract to the poller, the pane model and the operations.

use super::view::{
    BEHIND_WARN_SECS, CONNECTIONS_CRIT, CONNECTIONS_WARN, IDLE_IN_TX_SECS, LONG_QUERY_SECS,
};
use super::{KillMode, MysqlOp, MysqlPoller, MysqlSample, MysqlSpec, TAB_LOCKS, TAB_PROCESSLIST};
use crate::keymap::Action;
use crate::metrics::Severity::{Critical, Warning};
use crate::metrics::{Builtin, Cause, Cmp, Metric, Point, Unit, flag};
use crate::secrets::{SecretSpec, redact_urls};
use crate::sources::system::FleetFigure;
use crate::sources::system::{At, Entries, Planning, Problem, System, ready};
use crate::timeline::TimelineEvent;
use crate::views::{Detail, Pane, PaneModel};
use chrono::{DateTime, Utc};

pub struct Mysql;

/// How long a lock wait may last before it alerts.
const LOCK_WAIT_SECS: f64 = 30.0;

const METRICS: &[Metric] = &[
    Metric::new(
        "mysql.connections_ratio",
        Unit::Ratio,
        "client connections (Threads_connected) over max_connections",
    ),
    Metric::new(
        "mysql.connections",
        Unit::Count,
        "client connections (Threads_connected)",
    ),
    Metric::new(
        "mysql.query_seconds",
        Unit::Seconds,
        "running time of each client statement (lock waits excluded)",
    ),
    Metric::new(
        "mysql.idle_in_transaction_seconds",
        Unit::Seconds,
        "age of the open transaction of each idle connection",
    ),
    Metric::new(
        "mysql.lock_wait_seconds",
        Unit::Seconds,
        "longest lock wait behind each root blocker thread",
    ),
    Metric::new(
        "mysql.replication_stopped",
        Unit::Flag,
        "1 for each replication channel whose IO or SQL thread is not running",
    ),
    // A channel whose thread stops reports no lag: that is no evidence it caught up.
    Metric::new(
        "mysql.seconds_behind",
        Unit::Seconds,
        "Seconds_Behind_Master of each running replication channel",
    )
    .kept_when_gone(),
];

const BUILTINS: &[Builtin] = &[
    Builtin::new(
        "mysql_connections",
        "mysql.connections_ratio",
        Cmp::Ge,
        CONNECTIONS_WARN,
        0,
        Warning,
        "connections of max_connections",
        "See who holds them (Databases pane, Overview by user and host); kill idle ones, fix the leaking application or its pool size.",
    ),
    Builtin::new(
        "mysql_connections_critical",
        "mysql.connections_ratio",
        Cmp::Ge,
        CONNECTIONS_CRIT,
        0,
        Critical,
        "connections of max_connections",
        "New connections will fail soon (\"Too many connections\"): kill idle-in-transaction threads ({key:terminate}), fix the leaking application.",
    ),
    Builtin::new(
        "mysql_long_query",
        "mysql.query_seconds",
        Cmp::Ge,
        LONG_QUERY_SECS,
        0,
        Warning,
        "query running",
        "Check its plan (EXPLAIN) and locks; kill the query ({key:cancel_query}) if it is runaway.",
    ),
    Builtin::new(
        "mysql_idle_in_transaction",
        "mysql.idle_in_transaction_seconds",
        Cmp::Ge,
        IDLE_IN_TX_SECS,
        0,
        Warning,
        "idle in transaction",
        "The connection holds locks and undo history: find the application and kill the connection ({key:terminate}).",
    ),
    Builtin::new(
        "mysql_lock_wait",
        "mysql.lock_wait_seconds",
        Cmp::Ge,
        LOCK_WAIT_SECS,
        0,
        Warning,
        "blocking others for",
        "A thread holds a lock others wait for: see the Locks tab; kill the root blocker's query or connection.",
    ),
    Builtin::new(
        "mysql_replication_stopped",
        "mysql.replication_stopped",
        Cmp::Ge,
        1.0,
        0,
        Critical,
        "replication stopped",
        "Read the channel's last IO/SQL error (Replication tab, Enter); fix it, then START SLAVE (START REPLICA).",
    ),
    Builtin::new(
        "mysql_replication_lag",
        "mysql.seconds_behind",
        Cmp::Ge,
        BEHIND_WARN_SECS as f64,
        60,
        Warning,
        "behind its source",
        "Check the replica's IO and long transactions on the source; a single huge transaction replays slowly.",
    ),
];

impl System for Mysql {
    const LABEL: &'static str = "mysql";
    const ALIASES: &'static [&'static str] = &["mariadb"];
    const PANE: Pane = Pane::Databases;
    const METRICS: &'static [Metric] = METRICS;
    const BUILTINS: &'static [Builtin] = BUILTINS;
    const FLEET: &'static [FleetFigure] = &[FleetFigure::Highest {
        metrics: &["mysql.connections_ratio"],
        label: "conn",
    }];
    const VERBS: &'static [Action] = &[Action::CancelQuery, Action::Terminate];

    type Entries = Vec<MysqlSpec>;
    type Spec = MysqlSpec;
    type Sample = MysqlSample;
    type Op = MysqlOp;
    type Poller = MysqlPoller;

    fn instances(entries: &Vec<MysqlSpec>) -> &[MysqlSpec] {
        entries
    }
    fn inline_secret(spec: &MysqlSpec) -> bool {
        spec.password.is_some() || redact_urls(&spec.url) != spec.url
    }
    fn name(spec: &MysqlSpec) -> &str {
        &spec.name
    }
    fn secret(spec: &MysqlSpec) -> SecretSpec {
        spec.secret()
    }
    fn target(spec: &MysqlSpec) -> String {
        redact_urls(&spec.url)
    }
    fn validate(spec: &MysqlSpec, _ctx: &dyn Entries) -> Vec<Problem> {
        spec.validate()
    }
    fn poller(spec: MysqlSpec, _ctx: &dyn Entries) -> MysqlPoller {
        MysqlPoller::new(spec)
    }

    fn model(sample: &MysqlSample) -> PaneModel {
        sample.model()
    }
    fn detail(sample: &MysqlSample, table: usize, key: &str) -> Option<Detail> {
        sample.detail(table, key)
    }
    fn events(
        prev: Option<&MysqlSample>,
        next: &MysqlSample,
        now: DateTime<Utc>,
    ) -> Vec<TimelineEvent> {
        super::events::diff(prev, next, now)
    }
    fn copy_text(sample: &MysqlSample, table: usize, key: &str) -> Option<String> {
        super::events::copy_text(sample, table, key)
            .or_else(|| crate::sources::system::row_text(&sample.model(), table, key))
    }

    fn measure(s: &MysqlSample, metric: &str, source: &str) -> Vec<Point> {
        let mut out = Vec::new();
        match metric {
            "mysql.connections_ratio" | "mysql.connections" => out.push(Point::new(
                "",
                format!("mysql {source}"),
                if metric == "mysql.connections" {
                    s.threads_connected as f64
                } else {
                    s.connection_ratio()
                },
                format!(
                    "{} of {} connections in use",
                    s.threads_connected, s.max_connections
                ),
                Cause::new("Overview", ""),
            )),
            "mysql.query_seconds" | "mysql.idle_in_transaction_seconds" => {
                for t in s.processlist.iter().filter(|t| !t.console && !t.system) {
                    let v = if metric == "mysql.query_seconds" {
                        (t.running() && t.label != "waiting on a lock").then_some(t.seconds)
                    } else {
                        (t.label == "idle in transaction")
                            .then_some(t.trx_seconds)
                            .flatten()
                    };
                    if let Some(v) = v {
                        out.push(Point::new(
                            format!("thread {}", t.id),
                            format!("thread {} ({}@{})", t.id, t.user, t.host_name()),
                            v,
                            "",
                            Cause::new("Processlist", &t.id.to_string()),
                        ));
                    }
                }
            }
            "mysql.lock_wait_seconds" => {
                for n in s.locks.iter().filter(|n| n.depth == 0) {
                    out.push(Point::new(
                        format!("thread {}", n.id),
                        format!("thread {} ({}@{})", n.id, n.user, n.host),
                        n.wait_seconds,
                        format!(
                            "blocks {} thread{}",
                            n.waiters,
                            if n.waiters == 1 { "" } else { "s" }
                        ),
                        Cause::new("Locks", &n.id.to_string()),
                    ));
                }
            }
            "mysql.replication_stopped" | "mysql.seconds_behind" => {
                for c in &s.replication.channels {
                    let v = if metric == "mysql.replication_stopped" {
                        Some(flag(!c.running()))
                    } else {
                        c.seconds_behind.map(|b| b as f64)
                    };
                    let what = if c.name.is_empty() {
                        format!("replication from {}", c.source)
                    } else {
                        format!("channel {} from {}", c.name, c.source)
                    };
                    let note = [&c.last_io_error, &c.last_sql_error]
                        .into_iter()
                        .find(|e| !e.is_empty())
                        .filter(|_| metric == "mysql.replication_stopped" && !c.running())
                        .map(|e| format!("IO {}, SQL {}: {e}", c.io_running, c.sql_running))
                        .unwrap_or_default();
                    if let Some(v) = v {
                        out.push(Point::new(
                            format!("channel {}", c.name),
                            what,
                            v,
                            note,
                            Cause::new("Replication", &format!("channel:{}", c.name)),
                        ));
                    }
                }
            }
            _ => {}
        }
        out
    }

    fn plan(s: &MysqlSample, at: &At, action: Action, _input: Option<&str>) -> Planning<MysqlOp> {
        let mode = match action {
            Action::CancelQuery => KillMode::Query,
            Action::Terminate => KillMode::Connection,
            _ => return None,
        };
        // Threads are rows of the Processlist and Locks tabs only.
        if at.table != TAB_PROCESSLIST && at.table != TAB_LOCKS {
            return None;
        }
        if at.key().is_empty() && at.marked.is_empty() {
            return None;
        }
        Some(ready(s.kill(at.table, at.key(), at.marked, mode)))
    }

    fn describe(op: &MysqlOp) -> String {
        op.describe()
    }
    async fn execute(op: &MysqlOp, spec: &MysqlSpec, _ctx: &dyn Entries) -> Result<String, String> {
        op.execute(spec).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::sources::mysql::{Channel, Thread, count_connections};
    use crate::sources::system::{Availability, Plan};

    fn sample() -> MysqlSample {
        let t = |id: u64, command: &str, label: &str, secs: f64| Thread {
            id,
            user: "app".into(),
            host: format!("10.0.0.1:{}", 5000 + id),
            database: "shop".into(),
            command: command.into(),
            seconds: secs,
            label: label.into(),
            info: if command == "Query" {
                "SELECT SLEEP(600)".into()
            } else {
                String::new()
            },
            trx_seconds: (label == "idle in transaction").then_some(400.0),
            ..Default::default()
        };
        let mut console = t(14, "Sleep", "idle", 1.0);
        console.console = true;
        let mut sql_thread = t(15, "Slave_SQL", "other", 100.0);
        sql_thread.system = true;
        let processlist = vec![
            t(10, "Query", "active", 700.0),
            t(11, "Query", "waiting on a lock", 30.0),
            t(12, "Sleep", "idle in transaction", 20.0),
            t(13, "Sleep", "idle", 3.0),
            console,
            sql_thread,
        ];
        MysqlSample {
            own_connection_id: 2,
            max_connections: 100,
            threads_connected: 90,
            has_process: true,
            connections: count_connections(&processlist),
            processlist,
            replication: crate::sources::mysql::Replication {
                channels: vec![Channel {
                    source: "db-1:3306".into(),
                    io_running: "Yes".into(),
                    sql_running: "No".into(),
                    last_sql_error: "Duplicate entry '1' for key 'PRIMARY'".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn values(s: &MysqlSample, metric: &str) -> Vec<(String, f64)> {
        Mysql::measure(s, metric, "db")
            .into_iter()
            .map(|p| (p.subject, p.value))
            .collect()
    }

    #[test]
    fn every_metric_has_a_rule_or_is_for_user_rules_and_measures_the_right_threads() {
        let s = sample();
        assert_eq!(
            values(&s, "mysql.connections_ratio"),
            [(String::new(), 0.9)]
        );
        assert_eq!(
            values(&s, "mysql.query_seconds"),
            [("thread 10".to_string(), 700.0)]
        );
        assert_eq!(
            values(&s, "mysql.idle_in_transaction_seconds"),
            [("thread 12".to_string(), 400.0)]
        );
        let stopped = Mysql::measure(&s, "mysql.replication_stopped", "db");
        assert_eq!(stopped.len(), 1);
        assert_eq!(stopped[0].value, 1.0);
        assert_eq!(stopped[0].what, "replication from db-1:3306");
        assert!(
            stopped[0].note.contains("Duplicate entry"),
            "{}",
            stopped[0].note
        );
        // A stopped SQL thread has no lag figure: no point, not a zero.
        assert!(values(&s, "mysql.seconds_behind").is_empty());
        for b in BUILTINS {
            assert!(METRICS.iter().any(|m| m.name == b.metric), "{}", b.name);
        }
    }

    #[test]
    fn kill_keys_apply_to_thread_rows_and_refuse_the_consoles_own() {
        let s = sample();
        let none = BTreeSet::new();
        let at = |table, key| At {
            table,
            key: Some(key),
            marked: &none,
        };
        let Some(Ok(Plan::Ready(p))) =
            Mysql::plan(&s, &at(TAB_PROCESSLIST, "10"), Action::Terminate, None)
        else {
            panic!("terminate on thread 10 is not ready")
        };
        assert_eq!(p.target, "thread 10 app@10.0.0.1:5010: SELECT SLEEP(600)");
        assert_eq!(p.risk, crate::sources::Risk::Medium);
        assert!(Mysql::describe(&p.op).starts_with("KILL CONNECTION 10 "));
        // Not offered outside thread tabs.
        assert!(Mysql::offers(&s, &at(0, "user:app")).is_empty());
        // Another console's connection and a server thread: offered, refused with why.
        for (key, why) in [
            (
                "14",
                "thread 14: an opsdeck console's connection; nothing to kill",
            ),
            (
                "15",
                "thread 15: a server thread (Slave_SQL); stop replication with STOP SLAVE \
                 instead; nothing to kill",
            ),
        ] {
            let offers = Mysql::offers(&s, &at(TAB_PROCESSLIST, key));
            assert_eq!(offers.len(), 2, "{offers:?}");
            for o in offers {
                assert_eq!(o.availability, Availability::Refused(why.into()), "{key}");
            }
        }
        let Some(Err(why)) = Mysql::plan(&s, &at(TAB_PROCESSLIST, "2"), Action::Terminate, None)
        else {
            panic!("the console's own connection must be refused")
        };
        assert_eq!(
            why,
            "thread 2: the console's own connection; nothing to kill"
        );
        // An idle thread has no statement to kill, but its connection can go.
        let o = Mysql::offers(&s, &at(TAB_PROCESSLIST, "13"));
        assert!(
            matches!(o[0].availability, Availability::Refused(_)),
            "{o:?}"
        );
        assert_eq!(o[1].availability, Availability::Ready);
    }

    #[test]
    fn a_replica_whose_sql_thread_stops_is_critical_and_keeps_its_lag_alert() {
        use crate::alerts::{Desk, RuleSet, SourceView};
        use crate::sources::{Sample, SourceKind, Status};
        let t =
            |secs: i64| chrono::DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("time");
        let replica = |sql_running: &str, behind: Option<i64>| {
            let mut s = sample();
            s.replication.channels[0].sql_running = sql_running.into();
            s.replication.channels[0].last_sql_error = String::new();
            s.replication.channels[0].seconds_behind = behind;
            Sample::from(s)
        };
        let (rules, mut desk, ok) = (RuleSet::default(), Desk::default(), Status::Ok);
        let mut at = |sample: &Sample, secs| {
            let view = SourceView {
                kind: SourceKind::Mysql,
                name: "db",
                status: &ok,
                sample: Some(sample),
            };
            desk.evaluate(&rules, &[view], t(secs));
            let mut firing: Vec<(String, bool)> = desk
                .engine
                .firing()
                .iter()
                .filter(|e| e.alert.rule.starts_with("mysql_replication"))
                .map(|e| (e.alert.rule.clone(), e.stale_since.is_some()))
                .collect();
            firing.sort();
            firing
        };
        let lagging = replica("Yes", Some(120));
        assert!(at(&lagging, 0).is_empty(), "lag fires only after its 1m");
        assert_eq!(at(&lagging, 70), [("mysql_replication_lag".into(), false)]);
        // The SQL thread stops: no lag figure any more, which is no evidence it caught up.
        assert_eq!(
            at(&replica("No", None), 80),
            [
                ("mysql_replication_lag".into(), true),
                ("mysql_replication_stopped".into(), false)
            ]
        );
    }

    #[test]
    fn a_malformed_url_is_a_config_problem_naming_the_entry() {
        let spec = MysqlSpec {
            name: "orders".into(),
            url: "mysql://monitor:pw@db-1:33o6/app".into(),
            ..Default::default()
        };
        let p = Mysql::validate(&spec, &crate::sources::ContextSpec::default());
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].message
                .starts_with("mysql orders: url \"mysql://monitor:***@db-1:33o6/app\": "),
            "{}",
            p[0].message
        );
        assert_eq!(Mysql::target(&spec), "mysql://monitor:***@db-1:33o6/app");
        assert!(Mysql::inline_secret(&spec));
    }
}
