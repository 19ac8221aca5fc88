//! Directories the agent makes for a job (its spool and checkpoint directories), owned by the
//! job's account. The agent may be root and the paths lie where users can look, so every step
//! refuses to follow a symbolic link and the parent must belong to root or the agent alone.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::cm::account::{Account, euid};

/// Creates `parent` (mode 0711: users may pass through, not list) when missing; refuses one
/// that others could write to or swap.
pub fn private_parent(parent: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(parent)
        .map_err(|e| format!("{}: {e}", parent.display()))?;
    {
        // The umask may have taken the x bits the users need to pass through.
        let m =
            std::fs::symlink_metadata(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        if m.is_dir() && m.uid() == euid() && m.permissions().mode() & 0o7777 == 0o700 {
            let _ = std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o711));
        }
    }
    let meta =
        std::fs::symlink_metadata(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let me = euid();
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", parent.display()));
    }
    if meta.uid() != me && meta.uid() != 0 {
        return Err(format!(
            "{} belongs to uid {}, not to this agent: refusing to make job directories in it",
            parent.display(),
            meta.uid()
        ));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "{} may be written by others (mode {:o}): refusing to make job directories in it",
            parent.display(),
            meta.permissions().mode() & 0o7777
        ));
    }
    Ok(())
}

/// Makes `dir` (its parent checked by [`private_parent`]) owned by `account`, mode 0700; an
/// existing one must be a real directory.
pub fn owned_dir(dir: &Path, account: &Account) -> Result<(), String> {
    let name = || dir.display().to_string();
    if let Some(parent) = dir.parent() {
        private_parent(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{}: {e}", name())),
    }
    // Opened without following a link, then changed through the descriptor: nothing can be
    // swapped in between.
    let d = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)
        .map_err(|e| format!("{}: {e} (not a plain directory)", name()))?;
    let meta = d.metadata().map_err(|e| format!("{}: {e}", name()))?;
    if meta.uid() != account.uid && euid() == 0 {
        // SAFETY: fchown on a descriptor we own.
        if unsafe { libc::fchown(d.as_raw_fd(), account.uid, account.gid) } != 0 {
            return Err(format!("{}: {}", name(), std::io::Error::last_os_error()));
        }
    }
    d.set_permissions(std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("{}: {e}", name()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_open_parents_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let me = crate::cm::account::lookup(&crate::cm::account::name_of(euid()).unwrap()).unwrap();
        let ok = t.path().join("spool/7");
        owned_dir(&ok, &me).unwrap();
        let mode = std::fs::metadata(&ok).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::os::unix::fs::symlink("/etc", t.path().join("spool/8")).unwrap();
        assert!(owned_dir(&t.path().join("spool/8"), &me).is_err());
        let open = t.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = owned_dir(&open.join("1"), &me).unwrap_err();
        assert!(e.contains("may be written by others"), "{e}");
    }
}
