//! pgBackRest: a stanza on a local repo dir, with WAL archiving from a harness PostgreSQL.

use super::postgres::{Postgres, as_server_user, chown_for_server};
use super::process::{TestDir, run_tool};
use super::require_program;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

pub const STANZA: &str = "opsdeck";

/// A PostgreSQL whose `archive_command` pushes WAL to a pgBackRest repo, with the stanza
/// created and checked. Field order matters for drop: postgres stops before the dir goes.
pub struct PgBackRest {
    pg: Postgres,
    config: PathBuf,
    repo: PathBuf,
    dir: TestDir,
}

impl PgBackRest {
    pub fn start() -> PgBackRest {
        let bin = require_program("pgbackrest", "pgbackrest");
        let dir = TestDir::new("pgbackrest");
        let repo = dir.sub("repo");
        for d in ["log", "lock", "spool"] {
            dir.sub(d);
        }
        let config = dir.path().join("pgbackrest.conf");
        chown_for_server(dir.path());
        let archive_command = format!(
            "'{} --config={} --stanza={STANZA} archive-push %p'",
            bin.display(),
            config.display()
        );
        let pg = Postgres::start_with(&[
            ("archive_mode", "on"),
            ("archive_command", &archive_command),
            ("archive_timeout", "60"),
        ]);
        fs::write(
            &config,
            format!(
                "[global]\n\
                 repo1-path={repo}\n\
                 repo1-retention-full=2\n\
                 log-path={d}/log\n\
                 lock-path={d}/lock\n\
                 spool-path={d}/spool\n\
                 log-level-console=warn\n\
                 log-level-file=info\n\
                 compress-type=none\n\
                 start-fast=y\n\
                 archive-timeout=30\n\
                 [{STANZA}]\n\
                 pg1-path={data}\n\
                 pg1-port={port}\n\
                 pg1-socket-path={sock}\n\
                 pg1-user=postgres\n",
                repo = repo.display(),
                d = dir.path().display(),
                data = pg.data_dir().display(),
                port = pg.port(),
                sock = pg.socket_dir().display(),
            ),
        )
        .expect("write pgbackrest.conf");
        chown_for_server(dir.path());
        let b = PgBackRest {
            pg,
            config,
            repo,
            dir,
        };
        b.run_ok(&["stanza-create"]);
        b.run_ok(&["check"]);
        b
    }

    /// Runs `pgbackrest --config=<conf> --stanza=opsdeck <args>` as the server user.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut c = as_server_user(
            &require_program("pgbackrest", "pgbackrest"),
            self.dir.path(),
        );
        c.arg(format!("--config={}", self.config.display()))
            .arg(format!("--stanza={STANZA}"))
            .args(args);
        run_tool(c)
    }

    /// [`PgBackRest::run`], panicking with pgBackRest's output and log unless it exits 0.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        if !out.status.success() {
            panic!(
                "pgbackrest {args:?} failed ({}):\n{}\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.pg.log_tail(20)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `pgbackrest backup --type=<full|diff|incr>`.
    pub fn backup(&self, kind: &str) {
        self.run_ok(&["backup", &format!("--type={kind}")]);
    }

    /// `pgbackrest check` (archiving works).
    pub fn check(&self) {
        self.run_ok(&["check"]);
    }

    /// `pgbackrest info --output=json`, parsed.
    pub fn info_json(&self) -> serde_json::Value {
        let text = self.run_ok(&["info", "--output=json"]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("pgbackrest info json: {e}: {text}"))
    }

    pub fn stanza(&self) -> &'static str {
        STANZA
    }

    pub fn postgres(&self) -> &Postgres {
        &self.pg
    }

    pub fn config_path(&self) -> &Path {
        &self.config
    }

    pub fn repo_path(&self) -> &Path {
        &self.repo
    }
}
