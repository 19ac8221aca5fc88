//! The cluster view's state: which hosts show, in what order, and which is selected. Derived
//! once per snapshot, sort or filter change — never while drawing.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::aggregator::{ClusterView, Snapshot};
use crate::history::Series;
use crate::tui::bands::{ColorBy, LoadBands, TileState};
use crate::tui::filter::Filter;
use crate::tui::natural::natural_cmp;
use crate::tui::state::numbers::{ClusterNumbers, cluster_numbers};

/// Host order in the cluster view. Down hosts always come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Most loaded first.
    #[default]
    LoadDesc,
    /// Least loaded first.
    LoadAsc,
    /// By name, in natural order.
    Name,
}

impl Sort {
    /// The next order when cycling.
    pub fn next(self) -> Self {
        match self {
            Sort::LoadDesc => Sort::LoadAsc,
            Sort::LoadAsc => Sort::Name,
            Sort::Name => Sort::LoadDesc,
        }
    }

    /// How the status line names it.
    pub fn label(self) -> &'static str {
        match self {
            Sort::LoadDesc => "load ↓",
            Sort::LoadAsc => "load ↑",
            Sort::Name => "name",
        }
    }
}

/// One tile: a host of the cluster, with what it shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tile {
    /// Index into the cluster's hosts.
    pub host: u32,
    /// Down, no data, or a load band.
    pub state: TileState,
    /// load_one ÷ cpu_num.
    pub load: f64,
    /// The measure the tile is coloured by (see [`ColorBy::value`]), when reported.
    pub value: Option<f64>,
}

/// Tiles of a cluster coloured by load: down first, then in the chosen order, filtered.
pub fn tiles(
    cv: &ClusterView,
    now: u64,
    bands: &LoadBands,
    sort: Sort,
    filter: Option<&Filter>,
) -> Vec<Tile> {
    tiles_by(cv, now, bands, sort, filter, ColorBy::Load)
}

/// Tiles of a cluster coloured by `by`. The order stays by load (or name): colouring changes
/// what the operator sees of each host, not where it is.
pub fn tiles_by(
    cv: &ClusterView,
    now: u64,
    bands: &LoadBands,
    sort: Sort,
    filter: Option<&Filter>,
    by: ColorBy,
) -> Vec<Tile> {
    let hosts = &cv.cluster.hosts;
    // On stale data a host's TN grows while nobody hears from it: up or down cannot be told.
    let stale = cv.staleness(now).is_some();
    let mut out: Vec<Tile> = hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| filter.is_none_or(|f| f.keeps(&h.name)))
        .map(|(i, h)| {
            let load = h.load_fraction();
            let value = by.value(h);
            let state = match value {
                _ if stale => TileState::Unknown,
                _ if !cv.host_is_up(h, now) => TileState::Down,
                None => TileState::NoData,
                Some(v) => TileState::Band(by.host_band(h, v, bands)),
            };
            Tile {
                host: i as u32,
                state,
                load,
                value,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let down = (b.state == TileState::Down).cmp(&(a.state == TileState::Down));
        let na = &hosts[a.host as usize].name;
        let nb = &hosts[b.host as usize].name;
        down.then_with(|| match sort {
            Sort::LoadDesc => b.load.total_cmp(&a.load),
            Sort::LoadAsc => a.load.total_cmp(&b.load),
            Sort::Name => std::cmp::Ordering::Equal,
        })
        .then_with(|| natural_cmp(na, nb))
    });
    out
}

/// The cluster view's state.
#[derive(Debug, Clone)]
pub struct ClusterState {
    /// The cluster's name.
    pub name: String,
    /// Host order.
    pub sort: Sort,
    /// The tiles, derived from the snapshot.
    pub tiles: Vec<Tile>,
    /// Position of the selection in `tiles`.
    pub selected: usize,
    /// First visible tile row.
    pub scroll: usize,
    /// The selected host's name, kept across snapshots.
    pub selected_name: Option<Arc<str>>,
    /// The summary line's numbers.
    pub numbers: ClusterNumbers,
    /// What the tiles are coloured by.
    pub color_by: ColorBy,
    /// Hosts tagged (Space) to overlay a metric across them, by name: names survive
    /// snapshots, where tile positions do not.
    pub tagged: BTreeSet<Arc<str>>,
    /// The cluster graphs' series ([`crate::graph::CLUSTER_GRAPHS`] order), read from the
    /// history store when state changes (see `App::prepare_graphs`), never while drawing.
    pub graphs: Vec<Option<Series>>,
    /// The queue's graphs ([`crate::graph::QUEUE_GRAPHS`] order), empty when the cluster's job
    /// backend has never reported a queue.
    pub queue_graphs: Vec<Option<Series>>,
    /// The filter (`/`) over host names.
    pub filter: Option<Filter>,
}

impl ClusterState {
    /// A fresh view of `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            sort: Sort::default(),
            tiles: Vec::new(),
            selected: 0,
            scroll: 0,
            selected_name: None,
            numbers: ClusterNumbers::default(),
            color_by: ColorBy::default(),
            tagged: BTreeSet::new(),
            graphs: Vec::new(),
            queue_graphs: Vec::new(),
            filter: None,
        }
    }

    /// The cluster in a snapshot.
    pub fn view<'s>(&self, snap: &'s Snapshot) -> Option<&'s ClusterView> {
        snap.cluster(&self.name)
    }

    /// Recomputes the tiles, keeping the selected host selected.
    pub fn rebuild(&mut self, snap: &Snapshot, now: u64, bands: &LoadBands) {
        let Some(cv) = self.view(snap) else {
            self.tiles.clear();
            self.selected = 0;
            self.numbers = ClusterNumbers::default();
            return;
        };
        self.tiles = tiles_by(
            cv,
            now,
            bands,
            self.sort,
            self.filter.as_ref(),
            self.color_by,
        );
        self.numbers = cluster_numbers(cv, now);
        if let Some(name) = &self.selected_name
            && let Some(pos) = self
                .tiles
                .iter()
                .position(|t| cv.cluster.hosts[t.host as usize].name == *name)
        {
            self.selected = pos;
        }
        self.selected = self.selected.min(self.tiles.len().saturating_sub(1));
        self.remember(cv);
    }

    fn remember(&mut self, cv: &ClusterView) {
        self.selected_name = self
            .tiles
            .get(self.selected)
            .map(|t| cv.cluster.hosts[t.host as usize].name.clone());
    }

    /// Moves the selection by `delta` tiles (clamped), remembering the host.
    pub fn select(&mut self, snap: &Snapshot, pos: isize) {
        if self.tiles.is_empty() {
            return;
        }
        self.selected = pos.clamp(0, self.tiles.len() as isize - 1) as usize;
        if let Some(cv) = snap.cluster(&self.name) {
            self.remember(cv);
        }
    }

    /// The selected host's name.
    pub fn selected_host<'s>(&self, snap: &'s Snapshot) -> Option<&'s str> {
        let cv = self.view(snap)?;
        let t = self.tiles.get(self.selected)?;
        cv.cluster.hosts.get(t.host as usize).map(|h| &*h.name)
    }

    /// Tags the selected host, or untags it; says which it did (`None`: nothing selected).
    pub fn toggle_tag(&mut self, snap: &Snapshot) -> Option<(String, bool)> {
        let name: Arc<str> = Arc::from(self.selected_host(snap)?);
        let now_tagged = if self.tagged.remove(&name) {
            false
        } else {
            self.tagged.insert(name.clone());
            true
        };
        Some((name.to_string(), now_tagged))
    }

    /// Keeps the selected row within `rows` visible rows of `per_row` tiles.
    pub fn keep_visible(&mut self, per_row: usize, rows: usize) {
        let row = self.selected / per_row.max(1);
        if row < self.scroll {
            self.scroll = row;
        } else if rows > 0 && row >= self.scroll + rows {
            self.scroll = row + 1 - rows;
        }
    }
}
