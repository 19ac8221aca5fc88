//! The agent's tasks: real processes started as their job's Unix account (see `launch`), each
//! in its own session so a signal reaches the whole tree; waited on so their exit status is
//! reported.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

use super::{dirs, launch};
use crate::cm::account::{self, Account};
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
        let mut child = launch::spawn(&launch::Launch {
            task: r.task,
            job: r.job,
            user: r.user,
            account: &acct,
            switch_user: account::euid() == 0,
            spec: r.spec,
            checkpoint_dir: r.checkpoint_dir,
            spool: &spool,
            cgroup_procs: None,
        })?;
        let pid = child.id().ok_or("the process ended at once")?;
        let (tx, rx) = watch::channel(None);
        self.inner
            .lock()
            .insert(r.task.to_string(), Running { pid, done: rx });
        let (inner, task) = (self.inner.clone(), r.task.to_string());
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
