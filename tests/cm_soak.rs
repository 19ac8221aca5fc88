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
//! A second soak puts faults on all four links at once, then overlapping at random: a source
//! and the aggregator, the console and the managers, the nodes and the primary, the shadow and
//! its primary (see its own comment).
//!
//! `GANTRY_SOAK_SCHEDULES` (default 2), `GANTRY_SOAK_FAULTS` per schedule (default 4),
//! `GANTRY_CHAOS_SECS` (default 30) and `GANTRY_SOAK_SEED` (default: the time) set the run;
//! BENCHMARKS.md records a long one.

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

/// The monitor: which epoch was active when, until `stop`.
fn epoch_monitor(
    p: &Pair,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(f64, u64)>> {
    let (a_plain, b_plain) = (p.a.plain.clone(), p.b.plain.clone());
    tokio::spawn(async move {
        let mut seen: Vec<(f64, u64)> = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
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
    })
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
    let monitor = epoch_monitor(&p, stop.clone());
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

/// One fault the chaos below puts on a link: its name and how.
type LinkFault = (&'static str, fn(&common::proxy::Proxy));

const LINK_FAULTS: [LinkFault; 9] = [
    ("latency", |x| x.delay(300)),
    ("a 4 kB/s link", |x| x.throttle(4_000)),
    ("corrupted bytes", |x| x.corrupt(0.3)),
    ("duplicated bytes", |x| x.duplicate(0.3)),
    ("lost bytes", |x| x.drop_bytes(0.3)),
    ("a stream cut mid-record", |x| x.truncate()),
    ("half-open", |x| x.half_open()),
    ("resets", |x| x.reset()),
    ("a black hole", |x| x.cut()),
];

const SOAK_HOSTS: usize = 20;

/// The XML a running aggregator serves for `cluster` on its interactive port.
fn served_cluster(port: u16, cluster: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("/{cluster}\n").as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.contains("</GANGLIA_XML>").then_some(out)
}

/// The console's link (the console's own code) to the pair, through a proxy to each manager,
/// logged in as alice.
async fn console_link(
    p: &Pair,
    to: [&common::proxy::Proxy; 2],
) -> (
    gantry::jobs::link::LinkHandle,
    tokio::sync::mpsc::UnboundedReceiver<(String, gantry::jobs::JobEvent)>,
) {
    use gantry::jobs::{BackendKind, JobCommand, JobEvent, LinkState, ManagerConfig};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let link = gantry::jobs::link::spawn(
        ManagerConfig {
            cluster: "*".into(),
            addresses: to.iter().map(|x| x.addr()).collect(),
            user: Some("alice".into()),
            read_only: false,
            login_hint: None,
            kind: BackendKind::CentralManager,
            trust: Some(gantry::cm::tls::Trust::Ca(
                p.a.dir.path().join("cm/tls/ca.crt"),
            )),
            queue: Default::default(),
        },
        tx,
    );
    let mut logged_in = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !logged_in {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((_, JobEvent::State(LinkState::Connected(_))))) => {
                link.send(JobCommand::Login {
                    user: "alice".into(),
                    password: "alicepw".into(),
                    remember: false,
                });
            }
            Ok(Some((_, JobEvent::State(LinkState::LoggedIn(..))))) => logged_in = true,
            Ok(Some(_)) => {}
            _ => panic!("the console link never logged in\n{}", p.logs()),
        }
    }
    (link, rx)
}

/// Faults on all four links at once, then overlapping at random: the source's link to the
/// aggregator, the console's link to the managers, the nodes' links to the primary, and the
/// shadow's replication link, with the active manager stopped now and then. The console's
/// own link submits the whole time. Afterwards: every acknowledged job is there, done, and ran
/// once; every submission was answered (never left waiting); the aggregator never lost a
/// host; and every link is back: the aggregator's poll clean with every
/// host, the console's link acknowledging again with lists that hold every acknowledged job.
#[tokio::test(flavor = "multi_thread")]
async fn overlapping_faults_on_all_four_links_lose_nothing_and_every_link_heals() {
    use common::proxy::Proxy;
    use gantry::jobs::{JobCommand, JobEvent};
    let seed = env(
        "GANTRY_SOAK_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    );
    let secs = env("GANTRY_CHAOS_SECS", 30);
    let mut rng = Rng(seed | 1);
    let p = Pair::start(&["n1", "n2", "n3"]);
    let t0 = Instant::now();
    common::pair::until(&p, "the pair settled", 60, async || {
        let s = ha(&p.a.plain).await?;
        (s.shadow == "in sync" && s.following == 3).then_some(())
    })
    .await;
    // A source and the aggregator, through a proxy.
    let agg_dir = tempfile::tempdir().expect("dir");
    let sim_port = common::free_port();
    let _sim = common::start_sim(SOAK_HOSTS, sim_port);
    let src = Proxy::start(&format!("127.0.0.1:{sim_port}"));
    let src_port: u16 = src
        .addr()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the proxy's port");
    common::alpha_config(agg_dir.path(), src_port, "");
    let http = common::free_port();
    let _agg = common::start_aggregator_http(agg_dir.path(), http, &[]);
    let healthy = move || {
        let s = common::aggregator_status(http)?;
        let src = &s["sources"][0];
        let hosts = s["hosts"]["up"].as_u64()? + s["hosts"]["down"].as_u64()?;
        (src["health"] == "ok" && hosts == SOAK_HOSTS as u64).then_some(())
    };
    common::pair::until(&p, "the aggregator polling cleanly", 60, async || healthy()).await;
    // The console's link to both managers, each through a proxy.
    let (ca, cb) = (Proxy::start(&p.a.tls), Proxy::start(&p.b.tls));
    let (link, mut rx) = console_link(&p, [&ca, &cb]).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let monitor = epoch_monitor(&p, stop.clone());
    // What the aggregator serves: no host is ever lost (a poll that could not read a whole
    // document keeps what was known; only a clean one may say a host is gone).
    let stop_a = stop.clone();
    let watcher = tokio::task::spawn_blocking(move || {
        let (mut samples, mut wrong) = (0u64, Vec::new());
        while !stop_a.load(std::sync::atomic::Ordering::Relaxed) {
            if let Some(xml) = served_cluster(http, "alpha") {
                samples += 1;
                let hosts = xml.matches("<HOST ").count();
                if hosts < SOAK_HOSTS {
                    let status = common::aggregator_status(http).unwrap_or_default();
                    wrong.push(format!(
                        "{hosts} hosts served at {:.1}s; the source: {}",
                        t0.elapsed().as_secs_f64(),
                        status["sources"][0]
                    ));
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        (samples, wrong)
    });
    // The console submits through its link the whole time; every submission is answered.
    let job = Box::new(p.job(0));
    let stop_c = stop.clone();
    let client = tokio::spawn(async move {
        let mut history = Vec::new();
        while !stop_c.load(std::sync::atomic::Ordering::Relaxed) {
            let at = t0.elapsed().as_secs_f64();
            link.send(JobCommand::Submit(job.clone()));
            let deadline = Instant::now() + Duration::from_secs(90);
            let answer = loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, rx.recv()).await {
                    Ok(Some((_, JobEvent::Submitted(r)))) => break r,
                    Ok(Some(_)) => {}
                    _ => break Err("NEVER ANSWERED".to_string()),
                }
            };
            history.push(Op { at, answer });
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (history, link, rx)
    });
    // The links, in groups a fault takes together.
    let mut groups: Vec<(String, Vec<&Proxy>)> = vec![
        ("replication".into(), vec![&p.link, &p.back]),
        ("console".into(), vec![&ca, &cb]),
        ("source".into(), vec![&src]),
    ];
    for (n, x) in &p.to_a {
        groups.push((format!("node {n}"), vec![x]));
    }
    let mut schedule = Vec::new();
    // First all four at once.
    for (name, links) in &groups {
        let (how, fault) = LINK_FAULTS[rng.below(LINK_FAULTS.len() as u64) as usize];
        for x in links {
            fault(x);
        }
        schedule.push(format!("0.0s {name}: {how}"));
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    for (_, links) in &groups {
        for x in links {
            x.pass();
        }
    }
    // Then overlapping, at random, with the active manager stopped now and then.
    let mut until: Vec<Option<Instant>> = vec![None; groups.len()];
    let mut stopped: Option<(Instant, &common::pair::Side)> = None;
    while t0.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_millis(200 + rng.below(1000))).await;
        let now = Instant::now();
        for (i, u) in until.iter_mut().enumerate() {
            if u.is_some_and(|t| t <= now) {
                for x in &groups[i].1 {
                    x.pass();
                }
                *u = None;
            }
        }
        if let Some((t, side)) = stopped
            && t <= now
        {
            side.signal(libc::SIGCONT);
            stopped = None;
        }
        let hold = Duration::from_millis(1000 + rng.below(5000));
        let i = rng.below(groups.len() as u64 + 1) as usize;
        let at = t0.elapsed().as_secs_f64();
        if i == groups.len() {
            if stopped.is_none() {
                let side = if active_side(&p).await == Some(1) {
                    &p.b
                } else {
                    &p.a
                };
                side.signal(libc::SIGSTOP);
                stopped = Some((now + hold.min(Duration::from_secs(4)), side));
                schedule.push(format!("{at:.1}s the active manager stopped"));
            }
        } else if until[i].is_none() {
            let (how, fault) = LINK_FAULTS[rng.below(LINK_FAULTS.len() as u64) as usize];
            for x in &groups[i].1 {
                fault(x);
            }
            until[i] = Some(now + hold);
            schedule.push(format!("{at:.1}s {}: {how} for {hold:?}", groups[i].0));
        }
    }
    // Healed.
    for (_, links) in &groups {
        for x in links {
            x.pass();
        }
    }
    if let Some((_, side)) = stopped {
        side.signal(libc::SIGCONT);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (history, link, mut rx) = client.await.expect("client");
    let seen = monitor.await.expect("monitor");
    let (samples, wrong) = watcher.await.expect("watcher");
    let unanswered = history
        .iter()
        .filter(|o| o.answer.as_ref().is_err_and(|e| e == "NEVER ANSWERED"))
        .count();
    eprintln!(
        "chaos seed {seed}: {} submissions through the console link, {} acknowledged, {unanswered} unanswered; {samples} aggregator samples; faults: {}",
        history.len(),
        history.iter().filter(|o| o.answer.is_ok()).count(),
        schedule.join(", ")
    );
    assert_eq!(
        unanswered, 0,
        "submissions left waiting (seed {seed}, faults {schedule:?})"
    );
    assert!(
        wrong.is_empty(),
        "the aggregator lost hosts: {wrong:?} (seed {seed}, faults {schedule:?})"
    );
    check(&p, seed, &history, &seen, &schedule).await;
    // Every link is back: the aggregator's poll is clean with every host; the console's link
    // acknowledges again and lists every acknowledged job.
    common::pair::until(&p, "the source link healed", 60, async || healthy()).await;
    let acked: Vec<u64> = history
        .iter()
        .filter_map(|o| o.answer.clone().ok())
        .collect();
    // It may still be making its connection again: a refusal ("nothing was sent") is an
    // answer; it is asked again until it acknowledges.
    link.send(JobCommand::Submit(Box::new(p.job(0))));
    let deadline = Instant::now() + Duration::from_secs(90);
    let (mut last, mut listed, mut refusals) = (None, false, Vec::new());
    while last.is_none() || !listed {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((_, JobEvent::Submitted(Ok(id))))) => last = Some(id),
            Ok(Some((_, JobEvent::Submitted(Err(e))))) => {
                refusals.push(e);
                tokio::time::sleep(Duration::from_secs(1)).await;
                link.send(JobCommand::Submit(Box::new(p.job(0))));
            }
            Ok(Some((_, JobEvent::Lists { jobs, .. }))) => {
                listed = last.is_some()
                    && acked
                        .iter()
                        .chain(last.iter())
                        .all(|id| jobs.iter().any(|j| j.id == *id));
            }
            Ok(Some(_)) => {}
            _ => panic!(
                "the console link did not heal (acknowledged after healing: {last:?}, lists with every job: {listed}; refused: {refusals:?})\n{}",
                p.logs()
            ),
        }
    }
}
