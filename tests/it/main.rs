//! Integration tests, in one binary so they compile once.

mod bad_models;
mod conservation;
mod determinism;
mod support;
mod theory;
