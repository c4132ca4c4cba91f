//! The built-in rules: each is a metric, a comparison and defaults (threshold, `for`,
//! severity), tunable or disabled under `[alerts.builtin.<name>]`. The whole rule set
//! (built-in then user rules) is compiled once from the config.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::SourceView;
use super::spec::AlertsSpec;
use super::user::{Observation, Rule, compile_user_rules};
use crate::input::error::ConfigError;
use crate::input::values::{find_span, parse_duration};
use crate::metrics::Severity::{self, Critical};
use crate::metrics::{Builtin, Cmp};
use crate::sources::SourceKind;

/// The rule every source has: its poll failed.
pub const UNREACHABLE: Builtin = Builtin::new(
    "source_unreachable",
    "source.unreachable",
    Cmp::Ge,
    1.0,
    0,
    Critical,
    "unreachable",
    "Check the service is up and reachable from this host (network, credentials, TLS); the error says which.",
);

/// Every built-in rule: the source-wide one, then each system's.
pub fn builtins() -> impl Iterator<Item = &'static Builtin> {
    std::iter::once(&UNREACHABLE).chain(SourceKind::ALL.iter().flat_map(|k| k.builtins().iter()))
}

/// A built-in rule with its defaults, before `[alerts.builtin.NAME]` tunes it.
pub fn rule(b: &Builtin) -> Rule {
    Rule {
        name: b.name.into(),
        metric: b.metric,
        source: None,
        cmp: b.cmp,
        threshold: b.threshold,
        for_: Duration::from_secs(b.for_secs),
        severity: b.severity,
        title: b.title.into(),
        labels: BTreeMap::new(),
        runbook: Some(b.runbook.into()),
        enabled: true,
    }
}

/// Every rule in force, plus the alert settings of `[alerts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub hysteresis: f64,
    pub bell: bool,
    pub alertmanager: Option<String>,
    pub alertmanager_interval: Duration,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet {
            rules: builtins().map(rule).collect(),
            hysteresis: 0.05,
            bell: false,
            alertmanager: None,
            alertmanager_interval: Duration::from_secs(15),
        }
    }
}

impl RuleSet {
    /// Builds the rule set from `[alerts]`; problems go to `errors` with file and line.
    pub fn from_spec(
        path: &Path,
        text: &str,
        spec: &AlertsSpec,
        errors: &mut Vec<ConfigError>,
    ) -> RuleSet {
        let mut set = RuleSet {
            bell: spec.bell,
            alertmanager: spec
                .alertmanager
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            ..Default::default()
        };
        let at = |needle: &str| find_span(text, needle).or_else(|| find_span(text, "[alerts"));
        if let Some(h) = spec.hysteresis {
            if (0.0..1.0).contains(&h) {
                set.hysteresis = h;
            } else {
                errors.push(
                    ConfigError::new(
                        path,
                        text,
                        at("hysteresis"),
                        "alerts.hysteresis must be in [0, 1)",
                    )
                    .with_hint("hysteresis = 0.05 (5% of the threshold)"),
                );
            }
        }
        if let Some(u) = &set.alertmanager
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            errors.push(
                ConfigError::new(
                    path,
                    text,
                    at("alertmanager"),
                    "alerts.alertmanager must be an http(s) URL",
                )
                .with_hint("alertmanager = \"http://127.0.0.1:9093\""),
            );
        }
        if let Some(i) = &spec.alertmanager_interval {
            match parse_duration(i) {
                Ok(d) if d >= Duration::from_secs(1) => set.alertmanager_interval = d,
                Ok(_) => errors.push(ConfigError::new(
                    path,
                    text,
                    at("alertmanager_interval"),
                    "alerts.alertmanager_interval must be at least 1s",
                )),
                Err(e) => errors.push(ConfigError::new(
                    path,
                    text,
                    at("alertmanager_interval"),
                    format!("alerts.alertmanager_interval: {e}"),
                )),
            }
        }
        for (name, o) in &spec.builtin {
            let here = || at(&format!("builtin.{name}"));
            let Some(rule) = set.rules.iter_mut().find(|r| &r.name == name) else {
                errors.push(
                    ConfigError::new(
                        path,
                        text,
                        here(),
                        format!("unknown built-in alert rule {name:?}"),
                    )
                    .with_hint(format!(
                        "built-in rules: {}",
                        builtins().map(|b| b.name).collect::<Vec<_>>().join(", ")
                    )),
                );
                continue;
            };
            if let Some(e) = o.enabled {
                rule.enabled = e;
            }
            if let Some(t) = o.threshold {
                rule.threshold = t;
            }
            if let Some(r) = &o.runbook {
                rule.runbook = Some(r.clone());
            }
            if let Some(f) = &o.for_ {
                match parse_duration(f) {
                    Ok(d) => rule.for_ = d,
                    Err(e) => errors.push(
                        ConfigError::new(
                            path,
                            text,
                            at(&format!("\"{f}\"")),
                            format!("alert rule {name}: for: {e}"),
                        )
                        .with_hint("for = \"5m\""),
                    ),
                }
            }
            if let Some(s) = &o.severity {
                match Severity::parse(s) {
                    Some(s) => rule.severity = s,
                    None => errors.push(
                        ConfigError::new(
                            path,
                            text,
                            at(&format!("\"{s}\"")),
                            format!("alert rule {name}: unknown severity {s:?}"),
                        )
                        .with_hint("severity is one of info, warning, critical"),
                    ),
                }
            }
        }
        let user = compile_user_rules(path, text, &spec.rules, errors);
        for (i, r) in user.iter().enumerate() {
            // Built-in names, and the user rules before this one.
            if set.rules.iter().chain(&user[..i]).any(|x| x.name == r.name) {
                let needle = format!("name = \"{}\"", r.name);
                let last = text.rfind(&needle).map(|i| i..i + needle.len());
                errors.push(
                    ConfigError::new(path, text, last.or_else(|| at(&needle)), format!("alert rule name {:?} is already used", r.name))
                        .with_hint("rule names must be unique (built-in names are taken; tune those under [alerts.builtin.NAME])"),
                );
            }
        }
        set.rules.extend(user);
        set
    }

    /// Every enabled rule over every source. A source whose poll failed keeps its last
    /// sample in the console, so its other alerts keep their state until it answers again.
    /// What the rules see in `sources`: every point whose condition holds, and the quiet
    /// points of alerts `known` by key (raised earlier: they resolve or stop pending).
    pub fn observe(
        &self,
        sources: &[SourceView],
        known: &dyn Fn(&str) -> bool,
    ) -> Vec<Observation> {
        let mut out = Vec::new();
        for s in sources {
            for r in &self.rules {
                r.observe(s, self.hysteresis, known, &mut out);
            }
        }
        out
    }
}
