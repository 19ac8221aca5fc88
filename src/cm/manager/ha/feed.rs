//! The active manager's side of the replication link (protocol §9): a peer that proves with
//! its certificate that it is a manager of the cluster says where its store ends; it is sent
//! the log from there (or a snapshot, when the logs parted or the log no longer reaches back),
//! then every batch as it is committed, and a heartbeat between. Its acknowledgements are what
//! commits wait for once it is in sync.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast::error::RecvError;

use super::{Manager, Role, Shadow};
use crate::cm::codec::{self, Item};
use crate::cm::link::{LineReader, reply_line};
use crate::cm::manager::listen::Peer;
use crate::cm::manager::now;
use crate::cm::proto::{Reply, Request};
use crate::cm::store::Position;
use crate::cm::store::log::Entry;

/// Writes per snapshot line (well under a reply line's 4 MiB for ordinary jobs).
const SNAP_CHUNK: usize = 500;

/// Serves a peer whose first request was `FOLLOW`.
pub async fn run<R, W>(
    m: Arc<Manager>,
    peer: &Peer,
    hello: Request,
    tag: Option<u64>,
    mut reader: LineReader<R>,
    mut w: W,
) where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let Request::Follow {
        name,
        last_epoch,
        last_seq,
    } = hello
    else {
        return;
    };
    let hb = m.heartbeat();
    let a_manager = peer
        .cert
        .as_ref()
        .is_some_and(|c| crate::cm::tls::names_node(c, crate::cm::tls::MANAGER_NAME));
    let ahead = last_epoch > m.ha.lock().epoch;
    let refuse = if !a_manager {
        Some(Reply::error(
            403,
            "only a manager of this cluster may follow its store: connect with a manager certificate (gantry cm tls manager)",
        ))
    } else if !m.is_active() {
        let s = m.ha_status();
        Some(Reply::error(
            409,
            format!(
                "this manager is {} (epoch {}), not active{}",
                s.role,
                s.epoch,
                if s.active.is_empty() {
                    String::new()
                } else {
                    format!("; the active manager is {}", s.active)
                }
            ),
        ))
    } else if ahead {
        // The follower knows a newer epoch: this manager was replaced while it was away (or
        // stopped), and must lead no one. Its peer is asked, and it steps down.
        m.step_down(last_epoch, &format!("the peer {}", crate::cm::esc(&name)));
        Some(Reply::error(
            409,
            format!(
                "the follower is at epoch {last_epoch}, newer than this manager's {}",
                m.ha.lock().epoch
            ),
        ))
    } else {
        None
    };
    let who = crate::cm::esc(&name).to_string();
    if let Some(r) = refuse {
        tracing::warn!("FOLLOW from {who} ({}) refused: {r:?}", peer.addr);
        let _ = w.write_all(reply_line(tag, &r).as_bytes()).await;
        return;
    }
    // Subscribed before the backlog is read, so nothing committed meanwhile is missed.
    let mut live = m.store.subscribe();
    let from = Position {
        epoch: last_epoch,
        seq: last_seq,
    };
    let same = m.store.run(move |s| s.epoch_at(from.seq)).await;
    let here = *m.store.position().borrow();
    let log = matches!(same, Ok(Ok(Some(e))) if e == from.epoch) && from.seq <= here.seq;
    let epoch = m.ha.lock().epoch;
    let answer = Reply::Following {
        epoch,
        mode: if log { "log" } else { "snapshot" }.into(),
    };
    let gen_ = {
        let mut ha = m.ha.lock();
        ha.feed += 1;
        ha.shadow = Shadow::CatchingUp(if log { from.seq } else { 0 });
        ha.feed
    };
    tracing::info!(
        "shadow {who} follows from {from}: {}",
        if log { "the log" } else { "a snapshot" }
    );
    let r: Result<(), String> = async {
        super::send_line(&mut w, &reply_line(tag, &answer), hb).await?;
        let mut sent = if log {
            from.seq
        } else {
            snapshot(&m, &mut w).await?
        };
        sent = backlog(&m, &mut w, sent).await?;
        // From here on the shadow is sent every batch as it is committed.
        let live_from = sent;
        let mut last_ack = tokio::time::Instant::now();
        let mut beat = tokio::time::interval(hb / 2);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                e = live.recv() => match e {
                    Ok(e) if e.at.seq <= sent => {}
                    Ok(e) if e.at.seq == sent + 1 => {
                        super::send_line(&mut w, &apply_line(&e), hb).await?;
                        sent = e.at.seq;
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => sent = backlog(&m, &mut w, sent).await?,
                    Err(RecvError::Closed) => return Err("the store closed".to_string()),
                },
                l = reader.next() => match l {
                    Ok(Some(Item::Line(l))) => {
                        let acked = ack(&l)?;
                        last_ack = tokio::time::Instant::now();
                        let mut ha = m.ha.lock();
                        if ha.feed == gen_ && ha.role == Role::Active {
                            ha.shadow = if acked >= live_from {
                                if !matches!(ha.shadow, Shadow::InSync(_)) {
                                    tracing::info!("shadow {who} is in sync at {acked}");
                                }
                                Shadow::InSync(acked)
                            } else {
                                Shadow::CatchingUp(acked)
                            };
                        }
                        drop(ha);
                        m.shadow_acked.send_replace(acked);
                    }
                    _ => return Err("the shadow closed the link".to_string()),
                },
                _ = beat.tick() => {
                    // A shadow that answers nothing, not even heartbeats, is away: cut off, or
                    // hung.
                    if last_ack.elapsed() > hb * 2 {
                        return Err(format!("nothing from the shadow for {:?}", hb * 2));
                    }
                    let at = *m.store.position().borrow();
                    super::send_line(&mut w, &format!("BEAT|{}|{}\n", at.epoch, at.seq), hb).await?;
                }
                _ = m.shadow_gone.notified() => return Err("the shadow was too slow to acknowledge".to_string()),
                _ = m.role_changed.notified() => {
                    if !m.is_active() {
                        return Err("this manager is no longer active".to_string());
                    }
                }
            }
        }
    }
    .await;
    let e: String = r.err().unwrap_or_default();
    let mut ha = m.ha.lock();
    if ha.feed == gen_ && ha.role == Role::Active {
        ha.shadow = Shadow::Away(now());
        tracing::warn!("shadow {who}: {e}; running without a shadow");
    }
    drop(ha);
    // Commits waiting for this shadow look again: they go on without it.
    m.shadow_acked.send_modify(|_| {});
}

fn apply_line(e: &Entry) -> String {
    let mut s = format!("APPLY|{}|{}", e.at.epoch, e.at.seq);
    if !e.text.is_empty() {
        s.push('&');
        s.push_str(&e.text);
    }
    s.push('\n');
    s
}

fn ack(line: &[u8]) -> Result<u64, String> {
    let f = codec::decode(line, 64).map_err(|e| format!("from the shadow: {e}"))?;
    match (f.verb(), f.head().get(1).and_then(|v| v.parse().ok())) {
        ("ACK", Some(seq)) => Ok(seq),
        _ => Err("from the shadow: not an ACK".into()),
    }
}

/// Sends the log after `sent`, up to where it ends now; where the log stopped.
async fn backlog<W: AsyncWrite + Unpin>(
    m: &Manager,
    w: &mut W,
    mut sent: u64,
) -> Result<u64, String> {
    let hb = m.heartbeat();
    loop {
        let after = sent;
        let chunk = m
            .store
            .run(move |s| s.entries_after(after, 2000))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let Some(chunk) = chunk else {
            // The log no longer reaches back: the shadow starts over from a snapshot.
            sent = snapshot(m, w).await?;
            continue;
        };
        if chunk.is_empty() {
            return Ok(sent);
        }
        let mut text = String::new();
        for e in &chunk {
            text.push_str(&apply_line(e));
            sent = e.at.seq;
        }
        super::send_line(w, &text, hb).await?;
    }
}

/// Sends the whole store; the position it stands for.
async fn snapshot<W: AsyncWrite + Unpin>(m: &Manager, w: &mut W) -> Result<u64, String> {
    let snap = m
        .store
        .run(|s| s.snapshot())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let hb = m.heartbeat();
    let chunks: Vec<_> = snap.writes.chunks(SNAP_CHUNK).collect();
    let n = chunks.len().max(1);
    for i in 0..n {
        let records = chunks.get(i).copied().unwrap_or(&[]);
        let mut s = format!(
            "SNAP|{}|{}|{}",
            snap.at.epoch,
            snap.at.seq,
            if i + 1 == n { "end" } else { "more" }
        );
        if !records.is_empty() {
            s.push('&');
            s.push_str(&crate::cm::store::wire::encode_batch(records));
        }
        s.push('\n');
        super::send_line(w, &s, hb).await?;
    }
    Ok(snap.at.seq)
}
