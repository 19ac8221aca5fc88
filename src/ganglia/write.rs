//! Writing Ganglia documents as gmond or gmetad 3.7.2 write them: the same elements, attribute
//! order and line layout, so ganglia-web, gstat and a parent gmetad read them unchanged.
//!
//! Serving ten thousand hosts must be fast, so everything about a metric that does not change
//! between hosts (name, type, units, extra data) is rendered once per metadata record and
//! copied after that; only VAL and TN are formatted per host.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::dtd::PROLOG;
use super::text::escape_attr_into;
use crate::model::{Cluster, Grid, Host, Metric, MetricMeta, Summary};

/// Which daemon's dialect to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// gmond's TCP port: CLUSTER at the root, no SOURCE on METRIC.
    Gmond,
    /// gmetad's ports: GRID at the root, SOURCE="gmond" on METRIC, host TN aged at query time.
    Gmetad,
}

/// The parts of a METRIC element that are the same on every host.
#[derive(Debug)]
struct Fragments {
    /// `<METRIC NAME="x" VAL="`
    head: Box<[u8]>,
    /// `" TYPE="t" UNITS="u" TN="`
    middle: Box<[u8]>,
    /// `" TMAX=.. DMAX=.. SLOPE=..>` + EXTRA_DATA + `</METRIC>\n`
    tail: Box<[u8]>,
}

/// Appends Ganglia XML to a byte buffer. Keep one writer per document: it caches rendered
/// metadata by address, which is only stable while the data being written is alive.
pub struct XmlWriter {
    flavor: Flavor,
    cache: FxHashMap<usize, (Arc<MetricMeta>, Fragments)>,
}

fn attr(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    escape_attr_into(value, out);
    out.push(b'"');
}

fn attr_num(out: &mut Vec<u8>, name: &str, value: u64) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    out.push(b'"');
}

/// The extra elements a summary keeps, as gmetad's do: a SPOOF_HOST (or SPOOF_HEARTBEAT,
/// CLUSTER) describes the one host that sent the metric, not the cluster or grid.
const SUMMARY_EXTRA: [&str; 3] = ["GROUP", "DESC", "TITLE"];

fn extra_data(out: &mut Vec<u8>, meta: &MetricMeta, keep: impl Fn(&str) -> bool) {
    out.extend_from_slice(b"<EXTRA_DATA>\n");
    for (k, v) in meta.extra.iter().filter(|(k, _)| keep(k)) {
        out.extend_from_slice(b"<EXTRA_ELEMENT");
        attr(out, "NAME", k);
        attr(out, "VAL", v);
        out.extend_from_slice(b"/>\n");
    }
    out.extend_from_slice(b"</EXTRA_DATA>\n");
}

/// Formats a summary sum as gmetad does: integers as `%.f`, others with the metric's decimals.
pub fn format_sum(sum: f64, decimals: u8) -> String {
    format!("{:.*}", usize::from(decimals), sum)
}

impl XmlWriter {
    /// A writer for one document in the given dialect.
    pub fn new(flavor: Flavor) -> Self {
        Self {
            flavor,
            cache: FxHashMap::default(),
        }
    }

    /// The declaration, DTD and `<GANGLIA_XML>` start tag.
    pub fn prolog(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(PROLOG.as_bytes());
        out.extend_from_slice(match self.flavor {
            Flavor::Gmond => b"<GANGLIA_XML VERSION=\"3.7.2\" SOURCE=\"gmond\">\n",
            Flavor::Gmetad => b"<GANGLIA_XML VERSION=\"3.7.2\" SOURCE=\"gmetad\">\n",
        });
    }

    /// `</GANGLIA_XML>`.
    pub fn epilog(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"</GANGLIA_XML>\n");
    }

    /// A GRID start tag.
    pub fn grid_open(&self, out: &mut Vec<u8>, grid: &Grid, localtime: u64) {
        out.extend_from_slice(b"<GRID");
        attr(out, "NAME", &grid.name);
        attr(out, "AUTHORITY", &grid.authority);
        attr_num(out, "LOCALTIME", localtime);
        out.extend_from_slice(b">\n");
    }

    /// `</GRID>`.
    pub fn grid_close(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"</GRID>\n");
    }

    /// A CLUSTER start tag.
    pub fn cluster_open(&self, out: &mut Vec<u8>, c: &Cluster) {
        out.extend_from_slice(b"<CLUSTER");
        attr(out, "NAME", &c.name);
        attr_num(out, "LOCALTIME", c.localtime);
        for (name, value) in [
            ("OWNER", &c.owner),
            ("LATLONG", &c.latlong),
            ("URL", &c.url),
        ] {
            if let Some(v) = value {
                attr(out, name, v);
            }
        }
        out.extend_from_slice(b">\n");
    }

    /// `</CLUSTER>`.
    pub fn cluster_close(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"</CLUSTER>\n");
    }

    /// A HOST start tag; `age` seconds are added to TN (gmetad ages TN at query time).
    ///
    /// Both dialects use gmond's attribute order (TAGS third). gmetad itself puts TAGS last,
    /// but gstat reads HOST attributes by position and then takes TN for REPORTED, calling
    /// every host dead; ganglia-web and gmetad read attributes by name, so gmond's order
    /// serves every client.
    pub fn host_open(&self, out: &mut Vec<u8>, h: &Host, age: u64) {
        out.extend_from_slice(b"<HOST");
        attr(out, "NAME", &h.name);
        attr(out, "IP", &h.ip);
        attr(out, "TAGS", &h.tags);
        attr_num(out, "REPORTED", h.reported);
        attr_num(out, "TN", u64::from(h.tn) + age);
        attr_num(out, "TMAX", u64::from(h.tmax));
        attr_num(out, "DMAX", u64::from(h.dmax));
        attr(out, "LOCATION", &h.location);
        attr_num(out, "GMOND_STARTED", h.gmond_started);
        out.extend_from_slice(b">\n");
    }

    /// `</HOST>`.
    pub fn host_close(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"</HOST>\n");
    }

    /// A whole HOST with its metrics; metrics expired by DMAX are left out, as gmetad does.
    pub fn host(&mut self, out: &mut Vec<u8>, h: &Host, age: u64) {
        self.host_open(out, h, age);
        for m in &h.metrics {
            if !m.is_expired(u64::from(m.tn) + age) {
                self.metric(out, m, age);
            }
        }
        self.host_close(out);
    }

    fn fragments(&mut self, meta: &Arc<MetricMeta>) -> &Fragments {
        let key = Arc::as_ptr(meta) as usize;
        let flavor = self.flavor;
        &self
            .cache
            .entry(key)
            .or_insert_with(|| (meta.clone(), render_fragments(meta, flavor)))
            .1
    }

    /// One METRIC element with its extra data.
    pub fn metric(&mut self, out: &mut Vec<u8>, m: &Metric, age: u64) {
        let f = self.fragments(&m.meta);
        out.extend_from_slice(&f.head);
        escape_attr_into(&m.text, out);
        out.extend_from_slice(&f.middle);
        out.extend_from_slice(itoa::Buffer::new().format(u64::from(m.tn) + age).as_bytes());
        out.extend_from_slice(&f.tail);
    }

    /// HOSTS and METRICS elements; `with_extra` keeps each metric's extra data (cluster level)
    /// or writes it empty (grid level), as gmetad does.
    pub fn summary(&self, out: &mut Vec<u8>, s: &Summary, with_extra: bool) {
        out.extend_from_slice(b"<HOSTS");
        attr_num(out, "UP", u64::from(s.hosts_up));
        attr_num(out, "DOWN", u64::from(s.hosts_down));
        out.extend_from_slice(b" SOURCE=\"gmetad\"/>\n");
        for m in &s.metrics {
            out.extend_from_slice(b"<METRICS");
            attr(out, "NAME", &m.meta.name);
            attr(out, "SUM", &format_sum(m.sum, m.decimals));
            attr_num(out, "NUM", u64::from(m.num));
            out.extend_from_slice(b" TYPE=\"double\"");
            attr(out, "UNITS", &m.meta.units);
            attr(out, "SLOPE", m.meta.slope.as_str());
            out.extend_from_slice(b" SOURCE=\"gmond\">\n");
            if with_extra {
                extra_data(out, &m.meta, |k| SUMMARY_EXTRA.contains(&k));
            } else {
                out.extend_from_slice(b"<EXTRA_DATA>\n</EXTRA_DATA>\n");
            }
            out.extend_from_slice(b"</METRICS>\n");
        }
    }
}

fn render_fragments(meta: &MetricMeta, flavor: Flavor) -> Fragments {
    let mut head = Vec::with_capacity(32);
    head.extend_from_slice(b"<METRIC");
    attr(&mut head, "NAME", &meta.name);
    head.extend_from_slice(b" VAL=\"");
    let mut middle = Vec::with_capacity(48);
    middle.push(b'"');
    attr(&mut middle, "TYPE", meta.kind.as_str());
    attr(&mut middle, "UNITS", &meta.units);
    middle.extend_from_slice(b" TN=\"");
    let mut tail = Vec::with_capacity(64);
    tail.push(b'"');
    attr_num(&mut tail, "TMAX", u64::from(meta.tmax));
    attr_num(&mut tail, "DMAX", u64::from(meta.dmax));
    attr(&mut tail, "SLOPE", meta.slope.as_str());
    if flavor == Flavor::Gmetad {
        tail.extend_from_slice(b" SOURCE=\"gmond\"");
    }
    if meta.extra.is_empty() {
        tail.extend_from_slice(b"/>\n");
    } else {
        tail.extend_from_slice(b">\n");
        extra_data(&mut tail, meta, |_| true);
        tail.extend_from_slice(b"</METRIC>\n");
    }
    Fragments {
        head: head.into(),
        middle: middle.into(),
        tail: tail.into(),
    }
}

/// A whole gmond-style document for one cluster (what `gantry sim` serves).
pub fn gmond_document(c: &Cluster, out: &mut Vec<u8>) {
    let mut w = XmlWriter::new(Flavor::Gmond);
    w.prolog(out);
    w.cluster_open(out, c);
    for h in &c.hosts {
        w.host(out, h, 0);
    }
    w.cluster_close(out);
    w.epilog(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ganglia::{Interner, Limits, parse_bytes};

    fn fixture(name: &str) -> Vec<u8> {
        let p = format!(
            "{}/tests/fixtures/ganglia/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(p).unwrap()
    }

    #[test]
    fn gmond_document_round_trips_byte_for_byte() {
        // Rewriting a real gmond document gives back the same bytes.
        let raw = fixture("gmond-8649-clusterA.xml");
        let doc = parse_bytes(&raw, &mut Interner::default(), Limits::default()).unwrap();
        let mut out = Vec::new();
        gmond_document(doc.document.clusters()[0], &mut out);
        assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&raw));
    }

    #[test]
    fn gmetad_host_blocks_match_the_real_daemon() {
        // Every METRIC line is gmetad's byte for byte; the HOST line has gmetad's attributes
        // and values in gmond's order (see `host_open`).
        let raw = fixture("gmetad-8651-xml_port.xml");
        let real = String::from_utf8_lossy(&raw).into_owned();
        let doc = parse_bytes(&raw, &mut Interner::default(), Limits::default()).unwrap();
        let c = doc.document.clusters()[0].clone();
        let h = &c.hosts[0];
        let mut w = XmlWriter::new(Flavor::Gmetad);
        let mut out = Vec::new();
        w.host(&mut out, h, 0);
        let text = String::from_utf8(out).unwrap();
        let (host_line, body) = text.split_once('\n').unwrap();
        assert!(
            real.contains(body),
            "metrics and extra data identical to gmetad's"
        );
        let gmetad_line = format!(
            "<HOST NAME=\"{}\" IP=\"{}\" REPORTED=\"{}\" TN=\"{}\" TMAX=\"{}\" DMAX=\"{}\" LOCATION=\"{}\" GMOND_STARTED=\"{}\" TAGS=\"{}\">",
            h.name, h.ip, h.reported, h.tn, h.tmax, h.dmax, h.location, h.gmond_started, h.tags
        );
        assert!(real.contains(&gmetad_line));
        let mut ours: Vec<&str> = host_line.trim_end_matches('>').split(' ').collect();
        let mut theirs: Vec<&str> = gmetad_line.trim_end_matches('>').split(' ').collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn summary_lines_match_the_real_daemon() {
        let raw = fixture("gmetad-8652-clusterA-summary.xml");
        let doc = parse_bytes(&raw, &mut Interner::default(), Limits::default()).unwrap();
        let c = doc.document.clusters()[0].clone();
        let w = XmlWriter::new(Flavor::Gmetad);
        let mut out = Vec::new();
        w.summary(&mut out, c.summary.as_ref().unwrap(), true);
        let text = String::from_utf8(out).unwrap();
        assert!(String::from_utf8_lossy(&raw).contains(&text));
        assert_eq!(format_sum(6.0, 0), "6");
        assert_eq!(format_sum(2.01, 2), "2.01");
    }

    #[test]
    fn cluster_summaries_carry_no_per_host_extra_elements() {
        // Our summary of gmetad's full dump, written out, against gmetad's own summary of the
        // same moment: gmetric metrics (job_count, gpu_util) carry SPOOF_HOST on every host,
        // and gmetad's summary keeps only their TITLE, DESC and GROUP elements, in order.
        let mut i = Interner::default();
        let full = parse_bytes(
            &fixture("gmetad-8651-xml_port.xml"),
            &mut i,
            Limits::default(),
        )
        .unwrap();
        let c = full
            .document
            .clusters()
            .into_iter()
            .find(|c| &*c.name == "clusterA")
            .unwrap()
            .clone();
        let s = crate::aggregator::summarize_cluster(&c, 0);
        let mut out = Vec::new();
        XmlWriter::new(Flavor::Gmetad).summary(&mut out, &s, true);
        let ours = String::from_utf8(out).unwrap();
        assert!(!ours.contains("SPOOF"), "{ours}");
        let real =
            String::from_utf8_lossy(&fixture("gmetad-8652-clusterA-summary.xml")).into_owned();
        for name in ["job_count", "gpu_util"] {
            let block = |text: &str| {
                let at = text.find(&format!("<METRICS NAME=\"{name}\"")).unwrap();
                let end = at + text[at..].find("</METRICS>").unwrap();
                text[text[at..].find('>').unwrap() + at..end].to_string()
            };
            assert_eq!(block(&ours), block(&real), "{name}");
        }
        // A host's own metrics keep every element gmond sent.
        let mut w = XmlWriter::new(Flavor::Gmetad);
        let mut out = Vec::new();
        for h in &c.hosts {
            w.host(&mut out, h, 0);
        }
        assert!(String::from_utf8(out).unwrap().contains("SPOOF_HOST"));
    }

    #[test]
    fn tn_is_aged_and_expired_metrics_dropped() {
        let raw = fixture("gmond-8649-clusterA.xml");
        let doc = parse_bytes(&raw, &mut Interner::default(), Limits::default()).unwrap();
        let mut h = doc.document.clusters()[0].hosts[0].clone();
        let mut meta = (*h.metrics[0].meta).clone();
        meta.dmax = 40;
        h.metrics[0].meta = Arc::new(meta);
        h.metrics[0].tn = 35;
        let mut w = XmlWriter::new(Flavor::Gmetad);
        let mut out = Vec::new();
        w.host(&mut out, &h, 10);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(" TN=\"24\""), "host TN 14 + 10");
        assert!(!text.contains(&format!("NAME=\"{}\"", h.metrics[0].meta.name)));
    }
}
