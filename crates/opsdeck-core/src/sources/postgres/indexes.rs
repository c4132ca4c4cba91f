//! Index and bloat advice for the database the source connects to: unused indexes (no scans
//! since the statistics reset), duplicate and redundant (prefix) indexes, tables read by
//! many sequential scans over many rows (with the pg_stat_statements query that reads them
//! where one matches), and estimated table and index bloat. Each index row carries the DDL
//! it advises (`DROP INDEX CONCURRENTLY`, `REINDEX INDEX CONCURRENTLY`), run only through the
//! guarded pipeline. Read on the slow schedule: the bloat estimate joins pg_stats.
//!
//! Like the rest of the console's SQL these read catalogs and statistics only: sizes come
//! from pg_class.relpages, names are quoted by the server (`format('%I.%I')`).

use serde::Serialize;
use sqlx::Row as _;
use sqlx::postgres::PgConnection;

/// What a row advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// No scans since the statistics reset (not unique, backs no constraint).
    Unused,
    /// Same columns, operator classes, expressions and predicate as `other`.
    Duplicate,
    /// Its columns are a leading prefix of `other`'s (btree, same predicate).
    Redundant,
    /// Many sequential scans over many rows: an index may be missing.
    SeqScans,
    /// Estimated bloat of a btree index: `REINDEX INDEX CONCURRENTLY` rebuilds it.
    IndexBloat,
    /// Estimated bloat of a table (VACUUM FULL or pg_repack; not run from the console).
    TableBloat,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Unused => "unused",
            Kind::Duplicate => "duplicate",
            Kind::Redundant => "redundant",
            Kind::SeqScans => "missing index?",
            Kind::IndexBloat => "index bloat",
            Kind::TableBloat => "table bloat",
        }
    }
}

/// One piece of advice.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Advice {
    pub kind: Option<Kind>,
    /// The index (schema.name, quoted as needed); empty for table rows.
    pub index: String,
    /// Its oid: the operation checks it still names the same index.
    pub index_oid: i64,
    pub table: String,
    /// Index (or table) size from pg_class.relpages.
    pub size_bytes: i64,
    /// Duplicates and prefixes: the index that covers it (kept).
    pub other: String,
    pub scans: i64,
    /// Sequential scans and the rows they read (missing-index rows).
    pub seq_scans: i64,
    pub seq_rows: i64,
    pub live_rows: i64,
    /// Estimated bloat in bytes and as a fraction of the size (bloat rows).
    pub bloat_bytes: i64,
    pub bloat_ratio: f64,
    /// `pg_get_indexdef` of the index.
    pub definition: String,
    /// The pg_stat_statements query that reads the table most (missing-index rows).
    pub query: String,
    /// The DDL advised, empty when nothing is run from the console.
    pub ddl: String,
}

/// The Indexes tab's content.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IndexAdvice {
    /// The database advised on (the one the source connects to).
    pub database: String,
    /// `pg_stat_database.stats_reset` of it (RFC 3339), null when never reset.
    pub stats_reset: Option<String>,
    pub rows: Vec<Advice>,
}

/// Tables and index sizes below this are not worth advice (pages).
const MIN_PAGES: i64 = 8;
/// A missing-index hint needs this many sequential scans averaging this many rows on a
/// table this big.
const SEQ_MIN_SCANS: i64 = 50;
const SEQ_MIN_ROWS_PER_SCAN: i64 = 1000;
/// Bloat shown from this much and this fraction.
const BLOAT_MIN_BYTES: i64 = 1 << 20;
const BLOAT_MIN_RATIO: f64 = 0.3;

const USER_SCHEMAS: &str = "n.nspname not in ('pg_catalog', 'information_schema') \
    and n.nspname !~ '^pg_toast'";

fn unused_sql() -> String {
    format!(
        "select format('%I.%I', n.nspname, ci.relname), ci.oid::int8, \
         format('%I.%I', n.nspname, ct.relname), \
         ci.relpages::int8 * current_setting('block_size')::int8, s.idx_scan, \
         pg_get_indexdef(ci.oid) \
         from pg_stat_user_indexes s join pg_index x on x.indexrelid = s.indexrelid \
         join pg_class ci on ci.oid = x.indexrelid join pg_class ct on ct.oid = x.indrelid \
         join pg_namespace n on n.oid = ci.relnamespace \
         where s.idx_scan = 0 and not x.indisunique and not x.indisprimary and x.indisvalid \
         and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid) \
         and {USER_SCHEMAS} order by 4 desc, 1 limit 50"
    )
}

/// Pairs (a, b) on one table where a adds nothing b does not: the same definition (the
/// later oid is advised, or the non-unique one), or a's keys a leading prefix of b's
/// (btree). `a` is never unique, primary or a constraint's index.
fn overlap_sql() -> String {
    format!(
        "select format('%I.%I', n.nspname, ca.relname), ca.oid::int8, \
         format('%I.%I', n.nspname, cb.relname), format('%I.%I', n.nspname, t.relname), \
         ca.relpages::int8 * current_setting('block_size')::int8, \
         a.indkey::text = b.indkey::text, coalesce(s.idx_scan, 0), pg_get_indexdef(ca.oid) \
         from pg_index a join pg_index b on a.indrelid = b.indrelid \
         and a.indexrelid <> b.indexrelid \
         join pg_class ca on ca.oid = a.indexrelid join pg_class cb on cb.oid = b.indexrelid \
         join pg_class t on t.oid = a.indrelid join pg_namespace n on n.oid = t.relnamespace \
         left join pg_stat_user_indexes s on s.indexrelid = a.indexrelid \
         where {USER_SCHEMAS} and ca.relam = cb.relam and a.indisvalid and b.indisvalid \
         and not a.indisprimary and not a.indisunique \
         and not exists (select 1 from pg_constraint c where c.conindid = a.indexrelid) \
         and coalesce(pg_get_expr(a.indexprs, a.indrelid), '') = \
             coalesce(pg_get_expr(b.indexprs, b.indrelid), '') \
         and coalesce(pg_get_expr(a.indpred, a.indrelid), '') = \
             coalesce(pg_get_expr(b.indpred, b.indrelid), '') \
         and ((a.indkey::text = b.indkey::text and a.indclass::text = b.indclass::text \
               and a.indcollation::text = b.indcollation::text \
               and (b.indisunique or a.indexrelid > b.indexrelid)) \
           or (ca.relam = (select oid from pg_am where amname = 'btree') \
               and a.indexprs is null and b.indexprs is null \
               and (' ' || b.indkey::text || ' ') like (' ' || a.indkey::text || ' %') \
               and (' ' || b.indclass::text || ' ') like (' ' || a.indclass::text || ' %') \
               and a.indkey::text <> b.indkey::text)) \
         order by 6 desc, 5 desc, 1 limit 50"
    )
}

fn seq_sql() -> String {
    format!(
        "select format('%I.%I', schemaname, s.relname), s.relname::text, seq_scan, seq_tup_read, \
         coalesce(idx_scan, 0), n_live_tup, \
         c.relpages::int8 * current_setting('block_size')::int8 \
         from pg_stat_user_tables s join pg_class c on c.oid = s.relid \
         join pg_namespace n on n.oid = c.relnamespace \
         where {USER_SCHEMAS} and seq_scan >= {SEQ_MIN_SCANS} \
         and seq_tup_read / greatest(seq_scan, 1) >= {SEQ_MIN_ROWS_PER_SCAN} \
         and seq_scan > coalesce(idx_scan, 0) order by seq_tup_read desc limit 10"
    )
}

/// The statement reading a table most by time, where its text names the table.
fn statement_sql(version_num: i32) -> &'static str {
    if version_num >= 130000 {
        "select left(query, 1000) from pg_stat_statements \
         where dbid = (select oid from pg_database where datname = current_database()) \
         and query ~* $1 and query ~* '^\\s*(select|with|update|delete)' \
         order by total_exec_time desc limit 1"
    } else {
        "select left(query, 1000) from pg_stat_statements \
         where dbid = (select oid from pg_database where datname = current_database()) \
         and query ~* $1 and query ~* '^\\s*(select|with|update|delete)' \
         order by total_time desc limit 1"
    }
}

/// Estimated table bloat: pages the live rows would need at their average width (pg_stats)
/// and the table's fillfactor, against the pages it has. An estimate: tables without
/// statistics (never analyzed) or that the role may not read are left out.
fn table_bloat_sql() -> String {
    format!(
        "with t as (select c.oid, format('%I.%I', n.nspname, c.relname) as name, c.relpages, \
         c.reltuples, current_setting('block_size')::numeric as bs, \
         coalesce((select substring(o from 'fillfactor=([0-9]+)')::numeric \
                   from unnest(c.reloptions) o where o like 'fillfactor=%'), 100) as ff, \
         24 + 4 + sum((1 - s.null_frac) * s.avg_width) as width \
         from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         join pg_stats s on s.schemaname = n.nspname and s.tablename = c.relname \
         where c.relkind = 'r' and c.relpages >= {MIN_PAGES} and c.reltuples > 0 \
         and {USER_SCHEMAS} group by 1, 2, 3, 4, 5, 6) \
         select name, relpages::int8 * bs::int8, \
         ceil(reltuples / greatest(floor((bs - 24) * ff / 100 / width), 1))::int8 * bs::int8 \
         from t"
    )
}

/// Estimated btree index bloat, the same way: index tuples of the key columns' average
/// width (8 bytes of header, aligned to 8, plus a 4-byte line pointer) at fillfactor 90.
fn index_bloat_sql() -> String {
    format!(
        "with i as (select x.indexrelid, x.indrelid, n.nspname, ci.relname as iname, \
         ct.relname as tname, ci.relpages, ci.reltuples, unnest(x.indkey) as attnum \
         from pg_index x join pg_class ci on ci.oid = x.indexrelid \
         join pg_class ct on ct.oid = x.indrelid join pg_namespace n on n.oid = ci.relnamespace \
         where ci.relam = (select oid from pg_am where amname = 'btree') \
         and x.indexprs is null and x.indisvalid and ci.relpages >= {MIN_PAGES} \
         and {USER_SCHEMAS}), \
         w as (select i.indexrelid, i.nspname, i.iname, i.tname, i.relpages, i.reltuples, \
         sum(coalesce(s.avg_width, 8)) as width, count(s.avg_width) = count(*) as known \
         from i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.attnum \
         left join pg_stats s on s.schemaname = i.nspname and s.tablename = i.tname \
         and s.attname = a.attname group by 1, 2, 3, 4, 5, 6) \
         select format('%I.%I', nspname, iname), indexrelid::int8, \
         format('%I.%I', nspname, tname), \
         relpages::int8 * current_setting('block_size')::int8, \
         (1 + ceil(reltuples * (4 + 8 * ceil((8 + width) / 8)) / \
          ((current_setting('block_size')::int8 - 24 - 16) * 0.9)))::int8 \
          * current_setting('block_size')::int8, \
         pg_get_indexdef(indexrelid) from w where known"
    )
}

type E = sqlx::Error;

/// Reads the advice (slow schedule).
pub async fn read(conn: &mut PgConnection, version_num: i32) -> Result<IndexAdvice, E> {
    let head = sqlx::query(
        "select current_database()::text, \
         (select to_char(stats_reset at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
          from pg_stat_database where datname = current_database())",
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut out = IndexAdvice {
        database: head.try_get(0)?,
        stats_reset: head.try_get(1)?,
        rows: Vec::new(),
    };
    let mut seen = std::collections::BTreeSet::new();
    for r in sqlx::query(sqlx::AssertSqlSafe(overlap_sql()))
        .fetch_all(&mut *conn)
        .await?
    {
        let index: String = r.try_get(0)?;
        if !seen.insert(index.clone()) {
            continue;
        }
        let same: bool = r.try_get(5)?;
        out.rows.push(Advice {
            kind: Some(if same {
                Kind::Duplicate
            } else {
                Kind::Redundant
            }),
            ddl: format!("DROP INDEX CONCURRENTLY {index}"),
            index,
            index_oid: r.try_get(1)?,
            other: r.try_get(2)?,
            table: r.try_get(3)?,
            size_bytes: r.try_get(4)?,
            scans: r.try_get(6)?,
            definition: r.try_get(7)?,
            ..Default::default()
        });
    }
    for r in sqlx::query(sqlx::AssertSqlSafe(unused_sql()))
        .fetch_all(&mut *conn)
        .await?
    {
        let index: String = r.try_get(0)?;
        if !seen.insert(index.clone()) {
            continue;
        }
        out.rows.push(Advice {
            kind: Some(Kind::Unused),
            ddl: format!("DROP INDEX CONCURRENTLY {index}"),
            index,
            index_oid: r.try_get(1)?,
            table: r.try_get(2)?,
            size_bytes: r.try_get(3)?,
            scans: r.try_get(4)?,
            definition: r.try_get(5)?,
            ..Default::default()
        });
    }
    let has_statements: bool = sqlx::query_scalar(
        "select exists(select 1 from pg_extension where extname = 'pg_stat_statements')",
    )
    .fetch_one(&mut *conn)
    .await?;
    for r in sqlx::query(sqlx::AssertSqlSafe(seq_sql()))
        .fetch_all(&mut *conn)
        .await?
    {
        let relname: String = r.try_get(1)?;
        let query = if has_statements {
            // A word match on the table's name; a failure (privileges) leaves it empty.
            let pattern = format!("\\m{}\\M", regex::escape(&relname));
            sqlx::query_scalar::<_, String>(statement_sql(version_num))
                .bind(pattern)
                .fetch_optional(&mut *conn)
                .await
                .ok()
                .flatten()
                .unwrap_or_default()
        } else {
            String::new()
        };
        out.rows.push(Advice {
            kind: Some(Kind::SeqScans),
            table: r.try_get(0)?,
            seq_scans: r.try_get(2)?,
            seq_rows: r.try_get(3)?,
            scans: r.try_get(4)?,
            live_rows: r.try_get(5)?,
            size_bytes: r.try_get(6)?,
            query,
            ..Default::default()
        });
    }
    let bloat = |size: i64, expected: i64| {
        let b = (size - expected).max(0);
        let ratio = if size > 0 {
            b as f64 / size as f64
        } else {
            0.0
        };
        (b >= BLOAT_MIN_BYTES && ratio >= BLOAT_MIN_RATIO).then_some((b, ratio))
    };
    for r in sqlx::query(sqlx::AssertSqlSafe(index_bloat_sql()))
        .fetch_all(&mut *conn)
        .await?
    {
        let (size, expected): (i64, i64) = (r.try_get(3)?, r.try_get(4)?);
        let Some((b, ratio)) = bloat(size, expected) else {
            continue;
        };
        let index: String = r.try_get(0)?;
        out.rows.push(Advice {
            kind: Some(Kind::IndexBloat),
            ddl: if version_num >= 120000 {
                format!("REINDEX INDEX CONCURRENTLY {index}")
            } else {
                String::new()
            },
            index,
            index_oid: r.try_get(1)?,
            table: r.try_get(2)?,
            size_bytes: size,
            bloat_bytes: b,
            bloat_ratio: ratio,
            definition: r.try_get(5)?,
            ..Default::default()
        });
    }
    for r in sqlx::query(sqlx::AssertSqlSafe(table_bloat_sql()))
        .fetch_all(&mut *conn)
        .await?
    {
        let (size, expected): (i64, i64) = (r.try_get(1)?, r.try_get(2)?);
        if let Some((b, ratio)) = bloat(size, expected) {
            out.rows.push(Advice {
                kind: Some(Kind::TableBloat),
                table: r.try_get(0)?,
                size_bytes: size,
                bloat_bytes: b,
                bloat_ratio: ratio,
                ..Default::default()
            });
        }
    }
    Ok(out)
}

impl Advice {
    /// The row's stable key in the Indexes tab.
    pub fn key(&self) -> String {
        let kind = self.kind.map(Kind::label).unwrap_or("");
        if self.index.is_empty() {
            format!("{kind}:{}", self.table)
        } else {
            format!("{kind}:{}", self.index)
        }
    }

    /// What the row says, in a few words.
    pub fn reason(&self, stats_reset: Option<&str>) -> String {
        let since = stats_reset
            .map(|t| format!("since the statistics reset at {t}"))
            .unwrap_or_else(|| "since statistics began (never reset)".into());
        match self.kind {
            Some(Kind::Unused) => format!("no scans {since}"),
            Some(Kind::Duplicate) => format!("same definition as {}", self.other),
            Some(Kind::Redundant) => format!("a leading prefix of {}", self.other),
            Some(Kind::SeqScans) => format!(
                "{} sequential scans read {} rows ({} per scan) vs {} index scans",
                self.seq_scans,
                self.seq_rows,
                self.seq_rows / self.seq_scans.max(1),
                self.scans
            ),
            Some(Kind::IndexBloat) | Some(Kind::TableBloat) => format!(
                "~{} of {} estimated bloat",
                crate::views::fmt::pct(self.bloat_ratio),
                crate::views::fmt::bytes(self.size_bytes.max(0) as u64)
            ),
            None => String::new(),
        }
    }
}
