//! How each consumer group is judged, compiled once from its Kafka entry: which groups are
//! polled at all (`groups.include` / `groups.exclude`), and per group (`group_rules`, the
//! first matching pattern wins) how long without a commit is a stall, how long is
//! abandonment, and the consumers' isolation level.

use regex::Regex;
use serde::Serialize;

use super::KafkaSpec;
use crate::input::values::parse_duration;

/// Defaults: five minutes covers the 30-60 s commit cadence of Kafka Streams and most
/// auto-committing consumers several times over; a day without members or commits is a
/// group nobody runs any more.
pub const STALL_AFTER: f64 = 300.0;
pub const ABANDONED_AFTER: f64 = 86_400.0;

/// The consumers' `isolation.level`, as the config says (Kafka does not tell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    #[default]
    Unknown,
    ReadCommitted,
    ReadUncommitted,
}

/// What applies to one group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupPolicy {
    /// Seconds behind without a commit before STALL/STOP.
    pub stall_after: f64,
    /// Seconds without members and commits before ABANDONED.
    pub abandoned_after: f64,
    pub isolation: Isolation,
}

impl Default for GroupPolicy {
    fn default() -> Self {
        GroupPolicy {
            stall_after: STALL_AFTER,
            abandoned_after: ABANDONED_AFTER,
            isolation: Isolation::Unknown,
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    pattern: Regex,
    stall_after: Option<f64>,
    abandoned_after: Option<f64>,
    isolation: Option<Isolation>,
}

/// The compiled policy of one Kafka entry.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    base: GroupPolicy,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    rules: Vec<Rule>,
}

/// A config problem: the message and a hint showing the right shape.
pub type Problem = (String, &'static str);

const DURATION_HINT: &str = "stall_after = \"5m\", abandoned_after = \"24h\"";

fn duration(key: &str, v: &Option<String>, out: &mut Vec<Problem>) -> Option<f64> {
    let v = v.as_ref()?;
    match parse_duration(v) {
        Ok(d) if d.as_secs_f64() >= 1.0 => Some(d.as_secs_f64()),
        Ok(_) => {
            out.push((format!("{key} must be at least 1s"), DURATION_HINT));
            None
        }
        Err(e) => {
            out.push((format!("{key}: {e}"), DURATION_HINT));
            None
        }
    }
}

fn regex(key: &str, v: &str, out: &mut Vec<Problem>) -> Option<Regex> {
    match Regex::new(v) {
        Ok(r) => Some(r),
        Err(e) => {
            // The regex crate's message spans lines (it draws the caret); keep its last one.
            let why = e.to_string();
            let why = why.lines().last().unwrap_or_default().trim().to_string();
            out.push((
                format!("{key}: {v:?} is not a regular expression: {why}"),
                "patterns are regexes: \"^flink-\", \"^billing$\"",
            ));
            None
        }
    }
}

impl Policy {
    /// Compiles the entry's verdict settings; every problem is returned.
    pub fn from_spec(spec: &KafkaSpec) -> Result<Policy, Vec<Problem>> {
        let mut out = Vec::new();
        let mut base = GroupPolicy::default();
        if let Some(s) = duration("stall_after", &spec.stall_after, &mut out) {
            base.stall_after = s;
        }
        if let Some(s) = duration("abandoned_after", &spec.abandoned_after, &mut out) {
            base.abandoned_after = s;
        }
        let include = (spec.groups.include.iter())
            .filter_map(|p| regex("groups.include", p, &mut out))
            .collect();
        let exclude = (spec.groups.exclude.iter())
            .filter_map(|p| regex("groups.exclude", p, &mut out))
            .collect();
        let mut rules = Vec::new();
        for r in &spec.group_rules {
            let isolation = match r.isolation.as_deref() {
                None => None,
                Some("read_committed") => Some(Isolation::ReadCommitted),
                Some("read_uncommitted") => Some(Isolation::ReadUncommitted),
                Some(other) => {
                    out.push((
                        format!("group_rules {:?}: unknown isolation {other:?}", r.pattern),
                        "isolation = \"read_committed\" or \"read_uncommitted\"",
                    ));
                    None
                }
            };
            let stall_after = duration("group_rules.stall_after", &r.stall_after, &mut out);
            let abandoned_after =
                duration("group_rules.abandoned_after", &r.abandoned_after, &mut out);
            if let Some(pattern) = regex("group_rules.pattern", &r.pattern, &mut out) {
                rules.push(Rule {
                    pattern,
                    stall_after,
                    abandoned_after,
                    isolation,
                });
            }
        }
        if out.is_empty() {
            Ok(Policy {
                base,
                include,
                exclude,
                rules,
            })
        } else {
            Err(out)
        }
    }

    /// Whether `group` is polled and judged at all.
    pub fn judged(&self, group: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|r| r.is_match(group)))
            && !self.exclude.iter().any(|r| r.is_match(group))
    }

    /// The settings for `group`: the first matching rule's over the entry's.
    pub fn for_group(&self, group: &str) -> GroupPolicy {
        let mut p = self.base;
        if let Some(r) = self.rules.iter().find(|r| r.pattern.is_match(group)) {
            p.stall_after = r.stall_after.unwrap_or(p.stall_after);
            p.abandoned_after = r.abandoned_after.unwrap_or(p.abandoned_after);
            p.isolation = r.isolation.unwrap_or(p.isolation);
        }
        p
    }

    /// Every distinct `abandoned_after` in force (one timestamp probe each).
    pub fn abandoned_afters(&self) -> Vec<f64> {
        let mut v: Vec<f64> = std::iter::once(self.base.abandoned_after)
            .chain(self.rules.iter().filter_map(|r| r.abandoned_after))
            .collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::super::{KafkaGroupRuleSpec, KafkaGroupsSpec};
    use super::*;

    fn spec() -> KafkaSpec {
        KafkaSpec {
            name: "k".into(),
            brokers: "b:9092".into(),
            stall_after: Some("5m".into()),
            groups: KafkaGroupsSpec {
                include: vec![],
                exclude: vec!["^console-consumer-".into()],
            },
            group_rules: vec![
                KafkaGroupRuleSpec {
                    pattern: "^flink-".into(),
                    stall_after: Some("15m".into()),
                    isolation: Some("read_committed".into()),
                    ..Default::default()
                },
                KafkaGroupRuleSpec {
                    pattern: "^flink-batch".into(),
                    stall_after: Some("2h".into()),
                    abandoned_after: Some("7d".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn first_matching_rule_wins_over_the_entry() {
        let p = Policy::from_spec(&spec()).expect("valid");
        assert_eq!(
            p.for_group("flink-batch-1"),
            GroupPolicy {
                stall_after: 900.0,
                abandoned_after: ABANDONED_AFTER,
                isolation: Isolation::ReadCommitted,
            }
        );
        assert_eq!(p.for_group("billing"), GroupPolicy::default());
        assert!(p.judged("billing"));
        assert!(!p.judged("console-consumer-4711"));
        assert_eq!(p.abandoned_afters(), vec![ABANDONED_AFTER, 604_800.0]);
        let mut s = spec();
        s.groups.include = vec!["^bill".into()];
        let p = Policy::from_spec(&s).expect("valid");
        assert!(p.judged("billing") && !p.judged("shipping"));
    }

    #[test]
    fn every_problem_is_reported() {
        let mut s = spec();
        s.stall_after = Some("soon".into());
        s.abandoned_after = Some("10ms".into());
        s.groups.include = vec!["(".into()];
        s.group_rules[0].isolation = Some("serializable".into());
        let e = Policy::from_spec(&s).expect_err("invalid");
        let msgs: Vec<&str> = e.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(msgs[0].starts_with("stall_after: invalid duration \"soon\""));
        assert_eq!(msgs[1], "abandoned_after must be at least 1s");
        assert_eq!(
            msgs[2],
            "groups.include: \"(\" is not a regular expression: error: unclosed group"
        );
        assert_eq!(
            msgs[3],
            "group_rules \"^flink-\": unknown isolation \"serializable\""
        );
    }

    #[test]
    fn the_toml_shape_and_its_errors() {
        let text = r#"
[contexts.prod]
[[contexts.prod.kafka]]
name = "main"
brokers = "k:9092"
stall_after = "5m"
abandoned_after = "3d"
groups = { exclude = ["^console-consumer-"] }

[[contexts.prod.kafka.group_rules]]
pattern = "^flink-"
stall_after = "15m"
isolation = "read_committed"
"#;
        let cfg = crate::config::Config::from_toml(std::path::Path::new("/c.toml"), text)
            .expect("valid config");
        let k = &cfg.contexts["prod"].kafka[0];
        let p = Policy::from_spec(k).expect("policy");
        assert_eq!(p.for_group("flink-orders").stall_after, 900.0);
        assert_eq!(p.for_group("flink-orders").abandoned_after, 259_200.0);
        assert!(!p.judged("console-consumer-1"));
        let bad = text.replace("\"15m\"", "\"15 minutes later\"");
        let e = crate::config::Config::from_toml(std::path::Path::new("/c.toml"), &bad)
            .expect_err("invalid")
            .to_string();
        assert!(
            e.starts_with(
                "error: /c.toml:4:8: context prod: kafka main: group_rules.stall_after: invalid duration \"15 minutes later\""
            ),
            "{e}"
        );
        assert!(
            e.ends_with("hint: stall_after = \"5m\", abandoned_after = \"24h\""),
            "{e}"
        );
    }
}
