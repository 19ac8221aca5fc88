//! Reading one BMC: the service root, each chassis, and each chassis's sensors — the `Sensors`
//! collection where there is one (expanded in one request where the service supports
//! `$expand`), else the legacy `Thermal` and `Power` resources.

use super::client::{Bmc, BmcError};
use super::model::{
    Chassis, Collection, Fan, Power, PowerSubsystem, PowerSupply, Sensor, ServiceRoot, Thermal,
    ThermalMetrics, ThermalSubsystem,
};
use super::reading::{
    Reading, from_fan, from_power, from_power_supply, from_sensor, from_temperature_excerpt,
    from_thermal,
};

/// What one poll of a BMC found.
#[derive(Debug, Clone, Default)]
pub struct Polled {
    /// Every sensor read, with unique metric names.
    pub readings: Vec<Reading>,
    /// Requests it took.
    pub requests: usize,
    /// Which resources were read (`Sensors`, `Thermal`, `Power`), for the health line.
    pub layout: Vec<String>,
    /// Members that could not be read (their link, and why): the rest were kept.
    pub damaged: Vec<String>,
}

fn member_ids(c: &Collection) -> Vec<String> {
    c.members
        .iter()
        .filter_map(|m| {
            m.get("@odata.id")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .collect()
}

/// The members of a collection as documents: in one request where `$expand` is supported,
/// else one request each. A member that cannot be read (not the document expected, an error
/// status) is noted in `out.damaged` and the others kept; a BMC that stops answering fails the
/// poll.
async fn members<T: serde::de::DeserializeOwned>(
    bmc: &Bmc,
    path: &str,
    expand: bool,
    out: &mut Polled,
) -> Result<Vec<T>, BmcError> {
    if expand {
        let all: Collection = bmc.doc(&format!("{path}?$expand=.($levels=1)")).await?;
        out.requests += 1;
        let mut v = Vec::new();
        for (i, m) in all.members.into_iter().enumerate() {
            match serde_json::from_value::<T>(m) {
                Ok(t) => v.push(t),
                Err(e) => out.damaged.push(format!("{path} member {i}: {e}")),
            }
        }
        return Ok(v);
    }
    let list: Collection = bmc.doc(path).await?;
    out.requests += 1;
    let mut v = Vec::new();
    for m in member_ids(&list) {
        out.requests += 1;
        match bmc.doc::<T>(&m).await {
            Ok(t) => v.push(t),
            Err(e @ (BmcError::Document { .. } | BmcError::Status { .. })) => {
                out.damaged.push(e.to_string());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(v)
}

/// Reads every sensor of the BMC.
pub async fn poll(bmc: &Bmc) -> Result<Polled, BmcError> {
    let mut out = Polled::default();
    let root: ServiceRoot = bmc.doc("/redfish/v1/").await?;
    out.requests += 1;
    let expand = root
        .protocol_features_supported
        .and_then(|p| p.expand_query)
        .is_some_and(|e| e.levels || e.no_links);
    let Some(chassis) = root.chassis else {
        return Ok(out);
    };
    let list: Collection = bmc.doc(&chassis.id).await?;
    out.requests += 1;
    for id in member_ids(&list) {
        let c: Chassis = bmc.doc(&id).await?;
        out.requests += 1;
        let mut found = Vec::new();
        if let Some(s) = &c.sensors {
            let sensors: Vec<Sensor> = members(bmc, &s.id, expand, &mut out).await?;
            found.extend(sensors.iter().map(from_sensor));
            out.layout.push("Sensors".into());
        }
        if let Some(t) = &c.thermal_subsystem {
            let t: ThermalSubsystem = bmc.doc(&t.id).await?;
            out.requests += 1;
            if let Some(f) = &t.fans {
                let fans: Vec<Fan> = members(bmc, &f.id, expand, &mut out).await?;
                found.extend(fans.iter().map(from_fan));
            }
            // Temperatures here only where no Sensors collection has them already.
            if let (None, Some(m)) = (&c.sensors, &t.thermal_metrics) {
                let m: ThermalMetrics = bmc.doc(&m.id).await?;
                out.requests += 1;
                found.extend(
                    m.temperature_readings_celsius
                        .iter()
                        .map(from_temperature_excerpt),
                );
            }
            out.layout.push("ThermalSubsystem".into());
        }
        if let Some(p) = &c.power_subsystem {
            let p: PowerSubsystem = bmc.doc(&p.id).await?;
            out.requests += 1;
            if let Some(s) = &p.power_supplies {
                let psus: Vec<PowerSupply> = members(bmc, &s.id, expand, &mut out).await?;
                found.extend(psus.iter().map(from_power_supply));
            }
            out.layout.push("PowerSubsystem".into());
        }
        if c.sensors.is_none() && c.thermal_subsystem.is_none() && c.power_subsystem.is_none() {
            if let Some(t) = &c.thermal {
                let t: Thermal = bmc.doc(&t.id).await?;
                out.requests += 1;
                found.extend(from_thermal(&t));
                out.layout.push("Thermal".into());
            }
            if let Some(p) = &c.power {
                let p: Power = bmc.doc(&p.id).await?;
                out.requests += 1;
                found.extend(from_power(&p));
                out.layout.push("Power".into());
            }
        }
        for mut r in found {
            // What the BMC says is shown on a terminal and served in XML: no control
            // characters, and no essays.
            r.name = clean(&r.name);
            r.units = clean(&r.units);
            r.health = r.health.as_deref().map(clean);
            r.state = r.state.as_deref().map(clean);
            // Two chassis (a blade and its enclosure) may name a sensor alike.
            if out.readings.iter().any(|x| x.metric == r.metric) {
                r.metric = format!(
                    "{}_{}",
                    r.metric,
                    super::reading::metric_name(super::Kind::Other, &c.id)
                        .trim_start_matches("sensor_")
                );
            }
            out.readings.push(r);
        }
    }
    Ok(out)
}

/// Text from a BMC made fit to show: control characters dropped, at most 80 characters.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_from_a_bmc_loses_control_characters_and_length() {
        assert_eq!(super::clean("CPU\u{1b}[31m #1\n"), "CPU[31m #1");
        assert_eq!(super::clean(&"x".repeat(500)).len(), 80);
    }
}
