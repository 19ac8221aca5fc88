//! Fuzz target: syslog as the events receiver takes it (src/events/{framing,syslog,miner,
//! store,file}.rs) — from any sender on the network, so from anyone.
//!
//! The first byte chooses: a TCP stream (RFC 6587 frames, cut into reads), datagrams
//! (newline-separated here), or a saved `events.json` as a restart reads it. Checked: nothing
//! panics; no frame is longer than the framer's limit; a kept message's text and host are
//! free of control characters and within their caps; the store never holds more templates
//! than its cap; what the store saves restores, and saves again to the same templates.

use std::net::{IpAddr, Ipv4Addr};

use gantry::events::framing::{Frame, Framer};
use gantry::events::miner::MinerConfig;
use gantry::events::store::{Caps, EventStore, Saved};
use gantry::events::syslog::{self, MAX_APP, MAX_HOST};

const LIMIT: usize = 2048;
const CAPS: Caps = Caps {
    max_templates: 16,
    max_hosts: 4,
};

fn take(store: &mut EventStore, bytes: &[u8], now: u64) {
    let r = syslog::parse(bytes, IpAddr::V4(Ipv4Addr::LOCALHOST), 2026);
    assert!(
        !r.text.chars().any(char::is_control),
        "a control character kept: {:?}",
        r.text
    );
    assert!(!r.host.chars().any(char::is_control), "{:?}", r.host);
    assert!(
        r.host.len() <= MAX_HOST.max(64),
        "{} bytes of host",
        r.host.len()
    );
    assert!(
        r.app.len() <= MAX_APP * 4,
        "{} bytes of program",
        r.app.len()
    );
    store.add(&r, now);
    assert!(
        store.len() <= CAPS.max_templates,
        "{} templates",
        store.len()
    );
}

fn round_trip(store: &EventStore) {
    let saved = store.saved();
    let json = serde_json::to_vec(&saved).expect("a store saves");
    let back: Saved = serde_json::from_slice(&json).expect("what was saved reads");
    let again = EventStore::restored(MinerConfig::default(), CAPS, back);
    assert_eq!(again.len(), store.len(), "templates lost on a restart");
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&how, rest)) = data.split_first() else {
            return;
        };
        let mut store = EventStore::new(MinerConfig::default(), CAPS);
        let now = 1_800_000_000;
        match how % 3 {
            0 => {
                let mut framer = Framer::new(LIMIT);
                for piece in rest.chunks(1 + usize::from(how >> 2)) {
                    framer.push(piece);
                    while let Some(f) = framer.next_frame() {
                        if let Frame::Message(m) = f {
                            assert!(m.len() <= LIMIT, "a frame of {} bytes", m.len());
                            take(&mut store, &m, now);
                        }
                    }
                }
                round_trip(&store);
            }
            1 => {
                for (i, d) in rest.split(|b| *b == b'\n').enumerate() {
                    take(&mut store, d, now + i as u64);
                }
                round_trip(&store);
            }
            _ => {
                if let Ok(saved) = serde_json::from_slice::<Saved>(rest) {
                    let restored = EventStore::restored(MinerConfig::default(), CAPS, saved);
                    assert!(restored.len() <= CAPS.max_templates, "{}", restored.len());
                    let mut restored = restored;
                    take(
                        &mut restored,
                        b"<13>Dec  3 07:00:00 n1 sshd[1]: hello 42",
                        now,
                    );
                    round_trip(&restored);
                }
            }
        }
    });
}
