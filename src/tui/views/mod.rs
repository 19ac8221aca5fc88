//! One file per view, plus the frame that holds them.

pub mod cluster_view;
pub mod common;
pub mod grid_view;
pub mod host_view;

use ratatui::Frame;

use crate::tui::app::{App, Level, Mode};
use crate::tui::widgets::chrome;

/// Draws the whole screen. Never changes the app.
pub fn draw(app: &App, f: &mut Frame<'_>) {
    let area = f.area();
    f.render_widget(
        ratatui::widgets::Block::default().style(app.theme.text()),
        area,
    );
    let s = chrome::screen(area);
    chrome::breadcrumb(app, f, s.top);
    match app.level() {
        Level::Grid => grid_view::draw(app, f, s.body),
        Level::Cluster => cluster_view::draw(app, f, s.body),
        Level::Host => host_view::draw(app, f, s.body),
    }
    chrome::status_line(app, f, s.status);
    match app.mode {
        Mode::Normal => chrome::hint_bar(app, f, s.bottom),
        _ => chrome::input_line(app, f, s.bottom),
    }
    crate::tui::overlays::draw(app, f, s.body);
}
