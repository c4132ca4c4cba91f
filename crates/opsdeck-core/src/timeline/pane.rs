//! The Timeline pane as plain data: the events of the context, newest first, in three tabs
//! by severity (all, warnings and worse, critical), optionally of one source; the selected
//! event in full above the table; and the overview's strip of the last events.

use chrono::{DateTime, Duration, Local, Utc};

use super::{Severity, Timeline, TimelineEvent};
use crate::views::{Cell, Column, Level, PaneModel, Row, Summary, Table};

/// Rows a tab lists (the newest); older events stay in the file and in notes.
pub const MAX_ROWS: usize = 2000;
/// Lines of the overview's strip the model offers.
pub const STRIP_LINES: usize = 12;

/// The tabs and the least severity each shows.
pub const TABS: [(&str, Severity); 3] = [
    ("All", Severity::Ok),
    ("Warning+", Severity::Warning),
    ("Critical", Severity::Critical),
];

/// What the pane shows: the context, one source or all, the selected row's key.
pub struct Selection<'a> {
    pub context: &'a str,
    /// (system label, source name); None: every source.
    pub source: Option<(&'a str, &'a str)>,
    pub selected: Option<&'a str>,
}

/// A row's key: stable while the event exists. The text's hash tells apart events of one
/// subject in the same millisecond (a rule pending and another firing for one group).
pub fn key(e: &TimelineEvent) -> String {
    format!(
        "{}/{}/{}/{}/{}/{:016x}",
        e.at.timestamp_millis(),
        e.system,
        e.source,
        e.what,
        e.subject,
        fnv1a(&e.text)
    )
}

/// FNV-1a: the same on every build (std's hasher may change between releases).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Timeline {
    /// The event a row key names.
    pub fn find(&self, key: &str) -> Option<&TimelineEvent> {
        let ms: i64 = key.split('/').next()?.parse().ok()?;
        let at = DateTime::<Utc>::from_timestamp_millis(ms)?;
        // Times are finer than the key's milliseconds.
        let from = self.events.partition_point(|e| e.at < at);
        self.events[from..]
            .iter()
            .take_while(|e| e.at.timestamp_millis() == ms)
            .find(|e| self::key(e) == key)
    }
}

/// "03:12:05" today, "11-24 23:10" on another day (local time).
pub fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (l, n) = (at.with_timezone(&Local), now.with_timezone(&Local));
    if l.date_naive() == n.date_naive() {
        l.format("%H:%M:%S").to_string()
    } else {
        l.format("%m-%d %H:%M").to_string()
    }
}

fn row(e: &TimelineEvent, now: DateTime<Utc>) -> Row {
    let time = if e.recovered {
        format!("~{}", when(e.at, now))
    } else {
        when(e.at, now)
    };
    let text = if e.recovered {
        format!("{} (recovered)", e.text)
    } else {
        e.text.clone()
    };
    Row::new(
        key(e),
        vec![
            Cell::level(time, Level::Muted),
            Cell::level(e.severity.label(), e.severity.level()),
            Cell::new(e.origin()),
            Cell::level(text, event_level(e.severity)),
        ],
    )
}

/// Good news reads as normal text; the rest in its colour.
fn event_level(s: Severity) -> Level {
    match s {
        Severity::Ok => Level::Ok,
        Severity::Info => Level::Normal,
        other => other.level(),
    }
}

fn columns() -> Vec<Column> {
    vec![
        Column::left("TIME", 12).keep(),
        Column::left("SEV", 4).keep(),
        Column::left("SOURCE", 16).priority(60),
        Column::left("EVENT", 30).priority(96),
    ]
}

/// One line of the overview's strip: time, severity, where, what.
pub fn strip_line(e: &TimelineEvent, now: DateTime<Utc>) -> Summary {
    Summary::text(vec![
        Cell::level(
            format!("{}{} ", if e.recovered { "~" } else { "" }, when(e.at, now)),
            Level::Muted,
        ),
        Cell::level(format!("{} ", e.severity.label()), e.severity.level()),
        Cell::new(format!("{} ", e.origin())),
        Cell::level(e.text.clone(), event_level(e.severity)),
    ])
}

pub fn model(timeline: &Timeline, sel: &Selection, now: DateTime<Utc>) -> PaneModel {
    let shown = |e: &&TimelineEvent| {
        sel.source
            .is_none_or(|(system, source)| e.system == system && e.source == source)
    };
    let events: Vec<&TimelineEvent> = timeline.newest_of(sel.context).filter(shown).collect();
    let tables = TABS
        .iter()
        .map(|(title, least)| Table {
            title: title.to_string(),
            columns: columns(),
            rows: events
                .iter()
                .filter(|e| e.severity >= *least)
                .take(MAX_ROWS)
                .map(|e| row(e, now))
                .collect(),
            empty: match sel.source {
                Some((system, source)) => {
                    format!("nothing on the timeline of {system} {source} yet")
                }
                None => format!("nothing on the timeline of context {} yet", sel.context),
            },
        })
        .collect();
    let hour = now - Duration::hours(1);
    let last_hour: Vec<&&TimelineEvent> = events.iter().take_while(|e| e.at >= hour).collect();
    let count = |s: Severity| last_hour.iter().filter(|e| e.severity == s).count();
    let mut summary = vec![Summary::text(vec![
        Cell::new(format!(
            "{} events, {} in the last hour: ",
            events.len(),
            last_hour.len()
        )),
        Cell::level(
            format!("{} critical ", count(Severity::Critical)),
            Level::Crit,
        ),
        Cell::level(
            format!("{} warning ", count(Severity::Warning)),
            Level::Warn,
        ),
        Cell::level(format!("{} ok", count(Severity::Ok)), Level::Ok),
        Cell::level(
            match sel.source {
                Some((system, source)) => format!("  · source {system} {source}"),
                None => "  · all sources".to_string(),
            },
            Level::Muted,
        ),
    ])];
    if let Some(e) = sel.selected.and_then(|k| timeline.find(k)) {
        summary.push(Summary::line(e.line(), event_level(e.severity)));
    }
    // The strip's border warns while something bad happened in the last quarter hour.
    let recent = now - Duration::minutes(15);
    let level = events
        .iter()
        .take_while(|e| e.at >= recent)
        .map(|e| match e.severity {
            Severity::Critical => Level::Crit,
            Severity::Warning => Level::Warn,
            _ => Level::Normal,
        })
        .max()
        .unwrap_or(Level::Normal);
    // The strip is short: an alert firing beside the change that raised it says it twice.
    let said = |a: &TimelineEvent| {
        a.what == "alert"
            && events.iter().any(|e| {
                e.what != "alert"
                    && e.system == a.system
                    && e.source == a.source
                    && (e.at - a.at).abs() <= Duration::seconds(60)
            })
    };
    PaneModel {
        tile: events
            .iter()
            .take(STRIP_LINES * 4)
            .filter(|e| !said(e))
            .take(STRIP_LINES)
            .map(|e| strip_line(e, now))
            .collect(),
        summary,
        tables,
        level,
    }
}
