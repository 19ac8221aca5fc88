//! Receiving syslog: a UDP socket, a TCP listener (RFC 6587 framing) and a TLS one (RFC 5425)
//! hand every message to one store task through a bounded queue. The store learns each message's template and
//! publishes an immutable [`EventsSnapshot`] at most once a second, when something changed.
//! Whatever is not kept is counted: a full queue, a frame over the limit.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::framing::{Frame, Framer};
use super::miner::MinerConfig;
use super::store::{Caps, Counters, EventStore, TemplateStats};
use super::syslog::{MAX_MESSAGE, Received, parse};

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
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            udp: None,
            tcp: None,
            tls: None,
            queue: 65_536,
            caps: Caps::default(),
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
    tasks: Vec<JoinHandle<()>>,
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
        let Ok((n, from)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        if n > MAX_MESSAGE * 8 {
            drops.too_long.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        offer(&tx, &drops, parse(&buf[..n], from.ip(), year()));
    }
}

/// Reads frames from one connection until it ends.
async fn read_frames<R: tokio::io::AsyncRead + Unpin>(
    mut conn: R,
    from: SocketAddr,
    tx: mpsc::Sender<Received>,
    drops: Arc<Drops>,
) {
    let mut framer = Framer::new(MAX_MESSAGE * 8);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        while let Some(f) = framer.next_frame() {
            match f {
                Frame::Message(m) => offer(&tx, &drops, parse(&m, from.ip(), year())),
                Frame::TooLong => {
                    drops.too_long.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

async fn tcp_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    tx: mpsc::Sender<Received>,
    drops: Arc<Drops>,
) {
    loop {
        let Ok((conn, from)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (tx, drops, tls) = (tx.clone(), drops.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => read_frames(conn, from, tx, drops).await,
                Some(acceptor) => {
                    // A sender that never finishes its handshake holds nothing for long.
                    let shaken =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(conn)).await;
                    match shaken {
                        Ok(Ok(stream)) => read_frames(stream, from, tx, drops).await,
                        Ok(Err(e)) => tracing::info!("syslog TLS from {from}: {e}"),
                        Err(_) => tracing::info!("syslog TLS from {from}: no handshake in 10 s"),
                    }
                }
            }
        });
    }
}

async fn store_loop(
    mut rx: mpsc::Receiver<Received>,
    mut store: EventStore,
    drops: Arc<Drops>,
    out: watch::Sender<Arc<EventsSnapshot>>,
) {
    let mut published: HashMap<u32, Arc<TemplateStats>> = HashMap::new();
    let mut dirty: Vec<u32> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut changed = false;
    loop {
        tokio::select! {
            r = rx.recv() => {
                let Some(r) = r else { return };
                let (t, _) = store.add(&r, now_epoch());
                dirty.push(t);
                changed = true;
            }
            _ = tick.tick() => {
                let (q, l) = (
                    drops.queue_full.load(Ordering::Relaxed),
                    drops.too_long.load(Ordering::Relaxed),
                );
                if !changed && q == store.counters.queue_full && l == store.counters.too_long {
                    continue;
                }
                store.counters.queue_full = q;
                store.counters.too_long = l;
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
                };
                if out.send(Arc::new(snap)).is_err() {
                    return;
                }
            }
        }
    }
}

impl Receiver {
    /// Binds the sockets and starts the tasks on the current runtime.
    pub async fn start(cfg: ReceiverConfig) -> Result<Self, ReceiverError> {
        let (tx, rx) = mpsc::channel(cfg.queue.max(1));
        let drops = Arc::new(Drops::default());
        let mut tasks = Vec::new();
        let mut udp = None;
        if let Some(addr) = cfg.udp {
            let s = UdpSocket::bind(addr)
                .await
                .map_err(|source| ReceiverError::Bind {
                    what: "UDP",
                    addr,
                    source,
                })?;
            big_buffer(&s);
            udp = s.local_addr().ok();
            tasks.push(tokio::spawn(udp_loop(s, tx.clone(), drops.clone())));
        }
        let mut tcp = None;
        if let Some(addr) = cfg.tcp {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|source| ReceiverError::Bind {
                    what: "TCP",
                    addr,
                    source,
                })?;
            tcp = l.local_addr().ok();
            tasks.push(tokio::spawn(tcp_loop(l, None, tx.clone(), drops.clone())));
        }
        let mut tls = None;
        if let Some((addr, server)) = cfg.tls {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|source| ReceiverError::Bind {
                    what: "TLS",
                    addr,
                    source,
                })?;
            tls = l.local_addr().ok();
            let acceptor = tokio_rustls::TlsAcceptor::from(server);
            tasks.push(tokio::spawn(tcp_loop(
                l,
                Some(acceptor),
                tx.clone(),
                drops.clone(),
            )));
        }
        drop(tx);
        let (out, snapshots) = watch::channel(Arc::new(EventsSnapshot::default()));
        let store = EventStore::new(MinerConfig::default(), cfg.caps);
        tasks.push(tokio::spawn(store_loop(rx, store, drops, out)));
        Ok(Self {
            snapshots,
            udp,
            tcp,
            tls,
            tasks,
        })
    }

    /// A receiver of every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<EventsSnapshot>> {
        self.snapshots.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
