//! Remembered passwords in the OS keyring, through the keyring project's crates. On Linux head
//! nodes that is the kernel's keyutils store: the process first joins (or creates) a session
//! keyring, without which keyutils refuses access in containers and services. Secrets then live
//! in the user's persistent keyring — a cache that survives processes, not reboots. All calls
//! block: run them off the UI.

use std::sync::{Arc, OnceLock};

use keyring_core::{CredentialStore, Entry};

/// Why the keyring could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("keyring: {0}")]
pub struct KeyringError(pub String);

fn store() -> Result<Arc<CredentialStore>, KeyringError> {
    static STORE: OnceLock<Result<Arc<CredentialStore>, String>> = OnceLock::new();
    STORE
        .get_or_init(|| {
            use linux_keyutils::{KeyRing, KeyRingIdentifier};
            KeyRing::from_special_id(KeyRingIdentifier::Session, true)
                .map_err(|e| format!("no session keyring ({e:?})"))?;
            let s = linux_keyutils_keyring_store::Store::new()
                .map_err(|e| format!("keyutils store: {e}"))?;
            Ok(s as Arc<CredentialStore>)
        })
        .clone()
        .map_err(KeyringError)
}

fn entry(manager: &str, user: &str) -> Result<Entry, KeyringError> {
    Entry::new_in_store(&store()?, &format!("gantry:{manager}"), user)
        .map_err(|e| KeyringError(e.to_string()))
}

/// Saves a password for a manager and user.
pub fn save(manager: &str, user: &str, password: &str) -> Result<(), KeyringError> {
    entry(manager, user)?
        .set_password(password)
        .map_err(|e| KeyringError(e.to_string()))
}

/// The saved password, if any.
pub fn load(manager: &str, user: &str) -> Result<Option<String>, KeyringError> {
    match entry(manager, user)?.get_password() {
        Ok(p) => Ok(Some(p)),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(KeyringError(e.to_string())),
    }
}

/// Forgets a saved password; `Ok(false)` when there was none.
pub fn forget(manager: &str, user: &str) -> Result<bool, KeyringError> {
    match entry(manager, user)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring_core::Error::NoEntry) => Ok(false),
        Err(e) => Err(KeyringError(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_load_forget_against_keyutils() {
        let manager = format!("test-{}", std::process::id());
        match save(&manager, "alice", "s3cret") {
            Ok(()) => {}
            Err(e) => {
                println!("SKIPPED: the kernel keyring is not available here: {e}");
                return;
            }
        }
        assert_eq!(load(&manager, "alice").unwrap().as_deref(), Some("s3cret"));
        assert_eq!(load(&manager, "bob").unwrap(), None);
        assert!(forget(&manager, "alice").unwrap());
        assert_eq!(load(&manager, "alice").unwrap(), None);
        assert!(!forget(&manager, "alice").unwrap());
    }
}
