//! The poller's part of the balance: the reassignments when due
//! (`State::reassignments_due`), the log directories on the slow schedule (every poll while
//! a reassignment runs, for its progress), then the plan file and the log-dir forecasts once
//! the sample is built.

use std::collections::HashMap;

use super::super::{KafkaPoller, KafkaSample, Raw};
use super::LogDirsRead;
use super::plan::reassignment_json;

/// What the balance reads may add to a poll.
const BALANCE_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

impl KafkaPoller {
    /// Fills `raw`'s reassignments, and its log dirs when `slow` (or something reassigns or
    /// none were read yet); says why when the wire path cannot run.
    pub(in crate::sources::kafka) async fn read_balance(&mut self, raw: &mut Raw, slow: bool) {
        // A hung broker must not cost the poll its lag figures: the balance gets a budget of
        // its own, and what it did not read is said, not waited for.
        let dirs_due = slow || !self.state.has_log_dirs();
        let listing_due = self.state.reassignments_due(&raw.topics, slow);
        let read = self.read_balance_inner(raw, dirs_due, listing_due);
        match tokio::time::timeout(BALANCE_BUDGET, read).await {
            Ok(()) => {}
            Err(_) => {
                // Only a listing that was asked for and did not come is an error; a hung
                // log-dir read keeps the last listing.
                if listing_due && raw.reassignments.is_none() {
                    raw.reassignments = Some(Err(format!("no answer within {BALANCE_BUDGET:?}")));
                }
                tracing::warn!("partition balance: no answer within {BALANCE_BUDGET:?}");
            }
        }
    }

    async fn read_balance_inner(&mut self, raw: &mut Raw, dirs_due: bool, listing_due: bool) {
        let batch = match &mut self.batch {
            Some(Ok(b)) => b,
            Some(Err(why)) => {
                raw.balance_unavailable = Some(why.clone());
                return;
            }
            None => {
                raw.balance_unavailable = Some("librdkafka-only mode".into());
                return;
            }
        };
        batch.use_brokers(&raw.brokers);
        let mut ids: Vec<i32> = raw.brokers.iter().map(|b| b.0).collect();
        ids.sort();
        // Any broker forwards these to the active controller; the metadata's controller first.
        let node = raw
            .cluster
            .as_ref()
            .and_then(|c| c.controller)
            .filter(|c| ids.contains(c))
            .or_else(|| ids.first().copied());
        let Some(node) = node else {
            return;
        };
        // A steady poll skips the listing (`State::reassignments_due`): the last one stands.
        let mut reassigning = false;
        if listing_due {
            let ongoing = batch.reassignments(node).await.map_err(|e| e.to_string());
            reassigning = ongoing.as_ref().is_ok_and(|l| !l.is_empty());
            raw.reassignments = Some(ongoing);
        }
        if dirs_due || reassigning {
            let mut dirs: LogDirsRead = HashMap::new();
            for id in ids {
                let r = batch.log_dirs(id).await.map_err(|e| e.to_string());
                dirs.insert(id, r);
            }
            raw.log_dirs = Some(dirs);
        }
    }

    /// The throttle, the plan file (written when the plan changed) and, with `fresh_dirs`,
    /// the log-dir forecasts.
    pub(in crate::sources::kafka) async fn finish_balance(
        &mut self,
        sample: &mut KafkaSample,
        fresh_dirs: bool,
    ) {
        sample.balance.throttle_bytes_per_sec = self.spec.throttle();
        if let Some(plan) = &sample.balance.plan {
            let file = self
                .data_dir
                .join(format!("rebalance-{}.json", file_name(&self.spec.name)));
            let json = reassignment_json(&plan.partitions);
            if self.plan_written.as_deref() != Some(json.as_str()) {
                match super::reassign::write_plan(&file.display().to_string(), &plan.partitions) {
                    Ok(()) => self.plan_written = Some(json),
                    Err(e) => {
                        tracing::warn!(error = %e, "rebalance plan file");
                        sample.notes.push(e);
                    }
                }
            }
            if self.plan_written.is_some() {
                sample.balance.plan_file = Some(file.display().to_string());
            }
        }
        if fresh_dirs {
            let figures = sample.balance.figures();
            let t = crate::capacity::now_secs();
            let name = self.spec.name.clone();
            let notes = self
                .backfill
                .run(&self.capacity, &mut self.tracker, &figures, &name, t)
                .await;
            sample.notes.extend(notes);
            self.forecasts = self.tracker.observe(t, &figures);
        }
        sample.capacity = self.forecasts.clone();
    }
}

/// A source name as a file name: anything but letters, digits, '-' and '_' becomes '_'.
fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::super::{Raw, State};
    use crate::sources::kafka::wire::Ongoing;

    fn topics(isr: Vec<i32>) -> Vec<(String, bool, Vec<crate::sources::kafka::RawPartition>)> {
        vec![("t".into(), false, vec![(0, 1, vec![1, 2, 3], isr)])]
    }

    #[test]
    fn the_reassignments_are_listed_when_one_may_run_and_on_the_slow_schedule() {
        let mut st = State::default();
        let in_sync = topics(vec![1, 2, 3]);
        assert!(st.reassignments_due(&in_sync, false), "never listed yet");
        let listed = |st: &mut State, r: Result<Vec<Ongoing>, String>| {
            st.ingest(
                Raw {
                    reassignments: Some(r),
                    ..Default::default()
                },
                0.0,
                false,
            );
        };
        listed(&mut st, Ok(vec![]));
        assert!(!st.reassignments_due(&in_sync, false), "none, all in sync");
        assert!(st.reassignments_due(&in_sync, true), "the slow schedule");
        assert!(
            st.reassignments_due(&topics(vec![1, 2]), false),
            "a replica out of sync (a reassignment adding one looks so)"
        );
        listed(&mut st, Ok(vec![Ongoing::default()]));
        assert!(
            st.reassignments_due(&in_sync, false),
            "one runs: until it ends"
        );
        listed(&mut st, Err("no answer".into()));
        assert!(
            st.reassignments_due(&in_sync, false),
            "until a listing answers"
        );
        listed(&mut st, Ok(vec![]));
        // A poll that did not list them keeps the last listing.
        st.ingest(Raw::default(), 2.0, false);
        assert!(!st.reassignments_due(&in_sync, false));
        st.acted = true;
        assert!(st.reassignments_due(&in_sync, false), "after an action");
        st.ingest(Raw::default(), 4.0, false);
        assert!(
            st.reassignments_due(&in_sync, false),
            "until listed after it"
        );
        listed(&mut st, Ok(vec![]));
        assert!(!st.reassignments_due(&in_sync, false));
    }
}
