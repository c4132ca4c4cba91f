//! Backup verdicts through `opsdeck check` against real pgBackRest, Redis and files.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{PgBackRest, Redis, TestDir};

fn check(dir: &Path, toml: &str) -> (Output, serde_json::Value) {
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        format!("default_context = \"t\"\n[contexts.t]\nhost = false\n{toml}"),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "check",
            "--output",
            "json",
        ])
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o, v)
}

fn backup<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v}"))
}

#[test]
fn pgbackrest_fresh_then_stale_with_a_tiny_objective() {
    let b = PgBackRest::start();
    b.backup("full");
    let dir = TestDir::new("bk-pgbr");
    let entry = |max: &str| {
        format!(
            "[[contexts.t.backups]]\nname = \"nightly\"\nkind = \"pgbackrest\"\nstanza = \"{}\"\npgbackrest_config = \"{}\"\nmax_age = \"{max}\"\n",
            b.stanza(),
            b.config_path().display()
        )
    };
    let (o, v) = check(dir.path(), &entry("1h"));
    let s = backup(&v, "nightly");
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(s["data"]["verdict"], "fresh", "{v}");
    assert_eq!(s["data"]["items"][0]["kind"], "full");
    assert!(s["data"]["items"][0]["size"].as_u64().unwrap() > 1_000_000);
    assert_eq!(s["data"]["status_code"], 0);

    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (o, v) = check(dir.path(), &entry("1s"));
    assert_eq!(backup(&v, "nightly")["data"]["verdict"], "stale", "{v}");
    assert_eq!(o.status.code(), Some(1), "{v}");
    assert!(
        backup(&v, "nightly")["problem"]
            .as_str()
            .unwrap()
            .contains("backup nightly stale")
    );
}

#[test]
fn redis_with_a_failing_save_is_failed_with_its_own_status() {
    let r = Redis::start_with(&[("dbfilename", "blocked.rdb")]);
    let dir = TestDir::new("bk-redis");
    // Root ignores directory permissions (and `dir`/`dbfilename` are protected configs), so
    // the save fails at its final rename instead: the RDB file's name is taken by a directory.
    let got = r.cli(&["CONFIG", "GET", "dir"]);
    let rdir = got.lines().nth(1).unwrap().trim().to_string();
    std::fs::create_dir(Path::new(&rdir).join("blocked.rdb")).unwrap();
    r.cli(&["SET", "k", "v"]);
    let started = r.cli(&["BGSAVE"]);
    support::wait_until(
        &format!("bgsave to fail ({started})"),
        std::time::Duration::from_secs(10),
        || {
            r.cli(&["INFO", "persistence"])
                .contains("rdb_last_bgsave_status:err")
                .then_some(())
        },
    );
    let (o, v) = check(
        dir.path(),
        &format!(
            "[[contexts.t.redis]]\nname = \"cache\"\nurl = \"{}\"\n[[contexts.t.backups]]\nname = \"cache-rdb\"\nkind = \"redis\"\nsource = \"cache\"\nmax_age = \"1h\"\n",
            r.url()
        ),
    );
    let s = backup(&v, "cache-rdb");
    assert_eq!(s["data"]["verdict"], "failed", "{v}");
    assert!(
        s["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("rdb_last_bgsave_status:err")
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn dump_files_newest_count_and_size_drop() {
    let dir = TestDir::new("bk-files");
    let dumps = dir.path().join("dumps");
    std::fs::create_dir(&dumps).unwrap();
    std::fs::write(dumps.join("db-1.dump"), vec![0u8; 1000]).unwrap();
    let older = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    std::fs::File::options()
        .write(true)
        .open(dumps.join("db-1.dump"))
        .unwrap()
        .set_modified(older)
        .unwrap();
    std::fs::write(dumps.join("db-2.dump"), vec![0u8; 100]).unwrap();
    std::fs::write(dumps.join("notes.txt"), "x").unwrap();
    let (o, v) = check(
        dir.path(),
        &format!(
            "[[contexts.t.backups]]\nname = \"dumps\"\nkind = \"files\"\ndir = \"{}\"\npattern = \"*.dump\"\nmax_age = \"1h\"\n",
            dumps.display()
        ),
    );
    let s = &backup(&v, "dumps")["data"];
    assert_eq!(s["file_count"], 2, "{v}");
    assert_eq!(s["items"][0]["label"], "db-2.dump");
    // 90 % smaller than the previous dump: suspicious, so stale with that reason.
    assert_eq!(s["verdict"], "stale", "{v}");
    assert!(s["reason"].as_str().unwrap().contains("90% smaller"));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_broken_archive_command_shows_archiving_failures() {
    let pg =
        support::Postgres::start_with(&[("archive_mode", "on"), ("archive_command", "'false'")]);
    pg.psql("CREATE TABLE t AS SELECT 1 AS x; SELECT pg_switch_wal();");
    support::wait_until(
        "an archive failure",
        std::time::Duration::from_secs(20),
        || (pg.psql("SELECT failed_count FROM pg_stat_archiver").trim() != "0").then_some(()),
    );
    let dir = TestDir::new("bk-arch");
    let (o, v) = check(
        dir.path(),
        &format!(
            "[[contexts.t.postgres]]\nname = \"main\"\nurl = \"{}\"\n[[contexts.t.backups]]\nname = \"wal\"\nkind = \"pg_archiver\"\nsource = \"main\"\nmax_age = \"1h\"\n",
            pg.url()
        ),
    );
    let s = &backup(&v, "wal")["data"];
    assert_eq!(s["verdict"], "failed", "{v}");
    assert_eq!(s["failing"], true);
    assert!(s["failed_count"].as_i64().unwrap() >= 1);
    assert!(s["reason"].as_str().unwrap().contains("archiving failing"));
    assert_eq!(o.status.code(), Some(2));
}
