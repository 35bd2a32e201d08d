//! Distributions of durations, written as short strings: `exp 5ms`, `lognormal 10ms p99 80ms`.
//!
//! Parameters are stored in nanoseconds as `f64`; sampling lives in `sim::random`, so the
//! model stays plain data.

use std::fmt;

use super::units::parse_duration;
use crate::shared::time::SimTime;

/// The distributions' names, so that a bare `exp` is reported as an incomplete `exp`.
const NAMES: &[&str] = &["exp", "uniform", "normal", "lognormal", "erlang", "pareto"];

/// z such that P(Z <= z) = 0.99 for a standard normal.
const Z_99: f64 = 2.326_347_874_040_841;

#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    Const(SimTime),
    Exp {
        mean_ns: f64,
    },
    Uniform {
        lo_ns: f64,
        hi_ns: f64,
    },
    /// Truncated at zero by resampling, so no mass piles up at 0.
    Normal {
        mean_ns: f64,
        sd_ns: f64,
    },
    /// `ln(x)` is normal with these parameters (x in nanoseconds).
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Erlang {
        k: u32,
        mean_ns: f64,
    },
    Pareto {
        scale_ns: f64,
        alpha: f64,
    },
    Empirical(Vec<SimTime>),
}

pub const DIST_HELP: &str = "write `5ms` (constant), `exp 5ms`, `uniform 1ms 9ms`, `normal 20ms 5ms`, \
`lognormal 10ms p99 80ms`, `erlang 3 6ms`, `pareto 2ms 1.5` or `empirical [1ms, 2ms, 9ms]`";

impl Dist {
    /// The mean in nanoseconds; `None` where it is infinite (Pareto with alpha <= 1).
    #[must_use]
    pub fn mean_ns(&self) -> Option<f64> {
        match self {
            Dist::Const(t) => Some(t.as_nanos() as f64),
            Dist::Exp { mean_ns } | Dist::Erlang { mean_ns, .. } | Dist::Normal { mean_ns, .. } => {
                Some(*mean_ns)
            }
            Dist::Uniform { lo_ns, hi_ns } => Some(0.5 * (lo_ns + hi_ns)),
            Dist::LogNormal { mu, sigma } => Some(libm::exp(mu + 0.5 * sigma * sigma)),
            Dist::Pareto { scale_ns, alpha } => {
                (*alpha > 1.0).then(|| alpha * scale_ns / (alpha - 1.0))
            }
            Dist::Empirical(samples) => Some(
                samples.iter().map(|s| s.as_nanos() as f64).sum::<f64>() / samples.len() as f64,
            ),
        }
    }

    /// True when every sample is zero, so the engine can skip scheduling an event for it.
    #[must_use]
    pub fn is_zero(&self) -> bool {
        matches!(self, Dist::Const(t) if *t == SimTime::ZERO)
    }

    #[must_use]
    pub fn constant(&self) -> Option<SimTime> {
        match self {
            Dist::Const(t) => Some(*t),
            _ => None,
        }
    }
}

impl fmt::Display for Dist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = |ns: f64| SimTime::from_secs_f64(ns * 1e-9);
        match self {
            Dist::Const(v) => write!(f, "{v}"),
            Dist::Exp { mean_ns } => write!(f, "exp {}", t(*mean_ns)),
            Dist::Uniform { lo_ns, hi_ns } => write!(f, "uniform {} {}", t(*lo_ns), t(*hi_ns)),
            Dist::Normal { mean_ns, sd_ns } => write!(f, "normal {} {}", t(*mean_ns), t(*sd_ns)),
            Dist::LogNormal { mu, sigma } => write!(
                f,
                "lognormal {} p99 {}",
                t(libm::exp(*mu)),
                t(libm::exp(mu + Z_99 * sigma))
            ),
            Dist::Erlang { k, mean_ns } => write!(f, "erlang {k} {}", t(*mean_ns)),
            Dist::Pareto { scale_ns, alpha } => write!(f, "pareto {} {alpha}", t(*scale_ns)),
            Dist::Empirical(samples) => {
                f.write_str("empirical [")?;
                for (i, s) in samples.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s}")?;
                }
                f.write_str("]")
            }
        }
    }
}

fn ns(text: &str) -> Result<f64, String> {
    parse_duration(text).map(|t| t.as_nanos() as f64)
}

fn positive(text: &str, what: &str) -> Result<f64, String> {
    let v = ns(text)?;
    if v <= 0.0 {
        return Err(format!("the {what} must be more than 0"));
    }
    Ok(v)
}

/// Parses a distribution from its short string form.
///
/// # Errors
/// A message saying what is wrong and showing the accepted forms.
pub fn parse_dist(text: &str) -> Result<Dist, String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix("empirical") {
        let inner = rest
            .trim()
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .ok_or_else(|| {
                format!("`{t}`: write the samples in brackets, `empirical [1ms, 2ms, 9ms]`")
            })?;
        let samples = inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(parse_duration)
            .collect::<Result<Vec<_>, _>>()?;
        return empirical(samples);
    }
    // `1.5 s` is a constant, as it is where a duration is expected.
    if t.starts_with(|c: char| c.is_ascii_digit())
        && let Ok(constant) = parse_duration(t)
    {
        return Ok(Dist::Const(constant));
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    let wrong = |form: &str| format!("`{t}` does not match `{form}`");
    match words.as_slice() {
        ["exp", mean] => Ok(Dist::Exp {
            mean_ns: positive(mean, "mean")?,
        }),
        ["uniform", lo, hi] => {
            let (lo_ns, hi_ns) = (ns(lo)?, ns(hi)?);
            if hi_ns < lo_ns {
                return Err(format!("`{t}`: the upper bound is below the lower bound"));
            }
            Ok(Dist::Uniform { lo_ns, hi_ns })
        }
        ["normal", mean, sd] => Ok(Dist::Normal {
            mean_ns: ns(mean)?,
            sd_ns: ns(sd)?,
        }),
        ["lognormal", median, "p99", p99] => {
            let (median_ns, p99_ns) = (positive(median, "median")?, positive(p99, "p99")?);
            if p99_ns < median_ns {
                return Err(format!("`{t}`: the p99 must be at least the median"));
            }
            let mu = libm::log(median_ns);
            Ok(Dist::LogNormal {
                mu,
                sigma: (libm::log(p99_ns) - mu) / Z_99,
            })
        }
        ["erlang", k, mean] => {
            let k: u32 = k
                .parse()
                .ok()
                .filter(|k| (1..=1000).contains(k))
                .ok_or_else(|| {
                    format!("`{t}`: the shape K must be a whole number from 1 to 1000")
                })?;
            Ok(Dist::Erlang {
                k,
                mean_ns: positive(mean, "mean")?,
            })
        }
        ["pareto", scale, alpha] => {
            let alpha: f64 = alpha
                .parse()
                .ok()
                .filter(|a: &f64| *a > 0.0 && a.is_finite())
                .ok_or_else(|| format!("`{t}`: the shape ALPHA must be a number above 0"))?;
            Ok(Dist::Pareto {
                scale_ns: positive(scale, "scale")?,
                alpha,
            })
        }
        [single] if !NAMES.contains(single) => parse_duration(single)
            .map(Dist::Const)
            .map_err(|e| format!("{e}; or {DIST_HELP}")),
        ["exp", ..] => Err(wrong("exp MEAN")),
        ["uniform", ..] => Err(wrong("uniform LOW HIGH")),
        ["normal", ..] => Err(wrong("normal MEAN SD")),
        ["lognormal", ..] => Err(wrong("lognormal MEDIAN p99 P99")),
        ["erlang", ..] => Err(wrong("erlang K MEAN")),
        ["pareto", ..] => Err(wrong("pareto SCALE ALPHA")),
        [first, ..] => Err(format!("unknown distribution `{first}`; {DIST_HELP}")),
        [] => Err(format!("empty distribution; {DIST_HELP}")),
    }
}

/// Builds an empirical distribution from samples given as a list.
///
/// # Errors
/// When the list is empty.
pub fn empirical(samples: Vec<SimTime>) -> Result<Dist, String> {
    if samples.is_empty() {
        return Err("an empirical distribution needs at least one sample".into());
    }
    Ok(Dist::Empirical(samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse_dist("5ms"), Ok(Dist::Const(SimTime::from_millis(5))));
        assert_eq!(parse_dist("exp 4ms"), Ok(Dist::Exp { mean_ns: 4e6 }));
        assert_eq!(
            parse_dist("uniform 1ms 9ms"),
            Ok(Dist::Uniform {
                lo_ns: 1e6,
                hi_ns: 9e6
            })
        );
        assert!(matches!(
            parse_dist("erlang 3 6ms"),
            Ok(Dist::Erlang { k: 3, .. })
        ));
        assert!(matches!(
            parse_dist("pareto 2ms 1.5"),
            Ok(Dist::Pareto { .. })
        ));
        assert_eq!(
            parse_dist("empirical [1ms, 3ms]").map(|d| d.mean_ns()),
            Ok(Some(2e6))
        );
        let Ok(Dist::LogNormal { mu, sigma }) = parse_dist("lognormal 10ms p99 80ms") else {
            panic!("lognormal should parse")
        };
        assert!((libm::exp(mu) - 1e7).abs() < 1.0);
        assert!((libm::exp(mu + Z_99 * sigma) - 8e7).abs() < 10.0);
    }

    #[test]
    fn errors_say_what_is_expected() {
        assert!(parse_dist("exp").expect_err("").contains("exp MEAN"));
        assert!(
            parse_dist("gamma 3 4ms")
                .expect_err("")
                .contains("unknown distribution")
        );
        assert!(parse_dist("exp 0ms").expect_err("").contains("more than 0"));
        assert!(
            parse_dist("uniform 9ms 1ms")
                .expect_err("")
                .contains("below")
        );
        assert!(
            parse_dist("empirical []")
                .expect_err("")
                .contains("at least one")
        );
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "5ms",
            "exp 4ms",
            "uniform 1ms 9ms",
            "normal 20ms 5ms",
            "erlang 3 6ms",
            "pareto 2ms 1.5",
        ] {
            let d = parse_dist(text).expect("valid");
            assert_eq!(d.to_string(), text);
        }
    }
}
