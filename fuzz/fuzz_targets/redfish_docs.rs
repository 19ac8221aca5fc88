//! Fuzz target: what a BMC answers over Redfish (src/redfish/{model,reading,client}.rs) — the
//! documents Gantry reads and the links in them it follows.
//!
//! The input is a JSON document, read as each kind of resource the poller asks for and turned
//! into readings; and, line by line, links as a BMC's documents give them. Checked: nothing
//! panics; every reading's name and text stay printable; a link Gantry accepts stays on the
//! BMC (the URL it makes names the same host and port as the BMC's), so the credentials never
//! go elsewhere.

use gantry::redfish::client::{link_url, printable};
use gantry::redfish::model::{
    Chassis, Collection, Fan, Power, PowerSupply, Sensor, ServiceRoot, TemperatureExcerpt, Thermal,
    ThermalMetrics,
};
use gantry::redfish::reading;

const BMC: &str = "https://bmc.example:8443";

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) {
            let as_ = |v: &serde_json::Value| v.clone();
            let _ = serde_json::from_value::<ServiceRoot>(as_(&doc));
            let _ = serde_json::from_value::<Collection>(as_(&doc));
            let _ = serde_json::from_value::<Chassis>(as_(&doc));
            let _ = serde_json::from_value::<ThermalMetrics>(as_(&doc));
            let mut readings = Vec::new();
            if let Ok(t) = serde_json::from_value::<Thermal>(as_(&doc)) {
                readings.extend(reading::from_thermal(&t));
            }
            if let Ok(p) = serde_json::from_value::<Power>(as_(&doc)) {
                readings.extend(reading::from_power(&p));
            }
            if let Ok(s) = serde_json::from_value::<Sensor>(as_(&doc)) {
                readings.push(reading::from_sensor(&s));
            }
            if let Ok(f) = serde_json::from_value::<Fan>(as_(&doc)) {
                readings.push(reading::from_fan(&f));
            }
            if let Ok(p) = serde_json::from_value::<PowerSupply>(as_(&doc)) {
                readings.push(reading::from_power_supply(&p));
            }
            if let Ok(t) = serde_json::from_value::<TemperatureExcerpt>(as_(&doc)) {
                readings.push(reading::from_temperature_excerpt(&t));
            }
            for r in &readings {
                let shown = format!("{r:?}");
                assert!(!shown.is_empty());
            }
        }
        let text = String::from_utf8_lossy(data);
        let _ = printable(&text, 100);
        let base = url::Url::parse(BMC).expect("the BMC's URL");
        for link in text.lines() {
            let Some(made) = link_url(BMC, link) else {
                continue;
            };
            // A link that does not parse as a URL is refused by the HTTP client too.
            if let Ok(u) = url::Url::parse(&made) {
                assert_eq!(
                    (
                        u.host_str(),
                        u.port_or_known_default(),
                        u.username(),
                        u.password()
                    ),
                    (base.host_str(), base.port_or_known_default(), "", None),
                    "the link {link:?} leaves the BMC: {made}"
                );
            }
        }
    });
}
