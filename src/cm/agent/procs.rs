//! The agent's view of processes from /proc: state, name, owner, CPU use between two scans and
//! resident memory; and the node's load.

use std::collections::HashMap;
use std::time::Instant;

use crate::cm::proto::ProcInfo;
use crate::collector::procfs;

/// One process from /proc.
#[derive(Debug, Clone)]
struct Raw {
    pid: u32,
    ppid: u32,
    state: char,
    name: String,
    uid: u32,
    ticks: u64,
    rss_kb: u64,
    start: u64,
}

fn read_one(pid: u32, page_kb: u64) -> Option<Raw> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    let state = rest.first()?.chars().next()?;
    let ppid = rest.get(1)?.parse().ok()?;
    let ticks = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
    let start = rest.get(19)?.parse().ok()?;
    let rss_pages: u64 = rest.get(21)?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    Some(Raw {
        pid,
        ppid,
        state,
        name,
        uid,
        ticks,
        rss_kb: rss_pages * page_kb,
        start,
    })
}

/// Scans /proc, remembering CPU ticks so the next scan can say how busy each process was.
pub struct ProcScanner {
    last: HashMap<u32, u64>,
    at: Option<Instant>,
    users: HashMap<u32, String>,
    tick_hz: f64,
    page_kb: u64,
}

impl Default for ProcScanner {
    fn default() -> Self {
        // SAFETY: sysconf only reads configuration values.
        let (hz, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        Self {
            last: HashMap::new(),
            at: None,
            users: HashMap::new(),
            tick_hz: if hz > 0 { hz as f64 } else { 100.0 },
            page_kb: if page > 0 { page as u64 / 1024 } else { 4 },
        }
    }
}

impl ProcScanner {
    /// Every process, or with `only` only those trees rooted at the given pids; `task_of` names
    /// the task a root belongs to. An unreadable /proc is an error, not a machine without
    /// processes: the manager keeps the last list rather than showing none.
    pub fn scan(&mut self, only: Option<&HashMap<u32, String>>) -> std::io::Result<Vec<ProcInfo>> {
        let now = Instant::now();
        let secs = self.at.map_or(0.0, |t| now.duration_since(t).as_secs_f64());
        let mut raws = Vec::new();
        for e in std::fs::read_dir("/proc")?.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok())
                && let Some(r) = read_one(pid, self.page_kb)
            {
                raws.push(r);
            }
        }
        let parent: HashMap<u32, u32> = raws.iter().map(|r| (r.pid, r.ppid)).collect();
        // The task a process belongs to: itself a task root, or a descendant of one.
        let task_of = |pid: u32| -> Option<String> {
            let roots = only?;
            let mut p = pid;
            for _ in 0..64 {
                if let Some(t) = roots.get(&p) {
                    return Some(t.clone());
                }
                p = *parent.get(&p)?;
                if p <= 1 {
                    return None;
                }
            }
            None
        };
        let mut out = Vec::new();
        let mut seen = HashMap::with_capacity(raws.len());
        for r in raws {
            seen.insert(r.pid, r.ticks);
            let task = task_of(r.pid);
            if only.is_some() && task.is_none() {
                continue;
            }
            let cpu = match (self.last.get(&r.pid), secs > 0.0) {
                (Some(before), true) => {
                    (r.ticks.saturating_sub(*before) as f64 / self.tick_hz / secs * 100.0) as f32
                }
                _ => 0.0,
            };
            let uid = r.uid;
            // Names through NSS, once per uid (a uid without a name is shown as its number).
            let user = self
                .users
                .entry(uid)
                .or_insert_with(|| {
                    crate::cm::account::name_of(uid).unwrap_or_else(|| uid.to_string())
                })
                .clone();
            out.push(ProcInfo {
                node: String::new(),
                pid: r.pid,
                state: r.state,
                name: r.name,
                user,
                cpu_pct: cpu,
                rss_kb: r.rss_kb,
                job: task.unwrap_or_default(),
                start: r.start,
            });
        }
        self.last = seen;
        self.at = Some(now);
        Ok(out)
    }
}

/// The node's load: (one-minute load, runnable tasks, free memory KiB, total memory KiB).
pub fn machine_load() -> (f32, u32, u64, u64) {
    let la = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| procfs::parse_loadavg(&t))
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let avail = mem
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok());
    let m = procfs::parse_meminfo(&mem);
    let free = avail.unwrap_or(m.free.unwrap_or(0.0) as u64);
    (
        la.one as f32,
        la.running as u32,
        free,
        m.total.unwrap_or(0.0) as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_process_with_its_owner_and_trees_filter() {
        let mut s = ProcScanner::default();
        let me = std::process::id();
        let all = s.scan(None).unwrap();
        let p = all.iter().find(|p| p.pid == me).expect("this process");
        assert!(p.rss_kb > 0);
        assert!(!p.user.is_empty());
        let roots: HashMap<u32, String> = [(me, "7.0".to_string())].into();
        let mine = s.scan(Some(&roots)).unwrap();
        assert!(mine.iter().all(|p| p.job == "7.0"));
        assert!(mine.iter().any(|p| p.pid == me));
    }
}
