//! ganglia-web's load bands: load_one ÷ cpu_num in five bands (0–25, 25–50, 50–75, 75–100,
//! over 100 %), with thresholds an operator may change.

/// What a tile shows about a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TileState {
    /// Down by gmetad's rule.
    Down,
    /// Its cluster's data is stale: neither up nor down can be told.
    Unknown,
    /// Up, but it reports no load.
    NoData,
    /// Up, in load band 0..=4.
    Band(u8),
}

/// Band thresholds as fractions of one CPU (default 0.25, 0.50, 0.75, 1.00).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadBands(pub [f64; 4]);

impl Default for LoadBands {
    fn default() -> Self {
        Self([0.25, 0.50, 0.75, 1.00])
    }
}

impl LoadBands {
    /// The band of a load fraction, as gweb's `load_color`: `> t4` is band 4, `>= t3` band 3…
    pub fn band(&self, load: f64) -> u8 {
        let [a, b, c, d] = self.0;
        if load > d {
            4
        } else if load >= c {
            3
        } else if load >= b {
            2
        } else if load >= a {
            1
        } else {
            0
        }
    }

    /// Labels of the bands, e.g. `0–25 %`.
    pub fn labels(&self) -> [String; 5] {
        let p = self.0.map(|v| (v * 100.0).round() as i64);
        [
            format!("0–{} %", p[0]),
            format!("{}–{} %", p[0], p[1]),
            format!("{}–{} %", p[1], p[2]),
            format!("{}–{} %", p[2], p[3]),
            format!("over {} %", p[3]),
        ]
    }
}

use super::sensor_bands::{self, Sensor};

/// The band of `v` against rising edges: at or over the fourth is band 4.
pub(crate) fn band_up(v: f64, [a, b, c, d]: [f64; 4]) -> u8 {
    match v {
        v if v >= d => 4,
        v if v >= c => 3,
        v if v >= b => 2,
        v if v >= a => 1,
        _ => 0,
    }
}

/// What tiles are coloured by. Each measure is a host's value cut into five bands that share
/// the load bands' colours and glyphs, so the tile field reads the same way whatever it shows.
/// Hardware sensors from the nodes' BMCs join where some host reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum ColorBy {
    /// load_one ÷ cpu_num, in the operator's load bands (ganglia-web's colouring).
    #[default]
    Load,
    /// CPU busy: 100 − cpu_idle, in percent.
    Cpu,
    /// Memory in use: mem_total − mem_free − mem_buffers − mem_cached over mem_total, percent.
    Memory,
    /// Network traffic: bytes_in + bytes_out, in bytes per second.
    Network,
    /// The hottest temperature sensor, °C, against its BMC's thresholds.
    Temperature,
    /// The power the host draws, W.
    Power,
    /// The slowest fan, RPM.
    Fan,
}

/// Band edges of percentages (CPU busy, memory in use): a machine near full is what matters.
const PERCENT_EDGES: [f64; 4] = [25.0, 50.0, 75.0, 90.0];
/// Band edges of network traffic in bytes/s: decades from 100 kB/s to 1 GB/s, since traffic
/// spans orders of magnitude and an idle node and a saturated 10 GbE link must both read.
const NET_EDGES: [f64; 4] = [1e5, 1e6, 1e7, 1e8];

impl ColorBy {
    /// Every measure, in the order `c` cycles through them.
    pub const ALL: [ColorBy; 7] = [
        ColorBy::Load,
        ColorBy::Cpu,
        ColorBy::Memory,
        ColorBy::Network,
        ColorBy::Temperature,
        ColorBy::Power,
        ColorBy::Fan,
    ];

    /// The next measure when cycling, over every measure.
    pub fn next(self) -> Self {
        self.next_where(|_| true)
    }

    /// The next measure when cycling, skipping sensors no host in `snap` reports.
    pub fn next_in(self, snap: &crate::aggregator::Snapshot) -> Self {
        self.next_where(|s| {
            snap.clusters()
                .any(|c| sensor_bands::reported(&c.cluster.hosts, s))
        })
    }

    fn next_where(self, reported: impl Fn(Sensor) -> bool) -> Self {
        let i = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        (1..=Self::ALL.len())
            .map(|k| Self::ALL[(i + k) % Self::ALL.len()])
            .find(|c| c.sensor().is_none_or(&reported))
            .unwrap_or(ColorBy::Load)
    }

    /// The hardware sensor it colours by, if it is one.
    pub fn sensor(self) -> Option<Sensor> {
        match self {
            ColorBy::Temperature => Some(Sensor::Temperature),
            ColorBy::Power => Some(Sensor::Power),
            ColorBy::Fan => Some(Sensor::Fan),
            _ => None,
        }
    }

    /// One word for the status line.
    pub fn label(self) -> &'static str {
        match self {
            ColorBy::Load => "load",
            ColorBy::Cpu => "CPU",
            ColorBy::Memory => "memory",
            ColorBy::Network => "network",
            ColorBy::Temperature => "temperature",
            ColorBy::Power => "power",
            ColorBy::Fan => "fans",
        }
    }

    /// What the legend's heading says the colour is.
    pub fn meaning(self) -> &'static str {
        match self {
            ColorBy::Load => "load = load_one ÷ cpu_num",
            ColorBy::Cpu => "CPU busy = 100 − cpu_idle",
            ColorBy::Memory => "memory in use = total − free − buffers − cached",
            ColorBy::Network => "network = bytes_in + bytes_out",
            ColorBy::Temperature => "temperature = the hottest temp_* sensor of the host's BMC",
            ColorBy::Power => "power = power_consumed, from the host's BMC",
            ColorBy::Fan => "fans = the slowest fan_* of the host's BMC",
        }
    }

    /// The metrics a host must report for its tile to be coloured.
    pub fn needs(self) -> &'static str {
        match self {
            ColorBy::Load => "load_one",
            ColorBy::Cpu => "cpu_idle",
            ColorBy::Memory => "mem_total and mem_free",
            ColorBy::Network => "bytes_in or bytes_out",
            ColorBy::Temperature => "temperature sensor (a [[bmc]] table in config.toml)",
            ColorBy::Power => "power sensor (a [[bmc]] table in config.toml)",
            ColorBy::Fan => "fan speed in RPM (a [[bmc]] table in config.toml)",
        }
    }

    /// A host's measure: a load fraction, a percentage, or bytes/s; `None` when it does not
    /// report what is needed (its tile then shows "no data", never a made-up zero).
    pub fn value(self, h: &crate::model::Host) -> Option<f64> {
        match self {
            ColorBy::Load => h.value("load_one").map(|_| h.load_fraction()),
            ColorBy::Cpu => h.value("cpu_idle").map(|i| (100.0 - i).clamp(0.0, 100.0)),
            ColorBy::Memory => {
                let total = h.value("mem_total").filter(|t| *t > 0.0)?;
                let free = h.value("mem_free")?;
                let reclaimable: f64 = ["mem_buffers", "mem_cached"]
                    .iter()
                    .filter_map(|m| h.value(m))
                    .sum();
                Some(((total - free - reclaimable) / total * 100.0).clamp(0.0, 100.0))
            }
            ColorBy::Network => {
                let (i, o) = (h.value("bytes_in"), h.value("bytes_out"));
                (i.is_some() || o.is_some()).then(|| i.unwrap_or(0.0) + o.unwrap_or(0.0))
            }
            ColorBy::Temperature | ColorBy::Power | ColorBy::Fan => {
                self.sensor().and_then(|s| sensor_bands::value(h, s))
            }
        }
    }

    /// A host's band for its measure `v`: sensors are judged against their BMC's thresholds.
    pub fn host_band(self, h: &crate::model::Host, v: f64, load: &LoadBands) -> u8 {
        match self.sensor() {
            Some(s) => sensor_bands::band(h, s).unwrap_or(0),
            None => self.band(v, load),
        }
    }

    fn edges(self, load: &LoadBands) -> [f64; 4] {
        match self {
            ColorBy::Load => load.0,
            ColorBy::Cpu | ColorBy::Memory => PERCENT_EDGES,
            ColorBy::Network => NET_EDGES,
            // Sensors band through `host_band`; these are their edges without thresholds.
            ColorBy::Temperature | ColorBy::Power | ColorBy::Fan => PERCENT_EDGES,
        }
    }

    /// The band of a measure (the load keeps gweb's `>` at the top edge).
    pub fn band(self, v: f64, load: &LoadBands) -> u8 {
        if self == ColorBy::Load {
            return load.band(v);
        }
        band_up(v, self.edges(load))
    }

    /// The bands' labels for the legend.
    pub fn labels(self, load: &LoadBands) -> [String; 5] {
        if let Some(s) = self.sensor() {
            return sensor_bands::labels(s);
        }
        match self {
            ColorBy::Load => load.labels().map(|l| format!("{l} of its CPUs")),
            ColorBy::Cpu | ColorBy::Memory => {
                let p = PERCENT_EDGES.map(|v| v as i64);
                [
                    format!("0–{} %", p[0]),
                    format!("{}–{} %", p[0], p[1]),
                    format!("{}–{} %", p[1], p[2]),
                    format!("{}–{} %", p[2], p[3]),
                    format!("{} % and over", p[3]),
                ]
            }
            ColorBy::Network => {
                let r = NET_EDGES.map(|v| crate::units::human_value(v, "bytes/sec"));
                [
                    format!("under {}", r[0]),
                    format!("{}–{}", r[0], r[1]),
                    format!("{}–{}", r[1], r[2]),
                    format!("{}–{}", r[2], r[3]),
                    format!("{} and over", r[3]),
                ]
            }
            ColorBy::Temperature | ColorBy::Power | ColorBy::Fan => Default::default(),
        }
    }

    /// A measure in words for the selected host's line: `memory 45% in use`.
    pub fn describe(self, v: f64) -> String {
        match self {
            ColorBy::Load => format!("load {:.0}% of its CPUs", v * 100.0),
            ColorBy::Cpu => format!("CPU {v:.0}% busy"),
            ColorBy::Memory => format!("memory {v:.0}% in use"),
            ColorBy::Network => format!("network {}", crate::units::human_value(v, "bytes/sec")),
            ColorBy::Temperature => sensor_bands::describe(Sensor::Temperature, v),
            ColorBy::Power => sensor_bands::describe(Sensor::Power, v),
            ColorBy::Fan => sensor_bands::describe(Sensor::Fan, v),
        }
    }

    /// A measure as a labelled tile shows it, in four columns: `34%`, `12M`.
    pub fn tile_text(self, v: f64) -> String {
        match self {
            ColorBy::Load | ColorBy::Cpu | ColorBy::Memory => {
                let pct = if self == ColorBy::Load { v * 100.0 } else { v };
                format!("{pct:>3.0}%")
            }
            // Bytes/s in a unit with no decimals so it fits: "  0B", " 12M" (per second).
            ColorBy::Network => {
                let (d, u) = [(1e9, 'G'), (1e6, 'M'), (1e3, 'k')]
                    .into_iter()
                    .find(|(d, _)| v >= *d * 0.9995)
                    .unwrap_or((1.0, 'B'));
                format!("{:>3.0}{u}", (v / d).min(999.0))
            }
            ColorBy::Temperature => sensor_bands::tile_text(Sensor::Temperature, v),
            ColorBy::Power => sensor_bands::tile_text(Sensor::Power, v),
            ColorBy::Fan => sensor_bands::tile_text(Sensor::Fan, v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_measures_cycle_and_band() {
        assert_eq!(ColorBy::Load.next(), ColorBy::Cpu);
        assert_eq!(ColorBy::Network.next(), ColorBy::Temperature);
        assert_eq!(ColorBy::Fan.next(), ColorBy::Load);
        // Without any BMC, the sensors are skipped.
        let empty = crate::aggregator::Snapshot::default();
        assert_eq!(ColorBy::Network.next_in(&empty), ColorBy::Load);
        let b = LoadBands::default();
        assert_eq!(ColorBy::Memory.band(10.0, &b), 0);
        assert_eq!(ColorBy::Memory.band(90.0, &b), 4);
        assert_eq!(ColorBy::Cpu.band(60.0, &b), 2);
        assert_eq!(ColorBy::Network.band(5e6, &b), 2);
        assert_eq!(ColorBy::Network.band(0.0, &b), 0);
        assert_eq!(ColorBy::Load.band(1.0001, &b), 4);
        assert_eq!(ColorBy::Memory.labels(&b)[4], "90 % and over");
        assert!(ColorBy::Network.labels(&b)[0].starts_with("under 100"));
    }

    #[test]
    fn gweb_boundaries() {
        let b = LoadBands::default();
        assert_eq!(b.band(0.0), 0);
        assert_eq!(b.band(0.2499), 0);
        assert_eq!(b.band(0.25), 1);
        assert_eq!(b.band(0.75), 3);
        assert_eq!(b.band(1.0), 3, "exactly 100 % is 75-100 in gweb");
        assert_eq!(b.band(1.0001), 4);
        assert_eq!(b.labels()[4], "over 100 %");
    }
}
