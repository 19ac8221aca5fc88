//! The wall clock jumps under a real `gantry aggregator`: back an hour, then forward a day, as
//! a badly set clock corrected by NTP would. The jumps come from libfaketime (Debian's
//! `faketime` package) preloaded into the aggregator with a timestamp file the test rewrites;
//! the monotonic clock is left alone, as a clock step leaves it. Through each jump the
//! aggregator keeps polling its source (a `gantry sim` on the real clock) and serving it: every
//! host is served up (none is declared down for a clock that moved), and at the end its history
//! saves and loads.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Proc, free_port};
use gantry::ganglia::{Interner, Limits, parse_bytes};
use gantry::history::HistoryStore;

const HOSTS: usize = 40;

fn libfaketime() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib",
    ]
    .iter()
    .map(|d| Path::new(d).join("faketime/libfaketime.so.1"))
    .find(|p| p.exists())
}

/// (hosts served, hosts whose TN says they reported within their TMAX × 4, gmond's rule, the
/// served GRID's LOCALTIME: the aggregator's own clock).
fn served(port: u16) -> Option<(usize, usize, u64)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut xml = Vec::new();
    s.read_to_end(&mut xml).ok()?;
    let text = String::from_utf8_lossy(&xml);
    let grid = text.find("<GRID ")?;
    let at = grid + text[grid..].find("LOCALTIME=\"")? + "LOCALTIME=\"".len();
    let localtime = text[at..].split('"').next()?.parse().ok()?;
    let mut interner = Interner::default();
    let parsed = parse_bytes(&xml, &mut interner, Limits::default()).ok()?;
    let clusters = parsed.document.clusters();
    let c = clusters.first()?;
    let up = c.hosts.iter().filter(|h| h.tn < h.tmax.max(1) * 4).count();
    Some((c.hosts.len(), up, localtime))
}

/// Waits until every host is served up and the aggregator's clock reads `offset` seconds
/// from the real one (give or take a minute).
fn all_up_within(port: u16, agg: &mut Proc, what: &str, offset: i64) {
    let secs = 30;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = None;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = agg.0.try_wait() {
            panic!("the aggregator exited {what}: {status}");
        }
        last = served(port);
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if last.is_some_and(|(n, up, t)| {
            n == HOSTS && up == HOSTS && (t as i64 - real - offset).abs() < 60
        }) {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("{what}: not every host served up at the clock asked; last (hosts, up, clock) {last:?}");
}

#[test]
fn the_aggregator_rides_out_its_clock_jumping_back_and_forward() {
    let Some(lib) = libfaketime() else {
        common::skip("libfaketime is not installed (Debian's faketime package)");
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (sim_port, xml_port) = (free_port(), free_port());
    let _sim = Proc(
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["sim", "--cluster", &format!("alpha:{HOSTS}:{sim_port}")])
            .args(["--step", "1", "--down", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gantry sim starts"),
    );
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[[source]]\nname = \"alpha\"\nstep = 1\naddresses = [\"127.0.0.1:{sim_port}\"]\n"),
    )
    .expect("config");
    let clock = dir.path().join("clock");
    std::fs::write(&clock, "+0\n").expect("clock");
    let mut agg = common::start_aggregator(
        dir.path(),
        &format!("127.0.0.1:{xml_port}"),
        &[
            ("LD_PRELOAD", lib.as_os_str()),
            ("FAKETIME_TIMESTAMP_FILE", clock.as_os_str()),
            ("FAKETIME_NO_CACHE", "1".as_ref()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".as_ref()),
        ],
    );
    all_up_within(xml_port, &mut agg, "at first", 0);
    std::fs::write(&clock, "-3600\n").expect("back an hour");
    std::thread::sleep(Duration::from_secs(3));
    all_up_within(
        xml_port,
        &mut agg,
        "after the clock went back an hour",
        -3600,
    );
    std::fs::write(&clock, "+86400\n").expect("forward a day");
    std::thread::sleep(Duration::from_secs(3));
    all_up_within(
        xml_port,
        &mut agg,
        "after the clock went forward a day",
        86_400,
    );
    // SAFETY: the aggregator this test started, by its pid.
    unsafe { libc::kill(agg.0.id() as i32, libc::SIGTERM) };
    let status = agg.0.wait().expect("it ends");
    assert!(status.success(), "{status}");
    let h = HistoryStore::load(&dir.path().join("history.bin")).expect("its history loads");
    assert!(h.stats().tables > 0);
}
