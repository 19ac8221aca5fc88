//! Taking over (protocol §9): a manager that is not active and has heard nothing from an
//! active one for `takeover_after` heartbeats asks the connected agents for their votes at a
//! higher epoch. An agent grants one only when its lease to the old manager has run out and the
//! candidate's store holds everything the old manager acknowledged alone; with a majority of
//! the cluster's nodes, the candidate makes the epoch durable, becomes active and says so.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Manager, Role};
use crate::cm::proto::{Reply, Request};

/// Watches for a silent active manager, while this one is not active.
pub async fn watch(m: Arc<Manager>) {
    let hb = m.heartbeat();
    let patience = hb * m.settings.ha.takeover_after.max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(200).min(hb / 2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_try = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let (role, silent, eligible) = {
            let ha = m.ha.lock();
            (ha.role, ha.heard_active.elapsed(), ha.eligible)
        };
        if role == Role::Active || silent < patience || tokio::time::Instant::now() < next_try {
            continue;
        }
        if !eligible {
            let mut ha = m.ha.lock();
            let why = "no active manager is heard, but this store was never in sync with one, so it may not take over".to_string();
            if ha.why != why {
                tracing::error!("{why}");
                ha.why = why;
            }
            continue;
        }
        match elect(&m, silent).await {
            Ok(()) => {}
            Err(why) => {
                tracing::warn!("not taking over: {why}");
                let refused = format!("not taking over: {why}");
                let mut ha = m.ha.lock();
                ha.why = refused.clone();
                ha.refused = Some((Instant::now(), refused));
                // Not again at once: the leases the nodes hold run out on their own.
                next_try = tokio::time::Instant::now() + hb;
            }
        }
    }
}

/// One election; Ok once this manager is active.
async fn elect(m: &Arc<Manager>, silent: Duration) -> Result<(), String> {
    let at = *m.store.position().borrow();
    let (epoch, quorum, members) = {
        let ha = m.ha.lock();
        (
            ha.epoch.max(ha.highest).max(at.epoch) + 1,
            ha.quorum(),
            ha.members.len(),
        )
    };
    let (granted, refusals) = collect_votes(m, epoch, at).await;
    if granted < quorum {
        return Err(format!(
            "{granted} of the cluster's {members} nodes voted for epoch {epoch} (a majority, {quorum}, must){}{}",
            if refusals.is_empty() { "" } else { "; " },
            refusals.join("; ")
        ));
    }
    let why = format!(
        "took over at epoch {epoch}: nothing heard from an active manager for {:.1} s; {granted} of {members} nodes voted",
        silent.as_secs_f64()
    );
    m.become_active(epoch, why)
        .await
        .map_err(|e| format!("the store refused the new epoch: {e}"))
}

/// Asks every connected agent for its vote at `epoch`: how many granted it, and why the others
/// did not.
async fn collect_votes(
    m: &Arc<Manager>,
    epoch: u64,
    at: crate::cm::store::Position,
) -> (usize, Vec<String>) {
    let req = Request::Vote {
        epoch,
        last_epoch: at.epoch,
        last_seq: at.seq,
    };
    let agents: Vec<_> =
        m.st.lock()
            .nodes
            .values()
            .filter_map(|n| Some((n.name.clone(), n.agent.clone()?)))
            .collect();
    let asks = agents.into_iter().map(|(name, a)| {
        let req = req.clone();
        async move { (name, a.call(&req, Duration::from_secs(2)).await) }
    });
    let mut granted = 0;
    let mut refusals = Vec::new();
    for (name, r) in futures_util::future::join_all(asks).await {
        match r {
            Ok(Reply::Voted { granted: true, .. }) => granted += 1,
            Ok(Reply::Voted { why, .. }) => {
                // A refusal that names a newer epoch: the next try starts above it.
                if let Some(e) = why
                    .strip_prefix("epoch ")
                    .and_then(|w| w.split(' ').next())
                    .and_then(|e| e.parse::<u64>().ok())
                {
                    let mut ha = m.ha.lock();
                    ha.highest = ha.highest.max(e);
                }
                refusals.push(format!("{name}: {why}"));
            }
            Ok(other) => refusals.push(format!("{name}: {other:?}")),
            Err(e) => refusals.push(format!("{name}: {e}")),
        }
    }
    (granted, refusals)
}

/// The active manager asks again, above `seen`: a node voted for a candidate that lost and now
/// knows an epoch above this manager's, so it refuses it. With a quorum (its own followers
/// give their votes to it although they hold its lease), the new epoch is made durable and
/// announced, and every node follows it again.
pub async fn reassert(m: &Arc<Manager>, seen: u64) -> Result<u64, String> {
    let at = *m.store.position().borrow();
    let (epoch, quorum, members) = {
        let ha = m.ha.lock();
        if ha.role != Role::Active {
            return Err("this manager is no longer active".into());
        }
        (
            ha.epoch.max(ha.highest).max(seen) + 1,
            ha.quorum(),
            ha.members.len(),
        )
    };
    let (granted, refusals) = collect_votes(m, epoch, at).await;
    if granted < quorum {
        return Err(format!(
            "{granted} of {members} nodes voted for epoch {epoch}: {}",
            refusals.join("; ")
        ));
    }
    m.store
        .run(move |s| s.set_epoch(epoch))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    {
        let mut ha = m.ha.lock();
        ha.epoch = epoch;
        ha.highest = ha.highest.max(epoch);
        tracing::warn!("active again at epoch {epoch}: a node had seen epoch {seen}");
    }
    super::lease::announce(m).await;
    Ok(epoch)
}
