//! Receiving syslog: a UDP socket, a TCP listener (RFC 6587 framing) and a TLS one (RFC 5425)
//! hand every message to one store task through a bounded queue. The store learns each message's template and
//! publishes an immutable [`EventsSnapshot`] at most once a second, when something changed.
//! Whatever is not kept is counted: a full queue, a frame over the limit.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::file;
use super::framing::{Frame, Framer};
use super::miner::MinerConfig;
use super::store::{Caps, Counters, EventStore, Minute, TemplateStats};
use super::syslog::{MAX_MESSAGE, Received, parse};
use crate::history::HistoryStore;

/// Where to listen and how much to keep.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// UDP (`None`: not at all).
    pub udp: Option<SocketAddr>,
    /// TCP (`None`: not at all).
    pub tcp: Option<SocketAddr>,
    /// TLS (RFC 5425), with the server's side (the cluster's certificates, as the central
    /// manager's: `cm::tls::syslog_server_config`).
    pub tls: Option<(SocketAddr, Arc<rustls::ServerConfig>)>,
    /// Messages queued for the store before new ones are dropped (and counted).
    pub queue: usize,
    /// Bounds on the templates kept.
    pub caps: Caps,
    /// Where templates, counts and samples are kept across restarts (`None`: nowhere).
    pub file: Option<PathBuf>,
    /// How often the file is written (and once more at shutdown).
    pub save_every: Duration,
    /// Where each minute's counts per template and per host are recorded.
    pub history: Option<Arc<HistoryStore>>,
    /// A TCP or TLS sender silent this long is disconnected (senders reconnect when they have
    /// something to say).
    pub idle: Duration,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            udp: None,
            tcp: None,
            tls: None,
            queue: 65_536,
            caps: Caps::default(),
            file: None,
            save_every: Duration::from_secs(60),
            history: None,
            idle: Duration::from_secs(300),
        }
    }
}

/// Every template at one moment, with the counters.
#[derive(Debug, Clone, Default)]
pub struct EventsSnapshot {
    /// Templates by id.
    pub templates: HashMap<u32, Arc<TemplateStats>>,
    /// Messages learned, raw lines, drops.
    pub counters: Counters,
    /// The caps in force.
    pub caps: Option<Caps>,
    /// Epoch seconds it was made.
    pub taken_at: u64,
    /// When the store began learning (0: not yet): templates first seen soon after are not
    /// new, only not seen before.
    pub since: u64,
}

impl EventsSnapshot {
    /// Everything `store` holds at `now` (the receiver publishes changes only; tools and
    /// tests take it whole).
    pub fn of(store: &EventStore, now: u64) -> Self {
        Self {
            templates: store
                .templates()
                .map(|(id, s)| (id, Arc::new(s.clone())))
                .collect(),
            counters: store.counters,
            caps: Some(store.caps()),
            taken_at: now,
            since: store.since(),
        }
    }
}

/// A running receiver.
pub struct Receiver {
    snapshots: watch::Receiver<Arc<EventsSnapshot>>,
    /// Where it listens, as bound (a port 0 made concrete).
    pub udp: Option<SocketAddr>,
    /// Where it listens for TCP.
    pub tcp: Option<SocketAddr>,
    /// Where it listens for TLS.
    pub tls: Option<SocketAddr>,
    /// What happened loading the events file, when worth telling.
    pub notice: Option<String>,
    tasks: Vec<JoinHandle<()>>,
    store_task: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

/// Why a receiver could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// A socket could not be bound.
    #[error("syslog {what} {addr}: {source}")]
    Bind {
        /// UDP or TCP.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

#[derive(Default)]
struct Drops {
    queue_full: AtomicU64,
    too_long: AtomicU64,
    refused: AtomicU64,
}

impl Drops {
    /// Copies the counts into `c`; whether any changed.
    fn sync(&self, c: &mut Counters) -> bool {
        let (q, l, r) = (
            self.queue_full.load(Ordering::Relaxed),
            self.too_long.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
        );
        let changed = (q, l, r) != (c.queue_full, c.too_long, c.refused);
        (c.queue_full, c.too_long, c.refused) = (q, l, r);
        changed
    }
}

fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn year() -> i32 {
    // 365.2425 days a year since 1970: exact enough to date RFC 3164's year-less stamps.
    1970 + (now_epoch() / 31_556_952) as i32
}

fn offer(tx: &mpsc::Sender<Received>, drops: &Drops, r: Received) {
    if tx.try_send(r).is_err() {
        drops.queue_full.fetch_add(1, Ordering::Relaxed);
    }
}

/// Makes the socket's receive buffer large, so bursts wait in the kernel rather than being
/// lost there (best effort: the kernel may cap it).
fn big_buffer(s: &UdpSocket) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 8 * 1024 * 1024;
    // SAFETY: setsockopt on a socket we own, with a c_int option value.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

async fn udp_loop(sock: UdpSocket, tx: mpsc::Sender<Received>, drops: Arc<Drops>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        // A datagram is at most 65,507 bytes: the buffer takes any whole.
        let Ok((n, from)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        if let Ok(r) =
            crate::guard::caught("a syslog datagram", || parse(&buf[..n], from.ip(), year()))
        {
            offer(&tx, &drops, r);
        }
    }
}

/// Reads frames from one connection until it ends.
async fn read_frames<R: tokio::io::AsyncRead + Unpin>(
    mut conn: R,
    from: SocketAddr,
    tx: mpsc::Sender<Received>,
    drops: Arc<Drops>,
    idle: Duration,
) {
    let mut framer = Framer::new(MAX_MESSAGE * 8);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // A sender silent this long is gone (or holding a connection for nothing).
        let n = match tokio::time::timeout(idle, conn.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => return,
            Ok(Ok(n)) => n,
        };
        framer.push(&buf[..n]);
        let mut frames = 0u32;
        while let Some(f) = framer.next_frame() {
            match f {
                Frame::Message(m) => {
                    if let Ok(r) =
                        crate::guard::caught("a syslog message", || parse(&m, from.ip(), year()))
                    {
                        offer(&tx, &drops, r);
                    }
                }
                Frame::TooLong => {
                    drops.too_long.fetch_add(1, Ordering::Relaxed);
                }
            }
            frames += 1;
            if frames.is_multiple_of(256) {
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Connections held at once, in all and from one address; more are refused (and counted).
const MAX_CONNECTIONS: usize = 1024;
/// Connections from one address.
const MAX_PER_ADDRESS: usize = 64;

async fn tcp_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    tx: mpsc::Sender<Received>,
    drops: Arc<Drops>,
    idle: Duration,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let per_address: Arc<parking_lot::Mutex<HashMap<std::net::IpAddr, usize>>> = Arc::default();
    loop {
        let Ok((conn, from)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drops.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        {
            let mut m = per_address.lock();
            let n = m.entry(from.ip()).or_default();
            if *n >= MAX_PER_ADDRESS {
                drops.refused.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            *n += 1;
        }
        let (tx, drops, tls, per_address) =
            (tx.clone(), drops.clone(), tls.clone(), per_address.clone());
        tokio::spawn(async move {
            match tls {
                None => read_frames(conn, from, tx, drops, idle).await,
                Some(acceptor) => {
                    // A sender that never finishes its handshake holds nothing for long.
                    let shaken =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(conn)).await;
                    match shaken {
                        Ok(Ok(stream)) => read_frames(stream, from, tx, drops, idle).await,
                        Ok(Err(e)) => tracing::debug!("syslog TLS from {from}: {e}"),
                        Err(_) => tracing::debug!("syslog TLS from {from}: no handshake in 10 s"),
                    }
                }
            }
            let mut m = per_address.lock();
            if let Some(n) = m.get_mut(&from.ip()) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&from.ip());
                }
            }
            drop(slot);
        });
    }
}

/// Where the store's work goes besides the snapshots.
struct Keeping {
    file: Option<PathBuf>,
    save_every: Duration,
    history: Option<Arc<HistoryStore>>,
}

fn record_minute(history: &HistoryStore, m: &Minute) {
    let t = m.minute * 60 + 59;
    history.record_counts(
        "events/templates",
        t,
        m.templates
            .iter()
            .map(|(k, &n)| (k.as_str(), "messages", f64::from(n))),
    );
    history.record_counts(
        "events/hosts",
        t,
        m.hosts.iter().flat_map(|(h, &(n, e))| {
            [
                (h.as_str(), "messages", f64::from(n)),
                (h.as_str(), "errors", f64::from(e)),
            ]
        }),
    );
}

async fn save(store: &EventStore, path: &std::path::Path) {
    let saved = store.saved();
    let path = path.to_path_buf();
    match tokio::task::spawn_blocking(move || file::save(&path, &saved)).await {
        Ok(Ok(bytes)) => tracing::debug!("events saved: {bytes} bytes"),
        Ok(Err(e)) => tracing::error!("events not saved: {e}"),
        Err(e) => tracing::error!("events not saved: {e}"),
    }
}

async fn store_loop(
    mut rx: mpsc::Receiver<Received>,
    mut store: EventStore,
    drops: Arc<Drops>,
    out: watch::Sender<Arc<EventsSnapshot>>,
    keeping: Keeping,
    mut stop: watch::Receiver<bool>,
) {
    let mut published: HashMap<u32, Arc<TemplateStats>> = HashMap::new();
    // What was restored is published at the first tick.
    let mut dirty: Vec<u32> = store.templates().map(|(id, _)| id).collect();
    let mut changed = true;
    let mut unsaved = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut save_tick = tokio::time::interval(keeping.save_every.max(Duration::from_secs(1)));
    save_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    save_tick.tick().await;
    loop {
        tokio::select! {
            r = rx.recv() => {
                let Some(r) = r else { break };
                let Ok((t, _)) = crate::guard::caught("a syslog message's template", || {
                    store.add(&r, now_epoch())
                }) else {
                    continue;
                };
                dirty.push(t);
                changed = true;
                unsaved = true;
            }
            _ = stop.changed() => break,
            _ = save_tick.tick() => {
                if let (Some(path), true) = (&keeping.file, unsaved) {
                    drops.sync(&mut store.counters);
                    save(&store, path).await;
                    unsaved = false;
                }
            }
            _ = tick.tick() => {
                if let (Some(h), Some(m)) = (&keeping.history, store.take_minute(now_epoch())) {
                    record_minute(h, &m);
                }
                let dropped = drops.sync(&mut store.counters);
                if !changed && !dropped {
                    continue;
                }
                unsaved |= dropped;
                dirty.sort_unstable();
                dirty.dedup();
                let live: HashMap<u32, &TemplateStats> = store.templates().collect();
                published.retain(|id, _| live.contains_key(id));
                for id in dirty.drain(..) {
                    if let Some(s) = live.get(&id) {
                        published.insert(id, Arc::new((*s).clone()));
                    }
                }
                changed = false;
                let snap = EventsSnapshot {
                    templates: published.clone(),
                    counters: store.counters,
                    caps: Some(store.caps()),
                    taken_at: now_epoch(),
                    since: store.since(),
                };
                if out.send(Arc::new(snap)).is_err() {
                    break;
                }
            }
        }
    }
    if let Some(path) = &keeping.file {
        drops.sync(&mut store.counters);
        save(&store, path).await;
    }
}

impl Receiver {
    /// Binds the sockets and starts the tasks on the current runtime.
    pub async fn start(cfg: ReceiverConfig) -> Result<Self, ReceiverError> {
        // Every socket is bound before any task starts, so a failure leaves nothing running.
        let bind_tcp = |what: &'static str, addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| ReceiverError::Bind { what, addr, source })
        };
        let udp_sock = match cfg.udp {
            Some(addr) => {
                Some(
                    UdpSocket::bind(addr)
                        .await
                        .map_err(|source| ReceiverError::Bind {
                            what: "UDP",
                            addr,
                            source,
                        })?,
                )
            }
            None => None,
        };
        let tcp_listener = match cfg.tcp {
            Some(addr) => Some(bind_tcp("TCP", addr).await?),
            None => None,
        };
        let tls_listener = match &cfg.tls {
            Some((addr, server)) => Some((bind_tcp("TLS", *addr).await?, server.clone())),
            None => None,
        };
        let (tx, rx) = mpsc::channel(cfg.queue.max(1));
        let drops = Arc::new(Drops::default());
        let mut tasks = Vec::new();
        let udp = udp_sock.as_ref().and_then(|s| s.local_addr().ok());
        if let Some(s) = udp_sock {
            big_buffer(&s);
            tasks.push(tokio::spawn(udp_loop(s, tx.clone(), drops.clone())));
        }
        let tcp = tcp_listener.as_ref().and_then(|l| l.local_addr().ok());
        if let Some(l) = tcp_listener {
            tasks.push(tokio::spawn(tcp_loop(
                l,
                None,
                tx.clone(),
                drops.clone(),
                cfg.idle,
            )));
        }
        let tls = tls_listener.as_ref().and_then(|(l, _)| l.local_addr().ok());
        if let Some((l, server)) = tls_listener {
            let acceptor = tokio_rustls::TlsAcceptor::from(server);
            tasks.push(tokio::spawn(tcp_loop(
                l,
                Some(acceptor),
                tx.clone(),
                drops.clone(),
                cfg.idle,
            )));
        }
        drop(tx);
        let (out, snapshots) = watch::channel(Arc::new(EventsSnapshot::default()));
        let (saved, notice) = match cfg.file.clone() {
            Some(p) => {
                tokio::task::spawn_blocking(move || file::load_or_set_aside(&p, now_epoch()))
                    .await
                    .unwrap_or_else(|e| (None, Some(format!("events not loaded: {e}"))))
            }
            None => (None, None),
        };
        if let Some(n) = &notice {
            tracing::warn!("{n}");
        }
        let store = match saved {
            Some(s) => EventStore::restored(MinerConfig::default(), cfg.caps, s),
            None => EventStore::new(MinerConfig::default(), cfg.caps),
        };
        // Drops counted before the restart go on being counted.
        drops
            .queue_full
            .fetch_add(store.counters.queue_full, Ordering::Relaxed);
        drops
            .too_long
            .fetch_add(store.counters.too_long, Ordering::Relaxed);
        drops
            .refused
            .fetch_add(store.counters.refused, Ordering::Relaxed);
        let keeping = Keeping {
            file: cfg.file,
            save_every: cfg.save_every,
            history: cfg.history,
        };
        let (stop, stopped) = watch::channel(false);
        let store_task = tokio::spawn(store_loop(rx, store, drops, out, keeping, stopped));
        Ok(Self {
            snapshots,
            udp,
            tcp,
            tls,
            notice,
            tasks,
            store_task: Some(store_task),
            stop,
        })
    }

    /// Stops receiving, and saves the events file once more.
    pub async fn shutdown(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        let _ = self.stop.send(true);
        if let Some(t) = self.store_task.take() {
            let _ = t.await;
        }
    }

    /// A receiver of every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<EventsSnapshot>> {
        self.snapshots.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        for t in self.tasks.iter().chain(&self.store_task) {
            t.abort();
        }
    }
}
