//! The harness leaves no server behind when the test binary dies: SIGKILL (no destructor,
//! no atexit) and SIGINT (Ctrl-C). Runs this same binary as a child that starts servers
//! and hangs, kills it, and checks that the servers are gone and their dirs get swept.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::{Postgres, Redis, process};

const PIDFILE_ENV: &str = "OPSDECK_REAPER_PIDFILE";

/// Child mode only (run by the test below): starts servers, reports them, hangs.
#[test]
#[ignore = "run by servers_die_with_the_test_binary as a child process"]
fn reaper_child_starts_servers_and_hangs() {
    let Some(pidfile) = std::env::var_os(PIDFILE_ENV) else {
        return;
    };
    let redis = Redis::start();
    let pg = Postgres::start();
    let report = format!(
        "{} {}\n{} {}\nREADY\n",
        redis.pid().expect("redis pid"),
        redis.dir().display(),
        pg.pid().expect("postgres pid"),
        pg.dir().display(),
    );
    std::fs::write(pidfile, report).expect("write pidfile");
    std::thread::sleep(Duration::from_secs(120));
}

fn alive(pid: i32) -> bool {
    // A zombie waiting for init to reap it counts as gone: it holds no port or file.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn run_child_and_kill(signal: i32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pids");
    let mut child = Command::new(std::env::current_exe().expect("current exe"))
        .args([
            "--ignored",
            "--exact",
            "reaper_child_starts_servers_and_hangs",
        ])
        .env(PIDFILE_ENV, &pidfile)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn child test binary");
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        if let Ok(s) = std::fs::read_to_string(&pidfile)
            && s.ends_with("READY\n")
        {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "child never reported its servers"
        );
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "child exited early"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let servers: Vec<(i32, PathBuf)> = report
        .lines()
        .filter(|l| *l != "READY")
        .map(|l| {
            let (pid, dir) = l.split_once(' ').expect("pid dir");
            (pid.parse().expect("pid"), PathBuf::from(dir))
        })
        .collect();
    assert_eq!(servers.len(), 2);
    for (pid, _) in &servers {
        assert!(alive(*pid), "server {pid} should run before the kill");
    }

    unsafe { libc::kill(child.id() as i32, signal) };
    let status = child.wait().expect("wait child");
    assert!(
        !status.success(),
        "child should have died from the signal: {status}"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    for (pid, _) in &servers {
        while alive(*pid) {
            assert!(
                Instant::now() < deadline,
                "server pid {pid} outlived the test binary (signal {signal})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // The dead binary could not clean its dirs; the next harness use sweeps them.
    process::sweep_stale_dirs();
    for (_, dir) in &servers {
        assert!(!Path::new(dir).exists(), "{} not swept", dir.display());
    }
}

#[test]
fn servers_die_with_the_test_binary_on_sigkill() {
    run_child_and_kill(libc::SIGKILL);
}

#[test]
fn servers_die_with_the_test_binary_on_sigint() {
    run_child_and_kill(libc::SIGINT);
}
