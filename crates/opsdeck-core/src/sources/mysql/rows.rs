//! Rows as text, by column name. The console's statements go over the text protocol
//! (`raw_sql`: no prepared statements to cache on the server, and SHOW works everywhere),
//! and every value is read as text: information_schema's column types differ between
//! MariaDB and MySQL versions (signed or not, DECIMAL or BIGINT), and sqlx's typed decode
//! would reject the ones it did not expect.

use std::collections::HashMap;

use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{Column as _, Row as _};

/// One row: lower-cased column name -> value (None for NULL).
#[derive(Debug, Clone, Default)]
pub struct Record(HashMap<String, Option<String>>);

impl Record {
    fn from_row(row: &MySqlRow) -> Self {
        let mut m = HashMap::with_capacity(row.columns().len());
        for (i, c) in row.columns().iter().enumerate() {
            let v = row
                .try_get_unchecked::<Option<Vec<u8>>, _>(i)
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            m.insert(c.name().to_ascii_lowercase(), v);
        }
        Record(m)
    }

    /// Builds a record from pairs (for tests of the parsers).
    #[cfg(test)]
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Self {
        Record(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.map(str::to_string)))
                .collect(),
        )
    }

    /// The first of `names` that is present and not NULL.
    pub fn get(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| {
            self.0
                .get(&n.to_ascii_lowercase())
                .and_then(|v| v.as_deref())
        })
    }

    pub fn text(&self, names: &[&str]) -> String {
        self.get(names).unwrap_or_default().to_string()
    }

    pub fn i64(&self, names: &[&str]) -> Option<i64> {
        let v = self.get(names)?.trim();
        v.parse::<i64>()
            .ok()
            .or_else(|| v.parse::<f64>().ok().map(|f| f as i64))
    }

    pub fn u64(&self, names: &[&str]) -> Option<u64> {
        self.get(names)?.trim().parse().ok()
    }

    pub fn f64(&self, names: &[&str]) -> Option<f64> {
        self.get(names)?.trim().parse().ok()
    }
}

pub async fn fetch(conn: &mut MySqlConnection, sql: &str) -> Result<Vec<Record>, sqlx::Error> {
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(Record::from_row).collect())
}

pub async fn fetch_one(conn: &mut MySqlConnection, sql: &str) -> Result<Record, sqlx::Error> {
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.first().map(Record::from_row).unwrap_or_default())
}

pub async fn execute(conn: &mut MySqlConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// The server's error number (1227 = access denied for lack of a privilege), if any.
pub fn error_code(e: &sqlx::Error) -> Option<u16> {
    e.as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
        .map(|d| d.number())
}

/// ER_SPECIFIC_ACCESS_DENIED_ERROR: "you need (at least one of) the X privilege(s)".
pub const ACCESS_DENIED: u16 = 1227;
/// ER_NO_SUCH_THREAD: "Unknown thread id".
pub const NO_SUCH_THREAD: u16 = 1094;
/// ER_KILL_DENIED_ERROR: "You are not owner of thread".
pub const KILL_DENIED: u16 = 1095;
