//! A backup source of a context: `[[contexts.NAME.backups]]`.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupSpec {
    pub name: String,
    /// pgbackrest | pg_archiver | redis | files
    pub kind: String,
    /// Recovery-point objective, e.g. "26h".
    pub max_age: Option<String>,
    /// pgbackrest: stanza name and optional config file.
    pub stanza: Option<String>,
    pub pgbackrest_config: Option<String>,
    /// pg_archiver / redis: the name of a postgres / redis entry of this context.
    pub source: Option<String>,
    /// files: a directory and a glob pattern.
    pub dir: Option<String>,
    pub pattern: Option<String>,
    /// Restore runbook shown beside the source.
    pub runbook: Option<String>,
}
