//! The Slurm backend behind the same link interface as a central manager: commands in, events
//! out. One task runs every Slurm command, one at a time, so never more than one of a kind is in
//! flight; the controller is polled every `poll_secs`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::act::{self, SlurmAct, SlurmCommand};
use super::detail;
use super::jobs::{self, SlurmJob};
use super::parse::{self, SlurmNode, expand_hosts};
use super::sbatch::{sbatch_args, submitted_id};
use super::text;
use super::usage;
use super::view::{self, Controller, SlurmView};
use crate::aggregator::now_epoch;
use crate::cm::job::Signal;
use crate::cm::proto::{JobSummary, NodeInfo, ProcInfo};
use crate::jobs::link::{Events, LinkHandle};
use crate::jobs::{JobCommand, JobEvent, LinkState, ManagerConfig, Target};

/// What a command is for, which decides how long it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmdKind {
    /// `scontrol ping` and the like: the controller answers at once or is in trouble.
    Ping,
    /// Part of a poll.
    Poll,
    /// What an operator asked for.
    Act,
}

/// How Slurm's commands are run.
#[derive(Debug, Clone)]
pub struct Runner {
    /// `SLURM_CONF`, if set.
    pub conf: Option<String>,
    /// Directory of the commands.
    pub bin_dir: Option<String>,
    /// How long one poll command may take (squeue of a big queue takes a while).
    pub poll_deadline: Duration,
    /// slurmrestd, when the transport is REST: the poll, submissions and the actions its API
    /// has go through it; the rest through the commands.
    pub rest: Option<Arc<super::rest::Rest>>,
}

impl Runner {
    /// A runner with the default deadlines.
    pub fn new(conf: Option<String>, bin_dir: Option<String>) -> Self {
        Self {
            conf,
            bin_dir,
            poll_deadline: CmdKind::Poll.deadline(),
            rest: None,
        }
    }

    /// The same, with slurmrestd as the transport.
    pub fn with_rest(mut self, rest: super::rest::Rest) -> Self {
        self.rest = Some(Arc::new(rest));
        self
    }

    fn deadline(&self, kind: CmdKind) -> Duration {
        match kind {
            CmdKind::Poll => self.poll_deadline,
            other => other.deadline(),
        }
    }
}

impl CmdKind {
    /// How long a command (or request) of this kind may take by default.
    pub fn deadline(self) -> Duration {
        match self {
            CmdKind::Ping => Duration::from_secs(3),
            CmdKind::Poll => Duration::from_secs(20),
            CmdKind::Act => Duration::from_secs(30),
        }
    }
}

/// A command's output.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit status.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error, trimmed.
    pub stderr: String,
}

impl Runner {
    /// Runs `cmd args` within the deadline of its kind; `Err` when it could not run at all
    /// or did not finish in time (it is killed then).
    pub async fn run(&self, kind: CmdKind, cmd: &str, args: &[String]) -> Result<Output, String> {
        self.run_env(kind, cmd, args, &[]).await
    }

    /// [`Runner::run`] with extra environment variables.
    pub async fn run_env(
        &self,
        kind: CmdKind,
        cmd: &str,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Result<Output, String> {
        let prog = match &self.bin_dir {
            Some(d) => PathBuf::from(d).join(cmd),
            None => PathBuf::from(cmd),
        };
        let mut c = tokio::process::Command::new(&prog);
        c.args(args)
            .kill_on_drop(true)
            .stdin(std::process::Stdio::null());
        if let Some(conf) = &self.conf {
            c.env("SLURM_CONF", conf);
        }
        c.envs(env.iter().copied());
        let limit = self.deadline(kind);
        let out = tokio::time::timeout(limit, c.output())
            .await
            .map_err(|_| {
                format!(
                    "{cmd} did not answer within {} s (is slurmctld hung?)",
                    limit.as_secs()
                )
            })?
            .map_err(|e| format!("cannot run {}: {e}", prog.display()))?;
        Ok(Output {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }

    /// Runs and insists on success; the error is Slurm's own text.
    pub async fn ok(&self, kind: CmdKind, cmd: &str, args: &[String]) -> Result<String, String> {
        let o = self.run(kind, cmd, args).await?;
        if o.ok {
            Ok(o.stdout)
        } else if o.stderr.is_empty() {
            Err(format!("{cmd} failed"))
        } else {
            Err(o.stderr)
        }
    }
}

fn s(v: &str) -> String {
    v.to_string()
}

/// The user running the console, and whether Slurm treats them as an administrator.
fn me() -> (String, bool) {
    // SAFETY: geteuid is always safe.
    let uid = unsafe { libc::geteuid() };
    let name = crate::cm::account::name_of(uid).unwrap_or_else(|| uid.to_string());
    (name, uid == 0)
}

/// Starts a Slurm backend for `cfg`.
pub fn spawn(cfg: ManagerConfig, runner: Runner, poll: Duration, events: Events) -> LinkHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(cfg, runner, poll, rx, events));
    LinkHandle::new(tx)
}

#[derive(Default)]
struct Seen {
    /// (node, row id) → job label, for the rows last shown.
    rows: HashMap<(String, u32), String>,
    /// Accounting's view of jobs (sacct), refreshed every few polls.
    history: Vec<SlurmJob>,
    /// Jobs seen live this session, kept after the controller drops them: their array task,
    /// output files and exit are what squeue said (the completion log forgets arrays and
    /// records a cancelled job's exit as 0:0).
    remembered: HashMap<u64, SlurmJob>,
    polls: u64,
    sacct_said: bool,
    /// sinfo's JSON was not understood and its text format is read instead (said once).
    sinfo_text: bool,
    /// CPU time per step at the last poll.
    cpu: usage::CpuTracker,
    /// Since when the controller has not answered, and what was said.
    down_since: Option<u64>,
    /// What commands look jobs up in, shared with the command loop.
    published: std::sync::Arc<parking_lot::Mutex<Lookup>>,
    /// Since when nodes have been idle, for the elastic rule.
    queue: crate::queue::Tracker,
    /// The elastic rule.
    rule: crate::queue::Rule,
}

async fn run(
    cfg: ManagerConfig,
    runner: Runner,
    poll: Duration,
    mut cmds: mpsc::UnboundedReceiver<JobCommand>,
    events: Events,
) {
    let emit = |e: JobEvent| {
        let _ = events.send((cfg.cluster.clone(), e));
    };
    let (user, admin) = me();
    let label = match &runner.rest {
        Some(rest) => format!("slurmrestd ({})", rest.url()),
        None => format!(
            "slurm{}",
            runner
                .conf
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ),
    };
    // Through slurmrestd, requests are made as the token's user.
    let (user, admin) = match &runner.rest {
        Some(rest) => {
            let u = rest.user();
            let admin = u == "root" || (admin && u == user);
            (u, admin)
        }
        None => (user, admin),
    };
    // The poll runs in a task of its own, one at a time, so a kill or a submission never waits
    // behind it; commands look jobs up in what the last poll saw.
    let published = std::sync::Arc::new(parking_lot::Mutex::new(Lookup::default()));
    let mut seen = Some(Seen {
        published: published.clone(),
        rule: cfg.queue,
        ..Seen::default()
    });
    let mut polling: Option<tokio::task::JoinHandle<(Seen, Result<(), String>)>> = None;
    let mut again = false;
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut healthy = None;
    loop {
        tokio::select! {
            cmd = cmds.recv() => {
                let Some(cmd) = cmd else {
                    if let Some(p) = &polling {
                        p.abort();
                    }
                    return;
                };
                let lookup = published.lock().clone();
                // A bug hit on what Slurm printed fails this action, and whatever waits on
                // it is told so.
                let on_failure = cmd.clone();
                match crate::guard::caught_async("a Slurm action", command(&runner, cmd, &lookup, &user, admin, &emit)).await {
                    Ok(a) => again |= a,
                    Err(e) => {
                        emit(on_failure.failed(&e.to_string()).unwrap_or(JobEvent::Note(e.to_string())));
                        again = true;
                    }
                }
            }
            _ = tick.tick() => again = true,
            done = async {
                match polling.as_mut() {
                    Some(p) => p.await,
                    None => std::future::pending().await,
                }
            } => {
                polling = None;
                let r = match done {
                    Ok((s, r)) => {
                        seen = Some(s);
                        r
                    }
                    Err(e) => {
                        seen = Some(Seen {
                            published: published.clone(),
                            rule: cfg.queue,
                            ..Seen::default()
                        });
                        Err(format!("the Slurm poll failed: {e}"))
                    }
                };
                let state = match &r {
                    Ok(()) => LinkState::LoggedIn(label.clone(), user.clone(), if admin { "admin".into() } else { "user".into() }),
                    // slurmrestd without a token: the login dialog takes one.
                    Err(_) if no_token(&runner).await => LinkState::Connected(label.clone()),
                    Err(e) => LinkState::Down(e.clone()),
                };
                if healthy.as_ref() != Some(&state) {
                    emit(JobEvent::State(state.clone()));
                    healthy = Some(state);
                }
            }
        }
        if again
            && polling.is_none()
            && let Some(mut s) = seen.take()
        {
            again = false;
            let (r, u, ev, cl) = (
                runner.clone(),
                user.clone(),
                events.clone(),
                cfg.cluster.clone(),
            );
            polling = Some(tokio::spawn(async move {
                let emit = move |e: JobEvent| {
                    let _ = ev.send((cl.clone(), e));
                };
                let res = refresh(&r, &mut s, &u, admin, &emit).await;
                (s, res)
            }));
        }
    }
}

/// Whether the transport is slurmrestd and no token is at hand.
async fn no_token(r: &Runner) -> bool {
    match &r.rest {
        Some(rest) => rest.needs_login().await,
        None => false,
    }
}

/// Jobs remembered after the controller drops them, at most.
const REMEMBER: usize = 20_000;

/// What commands look jobs up in: the last poll's rows and jobs.
#[derive(Default, Clone)]
struct Lookup {
    rows: HashMap<(String, u32), String>,
    view: Arc<SlurmView>,
}

fn summary(j: &SlurmJob) -> JobSummary {
    let done = !j.live();
    JobSummary {
        id: j.id,
        name: j.name.clone(),
        user: j.user.clone(),
        state: j.state.to_lowercase(),
        nodes: j.nodes.clone(),
        submitted: j.submit,
        started: (j.start > 0 && j.state != "PENDING").then_some(j.start),
        ended: (done && j.end > 0).then_some(j.end),
        exit: if done {
            j.exit.map(|e| e.shell_status())
        } else {
            None
        },
        reason: match j.exit {
            Some(e) if done && e.signal > 0 => format!(
                "exit status {}, ended by signal {}{}",
                e.code,
                e.signal,
                signal_name(e.signal)
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ),
            _ => String::new(),
        },
    }
}

fn signal_name(n: i32) -> Option<&'static str> {
    Some(match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// CPU and memory of every running job's steps from one `sstat` call, put on the jobs' rows
/// (a step's figures split evenly across its nodes). Without it (no job accounting plugin, an
/// older Slurm) the rows show none.
async fn step_usage(
    r: &Runner,
    seen: &mut Seen,
    running: &[&SlurmJob],
    procs: &mut [ProcInfo],
    leaders: &HashMap<(u64, String, String), Vec<usize>>,
) {
    if running.is_empty() {
        seen.cpu.keep_only(&[]);
        return;
    }
    // sstat takes raw ids (an array task's label would name the whole array's steps).
    let ids: Vec<String> = running.iter().map(|j| j.id.to_string()).collect();
    let args = [
        s("-a"),
        s("-P"),
        s("-n"),
        s("-o"),
        s(usage::SSTAT_FIELDS),
        s("-j"),
        ids.join(","),
    ];
    // sstat exits non-zero when any one job has no step yet; the others' lines still count.
    let steps = match r.run(CmdKind::Poll, "sstat", &args).await {
        Ok(o) => usage::parse_sstat(&o.stdout),
        Err(e) => {
            tracing::debug!("sstat: {e}");
            Vec::new()
        }
    };
    let now = std::time::Instant::now();
    let epoch = now_epoch();
    let by_id: HashMap<u64, &&SlurmJob> = running.iter().map(|j| (j.id, j)).collect();
    let measured: Vec<(usage::StepUsage, f32)> = steps
        .iter()
        .map(|u| {
            let started = by_id
                .get(&u.job)
                .filter(|j| j.start > 0 && j.start <= epoch)
                .map(|j| epoch - j.start);
            (u.clone(), seen.cpu.percent(u, now, started))
        })
        .collect();
    seen.cpu.keep_only(&steps);
    usage::apply(procs, leaders, &measured);
}

/// The last week's jobs from `sacct`: the accounting database when there is one, else the
/// job completion log (`-c`). Times come as epoch seconds (`SLURM_TIME_FORMAT=%s`), so the
/// controller's time zone does not matter.
pub async fn job_history(r: &Runner, all_users: bool) -> Result<Output, String> {
    accounting(r, all_users, "now-7days").await
}

/// Accounting's jobs since `since` (sacct's `-S`: `now-7days`, `2026-01-01`), from slurmdbd or
/// else the completion log.
pub async fn accounting(r: &Runner, all_users: bool, since: &str) -> Result<Output, String> {
    let mut args = vec![
        s("-X"),
        s("-P"),
        s("-S"),
        since.to_string(),
        s("-o"),
        s(jobs::SACCT_FIELDS),
    ];
    if all_users {
        args.push(s("-a"));
    }
    let env = [("SLURM_TIME_FORMAT", "%s")];
    let db = r.run_env(CmdKind::Poll, "sacct", &args, &env).await?;
    if db.ok {
        return Ok(db);
    }
    args.insert(0, s("-c"));
    r.run_env(CmdKind::Poll, "sacct", &args, &env).await
}

/// Whether the controller answers, asked with `scontrol ping` (which, unlike squeue, does not
/// retry for 9 s): Slurm's own words when it does not.
async fn ping(r: &Runner) -> Result<(), String> {
    if let Some(rest) = &r.rest {
        return rest.ping().await;
    }
    let o = r.run(CmdKind::Ping, "scontrol", &[s("ping")]).await?;
    ping_verdict(&o.stdout, &o.stderr)
}

/// What `scontrol ping` said: up when any controller is UP, else its first words.
pub fn ping_verdict(stdout: &str, stderr: &str) -> Result<(), String> {
    if stdout.contains("is UP") {
        return Ok(());
    }
    Err(stdout
        .lines()
        .chain(stderr.lines())
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('*'))
        .unwrap_or("scontrol ping: no answer")
        .to_string())
}

/// squeue's JSON when it could not reach the controller says only "Unspecified error": the
/// text form says why, and is asked for then (it is as quick, now the controller answers ping).
async fn squeue_jobs(r: &Runner) -> Result<Vec<SlurmJob>, String> {
    if let Some(rest) = &r.rest {
        return rest.jobs().await;
    }
    let out = r.ok(CmdKind::Poll, "squeue", &[s("--json")]).await?;
    match jobs::squeue(&out) {
        Ok(j) => Ok(j),
        Err(e) if e.contains("Unspecified error") => {
            match r
                .run(CmdKind::Ping, "squeue", &[s("-h"), s("-o"), s("%i")])
                .await
            {
                Ok(o) if !o.ok && !o.stderr.is_empty() => Err(o.stderr),
                _ => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

async fn refresh(
    r: &Runner,
    seen: &mut Seen,
    user: &str,
    admin: bool,
    emit: &impl Fn(JobEvent),
) -> Result<(), String> {
    let now = now_epoch();
    // A bug hit on what Slurm printed costs this poll, shown as the controller's state like
    // any failed poll, not the screen.
    let polled = crate::guard::caught_async(
        "the Slurm poll",
        poll_controller(r, seen, user, admin, emit),
    )
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    if let Err(e) = &polled {
        let since = *seen.down_since.get_or_insert(now);
        // The last lists stay (marked by the state); the views learn the controller's state.
        let mut view = (*seen.published.lock().view).clone();
        view.at = now;
        view.controller = Controller::Unreachable {
            since,
            message: e.clone(),
        };
        let view = Arc::new(view);
        seen.published.lock().view = view.clone();
        emit(JobEvent::Slurm(view));
    } else {
        seen.down_since = None;
    }
    polled
}

/// Nodes and partitions from sinfo: its JSON, or its text format for a JSON layout this build
/// does not know.
async fn cli_nodes(
    r: &Runner,
    seen: &mut Seen,
) -> Result<(Vec<SlurmNode>, Vec<view::Partition>), String> {
    let nodes = match parse::sinfo(&r.ok(CmdKind::Poll, "sinfo", &[s("--json")]).await?) {
        Ok(n) => n,
        // A JSON layout this build does not know: the text format says the same.
        Err(json_err) => {
            let args: Vec<String> = text::SINFO_ARGS.iter().map(|a| s(a)).collect();
            let nodes = text::sinfo_nodes(&r.ok(CmdKind::Poll, "sinfo", &args).await?);
            if nodes.is_empty() {
                return Err(json_err);
            }
            if !seen.sinfo_text {
                tracing::info!("sinfo --json not understood ({json_err}); reading its text format");
                seen.sinfo_text = true;
            }
            nodes
        }
    };
    let partitions = match r
        .run(
            CmdKind::Poll,
            "sinfo",
            &[
                s("-h"),
                s("-a"),
                s("-s"),
                s("-o"),
                s(view::SINFO_PARTITION_FORMAT),
            ],
        )
        .await
    {
        Ok(o) if o.ok => view::parse_partitions(&o.stdout),
        _ => Vec::new(),
    };
    Ok((nodes, partitions))
}

async fn poll_controller(
    r: &Runner,
    seen: &mut Seen,
    user: &str,
    admin: bool,
    emit: &impl Fn(JobEvent),
) -> Result<(), String> {
    ping(r).await?;
    let jobs = squeue_jobs(r).await?;
    let (nodes, mut partitions) = match &r.rest {
        Some(rest) => {
            let nodes = rest.nodes().await?;
            let partitions = rest.partitions(&nodes).await;
            (nodes, partitions)
        }
        None => cli_nodes(r, seen).await?,
    };
    // The queue's pressure counts every job (totals say nothing of whose they are).
    let rule = seen.rule;
    // Slurm acts on the queue itself where its power saving is set up.
    let slurm_powers = nodes.iter().any(|n| {
        n.flags.iter().any(|f| {
            matches!(
                f.as_str(),
                "CLOUD" | "POWERED_DOWN" | "POWERING_UP" | "POWERING_DOWN" | "POWER_DOWN"
            )
        })
    });
    if let Some(p) = seen.queue.observe(
        &crate::queue::slurm::jobs(&jobs),
        &crate::queue::slurm::nodes(&nodes),
        &rule,
        crate::aggregator::now_epoch(),
    ) {
        emit(JobEvent::Queue(std::sync::Arc::new(
            crate::queue::QueueReport {
                pressure: p,
                rule,
                actions: Vec::new(),
                acts: if slurm_powers {
                    "slurm".into()
                } else {
                    String::new()
                },
            },
        )));
    }
    // 22.05 ignores squeue's filters: keep what this user may see.
    let mine: Vec<SlurmJob> = jobs
        .into_iter()
        .filter(|j| admin || j.user == user)
        .collect();
    let mut procs = Vec::new();
    let mut rows = HashMap::new();
    let mut leaders: HashMap<(u64, String, String), Vec<usize>> = HashMap::new();
    let running: Vec<&SlurmJob> = mine.iter().filter(|j| j.state == "RUNNING").collect();
    // One row per running job per node: Slurm acts on jobs, and listing each job's pids would
    // take a command per job per poll. The row carries the sum of the job's steps there.
    for j in &running {
        for node in expand_hosts(&j.nodes) {
            let row_id = j.id as u32;
            rows.insert((node.clone(), row_id), j.label());
            leaders
                .entry((j.id, usage::WHOLE_JOB.into(), node.clone()))
                .or_default()
                .push(procs.len());
            procs.push(ProcInfo {
                node,
                pid: row_id,
                state: 'R',
                name: j.name.clone(),
                user: j.user.clone(),
                cpu_pct: 0.0,
                rss_kb: 0,
                job: j.label(),
                start: 0,
            });
        }
    }
    step_usage(r, seen, &running, &mut procs, &leaders).await;
    // Pending and suspended jobs have no process to show: one row each (a pending array's
    // record stands for all its tasks, as squeue shows it).
    for j in mine
        .iter()
        .filter(|j| matches!(j.state.as_str(), "PENDING" | "SUSPENDED"))
    {
        let node = if j.state == "PENDING" {
            "pending"
        } else {
            "suspended"
        };
        rows.insert((node.to_string(), j.id as u32), j.label());
        // The reason whole: the monitor's name column sizes to its content.
        let name = match (j.state.as_str(), j.count()) {
            ("PENDING", 1) => format!("{} ({})", j.name, j.reason),
            ("PENDING", n) => format!("{} ({n} tasks, {})", j.name, j.reason),
            _ => j.name.clone(),
        };
        procs.push(ProcInfo {
            node: node.into(),
            pid: j.id as u32,
            state: if j.state == "PENDING" { 'P' } else { 'T' },
            name,
            user: j.user.clone(),
            cpu_pct: 0.0,
            rss_kb: 0,
            job: j.label(),
            start: 0,
        });
    }
    // History from sacct every fourth poll, when accounting answers.
    if seen.polls.is_multiple_of(4) {
        match job_history(r, admin).await {
            Ok(o) if o.ok => {
                seen.history = jobs::sacct(&o.stdout, |uid| {
                    uid.parse()
                        .ok()
                        .and_then(crate::cm::account::name_of)
                        .unwrap_or_else(|| uid.to_string())
                })
                .into_iter()
                .filter(|j| admin || j.user == user)
                .collect();
            }
            Ok(o) => {
                if !seen.sacct_said {
                    emit(JobEvent::Note(format!(
                        "no job history from sacct ({}); showing the jobs the controller still holds",
                        o.stderr
                            .lines()
                            .next()
                            .unwrap_or("accounting is not answering")
                    )));
                    seen.sacct_said = true;
                }
            }
            Err(_) => {}
        }
    }
    seen.polls += 1;
    let held: std::collections::HashSet<u64> = mine.iter().map(|j| j.id).collect();
    // Jobs the controller held at the last poll and has dropped since: kept as squeue last
    // showed them (only those, so a poll does not copy the whole queue).
    let before = seen.published.lock().view.clone();
    for j in before
        .jobs
        .iter()
        .filter(|j| !j.from_accounting && !held.contains(&j.id))
    {
        seen.remembered.insert(j.id, j.clone());
    }
    if seen.remembered.len() > REMEMBER {
        let mut ids: Vec<u64> = seen.remembered.keys().copied().collect();
        ids.sort_unstable();
        for id in &ids[..ids.len() - REMEMBER] {
            seen.remembered.remove(id);
        }
    }
    let now = now_epoch();
    view::add_queue(&mut partitions, &mine, now);
    let mut all = mine;
    let in_history: std::collections::HashSet<u64> = seen.history.iter().map(|h| h.id).collect();
    for h in seen.history.iter().filter(|h| !held.contains(&h.id)) {
        all.push(aged_out(h, seen.remembered.get(&h.id)));
    }
    // Jobs seen live that neither the controller nor accounting still has.
    for (id, j) in &seen.remembered {
        if !held.contains(id) && !in_history.contains(id) {
            let mut j = j.clone();
            j.from_accounting = true;
            if j.live() {
                // It left the queue between two polls: how it ended is not known.
                j.state = "UNKNOWN".into();
            }
            all.push(j);
        }
    }
    let summaries: Vec<JobSummary> = all.iter().map(summary).collect();
    let node_infos = nodes
        .iter()
        .map(|n: &SlurmNode| NodeInfo {
            name: n.name.clone(),
            up: n.usable(),
            cpus: n.cpus,
            load1: n.load,
            runqueue: 0,
            mem_total_kb: n.real_memory * 1024,
            mem_free_kb: n.free_memory * 1024,
            // What Slurm has handed out: the migrate picker prefers nodes with CPUs free.
            procs: n.alloc_cpus,
        })
        .collect();
    emit(JobEvent::NodeStates(
        nodes
            .iter()
            .map(|n| (n.name.clone(), n.state_text(), n.reason.clone()))
            .collect(),
    ));
    let view = Arc::new(SlurmView {
        at: now,
        jobs: all,
        nodes,
        partitions,
        controller: Controller::Up,
    });
    seen.rows = rows;
    // Published before the lists go out: a command on a row just shown must find it.
    *seen.published.lock() = Lookup {
        rows: seen.rows.clone(),
        view: view.clone(),
    };
    emit(JobEvent::Slurm(view));
    emit(JobEvent::Lists {
        procs,
        nodes: node_infos,
        jobs: summaries,
    });
    Ok(())
}

/// A job accounting remembers, completed by what squeue said while it lived: the array task
/// (the completion log knows only raw ids), the output files, and an exit the completion log
/// records as 0:0 for a cancelled job.
fn aged_out(h: &SlurmJob, live: Option<&SlurmJob>) -> SlurmJob {
    let mut j = h.clone();
    if let Some(l) = live {
        if j.array == jobs::Array::None {
            j.array = l.array.clone();
        }
        j.stdout = l.stdout.clone();
        j.stderr = l.stderr.clone();
        if j.workdir.is_empty() {
            j.workdir = l.workdir.clone();
        }
        if j.submit == 0 {
            j.submit = l.submit;
        }
        if !l.live() && l.exit.is_some() {
            j.exit = l.exit;
        }
        if j.user.is_empty() {
            j.user = l.user.clone();
        }
    }
    j
}

fn job_of(seen: &Lookup, t: &Target) -> Result<String, String> {
    seen.rows
        .get(&(t.node.clone(), t.pid))
        .cloned()
        .ok_or_else(|| format!("{t} is no longer listed by Slurm"))
}

/// Carries out a command; true when a fresh poll should follow.
async fn command(
    r: &Runner,
    cmd: JobCommand,
    seen: &Lookup,
    user: &str,
    admin: bool,
    emit: &impl Fn(JobEvent),
) -> bool {
    match cmd {
        JobCommand::Login {
            password, remember, ..
        } if r.rest.is_some() => {
            // Through slurmrestd the login dialog's password is the token.
            if let Some(rest) = &r.rest {
                match rest.set_token(&password, remember).await {
                    Ok(()) => return true,
                    Err(e) => emit(JobEvent::LoginFailed(e)),
                }
            }
        }
        JobCommand::Login { .. } | JobCommand::LoginFromKeyring { .. } | JobCommand::Logout => {
            emit(JobEvent::Note(if r.rest.is_some() {
                format!("slurmrestd acts as {user}, with its token")
            } else {
                format!("Slurm acts as your own account ({user}); no login")
            }));
        }
        JobCommand::Refresh => return true,
        JobCommand::Slurm(c) => {
            let outcomes = act::carry_out(r, &c).await;
            emit(JobEvent::SlurmDone {
                act: c.act.to_string(),
                outcomes,
            });
            return true;
        }
        JobCommand::SlurmPower { nodes, change } => {
            emit(JobEvent::SlurmDone {
                act: change.to_string(),
                outcomes: act::power(r, &nodes, change).await,
            });
            return true;
        }
        JobCommand::SlurmDetail(label) => {
            emit(JobEvent::SlurmDetail {
                fields: detail::job_detail(r, &label).await,
                label,
            });
        }
        JobCommand::Signal { targets, signal } => {
            // From the process dialog: Slurm's rows are jobs. KILL cancels; another signal
            // goes to the steps and the batch shell.
            let mut labels: Vec<(Target, Result<String, String>)> = Vec::new();
            for t in targets {
                let l = job_of(seen, &t);
                labels.push((t, l));
            }
            let jobs: Vec<String> = labels
                .iter()
                .filter_map(|(_, l)| l.as_ref().ok().cloned())
                .fold(Vec::new(), |mut v, l| {
                    if !v.contains(&l) {
                        v.push(l);
                    }
                    v
                });
            let act = if signal == Signal::Kill {
                SlurmAct::Cancel
            } else {
                SlurmAct::Signal {
                    signal,
                    batch: true,
                }
            };
            let outcomes = act::carry_out(r, &SlurmCommand { jobs, act }).await;
            let out = labels
                .into_iter()
                .map(|(t, l)| {
                    let res = l.and_then(|l| {
                        outcomes
                            .iter()
                            .find(|(j, _)| *j == l)
                            .map(|(_, r)| r.clone().map(|_| ()))
                            .unwrap_or(Ok(()))
                    });
                    (t, res)
                })
                .collect();
            emit(JobEvent::Signalled(out));
            return true;
        }
        JobCommand::Migrate { target, to } => {
            let res = migrate(r, seen, &target, &to).await;
            emit(JobEvent::Migrated(target, res.map(|()| (to, 0))));
            return true;
        }
        JobCommand::Submit(spec) => {
            let res = if spec.priority > 0 && !admin {
                // A raised priority is a negative nice, which Slurm allows only its operators.
                Err(
                    "Slurm lets only its administrators raise a job's priority (a negative \
                     nice): use 0, or a negative Priority to let other jobs go first"
                        .to_string(),
                )
            } else if let Some(rest) = &r.rest {
                rest.submit(&spec).await
            } else {
                match r.run(CmdKind::Act, "sbatch", &sbatch_args(&spec)).await {
                    Ok(o) if o.ok => submitted_id(&o.stdout)
                        .ok_or_else(|| format!("sbatch said: {}", o.stdout.trim())),
                    Ok(o) if o.stderr.is_empty() => Err("sbatch failed".into()),
                    // Every line of sbatch's complaint, as it wrote them.
                    Ok(o) => Err(o.stderr),
                    Err(e) => Err(e),
                }
            };
            emit(JobEvent::Submitted(res));
            return true;
        }
        JobCommand::Tail { id, stream, offset } => match tail(r, seen, id, &stream, offset).await {
            Ok((next, size, data)) => emit(JobEvent::Tail {
                id,
                stream,
                offset,
                next,
                size,
                data,
            }),
            Err(e) => emit(JobEvent::TailFailed(e)),
        },
    }
    false
}

/// A pending job gets a new node list; a running one is requeued (held while it is re-pinned)
/// with its node excluded and the target requested.
async fn migrate(r: &Runner, seen: &Lookup, t: &Target, to: &str) -> Result<(), String> {
    let job = job_of(seen, t)?;
    let state = seen
        .view
        .job(&job)
        .map(|j| j.state.clone())
        .unwrap_or_default();
    if state == "RUNNING" {
        // Held while it is re-pinned, so it cannot start elsewhere in between.
        r.ok(CmdKind::Act, "scontrol", &[s("requeuehold"), job.clone()])
            .await?;
        let pinned = r
            .ok(
                CmdKind::Act,
                "scontrol",
                &[
                    s("update"),
                    format!("JobId={job}"),
                    format!("NodeList={to}"),
                    format!("ExcNodeList={}", t.node),
                ],
            )
            .await;
        let released = r
            .ok(CmdKind::Act, "scontrol", &[s("release"), job.clone()])
            .await;
        match (pinned, released) {
            (Ok(_), Ok(_)) => {}
            (Err(e), Ok(_)) => {
                return Err(format!(
                    "requeued, but not pinned to {to} ({e}): it runs where Slurm places it"
                ));
            }
            (_, Err(e)) => {
                return Err(format!(
                    "requeued and held, but not released ({e}): scontrol release {job}"
                ));
            }
        }
    } else {
        r.ok(
            CmdKind::Act,
            "scontrol",
            &[
                s("update"),
                format!("JobId={job}"),
                format!("NodeList={to}"),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Where a job's output (or error) file is: what slurmctld says while it holds the job, else
/// what was seen of it while it lived, else its working directory from accounting with
/// Slurm's default name. The error says which of these failed.
async fn output_path(r: &Runner, seen: &Lookup, id: u64, err: bool) -> Result<String, String> {
    let key = if err { "StdErr" } else { "StdOut" };
    let known = seen.view.jobs.iter().find(|j| j.id == id);
    let name = known.map_or_else(|| id.to_string(), SlurmJob::label);
    if known.is_none_or(|j| !j.from_accounting) {
        // scontrol takes the label: a raw id of an array's first record names the array.
        let out = r
            .run(
                CmdKind::Act,
                "scontrol",
                &[s("-o"), s("show"), s("job"), name.clone()],
            )
            .await?;
        if out.ok {
            let kv = parse::scontrol_line(out.stdout.lines().next().unwrap_or(""));
            if let Some(p) = kv
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .filter(|p| !p.is_empty() && p != "(null)")
            {
                return Ok(p);
            }
        }
    }
    match known.and_then(|j| j.output_path(err)) {
        Some(p) => Ok(p),
        None => Err(format!(
            "job {name}'s {} file is not known: Slurm no longer holds the job, and neither this \
             console nor accounting recorded where it wrote",
            if err { "error" } else { "output" }
        )),
    }
}

async fn tail(
    r: &Runner,
    seen: &Lookup,
    id: u64,
    stream: &str,
    offset: u64,
) -> Result<(u64, u64, String), String> {
    let path = output_path(r, seen, id, stream == "err").await?;
    // The path is the job owner's choice (or a symlink they planted): it is opened and read
    // with the owner's rights, never the console's (which may be root), and only a regular
    // file is read (a FIFO would hang, a device could act).
    let owner = seen
        .view
        .jobs
        .iter()
        .find(|j| j.id == id)
        .map(|j| j.user.clone())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| format!("job {id}'s owner is not known: its output is not read"))?;
    tokio::task::spawn_blocking(move || {
        let account = crate::cm::account::lookup(&owner)
            .map_err(|e| format!("job {id}'s owner {owner}: {e}"))?;
        let (size, buf) = crate::cm::agent::read_as::read_as(
            &account,
            std::path::Path::new(&path),
            offset,
            256 * 1024,
        )
        .map_err(|e| match e {
            crate::cm::agent::read_as::ReadError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                format!("{path} does not exist (any more): the job's output is gone")
            }
            e => e.to_string(),
        })?;
        let start = offset.min(size);
        let at_end = start + buf.len() as u64 >= size;
        let (text, used) =
            crate::guard::caught("a job's output", || crate::cm::text_chunk(&buf, at_end))
                .map_err(|e| e.to_string())?;
        Ok((start + used as u64, size, text))
    })
    .await
    .map_err(|e| e.to_string())?
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
    fn real_scontrol_ping() {
        assert_eq!(ping_verdict(&fixture("scontrol_ping_up.txt"), ""), Ok(()));
        assert_eq!(
            ping_verdict(&fixture("scontrol_ping_down.txt"), ""),
            Err("Slurmctld(primary) at vm is DOWN".into())
        );
        assert!(ping_verdict("", "").is_err());
    }
}
