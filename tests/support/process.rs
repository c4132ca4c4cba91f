//! One managed server process: spawn, readiness, stop/kill/pause/resume/restart, log tail,
//! and the reaper that makes sure no server outlives the test binary.
//!
//! How nothing is left behind (see tests/support/README.md for the experiment):
//! - every server is spawned from ONE long-lived thread (`opsdeck-test-spawner`) with
//!   `PR_SET_PDEATHSIG = SIGKILL`. The kernel sends the signal when the *thread* that forked
//!   the child exits, so spawning from a test thread would kill a shared server as soon as
//!   the test that started it finished. The spawner thread lives until the process dies, so
//!   the signal fires exactly when the test binary dies: normal exit, panic, `exit(101)`,
//!   SIGINT (Ctrl-C) or SIGKILL.
//! - `Drop` of a handle kills and reaps its process (tests that own their servers).
//! - a `libc::atexit` handler SIGKILLs and reaps what is still registered (the shared
//!   statics, which are never dropped) and removes their temp dirs.
//! - temp dirs live under `$TMPDIR/opsdeck-test/<pid>-...`; dirs of dead pids (left by a
//!   SIGKILLed or Ctrl-C'd run, where atexit cannot run) are swept on the next start.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Locks a mutex, ignoring poisoning (a panicking test must not wedge the harness).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------
// Registry of live pids and temp dirs, cleaned by atexit.

static LIVE_PIDS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static OWNED_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static ATEXIT: OnceLock<()> = OnceLock::new();

extern "C" fn reap_at_exit() {
    // Other threads are gone or parked at this point; try_lock avoids a deadlock if one
    // died holding a lock.
    let pids: Vec<i32> = match LIVE_PIDS.try_lock() {
        Ok(g) => g.clone(),
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner().clone(),
        Err(_) => Vec::new(),
    };
    for &pid in &pids {
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    for &pid in &pids {
        let mut status = 0;
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
    let dirs: Vec<PathBuf> = match OWNED_DIRS.try_lock() {
        Ok(g) => g.clone(),
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner().clone(),
        Err(_) => Vec::new(),
    };
    for d in dirs {
        let _ = fs::remove_dir_all(d);
    }
}

fn ensure_atexit() {
    ATEXIT.get_or_init(|| {
        unsafe { libc::atexit(reap_at_exit) };
    });
}

fn register_pid(pid: i32) {
    ensure_atexit();
    lock(&LIVE_PIDS).push(pid);
}

fn unregister_pid(pid: i32) {
    lock(&LIVE_PIDS).retain(|&p| p != pid);
}

pub(crate) fn register_dir(p: &Path) {
    ensure_atexit();
    lock(&OWNED_DIRS).push(p.to_path_buf());
}

pub(crate) fn unregister_dir(p: &Path) {
    lock(&OWNED_DIRS).retain(|d| d != p);
}

// ---------------------------------------------------------------------------------------
// Spawning.

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);
static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();

/// Arms `cmd` so the child gets SIGKILL when the thread that spawns it (or the whole
/// process) dies. Runs after std's setuid/setgid, which would otherwise clear the setting.
pub fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Spawns a long-lived server from the dedicated spawner thread (see module docs).
fn spawn_server(mut cmd: Command) -> io::Result<Child> {
    die_with_parent(&mut cmd);
    let tx = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("opsdeck-test-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("cannot start the harness spawner thread");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    lock(tx)
        .send((cmd, reply_tx))
        .expect("harness spawner thread is gone");
    reply_rx.recv().expect("harness spawner thread is gone")
}

/// Runs a short-lived command (a CLI tool) to completion, with the same parent-death
/// guarantee. Panics with a clear message if the program cannot be started.
pub fn run_tool(mut cmd: Command) -> Output {
    die_with_parent(&mut cmd);
    cmd.stdin(Stdio::null());
    let program = cmd.get_program().to_string_lossy().into_owned();
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!(
            "cannot run `{program}`: {e}. Is it installed? Run `scripts/test` once to install \
             the test servers and tools."
        ),
    }
}

/// Like [`run_tool`] but panics unless the command exits 0; returns stdout.
pub fn run_tool_ok(cmd: Command) -> String {
    let desc = format!("{cmd:?}");
    let out = run_tool(cmd);
    if !out.status.success() {
        panic!(
            "command failed ({}): {desc}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------
// Free ports.

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A free TCP port on 127.0.0.1 that this process has not handed out before.
///
/// Ports come from 20000..32000, below Linux's ephemeral range (32768..60999), so an
/// outgoing client connection cannot grab a server's port while the server is down for a
/// `restart()`.
pub fn free_port() -> u16 {
    let mut guard = lock(&HANDED_OUT);
    let used = guard.get_or_insert_with(HashSet::new);
    let span = 12000u32;
    let seed = (std::process::id()
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0))
        % span;
    for i in 0..span {
        let port = (20000 + (seed + i * 7919) % span) as u16;
        if used.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            used.insert(port);
            return port;
        }
    }
    panic!("no free TCP port on 127.0.0.1 in 20000..32000");
}

// ---------------------------------------------------------------------------------------
// Log tails.

/// The last `max_lines` lines of a file (empty string if it does not exist).
pub fn tail_file(path: &Path, max_lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    let _ = f.seek(SeekFrom::Start(start));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(max_lines)..].join("\n")
}

// ---------------------------------------------------------------------------------------
// The managed process.

type CommandFn = Box<dyn Fn() -> Command + Send + Sync>;
type ReadyFn = Box<dyn Fn() -> Result<(), String> + Send + Sync>;

/// How to spawn and probe one server process.
pub struct ProcessSpec {
    /// Short name used in messages, e.g. `redis-6-node-3` or `kafka-broker-1`.
    pub name: String,
    /// Builds the command afresh for each (re)start. stdout/stderr are set by the harness.
    pub command: CommandFn,
    /// Returns Ok once the server answers; Err(reason) while not yet.
    pub ready: ReadyFn,
    /// Where the process's stdout and stderr go (appended across restarts).
    pub stdout_log: PathBuf,
    /// Extra log files worth showing when the server fails (e.g. Kafka's server.log).
    pub extra_logs: Vec<PathBuf>,
    /// Signal for a graceful stop (SIGTERM for most; SIGINT is postgres' "fast" shutdown).
    pub stop_signal: i32,
    pub start_timeout: Duration,
    pub stop_timeout: Duration,
    /// Postgres refuses to start while backends of a SIGKILLed postmaster are still exiting;
    /// when true an early exit is retried until the start timeout.
    pub retry_early_exit: bool,
}

/// A running (or stopped) server process, controllable from any thread.
pub struct ServerProcess {
    spec: ProcessSpec,
    child: Mutex<Option<Child>>,
}

impl ServerProcess {
    /// Spawns the process and waits until it is ready; panics with the log tail otherwise.
    pub fn start(spec: ProcessSpec) -> ServerProcess {
        let p = ServerProcess::spawn_only(spec);
        p.wait_ready();
        p
    }

    /// Spawns without waiting for readiness (to start several nodes in parallel); call
    /// [`ServerProcess::wait_ready`] afterwards.
    pub fn spawn_only(spec: ProcessSpec) -> ServerProcess {
        let p = ServerProcess {
            spec,
            child: Mutex::new(None),
        };
        p.spawn();
        p
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    fn spawn(&self) {
        let mut cmd = (self.spec.command)();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.spec.stdout_log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.spec.stdout_log.display()));
        let log2 = log.try_clone().expect("dup log fd");
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
        let program = cmd.get_program().to_string_lossy().into_owned();
        let child = spawn_server(cmd).unwrap_or_else(|e| {
            panic!(
                "cannot start {} (`{program}`): {e}. Is it installed? Run `scripts/test` once: \
                 it installs the test servers (postgresql, redis-server, redis-sentinel, \
                 pgbackrest, Java 17, Maven) and fetches Kafka's jars.",
                self.spec.name
            )
        });
        register_pid(child.id() as i32);
        *lock(&self.child) = Some(child);
    }

    /// The OS pid while the process runs.
    pub fn pid(&self) -> Option<u32> {
        let mut g = lock(&self.child);
        match g.as_mut() {
            Some(c) => match c.try_wait() {
                Ok(None) => Some(c.id()),
                _ => None,
            },
            None => None,
        }
    }

    pub fn is_running(&self) -> bool {
        self.pid().is_some()
    }

    /// Log tail (stdout/stderr log plus extra logs), for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut s = format!(
            "--- {} ({}) ---\n{}",
            self.spec.name,
            self.spec.stdout_log.display(),
            tail_file(&self.spec.stdout_log, lines)
        );
        for extra in &self.spec.extra_logs {
            s.push_str(&format!(
                "\n--- {} ---\n{}",
                extra.display(),
                tail_file(extra, lines)
            ));
        }
        s
    }

    /// Waits until the readiness probe passes; panics with the log tail on timeout or if
    /// the process exits.
    pub fn wait_ready(&self) {
        if let Err(e) = self.try_wait_ready(self.spec.start_timeout) {
            panic!("{e}");
        }
    }

    pub fn try_wait_ready(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            let exited = {
                let mut g = lock(&self.child);
                match g.as_mut() {
                    Some(c) => c.try_wait().ok().flatten(),
                    None => return Err(format!("{} is not running", self.spec.name)),
                }
            };
            if let Some(status) = exited {
                if let Some(c) = lock(&self.child).as_ref() {
                    unregister_pid(c.id() as i32);
                }
                if self.spec.retry_early_exit
                    && Instant::now() + Duration::from_millis(300) < deadline
                {
                    thread::sleep(Duration::from_millis(300));
                    self.spawn();
                    continue;
                }
                return Err(format!(
                    "{} exited during start-up ({status})\n{}",
                    self.spec.name,
                    self.log_tail(40)
                ));
            }
            match (self.spec.ready)() {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} not ready after {:?} (last probe: {last})\n{}",
                    self.spec.name,
                    timeout,
                    self.log_tail(40)
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn signal(&self, sig: i32) {
        if let Some(pid) = self.pid() {
            unsafe { libc::kill(pid as i32, sig) };
        }
    }

    /// Waits for the process to exit; true if it did within `timeout`.
    fn wait_exit(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let mut g = lock(&self.child);
                match g.as_mut() {
                    None => return true,
                    Some(c) => {
                        if let Ok(Some(_)) = c.try_wait() {
                            unregister_pid(c.id() as i32);
                            *g = None;
                            return true;
                        }
                    }
                }
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Graceful stop (the server's own shutdown signal), SIGKILL after the stop timeout.
    pub fn stop(&self) {
        self.signal(libc::SIGCONT);
        self.signal(self.spec.stop_signal);
        if !self.wait_exit(self.spec.stop_timeout) {
            self.kill();
        }
    }

    /// SIGKILL, and reap.
    pub fn kill(&self) {
        self.signal(libc::SIGKILL);
        self.wait_exit(Duration::from_secs(30));
    }

    /// SIGSTOP: the process stays, holds its port, answers nothing. Returns once every
    /// thread is stopped: the signal is delivered asynchronously, and a request sent at
    /// once could still be answered by a JVM whose threads had not all stopped yet.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
        let Some(pid) = self.pid() else { return };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !all_threads_stopped(pid) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGCONT.
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    /// Starts again (same command: same port, same data) and waits until ready.
    /// Stops it gracefully first if it is still running.
    pub fn restart(&self) {
        if self.is_running() {
            self.stop();
        }
        self.wait_exit(Duration::from_secs(5));
        self.spawn();
        self.wait_ready();
    }

    /// Starts a stopped or killed process again; no-op if it is running.
    pub fn start_again(&self) {
        if !self.is_running() {
            self.restart();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------
// Temp dirs.

/// The root under which all harness data dirs live: `$TMPDIR/opsdeck-test`.
pub fn harness_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join("opsdeck-test");
        let _ = fs::create_dir_all(&root);
        // World-writable + sticky like /tmp: root and non-root runs share it, and server
        // users (postgres) must traverse it.
        let _ = fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o1777));
        sweep_stale_dirs_in(&root);
        root
    })
    .clone()
}

/// Removes data dirs left by test binaries that died without cleaning up (SIGKILL, Ctrl-C).
pub fn sweep_stale_dirs() {
    sweep_stale_dirs_in(&harness_root());
}

fn sweep_stale_dirs_in(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if pid as u32 == std::process::id() {
            continue;
        }
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// A temp dir for one server (or set); removed on drop, or at exit if it lives in a static.
pub struct TestDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl TestDir {
    pub fn new(kind: &str) -> TestDir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-{kind}-", std::process::id()))
            .tempdir_in(harness_root())
            .expect("cannot create a temp dir under $TMPDIR/opsdeck-test");
        let path = dir.path().to_path_buf();
        register_dir(&path);
        TestDir {
            dir: Some(dir),
            path,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A subdirectory, created.
    pub fn sub(&self, name: &str) -> PathBuf {
        let p = self.path.join(name);
        fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        p
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        unregister_dir(&self.path);
        if let Some(d) = self.dir.take() {
            let _ = d.close();
        }
    }
}

/// Whether every thread of `pid` is in the stopped state ("T" in /proc/PID/task/TID/stat).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    tasks.flatten().all(|t| {
        fs::read_to_string(t.path().join("stat")).map_or(true, |st| {
            st.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state == "T" || state == "t")
        })
    })
}
