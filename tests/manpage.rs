//! The manual pages render with `man` without a warning, and say what the command line
//! has: one page per command, each listing its subcommands and its options. The expected
//! tree is walked from the clap definitions, so a new subcommand or flag without a page
//! fails here.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use clap::CommandFactory;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

/// Renders a page file as a reader sees it, with troff's warnings on. Panics, saying what
/// to install, when `man` is missing: this test never skips.
fn render(page: &Path) -> String {
    let out = Command::new("man")
        .args(["--warnings", "-P", "cat", "-l"])
        .arg(page)
        .env("MANWIDTH", "100")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `man` ({e}): install man-db (scripts/test installs it)")
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "man -l {} failed: {stderr}",
        page.display()
    );
    assert!(
        stderr.trim().is_empty(),
        "man -l {} warns:\n{stderr}",
        page.display()
    );
    // Bold and underline come as backspace overstrikes when not on a terminal.
    let text = String::from_utf8_lossy(&out.stdout);
    let mut plain = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

/// (page name, its command) for every command the pages should describe, without clap's
/// `help` subcommand.
fn commands() -> Vec<(String, clap::Command)> {
    fn walk(prefix: &str, cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
        let name = if prefix.is_empty() {
            cmd.get_name().to_string()
        } else {
            format!("{prefix}-{}", cmd.get_name())
        };
        out.push((name.clone(), cmd.clone()));
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(&name, sub, out);
        }
    }
    let mut cmd = opsdeck::cli::Cli::command();
    cmd.build();
    let mut out = Vec::new();
    walk("", &cmd, &mut out);
    out
}

#[test]
fn opsdeck_man_renders_and_lists_every_subcommand_and_global_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("man")
        .output()
        .expect("run opsdeck man");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.path().join("opsdeck.1");
    std::fs::write(&file, &out.stdout).unwrap();
    let text = render(&file);
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "SUBCOMMANDS",
        "EXIT STATUS",
        "FILES",
    ] {
        assert!(
            text.lines().any(|l| l == section),
            "no {section} section:\n{text}"
        );
    }
    let top = opsdeck::cli::Cli::command();
    let subs: Vec<_> = top
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    assert!(subs.len() >= 6, "{subs:?}");
    for sub in &subs {
        assert!(
            text.contains(&format!("opsdeck-{sub}(1)")),
            "opsdeck(1) does not list `{sub}`:\n{text}"
        );
    }
    for arg in top.get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(
                text.contains(&format!("--{long}")),
                "opsdeck(1) does not list --{long}"
            );
        }
    }
    assert!(!text.contains("opsdeck-help"), "{text}");
}

#[test]
fn man_dir_writes_one_rendering_page_per_command_listing_its_subcommands_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run opsdeck man --dir");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let commands = commands();
    let expected: BTreeSet<String> = commands.iter().map(|(n, _)| format!("{n}.1")).collect();
    assert_eq!(written, expected);
    // Its stdout names each file written, for scripts.
    let listed: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            Path::new(l)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(listed, expected);
    assert!(expected.contains("opsdeck-topics-plan.1"), "{expected:?}");

    for (name, cmd) in &commands {
        let text = render(&dir.path().join(format!("{name}.1")));
        assert!(
            text.starts_with(&format!("{name}(1)")),
            "{name}.1 is titled otherwise:\n{text}"
        );
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            assert!(
                text.contains(&format!("{name}-{}(1)", sub.get_name())),
                "{name}(1) does not list `{}`:\n{text}",
                sub.get_name()
            );
        }
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            let shown = match arg.get_long() {
                Some(long) => format!("--{long}"),
                None => arg
                    .get_value_names()
                    .and_then(|n| n.first())
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| arg.get_id().as_str().to_uppercase()),
            };
            assert!(
                text.contains(&shown),
                "{name}(1) does not list {shown}:\n{text}"
            );
        }
        // What the options do, not only their names: every option clap documents has help.
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            assert!(
                arg.get_help().is_some() || arg.get_long_help().is_some(),
                "{name}: `{}` has no help text for the manual",
                arg.get_id()
            );
        }
    }
}

#[test]
fn man_dir_says_what_failed_when_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let out = Command::new(BIN)
        .args(["man", "--dir"])
        .arg(blocker.join("man1"))
        .output()
        .expect("run opsdeck man --dir");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create") && stderr.contains("man1"),
        "{stderr}"
    );
}
