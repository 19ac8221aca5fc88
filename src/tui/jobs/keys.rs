//! Keys in job control: list keys go through the keymap's actions (so read-only mode and user
//! keymaps apply); dialogs read keys directly, because they take text.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::dialogs::{self, KillDialog, LoginDialog, MigrateDialog, text};
use super::form::{FIELDS, Kind, SubmitForm};
use super::{JobScreen, JobsUi, Modal, ProcSort};
use crate::cm::job::Signal;
use crate::jobs::{JobCommand, LinkState};
use crate::tui::action::Action;

/// What a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Taken care of; redraw.
    Handled,
    /// Leave job control.
    Close,
    /// Not for job control (help, quit, …).
    Pass,
    /// Taken care of, with a status-line message (error?, text).
    Say(bool, String),
}

impl JobsUi {
    /// Opens the login dialog (filled with the configured user).
    pub fn open_login(&mut self) {
        let user = self
            .manager
            .user
            .clone()
            .unwrap_or_else(|| std::env::var("USER").unwrap_or_default());
        self.modal = Some(Modal::Login(Box::new(LoginDialog::new(
            &user,
            self.manager.login_hint.clone(),
        ))));
    }

    fn logged_in(&self) -> bool {
        self.login.is_some()
    }

    fn needs_login(&mut self) -> Option<Outcome> {
        if self.logged_in() {
            return None;
        }
        if matches!(self.state, LinkState::Down(_) | LinkState::Connecting(_)) {
            return Some(Outcome::Say(
                true,
                "the central manager is not reachable".into(),
            ));
        }
        self.open_login();
        Some(Outcome::Handled)
    }

    /// A key, with the action the keymap gives it.
    pub fn on_key(&mut self, key: KeyEvent, action: Option<Action>) -> Outcome {
        if let Some(m) = self.modal.take() {
            let (keep, out) = self.modal_key(m, key, action);
            if let Some(m) = keep {
                self.modal = Some(m);
            }
            return out;
        }
        if self.screen == JobScreen::Pager
            && let Some(o) = self.pager_key(key, action)
        {
            return o;
        }
        if let Some(f) = &mut self.filter_input {
            match key.code {
                KeyCode::Enter | KeyCode::Esc => {
                    let t = std::mem::take(f);
                    self.filter_input = None;
                    if key.code == KeyCode::Esc || t.is_empty() {
                        self.filter = None;
                        return Outcome::Handled;
                    }
                    return match crate::tui::filter::Filter::new(&t) {
                        Ok(f) => {
                            self.filter = Some(f);
                            self.selected = 0;
                            self.scroll = 0;
                            Outcome::Handled
                        }
                        Err(e) => Outcome::Say(true, e),
                    };
                }
                KeyCode::Backspace => {
                    f.pop();
                }
                KeyCode::Char(c) => f.push(c),
                _ => {}
            }
            return Outcome::Handled;
        }
        let Some(a) = action else {
            return Outcome::Handled;
        };
        let rows = self.rows();
        let page = 10usize;
        let mv = |s: &mut usize, d: isize| {
            *s = (*s as isize + d).clamp(0, rows.saturating_sub(1) as isize) as usize;
        };
        match a {
            Action::Up => mv(&mut self.selected, -1),
            Action::Down => mv(&mut self.selected, 1),
            Action::PageUp => mv(&mut self.selected, -(page as isize)),
            Action::PageDown => mv(&mut self.selected, page as isize),
            Action::First => self.selected = 0,
            Action::Last => self.selected = rows.saturating_sub(1),
            Action::Back => {
                if self.filter.is_some() {
                    self.filter = None;
                } else if self.screen == JobScreen::Pager {
                    self.screen = JobScreen::Results;
                } else {
                    return Outcome::Close;
                }
            }
            Action::Monitor => return Outcome::Close,
            Action::Filter => self.filter_input = Some(String::new()),
            Action::Sort => {
                self.sort = match self.sort {
                    ProcSort::Cpu => ProcSort::Memory,
                    ProcSort::Memory => ProcSort::Node,
                    ProcSort::Node => ProcSort::Cpu,
                };
            }
            Action::Refresh => self.send(JobCommand::Refresh),
            // Each list has its own filter: switching clears it.
            Action::Processes => {
                self.screen = JobScreen::Processes;
                self.selected = 0;
                self.filter = None;
            }
            Action::JobResults => {
                self.screen = JobScreen::Results;
                self.selected = 0;
                self.filter = None;
            }
            Action::Tag if self.screen == JobScreen::Processes => {
                if let Some(t) = self.selected_target() {
                    let k = (t.node, t.pid);
                    if !self.tagged.remove(&k) {
                        self.tagged.insert(k);
                    }
                    mv(&mut self.selected, 1);
                }
            }
            Action::Kill if !self.read_only => {
                if let Some(o) = self.needs_login() {
                    return o;
                }
                if self.screen != JobScreen::Processes {
                    return Outcome::Say(
                        true,
                        "select processes in the process monitor (p)".into(),
                    );
                }
                let targets = self.targets();
                if targets.is_empty() {
                    return Outcome::Say(true, "no process selected".into());
                }
                let foreign = self.foreign_owners(&targets);
                let mut d = KillDialog::new(targets, foreign);
                d.whole_job = matches!(self.manager.kind, crate::jobs::BackendKind::Slurm { .. });
                self.modal = Some(Modal::Kill(Box::new(d)));
            }
            Action::Migrate if !self.read_only => {
                if let Some(o) = self.needs_login() {
                    return o;
                }
                let Some(target) = self
                    .selected_target()
                    .filter(|_| self.screen == JobScreen::Processes)
                else {
                    return Outcome::Say(
                        true,
                        "select a process in the process monitor (p)".into(),
                    );
                };
                let nodes: Vec<_> = self
                    .nodes
                    .iter()
                    .filter(|n| n.name != target.node)
                    .cloned()
                    .collect();
                if nodes.is_empty() {
                    return Outcome::Say(true, "no other node to migrate to".into());
                }
                let selected = nodes
                    .iter()
                    .position(|n| n.up && !dialogs::overloaded(n))
                    .unwrap_or(0);
                self.modal = Some(Modal::Migrate(MigrateDialog {
                    target,
                    nodes,
                    selected,
                    confirming: false,
                    pending: false,
                    result: None,
                    states: self.node_states.clone(),
                    requeue: matches!(self.manager.kind, crate::jobs::BackendKind::Slurm { .. }),
                }));
            }
            Action::Submit if !self.read_only => {
                if let Some(o) = self.needs_login() {
                    return o;
                }
                self.modal = Some(Modal::Submit(Box::new(SubmitForm::new(
                    self.templates.clone(),
                ))));
            }
            Action::Drill => match self.screen {
                JobScreen::Results => {
                    if let Some(j) = self.visible_jobs().get(self.selected) {
                        self.open_pager(j.id, "out");
                    }
                }
                _ if !self.logged_in() => {
                    if let Some(o) = self.needs_login() {
                        return o;
                    }
                }
                _ => {}
            },
            _ => return Outcome::Pass,
        }
        self.keep_visible();
        Outcome::Handled
    }

    /// Keeps the selection on screen (the list shows about `page` rows).
    pub fn keep_visible(&mut self) {
        let page = 15;
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + page {
            self.scroll = self.selected + 1 - page;
        }
    }

    /// Opens the pager on a job's stream.
    pub fn open_pager(&mut self, id: u64, stream: &str) {
        self.pager = super::Pager {
            id,
            stream: stream.to_string(),
            follow: true,
            ..Default::default()
        };
        self.screen = JobScreen::Pager;
        self.poll_pager();
    }

    /// Keys in the pager, from the keymap's pager layer (so `vim.toml` and user keymaps apply);
    /// only the search line being typed reads keys directly.
    fn pager_key(&mut self, key: KeyEvent, action: Option<Action>) -> Option<Outcome> {
        let p = &mut self.pager;
        if p.searching {
            match key.code {
                KeyCode::Enter | KeyCode::Esc => p.searching = false,
                KeyCode::Backspace => {
                    p.search.pop();
                }
                KeyCode::Char(c) => p.search.push(c),
                _ => {}
            }
            if key.code == KeyCode::Enter {
                self.find_next();
            }
            return Some(Outcome::Handled);
        }
        let lines = p.text.lines().count();
        let last = lines.saturating_sub(1);
        match action? {
            Action::Close => {
                self.screen = JobScreen::Results;
            }
            Action::Follow => {
                p.follow = !p.follow;
                let state = if p.follow {
                    "following"
                } else {
                    "not following"
                };
                return Some(Outcome::Say(false, format!("{state} the file")));
            }
            Action::OtherStream => {
                let other = if p.stream == "out" { "err" } else { "out" };
                let id = p.id;
                self.open_pager(id, other);
            }
            Action::Filter => {
                p.searching = true;
                p.search.clear();
            }
            Action::FindNext => self.find_next(),
            Action::Up => {
                p.follow = false;
                p.scroll = p.scroll.saturating_sub(1);
            }
            Action::Down => p.scroll = (p.scroll + 1).min(last),
            Action::PageUp => {
                p.follow = false;
                p.scroll = p.scroll.saturating_sub(20);
            }
            Action::PageDown => p.scroll = (p.scroll + 20).min(last),
            Action::First => {
                p.follow = false;
                p.scroll = 0;
            }
            Action::Last => p.scroll = last,
            // Help is the app's.
            _ => return None,
        }
        Some(Outcome::Handled)
    }

    fn find_next(&mut self) {
        let p = &mut self.pager;
        if p.search.is_empty() {
            return;
        }
        let from = p.scroll + 1;
        let found = p
            .text
            .lines()
            .enumerate()
            .skip(from)
            .chain(p.text.lines().enumerate().take(from))
            .find(|(_, l)| l.contains(&p.search))
            .map(|(i, _)| i);
        if let Some(i) = found {
            p.scroll = i;
            p.follow = false;
        }
    }

    /// Keys in a dialog or the form: a focused text field takes plain characters first; every
    /// other key goes by the keymap's dialog or form layer.
    fn modal_key(
        &mut self,
        m: Modal,
        key: KeyEvent,
        action: Option<Action>,
    ) -> (Option<Modal>, Outcome) {
        let typing = matches!(
            key.code,
            KeyCode::Char(_) | KeyCode::Backspace | KeyCode::Delete
        ) && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
            && m.text_focused();
        let action = if typing { None } else { action };
        match m {
            Modal::Login(d) => self.login_key(d, key, action),
            Modal::Kill(d) => self.kill_key(d, key, action),
            Modal::Migrate(d) => self.migrate_key(d, action),
            Modal::Submit(f) => self.submit_key(f, key, action),
        }
    }

    fn login_key(
        &mut self,
        mut d: Box<LoginDialog>,
        key: KeyEvent,
        action: Option<Action>,
    ) -> (Option<Modal>, Outcome) {
        let next = |f: usize| (f + 1) % 4;
        let prev = |f: usize| (f + 3) % 4;
        match (action, key.code) {
            (Some(Action::Close), _) => {
                return (None, Outcome::Say(false, "not logged in".into()));
            }
            (Some(Action::NextField | Action::Down), _) => d.focus = next(d.focus),
            (Some(Action::PrevField | Action::Up), _) => d.focus = prev(d.focus),
            (_, KeyCode::Char(' ')) if d.focus == 2 => d.remember = !d.remember,
            (Some(Action::Confirm), _) if d.focus == 0 => d.focus = 1,
            (Some(Action::Confirm), _) => {
                let user = text(&d.user).trim().to_string();
                let password = text(&d.password);
                if user.is_empty() {
                    d.error = Some("a user name is needed".into());
                    d.focus = 0;
                } else {
                    d.pending = true;
                    d.error = None;
                    self.send(JobCommand::Login {
                        user,
                        password,
                        remember: d.remember,
                    });
                }
            }
            _ => match d.focus {
                0 => {
                    d.user.input(key);
                }
                1 => {
                    d.password.input(key);
                }
                _ => {}
            },
        }
        (Some(Modal::Login(d)), Outcome::Handled)
    }

    fn kill_key(
        &mut self,
        mut d: Box<KillDialog>,
        key: KeyEvent,
        action: Option<Action>,
    ) -> (Option<Modal>, Outcome) {
        if d.results.is_some() {
            return (None, Outcome::Handled);
        }
        let focuses: Vec<usize> = if d.confirm_word.is_some() {
            vec![0, 1, 2, 3]
        } else {
            vec![0, 2, 3]
        };
        let pos = focuses.iter().position(|f| *f == d.focus).unwrap_or(0);
        let hotkey = |s: Signal| Signal::ALL.iter().position(|x| *x == s).unwrap_or(0);
        match (action, key.code) {
            (Some(Action::Close), _) => {
                return (None, Outcome::Say(false, "nothing was signalled".into()));
            }
            // A signal by its hotkey, then straight to what is left to do: the typed
            // confirmation when one is needed, else Send.
            (Some(a @ (Action::SignalTerm | Action::SignalKill)), _) => {
                d.signal = hotkey(if a == Action::SignalKill {
                    Signal::Kill
                } else {
                    Signal::Term
                });
                d.focus = if d.confirmed() { 3 } else { 1 };
            }
            (Some(Action::NextField), _) => d.focus = focuses[(pos + 1) % focuses.len()],
            (Some(Action::PrevField), _) => {
                d.focus = focuses[(pos + focuses.len() - 1) % focuses.len()]
            }
            (Some(Action::Up), _) if d.focus == 0 => d.signal = d.signal.saturating_sub(1),
            (Some(Action::Down), _) if d.focus == 0 => {
                d.signal = (d.signal + 1).min(Signal::ALL.len() - 1)
            }
            (Some(Action::First), _) if d.focus == 0 => d.signal = 0,
            (Some(Action::Last), _) if d.focus == 0 => d.signal = Signal::ALL.len() - 1,
            (_, KeyCode::Left | KeyCode::Right) if d.focus >= 2 => {
                d.focus = if d.focus == 2 { 3 } else { 2 }
            }
            (Some(Action::Confirm), _) if d.focus == 2 => {
                return (None, Outcome::Say(false, "nothing was signalled".into()));
            }
            (Some(Action::Confirm), _) if d.focus == 3 => {
                if !d.confirmed() {
                    let w = d.confirm_word.clone().unwrap_or_default();
                    d.error = Some(format!("type {w} to confirm"));
                    d.focus = 1;
                } else {
                    self.send(JobCommand::Signal {
                        targets: d.targets.clone(),
                        signal: Signal::ALL[d.signal],
                    });
                    d.error = None;
                    d.results = Some(Vec::new());
                    return (Some(Modal::Kill(d)), Outcome::Say(false, "sending…".into()));
                }
            }
            (Some(Action::Confirm), _) => d.focus = focuses[(pos + 1) % focuses.len()],
            _ if d.focus == 1 => {
                d.confirm.input(key);
            }
            _ => {}
        }
        (Some(Modal::Kill(d)), Outcome::Handled)
    }

    fn migrate_key(
        &mut self,
        mut d: MigrateDialog,
        action: Option<Action>,
    ) -> (Option<Modal>, Outcome) {
        if d.result.is_some() {
            return (None, Outcome::Handled);
        }
        if d.pending {
            return (Some(Modal::Migrate(d)), Outcome::Handled);
        }
        let last = d.nodes.len().saturating_sub(1);
        match action {
            Some(Action::Close) if d.confirming => d.confirming = false,
            Some(Action::Close) => {
                return (None, Outcome::Say(false, "nothing was migrated".into()));
            }
            Some(Action::Up) if !d.confirming => d.selected = d.selected.saturating_sub(1),
            Some(Action::Down) if !d.confirming => d.selected = (d.selected + 1).min(last),
            Some(Action::First) if !d.confirming => d.selected = 0,
            Some(Action::Last) if !d.confirming => d.selected = last,
            Some(Action::Confirm) if !d.confirming => match d.nodes.get(d.selected) {
                Some(n) if !n.up => {
                    return (
                        Some(Modal::Migrate(d)),
                        Outcome::Say(true, "that node is down".into()),
                    );
                }
                Some(_) => d.confirming = true,
                None => {}
            },
            Some(Action::Confirm) => {
                if let Some(n) = d.nodes.get(d.selected) {
                    self.send(JobCommand::Migrate {
                        target: d.target.clone(),
                        to: n.name.clone(),
                    });
                    d.pending = true;
                }
            }
            _ => {}
        }
        (Some(Modal::Migrate(d)), Outcome::Handled)
    }

    fn submit_key(
        &mut self,
        mut f: Box<SubmitForm>,
        key: KeyEvent,
        action: Option<Action>,
    ) -> (Option<Modal>, Outcome) {
        if f.pending {
            return (Some(Modal::Submit(f)), Outcome::Handled);
        }
        let n = FIELDS.len();
        if f.preview.is_some() {
            match (action, key.code) {
                (Some(Action::Confirm), _) | (_, KeyCode::Enter) => match f.spec() {
                    Ok(spec) => {
                        f.pending = true;
                        self.send(JobCommand::Submit(Box::new(spec)));
                    }
                    Err(e) => f.note = Some(e),
                },
                (Some(Action::Close), _) => f.preview = None,
                _ => {}
            }
            return (Some(Modal::Submit(f)), Outcome::Handled);
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let submit = action == Some(Action::Confirm)
            || (key.code == KeyCode::Enter && f.focus == n && !ctrl);
        match key.code {
            _ if action == Some(Action::Close) => {
                return (None, Outcome::Say(false, "nothing was submitted".into()));
            }
            _ if action == Some(Action::NextField) || action == Some(Action::Down) => {
                f.focus = (f.focus + 1) % (n + 1)
            }
            _ if action == Some(Action::PrevField) || action == Some(Action::Up) => {
                f.focus = (f.focus + n) % (n + 1)
            }
            KeyCode::Char('s') if ctrl => {
                f.note = Some(match f.save_template() {
                    Ok(p) => format!("template saved: {}", p.display()),
                    Err(e) => format!("not saved: {e}"),
                });
            }
            KeyCode::Char('l') if ctrl => {
                f.note = Some(match f.load_next_template() {
                    Ok(p) => format!("template loaded: {}", p.display()),
                    Err(e) => e,
                });
            }
            _ if submit => match f.spec() {
                Ok(spec) => {
                    let line = match self.manager.kind {
                        crate::jobs::BackendKind::Slurm { .. } => {
                            crate::slurm::sbatch::sbatch_command(&spec)
                        }
                        _ => crate::cm::codec::encode(
                            &crate::cm::proto::Request::Submit(spec).to_frame(),
                        ),
                    };
                    f.preview = Some(line);
                    f.note = None;
                }
                Err(e) => f.note = Some(e),
            },
            KeyCode::Enter => f.focus = (f.focus + 1) % (n + 1),
            KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if f.focus < n => {
                if let Kind::Choice(opts) = FIELDS[f.focus].1 {
                    let c = &mut f.choice[f.focus];
                    *c = if key.code == KeyCode::Left {
                        (*c + opts.len() - 1) % opts.len()
                    } else {
                        (*c + 1) % opts.len()
                    };
                } else {
                    f.inputs[f.focus].input(key);
                }
            }
            _ if f.focus < n && !matches!(FIELDS[f.focus].1, Kind::Choice(_)) => {
                f.inputs[f.focus].input(key);
            }
            _ => {}
        }
        (Some(Modal::Submit(f)), Outcome::Handled)
    }
}
