//! Verifying backups through the guarded op: a good `pg_dump -Fc` file passes, a truncated
//! one fails with pg_restore's reason, and the next poll shows the verification.

mod support;

use std::process::Command;

use opsdeck::actions::Op;
use opsdeck::config::ContextSpec;
use opsdeck::config::keymap::Action;
use opsdeck::sources::backups::BackupSpec;
use opsdeck::sources::backups::{BackupPoller, Verdict};
use opsdeck::sources::{Poller, Sample};
use support::{Postgres, TestDir};

#[tokio::test]
async fn good_dump_passes_truncated_dump_fails() {
    let pg = Postgres::start();
    let db = pg.create_database("shop");
    pg.psql_db(
        &db,
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g",
    );
    let dir = TestDir::new("dumps");
    let good = dir.path().join("shop-1.dump");
    let out = Command::new("pg_dump")
        .args(["-Fc", "-d", &pg.url_for(&db), "-f", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(dir.path().join("shop-2.dump"), &bytes[..bytes.len() / 2]).unwrap();

    let spec = BackupSpec {
        name: "dumps".into(),
        kind: "files".into(),
        dir: Some(dir.path().display().to_string()),
        pattern: Some("shop-*.dump".into()),
        max_age: Some("1h".into()),
        ..Default::default()
    };
    let ctx = ContextSpec::default();
    let mut poller = BackupPoller::new(spec.clone(), &ctx);
    let s = poller.poll().await.unwrap();
    assert_eq!(s.file_count, Some(2));
    assert!(s.last_verification.is_none());

    let op_for = |file: &str| {
        let op = Sample::from(s.clone())
            .command(0, file, Action::Verify)
            .unwrap()
            .unwrap()
            .op;
        let Op::Backup(op) = op else { panic!() };
        op
    };
    let ok_op = op_for("shop-1.dump");
    assert!(
        ok_op.describe().starts_with("pg_restore --file=/dev/null "),
        "{}",
        ok_op.describe()
    );
    ok_op.execute(&ctx).await.unwrap();

    let bad_op = op_for("shop-2.dump");
    let bad = bad_op.execute(&ctx).await.unwrap_err();
    assert!(bad.contains("pg_restore failed"), "{bad}");

    // The console hands the result back to the source's poller; its next sample shows it.
    opsdeck::sources::Poller::absorb(
        &mut poller,
        &opsdeck::sources::system::Done {
            op: bad_op,
            result: Err(bad),
            at: "now".into(),
        },
    );
    let s = poller.poll().await.unwrap();
    let v = s.last_verification.clone().unwrap();
    assert!(!v.ok);
    assert!(v.target.ends_with("shop-2.dump"));
    let detail = s.detail(0, "shop-2.dump").unwrap();
    let text: String = detail
        .lines
        .iter()
        .flat_map(|l| l.iter().map(|c| c.text.clone() + "\n"))
        .collect();
    assert!(text.contains("FAILED"), "{text}");
    assert!(
        text.contains("Restore runbook") && text.contains("pg_restore -d"),
        "{text}"
    );
    assert_ne!(s.verdict, Verdict::Unknown);
}

#[tokio::test]
async fn back_up_now_on_redis_runs_bgsave() {
    let r = support::Redis::start();
    r.cli(&["SET", "k", "v"]);
    let ctx = ContextSpec {
        redis: vec![opsdeck::sources::redis::RedisSpec {
            name: "cache".into(),
            url: Some(r.url()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let spec = BackupSpec {
        name: "cache-rdb".into(),
        kind: "redis".into(),
        source: Some("cache".into()),
        ..Default::default()
    };
    let mut poller = BackupPoller::new(spec.clone(), &ctx);
    let s = poller.poll().await.unwrap();
    assert_eq!(s.rdb_changes_since_last_save, Some(1), "{s:?}");
    let op = Sample::from(s.clone())
        .command(0, "", Action::BackupNow)
        .unwrap()
        .unwrap()
        .op;
    let Op::Backup(op) = op else { panic!() };
    assert_eq!(op.describe(), "BGSAVE on redis cache");
    op.execute(&ctx).await.unwrap();
    support::wait_until("the save", std::time::Duration::from_secs(10), || {
        r.cli(&["INFO", "persistence"])
            .contains("rdb_changes_since_last_save:0")
            .then_some(())
    });
    let s = poller.poll().await.unwrap();
    assert_eq!(s.verdict, Verdict::Fresh, "{}", s.reason);
}
