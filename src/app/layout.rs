//! The diagram's layout lives in the core (`crate::model::layout`), where the HTML review
//! draws the same picture without the GUI.

pub use crate::model::layout::*;
