//! One file per view, each a component over its state (`state/`), plus the frame that holds
//! them.

pub mod cluster_view;
pub mod common;
pub mod grid_view;
pub mod host_view;

use ratatui::Frame;

use crate::tui::app::{App, Mode};
use crate::tui::component::Component;
use crate::tui::widgets::chrome;

/// Where a list over the monitor goes: the body, less a margin that keeps the view below
/// recognisable on large screens.
pub fn panel_area(body: ratatui::layout::Rect) -> ratatui::layout::Rect {
    let mx = if body.width > 120 { body.width / 12 } else { 0 };
    let my = if body.height > 40 {
        body.height / 10
    } else {
        0
    };
    ratatui::layout::Rect::new(
        body.x + mx,
        body.y + my,
        body.width - 2 * mx,
        body.height - 2 * my,
    )
}

/// Draws the whole screen. Never changes the app.
pub fn draw(app: &App, f: &mut Frame<'_>) {
    let area = f.area();
    f.render_widget(
        ratatui::widgets::Block::default().style(app.theme.text()),
        area,
    );
    let s = chrome::screen(area);
    chrome::breadcrumb(app, f, s.top);
    let jobs = app.open_jobs();
    let ctx = app.ctx();
    match jobs {
        Some(j) => j.draw(&ctx, f, s.body),
        None => app.view().draw(&ctx, f, s.body),
    }
    if let Some(p) = &app.panel {
        p.draw(&ctx, f, panel_area(s.body));
    }
    chrome::status_line(app, f, s.status);
    match (&app.mode, jobs) {
        // An overlay takes the keys: its hints, not those of what is under it.
        (Mode::Normal, _) if app.overlay.is_some() => {
            if let Some(o) = &app.overlay {
                let hints = chrome::component_hints(&app.keymap, o.layer(), &o.commands());
                chrome::hints_line(app, f, s.bottom, &hints);
            }
        }
        (Mode::Normal, _) if app.panel.is_some() => {
            if let Some(p) = &app.panel {
                let hints = chrome::component_hints(&app.keymap, p.layer(), &p.commands());
                chrome::hints_line(app, f, s.bottom, &hints);
            }
        }
        (Mode::Normal, Some(j)) => {
            let hints = chrome::component_hints(&app.keymap, j.layer(), &j.commands());
            chrome::hints_line(app, f, s.bottom, &hints);
        }
        (Mode::Normal, None) => {
            let v = app.view();
            let hints = chrome::component_hints(&app.keymap, v.layer(), &v.commands());
            chrome::hints_line(app, f, s.bottom, &hints);
        }
        _ => chrome::input_line(app, f, s.bottom),
    }
    if let Some(o) = &app.overlay {
        o.draw(&ctx, f, s.body);
    }
}
