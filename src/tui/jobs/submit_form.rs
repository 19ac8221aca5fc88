//! The submit form on screen: KCMS's fields (scrolled to keep the focus in view when the
//! screen is short), every problem in full under them, where the job would run and where its
//! output goes; then a preview of exactly what will be sent.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::dialogs::{Laid, Row, button, draw_laid, lay_out, text};
use super::form::{FIELDS, Kind, Placement, SubmitForm, at};
use crate::jobs::JobCommand;
use crate::tui::action::{Action, Layer};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled};
use crate::tui::theme::Role;

/// Where a field's input starts.
const INPUT_AT: u16 = 27;
/// How wide an input is at most.
const INPUT_W: u16 = 32;

/// What the form says about a job without an Output File.
pub const OUTPUT_KEPT: &str = "output kept by the manager; read it from Jobs";

impl SubmitForm {
    /// Whether a text field has the focus (plain characters are typed into it then).
    pub fn text_focused(&self) -> bool {
        self.preview.is_none()
            && self.focus < FIELDS.len()
            && !matches!(FIELDS[self.focus].1, Kind::Choice(_))
    }

    /// Every problem, the focused field's first, each with its field's name.
    pub fn problems(&self) -> Vec<String> {
        let mut errs = self.errors();
        errs.sort_by_key(|(i, _)| *i != self.focus);
        errs.into_iter()
            .map(|(i, e)| format!("✗ {}: {e}", FIELDS[i].0))
            .collect()
    }

    /// Where the job would run, in words.
    pub fn runs_on(&self) -> String {
        if !self.errors().is_empty() {
            return "where it would run: shown once the form is valid".into();
        }
        match self.placement() {
            Placement::Nodes(v) => {
                let names: Vec<String> = v
                    .iter()
                    .map(|(n, k)| {
                        if *k > 1 {
                            format!("{n} ({k} tasks)")
                        } else {
                            n.clone()
                        }
                    })
                    .collect();
                format!(
                    "would run on {} (least loaded up nodes with the memory; the manager decides)",
                    names.join(", ")
                )
            }
            Placement::Waits(why) => format!("would not start now: {why}"),
            Placement::Unknown => "where it runs: the manager decides (no node list yet)".into(),
        }
    }

    /// Lines about the job under the form and the preview: where it runs, where its output
    /// goes, what is worth knowing.
    fn about<'a>(&self, ctx: &Ctx<'_>) -> Vec<Row<'a>> {
        let t = ctx.theme;
        let mut rows = vec![Row::Wrap(self.runs_on(), t.fg(Role::Muted))];
        if text(&self.inputs[at::OUTPUT]).trim().is_empty() {
            rows.push(Row::Wrap(
                format!("no Output File: {OUTPUT_KEPT}"),
                t.fg(Role::Muted),
            ));
        }
        for w in self.warnings() {
            rows.push(Row::Wrap(w, t.fg(Role::Warn)));
        }
        rows
    }

    /// The form's rows in `area`: used both to size and to draw it. The fields are the slot.
    fn layout<'a>(&'a self, ctx: &Ctx<'_>, area: Rect) -> Laid<'a> {
        let t = ctx.theme;
        let mut rows = Vec::new();
        if let Some(p) = &self.preview {
            rows.push(Row::Line(Line::styled(
                " exactly this will be sent:",
                t.fg(Role::Muted),
            )));
            // Cut by characters, not words: the line is shown exactly as sent.
            let w = usize::from(area.width.min(96).saturating_sub(4)).max(1);
            let chars: Vec<char> = p.chars().collect();
            for chunk in chars.chunks(w) {
                rows.push(Row::Line(Line::from(format!(
                    " {}",
                    chunk.iter().collect::<String>()
                ))));
            }
            rows.push(Row::Gap);
            rows.extend(self.about(ctx));
            rows.push(Row::Gap);
            rows.push(Row::Line(Line::styled(
                if self.pending {
                    " submitting…"
                } else {
                    " Enter: submit   Esc: back to the form"
                },
                t.fg(Role::Warn).add_modifier(Modifier::BOLD),
            )));
        } else {
            rows.push(Row::Slot {
                want: FIELDS.len() as u16,
                min: 3,
            });
            rows.push(Row::Gap);
            rows.push(Row::Line(Line::from(vec![
                Span::raw(" "),
                button(ctx, "Preview and submit", self.focus == FIELDS.len(), false),
            ])));
            for p in self.problems() {
                rows.push(Row::Wrap(p, t.fg(Role::Critical)));
            }
            rows.extend(self.about(ctx));
            if let Some(n) = &self.note {
                rows.push(Row::Wrap(n.clone(), t.fg(Role::Warn)));
            }
            rows.push(Row::Wrap(
                "Tab/↑↓ move · ←→ choose · Ctrl-S save / Ctrl-L load a template · Esc cancel"
                    .into(),
                t.fg(Role::Muted),
            ));
        }
        lay_out(area, 96, rows)
    }

    /// The fields in `area`, scrolled so the focused one shows.
    fn draw_fields(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        let t = ctx.theme;
        let h = usize::from(area.height).max(1);
        let first = self.focus.min(FIELDS.len() - 1).saturating_sub(h - 1);
        for (y, (i, (name, kind))) in (area.y..).zip(FIELDS.iter().enumerate().skip(first).take(h))
        {
            let focused = self.focus == i;
            let label = Span::styled(
                format!(" {name:<25}"),
                if focused {
                    t.fg(Role::Accent)
                } else {
                    t.fg(Role::Muted)
                },
            );
            let row = Rect::new(area.x, y, area.width, 1);
            if let Kind::Choice(opts) = kind {
                let mut spans = vec![label];
                for (k, o) in opts.iter().enumerate() {
                    let st = match (k == self.choice[i], focused) {
                        (true, true) => t.selection(),
                        (true, false) => t.fg(Role::Accent),
                        _ => t.fg(Role::Muted),
                    };
                    spans.push(Span::styled(format!(" {o} "), st));
                }
                f.render_widget(Paragraph::new(Line::from(spans)), row);
                continue;
            }
            f.render_widget(Paragraph::new(Line::from(label)), row);
            let x = area.x + INPUT_AT.min(area.width);
            let w = INPUT_W.min(area.width.saturating_sub(INPUT_AT + 1));
            f.render_widget(&self.inputs[i], Rect::new(x, y, w, 1));
            // A mark beside the field; the whole problem is said under the form.
            let after = match (self.error(i), i) {
                (Some(_), _) => Span::styled(" ✗ see below", t.fg(Role::Critical)),
                (None, at::ARGS) => Span::styled(
                    format!(" {} argument(s)", self.arg_count()),
                    t.fg(Role::Muted),
                ),
                _ => Span::raw(""),
            };
            let ax = x + w;
            f.render_widget(
                Paragraph::new(Line::from(after)),
                Rect::new(ax, y, (area.x + area.width).saturating_sub(ax), 1),
            );
        }
    }

    /// A key, with the action the form layer gives it (none while a field takes the text).
    pub fn key(&mut self, key: KeyEvent, action: Option<Action>) -> Handled {
        if self.pending {
            return Handled::Consumed(Ask::Nothing);
        }
        let n = FIELDS.len();
        if self.preview.is_some() {
            match (action, key.code) {
                (Some(Action::Confirm), _) | (_, KeyCode::Enter) => match self.spec() {
                    Ok(spec) => {
                        self.pending = true;
                        self.out.command = Some(JobCommand::Submit(Box::new(spec)));
                    }
                    Err(e) => self.note = Some(e),
                },
                (Some(Action::Close), _) => self.preview = None,
                _ => {}
            }
            return Handled::Consumed(Ask::Nothing);
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let submit = action == Some(Action::Confirm)
            || (key.code == KeyCode::Enter && self.focus == n && !ctrl);
        match key.code {
            _ if action == Some(Action::Close) => {
                self.out.say(false, "nothing was submitted");
                return Handled::Consumed(Ask::Close);
            }
            _ if matches!(action, Some(Action::NextField | Action::Down)) => {
                self.focus_on((self.focus + 1) % (n + 1))
            }
            _ if matches!(action, Some(Action::PrevField | Action::Up)) => {
                self.focus_on((self.focus + n) % (n + 1))
            }
            KeyCode::Char('s') if ctrl => {
                self.note = Some(match self.save_template() {
                    Ok(p) => format!("template saved: {}", p.display()),
                    Err(e) => format!("not saved: {e}"),
                });
            }
            KeyCode::Char('l') if ctrl => {
                self.note = Some(match self.load_next_template() {
                    Ok(p) => format!("template loaded: {}", p.display()),
                    Err(e) => e,
                });
            }
            _ if submit => match self.spec() {
                Ok(spec) => {
                    self.preview = Some(if self.slurm {
                        crate::slurm::sbatch::sbatch_command(&spec)
                    } else {
                        crate::cm::codec::encode(
                            &crate::cm::proto::Request::Submit(spec).to_frame(),
                        )
                    });
                    self.note = None;
                }
                Err(e) => self.note = Some(format!("not sent: {e}")),
            },
            KeyCode::Enter => self.focus_on((self.focus + 1) % (n + 1)),
            KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if self.focus < n => {
                if let Kind::Choice(opts) = FIELDS[self.focus].1 {
                    let c = &mut self.choice[self.focus];
                    *c = if key.code == KeyCode::Left {
                        (*c + opts.len() - 1) % opts.len()
                    } else {
                        (*c + 1) % opts.len()
                    };
                } else {
                    self.inputs[self.focus].input(key);
                }
            }
            _ if self.text_focused() => {
                self.inputs[self.focus].input(key);
            }
            _ => {}
        }
        Handled::Consumed(Ask::Nothing)
    }
}

impl Component for SubmitForm {
    fn layer(&self) -> Layer {
        Layer::Form
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        let laid = self.layout(ctx, area);
        draw_laid(ctx, f, &laid, " Submit a job ");
        if let Some(r) = laid.slots().first() {
            self.draw_fields(ctx, f, *r);
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
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn press(f: &mut SubmitForm, code: KeyCode, action: Option<Action>) -> Handled {
        f.key(KeyEvent::new(code, KeyModifiers::NONE), action)
    }

    #[test]
    fn tabbing_to_a_number_and_typing_replaces_it() {
        let mut f = SubmitForm::new(PathBuf::from("/nonexistent"));
        for _ in 0..at::TOTAL {
            press(&mut f, KeyCode::Tab, Some(Action::NextField));
        }
        assert_eq!(f.focus, at::TOTAL);
        press(&mut f, KeyCode::Char('8'), None);
        assert_eq!(text(&f.inputs[at::TOTAL]), "8", "not 18");
        // Submitting with an error says which field and what, and sends nothing.
        press(&mut f, KeyCode::Enter, Some(Action::Confirm));
        assert_eq!(
            f.note.as_deref(),
            Some("not sent: Executing File: required")
        );
        assert!(f.preview.is_none() && f.out.command.is_none());
        // Esc closes, saying nothing was submitted.
        assert_eq!(
            press(&mut f, KeyCode::Esc, Some(Action::Close)),
            Handled::Consumed(Ask::Close)
        );
        assert_eq!(
            f.out.message,
            Some((false, "nothing was submitted".to_string()))
        );
    }

    #[test]
    fn the_output_note_and_the_nodes_show_in_the_form() {
        let mut f = SubmitForm::new(PathBuf::from("/nonexistent"));
        f.inputs[1] = crate::tui::jobs::dialogs::field("", "/bin/true");
        assert!(f.runs_on().contains("no node list yet"));
        f.nodes = vec![crate::cm::proto::NodeInfo {
            name: "rack12-compute-node-0042.site1".into(),
            up: true,
            cpus: 8,
            load1: 0.1,
            runqueue: 0,
            mem_total_kb: 1 << 20,
            mem_free_kb: 1 << 20,
            procs: 1,
        }];
        assert!(
            f.runs_on()
                .starts_with("would run on rack12-compute-node-0042.site1 ("),
            "{}",
            f.runs_on()
        );
        assert!(OUTPUT_KEPT.contains("read it from Jobs"));
    }
}
