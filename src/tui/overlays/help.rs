//! The help page (`?`): every action of the table, grouped by layer, with its current keys;
//! the layer of what is under the help first, so what the keys do right now comes first.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use crate::tui::action::{Action, GROUPS, LAYERS, Layer, LayerDef};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled, scrolled};
use crate::tui::theme::Role;

/// The widest the help page gets.
const MAX_WIDTH: u16 = 112;

/// The help page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelpOverlay {
    /// First visible line.
    pub scroll: usize,
    /// The layer of what is under the help: its keys first.
    here: Layer,
    /// The job control under the help is read-only: its dangerous actions are left out.
    read_only_here: bool,
}

impl HelpOverlay {
    /// The help over something whose keys are in `here`.
    pub fn new(here: Layer, read_only_here: bool) -> Self {
        Self {
            scroll: 0,
            here,
            read_only_here,
        }
    }
}

/// The help page's lines: every action of the table, grouped, with its current keys, the
/// layer `here` first.
pub fn lines(ctx: &Ctx<'_>, here: Layer, read_only_here: bool) -> Vec<Line<'static>> {
    let t = ctx.theme;
    let mut lines = Vec::new();
    // Job control open on a cluster whose manager is read-only: its dangerous actions are off.
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
    let mut layers: Vec<&LayerDef> = LAYERS.iter().collect();
    layers.sort_by_key(|l| l.layer != here);
    for l in layers {
        lines.push(Line::from(Span::styled(
            format!("{} [{}]", l.title, l.id),
            t.fg(Role::Title).add_modifier(Modifier::BOLD),
        )));
        for group in GROUPS {
            for (def, keys) in ctx
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
            ctx.keymap.name, ctx.theme.name
        ),
        t.fg(Role::Muted),
    )));
    lines
}

impl Component for HelpOverlay {
    fn layer(&self) -> Layer {
        super::LAYER
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        let lines = lines(ctx, self.here, self.read_only_here);
        super::draw_box(ctx, f, area, (" Help ", MAX_WIDTH), &lines, self.scroll);
    }

    fn on_key(&mut self, ctx: &Ctx<'_>, _key: KeyEvent, action: Option<Action>) -> Handled {
        let Some(a) = action else {
            return Handled::Ignored;
        };
        let limit = super::scroll_limit(
            &lines(ctx, self.here, self.read_only_here),
            MAX_WIDTH,
            ctx.body,
        );
        if let Some(s) = scrolled(self.scroll, a, limit) {
            self.scroll = s;
            return Handled::Consumed(Ask::Nothing);
        }
        Handled::Consumed(match a {
            Action::Legend => Ask::Open(a),
            a => super::common_ask(a).unwrap_or(Ask::Nothing),
        })
    }

    fn commands(&self) -> Vec<CommandInfo> {
        super::commands(Action::Legend)
    }
}
