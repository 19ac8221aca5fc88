//! Running the aggregator: one task per source polls on its own step; a publisher assembles
//! the sources' views into immutable snapshots and hands them out through a `watch` channel.
//! All network and parsing work runs on tokio's blocking pool; nothing here blocks a reader.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use super::fetch::{FetchSettings, fetch};
use super::local::LocalPoller;
use super::merge::Merger;
use super::sensors::{self, SensorSource, SensorUpdate, SensorView};
use super::source::{HistorySink, SourceConfig, SourceKind, SourceState};
use super::status::Health;
use super::view::{Snapshot, SourceView};
use crate::model::Summary;

/// Seconds since the epoch on the local clock.
pub fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the aggregator needs to run.
#[derive(Clone)]
pub struct AggregatorConfig {
    /// Grid name, as gmetad's `gridname`.
    pub grid_name: String,
    /// Authority URL, as gmetad's `authority`.
    pub authority: String,
    /// The sources.
    pub sources: Vec<SourceConfig>,
    /// Timeouts and limits.
    pub fetch: FetchSettings,
    /// Where to record history, if anywhere.
    pub history: Option<Arc<dyn HistorySink>>,
    /// The BMCs' sensors, per `[[bmc]]` table.
    pub sensors: Vec<SensorSource>,
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        Self {
            grid_name: "unspecified".into(),
            authority: "http://localhost/ganglia/".into(),
            sources: Vec::new(),
            fetch: FetchSettings::default(),
            history: None,
            sensors: Vec::new(),
        }
    }
}

/// A running aggregator.
pub struct Aggregator {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    refresh: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
    /// The sensor tasks, stopped apart so they can end their BMC sessions.
    sensor_tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

struct Update {
    index: usize,
    view: Arc<SourceView>,
}

/// One poll of a source: the blocking part, run on the blocking pool.
fn poll_blocking(
    mut state: SourceState,
    local: &mut Option<LocalPoller>,
    settings: &FetchSettings,
    history: Option<&dyn HistorySink>,
) -> SourceState {
    let report = match &state.config.kind {
        SourceKind::Network(addresses) => {
            fetch(addresses, state.last_good, settings, &mut state.interner)
        }
        SourceKind::Local => local
            .get_or_insert_with(|| LocalPoller::new(&state.config.name))
            .poll(),
    };
    state.apply(report, now_epoch(), history);
    state
}

/// Polls every source once, concurrently, and returns the resulting snapshot (for one-shot
/// commands such as `gantry status`).
pub async fn poll_once(cfg: &AggregatorConfig) -> Snapshot {
    let mut handles = Vec::new();
    for sc in &cfg.sources {
        let state = SourceState::new(Arc::new(sc.clone()));
        let settings = cfg.fetch;
        let history = cfg.history.clone();
        handles.push(tokio::task::spawn_blocking(move || {
            let mut local = None;
            poll_blocking(state, &mut local, &settings, history.as_deref()).view
        }));
    }
    let mut views = Vec::new();
    for (h, sc) in handles.into_iter().zip(&cfg.sources) {
        views.push(match h.await {
            Ok(v) => v,
            Err(e) => {
                let mut v = SourceView::pending(&sc.name);
                v.status.health = Health::Dead;
                v.status.last_error = Some(format!("poll task failed: {e}"));
                Arc::new(v)
            }
        });
    }
    let first = assemble(cfg, views.clone(), Vec::new(), 1);
    if cfg.sensors.is_empty() {
        return first;
    }
    // The BMCs of the hosts just read, once each.
    let (_keep, snaps) = watch::channel(Arc::new(first));
    let (tx, mut rx) = mpsc::channel(cfg.sensors.len());
    for (index, src) in cfg.sensors.iter().enumerate() {
        let (snaps, tx, src) = (snaps.clone(), tx.clone(), src.clone());
        tokio::spawn(sensors::run_once(index, src, snaps, tx));
    }
    drop(tx);
    let mut found: Vec<Arc<SensorView>> = cfg
        .sensors
        .iter()
        .map(|s| Arc::new(SensorView::pending(s)))
        .collect();
    while let Some(u) = rx.recv().await {
        found[u.index] = u.view;
    }
    let merged = Merger::default().merge(&views, &found, now_epoch());
    assemble(cfg, merged, found, 1)
}

/// `snap` with these sensors merged into its hosts (for tools and tests that build snapshots
/// themselves).
pub fn with_sensors(snap: &Snapshot, sensors: Vec<Arc<SensorView>>, now: u64) -> Snapshot {
    let merged = Merger::default().merge(&snap.sources, &sensors, now);
    let mut summary = Summary::default();
    for s in merged.iter().filter(|s| s.status.health != Health::Dead) {
        summary.absorb(&s.summary);
    }
    Snapshot {
        sources: merged,
        summary,
        sensors,
        ..snap.clone()
    }
}

/// Builds a snapshot from the sources' views (merged with their sensors); the root summary
/// leaves dead sources out.
fn assemble(
    cfg: &AggregatorConfig,
    sources: Vec<Arc<SourceView>>,
    sensors: Vec<Arc<SensorView>>,
    generation: u64,
) -> Snapshot {
    let mut summary = Summary::default();
    for s in sources.iter().filter(|s| s.status.health != Health::Dead) {
        summary.absorb(&s.summary);
    }
    Snapshot {
        grid_name: cfg.grid_name.as_str().into(),
        authority: cfg.authority.as_str().into(),
        taken_at: now_epoch(),
        generation,
        sources,
        summary,
        sensors,
    }
}

/// Spreads polls like gmetad (`step` × (1 ± 5 %)), from a seed drawn per aggregator, so
/// two aggregators started together — two consoles, or a console beside `gantry aggregator` —
/// drift apart instead of polling their sources in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Jitter {
    seed: u64,
}

impl Jitter {
    /// A seed from the operating system's random source.
    pub(crate) fn from_os() -> Self {
        use ring::rand::SecureRandom;
        let mut b = [0u8; 8];
        let seed = match ring::rand::SystemRandom::new().fill(&mut b) {
            Ok(()) => u64::from_ne_bytes(b),
            // Not expected on Linux; std's hasher keys are random per process too.
            Err(_) => {
                use std::hash::{BuildHasher, Hasher};
                std::collections::hash_map::RandomState::new()
                    .build_hasher()
                    .finish()
            }
        };
        Self { seed }
    }

    /// A fixed seed (tests).
    #[cfg(test)]
    pub(crate) fn with_seed(seed: u64) -> Self {
        Self { seed }
    }

    /// The wait before poll `round` of source `index`.
    pub(crate) fn wait(&self, step: u32, index: usize, round: u64) -> Duration {
        let base = f64::from(step.max(1));
        let x = splitmix(self.seed ^ splitmix(index as u64) ^ round.rotate_left(32));
        // Uniform in [0, 1) from the top 53 bits.
        let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
        Duration::from_secs_f64(base * (1.0 + 0.05 * (2.0 * unit - 1.0)))
    }
}

/// splitmix64's output function: a cheap, well-spread 64-bit mix.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Aggregator {
    /// Starts polling every source on the current tokio runtime.
    pub fn start(cfg: AggregatorConfig) -> Self {
        let pending: Vec<Arc<SourceView>> = cfg
            .sources
            .iter()
            .map(|s| Arc::new(SourceView::pending(&s.name)))
            .collect();
        let pending_sensors: Vec<Arc<SensorView>> = cfg
            .sensors
            .iter()
            .map(|s| Arc::new(SensorView::pending(s)))
            .collect();
        let (snap_tx, snapshots) = watch::channel(Arc::new(assemble(
            &cfg,
            pending.clone(),
            pending_sensors.clone(),
            0,
        )));
        let (tx, mut rx) = mpsc::channel::<Update>(64);
        let (sensor_tx, mut sensor_rx) = mpsc::channel::<SensorUpdate>(16);
        let refresh = Arc::new(Notify::new());
        let jitter = Jitter::from_os();
        let mut tasks = Vec::new();
        for (index, sc) in cfg.sources.iter().enumerate() {
            let tx = tx.clone();
            let refresh = refresh.clone();
            let settings = cfg.fetch;
            let history = cfg.history.clone();
            let mut state = Some(SourceState::new(Arc::new(sc.clone())));
            let step = sc.step;
            tasks.push(tokio::spawn(async move {
                let mut local: Option<LocalPoller> = None;
                let mut round: u64 = 0;
                loop {
                    let started = tokio::time::Instant::now();
                    let Some(st) = state.take() else { return };
                    let history = history.clone();
                    let mut l = local.take();
                    let joined = tokio::task::spawn_blocking(move || {
                        let st = poll_blocking(st, &mut l, &settings, history.as_deref());
                        (st, l)
                    })
                    .await;
                    let Ok((st, l)) = joined else {
                        tracing::error!("poll task panicked; source stops");
                        return;
                    };
                    local = l;
                    let view = st.view.clone();
                    state = Some(st);
                    if tx.send(Update { index, view }).await.is_err() {
                        return;
                    }
                    round = round.wrapping_add(1);
                    let wait = jitter.wait(step, index, round);
                    tokio::select! {
                        _ = tokio::time::sleep_until(started + wait) => {}
                        _ = refresh.notified() => {}
                    }
                }
            }));
        }
        let (stop, stop_rx) = watch::channel(false);
        let sensor_tasks = cfg
            .sensors
            .iter()
            .enumerate()
            .map(|(index, src)| {
                tokio::spawn(sensors::run(
                    index,
                    src.clone(),
                    snapshots.clone(),
                    cfg.history.clone(),
                    sensor_tx.clone(),
                    stop_rx.clone(),
                ))
            })
            .collect();
        drop(tx);
        drop(sensor_tx);
        tasks.push(tokio::spawn(async move {
            let mut views = pending;
            let mut found = pending_sensors;
            let mut merger = Merger::default();
            let mut generation = 0;
            let (mut sources_open, mut sensors_open) = (true, !found.is_empty());
            while sources_open || sensors_open {
                tokio::select! {
                    u = rx.recv(), if sources_open => match u {
                        Some(u) => views[u.index] = u.view,
                        None => sources_open = false,
                    },
                    u = sensor_rx.recv(), if sensors_open => match u {
                        Some(u) => found[u.index] = u.view,
                        None => sensors_open = false,
                    },
                }
                // Coalesce updates that arrived together into one snapshot.
                while let Ok(u) = rx.try_recv() {
                    views[u.index] = u.view;
                }
                while let Ok(u) = sensor_rx.try_recv() {
                    found[u.index] = u.view;
                }
                generation += 1;
                let merged = merger.merge(&views, &found, now_epoch());
                let snap = assemble(&cfg, merged, found.clone(), generation);
                if let Some(h) = &cfg.history {
                    h.record_summary(
                        &format!("grid:{}", snap.grid_name),
                        snap.taken_at,
                        &snap.summary,
                    );
                }
                if snap_tx.send(Arc::new(snap)).is_err() {
                    return;
                }
            }
        }));
        Self {
            snapshots,
            refresh,
            tasks,
            sensor_tasks,
            stop,
        }
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    /// A receiver that wakes on every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    /// Polls every source now instead of waiting for its step.
    pub fn poll_now(&self) {
        self.refresh.notify_waiters();
    }

    /// A function that polls every source now, for code that does not hold the aggregator.
    pub fn poll_trigger(&self) -> impl Fn() + Send + Sync + 'static {
        let r = self.refresh.clone();
        move || r.notify_waiters()
    }

    /// Stops every task at once.
    pub fn stop(self) {
        // Dropping aborts every task.
    }

    /// Stops every task, letting the sensor tasks end their BMC sessions first (a few seconds
    /// at most).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let ending = futures_util::future::join_all(self.sensor_tasks.drain(..));
        let _ = tokio::time::timeout(Duration::from_secs(4), ending).await;
    }
}

impl Drop for Aggregator {
    fn drop(&mut self) {
        for t in self.tasks.iter().chain(&self.sensor_tasks) {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The waits of the first rounds of three sources.
    fn schedule(j: Jitter) -> Vec<Duration> {
        (0..3)
            .flat_map(|index| (0..20).map(move |round| j.wait(15, index, round)))
            .collect()
    }

    #[test]
    fn two_processes_get_different_schedules() {
        // Each aggregator draws its own seed, as two processes would.
        let (a, b) = (Jitter::from_os(), Jitter::from_os());
        assert_ne!(a, b, "two seeds from the OS differ");
        let (sa, sb) = (schedule(a), schedule(b));
        let same = sa.iter().zip(&sb).filter(|(x, y)| x == y).count();
        assert_eq!(
            same, 0,
            "no poll of one lines up with the other's: {sa:?} {sb:?}"
        );
    }

    #[test]
    fn waits_stay_within_five_percent_and_vary() {
        let s = schedule(Jitter::with_seed(7));
        for w in &s {
            let secs = w.as_secs_f64();
            assert!((14.25..=15.75).contains(&secs), "{secs}");
        }
        let mut distinct = s.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > s.len() / 2, "waits vary: {s:?}");
        // The same seed gives the same schedule: the randomness is the seed's alone.
        assert_eq!(s, schedule(Jitter::with_seed(7)));
        assert_ne!(s, schedule(Jitter::with_seed(8)));
    }

    #[test]
    fn a_zero_step_still_waits() {
        let w = Jitter::with_seed(1).wait(0, 0, 0);
        assert!(w >= Duration::from_millis(950), "{w:?}");
    }
}
