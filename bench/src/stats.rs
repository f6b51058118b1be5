//! Medians and the markdown rows the benchmarks print.

use std::time::Duration;

/// The median of `samples` (the mean of the middle two for an even count); zero when empty.
pub fn median(samples: &[Duration]) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut s = samples.to_vec();
    s.sort_unstable();
    let mid = s.len() / 2;
    if s.len() % 2 == 1 {
        s[mid]
    } else {
        (s[mid - 1] + s[mid]) / 2
    }
}

/// The median of plain numbers (ratios); zero when empty.
pub fn median_f64(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// `ours / theirs` as a ratio with two decimals.
pub fn ratio(ours: Duration, theirs: Duration) -> String {
    if theirs.is_zero() {
        return "n/a".into();
    }
    format!("{:.2}", ours.as_secs_f64() / theirs.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        let d = Duration::from_millis;
        assert_eq!(median(&[d(3), d(1), d(2)]), d(2));
        assert_eq!(
            median(&[d(4), d(1), d(2), d(3)]),
            Duration::from_micros(2500)
        );
        assert_eq!(median(&[]), Duration::ZERO);
    }

    #[test]
    fn median_of_ratios() {
        assert_eq!(median_f64(&[1.5, 0.9, 3.0]), 1.5);
        assert_eq!(median_f64(&[2.0, 1.0]), 1.5);
        assert_eq!(median_f64(&[]), 0.0);
    }
}
