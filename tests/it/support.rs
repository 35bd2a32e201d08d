//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use archsim::experiment;
use archsim::model::{self, Model};
use archsim::observe::Report;
use archsim::sim::{RunOptions, SimTime, Simulation};

/// Parses a model written inline in a test; panics with the rendered diagnostics if invalid.
pub fn model(text: &str) -> Arc<Model> {
    match model::parse("test.yaml", text) {
        Ok((m, _warnings)) => Arc::new(m),
        Err(d) => panic!("test model is invalid:\n{}", d.render()),
    }
}

/// Where a bundled model (`models/NAME`) lives.
pub fn bundled_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name)
}

/// The text of a bundled model, to run as shipped or with a change.
pub fn bundled_text(name: &str) -> String {
    std::fs::read_to_string(bundled_path(name))
        .unwrap_or_else(|e| panic!("cannot read models/{name}: {e}"))
}

/// A bundled model read from its file, so diagnostics name it; panics if invalid.
pub fn bundled(name: &str) -> Arc<Model> {
    match model::load_file(&bundled_path(name)) {
        Ok((m, _warnings)) => Arc::new(m),
        Err(d) => panic!("models/{name} is invalid:\n{}", d.render()),
    }
}

/// Options with a seed and the model's own duration and warm-up.
pub fn seeded(seed: u64) -> RunOptions {
    RunOptions {
        seed: Some(seed),
        ..RunOptions::default()
    }
}

/// Options with a seed, a warm-up and a whole duration (warm-up included), in seconds.
pub fn timed(seed: u64, warmup_s: u64, duration_s: u64) -> RunOptions {
    RunOptions {
        seed: Some(seed),
        duration: Some(SimTime::from_secs(duration_s)),
        warmup: Some(SimTime::from_secs(warmup_s)),
    }
}

/// One run of a model; panics with the seed if the engine reports a broken invariant.
pub fn run_model(m: &Arc<Model>, options: RunOptions) -> Report {
    Simulation::new(Arc::clone(m), options)
        .run()
        .unwrap_or_else(|e| {
            panic!(
                "the run failed: {e}; reproduce with --seed {:?}",
                options.seed
            )
        })
}

/// Runs an inline model with one seed, its own duration and warm-up.
pub fn run(text: &str, seed: u64) -> Report {
    run_model(&model(text), seeded(seed))
}

/// `n` replications on consecutive seeds from the options' seed, in seed order.
pub fn replicate(m: &Arc<Model>, options: RunOptions, n: u32) -> Vec<Report> {
    experiment::run_replications(m, options, n)
        .unwrap_or_else(|e| panic!("the run failed: {e}; seeds from {:?}", options.seed))
}

/// Runs `f` on its own thread and fails the test if it has not finished within `limit`:
/// for tests that pin what once never ended, so that a regression fails CI rather than
/// hanging it. (A thread still looping is left behind; the test binary ends with the run.)
pub fn within<T: Send + 'static>(
    limit: std::time::Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {limit:?}")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            unreachable!("the thread sends before it ends, whatever f does")
        }
    }
}
