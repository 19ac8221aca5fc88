//! One table of series sharing a clock: every host metric of one cluster, or every summary value
//! of one scope. Time is cut into epoch-aligned bins per level; a level is a ring of rows, one
//! row per bin that saw any sample, one column per series. Rows are only allocated for bins that
//! happened, so memory follows the history actually kept, and a series added later simply has
//! no column in older (shorter) rows — a gap.

use std::collections::{HashMap, VecDeque};

use compact_str::CompactString;

use super::pack::{self, Round};
use super::{Point, Range};

/// Seconds per bin of each level (each divides the next).
pub const BIN_SECS: [u64; 5] = [60, 1200, 7200, 21_600, 172_800];
/// Bins kept by each level: an hour, a day, a week, 30 days and a year.
pub const BINS: [u64; 5] = [60, 72, 84, 120, 183];

/// The level a range is drawn from.
pub fn level_of(range: Range) -> usize {
    match range {
        Range::Hour => 0,
        Range::Day => 1,
        Range::Week => 2,
        Range::Month => 3,
        Range::Year => 4,
    }
}

/// Values per cell: level 0 keeps the average of the minute; coarser levels keep average,
/// minimum and maximum.
fn cell_values(level: usize) -> usize {
    if level == 0 { 1 } else { 3 }
}

/// One bin's values.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub bin: u64,
    pub data: Box<[u16]>,
}

/// The series of one group (a host, or a summary value kind), by name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Group {
    pub names: Vec<(CompactString, u32)>,
    /// Last epoch this group had a sample (to forget hosts that are gone).
    pub seen: u64,
}

/// A table; see the module doc.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub precise: bool,
    pub groups: HashMap<CompactString, Group>,
    pub cols: u32,
    /// The level-0 bin being accumulated.
    pub acc_bin: Option<u64>,
    pub acc_sum: Vec<f32>,
    pub acc_n: Vec<u16>,
    /// Exact minimum and maximum of the minute averages in the open day-level bin (NaN: none),
    /// so that level's bounds come from the true averages, not their 16-bit roundings.
    pub day_open: Option<u64>,
    /// Whether the bounds saw every minute of that bin (not so after a restart mid-bin: then
    /// they are combined with the minute cells').
    pub day_whole: bool,
    pub open_min: Vec<f32>,
    pub open_max: Vec<f32>,
    pub levels: [VecDeque<Row>; 5],
}

impl Table {
    /// An empty table; `precise` keeps full f32 values.
    pub fn new(precise: bool) -> Self {
        Self {
            precise,
            groups: HashMap::new(),
            cols: 0,
            acc_bin: None,
            acc_sum: Vec::new(),
            acc_n: Vec::new(),
            day_open: None,
            day_whole: false,
            open_min: Vec::new(),
            open_max: Vec::new(),
            levels: Default::default(),
        }
    }

    fn cell_words(&self, level: usize) -> usize {
        pack::words(self.precise) * cell_values(level)
    }

    /// Starts a poll at epoch `t`: closes the minute before it if `t` is in a later one.
    pub fn begin(&mut self, t: u64) {
        let bin = t / BIN_SECS[0];
        match self.acc_bin {
            Some(b) if bin > b => {
                self.close_minute(b, bin);
                self.acc_bin = Some(bin);
            }
            // A clock that went back keeps accumulating into the current minute.
            Some(_) => {}
            None => self.acc_bin = Some(bin),
        }
    }

    /// The column of `group`/`name`, created when new; `hint` is where it was last time.
    pub fn column(&mut self, group: &str, name: &str, hint: &mut usize, t: u64) -> usize {
        let g = match self.groups.get_mut(group) {
            Some(g) => g,
            None => self.groups.entry(CompactString::new(group)).or_default(),
        };
        g.seen = t;
        if let Some((n, c)) = g.names.get(*hint)
            && n == name
        {
            *hint += 1;
            return *c as usize;
        }
        if let Some(i) = g.names.iter().position(|(n, _)| n == name) {
            *hint = i + 1;
            return g.names[i].1 as usize;
        }
        let c = self.cols;
        self.cols += 1;
        g.names.push((CompactString::new(name), c));
        *hint = g.names.len();
        self.acc_sum.push(0.0);
        self.acc_n.push(0);
        self.open_min.push(f32::NAN);
        self.open_max.push(f32::NAN);
        c as usize
    }

    /// Adds a sample to a column in the current minute; non-finite values are ignored.
    pub fn add(&mut self, col: usize, v: f64) {
        let v = v as f32;
        if v.is_finite() {
            self.acc_sum[col] += v;
            self.acc_n[col] = self.acc_n[col].saturating_add(1);
        }
    }

    /// The column of a series, if it exists.
    pub fn find(&self, group: &str, name: &str) -> Option<usize> {
        let g = self.groups.get(group)?;
        g.names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c as usize)
    }

    /// Closes minute `bin` into level 0 and cascades into coarser levels whose bin ends before
    /// minute `next`.
    fn close_minute(&mut self, bin: u64, next: u64) {
        let w = pack::words(self.precise);
        let mut data = vec![0u16; self.cols as usize * w].into_boxed_slice();
        let mut any = false;
        let day_bin = bin / (BIN_SECS[1] / BIN_SECS[0]);
        // A table read from a file starts without them (not saved: the open bin then takes
        // its bounds from the minute cells).
        self.open_min.resize(self.cols as usize, f32::NAN);
        self.open_max.resize(self.cols as usize, f32::NAN);
        if self.day_open != Some(day_bin) {
            self.day_open = Some(day_bin);
            let first = day_bin * (BIN_SECS[1] / BIN_SECS[0]);
            self.day_whole = !self.levels[0].iter().any(|r| r.bin >= first && r.bin < bin);
            self.open_min.iter_mut().for_each(|m| *m = f32::NAN);
            self.open_max.iter_mut().for_each(|m| *m = f32::NAN);
        }
        for (c, cell) in data.chunks_exact_mut(w).enumerate() {
            let n = self.acc_n[c];
            let v = (n > 0).then(|| self.acc_sum[c] / f32::from(n));
            if let Some(v) = v {
                // f32::min/max skip NaN, so the first average starts each bound.
                self.open_min[c] = self.open_min[c].min(v);
                self.open_max[c] = self.open_max[c].max(v);
            }
            any |= v.is_some();
            pack::put(cell, v, Round::Nearest);
        }
        self.acc_sum.iter_mut().for_each(|s| *s = 0.0);
        self.acc_n.iter_mut().for_each(|n| *n = 0);
        if any {
            self.push(0, Row { bin, data });
        }
        for (level, secs) in BIN_SECS.iter().enumerate().skip(1) {
            let ratio = secs / BIN_SECS[0];
            let (closed, now) = (bin / ratio, next / ratio);
            if now <= closed {
                break;
            }
            if let Some(row) = self.consolidate(level, closed) {
                self.push(level, row);
            }
        }
    }

    fn push(&mut self, level: usize, row: Row) {
        let ring = &mut self.levels[level];
        let oldest = row.bin.saturating_sub(BINS[level] - 1);
        ring.push_back(row);
        while ring.front().is_some_and(|r| r.bin < oldest) {
            ring.pop_front();
        }
    }

    /// Builds level `level`'s row for its bin `bin` from the finer level's rows inside it.
    fn consolidate(&self, level: usize, bin: u64) -> Option<Row> {
        let ratio = BIN_SECS[level] / BIN_SECS[level - 1];
        let first = bin * ratio;
        let rows: Vec<&Row> = self.levels[level - 1]
            .iter()
            .filter(|r| r.bin >= first && r.bin < first + ratio)
            .collect();
        if rows.is_empty() {
            return None;
        }
        let w = self.cell_words(level);
        let mut data = vec![0u16; self.cols as usize * w].into_boxed_slice();
        let exact = level == 1 && self.day_open == Some(bin);
        for (c, cell) in data.chunks_exact_mut(w).enumerate() {
            let mut p = consolidate_points(rows.iter().map(|r| self.cell(r, level - 1, c)));
            if exact
                && let Some(p) = p.as_mut()
                && let (Some(&lo), Some(&hi)) = (self.open_min.get(c), self.open_max.get(c))
                && !lo.is_nan()
            {
                (p.min, p.max) = self.bounds((p.min, p.max), (lo, hi));
            }
            self.put_point(cell, p);
        }
        Some(Row { bin, data })
    }

    /// The open day bin's bounds: the exact ones, or both combined when they missed minutes.
    fn bounds(&self, cells: (f64, f64), exact: (f32, f32)) -> (f64, f64) {
        let (lo, hi) = (f64::from(exact.0), f64::from(exact.1));
        if self.day_whole {
            (lo, hi)
        } else {
            (cells.0.min(lo), cells.1.max(hi))
        }
    }

    fn put_point(&self, cell: &mut [u16], p: Option<Point>) {
        let w = pack::words(self.precise);
        pack::put(&mut cell[..w], p.map(|p| p.avg as f32), Round::Nearest);
        pack::put(&mut cell[w..2 * w], p.map(|p| p.min as f32), Round::Down);
        pack::put(&mut cell[2 * w..3 * w], p.map(|p| p.max as f32), Round::Up);
    }

    /// One cell of a row of `level`.
    pub fn cell(&self, row: &Row, level: usize, col: usize) -> Option<Point> {
        let w = pack::words(self.precise);
        let cw = w * cell_values(level);
        let cell = row.data.get(col * cw..(col + 1) * cw)?;
        let avg = f64::from(pack::get(&cell[..w])?);
        if level == 0 {
            return Some(Point {
                avg,
                min: avg,
                max: avg,
            });
        }
        let min = pack::get(&cell[w..2 * w]).map_or(avg, f64::from);
        let max = pack::get(&cell[2 * w..]).map_or(avg, f64::from);
        Some(Point { avg, min, max })
    }

    /// The current minute's value of a column, if it has samples.
    fn live(&self, col: usize) -> Option<Point> {
        let n = *self.acc_n.get(col)?;
        (n > 0).then(|| {
            let avg = f64::from(self.acc_sum[col] / f32::from(n));
            Point {
                avg,
                min: avg,
                max: avg,
            }
        })
    }

    /// A column's points at `level` for the `BINS[level]` bins ending with the one holding
    /// `now`; returns the first bin's start epoch. The open bin is consolidated on the fly from
    /// the finer levels so graphs reach the last poll.
    pub fn points(&self, col: usize, level: usize, now: u64) -> (u64, Vec<Option<Point>>) {
        let secs = BIN_SECS[level];
        let cur = now / secs;
        let first = (cur + 1).saturating_sub(BINS[level]);
        let mut out = vec![None; (cur + 1 - first) as usize];
        for r in &self.levels[level] {
            if r.bin >= first && r.bin <= cur {
                out[(r.bin - first) as usize] = self.cell(r, level, col);
            }
        }
        // The bin holding the minute still being accumulated is not closed yet at any level.
        if let Some(m) = self.acc_bin {
            let open = m * BIN_SECS[0] / secs;
            if open >= first && open <= cur && out[(open - first) as usize].is_none() {
                out[(open - first) as usize] = self.open_bin(col, level, open);
            }
        }
        (first * secs, out)
    }

    /// The still-open bin `bin` of `level` from what the finer levels hold.
    fn open_bin(&self, col: usize, level: usize, bin: u64) -> Option<Point> {
        let minute = self.acc_bin?;
        if level == 0 {
            return (minute == bin).then(|| self.live(col)).flatten();
        }
        let ratio = BIN_SECS[level] / BIN_SECS[level - 1];
        let first = bin * ratio;
        let finer = self.levels[level - 1]
            .iter()
            .filter(|r| r.bin >= first && r.bin < first + ratio)
            .map(|r| self.cell(r, level - 1, col));
        let fine_ratio = BIN_SECS[level - 1] / BIN_SECS[0];
        let open = (minute / fine_ratio / ratio == bin)
            .then(|| self.open_bin(col, level - 1, minute / fine_ratio))
            .flatten();
        let mut p = consolidate_points(finer.chain(std::iter::once(open)));
        // The day level's bounds from the exact minute averages, as when it closes.
        if level == 1
            && self.day_open == Some(bin)
            && let Some(p) = p.as_mut()
            && let (Some(&lo), Some(&hi)) = (self.open_min.get(col), self.open_max.get(col))
            && !lo.is_nan()
        {
            let (lo, hi) = match open {
                Some(o) => (lo.min(o.avg as f32), hi.max(o.avg as f32)),
                None => (lo, hi),
            };
            (p.min, p.max) = self.bounds((p.min, p.max), (lo, hi));
        }
        p
    }

    /// Drops groups not seen since `before`, compacting every row's columns.
    pub fn forget(&mut self, before: u64) -> usize {
        let gone: Vec<CompactString> = self
            .groups
            .iter()
            .filter(|(_, g)| g.seen < before)
            .map(|(k, _)| k.clone())
            .collect();
        if gone.is_empty() {
            return 0;
        }
        for k in &gone {
            self.groups.remove(k);
        }
        // Old column → new column, in the old order.
        let mut keep: Vec<(u32, &mut u32)> = self
            .groups
            .values_mut()
            .flat_map(|g| g.names.iter_mut().map(|(_, c)| (*c, c)))
            .collect();
        keep.sort_by_key(|(old, _)| *old);
        let order: Vec<usize> = keep.iter().map(|(old, _)| *old as usize).collect();
        for (new, (_, c)) in keep.iter_mut().enumerate() {
            **c = new as u32;
        }
        self.cols = order.len() as u32;
        self.acc_sum = order.iter().map(|&c| self.acc_sum[c]).collect();
        self.acc_n = order.iter().map(|&c| self.acc_n[c]).collect();
        let bound = |v: &[f32], c: usize| v.get(c).copied().unwrap_or(f32::NAN);
        self.open_min = order.iter().map(|&c| bound(&self.open_min, c)).collect();
        self.open_max = order.iter().map(|&c| bound(&self.open_max, c)).collect();
        for level in 0..self.levels.len() {
            let cw = self.cell_words(level);
            for r in self.levels[level].iter_mut() {
                let mut data = Vec::with_capacity(order.len() * cw);
                for &c in &order {
                    match r.data.get(c * cw..(c + 1) * cw) {
                        Some(cell) => data.extend_from_slice(cell),
                        None => {
                            let mut cell = vec![0u16; cw];
                            for v in cell.chunks_exact_mut(pack::words(self.precise)) {
                                pack::put(v, None, Round::Nearest);
                            }
                            data.extend_from_slice(&cell);
                        }
                    }
                }
                r.data = data.into_boxed_slice();
            }
        }
        gone.len()
    }

    /// Bytes held by rows and accumulators (the index is counted roughly).
    pub fn bytes(&self) -> usize {
        let rows: usize = self
            .levels
            .iter()
            .flat_map(|l| l.iter())
            .map(|r| r.data.len() * 2 + std::mem::size_of::<Row>())
            .sum();
        let index: usize = self
            .groups
            .values()
            .map(|g| 64 + g.names.capacity() * std::mem::size_of::<(CompactString, u32)>())
            .sum();
        rows + index
            + self.acc_sum.capacity() * 4
            + self.acc_n.capacity() * 2
            + (self.open_min.capacity() + self.open_max.capacity()) * 4
    }

    /// Number of series.
    pub fn series(&self) -> usize {
        self.cols as usize
    }
}

/// Average of averages, minimum of minima, maximum of maxima; gaps are left out, and all gaps
/// stay a gap.
pub fn consolidate_points(points: impl Iterator<Item = Option<Point>>) -> Option<Point> {
    let mut n = 0u32;
    let (mut sum, mut min, mut max) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
    for p in points.flatten() {
        n += 1;
        sum += p.avg;
        min = min.min(p.min);
        max = max.max(p.max);
    }
    (n > 0).then(|| Point {
        avg: sum / f64::from(n),
        min,
        max,
    })
}
