//! Simulated time: an integer count of nanoseconds since the run started.
//!
//! Integers make the event order exact and the same on every machine; summing `f64` seconds
//! would drift and make ties depend on rounding.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    #[must_use]
    pub const fn from_nanos(ns: u64) -> Self {
        SimTime(ns)
    }

    #[must_use]
    pub const fn from_millis(ms: u64) -> Self {
        SimTime(ms * 1_000_000)
    }

    #[must_use]
    pub const fn from_secs(s: u64) -> Self {
        SimTime(s * 1_000_000_000)
    }

    /// Rounds to the nearest nanosecond; negative and NaN inputs become zero.
    #[must_use]
    pub fn from_secs_f64(s: f64) -> Self {
        let ns = s * 1e9;
        if ns.is_nan() || ns <= 0.0 {
            SimTime(0)
        } else if ns >= u64::MAX as f64 {
            SimTime::MAX
        } else {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "range checked above"
            )]
            SimTime(ns.round() as u64)
        }
    }

    #[must_use]
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    #[must_use]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    #[must_use]
    pub const fn saturating_add(self, other: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(other.0))
    }

    #[must_use]
    pub const fn saturating_sub(self, other: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(other.0))
    }
}

impl Add for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for SimTime {
    fn add_assign(&mut self, rhs: SimTime) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for SimTime {
    type Output = SimTime;
    fn sub(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(rhs.0))
    }
}

/// Formats with the largest unit that keeps the number readable: `750us`, `12.5ms`, `3m20s`.
impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            return f.write_str("0s");
        }
        if ns < 1_000 {
            return write!(f, "{ns}ns");
        }
        if ns < 1_000_000 {
            return write!(f, "{}us", trim(ns as f64 / 1e3));
        }
        if ns < 1_000_000_000 {
            return write!(f, "{}ms", trim(ns as f64 / 1e6));
        }
        let s = ns as f64 / 1e9;
        if s < 60.0 {
            return write!(f, "{}s", trim(s));
        }
        let whole_s = ns / 1_000_000_000;
        let (h, m, sec) = (whole_s / 3600, (whole_s / 60) % 60, whole_s % 60);
        if h > 0 {
            write!(f, "{h}h{m:02}m{sec:02}s")
        } else {
            write!(f, "{m}m{sec:02}s")
        }
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_readable() {
        assert_eq!(SimTime::from_nanos(750_000).to_string(), "750us");
        assert_eq!(SimTime::from_nanos(12_500_000).to_string(), "12.5ms");
        assert_eq!(SimTime::from_secs(200).to_string(), "3m20s");
        assert_eq!(SimTime::from_secs(3 * 3600 + 5).to_string(), "3h00m05s");
        assert_eq!(SimTime::ZERO.to_string(), "0s");
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime::MAX + SimTime::from_secs(1), SimTime::MAX);
        assert_eq!(SimTime::ZERO - SimTime::from_secs(1), SimTime::ZERO);
    }
}
