//! Writes the seeds of the fuzz targets whose inputs are files Gantry itself writes: a history
//! file's image (from a real gmond document in tests/fixtures, three hours of it) and a saved
//! `events.json` (syslog lines learned by the events store). Run from fuzz/:
//! `cargo run --release --bin seeds`; the seeds are committed under corpus/.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use gantry::events::miner::MinerConfig;
use gantry::events::store::{Caps, EventStore};
use gantry::ganglia::{Interner, Limits, parse_bytes};
use gantry::history::{HistoryStore, HostSample};

fn main() -> std::io::Result<()> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let xml =
        std::fs::read(here.join("../tests/fixtures/ganglia/gmetad-8652-clusterA-a-node01.xml"))?;
    let mut interner = Interner::default();
    let parsed = parse_bytes(&xml, &mut interner, Limits::default())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let history = HistoryStore::new();
    let now = 1_800_000_000;
    for m in (0..180u64).rev() {
        for c in parsed.document.clusters() {
            let hosts: Vec<HostSample<'_>> = c
                .hosts
                .iter()
                .map(|h| HostSample {
                    host: &h.name,
                    up: true,
                    metrics: &h.metrics,
                })
                .collect();
            history.record_cluster(&c.name, now - m * 60, hosts);
        }
        history.record_counts(
            "queue",
            now - m * 60,
            [("alpha", "pending", m as f64), ("alpha", "running", 3.0)],
        );
    }
    let dir = here.join("corpus/history_file");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("three-hours"), history.image())?;
    let small = HistoryStore::new();
    small.record_counts("queue", now, [("c", "pending", 1.0)]);
    std::fs::write(dir.join("one-count"), small.image())?;

    let mut store = EventStore::new(MinerConfig::default(), Caps::default());
    for (i, line) in [
        "<86>Dec  3 07:00:01 n1 sshd[411]: Accepted publickey for alice from 10.0.0.7 port 52311",
        "<86>Dec  3 07:00:02 n2 sshd[412]: Accepted publickey for bob from 10.0.0.8 port 52312",
        "<11>1 2026-12-03T07:00:03Z n3 kernel - - - EDAC MC0: 1 CE memory read error on CPU_SrcID#0",
        "<11>1 2026-12-03T07:00:04Z n4 kernel - - - EDAC MC0: 3 CE memory read error on CPU_SrcID#1",
        "not syslog at all",
    ]
    .iter()
    .enumerate()
    {
        let r = gantry::events::syslog::parse(
            line.as_bytes(),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            2026,
        );
        store.add(&r, now + i as u64);
    }
    let json = serde_json::to_vec(&store.saved()).map_err(std::io::Error::other)?;
    let dir = here.join("corpus/syslog_messages");
    std::fs::create_dir_all(&dir)?;
    let mut seed = vec![2u8];
    seed.extend_from_slice(&json);
    std::fs::write(dir.join("saved-events"), seed)?;
    Ok(())
}
