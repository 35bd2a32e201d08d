//! Integration tests, in one binary so they compile once.

// Queueing formulas read best in their textbook notation (λ, μ, c, K, p_n).
#![allow(clippy::many_single_char_names, clippy::doc_markdown)]
// A test's helper that meets the unexpected should stop the test with a message.
#![allow(clippy::expect_used, clippy::unwrap_used)]
// Rates compared with exactly 0.0 stand for counts of zero, which are exact.
#![allow(clippy::float_cmp)]

#[cfg(feature = "gui")]
mod app;
mod bad_models;
mod bundled;
mod caches;
mod conservation;
mod databases;
mod determinism;
#[cfg(feature = "gui")]
mod editor;
mod experiments;
mod faults;
mod fuzz;
mod jobs;
mod lessons;
mod queues;
mod regressions;
mod resilience;
mod review;
mod support;
mod sweep;
mod theory;
mod traces;
#[cfg(feature = "gui")]
mod window;
mod write;
