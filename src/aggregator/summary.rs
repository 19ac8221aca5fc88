//! Summaries computed the way gmetad computes them (`process_xml.c`): numeric metrics only,
//! up hosts only, metrics past their DMAX skipped; sums print with the metric's precision.

use rustc_hash::FxHashMap;

use crate::model::{Cluster, Grid, Host, MetricSummary, Ratio, Summary, decimals_of};

/// The summary of one cluster, `age` seconds after it was polled.
pub fn summarize_cluster(c: &Cluster, age: u64) -> Summary {
    let mut s = Summary::default();
    let mut index: FxHashMap<&str, usize> = FxHashMap::default();
    for h in &c.hosts {
        if !h.is_up(c.localtime, age) {
            s.hosts_down += 1;
            continue;
        }
        s.hosts_up += 1;
        for m in &h.metrics {
            if !m.meta.kind.is_numeric() || m.is_expired(u64::from(m.tn) + age) {
                continue;
            }
            let Some(v) = m.value() else { continue };
            let decimals = if m.meta.kind.is_integer() {
                0
            } else {
                decimals_of(&m.text)
            };
            match index.get(&*m.meta.name) {
                Some(&i) => {
                    let e = &mut s.metrics[i];
                    e.sum += v;
                    e.num += 1;
                    e.decimals = e.decimals.max(decimals);
                }
                None => {
                    index.insert(&m.meta.name, s.metrics.len());
                    s.metrics.push(MetricSummary {
                        meta: m.meta.clone(),
                        sum: v,
                        num: 1,
                        decimals,
                    });
                }
            }
        }
    }
    s
}

/// Load per CPU and memory in use of some hosts, `age` seconds after their poll, each ratio
/// over only the hosts that report both of its terms (expired metrics skipped, as in
/// [`summarize_cluster`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HostRatios {
    /// load_one over cpu_num.
    pub load: Ratio,
    /// Memory in use (total − free − buffers − cached, KB) over mem_total (KB).
    pub mem: Ratio,
}

/// Computes [`HostRatios`] over `hosts` (the caller picks which: the up ones).
pub fn host_ratios<'h>(hosts: impl IntoIterator<Item = &'h Host>, age: u64) -> HostRatios {
    let mut r = HostRatios::default();
    for h in hosts {
        let v = |name: &str| {
            h.metric(name)
                .filter(|m| !m.is_expired(u64::from(m.tn) + age))
                .and_then(|m| m.value())
        };
        if let (Some(load), Some(cpus)) = (v("load_one"), v("cpu_num")) {
            r.load.part += load;
            r.load.whole += cpus;
            r.load.hosts += 1;
        }
        if let (Some(total), Some(free)) = (v("mem_total"), v("mem_free")) {
            let used =
                total - free - v("mem_buffers").unwrap_or(0.0) - v("mem_cached").unwrap_or(0.0);
            r.mem.part += used.max(0.0);
            r.mem.whole += total;
            r.mem.hosts += 1;
        }
    }
    r
}

/// A grid's summary: its own when it carries one (a remote grid), else the roll-up of its
/// clusters (their summaries, computed when missing) and nested grids.
pub fn summarize_grid(g: &Grid, age: u64) -> Summary {
    if let Some(s) = &g.summary {
        return s.clone();
    }
    let mut total = Summary::default();
    for c in &g.clusters {
        match &c.summary {
            Some(s) => total.absorb(s),
            None => total.absorb(&summarize_cluster(c, age)),
        }
    }
    for sub in &g.grids {
        total.absorb(&summarize_grid(sub, age));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ganglia::{Interner, Limits, parse_bytes};
    use crate::model::Item;

    fn fixture(name: &str) -> Vec<u8> {
        let p = format!(
            "{}/tests/fixtures/ganglia/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(p).unwrap()
    }

    #[test]
    fn cluster_summary_matches_gmetad() {
        // gmetad's own summary of the same moment (`/clusterA?filter=summary`) is the oracle.
        let mut i = Interner::default();
        let full = parse_bytes(
            &fixture("gmetad-8651-xml_port.xml"),
            &mut i,
            Limits::default(),
        )
        .unwrap();
        let answer = parse_bytes(
            &fixture("gmetad-8652-root-summary.xml"),
            &mut i,
            Limits::default(),
        )
        .unwrap();
        let Item::Grid(g) = &full.document.items[0] else {
            panic!()
        };
        let Item::Grid(sg) = &answer.document.items[0] else {
            panic!()
        };
        for c in &g.clusters {
            let ours = summarize_cluster(c, 0);
            let theirs = sg.cluster(&c.name).unwrap().summary.clone().unwrap();
            assert_eq!(
                (ours.hosts_up, ours.hosts_down),
                (theirs.hosts_up, theirs.hosts_down)
            );
            assert_eq!(ours.metrics.len(), theirs.metrics.len(), "{}", c.name);
            for t in &theirs.metrics {
                let o = ours.metric(&t.meta.name).unwrap();
                assert_eq!(o.num, t.num, "{} {}", c.name, t.meta.name);
                assert_eq!(
                    crate::ganglia::format_sum(o.sum, o.decimals),
                    crate::ganglia::format_sum(t.sum, t.decimals),
                    "{} {}",
                    c.name,
                    t.meta.name
                );
            }
        }
        // The grid roll-up matches gmetad's grid-level summary. gmetad computes that one in a
        // separate thread at another moment, so only counts and constants must agree.
        let ours = summarize_grid(g, 0);
        let theirs = sg.summary.clone().unwrap();
        assert_eq!(ours.hosts_up, theirs.hosts_up);
        for t in &theirs.metrics {
            let o = ours.metric(&t.meta.name).unwrap();
            assert_eq!(o.num, t.num, "{}", t.meta.name);
            if t.meta.slope == crate::model::Slope::Zero {
                assert!(
                    (o.sum - t.sum).abs() < 1e-6 * t.sum.abs().max(1.0),
                    "{}",
                    t.meta.name
                );
            }
        }
    }

    #[test]
    fn down_hosts_are_counted_but_not_summed() {
        let mut i = Interner::default();
        let p = parse_bytes(
            &fixture("gmond-8649-clusterA.xml"),
            &mut i,
            Limits::default(),
        )
        .unwrap();
        let c = p.document.clusters()[0].clone();
        let fresh = summarize_cluster(&c, 0);
        assert_eq!((fresh.hosts_up, fresh.hosts_down), (4, 0));
        // 46 s later only the host heard from 34 s ago has passed 4 × TMAX = 80.
        let mid = summarize_cluster(&c, 46);
        assert_eq!((mid.hosts_up, mid.hosts_down), (3, 1));
        // 66 s later every host's TN (14..34) + 66 ≥ 80: all down.
        let later = summarize_cluster(&c, 66);
        assert_eq!((later.hosts_up, later.hosts_down), (0, 4));
        assert!(later.metrics.is_empty());
    }

    #[test]
    fn ratios_pair_terms_host_by_host() {
        let mut i = Interner::default();
        let p = parse_bytes(
            &fixture("gmond-8649-clusterA.xml"),
            &mut i,
            Limits::default(),
        )
        .unwrap();
        let mut c = Cluster::clone(p.document.clusters()[0]);
        let all = host_ratios(&c.hosts, 0);
        assert_eq!(all.load.hosts, 3, "a-ghost01 reports neither load nor CPUs");
        assert_eq!(all.mem.hosts, 3);
        let pct = all.mem.fraction().unwrap();
        assert!((0.0..0.1).contains(&pct), "{pct}");
        // a-node01 loses mem_total but keeps mem_free: summed apart, free would exceed
        // total's share; paired, a-node01 simply leaves the memory ratio.
        let n1 = c.hosts.iter().position(|h| &*h.name == "a-node01").unwrap();
        c.hosts[n1].metrics.retain(|m| &*m.meta.name != "mem_total");
        let r = host_ratios(&c.hosts, 0);
        assert_eq!(r.mem.hosts, 2);
        assert_eq!(r.load, all.load);
        assert!((r.mem.fraction().unwrap() - pct).abs() < 0.01);
        let s = summarize_cluster(&c, 0);
        assert_eq!(
            s.mem_ratio(),
            None,
            "sums over 2 and 3 hosts cannot be paired"
        );
    }
}
