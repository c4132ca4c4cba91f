//! The config entry of a MariaDB/MySQL server (`[[contexts.NAME.mysql]]`), and its
//! connection options.

use std::time::Duration;

use serde::Deserialize;
use sqlx::ConnectOptions;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};

use crate::secrets::{Secret, redact_urls, scrub};
use crate::sources::system::Problem;

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

crate::secrets::secret_fields!(MysqlSpec);

impl MysqlSpec {
    /// Problems a person must fix in the entry, each naming the entry and the key (the
    /// password keys are checked for every system by the config loader).
    pub fn validate(&self) -> Vec<Problem> {
        let name = &self.name;
        let mut out = Vec::new();
        if let Err(e) = parsed_url(&self.url) {
            out.push(Problem::new(
                &self.url,
                format!("mysql {name}: {e}"),
                "url = \"mysql://monitor@db-1:3306/app\" (or mariadb://…)",
            ));
        }
        if let Some(m) = &self.ssl_mode
            && ssl_mode(m).is_none()
        {
            out.push(Problem::new(
                m,
                format!("mysql {name}: ssl_mode {m:?} is not one of {SSL_MODES}"),
                "ssl_mode = \"verify_identity\"",
            ));
        }
        if self.ssl_cert.is_some() != self.ssl_key.is_some() {
            out.push(Problem::new(
                name,
                format!("mysql {name}: ssl_cert and ssl_key go together"),
                "set both (a client certificate and its key) or neither",
            ));
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
    let redacted = redact_urls(url);
    match url.split_once("://") {
        Some(("mysql", rest)) | Some(("mariadb", rest)) => Ok(format!("mysql://{rest}")),
        _ => Err(format!(
            "url {redacted:?} must start with mysql:// or mariadb:// (e.g. \
             mysql://monitor@db-1:3306/app)"
        )),
    }
}

/// The URL read into connect options (no I/O): a bad scheme, port or option is an error
/// that shows the URL with its password redacted.
fn parsed_url(url: &str) -> Result<MySqlConnectOptions, String> {
    normalized_url(url)?.parse().map_err(|e: sqlx::Error| {
        format!("url {:?}: {}", redact_urls(url), scrub(&e.to_string(), &[]))
    })
}

/// Connect options from the entry: URL, secret, TLS (rustls). The console's own statements
/// are logged only at trace level.
pub fn connect_options(
    spec: &MysqlSpec,
    secret: Option<&Secret>,
) -> Result<MySqlConnectOptions, String> {
    let mut opts = parsed_url(&spec.url)?;
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
    fn validate_names_the_entry_and_the_key() {
        let mut s = spec("mysql://u@h:3306/");
        assert!(s.validate().is_empty());
        s.ssl_mode = Some("sometimes".into());
        s.ssl_cert = Some("/c.pem".into());
        let e: Vec<String> = s.validate().into_iter().map(|p| p.message).collect();
        assert_eq!(
            e,
            [
                "mysql db: ssl_mode \"sometimes\" is not one of disabled, preferred, required, \
                 verify_ca, verify_identity",
                "mysql db: ssl_cert and ssl_key go together",
            ]
        );
        s.ssl_mode = Some("VERIFY-CA".into());
        s.ssl_key = Some("/k.pem".into());
        assert!(s.validate().is_empty(), "{:?}", s.validate());
    }

    #[test]
    fn a_malformed_url_is_a_problem_with_its_password_redacted() {
        for (url, says) in [
            (
                "postgres://u:hunter2@h/db",
                "must start with mysql:// or mariadb://",
            ),
            (
                "mysql://u:hunter2@h:port/db",
                "url \"mysql://u:***@h:port/db\": ",
            ),
            (
                "mariadb://u:hunter2@h:3306/db?ssl-mode=sometimes",
                "url \"mariadb://u:***@h:3306/db?ssl-mode=sometimes\": ",
            ),
        ] {
            let p = spec(url).validate();
            assert_eq!(p.len(), 1, "{url}: {p:?}");
            assert!(p[0].message.starts_with("mysql db: "), "{}", p[0].message);
            assert!(p[0].message.contains(says), "{}", p[0].message);
            assert!(!p[0].message.contains("hunter2"), "{}", p[0].message);
            assert_eq!(p[0].near, url);
        }
        assert!(spec("mariadb://u@h/db").validate().is_empty());
    }

    #[test]
    fn entry_rejects_unknown_keys() {
        let e = toml::from_str::<MysqlSpec>("name = \"a\"\nurl = \"mysql://h\"\nsslmode = 1\n")
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `sslmode`"), "{e}");
    }
}
