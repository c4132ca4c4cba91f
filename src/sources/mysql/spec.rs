//! The config entry of a MariaDB/MySQL server (`[[contexts.NAME.mysql]]`), and its
//! connection options. It lives here, not in config/model.rs, so the system is one folder.

use std::time::Duration;

use serde::Deserialize;
use sqlx::ConnectOptions;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};

use crate::config::SecretSpec;
use crate::config::secrets::{Secret, scrub};

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MysqlSpec {
    pub name: String,
    /// mysql://user@host:port/db or mariadb://… (a password here is redacted everywhere).
    pub url: String,
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    pub password_command: Option<String>,
    /// disabled | preferred (default) | required | verify_ca | verify_identity
    pub ssl_mode: Option<String>,
    /// PEM CA file for verify_ca / verify_identity (instead of the system roots).
    pub ssl_ca: Option<String>,
    /// PEM client certificate and key, for servers that require X509 users.
    pub ssl_cert: Option<String>,
    pub ssl_key: Option<String>,
}

/// The SSL modes the `ssl_mode` key accepts, for error messages.
pub const SSL_MODES: &str = "disabled, preferred, required, verify_ca, verify_identity";

impl MysqlSpec {
    pub fn secret(&self) -> SecretSpec {
        SecretSpec {
            password: self.password.clone(),
            password_env: self.password_env.clone(),
            password_file: self.password_file.clone(),
            password_command: self.password_command.clone(),
        }
    }

    /// Problems a person must fix in the entry, each a whole sentence naming the key.
    pub fn validate(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.secret().count() > 1 {
            out.push(
                "set at most one of password, password_env, password_file, password_command"
                    .to_string(),
            );
        }
        if let Err(e) = normalized_url(&self.url) {
            out.push(e);
        }
        if let Some(m) = &self.ssl_mode
            && ssl_mode(m).is_none()
        {
            out.push(format!("ssl_mode {m:?} is not one of {SSL_MODES}"));
        }
        if self.ssl_cert.is_some() != self.ssl_key.is_some() {
            out.push("ssl_cert and ssl_key go together: set both or neither".to_string());
        }
        out
    }
}

fn ssl_mode(s: &str) -> Option<MySqlSslMode> {
    Some(match s.to_ascii_lowercase().replace('-', "_").as_str() {
        "disabled" => MySqlSslMode::Disabled,
        "preferred" => MySqlSslMode::Preferred,
        "required" => MySqlSslMode::Required,
        "verify_ca" => MySqlSslMode::VerifyCa,
        "verify_identity" => MySqlSslMode::VerifyIdentity,
        _ => return None,
    })
}

/// The URL with a `mariadb://` scheme read as `mysql://`; any other scheme is an error.
fn normalized_url(url: &str) -> Result<String, String> {
    let redacted = crate::config::secrets::redact_urls(url);
    match url.split_once("://") {
        Some(("mysql", rest)) | Some(("mariadb", rest)) => Ok(format!("mysql://{rest}")),
        _ => Err(format!(
            "url {redacted:?} must start with mysql:// or mariadb:// (e.g. \
             mysql://monitor@db-1:3306/app)"
        )),
    }
}

/// Connect options from the entry: URL, secret, TLS (rustls). The console's own statements
/// are logged only at trace level.
pub fn connect_options(
    spec: &MysqlSpec,
    secret: Option<&Secret>,
) -> Result<MySqlConnectOptions, String> {
    let url = normalized_url(&spec.url)?;
    let mut opts: MySqlConnectOptions = url.parse().map_err(|e: sqlx::Error| {
        format!(
            "url {}: {}",
            crate::config::secrets::redact_urls(&spec.url),
            scrub(&e.to_string(), &[])
        )
    })?;
    if let Some(s) = secret {
        opts = opts.password(s.expose());
    }
    if let Some(m) = &spec.ssl_mode {
        let mode =
            ssl_mode(m).ok_or_else(|| format!("ssl_mode {m:?} is not one of {SSL_MODES}"))?;
        opts = opts.ssl_mode(mode);
    }
    if let Some(ca) = &spec.ssl_ca {
        opts = opts.ssl_ca(ca);
    }
    if let Some(cert) = &spec.ssl_cert {
        opts = opts.ssl_client_cert(cert);
    }
    if let Some(key) = &spec.ssl_key {
        opts = opts.ssl_client_key(key);
    }
    Ok(opts
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> MysqlSpec {
        MysqlSpec {
            name: "db".into(),
            url: url.into(),
            ..Default::default()
        }
    }

    #[test]
    fn mariadb_scheme_is_mysql_and_others_are_refused() {
        let o = connect_options(&spec("mariadb://mon@db-1:3307/app"), None).expect("opts");
        assert_eq!(o.get_host(), "db-1");
        assert_eq!(o.get_port(), 3307);
        assert_eq!(o.get_username(), "mon");
        assert_eq!(o.get_database(), Some("app"));
        let e = connect_options(&spec("postgres://u:hunter2@h/db"), None).unwrap_err();
        assert!(e.contains("must start with mysql:// or mariadb://"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn validate_names_the_key() {
        let mut s = spec("mysql://u@h:3306/");
        assert!(s.validate().is_empty());
        s.ssl_mode = Some("sometimes".into());
        s.ssl_cert = Some("/c.pem".into());
        s.password = Some("x".into());
        s.password_env = Some("X".into());
        let e = s.validate();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("at most one of password"));
        assert!(e[1].contains("ssl_mode \"sometimes\""));
        assert!(e[2].contains("ssl_cert and ssl_key"));
        s.ssl_mode = Some("VERIFY-CA".into());
        s.ssl_key = Some("/k.pem".into());
        s.password_env = None;
        assert!(s.validate().is_empty(), "{:?}", s.validate());
    }

    #[test]
    fn entry_rejects_unknown_keys() {
        let e = toml::from_str::<MysqlSpec>("name = \"a\"\nurl = \"mysql://h\"\nsslmode = 1\n")
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `sslmode`"), "{e}");
    }
}
