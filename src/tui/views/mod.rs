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
    let jobs = app.open_jobs();
    match (jobs, app.level()) {
        (Some(j), _) => crate::tui::jobs::draw::draw(app, j, f, s.body),
        (None, Level::Grid) => grid_view::draw(app, f, s.body),
        (None, Level::Cluster) => cluster_view::draw(app, f, s.body),
        (None, Level::Host) => host_view::draw(app, f, s.body),
    }
    chrome::status_line(app, f, s.status);
    match (&app.mode, jobs) {
        (Mode::Normal, Some(j)) => {
            chrome::hints_line(app, f, s.bottom, &crate::tui::jobs::draw::hints(app, j))
        }
        (Mode::Normal, None) => chrome::hint_bar(app, f, s.bottom),
        _ => chrome::input_line(app, f, s.bottom),
    }
    crate::tui::overlays::draw(app, f, s.body);
}
