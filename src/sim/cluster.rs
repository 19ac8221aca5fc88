//! A simulated cluster: its hosts, advanced together and rendered as one gmond document.

use std::sync::Arc;

use super::host::{HostState, new_host};
use super::rng::Rng;
use crate::collector::catalog;
use crate::ganglia::gmond_document;
use crate::model::Cluster;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Cluster name.
    pub name: String,
    /// Number of hosts (up to 20,000 and more).
    pub hosts: usize,
    /// Hosts that stopped reporting long enough to be down.
    pub down: usize,
    /// TCP port to serve on (0: any free port).
    pub port: u16,
}

/// A deterministic simulated cluster.
pub struct SimCluster {
    /// The data, updated in place by `tick`.
    pub cluster: Cluster,
    states: Vec<HostState>,
}

impl SimCluster {
    /// Builds the cluster as of `now`; the same seed and times give the same documents.
    pub fn new(spec: &ClusterSpec, seed: u64, now: u64) -> Self {
        let metas = catalog::metas();
        let prefix = format!("{}-node", spec.name);
        let octet = Rng::new(seed, &spec.name, u64::MAX).below(200) + 20;
        let mut hosts = Vec::with_capacity(spec.hosts);
        let mut states = Vec::with_capacity(spec.hosts);
        for i in 0..spec.hosts {
            let ip = format!("10.{octet}.{}.{}", i / 250, i % 250 + 1);
            let (mut h, mut st) = new_host(seed, &spec.name, &prefix, i, ip, &metas, now);
            st.tick(&mut h, now);
            hosts.push(h);
            states.push(st);
        }
        // Down hosts, spread through the cluster, silent for 2 to 60 minutes.
        let mut pick = Rng::new(seed, &spec.name, u64::MAX - 1);
        let mut downs = 0;
        while downs < spec.down.min(spec.hosts) {
            let i = pick.below(spec.hosts as u64) as usize;
            if states[i].down_since.is_none() {
                states[i].go_down(now.saturating_sub(120 + pick.below(3480)));
                downs += 1;
            }
        }
        let mut sim = Self {
            cluster: Cluster {
                name: spec.name.as_str().into(),
                localtime: now,
                owner: Some("Gantry Simulation".into()),
                latlong: Some("N48.15 E11.58".into()),
                url: Some(format!("http://localhost/ganglia/?c={}", spec.name).into()),
                hosts,
                summary: None,
            },
            states,
        };
        sim.tick(now);
        sim
    }

    /// Advances every host to `now`.
    pub fn tick(&mut self, now: u64) {
        self.cluster.localtime = now;
        for (h, st) in self.cluster.hosts.iter_mut().zip(&mut self.states) {
            st.tick(h, now);
        }
    }

    /// The whole gmond document as it stands.
    pub fn render(&self, out: &mut Vec<u8>) {
        gmond_document(&self.cluster, out);
    }

    /// Makes host `i` (if it exists and is up) a runaway at `base` × its CPUs; returns its
    /// name.
    pub fn run_away(&mut self, i: usize, base: f64) -> Option<String> {
        let st = self.states.get_mut(i).filter(|s| s.down_since.is_none())?;
        st.run_away(base);
        Some(self.cluster.hosts[i].name.to_string())
    }

    /// How many hosts are silent.
    pub fn down_hosts(&self) -> usize {
        self.states
            .iter()
            .filter(|s| s.down_since.is_some())
            .count()
    }

    /// A shareable rendering.
    pub fn document(&self) -> Arc<Vec<u8>> {
        let mut out = Vec::with_capacity(self.cluster.hosts.len() * 10_500 + 4096);
        self.render(&mut out);
        Arc::new(out)
    }
}
