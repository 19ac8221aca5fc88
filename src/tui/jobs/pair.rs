//! A central manager pair (protocol §9) as a problem: no manager answers as active (critical,
//! like a scheduler that is down), or the active one runs without its shadow or while the
//! shadow catches up (a warning: one more failure stops job control).

use super::JobsUi;
use crate::jobs::LinkState;
use crate::triage::problems::{SchedulerDown, Severity};

/// The problem job control `j` shows, if any.
pub fn pair_problem(j: &JobsUi, now: u64) -> Option<SchedulerDown> {
    if j.is_slurm() {
        return None;
    }
    if let (LinkState::Down(why), Some(since)) = (&j.state, j.down_since) {
        return Some(SchedulerDown {
            cluster: j.cluster.clone(),
            what: "central manager".into(),
            since,
            message: why.clone(),
            severity: Severity::Critical,
        });
    }
    let ha = j.ha.as_ref()?;
    let (since, message) = if let Some(t) = ha.shadow.strip_prefix("away since ") {
        (
            t.parse().unwrap_or(now),
            format!(
                "the active manager {} (epoch {}) runs without its shadow: changes are witnessed by a majority of the nodes instead",
                ha.name, ha.epoch
            ),
        )
    } else if ha.shadow.starts_with("catching up") {
        (
            now,
            format!(
                "the shadow of {} (epoch {}) is {}",
                ha.name, ha.epoch, ha.shadow
            ),
        )
    } else {
        return None;
    };
    Some(SchedulerDown {
        cluster: j.cluster.clone(),
        what: "shadow manager".into(),
        since,
        message,
        severity: Severity::Warning,
    })
}
