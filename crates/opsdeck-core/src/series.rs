//! The vocabulary of exported series: what a system hands the Prometheus exporter for one
//! sample. Each system declares its families (`System::SERIES`, documented in
//! docs/metrics.md) and builds their values in `System::series`; by default every metric
//! its alert rules read (`METRICS` through `measure`) is exported as a gauge too, so the
//! exported rule file and the console judge the same numbers.

use crate::metrics::{Metric, Point, Unit};

/// How Prometheus should read a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    /// Only goes up (the name ends in `_total`).
    Counter,
    /// Value 1, the facts in the labels (the name ends in `_info`).
    Info,
    /// The value is the Unix time of the latest occurrence of an event the source noticed
    /// (a failover): the exporter counts the changes into a counter of this name.
    Occurrence,
}

/// A documented family of series: its full name, kind, help text and label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    pub labels: &'static [&'static str],
}

impl Family {
    pub const fn gauge(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Family {
        Family {
            name,
            kind: Kind::Gauge,
            help,
            labels,
        }
    }

    pub const fn counter(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Family {
        Family {
            name,
            kind: Kind::Counter,
            help,
            labels,
        }
    }

    pub const fn info(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Family {
        Family {
            name,
            kind: Kind::Info,
            help,
            labels,
        }
    }

    pub const fn occurrence(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Family {
        Family {
            name,
            kind: Kind::Occurrence,
            help,
            labels,
        }
    }

    /// One series of this family: `values` in the order of `labels`.
    pub fn at(&self, values: &[&str], value: f64) -> Series {
        debug_assert_eq!(values.len(), self.labels.len(), "{}", self.name);
        Series {
            name: self.name.to_string(),
            kind: self.kind,
            help: self.help.to_string(),
            labels: self
                .labels
                .iter()
                .zip(values)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        }
    }
}

/// One exported value with its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub kind: Kind,
    pub help: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Series {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// How many series of one kind a source may export: the bounds of cardinality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per-partition series per source (the most lagging partitions first); per-group and
    /// per-topic totals are always exported.
    pub partitions: usize,
    /// Series per rule metric per source (the highest values first): a thousand sessions
    /// each running a query become the longest ones.
    pub subjects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            partitions: 100,
            subjects: 100,
        }
    }
}

/// The exported name of a rule metric: `kafka.group.lag_seconds` is
/// `opsdeck_kafka_group_lag_seconds`; a status code gets `_code` (the labelled gauge of the
/// same name says it in words) and a per-second rate `_per_second`.
pub fn metric_series_name(m: &Metric) -> String {
    let base = m.name.replace('.', "_");
    let base = match base.strip_suffix("_per_sec") {
        Some(b) => format!("{b}_per_second"),
        None => base,
    };
    match m.unit {
        Unit::LagStatus => format!("opsdeck_{base}_code"),
        _ => format!("opsdeck_{base}"),
    }
}

/// Series of one rule metric from its points: labels `source` and, for points about a
/// subject, `subject_label` (`group`, `node`, …); at most `limit`, the highest first.
pub fn metric_series(
    m: &Metric,
    points: Vec<Point>,
    source: &str,
    subject_label: &str,
    limit: usize,
) -> Vec<Series> {
    let mut points = points;
    if points.len() > limit {
        points.sort_by(|a, b| b.value.total_cmp(&a.value));
        points.truncate(limit);
    }
    let name = metric_series_name(m);
    points
        .into_iter()
        .map(|p| {
            let mut labels = vec![("source".to_string(), source.to_string())];
            if !p.subject.is_empty() {
                labels.push((subject_label.to_string(), p.subject));
            }
            Series {
                name: name.clone(),
                kind: Kind::Gauge,
                help: m.help.to_string(),
                labels,
                value: p.value,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions() {
        let m = |name, unit| Metric::new(name, unit, "");
        assert_eq!(
            metric_series_name(&m("kafka.group.lag_seconds", Unit::Seconds)),
            "opsdeck_kafka_group_lag_seconds"
        );
        assert_eq!(
            metric_series_name(&m("kafka.group.status", Unit::LagStatus)),
            "opsdeck_kafka_group_status_code"
        );
        assert_eq!(
            metric_series_name(&m("redis.evicted_per_sec", Unit::Rate)),
            "opsdeck_redis_evicted_per_second"
        );
    }

    #[test]
    fn subjects_are_bounded_keeping_the_worst() {
        let m = Metric::new("postgres.query_seconds", Unit::Seconds, "h");
        let points = (0..10)
            .map(|i| Point::new(format!("pid {i}"), "", i as f64, "", None))
            .collect();
        let s = metric_series(&m, points, "db", "subject", 3);
        let v: Vec<f64> = s.iter().map(|s| s.value).collect();
        assert_eq!(v, vec![9.0, 8.0, 7.0]);
        assert_eq!(s[0].label("subject"), Some("pid 9"));
        assert_eq!(s[0].label("source"), Some("db"));
    }
}
