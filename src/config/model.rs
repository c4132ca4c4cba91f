//! The config file's shape. Field names here are the documented TOML keys (see README).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub default_context: Option<String>,
    /// Poll interval of every source, e.g. "2s".
    pub refresh: Option<String>,
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
    #[serde(default)]
    pub contexts: BTreeMap<String, ContextSpec>,
    /// Alert rules, the bell and Alertmanager (`[alerts]`).
    #[serde(default)]
    pub alerts: AlertsSpec,
}

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

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContextSpec {
    /// Colour of the context name in the header: a theme colour name or #rrggbb.
    pub color: Option<String>,
    #[serde(default)]
    pub readonly: bool,
    /// Production contexts need the context name typed to confirm any action.
    #[serde(default)]
    pub production: bool,
    #[serde(default)]
    pub kafka: Vec<KafkaSpec>,
    #[serde(default)]
    pub postgres: Vec<PostgresSpec>,
    #[serde(default)]
    pub redis: Vec<RedisSpec>,
    #[serde(default)]
    pub backups: Vec<BackupSpec>,
    #[serde(default)]
    pub endpoints: Vec<EndpointSpec>,
    /// The host pane; on by default.
    #[serde(default = "yes")]
    pub host: bool,
}

fn yes() -> bool {
    true
}

/// Where a secret comes from. At most one of these may be set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretSpec {
    /// Inline secret (discouraged: a warning is printed when the file is readable by others).
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    /// A shell command whose first output line is the secret.
    pub password_command: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KafkaSpec {
    pub name: String,
    pub brokers: String,
    /// Any librdkafka property (security.protocol, sasl.*, ssl.*).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    // Secret for `sasl.password` (serde's flatten cannot be combined with deny_unknown_fields).
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    pub password_command: Option<String>,
    /// Show internal topics (`__consumer_offsets`, ...).
    #[serde(default)]
    pub show_internal: bool,
    /// A group behind whose committed offsets have not moved for this long is STALL (with
    /// members) or STOP (without), e.g. "5m" (the default).
    pub stall_after: Option<String>,
    /// A group with no members and no commit for this long is ABANDONED: shown muted, no
    /// alert (default "24h").
    pub abandoned_after: Option<String>,
    /// Which consumer groups are polled and judged at all.
    #[serde(default)]
    pub groups: KafkaGroupsSpec,
    /// Per-group overrides, `[[contexts.X.kafka.group_rules]]`; the first matching wins.
    #[serde(default)]
    pub group_rules: Vec<KafkaGroupRuleSpec>,
}

/// `groups = { include = ["^orders-"], exclude = ["^console-consumer-"] }`: regexes over
/// group names; an empty `include` means every group.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KafkaGroupsSpec {
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// Overrides for the groups whose name matches `pattern` (a regex).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KafkaGroupRuleSpec {
    pub pattern: String,
    pub stall_after: Option<String>,
    pub abandoned_after: Option<String>,
    /// The consumers' `isolation.level`: read_committed | read_uncommitted.
    pub isolation: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PostgresSpec {
    pub name: String,
    /// postgres://user@host:port/db?sslmode=... (a password here is redacted everywhere).
    pub url: String,
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    pub password_command: Option<String>,
    /// CA file for sslmode=verify-ca/verify-full.
    pub ssl_root_cert: Option<String>,
    /// PgBouncer admin console, e.g. postgres://pgbouncer@127.0.0.1:6432/pgbouncer.
    pub pgbouncer: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RedisSpec {
    pub name: String,
    /// Standalone server: redis://[user@]host:port[/db] or rediss:// for TLS.
    pub url: Option<String>,
    /// Sentinel deployment: sentinel addresses plus the master name.
    #[serde(default)]
    pub sentinels: Vec<String>,
    pub master: Option<String>,
    /// Cluster deployment: seed nodes.
    #[serde(default)]
    pub cluster: Vec<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    pub password_command: Option<String>,
    /// Connect with TLS (rediss://) to every node and sentinel.
    #[serde(default)]
    pub tls: bool,
    /// PEM CA file that signed the servers' certificates, instead of the system roots.
    pub tls_ca_file: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupSpec {
    pub name: String,
    /// pgbackrest | pg_archiver | redis | files
    pub kind: String,
    /// Recovery-point objective, e.g. "26h".
    pub max_age: Option<String>,
    /// pgbackrest: stanza name and optional config file.
    pub stanza: Option<String>,
    pub pgbackrest_config: Option<String>,
    /// pg_archiver / redis: the name of a postgres / redis entry of this context.
    pub source: Option<String>,
    /// files: a directory and a glob pattern.
    pub dir: Option<String>,
    pub pattern: Option<String>,
    /// Restore runbook shown beside the source.
    pub runbook: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    pub name: String,
    /// tcp://host:port or http(s)://...
    pub url: String,
    pub expect_status: Option<u16>,
    pub expect_body: Option<String>,
    pub timeout: Option<String>,
}

macro_rules! secret_of {
    ($($t:ty),*) => {$(
        impl $t {
            pub fn secret(&self) -> SecretSpec {
                SecretSpec {
                    password: self.password.clone(),
                    password_env: self.password_env.clone(),
                    password_file: self.password_file.clone(),
                    password_command: self.password_command.clone(),
                }
            }
        }
    )*};
}
secret_of!(KafkaSpec, PostgresSpec, RedisSpec);
