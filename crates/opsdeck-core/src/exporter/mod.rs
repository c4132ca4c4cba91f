//! `opsdeck exporter`: polls a context's sources on their schedules with the same tasks as
//! the console (`sources::spawn` and the runner), evaluates the alert rules the same way
//! (`alerts::Desk`, on every update) and serves the result to Prometheus: `/metrics` in the
//! OpenMetrics or Prometheus text format (written by `prometheus-client`), `/healthz`.
//! `rules` writes the rule set as a Prometheus rules file over these series.
//!
//! - `collect`: the sources' latest state and the series built from each sample;
//! - `encode`: series to text;
//! - `serve`: the HTTP server, its tasks and a clean stop;
//! - `rules`: the Prometheus rules file.
//!
//! No terminal code here: the console's crate only parses the command line.

pub mod collect;
pub mod encode;
pub mod rules;
pub mod serve;

pub use collect::State;
pub use serve::{Options, run};

use crate::series::{Family, metric_series_name};
use crate::sources::SourceKind;

/// The exporter's own families (the systems' are in their `SERIES` and `METRICS`).
pub mod families {
    use crate::series::Family;

    pub const BUILD: Family = Family::info(
        "opsdeck_build_info",
        "the exporter's version and the context it polls",
        &["version", "context"],
    );
    pub const SOURCE_UP: Family = Family::gauge(
        "opsdeck_source_up",
        "1 when the source's last poll succeeded, 0 while it fails or before its first answer",
        &["kind", "source"],
    );
    pub const POLL_DURATION: Family = Family::gauge(
        "opsdeck_source_poll_duration_seconds",
        "how long the source's last poll took (cut off at the poll timeout)",
        &["kind", "source"],
    );
    pub const LAST_SUCCESS: Family = Family::gauge(
        "opsdeck_source_last_success_timestamp_seconds",
        "Unix time of the source's last successful poll",
        &["kind", "source"],
    );
    pub const SOURCE_ERROR: Family = Family::info(
        "opsdeck_source_error_info",
        "the error of a source whose last poll failed (passwords redacted)",
        &["kind", "source", "error"],
    );
    pub const ALERT: Family = Family::gauge(
        "opsdeck_alert",
        "1 for every alert firing by opsdeck's rules (built-in and user), judged as the console judges",
        &["rule", "severity", "kind", "source", "subject"],
    );

    pub const ALL: &[Family] = &[
        BUILD,
        SOURCE_UP,
        POLL_DURATION,
        LAST_SUCCESS,
        SOURCE_ERROR,
        ALERT,
    ];
}

/// One documented family: what docs/metrics.md must list.
#[derive(Debug, Clone, PartialEq)]
pub struct Documented {
    pub name: String,
    pub help: String,
    pub labels: Vec<String>,
    /// The system that exports it (None: the exporter itself).
    pub kind: Option<SourceKind>,
}

fn documented(f: &Family, kind: Option<SourceKind>) -> Documented {
    Documented {
        name: f.name.to_string(),
        help: f.help.to_string(),
        labels: f.labels.iter().map(|l| l.to_string()).collect(),
        kind,
    }
}

/// Every family the exporter may serve: its own, then each system's rule metrics and
/// extra families.
pub fn catalogue() -> Vec<Documented> {
    let mut out: Vec<Documented> = families::ALL.iter().map(|f| documented(f, None)).collect();
    for &k in SourceKind::ALL {
        for m in k.metrics() {
            let mut labels = vec!["source".to_string()];
            let subject = k.subject_label(m.name);
            labels.push(format!("{subject} (when about one)"));
            out.push(Documented {
                name: metric_series_name(m),
                help: m.help.to_string(),
                labels,
                kind: Some(k),
            });
        }
        out.extend(k.series().iter().map(|f| documented(f, Some(k))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_conventional() {
        let all = catalogue();
        let mut names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a family name is used twice");
        for n in names {
            assert!(n.starts_with("opsdeck_"), "{n}");
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{n}"
            );
            for bad in ["_sec", "_ms", "_percent", "_per_sec"] {
                assert!(!n.ends_with(bad), "{n}: use base units");
            }
        }
    }

    #[test]
    fn counters_end_in_total_and_infos_in_info() {
        for d in catalogue() {
            let f = SourceKind::ALL
                .iter()
                .flat_map(|k| k.series().iter())
                .chain(families::ALL)
                .find(|f| f.name == d.name);
            if let Some(f) = f {
                use crate::series::Kind;
                match f.kind {
                    Kind::Counter | Kind::Occurrence => {
                        assert!(f.name.ends_with("_total"), "{}", f.name)
                    }
                    Kind::Info => assert!(f.name.ends_with("_info"), "{}", f.name),
                    Kind::Gauge => assert!(!f.name.ends_with("_total"), "{}", f.name),
                }
            }
        }
    }
}
