//! The elastic rule, run by the active manager: every few seconds its queue's pressure is
//! judged (jobs waiting past the rule's time need nodes; nodes idle past it could go), kept
//! for `QUEUE`, and — when the site configured them — a provisioning or release command is
//! run with the node count: dry-run unless told otherwise, no more often than the rate limit
//! allows, its output logged and kept, a failure reported.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::cm::store::JobState;
use crate::queue::{ElasticAction, QueueJob, QueueNode, QueueReport, Rule, Tracker};

use super::Manager;

/// What the site configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElasticSettings {
    /// The rule.
    pub rule: Rule,
    /// Run with `GANTRY_NODES` nodes to add (a site's script for OpenStack, or anything).
    pub provision: Option<String>,
    /// Run with `GANTRY_NODES` the nodes to release, by name.
    pub release: Option<String>,
    /// Say what would be run, run nothing.
    pub dry_run: bool,
    /// Seconds between two runs of the same command.
    pub min_interval: u64,
    /// Seconds a command may take before it is killed.
    pub timeout: u64,
}

impl Default for ElasticSettings {
    fn default() -> Self {
        Self {
            rule: Rule::default(),
            provision: None,
            release: None,
            dry_run: true,
            min_interval: 300,
            timeout: 120,
        }
    }
}

/// Actions kept for `QUEUE`.
const KEPT: usize = 20;
/// Bytes of a command's output kept.
const OUTPUT: usize = 4096;

/// The rule's state and what it did.
#[derive(Debug, Default)]
pub struct Elastic {
    tracker: Tracker,
    report: Option<QueueReport>,
    actions: VecDeque<ElasticAction>,
    last_provision: Option<u64>,
    last_release: Option<u64>,
}

impl Manager {
    /// The queue as last judged, with the commands run.
    pub fn queue_report(&self) -> QueueReport {
        let e = self.elastic.lock();
        let mut r = e.report.clone().unwrap_or_else(|| QueueReport {
            rule: self.settings.elastic.rule,
            ..QueueReport::default()
        });
        r.actions = e.actions.iter().cloned().collect();
        r.acts = if self.settings.elastic.provision.is_some()
            || self.settings.elastic.release.is_some()
        {
            "commands".into()
        } else {
            String::new()
        };
        r
    }

    /// The queue's jobs and nodes now.
    fn queue_now(&self) -> (Vec<QueueJob>, Vec<QueueNode>) {
        let st = self.st.lock();
        let jobs = st
            .jobs
            .values()
            .map(|j| {
                let tasks = j.spec.total_tasks.max(1);
                let per_node = j.spec.tasks_per_node.max(1);
                QueueJob {
                    pending: j.state == JobState::Queued,
                    running: matches!(j.state, JobState::Running | JobState::Migrated),
                    submit: j.submitted,
                    end: j.ended,
                    cpus: tasks,
                    nodes: tasks.div_ceil(per_node),
                    runnable: true,
                }
            })
            .collect();
        let mut running: std::collections::HashMap<&str, u32> = Default::default();
        for t in st.tasks.values().filter(|t| t.state == "running") {
            *running.entry(t.node.as_str()).or_default() += 1;
        }
        let nodes = st
            .nodes
            .values()
            .map(|n| QueueNode {
                name: n.name.clone(),
                cpus: n.cpus,
                alloc: running.get(n.name.as_str()).copied().unwrap_or(0),
                usable: n.up && n.agent.is_some(),
                power: crate::queue::Power::On,
            })
            .collect();
        (jobs, nodes)
    }
}

/// Runs the rule until the manager goes.
pub(super) async fn run(m: Arc<Manager>) {
    let cfg = m.settings.elastic.clone();
    let mut tick = tokio::time::interval(Duration::from_secs(cfg.rule.every.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // A standby judges nothing: the active manager's queue is the cluster's.
        if !m.is_active() {
            continue;
        }
        let (jobs, nodes) = m.queue_now();
        let now = super::now();
        let p = {
            let mut e = m.elastic.lock();
            let Some(p) = e.tracker.observe(&jobs, &nodes, &cfg.rule, now) else {
                continue;
            };
            e.report = Some(QueueReport {
                pressure: p.clone(),
                rule: cfg.rule,
                actions: Vec::new(),
                acts: String::new(),
            });
            p
        };
        if p.needs_nodes > 0
            && let Some(cmd) = &cfg.provision
            && due(m.elastic.lock().last_provision, &cfg, now)
        {
            m.elastic.lock().last_provision = Some(now);
            let a = act(&cfg, "provision", cmd, p.needs_nodes, &[], now).await;
            keep(&m, a);
        }
        if !p.releasable.is_empty()
            && let Some(cmd) = &cfg.release
            && due(m.elastic.lock().last_release, &cfg, now)
        {
            m.elastic.lock().last_release = Some(now);
            let n = u32::try_from(p.releasable.len()).unwrap_or(u32::MAX);
            let a = act(&cfg, "release", cmd, n, &p.releasable, now).await;
            keep(&m, a);
        }
    }
}

fn due(last: Option<u64>, cfg: &ElasticSettings, now: u64) -> bool {
    last.is_none_or(|l| now.saturating_sub(l) >= cfg.min_interval)
}

fn keep(m: &Manager, a: ElasticAction) {
    let mut e = m.elastic.lock();
    e.actions.push_back(a);
    while e.actions.len() > KEPT {
        e.actions.pop_front();
    }
}

/// The end of `bytes`, at most [`OUTPUT`] of them, as text.
fn tail(bytes: &[u8]) -> String {
    let from = bytes.len().saturating_sub(OUTPUT);
    String::from_utf8_lossy(&bytes[from..]).into_owned()
}

/// Runs (or, dry, only says) one command: `sh -c CMD`, with `GANTRY_NODES` the count (provision)
/// or the names (release), `GANTRY_COUNT` the count, as the manager's own user.
async fn act(
    cfg: &ElasticSettings,
    what: &str,
    cmd: &str,
    count: u32,
    nodes: &[String],
    now: u64,
) -> ElasticAction {
    let mut a = ElasticAction {
        at: now,
        what: what.into(),
        count,
        nodes: nodes.to_vec(),
        dry_run: cfg.dry_run,
        exit: None,
        output: String::new(),
        error: None,
    };
    let arg = if nodes.is_empty() {
        count.to_string()
    } else {
        nodes.join(" ")
    };
    if cfg.dry_run {
        tracing::info!(
            "elastic (dry run): would {what} {count} nodes: GANTRY_NODES={:?} sh -c {cmd:?}",
            arg
        );
        return a;
    }
    tracing::info!("elastic: {what} {count} nodes: GANTRY_NODES={arg:?} sh -c {cmd:?}");
    let child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .env("GANTRY_NODES", &arg)
        .env("GANTRY_COUNT", count.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        // Its own process group: a script's children (a cloud client, a `sleep`) are killed
        // with it when it overruns, not left running.
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            a.error = Some(format!("could not run {cmd:?}: {e}"));
            tracing::error!(
                "elastic: {what}: {}",
                a.error.as_deref().unwrap_or_default()
            );
            return a;
        }
    };
    // Declared after the child, so dropped before it: the group is killed while its leader is
    // not yet reaped (its id cannot have been reused), here on a timeout and also when this
    // future is dropped mid-run (the manager stopping).
    let mut group = GroupKill(
        child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .map(nix::unistd::Pid::from_raw),
    );
    let (out, err) = (child.stdout.take(), child.stderr.take());
    // Read while it runs: a command that prints much would block on a full pipe otherwise.
    let run = async { tokio::join!(child.wait(), read_all(out), read_all(err)) };
    match tokio::time::timeout(Duration::from_secs(cfg.timeout), run).await {
        Ok((Ok(status), stdout, stderr)) => {
            // Done: what it left running on purpose (a daemon it started) is its own.
            group.0 = None;
            let mut text = tail(&stdout);
            let err = tail(&stderr);
            if !err.is_empty() {
                text.push_str(&err);
            }
            a.output = text;
            a.exit = status.code();
            if !status.success() {
                a.error = Some(format!(
                    "{cmd:?} exited with {status}: {}",
                    a.output.lines().last().unwrap_or_default()
                ));
            }
        }
        Ok((Err(e), ..)) => {
            group.0 = None;
            a.error = Some(format!("{cmd:?}: {e}"));
        }
        Err(_) => {
            group.kill();
            a.error = Some(format!("{cmd:?} took more than {} s; killed", cfg.timeout));
        }
    }
    // What the command printed is the site's, escaped for the log.
    tracing::info!(
        "elastic: {what} exited {:?}: {}",
        a.exit,
        a.output.escape_debug()
    );
    if let Some(e) = &a.error {
        tracing::error!("elastic: {what} failed: {}", e.escape_debug());
    }
    a
}

/// Everything a pipe gives until it ends (nothing when there is no pipe).
async fn read_all<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut p) = pipe {
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut p, &mut buf).await;
    }
    buf
}

/// A command's own process group (`process_group(0)`: never the manager's), SIGKILLed when
/// dropped while still set.
struct GroupKill(Option<nix::unistd::Pid>);

impl GroupKill {
    fn kill(&mut self) {
        if let Some(g) = self.0.take() {
            let _ = nix::sys::signal::killpg(g, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        self.kill();
    }
}
