//! Overlays drawn over the current view: help, legend, sources.

use ratatui::Frame;
use ratatui::layout::Margin;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Clear, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState,
};

use crate::aggregator::Health;
use crate::tui::action::{Action, GROUPS, LAYERS, Layer, LayerDef};
use crate::tui::app::{App, Overlay};
use crate::tui::bands::{ColorBy, TileState};
use crate::tui::theme::Role;
use crate::tui::views::common::stale_style;
use crate::tui::widgets::tiles;
use crate::tui::widgets::wrap::wrap;
use crate::units::{human_bytes, human_secs};

/// A centred box of at most `w`×`h` within `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// The help page's lines: every action of the table, grouped, with its current keys.
pub fn help_lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut lines = Vec::new();
    // Job control open on a cluster whose manager is read-only: its dangerous actions are off.
    let read_only_here = app
        .jobs_open
        .and_then(|i| app.jobs.get(i))
        .is_some_and(|j| j.read_only);
    if read_only_here {
        lines.push(Line::from(Span::styled(
            "read-only here: kill, migrate and submit are off for this cluster".to_string(),
            t.fg(Role::Warn),
        )));
        lines.push(Line::from(""));
    }
    lines.push(Line::from(vec![
        Span::styled("  ctrl-c            ".to_string(), t.fg(Role::Accent)),
        Span::styled(
            "Leave Gantry, from anywhere (forms and dialogs too)".to_string(),
            t.fg(Role::Text),
        ),
    ]));
    lines.push(Line::from(vec![
        Span::styled("  ctrl-z            ".to_string(), t.fg(Role::Accent)),
        Span::styled(
            "Suspend to the shell; fg comes back".to_string(),
            t.fg(Role::Text),
        ),
    ]));
    lines.push(Line::from(""));
    // The layer in use first: what the keys do right now.
    let here = app.layer_below_help();
    let mut layers: Vec<&LayerDef> = LAYERS.iter().collect();
    layers.sort_by_key(|l| l.layer != here);
    for l in layers {
        lines.push(Line::from(Span::styled(
            format!("{} [{}]", l.title, l.id),
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        )));
        for group in GROUPS {
            for (def, keys) in app
                .keymap
                .entries(l.layer)
                .filter(|(d, _)| d.group == *group && !(read_only_here && d.dangerous))
            {
                if keys.is_empty() && l.layer != here {
                    continue;
                }
                let keys = if keys.is_empty() {
                    "(unbound)".to_string()
                } else {
                    keys.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("  {keys:<18}"), t.fg(Role::Accent)),
                    Span::styled(def.description.to_string(), t.fg(Role::Text)),
                ]));
            }
        }
        lines.push(Line::from(""));
    }
    lines.push(Line::from(Span::styled(
        format!(
            "keymap: {}   theme: {}   q or Esc closes",
            app.keymap.name, app.theme.name
        ),
        t.fg(Role::Muted),
    )));
    lines
}

fn legend_lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    // The legend follows what the tiles in view are coloured by (the grid's are by load).
    let by = app.cluster.as_ref().map_or(ColorBy::Load, |c| c.color_by);
    let labels = by.labels(&app.bands);
    let mut lines = vec![
        Line::from(Span::styled(
            format!("Tiles: {}", by.meaning()),
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        )),
        Line::from(""),
    ];
    for (b, label) in labels.iter().enumerate() {
        let s = TileState::Band(b as u8);
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {} ", tiles::glyph(s, app.glyphs.unicode).repeat(2)),
                tiles::style(s, t),
            ),
            Span::styled(format!(" {label}"), t.fg(Role::Text)),
        ]));
    }
    let no_data = format!("up, but reports no {}", by.needs());
    // Keys as the loaded keymap binds them, not as shipped.
    let key = |a: Action| {
        app.keymap
            .first_key(Layer::Monitor, a)
            .unwrap_or_else(|| "unbound".to_string())
    };
    for (s, what) in [
        (
            TileState::Down,
            "down: not heard from for 4 × TMAX (80 s with gmond's defaults)",
        ),
        (
            TileState::Unknown,
            "unknown: source silent or data stale; figures are last known",
        ),
        (TileState::NoData, no_data.as_str()),
    ] {
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {} ", tiles::glyph(s, app.glyphs.unicode).repeat(2)),
                tiles::style(s, t),
            ),
            Span::styled(format!(" {what}"), t.fg(Role::Text)),
        ]));
    }
    lines.extend([
        Line::from(""),
        Line::from(Span::styled(
            format!(
                "Down hosts are listed first. Glyph height grows with {},",
                by.label()
            ),
            t.fg(Role::Muted),
        )),
        Line::from(Span::styled(
            "so tiles read without colour too (NO_COLOR, colour blindness).",
            t.fg(Role::Muted),
        )),
        Line::from(""),
        Line::from(vec![
            Span::styled(
                "  STALE ",
                t.fg(Role::Stale)
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ),
            Span::styled(
                " data stopped advancing for over two poll steps",
                t.fg(Role::Text),
            ),
        ]),
        Line::from(vec![
            Span::styled(
                if app.glyphs.unicode {
                    "  ▄⊘ "
                } else {
                    "  =/ "
                },
                t.fg(Role::Text).add_modifier(Modifier::CROSSED_OUT),
            ),
            Span::styled(
                format!(
                    " crossed out, {} or drn/sdwn/nrsp: Slurm will not use the node",
                    if app.glyphs.unicode { "⊘" } else { "/" }
                ),
                t.fg(Role::Text),
            ),
        ]),
        Line::from(vec![
            Span::styled(
                if app.glyphs.unicode {
                    "  ▄• "
                } else {
                    "  =* "
                },
                t.fg(Role::Text).add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!(
                    " tagged ({}): {} overlays a graphed metric across them",
                    key(Action::Tag),
                    key(Action::Overlay)
                ),
                t.fg(Role::Text),
            ),
        ]),
        Line::from(Span::styled(
            format!(
                "{} colours tiles by {} next.",
                key(Action::ColorBy),
                by.next().label()
            ),
            t.fg(Role::Muted),
        )),
    ]);
    lines
}

/// The widest each overlay gets.
fn max_width(o: Overlay) -> u16 {
    match o {
        Overlay::Help { .. } => 112,
        Overlay::Legend => 72,
        Overlay::Sources { .. } => 110,
    }
}

/// Columns for text inside an overlay over `body_width`: less the borders and the scrollbar's
/// column.
fn text_width(o: Overlay, body_width: u16) -> usize {
    usize::from(max_width(o).min(body_width)).saturating_sub(3)
}

/// The body's width for the app's terminal size (see `chrome::screen`).
fn body_width(app: &App) -> u16 {
    app.size.0
}

/// The screen row of the sources overlay where source number `index` begins (lines wrapped
/// as drawn).
pub fn source_line(app: &App, index: usize) -> usize {
    let width = text_width(Overlay::Sources { scroll: 0 }, body_width(app));
    app.snap
        .sources
        .iter()
        .take(index)
        .map(|s| wrap(&source_block(app, s), width).len())
        .sum()
}

/// How far the open overlay scrolls before its last row reaches the bottom (0 when all fits).
pub fn scroll_limit(app: &App) -> usize {
    let Some(o) = app.overlay else { return 0 };
    let body = crate::tui::widgets::chrome::screen(Rect::new(0, 0, app.size.0, app.size.1)).body;
    let rows = wrap(&overlay_lines(app, o), text_width(o, body.width)).len();
    let visible = usize::from(body.height.saturating_sub(2));
    rows.saturating_sub(visible)
}

/// One source's lines: its health and address, its last error, its clusters.
fn source_block(app: &App, s: &crate::aggregator::SourceView) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut lines = Vec::new();
    let st = &s.status;
    let health_style = match st.health {
        Health::Ok => t.fg(Role::Ok),
        Health::Degraded => t.fg(Role::Warn).add_modifier(Modifier::BOLD),
        Health::Dead => t.fg(Role::Critical).add_modifier(Modifier::BOLD),
        Health::Pending => t.fg(Role::Muted),
    };
    let age = st.last_success.map_or_else(
        || "never".to_string(),
        |x| format!("{} ago", human_secs(app.now.saturating_sub(x))),
    );
    lines.push(Line::from(vec![
        Span::styled(
            format!("{:<12} ", s.name),
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{:<9}", st.health.to_string()), health_style),
        Span::styled(
            format!(
                " {}  data {age}  answer {} in {} ms",
                st.active_address.as_deref().unwrap_or("-"),
                human_bytes(st.wire_bytes),
                st.latency.as_millis()
            ),
            t.fg(Role::Text),
        ),
    ]));
    if let Some(e) = &st.last_error {
        lines.push(Line::from(Span::styled(format!("    {e}"), health_style)));
    }
    for c in &s.clusters {
        let line = match c.staleness(app.now) {
            Some(x) => Span::styled(
                format!(
                    "    cluster {}  {} hosts unknown  STALE: {x}",
                    c.cluster.name,
                    c.host_count(app.now),
                ),
                stale_style(t),
            ),
            None => Span::styled(
                format!(
                    "    cluster {}  {} hosts  age {}",
                    c.cluster.name,
                    c.host_count(app.now),
                    human_secs(c.age(app.now))
                ),
                t.fg(Role::Muted),
            ),
        };
        lines.push(Line::from(line));
    }
    lines
}

fn source_lines(app: &App) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = app
        .snap
        .sources
        .iter()
        .flat_map(|s| source_block(app, s))
        .collect();
    if lines.is_empty() {
        lines.push(Line::from("no sources configured"));
    }
    lines
}

fn overlay_lines(app: &App, o: Overlay) -> Vec<Line<'static>> {
    match o {
        Overlay::Help { .. } => help_lines(app),
        Overlay::Legend => legend_lines(app),
        Overlay::Sources { .. } => source_lines(app),
    }
}

/// Draws the open overlay: its lines wrapped to its width, scrolled (never past the last
/// row), with a scrollbar and the rows shown when they do not all fit.
pub fn draw(app: &App, f: &mut Frame<'_>, area: Rect) {
    let Some(o) = app.overlay else { return };
    let t = &app.theme;
    let (title, scroll) = match o {
        Overlay::Help { scroll } => (" Help ", scroll),
        Overlay::Legend => (" Legend ", 0),
        Overlay::Sources { scroll } => (" Sources ", scroll),
    };
    let lines = wrap(&overlay_lines(app, o), text_width(o, area.width));
    let h = (lines.len() as u16).saturating_add(2).min(area.height);
    let r = centered(area, max_width(o), h);
    let visible = usize::from(h.saturating_sub(2));
    let scroll = scroll.min(lines.len().saturating_sub(visible));
    f.render_widget(Clear, r);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(
            title,
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        ))
        .border_style(t.fg(Role::DialogBorder))
        .style(t.fg(Role::Text).bg(t.color(Role::Dialog)));
    let more = lines.len() > visible;
    if more {
        block = block.title_bottom(
            Line::from(Span::styled(
                format!(
                    " lines {}–{} of {} ",
                    scroll + 1,
                    (scroll + visible).min(lines.len()),
                    lines.len()
                ),
                t.fg(Role::Muted),
            ))
            .right_aligned(),
        );
    }
    let block = if app.glyphs.unicode {
        block
    } else {
        block.border_set(ratatui::symbols::border::PLAIN)
    };
    let total = lines.len();
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll.min(usize::from(u16::MAX)) as u16, 0)),
        r,
    );
    if more {
        let mut bar = ScrollbarState::new(total.saturating_sub(visible)).position(scroll);
        let sb = if app.glyphs.unicode {
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
        } else {
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .symbols(ratatui::symbols::scrollbar::VERTICAL)
                .begin_symbol(Some("^"))
                .end_symbol(Some("v"))
                .track_symbol(Some("|"))
                .thumb_symbol("#")
        };
        f.render_stateful_widget(sb, r.inner(Margin::new(0, 1)), &mut bar);
    }
}
