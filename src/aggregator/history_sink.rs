//! The history store as the aggregator's history sink: every poll of every cluster, with each
//! host's liveness at the poll, and every summary.

use super::source::HistorySink;
use crate::history::{HistoryStore, HostSample};
use crate::model::{Cluster, Summary};

impl HistorySink for HistoryStore {
    fn record_cluster(&self, cluster: &Cluster, t: u64) {
        let localtime = cluster.localtime;
        self.record_cluster(
            &cluster.name,
            t,
            cluster.hosts.iter().map(|h| HostSample {
                host: &h.name,
                up: h.is_up(localtime, 0),
                metrics: &h.metrics,
            }),
        );
    }

    fn record_hosts(&self, cluster: &str, t: u64, hosts: &[(&str, &[crate::model::Metric])]) {
        self.record_cluster(
            cluster,
            t,
            hosts.iter().map(|(host, metrics)| HostSample {
                host,
                up: true,
                metrics,
            }),
        );
    }

    fn record_summary(&self, scope: &str, t: u64, summary: &Summary) {
        HistoryStore::record_summary(self, scope, t, summary);
    }
}
