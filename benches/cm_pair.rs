//! A primary manager and its shadow (docs/protocol.md §9), real processes on loopback. Run with:
//!
//!     cargo bench --bench cm_pair
//!
//! - Failover: a pair with three real agents, heartbeat 1 s, takeover after 3 missed: the
//!   primary is SIGKILLed (and, separately, SIGSTOPped) five times each; the time until the
//!   shadow answers as active and until every node follows it (the budget: 3 heartbeats + 1 s).
//! - Durable submissions: 500 submitted back to back on one connection, each acknowledged only
//!   once committed on both managers; then with 8 connections at once; against one manager
//!   without a shadow, the same way.
//! - Catch-up: the shadow is stopped, the primary takes 10,000 jobs, the shadow starts again;
//!   the time from its start until its store holds all of them.
//!
//! The pairs for submissions and catch-up have no nodes (nothing runs, and the primary without
//! its shadow has no majority to ask). Results are printed and written to
//! target/bench/cm_pair.json.

mod support;

use support::median;

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::pair::{Pair, ha, login};
use gantry::cm::job::JobSpec;
use gantry::cm::proto::{Reply, Request};

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

fn round3(v: f64) -> serde_json::Value {
    ((v * 1000.0).round() / 1000.0).into()
}

fn queued_job() -> JobSpec {
    JobSpec {
        name: "bench".into(),
        exec: "/bin/true".into(),
        tasks_per_node: 1,
        total_tasks: 1,
        ..JobSpec::default()
    }
}

/// Seconds until `f` holds (polling every 10 ms), at most `limit`.
async fn time_until(limit: Duration, mut f: impl AsyncFnMut() -> bool) -> f64 {
    let t = Instant::now();
    while !f().await {
        assert!(t.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    t.elapsed().as_secs_f64()
}

/// One failover: (seconds until the shadow is active, until every node follows it).
async fn failover(stop_only: bool) -> (f64, f64) {
    let mut p = Pair::start(&["n1", "n2", "n3"]);
    time_until(Duration::from_secs(60), async || {
        ha(&p.a.plain)
            .await
            .is_some_and(|s| s.shadow == "in sync" && s.following == 3)
    })
    .await;
    let t0 = Instant::now();
    if stop_only {
        p.a.signal(libc::SIGSTOP);
    } else {
        p.a.kill();
    }
    let mut active = None;
    loop {
        if let Some(s) = ha(&p.b.plain).await
            && s.role == "active"
        {
            let t = t0.elapsed().as_secs_f64();
            let a = *active.get_or_insert(t);
            if s.following == 3 {
                p.a.signal(libc::SIGCONT);
                return (a, t);
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no failover");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Seconds for `n` submissions on each of `conns` connections at once.
async fn submissions(plain: &str, n: usize, conns: usize) -> f64 {
    let mut clients = Vec::new();
    for _ in 0..conns {
        clients.push(login(plain, "root").await.expect("login"));
    }
    let t = Instant::now();
    let runs = clients.into_iter().map(|mut c| async move {
        for _ in 0..n {
            match c.call(&Request::Submit(queued_job())).await {
                Ok(Reply::Submitted(_)) => {}
                other => panic!("{other:?}"),
            }
        }
    });
    futures_util::future::join_all(runs).await;
    t.elapsed().as_secs_f64()
}

/// One manager without a shadow, configured like the pair's.
fn single() -> (tempfile::TempDir, common::Proc, String) {
    let dir = tempfile::tempdir().expect("dir");
    common::pair::users_and_config(dir.path());
    let tls = format!("127.0.0.1:{}", common::free_port());
    let plain = format!("127.0.0.1:{}", common::free_port());
    let cm = common::start_cm_on(dir.path(), (&tls, &plain), &["--heartbeat", "1"]);
    (dir, cm.proc, plain)
}

#[tokio::main]
async fn main() {
    let mut kill = Vec::new();
    let mut stop = Vec::new();
    for _ in 0..5 {
        kill.push(failover(false).await);
        stop.push(failover(true).await);
    }
    let col = |v: &[(f64, f64)], i: usize| -> Vec<f64> {
        v.iter().map(|x| if i == 0 { x.0 } else { x.1 }).collect()
    };
    println!(
        "failover after SIGKILL: active {:.2} s (max {:.2}), every node following {:.2} s (max {:.2}); budget 4 s",
        median(col(&kill, 0)),
        max(&col(&kill, 0)),
        median(col(&kill, 1)),
        max(&col(&kill, 1))
    );
    println!(
        "failover after SIGSTOP: active {:.2} s (max {:.2}), every node following {:.2} s (max {:.2})",
        median(col(&stop, 0)),
        max(&col(&stop, 0)),
        median(col(&stop, 1)),
        max(&col(&stop, 1))
    );

    // Durable submissions, with the shadow in sync and without a shadow.
    let p = Pair::start(&[]);
    time_until(Duration::from_secs(60), async || {
        ha(&p.a.plain).await.is_some_and(|s| s.shadow == "in sync")
    })
    .await;
    let pair_seq = submissions(&p.a.plain, 500, 1).await;
    let pair_par = submissions(&p.a.plain, 500 / 8, 8).await;
    let (_d, _single, plain) = single();
    time_until(Duration::from_secs(30), async || ha(&plain).await.is_some()).await;
    let one_seq = submissions(&plain, 500, 1).await;
    let one_par = submissions(&plain, 500 / 8, 8).await;
    println!(
        "500 durable submissions back to back: {pair_seq:.2} s with the shadow in sync, {one_seq:.2} s without a shadow ({:.2}×); on 8 connections: {pair_par:.2} s against {one_par:.2} s",
        pair_seq / one_seq
    );

    // Catch-up after 10,000 jobs missed.
    let mut p = p;
    p.b.kill();
    time_until(Duration::from_secs(30), async || {
        ha(&p.a.plain)
            .await
            .is_some_and(|s| s.shadow.starts_with("away"))
    })
    .await;
    submissions(&p.a.plain, 10_000 / 16, 16).await;
    let target = ha(&p.a.plain).await.expect("primary").seq;
    let t = Instant::now();
    p.b.start();
    let b_plain = p.b.plain.clone();
    time_until(Duration::from_secs(120), async || {
        ha(&b_plain).await.is_some_and(|s| s.seq >= target)
    })
    .await;
    let catch_up = t.elapsed().as_secs_f64();
    println!(
        "a shadow that missed 10,000 jobs: its store holds them {catch_up:.2} s after it starts (budget 2 s)"
    );

    let v = serde_json::json!({
        "failover_sigkill_active_s": kill.iter().map(|x| round3(x.0)).collect::<Vec<_>>(),
        "failover_sigkill_following_s": kill.iter().map(|x| round3(x.1)).collect::<Vec<_>>(),
        "failover_sigstop_active_s": stop.iter().map(|x| round3(x.0)).collect::<Vec<_>>(),
        "failover_sigstop_following_s": stop.iter().map(|x| round3(x.1)).collect::<Vec<_>>(),
        "submit_500_in_sync_s": round3(pair_seq),
        "submit_500_no_shadow_s": round3(one_seq),
        "submit_500_8conns_in_sync_s": round3(pair_par),
        "submit_500_8conns_no_shadow_s": round3(one_par),
        "catch_up_10000_jobs_s": round3(catch_up),
    });
    support::write_results("cm_pair.json", &format!("{v:#}\n"));
}
