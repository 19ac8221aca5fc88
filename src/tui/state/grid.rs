//! The grid view's state: one row per cluster (and per remote grid), and the selection.

use crate::aggregator::{Health, Snapshot};
use crate::history::{HistoryStore, Point, Range, SummaryValue};
use crate::tui::action::Action;
use crate::tui::bands::{LoadBands, TileState};
use crate::tui::filter::Filter;
use crate::tui::state::cluster::{Sort, tiles};
use crate::tui::state::numbers::{ClusterNumbers, cluster_numbers, summary_numbers};

/// A row of the grid view.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    /// Per row: how many of its hosts the filter matched when the row is kept for its hosts
    /// rather than its name (0 otherwise). Its tile field then shows those hosts only.
    pub host_matches: Vec<usize>,
    /// Each row's load sparkline over the range, prepared from history when what it shows can
    /// change (see `App::prepare_graphs`), so drawing never reads the store.
    pub sparks: Vec<Option<Vec<Option<Point>>>>,
    /// Each cluster row's queue (jobs waiting) over the range, where a job backend reports one.
    pub queue_sparks: Vec<Option<Vec<Option<Point>>>>,
    /// The search (`/`): clusters by name, or by their hosts' names.
    pub filter: Option<Filter>,
}

impl GridState {
    /// Recomputes the rows (sources in configuration order), keeping the selection by name.
    pub fn rebuild(&mut self, snap: &Snapshot, now: u64, bands: &LoadBands) {
        let filter = self.filter.as_ref();
        let keep = self.rows.get(self.selected).cloned();
        // A search on the grid finds hosts too: a cluster whose name does not match stays
        // when some of its hosts do. An inverted filter (`!x`) hides by name only.
        let host_hits = |c: &crate::aggregator::ClusterView| match filter {
            Some(f) if !f.inverted() && !f.keeps(&c.cluster.name) => {
                c.cluster.hosts.iter().filter(|h| f.keeps(&h.name)).count()
            }
            _ => 0,
        };
        let mut kept = Vec::new();
        for s in &snap.sources {
            for c in &s.clusters {
                let hits = host_hits(c);
                let name = &*c.cluster.name;
                if filter.is_none_or(|f| f.keeps(name)) || hits > 0 {
                    kept.push((
                        GridRow::Cluster(name.to_string()),
                        cluster_numbers(c, now),
                        hits,
                    ));
                }
            }
            // A dead gmetad's remote grids are its last answer: known as of then.
            let dead_since = (s.status.health == Health::Dead)
                .then(|| s.status.last_success)
                .flatten();
            for g in &s.remote_grids {
                if filter.is_some_and(|f| !f.keeps(&g.name)) {
                    continue;
                }
                let mut n = summary_numbers(g.summary.as_ref().unwrap_or(&Default::default()));
                n.known_at = dead_since;
                kept.push((GridRow::Remote(g.name.to_string()), n, 0));
            }
        }
        self.rows = kept.iter().map(|(r, _, _)| r.clone()).collect();
        self.numbers = kept.iter().map(|(_, n, _)| *n).collect();
        self.host_matches = kept.iter().map(|(_, _, h)| *h).collect();
        if let Some(k) = keep.filter(|_| self.moved)
            && let Some(pos) = self.rows.iter().position(|r| *r == k)
        {
            self.selected = pos;
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.fields = self
            .rows
            .iter()
            .zip(&self.host_matches)
            .map(|(r, hits)| match r {
                GridRow::Cluster(name) => snap
                    .cluster(name)
                    .map(|cv| {
                        let only = filter.filter(|_| *hits > 0);
                        tiles(cv, now, bands, Sort::LoadDesc, only)
                            .iter()
                            .map(|t| t.state)
                            .collect()
                    })
                    .unwrap_or_default(),
                GridRow::Remote(_) => Vec::new(),
            })
            .collect();
    }

    /// Reads every cluster row's load sparkline from history.
    pub fn prepare_sparks(&mut self, history: &HistoryStore, range: Range, now: u64) {
        self.sparks = self
            .rows
            .iter()
            .map(|r| match r {
                GridRow::Cluster(name) => load_points(history, name, range, now),
                GridRow::Remote(_) => None,
            })
            .collect();
        self.queue_sparks = self
            .rows
            .iter()
            .map(|r| match r {
                GridRow::Cluster(name) => history
                    .count_series(crate::queue::stage::SCOPE, name, "pending", range, now)
                    .map(|s| s.points),
                GridRow::Remote(_) => None,
            })
            .collect();
    }

    /// How many hosts of the selected row the filter matched, when it was kept for them.
    pub fn current_host_matches(&self) -> usize {
        self.host_matches.get(self.selected).copied().unwrap_or(0)
    }

    /// The selected row.
    pub fn current(&self) -> Option<&GridRow> {
        self.rows.get(self.selected)
    }

    /// Moves the selection by a navigation action, `page` rows a page, keeping it in view.
    pub fn navigate(&mut self, a: Action, page: usize) {
        let n = self.rows.len();
        if n == 0 {
            return;
        }
        let sel = self.selected as isize;
        let target = match a {
            Action::Up => sel - 1,
            Action::Down => sel + 1,
            Action::PageUp => sel - page as isize,
            Action::PageDown => sel + page as isize,
            Action::First => 0,
            Action::Last => n as isize - 1,
            _ => sel,
        };
        self.selected = target.clamp(0, n as isize - 1) as usize;
        self.moved = true;
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + page {
            self.scroll = self.selected + 1 - page;
        }
    }

    /// The selected cluster's name (not a remote grid's).
    pub fn cluster_name(&self) -> Option<String> {
        match self.current() {
            Some(GridRow::Cluster(n)) => Some(n.clone()),
            _ => None,
        }
    }
}

/// A cluster's load per CPU over the range, in percent.
fn load_points(
    history: &HistoryStore,
    name: &str,
    range: Range,
    now: u64,
) -> Option<Vec<Option<Point>>> {
    let scope = format!("cluster:{name}");
    let load = history.summary_series(&scope, "load_one", SummaryValue::Sum, range, now)?;
    let cpus = history.summary_series(&scope, "cpu_num", SummaryValue::Sum, range, now);
    let cpus = cpus.map(|c| c.points).unwrap_or_default();
    Some(
        load.points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let p = (*p)?;
                let c = cpus
                    .get(i)
                    .copied()
                    .flatten()
                    .map_or(1.0, |c| c.avg.max(1.0));
                Some(Point {
                    avg: p.avg / c * 100.0,
                    min: p.min / c * 100.0,
                    max: p.max / c * 100.0,
                })
            })
            .collect(),
    )
}
