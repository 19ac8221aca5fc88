//! The queue's problems: jobs waiting past the rule's time for nodes the cluster does not
//! have, nodes idle long enough to be released, and a provisioning or release command that
//! failed.

use super::problems::{Kind, Problem, Severity, Subject};
use crate::queue::QueueReport;
use crate::units::human_secs;

/// The problems of one cluster's queue (`cluster` as its job backend names it; `*` for the
/// catch-all one).
pub fn queue_problems(cluster: &str, r: &QueueReport, now: u64, out: &mut Vec<Problem>) {
    let p = &r.pressure;
    let place = if cluster == "*" {
        "job control".to_string()
    } else {
        cluster.to_string()
    };
    let subject = Subject::Cluster(cluster.to_string());
    if p.needs_nodes > 0 {
        out.push(Problem {
            severity: Severity::Warning,
            kind: Kind::QueueShort,
            subject: subject.clone(),
            name: format!("needs {} more nodes", p.needs_nodes),
            place: place.clone(),
            detail: format!(
                "{} jobs waiting {} or more (the longest {}); {} running",
                p.waiting_long,
                human_secs(r.rule.wait),
                human_secs(p.wait_max),
                p.running
            ),
            since: Some(now.saturating_sub(p.wait_max)),
            weight: f64::from(p.needs_nodes),
        });
    }
    if !p.releasable.is_empty() {
        let mut names = p.releasable.iter().take(6).cloned().collect::<Vec<_>>();
        if p.releasable.len() > names.len() {
            names.push(format!("and {} more", p.releasable.len() - names.len()));
        }
        out.push(Problem {
            severity: Severity::Warning,
            kind: Kind::NodesIdle,
            subject: subject.clone(),
            name: format!("{} nodes could be released", p.releasable.len()),
            place: place.clone(),
            detail: format!(
                "idle {} or more, no job waiting: {}",
                human_secs(r.rule.idle),
                names.join(", ")
            ),
            since: None,
            weight: p.releasable.len() as f64,
        });
    }
    if let Some(a) = r.actions.iter().rev().find(|a| !a.dry_run)
        && let Some(e) = &a.error
    {
        out.push(Problem {
            severity: Severity::Critical,
            kind: Kind::ElasticFailed,
            subject,
            name: format!("{} of {} nodes failed", a.what, a.count),
            place,
            detail: e.clone(),
            since: Some(a.at),
            weight: 0.0,
        });
    }
}
