//! `gantry demo`: the console on a simulated grid — several clusters and hundreds of hosts from
//! `gantry sim`, in-process and on 127.0.0.1 — so a newcomer sees every view at once.

use crate::aggregator::{AggregatorConfig, SourceConfig};
use crate::cli::history_file::PersistentHistory;
use crate::config::{Config, Paths};
use crate::sim::{ClusterSpec, Fault, SimHandle, SimOptions};

/// The demo grid.
pub fn demo_specs() -> Vec<ClusterSpec> {
    let c = |name: &str, hosts: usize, down: usize| ClusterSpec {
        name: name.into(),
        hosts,
        down,
        port: 0,
    };
    vec![
        c("compute", 480, 5),
        c("gpu", 64, 1),
        c("bigmem", 32, 0),
        c("storage", 24, 1),
        c("login", 6, 0),
        c("edge", 40, 2),
    ]
}

/// A fresh scratch directory for the demo's manager under the state directory.
fn tempfile_dir(paths: &Paths) -> anyhow::Result<std::path::PathBuf> {
    let d = paths
        .state_dir
        .join(format!("demo-cm-{}", std::process::id()));
    std::fs::create_dir_all(&d).map_err(|e| anyhow::anyhow!("{}: {e}", d.display()))?;
    Ok(d)
}

/// Builds the clusters `span` seconds in the past and advances them a minute at a time to
/// `now`, recording each minute as history; returns them, ready to be served from where the
/// recorded history ends.
pub fn backfill(
    history: &crate::history::HistoryStore,
    specs: &[ClusterSpec],
    seed: u64,
    now: u64,
    span: u64,
) -> Vec<(ClusterSpec, crate::sim::SimCluster)> {
    use crate::aggregator::HistorySink;
    let start = now.saturating_sub(span) / 60 * 60;
    let mut out = Vec::new();
    for spec in specs {
        let mut sim = crate::sim::SimCluster::new(spec, seed, start);
        let scope = format!("cluster:{}", spec.name);
        let mut t = start;
        while t + 60 < now {
            sim.tick(t);
            HistorySink::record_cluster(history, &sim.cluster, t);
            let s = crate::aggregator::summarize_cluster(&sim.cluster, 0);
            HistorySink::record_summary(history, &scope, t, &s);
            t += 60;
        }
        sim.tick(now);
        out.push((spec.clone(), sim));
    }
    out
}

/// Runs the demo until the operator quits.
pub async fn run(config: &Config, paths: &Paths, read_only: bool) -> anyhow::Result<()> {
    let step = 5;
    let history = PersistentHistory::open(None, &config.file.history).await;
    // Two hours of the same simulated clusters, recorded before they are served, so the demo's
    // graphs are full from the first frame and continue without a jump.
    let store = history.store.clone();
    let now = crate::aggregator::now_epoch();
    let built =
        tokio::task::spawn_blocking(move || backfill(&store, &demo_specs(), 2003, now, 2 * 3600))
            .await?;
    let sim = SimHandle::start_from(
        built,
        SimOptions {
            step,
            seed: 2003,
            ..SimOptions::default()
        },
    )
    .await?;
    // One cluster's gmond writes its OWNER unescaped, as real ones do: the sources panel shows
    // the damage and every host still appears.
    sim.set_fault("edge", Fault::Malformed).await?;
    let sources = sim
        .addrs()
        .into_iter()
        .filter_map(|(name, addr)| {
            let a = addr.to_string().parse().ok()?;
            let mut s = SourceConfig::network(&name, vec![a]);
            s.step = step as u32;
            Some(s)
        })
        .collect();
    let cfg = AggregatorConfig {
        grid_name: "Demo".into(),
        sources,
        fetch: config.fetch_settings(),
        ..AggregatorConfig::default()
    };
    // A central manager with three agents and a demo account, in a scratch directory.
    let scratch = tempfile_dir(paths)?;
    let hash = bcrypt::hash("demo", 5).map_err(|e| anyhow::anyhow!("bcrypt: {e}"))?;
    let users = crate::cm::users::Users::parse(
        std::path::Path::new("demo users"),
        &format!("demo:{hash}\n"),
        &[],
    )?;
    let agents: Vec<String> = ["compute-node0001", "compute-node0002", "gpu-node0001"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut managers = Vec::new();
    match crate::cli::local_cm::start(
        &scratch,
        users,
        crate::cli::local_cm::accounts_as_me(&["demo"]),
        &agents,
        crate::cm::agent::Scope::Tasks,
        Some("demo account: user demo, password demo".into()),
        true,
    )
    .await
    {
        Ok(mut m) => {
            m.user = Some("demo".into());
            managers.push(m);
        }
        Err(e) => tracing::warn!("demo central manager not started: {e}"),
    }
    let opts = crate::cli::console::ConsoleOptions {
        probe_gmond: false,
        read_only,
        extra_managers: managers,
        serve_ports: false,
    };
    let r = crate::cli::console::run_console(config, paths, cfg, history, opts).await;
    let _ = std::fs::remove_dir_all(&scratch);
    drop(sim);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backfill_gives_every_cluster_graphs_with_data() {
        let h = crate::history::HistoryStore::new();
        let specs = vec![ClusterSpec {
            name: "small".into(),
            hosts: 5,
            down: 1,
            port: 0,
        }];
        let now = 1_800_000_000;
        let built = backfill(&h, &specs, 7, now, 3600);
        assert_eq!(built.len(), 1);
        assert_eq!(built[0].1.cluster.localtime, now);
        let s = h
            .summary_series(
                "cluster:small",
                "load_one",
                crate::history::SummaryValue::Sum,
                crate::history::Range::Hour,
                now,
            )
            .unwrap();
        assert!(
            s.points.iter().filter(|p| p.is_some()).count() >= 55,
            "{:?}",
            s.points
        );
        assert!(
            h.host_series(
                "small",
                "small-node0001",
                "cpu_user",
                crate::history::Range::Hour,
                now
            )
            .is_some()
        );
    }
}
