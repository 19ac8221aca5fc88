//! The help page (`?`): first the commands of what is under the help (its `commands()`, as
//! its hint bar shows them, each with its keys and what it does), then every action of the
//! table, grouped by layer, with its current keys, the layer in use first.

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpOverlay {
    /// First visible line.
    pub scroll: usize,
    /// What is under the help: its keymap layer and its commands.
    here: Here,
    /// The job control under the help is read-only: its dangerous actions are left out.
    read_only_here: bool,
}

/// What is under the help page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Here {
    /// Its keymap layer.
    pub layer: Layer,
    /// The commands it offers.
    pub commands: Vec<CommandInfo>,
}

impl HelpOverlay {
    /// The help over `here`.
    pub fn new(here: Here, read_only_here: bool) -> Self {
        Self {
            scroll: 0,
            here,
            read_only_here,
        }
    }
}

/// The commands of what is under the help, with their keys in its layer and what they do.
fn here_lines(ctx: &Ctx<'_>, here: &Here) -> Vec<Line<'static>> {
    let t = ctx.theme;
    let mut lines = vec![Line::from(Span::styled(
        "Here".to_string(),
        t.fg(Role::Title).add_modifier(Modifier::BOLD),
    ))];
    // What cannot be used here (read-only, nothing selected) is left out.
    for c in here.commands.iter().filter(|c| c.enabled) {
        let (keys, what) = if c.action == Action::RangeDay {
            // The range keys stand for each other, as on the hint bar.
            let first = ctx.keymap.first_key(here.layer, Action::RangeHour);
            let last = ctx.keymap.first_key(here.layer, Action::RangeYear);
            match (first, last) {
                (Some(a), Some(b)) => (
                    format!("{a}-{b}"),
                    "Graphs over the last hour, day, week, month or year",
                ),
                _ => continue,
            }
        } else {
            let keys = ctx.keymap.keys_in(here.layer, c.action);
            if keys.is_empty() {
                continue;
            }
            let keys = keys
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            (keys, crate::tui::action::action_def(c.action).description)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {keys:<18}"), t.fg(Role::Accent)),
            Span::styled(what.to_string(), t.fg(Role::Text)),
        ]));
    }
    lines.push(Line::from(""));
    lines
}

/// The help page's lines: every action of the table, grouped, with its current keys, the
/// layer `here` first.
pub fn lines(ctx: &Ctx<'_>, here: &Here, read_only_here: bool) -> Vec<Line<'static>> {
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
    lines.extend(here_lines(ctx, here));
    // The layer in use first: what the keys do right now.
    let here = here.layer;
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
        let lines = lines(ctx, &self.here, self.read_only_here);
        super::draw_box(ctx, f, area, (" Help ", MAX_WIDTH), &lines, self.scroll);
    }

    fn on_key(&mut self, ctx: &Ctx<'_>, _key: KeyEvent, action: Option<Action>) -> Handled {
        let Some(a) = action else {
            return Handled::Ignored;
        };
        let limit = super::scroll_limit(
            &lines(ctx, &self.here, self.read_only_here),
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
