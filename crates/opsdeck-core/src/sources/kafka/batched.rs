//! The poll's batched part (`wire`): watermarks, last stable offsets, groups and the
//! abandonment probes on the batch's own connections, falling back to librdkafka's requests
//! where the batch cannot run; the sample says when the groups came from the fallback.

use super::{
    KafkaPoller, Policy, Probe, Raw, TOPIC_CONFIG_KEYS, admin, led_partitions, per_group_offsets,
    probe_wants, wire,
};

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

    /// Runs `f` on the librdkafka client off the runtime, building the client the first
    /// time and keeping it.
    pub(super) async fn blocking<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&admin::Admin) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let kept = self.admin.take();
        let cfg = match &kept {
            Some(_) => None,
            None => Some(self.cfg.clone().ok_or("Kafka client settings missing")?),
        };
        let timeout = self.timeout;
        let (a, r) = tokio::task::spawn_blocking(move || {
            let a = match (kept, cfg) {
                (Some(a), _) => a,
                (None, Some(cfg)) => admin::Admin::new(&cfg, timeout)?,
                (None, None) => return Err("Kafka client missing".to_string()),
            };
            let r = f(&a);
            Ok((a, r))
        })
        .await
        .map_err(|e| e.to_string())??;
        self.admin = Some(a);
        r
    }

    /// The cluster's topology, the group listing and, `with_configs`, the topics' configs
    /// on the batch's connections (the rest of the answer is read by `read_batched`). None
    /// when the batch cannot run: librdkafka reads them.
    pub(super) async fn read_cluster(
        &mut self,
        with_configs: bool,
        policy: &Policy,
    ) -> Option<Result<Raw, String>> {
        let Some(Ok(batch)) = &mut self.batch else {
            return None;
        };
        let started = std::time::Instant::now();
        let top = match batch.metadata(&wire::bootstrap(&self.spec.brokers)).await {
            Ok(top) => top,
            Err(e @ wire::WireError::Unsupported(_)) => {
                tracing::debug!(error = %e, "batched metadata; using librdkafka's");
                return None;
            }
            Err(e) => return Some(Err(e.to_string())),
        };
        let (mut names, listing_errors) = batch.list_groups().await;
        names.retain(|n| policy.judged(n));
        let configs = if with_configs {
            let topics: Vec<String> = top.topics.iter().map(|t| t.0.clone()).collect();
            batch
                .topic_configs(&topics, TOPIC_CONFIG_KEYS)
                .await
                .map_err(|e| tracing::warn!(error = %e, "topic configs"))
                .ok()
        } else {
            None
        };
        Some(Ok(Raw {
            cluster: Some(top.cluster),
            topics: top.topics,
            brokers: top.brokers,
            group_names: names,
            listing_errors,
            configs,
            elapsed: started.elapsed(),
            ..Default::default()
        }))
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
