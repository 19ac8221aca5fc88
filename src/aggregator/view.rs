//! What readers see: immutable snapshots of the aggregated grid, shared through `Arc`, so the
//! console and the servers read while sources keep polling.

use std::fmt;
use std::sync::Arc;

use super::status::SourceStatus;
use crate::model::{Cluster, Grid, Host, Summary};

/// One cluster as last read from a source.
#[derive(Debug, Clone)]
pub struct ClusterView {
    /// The data, with its computed (or received) summary.
    pub cluster: Arc<Cluster>,
    /// Epoch seconds of the poll that read it: TN values grow from here.
    pub polled_at: u64,
    /// Epoch seconds (local clock) when its LOCALTIME last moved forward.
    pub advanced_at: u64,
    /// Seconds its LOCALTIME was behind the enclosing GRID's at the poll (gmetad sources).
    pub lag: u64,
    /// The source's step in seconds.
    pub step: u32,
    /// Name of the source it came from.
    pub source: Arc<str>,
}

/// Why data is stale, in words an operator reads at 3 a.m.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// No successful poll for this long.
    NoAnswer(u64),
    /// The cluster's LOCALTIME has not advanced for this long.
    Frozen(u64),
    /// The cluster was this far behind its gmetad's clock.
    Behind(u64),
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stale::NoAnswer(s) => write!(f, "no fresh data for {s} s"),
            Stale::Frozen(s) => write!(f, "LOCALTIME frozen for {s} s"),
            Stale::Behind(s) => write!(f, "{s} s behind its gmetad"),
        }
    }
}

/// What can honestly be said about a host now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Up by gmetad's rule, on fresh data.
    Up,
    /// Down by gmetad's rule, on fresh data.
    Down,
    /// Its cluster's data is stale: nothing is known since this epoch (the last fresh data).
    /// TN keeps growing while a source is silent, so gmetad's rule would call every host down
    /// within 4 × TMAX of an outage of the monitoring alone.
    Unknown {
        /// Epoch seconds of the last fresh data.
        since: u64,
        /// Whether the host was up then.
        was_up: bool,
    },
}

impl ClusterView {
    /// Seconds since the data was read.
    pub fn age(&self, now: u64) -> u64 {
        now.saturating_sub(self.polled_at)
    }

    /// Whether the data has stopped advancing, by gmetad's test: more than two steps behind.
    pub fn staleness(&self, now: u64) -> Option<Stale> {
        let limit = 2 * u64::from(self.step.max(1));
        let age = self.age(now);
        if age > limit {
            return Some(Stale::NoAnswer(age));
        }
        let frozen = now.saturating_sub(self.advanced_at);
        if frozen > limit {
            return Some(Stale::Frozen(frozen));
        }
        (self.lag > limit).then_some(Stale::Behind(self.lag))
    }

    /// Epoch seconds of the last fresh data: the poll for a silent source, the last time
    /// LOCALTIME moved for a frozen one, the poll less its lag behind a gmetad's clock.
    pub fn known_at(&self) -> u64 {
        self.polled_at
            .min(self.advanced_at)
            .min(self.polled_at.saturating_sub(self.lag))
    }

    /// Whether a host was up at epoch `t` (TN as it was then, back-dated from the poll).
    pub fn host_was_up_at(&self, h: &Host, t: u64) -> bool {
        let tn_then = (u64::from(h.tn) + t).saturating_sub(self.polled_at);
        crate::model::host_is_up(tn_then, h.tmax, self.cluster.localtime, h.reported)
    }

    /// What is known of a host now: up or down on fresh data, unknown on stale data.
    pub fn liveness(&self, h: &Host, now: u64) -> Liveness {
        if self.staleness(now).is_some() {
            let since = self.known_at();
            return Liveness::Unknown {
                since,
                was_up: self.host_was_up_at(h, since),
            };
        }
        if self.host_is_up(h, now) {
            Liveness::Up
        } else {
            Liveness::Down
        }
    }

    /// Up and down host counts as of the last fresh data (the summary's, for a summary-only
    /// cluster): what a stale cluster shows as "last known".
    pub fn hosts_up_down_known(&self) -> (usize, usize) {
        if self.summary_only() {
            let s = self.summary();
            return (s.hosts_up as usize, s.hosts_down as usize);
        }
        let t = self.known_at();
        let up = self
            .cluster
            .hosts
            .iter()
            .filter(|h| self.host_was_up_at(h, t))
            .count();
        (up, self.cluster.hosts.len() - up)
    }

    /// Whether a host is up now by gmetad's rule (TN grows while the source is silent, so on
    /// stale data this drifts to "down": the console asks [`ClusterView::liveness`]).
    pub fn host_is_up(&self, h: &Host, now: u64) -> bool {
        h.is_up(self.cluster.localtime, self.age(now))
    }

    /// Whether the source sent this cluster's summary without its hosts (a gmetad asked with
    /// `?filter=summary`): its host counts are then the summary's HOSTS element.
    pub fn summary_only(&self) -> bool {
        self.cluster.hosts.is_empty() && self.cluster.summary.is_some()
    }

    /// Up and down host counts now: from the hosts' TN, or from the summary when the source
    /// sent no hosts.
    pub fn hosts_up_down(&self, now: u64) -> (usize, usize) {
        if self.summary_only() {
            let s = self.summary();
            return (s.hosts_up as usize, s.hosts_down as usize);
        }
        let age = self.age(now);
        let up = self
            .cluster
            .hosts
            .iter()
            .filter(|h| h.is_up(self.cluster.localtime, age))
            .count();
        (up, self.cluster.hosts.len() - up)
    }

    /// How many hosts the cluster has, counted as `hosts_up_down` counts them.
    pub fn host_count(&self, now: u64) -> usize {
        let (up, down) = self.hosts_up_down(now);
        up + down
    }

    /// The cluster's summary (always present on views the aggregator builds).
    pub fn summary(&self) -> &Summary {
        static EMPTY: Summary = Summary {
            hosts_up: 0,
            hosts_down: 0,
            metrics: Vec::new(),
        };
        self.cluster.summary.as_ref().unwrap_or(&EMPTY)
    }
}

/// The enclosing GRID a gmetad source answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridInfo {
    /// The gmetad's gridname.
    pub name: Arc<str>,
    /// Where its full data lives.
    pub authority: Arc<str>,
    /// Its clock at the poll.
    pub localtime: Option<u64>,
}

/// Everything one source contributes.
#[derive(Debug, Clone)]
pub struct SourceView {
    /// The source's configured name.
    pub name: Arc<str>,
    /// Health and the last error.
    pub status: SourceStatus,
    /// The GRID it answered with, for gmetad sources.
    pub grid: Option<GridInfo>,
    /// Clusters it knows (a gmond's one cluster, or a gmetad's clusters).
    pub clusters: Vec<ClusterView>,
    /// Grids nested in a gmetad's answer, known only by their summaries.
    pub remote_grids: Vec<Arc<Grid>>,
    /// The source's own summary (a gmetad's whole grid).
    pub summary: Summary,
}

impl SourceView {
    /// A source not polled yet.
    pub fn pending(name: &str) -> Self {
        Self {
            name: name.into(),
            status: SourceStatus::default(),
            grid: None,
            clusters: Vec::new(),
            remote_grids: Vec::new(),
            summary: Summary::default(),
        }
    }
}

/// The whole aggregated grid at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// This aggregator's grid name (gmetad's `gridname`).
    pub grid_name: Arc<str>,
    /// Its authority URL.
    pub authority: Arc<str>,
    /// Epoch seconds when the snapshot was made.
    pub taken_at: u64,
    /// Increases with every snapshot.
    pub generation: u64,
    /// Every source in configuration order.
    pub sources: Vec<Arc<SourceView>>,
    /// The root summary over live sources (dead sources left out, as gmetad does).
    pub summary: Summary,
    /// The BMCs of every `[[bmc]]` table (their readings are on the hosts already).
    pub sensors: Vec<Arc<super::sensors::SensorView>>,
}

impl Snapshot {
    /// Every cluster of every source.
    pub fn clusters(&self) -> impl Iterator<Item = &ClusterView> {
        self.sources.iter().flat_map(|s| s.clusters.iter())
    }

    /// A cluster by name.
    pub fn cluster(&self, name: &str) -> Option<&ClusterView> {
        self.clusters().find(|c| &*c.cluster.name == name)
    }

    /// A host's BMC, if it has one configured.
    pub fn bmc(
        &self,
        cluster: &str,
        host: &str,
    ) -> Option<(&super::sensors::SensorView, &super::sensors::BmcView)> {
        self.sensors
            .iter()
            .filter(|s| &*s.cluster == cluster)
            .find_map(|s| s.bmc(host).map(|b| (&**s, b)))
    }

    /// Every remote grid (known by summary only).
    pub fn remote_grids(&self) -> impl Iterator<Item = &Arc<Grid>> {
        self.sources.iter().flat_map(|s| s.remote_grids.iter())
    }
}
