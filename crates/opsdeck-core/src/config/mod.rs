//! Config file, contexts and secrets; themes and keymaps. Building a `Config` from text is a
//! pure function (`Config::from_toml`), so every error message is tested exactly.

mod check;
pub mod model;
pub mod paths;
pub mod schema;

pub use crate::input::{error, values};
pub use crate::{keymap, secrets};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::alerts::spec::{AlertsSpec, BuiltinRuleSpec, UserRuleSpec};
pub use crate::input::{ConfigError, ConfigErrors};
pub use crate::input::{find_span, parse_duration};
pub use crate::secrets::SecretSpec;
pub use crate::sources::ContextSpec;
pub use model::*;

/// The example written by `opsdeck config init`; tested to parse.
pub const EXAMPLE: &str = include_str!("../../../../config.example.toml");

#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub name: String,
    pub spec: ContextSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it was read from; None for the built-in defaults.
    pub path: Option<PathBuf>,
    pub default_context: String,
    pub refresh: Duration,
    /// Interval between rounds of the fleet view.
    pub fleet_refresh: Duration,
    pub action_timeout: Duration,
    pub theme: String,
    pub keymap: String,
    pub keys: BTreeMap<String, Vec<String>>,
    pub audit_log: Option<PathBuf>,
    /// Copy with OSC 52 (`clipboard = false` turns it off).
    pub clipboard: bool,
    pub contexts: BTreeMap<String, ContextSpec>,
    /// Built-in and user alert rules, the bell and Alertmanager, validated.
    pub alerts: crate::alerts::RuleSet,
    /// Non-fatal findings (e.g. an inline secret in a world-readable file).
    pub warnings: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let mut contexts = BTreeMap::new();
        contexts.insert("local".to_string(), local_context());
        Self {
            path: None,
            default_context: "local".into(),
            refresh: Duration::from_secs(2),
            fleet_refresh: Duration::from_secs(30),
            action_timeout: Duration::from_secs(30),
            theme: "dark".into(),
            keymap: "default".into(),
            keys: BTreeMap::new(),
            audit_log: None,
            clipboard: true,
            contexts,
            alerts: crate::alerts::RuleSet::default(),
            warnings: Vec::new(),
        }
    }
}

/// With no config at all, `opsdeck` checks a dev machine on the usual ports (each system
/// says what its local default is).
pub fn local_context() -> ContextSpec {
    ContextSpec {
        color: Some("green".into()),
        ..ContextSpec::local()
    }
}

impl Config {
    pub fn context(&self, name: &str) -> Option<Context> {
        self.contexts.get(name).map(|spec| Context {
            name: name.to_string(),
            spec: spec.clone(),
        })
    }

    /// Reads and builds a config file; every problem found is reported.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let (cfg, errors) = Self::read(path);
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Reads a config file: what of it is valid, and every problem found. The caller can go
    /// on checking what the config names (its theme, its keymap) in the same run.
    pub fn read(path: &Path) -> (Config, Vec<ConfigError>) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                let err = ConfigError::whole_file(path, format!("cannot read config: {e}"))
                    .with_hint("create it with `opsdeck config init`, or pass --config FILE");
                let cfg = Config {
                    path: Some(path.to_path_buf()),
                    ..Default::default()
                };
                return (cfg, vec![err]);
            }
        };
        let (mut cfg, errors) = Self::build(path, &text);
        if has_inline_secret(&cfg) && readable_by_others(path) {
            cfg.warnings.push(format!(
                "{} holds an inline password and is readable by other users; chmod 600 it or use password_env/password_file/password_command",
                path.display()
            ));
        }
        (cfg, errors)
    }

    /// Builds a config from TOML text; `path` only names the file in errors.
    pub fn from_toml(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        let (cfg, errors) = Self::build(path, text);
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// The one path from text to config (startup, `check`, `config validate`): every
    /// problem of the file, in file order, and the config built from what is valid.
    pub fn build(path: &Path, text: &str) -> (Config, Vec<ConfigError>) {
        let (file, mut errors) = crate::input::recover::from_toml::<ConfigFile>(path, text);
        let mut cfg = Config {
            path: Some(path.to_path_buf()),
            ..Default::default()
        };
        // A syntax error leaves nothing reliable to check further.
        if let Some(file) = file {
            cfg.apply(path, text, file, &mut errors);
        }
        // Stable: problems found on one line keep the order they were found in.
        errors.sort_by_key(|e| (e.line, e.column));
        (cfg, errors)
    }

    fn apply(&mut self, path: &Path, text: &str, file: ConfigFile, errors: &mut Vec<ConfigError>) {
        let cfg = self;
        let at = |needle: &str| find_span(text, needle);
        if !file.contexts.is_empty() {
            cfg.contexts = file.contexts.clone();
        }
        match file.default_context {
            Some(name) if !cfg.contexts.contains_key(&name) => errors.push(
                ConfigError::new(
                    path,
                    text,
                    at("default_context"),
                    format!("default_context {name:?} is not a defined context"),
                )
                .with_hint(format!(
                    "define [contexts.{name}] or pick one of: {}",
                    names(&cfg.contexts)
                )),
            ),
            Some(name) => cfg.default_context = name,
            None => {
                // No default named: `local` if the file defines it, else the first by name.
                if !cfg.contexts.contains_key("local")
                    && let Some(first) = cfg.contexts.keys().next()
                {
                    cfg.default_context = first.clone();
                }
            }
        }
        for (key, value, target) in [
            ("refresh", &file.refresh, &mut cfg.refresh),
            ("fleet_refresh", &file.fleet_refresh, &mut cfg.fleet_refresh),
            (
                "action_timeout",
                &file.action_timeout,
                &mut cfg.action_timeout,
            ),
        ] {
            // The key at a line's start: `refresh` is also the end of `fleet_refresh`.
            let at = |key: &str| {
                if text.starts_with(key) {
                    at(key)
                } else {
                    find_span(text, &format!("\n{key}")).map(|r| r.start + 1..r.end)
                }
                .or_else(|| at(key))
            };
            if let Some(v) = value {
                match parse_duration(v) {
                    Ok(d) if d >= Duration::from_millis(100) => *target = d,
                    Ok(_) => errors.push(ConfigError::new(
                        path,
                        text,
                        at(key),
                        format!("{key} must be at least 100ms"),
                    )),
                    Err(e) => {
                        errors.push(ConfigError::new(path, text, at(key), format!("{key}: {e}")))
                    }
                }
            }
        }
        if let Some(t) = file.theme {
            cfg.theme = t;
        }
        if let Some(k) = file.keymap {
            cfg.keymap = k;
        }
        cfg.keys = file.keys;
        cfg.audit_log = file.audit_log.map(PathBuf::from);
        cfg.clipboard = file.clipboard.unwrap_or(true);
        for (ctx_name, ctx) in &cfg.contexts {
            validate_context(path, text, ctx_name, ctx, errors);
        }
        for (near, message, hint) in file.capacity.problems() {
            let span = find_span(text, &near).or_else(|| at("[capacity]"));
            errors.push(ConfigError::new(path, text, span, message).with_hint(hint));
        }
        for ctx in cfg.contexts.values_mut() {
            ctx.capacity = file.capacity.clone();
        }
        cfg.alerts = crate::alerts::RuleSet::from_spec(path, text, &file.alerts, errors);
        check::rule_sources(path, text, &file.alerts.rules, &cfg.contexts, errors);
    }
}

fn names<V>(m: &BTreeMap<String, V>) -> String {
    m.keys().cloned().collect::<Vec<_>>().join(", ")
}

fn validate_context(
    path: &Path,
    text: &str,
    ctx_name: &str,
    ctx: &ContextSpec,
    errors: &mut Vec<ConfigError>,
) {
    let here = |near: &str| {
        find_span(text, &format!("\"{near}\""))
            .or_else(|| find_span(text, &format!("contexts.{ctx_name}")))
    };
    let mut err = |near: &str, msg: String, hint: &str| {
        errors.push(
            ConfigError::new(path, text, here(near), format!("context {ctx_name}: {msg}"))
                .with_hint(hint.to_string()),
        );
    };
    let mut seen = std::collections::HashSet::new();
    for spec in crate::sources::plan(ctx) {
        let (kind, name) = (spec.kind().label(), spec.name().to_string());
        if name.trim().is_empty() {
            err(
                &name,
                format!("a {kind} entry has an empty name"),
                "give every entry a short unique name",
            );
        } else if !seen.insert((kind, name.clone())) {
            err(
                &name,
                format!("two {kind} entries are named {name:?}"),
                "names must be unique per kind within a context",
            );
        }
        if spec.secret().count() > 1 {
            err(
                &name,
                format!(
                    "{name}: more than one of password, password_env, password_file, password_command"
                ),
                "keep exactly one source for the secret",
            );
        }
    }
    for (_, _, p) in ctx.problems() {
        err(&p.near, p.message, &p.hint);
    }
    check::context_color(path, text, ctx_name, ctx, errors);
}

fn has_inline_secret(cfg: &Config) -> bool {
    cfg.contexts.values().any(ContextSpec::has_inline_secret)
}

fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o044 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests;
