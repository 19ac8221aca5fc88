//! Jobs as Slurm reports them: `squeue --json` (22.05's openapi v0.0.38 layout and the newer
//! shapes) and `sacct -P` (the accounting database, or the job completion log with `-c`). Array
//! jobs keep their identity: a running task is `5_3`, pending tasks still held in one record are
//! `102_[1-5]`, and a raw job id is never shown for either, because acting on a raw id can reach
//! the whole array (the array's first record carries the array's own id).

use serde_json::Value;

use super::parse::{expand_hosts, number, parse_time, text, top};

/// Where a job stands in an array.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Array {
    /// Not an array job.
    #[default]
    None,
    /// One task of array `job`.
    Task {
        /// The array's id.
        job: u64,
        /// The task's index.
        task: u32,
    },
    /// Tasks of array `job` not yet started, held in one record (`1-5`, `1-2,4-5`, `1-9%2`).
    Pending {
        /// The array's id.
        job: u64,
        /// The tasks, as Slurm writes them.
        tasks: String,
    },
}

/// How a job ended: its exit status and the signal that ended it, apart, as Slurm keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// Exit status (0 when a signal ended it).
    pub code: i32,
    /// The signal that ended it (0: none).
    pub signal: i32,
}

impl Exit {
    /// From a raw wait status (squeue's `exit_code` in 22.05).
    pub fn from_wait_status(raw: i64) -> Self {
        if raw & 0x7f == 0 {
            Self {
                code: ((raw >> 8) & 0xff) as i32,
                signal: 0,
            }
        } else {
            Self {
                code: 0,
                signal: (raw & 0x7f) as i32,
            }
        }
    }

    /// From sacct's and scontrol's `code:signal`.
    pub fn from_pair(s: &str) -> Option<Self> {
        let (code, sig) = s.trim().split_once(':').unwrap_or((s.trim(), "0"));
        Some(Self {
            code: code.parse().ok()?,
            signal: sig.parse().ok()?,
        })
    }

    /// The shell's convention: the status, or 128 + the signal.
    pub fn shell_status(self) -> i32 {
        if self.signal > 0 {
            128 + self.signal
        } else {
            self.code
        }
    }
}

/// A job as squeue or sacct reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlurmJob {
    /// The raw job id (unique per record; for an array task not the id to act on).
    pub id: u64,
    /// Its place in an array.
    pub array: Array,
    /// Name.
    pub name: String,
    /// Owner.
    pub user: String,
    /// State, upper case (RUNNING, PENDING, COMPLETED, CANCELLED, FAILED, …).
    pub state: String,
    /// Node list expression (`c[1-2]`); empty when it never ran.
    pub nodes: String,
    /// Partition.
    pub partition: String,
    /// CPUs allocated or asked for.
    pub cpus: u32,
    /// Nodes allocated or asked for.
    pub node_count: u32,
    /// Epoch seconds (0: unknown).
    pub submit: u64,
    /// Epoch seconds (0: not started).
    pub start: u64,
    /// Epoch seconds (0: not ended; a pending job's is an estimate and not kept).
    pub end: u64,
    /// Time limit in minutes (none: unlimited or not known).
    pub time_limit: Option<u64>,
    /// Scheduling priority.
    pub priority: u64,
    /// QOS.
    pub qos: String,
    /// Account.
    pub account: String,
    /// Dependencies, as Slurm writes them.
    pub dependency: String,
    /// Why it waits (or why it ended, for some states).
    pub reason: String,
    /// How it ended, when it has.
    pub exit: Option<Exit>,
    /// Output file: the pattern Slurm holds (`out-%j.txt`; empty: Slurm's default).
    pub stdout: String,
    /// Error file pattern (empty: with the output).
    pub stderr: String,
    /// Working directory (relative output paths are under it).
    pub workdir: String,
    /// Read from accounting: the controller no longer holds it.
    pub from_accounting: bool,
}

/// States in which a job still lives.
pub fn is_live_state(state: &str) -> bool {
    matches!(
        state,
        "PENDING"
            | "RUNNING"
            | "SUSPENDED"
            | "CONFIGURING"
            | "COMPLETING"
            | "REQUEUED"
            | "REQUEUE_HOLD"
            | "REQUEUE_FED"
            | "RESIZING"
            | "SIGNALING"
            | "STAGE_OUT"
    )
}

impl SlurmJob {
    /// The id Slurm users know it by and every command is given: `5_3`, `102_[1-5]`, `17`.
    pub fn label(&self) -> String {
        match &self.array {
            Array::None => self.id.to_string(),
            Array::Task { job, task } => format!("{job}_{task}"),
            Array::Pending { job, tasks } => format!("{job}_[{tasks}]"),
        }
    }

    /// The array it belongs to.
    pub fn array_job(&self) -> Option<u64> {
        match self.array {
            Array::None => None,
            Array::Task { job, .. } | Array::Pending { job, .. } => Some(job),
        }
    }

    /// How many jobs the record stands for (a pending array record: its tasks).
    pub fn count(&self) -> usize {
        match &self.array {
            Array::Pending { tasks, .. } => task_indices(tasks).len().max(1),
            _ => 1,
        }
    }

    /// Whether the job still lives.
    pub fn live(&self) -> bool {
        is_live_state(&self.state)
    }

    /// Where its output (`err`: error) goes, as a path: Slurm's pattern expanded the way
    /// slurmstepd expands it, relative to its working directory; Slurm's default when none
    /// was given. None when it cannot be known (no working directory).
    pub fn output_path(&self, err: bool) -> Option<String> {
        let pattern = match (err, self.stderr.as_str(), self.stdout.as_str()) {
            (true, e, _) if !e.is_empty() => e,
            (_, _, o) if !o.is_empty() => o,
            _ => match self.array {
                Array::None => "slurm-%j.out",
                _ => "slurm-%A_%a.out",
            },
        };
        let path = expand_pattern(pattern, self);
        if path.starts_with('/') {
            Some(path)
        } else if self.workdir.is_empty() || self.workdir == "(null)" {
            None
        } else {
            Some(format!("{}/{path}", self.workdir.trim_end_matches('/')))
        }
    }
}

/// slurmstepd's filename pattern, for a batch script: `%j` job, `%A` array, `%a` task, `%x`
/// name, `%u` user, `%N` first node, `%n`/`%t` 0, `%s` batch, `%%`; digits pad with zeros.
fn expand_pattern(pattern: &str, j: &SlurmJob) -> String {
    let (array, task) = match j.array {
        Array::Task { job, task } => (job, Some(task)),
        _ => (j.id, None),
    };
    let first_node = expand_hosts(&j.nodes)
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut width = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(*d);
            chars.next();
        }
        let w: usize = width.parse().unwrap_or(0).min(10);
        let num = |n: u64| format!("{n:0w$}");
        match chars.next() {
            Some('%') => out.push('%'),
            Some('j') | Some('J') => out.push_str(&num(j.id)),
            Some('A') => out.push_str(&num(array)),
            Some('a') => out.push_str(&task.map_or_else(|| "4294967294".into(), |t| num(t.into()))),
            Some('x') => out.push_str(&j.name),
            Some('u') => out.push_str(&j.user),
            Some('N') => out.push_str(&first_node),
            Some('n') | Some('t') => out.push_str(&num(0)),
            Some('s') => out.push_str("batch"),
            Some(other) => {
                out.push('%');
                out.push_str(&width);
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// The task indices of an array expression (`1-5`, `1-2,4-5`, `1-9:2`, `1-9%2`), at most
/// 1,000,000 of them.
pub fn task_indices(tasks: &str) -> Vec<u32> {
    let spec = tasks.split('%').next().unwrap_or("");
    let mut out = Vec::new();
    for part in spec.split(',').filter(|p| !p.is_empty()) {
        let (range, step) = part.split_once(':').unwrap_or((part, "1"));
        let step: u32 = step.parse().unwrap_or(1).max(1);
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        let (Ok(lo), Ok(hi)) = (lo.parse::<u32>(), hi.parse::<u32>()) else {
            continue;
        };
        let mut i = lo;
        while i <= hi && out.len() < 1_000_000 {
            out.push(i);
            match i.checked_add(step) {
                Some(n) => i = n,
                None => break,
            }
        }
    }
    out
}

/// Whether `s` is empty or an array task expression as Slurm writes one (`1-5`, `1,3-5:2%4`).
fn is_task_expression(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_digit() || ",-:%".contains(c))
}

/// Reads `squeue --json`.
pub fn squeue(json: &str) -> Result<Vec<SlurmJob>, String> {
    let doc: Value = serde_json::from_str(json).map_err(|e| format!("squeue --json: {e}"))?;
    let mut out = Vec::new();
    for j in top(&doc, "jobs", "squeue --json")? {
        let Some(id) = number(j.get("job_id")) else {
            return Err("squeue --json: a job without job_id".into());
        };
        let id = id.max(0) as u64;
        // Without its state a job would pass for finished: refuse the answer instead.
        let state = text(j.get("job_state")).to_uppercase();
        if state.is_empty() {
            return Err(format!("squeue --json: job {id} without job_state"));
        }
        let array_job = number(j.get("array_job_id")).unwrap_or(0).max(0) as u64;
        // It becomes part of the job's label, which commands are given: only what Slurm's
        // task expressions hold (digits, `,-:%`) is taken.
        let pending_tasks = text(j.get("array_task_string"));
        if !is_task_expression(&pending_tasks) {
            return Err(format!(
                "squeue --json: job {id} has a malformed array_task_string {pending_tasks:?}"
            ));
        }
        let array = if array_job == 0 {
            Array::None
        } else if !pending_tasks.is_empty() {
            Array::Pending {
                job: array_job,
                tasks: pending_tasks,
            }
        } else {
            match number(j.get("array_task_id")) {
                Some(t) if (0..=u32::MAX as i64).contains(&t) => Array::Task {
                    job: array_job,
                    task: t as u32,
                },
                _ => Array::None,
            }
        };
        let live = is_live_state(&state);
        let time_limit = number(j.get("time_limit"))
            .filter(|m| *m > 0 && *m < 525_600 * 10)
            .map(|m| m as u64);
        out.push(SlurmJob {
            id,
            array,
            name: text(j.get("name")),
            user: text(j.get("user_name")),
            nodes: text(j.get("nodes")),
            partition: text(j.get("partition")),
            cpus: number(j.get("cpus")).unwrap_or(0).clamp(0, u32::MAX as i64) as u32,
            node_count: number(j.get("node_count"))
                .unwrap_or(0)
                .clamp(0, u32::MAX as i64) as u32,
            submit: number(j.get("submit_time")).unwrap_or(0).max(0) as u64,
            start: number(j.get("start_time")).unwrap_or(0).max(0) as u64,
            // A live job's end is the scheduler's estimate, not an event.
            end: if live {
                0
            } else {
                number(j.get("end_time")).unwrap_or(0).max(0) as u64
            },
            time_limit,
            priority: number(j.get("priority")).unwrap_or(0).max(0) as u64,
            qos: text(j.get("qos")),
            account: text(j.get("account")),
            dependency: text(j.get("dependency")),
            reason: text(j.get("state_reason")),
            exit: if live {
                None
            } else {
                exit_status(j.get("exit_code"))
            },
            stdout: text(j.get("standard_output")),
            stderr: text(j.get("standard_error")),
            workdir: text(j.get("current_working_directory")),
            state,
            from_accounting: false,
        });
    }
    Ok(out)
}

/// The exit, from 22.05's raw wait status or the newer `{status, return_code, signal}`.
fn exit_status(v: Option<&Value>) -> Option<Exit> {
    match v? {
        Value::Object(o) if o.contains_key("return_code") || o.contains_key("signal") => {
            let code = number(o.get("return_code")).unwrap_or(0) as i32;
            let signal = o
                .get("signal")
                .and_then(|s| number(s.get("id")).or_else(|| number(Some(s))))
                .unwrap_or(0) as i32;
            Some(Exit { code, signal })
        }
        other => number(Some(other)).map(Exit::from_wait_status),
    }
}

/// The fields asked of sacct, in this order (the parser finds them by name).
pub const SACCT_FIELDS: &str = "JobID,JobIDRaw,JobName,UID,Partition,NNodes,NCPUS,NodeList,State,ExitCode,Submit,Start,End,WorkDir,Timelimit";

/// Jobs of `sacct -X -P -o SACCT_FIELDS` (times as epoch seconds or Slurm's ISO form). Array
/// tasks come as `5_3` from the database; the completion log (`-c`) knows only raw ids.
pub fn sacct(out: &str, user_of: impl Fn(&str) -> String) -> Vec<SlurmJob> {
    let mut lines = out.lines();
    let Some(head) = lines.next() else {
        return Vec::new();
    };
    let cols: Vec<&str> = head.split('|').collect();
    let col = |row: &[&str], name: &str| -> String {
        cols.iter()
            .position(|c| *c == name)
            .and_then(|i| row.get(i))
            .map(|s| s.to_string())
            .unwrap_or_default()
    };
    lines
        .filter_map(|l| {
            let row: Vec<&str> = l.split('|').collect();
            // A `|` inside a job name would shift every later column (owner, state, working
            // directory): such a row is left out rather than read wrong.
            if row.len() != cols.len() {
                tracing::warn!(
                    "sacct: a row with {} fields under {} columns left out",
                    row.len(),
                    cols.len()
                );
                return None;
            }
            let job_id = col(&row, "JobID");
            // Steps (5.batch) are not jobs.
            if job_id.contains('.') {
                return None;
            }
            let raw: Option<u64> = col(&row, "JobIDRaw").parse().ok();
            let (id, array) = match job_id.split_once('_') {
                Some((a, t)) => {
                    let a: u64 = a.parse().ok()?;
                    let array = match t.parse::<u32>() {
                        Ok(task) => Array::Task { job: a, task },
                        Err(_) => Array::Pending {
                            job: a,
                            tasks: t.trim_start_matches('[').trim_end_matches(']').to_string(),
                        },
                    };
                    (raw.unwrap_or(a), array)
                }
                None => (job_id.parse().ok().or(raw)?, Array::None),
            };
            let nodes = col(&row, "NodeList");
            let workdir = col(&row, "WorkDir");
            Some(SlurmJob {
                id,
                array,
                name: col(&row, "JobName"),
                user: user_of(&col(&row, "UID")),
                state: col(&row, "State")
                    .split(' ')
                    .next()
                    .unwrap_or("")
                    .to_string(),
                // "None assigned" (never ran) and "(null)" name no node.
                nodes: if nodes.starts_with("None") || nodes == "(null)" {
                    String::new()
                } else {
                    nodes
                },
                partition: col(&row, "Partition"),
                cpus: col(&row, "NCPUS").parse().unwrap_or(0),
                node_count: col(&row, "NNodes").parse().unwrap_or(0),
                submit: parse_time(&col(&row, "Submit")),
                start: parse_time(&col(&row, "Start")),
                end: parse_time(&col(&row, "End")),
                time_limit: col(&row, "Timelimit").parse().ok().filter(|m| *m > 0),
                exit: Exit::from_pair(&col(&row, "ExitCode")),
                workdir: if workdir == "(null)" {
                    String::new()
                } else {
                    workdir
                },
                from_accounting: true,
                ..SlurmJob::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/slurm")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn real_squeue_keeps_jobs_and_exits() {
        let jobs = squeue(&fixture("squeue_multinode.json")).unwrap();
        let j = &jobs[0];
        assert_eq!(
            (j.id, j.name.as_str(), j.state.as_str()),
            (1, "onc1", "CANCELLED")
        );
        assert_eq!(
            j.exit,
            Some(Exit {
                code: 0,
                signal: 15
            })
        );
        assert_eq!(j.exit.unwrap().shell_status(), 143);
        assert!(squeue(&fixture("squeue.json")).is_ok());
    }

    #[test]
    fn real_array_jobs_are_named_as_slurm_names_them() {
        let jobs = squeue(&fixture("squeue_array.json")).unwrap();
        let labels: Vec<String> = jobs.iter().map(SlurmJob::label).collect();
        // The array's own record (raw id 1) is its last task: never shown as "1".
        assert!(labels.contains(&"1_5".to_string()), "{labels:?}");
        assert!(labels.contains(&"1_1".to_string()));
        let pending = jobs.iter().find(|j| j.label() == "2_[1-5]").unwrap();
        assert_eq!(pending.count(), 5);
        assert_eq!(pending.state, "PENDING");
        assert_eq!(pending.reason, "JobHeldUser");
        let task = jobs.iter().find(|j| j.label() == "1_5").unwrap();
        assert_eq!((task.id, task.array_job()), (1, Some(1)));
        assert_eq!(
            task.output_path(false).as_deref(),
            Some("/tmp/sl/out/1_5.out")
        );
    }

    #[test]
    fn a_crafted_task_string_or_a_pipe_in_a_name_is_not_read() {
        let bad = r#"{"jobs":[{"job_id":5,"array_job_id":5,"array_task_string":"1],17","job_state":"PENDING"}]}"#;
        assert!(
            squeue(bad)
                .unwrap_err()
                .contains("malformed array_task_string")
        );
        let db = "JobID|JobIDRaw|JobName|UID|State|WorkDir\n\
                  7|7|evil|0|COMPLETED|/root|1000|FAILED|/home/x\n\
                  8|8|fine|1000|FAILED|/home/x\n";
        let jobs = sacct(db, str::to_string);
        assert_eq!(jobs.len(), 1);
        assert_eq!((jobs[0].id, jobs[0].user.as_str()), (8, "1000"));
    }

    #[test]
    fn task_expressions() {
        assert_eq!(task_indices("1-2,4-5"), vec![1, 2, 4, 5]);
        assert_eq!(task_indices("1-9:4%2"), vec![1, 5, 9]);
        assert_eq!(task_indices("7"), vec![7]);
        assert!(task_indices("x-y").is_empty());
        assert_eq!(task_indices("0-4294967295").len(), 1_000_000);
    }

    #[test]
    fn output_patterns() {
        let j = SlurmJob {
            id: 42,
            name: "sim".into(),
            user: "al".into(),
            nodes: "c[3-4]".into(),
            workdir: "/home/al/run/".into(),
            stdout: "logs/%x-%j-%N-%4a.out".into(),
            array: Array::Task { job: 40, task: 2 },
            ..SlurmJob::default()
        };
        assert_eq!(
            j.output_path(false).as_deref(),
            Some("/home/al/run/logs/sim-42-c3-0002.out")
        );
        assert_eq!(j.output_path(true), j.output_path(false));
        let plain = SlurmJob {
            id: 7,
            workdir: "/w".into(),
            ..SlurmJob::default()
        };
        assert_eq!(plain.output_path(true).as_deref(), Some("/w/slurm-7.out"));
        let nowhere = SlurmJob::default();
        assert_eq!(nowhere.output_path(false), None);
    }

    #[test]
    fn sacct_from_the_completion_log_and_the_database() {
        let jobs = sacct(&fixture("sacct_completion.txt"), |u| {
            if u == "0" { "root".into() } else { u.into() }
        });
        assert_eq!(jobs[0].id, 1);
        assert_eq!(jobs[0].user, "root");
        assert_eq!(jobs[0].state, "COMPLETED");
        let db = "JobID|JobIDRaw|JobName|UID|Partition|NNodes|NCPUS|NodeList|State|ExitCode|Submit|Start|End|WorkDir|Timelimit\n\
            5_3|9|arr|1000|debug|1|1|c2|CANCELLED by 0|0:15|100|110|120|/w|60\n\
            5.batch|5|batch|||1|1|c2|CANCELLED|0:15|100|110|120||\n\
            6|6|never|1000|debug|1|1|None assigned|CANCELLED by 0|0:0|100|Unknown|130|/w|\n\
            7_[2-4]|7|arr|1000|debug|1|1|None assigned|PENDING|0:0|100|Unknown|Unknown|/w|\n";
        let jobs = sacct(db, str::to_string);
        assert_eq!(jobs.len(), 3);
        assert_eq!(jobs[0].label(), "5_3");
        assert_eq!(jobs[0].id, 9);
        assert_eq!(jobs[0].state, "CANCELLED");
        assert_eq!(
            jobs[0].exit,
            Some(Exit {
                code: 0,
                signal: 15
            })
        );
        assert_eq!(
            (jobs[0].submit, jobs[0].start, jobs[0].end),
            (100, 110, 120)
        );
        assert_eq!(jobs[0].time_limit, Some(60));
        assert_eq!(jobs[1].nodes, "");
        assert_eq!(jobs[1].start, 0);
        assert_eq!(jobs[2].label(), "7_[2-4]");
        assert!(jobs.iter().all(|j| j.from_accounting));
    }
}
