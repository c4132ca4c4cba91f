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
}

crate::secrets::secret_fields!(KafkaSpec);
