//! The client side of SCRAM (RFC 5802; SHA-256/512 as Kafka offers them, RFC 7677), pure
//! apart from the nonce, so the exchange is tested against the RFCs' vectors.
//!
//! The password is used as its UTF-8 bytes without SASLprep, as Kafka's own client and broker
//! (`ScramFormatter`) do: a broker would reject a prepped password it stored unprepped.

use std::num::NonZeroU32;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::{digest, hmac, pbkdf2};

#[derive(Clone, Copy)]
pub struct Algo {
    digest: &'static digest::Algorithm,
    hmac: hmac::Algorithm,
    pbkdf2: pbkdf2::Algorithm,
}

pub const SHA256: Algo = Algo {
    digest: &digest::SHA256,
    hmac: hmac::HMAC_SHA256,
    pbkdf2: pbkdf2::PBKDF2_HMAC_SHA256,
};

pub const SHA512: Algo = Algo {
    digest: &digest::SHA512,
    hmac: hmac::HMAC_SHA512,
    pbkdf2: pbkdf2::PBKDF2_HMAC_SHA512,
};

/// Only for RFC 5802's own test vector; Kafka has no SCRAM-SHA-1.
#[cfg(test)]
const SHA1: Algo = Algo {
    digest: &digest::SHA1_FOR_LEGACY_USE_ONLY,
    hmac: hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
    pbkdf2: pbkdf2::PBKDF2_HMAC_SHA1,
};

/// Iterations above this are refused: a hostile server could make the client spin.
const MAX_ITERATIONS: u32 = 1 << 20;

pub struct Client {
    algo: Algo,
    password: Vec<u8>,
    nonce: String,
    first_bare: String,
}

/// The state after the client's final message: what the server must prove.
pub struct Final {
    server_signature: Vec<u8>,
}

fn hmac(algo: Algo, key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(algo.hmac, key), data)
        .as_ref()
        .to_vec()
}

/// A fresh printable nonce (base64 of 24 random bytes: no ',' in it).
pub fn nonce() -> Result<String, String> {
    let mut b = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| "no random bytes for the SCRAM nonce".to_string())?;
    Ok(B64.encode(b))
}

impl Client {
    pub fn new(algo: Algo, username: &str, password: &str, nonce: String) -> Client {
        let name = username.replace('=', "=3D").replace(',', "=2C");
        Client {
            algo,
            password: password.as_bytes().to_vec(),
            first_bare: format!("n={name},r={nonce}"),
            nonce,
        }
    }

    /// client-first-message (no channel binding, no authzid).
    pub fn first(&self) -> String {
        format!("n,,{}", self.first_bare)
    }

    /// Answers server-first-message with client-final-message.
    pub fn respond(&self, server_first: &str) -> Result<(String, Final), String> {
        let attr = |k: char| {
            server_first
                .split(',')
                .find_map(|a| a.strip_prefix(k).and_then(|a| a.strip_prefix('=')))
        };
        if let Some(e) = attr('e') {
            return Err(format!("the broker refused SCRAM: {e}"));
        }
        let nonce = attr('r').ok_or("SCRAM: the broker sent no nonce")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err("SCRAM: the broker's nonce does not extend ours".into());
        }
        let salt = B64
            .decode(attr('s').ok_or("SCRAM: the broker sent no salt")?)
            .map_err(|_| "SCRAM: the broker's salt is not base64")?;
        let iterations: u32 = attr('i')
            .and_then(|i| i.parse().ok())
            .filter(|i| (1..=MAX_ITERATIONS).contains(i))
            .ok_or("SCRAM: the broker's iteration count is missing or out of range")?;
        let mut salted = vec![0u8; self.algo.digest.output_len()];
        pbkdf2::derive(
            self.algo.pbkdf2,
            NonZeroU32::new(iterations).ok_or("SCRAM: zero iterations")?,
            &salt,
            &self.password,
            &mut salted,
        );
        let client_key = hmac(self.algo, &salted, b"Client Key");
        let stored_key = digest::digest(self.algo.digest, &client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth = format!("{},{server_first},{without_proof}", self.first_bare);
        let signature = hmac(self.algo, stored_key.as_ref(), auth.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = hmac(self.algo, &salted, b"Server Key");
        Ok((
            format!("{without_proof},p={}", B64.encode(proof)),
            Final {
                server_signature: hmac(self.algo, &server_key, auth.as_bytes()),
            },
        ))
    }
}

impl Final {
    /// Checks server-final-message: the broker knows the password too (not an impostor).
    pub fn verify(&self, server_final: &str) -> Result<(), String> {
        if let Some(e) = server_final.strip_prefix("e=") {
            return Err(format!("the broker refused SCRAM: {e}"));
        }
        let v = server_final
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .ok_or("SCRAM: the broker's final message has no signature")?;
        match B64.decode(v) {
            Ok(sig) if sig == self.server_signature => Ok(()),
            _ => Err("SCRAM: the broker's signature is wrong (not the broker holding this user's credentials?)".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5802 section 5 (SCRAM-SHA-1): the same code with another hash.
    #[test]
    fn rfc5802_sha1_vector() {
        let c = Client::new(SHA1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL".into());
        assert_eq!(c.first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
        let (fin, check) = c
            .respond("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
            .expect("respond");
        assert_eq!(
            fin,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        check
            .verify("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")
            .expect("server signature");
        assert!(check.verify("v=rmF9pqV8S7suAoZWja4dJRkFsKQ").is_err());
    }

    /// RFC 7677 section 3 (SCRAM-SHA-256).
    #[test]
    fn rfc7677_sha256_vector() {
        let c = Client::new(SHA256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO".into());
        assert_eq!(c.first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let (fin, check) = c
            .respond(
                "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            )
            .expect("respond");
        assert_eq!(
            fin,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        check
            .verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .expect("server signature");
        assert!(
            check
                .verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=")
                .is_err()
        );
    }

    /// SHA-512 has no RFC vector: the broker's side computed here from the same definitions
    /// (StoredKey = H(HMAC(SaltedPassword, "Client Key"))) must accept the proof.
    #[test]
    fn sha512_proof_checks_out_against_the_stored_key() {
        let c = Client::new(SHA512, "o=ps,", "pw", "abc".into());
        assert_eq!(c.first(), "n,,n=o=3Dps=2C,r=abc");
        let first = "r=abcXYZ,s=c2FsdA==,i=4096";
        let (fin, _) = c.respond(first).expect("respond");
        let proof = B64
            .decode(fin.rsplit_once(",p=").expect("proof").1)
            .expect("b64");
        let mut salted = [0u8; 64];
        pbkdf2::derive(
            SHA512.pbkdf2,
            NonZeroU32::new(4096).expect("nonzero"),
            b"salt",
            b"pw",
            &mut salted,
        );
        let stored = digest::digest(SHA512.digest, &hmac(SHA512, &salted, b"Client Key"));
        let auth = format!("n=o=3Dps=2C,r=abc,{first},c=biws,r=abcXYZ");
        let sig = hmac(SHA512, stored.as_ref(), auth.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        assert_eq!(
            digest::digest(SHA512.digest, &client_key).as_ref(),
            stored.as_ref()
        );
    }

    #[test]
    fn hostile_or_failing_server_messages_are_refused() {
        let c = Client::new(SHA256, "u", "p", "abc".into());
        assert!(
            c.respond("r=xyz,s=c2FsdA==,i=4096").is_err(),
            "foreign nonce"
        );
        assert!(
            c.respond("r=abc,s=c2FsdA==,i=4096").is_err(),
            "nonce not extended"
        );
        assert!(c.respond("r=abcd,s=c2FsdA==,i=0").is_err());
        assert!(c.respond("r=abcd,s=c2FsdA==,i=99999999").is_err());
        assert_eq!(
            c.respond("e=unknown-user").err().as_deref(),
            Some("the broker refused SCRAM: unknown-user")
        );
        let (_, fin) = c.respond("r=abcd,s=c2FsdA==,i=4096").expect("ok");
        assert!(fin.verify("e=invalid-proof").is_err());
        assert!(nonce().expect("nonce").len() >= 32);
    }
}
