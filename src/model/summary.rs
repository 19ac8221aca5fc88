//! `<HOSTS>` and `<METRICS>` summaries, as gmetad computes and sends them.

use std::sync::Arc;

use super::metric::MetricMeta;

/// Summary of one numeric metric over the up hosts of a cluster or grid.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSummary {
    /// Metadata of the summarised metric (type, units, slope, extra data).
    pub meta: Arc<MetricMeta>,
    /// Sum of the values.
    pub sum: f64,
    /// Number of up hosts that reported the metric.
    pub num: u32,
    /// Digits after the decimal point to print the sum with (gmetad uses the metric's format).
    pub decimals: u8,
}

/// Summary of a cluster or grid: host counts and per-metric sums.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Summary {
    /// Up hosts.
    pub hosts_up: u32,
    /// Down hosts.
    pub hosts_down: u32,
    /// Per-metric sums, in first-seen order.
    pub metrics: Vec<MetricSummary>,
}

impl Summary {
    /// Looks a metric summary up by name.
    pub fn metric(&self, name: &str) -> Option<&MetricSummary> {
        self.metrics.iter().find(|m| &*m.meta.name == name)
    }

    /// The sum of a metric, if summarised.
    pub fn sum(&self, name: &str) -> Option<f64> {
        self.metric(name).map(|m| m.sum)
    }

    /// Cluster or grid load as ganglia-web computes it: SUM(load_one) / SUM(cpu_num).
    pub fn load_fraction(&self) -> Option<f64> {
        let load = self.sum("load_one")?;
        let cpus = self.sum("cpu_num").filter(|c| *c > 0.0).unwrap_or(1.0);
        Some(load / cpus)
    }

    /// Adds another summary into this one (grid roll-up).
    pub fn absorb(&mut self, other: &Summary) {
        self.hosts_up += other.hosts_up;
        self.hosts_down += other.hosts_down;
        for m in &other.metrics {
            match self.metrics.iter_mut().find(|x| x.meta.name == m.meta.name) {
                Some(x) => {
                    x.sum += m.sum;
                    x.num += m.num;
                    x.decimals = x.decimals.max(m.decimals);
                }
                None => self.metrics.push(m.clone()),
            }
        }
    }
}
