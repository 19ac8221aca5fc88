//! The active manager's leases on its nodes (protocol §9): every half heartbeat it asks each
//! connected agent to renew one. An agent that granted a lease votes for no other manager
//! until it runs out, and the manager counts it from when it asked — before the agent granted
//! it — so the manager always believes in a lease for less long than the agent keeps it. While
//! the shadow is away, a change is acknowledged only once a majority of the nodes has renewed a
//! lease that names it: a shadow that takes over later must win those same nodes' votes, and
//! they refuse a candidate whose store lacks it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Manager, Role};
use crate::cm::manager::state::AgentHandle;
use crate::cm::proto::{Reply, Request};
use crate::cm::store::CommitError;

/// Renews leases while this manager is active.
pub async fn run(m: Arc<Manager>) {
    let every = m.heartbeat() / 2;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if m.is_active() {
            let alone = m.ha.lock().alone_seq;
            round(&m, alone).await;
            still_safe(&m);
        }
    }
}

/// A manager whose shadow is away and that has lost the leases of most nodes for two lease
/// lengths may have been replaced — its shadow may have won their votes: it stops changing
/// anything until it knows. (Woken from a long stop, it knows at once.)
fn still_safe(m: &Arc<Manager>) {
    let length = m.lease_length();
    let why = {
        let mut ha = m.ha.lock();
        let now = Instant::now();
        let held = ha.leases.values().filter(|t| **t > now).count();
        let quorum = ha.quorum();
        if matches!(ha.shadow, super::Shadow::InSync(_) | super::Shadow::None)
            || quorum == 0
            || held >= quorum
        {
            ha.safe_since = now;
            return;
        }
        let lost = ha.safe_since.elapsed();
        if lost < length * 2 {
            return;
        }
        format!(
            "stood down: its shadow is away and only {held} of the cluster's {} nodes have held its lease for {:.1} s, so another manager may have taken over",
            ha.members.len(),
            lost.as_secs_f64()
        )
    };
    tracing::error!("{why}");
    m.stand_down(why);
}

/// The connected agents.
fn agents(m: &Manager) -> Vec<(String, AgentHandle)> {
    m.st.lock()
        .nodes
        .values()
        .filter_map(|n| Some((n.name.clone(), n.agent.clone()?)))
        .collect()
}

/// The newer epoch a refusal names, when it is the refusal of a fenced manager.
pub fn fenced_by(r: &Reply) -> Option<u64> {
    match r {
        Reply::Error { code: 409, message } => message
            .strip_prefix("fenced: epoch ")?
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok(),
        _ => None,
    }
}

/// One round of lease requests naming `alone_seq`; how many nodes granted one.
async fn round(m: &Arc<Manager>, alone_seq: u64) -> usize {
    let epoch = m.ha.lock().epoch;
    let length = m.lease_length();
    let req = Request::Lease {
        epoch,
        alone_seq,
        ms: length.as_millis() as u64,
    };
    let asks = agents(m).into_iter().map(|(name, agent)| {
        let req = req.clone();
        async move {
            let asked = Instant::now();
            let r = agent.call(&req, m.heartbeat()).await;
            (name, asked, r)
        }
    });
    let answers = futures_util::future::join_all(asks).await;
    let mut granted = 0;
    for (name, asked, r) in answers {
        match r {
            Ok(Reply::Done(_)) => {
                granted += 1;
                // Counted from the asking, less a margin for clocks that run apart.
                let until = asked + length - length / 10;
                m.ha.lock().leases.insert(name, until);
            }
            Ok(r) => {
                if let Some(newer) = fenced_by(&r) {
                    m.step_down(newer, &format!("node {name}"));
                }
            }
            Err(_) => {}
        }
    }
    granted
}

impl Manager {
    /// Makes `seq` durable without the shadow: a majority of the nodes witnesses it in a
    /// lease (protocol §9).
    pub(super) async fn witness(self: &Manager, seq: u64) -> Result<(), CommitError> {
        let me = self.me();
        let (alone, quorum, members) = {
            let mut ha = self.ha.lock();
            if ha.role != Role::Active {
                return Err(CommitError(format!(
                    "this manager stepped down before the change was acknowledged: {}",
                    ha.why
                )));
            }
            ha.alone_seq = ha.alone_seq.max(seq);
            (ha.alone_seq, ha.quorum(), ha.members.len())
        };
        if quorum == 0 {
            return Ok(());
        }
        let granted = round(&me, alone).await;
        if granted >= quorum {
            Ok(())
        } else {
            Err(CommitError(format!(
                "the shadow is away and only {granted} of the cluster's {members} nodes confirmed the change (a majority, {quorum}, must): it is stored here but not acknowledged"
            )))
        }
    }
}

/// Tells every connected agent that this manager is active at its epoch.
pub async fn announce(m: &Arc<Manager>) {
    let epoch = m.ha.lock().epoch;
    let asks = agents(m).into_iter().map(|(name, agent)| async move {
        (
            name,
            agent
                .call(&Request::Announce { epoch }, Duration::from_secs(5))
                .await,
        )
    });
    for (name, r) in futures_util::future::join_all(asks).await {
        match r {
            Ok(r) if fenced_by(&r).is_some() => {
                if let Some(newer) = fenced_by(&r) {
                    m.step_down(newer, &format!("node {name}"));
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(
                "node {} did not take the announcement of epoch {epoch}: {e}",
                crate::cm::esc(&name)
            ),
        }
    }
}
