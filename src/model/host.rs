//! A host as reported in a `<HOST>` element.

use std::sync::Arc;

use super::metric::Metric;

/// One host with its metrics at one poll.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Host {
    /// Host name as reported.
    pub name: Arc<str>,
    /// Source (or spoofed) IP address.
    pub ip: Arc<str>,
    /// The collector's `globals { tags }`, stamped on every host it reports.
    pub tags: Arc<str>,
    /// Epoch of the last packet of any kind from the host.
    pub reported: u64,
    /// Seconds since `reported` when the document was produced.
    pub tn: u32,
    /// The collector's `host_tmax`.
    pub tmax: u32,
    /// The collector's `host_dmax` (0: never forget).
    pub dmax: u32,
    /// `rack,rank,plane` from the host's `location`, or "unspecified".
    pub location: Arc<str>,
    /// Start epoch of the host's gmond (its heartbeat value).
    pub gmond_started: u64,
    /// Metrics in the order sent.
    pub metrics: Vec<Metric>,
}

/// gmetad's liveness rule (`process_xml.c`): up iff TN < 4×TMAX; when TMAX is 0, iff
/// |LOCALTIME − REPORTED| < 60.
pub fn host_is_up(tn: u64, tmax: u32, cluster_localtime: u64, reported: u64) -> bool {
    if tmax == 0 {
        cluster_localtime.abs_diff(reported) < 60
    } else {
        tn < 4 * u64::from(tmax)
    }
}

impl Host {
    /// Looks a metric up by name.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| &*m.meta.name == name)
    }

    /// A numeric metric's value by name.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.metric(name).and_then(Metric::value)
    }

    /// Whether the host is up `age` seconds after the document was produced (TN keeps growing
    /// while a source is silent, as gmetad computes it at query time).
    pub fn is_up(&self, cluster_localtime: u64, age: u64) -> bool {
        host_is_up(
            u64::from(self.tn) + age,
            self.tmax,
            cluster_localtime,
            self.reported,
        )
    }

    /// Load as ganglia-web computes it: load_one ÷ cpu_num, cpu_num falling back to 1 when
    /// missing or 0 and load_one to 0.
    pub fn load_fraction(&self) -> f64 {
        let load = self.value("load_one").unwrap_or(0.0);
        let cpus = match self.value("cpu_num") {
            Some(c) if c > 0.0 => c,
            _ => 1.0,
        };
        load / cpus
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_matches_gmetad_boundaries() {
        // TMAX 20: down at exactly TN = 80 (gmetad says down where gweb still says up).
        assert!(host_is_up(79, 20, 0, 0));
        assert!(!host_is_up(80, 20, 0, 0));
        // TMAX 0 falls back to LOCALTIME − REPORTED, in either direction.
        assert!(host_is_up(1000, 0, 1_000_059, 1_000_000));
        assert!(!host_is_up(0, 0, 1_000_060, 1_000_000));
        assert!(host_is_up(0, 0, 1_000_000, 1_000_059));
    }

    #[test]
    fn age_extends_tn() {
        let h = Host {
            tn: 50,
            tmax: 20,
            ..Host::default()
        };
        assert!(h.is_up(0, 29));
        assert!(!h.is_up(0, 30));
    }
}
