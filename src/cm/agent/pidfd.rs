//! Signals that cannot hit the wrong process. A pid can be reused once its process is gone; a
//! pidfd (Linux 5.3) keeps naming the process it was opened for. A process is signalled only
//! after its pidfd is open and its start time (and, where asked, its owner) checked — a reused
//! pid has another start time, and the pidfd of a gone process signals nothing.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A process, held by a pidfd.
#[derive(Debug)]
pub struct Pidfd {
    fd: OwnedFd,
    pid: u32,
}

/// What a process must be for a signal to reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    /// Its start time, in clock ticks since boot (`/proc/PID/stat` field 22); 0: not checked.
    pub start: u64,
    /// Its real user id; none: anyone's.
    pub uid: Option<u32>,
}

impl Pidfd {
    /// Opens a pidfd for `pid`.
    pub fn open(pid: u32) -> std::io::Result<Self> {
        let p = i32::try_from(pid).map_err(|_| std::io::Error::from_raw_os_error(libc::ESRCH))?;
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, p, 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the descriptor was just returned to us and is owned by nothing else.
        Ok(Self {
            fd: unsafe { OwnedFd::from_raw_fd(fd as i32) },
            pid,
        })
    }

    /// Opens a pidfd and checks that the process is the one expected: its start time, and its
    /// real uid. The checks are made after the open, so the pid cannot change under them.
    pub fn open_checked(pid: u32, want: Expect) -> std::io::Result<Self> {
        let me = Self::open(pid)?;
        let gone = || std::io::Error::from_raw_os_error(libc::ESRCH);
        if want.start != 0 && start_ticks(pid) != Some(want.start) {
            // The pid now names a process that started at another time: not the one meant.
            return Err(gone());
        }
        if let Some(uid) = want.uid {
            match real_uid(pid) {
                Some(u) if u == uid => {}
                Some(_) => return Err(std::io::Error::from_raw_os_error(libc::EPERM)),
                None => return Err(gone()),
            }
        }
        Ok(me)
    }

    /// The pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends a signal to exactly this process.
    pub fn signal(&self, sig: i32) -> std::io::Result<()> {
        // SAFETY: pidfd_send_signal on a descriptor we own, without siginfo.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Whether the process is still there (not yet exited).
    pub fn alive(&self) -> bool {
        self.signal(0).is_ok()
    }

    /// Waits until the process has exited (the pidfd becomes readable).
    pub async fn exited(&self) {
        // SAFETY: the descriptor is ours and stays open while `self` lives, which outlives the
        // `AsyncFd` made here (it is dropped at the end of this function).
        let registered = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(
                self.fd.as_raw_fd(),
                tokio::io::Interest::READABLE,
            )
        };
        let Ok(afd) = registered else {
            // Without the reactor, poll.
            while self.alive() {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            return;
        };
        let _ = afd.readable().await;
    }
}

/// A process's start time in clock ticks since boot (`/proc/PID/stat` field 22).
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.get(stat.rfind(')')? + 2..)?;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// A process's real user id.
pub fn real_uid(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_is_signalled_only_when_it_is_the_one_meant() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let start = start_ticks(pid).unwrap();
        let me = crate::cm::account::euid();
        // Another start time: refused, the process untouched.
        assert!(
            Pidfd::open_checked(
                pid,
                Expect {
                    start: start + 1,
                    uid: None
                }
            )
            .is_err()
        );
        // Another owner: refused.
        assert!(
            Pidfd::open_checked(
                pid,
                Expect {
                    start,
                    uid: Some(me + 1)
                }
            )
            .is_err()
        );
        let p = Pidfd::open_checked(
            pid,
            Expect {
                start,
                uid: Some(me),
            },
        )
        .unwrap();
        assert!(p.alive());
        p.signal(libc::SIGKILL).unwrap();
        let _ = child.wait();
        // Reaped: the pidfd signals nothing, whatever now has the pid.
        assert!(p.signal(libc::SIGKILL).is_err());
        assert!(!p.alive());
    }
}
