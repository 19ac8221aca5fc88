//! The store's one writer thread. Writes from the manager queue up and are committed together
//! in one transaction (one fsync for a burst), logged as one batch, and only then acknowledged
//! — each with the log position it got. Each committed batch is also published, for the link
//! that streams it to a shadow. Other work on the store (a replicated batch, a snapshot, the
//! epoch) runs on the same thread, in order.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::log::{Entry, Position};
use super::{Store, StoreError, Write, wire};

/// Why a write was not committed (the store's error, as text: one failure answers many
/// waiting writers).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct CommitError(pub String);

impl From<StoreError> for CommitError {
    fn from(e: StoreError) -> Self {
        CommitError(e.to_string())
    }
}

type Ack = oneshot::Sender<Result<Position, CommitError>>;

enum Op {
    Local(Vec<Write>, Option<Ack>),
    Run(Box<dyn FnOnce(&mut Store) + Send>),
}

/// A committed batch, as published.
pub type Committed = Arc<Entry>;

/// Handle to the writer thread.
#[derive(Clone)]
pub struct StoreWriter {
    tx: mpsc::UnboundedSender<Op>,
    published: broadcast::Sender<Committed>,
    position: watch::Receiver<Position>,
}

impl StoreWriter {
    /// Moves the store to its own thread.
    pub fn spawn(mut store: Store) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Op>();
        let (published, _) = broadcast::channel(8192);
        let (pos_tx, position) = watch::channel(store.position());
        let out = published.clone();
        std::thread::Builder::new()
            .name("job-store".into())
            .spawn(move || {
                let mut held: Option<Op> = None;
                loop {
                    let first = match held.take() {
                        Some(op) => op,
                        None => match rx.blocking_recv() {
                            Some(op) => op,
                            None => break,
                        },
                    };
                    match first {
                        Op::Run(f) => f(&mut store),
                        Op::Local(w, ack) => {
                            // Everything already waiting goes into the same transaction.
                            let mut batch = vec![(w, ack)];
                            while let Ok(more) = rx.try_recv() {
                                match more {
                                    Op::Local(w, ack) => batch.push((w, ack)),
                                    other => {
                                        held = Some(other);
                                        break;
                                    }
                                }
                            }
                            let writes: Vec<Write> =
                                batch.iter().flat_map(|(w, _)| w.iter().cloned()).collect();
                            let r = store.apply(&writes).map_err(CommitError::from);
                            match &r {
                                Ok(at) => {
                                    let _ = out.send(Arc::new(Entry {
                                        at: *at,
                                        text: wire::encode_batch(&writes),
                                    }));
                                }
                                Err(e) => tracing::error!("job store: {e}"),
                            }
                            for (_, ack) in batch {
                                if let Some(ack) = ack {
                                    let _ = ack.send(r.clone());
                                }
                            }
                        }
                    }
                    let _ = pos_tx.send(store.position());
                }
            })
            .ok();
        Self {
            tx,
            published,
            position,
        }
    }

    /// Writes and waits until committed; the batch's log position.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<Position, CommitError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Op::Local(writes, Some(tx)))
            .map_err(|_| CommitError::from(StoreError::Gone))?;
        rx.await.map_err(|_| CommitError::from(StoreError::Gone))?
    }

    /// Writes without waiting (state changes that need no acknowledgement).
    pub fn write(&self, writes: Vec<Write>) {
        let _ = self.tx.send(Op::Local(writes, None));
    }

    /// Runs `f` on the store's thread, after everything queued before it, and returns what it
    /// returns.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> T + Send + 'static,
    ) -> Result<T, CommitError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Op::Run(Box::new(move |s| {
                let _ = tx.send(f(s));
            })))
            .map_err(|_| CommitError::from(StoreError::Gone))?;
        rx.await.map_err(|_| CommitError::from(StoreError::Gone))
    }

    /// Batches as they are committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Committed> {
        self.published.subscribe()
    }

    /// Where the log stands (changes after every batch).
    pub fn position(&self) -> watch::Receiver<Position> {
        self.position.clone()
    }
}
