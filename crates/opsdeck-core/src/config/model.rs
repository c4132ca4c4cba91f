//! The config file's shape. Field names here are the documented TOML keys (see README).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::alerts::spec::AlertsSpec;
use crate::sources::ContextSpec;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub default_context: Option<String>,
    /// Poll interval of every source, e.g. "2s".
    pub refresh: Option<String>,
    /// Interval between rounds of the fleet view (every context), e.g. "30s".
    pub fleet_refresh: Option<String>,
    pub theme: Option<String>,
    /// Name of the base keymap (`keymaps/*.toml` or a user file of that name).
    pub keymap: Option<String>,
    /// Per-key overrides merged over the base keymap: action = ["key", ...].
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
    /// Audit log path; default `audit.jsonl` in the data dir.
    pub audit_log: Option<String>,
    /// Timeout of a guarded action, e.g. "30s".
    pub action_timeout: Option<String>,
    /// Copy to the terminal's clipboard with OSC 52 (`y`, notes); false turns it off.
    pub clipboard: Option<bool>,
    #[serde(default)]
    pub contexts: BTreeMap<String, ContextSpec>,
    /// Alert rules, the bell and Alertmanager (`[alerts]`).
    #[serde(default)]
    pub alerts: AlertsSpec,
    /// Capacity forecasts: their window and an optional Prometheus (`[capacity]`).
    #[serde(default)]
    pub capacity: crate::capacity::CapacitySpec,
}
