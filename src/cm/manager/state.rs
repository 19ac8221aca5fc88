//! What the manager knows: nodes (fed by their agents), jobs and tasks (mirrored in the store),
//! and sessions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::cm::job::LoadMetric;
use crate::cm::link::request_line;
use crate::cm::proto::{ProcInfo, Reply, Request};
use crate::cm::store::{JobRecord, TaskRecord};
use crate::cm::users::Role;

/// The manager's end of an agent's connection.
#[derive(Clone, Debug)]
pub struct AgentHandle {
    /// Which connection (a reconnect replaces the handle).
    pub conn: u64,
    tx: mpsc::Sender<String>,
    pending: Arc<Mutex<HashMap<u64, oneshot::Sender<Reply>>>>,
    next: Arc<AtomicU64>,
}

impl AgentHandle {
    /// A handle writing to `tx`.
    pub fn new(conn: u64, tx: mpsc::Sender<String>) -> Self {
        Self {
            conn,
            tx,
            pending: Arc::default(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Sends a request and waits for its reply.
    pub async fn call(&self, req: &Request, timeout: Duration) -> Result<Reply, String> {
        let tag = self.next.fetch_add(1, Ordering::Relaxed) + 1_000_000;
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(tag, tx);
        if self.tx.try_send(request_line(Some(tag), req)).is_err() {
            self.pending.lock().remove(&tag);
            return Err("the node's agent is not connected or not reading".into());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(_)) => Err("the node's agent disconnected".into()),
            Err(_) => {
                self.pending.lock().remove(&tag);
                Err(format!(
                    "the node's agent did not answer within {timeout:?}"
                ))
            }
        }
    }

    /// Fails every call still waiting for an answer on this connection (it is gone, or
    /// replaced): they learn it now rather than at their timeout.
    pub fn abandon(&self) {
        self.pending.lock().clear();
    }

    /// Delivers a reply to whoever waits for `tag`.
    pub fn answer(&self, tag: u64, reply: Reply) {
        if let Some(tx) = self.pending.lock().remove(&tag) {
            let _ = tx.send(reply);
        }
    }

    /// Sends a line as it is; false when the agent is gone or its queue is full (it stopped
    /// reading).
    pub fn send(&self, line: String) -> bool {
        self.tx.try_send(line).is_ok()
    }
}

/// One node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Name.
    pub name: String,
    /// Connected and heard from recently.
    pub up: bool,
    /// CPUs.
    pub cpus: u32,
    /// KiB.
    pub mem_total_kb: u64,
    /// KiB.
    pub mem_free_kb: u64,
    /// One-minute load.
    pub load1: f32,
    /// Runnable tasks.
    pub runqueue: u32,
    /// Process count.
    pub procs_count: u32,
    /// Its processes, as last reported.
    pub procs: Vec<ProcInfo>,
    /// Last message.
    pub heard: Instant,
    /// Its agent, when connected.
    pub agent: Option<AgentHandle>,
    /// Tasks placed since the last heartbeat (not yet in its load).
    pub placed: f32,
    /// The IP address its agent connects from (none over a Unix socket).
    pub addr: Option<std::net::IpAddr>,
    /// Since when (epoch seconds) its agent has been away, while it is.
    pub down_since: Option<u64>,
    /// The last list of tasks its agent reported (`TASKS`), and when.
    pub reported: Option<(Instant, Vec<(String, u32)>)>,
}

/// Which node a name or address in a request means.
#[derive(Debug, PartialEq, Eq)]
pub enum NodeMatch {
    /// Exactly this one.
    One(String),
    /// Several nodes share the address.
    Several(Vec<String>),
    /// None known by it.
    None,
}

impl Node {
    /// A node as its agent introduces itself: all memory free, nothing placed or reported yet,
    /// and down until the agent's first message is read.
    pub fn new(name: &str, cpus: u32, mem_total_kb: u64) -> Self {
        Self {
            name: name.to_string(),
            up: false,
            cpus,
            mem_total_kb,
            mem_free_kb: mem_total_kb,
            load1: 0.0,
            runqueue: 0,
            procs_count: 0,
            procs: Vec::new(),
            heard: Instant::now(),
            agent: None,
            placed: 0.0,
            addr: None,
            down_since: None,
            reported: None,
        }
    }

    /// How loaded the node is by a job's metric, counting tasks placed since its last report.
    pub fn load_by(&self, metric: LoadMetric) -> f64 {
        let cpus = f64::from(self.cpus.max(1));
        let load = f64::from(self.load1) + f64::from(self.placed);
        match metric {
            LoadMetric::Load => load / cpus,
            LoadMetric::RunQueue => f64::from(self.runqueue) + f64::from(self.placed),
            LoadMetric::LoadMem => {
                let used = if self.mem_total_kb > 0 {
                    1.0 - self.mem_free_kb as f64 / self.mem_total_kb as f64
                } else {
                    0.0
                };
                load / cpus + used
            }
        }
    }
}

/// A login.
#[derive(Debug, Clone)]
pub struct Session {
    /// User.
    pub user: String,
    /// Role.
    pub role: Role,
    /// Last use, for expiry.
    pub used: Instant,
    /// The password hash it logged in with: a changed password or a removed user ends it.
    pub hash: String,
}

/// Everything the manager tracks.
#[derive(Debug, Default)]
pub struct State {
    /// By name.
    pub nodes: BTreeMap<String, Node>,
    /// By id.
    pub jobs: BTreeMap<u64, JobRecord>,
    /// By task id.
    pub tasks: HashMap<String, TaskRecord>,
    /// Next job id.
    pub next_job: u64,
    /// By token.
    pub sessions: HashMap<String, Session>,
    /// Jobs whose kill was asked for (their end counts as killed).
    pub killing: HashSet<u64>,
    /// Tasks whose RUN this manager sent and has no answer to yet: a node's task list may
    /// have been made before the RUN arrived, so their absence from it says nothing.
    pub starting: HashSet<String>,
    /// Tasks ended recently: (node, pid, name, user, when), for REQ's terminated entries.
    pub ended: Vec<(String, u32, String, String, Instant)>,
}

impl State {
    /// The node `given` names: its name, its short name, or its agent's IP address.
    pub fn node_for(&self, given: &str) -> NodeMatch {
        if self.nodes.contains_key(given) {
            return NodeMatch::One(given.to_string());
        }
        let mut names: Vec<String> = match given.parse::<std::net::IpAddr>() {
            Ok(ip) => self
                .nodes
                .values()
                .filter(|n| n.addr == Some(ip))
                .map(|n| n.name.clone())
                .collect(),
            Err(_) => {
                let short = given.split('.').next().unwrap_or(given);
                self.nodes
                    .values()
                    .filter(|n| n.name == short || n.name.split('.').next() == Some(short))
                    .map(|n| n.name.clone())
                    .collect()
            }
        };
        names.sort();
        match names.len() {
            0 => NodeMatch::None,
            1 => NodeMatch::One(names.remove(0)),
            _ => NodeMatch::Several(names),
        }
    }

    /// How a job is shown: a running job with a task on a node whose agent is away is
    /// `unknown` since then — it may run or not, nobody can tell (state, reason).
    pub fn shown(&self, j: &JobRecord) -> (String, String) {
        if j.state == crate::cm::store::JobState::Running {
            let away = self
                .tasks
                .values()
                .filter(|t| t.job == j.id && t.state == "running")
                .filter_map(|t| Some((t.node.as_str(), self.nodes.get(&t.node)?.down_since?)))
                .min_by_key(|(_, since)| *since);
            if let Some((node, since)) = away {
                return (
                    "unknown".into(),
                    format!("unknown since {since}: node {node} is not connected"),
                );
            }
        }
        (j.state.as_str().into(), j.reason.clone())
    }

    /// The job a process belongs to, if the manager started it.
    pub fn task_by_pid(&self, node: &str, pid: u32) -> Option<&TaskRecord> {
        self.tasks
            .values()
            .find(|t| t.node == node && t.pid == pid && t.state == "running")
    }

    /// Who owns a process: the job's user for managed ones, else the process's.
    pub fn owner(&self, node: &str, p: &ProcInfo) -> String {
        let job = job_of_task(&p.job).or_else(|| self.task_by_pid(node, p.pid).map(|t| t.job));
        job.and_then(|j| self.jobs.get(&j))
            .map_or_else(|| p.user.clone(), |j| j.user.clone())
    }
}

/// The job id of a task id (`JOB.N`).
pub fn job_of_task(task: &str) -> Option<u64> {
    task.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, ip: &str) -> Node {
        Node {
            addr: ip.parse().ok(),
            ..Node::new(name, 1, 1)
        }
    }

    #[test]
    fn nodes_by_name_short_name_or_address() {
        let mut st = State::default();
        for (n, ip) in [
            ("n1", "10.0.0.1"),
            ("n2.lab", "10.0.0.2"),
            ("n3", "10.0.0.2"),
        ] {
            st.nodes.insert(n.into(), node(n, ip));
        }
        assert_eq!(st.node_for("n1"), NodeMatch::One("n1".into()));
        assert_eq!(st.node_for("n1.lab.example"), NodeMatch::One("n1".into()));
        assert_eq!(st.node_for("n2"), NodeMatch::One("n2.lab".into()));
        assert_eq!(st.node_for("10.0.0.1"), NodeMatch::One("n1".into()));
        assert_eq!(
            st.node_for("10.0.0.2"),
            NodeMatch::Several(vec!["n2.lab".into(), "n3".into()])
        );
        assert_eq!(st.node_for("10.0.0.9"), NodeMatch::None);
        assert_eq!(st.node_for("n9"), NodeMatch::None);
    }
}
