//! Finished jobs from each backend as the workload sees them: a `gantry cm`'s store and
//! Slurm's accounting.

use super::workload::{FinishedJob, Status};
use crate::cm::store::{JobRecord, JobState};
use crate::slurm::jobs::SlurmJob;

/// The store's finished jobs (queued, running and migrated ones are not history yet).
pub fn from_cm(records: &[JobRecord]) -> Vec<FinishedJob> {
    records.iter().filter_map(from_cm_record).collect()
}

/// One record of the store as history, when it has finished.
pub fn from_cm_record(r: &JobRecord) -> Option<FinishedJob> {
    if !r.state.is_final() {
        return None;
    }
    let end = r.ended?;
    let status = match (r.state, r.exit) {
        (JobState::Done, Some(0)) => Status::Completed,
        (JobState::Done | JobState::Failed | JobState::Lost, _) => Status::Failed,
        (JobState::Killed, _) => Status::Cancelled,
        _ => Status::Unknown,
    };
    let asked = r.spec.total_tasks.max(1);
    let per_node = r.spec.tasks_per_node.max(1);
    Some(FinishedJob {
        id: r.id,
        submit: r.submitted,
        start: r.started,
        end,
        procs: u32::try_from(r.pids.len()).unwrap_or(u32::MAX).max(asked),
        procs_req: asked,
        time_req: None,
        mem_req_kb: (r.spec.memory > 0).then(|| r.spec.memory / 1024 / u64::from(per_node)),
        status,
        user: r.user.clone(),
        group: r.account.clone(),
        program: if r.spec.name.is_empty() {
            r.spec
                .exec
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string()
        } else {
            r.spec.name.clone()
        },
        queue: format!("{:?}", r.spec.class).to_lowercase(),
    })
}

/// Slurm's finished jobs (accounting's, or squeue's while the controller keeps them).
pub fn from_slurm(jobs: &[SlurmJob]) -> Vec<FinishedJob> {
    jobs.iter()
        .filter(|j| !j.live() && j.end > 0)
        .map(|j| {
            let state = j.state.split_whitespace().next().unwrap_or_default();
            let status = match state {
                "COMPLETED" => Status::Completed,
                "CANCELLED" => Status::Cancelled,
                "FAILED" | "NODE_FAIL" | "OUT_OF_MEMORY" | "TIMEOUT" | "BOOT_FAIL" => {
                    Status::Failed
                }
                _ => Status::Unknown,
            };
            FinishedJob {
                id: j.id,
                submit: j.submit,
                start: (j.start > 0).then_some(j.start),
                end: j.end,
                procs: j.cpus.max(1),
                procs_req: j.cpus.max(1),
                time_req: j.time_limit.map(|m| m.saturating_mul(60)),
                mem_req_kb: None,
                status,
                user: j.user.clone(),
                group: j.account.clone(),
                program: j.name.clone(),
                queue: j.partition.clone(),
            }
        })
        .collect()
}
