//! Grids (`<GRID>`): a set of clusters and nested grids, and whole documents.

use std::sync::Arc;

use super::cluster::Cluster;
use super::host::Host;
use super::summary::Summary;

/// A grid with its clusters and nested grids. Remote grids polled from another gmetad carry
/// only a summary.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Grid {
    /// Grid name (gmetad's `gridname`).
    pub name: Arc<str>,
    /// Where the full data of this grid lives (its gweb URL).
    pub authority: Arc<str>,
    /// The gmetad's clock when it wrote the document, when sent.
    pub localtime: Option<u64>,
    /// Clusters, in the order sent.
    pub clusters: Vec<Arc<Cluster>>,
    /// Nested grids, in the order sent.
    pub grids: Vec<Arc<Grid>>,
    /// The grid-level `<HOSTS>`/`<METRICS>`, when sent.
    pub summary: Option<Summary>,
}

impl Grid {
    /// Looks a cluster up by name.
    pub fn cluster(&self, name: &str) -> Option<&Arc<Cluster>> {
        self.clusters.iter().find(|c| &*c.name == name)
    }

    /// Looks a nested grid up by name.
    pub fn grid(&self, name: &str) -> Option<&Arc<Grid>> {
        self.grids.iter().find(|g| &*g.name == name)
    }
}

/// Which daemon wrote a document (`GANGLIA_XML SOURCE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Origin {
    /// A gmond's TCP port.
    #[default]
    Gmond,
    /// A gmetad (xml or interactive port).
    Gmetad,
    /// Anything else, e.g. a missing attribute.
    Other,
}

/// A top-level item of `GANGLIA_XML` (the DTD allows GRID, CLUSTER or HOST).
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A grid (gmetad answers).
    Grid(Arc<Grid>),
    /// A cluster (gmond answers).
    Cluster(Arc<Cluster>),
    /// A bare host.
    Host(Arc<Host>),
}

/// A whole parsed Ganglia document.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Document {
    /// `GANGLIA_XML VERSION`, e.g. "3.7.2".
    pub version: Arc<str>,
    /// Who wrote it.
    pub origin: Origin,
    /// Top-level items in the order sent.
    pub items: Vec<Item>,
}

impl Document {
    /// Every cluster in the document, at any depth.
    pub fn clusters(&self) -> Vec<&Arc<Cluster>> {
        fn walk<'a>(g: &'a Grid, out: &mut Vec<&'a Arc<Cluster>>) {
            out.extend(g.clusters.iter());
            for sub in &g.grids {
                walk(sub, out);
            }
        }
        let mut out = Vec::new();
        for item in &self.items {
            match item {
                Item::Grid(g) => walk(g, &mut out),
                Item::Cluster(c) => out.push(c),
                Item::Host(_) => {}
            }
        }
        out
    }

    /// Number of hosts at any depth.
    pub fn host_count(&self) -> usize {
        self.clusters().iter().map(|c| c.hosts.len()).sum::<usize>()
            + self
                .items
                .iter()
                .filter(|i| matches!(i, Item::Host(_)))
                .count()
    }
}
