//! The poll's batched part (`wire`): watermarks, last stable offsets, groups and the
//! abandonment probes on the batch's own connections, falling back to librdkafka's requests
//! where the batch cannot run; the sample says when the groups came from the fallback.

use super::{KafkaPoller, Probe, Raw, admin, led_partitions, per_group_offsets, probe_wants, wire};

impl KafkaPoller {
    /// Fills `raw`'s watermarks, stable offsets, groups and offsets (left empty by
    /// `collect_parts` when `batched`), `offsets_fallback` when the per-group requests read
    /// the groups, and with `probe_at` (unix seconds) the abandonment probes.
    pub(super) async fn read_batched(
        &mut self,
        raw: &mut Raw,
        batched: bool,
        probe_at: Option<f64>,
    ) -> Result<(), String> {
        self.batch_requests = None;
        let mut watermark_requests = 0;
        if let Some(Ok(batch)) = &mut self.batch {
            match batch
                .watermarks_and_stable(&raw.brokers, &leaders(raw))
                .await
            {
                Ok(read) => {
                    raw.watermarks = read.watermarks;
                    raw.stable = read.stable;
                    watermark_requests = read.requests;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "batched watermarks; using librdkafka's ListOffsets");
                    let parts = led_partitions(&raw.topics);
                    (raw.watermarks, raw.stable) = self
                        .blocking(move |a| a.watermarks_and_stable(&parts))
                        .await?;
                }
            }
        }
        raw.offsets_fallback = match &mut self.batch {
            Some(Ok(batch)) => match batch.fetch(&raw.brokers, &raw.group_names).await {
                Ok(read) => {
                    self.batch_requests = Some(read.requests + watermark_requests);
                    // A group the batch could not read carries its error here: the verdicts
                    // show its last state, stale.
                    raw.groups = read.groups;
                    raw.offsets = read.offsets;
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "batched group offsets; using per-group requests");
                    if matches!(e, wire::WireError::Unsupported(_)) {
                        // The brokers will not change under this client: stop trying.
                        self.batch = Some(Err(e.to_string()));
                    }
                    Some(e.to_string())
                }
            },
            Some(Err(why)) => Some(why.clone()),
            None => None,
        };
        if batched && raw.offsets_fallback.is_some() {
            let names = raw.group_names.clone();
            (raw.groups, raw.offsets) =
                self.blocking(move |a| per_group_offsets(a, &names)).await?;
        }
        if let Some(now) = probe_at {
            raw.probes = self.probes(raw, now).await?;
        }
        Ok(())
    }

    /// The abandonment probes (see `probe_idle_groups`) on the batch's connections; where
    /// those fail, through librdkafka. Failures only log.
    async fn probes(&mut self, raw: &Raw, now: f64) -> Result<Vec<Probe>, String> {
        let wants = probe_wants(&self.state.policy, now, raw);
        let lead: std::collections::HashMap<(&str, i32), i32> = raw
            .topics
            .iter()
            .flat_map(|(t, _, ps)| ps.iter().map(move |p| ((t.as_str(), p.0), p.1)))
            .collect();
        let mut out = Vec::new();
        for (probe, parts) in wants {
            let ts = (probe.before * 1000.0) as i64;
            let led: Vec<(String, i32, i32)> = parts
                .iter()
                .filter_map(|(t, p)| Some((t.clone(), *p, *lead.get(&(t.as_str(), *p))?)))
                .filter(|(_, _, l)| *l >= 0)
                .collect();
            let wired = match &mut self.batch {
                Some(Ok(batch)) => batch.offsets_at(&raw.brokers, &led, ts).await,
                _ => Err(wire::WireError::Unsupported("no batch".into())),
            };
            let offsets = match wired {
                Ok(o) => Ok(o),
                Err(e) => {
                    tracing::debug!(error = %e, "batched timestamp probe; using librdkafka's");
                    self.blocking(move |a| Ok(a.offsets_at(&parts, ts))).await?
                }
            };
            match offsets {
                Ok(offsets) => out.push(Probe { offsets, ..probe }),
                Err(e) => tracing::warn!(error = %e, "abandoned-group timestamp probe"),
            }
        }
        Ok(out)
    }

    /// Runs `f` on the librdkafka client off the runtime, keeping the client.
    async fn blocking<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&admin::Admin) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let a = self.admin.take().ok_or("Kafka client missing")?;
        let (a, r) = tokio::task::spawn_blocking(move || {
            let r = f(&a);
            (a, r)
        })
        .await
        .map_err(|e| e.to_string())?;
        self.admin = Some(a);
        r
    }
}

/// (topic, partition, leader) of every partition with a leader.
fn leaders(raw: &Raw) -> Vec<(String, i32, i32)> {
    raw.topics
        .iter()
        .flat_map(|(n, _, ps)| {
            ps.iter()
                .filter(|p| p.1 >= 0)
                .map(move |p| (n.clone(), p.0, p.1))
        })
        .collect()
}
