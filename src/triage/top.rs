//! The hottest hosts across every cluster, by load ÷ CPUs or by any metric.

use crate::aggregator::{Liveness, Snapshot};
use crate::model::Host;

use super::mem_used_fraction;

/// What hosts are ranked by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopBy {
    /// load_one ÷ cpu_num, in percent.
    Load,
    /// CPU busy: 100 − cpu_idle, in percent.
    Cpu,
    /// Memory in use, in percent.
    Memory,
    /// bytes_in + bytes_out, bytes per second.
    Network,
    /// Any numeric metric by name (custom gmetric ones included).
    Metric(String),
}

impl TopBy {
    /// The next of the built-in orders (a named metric goes back to load).
    pub fn next(&self) -> Self {
        match self {
            TopBy::Load => TopBy::Cpu,
            TopBy::Cpu => TopBy::Memory,
            TopBy::Memory => TopBy::Network,
            TopBy::Network | TopBy::Metric(_) => TopBy::Load,
        }
    }

    /// The column heading.
    pub fn title(&self) -> String {
        match self {
            TopBy::Load => "load ÷ CPUs".into(),
            TopBy::Cpu => "CPU busy".into(),
            TopBy::Memory => "memory used".into(),
            TopBy::Network => "network in+out".into(),
            TopBy::Metric(m) => m.clone(),
        }
    }

    /// A host's value, when it reports what is needed.
    pub fn value(&self, h: &Host) -> Option<f64> {
        match self {
            TopBy::Load => {
                let cpus = h.value("cpu_num").filter(|c| *c > 0.0)?;
                Some(h.value("load_one")? / cpus * 100.0)
            }
            TopBy::Cpu => Some(100.0 - h.value("cpu_idle")?),
            TopBy::Memory => mem_used_fraction(h).map(|f| f * 100.0),
            TopBy::Network => Some(h.value("bytes_in")? + h.value("bytes_out")?),
            TopBy::Metric(m) => h.value(m).filter(|v| v.is_finite()),
        }
    }

    /// A value as shown, with its unit.
    pub fn show(&self, v: f64, h: &Host) -> String {
        match self {
            TopBy::Load | TopBy::Cpu | TopBy::Memory => format!("{v:.0} %"),
            TopBy::Network => format!("{}/s", crate::units::human_bytes(v as u64)),
            TopBy::Metric(m) => {
                let units = h.metric(m).map(|x| x.meta.units.trim()).unwrap_or("");
                let n = crate::units::compact_number(v);
                if units.is_empty() {
                    n
                } else {
                    format!("{n} {units}")
                }
            }
        }
    }
}

/// One row of the top list.
#[derive(Debug, Clone, PartialEq)]
pub struct TopRow {
    /// The host.
    pub host: String,
    /// Its cluster.
    pub cluster: String,
    /// The ranked value.
    pub value: f64,
    /// The value as shown, with its unit.
    pub shown: String,
    /// load_one and cpu_num, for context.
    pub load: Option<(f64, f64)>,
    /// Its cluster's data is stale: the value is the last known one.
    pub stale: bool,
}

/// The `limit` hottest hosts that are up, highest first (ties by name).
pub fn top_hosts(snap: &Snapshot, now: u64, by: &TopBy, limit: usize) -> Vec<TopRow> {
    let mut rows: Vec<(f64, &Host, &str, bool)> = Vec::new();
    for cv in snap.clusters() {
        let stale = cv.staleness(now).is_some();
        for h in &cv.cluster.hosts {
            // On stale data TN keeps growing: a host counts if it was up when last heard of.
            let up = match cv.liveness(h, now) {
                Liveness::Up => true,
                Liveness::Down => false,
                Liveness::Unknown { was_up, .. } => was_up,
            };
            if !up {
                continue;
            }
            if let Some(v) = by.value(h) {
                rows.push((v, h, &cv.cluster.name, stale));
            }
        }
    }
    let cmp = |a: &(f64, &Host, &str, bool), b: &(f64, &Host, &str, bool)| {
        b.0.total_cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name))
    };
    // Only the first `limit` need ordering: select, then sort those.
    if rows.len() > limit && limit > 0 {
        rows.select_nth_unstable_by(limit - 1, cmp);
        rows.truncate(limit);
    }
    rows.sort_by(cmp);
    rows.into_iter()
        .map(|(v, h, c, stale)| TopRow {
            host: h.name.to_string(),
            cluster: c.to_string(),
            value: v,
            shown: by.show(v, h),
            load: h.value("load_one").zip(h.value("cpu_num")),
            stale,
        })
        .collect()
}
