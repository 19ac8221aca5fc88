//! Times rendering a simulated gmond document: `cargo run --release --example sim_render -- 10000`.
use gantry::sim::{ClusterSpec, SimCluster};
use std::time::Instant;
fn main() {
    let hosts: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let spec = ClusterSpec {
        name: "bench".into(),
        hosts,
        down: hosts / 100,
        port: 0,
    };
    let t = Instant::now();
    let mut sim = SimCluster::new(&spec, 1, 1_800_000_000);
    let build = t.elapsed();
    let t = Instant::now();
    sim.tick(1_800_000_015);
    let tick = t.elapsed();
    let t = Instant::now();
    let doc = sim.document();
    let render = t.elapsed();
    println!(
        "{hosts} hosts: build {build:.2?}, tick {tick:.2?}, render {render:.2?}, {} bytes ({:.0} MB/s)",
        doc.len(),
        doc.len() as f64 / render.as_secs_f64() / 1e6
    );
}
