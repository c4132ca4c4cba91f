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
            "error: /c.toml:2:1: unknown field `bogus`, expected one of `default_context`, `refresh`, `fleet_refresh`, `theme`, `keymap`, `keys`, `audit_log`, `action_timeout`, `clipboard`, `contexts`, `alerts`, `capacity`\n  hint: remove the key or fix its spelling; the valid keys are listed above",
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

fn all_errors(text: &str) -> Vec<String> {
    let (_, errors) = Config::build(Path::new("/c.toml"), text);
    errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn every_problem_of_a_file_is_reported_in_one_run() {
    let text = "refresh = \"50ms\"\ncolour = 1\n[contexts.a]\nreadonyl = true\n[[contexts.a.kafka]]\nname = \"k\"\nbrokers = \"h:1\"\nshow_internals = true\n[alerts]\nbel = true\n";
    let got = all_errors(text);
    let want = [
        "/c.toml:1:1: refresh must be at least 100ms",
        "/c.toml:2:1: unknown field `colour`",
        "/c.toml:4:1: unknown field `readonyl`",
        "/c.toml:8:1: unknown field `show_internals`",
        "/c.toml:10:1: unknown field `bel`",
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.starts_with(w), "got {g}\nwant {w}");
    }
}

#[test]
fn a_bad_value_still_lets_the_rest_be_checked() {
    // The entry with the bad type is left out; its name is still checked against the others.
    let text = "[contexts.a]\n[[contexts.a.kafka]]\nname = \"k\"\nbrokers = 9092\n[[contexts.a.redis]]\nname = \"r\"\n";
    let got = all_errors(text);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[0].starts_with("/c.toml:4:11: invalid type: integer `9092`"),
        "{got:#?}"
    );
    assert!(
        got[1].contains("redis r: set exactly one of url, sentinels (with master) or cluster"),
        "{got:#?}"
    );
}

#[test]
fn cross_checks_name_the_key() {
    let cases: &[(&str, &str)] = &[
        (
            "[contexts.a]\ncolor = \"blurple\"\n",
            "error: /c.toml:2:9: context a: color \"blurple\" is not a colour\n  hint: write a colour name",
        ),
        (
            "[contexts.a]\n[[contexts.a.redis]]\nname = \"cache\"\nurl = \"redis://h:1\"\n[[alerts.rules]]\nname = \"x\"\nsource = \"cahce\"\nmetric = \"redis.memory_ratio\"\nop = \">\"\nthreshold = 0.5\n",
            "error: /c.toml:7:10: alert rule \"x\": no context has a redis source named \"cahce\"\n  hint: redis sources: cache;",
        ),
        (
            "[[alerts.rules]]\nname = \"x\"\nmetric = \"host.load1\"\nop = \">\"\nthreshold = 5\n[[alerts.rules]]\nname = \"x\"\nmetric = \"host.load1\"\nop = \">\"\nthreshold = 9\n",
            "error: /c.toml:7:1: alert rule name \"x\" is already used",
        ),
        (
            "[contexts.a]\n[[contexts.a.backups]]\nname = \"d\"\nkind = \"files\"\n",
            "error: /c.toml:3:8: context a: backup d: kind files needs dir",
        ),
        (
            "[contexts.a]\n[[contexts.a.backups]]\nname = \"d\"\nkind = \"pgbackrest\"\n",
            "error: /c.toml:3:8: context a: backup d: kind pgbackrest needs stanza",
        ),
        (
            "[contexts.a]\n[[contexts.a.backups]]\nname = \"d\"\nkind = \"redis\"\n",
            "error: /c.toml:3:8: context a: backup d: kind redis needs source",
        ),
        (
            "[contexts.a]\n[[contexts.a.backups]]\nname = \"d\"\nkind = \"pg_archiver\"\nsource = \"db\"\n",
            "error: /c.toml:5:10: context a: backup d: source \"db\" is not a postgres entry of this context",
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

#[test]
fn context_colours_that_are_accepted() {
    for c in [
        "ok",
        "warn",
        "crit",
        "info",
        "red",
        "light-blue",
        "#00ff7f",
        "208",
        "Dark Gray",
    ] {
        let text = format!("[contexts.a]\ncolor = \"{c}\"\n");
        assert!(build(&text).is_ok(), "{c}: {:?}", build(&text));
    }
}

#[test]
fn the_default_context_when_none_is_named() {
    let cfg = build("[contexts.b]\n[contexts.a]\n").unwrap();
    assert_eq!(cfg.default_context, "a", "the first by name");
    let cfg = build("[contexts.b]\n[contexts.local]\n").unwrap();
    assert_eq!(cfg.default_context, "local", "local when it exists");
}

#[test]
fn fleet_refresh_defaults_to_30s_and_its_errors_point_at_its_own_line() {
    assert_eq!(Config::default().fleet_refresh, Duration::from_secs(30));
    let cfg = Config::from_toml(Path::new("/c.toml"), "fleet_refresh = \"1m\"\n").unwrap();
    assert_eq!(cfg.fleet_refresh, Duration::from_secs(60));
    let got = all_errors("fleet_refresh = \"2s\"\nrefresh = \"10ms\"\nfleet_refresh2 = 1\n");
    assert!(
        got[0].starts_with("/c.toml:2:1: refresh must be at least 100ms"),
        "{got:#?}"
    );
    let got = all_errors("refresh = \"2s\"\nfleet_refresh = \"soon\"\n");
    assert!(
        got[0].starts_with("/c.toml:2:1: fleet_refresh: invalid duration \"soon\""),
        "{got:#?}"
    );
}
