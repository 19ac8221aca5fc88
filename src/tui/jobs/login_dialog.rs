//! The login dialog: user name, password (masked), "remember me" and Log in.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use tui_textarea::TextArea;

use super::dialogs::{Laid, Outbox, Row, button, draw_laid, field, lay_out, text};
use crate::jobs::JobCommand;
use crate::tui::action::{Action, Layer};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled};
use crate::tui::theme::Role;

/// The login dialog.
pub struct LoginDialog {
    /// User name.
    pub user: TextArea<'static>,
    /// Password, masked.
    pub password: TextArea<'static>,
    /// Keep the password in the OS keyring.
    pub remember: bool,
    /// 0 user, 1 password, 2 remember, 3 Log in.
    pub focus: usize,
    /// The last failure.
    pub error: Option<String>,
    /// Sent, waiting for the answer.
    pub pending: bool,
    /// Shown under the fields (the configured login hint).
    pub hint: Option<String>,
    /// What the last key left for job control.
    pub out: Outbox,
}

impl LoginDialog {
    /// A dialog for `user` (focus on the password when the user is known).
    pub fn new(user: &str, hint: Option<String>) -> Self {
        let mut password = field("password", "");
        password.set_mask_char('•');
        Self {
            user: field("user name", user),
            password,
            remember: false,
            focus: if user.is_empty() { 0 } else { 1 },
            error: None,
            pending: false,
            hint,
            out: Outbox::default(),
        }
    }

    /// The manager refused: say why and ask for the password again.
    pub fn failed(&mut self, why: String) {
        self.pending = false;
        self.error = Some(why);
        self.password = field("password", "");
        self.password.set_mask_char('•');
        self.focus = 1;
    }

    /// Whether a text field has the focus (plain characters are typed into it then).
    pub fn text_focused(&self) -> bool {
        self.focus <= 1
    }

    /// The dialog's rows in `area`: used both to size and to draw it.
    fn layout<'a>(&'a self, ctx: &Ctx<'_>, area: Rect) -> Laid<'a> {
        let t = ctx.theme;
        let focus = |i: usize| {
            if self.focus == i {
                t.fg(Role::Accent)
            } else {
                t.fg(Role::Muted)
            }
        };
        let check = if self.remember { "[x]" } else { "[ ]" };
        let mut rows = vec![
            Row::Field {
                label: Line::from(Span::styled(" user name", focus(0))),
                at: 12,
                input: &self.user,
            },
            Row::Field {
                label: Line::from(Span::styled(" password", focus(1))),
                at: 12,
                input: &self.password,
            },
            Row::Gap,
            Row::Line(Line::from(Span::styled(
                format!(" {check} remember me (OS keyring)"),
                if self.focus == 2 {
                    t.fg(Role::Accent)
                } else {
                    t.fg(Role::Text)
                },
            ))),
            Row::Gap,
            Row::Line(Line::from(vec![
                Span::raw(" "),
                button(ctx, "Log in", self.focus == 3, false),
            ])),
        ];
        if self.pending {
            rows.push(Row::Gap);
            rows.push(Row::Line(Line::from(Span::styled(
                " checking…",
                t.fg(Role::Muted),
            ))));
        } else if let Some(e) = &self.error {
            rows.push(Row::Gap);
            rows.push(Row::Wrap(e.clone(), t.fg(Role::Critical)));
        }
        if let Some(h) = &self.hint {
            rows.push(Row::Gap);
            rows.push(Row::Wrap(h.clone(), t.fg(Role::Muted)));
        }
        lay_out(area, 60, rows)
    }

    /// A key, with the action the dialog layer gives it (none while a field takes the text).
    pub fn key(&mut self, key: KeyEvent, action: Option<Action>) -> Handled {
        let next = |f: usize| (f + 1) % 4;
        let prev = |f: usize| (f + 3) % 4;
        match (action, key.code) {
            (Some(Action::Close), _) => {
                self.out.say(false, "not logged in");
                return Handled::Consumed(Ask::Close);
            }
            (Some(Action::NextField | Action::Down), _) => self.focus = next(self.focus),
            (Some(Action::PrevField | Action::Up), _) => self.focus = prev(self.focus),
            (_, KeyCode::Char(' ')) if self.focus == 2 => self.remember = !self.remember,
            (Some(Action::Confirm), _) if self.focus == 0 => self.focus = 1,
            (Some(Action::Confirm), _) => {
                let user = text(&self.user).trim().to_string();
                if user.is_empty() {
                    self.error = Some("a user name is needed".into());
                    self.focus = 0;
                } else {
                    self.pending = true;
                    self.error = None;
                    self.out.command = Some(JobCommand::Login {
                        user,
                        password: text(&self.password),
                        remember: self.remember,
                    });
                }
            }
            _ => match self.focus {
                0 => {
                    self.user.input(key);
                }
                1 => {
                    self.password.input(key);
                }
                _ => {}
            },
        }
        Handled::Consumed(Ask::Nothing)
    }
}

impl Component for LoginDialog {
    fn layer(&self) -> Layer {
        Layer::Dialog
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        draw_laid(
            ctx,
            f,
            &self.layout(ctx, area),
            " Log in to the central manager ",
        );
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
