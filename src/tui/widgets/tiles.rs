//! Host tiles: a glyph whose height grows with load, coloured by ganglia-web's five bands, and
//! a glyph of their own for down hosts and for hosts of a stale cluster (unknown), so meaning
//! never rests on colour alone.

use ratatui::style::{Modifier, Style};

use crate::tui::bands::TileState;
use crate::tui::theme::Role;
use crate::tui::theme::Theme;

/// The glyph of a tile state.
pub fn glyph(state: TileState, unicode: bool) -> &'static str {
    match (state, unicode) {
        (TileState::Down, true) => "✖",
        (TileState::Down, false) => "X",
        (TileState::Unknown, true) => "░",
        (TileState::Unknown, false) => "~",
        (TileState::NoData, _) => "?",
        (TileState::Band(0), true) => "·",
        (TileState::Band(1), true) => "▂",
        (TileState::Band(2), true) => "▄",
        (TileState::Band(3), true) => "▆",
        (TileState::Band(_), true) => "█",
        (TileState::Band(0), false) => ".",
        (TileState::Band(1), false) => "-",
        (TileState::Band(2), false) => "=",
        (TileState::Band(3), false) => "#",
        (TileState::Band(_), false) => "@",
    }
}

/// The colour style of a tile state.
pub fn style(state: TileState, theme: &Theme) -> Style {
    match state {
        TileState::Down => theme.fg(Role::Down).add_modifier(Modifier::BOLD),
        TileState::NoData => theme.fg(Role::Muted),
        TileState::Unknown => theme.fg(Role::Stale),
        TileState::Band(b) => Style::new().fg(theme.load_band(usize::from(b))),
    }
}

/// Layout of a field of tiles in an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileGeometry {
    /// Columns per tile.
    pub width: u16,
    /// Tiles per row.
    pub per_row: usize,
    /// Rows that fit.
    pub rows: usize,
    /// Tiles show the host name and load.
    pub labeled: bool,
}

/// Chooses labelled tiles (`▄ node017  87%`) when every host fits that way, else compact
/// two-column tiles.
pub fn geometry(width: u16, height: u16, count: usize, longest_name: usize) -> TileGeometry {
    let labeled_w = (longest_name.min(24) + 8) as u16;
    let per_row = (width / labeled_w.max(1)) as usize;
    if per_row >= 2 && per_row * height as usize >= count {
        return TileGeometry {
            width: labeled_w,
            per_row,
            rows: height as usize,
            labeled: true,
        };
    }
    TileGeometry {
        width: 2,
        per_row: (width / 2).max(1) as usize,
        rows: height as usize,
        labeled: false,
    }
}
