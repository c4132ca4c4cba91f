//! Drives the real `opsdeck` binary in a pseudo-terminal and reads the screen through a
//! vt100 emulator, like a person at a terminal would.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub struct Console {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
    /// The temp HOME of the console (config, data and log dirs), removed on drop.
    _home: tempfile::TempDir,
}

impl Console {
    /// Starts the console with `args` in a `cols`×`rows` terminal, HOME in a temp dir.
    pub fn start(args: &[&str], cols: u16, rows: u16) -> Console {
        Console::start_with_env(args, cols, rows, &[])
    }

    /// Like `start`, with extra environment (e.g. an `XDG_DATA_HOME` kept across runs).
    pub fn start_with_env(args: &[&str], cols: u16, rows: u16, env: &[(&str, &Path)]) -> Console {
        let home = tempfile::tempdir().expect("temp home");
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_opsdeck"));
        cmd.args(args);
        cmd.env("HOME", home.path());
        cmd.env("XDG_CONFIG_HOME", home.path().join("config"));
        cmd.env("XDG_DATA_HOME", home.path().join("data"));
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("OPSDECK_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn opsdeck");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).expect("rows"),
            std::num::NonZeroU16::new(cols).expect("cols"),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().expect("parser").process(&buf[..n]);
                r.lock().expect("raw").extend_from_slice(&buf[..n]);
            }
        });
        let c = Console {
            parser,
            raw,
            writer,
            child,
            _master: pair.master,
            _home: home,
        };
        // Keys typed before the first frame would reach a terminal not yet in raw mode.
        c.wait_for(" opsdeck ");
        c
    }

    /// Resizes the terminal, as a person dragging the window would (the kernel sends
    /// SIGWINCH to the console).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.parser.lock().expect("parser").set_size(
            std::num::NonZeroU16::new(rows).expect("rows"),
            std::num::NonZeroU16::new(cols).expect("cols"),
        );
        self._master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize the pty");
    }

    pub fn screen(&self) -> String {
        self.parser.lock().expect("parser").screen().contents()
    }

    /// Every byte the console wrote so far (escape sequences included).
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().expect("raw").clone()
    }

    /// The screen's lines whose cell at `col` is drawn on a background colour (a selected
    /// table row, the header line): what text alone does not show.
    pub fn lines_on_background(&self, col: u16) -> Vec<String> {
        let p = self.parser.lock().expect("parser");
        let screen = p.screen();
        let cols = screen.size().1.get();
        screen
            .rows(0, cols)
            .enumerate()
            .filter(|(row, _)| {
                screen
                    .cell(*row as u16, col)
                    .is_some_and(|c| c.bgcolor() != vt100::Color::Default)
            })
            .map(|(_, line)| line)
            .collect()
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("write keys");
        self.writer.flush().expect("flush");
    }

    /// Waits until the screen shows `text`; on timeout fails with the screen.
    pub fn wait_for(&self, text: &str) {
        self.wait_until(text, |s| s.contains(text));
    }

    pub fn wait_gone(&self, text: &str) {
        self.wait_until(&format!("{text} to disappear"), |s| !s.contains(text));
    }

    fn wait_until(&self, what: &str, f: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if f(&s) {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to end; returns its exit status.
    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        self.wait_exit_within(Duration::from_secs(10))
    }

    /// `wait_exit` for a process that may take `limit` to leave (it waits for actions).
    pub fn wait_exit_within(&mut self, limit: Duration) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                // Let the reader drain the last bytes.
                std::thread::sleep(Duration::from_millis(200));
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("opsdeck did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.process_id().expect("pid") as i32
    }

    /// The terminal is given back: alternate screen left, cursor visible, mouse released.
    pub fn assert_restored(&self) {
        let p = self.parser.lock().expect("parser");
        assert!(
            !p.screen().alternate_screen(),
            "still on the alternate screen"
        );
        assert!(!p.screen().hide_cursor(), "cursor still hidden");
        let raw = self.raw.lock().expect("raw");
        let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(200)..]).to_string();
        assert!(
            tail.contains("\x1b[?1049l"),
            "no leave-alternate-screen sequence at the end: {tail:?}"
        );
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Writes a config for the console under test.
pub fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("opsdeck.toml");
    std::fs::write(&path, body).expect("write config");
    path
}
