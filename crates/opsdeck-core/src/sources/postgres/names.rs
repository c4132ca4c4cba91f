//! Database and role names by oid, kept between polls: the sessions come with oids (see
//! `queries::ACTIVITY`), the statements with oids too, and the catalogs change far less
//! often than a poll. One cache serves both.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::Row as _;
use sqlx::postgres::PgConnection;

use super::queries;

#[derive(Debug, Default)]
pub struct Names {
    databases: HashMap<i64, String>,
    roles: HashMap<i64, String>,
    read: Option<Instant>,
}

impl Names {
    /// Reads the names again when one of the oids is unknown (a new database or role) or
    /// `every` has passed (a rename); at most once a call. An oid still unknown after that
    /// (a role dropped while its sessions run) reads as "".
    pub async fn refresh(
        &mut self,
        conn: &mut PgConnection,
        databases: impl IntoIterator<Item = i64>,
        roles: impl IntoIterator<Item = i64>,
        now: Instant,
        every: Duration,
    ) -> Result<(), sqlx::Error> {
        let stale = self
            .read
            .is_none_or(|t| now.saturating_duration_since(t) >= every);
        let dbs: Vec<i64> = databases.into_iter().filter(|o| *o != 0).collect();
        let rls: Vec<i64> = roles.into_iter().filter(|o| *o != 0).collect();
        let unknown = dbs.iter().any(|o| !self.databases.contains_key(o))
            || rls.iter().any(|o| !self.roles.contains_key(o));
        if !stale && !unknown {
            return Ok(());
        }
        (self.databases, self.roles) = read_all(conn).await?;
        for o in dbs {
            self.databases.entry(o).or_default();
        }
        for o in rls {
            self.roles.entry(o).or_default();
        }
        self.read = Some(now);
        Ok(())
    }

    pub fn database(&self, oid: i64) -> &str {
        self.databases.get(&oid).map_or("", String::as_str)
    }

    pub fn role(&self, oid: i64) -> &str {
        self.roles.get(&oid).map_or("", String::as_str)
    }
}

/// Every database's and every role's name by oid (`queries::OID_NAMES`).
async fn read_all(
    conn: &mut PgConnection,
) -> Result<(HashMap<i64, String>, HashMap<i64, String>), sqlx::Error> {
    let (mut databases, mut roles) = (HashMap::new(), HashMap::new());
    for r in sqlx::query(queries::OID_NAMES)
        .fetch_all(&mut *conn)
        .await?
    {
        let (kind, oid, name): (String, i64, String) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        if kind == "d" {
            databases.insert(oid, name);
        } else {
            roles.insert(oid, name);
        }
    }
    Ok((databases, roles))
}
