//! The experiment commands: `compare`, `matrix`, `check`, `sweep`, `report`, `jobs`, `job
//! run` and `merge`. Arguments, files, printing and exit codes only; the experiments
//! themselves are in `crate::experiment`.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};

use super::{check_duration, duration_arg, fail, load, print_stderr, print_stdout};
use crate::experiment::compare::{self, Comparison};
use crate::experiment::jobs::{self, Job, JobResult, Merged};
use crate::experiment::matrix::{self, Cell, Matrix, MatrixFault};
use crate::experiment::slo::{self, CheckOutcome};
use crate::experiment::sweep::{self, Parameter, Plan, Sweep};
use crate::model::{self, Model, Scenario};
use crate::sim::{RunOptions, SimTime};

/// Options every experiment shares with `run`.
#[derive(Args, Clone, Copy)]
pub struct RunArgs {
    /// Seed of the first replication [default: the model's `seed`].
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated length of each run, e.g. 10m [default: the model's `duration`].
    #[arg(long, value_parser = duration_arg)]
    duration: Option<SimTime>,
    /// Time excluded from statistics, e.g. 30s [default: the model's `warmup`].
    #[arg(long, value_parser = duration_arg)]
    warmup: Option<SimTime>,
}

impl RunArgs {
    fn options(self) -> RunOptions {
        RunOptions {
            seed: self.seed,
            duration: self.duration,
            warmup: self.warmup,
        }
    }
}

#[derive(Args)]
pub struct CompareArgs {
    /// The model file (YAML).
    model: PathBuf,
    /// A scenario the model declares, or a YAML file with `faults:` and `set:`.
    #[arg(long, value_name = "NAME|FILE")]
    scenario: String,
    /// Pairs of runs (seed, seed+1, ...); the intervals need at least 2.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    replications: u32,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
pub struct MatrixArgs {
    /// The model file (YAML).
    model: PathBuf,
    /// How each component fails: crash, slow:10x, partition or one-replica.
    #[arg(long, default_value = "crash", value_parser = clap::value_parser!(MatrixFault))]
    fault: MatrixFault,
    /// Runs per row, on the same seeds; cells show the means.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    replications: u32,
    /// Print the matrix as JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print the matrix as CSV.
    #[arg(long)]
    csv: bool,
    /// Also write the matrix as a standalone SVG picture.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
pub struct CheckArgs {
    /// The model file (YAML).
    model: PathBuf,
    /// Also write the verdicts as `JUnit` XML, for CI systems.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Runs per scenario, on the same seeds; each bound is judged on the mean.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    replications: u32,
    /// Print the verdicts as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Clone)]
pub struct SweepSpec {
    /// A parameter and its values: `app.replicas=1..6` (a range of whole numbers) or
    /// `app.retry.attempts=1,3,5`; repeat for more. Every combination runs.
    #[arg(long = "set", value_name = "PATH=VALUES", required = true, value_parser = clap::value_parser!(Parameter))]
    set: Vec<Parameter>,
    /// What to measure: a flow's figure (`browse.p99_s`, `buy.availability`), a component's
    /// (`app.utilization`, `app.queue_mean`), or a flow figure for every flow (`mean_s`)
    /// [default: availability, p99 and mean latency of every flow].
    #[arg(long, value_name = "METRIC", value_delimiter = ',')]
    metric: Vec<String>,
    /// Runs per point, on the same seeds; figures are means with 95% intervals.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    replications: u32,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
pub struct SweepArgs {
    /// The model file (YAML).
    model: PathBuf,
    #[command(flatten)]
    spec: SweepSpec,
    /// Print the sweep as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the sweep as CSV: one line per point.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Also draw each metric against the first parameter, one line per value of the others,
    /// as an SVG picture.
    #[arg(long, value_name = "FILE.svg", value_parser = svg_path)]
    plot: Option<PathBuf>,
}

#[derive(Args)]
pub struct ReportArgs {
    /// The model file (YAML).
    model: PathBuf,
    /// The HTML file to write.
    #[arg(short, long, value_name = "FILE")]
    out: PathBuf,
    /// Show this scenario's run in the figures and plots (a declared scenario or a file)
    /// [default: the model as written].
    #[arg(long, value_name = "NAME|FILE")]
    scenario: Option<String>,
    /// How each component fails in the resiliency matrix: crash, slow:10x, partition or
    /// one-replica.
    #[arg(long, default_value = "crash", value_parser = clap::value_parser!(MatrixFault))]
    fault: MatrixFault,
    /// Runs per matrix row and per SLO scenario, on the same seeds.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    replications: u32,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
pub struct JobsArgs {
    /// The model file (YAML).
    model: PathBuf,
    /// The directory to write the jobs to (created when missing).
    #[arg(long, value_name = "DIR", global = true)]
    out: Option<PathBuf>,
    #[command(subcommand)]
    study: StudyArgs,
}

#[derive(Subcommand)]
pub enum StudyArgs {
    /// The runs of `archsim matrix`.
    Matrix {
        /// How each component fails: crash, slow:10x, partition or one-replica.
        #[arg(long, default_value = "crash", value_parser = clap::value_parser!(MatrixFault))]
        fault: MatrixFault,
        /// Runs per row, on the same seeds.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        replications: u32,
        #[command(flatten)]
        run: RunArgs,
    },
    /// The runs of `archsim sweep`.
    Sweep(SweepSpec),
}

#[derive(Subcommand)]
pub enum JobCommand {
    /// Run one job file and write its result as JSON.
    Run {
        /// A job file written by `archsim jobs`.
        file: PathBuf,
        /// The result file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Args)]
pub struct MergeArgs {
    /// Result files of `archsim job run`, or directories holding them (job files beside
    /// them are skipped).
    #[arg(required = true, value_name = "DIR|FILE")]
    paths: Vec<PathBuf>,
    /// Print the matrix or sweep as JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print it as CSV.
    #[arg(long)]
    csv: bool,
    /// Also write its picture (the matrix, or the sweep's plot) as SVG.
    #[arg(long, value_name = "FILE.svg", value_parser = svg_path)]
    svg: Option<PathBuf>,
}

fn load_checked(path: &Path, run: RunArgs) -> anyhow::Result<Arc<Model>> {
    let m = load(path)?;
    let (d, w) = (
        run.duration.unwrap_or(m.duration),
        run.warmup.unwrap_or(m.warmup),
    );
    if w >= d {
        anyhow::bail!("the warm-up ({w}) must be shorter than the run ({d})");
    }
    check_duration(path, &m, run.duration)?;
    Ok(m)
}

fn exit(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| fail(&e))
}

/// `archsim compare`.
pub fn compare_cmd(args: &CompareArgs) -> ExitCode {
    exit((|| {
        let m = load_checked(&args.model, args.run)?;
        let scenario = scenario_arg(&m, &args.scenario)?;
        let c = compare::compare(&m, &scenario, args.run.options(), args.replications)?;
        if args.json {
            print_stdout(&format!("{}\n", serde_json::to_string_pretty(&c)?))?;
        } else {
            print_stdout(&comparison_text(&c))?;
        }
        Ok(ExitCode::SUCCESS)
    })())
}

/// A declared scenario by name, or else a scenario file.
fn scenario_arg(m: &Model, arg: &str) -> anyhow::Result<Scenario> {
    if let Some(s) = m.scenario(arg) {
        return Ok(s.clone());
    }
    let path = Path::new(arg);
    if !path.is_file() {
        let names: Vec<&str> = m.scenarios.iter().map(|s| s.name.as_str()).collect();
        anyhow::bail!(
            "`{arg}` is neither a scenario of the model nor a file; {}",
            model::diag::suggestion(arg, "model's scenarios", &names)
        );
    }
    let text = read_file(path)?;
    let name = path
        .file_stem()
        .map_or_else(|| arg.to_string(), |s| s.to_string_lossy().to_string());
    model::parse_scenario(&path.display().to_string(), &name, &text, m).map_err(|d| {
        anyhow::anyhow!(
            "{}{}: {} error{}; nothing was run",
            d.render(),
            path.display(),
            d.error_count(),
            if d.error_count() == 1 { "" } else { "s" }
        )
    })
}

fn comparison_text(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — baseline vs `{}`, {} paired replication{} (seeds {}), common random numbers\n\
         difference = scenario − baseline, with its 95% confidence interval (paired t); * = significant\n",
        c.model.as_deref().unwrap_or("model"),
        c.scenario,
        c.replications,
        if c.replications == 1 { "" } else { "s" },
        seeds_text(&c.seeds)
    );
    for (flow, figures) in &c.flows {
        let _ = writeln!(
            out,
            "{flow:<18} {:>14} {:>14} {:>26}",
            "baseline", "scenario", "difference"
        );
        for (name, p) in figures {
            let (scale, unit) = figure_unit(name);
            let v = |x: Option<f64>| x.map_or("-".into(), |x| format!("{:.3}{unit}", x * scale));
            let diff = match (p.difference, p.half_width) {
                (Some(d), Some(h)) => format!(
                    "{:+.3}{unit} ± {:.3}{}",
                    d * scale,
                    h * scale,
                    if p.significant { " *" } else { "  " }
                ),
                (Some(d), None) => format!("{:+.3}{unit}  ", d * scale),
                _ => "-  ".into(),
            };
            let _ = writeln!(
                out,
                "  {name:<16} {:>14} {:>14} {diff:>26}",
                v(p.baseline),
                v(p.scenario)
            );
        }
        out.push('\n');
    }
    out
}

fn figure_unit(name: &str) -> (f64, &'static str) {
    match name {
        "availability" => (100.0, "%"),
        "throughput_per_s" => (1.0, "/s"),
        "failed" => (1.0, ""),
        _ => (1e3, "ms"),
    }
}

fn seeds_text(seeds: &[u64]) -> String {
    match seeds {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] => format!("{first}–{last}"),
    }
}

/// The matrix with a progress bar of its runs on standard error (drawn only on a terminal).
fn matrix_with_bar(
    m: &Arc<Model>,
    fault: MatrixFault,
    options: RunOptions,
    replications: u32,
) -> anyhow::Result<Matrix> {
    let bar = runs_bar(matrix::run_count(m, replications));
    let mx = matrix::matrix_with_progress(m, fault, options, replications, true, &|| bar.inc(1));
    bar.finish_and_clear();
    Ok(mx?)
}

/// A bar counting runs, with the time left; hidden when standard error is redirected.
fn runs_bar(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} runs, {elapsed} elapsed, about {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// `archsim matrix`.
pub fn matrix_cmd(args: &MatrixArgs) -> ExitCode {
    exit((|| {
        let m = load_checked(&args.model, args.run)?;
        let mx = matrix_with_bar(&m, args.fault, args.run.options(), args.replications)?;
        write_matrix(&mx, args.json, args.csv, args.svg.as_deref())?;
        Ok(ExitCode::SUCCESS)
    })())
}

/// Prints a matrix and writes its picture: what `matrix` and `merge` of a matrix's jobs
/// share.
fn write_matrix(mx: &Matrix, json: bool, csv: bool, svg: Option<&Path>) -> anyhow::Result<()> {
    if let Some(file) = svg {
        write_file(file, &mx.to_svg())?;
    }
    if json {
        print_stdout(&format!("{}\n", serde_json::to_string_pretty(mx)?))?;
    } else if csv {
        print_stdout(&matrix_csv(mx))?;
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        print_stdout(&matrix_text(mx, colour))?;
    }
    Ok(())
}

fn cell_text(c: &Cell) -> String {
    let a = c
        .availability
        .map_or("-".to_string(), |a| format!("{:.2}%", a * 100.0));
    let p = c
        .p99_s
        .map_or("-".to_string(), |p| format!("{:.1}ms", p * 1e3));
    format!("{a} {p}")
}

fn matrix_text(mx: &Matrix, colour: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — resiliency matrix: each component fails ({}) for the whole run, {} run{} per row (seeds {})\n\
         cells: availability and p99 latency of each flow during the failure; ✗ breaks an SLO, ✓ meets them\n",
        mx.model.as_deref().unwrap_or("model"),
        mx.fault,
        mx.replications,
        if mx.replications == 1 { "" } else { "s" },
        seeds_text(&mx.seeds)
    );
    let width = 22;
    let _ = write!(out, "{:<20}", "failed component");
    for flow in &mx.flows {
        let _ = write!(out, " {flow:>width$}");
    }
    out.push('\n');
    let line = |out: &mut String, name: &str, cells: &std::collections::BTreeMap<String, Cell>| {
        let _ = write!(out, "{name:<20}");
        for flow in &mx.flows {
            let Some(c) = cells.get(flow) else {
                let _ = write!(out, " {:>width$}", "");
                continue;
            };
            let mark = match c.breach {
                Some(true) => " ✗",
                Some(false) => " ✓",
                None => "  ",
            };
            let text = format!("{:>w$}{mark}", cell_text(c), w = width - 2);
            let painted = match (colour, c.breach) {
                (true, Some(true)) => format!("\x1b[31m{text}\x1b[0m"),
                (true, Some(false)) => format!("\x1b[32m{text}\x1b[0m"),
                _ => text,
            };
            let _ = write!(out, " {painted}");
        }
        out.push('\n');
    };
    line(&mut out, "(none: baseline)", &mx.baseline);
    for (name, cells) in &mx.rows {
        line(&mut out, name, cells);
    }
    out
}

fn matrix_csv(mx: &Matrix) -> String {
    let mut out = String::from("failed,flow,availability,p99_s,in_flight,breach\n");
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let mut rows = vec![("", &mx.baseline)];
    rows.extend(mx.rows.iter().map(|(n, c)| (n.as_str(), c)));
    for (name, cells) in rows {
        for (flow, c) in cells {
            let _ = writeln!(
                out,
                "{name},{flow},{},{},{},{}",
                opt(c.availability),
                opt(c.p99_s),
                c.in_flight,
                c.breach.map_or(String::new(), |b| b.to_string())
            );
        }
    }
    out
}

/// `archsim check`.
pub fn check_cmd(args: &CheckArgs) -> ExitCode {
    exit((|| {
        let m = load_checked(&args.model, args.run)?;
        if m.slos.is_empty() {
            anyhow::bail!(
                "{} declares no SLOs: add `slos: [ {{ request: TYPE, p99: 200ms, availability: 99.9% }} ]`",
                args.model.display()
            );
        }
        let outcome = slo::check(&m, args.run.options(), args.replications)?;
        if let Some(file) = &args.junit {
            std::fs::write(file, outcome.junit(&args.model.display().to_string()))
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
        }
        if args.json {
            print_stdout(&format!("{}\n", serde_json::to_string_pretty(&outcome)?))?;
        } else {
            print_stdout(&check_text(&outcome))?;
        }
        if outcome.holds() {
            Ok(ExitCode::SUCCESS)
        } else {
            let breaches = outcome.breaches();
            print_stderr(&format!(
                "{}: {} of {} SLO bounds broken: {}\n",
                args.model.display(),
                breaches.len(),
                outcome.verdicts.len(),
                breaches
                    .iter()
                    .map(|v| format!("{} under {}", v.objective(), v.under))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
            Ok(ExitCode::from(1))
        }
    })())
}

fn check_text(o: &CheckOutcome) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — SLO check, {} run{} per scenario (seeds {})\n",
        o.model.as_deref().unwrap_or("model"),
        o.replications,
        if o.replications == 1 { "" } else { "s" },
        seeds_text(&o.seeds)
    );
    for v in &o.verdicts {
        let _ = writeln!(
            out,
            "{} {:<40} under {:<16} measured {}",
            if v.holds { "holds " } else { "BROKEN" },
            v.objective(),
            v.under,
            v.measured_text()
        );
    }
    out
}

/// `archsim report`.
pub fn report_cmd(args: &ReportArgs) -> ExitCode {
    exit((|| {
        let m = load_checked(&args.model, args.run)?;
        let options = args.run.options();
        let shown = match &args.scenario {
            Some(name) => Arc::new(m.with_scenario(&scenario_arg(&m, name)?)),
            None => Arc::clone(&m),
        };
        let traced = crate::experiment::run_traced(&shown, options)?;
        let mx = matrix_with_bar(&m, args.fault, options, args.replications)?;
        let check = if m.slos.is_empty() {
            None
        } else {
            Some(slo::check(&m, options, args.replications)?)
        };
        let file = args.model.display().to_string();
        let review = crate::experiment::review::Review {
            model: &m,
            file: &file,
            scenario: args.scenario.as_deref(),
            report: &traced.report,
            matrix: Some(&mx),
            check: check.as_ref(),
            traces: &traced.traces,
            faults: &traced.faults,
        };
        write_file(&args.out, &review.to_html())?;
        print_stderr(&format!(
            "{}: wrote {}\n",
            args.model.display(),
            args.out.display()
        ));
        Ok(ExitCode::SUCCESS)
    })())
}

/// `archsim sweep`.
pub fn sweep_cmd(args: &SweepArgs) -> ExitCode {
    exit((|| {
        let m = load_checked(&args.model, args.spec.run)?;
        let plan = Plan::new(&m, args.spec.set.clone(), &args.spec.metric)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let total = plan.points.len() * args.spec.replications as usize;
        let bar = runs_bar(total);
        let result = sweep::sweep(
            &m,
            &plan,
            args.spec.run.options(),
            args.spec.replications,
            true,
            &|| bar.inc(1),
        );
        bar.finish_and_clear();
        write_sweep(
            &result?,
            args.json,
            args.csv.as_deref(),
            args.plot.as_deref(),
        )?;
        Ok(ExitCode::SUCCESS)
    })())
}

/// Pictures are written as SVG only: text that scales without blurring, refers to nothing
/// outside itself, and that browsers and review tools show.
fn svg_path(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.extension().and_then(|e| e.to_str()) == Some("svg") {
        Ok(path)
    } else {
        Err("pictures are written as SVG: name the file `.svg`".to_string())
    }
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

/// Prints a sweep and writes its files: what `sweep` and `merge` of a sweep's jobs share.
fn write_sweep(
    sw: &Sweep,
    json: bool,
    csv: Option<&Path>,
    plot: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(file) = csv {
        write_file(file, &sweep_csv(sw))?;
    }
    if let Some(file) = plot {
        write_file(file, &sw.to_svg())?;
    }
    if json {
        print_stdout(&format!("{}\n", serde_json::to_string_pretty(sw)?))?;
    } else {
        print_stdout(&sweep_text(sw))?;
    }
    Ok(())
}

fn estimate_text(metric: &str, e: Option<&sweep::Estimate>) -> String {
    let unit = crate::experiment::chart::Unit::of_figure(metric);
    match e.and_then(|e| e.mean.map(|m| (m, e.half_width))) {
        None => "-".to_string(),
        Some((m, Some(h))) => format!("{} ± {}", unit.format(m), unit.format(h)),
        Some((m, None)) => unit.format(m),
    }
}

fn sweep_text(sw: &Sweep) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — sweep of {}: {} point{}, {} run{} each (seeds {}){}\n",
        sw.model.as_deref().unwrap_or("model"),
        sw.parameters.join(" × "),
        sw.points.len(),
        if sw.points.len() == 1 { "" } else { "s" },
        sw.replications,
        if sw.replications == 1 { "" } else { "s" },
        seeds_text(&sw.seeds),
        if sw.replications > 1 {
            "; mean ± half-width of the 95% interval"
        } else {
            ""
        }
    );
    let widths: Vec<usize> = sw
        .parameters
        .iter()
        .chain(&sw.metrics)
        .map(|name| {
            let cells = sw.points.iter().map(|p| {
                sw.parameters
                    .iter()
                    .position(|q| q == name)
                    .map_or_else(
                        || estimate_text(name, p.figures.get(name)),
                        |i| p.values[i].clone(),
                    )
                    .chars()
                    .count()
            });
            cells.chain([name.chars().count()]).max().unwrap_or(0)
        })
        .collect();
    let names: Vec<&String> = sw.parameters.iter().chain(&sw.metrics).collect();
    let header: Vec<String> = names
        .iter()
        .zip(&widths)
        .map(|(n, w)| format!("{n:>w$}"))
        .collect();
    let _ = writeln!(out, "{}", header.join("  "));
    for p in &sw.points {
        let cells: Vec<String> = names
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (n, w))| {
                let text = if i < sw.parameters.len() {
                    p.values[i].clone()
                } else {
                    estimate_text(n, p.figures.get(n.as_str()))
                };
                format!("{text:>w$}")
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  "));
    }
    out
}

fn sweep_csv(sw: &Sweep) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut header: Vec<String> = sw.parameters.iter().map(|p| quote(p)).collect();
    for m in &sw.metrics {
        header.push(quote(m));
        header.push(quote(&format!("{m}.half_width")));
    }
    let mut out = header.join(",");
    out.push('\n');
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for p in &sw.points {
        let mut row: Vec<String> = p.values.iter().map(|v| quote(v)).collect();
        for m in &sw.metrics {
            let e = p.figures.get(m);
            row.push(opt(e.and_then(|e| e.mean)));
            row.push(opt(e.and_then(|e| e.half_width)));
        }
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// `archsim jobs`.
pub fn jobs_cmd(args: &JobsArgs) -> ExitCode {
    exit((|| {
        let Some(dir) = &args.out else {
            print_stderr("error: where should the jobs go? add `--out DIR`\n");
            return Ok(ExitCode::from(2));
        };
        let text = read_file(&args.model)?;
        let file = args.model.display().to_string();
        let list = match &args.study {
            StudyArgs::Matrix {
                fault,
                replications,
                run,
            } => {
                let m = load_checked(&args.model, *run)?;
                jobs::matrix_jobs(&file, &text, &m, *fault, run.options(), *replications)
            }
            StudyArgs::Sweep(spec) => {
                let m = load_checked(&args.model, spec.run)?;
                let plan = Plan::new(&m, spec.set.clone(), &spec.metric)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                jobs::sweep_jobs(
                    &file,
                    &text,
                    &m,
                    &plan,
                    spec.run.options(),
                    spec.replications,
                )
            }
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        for job in &list {
            let path = dir.join(format!("job-{:05}.json", job.index));
            write_file(&path, &format!("{}\n", serde_json::to_string_pretty(job)?))?;
        }
        print_stdout(&format!(
            "wrote {} jobs to {} (job-00000.json …); run each with\n  \
             archsim job run JOB.json --out RESULT.json\nthen combine the results with\n  \
             archsim merge DIR...\n",
            list.len(),
            dir.display()
        ))?;
        Ok(ExitCode::SUCCESS)
    })())
}

/// `archsim job run`.
pub fn job_cmd(command: &JobCommand) -> ExitCode {
    exit((|| {
        let JobCommand::Run { file, out } = command;
        let text = read_file(file)?;
        let job: Job =
            serde_json::from_str(&text).map_err(|e| json_error(file, &text, &e, "job file"))?;
        let result = job
            .run()
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        write_file(
            out,
            &format!("{}\n", serde_json::to_string_pretty(&result)?),
        )?;
        Ok(ExitCode::SUCCESS)
    })())
}

/// A file's text, refused when too large or not UTF-8, with the error rendered as a model's.
fn read_file(path: &Path) -> anyhow::Result<String> {
    model::read_text(path).map_err(|d| anyhow::anyhow!("{}", d.render().trim_end()))
}

/// A job or result file serde could not read, positioned like a model's errors; an unknown
/// key is named as one in a model is, with the closest allowed key.
fn json_error(path: &Path, text: &str, e: &serde_json::Error, what: &str) -> anyhow::Error {
    let message = e.to_string();
    // serde appends the position to its message; the diagnostic shows it in front.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m);
    let diagnostic = match message.strip_prefix("unknown field `") {
        Some(rest) => {
            let (key, allowed) = rest.split_once('`').unwrap_or((rest, ""));
            let allowed: Vec<&str> = allowed.split('`').skip(1).step_by(2).collect();
            let col = e.column().saturating_sub(key.chars().count() + 1).max(1);
            model::Diagnostic::error(
                model::Span {
                    line: u32::try_from(e.line()).unwrap_or(u32::MAX),
                    col: u32::try_from(col).unwrap_or(u32::MAX),
                    end_line: u32::try_from(e.line()).unwrap_or(u32::MAX),
                    end_col: u32::try_from(col + key.chars().count() + 2).unwrap_or(u32::MAX),
                },
                format!("unknown key `{key}` in the {what}"),
            )
            .with_hint(model::diag::suggestion(key, "keys allowed here", &allowed))
        }
        None => model::Diagnostic::error(
            model::Span::point(
                u32::try_from(e.line().max(1)).unwrap_or(u32::MAX),
                u32::try_from(e.column().max(1)).unwrap_or(u32::MAX),
            ),
            format!("not a {what}: {message}"),
        )
        .with_hint(format!(
            "write the file with `archsim {}`",
            if what == "job file" {
                "jobs"
            } else {
                "job run"
            }
        )),
    };
    let d = model::Diagnostics {
        file: path.display().to_string(),
        source: text.to_string(),
        items: vec![diagnostic],
    };
    anyhow::anyhow!("{}", d.render().trim_end())
}

/// The result files among `paths` (directories are read, job files in them skipped), in
/// the order of their names.
fn result_files(paths: &[PathBuf]) -> anyhow::Result<Vec<JobResult>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(p.clone());
        }
    }
    let mut results = Vec::new();
    for f in files {
        let text = read_file(&f)?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", f.display()))?;
        if value.get("figures").is_none() && value.get("study").is_some() {
            continue;
        }
        results.push(
            serde_json::from_str(&text).map_err(|e| json_error(&f, &text, &e, "job result"))?,
        );
    }
    Ok(results)
}

/// `archsim merge`.
pub fn merge_cmd(args: &MergeArgs) -> ExitCode {
    exit((|| {
        let results = result_files(&args.paths)?;
        match jobs::merge(results)? {
            Merged::Matrix(mx) => write_matrix(&mx, args.json, args.csv, args.svg.as_deref())?,
            Merged::Sweep(sw) => {
                if args.csv {
                    if let Some(file) = &args.svg {
                        write_file(file, &sw.to_svg())?;
                    }
                    print_stdout(&sweep_csv(&sw))?;
                } else {
                    write_sweep(&sw, args.json, None, args.svg.as_deref())?;
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })())
}
