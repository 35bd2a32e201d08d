//! How much a run would have to simulate, estimated from the model before it starts: a
//! century at a request a second, or a health check every millisecond for a year, is a
//! run that cannot finish, and saying so up front beats a run that never ends.
//!
//! The estimate counts what repeats on its own — open-loop arrivals (each costing a few
//! events on its way through), health-check probes, flapping faults — over the run's
//! duration. It is a floor: calls, retries and answers add to it, so a model it passes can
//! still be slow, but one it refuses would not finish.

use super::{Arrivals, ComponentKind, Diagnostic, Model, Severity, Span};
use crate::shared::time::SimTime;

/// Events a run is warned about: at a few million events a second, minutes of computing.
pub const WARN_EVENTS: f64 = 1e9;
/// Events a run is refused at: weeks of computing, never what a model means.
pub const MAX_EVENTS: f64 = 1e13;
/// The engine's speed used for the time a run would take, in events a second: the order of
/// magnitude measured on the reference models (docs/PERFORMANCE.md).
const EVENTS_PER_SECOND: f64 = 5e6;
/// Events each arrival costs at the least: the arrival, its delivery, the end of its work
/// and its answer.
const EVENTS_PER_ARRIVAL: f64 = 4.0;

/// The fewest events the run of `model` needs over its `duration`, as the estimate of
/// [`effort_warnings`] counts them.
#[must_use]
pub fn estimated_events(model: &Model) -> f64 {
    parts(model).iter().map(|p| p.0).sum()
}

/// A warning or an error when the run would need more events than can be simulated,
/// placed at what contributes most to them.
#[must_use]
pub fn effort_warnings(model: &Model) -> Vec<Diagnostic> {
    let parts = parts(model);
    let total: f64 = parts.iter().map(|p| p.0).sum();
    if total <= WARN_EVENTS {
        return Vec::new();
    }
    let Some((_, span, what)) = parts.iter().max_by(|a, b| a.0.total_cmp(&b.0)) else {
        return Vec::new();
    };
    let severity = if total > MAX_EVENTS {
        Severity::Error
    } else {
        Severity::Warning
    };
    vec![Diagnostic {
        severity,
        span: *span,
        message: format!(
            "this run would simulate at least {total:.1e} events over its {} — about {} of \
             computing — mostly from {what}",
            model.duration,
            wall_time(total / EVENTS_PER_SECOND)
        ),
        hint: Some(format!(
            "shorten `duration`, lower the rate or lengthen the period; runs above {MAX_EVENTS:.0e} \
             events are refused, above {WARN_EVENTS:.0e} warned about"
        )),
    }]
}

/// What the run's events come from: each with its count, where it is written and a name.
fn parts(model: &Model) -> Vec<(f64, Span, String)> {
    let duration_s = model.duration.as_secs_f64();
    let mut parts: Vec<(f64, Span, String)> = Vec::new();
    for w in &model.workloads {
        if let Arrivals::Open { steps } = &w.arrivals {
            let peak = steps.iter().map(|&(_, r)| r).fold(0.0, f64::max);
            parts.push((
                peak * duration_s * EVENTS_PER_ARRIVAL,
                w.span,
                format!("workload `{}` at up to {peak}/s", w.name),
            ));
        }
    }
    for c in &model.components {
        if let ComponentKind::LoadBalancer(lb) = &c.kind
            && let Some(h) = &lb.health_check
        {
            let probes = duration_s / h.interval.as_secs_f64() * lb.backends.len() as f64;
            parts.push((
                2.0 * probes,
                c.span,
                format!("`{}` probing its backends every {}", c.name, h.interval),
            ));
        }
    }
    for f in &model.faults {
        if let Some(flap) = &f.flap {
            let window = f.duration.map_or(duration_s, SimTime::as_secs_f64);
            let cycle = (flap.down + flap.up).as_secs_f64();
            parts.push((
                2.0 * window / cycle,
                f.span,
                format!("a fault flapping every {}", flap.down + flap.up),
            ));
        }
    }
    parts
}

/// Seconds of computing in the unit that reads best.
fn wall_time(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} seconds")
    } else if s < 7200.0 {
        format!("{:.0} minutes", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.0} hours", s / 3600.0)
    } else if s < 3.0e7 {
        format!("{:.0} days", s / 86_400.0)
    } else {
        format!("{:.0} years", s / 3.156e7)
    }
}
