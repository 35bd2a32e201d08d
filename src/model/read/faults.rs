//! Reads `faults:`: component faults (crash, slow, error, capacity, pause, flapping) and
//! network faults (partitions, link latency, loss, resets, black holes, bandwidth), with the
//! endpoints they name.

use crate::model::diag::suggestion;
use crate::model::units::{parse_bandwidth, parse_fraction};
use crate::model::yaml::{Node, NodeKind};
use crate::model::{Component, ComponentKind, Fault, FaultAction, Flap, schema};
use crate::shared::time::SimTime;

use super::Reader;
use super::values::Fields;

impl Reader {
    pub(super) fn faults(&mut self, node: &Node, components: &[Component]) -> Option<Vec<Fault>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.error_hint(
                node.span,
                "`faults` should be a list",
                "write `faults: [ { at: 2m, for: 30s, crash: db } ]`",
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match self.fault(item, components) {
                Some(f) => out.push(f),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    pub(super) fn fault(&mut self, node: &Node, components: &[Component]) -> Option<Fault> {
        let f = self.fields(node, "a fault", schema::FAULT)?;
        let at = f.get("at").and_then(|n| self.duration(n, "at"));
        let duration = match f.get("for") {
            None => Some(None),
            Some(n) => self.positive_duration(n, "for").map(Some),
        };
        let verbs: Vec<&str> = [
            "crash",
            "slow",
            "error",
            "capacity",
            "pause",
            "partition",
            "link",
        ]
        .into_iter()
        .filter(|v| f.get(v).is_some())
        .collect();
        let [verb] = verbs.as_slice() else {
            self.error_hint(
                f.span,
                if verbs.is_empty() {
                    "a fault says what breaks: `crash`, `slow`, `error`, `capacity`, `pause`, `partition` or `link`"
                        .to_string()
                } else {
                    format!("a fault does one thing, not {}", verbs.join(" and "))
                },
                "write one fault per entry: `{ at: 2m, for: 30s, crash: db }`",
            );
            return None;
        };
        let target_node = f.get(verb)?;
        let flap = match f.get("flap") {
            None => Some(None),
            Some(n) => self.fields(n, "`flap`", schema::FLAP).and_then(|fl| {
                let down = fl.get("down").and_then(|n| self.period(n, "down"));
                let up = fl.get("up").and_then(|n| self.period(n, "up"));
                Some(Some(Flap {
                    down: down?,
                    up: up?,
                }))
            }),
        };
        let count = match f.get("count") {
            None => Some(None),
            Some(n) if *verb != "error" => {
                self.error(
                    n.span,
                    format!("`count` applies to an `error` fault, not a `{verb}` one"),
                );
                None
            }
            Some(n) => self.int(n, "count", 1).map(Some),
        };
        if *verb == "partition" || *verb == "link" {
            let action = self.network_fault(verb, target_node, &f);
            return Some(Fault {
                at: at?,
                duration: duration?,
                target: None,
                replica: None,
                action: action?,
                flap: flap?,
                count: count?,
                span: target_node.span,
            });
        }
        for key in ["latency", "loss", "reset", "blackhole"] {
            if f.get(key).is_some() {
                self.error(
                    f.key_span(key),
                    format!("`{key}` belongs to a `link` fault, not a `{verb}` one"),
                );
            }
        }
        let target = self.component_ref(target_node, verb);
        let action = match *verb {
            "crash" => Some(FaultAction::Crash),
            "pause" => {
                if f.get("for").is_none() {
                    self.error_hint(
                        f.span,
                        "a `pause` needs `for`",
                        "say how long the world stops: `for: 2s`",
                    );
                    None
                } else {
                    Some(FaultAction::Pause)
                }
            }
            "slow" => {
                let factor = match f.get("factor") {
                    None => Some(1.0),
                    Some(n) => self.parsed(n, "factor", |t| {
                        let v: f64 = t
                            .trim()
                            .trim_end_matches('x')
                            .parse()
                            .map_err(|_| format!("`{t}` is not a number"))?;
                        if v > 0.0 && v.is_finite() {
                            Ok(v)
                        } else {
                            Err(format!("`{t}` must be more than 0"))
                        }
                    }),
                };
                let delay = match f.get("delay") {
                    None => Some(SimTime::ZERO),
                    Some(n) => self.duration(n, "delay"),
                };
                if f.get("factor").is_none() && f.get("delay").is_none() {
                    self.error_hint(
                        f.span,
                        "a `slow` fault needs a `factor` or a `delay`",
                        "add `factor: 10` for work ten times as long, or `delay: 200ms`",
                    );
                    None
                } else {
                    Some(FaultAction::Slow {
                        factor: factor?,
                        delay: delay?,
                    })
                }
            }
            "capacity" => match f.get("workers") {
                None => {
                    self.error_hint(
                        f.span,
                        "a `capacity` fault needs `workers`",
                        "add `workers: 2` for two workers lost on each replica",
                    );
                    None
                }
                Some(n) => self
                    .int_u32(n, "workers", 1)
                    .map(|workers| FaultAction::Capacity { workers }),
            },
            _ => match f.get("fraction") {
                None => {
                    self.error_hint(
                        f.span,
                        "an `error` fault needs a `fraction`",
                        "add `fraction: 50%`",
                    );
                    None
                }
                Some(n) => self
                    .parsed(n, "fraction", parse_fraction)
                    .map(|fraction| FaultAction::Error { fraction }),
            },
        };
        for (key, needed_by) in [
            ("factor", "slow"),
            ("delay", "slow"),
            ("fraction", "error"),
            ("workers", "capacity"),
        ] {
            if f.get(key).is_some() && *verb != needed_by {
                self.error(
                    f.key_span(key),
                    format!("`{key}` belongs to a `{needed_by}` fault, not a `{verb}` one"),
                );
            }
        }
        let replica = match f.get("replica") {
            None => Some(None),
            Some(n) if *verb != "crash" => {
                self.error_hint(
                    n.span,
                    format!("`replica` applies to a `crash` fault, not a `{verb}` one"),
                    "a slow or erroring component is slow or erroring on every replica",
                );
                None
            }
            Some(n) => {
                let r = self.int_u32(n, "replica", 0);
                let replicas = target.and_then(|t| match &components[t.0 as usize].kind {
                    ComponentKind::Service(s) => Some(s.replicas),
                    _ => None,
                });
                match (r, replicas) {
                    (Some(r), Some(count)) if r < count => Some(Some(r)),
                    (Some(r), Some(count)) => {
                        self.error_hint(
                            n.span,
                            format!("replica {r} does not exist"),
                            format!("replicas are counted from 0; this service has {count}"),
                        );
                        None
                    }
                    (Some(_), None) => {
                        self.error(n.span, "`replica` applies only to a service");
                        None
                    }
                    (None, _) => None,
                }
            }
        };
        Some(Fault {
            at: at?,
            duration: duration?,
            target: Some(target?),
            replica: replica?,
            flap: flap?,
            count: count?,
            action: action?,
            span: target_node.span,
        })
    }

    /// An endpoint of a link: a component or a workload (its clients).
    pub(super) fn endpoint(&mut self, node: &Node, what: &str) -> Option<String> {
        let name = self.text(node, what)?;
        if self.components.iter().any(|c| c == name)
            || self.workload_names.iter().any(|w| w == name)
        {
            return Some(name.to_string());
        }
        let mut all: Vec<&str> = self.components.iter().map(String::as_str).collect();
        all.extend(self.workload_names.iter().map(String::as_str));
        let hint = suggestion(name, "components and workloads", &all);
        self.error_hint(
            node.span,
            format!("unknown component or workload `{name}`"),
            hint,
        );
        None
    }

    pub(super) fn network_fault(
        &mut self,
        verb: &str,
        node: &Node,
        f: &Fields<'_>,
    ) -> Option<FaultAction> {
        for key in ["factor", "fraction", "replica"] {
            if f.get(key).is_some() {
                self.error(
                    f.key_span(key),
                    format!("`{key}` does not apply to a `{verb}` fault"),
                );
            }
        }
        let NodeKind::Seq(items) = &node.kind else {
            self.error_hint(
                node.span,
                format!("`{verb}` should be a list"),
                if verb == "link" {
                    "write `link: [app, db]`"
                } else {
                    "write `partition: [[app], [db, cache]]`"
                },
            );
            return None;
        };
        if verb == "partition" {
            for key in ["latency", "loss", "reset", "blackhole"] {
                if f.get(key).is_some() {
                    self.error(
                        f.key_span(key),
                        format!("`{key}` belongs to a `link` fault, not a `partition` one"),
                    );
                }
            }
            if items.len() < 2 {
                self.error_hint(
                    node.span,
                    "a partition needs at least two groups",
                    "write `partition: [[app], [db, cache]]`",
                );
                return None;
            }
            let mut groups = Vec::with_capacity(items.len());
            for item in items {
                let members: Vec<&Node> = match &item.kind {
                    NodeKind::Seq(m) => m.iter().collect(),
                    _ => vec![item],
                };
                let names: Vec<String> = members
                    .iter()
                    .filter_map(|m| self.endpoint(m, "partition"))
                    .collect();
                if names.len() != members.len() {
                    return None;
                }
                if let Some(twice) = names
                    .iter()
                    .find(|n| groups.iter().any(|g: &Vec<String>| g.contains(n)))
                {
                    self.error_hint(
                        item.span,
                        format!("`{twice}` is in two groups of the partition"),
                        "each endpoint belongs to one side",
                    );
                    return None;
                }
                groups.push(names);
            }
            return Some(FaultAction::Partition { groups });
        }
        let [a, b] = items.as_slice() else {
            self.error_hint(
                node.span,
                format!("`link` names {} endpoints, not 2", items.len()),
                "write `link: [app, db]`",
            );
            return None;
        };
        let (a, b) = (self.endpoint(a, "link"), self.endpoint(b, "link"));
        let latency = match f.get("latency") {
            None => Some(None),
            Some(n) => self.dist(n, "latency").map(Some),
        };
        let loss = f
            .get("loss")
            .map_or(Some(0.0), |n| self.parsed(n, "loss", parse_fraction));
        let reset = f
            .get("reset")
            .map_or(Some(false), |n| self.boolean(n, "reset"));
        let blackhole = f
            .get("blackhole")
            .map_or(Some(false), |n| self.boolean(n, "blackhole"));
        let bandwidth = match f.get("bandwidth") {
            None => Some(None),
            Some(n) => self.parsed(n, "bandwidth", parse_bandwidth).map(Some),
        };
        let (latency, loss, reset, blackhole, bandwidth) =
            (latency?, loss?, reset?, blackhole?, bandwidth?);
        if latency.is_none() && loss == 0.0 && !reset && !blackhole && bandwidth.is_none() {
            self.error_hint(
                f.span,
                "a `link` fault says what goes wrong",
                "add `latency: 50ms`, `loss: 10%`, `bandwidth: 10Mbit/s`, `reset: true` or `blackhole: true`",
            );
            return None;
        }
        Some(FaultAction::Link {
            a: a?,
            b: b?,
            latency,
            loss,
            reset,
            blackhole,
            bandwidth,
        })
    }
}
