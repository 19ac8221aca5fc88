//! The job submission form's model: KCMS's fields, each checked as it is typed (against what
//! the cluster has, when its nodes are known), where the job would run, and templates kept in
//! the config directory. Drawing and keys are in `submit_form.rs`.

use std::path::{Path, PathBuf};

use tui_textarea::TextArea;

use super::dialogs::{field, text};
use crate::cm::job::{JobClass, JobSpec, LoadMetric};
use crate::cm::proto::NodeInfo;
use crate::units::human_bytes;

/// The most tasks a job may ask for: far above any manager's limit, low enough that a typo
/// (4,000,000,000) is refused here with a clear reason instead of by the manager.
pub const MAX_TASKS: u32 = 1_000_000;

/// The largest Memory Size or RSS Limit: 1 PB, beyond any node.
pub const MAX_SIZE: u64 = 1 << 50;

/// Field indices, for the checks that relate fields.
pub mod at {
    /// Arguments.
    pub const ARGS: usize = 2;
    /// Job Classification.
    pub const CLASS: usize = 3;
    /// Output File.
    pub const OUTPUT: usize = 5;
    /// Memory Size.
    pub const MEMORY: usize = 9;
    /// Tasks per Node.
    pub const PER_NODE: usize = 10;
    /// Total Tasks.
    pub const TOTAL: usize = 11;
    /// Load Metric.
    pub const METRIC: usize = 14;
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// A path that must be given.
    Required,
    /// A whole number.
    Int,
    /// A whole number ≥ 1.
    Count,
    /// A size with optional K/M/G/T.
    Size,
    /// One of several choices.
    Choice(&'static [&'static str]),
}

/// The fields, in KCMS's order.
pub const FIELDS: [(&str, Kind); 15] = [
    ("Job Name", Kind::Text),
    ("Executing File", Kind::Required),
    ("Arguments", Kind::Text),
    (
        "Job Classification",
        Kind::Choice(&["Single", "Batch", "Parallel"]),
    ),
    ("Input File", Kind::Text),
    ("Output File", Kind::Text),
    ("Error Log File", Kind::Text),
    ("Base Directory", Kind::Text),
    ("Priority", Kind::Int),
    ("Memory Size", Kind::Size),
    ("Tasks per Node", Kind::Count),
    ("Total Tasks", Kind::Count),
    ("RSS Limit", Kind::Size),
    ("Restart from Check Point", Kind::Choice(&["no", "yes"])),
    (
        "Load Metric",
        Kind::Choice(&["load average", "CPU run-queue", "load + memory"]),
    ),
];

/// What an empty field says.
const PLACEHOLDERS: [&str; 15] = [
    "optional",
    "path on the shared file system",
    "e.g. -n 4 'input file'",
    "",
    "stdin (optional)",
    "empty: kept by the manager",
    "stderr file (optional)",
    "working directory (optional)",
    "",
    "bytes, or 512M, 2G",
    "",
    "",
    "bytes, or 512M, 2G; 0 none",
    "",
    "",
];

/// The form.
pub struct SubmitForm {
    /// Text fields (choices keep their index in `choice`).
    pub inputs: Vec<TextArea<'static>>,
    /// Selected choice per field.
    pub choice: Vec<usize>,
    /// Focused field; `FIELDS.len()` is the Submit button.
    pub focus: usize,
    /// Showing the preview, waiting for a second Enter.
    pub preview: Option<String>,
    /// Sent, waiting for the answer.
    pub pending: bool,
    /// A message (template saved, loaded, …).
    pub note: Option<String>,
    /// Where templates live.
    pub templates: PathBuf,
    /// The cluster's nodes as last listed (empty: not known, so not checked).
    pub nodes: Vec<NodeInfo>,
    /// The backend is Slurm (the preview shows the sbatch command).
    pub slurm: bool,
    /// What the last key left for job control.
    pub out: super::dialogs::Outbox,
}

/// Where a job would run, as the manager's scheduler would place it now: the least loaded
/// nodes by the job's Load Metric that are up and have its memory free. A guess: loads change
/// and the manager decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The nodes, in order, with the tasks each would take.
    Nodes(Vec<(String, u32)>),
    /// It would wait: why.
    Waits(String),
    /// The nodes are not known yet.
    Unknown,
}

/// Reads `512`, `512K`, `2M`, `1.5G`, `1T` as bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    let (num, mul) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        Some('T') => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 512M, 2G)"))?;
    if v.is_nan() || v < 0.0 {
        return Err(format!("'{s}' is negative"));
    }
    let bytes = v * mul as f64;
    if bytes > MAX_SIZE as f64 {
        return Err(format!(
            "'{s}' is more than any node has (at most {})",
            human_bytes(MAX_SIZE)
        ));
    }
    Ok(bytes as u64)
}

/// Reads a task count: a whole number from 1 to [`MAX_TASKS`].
fn parse_count(v: &str) -> Result<u32, String> {
    match v.parse::<u64>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) if n > u64::from(MAX_TASKS) => Err(format!(
            "{n} is more tasks than a job may have (at most {MAX_TASKS})"
        )),
        Ok(n) => u32::try_from(n).map_err(|_| format!("{n} is too large")),
        Err(_) if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) => Err(format!(
            "{v} is more tasks than a job may have (at most {MAX_TASKS})"
        )),
        Err(_) => Err(format!("'{v}' is not a whole number of tasks (1 or more)")),
    }
}

/// Splits arguments like a shell would for plain words and quotes.
pub fn split_args(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err("an opening quote is never closed".into());
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

impl SubmitForm {
    /// An empty form.
    pub fn new(templates: PathBuf) -> Self {
        let defaults = [
            "", "", "", "", "", "", "", "", "0", "0", "1", "1", "0", "", "",
        ];
        Self {
            inputs: (0..FIELDS.len())
                .map(|i| field(PLACEHOLDERS[i], defaults[i]))
                .collect(),
            choice: vec![0; FIELDS.len()],
            focus: 0,
            preview: None,
            pending: false,
            note: None,
            templates,
            nodes: Vec::new(),
            slurm: false,
            out: Default::default(),
        }
    }

    fn value(&self, i: usize) -> String {
        text(&self.inputs[i]).trim().to_string()
    }

    /// Moves the focus to `i` (`FIELDS.len()` is the Submit button). The field's text is
    /// selected, so typing replaces it instead of adding to a prefilled `0` or `1`.
    pub fn focus_on(&mut self, i: usize) {
        if let Some(old) = self.inputs.get_mut(self.focus) {
            old.cancel_selection();
        }
        self.focus = i;
        if let Some(new) = self.inputs.get_mut(i)
            && !text(new).is_empty()
        {
            new.select_all();
        }
    }

    /// Total tasks and tasks per node as the manager counts them (a Single job is one task).
    fn tasks(&self) -> Option<(u32, u32)> {
        match self.choice[at::CLASS] {
            0 => Some((1, 1)),
            _ => {
                let total = parse_count(&self.value(at::TOTAL)).ok()?;
                let per = parse_count(&self.value(at::PER_NODE)).ok()?;
                Some((total, per.min(total)))
            }
        }
    }

    /// The nodes that are up.
    fn up(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.iter().filter(|n| n.up)
    }

    /// The problem with a field, if any.
    pub fn error(&self, i: usize) -> Option<String> {
        let v = self.value(i);
        match FIELDS[i].1 {
            Kind::Required if v.is_empty() => Some("required".into()),
            Kind::Int => v
                .parse::<i32>()
                .err()
                .map(|_| format!("'{v}' is not a whole number")),
            Kind::Count => parse_count(&v).err(),
            Kind::Size => parse_size(&v).err(),
            Kind::Text if i == at::ARGS => split_args(&v).err(),
            _ => None,
        }
        .or_else(|| self.cluster_error(i))
    }

    /// The problem with a field against the other fields and the cluster's nodes.
    fn cluster_error(&self, i: usize) -> Option<String> {
        let batch = self.choice[at::CLASS] > 0;
        match i {
            at::TOTAL if batch => {
                let per = parse_count(&self.value(at::PER_NODE)).ok()?;
                let total = parse_count(&self.value(at::TOTAL)).ok()?;
                if total < per {
                    return Some(format!("{total} is fewer than the {per} Tasks per Node"));
                }
                if self.nodes.is_empty() {
                    return None;
                }
                // The manager puts at most Tasks per Node on each node, each node once.
                let need = total.div_ceil(per);
                let up = self.up().count();
                (need as usize > up).then(|| {
                    format!(
                        "{total} tasks at {per} per node need {need} nodes; the cluster has {up} up (of {})",
                        self.nodes.len()
                    )
                })
            }
            at::MEMORY => {
                let mem = parse_size(&self.value(at::MEMORY)).ok()?;
                let (_, per) = self.tasks()?;
                let need = mem.saturating_mul(u64::from(per));
                let biggest = self.up().max_by(|a, b| {
                    a.mem_total_kb
                        .cmp(&b.mem_total_kb)
                        .then(b.name.cmp(&a.name))
                })?;
                let has = biggest.mem_total_kb.saturating_mul(1024);
                (need > has).then(|| {
                    let each = if per > 1 {
                        format!("{per} tasks per node × {} = ", human_bytes(mem))
                    } else {
                        String::new()
                    };
                    format!(
                        "{each}{} on one node, but the largest node up ({}) has {}",
                        human_bytes(need),
                        biggest.name,
                        human_bytes(has)
                    )
                })
            }
            _ => None,
        }
    }

    /// What is worth knowing but does not stop the job: more tasks on a node than it has CPUs.
    pub fn warnings(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let (Some((_, per)), Some(cpus)) = (self.tasks(), self.up().map(|n| n.cpus).max())
            && per > cpus
        {
            v.push(format!(
                "Tasks per Node: {per} tasks share the CPUs of nodes with at most {cpus}"
            ));
        }
        v
    }

    /// Where the job would run now (see [`Placement`]).
    pub fn placement(&self) -> Placement {
        if self.nodes.is_empty() {
            return Placement::Unknown;
        }
        let (Some((total, per)), Ok(mem)) = (self.tasks(), parse_size(&self.value(at::MEMORY)))
        else {
            return Placement::Waits("the form has errors".into());
        };
        let metric =
            [LoadMetric::Load, LoadMetric::RunQueue, LoadMetric::LoadMem][self.choice[at::METRIC]];
        let need_mem = mem.saturating_mul(u64::from(per));
        let mut fit: Vec<(f64, &NodeInfo)> = self
            .up()
            .filter(|n| n.mem_free_kb.saturating_mul(1024) >= need_mem)
            .map(|n| (load_by(n, metric), n))
            .collect();
        let need = total.div_ceil(per) as usize;
        if fit.len() < need {
            return Placement::Waits(format!(
                "it waits: {need} node{} needed with {} free, {} {} now",
                if need == 1 { "" } else { "s" },
                human_bytes(need_mem),
                fit.len(),
                if fit.len() == 1 { "has" } else { "have" },
            ));
        }
        fit.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        let mut left = total;
        Placement::Nodes(
            fit.iter()
                .take(need)
                .map(|(_, n)| {
                    let here = left.min(per);
                    left -= here;
                    (n.name.clone(), here)
                })
                .collect(),
        )
    }

    /// Every field's problem.
    pub fn errors(&self) -> Vec<(usize, String)> {
        (0..FIELDS.len())
            .filter_map(|i| self.error(i).map(|e| (i, e)))
            .collect()
    }

    /// The job, when every field is valid.
    pub fn spec(&self) -> Result<JobSpec, String> {
        if let Some((i, e)) = self.errors().into_iter().next() {
            return Err(format!("{}: {e}", FIELDS[i].0));
        }
        let opt = |i: usize| Some(self.value(i)).filter(|v| !v.is_empty());
        Ok(JobSpec {
            name: self.value(0),
            exec: self.value(1),
            args: split_args(&text(&self.inputs[2])).unwrap_or_default(),
            class: [JobClass::Single, JobClass::Batch, JobClass::Parallel][self.choice[3]],
            input: opt(4),
            output: opt(5),
            error: opt(6),
            dir: opt(7),
            priority: self.value(8).parse().unwrap_or(0),
            memory: parse_size(&self.value(9)).unwrap_or(0),
            tasks_per_node: self.value(10).parse().unwrap_or(1),
            total_tasks: self.value(11).parse().unwrap_or(1),
            rss_limit: parse_size(&self.value(12)).unwrap_or(0),
            restart: self.choice[13] == 1,
            load_metric: [LoadMetric::Load, LoadMetric::RunQueue, LoadMetric::LoadMem]
                [self.choice[14]],
        })
    }

    /// The number of arguments, as KCMS's form showed it.
    pub fn arg_count(&self) -> usize {
        split_args(&text(&self.inputs[2])).map_or(0, |a| a.len())
    }

    /// Fills the form from a job.
    pub fn load_spec(&mut self, s: &JobSpec) {
        let quote = |a: &String| {
            if a.is_empty() || a.contains(char::is_whitespace) {
                format!("'{a}'")
            } else {
                a.clone()
            }
        };
        let vals = [
            s.name.clone(),
            s.exec.clone(),
            s.args.iter().map(quote).collect::<Vec<_>>().join(" "),
            String::new(),
            s.input.clone().unwrap_or_default(),
            s.output.clone().unwrap_or_default(),
            s.error.clone().unwrap_or_default(),
            s.dir.clone().unwrap_or_default(),
            s.priority.to_string(),
            s.memory.to_string(),
            s.tasks_per_node.to_string(),
            s.total_tasks.to_string(),
            s.rss_limit.to_string(),
            String::new(),
            String::new(),
        ];
        for (i, v) in vals.iter().enumerate() {
            self.inputs[i] = field(PLACEHOLDERS[i], v);
        }
        self.choice[3] = match s.class {
            JobClass::Single => 0,
            JobClass::Batch => 1,
            JobClass::Parallel => 2,
        };
        self.choice[13] = usize::from(s.restart);
        self.choice[14] = match s.load_metric {
            LoadMetric::Load => 0,
            LoadMetric::RunQueue => 1,
            LoadMetric::LoadMem => 2,
        };
        // The focused field's new text is selected like any other.
        self.focus_on(self.focus);
    }

    /// Saves the form as a template named after the job.
    pub fn save_template(&mut self) -> Result<PathBuf, String> {
        let spec = self.spec()?;
        let name: String = if spec.name.is_empty() {
            "job".into()
        } else {
            spec.name.clone()
        }
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
        std::fs::create_dir_all(&self.templates).map_err(|e| e.to_string())?;
        let path = self.templates.join(format!("{name}.job"));
        std::fs::write(&path, spec.to_fields().join("\n") + "\n")
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }

    /// Loads the next template after the current job name, alphabetically.
    pub fn load_next_template(&mut self) -> Result<PathBuf, String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.templates)
            .map_err(|_| format!("no templates in {}", self.templates.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "job"))
            .collect();
        files.sort();
        let current = self.value(0);
        let next = files
            .iter()
            .find(|p| stem(p) > current)
            .or_else(|| files.first())
            .cloned()
            .ok_or_else(|| format!("no templates in {}", self.templates.display()))?;
        let text = std::fs::read_to_string(&next).map_err(|e| e.to_string())?;
        let fields: Vec<String> = text.lines().map(str::to_string).collect();
        let spec = JobSpec::from_fields(&fields).map_err(|e| format!("{}: {e}", next.display()))?;
        self.load_spec(&spec);
        Ok(next)
    }
}

/// A node's load as the manager ranks it (its scheduler's rule, with nothing placed yet).
fn load_by(n: &NodeInfo, metric: LoadMetric) -> f64 {
    let per_cpu = f64::from(n.load1) / f64::from(n.cpus.max(1));
    match metric {
        LoadMetric::Load => per_cpu,
        LoadMetric::RunQueue => f64::from(n.runqueue),
        LoadMetric::LoadMem if n.mem_total_kb > 0 => {
            per_cpu + 1.0 - n.mem_free_kb as f64 / n.mem_total_kb as f64
        }
        LoadMetric::LoadMem => per_cpu,
    }
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_arguments() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size(""), Ok(0));
        assert!(parse_size("lots").is_err());
        assert_eq!(
            split_args(r#"-n 4 "a b" '' x"#).unwrap(),
            vec!["-n", "4", "a b", "", "x"]
        );
        assert!(split_args("'open").is_err());
    }

    #[test]
    fn validation_preview_and_templates_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = SubmitForm::new(dir.path().join("templates"));
        assert_eq!(f.errors(), vec![(1, "required".to_string())]);
        f.inputs[1] = field("", "/bin/solver");
        f.inputs[2] = field("", "-n 4 'in put'");
        f.inputs[10] = field("", "0");
        assert_eq!(f.errors().len(), 1);
        f.inputs[10] = field("", "2");
        f.inputs[9] = field("", "2G");
        f.choice[3] = 1;
        f.inputs[11] = field("", "8");
        let spec = f.spec().unwrap();
        assert_eq!(spec.args, vec!["-n", "4", "in put"]);
        assert_eq!(spec.memory, 2 << 30);
        assert_eq!(f.arg_count(), 3);
        f.inputs[0] = field("", "nightly run");
        let saved = f.save_template().unwrap();
        assert!(saved.ends_with("nightly_run.job"));
        let mut g = SubmitForm::new(dir.path().join("templates"));
        g.load_next_template().unwrap();
        assert_eq!(g.spec().unwrap(), f.spec().unwrap());
    }

    fn node(name: &str, up: bool, cpus: u32, load: f32, gb_total: u64, gb_free: u64) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            up,
            cpus,
            load1: load,
            runqueue: load as u32,
            mem_total_kb: gb_total << 20,
            mem_free_kb: gb_free << 20,
            procs: 100,
        }
    }

    /// A Batch job of `total` tasks at `per` a node needing `mem` each, on three nodes up (8
    /// CPUs, 64 GiB) and one down.
    fn batch(total: &str, per: &str, mem: &str) -> SubmitForm {
        let mut f = SubmitForm::new(PathBuf::from("/nonexistent"));
        f.inputs[1] = field("", "/bin/solver");
        f.choice[at::CLASS] = 1;
        f.inputs[at::TOTAL] = field("", total);
        f.inputs[at::PER_NODE] = field("", per);
        f.inputs[at::MEMORY] = field("", mem);
        f.nodes = vec![
            node("rack12-compute-node-0041.site1", true, 8, 6.0, 64, 40),
            node("rack12-compute-node-0042.site1", true, 8, 0.5, 64, 40),
            node("rack12-compute-node-0043.site1", true, 8, 2.0, 64, 8),
            node("rack12-compute-node-0044.site1", false, 8, 0.0, 64, 64),
        ];
        f
    }

    #[test]
    fn huge_task_counts_are_refused_with_the_limit() {
        let f = batch("4000000000", "1", "0");
        let e = f.error(at::TOTAL).unwrap();
        assert!(
            e.contains("4000000000") && e.contains("at most 1000000"),
            "{e}"
        );
        // Beyond u64 too: still a clear reason, not "not a number".
        let f = batch("99999999999999999999999", "1", "0");
        assert!(f.error(at::TOTAL).unwrap().contains("at most 1000000"));
        assert!(
            batch("0", "1", "0")
                .error(at::TOTAL)
                .unwrap()
                .contains("at least 1")
        );
        assert!(
            batch("x", "1", "0")
                .error(at::TOTAL)
                .unwrap()
                .contains("'x'")
        );
        let spec = f.spec().unwrap_err();
        assert!(spec.starts_with("Total Tasks: "), "{spec}");
    }

    #[test]
    fn tasks_are_checked_against_the_nodes_up() {
        // 3 nodes up: 12 tasks at 4 a node fit, 16 do not.
        assert_eq!(batch("12", "4", "0").error(at::TOTAL), None);
        let e = batch("16", "4", "0").error(at::TOTAL).unwrap();
        assert_eq!(
            e,
            "16 tasks at 4 per node need 4 nodes; the cluster has 3 up (of 4)"
        );
        assert!(
            batch("2", "4", "0")
                .error(at::TOTAL)
                .unwrap()
                .contains("fewer than")
        );
        // More tasks on a node than CPUs: said, not refused.
        let f = batch("32", "16", "0");
        assert_eq!(f.error(at::TOTAL), None);
        assert_eq!(f.warnings().len(), 1, "{:?}", f.warnings());
        // Unknown nodes: nothing to check against.
        let mut f = batch("16", "4", "0");
        f.nodes.clear();
        assert_eq!(f.error(at::TOTAL), None);
        assert_eq!(f.placement(), Placement::Unknown);
    }

    #[test]
    fn memory_is_checked_against_the_largest_node_naming_it() {
        assert_eq!(batch("2", "2", "30G").error(at::MEMORY), None);
        let e = batch("2", "2", "40G").error(at::MEMORY).unwrap();
        assert!(e.contains("2 tasks per node"), "{e}");
        assert!(
            e.contains("rack12-compute-node-0041.site1"),
            "names the node: {e}"
        );
        assert!(e.contains("68.7 GB"), "says how much: {e}");
        let e = parse_size("5000T").unwrap_err();
        assert!(e.contains("more than any node has"), "{e}");
    }

    #[test]
    fn placement_names_the_least_loaded_nodes_with_the_memory() {
        // Two nodes of 2 tasks: the least loaded up nodes with 2 × 10 GiB free.
        let f = batch("4", "2", "10G");
        assert_eq!(
            f.placement(),
            Placement::Nodes(vec![
                ("rack12-compute-node-0042.site1".into(), 2),
                ("rack12-compute-node-0041.site1".into(), 2),
            ]),
            "node 43 is less loaded than 41 but has only 8 GiB free; 44 is down"
        );
        match batch("6", "2", "10G").placement() {
            Placement::Waits(why) => assert!(why.contains("3 nodes needed"), "{why}"),
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn focusing_a_field_selects_it_so_typing_replaces_it() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let mut f = SubmitForm::new(PathBuf::from("/nonexistent"));
        f.focus_on(at::TOTAL);
        for c in "-5".chars() {
            f.inputs[at::TOTAL].input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        assert_eq!(
            f.value(at::TOTAL),
            "-5",
            "the default 1 is replaced, not appended to"
        );
        assert!(f.error(at::TOTAL).is_some());
        // Leaving and coming back selects again; an arrow key keeps the text.
        f.focus_on(0);
        f.focus_on(at::TOTAL);
        f.inputs[at::TOTAL].input(KeyEvent::new(KeyCode::End, KeyModifiers::NONE));
        f.inputs[at::TOTAL].input(KeyEvent::new(KeyCode::Char('0'), KeyModifiers::NONE));
        assert_eq!(f.value(at::TOTAL), "-50");
    }
}
