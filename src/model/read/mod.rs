//! Turns the YAML tree into a [`Model`], collecting every problem on the way.
//!
//! Reading goes on after an error wherever it can, so that a user fixing a model sees all of
//! its problems at once; a part that could not be read is left out and the model as a whole
//! is withheld.

mod balancers;
mod caches;
mod calls;
mod databases;
mod faults;
mod limits;
mod links;
mod queues;
mod scenarios;
mod services;
mod values;
mod workloads;

use std::collections::BTreeSet;

use crate::shared::time::SimTime;

use super::diag::{Diagnostic, Span, suggestion};
use super::dist::Dist;
use super::units::parse_fraction;
use super::yaml::{Node, NodeKind};
use super::{
    Breaker, Component, ComponentKind, External, Limits, Links, Model, RandomFailures,
    RequestTypeId, Retry, Scenario, schema, yaml,
};
use values::{Fields, entries};

pub struct Outcome {
    pub model: Option<Model>,
    pub diagnostics: Vec<Diagnostic>,
}

const DEFAULT_DURATION: SimTime = SimTime::from_secs(60);

const DEFAULT_SERIES_BUCKETS: u32 = 200;

pub fn read(text: &str) -> Outcome {
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(d) => {
            return Outcome {
                model: None,
                diagnostics: vec![d],
            };
        }
    };
    let mut reader = Reader {
        diags: Vec::new(),
        components: Vec::new(),
        request_types: Vec::new(),
        workload_names: Vec::new(),
        call_defaults: (None, None, None),
    };
    let model = reader.model(&root);
    Outcome {
        model,
        diagnostics: reader.diags,
    }
}

/// Reads a scenario kept in a file of its own (`faults`, `set`, `description`), against a
/// model already read.
pub fn read_scenario(name: &str, text: &str, model: &Model) -> (Option<Scenario>, Vec<Diagnostic>) {
    match yaml::parse(text) {
        Ok(root) => read_scenario_node(name, &root, model),
        Err(d) => (None, vec![d]),
    }
}

/// Reads a scenario from a node of some other file (a lesson step's `patch:`), so that its
/// diagnostics point into that file.
pub fn read_scenario_node(
    name: &str,
    node: &yaml::Node,
    model: &Model,
) -> (Option<Scenario>, Vec<Diagnostic>) {
    let mut reader = Reader {
        diags: Vec::new(),
        components: model.components.iter().map(|c| c.name.clone()).collect(),
        request_types: model.request_types.clone(),
        workload_names: model.workloads.iter().map(|w| w.name.clone()).collect(),
        call_defaults: (None, None, None),
    };
    let scenario = reader.scenario(name, node.span, node, &model.components, &model.workloads);
    let scenario = if reader.error_count() > 0 {
        None
    } else {
        scenario
    };
    (scenario, reader.diags)
}

struct Reader {
    diags: Vec<Diagnostic>,
    /// Component names, sorted; their index is the [`ComponentId`].
    components: Vec<String>,
    /// Request type names, sorted; their index is the [`RequestTypeId`].
    request_types: Vec<String>,
    workload_names: Vec<String>,
    /// The timeout, retry policy and breaker of the service whose calls are being read.
    call_defaults: (Option<SimTime>, Option<Retry>, Option<Breaker>),
}

fn collect_call_types(handler: &Node, types: &mut BTreeSet<String>) {
    for (k, v) in entries(handler) {
        if k.as_scalar() == Some("calls")
            && let NodeKind::Seq(steps) = &v.kind
        {
            for step in steps {
                collect_step_types(step, types);
            }
        }
    }
}

fn collect_step_types(step: &Node, types: &mut BTreeSet<String>) {
    for (k, v) in entries(step) {
        match (k.as_scalar(), &v.kind) {
            (Some("request"), _) => {
                if let Some(t) = v.as_scalar() {
                    types.insert(t.to_string());
                }
            }
            (Some("parallel"), NodeKind::Seq(calls)) => {
                for c in calls {
                    collect_step_types(c, types);
                }
            }
            _ => {}
        }
    }
}

impl Reader {
    fn model(&mut self, root: &Node) -> Option<Model> {
        let top = self.fields(root, "the model", schema::TOP)?;
        self.collect_names(&top);
        if self.request_types.len() > usize::from(u16::MAX) {
            self.error(top.span, "more than 65535 request types");
            return None;
        }

        let name = top
            .get("name")
            .and_then(|n| self.text(n, "name"))
            .map(str::to_string);
        let duration = top
            .get("duration")
            .map_or(Some(DEFAULT_DURATION), |n| self.duration(n, "duration"));
        let warmup = top
            .get("warmup")
            .map_or(Some(SimTime::ZERO), |n| self.duration(n, "warmup"));
        if let Some(d) = duration
            && d == SimTime::ZERO
        {
            self.error(top.key_span("duration"), "the duration must be more than 0");
        }
        if let (Some(d), Some(w)) = (duration, warmup)
            && w >= d
            && d > SimTime::ZERO
        {
            self.error_hint(
                top.key_span("warmup"),
                format!("the warm-up ({w}) is not shorter than the run ({d})"),
                "statistics are taken after the warm-up: make it shorter than `duration`",
            );
        }
        let seed = top.get("seed").map_or(Some(1), |n| self.int(n, "seed", 0));
        let series_buckets = top
            .get("series_buckets")
            .map_or(Some(DEFAULT_SERIES_BUCKETS), |n| {
                let b = self.int_u32(n, "series_buckets", 1)?;
                if b > 100_000 {
                    self.error(n.span, "series_buckets: at most 100000");
                    return None;
                }
                Some(b)
            });

        let components = top.get("components").and_then(|n| self.components_(n));
        let workloads = top.get("workloads").and_then(|n| self.workloads(n));
        let faults = match (top.get("faults"), &components) {
            (None, _) => Some(Vec::new()),
            (Some(n), Some(c)) => self.faults(n, c),
            (Some(_), None) => None,
        };
        let scenario_names: Vec<String> = top
            .get("scenarios")
            .map(|n| {
                entries(n)
                    .iter()
                    .filter_map(|(k, _)| k.as_scalar().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let scenarios = match (top.get("scenarios"), &components, &workloads) {
            (None, _, _) => Some(Vec::new()),
            (Some(n), Some(c), Some(w)) => self.scenarios(n, c, w),
            (Some(_), _, _) => None,
        };
        let slos = match top.get("slos") {
            None => Some(Vec::new()),
            Some(n) => {
                let flows: Vec<RequestTypeId> = workloads.as_ref().map_or_else(
                    || {
                        (0..self.request_types.len())
                            .map(|i| RequestTypeId(u16::try_from(i).unwrap_or(u16::MAX)))
                            .collect()
                    },
                    |ws| {
                        let mut f: Vec<RequestTypeId> = ws
                            .iter()
                            .flat_map(|w| w.mix.iter().map(|(t, _)| *t))
                            .collect();
                        f.sort_unstable();
                        f.dedup();
                        f
                    },
                );
                self.slos(n, &scenario_names, &flows)
            }
        };
        let layout = match (top.get("layout"), &components, &workloads) {
            (None, _, _) => Some(Vec::new()),
            (Some(n), Some(c), Some(w)) => {
                let mut names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
                names.extend(w.iter().map(|w| w.name.as_str()));
                self.layout(n, &names)
            }
            (Some(_), _, _) => None,
        };
        let limits = top
            .get("limits")
            .map_or(Some(Limits::default()), |n| self.limits(n));
        let links = match top.get("links") {
            Some(n) => self.links(n),
            None => Some(Links {
                default: Dist::Const(SimTime::ZERO),
                overrides: Vec::new(),
            }),
        };

        if self.error_count() > 0 {
            return None;
        }
        Some(Model {
            name,
            duration: duration?,
            warmup: warmup?,
            seed: seed?,
            series_buckets: series_buckets?,
            request_types: self.request_types.clone(),
            components: components?,
            workloads: workloads?,
            links: links?,
            faults: faults?,
            scenarios: scenarios?,
            slos: slos?,
            layout: layout?,
            limits: limits?,
        })
    }

    /// `layout: { name: [x, y] }`: saved diagram positions.
    fn layout(&mut self, node: &Node, names: &[&str]) -> Option<Vec<(String, [f64; 2])>> {
        if !matches!(node.kind, NodeKind::Map(_)) && !node.is_null() {
            self.error_hint(
                node.span,
                format!("layout: expected a mapping, found {}", node.shape()),
                "write `layout: { db: [690, 120] }`",
            );
            return None;
        }
        let mut out = Vec::new();
        let before = self.error_count();
        for (k, v) in entries(node) {
            let Some(name) = k.as_scalar() else {
                self.error(k.span, "layout: a name must be plain text");
                continue;
            };
            if !names.contains(&name) {
                self.error_hint(
                    k.span,
                    format!("layout: no component or workload is called `{name}`"),
                    suggestion(name, "components and workloads", names),
                );
                continue;
            }
            let numbers: Vec<f64> = match &v.kind {
                NodeKind::Seq(items) => items
                    .iter()
                    .filter_map(|i| i.as_scalar().and_then(|t| t.parse::<f64>().ok()))
                    .filter(|x| x.is_finite())
                    .collect(),
                _ => Vec::new(),
            };
            let is_pair = matches!(&v.kind, NodeKind::Seq(items) if items.len() == 2);
            if !is_pair || numbers.len() != 2 {
                self.error_hint(
                    v.span,
                    format!("layout.{name}: expected a position `[x, y]`"),
                    "write two numbers, e.g. `[690, 120]`",
                );
                continue;
            }
            out.push((name.to_string(), [numbers[0], numbers[1]]));
        }
        (self.error_count() == before).then_some(out)
    }

    /// Gathers component and request type names first, so that references resolve whatever
    /// order things appear in. Shape errors are left for the full read to report.
    fn collect_names(&mut self, top: &Fields<'_>) {
        let mut components = BTreeSet::new();
        let mut types = BTreeSet::new();
        if let Some(c) = top.get("components") {
            for (k, v) in entries(c) {
                if let Some(name) = k.as_scalar() {
                    components.insert(name.to_string());
                }
                if let NodeKind::Map(fields) = &v.kind {
                    for (fk, fv) in fields {
                        if fk.as_scalar() == Some("on_miss") {
                            collect_step_types(fv, &mut types);
                        }
                        if fk.as_scalar() == Some("handlers") {
                            for (hk, hv) in entries(fv) {
                                if let Some(t) = hk.as_scalar().filter(|t| *t != "*") {
                                    types.insert(t.to_string());
                                }
                                collect_call_types(hv, &mut types);
                            }
                        }
                    }
                }
            }
        }
        if let Some(NodeKind::Seq(items)) = top.get("workloads").map(|w| &w.kind) {
            for item in items {
                for (k, v) in entries(item) {
                    match k.as_scalar() {
                        Some("mix") => {
                            for (t, _) in entries(v) {
                                if let Some(t) = t.as_scalar() {
                                    types.insert(t.to_string());
                                }
                            }
                        }
                        Some("request") => {
                            if let Some(t) = v.as_scalar() {
                                types.insert(t.to_string());
                            }
                        }
                        Some("name") => {
                            if let Some(n) = v.as_scalar() {
                                self.workload_names.push(n.to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        types.remove("*");
        self.components = components.into_iter().collect();
        self.request_types = types.into_iter().collect();
    }

    fn components_(&mut self, node: &Node) -> Option<Vec<Component>> {
        let NodeKind::Map(raw) = &node.kind else {
            self.error_hint(
                node.span,
                format!(
                    "`components` should be a mapping from names to components, not {}",
                    node.shape()
                ),
                "write `components: { web: { kind: service, ... } }`",
            );
            return None;
        };
        if raw.is_empty() {
            self.error_hint(
                node.span,
                "the model has no components",
                "add at least one component",
            );
            return None;
        }
        let mut out: Vec<Component> = Vec::with_capacity(raw.len());
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
                    format!("component `{name}` is defined twice"),
                    "rename or remove one of them",
                );
                ok = false;
                continue;
            }
            if self.workload_names.iter().any(|w| w == name) {
                self.error_hint(
                    k.span,
                    format!("`{name}` names both a component and a workload"),
                    "give them different names: links refer to either by name",
                );
            }
            match self.component(name, k.span, v) {
                Some(c) => out.push(c),
                None => ok = false,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        ok.then_some(out)
    }

    fn component(&mut self, name: &str, span: Span, node: &Node) -> Option<Component> {
        let what = format!("component `{name}`");
        let NodeKind::Map(raw) = &node.kind else {
            self.error_hint(
                node.span,
                format!("{what} should be a mapping, not {}", node.shape()),
                "write `{ kind: service, workers: 4, handlers: { ... } }`",
            );
            return None;
        };
        let Some((_, kind_node)) = raw.iter().find(|(k, _)| k.as_scalar() == Some("kind")) else {
            self.error_hint(
                node.span,
                format!("{what} is missing `kind`"),
                format!("add `kind:` with one of: {}", schema::KINDS.join(", ")),
            );
            return None;
        };
        let kind_name = self.choice(kind_node, &format!("the kind of {what}"), schema::KINDS)?;
        let keys = match kind_name {
            "service" => schema::SERVICE,
            "load_balancer" => schema::LOAD_BALANCER,
            "cache" => schema::CACHE,
            "queue" => schema::QUEUE,
            "database" => schema::DATABASE,
            _ => schema::EXTERNAL,
        };
        let fields = self.fields(node, &what, keys)?;
        let description = fields
            .get("description")
            .and_then(|n| self.text(n, "description"))
            .map(str::to_string);
        let random_failures = match (fields.get("mtbf"), fields.get("mttr")) {
            (None, None) => None,
            (Some(b), Some(r)) => {
                let (mtbf, mttr) = (self.dist(b, "mtbf"), self.dist(r, "mttr"));
                Some(RandomFailures {
                    mtbf: mtbf?,
                    mttr: mttr?,
                })
            }
            _ => {
                self.error_hint(
                    fields.span,
                    format!("{what} has only one of `mtbf` and `mttr`"),
                    "random crashes need both: the time between failures and the time to repair",
                );
                return None;
            }
        };
        if let Some(rf) = &random_failures
            && rf.mtbf.is_zero()
        {
            self.error(fields.key_span("mtbf"), "mtbf: must be more than 0");
            return None;
        }
        let kind = match kind_name {
            "service" => ComponentKind::Service(self.service(&what, &fields)?),
            "load_balancer" => ComponentKind::LoadBalancer(self.load_balancer(&what, &fields)?),
            "cache" => ComponentKind::External(self.cache(name, &what, &fields)?),
            "queue" => ComponentKind::External(self.queue(name, span, &fields)?),
            "database" => ComponentKind::Service(self.database(&what, span, &fields)?),
            _ => ComponentKind::External(self.external(&what, &fields)?),
        };
        Some(Component {
            name: name.to_string(),
            description,
            kind,
            random_failures,
            span,
        })
    }

    fn external(&mut self, _what: &str, f: &Fields<'_>) -> Option<External> {
        let latency = f.get("latency").and_then(|n| self.dist(n, "latency"));
        let error_fraction = f
            .get("errors")
            .map_or(Some(0.0), |n| self.parsed(n, "errors", parse_fraction));
        Some(External {
            latency: latency?,
            error_fraction: error_fraction?,
            data: None,
        })
    }
}
