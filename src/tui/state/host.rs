//! The host view's state.

use crate::aggregator::{ClusterView, Snapshot};
use crate::model::Host;

/// The metrics shown first, with graphs (KCMS's host screen).
pub const KEY_METRICS: &[&str] = &crate::graph::HOST_KEY_METRICS;

/// The host view's state.
#[derive(Debug, Clone)]
pub struct HostState {
    /// The cluster's name.
    pub cluster: String,
    /// The host's name.
    pub host: String,
    /// First visible line of the "other metrics" table.
    pub scroll: usize,
}

impl HostState {
    /// A fresh view.
    pub fn new(cluster: &str, host: &str) -> Self {
        Self {
            cluster: cluster.to_string(),
            host: host.to_string(),
            scroll: 0,
        }
    }

    /// The cluster and host in a snapshot.
    pub fn find<'s>(&self, snap: &'s Snapshot) -> Option<(&'s ClusterView, &'s Host)> {
        let cv = snap.cluster(&self.cluster)?;
        let h = cv.cluster.host(&self.host)?;
        Some((cv, h))
    }
}
