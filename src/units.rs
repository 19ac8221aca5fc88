//! Numbers as operators read them: durations like `3m12s`, sizes like `12.3 MB`.

/// A duration in seconds as `45s`, `3m12s`, `2h05m`, `3d04h`.
pub fn human_secs(s: u64) -> String {
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A byte count with a decimal unit: `950 B`, `12.3 kB`, `104.2 MB`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Formats a value compactly: `0.67`, `12.5`, `23.1M`.
pub fn compact_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// How many bytes one unit of a byte-counting unit is, and whether it is a rate: gmond's
/// `KB` (mem_*, swap_*: kibibytes), `bytes/sec` (bytes_in, bytes_out), `bytes`.
fn byte_unit(units: &str) -> Option<(f64, bool)> {
    match units.trim() {
        "KB" | "kB" | "KiB" => Some((1024.0, false)),
        "B" | "bytes" => Some((1.0, false)),
        "bytes/sec" | "bytes/s" | "B/s" => Some((1.0, true)),
        _ => None,
    }
}

/// Whether values in `units` are shown converted ([`human_value`] picks their unit).
pub fn is_byte_unit(units: &str) -> bool {
    byte_unit(units).is_some()
}

/// A range `lo–hi` in `units`: each end with its own unit where sizes are converted
/// (`950 kB–1.2 MB`), else the unit once (`0–12 packets/sec`).
pub fn human_range(lo: f64, hi: f64, units: &str) -> String {
    let u = units.trim();
    if u.is_empty() || u == "%" || is_byte_unit(u) {
        format!("{}–{}", human_value(lo, u), human_value(hi, u))
    } else {
        format!("{}–{} {u}", compact_number(lo), compact_number(hi))
    }
}

const BYTE_UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];

/// A metric value with its units as operators read them: sizes and rates in decimal units
/// (`23.6 GB`, `1.2 MB/s`) whatever gmond counted them in, `12.5%`, else compact with its
/// units (`2596 MHz`, `1.5k packets/sec`).
pub fn human_value(v: f64, units: &str) -> String {
    let units = units.trim();
    match byte_unit(units) {
        Some((bytes, rate)) if v >= 0.0 && v.is_finite() => {
            let b = human_bytes((v * bytes).round() as u64);
            if rate { format!("{b}/s") } else { b }
        }
        _ => match units {
            "%" => format!("{}%", compact_number(v)),
            "" => compact_number(v),
            u => format!("{} {u}", compact_number(v)),
        },
    }
}

/// How a graph axis shows values in `units` up to `max` in magnitude: multiply each value by
/// `factor` and label the axis `unit`, so ticks and label agree (`GB` ticks under a `GB` label,
/// never a `20.0G` tick under `KB`).
#[derive(Debug, Clone, PartialEq)]
pub struct AxisScale {
    /// What each value is multiplied by.
    pub factor: f64,
    /// The unit the scaled values are in.
    pub unit: String,
}

/// The [`AxisScale`] for `units` and the largest magnitude `max`.
pub fn axis_scale(units: &str, max: f64) -> AxisScale {
    let units = units.trim();
    let Some((bytes, rate)) = byte_unit(units) else {
        // Other units keep their name; compact ticks (`1.5k`) are SI multiples of it.
        return AxisScale {
            factor: 1.0,
            unit: units.to_string(),
        };
    };
    let mut top = max.abs() * bytes;
    let mut e = 0;
    while top >= 1000.0 && e < BYTE_UNITS.len() - 1 {
        top /= 1000.0;
        e += 1;
    }
    AxisScale {
        factor: bytes / 1000f64.powi(e as i32),
        unit: format!("{}{}", BYTE_UNITS[e], if rate { "/s" } else { "" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_operator_units() {
        assert_eq!(human_value(24_684_084.0, "KB"), "25.3 GB");
        assert_eq!(human_value(6148.0, " KB "), "6.3 MB");
        assert_eq!(human_value(1_234_567.0, "bytes/sec"), "1.2 MB/s");
        assert_eq!(human_value(0.1, "bytes/sec"), "0 B/s");
        assert_eq!(human_value(60.5, "%"), "60.50%");
        assert_eq!(human_value(2596.0, "MHz"), "2596 MHz");
        assert_eq!(human_value(0.67, ""), "0.67");
        assert_eq!(
            human_value(-5.0, "KB"),
            "-5 KB",
            "no negative sizes invented"
        );
        assert_eq!(human_range(950.0, 1200.0, "KB"), "972.8 kB–1.2 MB");
        assert_eq!(human_range(0.0, 12.0, "packets/sec"), "0–12 packets/sec");
    }

    #[test]
    fn axis_label_matches_its_ticks() {
        // 10,000 hosts × 2 GB free, summed in KB: the axis is in TB, not "20.0G" of KB.
        let s = axis_scale("KB", 2.0e10);
        assert_eq!(s.unit, "TB");
        assert!((2.0e10 * s.factor - 20.48).abs() < 1e-9);
        let s = axis_scale("bytes/sec", 3.5e6);
        assert_eq!((s.unit.as_str(), 3.5e6 * s.factor), ("MB/s", 3.5));
        assert_eq!(axis_scale("KB", 0.0).unit, "B");
        assert_eq!(
            axis_scale("packets/sec", 2.0e4),
            AxisScale {
                factor: 1.0,
                unit: "packets/sec".into()
            }
        );
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(human_secs(45), "45s");
        assert_eq!(human_secs(192), "3m12s");
        assert_eq!(human_secs(7500), "2h05m");
        assert_eq!(human_secs(273_600), "3d04h");
        assert_eq!(human_bytes(950), "950 B");
        assert_eq!(human_bytes(104_200_000), "104.2 MB");
    }
}
