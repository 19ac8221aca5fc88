//! Unix accounts, looked up through NSS (`getpwnam_r`, `getgrouplist`), so accounts from LDAP
//! or SSSD work as well as local ones. Jobs run as an account; nothing here reads /etc/passwd.

use std::ffi::CString;
use std::path::PathBuf;

/// A Unix account and everything needed to become it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Every group the account is in, the primary one included (what `initgroups` would set).
    pub groups: Vec<u32>,
    /// Home directory (a job's base directory when it names none).
    pub home: PathBuf,
    /// Login shell.
    pub shell: PathBuf,
}

/// Why an account could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// NSS knows no such account.
    #[error("no Unix account '{0}' (NSS knows none by that name)")]
    Missing(String),
    /// The name cannot be an account name.
    #[error("'{0}' cannot be a Unix account name")]
    BadName(String),
    /// The lookup itself failed (an unreachable directory service, say).
    #[error("looking up the Unix account '{name}': {source}")]
    Lookup {
        /// The name.
        name: String,
        /// What failed.
        source: nix::Error,
    },
}

/// Looks an account up by name, with its groups.
pub fn lookup(name: &str) -> Result<Account, AccountError> {
    if name.is_empty() || name.contains(['\0', '/', ':', '\n']) {
        return Err(AccountError::BadName(name.to_string()));
    }
    let failed = |source| AccountError::Lookup {
        name: name.to_string(),
        source,
    };
    let u = nix::unistd::User::from_name(name)
        .map_err(failed)?
        .ok_or_else(|| AccountError::Missing(name.to_string()))?;
    let cname = CString::new(name).map_err(|_| AccountError::BadName(name.to_string()))?;
    let mut groups: Vec<u32> = nix::unistd::getgrouplist(&cname, u.gid)
        .map_err(failed)?
        .into_iter()
        .map(|g| g.as_raw())
        .collect();
    if !groups.contains(&u.gid.as_raw()) {
        groups.insert(0, u.gid.as_raw());
    }
    Ok(Account {
        name: u.name,
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
        groups,
        home: u.dir,
        shell: u.shell,
    })
}

/// The name of a user id, through NSS.
pub fn name_of(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// The effective user id of this process.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_with_its_groups_and_strangers_are_not() {
        let root = lookup("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups.contains(&0));
        assert_eq!(name_of(0).as_deref(), Some("root"));
        assert!(matches!(
            lookup("no-such-user-gantry"),
            Err(AccountError::Missing(_))
        ));
        assert!(matches!(lookup("a/b"), Err(AccountError::BadName(_))));
        assert!(matches!(lookup(""), Err(AccountError::BadName(_))));
    }
}
