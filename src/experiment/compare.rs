//! Baseline against scenario on common random numbers.
//!
//! Replication i of the baseline and replication i of the scenario run with the same seed,
//! and every component, workload and link draws from its own stream seeded by (seed, name):
//! whatever the scenario leaves alone sees the same random numbers in both runs. The
//! difference of a figure is therefore measured pair by pair, and its confidence interval is
//! the paired t interval over the replications, far narrower than that of two independent
//! samples. A scenario that changes nothing gives a difference of exactly 0.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::figures::FlowFigures;
use super::stats::Summary;
use super::{replication_seeds, run_jobs};
use crate::model::{Model, Scenario};
use crate::sim::{RunOptions, SimError};

/// The figures compared, by their report names.
pub const FIGURES: [&str; 6] = [
    "availability",
    "p50_s",
    "p99_s",
    "mean_s",
    "throughput_per_s",
    "failed",
];

/// One figure of one flow: both means, and the paired difference (scenario − baseline).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Paired {
    /// Replications where both runs had a value (a latency needs an answered request).
    pub n: usize,
    pub baseline: Option<f64>,
    pub scenario: Option<f64>,
    /// Mean of the paired differences.
    pub difference: Option<f64>,
    /// Half-width of the 95% confidence interval of `difference` (paired t); `None` with
    /// fewer than two pairs.
    pub half_width: Option<f64>,
    /// The interval excludes 0.
    pub significant: bool,
}

impl Paired {
    #[must_use]
    pub fn of(pairs: &[(Option<f64>, Option<f64>)]) -> Self {
        let mean = |v: Vec<f64>| (!v.is_empty()).then(|| Summary::of(&v).mean);
        let baseline = mean(pairs.iter().filter_map(|p| p.0).collect());
        let scenario = mean(pairs.iter().filter_map(|p| p.1).collect());
        let diffs: Vec<f64> = pairs
            .iter()
            .filter_map(|(b, s)| Some((*s)? - (*b)?))
            .collect();
        let n = diffs.len();
        let summary = Summary::of(&diffs);
        let difference = (n > 0).then_some(summary.mean);
        let half_width = (n > 1).then_some(summary.half_width_95);
        let significant = match (difference, half_width) {
            (Some(d), Some(h)) => d.abs() > h,
            _ => false,
        };
        Paired {
            n,
            baseline,
            scenario,
            difference,
            half_width,
            significant,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub model: Option<String>,
    pub scenario: String,
    pub replications: usize,
    pub seeds: Vec<u64>,
    pub confidence: f64,
    /// Per flow (request type a workload sends), per figure.
    pub flows: BTreeMap<String, BTreeMap<String, Paired>>,
}

/// Runs the baseline and the scenario `replications` times each on the same seeds (in
/// parallel) and compares every key figure of every flow.
///
/// # Errors
/// When the engine breaks an invariant (a bug).
pub fn compare(
    model: &Arc<Model>,
    scenario: &Scenario,
    options: RunOptions,
    replications: u32,
) -> Result<Comparison, SimError> {
    let seeds = replication_seeds(options.seed.unwrap_or(model.seed), replications.max(1));
    let variant = Arc::new(model.with_scenario(scenario));
    let jobs: Vec<(Arc<Model>, RunOptions)> = seeds
        .iter()
        .flat_map(|&seed| {
            let o = RunOptions {
                seed: Some(seed),
                ..options
            };
            [(Arc::clone(model), o), (Arc::clone(&variant), o)]
        })
        .collect();
    let reports = run_jobs(&jobs, true)?;
    let mut flows = BTreeMap::new();
    for flow in model.flows() {
        let name = model.request_type_name(flow);
        let pairs: Vec<(FlowFigures, FlowFigures)> = reports
            .chunks(2)
            .map(|p| (FlowFigures::of(&p[0], name), FlowFigures::of(&p[1], name)))
            .collect();
        let figures = FIGURES
            .iter()
            .map(|&f| {
                let values: Vec<_> = pairs.iter().map(|(b, s)| (b.get(f), s.get(f))).collect();
                (f.to_string(), Paired::of(&values))
            })
            .collect();
        flows.insert(name.to_string(), figures);
    }
    Ok(Comparison {
        model: model.name.clone(),
        scenario: scenario.name.clone(),
        replications: seeds.len(),
        seeds,
        confidence: 0.95,
        flows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_difference_and_its_interval() {
        let p = Paired::of(&[
            (Some(1.0), Some(2.0)),
            (Some(2.0), Some(4.0)),
            (Some(3.0), Some(6.0)),
        ]);
        assert_eq!(p.n, 3);
        assert_eq!(
            (p.baseline, p.scenario, p.difference),
            (Some(2.0), Some(4.0), Some(2.0))
        );
        // Differences 1, 2, 3: standard deviation 1, t(0.975, 2) = 4.303.
        let h = p.half_width.expect("an interval");
        assert!((h - 4.303 / 3.0_f64.sqrt()).abs() < 1e-12, "{h}");
        assert!(!p.significant, "2 ± 2.48 contains 0");

        let p = Paired::of(&[
            (Some(1.0), Some(1.5)),
            (Some(2.0), Some(2.5)),
            (None, Some(9.0)),
        ]);
        assert_eq!(p.n, 2, "a pair with a missing value is left out");
        assert_eq!(p.difference, Some(0.5));
        assert_eq!(p.half_width, Some(0.0));
        assert!(p.significant, "a constant difference is significant");

        let one = Paired::of(&[(Some(1.0), Some(3.0))]);
        assert_eq!(
            (one.difference, one.half_width, one.significant),
            (Some(2.0), None, false)
        );
        let none = Paired::of(&[(None, Some(3.0))]);
        assert_eq!((none.n, none.difference), (0, None));
    }
}
