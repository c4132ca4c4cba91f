//! A PostgreSQL entry of a context: `[[contexts.NAME.postgres]]`.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PostgresSpec {
    pub name: String,
    /// postgres://user@host:port/db?sslmode=... (a password here is redacted everywhere).
    pub url: String,
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    pub password_command: Option<String>,
    /// CA file for sslmode=verify-ca/verify-full.
    pub ssl_root_cert: Option<String>,
    /// PgBouncer admin console, e.g. postgres://pgbouncer@127.0.0.1:6432/pgbouncer.
    pub pgbouncer: Option<String>,
    /// How often the heavy figures are read (statements, slots, wraparound ages, settings),
    /// e.g. "30s" (the default); database sizes at twice that; vital ones follow `refresh`.
    pub slow_refresh: Option<String>,
    /// The server log on this machine: a file, or the directory whose newest file is read.
    /// Without it the log is read through the server where the role may.
    pub log_path: Option<String>,
}

crate::secrets::secret_fields!(PostgresSpec);
