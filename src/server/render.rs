//! Answers in gmetad's format for a request over a snapshot, produced in bounded chunks so a
//! 100 MB dump never sits in memory whole.
//!
//! Sources read from gmond (and the local collector) appear as CLUSTERs of the root GRID;
//! sources read from another gmetad appear as nested GRIDs known by their summary, as gmetad's
//! default `scalable on` mode serves them.

use super::query::Query;
use crate::aggregator::{ClusterView, Snapshot, SourceView};
use crate::ganglia::{Flavor, XmlWriter};
use crate::model::{Grid, Host, Summary};

/// Flush to the client whenever this much is buffered.
const CHUNK: usize = 256 * 1024;

/// Output sink: `emit` takes a full chunk and returns false when the client has gone.
pub struct Out<'a> {
    buf: Vec<u8>,
    emit: &'a mut dyn FnMut(Vec<u8>) -> bool,
    open: bool,
}

impl<'a> Out<'a> {
    /// A sink over `emit`.
    pub fn new(emit: &'a mut dyn FnMut(Vec<u8>) -> bool) -> Self {
        Self {
            buf: Vec::with_capacity(CHUNK + 64 * 1024),
            emit,
            open: true,
        }
    }

    fn maybe_flush(&mut self) -> bool {
        if self.buf.len() >= CHUNK {
            self.flush();
        }
        self.open
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        if self.open && !self.buf.is_empty() {
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 64 * 1024));
            self.open = (self.emit)(chunk);
        }
    }

    /// The buffer, for direct writes.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

/// A child of the root grid as served.
enum Node<'s> {
    Cluster(&'s ClusterView),
    Remote { grid: Grid, summary: &'s Summary },
}

impl Node<'_> {
    fn name(&self) -> &str {
        match self {
            Node::Cluster(c) => &c.cluster.name,
            Node::Remote { grid, .. } => &grid.name,
        }
    }
}

fn children(snap: &Snapshot) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    for s in &snap.sources {
        push_source(s, &mut out);
    }
    out
}

fn push_source<'s>(s: &'s SourceView, out: &mut Vec<Node<'s>>) {
    match &s.grid {
        None => out.extend(s.clusters.iter().map(Node::Cluster)),
        Some(info) if !s.clusters.is_empty() || !s.remote_grids.is_empty() => {
            out.push(Node::Remote {
                grid: Grid {
                    name: info.name.clone(),
                    authority: info.authority.clone(),
                    localtime: info.localtime,
                    ..Grid::default()
                },
                summary: &s.summary,
            });
        }
        Some(_) => {}
    }
}

fn matches(pattern: &str, name: &str, http: bool) -> bool {
    (http && pattern == "*") || pattern == name
}

/// Writes the answer to `q` (without HTTP headers).
pub fn render(snap: &Snapshot, q: &Query, now: u64, out: &mut Out<'_>) {
    let mut w = XmlWriter::new(Flavor::Gmetad);
    w.prolog(out.buf());
    let root = Grid {
        name: snap.grid_name.clone(),
        authority: snap.authority.clone(),
        localtime: Some(now),
        ..Grid::default()
    };
    w.grid_open(out.buf(), &root, now);
    let nodes = children(snap);
    let selected: Vec<&Node<'_>> = match q.path.first() {
        None => nodes.iter().collect(),
        Some(p) => nodes
            .iter()
            .filter(|n| matches(p, n.name(), q.http))
            .collect(),
    };
    if q.path.is_empty() || (selected.is_empty() && !q.http) {
        // The whole root; for an unknown name in plain mode gmetad also answers this (the
        // subtree of the last element that matched).
        if q.summary {
            w.summary(out.buf(), &snap.summary, false);
        }
        for n in &nodes {
            if !node(&mut w, n, &[], q, now, out) {
                return;
            }
        }
    } else {
        for n in selected {
            if !node(&mut w, n, &q.path[1..], q, now, out) {
                return;
            }
        }
    }
    w.grid_close(out.buf());
    w.epilog(out.buf());
    out.flush();
}

fn node(
    w: &mut XmlWriter,
    n: &Node<'_>,
    rest: &[String],
    q: &Query,
    now: u64,
    out: &mut Out<'_>,
) -> bool {
    match n {
        Node::Remote { grid, summary } => {
            let lt = grid.localtime.unwrap_or(now);
            w.grid_open(out.buf(), grid, lt);
            w.summary(out.buf(), summary, false);
            w.grid_close(out.buf());
            out.maybe_flush()
        }
        Node::Cluster(cv) => cluster(w, cv, rest, q, now, out),
    }
}

fn cluster(
    w: &mut XmlWriter,
    cv: &ClusterView,
    rest: &[String],
    q: &Query,
    now: u64,
    out: &mut Out<'_>,
) -> bool {
    let c = &cv.cluster;
    let age = cv.age(now);
    w.cluster_open(out.buf(), c);
    let hosts: Vec<&Host> = match rest.first() {
        None => c.hosts.iter().collect(),
        Some(p) => c
            .hosts
            .iter()
            .filter(|h| matches(p, &h.name, q.http))
            .collect(),
    };
    if rest.is_empty() || (hosts.is_empty() && !q.http) {
        if q.summary {
            w.summary(out.buf(), cv.summary(), true);
        } else {
            for h in &c.hosts {
                w.host(out.buf(), h, age);
                if !out.maybe_flush() {
                    return false;
                }
            }
        }
    } else {
        for h in hosts {
            host(w, h, &rest[1..], q, age, out);
            if !out.maybe_flush() {
                return false;
            }
        }
    }
    w.cluster_close(out.buf());
    out.maybe_flush()
}

fn host(w: &mut XmlWriter, h: &Host, rest: &[String], q: &Query, age: u64, out: &mut Out<'_>) {
    let metrics: Vec<_> = match rest.first() {
        None => Vec::new(),
        Some(p) => h
            .metrics
            .iter()
            .filter(|m| matches(p, &m.meta.name, q.http))
            .collect(),
    };
    w.host_open(out.buf(), h, age);
    if rest.is_empty() || (metrics.is_empty() && !q.http) {
        // gmetad does not apply the summary filter to hosts: it answers an empty HOST.
        if !q.summary {
            for m in &h.metrics {
                if !m.is_expired(u64::from(m.tn) + age) {
                    w.metric(out.buf(), m, age);
                }
            }
        }
    } else {
        for m in metrics {
            w.metric(out.buf(), m, age);
        }
    }
    w.host_close(out.buf());
}
