//! archsim: model a distributed architecture as a graph, simulate the traffic through it,
//! and see where it breaks.
//!
//! The flow runs one way: [`model`] (read and validate) → [`sim`] (run) → [`observe`]
//! (measure) → [`experiment`] (many runs) → front ends ([`cli`], and the app behind the
//! default `gui` feature). See ARCHITECTURE.md.

#[cfg(feature = "gui")]
pub mod app;
pub mod cli;
pub mod experiment;
pub mod lesson;
pub mod model;
pub mod observe;
pub mod shared;
pub mod sim;
