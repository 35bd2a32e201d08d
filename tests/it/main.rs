//! Integration tests, in one binary so they compile once.

// Queueing formulas read best in their textbook notation (λ, μ, c, K, p_n).
#![allow(clippy::many_single_char_names, clippy::doc_markdown)]
// A test's helper that meets the unexpected should stop the test with a message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod bad_models;
mod conservation;
mod determinism;
mod support;
mod theory;
