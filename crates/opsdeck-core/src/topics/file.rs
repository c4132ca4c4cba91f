//! Topic files: what the cluster should hold, read from TOML with every problem reported as
//! `file:line:column` (unknown keys, bad types, counts ≤ 0, illegal or duplicate names).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Visitor};
use toml::Spanned;

use crate::input::error::{ConfigError, ConfigErrors};

/// One topic as declared in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub name: String,
    pub partitions: usize,
    /// None: the broker's `default.replication.factor` at creation, never compared after.
    pub replication_factor: Option<usize>,
    /// Topic-level configs the topic must have; configs not named here are left as they are.
    pub configs: BTreeMap<String, String>,
    /// Where it was declared: file and 1-based line of its `name`.
    pub file: PathBuf,
    pub line: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    topic: Vec<TopicSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicSpec {
    name: Spanned<String>,
    partitions: Spanned<i64>,
    replication_factor: Option<Spanned<i64>>,
    #[serde(default)]
    configs: BTreeMap<String, Spanned<ConfigValue>>,
}

/// A config value: Kafka takes strings; integers and booleans are accepted for convenience.
#[derive(Debug)]
struct ConfigValue(String);

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ConfigValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, an integer or a boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Kafka's rule for topic names (`Topic.validate`): 1–249 of `[a-zA-Z0-9._-]`, not `.`/`..`.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("topic name is empty".into());
    }
    if name.len() > 249 {
        return Err(format!(
            "topic name is {} characters long; Kafka allows at most 249",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("topic name {name:?} is not allowed by Kafka"));
    }
    if name.starts_with("__") {
        return Err(format!(
            "topic name {name:?} starts with \"__\": such topics are Kafka's internal ones \
             (__consumer_offsets, __transaction_state), managed by the brokers"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "topic name {name:?} contains {c:?}; Kafka allows only ASCII letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Parses one file's text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Declared>, ConfigErrors> {
    let (declared, errors) = read(path, text);
    if errors.is_empty() {
        Ok(declared)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// The topics of one file that are valid, and every problem of the file (in file order).
fn read(path: &Path, text: &str) -> (Vec<Declared>, Vec<ConfigError>) {
    let (spec, mut errors) = crate::input::recover::from_toml::<FileSpec>(path, text);
    let spec = spec.unwrap_or_default();
    let mut out = Vec::new();
    let err = |span: std::ops::Range<usize>, msg: String, hint: &str| {
        ConfigError::new(path, text, Some(span), msg).with_hint(hint)
    };
    for t in spec.topic {
        let name = t.name.get_ref().clone();
        let before = errors.len();
        if let Err(e) = check_name(&name) {
            errors.push(err(t.name.span(), e, "rename the topic"));
        }
        let partitions = *t.partitions.get_ref();
        if partitions <= 0 || partitions > i32::MAX as i64 {
            errors.push(err(
                t.partitions.span(),
                format!("topic {name}: partitions = {partitions}; it must be at least 1"),
                "set partitions to a positive count (it can grow later, never shrink)",
            ));
        }
        let mut replication_factor = None;
        if let Some(rf) = &t.replication_factor {
            let v = *rf.get_ref();
            if v <= 0 || v > i16::MAX as i64 {
                errors.push(err(
                    rf.span(),
                    format!("topic {name}: replication_factor = {v}; it must be at least 1"),
                    "set it to the number of copies (at most the number of brokers), or remove it for the broker's default",
                ));
            } else {
                replication_factor = Some(v as usize);
            }
        }
        let mut configs = BTreeMap::new();
        for (k, v) in t.configs {
            if k.trim().is_empty() {
                errors.push(err(
                    v.span(),
                    format!("topic {name}: empty config name"),
                    "use Kafka's topic config names, e.g. \"retention.ms\"",
                ));
            }
            configs.insert(k, v.into_inner().0);
        }
        // A topic with a problem is not declared (it would be planned wrongly), but its
        // name still counts for duplicates.
        let _ = before;
        out.push(Declared {
            name,
            partitions: partitions.max(0) as usize,
            replication_factor,
            configs,
            file: path.to_path_buf(),
            line: crate::input::error::line_col(text, t.name.span().start).0,
        });
    }
    errors.sort_by_key(|e| (e.line, e.column));
    (out, errors)
}

/// The files named by `paths`: files as given, directories' `*.toml` (sorted, not recursive).
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ConfigErrors> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| {
                ConfigErrors::from(ConfigError::whole_file(p, format!("cannot read: {e}")))
            })?;
            let mut found: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "toml"))
                .collect();
            if found.is_empty() {
                return Err(
                    ConfigError::whole_file(p, "no *.toml topic files in this directory")
                        .with_hint("write one with `opsdeck topics export --output DIR`")
                        .into(),
                );
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// Reads every file (or directory of files), checks each and that no topic is declared
/// twice. All problems found are reported together.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Declared>, ConfigErrors> {
    let mut all: Vec<Declared> = Vec::new();
    let mut errors = Vec::new();
    for f in expand(paths)? {
        let text = match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(e) => {
                errors.push(ConfigError::whole_file(&f, format!("cannot read: {e}")));
                continue;
            }
        };
        let (ts, es) = read(&f, &text);
        errors.extend(es);
        for t in ts {
            if let Some(first) = all.iter().find(|d| d.name == t.name) {
                errors.push(ConfigError {
                    file: t.file.clone(),
                    line: t.line,
                    column: 1,
                    message: format!("topic {} is declared twice", t.name),
                    hint: Some(format!(
                        "it is first declared at {}:{}; keep one of them",
                        first.file.display(),
                        first.line
                    )),
                });
            } else {
                all.push(t);
            }
        }
    }
    if errors.is_empty() {
        Ok(all)
    } else {
        Err(ConfigErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Vec<Declared>, String> {
        parse(Path::new("t.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_a_topic_with_configs_of_any_scalar_type() {
        let ts = p(r#"
[[topic]]
name = "orders"
partitions = 6
replication_factor = 3
[topic.configs]
"retention.ms" = 86400000
"cleanup.policy" = "compact"
"unclean.leader.election.enable" = false
"#)
        .expect("valid");
        assert_eq!(ts.len(), 1);
        let t = &ts[0];
        assert_eq!(
            (t.name.as_str(), t.partitions, t.replication_factor, t.line),
            ("orders", 6, Some(3), 3)
        );
        assert_eq!(t.configs["retention.ms"], "86400000");
        assert_eq!(t.configs["cleanup.policy"], "compact");
        assert_eq!(t.configs["unclean.leader.election.enable"], "false");
    }

    #[test]
    fn errors_name_the_line() {
        let e = p("[[topic]]\nname = \"a\"\npartitions = -3\n").expect_err("negative");
        assert!(
            e.starts_with("error: t.toml:3:14: topic a: partitions = -3"),
            "{e}"
        );
        let e = p("[[topic]]\nname = \"a\"\npartitions = 0\n").expect_err("zero");
        assert!(e.contains("t.toml:3:14"), "{e}");
        let e = p("[[topic]]\nname = \"a\"\npartitions = 1\nretention = 5\n").expect_err("unknown");
        assert!(
            e.contains("t.toml:4:1") && e.contains("unknown field `retention`"),
            "{e}"
        );
        let e = p("[[topic]]\nname = \"a\"\npartitions = \"six\"\n").expect_err("type");
        assert!(
            e.contains("t.toml:3:14") && e.contains("invalid type"),
            "{e}"
        );
        let e = p("[[topic]]\nname = \"a b\"\npartitions = 1\n").expect_err("name");
        assert!(
            e.contains("t.toml:2:8") && e.contains("contains ' '"),
            "{e}"
        );
        let e = p("[[topic]]\nname = \"a\"\npartitions = 1\nconfigs = { x = [1] }\n")
            .expect_err("array value");
        assert!(
            e.contains("t.toml:4:") && e.contains("a string, an integer or a boolean"),
            "{e}"
        );
        let e =
            p("[[topic]]\nname = \"__consumer_offsets\"\npartitions = 50\n").expect_err("internal");
        assert!(e.contains("t.toml:2:8") && e.contains("internal"), "{e}");
        let e = p("[[topic]]\npartitions = 1\n").expect_err("no name");
        assert!(e.contains("missing field `name`"), "{e}");
    }

    #[test]
    fn every_problem_of_a_file_is_reported() {
        // An unknown key, a bad type and a bad count in three topics: all three, in order.
        let e = p("[[topic]]\nname = \"a\"\npartitions = 1\nretention = 5\n[[topic]]\nname = \"b\"\npartitions = \"six\"\n[[topic]]\nname = \"c\"\npartitions = 0\n")
            .expect_err("three");
        let lines: Vec<&str> = e.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(lines.len(), 3, "{e}");
        assert!(
            lines[0].starts_with("error: t.toml:4:1: unknown field `retention`"),
            "{e}"
        );
        assert!(
            lines[1].starts_with("error: t.toml:7:14: invalid type"),
            "{e}"
        );
        assert!(
            lines[2].starts_with("error: t.toml:10:14: topic c: partitions = 0"),
            "{e}"
        );
    }

    #[test]
    fn several_problems_are_reported_together() {
        let e = p("[[topic]]\nname = \"a\"\npartitions = 0\nreplication_factor = -1\n")
            .expect_err("two");
        assert!(e.contains("t.toml:3:") && e.contains("t.toml:4:"), "{e}");
    }
}
