//! Every action the console can take, in one table: its id, description, group and whether it
//! is dangerous; and the layers keys are bound in, each with the actions that mean something
//! there. The shipped keymaps bind keys per layer; the hint bar and the help page come from
//! here and from the keymap, so they cannot disagree.

/// An action a key can trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Open the selection: a cluster, host, problem, job or process.
    Drill,
    /// Go back up a level; clears the filter first.
    Back,
    /// Close this list, pager or dialog.
    Close,
    /// Back to the grid from anywhere.
    Monitor,
    /// Move the selection up.
    Up,
    /// Move the selection down.
    Down,
    /// Move the selection left.
    Left,
    /// Move the selection right.
    Right,
    /// Move a page up.
    PageUp,
    /// Move a page down.
    PageDown,
    /// Go to the first item.
    First,
    /// Go to the last item.
    Last,
    /// Problems: down hosts, dead or stale sources, hot hosts and sensors, failed jobs.
    Problems,
    /// Hottest hosts across every cluster.
    Top,
    /// Log events: the nodes' syslog grouped by template (from a host: its own).
    Events,
    /// Graphs over the last hour.
    RangeHour,
    /// Graphs over the last day.
    RangeDay,
    /// Graphs over the last week.
    RangeWeek,
    /// Graphs over the last month.
    RangeMonth,
    /// Graphs over the last year.
    RangeYear,
    /// Poll every source now (job control: ask the manager again).
    Refresh,
    /// Cycle the order: load high first, load low first, name (top list: the metric).
    Sort,
    /// Colour tiles by the next measure: load, CPU, memory, network, and the BMCs' temperature, power and fans where there are any.
    ColorBy,
    /// Overlay the graphed metric across the tagged hosts, or stop.
    Overlay,
    /// Explain tile colours and glyphs.
    Legend,
    /// Sources: health, last error, data age.
    Sources,
    /// Write the current graphs as PNG and SVG.
    ExportGraph,
    /// Processes: of the selected host, else of the cluster's manager.
    Processes,
    /// Jobs and their results; Enter reads a job's output.
    JobResults,
    /// Slurm: partitions with their nodes, CPUs, queue and waits.
    Partitions,
    /// Slurm: nodes with CPUs and memory allocated, GRES, features and reason.
    SchedNodes,
    /// Slurm: everything about the selected job.
    JobDetail,
    /// Slurm: a pending array's tasks one by one, or folded again.
    Expand,
    /// Tag or untag the selected host (to overlay graphs), process (to signal) or Slurm node.
    Tag,
    /// Signal the selected or tagged processes (asks first).
    Kill,
    /// Move the selected managed process to another node (asks first).
    Migrate,
    /// Slurm: power the selected or tagged nodes up (asks first).
    PowerUp,
    /// Slurm: power the selected or tagged nodes down (asks first).
    PowerDown,
    /// Submit a job.
    Submit,
    /// Follow the file as it grows, or stop following.
    Follow,
    /// Switch between the job's output and its errors.
    OtherStream,
    /// Find the next match of the search.
    FindNext,
    /// Confirm: send, submit, log in.
    Confirm,
    /// Next field or button.
    NextField,
    /// Previous field or button.
    PrevField,
    /// Kill dialog: choose SIGTERM and go to Send.
    SignalTerm,
    /// Kill dialog: choose SIGKILL and go to Send.
    SignalKill,
    /// Slurm job dialog: act on this array task, or on the whole array.
    WholeArray,
    /// Slurm job dialog: a signal reaches the batch shell too, not only the steps.
    BatchShell,
    /// Command line: :problems, :top, :host NAME, :range day, :theme NAME, :q.
    Command,
    /// Filter tiles and lists by regex (! inverts); search in the pager.
    Filter,
    /// Show this help.
    Help,
    /// Leave Gantry (top level only; Ctrl-C leaves from anywhere).
    Quit,
}

/// A layer of the console with keys of its own: what is on top decides which layer a key is
/// looked up in, so `j` can move a list in one layer and be typed as text in another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// The grid, cluster and host views.
    Monitor,
    /// Lists over the monitor: problems, top hosts, help, sources, legend.
    List,
    /// Job control: processes and job results.
    Jobs,
    /// A job's output.
    Pager,
    /// Kill, migrate and login dialogs.
    Dialog,
    /// The submit form (letters are typed, so only keys with no text of their own are bound).
    Form,
}

/// A layer's name in keymap files, its title on the help page and what can be bound in it.
#[derive(Debug, Clone, Copy)]
pub struct LayerDef {
    /// The layer.
    pub layer: Layer,
    /// Its section in keymap files.
    pub id: &'static str,
    /// Its heading on the help page.
    pub title: &'static str,
    /// The actions it knows.
    pub actions: &'static [Action],
}

use Action as A;

const NAV: [Action; 6] = [A::Up, A::Down, A::PageUp, A::PageDown, A::First, A::Last];

/// Every layer, in the order the help page shows them.
pub const LAYERS: &[LayerDef] = &[
    LayerDef {
        layer: Layer::Monitor,
        id: "monitor",
        title: "Grid, cluster and host",
        actions: &[
            A::Drill,
            A::Back,
            A::Monitor,
            NAV[0],
            NAV[1],
            A::Left,
            A::Right,
            NAV[2],
            NAV[3],
            NAV[4],
            NAV[5],
            A::Problems,
            A::Top,
            A::Events,
            A::RangeHour,
            A::RangeDay,
            A::RangeWeek,
            A::RangeMonth,
            A::RangeYear,
            A::Refresh,
            A::Sort,
            A::ColorBy,
            A::Tag,
            A::Overlay,
            A::Legend,
            A::Sources,
            A::ExportGraph,
            A::Processes,
            A::JobResults,
            A::Command,
            A::Filter,
            A::Help,
            A::Quit,
        ],
    },
    LayerDef {
        layer: Layer::List,
        id: "list",
        title: "Lists: problems, top hosts, help, sources, legend",
        actions: &[
            A::Drill,
            A::Close,
            NAV[0],
            NAV[1],
            NAV[2],
            NAV[3],
            NAV[4],
            NAV[5],
            A::Problems,
            A::Top,
            A::Events,
            A::Sort,
            A::Refresh,
            A::Processes,
            A::Legend,
            A::Help,
        ],
    },
    LayerDef {
        layer: Layer::Jobs,
        id: "jobs",
        title: "Job control: processes and jobs",
        actions: &[
            A::Drill,
            A::Back,
            A::Monitor,
            NAV[0],
            NAV[1],
            NAV[2],
            NAV[3],
            NAV[4],
            NAV[5],
            A::Problems,
            A::Sort,
            A::Refresh,
            A::Processes,
            A::JobResults,
            A::Partitions,
            A::SchedNodes,
            A::JobDetail,
            A::Expand,
            A::Tag,
            A::Kill,
            A::Migrate,
            A::PowerUp,
            A::PowerDown,
            A::Submit,
            A::Command,
            A::Filter,
            A::Help,
            A::Quit,
        ],
    },
    LayerDef {
        layer: Layer::Pager,
        id: "pager",
        title: "A job's output",
        actions: &[
            A::Close,
            NAV[0],
            NAV[1],
            NAV[2],
            NAV[3],
            NAV[4],
            NAV[5],
            A::Follow,
            A::OtherStream,
            A::Filter,
            A::FindNext,
            A::Help,
        ],
    },
    LayerDef {
        layer: Layer::Dialog,
        id: "dialog",
        title: "Dialogs: kill, migrate, log in",
        actions: &[
            A::Confirm,
            A::Close,
            A::NextField,
            A::PrevField,
            NAV[0],
            NAV[1],
            NAV[4],
            NAV[5],
            A::SignalTerm,
            A::SignalKill,
            A::WholeArray,
            A::BatchShell,
        ],
    },
    LayerDef {
        layer: Layer::Form,
        id: "form",
        title: "The submit form",
        actions: &[
            A::Confirm,
            A::Close,
            A::NextField,
            A::PrevField,
            NAV[0],
            NAV[1],
        ],
    },
];

/// A layer's definition.
pub fn layer_def(l: Layer) -> &'static LayerDef {
    LAYERS.iter().find(|d| d.layer == l).unwrap_or(&LAYERS[0])
}

/// What the help page and hint bar know about an action.
#[derive(Debug, Clone, Copy)]
pub struct ActionDef {
    /// The action.
    pub action: Action,
    /// Its name in keymap files.
    pub id: &'static str,
    /// Its word on the hint bar (empty: not on the hint bar).
    pub hint: &'static str,
    /// Its group on the help page.
    pub group: &'static str,
    /// What it does.
    pub description: &'static str,
    /// It changes something outside the console (kill, migrate, submit): asks first, and is
    /// removed in read-only mode.
    pub dangerous: bool,
}

const fn def(
    action: Action,
    id: &'static str,
    hint: &'static str,
    group: &'static str,
    description: &'static str,
) -> ActionDef {
    ActionDef {
        action,
        id,
        hint,
        group,
        description,
        dangerous: false,
    }
}

const fn danger(d: ActionDef) -> ActionDef {
    ActionDef {
        dangerous: true,
        ..d
    }
}

/// The action table.
pub const ACTIONS: &[ActionDef] = &[
    def(
        A::Drill,
        "drill",
        "open",
        "Navigation",
        "Open the selection: a cluster, host, problem, job or process; graph a host's metric",
    ),
    def(
        A::Back,
        "back",
        "back",
        "Navigation",
        "Go back up a level; clears the filter first",
    ),
    def(
        A::Close,
        "close",
        "close",
        "Navigation",
        "Close this list, pager or dialog",
    ),
    def(
        A::Monitor,
        "monitor",
        "",
        "Navigation",
        "Back to the grid from anywhere",
    ),
    def(A::Up, "up", "", "Navigation", "Move the selection up"),
    def(A::Down, "down", "", "Navigation", "Move the selection down"),
    def(A::Left, "left", "", "Navigation", "Move the selection left"),
    def(
        A::Right,
        "right",
        "",
        "Navigation",
        "Move the selection right",
    ),
    def(A::PageUp, "page_up", "", "Navigation", "Move a page up"),
    def(
        A::PageDown,
        "page_down",
        "",
        "Navigation",
        "Move a page down",
    ),
    def(A::First, "first", "", "Navigation", "Go to the first item"),
    def(A::Last, "last", "", "Navigation", "Go to the last item"),
    def(
        A::Problems,
        "problems",
        "problems",
        "Triage",
        "Problems: down hosts, dead or stale sources, hot hosts and sensors, failed jobs",
    ),
    def(
        A::Top,
        "top",
        "top",
        "Triage",
        "Hottest hosts across every cluster",
    ),
    def(
        A::Events,
        "events",
        "events",
        "Triage",
        "Log events: the nodes' syslog grouped by template (from a host: its own)",
    ),
    def(
        A::RangeHour,
        "range_hour",
        "",
        "Time range",
        "Graphs over the last hour",
    ),
    def(
        A::RangeDay,
        "range_day",
        "",
        "Time range",
        "Graphs over the last day",
    ),
    def(
        A::RangeWeek,
        "range_week",
        "",
        "Time range",
        "Graphs over the last week",
    ),
    def(
        A::RangeMonth,
        "range_month",
        "",
        "Time range",
        "Graphs over the last month",
    ),
    def(
        A::RangeYear,
        "range_year",
        "",
        "Time range",
        "Graphs over the last year",
    ),
    def(
        A::Refresh,
        "refresh",
        "poll",
        "Data",
        "Poll every source now (job control: ask the manager again)",
    ),
    def(
        A::Sort,
        "sort",
        "sort",
        "Data",
        "Cycle the order: load high first, load low first, name (top list: the metric)",
    ),
    def(
        A::ColorBy,
        "color_by",
        "colour",
        "Data",
        "Colour tiles by the next measure: load, CPU, memory, network, BMC sensors",
    ),
    def(
        A::Overlay,
        "overlay",
        "overlay",
        "Data",
        "Overlay the graphed metric across the tagged hosts, or stop",
    ),
    def(
        A::Legend,
        "legend",
        "legend",
        "Data",
        "Explain tile colours and glyphs",
    ),
    def(
        A::Sources,
        "sources",
        "sources",
        "Data",
        "Sources and BMCs: health, last error, data age",
    ),
    def(
        A::ExportGraph,
        "export_graph",
        "export",
        "Data",
        "Write the current graphs as PNG and SVG",
    ),
    def(
        A::Processes,
        "processes",
        "procs",
        "Jobs",
        "Processes: of the selected host, else of the cluster's manager",
    ),
    def(
        A::JobResults,
        "job_results",
        "jobs",
        "Jobs",
        "Jobs and their results; Enter reads a job's output",
    ),
    def(
        A::Partitions,
        "partitions",
        "parts",
        "Jobs",
        "Slurm: partitions with their nodes, CPUs, queue and waits",
    ),
    def(
        A::SchedNodes,
        "sched_nodes",
        "nodes",
        "Jobs",
        "Slurm: nodes with CPUs and memory allocated, GRES, features and reason",
    ),
    def(
        A::JobDetail,
        "job_detail",
        "detail",
        "Jobs",
        "Slurm: everything about the selected job (scontrol, expected start, priority)",
    ),
    def(
        A::Expand,
        "expand",
        "expand",
        "Jobs",
        "Slurm: a pending array's tasks one by one, or folded again",
    ),
    def(
        A::Tag,
        "tag",
        "tag",
        "Jobs",
        "Tag or untag the selected host (to overlay graphs), process (to signal) or Slurm node",
    ),
    danger(def(
        A::Kill,
        "kill",
        "kill",
        "Jobs",
        "Signal the selected or tagged processes (asks first)",
    )),
    danger(def(
        A::Migrate,
        "migrate",
        "migrate",
        "Jobs",
        "Move the selected managed process to another node (asks first)",
    )),
    danger(def(
        A::PowerUp,
        "power_up",
        "power up",
        "Jobs",
        "Slurm: power the selected or tagged nodes up (asks first)",
    )),
    danger(def(
        A::PowerDown,
        "power_down",
        "power down",
        "Jobs",
        "Slurm: power the selected or tagged nodes down, after their jobs (asks first)",
    )),
    danger(def(A::Submit, "submit", "submit", "Jobs", "Submit a job")),
    def(
        A::Follow,
        "follow",
        "follow",
        "Pager",
        "Follow the file as it grows, or stop following",
    ),
    def(
        A::OtherStream,
        "other_stream",
        "out/err",
        "Pager",
        "Switch between the job's output and its errors",
    ),
    def(
        A::FindNext,
        "find_next",
        "next",
        "Pager",
        "Find the next match of the search",
    ),
    def(
        A::Confirm,
        "confirm",
        "ok",
        "Dialogs",
        "Confirm: send, submit, log in",
    ),
    def(
        A::NextField,
        "next_field",
        "next",
        "Dialogs",
        "Next field or button",
    ),
    def(
        A::PrevField,
        "prev_field",
        "",
        "Dialogs",
        "Previous field or button",
    ),
    def(
        A::SignalTerm,
        "signal_term",
        "TERM",
        "Dialogs",
        "Kill dialog: choose SIGTERM and go to Send",
    ),
    def(
        A::SignalKill,
        "signal_kill",
        "KILL",
        "Dialogs",
        "Kill dialog: choose SIGKILL and go to Send",
    ),
    def(
        A::WholeArray,
        "whole_array",
        "array",
        "Dialogs",
        "Slurm job dialog: act on this array task, or on the whole array",
    ),
    def(
        A::BatchShell,
        "batch_shell",
        "batch",
        "Dialogs",
        "Slurm job dialog: a signal reaches the batch shell too, not only the steps",
    ),
    def(
        A::Command,
        "command",
        "cmd",
        "General",
        "Command line: :problems, :top, :host NAME, :range day, :theme NAME, :q",
    ),
    def(
        A::Filter,
        "filter",
        "filter",
        "General",
        "Filter tiles and lists by regex (! inverts); search in the pager",
    ),
    def(A::Help, "help", "help", "General", "Show this help"),
    def(
        A::Quit,
        "quit",
        "quit",
        "General",
        "Leave Gantry (top level only; Ctrl-C leaves from anywhere)",
    ),
];

/// An action's definition.
pub fn action_def(a: Action) -> &'static ActionDef {
    ACTIONS
        .iter()
        .find(|d| d.action == a)
        .unwrap_or(&ACTIONS[0])
}

/// An action by its keymap name.
pub fn action_by_id(id: &str) -> Option<Action> {
    ACTIONS.iter().find(|d| d.id == id).map(|d| d.action)
}

/// Help page groups, in order.
pub const GROUPS: &[&str] = &[
    "Triage",
    "Navigation",
    "Time range",
    "Data",
    "Jobs",
    "Pager",
    "Dialogs",
    "General",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_unique_and_groups_known() {
        let mut ids: Vec<_> = ACTIONS.iter().map(|d| d.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ACTIONS.len());
        for d in ACTIONS {
            assert!(GROUPS.contains(&d.group), "{}", d.id);
            assert_eq!(action_def(d.action).id, d.id);
            assert_eq!(action_by_id(d.id), Some(d.action));
            assert!(
                LAYERS.iter().any(|l| l.actions.contains(&d.action)),
                "{} is in no layer",
                d.id
            );
        }
    }
}
