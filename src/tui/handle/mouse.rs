//! Clicks: one selects (a row of the grid, a tile of a cluster), two in a row drill in.

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
        let hit = match (&self.host, self.cluster.as_mut()) {
            (Some(_), _) => false,
            (None, Some(c)) => c.click(&self.snap, body, m.column, m.row),
            (None, None) => self.grid.click(body, m.row),
        };
        if hit {
            // A click that selected something is the operator's next action.
            self.message = None;
        }
        if hit && double {
            self.last_click = None;
            return self.act(Action::Drill);
        }
        if hit { Effect::Redraw } else { Effect::None }
    }
}
