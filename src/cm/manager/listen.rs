//! Where connections come in: TLS on the network (plain TCP only on loopback, and only when
//! configured), a Unix socket for local users, and in-process agents. Every connection is
//! counted, in total and per source, and one that has not logged in (or registered as an
//! agent) by the deadline is closed — so silent connections cannot use up the manager's
//! descriptors. Writes have a deadline too: a peer that stops reading is dropped, not buffered.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{Manager, agents, client};
use crate::cm::codec::{Item, MAX_FIELD, MAX_REQUEST_LINE};
use crate::cm::link::{LineReader, reply_line};
use crate::cm::proto::{Reply, Request};
use crate::cm::users::Role;

/// Who is at the other end, as far as the transport can tell.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    /// `ip:port`, `unix:USER` or `local`.
    pub addr: String,
    /// The client certificate it presented, verified against the cluster CA.
    pub cert: Option<CertificateDer<'static>>,
    /// An agent inside this process or a trusted local one (root or the manager's own user on
    /// the Unix socket).
    pub local_agent: bool,
    /// Logged in by the transport (a Unix socket's peer credentials).
    pub preauth: Option<(String, Role)>,
}

/// Caps on connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections at once, in all.
    pub total: usize,
    /// Connections at once from one source address.
    pub per_source: usize,
    /// Seconds a connection may take to log in (or register as an agent).
    pub login_deadline: Duration,
    /// Seconds a reply may take to be written before the peer is dropped.
    pub write_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            total: 4096,
            per_source: 64,
            login_deadline: Duration::from_secs(10),
            write_deadline: Duration::from_secs(30),
        }
    }
}

/// Counts of open connections, and per source the ones that have not proved who they are yet,
/// oldest first. A new connection over a source's cap pushes out that source's oldest waiting
/// one rather than being refused: holding connections open gains a flood nothing, and a real
/// peer's handshake, which takes a millisecond, gets through.
#[derive(Debug, Default)]
pub struct Counts {
    inner: Mutex<CountsInner>,
    refused: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Default)]
struct CountsInner {
    total: usize,
    waiting: HashMap<String, std::collections::VecDeque<(u64, Arc<tokio::sync::Notify>)>>,
    next: u64,
}

/// One counted connection; uncounted when dropped.
pub struct Slot {
    counts: Arc<Counts>,
    source: String,
    id: u64,
    evict: Arc<tokio::sync::Notify>,
    proved: bool,
}

impl Slot {
    /// The peer logged in (or registered as a node): it no longer counts against its source.
    pub fn proved(&mut self) {
        if !self.proved {
            self.proved = true;
            self.counts.unwait(&self.source, self.id);
        }
    }

    /// Resolves when a newer connection from the same source pushed this one out.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.proved {
            self.counts.unwait(&self.source, self.id);
        }
        let mut g = self.counts.inner.lock();
        g.total = g.total.saturating_sub(1);
    }
}

impl Counts {
    fn unwait(&self, source: &str, id: u64) {
        let mut g = self.inner.lock();
        if let Some(q) = g.waiting.get_mut(source) {
            q.retain(|(i, _)| *i != id);
            if q.is_empty() {
                g.waiting.remove(source);
            }
        }
    }

    /// A slot for a connection from `source`, or why not (only when the manager is full).
    pub fn take(self: &Arc<Self>, source: &str, l: &Limits) -> Result<Slot, &'static str> {
        let mut g = self.inner.lock();
        if g.total >= l.total {
            let n = self
                .refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // Logged now and then, not once per connection of a flood.
            if n.is_power_of_two() {
                tracing::warn!(
                    "connection from {source} refused: the manager has as many connections as it takes ({} so far)",
                    n + 1
                );
            }
            return Err("the manager has as many connections as it takes");
        }
        g.next += 1;
        let id = g.next;
        let evict = Arc::new(tokio::sync::Notify::new());
        let q = g.waiting.entry(source.to_string()).or_default();
        if q.len() >= l.per_source
            && let Some((_, oldest)) = q.pop_front()
        {
            oldest.notify_one();
        }
        q.push_back((id, evict.clone()));
        g.total += 1;
        Ok(Slot {
            counts: self.clone(),
            source: source.to_string(),
            id,
            evict,
            proved: false,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.inner.lock().total
    }
}

fn source_of(addr: &std::net::SocketAddr) -> String {
    // Every loopback address is this machine: one source, not sixteen million.
    if addr.ip().is_loopback()
        || matches!(addr.ip(), std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v| v.is_loopback()))
    {
        return "loopback".into();
    }
    crate::cm::users::source_key(&addr.ip().to_string())
}

impl Manager {
    /// Serves TCP connections until `stop` resolves: TLS with `tls`, plain text without (the
    /// caller allows that only on loopback).
    pub async fn serve(
        self: &Arc<Self>,
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        self.start_background();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                a = listener.accept() => match a {
                    Ok((sock, peer)) => {
                        let slot = match self.counts.take(&source_of(&peer), &self.settings.limits) {
                            Ok(s) => s,
                            Err(why) => {
                                // Said in words where the link is plain; a TLS peer sees the close.
                                if acceptor.is_none() {
                                    let _ = sock.try_write(reply_line(None, &Reply::error(503, why)).as_bytes());
                                }
                                continue;
                            }
                        };
                        let m = self.clone();
                        let _ = sock.set_nodelay(true);
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            let p = Peer { addr: peer.to_string(), ..Peer::default() };
                            match acceptor {
                                None => {
                                    let (r, w) = sock.into_split();
                                    m.connection(r, w, p, slot).await;
                                }
                                Some(acc) => {
                                    // The handshake is part of the time to log in.
                                    let hs = tokio::select! {
                                        hs = tokio::time::timeout(m.settings.limits.login_deadline, acc.accept(sock)) => hs,
                                        // Pushed out by newer connections from its source.
                                        _ = slot.evicted() => return,
                                    };
                                    let Ok(Ok(tls)) = hs else {
                                        tracing::debug!("TLS handshake with {peer} failed or timed out");
                                        return;
                                    };
                                    let cert = tls.get_ref().1.peer_certificates()
                                        .and_then(|c| c.first()).map(|c| c.clone().into_owned());
                                    let (r, w) = tokio::io::split(tls);
                                    m.connection(r, w, Peer { cert, ..p }, slot).await;
                                }
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!("accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = &mut stop => break,
            }
        }
        Ok(())
    }

    /// Serves local users on a Unix socket: the kernel says who is connecting (peer
    /// credentials), so they are logged in as themselves without a password. Root and the
    /// manager's own user may also register agents here.
    pub async fn serve_unix(self: &Arc<Self>, path: &std::path::Path) -> anyhow::Result<()> {
        let _ = std::fs::remove_file(path);
        let listener = crate::listen::unix(path)?;
        {
            use std::os::unix::fs::PermissionsExt;
            // Anyone who can reach it may connect: the kernel says who they are.
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666));
        }
        let me = crate::cm::account::euid();
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let cred = sock.peer_cred().ok();
            let uid = cred.map(|c| c.uid());
            let Ok(slot) = self.counts.take(
                &format!("unix:{}", uid.unwrap_or(u32::MAX)),
                &self.settings.limits,
            ) else {
                continue;
            };
            let m = self.clone();
            tokio::spawn(async move {
                let who = uid.and_then(crate::cm::account::name_of);
                let Some(user) = who else {
                    tracing::warn!("unix connection from an unknown uid refused");
                    return;
                };
                // The Unix user is the manager user of the same name only where the two are
                // one person: not when [cm] accounts gives that manager user another account.
                if m.settings.accounts.account_of(&user) != user {
                    let (_, mut w) = sock.into_split();
                    let e = Reply::error(
                        403,
                        format!(
                            "the manager user '{user}' runs as another Unix account; log in with a password"
                        ),
                    );
                    let _ = w.write_all(reply_line(None, &e).as_bytes()).await;
                    return;
                }
                let role = m.users().role(&user);
                let peer = Peer {
                    addr: format!("unix:{user}"),
                    cert: None,
                    local_agent: uid == Some(0) || uid == Some(me),
                    preauth: Some((user, role)),
                };
                let (r, w) = sock.into_split();
                m.connection(r, w, peer, slot).await;
            });
        }
    }

    /// An agent inside this process: one end of an in-memory link, the manager serving the
    /// other.
    pub fn attach_local(self: &Arc<Self>) -> Option<tokio::io::DuplexStream> {
        let slot = self.counts.take("local", &self.settings.limits).ok()?;
        let (ours, theirs) = tokio::io::duplex(256 * 1024);
        let m = self.clone();
        tokio::spawn(async move {
            let (r, w) = tokio::io::split(ours);
            let peer = Peer {
                addr: "local".into(),
                local_agent: true,
                ..Peer::default()
            };
            m.connection(r, w, peer, slot).await;
        });
        Some(theirs)
    }

    async fn connection<R, W>(self: Arc<Self>, r: R, mut w: W, peer: Peer, mut slot: Slot)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let conn = self
            .conns
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let limits = self.settings.limits;
        let mut reader = LineReader::new(r, MAX_REQUEST_LINE);
        let mut client = client::Client::new(peer.addr.clone());
        client.user = peer.preauth.clone();
        // Not logged in: closed after this long without a request (a silent connection costs a
        // descriptor and nothing else for long).
        let mut deadline = tokio::time::Instant::now() + limits.login_deadline;
        let write = async |w: &mut W, text: &[u8]| {
            matches!(
                tokio::time::timeout(limits.write_deadline, async {
                    // Flushed: over TLS, written bytes may wait in the session's buffer.
                    w.write_all(text).await?;
                    w.flush().await
                })
                .await,
                Ok(Ok(()))
            )
        };
        loop {
            // Until it logs in, a connection lives only until the deadline, or until newer
            // connections from its source push it out.
            let next = if client.user.is_none() {
                tokio::select! {
                    n = tokio::time::timeout_at(deadline, reader.next()) => match n {
                        Ok(n) => n,
                        Err(_) => {
                            let e = Reply::error(408, "no request and no login in time; closing");
                            let _ = write(&mut w, reply_line(None, &e).as_bytes()).await;
                            return;
                        }
                    },
                    _ = slot.evicted() => {
                        let e = Reply::error(503, "too many connections from this address; the oldest waiting is closed");
                        let _ = write(&mut w, reply_line(None, &e).as_bytes()).await;
                        return;
                    }
                }
            } else {
                slot.proved();
                reader.next().await
            };
            let line = match next {
                Ok(Some(Item::Line(l))) => l,
                Ok(Some(Item::TooLong)) => {
                    let e =
                        Reply::error(413, format!("request longer than {MAX_REQUEST_LINE} bytes"));
                    if !write(&mut w, reply_line(None, &e).as_bytes()).await {
                        return;
                    }
                    continue;
                }
                Ok(None) | Err(_) => return,
            };
            let (tag, req) = match decode_request(&line) {
                Ok(x) => {
                    deadline = tokio::time::Instant::now() + limits.login_deadline;
                    x
                }
                Err((tag, reply)) => {
                    if !write(&mut w, reply_line(tag, &reply).as_bytes()).await {
                        return;
                    }
                    continue;
                }
            };
            if let Request::Agent { .. } = req {
                if client.user.is_some() && !peer.local_agent {
                    let e = Reply::error(400, "a logged-in connection cannot become an agent");
                    let _ = write(&mut w, reply_line(tag, &e).as_bytes()).await;
                    continue;
                }
                // Counted against its source until the agent is accepted, like any peer.
                // Boxed, like the request handler below: every connection's future is as big as
                // its biggest state, and ten thousand idle ones should not pay for these.
                Box::pin(agents::run(
                    self, conn, &peer, req, tag, reader, w, &mut slot,
                ))
                .await;
                return;
            }
            if let Request::Handover = req {
                slot.proved();
                super::ha::serve_handover(self, &peer, tag, reader, w).await;
                return;
            }
            if let Request::Follow { .. } = req {
                slot.proved();
                Box::pin(super::ha::feed::run(self, &peer, req, tag, reader, w)).await;
                return;
            }
            let bye = matches!(req, Request::Bye);
            let text = match &req {
                Request::Req { user } => client.req_line(&self, user, tag),
                _ => reply_line(tag, &Box::pin(client.handle(&self, req)).await),
            };
            if !write(&mut w, text.as_bytes()).await || bye {
                return;
            }
        }
    }
}

/// Decodes a request line; a bad one becomes the error reply to send.
fn decode_request(line: &[u8]) -> Result<(Option<u64>, Request), (Option<u64>, Reply)> {
    use crate::cm::codec::{CodecError, decode};
    let f = decode(line, MAX_FIELD).map_err(|e| {
        let code = if matches!(e, CodecError::TooLong { .. }) {
            413
        } else {
            400
        };
        (None, Reply::error(code, e.to_string()))
    })?;
    Request::from_frame(&f)
        .map(|r| (f.tag, r))
        .map_err(|e| (f.tag, Reply::error(400, e.0)))
}
