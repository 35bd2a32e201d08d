//! Reads `links:`: the default latency and message sizes, and the overrides between named
//! pairs of endpoints.

use crate::model::diag::suggestion;
use crate::model::dist::Dist;
use crate::model::units::parse_size;
use crate::model::yaml::{Node, NodeKind};
use crate::model::{DEFAULT_MESSAGE_BYTES, LinkOverride, Links, schema};
use crate::shared::time::SimTime;

use super::Reader;

impl Reader {
    pub(super) fn links(&mut self, node: &Node) -> Option<Links> {
        let f = self.fields(node, "`links`", schema::LINKS)?;
        let default = match f.get("default") {
            None => Some(Dist::Const(SimTime::ZERO)),
            Some(n) => self
                .fields(n, "the default link", schema::LINK)
                .and_then(|lf| {
                    lf.get("latency")
                        .map_or(Some(Dist::Const(SimTime::ZERO)), |l| {
                            self.dist(l, "latency")
                        })
                }),
        };
        let overrides = match f.get("overrides") {
            None => Some(Vec::new()),
            Some(n) => {
                let NodeKind::Seq(items) = &n.kind else {
                    self.error(n.span, "`overrides` should be a list");
                    return None;
                };
                let parsed: Vec<LinkOverride> =
                    items.iter().filter_map(|i| self.link_override(i)).collect();
                (parsed.len() == items.len()).then_some(parsed)
            }
        };
        Some(Links {
            default: default?,
            overrides: overrides?,
        })
    }

    pub(super) fn link_override(&mut self, node: &Node) -> Option<LinkOverride> {
        let f = self.fields(node, "a link override", schema::LINK_OVERRIDE)?;
        let between = f.get("between")?;
        let NodeKind::Seq(ends) = &between.kind else {
            self.error(between.span, "`between` should be a list of two components");
            return None;
        };
        if ends.len() != 2 {
            self.error_hint(
                between.span,
                format!("`between` names {} endpoints, not 2", ends.len()),
                "write `between: [app, db]`",
            );
            return None;
        }
        let mut names = Vec::with_capacity(2);
        for end in ends {
            let name = self.text(end, "`between`")?;
            let known = self.components.iter().any(|c| c == name)
                || self.workload_names.iter().any(|w| w == name);
            if !known {
                let mut all: Vec<&str> = self.components.iter().map(String::as_str).collect();
                all.extend(self.workload_names.iter().map(String::as_str));
                let hint = suggestion(name, "components and workloads", &all);
                self.error_hint(
                    end.span,
                    format!("unknown component or workload `{name}`"),
                    hint,
                );
                return None;
            }
            names.push(name.to_string());
        }
        let latency = f
            .get("latency")
            .map_or(Some(Dist::Const(SimTime::ZERO)), |n| {
                self.dist(n, "latency")
            });
        let size_ab = f.get("size").map_or(Some(DEFAULT_MESSAGE_BYTES), |n| {
            self.parsed(n, "size", parse_size)
        });
        let size_ba = f
            .get("response_size")
            .map_or(Some(DEFAULT_MESSAGE_BYTES), |n| {
                self.parsed(n, "response_size", parse_size)
            });
        let b = names.pop()?;
        let a = names.pop()?;
        Some(LinkOverride {
            a,
            b,
            latency: latency?,
            size_ab: size_ab?,
            size_ba: size_ba?,
        })
    }
}
