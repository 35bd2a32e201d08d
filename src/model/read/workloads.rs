//! Reads `workloads:`: target, open-loop rates (with rate steps) or closed-loop users and
//! think time, the request mix, and the client timeout.

use std::collections::BTreeSet;

use crate::model::dist::Dist;
use crate::model::units::{parse_fraction, parse_rate};
use crate::model::yaml::{Node, NodeKind};
use crate::model::{Arrivals, RequestTypeId, Workload, schema};
use crate::shared::time::SimTime;

use super::Reader;
use super::values::Fields;

/// Mix probabilities are decimals typed by people; this absorbs their rounding only.
pub(super) const MIX_TOLERANCE: f64 = 1e-9;

impl Reader {
    pub(super) fn workloads(&mut self, node: &Node) -> Option<Vec<Workload>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.error_hint(
                node.span,
                format!("`workloads` should be a list, not {}", node.shape()),
                "write `workloads: [ { name: users, target: web, rate: 100/s, request: browse } ]`",
            );
            return None;
        };
        if items.len() > usize::from(u16::MAX) {
            // Workloads are numbered in 16 bits inside a run.
            self.error_hint(
                node.span,
                format!("{} workloads, more than the 65535 a model may have", items.len()),
                "merge workloads that send to the same target: a `mix` gives one several request types",
            );
            return None;
        }
        if items.is_empty() {
            self.error_hint(
                node.span,
                "the model has no workloads",
                "add one: nothing would send requests",
            );
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        let mut names = BTreeSet::new();
        for item in items {
            match self.workload(item) {
                Some(w) => {
                    if !names.insert(w.name.clone()) {
                        self.error(w.span, format!("workload `{}` is defined twice", w.name));
                        ok = false;
                    }
                    out.push(w);
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    pub(super) fn workload(&mut self, node: &Node) -> Option<Workload> {
        let f = self.fields(node, "a workload", schema::WORKLOAD)?;
        let name_node = f.get("name")?;
        let name = self.text(name_node, "name")?.to_string();
        let what = format!("workload `{name}`");
        let target = f
            .get("target")
            .and_then(|n| self.component_ref(n, "target"));
        let timeout = match f.get("timeout") {
            None => Some(None),
            Some(n) => self.duration(n, "timeout").and_then(|t| {
                if t == SimTime::ZERO {
                    self.error(n.span, "timeout: must be more than 0");
                    None
                } else {
                    Some(Some(t))
                }
            }),
        };
        let arrivals = self.arrivals(&what, &f);
        let mix = self.mix(&what, &f);
        Some(Workload {
            name,
            target: target?,
            arrivals: arrivals?,
            mix: mix?,
            timeout: timeout?,
            span: name_node.span,
        })
    }

    pub(super) fn arrivals(&mut self, what: &str, f: &Fields<'_>) -> Option<Arrivals> {
        match (f.get("rate"), f.get("users")) {
            (Some(_), Some(_)) => {
                self.error_hint(
                    f.key_span("users"),
                    format!("{what} has both `rate` (open loop) and `users` (closed loop)"),
                    "keep one: `rate` for arrivals that do not wait for answers, `users` for a fixed population",
                );
                None
            }
            (None, None) => {
                self.error_hint(
                    f.span,
                    format!("{what} has neither `rate` nor `users`"),
                    "add `rate: 100/s` (open loop) or `users: 20` with `think: exp 1s` (closed loop)",
                );
                None
            }
            (Some(rate), None) => {
                if f.get("think").is_some() {
                    self.error_hint(
                        f.key_span("think"),
                        "`think` applies only to a closed-loop workload (`users`)",
                        "remove `think`, or use `users` instead of `rate`",
                    );
                }
                self.rate_schedule(rate)
                    .map(|steps| Arrivals::Open { steps })
            }
            (None, Some(users)) => {
                let users = self.int_u32(users, "users", 1);
                let think = f
                    .get("think")
                    .map_or(Some(Dist::Const(SimTime::ZERO)), |n| self.dist(n, "think"));
                Some(Arrivals::Closed {
                    users: users?,
                    think: think?,
                })
            }
        }
    }

    pub(super) fn rate_schedule(&mut self, node: &Node) -> Option<Vec<(SimTime, f64)>> {
        if let NodeKind::Seq(items) = &node.kind {
            if items.is_empty() {
                self.error(node.span, "the rate schedule is empty");
                return None;
            }
            let mut steps = Vec::with_capacity(items.len());
            for item in items {
                let Some(f) = self.fields(item, "a rate step", schema::RATE_STEP) else {
                    continue;
                };
                let at = f.get("at").and_then(|n| self.duration(n, "at"));
                let rate = f.get("rate").and_then(|n| {
                    let r = self.parsed(n, "rate", parse_rate)?;
                    if r < 0.0 {
                        self.error(n.span, "rate: must not be negative");
                        return None;
                    }
                    Some(r)
                });
                if let (Some(at), Some(rate)) = (at, rate) {
                    if let Some(&(prev, _)) = steps.last()
                        && at <= prev
                    {
                        self.error_hint(
                            item.span,
                            format!("this step starts at {at}, not after the previous one"),
                            "list the steps in increasing order of `at`",
                        );
                        return None;
                    }
                    steps.push((at, rate));
                }
            }
            if steps.len() != items.len() {
                return None;
            }
            if steps[0].0 != SimTime::ZERO {
                steps.insert(0, (SimTime::ZERO, 0.0));
            }
            if steps.iter().all(|&(_, r)| r == 0.0) {
                self.error_hint(
                    node.span,
                    "every rate in the schedule is zero",
                    "give at least one step a rate above 0",
                );
                return None;
            }
            return Some(steps);
        }
        let rate = self.parsed(node, "rate", parse_rate)?;
        if rate <= 0.0 {
            let text = node.as_scalar().unwrap_or_default().to_string();
            self.error_hint(
                node.span,
                format!("rate: must be more than 0, not `{text}`"),
                "remove the workload to send nothing",
            );
            return None;
        }
        Some(vec![(SimTime::ZERO, rate)])
    }

    pub(super) fn mix(&mut self, what: &str, f: &Fields<'_>) -> Option<Vec<(RequestTypeId, f64)>> {
        match (f.get("mix"), f.get("request")) {
            (Some(_), Some(_)) => {
                self.error_hint(
                    f.key_span("request"),
                    format!("{what} has both `mix` and `request`"),
                    "keep `mix` for several types, `request` for one",
                );
                None
            }
            (None, None) => {
                self.error_hint(
                    f.span,
                    format!("{what} says nothing of the requests it sends"),
                    "add `request: browse`, or `mix: { browse: 0.9, buy: 0.1 }`",
                );
                None
            }
            (None, Some(r)) => self.request_type_ref(r, "request").map(|t| vec![(t, 1.0)]),
            (Some(m), None) => {
                let NodeKind::Map(raw) = &m.kind else {
                    self.error_hint(
                        m.span,
                        "`mix` should be a mapping of request types to probabilities",
                        "write `mix: { browse: 0.9, buy: 0.1 }`",
                    );
                    return None;
                };
                if raw.is_empty() {
                    self.error(m.span, "`mix` is empty");
                    return None;
                }
                let mut out = Vec::with_capacity(raw.len());
                let mut total = 0.0;
                for (k, v) in raw {
                    let t = self.request_type_ref(k, "mix");
                    let p = self.parsed(v, "probability", parse_fraction);
                    if let (Some(t), Some(p)) = (t, p) {
                        total += p;
                        out.push((t, total));
                    }
                }
                if out.len() != raw.len() {
                    return None;
                }
                if (total - 1.0).abs() > MIX_TOLERANCE {
                    self.error_hint(
                        m.span,
                        format!(
                            "the probabilities of `mix` add up to {}, not 1",
                            (total * 1e9).round() / 1e9
                        ),
                        "adjust them so that they sum to exactly 1",
                    );
                    return None;
                }
                if let Some(last) = out.last_mut() {
                    last.1 = 1.0;
                }
                Some(out)
            }
        }
    }
}
