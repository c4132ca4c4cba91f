//! The connection settings of the batched path, read from the same librdkafka properties the
//! user configured (`security.protocol`, `sasl.*`, `ssl.*`), so both paths connect the same
//! way. Anything this path cannot honour exactly is `Unsupported`, and the poller then uses
//! librdkafka's per-group requests instead of connecting differently.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::secrets::Secret;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl Mechanism {
    /// The name SaslHandshake expects.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

pub struct Sasl {
    pub mechanism: Mechanism,
    pub username: String,
    pub password: Secret,
}

/// How to reach the brokers.
pub struct Security {
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub sasl: Option<Sasl>,
    /// `client.id`, sent in every request header (brokers log it and quotas use it).
    pub client_id: String,
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password.
        f.debug_struct("Security")
            .field("tls", &self.tls.is_some())
            .field("sasl", &self.sasl.as_ref().map(|s| s.mechanism))
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// Why the batched path cannot run with these settings (shown to the user as the fallback's
/// reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `ssl.*` keys this path honours; any other `ssl.*` key (cipher lists, keystores, engines,
/// verification switches) changes how librdkafka connects, so it sends us to the fallback.
const SSL_KEYS: &[&str] = &[
    "ssl.ca.location",
    "ssl.ca.pem",
    "ssl.certificate.location",
    "ssl.certificate.pem",
    "ssl.key.location",
    "ssl.key.pem",
    "ssl.endpoint.identification.algorithm",
];

impl Security {
    /// Reads the settings from librdkafka's configuration map (the entry's `properties` plus
    /// `sasl.password` from its `password_*`).
    pub fn from_properties(props: &BTreeMap<&str, &str>) -> Result<Security, Unsupported> {
        let get = |k: &str| props.get(k).map(|v| v.trim());
        let protocol = get("security.protocol")
            .unwrap_or("plaintext")
            .to_ascii_lowercase();
        let (tls, sasl) = match protocol.as_str() {
            "plaintext" => (false, false),
            "ssl" => (true, false),
            "sasl_plaintext" => (false, true),
            "sasl_ssl" => (true, true),
            other => {
                return Err(Unsupported(format!(
                    "security.protocol {other:?} is not supported"
                )));
            }
        };
        let sasl = if sasl {
            // librdkafka's default mechanism is GSSAPI.
            let m = get("sasl.mechanisms")
                .or_else(|| get("sasl.mechanism"))
                .unwrap_or("GSSAPI")
                .to_ascii_uppercase();
            let mechanism = match m.as_str() {
                "PLAIN" => Mechanism::Plain,
                "SCRAM-SHA-256" => Mechanism::ScramSha256,
                "SCRAM-SHA-512" => Mechanism::ScramSha512,
                other => {
                    return Err(Unsupported(format!(
                        "sasl.mechanisms {other} is not supported"
                    )));
                }
            };
            Some(Sasl {
                mechanism,
                username: get("sasl.username").unwrap_or_default().to_string(),
                // Not trimmed: a password may end in a space.
                password: Secret::new(props.get("sasl.password").copied().unwrap_or_default()),
            })
        } else {
            None
        };
        let tls = if tls {
            Some(Arc::new(tls_config(props)?))
        } else {
            None
        };
        Ok(Security {
            tls,
            sasl,
            client_id: get("client.id").unwrap_or("opsdeck").to_string(),
        })
    }
}

fn tls_config(props: &BTreeMap<&str, &str>) -> Result<rustls::ClientConfig, Unsupported> {
    let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(k) = props
        .keys()
        .find(|k| k.starts_with("ssl.") && !SSL_KEYS.contains(k))
    {
        return Err(Unsupported(format!("{k} is not supported")));
    }
    if let Some(k) = ["enable.ssl.certificate.verification"]
        .iter()
        .find(|k| get(k).is_some_and(|v| v.eq_ignore_ascii_case("false")))
    {
        return Err(Unsupported(format!("{k}=false is not supported")));
    }
    if let Some(v) = get("ssl.endpoint.identification.algorithm")
        && !v.eq_ignore_ascii_case("https")
    {
        return Err(Unsupported(format!(
            "ssl.endpoint.identification.algorithm={v} is not supported"
        )));
    }
    let bad = |what: &str, e: &dyn fmt::Display| Unsupported(format!("{what}: {e}"));
    let mut roots = RootCertStore::empty();
    let cas: Vec<CertificateDer<'static>> = match (get("ssl.ca.pem"), get("ssl.ca.location")) {
        (Some(pem), _) => CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| bad("ssl.ca.pem", &e))?,
        (None, Some(path)) if path != "probe" => {
            if std::path::Path::new(path).is_dir() {
                return Err(Unsupported(format!(
                    "ssl.ca.location {path} is a directory (a PEM file is supported)"
                )));
            }
            CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(&format!("ssl.ca.location {path}"), &e))?
                .collect::<Result<_, _>>()
                .map_err(|e| bad(&format!("ssl.ca.location {path}"), &e))?
        }
        // Like librdkafka without a CA setting: the system's trust store.
        _ => rustls_native_certs::load_native_certs().certs,
    };
    for c in cas {
        roots.add(c).map_err(|e| bad("CA certificate", &e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("TLS", &e))?
        .with_root_certificates(roots);
    let cert = match (get("ssl.certificate.pem"), get("ssl.certificate.location")) {
        (Some(pem), _) => Some(
            CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad("ssl.certificate.pem", &e))?,
        ),
        (None, Some(path)) => Some(
            CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(&format!("ssl.certificate.location {path}"), &e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(&format!("ssl.certificate.location {path}"), &e))?,
        ),
        _ => None,
    };
    let key = match (get("ssl.key.pem"), get("ssl.key.location")) {
        (Some(pem), _) => Some(
            PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| bad("ssl.key.pem", &e))?,
        ),
        (None, Some(path)) => Some(
            PrivateKeyDer::from_pem_file(path)
                .map_err(|e| bad(&format!("ssl.key.location {path}"), &e))?,
        ),
        _ => None,
    };
    Ok(match (cert, key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(cert, key)
            .map_err(|e| bad("client certificate", &e))?,
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(Unsupported(
                "a client certificate needs both ssl.certificate.* and ssl.key.*".into(),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(kv: &[(&str, &str)]) -> Result<Security, Unsupported> {
        Security::from_properties(&kv.iter().copied().collect())
    }

    #[test]
    fn plaintext_by_default_and_sasl_mechanisms_read() {
        let s = sec(&[]).expect("plaintext");
        assert!(s.tls.is_none() && s.sasl.is_none());
        assert_eq!(s.client_id, "opsdeck");
        let s = sec(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "scram-sha-512"),
            ("sasl.username", "ops"),
            ("sasl.password", "pw "),
        ])
        .expect("scram");
        let sasl = s.sasl.expect("sasl");
        assert_eq!(sasl.mechanism, Mechanism::ScramSha512);
        assert_eq!(
            (sasl.username.as_str(), sasl.password.expose()),
            ("ops", "pw ")
        );
        let s = sec(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "PLAIN"),
        ]);
        assert_eq!(
            s.expect("plain").sasl.map(|s| s.mechanism),
            Some(Mechanism::Plain)
        );
    }

    #[test]
    fn what_the_batch_path_cannot_honour_is_unsupported_and_named() {
        let err = |kv: &[(&str, &str)]| sec(kv).expect_err("unsupported").0;
        assert_eq!(
            err(&[("security.protocol", "SASL_SSL")]),
            "sasl.mechanisms GSSAPI is not supported"
        );
        assert_eq!(
            err(&[
                ("security.protocol", "sasl_plaintext"),
                ("sasl.mechanisms", "OAUTHBEARER")
            ]),
            "sasl.mechanisms OAUTHBEARER is not supported"
        );
        assert_eq!(
            err(&[("security.protocol", "ssl"), ("ssl.cipher.suites", "X")]),
            "ssl.cipher.suites is not supported"
        );
        assert_eq!(
            err(&[
                ("security.protocol", "ssl"),
                ("enable.ssl.certificate.verification", "false")
            ]),
            "enable.ssl.certificate.verification=false is not supported"
        );
        assert_eq!(
            err(&[
                ("security.protocol", "ssl"),
                ("ssl.endpoint.identification.algorithm", "none")
            ]),
            "ssl.endpoint.identification.algorithm=none is not supported"
        );
        assert!(
            err(&[
                ("security.protocol", "ssl"),
                ("ssl.ca.location", "/nonexistent.pem")
            ])
            .starts_with("ssl.ca.location /nonexistent.pem: ")
        );
    }

    #[test]
    fn ssl_without_a_ca_setting_uses_the_system_store() {
        let s = sec(&[("security.protocol", "SSL")]).expect("ssl");
        assert!(s.tls.is_some() && s.sasl.is_none());
    }
}
