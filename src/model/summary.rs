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

/// A ratio taken only over the hosts that report both of its terms, so a host that sends
/// `mem_free` without `mem_total` cannot push memory in use below zero.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Ratio {
    /// Sum of the numerators (memory in use, load_one).
    pub part: f64,
    /// Sum of the denominators (mem_total, cpu_num).
    pub whole: f64,
    /// How many hosts reported both.
    pub hosts: u32,
}

impl Ratio {
    /// part ÷ whole, when some host reported both terms and the whole is not zero.
    pub fn fraction(&self) -> Option<f64> {
        (self.hosts > 0 && self.whole > 0.0).then(|| self.part / self.whole)
    }
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

    /// load_one ÷ cpu_num over the hosts reporting both. A summary holds sums, not pairs: the
    /// ratio is only known when both metrics were summed over as many hosts.
    pub fn load_ratio(&self) -> Option<Ratio> {
        let load = self.metric("load_one")?;
        let cpus = self.metric("cpu_num")?;
        (load.num == cpus.num && load.num > 0).then_some(Ratio {
            part: load.sum,
            whole: cpus.sum,
            hosts: load.num,
        })
    }

    /// Memory in use (total − free − buffers − cached, in KB) over mem_total, when every term
    /// present was summed over as many hosts as mem_total (buffers and cached may be absent).
    pub fn mem_ratio(&self) -> Option<Ratio> {
        let total = self.metric("mem_total")?;
        let free = self.metric("mem_free")?;
        if total.num != free.num || total.num == 0 {
            return None;
        }
        let mut used = total.sum - free.sum;
        for m in ["mem_buffers", "mem_cached"] {
            match self.metric(m) {
                Some(x) if x.num == total.num => used -= x.sum,
                Some(_) => return None,
                None => {}
            }
        }
        Some(Ratio {
            part: used.max(0.0),
            whole: total.sum,
            hosts: total.num,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MetricType, Slope};

    fn summary(ms: &[(&str, f64, u32)]) -> Summary {
        Summary {
            hosts_up: 3,
            hosts_down: 0,
            metrics: ms
                .iter()
                .map(|(n, sum, num)| MetricSummary {
                    meta: Arc::new(MetricMeta::new(n, MetricType::Double, "", Slope::Both, 60)),
                    sum: *sum,
                    num: *num,
                    decimals: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn ratios_need_both_terms_from_as_many_hosts() {
        let s = summary(&[
            ("mem_total", 300.0, 3),
            ("mem_free", 100.0, 3),
            ("mem_cached", 50.0, 3),
            ("load_one", 3.0, 3),
            ("cpu_num", 12.0, 3),
        ]);
        assert_eq!(s.mem_ratio().and_then(|r| r.fraction()), Some(0.5));
        assert_eq!(s.load_ratio().and_then(|r| r.fraction()), Some(0.25));
        // One host sends mem_free without mem_total: the sums cannot be paired.
        let s = summary(&[("mem_total", 200.0, 2), ("mem_free", 400.0, 3)]);
        assert_eq!(s.mem_ratio(), None);
        let s = summary(&[("load_one", 3.0, 3), ("cpu_num", 8.0, 2)]);
        assert_eq!(s.load_ratio(), None);
        assert_eq!(Ratio::default().fraction(), None);
    }
}
