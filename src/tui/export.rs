//! Graph export from the console: the current cluster's or host's graphs for the range, written
//! as PNG and SVG off the UI loop.

use tokio::sync::mpsc;

use crate::tui::app::App;

/// Starts an export of what is on screen; the result arrives as a status line note.
pub fn start(app: &App, notes: mpsc::Sender<(bool, String)>) {
    let _ = app;
    let _ = notes.try_send((
        true,
        "graph export is not available in this build yet".into(),
    ));
}
