//! Series to the exposition formats, through `prometheus-client`: OpenMetrics when the
//! scraper asks for it (Prometheus does), the Prometheus text format otherwise.

use std::collections::BTreeMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::series::{Kind, Series};

pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The series of one scrape, grouped by family in name order.
#[derive(Debug)]
struct Snapshot(BTreeMap<String, Vec<Series>>);

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, series) in &self.0 {
            let Some(first) = series.first() else {
                continue;
            };
            // prometheus-client adds the `_total` and `_info` suffixes itself.
            let (base, ty) = match first.kind {
                Kind::Gauge => (name.as_str(), MetricType::Gauge),
                Kind::Counter | Kind::Occurrence => (
                    name.strip_suffix("_total").unwrap_or(name),
                    MetricType::Counter,
                ),
                Kind::Info => (name.strip_suffix("_info").unwrap_or(name), MetricType::Info),
            };
            let mut family = encoder.encode_descriptor(base, &first.help, None, ty)?;
            for s in series {
                match ty {
                    MetricType::Info => family.encode_info(&s.labels)?,
                    MetricType::Counter => family
                        .encode_family(&s.labels)?
                        .encode_counter::<NoLabelSet, f64, f64>(&s.value.max(0.0), None)?,
                    _ => family.encode_family(&s.labels)?.encode_gauge(&s.value)?,
                }
            }
        }
        Ok(())
    }
}

/// The text of one scrape and its content type.
pub fn encode(series: Vec<Series>, openmetrics: bool) -> Result<(String, &'static str), String> {
    let mut families: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for s in series {
        families.entry(s.name.clone()).or_default().push(s);
    }
    // Two series with the same labels would make the scrape invalid: the first one wins.
    for v in families.values_mut() {
        let mut seen = std::collections::HashSet::new();
        v.retain(|s| seen.insert(s.labels.clone()));
    }
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot(families)));
    let mut out = String::new();
    let written = if openmetrics {
        prometheus_client::encoding::text::encode(&mut out, &registry)
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
    };
    written.map_err(|_| "encoding the metrics failed".to_string())?;
    Ok((
        out,
        if openmetrics {
            OPENMETRICS
        } else {
            PROMETHEUS_TEXT
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Family;

    #[test]
    fn kinds_get_their_suffixes_once() {
        let series = vec![
            Family::gauge("opsdeck_a_ratio", "a", &["source"]).at(&["x"], 0.5),
            Family::counter("opsdeck_b_total", "b", &["source"]).at(&["x"], 3.0),
            Family::info("opsdeck_c_info", "c", &["source", "error"]).at(&["x", "boom \"q\""], 1.0),
        ];
        let (text, ty) = encode(series.clone(), true).expect("encodes");
        assert_eq!(ty, OPENMETRICS);
        assert!(
            text.contains("opsdeck_a_ratio{source=\"x\"} 0.5\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE opsdeck_b counter\n"), "{text}");
        assert!(text.contains("opsdeck_b_total{source=\"x\"} 3"), "{text}");
        assert!(
            text.contains("opsdeck_c_info{source=\"x\",error=\"boom \\\"q\\\"\"} 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        let (text, ty) = encode(series, false).expect("encodes");
        assert_eq!(ty, PROMETHEUS_TEXT);
        assert!(text.contains("opsdeck_b_total{source=\"x\"} 3"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
    }
}
