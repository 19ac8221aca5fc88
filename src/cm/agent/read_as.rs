//! Reading a job's output with the rights of the job's account. An agent running as root opens
//! and reads the file on a thread of its own that has wholly become the account — groups, gid
//! and uid, real, effective and saved, which also empties its capabilities (credentials are per
//! thread in Linux; raw system calls change only that thread's) — so the kernel checks the path
//! and every read exactly as it would for the user; the thread ends with the identity. Files of
//! /proc are refused: their permissions are checked at read time, and `/proc/self` would name
//! the agent. An agent not running as root reads only for its own account.

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

/// Opens and reads on the calling thread, whose identity is already the right one.
fn read_here(path: &Path, offset: u64, max: u64) -> Result<(u64, Vec<u8>), ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = open_plain(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile(path.to_path_buf()));
    }
    // SAFETY: fstatfs into a zeroed struct of the right type, on a descriptor we own.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(std::os::fd::AsRawFd::as_raw_fd(&f), &mut fs) } == 0
        && fs.f_type == libc::PROC_SUPER_MAGIC
    {
        return Err(ReadError::NotAFile(path.to_path_buf()));
    }
    let size = meta.len();
    f.seek(SeekFrom::Start(offset.min(size))).map_err(io)?;
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf).map_err(io)?;
    Ok((size, buf))
}

/// Up to `max` bytes from `offset` of `path`, opened and read as `account`: (file size, bytes).
pub fn read_as(
    account: &Account,
    path: &Path,
    offset: u64,
    max: u64,
) -> Result<(u64, Vec<u8>), ReadError> {
    let me = euid();
    if me != 0 {
        if me != account.uid {
            return Err(ReadError::Foreign {
                agent: me,
                account: account.name.clone(),
            });
        }
        return read_here(path, offset, max);
    }
    if account.uid == 0 {
        return read_here(path, offset, max);
    }
    let (uid, gid, groups) = (account.uid, account.gid, account.groups.clone());
    let p = path.to_path_buf();
    std::thread::scope(|s| {
        s.spawn(move || {
            // SAFETY: raw system calls change this thread's credentials only (glibc's wrappers
            // would change every thread's); the thread ends when this closure returns.
            let became = unsafe {
                libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) == 0
                    && libc::syscall(libc::SYS_setresgid, gid, gid, gid) == 0
                    && libc::syscall(libc::SYS_setresuid, uid, uid, uid) == 0
            };
            if !became {
                return Err(ReadError::Io {
                    path: p.clone(),
                    source: std::io::Error::other("cannot take the account's identity"),
                });
            }
            read_here(&p, offset, max)
        })
        .join()
        .unwrap_or_else(|_| {
            Err(ReadError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other("the reading thread failed"),
            })
        })
    })
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
        assert!(matches!(
            read_as(&me, &fifo, 0, 10),
            Err(ReadError::NotAFile(_))
        ));
        // /proc is refused whatever it says (its permissions are checked at read time).
        assert!(matches!(
            read_as(&me, Path::new("/proc/self/maps"), 0, 10),
            Err(ReadError::NotAFile(_))
        ));
        std::fs::write(dir.path().join("x"), b"hello").unwrap();
        let (size, data) = read_as(&me, &dir.path().join("x"), 1, 3).unwrap();
        assert_eq!((size, data.as_slice()), (5, &b"ell"[..]));
    }
}
