//! The agent's tasks: real processes started as a job asks (executable, arguments, base
//! directory, input on stdin, output and error files, job id and checkpoint directory in the
//! environment, memory limit with setrlimit), each in its own session so a signal reaches the
//! whole tree; waited on so their exit status is reported.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

use crate::cm::job::JobSpec;

/// A task that ended: (task, pid, status — exit code, or 128 + signal).
pub type Exit = (String, u32, i32);

#[derive(Debug)]
struct Running {
    pid: u32,
    done: watch::Receiver<Option<i32>>,
}

/// The tasks this agent runs.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    inner: Arc<Mutex<HashMap<String, Running>>>,
}

fn open_out(path: &str, append: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
}

/// Looks a local user up: (uid, gid).
fn local_user(name: &str) -> Option<(u32, u32)> {
    std::fs::read_to_string("/etc/passwd")
        .ok()?
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name))
                .then(|| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))?
        })
}

impl Tasks {
    /// Starts a task; its exit is sent on `exits`. When the agent runs as root and `user` exists
    /// here, the process runs as that user.
    pub fn start(
        &self,
        task: &str,
        job: u64,
        user: &str,
        spec: &JobSpec,
        checkpoint_dir: &str,
        exits: mpsc::UnboundedSender<Exit>,
    ) -> Result<u32, String> {
        if self.inner.lock().contains_key(task) {
            return Err(format!("task {task} is already running here"));
        }
        if !checkpoint_dir.is_empty() {
            std::fs::create_dir_all(checkpoint_dir)
                .map_err(|e| format!("checkpoint directory {checkpoint_dir}: {e}"))?;
        }
        let mut cmd = tokio::process::Command::new(&spec.exec);
        cmd.args(&spec.args)
            .env("GANTRY_JOB_ID", job.to_string())
            .env("GANTRY_TASK_ID", task)
            .env("GANTRY_CHECKPOINT_DIR", checkpoint_dir)
            .env("GANTRY_RESTART", if spec.restart { "yes" } else { "no" })
            .kill_on_drop(false);
        if let Some(d) = &spec.dir {
            cmd.current_dir(d);
        }
        let stdin = match &spec.input {
            Some(p) => Stdio::from(File::open(p).map_err(|e| format!("input file {p}: {e}"))?),
            None => Stdio::null(),
        };
        // A restarted task continues its files instead of wiping them.
        let out = |p: &Option<String>, what: &str| -> Result<Stdio, String> {
            match p {
                Some(p) => open_out(p, spec.restart)
                    .map(Stdio::from)
                    .map_err(|e| format!("{what} file {p}: {e}")),
                None => Ok(Stdio::null()),
            }
        };
        cmd.stdin(stdin)
            .stdout(out(&spec.output, "output")?)
            .stderr(out(&spec.error, "error")?);
        let limit = spec.rss_limit;
        // SAFETY: geteuid is always safe.
        let drop_to = if unsafe { libc::geteuid() } == 0 && user != "root" {
            local_user(user)
        } else {
            None
        };
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::setsid();
                if limit > 0 {
                    // Linux does not enforce RLIMIT_RSS; the address-space limit is what holds.
                    let r = libc::rlimit {
                        rlim_cur: limit as libc::rlim_t,
                        rlim_max: limit as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_AS, &r) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if let Some((uid, gid)) = drop_to
                    && (libc::setgid(gid) != 0 || libc::setuid(uid) != 0)
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", spec.exec))?;
        let pid = child.id().ok_or("the process ended at once")?;
        let (tx, rx) = watch::channel(None);
        self.inner
            .lock()
            .insert(task.to_string(), Running { pid, done: rx });
        let (inner, task) = (self.inner.clone(), task.to_string());
        tokio::spawn(async move {
            use std::os::unix::process::ExitStatusExt;
            let status = match child.wait().await {
                Ok(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
                Err(_) => -1,
            };
            inner.lock().remove(&task);
            let _ = tx.send(Some(status));
            let _ = exits.send((task, pid, status));
        });
        Ok(pid)
    }

    /// (task, pid) of everything running.
    pub fn list(&self) -> Vec<(String, u32)> {
        self.inner
            .lock()
            .iter()
            .map(|(t, r)| (t.clone(), r.pid))
            .collect()
    }

    /// Root pid → task, for process reports.
    pub fn roots(&self) -> HashMap<u32, String> {
        self.inner
            .lock()
            .iter()
            .map(|(t, r)| (r.pid, t.clone()))
            .collect()
    }

    /// Stops a task: SIGTERM to its process group, SIGKILL after `grace`; its exit status.
    pub async fn stop(&self, task: &str, grace: Duration) -> Result<i32, String> {
        let (pid, mut done) = {
            let map = self.inner.lock();
            let r = map
                .get(task)
                .ok_or_else(|| format!("no task {task} here"))?;
            (r.pid, r.done.clone())
        };
        signal_group(pid, libc::SIGTERM);
        let timed_out = tokio::time::timeout(grace, done.wait_for(Option::is_some))
            .await
            .is_err();
        if timed_out {
            signal_group(pid, libc::SIGKILL);
            let _ = tokio::time::timeout(Duration::from_secs(10), done.wait_for(Option::is_some))
                .await
                .is_ok();
        }
        let status = *done.borrow();
        status.ok_or_else(|| format!("task {task} (pid {pid}) did not end"))
    }
}

/// Signals a process and its group (tasks lead their own session).
pub fn signal_group(pid: u32, sig: i32) -> bool {
    let Ok(p) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with a checked pid; -p addresses the group it leads.
    unsafe {
        let direct = libc::kill(p, sig) == 0;
        let _ = libc::kill(-p, sig);
        direct
    }
}
