//! Builds the model from tag events. Forgiving by design: a missing end tag closes what it
//! must, a misplaced element is skipped with its children, and every repair is reported with
//! the byte offset where it happened.

use std::sync::Arc;

use compact_str::CompactString;

use super::attrs::{self, parse_u32, parse_u64};
use super::damage::DamageLog;
use super::intern::{Interner, MetaProbe};
use super::text::unescape_attr;
use crate::model::{
    Cluster, Document, Grid, Host, Item, Metric, MetricMeta, MetricSummary, MetricType, Origin,
    Slope, Summary, decimals_of, parse_number,
};

/// A `METRIC` or `METRICS` element being read: its attributes plus the extra data so far.
#[derive(Debug, Default)]
struct MetricFrame {
    name: CompactString,
    text: CompactString,
    num: u32,
    tn: u32,
    kind: MetricType,
    units: CompactString,
    slope: Slope,
    tmax: u32,
    dmax: u32,
    candidate: Option<Arc<MetricMeta>>,
    /// The candidate's extra data block as raw bytes, when known.
    candidate_raw: Option<Arc<[u8]>>,
    matched: usize,
    extra: Option<Vec<(Arc<str>, Arc<str>)>>,
}

/// One open element. Kept small because every element pushes and pops one: the open host and
/// metric (at most one of each at a time) live in the builder's slots instead.
#[derive(Debug)]
enum Frame {
    Root,
    Grid(Box<Grid>),
    Cluster(Box<Cluster>),
    Host,
    Metric,
    Summary,
    ExtraData,
    ExtraElement,
    Hosts,
    /// An element we do not know; children are read normally.
    Unknown(CompactString),
    /// A misplaced or unreadable element; it and its children are dropped.
    Skip(CompactString),
}

impl Frame {
    fn tag(&self) -> &str {
        match self {
            Frame::Root => "GANGLIA_XML",
            Frame::Grid(_) => "GRID",
            Frame::Cluster(_) => "CLUSTER",
            Frame::Host => "HOST",
            Frame::Metric => "METRIC",
            Frame::Summary => "METRICS",
            Frame::ExtraData => "EXTRA_DATA",
            Frame::ExtraElement => "EXTRA_ELEMENT",
            Frame::Hosts => "HOSTS",
            Frame::Unknown(n) | Frame::Skip(n) => n,
        }
    }
}

/// Turns start/end tag events into a [`Document`].
pub(crate) struct TreeBuilder<'i> {
    interner: &'i mut Interner,
    stack: Vec<Frame>,
    /// The open `HOST` (valid while a `Frame::Host` is on the stack).
    host: Host,
    /// The open `METRIC` or `METRICS` (valid while its frame is on the stack).
    metric: MetricFrame,
    doc: Document,
    skipping: usize,
    /// Metadata of the `METRIC` that ended last, if it was attached to a host.
    last_attached: Option<Arc<MetricMeta>>,
    /// The tag being read has no `&` or `<` at all, so its values need no unescaping.
    tag_clean: bool,
    /// The open cluster's hosts by name, to their place in it.
    cluster_hosts: std::collections::HashMap<Arc<str>, usize>,
    /// The open host names one the cluster has already: it takes that one's place.
    replaces: Option<usize>,
    /// Some element has begun: a stream that ends before one is cut, not empty.
    began: bool,
    pub(crate) damage: DamageLog,
}

impl<'i> TreeBuilder<'i> {
    pub(crate) fn new(interner: &'i mut Interner) -> Self {
        Self {
            interner,
            stack: Vec::with_capacity(8),
            host: Host::default(),
            metric: MetricFrame::default(),
            doc: Document::default(),
            skipping: 0,
            last_attached: None,
            tag_clean: false,
            cluster_hosts: std::collections::HashMap::new(),
            replaces: None,
            began: false,
            damage: DamageLog::default(),
        }
    }

    /// Where in the tree we are, for messages: `HOST 'a' in CLUSTER 'b'`.
    fn context(&self) -> String {
        let mut parts = Vec::new();
        for f in self.stack.iter().rev() {
            match f {
                Frame::Host => parts.push(format!("HOST '{}'", self.host.name)),
                Frame::Cluster(c) => parts.push(format!("CLUSTER '{}'", c.name)),
                Frame::Grid(g) => parts.push(format!("GRID '{}'", g.name)),
                Frame::Metric => parts.push(format!("METRIC '{}'", self.metric.name)),
                _ => {}
            }
        }
        if parts.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in {}", parts.join(" in "))
        }
    }

    fn report(&mut self, at: u64, what: impl FnOnce() -> String) {
        if self.damage.wants_more() {
            let msg = format!("{} {}", what(), self.context());
            self.damage.push(at, msg);
        } else {
            self.damage.count_only();
        }
    }

    /// Reads one attribute value, unescaping it and reporting unescaped characters.
    fn value<'a>(
        &mut self,
        el: &str,
        attr: &str,
        raw: &'a str,
        at: u64,
    ) -> std::borrow::Cow<'a, str> {
        if self.tag_clean {
            return std::borrow::Cow::Borrowed(raw);
        }
        let (v, fault) = unescape_attr(raw);
        if let Some(f) = fault {
            let what = f.describe();
            self.report(at, || format!("{what} in {attr} of {el}"));
        }
        v
    }

    /// After a `METRIC` start tag: the exact bytes its extra data block had last time, if the
    /// tokenizer may compare and skip them.
    pub(crate) fn expected_extra(&self) -> Option<Arc<[u8]>> {
        match self.stack.last() {
            Some(Frame::Metric) if self.skipping == 0 => self.metric.candidate_raw.clone(),
            _ => None,
        }
    }

    /// The tokenizer skipped bytes equal to [`Self::expected_extra`]: the extra data is the
    /// candidate's, in full.
    pub(crate) fn extra_skipped(&mut self) {
        if let Some(c) = &self.metric.candidate {
            self.metric.matched = c.extra.len();
        }
    }

    /// Metadata of the metric that just ended, for remembering its raw extra data.
    pub(crate) fn remember_raw_extra(&mut self, raw: &[u8]) {
        if let Some(meta) = self.last_attached.take() {
            self.interner.remember_raw_extra(&meta, raw);
        }
    }

    /// Handles a start tag (`empty` for `<X/>`).
    pub(crate) fn start(&mut self, name: &str, raw_attrs: &str, empty: bool, at: u64) {
        self.last_attached = None;
        self.began = true;
        // One vectorised scan of the whole tag instead of one per attribute value.
        self.tag_clean = memchr::memchr2(b'&', b'<', raw_attrs.as_bytes()).is_none();
        if self.skipping > 0 {
            if !empty {
                self.skipping += 1;
                self.stack.push(Frame::Skip(name.into()));
            }
            return;
        }
        if empty && name == "EXTRA_ELEMENT" {
            // The common case, handled without touching the stack.
            self.read_extra_element(raw_attrs, at);
            return;
        }
        let frame = match name {
            "METRIC" => self.open_metric(raw_attrs, at, false),
            "EXTRA_ELEMENT" => self
                .read_extra_element(raw_attrs, at)
                .then_some(Frame::ExtraElement),
            "EXTRA_DATA" => self.open_under(
                at,
                name,
                |f| matches!(f, Frame::Metric | Frame::Summary),
                |_| Some(Frame::ExtraData),
            ),
            "HOST" => self.open_host(raw_attrs, at),
            "CLUSTER" => self.open_cluster(raw_attrs, at),
            "GRID" => self.open_grid(raw_attrs, at),
            "HOSTS" => self.open_hosts(raw_attrs, at),
            "METRICS" => self.open_metric(raw_attrs, at, true),
            "GANGLIA_XML" => self.open_root(raw_attrs, at),
            other => {
                // Ganglia's DTD has no other element: a garbled name (a flipped byte in
                // "<HOST") must not read as a clean document with a host missing.
                self.report(at, || {
                    let shown: String = other.chars().take(24).collect();
                    format!(
                        "<{}> is not a Ganglia element; skipped",
                        shown.escape_debug()
                    )
                });
                Some(Frame::Unknown(other.into()))
            }
        };
        let frame = frame.unwrap_or_else(|| Frame::Skip(name.into()));
        if matches!(frame, Frame::Skip(_)) {
            self.skipping += 1;
        }
        self.stack.push(frame);
        if empty {
            self.end(name, at);
        }
    }

    /// Closes frames above the innermost one accepted by `parent` (reporting the missing end
    /// tags), then builds the new frame. Without such a parent the element is skipped.
    fn open_under(
        &mut self,
        at: u64,
        name: &str,
        parent: impl Fn(&Frame) -> bool,
        make: impl FnOnce(&mut Self) -> Option<Frame>,
    ) -> Option<Frame> {
        match self.stack.iter().rposition(&parent) {
            Some(pos) => {
                self.close_above(pos, at, name);
                make(self)
            }
            None => {
                self.report(at, || format!("<{name}> where it cannot appear; skipped"));
                None
            }
        }
    }

    fn close_above(&mut self, pos: usize, at: u64, before: &str) {
        while self.stack.len() > pos + 1 {
            let tag = self
                .stack
                .last()
                .map(|f| f.tag().to_string())
                .unwrap_or_default();
            if !matches!(self.stack.last(), Some(Frame::Unknown(_))) {
                self.report(at, || format!("missing </{tag}> before <{before}>"));
            }
            self.pop_and_attach();
        }
    }

    fn open_root(&mut self, raw: &str, at: u64) -> Option<Frame> {
        if !self.stack.is_empty() {
            self.report(at, || "nested <GANGLIA_XML>; skipped".to_string());
            return None;
        }
        let mut version = None;
        let mut source = None;
        let r = attrs::scan(raw, |n, v, _| match n {
            "VERSION" => version = Some(v.to_string()),
            "SOURCE" => source = Some(v.to_string()),
            _ => {}
        });
        self.attr_syntax(r, at, "GANGLIA_XML");
        self.doc.version = version.unwrap_or_default().into();
        self.doc.origin = match source.as_deref() {
            Some("gmond") => Origin::Gmond,
            Some("gmetad") => Origin::Gmetad,
            _ => Origin::Other,
        };
        Some(Frame::Root)
    }

    fn attr_syntax(&mut self, r: Result<(), usize>, at: u64, el: &str) {
        if let Err(pos) = r {
            self.report(at + pos as u64, || {
                format!("unreadable attributes in <{el}>")
            });
        }
    }

    fn top_level_ok(f: &Frame) -> bool {
        matches!(f, Frame::Root | Frame::Grid(_))
    }

    fn open_grid(&mut self, raw: &str, at: u64) -> Option<Frame> {
        if !self.stack.is_empty() && !self.stack.iter().any(Self::top_level_ok) {
            self.report(at, || "<GRID> where it cannot appear; skipped".to_string());
            return None;
        }
        if let Some(pos) = self.stack.iter().rposition(Self::top_level_ok) {
            self.close_above(pos, at, "GRID");
        }
        let mut g = Grid::default();
        let mut fields: [Option<String>; 3] = Default::default();
        let r = attrs::scan(raw, |n, v, _| match n {
            "NAME" => fields[0] = Some(v.to_string()),
            "AUTHORITY" => fields[1] = Some(v.to_string()),
            "LOCALTIME" => fields[2] = Some(v.to_string()),
            _ => {}
        });
        self.attr_syntax(r, at, "GRID");
        let [name, authority, localtime] = fields;
        g.name = self
            .value("GRID", "NAME", name.as_deref().unwrap_or(""), at)
            .into();
        g.authority = self
            .value("GRID", "AUTHORITY", authority.as_deref().unwrap_or(""), at)
            .into();
        g.localtime = localtime.as_deref().and_then(parse_u64);
        if name.is_none() {
            self.report(at, || "<GRID> without NAME".to_string());
        }
        Some(Frame::Grid(Box::new(g)))
    }

    fn open_cluster(&mut self, raw: &str, at: u64) -> Option<Frame> {
        if !self.stack.is_empty() && !self.stack.iter().any(Self::top_level_ok) {
            self.report(at, || {
                "<CLUSTER> where it cannot appear; skipped".to_string()
            });
            return None;
        }
        if let Some(pos) = self.stack.iter().rposition(Self::top_level_ok) {
            self.close_above(pos, at, "CLUSTER");
        }
        let mut fields: [Option<&str>; 5] = Default::default();
        let r = attrs::scan(raw, |n, v, _| {
            let i = match n {
                "NAME" => 0,
                "LOCALTIME" => 1,
                "OWNER" => 2,
                "LATLONG" => 3,
                "URL" => 4,
                _ => return,
            };
            fields[i] = Some(v);
        });
        self.attr_syntax(r, at, "CLUSTER");
        let [name, localtime, owner, latlong, url] = fields;
        let mut c = Cluster {
            name: self.value("CLUSTER", "NAME", name.unwrap_or(""), at).into(),
            localtime: localtime.and_then(parse_u64).unwrap_or(0),
            ..Cluster::default()
        };
        if name.is_none() {
            self.report(at, || "<CLUSTER> without NAME".to_string());
        }
        if localtime.and_then(parse_u64).is_none() {
            self.report(at, || "<CLUSTER> without a readable LOCALTIME".to_string());
        }
        let el = format!("CLUSTER '{}'", c.name);
        c.owner = owner.map(|v| self.value(&el, "OWNER", v, at).into());
        c.latlong = latlong.map(|v| self.value(&el, "LATLONG", v, at).into());
        c.url = url.map(|v| self.value(&el, "URL", v, at).into());
        self.cluster_hosts.clear();
        Some(Frame::Cluster(Box::new(c)))
    }

    fn open_host(&mut self, raw: &str, at: u64) -> Option<Frame> {
        let parent_ok = |f: &Frame| matches!(f, Frame::Root | Frame::Cluster(_));
        if !self.stack.is_empty() {
            match self.stack.iter().rposition(parent_ok) {
                Some(pos) => self.close_above(pos, at, "HOST"),
                None => {
                    self.report(at, || "<HOST> outside a CLUSTER; skipped".to_string());
                    return None;
                }
            }
        }
        let mut f: [Option<&str>; 9] = Default::default();
        let r = attrs::scan(raw, |n, v, _| {
            let i = match n {
                "NAME" => 0,
                "IP" => 1,
                "TAGS" => 2,
                "REPORTED" => 3,
                "TN" => 4,
                "TMAX" => 5,
                "DMAX" => 6,
                "LOCATION" => 7,
                "GMOND_STARTED" => 8,
                _ => return,
            };
            f[i] = Some(v);
        });
        self.attr_syntax(r, at, "HOST");
        let Some(name) = f[0].filter(|n| !n.is_empty()) else {
            self.report(at, || "<HOST> without NAME; skipped".to_string());
            return None;
        };
        let name: Arc<str> = self.value("HOST", "NAME", name, at).into();
        let el = format!("HOST '{name}'");
        let ip = self.value(&el, "IP", f[1].unwrap_or(""), at);
        let tags = self.value(&el, "TAGS", f[2].unwrap_or(""), at);
        let location = self.value(&el, "LOCATION", f[7].unwrap_or("unspecified"), at);
        let reported = f[3].and_then(parse_u64);
        if reported.is_none() {
            self.report(at, || {
                format!("<HOST '{name}'> without a readable REPORTED")
            });
        }
        let metrics = std::mem::take(&mut self.host.metrics);
        self.host = Host {
            ip: ip.as_ref().into(),
            tags: self.interner.string(&tags),
            location: self.interner.string(&location),
            reported: reported.unwrap_or(0),
            tn: f[4].and_then(parse_u32).unwrap_or(0),
            tmax: f[5].and_then(parse_u32).unwrap_or(0),
            dmax: f[6].and_then(parse_u32).unwrap_or(0),
            gmond_started: f[8].and_then(parse_u64).unwrap_or(0),
            metrics,
            name,
        };
        self.host.metrics.clear();
        if self.host.metrics.capacity() == 0 {
            self.host.metrics.reserve(34);
        }
        // A host named twice in one cluster (a repeated stretch of a damaged stream; gmond
        // never sends one) is one host: the later copy takes the earlier one's place.
        self.replaces = None;
        if matches!(self.stack.last(), Some(Frame::Cluster(_))) {
            self.replaces = self.cluster_hosts.get(&self.host.name).copied();
            if self.replaces.is_some() {
                let name = self.host.name.clone();
                self.report(at, || {
                    format!("HOST '{name}' a second time; the later one kept")
                });
            }
        }
        Some(Frame::Host)
    }

    fn open_hosts(&mut self, raw: &str, at: u64) -> Option<Frame> {
        let parent = |f: &Frame| matches!(f, Frame::Grid(_) | Frame::Cluster(_));
        let pos = match self.stack.iter().rposition(parent) {
            Some(p) => p,
            None => {
                self.report(at, || {
                    "<HOSTS> outside a GRID or CLUSTER; skipped".to_string()
                });
                return None;
            }
        };
        self.close_above(pos, at, "HOSTS");
        let mut up = None;
        let mut down = None;
        let r = attrs::scan(raw, |n, v, _| match n {
            "UP" => up = parse_u32(v),
            "DOWN" => down = parse_u32(v),
            _ => {}
        });
        self.attr_syntax(r, at, "HOSTS");
        if up.is_none() || down.is_none() {
            self.report(at, || "<HOSTS> without readable UP and DOWN".to_string());
        }
        let summary = match self.stack.last_mut() {
            Some(Frame::Grid(g)) => g.summary.get_or_insert_with(Summary::default),
            Some(Frame::Cluster(c)) => c.summary.get_or_insert_with(Summary::default),
            _ => return None,
        };
        summary.hosts_up = up.unwrap_or(0);
        summary.hosts_down = down.unwrap_or(0);
        Some(Frame::Hosts)
    }

    fn open_metric(&mut self, raw: &str, at: u64, summary: bool) -> Option<Frame> {
        let el = if summary { "METRICS" } else { "METRIC" };
        let parent_ok = |f: &Frame| {
            if summary {
                matches!(f, Frame::Grid(_) | Frame::Cluster(_))
            } else {
                matches!(f, Frame::Host)
            }
        };
        // Fast path: the parent is right on top.
        if !self.stack.last().is_some_and(parent_ok) {
            match self.stack.iter().rposition(parent_ok) {
                Some(pos) => self.close_above(pos, at, el),
                None => {
                    self.report(at, || format!("<{el}> outside its parent; skipped"));
                    return None;
                }
            }
        }
        let mut f: [Option<&str>; 9] = Default::default();
        let pick = |n: &str| match n {
            "NAME" => Some(0),
            "VAL" | "SUM" => Some(1),
            "TYPE" => Some(2),
            "UNITS" => Some(3),
            "TN" => Some(4),
            "TMAX" => Some(5),
            "DMAX" => Some(6),
            "SLOPE" => Some(7),
            "NUM" => Some(8),
            _ => None,
        };
        // Fast path: the order gmond and gmetad always write; anything else is read generically.
        let mut fixed: [Option<&str>; 8] = Default::default();
        const ORDER: [&str; 8] = [
            "NAME", "VAL", "TYPE", "UNITS", "TN", "TMAX", "DMAX", "SLOPE",
        ];
        let rest = if summary {
            None
        } else {
            attrs::in_order(raw, ORDER, &mut fixed)
        };
        let r = match rest {
            Some(rest) => {
                f[..8].copy_from_slice(&fixed);
                attrs::scan(rest, |n, v, _| {
                    if let Some(i) = pick(n) {
                        f[i] = Some(v);
                    }
                })
            }
            None => attrs::scan(raw, |n, v, _| {
                if let Some(i) = pick(n) {
                    f[i] = Some(v);
                }
            }),
        };
        self.attr_syntax(r, at, el);
        let Some(name) = f[0].filter(|n| !n.is_empty()) else {
            self.report(at, || format!("<{el}> without NAME; skipped"));
            return None;
        };
        let name = CompactString::new(self.value(el, "NAME", name, at));
        let Some(val) = f[1] else {
            let what = if summary { "SUM" } else { "VAL" };
            self.report(at, || format!("<{el} '{name}'> without {what}; skipped"));
            return None;
        };
        let text = CompactString::new(self.value(el, "VAL", val, at));
        let kind = match f[2].map(MetricType::parse) {
            Some(Some(k)) => k,
            other => {
                let given = f[2].unwrap_or("").to_string();
                let missing = other.is_none();
                self.report(at, || {
                    if missing {
                        format!("<{el} '{name}'> without TYPE; read as string")
                    } else {
                        format!("<{el} '{name}'> has unknown TYPE '{given}'; read as string")
                    }
                });
                MetricType::String
            }
        };
        let units = CompactString::new(self.value(el, "UNITS", f[3].unwrap_or(""), at));
        let slope = f[7].and_then(Slope::parse).unwrap_or_default();
        let tmax = f[5].and_then(parse_u32).unwrap_or(0);
        let dmax = f[6].and_then(parse_u32).unwrap_or(0);
        let (candidate, candidate_raw) = match self.interner.candidate(&MetaProbe {
            name: &name,
            kind,
            units: &units,
            slope,
            tmax,
            dmax,
        }) {
            Some((c, raw)) => (Some(c), raw),
            None => (None, None),
        };
        self.metric = MetricFrame {
            num: f[8].and_then(parse_u32).unwrap_or(0),
            tn: f[4].and_then(parse_u32).unwrap_or(0),
            name,
            text,
            kind,
            units,
            slope,
            tmax,
            dmax,
            candidate,
            candidate_raw,
            matched: 0,
            extra: None,
        };
        Some(if summary {
            Frame::Summary
        } else {
            Frame::Metric
        })
    }

    /// Reads an `EXTRA_ELEMENT` into the open metric; false when it is misplaced or unreadable.
    fn read_extra_element(&mut self, raw: &str, at: u64) -> bool {
        let depth = self.stack.len();
        let in_metric = matches!(self.stack.last(), Some(Frame::ExtraData))
            && matches!(
                self.stack.get(depth.wrapping_sub(2)),
                Some(Frame::Metric | Frame::Summary)
            );
        if !in_metric {
            self.report(at, || {
                "<EXTRA_ELEMENT> outside EXTRA_DATA; skipped".to_string()
            });
            return false;
        }
        let mut name = None;
        let mut val = None;
        let r = attrs::scan(raw, |n, v, _| match n {
            "NAME" => name = Some(v),
            "VAL" => val = Some(v),
            _ => {}
        });
        self.attr_syntax(r, at, "EXTRA_ELEMENT");
        let (Some(name), Some(val)) = (name, val) else {
            self.report(at, || {
                "<EXTRA_ELEMENT> without NAME and VAL; skipped".to_string()
            });
            return false;
        };
        let name = self.value("EXTRA_ELEMENT", "NAME", name, at);
        let val = self.value("EXTRA_ELEMENT", "VAL", val, at);
        let m = &mut self.metric;
        if let Some(extra) = m.extra.as_mut() {
            extra.push((self.interner.string(&name), self.interner.string(&val)));
            return true;
        }
        let known = m
            .candidate
            .as_ref()
            .and_then(|c| c.extra.get(m.matched))
            .is_some_and(|(k, v)| **k == *name && **v == *val);
        if known {
            m.matched += 1;
        } else {
            let mut extra: Vec<(Arc<str>, Arc<str>)> = m
                .candidate
                .as_ref()
                .map(|c| c.extra[..m.matched].to_vec())
                .unwrap_or_default();
            extra.push((self.interner.string(&name), self.interner.string(&val)));
            m.extra = Some(extra);
        }
        true
    }

    /// Handles an end tag.
    pub(crate) fn end(&mut self, name: &str, at: u64) {
        if self.skipping > 0
            && let Some(Frame::Skip(n)) = self.stack.last()
        {
            let closes_real_ancestor = n != name
                && self
                    .stack
                    .iter()
                    .any(|f| !matches!(f, Frame::Skip(_)) && f.tag() == name);
            if !closes_real_ancestor {
                self.stack.pop();
                self.skipping -= 1;
                return;
            }
            // An ancestor ends inside a skipped subtree: drop the whole subtree.
            while matches!(self.stack.last(), Some(Frame::Skip(_))) {
                self.stack.pop();
            }
            self.skipping = 0;
        }
        // Fast path: the element on top.
        if self.stack.last().is_some_and(|f| f.tag() == name) {
            self.pop_and_attach();
            return;
        }
        match self.stack.iter().rposition(|f| f.tag() == name) {
            Some(pos) => {
                while self.stack.len() > pos + 1 {
                    let tag = self
                        .stack
                        .last()
                        .map(|f| f.tag().to_string())
                        .unwrap_or_default();
                    self.report(at, || format!("missing </{tag}> before </{name}>"));
                    self.pop_and_attach();
                }
                self.pop_and_attach();
            }
            None => self.report(at, || format!("unexpected </{name}>")),
        }
    }

    fn finish_meta(&mut self) -> Arc<MetricMeta> {
        let m = &mut self.metric;
        if m.extra.is_none()
            && let Some(c) = &m.candidate
            && c.extra.len() == m.matched
        {
            return c.clone();
        }
        let extra = match m.extra.take() {
            Some(e) => e,
            None => m
                .candidate
                .as_ref()
                .map(|c| c.extra[..m.matched].to_vec())
                .unwrap_or_default(),
        };
        let meta = MetricMeta {
            name: self.interner.string(&m.name),
            kind: m.kind,
            units: self.interner.string(&m.units),
            slope: m.slope,
            tmax: m.tmax,
            dmax: m.dmax,
            extra,
        };
        self.interner.meta(meta)
    }

    fn pop_and_attach(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        match frame {
            Frame::Metric => {
                let tn = self.metric.tn;
                let text = std::mem::take(&mut self.metric.text);
                let num = if self.metric.kind == MetricType::String {
                    f64::NAN
                } else {
                    parse_number(&text)
                };
                let meta = self.finish_meta();
                if let Some(Frame::Host) = self.stack.last() {
                    self.last_attached = Some(meta.clone());
                    self.host.metrics.push(Metric {
                        meta,
                        text,
                        num,
                        tn,
                    });
                }
            }
            Frame::Summary => {
                let text = std::mem::take(&mut self.metric.text);
                let sum = parse_number(&text);
                let num = self.metric.num;
                let decimals = decimals_of(&text);
                let meta = self.finish_meta();
                let entry = MetricSummary {
                    meta,
                    sum: if sum.is_nan() { 0.0 } else { sum },
                    num,
                    decimals,
                };
                match self.stack.last_mut() {
                    Some(Frame::Grid(g)) => g
                        .summary
                        .get_or_insert_with(Summary::default)
                        .metrics
                        .push(entry),
                    Some(Frame::Cluster(c)) => c
                        .summary
                        .get_or_insert_with(Summary::default)
                        .metrics
                        .push(entry),
                    _ => {}
                }
            }
            Frame::Host => {
                let mut h = std::mem::take(&mut self.host);
                h.metrics.shrink_to_fit();
                match self.stack.last_mut() {
                    Some(Frame::Cluster(c)) => match self.replaces.take() {
                        Some(i) if i < c.hosts.len() => c.hosts[i] = h,
                        _ => {
                            self.cluster_hosts.insert(h.name.clone(), c.hosts.len());
                            c.hosts.push(h);
                        }
                    },
                    _ => self.doc.items.push(Item::Host(Arc::new(h))),
                }
            }
            Frame::Cluster(c) => match self.stack.last_mut() {
                Some(Frame::Grid(g)) => g.clusters.push(Arc::new(*c)),
                _ => self.doc.items.push(Item::Cluster(Arc::new(*c))),
            },
            Frame::Grid(g) => match self.stack.last_mut() {
                Some(Frame::Grid(parent)) => parent.grids.push(Arc::new(*g)),
                _ => self.doc.items.push(Item::Grid(Arc::new(*g))),
            },
            Frame::Skip(_) => self.skipping = self.skipping.saturating_sub(1),
            Frame::Root
            | Frame::ExtraData
            | Frame::ExtraElement
            | Frame::Hosts
            | Frame::Unknown(_) => {}
        }
    }

    /// Whether any element has begun.
    pub(crate) fn began(&self) -> bool {
        self.began
    }

    /// Ends the document. When elements are still open the document was truncated: complete
    /// hosts are kept, the host being read is dropped, and the place is described.
    pub(crate) fn finish(mut self, at: u64) -> (Document, DamageLog, Option<String>) {
        let truncated = if !self.began {
            // Every Ganglia document has a root element; bytes without one (a prolog, part
            // of the DTD) are the head of a stream that was cut.
            Some(format!(
                "document ended at byte {at} before its first element"
            ))
        } else if self.stack.is_empty() {
            None
        } else {
            Some(format!("document ended at byte {at} {}", self.context()))
        };
        while let Some(top) = self.stack.last() {
            match top {
                Frame::Host | Frame::Metric | Frame::Summary => {
                    // Incomplete: drop it rather than show half a host.
                    self.stack.pop();
                }
                _ => self.pop_and_attach(),
            }
        }
        (self.doc, self.damage, truncated)
    }
}
