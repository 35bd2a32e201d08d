//! Reads `limits:`: how much a run may hold at once (requests and calls in flight, messages
//! in queues) before it stops with an error.

use crate::model::yaml::Node;
use crate::model::{Limits, schema};

use super::Reader;

/// The engine numbers what it holds with 32 bits, a few values kept aside.
const MAX_LIMIT: u64 = 1_000_000_000;

impl Reader {
    pub(super) fn limits(&mut self, node: &Node) -> Option<Limits> {
        let f = self.fields(node, "`limits`", schema::LIMITS)?;
        let defaults = Limits::default();
        let mut read = |key: &str, default: u64| {
            let Some(n) = f.get(key) else {
                return Some(default);
            };
            let v = self.int(n, &format!("limits.{key}"), 1)?;
            if v > MAX_LIMIT {
                self.error_hint(
                    n.span,
                    format!("limits.{key}: `{v}` is above the most a run can hold, {MAX_LIMIT}"),
                    "each one takes memory: a billion requests in flight would need hundreds of \
                     gigabytes",
                );
                return None;
            }
            Some(v)
        };
        let requests = read("requests", defaults.requests);
        let calls = read("calls", defaults.calls);
        let messages = read("messages", defaults.messages);
        Some(Limits {
            requests: requests?,
            calls: calls?,
            messages: messages?,
        })
    }
}
