//! The grid view's state: one row per cluster (and per remote grid), and the selection.

use crate::aggregator::{Health, Snapshot};
use crate::tui::bands::{LoadBands, TileState};
use crate::tui::filter::Filter;
use crate::tui::state::cluster::{Sort, tiles};
use crate::tui::state::numbers::{ClusterNumbers, cluster_numbers, summary_numbers};

/// A row of the grid view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GridRow {
    /// A cluster, by name.
    Cluster(String),
    /// A remote grid known by its summary, by name.
    Remote(String),
}

impl GridRow {
    /// The row's name.
    pub fn name(&self) -> &str {
        match self {
            GridRow::Cluster(n) | GridRow::Remote(n) => n,
        }
    }
}

/// The grid view's state.
#[derive(Debug, Clone, Default)]
pub struct GridState {
    /// Rows in display order.
    pub rows: Vec<GridRow>,
    /// Selected row.
    pub selected: usize,
    /// First visible row.
    pub scroll: usize,
    /// The operator moved the selection: keep it on the same cluster as rows change.
    pub moved: bool,
    /// Each row's tile field: down hosts first, then most loaded first.
    pub fields: Vec<Vec<TileState>>,
    /// Each row's summary line.
    pub numbers: Vec<ClusterNumbers>,
}

impl GridState {
    /// Recomputes the rows (sources in configuration order), keeping the selection by name.
    pub fn rebuild(
        &mut self,
        snap: &Snapshot,
        now: u64,
        bands: &LoadBands,
        filter: Option<&Filter>,
    ) {
        let keep = self.rows.get(self.selected).cloned();
        let (rows, numbers): (Vec<GridRow>, Vec<ClusterNumbers>) = snap
            .sources
            .iter()
            .flat_map(|s| {
                let clusters = s.clusters.iter().map(move |c| {
                    (
                        GridRow::Cluster(c.cluster.name.to_string()),
                        cluster_numbers(c, now),
                    )
                });
                // A dead gmetad's remote grids are its last answer: known as of then.
                let dead_since = (s.status.health == Health::Dead)
                    .then(|| s.status.last_success)
                    .flatten();
                let remotes = s.remote_grids.iter().map(move |g| {
                    let mut n = summary_numbers(g.summary.as_ref().unwrap_or(&Default::default()));
                    n.known_at = dead_since;
                    (GridRow::Remote(g.name.to_string()), n)
                });
                clusters.chain(remotes)
            })
            .filter(|(r, _)| filter.is_none_or(|f| f.keeps(r.name())))
            .unzip();
        self.rows = rows;
        self.numbers = numbers;
        if let Some(k) = keep.filter(|_| self.moved)
            && let Some(pos) = self.rows.iter().position(|r| *r == k)
        {
            self.selected = pos;
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.fields = self
            .rows
            .iter()
            .map(|r| match r {
                GridRow::Cluster(name) => snap
                    .cluster(name)
                    .map(|cv| {
                        tiles(cv, now, bands, Sort::LoadDesc, None)
                            .iter()
                            .map(|t| t.state)
                            .collect()
                    })
                    .unwrap_or_default(),
                GridRow::Remote(_) => Vec::new(),
            })
            .collect();
    }

    /// The selected row.
    pub fn current(&self) -> Option<&GridRow> {
        self.rows.get(self.selected)
    }
}
