//! Jobs: the runs of a matrix or a sweep as self-contained files, for a batch system.
//!
//! A job holds everything one run needs: the model's text, the run's seed and options, and
//! what makes it this run (the component that fails, or the overrides of a sweep's point).
//! Running a job needs nothing but the job, so a batch engine can fan jobs out across
//! machines; each gives a result (the job and the figures of its run), and [`merge`]
//! assembles the results into exactly the matrix or sweep the local command computes. Must
//! never: read or write files (the command line does), or depend on the order results come
//! back in.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::figures::RunFigures;
use super::matrix::{self, Matrix, MatrixFault, with_failure};
use super::run_once;
use super::sweep::{self, Parameter, Plan, Sweep};
use crate::model::{self, ComponentId, Model};
use crate::sim::{RunOptions, SimError, SimTime};

/// The version of the job format, written in every job and result.
pub const FORMAT: &str = "archsim-job/1";

/// The study a job belongs to: the same in every job of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Study {
    /// A resiliency matrix with this kind of failure (`crash`, `slow:10x`, ...).
    Matrix { fault: String },
    /// A sweep of these parameters, measuring these metrics.
    Sweep {
        parameters: Vec<Parameter>,
        metrics: Vec<String>,
    },
}

/// One override of a sweep's point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Set {
    pub path: String,
    pub value: String,
}

/// One run of a study, self-contained. Unknown keys are refused, as in a model: a key
/// misspelt by hand would otherwise be ignored and the job run as if it were absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub format: String,
    pub study: Study,
    /// The seeds of the study (each point or row runs on all of them).
    pub seeds: Vec<u64>,
    /// This job's place among the study's runs, from 0.
    pub index: usize,
    /// How many runs the study has.
    pub of: usize,
    /// The model's file, for messages.
    pub model_file: String,
    /// The model's text, as read from the file.
    pub model: String,
    pub seed: u64,
    /// Simulated length and warm-up, when the command line set them.
    pub duration_ns: Option<u64>,
    pub warmup_ns: Option<u64>,
    /// A matrix's run: the component that fails; `None` for the baseline.
    pub fail: Option<String>,
    /// A sweep's run: the overrides of its point.
    pub set: Vec<Set>,
}

/// What running a job gives: the job, and the figures of its run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobResult {
    pub job: Job,
    pub figures: RunFigures,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Model(String),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error("cannot merge: {0}")]
    Merge(String),
}

/// A merged study.
#[derive(Debug, Clone, PartialEq)]
pub enum Merged {
    Matrix(Matrix),
    Sweep(Sweep),
}

fn template(
    study: Study,
    seeds: &[u64],
    of: usize,
    model_file: &str,
    model_text: &str,
    options: RunOptions,
) -> Job {
    Job {
        format: FORMAT.to_string(),
        study,
        seeds: seeds.to_vec(),
        index: 0,
        of,
        model_file: model_file.to_string(),
        model: model_text.to_string(),
        seed: 0,
        duration_ns: options.duration.map(SimTime::as_nanos),
        warmup_ns: options.warmup.map(SimTime::as_nanos),
        fail: None,
        set: Vec::new(),
    }
}

/// The jobs of a resiliency matrix, in the order of [`matrix::runs`].
#[must_use]
pub fn matrix_jobs(
    model_file: &str,
    model_text: &str,
    model: &Model,
    fault: MatrixFault,
    options: RunOptions,
    replications: u32,
) -> Vec<Job> {
    let seeds = matrix::seeds(model, options, replications);
    let runs = matrix::runs(model, &seeds);
    let base = template(
        Study::Matrix {
            fault: fault.to_string(),
        },
        &seeds,
        runs.len(),
        model_file,
        model_text,
        options,
    );
    runs.into_iter()
        .enumerate()
        .map(|(index, (failed, seed))| Job {
            index,
            seed,
            fail: failed.map(|id| model.component(id).name.clone()),
            ..base.clone()
        })
        .collect()
}

/// The jobs of a sweep, in the order of [`Plan::runs`].
#[must_use]
pub fn sweep_jobs(
    model_file: &str,
    model_text: &str,
    model: &Model,
    plan: &Plan,
    options: RunOptions,
    replications: u32,
) -> Vec<Job> {
    let seeds = sweep::seeds(model, options, replications);
    let runs = plan.runs(&seeds);
    let base = template(
        Study::Sweep {
            parameters: plan.parameters.clone(),
            metrics: plan.metric_names(),
        },
        &seeds,
        runs.len(),
        model_file,
        model_text,
        options,
    );
    runs.into_iter()
        .enumerate()
        .map(|(index, (point, seed))| Job {
            index,
            seed,
            set: plan
                .set_of(point)
                .into_iter()
                .map(|(path, value)| Set { path, value })
                .collect(),
            ..base.clone()
        })
        .collect()
}

impl Job {
    fn options(&self) -> RunOptions {
        RunOptions {
            seed: Some(self.seed),
            duration: self.duration_ns.map(SimTime::from_nanos),
            warmup: self.warmup_ns.map(SimTime::from_nanos),
        }
    }

    /// The model of the whole study (as written).
    fn study_model(&self) -> Result<Model, JobError> {
        if self.format != FORMAT {
            return Err(JobError::Model(format!(
                "a job in format `{}`; this archsim reads `{FORMAT}`",
                self.format
            )));
        }
        model::parse(&self.model_file, &self.model)
            .map(|(m, _)| m)
            .map_err(|d| JobError::Model(d.render()))
    }

    /// This run's model: the study's, with its failure or its overrides.
    fn run_model(&self, m: &Model) -> Result<Model, JobError> {
        let mut variant = if self.set.is_empty() {
            m.clone()
        } else {
            let set: Vec<(String, String)> = self
                .set
                .iter()
                .map(|s| (s.path.clone(), s.value.clone()))
                .collect();
            sweep::variant(m, &set).map_err(JobError::Model)?
        };
        if let Some(name) = &self.fail {
            let Study::Matrix { fault } = &self.study else {
                return Err(JobError::Model(
                    "a job with `fail` belongs to a matrix".to_string(),
                ));
            };
            let fault: MatrixFault = fault.parse().map_err(JobError::Model)?;
            let i = m
                .components
                .iter()
                .position(|c| &c.name == name)
                .ok_or_else(|| JobError::Model(format!("the model has no component `{name}`")))?;
            let id = ComponentId(u32::try_from(i).unwrap_or(u32::MAX));
            variant = with_failure(&variant, id, fault);
        }
        Ok(variant)
    }

    /// Runs the job.
    ///
    /// # Errors
    /// A model or an override that does not read (a job edited by hand, or written by
    /// another version), or a broken engine invariant.
    pub fn run(&self) -> Result<JobResult, JobError> {
        let m = self.study_model()?;
        let variant = Arc::new(self.run_model(&m)?);
        let report = run_once(&variant, self.options())?;
        Ok(JobResult {
            job: self.clone(),
            figures: RunFigures::of(&report),
        })
    }
}

/// Assembles the results of every job of one study into its matrix or sweep, whatever
/// order they come in.
///
/// # Errors
/// Results of different studies, a job missing or given twice, or a study that no longer
/// reads.
pub fn merge(mut results: Vec<JobResult>) -> Result<Merged, JobError> {
    let Some(first) = results.first().map(|r| r.job.clone()) else {
        return Err(JobError::Merge("no results".to_string()));
    };
    for r in &results {
        let j = &r.job;
        if j.study != first.study
            || j.seeds != first.seeds
            || j.of != first.of
            || j.model != first.model
            || j.duration_ns != first.duration_ns
            || j.warmup_ns != first.warmup_ns
        {
            return Err(JobError::Merge(format!(
                "the results come from different studies: job {} differs from job {} in its \
                 study, seeds, model or options",
                j.index, first.index
            )));
        }
    }
    results.sort_by_key(|r| r.job.index);
    for (i, r) in results.iter().enumerate() {
        if r.job.index != i {
            let (what, which) = if r.job.index < i {
                ("given twice", r.job.index)
            } else {
                ("missing", i)
            };
            return Err(JobError::Merge(format!(
                "the result of job {which} of {} is {what}",
                first.of
            )));
        }
    }
    if results.len() != first.of {
        return Err(JobError::Merge(format!(
            "the result of job {} of {} is missing",
            results.len(),
            first.of
        )));
    }
    let m = first.study_model()?;
    let figures: Vec<RunFigures> = results.into_iter().map(|r| r.figures).collect();
    match &first.study {
        Study::Matrix { fault } => {
            let fault: MatrixFault = fault.parse().map_err(JobError::Model)?;
            Ok(Merged::Matrix(matrix::assemble(
                &m,
                fault,
                first.seeds,
                &figures,
            )))
        }
        Study::Sweep {
            parameters,
            metrics,
        } => {
            let plan = Plan::new(&m, parameters.clone(), metrics).map_err(JobError::Model)?;
            Ok(Merged::Sweep(plan.assemble(&m, first.seeds, &figures)))
        }
    }
}
