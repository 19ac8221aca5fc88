//! Taking control back in order (protocol §9): an administrator asks a standby — the original
//! primary, once it follows the manager that took over — to take back. The standby asks the
//! active manager to hand over (`HANDOVER`, on a link of its own with its manager
//! certificate); the active one stops accepting changes and placing, waits until the standby
//! has every committed batch, and answers with where its store ends, then follows. The standby
//! waits until its store is there, raises the epoch and becomes active — so no job is lost and
//! none runs twice.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::{Manager, Role, Shadow};
use crate::cm::link::{LineReader, reply_line};
use crate::cm::manager::listen::Peer;
use crate::cm::proto::{Reply, Request};

/// How long the active manager waits for its shadow to have everything before it gives up
/// handing over (and goes on as before).
const DRAIN: Duration = Duration::from_secs(10);

impl Manager {
    /// `TAKEBACK` on a standby: has the active manager hand over, then becomes active.
    pub(in crate::cm::manager) async fn takeback(&self) -> Reply {
        let me = self.me();
        let (role, eligible, following) = {
            let ha = self.ha.lock();
            (ha.role, ha.eligible, !ha.active.is_empty())
        };
        if role == Role::Active {
            return Reply::error(409, "this manager is active already");
        }
        if !eligible || !following {
            return Reply::error(
                409,
                "this manager does not follow the active one in sync, so it cannot take control back; wait until it follows (gantry status)",
            );
        }
        let seq = match ask_handover(&me).await {
            Ok(seq) => seq,
            Err(e) => {
                return Reply::error(503, format!("the active manager did not hand over: {e}"));
            }
        };
        // Everything the active manager committed arrives over the follow link.
        let deadline = tokio::time::Instant::now() + DRAIN;
        let mut pos = self.store.position();
        while pos.borrow().seq < seq {
            if tokio::time::timeout_at(deadline, pos.changed())
                .await
                .is_err()
            {
                return Reply::error(
                    503,
                    format!(
                        "the handed-over store did not arrive (have {}, need {seq}); the other manager will take over again by itself",
                        pos.borrow().seq
                    ),
                );
            }
        }
        let epoch = {
            let ha = self.ha.lock();
            ha.epoch.max(ha.highest) + 1
        };
        let why = format!("took control back at epoch {epoch} (gantry cm takeback)");
        match me.become_active(epoch, why).await {
            Ok(()) => Reply::Ha(Box::new(self.ha_status())),
            Err(e) => Reply::error(500, format!("the store refused the new epoch: {e}")),
        }
    }

    /// Drains and steps down for the standby that asked; the log position it must reach.
    async fn hand_over(self: &Arc<Self>, to: &str) -> Result<u64, String> {
        {
            let mut ha = self.ha.lock();
            if ha.role != Role::Active {
                return Err(format!("this manager is {}, not active", ha.role.as_str()));
            }
            ha.draining = true;
        }
        let deadline = tokio::time::Instant::now() + DRAIN;
        let done = loop {
            let at = self.store.position().borrow().seq;
            let shadow = self.ha.lock().shadow.clone();
            if matches!(shadow, Shadow::InSync(a) if a >= at) {
                break Ok(at);
            }
            if tokio::time::Instant::now() > deadline {
                break Err(format!(
                    "the shadow did not catch up within {DRAIN:?} ({shadow:?}, store at {at})"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let mut ha = self.ha.lock();
        ha.draining = false;
        if let Ok(at) = done {
            ha.role = Role::Standby;
            ha.why = format!("handed control over to {to} at {at}");
            ha.active.clear();
            ha.heard_active = std::time::Instant::now();
            tracing::warn!("{}", ha.why);
            drop(ha);
            self.role_changed.notify_waiters();
            tokio::spawn(super::follow::run(self.clone()));
        }
        done
    }
}

/// The standby's side: asks the active manager to hand over; the position it ended at.
async fn ask_handover(m: &Arc<Manager>) -> Result<u64, String> {
    match super::peer::call(m, &Request::Handover, DRAIN + Duration::from_secs(5)).await? {
        Reply::Ha(s) => Ok(s.seq),
        Reply::Error { code, message } => Err(format!("{message} ({code})")),
        other => Err(format!("unexpected answer: {other:?}")),
    }
}

/// The active manager's side: a manager of the cluster asks it to hand over.
pub async fn serve<W: AsyncWrite + Unpin, R: AsyncRead + Unpin>(
    m: Arc<Manager>,
    peer: &Peer,
    tag: Option<u64>,
    _reader: LineReader<R>,
    mut w: W,
) {
    let reply = if !peer
        .cert
        .as_ref()
        .is_some_and(|c| crate::cm::tls::names_node(c, crate::cm::tls::MANAGER_NAME))
    {
        Reply::error(403, "only a manager of this cluster may ask for a handover")
    } else {
        match m.hand_over(&peer.addr).await {
            Ok(_) => Reply::Ha(Box::new(m.ha_status())),
            Err(e) => Reply::error(503, e),
        }
    };
    let _ = w.write_all(reply_line(tag, &reply).as_bytes()).await;
    let _ = w.flush().await;
}
