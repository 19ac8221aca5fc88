//! A primary central manager and its shadow (docs/protocol.md §9), real processes with three
//! real agents on loopback, faults injected by killing, stopping and cutting: no acknowledged
//! job is lost, none runs twice, a fenced primary changes nothing and steps down, and control
//! goes back to the primary in order.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::pair::{Pair, ha, jobs, login, until};
use gantry::cm::client::ClientError;
use gantry::cm::proto::{Reply, Request};

/// The manager that says it is active, with the highest epoch.
async fn active(p: &Pair) -> Option<(String, u64)> {
    let mut best: Option<(String, u64)> = None;
    for plain in [&p.a.plain, &p.b.plain] {
        if let Some(s) = ha(plain).await
            && s.role == "active"
            && best.as_ref().is_none_or(|b| s.epoch > b.1)
        {
            best = Some((plain.to_string(), s.epoch));
        }
    }
    best
}

/// From the moment `killed` says, how long until the manager at `plain` is active, and until
/// every node follows it (seconds), with what it then says.
async fn failover_watch(
    plain: String,
    killed: tokio::sync::oneshot::Receiver<Instant>,
) -> (f64, f64, gantry::cm::proto::HaStatus) {
    let t0 = killed.await.expect("the fault happened");
    let mut active_at = None;
    loop {
        if let Some(s) = ha(&plain).await
            && s.role == "active"
        {
            let t = t0.elapsed().as_secs_f64();
            let a = *active_at.get_or_insert(t);
            if s.following == s.members && s.members > 0 {
                return (a, t, s);
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no failover in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Submits `n` jobs of `secs` seconds one after another to whichever manager is active,
/// calling `fault` before submission `at`; the ids acknowledged.
async fn submit_through(
    p: &Pair,
    n: usize,
    secs: u32,
    at: usize,
    mut fault: impl FnMut(),
) -> Vec<u64> {
    let mut acked = Vec::new();
    let mut client = None;
    for i in 0..n {
        if i == at {
            fault();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client.is_none() {
                if let Some((plain, _)) = active(p).await {
                    client = login(&plain, "alice").await;
                }
                if client.is_none() {
                    assert!(Instant::now() < deadline, "no active manager\n{}", p.logs());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
            let Some(c) = client.as_mut() else { continue };
            match c.call(&Request::Submit(p.job(secs))).await {
                Ok(Reply::Submitted(id)) => {
                    acked.push(id);
                    break;
                }
                // Not acknowledged: it may exist or not; the next submission goes on.
                Ok(Reply::Error { .. }) | Err(ClientError::Link { .. }) | Err(_) => {
                    client = None;
                    break;
                }
                Ok(other) => panic!("{other:?}"),
            }
        }
    }
    acked
}

/// Every acknowledged job is listed by the active manager and ends done; none ran twice.
async fn check_history(p: &Pair, acked: &[u64]) {
    let listed: HashMap<u64, String> = until(p, "every acknowledged job done", 120, async || {
        let (plain, _) = active(p).await?;
        let j = jobs(&plain).await?;
        acked
            .iter()
            .all(|id| j.get(id).is_some_and(|s| s == "done"))
            .then_some(j)
    })
    .await;
    for id in acked {
        assert!(listed.contains_key(id), "acknowledged job {id} is listed");
    }
    let runs = p.runs();
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "jobs that ran twice: {twice:?}\n{}",
        p.logs()
    );
    for id in acked {
        assert_eq!(runs.get(id), Some(&1), "acknowledged job {id} ran once");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shadow_takes_over_from_a_sigkilled_primary_mid_burst() {
    let mut p = Pair::start(&["n1", "n2", "n3"]);
    until(
        &p,
        "the shadow in sync and three nodes following",
        60,
        async || {
            let s = ha(&p.a.plain).await?;
            (s.shadow == "in sync" && s.following == 3).then_some(())
        },
    )
    .await;
    // A long job that runs across the takeover.
    let mut alice = login(&p.a.plain, "alice").await.expect("login");
    let long = match alice.call(&Request::Submit(p.job(20))).await {
        Ok(Reply::Submitted(id)) => id,
        r => panic!("{r:?}"),
    };
    let pid_a = p.a.pid();
    let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<Instant>();
    let watcher = tokio::spawn(failover_watch(p.b.plain.clone(), kill_rx));
    let mut kill_tx = Some(kill_tx);
    let mut acked = submit_through(&p, 1000, 0, 300, || {
        // SAFETY: kill on the primary this test started.
        unsafe { libc::kill(pid_a, libc::SIGKILL) };
        if let Some(tx) = kill_tx.take() {
            let _ = tx.send(Instant::now());
        }
    })
    .await;
    let (active_after, following_after, s) = watcher.await.expect("watcher");
    eprintln!(
        "shadow active at epoch {} {active_after:.2} s after the SIGKILL, every node following it after {following_after:.2} s (heartbeat 1 s, takeover after 3: due within 4 s); {} of 1000 submissions acknowledged",
        s.epoch,
        acked.len()
    );
    assert!(s.epoch >= 2, "a new epoch: {s:?}");
    p.a.kill();
    // The long job runs on across the takeover, and ends once.
    acked.push(long);
    check_history(&p, &acked).await;
}
