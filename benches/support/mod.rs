//! What the benchmarks share: timing helpers, and where their results are written (bench/ in
//! the directory cargo builds in, so `CARGO_TARGET_DIR` is honoured and the source tree is
//! left alone).
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Instant;

/// The fastest of `runs` runs of `f`, in seconds, and what the last run returned.
pub fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(v);
    }
    match out {
        Some(v) => (best, v),
        None => unreachable!("at least one run"),
    }
}

/// The median of `v` (0 when empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// bench/ in the target directory (cargo's per-build temporary directory is target/tmp).
pub fn results_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().map_or(tmp.clone(), |t| t.join("bench"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Writes a benchmark's results as `NAME` in [`results_dir`], and says where.
pub fn write_results(name: &str, text: &str) {
    let path = results_dir().join(name);
    match std::fs::write(&path, text) {
        Ok(()) => println!("results: {}", path.display()),
        Err(e) => eprintln!("results not written to {}: {e}", path.display()),
    }
}
