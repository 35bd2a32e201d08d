//! The resiliency matrix: one run per single-component failure.
//!
//! Rows are the failed components, columns the user flows (request types a workload
//! sends), and each cell says what the flow's users saw while that component was failed:
//! availability and p99 latency. The failure starts at time 0 and lasts the whole run, so
//! the measured window (after the warm-up) shows the architecture living with the failure;
//! the warm-up absorbs the moment of detection (health checks ejecting a dead replica,
//! breakers opening). Each run keeps the model's own faults. Cells are judged against the
//! SLOs that apply everywhere (those without a `scenario`).
//!
//! The runs are independent: they go across cores and are collected by index, so the
//! matrix is the same however the runs are scheduled.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

use super::figures::{FlowFigures, RunFigures, mean_of};
use super::slo::{Under, bounds, judge_runs};
use super::{replication_seeds, run_jobs_figures};
use crate::model::{ComponentId, ComponentKind, Fault, FaultAction, Model, Span};
use crate::sim::{RunOptions, SimError, SimTime};

/// How each component fails in its row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MatrixFault {
    /// Every replica down: requests inside are lost, new ones fail at once.
    Crash,
    /// Every piece of work (or latency) takes this many times as long.
    Slow(f64),
    /// Cut off from every other component and from the clients: messages vanish.
    Partition,
    /// One replica (the first) down; a component with one replica is down altogether.
    OneReplica,
}

impl FromStr for MatrixFault {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "crash" => Ok(MatrixFault::Crash),
            "partition" => Ok(MatrixFault::Partition),
            "one-replica" => Ok(MatrixFault::OneReplica),
            _ => {
                let factor = text
                    .strip_prefix("slow:")
                    .map(|f| f.trim_end_matches('x'))
                    .and_then(|f| f.parse::<f64>().ok())
                    .filter(|f| f.is_finite() && *f > 0.0);
                factor.map(MatrixFault::Slow).ok_or_else(|| {
                    format!(
                        "unknown fault `{text}`: write crash, slow:10x, partition or one-replica"
                    )
                })
            }
        }
    }
}

impl std::fmt::Display for MatrixFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatrixFault::Crash => f.write_str("crash"),
            MatrixFault::Slow(x) => write!(f, "slow:{x}x"),
            MatrixFault::Partition => f.write_str("partition"),
            MatrixFault::OneReplica => f.write_str("one-replica"),
        }
    }
}

/// One cell: a flow's figures under one failure (mean over replications).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cell {
    /// Answered over ended, as a fraction; `None` when nothing ended.
    pub availability: Option<f64>,
    pub p99_s: Option<f64>,
    /// Requests still in flight at the end (summed over replications): requests that hang
    /// without a client deadline are not in `availability`.
    pub in_flight: u64,
    /// Whether an SLO of this flow is broken; `None` when no SLO bounds it.
    pub breach: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matrix {
    pub model: Option<String>,
    pub fault: String,
    pub replications: usize,
    pub seeds: Vec<u64>,
    pub flows: Vec<String>,
    /// The model as written, per flow.
    pub baseline: BTreeMap<String, Cell>,
    /// Per failed component, per flow.
    pub rows: BTreeMap<String, BTreeMap<String, Cell>>,
}

/// The model with `component` failed as `fault` says, from time 0 to the end of the run.
#[must_use]
pub fn with_failure(model: &Model, component: ComponentId, fault: MatrixFault) -> Model {
    let mut m = model.clone();
    let name = &model.component(component).name;
    let replicas = match &model.component(component).kind {
        ComponentKind::Service(s) => s.replicas,
        _ => 1,
    };
    let (target, replica, action) = match fault {
        MatrixFault::Crash => (Some(component), None, FaultAction::Crash),
        MatrixFault::Slow(factor) => (
            Some(component),
            None,
            FaultAction::Slow {
                factor,
                delay: SimTime::ZERO,
            },
        ),
        MatrixFault::OneReplica => (
            Some(component),
            (replicas > 1).then_some(0),
            FaultAction::Crash,
        ),
        MatrixFault::Partition => {
            let others: Vec<String> = model
                .components
                .iter()
                .map(|c| c.name.clone())
                .chain(model.workloads.iter().map(|w| w.name.clone()))
                .filter(|n| n != name)
                .collect();
            (
                None,
                None,
                FaultAction::Partition {
                    groups: vec![vec![name.clone()], others],
                },
            )
        }
    };
    m.faults.push(Fault {
        at: SimTime::ZERO,
        duration: None,
        target,
        replica,
        action,
        flap: None,
        count: None,
        span: Span::default(),
    });
    m
}

/// The seeds of a matrix's rows.
#[must_use]
pub fn seeds(model: &Model, options: RunOptions, replications: u32) -> Vec<u64> {
    replication_seeds(options.seed.unwrap_or(model.seed), replications.max(1))
}

/// The runs of a matrix in order: the baseline's replications (no failed component), then
/// each component's, in the order of the model's components. [`assemble`] expects their
/// figures in this order.
#[must_use]
pub fn runs(model: &Model, seeds: &[u64]) -> Vec<(Option<ComponentId>, u64)> {
    let variants = std::iter::once(None).chain(
        (0..model.components.len())
            .map(|i| Some(ComponentId(u32::try_from(i).unwrap_or(u32::MAX)))),
    );
    variants
        .flat_map(|failed| seeds.iter().map(move |&seed| (failed, seed)))
        .collect()
}

/// Runs the baseline and one run per failed component (`replications` each, on the same
/// seeds), across cores when `parallel`, and judges each cell against the SLOs.
///
/// # Errors
/// When the engine breaks an invariant (a bug).
pub fn matrix(
    model: &Arc<Model>,
    fault: MatrixFault,
    options: RunOptions,
    replications: u32,
    parallel: bool,
) -> Result<Matrix, SimError> {
    matrix_with_progress(model, fault, options, replications, parallel, &|| {})
}

/// How many runs [`matrix`] makes: the baseline and one per component, each replicated.
#[must_use]
pub fn run_count(model: &Model, replications: u32) -> usize {
    (model.components.len() + 1) * replications.max(1) as usize
}

/// [`matrix`], calling `done` after each run (from whichever thread ran it).
///
/// # Errors
/// When the engine breaks an invariant (a bug).
pub fn matrix_with_progress(
    model: &Arc<Model>,
    fault: MatrixFault,
    options: RunOptions,
    replications: u32,
    parallel: bool,
    done: &(dyn Fn() + Sync),
) -> Result<Matrix, SimError> {
    let seeds = seeds(model, options, replications);
    let mut variants: Vec<Arc<Model>> = vec![Arc::clone(model)];
    for i in 0..model.components.len() {
        let id = ComponentId(u32::try_from(i).unwrap_or(u32::MAX));
        variants.push(Arc::new(with_failure(model, id, fault)));
    }
    let jobs: Vec<(Arc<Model>, RunOptions)> = runs(model, &seeds)
        .into_iter()
        .map(|(failed, seed)| {
            let variant = failed.map_or(0, |id| id.0 as usize + 1);
            (
                Arc::clone(&variants[variant]),
                RunOptions {
                    seed: Some(seed),
                    ..options
                },
            )
        })
        .collect();
    debug_assert_eq!(jobs.len(), run_count(model, replications));
    let figures = run_jobs_figures(&jobs, parallel, done)?;
    Ok(assemble(model, fault, seeds, &figures))
}

/// The matrix from the figures of its [`runs`], in their order.
#[must_use]
pub fn assemble(
    model: &Model,
    fault: MatrixFault,
    seeds: Vec<u64>,
    figures: &[RunFigures],
) -> Matrix {
    let per_variant: Vec<&[RunFigures]> = figures.chunks(seeds.len().max(1)).collect();
    let flows: Vec<String> = model
        .flows()
        .into_iter()
        .map(|t| model.request_type_name(t).to_string())
        .collect();
    let row = |runs: &[RunFigures], under: Under| -> BTreeMap<String, Cell> {
        flows
            .iter()
            .map(|flow| (flow.clone(), cell(model, flow, runs, under)))
            .collect()
    };
    let baseline = per_variant
        .first()
        .map(|runs| row(runs, Under::Baseline))
        .unwrap_or_default();
    let rows = model
        .components
        .iter()
        .zip(per_variant.iter().skip(1))
        .map(|(c, runs)| (c.name.clone(), row(runs, Under::Failure)))
        .collect();
    Matrix {
        model: model.name.clone(),
        fault: fault.to_string(),
        replications: seeds.len(),
        seeds,
        flows,
        baseline,
        rows,
    }
}

fn cell(model: &Model, flow: &str, runs: &[RunFigures], under: Under) -> Cell {
    let figures: Vec<FlowFigures> = runs.iter().map(|r| r.flow(flow)).collect();
    let mut applicable = bounds(model, under);
    applicable.retain(|(slo, _)| model.request_type_name(slo.request) == flow);
    let breach = (!applicable.is_empty()).then(|| {
        judge_runs(model, &applicable, "", runs)
            .iter()
            .any(|v| !v.holds)
    });
    Cell {
        availability: mean_of(figures.iter().map(|f| f.availability)),
        p99_s: mean_of(figures.iter().map(|f| f.p99_s)),
        in_flight: figures.iter().map(|f| f.in_flight).sum(),
        breach,
    }
}

impl Matrix {
    /// The matrix as a standalone SVG picture, for a review document: one row per failed
    /// component under the baseline, one column per flow, each cell green when it meets
    /// the flow's SLOs, red when it breaks one, grey without an SLO. It refers to nothing
    /// outside itself.
    #[must_use]
    pub fn to_svg(&self) -> String {
        use std::fmt::Write as _;
        const NAME_W: usize = 190;
        const CELL_W: usize = 170;
        const ROW_H: usize = 26;
        const TOP: usize = 64;
        let title = format!(
            "{} — resiliency matrix ({})",
            self.model.as_deref().unwrap_or("model"),
            self.fault
        );
        // Room for the title at about 9 pixels a character, however few the flows.
        let width = (NAME_W + CELL_W * self.flows.len() + 10).max(title.chars().count() * 9 + 20);
        let height = TOP + ROW_H * (self.rows.len() + 1) + 30;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"13\">"
        );
        let _ = writeln!(
            out,
            "<rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
        );
        let _ = writeln!(
            out,
            "<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">{}</text>",
            escape(&title)
        );
        let _ = writeln!(
            out,
            "<text x=\"10\" y=\"40\" fill=\"#555555\">availability and p99 of each flow while the component fails; seeds {}</text>",
            escape(
                &self
                    .seeds
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
        for (i, flow) in self.flows.iter().enumerate() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
                NAME_W + CELL_W * i + CELL_W / 2,
                TOP - 6,
                escape(flow)
            );
        }
        let mut rows: Vec<(&str, &BTreeMap<String, Cell>)> = vec![("baseline", &self.baseline)];
        rows.extend(self.rows.iter().map(|(n, c)| (n.as_str(), c)));
        for (r, (name, cells)) in rows.iter().enumerate() {
            let y = TOP + ROW_H * r;
            let _ = writeln!(
                out,
                "<text x=\"10\" y=\"{}\"{}>{}</text>",
                y + 17,
                if r == 0 { " font-style=\"italic\"" } else { "" },
                escape(name)
            );
            for (i, flow) in self.flows.iter().enumerate() {
                let Some(c) = cells.get(flow) else { continue };
                let (class, fill, ink) = match c.breach {
                    Some(true) => ("breach", "#f6c9c9", "#8a1020"),
                    Some(false) => ("holds", "#cdeccd", "#1b5e20"),
                    None => ("unjudged", "#eeeeee", "#333333"),
                };
                let x = NAME_W + CELL_W * i;
                let _ = writeln!(
                    out,
                    "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#ffffff\"/>",
                    x,
                    y + 2,
                    CELL_W - 2,
                    ROW_H - 2
                );
                let availability = c
                    .availability
                    .map_or("–".to_string(), |a| format!("{:.2}%", a * 100.0));
                let p99 = c
                    .p99_s
                    .map_or("–".to_string(), |p| format!("{:.1} ms", p * 1e3));
                let _ = writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{ink}\">{availability} · {p99}</text>",
                    x + CELL_W / 2,
                    y + 18
                );
            }
        }
        let _ = writeln!(
            out,
            "<text x=\"10\" y=\"{}\" fill=\"#555555\">green: meets the flow's SLOs · red: breaks one · grey: no SLO</text>",
            height - 10
        );
        out.push_str("</svg>\n");
        out
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_kinds_parse_and_print_back() {
        for text in ["crash", "slow:10x", "slow:2.5x", "partition", "one-replica"] {
            let fault: MatrixFault = text.parse().expect("valid");
            assert_eq!(fault.to_string(), text);
        }
        assert_eq!("slow:3".parse(), Ok(MatrixFault::Slow(3.0)));
        for bad in ["slow:", "slow:0x", "slow:-2x", "slow:inf", "crashed", ""] {
            let err = bad.parse::<MatrixFault>().expect_err(bad);
            assert!(
                err.contains("crash, slow:10x, partition or one-replica"),
                "{err}"
            );
        }
    }
}
