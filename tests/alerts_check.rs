//! `opsdeck check` follows the worst firing alert of the configured rules (user rules and
//! tuned built-ins), as a user runs it.

use std::process::Command;

fn check(rule_severity: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("opsdeck.toml");
    // Only the host source; the machine's own disk must not decide the outcome.
    std::fs::write(
        &cfg,
        format!(
            "default_context = \"t\"\n[contexts.t]\nhost = true\n\
             [alerts.builtin.host_disk]\nenabled = false\n\
             [[alerts.rules]]\nname = \"always\"\nmetric = \"host.memory_ratio\"\nop = \">=\"\n\
             threshold = 0\nfor = \"10m\"\nseverity = \"{rule_severity}\"\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "check",
            "--output",
            "json",
        ])
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .env_remove("OPSDECK_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn exit_code_follows_the_worst_firing_user_rule() {
    let (code, json) = check("critical");
    assert_eq!(code, 2, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let alerts = v["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{json}");
    assert_eq!(alerts[0]["rule"], "always");
    assert_eq!(alerts[0]["metric"], "host.memory_ratio");
    // `for = "10m"` does not delay `check`: there is one poll.
    assert_eq!(check("warning").0, 1);
    assert_eq!(check("info").0, 0);
}
