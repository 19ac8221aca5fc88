//! Starting a task as its job's Unix account. Everything of the job happens after the privilege
//! drop, in the child between fork and exec: supplementary groups, then gid, then uid; then the
//! base directory, and only then the input, output and error files are opened — so the kernel
//! checks every path against the account, never against the agent (root). A step that fails is
//! reported back through a pipe of its own, so the error names the file, not just an errno.

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::cm::account::Account;
use crate::cm::job::JobSpec;

/// What a task needs to start.
pub struct Launch<'a> {
    /// `JOB.N`.
    pub task: &'a str,
    /// Job id.
    pub job: u64,
    /// The manager user who submitted it.
    pub user: &'a str,
    /// The account it runs as.
    pub account: &'a Account,
    /// Become the account (the agent runs as root); otherwise the agent already is it.
    pub switch_user: bool,
    /// The job.
    pub spec: &'a JobSpec,
    /// Checkpoint directory (created by the caller).
    pub checkpoint_dir: &'a str,
    /// Where output goes that the job sends to no file: this job's spool directory.
    pub spool: &'a Path,
    /// `cgroup.procs` of the task's cgroup, opened for writing: the child joins it first.
    pub cgroup_procs: Option<&'a OwnedFd>,
    /// The epoch of the manager that asked for it (protocol §9).
    pub epoch: u64,
}

/// The files a task reads and writes, as the job named them or in the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFiles {
    /// Working directory.
    pub dir: PathBuf,
    /// Standard output.
    pub out: PathBuf,
    /// Standard error.
    pub err: PathBuf,
}

/// The base directory and output files of a task: relative paths are relative to the base
/// directory, which is the account's home when the job names none.
pub fn files(spec: &JobSpec, home: &Path, spool: &Path, task: &str) -> TaskFiles {
    let dir = match spec.dir.as_deref() {
        Some(d) if !d.is_empty() => home.join(d),
        _ => home.to_path_buf(),
    };
    let pick = |named: &Option<String>, ext: &str| match named.as_deref() {
        Some(p) if !p.is_empty() => dir.join(p),
        _ => spool.join(format!("{task}.{ext}")),
    };
    TaskFiles {
        out: pick(&spec.output, "out"),
        err: pick(&spec.error, "err"),
        dir: dir.clone(),
    }
}

/// The steps of a launch that can fail in the child, as reported through the pipe.
const STEPS: [(u8, &str); 8] = [
    (b'S', "starting a session"),
    (b'C', "joining the task's cgroup"),
    (b'L', "setting the memory limit"),
    (b'U', "becoming the job's user"),
    (b'B', "base directory"),
    (b'I', "input file"),
    (b'O', "output file"),
    (b'E', "error file"),
];

fn cstr(p: &Path) -> Result<CString, String> {
    CString::new(OsString::from(p.as_os_str()).into_vec())
        .map_err(|_| format!("{} contains a NUL byte", p.display()))
}

/// Starts the task; the error says what failed, in words.
pub fn spawn(l: &Launch<'_>) -> Result<tokio::process::Child, String> {
    let spec = l.spec;
    let f = files(spec, &l.account.home, l.spool, l.task);
    let dir = cstr(&f.dir)?;
    let input = match spec.input.as_deref() {
        Some(p) if !p.is_empty() => Some(cstr(&f.dir.join(p))?),
        _ => None,
    };
    let out = cstr(&f.out)?;
    let err = cstr(&f.err)?;
    let same = f.out == f.err;
    let append = spec.restart;
    let limit = spec.rss_limit;
    let (uid, gid, groups) = (l.account.uid, l.account.gid, l.account.groups.clone());
    let switch = l.switch_user;
    let cgroup = l.cgroup_procs.map(AsRawFd::as_raw_fd);
    let (report_r, report_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| format!("cannot make a pipe: {e}"))?;
    let _ = nix::fcntl::fcntl(
        &report_r,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    let report = report_w.as_raw_fd();

    let mut cmd = tokio::process::Command::new(&spec.exec);
    let path = std::env::var("GANTRY_JOB_PATH")
        .unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_string());
    // Nothing of the agent's environment reaches the job (it may hold the agent's secrets).
    cmd.args(&spec.args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &l.account.home)
        .env("USER", &l.account.name)
        .env("LOGNAME", &l.account.name)
        .env("SHELL", &l.account.shell)
        .env("GANTRY_JOB_ID", l.job.to_string())
        .env("GANTRY_EPOCH", l.epoch.to_string())
        .env("GANTRY_TASK_ID", l.task)
        .env("GANTRY_USER", l.user)
        .env("GANTRY_CHECKPOINT_DIR", l.checkpoint_dir)
        .env("GANTRY_RESTART", if spec.restart { "yes" } else { "no" })
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(false);
    if let Ok(lang) = std::env::var("LANG") {
        cmd.env("LANG", lang);
    }
    // SAFETY: between fork and exec only async-signal-safe calls are made (no allocation: every
    // string and list was made before the fork).
    unsafe {
        cmd.pre_exec(move || {
            let fail = |step: u8| -> std::io::Error {
                let e = std::io::Error::last_os_error();
                libc::write(report, [step].as_ptr().cast(), 1);
                e
            };
            if libc::setsid() < 0 {
                return Err(fail(b'S'));
            }
            // Nothing the agent holds open reaches the job (descriptors it inherited without
            // close-on-exec included).
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            // The agent may be shielded from the OOM killer; its jobs are not.
            let adj = c"/proc/self/oom_score_adj";
            let fd = libc::open(adj.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
            }
            if let Some(fd) = cgroup
                && libc::write(fd, b"0\n".as_ptr().cast(), 2) < 0
            {
                return Err(fail(b'C'));
            }
            if limit > 0 {
                // Linux does not enforce RLIMIT_RSS; the address-space limit is what holds.
                let r = libc::rlimit {
                    rlim_cur: limit as libc::rlim_t,
                    rlim_max: limit as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &r) != 0 {
                    return Err(fail(b'L'));
                }
            }
            if switch {
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(fail(b'U'));
                }
                // A complete drop cannot be undone.
                if uid != 0 && libc::setuid(0) == 0 {
                    return Err(fail(b'U'));
                }
            }
            libc::umask(0o022);
            if libc::chdir(dir.as_ptr()) != 0 {
                return Err(fail(b'B'));
            }
            let redirect = |path: &CString, flags: i32, to: i32, step: u8| {
                // Non-blocking, so a FIFO nobody opens from the other end fails (output) or
                // opens at once (input) instead of hanging the agent; then blocking again.
                let fd = libc::open(
                    path.as_ptr(),
                    flags | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY,
                    0o644,
                );
                if fd < 0 {
                    return Err(fail(step));
                }
                let fl = libc::fcntl(fd, libc::F_GETFL);
                if fl < 0 || libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK) < 0 {
                    return Err(fail(step));
                }
                if libc::dup2(fd, to) < 0 {
                    return Err(fail(step));
                }
                libc::close(fd);
                Ok(())
            };
            if let Some(p) = &input {
                redirect(p, libc::O_RDONLY, 0, b'I')?;
            }
            let wflags = libc::O_WRONLY
                | libc::O_CREAT
                | if append {
                    libc::O_APPEND
                } else {
                    libc::O_TRUNC
                };
            redirect(&out, wflags, 1, b'O')?;
            if same {
                if libc::dup2(1, 2) < 0 {
                    return Err(fail(b'E'));
                }
            } else {
                redirect(&err, wflags, 2, b'E')?;
            }
            Ok(())
        });
    }
    let spawned = cmd.spawn();
    drop(report_w);
    spawned.map_err(|e| {
        let mut step = [0u8; 1];
        let what = match nix::unistd::read(&report_r, &mut step) {
            Ok(1) => STEPS.iter().find(|(s, _)| *s == step[0]).map(|(_, w)| *w),
            _ => None,
        };
        let named = |p: &Path| format!(" {}", p.display());
        match what {
            Some(w @ "base directory") => format!("{w}{}: {e}", named(&f.dir)),
            Some(w @ "input file") => format!(
                "{w}{}: {e}",
                named(&f.dir.join(spec.input.as_deref().unwrap_or("")))
            ),
            Some(w @ "output file") => format!("{w}{}: {e}", named(&f.out)),
            Some(w @ "error file") => format!("{w}{}: {e}", named(&f.err)),
            Some(w) => format!("{w} ({}): {e}", l.account.name),
            None => format!("cannot execute {}: {e}", spec.exec),
        }
    })
}
