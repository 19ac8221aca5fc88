//! Cell encodings. Host series are kept as 16-bit floats (an f32's top half: full f32 range,
//! 8 bits of mantissa, about 0.4 % relative precision — finer than any terminal graph can show);
//! summaries, which are few, keep full f32s. Minima are rounded down and maxima up, so a stored
//! band always contains the real one.

/// Marks "no value" (a NaN pattern that packing never produces).
pub const GAP: u16 = 0x7FC1;

/// How a value is rounded to 16 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// To nearest (averages).
    Nearest,
    /// Toward −∞ (minima).
    Down,
    /// Toward +∞ (maxima).
    Up,
}

/// Packs a finite value into 16 bits.
pub fn pack16(v: f32, round: Round) -> u16 {
    let b = v.to_bits();
    let hi = (b >> 16) as u16;
    let lo = b & 0xFFFF;
    let negative = b >> 31 == 1;
    let out = match round {
        Round::Nearest => (b.wrapping_add(0x7FFF + ((b >> 16) & 1)) >> 16) as u16,
        // Moving away from zero is one step up in magnitude for either sign.
        Round::Down if negative && lo != 0 => hi + 1,
        Round::Up if !negative && lo != 0 => hi + 1,
        Round::Down | Round::Up => hi,
    };
    if out == GAP { hi } else { out }
}

/// Unpacks 16 bits; `None` for the gap marker.
pub fn unpack16(w: u16) -> Option<f32> {
    (w != GAP).then(|| f32::from_bits(u32::from(w) << 16))
}

/// Words per value for a precision.
pub fn words(precise: bool) -> usize {
    if precise { 2 } else { 1 }
}

/// Writes one value (or a gap) into `out` (one or two words).
pub fn put(out: &mut [u16], v: Option<f32>, round: Round) {
    match (out.len(), v) {
        (2, Some(v)) => {
            let b = v.to_bits();
            out[0] = (b >> 16) as u16;
            out[1] = b as u16;
        }
        (2, None) => {
            out[0] = GAP;
            out[1] = 0;
        }
        (_, Some(v)) => out[0] = pack16(v, round),
        (_, None) => out[0] = GAP,
    }
}

/// Reads one value written by [`put`].
pub fn get(w: &[u16]) -> Option<f32> {
    match w {
        [hi, lo] => {
            let v = f32::from_bits(u32::from(*hi) << 16 | u32::from(*lo));
            (!v.is_nan()).then_some(v)
        }
        [w] => unpack16(*w),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_contain_the_value_and_nearest_is_close() {
        for v in [0.0f32, 0.53, -0.53, 12.34, 1.6e10, -7.77e-3, 65504.0, 3.0] {
            let lo = unpack16(pack16(v, Round::Down)).unwrap();
            let hi = unpack16(pack16(v, Round::Up)).unwrap();
            let near = unpack16(pack16(v, Round::Nearest)).unwrap();
            assert!(lo <= v && v <= hi, "{lo} <= {v} <= {hi}");
            assert!((near - v).abs() <= v.abs() / 256.0, "{near} ~ {v}");
        }
        // Small integers are exact.
        for i in 0..=256 {
            assert_eq!(unpack16(pack16(i as f32, Round::Nearest)), Some(i as f32));
        }
    }

    #[test]
    fn gaps_round_trip_in_both_widths() {
        let mut one = [0u16; 1];
        let mut two = [0u16; 2];
        put(&mut one, None, Round::Nearest);
        put(&mut two, None, Round::Nearest);
        assert_eq!(get(&one), None);
        assert_eq!(get(&two), None);
        put(&mut two, Some(5123.37), Round::Nearest);
        assert_eq!(get(&two), Some(5123.37));
    }
}
