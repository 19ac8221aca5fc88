use std::sync::Arc;

use super::*;
use crate::model::{Metric, MetricMeta, MetricType, Slope, Summary};

fn metrics(load: f64) -> Vec<Metric> {
    let meta = |n: &str, k| Arc::new(MetricMeta::new(n, k, "", Slope::Both, 60));
    vec![
        Metric::new(meta("load_one", MetricType::Float), &load.to_string(), 0),
        Metric::new(meta("os_name", MetricType::String), "Linux", 0),
        Metric::new(meta("cpu_num", MetricType::Uint16), "8", 0),
    ]
}

fn record(h: &HistoryStore, t: u64, load: f64, up: bool) {
    let m = metrics(load);
    h.record_cluster(
        "c",
        t,
        [HostSample {
            host: "n1",
            up,
            metrics: &m,
        }],
    );
}

const T0: u64 = 1_800_000_000 - 1_800_000_000 % 172_800;

#[test]
fn minutes_average_their_polls_and_strings_are_not_kept() {
    let h = HistoryStore::new();
    for (i, v) in [1.0, 2.0, 3.0, 6.0].into_iter().enumerate() {
        record(&h, T0 + 15 * i as u64, v, true);
    }
    record(&h, T0 + 60, 10.0, true);
    let s = h
        .host_series("c", "n1", "load_one", Range::Hour, T0 + 61)
        .unwrap();
    assert_eq!(s.points.len(), 60);
    assert_eq!(s.step, 60);
    assert_eq!(s.start + 59 * 60, T0 + 60);
    let last2: Vec<f64> = s.points[58..].iter().map(|p| p.unwrap().avg).collect();
    assert_eq!(last2, vec![3.0, 10.0], "closed minute, then the open one");
    assert!(
        h.host_series("c", "n1", "os_name", Range::Hour, T0)
            .is_none()
    );
    assert_eq!(h.host_metrics("c", "n1"), vec!["load_one", "cpu_num"]);
}

#[test]
fn a_gap_stays_a_gap_and_down_hosts_record_nothing() {
    let h = HistoryStore::new();
    record(&h, T0, 1.0, true);
    record(&h, T0 + 60, 9.0, false);
    record(&h, T0 + 180, 2.0, true);
    let s = h
        .host_series("c", "n1", "load_one", Range::Hour, T0 + 180)
        .unwrap();
    let tail: Vec<Option<f64>> = s.points[56..].iter().map(|p| p.map(|p| p.avg)).collect();
    assert_eq!(tail, vec![Some(1.0), None, None, Some(2.0)]);
}

#[test]
fn coarser_levels_keep_average_minimum_and_maximum() {
    let h = HistoryStore::new();
    // 40 minutes: the first 20 alternate 1 and 3, the next 20 hold 10.
    for m in 0..41u64 {
        let v = if m < 20 {
            1.0 + 2.0 * (m % 2) as f64
        } else {
            10.0
        };
        record(&h, T0 + m * 60, v, true);
    }
    let s = h
        .host_series("c", "n1", "load_one", Range::Day, T0 + 41 * 60)
        .unwrap();
    assert_eq!(s.step, 1200);
    assert_eq!(s.points.len(), 72);
    let first = (T0 - s.start) / 1200;
    let p = s.points[first as usize].unwrap();
    assert_eq!((p.avg, p.min, p.max), (2.0, 1.0, 3.0));
    let p = s.points[first as usize + 1].unwrap();
    assert_eq!((p.avg, p.min, p.max), (10.0, 10.0, 10.0));
    // The open bin is built from the minutes so far.
    let p = s.points[first as usize + 2].unwrap();
    assert_eq!(p.avg, 10.0);
    // Week, month and year reach back to the same data through the cascade.
    for r in [Range::Week, Range::Month, Range::Year] {
        let s = h
            .host_series("c", "n1", "load_one", r, T0 + 41 * 60)
            .unwrap();
        let p = s.points.iter().flatten().next().unwrap();
        assert_eq!((p.min, p.max), (1.0, 10.0), "{r:?}");
    }
}

#[test]
fn summaries_are_kept_exactly_and_mean_divides() {
    let h = HistoryStore::new();
    let mut s = Summary {
        hosts_up: 3,
        ..Default::default()
    };
    s.metrics.push(crate::model::MetricSummary {
        meta: Arc::new(MetricMeta::new(
            "load_one",
            MetricType::Float,
            "",
            Slope::Both,
            70,
        )),
        sum: 5123.37,
        num: 3,
        decimals: 2,
    });
    h.record_summary("cluster:c", T0, &s);
    let sum = h
        .summary_series("cluster:c", "load_one", SummaryValue::Sum, Range::Hour, T0)
        .unwrap();
    assert_eq!(
        sum.points.last().unwrap().unwrap().avg,
        f64::from(5123.37f32)
    );
    let mean = h
        .summary_series("cluster:c", "load_one", SummaryValue::Mean, Range::Hour, T0)
        .unwrap();
    assert!((mean.points.last().unwrap().unwrap().avg - 1707.79).abs() < 0.01);
    let up = h
        .summary_series("cluster:c", "hosts_up", SummaryValue::Sum, Range::Hour, T0)
        .unwrap();
    assert_eq!(up.points.last().unwrap().unwrap().avg, 3.0);
}

#[test]
fn save_and_load_round_trip_and_damage_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.bin");
    let h = HistoryStore::new();
    for m in 0..130u64 {
        record(&h, T0 + m * 30, (m % 7) as f64, true);
    }
    h.save(&path).unwrap();
    let back = HistoryStore::load(&path).unwrap();
    for r in Range::ALL {
        assert_eq!(
            back.host_series("c", "n1", "load_one", r, T0 + 4000),
            h.host_series("c", "n1", "load_one", r, T0 + 4000),
        );
    }
    assert_eq!(back.stats().series, h.stats().series);

    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let (empty, note) = HistoryStore::load_or_set_aside(&path, 42);
    let note = note.unwrap();
    assert!(note.contains("checksum"), "{note}");
    assert!(note.contains("damaged-42"), "{note}");
    assert_eq!(empty.stats().series, 0);
    assert!(!path.exists());
    assert!(dir.path().join("history.bin.damaged-42").exists());

    // Truncated and foreign files are refused the same way; a missing one is simply empty.
    std::fs::write(&path, b"GANTRYH\x01short").unwrap();
    assert!(matches!(
        HistoryStore::load(&path),
        Err(HistoryFileError::Damaged { .. })
    ));
    std::fs::write(&path, b"<?xml version=\"1.0\"?>").unwrap();
    assert!(
        HistoryStore::load(&path)
            .unwrap_err()
            .to_string()
            .contains("bad magic")
    );
    std::fs::remove_file(&path).unwrap();
    assert_eq!(HistoryStore::load(&path).unwrap().stats().tables, 0);
}

#[test]
fn forgotten_hosts_free_their_columns_and_the_rest_survive() {
    let h = HistoryStore::new();
    let m = metrics(4.0);
    for i in 0..5u64 {
        let hosts: Vec<HostSample> = ["a", "b", "c"]
            .iter()
            .filter(|n| i < 3 || **n != "b")
            .map(|n| HostSample {
                host: n,
                up: true,
                metrics: &m,
            })
            .collect();
        h.record_cluster("c", T0 + i * 60, hosts);
    }
    let before = h.host_series("c", "c", "load_one", Range::Hour, T0 + 300);
    assert_eq!(h.forget(T0 + 3 * 60), 1);
    assert!(
        h.host_series("c", "b", "load_one", Range::Hour, T0 + 300)
            .is_none()
    );
    assert_eq!(
        h.host_series("c", "c", "load_one", Range::Hour, T0 + 300),
        before
    );
    assert_eq!(h.stats().series, 4);
}

#[test]
fn a_host_added_later_has_gaps_before_it_appeared() {
    let h = HistoryStore::new();
    record(&h, T0, 1.0, true);
    let m = metrics(2.0);
    h.record_cluster(
        "c",
        T0 + 60,
        [HostSample {
            host: "late",
            up: true,
            metrics: &m,
        }],
    );
    h.record_cluster("c", T0 + 120, []);
    let s = h
        .host_series("c", "late", "load_one", Range::Hour, T0 + 120)
        .unwrap();
    let tail: Vec<Option<f64>> = s.points[57..].iter().map(|p| p.map(|p| p.avg)).collect();
    assert_eq!(tail, vec![None, Some(2.0), None]);
}

#[test]
fn bounds_hold_values_16_bits_cannot_represent() {
    // 0.67 and 2.67 round to nearest in a minute's 16-bit cell (0.671875, 2.671875); the day
    // level's minimum and maximum come from the exact averages, so the band holds both.
    let h = HistoryStore::new();
    record(&h, T0, 0.67, true);
    record(&h, T0 + 60, 2.67, true);
    record(&h, T0 + 1200, 1.0, true); // the next day-level bin: the first one closes
    record(&h, T0 + 1260, 1.0, true);
    for now in [T0 + 120, T0 + 1300] {
        let s = h
            .host_series("c", "n1", "load_one", Range::Day, now)
            .unwrap();
        let p = s.points[((T0 - s.start) / 1200) as usize].unwrap();
        assert!(p.min <= f64::from(0.67f32), "{p:?} at {now}");
        assert!(p.max >= f64::from(2.67f32), "{p:?} at {now}");
        assert!(p.min > 0.66 && p.max < 2.69, "{p:?} at {now}");
    }
}
