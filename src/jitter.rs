//! Spreading retries: after a manager restarts, a thousand agents (and every console) that
//! back off 1 s, 2 s, 4 s… in step would all reconnect at the same moments. Each wait is drawn
//! from the upper half of its backoff instead, from the operating system's random source.

use std::time::Duration;

/// A wait between half of `backoff` and all of it, drawn at random.
pub fn spread(backoff: Duration) -> Duration {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 4];
    // Without randomness (not expected on Linux) the full backoff is still a correct wait.
    let Ok(()) = ring::rand::SystemRandom::new().fill(&mut b) else {
        return backoff;
    };
    let fraction = f64::from(u32::from_ne_bytes(b)) / f64::from(u32::MAX);
    backoff.mul_f64(0.5 + fraction / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_stay_in_the_upper_half_and_differ() {
        let b = Duration::from_secs(8);
        let waits: Vec<Duration> = (0..50).map(|_| spread(b)).collect();
        assert!(waits.iter().all(|w| *w >= b / 2 && *w <= b), "{waits:?}");
        assert!(
            waits.iter().any(|w| *w != waits[0]),
            "all the same: {waits:?}"
        );
    }
}
