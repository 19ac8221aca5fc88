//! The events store at its cap, and what the console does with it. Run with:
//!
//!     cargo bench --bench events_store
//!
//! 10,000 templates (the default cap), each with its ten samples of ~120 bytes and an hour of
//! per-minute counts: saving `events.json`, loading and restoring it (what a restart costs),
//! taking a whole snapshot, and the console's work per refresh — the events view's rows in
//! each order and the problems view's spikes. Results also land in
//! target/bench/events_store.json.

mod support;

use support::best_of;

use gantry::events::file;
use gantry::events::miner::MinerConfig;
use gantry::events::receiver::EventsSnapshot;
use gantry::events::store::{Caps, EventStore};
use gantry::events::syslog::Received;
use gantry::triage::events::{EventsOrder, event_problems, event_rows};

const TEMPLATES: usize = 10_000;

/// A word of letters only (so not masked) for `n`.
fn word(mut n: usize) -> String {
    let mut w = String::from("w");
    loop {
        w.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            return w;
        }
    }
}

fn main() {
    let now = 1_800_000_000;
    let mut store = EventStore::new(MinerConfig::default(), Caps::default());
    // Each template: three words of its own and five shared ones with numbers, ten messages
    // over the last hour from ten hosts.
    for m in 0..10u64 {
        for i in 0..TEMPLATES {
            let text = format!(
                "{} {} {} request {} from 10.1.{}.{} took {} ms on node{:04}",
                word(3 * i),
                word(3 * i + 1),
                word(3 * i + 2),
                i * 7 + m as usize,
                m,
                i % 250,
                m * 13,
                i % 1000
            );
            let r = Received {
                host: format!("node{:04}", (i + m as usize) % 1000),
                app: "svc".into(),
                severity: Some(if i % 10 == 0 { 3 } else { 6 }),
                facility: Some(3),
                time: None,
                text,
                raw: false,
            };
            store.add(&r, now - 3600 + m * 360);
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.json");
    let (save_s, bytes) = best_of(3, || file::save(&path, &store.saved()).expect("saved"));
    let (load_s, restored) = best_of(3, || {
        let saved = file::load(&path).expect("read").expect("there");
        EventStore::restored(MinerConfig::default(), Caps::default(), saved)
    });
    assert_eq!(restored.len(), store.len());
    let (snap_s, snap) = best_of(5, || EventsSnapshot::of(&store, now));
    let mut rows_s = Vec::new();
    for order in [
        EventsOrder::Recent,
        EventsOrder::Spike,
        EventsOrder::Severity,
        EventsOrder::Latest,
    ] {
        let (s, rows) = best_of(5, || event_rows(&snap, now, order, None));
        assert_eq!(rows.len(), TEMPLATES);
        rows_s.push((order.title(), s));
    }
    let (host_s, _) = best_of(5, || {
        event_rows(&snap, now, EventsOrder::Recent, Some(("node0007", "")))
    });
    let (problems_s, _) = best_of(5, || {
        let mut out = Vec::new();
        event_problems(&snap, now, &mut out);
        out
    });
    println!(
        "{} templates, {} messages",
        store.len(),
        store.counters.messages
    );
    println!(
        "save events.json: {:.0} ms, {:.1} MB",
        save_s * 1e3,
        bytes as f64 / 1e6
    );
    println!("load and restore: {:.0} ms", load_s * 1e3);
    println!("whole snapshot: {:.1} ms", snap_s * 1e3);
    for (o, s) in &rows_s {
        println!("events view rows by {o}: {:.1} ms", s * 1e3);
    }
    println!("one host's rows: {:.1} ms", host_s * 1e3);
    println!("problems (error spikes): {:.1} ms", problems_s * 1e3);
    let v = serde_json::json!({
        "templates": store.len(),
        "save_ms": save_s * 1e3, "file_bytes": bytes, "load_ms": load_s * 1e3,
        "snapshot_ms": snap_s * 1e3,
        "rows_ms": rows_s.iter().map(|(o, s)| serde_json::json!({"order": o, "ms": s * 1e3})).collect::<Vec<_>>(),
        "host_rows_ms": host_s * 1e3, "problems_ms": problems_s * 1e3,
    });
    support::write_results("events_store.json", &format!("{v:#}\n"));
}
