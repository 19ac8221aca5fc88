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

/// The demo's runaway host: its cluster and index, loaded to 3 × its CPUs (no other host goes
/// past about 2.2), so it tops the top list and its job is the one to kill.
pub const RUNAWAY: (&str, usize) = ("compute", 6);

/// How many of the hottest hosts get an agent, besides the runaway.
const HOT_AGENTS: usize = 3;

/// The hosts the demo's agents run as: the runaway, the hottest others, and a quiet one, so
/// job control works where triage leads.
fn agent_hosts(built: &[(ClusterSpec, crate::sim::SimCluster)]) -> Vec<String> {
    let mut hot: Vec<(f64, String)> = built
        .iter()
        .flat_map(|(_, sim)| {
            let c = &sim.cluster;
            c.hosts
                .iter()
                .filter(|h| h.is_up(c.localtime, 0))
                .map(|h| (h.load_fraction(), h.name.to_string()))
        })
        .collect();
    hot.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut names: Vec<String> = hot
        .into_iter()
        .take(HOT_AGENTS + 1)
        .map(|(_, n)| n)
        .collect();
    for quiet in ["compute-node0001", "gpu-node0001"] {
        if !names.iter().any(|n| n == quiet) {
            names.push(quiet.into());
        }
    }
    names
}

/// The demo's jobs: a long one with a task on every agent's node (so the runaway host has a
/// process to kill), and two that fail at once (so the problems view lists failed jobs).
async fn submit_demo_jobs(addr: String, nodes: usize, password: String) {
    use crate::cm::job::{JobClass, JobSpec};
    use crate::cm::proto::Request;
    let jobs = [
        JobSpec {
            name: "runaway-sim".into(),
            exec: "/bin/sleep".into(),
            args: vec!["86400".into()],
            class: JobClass::Batch,
            tasks_per_node: 1,
            total_tasks: nodes as u32,
            ..JobSpec::default()
        },
        JobSpec {
            name: "nightly-check".into(),
            exec: "/bin/false".into(),
            tasks_per_node: 1,
            total_tasks: 1,
            ..JobSpec::default()
        },
        JobSpec {
            name: "reindex".into(),
            exec: "/opt/demo/reindex-not-installed".into(),
            tasks_per_node: 1,
            total_tasks: 1,
            ..JobSpec::default()
        },
    ];
    // The manager was just started: give it a moment to listen.
    let mut client = None;
    for _ in 0..50 {
        match crate::cm::client::CmClient::login(&addr, "demo", &password).await {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let Some(mut c) = client else {
        tracing::warn!("demo jobs not submitted: the demo manager did not answer");
        return;
    };
    for spec in jobs {
        if let Err(e) = c.ok(&Request::Submit(spec)).await {
            tracing::warn!("demo job not submitted: {e}");
        }
    }
}

/// 128 random bits, hex: the demo account's password for this run.
fn demo_password() -> anyhow::Result<String> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| anyhow::anyhow!("no random source for the demo's password"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
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
        if spec.name == RUNAWAY.0 {
            sim.run_away(RUNAWAY.1, 3.0);
        }
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
    let agents = agent_hosts(&built);
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
    // The demo account is an administrator whose jobs run as whoever runs the demo (root,
    // perhaps), on a port every local user can reach: its password is random, known only to
    // this process, which logs itself in.
    let password = demo_password()?;
    let hash = bcrypt::hash(&password, 5).map_err(|e| anyhow::anyhow!("bcrypt: {e}"))?;
    // The demo account is an administrator: triage in the demo ends in a kill.
    let users = crate::cm::users::Users::parse(
        std::path::Path::new("demo users"),
        &format!("demo:{hash}\n"),
        &["demo".to_string()],
    )?;
    let mut managers = Vec::new();
    let mut demo_cm = None;
    match crate::cli::local_cm::start(
        &scratch,
        users,
        crate::cli::local_cm::accounts_as_me(&["demo"]),
        &agents,
        crate::cli::local_cm::LocalOptions {
            scope: crate::cm::agent::Scope::Tasks,
            login_hint: Some("the demo logs its account in by itself".into()),
            by_password: true,
            // The demo's state is thrown away when it ends: so are its jobs.
            keep_jobs: false,
        },
    )
    .await
    {
        Ok(mut local) => {
            local.config.user = Some("demo".into());
            if let Some(addr) = local.config.addresses.first().cloned() {
                tokio::spawn(submit_demo_jobs(addr, agents.len(), password.clone()));
            }
            managers.push(local.config.clone());
            demo_cm = Some(local);
        }
        Err(e) => tracing::warn!("demo central manager not started: {e}"),
    }
    let opts = crate::cli::console::ConsoleOptions {
        probe_gmond: false,
        read_only,
        extra_managers: managers,
        demo_login: Some(("demo".into(), password)),
        serve_ports: false,
    };
    let r = crate::cli::console::run_console(config, paths, cfg, history, opts).await;
    // The demo's jobs end with it, before its state goes.
    if let Some(local) = demo_cm {
        local.shutdown().await;
    }
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
