//! Placement: queued jobs by priority (then age) go to the least-loaded up nodes by their Load
//! Metric that have the job's Memory Size free; Batch and Parallel jobs spread Total Tasks at
//! Tasks per Node. A job that does not fit waits; smaller ones behind it may still start.

use std::sync::Arc;
use std::time::Duration;

use super::state::AgentHandle;
use super::{Manager, now};
use crate::cm::job::JobClass;
use crate::cm::proto::{Reply, Request};
use crate::cm::store::{JobRecord, JobState, TaskRecord, Write};

/// A job placed, ready to start: (task id, node, agent).
struct Placed {
    job: JobRecord,
    tasks: Vec<(String, String, AgentHandle)>,
}

/// Runs the scheduler until aborted.
pub async fn run(m: Arc<Manager>) {
    loop {
        let _ = tokio::time::timeout(Duration::from_secs(1), m.wake.notified()).await;
        for p in place(&m) {
            let m = m.clone();
            tokio::spawn(async move { start(&m, p).await });
        }
    }
}

/// Picks nodes for every queued job that fits now; marks them running in memory.
fn place(m: &Manager) -> Vec<Placed> {
    if m.settings.read_only || !m.may_place() {
        return Vec::new();
    }
    place_in(&mut m.st.lock(), m.settings.max_tasks_per_node)
}

/// Places what fits; a node never runs more than `cap` tasks at once.
fn place_in(st: &mut super::state::State, cap: u32) -> Vec<Placed> {
    let mut running: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for t in st.tasks.values().filter(|t| t.state == "running") {
        *running.entry(t.node.clone()).or_default() += 1;
    }
    let mut queued: Vec<(i32, u64)> = st
        .jobs
        .values()
        .filter(|j| j.state == JobState::Queued)
        .map(|j| (j.spec.priority, j.id))
        .collect();
    queued.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out = Vec::new();
    for (_, id) in queued {
        let Some(job) = st.jobs.get(&id).cloned() else {
            continue;
        };
        let spec = &job.spec;
        let (total, per_node) = match spec.class {
            JobClass::Single => (1, 1),
            JobClass::Batch | JobClass::Parallel => {
                let total = spec.total_tasks.max(1);
                (total, spec.tasks_per_node.clamp(1, total))
            }
        };
        let nodes_needed = total.div_ceil(per_node) as usize;
        let mut candidates: Vec<(f64, String)> = st
            .nodes
            .values()
            // Memory Size is what each task needs: a node takes up to `per_node` of them.
            .filter(|n| {
                n.up && n.agent.is_some()
                    && n.mem_free_kb.saturating_mul(1024)
                        >= spec.memory.saturating_mul(u64::from(per_node))
                    && running
                        .get(&n.name)
                        .copied()
                        .unwrap_or(0)
                        .saturating_add(per_node)
                        <= cap
            })
            .map(|n| (n.load_by(spec.load_metric), n.name.clone()))
            .collect();
        if candidates.len() < nodes_needed {
            continue;
        }
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let mut tasks = Vec::new();
        for i in 0..total {
            let node = &candidates[(i / per_node) as usize].1;
            let Some(n) = st.nodes.get_mut(node) else {
                continue;
            };
            *running.entry(node.clone()).or_default() += 1;
            n.placed += 1.0;
            n.mem_free_kb = n.mem_free_kb.saturating_sub(spec.memory / 1024);
            if let Some(a) = &n.agent {
                tasks.push((format!("{id}.{i}"), node.clone(), a.clone()));
            }
        }
        if let Some(j) = st.jobs.get_mut(&id) {
            j.state = JobState::Running;
            j.started = Some(now());
            j.nodes = tasks.iter().map(|t| t.1.clone()).collect();
            j.nodes.dedup();
            out.push(Placed {
                job: j.clone(),
                tasks,
            });
        }
    }
    out
}

/// Starts a placed job's tasks. The intent (tasks without pids) is committed first, so a crash
/// between here and the agents' answers cannot start the job twice.
async fn start(m: &Manager, p: Placed) {
    let t = now();
    let id = p.job.id;
    let mut writes = vec![Write::Job(Box::new(p.job.clone()))];
    {
        let mut st = m.st.lock();
        for (task, node, _) in &p.tasks {
            let rec = TaskRecord {
                id: task.clone(),
                job: id,
                node: node.clone(),
                pid: 0,
                state: "running".into(),
                exit: None,
            };
            st.tasks.insert(task.clone(), rec.clone());
            st.starting.insert(task.clone());
            writes.push(Write::Task(rec));
        }
    }
    if let Err(e) = m.commit(writes).await {
        tracing::error!("job {id} not started: {e}");
        // Not durable, so not started: it waits in the queue again.
        let mut st = m.st.lock();
        for (task, _, _) in &p.tasks {
            st.starting.remove(task);
            st.tasks.remove(task);
        }
        if let Some(j) = st.jobs.get_mut(&id) {
            j.state = JobState::Queued;
            j.started = None;
            j.nodes.clear();
        }
        return;
    }
    let mut writes = Vec::new();
    for (task, node, agent) in &p.tasks {
        let req = Request::Run {
            task: task.clone(),
            job: id,
            user: p.job.user.clone(),
            account: p.job.account.clone(),
            root_ok: m.settings.accounts.may_be_root(&p.job.user),
            spec: p.job.spec.clone(),
            checkpoint_dir: p.job.checkpoint_dir.clone(),
        };
        let sent = std::time::Instant::now();
        let r = agent.call(&req, Duration::from_secs(30)).await;
        let mut st = m.st.lock();
        st.starting.remove(task);
        match r {
            Ok(Reply::Started(pid)) => {
                if let Some(rec) = st.tasks.get_mut(task) {
                    rec.pid = pid;
                    writes.push(Write::Task(rec.clone()));
                }
                writes.push(Write::Event(
                    id,
                    t,
                    format!("task {task} started on {node} as pid {pid}"),
                ));
            }
            // No answer (the link broke or went silent), or a node that follows a newer
            // manager: whether the task started is not known here. It stays "running" without
            // a pid; the node's task list, when it reports to the active manager, settles it
            // (running there, or never started and queued again).
            Err(e) => {
                tracing::warn!(
                    "job {id}: no answer from {node} to starting task {task}: {}; its task list will tell",
                    crate::cm::esc(&e)
                );
                writes.push(Write::Event(
                    id,
                    t,
                    format!("no answer from {node} to starting task {task}: {e}"),
                ));
                // The node may have reported its tasks since (a new link): that list tells.
                let newer = st
                    .nodes
                    .get(node)
                    .and_then(|n| n.reported.clone())
                    .filter(|(at, _)| *at > sent);
                if let Some((_, list)) = newer {
                    match list.iter().find(|(x, _)| x == task) {
                        Some((_, pid)) => {
                            if let Some(rec) = st.tasks.get_mut(task) {
                                rec.pid = *pid;
                                writes.push(Write::Task(rec.clone()));
                            }
                        }
                        None => writes.extend(super::agents::requeue_unstarted(
                            &mut st,
                            std::slice::from_ref(task),
                            node,
                            t,
                        )),
                    }
                }
            }
            Ok(r) if super::ha::fenced_by(&r).is_some() => {}
            other => {
                let why = match other {
                    Ok(Reply::Error { message, .. }) => message,
                    Ok(r) => format!("unexpected answer {r:?}"),
                    Err(e) => e,
                };
                tracing::warn!(
                    "job {id}: task {task} on {node} did not start: {}",
                    crate::cm::esc(&why)
                );
                if let Some(rec) = st.tasks.get_mut(task) {
                    rec.state = "exited".into();
                    rec.exit = Some(127);
                    writes.push(Write::Task(rec.clone()));
                }
                // The launch error is the job's result, not a bare 127.
                if let Some(j) = st.jobs.get_mut(&id)
                    && j.reason.is_empty()
                {
                    j.reason = format!("task {task} on {node} did not start: {why}");
                }
                writes.push(Write::Event(
                    id,
                    t,
                    format!("task {task} on {node} did not start: {why}"),
                ));
            }
        }
    }
    let mut st = m.st.lock();
    let pids: Vec<u32> = p
        .tasks
        .iter()
        .filter_map(|(task, _, _)| st.tasks.get(task).map(|r| r.pid))
        .collect();
    if let Some(j) = st.jobs.get_mut(&id) {
        j.pids = pids;
        writes.push(Write::Job(Box::new(j.clone())));
    }
    writes.extend(super::agents::settle_jobs(&mut st, t));
    m.store.write(writes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cm::job::JobSpec;
    use crate::cm::manager::state::{Node, State};

    fn node(name: &str, load: f32, free_gb: u64) -> (Node, tokio::sync::mpsc::Receiver<String>) {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let n = Node {
            up: true,
            mem_free_kb: free_gb << 20,
            load1: load,
            agent: Some(AgentHandle::new(1, tx)),
            ..Node::new(name, 4, 64 << 20)
        };
        (n, rx)
    }

    fn job(id: u64, priority: i32, spec: JobSpec) -> JobRecord {
        JobRecord {
            id,
            user: "alice".into(),
            spec: JobSpec { priority, ..spec },
            state: JobState::Queued,
            submitted: id,
            started: None,
            ended: None,
            nodes: Vec::new(),
            pids: Vec::new(),
            exit: None,
            checkpoint_dir: String::new(),
            account: "alice".into(),
            reason: String::new(),
        }
    }

    #[test]
    fn priority_first_then_age_least_loaded_and_memory_per_task() {
        let mut st = State::default();
        let mut keep = Vec::new();
        for (name, load, free) in [("busy", 3.0, 32), ("idle", 0.0, 3), ("mid", 1.0, 32)] {
            let (n, rx) = node(name, load, free);
            st.nodes.insert(name.into(), n);
            keep.push(rx);
        }
        let single = JobSpec {
            total_tasks: 1,
            tasks_per_node: 1,
            ..JobSpec::default()
        };
        // Two tasks of 2 GB each on one node: "idle" has only 3 GB free.
        let pair = JobSpec {
            class: JobClass::Batch,
            total_tasks: 2,
            tasks_per_node: 2,
            memory: 2 << 30,
            ..JobSpec::default()
        };
        st.jobs.insert(1, job(1, 0, single.clone()));
        st.jobs.insert(2, job(2, 5, single));
        st.jobs.insert(3, job(3, 1, pair));
        let placed = place_in(&mut st, 64);
        let order: Vec<u64> = placed.iter().map(|p| p.job.id).collect();
        assert_eq!(order, vec![2, 3, 1], "priority, then age");
        // The first job takes the least loaded node; the pair skips "idle" (3 GB < 2 × 2 GB).
        assert_eq!(placed[0].job.nodes, vec!["idle"]);
        assert_eq!(placed[1].job.nodes, vec!["mid"]);
        assert_eq!(placed[1].tasks.len(), 2);
        // Tasks placed since the last report count as load: the third goes where it is least.
        assert_eq!(placed[2].job.nodes, vec!["idle"]);
    }

    #[test]
    fn load_metrics_order_nodes_differently() {
        use crate::cm::job::LoadMetric;
        let (mut a, _ra) = node("a", 2.0, 1);
        let (mut b, _rb) = node("b", 1.0, 60);
        a.runqueue = 1;
        b.runqueue = 6;
        assert!(a.load_by(LoadMetric::Load) > b.load_by(LoadMetric::Load));
        assert!(a.load_by(LoadMetric::RunQueue) < b.load_by(LoadMetric::RunQueue));
        // loadmem adds the fraction of memory in use: "a" is nearly full.
        assert!(a.load_by(LoadMetric::LoadMem) - a.load_by(LoadMetric::Load) > 0.9);
        assert!(b.load_by(LoadMetric::LoadMem) - b.load_by(LoadMetric::Load) < 0.1);
    }
}
