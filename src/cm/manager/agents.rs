//! The manager's side of an agent link: registration, heartbeats and process reports, task
//! lists after a reconnect, and task exits.

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::listen::Peer;
use super::state::{AgentHandle, Node, job_of_task};
use super::{Manager, now};
use crate::cm::codec::{Item, MAX_REPLY_LINE};
use crate::cm::link::{Incoming, LineReader, incoming, reply_line};
use crate::cm::proto::{Reply, Request};
use crate::cm::store::{JobState, Write};

/// Lines queued for one agent before it counts as not reading.
const OUTBOX: usize = 4096;

/// A refusal when the node is connected already and its agent still answers: a second agent
/// claiming it is an impostor or a mistake. One that no longer answers is replaced.
async fn already_connected(m: &Manager, name: &str) -> Option<Reply> {
    let existing = m.st.lock().nodes.get(name).and_then(|n| n.agent.clone());
    let agent = existing?;
    match agent
        .call(&Request::Ping, std::time::Duration::from_secs(2))
        .await
    {
        Ok(_) => Some(Reply::error(
            409,
            format!("node {name} is connected already, and its agent answers"),
        )),
        Err(_) => None,
    }
}

/// Serves an agent connection whose first request was `AGENT`.
#[allow(clippy::too_many_arguments)]
pub async fn run<R, W>(
    m: Arc<Manager>,
    conn: u64,
    peer: &Peer,
    hello: Request,
    tag: Option<u64>,
    mut reader: LineReader<R>,
    mut w: W,
    slot: &mut super::listen::Slot,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let Request::Agent {
        name,
        version,
        cpus,
        mem_total_kb,
    } = hello
    else {
        return;
    };
    // A node is who its certificate (from the cluster CA) says, or an agent of this machine
    // the kernel vouches for; nothing a user could send makes a node.
    let refuse = if !peer.local_agent && peer.cert.is_none() {
        Some(Reply::error(
            401,
            "an agent must connect over TLS with its node's certificate (gantry cm tls node NAME)",
        ))
    } else if !peer.local_agent
        && !peer
            .cert
            .as_ref()
            .is_some_and(|c| crate::cm::tls::names_node(c, &name))
    {
        Some(Reply::error(
            403,
            format!("this certificate is not node {name}'s"),
        ))
    } else if version < 1 {
        Some(Reply::error(
            400,
            format!("protocol version {version} is not spoken here (1)"),
        ))
    } else if name.is_empty() || name.contains([',', ' ']) {
        Some(Reply::error(
            400,
            format!("'{name}' is not a usable node name"),
        ))
    } else {
        None
    };
    // Host names are case-blind: `N1` is not a second node beside `n1`.
    let twin =
        m.st.lock()
            .nodes
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&name) && **k != name)
            .cloned();
    let refuse = match (refuse, twin) {
        (Some(r), _) => Some(r),
        (None, Some(t)) => Some(Reply::error(
            409,
            format!("node {t} is known already; node names differ in more than case"),
        )),
        (None, None) => already_connected(&m, &name).await,
    };
    if let Some(r) = refuse {
        tracing::warn!(
            "agent '{}' from {} refused: {r:?}",
            crate::cm::esc(&name),
            crate::cm::esc(&peer.addr)
        );
        let _ = w.write_all(reply_line(tag, &r).as_bytes()).await;
        return;
    }
    // A node that joins counts for quorums from now on: the active manager records it (and
    // its shadow with it) before the node is welcomed.
    let (active, member) = {
        let ha = m.ha.lock();
        (
            ha.role == super::ha::Role::Active,
            ha.members.contains(&name),
        )
    };
    if active && !member {
        if let Err(e) = m.commit(vec![Write::Node(name.clone())]).await {
            let r = Reply::error(503, format!("node {name} cannot join now: {e}"));
            let _ = w.write_all(reply_line(tag, &r).as_bytes()).await;
            return;
        }
        m.ha.lock().members.insert(name.clone());
    }
    slot.proved();
    // Bounded: an agent that stops reading is disconnected, not buffered for without end.
    let (tx, mut rx) = mpsc::channel::<String>(OUTBOX);
    let handle = AgentHandle::new(conn, tx);
    let peer = peer.addr.as_str();
    {
        let mut st = m.st.lock();
        let n = st
            .nodes
            .entry(name.clone())
            .or_insert_with(|| Node::new(&name, cpus, mem_total_kb));
        n.addr = peer
            .rsplit_once(':')
            .and_then(|(ip, _)| ip.trim_matches(['[', ']']).parse().ok());
        // Up only once its first message (TASKS, what runs there) is read: a task placed
        // before that would be missing from the list and taken for lost.
        n.up = false;
        n.cpus = cpus;
        n.mem_total_kb = mem_total_kb;
        n.heard = Instant::now();
        if let Some(old) = n.agent.replace(handle.clone()) {
            old.abandon();
        }
    }
    tracing::info!(
        "agent {} connected from {} ({cpus} CPUs, {mem_total_kb} KiB), version {version}",
        crate::cm::esc(&name),
        crate::cm::esc(peer)
    );
    let welcome = {
        let ha = m.ha.lock();
        Reply::Welcome {
            heartbeat_secs: m.settings.heartbeat_secs,
            epoch: ha.epoch,
            role: ha.role.as_str().into(),
        }
    };
    if w.write_all(reply_line(tag, &welcome).as_bytes())
        .await
        .is_err()
        || w.flush().await.is_err()
    {
        return;
    }
    // An authenticated node sends process lists and output as long as a reply may be.
    reader.set_max_line(MAX_REPLY_LINE);
    let mut writer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            // Flushed: over TLS, written bytes may wait in the session's buffer.
            if w.write_all(line.as_bytes()).await.is_err() || w.flush().await.is_err() {
                break;
            }
        }
    });
    m.wake.notify_one();
    loop {
        let next = tokio::select! {
            n = reader.next() => n,
            // The writer ends when the connection broke.
            _ = &mut writer => break,
        };
        let line = match next {
            Ok(Some(Item::Line(l))) => l,
            Ok(Some(Item::TooLong)) => {
                if !handle.send(reply_line(None, &Reply::error(413, "line too long"))) {
                    break;
                }
                continue;
            }
            Ok(None) | Err(_) => break,
        };
        let sent = match incoming(&line, MAX_REPLY_LINE) {
            Ok(Incoming::Reply(Some(t), r)) => {
                // An agent that follows a newer epoch refuses this manager's commands.
                if let Some(newer) = super::ha::fenced_by(&r) {
                    m.step_down(newer, &format!("node {name}"));
                }
                handle.answer(t, r);
                true
            }
            Ok(Incoming::Reply(None, _)) => true,
            Ok(Incoming::Request(t, req)) => {
                let answer = match *req {
                    Request::Fenced { epoch } => {
                        m.step_down(epoch, &format!("node {name}"));
                        Answer::Now(Reply::Done("FENCED".into()))
                    }
                    req => on_request(&m, &name, req),
                };
                match answer {
                    Answer::Now(reply) => handle.send(reply_line(t, &reply)),
                    Answer::AfterCommit(writes, reply) => {
                        // Acknowledged only once durable (on the shadow too): the agent keeps
                        // an exit until then, so a takeover cannot lose it.
                        let (m, handle) = (m.clone(), handle.clone());
                        tokio::spawn(async move {
                            let reply = match m.commit(writes).await {
                                Ok(_) => reply,
                                Err(e) => Reply::error(503, format!("not recorded: {e}")),
                            };
                            handle.send(reply_line(t, &reply));
                        });
                        true
                    }
                }
            }
            Err((t, e)) => handle.send(reply_line(t, &Reply::error(400, e.0))),
        };
        if !sent {
            tracing::warn!(
                "agent {} stopped reading; disconnected",
                crate::cm::esc(&name)
            );
            break;
        }
    }
    writer.abort();
    handle.abandon();
    let mut st = m.st.lock();
    if let Some(n) = st.nodes.get_mut(&name)
        && n.agent.as_ref().is_some_and(|a| a.conn == conn)
    {
        n.up = false;
        n.agent = None;
        n.down_since.get_or_insert(now());
        tracing::warn!("agent {} disconnected; node down", crate::cm::esc(&name));
    }
}

/// An answer to an agent: at once, or once writes are committed.
enum Answer {
    Now(Reply),
    AfterCommit(Vec<Write>, Reply),
}

fn on_request(m: &Manager, node: &str, req: Request) -> Answer {
    // What ran and ended is recorded by the active manager alone: a standby's store is the
    // active one's copy. The agent keeps it for the active manager.
    if matches!(req, Request::Tasks(_) | Request::Exited { .. }) && !m.is_active() {
        return Answer::Now(Reply::error(
            409,
            "this manager is not active: report to the active one",
        ));
    }
    let mut st = m.st.lock();
    if let Some(n) = st.nodes.get_mut(node) {
        n.heard = Instant::now();
        n.up = n.agent.is_some();
        if n.up {
            n.down_since = None;
        }
    }
    Answer::Now(match req {
        Request::Heartbeat {
            load1,
            runqueue,
            mem_free_kb,
            procs,
        } => {
            if let Some(n) = st.nodes.get_mut(node) {
                n.load1 = load1;
                n.runqueue = runqueue;
                n.mem_free_kb = mem_free_kb;
                n.procs_count = procs;
                n.placed = 0.0;
            }
            m.wake.notify_one();
            Reply::Done("HB".into())
        }
        Request::Procs(list) => {
            if let Some(n) = st.nodes.get_mut(node) {
                n.procs = list;
            }
            Reply::Done("PROCS".into())
        }
        Request::Tasks(list) => {
            // Tasks the store says run here but the agent does not know ended while nobody
            // watched; an EXITED resent by the agent may still correct this.
            let t = now();
            let mut writes = Vec::new();
            let here: Vec<String> = st
                .tasks
                .values()
                .filter(|x| x.node == node && x.state == "running")
                .filter(|x| !st.starting.contains(&x.id))
                .map(|x| x.id.clone())
                .collect();
            if let Some(n) = st.nodes.get_mut(node) {
                n.reported = Some((Instant::now(), list.clone()));
            }
            let mut unstarted = Vec::new();
            for id in here {
                let reported = list.iter().find(|(task, _)| *task == id);
                if let Some(task) = st.tasks.get_mut(&id) {
                    match reported {
                        Some((_, pid)) => task.pid = (*pid).max(task.pid),
                        // Placed, but its RUN never reached the node (the manager that placed
                        // it stopped first): it never ran here, and may be placed again.
                        None if task.pid == 0 => unstarted.push(id.clone()),
                        None => {
                            task.state = "lost".into();
                            writes.push(Write::Task(task.clone()));
                            writes.push(Write::Event(
                                task.job,
                                t,
                                format!("task {id} lost on {node}"),
                            ));
                        }
                    }
                }
            }
            writes.extend(requeue_unstarted(&mut st, &unstarted, node, t));
            writes.extend(settle_jobs(&mut st, t));
            m.wake.notify_one();
            return Answer::AfterCommit(writes, Reply::Done("TASKS".into()));
        }
        Request::Exited { task, pid, status } => {
            let t = now();
            let mut writes = Vec::new();
            // pid 0: the exit overtook the answer to RUN.
            let mut ended_job = None;
            if let Some(rec) = st.tasks.get_mut(&task)
                && (rec.pid == pid || rec.pid == 0)
                && rec.node == node
            {
                rec.pid = pid;
                rec.state = "exited".into();
                rec.exit = Some(status);
                writes.push(Write::Task(rec.clone()));
                writes.push(Write::Event(
                    rec.job,
                    t,
                    format!("task {task} (pid {pid}) on {node} exited with {status}"),
                ));
                ended_job = Some(rec.job);
            }
            if let Some(job) = ended_job {
                let name = st
                    .jobs
                    .get(&job)
                    .map(|j| j.spec.name.clone())
                    .unwrap_or_default();
                let user = st
                    .jobs
                    .get(&job)
                    .map(|j| j.user.clone())
                    .unwrap_or_default();
                // A task given up as lost has turned up after all: judge the job again.
                if let Some(j) = st.jobs.get_mut(&job) {
                    if j.state == JobState::Lost {
                        j.state = JobState::Running;
                    }
                    if status == crate::cm::agent::UNKNOWN_EXIT && j.reason.is_empty() {
                        j.reason = format!(
                            "task {task} ended on {node} while its agent was not running: its exit status is unknown"
                        );
                    }
                }
                st.ended
                    .push((node.to_string(), pid, name, user, Instant::now()));
            }
            writes.extend(settle_jobs(&mut st, t));
            m.wake.notify_one();
            return Answer::AfterCommit(writes, Reply::Done("EXITED".into()));
        }
        Request::Ping => Reply::Pong(now()),
        other => Reply::error(400, format!("an agent may not send {}", other.verb())),
    })
}

/// Jobs whose every task never reached its node go back to the queue; a job with a task that
/// did start keeps the missing ones as lost.
pub(super) fn requeue_unstarted(
    st: &mut super::state::State,
    unstarted: &[String],
    node: &str,
    t: u64,
) -> Vec<Write> {
    let mut writes = Vec::new();
    for id in unstarted {
        let Some(job) = job_of_task(id) else { continue };
        let started_elsewhere = st.tasks.values().any(|x| {
            job_of_task(&x.id) == Some(job) && !unstarted.contains(&x.id) && x.state != "unstarted"
        });
        let Some(task) = st.tasks.get_mut(id) else {
            continue;
        };
        if started_elsewhere {
            task.state = "lost".into();
            writes.push(Write::Task(task.clone()));
            writes.push(Write::Event(job, t, format!("task {id} lost on {node}")));
            continue;
        }
        task.state = "unstarted".into();
        writes.push(Write::Task(task.clone()));
        if let Some(j) = st.jobs.get_mut(&job)
            && j.state == JobState::Running
        {
            j.state = JobState::Queued;
            j.started = None;
            j.nodes.clear();
            j.pids.clear();
            writes.push(Write::Job(Box::new(j.clone())));
            writes.push(Write::Event(
                job,
                t,
                format!(
                    "task {id} never reached {node} (the manager that placed it stopped first): queued again"
                ),
            ));
        }
    }
    writes
}

/// Ends running jobs whose tasks have all ended; returns the writes.
pub fn settle_jobs(st: &mut super::state::State, t: u64) -> Vec<Write> {
    let mut writes = Vec::new();
    let running: Vec<u64> = st
        .jobs
        .values()
        .filter(|j| j.state == JobState::Running)
        .map(|j| j.id)
        .collect();
    for id in running {
        let tasks: Vec<_> = st
            .tasks
            .values()
            .filter(|x| job_of_task(&x.id) == Some(id) && x.state != "migrated")
            .collect();
        if tasks.is_empty() || tasks.iter().any(|x| x.state == "running") {
            continue;
        }
        let lost = tasks.iter().any(|x| x.state == "lost");
        let exit = tasks
            .iter()
            .filter_map(|x| x.exit)
            .find(|e| *e != 0)
            .or_else(|| (!lost).then_some(0));
        let killed = st.killing.remove(&id);
        if let Some(j) = st.jobs.get_mut(&id) {
            j.state = if killed {
                JobState::Killed
            } else if lost {
                JobState::Lost
            } else if exit == Some(0) {
                JobState::Done
            } else {
                JobState::Failed
            };
            j.ended = Some(t);
            j.exit = exit;
            writes.push(Write::Job(Box::new(j.clone())));
            writes.push(Write::Event(id, t, format!("job {}", j.state.as_str())));
        }
    }
    writes
}
