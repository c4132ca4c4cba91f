//! The Indexes tab: the advice as rows, their detail, and the DDL verb on them.

use super::indexes::{Advice, IndexAdvice, Kind};
use super::{IndexDdl, PgOp, PgSample};
use crate::sources::system::{Resolved, Risk};
use crate::views::{Cell, Column, Detail, Level, Row, Table, fmt};

fn level(a: &Advice) -> Level {
    match a.kind {
        Some(Kind::Duplicate | Kind::Redundant | Kind::Unused) => Level::Warn,
        Some(Kind::IndexBloat | Kind::TableBloat) if a.bloat_ratio >= 0.5 => Level::Warn,
        _ => Level::Normal,
    }
}

pub fn table(s: &PgSample) -> Table {
    let adv = &s.index_advice;
    let reset = adv.stats_reset.as_deref();
    Table {
        title: "Indexes".into(),
        columns: vec![
            Column::left("ADVICE", 14),
            Column::left("INDEX", 24),
            Column::left("TABLE", 20),
            Column::right("SIZE", 9),
            Column::left("WHY", 30),
            Column::left("DDL", 30),
        ],
        rows: adv
            .rows
            .iter()
            .map(|a| {
                Row::new(
                    a.key(),
                    vec![
                        Cell::level(a.kind.map(Kind::label).unwrap_or(""), level(a)),
                        a.index.as_str().into(),
                        a.table.as_str().into(),
                        fmt::bytes(a.size_bytes.max(0) as u64).into(),
                        a.reason(reset).into(),
                        if a.ddl.is_empty() {
                            Cell::level("-", Level::Muted)
                        } else {
                            a.ddl.as_str().into()
                        },
                    ],
                )
            })
            .collect(),
        empty: if s.ages.indexes.is_none() {
            "index advice is read on the slow schedule: not read yet".into()
        } else {
            format!(
                "no unused, duplicate or bloated indexes and no seq-scan-heavy tables in {}",
                adv.database
            )
        },
    }
}

fn find<'a>(adv: &'a IndexAdvice, key: &str) -> Option<&'a Advice> {
    adv.rows.iter().find(|a| a.key() == key)
}

pub fn detail(s: &PgSample, key: &str) -> Option<Detail> {
    let adv = &s.index_advice;
    let a = find(adv, key)?;
    let kv = |k: &str, v: String| vec![Cell::level(format!("{k:<12}"), Level::Muted), Cell::new(v)];
    let mut lines = vec![
        kv("advice", a.kind.map(Kind::label).unwrap_or("").into()),
        kv("database", adv.database.clone()),
        kv("table", a.table.clone()),
        kv("why", a.reason(adv.stats_reset.as_deref())),
    ];
    if !a.index.is_empty() {
        lines.push(kv("index", a.index.clone()));
        lines.push(kv("size", fmt::bytes(a.size_bytes.max(0) as u64)));
        lines.push(kv("scans", a.scans.to_string()));
        lines.push(kv("definition", a.definition.clone()));
    }
    if !a.other.is_empty() {
        lines.push(kv("covered by", a.other.clone()));
    }
    if !a.ddl.is_empty() {
        lines.push(kv("DDL", a.ddl.clone()));
    }
    let note = match a.kind {
        Some(Kind::Unused) => {
            "Scans on standbys are not counted here, and a statistics reset restarts the count: \
             check the standbys and how long the server has counted before dropping."
        }
        Some(Kind::Duplicate | Kind::Redundant) => {
            "The covering index serves the same lookups; the drop is refused if it is gone \
             by then."
        }
        Some(Kind::SeqScans) => {
            "An index on the columns this query filters or joins on may help: choose them from \
             its WHERE clause (EXPLAIN it first)."
        }
        Some(Kind::IndexBloat) => {
            "Estimated from the key columns' average width (pg_stats); REINDEX CONCURRENTLY \
             builds a new copy beside the old one: it needs that much free space."
        }
        Some(Kind::TableBloat) => {
            "Estimated from pg_stats; VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE \
             lock, pg_repack does it online: neither is run from the console."
        }
        None => "",
    };
    lines.push(vec![]);
    lines.push(vec![Cell::level(note, Level::Muted)]);
    if !a.query.is_empty() {
        lines.push(vec![]);
        lines.push(vec![Cell::level(
            "the statement that reads it most:",
            Level::Muted,
        )]);
        lines.extend(a.query.lines().map(|l| vec![Cell::new(l.to_string())]));
    }
    Some(Detail {
        title: format!("{} {}", a.kind.map(Kind::label).unwrap_or(""), a.key()),
        lines,
        table: None,
    })
}

/// The DDL verb on an advice row.
pub fn command(s: &PgSample, key: &str) -> Option<Resolved<PgOp>> {
    let a = find(&s.index_advice, key)?;
    let refuse = |why: &str| Some(Err(why.to_string()));
    match a.kind? {
        Kind::SeqScans => {
            return refuse(
                "a missing index needs its columns chosen by a person: the query is in the \
                 detail (Enter)",
            );
        }
        Kind::TableBloat => {
            return refuse(
                "table bloat is removed by VACUUM FULL (locks the table for the whole rewrite) \
                 or pg_repack: not run from the console",
            );
        }
        Kind::IndexBloat if a.ddl.is_empty() => {
            return refuse("REINDEX INDEX CONCURRENTLY needs PostgreSQL 12 or later");
        }
        _ => {}
    }
    if s.in_recovery {
        return refuse("a standby is read-only: run it on the primary");
    }
    let op = IndexDdl::of(a, a.reason(s.index_advice.stats_reset.as_deref()))?;
    // Dropping needs the index's name typed; a rebuild only costs time and I/O.
    let risk = if op.verb == super::Verb::DropIndexConcurrently {
        Risk::High
    } else {
        Risk::Medium
    };
    Some(Ok((op.index.clone(), PgOp::IndexDdl(op), risk)))
}
