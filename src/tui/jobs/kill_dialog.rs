//! The kill dialog: exactly what will be signalled, a signal chooser starting on SIGTERM (or a
//! signal hotkey), a typed confirmation when the kill reaches far (several processes: their
//! count; another user's process: its node name), focus starting on Cancel.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use tui_textarea::TextArea;

use super::dialogs::{
    Laid, Outbox, Row, button, confirm_rows, draw_choice, draw_laid, field, lay_out, result_rows,
    type_to_confirm, typed_confirms,
};
use crate::cm::job::Signal;
use crate::jobs::{JobCommand, Target};
use crate::tui::action::{Action, Layer};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled};
use crate::tui::theme::Role;

/// Targets listed by name; the rest are counted.
const MAX_TARGETS: usize = 6;
/// Per-target results shown; the rest are counted.
const MAX_RESULTS: usize = 6;

/// The kill dialog.
pub struct KillDialog {
    /// Exactly what will be signalled.
    pub targets: Vec<Target>,
    /// Owners that are not the operator (they need the typed confirmation).
    pub foreign: Vec<String>,
    /// Index into [`Signal::ALL`] (SIGTERM first).
    pub signal: usize,
    /// 0 signal list, 1 confirmation text, 2 Cancel, 3 Send. Starts on Cancel.
    pub focus: usize,
    /// What must be typed to confirm, when anything.
    pub confirm_word: Option<String>,
    /// The typed confirmation.
    pub confirm: TextArea<'static>,
    /// Per-target outcome once sent.
    pub results: Option<Vec<(Target, Result<(), String>)>>,
    /// A problem with the input.
    pub error: Option<String>,
    /// What the last key left for job control.
    pub out: Outbox,
}

impl KillDialog {
    /// A dialog for `targets`; several targets need their count typed, another user's process
    /// its node name.
    pub fn new(targets: Vec<Target>, foreign: Vec<String>) -> Self {
        let confirm_word = if targets.len() > 1 {
            Some(targets.len().to_string())
        } else if !foreign.is_empty() {
            targets.first().map(|t| t.node.clone())
        } else {
            None
        };
        Self {
            targets,
            foreign,
            signal: 0,
            focus: 2,
            confirm_word,
            confirm: field("type to confirm", ""),
            results: None,
            error: None,
            out: Outbox::default(),
        }
    }

    /// Whether Send may go ahead.
    pub fn confirmed(&self) -> bool {
        typed_confirms(self.confirm_word.as_deref(), &self.confirm)
    }

    /// Whether a text field has the focus (plain characters are typed into it then).
    pub fn text_focused(&self) -> bool {
        self.focus == 1 && self.results.is_none()
    }

    /// The dialog's rows in `area`: used both to size and to draw it. The signal chooser is
    /// the first slot.
    fn layout<'a>(&'a self, ctx: &Ctx<'_>, area: Rect) -> Laid<'a> {
        let t = ctx.theme;
        let n = self.targets.len();
        let mut rows = vec![Row::Line(Line::from(Span::styled(
            format!(" {} process{}:", n, if n == 1 { "" } else { "es" }),
            t.fg(Role::Text).add_modifier(Modifier::BOLD),
        )))];
        for tg in self.targets.iter().take(MAX_TARGETS) {
            rows.push(Row::Line(Line::from(format!("   {tg}"))));
        }
        if n > MAX_TARGETS {
            rows.push(Row::Line(Line::from(format!(
                "   … and {} more",
                n - MAX_TARGETS
            ))));
        }
        if !self.foreign.is_empty() {
            rows.push(Row::Wrap(
                format!("owned by another user: {}", self.foreign.join(", ")),
                t.fg(Role::Warn),
            ));
        }
        rows.push(Row::Gap);
        rows.push(Row::Slot {
            want: Signal::ALL.len() as u16,
            min: 3,
        });
        rows.push(Row::Gap);
        if let Some(w) = &self.confirm_word {
            let what = if n > 1 {
                "the number of processes"
            } else {
                "the node name"
            };
            confirm_rows(ctx, &mut rows, (what, w), self.focus == 1, &self.confirm);
        }
        rows.push(Row::Line(Line::from(vec![
            Span::raw(" "),
            button(ctx, "Cancel", self.focus == 2, false),
            Span::raw("  "),
            button(
                ctx,
                &format!("Send {}", Signal::ALL[self.signal]),
                self.focus == 3,
                true,
            ),
        ])));
        if let Some(e) = &self.error {
            rows.push(Row::Wrap(e.clone(), t.fg(Role::Critical)));
        }
        if let Some(res) = &self.results {
            let res: Vec<(String, Result<String, String>)> = res
                .iter()
                .map(|(tg, r)| (tg.to_string(), r.clone().map(|()| String::new())))
                .collect();
            result_rows(ctx, &mut rows, &res, "sending…", MAX_RESULTS);
        }
        // Wide enough for the longest target (full node names), within the screen.
        let widest = self
            .targets
            .iter()
            .take(MAX_TARGETS)
            .map(|t| t.to_string().chars().count() + 5)
            .max()
            .unwrap_or(0);
        lay_out(area, widest.clamp(72, 120) as u16, rows)
    }

    /// A key, with the action the dialog layer gives it (none while a field takes the text).
    pub fn key(&mut self, key: KeyEvent, action: Option<Action>) -> Handled {
        if self.results.is_some() {
            return Handled::Consumed(Ask::Close);
        }
        let focuses: &[usize] = if self.confirm_word.is_some() {
            &[0, 1, 2, 3]
        } else {
            &[0, 2, 3]
        };
        let pos = focuses.iter().position(|f| *f == self.focus).unwrap_or(0);
        let next = focuses[(pos + 1) % focuses.len()];
        let prev = focuses[(pos + focuses.len() - 1) % focuses.len()];
        let index = |s: Signal| Signal::ALL.iter().position(|x| *x == s).unwrap_or(0);
        let last = Signal::ALL.len() - 1;
        match (action, key.code) {
            (Some(Action::Close), _) => {
                self.out.say(false, "nothing was signalled");
                return Handled::Consumed(Ask::Close);
            }
            // A signal by its hotkey, then straight to what is left to do: the typed
            // confirmation when one is needed, else Send.
            (Some(a @ (Action::SignalTerm | Action::SignalKill)), _) => {
                self.signal = index(if a == Action::SignalKill {
                    Signal::Kill
                } else {
                    Signal::Term
                });
                self.focus = if self.confirmed() { 3 } else { 1 };
            }
            (Some(Action::NextField), _) => self.focus = next,
            (Some(Action::PrevField), _) => self.focus = prev,
            (Some(Action::Up), _) if self.focus == 0 => self.signal = self.signal.saturating_sub(1),
            (Some(Action::Down), _) if self.focus == 0 => self.signal = (self.signal + 1).min(last),
            (Some(Action::First), _) if self.focus == 0 => self.signal = 0,
            (Some(Action::Last), _) if self.focus == 0 => self.signal = last,
            (_, KeyCode::Left | KeyCode::Right) if self.focus >= 2 => {
                self.focus = if self.focus == 2 { 3 } else { 2 }
            }
            (Some(Action::Confirm), _) if self.focus == 2 => {
                self.out.say(false, "nothing was signalled");
                return Handled::Consumed(Ask::Close);
            }
            (Some(Action::Confirm), _) if self.focus == 3 => {
                if self.confirmed() {
                    self.out.command = Some(JobCommand::Signal {
                        targets: self.targets.clone(),
                        signal: Signal::ALL[self.signal],
                    });
                    self.error = None;
                    self.results = Some(Vec::new());
                    self.out.say(false, "sending…");
                } else {
                    self.error = Some(type_to_confirm(self.confirm_word.as_deref()));
                    self.focus = 1;
                }
            }
            (Some(Action::Confirm), _) => self.focus = next,
            _ if self.focus == 1 => {
                self.confirm.input(key);
            }
            _ => {}
        }
        Handled::Consumed(Ask::Nothing)
    }
}

impl Component for KillDialog {
    fn layer(&self) -> Layer {
        Layer::Dialog
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        let laid = self.layout(ctx, area);
        draw_laid(ctx, f, &laid, " Signal processes ");
        if let Some(r) = laid.slots().first() {
            let names: Vec<String> = Signal::ALL.iter().map(|s| s.to_string()).collect();
            draw_choice(ctx, f, *r, &names, self.signal, self.focus == 0);
        }
    }

    fn on_key(&mut self, _ctx: &Ctx<'_>, key: KeyEvent, action: Option<Action>) -> Handled {
        self.key(key, action)
    }

    fn commands(&self) -> Vec<CommandInfo> {
        vec![
            CommandInfo::on(Action::Confirm),
            CommandInfo::on(Action::Close),
            CommandInfo::on(Action::NextField),
            CommandInfo::on(Action::SignalTerm),
            CommandInfo::on(Action::SignalKill),
        ]
    }
}
