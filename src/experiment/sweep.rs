//! Parameter sweeps: every combination of a few overrides, each run on the same seeds.
//!
//! A parameter is a dotted path, as in a scenario's `set:`, with a list or a range of
//! values (`app.replicas=1..6`, `app.retry.attempts=1,3,5`). Each combination (a *point*)
//! is the model with those overrides, read exactly as a scenario's `set:` is read, so a
//! sweep accepts the paths and values a scenario accepts and refuses the rest with the
//! same messages. Points are the cartesian product in the order the parameters are given,
//! the first varying slowest. Every point runs on the same seeds (common random numbers),
//! so the differences between neighbouring points are not blurred by different luck.
//!
//! Must never: print, or know how many cores there are; the caller chooses parallel or not
//! and gets the same result either way.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::chart::{Chart, Series, Unit, escape};
use super::figures::{ComponentFigures, FlowFigures, RunFigures};
use super::stats::Summary;
use super::{replication_seeds, run_jobs_figures};
use crate::model::{self, Model, Severity};
use crate::sim::{RunOptions, SimError};

/// The most points one sweep may have: a typo in a range (`1..100000`) should not start a
/// week of runs.
pub const MAX_POINTS: usize = 10_000;

/// One swept parameter: a path and the values it takes, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub path: String,
    pub values: Vec<String>,
}

impl FromStr for Parameter {
    type Err = String;

    /// `PATH=A..B` (integers, both included) or `PATH=V1,V2,...` or `PATH=V`.
    fn from_str(text: &str) -> Result<Self, String> {
        let Some((path, values)) = text.split_once('=') else {
            return Err(format!(
                "`{text}` has no `=`: write `app.replicas=1..6` or `app.retry.attempts=1,3,5`"
            ));
        };
        let path = path.trim();
        if path.is_empty() || path.contains(|c: char| c.is_whitespace() || ":#{}[]\"'".contains(c))
        {
            return Err(format!(
                "`{path}` is not a dotted path such as `app.replicas`"
            ));
        }
        let values: Vec<String> = if let Some((a, b)) = values.split_once("..") {
            let (Ok(a), Ok(b)) = (a.trim().parse::<u64>(), b.trim().parse::<u64>()) else {
                return Err(format!(
                    "`{values}`: a range is two whole numbers, `1..6`; list other values: `0.5,0.9`"
                ));
            };
            if a > b {
                return Err(format!("`{values}`: the range is empty ({a} > {b})"));
            }
            if b - a >= MAX_POINTS as u64 {
                return Err(format!("`{values}`: more than {MAX_POINTS} values"));
            }
            (a..=b).map(|v| v.to_string()).collect()
        } else {
            values.split(',').map(|v| v.trim().to_string()).collect()
        };
        if let Some(bad) = values
            .iter()
            .find(|v| v.is_empty() || v.contains(|c: char| "\n#{}[]\"'".contains(c) || c == ':'))
        {
            return Err(format!(
                "`{path}={}`: `{bad}` is not a value a `set:` takes",
                values.join(",")
            ));
        }
        Ok(Parameter {
            path: path.to_string(),
            values,
        })
    }
}

/// What a sweep measures at each point: a flow's figure or a component's.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Metric {
    Flow(String, String),
    Component(String, String),
}

impl Metric {
    fn name(&self) -> String {
        match self {
            Metric::Flow(a, b) | Metric::Component(a, b) => format!("{a}.{b}"),
        }
    }

    fn of(&self, run: &RunFigures) -> Option<f64> {
        match self {
            Metric::Flow(flow, figure) => run.flow(flow).get(figure),
            Metric::Component(c, figure) => run.components.get(c).and_then(|f| f.get(figure)),
        }
    }
}

/// The word to look for "did you mean" with: latency figures end in `_s`, which a user
/// writing `p99` has only left off.
fn near(word: &str, names: &[&str]) -> String {
    let with_unit = format!("{word}_s");
    if names.contains(&with_unit.as_str()) {
        with_unit
    } else {
        word.to_string()
    }
}

/// Resolves metric names: `FLOW.FIGURE`, `COMPONENT.FIGURE`, or a bare flow figure for every
/// flow. None at all means availability, p99 and mean latency of every flow.
fn resolve_metrics(model: &Model, wanted: &[String]) -> Result<Vec<Metric>, String> {
    let flows: Vec<String> = model
        .flows()
        .into_iter()
        .map(|t| model.request_type_name(t).to_string())
        .collect();
    let every_flow = |figure: &str| -> Vec<Metric> {
        flows
            .iter()
            .map(|f| Metric::Flow(f.clone(), figure.to_string()))
            .collect()
    };
    if wanted.is_empty() {
        return Ok(["availability", "p99_s", "mean_s"]
            .iter()
            .flat_map(|f| every_flow(f))
            .collect());
    }
    let mut out = Vec::new();
    for w in wanted {
        if FlowFigures::NAMES.contains(&w.as_str()) {
            out.extend(every_flow(w));
            continue;
        }
        let Some((owner, figure)) = w.split_once('.') else {
            return Err(format!(
                "unknown metric `{w}`: {}; or name a flow or component first, e.g. `{}.p99_s`",
                model::diag::suggestion(
                    &near(w, &FlowFigures::NAMES),
                    "figures of a flow",
                    &FlowFigures::NAMES
                ),
                flows.first().map_or("browse", String::as_str)
            ));
        };
        if flows.iter().any(|f| f == owner) {
            if !FlowFigures::NAMES.contains(&figure) {
                return Err(format!(
                    "unknown metric `{w}`: {}",
                    model::diag::suggestion(
                        &near(figure, &FlowFigures::NAMES),
                        "figures of a flow",
                        &FlowFigures::NAMES
                    )
                ));
            }
            out.push(Metric::Flow(owner.to_string(), figure.to_string()));
        } else if model.components.iter().any(|c| c.name == owner) {
            if !ComponentFigures::NAMES.contains(&figure) {
                return Err(format!(
                    "unknown metric `{w}`: {}",
                    model::diag::suggestion(
                        figure,
                        "figures of a component",
                        &ComponentFigures::NAMES
                    )
                ));
            }
            out.push(Metric::Component(owner.to_string(), figure.to_string()));
        } else {
            let mut names: Vec<&str> = flows.iter().map(String::as_str).collect();
            names.extend(model.components.iter().map(|c| c.name.as_str()));
            return Err(format!(
                "unknown metric `{w}`: {}",
                model::diag::suggestion(owner, "flows and components", &names)
            ));
        }
    }
    out.dedup();
    Ok(out)
}

/// The model with the overrides of one point, read as a scenario's `set:` is.
///
/// # Errors
/// The reader's messages and hints, when a path or a value is refused.
pub fn variant(model: &Model, set: &[(String, String)]) -> Result<Model, String> {
    if set.is_empty() {
        return Ok(model.clone());
    }
    let text = model::write::set_block(set);
    match model::parse_scenario("--set", "sweep", &text, model) {
        Ok(s) => Ok(model.with_scenario(&s)),
        Err(d) => {
            let which = set
                .iter()
                .map(|(p, v)| format!("{p}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            let messages: Vec<String> = d
                .items
                .iter()
                .filter(|i| i.severity == Severity::Error)
                .map(|i| match &i.hint {
                    Some(h) => format!("{}; {h}", i.message),
                    None => i.message.clone(),
                })
                .collect();
            Err(format!("--set {which}: {}", messages.join("; ")))
        }
    }
}

/// A sweep ready to run: its points, each checked.
#[derive(Debug, Clone)]
pub struct Plan {
    pub parameters: Vec<Parameter>,
    metrics: Vec<Metric>,
    /// The values of each point, in the order of `parameters`.
    pub points: Vec<Vec<String>>,
}

/// Points whose models exist at once while a sweep runs: enough runs to keep every core
/// busy, few enough models that a sweep of thousands of points stays small.
const POINTS_AT_ONCE: usize = 64;

impl Plan {
    /// Checks every parameter and metric, and that every point's model reads.
    ///
    /// # Errors
    /// A parameter set twice, a path or value the model refuses (checked one value at a
    /// time, so that the message names it), an unknown metric, or too many points.
    pub fn new(
        model: &Model,
        parameters: Vec<Parameter>,
        metrics: &[String],
    ) -> Result<Plan, String> {
        if parameters.is_empty() {
            return Err("a sweep needs at least one `--set PATH=VALUES`".to_string());
        }
        for (i, p) in parameters.iter().enumerate() {
            if parameters[..i].iter().any(|q| q.path == p.path) {
                return Err(format!("`{}` is swept twice: give it one --set", p.path));
            }
            for v in &p.values {
                variant(model, &[(p.path.clone(), v.clone())])?;
            }
        }
        let metrics = resolve_metrics(model, metrics)?;
        let count = parameters
            .iter()
            .try_fold(1usize, |n, p| n.checked_mul(p.values.len()))
            .filter(|n| *n <= MAX_POINTS)
            .ok_or_else(|| format!("more than {MAX_POINTS} combinations"))?;
        let mut points: Vec<Vec<String>> = vec![Vec::new()];
        for p in &parameters {
            points = points
                .into_iter()
                .flat_map(|prefix| {
                    p.values.iter().map(move |v| {
                        let mut point = prefix.clone();
                        point.push(v.clone());
                        point
                    })
                })
                .collect();
        }
        debug_assert_eq!(points.len(), count);
        let plan = Plan {
            parameters,
            metrics,
            points,
        };
        for i in 0..plan.points.len() {
            plan.model_of(model, i)?;
        }
        Ok(plan)
    }

    /// The model of point `i`.
    ///
    /// # Errors
    /// As [`variant`]; never for a point of a plan, which [`Plan::new`] checked.
    pub fn model_of(&self, model: &Model, i: usize) -> Result<Model, String> {
        variant(model, &self.set_of(i))
    }

    /// The metric names, resolved (`FLOW.FIGURE` or `COMPONENT.FIGURE`).
    #[must_use]
    pub fn metric_names(&self) -> Vec<String> {
        self.metrics.iter().map(Metric::name).collect()
    }

    /// The overrides of point `i`, as `(path, value)`.
    #[must_use]
    pub fn set_of(&self, i: usize) -> Vec<(String, String)> {
        self.parameters
            .iter()
            .map(|p| p.path.clone())
            .zip(self.points[i].iter().cloned())
            .collect()
    }

    /// The runs in order: each point's replications, point after point. [`Plan::assemble`]
    /// expects their figures in this order.
    #[must_use]
    pub fn runs(&self, seeds: &[u64]) -> Vec<(usize, u64)> {
        (0..self.points.len())
            .flat_map(|p| seeds.iter().map(move |&s| (p, s)))
            .collect()
    }

    /// The sweep from the figures of its [`Plan::runs`], in their order.
    #[must_use]
    pub fn assemble(&self, model: &Model, seeds: Vec<u64>, figures: &[RunFigures]) -> Sweep {
        let per_point = figures.chunks(seeds.len().max(1));
        let points = self
            .points
            .iter()
            .zip(per_point)
            .map(|(values, runs)| Point {
                values: values.clone(),
                figures: self
                    .metrics
                    .iter()
                    .map(|m| {
                        let v: Vec<f64> = runs.iter().filter_map(|r| m.of(r)).collect();
                        (m.name(), Estimate::of(&v))
                    })
                    .collect(),
            })
            .collect();
        Sweep {
            model: model.name.clone(),
            replications: seeds.len(),
            seeds,
            parameters: self.parameters.iter().map(|p| p.path.clone()).collect(),
            metrics: self.metric_names(),
            points,
        }
    }
}

/// A figure at one point: its mean over the replications that have it, and the half-width
/// of its 95% confidence interval (with two or more).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub mean: Option<f64>,
    pub half_width: Option<f64>,
    /// Replications with a value.
    pub n: usize,
}

impl Estimate {
    #[must_use]
    pub fn of(values: &[f64]) -> Estimate {
        let s = Summary::of(values);
        Estimate {
            mean: (s.n > 0).then_some(s.mean),
            half_width: (s.n > 1).then_some(s.half_width_95),
            n: s.n,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The value of each parameter, in the order of [`Sweep::parameters`].
    pub values: Vec<String>,
    /// By metric name.
    pub figures: BTreeMap<String, Estimate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub model: Option<String>,
    pub replications: usize,
    pub seeds: Vec<u64>,
    /// The swept paths, the first varying slowest.
    pub parameters: Vec<String>,
    pub metrics: Vec<String>,
    pub points: Vec<Point>,
}

/// The seeds every point runs on.
#[must_use]
pub fn seeds(model: &Model, options: RunOptions, replications: u32) -> Vec<u64> {
    replication_seeds(options.seed.unwrap_or(model.seed), replications.max(1))
}

/// Runs every point `replications` times on the same seeds, across cores when `parallel`;
/// `done` is called after each run.
///
/// # Errors
/// When the engine breaks an invariant (a bug).
pub fn sweep(
    model: &Model,
    plan: &Plan,
    options: RunOptions,
    replications: u32,
    parallel: bool,
    done: &(dyn Fn() + Sync),
) -> Result<Sweep, SimError> {
    let seeds = seeds(model, options, replications);
    let mut figures = Vec::with_capacity(plan.points.len() * seeds.len());
    let indices: Vec<usize> = (0..plan.points.len()).collect();
    for chunk in indices.chunks(POINTS_AT_ONCE) {
        let mut jobs: Vec<(Arc<Model>, RunOptions)> = Vec::new();
        for &p in chunk {
            #[expect(
                clippy::expect_used,
                reason = "`Plan::new` read every point's model; failing now is a bug"
            )]
            let m = Arc::new(plan.model_of(model, p).expect("a checked point reads"));
            jobs.extend(seeds.iter().map(|&seed| {
                (
                    Arc::clone(&m),
                    RunOptions {
                        seed: Some(seed),
                        ..options
                    },
                )
            }));
        }
        figures.extend(run_jobs_figures(&jobs, parallel, done)?);
    }
    Ok(plan.assemble(model, seeds, &figures))
}

impl Sweep {
    /// One chart per metric against the first parameter, one line per combination of the
    /// other parameters, with error bars for the 95% intervals; a standalone SVG picture
    /// that refers to nothing outside itself.
    #[must_use]
    pub fn to_svg(&self) -> String {
        const W: f64 = 520.0;
        const H: f64 = 330.0;
        let columns = if self.metrics.len() > 1 { 2 } else { 1 };
        let rows = self.metrics.len().div_ceil(columns).max(1);
        let width = W * columns as f64;
        let height = 50.0 + H * rows as f64;
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"Helvetica, Arial, sans-serif\">\n\
             <rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n"
        );
        let _ = write!(
            out,
            "<text x=\"12\" y=\"24\" font-size=\"16\" font-weight=\"bold\">{}</text>\n\
             <text x=\"12\" y=\"42\" font-size=\"12\" fill=\"#555555\">{}</text>\n",
            escape(&format!(
                "{} — sweep of {}",
                self.model.as_deref().unwrap_or("model"),
                self.parameters.join(" × ")
            )),
            escape(&format!(
                "mean of {} run{} per point (seeds {}); bars: 95% confidence intervals",
                self.replications,
                if self.replications == 1 { "" } else { "s" },
                seeds_text(&self.seeds)
            ))
        );
        for (k, metric) in self.metrics.iter().enumerate() {
            let chart = self.chart(metric);
            let (col, row) = (k % columns, k / columns);
            out.push_str(&chart.to_svg(col as f64 * W, 50.0 + row as f64 * H, W, H));
        }
        out.push_str("</svg>\n");
        out
    }

    /// The chart of one metric against the first parameter.
    #[must_use]
    pub fn chart(&self, metric: &str) -> Chart {
        let Some(first) = self.parameters.first() else {
            return Chart {
                title: metric.to_string(),
                x_label: String::new(),
                x_unit: Unit::Plain,
                y_unit: Unit::of_figure(metric),
                x_names: None,
                series: Vec::new(),
                markers: Vec::new(),
            };
        };
        let mut xs: Vec<String> = Vec::new();
        for p in &self.points {
            if !xs.contains(&p.values[0]) {
                xs.push(p.values[0].clone());
            }
        }
        let numeric: Option<Vec<f64>> = xs.iter().map(|x| x.parse::<f64>().ok()).collect();
        let x_of = |value: &str| -> f64 {
            match &numeric {
                Some(_) => value.parse().unwrap_or(0.0),
                None => xs.iter().position(|x| x == value).unwrap_or(0) as f64,
            }
        };
        // Lines keyed by the other parameters' values, in the order points list them.
        let mut lines: Vec<(Vec<String>, Series)> = Vec::new();
        for p in &self.points {
            let key = p.values[1..].to_vec();
            let e = p.figures.get(metric).copied();
            let point = (
                x_of(&p.values[0]),
                e.and_then(|e| e.mean),
                e.and_then(|e| e.half_width),
            );
            if let Some((_, s)) = lines.iter_mut().find(|(k, _)| *k == key) {
                s.points.push(point);
            } else {
                let label = self.parameters[1..]
                    .iter()
                    .zip(&key)
                    .map(|(path, v)| format!("{path}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                lines.push((
                    key,
                    Series {
                        label,
                        points: vec![point],
                    },
                ));
            }
        }
        Chart {
            title: metric.to_string(),
            x_label: first.clone(),
            x_unit: Unit::Plain,
            y_unit: Unit::of_figure(metric),
            x_names: numeric.is_none().then_some(xs),
            series: lines.into_iter().map(|(_, s)| s).collect(),
            markers: Vec::new(),
        }
    }
}

fn seeds_text(seeds: &[u64]) -> String {
    match seeds {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] => format!("{first}–{last}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse_ranges_and_lists() {
        let p: Parameter = "app.replicas=1..4".parse().expect("valid");
        assert_eq!(p.path, "app.replicas");
        assert_eq!(p.values, ["1", "2", "3", "4"]);
        let p: Parameter = "users.rate=100/s, 200/s".parse().expect("valid");
        assert_eq!(p.values, ["100/s", "200/s"]);
        for bad in [
            "app.replicas",
            "=3",
            "a.b=5..1",
            "a.b=1..x",
            "a.b=1,,2",
            "a.b={x}",
        ] {
            assert!(bad.parse::<Parameter>().is_err(), "{bad}");
        }
    }

    #[test]
    fn points_are_the_cartesian_product_first_parameter_slowest() {
        let (m, _) = crate::model::parse(
            "m.yaml",
            "
workloads: [ { name: users, target: app, rate: 10/s, request: a } ]
components:
  app: { kind: service, handlers: { a: { work: 1ms, calls: [ { to: db } ] } } }
  db: { kind: service, handlers: { a: { work: 1ms } } }
",
        )
        .expect("valid");
        let plan = Plan::new(
            &m,
            vec![
                "app.replicas=1..2".parse().expect("valid"),
                "app.retry.attempts=1,3".parse().expect("valid"),
            ],
            &[],
        )
        .expect("valid");
        assert_eq!(
            plan.points,
            [["1", "1"], ["1", "3"], ["2", "1"], ["2", "3"]]
        );
        assert_eq!(
            plan.metric_names(),
            ["a.availability", "a.p99_s", "a.mean_s"]
        );
        let err = Plan::new(&m, vec!["app.replcas=1..2".parse().expect("valid")], &[])
            .expect_err("misspelt");
        assert!(err.contains("did you mean `replicas`"), "{err}");
        let err = Plan::new(&m, vec!["app.replicas=0,1".parse().expect("valid")], &[])
            .expect_err("zero replicas");
        assert!(err.starts_with("--set app.replicas=0:"), "{err}");
        let err = Plan::new(
            &m,
            vec!["app.replicas=1".parse().expect("valid")],
            &["a.p99".to_string()],
        )
        .expect_err("unknown metric");
        assert!(err.contains("did you mean `p99_s`"), "{err}");
    }
}
