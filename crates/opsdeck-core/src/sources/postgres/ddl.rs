//! The index DDL the Indexes tab advises, as a guarded operation. It runs on a connection
//! of its own (a long `REINDEX` must not hold the poller's), without the console's
//! statement_timeout, and as a background job. Before acting it checks the row still holds:
//! the oid still names the index previewed, an unused index still has no scans, and the
//! index that covers a duplicate still exists and is valid (dropping both is the one
//! mistake this must never make). The statement is rebuilt from the verified name.

use serde::Serialize;
use sqlx::{Connection, Row as _};

use super::indexes::{Advice, Kind};
use super::{PostgresSpec, connect_options};
use crate::secrets::{Secret, scrub};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    DropIndexConcurrently,
    ReindexIndexConcurrently,
}

impl Verb {
    fn sql(self) -> &'static str {
        match self {
            Verb::DropIndexConcurrently => "DROP INDEX CONCURRENTLY",
            Verb::ReindexIndexConcurrently => "REINDEX INDEX CONCURRENTLY",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexDdl {
    pub verb: Verb,
    /// schema.name as the server quotes it.
    pub index: String,
    pub oid: i64,
    /// Duplicates and prefixes: the index kept, which must still be there.
    pub keep: Option<String>,
    /// Advised as unused: it must still have no scans.
    pub unused: bool,
    /// Why it is advised, as previewed.
    pub why: String,
}

impl IndexDdl {
    /// The op for an advice row, if the row advises DDL.
    pub fn of(a: &Advice, why: String) -> Option<IndexDdl> {
        let verb = match a.kind? {
            Kind::Unused | Kind::Duplicate | Kind::Redundant => Verb::DropIndexConcurrently,
            Kind::IndexBloat if !a.ddl.is_empty() => Verb::ReindexIndexConcurrently,
            _ => return None,
        };
        Some(IndexDdl {
            verb,
            index: a.index.clone(),
            oid: a.index_oid,
            keep: (!a.other.is_empty()).then(|| a.other.clone()),
            unused: a.kind == Some(Kind::Unused),
            why,
        })
    }

    pub fn statement(&self) -> String {
        format!("{} {}", self.verb.sql(), self.index)
    }

    pub fn describe(&self) -> String {
        let mut checks = vec![format!("oid {} still is {}", self.oid, self.index)];
        if self.unused {
            checks.push("it still has no scans".into());
        }
        if let Some(k) = &self.keep {
            checks.push(format!("{k} still exists and is valid"));
        }
        format!(
            "{} ({}); only if {}; on its own connection without statement_timeout",
            self.statement(),
            self.why,
            checks.join(", ")
        )
    }

    pub async fn execute(&self, spec: &PostgresSpec) -> Result<String, String> {
        let secret = spec.secret().resolve_async().await?;
        let s: Vec<&Secret> = secret.iter().collect();
        let err = |e: sqlx::Error| scrub(&e.to_string(), &s);
        let opts = connect_options(spec, secret.as_ref())?;
        let mut conn = sqlx::postgres::PgConnection::connect_with(&opts)
            .await
            .map_err(err)?;
        let out = self.run(&mut conn).await;
        let _ = conn.close().await;
        out.map_err(|e| scrub(&e, &s))
    }

    async fn run(&self, conn: &mut sqlx::postgres::PgConnection) -> Result<String, String> {
        let e = |e: sqlx::Error| e.to_string();
        let now = sqlx::query(
            "select format('%I.%I', n.nspname, c.relname), coalesce(s.idx_scan, 0) \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             left join pg_stat_user_indexes s on s.indexrelid = c.oid \
             where c.oid = $1::oid and c.relkind = 'i'",
        )
        .bind(self.oid)
        .fetch_optional(&mut *conn)
        .await
        .map_err(e)?;
        let Some(now) = now else {
            return Err(format!(
                "not run: index {} (oid {}) no longer exists",
                self.index, self.oid
            ));
        };
        let (name, scans): (String, i64) = (now.try_get(0).map_err(e)?, now.try_get(1).map_err(e)?);
        if name != self.index {
            return Err(format!(
                "not run: oid {} is now {name}, not {} as previewed",
                self.oid, self.index
            ));
        }
        if self.unused && scans > 0 {
            return Err(format!(
                "not run: {name} was scanned {scans} times since the preview: it is used"
            ));
        }
        if let Some(keep) = &self.keep {
            let valid: Option<bool> = sqlx::query_scalar(
                "select x.indisvalid from pg_index x join pg_class c on c.oid = x.indexrelid \
                 join pg_namespace n on n.oid = c.relnamespace \
                 where format('%I.%I', n.nspname, c.relname) = $1",
            )
            .bind(keep)
            .fetch_optional(&mut *conn)
            .await
            .map_err(e)?;
            if valid != Some(true) {
                return Err(format!(
                    "not run: {keep}, which covers {name}, is gone or invalid: dropping {name} \
                     would leave no index"
                ));
            }
        }
        // The console's session limits would cut a concurrent build short.
        sqlx::query("set statement_timeout = 0")
            .execute(&mut *conn)
            .await
            .map_err(e)?;
        sqlx::query("set lock_timeout = '30s'")
            .execute(&mut *conn)
            .await
            .map_err(e)?;
        // `name` is the server's own quoting of the verified oid's name.
        let stmt = format!("{} {name}", self.verb.sql());
        let started = std::time::Instant::now();
        sqlx::query(sqlx::AssertSqlSafe(stmt.clone()))
            .execute(&mut *conn)
            .await
            .map_err(|x| {
                let hint = if self.verb == Verb::ReindexIndexConcurrently {
                    " (a failed REINDEX CONCURRENTLY leaves an invalid index named *_ccnew: drop it)"
                } else {
                    " (a failed DROP INDEX CONCURRENTLY can leave the index invalid: run it again)"
                };
                format!("{stmt}: {x}{hint}")
            })?;
        Ok(format!(
            "{stmt}: done in {}",
            crate::views::fmt::secs(started.elapsed().as_secs_f64())
        ))
    }
}
