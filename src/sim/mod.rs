//! `gantry sim`: synthetic clusters served over TCP exactly in gmond 3.7.2's format — up to
//! 20,000 hosts and more, several clusters on several ports, loads that move, a few down
//! hosts, string metrics and extra data, deterministic with `--seed`.

mod cluster;
mod host;
mod rng;
mod server;

pub use cluster::{ClusterSpec, SimCluster};
pub use rng::Rng;
pub use server::{Fault, SimHandle, SimOptions};

/// Options of `gantry sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// A cluster to serve: NAME:HOSTS[:PORT] (repeatable). Default: alpha:400:8649,
    /// beta:250:8659, gamma:120:8669.
    #[arg(long = "cluster", value_name = "NAME:HOSTS[:PORT]")]
    pub clusters: Vec<String>,
    /// Random seed: the same seed gives the same hosts and values.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds between value updates.
    #[arg(long, default_value_t = 15)]
    pub step: u64,
    /// Down hosts per cluster: a number, or a percentage like 1%.
    #[arg(long, default_value = "1%")]
    pub down: String,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Serve gzip-compressed documents (gmond's gzip_output = yes).
    #[arg(long)]
    pub gzip: bool,
    /// Misbehave: CLUSTER=FAULT, FAULT being refuse, close, hang, truncate:BYTES, malformed,
    /// garbage or slow:BYTES_PER_SEC (repeatable).
    #[arg(long = "fault", value_name = "CLUSTER=FAULT")]
    pub faults: Vec<String>,
}

/// Reads `NAME:HOSTS[:PORT]`.
pub fn parse_cluster(s: &str, down: &str) -> Result<ClusterSpec, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let (name, hosts, port) = match parts.as_slice() {
        [n, h] => (*n, *h, "0"),
        [n, h, p] => (*n, *h, *p),
        _ => {
            return Err(format!(
                "'{s}': write a cluster as NAME:HOSTS or NAME:HOSTS:PORT"
            ));
        }
    };
    if name.is_empty() || name.contains(['<', '>', '&', '"', '/']) {
        return Err(format!("'{name}' is not a usable cluster name"));
    }
    let hosts: usize = hosts
        .parse()
        .map_err(|_| format!("'{hosts}' is not a number of hosts"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("'{port}' is not a port"))?;
    let down = match down.strip_suffix('%') {
        Some(p) => {
            let p: f64 = p
                .parse()
                .map_err(|_| format!("--down '{down}' is not a percentage"))?;
            ((hosts as f64) * p / 100.0).round() as usize
        }
        None => down
            .parse()
            .map_err(|_| format!("--down '{down}' is not a number or percentage"))?,
    };
    Ok(ClusterSpec {
        name: name.to_string(),
        hosts,
        down: down.min(hosts),
        port,
    })
}

/// The clusters `args` describe.
pub fn specs(args: &SimArgs) -> Result<Vec<ClusterSpec>, String> {
    let given: Vec<String> = if args.clusters.is_empty() {
        vec![
            "alpha:400:8649".into(),
            "beta:250:8659".into(),
            "gamma:120:8669".into(),
        ]
    } else {
        args.clusters.clone()
    };
    given.iter().map(|c| parse_cluster(c, &args.down)).collect()
}

/// Runs `gantry sim` until `stop` completes (the command line passes Ctrl-C, SIGTERM or
/// SIGHUP).
pub async fn run(args: SimArgs, stop: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    let specs = specs(&args).map_err(anyhow::Error::msg)?;
    let faults: Vec<(String, Fault)> = args
        .faults
        .iter()
        .map(|f| {
            let (c, k) = f
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--fault '{f}': write CLUSTER=FAULT"))?;
            Ok((
                c.to_string(),
                k.parse::<Fault>().map_err(anyhow::Error::msg)?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let opts = SimOptions {
        bind: args.bind,
        step: args.step,
        seed: args.seed,
        gzip: args.gzip,
    };
    let handle = SimHandle::start(specs.clone(), opts).await?;
    for (c, f) in faults {
        handle.set_fault(&c, f).await?;
    }
    let mut sources = Vec::new();
    for (spec, (name, addr)) in specs.iter().zip(handle.addrs()) {
        println!(
            "{name:<12} {addr}  ({} hosts, {} down)",
            spec.hosts, spec.down
        );
        sources.push(format!("--source '{name} {addr}'"));
    }
    println!("try: gantry status {}", sources.join(" "));
    stop.await;
    drop(handle);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ganglia::{Interner, Limits, parse_bytes};

    #[test]
    fn cluster_specs() {
        assert_eq!(
            parse_cluster("alpha:100:8649", "2"),
            Ok(ClusterSpec {
                name: "alpha".into(),
                hosts: 100,
                down: 2,
                port: 8649
            })
        );
        assert_eq!(parse_cluster("b:1000", "1%").unwrap().down, 10);
        assert!(parse_cluster("x", "0").is_err());
        assert!(parse_cluster("x:lots", "0").is_err());
    }

    #[test]
    fn deterministic_documents() {
        let spec = parse_cluster("alpha:50", "2").unwrap();
        let a = SimCluster::new(&spec, 7, 1_800_000_000);
        let b = SimCluster::new(&spec, 7, 1_800_000_000);
        assert_eq!(a.document(), b.document());
        let c = SimCluster::new(&spec, 8, 1_800_000_000);
        assert_ne!(a.document(), c.document());
        let (mut a, mut b) = (a, b);
        a.tick(1_800_000_015);
        b.tick(1_800_000_015);
        assert_eq!(a.document(), b.document(), "same ticks, same bytes");
    }

    #[test]
    fn faithful_to_gmond() {
        let spec = parse_cluster("alpha:1000", "10").unwrap();
        let now = 1_800_000_000;
        let mut sim = SimCluster::new(&spec, 3, now);
        sim.tick(now + 15);
        let doc = sim.document();
        let p = parse_bytes(&doc, &mut Interner::default(), Limits::default()).unwrap();
        assert!(p.is_clean(), "{:?}", p.damage);
        let c = p.document.clusters()[0].clone();
        assert_eq!(c.hosts.len(), 1000);
        // Same metadata as a real gmond for every default metric.
        let real = std::fs::read(format!(
            "{}/tests/fixtures/ganglia/gmond-8649-clusterA.xml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let r = parse_bytes(&real, &mut Interner::default(), Limits::default()).unwrap();
        let real_host = r.document.clusters()[0].host("a-node01").unwrap().clone();
        let mut bands = [0usize; 5];
        let mut down = 0;
        for h in &c.hosts {
            for d in &crate::collector::catalog::DEFAULT_METRICS {
                let m = h
                    .metric(d.name)
                    .unwrap_or_else(|| panic!("{} lacks {}", h.name, d.name));
                assert_eq!(
                    *m.meta,
                    *real_host.metric(d.name).unwrap().meta,
                    "{}",
                    d.name
                );
            }
            if !h.is_up(c.localtime, 0) {
                down += 1;
                assert!(h.tn >= 4 * h.tmax);
                continue;
            }
            assert!(h.tn < 4 * h.tmax);
            let cpu: f64 = ["cpu_user", "cpu_system", "cpu_idle", "cpu_nice", "cpu_wio"]
                .iter()
                .map(|m| h.value(m).unwrap())
                .sum();
            assert!(
                (99.0..=101.0).contains(&cpu),
                "{}: cpu sums to {cpu}",
                h.name
            );
            assert!(h.value("mem_free").unwrap() <= h.value("mem_total").unwrap());
            // ganglia-web's default load bands: 25, 50, 75 and 100 % of the CPUs.
            let f = h.load_fraction();
            let band = [0.25, 0.5, 0.75].iter().filter(|t| f >= **t).count() + usize::from(f > 1.0);
            bands[band] += 1;
        }
        assert_eq!(down, 10);
        assert!(
            bands.iter().all(|n| *n > 0),
            "every load band populated: {bands:?}"
        );
        assert!(c.hosts.iter().any(|h| h.metric("gpu_util").is_some()));
        assert!(c.hosts.iter().any(|h| {
            h.metric("job_count")
                .is_some_and(|m| m.meta.groups().count() == 2)
        }));
    }
}
