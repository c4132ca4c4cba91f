//! What the exporter knows: each source's latest update, the alert desk evaluated the way
//! the console evaluates it (on every update), and the series built once per sample so a
//! scrape only copies them out.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::families;
use crate::alerts::{Desk, RuleSet, SourceView};
use crate::secrets::{Secret, scrub};
use crate::series::{Kind, Limits, Series};
use crate::sources::{ContextSpec, Sample, SourceKind, SourceSpec, Status, Update};

/// One source as the exporter keeps it.
#[derive(Debug)]
pub struct Slot {
    pub kind: SourceKind,
    pub name: String,
    pub status: Status,
    /// The last sample, kept while the source fails (the alert rules read it, as in the
    /// console); its series are only served while the source answers.
    pub sample: Option<Sample>,
    pub series: Vec<Series>,
    pub took: Option<Duration>,
    pub last_ok: Option<DateTime<Utc>>,
}

/// Changes counted from `Kind::Occurrence` series: last value and count per series.
type Counts = BTreeMap<(String, Vec<(String, String)>), (f64, u64)>;

#[derive(Debug)]
pub struct State {
    pub context: String,
    pub slots: Vec<Slot>,
    pub rules: RuleSet,
    pub desk: Desk,
    pub limits: Limits,
    occurrences: Counts,
    /// Passwords known without running anything (inline, environment, file), scrubbed
    /// from every label and error as a second line of defence behind URL redaction.
    secrets: Vec<Secret>,
}

impl State {
    pub fn new(context: &str, ctx: &ContextSpec, rules: RuleSet, limits: Limits) -> State {
        let specs: Vec<SourceSpec> = crate::sources::plan(ctx);
        let secrets = specs
            .iter()
            .filter_map(|s| {
                let mut spec = s.secret();
                // A helper command may prompt or be slow; the poller runs it, not this.
                spec.password_command = None;
                spec.resolve().ok().flatten()
            })
            .collect();
        State {
            context: context.to_string(),
            slots: specs
                .iter()
                .map(|s| Slot {
                    kind: s.kind(),
                    name: s.name().to_string(),
                    status: Status::Connecting,
                    sample: None,
                    series: Vec::new(),
                    took: None,
                    last_ok: None,
                })
                .collect(),
            rules,
            desk: Desk::default(),
            limits,
            occurrences: Counts::new(),
            secrets,
        }
    }

    /// Takes in one update of source `index` and evaluates the rules at `now`.
    pub fn apply(&mut self, index: usize, update: Update, now: DateTime<Utc>) {
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        match update {
            Update::Took(d) => {
                slot.took = Some(d);
                return;
            }
            Update::Status(s) => slot.status = s,
            Update::Sample(sample) | Update::Modelled(sample, _) => {
                slot.series = sample.series(&slot.name, &self.limits);
                for s in &slot.series {
                    if s.kind == Kind::Occurrence {
                        count(&mut self.occurrences, s);
                    }
                }
                slot.sample = Some(sample);
                slot.status = Status::Ok;
                slot.last_ok = Some(now);
            }
        }
        let views: Vec<SourceView> = self
            .slots
            .iter()
            .map(|s| SourceView {
                kind: s.kind,
                name: &s.name,
                status: &s.status,
                sample: s.sample.as_ref(),
            })
            .collect();
        self.desk.evaluate(&self.rules, &views, now);
    }

    /// Every series to serve now, secrets scrubbed from labels.
    pub fn series(&self, now: DateTime<Utc>) -> Vec<Series> {
        let mut out = vec![families::BUILD.at(&[env!("CARGO_PKG_VERSION"), &self.context], 1.0)];
        for s in &self.slots {
            let kind = s.kind.label();
            let up = matches!(s.status, Status::Ok);
            out.push(families::SOURCE_UP.at(&[kind, &s.name], if up { 1.0 } else { 0.0 }));
            if let Some(d) = s.took {
                out.push(families::POLL_DURATION.at(&[kind, &s.name], d.as_secs_f64()));
            }
            if let Some(t) = s.last_ok {
                out.push(families::LAST_SUCCESS.at(&[kind, &s.name], t.timestamp() as f64));
            }
            if let Status::Error(e) = &s.status {
                out.push(families::SOURCE_ERROR.at(&[kind, &s.name, e], 1.0));
            }
            if up {
                out.extend(
                    s.series
                        .iter()
                        .filter(|x| x.kind != Kind::Occurrence)
                        .cloned(),
                );
            }
        }
        for ((name, labels), (_, n)) in &self.occurrences {
            let help = self
                .slots
                .iter()
                .flat_map(|s| s.kind.series())
                .find(|f| f.name == name)
                .map(|f| f.help)
                .unwrap_or_default();
            out.push(Series {
                name: name.clone(),
                kind: Kind::Counter,
                help: help.to_string(),
                labels: labels.clone(),
                value: *n as f64,
            });
        }
        for e in self.desk.loud(now) {
            out.push(families::ALERT.at(
                &[
                    &e.rule,
                    e.severity.name(),
                    e.kind.label(),
                    &e.source,
                    &e.subject,
                ],
                1.0,
            ));
        }
        let secrets: Vec<&Secret> = self.secrets.iter().collect();
        for s in &mut out {
            for (_, v) in &mut s.labels {
                if v.contains("://") || !secrets.is_empty() {
                    *v = scrub(v, &secrets);
                }
            }
        }
        out
    }
}

/// Counts a change of an occurrence's time; the first sight counts too, since the poller
/// only reports what it noticed while running.
fn count(counts: &mut Counts, s: &Series) {
    let key = (s.name.clone(), s.labels.clone());
    match counts.get_mut(&key) {
        Some((last, n)) if *last != s.value => {
            *last = s.value;
            *n += 1;
        }
        Some(_) => {}
        None => {
            counts.insert(key, (s.value, 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Family;

    #[test]
    fn occurrences_count_changes_not_scrapes() {
        let f = Family::occurrence("opsdeck_x_failovers_total", "h", &["source"]);
        let mut c = Counts::new();
        for v in [10.0, 10.0, 20.0, 20.0, 30.0] {
            count(&mut c, &f.at(&["r"], v));
        }
        assert_eq!(c.values().next().map(|(_, n)| *n), Some(3));
    }
}
