//! The 32 metrics gmond 3.7.2 reports on Linux with Debian's default collection groups: names,
//! types, units, slopes, module TMAX values, printf precision and extra data exactly as gmond
//! sends them (notes/ganglia.md §3, checked against real gmond documents).

use std::sync::Arc;

use crate::model::{MetricMeta, MetricType, Slope};

/// One default metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    /// Name.
    pub name: &'static str,
    /// Type.
    pub kind: MetricType,
    /// Units as sent (`" "` for load and process counts).
    pub units: &'static str,
    /// Slope.
    pub slope: Slope,
    /// The module's TMAX.
    pub tmax: u32,
    /// Digits after the decimal point in gmond's printf format.
    pub decimals: u8,
    /// EXTRA_DATA GROUP.
    pub group: &'static str,
    /// EXTRA_DATA DESC.
    pub desc: &'static str,
    /// EXTRA_DATA TITLE.
    pub title: &'static str,
}

use MetricType::{Double, Float, String as Text, Uint16, Uint32};
use Slope::{Both, Zero};

// One row of the table: positional so the table reads like the notes it comes from.
#[allow(clippy::too_many_arguments)]
const fn m(
    name: &'static str,
    kind: MetricType,
    units: &'static str,
    slope: Slope,
    tmax: u32,
    decimals: u8,
    group: &'static str,
    desc: &'static str,
    title: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind,
        units,
        slope,
        tmax,
        decimals,
        group,
        desc,
        title,
    }
}

/// The catalog, grouped as gmond's collection groups are.
pub const DEFAULT_METRICS: [MetricDef; 32] = [
    m(
        "cpu_num",
        Uint16,
        "CPUs",
        Zero,
        1200,
        0,
        "cpu",
        "Total number of CPUs",
        "CPU Count",
    ),
    m(
        "cpu_speed",
        Uint32,
        "MHz",
        Zero,
        1200,
        0,
        "cpu",
        "CPU Speed in terms of MHz",
        "CPU Speed",
    ),
    m(
        "mem_total",
        Float,
        "KB",
        Zero,
        1200,
        0,
        "memory",
        "Total amount of memory displayed in KBs",
        "Memory Total",
    ),
    m(
        "swap_total",
        Float,
        "KB",
        Zero,
        1200,
        0,
        "memory",
        "Total amount of swap space displayed in KBs",
        "Swap Space Total",
    ),
    m(
        "boottime",
        Uint32,
        "s",
        Zero,
        1200,
        0,
        "system",
        "The last time that the system was started",
        "Last Boot Time",
    ),
    m(
        "machine_type",
        Text,
        "",
        Zero,
        1200,
        0,
        "system",
        "System architecture",
        "Machine Type",
    ),
    m(
        "os_name",
        Text,
        "",
        Zero,
        1200,
        0,
        "system",
        "Operating system name",
        "Operating System",
    ),
    m(
        "os_release",
        Text,
        "",
        Zero,
        1200,
        0,
        "system",
        "Operating system release date",
        "Operating System Release",
    ),
    m(
        "gexec",
        Text,
        "",
        Zero,
        300,
        0,
        "core",
        "gexec available",
        "Gexec Status",
    ),
    m(
        "cpu_user",
        Float,
        "%",
        Both,
        90,
        1,
        "cpu",
        "Percentage of CPU utilization that occurred while executing at the user level",
        "CPU User",
    ),
    m(
        "cpu_system",
        Float,
        "%",
        Both,
        90,
        1,
        "cpu",
        "Percentage of CPU utilization that occurred while executing at the system level",
        "CPU System",
    ),
    m(
        "cpu_idle",
        Float,
        "%",
        Both,
        90,
        1,
        "cpu",
        "Percentage of time that the CPU or CPUs were idle and the system did not have an outstanding disk I/O request",
        "CPU Idle",
    ),
    m(
        "cpu_nice",
        Float,
        "%",
        Both,
        90,
        1,
        "cpu",
        "Percentage of CPU utilization that occurred while executing at the user level with nice priority",
        "CPU Nice",
    ),
    m(
        "cpu_aidle",
        Float,
        "%",
        Both,
        3800,
        1,
        "cpu",
        "Percent of time since boot idle CPU",
        "CPU aidle",
    ),
    m(
        "cpu_wio",
        Float,
        "%",
        Both,
        90,
        1,
        "cpu",
        "Percentage of time that the CPU or CPUs were idle during which the system had an outstanding disk I/O request",
        "CPU wio",
    ),
    m(
        "load_one",
        Float,
        " ",
        Both,
        70,
        2,
        "load",
        "One minute load average",
        "One Minute Load Average",
    ),
    m(
        "load_five",
        Float,
        " ",
        Both,
        325,
        2,
        "load",
        "Five minute load average",
        "Five Minute Load Average",
    ),
    m(
        "load_fifteen",
        Float,
        " ",
        Both,
        950,
        2,
        "load",
        "Fifteen minute load average",
        "Fifteen Minute Load Average",
    ),
    m(
        "proc_run",
        Uint32,
        " ",
        Both,
        950,
        0,
        "process",
        "Total number of running processes",
        "Total Running Processes",
    ),
    m(
        "proc_total",
        Uint32,
        " ",
        Both,
        950,
        0,
        "process",
        "Total number of processes",
        "Total Processes",
    ),
    m(
        "mem_free",
        Float,
        "KB",
        Both,
        180,
        0,
        "memory",
        "Amount of available memory",
        "Free Memory",
    ),
    m(
        "mem_shared",
        Float,
        "KB",
        Both,
        180,
        0,
        "memory",
        "Amount of shared memory",
        "Shared Memory",
    ),
    m(
        "mem_buffers",
        Float,
        "KB",
        Both,
        180,
        0,
        "memory",
        "Amount of buffered memory",
        "Memory Buffers",
    ),
    m(
        "mem_cached",
        Float,
        "KB",
        Both,
        180,
        0,
        "memory",
        "Amount of cached memory",
        "Cached Memory",
    ),
    m(
        "swap_free",
        Float,
        "KB",
        Both,
        180,
        0,
        "memory",
        "Amount of available swap memory",
        "Free Swap Space",
    ),
    m(
        "bytes_in",
        Float,
        "bytes/sec",
        Both,
        300,
        2,
        "network",
        "Number of bytes in per second",
        "Bytes Received",
    ),
    m(
        "bytes_out",
        Float,
        "bytes/sec",
        Both,
        300,
        2,
        "network",
        "Number of bytes out per second",
        "Bytes Sent",
    ),
    m(
        "pkts_in",
        Float,
        "packets/sec",
        Both,
        300,
        2,
        "network",
        "Packets in per second",
        "Packets Received",
    ),
    m(
        "pkts_out",
        Float,
        "packets/sec",
        Both,
        300,
        2,
        "network",
        "Packets out per second",
        "Packets Sent",
    ),
    m(
        "disk_total",
        Double,
        "GB",
        Both,
        1200,
        3,
        "disk",
        "Total available disk space",
        "Total Disk Space",
    ),
    m(
        "disk_free",
        Double,
        "GB",
        Both,
        180,
        3,
        "disk",
        "Total free disk space",
        "Disk Space Available",
    ),
    m(
        "part_max_used",
        Float,
        "%",
        Both,
        180,
        1,
        "disk",
        "Maximum percent used for all partitions",
        "Maximum Disk Space Used",
    ),
];

/// The catalog entry of a metric.
pub fn metric_def(name: &str) -> Option<&'static MetricDef> {
    DEFAULT_METRICS.iter().find(|d| d.name == name)
}

impl MetricDef {
    /// The metadata gmond sends for this metric.
    pub fn meta(&self) -> MetricMeta {
        MetricMeta::new(self.name, self.kind, self.units, self.slope, self.tmax)
            .with_extra("GROUP", self.group)
            .with_extra("DESC", self.desc)
            .with_extra("TITLE", self.title)
    }

    /// A value formatted as gmond prints it (`%.2f`, `%u`, …).
    pub fn format(&self, v: f64) -> String {
        if self.kind.is_integer() {
            format!("{}", v.max(0.0).round() as u64)
        } else {
            format!("{:.*}", usize::from(self.decimals), v)
        }
    }
}

/// Shared metadata for every default metric, built once per collector.
pub fn metas() -> Vec<Arc<MetricMeta>> {
    DEFAULT_METRICS.iter().map(|d| Arc::new(d.meta())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ganglia::{Interner, Limits, parse_bytes};

    #[test]
    fn catalog_matches_a_real_gmond_document() {
        let p = format!(
            "{}/tests/fixtures/ganglia/gmond-8649-clusterA.xml",
            env!("CARGO_MANIFEST_DIR")
        );
        let doc = parse_bytes(
            &std::fs::read(p).unwrap(),
            &mut Interner::default(),
            Limits::default(),
        )
        .unwrap();
        let host = doc.document.clusters()[0].host("a-node02").unwrap().clone();
        for d in &DEFAULT_METRICS {
            let real = host
                .metric(d.name)
                .unwrap_or_else(|| panic!("{} missing", d.name));
            assert_eq!(*real.meta, d.meta(), "{}", d.name);
            if d.kind != Text {
                assert_eq!(
                    d.format(real.num),
                    real.text,
                    "{} printed as gmond prints it",
                    d.name
                );
            }
        }
    }
}
