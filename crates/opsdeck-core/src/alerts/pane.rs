//! The Alerts pane as plain data: the inbox (firing by severity then age, pending, pulled
//! from Alertmanager, resolved in the last hour greyed below), the selected alert's detail
//! in the summary, and the rules in force.

use chrono::{DateTime, FixedOffset, Local, Utc};

use super::alertmanager::External;
use super::engine::Entry;
use super::user::Unit;
use super::{Desk, RuleSet, Severity, user};
use crate::views::{Cell, Column, Level, PaneModel, Row, Summary, Table, fmt};

/// Resolved alerts stay listed this long.
pub const RESOLVED_WINDOW_SECS: i64 = 3600;

/// What the pane needs of the navigation state.
pub struct Selection<'a> {
    pub key: Option<&'a str>,
    pub index: usize,
    pub filter: &'a str,
    pub table: usize,
}

fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    fmt::secs((now - since).num_milliseconds().max(0) as f64 / 1000.0)
}

fn hhmm(t: DateTime<Utc>) -> String {
    hhmm_in(t, Local::now().offset())
}

/// `hhmm` at a fixed offset: converting to `Local` looks the zone up each time, which for
/// hundreds of resolved rows was most of the pane's cost.
fn hhmm_in(t: DateTime<Utc>, tz: &FixedOffset) -> String {
    t.with_timezone(tz).format("%H:%M").to_string()
}

enum Item<'a> {
    Own(&'a Entry),
    External(&'a External),
}

impl Item<'_> {
    fn severity(&self) -> Severity {
        match self {
            Item::Own(e) => e.alert.severity,
            Item::External(x) => x.severity,
        }
    }
    fn since(&self) -> DateTime<Utc> {
        match self {
            Item::Own(e) => e.since,
            Item::External(x) => x.starts_at,
        }
    }
    fn key(&self) -> String {
        match self {
            Item::Own(e) => e.alert.key(),
            Item::External(x) => x.key(),
        }
    }
}

pub fn model(desk: &Desk, rules: &RuleSet, sel: &Selection, now: DateTime<Utc>) -> PaneModel {
    with_rules(desk, rules, sel, now, rules_table(rules))
}

/// The title of the Rules tab, whose table `with_rules` takes ready-made.
pub const RULES: &str = "Rules";

/// The pane's model with a Rules table built earlier: the rules do not change while the
/// console runs, the inbox changes with every poll.
pub fn with_rules(
    desk: &Desk,
    rules: &RuleSet,
    sel: &Selection,
    now: DateTime<Utc>,
    rules_table: Table,
) -> PaneModel {
    // Each item's key formatted once, for the sort, the silence look-ups and its row.
    let mut keyed: Vec<(Item, String)> = desk
        .engine
        .firing()
        .into_iter()
        .map(Item::Own)
        .chain(desk.external.iter().map(Item::External))
        .map(|i| {
            let k = i.key();
            (i, k)
        })
        .collect();
    keyed.sort_by(|(a, ka), (b, kb)| {
        (std::cmp::Reverse(a.severity()), a.since(), ka).cmp(&(
            std::cmp::Reverse(b.severity()),
            b.since(),
            kb,
        ))
    });
    let silenced = |k: &str| desk.inbox.silenced_until(k, now);
    // Compact: the ack's note and the silence's end are in the detail above the table.
    let state_of = |k: &str| -> (String, Level) {
        let mut parts = Vec::new();
        if desk.inbox.acked(k).is_some() {
            parts.push("acked".to_string());
        }
        if let Some(u) = silenced(k) {
            parts.push(format!("muted {}", age(now, u)));
        }
        (parts.join(" "), Level::Muted)
    };
    let mut rows = Vec::new();
    let mut level = Level::Ok;
    let mut tile = Vec::new();
    let mut items: Vec<&Item> = Vec::with_capacity(keyed.len());
    let mut loud: Vec<&Item> = Vec::with_capacity(keyed.len());
    for (i, key) in &keyed {
        let quiet = silenced(key).is_some();
        items.push(i);
        if !quiet {
            loud.push(i);
            level = level.max(i.severity().level());
        }
        let key = key.clone();
        let sev_level = if quiet {
            Level::Muted
        } else {
            i.severity().level()
        };
        let (mut state, _) = state_of(&key);
        let (rule, source, summary) = match i {
            Item::Own(e) => {
                // As last seen: its source does not answer, or its subject is not reported.
                if let Some(t) = e.stale_since {
                    state = format!("stale {} {state}", age(t, now))
                        .trim_end()
                        .to_string();
                }
                (
                    e.alert.rule.clone(),
                    format!("{} {}", e.alert.kind.label(), e.alert.source),
                    e.alert.summary.clone(),
                )
            }
            Item::External(x) => {
                state = format!("ext {state}").trim_end().to_string();
                (x.name.clone(), "alertmanager".into(), x.summary.clone())
            }
        };
        rows.push(Row::new(
            key,
            vec![
                Cell::level(i.severity().label(), sev_level),
                Cell::new(age(i.since(), now)),
                Cell::new(rule),
                Cell::new(source),
                Cell::level(state, Level::Muted),
                Cell::level(summary, if quiet { Level::Muted } else { Level::Normal }),
            ],
        ));
    }
    let pending: Vec<&Entry> = desk.engine.pending().collect();
    for e in &pending {
        let rule = rules.rules.iter().find(|r| r.name == e.alert.rule);
        let for_ = rule.map(|r| fmt::duration(r.for_)).unwrap_or_default();
        rows.push(Row::new(
            e.alert.key(),
            vec![
                Cell::level(e.alert.severity.label(), Level::Muted),
                Cell::level(age(e.since, now), Level::Muted),
                Cell::level(e.alert.rule.clone(), Level::Muted),
                Cell::level(
                    format!("{} {}", e.alert.kind.label(), e.alert.source),
                    Level::Muted,
                ),
                Cell::level(format!("pending ({for_})"), Level::Info),
                Cell::level(e.alert.summary.clone(), Level::Muted),
            ],
        ));
    }
    let resolved = desk
        .inbox
        .recently_resolved(now, chrono::Duration::seconds(RESOLVED_WINDOW_SECS));
    let tz = *Local::now().offset();
    for h in &resolved {
        let at = h.resolved_at.unwrap_or(now);
        rows.push(Row::new(
            format!("resolved/{}/{}", h.key, at.timestamp()),
            vec![
                Cell::level(h.severity.label(), Level::Muted),
                Cell::level(age(h.since, at), Level::Muted),
                Cell::level(h.rule.clone(), Level::Muted),
                Cell::level(
                    h.key
                        .split('/')
                        .skip(1)
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" "),
                    Level::Muted,
                ),
                Cell::level(format!("resolved {}", hhmm_in(at, &tz)), Level::Muted),
                Cell::level(h.summary.clone(), Level::Muted),
            ],
        ));
    }

    // Tile: counts, then the loudest few.
    let crit = loud
        .iter()
        .filter(|i| i.severity() == Severity::Critical)
        .count();
    if items.is_empty() {
        tile.push(Summary::line("nothing firing", Level::Ok));
    } else {
        tile.push(Summary::line(
            format!(
                "{} firing ({crit} critical){}",
                items.len(),
                if items.len() > loud.len() {
                    format!(", {} silenced", items.len() - loud.len())
                } else {
                    String::new()
                }
            ),
            level,
        ));
    }
    // All of them: the tile shows what fits and says how many more there are.
    for i in &loud {
        let summary = match i {
            Item::Own(e) => e.alert.summary.clone(),
            Item::External(x) => format!("[am] {}", x.summary),
        };
        tile.push(Summary::text(vec![
            Cell::level(format!("{} ", i.severity().label()), i.severity().level()),
            Cell::new(summary),
        ]));
    }
    if !pending.is_empty() || !resolved.is_empty() {
        tile.push(Summary::line(
            format!(
                "{} pending, {} resolved in the last hour",
                pending.len(),
                resolved.len()
            ),
            Level::Muted,
        ));
    }

    // Summary: the selected alert's detail.
    let mut summary = Vec::new();
    if let Some(e) = &desk.alertmanager_error {
        summary.push(Summary::line(e.clone(), Level::Warn));
    }
    let visible: Vec<&Row> = rows
        .iter()
        .filter(|r| sel.filter.is_empty() || r.matches(sel.filter))
        .collect();
    let selected = sel
        .key
        .and_then(|k| visible.iter().find(|r| r.key == k))
        .or_else(|| visible.get(sel.index.min(visible.len().saturating_sub(1))))
        .map(|r| r.key.clone());
    if sel.table == 0
        && let Some(key) = selected
    {
        summary.extend(detail(desk, rules, &key, now));
    }

    let inbox = Table {
        title: "Inbox".into(),
        columns: vec![
            Column::left("SEV", 4),
            Column::right("AGE", 6),
            Column::left("RULE", 18),
            Column::left("SOURCE", 14),
            Column::left("STATE", 16),
            Column::left("SUMMARY", 30),
        ],
        rows,
        empty: "nothing firing".into(),
    };
    PaneModel {
        tile,
        summary,
        tables: vec![inbox, rules_table],
        level,
    }
}

/// The Rules tab: every rule, as configured.
pub fn rules_table(rules: &RuleSet) -> Table {
    Table {
        title: RULES.into(),
        columns: vec![
            Column::left("RULE", 26),
            Column::left("METRIC", 34),
            Column::left("WHEN", 14),
            Column::right("FOR", 6),
            Column::left("SEV", 5),
            Column::left("ON", 4),
        ],
        rows: rules
            .rules
            .iter()
            .map(|r| {
                let unit = r.unit();
                Row::new(
                    r.name.clone(),
                    vec![
                        Cell::new(r.name.clone()),
                        Cell::new(match &r.source {
                            Some(s) => format!("{} [{s}]", r.metric),
                            None => r.metric.to_string(),
                        }),
                        Cell::new(format!("{} {}", r.cmp.symbol(), unit.format(r.threshold))),
                        Cell::new(fmt::duration(r.for_)),
                        Cell::level(r.severity.label(), r.severity.level()),
                        Cell::level(
                            if r.enabled { "on" } else { "off" },
                            if r.enabled { Level::Ok } else { Level::Muted },
                        ),
                    ],
                )
            })
            .collect(),
        empty: "no rules".into(),
    }
}

/// The detail lines of one inbox row: value, threshold, since, sparkline, runbook, ack.
fn detail(desk: &Desk, rules: &RuleSet, key: &str, now: DateTime<Utc>) -> Vec<Summary> {
    let mut out = Vec::new();
    let ack_lines = |out: &mut Vec<Summary>| {
        if let Some(a) = desk.inbox.acked(key) {
            out.push(Summary::line(
                format!(
                    "acked at {}{}",
                    hhmm(a.at),
                    a.note
                        .as_ref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                ),
                Level::Info,
            ));
        }
        if let Some(u) = desk.inbox.silenced_until(key, now) {
            out.push(Summary::line(
                format!("silenced until {} ({} left)", hhmm(u), age(now, u)),
                Level::Info,
            ));
        }
    };
    if let Some(e) = desk.engine.entries.get(key) {
        let a = &e.alert;
        let unit = user::metric(&a.metric)
            .map(|(_, m)| m.unit)
            .unwrap_or(Unit::Count);
        let cmp = rules
            .rules
            .iter()
            .find(|r| r.name == a.rule)
            .map(|r| r.cmp.symbol())
            .unwrap_or("");
        out.push(Summary::text(vec![
            Cell::level(format!("{} ", a.severity.label()), a.severity.level()),
            Cell::new(a.summary.clone()),
        ]));
        let value = if unit == Unit::Flag {
            String::new()
        } else {
            format!(
                "value {}   threshold {cmp} {}   ",
                unit.format(a.value),
                unit.format(a.threshold)
            )
        };
        out.push(Summary::line(
            format!(
                "{value}since {} ({})   {}",
                hhmm(e.since),
                age(e.since, now),
                if a.jump.is_some() {
                    "Enter: go to the cause"
                } else {
                    ""
                }
            ),
            Level::Normal,
        ));
        let max = e.values.iter().cloned().fold(0.0f64, f64::max);
        let scale = if max > 0.0 { 1000.0 / max } else { 0.0 };
        out.push(Summary::Spark {
            label: a.metric.clone(),
            data: e
                .values
                .iter()
                .map(|v| (v.max(0.0) * scale) as u64)
                .collect(),
            text: unit.format(a.value),
        });
        if let Some(r) = &a.runbook {
            out.push(Summary::line(format!("runbook: {r}"), Level::Info));
        }
        ack_lines(&mut out);
    } else if let Some(x) = desk.external.iter().find(|x| x.key() == key) {
        out.push(Summary::text(vec![
            Cell::level(format!("{} ", x.severity.label()), x.severity.level()),
            Cell::new(format!("{} (from Alertmanager)", x.summary)),
        ]));
        out.push(Summary::line(
            format!(
                "since {} ({})   {}",
                hhmm(x.starts_at),
                age(x.starts_at, now),
                x.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Level::Normal,
        ));
        if let Some(r) = &x.runbook {
            out.push(Summary::line(format!("runbook: {r}"), Level::Info));
        }
        ack_lines(&mut out);
    } else if let Some(h) = desk
        .inbox
        .history
        .iter()
        .rev()
        .find(|h| key.starts_with(&format!("resolved/{}/", h.key)))
    {
        out.push(Summary::line(
            format!(
                "resolved: {}   fired {}, resolved {}",
                h.summary,
                hhmm(h.since),
                h.resolved_at.map(hhmm).unwrap_or_default()
            ),
            Level::Muted,
        ));
    }
    out
}
