//! The pair of managers under random faults, checked the way Jepsen checks a database: a
//! client submits jobs the whole time and records every operation (what it asked, when, and
//! the answer); a monitor records which manager was active at which epoch; random schedules of
//! faults — a SIGKILLed or SIGSTOPped active manager, the managers' links cut, a node's link
//! to the primary cut or reset, bytes garbled on the managers' or the nodes' links (latency, a
//! slow link, corrupted, duplicated or lost bytes, a stream cut mid-record, a half-open
//! connection) — run against real managers and agents on loopback. Afterwards, with everything
//! healed, the history is checked:
//! - every acknowledged submission is present exactly once and ends done;
//! - no job ran more than once (so none ran on two nodes at once);
//! - no task was started by a manager after a newer epoch was active (a fenced manager
//!   commanded nothing).
//!
//! `GANTRY_SOAK_SCHEDULES` (default 2), `GANTRY_SOAK_FAULTS` per schedule (default 4) and
//! `GANTRY_SOAK_SEED` (default: the time) set the run; BENCHMARKS.md records a long one.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::pair::{Pair, ha, jobs, login};
use gantry::cm::proto::{Reply, Request};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small reproducible generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One client operation: when it was asked (seconds into the schedule), and the answer.
#[derive(Debug)]
struct Op {
    #[allow(dead_code)]
    at: f64,
    answer: Result<u64, String>,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    KillActive,
    StopActive,
    Partition,
    CutNode(usize),
    ResetNodes,
    KillStandby,
    /// Bytes garbled on the managers' replication links (or, `nodes`, on every node's link
    /// to the primary): latency, a slow link, corrupted, duplicated or lost bytes, or a
    /// stream cut mid-record, as the fault proxy makes them.
    Garble {
        nodes: bool,
        how: Garbling,
    },
}

#[derive(Debug, Clone, Copy)]
enum Garbling {
    Latency,
    SlowLink,
    Corrupted,
    Duplicated,
    Lost,
    Truncated,
    HalfOpen,
}

impl Garbling {
    fn apply(self, x: &common::proxy::Proxy) {
        match self {
            Garbling::Latency => x.delay(300),
            Garbling::SlowLink => x.throttle(4_000),
            Garbling::Corrupted => x.corrupt(0.3),
            Garbling::Duplicated => x.duplicate(0.3),
            Garbling::Lost => x.drop_bytes(0.3),
            Garbling::Truncated => x.truncate(),
            Garbling::HalfOpen => x.half_open(),
        }
    }
}

fn pick(rng: &mut Rng) -> Fault {
    match rng.below(7) {
        0 => Fault::KillActive,
        1 => Fault::StopActive,
        2 => Fault::Partition,
        3 => Fault::CutNode(rng.below(3) as usize),
        4 => Fault::ResetNodes,
        5 => Fault::KillStandby,
        _ => Fault::Garble {
            nodes: rng.below(2) == 1,
            how: match rng.below(7) {
                0 => Garbling::Latency,
                1 => Garbling::SlowLink,
                2 => Garbling::Corrupted,
                3 => Garbling::Duplicated,
                4 => Garbling::Lost,
                5 => Garbling::Truncated,
                _ => Garbling::HalfOpen,
            },
        },
    }
}

/// Which side is active now: 0 the primary, 1 the shadow.
async fn active_side(p: &Pair) -> Option<usize> {
    let a = ha(&p.a.plain).await;
    let b = ha(&p.b.plain).await;
    match (a, b) {
        (Some(a), Some(b)) if a.role == "active" && b.role == "active" => {
            Some(if a.epoch >= b.epoch { 0 } else { 1 })
        }
        (Some(a), _) if a.role == "active" => Some(0),
        (_, Some(b)) if b.role == "active" => Some(1),
        _ => None,
    }
}

async fn run_schedule(seed: u64, faults: u64) {
    let mut rng = Rng(seed | 1);
    let mut p = Pair::start(&["n1", "n2", "n3"]);
    let t0 = Instant::now();
    common::pair::until(&p, "the pair settled", 60, async || {
        let s = ha(&p.a.plain).await?;
        (s.shadow == "in sync" && s.following == 3).then_some(())
    })
    .await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The monitor: which epoch was active when.
    let (a_plain, b_plain) = (p.a.plain.clone(), p.b.plain.clone());
    let stop_m = stop.clone();
    let monitor = tokio::spawn(async move {
        let mut seen: Vec<(f64, u64)> = Vec::new();
        while !stop_m.load(std::sync::atomic::Ordering::Relaxed) {
            for plain in [&a_plain, &b_plain] {
                if let Some(s) = ha(plain).await
                    && s.role == "active"
                {
                    seen.push((common::pair::unix_now(), s.epoch));
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        seen
    });
    // The client: submissions, one after another, to whichever manager is active.
    let (a_plain, b_plain) = (p.a.plain.clone(), p.b.plain.clone());
    let job = p.job(0);
    let stop_c = stop.clone();
    let client = tokio::spawn(async move {
        let mut history = Vec::new();
        let mut conn = None;
        while !stop_c.load(std::sync::atomic::Ordering::Relaxed) {
            if conn.is_none() {
                for plain in [&a_plain, &b_plain] {
                    if let Some(s) = ha(plain).await
                        && s.role == "active"
                    {
                        conn = login(plain, "alice").await;
                        break;
                    }
                }
                if conn.is_none() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            let at = t0.elapsed().as_secs_f64();
            let r = tokio::time::timeout(
                Duration::from_secs(10),
                c.call(&Request::Submit(job.clone())),
            )
            .await;
            let answer = match r {
                Ok(Ok(Reply::Submitted(id))) => Ok(id),
                Ok(Ok(other)) => Err(format!("{other:?}")),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("no answer in 10 s".into()),
            };
            if answer.is_err() {
                conn = None;
            }
            history.push(Op { at, answer });
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        history
    });
    let mut schedule = Vec::new();
    for _ in 0..faults {
        tokio::time::sleep(Duration::from_millis(500 + rng.below(2000))).await;
        let fault = pick(&mut rng);
        let hold = Duration::from_millis(1000 + rng.below(5000));
        schedule.push(format!(
            "{:.1}s {fault:?} for {hold:?}",
            t0.elapsed().as_secs_f64()
        ));
        let side = active_side(&p).await;
        match fault {
            Fault::KillActive | Fault::KillStandby => {
                let victim = match (fault, side) {
                    (Fault::KillActive, Some(s)) => s,
                    (Fault::KillStandby, Some(s)) => 1 - s,
                    _ => 0,
                };
                let side = if victim == 0 { &mut p.a } else { &mut p.b };
                side.kill();
                tokio::time::sleep(hold).await;
                side.start();
            }
            Fault::StopActive => {
                let side = if side == Some(1) { &p.b } else { &p.a };
                side.signal(libc::SIGSTOP);
                tokio::time::sleep(hold).await;
                side.signal(libc::SIGCONT);
            }
            Fault::Partition => {
                p.link.cut();
                p.back.cut();
                tokio::time::sleep(hold).await;
                p.link.pass();
                p.back.pass();
            }
            Fault::CutNode(i) => {
                p.to_a[i].1.cut();
                tokio::time::sleep(hold).await;
                p.to_a[i].1.pass();
            }
            Fault::ResetNodes => {
                for (_, x) in &p.to_a {
                    x.reset();
                }
                tokio::time::sleep(hold).await;
                for (_, x) in &p.to_a {
                    x.pass();
                }
            }
            Fault::Garble { nodes, how } => {
                let links: Vec<&common::proxy::Proxy> = if nodes {
                    p.to_a.iter().map(|(_, x)| x).collect()
                } else {
                    vec![&p.link, &p.back]
                };
                for x in &links {
                    how.apply(x);
                }
                tokio::time::sleep(hold).await;
                for x in &links {
                    x.pass();
                }
            }
        }
    }
    // Healed: both managers run, every link passes; the client goes on a little.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let history = client.await.expect("client");
    let seen = monitor.await.expect("monitor");
    eprintln!(
        "seed {seed}: {} operations, {} acknowledged; faults: {}",
        history.len(),
        history.iter().filter(|o| o.answer.is_ok()).count(),
        schedule.join(", ")
    );
    check(&p, seed, &history, &seen, &schedule).await;
}

async fn check(p: &Pair, seed: u64, history: &[Op], seen: &[(f64, u64)], schedule: &[String]) {
    let why = || format!("seed {seed}, faults {schedule:?}\n{}", p.logs());
    let acked: Vec<u64> = history
        .iter()
        .filter_map(|o| o.answer.clone().ok())
        .collect();
    let mut distinct = acked.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        acked.len(),
        "an id acknowledged twice: {}",
        why()
    );
    // Every acknowledged job is there and ends done.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut listed: Option<HashMap<u64, String>> = None;
        for plain in [&p.a.plain, &p.b.plain] {
            if let Some(s) = ha(plain).await
                && s.role == "active"
            {
                listed = jobs(plain).await;
            }
        }
        let listed = listed.unwrap_or_default();
        let missing: Vec<_> = acked
            .iter()
            .filter(|id| listed.get(id).is_none_or(|s| s != "done"))
            .map(|id| (*id, listed.get(id).cloned()))
            .collect();
        if missing.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            let ids: Vec<u64> = missing.iter().take(5).map(|m| m.0).collect();
            panic!(
                "acknowledged jobs missing or not done: {missing:?}\n{}\n{}",
                why(),
                common::pair::history_of(p, &ids)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // No job ran twice.
    let twice: Vec<_> = p.runs().into_iter().filter(|(_, n)| *n > 1).collect();
    if !twice.is_empty() {
        let ids: Vec<u64> = twice.iter().map(|t| t.0).collect();
        let starts: Vec<_> = p
            .starts()
            .into_iter()
            .filter(|s| ids.contains(&s.0))
            .collect();
        panic!(
            "jobs that ran twice: {twice:?}; their starts (job, epoch, time): {starts:?}; epochs seen active (time, epoch): {:?}\n{}\n{}",
            seen.iter()
                .enumerate()
                .filter(|(i, x)| *i == 0 || seen[i - 1].1 != x.1)
                .map(|(_, x)| *x)
                .collect::<Vec<_>>(),
            why(),
            common::pair::history_of(p, &ids)
        );
    }
    // No task was started by a manager after a newer epoch was active.
    let starts = p.starts();
    for (job, epoch, t) in &starts {
        let newer = seen.iter().find(|(at, e)| *e > *epoch && *at + 1.0 < *t);
        assert!(
            newer.is_none(),
            "job {job} was started by epoch {epoch} at {t:.2}, after {:?} (time, epoch) was seen active\n{}",
            newer,
            why()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn random_fault_schedules_lose_nothing_acknowledged_and_run_nothing_twice() {
    let schedules = env("GANTRY_SOAK_SCHEDULES", 2);
    let faults = env("GANTRY_SOAK_FAULTS", 4);
    let seed = env(
        "GANTRY_SOAK_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    );
    let started = Instant::now();
    for i in 0..schedules {
        run_schedule(seed.wrapping_add(i.wrapping_mul(0x9e37_79b9)), faults).await;
    }
    eprintln!(
        "{schedules} schedules of {faults} faults from seed {seed}: {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
