//! A source's configuration and the state its poller keeps between polls: the last good data,
//! its health, and which address answered last.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use super::address::SourceAddress;
use super::fetch::FetchReport;
use super::status::Health;
use super::summary::{summarize_cluster, summarize_grid};
use super::view::{ClusterView, GridInfo, SourceView};
use crate::ganglia::Interner;
use crate::model::{Cluster, Grid, Item, Summary};

/// Where a source's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// Ganglia daemons over TCP, tried in order with failover.
    Network(Vec<SourceAddress>),
    /// This machine, read from /proc by the local collector.
    Local,
}

/// One configured source, like gmetad's `data_source "name" step addr…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// Name used in status and history.
    pub name: String,
    /// Seconds between polls.
    pub step: u32,
    /// Where to read.
    pub kind: SourceKind,
}

impl SourceConfig {
    /// A network source with the default step of 15 s.
    pub fn network(name: &str, addresses: Vec<SourceAddress>) -> Self {
        Self {
            name: name.to_string(),
            step: 15,
            kind: SourceKind::Network(addresses),
        }
    }

    /// The addresses, empty for the local collector.
    pub fn addresses(&self) -> &[SourceAddress] {
        match &self.kind {
            SourceKind::Network(a) => a,
            SourceKind::Local => &[],
        }
    }
}

/// Where poll results are recorded as history; implemented by the history store.
pub trait HistorySink: Send + Sync {
    /// One poll of a cluster at epoch `t`.
    fn record_cluster(&self, cluster: &Cluster, t: u64);
    /// A cluster's or grid's summary at epoch `t`; `scope` is `cluster:NAME` or `grid:NAME`.
    fn record_summary(&self, scope: &str, t: u64, summary: &Summary);
    /// Metrics of some hosts of a cluster read at epoch `t` from elsewhere than the cluster's
    /// source (the hosts' BMCs).
    fn record_hosts(&self, cluster: &str, t: u64, hosts: &[(&str, &[crate::model::Metric])]);
}

/// What a source's poller keeps between polls.
pub struct SourceState {
    /// The configuration.
    pub config: Arc<SourceConfig>,
    /// Metadata shared between this source's polls.
    pub interner: Interner,
    /// The address that answered last, tried first next time.
    pub last_good: Option<usize>,
    /// The last published view.
    pub view: Arc<SourceView>,
}

impl SourceState {
    /// State before the first poll.
    pub fn new(config: Arc<SourceConfig>) -> Self {
        let view = Arc::new(SourceView::pending(&config.name));
        Self {
            config,
            interner: Interner::default(),
            last_good: None,
            view,
        }
    }

    /// Applies one poll's result at epoch `now` and returns the new view. Nothing already
    /// known is lost: a dead source keeps its last data (which then ages and goes stale), and
    /// a damaged or partial document only replaces what it actually brought.
    pub fn apply(
        &mut self,
        report: FetchReport,
        now: u64,
        history: Option<&dyn HistorySink>,
    ) -> Arc<SourceView> {
        let old = self.view.clone();
        let mut status = old.status.clone();
        status.last_attempt = Some(now);
        let failures: Vec<String> = report
            .failures
            .iter()
            .map(|f| format!("{}: {}", f.address, f.error))
            .collect();
        let Some(fetched) = report.fetched else {
            status.health = Health::Dead;
            status.polls_failed += 1;
            status.last_error = Some(if failures.is_empty() {
                "no address configured".to_string()
            } else {
                format!("no answer from any address — {}", failures.join("; "))
            });
            self.last_good = None;
            let mut view = (*old).clone();
            view.status = status;
            self.view = Arc::new(view);
            return self.view.clone();
        };
        let addresses = self.config.addresses();
        let parsed = fetched.parsed;
        let clean = parsed.is_clean() && fetched.incomplete.is_none();
        self.last_good = Some(fetched.address);
        status.polls_ok += 1;
        status.last_success = Some(now);
        status.latency = fetched.latency;
        status.wire_bytes = parsed.wire_bytes;
        status.xml_bytes = parsed.xml_bytes;
        status.active_address = addresses.get(fetched.address).map(ToString::to_string);
        let mut problems = Vec::new();
        if let Some(why) = fetched.incomplete.as_ref().or(parsed.truncated.as_ref()) {
            problems.push(format!("incomplete answer: {why}"));
        }
        if let Some(d) = parsed.damage.summary() {
            problems.push(format!("damaged document: {d}"));
        }
        if !clean {
            if let Some(a) = &status.active_address {
                problems.insert(0, format!("from {a}"));
            }
        } else if !failures.is_empty() {
            problems.push(format!("failed over: {}", failures.join("; ")));
        }
        status.health = if clean { Health::Ok } else { Health::Degraded };
        status.last_error = (!problems.is_empty()).then(|| problems.join("; "));

        let step = self.config.step;
        let source: Arc<str> = self.config.name.as_str().into();
        let (grid, clusters, remote) = flatten(parsed.document.items);
        let mut views = Vec::with_capacity(clusters.len());
        let mut seen = FxHashSet::default();
        for mut cluster in clusters {
            let previous = old.clusters.iter().find(|c| c.cluster.name == cluster.name);
            if !clean && let Some(prev) = previous {
                keep_missing_hosts(&mut cluster, prev, now);
            }
            if !cluster.hosts.is_empty() || cluster.summary.is_none() {
                cluster.summary = Some(summarize_cluster(&cluster, 0));
            }
            let advanced_at = match previous {
                Some(p) if p.cluster.localtime >= cluster.localtime => p.advanced_at,
                _ => now,
            };
            let lag = grid
                .as_ref()
                .and_then(|g| g.localtime)
                .map_or(0, |g| g.saturating_sub(cluster.localtime));
            seen.insert(cluster.name.clone());
            views.push(ClusterView {
                cluster: Arc::new(cluster),
                polled_at: now,
                advanced_at,
                lag,
                step,
                source: source.clone(),
            });
        }
        if !clean {
            // Clusters a damaged answer did not bring keep their last copy.
            views.extend(
                old.clusters
                    .iter()
                    .filter(|c| !seen.contains(&c.cluster.name))
                    .cloned(),
            );
        }
        let remote_grids: Vec<Arc<Grid>> = remote
            .into_iter()
            .map(|mut g| {
                if g.summary.is_none() {
                    g.summary = Some(summarize_grid(&g, 0));
                }
                Arc::new(g)
            })
            .collect();
        let mut summary = Summary::default();
        for v in &views {
            summary.absorb(v.summary());
        }
        for g in &remote_grids {
            if let Some(s) = &g.summary {
                summary.absorb(s);
            }
        }
        if let Some(h) = history {
            for v in views.iter().filter(|v| v.polled_at == now) {
                h.record_cluster(&v.cluster, now);
                h.record_summary(&format!("cluster:{}", v.cluster.name), now, v.summary());
            }
            for g in &remote_grids {
                if let Some(s) = &g.summary {
                    h.record_summary(&format!("grid:{}", g.name), now, s);
                }
            }
        }
        self.view = Arc::new(SourceView {
            name: source,
            status,
            grid,
            clusters: views,
            remote_grids,
            summary,
        });
        self.view.clone()
    }
}

/// Splits a document into the enclosing grid (if any), its clusters, and nested grids.
fn flatten(items: Vec<Item>) -> (Option<GridInfo>, Vec<Cluster>, Vec<Grid>) {
    let mut info = None;
    let mut clusters = Vec::new();
    let mut grids = Vec::new();
    for item in items {
        match item {
            Item::Cluster(c) => clusters.push(unwrap_arc(c)),
            Item::Grid(g) => {
                let g = unwrap_arc(g);
                if info.is_none() {
                    info = Some(GridInfo {
                        name: g.name.clone(),
                        authority: g.authority.clone(),
                        localtime: g.localtime,
                    });
                }
                clusters.extend(g.clusters.into_iter().map(unwrap_arc));
                grids.extend(g.grids.into_iter().map(unwrap_arc));
            }
            Item::Host(_) => {}
        }
    }
    (info, clusters, grids)
}

/// Takes the value out of a freshly parsed `Arc` (no copy: nobody else holds it yet).
fn unwrap_arc<T: Clone>(a: Arc<T>) -> T {
    Arc::try_unwrap(a).unwrap_or_else(|a| (*a).clone())
}

/// Adds the hosts a damaged answer did not bring, from the previous copy, aging their TN so
/// they read as of `now` like the rest.
fn keep_missing_hosts(cluster: &mut Cluster, prev: &ClusterView, now: u64) {
    let present: FxHashSet<Arc<str>> = cluster.hosts.iter().map(|h| h.name.clone()).collect();
    let aged = u32::try_from(now.saturating_sub(prev.polled_at)).unwrap_or(u32::MAX);
    for h in &prev.cluster.hosts {
        if !present.contains(&h.name) {
            let mut h = h.clone();
            h.tn = h.tn.saturating_add(aged);
            for m in &mut h.metrics {
                m.tn = m.tn.saturating_add(aged);
            }
            cluster.hosts.push(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregator::fetch::{Failure, Fetched};
    use crate::ganglia::{Limits, parse_bytes};
    use std::time::Duration;

    fn fixture(name: &str) -> Vec<u8> {
        let p = format!(
            "{}/tests/fixtures/ganglia/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(p).unwrap()
    }

    fn state() -> SourceState {
        let cfg = SourceConfig::network(
            "clusterA",
            vec![
                "127.0.0.1:1".parse().unwrap(),
                "127.0.0.1:2".parse().unwrap(),
            ],
        );
        SourceState::new(Arc::new(cfg))
    }

    fn report(st: &mut SourceState, bytes: &[u8], address: usize) -> FetchReport {
        let parsed = parse_bytes(bytes, &mut st.interner, Limits::default()).unwrap();
        FetchReport {
            fetched: Some(Fetched {
                parsed,
                address,
                latency: Duration::from_millis(3),
                incomplete: None,
            }),
            failures: vec![],
        }
    }

    #[test]
    fn good_poll_then_dead_source_keeps_data_and_goes_stale() {
        let mut st = state();
        let raw = fixture("gmond-8649-clusterA.xml");
        let r = report(&mut st, &raw, 1);
        let v = st.apply(r, 1000, None);
        assert_eq!(v.status.health, Health::Ok);
        assert_eq!(st.last_good, Some(1));
        assert_eq!(v.clusters[0].cluster.hosts.len(), 4);
        assert_eq!(v.summary.hosts_up, 4);
        assert_eq!(v.clusters[0].staleness(1010), None);

        let dead = FetchReport {
            fetched: None,
            failures: vec![
                Failure {
                    address: "127.0.0.1:2".into(),
                    error: "cannot connect: connection refused".into(),
                },
                Failure {
                    address: "127.0.0.1:1".into(),
                    error: "cannot connect: connection refused".into(),
                },
            ],
        };
        let v = st.apply(dead, 1015, None);
        assert_eq!(v.status.health, Health::Dead);
        assert!(
            v.status
                .last_error
                .as_deref()
                .unwrap()
                .contains("127.0.0.1:2: cannot connect")
        );
        assert_eq!(v.clusters[0].cluster.hosts.len(), 4, "last good data kept");
        assert_eq!(st.last_good, None);
        assert_eq!(
            v.clusters[0].staleness(1031),
            Some(crate::aggregator::Stale::NoAnswer(31))
        );
        // By gmetad's rule hosts go down as TN grows past 4 × TMAX (TN 14..34 at the poll)…
        assert_eq!(v.clusters[0].hosts_up_down(1000 + 65), (3, 1));
        assert_eq!(v.clusters[0].hosts_up_down(1000 + 66), (0, 4));
        // …but nobody heard from them: the console calls them unknown since the last poll
        // and counts them as they were then.
        let c = &v.clusters[0];
        assert_eq!(c.known_at(), 1000);
        assert_eq!(c.hosts_up_down_known(), (4, 0));
        for h in &c.cluster.hosts {
            assert_eq!(
                c.liveness(h, 1000 + 66),
                crate::aggregator::Liveness::Unknown {
                    since: 1000,
                    was_up: true
                },
                "{}",
                h.name
            );
        }
        assert_eq!(
            c.liveness(&c.cluster.hosts[0], 1010),
            crate::aggregator::Liveness::Up,
            "fresh data still says up or down"
        );
    }

    #[test]
    fn damaged_poll_keeps_hosts_it_lost() {
        let mut st = state();
        let raw = fixture("gmond-8649-clusterA.xml");
        let r = report(&mut st, &raw, 0);
        st.apply(r, 1000, None);
        let cut_at = raw
            .windows(22)
            .position(|w| w == b"<HOST NAME=\"a-node02\" ")
            .unwrap();
        let r = report(&mut st, &raw[..cut_at + 100], 0);
        let v = st.apply(r, 1015, None);
        assert_eq!(v.status.health, Health::Degraded);
        assert!(
            v.status
                .last_error
                .as_deref()
                .unwrap()
                .contains("incomplete answer")
        );
        let c = &v.clusters[0];
        assert_eq!(
            c.cluster.hosts.len(),
            4,
            "a-node02 and a-node03 kept from the last poll"
        );
        let kept = c.cluster.host("a-node03").unwrap();
        assert_eq!(kept.tn, 14 + 15, "aged to read as of now");
    }

    #[test]
    fn frozen_localtime_is_stale_even_when_polls_succeed() {
        let mut st = state();
        let raw = fixture("gmond-8649-clusterA.xml");
        for t in [1000, 1015, 1030, 1045] {
            let r = report(&mut st, &raw, 0);
            st.apply(r, t, None);
        }
        let v = st.view.clone();
        assert_eq!(v.clusters[0].advanced_at, 1000);
        assert_eq!(
            v.clusters[0].staleness(1045),
            Some(crate::aggregator::Stale::Frozen(45))
        );
        // Polls succeed, but what they bring is from when LOCALTIME last moved.
        assert_eq!(v.clusters[0].known_at(), 1000);
    }

    #[test]
    fn gmetad_sources_flatten_and_measure_lag() {
        let mut st = state();
        let r = report(&mut st, &fixture("gmetad-8651-xml_port.xml"), 0);
        let v = st.apply(r, 1000, None);
        assert_eq!(v.grid.as_ref().unwrap().name.as_ref(), "AcceptanceGrid");
        assert_eq!(v.clusters.len(), 2);
        let b = v
            .clusters
            .iter()
            .find(|c| &*c.cluster.name == "clusterB")
            .unwrap();
        assert_eq!(b.lag, 1795354172 - 1795354170);
        assert_eq!(v.summary.hosts_up, 6);
        let r = report(&mut st, &fixture("gmetad-top-8661-xml_port.xml"), 0);
        let v = st.apply(r, 1015, None);
        assert_eq!(v.remote_grids.len(), 1);
        assert_eq!(v.summary.hosts_up, 6, "remote grid summary counted");
    }
}
