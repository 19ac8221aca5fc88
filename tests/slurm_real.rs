//! The Slurm backend against a real slurmctld and slurmd "nodes" on 127.0.0.1 (Debian's
//! packages): submit, list, cancel and signal with their real outcomes, array tasks one by one
//! or whole, a busy job's CPU and memory from sstat, requeue onto another node, every job listed
//! however many, a job the controller has dropped read from accounting, and a controller outage
//! shown then gone. Skipped, with the reason, where Slurm is not installed.

mod common;

use common::slurm_link::{
    Rx, cancelled, ended_cancelled, sbatch, squeue_states, state_of, view, wait,
};

use std::time::{Duration, Instant};

use common::slurm::{Shape, SlurmCluster, skip_reason};
use gantry::cm::job::{JobSpec, Signal};
use gantry::jobs::{JobCommand, JobEvent, Target};
use gantry::slurm::act::{SlurmAct, SlurmCommand};
use gantry::slurm::link::{CmdKind, Runner, spawn};
use gantry::slurm::view::Controller;

fn job(name: &str, script: &str, out: Option<String>) -> JobSpec {
    JobSpec {
        name: name.into(),
        exec: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        output: out,
        tasks_per_node: 1,
        total_tasks: 1,
        ..JobSpec::default()
    }
}

async fn submit(link: &gantry::jobs::link::LinkHandle, rx: &mut Rx, spec: JobSpec) -> u64 {
    link.send(JobCommand::Submit(Box::new(spec)));
    wait(rx, "submission", 30, |e| match e {
        JobEvent::Submitted(r) => Some(r.clone().expect("sbatch accepted it")),
        _ => None,
    })
    .await
}

/// The (node, row id) of a job's row once it runs.
async fn running_row(rx: &mut Rx, id: u64) -> (String, u32) {
    wait(rx, &format!("job {id} running"), 40, |e| match e {
        JobEvent::Lists { procs, .. } => procs
            .iter()
            .find(|p| p.job == id.to_string() && p.state == 'R')
            .map(|p| (p.node.clone(), p.pid)),
        _ => None,
    })
    .await
}

/// A cluster of `shape`, a Slurm link polling it every second, and a runner for its commands.
struct Setup {
    cluster: SlurmCluster,
    link: gantry::jobs::link::LinkHandle,
    rx: Rx,
    runner: Runner,
}

fn setup(shape: Shape) -> Option<Setup> {
    if let Some(why) = skip_reason() {
        common::skip(&why);
        return None;
    }
    let cluster = match SlurmCluster::start_with(shape) {
        Ok(c) => c,
        Err(e) => panic!("the Slurm test cluster did not start: {e}"),
    };
    let (link, rx, runner) = connect(&cluster);
    Some(Setup {
        cluster,
        link,
        rx,
        runner,
    })
}

fn connect(cluster: &SlurmCluster) -> (gantry::jobs::link::LinkHandle, Rx, Runner) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let cfg = common::slurm_link::slurm_manager(Some(cluster.conf_str()), None, None);
    let runner = Runner::new(Some(cluster.conf_str()), None);
    let link = spawn(cfg, runner.clone(), Duration::from_secs(1), tx);
    (link, rx, runner)
}

async fn act(s: &mut Setup, jobs: &[&str], act: SlurmAct) -> Vec<(String, Result<String, String>)> {
    s.link.send(JobCommand::Slurm(SlurmCommand {
        jobs: jobs.iter().map(|j| j.to_string()).collect(),
        act,
    }));
    wait(&mut s.rx, "the action's outcome", 60, |e| match e {
        JobEvent::SlurmDone { outcomes, .. } => Some(outcomes.clone()),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_list_cancel_requeue_and_read_results_on_a_real_slurm() {
    let Some(mut s) = setup(Shape::default()) else {
        return;
    };
    let states = wait(&mut s.rx, "node states", 20, |e| match e {
        JobEvent::NodeStates(st) => Some(st.clone()),
        _ => None,
    })
    .await;
    assert_eq!(states.len(), 3, "{states:?}");
    assert!(states.iter().all(|st| st.1 == "idle"), "{states:?}");
    // The text format read when a release's sinfo JSON is not understood says the same.
    let args: Vec<String> = gantry::slurm::text::SINFO_ARGS
        .iter()
        .map(|a| a.to_string())
        .collect();
    let text = s.runner.ok(CmdKind::Act, "sinfo", &args).await.unwrap();
    let nodes = gantry::slurm::text::sinfo_nodes(&text);
    assert_eq!(nodes.len(), 3, "{text}");
    let parts = view(&mut s.rx, "partitions", 20, |v| {
        (!v.partitions.is_empty()).then(|| v.partitions.clone())
    })
    .await;
    assert_eq!(parts[0].name, "debug");
    assert_eq!(parts[0].cpus[3], 6, "{parts:?}");

    let dir = s.cluster.dir.path().to_path_buf();
    let out_of = |n: &str| Some(dir.join(n).display().to_string());
    // Kill from the process monitor: the job is cancelled and its real process goes away.
    let a = submit(
        &s.link,
        &mut s.rx,
        job("long-a", "sleep 120", out_of("a.out")),
    )
    .await;
    let (node_a, row_a) = running_row(&mut s.rx, a).await;
    let pids = s
        .runner
        .ok(
            CmdKind::Act,
            "scontrol",
            &["listpids".into(), a.to_string(), node_a.clone()],
        )
        .await
        .unwrap();
    let pid_a: u32 = gantry::slurm::parse::listpids(&pids)[0].0;
    s.link.send(JobCommand::Signal {
        targets: vec![Target {
            node: node_a.clone(),
            pid: row_a,
            name: "long-a".into(),
        }],
        signal: Signal::Kill,
    });
    let res = wait(&mut s.rx, "kill result", 30, |e| match e {
        JobEvent::Signalled(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert!(res[0].1.is_ok(), "{res:?}");
    ended_cancelled(&s.runner, &a.to_string()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::path::Path::new(&format!("/proc/{pid_a}")).exists() {
        assert!(Instant::now() < deadline, "process {pid_a} still alive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // scancel's gotcha: an unknown id still exits 0 — the backend asks Slurm instead.
    let o = s
        .runner
        .run(CmdKind::Act, "scancel", &["999999".into()])
        .await
        .unwrap();
    assert!(o.ok, "{o:?}");
    let out = act(&mut s, &["999999"], SlurmAct::Cancel).await;
    assert!(
        out[0].1.as_ref().unwrap_err().contains("does not know"),
        "{out:?}"
    );
    // A row Slurm no longer lists is refused, not silently "killed".
    s.link.send(JobCommand::Signal {
        targets: vec![Target {
            node: "c9".into(),
            pid: 1,
            name: "x".into(),
        }],
        signal: Signal::Term,
    });
    let res = wait(&mut s.rx, "refusal", 20, |e| match e {
        JobEvent::Signalled(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert!(
        res[0].1.as_ref().unwrap_err().contains("no longer listed"),
        "{res:?}"
    );

    // A busy job holding ~50 MB: sstat's CPU and memory land on its row.
    let spin = submit(
        &s.link,
        &mut s.rx,
        job(
            "spin-s",
            "x=$(head -c 50000000 /dev/zero | tr '\\0' a); while :; do :; done",
            out_of("s.out"),
        ),
    )
    .await;
    let (cpu, rss) = wait(
        &mut s.rx,
        "the busy job's CPU and memory",
        60,
        |e| match e {
            JobEvent::Lists { procs, .. } => procs
                .iter()
                .find(|p| p.job == spin.to_string() && p.cpu_pct > 10.0 && p.rss_kb > 40_000)
                .map(|p| (p.cpu_pct, p.rss_kb)),
            _ => None,
        },
    )
    .await;
    eprintln!("busy job: {cpu:.0} % of a CPU, {rss} KiB");
    assert!(cpu <= 400.0 && rss < 1_000_000, "{cpu} % {rss} KiB");
    let _ = act(&mut s, &[&spin.to_string()], SlurmAct::Cancel).await;

    // Requeue a running job onto another node.
    let b = submit(
        &s.link,
        &mut s.rx,
        job("mover-b", "sleep 120", out_of("b.out")),
    )
    .await;
    let (node_b, row_b) = running_row(&mut s.rx, b).await;
    let target = s
        .cluster
        .nodes
        .iter()
        .find(|n| **n != node_b)
        .unwrap()
        .clone();
    s.link.send(JobCommand::Migrate {
        target: Target {
            node: node_b.clone(),
            pid: row_b,
            name: "mover-b".into(),
        },
        to: target.clone(),
    });
    let r = wait(&mut s.rx, "migration", 30, |e| match e {
        JobEvent::Migrated(_, r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert_eq!(r, Ok((target.clone(), 0)));
    let moved = wait(&mut s.rx, "job b running on the target", 60, |e| match e {
        JobEvent::Lists { procs, .. } => procs
            .iter()
            .find(|p| p.job == b.to_string() && p.state == 'R')
            .map(|p| p.node.clone()),
        _ => None,
    })
    .await;
    assert_eq!(moved, target, "requeued onto the requested node");
    let _ = act(&mut s, &[&b.to_string()], SlurmAct::Cancel).await;

    // A job that fails: its exit code decoded, its output read; sbatch's complaint whole.
    let out = dir.join("c.out").display().to_string();
    let c = submit(
        &s.link,
        &mut s.rx,
        job("ends-c", "echo done-c; exit 3", Some(out.clone())),
    )
    .await;
    let exit = wait(&mut s.rx, "job c's result", 40, |e| match e {
        JobEvent::Lists { jobs, .. } => jobs
            .iter()
            .find(|j| j.id == c && j.ended.is_some())
            .map(|j| (j.state.clone(), j.exit)),
        _ => None,
    })
    .await;
    assert_eq!(exit, ("failed".to_string(), Some(3)));
    s.link.send(JobCommand::Tail {
        id: c,
        stream: "out".into(),
        offset: 0,
    });
    let data = wait(&mut s.rx, "output", 20, |e| match e {
        JobEvent::Tail { data, .. } => Some(data.clone()),
        JobEvent::TailFailed(e) => panic!("{e}"),
        _ => None,
    })
    .await;
    assert!(data.contains("done-c"), "{data}");
    let mut bad = job("bad", "true", None);
    bad.memory = 1 << 50;
    s.link.send(JobCommand::Submit(Box::new(bad)));
    let err = wait(&mut s.rx, "sbatch's refusal", 30, |e| match e {
        JobEvent::Submitted(Err(e)) => Some(e.clone()),
        JobEvent::Submitted(Ok(id)) => panic!("job {id} accepted"),
        _ => None,
    })
    .await;
    assert!(
        err.starts_with("sbatch: error:"),
        "Slurm's own words: {err}"
    );

    // History: no accounting database here, so sacct reads the job completion log; times
    // arrive as epoch seconds.
    let o = gantry::slurm::link::job_history(&s.runner, true)
        .await
        .unwrap();
    assert!(o.ok, "{o:?}");
    let history = gantry::slurm::jobs::sacct(&o.stdout, |u| u.to_string());
    let first = history
        .iter()
        .find(|j| j.id == a)
        .unwrap_or_else(|| panic!("job {a} in {history:?}"));
    assert_eq!(first.state, "CANCELLED", "{first:?}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        first.start > now - 600 && first.start <= now && first.submit <= first.start,
        "start {} is an epoch time of the last minutes: {first:?}",
        first.start
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn array_tasks_one_by_one_or_whole_and_pending_jobs_at_once() {
    let Some(mut s) = setup(Shape {
        nodes: 3,
        cpus: 4,
        ..Shape::default()
    }) else {
        return;
    };
    let dir = s.cluster.dir.path().display().to_string();
    let out = format!("--output={dir}/arr-%A_%a.out");
    let a = sbatch(&s.runner, &["--array=1-5", &out, "--wrap=sleep 300"]).await;
    let held = sbatch(
        &s.runner,
        &["--array=1-5", "--hold", &out, "--wrap=sleep 300"],
    )
    .await;
    // Tasks are named as Slurm names them; the held array is one record of five.
    let labels = view(&mut s.rx, "five running tasks", 60, |v| {
        let running: Vec<String> = v
            .jobs
            .iter()
            .filter(|j| j.state == "RUNNING" && j.array_job() == Some(a))
            .map(|j| j.label())
            .collect();
        (running.len() == 5).then_some(running)
    })
    .await;
    for t in 1..=5 {
        assert!(labels.contains(&format!("{a}_{t}")), "{labels:?}");
    }
    let rows = wait(&mut s.rx, "the process rows", 20, |e| match e {
        JobEvent::Lists { procs, .. } => Some(procs.clone()),
        _ => None,
    })
    .await;
    let pending = rows
        .iter()
        .find(|p| p.job == format!("{held}_[1-5]"))
        .unwrap_or_else(|| panic!("{held}_[1-5] in {rows:?}"));
    assert_eq!(pending.node, "pending");
    assert!(rows.iter().any(|p| p.job == format!("{a}_5")));

    // One task: the others keep running (the array's own record is its last task: a raw
    // `scancel {a}` here would have ended all five).
    let one = format!("{a}_5");
    let res = act(&mut s, &[&one], SlurmAct::Cancel).await;
    assert_eq!(res.len(), 1);
    assert!(res[0].0 == one && cancelled(&res[0].1), "{res:?}");
    ended_cancelled(&s.runner, &one).await;
    let st = squeue_states(&s.runner).await;
    for t in 1..=4 {
        assert_eq!(state_of(&st, &format!("{a}_{t}")), "RUNNING", "{st:?}");
    }

    // Two tagged tasks: both end CANCELLED, and the dialog's outcome says so per task.
    let (t1, t3) = (format!("{a}_1"), format!("{a}_3"));
    let res = act(&mut s, &[&t1, &t3], SlurmAct::Cancel).await;
    assert_eq!(res.len(), 2);
    assert!(res[0].0 == t1 && cancelled(&res[0].1), "{res:?}");
    assert!(res[1].0 == t3 && cancelled(&res[1].1), "{res:?}");
    ended_cancelled(&s.runner, &t1).await;
    ended_cancelled(&s.runner, &t3).await;
    let st = squeue_states(&s.runner).await;
    assert_eq!(state_of(&st, &format!("{a}_2")), "RUNNING");

    // The whole array: what is left of it ends.
    let res = act(&mut s, &[&a.to_string()], SlurmAct::Cancel).await;
    assert!(res[0].1.is_ok(), "{res:?}");
    ended_cancelled(&s.runner, &format!("{a}_2")).await;
    ended_cancelled(&s.runner, &format!("{a}_4")).await;

    // A signal to pending jobs is refused at once (scancel would retry for 95 s); cancelling
    // one pending task takes it alone; the rest of the pending array at once.
    let started = Instant::now();
    let res = act(
        &mut s,
        &[&format!("{held}_[1-5]")],
        SlurmAct::Signal {
            signal: Signal::Term,
            batch: false,
        },
    )
    .await;
    assert!(
        res[0].1.as_ref().unwrap_err().contains("pending"),
        "{res:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let res = act(&mut s, &[&format!("{held}_2")], SlurmAct::Cancel).await;
    assert!(cancelled(&res[0].1), "pending: at once: {res:?}");
    let st = squeue_states(&s.runner).await;
    assert_ne!(state_of(&st, &format!("{held}_2")), "PENDING", "{st:?}");
    let rest = view(&mut s.rx, "the pending record without task 2", 20, |v| {
        v.jobs
            .iter()
            .find(|j| j.state == "PENDING" && j.array_job() == Some(held))
            .map(|j| j.label())
            .filter(|l| !l.contains("1-5"))
    })
    .await;
    assert_eq!(rest, format!("{held}_[1,3-5]"));
    let res = act(&mut s, &[&rest], SlurmAct::Cancel).await;
    assert!(cancelled(&res[0].1), "{res:?}");
    let st = squeue_states(&s.runner).await;
    assert!(!st.iter().any(|(_, state, _)| state == "PENDING"), "{st:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_ends_a_job_that_traps_term_and_a_signal_reaches_its_trap() {
    let Some(mut s) = setup(Shape::default()) else {
        return;
    };
    let dir = s.cluster.dir.path().to_path_buf();
    let out = dir.join("trap.out").display().to_string();
    let script = "trap 'echo got-USR1' USR1; trap 'echo ignoring-TERM' TERM; echo traps-set; \
                  while :; do sleep 1; done";
    // Run as a job step (`srun`), as a form's Batch job is: the signal goes to the steps,
    // not to the batch shell, which has no traps of its own.
    let mut spec = job("trapper", script, Some(out.clone()));
    spec.class = gantry::cm::job::JobClass::Batch;
    let j = submit(&s.link, &mut s.rx, spec).await;
    let id = j.to_string();
    view(&mut s.rx, "the trapper running", 40, |v| {
        v.job(&id).filter(|x| x.state == "RUNNING").map(|_| ())
    })
    .await;
    // The shell has set its traps once it says so.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&out)
        .unwrap_or_default()
        .contains("traps-set")
    {
        assert!(Instant::now() < deadline, "the script never started");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // slurmd reports the launch a moment after the script starts; a signal before that fails
    // the job as a launch failure (real Slurm behaviour, seen here as ExitCode 0:10).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let res = act(
        &mut s,
        &[&id],
        SlurmAct::Signal {
            signal: Signal::Usr1,
            batch: false,
        },
    )
    .await;
    assert_eq!(res[0].1, Ok("SIGUSR1 sent; RUNNING".to_string()), "{res:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&out)
        .unwrap_or_default()
        .contains("got-USR1")
    {
        assert!(Instant::now() < deadline, "the trap never ran");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let st = state_of(&squeue_states(&s.runner).await, &id);
    assert_eq!(
        st,
        "RUNNING",
        "output: {}; scontrol: {:?}",
        std::fs::read_to_string(&out).unwrap_or_default(),
        s.runner
            .run(
                CmdKind::Act,
                "scontrol",
                &["show".into(), "job".into(), id.clone()]
            )
            .await
    );

    let res = act(&mut s, &[&id], SlurmAct::Cancel).await;
    assert!(
        cancelled(&res[0].1),
        "{res:?}; its output: {}; scontrol: {:?}; slurmd log: {}",
        std::fs::read_to_string(&out).unwrap_or_default(),
        s.runner
            .run(
                CmdKind::Act,
                "scontrol",
                &["show".into(), "job".into(), id.clone()]
            )
            .await,
        std::fs::read_to_string(dir.join("log/slurmd-c1.log")).unwrap_or_default()
    );
    // TERM is trapped, so it takes KillWait and a KILL; the job ends CANCELLED all the same.
    ended_cancelled(&s.runner, &id).await;
    assert!(
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("ignoring-TERM")
    );
    let ended = view(&mut s.rx, "the trapper's end", 60, |v| {
        v.job(&id).filter(|x| !x.live()).map(|x| x.state.clone())
    })
    .await;
    assert_eq!(ended, "CANCELLED");
}

#[tokio::test(flavor = "multi_thread")]
async fn seventy_running_jobs_are_all_listed() {
    let Some(mut s) = setup(Shape {
        nodes: 3,
        cpus: 24,
        ..Shape::default()
    }) else {
        return;
    };
    let mut ids = Vec::new();
    for _ in 0..70 {
        ids.push(sbatch(&s.runner, &["--output=/dev/null", "--wrap=sleep 300"]).await);
    }
    let listed = wait(&mut s.rx, "all seventy running", 120, |e| match e {
        JobEvent::Lists { procs, .. } => {
            let running: std::collections::BTreeSet<String> = procs
                .iter()
                .filter(|p| p.state == 'R')
                .map(|p| p.job.clone())
                .collect();
            (running.len() >= 70).then_some(running)
        }
        _ => None,
    })
    .await;
    for id in &ids {
        assert!(listed.contains(&id.to_string()), "job {id} missing");
    }
    let _ = s
        .runner
        .run(CmdKind::Act, "scancel", &["--user=root".into()])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_the_controller_dropped_is_read_from_accounting_with_its_output() {
    let Some(s) = setup(Shape {
        nodes: 2,
        cpus: 2,
        min_job_age: 2,
        ..Shape::default()
    }) else {
        return;
    };
    let dir = s.cluster.dir.path().display().to_string();
    // Slurm's default output name, in the job's working directory.
    let id = sbatch(
        &s.runner,
        &[&format!("--chdir={dir}"), "--wrap=echo old-output; exit 3"],
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(90);
    while squeue_states(&s.runner)
        .await
        .iter()
        .any(|(i, _, _)| *i == id.to_string())
    {
        assert!(
            Instant::now() < deadline,
            "slurmctld never dropped job {id}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // A console started now never saw it live.
    drop(s.link);
    let (link, mut rx, _) = connect(&s.cluster);
    let job = wait(&mut rx, "the job from accounting", 30, |e| match e {
        JobEvent::Lists { jobs, .. } => jobs.iter().find(|j| j.id == id).cloned(),
        _ => None,
    })
    .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        (job.state.as_str(), job.exit),
        ("failed", Some(3)),
        "{job:?}"
    );
    assert!(job.submitted > now - 300 && job.submitted <= now, "{job:?}");
    assert!(job.started.is_some_and(|t| t >= job.submitted), "{job:?}");
    assert!(job.ended.is_some_and(|t| t <= now), "{job:?}");
    assert!(job.nodes.starts_with('c'), "{job:?}");
    link.send(JobCommand::Tail {
        id,
        stream: "out".into(),
        offset: 0,
    });
    let data = wait(&mut rx, "its output", 20, |e| match e {
        JobEvent::Tail { data, .. } => Some(data.clone()),
        JobEvent::TailFailed(e) => panic!("{e}"),
        _ => None,
    })
    .await;
    assert!(data.contains("old-output"), "{data}");
    // Gone from disk: the pager says why.
    std::fs::remove_file(format!("{dir}/slurm-{id}.out")).unwrap();
    link.send(JobCommand::Tail {
        id,
        stream: "out".into(),
        offset: 0,
    });
    let why = wait(&mut rx, "the reason", 20, |e| match e {
        JobEvent::TailFailed(e) => Some(e.clone()),
        JobEvent::Tail { .. } => panic!("read a removed file"),
        _ => None,
    })
    .await;
    assert!(why.contains("does not exist"), "{why}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_controller_outage_is_shown_then_gone() {
    let Some(mut s) = setup(Shape::default()) else {
        return;
    };
    view(&mut s.rx, "the controller up", 20, |v| {
        (v.controller == Controller::Up).then_some(())
    })
    .await;
    s.cluster.stop_controller();
    let message = view(&mut s.rx, "the outage", 60, |v| match &v.controller {
        Controller::Unreachable { message, .. } => Some(message.clone()),
        _ => None,
    })
    .await;
    assert!(message.contains("DOWN"), "Slurm's own words: {message}");
    s.cluster.start_controller().unwrap();
    view(&mut s.rx, "the controller back", 60, |v| {
        (v.controller == Controller::Up).then_some(())
    })
    .await;
}
