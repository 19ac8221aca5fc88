//! Fuzz target: the history file (src/history/persist.rs) as the console and the aggregator
//! load it at start — a file a crash, a full disk or another program may have left.
//!
//! The input is a file's image. Its last four bytes are a CRC-32 of the rest, which random
//! bytes never match; so each input is read twice, as it is (the checksum refuses almost
//! all) and with its checksum made right (the tables behind it are read). Checked, for any
//! image the loader accepts:
//!
//! - nothing panics, loading, or then using the store as the console does: graphing every
//!   range, recording a new minute into the loaded tables, forgetting old hosts;
//! - what it writes back reads again, to the same size.

use gantry::history::{HistoryStore, Range};

/// The image with its CRC set right (or as it is, when too short to have one).
fn with_checksum(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    if v.len() >= 4 {
        let body = v.len() - 4;
        let crc = crc32fast::hash(&v[..body]);
        v[body..].copy_from_slice(&crc.to_le_bytes());
    }
    v
}

fn exercise(store: &HistoryStore) {
    let _ = store.stats();
    let now = 1_800_000_000;
    for cluster in store.clusters() {
        for range in Range::ALL {
            let scope = format!("cluster:{cluster}");
            let _ = store.summary_series(
                &scope,
                "load_one",
                gantry::history::SummaryValue::Sum,
                range,
                now,
            );
            let _ = store.count_series("queue", &cluster, "pending", range, now);
        }
        for m in store.host_metrics(&cluster, "a") {
            let _ = store.host_series(&cluster, "a", &m, Range::Day, now);
        }
    }
    store.record_counts("queue", now, [("c", "pending", 3.0), ("c", "running", 1.0)]);
    let _ = store.forget(now - 86_400);
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        for image in [data.to_vec(), with_checksum(data)] {
            let Ok(store) = HistoryStore::from_image(&image) else {
                continue;
            };
            let first = store.image();
            let again = HistoryStore::from_image(&first)
                .unwrap_or_else(|(at, e)| panic!("what was written does not read: {e} at {at}"));
            assert_eq!(again.image().len(), first.len(), "the image changed size");
            exercise(&store);
            let _ = HistoryStore::from_image(&store.image()).unwrap_or_else(|(at, e)| {
                panic!("after use, the image does not read: {e} at {at}")
            });
        }
    });
}
