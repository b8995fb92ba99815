//! Timing helpers.

use std::time::{Duration, Instant};

/// Median of `runs` timed calls of `f`, after one untimed warm-up call.
pub fn median_of<E>(runs: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<Duration, E> {
    f()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    Ok(median(&mut times))
}

/// The median of `samples` (the upper one of the middle two for an even count; zero for none).
pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_ignores_order_and_outliers() {
        let mut s = [9, 1, 5, 1000, 4].map(Duration::from_millis);
        assert_eq!(median(&mut s), Duration::from_millis(5));
    }

    #[test]
    fn median_of_nothing_is_zero() {
        assert_eq!(median(&mut []), Duration::ZERO);
    }
}
