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
