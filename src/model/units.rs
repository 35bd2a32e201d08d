//! Quantities with units, as people write them in model files: `5ms`, `250/s`, `99.9%`.
//!
//! Every parser returns a message that says what was expected, so the model reader can attach
//! the position. Numbers without units are refused where a unit is needed: `timeout: 5`
//! could mean seconds or milliseconds, and guessing wrong silently is worse than asking.

use crate::shared::time::SimTime;

/// Nanoseconds per unit, longest suffix first so that `ms` is not read as `m`.
const DURATION_UNITS: &[(&str, f64)] = &[
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("ms", 1e6),
    ("min", 60e9),
    ("s", 1e9),
    ("m", 60e9),
    ("h", 3600e9),
];

pub const DURATION_HELP: &str = "write a number with a unit: 250us, 5ms, 1.5s, 10m (minutes), 2h";

/// Parses `1.5s`, `250ms`, `10m`, `0` (zero needs no unit) into nanoseconds.
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_duration(text: &str) -> Result<SimTime, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(SimTime::ZERO);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim();
    if number.is_empty() {
        return Err(format!("`{t}` is not a duration; {DURATION_HELP}"));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{number}` is not a number; {DURATION_HELP}"))?;
    if unit.is_empty() {
        return Err(format!("`{t}` has no unit; {DURATION_HELP}"));
    }
    let Some(&(_, scale)) = DURATION_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!("unknown time unit `{unit}`; {DURATION_HELP}"));
    };
    if value < 0.0 {
        return Err(format!("`{t}` is negative; a duration must be 0 or more"));
    }
    let ns = value * scale;
    if !ns.is_finite() || ns > SimTime::MAX.as_nanos() as f64 {
        return Err(format!(
            "`{t}` is too long; the longest duration is about 584 years"
        ));
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked to be finite, non-negative and in range just above"
    )]
    Ok(SimTime::from_nanos(ns.round() as u64))
}

pub const RATE_HELP: &str = "write a rate as a number per unit of time: 250/s, 30/min, 1000/h";

/// One arrival a nanosecond: simulated time cannot tell arrivals apart any closer, and no
/// real workload comes near it.
pub const MAX_RATE_PER_S: f64 = 1e9;

/// Parses `250/s`, `30/min`, `1000/h` into events per second.
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let Some((number, per)) = t.split_once('/') else {
        return Err(format!("`{t}` is not a rate; {RATE_HELP}"));
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a number; {RATE_HELP}", number.trim()))?;
    let per_s = match per.trim() {
        "ns" => 1e9,
        "us" | "µs" => 1e6,
        "ms" => 1e3,
        "s" => 1.0,
        "m" | "min" => 1.0 / 60.0,
        "h" => 1.0 / 3600.0,
        "d" => 1.0 / 86400.0,
        other => return Err(format!("unknown time unit `/{other}`; {RATE_HELP}")),
    };
    let rate = value * per_s;
    if !rate.is_finite() {
        return Err(format!("`{t}` is not a finite rate"));
    }
    if rate > MAX_RATE_PER_S {
        return Err(format!(
            "`{t}` is more than one arrival a nanosecond, the finest step of simulated time \
             (at most 1000000000/s); check the digits"
        ));
    }
    Ok(rate)
}

/// Parses a plain, finite number above 0 (a queue-depth target).
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_positive_number(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| *v > 0.0 && v.is_finite())
        .ok_or_else(|| format!("`{text}` is not a number above 0"))
}

/// Parses a fraction written as `99.9%` or as a plain number between 0 and 1.
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_fraction(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value = if let Some(p) = t.strip_suffix('%') {
        p.trim()
            .parse::<f64>()
            .map_err(|_| format!("`{t}` is not a percentage"))?
            / 100.0
    } else {
        t.parse::<f64>()
            .map_err(|_| format!("`{t}` is not a fraction; write 0.25 or 25%"))?
    };
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("`{t}` is outside 0..1 (0%..100%)"));
    }
    Ok(value)
}

/// Bytes per unit, for message sizes: decimal (KB = 1000) and binary (KiB = 1024).
const SIZE_UNITS: &[(&str, f64)] = &[
    ("B", 1.0),
    ("KB", 1e3),
    ("KiB", 1024.0),
    ("MB", 1e6),
    ("MiB", 1_048_576.0),
    ("GB", 1e9),
    ("GiB", 1_073_741_824.0),
];

pub const SIZE_HELP: &str = "write a size with a unit: 512B, 4KB, 1.5MB, 64KiB";

fn number_and_unit(t: &str) -> (&str, &str) {
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (n, u) = t.split_at(split);
    (n, u.trim())
}

/// Parses a message size, `4KB`, into bytes.
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, unit) = number_and_unit(t);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{t}` is not a size; {SIZE_HELP}"))?;
    let Some(&(_, scale)) = SIZE_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!("`{t}`: unknown size unit `{unit}`; {SIZE_HELP}"));
    };
    let bytes = value * scale;
    if !(0.0..1e15).contains(&bytes) {
        return Err(format!("`{t}` is out of range"));
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "range checked above"
    )]
    Ok(bytes.round() as u64)
}

pub const BANDWIDTH_HELP: &str = "write a bandwidth per second: 10Mbit/s, 1Gbit/s, 500KB/s, 2MB/s";

/// Parses a bandwidth, `10Mbit/s` or `2MB/s`, into bytes per second.
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_bandwidth(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let Some(per) = t.strip_suffix("/s") else {
        return Err(format!("`{t}` is not a bandwidth; {BANDWIDTH_HELP}"));
    };
    let (number, unit) = number_and_unit(per.trim());
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{t}` is not a bandwidth; {BANDWIDTH_HELP}"))?;
    let bytes_per_s = match unit {
        "bit" => value / 8.0,
        "Kbit" => value * 1e3 / 8.0,
        "Mbit" => value * 1e6 / 8.0,
        "Gbit" => value * 1e9 / 8.0,
        other => match SIZE_UNITS.iter().find(|(u, _)| *u == other) {
            Some(&(_, scale)) => value * scale,
            None => return Err(format!("`{t}`: unknown unit `{other}`; {BANDWIDTH_HELP}")),
        },
    };
    if bytes_per_s <= 0.0 || !bytes_per_s.is_finite() {
        return Err(format!("`{t}` must be more than 0"));
    }
    Ok(bytes_per_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5ms").map(SimTime::as_nanos), Ok(5_000_000));
        assert_eq!(
            parse_duration("1.5s").map(SimTime::as_nanos),
            Ok(1_500_000_000)
        );
        assert_eq!(
            parse_duration("10m").map(SimTime::as_nanos),
            Ok(600_000_000_000)
        );
        assert_eq!(
            parse_duration("2 min").map(SimTime::as_nanos),
            Ok(120_000_000_000)
        );
        assert_eq!(parse_duration("250us").map(SimTime::as_nanos), Ok(250_000));
        assert_eq!(parse_duration("0").map(SimTime::as_nanos), Ok(0));
        assert!(
            parse_duration("5")
                .expect_err("no unit")
                .contains("no unit")
        );
        assert!(
            parse_duration("5 parsecs")
                .expect_err("bad unit")
                .contains("unknown time unit")
        );
        assert!(
            parse_duration("-1s")
                .expect_err("negative")
                .contains("negative")
        );
        assert!(parse_duration("ms").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("250/s"), Ok(250.0));
        assert_eq!(parse_rate("60/min"), Ok(1.0));
        assert_eq!(parse_rate("3600/h"), Ok(1.0));
        assert!(parse_rate("250").is_err());
        assert!(parse_rate("x/s").is_err());
        assert_eq!(parse_rate("1000000000/s"), Ok(1e9));
        assert!(
            parse_rate("99999999999999999999999/s")
                .unwrap_err()
                .contains("more than one arrival a nanosecond")
        );
        assert!(parse_rate("5/fortnight").is_err());
    }

    #[test]
    fn sizes_and_bandwidths() {
        assert_eq!(parse_size("4KB"), Ok(4000));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1.5MB"), Ok(1_500_000));
        assert!(parse_size("4 furlongs").is_err());
        assert_eq!(parse_bandwidth("8Mbit/s"), Ok(1e6));
        assert_eq!(parse_bandwidth("2MB/s"), Ok(2e6));
        assert!(parse_bandwidth("0Mbit/s").is_err());
        assert!(parse_bandwidth("10Mbit").is_err());
    }

    #[test]
    fn fractions() {
        assert_eq!(parse_fraction("50%"), Ok(0.5));
        assert_eq!(parse_fraction("0.25"), Ok(0.25));
        assert!(parse_fraction("150%").is_err());
    }
}
