//! Hardware sensors as a source of the aggregator: one task per `[[bmc]]` table polls its
//! cluster's BMCs over Redfish on its own interval, keeps each BMC's health like a Ganglia
//! source's, records the readings as history, and hands a [`SensorView`] to the publisher,
//! which merges the readings into the cluster's hosts (see `merge`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::run::now_epoch;
use super::source::HistorySink;
use super::view::Snapshot;
use crate::model::Metric;
use crate::redfish::client::{Bmc, BmcConfig};
use crate::redfish::metric::to_metric;
use crate::redfish::pool::{self, poll_all};
use crate::redfish::reading::Reading;

/// Makes the configuration of one host's BMC (its address from the table's pattern, the
/// table's credentials and trust).
pub type BmcFactory = Arc<dyn Fn(&str) -> BmcConfig + Send + Sync>;

/// One `[[bmc]]` table, ready to poll.
#[derive(Clone)]
pub struct SensorSource {
    /// The cluster whose hosts' BMCs these are.
    pub cluster: String,
    /// Seconds between polls.
    pub interval: u32,
    /// BMCs polled at once.
    pub concurrency: usize,
    /// The hosts to poll; empty: every host the cluster's Ganglia source reports.
    pub hosts: Vec<String>,
    /// How to reach a host's BMC; `Err` with why when the table cannot be used (no
    /// credentials): every BMC is then shown failing with that reason.
    pub bmc: Result<BmcFactory, String>,
}

impl std::fmt::Debug for SensorSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SensorSource")
            .field("cluster", &self.cluster)
            .field("interval", &self.interval)
            .field("hosts", &self.hosts)
            .finish_non_exhaustive()
    }
}

/// How a BMC is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BmcHealth {
    /// Not polled yet.
    #[default]
    Pending,
    /// It answered in good time.
    Ok,
    /// It answered, but took more than half its timeout.
    Slow,
    /// It answered, but some of its documents could not be read (the rest were kept).
    Degraded,
    /// It did not answer, or answered with an error.
    Failing,
}

impl BmcHealth {
    /// The word shown.
    pub fn word(self) -> &'static str {
        match self {
            BmcHealth::Pending => "pending",
            BmcHealth::Ok => "ok",
            BmcHealth::Slow => "slow",
            BmcHealth::Degraded => "degraded",
            BmcHealth::Failing => "failing",
        }
    }
}

/// One BMC as last polled.
#[derive(Debug, Clone)]
pub struct BmcView {
    /// The host it is the controller of.
    pub host: Arc<str>,
    /// Its URL.
    pub url: Arc<str>,
    /// How it answered the last poll.
    pub health: BmcHealth,
    /// Why it failed, naming the address.
    pub error: Option<String>,
    /// How long the last poll took.
    pub took: Duration,
    /// Requests the last good poll took.
    pub requests: usize,
    /// Epoch seconds of the last poll that brought readings.
    pub last_success: Option<u64>,
    /// Polls that brought readings, and polls that did not.
    pub polls_ok: u64,
    /// Polls that failed.
    pub polls_failed: u64,
    /// The last readings (kept through failures until they are too old to show).
    pub readings: Arc<Vec<Reading>>,
}

impl BmcView {
    fn pending(host: &str, url: &str) -> Self {
        Self {
            host: host.into(),
            url: url.into(),
            health: BmcHealth::Pending,
            error: None,
            took: Duration::ZERO,
            requests: 0,
            last_success: None,
            polls_ok: 0,
            polls_failed: 0,
            readings: Arc::new(Vec::new()),
        }
    }

    /// Readings with a health but no value (a power supply's, a sensor the BMC cannot read):
    /// they are not metrics, but the host view and the problems view show them.
    pub fn health_only(&self) -> impl Iterator<Item = &Reading> {
        self.readings.iter().filter(|r| {
            r.value.is_none()
                && r.health.is_some()
                && !matches!(r.state.as_deref(), Some("Absent" | "Disabled"))
        })
    }

    /// Whether its readings are recent enough to put on the host: read within four intervals,
    /// as gmetad gives a host four TMAX before calling it down.
    pub fn fresh(&self, now: u64, interval: u32) -> bool {
        self.last_success
            .is_some_and(|t| now.saturating_sub(t) <= 4 * u64::from(interval.max(1)))
    }
}

/// BMCs by health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BmcCounts {
    /// Answered in good time.
    pub ok: usize,
    /// Answered slowly.
    pub slow: usize,
    /// Answered with some documents unreadable.
    pub degraded: usize,
    /// Did not answer.
    pub failing: usize,
}

impl std::fmt::Display for BmcCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ok, {} slow, ", self.ok, self.slow)?;
        if self.degraded > 0 {
            write!(f, "{} degraded, ", self.degraded)?;
        }
        write!(f, "{} failing", self.failing)
    }
}

/// One `[[bmc]]` table's BMCs after its last poll.
#[derive(Debug, Clone)]
pub struct SensorView {
    /// The cluster.
    pub cluster: Arc<str>,
    /// Seconds between polls.
    pub interval: u32,
    /// Epoch seconds the last poll ended (0: not yet).
    pub polled_at: u64,
    /// Why no BMC can be polled (no credentials), if so.
    pub error: Option<String>,
    /// Every BMC, in host order.
    pub bmcs: Vec<BmcView>,
    /// Increases with every poll.
    pub generation: u64,
}

impl SensorView {
    /// Before the first poll.
    pub fn pending(src: &SensorSource) -> Self {
        Self {
            cluster: src.cluster.as_str().into(),
            interval: src.interval,
            polled_at: 0,
            error: src.bmc.as_ref().err().cloned(),
            bmcs: Vec::new(),
            generation: 0,
        }
    }

    /// A host's BMC.
    pub fn bmc(&self, host: &str) -> Option<&BmcView> {
        self.bmcs.iter().find(|b| &*b.host == host)
    }

    /// How many BMCs are in each health.
    pub fn counts(&self) -> BmcCounts {
        let n = |h| self.bmcs.iter().filter(|b| b.health == h).count();
        BmcCounts {
            ok: n(BmcHealth::Ok),
            slow: n(BmcHealth::Slow),
            degraded: n(BmcHealth::Degraded),
            failing: n(BmcHealth::Failing),
        }
    }
}

/// The readings of one host as metrics, `tn` seconds after they were read.
pub fn host_metrics(b: &BmcView, interval: u32, tn: u32) -> Vec<Metric> {
    b.readings
        .iter()
        .filter_map(|r| to_metric(r, interval, tn))
        .collect()
}

/// The hosts to poll now: the configured ones, or the cluster's in the latest snapshot.
fn hosts_now(src: &SensorSource, snaps: &watch::Receiver<Arc<Snapshot>>) -> Vec<String> {
    if !src.hosts.is_empty() {
        return src.hosts.clone();
    }
    let snap = snaps.borrow().clone();
    snap.cluster(&src.cluster)
        .map(|cv| {
            cv.cluster
                .hosts
                .iter()
                .map(|h| h.name.to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// What the sensor task keeps between polls.
struct Poller {
    src: SensorSource,
    clients: HashMap<String, Arc<Bmc>>,
    view: SensorView,
}

impl Poller {
    /// The clients for `hosts` (kept across polls, so sessions last), and the hosts whose
    /// client could not be made, with why.
    fn clients(
        &mut self,
        factory: &BmcFactory,
        hosts: &[String],
    ) -> Vec<Result<Arc<Bmc>, Box<BmcView>>> {
        let mut keep = HashMap::new();
        let out = hosts
            .iter()
            .map(|h| {
                let cfg = factory(h);
                let existing = self.clients.remove(h).filter(|b| b.config().url == cfg.url);
                let made = match existing {
                    Some(b) => Ok(b),
                    None => {
                        let url = cfg.url.clone();
                        // One HTTP client for the table's BMCs where they are reached alike.
                        let shared = keep
                            .values()
                            .next()
                            .or_else(|| self.clients.values().next());
                        let b = match shared {
                            Some(other) => Bmc::like(cfg, other),
                            None => Bmc::new(cfg),
                        };
                        b.map(Arc::new).map_err(|e| {
                            let mut v = BmcView::pending(h, &url);
                            v.error = Some(e.to_string());
                            Box::new(v)
                        })
                    }
                };
                if let Ok(b) = &made {
                    keep.insert(h.clone(), b.clone());
                }
                made
            })
            .collect();
        self.clients = keep;
        out
    }

    /// One poll of every BMC, in two lanes: those that answered last time first, at full
    /// concurrency, published as soon as they are read; then those that failed, each given
    /// less time — so BMCs that hang never hold up the healthy ones' readings. Returns false
    /// once nobody listens to `tx`.
    async fn poll(
        &mut self,
        hosts: Vec<String>,
        history: Option<&dyn HistorySink>,
        tx: Option<(usize, &mpsc::Sender<SensorUpdate>)>,
    ) -> bool {
        let factory = match &self.src.bmc {
            Ok(f) => f.clone(),
            Err(why) => {
                self.view.error = Some(why.clone());
                self.view.polled_at = now_epoch();
                self.view.generation += 1;
                return self.publish(tx).await;
            }
        };
        let made = self.clients(&factory, &hosts);
        let mut old: HashMap<Arc<str>, BmcView> = self
            .view
            .bmcs
            .drain(..)
            .map(|b| (b.host.clone(), b))
            .collect();
        // Every BMC's view as it stands (its last poll's), in host order.
        let mut clients = Vec::with_capacity(made.len());
        for m in made {
            match m {
                Ok(b) => {
                    let cfg = b.config();
                    let v = old
                        .remove(cfg.host.as_str())
                        .filter(|o| &*o.url == cfg.url.as_str())
                        .unwrap_or_else(|| BmcView::pending(&cfg.host, &cfg.url));
                    clients.push((Some(b), v));
                }
                Err(v) => {
                    let mut v = *v;
                    v.health = BmcHealth::Failing;
                    v.polls_failed = old.get(&v.host).map_or(0, |o| o.polls_failed) + 1;
                    clients.push((None, v));
                }
            }
        }
        // The lanes by how each BMC did last time, decided before either is polled.
        let (failing, healthy): (Vec<usize>, Vec<usize>) = (0..clients.len())
            .filter(|&i| clients[i].0.is_some())
            .partition(|&i| clients[i].1.health == BmcHealth::Failing);
        for (lane, patience) in [(healthy, pool::PATIENCE), (failing, pool::PATIENCE / 2)] {
            if lane.is_empty() && patience != pool::PATIENCE {
                continue;
            }
            let bmcs: Vec<Arc<Bmc>> = lane.iter().filter_map(|&i| clients[i].0.clone()).collect();
            let polled = poll_all(&bmcs, self.src.concurrency, patience).await;
            let now = now_epoch();
            for (&i, st) in lane.iter().zip(polled) {
                apply(&mut clients[i].1, st, now);
            }
            for (_, v) in &mut clients {
                if !v.fresh(now, self.src.interval) {
                    v.readings = Arc::new(Vec::new());
                }
            }
            if let Some(h) = history {
                let read: Vec<&BmcView> = lane
                    .iter()
                    .map(|&i| &clients[i].1)
                    .filter(|v| v.last_success == Some(now))
                    .collect();
                record(h, &self.src, &read, now);
            }
            self.view.bmcs = clients.iter().map(|(_, v)| v.clone()).collect();
            self.view.error = None;
            self.view.polled_at = now;
            self.view.generation += 1;
            if !self.publish(tx).await {
                return false;
            }
        }
        true
    }

    async fn publish(&self, tx: Option<(usize, &mpsc::Sender<SensorUpdate>)>) -> bool {
        match tx {
            Some((index, tx)) => tx
                .send(SensorUpdate {
                    index,
                    view: Arc::new(self.view.clone()),
                })
                .await
                .is_ok(),
            None => true,
        }
    }
}

/// A poll's outcome on a BMC's view.
fn apply(v: &mut BmcView, st: pool::BmcStatus, now: u64) {
    v.took = st.took;
    v.error = st.error;
    v.health = match st.health {
        pool::Health::Ok => BmcHealth::Ok,
        pool::Health::Slow => BmcHealth::Slow,
        pool::Health::Degraded => BmcHealth::Degraded,
        pool::Health::Failing => BmcHealth::Failing,
    };
    if v.health == BmcHealth::Failing {
        v.polls_failed += 1;
    } else {
        v.polls_ok += 1;
        v.last_success = Some(now);
        v.requests = st.requests;
        v.readings = st.readings;
    }
}

/// The readings just read, as history of their hosts.
fn record(h: &dyn HistorySink, src: &SensorSource, read: &[&BmcView], now: u64) {
    let metrics: Vec<Vec<Metric>> = read
        .iter()
        .map(|v| host_metrics(v, src.interval, 0))
        .collect();
    let hosts: Vec<(&str, &[Metric])> = read
        .iter()
        .zip(&metrics)
        .map(|(v, m)| (&*v.host, m.as_slice()))
        .collect();
    if !hosts.is_empty() {
        h.record_hosts(&src.cluster, now, &hosts);
    }
}

impl Poller {
    /// Ends every BMC's session (at most a few seconds in all).
    async fn logout(&mut self) {
        let all = self
            .clients
            .drain()
            .map(|(_, b)| async move { b.logout().await });
        let _ =
            tokio::time::timeout(Duration::from_secs(3), futures_util::future::join_all(all)).await;
    }
}

/// An update from a sensor task to the publisher.
pub(super) struct SensorUpdate {
    pub index: usize,
    pub view: Arc<SensorView>,
}

/// Polls one table's BMCs for as long as the publisher listens.
pub(super) async fn run(
    index: usize,
    src: SensorSource,
    mut snaps: watch::Receiver<Arc<Snapshot>>,
    history: Option<Arc<dyn HistorySink>>,
    tx: mpsc::Sender<SensorUpdate>,
    mut stop: watch::Receiver<bool>,
) {
    let interval = Duration::from_secs(u64::from(src.interval.max(1)));
    let mut p = Poller {
        view: SensorView::pending(&src),
        src,
        clients: HashMap::new(),
    };
    'polls: loop {
        let started = tokio::time::Instant::now();
        let mut hosts = hosts_now(&p.src, &snaps);
        // The cluster's hosts come with its source's first poll: wait for it (a while).
        while hosts.is_empty() && started.elapsed() < interval {
            let changed = tokio::time::timeout(interval, snaps.changed()).await;
            if matches!(changed, Ok(Err(_))) || *stop.borrow() {
                break 'polls;
            }
            hosts = hosts_now(&p.src, &snaps);
        }
        let polled = tokio::select! {
            going = p.poll(hosts, history.as_deref(), Some((index, &tx))) => going,
            _ = stop.changed() => false,
        };
        if !polled {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(started + interval) => {}
            _ = stop.changed() => break,
        }
    }
    p.logout().await;
}

/// Polls one table's BMCs once (for one-shot commands such as `gantry status`).
pub(super) async fn run_once(
    index: usize,
    src: SensorSource,
    snaps: watch::Receiver<Arc<Snapshot>>,
    tx: mpsc::Sender<SensorUpdate>,
) {
    let hosts = hosts_now(&src, &snaps);
    let mut p = Poller {
        view: SensorView::pending(&src),
        src,
        clients: HashMap::new(),
    };
    // One answer: the last lane's view has every BMC.
    p.poll(hosts, None, None).await;
    p.logout().await;
    let _ = tx
        .send(SensorUpdate {
            index,
            view: Arc::new(p.view),
        })
        .await;
}
