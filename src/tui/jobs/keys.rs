//! Keys in job control: list keys go through the keymap's actions (so read-only mode and user
//! keymaps apply); the pager and the dialogs take theirs as components, a focused text field
//! taking plain characters first.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::dialogs::{KillDialog, LoginDialog, MigrateDialog};
use super::form::SubmitForm;
use super::power_dialog::{PowerDialog, PowerNode};
use super::{JobScreen, JobsUi, Modal, ProcSort};
use crate::jobs::{JobCommand, LinkState};
use crate::tui::action::Action;
use crate::tui::component::{Ask, Handled};

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

    /// A key, with the action the keymap gives it (the component's `on_key` maps the outcome
    /// to what it asks of the app).
    pub fn key(&mut self, key: KeyEvent, action: Option<Action>) -> Outcome {
        if self.modal.is_some() {
            return self.modal_key(key, action);
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
        let page = self.page.get().max(1);
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
                } else if self.screen == JobScreen::Detail {
                    self.screen = self.detail_from;
                    self.selected = 0;
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
            Action::Partitions | Action::SchedNodes if !self.is_slurm() => {
                return Outcome::Say(
                    true,
                    "partitions and nodes are Slurm's: this is a central manager".into(),
                );
            }
            Action::Partitions | Action::SchedNodes => {
                self.screen = if a == Action::Partitions {
                    JobScreen::Partitions
                } else {
                    JobScreen::Nodes
                };
                self.selected = 0;
                self.scroll = 0;
                self.filter = None;
            }
            Action::JobDetail => return self.open_detail(),
            Action::Expand => return self.toggle_expand(),
            Action::Tag if self.screen == JobScreen::Processes => {
                if let Some(t) = self.selected_target() {
                    let k = (t.node, t.pid);
                    if !self.tagged.remove(&k) {
                        self.tagged.insert(k);
                    }
                    mv(&mut self.selected, 1);
                }
            }
            Action::Tag if self.screen == JobScreen::Nodes => {
                if let Some(name) = self.selected_node() {
                    if !self.tagged_nodes.remove(&name) {
                        self.tagged_nodes.insert(name);
                    }
                    mv(&mut self.selected, 1);
                }
            }
            Action::PowerUp | Action::PowerDown if !self.read_only => {
                if !self.is_slurm() {
                    return Outcome::Say(
                        true,
                        "power saving is Slurm's: a central manager's nodes come and go by its \
                         provision and release commands"
                            .into(),
                    );
                }
                if self.screen != JobScreen::Nodes {
                    return Outcome::Say(true, "select nodes in Slurm's nodes table (N)".into());
                }
                let names: Vec<String> = if self.tagged_nodes.is_empty() {
                    self.selected_node().into_iter().collect()
                } else {
                    self.tagged_nodes.iter().cloned().collect()
                };
                if names.is_empty() {
                    return Outcome::Say(true, "no node selected".into());
                }
                return self.open_power(a == Action::PowerUp, names);
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
                if self.is_slurm() {
                    let me = self.login.as_ref().map_or("", |l| l.0.as_str()).to_string();
                    let d =
                        super::slurm_dialog::SlurmJobDialog::new(self.slurm_targets(&targets), &me);
                    self.modal = Some(Modal::Slurm(Box::new(d)));
                    return Outcome::Handled;
                }
                let foreign = self.foreign_owners(&targets);
                let d = KillDialog::new(targets, foreign);
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
                // Slurm: a running job is requeued, a pending one only pinned; the dialog names
                // the job as Slurm does and says whether it is one array task or several.
                let row = self
                    .visible_procs()
                    .get(self.selected)
                    .map(|p| (p.job.clone(), p.state));
                let (requeue, subject) = match row.filter(|_| self.is_slurm()) {
                    Some((label, state)) => {
                        let what = if let Some((_, tasks)) = label.split_once("_[") {
                            let n =
                                crate::slurm::jobs::task_indices(tasks.trim_end_matches(']')).len();
                            format!("job {label} (all {n} of its pending tasks)")
                        } else if label.contains('_') {
                            format!("job {label} (this array task only)")
                        } else {
                            format!("job {label}")
                        };
                        (state != 'P', Some(what))
                    }
                    None => (false, None),
                };
                let mut d = MigrateDialog::new(target, nodes, self.node_states.clone(), requeue);
                d.subject = subject;
                self.modal = Some(Modal::Migrate(Box::new(d)));
            }
            Action::Submit if !self.read_only => {
                if let Some(o) = self.needs_login() {
                    return o;
                }
                let mut form = SubmitForm::new(self.templates.clone());
                form.nodes = self.nodes.clone();
                form.slurm = matches!(self.manager.kind, crate::jobs::BackendKind::Slurm { .. });
                self.modal = Some(Modal::Submit(Box::new(form)));
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

    /// The Slurm job on the selected row of the monitor or the results.
    fn selected_label(&self) -> Option<String> {
        match self.screen {
            JobScreen::Processes => self
                .visible_procs()
                .get(self.selected)
                .map(|p| p.job.clone()),
            JobScreen::Results => {
                let id = self.visible_jobs().get(self.selected)?.id;
                Some(
                    self.slurm
                        .as_ref()
                        .and_then(|v| v.jobs.iter().find(|j| j.id == id))
                        .map_or_else(|| id.to_string(), |j| j.label()),
                )
            }
            _ => None,
        }
    }

    /// Asks Slurm for everything about the selected job and shows it.
    fn open_detail(&mut self) -> Outcome {
        if !self.is_slurm() {
            return Outcome::Say(
                true,
                "job detail is Slurm's: this is a central manager".into(),
            );
        }
        let Some(label) = self.selected_label().filter(|l| !l.is_empty()) else {
            return Outcome::Say(true, "select a job in the monitor or the results".into());
        };
        self.send(JobCommand::SlurmDetail(label.clone()));
        self.detail = Some((label, Ok(vec![("".into(), "asking Slurm…".into())])));
        self.detail_from = self.screen;
        self.screen = JobScreen::Detail;
        self.selected = 0;
        self.scroll = 0;
        Outcome::Handled
    }

    /// Shows the selected pending array record task by task, or folds it again.
    fn toggle_expand(&mut self) -> Outcome {
        let Some(label) = self.selected_label() else {
            return Outcome::Pass;
        };
        let record = if label.contains("_[") {
            Some(label.clone())
        } else {
            // A task of an expanded record folds its record.
            let array = label.split('_').next().unwrap_or("");
            self.expanded
                .iter()
                .find(|l| l.split("_[").next() == Some(array))
                .cloned()
        };
        let Some(record) = record else {
            return Outcome::Say(false, format!("{label} is not a pending array"));
        };
        if !self.expanded.remove(&record) {
            self.expanded.insert(record.clone());
        }
        self.unfold();
        // The selection stays on the array: its record, or its first task.
        let array = record.split("_[").next().unwrap_or("").to_string();
        if let Some(i) = self
            .visible_procs()
            .iter()
            .position(|p| p.job.split('_').next() == Some(array.as_str()))
        {
            self.selected = i;
        }
        self.keep_visible();
        Outcome::Handled
    }

    /// Keeps the selection on screen (the list showed `page` rows at the last draw).
    pub fn keep_visible(&mut self) {
        let page = self.page.get().max(1);
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + page {
            self.scroll = self.selected + 1 - page;
        }
    }

    /// Opens the pager on a job's stream.
    pub fn open_pager(&mut self, id: u64, stream: &str) {
        self.pager = super::Pager::open(id, stream);
        self.screen = JobScreen::Pager;
        self.poll_pager();
    }

    /// Keys in the pager, from the keymap's pager layer (so `vim.toml` and user keymaps apply).
    /// `None`: not the pager's (help and the rest go to the app).
    fn pager_key(&mut self, key: KeyEvent, action: Option<Action>) -> Option<Outcome> {
        let was = (self.pager.id, self.pager.stream.clone());
        let out = match self.pager.key(key, action) {
            Handled::Ignored => return None,
            Handled::Consumed(Ask::Close) => {
                self.screen = JobScreen::Results;
                Outcome::Handled
            }
            Handled::Consumed(Ask::Say(e, t)) => Outcome::Say(e, t),
            Handled::Consumed(_) => Outcome::Handled,
        };
        // The other stream: read it from its start.
        if (self.pager.id, &self.pager.stream) != (was.0, &was.1) {
            self.poll_pager();
        }
        Some(out)
    }

    /// The Slurm node selected in the nodes table.
    fn selected_node(&self) -> Option<String> {
        self.visible_nodes()
            .get(self.selected)
            .and_then(|cells| cells.first().cloned())
    }

    /// Opens the power dialog for `names` (from the nodes table or `:power`), each with what
    /// the last poll saw of it.
    pub fn open_power(&mut self, up: bool, names: Vec<String>) -> Outcome {
        if self.read_only {
            return Outcome::Say(
                true,
                "read-only: nodes are not powered up or down from here".into(),
            );
        }
        if let Some(o) = self.needs_login() {
            return o;
        }
        let nodes = names
            .into_iter()
            .map(|name| {
                let seen = self
                    .slurm
                    .as_ref()
                    .and_then(|v| v.nodes.iter().find(|n| n.name == name));
                PowerNode {
                    state: seen.map_or_else(|| "not in the last poll".into(), |n| n.state_text()),
                    busy_cpus: seen.map_or(0, |n| n.alloc_cpus),
                    name,
                }
            })
            .collect();
        self.modal = Some(Modal::Power(Box::new(PowerDialog::new(nodes, up))));
        Outcome::Handled
    }

    /// Keys in a dialog or the form: a focused text field takes plain characters first; every
    /// other key goes by the keymap's dialog or form layer. What the dialog leaves in its
    /// outbox is sent to the link and said on the status line.
    fn modal_key(&mut self, key: KeyEvent, action: Option<Action>) -> Outcome {
        let Some(m) = self.modal.as_mut() else {
            return Outcome::Pass;
        };
        let typing = matches!(
            key.code,
            KeyCode::Char(_) | KeyCode::Backspace | KeyCode::Delete
        ) && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
            && m.text_focused();
        let action = if typing { None } else { action };
        let handled = match m {
            Modal::Login(d) => d.key(key, action),
            Modal::Kill(d) => d.key(key, action),
            Modal::Migrate(d) => d.key(key, action),
            Modal::Submit(f) => f.key(key, action),
            Modal::Slurm(d) => d.key(key, action),
            Modal::Power(d) => d.key(key, action),
        };
        let out = std::mem::take(m.outbox());
        if let Some(c) = out.command {
            self.send(c);
        }
        if handled == Handled::Consumed(Ask::Close) {
            self.modal = None;
        }
        match out.message {
            Some((error, text)) => Outcome::Say(error, text),
            None => Outcome::Handled,
        }
    }
}
