//! The key figures of one user flow (request type) in one run, as experiments compare them,
//! and the figures of a whole run that matrices and sweeps are built from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::observe::Report;

/// What users of one flow saw in one run, over the measured window (requests that started
/// after the warm-up).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlowFigures {
    /// Answered (in full or degraded) over ended; `None` when none ended. Requests still in
    /// flight at the end are left out: give the workload a `timeout` so that requests that
    /// hang (a partition, a black hole) end and count.
    pub availability: Option<f64>,
    pub mean_s: Option<f64>,
    pub p50_s: Option<f64>,
    pub p90_s: Option<f64>,
    pub p99_s: Option<f64>,
    pub p999_s: Option<f64>,
    pub throughput_per_s: f64,
    pub failed: u64,
    pub in_flight: u64,
}

impl FlowFigures {
    /// A flow that nothing was measured for.
    pub const EMPTY: FlowFigures = FlowFigures {
        availability: None,
        mean_s: None,
        p50_s: None,
        p90_s: None,
        p99_s: None,
        p999_s: None,
        throughput_per_s: 0.0,
        failed: 0,
        in_flight: 0,
    };

    /// The names [`FlowFigures::get`] knows.
    pub const NAMES: [&'static str; 8] = [
        "availability",
        "mean_s",
        "p50_s",
        "p90_s",
        "p99_s",
        "p999_s",
        "throughput_per_s",
        "failed",
    ];

    /// The figures of `flow` in `report`; a flow the report does not know reads as empty.
    #[must_use]
    pub fn of(report: &Report, flow: &str) -> Self {
        let Some(r) = report.requests.get(flow) else {
            return Self::EMPTY;
        };
        let answered = r.ok + r.ok_degraded;
        let ended = answered + r.failed;
        FlowFigures {
            availability: (ended > 0).then(|| answered as f64 / ended as f64),
            mean_s: r.latency_s.mean,
            p50_s: r.latency_s.p50,
            p90_s: r.latency_s.p90,
            p99_s: r.latency_s.p99,
            p999_s: r.latency_s.p999,
            throughput_per_s: r.throughput_per_s,
            failed: r.failed,
            in_flight: r.in_flight,
        }
    }

    /// A figure by its name in reports (`availability`, `p99_s`, `failed`, ...).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "availability" => self.availability,
            "mean_s" => self.mean_s,
            "p50_s" => self.p50_s,
            "p90_s" => self.p90_s,
            "p99_s" => self.p99_s,
            "p999_s" => self.p999_s,
            "throughput_per_s" => Some(self.throughput_per_s),
            "failed" => Some(self.failed as f64),
            _ => None,
        }
    }
}

/// The mean of a figure over replications, over those that have a value.
#[must_use]
pub fn mean_of(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .flatten()
        .fold((0.0, 0_u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// What a component did in one run, as sweeps plot it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ComponentFigures {
    pub utilization: Option<f64>,
    pub queue_mean: Option<f64>,
    pub response_mean_s: Option<f64>,
    pub response_p99_s: Option<f64>,
    pub rejected: u64,
}

impl ComponentFigures {
    /// The names [`ComponentFigures::get`] knows.
    pub const NAMES: [&'static str; 5] = [
        "utilization",
        "queue_mean",
        "response_mean_s",
        "response_p99_s",
        "rejected",
    ];

    #[must_use]
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "utilization" => self.utilization,
            "queue_mean" => self.queue_mean,
            "response_mean_s" => self.response_mean_s,
            "response_p99_s" => self.response_p99_s,
            "rejected" => Some(self.rejected as f64),
            _ => None,
        }
    }
}

/// The figures of one run that matrices, sweeps and SLO verdicts read: small enough to keep
/// one per run of a large study, and serialisable, so that a run done elsewhere (a job)
/// counts exactly as one done here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFigures {
    pub seed: u64,
    pub flows: BTreeMap<String, FlowFigures>,
    pub components: BTreeMap<String, ComponentFigures>,
}

impl RunFigures {
    #[must_use]
    pub fn of(report: &Report) -> Self {
        RunFigures {
            seed: report.seed,
            flows: report
                .requests
                .keys()
                .map(|flow| (flow.clone(), FlowFigures::of(report, flow)))
                .collect(),
            components: report
                .components
                .iter()
                .map(|(name, c)| {
                    (
                        name.clone(),
                        ComponentFigures {
                            utilization: c.utilization,
                            queue_mean: c.queue_mean,
                            response_mean_s: c.response_s.mean,
                            response_p99_s: c.response_s.p99,
                            rejected: c.rejected,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The figures of `flow`; a flow the run does not know reads as empty.
    #[must_use]
    pub fn flow(&self, flow: &str) -> FlowFigures {
        self.flows.get(flow).copied().unwrap_or(FlowFigures::EMPTY)
    }
}
