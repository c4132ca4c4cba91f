//! A Kafka cluster entry of a context: `[[contexts.NAME.kafka]]`.

use std::collections::BTreeMap;

use serde::Deserialize;

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
    /// Replication throttle while a rebalance moves replicas, bytes per second per broker
    /// ("50MiB", the default).
    pub reassignment_throttle: Option<String>,
}

impl KafkaSpec {
    /// The rebalance throttle in bytes per second (the default when unset or invalid: the
    /// config check reports an invalid one).
    pub fn throttle(&self) -> u64 {
        self.reassignment_throttle
            .as_deref()
            .and_then(|r| super::balance::parse_rate(r).ok())
            .unwrap_or(super::balance::DEFAULT_THROTTLE)
    }
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

crate::secrets::secret_fields!(KafkaSpec);
