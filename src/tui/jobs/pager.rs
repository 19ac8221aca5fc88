//! The pager over a job's output or error file: follows the file as it grows, searches, and
//! moves by the keymap's pager layer (so `vim.toml` and user keymaps apply).

use std::cell::Cell;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Margin, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, ScrollbarState};

use crate::tui::action::{Action, Layer};
use crate::tui::component::{Ask, CommandInfo, Component, Ctx, Handled};
use crate::tui::theme::Role;
use crate::units::human_bytes;

/// The pager over a job's file.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    /// Job.
    pub id: u64,
    /// `out` or `err`.
    pub stream: String,
    /// Text so far.
    pub text: String,
    /// Next byte to ask for.
    pub next: u64,
    /// File size last seen.
    pub size: u64,
    /// Keep asking for more and stay at the end.
    pub follow: bool,
    /// First visible line (while not following).
    pub scroll: usize,
    /// Search text (typing while `searching`).
    pub search: String,
    /// Typing a search.
    pub searching: bool,
    /// A problem reading.
    pub error: Option<String>,
    /// Lines shown at the last draw (for paging). A cache of the frame, not state.
    page: Cell<usize>,
}

impl Pager {
    /// A pager on job `id`'s stream (`out` or `err`), following it.
    pub fn open(id: u64, stream: &str) -> Self {
        Self {
            id,
            stream: stream.to_string(),
            follow: true,
            ..Default::default()
        }
    }

    fn lines(&self) -> usize {
        self.text.lines().count()
    }

    fn page(&self) -> usize {
        self.page.get().max(1)
    }

    /// The first line a full page can start at.
    fn max_top(&self) -> usize {
        self.lines().saturating_sub(self.page())
    }

    /// The first line shown: the end while following.
    pub fn top(&self) -> usize {
        if self.follow {
            self.max_top()
        } else {
            self.scroll.min(self.lines().saturating_sub(1))
        }
    }

    /// New text arrived at the end.
    pub fn append(&mut self, data: &str, next: u64, size: u64) {
        self.text.push_str(data);
        self.next = next;
        self.size = size;
        self.error = None;
    }

    /// Goes to the next line holding the search text, wrapping around.
    pub fn find_next(&mut self) {
        if self.search.is_empty() {
            return;
        }
        let from = self.top() + 1;
        let found = self
            .text
            .lines()
            .enumerate()
            .skip(from)
            .chain(self.text.lines().enumerate().take(from))
            .find(|(_, l)| l.contains(&self.search))
            .map(|(i, _)| i);
        if let Some(i) = found {
            self.scroll = i;
            self.follow = false;
        }
    }

    /// A key, with the action the pager layer gives it. While a search is typed, keys are text.
    pub fn key(&mut self, key: KeyEvent, action: Option<Action>) -> Handled {
        if self.searching {
            match key.code {
                KeyCode::Enter => {
                    self.searching = false;
                    self.find_next();
                }
                KeyCode::Esc => self.searching = false,
                KeyCode::Backspace => {
                    self.search.pop();
                }
                KeyCode::Char(c) => self.search.push(c),
                _ => {}
            }
            return Handled::Consumed(Ask::Nothing);
        }
        let Some(a) = action else {
            return Handled::Ignored;
        };
        let top = self.top();
        let page = self.page();
        // Moving up leaves the end, so following stops; moving down never starts or stops it.
        let up = |p: &mut Pager, line: usize| {
            p.follow = false;
            p.scroll = line;
        };
        let down = |p: &mut Pager, line: usize| p.scroll = line.min(p.max_top());
        match a {
            Action::Close => return Handled::Consumed(Ask::Close),
            Action::Follow => {
                self.follow = !self.follow;
                let state = if self.follow {
                    "following"
                } else {
                    "not following"
                };
                return Handled::Consumed(Ask::Say(false, format!("{state} the file")));
            }
            Action::OtherStream => {
                let other = if self.stream == "out" { "err" } else { "out" };
                *self = Pager::open(self.id, other);
            }
            Action::Filter => {
                self.searching = true;
                self.search.clear();
            }
            Action::FindNext => self.find_next(),
            Action::Up => up(self, top.saturating_sub(1)),
            Action::Down => down(self, top + 1),
            Action::PageUp => up(self, top.saturating_sub(page)),
            Action::PageDown => down(self, top + page),
            Action::First => up(self, 0),
            Action::Last => down(self, usize::MAX),
            // Help and the rest are the app's.
            _ => return Handled::Ignored,
        }
        Handled::Consumed(Ask::Nothing)
    }
}

impl Component for Pager {
    fn layer(&self) -> Layer {
        Layer::Pager
    }

    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect) {
        let t = ctx.theme;
        if area.height == 0 {
            return;
        }
        let search = if self.searching {
            format!(" · search: {}▏", self.search)
        } else if !self.search.is_empty() {
            format!(" · search: {}", self.search)
        } else {
            String::new()
        };
        let head = format!(
            " job {} {} — {} of {}{}{search}",
            self.id,
            if self.stream == "out" {
                "output"
            } else {
                "errors"
            },
            human_bytes(self.next),
            human_bytes(self.size),
            if self.follow { " · following" } else { "" },
        );
        f.render_widget(
            Paragraph::new(head).style(t.fg(Role::Muted).add_modifier(Modifier::BOLD)),
            Rect::new(area.x, area.y, area.width, 1),
        );
        let body = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
        self.page.set(usize::from(body.height));
        if let Some(e) = &self.error {
            f.render_widget(
                Paragraph::new(format!(" {e}"))
                    .style(t.fg(Role::Critical))
                    .wrap(ratatui::widgets::Wrap { trim: false }),
                body,
            );
            return;
        }
        let top = self.top();
        let lines: Vec<Line<'_>> = self
            .text
            .lines()
            .skip(top)
            .take(usize::from(body.height))
            .map(|l| {
                let style = if !self.search.is_empty() && l.contains(&self.search) {
                    t.fg(Role::Accent).add_modifier(Modifier::BOLD)
                } else {
                    t.fg(Role::Text)
                };
                Line::styled(l.replace('\t', "    "), style)
            })
            .collect();
        f.render_widget(Paragraph::new(lines), body.inner(Margin::new(1, 0)));
        if self.lines() > usize::from(body.height) {
            let mut bar = ScrollbarState::new(self.max_top()).position(top);
            f.render_stateful_widget(
                crate::tui::lists::table::scrollbar(!ctx.glyphs.unicode),
                body,
                &mut bar,
            );
        }
    }

    fn on_key(&mut self, _ctx: &Ctx<'_>, key: KeyEvent, action: Option<Action>) -> Handled {
        self.key(key, action)
    }

    fn commands(&self) -> Vec<CommandInfo> {
        vec![
            CommandInfo::on(Action::Help),
            CommandInfo::on(Action::Close),
            CommandInfo::on(Action::Follow),
            CommandInfo::on(Action::OtherStream),
            CommandInfo::on(Action::Filter),
            CommandInfo::on(Action::FindNext),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key() -> KeyEvent {
        KeyEvent::new(KeyCode::Null, KeyModifiers::NONE)
    }

    #[test]
    fn moving_up_stops_following_and_the_end_is_a_full_page() {
        let mut p = Pager::open(1, "out");
        p.append(&"x\n".repeat(50), 100, 100);
        p.page.set(10);
        assert_eq!(p.top(), 40, "following shows the last page");
        p.key(key(), Some(Action::Up));
        assert!(!p.follow);
        assert_eq!(p.top(), 39);
        p.key(key(), Some(Action::First));
        assert_eq!(p.top(), 0);
        p.key(key(), Some(Action::Last));
        assert_eq!(p.top(), 40);
        // Following stays on while moving down at the end.
        p.follow = true;
        p.key(key(), Some(Action::Down));
        assert!(p.follow);
        assert_eq!(p.top(), 40);
        assert_eq!(
            p.key(key(), Some(Action::Close)),
            Handled::Consumed(Ask::Close)
        );
        assert_eq!(p.key(key(), Some(Action::Help)), Handled::Ignored);
    }
}
