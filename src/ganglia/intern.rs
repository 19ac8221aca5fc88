//! Sharing of repeated data between hosts and between polls: ten thousand hosts reporting
//! `load_one` share one `MetricMeta`, and a poll that brings nothing new allocates no metadata.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::model::MetricMeta;

/// Variants of one metric name kept for matching (different units or extra data per host).
const VARIANTS_PER_NAME: usize = 8;
/// Distinct short strings kept before the table is emptied (bounded memory against garbage).
const MAX_STRINGS: usize = 200_000;

/// One known metadata record, with the exact bytes of its `<EXTRA_DATA>` block as last read
/// without damage: a later host sending the same bytes needs no tokenizing of them.
#[derive(Debug, Clone)]
struct Variant {
    meta: Arc<MetricMeta>,
    raw_extra: Option<Arc<[u8]>>,
}

/// A known metadata record and, when known, the raw bytes of its extra data block.
pub type Candidate = (Arc<MetricMeta>, Option<Arc<[u8]>>);

/// Interning tables, owned by one source and reused across its polls.
#[derive(Debug, Default)]
pub struct Interner {
    metas: FxHashMap<Box<str>, Vec<Variant>>,
    strings: FxHashMap<Box<str>, Arc<str>>,
}

impl Interner {
    /// A shared copy of `s`.
    pub fn string(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.strings.get(s) {
            return a.clone();
        }
        if self.strings.len() >= MAX_STRINGS {
            self.strings.clear();
        }
        let a: Arc<str> = Arc::from(s);
        self.strings.insert(s.into(), a.clone());
        a
    }

    /// The most recently used metadata for `name` whose scalar fields equal `probe`'s, with
    /// the raw bytes of its extra data block when known.
    pub fn candidate(&self, probe: &MetaProbe<'_>) -> Option<Candidate> {
        let v = self
            .metas
            .get(probe.name)?
            .iter()
            .find(|v| probe.matches(&v.meta))?;
        Some((v.meta.clone(), v.raw_extra.clone()))
    }

    /// Remembers the exact bytes of `meta`'s extra data block (read without damage).
    pub fn remember_raw_extra(&mut self, meta: &Arc<MetricMeta>, raw: &[u8]) {
        if let Some(list) = self.metas.get_mut(&*meta.name)
            && let Some(v) = list.iter_mut().find(|v| Arc::ptr_eq(&v.meta, meta))
            && v.raw_extra.as_deref() != Some(raw)
        {
            v.raw_extra = Some(raw.into());
        }
    }

    /// Records `meta` (or returns an equal one already known).
    pub fn meta(&mut self, meta: MetricMeta) -> Arc<MetricMeta> {
        let list = match self.metas.get_mut(&*meta.name) {
            Some(l) => l,
            None => self.metas.entry(meta.name.as_ref().into()).or_default(),
        };
        if let Some(pos) = list.iter().position(|v| *v.meta == meta) {
            let found = list.remove(pos);
            let arc = found.meta.clone();
            list.insert(0, found);
            return arc;
        }
        let arc = Arc::new(meta);
        list.insert(
            0,
            Variant {
                meta: arc.clone(),
                raw_extra: None,
            },
        );
        list.truncate(VARIANTS_PER_NAME);
        arc
    }

    /// Number of distinct metadata records held (for tests and memory accounting).
    pub fn meta_count(&self) -> usize {
        self.metas.values().map(Vec::len).sum()
    }
}

/// The scalar part of a metric's metadata, borrowed from the parser, used to find a match
/// before any extra data has been read.
#[derive(Debug, Clone, Copy)]
pub struct MetaProbe<'a> {
    /// Metric name.
    pub name: &'a str,
    /// Value type.
    pub kind: crate::model::MetricType,
    /// Units.
    pub units: &'a str,
    /// Slope.
    pub slope: crate::model::Slope,
    /// TMAX.
    pub tmax: u32,
    /// DMAX.
    pub dmax: u32,
}

impl MetaProbe<'_> {
    fn matches(&self, m: &MetricMeta) -> bool {
        m.kind == self.kind
            && m.slope == self.slope
            && m.tmax == self.tmax
            && m.dmax == self.dmax
            && &*m.units == self.units
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MetricType, Slope};

    #[test]
    fn equal_metas_are_shared() {
        let mut i = Interner::default();
        let a = i.meta(MetricMeta::new(
            "load_one",
            MetricType::Float,
            " ",
            Slope::Both,
            70,
        ));
        let b = i.meta(MetricMeta::new(
            "load_one",
            MetricType::Float,
            " ",
            Slope::Both,
            70,
        ));
        assert!(Arc::ptr_eq(&a, &b));
        let c = i.meta(MetricMeta::new(
            "load_one",
            MetricType::Float,
            "x",
            Slope::Both,
            70,
        ));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(i.meta_count(), 2);
        let probe = MetaProbe {
            name: "load_one",
            kind: MetricType::Float,
            units: " ",
            slope: Slope::Both,
            tmax: 70,
            dmax: 0,
        };
        assert!(Arc::ptr_eq(&i.candidate(&probe).unwrap().0, &a));
        assert!(Arc::ptr_eq(&i.string("x"), &i.string("x")));
    }
}
