//! The Slurm job dialog: what happens to which jobs, said plainly. "Cancel" ends a job as
//! scancel does (TERM, KillWait, KILL; it ends CANCELLED; a pending job at once); "Signal"
//! sends one signal to the job's steps (and the batch shell when asked) and leaves it running;
//! hold, release, requeue, suspend, resume and a new time limit act on the queue. On an array
//! task the operator chooses between that task and the whole array. The result shown is the
//! state Slurm reports afterwards, or Slurm's own message.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use tui_textarea::TextArea;

use super::dialogs::{
    Laid, Outbox, Row, button, confirm_rows, draw_choice, draw_laid, field, lay_out, result_rows,
    text, type_to_confirm, typed_confirms,
};
use crate::cm::job::Signal;
use crate::jobs::JobCommand;
use crate::slurm::act::{Outcome, SlurmAct, SlurmCommand};
use crate::tui::action::{Action, Layer};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled};
use crate::tui::theme::Role;

/// Jobs listed by name; the rest are counted.
const MAX_LISTED: usize = 6;

/// A job the dialog acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmTarget {
    /// As Slurm names it: `17`, `5_3`, `102_[1-5]`.
    pub label: String,
    /// Its array and how many live jobs that array holds, when it is an array job.
    pub array: Option<(u64, usize)>,
    /// Owner.
    pub user: String,
    /// State (RUNNING, PENDING…).
    pub state: String,
}

/// The choices, in order: what each does, in words.
const CHOICES: [(&str, &str); 15] = [
    (
        "Cancel",
        "end it: TERM, KillWait, then KILL; it ends CANCELLED (a pending job at once)",
    ),
    ("Signal TERM", "send TERM, do not cancel: the job decides"),
    ("Signal KILL", "send KILL to its processes, do not cancel"),
    ("Signal INT", "send INT, do not cancel"),
    ("Signal HUP", "send HUP, do not cancel"),
    ("Signal USR1", "send USR1, do not cancel"),
    ("Signal USR2", "send USR2, do not cancel"),
    (
        "Signal STOP",
        "stop its processes (they keep their allocation)",
    ),
    ("Signal CONT", "continue stopped processes"),
    ("Hold", "keep a pending job from starting"),
    ("Release", "let a held job start"),
    ("Requeue", "stop a running job and put it back in the queue"),
    ("Suspend", "stop a running job, keeping its nodes"),
    ("Resume", "continue a suspended job"),
    (
        "Time limit",
        "set a new time limit (typed below: 90, 2:00:00, 1-00, +30, UNLIMITED)",
    ),
];

/// The Slurm job dialog.
pub struct SlurmJobDialog {
    /// The jobs picked.
    pub targets: Vec<SlurmTarget>,
    /// The operator's user name (another user's job needs its id typed).
    pub me: String,
    /// Index into [`CHOICES`].
    pub choice: usize,
    /// Act on the whole array of each array task.
    pub whole_array: bool,
    /// A signal reaches the batch shell too.
    pub batch: bool,
    /// The new time limit.
    pub limit: TextArea<'static>,
    /// The typed confirmation.
    pub confirm: TextArea<'static>,
    /// 0 choices, 1 time limit, 2 confirmation, 3 Close, 4 Do it. Starts on Close.
    pub focus: usize,
    /// Per job outcome once sent (empty: waiting).
    pub results: Option<Vec<Outcome>>,
    /// A problem with the input.
    pub error: Option<String>,
    /// What the last key left for job control.
    pub out: Outbox,
}

impl SlurmJobDialog {
    /// A dialog on `targets`, starting on Cancel (the kill), focus on Close.
    pub fn new(targets: Vec<SlurmTarget>, me: &str) -> Self {
        Self {
            targets,
            me: me.to_string(),
            choice: 0,
            whole_array: false,
            // scancel's own default: a signal reaches the steps, not the batch shell (which
            // dies of most signals it does not trap, failing the job).
            batch: false,
            limit: field("new time limit", ""),
            confirm: field("type to confirm", ""),
            focus: 3,
            results: None,
            error: None,
            out: Outbox::default(),
        }
    }

    /// The jobs as Slurm is given them: each target, or its whole array.
    pub fn jobs(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for t in &self.targets {
            let name = match (self.whole_array, t.array) {
                (true, Some((a, _))) => a.to_string(),
                _ => t.label.clone(),
            };
            if !v.contains(&name) {
                v.push(name);
            }
        }
        v
    }

    /// How many jobs the action reaches (array tasks counted one by one).
    fn reach(&self) -> usize {
        let mut arrays = Vec::new();
        let mut n = 0;
        for t in &self.targets {
            match (self.whole_array, t.array) {
                (true, Some((a, size))) => {
                    if !arrays.contains(&a) {
                        arrays.push(a);
                        n += size.max(1);
                    }
                }
                _ => {
                    n += crate::slurm::jobs::task_indices(
                        t.label
                            .split_once("_[")
                            .map_or("", |(_, r)| r.trim_end_matches(']')),
                    )
                    .len()
                    .max(1)
                }
            }
        }
        n
    }

    /// The action chosen.
    pub fn act(&self) -> SlurmAct {
        let sig = |s| SlurmAct::Signal {
            signal: s,
            batch: self.batch,
        };
        match self.choice {
            0 => SlurmAct::Cancel,
            1 => sig(Signal::Term),
            2 => sig(Signal::Kill),
            3 => sig(Signal::Int),
            4 => sig(Signal::Hup),
            5 => sig(Signal::Usr1),
            6 => sig(Signal::Usr2),
            7 => sig(Signal::Stop),
            8 => sig(Signal::Cont),
            9 => SlurmAct::Hold,
            10 => SlurmAct::Release,
            11 => SlurmAct::Requeue,
            12 => SlurmAct::Suspend,
            13 => SlurmAct::Resume,
            _ => SlurmAct::TimeLimit(text(&self.limit).trim().to_string()),
        }
    }

    /// What must be typed to confirm a far-reaching action: the number of jobs when it reaches
    /// several, else another user's job id; nothing for one's own single job.
    pub fn confirm_word(&self) -> Option<String> {
        let far = matches!(
            self.act(),
            SlurmAct::Cancel | SlurmAct::Requeue | SlurmAct::Signal { .. }
        );
        let n = self.reach();
        if far && n > 1 {
            Some(n.to_string())
        } else if self.targets.iter().any(|t| t.user != self.me) {
            self.jobs().first().cloned()
        } else {
            None
        }
    }

    fn confirmed(&self) -> bool {
        typed_confirms(self.confirm_word().as_deref(), &self.confirm)
    }

    /// Whether a text field has the focus.
    pub fn text_focused(&self) -> bool {
        matches!(self.focus, 1 | 2) && self.results.is_none()
    }

    fn focuses(&self) -> Vec<usize> {
        let mut f = vec![0];
        if self.choice == 14 {
            f.push(1);
        }
        if self.confirm_word().is_some() {
            f.push(2);
        }
        f.extend([3, 4]);
        f
    }

    fn layout<'a>(&'a self, ctx: &Ctx<'_>, area: Rect) -> Laid<'a> {
        let t = ctx.theme;
        let jobs = self.jobs();
        let reach = self.reach();
        let mut rows = vec![Row::Line(Line::from(Span::styled(
            format!(
                " {} job{} ({} in all):",
                jobs.len(),
                if jobs.len() == 1 { "" } else { "s" },
                reach
            ),
            t.fg(Role::Text).add_modifier(Modifier::BOLD),
        )))];
        for j in jobs.iter().take(MAX_LISTED) {
            let what = self
                .targets
                .iter()
                .find(|t| &t.label == j)
                .map(|t| format!("   {j}  {}  {}", t.state, t.user))
                .unwrap_or_else(|| format!("   {j}  (the whole array)"));
            rows.push(Row::Line(Line::from(what)));
        }
        if jobs.len() > MAX_LISTED {
            rows.push(Row::Line(Line::from(format!(
                "   … and {} more",
                jobs.len() - MAX_LISTED
            ))));
        }
        if let Some((a, size)) = self.targets.iter().find_map(|t| t.array) {
            rows.push(Row::Wrap(
                if self.whole_array {
                    format!("acts on the WHOLE array {a} ({size} jobs) — a: only the chosen task")
                } else {
                    format!("acts on the chosen task only — a: the whole array {a} ({size} jobs)")
                },
                t.fg(Role::Warn),
            ));
        }
        rows.push(Row::Gap);
        rows.push(Row::Slot {
            want: CHOICES.len() as u16,
            min: 4,
        });
        rows.push(Row::Wrap(
            format!("{}: {}", CHOICES[self.choice].0, CHOICES[self.choice].1),
            t.fg(Role::Muted),
        ));
        if matches!(self.act(), SlurmAct::Signal { .. }) {
            rows.push(Row::Wrap(
                if self.batch {
                    "reaches the steps and the batch shell — b: the steps only".into()
                } else {
                    "reaches the steps only, not the batch shell — b: the batch shell too".into()
                },
                t.fg(Role::Muted),
            ));
        }
        if self.choice == 14 {
            let style = if self.focus == 1 {
                t.fg(Role::Accent)
            } else {
                t.fg(Role::Text)
            };
            rows.push(Row::Field {
                label: Line::from(Span::styled(" limit", style)),
                at: 8,
                input: &self.limit,
            });
        }
        rows.push(Row::Gap);
        if let Some(w) = self.confirm_word() {
            let what = if reach > 1 {
                "the number of jobs"
            } else {
                "another user's job id"
            };
            confirm_rows(ctx, &mut rows, (what, &w), self.focus == 2, &self.confirm);
        }
        rows.push(Row::Line(Line::from(vec![
            Span::raw(" "),
            button(ctx, "Close", self.focus == 3, false),
            Span::raw("  "),
            button(ctx, CHOICES[self.choice].0, self.focus == 4, true),
        ])));
        if let Some(e) = &self.error {
            rows.push(Row::Wrap(e.clone(), t.fg(Role::Critical)));
        }
        if let Some(res) = &self.results {
            result_rows(ctx, &mut rows, res, "asking Slurm…", MAX_LISTED);
        }
        let widest = jobs.iter().map(|j| j.len() + 40).max().unwrap_or(0);
        lay_out(area, widest.clamp(76, 120) as u16, rows)
    }

    fn send(&mut self) {
        if let SlurmAct::TimeLimit(l) = self.act()
            && l.is_empty()
        {
            self.error = Some("type the new time limit first".into());
            self.focus = 1;
            return;
        }
        if !self.confirmed() {
            self.error = Some(type_to_confirm(self.confirm_word().as_deref()));
            self.focus = 2;
            return;
        }
        self.out.command = Some(JobCommand::Slurm(SlurmCommand {
            jobs: self.jobs(),
            act: self.act(),
        }));
        self.error = None;
        self.results = Some(Vec::new());
        self.out.say(false, "asking Slurm…");
    }
}

impl Component for SlurmJobDialog {
    fn layer(&self) -> Layer {
        Layer::Dialog
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        let laid = self.layout(ctx, area);
        draw_laid(ctx, f, &laid, " Slurm jobs ");
        if let Some(r) = laid.slots().first() {
            let names: Vec<String> = CHOICES.iter().map(|(n, _)| n.to_string()).collect();
            draw_choice(ctx, f, *r, &names, self.choice, self.focus == 0);
        }
    }

    fn on_key(&mut self, _ctx: &Ctx<'_>, key: KeyEvent, action: Option<Action>) -> Handled {
        self.key(key, action)
    }

    fn commands(&self) -> Vec<CommandInfo> {
        let array = self.targets.iter().any(|t| t.array.is_some());
        vec![
            CommandInfo::on(Action::Confirm),
            CommandInfo::on(Action::Close),
            CommandInfo::on(Action::NextField),
            CommandInfo::on(Action::SignalKill),
            CommandInfo::on(Action::SignalTerm),
            CommandInfo::when(Action::WholeArray, array),
            CommandInfo::on(Action::BatchShell),
        ]
    }
}

impl SlurmJobDialog {
    /// A key, with the action the dialog layer gives it (none while a field takes the text).
    pub fn key(&mut self, key: KeyEvent, action: Option<Action>) -> Handled {
        if self.results.as_ref().is_some_and(|r| !r.is_empty()) {
            return Handled::Consumed(Ask::Close);
        }
        if self.results.is_some() {
            return Handled::Consumed(Ask::Nothing);
        }
        let focuses = self.focuses();
        let pos = focuses.iter().position(|f| *f == self.focus).unwrap_or(0);
        let next = focuses[(pos + 1) % focuses.len()];
        let prev = focuses[(pos + focuses.len() - 1) % focuses.len()];
        let last = CHOICES.len() - 1;
        let after_choice = |d: &Self| {
            if d.choice == 14 {
                1
            } else if d.confirmed() {
                4
            } else {
                2
            }
        };
        match (action, key.code) {
            (Some(Action::Close), _) => {
                self.out.say(false, "nothing was sent to Slurm");
                return Handled::Consumed(Ask::Close);
            }
            (Some(Action::SignalKill), _) => {
                self.choice = 0;
                self.focus = after_choice(self);
            }
            (Some(Action::SignalTerm), _) => {
                self.choice = 1;
                self.focus = after_choice(self);
            }
            (Some(Action::WholeArray), _) => self.whole_array = !self.whole_array,
            (Some(Action::BatchShell), _) => self.batch = !self.batch,
            (Some(Action::NextField), _) => self.focus = next,
            (Some(Action::PrevField), _) => self.focus = prev,
            (Some(Action::Up), _) if self.focus == 0 => self.choice = self.choice.saturating_sub(1),
            (Some(Action::Down), _) if self.focus == 0 => self.choice = (self.choice + 1).min(last),
            (Some(Action::First), _) if self.focus == 0 => self.choice = 0,
            (Some(Action::Last), _) if self.focus == 0 => self.choice = last,
            (_, KeyCode::Left | KeyCode::Right) if self.focus >= 3 => {
                self.focus = if self.focus == 3 { 4 } else { 3 }
            }
            (Some(Action::Confirm), _) if self.focus == 3 => {
                self.out.say(false, "nothing was sent to Slurm");
                return Handled::Consumed(Ask::Close);
            }
            (Some(Action::Confirm), _) if self.focus == 4 => self.send(),
            (Some(Action::Confirm), _) if self.focus == 0 => self.focus = after_choice(self),
            (Some(Action::Confirm), _) => self.focus = next,
            _ if self.focus == 1 => {
                self.limit.input(key);
            }
            _ if self.focus == 2 => {
                self.confirm.input(key);
            }
            _ => {}
        }
        Handled::Consumed(Ask::Nothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(label: &str, array: Option<(u64, usize)>, user: &str) -> SlurmTarget {
        SlurmTarget {
            label: label.into(),
            array,
            user: user.into(),
            state: "RUNNING".into(),
        }
    }

    #[test]
    fn one_task_or_the_whole_array() {
        let mut d = SlurmJobDialog::new(vec![task("5_5", Some((5, 5)), "al")], "al");
        assert_eq!(d.jobs(), vec!["5_5"]);
        assert_eq!(d.confirm_word(), None, "one's own single task");
        d.whole_array = true;
        assert_eq!(d.jobs(), vec!["5"]);
        assert_eq!(d.confirm_word().as_deref(), Some("5"), "five jobs: type 5");
        let two = SlurmJobDialog::new(
            vec![
                task("15_1", Some((15, 3)), "al"),
                task("15_3", Some((15, 3)), "al"),
            ],
            "al",
        );
        assert_eq!(two.jobs(), vec!["15_1", "15_3"]);
        assert_eq!(two.confirm_word().as_deref(), Some("2"));
        let pending = SlurmJobDialog::new(vec![task("102_[1-5]", Some((102, 5)), "al")], "al");
        assert_eq!(pending.reach(), 5);
        let foreign = SlurmJobDialog::new(vec![task("9", None, "bo")], "al");
        assert_eq!(foreign.confirm_word().as_deref(), Some("9"));
    }
}
