//! Secrets come from the environment, a file or a command, and are never shown: `Secret`'s
//! Debug and Display print a placeholder, and URLs are redacted before they reach a screen,
//! a log line, an error message or the audit log.

use std::fmt;
use std::process::Command;

/// Where a secret comes from. At most one of these may be set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretSpec {
    /// Inline secret (discouraged: a warning is printed when the file is readable by others).
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    /// A shell command whose first output line is the secret.
    pub password_command: Option<String>,
}

/// Implements `secret()` for a config entry with the four `password*` keys (serde's
/// flatten cannot be combined with deny_unknown_fields, so the keys are written out).
macro_rules! secret_fields {
    ($t:ty) => {
        impl $t {
            pub fn secret(&self) -> $crate::secrets::SecretSpec {
                $crate::secrets::SecretSpec {
                    password: self.password.clone(),
                    password_env: self.password_env.clone(),
                    password_file: self.password_file.clone(),
                    password_command: self.password_command.clone(),
                }
            }
        }
    };
}
pub(crate) use secret_fields;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The only way to read the value: at the point it is handed to a client library.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl SecretSpec {
    pub fn count(&self) -> usize {
        [
            &self.password,
            &self.password_env,
            &self.password_file,
            &self.password_command,
        ]
        .iter()
        .filter(|v| v.is_some())
        .count()
    }

    /// Resolves the secret. Errors never contain the secret itself.
    pub fn resolve(&self) -> Result<Option<Secret>, String> {
        if let Some(p) = &self.password {
            return Ok(Some(Secret::new(p.clone())));
        }
        if let Some(var) = &self.password_env {
            return std::env::var(var)
                .map(|v| Some(Secret::new(v)))
                .map_err(|_| format!("environment variable {var} (password_env) is not set"));
        }
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read password_file {path}: {e}"))?;
            return Ok(Some(Secret::new(
                text.lines().next().unwrap_or("").to_string(),
            )));
        }
        if let Some(cmd) = &self.password_command {
            let text = run_bounded(cmd, COMMAND_TIMEOUT)?;
            return Ok(Some(Secret::new(
                text.lines().next().unwrap_or("").to_string(),
            )));
        }
        Ok(None)
    }

    /// `resolve` on a blocking thread, so a slow secret helper (a password manager waiting
    /// for a touch, a hung vault) never holds a runtime thread the console needs.
    pub async fn resolve_async(&self) -> Result<Option<Secret>, String> {
        if self.password_command.is_none() {
            // An inline value, a variable or a file: nothing that can hang.
            return self.resolve();
        }
        let spec = self.clone();
        tokio::task::spawn_blocking(move || spec.resolve())
            .await
            .map_err(|e| format!("password lookup failed: {e}"))?
    }
}

/// Longest a `password_command` may take.
pub const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `cmd` with `sh -c`, its output read as it comes, killed after `timeout`.
fn run_bounded(cmd: &str, timeout: std::time::Duration) -> Result<String, String> {
    use std::io::Read;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run password_command: {e}"))?;
    let mut stdout = child.stdout.take();
    // A reader thread keeps the pipe drained, so a chatty helper cannot block on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut out);
        }
        out
    });
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "password_command gave no answer within {}s and was stopped: it must print the secret and exit",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => return Err(format!("password_command: {e}")),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("password_command exited with {status}"));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Replaces the password of `scheme://user:password@host` URLs (anywhere in `text`) with `***`.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority_end = tail[..end].find('/').unwrap_or(end);
        let authority = &tail[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon]);
                out.push_str(":***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

/// Removes every known secret value from a text (e.g. a server's error message that echoes it).
pub fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = redact_urls(text);
    for s in secrets {
        if s.expose().len() >= 3 {
            out = out.replace(s.expose(), "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_urls("connect postgres://app:hunter2@db:5432/x failed"),
            "connect postgres://app:***@db:5432/x failed"
        );
        assert_eq!(redact_urls("redis://:pw@h:1"), "redis://:***@h:1");
        assert_eq!(redact_urls("redis://h:6379/0"), "redis://h:6379/0");
        assert_eq!(redact_urls("no url"), "no url");
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(scrub("auth hunter2 failed", &[&s]), "auth *** failed");
    }

    #[test]
    fn a_hung_password_command_is_killed_with_a_clear_error() {
        let e = run_bounded("sleep 30", std::time::Duration::from_millis(300)).unwrap_err();
        assert!(e.contains("no answer within"), "{e}");
        assert_eq!(
            run_bounded("echo s3cret; echo more", COMMAND_TIMEOUT).unwrap(),
            "s3cret\nmore\n"
        );
        assert!(
            run_bounded("exit 3", COMMAND_TIMEOUT)
                .unwrap_err()
                .contains("exited")
        );
    }

    #[test]
    fn resolves_env_file_and_command() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "from-file\n").unwrap();
        let spec = SecretSpec {
            password_file: Some(f.display().to_string()),
            ..Default::default()
        };
        assert_eq!(spec.resolve().unwrap().unwrap().expose(), "from-file");
        let spec = SecretSpec {
            password_command: Some("echo from-cmd".into()),
            ..Default::default()
        };
        assert_eq!(spec.resolve().unwrap().unwrap().expose(), "from-cmd");
        let spec = SecretSpec {
            password_env: Some("OPSDECK_TEST_UNSET_VAR".into()),
            ..Default::default()
        };
        assert!(
            spec.resolve()
                .unwrap_err()
                .contains("OPSDECK_TEST_UNSET_VAR")
        );
    }
}
