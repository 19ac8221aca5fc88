//! The grid view's state: one row per cluster (and per remote grid), and the selection.

use crate::aggregator::Snapshot;
use crate::tui::bands::{LoadBands, TileState};
use crate::tui::filter::Filter;
use crate::tui::state::cluster::{Sort, tiles};

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
        self.rows = snap
            .sources
            .iter()
            .flat_map(|s| {
                s.clusters
                    .iter()
                    .map(|c| GridRow::Cluster(c.cluster.name.to_string()))
                    .chain(
                        s.remote_grids
                            .iter()
                            .map(|g| GridRow::Remote(g.name.to_string())),
                    )
            })
            .filter(|r| filter.is_none_or(|f| f.keeps(r.name())))
            .collect();
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
