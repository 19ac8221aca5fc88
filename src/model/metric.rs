//! Metrics as Ganglia reports them: per-host values plus metadata shared between hosts.

use std::sync::Arc;

use compact_str::CompactString;

/// A metric's value type, as in the Ganglia DTD's `TYPE` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum MetricType {
    /// Free text.
    #[default]
    String,
    /// Signed 8-bit integer.
    Int8,
    /// Unsigned 8-bit integer.
    Uint8,
    /// Signed 16-bit integer.
    Int16,
    /// Unsigned 16-bit integer.
    Uint16,
    /// Signed 32-bit integer.
    Int32,
    /// Unsigned 32-bit integer.
    Uint32,
    /// Single-precision float.
    Float,
    /// Double-precision float.
    Double,
    /// Seconds since the epoch.
    Timestamp,
}

impl MetricType {
    /// Parses the DTD spelling (`uint32`, `float`, …).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => Self::String,
            "int8" => Self::Int8,
            "uint8" => Self::Uint8,
            "int16" => Self::Int16,
            "uint16" => Self::Uint16,
            "int32" => Self::Int32,
            "uint32" => Self::Uint32,
            "float" => Self::Float,
            "double" => Self::Double,
            "timestamp" => Self::Timestamp,
            _ => return None,
        })
    }

    /// The DTD spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Int8 => "int8",
            Self::Uint8 => "uint8",
            Self::Int16 => "int16",
            Self::Uint16 => "uint16",
            Self::Int32 => "int32",
            Self::Uint32 => "uint32",
            Self::Float => "float",
            Self::Double => "double",
            Self::Timestamp => "timestamp",
        }
    }

    /// Whether gmetad would summarise (and Gantry keep history of) this type.
    pub fn is_numeric(self) -> bool {
        !matches!(self, Self::String | Self::Timestamp)
    }

    /// Whether values are whole numbers (summed sums print as `%.f`).
    pub fn is_integer(self) -> bool {
        !matches!(
            self,
            Self::String | Self::Float | Self::Double | Self::Timestamp
        )
    }
}

/// How a metric's value changes over time (`SLOPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Slope {
    /// A constant, such as cpu_num.
    Zero,
    /// Only grows (a counter).
    Positive,
    /// Only shrinks.
    Negative,
    /// Goes up and down.
    Both,
    /// Not stated.
    #[default]
    Unspecified,
}

impl Slope {
    /// Parses the DTD spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "zero" => Self::Zero,
            "positive" => Self::Positive,
            "negative" => Self::Negative,
            "both" => Self::Both,
            "unspecified" => Self::Unspecified,
            _ => return None,
        })
    }

    /// The DTD spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zero => "zero",
            Self::Positive => "positive",
            Self::Negative => "negative",
            Self::Both => "both",
            Self::Unspecified => "unspecified",
        }
    }
}

/// Everything about a metric that is usually the same on every host: shared through an `Arc`
/// so ten thousand hosts reporting `load_one` hold one copy of it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetricMeta {
    /// Metric name, e.g. `load_one`.
    pub name: Arc<str>,
    /// Value type.
    pub kind: MetricType,
    /// Units as sent (gmond sends a single space for unit-less load metrics).
    pub units: Arc<str>,
    /// Slope.
    pub slope: Slope,
    /// The module's built-in maximum interval between values, in seconds.
    pub tmax: u32,
    /// Seconds of silence after which the metric is deleted; 0 means never.
    pub dmax: u32,
    /// The `EXTRA_ELEMENT` name/value pairs in the order sent (GROUP may repeat).
    pub extra: Vec<(Arc<str>, Arc<str>)>,
}

impl MetricMeta {
    /// A metadata record with no extra data.
    pub fn new(name: &str, kind: MetricType, units: &str, slope: Slope, tmax: u32) -> Self {
        Self {
            name: name.into(),
            kind,
            units: units.into(),
            slope,
            tmax,
            dmax: 0,
            extra: Vec::new(),
        }
    }

    /// Builder helper: adds an `EXTRA_ELEMENT`.
    pub fn with_extra(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    fn extra_value(&self, key: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| &**v)
    }

    /// The first GROUP, if any.
    pub fn group(&self) -> Option<&str> {
        self.extra_value("GROUP")
    }

    /// Every GROUP the metric belongs to (gmetric `-g a,b` sends several).
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.extra
            .iter()
            .filter(|(k, _)| &**k == "GROUP")
            .map(|(_, v)| &**v)
    }

    /// The human title, if any.
    pub fn title(&self) -> Option<&str> {
        self.extra_value("TITLE")
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.extra_value("DESC")
    }
}

/// One metric of one host at one poll.
#[derive(Clone, Debug)]
pub struct Metric {
    /// Shared metadata (name, type, units, …).
    pub meta: Arc<MetricMeta>,
    /// The value exactly as sent, so it can be served back verbatim.
    pub text: CompactString,
    /// The value as a number; NaN for strings and for text that is not a number.
    pub num: f64,
    /// Seconds since the last value packet when the document was produced.
    pub tn: u32,
}

impl PartialEq for Metric {
    fn eq(&self, other: &Self) -> bool {
        // NaN marks "not a number" here, so two NaNs are the same value.
        let same_num = self.num == other.num || (self.num.is_nan() && other.num.is_nan());
        same_num && self.tn == other.tn && self.text == other.text && self.meta == other.meta
    }
}

impl Metric {
    /// Builds a metric, parsing the numeric value from `text` when the type is numeric.
    pub fn new(meta: Arc<MetricMeta>, text: &str, tn: u32) -> Self {
        let num = if meta.kind == MetricType::String {
            f64::NAN
        } else {
            parse_number(text)
        };
        Self {
            meta,
            text: CompactString::new(text),
            num,
            tn,
        }
    }

    /// The metric's name.
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// The numeric value, when the type is numeric and the text parsed.
    pub fn value(&self) -> Option<f64> {
        (!self.num.is_nan()).then_some(self.num)
    }

    /// gmetad's rule: a metric is expired when DMAX > 0 and TN > DMAX.
    pub fn is_expired(&self, tn_now: u64) -> bool {
        self.meta.dmax > 0 && tn_now > u64::from(self.meta.dmax)
    }
}

/// Parses a Ganglia numeric value leniently (surrounding spaces allowed); NaN when it isn't one.
pub fn parse_number(text: &str) -> f64 {
    let t = text.trim();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => v,
        _ => f64::NAN,
    }
}

/// Number of digits after the decimal point in a value as printed (`"0.67"` → 2).
pub fn decimals_of(text: &str) -> u8 {
    let t = text.trim();
    match t.find('.') {
        Some(dot) => {
            let frac = &t[dot + 1..];
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            digits.min(9) as u8
        }
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip() {
        for t in [
            "string",
            "int8",
            "uint8",
            "int16",
            "uint16",
            "int32",
            "uint32",
            "float",
            "double",
            "timestamp",
        ] {
            assert_eq!(MetricType::parse(t).map(MetricType::as_str), Some(t));
        }
        assert_eq!(MetricType::parse("quad"), None);
        for s in ["zero", "positive", "negative", "both", "unspecified"] {
            assert_eq!(Slope::parse(s).map(Slope::as_str), Some(s));
        }
    }

    #[test]
    fn numbers_and_decimals() {
        assert_eq!(parse_number("0.67"), 0.67);
        assert_eq!(parse_number(" 12 "), 12.0);
        assert!(parse_number("OFF").is_nan());
        assert!(parse_number("inf").is_nan());
        assert_eq!(decimals_of("0.67"), 2);
        assert_eq!(decimals_of("1262608"), 0);
        assert_eq!(decimals_of("12.5"), 1);
    }

    #[test]
    fn expiry_follows_gmetad() {
        let mut meta = MetricMeta::new("x", MetricType::Float, "", Slope::Both, 60);
        meta.dmax = 100;
        let m = Metric::new(Arc::new(meta), "1", 5);
        assert!(!m.is_expired(100));
        assert!(m.is_expired(101));
        let m0 = Metric::new(
            Arc::new(MetricMeta::new("y", MetricType::Float, "", Slope::Both, 60)),
            "1",
            5,
        );
        assert!(!m0.is_expired(1_000_000));
    }
}
