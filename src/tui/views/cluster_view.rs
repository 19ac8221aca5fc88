//! The cluster view: a summary line, the cluster's graphs, one tile per host (down hosts
//! first), and the selected host's details.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::aggregator::{ClusterView, Liveness};
use crate::tui::app::App;
use crate::tui::bands::{ColorBy, TileState};
use crate::tui::state::ClusterState;
use crate::tui::theme::Role;
use crate::tui::views::common::{Panel, compact, fitting, graph_panel, stale_style, with_units};
use crate::tui::widgets::tiles::{self, TileGeometry};
use crate::units::human_secs;

/// Where the parts of the cluster view go.
#[derive(Debug, Clone, Copy)]
pub struct Parts {
    /// One summary line.
    pub header: Rect,
    /// The graphs strip (may be empty on small screens).
    pub graphs: Rect,
    /// The tile field.
    pub tiles: Rect,
    /// The selected host's line.
    pub detail: Rect,
}

/// Splits the body.
pub fn parts(body: Rect) -> Parts {
    let graphs_h = match body.height {
        0..=11 => 0,
        12..=30 => 3,
        _ => 6,
    };
    let header = Rect::new(body.x, body.y, body.width, body.height.min(1));
    let graphs = Rect::new(
        body.x,
        body.y + 1,
        body.width,
        graphs_h.min(body.height.saturating_sub(1)),
    );
    let rest_y = graphs.y + graphs.height;
    let rest_h = (body.y + body.height).saturating_sub(rest_y);
    let tiles = Rect::new(body.x, rest_y, body.width, rest_h.saturating_sub(1));
    let detail = Rect::new(
        body.x,
        rest_y + tiles.height,
        body.width,
        u16::from(rest_h > 0),
    );
    Parts {
        header,
        graphs,
        tiles,
        detail,
    }
}

/// The tile geometry for the current state and body.
pub fn geometry(app: &App, st: &ClusterState, body: Rect) -> TileGeometry {
    let p = parts(body);
    let longest = app.snap.cluster(&st.name).map_or(8, |cv| {
        cv.cluster
            .hosts
            .iter()
            .map(|h| h.name.chars().count())
            .max()
            .unwrap_or(8)
    });
    tiles::geometry(p.tiles.width, p.tiles.height, st.tiles.len(), longest)
}

/// Which tile is at a screen position.
pub fn tile_at(app: &App, st: &ClusterState, body: Rect, x: u16, y: u16) -> Option<usize> {
    let p = parts(body);
    let g = geometry(app, st, body);
    if !p.tiles.contains((x, y).into()) {
        return None;
    }
    let col = ((x - p.tiles.x) / g.width) as usize;
    let row = (y - p.tiles.y) as usize + st.scroll;
    if col >= g.per_row {
        return None;
    }
    let i = row * g.per_row + col;
    (i < st.tiles.len()).then_some(i)
}

/// What is said after tagging (`now_tagged`) or untagging `host`, `n` being tagged then.
pub fn tag_said(host: &str, now_tagged: bool, n: usize) -> String {
    if now_tagged {
        format!("tagged {host} ({n} tagged; v on a graphed metric overlays them)")
    } else {
        format!("untagged {host} ({n} tagged)")
    }
}

/// Draws the view.
pub fn draw(app: &App, f: &mut Frame<'_>, body: Rect) {
    let Some(st) = &app.cluster else { return };
    let t = &app.theme;
    let Some(cv) = st.view(&app.snap) else {
        let msg = format!(" cluster '{}' is not in the latest data", st.name);
        f.render_widget(Paragraph::new(msg).style(t.fg(Role::Warn)), body);
        return;
    };
    let p = parts(body);
    header(app, st, cv, f, p.header);
    graphs(app, st, f, p.graphs);
    tile_field(app, st, cv, f, p.tiles);
    detail(app, st, cv, f, p.detail);
}

fn header(app: &App, st: &ClusterState, cv: &ClusterView, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let n = st.numbers;
    let mut spans = vec![Span::styled(
        format!(" {} ", cv.cluster.name),
        t.fg(Role::Title).add_modifier(Modifier::BOLD),
    )];
    // Stale: hosts are unknown now, and every figure after "last known" is from then.
    let (text, ok, bad) = match n.known_at {
        Some(known) => {
            spans.push(Span::styled(
                format!(
                    " {} unknown for {} ",
                    n.hosts(),
                    human_secs(app.now.saturating_sub(known))
                ),
                t.fg(Role::Stale).add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(
                "· last known:",
                t.fg(Role::Stale).add_modifier(Modifier::ITALIC),
            ));
            let g = stale_style(t);
            (g, g, g)
        }
        None => (
            t.fg(Role::Text),
            t.fg(Role::Ok),
            if n.down > 0 {
                t.fg(Role::Critical).add_modifier(Modifier::BOLD)
            } else {
                t.fg(Role::Muted)
            },
        ),
    };
    spans.push(Span::styled(format!(" {} up ", n.up), ok));
    spans.push(Span::styled(format!("{} down ", n.down), bad));
    spans.push(Span::styled(format!(" {} CPUs ", n.cpus), text));
    if let Some(l) = n.load_pct {
        spans.push(Span::styled(
            format!(" load {l:.0}% (sum {}) ", compact(n.load_sum)),
            text,
        ));
    }
    match (n.mem_pct, n.mem_total_kb) {
        (Some(m), Some(kb)) => spans.push(Span::styled(
            format!(" mem {m:.0}% of {} used ", with_units(kb, "KB")),
            text,
        )),
        (Some(m), None) => spans.push(Span::styled(format!(" mem {m:.0}% used "), text)),
        _ => {}
    }
    spans.push(Span::styled(
        format!(" via {} ", cv.source),
        t.fg(Role::Muted),
    ));
    let spans = fitting(spans, area.width as usize);
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), area);
}

/// The cluster's graphs, from the series prepared with the state (never the live store).
fn graphs(app: &App, st: &ClusterState, f: &mut Frame<'_>, area: Rect) {
    if area.height == 0 {
        return;
    }
    let panels = &crate::graph::CLUSTER_GRAPHS;
    let w = area.width / panels.len() as u16;
    for (i, (_, label, _, units)) in panels.iter().enumerate() {
        let r = Rect::new(area.x + i as u16 * w, area.y, w, area.height);
        let series = st.graphs.get(i).and_then(Option::as_ref);
        graph_panel(
            app,
            f,
            r,
            Panel {
                label,
                units,
                series,
                label_has_value: false,
                selected: false,
            },
        );
    }
}

/// Whether a scheduler state (`idle`, `mixed+drain`, …) takes new work.
fn sched_usable(state: &str) -> bool {
    !["down", "drain", "not_responding", "fail"]
        .iter()
        .any(|w| state.split('+').any(|p| p == *w))
}

fn tile_field(app: &App, st: &ClusterState, cv: &ClusterView, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    if st.tiles.is_empty() {
        let msg = if app.filter().is_some() {
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
        let glyph = tiles::glyph(tile.state, app.glyphs.unicode);
        let mut style = tiles::style(tile.state, t);
        if i == st.selected {
            style = t.selection();
        }
        // A node the scheduler will not use (drained, down, not responding) is struck through
        // and marked in words or with its own glyph, not by a line over one character alone.
        let host_name = &cv.cluster.hosts[tile.host as usize].name;
        let sched_off = app
            .sched_state(host_name)
            .filter(|(s, _)| !sched_usable(s))
            .map(|(s, _)| s);
        if sched_off.is_some() {
            style = style.add_modifier(ratatui::style::Modifier::CROSSED_OUT);
        }
        // A tagged host (Space, for overlays) carries a mark beside its glyph.
        let tagged = st.tagged.contains(host_name);
        let mark = match (tagged, app.glyphs.unicode) {
            (false, _) => " ",
            (true, true) => "•",
            (true, false) => "*",
        };
        if g.labeled {
            let h = &cv.cluster.hosts[tile.host as usize];
            let load = match (tile.state, sched_off, tile.value) {
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
            let off = if app.glyphs.unicode { "⊘" } else { "/" };
            let cell = match (tile.state, sched_off) {
                _ if tagged => format!("{glyph}{mark}"),
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

fn detail(app: &App, st: &ClusterState, cv: &ClusterView, f: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let Some(tile) = st.tiles.get(st.selected) else {
        return;
    };
    let h = &cv.cluster.hosts[tile.host as usize];
    let heard = u64::from(h.tn) + cv.age(app.now);
    let mut spans = vec![Span::styled(
        format!(" {} ", h.name),
        t.fg(Role::Title).add_modifier(Modifier::BOLD),
    )];
    let cpus = h.value("cpu_num").map_or("?".into(), |c| format!("{c:.0}"));
    let load = h
        .value("load_one")
        .map_or("?".into(), |l| format!("{l:.2}"));
    let load_words = format!("load {load} on {cpus} CPUs ({:.0}%)", tile.load * 100.0);
    match (tile.state, cv.liveness(h, app.now)) {
        (TileState::Unknown, Liveness::Unknown { since, was_up }) => {
            spans.push(Span::styled(
                format!(
                    " UNKNOWN since {} ago ",
                    human_secs(app.now.saturating_sub(since))
                ),
                t.fg(Role::Stale)
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ));
            let then = if was_up {
                format!(" last known: up, {load_words} ")
            } else {
                " last known: down ".to_string()
            };
            spans.push(Span::styled(then, stale_style(t)));
        }
        (TileState::Down, _) => spans.push(Span::styled(
            format!(" DOWN — last heard {} ago ", human_secs(heard)),
            t.fg(Role::Critical).add_modifier(Modifier::BOLD),
        )),
        _ => {
            spans.push(Span::styled(format!(" {load_words} "), t.fg(Role::Text)));
            // What the tile's colour stands for, when it is not the load.
            if let Some(v) = tile.value.filter(|_| st.color_by != ColorBy::Load) {
                spans.push(Span::styled(
                    format!(" {} ", st.color_by.describe(v)),
                    t.fg(Role::Accent),
                ));
            }
            spans.push(Span::styled(
                format!(" heard {} ago ", human_secs(heard)),
                t.fg(Role::Muted),
            ));
        }
    }
    spans.push(Span::styled(format!(" {} ", h.ip), t.fg(Role::Muted)));
    spans.push(Span::styled(
        format!(" {}/{} hosts ", st.selected + 1, st.tiles.len()),
        t.fg(Role::Muted),
    ));
    if !st.tagged.is_empty() {
        spans.push(Span::styled(
            format!(" {} tagged ", st.tagged.len()),
            t.fg(Role::Accent),
        ));
    }
    let spans = fitting(spans, area.width as usize);
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.text()), area);
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
