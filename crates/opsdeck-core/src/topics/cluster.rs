//! What the cluster holds: topics with partition count and replication factor (one metadata
//! request) and their configs with each value's source (one DescribeConfigs request for all
//! topics asked for).

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, ConfigSource, ResourceSpecifier};

use crate::sources::kafka::KafkaSpec;
use crate::sources::kafka::admin::{Admin, LogContext};
use crate::sources::kafka::client_config;

const TIMEOUT: Duration = Duration::from_secs(10);

/// One config value of a topic as the broker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedConfig {
    /// None for sensitive values (never sent by the broker).
    pub value: Option<String>,
    /// Set on the topic itself (source DYNAMIC_TOPIC_CONFIG), as opposed to inherited from
    /// the broker or Kafka's default.
    pub topic_level: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observed {
    pub name: String,
    pub partitions: usize,
    pub replication_factor: usize,
    /// Every config of the topic (empty when not described).
    pub configs: BTreeMap<String, ObservedConfig>,
    /// The error metadata reports for the topic (e.g. no leader), if any.
    pub error: Option<String>,
}

impl Observed {
    /// Internal topics (`__consumer_offsets`, `__transaction_state`, ...) are never planned,
    /// deleted or exported.
    pub fn is_internal(name: &str) -> bool {
        name.starts_with("__")
    }

    /// The configs set on the topic itself (what `export` writes).
    pub fn topic_level_configs(&self) -> BTreeMap<String, String> {
        self.configs
            .iter()
            .filter(|(_, c)| c.topic_level)
            .filter_map(|(k, c)| c.value.clone().map(|v| (k.clone(), v)))
            .collect()
    }
}

/// Reads every topic's partitions and replication factor, and the configs of the topics for
/// which `describe` is true.
pub async fn read(
    spec: &KafkaSpec,
    describe: impl Fn(&str) -> bool,
) -> Result<BTreeMap<String, Observed>, String> {
    let cfg = client_config(spec).await?;
    let md_cfg = cfg.clone();
    // librdkafka's metadata call blocks: off the async loop, bounded.
    let md = tokio::time::timeout(
        TIMEOUT + Duration::from_secs(2),
        tokio::task::spawn_blocking(move || {
            let admin = Admin::new(&md_cfg, TIMEOUT)?;
            let md = admin.metadata()?;
            Ok::<_, String>(
                md.topics()
                    .iter()
                    // A topic whose leader is being elected still exists (and must not be
                    // planned as a create); only "unknown topic" means it does not.
                    .filter(|t| {
                        t.error() != Some(
                            rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                        )
                    })
                    .map(|t| Observed {
                        name: t.name().to_string(),
                        partitions: t.partitions().len(),
                        replication_factor: t
                            .partitions()
                            .iter()
                            .map(|p| p.replicas().len())
                            .max()
                            .unwrap_or(0),
                        configs: BTreeMap::new(),
                        error: t
                            .error()
                            .map(|e| rdkafka::types::RDKafkaErrorCode::from(e).to_string()),
                    })
                    .collect::<Vec<_>>(),
            )
        }),
    )
    .await
    .map_err(|_| {
        format!(
            "kafka {}: no metadata within {}s",
            spec.name,
            TIMEOUT.as_secs()
        )
    })?
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("kafka {} ({}): {e}", spec.name, spec.brokers))?;

    let mut out: BTreeMap<String, Observed> = md.into_iter().map(|t| (t.name.clone(), t)).collect();
    let wanted: Vec<String> = out.keys().filter(|n| describe(n)).cloned().collect();
    if wanted.is_empty() {
        return Ok(out);
    }
    let admin: AdminClient<LogContext> = cfg
        .create_with_context(LogContext)
        .map_err(|e| e.to_string())?;
    let specs: Vec<ResourceSpecifier> =
        wanted.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
    let opts = AdminOptions::new().request_timeout(Some(TIMEOUT));
    let results = tokio::time::timeout(
        TIMEOUT + Duration::from_secs(2),
        admin.describe_configs(specs.iter(), &opts),
    )
    .await
    .map_err(|_| {
        format!(
            "kafka {}: no topic configs within {}s",
            spec.name,
            TIMEOUT.as_secs()
        )
    })?
    .map_err(|e| format!("kafka {}: describe configs: {e}", spec.name))?;
    for (name, r) in wanted.iter().zip(results) {
        let res = r.map_err(|e| format!("kafka {}: configs of topic {name}: {e}", spec.name))?;
        let name = match &res.specifier {
            rdkafka::admin::OwnedResourceSpecifier::Topic(t) => t.clone(),
            _ => continue,
        };
        if let Some(t) = out.get_mut(&name) {
            t.configs = res
                .entries
                .into_iter()
                .map(|e| {
                    (
                        e.name,
                        ObservedConfig {
                            value: e.value,
                            topic_level: e.source == ConfigSource::DynamicTopic,
                        },
                    )
                })
                .collect();
        }
    }
    Ok(out)
}
