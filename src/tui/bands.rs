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

#[cfg(test)]
mod tests {
    use super::*;

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
