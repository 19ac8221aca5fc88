//! A reading as a gmond metric of its host: a float in the reading's units, in the `sensors`
//! group, with the BMC's name for it and its thresholds and health as extra elements — so it
//! is recorded, graphed and served in gmetad XML like any metric, and a parent gmetad or
//! ganglia-web sees it too.

use std::sync::Arc;

use super::reading::{Kind, Reading, Thresholds};
use crate::model::{Metric, MetricMeta, MetricType, Slope};

/// The metric for `r` (none when the sensor has no value: absent or disabled), `tn` seconds
/// after it was read; `interval` is how often the BMC is polled (the metric's TMAX).
pub fn to_metric(r: &Reading, interval: u32, tn: u32) -> Option<Metric> {
    if !r.present() {
        return None;
    }
    let value = r.value?;
    let mut meta = MetricMeta::new(
        &r.metric,
        MetricType::Float,
        &r.units,
        Slope::Both,
        interval,
    )
    .with_extra("GROUP", "sensors")
    .with_extra("TITLE", &r.name)
    .with_extra("SOURCE", "redfish");
    let t = &r.thresholds;
    for (key, v) in [
        ("CAUTION_HIGH", t.upper_caution),
        ("CRITICAL_HIGH", t.upper_critical),
        ("FATAL_HIGH", t.upper_fatal),
        ("CAUTION_LOW", t.lower_caution),
        ("CRITICAL_LOW", t.lower_critical),
        ("FATAL_LOW", t.lower_fatal),
    ] {
        if let Some(v) = v {
            meta = meta.with_extra(key, &format_value(v));
        }
    }
    if let Some(h) = &r.health {
        meta = meta.with_extra("HEALTH", h);
    }
    Some(Metric::new(Arc::new(meta), &format_value(value), tn))
}

/// The reading a metric made by [`to_metric`] carries (none for other metrics): what the
/// console shows and judges, whether the metric came from this aggregator or through the gmetad
/// XML of another Gantry.
pub fn from_metric(m: &Metric) -> Option<Reading> {
    let extra = |k: &str| {
        m.meta
            .extra
            .iter()
            .find(|(n, _)| &**n == k)
            .map(|(_, v)| &**v)
    };
    if extra("SOURCE") != Some("redfish") {
        return None;
    }
    let num = |k: &str| extra(k).and_then(|v| v.parse::<f64>().ok());
    Some(Reading {
        metric: m.name().to_string(),
        name: extra("TITLE").unwrap_or(m.name()).to_string(),
        kind: Kind::of_metric(m.name()),
        value: m.value(),
        units: m.meta.units.to_string(),
        thresholds: Thresholds {
            upper_caution: num("CAUTION_HIGH"),
            upper_critical: num("CRITICAL_HIGH"),
            upper_fatal: num("FATAL_HIGH"),
            lower_caution: num("CAUTION_LOW"),
            lower_critical: num("CRITICAL_LOW"),
            lower_fatal: num("FATAL_LOW"),
        },
        health: extra("HEALTH").map(str::to_string),
        state: None,
    })
}

/// Every sensor reading of a host, in the order its metrics came.
pub fn host_readings(h: &crate::model::Host) -> Vec<Reading> {
    h.metrics.iter().filter_map(from_metric).collect()
}

/// A value as gmond writes a float: no needless digits.
fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_becomes_a_float_metric_with_its_thresholds() {
        let r = Reading {
            metric: "temp_cpu1".into(),
            name: "CPU #1 Temperature".into(),
            kind: Kind::Temperature,
            value: Some(37.0),
            units: "C".into(),
            thresholds: Thresholds {
                upper_caution: Some(42.0),
                upper_critical: Some(45.5),
                ..Thresholds::default()
            },
            health: Some("OK".into()),
            state: Some("Enabled".into()),
        };
        let m = to_metric(&r, 60, 3).unwrap();
        assert_eq!(m.name(), "temp_cpu1");
        assert_eq!(m.text.as_str(), "37");
        assert_eq!(m.num, 37.0);
        assert_eq!(&*m.meta.units, "C");
        let extra: Vec<(String, String)> = m
            .meta
            .extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(extra.contains(&("GROUP".into(), "sensors".into())));
        assert!(extra.contains(&("CRITICAL_HIGH".into(), "45.5".into())));
        assert!(extra.contains(&("HEALTH".into(), "OK".into())));
        let back = from_metric(&m).unwrap();
        assert_eq!(
            back,
            Reading {
                state: None,
                ..r.clone()
            },
            "read back from the metric"
        );
        let absent = Reading {
            value: None,
            state: Some("Absent".into()),
            ..r
        };
        assert!(to_metric(&absent, 60, 0).is_none());
    }
}
