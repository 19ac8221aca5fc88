//! An agent's side of fencing (docs/protocol.md §9). The agent keeps a link to every manager of
//! its cluster and follows the active one with the highest epoch it has seen — kept on disk, so
//! a restart forgets nothing. It takes commands from that manager alone; one from a lower
//! epoch is refused, and the manager is told. A lease it granted to the active manager holds
//! its vote: it votes for a candidate only once the lease has run out, only for an epoch above
//! every one it knows, and only when the candidate's store holds what the active manager had it
//! witness.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One link as its manager introduced itself.
#[derive(Debug, Clone)]
struct Link {
    epoch: u64,
    active: bool,
}

/// What a link is to the agent after a change.
#[derive(Debug, PartialEq, Eq)]
pub enum Standing {
    /// It is the manager the agent follows now (it must be told what runs here).
    Leader,
    /// Another is followed, or none yet.
    Other,
    /// It claims to be active at an epoch older than one the agent follows: it must be told.
    Stale(u64),
}

/// The agent's fencing state.
#[derive(Debug, Default)]
pub struct Fence {
    highest: u64,
    leader: Option<usize>,
    links: HashMap<usize, Link>,
    /// The lease granted to the active manager: its epoch and until when.
    promise: Option<(usize, u64, Instant)>,
    /// The highest log position a manager acknowledged with this agent as witness.
    witnessed: (u64, u64),
    file: Option<PathBuf>,
}

impl Fence {
    /// The state kept in `file` (the highest epoch), or a new one.
    pub fn load(file: PathBuf) -> Self {
        let highest = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        Self {
            highest,
            file: Some(file),
            ..Self::default()
        }
    }

    fn raise(&mut self, epoch: u64) {
        if epoch <= self.highest {
            return;
        }
        self.highest = epoch;
        if let Some(f) = &self.file {
            // Replaced whole and synced before the vote or the lease it guards is given: a
            // crash, even a power loss, leaves the old epoch or the new, never none.
            let ok =
                crate::durable::replace(f, 0o600, |w| w.write_all(epoch.to_string().as_bytes()));
            if let Err(e) = ok {
                tracing::error!("{}: {e}; the epoch is kept in memory only", f.display());
            }
        }
    }

    /// The newest epoch known.
    #[cfg(test)]
    pub fn highest(&self) -> u64 {
        self.highest
    }

    /// A manager introduced itself on `link`.
    pub fn welcome(&mut self, link: usize, epoch: u64, role: &str) -> Standing {
        let active = role.is_empty() || role == "active";
        self.links.insert(link, Link { epoch, active });
        if !active {
            if self.leader == Some(link) {
                self.leader = None;
            }
            return Standing::Other;
        }
        if epoch < self.highest {
            return Standing::Stale(self.highest);
        }
        self.raise(epoch);
        self.leader = Some(link);
        Standing::Leader
    }

    /// The epoch of the manager followed (the newest known).
    pub fn epoch_followed(&self) -> u64 {
        self.highest
    }

    /// A link closed.
    pub fn gone(&mut self, link: usize) {
        self.links.remove(&link);
        if self.leader == Some(link) {
            self.leader = None;
        }
    }

    /// Whether `link` is the one followed.
    pub fn is_leader(&self, link: usize) -> bool {
        self.leader == Some(link)
    }

    /// Whether the manager on `link` may command this agent; the refusal, in the protocol's
    /// words, when not.
    pub fn may_command(&self, link: usize) -> Result<(), String> {
        let epoch = self.links.get(&link).map_or(0, |l| l.epoch);
        if self.leader == Some(link) && epoch >= self.highest {
            return Ok(());
        }
        Err(format!(
            "fenced: epoch {} is the newest this node follows; this manager's ({epoch}) may not command it",
            self.highest
        ))
    }

    /// `LEASE` from `link`: granted unless the epoch is old.
    pub fn lease(
        &mut self,
        link: usize,
        epoch: u64,
        alone_seq: u64,
        ms: u64,
    ) -> Result<(), String> {
        if epoch < self.highest {
            return Err(self.may_command(link).err().unwrap_or_default());
        }
        self.raise(epoch);
        if let Some(l) = self.links.get_mut(&link) {
            l.epoch = epoch;
            l.active = true;
        }
        self.leader = Some(link);
        self.promise = Some((link, epoch, Instant::now() + Duration::from_millis(ms)));
        self.witnessed = self.witnessed.max((epoch, alone_seq));
        Ok(())
    }

    /// `VOTE` from a candidate on `link`: given or refused, and why. The lease a manager holds
    /// does not stand against that same manager asking again at a higher epoch (as it does
    /// when a node has seen an epoch above its own from a candidate that lost).
    pub fn vote(&mut self, link: usize, epoch: u64, last: (u64, u64)) -> Result<(), String> {
        if epoch <= self.highest {
            return Err(format!(
                "epoch {} is known here already; a candidate must ask for a newer one",
                self.highest
            ));
        }
        if let Some((held_by, e, until)) = self.promise {
            let left = until.saturating_duration_since(Instant::now());
            if !left.is_zero() && held_by != link {
                return Err(format!(
                    "epoch {e} holds this node's lease for {} ms more",
                    left.as_millis()
                ));
            }
        }
        if last < self.witnessed {
            return Err(format!(
                "the candidate's store ends at {} (epoch {}), before {} (epoch {}), which the active manager acknowledged with this node as witness",
                last.1, last.0, self.witnessed.1, self.witnessed.0
            ));
        }
        self.raise(epoch);
        // Nobody is followed until the winner says it is active.
        self.leader = None;
        self.promise = None;
        Ok(())
    }

    /// `EPOCH` from `link`: it is active at `epoch`. Ok(true) when it is followed from now on.
    pub fn announce(&mut self, link: usize, epoch: u64) -> Result<bool, String> {
        if epoch < self.highest {
            return Err(self.refusal(epoch));
        }
        self.raise(epoch);
        self.links.insert(
            link,
            Link {
                epoch,
                active: true,
            },
        );
        let new = self.leader != Some(link);
        self.leader = Some(link);
        Ok(new)
    }

    fn refusal(&self, epoch: u64) -> String {
        format!(
            "fenced: epoch {} is the newest this node follows; this manager's ({epoch}) may not command it",
            self.highest
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_holds_the_vote_and_a_vote_fences_the_old_manager() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = Fence::load(dir.path().join("epoch"));
        assert_eq!(f.welcome(0, 1, "active"), Standing::Leader);
        assert_eq!(f.welcome(1, 1, "standby"), Standing::Other);
        assert!(f.may_command(0).is_ok());
        assert!(f.may_command(1).is_err());
        f.lease(0, 1, 7, 60_000).unwrap();
        // The lease holds: no vote for the standby.
        let e = f.vote(1, 2, (1, 9)).unwrap_err();
        assert!(e.starts_with("epoch 1 holds this node's lease"), "{e}");
        f.promise = None;
        // A candidate without what was witnessed gets no vote either.
        assert!(f.vote(1, 2, (1, 6)).unwrap_err().contains("witness"));
        // The manager holding the lease may ask again itself, at a higher epoch.
        let mut g = Fence::default();
        g.welcome(0, 1, "active");
        g.lease(0, 1, 0, 60_000).unwrap();
        g.vote(0, 5, (1, 0)).unwrap();
        f.vote(1, 2, (1, 7)).unwrap();
        // The old manager is fenced from here on, and told so.
        let e = f.may_command(0).unwrap_err();
        assert!(e.starts_with("fenced: epoch 2 "), "{e}");
        assert!(f.lease(0, 1, 0, 1000).is_err());
        assert!(f.vote(1, 2, (1, 7)).is_err());
        assert_eq!(f.announce(1, 2), Ok(true));
        assert!(f.may_command(1).is_ok());
        assert_eq!(f.welcome(0, 1, "active"), Standing::Stale(2));
        // The epoch outlives the agent.
        let g = Fence::load(dir.path().join("epoch"));
        assert_eq!(g.highest(), 2);
    }
}
