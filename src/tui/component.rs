//! The console's building block, after gitui's components: each part of the screen draws with
//! `&self`, takes events and says whether it consumed them and what it asks of the app, and
//! lists the commands it offers for the hint bar and the help page.

use std::collections::BTreeSet;
use std::sync::Arc;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::aggregator::Snapshot;
use crate::history::Range;
use crate::triage::Thresholds;
use crate::triage::problems::FailedJob;
use crate::tui::action::{Action, Layer};
use crate::tui::app::Glyphs;
use crate::tui::bands::{ColorBy, LoadBands};
use crate::tui::jobs::JobsUi;
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;

/// What a component may read while it draws or handles an event.
pub struct Ctx<'a> {
    /// The latest snapshot.
    pub snap: &'a Snapshot,
    /// The clock, epoch seconds.
    pub now: u64,
    /// Colours.
    pub theme: &'a Theme,
    /// Keys.
    pub keymap: &'a Keymap,
    /// Glyph capability.
    pub glyphs: Glyphs,
    /// Load bands.
    pub bands: &'a LoadBands,
    /// When a host counts as a problem.
    pub thresholds: Thresholds,
    /// Jobs job control saw end badly (for the problems view).
    pub failed_jobs: &'a [FailedJob],
    /// Schedulers whose controller does not answer (for the problems view).
    pub schedulers_down: &'a [crate::triage::problems::SchedulerDown],
    /// The screen's body, where views draw (lists and overlays go within it).
    pub body: Rect,
    /// The graphs' range.
    pub range: Range,
    /// What the operator chose to colour cluster tiles by (`c` cycles it).
    pub color_by: ColorBy,
    /// The hosts tagged in the cluster view that is open, with that cluster's name.
    pub tagged: Option<(&'a str, &'a BTreeSet<Arc<str>>)>,
    /// Job control, one per central manager (its scheduler's node states mark tiles).
    pub jobs: &'a [JobsUi],
    /// The log events, when syslog is received.
    pub events: Option<&'a crate::events::receiver::EventsSnapshot>,
    /// This console's files whose last save failed.
    pub failing_saves: &'a [crate::durable::SaveState],
}

impl<'a> Ctx<'a> {
    /// What a scheduler (Slurm) says about a host: its state words and reason. Ganglia often
    /// names hosts by their full domain name where Slurm uses the short one.
    pub fn sched_state(&self, host: &str) -> Option<(&'a str, &'a str)> {
        sched_state(self.jobs, host)
    }

    /// The scheduler of `cluster` (or the catch-all one) when its controller does not answer.
    pub fn scheduler_down(
        &self,
        cluster: &str,
    ) -> Option<&'a crate::triage::problems::SchedulerDown> {
        self.schedulers_down.iter().find(|d| {
            d.severity == crate::triage::problems::Severity::Critical
                && (d.cluster == cluster || d.cluster == "*")
        })
    }

    /// The queue of `cluster`, as its job backend (or the catch-all one) last reported it.
    pub fn queue(&self, cluster: &str) -> Option<&'a crate::queue::QueueReport> {
        let of = |c: &str| {
            self.jobs
                .iter()
                .find(|j| j.cluster == c)
                .and_then(|j| j.queue.as_deref())
        };
        of(cluster).or_else(|| of("*"))
    }

    /// How many hosts of `cluster` other than `host` are tagged.
    pub fn tagged_besides(&self, cluster: &str, host: &str) -> usize {
        match self.tagged {
            Some((c, tags)) if c == cluster => tags.iter().filter(|t| ***t != *host).count(),
            _ => 0,
        }
    }
}

/// What the scheduler (Slurm) of any job control says about a host: its state words and
/// reason. Ganglia often names hosts by their full domain name where Slurm uses the short one.
pub fn sched_state<'j>(jobs: &'j [JobsUi], host: &str) -> Option<(&'j str, &'j str)> {
    let short = host.split('.').next().unwrap_or(host);
    jobs.iter().find_map(|j| {
        j.node_states
            .get(host)
            .or_else(|| j.node_states.get(short))
            .map(|(s, r)| (s.as_str(), r.as_str()))
    })
}

/// Where something the operator picked lives, for the app to go there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Goto {
    /// A cluster's view.
    Cluster(String),
    /// A host's view.
    Host {
        /// Its cluster.
        cluster: String,
        /// The host.
        host: String,
    },
    /// A cluster's view showing only the hosts a grid search matched.
    ClusterMatching {
        /// The cluster.
        cluster: String,
        /// The search, carried over as the cluster view's filter.
        filter: String,
    },
    /// The sources overlay, on one source.
    Source(String),
    /// The events view: of a host when given, with a template open when given.
    Events {
        /// (cluster, host).
        host: Option<(String, String)>,
        /// The template.
        template: Option<u32>,
    },
    /// A job in the results of a cluster's job control.
    Job {
        /// The job control's cluster.
        cluster: String,
        /// The job.
        id: u64,
    },
}

/// What a component asks of the app after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Nothing more: redraw.
    Nothing,
    /// Close this component.
    Close,
    /// Leave the console.
    Quit,
    /// Close this component and go somewhere.
    Go(Goto),
    /// Open a host's processes (job control of its cluster, scoped to the host).
    Processes {
        /// The host's cluster.
        cluster: String,
        /// The host.
        host: String,
    },
    /// Open another component in place of this one.
    Open(Action),
    /// Poll every source now.
    PollNow,
    /// A status-line message: (error?, text).
    Say(bool, String),
    /// Write the graphs on screen as PNG and SVG.
    Export,
    /// Open the `/` line to edit this view's filter.
    EditFilter,
    /// Open job control for a cluster (or the catch-all manager), scoped to a host when given.
    Jobs {
        /// Which of its screens.
        open: JobsView,
        /// The cluster in view, if any.
        cluster: Option<String>,
        /// The host in view, if any: its processes only.
        host: Option<String>,
    },
    /// Tag or untag a host of the cluster view below (from the host view).
    Tag {
        /// The host's cluster.
        cluster: String,
        /// The host.
        host: String,
    },
    /// Cluster tiles are now coloured by this: remember it for every cluster.
    ColourBy(ColorBy),
}

/// A screen of job control a view can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobsView {
    /// The process monitor.
    Processes,
    /// Jobs and their results.
    Results,
    /// The submit form.
    Submit,
}

/// Whether a component took an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Taken; the app does what is asked.
    Consumed(Ask),
    /// Not for this component: the next one down gets it.
    Ignored,
}

/// A command a component offers: shown on the hint bar (when it has a hint) and the help page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandInfo {
    /// The action, whose keys the keymap knows.
    pub action: Action,
    /// Whether it can be used right now (greyed out otherwise).
    pub enabled: bool,
    /// Its word on the hint bar here, when the action's own word says too little.
    pub label: Option<&'static str>,
}

impl CommandInfo {
    /// An enabled command.
    pub const fn on(action: Action) -> Self {
        Self {
            action,
            enabled: true,
            label: None,
        }
    }

    /// A command that can or cannot be used right now.
    pub const fn when(action: Action, enabled: bool) -> Self {
        Self {
            action,
            enabled,
            label: None,
        }
    }

    /// The same command with `label` as its word, when there is one.
    pub const fn labelled_as(self, label: Option<&'static str>) -> Self {
        Self { label, ..self }
    }

    /// The same command under another word on the hint bar.
    pub const fn labelled(self, label: &'static str) -> Self {
        Self {
            label: Some(label),
            ..self
        }
    }
}

/// A part of the console.
pub trait Component {
    /// The keymap layer its keys are looked up in.
    fn layer(&self) -> Layer;

    /// Draws into `area`. Never changes anything.
    fn draw(&self, ctx: &Ctx<'_>, f: &mut Frame<'_>, area: Rect);

    /// A key, with the action the keymap gives it in this component's layer.
    fn on_key(&mut self, ctx: &Ctx<'_>, key: KeyEvent, action: Option<Action>) -> Handled;

    /// The commands it offers now.
    fn commands(&self) -> Vec<CommandInfo>;

    /// A new snapshot (or a tick) arrived: recompute what is derived from it.
    fn refresh(&mut self, _ctx: &Ctx<'_>) {}
}

/// Where a component's scroll goes after a scrolling action (one line, ten a page, the top),
/// never past `limit`; `None` when the action does not scroll.
pub fn scrolled(scroll: usize, action: Action, limit: usize) -> Option<usize> {
    let d: isize = match action {
        Action::Down => 1,
        Action::Up => -1,
        Action::PageDown => 10,
        Action::PageUp => -10,
        Action::First => return Some(0),
        _ => return None,
    };
    Some((scroll as isize + d).clamp(0, limit as isize) as usize)
}

/// Moves a selection within `len` rows by one of the navigation actions; `page` rows per page.
/// Returns whether the action was one of them.
pub fn navigate(selected: &mut usize, len: usize, action: Action, page: usize) -> bool {
    let last = len.saturating_sub(1);
    *selected = match action {
        Action::Up => selected.saturating_sub(1),
        Action::Down => (*selected + 1).min(last),
        Action::PageUp => selected.saturating_sub(page.max(1)),
        Action::PageDown => (*selected + page.max(1)).min(last),
        Action::First => 0,
        Action::Last => last,
        _ => return false,
    };
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn navigation_stays_in_the_list() {
        let mut s = 0;
        assert!(navigate(&mut s, 5, Action::Up, 10));
        assert_eq!(s, 0);
        navigate(&mut s, 5, Action::PageDown, 10);
        assert_eq!(s, 4);
        navigate(&mut s, 0, Action::Last, 10);
        assert_eq!(s, 0);
        assert!(!navigate(&mut s, 5, Action::Drill, 10));
    }
}
