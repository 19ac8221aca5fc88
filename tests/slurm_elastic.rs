//! Queue pressure and Slurm's own elastic machinery on a real Slurm: one node that is always
//! on and two cloud nodes, powered down, that Slurm's ResumeProgram starts (a script running
//! their slurmd) when jobs need them and its SuspendProgram stops after their idle time. 30
//! jobs are queued: the link's queue report shows them waiting and the nodes they need, the
//! cloud nodes power up and take jobs, and when the queue is empty they are shown idle, then
//! powered down again. Then by hand, as `:power` and the nodes table ask: one cloud node powered
//! up, then down.

mod common;

use std::time::Duration;

use common::slurm::{Shape, SlurmCluster, skip_reason};
use common::slurm_link::{Rx, sbatch, slurm_manager, squeue_states};
use gantry::jobs::{JobCommand, JobEvent};
use gantry::queue::{QueueReport, Rule};
use gantry::slurm::act::PowerChange;
use gantry::slurm::link::{Runner, spawn};

/// What Slurm and the power scripts say, for a failure.
fn diagnosis(c: &SlurmCluster) -> String {
    let run = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .env("SLURM_CONF", c.conf_str())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let c2 = std::fs::read_to_string(c.dir.path().join("log/slurmd-c2.log")).unwrap_or_default();
    let c2: Vec<&str> = c2.lines().rev().take(12).collect();
    eprintln!("slurmd c2 (last first):\n{}", c2.join("\n"));
    let log = std::fs::read_to_string(c.dir.path().join("log/slurmctld.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(15).collect();
    eprintln!(
        "processes:\n{}\nlistening:\n{}",
        run("ps", &["-eo", "pid,ppid,args"])
            .lines()
            .filter(|l| l.contains("slurm"))
            .collect::<Vec<_>>()
            .join("\n"),
        run("ss", &["-ltnp"])
    );
    format!(
        "sinfo:\n{}\nsqueue:\n{}\npower:\n{}\nslurmctld (last first):\n{}",
        run("sinfo", &["-N", "-o", "%N %T %C"]),
        run("squeue", &["-h", "-o", "%i %T %r %N"]),
        c.power_log(),
        tail.join("\n")
    )
}

async fn report(
    c: &SlurmCluster,
    rx: &mut Rx,
    what: &str,
    secs: u64,
    f: impl Fn(&QueueReport) -> bool,
) -> QueueReport {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut last = None;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((_, JobEvent::Queue(q)))) => {
                if f(&q) {
                    return (*q).clone();
                }
                last = Some(q);
            }
            Ok(Some(_)) => {}
            _ => panic!(
                "timed out waiting for {what}; last report {last:?}\n{}",
                diagnosis(c)
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slurm_powers_cloud_nodes_up_for_the_queue_and_down_when_idle() {
    if let Some(why) = skip_reason() {
        common::skip(&why);
        return;
    }
    let cluster = match SlurmCluster::start_with(Shape {
        nodes: 1,
        cpus: 2,
        cloud: 2,
        ..Shape::default()
    }) {
        Ok(c) => c,
        Err(e) => panic!("the test cluster did not start: {e}"),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut cfg = slurm_manager(Some(cluster.conf_str()), None, None);
    // The source document's rule, its times shortened for a test.
    cfg.queue = Rule {
        every: 1,
        wait: 3,
        idle: 4,
    };
    let runner = Runner::new(Some(cluster.conf_str()), None);
    let link = spawn(cfg, runner.clone(), Duration::from_secs(1), tx);
    let first = report(&cluster, &mut rx, "a first queue report", 30, |_| true).await;
    assert_eq!(first.pressure.powered_down, 2, "{first:?}");
    assert_eq!(first.acts, "slurm");
    for _ in 0..30 {
        sbatch(
            &runner,
            &["-n", "1", "--wrap", "sleep 4", "-o", "/dev/null"],
        )
        .await;
    }
    // Waiting jobs, and the nodes they need beyond the one that is on (or coming).
    let busy = report(
        &cluster,
        &mut rx,
        "jobs waiting long enough to need nodes",
        60,
        |q| q.pressure.pending >= 10 && q.pressure.waiting_long > 0,
    )
    .await;
    assert!(busy.pressure.wait_max >= 3, "{busy:?}");
    // Slurm powers the cloud nodes up for them, and they take jobs.
    report(
        &cluster,
        &mut rx,
        "the cloud nodes powering up or on",
        90,
        |q| q.pressure.powering_up > 0 || q.pressure.powered_down < 2,
    )
    .await;
    report(&cluster, &mut rx, "the queue drained", 180, |q| {
        q.pressure.pending == 0 && q.pressure.running == 0
    })
    .await;
    let log = cluster.power_log();
    assert!(
        log.contains("resume c2") || log.contains("resume c3"),
        "{log}"
    );
    // Idle past the rule's time: the rule says they could go; then Slurm powers them down.
    let idle = report(&cluster, &mut rx, "idle nodes to release", 60, |q| {
        q.pressure.releasable.len() >= 2
    })
    .await;
    assert!(idle.pressure.done_last_hour >= 30, "{idle:?}");
    report(
        &cluster,
        &mut rx,
        "both cloud nodes powered down again",
        120,
        |q| q.pressure.powered_down == 2,
    )
    .await;
    assert!(
        cluster.power_log().contains("suspend"),
        "{}",
        cluster.power_log()
    );
    // By hand, as `:power up c2` asks: Slurm runs ResumeProgram for it and it comes back.
    link.send(JobCommand::SlurmPower {
        nodes: vec!["c2".into()],
        change: PowerChange::Up,
    });
    let said = done(&cluster, &mut rx, "power up").await;
    assert!(said.iter().all(|(_, r)| r.is_ok()), "{said:?}");
    report(&cluster, &mut rx, "c2 powered up by hand", 90, |q| {
        q.pressure.powered_down == 1 && q.pressure.powering_up == 0
    })
    .await;
    assert_eq!(
        cluster.power_log().matches("resume c2").count(),
        2,
        "{}",
        cluster.power_log()
    );
    // Down by hand while it runs a job, as the nodes table asks for a busy node: Slurm drains
    // it, lets the job finish (it is not cancelled), then powers it down.
    let id = sbatch(
        &runner,
        &[
            "-w",
            "c2",
            "-n",
            "1",
            "--wrap",
            "sleep 8",
            "-o",
            "/dev/null",
        ],
    )
    .await;
    report(&cluster, &mut rx, "the job running on c2", 60, |q| {
        q.pressure.running == 1
    })
    .await;
    link.send(JobCommand::SlurmPower {
        nodes: vec!["c2".into()],
        change: PowerChange::DownAfterJobs,
    });
    let said = done(&cluster, &mut rx, "power down after").await;
    assert!(said.iter().all(|(_, r)| r.is_ok()), "{said:?}");
    let down = report(
        &cluster,
        &mut rx,
        "c2 powered down once its job ended",
        90,
        |q| q.pressure.powered_down == 2 && q.pressure.running == 0,
    )
    .await;
    assert_eq!(down.pressure.done_last_hour, 31, "{down:?}");
    let states = squeue_states(&runner).await;
    assert!(
        states
            .iter()
            .any(|(j, state, _)| *j == id.to_string() && state == "COMPLETED"),
        "the job on c2 ran to its end: {states:?}"
    );
}

/// The outcome of a power request, per node.
async fn done(c: &SlurmCluster, rx: &mut Rx, what: &str) -> Vec<(String, Result<String, String>)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((_, JobEvent::SlurmDone { act, outcomes }))) if act.contains(what) => {
                return outcomes;
            }
            Ok(Some(_)) => {}
            _ => panic!("no answer to {what}\n{}", diagnosis(c)),
        }
    }
}
