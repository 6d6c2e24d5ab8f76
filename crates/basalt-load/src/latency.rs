//! Latency percentiles of completed orders (nearest-rank method).

use std::time::Duration;

use serde::Serialize;

/// Milliseconds, rounded to 0.1 ms; all zero when no order completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl LatencySummary {
    pub(crate) fn of(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        Self {
            p50: millis(nearest_rank(&samples, 50.0)),
            p90: millis(nearest_rank(&samples, 90.0)),
            p99: millis(nearest_rank(&samples, 99.0)),
            max: millis(samples[samples.len() - 1]),
        }
    }
}

/// The smallest sample with at least `percent` % of the samples at or below it. `sorted` is
/// sorted and not empty.
fn nearest_rank(sorted: &[Duration], percent: f64) -> Duration {
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_millis).collect()
    }

    #[test]
    fn one_to_a_hundred() {
        // Shuffled on purpose: the summary sorts.
        let samples = ms((1..=100).rev());
        let summary = LatencySummary::of(samples);
        assert_eq!(
            summary,
            LatencySummary {
                p50: 50.0,
                p90: 90.0,
                p99: 99.0,
                max: 100.0
            }
        );
    }

    #[test]
    fn few_samples_use_nearest_rank() {
        let summary = LatencySummary::of(ms([30, 10, 20]));
        assert_eq!(summary.p50, 20.0);
        assert_eq!(summary.p90, 30.0);
        assert_eq!(summary.p99, 30.0);
        assert_eq!(summary.max, 30.0);
        assert_eq!(LatencySummary::of(ms([7])).p50, 7.0);
    }

    #[test]
    fn no_samples_is_all_zero() {
        assert_eq!(LatencySummary::of(Vec::new()), LatencySummary::default());
    }

    #[test]
    fn sub_millisecond_precision_is_kept() {
        let summary = LatencySummary::of(vec![Duration::from_micros(1_234)]);
        assert_eq!(summary.max, 1.2);
    }
}
