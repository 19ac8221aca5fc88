//! `gantry aggregator`'s network face: gmetad's xml port (the full dump on connect) and its
//! interactive port (one query line, one answer), so ganglia-web, gstat or a parent gmetad
//! can read Gantry as they read gmetad. Bound to 127.0.0.1 unless configured otherwise.

mod history_json;
mod query;
mod render;
mod status;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::aggregator::{Snapshot, now_epoch};
use crate::history::HistoryStore;
pub use query::{MAX_REQUEST, Query, parse_request};
pub use render::{Out, render};

/// How long a client may take to send its request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one chunk may take to go out before the client is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The running listeners.
pub struct Servers {
    /// Where the xml port listens, if enabled.
    pub xml: Option<SocketAddr>,
    /// Where the interactive port listens, if enabled.
    pub interactive: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Shared by every connection.
#[derive(Clone)]
struct Shared {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    history: Option<Arc<HistoryStore>>,
    started: Instant,
}

/// Binds the listeners (either may be `None` to disable it) and serves until dropped.
pub async fn serve(
    xml: Option<&str>,
    interactive: Option<&str>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    history: Option<Arc<HistoryStore>>,
) -> std::io::Result<Servers> {
    let shared = Shared {
        snapshots,
        history,
        started: Instant::now(),
    };
    let mut servers = Servers {
        xml: None,
        interactive: None,
        tasks: Vec::new(),
    };
    if let Some(addr) = xml {
        let l = crate::listen::tcp(addr).await?;
        servers.xml = Some(l.local_addr()?);
        servers
            .tasks
            .push(tokio::spawn(accept_loop(l, shared.clone(), false)));
    }
    if let Some(addr) = interactive {
        let l = crate::listen::tcp(addr).await?;
        servers.interactive = Some(l.local_addr()?);
        servers
            .tasks
            .push(tokio::spawn(accept_loop(l, shared.clone(), true)));
    }
    Ok(servers)
}

async fn accept_loop(listener: TcpListener, shared: Shared, interactive: bool) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let r = if interactive {
                        handle_interactive(stream, &shared).await
                    } else {
                        answer(stream, &shared, Query::root(), false).await
                    };
                    if let Err(e) = r {
                        tracing::debug!(%peer, "client connection ended: {e}");
                    }
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

impl Query {
    /// `/`, the full dump.
    pub fn root() -> Self {
        Self {
            path: Vec::new(),
            summary: false,
            http: false,
            status: false,
            history: None,
            metric: None,
        }
    }
}

async fn read_request_line(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut line = Vec::with_capacity(128);
    let mut byte = [0u8; 512];
    let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.read(&mut byte)).await {
            Ok(r) => r?,
            Err(_) => return Ok(None),
        };
        if n == 0 {
            break;
        }
        line.extend_from_slice(&byte[..n]);
        if let Some(end) = line.iter().position(|b| *b == b'\n' || *b == b'\r') {
            line.truncate(end);
            break;
        }
        if line.len() > MAX_REQUEST {
            return Ok(None);
        }
    }
    Ok(String::from_utf8(line).ok().filter(|s| !s.is_empty()))
}

async fn handle_interactive(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let Some(line) = read_request_line(&mut stream).await? else {
        return Ok(());
    };
    let Some(q) = parse_request(&line) else {
        tracing::debug!("malformed request {line:?}; closed without an answer, as gmetad does");
        return Ok(());
    };
    if q.history.is_some() {
        let snap = shared.snapshots.borrow().clone();
        let (_, body) =
            history_json::answer(&q, shared.history.as_deref(), &snap.grid_name, now_epoch());
        return write_simple(&mut stream, "application/json", body.as_bytes()).await;
    }
    if q.status {
        let snap = shared.snapshots.borrow().clone();
        let body = status::status_json(&snap, shared.started.elapsed());
        return write_simple(&mut stream, "application/json", body.as_bytes()).await;
    }
    answer(stream, shared, q, true).await
}

/// HTTP headers for an answer.
fn http_headers(content_type: &str) -> String {
    format!(
        "HTTP/1.0 200 OK\r\nServer: gantry/{} (gmetad/3.7.2 compatible)\r\nAccess-Control-Allow-Origin: *\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
}

async fn write_simple(
    stream: &mut TcpStream,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let mut all = http_headers(content_type).into_bytes();
    all.extend_from_slice(body);
    write_chunk(stream, &all).await?;
    stream.shutdown().await
}

async fn write_chunk(stream: &mut TcpStream, chunk: &[u8]) -> std::io::Result<()> {
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(chunk)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "client stopped reading",
        )),
    }
}

/// Renders the answer on the blocking pool and streams it out chunk by chunk; a client that
/// goes away stops the rendering.
async fn answer(
    mut stream: TcpStream,
    shared: &Shared,
    q: Query,
    interactive: bool,
) -> std::io::Result<()> {
    let snap = shared.snapshots.borrow().clone();
    if interactive && q.http {
        write_chunk(&mut stream, http_headers("application/xml").as_bytes()).await?;
    }
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(2);
    let renderer = tokio::task::spawn_blocking(move || {
        let mut emit = |chunk: Vec<u8>| tx.blocking_send(chunk).is_ok();
        let mut out = Out::new(&mut emit);
        render(&snap, &q, now_epoch(), &mut out);
    });
    while let Some(chunk) = rx.recv().await {
        if let Err(e) = write_chunk(&mut stream, &chunk).await {
            drop(rx);
            let _ = renderer.await;
            return Err(e);
        }
    }
    let _ = renderer.await;
    stream.shutdown().await
}
