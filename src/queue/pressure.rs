//! Queue pressure: how many jobs wait and run, how long they have waited, how fast jobs get
//! done, and — by the elastic rule of our source document — how many more nodes the waiting
//! jobs need and which nodes could go. The same for a `gantry cm` cluster and a Slurm one:
//! each backend's lists are turned into [`QueueJob`]s and [`QueueNode`]s first.

use std::collections::HashMap;

/// A job as the pressure sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueJob {
    /// Waiting to start.
    pub pending: bool,
    /// Running now.
    pub running: bool,
    /// Epoch seconds submitted.
    pub submit: u64,
    /// Epoch seconds ended, if it has.
    pub end: Option<u64>,
    /// CPUs it asks for (at least 1).
    pub cpus: u32,
    /// Nodes it asks for (at least 1).
    pub nodes: u32,
    /// Can it run at all: a job held, or waiting on a dependency or its begin time, does not
    /// count as needing nodes.
    pub runnable: bool,
}

/// Where a node is in its power cycle (Slurm's power saving; a `gantry cm` node is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Power {
    /// On.
    #[default]
    On,
    /// Powered down (Slurm: `~`), started when a job needs it.
    Off,
    /// Being started (Slurm: `#`).
    PoweringUp,
    /// Being stopped (Slurm: `%`).
    PoweringDown,
}

impl Power {
    /// A word for the screen.
    pub fn word(self) -> &'static str {
        match self {
            Power::On => "on",
            Power::Off => "powered down",
            Power::PoweringUp => "powering up",
            Power::PoweringDown => "powering down",
        }
    }
}

/// A node as the pressure sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueNode {
    /// Its name.
    pub name: String,
    /// CPUs.
    pub cpus: u32,
    /// CPUs in use by jobs.
    pub alloc: u32,
    /// Takes jobs (not down, drained or failing).
    pub usable: bool,
    /// Power state.
    pub power: Power,
}

/// The rule's numbers: the source document's, as defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    /// Seconds between evaluations.
    pub every: u64,
    /// A job waiting this long asks for nodes.
    pub wait: u64,
    /// A node idle this long could be released.
    pub idle: u64,
}

impl Default for Rule {
    fn default() -> Self {
        Self {
            every: 10,
            wait: 60,
            idle: 60,
        }
    }
}

/// One cluster's queue at one moment.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Pressure {
    /// When (epoch seconds).
    pub at: u64,
    /// Jobs waiting.
    pub pending: usize,
    /// Jobs running.
    pub running: usize,
    /// Waits of the waiting jobs so far: median, 90th percentile, longest (seconds).
    pub wait_p50: u64,
    /// 90th percentile.
    pub wait_p90: u64,
    /// The longest (the oldest waiter).
    pub wait_max: u64,
    /// Jobs ended in the last hour.
    pub done_last_hour: usize,
    /// Jobs waiting at least the rule's wait that could run.
    pub waiting_long: usize,
    /// Nodes those jobs need beyond the free capacity (the rule: "needs N more nodes").
    pub needs_nodes: u32,
    /// Nodes idle at least the rule's idle time ("N nodes could be released"), by name.
    pub releasable: Vec<String>,
    /// Nodes powered down, powering up and powering down (Slurm's power saving).
    pub powered_down: usize,
    /// Being started.
    pub powering_up: usize,
    /// Being stopped.
    pub powering_down: usize,
}

/// The value at fraction `q` of sorted `v` (nearest rank).
fn percentile(v: &[u64], q: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Computes the pressure; `idle_since` says since when each node has been idle (see
/// [`Tracker`]).
pub fn compute(
    jobs: &[QueueJob],
    nodes: &[QueueNode],
    idle_since: &HashMap<String, u64>,
    rule: &Rule,
    now: u64,
) -> Pressure {
    let mut waits: Vec<u64> = Vec::new();
    let (mut running, mut done) = (0, 0);
    let (mut cpus_wanted, mut nodes_wanted, mut waiting_long) = (0u64, 0u64, 0usize);
    for j in jobs {
        if j.pending {
            let w = now.saturating_sub(j.submit);
            waits.push(w);
            if j.runnable && w >= rule.wait {
                waiting_long += 1;
                cpus_wanted += u64::from(j.cpus.max(1));
                nodes_wanted = nodes_wanted.max(u64::from(j.nodes.max(1)));
            }
        } else if j.running {
            running += 1;
        } else if j.end.is_some_and(|e| now.saturating_sub(e) < 3600) {
            done += 1;
        }
    }
    waits.sort_unstable();
    // Free capacity: usable nodes that are on, or coming (powering up counts as on its way).
    let coming = |n: &QueueNode| n.usable && matches!(n.power, Power::On | Power::PoweringUp);
    let free_cpus: u64 = nodes
        .iter()
        .filter(|n| coming(n))
        .map(|n| u64::from(n.cpus.saturating_sub(n.alloc)))
        .sum();
    let free_nodes = nodes.iter().filter(|n| coming(n) && n.alloc == 0).count() as u64;
    // A node's size: the commonest CPU count among the cluster's nodes (1 when none known).
    let per_node = {
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for n in nodes.iter().filter(|n| n.cpus > 0) {
            *counts.entry(n.cpus).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by_key(|&(c, k)| (k, c))
            .map_or(1, |(c, _)| u64::from(c))
    };
    let by_cpus = cpus_wanted.saturating_sub(free_cpus).div_ceil(per_node);
    let by_nodes = nodes_wanted.saturating_sub(free_nodes);
    let needs = if waiting_long == 0 {
        0
    } else {
        by_cpus.max(by_nodes)
    };
    let mut releasable: Vec<String> = if waiting_long > 0 {
        // Nothing goes while jobs wait for room.
        Vec::new()
    } else {
        nodes
            .iter()
            .filter(|n| n.usable && n.power == Power::On && n.alloc == 0)
            .filter(|n| {
                idle_since
                    .get(&n.name)
                    .is_some_and(|&s| now.saturating_sub(s) >= rule.idle)
            })
            .map(|n| n.name.clone())
            .collect()
    };
    releasable.sort();
    let power = |p: Power| nodes.iter().filter(|n| n.power == p).count();
    Pressure {
        at: now,
        pending: waits.len(),
        running,
        wait_p50: percentile(&waits, 0.5),
        wait_p90: percentile(&waits, 0.9),
        wait_max: waits.last().copied().unwrap_or(0),
        done_last_hour: done,
        waiting_long,
        needs_nodes: u32::try_from(needs).unwrap_or(u32::MAX),
        releasable,
        powered_down: power(Power::Off),
        powering_up: power(Power::PoweringUp),
        powering_down: power(Power::PoweringDown),
    }
}

/// Keeps, across polls, since when each node has been idle, and evaluates the rule no more
/// often than it says.
#[derive(Debug, Default)]
pub struct Tracker {
    idle_since: HashMap<String, u64>,
    last: Option<u64>,
}

impl Tracker {
    /// Notes the nodes as seen at `now`; returns the pressure when the rule is due.
    pub fn observe(
        &mut self,
        jobs: &[QueueJob],
        nodes: &[QueueNode],
        rule: &Rule,
        now: u64,
    ) -> Option<Pressure> {
        for n in nodes {
            let idle = n.usable && n.power == Power::On && n.alloc == 0;
            if idle {
                self.idle_since.entry(n.name.clone()).or_insert(now);
            } else {
                self.idle_since.remove(&n.name);
            }
        }
        self.idle_since
            .retain(|name, _| nodes.iter().any(|n| n.name == *name));
        if self
            .last
            .is_some_and(|l| now.saturating_sub(l) < rule.every)
        {
            return None;
        }
        self.last = Some(now);
        Some(compute(jobs, nodes, &self.idle_since, rule, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(pending: bool, submit: u64, cpus: u32) -> QueueJob {
        QueueJob {
            pending,
            running: !pending,
            submit,
            end: None,
            cpus,
            nodes: 1,
            runnable: true,
        }
    }

    fn node(name: &str, alloc: u32) -> QueueNode {
        QueueNode {
            name: name.into(),
            cpus: 4,
            alloc,
            usable: true,
            power: Power::On,
        }
    }

    #[test]
    fn jobs_waiting_a_minute_need_nodes_beyond_the_free_ones() {
        let now = 10_000;
        // Ten jobs of 2 CPUs waited 90 s, one 30 s; 2 CPUs free.
        let mut jobs: Vec<QueueJob> = (0..10).map(|_| job(true, now - 90, 2)).collect();
        jobs.push(job(true, now - 30, 2));
        jobs.push(job(false, now - 500, 4));
        let nodes = [node("c1", 4), node("c2", 2)];
        let p = compute(&jobs, &nodes, &HashMap::new(), &Rule::default(), now);
        assert_eq!((p.pending, p.running, p.waiting_long), (11, 1, 10));
        // 20 CPUs wanted, 2 free, 4 a node: 5 more nodes.
        assert_eq!(p.needs_nodes, 5);
        assert_eq!((p.wait_p50, p.wait_max), (90, 90));
        assert!(p.releasable.is_empty(), "nothing goes while jobs wait");
    }

    #[test]
    fn nodes_idle_a_minute_could_be_released() {
        let rule = Rule::default();
        let mut t = Tracker::default();
        let nodes = [node("c1", 0), node("c2", 4), node("c3", 0)];
        let first = t.observe(&[], &nodes, &rule, 1000).unwrap();
        assert!(first.releasable.is_empty());
        assert!(t.observe(&[], &nodes, &rule, 1005).is_none(), "every 10 s");
        let later = t.observe(&[], &nodes, &rule, 1060).unwrap();
        assert_eq!(later.releasable, ["c1", "c3"]);
        // c1 takes a job: no longer idle, and its clock starts again.
        let busy = [node("c1", 1), node("c2", 4), node("c3", 0)];
        t.observe(&[], &busy, &rule, 1070);
        let p = t.observe(&[], &nodes, &rule, 1080).unwrap();
        assert_eq!(p.releasable, ["c3"]);
    }

    #[test]
    fn a_powering_up_node_counts_as_coming() {
        let now = 5000;
        let jobs = [job(true, now - 120, 4)];
        let mut up = node("c1", 0);
        up.power = Power::PoweringUp;
        let mut off = node("c2", 0);
        off.power = Power::Off;
        let p = compute(&jobs, &[up, off], &HashMap::new(), &Rule::default(), now);
        assert_eq!(p.needs_nodes, 0);
        assert_eq!((p.powering_up, p.powered_down), (1, 1));
    }
}
