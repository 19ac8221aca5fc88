//! Template mining: grouping accuracy on the Loghub-2k samples and speed. Run with:
//!
//!     cargo bench --bench templates
//!
//! Grouping accuracy as Loghub defines it: a message counts as correct when the set of
//! messages grouped with it equals its ground-truth group. The samples stay in
//! `../shared/fixtures/logs/` (Loghub's licence: research use, cite Loghub); the miner sees
//! each message's content, with one configuration for every dataset. Results also land in
//! target/bench/templates.json.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use gantry::events::miner::{Miner, MinerConfig};

const DATASETS: [(&str, f64); 4] = [
    ("HPC", 0.887),
    ("BGL", 0.9685),
    ("Linux", 0.690),
    ("OpenSSH", 0.7875),
];

fn logs() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/logs");
    d.exists().then_some(d)
}

/// Each line's content and ground-truth event id.
fn load(dir: &std::path::Path, name: &str) -> Vec<(String, String)> {
    let path = dir.join(name).join(format!("{name}_2k.log_structured.csv"));
    let mut r = match csv::Reader::from_path(&path) {
        Ok(r) => r,
        Err(e) => {
            println!("{}: {e}", path.display());
            return Vec::new();
        }
    };
    let headers = r.headers().cloned().unwrap_or_default();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let (Some(c), Some(e)) = (col("Content"), col("EventId")) else {
        return Vec::new();
    };
    r.records()
        .flatten()
        .map(|rec| (rec[c].to_string(), rec[e].to_string()))
        .collect()
}

/// Loghub's grouping accuracy of `parsed` against `truth` (one label per message).
pub fn grouping_accuracy<A: std::hash::Hash + Eq, B: std::hash::Hash + Eq>(
    truth: &[A],
    parsed: &[B],
) -> f64 {
    let mut truth_size: HashMap<&A, usize> = HashMap::new();
    for t in truth {
        *truth_size.entry(t).or_default() += 1;
    }
    let mut groups: HashMap<&B, Vec<usize>> = HashMap::new();
    for (i, p) in parsed.iter().enumerate() {
        groups.entry(p).or_default().push(i);
    }
    let mut correct = 0;
    for members in groups.values() {
        let first = &truth[members[0]];
        if members.iter().all(|&i| &truth[i] == first) && truth_size[first] == members.len() {
            correct += members.len();
        }
    }
    correct as f64 / truth.len().max(1) as f64
}

/// The Drain3 package (PyPI), default configuration, over the same contents: one cluster id per
/// message and its messages per second. It runs in a virtual environment the bench makes under
/// the target directory; `None`, with why, when Python or PyPI is not at hand.
fn drain3(out: &std::path::Path, contents: &[&str]) -> Result<(Vec<u64>, f64), String> {
    let venv = out.join("drain3-venv");
    let py = venv.join("bin/python");
    if !py.exists() {
        let made = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map_err(|e| format!("python3: {e}"))?;
        if !made.success() {
            return Err("python3 -m venv failed".into());
        }
    }
    let pip = std::process::Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "drain3"])
        .status()
        .map_err(|e| format!("pip: {e}"))?;
    if !pip.success() {
        return Err("pip install drain3 failed".into());
    }
    let input = out.join("drain3-input.txt");
    std::fs::write(&input, contents.join("\n")).map_err(|e| e.to_string())?;
    let script = r#"
import sys, time
from drain3 import TemplateMiner
lines = open(sys.argv[1]).read().split("\n")
m = TemplateMiner()
t = time.perf_counter()
ids = [m.add_log_message(l)["cluster_id"] for l in lines]
dt = time.perf_counter() - t
print(len(lines) / dt)
print(" ".join(map(str, ids)))
"#;
    let run = std::process::Command::new(&py)
        .args(["-c", script])
        .arg(&input)
        .output()
        .map_err(|e| format!("drain3: {e}"))?;
    let text = String::from_utf8_lossy(&run.stdout);
    let mut lines = text.lines();
    let rate: f64 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("drain3 said: {}", String::from_utf8_lossy(&run.stderr)))?;
    let ids = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    Ok((ids, rate))
}

fn main() {
    let Some(dir) = logs() else {
        println!("SKIPPED: the Loghub samples are not in ../shared/fixtures/logs");
        return;
    };
    let out = support::results_dir();
    let config = MinerConfig::default();
    let mut rows = Vec::new();
    let mut drain3_rates = Vec::new();
    let mut gantry_rates = Vec::new();
    println!(
        "{:<10} {:>8} {:>8} {:>8} {:>10} {:>14} {:>14}",
        "dataset", "gantry", "drain3", "target", "templates", "gantry msg/s", "drain3 msg/s"
    );
    for (name, target) in DATASETS {
        let lines = load(&dir, name);
        let mut m = Miner::new(config);
        let t = Instant::now();
        let parsed: Vec<u32> = lines.iter().map(|(c, _)| m.learn(c).template).collect();
        let gantry_rate = lines.len() as f64 / t.elapsed().as_secs_f64();
        gantry_rates.push(gantry_rate);
        let truth: Vec<&str> = lines.iter().map(|(_, e)| e.as_str()).collect();
        let ga = grouping_accuracy(&truth, &parsed);
        let contents: Vec<&str> = lines.iter().map(|(c, _)| c.as_str()).collect();
        let (d3, d3_rate) = match drain3(&out, &contents) {
            Ok((ids, rate)) if ids.len() == truth.len() => {
                drain3_rates.push(rate);
                (
                    format!("{:.4}", grouping_accuracy(&truth, &ids)),
                    format!("{rate:.0}"),
                )
            }
            Ok(_) => ("?".into(), "?".into()),
            Err(e) => {
                println!("Drain3 not run: {e}");
                ("-".into(), "-".into())
            }
        };
        println!(
            "{name:<10} {ga:>8.4} {d3:>8} {target:>8.4} {:>10} {gantry_rate:>14.0} {d3_rate:>14}{}",
            m.templates().len(),
            if ga >= target { "" } else { "  BELOW" }
        );
        if std::env::var_os("TEMPLATES_DEBUG").is_some_and(|d| d == name) {
            // Every template that is not exactly one ground-truth group: what it holds.
            let mut size: HashMap<&str, usize> = HashMap::new();
            for t in &truth {
                *size.entry(t).or_default() += 1;
            }
            for (i, t) in m.templates().iter().enumerate() {
                let mut held: HashMap<&str, usize> = HashMap::new();
                for (j, p) in parsed.iter().enumerate() {
                    if *p == i as u32 {
                        *held.entry(truth[j]).or_default() += 1;
                    }
                }
                let exact = held.len() == 1 && held.iter().all(|(k, n)| size[k] == *n);
                if !exact {
                    let ex = parsed
                        .iter()
                        .position(|p| *p == i as u32)
                        .map(|j| lines[j].0.as_str());
                    println!(
                        "  {:>5} {}  <- {held:?}  e.g. {ex:?}",
                        t.count,
                        m.text(i as u32)
                    );
                }
            }
        }
        rows.push(serde_json::json!({
            "dataset": name, "gantry": ga, "drain3": d3, "target": target,
            "gantry_first_pass_msgs_per_s": gantry_rate, "drain3_msgs_per_s": d3_rate,
        }));
    }
    // Speed: every sample's messages, over and over, through one miner on this thread.
    let all: Vec<String> = DATASETS
        .iter()
        .flat_map(|(n, _)| load(&dir, n).into_iter().map(|(c, _)| c))
        .collect();
    let mut m = Miner::new(config);
    for c in &all {
        m.learn(c);
    }
    let rounds = 1_000_000usize.div_ceil(all.len().max(1));
    let t = Instant::now();
    let mut n = 0usize;
    for _ in 0..rounds {
        for c in &all {
            std::hint::black_box(m.learn(c));
            n += 1;
        }
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    println!("mining, steady state: {n} messages at {rate:.0} messages/s on one thread");
    let mut worst = None;
    if drain3_rates.len() == gantry_rates.len() {
        // Side by side on the same input: each dataset's first pass, learning from scratch.
        let ratios: Vec<f64> = gantry_rates
            .iter()
            .zip(&drain3_rates)
            .map(|(g, d)| g / d)
            .collect();
        let least = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        println!("first pass, gantry ÷ drain3 per dataset: {ratios:.1?}; the least {least:.1}×");
        worst = Some(least);
    }
    let v = serde_json::json!({
        "accuracy": rows, "messages_per_s": rate, "least_ratio_to_drain3": worst,
    });
    let _ = std::fs::write(out.join("templates.json"), format!("{v:#}\n"));
}
