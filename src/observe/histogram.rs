//! Latency histograms with flat memory, whatever the number of samples.

use hdrhistogram::Histogram;

/// Highest value kept to the histogram's resolution (about 73 minutes in nanoseconds);
/// longer values are counted at this bound, and the exact maximum is kept beside.
const HIGHEST_NS: u64 = 1 << 42;

/// An HDR histogram of durations in nanoseconds, with the exact count, sum and maximum.
#[derive(Clone)]
pub struct LatencyHistogram {
    hist: Histogram<u64>,
    sum_ns: u128,
    max_ns: u64,
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count())
            .field("max_ns", &self.max_ns)
            .finish_non_exhaustive()
    }
}

impl LatencyHistogram {
    /// `significant_digits` trades memory for resolution: 3 keeps every quantile within 0.1%.
    #[must_use]
    pub fn new(significant_digits: u8) -> Self {
        #[expect(
            clippy::expect_used,
            reason = "the bounds are constants that hdrhistogram accepts"
        )]
        let hist = Histogram::new_with_bounds(1, HIGHEST_NS, significant_digits)
            .expect("valid histogram bounds");
        LatencyHistogram {
            hist,
            sum_ns: 0,
            max_ns: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.hist.saturating_record(ns.min(HIGHEST_NS));
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    #[must_use]
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    pub fn reset(&mut self) {
        self.hist.reset();
        self.sum_ns = 0;
        self.max_ns = 0;
    }

    /// Mean in seconds, exact (from the running sum, not the buckets).
    #[must_use]
    pub fn mean_s(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.sum_ns as f64 / n as f64 / 1e9)
    }

    /// The `q` quantile (0..=1) in seconds.
    #[must_use]
    pub fn quantile_s(&self, q: f64) -> Option<f64> {
        (self.count() > 0).then(|| {
            let v = self.hist.value_at_quantile(q);
            // The top bucket's representative can exceed what was seen; never report more
            // than the true maximum.
            v.min(self.max_ns) as f64 / 1e9
        })
    }

    #[must_use]
    pub fn max_s(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.max_ns as f64 / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_within_resolution() {
        let mut h = LatencyHistogram::new(3);
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        let p99 = h.quantile_s(0.99).expect("non-empty");
        assert!((p99 - 0.099).abs() / 0.099 < 1e-3, "p99 = {p99}");
        assert!((h.mean_s().expect("non-empty") - 0.050_000_5).abs() < 1e-12);
        assert_eq!(h.max_s(), Some(0.1));
    }

    #[test]
    fn empty_has_no_figures() {
        let h = LatencyHistogram::new(2);
        assert_eq!(h.quantile_s(0.5), None);
        assert_eq!(h.mean_s(), None);
    }
}
