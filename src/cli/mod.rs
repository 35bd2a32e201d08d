//! The command line: glue between the user's terminal and the library.
//!
//! Parses arguments, reads files, prints reports and maps outcomes to exit codes: 0 success,
//! 1 a model with errors or a failed run, 2 a command line that could not be understood.
//! Everything it prints is computed by the library; nothing here simulates or measures.

mod diagram;
mod experiments;
mod fuzz;
mod lesson;
mod open;
mod trace;

use open::open;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use serde_json::Value;

use crate::experiment;
use crate::model::{self, Diagnostic, Model, Severity, units::parse_duration};
use crate::sim::{RunOptions, SimTime};

#[derive(Parser)]
#[command(
    name = "archsim",
    version,
    about = "Simulate a distributed architecture and see where it breaks",
    after_help = "Examples:
  archsim                      (opens the app on the built-in example)
  archsim open models/checkout.yaml
  archsim run models/checkout.yaml --seed 3 --json
  archsim validate models/checkout.yaml
  archsim trace models/retry_storm.yaml --failed timeout --at 4m
  archsim diagram models/single_point_of_failure.yaml -o spof.svg --at 2m
  archsim matrix models/single_point_of_failure.yaml --fault one-replica
  archsim compare models/single_point_of_failure.yaml --scenario db_down
  archsim check models/single_point_of_failure.yaml --junit slo.xml
  archsim sweep models/checkout.yaml --set app.replicas=1..4 --set app.workers=4,8 --plot sweep.svg
  archsim report models/single_point_of_failure.yaml -o review.html
  archsim jobs models/platform_30.yaml --out jobs/ matrix --fault slow:10x
  archsim job run jobs/job-00000.json --out results/job-00000.json
  archsim merge results/"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a model and print a summary (or the full report with --json).
    Run {
        /// The model file (YAML).
        model: PathBuf,
        /// Seed of the random streams [default: the model's `seed`].
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated length, e.g. 10m [default: the model's `duration`].
        #[arg(long, value_parser = duration_arg)]
        duration: Option<SimTime>,
        /// Time excluded from statistics, e.g. 30s [default: the model's `warmup`].
        #[arg(long, value_parser = duration_arg)]
        warmup: Option<SimTime>,
        /// Print the JSON report instead of the summary.
        #[arg(long)]
        json: bool,
        /// Also write the JSON report to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Run N seeds (seed, seed+1, ...) and report each figure's mean and 95% interval.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
        replications: Option<u32>,
    },
    /// Check a model without running it; exit code 1 if it has errors.
    Validate {
        /// The model file (YAML).
        model: PathBuf,
    },
    /// Print the JSON Schema of the model format (or of lessons), for editors.
    Schema {
        /// The schema of lesson files instead of models.
        #[arg(long)]
        lesson: bool,
    },
    /// Open the app on a model (the built-in example without one).
    Open {
        /// The model file (YAML); watched, and reloaded when it changes.
        model: Option<PathBuf>,
        #[command(flatten)]
        flags: open::OpenFlags,
    },
    /// Open the app on a new sketch to draw (users calling one service), run as you draw.
    New {
        /// Where Save writes the sketch; it must not exist yet [default: Save asks].
        file: Option<PathBuf>,
    },
    /// Compare a scenario with the baseline on common random numbers, with 95% intervals.
    Compare(experiments::CompareArgs),
    /// The resiliency matrix: one run per failed component, cells per user flow.
    Matrix(experiments::MatrixArgs),
    /// Check every SLO under the baseline and each scenario; exit code 1 on a breach.
    Check(experiments::CheckArgs),
    /// Run every combination of parameter values; a table, CSV and a plot.
    Sweep(experiments::SweepArgs),
    /// Write one self-contained HTML page for a review: diagram, figures, plots, matrix, SLOs.
    Report(experiments::ReportArgs),
    /// Write each run of a matrix or sweep as a self-contained job file, for a batch system.
    Jobs(experiments::JobsArgs),
    /// Run one job file written by `archsim jobs`.
    Job {
        #[command(subcommand)]
        command: experiments::JobCommand,
    },
    /// Mutate the bundled models and read and run each mutant in its own process; exit
    /// code 1 when one panics, aborts, hangs or breaks a rule (kept under --keep).
    Fuzz(fuzz::FuzzArgs),
    /// One case of `archsim fuzz` (run by it).
    #[command(hide = true)]
    FuzzCase { file: PathBuf },
    /// Combine the results of a study's jobs into its matrix or sweep.
    Merge(experiments::MergeArgs),
    /// Lessons: guided courses through live simulations (`lesson check` runs them headless).
    Lesson(lesson::LessonArgs),
    /// Print request traces as waterfalls, with why each went as it did.
    Trace(trace::TraceArgs),
    /// Draw the architecture at one instant of a run (health, busy share, queues) as SVG
    /// or PNG.
    Diagram(diagram::DiagramArgs),
}

fn duration_arg(text: &str) -> Result<SimTime, String> {
    parse_duration(text)
}

/// Runs the command line and returns the process exit code.
#[must_use]
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    match cli.command {
        None => open(None, open::OpenFlags::default()),
        Some(Command::Open { model, flags }) => open(model, flags),
        Some(Command::New { file }) => open::new_sketch(file),
        Some(Command::Fuzz(args)) => fuzz::fuzz(&args),
        Some(Command::FuzzCase { file }) => fuzz::fuzz_case(&file),
        Some(Command::Schema { lesson }) => {
            let schema = if lesson {
                crate::lesson::schema::json_schema()
            } else {
                model::schema::json_schema()
            };
            #[expect(
                clippy::expect_used,
                reason = "the schema is built from constants and always serialises"
            )]
            let text = serde_json::to_string_pretty(&schema).expect("schema serialises");
            match print_stdout(&format!("{text}\n")) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Some(Command::Validate { model }) => validate(&model),
        Some(Command::Compare(args)) => experiments::compare_cmd(&args),
        Some(Command::Matrix(args)) => experiments::matrix_cmd(&args),
        Some(Command::Check(args)) => experiments::check_cmd(&args),
        Some(Command::Sweep(args)) => experiments::sweep_cmd(&args),
        Some(Command::Report(args)) => experiments::report_cmd(&args),
        Some(Command::Jobs(args)) => experiments::jobs_cmd(&args),
        Some(Command::Job { command }) => experiments::job_cmd(&command),
        Some(Command::Merge(args)) => experiments::merge_cmd(&args),
        Some(Command::Lesson(args)) => lesson::lesson_cmd(&args),
        Some(Command::Trace(args)) => trace::trace_cmd(&args),
        Some(Command::Diagram(args)) => diagram::diagram_cmd(&args),
        Some(Command::Run {
            model,
            seed,
            duration,
            warmup,
            json,
            out,
            replications,
        }) => {
            let options = RunOptions {
                seed,
                duration,
                warmup,
            };
            match run(&model, options, json, out.as_deref(), replications) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
    }
}

/// Writes to standard output and says when that failed: a report that could not be written
/// (a full disk, a closed file) must not pass for a success. A reader that has gone (`archsim
/// run ... | head`) is normal use, not a failure.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            anyhow::bail!("cannot write to standard output: {e}")
        }
        _ => Ok(()),
    }
}

/// Writes a diagnostic to standard error. Nothing is left to tell when standard error itself
/// is gone (a pipe whose reader has exited), so its errors are ignored rather than panicking
/// as `eprintln!` does.
fn print_stderr(text: &str) {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(text.as_bytes())
        .and_then(|()| stderr.flush());
}

/// Prints a failure and gives the exit code for it.
fn fail(e: &anyhow::Error) -> ExitCode {
    print_stderr(&format!("{e}\n"));
    ExitCode::from(1)
}

fn print_warnings(file: &str, warnings: &[Diagnostic]) {
    for w in warnings.iter().filter(|d| d.severity == Severity::Warning) {
        print_stderr(&format!(
            "{file}:{}:{}: warning: {}\n",
            w.span.line, w.span.col, w.message
        ));
    }
}

fn validate(path: &Path) -> ExitCode {
    match model::load_file(path) {
        Ok((m, warnings)) => {
            print_warnings(&path.display().to_string(), &warnings);
            match print_stdout(&format!(
                "{}: ok — {} components, {} workloads, {} request types\n",
                path.display(),
                m.components.len(),
                m.workloads.len(),
                m.request_types.len()
            )) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Err(diags) => {
            print_stderr(&format!(
                "{}{}: {}\n",
                diags.render(),
                path.display(),
                errors(diags.error_count())
            ));
            ExitCode::from(1)
        }
    }
}

/// "1 error", "3 errors": the last line under a file's diagnostics.
fn errors(n: usize) -> String {
    format!("{n} error{}", if n == 1 { "" } else { "s" })
}

fn load(path: &Path) -> anyhow::Result<Arc<Model>> {
    match model::load_file(path) {
        Ok((m, warnings)) => {
            print_warnings(&path.display().to_string(), &warnings);
            Ok(Arc::new(m))
        }
        Err(diags) => anyhow::bail!(
            "{}{}: {}; nothing was run",
            diags.render(),
            path.display(),
            errors(diags.error_count())
        ),
    }
}

/// A `--duration` other than the model's must not slip past the estimate the reader made
/// of the model's own: refused above its bound, warned about above the lower one.
fn check_duration(path: &Path, m: &Model, duration: Option<SimTime>) -> anyhow::Result<()> {
    if let Some(d) = duration
        && d != m.duration
    {
        let mut longer = m.clone();
        longer.duration = d;
        let effort = model::effort::effort_warnings(&longer);
        if let Some(e) = effort.iter().find(|e| e.severity == Severity::Error) {
            anyhow::bail!("--duration {d}: {}; nothing was run", e.message);
        }
        print_warnings(&path.display().to_string(), &effort);
    }
    Ok(())
}

fn run(
    path: &Path,
    options: RunOptions,
    json: bool,
    out: Option<&Path>,
    replications: Option<u32>,
) -> anyhow::Result<()> {
    let m = load(path)?;
    if let (Some(d), Some(w)) = (
        options.duration.or(Some(m.duration)),
        options.warmup.or(Some(m.warmup)),
    ) && w >= d
    {
        anyhow::bail!("the warm-up ({w}) must be shorter than the run ({d})");
    }
    check_duration(path, &m, options.duration)?;
    #[expect(
        clippy::disallowed_methods,
        reason = "how long the run took is said beside the report, never part of it"
    )]
    let started = std::time::Instant::now();
    let mut interrupted = None;
    let (json_text, summary) = match replications {
        None | Some(1) => {
            let (report, end, stopped_at) = run_with_progress(&m, options)?;
            interrupted = stopped_at;
            match stopped_at {
                None => (report.to_json(), report.to_text()),
                Some(at) => {
                    // Marked in the JSON too, so that a script never takes it for a whole run.
                    let mut value = serde_json::to_value(&report)?;
                    value["incomplete"] =
                        serde_json::json!({ "interrupted_at_s": at.as_secs_f64() });
                    (
                        serde_json::to_string_pretty(&value)?,
                        format!(
                            "INCOMPLETE: interrupted (Ctrl-C) at {at} of {}; the figures cover \
                             the run up to then\n{}",
                            end,
                            report.to_text()
                        ),
                    )
                }
            }
        }
        Some(n) => {
            let reports = experiment::run_replications(&m, options, n)?;
            let combined = experiment::combine(&reports);
            (
                serde_json::to_string_pretty(&combined)?,
                replicated_text(&combined),
            )
        }
    };
    if let Some(file) = out {
        std::fs::write(file, &json_text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
    }
    if json {
        print_stdout(&format!("{json_text}\n"))?;
    } else {
        print_stdout(&format!(
            "{summary}\n(simulated in {:.2}s)\n",
            started.elapsed().as_secs_f64()
        ))?;
    }
    if interrupted.is_some() {
        // The shell's convention for a command ended by SIGINT.
        std::process::exit(130);
    }
    Ok(())
}

/// One run with a progress bar on standard error (simulated time and events a second;
/// hidden when standard error is not a terminal). Ctrl-C ends it at the current instant:
/// the report so far is returned with the run's end and the instant it stopped.
fn run_with_progress(
    m: &Arc<Model>,
    options: RunOptions,
) -> anyhow::Result<(crate::observe::Report, SimTime, Option<SimTime>)> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static INTERRUPTED: AtomicBool = AtomicBool::new(false);
    // A second handler cannot be set in one process; the first is all a run needs.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    let mut sim = crate::sim::Simulation::new(Arc::clone(m), options);
    let end = sim.end();
    let bar = indicatif::ProgressBar::new(end.as_nanos());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    #[expect(
        clippy::disallowed_methods,
        reason = "events a second on the progress bar, never part of the report"
    )]
    let started = std::time::Instant::now();
    // Slices of a thousandth of the run: the bar moves smoothly and Ctrl-C is seen at once.
    let slice = SimTime::from_nanos((end.as_nanos() / 1000).max(1));
    while sim.now() < end && sim.stopped().is_none() && !INTERRUPTED.load(Ordering::SeqCst) {
        sim.run_until(sim.now() + slice);
        let rate = sim.events_processed() as f64 / started.elapsed().as_secs_f64().max(1e-6);
        bar.set_position(sim.now().as_nanos());
        bar.set_message(format!(
            "{} of {end}, {:.1}M events/s",
            sim.now(),
            rate / 1e6
        ));
    }
    bar.finish_and_clear();
    let stopped_at = (INTERRUPTED.load(Ordering::SeqCst) && sim.now() < end).then(|| sim.now());
    Ok((sim.finish()?, end, stopped_at))
}

/// The summary table of replications: each figure as mean ± half-width of its 95% interval.
fn replicated_text(v: &Value) -> String {
    let mut out = String::new();
    let n = v["replications"].as_u64().unwrap_or(0);
    let _ = writeln!(
        out,
        "{} — {n} replications (seeds {}), 95% confidence intervals\n",
        v["model"].as_str().unwrap_or("model"),
        v["seeds"]
            .as_array()
            .map(|s| s
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    );
    let pm = |x: &Value, scale: f64, unit: &str| -> String {
        match (x["mean"].as_f64(), x["half_width"].as_f64()) {
            (Some(m), Some(h)) => format!("{:.3}{unit} ± {:.3}", m * scale, h * scale),
            _ => "-".into(),
        }
    };
    let _ = writeln!(
        out,
        "{:<16} {:>22} {:>22} {:>22}",
        "request", "ok/s", "mean (ms)", "p99 (ms)"
    );
    if let Some(reqs) = v["requests"].as_object() {
        for (name, r) in reqs {
            let _ = writeln!(
                out,
                "{name:<16} {:>22} {:>22} {:>22}",
                pm(&r["throughput_per_s"], 1.0, ""),
                pm(&r["latency_s"]["mean"], 1e3, ""),
                pm(&r["latency_s"]["p99"], 1e3, "")
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{:<16} {:>22} {:>22} {:>22}",
        "component", "utilization", "queue", "resp mean (ms)"
    );
    if let Some(comps) = v["components"].as_object() {
        for (name, c) in comps {
            let _ = writeln!(
                out,
                "{name:<16} {:>22} {:>22} {:>22}",
                pm(&c["utilization"], 1.0, ""),
                pm(&c["queue_mean"], 1.0, ""),
                pm(&c["response_s"]["mean"], 1e3, "")
            );
        }
    }
    out
}
