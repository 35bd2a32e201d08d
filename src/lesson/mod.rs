//! Lessons: short courses through live simulations. A lesson is an ordered list of steps;
//! each has a narrative, its model (a file, or a patch to another step's model), an
//! optional question asked before the run goes on, the checks the run must show, where to
//! pause, and optionally branches to other steps. The format is in docs/LESSONS.md.
//!
//! Everything here is read and judged without a screen: the app shows a lesson, and
//! `archsim lesson check` runs every step of it headless, with the same models, seeds and
//! checks, so that a change to the engine that breaks a lesson's story fails CI.
//!
//! Invariants once read: step ids are unique, every `next`, `base` and branch names a step,
//! every step's model is valid and its pause point lies within the model's run, every
//! question has a right answer.

pub mod check;
mod read;
pub mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::{Diagnostics, Model, Span};
use crate::observe::Report;
use crate::sim::{RunOptions, SimError, SimTime, Simulation};

pub use check::{Expr, Verdict};

#[derive(Debug, Clone)]
pub struct Lesson {
    pub path: PathBuf,
    pub title: String,
    /// One or two sentences for the list of lessons.
    pub summary: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub title: String,
    /// A few sentences of Markdown.
    pub text: String,
    pub model: Arc<Model>,
    /// Where the model came from, for messages: a file, or a step and a patch.
    pub model_source: String,
    /// The run pauses here for the checks and the next step.
    pub pause: SimTime,
    pub question: Option<Question>,
    pub checks: Vec<Check>,
    /// Components the app draws attention to.
    pub highlight: Vec<String>,
    pub next: Next,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The step at this index, or the end of the lesson.
    Step(Option<usize>),
    /// The learner chooses.
    Branches(Vec<Branch>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    pub choice: String,
    pub to: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub ask: String,
    pub choices: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub answer: String,
    pub right: bool,
    /// Why it is right or wrong, shown once the learner has answered.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// As written in the lesson.
    pub text: String,
    /// What it shows, in words; the expression itself when the lesson gives none.
    pub says: String,
    pub expr: Expr,
    pub span: Span,
}

/// Why a lesson could not be read: its own problems, and those of the model files its
/// steps name, each with positions in its own file.
#[derive(Debug, Clone)]
pub struct LoadError(pub Vec<Diagnostics>);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            f.write_str(&d.render())?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    #[must_use]
    pub fn error_count(&self) -> usize {
        self.0.iter().map(Diagnostics::error_count).sum()
    }
}

/// Reads a lesson file and every model its steps name.
///
/// # Errors
/// Every problem found, each with its file, line and column.
pub fn load(path: &Path) -> Result<Lesson, LoadError> {
    let text = crate::model::read_text(path).map_err(|d| LoadError(vec![d]))?;
    read::read(path, &text)
}

/// The lessons in the `lessons/` folder beside the working directory, sorted by file name.
#[must_use]
pub fn bundled() -> Vec<PathBuf> {
    bundled_in(Path::new("lessons"))
}

/// The lesson files (`*.yaml`) in `dir`, sorted by file name.
#[must_use]
pub fn bundled_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    found.sort();
    found
}

/// What one step's run showed.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub step: usize,
    pub verdicts: Vec<Verdict>,
    pub report: Report,
}

impl StepOutcome {
    #[must_use]
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(Verdict::holds)
    }
}

impl Lesson {
    /// Runs one step headless to its pause point, as the app does, and judges its checks.
    ///
    /// # Errors
    /// A run that stopped at one of the model's limits.
    pub fn run_step(&self, step: usize) -> Result<StepOutcome, SimError> {
        let s = &self.steps[step];
        let mut sim = Simulation::new(Arc::clone(&s.model), RunOptions::default());
        sim.run_until(s.pause);
        let report = sim.report_now()?;
        let verdicts = judge_all(&s.checks, &report, s.pause, s.pause);
        Ok(StepOutcome {
            step,
            verdicts,
            report,
        })
    }

    /// The steps a learner can reach from the first, in the order first reached.
    #[must_use]
    pub fn reachable(&self) -> Vec<usize> {
        let mut seen = vec![false; self.steps.len()];
        let mut order = Vec::new();
        let mut stack = vec![0];
        while let Some(i) = stack.pop() {
            if i >= self.steps.len() || std::mem::replace(&mut seen[i], true) {
                continue;
            }
            order.push(i);
            match &self.steps[i].next {
                Next::Step(Some(n)) => stack.push(*n),
                Next::Step(None) => {}
                Next::Branches(b) => stack.extend(b.iter().rev().map(|b| b.to)),
            }
        }
        order
    }

    #[must_use]
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }
}

/// Judges each check against a report at `now`, for a step that pauses at `pause`.
#[must_use]
pub fn judge_all(checks: &[Check], report: &Report, now: SimTime, pause: SimTime) -> Vec<Verdict> {
    if checks.is_empty() {
        return Vec::new();
    }
    let value = serde_json::to_value(report).unwrap_or_default();
    checks
        .iter()
        .map(|c| c.expr.judge(&value, now, pause))
        .collect()
}
