//! A BMC's sensors as readings of a host: named in gmond's style (`temp_cpu1` in °C,
//! `fan_bay1`, `power_consumed` in W), with the BMC's thresholds and its health kept beside
//! the value, from the current `Sensor` resources or the legacy `Thermal` and `Power` ones.

use super::model::{
    Fan, LegacyFan, LegacyTemperature, LegacyThresholds, LegacyVoltage, Power, PowerSupply, Sensor,
    SensorThresholds, Status, TemperatureExcerpt, Thermal,
};

/// What a sensor measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// °C.
    Temperature,
    /// RPM or %.
    Fan,
    /// W.
    Power,
    /// V.
    Voltage,
    /// A.
    Current,
    /// kWh.
    Energy,
    /// Hz.
    Frequency,
    /// % of something else (a battery's health).
    Percent,
    /// Anything else.
    Other,
}

impl Kind {
    /// The metric name's prefix.
    fn prefix(self) -> &'static str {
        match self {
            Kind::Temperature => "temp",
            Kind::Fan => "fan",
            Kind::Power => "power",
            Kind::Voltage => "volt",
            Kind::Current => "amps",
            Kind::Energy => "energy",
            Kind::Frequency => "freq",
            Kind::Percent => "pct",
            Kind::Other => "sensor",
        }
    }

    /// The kind a metric's name says (its prefix), for readings read back from metrics.
    pub fn of_metric(name: &str) -> Kind {
        let prefix = name.split('_').next().unwrap_or_default();
        [
            Kind::Temperature,
            Kind::Fan,
            Kind::Power,
            Kind::Voltage,
            Kind::Current,
            Kind::Energy,
            Kind::Frequency,
            Kind::Percent,
        ]
        .into_iter()
        .find(|k| k.prefix() == prefix)
        .unwrap_or(Kind::Other)
    }

    /// The words a sensor's id repeats that its metric's prefix already says.
    fn words(self) -> &'static [&'static str] {
        match self {
            Kind::Temperature => &["temperature", "temp"],
            Kind::Fan => &["fan"],
            Kind::Power => &["power"],
            Kind::Voltage => &["voltage"],
            Kind::Current => &["current"],
            Kind::Energy => &["energy"],
            Kind::Frequency => &["frequency"],
            _ => &[],
        }
    }
}

/// The BMC's thresholds for a reading.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Thresholds {
    /// Caution above.
    pub upper_caution: Option<f64>,
    /// Critical above.
    pub upper_critical: Option<f64>,
    /// Fatal above.
    pub upper_fatal: Option<f64>,
    /// Caution below.
    pub lower_caution: Option<f64>,
    /// Critical below.
    pub lower_critical: Option<f64>,
    /// Fatal below.
    pub lower_fatal: Option<f64>,
}

/// How bad a reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Within its thresholds, and the BMC says OK.
    Normal,
    /// Past a caution threshold, or the BMC says Warning.
    Caution,
    /// Past a critical threshold, or the BMC says Critical.
    Critical,
    /// Past a fatal threshold.
    Fatal,
}

/// One sensor of a host.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The metric's name (`temp_cpu1`).
    pub metric: String,
    /// The BMC's name for it (`CPU #1 Temperature`).
    pub name: String,
    /// What it measures.
    pub kind: Kind,
    /// The value (none when the sensor is absent or disabled).
    pub value: Option<f64>,
    /// Units as gmond would write them (`C`, `RPM`, `%`, `W`, `V`, `A`, `kWh`, `Hz`).
    pub units: String,
    /// The BMC's thresholds.
    pub thresholds: Thresholds,
    /// The BMC's word for its health (`OK`, `Warning`, `Critical`), if any.
    pub health: Option<String>,
    /// The BMC's word for its state (`Enabled`, `Absent`, …), if any.
    pub state: Option<String>,
}

impl Reading {
    /// How bad it is: by its thresholds, or the BMC's own health when that is worse.
    pub fn level(&self) -> Level {
        let t = &self.thresholds;
        let by_value = match self.value {
            Some(v) => {
                let over = |x: Option<f64>| x.is_some_and(|x| v >= x);
                let under = |x: Option<f64>| x.is_some_and(|x| v <= x);
                if over(t.upper_fatal) || under(t.lower_fatal) {
                    Level::Fatal
                } else if over(t.upper_critical) || under(t.lower_critical) {
                    Level::Critical
                } else if over(t.upper_caution) || under(t.lower_caution) {
                    Level::Caution
                } else {
                    Level::Normal
                }
            }
            None => Level::Normal,
        };
        let by_health = match self.health.as_deref() {
            Some("Critical") => Level::Critical,
            Some("Warning") => Level::Caution,
            _ => Level::Normal,
        };
        by_value.max(by_health)
    }

    /// Whether it has a value worth recording (present and enabled).
    pub fn present(&self) -> bool {
        self.value.is_some()
            && !matches!(
                self.state.as_deref(),
                Some("Absent" | "Disabled" | "UnavailableOffline")
            )
    }
}

/// `CPU1Temp`, `CPUTemp1`, `PS1 Input Power` → `cpu1`, `cpu1`, `ps1_input`: words split at
/// spaces, case changes and digits, the kind's own word dropped, lower case, and numbers kept
/// with the word before them.
fn slug(kind: Kind, id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        // A new word where letters and digits meet, at a lower-to-upper change, and before
        // the last capital of a run followed by a lower-case letter (`CPUFan` → CPU, Fan).
        let boundary = prev.is_some_and(|p| {
            p.is_ascii_alphanumeric()
                && (p.is_ascii_digit() != c.is_ascii_digit()
                    || (c.is_ascii_uppercase() && p.is_ascii_lowercase())
                    || (c.is_ascii_uppercase()
                        && p.is_ascii_uppercase()
                        && next.is_some_and(|n| n.is_ascii_lowercase())))
        });
        if boundary && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let drop = kind.words();
    let kept: Vec<&String> = words
        .iter()
        .filter(|w| !drop.contains(&w.as_str()))
        .collect();
    let kept = if kept.iter().all(|w| w.chars().all(|c| c.is_ascii_digit())) {
        words.iter().collect()
    } else {
        kept
    };
    let mut out = String::new();
    for w in kept {
        // A number belongs to the word before it: `cpu1`, `out12`.
        if !out.is_empty() && !w.chars().all(|c| c.is_ascii_digit()) {
            out.push('_');
        }
        out.push_str(w);
    }
    out
}

/// The metric name for a sensor of `kind` called `id`.
pub fn metric_name(kind: Kind, id: &str) -> String {
    format!("{}_{}", kind.prefix(), slug(kind, id))
}

/// What a `Sensor` measures and in what units, from its type or, for older sensors, its units.
fn kind_of(s: &Sensor) -> (Kind, String) {
    let units = s.reading_units.clone().unwrap_or_default();
    let by_type = match s.reading_type.as_deref() {
        Some("Temperature") => Some(Kind::Temperature),
        Some("Power") => Some(Kind::Power),
        Some("Voltage") => Some(Kind::Voltage),
        Some("Current") => Some(Kind::Current),
        Some("EnergykWh" | "EnergyJoules" | "EnergyWh") => Some(Kind::Energy),
        Some("Frequency") => Some(Kind::Frequency),
        Some("Rotational") => Some(Kind::Fan),
        Some("Percent") => None,
        _ => None,
    };
    let is_fan =
        s.id.to_ascii_lowercase().contains("fan") || s.name.to_ascii_lowercase().contains("fan");
    let kind = by_type.unwrap_or(match units.as_str() {
        "Cel" => Kind::Temperature,
        "W" => Kind::Power,
        "V" => Kind::Voltage,
        "A" => Kind::Current,
        "kW.h" => Kind::Energy,
        "Hz" => Kind::Frequency,
        "RPM" | "{rev}/min" => Kind::Fan,
        "%" if is_fan => Kind::Fan,
        "%" => Kind::Percent,
        _ => Kind::Other,
    });
    let units = match units.as_str() {
        "Cel" => "C".to_string(),
        "kW.h" => "kWh".to_string(),
        "{rev}/min" => "RPM".to_string(),
        other => other.to_string(),
    };
    (kind, units)
}

fn threshold(t: &Option<super::model::Threshold>) -> Option<f64> {
    t.as_ref().and_then(|t| t.reading)
}

fn thresholds(t: &SensorThresholds) -> Thresholds {
    Thresholds {
        upper_caution: threshold(&t.upper_caution),
        upper_critical: threshold(&t.upper_critical),
        upper_fatal: threshold(&t.upper_fatal),
        lower_caution: threshold(&t.lower_caution),
        lower_critical: threshold(&t.lower_critical),
        lower_fatal: threshold(&t.lower_fatal),
    }
}

/// A `Sensor` resource as a reading. The chassis's total power is `power_consumed`, as the
/// legacy `PowerControl` calls it.
pub fn from_sensor(s: &Sensor) -> Reading {
    let (kind, units) = kind_of(s);
    let id = if s.id.is_empty() { &s.name } else { &s.id };
    let total = kind == Kind::Power
        && s.physical_context.as_deref() == Some("Chassis")
        && id.to_ascii_lowercase().starts_with("total");
    // A fan sensor in percent beside the fan's own speed in RPM (`fan_bay1`, from the
    // ThermalSubsystem): `fan_bay1_pct`.
    let pct = kind == Kind::Fan && units == "%";
    Reading {
        metric: if total {
            "power_consumed".into()
        } else if pct {
            format!("{}_pct", metric_name(kind, id))
        } else {
            metric_name(kind, id)
        },
        name: s.name.clone(),
        kind,
        value: s.reading,
        units,
        thresholds: thresholds(&s.thresholds),
        health: s.status.health.clone(),
        state: s.status.state.clone(),
    }
}

fn legacy(
    kind: Kind,
    name: &str,
    value: Option<f64>,
    units: &str,
    thresholds: Thresholds,
    status: &Status,
) -> Reading {
    Reading {
        metric: metric_name(kind, name),
        name: name.to_string(),
        kind,
        value,
        units: units.to_string(),
        thresholds,
        health: status.health.clone(),
        state: status.state.clone(),
    }
}

impl From<LegacyThresholds> for Thresholds {
    fn from(t: LegacyThresholds) -> Self {
        Thresholds {
            upper_caution: t.upper_threshold_non_critical,
            upper_critical: t.upper_threshold_critical,
            upper_fatal: t.upper_threshold_fatal,
            lower_caution: t.lower_threshold_non_critical,
            lower_critical: t.lower_threshold_critical,
            lower_fatal: t.lower_threshold_fatal,
        }
    }
}

fn legacy_temperature(t: &LegacyTemperature) -> Reading {
    legacy(
        Kind::Temperature,
        if t.name.is_empty() {
            &t.member_id
        } else {
            &t.name
        },
        t.reading_celsius,
        "C",
        t.thresholds.into(),
        &t.status,
    )
}

fn legacy_fan(f: &LegacyFan) -> Reading {
    let units = match f.reading_units.as_deref() {
        Some("Percent") => "%",
        _ => "RPM",
    };
    legacy(
        Kind::Fan,
        if f.name.is_empty() {
            &f.member_id
        } else {
            &f.name
        },
        f.reading,
        units,
        f.thresholds.into(),
        &f.status,
    )
}

fn legacy_voltage(v: &LegacyVoltage) -> Reading {
    legacy(
        Kind::Voltage,
        &v.name,
        v.reading_volts,
        "V",
        v.thresholds.into(),
        &v.status,
    )
}

/// A `Fan` of the current model: its speed in RPM where the BMC gives it (else in percent),
/// and its health.
pub fn from_fan(f: &Fan) -> Reading {
    let speed = f.speed_percent.as_ref();
    let (value, units) = match speed.and_then(|s| s.speed_rpm) {
        Some(rpm) => (Some(rpm), "RPM"),
        None => (speed.and_then(|s| s.reading), "%"),
    };
    let mut r = legacy(
        Kind::Fan,
        if f.id.is_empty() { &f.name } else { &f.id },
        value,
        units,
        Thresholds::default(),
        &f.status,
    );
    r.name = f.name.clone();
    r
}

/// A `PowerSupply` of the current model: its health, with no value of its own (its readings
/// are sensors).
pub fn from_power_supply(p: &PowerSupply) -> Reading {
    Reading {
        metric: format!(
            "psu_{}",
            slug(Kind::Other, if p.id.is_empty() { &p.name } else { &p.id })
        ),
        name: p.name.clone(),
        kind: Kind::Other,
        value: None,
        units: String::new(),
        thresholds: Thresholds::default(),
        health: p.status.health.clone(),
        state: p.status.state.clone(),
    }
}

/// A temperature of `ThermalMetrics` (where there is no `Sensors` collection).
pub fn from_temperature_excerpt(t: &TemperatureExcerpt) -> Reading {
    legacy(
        Kind::Temperature,
        &t.device_name,
        t.reading,
        "C",
        Thresholds::default(),
        &Status::default(),
    )
}

/// The legacy `Thermal` resource's temperatures and fans.
pub fn from_thermal(t: &Thermal) -> Vec<Reading> {
    t.temperatures
        .iter()
        .map(legacy_temperature)
        .chain(t.fans.iter().map(legacy_fan))
        .collect()
}

/// The legacy `Power` resource: the chassis's consumption (`power_consumed`), voltages, and
/// each supply's input power.
pub fn from_power(p: &Power) -> Vec<Reading> {
    let mut out = Vec::new();
    if let Some(c) = p.power_control.first() {
        out.push(Reading {
            metric: "power_consumed".into(),
            name: c.name.clone(),
            kind: Kind::Power,
            value: c.power_consumed_watts,
            units: "W".into(),
            thresholds: Thresholds {
                upper_critical: c.power_capacity_watts,
                ..Thresholds::default()
            },
            health: c.status.health.clone(),
            state: c.status.state.clone(),
        });
    }
    out.extend(p.voltages.iter().map(legacy_voltage));
    for s in &p.power_supplies {
        let mut r = legacy(
            Kind::Power,
            &format!("{} input", s.name),
            s.power_input_watts,
            "W",
            Thresholds::default(),
            &s.status,
        );
        r.name = s.name.clone();
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_gmonds_style() {
        assert_eq!(metric_name(Kind::Temperature, "CPU1Temp"), "temp_cpu1");
        assert_eq!(metric_name(Kind::Temperature, "CPU1 Temp"), "temp_cpu1");
        assert_eq!(
            metric_name(Kind::Temperature, "AmbientTemp"),
            "temp_ambient"
        );
        assert_eq!(metric_name(Kind::Fan, "FanBay1"), "fan_bay1");
        assert_eq!(metric_name(Kind::Fan, "CPUFan1"), "fan_cpu1");
        assert_eq!(metric_name(Kind::Power, "PS1InputPower"), "power_ps1_input");
        assert_eq!(metric_name(Kind::Voltage, "PS1Out12V"), "volt_ps1_out12_v");
        assert_eq!(
            metric_name(Kind::Temperature, "Chassis Intake Temp"),
            "temp_chassis_intake"
        );
        assert_eq!(metric_name(Kind::Power, "Power"), "power_power");
        assert_eq!(metric_name(Kind::Temperature, "CPUTemp1"), "temp_cpu1");
        assert_eq!(metric_name(Kind::Temperature, "DIMM1Temp"), "temp_dimm1");
        assert_eq!(metric_name(Kind::Energy, "PS1Energy"), "energy_ps1");
        assert_eq!(
            metric_name(Kind::Percent, "Battery1StateOfHealth"),
            "pct_battery1_state_of_health"
        );
    }

    #[test]
    fn a_reading_is_judged_by_its_thresholds_and_its_health() {
        let mut r = Reading {
            metric: "temp_cpu1".into(),
            name: "CPU".into(),
            kind: Kind::Temperature,
            value: Some(43.0),
            units: "C".into(),
            thresholds: Thresholds {
                upper_caution: Some(42.0),
                upper_critical: Some(45.0),
                upper_fatal: Some(50.0),
                ..Thresholds::default()
            },
            health: Some("OK".into()),
            state: Some("Enabled".into()),
        };
        assert_eq!(r.level(), Level::Caution);
        r.value = Some(45.0);
        assert_eq!(r.level(), Level::Critical);
        r.value = Some(51.0);
        assert_eq!(r.level(), Level::Fatal);
        r.value = Some(30.0);
        assert_eq!(r.level(), Level::Normal);
        r.health = Some("Critical".into());
        assert_eq!(r.level(), Level::Critical);
        r.state = Some("Absent".into());
        assert!(!r.present());
    }
}
