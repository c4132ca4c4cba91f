//! History from Prometheus: one range query per figure (`/api/v1/query_range`, a point a
//! minute over the window), so a forecast needs no wait. Optional: without `[capacity]
//! prometheus` forecasts come from the console's own polls only.

use std::time::Duration;

use super::{CapacitySpec, Figure, Tracker};

/// How long one range query may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// A subject is asked again this long after its last backfill (new points, or a server that
/// came back).
const AGAIN_SECS: f64 = 600.0;

/// The query of a figure with its placeholders filled, if one is configured.
pub fn query_for(spec: &CapacitySpec, f: &Figure, source: &str, hostname: &str) -> Option<String> {
    let q = spec.queries.get(f.kind)?;
    Some(
        q.replace("{subject}", &f.subject)
            .replace("{source}", source)
            .replace("{hostname}", hostname),
    )
}

/// The points of a range query's one series, oldest first.
pub fn parse_range(body: &serde_json::Value) -> Result<Vec<(f64, f64)>, String> {
    if body["status"] != "success" {
        return Err(format!(
            "prometheus said {}: {}",
            body["errorType"].as_str().unwrap_or("error"),
            body["error"].as_str().unwrap_or("no reason given")
        ));
    }
    let result = body["data"]["result"]
        .as_array()
        .ok_or("prometheus: no data.result in the answer")?;
    match result.len() {
        0 => return Ok(Vec::new()),
        1 => {}
        n => {
            return Err(format!(
                "the query matched {n} series: narrow it to one with labels"
            ));
        }
    }
    let values = result[0]["values"]
        .as_array()
        .ok_or("prometheus: the series has no values")?;
    Ok(values
        .iter()
        .filter_map(|p| {
            let t = p.get(0)?.as_f64()?;
            let v: f64 = p.get(1)?.as_str()?.parse().ok()?;
            v.is_finite().then_some((t, v))
        })
        .collect())
}

/// One range query from `start` to `end` (Unix seconds), a point a minute.
pub async fn range(
    client: &reqwest::Client,
    base: &str,
    query: &str,
    start: f64,
    end: f64,
) -> Result<Vec<(f64, f64)>, String> {
    let url = format!("{}/api/v1/query_range", base.trim_end_matches('/'));
    let resp = client
        .get(&url)
        .query(&[
            ("query", query.to_string()),
            ("start", format!("{start:.3}")),
            ("end", format!("{end:.3}")),
            ("step", "60".to_string()),
        ])
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("prometheus {base}: {e}"))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("prometheus {base}: HTTP {status}: {e}"))?;
    let body: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("prometheus {base}: HTTP {status}, not JSON: {e}"))?;
    parse_range(&body)
}

/// Backfills a poller's tracker from Prometheus: each figure whose kind has a query, once
/// when first seen and then every ten minutes. Trouble is returned as notes for the pane,
/// never as a failed poll.
#[derive(Debug, Default)]
pub struct Backfill {
    client: Option<reqwest::Client>,
    asked: std::collections::BTreeMap<(&'static str, String), f64>,
}

impl Backfill {
    pub async fn run(
        &mut self,
        spec: &CapacitySpec,
        tracker: &mut Tracker,
        figures: &[Figure],
        source: &str,
        now: f64,
    ) -> Vec<String> {
        let Some(base) = spec.prometheus.as_deref() else {
            return Vec::new();
        };
        let hostname = sysinfo::System::host_name().unwrap_or_default();
        let mut notes = Vec::new();
        for f in figures {
            let Some(q) = query_for(spec, f, source, &hostname) else {
                continue;
            };
            let id = (f.kind, f.subject.clone());
            if self.asked.get(&id).is_some_and(|t| now - t < AGAIN_SECS) {
                continue;
            }
            self.asked.insert(id, now);
            if self.client.is_none() {
                match reqwest::Client::builder().timeout(TIMEOUT).build() {
                    Ok(c) => self.client = Some(c),
                    Err(e) => {
                        notes.push(format!("capacity: no HTTP client for prometheus: {e}"));
                        return notes;
                    }
                }
            }
            let Some(client) = &self.client else {
                return notes;
            };
            match range(client, base, &q, now - tracker.window(), now).await {
                Ok(points) if points.is_empty() => notes.push(format!(
                    "capacity: prometheus has no data for {} ({q})",
                    f.what
                )),
                Ok(points) => tracker.backfill(f.kind, &f.subject, &points),
                Err(e) => notes.push(format!("capacity: {} from prometheus: {e}", f.what)),
            }
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_answers_parse_to_one_series_or_say_why_not() {
        let ok = serde_json::json!({"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"mountpoint":"/"},"values":[[1700000000,"10"],[1700000060.5,"12.5"]]}]}});
        assert_eq!(
            parse_range(&ok).unwrap(),
            vec![(1_700_000_000.0, 10.0), (1_700_000_060.5, 12.5)]
        );
        let two =
            serde_json::json!({"status":"success","data":{"result":[{"values":[]},{"values":[]}]}});
        assert!(parse_range(&two).unwrap_err().contains("matched 2 series"));
        let bad =
            serde_json::json!({"status":"error","errorType":"bad_data","error":"parse error"});
        assert_eq!(
            parse_range(&bad).unwrap_err(),
            "prometheus said bad_data: parse error"
        );
    }

    #[test]
    fn queries_fill_their_placeholders() {
        let mut spec = CapacitySpec::default();
        spec.queries.insert(
            "host.disk".into(),
            "node_filesystem_avail_bytes{instance=\"{hostname}\",mountpoint=\"{subject}\"}".into(),
        );
        let f = Figure {
            kind: "host.disk",
            subject: "/data".into(),
            what: "disk /data".into(),
            used: 1.0,
            limit: None,
            unit: crate::metrics::Unit::Bytes,
            table: "Disks",
            key: "/data".into(),
        };
        assert_eq!(
            query_for(&spec, &f, "host", "db1").unwrap(),
            "node_filesystem_avail_bytes{instance=\"db1\",mountpoint=\"/data\"}"
        );
    }
}
