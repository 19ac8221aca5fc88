//! Directories the agent makes for a job (its spool and checkpoint directories), owned by the
//! job's account. The agent may be root and the paths lie where users can look, so every step
//! refuses to follow a symbolic link and the parent must belong to root or the agent alone.

use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

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

/// Opens `path` as a directory, walking it from `/` one component at a time without following
/// a link, and checking every directory on the way belongs to root or this agent and that no one
/// else may replace what is in it (not writable by others, or sticky). What is then made
/// through the descriptor cannot be redirected by a link swapped in meanwhile.
fn open_verified(path: &Path) -> Result<OwnedFd, String> {
    use nix::fcntl::{OFlag, open, openat};
    use nix::sys::stat::{Mode, fstat};
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .join(path)
    };
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let me = euid();
    let check = |fd: &OwnedFd, at: &Path| -> Result<(), String> {
        let st = fstat(fd).map_err(|e| format!("{}: {e}", at.display()))?;
        let mode = st.st_mode & 0o7777;
        if st.st_uid != 0 && st.st_uid != me {
            return Err(format!(
                "{} belongs to uid {}, not to root or this agent: refusing to make job directories below it",
                at.display(),
                st.st_uid
            ));
        }
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Err(format!(
                "{} may be changed by others (mode {mode:o}): refusing to make job directories below it",
                at.display()
            ));
        }
        Ok(())
    };
    let mut at = PathBuf::from("/");
    let mut fd = open("/", flags, Mode::empty()).map_err(|e| format!("/: {e}"))?;
    check(&fd, &at)?;
    for c in abs.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => {
                at.push(name);
                fd = openat(&fd, name, flags, Mode::empty())
                    .map_err(|e| format!("{}: {e} (not a plain directory?)", at.display()))?;
                check(&fd, &at)?;
            }
            Component::ParentDir | Component::Prefix(_) => {
                return Err(format!("{}: '..' is not taken here", path.display()));
            }
        }
    }
    Ok(fd)
}

/// Makes `dir` owned by `account`, mode 0700, below a parent that [`open_verified`] accepts; an
/// existing one must be a real directory.
pub fn owned_dir(dir: &Path, account: &Account) -> Result<(), String> {
    use nix::fcntl::{OFlag, openat};
    use nix::sys::stat::{Mode, fchmod, fstat, mkdirat};
    let (Some(parent), Some(leaf)) = (dir.parent(), dir.file_name()) else {
        return Err(format!("{} cannot be a job directory", dir.display()));
    };
    private_parent(parent)?;
    let pfd = open_verified(parent)?;
    match mkdirat(&pfd, leaf, Mode::from_bits_truncate(0o700)) {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    }
    let d = openat(
        &pfd,
        leaf,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("{}: {e} (not a plain directory)", dir.display()))?;
    let st = fstat(&d).map_err(|e| format!("{}: {e}", dir.display()))?;
    if st.st_uid != account.uid && euid() == 0 {
        nix::unistd::fchown(
            &d,
            Some(nix::unistd::Uid::from_raw(account.uid)),
            Some(nix::unistd::Gid::from_raw(account.gid)),
        )
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fchmod(&d, Mode::from_bits_truncate(0o700)).map_err(|e| format!("{}: {e}", dir.display()))?;
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
