//! The Slurm power dialog: exactly which nodes go up or down, each with its state and CPUs in
//! use; a node that runs jobs is powered down only once they end (Slurm's `POWER_DOWN_ASAP`,
//! said in words); several nodes going down need their count typed. Focus starts on Cancel for
//! a power down, on Send for a power up (it stops nothing).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use tui_textarea::TextArea;

use super::dialogs::{
    Laid, Outbox, Row, button, confirm_rows, draw_laid, field, lay_out, result_rows,
    type_to_confirm, typed_confirms,
};
use crate::jobs::JobCommand;
use crate::slurm::act::{Outcome, PowerChange};
use crate::tui::action::{Action, Layer};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled};
use crate::tui::theme::Role;

/// Nodes listed by name; the rest are counted.
const MAX_NODES: usize = 8;
/// Per-node results shown; the rest are counted.
const MAX_RESULTS: usize = 8;

/// One node as the dialog shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerNode {
    /// Slurm's name for it.
    pub name: String,
    /// Its state words as the last poll saw them (`idle~`, `mixed`), or "not seen".
    pub state: String,
    /// CPUs allocated to jobs.
    pub busy_cpus: u32,
}

/// The power dialog.
pub struct PowerDialog {
    /// Exactly which nodes.
    pub nodes: Vec<PowerNode>,
    /// Up, or down.
    pub up: bool,
    /// 0 confirmation text, 1 Cancel, 2 Send.
    pub focus: usize,
    /// What must be typed to confirm (several nodes going down: their count).
    pub confirm_word: Option<String>,
    /// The typed confirmation.
    pub confirm: TextArea<'static>,
    /// Per-node outcome once sent.
    pub results: Option<Vec<Outcome>>,
    /// A problem with the input.
    pub error: Option<String>,
    /// What the last key left for job control.
    pub out: Outbox,
}

impl PowerDialog {
    /// A dialog to power `nodes` up or down.
    pub fn new(nodes: Vec<PowerNode>, up: bool) -> Self {
        let confirm_word = (!up && nodes.len() > 1).then(|| nodes.len().to_string());
        Self {
            nodes,
            up,
            focus: if up { 2 } else { 1 },
            confirm_word,
            confirm: field("type to confirm", ""),
            results: None,
            error: None,
            out: Outbox::default(),
        }
    }

    /// What Slurm is asked: a power down waits for the jobs when any node runs some (a plain
    /// one would not).
    pub fn change(&self) -> PowerChange {
        if self.up {
            PowerChange::Up
        } else if self.nodes.iter().any(|n| n.busy_cpus > 0) {
            PowerChange::DownAfterJobs
        } else {
            PowerChange::Down
        }
    }

    /// Whether Send may go ahead.
    pub fn confirmed(&self) -> bool {
        typed_confirms(self.confirm_word.as_deref(), &self.confirm)
    }

    /// Whether a text field has the focus (plain characters are typed into it then).
    pub fn text_focused(&self) -> bool {
        self.focus == 0 && self.results.is_none()
    }

    fn layout<'a>(&'a self, ctx: &Ctx<'_>, area: Rect) -> Laid<'a> {
        let t = ctx.theme;
        let n = self.nodes.len();
        let verb = if self.up { "Power up" } else { "Power down" };
        let mut rows = vec![Row::Line(Line::from(Span::styled(
            format!(" {verb} {n} node{}:", if n == 1 { "" } else { "s" }),
            t.fg(Role::Text).add_modifier(Modifier::BOLD),
        )))];
        let width = self
            .nodes
            .iter()
            .take(MAX_NODES)
            .map(|x| x.name.chars().count())
            .max()
            .unwrap_or(0);
        for x in self.nodes.iter().take(MAX_NODES) {
            let busy = match x.busy_cpus {
                0 => String::new(),
                1 => ", 1 CPU in use".to_string(),
                n => format!(", {n} CPUs in use"),
            };
            rows.push(Row::Line(Line::from(format!(
                "   {:width$}  {}{busy}",
                x.name, x.state
            ))));
        }
        if n > MAX_NODES {
            rows.push(Row::Line(Line::from(format!(
                "   … and {} more",
                n - MAX_NODES
            ))));
        }
        rows.push(Row::Gap);
        let (what, role) = match self.change() {
            PowerChange::Up => (
                "Slurm runs its ResumeProgram for them; they take jobs once their slurmd \
                 registers.",
                Role::Muted,
            ),
            PowerChange::Down => (
                "Slurm runs its SuspendProgram for them now; it powers them up again when jobs \
                 need them.",
                Role::Muted,
            ),
            PowerChange::DownAfterJobs => (
                "Some run jobs: Slurm drains these nodes and powers them down when their jobs \
                 end (POWER_DOWN_ASAP). No job is cancelled.",
                Role::Warn,
            ),
        };
        rows.push(Row::Wrap(what.to_string(), t.fg(role)));
        rows.push(Row::Gap);
        if let Some(w) = &self.confirm_word {
            confirm_rows(
                ctx,
                &mut rows,
                ("the number of nodes", w),
                self.focus == 0,
                &self.confirm,
            );
        }
        rows.push(Row::Line(Line::from(vec![
            Span::raw(" "),
            button(ctx, "Cancel", self.focus == 1, false),
            Span::raw("  "),
            button(ctx, verb, self.focus == 2, !self.up),
        ])));
        if let Some(e) = &self.error {
            rows.push(Row::Wrap(e.clone(), t.fg(Role::Critical)));
        }
        if let Some(res) = &self.results {
            result_rows(ctx, &mut rows, res, "asking Slurm…", MAX_RESULTS);
        }
        lay_out(area, (width + 40).clamp(64, 110) as u16, rows)
    }

    /// A key, with the action the dialog layer gives it (none while a field takes the text).
    pub fn key(&mut self, key: KeyEvent, action: Option<Action>) -> Handled {
        if self.results.is_some() {
            return Handled::Consumed(Ask::Close);
        }
        let focuses: &[usize] = if self.confirm_word.is_some() {
            &[0, 1, 2]
        } else {
            &[1, 2]
        };
        let pos = focuses.iter().position(|f| *f == self.focus).unwrap_or(0);
        let next = focuses[(pos + 1) % focuses.len()];
        let prev = focuses[(pos + focuses.len() - 1) % focuses.len()];
        let untouched = if self.up {
            "no node was powered up"
        } else {
            "no node was powered down"
        };
        match (action, key.code) {
            (Some(Action::Close), _) => {
                self.out.say(false, untouched);
                return Handled::Consumed(Ask::Close);
            }
            (Some(Action::NextField), _) => self.focus = next,
            (Some(Action::PrevField), _) => self.focus = prev,
            (_, KeyCode::Left | KeyCode::Right) if self.focus >= 1 => {
                self.focus = if self.focus == 1 { 2 } else { 1 }
            }
            (Some(Action::Confirm), _) if self.focus == 1 => {
                self.out.say(false, untouched);
                return Handled::Consumed(Ask::Close);
            }
            (Some(Action::Confirm), _) if self.focus == 2 || self.confirmed() => {
                if self.confirmed() {
                    self.out.command = Some(JobCommand::SlurmPower {
                        nodes: self.nodes.iter().map(|n| n.name.clone()).collect(),
                        change: self.change(),
                    });
                    self.error = None;
                    self.results = Some(Vec::new());
                    self.out.say(false, "asking Slurm…");
                } else {
                    self.error = Some(type_to_confirm(self.confirm_word.as_deref()));
                    self.focus = 0;
                }
            }
            (Some(Action::Confirm), _) => self.focus = next,
            _ if self.focus == 0 => {
                self.confirm.input(key);
            }
            _ => {}
        }
        Handled::Consumed(Ask::Nothing)
    }
}

impl Component for PowerDialog {
    fn layer(&self) -> Layer {
        Layer::Dialog
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        let laid = self.layout(ctx, area);
        draw_laid(ctx, f, &laid, " Slurm power ");
    }

    fn on_key(&mut self, _ctx: &Ctx<'_>, key: KeyEvent, action: Option<Action>) -> Handled {
        self.key(key, action)
    }

    fn commands(&self) -> Vec<CommandInfo> {
        vec![
            CommandInfo::on(Action::Confirm),
            CommandInfo::on(Action::Close),
            CommandInfo::on(Action::NextField),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn node(name: &str, busy: u32) -> PowerNode {
        PowerNode {
            name: name.into(),
            state: "idle".into(),
            busy_cpus: busy,
        }
    }

    fn press(d: &mut PowerDialog, code: KeyCode, a: Option<Action>) {
        d.key(KeyEvent::new(code, KeyModifiers::NONE), a);
    }

    #[test]
    fn a_busy_node_goes_down_only_after_its_jobs() {
        assert_eq!(
            PowerDialog::new(vec![node("c1", 0)], false).change(),
            PowerChange::Down
        );
        assert_eq!(
            PowerDialog::new(vec![node("c1", 0), node("c2", 2)], false).change(),
            PowerChange::DownAfterJobs
        );
        assert_eq!(
            PowerDialog::new(vec![node("c2", 2)], true).change(),
            PowerChange::Up
        );
    }

    #[test]
    fn several_nodes_down_need_their_count_typed_and_enter_starts_on_cancel() {
        let mut d = PowerDialog::new(vec![node("c1", 0), node("c2", 0)], false);
        // Enter on Cancel sends nothing.
        let mut first = PowerDialog::new(vec![node("c1", 0)], false);
        press(&mut first, KeyCode::Enter, Some(Action::Confirm));
        assert!(first.out.command.is_none());
        // Send without the count: asked for it.
        d.focus = 2;
        press(&mut d, KeyCode::Enter, Some(Action::Confirm));
        assert!(d.out.command.is_none());
        assert_eq!(d.focus, 0);
        press(&mut d, KeyCode::Char('2'), None);
        press(&mut d, KeyCode::Enter, Some(Action::Confirm));
        match d.out.command.take() {
            Some(JobCommand::SlurmPower { nodes, change }) => {
                assert_eq!(nodes, ["c1", "c2"]);
                assert_eq!(change, PowerChange::Down);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn power_up_is_one_enter_away() {
        let mut d = PowerDialog::new(vec![node("c3", 0)], true);
        press(&mut d, KeyCode::Enter, Some(Action::Confirm));
        assert!(matches!(
            d.out.command,
            Some(JobCommand::SlurmPower {
                change: PowerChange::Up,
                ..
            })
        ));
    }
}
