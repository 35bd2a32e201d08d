//! Experiments: one run, or many runs whose results are combined with confidence intervals.
//!
//! Owns how runs are set up, repeated and summed up. Parallelism lives here and only here:
//! each run is one thread, runs go across cores with rayon, and results are collected by
//! index so that their order never depends on scheduling. Must never: know about a GUI or a
//! terminal.

pub mod chart;
pub mod compare;
pub mod diagram;
pub mod figures;
pub mod fuzz;
pub mod jobs;
pub mod matrix;
pub mod review;
pub mod slo;
pub mod stats;
pub mod sweep;

use std::sync::Arc;

use rayon::prelude::*;
use serde_json::{Map, Value, json};

use self::figures::RunFigures;
use crate::model::{Fault, Model};
use crate::observe::Report;
use crate::observe::trace::{Trace, TraceOptions};
use crate::sim::{RunOptions, SimError, Simulation};

/// Runs the model once. The report holds only simulated figures, so equal runs give equal
/// reports; how long a run took is the caller's to measure.
///
/// # Errors
/// When the engine breaks an invariant (a bug).
pub fn run_once(model: &Arc<Model>, options: RunOptions) -> Result<Report, SimError> {
    Simulation::new(Arc::clone(model), options).run()
}

/// A run traced: its report, the requests it kept traces of, and the faults it applied
/// (those of the model and any injected), for the review's slowest and failed requests.
pub struct Traced {
    pub report: Report,
    pub traces: Vec<Arc<Trace>>,
    pub faults: Vec<Fault>,
}

/// Runs the model once with request traces on; the report is the one `run_once` gives.
///
/// # Errors
/// When the engine breaks an invariant (a bug).
pub fn run_traced(model: &Arc<Model>, options: RunOptions) -> Result<Traced, SimError> {
    let mut sim = Simulation::new(Arc::clone(model), options);
    sim.record_traces(TraceOptions::default());
    sim.run_until(sim.end());
    let traces = sim.traces();
    let faults = sim.faults().to_vec();
    Ok(Traced {
        report: sim.finish()?,
        traces,
        faults,
    })
}

/// The seeds of `n` replications: the base seed and the ones after it.
#[must_use]
pub fn replication_seeds(base: u64, n: u32) -> Vec<u64> {
    (0..u64::from(n)).map(|i| base.wrapping_add(i)).collect()
}

/// Runs `n` replications with consecutive seeds, in parallel, in seed order.
///
/// # Errors
/// The first invariant broken, in seed order.
pub fn run_replications(
    model: &Arc<Model>,
    options: RunOptions,
    n: u32,
) -> Result<Vec<Report>, SimError> {
    let base = options.seed.unwrap_or(model.seed);
    replication_seeds(base, n)
        .into_par_iter()
        .map(|seed| {
            run_once(
                model,
                RunOptions {
                    seed: Some(seed),
                    ..options
                },
            )
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// Runs independent jobs (a model and its options each), across cores or one after
/// another, and returns their reports in the order of the jobs either way.
///
/// # Errors
/// The first invariant broken, in job order.
pub fn run_jobs(
    jobs: &[(Arc<Model>, RunOptions)],
    parallel: bool,
) -> Result<Vec<Report>, SimError> {
    let results: Vec<Result<Report, SimError>> = if parallel {
        jobs.par_iter()
            .map(|(m, options)| run_once(m, *options))
            .collect()
    } else {
        jobs.iter()
            .map(|(m, options)| run_once(m, *options))
            .collect()
    };
    results.into_iter().collect()
}

/// Runs independent jobs like [`run_jobs`] and keeps only the figures of each run, so that
/// a study of thousands of runs never holds their whole reports. `done` is called once
/// after each run, from whichever thread ran it: a progress bar's tick.
///
/// # Errors
/// The first invariant broken, in job order.
pub fn run_jobs_figures(
    jobs: &[(Arc<Model>, RunOptions)],
    parallel: bool,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<RunFigures>, SimError> {
    let one = |(m, options): &(Arc<Model>, RunOptions)| {
        let figures = run_once(m, *options).map(|r| RunFigures::of(&r));
        done();
        figures
    };
    let results: Vec<Result<RunFigures, SimError>> = if parallel {
        jobs.par_iter().map(one).collect()
    } else {
        jobs.iter().map(one).collect()
    };
    results.into_iter().collect()
}

/// Lists of things that happened (a fault, a recovery, a failover) differ from one seed to
/// the next in number and in meaning: the third event of one run need not be the third of
/// another, so they are never averaged. The combined report keeps every replication's
/// entries, each labelled with its seed.
const HAPPENINGS: [&str; 3] = ["events", "recoveries", "failovers"];

/// Combines reports of replications: every number becomes `{ mean, half_width }`, the
/// half-width of its 95% confidence interval (Student's t over the replications).
///
/// A key that some reports lack (a cause of failure that did not occur, the count of events
/// not kept when none was dropped) counts 0 in those, so that figures which add up in each
/// report (causes to failures, request types to the total, bucket by bucket) add up in the
/// means too. Events, recoveries and failovers are kept per seed, as [`HAPPENINGS`] says.
#[must_use]
pub fn combine(reports: &[Report]) -> Value {
    let seeds: Vec<u64> = reports.iter().map(|r| r.seed).collect();
    let values: Vec<Value> = reports
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
        .collect();
    let mut combined = combine_values(&values.iter().collect::<Vec<_>>(), &seeds);
    if let Value::Object(m) = &mut combined {
        m.insert("replications".into(), json!(reports.len()));
        m.insert("seeds".into(), json!(seeds));
        m.insert("confidence".into(), json!(0.95));
        m.remove("seed");
    }
    combined
}

/// The value a report that lacks a key stands for: zero for every number in its shape.
fn zero_like(v: &Value) -> Value {
    match v {
        Value::Number(_) => json!(0),
        Value::Array(items) => Value::Array(items.iter().map(zero_like).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), zero_like(v))).collect())
        }
        other => other.clone(),
    }
}

/// The entries of one list of happenings from every replication, each with its seed first.
fn labelled_by_seed(values: &[&Value], seeds: &[u64]) -> Value {
    let mut out = Vec::new();
    for (v, seed) in values.iter().zip(seeds) {
        for entry in v.as_array().into_iter().flatten() {
            let mut labelled = Map::new();
            labelled.insert("seed".into(), json!(seed));
            match entry {
                Value::Object(m) => labelled.extend(m.clone()),
                other => {
                    labelled.insert("value".into(), other.clone());
                }
            }
            out.push(Value::Object(labelled));
        }
    }
    Value::Array(out)
}

/// Combines the same place in every replication's report. `values` holds one value per
/// replication, in the order of `seeds`.
fn combine_values(values: &[&Value], seeds: &[u64]) -> Value {
    let Some(first) = values.first() else {
        return Value::Null;
    };
    match first {
        Value::Object(_) => {
            let mut keys: Vec<&String> = values
                .iter()
                .filter_map(|v| v.as_object())
                .flat_map(Map::keys)
                .collect();
            keys.sort_unstable();
            keys.dedup();
            let mut out = Map::new();
            for key in keys {
                let combined = if HAPPENINGS.contains(&key.as_str()) {
                    let lists: Vec<&Value> = values.iter().map(|v| &v[key]).collect();
                    labelled_by_seed(&lists, seeds)
                } else {
                    let Some(present) = values.iter().find_map(|v| v.get(key)) else {
                        continue;
                    };
                    let zero = zero_like(present);
                    let children: Vec<&Value> =
                        values.iter().map(|v| v.get(key).unwrap_or(&zero)).collect();
                    combine_values(&children, seeds)
                };
                out.insert(key.clone(), combined);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let out = (0..items.len())
                .map(|i| {
                    let children: Vec<&Value> = values.iter().filter_map(|v| v.get(i)).collect();
                    combine_values(&children, seeds)
                })
                .collect();
            Value::Array(out)
        }
        Value::Number(_) | Value::Null => {
            let numbers: Vec<f64> = values.iter().filter_map(|v| v.as_f64()).collect();
            if numbers.is_empty() {
                return Value::Null;
            }
            let s = stats::Summary::of(&numbers);
            let mut out = json!({ "mean": s.mean, "half_width": s.half_width_95 });
            if numbers.len() < values.len() {
                // Some replications had no value (no successful request, say): say how many did.
                out["n"] = json!(numbers.len());
            }
            out
        }
        other => (*other).clone(),
    }
}
