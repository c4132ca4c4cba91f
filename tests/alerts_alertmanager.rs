//! Alertmanager both ways against a real `prometheus-alertmanager`: opsdeck's alerts arrive
//! with their labels and resolve; alerts posted to it by others are pulled back.

mod support;

use std::time::Duration;

use opsdeck::alerts::{self, SourceView, alertmanager};
use opsdeck::sources::backups::BackupSample;
use opsdeck::sources::{Sample, SourceKind, Status};
use support::{Alertmanager, wait_until};

fn failed_backup_alert() -> alerts::Alert {
    let st = Status::Ok;
    let s = Sample::Backup(Box::new(BackupSample {
        name: "nightly".into(),
        verdict: opsdeck::sources::backups::Verdict::Failed,
        reason: "exit 1".into(),
        ..Default::default()
    }));
    alerts::evaluate(
        &Default::default(),
        [SourceView {
            kind: SourceKind::Backup,
            name: "nightly",
            status: &st,
            sample: Some(&s),
        }],
    )
    .remove(0)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn pushed_alerts_arrive_with_labels_and_resolve() {
    let am = Alertmanager::start();
    let client = alertmanager::client(Duration::from_secs(5)).unwrap();
    let a = failed_backup_alert();
    let since = chrono::Utc::now() - chrono::Duration::minutes(3);
    rt().block_on(alertmanager::push(
        &client,
        &am.url(),
        &[alertmanager::postable(&a, "prod", "", since, None)],
    ))
    .unwrap();
    let held = am.alerts();
    let held = held.as_array().unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    let labels = &held[0]["labels"];
    assert_eq!(labels["alertname"], "backup_failed");
    assert_eq!(labels["severity"], "critical");
    assert_eq!(labels["kind"], "backup");
    assert_eq!(labels["source"], "nightly");
    assert_eq!(labels["context"], "prod");
    assert_eq!(
        held[0]["annotations"]["summary"],
        "backup nightly failed: exit 1"
    );
    // Resolved: sent again with an end time, it leaves the active alerts.
    rt().block_on(alertmanager::push(
        &client,
        &am.url(),
        &[alertmanager::postable(
            &a,
            "prod",
            "",
            since,
            Some(chrono::Utc::now()),
        )],
    ))
    .unwrap();
    wait_until("the alert to resolve", Duration::from_secs(10), || {
        am.alerts().as_array().unwrap().is_empty().then_some(())
    });
}

#[test]
fn alerts_held_by_alertmanager_are_pulled_without_our_own() {
    let am = Alertmanager::start();
    am.post(&serde_json::json!([{
        "labels": {"alertname": "HighLoad", "severity": "critical", "instance": "db1"},
        "annotations": {"summary": "load is 42 on db1", "runbook_url": "https://wiki/load"}
    }]));
    let client = alertmanager::client(Duration::from_secs(5)).unwrap();
    let a = failed_backup_alert();
    rt().block_on(alertmanager::push(
        &client,
        &am.url(),
        &[alertmanager::postable(
            &a,
            "prod",
            "",
            chrono::Utc::now(),
            None,
        )],
    ))
    .unwrap();
    let pulled = rt()
        .block_on(alertmanager::pull(&client, &am.url()))
        .unwrap();
    assert_eq!(pulled.len(), 1, "{pulled:?}");
    assert_eq!(pulled[0].name, "HighLoad");
    assert_eq!(pulled[0].severity, alerts::Severity::Critical);
    assert_eq!(pulled[0].summary, "load is 42 on db1");
    assert_eq!(pulled[0].labels["instance"], "db1");
    assert_eq!(pulled[0].runbook.as_deref(), Some("https://wiki/load"));
}

#[test]
fn an_unreachable_alertmanager_is_an_error_that_says_where() {
    let port = support::free_port();
    let client = alertmanager::client(Duration::from_secs(2)).unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let e = rt()
        .block_on(alertmanager::pull(&client, &url))
        .unwrap_err();
    assert_eq!(
        e,
        format!("Alertmanager {url}: connection refused or unreachable")
    );
}
