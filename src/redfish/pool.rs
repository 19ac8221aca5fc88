//! Polling many BMCs at once: at most `concurrency` in flight, each bounded by its own
//! timeouts, so a dead or slow BMC holds up no other; every BMC's health — ok, slow, failing
//! with the error — is kept like a Ganglia source's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::client::{Bmc, BmcError, printable};
use super::poll::poll;
use super::reading::Reading;

/// How a BMC answered its last poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// It answered in good time.
    Ok,
    /// It answered, but took more than half its timeout.
    Slow,
    /// It answered, but some of its documents could not be read (the rest were kept).
    Degraded,
    /// It did not answer, or answered with an error.
    Failing,
}

impl Health {
    /// The word shown.
    pub fn word(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Slow => "slow",
            Health::Degraded => "degraded",
            Health::Failing => "failing",
        }
    }
}

/// One BMC after a poll.
#[derive(Debug, Clone)]
pub struct BmcStatus {
    /// The host it is the controller of.
    pub host: String,
    /// Its URL.
    pub url: String,
    /// How it answered.
    pub health: Health,
    /// Why it failed.
    pub error: Option<String>,
    /// How long the poll took.
    pub took: Duration,
    /// What it read (empty when it failed).
    pub readings: Arc<Vec<Reading>>,
    /// Requests the poll took.
    pub requests: usize,
}

/// A healthy BMC gets this many requests' timeouts for a whole poll.
pub const PATIENCE: u32 = 4;

/// Polls every BMC, `concurrency` at a time, each given `patience` × its timeout in all; one
/// status per BMC, in the order given.
pub async fn poll_all(bmcs: &[Arc<Bmc>], concurrency: usize, patience: u32) -> Vec<BmcStatus> {
    // Owned clients, so the futures borrow nothing (and can run in a spawned task).
    let polls = bmcs.iter().cloned().enumerate().map(|(i, b)| {
        async move {
            let t = Instant::now();
            let cfg = b.config();
            // A BMC gets a few requests' worth of time in all, then it counts as failing.
            let whole = cfg.timeout * patience.max(1);
            // A bug hit on what the BMC sent costs this BMC's poll, not every BMC's.
            let guarded = async {
                crate::guard::caught_async("a BMC's documents", poll(&b))
                    .await
                    .unwrap_or_else(|e| {
                        Err(BmcError::Document {
                            url: cfg.url.clone(),
                            what: e.to_string(),
                        })
                    })
            };
            let r = tokio::time::timeout(whole, guarded).await;
            let took = t.elapsed();
            let (health, error, readings, requests) = match r {
                Ok(Ok(p)) => {
                    let slow = took > cfg.timeout / 2;
                    let (health, note) = if p.damaged.is_empty() {
                        (if slow { Health::Slow } else { Health::Ok }, None)
                    } else {
                        let more = p.damaged.len().saturating_sub(2);
                        let mut note = p.damaged[..p.damaged.len().min(2)].join("; ");
                        if more > 0 {
                            note.push_str(&format!("; and {more} more"));
                        }
                        let n = p.damaged.len();
                        (
                            Health::Degraded,
                            Some(printable(&format!("{n} unreadable: {note}"), 400)),
                        )
                    };
                    (health, note, p.readings, p.requests)
                }
                Ok(Err(e)) => (
                    Health::Failing,
                    Some(printable(&e.to_string(), 400)),
                    Vec::new(),
                    0,
                ),
                Err(_) => (
                    Health::Failing,
                    Some(format!("{}: no whole answer within {whole:?}", cfg.url)),
                    Vec::new(),
                    0,
                ),
            };
            (
                i,
                BmcStatus {
                    host: cfg.host.clone(),
                    url: cfg.url.clone(),
                    health,
                    error,
                    took,
                    readings: Arc::new(readings),
                    requests,
                },
            )
        }
    });
    let mut done: Vec<(usize, BmcStatus)> = futures_util::stream::iter(polls)
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    done.sort_by_key(|d| d.0);
    done.into_iter().map(|d| d.1).collect()
}
