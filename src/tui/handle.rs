//! Keys and mouse: key → action (through the keymap) → state change or effect.

use std::time::{Duration, Instant};

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use crate::history::Range;
use crate::tui::action::{Action, Layer};
use crate::tui::app::{App, Effect, Level, LineInput, Mode, Overlay};
use crate::tui::command::{self, Candidates, Command};
use crate::tui::component::{Ask, Goto, Handled};
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

    /// Handles a key press: Ctrl-C and Ctrl-Z first, whatever is open; then the line being
    /// typed; then what is on top (overlay, list, job control) in its own keymap layer; then
    /// the monitor. The series views draw are read afterwards, if what they show changed.
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
        if let Some(o) = self.overlay {
            let Some(action) = self.keymap.action_in(Layer::List, &key) else {
                return Effect::None;
            };
            self.message = None;
            return self.overlay_action(o, action);
        }
        if let Some(mut p) = self.panel.take() {
            let action = self.keymap.action_in(p.layer(), &key);
            let handled = p.on_key(&self.ctx(), key, action);
            self.panel = Some(p);
            return match handled {
                Handled::Consumed(ask) => {
                    if action.is_some() && !matches!(ask, Ask::Say(..)) {
                        self.message = None;
                    }
                    self.do_ask(ask)
                }
                Handled::Ignored => Effect::None,
            };
        }
        if let Some(i) = self.jobs_open
            && let Some(j) = self.jobs.get_mut(i)
        {
            use crate::tui::jobs::keys::Outcome;
            let action = self.keymap.action_in(j.layer(), &key);
            match j.on_key(key, action) {
                Outcome::Handled => {
                    // The operator acted: what was said before is about the screen before.
                    if action.is_some() {
                        self.message = None;
                    }
                    return Effect::Redraw;
                }
                Outcome::Close => {
                    j.host_scope = None;
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
                Outcome::Pass => {
                    // What job control leaves to the app: help, the command line, problems,
                    // quitting from its top screen.
                    return match action {
                        Some(a) => {
                            self.message = None;
                            self.act(a)
                        }
                        None => Effect::None,
                    };
                }
            }
        }
        let Some(action) = self.keymap.action_in(Layer::Monitor, &key) else {
            return Effect::None;
        };
        self.message = None;
        self.act(action)
    }

    /// Does what a component asked.
    pub fn do_ask(&mut self, ask: Ask) -> Effect {
        match ask {
            Ask::Nothing => {}
            Ask::Close => self.panel = None,
            Ask::Quit => return Effect::Quit,
            Ask::PollNow => return Effect::PollNow,
            Ask::Say(true, t) => self.complain(t),
            Ask::Say(false, t) => self.say(t),
            Ask::Open(a) => {
                self.panel = None;
                return self.act(a);
            }
            Ask::Go(to) => {
                self.panel = None;
                self.go(to);
            }
            Ask::Processes { cluster, host } => {
                self.panel = None;
                if self.open_host(&format!("{cluster}/{host}")) {
                    self.open_jobs_for(Some(cluster), Some(host), Action::Processes);
                } else {
                    self.complain(format!("{host} is no longer in {cluster}"));
                }
            }
        }
        Effect::Redraw
    }

    /// Goes where a list pointed.
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
                self.overlay = Some(Overlay::Sources {
                    scroll: crate::tui::overlays::source_line(self, at),
                });
            }
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

    fn overlay_action(&mut self, o: Overlay, a: Action) -> Effect {
        // Never past the last page: Up comes back at once after overshooting.
        let limit = crate::tui::overlays::scroll_limit(self) as isize;
        let scroll = |s: usize, d: isize| (s as isize + d).clamp(0, limit.max(0)) as usize;
        self.overlay = match (o, a) {
            (_, Action::Close) => None,
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
            (Overlay::Help { .. }, Action::First) => Some(Overlay::Help { scroll: 0 }),
            (Overlay::Sources { scroll: s }, Action::Down) => Some(Overlay::Sources {
                scroll: scroll(s, 1),
            }),
            (Overlay::Sources { scroll: s }, Action::Up) => Some(Overlay::Sources {
                scroll: scroll(s, -1),
            }),
            (Overlay::Sources { scroll: s }, Action::PageDown) => Some(Overlay::Sources {
                scroll: scroll(s, 10),
            }),
            (Overlay::Sources { scroll: s }, Action::PageUp) => Some(Overlay::Sources {
                scroll: scroll(s, -10),
            }),
            (Overlay::Sources { .. }, Action::First) => Some(Overlay::Sources { scroll: 0 }),
            (Overlay::Help { .. }, Action::Legend) => Some(Overlay::Legend),
            (Overlay::Legend, Action::Help) => Some(Overlay::Help { scroll: 0 }),
            (_, Action::Problems | Action::Top) => {
                self.overlay = None;
                return self.act(a);
            }
            (_, Action::Refresh) => return Effect::PollNow,
            // Anything else leaves the overlay as it is.
            _ => Some(o),
        };
        Effect::Redraw
    }

    /// Carries out an action, then reads the series views draw if what they show changed.
    pub fn act(&mut self, a: Action) -> Effect {
        let e = self.act_inner(a);
        self.prepare_graphs();
        e
    }

    fn act_inner(&mut self, a: Action) -> Effect {
        let level = self.level();
        match a {
            Action::Quit => return Effect::Quit,
            Action::Close => {}
            Action::Problems => {
                let p = crate::tui::lists::problems::ProblemsList::new(&self.ctx());
                self.panel = Some(Box::new(p));
            }
            Action::Top => {
                let by = crate::triage::top::TopBy::Load;
                let p = crate::tui::lists::top::TopList::new(&self.ctx(), by);
                self.panel = Some(Box::new(p));
            }
            // Pager and dialog actions mean nothing on the monitor.
            Action::Follow
            | Action::OtherStream
            | Action::FindNext
            | Action::Confirm
            | Action::NextField
            | Action::PrevField
            | Action::SignalTerm
            | Action::SignalKill => {}
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
            Action::ColorBy => {
                self.color_by = self.color_by.next();
                let by = self.color_by;
                if let Some(c) = &mut self.cluster {
                    c.color_by = by;
                    c.rebuild(&self.snap, self.now, &self.bands, self.filters[1].as_ref());
                }
                if level == Level::Grid {
                    self.say(format!(
                        "cluster tiles coloured by {} (the grid keeps load)",
                        by.label()
                    ));
                } else {
                    self.say(format!("tiles coloured by {} (l explains)", by.label()));
                }
            }
            Action::Tag => self.tag_host(),
            Action::Overlay => self.toggle_overlay(),
            Action::Processes => {
                // On a host (its view, or its tile in a cluster): that host's processes.
                let host = self.focused_host();
                let cluster = self.cluster_in_view();
                self.open_jobs_for(cluster, host, a);
            }
            Action::JobResults | Action::Submit => {
                let cluster = self.cluster_in_view();
                self.open_jobs_for(cluster, None, a);
            }
            Action::Kill | Action::Migrate => {
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

    /// The cluster in view, or the one selected on the grid.
    fn cluster_in_view(&self) -> Option<String> {
        match (&self.cluster, self.grid.current()) {
            (Some(c), _) => Some(c.name.clone()),
            (None, Some(GridRow::Cluster(n))) => Some(n.clone()),
            _ => None,
        }
    }

    /// The host in view, or the one selected in the cluster in view.
    fn focused_host(&self) -> Option<String> {
        if let Some(h) = &self.host {
            return Some(h.host.clone());
        }
        let c = self.cluster.as_ref()?;
        let cv = self.snap.cluster(&c.name)?;
        let t = c.tiles.get(c.selected)?;
        Some(cv.cluster.hosts.get(t.host as usize)?.name.to_string())
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
            let _ = j.on_key(
                crossterm::event::KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE),
                Some(Action::Submit),
            );
        }
        j.send(crate::jobs::JobCommand::Refresh);
    }

    /// Tags or untags the host selected in the cluster view, or the host in view.
    fn tag_host(&mut self) {
        let host = self
            .host
            .as_ref()
            .map(|h| (h.cluster.clone(), h.host.clone()));
        let Some(c) = self.cluster.as_mut() else {
            self.complain("tag hosts in a cluster's view (enter on a cluster)");
            return;
        };
        let done = match host {
            Some((cluster, host)) if cluster == c.name => {
                let name: std::sync::Arc<str> = host.as_str().into();
                let now = !c.tagged.remove(&name);
                if now {
                    c.tagged.insert(name);
                }
                Some((host, now))
            }
            Some(_) => None,
            None => c.toggle_tag(&self.snap),
        };
        let n = c.tagged.len();
        match done {
            Some((h, true)) => self.say(format!(
                "tagged {h} ({n} tagged; v on a graphed metric overlays them)"
            )),
            Some((h, false)) => self.say(format!("untagged {h} ({n} tagged)")),
            None => self.complain("no host selected to tag"),
        }
    }

    /// Overlays the graphed metric across the tagged hosts, or goes back to this host alone.
    fn toggle_overlay(&mut self) {
        let tagged_others = match (&self.host, &self.cluster) {
            (Some(h), Some(c)) if c.name == h.cluster => {
                c.tagged.iter().filter(|t| ***t != *h.host).count()
            }
            _ => 0,
        };
        let Some(h) = self.host.as_mut() else {
            self.complain(
                "open a host (enter) and graph a metric (enter on it) to overlay it across the tagged hosts",
            );
            return;
        };
        if h.graph.is_none() {
            self.drill();
        }
        let Some(g) = self.host.as_mut().and_then(|h| h.graph.as_mut()) else {
            return;
        };
        if g.overlay {
            g.overlay = false;
            let m = g.metric.clone();
            self.say(format!("{m} of this host alone"));
        } else if tagged_others == 0 {
            self.complain("no other host is tagged: tag hosts with space in the cluster view");
        } else {
            g.overlay = true;
            let m = g.metric.clone();
            let shown = (tagged_others + 1).min(crate::tui::app::OVERLAY_MAX);
            let more = tagged_others + 1 - shown;
            if more > 0 {
                self.say(format!(
                    "{m} across {shown} hosts ({more} more tagged than colours to tell them apart)"
                ));
            } else {
                self.say(format!("{m} across {shown} hosts"));
            }
        }
    }

    /// Graphs the host view's selected metric large, with a time axis.
    fn graph_selected(&mut self) {
        let picked = self.host.as_ref().and_then(|st| {
            let (_, h) = st.find(&self.snap)?;
            let m = *host_view::metrics(self, h).get(st.selected)?;
            Some((
                m.meta.name.to_string(),
                m.meta.units.trim().to_string(),
                m.meta.kind.is_numeric(),
                m.text.to_string(),
            ))
        });
        let Some((metric, units, numeric, text)) = picked else {
            self.complain("no metric selected");
            return;
        };
        if !numeric {
            self.complain(format!(
                "{metric} is text ('{text}'): only numbers have history to graph"
            ));
            return;
        }
        if let Some(st) = self.host.as_mut() {
            let overlay = st.graph.as_ref().is_some_and(|g| g.overlay);
            st.graph = Some(crate::tui::state::host::MetricGraph {
                metric,
                units,
                overlay,
                series: Vec::new(),
            });
        }
        self.keep_metric_in_sight();
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
            Level::Host if self.host.as_ref().is_some_and(|h| h.graph.is_some()) => {
                if let Some(h) = self.host.as_mut() {
                    h.graph = None;
                }
                self.keep_metric_in_sight();
            }
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
                        // Kept for its hosts by a search: open it showing just those.
                        let carried = (self.grid.current_host_matches() > 0)
                            .then(|| self.filters[0].clone())
                            .flatten();
                        self.open_cluster(&name);
                        if let Some(f) = carried {
                            self.filters[1] = Some(f);
                            self.rebuild();
                        }
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
            Level::Host => self.graph_selected(),
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
                let Some(st) = self.host.as_ref() else { return };
                let total = st
                    .find(&self.snap)
                    .map_or(0, |(_, h)| host_view::metrics(self, h).len());
                if total == 0 {
                    return;
                }
                let s = st.selected as isize;
                let t = match a {
                    Action::Up => s - 1,
                    Action::Down => s + 1,
                    Action::PageUp => s - rows as isize,
                    Action::PageDown => s + rows as isize,
                    Action::First => 0,
                    Action::Last => total as isize - 1,
                    _ => s,
                };
                let selected = t.clamp(0, total as isize - 1) as usize;
                if let Some(st) = self.host.as_mut() {
                    st.selected = selected;
                }
                self.keep_metric_in_sight();
            }
        }
    }

    /// Scrolls the host view's table so the selected metric's row shows. The table lists every
    /// metric while a graph takes the key metrics' place, else the metrics after the key ones
    /// (a selected key metric is highlighted in its panel).
    fn keep_metric_in_sight(&mut self) {
        let rows = host_view::table_rows(self.body());
        let Some(st) = self.host.as_ref() else { return };
        let keys = st
            .find(&self.snap)
            .map_or(0, |(_, h)| host_view::key_count(h));
        let first_in_table = if st.graph.is_some() { 0 } else { keys };
        let Some(st) = self.host.as_mut() else { return };
        match st.selected.checked_sub(first_in_table) {
            Some(row) if row < st.scroll => st.scroll = row,
            Some(row) if rows > 0 && row >= st.scroll + rows => st.scroll = row + 1 - rows,
            Some(_) => {}
            None => st.scroll = 0,
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
        // The table's rows changed: select its first, the key metrics' graphs being above it.
        let keys = self
            .host
            .as_ref()
            .and_then(|h| h.find(&self.snap))
            .map_or(0, |(_, h)| host_view::key_count(h));
        if let Some(h) = self.host.as_mut() {
            h.scroll = 0;
            h.selected = if h.graph.is_some() { 0 } else { keys };
        }
        Effect::Redraw
    }

    /// Runs a `:` command, then reads the series views draw if what they show changed.
    pub fn run_command(&mut self, line: &str) -> Effect {
        let e = self.run_command_inner(line);
        self.prepare_graphs();
        e
    }

    fn run_command_inner(&mut self, line: &str) -> Effect {
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
            Ok(Command::Problems) => return self.act(Action::Problems),
            Ok(Command::Top(metric)) => {
                let by = match metric {
                    None => crate::triage::top::TopBy::Load,
                    Some(m) => crate::triage::top::TopBy::Metric(m),
                };
                let p = crate::tui::lists::top::TopList::new(&self.ctx(), by);
                self.panel = Some(Box::new(p));
            }
            Err(e) => self.complain(e),
        }
        Effect::Redraw
    }

    /// Handles the mouse: a click selects, a double-click drills in, the wheel moves.
    pub fn on_mouse(&mut self, m: MouseEvent, at: Instant) -> Effect {
        let e = self.on_mouse_inner(m, at);
        self.prepare_graphs();
        e
    }

    fn on_mouse_inner(&mut self, m: MouseEvent, at: Instant) -> Effect {
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
        if hit {
            // A click that selected something is the operator's next action.
            self.message = None;
        }
        if hit && double {
            self.last_click = None;
            self.drill();
        }
        if hit { Effect::Redraw } else { Effect::None }
    }
}
