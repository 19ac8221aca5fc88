//! Metric history: every numeric metric of every host, and every cluster and grid summary,
//! consolidated per range (hour, day, week, month, year) as average, minimum and maximum, with
//! gaps kept as gaps. See [`table`] for the layout and [`pack`] for the encoding; memory is
//! stated in docs/aggregator.md and measured by `cargo bench --bench versus_gmetad`.

mod pack;
mod persist;
mod table;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

pub use persist::HistoryFileError;
use table::{BIN_SECS, BINS, Table, level_of};

use std::str::FromStr;

/// A graph range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Range {
    /// The last hour.
    Hour,
    /// The last day.
    Day,
    /// The last week.
    Week,
    /// The last month.
    Month,
    /// The last year.
    Year,
}

impl Range {
    /// All ranges, shortest first.
    pub const ALL: [Range; 5] = [
        Range::Hour,
        Range::Day,
        Range::Week,
        Range::Month,
        Range::Year,
    ];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Range::Hour => "hour",
            Range::Day => "day",
            Range::Week => "week",
            Range::Month => "month",
            Range::Year => "year",
        }
    }

    /// Seconds covered.
    pub fn span_secs(self) -> u64 {
        match self {
            Range::Hour => 3600,
            Range::Day => 86_400,
            Range::Week => 7 * 86_400,
            Range::Month => 30 * 86_400,
            Range::Year => 365 * 86_400,
        }
    }
}

impl FromStr for Range {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Range::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown range '{s}' (hour, day, week, month, year)"))
    }
}

/// One consolidated point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Average.
    pub avg: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

/// A series over a range; `None` is a gap.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The range.
    pub range: Range,
    /// Epoch of the first point.
    pub start: u64,
    /// Seconds per point.
    pub step: u32,
    /// Points, oldest first.
    pub points: Vec<Option<Point>>,
}

/// Which summary value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryValue {
    /// The sum.
    Sum,
    /// The count.
    Num,
    /// Sum / count.
    Mean,
}

/// One host of one poll, as the store records it.
#[derive(Debug, Clone, Copy)]
pub struct HostSample<'a> {
    /// Host name.
    pub host: &'a str,
    /// Up by gmetad's rule; a down host's values are frozen, so they are recorded as gaps.
    pub up: bool,
    /// Its metrics.
    pub metrics: &'a [crate::model::Metric],
}

/// What the store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HistoryStats {
    /// Tables (clusters and summary scopes).
    pub tables: usize,
    /// Series (host metrics and summary values).
    pub series: usize,
    /// Bytes held.
    pub bytes: usize,
}

/// The history store, shared by the aggregator (writer) and the console and server (readers).
/// Each table has its own lock, so recording one cluster never waits on another.
#[derive(Debug, Default)]
pub struct HistoryStore {
    tables: RwLock<HashMap<String, Arc<Mutex<Table>>>>,
}

fn cluster_key(cluster: &str) -> String {
    format!("c/{cluster}")
}

fn counts_key(scope: &str) -> String {
    format!("n/{scope}")
}

fn summary_key(scope: &str) -> String {
    format!("s/{scope}")
}

impl HistoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn table(&self, key: String, precise: bool) -> Arc<Mutex<Table>> {
        if let Some(t) = self.tables.read().get(&key) {
            return t.clone();
        }
        self.tables
            .write()
            .entry(key)
            .or_insert_with(|| Arc::new(Mutex::new(Table::new(precise))))
            .clone()
    }

    fn existing(&self, key: &str) -> Option<Arc<Mutex<Table>>> {
        self.tables.read().get(key).cloned()
    }

    /// Records one poll of a cluster at epoch `t`: every numeric metric of every up host.
    pub fn record_cluster<'a>(
        &self,
        cluster: &str,
        t: u64,
        hosts: impl IntoIterator<Item = HostSample<'a>>,
    ) {
        let table = self.table(cluster_key(cluster), false);
        let mut table = table.lock();
        table.begin(t);
        for h in hosts {
            if !h.up {
                continue;
            }
            let mut hint = 0;
            for m in h.metrics {
                if m.meta.kind.is_numeric() && m.num.is_finite() {
                    let c = table.column(h.host, &m.meta.name, &mut hint, t);
                    table.add(c, m.num);
                }
            }
        }
    }

    /// Records a summary (`scope` is `cluster:NAME` or `grid:NAME`) at epoch `t`: each metric's
    /// sum and count, and the up and down host counts (as sums).
    pub fn record_summary(&self, scope: &str, t: u64, summary: &crate::model::Summary) {
        let table = self.table(summary_key(scope), true);
        let mut table = table.lock();
        table.begin(t);
        let (mut hs, mut hn) = (0, 0);
        for m in &summary.metrics {
            let c = table.column("sum", &m.meta.name, &mut hs, t);
            table.add(c, m.sum);
            let c = table.column("num", &m.meta.name, &mut hn, t);
            table.add(c, f64::from(m.num));
        }
        let c = table.column("sum", "hosts_up", &mut hs, t);
        table.add(c, f64::from(summary.hosts_up));
        let c = table.column("sum", "hosts_down", &mut hs, t);
        table.add(c, f64::from(summary.hosts_down));
    }

    /// Records counts (`scope` such as `events/templates`) at epoch `t`: one value per
    /// (group, name), such as messages per template in a minute.
    pub fn record_counts<'a>(
        &self,
        scope: &str,
        t: u64,
        rows: impl IntoIterator<Item = (&'a str, &'a str, f64)>,
    ) {
        let table = self.table(counts_key(scope), false);
        let mut table = table.lock();
        table.begin(t);
        let mut hint = 0;
        for (group, name, v) in rows {
            let c = table.column(group, name, &mut hint, t);
            table.add(c, v);
        }
    }

    /// A count's series over `range` ending at `now`; `None` when never recorded.
    pub fn count_series(
        &self,
        scope: &str,
        group: &str,
        name: &str,
        range: Range,
        now: u64,
    ) -> Option<Series> {
        let t = self.existing(&counts_key(scope))?;
        let t = t.lock();
        let col = t.find(group, name)?;
        Some(Self::series(&t, col, range, now))
    }

    fn series(table: &Table, col: usize, range: Range, now: u64) -> Series {
        let level = level_of(range);
        let (start, points) = table.points(col, level, now);
        Series {
            range,
            start,
            step: BIN_SECS[level] as u32,
            points,
        }
    }

    /// A host metric's series over `range` ending at `now`; `None` when never recorded.
    pub fn host_series(
        &self,
        cluster: &str,
        host: &str,
        metric: &str,
        range: Range,
        now: u64,
    ) -> Option<Series> {
        let t = self.existing(&cluster_key(cluster))?;
        let t = t.lock();
        let col = t.find(host, metric)?;
        Some(Self::series(&t, col, range, now))
    }

    /// A summary series; `Mean` is sum over count, point by point.
    pub fn summary_series(
        &self,
        scope: &str,
        metric: &str,
        value: SummaryValue,
        range: Range,
        now: u64,
    ) -> Option<Series> {
        let t = self.existing(&summary_key(scope))?;
        let t = t.lock();
        let get = |group| {
            t.find(group, metric)
                .map(|c| Self::series(&t, c, range, now))
        };
        match value {
            SummaryValue::Sum => get("sum"),
            SummaryValue::Num => get("num"),
            SummaryValue::Mean => {
                let mut sum = get("sum")?;
                let num = get("num")?;
                for (s, n) in sum.points.iter_mut().zip(&num.points) {
                    *s = match (*s, n) {
                        (Some(s), Some(n)) if n.avg > 0.0 => Some(Point {
                            avg: s.avg / n.avg,
                            min: s.min / n.max.max(1.0),
                            max: s.max / n.min.max(1.0),
                        }),
                        _ => None,
                    };
                }
                Some(sum)
            }
        }
    }

    /// The metrics recorded for a host, in first-seen order.
    pub fn host_metrics(&self, cluster: &str, host: &str) -> Vec<String> {
        let Some(t) = self.existing(&cluster_key(cluster)) else {
            return Vec::new();
        };
        let t = t.lock();
        t.groups
            .get(host)
            .map(|g| g.names.iter().map(|(n, _)| n.to_string()).collect())
            .unwrap_or_default()
    }

    /// Names of the clusters with host history, sorted.
    pub fn clusters(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .tables
            .read()
            .keys()
            .filter_map(|k| k.strip_prefix("c/").map(str::to_string))
            .collect();
        v.sort();
        v
    }

    /// Forgets hosts (and summary values) not seen since `before`; returns how many.
    pub fn forget(&self, before: u64) -> usize {
        let tables: Vec<_> = self.tables.read().values().cloned().collect();
        tables.iter().map(|t| t.lock().forget(before)).sum()
    }

    /// What is held.
    pub fn stats(&self) -> HistoryStats {
        let tables = self.tables.read();
        let mut s = HistoryStats {
            tables: tables.len(),
            ..Default::default()
        };
        for t in tables.values() {
            let t = t.lock();
            s.series += t.series();
            s.bytes += t.bytes();
        }
        s
    }

    /// Saves everything to `path` atomically; returns the file's size.
    pub fn save(&self, path: &Path) -> Result<u64, HistoryFileError> {
        let tables: Vec<(String, Arc<Mutex<Table>>)> = self
            .tables
            .read()
            .iter()
            .map(|(k, t)| (k.clone(), t.clone()))
            .collect();
        persist::save(path, tables.len(), |write| {
            for (k, t) in &tables {
                write(k, &t.lock())?;
            }
            Ok(())
        })
    }

    /// Loads a saved store; a missing file gives an empty store.
    pub fn load(path: &Path) -> Result<Self, HistoryFileError> {
        Ok(Self::with_tables(persist::load(path)?.unwrap_or_default()))
    }

    fn with_tables(tables: Vec<(compact_str::CompactString, Table)>) -> Self {
        let store = Self::new();
        {
            let mut map = store.tables.write();
            for (k, t) in tables {
                map.insert(k.to_string(), Arc::new(Mutex::new(t)));
            }
        }
        store
    }

    /// The store as its file holds it, in memory (what [`HistoryStore::save`] writes).
    pub fn image(&self) -> Vec<u8> {
        let mut tables: Vec<(compact_str::CompactString, Table)> = self
            .tables
            .read()
            .iter()
            .map(|(k, t)| (k.as_str().into(), t.lock().clone()))
            .collect();
        tables.sort_by(|a, b| a.0.cmp(&b.0));
        persist::encode(&tables)
    }

    /// A store read from a file's image (what [`HistoryStore::load`] reads), or where and
    /// why the image is damaged.
    pub fn from_image(bytes: &[u8]) -> Result<Self, (usize, String)> {
        persist::decode(bytes).map(Self::with_tables)
    }

    /// Loads `path`; when it is damaged, moves it aside and starts empty. The message says what
    /// happened, for the log and the screen.
    pub fn load_or_set_aside(path: &Path, now: u64) -> (Self, Option<String>) {
        match Self::load(path) {
            Ok(s) => (s, None),
            Err(e @ HistoryFileError::Damaged { .. }) => {
                let note = match persist::set_aside(path, now) {
                    Ok(to) => format!("{e}; moved aside to {} and starting empty", to.display()),
                    Err(m) => format!("{e}; could not move it aside ({m}); starting empty"),
                };
                (Self::new(), Some(note))
            }
            Err(e) => (
                Self::new(),
                Some(format!("{e}; starting with empty history")),
            ),
        }
    }
}

/// Bytes one host series takes at most, with every level full.
pub const MAX_BYTES_PER_HOST_SERIES: usize =
    2 * BINS[0] as usize + 6 * (BINS[1] + BINS[2] + BINS[3] + BINS[4]) as usize;

#[cfg(test)]
mod tests;
