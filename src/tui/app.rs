//! The console's model: what is shown and where the operator is. Updated by events (keys,
//! mouse, snapshots, ticks); drawn by `draw(&App)` without changing it.

use std::path::PathBuf;
use std::sync::Arc;

use crate::aggregator::Snapshot;
use crate::history::{HistoryStore, Range};
use crate::tui::bands::{ColorBy, LoadBands};
use crate::tui::keymap::Keymap;
use crate::tui::state::{ClusterState, GridState, HostState};
use crate::tui::theme::Theme;
use crate::tui::widgets::chrome;
use ratatui::layout::Rect;

/// Which level is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Every cluster.
    Grid = 0,
    /// One cluster's hosts.
    Cluster = 1,
    /// One host's metrics.
    Host = 2,
}

/// A line being typed at the bottom of the screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    /// The text so far.
    pub text: String,
    /// Completion alternatives to show.
    pub alternatives: Vec<String>,
}

/// Input mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Keys go through the keymap.
    Normal,
    /// Typing a `:` command.
    Command(LineInput),
    /// Typing a `/` filter.
    Filter(LineInput),
}

/// A message on the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The text.
    pub text: String,
    /// Shown as an error.
    pub error: bool,
}

/// What the run loop must do after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing visible changed.
    None,
    /// Draw again.
    Redraw,
    /// Leave.
    Quit,
    /// Poll every source now.
    PollNow,
    /// Export the current graphs.
    Export,
    /// Suspend to the shell (Ctrl-Z); the screen is redrawn on `fg`.
    Suspend,
}

/// Which glyphs the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    /// UTF-8 box drawing and symbols; otherwise ASCII only.
    pub unicode: bool,
}

/// Everything the console needs to start.
pub struct AppSetup {
    /// Theme.
    pub theme: Theme,
    /// Keymap.
    pub keymap: Keymap,
    /// Load band thresholds.
    pub bands: LoadBands,
    /// Glyph capability.
    pub glyphs: Glyphs,
    /// Initial range.
    pub range: Range,
    /// Where user themes live (for `:theme`).
    pub theme_dir: PathBuf,
    /// History for graphs.
    pub history: Arc<HistoryStore>,
    /// Shown on the status line at start (for example, a damaged history file set aside).
    pub notice: Option<String>,
    /// Where graph exports are written.
    pub export_dir: PathBuf,
    /// Central managers, for job control.
    pub managers: Vec<crate::jobs::ManagerConfig>,
    /// No dangerous actions anywhere (already taken out of the keymap).
    pub read_only: bool,
    /// Where job templates live.
    pub templates_dir: PathBuf,
    /// When a host counts as a problem.
    pub thresholds: crate::triage::Thresholds,
}

/// The console's whole state.
pub struct App {
    /// The latest snapshot.
    pub snap: Arc<Snapshot>,
    /// History for graphs.
    pub history: Arc<HistoryStore>,
    /// The clock, epoch seconds (set by ticks, so drawing is deterministic).
    pub now: u64,
    /// Graph range.
    pub range: Range,
    /// Colours.
    pub theme: Theme,
    /// Keys.
    pub keymap: Keymap,
    /// Load bands.
    pub bands: LoadBands,
    /// Glyph capability.
    pub glyphs: Glyphs,
    /// Grid view state (always present: the bottom of the stack).
    pub grid: GridState,
    /// Cluster view state, when drilled in.
    pub cluster: Option<ClusterState>,
    /// Host view state, when drilled in.
    pub host: Option<HostState>,
    /// Input mode.
    pub mode: Mode,
    /// The open overlay (help, legend, sources): on top of everything, keys first.
    pub overlay: Option<Box<dyn crate::tui::component::Component>>,
    /// Status line message.
    pub message: Option<Message>,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// Where user themes live.
    pub theme_dir: PathBuf,
    /// What the status line showed last, to redraw ticks only when it changes.
    pub tick_key: u64,
    /// The last left click: when and where, for double-clicks.
    pub last_click: Option<(std::time::Instant, u16, u16)>,
    /// The filter text before `/` editing began, restored by Esc.
    pub filter_before: Option<String>,
    /// Where graph exports are written.
    pub export_dir: PathBuf,
    /// Job control, one per central manager.
    pub jobs: Vec<crate::tui::jobs::JobsUi>,
    /// The job control showing, if any.
    pub jobs_open: Option<usize>,
    /// Read-only console.
    pub read_only: bool,
    /// A list over the monitor (problems, top hosts), topmost after overlays.
    pub panel: Option<Box<dyn crate::tui::component::Component>>,
    /// When a host counts as a problem.
    pub thresholds: crate::triage::Thresholds,
    /// Jobs that ended badly, from every job control (for the problems view).
    pub failed_jobs: Vec<crate::triage::problems::FailedJob>,
    /// Schedulers whose controller does not answer, from every job control.
    pub schedulers_down: Vec<crate::triage::problems::SchedulerDown>,
    /// What cluster tiles are coloured by (`c` cycles), kept from cluster to cluster.
    pub color_by: ColorBy,
    /// The log events, when syslog is received (the latest snapshot of them).
    pub events: Option<Arc<crate::events::receiver::EventsSnapshot>>,
    /// What the prepared series were read for (see [`App::prepare_graphs`]).
    graphs_key: u64,
    /// This console's files whose last save failed (history, events).
    pub failing_saves: Vec<crate::durable::SaveState>,
}

/// The most hosts one overlay draws: each needs a colour of its own to be told apart.
pub const OVERLAY_MAX: usize = 8;

impl App {
    /// A console over `snap`.
    pub fn new(setup: AppSetup, snap: Arc<Snapshot>, now: u64, size: (u16, u16)) -> Self {
        let mut app = Self {
            snap,
            history: setup.history,
            now,
            range: setup.range,
            theme: setup.theme,
            keymap: setup.keymap,
            bands: setup.bands,
            glyphs: setup.glyphs,
            grid: GridState::default(),
            cluster: None,
            host: None,
            mode: Mode::Normal,
            overlay: None,
            message: None,
            size,
            theme_dir: setup.theme_dir,
            tick_key: 0,
            last_click: None,
            filter_before: None,
            export_dir: setup.export_dir,
            jobs: setup
                .managers
                .iter()
                .map(|m| {
                    crate::tui::jobs::JobsUi::new(
                        &m.cluster,
                        m.clone(),
                        None,
                        crate::tui::jobs::JobScreen::Processes,
                        setup.read_only,
                        setup.templates_dir.clone(),
                    )
                })
                .collect(),
            jobs_open: None,
            read_only: setup.read_only,
            panel: None,
            thresholds: setup.thresholds,
            failed_jobs: Vec::new(),
            schedulers_down: Vec::new(),
            color_by: ColorBy::default(),
            events: None,
            graphs_key: 0,
            failing_saves: Vec::new(),
        };
        app.rebuild();
        app.tick_key = app.compute_tick_key();
        if let Some(text) = setup.notice {
            app.complain(text);
        }
        app
    }

    /// The level showing.
    pub fn level(&self) -> Level {
        if self.host.is_some() {
            Level::Host
        } else if self.cluster.is_some() {
            Level::Cluster
        } else {
            Level::Grid
        }
    }

    /// What components read.
    pub fn ctx(&self) -> crate::tui::component::Ctx<'_> {
        crate::tui::component::Ctx {
            snap: &self.snap,
            now: self.now,
            theme: &self.theme,
            keymap: &self.keymap,
            glyphs: self.glyphs,
            bands: &self.bands,
            thresholds: self.thresholds,
            failed_jobs: &self.failed_jobs,
            schedulers_down: &self.schedulers_down,
            body: chrome::screen(Rect::new(0, 0, self.size.0, self.size.1)).body,
            range: self.range,
            color_by: self.color_by,
            tagged: self.cluster.as_ref().map(|c| (c.name.as_str(), &c.tagged)),
            jobs: &self.jobs,
            events: self.events.as_deref(),
            failing_saves: &self.failing_saves,
        }
    }

    /// Recomputes what the open list shows.
    fn refresh_panel(&mut self) {
        if let Some(mut p) = self.panel.take() {
            p.refresh(&self.ctx());
            self.panel = Some(p);
        }
    }

    /// Recomputes derived view state from the snapshot.
    pub fn rebuild(&mut self) {
        self.grid.rebuild(&self.snap, self.now, &self.bands);
        if let Some(c) = &mut self.cluster {
            c.rebuild(&self.snap, self.now, &self.bands);
        }
        self.prepare_graphs();
    }

    /// What the prepared series depend on: the data, the clock, the range and what is shown.
    fn compute_graphs_key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        (Arc::as_ptr(&self.snap) as usize, self.snap.generation).hash(&mut h);
        (self.now, self.range).hash(&mut h);
        self.grid.rows.hash(&mut h);
        if let Some(c) = &self.cluster {
            (&c.name, &c.tagged).hash(&mut h);
        }
        if let Some(x) = &self.host {
            (&x.cluster, &x.host).hash(&mut h);
            if let Some(g) = &x.graph {
                (&g.metric, g.overlay).hash(&mut h);
            }
        }
        h.finish()
    }

    /// The hosts a host view's graph draws: the host itself, then, when overlaid, the tagged
    /// hosts of its cluster (at most [`OVERLAY_MAX`] in all).
    pub fn graph_hosts(&self) -> Vec<String> {
        let Some(x) = &self.host else {
            return Vec::new();
        };
        let mut hosts = vec![x.host.clone()];
        if x.graph.as_ref().is_some_and(|g| g.overlay)
            && let Some(c) = self.cluster.as_ref().filter(|c| c.name == x.cluster)
        {
            let mut tagged: Vec<&str> = c
                .tagged
                .iter()
                .map(|t| &**t)
                .filter(|t| *t != x.host)
                .collect();
            tagged.sort_by(|a, b| crate::tui::natural::natural_cmp(a, b));
            hosts.extend(tagged.into_iter().map(str::to_string));
        }
        hosts.truncate(OVERLAY_MAX);
        hosts
    }

    /// Reads from the history store the series the open views draw.
    ///
    /// Why prepared series rather than reads while drawing: the aggregator writes the store
    /// under a lock per cluster table at every poll. A view reading it from `draw` would wait
    /// on (and hold up) those writes once per frame, and drawing would stop being a pure
    /// function of the App. A read-only handle passed to draw would still lock per frame.
    /// Reading here instead — whenever what is shown can change: a snapshot, a tick, a range,
    /// a selection, a graph, a tag — costs one read per change, and `draw(&App)` only looks
    /// at data the App owns. The key makes repeated calls free.
    pub fn prepare_graphs(&mut self) {
        let key = self.compute_graphs_key();
        if key == self.graphs_key {
            return;
        }
        self.graphs_key = key;
        let (range, now) = (self.range, self.now);
        let overlay_hosts = self.graph_hosts();
        let history = &self.history;
        self.grid.prepare_sparks(history, range, now);
        if let Some(c) = &mut self.cluster {
            let scope = format!("cluster:{}", c.name);
            c.graphs = crate::graph::CLUSTER_GRAPHS
                .iter()
                .map(|(m, _, v, _)| history.summary_series(&scope, m, *v, range, now))
                .collect();
            let queue: Vec<Option<_>> = crate::graph::QUEUE_GRAPHS
                .iter()
                .map(|(m, _, _)| {
                    history.count_series(crate::queue::stage::SCOPE, &c.name, m, range, now)
                })
                .collect();
            c.queue_graphs = if queue.iter().any(Option::is_some) {
                queue
            } else {
                Vec::new()
            };
        }
        if let Some(x) = &mut self.host {
            x.key_series = crate::tui::state::KEY_METRICS
                .iter()
                .map(|m| (*m, history.host_series(&x.cluster, &x.host, m, range, now)))
                .collect();
            if let Some(g) = &mut x.graph {
                g.series = overlay_hosts
                    .into_iter()
                    .map(|h| {
                        let s = history.host_series(&x.cluster, &h, &g.metric, range, now);
                        (h, s)
                    })
                    .collect();
            }
        }
    }

    /// A new snapshot arrived.
    pub fn on_snapshot(&mut self, snap: Arc<Snapshot>, now: u64) -> Effect {
        self.snap = snap;
        self.now = now;
        self.rebuild();
        self.refresh_panel();
        self.tick_key = self.compute_tick_key();
        Effect::Redraw
    }

    /// New log events: what shows them is refreshed (nothing else changes).
    pub fn on_events(&mut self, ev: Arc<crate::events::receiver::EventsSnapshot>) -> Effect {
        self.events = Some(ev);
        if self.panel.is_none() {
            return Effect::None;
        }
        self.refresh_panel();
        Effect::Redraw
    }

    /// What the time-dependent parts of the screen show; they change in 5-second steps so an
    /// idle console redraws rarely.
    fn compute_tick_key(&self) -> u64 {
        let bucket = self.now / 5;
        let stale = self
            .snap
            .clusters()
            .filter(|c| c.staleness(self.now).is_some())
            .count() as u64;
        bucket.wrapping_mul(1_000_003) ^ stale
    }

    /// What a scheduler (Slurm) says about a host: its state words and reason. Ganglia often
    /// names hosts by their full domain name where Slurm uses the short one.
    pub fn sched_state(&self, host: &str) -> Option<(&str, &str)> {
        crate::tui::component::sched_state(&self.jobs, host)
    }

    /// The job control showing.
    pub fn open_jobs(&self) -> Option<&crate::tui::jobs::JobsUi> {
        self.jobs_open.and_then(|i| self.jobs.get(i))
    }

    /// An event from a central manager's link.
    pub fn on_job_event(&mut self, cluster: &str, ev: crate::jobs::JobEvent) -> Effect {
        let Some(i) = self.jobs.iter().position(|j| j.cluster == cluster) else {
            return Effect::None;
        };
        let j = &mut self.jobs[i];
        let states_before = j.node_states.clone();
        let said = j.on_event(ev);
        let states_changed = j.node_states != states_before;
        let failed_before = std::mem::take(&mut self.failed_jobs);
        let down_before = std::mem::take(&mut self.schedulers_down);
        self.collect_failed_jobs();
        self.collect_schedulers_down();
        let failed_changed =
            self.failed_jobs != failed_before || self.schedulers_down != down_before;
        if failed_changed {
            self.refresh_panel();
        }
        let shown = self.jobs_open == Some(i);
        let spoke = said.is_some();
        match said {
            Some((true, text)) => self.complain(text),
            Some((false, text)) => self.say(text),
            None => {}
        }
        // Background refreshes of a hidden job control change nothing on screen.
        if shown || states_changed || spoke || (failed_changed && self.panel.is_some()) {
            Effect::Redraw
        } else {
            Effect::None
        }
    }

    /// Schedulers whose controller the last poll could not reach.
    fn collect_schedulers_down(&mut self) {
        use crate::slurm::view::Controller;
        self.schedulers_down = self
            .jobs
            .iter()
            .filter_map(|j| match &j.slurm.as_ref()?.controller {
                Controller::Unreachable { since, message } => {
                    Some(crate::triage::problems::SchedulerDown {
                        cluster: j.cluster.clone(),
                        what: "Slurm controller".into(),
                        since: *since,
                        message: message.clone(),
                        severity: crate::triage::problems::Severity::Critical,
                    })
                }
                _ => None,
            })
            .collect();
        let now = self.now;
        let pairs: Vec<_> = self
            .jobs
            .iter()
            .filter_map(|j| crate::tui::jobs::pair_problem(j, now))
            .collect();
        self.schedulers_down.extend(pairs);
    }

    /// Jobs every job control saw end badly.
    fn collect_failed_jobs(&mut self) {
        self.failed_jobs = self
            .jobs
            .iter()
            .flat_map(|j| {
                j.jobs.iter().filter_map(|s| {
                    let bad = matches!(s.state.as_str(), "failed" | "killed" | "lost")
                        || s.exit.is_some_and(|e| e != 0);
                    Some(crate::triage::problems::FailedJob {
                        cluster: j.cluster.clone(),
                        id: s.id,
                        name: s.name.clone(),
                        user: s.user.clone(),
                        state: s.state.clone(),
                        ended: s.ended?,
                        exit: s.exit,
                        reason: s.reason.clone(),
                    })
                    .filter(|_| bad)
                })
            })
            .collect();
    }

    /// The files whose saves fail now. A save that starts failing is said on the status line
    /// and listed among the problems; one that recovers leaves them.
    pub fn on_saves(&mut self, failing: Vec<crate::durable::SaveState>) -> Effect {
        if failing == self.failing_saves {
            return Effect::None;
        }
        if let Some(new) = failing.iter().find(|s| {
            !self
                .failing_saves
                .iter()
                .any(|o| o.path == s.path && o.error == s.error)
        }) {
            self.complain(format!(
                "could not save {}: {}",
                new.path.display(),
                new.error.as_deref().unwrap_or_default()
            ));
        }
        self.failing_saves = failing;
        self.refresh_panel();
        Effect::Redraw
    }

    /// The clock moved; redraw only when something on screen would change.
    pub fn on_tick(&mut self, now: u64) -> Effect {
        self.now = now;
        if let Some(j) = self.jobs_open.and_then(|i| self.jobs.get(i))
            && j.screen == crate::tui::jobs::JobScreen::Pager
            // Following, or the file holds more than was read so far.
            && (j.pager.follow || j.pager.next < j.pager.size)
        {
            j.poll_pager();
        }
        let key = self.compute_tick_key();
        if key == self.tick_key {
            return Effect::None;
        }
        self.tick_key = key;
        // Hosts go down as their TN grows even when no new data comes.
        self.rebuild();
        self.refresh_panel();
        Effect::Redraw
    }

    /// The terminal was resized.
    pub fn on_resize(&mut self, cols: u16, rows: u16) -> Effect {
        self.size = (cols, rows);
        Effect::Redraw
    }

    /// Says something on the status line.
    pub fn say(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
    }

    /// Reports a problem on the status line.
    pub fn complain(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: true,
        });
    }

    /// Opens a cluster by name.
    pub fn open_cluster(&mut self, name: &str) -> bool {
        if self.snap.cluster(name).is_none() {
            return false;
        }
        let mut st = ClusterState::new(name);
        st.color_by = self.color_by;
        st.rebuild(&self.snap, self.now, &self.bands);
        self.cluster = Some(st);
        self.host = None;
        if let Some(pos) = self.grid.rows.iter().position(|r| r.name() == name) {
            self.grid.selected = pos;
            self.grid.moved = true;
        }
        self.prepare_graphs();
        true
    }

    /// Opens a host: `cluster/host`, or a host name searched in every cluster.
    pub fn open_host(&mut self, spec: &str) -> bool {
        let found = match spec.split_once('/') {
            Some((c, h)) => self
                .snap
                .cluster(c)
                .and_then(|cv| cv.cluster.host(h).map(|_| (c.to_string(), h.to_string()))),
            None => self.snap.clusters().find_map(|cv| {
                cv.cluster
                    .host(spec)
                    .map(|_| (cv.cluster.name.to_string(), spec.to_string()))
            }),
        };
        let Some((c, h)) = found else { return false };
        if self.cluster.as_ref().is_none_or(|s| s.name != c) {
            self.open_cluster(&c);
        }
        if let Some(cs) = &mut self.cluster
            && let Some(cv) = self.snap.cluster(&c)
            && let Some(pos) = cs
                .tiles
                .iter()
                .position(|t| *cv.cluster.hosts[t.host as usize].name == *h)
        {
            cs.select(&self.snap, pos as isize);
        }
        self.host = Some(HostState::new(&c, &h));
        self.prepare_graphs();
        true
    }

    /// Back to the grid.
    pub fn to_grid(&mut self) {
        self.cluster = None;
        self.host = None;
    }

    /// The breadcrumb's parts: `Grid`, cluster, host.
    pub fn breadcrumb(&self) -> Vec<String> {
        // gmetad's default grid name says nothing on screen: just "Grid" then.
        let mut parts = vec![if &*self.snap.grid_name == "unspecified" {
            "Grid".to_string()
        } else {
            format!("Grid {}", self.snap.grid_name)
        }];
        if let Some(c) = &self.cluster {
            parts.push(c.name.clone());
        }
        if let Some(h) = &self.host {
            parts.push(h.host.clone());
        }
        parts
    }
}
