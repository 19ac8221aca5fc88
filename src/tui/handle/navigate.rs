//! Moving around the monitor: ranges, back, drill, and the selection in each view.

use super::*;

impl App {
    pub(super) fn set_range(&mut self, r: Range) {
        self.range = r;
        self.say(format!("graphs over the last {}", r.as_str()));
    }

    pub(super) fn back(&mut self) {
        let level = self.level() as usize;
        if self.filters[level].is_some() {
            self.filters[level] = None;
            self.rebuild();
            self.say("filter cleared");
            return;
        }
        match self.level() {
            Level::Host if self.host.as_ref().is_some_and(|h| h.graph.is_some()) => {
                if let Some(h) = self.host.as_mut() {
                    h.graph = None;
                }
                self.keep_metric_in_sight();
            }
            Level::Host => self.host = None,
            Level::Cluster => self.to_grid(),
            Level::Grid => self.say("this is the top; q leaves"),
        }
    }

    pub(super) fn drill(&mut self) {
        match self.level() {
            Level::Grid => {
                match self.grid.current().cloned() {
                    Some(GridRow::Cluster(name)) => {
                        // Kept for its hosts by a search: open it showing just those.
                        let carried = (self.grid.current_host_matches() > 0)
                            .then(|| self.filters[0].clone())
                            .flatten();
                        self.open_cluster(&name);
                        if let Some(f) = carried {
                            self.filters[1] = Some(f);
                            self.rebuild();
                        }
                    }
                    Some(GridRow::Remote(name)) => {
                        let auth = self
                            .snap
                            .remote_grids()
                            .find(|g| *g.name == *name)
                            .map(|g| g.authority.to_string())
                            .unwrap_or_default();
                        self.complain(format!("{name} is a remote grid known only by its summary; its hosts are at {auth}"));
                    }
                    None => {}
                }
            }
            Level::Cluster => {
                let target = self.cluster.as_ref().and_then(|c| {
                    let cv = self.snap.cluster(&c.name)?;
                    let t = c.tiles.get(c.selected)?;
                    Some(format!(
                        "{}/{}",
                        c.name, cv.cluster.hosts[t.host as usize].name
                    ))
                });
                if let Some(t) = target {
                    self.open_host(&t);
                }
            }
            Level::Host => self.graph_selected(),
        }
    }

    pub(super) fn navigate(&mut self, a: Action) {
        let body = self.body();
        match self.level() {
            Level::Grid => {
                let n = self.grid.rows.len();
                if n == 0 {
                    return;
                }
                let page = grid_view::visible_rows(self, body);
                let sel = self.grid.selected as isize;
                let target = match a {
                    Action::Up => sel - 1,
                    Action::Down => sel + 1,
                    Action::PageUp => sel - page as isize,
                    Action::PageDown => sel + page as isize,
                    Action::First => 0,
                    Action::Last => n as isize - 1,
                    _ => sel,
                };
                self.grid.selected = target.clamp(0, n as isize - 1) as usize;
                self.grid.moved = true;
                if self.grid.selected < self.grid.scroll {
                    self.grid.scroll = self.grid.selected;
                } else if self.grid.selected >= self.grid.scroll + page {
                    self.grid.scroll = self.grid.selected + 1 - page;
                }
            }
            Level::Cluster => {
                let Some(st) = self.cluster.as_ref() else {
                    return;
                };
                let g = cluster_view::geometry(self, st, body);
                let per_row = g.per_row.max(1) as isize;
                let page = per_row * g.rows.max(1) as isize;
                let sel = st.selected as isize;
                let n = st.tiles.len() as isize;
                let target = match a {
                    Action::Left => sel - 1,
                    Action::Right => sel + 1,
                    Action::Up => sel - per_row,
                    Action::Down => sel + per_row,
                    Action::PageUp => sel - page,
                    Action::PageDown => sel + page,
                    Action::First => 0,
                    Action::Last => n - 1,
                    _ => sel,
                };
                if let Some(st) = self.cluster.as_mut() {
                    st.select(&self.snap, target);
                    st.keep_visible(g.per_row, g.rows);
                }
            }
            Level::Host => {
                let rows = host_view::table_rows(body);
                let Some(st) = self.host.as_ref() else { return };
                let total = st
                    .find(&self.snap)
                    .map_or(0, |(_, h)| host_view::metrics(self, h).len());
                if total == 0 {
                    return;
                }
                let s = st.selected as isize;
                let t = match a {
                    Action::Up => s - 1,
                    Action::Down => s + 1,
                    Action::PageUp => s - rows as isize,
                    Action::PageDown => s + rows as isize,
                    Action::First => 0,
                    Action::Last => total as isize - 1,
                    _ => s,
                };
                let selected = t.clamp(0, total as isize - 1) as usize;
                if let Some(st) = self.host.as_mut() {
                    st.selected = selected;
                }
                self.keep_metric_in_sight();
            }
        }
    }

    /// Scrolls the host view's table so the selected metric's row shows. The table lists every
    /// metric while a graph takes the key metrics' place, else the metrics after the key ones
    /// (a selected key metric is highlighted in its panel).
    pub(super) fn keep_metric_in_sight(&mut self) {
        let rows = host_view::table_rows(self.body());
        let Some(st) = self.host.as_ref() else { return };
        let keys = st
            .find(&self.snap)
            .map_or(0, |(_, h)| host_view::key_count(h));
        let first_in_table = if st.graph.is_some() { 0 } else { keys };
        let Some(st) = self.host.as_mut() else { return };
        match st.selected.checked_sub(first_in_table) {
            Some(row) if row < st.scroll => st.scroll = row,
            Some(row) if rows > 0 && row >= st.scroll + rows => st.scroll = row + 1 - rows,
            Some(_) => {}
            None => st.scroll = 0,
        }
    }
}
