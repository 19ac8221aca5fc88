//! Links to the other manager of the pair: TLS with this manager's certificate (which proves
//! it is a manager of the cluster), the peer's checked against the cluster CA and its address.

use std::time::Duration;

use tokio::io::{AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::Manager;
use crate::cm::codec::{Item, MAX_REPLY_LINE};
use crate::cm::link::{LineReader, request_line};
use crate::cm::proto::{Reply, Request};

/// Both halves of a link to the peer.
pub type Link = (
    LineReader<ReadHalf<TlsStream<TcpStream>>>,
    WriteHalf<TlsStream<TcpStream>>,
);

/// Connects to the peer, within `limit` for the connection and again for the handshake.
pub async fn connect(m: &Manager, limit: Duration) -> Result<Link, String> {
    let addr = m
        .settings
        .ha
        .peer
        .clone()
        .ok_or("no peer manager is configured")?;
    let dir = m
        .settings
        .tls_dir
        .clone()
        .ok_or("a manager with a peer needs its TLS directory (the peer link is TLS only)")?;
    let cfg = crate::cm::tls::peer_config(&dir).map_err(|e| e.to_string())?;
    let tcp = tokio::time::timeout(limit, TcpStream::connect(&addr))
        .await
        .map_err(|_| format!("connecting to {addr} timed out"))?
        .map_err(|e| format!("{addr}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let name = crate::cm::tls::server_name(&addr).map_err(|e| e.to_string())?;
    let tls = tokio::time::timeout(
        limit,
        tokio_rustls::TlsConnector::from(cfg).connect(name, tcp),
    )
    .await
    .map_err(|_| format!("TLS with {addr} timed out"))?
    .map_err(|e| format!("TLS with {addr}: {e}"))?;
    let (r, w) = tokio::io::split(tls);
    Ok((LineReader::new(r, MAX_REPLY_LINE), w))
}

/// One request to the peer and its answer, within `limit`.
pub async fn call(m: &Manager, req: &Request, limit: Duration) -> Result<Reply, String> {
    let (mut r, mut w) = connect(m, limit).await?;
    let exchange = async {
        w.write_all(request_line(None, req).as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        w.flush().await.map_err(|e| e.to_string())?;
        match r.next().await.map_err(|e| e.to_string())? {
            Some(Item::Line(l)) => Reply::decode_line(&l, false)
                .map(|(_, r)| r)
                .map_err(|e| format!("bad answer: {e}")),
            _ => Err("the peer closed the link".to_string()),
        }
    };
    tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| format!("no answer to {} within {limit:?}", req.verb()))?
}
