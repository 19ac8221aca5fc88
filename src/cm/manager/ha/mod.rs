//! A manager and its shadow (docs/protocol.md §9). The active manager streams every committed
//! batch of its store to the shadow and acknowledges a change only once the shadow has it too;
//! while the shadow is away, only once a majority of the cluster's nodes has witnessed it. Every
//! manager carries an epoch, kept in its store: the shadow takes over by winning the votes of a
//! majority of nodes for a higher epoch, which the nodes grant only when their lease to the old
//! manager has run out — and from then on they refuse the old epoch's commands, so a primary
//! that was only hung or cut off can change nothing and steps down when it hears of it.

mod elect;
pub mod feed;
mod follow;
mod lease;
mod peer;
mod takeback;

pub use lease::fenced_by;
pub use takeback::serve as serve_handover;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::{Manager, now};
use crate::cm::proto::{HaStatus, Reply};
use crate::cm::store::{CommitError, Position, Write};

/// How a manager is paired.
#[derive(Debug, Clone)]
pub struct HaSettings {
    /// The other manager of the pair: HOST:PORT of its TLS listener.
    pub peer: Option<String>,
    /// Started as the shadow (`--shadow-of`): it follows the peer from the start.
    pub shadow: bool,
    /// Missed heartbeats of the active manager before the shadow takes over.
    pub takeover_after: u32,
    /// This manager's name, as agents and consoles reach it (empty: host:port).
    pub name: String,
}

impl Default for HaSettings {
    fn default() -> Self {
        Self {
            peer: None,
            shadow: false,
            takeover_after: 3,
            name: String::new(),
        }
    }
}

/// What a manager is in its pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It places, starts, kills and migrates; its store is the cluster's.
    Active,
    /// It follows the active manager's store and may take over.
    Standby,
    /// It learned of a newer epoch: it changes nothing, and follows the active one.
    Fenced,
}

impl Role {
    /// The protocol's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Active => "active",
            Role::Standby => "standby",
            Role::Fenced => "fenced",
        }
    }
}

/// The active manager's shadow, as the active one sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shadow {
    /// No shadow is configured.
    None,
    /// Configured but not connected (epoch seconds since when).
    Away(u64),
    /// Connected, catching up: what it has acknowledged.
    CatchingUp(u64),
    /// Connected and current: every change waits for it.
    InSync(u64),
}

/// The pair's state in one manager.
#[derive(Debug)]
pub struct Ha {
    /// What it is.
    pub role: Role,
    /// Its epoch.
    pub epoch: u64,
    /// The highest epoch it has heard of.
    pub highest: u64,
    /// Its name.
    pub name: String,
    /// The active manager, as far as it knows.
    pub active: String,
    /// Why it is what it is.
    pub why: String,
    /// Its shadow (when active).
    pub shadow: Shadow,
    /// When it last heard from the active manager (when standby).
    pub heard_active: Instant,
    /// Whether its store may take over: it was active, or in sync with the active one.
    pub eligible: bool,
    /// The nodes that joined the cluster (a majority of them is a quorum).
    pub members: BTreeSet<String>,
    /// Nodes whose lease to this manager holds, and until when.
    pub leases: std::collections::HashMap<String, Instant>,
    /// The last log position acknowledged without the shadow.
    pub alone_seq: u64,
    /// A link follows the peer now.
    pub following: bool,
    /// When this manager last knew no other could take over: its shadow in sync, or leases
    /// held by a majority of the nodes.
    pub safe_since: Instant,
    /// Handing over to the standby: no change is accepted and nothing placed meanwhile.
    pub draining: bool,
    /// A node's claim of a newer epoch is being checked with the peer.
    pub checking: bool,
    /// The newest link to a shadow (an older one still open leaves the shadow's state alone).
    pub feed: u64,
    /// Why the last election did not make this standby active, and when: said beside a
    /// failure to follow, so neither reason hides the other.
    pub refused: Option<(Instant, String)>,
}

impl Ha {
    /// A manager's pair state before it knows more than its store.
    pub fn new(
        settings: &HaSettings,
        name: String,
        at: Position,
        members: BTreeSet<String>,
    ) -> Self {
        Self {
            role: Role::Standby,
            epoch: at.epoch,
            highest: at.epoch,
            name,
            active: String::new(),
            why: String::new(),
            shadow: if settings.peer.is_some() {
                Shadow::Away(now())
            } else {
                Shadow::None
            },
            heard_active: Instant::now(),
            eligible: false,
            members,
            leases: Default::default(),
            alone_seq: 0,
            refused: None,
            following: false,
            safe_since: Instant::now(),
            draining: false,
            checking: false,
            feed: 0,
        }
    }

    /// A quorum of the members: more than half (none needed while no node ever joined).
    pub fn quorum(&self) -> usize {
        if self.members.is_empty() {
            0
        } else {
            self.members.len() / 2 + 1
        }
    }
}

/// Writes a line to the other manager, within two heartbeats (a peer that does not read is
/// as good as gone).
pub(super) async fn send_line<W: tokio::io::AsyncWrite + Unpin>(
    w: &mut W,
    text: &str,
    hb: Duration,
) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    tokio::time::timeout(hb * 2, async {
        w.write_all(text.as_bytes()).await?;
        w.flush().await
    })
    .await
    .map_err(|_| "the other manager does not read".to_string())?
    .map_err(|e| e.to_string())
}

/// Meta key: this store may take over (it was active or in sync).
pub const ELIGIBLE: &str = "eligible";

impl Manager {
    /// The heartbeat interval.
    pub(super) fn heartbeat(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.heartbeat_secs.max(1)))
    }

    /// How long a lease lasts: two heartbeats, so it runs out before a shadow's takeover
    /// (after `takeover_after`, three by default) can ask for votes.
    pub(super) fn lease_length(&self) -> Duration {
        self.heartbeat() * 2
    }

    /// Whether this manager is the active one.
    pub fn is_active(&self) -> bool {
        self.ha.lock().role == Role::Active
    }

    /// Whether it may place jobs now: active, and not handing over.
    pub(super) fn may_place(&self) -> bool {
        let ha = self.ha.lock();
        ha.role == Role::Active && !ha.draining
    }

    /// The refusal for a change on a manager that may not make it, if it may not.
    pub(super) fn may_change(&self) -> Result<(), Reply> {
        if self.settings.read_only {
            return Err(Reply::error(
                409,
                "this manager is read-only (started with --read-only or [cm] read_only): nothing may be submitted, signalled or migrated",
            ));
        }
        let ha = self.ha.lock();
        match ha.role {
            Role::Active if ha.draining => Err(Reply::error(
                503,
                "this manager is handing control over to its shadow: try again in a moment",
            )),
            Role::Active => Ok(()),
            role => Err(Reply::error(
                409,
                format!(
                    "this manager is {} (epoch {}){}: {}",
                    role.as_str(),
                    ha.epoch,
                    if ha.active.is_empty() {
                        String::new()
                    } else {
                        format!("; the active manager is {}", ha.active)
                    },
                    ha.why
                ),
            )),
        }
    }

    /// Commits writes and waits until they are durable as §9 requires: on the shadow too, or,
    /// while it is away, witnessed by a majority of the nodes.
    pub(super) async fn commit(&self, writes: Vec<Write>) -> Result<Position, CommitError> {
        let at = self.store.commit(writes).await?;
        self.replicated(at).await?;
        Ok(at)
    }

    async fn replicated(&self, at: Position) -> Result<(), CommitError> {
        if self.settings.ha.peer.is_none() {
            return Ok(());
        }
        let mut acked = self.shadow_acked.subscribe();
        let deadline = tokio::time::Instant::now() + self.heartbeat() * 2;
        loop {
            let shadow = self.ha.lock().shadow.clone();
            match shadow {
                Shadow::InSync(a) if a >= at.seq => return Ok(()),
                Shadow::InSync(_) => {
                    if tokio::time::timeout_at(deadline, acked.changed())
                        .await
                        .is_err()
                    {
                        let mut ha = self.ha.lock();
                        if matches!(ha.shadow, Shadow::InSync(_)) {
                            tracing::warn!(
                                "the shadow did not acknowledge {at} within {:?}: running without a shadow",
                                self.heartbeat() * 2
                            );
                            ha.shadow = Shadow::Away(now());
                        }
                        drop(ha);
                        self.shadow_gone.notify_waiters();
                    }
                }
                _ => return self.witness(at.seq).await,
            }
        }
    }

    /// Steps down on hearing of a newer epoch: nothing more is changed here, and the manager
    /// follows its peer.
    ///
    /// The claim comes from a node, which could lie: the peer — the only manager that can
    /// hold a newer epoch — is asked first. A claim the peer does not confirm is logged and
    /// ignored; a manager that was really replaced stands down anyway once it has lost most
    /// nodes' leases (`lease::still_safe`).
    pub(super) fn step_down(self: &std::sync::Arc<Self>, epoch: u64, from: &str) {
        let own = {
            let ha = self.ha.lock();
            if epoch <= ha.epoch || ha.role != Role::Active || ha.checking {
                return;
            }
            ha.epoch
        };
        self.ha.lock().checking = true;
        let (m, from) = (self.clone(), from.to_string());
        tokio::spawn(async move {
            let peer = peer::call(&m, &crate::cm::proto::Request::Ha, m.heartbeat() * 2).await;
            match peer {
                Ok(Reply::Ha(s)) if s.epoch > own => {
                    m.ha.lock().highest = s.epoch.max(epoch);
                    m.stand_down(format!(
                        "stepped down: {from} follows epoch {epoch}, and the peer {} is {} at epoch {}, newer than this manager's {own}",
                        s.name, s.role, s.epoch
                    ));
                }
                other => {
                    tracing::warn!(
                        "{from} claims epoch {epoch} is newer than this manager's {own}, but the peer does not confirm it ({}): asking the nodes again above it",
                        match other {
                            Ok(r) => format!("{r:?}"),
                            Err(e) => e,
                        }
                    );
                    // A node that voted for a candidate that lost knows a higher epoch than
                    // the winner's: the winner asks again above it, and every node follows.
                    if let Err(e) = elect::reassert(&m, epoch).await {
                        tracing::warn!("not asked again: {e}");
                    }
                }
            }
            m.ha.lock().checking = false;
        });
    }

    /// Stops being active, saying why: nothing more is changed here, and the manager follows
    /// its peer.
    pub(super) fn stand_down(self: &std::sync::Arc<Self>, why: String) {
        let mut ha = self.ha.lock();
        if ha.role != Role::Active {
            return;
        }
        ha.role = Role::Fenced;
        ha.why = why;
        ha.active.clear();
        ha.heard_active = Instant::now();
        tracing::error!("{}", ha.why);
        drop(ha);
        self.role_changed.notify_waiters();
        if self.settings.ha.peer.is_some() {
            tokio::spawn(follow::run(self.clone()));
        }
    }

    /// What `HA` answers.
    pub fn ha_status(&self) -> HaStatus {
        let seq = self.store.position().borrow().seq;
        let ha = self.ha.lock();
        let shadow = match (&ha.role, &ha.shadow) {
            (Role::Active, Shadow::None) => "none".to_string(),
            (Role::Active, Shadow::Away(t)) => format!("away since {t}"),
            (Role::Active, Shadow::CatchingUp(a)) => format!("catching up ({a} of {seq})"),
            (Role::Active, Shadow::InSync(_)) => "in sync".to_string(),
            _ => {
                let ago = ha.heard_active.elapsed().as_secs();
                if ha.active.is_empty() {
                    format!("following nobody (last heard {ago} s ago)")
                } else {
                    format!("following {} (heard {ago} s ago)", ha.active)
                }
            }
        };
        HaStatus {
            role: ha.role.as_str().into(),
            epoch: ha.epoch,
            name: ha.name.clone(),
            active: if ha.role == Role::Active {
                ha.name.clone()
            } else {
                ha.active.clone()
            },
            shadow,
            seq,
            why: ha.why.clone(),
            following: if ha.role == Role::Active {
                ha.leases.values().filter(|t| **t > Instant::now()).count() as u32
            } else {
                0
            },
            members: ha.members.len() as u32,
        }
    }

    /// Starts what the pair needs: leases to the nodes (when active), and, with a peer,
    /// following it (when not active) and taking over when no active manager is heard.
    pub(super) fn start_ha(self: &std::sync::Arc<Self>) {
        if self.settings.ha.peer.is_some() {
            if !self.is_active() {
                tokio::spawn(follow::run(self.clone()));
            }
            tokio::spawn(elect::watch(self.clone()));
        }
        tokio::spawn(lease::run(self.clone()));
    }

    /// Becomes the active manager at `epoch`: the epoch is made durable first, then what runs
    /// where is rebuilt from the store (and from the agents as they report).
    pub(super) async fn become_active(
        self: &std::sync::Arc<Self>,
        epoch: u64,
        why: String,
    ) -> anyhow::Result<()> {
        let (st, fixes, members) = self
            .store
            .run(move |s| -> Result<_, crate::cm::store::StoreError> {
                s.set_epoch(epoch)?;
                s.set_meta(ELIGIBLE, "1")?;
                let (st, fixes) = super::load_state(s)?;
                Ok((st, fixes, s.nodes()?))
            })
            .await??;
        {
            let mut cur = self.st.lock();
            let nodes = std::mem::take(&mut cur.nodes);
            let sessions = std::mem::take(&mut cur.sessions);
            *cur = st;
            cur.nodes = nodes;
            cur.sessions = sessions;
        }
        if !fixes.is_empty() {
            self.store.write(fixes);
        }
        let peer = self.settings.ha.peer.is_some();
        {
            let mut ha = self.ha.lock();
            ha.role = Role::Active;
            ha.safe_since = Instant::now();
            ha.epoch = epoch;
            ha.highest = ha.highest.max(epoch);
            ha.eligible = true;
            ha.members = members.into_iter().collect();
            ha.active = ha.name.clone();
            ha.why = why;
            ha.shadow = if peer {
                Shadow::Away(now())
            } else {
                Shadow::None
            };
            tracing::warn!("active at epoch {epoch}: {}", ha.why);
        }
        self.role_changed.notify_waiters();
        lease::announce(self).await;
        self.wake.notify_one();
        Ok(())
    }

    /// A replicated batch, applied to what a standby shows (the store has it already).
    pub(super) fn apply_to_memory(&self, writes: &[Write]) {
        let mut st = self.st.lock();
        let mut ha = self.ha.lock();
        for w in writes {
            match w {
                Write::Job(j) => {
                    st.next_job = st.next_job.max(j.id + 1);
                    st.jobs.insert(j.id, (**j).clone());
                }
                Write::Task(t) => {
                    st.tasks.insert(t.id.clone(), t.clone());
                }
                Write::Event(..) => {}
                Write::Node(n) => {
                    ha.members.insert(n.clone());
                }
            }
        }
    }
}
