//! What an operator does to Slurm jobs, and what Slurm really did. 22.05's scancel exits 0 for a
//! job it does not know and writes the error only to slurmctld's log; a signal to a pending job
//! retries for a minute and a half before failing; so every action is checked before (is the job
//! there, in a state the action applies to) and after (what state it is in now), and the result
//! shown is that state, or Slurm's own message, whole. Through slurmrestd the checks read its
//! `/jobs` and the actions its API has go through it (see `rest.rs`); the others run the
//! commands.

use std::time::Duration;

use super::jobs::task_indices;
use super::link::{CmdKind, Runner};
use crate::cm::job::Signal;

/// An action on jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlurmAct {
    /// End the job as `scancel` does: TERM, KillWait, KILL; it ends CANCELLED. A pending job
    /// is cancelled at once.
    Cancel,
    /// Send a signal without cancelling: to the job's steps, and to the batch shell too when
    /// `batch` is set.
    Signal {
        /// Which.
        signal: Signal,
        /// The batch shell too.
        batch: bool,
    },
    /// Keep a pending job from starting.
    Hold,
    /// Let a held job start.
    Release,
    /// Put a running job back in the queue.
    Requeue,
    /// Stop a running job's processes, keeping its allocation.
    Suspend,
    /// Continue a suspended job.
    Resume,
    /// A new time limit (`MM`, `HH:MM:SS`, `D-HH`, `UNLIMITED`, or `+MM`/`-MM` relative).
    TimeLimit(String),
}

impl std::fmt::Display for SlurmAct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cancel => write!(f, "cancel"),
            Self::Signal { signal, batch } => write!(
                f,
                "signal {signal} to the steps{}",
                if *batch { " and the batch shell" } else { "" }
            ),
            Self::Hold => write!(f, "hold"),
            Self::Release => write!(f, "release"),
            Self::Requeue => write!(f, "requeue"),
            Self::Suspend => write!(f, "suspend"),
            Self::Resume => write!(f, "resume"),
            Self::TimeLimit(t) => write!(f, "set the time limit to {t}"),
        }
    }
}

/// Jobs named as Slurm names them (`17`, `5_3`, `5` for a whole array, `102_[1-5]`), and what
/// to do to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmCommand {
    /// The jobs.
    pub jobs: Vec<String>,
    /// The action.
    pub act: SlurmAct,
}

/// One job's outcome: what it is now, or why not.
pub type Outcome = (String, Result<String, String>);

/// How long Slurm gets to show an action's effect.
const SETTLE: Duration = Duration::from_secs(5);

/// What to ask of Slurm's power saving for some nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerChange {
    /// Power up (ResumeProgram).
    Up,
    /// Power down now (SuspendProgram): for nodes that run nothing.
    Down,
    /// Drain, then power down once the running jobs end (`POWER_DOWN_ASAP`): for nodes that
    /// run jobs, which a plain power down would not wait for.
    DownAfterJobs,
}

impl PowerChange {
    /// Slurm's word for the state asked for.
    pub fn state(self) -> &'static str {
        match self {
            PowerChange::Up => "POWER_UP",
            PowerChange::Down => "POWER_DOWN",
            PowerChange::DownAfterJobs => "POWER_DOWN_ASAP",
        }
    }
}

impl std::fmt::Display for PowerChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PowerChange::Up => "power up",
            PowerChange::Down => "power down",
            PowerChange::DownAfterJobs => "power down after their jobs",
        })
    }
}

/// Asks Slurm to power nodes up or down (`scontrol update NodeName=… State=POWER_UP|
/// POWER_DOWN|POWER_DOWN_ASAP`; Slurm decides who may) and reads each node's state after:
/// what it says now, or Slurm's own message.
pub async fn power(r: &Runner, nodes: &[String], change: PowerChange) -> Vec<Outcome> {
    let valid = |n: &String| {
        !n.is_empty()
            && n.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'[' | b']' | b',')
            })
    };
    if let Some(bad) = nodes.iter().find(|n| !valid(n)) {
        return vec![(bad.clone(), Err("not a node name".into()))];
    }
    let list = nodes.join(",");
    let args = vec![
        "update".to_string(),
        format!("NodeName={list}"),
        format!("State={}", change.state()),
    ];
    if let Err(e) = r.ok(CmdKind::Act, "scontrol", &args).await {
        return nodes.iter().map(|n| (n.clone(), Err(e.clone()))).collect();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut out = Vec::new();
    for n in nodes {
        let args = vec![
            "-h".to_string(),
            "-N".into(),
            "-n".into(),
            n.clone(),
            "-o".into(),
            "%T".into(),
        ];
        out.push((
            n.clone(),
            match r.ok(CmdKind::Act, "sinfo", &args).await {
                Ok(s) => Ok(s.lines().next().unwrap_or_default().trim().to_string()),
                Err(e) => Err(e),
            },
        ));
    }
    out
}

/// States of each job and array task named: `label → (state, reason)`. A whole array `5` and
/// a pending record `5_[1-3]` are asked for task by task.
async fn states(r: &Runner, labels: &[String]) -> Result<Vec<(String, String, String)>, String> {
    if let Some(rest) = &r.rest {
        // The API has no filter: every job, matched to the labels by `of`.
        return rest.states().await;
    }
    let mut ids = Vec::new();
    for l in labels {
        match l.split_once("_[") {
            Some((job, tasks)) => ids.extend(
                task_indices(tasks.trim_end_matches(']'))
                    .into_iter()
                    .take(10_000)
                    .map(|t| format!("{job}_{t}")),
            ),
            None => ids.push(l.clone()),
        }
    }
    let args = [
        "-h".to_string(),
        "-t".into(),
        "all".into(),
        "-j".into(),
        ids.join(","),
        "-o".into(),
        "%i|%A|%T|%r".into(),
    ];
    let o = r.run(CmdKind::Act, "squeue", &args).await?;
    // An id the controller has forgotten makes squeue fail for the whole list when it is the
    // only one; otherwise it is left out. Either way, a missing job is "not known".
    if !o.ok && !o.stderr.contains("Invalid job id") {
        return Err(lines(&o.stderr, "squeue failed"));
    }
    Ok(parse_states(&o.stdout))
}

/// `squeue -h -t all -o '%i|%A|%T|%r'`: (job as Slurm names it, state, reason) per line.
pub fn parse_states(out: &str) -> Vec<(String, String, String)> {
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            Some((
                f.first()?.to_string(),
                f.get(2)?.to_string(),
                f.get(3).unwrap_or(&"").to_string(),
            ))
        })
        .collect()
}

/// The rows that belong to `label`: the job itself, or every task of an array.
fn of<'a>(label: &str, all: &'a [(String, String, String)]) -> Vec<&'a (String, String, String)> {
    let whole_array = !label.contains('_');
    let stem = label.split("_[").next().unwrap_or(label);
    all.iter()
        .filter(|(id, _, _)| {
            id == label
                || (whole_array && id.split('_').next() == Some(label))
                || (label.contains("_[") && id.split('_').next() == Some(stem))
        })
        .collect()
}

/// Slurm's message, line by line, without its `scancel: error:` prefixes repeated.
fn lines(stderr: &str, fallback: &str) -> String {
    let text: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if text.is_empty() {
        fallback.to_string()
    } else {
        text.join("\n")
    }
}

/// A summary of states: `CANCELLED`, or `3 CANCELLED, 2 RUNNING` for an array.
fn summary(rows: &[&(String, String, String)]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (_, state, _) in rows {
        match counts.iter_mut().find(|(s, _)| s == state) {
            Some((_, n)) => *n += 1,
            None => counts.push((state.clone(), 1)),
        }
    }
    if rows.len() == 1 {
        return rows[0].1.clone();
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the action has visibly taken effect on every row.
fn took_effect(act: &SlurmAct, rows: &[&(String, String, String)]) -> bool {
    !rows.is_empty()
        && rows.iter().all(|(_, state, reason)| match act {
            SlurmAct::Cancel => !matches!(state.as_str(), "RUNNING" | "PENDING" | "SUSPENDED"),
            SlurmAct::Hold => state != "PENDING" || reason.contains("Held"),
            SlurmAct::Release => !reason.contains("Held"),
            SlurmAct::Suspend => state != "RUNNING",
            SlurmAct::Resume => state != "SUSPENDED",
            SlurmAct::Requeue => state != "RUNNING",
            SlurmAct::Signal { .. } | SlurmAct::TimeLimit(_) => true,
        })
}

/// The command line for one job.
fn command_for(act: &SlurmAct, job: &str) -> (&'static str, Vec<String>) {
    let j = job.to_string();
    match act {
        SlurmAct::Cancel => ("scancel", vec![j]),
        SlurmAct::Signal { signal, batch } => {
            let mut args = vec![format!("--signal={}", signal.as_str())];
            if *batch {
                args.push("--full".into());
            }
            args.push(j);
            ("scancel", args)
        }
        SlurmAct::Hold => ("scontrol", vec!["hold".into(), j]),
        SlurmAct::Release => ("scontrol", vec!["release".into(), j]),
        SlurmAct::Requeue => ("scontrol", vec!["requeue".into(), j]),
        SlurmAct::Suspend => ("scontrol", vec!["suspend".into(), j]),
        SlurmAct::Resume => ("scontrol", vec!["resume".into(), j]),
        SlurmAct::TimeLimit(t) => (
            "scontrol",
            vec![
                "update".into(),
                format!("JobId={j}"),
                format!("TimeLimit={t}"),
            ],
        ),
    }
}

/// Why the action cannot apply to a job in `rows`' states, before anything is sent.
fn refused(act: &SlurmAct, label: &str, rows: &[&(String, String, String)]) -> Option<String> {
    if rows.is_empty() {
        return Some(format!(
            "Slurm does not know job {label} (ended and forgotten?)"
        ));
    }
    let live = |s: &str| matches!(s, "RUNNING" | "PENDING" | "SUSPENDED" | "CONFIGURING");
    if !rows.iter().any(|(_, s, _)| live(s)) {
        return Some(format!("job {label} has already ended ({})", summary(rows)));
    }
    if let SlurmAct::Signal { .. } = act
        && !rows
            .iter()
            .any(|(_, s, _)| matches!(s.as_str(), "RUNNING" | "SUSPENDED"))
    {
        // scancel would retry for 95 s and then fail.
        return Some(format!(
            "job {label} is pending: it has no processes to signal yet (cancel it instead)"
        ));
    }
    None
}

/// Carries out `cmd` job by job and reports what Slurm did to each.
pub async fn carry_out(r: &Runner, cmd: &SlurmCommand) -> Vec<Outcome> {
    let before = match states(r, &cmd.jobs).await {
        Ok(s) => s,
        Err(e) => {
            return cmd
                .jobs
                .iter()
                .map(|j| (j.clone(), Err(e.clone())))
                .collect();
        }
    };
    let mut sent = Vec::new();
    let mut out: Vec<Outcome> = Vec::new();
    for job in &cmd.jobs {
        let rows = of(job, &before);
        if let Some(why) = refused(&cmd.act, job, &rows) {
            out.push((job.clone(), Err(why)));
            continue;
        }
        // A whole array with tasks still pending: a signal goes to the running tasks only.
        let targets: Vec<String> = match &cmd.act {
            SlurmAct::Signal { .. } if rows.len() > 1 => rows
                .iter()
                .filter(|(_, s, _)| matches!(s.as_str(), "RUNNING" | "SUSPENDED"))
                .map(|(id, _, _)| id.clone())
                .collect(),
            _ => vec![job.clone()],
        };
        let mut failed = None;
        for t in &targets {
            // Through slurmrestd when its API has the action; else the command.
            if let Some(rest) = &r.rest
                && let Some(res) = rest.act(&cmd.act, t).await
            {
                if let Err(e) = res {
                    failed = Some(e);
                }
                continue;
            }
            let (prog, args) = command_for(&cmd.act, t);
            match r.run(CmdKind::Act, prog, &args).await {
                Ok(o) if o.ok && o.stderr.is_empty() => {}
                Ok(o) if o.ok => tracing::info!("{prog} {t}: {}", o.stderr.escape_debug()),
                Ok(o) => failed = Some(lines(&o.stderr, &format!("{prog} failed"))),
                Err(e) => failed = Some(e),
            }
        }
        match failed {
            Some(e) => out.push((job.clone(), Err(e))),
            None => sent.push(job.clone()),
        }
    }
    if sent.is_empty() {
        return out;
    }
    // What Slurm made of it, asked again until it shows (or SETTLE passes).
    let deadline = tokio::time::Instant::now() + SETTLE;
    let mut after = Vec::new();
    loop {
        if let Ok(s) = states(r, &sent).await {
            after = s;
        }
        let settled = sent.iter().all(|j| took_effect(&cmd.act, &of(j, &after)));
        if settled || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for job in sent {
        let rows = of(&job, &after);
        let now = if rows.is_empty() && cmd.act == SlurmAct::Cancel {
            // A cancelled pending task leaves the queue at once.
            "cancelled; no longer in the queue".to_string()
        } else if rows.is_empty() {
            "gone from the queue".to_string()
        } else {
            summary(&rows)
        };
        let res = if took_effect(&cmd.act, &rows) || rows.is_empty() {
            Ok(match &cmd.act {
                SlurmAct::Signal { signal, .. } => format!("{signal} sent; {now}"),
                SlurmAct::Cancel if rows.iter().any(|r| r.1 == "COMPLETING") => format!(
                    "cancelled; {now} (its processes are still being stopped: TERM, KillWait, KILL)"
                ),
                _ => now,
            })
        } else {
            Err(format!(
                "Slurm accepted the {} but job {job} is still {now} after {} s",
                cmd.act,
                SETTLE.as_secs()
            ))
        };
        out.push((job, res));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, s: &str) -> (String, String, String) {
        (id.into(), s.into(), "None".into())
    }

    #[test]
    fn real_squeue_states() {
        let out = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/slurm/squeue_states.txt"),
        )
        .unwrap();
        let all = parse_states(&out);
        // Slurm 22.05: task 2 of array 1 cancelled, a held job, two tasks running; the unknown
        // id 999 asked for is simply absent.
        assert_eq!(all.len(), 4);
        assert_eq!(summary(&of("1_2", &all)), "CANCELLED");
        assert_eq!(summary(&of("1", &all)), "1 CANCELLED, 2 RUNNING");
        assert_eq!(of("2", &all)[0].2, "JobHeldUser");
        assert!(refused(&SlurmAct::Cancel, "999", &of("999", &all)).is_some());
        assert!(took_effect(&SlurmAct::Hold, &of("2", &all)));
    }

    #[test]
    fn a_label_names_its_rows_only() {
        let all = vec![
            row("5_1", "RUNNING"),
            row("5_2", "RUNNING"),
            row("51", "RUNNING"),
            row("7_3", "PENDING"),
            row("7_4", "PENDING"),
        ];
        assert_eq!(of("5_1", &all).len(), 1);
        assert_eq!(of("5", &all).len(), 2, "a whole array, not job 51");
        assert_eq!(of("7_[3-4]", &all).len(), 2);
        assert_eq!(summary(&of("5", &all)), "2 RUNNING");
    }

    #[test]
    fn refusals_before_sending() {
        let pending = [row("7", "PENDING")];
        let p: Vec<_> = pending.iter().collect();
        let sig = SlurmAct::Signal {
            signal: Signal::Term,
            batch: false,
        };
        assert!(refused(&sig, "7", &p).unwrap().contains("pending"));
        assert!(refused(&SlurmAct::Cancel, "7", &p).is_none());
        assert!(
            refused(&SlurmAct::Cancel, "8", &[])
                .unwrap()
                .contains("does not know")
        );
        let done = [row("9", "COMPLETED")];
        let d: Vec<_> = done.iter().collect();
        assert!(
            refused(&SlurmAct::Cancel, "9", &d)
                .unwrap()
                .contains("already ended")
        );
    }

    #[test]
    fn signal_commands() {
        let (p, a) = command_for(
            &SlurmAct::Signal {
                signal: Signal::Usr1,
                batch: true,
            },
            "5_3",
        );
        assert_eq!(
            (p, a.join(" ")),
            ("scancel", "--signal=USR1 --full 5_3".into())
        );
        let (_, a) = command_for(
            &SlurmAct::Signal {
                signal: Signal::Usr1,
                batch: false,
            },
            "5_3",
        );
        assert_eq!(a.join(" "), "--signal=USR1 5_3");
    }
}
