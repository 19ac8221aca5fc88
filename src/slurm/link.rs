//! The Slurm backend behind the same link interface as a central manager: commands in, events
//! out. One task runs every Slurm command, one at a time, so never more than one of a kind is in
//! flight; the controller is polled every `poll_secs`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use super::parse::{self, SlurmJob, SlurmNode, exit_code, expand_hosts};
use super::sbatch::{sbatch_args, submitted_id};
use super::text;
use super::usage;
use crate::aggregator::now_epoch;
use crate::cm::job::Signal;
use crate::cm::proto::{JobSummary, NodeInfo, ProcInfo};
use crate::jobs::link::{Events, LinkHandle};
use crate::jobs::{JobCommand, JobEvent, LinkState, ManagerConfig, Target};

const TIMEOUT: Duration = Duration::from_secs(30);

/// How Slurm's commands are run.
#[derive(Debug, Clone)]
pub struct Runner {
    /// `SLURM_CONF`, if set.
    pub conf: Option<String>,
    /// Directory of the commands.
    pub bin_dir: Option<String>,
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
    /// Runs `cmd args` with a timeout; `Err` when it could not run at all.
    pub async fn run(&self, cmd: &str, args: &[String]) -> Result<Output, String> {
        self.run_env(cmd, args, &[]).await
    }

    /// [`Runner::run`] with extra environment variables.
    pub async fn run_env(
        &self,
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
        let out = tokio::time::timeout(TIMEOUT, c.output())
            .await
            .map_err(|_| format!("{cmd} did not answer within {} s", TIMEOUT.as_secs()))?
            .map_err(|e| format!("cannot run {}: {e}", prog.display()))?;
        Ok(Output {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }

    /// Runs and insists on success; the error is Slurm's own text.
    pub async fn ok(&self, cmd: &str, args: &[String]) -> Result<String, String> {
        let o = self.run(cmd, args).await?;
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
    /// (node, pid) → job, for the rows last shown.
    rows: HashMap<(String, u32), u64>,
    /// Jobs last seen.
    jobs: HashMap<u64, SlurmJob>,
    /// sacct history, refreshed every few polls.
    history: Vec<SlurmJob>,
    polls: u64,
    sacct_said: bool,
    /// sinfo's JSON was not understood and its text format is read instead (said once).
    sinfo_text: bool,
    /// CPU time per step at the last poll.
    cpu: usage::CpuTracker,
    /// What commands look jobs up in, shared with the command loop.
    published: std::sync::Arc<parking_lot::Mutex<Lookup>>,
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
    let label = format!(
        "slurm{}",
        runner
            .conf
            .as_ref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default()
    );
    // The poll runs in a task of its own, one at a time, so a kill or a submission never waits
    // behind it; commands look jobs up in what the last poll saw.
    let published = std::sync::Arc::new(parking_lot::Mutex::new(Lookup::default()));
    let mut seen = Some(Seen {
        published: published.clone(),
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
                again |= command(&runner, cmd, &lookup, &user, admin, &emit).await;
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
                            ..Seen::default()
                        });
                        Err(format!("the Slurm poll failed: {e}"))
                    }
                };
                let state = match &r {
                    Ok(()) => LinkState::LoggedIn(label.clone(), user.clone(), if admin { "admin".into() } else { "user".into() }),
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

/// What commands look jobs up in: the last poll's rows and jobs.
#[derive(Default, Clone)]
struct Lookup {
    rows: HashMap<(String, u32), u64>,
    jobs: HashMap<u64, SlurmJob>,
}

impl Lookup {
    fn of(s: &Seen) -> Self {
        Self {
            rows: s.rows.clone(),
            jobs: s.jobs.clone(),
        }
    }
}

fn summary(j: &SlurmJob) -> JobSummary {
    let done = !matches!(
        j.state.as_str(),
        "PENDING"
            | "RUNNING"
            | "SUSPENDED"
            | "CONFIGURING"
            | "COMPLETING"
            | "REQUEUED"
            | "RESIZING"
    );
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
            j.exit_raw.map(exit_code)
        } else {
            None
        },
        reason: String::new(),
    }
}

/// CPU and memory of the running steps from one `sstat` call, put on their task leaders' rows.
/// Without it (no job accounting plugin, an older Slurm) the rows simply show none.
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
    let steps = match r.run("sstat", &args).await {
        Ok(o) => usage::parse_sstat(&o.stdout),
        Err(e) => {
            tracing::debug!("sstat: {e}");
            Vec::new()
        }
    };
    let now = std::time::Instant::now();
    let epoch = now_epoch();
    let measured: Vec<(usage::StepUsage, f32)> = steps
        .iter()
        .map(|u| {
            let started = running
                .iter()
                .find(|j| j.id == u.job)
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
    let mut args = vec![
        s("-P"),
        s("-S"),
        s("now-7days"),
        s("-o"),
        s("JobID,JobName,UID,Partition,NNodes,NodeList,State,ExitCode,Start,End"),
    ];
    if all_users {
        args.push(s("-a"));
    }
    let env = [("SLURM_TIME_FORMAT", "%s")];
    let db = r.run_env("sacct", &args, &env).await?;
    if db.ok {
        return Ok(db);
    }
    args.insert(0, s("-c"));
    r.run_env("sacct", &args, &env).await
}

async fn refresh(
    r: &Runner,
    seen: &mut Seen,
    user: &str,
    admin: bool,
    emit: &impl Fn(JobEvent),
) -> Result<(), String> {
    let jobs = parse::squeue(&r.ok("squeue", &[s("--json")]).await?)?;
    let nodes = match parse::sinfo(&r.ok("sinfo", &[s("--json")]).await?) {
        Ok(n) => n,
        // A JSON layout this build does not know: the text format says the same.
        Err(json_err) => {
            let args: Vec<String> = text::SINFO_ARGS.iter().map(|a| s(a)).collect();
            let nodes = text::sinfo_nodes(&r.ok("sinfo", &args).await?);
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
    // 22.05 ignores squeue's filters: keep what this user may see.
    let mine: Vec<SlurmJob> = jobs
        .into_iter()
        .filter(|j| admin || j.user == user)
        .collect();
    let mut procs = Vec::new();
    let mut rows = HashMap::new();
    let mut leaders: HashMap<(u64, String, String), Vec<usize>> = HashMap::new();
    let running: Vec<&SlurmJob> = mine
        .iter()
        .filter(|j| j.state == "RUNNING")
        .take(64)
        .collect();
    for j in &running {
        for node in expand_hosts(&j.nodes) {
            let out = r
                .run("scontrol", &[s("listpids"), j.id.to_string(), node.clone()])
                .await?;
            let pids = parse::listpids(&out.stdout);
            if pids.is_empty() {
                // listpids only sees processes on the machine it runs on: for a node elsewhere
                // the job is one row, its id in place of a pid (kill and migrate act on jobs
                // anyway), carrying the sum of its steps there.
                rows.insert((node.clone(), j.id as u32), j.id);
                leaders
                    .entry((j.id, usage::WHOLE_JOB.into(), node.clone()))
                    .or_default()
                    .push(procs.len());
                procs.push(ProcInfo {
                    node: node.clone(),
                    pid: j.id as u32,
                    state: 'R',
                    name: format!("{} (job)", j.name),
                    user: j.user.clone(),
                    cpu_pct: 0.0,
                    rss_kb: 0,
                    job: j.id.to_string(),
                    start: 0,
                });
            }
            for (pid, step, leads) in pids {
                rows.insert((node.clone(), pid), j.id);
                if leads {
                    leaders
                        .entry((j.id, step.clone(), node.clone()))
                        .or_default()
                        .push(procs.len());
                }
                procs.push(ProcInfo {
                    node: node.clone(),
                    pid,
                    state: 'R',
                    name: format!("{}:{step}", j.name),
                    user: j.user.clone(),
                    cpu_pct: 0.0,
                    rss_kb: 0,
                    job: j.id.to_string(),
                    start: 0,
                });
            }
        }
    }
    step_usage(r, seen, &running, &mut procs, &leaders).await;
    // Pending jobs have no process yet: one row each, its job id in place of a pid.
    for j in mine.iter().filter(|j| j.state == "PENDING") {
        rows.insert(("pending".to_string(), j.id as u32), j.id);
        procs.push(ProcInfo {
            node: "pending".into(),
            pid: j.id as u32,
            state: 'P',
            name: format!("{} ({})", j.name, j.reason),
            user: j.user.clone(),
            cpu_pct: 0.0,
            rss_kb: 0,
            job: j.id.to_string(),
            start: 0,
        });
    }
    // History from sacct every fourth poll, when accounting answers.
    if seen.polls.is_multiple_of(4) {
        match job_history(r, admin).await {
            Ok(o) if o.ok => {
                seen.history = parse::sacct(&o.stdout, |uid| {
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
    let mut summaries: Vec<JobSummary> = mine.iter().map(summary).collect();
    for h in &seen.history {
        if !summaries.iter().any(|x| x.id == h.id) {
            summaries.push(summary(h));
        }
    }
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
            procs: 0,
        })
        .collect();
    emit(JobEvent::NodeStates(
        nodes
            .iter()
            .map(|n| (n.name.clone(), n.state_text(), n.reason.clone()))
            .collect(),
    ));
    seen.rows = rows;
    seen.jobs = mine.into_iter().map(|j| (j.id, j)).collect();
    // Published before the lists go out: a command on a row just shown must find it.
    *seen.published.lock() = Lookup::of(seen);
    emit(JobEvent::Lists {
        procs,
        nodes: node_infos,
        jobs: summaries,
    });
    Ok(())
}

fn job_of(seen: &Lookup, t: &Target) -> Result<u64, String> {
    seen.rows
        .get(&(t.node.clone(), t.pid))
        .copied()
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
        JobCommand::Login { .. } | JobCommand::LoginFromKeyring { .. } | JobCommand::Logout => {
            emit(JobEvent::Note(format!(
                "Slurm acts as your own account ({user}); no login"
            )));
        }
        JobCommand::Refresh => return true,
        JobCommand::Signal { targets, signal } => {
            let mut out = Vec::new();
            let mut done = Vec::new();
            for t in targets {
                let res = match job_of(seen, &t) {
                    Ok(job) if done.contains(&job) => Ok(()),
                    Ok(job) => {
                        done.push(job);
                        // scancel exits 0 for a job Slurm does not know: ask first.
                        let known = r
                            .run("scontrol", &[s("-o"), s("show"), s("job"), job.to_string()])
                            .await;
                        if let Ok(o) = &known
                            && !o.ok
                        {
                            out.push((
                                t,
                                Err(format!("Slurm does not know job {job}: {}", o.stderr)),
                            ));
                            continue;
                        }
                        let args = if signal == Signal::Kill {
                            vec![job.to_string()]
                        } else {
                            vec![
                                s("--full"),
                                format!("--signal={}", signal.as_str()),
                                job.to_string(),
                            ]
                        };
                        // scancel exits 0 even for an unknown job: its stderr tells.
                        match r.run("scancel", &args).await {
                            Ok(o) if o.ok && !o.stderr.contains("error") => Ok(()),
                            Ok(o) => Err(if o.stderr.is_empty() {
                                "scancel failed".into()
                            } else {
                                o.stderr
                            }),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                };
                out.push((t, res));
            }
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
            } else {
                match r.ok("sbatch", &sbatch_args(&spec)).await {
                    Ok(out) => {
                        submitted_id(&out).ok_or_else(|| format!("sbatch said: {}", out.trim()))
                    }
                    Err(e) => Err(e),
                }
            };
            emit(JobEvent::Submitted(res));
            return true;
        }
        JobCommand::Tail { id, stream, offset } => match tail(r, id, &stream, offset).await {
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

/// A pending job gets a new node list; a running one is requeued with its node excluded and
/// the target requested.
async fn migrate(r: &Runner, seen: &Lookup, t: &Target, to: &str) -> Result<(), String> {
    let job = job_of(seen, t)?;
    let state = seen
        .jobs
        .get(&job)
        .map(|j| j.state.clone())
        .unwrap_or_default();
    if state == "RUNNING" {
        // Held while it is re-pinned, so it cannot start elsewhere in between.
        r.ok("scontrol", &[s("requeuehold"), job.to_string()])
            .await?;
        let pinned = r
            .ok(
                "scontrol",
                &[
                    s("update"),
                    format!("JobId={job}"),
                    format!("NodeList={to}"),
                    format!("ExcNodeList={}", t.node),
                ],
            )
            .await;
        let released = r.ok("scontrol", &[s("release"), job.to_string()]).await;
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

async fn tail(
    r: &Runner,
    id: u64,
    stream: &str,
    offset: u64,
) -> Result<(u64, u64, String), String> {
    let out = r
        .ok("scontrol", &[s("-o"), s("show"), s("job"), id.to_string()])
        .await?;
    let kv = parse::scontrol_line(out.lines().next().unwrap_or(""));
    let key = if stream == "err" { "StdErr" } else { "StdOut" };
    let path = kv
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .filter(|p| !p.is_empty() && p != "(null)")
        .ok_or_else(|| format!("job {id} has no {key}"))?;
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        let size = f.metadata().map_err(|e| e.to_string())?.len();
        f.seek(SeekFrom::Start(offset.min(size)))
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        f.take(256 * 1024)
            .read_to_end(&mut buf)
            .map_err(|e| e.to_string())?;
        let start = offset.min(size);
        let at_end = start + buf.len() as u64 >= size;
        let (text, used) = crate::cm::text_chunk(&buf, at_end);
        Ok((start + used as u64, size, text))
    })
    .await
    .map_err(|e| e.to_string())?
}
