//! Kafka: brokers, topics, partitions and consumer-group lag.
//! First version: cluster metadata (brokers, topics, partitions, under-replicated count).

use std::collections::BTreeSet;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde::Serialize;

use crate::actions::{Op, Risk};
use crate::config::KafkaSpec;
use crate::config::keymap::Action;
use crate::sources::{CommandResult, Poller, Sample};

/// The guarded keys this pane offers (hint bar and help).
pub const ACTIONS: &[Action] = &[Action::DeleteTopic];
use crate::views::{Cell, Column, Detail, Level, PaneModel, Row, Summary, Table};

#[derive(Debug, Clone, Default, Serialize)]
pub struct KafkaSample {
    pub brokers: Vec<BrokerInfo>,
    pub topics: Vec<TopicInfo>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: usize,
    pub replication_factor: usize,
    pub under_replicated: usize,
}

pub fn client_config(spec: &KafkaSpec) -> Result<ClientConfig, String> {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &spec.brokers);
    cfg.set("socket.timeout.ms", "5000");
    for (k, v) in &spec.properties {
        cfg.set(k, v);
    }
    if let Some(s) = spec.secret().resolve()? {
        cfg.set("sasl.password", s.expose());
    }
    Ok(cfg)
}

pub struct KafkaPoller {
    spec: KafkaSpec,
}

impl KafkaPoller {
    pub fn new(spec: KafkaSpec) -> Self {
        Self { spec }
    }
}

impl Poller for KafkaPoller {
    async fn poll(&mut self) -> Result<Sample, String> {
        let cfg = client_config(&self.spec)?;
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = cfg.create().map_err(|e| e.to_string())?;
            let md = consumer
                .fetch_metadata(None, Duration::from_secs(5))
                .map_err(|e| e.to_string())?;
            let brokers = md
                .brokers()
                .iter()
                .map(|b| BrokerInfo {
                    id: b.id(),
                    host: b.host().into(),
                    port: b.port(),
                })
                .collect();
            let topics = md
                .topics()
                .iter()
                .map(|t| TopicInfo {
                    name: t.name().into(),
                    partitions: t.partitions().len(),
                    replication_factor: t
                        .partitions()
                        .first()
                        .map(|p| p.replicas().len())
                        .unwrap_or(0),
                    under_replicated: t
                        .partitions()
                        .iter()
                        .filter(|p| p.isr().len() < p.replicas().len())
                        .count(),
                })
                .collect();
            Ok(Sample::Kafka(Box::new(KafkaSample { brokers, topics })))
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

impl KafkaSample {
    pub fn model(&self) -> PaneModel {
        let urp: usize = self.topics.iter().map(|t| t.under_replicated).sum();
        let level = if urp > 0 { Level::Warn } else { Level::Ok };
        let parts: usize = self.topics.iter().map(|t| t.partitions).sum();
        let line = format!(
            "{} brokers  {} topics  {} partitions  {} under-replicated",
            self.brokers.len(),
            self.topics.len(),
            parts,
            urp
        );
        PaneModel {
            tile: vec![Summary::line(line.clone(), level)],
            summary: vec![Summary::line(line, level)],
            tables: vec![Table {
                title: "Topics".into(),
                columns: vec![
                    Column::left("TOPIC", 30),
                    Column::right("PARTS", 6),
                    Column::right("RF", 3),
                    Column::right("URP", 4),
                ],
                rows: self
                    .topics
                    .iter()
                    .map(|t| {
                        Row::new(
                            t.name.clone(),
                            vec![
                                Cell::new(t.name.clone()),
                                Cell::new(t.partitions.to_string()),
                                Cell::new(t.replication_factor.to_string()),
                                Cell::level(
                                    t.under_replicated.to_string(),
                                    if t.under_replicated > 0 {
                                        Level::Warn
                                    } else {
                                        Level::Normal
                                    },
                                ),
                            ],
                        )
                    })
                    .collect(),
                empty: "no topics".into(),
            }],
            level,
        }
    }

    /// Delete the selected topic (its name must be typed to confirm).
    pub fn command(
        &self,
        table: usize,
        key: &str,
        _marked: &BTreeSet<String>,
        action: Action,
    ) -> Option<CommandResult> {
        match (table, action) {
            (0, Action::DeleteTopic) => Some(Ok((
                key.to_string(),
                Op::Kafka(KafkaOp::DeleteTopic {
                    topic: key.to_string(),
                }),
                Risk::High,
            ))),
            _ => None,
        }
    }

    pub fn detail(&self, _table: usize, _key: &str) -> Option<Detail> {
        None
    }
}

/// Guarded Kafka operations.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum KafkaOp {
    DeleteTopic { topic: String },
}

impl KafkaOp {
    pub fn describe(&self) -> String {
        match self {
            KafkaOp::DeleteTopic { topic } => format!("delete topic {topic} and all its data"),
        }
    }

    pub async fn execute(&self, spec: &KafkaSpec) -> Result<String, String> {
        use rdkafka::admin::{AdminClient, AdminOptions};
        use rdkafka::client::DefaultClientContext;
        let admin: AdminClient<DefaultClientContext> =
            client_config(spec)?.create().map_err(|e| e.to_string())?;
        match self {
            KafkaOp::DeleteTopic { topic } => {
                let res = admin
                    .delete_topics(&[topic.as_str()], &AdminOptions::new())
                    .await
                    .map_err(|e| e.to_string())?;
                for r in res {
                    r.map_err(|(t, e)| format!("{t}: {e}"))?;
                }
                Ok(format!("topic {topic} deleted"))
            }
        }
    }
}
