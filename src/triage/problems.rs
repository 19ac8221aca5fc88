//! Everything wrong right now, across every cluster, worst first: what the on-call operator
//! opens first. Built from one snapshot (and the failed jobs job control knows), so it never
//! reads a source, a store or a manager itself.

use crate::aggregator::{ClusterView, Health, Snapshot, SourceView};
use crate::model::Host;

use super::{Thresholds, mem_used_fraction};

/// How bad a problem is; problems are shown worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Data or machines are gone.
    Critical,
    /// Something works badly.
    Warning,
}

/// What kind of problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// No address of a source answered.
    SourceDead,
    /// A scheduler's controller (Slurm's slurmctld) does not answer: nothing can be submitted,
    /// listed or cancelled there.
    SchedulerDown,
    /// A host stopped reporting (its cluster's data is fresh).
    HostDown,
    /// A hardware sensor past its BMC's caution or critical threshold.
    Sensor,
    /// A cluster's data stopped advancing: its hosts are unknown, not down.
    ClusterStale,
    /// A source answered with a damaged or partial document.
    SourceDegraded,
    /// A node's BMC does not answer (or none of a table's can be polled).
    BmcFailing,
    /// A job that failed in the last hour.
    JobFailed,
    /// A host over the load threshold.
    HostLoad,
    /// A host over the memory threshold.
    HostMemory,
    /// An error-severity log template at several times its usual rate.
    EventSpike,
    /// A provisioning or release command failed.
    ElasticFailed,
    /// Jobs have waited past the elastic rule's time for nodes the cluster lacks.
    QueueShort,
    /// Nodes idle past the elastic rule's time could be released.
    NodesIdle,
    /// A central manager pair works without its shadow, or the shadow is catching up: a second
    /// failure would stop job control (protocol §9).
    ManagerPair,
    /// A file this console saves (history, events) could not be written: what it holds now is
    /// lost if it stops.
    SaveFailing,
}

impl Kind {
    /// The word shown in the list's first column.
    pub fn word(self) -> &'static str {
        match self {
            Kind::SourceDead => "source dead",
            Kind::SchedulerDown => "scheduler",
            Kind::HostDown => "host down",
            Kind::Sensor => "sensor",
            Kind::BmcFailing => "bmc",
            Kind::ClusterStale => "stale",
            Kind::SourceDegraded => "degraded",
            Kind::HostLoad => "load",
            Kind::HostMemory => "memory",
            Kind::JobFailed => "job failed",
            Kind::ManagerPair => "cm pair",
            Kind::EventSpike => "log spike",
            Kind::ElasticFailed => "elastic",
            Kind::QueueShort => "queue",
            Kind::NodesIdle => "idle nodes",
            Kind::SaveFailing => "not saved",
        }
    }
}

/// What a problem is about, for the app to go there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A source.
    Source(String),
    /// A cluster.
    Cluster(String),
    /// A host.
    Host {
        /// Its cluster.
        cluster: String,
        /// The host.
        host: String,
    },
    /// A log template (the events view).
    Template(u32),
    /// A job.
    Job {
        /// The cluster whose job control ran it.
        cluster: String,
        /// The job.
        id: u64,
    },
    /// A file on this machine.
    File(std::path::PathBuf),
}

/// One row of the problems view.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// How bad.
    pub severity: Severity,
    /// What kind.
    pub kind: Kind,
    /// What it is about.
    pub subject: Subject,
    /// The name shown (host, cluster, source or job).
    pub name: String,
    /// Where: the cluster (or source) it belongs to.
    pub place: String,
    /// What exactly, in words.
    pub detail: String,
    /// Epoch seconds since when (None: not known).
    pub since: Option<u64>,
    /// How far over its threshold (load or memory fraction): the worst first.
    pub weight: f64,
}

/// A job that ended badly, as job control reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedJob {
    /// The cluster whose job control ran it.
    pub cluster: String,
    /// Job id.
    pub id: u64,
    /// Job name.
    pub name: String,
    /// Owner.
    pub user: String,
    /// The state it ended in (failed, killed, lost…).
    pub state: String,
    /// Epoch seconds it ended.
    pub ended: u64,
    /// Exit status.
    pub exit: Option<i32>,
    /// Why, when known.
    pub reason: String,
}

/// A scheduler's controller that does not answer, as job control found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerDown {
    /// The cluster its job control serves (`*`: every cluster).
    pub cluster: String,
    /// What does not answer (`Slurm controller`).
    pub what: String,
    /// Epoch seconds since when.
    pub since: u64,
    /// What the scheduler's own tools said.
    pub message: String,
    /// Critical: it does not answer (a DOWN mark on its cluster); a warning: it answers, but
    /// one more failure would stop it (a manager without its shadow).
    pub severity: Severity,
}

/// How far back failed jobs count.
pub const FAILED_JOBS_WINDOW: u64 = 3600;

/// Files whose saves fail, as problems: the newest state lives only in memory until a save
/// goes through.
pub fn save_problems(failing: &[crate::durable::SaveState], out: &mut Vec<Problem>) {
    for s in failing {
        let name = s.path.file_name().map_or_else(
            || s.path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let last = match s.saved_at {
            Some(_) => "the last good save is kept",
            None => "not saved since the console started",
        };
        out.push(Problem {
            severity: Severity::Critical,
            kind: Kind::SaveFailing,
            subject: Subject::File(s.path.clone()),
            name,
            place: s
                .path
                .parent()
                .map_or_else(String::new, |d| d.display().to_string()),
            detail: format!(
                "{}: {}; {last}",
                s.path.display(),
                s.error.as_deref().unwrap_or_default()
            ),
            since: s.saved_at,
            weight: 0.0,
        });
    }
}

/// Every problem in `snap` at `now`, worst first; within a severity, the oldest first (it has
/// been wrong longest), then by name so the order is stable.
pub fn problems(
    snap: &Snapshot,
    now: u64,
    th: &Thresholds,
    failed: &[FailedJob],
    down: &[SchedulerDown],
) -> Vec<Problem> {
    let mut out = Vec::new();
    for d in down {
        let critical = d.severity == Severity::Critical;
        out.push(Problem {
            severity: d.severity,
            kind: if critical {
                Kind::SchedulerDown
            } else {
                Kind::ManagerPair
            },
            subject: Subject::Cluster(d.cluster.clone()),
            name: d.what.clone(),
            place: if d.cluster == "*" {
                "job control".into()
            } else {
                d.cluster.clone()
            },
            detail: if critical {
                format!("unreachable: {}", d.message)
            } else {
                d.message.clone()
            },
            since: Some(d.since),
            weight: 0.0,
        });
    }
    for s in &snap.sources {
        source_problems(s, &mut out);
        // A dead source's clusters are covered by its own row.
        if s.status.health == Health::Dead {
            continue;
        }
        for cv in &s.clusters {
            cluster_problems(cv, now, th, &mut out);
        }
    }
    super::sensors::sensor_problems(snap, now, &mut out);
    for j in failed {
        if now.saturating_sub(j.ended) > FAILED_JOBS_WINDOW {
            continue;
        }
        let exit = j.exit.map(|e| format!("exit {e}")).unwrap_or_default();
        let detail = [j.state.as_str(), exit.as_str(), j.reason.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Problem {
            severity: Severity::Warning,
            kind: Kind::JobFailed,
            subject: Subject::Job {
                cluster: j.cluster.clone(),
                id: j.id,
            },
            name: format!("{} {}", j.id, j.name),
            // The catch-all manager serves every cluster.
            place: if j.cluster == "*" {
                "job control".into()
            } else {
                j.cluster.clone()
            },
            detail: format!("{detail} (user {})", j.user),
            since: Some(j.ended),
            weight: 0.0,
        });
    }
    sort_problems(&mut out);
    out
}

/// Worst first; within a severity, by kind, the oldest first (it has been wrong longest),
/// the furthest over its threshold, then by name so the order is stable.
pub fn sort_problems(out: &mut [Problem]) {
    out.sort_by(|a, b| {
        (a.severity, a.kind, a.since.unwrap_or(0))
            .cmp(&(b.severity, b.kind, b.since.unwrap_or(0)))
            .then_with(|| b.weight.total_cmp(&a.weight))
            .then_with(|| (&a.place, &a.name).cmp(&(&b.place, &b.name)))
    });
}

fn source_problems(s: &SourceView, out: &mut Vec<Problem>) {
    let why = s.status.last_error.clone().unwrap_or_default();
    let (severity, kind, detail) = match s.status.health {
        Health::Dead => {
            let hosts: usize = s.clusters.iter().map(|c| c.cluster.hosts.len()).sum();
            let what = if hosts > 0 {
                format!("{hosts} hosts unknown; ")
            } else {
                String::new()
            };
            (Severity::Critical, Kind::SourceDead, format!("{what}{why}"))
        }
        Health::Degraded => (Severity::Warning, Kind::SourceDegraded, why),
        Health::Ok | Health::Pending => return,
    };
    out.push(Problem {
        severity,
        kind,
        subject: Subject::Source(s.name.to_string()),
        name: s.name.to_string(),
        place: "source".into(),
        detail,
        since: match kind {
            // Dead since the last poll that worked (never: since it was first tried).
            Kind::SourceDead => s.status.last_success.or(s.status.last_attempt),
            _ => s.status.last_attempt,
        },
        weight: 0.0,
    });
}

fn cluster_problems(cv: &ClusterView, now: u64, th: &Thresholds, out: &mut Vec<Problem>) {
    let cluster = &cv.cluster.name;
    if let Some(stale) = cv.staleness(now) {
        out.push(Problem {
            severity: Severity::Warning,
            kind: Kind::ClusterStale,
            subject: Subject::Cluster(cluster.to_string()),
            name: cluster.to_string(),
            place: cv.source.to_string(),
            detail: format!(
                "{stale}; its {} hosts are unknown, shown as last known",
                cv.cluster.hosts.len()
            ),
            since: Some(now.saturating_sub(stale_secs(stale))),
            weight: 0.0,
        });
        // Hosts of a stale cluster are unknown: calling them down or hot would be a guess.
        return;
    }
    let age = cv.age(now);
    for h in &cv.cluster.hosts {
        host_problems(cv, h, age, now, th, out);
    }
}

fn stale_secs(s: crate::aggregator::Stale) -> u64 {
    match s {
        crate::aggregator::Stale::NoAnswer(v)
        | crate::aggregator::Stale::Frozen(v)
        | crate::aggregator::Stale::Behind(v) => v,
    }
}

fn host_problems(
    cv: &ClusterView,
    h: &Host,
    age: u64,
    now: u64,
    th: &Thresholds,
    out: &mut Vec<Problem>,
) {
    let subject = || Subject::Host {
        cluster: cv.cluster.name.to_string(),
        host: h.name.to_string(),
    };
    let mut push = |severity, kind, detail: String, since, weight| {
        out.push(Problem {
            severity,
            kind,
            subject: subject(),
            name: h.name.to_string(),
            place: cv.cluster.name.to_string(),
            detail,
            since,
            weight,
        })
    };
    if !h.is_up(cv.cluster.localtime, age) {
        let silent = u64::from(h.tn) + age;
        push(
            Severity::Critical,
            Kind::HostDown,
            format!("no report for {}", crate::units::human_secs(silent)),
            Some(now.saturating_sub(silent)),
            0.0,
        );
        return;
    }
    let cpus = h.value("cpu_num").filter(|c| *c > 0.0);
    if let (Some(load), Some(cpus)) = (h.value("load_one"), cpus) {
        let f = load / cpus;
        if f > th.load {
            push(
                Severity::Warning,
                Kind::HostLoad,
                format!("load {load:.2} on {cpus:.0} CPUs ({:.0} %)", f * 100.0),
                None,
                f,
            );
        }
    }
    if let Some(f) = mem_used_fraction(h)
        && f > th.memory
    {
        push(
            Severity::Warning,
            Kind::HostMemory,
            format!("{:.0} % of memory used", f * 100.0),
            None,
            f,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64, ended: u64) -> FailedJob {
        FailedJob {
            cluster: "*".into(),
            id,
            name: format!("job{id}"),
            user: "alice".into(),
            state: "failed".into(),
            ended,
            exit: Some(1),
            reason: String::new(),
        }
    }

    #[test]
    fn failed_jobs_count_for_an_hour_and_the_oldest_comes_first() {
        let now = 1_800_000_000;
        let snap = Snapshot::default();
        let jobs = [
            job(1, now - FAILED_JOBS_WINDOW - 1),
            job(2, now - 60),
            job(3, now - 600),
        ];
        let p = problems(&snap, now, &Thresholds::default(), &jobs, &[]);
        let ids: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(ids, ["3 job3", "2 job2"]);
        assert_eq!(p[0].place, "job control", "the catch-all manager is named");
        assert_eq!(p[0].detail, "failed, exit 1 (user alice)");
    }

    #[test]
    fn an_unreachable_scheduler_is_critical_and_first() {
        let now = 1_800_000_000;
        let down = [SchedulerDown {
            severity: Severity::Critical,
            cluster: "hpc".into(),
            what: "Slurm controller".into(),
            since: now - 90,
            message: "Slurmctld(primary) at head is DOWN".into(),
        }];
        let p = problems(
            &Snapshot::default(),
            now,
            &Thresholds::default(),
            &[job(2, now - 60)],
            &down,
        );
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].severity, p[0].kind),
            (Severity::Critical, Kind::SchedulerDown)
        );
        assert_eq!(p[0].place, "hpc");
        assert_eq!(
            p[0].detail,
            "unreachable: Slurmctld(primary) at head is DOWN"
        );
        assert_eq!(p[0].since, Some(now - 90));
    }

    #[test]
    fn a_failing_save_is_a_critical_problem_that_names_the_file_and_the_error() {
        let failing = [
            crate::durable::SaveState {
                path: "/var/lib/gantry/history.bin".into(),
                saved_at: Some(1_000),
                error: Some("No space left on device (os error 28)".into()),
            },
            crate::durable::SaveState {
                path: "/var/lib/gantry/events.json".into(),
                saved_at: None,
                error: Some("Input/output error (os error 5)".into()),
            },
        ];
        let mut out = Vec::new();
        save_problems(&failing, &mut out);
        assert_eq!(out.len(), 2);
        let h = &out[0];
        assert_eq!(
            (h.severity, h.kind, h.name.as_str(), h.place.as_str()),
            (
                Severity::Critical,
                Kind::SaveFailing,
                "history.bin",
                "/var/lib/gantry"
            )
        );
        assert!(h.detail.contains("No space left") && h.detail.contains("last good save"));
        assert_eq!(h.since, Some(1_000));
        assert!(
            out[1]
                .detail
                .contains("not saved since the console started")
        );
    }
}
