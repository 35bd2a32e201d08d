//! Reads `scenarios:` (extra faults, and overrides by dotted path resolved when read, so
//! that applying one cannot fail) and `slos:`.

use std::collections::BTreeSet;

use crate::model::diag::{Span, suggestion};
use crate::model::scenario::BASELINE;
use crate::model::units::{parse_fraction, parse_positive_number, parse_rate};
use crate::model::yaml::{Node, NodeKind};
use crate::model::{
    Change, Component, ComponentKind, LatencyFigure, Override, RequestTypeId, Scenario, Slo,
    SloScope, Target, Workload, scenario, schema,
};

use super::Reader;

impl Reader {
    pub(super) fn scenarios(
        &mut self,
        node: &Node,
        components: &[Component],
        workloads: &[Workload],
    ) -> Option<Vec<Scenario>> {
        let NodeKind::Map(raw) = &node.kind else {
            self.error_hint(
                node.span,
                format!(
                    "`scenarios` should be a mapping from names to scenarios, not {}",
                    node.shape()
                ),
                "write `scenarios: { db_down: { faults: [ { at: 1m, crash: db } ] } }`",
            );
            return None;
        };
        let mut out = Vec::with_capacity(raw.len());
        let mut ok = true;
        let mut seen = BTreeSet::new();
        for (k, v) in raw {
            let Some(name) = self.key_text(k) else {
                ok = false;
                continue;
            };
            if !seen.insert(name) {
                self.error_hint(
                    k.span,
                    format!("scenario `{name}` is defined twice"),
                    "rename or remove one of them",
                );
                ok = false;
                continue;
            }
            if name == BASELINE {
                self.error_hint(
                    k.span,
                    "`baseline` is the model as written, not a scenario name",
                    "choose another name",
                );
                ok = false;
                continue;
            }
            match self.scenario(name, k.span, v, components, workloads) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Reads one scenario. Its overrides are applied to a copy of the components as they are
    /// read, so that a later override and the scenario's faults see them (a crash of replica
    /// 3 after `app.replicas: 4`).
    pub(super) fn scenario(
        &mut self,
        name: &str,
        span: Span,
        node: &Node,
        components: &[Component],
        workloads: &[Workload],
    ) -> Option<Scenario> {
        let what = format!("scenario `{name}`");
        let f = self.fields(node, &what, schema::SCENARIO)?;
        let description = match f.get("description") {
            None => Some(None),
            Some(n) => self.text(n, "description").map(|t| Some(t.to_string())),
        };
        let mut components = components.to_vec();
        let mut workloads = workloads.to_vec();
        let set = match f.get("set") {
            None => Some(Vec::new()),
            Some(n) => self.overrides(n, &what, &mut components, &mut workloads),
        };
        let faults = match f.get("faults") {
            None => Some(Vec::new()),
            Some(n) => self.faults(n, &components),
        };
        Some(Scenario {
            name: name.to_string(),
            description: description?,
            faults: faults?,
            set: set?,
            span,
        })
    }

    pub(super) fn overrides(
        &mut self,
        node: &Node,
        what: &str,
        components: &mut [Component],
        workloads: &mut [Workload],
    ) -> Option<Vec<Override>> {
        let NodeKind::Map(raw) = &node.kind else {
            self.error_hint(
                node.span,
                format!(
                    "the `set` of {what} should be a mapping from paths to values, not {}",
                    node.shape()
                ),
                "write `set: { app.replicas: 2, app.calls.db.timeout: 200ms }`",
            );
            return None;
        };
        let mut out = Vec::with_capacity(raw.len());
        let mut ok = true;
        let mut seen = BTreeSet::new();
        for (k, v) in raw {
            let Some(path) = self.key_text(k) else {
                ok = false;
                continue;
            };
            if !seen.insert(path) {
                self.error_hint(
                    k.span,
                    format!("`{path}` is set twice in {what}"),
                    "keep one of them",
                );
                ok = false;
                continue;
            }
            let target = match scenario::resolve(path, components, workloads, &self.request_types) {
                Ok(t) => t,
                Err(e) => {
                    self.error_hint(k.span, e.message, e.hint);
                    ok = false;
                    continue;
                }
            };
            match self.change(target, path, v, components) {
                Some(change) => {
                    scenario::apply(&change, components, workloads);
                    out.push(Override {
                        path: path.to_string(),
                        change,
                        span: k.span,
                    });
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Reads the value of an override whose path resolved to `target`.
    pub(super) fn change(
        &mut self,
        target: Target,
        path: &str,
        v: &Node,
        components: &[Component],
    ) -> Option<Change> {
        Some(match target {
            Target::Replicas(id) => {
                if let Some(db) = components[id.0 as usize].kind.database() {
                    return self.database_replicas(v, path, id, db);
                }
                let n = self.int_u32(v, path, 1)?;
                if let ComponentKind::Service(s) = &components[id.0 as usize].kind
                    && let Some(a) = &s.autoscale
                    && (n < a.min || n > a.max)
                {
                    self.error_hint(
                        v.span,
                        format!("{n} replicas is outside autoscale's {}..{}", a.min, a.max),
                        "with `autoscale`, `replicas` is the starting count, between `min` and `max`",
                    );
                    return None;
                }
                Change::Replicas(id, n)
            }
            Target::Workers(id) => Change::Workers(id, self.int_u32(v, path, 1)?),
            Target::Queue(id) => {
                if v.as_scalar() == Some("unbounded") {
                    Change::Queue(id, None)
                } else {
                    let what = format!("{path} (a number of requests, or `unbounded`)");
                    Change::Queue(id, Some(self.int_u32(v, &what, 0)?))
                }
            }
            Target::Work(id, h) => Change::Work(id, h, self.dist(v, path)?),
            Target::Latency(id) => Change::Latency(id, self.dist(v, path)?),
            Target::Errors(id) => Change::Errors(id, self.parsed(v, path, parse_fraction)?),
            Target::CallTimeout(sel) => Change::CallTimeout(sel, self.positive_duration(v, path)?),
            Target::CallAttempts(sel) => {
                let a = self.int_u32(v, path, 1)?;
                if a > 100 {
                    self.error_hint(
                        v.span,
                        format!("{path}: {a} is more than 100"),
                        "every retry multiplies load; real clients use a handful",
                    );
                    return None;
                }
                Change::CallAttempts(sel, a)
            }
            Target::CallConcurrency(sel) => {
                if v.as_scalar() == Some("unbounded") {
                    Change::CallConcurrency(sel, None)
                } else {
                    let what = format!("{path} (calls at once, or `unbounded`)");
                    Change::CallConcurrency(sel, Some(self.int_u32(v, &what, 1)?))
                }
            }
            Target::AutoscaleTarget(id) => {
                let t = self.parsed(v, path, parse_fraction)?;
                if t <= 0.0 {
                    self.error(v.span, format!("{path}: must be above 0%"));
                    return None;
                }
                Change::AutoscaleTarget(id, t)
            }
            Target::AutoscaleQueueTarget(id) => {
                Change::AutoscaleQueueTarget(id, self.parsed(v, path, parse_positive_number)?)
            }
            Target::AutoscaleColdStart(id) => {
                Change::AutoscaleColdStart(id, self.duration(v, path)?)
            }
            Target::AutoscaleMax(id) => {
                let max = self.int_u32(v, path, 1)?;
                if let ComponentKind::Service(s) = &components[id.0 as usize].kind
                    && let Some(a) = &s.autoscale
                {
                    let least = a.min.max(s.replicas);
                    if max < least || max > crate::model::MAX_REPLICAS {
                        self.error_hint(
                            v.span,
                            format!(
                                "{path}: {max} is outside {least}..{}",
                                crate::model::MAX_REPLICAS
                            ),
                            "`max` is at least autoscale's `min` and the starting `replicas`",
                        );
                        return None;
                    }
                }
                Change::AutoscaleMax(id, max)
            }
            Target::AutoscaleMin(id) => {
                let min = self.int_u32(v, path, 1)?;
                if let ComponentKind::Service(s) = &components[id.0 as usize].kind
                    && let Some(a) = &s.autoscale
                    && min > a.max
                {
                    self.error_hint(
                        v.span,
                        format!("{path}: {min} is above autoscale's `max` ({})", a.max),
                        format!(
                            "raise `max` first: `{}.autoscale.max`",
                            components[id.0 as usize].name
                        ),
                    );
                    return None;
                }
                Change::AutoscaleMin(id, min)
            }
            Target::Rate(w) => {
                let r = self.parsed(v, path, parse_rate)?;
                if r <= 0.0 {
                    self.error(v.span, format!("{path}: must be more than 0"));
                    return None;
                }
                Change::Rate(w, r)
            }
            Target::Users(w) => Change::Users(w, self.int_u32(v, path, 1)?),
        })
    }

    pub(super) fn slos(
        &mut self,
        node: &Node,
        scenario_names: &[String],
        flows: &[RequestTypeId],
    ) -> Option<Vec<Slo>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.error_hint(
                node.span,
                format!("`slos` should be a list, not {}", node.shape()),
                "write `slos: [ { request: browse, p99: 200ms, availability: 99.9% } ]`",
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match self.slo(item, scenario_names, flows) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    pub(super) fn slo(
        &mut self,
        node: &Node,
        scenario_names: &[String],
        flows: &[RequestTypeId],
    ) -> Option<Slo> {
        let f = self.fields(node, "an SLO", schema::SLO)?;
        let request_node = f.get("request")?;
        let request = self.text(request_node, "request").and_then(|name| {
            let found = self.request_type(name).filter(|t| flows.contains(t));
            if found.is_none() {
                let names: Vec<&str> = flows
                    .iter()
                    .map(|t| self.request_types[t.0 as usize].as_str())
                    .collect();
                let hint = suggestion(name, "request types that workloads send", &names);
                self.error_hint(
                    request_node.span,
                    format!("`{name}` is not a request type that a workload sends"),
                    hint,
                );
            }
            found
        });
        let scope = match f.get("scenario") {
            None => Some(SloScope::Everywhere),
            Some(n) => self.text(n, "scenario").and_then(|name| {
                if name == BASELINE {
                    return Some(SloScope::Baseline);
                }
                if let Some(i) = scenario_names.iter().position(|s| s == name) {
                    return Some(SloScope::Scenario(i));
                }
                let mut names: Vec<&str> = scenario_names.iter().map(String::as_str).collect();
                names.push(BASELINE);
                let hint = suggestion(name, "scenarios", &names);
                self.error_hint(n.span, format!("unknown scenario `{name}`"), hint);
                None
            }),
        };
        let availability = match f.get("availability") {
            None => Some(None),
            Some(n) => self.parsed(n, "availability", parse_fraction).map(Some),
        };
        let mut latency = Vec::new();
        let mut latency_ok = true;
        for figure in LatencyFigure::ALL {
            if let Some(n) = f.get(figure.key()) {
                match self.positive_duration(n, figure.key()) {
                    Some(t) => latency.push((figure, t)),
                    None => latency_ok = false,
                }
            }
        }
        if f.get("availability").is_none()
            && LatencyFigure::ALL.iter().all(|l| f.get(l.key()).is_none())
        {
            self.error_hint(
                f.span,
                "an SLO needs a bound",
                "add `availability: 99.9%`, `p99: 200ms`, or both (also `mean`, `p50`, `p90`, `p999`)",
            );
            return None;
        }
        Some(Slo {
            request: request?,
            scope: scope?,
            availability: availability?,
            latency: latency_ok.then_some(latency)?,
            span: request_node.span,
        })
    }
}
