//! Keeping track of tasks beyond the agent's own life. Each task has a state file (its pid,
//! start time, account and cgroup) in the agent's state directory, and — where the system has
//! cgroup v2 and the agent may write to it — a cgroup of its own, so every process of the task
//! is found and killed as a whole, even those that left its session. An agent that starts
//! again reads the state files and takes back the tasks that still run.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What is remembered of a running task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFile {
    /// `JOB.N`.
    pub task: String,
    /// Its main process.
    pub pid: u32,
    /// That process's start time (clock ticks since boot).
    pub start: u64,
    /// The account's uid.
    pub uid: u32,
    /// Its cgroup, when it has one.
    pub cgroup: Option<PathBuf>,
}

/// The agent's tracking: its state directory and its cgroup (if any).
#[derive(Debug, Clone)]
pub struct Tracker {
    dir: PathBuf,
    cgroup: Option<PathBuf>,
}

/// Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on
/// hybrid systems).
fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|l| {
        // "… mountpoint options … - fstype source …"
        let (left, right) = l.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        left.split_whitespace().nth(4).map(PathBuf::from)
    })
}

/// A name safe as one path component.
fn component(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// `NODE.HASH`: the node's name and 8 hex digits of its state directory's absolute path.
fn base_name(dir: &Path, node: &str) -> String {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let digest = ring::digest::digest(&ring::digest::SHA256, abs.as_os_str().as_encoded_bytes());
    let hex: String = digest.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}.{hex}", component(node))
}

impl Tracker {
    /// Tracking for node `node`, state files in `dir/tasks`, cgroups under
    /// `CGROUP2/gantry/NODE.HASH` when they can be made there. The hash of the state directory
    /// keeps two agents on one machine (test sites, a node name reused) out of each other's
    /// cgroups: an ending task empties and removes its cgroup, whoever else was in it.
    pub fn new(dir: &Path, node: &str) -> Self {
        let tasks = dir.join("tasks");
        let _ = crate::durable::create_dir_all(&tasks, 0o755);
        let cgroup = cgroup2_mount()
            .map(|m| m.join("gantry").join(base_name(dir, node)))
            .filter(|base| {
                std::fs::create_dir_all(base).is_ok() && base.join("cgroup.procs").exists()
            });
        if let Some(c) = &cgroup {
            tracing::info!("tasks are kept in cgroups under {}", c.display());
        } else {
            tracing::info!("no writable cgroup v2: tasks are kept by process group and state file");
        }
        Self { dir: tasks, cgroup }
    }

    /// A cgroup for a task about to start, and its `cgroup.procs` open for the child to join.
    pub fn prepare(&self, task: &str) -> Option<(PathBuf, OwnedFd)> {
        let base = self.cgroup.as_ref()?;
        let dir = base.join(component(task));
        if let Err(e) = std::fs::create_dir(&dir)
            && e.kind() != std::io::ErrorKind::AlreadyExists
        {
            tracing::warn!("cgroup {}: {e}", dir.display());
            return None;
        }
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))
            .ok()?;
        Some((dir, OwnedFd::from(f)))
    }

    fn file(&self, task: &str) -> PathBuf {
        self.dir.join(format!("{}.json", component(task)))
    }

    /// Remembers a running task (the file replaced whole). The error names the file.
    pub fn record(&self, t: &TaskFile) -> Result<(), String> {
        let path = self.file(&t.task);
        crate::durable::replace(&path, 0o600, |w| {
            serde_json::to_writer(w, t).map_err(std::io::Error::from)
        })
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Forgets an ended task: its file, and its cgroup once empty (what is left in it is
    /// killed first: no process outlives its task).
    pub fn forget(&self, task: &str, cgroup: Option<&Path>) {
        if let Some(c) = cgroup {
            kill_cgroup(c);
            for _ in 0..50 {
                if std::fs::remove_dir(c).is_ok() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let _ = std::fs::remove_file(self.file(task));
    }

    /// Every task remembered (from before a restart).
    pub fn remembered(&self) -> Vec<TaskFile> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        dir.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| {
                let text = std::fs::read(e.path()).ok()?;
                match serde_json::from_slice::<TaskFile>(&text) {
                    Ok(t) => Some(t),
                    Err(err) => {
                        tracing::warn!("{}: {err}; ignored", e.path().display());
                        None
                    }
                }
            })
            .collect()
    }
}

/// Kills every process in a cgroup (`cgroup.kill`, Linux 5.14; else each pid it lists).
pub fn kill_cgroup(c: &Path) {
    if std::fs::write(c.join("cgroup.kill"), "1").is_ok() {
        return;
    }
    for _ in 0..3 {
        let procs = std::fs::read_to_string(c.join("cgroup.procs")).unwrap_or_default();
        let pids: Vec<i32> = procs.lines().filter_map(|l| l.parse().ok()).collect();
        if pids.is_empty() {
            return;
        }
        for p in pids {
            // SAFETY: kill with a pid read from the task's own cgroup.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The pids in a cgroup now.
pub fn cgroup_pids(c: &Path) -> Vec<u32> {
    std::fs::read_to_string(c.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_remembered_and_forgotten() {
        let d = tempfile::tempdir().unwrap();
        let t = Tracker {
            dir: d.path().join("tasks"),
            cgroup: None,
        };
        std::fs::create_dir_all(d.path().join("tasks")).unwrap();
        let f = TaskFile {
            task: "7.0".into(),
            pid: 42,
            start: 1234,
            uid: 1000,
            cgroup: None,
        };
        t.record(&f).unwrap();
        assert_eq!(t.remembered(), vec![f]);
        t.forget("7.0", None);
        assert!(t.remembered().is_empty());
        assert_eq!(component("../x y"), "_x_y");
    }

    #[test]
    fn agents_with_one_name_get_their_own_cgroups() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (na, nb) = (base_name(a.path(), "n1"), base_name(b.path(), "n1"));
        assert_ne!(na, nb);
        assert!(na.starts_with("n1.") && na.len() == 11, "{na}");
        assert_eq!(na, base_name(a.path(), "n1"), "the same after a restart");
    }
}
