//! Graphs as data, shared by the console and the exporters: which graphs a host and a cluster
//! have, and each one's points over a range from the history store.

mod export;
mod font;
mod svg_text;

use crate::history::{HistoryStore, Point, Range, SummaryValue};

pub use export::{ExportError, Exported, export, time_label};

/// The host metrics shown first, with graphs, in this order.
pub const HOST_KEY_METRICS: [&str; 11] = [
    "cpu_idle",
    "cpu_system",
    "cpu_user",
    "load_one",
    "load_five",
    "load_fifteen",
    "mem_buffers",
    "mem_free",
    "pkts_in",
    "pkts_out",
    "proc_total",
];

/// A cluster's graphs: metric, label, which summary value, units.
pub const CLUSTER_GRAPHS: [(&str, &str, SummaryValue, &str); 5] = [
    ("load_one", "load (sum)", SummaryValue::Sum, ""),
    ("cpu_user", "CPU user", SummaryValue::Mean, "%"),
    ("cpu_system", "CPU system", SummaryValue::Mean, "%"),
    ("cpu_idle", "CPU idle", SummaryValue::Mean, "%"),
    ("mem_free", "memory free (sum)", SummaryValue::Sum, "KB"),
];

/// The queue's graphs beside a cluster's, where its job backend reports a queue: (series in
/// the `queue` history scope, label, units).
pub const QUEUE_GRAPHS: [(&str, &str, &str); 2] = [
    ("pending", "queue pending", ""),
    ("wait_p90", "queue wait p90", "s"),
];

/// One graph: a titled series.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphData {
    /// What it shows.
    pub title: String,
    /// Units of its values.
    pub units: String,
    /// Epoch of the first point.
    pub start: u64,
    /// Seconds per point.
    pub step: u32,
    /// Points, oldest first; `None` is a gap.
    pub points: Vec<Option<Point>>,
}

impl GraphData {
    /// Whether any point holds a value.
    pub fn has_data(&self) -> bool {
        self.points.iter().any(Option::is_some)
    }
}

/// What is graphed: a cluster or one of its hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphTarget {
    /// The cluster.
    pub cluster: String,
    /// The host, for a host's graphs.
    pub host: Option<String>,
}

impl GraphTarget {
    /// A name for files: `cluster` or `cluster_host`, with anything odd replaced.
    pub fn file_stem(&self) -> String {
        let raw = match &self.host {
            Some(h) => format!("{}_{h}", self.cluster),
            None => self.cluster.clone(),
        };
        raw.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// How it reads in a title: `cluster` or `cluster › host`.
    pub fn label(&self) -> String {
        match &self.host {
            Some(h) => format!("{} › {h}", self.cluster),
            None => self.cluster.clone(),
        }
    }
}

/// The graphs of a target over `range` ending at `now`, with units looked up by `units_of`
/// (host metrics); only series that were ever recorded are returned.
pub fn graphs(
    history: &HistoryStore,
    target: &GraphTarget,
    range: Range,
    now: u64,
    units_of: impl Fn(&str) -> String,
) -> Vec<GraphData> {
    match &target.host {
        Some(host) => HOST_KEY_METRICS
            .iter()
            .filter_map(|m| {
                let s = history.host_series(&target.cluster, host, m, range, now)?;
                Some(GraphData {
                    title: (*m).to_string(),
                    units: units_of(m),
                    start: s.start,
                    step: s.step,
                    points: s.points,
                })
            })
            .collect(),
        None => {
            let scope = format!("cluster:{}", target.cluster);
            let queue = crate::queue::stage::SCOPE;
            CLUSTER_GRAPHS
                .iter()
                .map(|(m, label, value, units)| {
                    (
                        label,
                        units,
                        history.summary_series(&scope, m, *value, range, now),
                    )
                })
                .chain(QUEUE_GRAPHS.iter().map(|(m, label, units)| {
                    let s = history.count_series(queue, &target.cluster, m, range, now);
                    (
                        label,
                        units,
                        s.filter(|s| s.points.iter().any(Option::is_some)),
                    )
                }))
                .filter_map(|(label, units, s)| {
                    let s = s?;
                    Some(GraphData {
                        title: (*label).to_string(),
                        units: (*units).to_string(),
                        start: s.start,
                        step: s.step,
                        points: s.points,
                    })
                })
                .collect()
        }
    }
}

/// One metric of several hosts of a cluster over `range` ending at `now`, one graph per host
/// (titled `metric on host`), for any metric the store recorded — gmond's own or a custom
/// gmetric one like `gpu_util`. Hosts it was never recorded for are left out.
pub fn metric_graphs(
    history: &HistoryStore,
    cluster: &str,
    hosts: &[String],
    metric: &str,
    units: &str,
    range: Range,
    now: u64,
) -> Vec<GraphData> {
    hosts
        .iter()
        .filter_map(|host| {
            let s = history.host_series(cluster, host, metric, range, now)?;
            Some(GraphData {
                title: if hosts.len() > 1 {
                    format!("{metric} on {host}")
                } else {
                    metric.to_string()
                },
                units: units.to_string(),
                start: s.start,
                step: s.step,
                points: s.points,
            })
        })
        .collect()
}

/// Units gmond uses for the key host metrics, for when no live document is at hand.
pub fn default_units(metric: &str) -> String {
    crate::collector::catalog::metric_def(metric)
        .map(|d| d.units.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{Pressure, QueueReport, Rule};

    /// A cluster's exported graphs (`e`) carry its queue once the queue was ever recorded,
    /// and only then.
    #[test]
    fn a_clusters_graphs_carry_its_queue_once_recorded() {
        let history = HistoryStore::new();
        let now = 1_800_000_000;
        let target = GraphTarget {
            cluster: "alpha".into(),
            host: None,
        };
        let titles = |h: &HistoryStore| -> Vec<String> {
            graphs(h, &target, Range::Hour, now, |_| String::new())
                .into_iter()
                .map(|g| g.title)
                .collect()
        };
        assert!(!titles(&history).iter().any(|t| t.starts_with("queue")));
        for m in 0..10u64 {
            let r = QueueReport {
                pressure: Pressure {
                    at: now - 600 + m * 60,
                    pending: m as usize,
                    ..Pressure::default()
                },
                rule: Rule::default(),
                actions: Vec::new(),
                acts: "slurm".into(),
            };
            crate::queue::stage::record(&history, "alpha", &r);
        }
        let t = titles(&history);
        assert!(t.contains(&"queue pending".to_string()), "{t:?}");
        assert!(t.contains(&"queue wait p90".to_string()), "{t:?}");
    }
}
