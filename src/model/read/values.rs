//! The reader's primitives: diagnostics, a mapping's fields with unknown and duplicate keys
//! reported, and scalar values (durations, integers, choices, distributions, references to
//! components and request types), each read with its place for a positioned error.

use crate::model::diag::{Diagnostic, Severity, Span, suggestion};
use crate::model::dist::{Dist, empirical, parse_dist};
use crate::model::schema::Key;
use crate::model::units::parse_duration;
use crate::model::yaml::{Node, NodeKind};
use crate::model::{ComponentId, RequestTypeId, schema};
use crate::shared::time::SimTime;

use super::Reader;

/// The entries of one mapping, after unknown and duplicate keys have been reported.
pub(super) struct Fields<'n> {
    pub(super) entries: Vec<(&'n str, &'n Node, &'n Node)>,
    pub(super) span: Span,
}

/// The shortest period a repeating fault or check may have.
pub const MIN_PERIOD: SimTime = SimTime::from_millis(1);

impl<'n> Fields<'n> {
    pub(super) fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == name)
            .map(|(_, _, v)| *v)
    }

    pub(super) fn key_span(&self, name: &str) -> Span {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == name)
            .map_or(self.span, |(_, k, _)| k.span)
    }
}

/// The entries of a mapping with user-chosen keys (component names, request types).
pub(super) fn entries(node: &Node) -> &[(Node, Node)] {
    match &node.kind {
        NodeKind::Map(entries) => entries,
        _ => &[],
    }
}

impl Reader {
    pub(super) fn error(&mut self, span: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, message));
    }

    pub(super) fn error_hint(
        &mut self,
        span: Span,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::error(span, message).with_hint(hint));
    }

    pub(super) fn error_count(&self) -> usize {
        self.diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Checks that `node` is a mapping whose keys are all in `keys`, reports the rest, and
    /// reports required keys that are missing.
    pub(super) fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        keys: &'static [Key],
    ) -> Option<Fields<'n>> {
        let NodeKind::Map(raw) = &node.kind else {
            self.error_hint(
                node.span,
                format!(
                    "{what} should be a mapping of keys to values, not {}",
                    node.shape()
                ),
                format!("its keys are: {}", schema::names(keys).join(", ")),
            );
            return None;
        };
        let mut fields = Fields {
            entries: Vec::with_capacity(raw.len()),
            span: node.span,
        };
        for (k, v) in raw {
            let Some(name) = self.key_text(k) else {
                continue;
            };
            if !keys.iter().any(|key| key.name == name) {
                self.error_hint(
                    k.span,
                    format!("unknown key `{name}` in {what}"),
                    suggestion(name, "keys allowed here", &schema::names(keys)),
                );
                continue;
            }
            if fields.get(name).is_some() {
                self.error_hint(
                    k.span,
                    format!("`{name}` is given twice in {what}"),
                    "keep one of them",
                );
                continue;
            }
            fields.entries.push((name, k, v));
        }
        for key in keys.iter().filter(|k| k.required) {
            if fields.get(key.name).is_none()
                && !raw.iter().any(|(k, _)| k.as_scalar() == Some(key.name))
            {
                self.error_hint(
                    node.span,
                    format!("{what} is missing `{}`", key.name),
                    format!("add `{}`: {}", key.name, key.doc),
                );
            }
        }
        Some(fields)
    }

    pub(super) fn key_text<'n>(&mut self, k: &'n Node) -> Option<&'n str> {
        if let NodeKind::Scalar { text, .. } = &k.kind {
            Some(text.as_str())
        } else {
            self.error(k.span, format!("a key should be a name, not {}", k.shape()));
            None
        }
    }

    pub(super) fn text<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n str> {
        match &node.kind {
            NodeKind::Scalar { text, .. } if !node.is_null() => Some(text.as_str()),
            _ => {
                self.error(
                    node.span,
                    format!("{what} should be a single value, not {}", node.shape()),
                );
                None
            }
        }
    }

    pub(super) fn parsed<T>(
        &mut self,
        node: &Node,
        what: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.text(node, what)?;
        match parse(text) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(node.span, format!("{what}: {e}"));
                None
            }
        }
    }

    pub(super) fn duration(&mut self, node: &Node, what: &str) -> Option<SimTime> {
        self.parsed(node, what, parse_duration)
    }

    pub(super) fn int(&mut self, node: &Node, what: &str, min: u64) -> Option<u64> {
        self.parsed(node, what, |t| {
            let v: u64 = t
                .parse()
                .map_err(|_| format!("`{t}` is not a whole number"))?;
            if v < min {
                return Err(format!("`{t}` is below the minimum of {min}"));
            }
            Ok(v)
        })
    }

    pub(super) fn int_u32(&mut self, node: &Node, what: &str, min: u64) -> Option<u32> {
        let v = self.int(node, what, min)?;
        u32::try_from(v).ok().or_else(|| {
            self.error(node.span, format!("{what}: `{v}` is too large"));
            None
        })
    }

    pub(super) fn choice<'a>(
        &mut self,
        node: &Node,
        what: &str,
        allowed: &[&'a str],
    ) -> Option<&'a str> {
        let text = self.text(node, what)?;
        if let Some(found) = allowed.iter().find(|a| **a == text) {
            return Some(found);
        }
        self.error_hint(
            node.span,
            format!("{what}: unknown value `{text}`"),
            suggestion(text, "accepted values", allowed),
        );
        None
    }

    pub(super) fn dist(&mut self, node: &Node, what: &str) -> Option<Dist> {
        if let NodeKind::Map(raw) = &node.kind
            && let [(k, v)] = raw.as_slice()
            && k.as_scalar() == Some("empirical")
        {
            let NodeKind::Seq(items) = &v.kind else {
                self.error(
                    v.span,
                    format!("{what}: `empirical` takes a list of durations"),
                );
                return None;
            };
            let samples: Vec<SimTime> = items
                .iter()
                .filter_map(|item| self.duration(item, what))
                .collect();
            if samples.len() != items.len() {
                return None;
            }
            return match empirical(samples) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.error(v.span, format!("{what}: {e}"));
                    None
                }
            };
        }
        self.parsed(node, what, parse_dist)
    }

    pub(super) fn component_ref(&mut self, node: &Node, what: &str) -> Option<ComponentId> {
        let name = self.text(node, what)?;
        if let Ok(i) = self.components.binary_search_by(|c| c.as_str().cmp(name)) {
            return Some(ComponentId(u32::try_from(i).unwrap_or(u32::MAX)));
        }
        let names: Vec<&str> = self.components.iter().map(String::as_str).collect();
        let hint = suggestion(name, "components", &names);
        self.error_hint(node.span, format!("unknown component `{name}`"), hint);
        None
    }

    pub(super) fn request_type(&self, name: &str) -> Option<RequestTypeId> {
        self.request_types
            .binary_search_by(|t| t.as_str().cmp(name))
            .ok()
            .map(|i| RequestTypeId(u16::try_from(i).unwrap_or(u16::MAX)))
    }

    pub(super) fn request_type_ref(&mut self, node: &Node, what: &str) -> Option<RequestTypeId> {
        let name = self.text(node, what)?;
        if name == "*" {
            self.error_hint(
                node.span,
                format!("{what}: `*` is not a request type"),
                "`*` only names a handler that serves any type; name the type to send",
            );
            return None;
        }
        self.request_type(name)
    }

    pub(super) fn zipf(&mut self, z: &Node) -> Option<f64> {
        self.parsed(z, "zipf", |t| {
            let v: f64 = t
                .trim()
                .parse()
                .map_err(|_| format!("`{t}` is not a number"))?;
            if v > 0.0 && v <= 10.0 {
                Ok(v)
            } else {
                Err(format!(
                    "`{t}` is outside 0 to 10 (leave `zipf` out for uniform keys)"
                ))
            }
        })
    }

    pub(super) fn positive_duration(&mut self, node: &Node, what: &str) -> Option<SimTime> {
        let t = self.duration(node, what)?;
        if t == SimTime::ZERO {
            self.error(node.span, format!("{what}: must be more than 0"));
            return None;
        }
        Some(t)
    }

    /// The length of something that repeats (a flap's phases, a health check's interval):
    /// at least [`MIN_PERIOD`], since a shorter one would fill the run with its own events
    /// (a health check every nanosecond is a billion probes a simulated second).
    pub(super) fn period(&mut self, node: &Node, what: &str) -> Option<SimTime> {
        let t = self.duration(node, what)?;
        if t < MIN_PERIOD {
            self.error(
                node.span,
                format!(
                    "{what}: `{t}` repeats too often to simulate; a period is at least \
                     {MIN_PERIOD}"
                ),
            );
            return None;
        }
        Some(t)
    }

    pub(super) fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match self.text(node, what)? {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.error(
                    node.span,
                    format!("{what}: `{other}` is not `true` or `false`"),
                );
                None
            }
        }
    }
}
