//! Helpers shared by the integration tests.

use std::sync::Arc;

use archsim::model::{self, Model};
use archsim::observe::Report;
use archsim::sim::{RunOptions, Simulation};

/// Parses a model written inline in a test; panics with the rendered diagnostics if invalid.
pub fn model(text: &str) -> Arc<Model> {
    match model::parse("test.yaml", text) {
        Ok((m, _warnings)) => Arc::new(m),
        Err(d) => panic!("test model is invalid:\n{}", d.render()),
    }
}

/// Runs an inline model with one seed, its own duration and warm-up; panics with the seed if
/// the engine reports a broken invariant.
pub fn run(text: &str, seed: u64) -> Report {
    let options = RunOptions {
        seed: Some(seed),
        ..RunOptions::default()
    };
    Simulation::new(model(text), options)
        .run()
        .unwrap_or_else(|e| panic!("the run failed: {e}; reproduce with --seed {seed}"))
}
