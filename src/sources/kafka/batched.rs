//! The poll's batched part (`wire`): watermarks and groups on the batch's own connections,
//! falling back to librdkafka's requests where the batch cannot run; the sample says when
//! the groups came from the fallback.

use super::{KafkaPoller, Raw, led_partitions, per_group_offsets, wire};

impl KafkaPoller {
    /// Fills `raw`'s watermarks, groups and offsets (left empty by `collect_with` when
    /// `batched`), and `offsets_fallback` when the per-group requests read the groups.
    pub(super) async fn read_batched(
        &mut self,
        raw: &mut Raw,
        batched: bool,
    ) -> Result<(), String> {
        self.batch_requests = None;
        let mut watermark_requests = 0;
        if let Some(Ok(batch)) = &mut self.batch {
            let parts: Vec<(String, i32, i32)> = raw
                .topics
                .iter()
                .flat_map(|(n, _, ps)| {
                    ps.iter()
                        .filter(|p| p.1 >= 0)
                        .map(move |p| (n.clone(), p.0, p.1))
                })
                .collect();
            match batch.watermarks(&raw.brokers, &parts).await {
                Ok((w, n)) => {
                    raw.watermarks = w;
                    watermark_requests = n;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "batched watermarks; using librdkafka's ListOffsets");
                    let admin = self.admin.take().ok_or("Kafka client missing")?;
                    let parts = led_partitions(&raw.topics);
                    let (admin, w) = tokio::task::spawn_blocking(move || {
                        let w = admin.watermarks(&parts);
                        (admin, w)
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                    self.admin = Some(admin);
                    raw.watermarks = w?;
                }
            }
        }
        raw.offsets_fallback = match &mut self.batch {
            Some(Ok(batch)) => match batch.fetch(&raw.brokers, &raw.group_names).await {
                Ok(read) => {
                    self.batch_requests = Some(read.requests + watermark_requests);
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
            let admin = self.admin.take().ok_or("Kafka client missing")?;
            let names = std::mem::take(&mut raw.group_names);
            let (admin, read) = tokio::task::spawn_blocking(move || {
                let r = per_group_offsets(&admin, &names);
                (admin, r)
            })
            .await
            .map_err(|e| e.to_string())?;
            self.admin = Some(admin);
            (raw.groups, raw.offsets) = read?;
        }
        Ok(())
    }
}
