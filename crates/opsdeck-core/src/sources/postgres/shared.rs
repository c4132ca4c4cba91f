//! The one connection of a PostgreSQL source, shared by its poller and its actions. An
//! action must work exactly when the server is out of connection slots, so it never opens
//! a second one while the poller holds one: it borrows the poller's, between two polls.
//!
//! The poller registers its slot under its spec; an action for the same spec finds it
//! there. With no poller alive (a one-shot command), the action connects on its own.

use std::sync::{Arc, Mutex, Weak};

use sqlx::postgres::PgConnection;

use super::PostgresSpec;

/// The source's connection; None while disconnected.
pub type Slot = Arc<tokio::sync::Mutex<Option<PgConnection>>>;

type Entries = Vec<(PostgresSpec, Weak<tokio::sync::Mutex<Option<PgConnection>>>)>;

static REGISTRY: Mutex<Entries> = Mutex::new(Vec::new());

fn registry() -> std::sync::MutexGuard<'static, Entries> {
    // A panic while holding this lock leaves the list intact: keep using it.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// A new, empty slot for a poller of `spec`, findable by actions while the poller lives.
pub fn register(spec: &PostgresSpec) -> Slot {
    let slot: Slot = Arc::new(tokio::sync::Mutex::new(None));
    let mut r = registry();
    r.retain(|(_, w)| w.strong_count() > 0);
    r.push((spec.clone(), Arc::downgrade(&slot)));
    slot
}

/// The slot of the newest live poller of `spec`.
pub fn find(spec: &PostgresSpec) -> Option<Slot> {
    registry()
        .iter()
        .rev()
        .filter(|(s, _)| s == spec)
        .find_map(|(_, w)| w.upgrade())
}

/// Whether an error leaves the connection unusable (as opposed to one failed statement):
/// the socket, or the server ending the session (SQLSTATE 57P*, 08*).
pub fn broken(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_finds_the_live_poller_of_its_spec_only() {
        let spec = PostgresSpec {
            name: "registry-test".into(),
            url: "postgres://x@127.0.0.1:1/db".into(),
            ..Default::default()
        };
        let other = PostgresSpec {
            name: "registry-test-2".into(),
            ..spec.clone()
        };
        assert!(find(&spec).is_none());
        let slot = register(&spec);
        assert!(find(&spec).is_some_and(|s| Arc::ptr_eq(&s, &slot)));
        assert!(find(&other).is_none());
        drop(slot);
        assert!(find(&spec).is_none());
    }
}
