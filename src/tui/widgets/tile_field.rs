//! The cluster view's field of host tiles: one per host in the state's order, a glyph whose
//! height grows with the measure tiles are coloured by, labelled with names when there is
//! room.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::Paragraph;

use crate::aggregator::ClusterView;
use crate::tui::bands::TileState;
use crate::tui::component::Ctx;
use crate::tui::state::ClusterState;
use crate::tui::theme::Role;
use crate::tui::widgets::tiles;

/// Whether a scheduler state (`idle`, `mixed+drain`, …) takes new work.
fn sched_usable(state: &str) -> bool {
    !["down", "drain", "not_responding", "fail"]
        .iter()
        .any(|w| state.split('+').any(|p| p == *w))
}

/// Slurm's power-saving state as its own mark (`~` powered down, `#` powering up, `%`
/// powering down) and a word for labelled tiles.
fn power_mark(state: &str) -> Option<(&'static str, &'static str)> {
    let has = |w: &str| state.split('+').any(|p| p == w);
    if has("powering_up") {
        Some(("#", "pwr#"))
    } else if has("powering_down") {
        Some(("%", "pwr%"))
    } else if has("powered_down") {
        Some(("~", "off~"))
    } else {
        None
    }
}

/// Draws the tiles of `st` from its scroll on, the selection highlighted; tagged hosts and
/// nodes the scheduler will not use are marked.
pub fn draw(ctx: &Ctx<'_>, st: &ClusterState, cv: &ClusterView, f: &mut Frame<'_>, area: Rect) {
    let t = ctx.theme;
    let unicode = ctx.glyphs.unicode;
    if st.tiles.is_empty() {
        let msg = if st.filter.is_some() {
            " no host matches the filter"
        } else {
            " no hosts reported"
        };
        f.render_widget(Paragraph::new(msg).style(t.fg(Role::Muted)), area);
        return;
    }
    let g = tiles::geometry(
        area.width,
        area.height,
        st.tiles.len(),
        cv.cluster
            .hosts
            .iter()
            .map(|h| h.name.chars().count())
            .max()
            .unwrap_or(8),
    );
    let buf = f.buffer_mut();
    let first = st.scroll * g.per_row;
    for (i, tile) in st.tiles.iter().enumerate().skip(first) {
        let row = (i - first) / g.per_row;
        if row >= g.rows {
            break;
        }
        let col = (i - first) % g.per_row;
        let x = area.x + col as u16 * g.width;
        let y = area.y + row as u16;
        let glyph = tiles::glyph(tile.state, unicode);
        let mut style = tiles::style(tile.state, t);
        if i == st.selected {
            style = t.selection();
        }
        // A node the scheduler will not use (drained, down, not responding) is struck through
        // and marked in words or with its own glyph, not by a line over one character alone.
        let host_name = &cv.cluster.hosts[tile.host as usize].name;
        let sched_off = ctx
            .sched_state(host_name)
            .filter(|(s, _)| !sched_usable(s))
            .map(|(s, _)| s);
        if sched_off.is_some() {
            style = style.add_modifier(ratatui::style::Modifier::CROSSED_OUT);
        }
        let power = ctx.sched_state(host_name).and_then(|(s, _)| power_mark(s));
        // A tagged host (Space, for overlays) carries a mark beside its glyph.
        let tagged = st.tagged.contains(host_name);
        let mark = match (tagged, unicode) {
            (false, _) => " ",
            (true, true) => "•",
            (true, false) => "*",
        };
        if g.labeled {
            let h = &cv.cluster.hosts[tile.host as usize];
            let load = match (tile.state, sched_off, tile.value) {
                _ if power.is_some() => power.map(|p| p.1).unwrap_or_default().to_string(),
                (TileState::Down, _, _) => "down".to_string(),
                (TileState::Unknown, _, _) => "unkn".to_string(),
                (_, Some(s), _) => sched_word(s).to_string(),
                (TileState::NoData, None, _) | (_, None, None) => "  ? ".to_string(),
                (TileState::Band(_), None, Some(v)) => st.color_by.tile_text(v),
            };
            let name_w = g.width as usize - 8;
            let name: String = h.name.chars().take(name_w).collect();
            let text = format!("{glyph}{mark}{name:<name_w$} {load:>4} ");
            let mut name_style = if i == st.selected {
                style
            } else if sched_off.is_some() {
                t.fg(Role::Muted)
                    .add_modifier(ratatui::style::Modifier::CROSSED_OUT)
            } else {
                t.fg(Role::Text)
            };
            if tagged {
                name_style = name_style.add_modifier(Modifier::BOLD);
            }
            buf.set_string(x, y, glyph, style);
            buf.set_string(x + 1, y, &text[glyph.len()..], name_style);
        } else {
            let off = if unicode { "⊘" } else { "/" };
            let cell = match (tile.state, sched_off) {
                _ if tagged => format!("{glyph}{mark}"),
                _ if power.is_some() => {
                    format!("{glyph}{}", power.map(|p| p.0).unwrap_or_default())
                }
                (TileState::Down, _) => format!("{glyph} "),
                (_, Some(_)) => format!("{glyph}{off}"),
                (TileState::Band(_) | TileState::NoData | TileState::Unknown, None) => {
                    format!("{glyph}{glyph}")
                }
            };
            buf.set_string(x, y, cell, style);
        }
    }
}

/// Four characters for why the scheduler will not use a node.
fn sched_word(state: &str) -> &'static str {
    if state.contains("drain") {
        "drn"
    } else if state.contains("down") {
        "sdwn"
    } else if state.contains("not_responding") {
        "nrsp"
    } else {
        "off"
    }
}
