//! Clicks: one selects, two in a row drill in.

use super::*;

impl App {
    /// Handles the mouse: a click selects, a double-click drills in, the wheel moves.
    pub fn on_mouse(&mut self, m: MouseEvent, at: Instant) -> Effect {
        let e = self.on_mouse_inner(m, at);
        self.prepare_graphs();
        e
    }

    pub(super) fn on_mouse_inner(&mut self, m: MouseEvent, at: Instant) -> Effect {
        if self.overlay.is_some() || self.mode != Mode::Normal {
            return Effect::None;
        }
        match m.kind {
            MouseEventKind::ScrollDown => return self.act(Action::Down),
            MouseEventKind::ScrollUp => return self.act(Action::Up),
            MouseEventKind::Down(MouseButton::Left) => {}
            _ => return Effect::None,
        }
        let double = self.last_click.is_some_and(|(t, x, y)| {
            at.duration_since(t) < DOUBLE_CLICK && x == m.column && y == m.row
        });
        self.last_click = Some((at, m.column, m.row));
        let body = self.body();
        let hit = match self.level() {
            Level::Grid => match grid_view::row_at(self, body, m.row) {
                Some(i) => {
                    self.grid.selected = i;
                    self.grid.moved = true;
                    true
                }
                None => false,
            },
            Level::Cluster => {
                let pos = self
                    .cluster
                    .as_ref()
                    .and_then(|st| cluster_view::tile_at(self, st, body, m.column, m.row));
                match (pos, self.cluster.as_mut()) {
                    (Some(p), Some(st)) => {
                        st.select(&self.snap, p as isize);
                        true
                    }
                    _ => false,
                }
            }
            Level::Host => false,
        };
        if hit {
            // A click that selected something is the operator's next action.
            self.message = None;
        }
        if hit && double {
            self.last_click = None;
            self.drill();
        }
        if hit { Effect::Redraw } else { Effect::None }
    }
}
