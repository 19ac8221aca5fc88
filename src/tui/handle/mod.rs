//! Keys and mouse: key → action (through the keymap of the layer of what has the keys) → the
//! component that has them, which changes itself and asks the app for the rest (`Ask`); what
//! the view in sight leaves is the app's own action.

use std::time::{Duration, Instant};

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use crate::history::Range;
use crate::tui::action::Action;
use crate::tui::app::{App, Effect, Level, LineInput, Mode};
use crate::tui::command::{self, Candidates, Command};
use crate::tui::component::{Ask, Component, Goto, Handled, JobsView};
use crate::tui::filter::Filter;
use crate::tui::theme::{Theme, no_color_requested};
use crate::tui::views::cluster_view;
use crate::tui::widgets::chrome;

const DOUBLE_CLICK: Duration = Duration::from_millis(400);

mod asks;
mod focus;
mod line;
mod mouse;

impl App {
    fn body(&self) -> Rect {
        chrome::screen(Rect::new(0, 0, self.size.0, self.size.1)).body
    }

    /// Handles a key press: Ctrl-C and Ctrl-Z first, whatever is open; then the line being
    /// typed; then what is on top (overlay, list, job control) in its own keymap layer; then
    /// the view in sight, and what it ignores the app. The series views draw are read
    /// afterwards, if what they show changed.
    pub fn on_key(&mut self, key: KeyEvent) -> Effect {
        let e = self.on_key_inner(key);
        self.prepare_graphs();
        e
    }

    fn on_key_inner(&mut self, key: KeyEvent) -> Effect {
        if key.kind == KeyEventKind::Release {
            return Effect::None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            match key.code {
                KeyCode::Char('c') => return Effect::Quit,
                KeyCode::Char('z') => return Effect::Suspend,
                _ => {}
            }
        }
        match &self.mode {
            Mode::Command(_) => return self.command_key(key),
            Mode::Filter(_) => return self.filter_key(key),
            Mode::Normal => {}
        }
        if let Some(mut o) = self.overlay.take() {
            let action = self.keymap.action_in(o.layer(), &key);
            let handled = o.on_key(&self.ctx(), key, action);
            self.overlay = Some(o);
            return self.after_component(action, handled);
        }
        if let Some(mut p) = self.panel.take() {
            let action = self.keymap.action_in(p.layer(), &key);
            let handled = p.on_key(&self.ctx(), key, action);
            self.panel = Some(p);
            return self.after_component(action, handled);
        }
        if let Some(i) = self.jobs_open.filter(|i| *i < self.jobs.len()) {
            // Job control takes the key first; what it ignores (help, the command line,
            // problems, quitting from its top screen) is the app's. Taken out while it does,
            // as the overlays are, since the context it is given lends every job control.
            let mut j = self.jobs.remove(i);
            let action = self.keymap.action_in(j.layer(), &key);
            let handled = j.on_key(&self.ctx(), key, action);
            self.jobs.insert(i, j);
            return match handled {
                Handled::Consumed(Ask::Nothing) => {
                    // The operator acted: what was said before is about the screen before.
                    if action.is_some() {
                        self.message = None;
                    }
                    Effect::Redraw
                }
                Handled::Consumed(Ask::Close) => {
                    self.jobs[i].host_scope = None;
                    self.jobs_open = None;
                    Effect::Redraw
                }
                Handled::Consumed(Ask::Say(error, text)) => {
                    if error {
                        self.complain(text);
                    } else {
                        self.say(text);
                    }
                    Effect::Redraw
                }
                Handled::Consumed(ask) => self.do_ask(ask),
                Handled::Ignored => match action {
                    Some(a) => {
                        self.message = None;
                        self.act(a)
                    }
                    None => Effect::None,
                },
            };
        }
        let Some(action) = self.keymap.action_in(self.view().layer(), &key) else {
            return Effect::None;
        };
        self.message = None;
        self.act_inner(key, action)
    }

    /// What follows a component's answer to a key: the message goes when the operator acted
    /// (unless the component said something), and what it asked is done.
    fn after_component(&mut self, action: Option<Action>, handled: Handled) -> Effect {
        match handled {
            Handled::Consumed(ask) => {
                if action.is_some() && !matches!(ask, Ask::Say(..)) {
                    self.message = None;
                }
                self.do_ask(ask)
            }
            Handled::Ignored => Effect::None,
        }
    }

    /// Closes what is on top: the overlay, else the list.
    fn close_top(&mut self) {
        if self.overlay.take().is_none() {
            self.panel = None;
        }
    }

    /// Does what the component on top asked.
    pub fn do_ask(&mut self, ask: Ask) -> Effect {
        match ask {
            Ask::Nothing => {}
            Ask::Close => self.close_top(),
            Ask::Quit => return Effect::Quit,
            Ask::PollNow => return Effect::PollNow,
            Ask::Say(true, t) => self.complain(t),
            Ask::Say(false, t) => self.say(t),
            Ask::Open(a) => {
                self.close_top();
                return self.act(a);
            }
            Ask::Go(to) => {
                self.close_top();
                self.go(to);
            }
            Ask::Export => return Effect::Export,
            Ask::EditFilter => self.edit_filter(),
            Ask::Jobs {
                open,
                cluster,
                host,
            } => {
                let a = match open {
                    JobsView::Processes => Action::Processes,
                    JobsView::Results => Action::JobResults,
                    JobsView::Submit => Action::Submit,
                };
                self.open_jobs_for(cluster, host, a);
            }
            Ask::Tag { cluster, host } => self.tag(&cluster, &host),
            Ask::ColourBy(by) => self.colour_by(by),
            Ask::Processes { cluster, host } => {
                self.close_top();
                if self.open_host(&format!("{cluster}/{host}")) {
                    self.open_jobs_for(Some(cluster), Some(host), Action::Processes);
                } else {
                    self.complain(format!("{host} is no longer in {cluster}"));
                }
            }
        }
        Effect::Redraw
    }

    /// Goes where a list or a view pointed (leaving job control).
    fn go(&mut self, to: Goto) {
        if let Some(j) = self.jobs_open.and_then(|i| self.jobs.get_mut(i)) {
            j.host_scope = None;
        }
        self.jobs_open = None;
        match to {
            Goto::Cluster(c) => {
                if !self.open_cluster(&c) {
                    self.complain(format!("{c} is no longer in the grid"));
                }
            }
            Goto::ClusterMatching { cluster, filter } => {
                if self.open_cluster(&cluster) {
                    if let Some(c) = &mut self.cluster {
                        c.filter = Filter::new(&filter).ok();
                    }
                    self.rebuild();
                } else {
                    self.complain(format!("{cluster} is no longer in the grid"));
                }
            }
            Goto::Host { cluster, host } => {
                if !self.open_host(&format!("{cluster}/{host}")) {
                    self.complain(format!("{host} is no longer in {cluster}"));
                }
            }
            Goto::Source(name) => {
                let at = self
                    .snap
                    .sources
                    .iter()
                    .position(|s| *s.name == *name)
                    .unwrap_or(0);
                self.open_sources(at);
            }
            Goto::Events { host, template } => self.open_events(host, template),
            Goto::Job { cluster, id } => {
                self.open_jobs_for(Some(cluster), None, Action::JobResults);
                if let Some(j) = self.jobs_open.and_then(|i| self.jobs.get_mut(i))
                    && let Some(pos) = j.visible_jobs().iter().position(|s| s.id == id)
                {
                    j.selected = pos;
                }
            }
        }
    }

    /// Carries out an action as if its key was pressed on the monitor, then reads the series
    /// views draw if what they show changed.
    pub fn act(&mut self, a: Action) -> Effect {
        let e = self.act_inner(KeyEvent::from(KeyCode::Null), a);
        self.prepare_graphs();
        e
    }

    /// An action for the view in sight first (its own: moving, drilling in, sorting, tags,
    /// graphs, job control of what it shows), then, when the view leaves it, for the app.
    fn act_inner(&mut self, key: KeyEvent, a: Action) -> Effect {
        match self.view_key(key, Some(a)) {
            Handled::Consumed(ask) => self.do_view_ask(ask),
            Handled::Ignored => self.app_action(a),
        }
    }

    /// Does what the view in sight asked: closing it goes up a level, going somewhere leaves
    /// what is over it alone.
    fn do_view_ask(&mut self, ask: Ask) -> Effect {
        match ask {
            Ask::Close if self.host.is_some() => self.host = None,
            Ask::Close => self.to_grid(),
            Ask::Go(to) => self.go(to),
            ask => return self.do_ask(ask),
        }
        Effect::Redraw
    }

    /// The actions that are the app's wherever the operator is: lists, overlays, the command
    /// line, ranges, polling, quitting.
    fn app_action(&mut self, a: Action) -> Effect {
        match a {
            Action::Quit => return Effect::Quit,
            Action::Problems => {
                let p = crate::tui::lists::problems::ProblemsList::new(&self.ctx());
                self.panel = Some(Box::new(p));
            }
            Action::Top => {
                let by = crate::triage::top::TopBy::Load;
                let p = crate::tui::lists::top::TopList::new(&self.ctx(), by);
                self.panel = Some(Box::new(p));
            }
            Action::Events => {
                let host = self
                    .host
                    .as_ref()
                    .map(|h| (h.cluster.clone(), h.host.clone()));
                self.open_events(host, None);
            }
            Action::Help => self.open_help(),
            Action::Legend => self.open_legend(),
            Action::Sources => self.open_sources(0),
            Action::Command => self.mode = Mode::Command(LineInput::default()),
            Action::Filter => self.edit_filter(),
            Action::Refresh => {
                self.say("polling every source now…");
                return Effect::PollNow;
            }
            Action::RangeHour => self.set_range(Range::Hour),
            Action::RangeDay => self.set_range(Range::Day),
            Action::RangeWeek => self.set_range(Range::Week),
            Action::RangeMonth => self.set_range(Range::Month),
            Action::RangeYear => self.set_range(Range::Year),
            Action::Monitor => self.to_grid(),
            Action::Kill | Action::Migrate => {
                self.complain("open the process monitor (p) first");
            }
            Action::PowerUp | Action::PowerDown => {
                self.complain("open Slurm's nodes table (p, then N), or :power up|down NODE…");
            }
            // Closing, pager and dialog actions mean nothing on the monitor; the rest are the
            // views' (see their `on_key`).
            Action::Close
            | Action::Follow
            | Action::OtherStream
            | Action::FindNext
            | Action::Confirm
            | Action::NextField
            | Action::PrevField
            | Action::SignalTerm
            | Action::SignalKill
            | Action::WholeArray
            | Action::BatchShell
            | Action::Partitions
            | Action::SchedNodes
            | Action::JobDetail
            | Action::Expand
            | Action::Drill
            | Action::Back
            | Action::Sort
            | Action::ColorBy
            | Action::Tag
            | Action::Overlay
            | Action::ExportGraph
            | Action::Processes
            | Action::JobResults
            | Action::Submit
            | Action::Up
            | Action::Down
            | Action::Left
            | Action::Right
            | Action::PageUp
            | Action::PageDown
            | Action::First
            | Action::Last => {}
        }
        Effect::Redraw
    }

    /// Opens the events view: of a host when given, with a template open when given.
    fn open_events(&mut self, host: Option<(String, String)>, template: Option<u32>) {
        use crate::tui::lists::events::{EventsList, HostScope};
        let scope = host.map(|(cluster, host)| {
            let ip = self
                .snap
                .cluster(&cluster)
                .and_then(|cv| cv.cluster.hosts.iter().find(|h| *h.name == *host))
                .map(|h| h.ip.to_string())
                .unwrap_or_default();
            HostScope { cluster, host, ip }
        });
        let p = EventsList::new(&self.ctx(), scope, template);
        self.panel = Some(Box::new(p));
    }

    fn set_range(&mut self, r: Range) {
        self.range = r;
        self.say(format!("graphs over the last {}", r.as_str()));
    }

    /// Opens job control for `cluster` (or the catch-all manager), scoped to `host` when given:
    /// that host's processes, busiest first, the busiest selected.
    fn open_jobs_for(&mut self, cluster: Option<String>, host: Option<String>, a: Action) {
        use crate::tui::jobs::{JobScreen, ProcSort};
        let found = self
            .jobs
            .iter()
            .position(|j| cluster.as_deref().is_some_and(|c| j.cluster == c));
        let found = found.or_else(|| self.jobs.iter().position(|j| j.cluster == "*"));
        let Some(i) = found else {
            self.complain(match cluster {
                Some(c) => {
                    format!("no central manager is configured for {c} ([[manager]] in config.toml)")
                }
                None => "no central manager is configured ([[manager]] in config.toml)".into(),
            });
            return;
        };
        self.jobs_open = Some(i);
        let j = &mut self.jobs[i];
        j.screen = if a == Action::JobResults {
            JobScreen::Results
        } else {
            JobScreen::Processes
        };
        j.selected = 0;
        j.scroll = 0;
        j.filter = None;
        if host.is_some() {
            j.sort = ProcSort::Cpu;
        }
        j.host_scope = host;
        if j.login.is_none() && j.modal.is_none() {
            j.open_login();
        }
        if a == Action::Submit && j.login.is_some() {
            let _ = j.key(
                crossterm::event::KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE),
                Some(Action::Submit),
            );
        }
        j.send(crate::jobs::JobCommand::Refresh);
    }
}
