//! Placeholder for the history store (being built on the `history` branch); same public API.

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

/// The store (placeholder: keeps nothing).
#[derive(Debug, Default)]
pub struct HistoryStore;

impl HistoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self
    }
    /// A host metric's series.
    pub fn host_series(
        &self,
        _c: &str,
        _h: &str,
        _m: &str,
        _r: Range,
        _now: u64,
    ) -> Option<Series> {
        None
    }
    /// A summary series.
    pub fn summary_series(
        &self,
        _s: &str,
        _m: &str,
        _v: SummaryValue,
        _r: Range,
        _now: u64,
    ) -> Option<Series> {
        None
    }
}

/// One host of one poll, as the store records it.
#[derive(Debug, Clone, Copy)]
pub struct HostSample<'a> {
    /// Host name.
    pub host: &'a str,
    /// Up by gmetad's rule.
    pub up: bool,
    /// Its metrics.
    pub metrics: &'a [crate::model::Metric],
}

impl HistoryStore {
    /// Records one poll of a cluster (placeholder: keeps nothing).
    pub fn record_cluster<'a>(
        &self,
        _cluster: &str,
        _t: u64,
        _hosts: impl IntoIterator<Item = HostSample<'a>>,
    ) {
    }
    /// Records a summary (placeholder: keeps nothing).
    pub fn record_summary(&self, _scope: &str, _t: u64, _summary: &crate::model::Summary) {}
}
