//! The parser against every real gmond and gmetad document in the fixtures, and against the
//! damage real gmond produces.

mod common;

use common::{find, fixture, metric_count_in_text, replace_once};
use gantry::ganglia::{Interner, Limits, ParseError, Parsed, StreamParser, parse_bytes};
use gantry::model::{Document, Item, MetricType, Origin, Slope};
use proptest::prelude::*;

fn parse(bytes: &[u8]) -> Parsed {
    parse_bytes(bytes, &mut Interner::default(), Limits::default()).expect("parses")
}

fn parse_in_chunks(bytes: &[u8], sizes: &[usize]) -> Result<Parsed, ParseError> {
    let mut interner = Interner::default();
    let mut p = StreamParser::new(&mut interner, Limits::default());
    let mut pos = 0;
    let mut i = 0;
    while pos < bytes.len() {
        let n = sizes[i % sizes.len()].max(1).min(bytes.len() - pos);
        p.feed(&bytes[pos..pos + n])?;
        pos += n;
        i += 1;
    }
    p.finish()
}

#[test]
fn gmond_cluster_document() {
    let raw = fixture("ganglia/gmond-8649-clusterA.xml");
    let p = parse(&raw);
    assert!(p.is_clean(), "{:?}", p.damage);
    let doc = &p.document;
    assert_eq!(doc.origin, Origin::Gmond);
    assert_eq!(&*doc.version, "3.7.2");
    let clusters = doc.clusters();
    assert_eq!(clusters.len(), 1);
    let c = clusters[0];
    assert_eq!(&*c.name, "clusterA");
    assert_eq!(c.localtime, 1795354172);
    assert_eq!(c.owner.as_deref(), Some("Acceptance Ops"));
    assert_eq!(c.latlong.as_deref(), Some("N48.15 E11.58"));
    assert_eq!(c.hosts.len(), 4);
    for h in &c.hosts {
        assert_eq!(
            h.metrics.len(),
            metric_count_in_text(&raw, &h.name),
            "{}",
            h.name
        );
    }
    let n1 = c.host("a-node01").unwrap();
    assert_eq!(&*n1.ip, "127.0.1.1");
    assert_eq!(&*n1.tags, "rack:0,role:compute");
    assert_eq!(n1.reported, 1795354158);
    assert_eq!((n1.tn, n1.tmax, n1.dmax), (14, 20, 86400));
    assert_eq!(&*n1.location, "0,1,0");
    assert_eq!(n1.gmond_started, 1795354137);
    let load = n1.metric("load_one").unwrap();
    assert_eq!(load.text, "0.67");
    assert_eq!(load.value(), Some(0.67));
    assert_eq!(load.meta.kind, MetricType::Float);
    assert_eq!(&*load.meta.units, " ");
    assert_eq!(load.meta.tmax, 70);
    assert_eq!(load.meta.slope, Slope::Both);
    assert_eq!(load.meta.group(), Some("load"));
    assert_eq!(load.meta.title(), Some("One Minute Load Average"));
    assert_eq!(load.meta.description(), Some("One minute load average"));
    let gexec = n1.metric("gexec").unwrap();
    assert_eq!(gexec.meta.kind, MetricType::String);
    assert_eq!(gexec.value(), None);
    assert_eq!(gexec.text, "OFF");
    // A gmetric metric with two GROUPs and spoofing data keeps every extra element in order.
    let multi = n1
        .metrics
        .iter()
        .find(|m| m.meta.groups().count() == 2)
        .expect("a metric in two groups");
    assert_eq!(
        multi.meta.groups().collect::<Vec<_>>(),
        ["jobs", "scheduler"]
    );
    assert!(multi.meta.extra.iter().any(|(k, _)| &**k == "SPOOF_HOST"));
    // The ghost host has no metrics at all.
    assert!(c.host("a-ghost01").unwrap().metrics.is_empty());
    // Hosts share metadata: one load_one meta for all of them.
    let metas: Vec<_> = c
        .hosts
        .iter()
        .filter_map(|h| h.metric("load_one"))
        .map(|m| std::sync::Arc::as_ptr(&m.meta))
        .collect();
    assert!(metas.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn gmetad_full_dump() {
    let raw = fixture("ganglia/gmetad-8651-xml_port.xml");
    let p = parse(&raw);
    assert!(p.is_clean(), "{:?}", p.damage);
    let doc = &p.document;
    assert_eq!(doc.origin, Origin::Gmetad);
    let Item::Grid(g) = &doc.items[0] else {
        panic!("GRID at the root")
    };
    assert_eq!(&*g.name, "AcceptanceGrid");
    assert_eq!(&*g.authority, "http://127.0.0.1/ganglia/");
    assert_eq!(g.localtime, Some(1795354172));
    assert!(g.summary.is_none());
    let mut names: Vec<_> = g.clusters.iter().map(|c| c.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["clusterA", "clusterB"]);
    assert_eq!(doc.host_count(), 6);
    for c in &g.clusters {
        for h in &c.hosts {
            assert_eq!(h.metrics.len(), metric_count_in_text(&raw, &h.name));
        }
    }
}

#[test]
fn gmetad_remote_grid_keeps_only_summaries() {
    let p = parse(&fixture("ganglia/gmetad-top-8661-xml_port.xml"));
    assert!(p.is_clean(), "{:?}", p.damage);
    let Item::Grid(top) = &p.document.items[0] else {
        panic!()
    };
    assert_eq!(&*top.name, "TopGrid");
    assert!(top.clusters.is_empty());
    let remote = top.grid("AcceptanceGrid").expect("nested grid");
    assert_eq!(remote.localtime, Some(1795354170));
    let s = remote.summary.as_ref().expect("remote summary");
    assert_eq!((s.hosts_up, s.hosts_down), (6, 0));
    assert_eq!(s.metrics.len(), 30);
    assert!(s.metric("load_one").is_some());
    assert!(s.metric("load_one").unwrap().meta.extra.is_empty());
}

#[test]
fn interactive_answers() {
    // /?filter=summary: grid summary then clusters with only their summaries.
    let p = parse(&fixture("ganglia/gmetad-8652-root-summary.xml"));
    assert!(p.is_clean());
    let Item::Grid(g) = &p.document.items[0] else {
        panic!()
    };
    let gs = g.summary.as_ref().unwrap();
    assert_eq!((gs.hosts_up, gs.hosts_down), (6, 0));
    assert_eq!(gs.metric("load_one").unwrap().sum, 3.35);
    assert_eq!(gs.metric("load_one").unwrap().num, 5);
    assert_eq!(gs.metric("load_one").unwrap().decimals, 2);
    let a = g.cluster("clusterA").unwrap();
    assert!(a.hosts.is_empty());
    let s = a.summary.as_ref().unwrap();
    assert_eq!((s.hosts_up, s.hosts_down), (4, 0));
    assert_eq!(s.sum("cpu_num"), Some(6.0));
    assert_eq!(s.metric("cpu_num").unwrap().decimals, 0);
    assert_eq!(s.metric("load_one").unwrap().meta.group(), Some("load"));

    // /clusterA?filter=summary
    let p = parse(&fixture("ganglia/gmetad-8652-clusterA-summary.xml"));
    let c = p.document.clusters()[0].clone();
    assert_eq!(c.summary.as_ref().unwrap().metrics.len(), 30);

    // /clusterA/a-node01 and /clusterA/a-node01/load_one
    let raw = fixture("ganglia/gmetad-8652-clusterA-a-node01.xml");
    let p = parse(&raw);
    let c = p.document.clusters()[0].clone();
    assert_eq!(c.hosts.len(), 1);
    assert_eq!(
        c.hosts[0].metrics.len(),
        metric_count_in_text(&raw, "a-node01")
    );
    let p = parse(&fixture(
        "ganglia/gmetad-8652-clusterA-a-node01-load_one.xml",
    ));
    let c = p.document.clusters()[0].clone();
    assert_eq!(c.hosts[0].metrics.len(), 1);
    assert_eq!(c.hosts[0].metrics[0].num, 0.67);

    // The HTTP form, headers and all.
    let p = parse(&fixture("ganglia/gmetad-8652-http-clusterA-summary.txt"));
    assert!(p.is_clean());
    let c = p.document.clusters()[0].clone();
    assert_eq!(c.summary.as_ref().unwrap().hosts_up, 4);
}

#[test]
fn http_errors_and_empty_answers() {
    let r = parse_bytes(
        b"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n",
        &mut Interner::default(),
        Limits::default(),
    );
    assert_eq!(
        r,
        Err(ParseError::HttpStatus("HTTP/1.0 404 Not Found".into()))
    );
    let r = parse_bytes(b"", &mut Interner::default(), Limits::default());
    assert_eq!(r, Err(ParseError::Empty));
    let r = parse_bytes(
        b"{\"host\": 1}",
        &mut Interner::default(),
        Limits::default(),
    );
    assert!(matches!(r, Err(ParseError::NotXml(_))), "{r:?}");
}

#[test]
fn gzip_is_detected_by_magic() {
    use std::io::Write;
    let raw = fixture("ganglia/gmond-8649-clusterA.xml");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&raw).unwrap();
    let gz = enc.finish().unwrap();
    let plain = parse(&raw);
    let zipped = parse_in_chunks(&gz, &[7, 1000, 3]).unwrap();
    assert!(zipped.gzip);
    assert_eq!(zipped.xml_bytes, raw.len() as u64);
    assert_eq!(zipped.wire_bytes, gz.len() as u64);
    assert_eq!(zipped.document, plain.document);
    // Cut in the middle: what was complete is kept and the damage reported.
    let cut = parse_in_chunks(&gz[..gz.len() * 9 / 10], &[4096]).unwrap();
    assert!(cut.document.host_count() >= 1);
    assert!(!cut.is_clean());
}

#[test]
fn any_chunking_gives_the_same_document() {
    let raw = fixture("ganglia/gmetad-8651-xml_port.xml");
    let whole = parse(&raw).document;
    for sizes in [
        &[1usize][..],
        &[2, 3, 5, 7],
        &[4096],
        &[65536, 1],
        &[100_000],
    ] {
        let p = parse_in_chunks(&raw, sizes).unwrap();
        assert!(p.is_clean(), "{sizes:?}: {:?}", p.damage);
        assert_eq!(p.document, whole, "{sizes:?}");
    }
}

fn cluster_of(doc: &Document) -> std::sync::Arc<gantry::model::Cluster> {
    doc.clusters()[0].clone()
}

#[test]
fn unescaped_owner_keeps_every_host() {
    // gmond does not escape CLUSTER attributes: gmetad loses the whole cluster here.
    let raw = fixture("ganglia/gmond-8649-clusterA.xml");
    let bad = replace_once(
        &raw,
        "OWNER=\"Acceptance Ops\"",
        b"OWNER=\"Ops <ops@x> & co\"",
    );
    let p = parse(&bad);
    let c = cluster_of(&p.document);
    assert_eq!(c.hosts.len(), 4);
    assert_eq!(c.owner.as_deref(), Some("Ops <ops@x> & co"));
    let at = find(&bad, "<CLUSTER").unwrap() as u64;
    assert_eq!(p.damage.entries[0].offset, at);
    assert!(
        p.damage.entries[0].message.contains("OWNER of CLUSTER"),
        "{:?}",
        p.damage
    );
}

#[test]
fn unescaped_extra_element_keeps_every_host() {
    let raw = fixture("ganglia/gmond-8649-clusterA.xml");
    let bad = replace_once(
        &raw,
        "VAL=\"One Minute Load Average\"",
        b"VAL=\"Title & <x>\"",
    );
    let p = parse(&bad);
    let c = cluster_of(&p.document);
    assert_eq!(c.hosts.len(), 4);
    let titles: Vec<_> = c
        .hosts
        .iter()
        .filter_map(|h| h.metric("load_one"))
        .map(|m| m.meta.title().unwrap_or("").to_string())
        .collect();
    assert!(titles.contains(&"Title & <x>".to_string()));
    assert!(titles.contains(&"One Minute Load Average".to_string()));
    assert_eq!(p.damage.total, 1, "{:?}", p.damage);
    let msg = &p.damage.entries[0].message;
    assert!(
        msg.starts_with(
            "unescaped '&' and '<' in VAL of EXTRA_ELEMENT in METRIC 'load_one' in HOST 'a-node01'"
        ),
        "{msg}"
    );
}

#[test]
fn garbage_line_loses_only_what_it_hit() {
    let raw = fixture("ganglia/gmond-8649-clusterA.xml");
    let needle = "<METRIC NAME=\"cpu_wio\"";
    let bad = replace_once(&raw, needle, b"<<!!garbage\x01 \n<METRIC NAME=\"cpu_wio\"");
    let p = parse(&bad);
    assert!(!p.damage.is_empty());
    let c = cluster_of(&p.document);
    assert_eq!(c.hosts.len(), 4);
    let n = c.hosts.iter().map(|h| h.metrics.len()).sum::<usize>();
    let orig: usize = cluster_of(&parse(&raw).document)
        .hosts
        .iter()
        .map(|h| h.metrics.len())
        .sum();
    assert_eq!(n, orig);
}

#[test]
fn truncated_document_keeps_complete_hosts() {
    let raw = fixture("ganglia/gmond-8649-clusterA.xml");
    let second = find(&raw, "<HOST NAME=\"a-ghost01\"").unwrap();
    let third = find(&raw, "<HOST NAME=\"a-node02\"").unwrap();
    let cut = &raw[..third + 300];
    let p = parse(cut);
    let c = cluster_of(&p.document);
    let names: Vec<_> = c.hosts.iter().map(|h| h.name.to_string()).collect();
    assert_eq!(names, ["a-node01", "a-ghost01"]);
    let t = p.truncated.expect("reported as truncated");
    assert!(t.contains("HOST 'a-node02'"), "{t}");
    assert!(second < third);
}

#[test]
fn latin1_and_broken_entities() {
    let raw = fixture("ganglia/gmond-8649-clusterA.xml");
    let bad = replace_once(&raw, "OWNER=\"Acceptance Ops\"", b"OWNER=\"Op\xe9rations\"");
    let bad = replace_once(&bad, "VAL=\"OFF\"", b"VAL=\"caf&#\xC5;&#\xC09;\"");
    let p = parse(&bad);
    assert!(p.is_clean(), "{:?}", p.damage);
    let c = cluster_of(&p.document);
    assert_eq!(c.owner.as_deref(), Some("Op\u{e9}rations"));
    let gexec = c.hosts[0].metric("gexec").unwrap();
    assert_eq!(gexec.text, "caf\u{FFFD}\u{FFFD}");
    // Offsets after the expanded byte still point into the original bytes.
    let bad2 = replace_once(&bad, "VAL=\"Cached Memory\"", b"VAL=\"a & b\"");
    let p = parse(&bad2);
    let at = p.damage.entries[0].offset as usize;
    assert_eq!(&bad2[at..at + 14], b"<EXTRA_ELEMENT");
}

#[test]
fn size_limit_cuts_off_with_bounded_memory() {
    let raw = fixture("ganglia/gmond-8649-clusterA.xml");
    let limits = Limits {
        max_document_bytes: 20_000,
        ..Limits::default()
    };
    let mut interner = Interner::default();
    let mut p = StreamParser::new(&mut interner, limits);
    let mut err = None;
    for chunk in raw.chunks(1000) {
        if let Err(e) = p.feed(chunk) {
            err = Some(e);
            break;
        }
    }
    assert_eq!(err, Some(ParseError::TooLarge { limit: 20_000 }));
    let parsed = p.finish().unwrap();
    assert!(parsed.truncated.unwrap().contains("cut off"));
    assert_eq!(parsed.xml_bytes, 20_000);
}

#[test]
fn endless_element_is_skipped() {
    let mut doc = b"<GANGLIA_XML VERSION=\"3.7.2\" SOURCE=\"gmond\">\n<CLUSTER NAME=\"c\" LOCALTIME=\"1\">\n<HOST NAME=\"x".to_vec();
    doc.extend(std::iter::repeat_n(b'a', 3 * 1024 * 1024));
    doc.extend_from_slice(b"\n<HOST NAME=\"y\" IP=\"1\" REPORTED=\"1\" TN=\"1\" TMAX=\"20\">\n</HOST>\n</CLUSTER>\n</GANGLIA_XML>\n");
    let p = parse_in_chunks(&doc, &[65536]).unwrap();
    assert!(
        p.damage.entries[0].message.contains("longer than"),
        "{:?}",
        p.damage
    );
    let c = cluster_of(&p.document);
    assert_eq!(c.hosts.len(), 1);
    assert_eq!(&*c.hosts[0].name, "y");
}

#[test]
fn missing_end_tags_are_repaired() {
    let doc = br#"<GANGLIA_XML VERSION="3.7.2" SOURCE="gmond">
<CLUSTER NAME="c" LOCALTIME="10">
<HOST NAME="a" IP="1" REPORTED="9" TN="1" TMAX="20">
<METRIC NAME="load_one" VAL="1.5" TYPE="float" UNITS=" " TN="1" TMAX="70" DMAX="0" SLOPE="both">
<HOST NAME="b" IP="2" REPORTED="9" TN="1" TMAX="20">
<METRIC NAME="load_one" VAL="0.5" TYPE="float" UNITS=" " TN="1" TMAX="70" DMAX="0" SLOPE="both"/>
</HOST>
</CLUSTER>
</GANGLIA_XML>
"#;
    let p = parse(doc);
    let c = cluster_of(&p.document);
    assert_eq!(c.hosts.len(), 2);
    assert_eq!(c.hosts[0].value("load_one"), Some(1.5));
    assert_eq!(c.hosts[1].value("load_one"), Some(0.5));
    assert_eq!(p.damage.total, 2, "{:?}", p.damage);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096), split in 1usize..512) {
        let _ = parse_bytes(&bytes, &mut Interner::default(), Limits::default());
        let _ = parse_in_chunks(&bytes, &[split]);
    }

    #[test]
    fn mutated_documents_never_panic(pos in 0usize..34000, len in 0usize..64, fill in any::<u8>(), split in 1usize..9000) {
        let mut raw = fixture("ganglia/gmond-8649-clusterA.xml");
        let p = pos.min(raw.len());
        let end = (p + len).min(raw.len());
        for b in &mut raw[p..end] { *b = fill; }
        let _ = parse_in_chunks(&raw, &[split]);
    }

    #[test]
    fn any_split_point_gives_the_same_document(split in 1usize..40000) {
        let raw = fixture("ganglia/gmond-8649-clusterA.xml");
        let whole = parse(&raw).document;
        let p = parse_in_chunks(&raw, &[split]).unwrap();
        prop_assert_eq!(p.document, whole);
    }
}

#[test]
fn every_real_fixture_reads_whole() {
    // Every document captured from Debian's gmond and gmetad: nothing damaged, nothing cut,
    // every host the text holds.
    let dir = common::fixture_path("ganglia");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with("metric-list.txt") {
            continue; // `gmond -m`, not a document (checked below against the collector)
        }
        let bytes = std::fs::read(&path).unwrap();
        let p = parse(&bytes);
        assert!(p.damage.entries.is_empty(), "{name}: {:?}", p.damage);
        assert!(p.truncated.is_none(), "{name}");
        let hosts_in_text = bytes.windows(6).filter(|w| w == b"<HOST ").count();
        assert_eq!(p.document.host_count(), hosts_in_text, "{name}");
        assert!(!p.document.items.is_empty(), "{name}");
        seen += 1;
    }
    assert_eq!(seen, 9, "fixtures read");
}

#[test]
fn the_collector_sends_what_gmond_m_lists() {
    // `gmond -m` of Debian's gmond 3.7.2 lists every metric its modules can send; the local
    // collector's 32 defaults are among them, under the same names.
    let list = String::from_utf8(fixture("ganglia/gmond-m-metric-list.txt")).unwrap();
    let names: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for m in gantry::collector::catalog::DEFAULT_METRICS.iter() {
        assert!(names.contains(&m.name), "{} is not a gmond metric", m.name);
    }
}

#[test]
fn real_documents_consolidate_into_history() {
    use gantry::aggregator::HistorySink;
    use gantry::history::{HistoryStore, Range};
    // clusterB as gmond sent it, recorded at two polls a minute apart with one value changed:
    // the hour keeps each minute, the day's bin averages them with min and max.
    let doc = fixture("ganglia/gmond-8659-clusterB.xml");
    let p = parse(&doc);
    let cluster = p.document.clusters()[0].clone();
    let host = cluster
        .hosts
        .iter()
        .find(|h| h.value("load_one").is_some())
        .expect("a host with load_one");
    let load = host.value("load_one").unwrap();
    let store = HistoryStore::new();
    let t0 = 1_800_000_000; // the start of a day-level bin (a multiple of 1200 s)
    HistorySink::record_cluster(&store, &cluster, t0);
    let bumped = String::from_utf8_lossy(&doc).replacen(
        &format!(
            "NAME=\"load_one\" VAL=\"{}",
            host.metric("load_one").unwrap().text
        ),
        &format!("NAME=\"load_one\" VAL=\"{}", load + 2.0),
        1,
    );
    let p2 = parse(bumped.as_bytes());
    HistorySink::record_cluster(&store, p2.document.clusters()[0], t0 + 60);
    let hour = store
        .host_series(&cluster.name, &host.name, "load_one", Range::Hour, t0 + 120)
        .unwrap();
    let got: Vec<f64> = hour.points.iter().flatten().map(|p| p.avg).collect();
    assert_eq!(got.len(), 2, "{hour:?}");
    assert!(
        (got[0] - load).abs() < 0.01 * load.max(1.0),
        "{got:?} vs {load}"
    );
    assert!(
        (got[1] - (load + 2.0)).abs() < 0.02 * (load + 2.0),
        "{got:?}"
    );
    let day = store
        .host_series(&cluster.name, &host.name, "load_one", Range::Day, t0 + 120)
        .unwrap();
    let bin = day.points.iter().flatten().next().unwrap();
    // Bounds from the exact (f32) minute averages: they hold both values.
    assert!(
        bin.min <= load + 1e-6 && bin.max >= load + 2.0 - 1e-6,
        "{bin:?}"
    );
    assert!(
        (bin.avg - (load + 1.0)).abs() < 0.05 * (load + 1.0),
        "{bin:?}"
    );
}

#[test]
fn a_host_named_twice_is_one_host_the_later_copy_kept() {
    // What a stretch of the stream repeated (found by the fault proxy) looks like: the same
    // HOST again, newer. gmond never sends one; gmetad keeps one per name too.
    let host = |load: &str| {
        format!(
            "<HOST NAME=\"n1\" IP=\"10.0.0.1\" REPORTED=\"1\" TN=\"1\" TMAX=\"20\" DMAX=\"0\">\n<METRIC NAME=\"load_one\" VAL=\"{load}\" TYPE=\"float\" UNITS=\"\" TN=\"1\" TMAX=\"70\" DMAX=\"0\" SLOPE=\"both\" SOURCE=\"gmond\"/>\n</HOST>\n"
        )
    };
    let doc = format!(
        "<GANGLIA_XML VERSION=\"3.7.2\" SOURCE=\"gmond\">\n<CLUSTER NAME=\"c\" LOCALTIME=\"1\">\n{}<HOST NAME=\"n2\" IP=\"10.0.0.2\" REPORTED=\"1\" TN=\"1\" TMAX=\"20\" DMAX=\"0\">\n</HOST>\n{}</CLUSTER>\n</GANGLIA_XML>\n",
        host("0.5"),
        host("0.9")
    );
    let p = parse(doc.as_bytes());
    let c = cluster_of(&p.document);
    let names: Vec<&str> = c.hosts.iter().map(|h| &*h.name).collect();
    assert_eq!(names, ["n1", "n2"], "one n1, in its first place");
    assert_eq!(c.hosts[0].metrics[0].num, 0.9, "the later copy");
    assert!(
        p.damage.entries[0]
            .message
            .contains("HOST 'n1' a second time"),
        "{:?}",
        p.damage
    );
}

#[test]
fn a_stream_cut_before_its_first_element_is_truncated_not_empty() {
    // A cut inside gmond's DTD once read as a healthy, empty source and every host vanished.
    let raw = fixture("ganglia/gmond-8649-clusterA.xml");
    let first = find(&raw, "<GANGLIA_XML").unwrap();
    for cut in [1, first / 2, first] {
        let p = parse(&raw[..cut]);
        assert!(p.document.items.is_empty());
        let t = p.truncated.expect("reported as truncated");
        assert!(t.contains("before its first element"), "{cut}: {t}");
    }
    let p = parse(&raw[..first + 20]);
    assert!(p.truncated.is_some());
}

#[test]
fn a_garbled_element_name_is_damage_not_a_clean_document_with_a_host_missing() {
    // A flipped byte turned one <HOST into an element no Ganglia document has: read as clean,
    // that host would vanish from a "fresh" poll (the fault proxy's soak found it).
    let raw = fixture("ganglia/gmond-8649-clusterA.xml");
    let clean = parse(&raw);
    assert!(clean.is_clean());
    let hosts = clean.document.clusters()[0].hosts.len();
    let at = find(&raw, "<HOST ").expect("a host");
    let mut bad = raw.clone();
    bad[at + 4] = b'U';
    let p = parse(&bad);
    assert!(!p.is_clean(), "read as clean with a host missing");
    assert!(
        p.damage.entries.iter().any(|e| e.message.contains("HOSU")),
        "the damage names the element: {:?}",
        p.damage
    );
    assert_eq!(p.document.clusters()[0].hosts.len(), hosts - 1);
}

#[test]
fn http_headers_end_at_the_first_empty_line_however_the_stream_is_cut() {
    // Found by the ganglia_xml fuzzer: a bare-LF empty line before the CRLF one. Read whole, the
    // headers ran to the CRLF one; read in pieces, to the LF one.
    let body = fixture("ganglia/gmond-8649-clusterA.xml");
    for (headers, ok) in [
        (
            &b"HTTP/1.0 200 OK\r\nServer: gmetad\n\nContent-Type: application/xml\r\n\r\n"[..],
            false,
        ),
        (
            &b"HTTP/1.0 200 OK\r\nServer: gmetad\r\nContent-Type: application/xml\n\n"[..],
            true,
        ),
        (&b"HTTP/1.0 200 OK\r\nServer: gmetad\r\n\r\n"[..], true),
    ] {
        let mut doc = headers.to_vec();
        doc.extend_from_slice(&body);
        let whole = parse_bytes(&doc, &mut Interner::default(), Limits::default());
        assert_eq!(whole.is_ok(), ok, "{}", String::from_utf8_lossy(headers));
        for cut in [1, 7, 53, 4096] {
            let pieces = parse_in_chunks(&doc, &[cut]);
            // "Not XML" quotes the bytes it had seen, fewer when they came in small pieces.
            let not_xml = |r: &Result<Parsed, ParseError>| matches!(r, Err(ParseError::NotXml(_)));
            assert!(
                (not_xml(&whole) && not_xml(&pieces))
                    || format!("{whole:?}") == format!("{pieces:?}"),
                "cut every {cut} bytes: {whole:?} against {pieces:?}"
            );
        }
    }
}

#[test]
fn an_http_answer_whose_body_is_another_http_answer_is_not_xml_however_the_stream_is_cut() {
    // Found by the ganglia_xml fuzzer: read whole, a second status line in the body was "not
    // XML"; read in pieces, with the body in a later read, it was taken for headers again.
    let doc = b"HTTP/1.0 200 OK\n\n\n\r\nHTTP/1.0 200 OK\r\nServer: gmetad\r\n\r\n<GANGLIA_XML/>";
    let whole = parse_bytes(doc, &mut Interner::default(), Limits::default());
    assert!(matches!(whole, Err(ParseError::NotXml(_))), "{whole:?}");
    for cut in 1..doc.len() {
        let pieces = parse_in_chunks(doc, &[cut]);
        assert!(
            matches!(pieces, Err(ParseError::NotXml(_))),
            "cut every {cut} bytes: {pieces:?}"
        );
    }
}

/// Read in pieces of `cut` bytes the way a fetch does: stop feeding at the first error, then
/// finish.
fn read_cut(bytes: &[u8], cut: usize) -> Result<Parsed, ParseError> {
    let mut interner = Interner::default();
    let mut p = StreamParser::new(&mut interner, Limits::default());
    for piece in bytes.chunks(cut) {
        if p.feed(piece).is_err() {
            break;
        }
    }
    p.finish()
}

fn assert_same_however_cut(what: &str, bytes: &[u8], cuts: &[usize]) -> Result<Parsed, ParseError> {
    let whole = parse_bytes(bytes, &mut Interner::default(), Limits::default());
    for &cut in cuts {
        let mut pieces = read_cut(bytes, cut);
        // Cut short by an error, reading whole was handed every byte, reading in pieces
        // stopped being handed them: only the count of bytes received may differ.
        if let (Ok(x), Ok(y)) = (&whole, &mut pieces)
            && x.truncated.is_some()
        {
            y.wire_bytes = x.wire_bytes;
        }
        assert!(
            format!("{whole:?}") == format!("{pieces:?}"),
            "{what}, cut every {cut} bytes:\n{whole:?}\n{pieces:?}"
        );
    }
    whole
}

#[test]
fn gzip_is_read_the_same_however_the_stream_is_cut() {
    // Found by reading: the decoder was handed each read as it came, so where corrupt data was
    // said to start, and what was decoded before a failing read, depended on the cuts.
    use std::io::Write;
    // Several 8 KiB blocks of compressed data.
    let raw = fixture("ganglia/gmetad-8651-xml_port.xml").repeat(4);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&raw).unwrap();
    let gz = enc.finish().unwrap();
    assert!(gz.len() > 2 * 8192, "{} bytes", gz.len());
    let cuts = [1, 10, 777, 8192, 9000, gz.len()];
    let clean = assert_same_however_cut("whole gzip", &gz, &cuts).expect("reads");
    assert!(clean.is_clean());
    // A valid header, then a block that is not deflate.
    let bad = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff];
    assert!(assert_same_however_cut("a corrupt first block", &bad, &[1, 3, 11]).is_err());
    // Bytes after the gzip trailer.
    let mut trailing = gz.clone();
    trailing.push(b'x');
    let r = assert_same_however_cut("a byte after the trailer", &trailing, &cuts).expect("reads");
    assert_eq!(r.document, clean.document);
    // Corrupt in the middle: what came before is kept, however the reads fell.
    let mut broken = gz.clone();
    let mid = broken.len() / 2;
    broken[mid..mid + 64].fill(0xff);
    let r = assert_same_however_cut("corrupt in the middle", &broken, &cuts).expect("reads");
    assert!(r.document.host_count() >= 1 && !r.is_clean());
}

#[test]
fn the_header_limit_holds_however_the_stream_is_cut() {
    // Found by reading: 70,000 bytes of headers passed when read whole, failed in 4 KiB reads.
    let mut doc = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    doc.extend(std::iter::repeat_n(b'a', 70_000));
    doc.extend_from_slice(b"\r\n\r\n<GANGLIA_XML/>");
    let r = assert_same_however_cut("long headers", &doc, &[4096, 65_536, doc.len()]);
    assert!(matches!(r, Err(ParseError::HttpHeaders)), "{r:?}");
}

#[test]
fn the_element_limit_holds_however_the_stream_is_cut() {
    // Found by reading: a 1.5 MiB value was kept when read whole and skipped in 64 KiB reads.
    let doc = String::from_utf8(fixture("ganglia/gmond-8649-clusterA.xml")).unwrap();
    let long = format!(
        "<METRIC NAME=\"huge\" VAL=\"{}\" TYPE=\"string\" UNITS=\"\" TN=\"1\" TMAX=\"60\" DMAX=\"0\" SLOPE=\"zero\" SOURCE=\"gmond\"/>\n<METRIC ",
        "v".repeat(1_536 * 1024)
    );
    let doc = doc.replacen("<METRIC ", &long, 1);
    let r = assert_same_however_cut(
        "a 1.5 MiB element",
        doc.as_bytes(),
        &[4096, 65_536, 1 << 20],
    )
    .expect("reads");
    assert!(
        format!("{:?}", r.damage).contains("element longer than"),
        "{:?}",
        r.damage
    );
}
