use super::*;
use crate::config::ContextSpec;
use crate::sources::Sample;
use crate::sources::backups::{BackupSample, BackupSpec, Verdict};
use crate::sources::host::{DiskInfo, HostSample};
use crate::sources::redis::{NodeInfo, RedisSample, RedisSpec};

fn redis(name: &str) -> RedisSpec {
    RedisSpec {
        name: name.into(),
        url: Some("redis://:secret@127.0.0.1:1".into()),
        ..Default::default()
    }
}

fn node(used: u64, max: u64) -> Sample {
    Sample::from(RedisSample {
        nodes: vec![NodeInfo {
            addr: "127.0.0.1:6379".into(),
            role: "master".into(),
            used_memory: used,
            maxmemory: max,
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn host(used_ratio: f64) -> Sample {
    Sample::from(HostSample {
        disks: vec![DiskInfo {
            mount: "/".into(),
            total: 1000,
            available: (1000.0 * (1.0 - used_ratio)) as u64,
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn snapshot(name: &str, spec: ContextSpec, results: Vec<Result<Sample, String>>) -> Snapshot {
    let ctx = Context {
        name: name.into(),
        spec,
    };
    let specs = sources::plan(&ctx.spec);
    assert_eq!(specs.len(), results.len(), "one result per source");
    report::build(&ctx, None, &specs, results, &RuleSet::default())
}

#[test]
fn every_metric_a_figure_reads_is_in_its_own_systems_catalogue() {
    for k in SourceKind::ALL {
        for r in k.fleet() {
            let names: Vec<&str> = match r {
                Reading::NotOk { metric, .. } | Reading::Flagged { metric, .. } => vec![*metric],
                Reading::Highest { metrics, .. } => metrics.to_vec(),
                Reading::Worst { flags, known, .. } => {
                    flags.iter().map(|(m, _)| *m).chain([*known]).collect()
                }
            };
            for m in names {
                assert!(
                    k.metrics().iter().any(|x| x.name == m),
                    "{} shows {m} in the fleet, which is not in its METRICS",
                    k.label()
                );
            }
        }
    }
    assert!(!metrics_read().is_empty());
}

#[test]
fn a_row_has_the_worst_alert_a_figure_per_pane_and_reachability() {
    let spec = ContextSpec {
        redis: vec![redis("cache"), redis("sessions")],
        ..Default::default()
    };
    // cache at 95% of maxmemory (the built-in rule fires), sessions refused, the host at 40%.
    let snap = snapshot(
        "prod",
        spec,
        vec![
            Ok(node(95, 100)),
            Err("Connection refused".into()),
            Ok(host(0.4)),
        ],
    );
    let row = FleetRow::of(&snap);
    assert_eq!(row.context, "prod");
    assert_eq!(row.status, Health::Critical);
    assert_eq!(row.exit_code, 2);
    assert_eq!((row.answered, row.sources), (2, 3));
    assert!(!row.unreachable);
    assert_eq!(row.reach(), ("2/3 up".into(), Level::Warn));
    assert_eq!(
        row.errors,
        vec!["redis sessions: Connection refused".to_string()]
    );
    let redis = row.figure(Pane::Redis).unwrap();
    assert_eq!(redis.text, "mem 95% (1 down)");
    assert_eq!(redis.level, Level::Crit);
    let host = row.figure(Pane::Host).unwrap();
    assert_eq!(host.text, "disk 40%");
    assert_eq!(host.level, Level::Normal);
    assert!(row.figure(Pane::Kafka).is_none(), "no Kafka configured");
    let (problem, level) = row.problem();
    assert!(problem.starts_with("CRIT "), "{problem}");
    assert_eq!(level, Level::Crit);
}

#[test]
fn a_context_whose_every_source_refused_is_unreachable_with_the_error() {
    let spec = ContextSpec {
        redis: vec![redis("cache")],
        host: crate::sources::host::HostSwitch(false),
        ..Default::default()
    };
    let snap = snapshot(
        "dead",
        spec,
        vec![Err("Connection refused (os error 111)".into())],
    );
    let row = FleetRow::of(&snap);
    assert!(row.unreachable);
    assert_eq!(row.status, Health::Critical);
    assert_eq!(row.reach(), ("unreachable".into(), Level::Crit));
    assert_eq!(
        row.problem(),
        (
            "redis cache: Connection refused (os error 111)".into(),
            Level::Crit
        )
    );
    assert_eq!(row.figure(Pane::Redis).unwrap().text, "unreachable");
    let json = serde_json::to_string(&row).unwrap();
    assert!(!json.contains("secret"), "password leaked: {json}");
}

#[test]
fn figures_say_what_a_reading_cannot_measure() {
    let backup = |name: &str| BackupSpec {
        name: name.into(),
        kind: "files".into(),
        dir: Some("/nonexistent".into()),
        ..Default::default()
    };
    let spec = ContextSpec {
        redis: vec![redis("cache")],
        backups: vec![backup("a"), backup("b")],
        host: crate::sources::host::HostSwitch(false),
        ..Default::default()
    };
    let sample = |name: &str, verdict, age| {
        Sample::from(BackupSample {
            name: name.into(),
            kind: "files".into(),
            verdict,
            newest_age_secs: age,
            ..Default::default()
        })
    };
    let snap = snapshot(
        "t",
        spec.clone(),
        vec![
            Ok(node(10, 0)),
            Ok(sample("a", Verdict::Fresh, Some(60))),
            Ok(sample("b", Verdict::Stale, Some(1e6 as u64))),
        ],
    );
    let row = FleetRow::of(&snap);
    assert_eq!(row.figure(Pane::Redis).unwrap().text, "no maxmemory");
    assert_eq!(row.figure(Pane::Backups).unwrap().text, "1/2 stale");
    assert_eq!(row.figure(Pane::Backups).unwrap().level, Level::Warn);
    let snap = snapshot(
        "t",
        spec,
        vec![
            Ok(node(10, 0)),
            Ok(sample("a", Verdict::Fresh, Some(60))),
            Ok(sample("b", Verdict::Unknown, None)),
        ],
    );
    assert_eq!(
        FleetRow::of(&snap).figure(Pane::Backups).unwrap().text,
        "unknown"
    );
}

#[test]
fn the_report_exits_with_the_worst_context_and_tables_every_context() {
    let ok = snapshot("a-ok", ContextSpec::default(), vec![Ok(host(0.1))]);
    let dead = snapshot(
        "b-dead",
        ContextSpec {
            redis: vec![redis("cache")],
            host: crate::sources::host::HostSwitch(false),
            ..Default::default()
        },
        vec![Err("Connection refused".into())],
    );
    let r = FleetReport::new(None, vec![FleetRow::of(&ok), FleetRow::of(&dead)]);
    assert_eq!(r.status, Health::Critical);
    assert_eq!(r.exit_code, 2);
    let t = text_table(&r);
    let lines: Vec<&str> = t.lines().collect();
    assert!(lines[0].starts_with("CONTEXT"), "{t}");
    assert!(
        lines[0].contains("REDIS") && lines[0].contains("HOST"),
        "{t}"
    );
    assert!(
        lines[1].starts_with("a-ok") && lines[1].contains("ok"),
        "{t}"
    );
    assert!(lines[1].contains("disk 10%"), "{t}");
    assert!(
        lines[2].starts_with("b-dead")
            && lines[2].contains("unreachable")
            && lines[2].contains("redis cache: Connection refused"),
        "{t}"
    );
    assert_eq!(
        lines[3],
        "CRITICAL: 2 contexts: 1 critical, 1 ok; 1 unreachable"
    );
    let empty = FleetReport::new(None, vec![]);
    assert_eq!(empty.exit_code, 3);
    assert!(text_table(&empty).contains("no contexts"));
}

#[test]
fn the_model_marks_the_current_context_and_rows_being_polled() {
    let spec = ContextSpec {
        redis: vec![redis("cache")],
        host: crate::sources::host::HostSwitch(false),
        ..Default::default()
    };
    let mut a = Slot::new("a", &spec);
    let b = Slot {
        polling: true,
        ..Slot::new("b", &spec)
    };
    a.row = Some(FleetRow::of(&snapshot("a", spec, vec![Ok(node(50, 100))])));
    a.polling = true;
    let t = model(&[a, b], "b");
    let names: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
    assert_eq!(names, ["CONTEXT", "STATUS", "REACH", "REDIS", "PROBLEM"]);
    let text = |r: usize, c: usize| t.rows[r].cells[c].text.clone();
    assert_eq!(t.rows[0].key, "a");
    assert_eq!(text(0, 1), "ok");
    assert_eq!(text(0, 2), "1/1 up …");
    assert_eq!(text(0, 3), "mem 50%");
    assert_eq!(text(0, 4), "no alerts");
    assert_eq!(text(1, 0), "b (current)");
    assert_eq!(text(1, 1), "polling…");
}

/// A server that accepts connections and never answers: a hung source.
fn hung_server() -> (std::net::TcpListener, u16) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
    // dropped: nothing listens there any more
}

#[tokio::test]
async fn rounds_report_every_context_and_a_hung_source_is_cut_by_the_timeout() {
    let (_hung, hung_port) = hung_server();
    let refused = closed_port();
    let ctx = |name: &str, port: u16| Context {
        name: name.into(),
        spec: ContextSpec {
            redis: vec![RedisSpec {
                name: "cache".into(),
                url: Some(format!("redis://127.0.0.1:{port}")),
                ..Default::default()
            }],
            host: crate::sources::host::HostSwitch(false),
            ..Default::default()
        },
    };
    let contexts: Vec<Context> = (0..10)
        .map(|i| ctx(&format!("refused-{i}"), refused))
        .chain([ctx("hung", hung_port)])
        .collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(run(
        contexts,
        Arc::new(RuleSet::default()),
        Duration::from_secs(3600),
        Duration::from_millis(800),
        Arc::new(Notify::new()),
        move |p| tx.send(p).is_ok(),
    ));
    // A guard so a poll that is never cut fails the test instead of hanging it.
    let rows = tokio::time::timeout(Duration::from_secs(120), async {
        assert!(matches!(rx.recv().await, Some(Progress::Round)));
        let mut rows = Vec::new();
        loop {
            match rx.recv().await {
                Some(Progress::Row(r)) => rows.push(*r),
                Some(Progress::Done) => break rows,
                other => panic!("{other:?}"),
            }
        }
    })
    .await
    .expect("the round never finished: the hung source was not cut");
    task.abort();
    assert_eq!(rows.len(), 11);
    for r in &rows {
        assert!(r.unreachable, "{r:?}");
    }
    let hung = rows.iter().find(|r| r.context == "hung").unwrap();
    assert!(
        hung.errors[0].contains("no answer within 0.8s"),
        "{:?}",
        hung.errors
    );
    let refused = rows.iter().find(|r| r.context == "refused-3").unwrap();
    assert!(
        refused.errors[0].to_lowercase().contains("refused"),
        "{:?}",
        refused.errors
    );
}

#[test]
fn only_leaves_out_contexts_with_nothing_of_those_kinds() {
    let ctx = |name: &str, spec: ContextSpec| Context {
        name: name.into(),
        spec,
    };
    let contexts = [
        ctx(
            "cache",
            ContextSpec {
                redis: vec![redis("cache")],
                host: crate::sources::host::HostSwitch(false),
                ..Default::default()
            },
        ),
        ctx(
            "empty",
            ContextSpec {
                host: crate::sources::host::HostSwitch(false),
                ..Default::default()
            },
        ),
        ctx("host-only", ContextSpec::default()),
    ];
    let names = |only: &[SourceKind]| -> Vec<String> {
        selected(&contexts, only)
            .iter()
            .map(|c| c.name.clone())
            .collect()
    };
    assert_eq!(names(&[]), ["cache", "empty", "host-only"]);
    assert_eq!(names(&[SourceKind::Redis]), ["cache"]);
    assert_eq!(names(&[SourceKind::Host]), ["host-only"]);
    assert!(names(&[SourceKind::Kafka]).is_empty());
}
