//! Integration tests, in one binary so they compile once.

// Queueing formulas read best in their textbook notation (λ, μ, c, K, p_n).
#![allow(clippy::many_single_char_names, clippy::doc_markdown)]

mod bad_models;
mod conservation;
mod determinism;
mod support;
mod theory;
