//! Bad input through the real binary: each fixture gives its exact message and exit code 2,
//! and nothing else happens (no terminal taken over, nothing written).

use std::path::Path;
use std::process::Command;

fn opsdeck(args: &[&str], home: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("OPSDECK_CONFIG")
        .output()
        .expect("run opsdeck")
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/bad/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn bad_files_name_file_line_and_fix_and_exit_2() {
    let cases: &[(&str, &str)] = &[
        (
            "malformed.toml",
            "malformed.toml:2:16: unclosed table, expected `]`\n  hint: fix the TOML syntax",
        ),
        (
            "unknown_key.toml",
            "unknown_key.toml:2:1: unknown field `colour`, expected one of `color`,",
        ),
        (
            "bad_type.toml",
            "bad_type.toml:2:12: invalid type: string \"yes\", expected a boolean\n  hint: check the value's type",
        ),
        (
            "unknown_theme.toml",
            "unknown_theme.toml:1:9: unknown theme \"solarized-nope\"\n  hint: shipped themes: dark, light, high-contrast, ansi16",
        ),
        (
            "dup_keymap.toml",
            "keymaps/mine.toml:3:12: key \"q\" is bound to both quit and refresh\n  hint: bind each key to one action",
        ),
        (
            "unknown_action.toml",
            "unknown_action.toml:2:1: [keys]: unknown action \"teleport\"\n  hint: valid actions: quit,",
        ),
        (
            "bad_mysql_url.toml",
            "bad_mysql_url.toml:4:7: context prod: mysql orders: url \"mysql://monitor:***@db-1:33o6/app\": error with configuration: invalid port number\n  hint: url = \"mysql://monitor@db-1:3306/app\" (or mariadb://…)",
        ),
    ];
    let home = tempfile::tempdir().unwrap();
    for (file, want) in cases {
        for args in [
            vec!["--config", &fixture(file), "check", "--only", "host"],
            vec!["config", "validate", &fixture(file)],
        ] {
            let out = opsdeck(&args, home.path());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{file} {args:?}: {stderr}");
            assert!(stderr.starts_with("error: "), "{file}: {stderr}");
            assert!(
                stderr.contains(want),
                "{file} {args:?}\n got: {stderr}\nwant: {want}"
            );
            assert!(
                out.stdout.is_empty(),
                "{file}: printed {:?}",
                String::from_utf8_lossy(&out.stdout)
            );
            assert!(
                !stderr.contains("panicked") && !stderr.contains("backtrace"),
                "{stderr}"
            );
            // The password of a URL in a bad entry is redacted in the message too.
            assert!(!stderr.contains("hunter2"), "{stderr}");
        }
    }
    assert!(
        !home.path().join("data").exists(),
        "a bad config must not create files"
    );
}

#[test]
fn unknown_theme_and_context_on_the_command_line() {
    let home = tempfile::tempdir().unwrap();
    let out = opsdeck(&["--theme", "nope", "check", "--only", "host"], home.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown theme \"nope\""));
    let out = opsdeck(&["--context", "prod", "check"], home.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no context named \"prod\"\n  hint: known contexts: local")
    );
}

#[test]
fn config_path_init_and_validate() {
    let home = tempfile::tempdir().unwrap();
    let out = opsdeck(&["config", "path"], home.path());
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(
        path,
        home.path()
            .join("config/opsdeck/config.toml")
            .display()
            .to_string()
    );
    let out = opsdeck(&["config", "init"], home.path());
    assert!(out.status.success(), "{out:?}");
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains("[contexts.local]"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = opsdeck(&["config", "init"], home.path());
    assert_eq!(out.status.code(), Some(2), "refuses to overwrite");
    let out = opsdeck(&["config", "validate"], home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 contexts: local)"));
}

#[test]
fn inline_secret_in_a_world_readable_file_warns_and_never_prints_it() {
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("c.toml");
    std::fs::write(&cfg, "[contexts.local]\nhost = false\n[[contexts.local.redis]]\nname = \"r\"\nurl = \"redis://:hunter2@127.0.0.1:1\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = opsdeck(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "check",
            "--output",
            "json",
        ],
        home.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains("holds an inline password and is readable by other users"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2") && !stdout.contains("hunter2"),
        "{stderr}{stdout}"
    );
}

#[test]
fn completions_are_generated() {
    let home = tempfile::tempdir().unwrap();
    let out = opsdeck(&["completions", "bash"], home.path());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("opsdeck"));
}

/// Writes `text` as a config in a fresh directory; returns (dir, path).
fn config_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, text).unwrap();
    let p = path.display().to_string();
    (dir, p)
}

/// `config validate` and a command that starts (`check`) report the same problems, exit 2.
fn rejected_by_both(text: &str) -> (String, String) {
    let (dir, path) = config_file(text);
    let validate = opsdeck(&["config", "validate", &path], dir.path());
    let check = opsdeck(&["--config", &path, "check", "--only", "host"], dir.path());
    let v = String::from_utf8_lossy(&validate.stderr).into_owned();
    let c = String::from_utf8_lossy(&check.stderr).into_owned();
    assert_eq!(validate.status.code(), Some(2), "validate: {v}");
    assert_eq!(check.status.code(), Some(2), "check: {c}");
    assert_eq!(v, c, "validate and check disagree");
    assert!(validate.stdout.is_empty() && check.stdout.is_empty());
    (path, v)
}

#[test]
fn every_problem_of_the_config_its_theme_and_keymap_in_one_run() {
    let text = "refresh = \"50ms\"\ntheme = \"solarized-nope\"\nkeymap = \"nope\"\nbogus = 1\n\
                [keys]\nrefresh = [\"ctrl-\"]\nquit = [\"x\"]\nhelp = [\"x\"]\n\
                [contexts.a]\ncolour = \"red\"\n[[contexts.a.redis]]\nname = \"r\"\nurl = \"redis://127.0.0.1:1\"\ntimeout = \"1s\"\n";
    let (path, err) = rejected_by_both(text);
    let want = [
        format!("error: {path}:1:1: refresh must be at least 100ms"),
        format!(
            "error: {path}:2:9: unknown theme \"solarized-nope\"\n  hint: shipped themes: dark, light, high-contrast, ansi16"
        ),
        format!(
            "error: {path}:3:10: unknown keymap \"nope\"\n  hint: shipped keymaps: default, emacs"
        ),
        format!("error: {path}:4:1: unknown field `bogus`"),
        format!(
            "error: {path}:6:12: [keys] refresh: cannot parse key \"ctrl-\"\n  hint: write keys like"
        ),
        format!(
            "error: {path}:8:9: [keys]: key \"x\" is bound to both quit and help\n  hint: bind each key to one action"
        ),
        format!("error: {path}:10:1: unknown field `colour`"),
        format!("error: {path}:14:1: unknown field `timeout`"),
    ];
    let mut at = 0;
    for w in &want {
        let found = err[at..].find(w.as_str());
        assert!(found.is_some(), "want (in this order) {w}\nin:\n{err}");
        at += found.unwrap_or(0) + w.len();
    }
    assert_eq!(err.matches("error: ").count(), want.len(), "{err}");
}

#[test]
fn validate_rejects_what_check_rejects() {
    let backups = |entry: &str| {
        format!(
            "[contexts.a]\nhost = false\n[[contexts.a.postgres]]\nname = \"db\"\nurl = \"postgres://u@127.0.0.1:1/x\"\n[[contexts.a.backups]]\nname = \"b\"\n{entry}"
        )
    };
    let cases = [
        (backups("kind = \"files\"\n"), "7:8: context a: backup b: kind files needs dir\n  hint: dir = "),
        (backups("kind = \"pgbackrest\"\n"), "7:8: context a: backup b: kind pgbackrest needs stanza\n  hint: stanza = "),
        (backups("kind = \"redis\"\n"), "7:8: context a: backup b: kind redis needs source\n  hint: source = "),
        (
            backups("kind = \"pg_archiver\"\nsource = \"nodb\"\n"),
            "9:10: context a: backup b: source \"nodb\" is not a postgres entry of this context",
        ),
        (
            "[contexts.a]\ncolor = \"blurple\"\n".to_string(),
            "2:9: context a: color \"blurple\" is not a colour\n  hint: write a colour name (red, lightblue, darkgray, ...), #rrggbb, a 0-255 index, or one of the theme's status colours: ok, warn, crit, info",
        ),
        (
            "[contexts.a]\n[[alerts.rules]]\nname = \"x\"\nsource = \"nope\"\nmetric = \"host.load1\"\nop = \">\"\nthreshold = 5\n".to_string(),
            "4:10: alert rule \"x\": no context has a host source named \"nope\"\n  hint: host sources: host;",
        ),
        (
            "[[alerts.rules]]\nname = \"x\"\nmetric = \"host.load1\"\nop = \">\"\nthreshold = 5\n[[alerts.rules]]\nname = \"x\"\nmetric = \"host.cpu_ratio\"\nop = \">\"\nthreshold = 0.9\n".to_string(),
            "7:1: alert rule name \"x\" is already used",
        ),
    ];
    for (text, want) in cases {
        let (path, err) = rejected_by_both(&text);
        let want = format!("error: {path}:{want}");
        assert!(
            err.starts_with(&want),
            "for\n{text}\n got: {err}\nwant: {want}"
        );
        assert_eq!(err.matches("error: ").count(), 1, "{err}");
    }
}

#[test]
fn a_flag_names_itself_in_its_error() {
    let (dir, path) = config_file("refresh = \"2s\"\n");
    for (flag, what) in [("--keymap", "keymap"), ("--theme", "theme")] {
        let out = opsdeck(
            &["--config", &path, flag, "nope", "check", "--only", "host"],
            dir.path(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.starts_with(&format!("error: {flag}: unknown {what} \"nope\"")),
            "{err}"
        );
    }
}
