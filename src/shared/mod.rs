//! Types that the model, the simulation and what a run observed all speak: simulated time
//! and the ids of components and request types. They sit below all three, so that none of
//! them reaches into another for its vocabulary.

pub mod ids;
pub mod time;

pub use ids::{ComponentId, RequestTypeId};
pub use time::SimTime;
