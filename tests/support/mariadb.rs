//! MariaDB (Debian's `mariadb-server`): `mariadb-install-db` into a temp dir, `mariadbd` on
//! a free loopback port with its socket beside the data, binary log and GTID on,
//! performance_schema on, and replicas that follow a primary by GTID.
//!
//! mariadbd refuses to run as root unless told to, so as root it gets `--user=root` (the
//! data dir stays root's and nothing needs chowning); as non-root it runs as you.
//!
//! Users, created on every instance with `sql_log_bin=0` (so a replica, which creates
//! its own, does not replay them and stop on "user exists"):
//! - `root` without a password over TCP (all privileges);
//! - [`LIMITED_USER`] / [`LIMITED_PASSWORD`]: SELECT on everything, no PROCESS;
//! - [`REPL_USER`] / [`REPL_PASSWORD`]: REPLICATION SLAVE, used by replicas.

use super::process::{ProcessSpec, ServerProcess, TestDir, free_port, run_tool};
use super::{require_program, unique_name, wait_until};
use std::collections::HashMap;
use std::fs;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub const LIMITED_USER: &str = "limited";
pub const LIMITED_PASSWORD: &str = "limited-pw";
pub const REPL_USER: &str = "repl";
pub const REPL_PASSWORD: &str = "repl-pw";

/// Every instance of a test binary gets its own server_id (replication needs them distinct).
fn next_server_id() -> u32 {
    static ID: AtomicU32 = AtomicU32::new(1);
    ID.fetch_add(1, Ordering::Relaxed)
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// One mariadbd. `Deref`s to its [`ServerProcess`] for `stop/kill/pause/resume/restart`.
pub struct Mariadb {
    process: ServerProcess,
    port: u16,
    server_id: u32,
    socket: PathBuf,
    dir: TestDir,
}

impl Deref for Mariadb {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.process
    }
}

impl Mariadb {
    /// A fresh server on a free port, ready when it answers `SELECT 1`.
    pub fn start() -> Mariadb {
        Mariadb::start_with(&[])
    }

    /// Like [`Mariadb::start`] with extra server options (`[mysqld]` lines), e.g.
    /// `&[("performance_schema", "OFF")]`.
    pub fn start_with(settings: &[(&str, &str)]) -> Mariadb {
        Mariadb::start_in(TestDir::new("mariadb"), settings)
    }

    /// A server that also speaks TLS, with a certificate for 127.0.0.1 and localhost signed
    /// by its own CA ([`Mariadb::tls_ca`]). Plain connections still work (the client tool).
    pub fn start_tls() -> Mariadb {
        let dir = TestDir::new("mariadb");
        let tls = dir.sub("tls");
        make_certs(&tls);
        let path = |f: &str| tls.join(f).display().to_string();
        let (ca, cert, key) = (path("ca.pem"), path("server.pem"), path("server.key"));
        Mariadb::start_in(
            dir,
            &[("ssl_ca", &ca), ("ssl_cert", &cert), ("ssl_key", &key)],
        )
    }

    /// The CA that signed the server's certificate (servers from [`Mariadb::start_tls`]).
    pub fn tls_ca(&self) -> PathBuf {
        self.dir.path().join("tls/ca.pem")
    }

    fn start_in(dir: TestDir, settings: &[(&str, &str)]) -> Mariadb {
        let port = free_port();
        let server_id = next_server_id();
        let data = dir.path().join("data");
        let socket = dir.path().join("mariadb.sock");
        let tmp = dir.sub("tmp");
        let mut conf = vec![
            "[mysqld]".to_string(),
            format!("datadir = {}", data.display()),
            format!("socket = {}", socket.display()),
            format!("pid-file = {}", dir.path().join("mariadbd.pid").display()),
            format!("tmpdir = {}", tmp.display()),
            format!("port = {port}"),
            "bind-address = 127.0.0.1".into(),
            "skip-name-resolve".into(),
            format!("server-id = {server_id}"),
            "log-bin = mariadb-bin".into(),
            "log-slave-updates".into(),
            "binlog-format = ROW".into(),
            "performance_schema = ON".into(),
            "max_connections = 100".into(),
            // Small and fast: a test server holds a few rows and must survive only SIGKILL
            // of itself, not of the machine.
            "innodb_buffer_pool_size = 32M".into(),
            "innodb_log_file_size = 8M".into(),
            "innodb_flush_log_at_trx_commit = 2".into(),
            "sync_binlog = 0".into(),
            // A statement over 1 s counts in Slow_queries (the slow log itself stays off).
            "long_query_time = 1".into(),
        ];
        if is_root() {
            conf.push("user = root".into());
        }
        conf.extend(settings.iter().map(|(k, v)| format!("{k} = {v}")));
        let cnf = dir.path().join("my.cnf");
        fs::write(&cnf, conf.join("\n") + "\n")
            .unwrap_or_else(|e| panic!("write {}: {e}", cnf.display()));

        let mut install = Command::new(require_program("mariadb-install-db", "mariadb-server"));
        install
            .arg(format!("--defaults-file={}", cnf.display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ]);
        if is_root() {
            install.arg("--user=root");
        }
        let out = run_tool(install);
        if !out.status.success() {
            panic!(
                "mariadb-install-db failed ({}):\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }

        let mariadbd = require_program("mariadbd", "mariadb-server");
        let client = require_program("mariadb", "mariadb-client");
        let cnf2 = cnf.clone();
        let process = ServerProcess::start(ProcessSpec {
            name: format!("mariadb:{port}"),
            command: Box::new(move || {
                let mut c = Command::new(&mariadbd);
                c.arg(format!("--defaults-file={}", cnf2.display()));
                c
            }),
            ready: Box::new(move || {
                let out = run_tool(client_command(&client, port, "root", None, "SELECT 1"));
                if out.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
                }
            }),
            stdout_log: dir.path().join("mariadbd.log"),
            extra_logs: vec![],
            stop_signal: libc::SIGTERM,
            start_timeout: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(30),
            // A SIGKILLed mariadbd may leave its port in TIME_WAIT or aria's lock for a
            // moment; a retry after a short pause gets through.
            retry_early_exit: true,
        });
        let db = Mariadb {
            process,
            port,
            server_id,
            socket,
            dir,
        };
        db.sql(&format!(
            "SET sql_log_bin = 0; \
             CREATE USER '{LIMITED_USER}'@'%' IDENTIFIED BY '{LIMITED_PASSWORD}'; \
             GRANT SELECT ON *.* TO '{LIMITED_USER}'@'%'; \
             CREATE USER '{REPL_USER}'@'%' IDENTIFIED BY '{REPL_PASSWORD}'; \
             GRANT REPLICATION SLAVE ON *.* TO '{REPL_USER}'@'%';"
        ));
        db
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn server_id(&self) -> u32 {
        self.server_id
    }

    /// `mysql://root@127.0.0.1:<port>/mysql` (no password).
    pub fn url(&self) -> String {
        self.url_for("mysql")
    }

    /// `mysql://root@127.0.0.1:<port>/<db>` (no password).
    pub fn url_for(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.port)
    }

    /// `mysql://user:password@127.0.0.1:<port>/db` (give an empty db for none).
    pub fn url_as(&self, user: &str, password: &str, db: &str) -> String {
        format!("mysql://{user}:{password}@127.0.0.1:{}/{db}", self.port)
    }

    /// The URL of [`LIMITED_USER`]: SELECT everywhere, no PROCESS privilege.
    pub fn limited_url(&self) -> String {
        self.url_as(LIMITED_USER, LIMITED_PASSWORD, "")
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The instance's temp dir (data/, my.cnf, mariadbd.log, the socket).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs SQL as root through the `mariadb` client; returns the tab-separated rows
    /// without column names, trimmed. Panics with the error on failure.
    pub fn sql(&self, query: &str) -> String {
        let out = self.try_sql_as("root", None, query);
        if !out.status.success() {
            panic!(
                "mariadb on port {} failed: {query}\n{}",
                self.port,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs SQL as any user (None: no password); the raw output, to check failures.
    pub fn try_sql_as(&self, user: &str, password: Option<&str>, query: &str) -> Output {
        let client = require_program("mariadb", "mariadb-client");
        run_tool(client_command(&client, self.port, user, password, query))
    }

    /// Creates a database with a unique name and returns the name.
    pub fn create_database(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        self.sql(&format!("CREATE DATABASE {name}"));
        name
    }

    /// Creates a user (unique name from `prefix`) with all privileges on `db` and returns
    /// the name; its password is the name itself.
    pub fn create_user(&self, prefix: &str, db: &str) -> String {
        let name = unique_name(prefix);
        self.sql(&format!(
            "CREATE USER '{name}'@'%' IDENTIFIED BY '{name}'; \
             GRANT ALL ON {db}.* TO '{name}'@'%';"
        ));
        name
    }

    /// `SHOW SLAVE STATUS` as column -> value (empty when this server replicates nothing).
    pub fn slave_status(&self) -> HashMap<String, String> {
        let client = require_program("mariadb", "mariadb-client");
        let mut c = client_command(&client, self.port, "root", None, "SHOW SLAVE STATUS");
        // Vertical output keeps the column names (`Name: value` lines).
        c.arg("--vertical").arg("--column-names");
        let out = run_tool(c);
        if !out.status.success() {
            panic!(
                "SHOW SLAVE STATUS on port {} failed: {}",
                self.port,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                Some((k.trim().to_string(), v.trim().to_string()))
            })
            .collect()
    }

    pub fn stop_slave(&self) {
        self.sql("STOP SLAVE");
        wait_until(
            "both replication threads stopped",
            Duration::from_secs(30),
            || {
                let s = self.slave_status();
                (s.get("Slave_IO_Running").map(String::as_str) == Some("No")
                    && s.get("Slave_SQL_Running").map(String::as_str) == Some("No"))
                .then_some(())
            },
        );
    }

    pub fn start_slave(&self) {
        self.sql("START SLAVE");
        self.wait_slave_running();
    }

    /// Waits until both replication threads run (IO `Yes`, SQL `Yes`).
    pub fn wait_slave_running(&self) {
        wait_until(
            "both replication threads running",
            Duration::from_secs(30),
            || {
                let s = self.slave_status();
                (s.get("Slave_IO_Running").map(String::as_str) == Some("Yes")
                    && s.get("Slave_SQL_Running").map(String::as_str) == Some("Yes"))
                .then_some(())
            },
        );
    }

    /// `@@gtid_binlog_pos`: the GTIDs this server has written to its binary log.
    pub fn gtid_binlog_pos(&self) -> String {
        self.sql("SELECT @@gtid_binlog_pos")
    }

    /// A second server replicating from this one by GTID (`MASTER_USE_GTID=slave_pos`),
    /// started, with both replication threads running and caught up.
    pub fn replica(&self) -> Mariadb {
        let r = Mariadb::start();
        r.sql(&format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, \
             MASTER_USER='{REPL_USER}', MASTER_PASSWORD='{REPL_PASSWORD}', \
             MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos; START SLAVE;",
            self.port
        ));
        r.wait_slave_running();
        r.wait_caught_up(self);
        r
    }

    /// Waits until this replica has applied everything `primary` had logged when called.
    pub fn wait_caught_up(&self, primary: &Mariadb) {
        let want = primary.gtid_binlog_pos();
        if want.is_empty() {
            return;
        }
        let out = self.sql(&format!("SELECT MASTER_GTID_WAIT('{want}', 30)"));
        if out != "0" {
            panic!(
                "replica on port {} did not reach GTID {want} within 30 s (MASTER_GTID_WAIT \
                 returned {out}); slave status: {:?}",
                self.port,
                self.slave_status()
            );
        }
    }
}

/// A CA, and a server certificate it signs for 127.0.0.1 / localhost, in `dir`; plus an
/// unrelated CA (`other-ca.pem`) for tests that must see verification fail.
fn make_certs(dir: &Path) {
    let openssl = require_program("openssl", "openssl");
    let ext = dir.join("san.ext");
    fs::write(
        &ext,
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n",
    )
    .unwrap_or_else(|e| panic!("write {}: {e}", ext.display()));
    let run = |args: &[&str]| {
        let mut c = Command::new(&openssl);
        c.current_dir(dir).args(args);
        super::process::run_tool_ok(c);
    };
    for ca in ["ca", "other-ca"] {
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
            "-subj",
            &format!("/CN=opsdeck test {ca}"),
        ]);
    }
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "server.pem",
        "-extfile",
        "san.ext",
    ]);
}

/// The `mariadb` client against 127.0.0.1:port, batch mode, no column names, no
/// option files (a user's ~/.my.cnf must not change what the tests run).
fn client_command(
    client: &Path,
    port: u16,
    user: &str,
    password: Option<&str>,
    query: &str,
) -> Command {
    let mut c = Command::new(client);
    c.args(["--no-defaults", "--protocol=TCP", "-h", "127.0.0.1"])
        .arg(format!("--port={port}"))
        .arg(format!("--user={user}"))
        .args(["--batch", "--skip-column-names", "--connect-timeout=2"]);
    if let Some(p) = password {
        // The environment keeps it off the command line (ps).
        c.env("MYSQL_PWD", p);
    } else {
        c.env_remove("MYSQL_PWD");
    }
    c.arg("-e").arg(query);
    c
}
