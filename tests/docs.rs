//! The docs keep their promises: the README's config examples pass `config validate`, every
//! key the config accepts is in them, the Keys table is the default keymap, every field
//! `snapshot` emits is in docs/snapshot.md, and the README's links lead somewhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use opsdeck_core::sources::SourceKind;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The ```toml blocks of a Markdown text, in order.
fn toml_blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in md.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

/// The README's config examples as complete files. The rule: a block is a whole config
/// file, unless its first line is a `# fragment` comment: then it continues the nearest
/// whole block above it and is checked appended to it (the Alerts example names the
/// Kafka source of the reference example).
fn readme_configs() -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for block in toml_blocks(&read("README.md")) {
        if block.starts_with("# fragment") {
            let base = files
                .last()
                .cloned()
                .expect("a fragment needs a whole block above it");
            files.push(format!("{base}\n{block}"));
        } else {
            files.push(block);
        }
    }
    files
}

#[test]
fn readme_config_examples_pass_config_validate() {
    let dir = tempfile::tempdir().unwrap();
    let configs = readme_configs();
    assert!(configs.len() >= 3, "{} blocks", configs.len());
    for (i, text) in configs.iter().enumerate() {
        let file = dir.path().join(format!("readme-{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let out = Command::new(BIN)
            .args(["config", "validate"])
            .arg(&file)
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .output()
            .expect("run opsdeck");
        assert!(
            out.status.success(),
            "README block {i} fails `config validate`:\n{}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Splits a line at its comment (a `#` outside strings).
fn split_comment(line: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some('"'), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return (&line[..i], &line[i + 1..]),
            _ => {}
        }
        escaped = false;
    }
    (line, "")
}

fn key_path(dotted: &str) -> Vec<String> {
    dotted
        .split('.')
        .map(|k| k.trim().trim_matches('"').to_string())
        .collect()
}

/// Every key path the README's config examples write, and those their comments name
/// (`# or url = "..."`), with every prefix (a table header documents the table).
fn documented_keys() -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    let mut add = |path: Vec<String>| {
        for n in 1..=path.len() {
            out.insert(path[..n].to_vec());
        }
    };
    for block in toml_blocks(&read("README.md")) {
        let mut table: Vec<String> = Vec::new();
        for line in block.lines() {
            let (code, comment) = split_comment(line);
            let code = code.trim();
            if let Some(h) = code.strip_prefix('[') {
                table = key_path(h.trim_start_matches('[').trim_end_matches(']'));
                add(table.clone());
            } else if let Some((k, v)) = code.split_once('=') {
                let path = [table.clone(), key_path(k)].concat();
                // An inline table documents its own keys too (`groups = { include = [] }`).
                if v.trim_start().starts_with('{')
                    && let Ok(t) = toml::from_str::<toml::Table>(&format!("x = {v}"))
                {
                    let mut stack = vec![(path.clone(), &t["x"])];
                    while let Some((p, value)) = stack.pop() {
                        if let toml::Value::Table(t) = value {
                            for (k, v) in t {
                                stack.push(([p.clone(), vec![k.clone()]].concat(), v));
                            }
                        }
                        add(p);
                    }
                }
                add(path);
            }
            // `ident = ` in a comment: an alternative key of this table.
            let bytes = comment.as_bytes();
            for (i, _) in comment.match_indices('=') {
                let next = bytes.get(i + 1).copied();
                let prev = i.checked_sub(1).and_then(|j| bytes.get(j)).copied();
                if next == Some(b'=')
                    || prev == Some(b'=')
                    || prev == Some(b'>')
                    || prev == Some(b'<')
                {
                    continue;
                }
                let before = comment[..i].trim_end();
                let ident: String = before
                    .chars()
                    .rev()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                if ident.starts_with(|c: char| c.is_ascii_lowercase()) {
                    add([table.clone(), vec![ident]].concat());
                }
            }
        }
    }
    out
}

#[test]
fn every_accepted_config_key_is_in_the_readme() {
    let accepted = opsdeck_core::config::schema::accepted_keys().expect("schema");
    assert!(accepted.len() > 50, "{accepted:#?}");
    let documented = documented_keys();
    let matches = |pattern: &[&str]| {
        documented.iter().any(|d| {
            d.len() == pattern.len() && d.iter().zip(pattern).all(|(d, p)| *p == "*" || d == p)
        })
    };
    let mut missing = Vec::new();
    for key in &accepted {
        let mut pattern: Vec<&str> = key.split('.').collect();
        // A map's own entries (properties, labels, [keys]) are the person's names.
        while pattern.last() == Some(&"*") {
            pattern.pop();
        }
        if !matches(&pattern) {
            missing.push(key.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "accepted by the config but not in the README's config examples: {missing:#?}"
    );
}

/// The Keys table: action → (its keys, what the row says it does).
fn readme_keys_table() -> BTreeMap<String, (BTreeSet<String>, String)> {
    let readme = read("README.md");
    let section = readme
        .split("\n## Keys\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Keys section");
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(cells.len(), 3, "{line}");
        let keys: BTreeSet<String> = cells[0]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        let action = cells[1].trim_matches('`').to_string();
        let was = rows.insert(action.clone(), (keys, cells[2].to_string()));
        assert!(was.is_none(), "{action} has two rows");
    }
    rows
}

#[test]
fn the_keys_table_is_the_default_keymap() {
    let keymap: BTreeMap<String, Vec<String>> =
        toml::from_str(&read("keymaps/default.toml")).expect("default keymap");
    let table = readme_keys_table();
    let names = |m: &dyn Fn() -> Vec<String>| m().into_iter().collect::<BTreeSet<_>>();
    assert_eq!(
        names(&|| table.keys().cloned().collect()),
        names(&|| keymap.keys().cloned().collect()),
        "the README's Keys table and keymaps/default.toml list different actions"
    );
    for (action, keys) in &keymap {
        let want: BTreeSet<String> = keys.iter().cloned().collect();
        assert_eq!(table[action].0, want, "keys of {action}");
    }
    // Where a system's key works: the panes whose systems offer it, named as `Pane:`.
    for (action, (_, what)) in &table {
        let a = opsdeck_core::keymap::Action::from_name(action).expect("an action");
        let offered: BTreeSet<&str> = SourceKind::ALL
            .iter()
            .filter(|k| k.verbs().contains(&a))
            .map(|k| k.pane().title())
            .collect();
        if offered.is_empty() {
            continue;
        }
        let claimed: BTreeSet<&str> = opsdeck_core::views::Pane::ALL
            .iter()
            .map(|p| p.title())
            .filter(|t| what.starts_with(&format!("{t}: ")) || what.contains(&format!("; {t}: ")))
            .collect();
        assert_eq!(claimed, offered, "{action}: the README says {what:?}");
    }
}

/// Every key of every object in `v` (arrays looked through), as `prefix.key`.
fn field_names(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone());
                field_names(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| field_names(v, out)),
        _ => {}
    }
}

#[test]
fn every_field_snapshot_emits_is_in_docs_snapshot_md() {
    let dir = tempfile::tempdir().unwrap();
    let dumps = dir.path().join("dumps");
    std::fs::create_dir_all(&dumps).unwrap();
    std::fs::write(dumps.join("a.dump"), "x").unwrap();
    // Nothing listens on port 1: an unreachable source, critical, with its error.
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[contexts.t]\n\
             [[contexts.t.redis]]\nname = \"cache\"\nurl = \"redis://127.0.0.1:1\"\n\
             [[contexts.t.backups]]\nname = \"dumps\"\nkind = \"files\"\ndir = \"{}\"\npattern = \"*.dump\"\nmax_age = \"1h\"\nrunbook = \"restore\"\n\
             [[contexts.t.endpoints]]\nname = \"api\"\nurl = \"tcp://127.0.0.1:1\"\n\
             [[alerts.rules]]\nname = \"busy\"\nmetric = \"host.load1\"\nop = \">=\"\nthreshold = 0\nlabels = {{ team = \"ops\" }}\nrunbook = \"look\"\n",
            dumps.display()
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["snapshot", "--timeout", "3s"])
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .expect("run opsdeck");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // The user rule fired too, with the fields only some alerts carry.
    let alerts = doc["alerts"].as_array().expect("alerts");
    assert!(
        alerts
            .iter()
            .any(|a| a["rule"] == "busy" && a["labels"]["team"] == "ops" && a["runbook"] == "look"),
        "{doc:#}"
    );
    let documented = read("docs/snapshot.md");
    for key in [
        "context",
        "config",
        "taken_at",
        "status",
        "exit_code",
        "sources",
        "alerts",
    ] {
        assert!(doc.get(key).is_some(), "{key}");
    }
    // The samples of Kafka, PostgreSQL and Redis are documented by their sources, and
    // maps' keys (labels, the host's per-core list) are data, not fields.
    let mut ours = doc.clone();
    for s in ours["sources"].as_array_mut().expect("sources") {
        if s["kind"] == "redis" {
            s["data"] = serde_json::Value::Null;
        }
    }
    for a in ours["alerts"].as_array_mut().expect("alerts") {
        a["labels"] = serde_json::Value::Null;
    }
    let mut fields = BTreeSet::new();
    field_names(&ours, &mut fields);
    let missing: Vec<&String> = fields
        .iter()
        .filter(|f| {
            !documented.contains(&format!("`{f}`")) && !documented.contains(&format!("`{f}[]`"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "emitted but not in docs/snapshot.md: {missing:?}\n{doc:#}"
    );
}

#[test]
fn readme_links_lead_somewhere() {
    let readme = read("README.md");
    let mut checked = 0;
    for part in readme.split("](").skip(1) {
        let target = part.split(')').next().unwrap_or_default();
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        assert!(
            repo(target).exists(),
            "README links {target}, which is not in the repository"
        );
        checked += 1;
    }
    assert!(checked >= 3, "{checked} links");
    assert!(
        !readme.contains("../"),
        "the README points outside the repository"
    );
}

#[test]
fn only_kinds_are_documented() {
    for doc in ["README.md", "docs/snapshot.md"] {
        let text = read(doc);
        let para = text
            .split("`--only")
            .skip(1)
            .find(|p| p.contains("plurals"))
            .unwrap_or_else(|| panic!("{doc}: no `--only` paragraph"));
        let para = &para[..para.find("\n\n").unwrap_or(para.len())];
        for k in SourceKind::ALL {
            assert!(
                para.contains(&format!("`{}`", k.label())),
                "{doc}: --only {}",
                k.label()
            );
        }
        for alias in SourceKind::ALL.iter().flat_map(|k| k.aliases()) {
            assert!(
                para.contains(&format!("`{alias}`")),
                "{doc}: --only {alias}"
            );
        }
    }
}

#[test]
fn every_built_in_rule_and_metric_is_in_the_readme() {
    let readme = read("README.md");
    let table = readme
        .split("Built-in rules (tune or disable any under")
        .nth(1)
        .expect("the README's rule table");
    for b in opsdeck::alerts::rules::builtins() {
        // A rule's critical twin may be written as "`pg_xid_wraparound` / `_critical`".
        let twin = b
            .name
            .strip_suffix("_critical")
            .is_some_and(|base| table.contains(&format!("`{base}` / `_critical`")));
        assert!(
            table.contains(&format!("`{}`", b.name)) || twin,
            "built-in rule {} is not in the README's rule table",
            b.name
        );
    }
    let missing: Vec<&str> = opsdeck::alerts::user::catalogue()
        .map(|(_, m)| m.name)
        .filter(|name| !readme.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "metrics not in the README: {missing:?}");
}
