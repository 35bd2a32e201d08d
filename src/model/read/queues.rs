//! Reads a message `queue`: durability, capacity, visibility timeout, redelivery limit,
//! consumers and prefetch, ordering (`per_key` partitions, `causal` with its `depends`).

use crate::model::diag::{Span, suggestion};
use crate::model::dist::Dist;
use crate::model::yaml::{Node, NodeKind};
use crate::model::{Broker, ComponentId, Data, External, MessageOrdering, RequestTypeId, schema};
use crate::shared::time::SimTime;

use super::Reader;
use super::values::Fields;

impl Reader {
    pub(super) fn queue(&mut self, name: &str, span: Span, f: &Fields<'_>) -> Option<External> {
        let latency = f
            .get("latency")
            .map_or(Some(Dist::Const(SimTime::ZERO)), |n| {
                self.dist(n, "latency")
            });
        let consumers = f.get("consumers").and_then(|n| {
            let items: Vec<&Node> = match &n.kind {
                NodeKind::Seq(items) => items.iter().collect(),
                _ => vec![n],
            };
            if items.is_empty() {
                self.error_hint(
                    n.span,
                    format!("queue `{name}` has no consumers"),
                    "name the service whose replicas pull its messages: `consumers: worker`",
                );
                return None;
            }
            let ids: Vec<ComponentId> = items
                .iter()
                .filter_map(|i| self.component_ref(i, "consumers"))
                .collect();
            (ids.len() == items.len()).then_some(ids)
        });
        let prefetch = match f.get("prefetch") {
            None => Some(None),
            Some(n) => self.int_u32(n, "prefetch", 1).map(Some),
        };
        let durable = f
            .get("durable")
            .map_or(Some(true), |n| self.boolean(n, "durable"));
        let visibility_timeout = f
            .get("visibility_timeout")
            .map_or(Some(SimTime::from_secs(30)), |n| {
                self.positive_duration(n, "visibility_timeout")
            });
        let max_deliveries = f
            .get("max_deliveries")
            .map_or(Some(5), |n| self.int_u32(n, "max_deliveries", 1));
        let capacity = match f.get("capacity") {
            None => Some(None),
            Some(n) => self.int_u32(n, "capacity", 1).map(Some),
        };
        let depends = match f.get("depends") {
            None => Some(Vec::new()),
            Some(n) => self.queue_depends(n),
        };
        let ordering = self.queue_ordering(name, f, depends.as_ref());
        Some(External {
            latency: latency?,
            error_fraction: 0.0,
            data: Some(Box::new(Data::Queue(Broker {
                ordering: ordering?,
                depends: depends?,
                consumers: consumers?,
                prefetch: prefetch?,
                durable: durable?,
                visibility_timeout: visibility_timeout?,
                max_deliveries: max_deliveries?,
                capacity: capacity?,
                span,
            }))),
        })
    }

    pub(super) fn queue_ordering(
        &mut self,
        name: &str,
        f: &Fields<'_>,
        depends: Option<&Vec<(RequestTypeId, RequestTypeId)>>,
    ) -> Option<MessageOrdering> {
        let kind = match f.get("ordering") {
            None => "none",
            Some(n) => self.choice(n, "ordering", schema::ORDERINGS)?,
        };
        if kind != "per_key"
            && let Some(n) = f.get("partitions")
        {
            self.error_hint(
                n.span,
                format!("`partitions` applies only to `ordering: per_key` (queue `{name}`)"),
                "add `ordering: per_key`, or remove `partitions`",
            );
            return None;
        }
        match kind {
            "per_key" => {
                let partitions = f
                    .get("partitions")
                    .map_or(Some(16), |n| self.int_u32(n, "partitions", 1))?;
                Some(MessageOrdering::PerKey { partitions })
            }
            "causal" => {
                if depends.is_some_and(Vec::is_empty) {
                    self.error_hint(
                        f.key_span("ordering"),
                        format!("queue `{name}` has `ordering: causal` but no `depends`"),
                        "say which message types depend on which: \
                         `depends: { send_message: create_user }`",
                    );
                    return None;
                }
                Some(MessageOrdering::Causal)
            }
            _ => Some(MessageOrdering::None),
        }
    }

    pub(super) fn queue_depends(
        &mut self,
        node: &Node,
    ) -> Option<Vec<(RequestTypeId, RequestTypeId)>> {
        let NodeKind::Map(raw) = &node.kind else {
            self.error_hint(
                node.span,
                format!("`depends` should be a mapping, not {}", node.shape()),
                "write `depends: { send_message: create_user }`",
            );
            return None;
        };
        let mut out = Vec::with_capacity(raw.len());
        let mut ok = true;
        for (k, v) in raw {
            for n in [k, v] {
                let Some(t) = self.text(n, "depends") else {
                    ok = false;
                    continue;
                };
                if self.request_type(t).is_none() {
                    let names: Vec<&str> = self.request_types.iter().map(String::as_str).collect();
                    let hint = suggestion(t, "request types", &names);
                    self.error_hint(
                        n.span,
                        format!("depends: `{t}` is not a request type that anything sends"),
                        hint,
                    );
                    ok = false;
                }
            }
            if let (Some(a), Some(b)) = (
                k.as_scalar().and_then(|t| self.request_type(t)),
                v.as_scalar().and_then(|t| self.request_type(t)),
            ) {
                out.push((a, b));
            }
        }
        ok.then_some(out)
    }
}
