//! Slurm's jobs and nodes as the pressure sees them: a pending array counts once per task,
//! held jobs and jobs waiting on a dependency or their begin time need no nodes, and the
//! power-saving flags say where each node is in its power cycle.

use super::pressure::{Power, QueueJob, QueueNode};
use crate::slurm::jobs::SlurmJob;
use crate::slurm::parse::SlurmNode;

/// Reasons a pending job waits that more nodes would not cure.
fn waits_for_nothing_nodes_give(reason: &str) -> bool {
    reason.starts_with("Dependency")
        || reason.starts_with("JobHeld")
        || matches!(
            reason,
            "BeginTime"
                | "DependencyNeverSatisfied"
                | "AssocMaxJobsLimit"
                | "QOSMaxJobsPerUserLimit"
        )
}

/// A Slurm job as queue jobs (a pending array: one per task).
pub fn jobs(list: &[SlurmJob]) -> Vec<QueueJob> {
    let mut out = Vec::with_capacity(list.len());
    for j in list {
        let pending = j.state == "PENDING";
        let running = matches!(
            j.state.as_str(),
            "RUNNING" | "CONFIGURING" | "COMPLETING" | "SUSPENDED"
        );
        let q = QueueJob {
            pending,
            running,
            submit: j.submit,
            end: (!pending && !running && j.end > 0).then_some(j.end),
            cpus: j.cpus.max(1),
            nodes: j.node_count.max(1),
            runnable: !waits_for_nothing_nodes_give(&j.reason),
        };
        let n = if pending { j.count() } else { 1 };
        out.extend(std::iter::repeat_n(q, n));
    }
    out
}

/// Where a node is in its power cycle, from its state flags.
pub fn power(n: &SlurmNode) -> Power {
    let has = |f: &str| n.flags.iter().any(|x| x == f);
    if has("POWERING_UP") {
        Power::PoweringUp
    } else if has("POWERING_DOWN") {
        Power::PoweringDown
    } else if has("POWERED_DOWN") {
        Power::Off
    } else {
        Power::On
    }
}

/// Slurm's nodes as queue nodes.
pub fn nodes(list: &[SlurmNode]) -> Vec<QueueNode> {
    list.iter()
        .map(|n| QueueNode {
            name: n.name.clone(),
            cpus: n.cpus,
            alloc: if n.state == "allocated" {
                n.cpus.max(n.alloc_cpus)
            } else {
                n.alloc_cpus
            },
            usable: n.usable(),
            power: power(n),
        })
        .collect()
}
