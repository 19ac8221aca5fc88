//! A fault-injecting TCP proxy for tests: real processes talk (TLS) to each other through it over
//! loopback, and the test breaks the link between them on demand — a black hole, a one-way cut,
//! latency, a bandwidth limit, resets, random resets, dropped, duplicated or corrupted bytes
//! (the connection staying up), a stream cut off mid-record, a half-open connection (a host
//! that crashed without a word, reset once it is back) — on connections already open as well
//! as on new ones.
//!
//! It runs a single-threaded tokio runtime on a thread of its own, so it works the same under
//! `#[test]` and `#[tokio::test]`, and keeps forwarding while the test's runtime is busy or
//! blocked. Dropping the [`Proxy`] drops that runtime, which closes every socket it holds.
#![allow(dead_code)]

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// A direction of traffic through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// From the client that connected to the proxy to the upstream.
    ToUpstream,
    /// From the upstream back to the client.
    ToClient,
}

/// The fault in force (one at a time; setting one replaces the last).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Pass,
    Cut,
    CutOneWay(Dir),
    Delay(Duration),
    Reset,
    DropProb(f64),
    /// At most this many bytes a second each way.
    Throttle(u64),
    /// With this probability a chunk has one byte flipped.
    Corrupt(f64),
    /// With this probability a chunk is delivered twice.
    Duplicate(f64),
    /// With this probability a chunk is lost, the connection staying up.
    DropBytes(f64),
    /// The next chunk each way is cut in half and its stream ended there.
    Truncate,
    /// The upstream host crashed without a word: nothing passes either way (as in a cut), and
    /// once it is back, the connections open meanwhile are reset, as a rebooted host answers
    /// a connection it no longer knows.
    HalfOpen,
}

impl Mode {
    /// Whether bytes going `dir` are thrown away.
    fn blocks(self, dir: Dir) -> bool {
        match self {
            Mode::Cut | Mode::HalfOpen => true,
            Mode::CutOneWay(d) => d == dir,
            _ => false,
        }
    }
}

/// How a connection ends, when it does not end cleanly in both directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// A fault kills it: both sockets are reset.
    Abort,
    /// A socket failed or a peer went away: both sockets are closed.
    Closed,
}

/// The seed of the drop generator until [`Proxy::seed`] sets another.
const DEFAULT_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// State shared by the test's thread and the proxy's tasks.
struct Shared {
    /// Watched (not just read) so that idle connections notice a reset at once.
    mode: watch::Sender<Mode>,
    /// xorshift64* state for [`Mode::DropProb`]; never zero.
    rng: Mutex<u64>,
    connections: AtomicU64,
    open: AtomicU64,
    bytes: AtomicU64,
}

impl Shared {
    fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    /// A uniform number in [0, 1) from the seeded generator: runs with the same seed and the
    /// same traffic drop the same chunks.
    fn roll(&self) -> f64 {
        let mut s = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let mut x = *s;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *s = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Counts a connection as open for as long as it lives.
struct OpenGuard<'a>(&'a Shared);

impl<'a> OpenGuard<'a> {
    fn new(shared: &'a Shared) -> Self {
        shared.open.fetch_add(1, Ordering::SeqCst);
        OpenGuard(shared)
    }
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A TCP proxy on 127.0.0.1 that forwards every connection to one upstream, with faults set
/// from the test at any time.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards each connection to `upstream`
    /// (`host:port`), which need not be listening yet.
    pub fn start(upstream: &str) -> Proxy {
        // Resolved here, once, so the runtime never needs its blocking pool (which would hold
        // up its shutdown).
        let upstream: Arc<[SocketAddr]> = upstream
            .to_socket_addrs()
            .unwrap_or_else(|e| panic!("proxy upstream {upstream}: {e}"))
            .collect();
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("proxy binds a loopback port");
        let addr = listener.local_addr().expect("proxy's listening address");
        listener
            .set_nonblocking(true)
            .expect("proxy listener non-blocking");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("proxy runtime");
        let shared = Arc::new(Shared {
            mode: watch::Sender::new(Mode::Pass),
            rng: Mutex::new(DEFAULT_SEED),
            connections: AtomicU64::new(0),
            open: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("proxy {addr}"))
            .spawn(move || {
                rt.block_on(async move {
                    let listener =
                        TcpListener::from_std(listener).expect("proxy listener joins its runtime");
                    tokio::select! {
                        _ = stopped => {}
                        _ = accept_loop(listener, upstream, sh) => {}
                    }
                });
                // Dropping the runtime drops every connection's task, and with them both
                // sockets of every connection, before the Proxy's drop returns.
                drop(rt);
            })
            .expect("proxy thread starts");
        Proxy {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Where clients connect: `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Forwards normally (the default), healing any cut.
    pub fn pass(&self) {
        self.set(Mode::Pass);
    }

    /// A black hole both ways: connections stay open and new ones are accepted, but every byte
    /// read is dropped (a partition where TCP does not reset). New connections are not even
    /// passed on to the upstream until the cut heals.
    pub fn cut(&self) {
        self.set(Mode::Cut);
    }

    /// Drops bytes going `dir` only.
    pub fn cut_one_way(&self, dir: Dir) {
        self.set(Mode::CutOneWay(dir));
    }

    /// Delivers each chunk `ms` milliseconds after it was read, in order in each direction
    /// (latency; throughput is not limited).
    pub fn delay(&self, ms: u64) {
        self.set(Mode::Delay(Duration::from_millis(ms)));
    }

    /// Resets every open connection (both sockets), and every new one as soon as it is
    /// accepted, until another mode is set: a host that crashed and refuses connections.
    /// Returns once the open connections are closed (or after a second, if some are not).
    pub fn reset(&self) {
        self.set(Mode::Reset);
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        while self.open_connections() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Resets a connection with probability `p` for each chunk it would forward (that chunk is
    /// not delivered).
    pub fn drop_prob(&self, p: f64) {
        assert!(
            (0.0..=1.0).contains(&p),
            "drop probability {p} not in [0, 1]"
        );
        self.set(Mode::DropProb(p));
    }

    /// At most `bytes_per_sec` bytes a second in each direction of each connection.
    pub fn throttle(&self, bytes_per_sec: u64) {
        self.set(Mode::Throttle(bytes_per_sec.max(1)));
    }

    /// Flips one byte of a chunk with probability `p` (TLS notices; plain text may not).
    pub fn corrupt(&self, p: f64) {
        self.set(Mode::Corrupt(p));
    }

    /// Delivers a chunk twice with probability `p`.
    pub fn duplicate(&self, p: f64) {
        self.set(Mode::Duplicate(p));
    }

    /// Loses a chunk with probability `p`, the connection staying up.
    pub fn drop_bytes(&self, p: f64) {
        self.set(Mode::DropBytes(p));
    }

    /// Cuts the next chunk each way in half and ends that direction's stream there (a FIN in
    /// the middle of a record).
    pub fn truncate(&self) {
        self.set(Mode::Truncate);
    }

    /// A half-open connection: the upstream host crashes without a FIN or a reset, so the
    /// client's connections stay open and silent; once healed ([`Self::pass`]), the
    /// connections that were open are reset by the rebooted host, and new ones pass.
    pub fn half_open(&self) {
        self.set(Mode::HalfOpen);
    }

    /// Restarts the generator behind the random faults from `seed`.
    pub fn seed(&self, seed: u64) {
        // xorshift never leaves zero.
        let seed = if seed == 0 { DEFAULT_SEED } else { seed };
        *self.shared.rng.lock().unwrap_or_else(|e| e.into_inner()) = seed;
    }

    /// Connections accepted so far (including ones reset at once).
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Bytes delivered so far, both directions together.
    pub fn bytes_forwarded(&self) -> u64 {
        self.shared.bytes.load(Ordering::SeqCst)
    }

    /// Connections open now (held, forwarding, or waiting for their upstream).
    pub fn open_connections(&self) -> u64 {
        self.shared.open.load(Ordering::SeqCst)
    }

    fn set(&self, mode: Mode) {
        self.shared.mode.send_replace(mode);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Closes a socket with a reset (RST) rather than an orderly end of stream.
fn abort(s: TcpStream) {
    let _ = s.set_zero_linger();
    drop(s);
}

async fn accept_loop(listener: TcpListener, upstream: Arc<[SocketAddr]>, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors and the like: back off rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        if matches!(shared.mode(), Mode::Reset) {
            abort(client);
            continue;
        }
        let (upstream, shared) = (upstream.clone(), shared.clone());
        tokio::spawn(async move {
            let _open = OpenGuard::new(&shared);
            // Returns only after both sockets are closed, so the count stays exact.
            serve(client, &upstream, &shared).await;
        });
    }
}

/// Forwards one connection until it ends or a fault ends it.
async fn serve(mut client: TcpStream, upstream: &[SocketAddr], shared: &Shared) {
    let mut mode = shared.mode.subscribe();
    match hold_while_cut(&mut client, &mut mode).await {
        Ok(()) => {}
        Err(End::Abort) => {
            abort(client);
            return;
        }
        Err(End::Closed) => return,
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        // The upstream refuses: so does the proxy.
        abort(client);
        return;
    };
    // Chunks go on as they come; TLS records are small and latency is what tests measure.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let mut crash = shared.mode.subscribe();
    let end = {
        let (cr, cw) = client.split();
        let (sr, sw) = server.split();
        tokio::select! {
            // Open while the host was down: reset once it is back.
            _ = async {
                let _ = crash.wait_for(|m| *m == Mode::HalfOpen).await;
                let _ = crash.wait_for(|m| *m != Mode::HalfOpen).await;
            } => Some(End::Abort),
            r = async {
                tokio::try_join!(
                    direction(cr, sw, Dir::ToUpstream, shared),
                    direction(sr, cw, Dir::ToClient, shared),
                )
            } => r.err(),
            _ = async { mode.wait_for(|m| matches!(m, Mode::Reset)).await.is_ok() } => {
                Some(End::Abort)
            }
        }
    };
    if end == Some(End::Abort) {
        abort(client);
        abort(server);
    }
}

/// Holds a new connection while traffic to the upstream is cut (the connect would be lost in
/// the partition too), reading and dropping what the client sends meanwhile.
async fn hold_while_cut(
    client: &mut TcpStream,
    mode: &mut watch::Receiver<Mode>,
) -> Result<(), End> {
    let mut buf = [0u8; 4096];
    loop {
        let m = *mode.borrow_and_update();
        if matches!(m, Mode::Reset) {
            return Err(End::Abort);
        }
        if !m.blocks(Dir::ToUpstream) {
            return Ok(());
        }
        tokio::select! {
            r = client.read(&mut buf) => match r {
                Ok(n) if n > 0 => {}
                _ => return Err(End::Closed),
            },
            r = mode.changed() => r.map_err(|_| End::Closed)?,
        }
    }
}

/// Forwards one direction, applying the fault in force to each chunk. `Ok` once the end of
/// stream has been passed on.
async fn direction(
    mut r: ReadHalf<'_>,
    mut w: WriteHalf<'_>,
    dir: Dir,
    shared: &Shared,
) -> Result<(), End> {
    // Chunks wait in a short queue between reading and writing, so that a delay adds latency
    // without limiting throughput; the bound keeps back-pressure on the sender.
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(64);
    let reading = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = r.read(&mut buf).await.map_err(|_| End::Closed)?;
            let mut chunk = buf[..n].to_vec();
            let mut copies = 1;
            let at = match shared.mode() {
                Mode::Reset => return Err(End::Abort),
                Mode::DropProb(p) if n > 0 && shared.roll() < p => return Err(End::Abort),
                Mode::Delay(d) => Instant::now() + d,
                m if n > 0 && m.blocks(dir) => continue,
                Mode::DropBytes(p) if n > 0 && shared.roll() < p => continue,
                Mode::Corrupt(p) if n > 0 && shared.roll() < p => {
                    let i = (shared.roll() * n as f64) as usize;
                    chunk[i.min(n - 1)] ^= 0x5a;
                    Instant::now()
                }
                Mode::Duplicate(p) if n > 0 && shared.roll() < p => {
                    copies = 2;
                    Instant::now()
                }
                Mode::Truncate if n > 0 => {
                    chunk.truncate(n.div_ceil(2));
                    tx.send((Instant::now(), chunk))
                        .await
                        .map_err(|_| End::Closed)?;
                    // The end of stream, right after half a chunk.
                    tx.send((Instant::now(), Vec::new()))
                        .await
                        .map_err(|_| End::Closed)?;
                    return Ok(());
                }
                _ => Instant::now(),
            };
            // An empty chunk carries the end of stream, so that it too comes after a delay.
            for _ in 0..copies {
                tx.send((at, chunk.clone()))
                    .await
                    .map_err(|_| End::Closed)?;
            }
            if n == 0 {
                return Ok(());
            }
        }
    };
    let writing = async move {
        let mut mode = shared.mode.subscribe();
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if chunk.is_empty() {
                // A FIN is a packet too: a cut holds it back until it heals.
                let _ = mode.wait_for(|m| !m.blocks(dir)).await.is_ok();
                w.shutdown().await.map_err(|_| End::Closed)?;
                return Ok(());
            }
            // Chunks still in flight when a cut begins are lost with it.
            if shared.mode().blocks(dir) {
                continue;
            }
            w.write_all(&chunk).await.map_err(|_| End::Closed)?;
            shared.bytes.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            if let Mode::Throttle(rate) = shared.mode() {
                let secs = chunk.len() as f64 / rate as f64;
                tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            }
        }
        // The reader failed (and try_join has already given up on this direction).
        Err(End::Closed)
    };
    tokio::try_join!(reading, writing).map(|_| ())
}
