//! What the Slurm link tests share, whichever transport they drive: waiting for the link's
//! events and polls, submitting straight with sbatch, and asking Slurm's own commands what
//! state a job is in (read with the product's own parser of that output).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use gantry::jobs::JobEvent;
use gantry::slurm::link::{CmdKind, Runner};
use gantry::slurm::view::SlurmView;
use tokio::sync::mpsc::UnboundedReceiver;

/// The `[[manager]]` of a Slurm cluster for every cluster on screen, polled every second.
pub fn slurm_manager(
    conf: Option<String>,
    bin_dir: Option<String>,
    rest: Option<gantry::slurm::rest::RestConfig>,
) -> gantry::jobs::ManagerConfig {
    gantry::jobs::ManagerConfig {
        cluster: "*".into(),
        addresses: Vec::new(),
        user: None,
        read_only: false,
        login_hint: None,
        kind: gantry::jobs::BackendKind::Slurm {
            poll_secs: 1,
            conf,
            bin_dir,
            rest,
        },
        trust: None,
        queue: Default::default(),
    }
}

/// A link's events.
pub type Rx = UnboundedReceiver<(String, JobEvent)>;

/// Waits for an event `f` accepts.
pub async fn wait<T>(
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

/// Waits for a poll whose view `f` accepts.
pub async fn view<T>(
    rx: &mut Rx,
    what: &str,
    secs: u64,
    mut f: impl FnMut(&SlurmView) -> Option<T>,
) -> T {
    wait(rx, what, secs, |e| match e {
        JobEvent::Slurm(v) => f(v),
        _ => None,
    })
    .await
}

/// sbatch straight from the test (array jobs, holds): the job id.
pub async fn sbatch(r: &Runner, args: &[&str]) -> u64 {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = r.ok(CmdKind::Act, "sbatch", &args).await.unwrap();
    gantry::slurm::sbatch::submitted_id(&out).unwrap()
}

/// (job as Slurm names it, state, reason) of every job squeue holds, from Slurm's commands.
pub async fn squeue_states(r: &Runner) -> Vec<(String, String, String)> {
    let args: Vec<String> = ["-h", "-t", "all", "-o", "%i|%A|%T|%r"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let o = r.run(CmdKind::Act, "squeue", &args).await.unwrap();
    gantry::slurm::act::parse_states(&o.stdout)
}

/// The state of `id` in `states` (empty: not listed).
pub fn state_of(states: &[(String, String, String)], id: &str) -> String {
    states
        .iter()
        .find(|(i, _, _)| i == id)
        .map(|(_, s, _)| s.clone())
        .unwrap_or_default()
}

/// Waits (within KillWait and some) for the job to end CANCELLED.
pub async fn ended_cancelled(r: &Runner, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let st = squeue_states(r).await;
        match state_of(&st, id).as_str() {
            "CANCELLED" => return,
            "COMPLETING" | "RUNNING" if Instant::now() < deadline => {}
            other => panic!("job {id} is {other}, not CANCELLED: {st:?}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Whether an outcome says the job was cancelled (CANCELLED, or on its way there).
pub fn cancelled(r: &Result<String, String>) -> bool {
    r.as_ref().is_ok_and(|s| {
        s.starts_with("CANCELLED") || s.starts_with("cancelled") || s.ends_with("CANCELLED")
    })
}
