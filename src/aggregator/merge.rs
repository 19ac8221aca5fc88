//! Putting the BMCs' readings on their hosts: a cluster with sensors is copied once per change
//! of its source or its sensors, each host gaining its BMC's readings as metrics and the
//! cluster's summary recomputed over them — so everything downstream (the console, gmetad XML,
//! a parent gmetad) sees sensors as metrics of the host like any other.

use std::collections::HashMap;
use std::sync::Arc;

use super::sensors::{SensorView, host_metrics};
use super::summary::summarize_cluster;
use super::view::{ClusterView, SourceView};
use crate::model::Summary;

/// Merged source views kept between snapshots, so an unchanged source and unchanged sensors
/// cost nothing.
#[derive(Default)]
pub(super) struct Merger {
    /// Per source index.
    done: HashMap<usize, Merged>,
}

/// The view merged, the sensor generations it was merged with, the result.
type Merged = (Arc<SourceView>, Vec<u64>, Arc<SourceView>);

impl Merger {
    /// `sources` with every cluster that has sensors carrying them, at epoch `now`.
    pub(super) fn merge(
        &mut self,
        sources: &[Arc<SourceView>],
        sensors: &[Arc<SensorView>],
        now: u64,
    ) -> Vec<Arc<SourceView>> {
        if sensors.is_empty() {
            return sources.to_vec();
        }
        let generations: Vec<u64> = sensors.iter().map(|s| s.generation).collect();
        sources
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if let Some((from, g, merged)) = self.done.get(&i)
                    && Arc::ptr_eq(from, s)
                    && *g == generations
                {
                    return merged.clone();
                }
                let merged = merge_source(s, sensors, now);
                self.done
                    .insert(i, (s.clone(), generations.clone(), merged.clone()));
                merged
            })
            .collect()
    }
}

fn merge_source(s: &Arc<SourceView>, sensors: &[Arc<SensorView>], now: u64) -> Arc<SourceView> {
    let touched = |cv: &ClusterView| {
        sensors
            .iter()
            .any(|sv| sv.cluster == cv.cluster.name && !sv.bmcs.is_empty())
    };
    if !s.clusters.iter().any(touched) {
        return s.clone();
    }
    let clusters: Vec<ClusterView> = s
        .clusters
        .iter()
        .map(|cv| {
            if touched(cv) {
                merge_cluster(cv, sensors, now)
            } else {
                cv.clone()
            }
        })
        .collect();
    let mut summary = Summary::default();
    for cv in &clusters {
        summary.absorb(cv.summary());
    }
    for g in &s.remote_grids {
        if let Some(gs) = &g.summary {
            summary.absorb(gs);
        }
    }
    Arc::new(SourceView {
        clusters,
        summary,
        ..(**s).clone()
    })
}

fn merge_cluster(cv: &ClusterView, sensors: &[Arc<SensorView>], now: u64) -> ClusterView {
    let mut cluster = (*cv.cluster).clone();
    let mut added = false;
    for sv in sensors.iter().filter(|sv| sv.cluster == cluster.name) {
        for h in &mut cluster.hosts {
            let Some(b) = sv.bmc(&h.name) else { continue };
            if !b.fresh(now, sv.interval) {
                continue;
            }
            let read_at = b.last_success.unwrap_or(cv.polled_at);
            // TN counts from the cluster's poll, as every other metric's does.
            let tn = u32::try_from(cv.polled_at.saturating_sub(read_at)).unwrap_or(u32::MAX);
            let metrics = host_metrics(b, sv.interval, tn);
            // A gmond metric of the same name (a site's own gmetric script) stays as sent.
            for m in metrics {
                if h.metric(m.name()).is_none() {
                    h.metrics.push(m);
                    added = true;
                }
            }
        }
    }
    if added && !cluster.hosts.is_empty() {
        cluster.summary = Some(summarize_cluster(&cluster, 0));
    }
    ClusterView {
        cluster: Arc::new(cluster),
        ..cv.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregator::sensors::{BmcHealth, BmcView};
    use crate::model::{Cluster, Host};
    use crate::redfish::{Kind, Reading, Thresholds};

    fn host(name: &str) -> Host {
        Host {
            name: name.into(),
            ip: "10.0.0.1".into(),
            tags: "".into(),
            reported: 100,
            tn: 5,
            tmax: 20,
            dmax: 0,
            location: "unspecified".into(),
            gmond_started: 0,
            metrics: Vec::new(),
        }
    }

    fn source(hosts: &[&str]) -> Arc<SourceView> {
        let cluster = Cluster {
            name: "c".into(),
            localtime: 100,
            owner: None,
            latlong: None,
            url: None,
            hosts: hosts.iter().map(|h| host(h)).collect(),
            summary: None,
        };
        let mut v = SourceView::pending("src");
        v.clusters.push(ClusterView {
            cluster: Arc::new(cluster),
            polled_at: 1000,
            advanced_at: 1000,
            lag: 0,
            step: 15,
            source: "src".into(),
        });
        Arc::new(v)
    }

    fn sensors(read_at: u64, generation: u64) -> Arc<SensorView> {
        let reading = Reading {
            metric: "temp_cpu1".into(),
            name: "CPU1 Temp".into(),
            kind: Kind::Temperature,
            value: Some(41.0),
            units: "C".into(),
            thresholds: Thresholds::default(),
            health: Some("OK".into()),
            state: Some("Enabled".into()),
        };
        Arc::new(SensorView {
            cluster: "c".into(),
            interval: 60,
            polled_at: read_at,
            error: None,
            bmcs: vec![BmcView {
                host: "n1".into(),
                url: "http://bmc1".into(),
                health: BmcHealth::Ok,
                error: None,
                took: std::time::Duration::ZERO,
                requests: 3,
                last_success: Some(read_at),
                polls_ok: 1,
                polls_failed: 0,
                readings: Arc::new(vec![reading]),
            }],
            generation,
        })
    }

    #[test]
    fn readings_join_their_host_and_the_summary() {
        let mut m = Merger::default();
        let src = source(&["n1", "n2"]);
        let out = m.merge(std::slice::from_ref(&src), &[sensors(990, 1)], 1000);
        let cv = &out[0].clusters[0];
        let t = cv.cluster.host("n1").unwrap().metric("temp_cpu1").unwrap();
        assert_eq!(t.num, 41.0);
        assert_eq!(t.tn, 10, "TN from the cluster's poll back to the reading");
        assert!(cv.cluster.host("n2").unwrap().metric("temp_cpu1").is_none());
        let s = cv
            .summary()
            .metrics
            .iter()
            .find(|s| &*s.meta.name == "temp_cpu1");
        assert_eq!(s.map(|s| (s.sum, s.num)), Some((41.0, 1)));
        assert!(
            out[0]
                .summary
                .metrics
                .iter()
                .any(|s| &*s.meta.name == "temp_cpu1")
        );
        // Nothing changed: the same merged view, not a new copy.
        let again = m.merge(&[src], &[sensors(990, 1)], 1001);
        assert!(Arc::ptr_eq(&out[0], &again[0]));
    }

    #[test]
    fn old_readings_are_left_off() {
        let mut m = Merger::default();
        let out = m.merge(&[source(&["n1"])], &[sensors(700, 1)], 1000);
        assert!(
            out[0].clusters[0].cluster.hosts[0].metrics.is_empty(),
            "five minutes old with a 60 s interval"
        );
    }
}
