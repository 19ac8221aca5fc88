//! What has the keys: the overlay, else the list, else job control, else the view in sight
//! (the host's, the cluster's or the grid); opening overlays over them.

use crossterm::event::KeyEvent;

use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::bands::ColorBy;
use crate::tui::component::{Component, Handled};
use crate::tui::filter::Filter;

impl App {
    /// The filter of the view in sight.
    pub fn filter(&self) -> Option<&Filter> {
        match (&self.host, &self.cluster) {
            (Some(h), _) => h.filter.as_ref(),
            (None, Some(c)) => c.filter.as_ref(),
            (None, None) => self.grid.filter.as_ref(),
        }
    }

    /// Sets the filter of the view in sight (the caller rebuilds).
    pub fn set_filter(&mut self, f: Option<Filter>) {
        match (&mut self.host, &mut self.cluster) {
            (Some(h), _) => h.filter = f,
            (None, Some(c)) => c.filter = f,
            (None, None) => self.grid.filter = f,
        }
    }

    /// The view in sight, under whatever is over it: the host's, the cluster's or the grid.
    pub fn view(&self) -> &dyn Component {
        match (&self.host, &self.cluster) {
            (Some(h), _) => h,
            (None, Some(c)) => c,
            (None, None) => &self.grid,
        }
    }

    /// Gives the view in sight a key (or an action, with `KeyCode::Null` for its key): the
    /// view is taken out while it handles it, reading the rest of the app through the Ctx.
    pub fn view_key(&mut self, key: KeyEvent, action: Option<Action>) -> Handled {
        if let Some(mut h) = self.host.take() {
            let r = h.on_key(&self.ctx(), key, action);
            self.host = Some(h);
            return r;
        }
        if let Some(mut c) = self.cluster.take() {
            let r = c.on_key(&self.ctx(), key, action);
            self.cluster = Some(c);
            return r;
        }
        let mut g = std::mem::take(&mut self.grid);
        let r = g.on_key(&self.ctx(), key, action);
        self.grid = g;
        r
    }

    /// Whether the job control showing is read-only (its manager's or the console's).
    pub fn jobs_read_only_here(&self) -> bool {
        self.open_jobs().is_some_and(|j| j.read_only)
    }

    /// Opens the help page over what is on top.
    pub fn open_help(&mut self) {
        let help =
            crate::tui::overlays::HelpOverlay::new(self.below_help(), self.jobs_read_only_here());
        self.overlay = Some(Box::new(help));
    }

    /// Opens the legend of the tiles in view (the grid's are coloured by load).
    pub fn open_legend(&mut self) {
        let by = self.cluster.as_ref().map_or(ColorBy::Load, |c| c.color_by);
        self.overlay = Some(Box::new(crate::tui::overlays::LegendOverlay::new(by)));
    }

    /// Opens the sources overlay on source number `index`.
    pub fn open_sources(&mut self, index: usize) {
        let o = crate::tui::overlays::SourcesOverlay::at(&self.ctx(), index);
        self.overlay = Some(Box::new(o));
    }

    /// What is on top (below the help page, when that is open): its layer and commands.
    pub fn below_help(&self) -> crate::tui::overlays::Here {
        let on_top: &dyn Component = if let Some(p) = &self.panel {
            p.as_ref()
        } else if let Some(j) = self.open_jobs() {
            j
        } else if let Some(o) = &self.overlay {
            o.as_ref()
        } else {
            self.view()
        };
        crate::tui::overlays::Here {
            layer: on_top.layer(),
            commands: on_top.commands(),
        }
    }
}
