//! The legend (`l`): what tile colours and glyphs mean, for what the tiles in view are
//! coloured by, with keys as the loaded keymap binds them.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use crate::tui::action::{Action, Layer};
use crate::tui::bands::{ColorBy, TileState};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled};
use crate::tui::theme::Role;
use crate::tui::widgets::tiles;

/// The widest the legend gets.
const MAX_WIDTH: u16 = 72;

/// The legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegendOverlay {
    /// What the tiles in view are coloured by (the grid's are by load).
    by: ColorBy,
}

impl LegendOverlay {
    /// The legend of tiles coloured by `by`.
    pub fn new(by: ColorBy) -> Self {
        Self { by }
    }
}

fn lines(ctx: &Ctx<'_>, by: ColorBy) -> Vec<Line<'static>> {
    let t = ctx.theme;
    let unicode = ctx.glyphs.unicode;
    let labels = by.labels(ctx.bands);
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
                format!("  {} ", tiles::glyph(s, unicode).repeat(2)),
                tiles::style(s, t),
            ),
            Span::styled(format!(" {label}"), t.fg(Role::Text)),
        ]));
    }
    let no_data = format!("up, but reports no {}", by.needs());
    // Keys as the loaded keymap binds them, not as shipped.
    let key = |a: Action| {
        ctx.keymap
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
                format!("  {} ", tiles::glyph(s, unicode).repeat(2)),
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
                if unicode { "  ▄⊘ " } else { "  =/ " },
                t.fg(Role::Text).add_modifier(Modifier::CROSSED_OUT),
            ),
            Span::styled(
                format!(
                    " crossed out, {} or drn/sdwn/nrsp: Slurm will not use the node",
                    if unicode { "⊘" } else { "/" }
                ),
                t.fg(Role::Text),
            ),
        ]),
        Line::from(vec![
            Span::styled(if unicode { "  ▄~ " } else { "  =~ " }, t.fg(Role::Text)),
            Span::styled(
                " ~ # % or off~/pwr#/pwr%: Slurm powered the node down, is powering it up, down",
                t.fg(Role::Text),
            ),
        ]),
        Line::from(vec![
            Span::styled(
                if unicode { "  ▄• " } else { "  =* " },
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

impl Component for LegendOverlay {
    fn layer(&self) -> Layer {
        super::LAYER
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        super::draw_box(
            ctx,
            f,
            area,
            (" Legend ", MAX_WIDTH),
            &lines(ctx, self.by),
            0,
        );
    }

    fn on_key(&mut self, _ctx: &Ctx<'_>, _key: KeyEvent, action: Option<Action>) -> Handled {
        let Some(a) = action else {
            return Handled::Ignored;
        };
        // It does not scroll: anything else leaves it as it is.
        Handled::Consumed(match a {
            Action::Help => Ask::Open(a),
            a => super::common_ask(a).unwrap_or(Ask::Nothing),
        })
    }

    fn commands(&self) -> Vec<CommandInfo> {
        super::commands(Action::Help)
    }
}
