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
    times.sort();
    Ok(times.get(times.len() / 2).copied().unwrap_or_default())
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
