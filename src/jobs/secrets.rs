//! Remembered passwords in the OS keyring, through the keyring project's crates: the desktop's
//! Secret Service (GNOME Keyring, KWallet) when a D-Bus session answers, else — as on headless
//! head nodes — the kernel's keyutils store. For keyutils the process first joins (or creates) a
//! session keyring, without which keyutils refuses access in containers and services; secrets
//! then live in the user's persistent keyring, a cache that survives processes, not reboots.
//! All calls block: run them off the UI.

use std::sync::{Arc, OnceLock};

use keyring_core::{CredentialStore, Entry};

/// Why the keyring could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("keyring: {0}")]
pub struct KeyringError(pub String);

/// Whether a D-Bus session bus is there to ask.
fn session_bus() -> bool {
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|d| std::path::Path::new(&d).join("bus").exists())
}

/// The Secret Service, if it answers (a probe lookup must come back "no entry").
fn secret_service() -> Option<Arc<CredentialStore>> {
    if !session_bus() {
        return None;
    }
    let s = zbus_secret_service_keyring_store::Store::new().ok()? as Arc<CredentialStore>;
    let probe = Entry::new_in_store(&s, "gantry:probe", "nobody").ok()?;
    match probe.get_password() {
        Ok(_) | Err(keyring_core::Error::NoEntry) => Some(s),
        Err(e) => {
            tracing::info!("Secret Service not usable ({e}); using the kernel keyring");
            None
        }
    }
}

fn store_and_name() -> Result<(Arc<CredentialStore>, &'static str), KeyringError> {
    type Chosen = Result<(Arc<CredentialStore>, &'static str), String>;
    static STORE: OnceLock<Chosen> = OnceLock::new();
    STORE
        .get_or_init(|| {
            if let Some(s) = secret_service() {
                return Ok((s, "Secret Service"));
            }
            use linux_keyutils::{KeyRing, KeyRingIdentifier};
            KeyRing::from_special_id(KeyRingIdentifier::Session, true)
                .map_err(|e| format!("no session keyring ({e:?})"))?;
            let s = linux_keyutils_keyring_store::Store::new()
                .map_err(|e| format!("keyutils store: {e}"))?;
            Ok((s as Arc<CredentialStore>, "kernel keyring"))
        })
        .clone()
        .map_err(KeyringError)
}

fn store() -> Result<Arc<CredentialStore>, KeyringError> {
    store_and_name().map(|(s, _)| s)
}

/// Which keyring is in use: "Secret Service" or "kernel keyring".
pub fn backend() -> Result<&'static str, KeyringError> {
    store_and_name().map(|(_, n)| n)
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
    fn store_load_forget_in_the_os_keyring() {
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
