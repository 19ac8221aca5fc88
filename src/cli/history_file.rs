//! The history file's life in the long-running commands: loaded at start (a damaged file is
//! moved aside and reported, never fatal), saved every `history.save_interval` seconds and on
//! the way out, and hosts unseen for `history.forget_after_days` forgotten.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::aggregator::now_epoch;
use crate::config::HistorySection;
use crate::history::HistoryStore;

/// History kept on disk for a running command.
pub struct PersistentHistory {
    /// The store, shared with the aggregator and readers.
    pub store: Arc<HistoryStore>,
    /// What happened at load, when worth telling (a damaged file set aside).
    pub notice: Option<String>,
    path: Option<PathBuf>,
    section: HistorySection,
    saver: Option<tokio::task::JoinHandle<()>>,
}

/// History files above this size are announced while they load.
const BIG_FILE: u64 = 100_000_000;

impl PersistentHistory {
    /// Loads `path` (or keeps history in memory only when `path` is `None`).
    pub async fn open(path: Option<PathBuf>, section: &HistorySection) -> Self {
        let (store, notice) = match &path {
            Some(p) => {
                let p = p.clone();
                // A big file takes seconds (a year of 10,000 hosts: ~3 s); say so before the
                // screen opens rather than show nothing.
                let size = std::fs::metadata(&p).map_or(0, |m| m.len());
                if size > BIG_FILE {
                    eprintln!(
                        "loading history from {} ({} MB)…",
                        p.display(),
                        size / 1_000_000
                    );
                }
                let started = std::time::Instant::now();
                let loaded = tokio::task::spawn_blocking(move || {
                    HistoryStore::load_or_set_aside(&p, now_epoch())
                })
                .await;
                match loaded {
                    Ok((s, note)) => {
                        let st = s.stats();
                        tracing::info!(
                            "history loaded: {} series, {} bytes in {:?}",
                            st.series,
                            st.bytes,
                            started.elapsed()
                        );
                        (s, note)
                    }
                    Err(e) => (
                        HistoryStore::new(),
                        Some(format!("history load failed: {e}")),
                    ),
                }
            }
            None => (HistoryStore::new(), None),
        };
        if let Some(n) = &notice {
            tracing::warn!("{n}");
        }
        Self {
            store: Arc::new(store),
            notice,
            path,
            section: section.clone(),
            saver: None,
        }
    }

    /// Starts the periodic save (and forgetting) task.
    pub fn start_saving(&mut self) {
        let Some(path) = self.path.clone() else {
            return;
        };
        let store = self.store.clone();
        let every = Duration::from_secs(self.section.save_interval.max(10));
        let forget = self.section.forget_after_days.saturating_mul(86_400);
        self.saver = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let (store, path) = (store.clone(), path.clone());
                let _ = tokio::task::spawn_blocking(move || {
                    if forget > 0 {
                        let n = store.forget(now_epoch().saturating_sub(forget));
                        if n > 0 {
                            tracing::info!("history: forgot {n} hosts not seen for a while");
                        }
                    }
                    save_logged(&store, &path);
                })
                .await;
            }
        }));
    }

    /// Stops the periodic task and saves one last time.
    pub async fn finish(mut self) {
        if let Some(t) = self.saver.take() {
            t.abort();
        }
        if let Some(path) = self.path.take() {
            let store = self.store.clone();
            let _ = tokio::task::spawn_blocking(move || save_logged(&store, &path)).await;
        }
    }
}

fn save_logged(store: &HistoryStore, path: &std::path::Path) {
    let started = std::time::Instant::now();
    match store.save(path) {
        Ok(bytes) => tracing::info!(
            "history saved to {}: {bytes} bytes in {:?}",
            path.display(),
            started.elapsed()
        ),
        Err(e) => tracing::error!("history not saved: {e}"),
    }
}
