//! `archsim lesson FILE` (the app on a lesson) and `archsim lesson check FILE...` (every
//! step of every lesson run headless, each check judged).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use rayon::prelude::*;

use crate::lesson::{self, Lesson, Verdict};

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_required = false)]
pub(super) struct LessonArgs {
    #[command(subcommand)]
    command: Option<LessonCommand>,
    /// The lesson file (YAML) to open in the app.
    #[arg(required = true)]
    file: Option<PathBuf>,
    /// Save a screenshot of the window, with the lesson's panel, to this PNG file and exit.
    #[arg(long, value_name = "FILE")]
    screenshot: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum LessonCommand {
    /// Run every step of each lesson (every branch) and judge its checks; exit code 1
    /// naming the step and the check that failed.
    Check {
        /// Lesson files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub(super) fn lesson_cmd(args: &LessonArgs) -> ExitCode {
    match (&args.command, &args.file) {
        (Some(LessonCommand::Check { files }), _) => check_files(files),
        (None, Some(path)) => match lesson::load(path) {
            Ok(l) => super::open::open_lesson(l, args.screenshot.clone()),
            Err(e) => {
                super::print_stderr(&format!(
                    "{e}{}: {}\n",
                    path.display(),
                    super::errors(e.error_count())
                ));
                ExitCode::from(1)
            }
        },
        (None, None) => {
            super::print_stderr(
                "error: name a lesson file, e.g. `archsim lesson lessons/1_growing_up.yaml`\n",
            );
            ExitCode::from(2)
        }
    }
}

fn check_files(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for path in files {
        match lesson::load(path) {
            Ok(l) => {
                let (text, ok) = check_lesson(&l);
                super::print_stdout(&text).ok();
                failed |= !ok;
            }
            Err(e) => {
                super::print_stderr(&format!(
                    "{e}{}: {}; no step was run\n",
                    path.display(),
                    super::errors(e.error_count())
                ));
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs every step (on both cores: each step's run is independent of the others) and
/// says, step by step, what each check saw.
fn check_lesson(l: &Lesson) -> (String, bool) {
    let file = l.path.display();
    let outcomes: Vec<_> = (0..l.steps.len())
        .into_par_iter()
        .map(|i| l.run_step(i))
        .collect();
    let mut out = String::new();
    let mut ok = true;
    let reachable = l.reachable();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let s = &l.steps[i];
        let where_ = format!("{file}:{}:{}", s.span.line, s.span.col);
        if !reachable.contains(&i) {
            let _ = writeln!(
                out,
                "{where_}: warning: step `{}` is reached from no other step",
                s.id
            );
        }
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                ok = false;
                let _ = writeln!(out, "{where_}: FAILED step `{}`: {e}", s.id);
                continue;
            }
        };
        let passed = outcome.verdicts.iter().filter(|v| v.holds()).count();
        let _ = writeln!(
            out,
            "{}step `{}` ({}/{}), run to {}: {passed} of {} checks hold",
            if outcome.passed() {
                "ok      "
            } else {
                "FAILED  "
            },
            s.id,
            i + 1,
            l.steps.len(),
            s.pause,
            s.checks.len()
        );
        for (c, v) in s.checks.iter().zip(&outcome.verdicts) {
            let at = format!("{file}:{}:{}", c.span.line, c.span.col);
            match v {
                Verdict::Holds { seen } => {
                    let _ = writeln!(out, "          ✓ {} (saw {})", c.text, figure(*seen));
                }
                Verdict::Fails { seen } => {
                    ok = false;
                    let _ = writeln!(
                        out,
                        "{at}: FAILED check of step `{}`: {} (saw {})",
                        s.id,
                        c.text,
                        figure(*seen)
                    );
                }
                Verdict::Missing(why) => {
                    ok = false;
                    let _ = writeln!(
                        out,
                        "{at}: FAILED check of step `{}`: {}: {why}",
                        s.id, c.text
                    );
                }
                Verdict::NotYet => {
                    ok = false;
                    let _ = writeln!(
                        out,
                        "{at}: FAILED check of step `{}`: {}: its window ends after the \
                         step's pause at {}",
                        s.id, c.text, s.pause
                    );
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "{file}: {} — {} steps, {}",
        l.title,
        l.steps.len(),
        if ok {
            "every check holds"
        } else {
            "some checks FAILED"
        }
    );
    (out, ok)
}

fn figure(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}
