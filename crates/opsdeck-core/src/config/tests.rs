use std::path::Path;

use super::*;

fn build(text: &str) -> Result<Config, String> {
    Config::from_toml(Path::new("/c.toml"), text).map_err(|e| e.to_string())
}

#[test]
fn the_example_config_builds() {
    let cfg = build(EXAMPLE).unwrap();
    assert_eq!(cfg.default_context, "local");
    assert_eq!(cfg.refresh, Duration::from_secs(2));
    let ctx = &cfg.contexts["local"];
    assert_eq!(ctx.kafka[0].brokers, "127.0.0.1:9092");
    assert_eq!(ctx.redis[0].url.as_deref(), Some("redis://127.0.0.1:6379"));
}

#[test]
fn no_config_means_the_local_context() {
    let cfg = Config::default();
    let ctx = cfg.context("local").unwrap();
    assert_eq!(ctx.spec.kafka[0].brokers, "127.0.0.1:9092");
    assert_eq!(
        ctx.spec.postgres[0].url,
        "postgres://postgres@127.0.0.1:5432/postgres"
    );
    assert_eq!(
        ctx.spec.redis[0].url.as_deref(),
        Some("redis://127.0.0.1:6379")
    );
}

/// Table-driven: input text → the exact message.
#[test]
fn errors_are_exact() {
    let cases: &[(&str, &str)] = &[
        (
            "default_context = 3\n",
            "error: /c.toml:1:19: invalid type: integer `3`, expected a string\n  hint: check the value's type (quote strings, no quotes around numbers and booleans)",
        ),
        (
            "refresh = \"2s\"\nbogus = 1\n",
            "error: /c.toml:2:1: unknown field `bogus`, expected one of `default_context`, `refresh`, `theme`, `keymap`, `keys`, `audit_log`, `action_timeout`, `contexts`, `alerts`\n  hint: remove the key or fix its spelling; the valid keys are listed above",
        ),
        (
            "refresh = [\n",
            "error: /c.toml:1:12: unclosed array, expected `]`",
        ),
        (
            "default_context = \"prod\"\n[contexts.dev]\n",
            "error: /c.toml:1:1: default_context \"prod\" is not a defined context\n  hint: define [contexts.prod] or pick one of: dev",
        ),
        (
            "refresh = \"soon\"\n",
            "error: /c.toml:1:1: refresh: invalid duration \"soon\"",
        ),
        (
            "[contexts.a]\n[[contexts.a.redis]]\nname = \"r\"\n",
            "error: /c.toml:3:8: context a: redis r: set exactly one of url, sentinels (with master) or cluster",
        ),
        (
            "[contexts.a]\n[[contexts.a.postgres]]\nname = \"db\"\nurl = \"mysql://x\"\n",
            "error: /c.toml:3:8: context a: postgres db: url must start with postgres://",
        ),
        (
            "[contexts.a]\n[[contexts.a.postgres]]\nname = \"db\"\nurl = \"postgres://x\"\nslow_refresh = \"soon\"\n",
            "error: /c.toml:3:8: context a: postgres db: slow_refresh: invalid duration \"soon\"",
        ),
        (
            "[contexts.a]\n[[contexts.a.postgres]]\nname = \"db\"\nurl = \"postgres://x\"\npassword_env = \"A\"\npassword_file = \"/f\"\n",
            "error: /c.toml:3:8: context a: db: more than one of password, password_env, password_file, password_command",
        ),
        (
            "[contexts.a]\n[[contexts.a.kafka]]\nname = \"k\"\nbrokers = \"h:1\"\n[[contexts.a.kafka]]\nname = \"k\"\nbrokers = \"h:2\"\n",
            "error: /c.toml:3:8: context a: two kafka entries are named \"k\"",
        ),
        (
            "[contexts.a]\n[[contexts.a.kafka]]\nname = \"k\"\nbrokers = 9092\n",
            "error: /c.toml:4:11: invalid type: integer `9092`, expected a string",
        ),
    ];
    for (text, want) in cases {
        let got = build(text).unwrap_err();
        assert!(
            got.starts_with(want),
            "for {text:?}\n got: {got}\nwant: {want}"
        );
    }
}
