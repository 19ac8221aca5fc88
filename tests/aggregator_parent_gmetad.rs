//! Debian's real gmetad 3.7.2 with `gantry aggregator` as its data_source, the way a site puts
//! one gmetad above others: it reads our xml port as a child grid and serves our clusters, hosts
//! and values again. gmetad binds every interface and has no option against it, so the test
//! re-runs itself inside a private network namespace (root and `unshare`), where only its own
//! loopback exists. Skipped, with the reason, where that cannot be done.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Proc, free_port};
use gantry::ganglia::{Interner, Limits, parse_bytes};
use gantry::model::{Document, Item};
use gantry::sim::{ClusterSpec, SimHandle, SimOptions};

const NAME: &str = "a_real_gmetad_serves_the_aggregators_clusters_again";

#[test]
fn a_real_gmetad_serves_the_aggregators_clusters_again() {
    if !std::path::Path::new("/usr/sbin/gmetad").exists() {
        common::skip("gmetad is not installed (apt-get install gmetad)");
        return;
    }
    match common::netns::run_inside(NAME) {
        common::netns::NetNs::Inside => inside(),
        common::netns::NetNs::Done => {}
        // A kernel permission, not a package CI could install: a plain skip even under CI.
        common::netns::NetNs::Unavailable(why) => println!("SKIPPED: {why}"),
    }
}

/// Reads a whole answer from an xml port.
fn dump(port: u16) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.read_to_end(&mut out);
    }
    out
}

/// One query on an interactive port.
fn ask(port: u16, query: &str) -> String {
    use std::io::{Read, Write};
    let mut answer = Vec::new();
    if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.write_all(format!("{query}\n").as_bytes());
        let _ = s.read_to_end(&mut answer);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn parse(doc: &[u8]) -> Document {
    parse_bytes(doc, &mut Interner::default(), Limits::default())
        .map(|p| p.document)
        .unwrap_or_default()
}

fn inside() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sim = rt
        .block_on(SimHandle::start(
            vec![
                ClusterSpec {
                    name: "alpha".into(),
                    hosts: 12,
                    down: 2,
                    port: 0,
                },
                ClusterSpec {
                    name: "beta".into(),
                    hosts: 5,
                    down: 0,
                    port: 0,
                },
            ],
            SimOptions::default(),
        ))
        .expect("sim");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("config.toml"), "grid_name = \"lower\"\n").expect("config");
    let (ours, xml, interactive) = (free_port(), free_port(), free_port());
    let _agg = Proc(
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["aggregator", "--no-history"])
            .args(["--source", &format!("alpha {}", sim.addr("alpha").unwrap())])
            .args(["--source", &format!("beta {}", sim.addr("beta").unwrap())])
            .args(["--xml-listen", &format!("127.0.0.1:{ours}")])
            .args(["--interactive-listen", "off"])
            .env("GANTRY_CONFIG_DIR", dir.path())
            .env("GANTRY_STATE_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gantry aggregator"),
    );
    // Two parents: one keeping every host (scalable off: gmetad then lists our clusters as
    // its own), one keeping only our grid's summary (scalable on, gmetad's default).
    let start_gmetad = |name: &str, scalable: bool, xml: u16, interactive: u16| {
        let rrds = dir.path().join(format!("rrds-{name}"));
        std::fs::create_dir_all(&rrds).expect("rrd dir");
        let conf = dir.path().join(format!("gmetad-{name}.conf"));
        std::fs::write(
            &conf,
            format!(
                "data_source \"lower\" 5 127.0.0.1:{ours}\ngridname \"{name}\"\nxml_port {xml}\n\
                 interactive_port {interactive}\nscalable {}\nsetuid off\nwrite_rrds off\n\
                 rrd_rootdir \"{}\"\n",
                if scalable { "on" } else { "off" },
                rrds.display()
            ),
        )
        .expect("gmetad.conf");
        Proc(
            Command::new("/usr/sbin/gmetad")
                .args(["-d", "1", "-c"])
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("gmetad"),
        )
    };
    let (summary_xml, summary_interactive) = (free_port(), free_port());
    let _flat = start_gmetad("upper", false, xml, interactive);
    let _summary = start_gmetad("top", true, summary_xml, summary_interactive);

    // What we serve, and what gmetad serves once it has polled us.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (ours_doc, theirs) = loop {
        let ours_doc = parse(&dump(ours));
        let theirs = parse(&dump(xml));
        let hosts = |d: &Document| d.clusters().iter().map(|c| c.hosts.len()).sum::<usize>();
        if hosts(&ours_doc) == 17 && hosts(&theirs) == 17 {
            break (ours_doc, theirs);
        }
        assert!(
            Instant::now() < deadline,
            "gmetad never served our 17 hosts (ours {}, gmetad's {})",
            hosts(&ours_doc),
            hosts(&theirs)
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    // Every host of ours is in gmetad's answer, under its root grid.
    let Some(Item::Grid(upper)) = theirs.items.first() else {
        panic!("gmetad's answer has no root grid: {theirs:?}");
    };
    assert_eq!(&*upper.name, "upper");
    for name in ["alpha", "beta"] {
        let (a, b) = (
            upper.cluster(name).expect("cluster in gmetad's answer"),
            ours_doc
                .clusters()
                .into_iter()
                .find(|c| &*c.name == name)
                .expect("cluster in ours"),
        );
        assert_eq!(a.hosts.len(), b.hosts.len(), "{name}");
        // Every host; the live ones with the same metrics and identical constant values
        // (gmetad keeps no metrics for a dead host: `startElement_METRIC` returns early).
        for h in &b.hosts {
            let g = a.host(&h.name).expect("host passed through");
            if h.tn >= 4 * h.tmax.max(1) {
                continue;
            }
            assert_eq!(g.metrics.len(), h.metrics.len(), "{}", h.name);
            for m in ["cpu_num", "mem_total", "os_name", "machine_type"] {
                assert_eq!(
                    g.metric(m).map(|x| x.text.to_string()),
                    h.metric(m).map(|x| x.text.to_string()),
                    "{}/{m}",
                    h.name
                );
            }
        }
    }
    // Its interactive port answers a path into our cluster.
    let text = ask(interactive, "/alpha?filter=summary");
    assert!(text.contains("<CLUSTER NAME=\"alpha\""), "{text}");
    assert!(text.contains("<HOSTS UP=\"10\" DOWN=\"2\""), "{text}");

    // The summary-only parent keeps our grid by name with the totals we sent.
    let deadline = Instant::now() + Duration::from_secs(60);
    let lower = loop {
        let doc = parse(&dump(summary_xml));
        let lower = match doc.items.first() {
            Some(Item::Grid(top)) => top.grid("lower").cloned(),
            _ => None,
        };
        // gmetad may first read us before our own sources were all polled (a loaded machine):
        // wait for the whole grid, and compare once the deadline comes.
        if let Some(l) = lower.filter(|l| {
            l.summary
                .as_ref()
                .is_some_and(|s| s.hosts_up + s.hosts_down == 17)
                || Instant::now() + Duration::from_millis(600) > deadline
        }) {
            break l;
        }
        assert!(
            Instant::now() < deadline,
            "gmetad never summarised our grid"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let summary = lower.summary.as_ref().expect("summary");
    assert_eq!((summary.hosts_up, summary.hosts_down), (15, 2));
    let cpus = summary.metric("cpu_num").expect("cpu_num summed");
    assert_eq!(cpus.num, 15, "summed over the live hosts");
    let our_cpus: f64 = ours_doc
        .clusters()
        .iter()
        .flat_map(|c| c.hosts.iter())
        .filter(|h| h.tn < 4 * h.tmax.max(1))
        .filter_map(|h| h.value("cpu_num"))
        .sum();
    assert_eq!(cpus.sum, our_cpus);
    drop(sim);
}
