//! The Slurm backend against a real slurmctld and three slurmd on 127.0.0.1 (Debian's
//! packages): submit, list with pids, kill, a busy job's CPU and memory from sstat, requeue onto
//! another node, read a finished job's result and output. Skipped, with the reason, where Slurm is not installed.

mod common;

use std::time::{Duration, Instant};

use common::slurm::{SlurmCluster, skip_reason};
use gantry::cm::job::{JobSpec, Signal};
use gantry::jobs::{JobCommand, JobEvent, ManagerConfig, Target};
use gantry::slurm::link::{Runner, spawn};
use tokio::sync::mpsc::UnboundedReceiver;

type Rx = UnboundedReceiver<(String, JobEvent)>;

/// Waits for an event `f` accepts.
async fn wait<T>(
    rx: &mut Rx,
    what: &str,
    secs: u64,
    mut f: impl FnMut(&JobEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((_, ev))) => {
                if let Some(v) = f(&ev) {
                    return v;
                }
            }
            _ => panic!("timed out waiting for {what}"),
        }
    }
}

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

/// The (node, pid) rows of a job, once it runs.
async fn rows_of(rx: &mut Rx, id: u64) -> Vec<(String, u32)> {
    wait(
        rx,
        &format!("job {id} running with pids"),
        40,
        |e| match e {
            JobEvent::Lists { procs, .. } => {
                let r: Vec<(String, u32)> = procs
                    .iter()
                    .filter(|p| p.job == id.to_string() && p.state == 'R')
                    .map(|p| (p.node.clone(), p.pid))
                    .collect();
                (!r.is_empty()).then_some(r)
            }
            _ => None,
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_list_kill_requeue_and_read_results_on_a_real_slurm() {
    if let Some(why) = skip_reason() {
        common::skip(&why);
        return;
    }
    let cluster = match SlurmCluster::start(3) {
        Ok(c) => c,
        Err(e) => panic!("the Slurm test cluster did not start: {e}"),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cfg = ManagerConfig {
        cluster: "*".into(),
        addresses: Vec::new(),
        user: None,
        read_only: false,
        login_hint: None,
        kind: gantry::jobs::BackendKind::Slurm {
            poll_secs: 1,
            conf: Some(cluster.conf_str()),
            bin_dir: None,
        },
        trust: None,
    };
    let runner = Runner {
        conf: Some(cluster.conf_str()),
        bin_dir: None,
    };
    let link = spawn(cfg.clone(), runner.clone(), Duration::from_secs(1), tx);
    let states = wait(&mut rx, "node states", 20, |e| match e {
        JobEvent::NodeStates(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!(states.len(), 3, "{states:?}");
    assert!(states.iter().all(|s| s.1 == "idle"), "{states:?}");
    // The text format read when a release's sinfo JSON is not understood says the same.
    let args: Vec<String> = gantry::slurm::text::SINFO_ARGS
        .iter()
        .map(|a| a.to_string())
        .collect();
    let text = runner.ok("sinfo", &args).await.unwrap();
    let nodes = gantry::slurm::text::sinfo_nodes(&text);
    assert_eq!(nodes.len(), 3, "{text}");
    assert!(
        nodes
            .iter()
            .all(|n| n.state_text() == "idle" && n.cpus == 2 && n.real_memory == 1000),
        "{text}"
    );

    // Submit and see it with its pids.
    let dir = cluster.dir.path();
    // Outputs go to the temp dir (sbatch's default is slurm-%j.out in the current directory).
    let out_of = |n: &str| Some(dir.join(n).display().to_string());
    let a = submit(&link, &mut rx, job("long-a", "sleep 120", out_of("a.out"))).await;
    let rows_a = rows_of(&mut rx, a).await;
    let (node_a, pid_a) = rows_a[0].clone();
    assert!(
        std::fs::read_to_string(format!("/proc/{pid_a}/cmdline")).is_ok(),
        "a real process"
    );

    // Kill it: the real process goes away.
    link.send(JobCommand::Signal {
        targets: vec![Target {
            node: node_a.clone(),
            pid: pid_a,
            name: "long-a".into(),
        }],
        signal: Signal::Kill,
    });
    let res = wait(&mut rx, "kill result", 20, |e| match e {
        JobEvent::Signalled(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert!(res[0].1.is_ok(), "{res:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::path::Path::new(&format!("/proc/{pid_a}")).exists() {
        assert!(Instant::now() < deadline, "process {pid_a} still alive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // scancel's gotcha: an unknown id still exits 0 — which is why the backend checks first.
    let o = runner.run("scancel", &["999999".into()]).await.unwrap();
    assert!(o.ok, "{o:?}");
    // A target Slurm no longer lists is refused, not silently "killed".
    link.send(JobCommand::Signal {
        targets: vec![Target {
            node: "c9".into(),
            pid: 1,
            name: "x".into(),
        }],
        signal: Signal::Term,
    });
    let res = wait(&mut rx, "refusal", 20, |e| match e {
        JobEvent::Signalled(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert!(
        res[0].1.as_ref().unwrap_err().contains("no longer listed"),
        "{res:?}"
    );

    // A busy job holding ~50 MB: sstat's CPU and memory land on its task's row.
    let spin = submit(
        &link,
        &mut rx,
        job(
            "spin-s",
            "x=$(head -c 50000000 /dev/zero | tr '\\0' a); while :; do :; done",
            out_of("s.out"),
        ),
    )
    .await;
    let (cpu, rss) = wait(&mut rx, "the busy job's CPU and memory", 60, |e| match e {
        JobEvent::Lists { procs, .. } => procs
            .iter()
            .find(|p| p.job == spin.to_string() && p.cpu_pct > 10.0 && p.rss_kb > 40_000)
            .map(|p| (p.cpu_pct, p.rss_kb)),
        _ => None,
    })
    .await;
    eprintln!("busy job: {cpu:.0} % of a CPU, {rss} KiB");
    assert!(cpu <= 400.0 && rss < 1_000_000, "{cpu} % {rss} KiB");

    // Seen from a machine that runs no slurmd (a login node), listpids finds nothing: the job
    // is one row per node with its id in place of a pid, carrying its steps' usage. The
    // commands are the real ones, but for a `scontrol listpids` that lists nothing.
    let bin = dir.join("login-node-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for cmd in ["squeue", "sinfo", "sbatch", "scancel", "sacct", "sstat"] {
        std::os::unix::fs::symlink(format!("/usr/bin/{cmd}"), bin.join(cmd)).unwrap();
    }
    let wrapper = bin.join("scontrol");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nif [ \"$1\" = listpids ]; then echo 'PID      JOBID    STEPID   LOCALID GLOBALID'; exit 0; fi\nexec /usr/bin/scontrol \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let (tx2, mut rx2) = tokio::sync::mpsc::unbounded_channel();
    let mut remote_cfg = cfg.clone();
    remote_cfg.kind = gantry::jobs::BackendKind::Slurm {
        poll_secs: 1,
        conf: Some(cluster.conf_str()),
        bin_dir: Some(bin.display().to_string()),
    };
    let remote = spawn(
        remote_cfg,
        Runner {
            conf: Some(cluster.conf_str()),
            bin_dir: Some(bin.display().to_string()),
        },
        Duration::from_secs(1),
        tx2,
    );
    let row = wait(&mut rx2, "the busy job as one row", 60, |e| match e {
        JobEvent::Lists { procs, .. } => procs
            .iter()
            .find(|p| p.job == spin.to_string() && p.cpu_pct > 10.0 && p.rss_kb > 40_000)
            .map(|p| (p.pid, p.name.clone())),
        _ => None,
    })
    .await;
    assert_eq!(row, (spin as u32, "spin-s (job)".to_string()));
    drop(remote);
    let _ = runner.run("scancel", &[spin.to_string()]).await;

    // Requeue a running job onto another node.
    let b = submit(&link, &mut rx, job("mover-b", "sleep 120", out_of("b.out"))).await;
    let (node_b, pid_b) = rows_of(&mut rx, b).await[0].clone();
    let target = cluster
        .nodes
        .iter()
        .find(|n| **n != node_b)
        .unwrap()
        .clone();
    link.send(JobCommand::Migrate {
        target: Target {
            node: node_b.clone(),
            pid: pid_b,
            name: "mover-b".into(),
        },
        to: target.clone(),
    });
    let r = wait(&mut rx, "migration", 30, |e| match e {
        JobEvent::Migrated(_, r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert_eq!(r, Ok((target.clone(), 0)));
    let moved = wait(&mut rx, "job b running on the target", 60, |e| match e {
        JobEvent::Lists { procs, .. } => procs
            .iter()
            .find(|p| p.job == b.to_string() && p.state == 'R')
            .map(|p| p.node.clone()),
        _ => None,
    })
    .await;
    assert_eq!(moved, target, "requeued onto the requested node");

    // A job that fails: its exit code decoded, its output read.
    let out = dir.join("c.out").display().to_string();
    let c = submit(
        &link,
        &mut rx,
        job("ends-c", "echo done-c; exit 3", Some(out.clone())),
    )
    .await;
    let exit = wait(&mut rx, "job c's result", 40, |e| match e {
        JobEvent::Lists { jobs, .. } => jobs
            .iter()
            .find(|j| j.id == c && j.ended.is_some())
            .map(|j| (j.state.clone(), j.exit)),
        _ => None,
    })
    .await;
    assert_eq!(exit, ("failed".to_string(), Some(3)));
    link.send(JobCommand::Tail {
        id: c,
        stream: "out".into(),
        offset: 0,
    });
    let data = wait(&mut rx, "output", 20, |e| match e {
        JobEvent::Tail { data, .. } => Some(data.clone()),
        JobEvent::TailFailed(e) => panic!("{e}"),
        _ => None,
    })
    .await;
    assert!(data.contains("done-c"), "{data}");

    // History: this cluster keeps no accounting database, so sacct falls back to the job
    // completion log; times arrive as epoch seconds.
    let o = gantry::slurm::link::job_history(&runner, true)
        .await
        .unwrap();
    assert!(o.ok, "{o:?}");
    let history = gantry::slurm::parse::sacct(&o.stdout, |u| u.to_string());
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
        first.start > now - 600 && first.start <= now,
        "start {} is an epoch time of the last minutes",
        first.start
    );
    link.send(JobCommand::Signal {
        targets: vec![Target {
            node: target,
            pid: 0,
            name: String::new(),
        }],
        signal: Signal::Kill,
    });
    let _ = runner.run("scancel", &[b.to_string()]).await;
}
