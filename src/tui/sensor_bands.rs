//! Tiles coloured by a hardware sensor (temperature, power, fans): a host's worst reading of
//! that kind, cut into the five bands every colouring shares. The BMC's own thresholds decide
//! the top two bands (past caution, past critical); where a BMC gives none, fixed values stand
//! in, so a hot node reads as hot either way.

use crate::model::Host;
use crate::redfish::metric::from_metric;
use crate::redfish::{Kind, Level, Reading};
use crate::tui::bands::band_up;

/// Which sensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensor {
    /// The hottest `temp_*` reading, °C.
    Temperature,
    /// `power_consumed` (else the largest `power_*`), W.
    Power,
    /// The slowest `fan_*` in RPM.
    Fan,
}

/// Band edges of the readings themselves, used below the BMC's caution threshold and, where it
/// gives none, for all four edges.
const TEMP_EDGES: [f64; 4] = [50.0, 65.0, 80.0, 90.0];
const POWER_EDGES: [f64; 4] = [250.0, 500.0, 750.0, 1000.0];
/// Fans band downwards: slower is worse.
const FAN_EDGES: [f64; 4] = [2000.0, 1000.0, 500.0, 0.0];

fn readings(h: &Host, s: Sensor) -> impl Iterator<Item = Reading> + '_ {
    h.metrics
        .iter()
        .filter_map(from_metric)
        .filter(move |r| r.value.is_some() && matches_sensor(r, s))
}

fn matches_sensor(r: &Reading, s: Sensor) -> bool {
    match s {
        Sensor::Temperature => r.kind == Kind::Temperature,
        Sensor::Power => r.kind == Kind::Power,
        Sensor::Fan => r.kind == Kind::Fan && r.units == "RPM",
    }
}

/// The host's measure: the hottest temperature, its power, its slowest fan.
pub fn value(h: &Host, s: Sensor) -> Option<f64> {
    let values = readings(h, s).filter_map(|r| r.value);
    match s {
        Sensor::Temperature => values.reduce(f64::max),
        Sensor::Power => h
            .metrics
            .iter()
            .filter_map(from_metric)
            .find(|r| r.metric == "power_consumed")
            .and_then(|r| r.value)
            .or_else(|| values.reduce(f64::max)),
        Sensor::Fan => values.reduce(f64::min),
    }
}

/// The band of one reading: its level by the BMC's thresholds and health first.
fn band_of_reading(r: &Reading, s: Sensor) -> u8 {
    match r.level() {
        Level::Fatal | Level::Critical => return 4,
        Level::Caution => return 3,
        Level::Normal => {}
    }
    let Some(v) = r.value else { return 0 };
    let t = &r.thresholds;
    let has_own = match s {
        Sensor::Fan => t.lower_caution.is_some() || t.lower_critical.is_some(),
        _ => t.upper_caution.is_some() || t.upper_critical.is_some(),
    };
    let by_edges = match s {
        Sensor::Temperature => band_up(v, TEMP_EDGES),
        Sensor::Power => band_up(v, POWER_EDGES),
        Sensor::Fan if v <= 0.0 => 4,
        Sensor::Fan => down(v, FAN_EDGES),
    };
    // Within the BMC's own thresholds, a reading stays below the caution band.
    if has_own { by_edges.min(2) } else { by_edges }
}

fn down(v: f64, [a, b, c, _]: [f64; 4]) -> u8 {
    match v {
        v if v < c => 3,
        v if v < b => 2,
        v if v < a => 1,
        _ => 0,
    }
}

/// The host's band: its worst reading's (for power, the total's where the BMC gives one).
pub fn band(h: &Host, s: Sensor) -> Option<u8> {
    let all: Vec<Reading> = readings(h, s).collect();
    let total: Vec<&Reading> = all
        .iter()
        .filter(|r| r.metric == "power_consumed")
        .collect();
    let judged: Vec<&Reading> = if s == Sensor::Power && !total.is_empty() {
        total
    } else {
        all.iter().collect()
    };
    judged.into_iter().map(|r| band_of_reading(r, s)).max()
}

/// Whether any host reports a sensor of this kind (the colour-by key skips kinds nobody has).
pub fn reported(hosts: &[Host], s: Sensor) -> bool {
    hosts.iter().any(|h| readings(h, s).next().is_some())
}

/// The legend's labels.
pub fn labels(s: Sensor) -> [String; 5] {
    match s {
        Sensor::Temperature => [
            "under 50 °C".into(),
            "50–65 °C".into(),
            "65 °C and over, below its caution".into(),
            "past its BMC's caution (80 °C if none)".into(),
            "past critical (90 °C if none)".into(),
        ],
        Sensor::Power => [
            "under 250 W".into(),
            "250–500 W".into(),
            "500–750 W, below its caution".into(),
            "past its BMC's caution (750 W if none)".into(),
            "past critical (1 kW if none)".into(),
        ],
        Sensor::Fan => [
            "every fan 2,000 RPM or more".into(),
            "a fan under 2,000 RPM".into(),
            "a fan under 1,000 RPM".into(),
            "past its BMC's caution (under 500 RPM if none)".into(),
            "past critical, or stopped".into(),
        ],
    }
}

/// The measure as a labelled tile shows it, in four columns.
pub fn tile_text(s: Sensor, v: f64) -> String {
    match s {
        Sensor::Temperature => format!("{:>3.0}C", v.clamp(-99.0, 999.0)),
        Sensor::Power if v < 999.5 => format!("{v:>3.0}W"),
        Sensor::Power => format!("{:>3.1}k", (v / 1000.0).min(9.9)),
        Sensor::Fan if v < 9999.5 => format!("{v:>4.0}"),
        Sensor::Fan => format!("{:>3.0}k", (v / 1000.0).min(999.0)),
    }
}

/// The measure in words for the selected host's line.
pub fn describe(s: Sensor, v: f64) -> String {
    match s {
        Sensor::Temperature => format!("hottest sensor {v:.0} °C"),
        Sensor::Power => format!("drawing {v:.0} W"),
        Sensor::Fan => format!("slowest fan {v:.0} RPM"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redfish::Thresholds;
    use crate::redfish::metric::to_metric;

    fn host(readings: &[Reading]) -> Host {
        Host {
            name: "n1".into(),
            ip: "10.0.0.1".into(),
            tags: "".into(),
            reported: 0,
            tn: 0,
            tmax: 20,
            dmax: 0,
            location: "unspecified".into(),
            gmond_started: 0,
            metrics: readings
                .iter()
                .filter_map(|r| to_metric(r, 60, 0))
                .collect(),
        }
    }

    fn reading(metric: &str, kind: Kind, units: &str, v: f64, t: Thresholds) -> Reading {
        Reading {
            metric: metric.into(),
            name: metric.into(),
            kind,
            value: Some(v),
            units: units.into(),
            thresholds: t,
            health: Some("OK".into()),
            state: Some("Enabled".into()),
        }
    }

    #[test]
    fn the_bmcs_thresholds_decide_the_top_bands() {
        let caution_42 = Thresholds {
            upper_caution: Some(42.0),
            upper_critical: Some(45.0),
            ..Thresholds::default()
        };
        let cool = reading("temp_cpu1", Kind::Temperature, "C", 37.0, caution_42);
        let warm = reading("temp_cpu2", Kind::Temperature, "C", 43.0, caution_42);
        let h = host(&[cool.clone(), warm]);
        assert_eq!(value(&h, Sensor::Temperature), Some(43.0));
        assert_eq!(band(&h, Sensor::Temperature), Some(3), "past caution");
        assert_eq!(band(&host(&[cool]), Sensor::Temperature), Some(0));
        // No thresholds from the BMC: the fixed edges.
        let bare = reading(
            "temp_inlet",
            Kind::Temperature,
            "C",
            92.0,
            Thresholds::default(),
        );
        assert_eq!(band(&host(&[bare]), Sensor::Temperature), Some(4));
        // Hot but within its own (high) thresholds stays below the caution band.
        let gpu = reading(
            "temp_gpu",
            Kind::Temperature,
            "C",
            85.0,
            Thresholds {
                upper_caution: Some(95.0),
                ..Thresholds::default()
            },
        );
        assert_eq!(band(&host(&[gpu]), Sensor::Temperature), Some(2));
        assert_eq!(band(&h, Sensor::Fan), None, "no fans: no data");
    }

    #[test]
    fn a_stopped_fan_is_critical_and_power_prefers_the_total() {
        let fine = reading("fan_bay1", Kind::Fan, "RPM", 6000.0, Thresholds::default());
        let stopped = reading("fan_bay2", Kind::Fan, "RPM", 0.0, Thresholds::default());
        let h = host(&[fine.clone(), stopped]);
        assert_eq!(value(&h, Sensor::Fan), Some(0.0));
        assert_eq!(band(&h, Sensor::Fan), Some(4));
        assert_eq!(band(&host(&[fine]), Sensor::Fan), Some(0));
        let total = reading(
            "power_consumed",
            Kind::Power,
            "W",
            344.0,
            Thresholds::default(),
        );
        let psu = reading("power_psu1", Kind::Power, "W", 500.0, Thresholds::default());
        let h = host(&[psu, total]);
        assert_eq!(value(&h, Sensor::Power), Some(344.0));
        assert_eq!(tile_text(Sensor::Power, 344.0), "344W");
        assert_eq!(tile_text(Sensor::Power, 1240.0), "1.2k");
        assert_eq!(tile_text(Sensor::Temperature, 37.4), " 37C");
        assert_eq!(tile_text(Sensor::Fan, 12000.0), " 12k");
    }
}
