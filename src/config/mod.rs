//! Config file, contexts and secrets; themes and keymaps. Building a `Config` from text is a
//! pure function (`Config::from_toml`), so every error message is tested exactly.

pub mod error;
pub mod keymap;
pub mod model;
pub mod paths;
pub mod secrets;
pub mod theme;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{ConfigError, ConfigErrors};
pub use model::*;

/// The example written by `opsdeck config init`; tested to parse.
pub const EXAMPLE: &str = include_str!("../../config.example.toml");

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
    pub action_timeout: Duration,
    pub theme: String,
    pub keymap: String,
    pub keys: BTreeMap<String, Vec<String>>,
    pub audit_log: Option<PathBuf>,
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
            action_timeout: Duration::from_secs(30),
            theme: "dark".into(),
            keymap: "default".into(),
            keys: BTreeMap::new(),
            audit_log: None,
            contexts,
            alerts: crate::alerts::RuleSet::default(),
            warnings: Vec::new(),
        }
    }
}

/// With no config at all, `opsdeck` checks a dev machine on the usual ports.
pub fn local_context() -> ContextSpec {
    ContextSpec {
        color: Some("green".into()),
        kafka: vec![KafkaSpec {
            name: "local".into(),
            brokers: "127.0.0.1:9092".into(),
            ..Default::default()
        }],
        postgres: vec![PostgresSpec {
            name: "local".into(),
            url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
            ..Default::default()
        }],
        redis: vec![RedisSpec {
            name: "local".into(),
            url: Some("redis://127.0.0.1:6379".into()),
            ..Default::default()
        }],
        host: true,
        ..Default::default()
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("invalid duration {s:?}: {e} (write e.g. \"2s\", \"500ms\", \"26h\")"))
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
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::whole_file(path, format!("cannot read config: {e}"))
                .with_hint("create it with `opsdeck config init`, or pass --config FILE")
        })?;
        let mut cfg = Self::from_toml(path, &text)?;
        if has_inline_secret(&cfg) && readable_by_others(path) {
            cfg.warnings.push(format!(
                "{} holds an inline password and is readable by other users; chmod 600 it or use password_env/password_file/password_command",
                path.display()
            ));
        }
        Ok(cfg)
    }

    /// Builds a config from TOML text; `path` only names the file in errors.
    pub fn from_toml(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))?;
        let mut errors = Vec::new();
        let at = |needle: &str| find_span(text, needle);
        let mut cfg = Config {
            path: Some(path.to_path_buf()),
            ..Default::default()
        };
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
                if !cfg.contexts.contains_key("local")
                    && let Some(first) = cfg.contexts.keys().next()
                {
                    cfg.default_context = first.clone();
                }
            }
        }
        for (key, value, target) in [
            ("refresh", &file.refresh, &mut cfg.refresh),
            (
                "action_timeout",
                &file.action_timeout,
                &mut cfg.action_timeout,
            ),
        ] {
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
        for (ctx_name, ctx) in &cfg.contexts {
            validate_context(path, text, ctx_name, ctx, &mut errors);
        }
        cfg.alerts = crate::alerts::RuleSet::from_spec(path, text, &file.alerts, &mut errors);
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

fn names<V>(m: &BTreeMap<String, V>) -> String {
    m.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// The byte range of the first occurrence of `needle`, to point an error at a line.
pub fn find_span(text: &str, needle: &str) -> Option<std::ops::Range<usize>> {
    text.find(needle).map(|i| i..i + needle.len())
}

fn validate_context(
    path: &Path,
    text: &str,
    ctx_name: &str,
    ctx: &ContextSpec,
    errors: &mut Vec<ConfigError>,
) {
    let here = |name: &str| {
        find_span(text, &format!("\"{name}\""))
            .or_else(|| find_span(text, &format!("contexts.{ctx_name}")))
    };
    let mut err = |name: &str, msg: String, hint: &str| {
        errors.push(
            ConfigError::new(path, text, here(name), format!("context {ctx_name}: {msg}"))
                .with_hint(hint.to_string()),
        );
    };
    let mut seen = std::collections::HashSet::new();
    let all_names = ctx
        .kafka
        .iter()
        .map(|s| ("kafka", &s.name))
        .chain(ctx.postgres.iter().map(|s| ("postgres", &s.name)))
        .chain(ctx.redis.iter().map(|s| ("redis", &s.name)))
        .chain(ctx.backups.iter().map(|s| ("backups", &s.name)))
        .chain(ctx.endpoints.iter().map(|s| ("endpoints", &s.name)));
    for (kind, name) in all_names {
        if name.trim().is_empty() {
            err(
                name,
                format!("a {kind} entry has an empty name"),
                "give every entry a short unique name",
            );
        } else if !seen.insert((kind, name.clone())) {
            err(
                name,
                format!("two {kind} entries are named {name:?}"),
                "names must be unique per kind within a context",
            );
        }
    }
    for (name, secret) in ctx
        .kafka
        .iter()
        .map(|s| (&s.name, s.secret()))
        .chain(ctx.postgres.iter().map(|s| (&s.name, s.secret())))
        .chain(ctx.redis.iter().map(|s| (&s.name, s.secret())))
    {
        if secret.count() > 1 {
            err(
                name,
                format!(
                    "{name}: more than one of password, password_env, password_file, password_command"
                ),
                "keep exactly one source for the secret",
            );
        }
    }
    for k in &ctx.kafka {
        if k.brokers.trim().is_empty() {
            err(
                &k.name,
                format!("kafka {}: brokers is empty", k.name),
                "brokers = \"host:9092,host2:9092\"",
            );
        }
        if let Err(problems) = crate::sources::kafka::Policy::from_spec(k) {
            for (msg, hint) in problems {
                err(&k.name, format!("kafka {}: {msg}", k.name), hint);
            }
        }
    }
    for p in &ctx.postgres {
        if !(p.url.starts_with("postgres://") || p.url.starts_with("postgresql://")) {
            err(
                &p.name,
                format!("postgres {}: url must start with postgres://", p.name),
                "url = \"postgres://user@host:5432/db\"",
            );
        }
    }
    for r in &ctx.redis {
        let modes = [
            r.url.is_some(),
            !r.sentinels.is_empty(),
            !r.cluster.is_empty(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if modes != 1 {
            err(
                &r.name,
                format!(
                    "redis {}: set exactly one of url, sentinels (with master) or cluster",
                    r.name
                ),
                "url = \"redis://host:6379\" | sentinels = [\"host:26379\"], master = \"mymaster\" | cluster = [\"host:7000\"]",
            );
        }
        if !r.sentinels.is_empty() && r.master.is_none() {
            err(
                &r.name,
                format!("redis {}: sentinels needs master", r.name),
                "master = \"mymaster\"",
            );
        }
    }
    for b in &ctx.backups {
        if !["pgbackrest", "pg_archiver", "redis", "files"].contains(&b.kind.as_str()) {
            err(
                &b.name,
                format!("backup {}: unknown kind {:?}", b.name, b.kind),
                "kind is one of pgbackrest, pg_archiver, redis, files",
            );
        }
        if let Some(a) = &b.max_age
            && let Err(e) = parse_duration(a)
        {
            err(
                &b.name,
                format!("backup {}: max_age: {e}", b.name),
                "max_age = \"26h\"",
            );
        }
    }
    for e in &ctx.endpoints {
        if !(e.url.starts_with("tcp://")
            || e.url.starts_with("http://")
            || e.url.starts_with("https://"))
        {
            err(
                &e.name,
                format!(
                    "endpoint {}: url must start with tcp://, http:// or https://",
                    e.name
                ),
                "url = \"http://127.0.0.1:8080/health\"",
            );
        }
        if let Some(t) = &e.timeout
            && let Err(msg) = parse_duration(t)
        {
            err(
                &e.name,
                format!("endpoint {}: timeout: {msg}", e.name),
                "timeout = \"2s\"",
            );
        }
    }
}

fn has_inline_secret(cfg: &Config) -> bool {
    cfg.contexts.values().any(|c| {
        c.kafka.iter().any(|k| k.password.is_some())
            || c.postgres
                .iter()
                .any(|p| p.password.is_some() || url_has_password(&p.url))
            || c.redis
                .iter()
                .any(|r| r.password.is_some() || r.url.as_deref().is_some_and(url_has_password))
    })
}

fn url_has_password(url: &str) -> bool {
    secrets::redact_urls(url) != url
}

fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o044 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests;
