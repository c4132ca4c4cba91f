//! PostgreSQL (Debian's packages): an initdb'd cluster with pg_stat_statements preloaded,
//! WAL level replica, trust auth on loopback (plus password-auth roles on demand), and
//! streaming replicas made with pg_basebackup.
//!
//! initdb and postgres refuse to run as root, so when the tests run as root the server runs
//! as the `postgres` system user (created by the postgresql package), or `nobody` if that
//! does not exist, and its dirs are chowned to it. Run as non-root, it runs as you.

use super::process::{ProcessSpec, ServerProcess, TestDir, free_port, run_tool};
use std::fs;
use std::ops::Deref;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// The superuser created by initdb.
pub const SUPERUSER: &str = "postgres";
/// Members of this role must authenticate with a password (scram-sha-256) over TCP.
pub const PASSWORD_GROUP: &str = "password_users";

/// The PostgreSQL bin dir: `$OPSDECK_PG_BIN`, else the newest /usr/lib/postgresql/*/bin.
pub fn pg_bin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(d) = std::env::var_os("OPSDECK_PG_BIN") {
            return PathBuf::from(d);
        }
        let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("postgres").is_file().then_some((v, bin))
            })
            .collect();
        found.sort();
        match found.pop() {
            Some((_, bin)) => bin,
            None => panic!(
                "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (Debian \
                 package `postgresql`). Run `scripts/test` once to install the test servers, or \
                 set OPSDECK_PG_BIN."
            ),
        }
    })
    .clone()
}

fn pg_bin(name: &str) -> PathBuf {
    let p = pg_bin_dir().join(name);
    if !p.is_file() {
        panic!(
            "{} not found (Debian package `postgresql`). Run `scripts/test` once.",
            p.display()
        );
    }
    p
}

/// (uid, gid) to run the server as when we are root; None when not root.
pub fn server_user() -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    for name in ["postgres", "nobody"] {
        if let Ok(Some(u)) = nix::unistd::User::from_name(name) {
            return Some((u.uid.as_raw(), u.gid.as_raw()));
        }
    }
    panic!("running as root but neither a `postgres` nor a `nobody` user exists");
}

/// Chowns a tree to the server user (no-op when not root).
pub fn chown_for_server(path: &Path) {
    let Some((uid, gid)) = server_user() else {
        return;
    };
    fn walk(p: &Path, uid: u32, gid: u32) {
        let _ = std::os::unix::fs::lchown(p, Some(uid), Some(gid));
        if p.is_dir() && !p.is_symlink() {
            for e in fs::read_dir(p).into_iter().flatten().flatten() {
                walk(&e.path(), uid, gid);
            }
        }
    }
    walk(path, uid, gid);
}

/// A command that runs as the server user (when root) with HOME in `home`.
pub fn as_server_user(program: &Path, home: &Path) -> Command {
    let mut c = Command::new(program);
    if let Some((uid, gid)) = server_user() {
        c.uid(uid).gid(gid);
    }
    c.env("HOME", home);
    c.env_remove("PGPASSWORD");
    c
}

/// One PostgreSQL instance (primary or replica). `Deref`s to its [`ServerProcess`] for
/// `stop/kill/pause/resume/restart`.
pub struct Postgres {
    process: ServerProcess,
    port: u16,
    data: PathBuf,
    socket_dir: PathBuf,
    dir: TestDir,
    replica: bool,
}

impl Deref for Postgres {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.process
    }
}

impl Postgres {
    /// initdb + start a primary on a free port.
    pub fn start() -> Postgres {
        Postgres::start_with(&[])
    }

    /// Like [`Postgres::start`] with extra postgresql.conf settings (values are written as
    /// given, so quote strings: `("archive_command", "'...'")`).
    pub fn start_with(settings: &[(&str, &str)]) -> Postgres {
        let dir = TestDir::new("pg");
        let data = dir.path().join("data");
        let socket_dir = dir.sub("sock");
        chown_for_server(dir.path());
        let mut initdb = as_server_user(&pg_bin("initdb"), dir.path());
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale"])
            .args(["--no-sync", "--no-instructions"]);
        let out = run_tool(initdb);
        if !out.status.success() {
            panic!(
                "initdb failed: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let port = free_port();
        let mut conf = vec![
            format!("port = {port}"),
            "listen_addresses = '127.0.0.1'".to_string(),
            format!("unix_socket_directories = '{}'", socket_dir.display()),
            "shared_preload_libraries = 'pg_stat_statements'".into(),
            "pg_stat_statements.track = all".into(),
            "wal_level = replica".into(),
            "max_wal_senders = 10".into(),
            "max_replication_slots = 10".into(),
            "hot_standby = on".into(),
            "max_connections = 100".into(),
            "shared_buffers = 32MB".into(),
            // Durability against SIGKILL only needs write(), not fsync: the OS stays up.
            "fsync = off".into(),
            "full_page_writes = off".into(),
            "logging_collector = off".into(),
            "log_line_prefix = '%m [%p] %u@%d '".into(),
            "track_io_timing = on".into(),
        ];
        conf.extend(settings.iter().map(|(k, v)| format!("{k} = {v}")));
        append(&data.join("postgresql.conf"), &conf.join("\n"));
        fs::write(
            data.join("pg_hba.conf"),
            format!(
                "local all all trust\n\
                 host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256\n\
                 host all all 127.0.0.1/32 trust\n\
                 local replication all trust\n\
                 host replication all 127.0.0.1/32 trust\n"
            ),
        )
        .expect("write pg_hba.conf");
        chown_for_server(dir.path());
        let pg = Postgres::launch(dir, data, socket_dir, port, false);
        pg.psql(&format!(
            "CREATE ROLE {PASSWORD_GROUP} NOLOGIN; CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
        ));
        pg
    }

    fn launch(
        dir: TestDir,
        data: PathBuf,
        socket_dir: PathBuf,
        port: u16,
        replica: bool,
    ) -> Postgres {
        let postgres = pg_bin("postgres");
        let isready = pg_bin("pg_isready");
        let home = dir.path().to_path_buf();
        let data2 = data.clone();
        let kind = if replica { "pg-replica" } else { "pg" };
        let process = ServerProcess::start(ProcessSpec {
            name: format!("{kind}:{port}"),
            command: Box::new(move || {
                let mut c = as_server_user(&postgres, &home);
                c.arg("-D").arg(&data2);
                c
            }),
            ready: Box::new(move || {
                let mut c = Command::new(&isready);
                c.args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-t",
                    "1",
                    "-U",
                    SUPERUSER,
                ]);
                let out = run_tool(c);
                if out.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&out.stdout).trim().to_string())
                }
            }),
            stdout_log: dir.path().join("postgres.log"),
            extra_logs: vec![],
            stop_signal: libc::SIGINT, // "fast" shutdown
            start_timeout: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(30),
            retry_early_exit: true,
        });
        Postgres {
            process,
            port,
            data,
            socket_dir,
            dir,
            replica,
        }
    }

    /// A streaming replica of this primary (`pg_basebackup -R -X stream`), started and
    /// accepting read-only connections.
    pub fn replica(&self) -> Postgres {
        let dir = TestDir::new("pg-replica");
        let data = dir.path().join("data");
        let socket_dir = dir.sub("sock");
        chown_for_server(dir.path());
        let mut bb = as_server_user(&pg_bin("pg_basebackup"), dir.path());
        bb.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            SUPERUSER,
        ])
        .arg("-D")
        .arg(&data)
        .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"]);
        let out = run_tool(bb);
        if !out.status.success() {
            panic!(
                "pg_basebackup failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.log_tail(20)
            );
        }
        let port = free_port();
        append(
            &data.join("postgresql.conf"),
            &format!(
                "port = {port}\nunix_socket_directories = '{}'\narchive_mode = off\n",
                socket_dir.display()
            ),
        );
        chown_for_server(dir.path());
        Postgres::launch(dir, data, socket_dir, port, true)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_replica(&self) -> bool {
        self.replica
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth).
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    pub fn url_for(&self, db: &str) -> String {
        self.url_as(SUPERUSER, db)
    }

    /// The URL of a trust-auth role (not in `password_users`) on `db`.
    pub fn url_as(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The instance's temp dir (data/, sock/, postgres.log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs SQL as the superuser on db `postgres`; returns unaligned, tuples-only output
    /// (`|`-separated columns, one row per line), trimmed. Panics on error.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_db("postgres", sql)
    }

    pub fn psql_db(&self, db: &str, sql: &str) -> String {
        let out = self.try_psql_db(db, sql);
        if !out.status.success() {
            panic!(
                "psql on port {} failed: {sql}\n{}",
                self.port,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn try_psql_db(&self, db: &str, sql: &str) -> Output {
        let mut c = Command::new(pg_bin("psql"));
        c.args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
            ])
            .args(["-d", db, "-c", sql])
            .env_remove("PGPASSWORD");
        run_tool(c)
    }

    /// Creates a database with a unique name and returns the name.
    pub fn create_database(&self, prefix: &str) -> String {
        let name = super::unique_name(prefix);
        self.psql(&format!("CREATE DATABASE {name}"));
        name
    }

    /// Creates a login role that must use its password over TCP (scram-sha-256) and
    /// returns its URL, e.g. `postgres://alice:secret@127.0.0.1:port/postgres`.
    pub fn create_password_user(&self, user: &str, password: &str) -> String {
        self.psql(&format!(
            "CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE {PASSWORD_GROUP}"
        ));
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/postgres",
            self.port
        )
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    writeln!(f, "\n# added by the opsdeck test harness\n{text}").expect("append config");
}

/// One server for a whole test binary (a test that needs its own starts its own).
pub fn shared_postgres() -> &'static Postgres {
    static SHARED: std::sync::OnceLock<Postgres> = std::sync::OnceLock::new();
    SHARED.get_or_init(Postgres::start)
}
