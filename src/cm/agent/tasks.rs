//! The agent's tasks: real processes started as their job's Unix account (see `launch`), each
//! in its own session and, where it can be had, its own cgroup; remembered in a state file so
//! a restarted agent takes them back (`track`); signalled only through a pidfd (`pidfd`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

use super::pidfd::{Expect, Pidfd, start_ticks};
use super::track::{TaskFile, Tracker, cgroup_pids, kill_cgroup};
use super::{dirs, launch};
use crate::cm::account::{self, Account};
use crate::cm::job::JobSpec;

/// A task that ended: (task, pid, status — exit code, 128 + signal, or [`UNKNOWN_EXIT`]).
pub type Exit = (String, u32, i32);

/// The status of a task whose end this agent could not see (it ended, or was taken back,
/// while the agent was not running: only a process's parent learns its status).
pub const UNKNOWN_EXIT: i32 = -1;

#[derive(Debug)]
struct Running {
    pid: u32,
    done: watch::Receiver<Option<i32>>,
    leader: Arc<Pidfd>,
    cgroup: Option<PathBuf>,
}

/// The tasks this agent runs.
#[derive(Debug, Clone)]
pub struct Tasks {
    inner: Arc<Mutex<HashMap<String, Running>>>,
    tracker: Tracker,
}

/// What the manager asked to run, with where this agent keeps job spools.
pub struct RunTask<'a> {
    /// `JOB.N`.
    pub task: &'a str,
    /// Job id.
    pub job: u64,
    /// The manager user.
    pub user: &'a str,
    /// The Unix account to run as.
    pub account: &'a str,
    /// Whether the account may be root.
    pub root_ok: bool,
    /// The job.
    pub spec: &'a JobSpec,
    /// Checkpoint directory.
    pub checkpoint_dir: &'a str,
    /// This agent's spool root.
    pub spool_root: &'a std::path::Path,
    /// The epoch of the manager that asked.
    pub epoch: u64,
}

/// The account a task may run as on this node: it must exist here (through NSS), may be root
/// only when the manager allows it, and must be this agent's own when the agent is not root.
pub fn account_for(name: &str, root_ok: bool) -> Result<Account, String> {
    if name.is_empty() {
        return Err("the manager named no Unix account for this job".into());
    }
    let acct = account::lookup(name).map_err(|e| format!("on this node: {e}"))?;
    if acct.uid == 0 && !root_ok {
        return Err(format!(
            "the account '{name}' is root (uid 0), and the manager did not allow jobs to run as root"
        ));
    }
    let me = account::euid();
    if me != 0 && acct.uid != me {
        return Err(format!(
            "this agent runs as uid {me} and can run jobs only as that user, not as {name} (uid {})",
            acct.uid
        ));
    }
    Ok(acct)
}

impl Tasks {
    /// No tasks yet; tracked by `tracker`.
    pub fn new(tracker: Tracker) -> Self {
        Self {
            inner: Arc::default(),
            tracker,
        }
    }

    /// Takes back the tasks a previous run of this agent left running; those that ended
    /// meanwhile are reported ended, with their status unknown.
    pub fn adopt(&self, exits: &mpsc::UnboundedSender<Exit>) {
        for f in self.tracker.remembered() {
            if f.pid == 0 {
                // Recorded, never started (the agent stopped in between): nothing to take back,
                // and the manager learns from the task list that it never ran.
                self.tracker.forget(&f.task, None);
                continue;
            }
            let held = Pidfd::open_checked(
                f.pid,
                Expect {
                    start: f.start,
                    uid: Some(f.uid),
                },
            );
            match held {
                Ok(leader) => {
                    tracing::info!("took back task {} (pid {})", f.task, f.pid);
                    let leader = Arc::new(leader);
                    let (tx, rx) = watch::channel(None);
                    self.inner.lock().insert(
                        f.task.clone(),
                        Running {
                            pid: f.pid,
                            done: rx,
                            leader: leader.clone(),
                            cgroup: f.cgroup.clone(),
                        },
                    );
                    let me = self.clone();
                    let exits = exits.clone();
                    tokio::spawn(async move {
                        leader.exited().await;
                        me.ended(
                            &f.task,
                            f.pid,
                            f.cgroup.as_deref(),
                            UNKNOWN_EXIT,
                            &tx,
                            &exits,
                        );
                    });
                }
                Err(_) => {
                    tracing::info!(
                        "task {} (pid {}) ended while the agent was away",
                        f.task,
                        f.pid
                    );
                    self.tracker.forget(&f.task, f.cgroup.as_deref());
                    let _ = exits.send((f.task, f.pid, UNKNOWN_EXIT));
                }
            }
        }
    }

    /// A task's main process ended: whatever is left of it is killed, it is forgotten, and its
    /// exit is reported.
    fn ended(
        &self,
        task: &str,
        pid: u32,
        cgroup: Option<&Path>,
        status: i32,
        done: &watch::Sender<Option<i32>>,
        exits: &mpsc::UnboundedSender<Exit>,
    ) {
        self.tracker.forget(task, cgroup);
        self.inner.lock().remove(task);
        let _ = done.send(Some(status));
        let _ = exits.send((task.to_string(), pid, status));
    }

    /// Starts a task as its job's account; its exit is sent on `exits`.
    pub fn start(
        &self,
        r: &RunTask<'_>,
        exits: mpsc::UnboundedSender<Exit>,
    ) -> Result<u32, String> {
        if self.inner.lock().contains_key(r.task) {
            return Err(format!("task {} is already running here", r.task));
        }
        let acct = account_for(r.account, r.root_ok)?;
        let spool = r.spool_root.join(r.job.to_string());
        dirs::owned_dir(&spool, &acct).map_err(|e| format!("spool directory: {e}"))?;
        if !r.checkpoint_dir.is_empty() {
            dirs::owned_dir(std::path::Path::new(r.checkpoint_dir), &acct)
                .map_err(|e| format!("checkpoint directory: {e}"))?;
        }
        // Recorded before anything runs: an agent that cannot keep a task's state (a full
        // disk) must not start what its next start could not take back. The record names no
        // process yet (pid 0: never started, if the agent dies before the next line).
        self.tracker
            .record(&TaskFile {
                task: r.task.to_string(),
                pid: 0,
                start: 0,
                uid: acct.uid,
                cgroup: None,
            })
            .map_err(|e| format!("the task's state could not be saved ({e}); it was not run"))?;
        let cgroup = self.tracker.prepare(r.task);
        let spawned = launch::spawn(&launch::Launch {
            task: r.task,
            job: r.job,
            user: r.user,
            account: &acct,
            switch_user: account::euid() == 0,
            spec: r.spec,
            checkpoint_dir: r.checkpoint_dir,
            spool: &spool,
            cgroup_procs: cgroup.as_ref().map(|c| &c.1),
            epoch: r.epoch,
        });
        let cgroup = cgroup.map(|c| c.0);
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                self.tracker.forget(r.task, cgroup.as_deref());
                return Err(e);
            }
        };
        let Some(pid) = child.id() else {
            self.tracker.forget(r.task, cgroup.as_deref());
            return Err("the process ended at once".into());
        };
        // Our child is not reaped before we wait for it: the pid is still its own here.
        let held = Pidfd::open(pid)
            .map_err(|e| format!("pidfd of {pid}: {e}"))
            .and_then(|leader| {
                self.tracker
                    .record(&TaskFile {
                        task: r.task.to_string(),
                        pid,
                        start: start_ticks(pid).unwrap_or(0),
                        uid: acct.uid,
                        cgroup: cgroup.clone(),
                    })
                    .map(|()| leader)
            });
        let leader = match held {
            Ok(l) => Arc::new(l),
            Err(e) => {
                // Not held or not recorded, it would run out of anyone's control: stopped at
                // once, and refused.
                tracing::error!("task {} stopped at once: {e}", r.task);
                if let Some(c) = &cgroup {
                    kill_cgroup(c);
                }
                // Its own process group (launch makes it a session leader), its leader not
                // yet reaped: the group's id cannot have been reused.
                if let Ok(g) = i32::try_from(pid) {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(g),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let (me, task) = (self.clone(), r.task.to_string());
                tokio::spawn(async move {
                    let _ = child.wait().await;
                    // What it forked may still be dying: forget kills it and retries the
                    // cgroup's removal, and removes the record.
                    let _ = tokio::task::spawn_blocking(move || {
                        me.tracker.forget(&task, cgroup.as_deref());
                    })
                    .await;
                });
                return Err(format!("{e}; it was stopped at once"));
            }
        };
        let (tx, rx) = watch::channel(None);
        self.inner.lock().insert(
            r.task.to_string(),
            Running {
                pid,
                done: rx,
                leader,
                cgroup: cgroup.clone(),
            },
        );
        let (me, task) = (self.clone(), r.task.to_string());
        tokio::spawn(async move {
            use std::os::unix::process::ExitStatusExt;
            let status = match child.wait().await {
                Ok(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
                Err(_) => UNKNOWN_EXIT,
            };
            me.ended(&task, pid, cgroup.as_deref(), status, &tx, &exits);
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

    /// Sends a signal to every process of the task whose main process is `pid` (false: no
    /// such task here). Through the cgroup where there is one; else to the process group, and
    /// only while its leader lives (so the group's id cannot have been reused).
    pub fn signal_task(&self, pid: u32, sig: i32) -> Option<std::io::Result<()>> {
        let (leader, cgroup) = {
            let map = self.inner.lock();
            let r = map.values().find(|r| r.pid == pid)?;
            (r.leader.clone(), r.cgroup.clone())
        };
        Some(signal_all(&leader, cgroup.as_deref(), sig))
    }

    /// Whether `pid` is one of task `task`'s processes (in its cgroup, or below its main
    /// process).
    pub fn owns(&self, task: &str, pid: u32) -> bool {
        let (root, cgroup) = {
            let map = self.inner.lock();
            let Some(r) = map.get(task) else {
                return false;
            };
            (r.pid, r.cgroup.clone())
        };
        match cgroup {
            Some(c) => cgroup_pids(&c).contains(&pid),
            None => descends_from(pid, root),
        }
    }

    /// Stops a task: SIGTERM to all of it, SIGKILL after `grace`; its exit status.
    pub async fn stop(&self, task: &str, grace: Duration) -> Result<i32, String> {
        let (pid, mut done, leader, cgroup) = {
            let map = self.inner.lock();
            let r = map
                .get(task)
                .ok_or_else(|| format!("no task {task} here"))?;
            (r.pid, r.done.clone(), r.leader.clone(), r.cgroup.clone())
        };
        let _ = signal_all(&leader, cgroup.as_deref(), libc::SIGTERM);
        let timed_out = tokio::time::timeout(grace, done.wait_for(Option::is_some))
            .await
            .is_err();
        if timed_out {
            match &cgroup {
                Some(c) => kill_cgroup(c),
                None => {
                    let _ = signal_all(&leader, None, libc::SIGKILL);
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(10), done.wait_for(Option::is_some))
                .await
                .is_ok();
        }
        let status = *done.borrow();
        status.ok_or_else(|| format!("task {task} (pid {pid}) did not end"))
    }

    /// Stops every task (an agent told to end its tasks when it stops).
    pub async fn stop_all(&self, grace: Duration) {
        let names: Vec<String> = self.inner.lock().keys().cloned().collect();
        let stops = names.iter().map(|t| self.stop(t, grace));
        futures_util::future::join_all(stops).await;
    }
}

fn signal_all(leader: &Pidfd, cgroup: Option<&Path>, sig: i32) -> std::io::Result<()> {
    match cgroup {
        Some(c) => {
            let mut any = false;
            for p in cgroup_pids(c) {
                // Held first, then checked to be in the cgroup still: never a reused pid.
                if let Ok(fd) = Pidfd::open(p)
                    && in_cgroup(p, c)
                    && fd.signal(sig).is_ok()
                {
                    any = true;
                }
            }
            if any || leader.signal(sig).is_ok() {
                Ok(())
            } else {
                Err(std::io::Error::from_raw_os_error(libc::ESRCH))
            }
        }
        None => {
            leader.signal(sig)?;
            if let Ok(p) = i32::try_from(leader.pid()) {
                // The leader lives (the signal above reached it), so its group is still its.
                // SAFETY: kill of the process group the live leader heads.
                unsafe { libc::kill(-p, sig) };
            }
            Ok(())
        }
    }
}

/// Whether `pid` is in cgroup `c` (by `/proc/PID/cgroup`'s v2 line).
fn in_cgroup(pid: u32, c: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
        return false;
    };
    let want = c.to_string_lossy();
    text.lines()
        .filter_map(|l| l.strip_prefix("0::"))
        .any(|rel| want.ends_with(rel))
}

/// Whether `pid` is `root` or below it in the process tree.
fn descends_from(pid: u32, root: u32) -> bool {
    let mut p = pid;
    for _ in 0..64 {
        if p == root {
            return true;
        }
        let Some(parent) = std::fs::read_to_string(format!("/proc/{p}/stat"))
            .ok()
            .and_then(|s| {
                let after = s.get(s.rfind(')')? + 2..)?.to_string();
                after.split_whitespace().nth(1)?.parse::<u32>().ok()
            })
        else {
            return false;
        };
        if parent <= 1 {
            return false;
        }
        p = parent;
    }
    false
}
