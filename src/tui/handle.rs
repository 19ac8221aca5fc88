//! Keys and mouse: key → action (through the keymap) → state change or effect.

use std::time::{Duration, Instant};

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use crate::history::Range;
use crate::tui::action::Action;
use crate::tui::app::{App, Effect, Level, LineInput, Mode, Overlay};
use crate::tui::command::{self, Candidates, Command};
use crate::tui::filter::Filter;
use crate::tui::state::GridRow;
use crate::tui::theme::{Theme, no_color_requested};
use crate::tui::views::{cluster_view, grid_view, host_view};
use crate::tui::widgets::chrome;

const DOUBLE_CLICK: Duration = Duration::from_millis(400);

impl App {
    fn body(&self) -> Rect {
        chrome::screen(Rect::new(0, 0, self.size.0, self.size.1)).body
    }

    /// Handles a key press.
    pub fn on_key(&mut self, key: KeyEvent) -> Effect {
        if key.kind == KeyEventKind::Release {
            return Effect::None;
        }
        match &self.mode {
            Mode::Command(_) => return self.command_key(key),
            Mode::Filter(_) => return self.filter_key(key),
            Mode::Normal => {}
        }
        let action = self.keymap.action_for(&key);
        if self.overlay.is_none()
            && let Some(i) = self.jobs_open
            && let Some(j) = self.jobs.get_mut(i)
        {
            use crate::tui::jobs::keys::Outcome;
            match j.on_key(key, action) {
                Outcome::Handled => return Effect::Redraw,
                Outcome::Close => {
                    self.jobs_open = None;
                    return Effect::Redraw;
                }
                Outcome::Say(error, text) => {
                    if error {
                        self.complain(text);
                    } else {
                        self.say(text);
                    }
                    return Effect::Redraw;
                }
                Outcome::Pass => {}
            }
        }
        let Some(action) = action else {
            return Effect::None;
        };
        self.message = None;
        if let Some(o) = self.overlay {
            return self.overlay_action(o, action);
        }
        self.act(action)
    }

    fn overlay_action(&mut self, o: Overlay, a: Action) -> Effect {
        let scroll = |s: usize, d: isize| (s as isize + d).max(0) as usize;
        self.overlay = match (o, a) {
            (_, Action::Quit) => return Effect::Quit,
            (Overlay::Help { scroll: s }, Action::Down) => Some(Overlay::Help {
                scroll: scroll(s, 1),
            }),
            (Overlay::Help { scroll: s }, Action::Up) => Some(Overlay::Help {
                scroll: scroll(s, -1),
            }),
            (Overlay::Help { scroll: s }, Action::PageDown) => Some(Overlay::Help {
                scroll: scroll(s, 10),
            }),
            (Overlay::Help { scroll: s }, Action::PageUp) => Some(Overlay::Help {
                scroll: scroll(s, -10),
            }),
            (Overlay::Sources { scroll: s }, Action::Down) => Some(Overlay::Sources {
                scroll: scroll(s, 1),
            }),
            (Overlay::Sources { scroll: s }, Action::Up) => Some(Overlay::Sources {
                scroll: scroll(s, -1),
            }),
            (Overlay::Help { .. }, Action::Legend) => Some(Overlay::Legend),
            (Overlay::Legend, Action::Help) => Some(Overlay::Help { scroll: 0 }),
            (_, Action::Refresh) => return Effect::PollNow,
            _ => None,
        };
        Effect::Redraw
    }

    /// Carries out an action.
    pub fn act(&mut self, a: Action) -> Effect {
        let level = self.level();
        match a {
            Action::Quit => return Effect::Quit,
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Legend => self.overlay = Some(Overlay::Legend),
            Action::Sources => self.overlay = Some(Overlay::Sources { scroll: 0 }),
            Action::Command => self.mode = Mode::Command(LineInput::default()),
            Action::Filter => {
                let text = self.filter().map(|f| f.text.clone()).unwrap_or_default();
                self.filter_before = self.filter().map(|f| f.text.clone());
                self.mode = Mode::Filter(LineInput {
                    text,
                    alternatives: Vec::new(),
                });
            }
            Action::Refresh => {
                self.say("polling every source now…");
                return Effect::PollNow;
            }
            Action::ExportGraph => {
                if level == Level::Grid {
                    self.complain("open a cluster or a host to export its graphs");
                } else {
                    return Effect::Export;
                }
            }
            Action::RangeHour => self.set_range(Range::Hour),
            Action::RangeDay => self.set_range(Range::Day),
            Action::RangeWeek => self.set_range(Range::Week),
            Action::RangeMonth => self.set_range(Range::Month),
            Action::RangeYear => self.set_range(Range::Year),
            Action::Monitor => self.to_grid(),
            Action::Back => self.back(),
            Action::Drill => self.drill(),
            Action::Sort => match &mut self.cluster {
                Some(c) if level == Level::Cluster => {
                    c.sort = c.sort.next();
                    let label = c.sort.label();
                    c.rebuild(&self.snap, self.now, &self.bands, self.filters[1].as_ref());
                    self.say(format!("sorted by {label} (down hosts always first)"));
                }
                _ => self.complain("sorting applies to a cluster's hosts"),
            },
            Action::Processes | Action::JobResults | Action::Submit => self.start_jobs(a),
            Action::Tag | Action::Kill | Action::Migrate => {
                self.complain("open the process monitor (p) first");
            }
            Action::Up
            | Action::Down
            | Action::Left
            | Action::Right
            | Action::PageUp
            | Action::PageDown
            | Action::First
            | Action::Last => {
                self.navigate(a);
            }
        }
        Effect::Redraw
    }

    /// Opens job control for the cluster in view (or the selected one on the grid).
    fn start_jobs(&mut self, a: Action) {
        use crate::tui::jobs::JobScreen;
        let cluster = match (&self.cluster, self.grid.current()) {
            (Some(c), _) => Some(c.name.clone()),
            (None, Some(GridRow::Cluster(n))) => Some(n.clone()),
            _ => None,
        };
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
        if j.login.is_none() && j.modal.is_none() {
            j.open_login();
        }
        if a == Action::Submit && j.login.is_some() {
            let _ = j.on_key(
                crossterm::event::KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE),
                Some(Action::Submit),
            );
        }
        j.send(crate::jobs::JobCommand::Refresh);
    }

    fn set_range(&mut self, r: Range) {
        self.range = r;
        self.say(format!("graphs over the last {}", r.as_str()));
    }

    fn back(&mut self) {
        let level = self.level() as usize;
        if self.filters[level].is_some() {
            self.filters[level] = None;
            self.rebuild();
            self.say("filter cleared");
            return;
        }
        match self.level() {
            Level::Host => self.host = None,
            Level::Cluster => self.to_grid(),
            Level::Grid => self.say("this is the top; q leaves"),
        }
    }

    fn drill(&mut self) {
        match self.level() {
            Level::Grid => {
                match self.grid.current().cloned() {
                    Some(GridRow::Cluster(name)) => {
                        self.open_cluster(&name);
                    }
                    Some(GridRow::Remote(name)) => {
                        let auth = self
                            .snap
                            .remote_grids()
                            .find(|g| *g.name == *name)
                            .map(|g| g.authority.to_string())
                            .unwrap_or_default();
                        self.complain(format!("{name} is a remote grid known only by its summary; its hosts are at {auth}"));
                    }
                    None => {}
                }
            }
            Level::Cluster => {
                let target = self.cluster.as_ref().and_then(|c| {
                    let cv = self.snap.cluster(&c.name)?;
                    let t = c.tiles.get(c.selected)?;
                    Some(format!(
                        "{}/{}",
                        c.name, cv.cluster.hosts[t.host as usize].name
                    ))
                });
                if let Some(t) = target {
                    self.open_host(&t);
                }
            }
            Level::Host => {}
        }
    }

    fn navigate(&mut self, a: Action) {
        let body = self.body();
        match self.level() {
            Level::Grid => {
                let n = self.grid.rows.len();
                if n == 0 {
                    return;
                }
                let page = grid_view::visible_rows(self, body);
                let sel = self.grid.selected as isize;
                let target = match a {
                    Action::Up => sel - 1,
                    Action::Down => sel + 1,
                    Action::PageUp => sel - page as isize,
                    Action::PageDown => sel + page as isize,
                    Action::First => 0,
                    Action::Last => n as isize - 1,
                    _ => sel,
                };
                self.grid.selected = target.clamp(0, n as isize - 1) as usize;
                self.grid.moved = true;
                if self.grid.selected < self.grid.scroll {
                    self.grid.scroll = self.grid.selected;
                } else if self.grid.selected >= self.grid.scroll + page {
                    self.grid.scroll = self.grid.selected + 1 - page;
                }
            }
            Level::Cluster => {
                let Some(st) = self.cluster.as_ref() else {
                    return;
                };
                let g = cluster_view::geometry(self, st, body);
                let per_row = g.per_row.max(1) as isize;
                let page = per_row * g.rows.max(1) as isize;
                let sel = st.selected as isize;
                let n = st.tiles.len() as isize;
                let target = match a {
                    Action::Left => sel - 1,
                    Action::Right => sel + 1,
                    Action::Up => sel - per_row,
                    Action::Down => sel + per_row,
                    Action::PageUp => sel - page,
                    Action::PageDown => sel + page,
                    Action::First => 0,
                    Action::Last => n - 1,
                    _ => sel,
                };
                if let Some(st) = self.cluster.as_mut() {
                    st.select(&self.snap, target);
                    st.keep_visible(g.per_row, g.rows);
                }
            }
            Level::Host => {
                let rows = host_view::table_rows(body);
                let total = self
                    .host
                    .as_ref()
                    .and_then(|h| h.find(&self.snap))
                    .map_or(0, |(_, h)| host_view::other_metrics(self, h).len());
                let max = total.saturating_sub(rows);
                if let Some(st) = self.host.as_mut() {
                    let s = st.scroll as isize;
                    let t = match a {
                        Action::Up => s - 1,
                        Action::Down => s + 1,
                        Action::PageUp => s - rows as isize,
                        Action::PageDown => s + rows as isize,
                        Action::First => 0,
                        Action::Last => max as isize,
                        _ => s,
                    };
                    st.scroll = t.clamp(0, max as isize) as usize;
                }
            }
        }
    }

    fn candidates(&self) -> Candidates {
        let mut themes: Vec<String> = Theme::shipped_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Ok(dir) = std::fs::read_dir(&self.theme_dir) {
            for e in dir.flatten() {
                if let Some(stem) = e
                    .path()
                    .file_stem()
                    .filter(|_| e.path().extension().is_some_and(|x| x == "toml"))
                {
                    themes.push(stem.to_string_lossy().into_owned());
                }
            }
        }
        let hosts = match self
            .cluster
            .as_ref()
            .and_then(|c| self.snap.cluster(&c.name))
        {
            Some(cv) => cv
                .cluster
                .hosts
                .iter()
                .map(|h| h.name.to_string())
                .collect(),
            None => self
                .snap
                .clusters()
                .flat_map(|c| c.cluster.hosts.iter().map(|h| h.name.to_string()))
                .take(50_000)
                .collect(),
        };
        Candidates {
            clusters: self
                .snap
                .clusters()
                .map(|c| c.cluster.name.to_string())
                .collect(),
            hosts,
            themes,
        }
    }

    fn command_key(&mut self, key: KeyEvent) -> Effect {
        let Mode::Command(input) = &mut self.mode else {
            return Effect::None;
        };
        match (key.code, key.modifiers) {
            (KeyCode::Esc, _) => self.mode = Mode::Normal,
            (KeyCode::Enter, _) => {
                let line = std::mem::take(&mut input.text);
                self.mode = Mode::Normal;
                return self.run_command(&line);
            }
            (KeyCode::Tab, _) => {
                let text = input.text.clone();
                let (line, alts) = command::complete(&text, &self.candidates());
                if let Mode::Command(input) = &mut self.mode {
                    input.text = line;
                    input.alternatives = if alts.len() > 1 { alts } else { Vec::new() };
                }
            }
            (KeyCode::Backspace, _) => {
                if input.text.pop().is_none() {
                    self.mode = Mode::Normal;
                }
            }
            (KeyCode::Char('u'), KeyModifiers::CONTROL) => input.text.clear(),
            (KeyCode::Char('c'), KeyModifiers::CONTROL) => self.mode = Mode::Normal,
            (KeyCode::Char(c), m) if !m.contains(KeyModifiers::CONTROL) => {
                input.text.push(c);
                input.alternatives.clear();
            }
            _ => return Effect::None,
        }
        Effect::Redraw
    }

    fn filter_key(&mut self, key: KeyEvent) -> Effect {
        let level = self.level() as usize;
        let Mode::Filter(input) = &mut self.mode else {
            return Effect::None;
        };
        match (key.code, key.modifiers) {
            (KeyCode::Esc, _) | (KeyCode::Char('c'), KeyModifiers::CONTROL) => {
                let before = self.filter_before.take();
                self.filters[level] = before.and_then(|t| Filter::new(&t).ok());
                self.mode = Mode::Normal;
                self.rebuild();
                return Effect::Redraw;
            }
            (KeyCode::Enter, _) => {
                self.mode = Mode::Normal;
                self.filter_before = None;
                return Effect::Redraw;
            }
            (KeyCode::Backspace, _) => {
                input.text.pop();
            }
            (KeyCode::Char('u'), KeyModifiers::CONTROL) => input.text.clear(),
            (KeyCode::Char(c), m) if !m.contains(KeyModifiers::CONTROL) => input.text.push(c),
            _ => return Effect::None,
        }
        // The filter applies as it is typed.
        let text = input.text.clone();
        if text.is_empty() || text == "!" {
            self.filters[level] = None;
            self.message = None;
        } else {
            match Filter::new(&text) {
                Ok(f) => {
                    self.filters[level] = Some(f);
                    self.message = None;
                }
                Err(e) => self.complain(e),
            }
        }
        self.rebuild();
        if let Some(h) = self.host.as_mut() {
            h.scroll = 0;
        }
        Effect::Redraw
    }

    /// Runs a `:` command.
    pub fn run_command(&mut self, line: &str) -> Effect {
        match command::parse(line) {
            Ok(Command::Grid) => self.to_grid(),
            Ok(Command::Cluster(name)) => {
                if !self.open_cluster(&name) {
                    self.complain(format!("no cluster named '{name}' (Tab completes names)"));
                }
            }
            Ok(Command::Host(name)) => {
                if !self.open_host(&name) {
                    self.complain(format!("no host named '{name}' in any cluster"));
                }
            }
            Ok(Command::Range(r)) => self.set_range(r),
            Ok(Command::Theme(name)) => match Theme::load(&name, &self.theme_dir) {
                Ok(t) => {
                    self.theme = if no_color_requested() {
                        t.without_color()
                    } else {
                        t
                    };
                    self.say(format!("theme {name}"));
                }
                Err(e) => self.complain(e.to_string()),
            },
            Ok(Command::Quit) => return Effect::Quit,
            Ok(Command::Refresh) => return self.act(Action::Refresh),
            Ok(Command::Help) => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Err(e) => self.complain(e),
        }
        Effect::Redraw
    }

    /// Handles the mouse: a click selects, a double-click drills in, the wheel moves.
    pub fn on_mouse(&mut self, m: MouseEvent, at: Instant) -> Effect {
        if self.overlay.is_some() || self.mode != Mode::Normal {
            return Effect::None;
        }
        match m.kind {
            MouseEventKind::ScrollDown => return self.act(Action::Down),
            MouseEventKind::ScrollUp => return self.act(Action::Up),
            MouseEventKind::Down(MouseButton::Left) => {}
            _ => return Effect::None,
        }
        let double = self.last_click.is_some_and(|(t, x, y)| {
            at.duration_since(t) < DOUBLE_CLICK && x == m.column && y == m.row
        });
        self.last_click = Some((at, m.column, m.row));
        let body = self.body();
        let hit = match self.level() {
            Level::Grid => match grid_view::row_at(self, body, m.row) {
                Some(i) => {
                    self.grid.selected = i;
                    self.grid.moved = true;
                    true
                }
                None => false,
            },
            Level::Cluster => {
                let pos = self
                    .cluster
                    .as_ref()
                    .and_then(|st| cluster_view::tile_at(self, st, body, m.column, m.row));
                match (pos, self.cluster.as_mut()) {
                    (Some(p), Some(st)) => {
                        st.select(&self.snap, p as isize);
                        true
                    }
                    _ => false,
                }
            }
            Level::Host => false,
        };
        if hit && double {
            self.last_click = None;
            self.drill();
        }
        if hit { Effect::Redraw } else { Effect::None }
    }
}
