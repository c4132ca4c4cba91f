//! `opsdeck completions SHELL` writes a script each shell accepts, and the three the Debian
//! package ships complete for real: bash and fish are asked what they would offer after
//! `opsdeck ` and `opsdeck topics `, zsh parses its script. The expected words come from
//! the clap definitions, so a new subcommand that the scripts miss fails here.

use std::path::Path;
use std::process::Command;

use clap::{CommandFactory, ValueEnum};
use clap_complete::Shell;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

fn script(shell: &str) -> String {
    let out = Command::new(BIN)
        .args(["completions", shell])
        .output()
        .expect("run opsdeck completions");
    assert!(
        out.status.success(),
        "opsdeck completions {shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "opsdeck completions {shell} wrote to stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("a completion script is UTF-8")
}

/// The subcommands of `path` (e.g. `["topics"]`), as the user types them.
fn subcommands(path: &[&str]) -> Vec<String> {
    let mut cmd = opsdeck::cli::Cli::command();
    for name in path {
        cmd = cmd
            .find_subcommand(name)
            .unwrap_or_else(|| panic!("no subcommand {name}"))
            .clone();
    }
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

/// Runs a shell program, panicking with what to install when the shell is missing: the
/// shipped scripts are checked by the shells that load them, never skipped.
fn run_shell(shell: &str, args: &[&str]) -> String {
    let out = Command::new(shell)
        .args(args)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{shell}` ({e}): apt-get install {shell} (scripts/test installs it)")
        });
    assert!(
        out.status.success(),
        "{shell} {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn assert_offers(shell: &str, line: &str, offered: &[String], expected: &[String]) {
    for want in expected {
        assert!(
            offered.iter().any(|o| o == want),
            "{shell} offers {offered:?} after `{line}`, without `{want}`"
        );
    }
}

#[test]
fn every_shell_gets_a_script_naming_every_subcommand() {
    let top = subcommands(&[]);
    assert!(top.len() >= 6, "{top:?}");
    for shell in Shell::value_variants() {
        let name = shell.to_possible_value().unwrap().get_name().to_string();
        let text = script(&name);
        assert!(text.len() > 500, "{name}: a short script:\n{text}");
        for sub in top.iter().chain(subcommands(&["topics"]).iter()) {
            assert!(
                text.contains(sub.as_str()),
                "{name}: no `{sub}` in:\n{text}"
            );
        }
    }
}

#[test]
fn bash_completes_subcommands_and_nested_ones() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "opsdeck.bash", &script("bash"));
    // What bash-completion does on Tab: the function `complete -p` names, with COMP_*.
    let ask = |words: &str| -> Vec<String> {
        let program = format!(
            r#"source "{file}"
spec=$(complete -p opsdeck) || exit 3
fn=$(sed -E 's/.*-F ([^ ]+).*/\1/' <<<"$spec")
COMP_LINE="{words}"; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<<"$COMP_LINE"; COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
"$fn" opsdeck "" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
        );
        run_shell("bash", &["--norc", "--noprofile", "-c", &program])
            .lines()
            .map(str::to_string)
            .collect()
    };
    let line = "opsdeck ";
    assert_offers("bash", line, &ask(line), &subcommands(&[]));
    let line = "opsdeck topics ";
    assert_offers("bash", line, &ask(line), &subcommands(&["topics"]));
    let line = "opsdeck completions ";
    assert_offers(
        "bash",
        line,
        &ask(line),
        &["bash".into(), "zsh".into(), "fish".into()],
    );
}

#[test]
fn fish_completes_subcommands_with_their_descriptions() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "opsdeck.fish", &script("fish"));
    let ask = |line: &str| -> Vec<(String, String)> {
        let program = format!("source '{file}'; complete -C '{line}'");
        run_shell("fish", &["--no-config", "-c", &program])
            .lines()
            .map(|l| {
                let (word, about) = l.split_once('\t').unwrap_or((l, ""));
                (word.to_string(), about.to_string())
            })
            .collect()
    };
    let offered = ask("opsdeck ");
    let words: Vec<String> = offered.iter().map(|(w, _)| w.clone()).collect();
    assert_offers("fish", "opsdeck ", &words, &subcommands(&[]));
    // The descriptions are the --help lines, so a reader sees what each one does.
    let check = offered.iter().find(|(w, _)| w == "check").unwrap();
    assert!(check.1.contains("poll"), "{offered:?}");
    let words: Vec<String> = ask("opsdeck topics ").into_iter().map(|(w, _)| w).collect();
    assert_offers("fish", "opsdeck topics ", &words, &subcommands(&["topics"]));
}

#[test]
fn zsh_parses_its_script_and_it_is_an_autoload_function() {
    let dir = tempfile::tempdir().unwrap();
    let text = script("zsh");
    assert!(
        text.starts_with("#compdef opsdeck"),
        "zsh loads a file in $fpath by its #compdef line:\n{text}"
    );
    let file = write(dir.path(), "_opsdeck", &text);
    run_shell("zsh", &["-f", "-n", &file]);
    // Loaded the way compinit does: defining the function must not fail.
    run_shell(
        "zsh",
        &[
            "-f",
            "-c",
            &format!(
                "autoload -U compinit && compinit -u -D && source '{file}' && whence -w _opsdeck"
            ),
        ],
    );
}

#[test]
fn an_unknown_shell_exits_2_naming_the_shells() {
    let out = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .expect("run opsdeck completions");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for shell in ["bash", "zsh", "fish"] {
        assert!(stderr.contains(shell), "{stderr}");
    }
}
