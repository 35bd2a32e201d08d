//! A lesson's checks: what the run must show, written as a small expression over the
//! report's figures, and judged against a report.
//!
//! ```text
//! components.server.utilization > 95%                      the figure at the pause point
//! requests.page.latency_s.p99 < 100ms
//! components.server.queue_mean max > 100 during 2m..4m     a series, over a window
//! requests.page.failed_per_s > 0 during 4m10s..4m30s      every bucket in the window
//! components.db.replication_lag_s.db_2 at 3m < 1s          the bucket holding an instant
//! ```
//!
//! A path without a window names a figure of the report (its JSON keys, dotted). With a
//! window (`during A..B`, `at T`) or an aggregate (`max`, `min`, `mean`) it names a series
//! of the report's `series` section, and the check is judged over the buckets that start
//! in the window: every bucket when no aggregate is written. Buckets without a value (no
//! request ended) are left out; a window without any bucket holding a value fails.
//!
//! Must never: run a simulation; it judges a report it is given.

use std::fmt;

use serde_json::Value;

use crate::model::units::{parse_duration, parse_fraction, parse_rate};
use crate::sim::SimTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Equal,
    NotEqual,
}

impl Op {
    const ALL: [(&'static str, Op); 6] = [
        ("<=", Op::LessEq),
        (">=", Op::GreaterEq),
        ("==", Op::Equal),
        ("!=", Op::NotEqual),
        ("<", Op::Less),
        (">", Op::Greater),
    ];

    fn holds(self, seen: f64, bound: f64) -> bool {
        match self {
            Op::Less => seen < bound,
            Op::LessEq => seen <= bound,
            Op::Greater => seen > bound,
            Op::GreaterEq => seen >= bound,
            // Figures are sums and means of floats: equal to a part in a billion.
            Op::Equal => (seen - bound).abs() <= 1e-9 * bound.abs().max(1.0),
            Op::NotEqual => (seen - bound).abs() > 1e-9 * bound.abs().max(1.0),
        }
    }

    fn text(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(t, _)| t)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// Every bucket must satisfy the comparison.
    Every,
    Max,
    Min,
    Mean,
}

/// Where the figure is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// The report at the step's pause point.
    End,
    /// The buckets of a series starting in `from..to` (the whole run when `to` is `None`);
    /// `at T` is the bucket holding T.
    Series {
        aggregate: Aggregate,
        from: SimTime,
        to: Option<SimTime>,
        instant: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub path: Vec<String>,
    pub over: Over,
    pub op: Op,
    pub bound: f64,
}

/// The outcome of a check against one report.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Holds {
        seen: f64,
    },
    Fails {
        seen: f64,
    },
    /// The report has no such figure, or no value in the window.
    Missing(String),
    /// The run has not reached the end of the window yet.
    NotYet,
}

impl Verdict {
    #[must_use]
    pub fn holds(&self) -> bool {
        matches!(self, Verdict::Holds { .. })
    }
}

const AGGREGATES: [(&str, Aggregate); 3] = [
    ("max", Aggregate::Max),
    ("min", Aggregate::Min),
    ("mean", Aggregate::Mean),
];

/// The sections of the report a path may start with.
pub const ROOTS: [&str; 5] = ["totals", "requests", "components", "series", "sim_events"];

pub const HELP: &str = "write PATH [max|min|mean] OP VALUE [during FROM..TO | at T], e.g. \
     `components.db.utilization > 90%` or `requests.page.failed_per_s max > 0 during 2m..3m`";

/// Reads one check expression.
///
/// # Errors
/// What is wrong with it, in a sentence.
pub fn parse(text: &str) -> Result<Expr, String> {
    let (body, window) = split_window(text)?;
    let Some((at, op_text, op)) = Op::ALL
        .iter()
        .find_map(|&(t, op)| body.find(t).map(|i| (i, t, op)))
    else {
        return Err(format!(
            "no comparison (<, <=, >, >=, ==, !=) in `{text}`; {HELP}"
        ));
    };
    let left = body[..at].trim();
    let right = body[at + op_text.len()..].trim();
    let mut words: Vec<&str> = left.split_whitespace().collect();
    let aggregate = match words
        .last()
        .and_then(|w| AGGREGATES.iter().find(|(n, _)| n == w))
    {
        Some(&(_, a)) => {
            words.pop();
            Some(a)
        }
        None => None,
    };
    // `PATH at T OP VALUE` reads as well as `PATH OP VALUE at T`.
    let mut window = window;
    if let [path, "at", t] = words[..] {
        window = Some(instant(t)?);
        words = vec![path];
    }
    let [path] = words[..] else {
        return Err(format!("`{left}` should be one dotted path; {HELP}"));
    };
    let path: Vec<String> = path.split('.').map(str::to_string).collect();
    if path.iter().any(String::is_empty) {
        return Err(format!("`{left}` has an empty part between its dots"));
    }
    if !ROOTS.contains(&path[0].as_str()) {
        return Err(format!(
            "`{}` is not a section of the report; a path starts with one of: {}",
            path[0],
            ROOTS.join(", ")
        ));
    }
    let bound = value(right)?;
    let over = match (aggregate, window) {
        (None, None) => Over::End,
        (a, w) => {
            let (from, to, instant) = w.unwrap_or((SimTime::ZERO, None, false));
            Over::Series {
                aggregate: a.unwrap_or(Aggregate::Every),
                from,
                to,
                instant,
            }
        }
    };
    Ok(Expr {
        path,
        over,
        op,
        bound,
    })
}

type Window = (SimTime, Option<SimTime>, bool);

fn split_window(text: &str) -> Result<(&str, Option<Window>), String> {
    if let Some(i) = text.find(" during ") {
        let range = text[i + " during ".len()..].trim();
        let Some((a, b)) = range.split_once("..") else {
            return Err(format!(
                "`during {range}` should be a range, e.g. `during 2m..3m`"
            ));
        };
        let from = parse_duration(a)?;
        let to = parse_duration(b)?;
        if to <= from {
            return Err(format!("`during {range}` ends before it starts"));
        }
        return Ok((&text[..i], Some((from, Some(to), false))));
    }
    // `OP VALUE at T`: the instant comes after the value.
    if let Some(i) = text.rfind(" at ")
        && Op::ALL.iter().any(|(t, _)| text[..i].contains(t))
    {
        return Ok((&text[..i], Some(instant(text[i + 4..].trim())?)));
    }
    Ok((text, None))
}

fn instant(t: &str) -> Result<Window, String> {
    let at = parse_duration(t)?;
    Ok((at, Some(at), true))
}

/// A bound: a duration (in seconds), a percentage (as a fraction), a rate (per second) or a
/// plain number.
fn value(text: &str) -> Result<f64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("nothing to compare with; {HELP}"));
    }
    if let Ok(v) = t.parse::<f64>()
        && v.is_finite()
    {
        return Ok(v);
    }
    if t.ends_with('%') {
        return parse_fraction(t);
    }
    if t.contains('/') {
        return parse_rate(t);
    }
    parse_duration(t)
        .map(SimTime::as_secs_f64)
        .map_err(|_| format!("`{t}` is not a number, a duration, a percentage or a rate"))
}

impl Expr {
    /// The instant after which the check can be judged: the end of its window, or the step's
    /// pause point.
    #[must_use]
    pub fn decided_at(&self, pause: SimTime) -> SimTime {
        match self.over {
            Over::Series { to: Some(to), .. } => to.min(pause),
            _ => pause,
        }
    }

    /// Judges the check against `report` (the report's JSON) at simulated time `now`.
    #[must_use]
    pub fn judge(&self, report: &Value, now: SimTime, pause: SimTime) -> Verdict {
        if now < self.decided_at(pause) {
            return Verdict::NotYet;
        }
        match self.over {
            Over::End => match lookup(report, &self.path) {
                Some(Value::Number(n)) => self.verdict(n.as_f64().unwrap_or(f64::NAN)),
                Some(Value::Null) => Verdict::Missing(format!(
                    "`{}` has no value in this run (nothing was measured)",
                    self.path.join(".")
                )),
                Some(_) => Verdict::Missing(format!(
                    "`{}` is not a number; name one figure inside it",
                    self.path.join(".")
                )),
                None => Verdict::Missing(format!("the report has no `{}`", self.path.join("."))),
            },
            Over::Series {
                aggregate,
                from,
                to,
                instant,
            } => self.judge_series(report, aggregate, from, to, instant),
        }
    }

    fn judge_series(
        &self,
        report: &Value,
        aggregate: Aggregate,
        from: SimTime,
        to: Option<SimTime>,
        instant: bool,
    ) -> Verdict {
        let series = report.get("series");
        let path = if self.path[0] == "series" {
            &self.path[1..]
        } else {
            &self.path[..]
        };
        let Some(Value::Array(values)) = series.and_then(|s| lookup(s, path)) else {
            return Verdict::Missing(format!(
                "the report has no series `series.{}`",
                path.join(".")
            ));
        };
        let starts = series
            .and_then(|s| s.get("t_s"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let bucket = series
            .and_then(|s| s.get("bucket_s"))
            .and_then(Value::as_f64)
            .unwrap_or(1.0);
        let (from_s, to_s) = (from.as_secs_f64(), to.map(SimTime::as_secs_f64));
        let inside = |start: f64| {
            if instant {
                start <= from_s && from_s < start + bucket
            } else {
                start + 1e-9 >= from_s && to_s.is_none_or(|t| start < t)
            }
        };
        let picked: Vec<f64> = values
            .iter()
            .zip(&starts)
            .filter(|(_, t)| t.as_f64().is_some_and(inside))
            .filter_map(|(v, _)| v.as_f64())
            .collect();
        if picked.is_empty() {
            return Verdict::Missing(format!("`{}` has no value in the window", path.join(".")));
        }
        match aggregate {
            Aggregate::Every => {
                let worst = picked
                    .iter()
                    .copied()
                    .find(|&v| !self.op.holds(v, self.bound));
                match worst {
                    Some(v) => Verdict::Fails { seen: v },
                    None => Verdict::Holds {
                        seen: match self.op {
                            Op::Less | Op::LessEq => {
                                picked.iter().copied().fold(f64::MIN, f64::max)
                            }
                            _ => picked.iter().copied().fold(f64::MAX, f64::min),
                        },
                    },
                }
            }
            Aggregate::Max => self.verdict(picked.iter().copied().fold(f64::MIN, f64::max)),
            Aggregate::Min => self.verdict(picked.iter().copied().fold(f64::MAX, f64::min)),
            #[expect(clippy::cast_precision_loss, reason = "a count of buckets")]
            Aggregate::Mean => self.verdict(picked.iter().sum::<f64>() / picked.len() as f64),
        }
    }

    fn verdict(&self, seen: f64) -> Verdict {
        if self.op.holds(seen, self.bound) {
            Verdict::Holds { seen }
        } else {
            Verdict::Fails { seen }
        }
    }
}

fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.join("."))?;
        if let Over::Series { aggregate, .. } = self.over
            && let Some((name, _)) = AGGREGATES.iter().find(|(_, a)| *a == aggregate)
        {
            write!(f, " {name}")?;
        }
        write!(f, " {} {}", self.op.text(), self.bound)?;
        match self.over {
            Over::Series {
                from,
                instant: true,
                ..
            } => write!(f, " at {from}"),
            Over::Series {
                from, to: Some(to), ..
            } => write!(f, " during {from}..{to}"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Value {
        json!({
            "totals": { "failed": 12 },
            "components": { "db": { "utilization": 0.97, "response_s": { "p99": null } } },
            "series": {
                "bucket_s": 10.0,
                "t_s": [0.0, 10.0, 20.0, 30.0],
                "components": { "db": { "queue_mean": [1.0, 5.0, 50.0, null] } }
            }
        })
    }

    fn judge(text: &str) -> Verdict {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).judge(
            &report(),
            SimTime::from_secs(40),
            SimTime::from_secs(40),
        )
    }

    #[test]
    fn figures_at_the_end_and_over_windows() {
        assert!(judge("components.db.utilization > 95%").holds());
        assert!(!judge("components.db.utilization < 0.9").holds());
        assert!(judge("totals.failed == 12").holds());
        assert!(judge("components.db.queue_mean max > 40 during 0s..40s").holds());
        assert!(!judge("components.db.queue_mean > 2 during 0s..40s").holds());
        assert!(judge("components.db.queue_mean > 2 during 10s..40s").holds());
        assert!(judge("components.db.queue_mean mean < 20").holds());
        assert!(judge("components.db.queue_mean at 25s > 49").holds());
        assert!(judge("components.db.queue_mean == 5 at 10s").holds());
        assert!(judge("series.components.db.queue_mean min >= 1").holds());
    }

    #[test]
    fn what_the_report_lacks_is_said_not_guessed() {
        assert!(matches!(
            judge("components.db.response_s.p99 < 1s"),
            Verdict::Missing(_)
        ));
        assert!(matches!(
            judge("components.cache.utilization < 1"),
            Verdict::Missing(_)
        ));
        assert!(matches!(
            judge("components.db.queue_mean > 0 during 30s..40s"),
            Verdict::Missing(_)
        ));
        let early = parse("components.db.queue_mean max > 40 during 0s..40s").unwrap();
        assert_eq!(
            early.judge(&report(), SimTime::from_secs(20), SimTime::from_secs(60)),
            Verdict::NotYet
        );
    }

    #[test]
    fn malformed_checks_are_refused_with_why() {
        for bad in [
            "components.db.utilization",
            "components.db.utilization > ",
            "component.db.utilization > 1",
            "components..db > 1",
            "components.db.queue_mean > 1 during 3m..1m",
            "components.db.queue_mean > 1 during 3m",
            "components.db utilization > 1",
            "components.db.utilization > lots",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
