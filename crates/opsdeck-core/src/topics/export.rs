//! Topic files from the cluster: what `plan` reads back as in sync. Only configs set on the
//! topic itself are written (DescribeConfigs source DYNAMIC_TOPIC_CONFIG): inherited broker
//! values and Kafka defaults stay out, so the files say what was chosen, not what happened
//! to be the default.

use std::collections::BTreeMap;

use serde::Serialize;

use super::cluster::Observed;

#[derive(Serialize)]
struct FileOut<'a> {
    topic: Vec<TopicOut<'a>>,
}

#[derive(Serialize)]
struct TopicOut<'a> {
    name: &'a str,
    partitions: usize,
    replication_factor: usize,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    configs: BTreeMap<String, String>,
}

/// One TOML document declaring `topics`, with a header comment.
pub fn render<'a>(
    topics: impl IntoIterator<Item = &'a Observed>,
    header: &str,
) -> Result<String, String> {
    let doc = FileOut {
        topic: topics
            .into_iter()
            .map(|t| TopicOut {
                name: &t.name,
                partitions: t.partitions,
                replication_factor: t.replication_factor,
                configs: t.topic_level_configs(),
            })
            .collect(),
    };
    let body = toml::to_string(&doc).map_err(|e| format!("cannot write TOML: {e}"))?;
    let mut s = String::new();
    for l in header.lines() {
        s.push_str("# ");
        s.push_str(l);
        s.push('\n');
    }
    s.push('\n');
    s.push_str(&body);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::cluster::ObservedConfig;
    use crate::topics::file;
    use std::path::Path;

    #[test]
    fn export_reads_back_with_only_topic_level_configs() {
        let t = Observed {
            name: "orders.v1".into(),
            partitions: 6,
            replication_factor: 3,
            configs: BTreeMap::from([
                (
                    "retention.ms".to_string(),
                    ObservedConfig {
                        value: Some("3600000".into()),
                        topic_level: true,
                    },
                ),
                (
                    "cleanup.policy".to_string(),
                    ObservedConfig {
                        value: Some("delete".into()),
                        topic_level: false,
                    },
                ),
            ]),
            error: None,
        };
        let plain = Observed {
            name: "plain".into(),
            partitions: 1,
            replication_factor: 1,
            configs: BTreeMap::new(),
            error: None,
        };
        let text = render([&t, &plain], "exported").expect("render");
        assert!(text.starts_with("# exported\n"), "{text}");
        assert!(!text.contains("cleanup.policy"), "{text}");
        let back = file::parse(Path::new("x.toml"), &text).expect("parses back");
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].name, "orders.v1");
        assert_eq!(
            (back[0].partitions, back[0].replication_factor),
            (6, Some(3))
        );
        assert_eq!(back[0].configs, t.topic_level_configs());
        assert!(back[1].configs.is_empty());
    }
}
