//! The aggregator against a real gmond 3.7.2 (Debian's `ganglia-monitor`) on 127.0.0.1: the
//! hosts, metrics and values it reports must be exactly what that gmond sends. Skipped, with
//! the reason, where gmond is not installed; `.ci/run` installs it.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::gmond::{Gmond, gmond_binary};
use gantry::aggregator::{FetchSettings, Health, SourceConfig, SourceState, fetch, now_epoch};

/// (host, metric) → (VAL, TYPE, UNITS), read from the raw text without Gantry's parser.
fn naive(xml: &[u8]) -> BTreeMap<(String, String), (String, String, String)> {
    fn attr(tag: &str, name: &str) -> String {
        let key = format!(" {name}=\"");
        tag.find(&key)
            .map(|i| {
                let rest = &tag[i + key.len()..];
                rest[..rest.find('"').unwrap_or(rest.len())].to_string()
            })
            .unwrap_or_default()
    }
    let text = String::from_utf8_lossy(xml);
    let mut out = BTreeMap::new();
    for host in text.split("<HOST ").skip(1) {
        let host_tag = &host[..host.find('>').unwrap_or(0)];
        let name = attr(&format!(" {host_tag}"), "NAME");
        for m in host.split("<METRIC ").skip(1) {
            let tag = format!(" {}", &m[..m.find('>').unwrap_or(0)]);
            out.insert(
                (name.clone(), attr(&tag, "NAME")),
                (attr(&tag, "VAL"), attr(&tag, "TYPE"), attr(&tag, "UNITS")),
            );
        }
        if host.contains("</CLUSTER>") {
            break;
        }
    }
    out
}

fn skip_reason() -> Option<&'static str> {
    gmond_binary()
        .is_none()
        .then_some("gmond not installed (apt-get install ganglia-monitor)")
}

#[test]
fn aggregator_reports_what_a_real_gmond_sends() {
    if let Some(why) = skip_reason() {
        common::skip(why);
        return;
    }
    let mut collector = Gmond::collector("gantry-real", "Gantry Tests").expect("start gmond");
    let _sender = Gmond::sender(&mut collector, "node02", "127.0.1.2").expect("start sender");
    collector
        .wait_for(2, 25, Duration::from_secs(90))
        .expect("gmond serves two hosts");

    let cfg = SourceConfig::network("real", vec![collector.address().parse().unwrap()]);
    let mut state = SourceState::new(Arc::new(cfg.clone()));
    let before = naive(&collector.read_xml().unwrap());
    let report = fetch(
        cfg.addresses(),
        None,
        &FetchSettings::default(),
        &mut state.interner,
    );
    let after = naive(&collector.read_xml().unwrap());
    let view = state.apply(report, now_epoch(), None);

    assert_eq!(
        view.status.health,
        Health::Ok,
        "{:?}",
        view.status.last_error
    );
    assert_eq!(view.clusters.len(), 1);
    let c = &view.clusters[0].cluster;
    assert_eq!(&*c.name, "gantry-real");
    assert_eq!(c.owner.as_deref(), Some("Gantry Tests"));
    let mut hosts: Vec<&str> = c.hosts.iter().map(|h| &*h.name).collect();
    hosts.sort_unstable();
    assert!(hosts.contains(&"node02"), "{hosts:?}");
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    let node02 = c.host("node02").unwrap();
    assert_eq!(&*node02.ip, "127.0.1.2");

    let mut checked = 0;
    for h in &c.hosts {
        for m in &h.metrics {
            let key = (h.name.to_string(), m.meta.name.to_string());
            let b = before.get(&key);
            let a = after.get(&key);
            let seen: Vec<_> = [b, a].into_iter().flatten().collect();
            assert!(!seen.is_empty(), "{key:?} is not in gmond's document");
            assert!(
                seen.iter().any(|(val, kind, units)| *val == m.text
                    && kind == m.meta.kind.as_str()
                    && *units == *m.meta.units),
                "{key:?}: ours {:?} {} {:?}, gmond {seen:?}",
                m.text,
                m.meta.kind.as_str(),
                m.meta.units
            );
            if let Some(v) = m.value() {
                assert_eq!(v, m.text.trim().parse::<f64>().unwrap());
            }
            checked += 1;
        }
        let theirs = before.keys().filter(|(host, _)| **host == *h.name).count();
        assert!(
            h.metrics.len() >= theirs.min(25),
            "{} metrics of {}",
            h.metrics.len(),
            h.name
        );
    }
    assert!(checked >= 50, "only {checked} metrics compared");
    let summary = c.summary.as_ref().unwrap();
    assert_eq!(summary.hosts_up, 2);
    assert_eq!(summary.metric("cpu_num").unwrap().num, 2);

    // The same through the real binary, end to end.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args([
            "status",
            "--json",
            "--source",
            &format!("real {}", collector.address()),
        ])
        .env("GANTRY_CONFIG_DIR", home.path())
        .env("GANTRY_STATE_DIR", home.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hosts"]["up"], 2);
    assert_eq!(v["sources"][0]["health"], "ok");
    assert_eq!(v["sources"][0]["clusters"][0]["name"], "gantry-real");
}

#[test]
fn malformed_document_from_a_real_gmond_keeps_every_host() {
    if let Some(why) = skip_reason() {
        common::skip(why);
        return;
    }
    // gmond writes CLUSTER attributes unescaped: this owner makes its document malformed,
    // and gmetad would drop the whole cluster.
    let mut collector =
        Gmond::collector("gantry-bad", "Ops <ops@example.com> & co").expect("start gmond");
    let _sender = Gmond::sender(&mut collector, "node02", "127.0.1.2").expect("start sender");
    let raw = collector
        .wait_for(2, 25, Duration::from_secs(90))
        .expect("gmond serves two hosts");
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains("OWNER=\"Ops <ops@example.com> & co\""),
        "gmond really sends it unescaped"
    );

    let cfg = SourceConfig::network("bad", vec![collector.address().parse().unwrap()]);
    let mut state = SourceState::new(Arc::new(cfg.clone()));
    let report = fetch(
        cfg.addresses(),
        None,
        &FetchSettings::default(),
        &mut state.interner,
    );
    let view = state.apply(report, now_epoch(), None);
    assert_eq!(view.status.health, Health::Degraded);
    let err = view.status.last_error.clone().unwrap();
    assert!(
        err.contains("unescaped '&' and '<' in OWNER of CLUSTER"),
        "{err}"
    );
    let c = &view.clusters[0].cluster;
    assert_eq!(c.hosts.len(), 2);
    assert_eq!(c.owner.as_deref(), Some("Ops <ops@example.com> & co"));
    assert!(c.hosts.iter().all(|h| h.metrics.len() >= 25));
}
