//! `[alerts]` as written in the config file: the bell, Alertmanager, built-in rules tuned
//! by name and user rules. `RuleSet::from_spec` compiles it.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[alerts]`: built-in rules tuned by name, user rules, the bell and Alertmanager.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertsSpec {
    /// Ring the terminal bell when a new critical alert fires.
    #[serde(default)]
    pub bell: bool,
    /// How far back past its threshold a value must go to resolve, as a fraction of the
    /// threshold (default 0.05).
    pub hysteresis: Option<f64>,
    /// Alertmanager base URL, e.g. "http://127.0.0.1:9093": alerts are pushed to it and its
    /// own alerts are pulled into the inbox.
    pub alertmanager: Option<String>,
    /// How often Alertmanager is pulled (and firing alerts re-sent), e.g. "15s".
    pub alertmanager_interval: Option<String>,
    /// Built-in rules by name: `[alerts.builtin.redis_memory] threshold = 0.85`.
    #[serde(default)]
    pub builtin: BTreeMap<String, BuiltinRuleSpec>,
    /// User rules: `[[alerts.rules]]`.
    #[serde(default)]
    pub rules: Vec<UserRuleSpec>,
}

/// Overrides of one built-in rule; unset fields keep the rule's default.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BuiltinRuleSpec {
    pub enabled: Option<bool>,
    pub threshold: Option<f64>,
    /// How long the condition must hold before firing, e.g. "2m".
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// info | warning | critical
    pub severity: Option<String>,
    /// Text or link shown in the alert's detail.
    pub runbook: Option<String>,
}

/// One user rule: `metric op threshold`, held for `for`, on sources of `kind`/`source`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserRuleSpec {
    pub name: String,
    pub enabled: Option<bool>,
    /// Only the source of this name (default: every source the metric applies to).
    pub source: Option<String>,
    /// A documented selector, e.g. "redis.memory_ratio", "kafka.group.lag_seconds",
    /// "postgres.connections_ratio", "host.disk_ratio" (`opsdeck` lists them on error).
    pub metric: String,
    /// >, >=, < or <=
    pub op: String,
    pub threshold: f64,
    /// How long the condition must hold before firing, e.g. "5m".
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// info | warning | critical (default warning)
    pub severity: Option<String>,
    /// Words shown before the value, e.g. "orders lag".
    pub summary: Option<String>,
    /// Extra labels (sent to Alertmanager).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Text or link shown in the alert's detail.
    pub runbook: Option<String>,
}
