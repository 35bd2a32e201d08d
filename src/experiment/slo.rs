//! SLO checks: every service level objective of a model, under the baseline and under each
//! scenario the model declares ("prove your load SLA").
//!
//! A bound is judged on the mean of its figure over the replications (one run by default),
//! measured over the window after the warm-up. A figure that has no value cannot show that
//! a bound holds: a latency bound on a flow that answered nothing is broken, and so is an
//! availability bound on a flow where nothing ended.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;

use super::figures::{FlowFigures, RunFigures, mean_of};
use super::{replication_seeds, run_jobs};
use crate::model::{LatencyFigure, Model, Slo, SloScope};
use crate::observe::Report;
use crate::sim::{RunOptions, SimError};

/// The name under which the model as written is reported.
pub const BASELINE: &str = "baseline";

/// One bound of one SLO under one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// `baseline` or the scenario's name.
    pub under: String,
    pub request: String,
    /// `availability`, `mean`, `p50`, `p90`, `p99` or `p999`.
    pub figure: String,
    /// Availability as a fraction, latencies in seconds.
    pub bound: f64,
    pub measured: Option<f64>,
    pub holds: bool,
    /// Where the SLO is written, `line:col`.
    pub at: String,
}

impl Verdict {
    /// `browse p99 ≤ 200ms` or `browse availability ≥ 99.9%`.
    #[must_use]
    pub fn objective(&self) -> String {
        if self.figure == "availability" {
            format!("{} availability ≥ {}", self.request, percent(self.bound))
        } else {
            format!("{} {} ≤ {}", self.request, self.figure, millis(self.bound))
        }
    }

    #[must_use]
    pub fn measured_text(&self) -> String {
        match self.measured {
            None => "nothing measured".to_string(),
            Some(v) if self.figure == "availability" => percent(v),
            Some(v) => millis(v),
        }
    }
}

fn percent(f: f64) -> String {
    format!("{}%", trim(f * 100.0, 4))
}

fn millis(s: f64) -> String {
    format!("{}ms", trim(s * 1e3, 3))
}

fn trim(v: f64, decimals: usize) -> String {
    let t = format!("{v:.decimals$}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    t.to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutcome {
    pub model: Option<String>,
    pub replications: usize,
    pub seeds: Vec<u64>,
    /// The baseline's first, then each scenario's; within one, in the order of the SLOs.
    pub verdicts: Vec<Verdict>,
}

impl CheckOutcome {
    #[must_use]
    pub fn holds(&self) -> bool {
        self.verdicts.iter().all(|v| v.holds)
    }

    #[must_use]
    pub fn breaches(&self) -> Vec<&Verdict> {
        self.verdicts.iter().filter(|v| !v.holds).collect()
    }

    /// A `JUnit` XML report: one test suite per scenario (the baseline first), one test case
    /// per bound, a `failure` for each breach.
    #[must_use]
    pub fn junit(&self, model_file: &str) -> String {
        let mut unders: Vec<&str> = Vec::new();
        for v in &self.verdicts {
            if !unders.contains(&v.under.as_str()) {
                unders.push(&v.under);
            }
        }
        let failures = self.breaches().len();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"archsim check {}\" tests=\"{}\" failures=\"{failures}\">",
            xml(model_file),
            self.verdicts.len()
        );
        for under in unders {
            let cases: Vec<&Verdict> = self.verdicts.iter().filter(|v| v.under == under).collect();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
                xml(under),
                cases.len(),
                cases.iter().filter(|v| !v.holds).count()
            );
            for v in cases {
                let name = format!("{} (line {})", v.objective(), v.at);
                let classname = format!("{}.{}", xml(model_file), xml(under));
                if v.holds {
                    let _ = writeln!(
                        out,
                        "    <testcase classname=\"{classname}\" name=\"{}\"/>",
                        xml(&name)
                    );
                } else {
                    let message = format!("measured {}", v.measured_text());
                    let _ = writeln!(
                        out,
                        "    <testcase classname=\"{classname}\" name=\"{}\">\n      <failure message=\"{}\">{} under {}: {}</failure>\n    </testcase>",
                        xml(&name),
                        xml(&message),
                        xml(&v.objective()),
                        xml(under),
                        xml(&message)
                    );
                }
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Where figures were measured, for choosing the SLO bounds that apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Under {
    /// The model as written.
    Baseline,
    /// The declared scenario with this index.
    Scenario(usize),
    /// An ad hoc failure (a row of the resiliency matrix): only SLOs without a scope.
    Failure,
}

/// One bound of an SLO: availability, or a latency figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Availability(f64),
    Latency(LatencyFigure, f64),
}

impl Bound {
    fn figure(self) -> &'static str {
        match self {
            Bound::Availability(_) => "availability",
            Bound::Latency(f, _) => f.key(),
        }
    }
}

/// How specifically an SLO's scope names `under`; `None` when it does not apply there.
fn specificity(scope: &SloScope, under: Under) -> Option<u8> {
    match (scope, under) {
        (SloScope::Everywhere, _) => Some(0),
        (SloScope::Baseline, Under::Baseline) => Some(1),
        (SloScope::Scenario(i), Under::Scenario(j)) if *i == j => Some(1),
        _ => None,
    }
}

/// The bounds that apply under `under`, in the order of the SLOs. A bound written for a
/// scenario (or for `baseline`) replaces, there, the general bound on the same figure of
/// the same request: "99.9% always, but 95% while the database fails over".
#[must_use]
pub fn bounds(model: &Model, under: Under) -> Vec<(&Slo, Bound)> {
    let mut all: Vec<(&Slo, Bound, u8)> = Vec::new();
    for slo in &model.slos {
        let Some(level) = specificity(&slo.scope, under) else {
            continue;
        };
        if let Some(a) = slo.availability {
            all.push((slo, Bound::Availability(a), level));
        }
        for (f, t) in &slo.latency {
            all.push((slo, Bound::Latency(*f, t.as_secs_f64()), level));
        }
    }
    all.iter()
        .filter(|(slo, bound, level)| {
            !all.iter().any(|(other, b, l)| {
                other.request == slo.request && b.figure() == bound.figure() && l > level
            })
        })
        .map(|(slo, bound, _)| (*slo, *bound))
        .collect()
}

/// The verdicts of bounds on the reports of one scenario's replications.
#[must_use]
pub fn judge(
    model: &Model,
    bounds: &[(&Slo, Bound)],
    under: &str,
    reports: &[Report],
) -> Vec<Verdict> {
    let runs: Vec<RunFigures> = reports.iter().map(RunFigures::of).collect();
    judge_runs(model, bounds, under, &runs)
}

/// [`judge`] on the figures of the runs rather than their whole reports.
#[must_use]
pub fn judge_runs(
    model: &Model,
    bounds: &[(&Slo, Bound)],
    under: &str,
    runs: &[RunFigures],
) -> Vec<Verdict> {
    bounds
        .iter()
        .map(|(slo, bound)| {
            let request = model.request_type_name(slo.request).to_string();
            let figures: Vec<FlowFigures> = runs.iter().map(|r| r.flow(&request)).collect();
            let (limit, measured, at_least) = match bound {
                Bound::Availability(a) => {
                    (*a, mean_of(figures.iter().map(|f| f.availability)), true)
                }
                Bound::Latency(figure, limit) => (
                    *limit,
                    mean_of(figures.iter().map(|f| match figure {
                        LatencyFigure::Mean => f.mean_s,
                        LatencyFigure::P50 => f.p50_s,
                        LatencyFigure::P90 => f.p90_s,
                        LatencyFigure::P99 => f.p99_s,
                        LatencyFigure::P999 => f.p999_s,
                    })),
                    false,
                ),
            };
            Verdict {
                under: under.to_string(),
                request,
                figure: bound.figure().to_string(),
                bound: limit,
                measured,
                holds: measured.is_some_and(|m| if at_least { m >= limit } else { m <= limit }),
                at: format!("{}:{}", slo.span.line, slo.span.col),
            }
        })
        .collect()
}

/// Runs the baseline and every declared scenario, `replications` times each on the same
/// seeds, across cores, and judges every SLO where it applies.
///
/// # Errors
/// When the engine breaks an invariant (a bug).
pub fn check(
    model: &Arc<Model>,
    options: RunOptions,
    replications: u32,
) -> Result<CheckOutcome, SimError> {
    let seeds = replication_seeds(options.seed.unwrap_or(model.seed), replications.max(1));
    let mut variants: Vec<(String, Under, Arc<Model>)> =
        vec![(BASELINE.to_string(), Under::Baseline, Arc::clone(model))];
    for (i, s) in model.scenarios.iter().enumerate() {
        if !bounds(model, Under::Scenario(i)).is_empty() {
            variants.push((
                s.name.clone(),
                Under::Scenario(i),
                Arc::new(model.with_scenario(s)),
            ));
        }
    }
    let jobs: Vec<(Arc<Model>, RunOptions)> = variants
        .iter()
        .flat_map(|(_, _, m)| {
            seeds.iter().map(|&seed| {
                (
                    Arc::clone(m),
                    RunOptions {
                        seed: Some(seed),
                        ..options
                    },
                )
            })
        })
        .collect();
    let reports = run_jobs(&jobs, true)?;
    let mut verdicts = Vec::new();
    for (k, (name, under, _)) in variants.iter().enumerate() {
        let runs = &reports[k * seeds.len()..(k + 1) * seeds.len()];
        verdicts.extend(judge(model, &bounds(model, *under), name, runs));
    }
    Ok(CheckOutcome {
        model: model.name.clone(),
        replications: seeds.len(),
        seeds,
        verdicts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scoped_bound_replaces_the_general_one_on_the_same_figure_only() {
        let (m, _) = crate::model::parse(
            "m.yaml",
            "
workloads:
  - { name: users, target: app, rate: 10/s, mix: { a: 0.5, b: 0.5 } }
components:
  app: { kind: service, handlers: { \"*\": { work: 1ms } } }
scenarios:
  down: {}
  other: {}
slos:
  - { request: a, p99: 100ms, availability: 99.9% }
  - { request: a, availability: 90%, scenario: down }
  - { request: b, mean: 10ms, scenario: baseline }
",
        )
        .expect("valid");
        let list = |under| -> Vec<String> {
            bounds(&m, under)
                .iter()
                .map(|(slo, b)| {
                    let request = m.request_type_name(slo.request);
                    match b {
                        Bound::Availability(a) => format!("{request} availability {a:.3}"),
                        Bound::Latency(f, t) => format!("{request} {} {t}", f.key()),
                    }
                })
                .collect()
        };
        assert_eq!(
            list(Under::Baseline),
            ["a availability 0.999", "a p99 0.1", "b mean 0.01"]
        );
        assert_eq!(
            list(Under::Scenario(0)),
            ["a p99 0.1", "a availability 0.900"]
        );
        assert_eq!(
            list(Under::Scenario(1)),
            ["a availability 0.999", "a p99 0.1"]
        );
        assert_eq!(list(Under::Failure), list(Under::Scenario(1)));
    }
}
