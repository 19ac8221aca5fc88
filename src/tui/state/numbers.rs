//! The numbers of a cluster's (or remote grid's) summary line, derived once per snapshot or
//! tick, never while drawing: the ratios walk every host.

use crate::aggregator::{ClusterView, host_ratios};
use crate::model::Summary;

/// What a cluster's summary line says.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClusterNumbers {
    /// Hosts up (as of `known_at` when stale).
    pub up: usize,
    /// Hosts down (as of `known_at` when stale).
    pub down: usize,
    /// Some when the data is stale: every number is the last known one, from this epoch, and
    /// the hosts are unknown now.
    pub known_at: Option<u64>,
    /// CPUs of up hosts.
    pub cpus: u64,
    /// Sum of load_one.
    pub load_sum: f64,
    /// load_one ÷ cpu_num over hosts reporting both, in percent.
    pub load_pct: Option<f64>,
    /// Memory in use over mem_total, over hosts reporting both, in percent.
    pub mem_pct: Option<f64>,
    /// mem_total of those hosts, in KB (gmond's unit).
    pub mem_total_kb: Option<f64>,
}

impl ClusterNumbers {
    /// Hosts in all.
    pub fn hosts(&self) -> usize {
        self.up + self.down
    }
}

/// A cluster's numbers now. Stale data gives the counts of its last fresh moment, marked by
/// `known_at`; ratios are taken host by host over hosts reporting both terms, or from the
/// summary when the source sent no hosts.
pub fn cluster_numbers(cv: &ClusterView, now: u64) -> ClusterNumbers {
    let s = cv.summary();
    let known_at = cv.staleness(now).map(|_| cv.known_at());
    let (up, down) = match known_at {
        Some(_) => cv.hosts_up_down_known(),
        None => cv.hosts_up_down(now),
    };
    let mut n = summary_numbers(s);
    n.up = up;
    n.down = down;
    n.known_at = known_at;
    if !cv.cluster.hosts.is_empty() {
        // The summary was computed at the poll: pair the terms over the hosts up then.
        let r = host_ratios(
            cv.cluster
                .hosts
                .iter()
                .filter(|h| cv.host_was_up_at(h, cv.polled_at)),
            0,
        );
        n.load_pct = r.load.fraction().map(|l| l * 100.0);
        n.mem_pct = r.mem.fraction().map(|m| (m * 100.0).clamp(0.0, 100.0));
        n.mem_total_kb = (r.mem.hosts > 0).then_some(r.mem.whole);
    }
    n
}

/// The numbers a summary alone gives (a remote grid, a summary-only cluster).
pub fn summary_numbers(s: &Summary) -> ClusterNumbers {
    let mem = s.mem_ratio();
    ClusterNumbers {
        up: s.hosts_up as usize,
        down: s.hosts_down as usize,
        known_at: None,
        cpus: s.sum("cpu_num").unwrap_or(0.0) as u64,
        load_sum: s.sum("load_one").unwrap_or(0.0),
        load_pct: s.load_ratio().and_then(|r| r.fraction()).map(|l| l * 100.0),
        mem_pct: mem
            .and_then(|r| r.fraction())
            .map(|m| (m * 100.0).clamp(0.0, 100.0)),
        mem_total_kb: mem.map(|r| r.whole),
    }
}
