//! The host view's state.

use crate::aggregator::{ClusterView, Snapshot};
use crate::history::Series;
use crate::model::Host;
use crate::tui::filter::Filter;

/// The metrics shown first, with graphs (KCMS's host screen).
pub const KEY_METRICS: &[&str] = &crate::graph::HOST_KEY_METRICS;

/// One metric graphed large, with a time axis: on this host, or overlaid across hosts.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricGraph {
    /// The metric.
    pub metric: String,
    /// Its units, from the live document.
    pub units: String,
    /// Overlaid across the cluster's tagged hosts (and this one), not this host alone.
    pub overlay: bool,
    /// The hosts drawn and each one's series over the range (`None`: never recorded), read
    /// from the history store when state changes, never while drawing.
    pub series: Vec<(String, Option<Series>)>,
}

/// The host view's state.
#[derive(Debug, Clone)]
pub struct HostState {
    /// The cluster's name.
    pub cluster: String,
    /// The host's name.
    pub host: String,
    /// First visible line of the metric table.
    pub scroll: usize,
    /// The selected metric: an index into the host's metrics in view order (the key metrics
    /// first, then the table's; see `host_view::metrics`).
    pub selected: usize,
    /// The metric graphed large, if any (Enter on a metric; Esc closes it).
    pub graph: Option<MetricGraph>,
    /// The key metrics' series over the range, prepared like the graph's.
    pub key_series: Vec<(&'static str, Option<Series>)>,
    /// The filter (`/`) over the metric table's names.
    pub filter: Option<Filter>,
}

impl HostState {
    /// A fresh view.
    pub fn new(cluster: &str, host: &str) -> Self {
        Self {
            cluster: cluster.to_string(),
            host: host.to_string(),
            scroll: 0,
            selected: 0,
            graph: None,
            key_series: Vec::new(),
            filter: None,
        }
    }

    /// The cluster and host in a snapshot.
    pub fn find<'s>(&self, snap: &'s Snapshot) -> Option<(&'s ClusterView, &'s Host)> {
        let cv = snap.cluster(&self.cluster)?;
        let h = cv.cluster.host(&self.host)?;
        Some((cv, h))
    }

    /// A key metric's prepared series.
    pub fn key_series(&self, metric: &str) -> Option<&Series> {
        self.key_series
            .iter()
            .find(|(m, _)| *m == metric)
            .and_then(|(_, s)| s.as_ref())
    }
}
