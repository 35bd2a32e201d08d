//! Ids of what a model names. They index the model's sorted names, so they do not depend on
//! the order of the file.

/// Index of a component in the model's components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId(pub u32);

/// Index of a request type in the model's request types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestTypeId(pub u16);
