//! A Redis entry of a context: `[[contexts.NAME.redis]]` (standalone, Sentinel or Cluster).

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RedisSpec {
    pub name: String,
    /// Standalone server: redis://[user@]host:port[/db] or rediss:// for TLS.
    pub url: Option<String>,
    /// Sentinel deployment: sentinel addresses plus the master name.
    #[serde(default)]
    pub sentinels: Vec<String>,
    pub master: Option<String>,
    /// Cluster deployment: seed nodes.
    #[serde(default)]
    pub cluster: Vec<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    pub password_command: Option<String>,
    /// Connect with TLS (rediss://) to every node and sentinel.
    #[serde(default)]
    pub tls: bool,
    /// PEM CA file that signed the servers' certificates, instead of the system roots.
    pub tls_ca_file: Option<String>,
}

crate::secrets::secret_fields!(RedisSpec);
