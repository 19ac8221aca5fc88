//! Every action the console can take, in one table: its id, default keys, description, group
//! and whether it is dangerous. The hint bar, the help page and the shipped keymap all come
//! from here, so they cannot disagree.

/// An action a key can trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Leave Gantry.
    Quit,
    /// Show every key.
    Help,
    /// Open the `:` command line.
    Command,
    /// Open the `/` filter line.
    Filter,
    /// Go back up a level (or close what is open).
    Back,
    /// Drill into the selection.
    Drill,
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
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// To the first item.
    First,
    /// To the last item.
    Last,
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
    /// Poll every source now.
    Refresh,
    /// Cycle the host order.
    Sort,
    /// Explain colours and glyphs.
    Legend,
    /// Show sources and their health.
    Sources,
    /// Write the current graphs as PNG and SVG.
    ExportGraph,
    /// The cluster's processes (job control).
    Processes,
    /// The cluster's jobs and their results.
    JobResults,
    /// Tag or untag the selected process.
    Tag,
    /// Signal the selected or tagged processes.
    Kill,
    /// Move the selected process to another node.
    Migrate,
    /// Submit a job.
    Submit,
}

/// What the help page and hint bar know about an action.
#[derive(Debug, Clone, Copy)]
pub struct ActionDef {
    /// The action.
    pub action: Action,
    /// Its name in keymap files and `:` commands.
    pub id: &'static str,
    /// Keys bound by default (`keymaps/default.toml` must say the same).
    pub keys: &'static [&'static str],
    /// What it does, for the help page.
    pub description: &'static str,
    /// A short label for the hint bar; empty to keep it off the bar.
    pub hint: &'static str,
    /// Help page section.
    pub group: &'static str,
    /// Destroys or changes something outside Gantry (removed in read-only mode).
    pub dangerous: bool,
}

const fn def(
    action: Action,
    id: &'static str,
    keys: &'static [&'static str],
    hint: &'static str,
    group: &'static str,
    description: &'static str,
) -> ActionDef {
    ActionDef {
        action,
        id,
        keys,
        description,
        hint,
        group,
        dangerous: false,
    }
}

const fn danger(d: ActionDef) -> ActionDef {
    ActionDef {
        dangerous: true,
        ..d
    }
}

/// The table.
pub const ACTIONS: &[ActionDef] = &[
    def(
        Action::Drill,
        "drill",
        &["enter"],
        "open",
        "Navigation",
        "Drill into the selected cluster or host",
    ),
    def(
        Action::Back,
        "back",
        &["esc"],
        "back",
        "Navigation",
        "Go back up a level; closes an overlay or clears the filter first",
    ),
    def(
        Action::Monitor,
        "monitor",
        &["m"],
        "",
        "Navigation",
        "Back to the grid from anywhere",
    ),
    def(
        Action::Up,
        "up",
        &["up"],
        "",
        "Navigation",
        "Move the selection up",
    ),
    def(
        Action::Down,
        "down",
        &["down"],
        "",
        "Navigation",
        "Move the selection down",
    ),
    def(
        Action::Left,
        "left",
        &["left"],
        "",
        "Navigation",
        "Move the selection left",
    ),
    def(
        Action::Right,
        "right",
        &["right"],
        "",
        "Navigation",
        "Move the selection right",
    ),
    def(
        Action::PageUp,
        "page_up",
        &["pageup"],
        "",
        "Navigation",
        "Move a page up",
    ),
    def(
        Action::PageDown,
        "page_down",
        &["pagedown"],
        "",
        "Navigation",
        "Move a page down",
    ),
    def(
        Action::First,
        "first",
        &["home"],
        "",
        "Navigation",
        "Go to the first item",
    ),
    def(
        Action::Last,
        "last",
        &["end"],
        "",
        "Navigation",
        "Go to the last item",
    ),
    def(
        Action::Command,
        "command",
        &[":"],
        "cmd",
        "General",
        "Command line: :grid, :cluster NAME, :host NAME, :range day, :theme NAME, :q",
    ),
    def(
        Action::Filter,
        "filter",
        &["/"],
        "filter",
        "General",
        "Filter tiles and lists by regex; start with ! to invert",
    ),
    def(
        Action::Help,
        "help",
        &["?"],
        "help",
        "General",
        "Show this help",
    ),
    def(
        Action::Quit,
        "quit",
        &["q", "ctrl-c"],
        "quit",
        "General",
        "Leave Gantry",
    ),
    def(
        Action::RangeHour,
        "range_hour",
        &["1"],
        "",
        "Time range",
        "Graphs over the last hour",
    ),
    def(
        Action::RangeDay,
        "range_day",
        &["2"],
        "",
        "Time range",
        "Graphs over the last day",
    ),
    def(
        Action::RangeWeek,
        "range_week",
        &["3"],
        "",
        "Time range",
        "Graphs over the last week",
    ),
    def(
        Action::RangeMonth,
        "range_month",
        &["4"],
        "",
        "Time range",
        "Graphs over the last month",
    ),
    def(
        Action::RangeYear,
        "range_year",
        &["5"],
        "",
        "Time range",
        "Graphs over the last year",
    ),
    def(
        Action::Refresh,
        "refresh",
        &["r"],
        "poll",
        "Data",
        "Poll every source now",
    ),
    def(
        Action::Sort,
        "sort",
        &["o"],
        "sort",
        "Data",
        "Cycle host order: load high first, load low first, name",
    ),
    def(
        Action::Legend,
        "legend",
        &["l"],
        "legend",
        "Data",
        "Explain tile colours and glyphs",
    ),
    def(
        Action::Sources,
        "sources",
        &["s"],
        "sources",
        "Data",
        "Sources: health, last error, data age",
    ),
    def(
        Action::ExportGraph,
        "export_graph",
        &["e"],
        "export",
        "Data",
        "Write the current graphs as PNG and SVG",
    ),
    def(
        Action::Processes,
        "processes",
        &["p"],
        "procs",
        "Jobs",
        "Process monitor of the cluster's central manager",
    ),
    def(
        Action::JobResults,
        "job_results",
        &["J"],
        "jobs",
        "Jobs",
        "Jobs and their results; Enter reads a job's output",
    ),
    def(
        Action::Tag,
        "tag",
        &["space"],
        "tag",
        "Jobs",
        "Tag or untag the selected process (across nodes)",
    ),
    danger(def(
        Action::Kill,
        "kill",
        &["k"],
        "kill",
        "Jobs",
        "Signal the selected or tagged processes (asks first)",
    )),
    danger(def(
        Action::Migrate,
        "migrate",
        &["M"],
        "migrate",
        "Jobs",
        "Move the selected managed process to another node (asks first)",
    )),
    danger(def(
        Action::Submit,
        "submit",
        &["n"],
        "submit",
        "Jobs",
        "Submit a job",
    )),
];

/// The table entry of an action.
pub fn action_def(a: Action) -> &'static ActionDef {
    ACTIONS
        .iter()
        .find(|d| d.action == a)
        .unwrap_or(&ACTIONS[0])
}

/// An action by its keymap/command name.
pub fn action_by_id(id: &str) -> Option<Action> {
    ACTIONS.iter().find(|d| d.id == id).map(|d| d.action)
}

/// The help page's section order.
pub const GROUPS: &[&str] = &["Navigation", "Time range", "Data", "Jobs", "General"];

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
        }
    }
}
