//! `archsim trace MODEL`: runs a model with request traces on and prints the chosen traces
//! as text waterfalls (or JSON), each with the chain of reasons for its outcome.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::model::Cause;
use crate::observe::explain::explain;
use crate::observe::trace::{Trace, TraceOptions};
use crate::observe::waterfall::waterfall;
use crate::sim::{RunOptions, SimTime, Simulation};

#[derive(clap::Args)]
pub(super) struct TraceArgs {
    /// The model file (YAML).
    model: PathBuf,
    /// Only failed requests; with a cause (timeout, rejected, unavailable, dropped, error),
    /// only those.
    #[arg(long, value_name = "CAUSE", num_args = 0..=1, default_missing_value = "any")]
    failed: Option<String>,
    /// Only requests of this type (user flow).
    #[arg(long = "type", value_name = "TYPE")]
    request_type: Option<String>,
    /// The kept request that started nearest this instant, e.g. 4m10s.
    #[arg(long, value_parser = super::duration_arg)]
    at: Option<SimTime>,
    /// The slowest kept requests first.
    #[arg(long, conflicts_with = "at")]
    slowest: bool,
    /// How many traces to print.
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// Seed of the random streams [default: the model's `seed`].
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated length, e.g. 10m [default: the model's `duration`].
    #[arg(long, value_parser = super::duration_arg)]
    duration: Option<SimTime>,
    /// Print JSON (spans with their instants, notes and the explanation).
    #[arg(long)]
    json: bool,
    /// Width of the waterfall's bars in characters.
    #[arg(long, default_value_t = 40)]
    width: usize,
}

pub(super) fn trace_cmd(args: &TraceArgs) -> ExitCode {
    match trace(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::fail(&e),
    }
}

fn trace(args: &TraceArgs) -> anyhow::Result<()> {
    let m = super::load(&args.model)?;
    super::check_duration(&args.model, &m, args.duration)?;
    let cause = match args.failed.as_deref() {
        None | Some("any") => None,
        Some(text) => Some(Cause::parse(text).ok_or_else(|| {
            anyhow::anyhow!(
                "--failed {text}: not a cause; use one of {}",
                Cause::ALL.map(Cause::as_str).join(", ")
            )
        })?),
    };
    let request_type =
        match &args.request_type {
            None => None,
            Some(name) => Some(m.request_types.iter().position(|t| t == name).ok_or_else(
                || {
                    anyhow::anyhow!(
                        "--type {name}: the model has no such request type; it has {}",
                        m.request_types.join(", ")
                    )
                },
            )?),
        };
    let mut sim = Simulation::new(
        Arc::clone(&m),
        RunOptions {
            seed: args.seed,
            duration: args.duration,
            warmup: None,
        },
    );
    sim.record_traces(TraceOptions::default());
    sim.run_until(sim.end());
    let traces = sim.traces();
    let faults = sim.faults().to_vec();
    let report = sim.finish()?;
    let mut chosen: Vec<Arc<Trace>> = traces
        .into_iter()
        .filter(|t| match (&args.failed, cause) {
            (None, _) => true,
            (Some(_), None) => t.outcome.is_err(),
            (Some(_), Some(c)) => t.outcome == Err(c),
        })
        .filter(|t| request_type.is_none_or(|r| t.request_type as usize == r))
        .collect();
    if let Some(at) = args.at {
        chosen.sort_by_key(|t| (t.start.max(at) - t.start.min(at), t.serial));
    } else if args.slowest {
        chosen.sort_by_key(|t| (std::cmp::Reverse(t.latency()), t.serial));
    }
    chosen.truncate(args.count);
    if chosen.is_empty() {
        if args.failed.is_some() && report.totals.failed == 0 {
            anyhow::bail!("no request failed in this run (seed {})", report.seed);
        }
        anyhow::bail!(
            "no kept trace matches{}{}: the run kept one request in {} (spread over the run), \
             the first {} and {} more failed requests of each cause, and the slowest of each type",
            args.failed
                .as_deref()
                .map_or(String::new(), |c| format!(" --failed {c}")),
            args.request_type
                .as_deref()
                .map_or(String::new(), |t| format!(" --type {t}")),
            TraceOptions::default().every,
            TraceOptions::default().first_failed,
            TraceOptions::default().failed,
        );
    }
    let series = Some(&report.series);
    let text = if args.json {
        let all: Vec<serde_json::Value> = chosen
            .iter()
            .map(|t| {
                let mut v = t.to_json(&m);
                v["explanation"] = serde_json::json!(explain(t, &m, series, &faults));
                v
            })
            .collect();
        format!("{}\n", serde_json::to_string_pretty(&all)?)
    } else {
        let mut out = String::new();
        for t in &chosen {
            out.push_str(&waterfall(
                t,
                &m,
                &explain(t, &m, series, &faults),
                args.width,
            ));
            out.push('\n');
        }
        out
    };
    super::print_stdout(&text)
}
