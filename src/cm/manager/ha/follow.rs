//! The standby's side of the replication link (protocol §9): it connects to its peer over TLS
//! with its manager certificate, says where its store ends (`FOLLOW`), and applies what
//! follows — a snapshot when the logs parted, then every batch in order — acknowledging each
//! only once it is committed. Batches that arrive together are committed together, so a
//! shadow that was away catches up in a few transactions. Anything out of order closes the
//! link, and it starts again from where the store ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;

use super::{ELIGIBLE, Manager, Role};
use crate::cm::codec::{self, Item};
use crate::cm::link::request_line;
use crate::cm::proto::{Reply, Request};
use crate::cm::store::{Position, Snapshot, Write, wire};

/// Follows the peer until this manager becomes active; one follower at a time.
pub async fn run(m: Arc<Manager>) {
    {
        let mut ha = m.ha.lock();
        if ha.following {
            return;
        }
        ha.following = true;
    }
    let mut said = String::new();
    while !m.is_active() {
        let r = once(&m).await;
        if let Err(e) = r {
            // Said once per new reason: a peer that is down would fill the log.
            if e != said {
                tracing::warn!("following {}: {e}", peer(&m));
                said = e.clone();
            }
            let hb = m.heartbeat();
            let mut ha = m.ha.lock();
            if ha.role != Role::Active {
                let cannot = format!("cannot follow {}: {e}", peer(&m));
                // A recent refusal to take over stays first: it says what this standby does.
                ha.why = match &ha.refused {
                    Some((at, refused)) if at.elapsed() < hb * 4 => format!("{refused}; {cannot}"),
                    _ => cannot,
                };
                ha.active.clear();
            }
        }
        tokio::time::sleep(crate::jitter::spread(Duration::from_millis(500))).await;
    }
    m.ha.lock().following = false;
}

fn peer(m: &Manager) -> String {
    m.settings.ha.peer.clone().unwrap_or_default()
}

fn ack_line(seq: u64) -> String {
    format!("ACK|{seq}\n")
}

/// One connection to the peer, until it breaks or this manager becomes active.
async fn once(m: &Arc<Manager>) -> Result<(), String> {
    let addr = peer(m);
    let hb = m.heartbeat();
    let (mut reader, mut w) = super::peer::connect(m, hb * 2).await?;
    let mut at = *m.store.position().borrow();
    let name = m.ha.lock().name.clone();
    let hello = Request::Follow {
        name,
        last_epoch: at.epoch,
        last_seq: at.seq,
    };
    super::send_line(&mut w, &request_line(None, &hello), hb).await?;
    let first = match tokio::time::timeout(hb * 2, reader.next()).await {
        Ok(Ok(Some(Item::Line(l)))) => l,
        Ok(Ok(_)) | Ok(Err(_)) => return Err("the peer closed the link".into()),
        Err(_) => return Err("no answer to FOLLOW".into()),
    };
    let epoch = match Reply::decode_line(&first, false).map(|(_, r)| r) {
        Ok(Reply::Following { epoch, mode }) => {
            // Took over while this connection was being made: an active manager follows no
            // one, and a peer behind this store's epoch was replaced (its store must not
            // overwrite what was acknowledged since). The store checks it again, atomically.
            if m.is_active() {
                return Ok(());
            }
            let ours = m.store.position().borrow().epoch;
            if epoch < ours {
                return Err(format!(
                    "the peer is at epoch {epoch}, behind this store's {ours}: not following it"
                ));
            }
            tracing::info!("following {addr} at epoch {epoch} ({mode})");
            epoch
        }
        Ok(Reply::Error { code, message }) => return Err(format!("{message} ({code})")),
        other => return Err(format!("unexpected answer to FOLLOW: {other:?}")),
    };
    {
        let mut ha = m.ha.lock();
        ha.highest = ha.highest.max(epoch);
        ha.active = addr.clone();
        ha.heard_active = Instant::now();
        ha.why = format!("following the active manager {addr} (epoch {epoch})");
        // A manager that stepped down is a standby again once it follows the active one.
        if ha.role == Role::Fenced {
            ha.role = Role::Standby;
        }
    }
    let silence = hb * m.settings.ha.takeover_after.max(1);
    let mut snapshot: Vec<Write> = Vec::new();
    loop {
        let first = tokio::select! {
            n = tokio::time::timeout(silence, reader.next()) => match n {
                Ok(Ok(Some(Item::Line(l)))) => l,
                Ok(Ok(Some(Item::TooLong))) => return Err("a line from the peer was too long".into()),
                Ok(Ok(None)) | Ok(Err(_)) => return Err("the peer closed the link".into()),
                Err(_) => return Err(format!("nothing from the peer for {silence:?}")),
            },
            _ = m.role_changed.notified() => {
                if m.is_active() { return Ok(()); }
                continue;
            }
        };
        // What else has arrived is handled with it, in one transaction.
        let mut lines = vec![first];
        while lines.len() < 4096 {
            match reader.next().now_or_never() {
                Some(Ok(Some(Item::Line(l)))) => lines.push(l),
                _ => break,
            }
        }
        m.ha.lock().heard_active = Instant::now();
        let mut entries: Vec<(Position, Vec<Write>)> = Vec::new();
        let mut beat_seq = None;
        for l in lines {
            let f = codec::decode(&l, usize::MAX).map_err(|e| format!("from the peer: {e}"))?;
            let h = f.head();
            let num = |i: usize| -> Result<u64, String> {
                h.get(i).and_then(|v| v.parse().ok()).ok_or_else(|| {
                    format!("from the peer: a bad {} line", crate::cm::esc(f.verb()))
                })
            };
            match f.verb() {
                "APPLY" => {
                    let pos = Position {
                        epoch: num(1)?,
                        seq: num(2)?,
                    };
                    let expected = entries.last().map_or(at.seq, |e| e.0.seq) + 1;
                    if pos.seq != expected {
                        return Err(format!(
                            "entry {} arrived where {expected} was due",
                            pos.seq
                        ));
                    }
                    let writes =
                        wire::decode_records(&f.records[1..]).map_err(|e| e.to_string())?;
                    entries.push((pos, writes));
                }
                "SNAP" => {
                    let writes =
                        wire::decode_records(&f.records[1..]).map_err(|e| e.to_string())?;
                    snapshot.extend(writes);
                    if h.get(3).map(String::as_str) == Some("end") {
                        let snap = Snapshot {
                            at: Position {
                                epoch: num(1)?,
                                seq: num(2)?,
                            },
                            writes: std::mem::take(&mut snapshot),
                        };
                        at = install(m, epoch, snap).await?;
                        super::send_line(&mut w, &ack_line(at.seq), hb).await?;
                    }
                }
                "BEAT" => beat_seq = Some(num(2)?),
                other => {
                    return Err(format!(
                        "from the peer: unknown line '{}'",
                        crate::cm::esc(&other.chars().take(16).collect::<String>())
                    ));
                }
            }
        }
        if let Some(last) = entries.last().map(|e| e.0) {
            let for_memory: Vec<Write> = entries.iter().flat_map(|e| e.1.clone()).collect();
            m.store
                .run(move |s| s.apply_entries(epoch, &entries))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            m.apply_to_memory(&for_memory);
            at = last;
            {
                let mut ha = m.ha.lock();
                ha.epoch = ha.epoch.max(last.epoch);
            }
            super::send_line(&mut w, &ack_line(at.seq), hb).await?;
        } else if beat_seq.is_some() {
            // A heartbeat is answered too: the active manager hears its shadow is there.
            super::send_line(&mut w, &ack_line(at.seq), hb).await?;
        }
        // Caught up with the active manager: this store may take over from now on.
        if beat_seq.is_some_and(|s| s <= at.seq) && !m.ha.lock().eligible {
            m.store
                .run(|s| s.set_meta(ELIGIBLE, "1"))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            m.ha.lock().eligible = true;
            tracing::info!("in sync with {addr} at {at}: may take over from now on");
        }
    }
}

/// Replaces the store with a snapshot, and what this manager shows with it.
async fn install(m: &Arc<Manager>, leader: u64, snap: Snapshot) -> Result<Position, String> {
    let at = snap.at;
    let (st, members) = m
        .store
        .run(move |s| -> Result<_, crate::cm::store::StoreError> {
            s.install(leader, &snap)?;
            let (st, _) = super::super::load_state(s)?;
            Ok((st, s.nodes()?))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    {
        let mut cur = m.st.lock();
        cur.jobs = st.jobs;
        cur.tasks = st.tasks;
        cur.next_job = st.next_job;
    }
    let mut ha = m.ha.lock();
    ha.members = members.into_iter().collect();
    ha.epoch = ha.epoch.max(at.epoch);
    tracing::info!("store replaced by the peer's snapshot at {at}");
    Ok(at)
}
