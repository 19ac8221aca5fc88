//! Redfish documents, as far as sensors go: every field optional (BMCs leave out what they
//! lack), unknown fields ignored. Both the current model (`Sensor` resources under a chassis's
//! `Sensors`) and the legacy `Thermal` and `Power` resources many BMCs still have only.

use serde::Deserialize;

/// A link: `{"@odata.id": "/redfish/v1/…"}`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Link {
    /// The resource's path.
    #[serde(rename = "@odata.id", default)]
    pub id: String,
}

/// The service root.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceRoot {
    /// The chassis collection.
    pub chassis: Option<Link>,
    /// Sessions, for `X-Auth-Token` logins.
    pub session_service: Option<Link>,
    /// What queries the service takes.
    pub protocol_features_supported: Option<ProtocolFeatures>,
}

/// `ProtocolFeaturesSupported`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ProtocolFeatures {
    /// `$expand` support.
    pub expand_query: Option<ExpandQuery>,
}

/// `ExpandQuery`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExpandQuery {
    /// `$expand=.` with `$levels`.
    pub levels: bool,
    /// `$expand=.` (no links).
    pub no_links: bool,
    /// `$expand=*`.
    pub expand_all: bool,
}

/// A collection: its members as links, or as whole documents when expanded.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Collection {
    /// Members.
    pub members: Vec<serde_json::Value>,
}

/// A chassis.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Chassis {
    /// Its id.
    pub id: String,
    /// Its sensors (the current model).
    pub sensors: Option<Link>,
    /// Fans and temperatures (the current model, without `Sensors` on some BMCs).
    pub thermal_subsystem: Option<Link>,
    /// Power supplies (the current model).
    pub power_subsystem: Option<Link>,
    /// The legacy thermal resource.
    pub thermal: Option<Link>,
    /// The legacy power resource.
    pub power: Option<Link>,
}

/// `Status`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Status {
    /// `Enabled`, `Absent`, `Disabled`, …
    pub state: Option<String>,
    /// `OK`, `Warning`, `Critical`.
    pub health: Option<String>,
}

/// A threshold: `{"Reading": 45}`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Threshold {
    /// The value.
    pub reading: Option<f64>,
}

/// A sensor's thresholds (the `…User` ones are a user's own and not the BMC's).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct SensorThresholds {
    /// Caution above.
    pub upper_caution: Option<Threshold>,
    /// Critical above.
    pub upper_critical: Option<Threshold>,
    /// Fatal above.
    pub upper_fatal: Option<Threshold>,
    /// Caution below.
    pub lower_caution: Option<Threshold>,
    /// Critical below.
    pub lower_critical: Option<Threshold>,
    /// Fatal below.
    pub lower_fatal: Option<Threshold>,
}

/// A `Sensor` resource.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Sensor {
    /// Its id (`CPU1Temp`).
    pub id: String,
    /// Its name (`CPU #1 Temperature`).
    pub name: String,
    /// The value.
    pub reading: Option<f64>,
    /// UCUM units (`Cel`, `RPM`, `%`, `W`, `V`, `A`, `kW.h`, `Hz`).
    pub reading_units: Option<String>,
    /// `Temperature`, `Power`, `Voltage`, … (older sensors leave it out).
    pub reading_type: Option<String>,
    /// Where (`CPU`, `Chassis`, `PowerSupply`, …).
    pub physical_context: Option<String>,
    /// State and health.
    pub status: Status,
    /// Thresholds.
    pub thresholds: SensorThresholds,
}

/// The thresholds of a legacy reading, written beside its value.
#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct LegacyThresholds {
    /// Caution above.
    pub upper_threshold_non_critical: Option<f64>,
    /// Critical above.
    pub upper_threshold_critical: Option<f64>,
    /// Fatal above.
    pub upper_threshold_fatal: Option<f64>,
    /// Caution below.
    pub lower_threshold_non_critical: Option<f64>,
    /// Critical below.
    pub lower_threshold_critical: Option<f64>,
    /// Fatal below.
    pub lower_threshold_fatal: Option<f64>,
}

/// The legacy `Thermal` resource.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Thermal {
    /// Temperatures.
    pub temperatures: Vec<LegacyTemperature>,
    /// Fans.
    pub fans: Vec<LegacyFan>,
}

/// A temperature in `Thermal`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct LegacyTemperature {
    /// Its name (`CPU1 Temp`).
    pub name: String,
    /// Its member id.
    pub member_id: String,
    /// The value.
    pub reading_celsius: Option<f64>,
    /// Its thresholds.
    #[serde(flatten)]
    pub thresholds: LegacyThresholds,
    /// State and health.
    pub status: Status,
}

/// A fan in `Thermal`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct LegacyFan {
    /// Its name (older BMCs: `FanName`).
    #[serde(alias = "FanName")]
    pub name: String,
    /// Its member id.
    pub member_id: String,
    /// The value.
    pub reading: Option<f64>,
    /// `RPM` or `Percent`.
    pub reading_units: Option<String>,
    /// Its thresholds.
    #[serde(flatten)]
    pub thresholds: LegacyThresholds,
    /// State and health.
    pub status: Status,
}

/// The legacy `Power` resource.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Power {
    /// Power control: the chassis's consumption.
    pub power_control: Vec<PowerControl>,
    /// Voltages.
    pub voltages: Vec<LegacyVoltage>,
    /// Power supplies.
    pub power_supplies: Vec<LegacyPowerSupply>,
}

/// `PowerControl`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct PowerControl {
    /// Its name.
    pub name: String,
    /// Watts drawn now.
    pub power_consumed_watts: Option<f64>,
    /// Watts it may draw.
    pub power_capacity_watts: Option<f64>,
    /// State and health.
    pub status: Status,
}

/// A voltage in `Power`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct LegacyVoltage {
    /// Its name.
    pub name: String,
    /// The value.
    pub reading_volts: Option<f64>,
    /// Its thresholds.
    #[serde(flatten)]
    pub thresholds: LegacyThresholds,
    /// State and health.
    pub status: Status,
}

/// A power supply in `Power`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct LegacyPowerSupply {
    /// Its name.
    pub name: String,
    /// Watts in.
    pub power_input_watts: Option<f64>,
    /// Watts out, last read.
    pub last_power_output_watts: Option<f64>,
    /// State and health.
    pub status: Status,
}

/// `ThermalSubsystem` (the current model).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ThermalSubsystem {
    /// The fans.
    pub fans: Option<Link>,
    /// Temperatures, when there is no `Sensors` collection.
    pub thermal_metrics: Option<Link>,
}

/// `ThermalMetrics`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ThermalMetrics {
    /// Every temperature.
    pub temperature_readings_celsius: Vec<TemperatureExcerpt>,
}

/// A temperature in `ThermalMetrics`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct TemperatureExcerpt {
    /// The value.
    pub reading: Option<f64>,
    /// What it is of (`Intake`).
    pub device_name: String,
}

/// A `Fan` of a `ThermalSubsystem`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Fan {
    /// Its id (`Bay1`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// State and health.
    pub status: Status,
    /// Its speed.
    pub speed_percent: Option<FanSpeed>,
}

/// A fan's speed.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct FanSpeed {
    /// Percent of full speed.
    pub reading: Option<f64>,
    /// Revolutions per minute.
    #[serde(rename = "SpeedRPM")]
    pub speed_rpm: Option<f64>,
}

/// `PowerSubsystem` (the current model).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct PowerSubsystem {
    /// The power supplies.
    pub power_supplies: Option<Link>,
}

/// A `PowerSupply` of a `PowerSubsystem`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct PowerSupply {
    /// Its id (`Bay1`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// State and health.
    pub status: Status,
}
