//! The migrate dialog: the process, a table of the other nodes (down and overloaded marked,
//! Slurm states beside them), then a second Enter to confirm.

use std::cell::Cell;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;

use super::dialogs::{Laid, Outbox, Row, draw_laid, lay_out};
use crate::cm::proto::NodeInfo;
use crate::jobs::{JobCommand, Target};
use crate::tui::action::{Action, Layer};
use crate::tui::bands::TileState;
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled};
use crate::tui::lists::table::{Column, ListRow, TableView, draw_table, fit_widths};
use crate::tui::theme::Role;
use crate::units::human_bytes;

/// Node rows shown at most before the picker scrolls.
const MAX_ROWS: u16 = 12;

/// The picker's columns.
const COLUMNS: [Column<'static>; 7] = [
    Column::left(" "),
    Column::left("node").shrinks(0, 12),
    Column::left("state"),
    Column::right("load"),
    Column::right("CPUs"),
    Column::right("free mem"),
    Column::left(""),
];

/// The migrate dialog.
pub struct MigrateDialog {
    /// The process.
    pub target: Target,
    /// Candidate nodes (the source excluded).
    pub nodes: Vec<NodeInfo>,
    /// Selected node.
    pub selected: usize,
    /// Asked to confirm the choice.
    pub confirming: bool,
    /// Sent, waiting.
    pub pending: bool,
    /// The outcome.
    pub result: Option<Result<(String, u32), String>>,
    /// Scheduler node states (Slurm): name → (state words, reason).
    pub states: std::collections::HashMap<String, (String, String)>,
    /// Slurm: migration means requeue (said in the dialog); false for a pending job, which is
    /// only pinned to the node.
    pub requeue: bool,
    /// What moves, in words, when the target's pid says too little (a Slurm job: `job 5_3,
    /// this array task only`).
    pub subject: Option<String>,
    /// What the last key left for job control.
    pub out: Outbox,
    /// The picker's first row at the last draw (a cache of the frame, not state).
    offset: Cell<usize>,
}

/// Whether a node is too loaded to be a good target (load per CPU over 1).
pub fn overloaded(n: &NodeInfo) -> bool {
    f64::from(n.load1) / f64::from(n.cpus.max(1)) > 1.0
}

/// Whether the scheduler has handed out every CPU of a node (Slurm's nodes carry their
/// allocated CPUs in `procs`): a job moved there would wait.
fn fully_allocated(n: &NodeInfo, scheduled: bool) -> bool {
    scheduled && n.cpus > 0 && n.procs >= n.cpus
}

impl MigrateDialog {
    /// A dialog moving `target` to one of `nodes`, the first up, not overloaded and (under a
    /// scheduler) not fully allocated selected.
    pub fn new(
        target: Target,
        nodes: Vec<NodeInfo>,
        states: std::collections::HashMap<String, (String, String)>,
        requeue: bool,
    ) -> Self {
        let scheduled = !states.is_empty();
        let selected = nodes
            .iter()
            .position(|n| n.up && !overloaded(n) && !fully_allocated(n, scheduled))
            .or_else(|| nodes.iter().position(|n| n.up && !overloaded(n)))
            .unwrap_or(0);
        Self {
            target,
            nodes,
            selected,
            confirming: false,
            pending: false,
            result: None,
            states,
            requeue,
            subject: None,
            out: Outbox::default(),
            offset: Cell::new(0),
        }
    }

    fn rows(&self, ctx: &Ctx<'_>) -> Vec<ListRow> {
        self.nodes
            .iter()
            .map(|n| {
                let tile = if n.up {
                    TileState::Band(
                        ctx.bands
                            .band(f64::from(n.load1) / f64::from(n.cpus.max(1))),
                    )
                } else {
                    TileState::Down
                };
                let mut note = Vec::new();
                // The scheduler's own word for a node it will not use (drained is not down).
                let sched = self.states.get(&n.name).map(|(s, _)| s.as_str());
                if !n.up && sched.is_none() {
                    note.push("down".to_string());
                } else if overloaded(n) {
                    note.push("overloaded".to_string());
                }
                if fully_allocated(n, !self.states.is_empty()) {
                    note.push(format!("all {} CPUs allocated", n.cpus));
                }
                if let Some(state) = sched {
                    note.push(format!("slurm: {state}"));
                }
                ListRow {
                    cells: vec![
                        crate::tui::widgets::tiles::glyph(tile, ctx.glyphs.unicode).to_string(),
                        n.name.clone(),
                        match (n.up, sched) {
                            (true, _) => "up".to_string(),
                            (false, Some(s)) => s.split('+').next_back().unwrap_or(s).to_string(),
                            (false, None) => "down".to_string(),
                        },
                        format!("{:.2}", n.load1),
                        n.cpus.to_string(),
                        human_bytes(n.mem_free_kb.saturating_mul(1024)),
                        note.join("  "),
                    ],
                    role: if !n.up {
                        Role::Down
                    } else if overloaded(n) {
                        Role::Warn
                    } else {
                        Role::Text
                    },
                }
            })
            .collect()
    }

    /// The dialog's rows in `area`: used both to size and to draw it. The picker is the slot.
    fn layout(&self, ctx: &Ctx<'_>, area: Rect, rows: &[ListRow]) -> Laid<'static> {
        let t = ctx.theme;
        let mut lines = vec![
            Row::Wrap(
                format!(
                    "move {} to:",
                    self.subject
                        .clone()
                        .unwrap_or_else(|| self.target.to_string())
                ),
                t.fg(Role::Text),
            ),
            Row::Slot {
                want: MAX_ROWS.min(u16::try_from(rows.len()).unwrap_or(MAX_ROWS)) + 1,
                min: 3,
            },
            Row::Gap,
        ];
        let chosen = self
            .nodes
            .get(self.selected)
            .map_or("", |n| n.name.as_str());
        lines.push(match (&self.result, self.pending, self.confirming) {
            (Some(Ok((node, 0))), _, _) if self.requeue => Row::Wrap(
                format!("requeued: it restarts on {node} (from the start, or its checkpoint)"),
                t.fg(Role::Ok),
            ),
            (Some(Ok((node, 0))), _, _) => Row::Wrap(
                format!("pinned: it will start on {node} when Slurm schedules it"),
                t.fg(Role::Ok),
            ),
            (Some(Ok((node, pid))), _, _) => {
                Row::Wrap(format!("done: now pid {pid} on {node}"), t.fg(Role::Ok))
            }
            (Some(Err(e)), _, _) => Row::Wrap(format!("not migrated: {e}"), t.fg(Role::Critical)),
            (None, true, _) => Row::Wrap(
                "migrating… (stop, then restart from its checkpoint)".into(),
                t.fg(Role::Muted),
            ),
            (None, false, true) => Row::Wrap(
                format!("Enter: migrate to {chosen}   Esc: choose again"),
                t.fg(Role::Warn).add_modifier(Modifier::BOLD),
            ),
            _ => Row::Line(Line::styled(
                " ↑↓ choose a node · Enter · Esc cancels",
                t.fg(Role::Muted),
            )),
        });
        if self.requeue {
            lines.push(Row::Wrap(
                "Slurm cannot move a running job: it is requeued and restarts on the chosen node \
                 (from the start, unless it resumes from its own checkpoint)."
                    .into(),
                t.fg(Role::Warn),
            ));
        }
        // As wide as the table wants (full node names), within the screen.
        let natural: u16 = fit_widths(&COLUMNS, rows, u16::MAX, 1, false)
            .iter()
            .fold(COLUMNS.len() as u16 - 1, |a, w| a.saturating_add(*w));
        lay_out(area, natural.saturating_add(5).clamp(72, 160), lines)
    }

    /// A key, with the action the dialog layer gives it.
    pub fn key(&mut self, _key: KeyEvent, action: Option<Action>) -> Handled {
        if self.result.is_some() {
            return Handled::Consumed(Ask::Close);
        }
        if self.pending {
            return Handled::Consumed(Ask::Nothing);
        }
        let last = self.nodes.len().saturating_sub(1);
        let choosing = !self.confirming;
        match action {
            Some(Action::Close) if self.confirming => self.confirming = false,
            Some(Action::Close) => {
                self.out.say(false, "nothing was migrated");
                return Handled::Consumed(Ask::Close);
            }
            Some(Action::Up) if choosing => self.selected = self.selected.saturating_sub(1),
            Some(Action::Down) if choosing => self.selected = (self.selected + 1).min(last),
            Some(Action::First) if choosing => self.selected = 0,
            Some(Action::Last) if choosing => self.selected = last,
            Some(Action::Confirm) if choosing => match self.nodes.get(self.selected) {
                Some(n) if !n.up => self.out.say(true, "that node is down"),
                Some(_) => self.confirming = true,
                None => {}
            },
            Some(Action::Confirm) => {
                if let Some(n) = self.nodes.get(self.selected) {
                    self.out.command = Some(JobCommand::Migrate {
                        target: self.target.clone(),
                        to: n.name.clone(),
                    });
                    self.pending = true;
                }
            }
            _ => {}
        }
        Handled::Consumed(Ask::Nothing)
    }
}

impl Component for MigrateDialog {
    fn layer(&self) -> Layer {
        Layer::Dialog
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        let rows = self.rows(ctx);
        let laid = self.layout(ctx, area, &rows);
        draw_laid(ctx, f, &laid, " Migrate a process ");
        if let Some(r) = laid.slots().first() {
            let view = TableView {
                title: None,
                columns: &COLUMNS,
                rows: &rows,
                empty: "no other node",
                empty_role: Role::Muted,
                fill_last: true,
                header_when_empty: true,
                spacing: 1,
                ascii: !ctx.glyphs.unicode,
            };
            let area = Rect {
                x: r.x + 1,
                width: r.width.saturating_sub(1),
                ..*r
            };
            let offset = draw_table(f, area, ctx.theme, &view, self.selected, self.offset.get());
            self.offset.set(offset);
        }
    }

    fn on_key(&mut self, _ctx: &Ctx<'_>, key: KeyEvent, action: Option<Action>) -> Handled {
        self.key(key, action)
    }

    fn commands(&self) -> Vec<CommandInfo> {
        vec![
            CommandInfo::on(Action::Confirm),
            CommandInfo::on(Action::Close),
            CommandInfo::on(Action::Up),
            CommandInfo::on(Action::Down),
        ]
    }
}
