//! The Slurm backend's cost against a real, full Slurm cluster on loopback. Run with:
//!
//!     cargo bench --bench slurm
//!
//! Four slurmd "nodes" of 250 CPUs each (slurmd told to believe the configuration) run 1,000
//! one-CPU jobs (`sleep`), and 10,000 more wait held in the queue, each its own record. A Slurm
//! link then polls (squeue, sinfo, sstat, sacct every fourth poll) and what Gantry's own process
//! spends per poll is read from getrusage (RUSAGE_SELF: the commands it runs are children and
//! are reported apart). Then the time from a command to its checked result: cancelling one held
//! job, and moving one held job to another node (the migrate dialog's command). Results are
//! printed and written to target/bench/slurm.json. Needs root and Debian's Slurm packages; it
//! takes a few minutes, most of them filling the queue.

mod support;

#[allow(unused_imports)]
#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::slurm::{Shape, SlurmCluster, skip_reason};
use gantry::jobs::{JobCommand, JobEvent, Target};
use gantry::slurm::act::{SlurmAct, SlurmCommand};
use gantry::slurm::link::{CmdKind, Runner, spawn};

const RUNNING: usize = 1_000;
const PENDING: usize = 10_000;

/// CPU seconds of this process (user + system) and of its reaped children.
fn cpu() -> (f64, f64) {
    let read = |who| {
        // SAFETY: getrusage writes into the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(who, &mut u) };
        let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
        t(u.ru_utime) + t(u.ru_stime)
    };
    (read(libc::RUSAGE_SELF), read(libc::RUSAGE_CHILDREN))
}

/// Submits `n` jobs with `args`, a few sbatch at a time; a submission slurmctld times out
/// (busy starting a thousand jobs) is tried again.
fn fill(conf: &str, n: usize, args: &[&str]) {
    const WORKERS: usize = 4;
    let per = n.div_ceil(WORKERS);
    std::thread::scope(|s| {
        for w in 0..WORKERS {
            s.spawn(move || {
                for _ in (w * per)..((w + 1) * per).min(n) {
                    let mut tries = 0;
                    loop {
                        let o = std::process::Command::new("sbatch")
                            .args(args)
                            .env("SLURM_CONF", conf)
                            .output()
                            .expect("sbatch runs");
                        if o.status.success() {
                            break;
                        }
                        tries += 1;
                        assert!(tries < 30, "{}", String::from_utf8_lossy(&o.stderr));
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            });
        }
    });
}

fn main() {
    if let Some(why) = skip_reason() {
        eprintln!("slurm bench skipped: {why}");
        return;
    }
    let cluster = SlurmCluster::start_with(Shape {
        nodes: 4,
        cpus: 250,
        min_job_age: 300,
        extra: "MaxJobCount=50000\nMaxArraySize=20000\n",
        cloud: 0,
    })
    .expect("the bench cluster starts");
    let conf = cluster.conf_str();
    let t0 = Instant::now();
    fill(&conf, RUNNING, &["--output=/dev/null", "--wrap=sleep 3600"]);
    fill(
        &conf,
        PENDING,
        &["--hold", "--output=/dev/null", "--wrap=sleep 3600"],
    );
    eprintln!("queue filled in {:.0} s", t0.elapsed().as_secs_f64());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = rt.block_on(measure(&cluster));
    println!("{report}");
    support::write_results("slurm.json", &report);
    let runner = Runner::new(Some(conf), None);
    let _ = rt.block_on(runner.run(CmdKind::Act, "scancel", &["--user=root".into()]));
}

async fn measure(cluster: &SlurmCluster) -> String {
    let conf = cluster.conf_str();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cfg = common::slurm_link::slurm_manager(Some(conf.clone()), None, None);
    let runner = Runner::new(Some(conf), None);
    let link = spawn(cfg, runner, Duration::from_secs(1), tx);
    // Wait until every running job is listed (slurmd starts 1,000 steps at its own pace).
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut listed = (0, 0);
    while listed.0 < RUNNING || listed.1 < PENDING {
        assert!(Instant::now() < deadline, "listed only {listed:?}");
        if let Some((_, JobEvent::Lists { procs, .. })) = rx.recv().await {
            listed = (
                procs.iter().filter(|p| p.state == 'R').count(),
                procs.iter().filter(|p| p.state == 'P').count(),
            );
        }
    }
    // Polls back to back: the link polls again as soon as the last poll ended (1 s apart).
    let polls = 12;
    let (self0, kids0) = cpu();
    let w0 = Instant::now();
    let mut seen = 0;
    while seen < polls {
        if let Some((_, JobEvent::Lists { .. })) = rx.recv().await {
            seen += 1;
        }
    }
    let wall = w0.elapsed().as_secs_f64();
    let (self1, kids1) = cpu();
    let gantry_cpu = (self1 - self0) / polls as f64;
    let commands_cpu = (kids1 - kids0) / polls as f64;

    // A command to its checked result.
    let held: Vec<u32> = {
        let mut v = Vec::new();
        while v.len() < 2 {
            if let Some((_, JobEvent::Lists { procs, .. })) = rx.recv().await {
                v = procs
                    .iter()
                    .filter(|p| p.state == 'P')
                    .map(|p| p.pid)
                    .take(2)
                    .collect();
            }
        }
        v
    };
    let k0 = Instant::now();
    link.send(JobCommand::Slurm(SlurmCommand {
        jobs: vec![held[0].to_string()],
        act: SlurmAct::Cancel,
    }));
    let cancelled = loop {
        if let Some((_, JobEvent::SlurmDone { outcomes, .. })) = rx.recv().await {
            break outcomes;
        }
    };
    let kill_ms = k0.elapsed().as_secs_f64() * 1000.0;
    assert!(cancelled[0].1.is_ok(), "{cancelled:?}");
    let m0 = Instant::now();
    link.send(JobCommand::Migrate {
        target: Target {
            node: "pending".into(),
            pid: held[1],
            name: String::new(),
        },
        to: "c2".into(),
    });
    let moved = loop {
        if let Some((_, JobEvent::Migrated(_, r))) = rx.recv().await {
            break r;
        }
    };
    let migrate_ms = m0.elapsed().as_secs_f64() * 1000.0;
    assert!(moved.is_ok(), "{moved:?}");
    format!(
        "{{\n  \"running\": {RUNNING},\n  \"pending\": {PENDING},\n  \"polls\": {polls},\n  \
         \"gantry_cpu_s_per_poll\": {gantry_cpu:.3},\n  \"commands_cpu_s_per_poll\": {commands_cpu:.3},\n  \
         \"wall_s_per_poll_incl_1s_interval\": {:.2},\n  \"cancel_to_result_ms\": {kill_ms:.0},\n  \
         \"migrate_to_result_ms\": {migrate_ms:.0}\n}}",
        wall / polls as f64
    )
}
