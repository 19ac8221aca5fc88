//! Reading a job's output with the rights of the job's account. An agent running as root opens
//! the file on a thread of its own whose file-system identity (fsuid, fsgid and supplementary
//! groups — per thread in Linux) is the account's: the kernel then checks the path exactly as
//! it would for the user, and the thread ends with the identity. An agent not running as root
//! reads only for its own account.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::cm::account::{Account, euid};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening or reading failed (as the account).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Not a regular file (a FIFO or device would block or never end).
    #[error("{0} is not a regular file")]
    NotAFile(PathBuf),
    /// This agent cannot act as that account.
    #[error("this agent runs as uid {agent} and cannot read files as {account}")]
    Foreign {
        /// The agent's uid.
        agent: u32,
        /// The account.
        account: String,
    },
}

fn open_plain(path: &Path) -> std::io::Result<File> {
    // Non-blocking: opening a FIFO must not hang the agent.
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// Opens `path` for reading as `account`.
pub fn open_as(account: &Account, path: &Path) -> Result<File, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let me = euid();
    let file = if me != 0 {
        if me != account.uid {
            return Err(ReadError::Foreign {
                agent: me,
                account: account.name.clone(),
            });
        }
        open_plain(path).map_err(io)?
    } else if account.uid == 0 {
        open_plain(path).map_err(io)?
    } else {
        let (uid, gid, groups) = (account.uid, account.gid, account.groups.clone());
        let p = path.to_path_buf();
        let opened = std::thread::scope(|s| {
            s.spawn(move || -> std::io::Result<File> {
                // SAFETY: raw syscalls change this thread's credentials only (glibc's wrappers
                // would change every thread's); the thread ends right after the open.
                unsafe {
                    if libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::setfsgid(gid);
                    libc::setfsuid(uid);
                    // setfsuid answers the previous id: asking again proves the change held.
                    if libc::setfsuid(uid) as u32 != uid || libc::setfsgid(gid) as u32 != gid {
                        return Err(std::io::Error::other("cannot take the account's identity"));
                    }
                }
                open_plain(&p)
            })
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reading thread failed")))
        });
        opened.map_err(io)?
    };
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile(path.to_path_buf()));
    }
    Ok(file)
}

/// Up to `max` bytes from `offset` of `path`, read as `account`: (file size, bytes).
pub fn read_as(
    account: &Account,
    path: &Path,
    offset: u64,
    max: u64,
) -> Result<(u64, Vec<u8>), ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = open_as(account, path)?;
    let size = f.metadata().map_err(io)?.len();
    f.seek(SeekFrom::Start(offset.min(size))).map_err(io)?;
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf).map_err(io)?;
    Ok((size, buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let me = crate::cm::account::lookup(&crate::cm::account::name_of(euid()).unwrap()).unwrap();
        assert!(matches!(open_as(&me, &fifo), Err(ReadError::NotAFile(_))));
        std::fs::write(dir.path().join("x"), b"hello").unwrap();
        let (size, data) = read_as(&me, &dir.path().join("x"), 1, 3).unwrap();
        assert_eq!((size, data.as_slice()), (5, &b"ell"[..]));
    }
}
