//! What a job backend reports of its queue: the pressure, the rule it was judged by, and what
//! was done about it (a `gantry cm`'s provisioning and release commands).

/// One run of a provisioning or release command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ElasticAction {
    /// When it ran (epoch seconds).
    pub at: u64,
    /// `provision` or `release`.
    pub what: String,
    /// Nodes asked for (provision) or released (their count).
    pub count: u32,
    /// The nodes released, by name.
    pub nodes: Vec<String>,
    /// Not run: dry run.
    pub dry_run: bool,
    /// Exit status (None: not run, or killed by a signal).
    pub exit: Option<i32>,
    /// The end of what it printed.
    pub output: String,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl ElasticAction {
    /// Whether it failed.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// One cluster's queue as a backend reports it.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct QueueReport {
    /// The numbers.
    pub pressure: super::Pressure,
    /// The rule judged by.
    pub rule: super::Rule,
    /// The last provisioning and release commands (a `gantry cm` with them configured).
    pub actions: Vec<ElasticAction>,
    /// What acts on the rule: "slurm" (its power saving), "commands", or "" (nothing).
    pub acts: String,
}
