//! Helpers shared by the integration tests.

use std::sync::Arc;

use archsim::model::{self, Model};

/// Parses a model written inline in a test; panics with the rendered diagnostics if invalid.
pub fn model(text: &str) -> Arc<Model> {
    match model::parse("test.yaml", text) {
        Ok((m, _warnings)) => Arc::new(m),
        Err(d) => panic!("test model is invalid:\n{}", d.render()),
    }
}
