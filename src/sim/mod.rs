//! The simulation kernel: simulated time, the event queue, random streams and the engine
//! that moves requests through the components.
//!
//! Owns everything that happens inside a run. Must never: read files, look at the wall clock,
//! draw randomness from the environment, use threads inside a run, or know that a GUI
//! exists. Same model + same seed = the same events in the same order, on every machine.

pub mod cache;
mod engine;
mod queue;
pub mod random;
/// Simulated time lives below the model and the engine; re-exported where runs are set up.
pub use crate::shared::time;

pub use engine::{
    Held, LiveComponent, LiveLink, LiveState, MessageKind, RunOptions, SimError, Simulation,
    TracedMessage,
};
pub use time::SimTime;
