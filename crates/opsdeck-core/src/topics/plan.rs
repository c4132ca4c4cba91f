//! The plan: declared topics against the cluster, as a list of changes (pure, no I/O).
//!
//! Rules: a topic missing from the cluster is created; more partitions than the cluster has
//! are added; a declared config whose value differs is set (IncrementalAlterConfigs, other
//! configs untouched). Never planned: fewer partitions (Kafka cannot remove partitions) and a
//! replication-factor change (a partition reassignment, not a topic config): both are
//! refusals that make the plan fail. Deletes only with `allow_delete`, only of topics not
//! declared, never of internal `__*` topics, and only under `prefix` when one is given.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::PathBuf;

use serde::Serialize;

use super::cluster::Observed;
use super::file::Declared;
use crate::actions::Risk;
use crate::sources::kafka::KafkaOp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigChange {
    pub key: String,
    /// The current value (None when the broker does not know the key or hides its value).
    pub old: Option<String>,
    /// The current value is inherited (broker or Kafka default), not set on the topic.
    pub inherited: bool,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Create {
        topic: String,
        partitions: usize,
        replication_factor: Option<usize>,
        configs: BTreeMap<String, String>,
    },
    AddPartitions {
        topic: String,
        from: usize,
        to: usize,
    },
    AlterConfigs {
        topic: String,
        configs: Vec<ConfigChange>,
    },
    Delete {
        topic: String,
        partitions: usize,
    },
}

impl Change {
    pub fn topic(&self) -> &str {
        match self {
            Change::Create { topic, .. }
            | Change::AddPartitions { topic, .. }
            | Change::AlterConfigs { topic, .. }
            | Change::Delete { topic, .. } => topic,
        }
    }

    /// The guarded operation that performs it (the same ones the Kafka pane runs).
    pub fn op(&self) -> KafkaOp {
        match self {
            Change::Create {
                topic,
                partitions,
                replication_factor,
                configs,
            } => KafkaOp::CreateTopic {
                topic: topic.clone(),
                partitions: *partitions as i32,
                // -1: the broker's default.replication.factor.
                replication_factor: replication_factor.map(|r| r as i32).unwrap_or(-1),
                configs: configs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            },
            Change::AddPartitions { topic, to, .. } => KafkaOp::AddPartitions {
                topic: topic.clone(),
                total: *to,
            },
            Change::AlterConfigs { topic, configs } => KafkaOp::AlterTopicConfigs {
                topic: topic.clone(),
                configs: configs
                    .iter()
                    .map(|c| (c.key.clone(), c.new.clone()))
                    .collect(),
            },
            Change::Delete { topic, .. } => KafkaOp::DeleteTopic {
                topic: topic.clone(),
            },
        }
    }

    pub fn risk(&self) -> Risk {
        match self {
            Change::Create { .. } => Risk::Low,
            Change::AddPartitions { .. } | Change::AlterConfigs { .. } => Risk::Medium,
            Change::Delete { .. } => Risk::High,
        }
    }
}

/// Something the files ask for that opsdeck will not do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub topic: String,
    pub file: PathBuf,
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub refusals: Vec<Refusal>,
    /// Configs set on a declared topic in the cluster but not in its file: left as they are
    /// (topic, key, value).
    pub unmanaged: Vec<(String, String, String)>,
    /// Declared topics that need nothing.
    pub in_sync: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub allow_delete: bool,
    /// Only topics whose name starts with this are deletion candidates (and exported).
    pub prefix: Option<String>,
}

pub fn plan(declared: &[Declared], cluster: &BTreeMap<String, Observed>, opts: &Options) -> Plan {
    let mut p = Plan::default();
    let (mut creates, mut grows, mut alters) = (Vec::new(), Vec::new(), Vec::new());
    for d in declared {
        let Some(o) = cluster.get(&d.name) else {
            creates.push(Change::Create {
                topic: d.name.clone(),
                partitions: d.partitions,
                replication_factor: d.replication_factor,
                configs: d.configs.clone(),
            });
            continue;
        };
        let mut changed = false;
        let refuse = |reason: String| Refusal {
            topic: d.name.clone(),
            file: d.file.clone(),
            line: d.line,
            reason,
        };
        if let Some(e) = &o.error {
            p.refusals.push(refuse(format!(
                "the cluster reports {e} for this topic (e.g. a leader election in progress); \
                 nothing is planned for it: try again when it is healthy"
            )));
            continue;
        }
        if d.partitions < o.partitions {
            p.refusals.push(refuse(format!(
                "partitions {} → {} refused: Kafka cannot remove partitions (keys would move \
                 to other partitions and the removed ones' data would be lost); declare {} \
                 or more, or create a new topic and migrate to it",
                o.partitions, d.partitions, o.partitions
            )));
        } else if d.partitions > o.partitions {
            grows.push(Change::AddPartitions {
                topic: d.name.clone(),
                from: o.partitions,
                to: d.partitions,
            });
            changed = true;
        }
        if let Some(rf) = d.replication_factor
            && rf != o.replication_factor
        {
            p.refusals.push(refuse(format!(
                "replication factor {} → {rf} not supported: it is changed by reassigning \
                 every partition's replicas (kafka-reassign-partitions.sh), which moves data \
                 between brokers and is not a topic config; do that reassignment by hand, or \
                 declare {}",
                o.replication_factor, o.replication_factor
            )));
        }
        let configs: Vec<ConfigChange> = d
            .configs
            .iter()
            .filter_map(|(k, v)| {
                let cur = o.configs.get(k);
                let old = cur.and_then(|c| c.value.clone());
                (old.as_deref() != Some(v.as_str())).then(|| ConfigChange {
                    key: k.clone(),
                    old,
                    inherited: cur.is_some_and(|c| !c.topic_level),
                    new: v.clone(),
                })
            })
            .collect();
        if !configs.is_empty() {
            alters.push(Change::AlterConfigs {
                topic: d.name.clone(),
                configs,
            });
            changed = true;
        }
        for (k, v) in o.topic_level_configs() {
            if !d.configs.contains_key(&k) {
                p.unmanaged.push((d.name.clone(), k, v));
            }
        }
        if !changed {
            p.in_sync += 1;
        }
    }
    p.changes.extend(creates);
    p.changes.extend(grows);
    p.changes.extend(alters);
    if opts.allow_delete {
        let names: BTreeSet<&str> = declared.iter().map(|d| d.name.as_str()).collect();
        for o in cluster.values() {
            if !names.contains(o.name.as_str())
                && !Observed::is_internal(&o.name)
                && opts.prefix.as_deref().is_none_or(|x| o.name.starts_with(x))
            {
                p.changes.push(Change::Delete {
                    topic: o.name.clone(),
                    partitions: o.partitions,
                });
            }
        }
    }
    // A refused topic must not be half-applied: drop its other changes.
    let refused: BTreeSet<String> = p.refusals.iter().map(|r| r.topic.clone()).collect();
    if !refused.is_empty() {
        p.changes.retain(|c| !refused.contains(c.topic()));
    }
    p
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.refusals.is_empty()
    }

    /// The plan for people: one line per change (`+` create, `~` change, `-` delete,
    /// `!` refused), then a count.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for c in &self.changes {
            match c {
                Change::Create {
                    topic,
                    partitions,
                    replication_factor,
                    configs,
                } => {
                    let _ = writeln!(
                        s,
                        "+ create topic {topic}: {}, replication factor {}",
                        plural(*partitions, "partition"),
                        replication_factor
                            .map(|r| r.to_string())
                            .unwrap_or_else(|| "broker default".into())
                    );
                    for (k, v) in configs {
                        let _ = writeln!(s, "      {k} = {v}");
                    }
                }
                Change::AddPartitions { topic, from, to } => {
                    let _ = writeln!(s, "~ grow topic {topic}: partitions {from} → {to}");
                }
                Change::AlterConfigs { topic, configs } => {
                    let _ = writeln!(s, "~ alter topic {topic} configs:");
                    for c in configs {
                        let old = match (&c.old, c.inherited) {
                            (Some(v), true) => format!("{v} (default)"),
                            (Some(v), false) => v.clone(),
                            (None, _) => "(not set)".into(),
                        };
                        let _ = writeln!(s, "      {}: {old} → {}", c.key, c.new);
                    }
                }
                Change::Delete { topic, partitions } => {
                    let _ = writeln!(
                        s,
                        "- delete topic {topic} ({}, all its data): not declared",
                        plural(*partitions, "partition")
                    );
                }
            }
        }
        for r in &self.refusals {
            let _ = writeln!(
                s,
                "! topic {} ({}:{}): {}",
                r.topic,
                r.file.display(),
                r.line,
                r.reason
            );
        }
        for (t, k, v) in &self.unmanaged {
            let _ = writeln!(
                s,
                "  note: topic {t} has {k}={v} set on the cluster but not in its file; left as it is"
            );
        }
        let count = |f: fn(&Change) -> bool| self.changes.iter().filter(|c| f(c)).count();
        let summary = format!(
            "{} to create, {} to grow, {} to alter, {} to delete",
            count(|c| matches!(c, Change::Create { .. })),
            count(|c| matches!(c, Change::AddPartitions { .. })),
            count(|c| matches!(c, Change::AlterConfigs { .. })),
            count(|c| matches!(c, Change::Delete { .. })),
        );
        if !self.refusals.is_empty() {
            let _ = writeln!(
                s,
                "Plan: {summary}; {} refused (fix the files: nothing is applied while any change is refused).",
                self.refusals.len()
            );
        } else if self.changes.is_empty() {
            let _ = writeln!(s, "No changes: {} declared topics in sync.", self.in_sync);
        } else {
            let _ = writeln!(s, "Plan: {summary}; {} in sync.", self.in_sync);
        }
        s
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::cluster::ObservedConfig;

    fn declared(
        name: &str,
        partitions: usize,
        rf: Option<usize>,
        configs: &[(&str, &str)],
    ) -> Declared {
        Declared {
            name: name.into(),
            partitions,
            replication_factor: rf,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            file: "t.toml".into(),
            line: 2,
        }
    }

    fn observed(
        name: &str,
        partitions: usize,
        configs: &[(&str, &str, bool)],
    ) -> (String, Observed) {
        (
            name.into(),
            Observed {
                name: name.into(),
                partitions,
                replication_factor: 1,
                configs: configs
                    .iter()
                    .map(|(k, v, topic_level)| {
                        (
                            k.to_string(),
                            ObservedConfig {
                                value: Some(v.to_string()),
                                topic_level: *topic_level,
                            },
                        )
                    })
                    .collect(),
                error: None,
            },
        )
    }

    #[test]
    fn in_sync_is_empty() {
        let c = BTreeMap::from([observed("a", 3, &[("retention.ms", "100", true)])]);
        let p = plan(
            &[declared("a", 3, Some(1), &[("retention.ms", "100")])],
            &c,
            &Options::default(),
        );
        assert!(p.is_empty());
        assert_eq!(p.in_sync, 1);
        assert_eq!(p.render(), "No changes: 1 declared topics in sync.\n");
    }

    #[test]
    fn create_grow_alter_with_old_and_new() {
        let c = BTreeMap::from([observed(
            "a",
            3,
            &[
                ("retention.ms", "100", true),
                ("cleanup.policy", "delete", false),
                ("segment.ms", "9", true),
            ],
        )]);
        let d = [
            declared(
                "a",
                5,
                None,
                &[("retention.ms", "200"), ("cleanup.policy", "compact")],
            ),
            declared("b", 2, Some(1), &[]),
        ];
        let p = plan(&d, &c, &Options::default());
        assert_eq!(
            p.render(),
            "+ create topic b: 2 partitions, replication factor 1\n\
             ~ grow topic a: partitions 3 → 5\n\
             ~ alter topic a configs:\n\
             \x20     cleanup.policy: delete (default) → compact\n\
             \x20     retention.ms: 100 → 200\n\
             \x20 note: topic a has segment.ms=9 set on the cluster but not in its file; left as it is\n\
             Plan: 1 to create, 1 to grow, 1 to alter, 0 to delete; 0 in sync.\n"
        );
        assert_eq!(
            p.changes[2].op(),
            KafkaOp::AlterTopicConfigs {
                topic: "a".into(),
                configs: vec![
                    ("cleanup.policy".into(), "compact".into()),
                    ("retention.ms".into(), "200".into())
                ]
            }
        );
    }

    #[test]
    fn decrease_and_replication_change_are_refused_and_block_the_topic() {
        let c = BTreeMap::from([observed("a", 3, &[("retention.ms", "1", true)])]);
        let p = plan(
            &[declared("a", 2, Some(3), &[("retention.ms", "2")])],
            &c,
            &Options::default(),
        );
        assert!(p.changes.is_empty(), "{:?}", p.changes);
        assert_eq!(p.refusals.len(), 2);
        let r = p.render();
        assert!(
            r.contains(
                "! topic a (t.toml:2): partitions 3 → 2 refused: Kafka cannot remove partitions"
            ),
            "{r}"
        );
        assert!(r.contains("replication factor 1 → 3 not supported"), "{r}");
    }

    #[test]
    fn a_topic_in_error_is_refused_not_recreated() {
        let (name, mut o) = observed("a", 0, &[]);
        o.error = Some("LeaderNotAvailable".into());
        let p = plan(
            &[declared("a", 3, None, &[])],
            &BTreeMap::from([(name, o)]),
            &Options::default(),
        );
        assert!(p.changes.is_empty(), "{:?}", p.changes);
        assert!(
            p.render()
                .contains("! topic a (t.toml:2): the cluster reports LeaderNotAvailable"),
            "{}",
            p.render()
        );
    }

    #[test]
    fn deletes_only_when_allowed_never_internal_and_within_prefix() {
        let c = BTreeMap::from([
            observed("__consumer_offsets", 50, &[]),
            observed("team.a", 1, &[]),
            observed("team.old", 1, &[]),
            observed("other", 1, &[]),
        ]);
        let d = [declared("team.a", 1, None, &[])];
        assert!(plan(&d, &c, &Options::default()).is_empty());
        let all = plan(
            &d,
            &c,
            &Options {
                allow_delete: true,
                prefix: None,
            },
        );
        let deleted: Vec<&str> = all.changes.iter().map(|c| c.topic()).collect();
        assert_eq!(deleted, ["other", "team.old"]);
        let scoped = plan(
            &d,
            &c,
            &Options {
                allow_delete: true,
                prefix: Some("team.".into()),
            },
        );
        assert_eq!(scoped.changes.len(), 1);
        assert_eq!(
            scoped.changes[0].op(),
            KafkaOp::DeleteTopic {
                topic: "team.old".into()
            }
        );
        assert_eq!(scoped.changes[0].risk(), Risk::High);
    }
}
