//! Turns the YAML tree into a [`Model`], collecting every problem on the way.
//!
//! Reading goes on after an error wherever it can, so that a user fixing a model sees all of
//! its problems at once; a part that could not be read is left out and the model as a whole
//! is withheld.

use std::collections::BTreeSet;

use super::diag::{Diagnostic, Severity, Span, suggestion};
use super::dist::{Dist, empirical, parse_dist};
use super::scenario::{self, BASELINE};
use super::schema::{self, Key};
use super::units::{parse_bandwidth, parse_duration, parse_fraction, parse_rate, parse_size};
use super::yaml::{self, Node, NodeKind};
use super::{
    Arrivals, Autoscale, Backoff, Backup, Breaker, Broker, Cache, CacheHits, CacheMode, Call,
    Cause, Change, Component, ComponentId, ComponentKind, DEFAULT_MESSAGE_BYTES, Data, Database,
    ErrorRate, External, Failover, Fault, FaultAction, Flap, Handler, HealthCheck, Io, Jitter,
    KeySpace, LatencyFigure, LinkOverride, Links, LoadBalancer, MAX_CACHE_KEYS, MAX_DATABASE_NODES,
    MAX_PRIMARIES, MULTI_PRIMARY_ROWS, MessageOrdering, Model, OnWrite, Outlier, Override, Policy,
    RandomFailures, ReadFrom, Replication, RequestTypeId, Retry, RetryBudget, Scenario, Service,
    Slo, SloScope, Step, Target, Workload,
};
use crate::sim::time::SimTime;

pub struct Outcome {
    pub model: Option<Model>,
    pub diagnostics: Vec<Diagnostic>,
}

const DEFAULT_DURATION: SimTime = SimTime::from_secs(60);
const DEFAULT_SERIES_BUCKETS: u32 = 200;
/// Mix probabilities are decimals typed by people; this absorbs their rounding only.
const MIX_TOLERANCE: f64 = 1e-9;

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
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(d) => return (None, vec![d]),
    };
    let mut reader = Reader {
        diags: Vec::new(),
        components: model.components.iter().map(|c| c.name.clone()).collect(),
        request_types: model.request_types.clone(),
        workload_names: model.workloads.iter().map(|w| w.name.clone()).collect(),
        call_defaults: (None, None, None),
    };
    let scenario = reader.scenario(name, root.span, &root, &model.components, &model.workloads);
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

/// The longest wait between retries when the model does not say.
const DEFAULT_MAX_BACKOFF: SimTime = SimTime::from_secs(10);

/// The entries of one mapping, after unknown and duplicate keys have been reported.
struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
    span: Span,
}

impl<'n> Fields<'n> {
    fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == name)
            .map(|(_, _, v)| *v)
    }

    fn key_span(&self, name: &str) -> Span {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == name)
            .map_or(self.span, |(_, k, _)| k.span)
    }
}

/// The entries of a mapping with user-chosen keys (component names, request types).
fn entries(node: &Node) -> &[(Node, Node)] {
    match &node.kind {
        NodeKind::Map(entries) => entries,
        _ => &[],
    }
}

impl Reader {
    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, message));
    }

    fn error_hint(&mut self, span: Span, message: impl Into<String>, hint: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(span, message).with_hint(hint));
    }

    fn error_count(&self) -> usize {
        self.diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Checks that `node` is a mapping whose keys are all in `keys`, reports the rest, and
    /// reports required keys that are missing.
    fn fields<'n>(
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

    fn key_text<'n>(&mut self, k: &'n Node) -> Option<&'n str> {
        if let NodeKind::Scalar { text, .. } = &k.kind {
            Some(text.as_str())
        } else {
            self.error(k.span, format!("a key should be a name, not {}", k.shape()));
            None
        }
    }

    fn text<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n str> {
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

    fn parsed<T>(
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

    fn duration(&mut self, node: &Node, what: &str) -> Option<SimTime> {
        self.parsed(node, what, parse_duration)
    }

    fn int(&mut self, node: &Node, what: &str, min: u64) -> Option<u64> {
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

    fn int_u32(&mut self, node: &Node, what: &str, min: u64) -> Option<u32> {
        let v = self.int(node, what, min)?;
        u32::try_from(v).ok().or_else(|| {
            self.error(node.span, format!("{what}: `{v}` is too large"));
            None
        })
    }

    fn choice<'a>(&mut self, node: &Node, what: &str, allowed: &[&'a str]) -> Option<&'a str> {
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

    fn dist(&mut self, node: &Node, what: &str) -> Option<Dist> {
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

    fn component_ref(&mut self, node: &Node, what: &str) -> Option<ComponentId> {
        let name = self.text(node, what)?;
        if let Ok(i) = self.components.binary_search_by(|c| c.as_str().cmp(name)) {
            return Some(ComponentId(u32::try_from(i).unwrap_or(u32::MAX)));
        }
        let names: Vec<&str> = self.components.iter().map(String::as_str).collect();
        let hint = suggestion(name, "components", &names);
        self.error_hint(node.span, format!("unknown component `{name}`"), hint);
        None
    }

    fn request_type(&self, name: &str) -> Option<RequestTypeId> {
        self.request_types
            .binary_search_by(|t| t.as_str().cmp(name))
            .ok()
            .map(|i| RequestTypeId(u16::try_from(i).unwrap_or(u16::MAX)))
    }

    fn request_type_ref(&mut self, node: &Node, what: &str) -> Option<RequestTypeId> {
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

    fn policy(&mut self, node: Option<&Node>, what: &str) -> Option<Policy> {
        match node {
            None => Some(Policy::RoundRobin),
            Some(n) => self
                .choice(n, what, schema::POLICIES)
                .and_then(Policy::parse),
        }
    }

    fn service(&mut self, what: &str, f: &Fields<'_>) -> Option<Service> {
        let replicas = f
            .get("replicas")
            .map_or(Some(1), |n| self.int_u32(n, "replicas", 1));
        let workers = f
            .get("workers")
            .map_or(Some(1), |n| self.int_u32(n, "workers", 1));
        let queue = self.waiting_room(f);
        let io = match f.get("io") {
            None => Some(Io::Blocking),
            Some(n) => self.choice(n, "io", schema::IO_MODES).map(|m| {
                if m == "async" {
                    Io::Async
                } else {
                    Io::Blocking
                }
            }),
        };
        let balance = self.policy(f.get("balance"), "balance");
        let queue_timeout = match f.get("queue_timeout") {
            None => Some(None),
            Some(n) => self.positive_duration(n, "queue_timeout").map(Some),
        };
        let autoscale = match f.get("autoscale") {
            None => Some(None),
            Some(n) => self
                .fields(n, "`autoscale`", schema::AUTOSCALE)
                .and_then(|a| {
                    let min = a.get("min").and_then(|n| self.int_u32(n, "min", 1));
                    let max = a.get("max").and_then(|n| self.int_u32(n, "max", 1));
                    let target = a
                        .get("target")
                        .map_or(Some(0.7), |n| self.parsed(n, "target", parse_fraction));
                    let queue_target = match a.get("queue_target") {
                        None => Some(None),
                        Some(n) => self.parsed(n, "queue_target", |t| {
                            t.trim()
                                .parse::<f64>()
                                .ok()
                                .filter(|v| *v > 0.0 && v.is_finite())
                                .map(Some)
                                .ok_or_else(|| format!("`{t}` is not a number above 0"))
                        }),
                    };
                    let window = a.get("window").map_or(Some(SimTime::from_secs(30)), |n| {
                        self.positive_duration(n, "window")
                    });
                    let cold_start = a
                        .get("cold_start")
                        .map_or(Some(SimTime::from_secs(30)), |n| {
                            self.duration(n, "cold_start")
                        });
                    let cooldown = a
                        .get("cooldown")
                        .map_or(Some(SimTime::from_secs(120)), |n| {
                            self.duration(n, "cooldown")
                        });
                    let (min, max, target) = (min?, max?, target?);
                    if min > max {
                        self.error(
                            a.span,
                            format!("autoscale: `min` ({min}) is above `max` ({max})"),
                        );
                        return None;
                    }
                    if max > 10_000 {
                        self.error(a.key_span("max"), "autoscale: `max` is above 10000");
                        return None;
                    }
                    if target <= 0.0 {
                        self.error(a.key_span("target"), "autoscale: `target` must be above 0%");
                        return None;
                    }
                    Some(Some(Autoscale {
                        min,
                        max,
                        target,
                        queue_target: queue_target?,
                        window: window?,
                        cold_start: cold_start?,
                        cooldown: cooldown?,
                    }))
                }),
        };
        if let (Some(Some(a)), Some(r)) = (
            &autoscale,
            f.get("replicas").map_or(Some(1), |n| {
                n.as_scalar().and_then(|t| t.parse::<u32>().ok())
            }),
        ) && (r < a.min || r > a.max)
        {
            self.error_hint(
                f.key_span("replicas"),
                format!("{r} replicas is outside autoscale's {}..{}", a.min, a.max),
                "with `autoscale`, `replicas` is the starting count, between `min` and `max`",
            );
        }
        let lifo = match f.get("queue_order") {
            None => Some(false),
            Some(n) => self
                .choice(n, "queue_order", &["fifo", "lifo"])
                .map(|o| o == "lifo"),
        };
        let timeout = f
            .get("timeout")
            .map(|n| self.positive_duration(n, "timeout"));
        let retry = f.get("retry").map(|n| self.retry(n));
        let breaker = f.get("breaker").map(|n| self.breaker(n));
        self.call_defaults = (timeout.flatten(), retry.flatten(), breaker.flatten());
        let handlers = f.get("handlers").and_then(|n| self.handlers(what, n));
        self.call_defaults = (None, None, None);
        Some(Service {
            replicas: replicas?,
            workers: workers?,
            queue: queue?,
            io: io?,
            balance: balance?,
            queue_timeout: queue_timeout?,
            lifo: lifo?,
            autoscale: autoscale?,
            handlers: handlers?,
            database: None,
        })
    }

    /// A replica's waiting room: `Some(None)` is unbounded, `None` an error reported.
    #[expect(
        clippy::option_option,
        reason = "the reader's convention: the outer `None` is an error already reported"
    )]
    fn waiting_room(&mut self, f: &Fields<'_>) -> Option<Option<u32>> {
        match f.get("queue") {
            None => Some(None),
            Some(n) if n.as_scalar() == Some("unbounded") => Some(None),
            Some(n) => self
                .int_u32(n, "queue (a number of requests, or `unbounded`)", 0)
                .map(Some),
        }
    }

    fn database(&mut self, what: &str, span: Span, f: &Fields<'_>) -> Option<Service> {
        let replicas = f
            .get("replicas")
            .map_or(Some(0), |n| self.int_u32(n, "replicas", 0));
        let primaries = f.get("primaries").map_or(Some(1), |n| {
            let p = self.int_u32(n, "primaries", 1)?;
            if p > MAX_PRIMARIES {
                self.error_hint(
                    n.span,
                    format!("primaries: `{p}` is above the limit of {MAX_PRIMARIES}"),
                    "multi-primary clusters beyond a handful of nodes conflict on nearly every \
                     hot row; model the nodes that take writes",
                );
                return None;
            }
            Some(p)
        });
        let workers = f
            .get("workers")
            .map_or(Some(1), |n| self.int_u32(n, "workers", 1));
        let queue = self.waiting_room(f);
        let balance = self.policy(f.get("balance"), "balance");
        let handlers = f.get("handlers").and_then(|n| self.handlers(what, n));
        let mut calls_ok = true;
        if let Some(hs) = &handlers
            && let Some(h) = hs.iter().find(|h| !h.steps.is_empty())
        {
            self.error_hint(
                h.span,
                format!("{what} is a database: its handlers cannot make calls"),
                "give each query type only its `work`; put the calls in the service that \
                 queries the database",
            );
            calls_ok = false;
        }
        let writes = match f.get("writes") {
            None => Some(Vec::new()),
            Some(n) => self.cache_writes(n),
        };
        let read_from = match f.get("read_from") {
            None => Some(ReadFrom::Primary),
            Some(n) => self
                .choice(n, "read_from", schema::READ_FROM)
                .map(|r| match r {
                    "replicas" => ReadFrom::Replicas,
                    "any" => ReadFrom::Any,
                    _ => ReadFrom::Primary,
                }),
        };
        let acks = match f.get("acks") {
            None => Some(None),
            Some(n) => self.int_u32(n, "acks", 1).map(Some),
        };
        let replication = match f.get("replication") {
            None => Some(Replication::Async),
            Some(n) => self
                .choice(n, "replication", schema::REPLICATION)
                .map(|r| match r {
                    "sync" => Replication::Sync,
                    "semi_sync" => Replication::SemiSync {
                        acks: acks.flatten().unwrap_or(1),
                    },
                    _ => Replication::Async,
                }),
        };
        let ship = match f.get("ship") {
            None => Some(None),
            Some(n) => self.dist(n, "ship").map(Some),
        };
        let apply = match f.get("apply") {
            None => Some(None),
            Some(n) => self.dist(n, "apply").map(Some),
        };
        let keys = f.get("keys").map_or(Some(1), |n| {
            let k = self.int_u32(n, "keys", 1)?;
            if k > MAX_CACHE_KEYS {
                self.error_hint(
                    n.span,
                    format!("keys: `{k}` is above the limit of {MAX_CACHE_KEYS}"),
                    "model the rows that are read and written often: the others never go stale",
                );
                return None;
            }
            Some(k)
        });
        let zipf = match f.get("zipf") {
            None => Some(0.0),
            Some(z) => self.zipf(z),
        };
        let failover = match f.get("failover") {
            None => Some(None),
            Some(n) => self
                .fields(n, "`failover`", schema::FAILOVER)
                .and_then(|ff| {
                    let detect = ff
                        .get("detect")
                        .and_then(|d| self.positive_duration(d, "failover.detect"));
                    let promote = ff
                        .get("promote")
                        .and_then(|d| self.duration(d, "failover.promote"));
                    Some(Some(Failover {
                        detect: detect?,
                        promote: promote?,
                    }))
                }),
        };
        let backup = match f.get("backup") {
            None => Some(None),
            Some(n) => self.fields(n, "`backup`", schema::BACKUP).and_then(|bf| {
                let every = match bf.get("every") {
                    None => Some(None),
                    Some(d) => self.positive_duration(d, "backup.every").map(Some),
                };
                let log_shipping = match bf.get("log_shipping") {
                    None => Some(None),
                    Some(d) => self.positive_duration(d, "backup.log_shipping").map(Some),
                };
                let (every, log_shipping) = (every?, log_shipping?);
                if every.is_none() && log_shipping.is_none() {
                    self.error_hint(
                        bf.span,
                        "`backup` gives no restore points",
                        "add `every: 1h` (full backups), `log_shipping: 5m` (archived log), or both",
                    );
                    return None;
                }
                Some(Some(Backup {
                    every,
                    log_shipping,
                }))
            }),
        };
        let (replicas, primaries, workers, queue, balance, handlers) =
            (replicas?, primaries?, workers?, queue?, balance?, handlers?);
        let (writes, read_from, acks, replication, ship, apply, keys, zipf, failover, backup) = (
            writes?,
            read_from?,
            acks?,
            replication?,
            ship?,
            apply?,
            keys?,
            zipf?,
            failover?,
            backup?,
        );
        let nodes = primaries + replicas;
        let mut ok = calls_ok;
        let mut refuse = |this: &mut Self, key: &str, message: String, hint: &str| {
            this.error_hint(f.key_span(key), message, hint);
            ok = false;
        };
        if nodes > MAX_DATABASE_NODES {
            refuse(
                self,
                "replicas",
                format!("{what} has {nodes} nodes, above the limit of {MAX_DATABASE_NODES}"),
                "model fewer replicas: beyond a few dozen they add nothing a student could see",
            );
        }
        if acks.is_some() && !matches!(replication, Replication::SemiSync { .. }) {
            refuse(
                self,
                "acks",
                format!("{what} has `acks` without `replication: semi_sync`"),
                "`acks` counts the replicas a semi-synchronous write waits for; add \
                 `replication: semi_sync` or remove `acks`",
            );
        }
        if let Replication::SemiSync { acks } = replication
            && acks > replicas
        {
            refuse(
                self,
                "replication",
                format!(
                    "{what} waits for {acks} replica acknowledgement(s) but has {replicas} \
                     replica(s)"
                ),
                "add replicas, or lower `acks`",
            );
        }
        if replication != Replication::Async && replicas == 0 && primaries == 1 {
            refuse(
                self,
                "replication",
                format!("{what} replicates synchronously but has no replicas"),
                "add `replicas: 1` or more, or leave `replication` out",
            );
        }
        if primaries > 1 && replication != Replication::Async {
            refuse(
                self,
                "replication",
                format!("{what} has several primaries: they replicate asynchronously"),
                "leave `replication` out (or `async`); synchronous multi-primary (certification) \
                 is not modelled",
            );
        }
        if read_from == ReadFrom::Replicas && replicas == 0 {
            refuse(
                self,
                "read_from",
                format!("{what} reads from replicas but has none"),
                "add `replicas: 1` or more, or read from `primary`",
            );
        }
        if failover.is_some() && (primaries > 1 || replicas == 0) {
            refuse(
                self,
                "failover",
                format!(
                    "{what} has `failover` but {}",
                    if primaries > 1 {
                        "several primaries: writes simply go to the others"
                    } else {
                        "no replica to promote"
                    }
                ),
                "remove `failover`, or give a single primary `replicas: 1` or more",
            );
        }
        if nodes > 1 && apply.is_none() {
            refuse(
                self,
                "kind",
                format!("{what} replicates but says nothing of `apply`"),
                "add `apply: exp 2ms`, the time a replica takes to apply one write: it sets how \
                 fast replicas can keep up",
            );
        }
        if primaries > 1 && u64::from(keys) * u64::from(nodes) > MULTI_PRIMARY_ROWS {
            refuse(
                self,
                "keys",
                format!("{what}: {keys} keys on {nodes} nodes is too many to track per node"),
                "multi-primary keeps each row's version on every node; use fewer keys",
            );
        }
        if !ok {
            return None;
        }
        Some(Service {
            replicas: nodes,
            workers,
            queue,
            io: Io::Blocking,
            balance,
            queue_timeout: None,
            lifo: false,
            autoscale: None,
            handlers,
            database: Some(Box::new(Database {
                primaries,
                writes,
                read_from,
                replication,
                ship,
                apply: apply.unwrap_or(Dist::Const(SimTime::ZERO)),
                keys,
                zipf,
                failover,
                backup,
                span,
            })),
        })
    }

    /// A scenario's `replicas` of a database: its read replicas, beside the primaries; the
    /// count must still suit its replication, reads and failover.
    fn database_replicas(
        &mut self,
        v: &Node,
        path: &str,
        id: ComponentId,
        db: &Database,
    ) -> Option<Change> {
        let n = self.int_u32(v, path, 0)?;
        let problem = match db.replication {
            Replication::SemiSync { acks } if acks > n => Some(format!(
                "{path}: semi-synchronous writes wait for {acks} replica acknowledgement(s), \
                 more than {n} replica(s)"
            )),
            Replication::Sync if n == 0 => {
                Some(format!("{path}: synchronous replication needs a replica"))
            }
            _ if n == 0 && db.read_from == ReadFrom::Replicas => {
                Some(format!("{path}: the database reads from replicas"))
            }
            _ if n == 0 && db.failover.is_some() => {
                Some(format!("{path}: failover needs a replica to promote"))
            }
            _ if db.primaries + n > MAX_DATABASE_NODES => Some(format!(
                "{path}: {} nodes is above the limit of {MAX_DATABASE_NODES}",
                db.primaries + n
            )),
            _ => None,
        };
        if let Some(message) = problem {
            self.error_hint(
                v.span,
                message,
                "a database's `replicas` counts its read replicas, beside the primaries",
            );
            return None;
        }
        Some(Change::Replicas(id, db.primaries + n))
    }

    fn zipf(&mut self, z: &Node) -> Option<f64> {
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

    fn handlers(&mut self, what: &str, node: &Node) -> Option<Vec<Handler>> {
        let NodeKind::Map(raw) = &node.kind else {
            self.error_hint(
                node.span,
                format!(
                    "the handlers of {what} should be a mapping from request types to handlers"
                ),
                "write `handlers: { browse: { work: exp 4ms } }`",
            );
            return None;
        };
        if raw.is_empty() {
            self.error_hint(
                node.span,
                format!("{what} has no handlers"),
                "add at least one, e.g. `\"*\": { work: exp 4ms }`",
            );
            return None;
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut ok = true;
        let mut seen = BTreeSet::new();
        for (k, v) in raw {
            let Some(type_name) = self.key_text(k) else {
                ok = false;
                continue;
            };
            if !seen.insert(type_name) {
                self.error(
                    k.span,
                    format!("the handler for `{type_name}` is given twice in {what}"),
                );
                ok = false;
                continue;
            }
            let request = if type_name == "*" {
                None
            } else {
                self.request_type(type_name)
            };
            let hwhat = format!("the `{type_name}` handler of {what}");
            let handler = if v.is_null() {
                Some(Handler {
                    request,
                    work: Dist::Const(SimTime::ZERO),
                    steps: Vec::new(),
                    span: k.span,
                })
            } else {
                self.fields(v, &hwhat, schema::HANDLER).and_then(|hf| {
                    let work = hf
                        .get("work")
                        .map_or(Some(Dist::Const(SimTime::ZERO)), |n| self.dist(n, "work"));
                    let steps = hf
                        .get("calls")
                        .map_or(Some(Vec::new()), |n| self.steps(n, &hwhat));
                    Some(Handler {
                        request,
                        work: work?,
                        steps: steps?,
                        span: k.span,
                    })
                })
            };
            match handler {
                Some(h) => out.push(h),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn steps(&mut self, node: &Node, what: &str) -> Option<Vec<Step>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.error_hint(
                node.span,
                format!("the calls of {what} should be a list, not {}", node.shape()),
                "write `calls: [ { to: db } ]`",
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            let is_parallel = entries(item)
                .iter()
                .any(|(k, _)| k.as_scalar() == Some("parallel"));
            let step = if is_parallel {
                self.fields(item, "a parallel step", schema::PARALLEL)
                    .and_then(|f| {
                        let list = f.get("parallel")?;
                        let NodeKind::Seq(calls) = &list.kind else {
                            self.error(list.span, "`parallel` should be a list of calls");
                            return None;
                        };
                        if calls.is_empty() {
                            self.error(list.span, "`parallel` has no calls");
                            return None;
                        }
                        let parsed: Vec<Call> = calls.iter().filter_map(|c| self.call(c)).collect();
                        (parsed.len() == calls.len()).then_some(Step::Parallel(parsed))
                    })
            } else {
                self.call(item).map(Step::Call)
            };
            match step {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn call(&mut self, node: &Node) -> Option<Call> {
        if entries(node)
            .iter()
            .any(|(k, _)| k.as_scalar() == Some("parallel"))
        {
            self.error_hint(
                node.span,
                "a parallel step cannot be nested in another",
                "each branch of `parallel` is one call; put further fan-out in the called component's handler",
            );
            return None;
        }
        let f = self.fields(node, "a call", schema::CALL)?;
        let to_node = f.get("to")?;
        let to = self.component_ref(to_node, "`to`");
        let request = match f.get("request") {
            None => Some(None),
            Some(n) => self.request_type_ref(n, "`request`").map(Some),
        };
        let (default_timeout, default_retry, default_breaker) = self.call_defaults.clone();
        let breaker = match f.get("breaker") {
            None => Some(default_breaker),
            Some(n) => self.breaker(n).map(Some),
        };
        let timeout = match f.get("timeout") {
            None => Some(default_timeout),
            Some(n) => self.positive_duration(n, "timeout").map(Some),
        };
        let concurrency = match f.get("concurrency") {
            None => Some(None),
            Some(n) => self.int_u32(n, "concurrency", 1).map(Some),
        };
        let hedge = match f.get("hedge") {
            None => Some(None),
            Some(n) => self.positive_duration(n, "hedge").map(Some),
        };
        let fallback = f
            .get("fallback")
            .map_or(Some(false), |n| self.boolean(n, "fallback"));
        let idempotent = match f.get("idempotent") {
            None => Some(true),
            Some(n) => self.boolean(n, "idempotent"),
        };
        let retry = match f.get("retry") {
            None => Some(default_retry),
            Some(n) => {
                let r = self.retry(n);
                if idempotent == Some(false) {
                    self.error_hint(
                        n.span,
                        "this call has a retry policy but is marked `idempotent: false`",
                        "retrying a non-idempotent call can apply it twice; remove one of the two",
                    );
                    return None;
                }
                r.map(Some)
            }
        };
        Some(Call {
            to: to?,
            request: request?,
            timeout: timeout?,
            // A non-idempotent call is never retried, whatever its service's default.
            retry: if idempotent? { retry? } else { None },
            breaker: breaker?,
            fallback: fallback?,
            hedge: hedge?,
            concurrency: concurrency?,
            idempotent: idempotent?,
            span: to_node.span,
        })
    }

    fn scenarios(
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
    fn scenario(
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

    fn overrides(
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
    fn change(
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

    fn slos(
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

    fn slo(
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

    fn positive_duration(&mut self, node: &Node, what: &str) -> Option<SimTime> {
        let t = self.duration(node, what)?;
        if t == SimTime::ZERO {
            self.error(node.span, format!("{what}: must be more than 0"));
            return None;
        }
        Some(t)
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
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

    fn breaker(&mut self, node: &Node) -> Option<Breaker> {
        let f = self.fields(node, "a circuit breaker", schema::BREAKER)?;
        let failures = f
            .get("failures")
            .map_or(Some(u32::MAX), |n| self.int_u32(n, "failures", 1));
        let error_rate = match f.get("error_rate") {
            None => Some(None),
            Some(n) => {
                let threshold = self.parsed(n, "error_rate", parse_fraction);
                let window = f.get("window").map_or(Some(SimTime::from_secs(10)), |w| {
                    self.positive_duration(w, "window")
                });
                let min_calls = f
                    .get("min_calls")
                    .map_or(Some(20), |m| self.int_u32(m, "min_calls", 1));
                match (threshold, window, min_calls) {
                    (Some(threshold), Some(window), Some(min_calls)) => Some(Some(ErrorRate {
                        threshold,
                        window,
                        min_calls,
                    })),
                    _ => None,
                }
            }
        };
        if f.get("failures").is_none() && f.get("error_rate").is_none() {
            self.error_hint(
                f.span,
                "a circuit breaker needs `failures`, `error_rate` or both",
                "add `failures: 5` (in a row) or `error_rate: 50%` (over a window)",
            );
            return None;
        }
        for key in ["window", "min_calls"] {
            if f.get(key).is_some() && f.get("error_rate").is_none() {
                self.error(
                    f.key_span(key),
                    format!("`{key}` belongs with `error_rate`"),
                );
            }
        }
        let open_for = f.get("open_for").map_or(Some(SimTime::from_secs(10)), |n| {
            self.positive_duration(n, "open_for")
        });
        let probes = f
            .get("probes")
            .map_or(Some(1), |n| self.int_u32(n, "probes", 1));
        Some(Breaker {
            failures: failures?,
            error_rate: error_rate?,
            open_for: open_for?,
            probes: probes?,
        })
    }

    fn retry(&mut self, node: &Node) -> Option<Retry> {
        let f = self.fields(node, "a retry policy", schema::RETRY)?;
        let attempts = f.get("attempts").and_then(|n| {
            let a = self.int_u32(n, "attempts", 1)?;
            if a > 100 {
                self.error_hint(
                    n.span,
                    format!("attempts: {a} is more than 100"),
                    "every retry multiplies load; real clients use a handful",
                );
                return None;
            }
            Some(a)
        });
        let backoff = match f.get("backoff") {
            None => Some((Backoff::Constant, SimTime::ZERO)),
            Some(n) => self.parsed(n, "backoff", |t| {
                let (kind, base) = t.trim().split_once(' ').ok_or_else(|| {
                    format!("`{t}`: write `constant 10ms`, `exponential 50ms` or `decorrelated 50ms`")
                })?;
                let kind = match kind {
                    "constant" => Backoff::Constant,
                    "exponential" => Backoff::Exponential,
                    "decorrelated" => Backoff::Decorrelated,
                    other => {
                        return Err(format!(
                            "unknown backoff `{other}`; write `constant 10ms`, `exponential 50ms` or `decorrelated 50ms`"
                        ));
                    }
                };
                Ok((kind, parse_duration(base)?))
            }),
        };
        let max_backoff = f.get("max_backoff").map_or(Some(DEFAULT_MAX_BACKOFF), |n| {
            self.duration(n, "max_backoff")
        });
        let jitter = match f.get("jitter") {
            None => Some(Jitter::None),
            Some(n) => self.choice(n, "jitter", schema::JITTERS).map(|j| match j {
                "full" => Jitter::Full,
                "equal" => Jitter::Equal,
                _ => Jitter::None,
            }),
        };
        let on = match f.get("on") {
            None => Some([true; 5]),
            Some(n) => {
                let NodeKind::Seq(items) = &n.kind else {
                    self.error_hint(
                        n.span,
                        "`on` should be a list of causes",
                        "write `on: [timeout, unavailable]`",
                    );
                    return None;
                };
                let mut on = [false; 5];
                let mut ok = true;
                for item in items {
                    match self
                        .choice(item, "on", schema::CAUSES)
                        .and_then(Cause::parse)
                    {
                        Some(c) => on[c.index()] = true,
                        None => ok = false,
                    }
                }
                ok.then_some(on)
            }
        };
        let ratio = match f.get("budget") {
            None => Some(None),
            Some(n) => self.parsed(n, "budget", parse_fraction).map(Some),
        };
        let burst = f
            .get("burst")
            .map_or(Some(10), |n| self.int_u32(n, "burst", 1));
        if f.get("burst").is_some() && f.get("budget").is_none() {
            self.error_hint(
                f.key_span("burst"),
                "`burst` needs a `budget`",
                "add `budget: 10%`, or remove `burst`",
            );
        }
        let budget = match (ratio?, burst?) {
            (Some(ratio), burst) => Some(RetryBudget {
                ratio,
                burst: f64::from(burst),
            }),
            (None, _) => None,
        };
        let (backoff, base) = backoff?;
        Some(Retry {
            budget,
            attempts: attempts?,
            backoff,
            base,
            max_backoff: max_backoff?,
            jitter: jitter?,
            on: on?,
        })
    }

    fn faults(&mut self, node: &Node, components: &[Component]) -> Option<Vec<Fault>> {
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

    fn fault(&mut self, node: &Node, components: &[Component]) -> Option<Fault> {
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
                let down = fl
                    .get("down")
                    .and_then(|n| self.positive_duration(n, "down"));
                let up = fl.get("up").and_then(|n| self.positive_duration(n, "up"));
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
    fn endpoint(&mut self, node: &Node, what: &str) -> Option<String> {
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

    fn network_fault(&mut self, verb: &str, node: &Node, f: &Fields<'_>) -> Option<FaultAction> {
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

    fn load_balancer(&mut self, what: &str, f: &Fields<'_>) -> Option<LoadBalancer> {
        let policy = self.policy(f.get("policy"), "policy");
        let latency = f
            .get("latency")
            .map_or(Some(Dist::Const(SimTime::ZERO)), |n| {
                self.dist(n, "latency")
            });
        let backends = f.get("backends").and_then(|n| {
            let list: Vec<&Node> = match &n.kind {
                NodeKind::Seq(items) => items.iter().collect(),
                _ => vec![n],
            };
            if list.is_empty() {
                self.error(n.span, format!("{what} has no backends"));
                return None;
            }
            let ids: Vec<ComponentId> = list
                .iter()
                .filter_map(|b| self.component_ref(b, "backend"))
                .collect();
            (ids.len() == list.len()).then_some(ids)
        });
        let health_check = match f.get("health_check") {
            None => Some(None),
            Some(n) => self
                .fields(n, "a health check", schema::HEALTH_CHECK)
                .and_then(|h| {
                    let interval = h.get("interval").map_or(Some(SimTime::from_secs(5)), |n| {
                        self.positive_duration(n, "interval")
                    });
                    let unhealthy = h
                        .get("unhealthy")
                        .map_or(Some(3), |n| self.int_u32(n, "unhealthy", 1));
                    let healthy = h
                        .get("healthy")
                        .map_or(Some(2), |n| self.int_u32(n, "healthy", 1));
                    Some(Some(HealthCheck {
                        interval: interval?,
                        unhealthy: unhealthy?,
                        healthy: healthy?,
                    }))
                }),
        };
        let outlier = match f.get("outlier") {
            None => Some(None),
            Some(n) => self
                .fields(n, "outlier ejection", schema::OUTLIER)
                .and_then(|o| {
                    let failures = o
                        .get("failures")
                        .and_then(|n| self.int_u32(n, "failures", 1));
                    let eject_for = o
                        .get("eject_for")
                        .map_or(Some(SimTime::from_secs(30)), |n| {
                            self.positive_duration(n, "eject_for")
                        });
                    Some(Some(Outlier {
                        failures: failures?,
                        eject_for: eject_for?,
                    }))
                }),
        };
        Some(LoadBalancer {
            policy: policy?,
            backends: backends?,
            latency: latency?,
            health_check: health_check?,
            outlier: outlier?,
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

    fn cache(&mut self, name: &str, what: &str, f: &Fields<'_>) -> Option<External> {
        let latency = f.get("latency").and_then(|n| self.dist(n, "latency"));
        let mode = match f.get("mode") {
            None => Some(CacheMode::CacheAside),
            Some(n) => self
                .choice(n, "mode", schema::CACHE_MODES)
                .map(|m| match m {
                    "read_through" => CacheMode::ReadThrough,
                    "write_through" => CacheMode::WriteThrough,
                    _ => CacheMode::CacheAside,
                }),
        };
        let on_write = match f.get("on_write") {
            None => Some(OnWrite::Invalidate),
            Some(n) => self
                .choice(n, "on_write", schema::ON_WRITES)
                .map(|w| match w {
                    "update" => OnWrite::Update,
                    _ => OnWrite::Invalidate,
                }),
        };
        let on_miss = f.get("on_miss").and_then(|n| {
            let m = self.fields(n, "`on_miss`", schema::ON_MISS)?;
            let to = m
                .get("to")
                .and_then(|t| self.component_ref(t, "on_miss.to"));
            if let (Some(id), Some(t)) = (to, m.get("to"))
                && self.components[id.0 as usize] == name
            {
                self.error_hint(
                    t.span,
                    format!("{what} reads its misses from itself"),
                    "name the backing store, e.g. `on_miss: { to: db }`",
                );
                return None;
            }
            let request = match m.get("request") {
                None => Some(None),
                Some(r) => self.request_type_ref(r, "on_miss.request").map(Some),
            };
            Some((to?, request?, n.span))
        });
        let coalesce = f
            .get("coalesce")
            .map_or(Some(false), |n| self.boolean(n, "coalesce"));
        let writes = match f.get("writes") {
            None => Some(Vec::new()),
            Some(n) => self.cache_writes(n),
        };
        let hits = self.cache_hits(what, f);
        let policy = mode.and_then(|m| self.cache_write_policy(what, f, m, writes.as_deref()));
        let (latency, mode, on_write, on_miss, coalesce, writes, hits, ()) = (
            latency?, mode?, on_write?, on_miss?, coalesce?, writes?, hits?, policy?,
        );
        Some(External {
            latency,
            error_fraction: 0.0,
            data: Some(Box::new(Data::Cache(Cache {
                hits,
                mode,
                on_write: if mode == CacheMode::WriteThrough {
                    OnWrite::Update
                } else {
                    on_write
                },
                backing: on_miss.0,
                backing_request: on_miss.1,
                coalesce,
                writes,
                on_miss_span: on_miss.2,
            }))),
        })
    }

    fn queue(&mut self, name: &str, span: Span, f: &Fields<'_>) -> Option<External> {
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

    fn queue_ordering(
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

    fn queue_depends(&mut self, node: &Node) -> Option<Vec<(RequestTypeId, RequestTypeId)>> {
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

    fn cache_writes(&mut self, node: &Node) -> Option<Vec<RequestTypeId>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.error_hint(
                node.span,
                format!("`writes` should be a list, not {}", node.shape()),
                "write `writes: [update_profile]`",
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let t = self.text(item, "writes")?;
            let Some(id) = self.request_type(t) else {
                let names: Vec<&str> = self.request_types.iter().map(String::as_str).collect();
                let hint = suggestion(t, "request types", &names);
                self.error_hint(
                    item.span,
                    format!("writes: `{t}` is not a request type that anything sends"),
                    hint,
                );
                return None;
            };
            out.push(id);
        }
        Some(out)
    }

    /// What writes do must be something the cache can do: installing a written key needs
    /// keys, and a write policy needs writes to apply to. `writes` is `None` when it could
    /// not be read (that is reported already).
    fn cache_write_policy(
        &mut self,
        what: &str,
        f: &Fields<'_>,
        mode: CacheMode,
        writes: Option<&[RequestTypeId]>,
    ) -> Option<()> {
        let fixed = f.get("hit_ratio").is_some() && f.get("keys").is_none();
        let no_writes = writes.is_some_and(<[RequestTypeId]>::is_empty);
        let mut ok = true;
        if mode == CacheMode::WriteThrough {
            let at = f.get("mode").map_or(f.span, |n| n.span);
            if fixed {
                ok = false;
                self.error_hint(
                    at,
                    format!(
                        "`mode: write_through` needs `keys`, and {what} has a fixed `hit_ratio`"
                    ),
                    "a write-through cache installs the key each write goes to, and a fixed \
                     hit ratio has no keys; declare `keys` (and `writes`) instead of \
                     `hit_ratio`, or use `mode: read_through`",
                );
            } else if no_writes {
                ok = false;
                self.error_hint(
                    at,
                    format!("`mode: write_through` needs `writes`, and {what} has none"),
                    "list the request types that the cache writes through to the store: \
                     `writes: [update_profile]`; without writes it is `mode: read_through`",
                );
            }
            if let Some(n) = f.get("on_write") {
                ok = false;
                self.error_hint(
                    n.span,
                    "`on_write` does not apply to `mode: write_through`",
                    "a write-through cache always installs what it writes; remove `on_write`, \
                     or choose `mode: cache_aside` or `read_through`",
                );
            }
        } else if let Some(n) = f.get("on_write")
            && let Some(value) = n.as_scalar().filter(|v| schema::ON_WRITES.contains(v))
        {
            if fixed {
                ok = false;
                self.error_hint(
                    n.span,
                    format!("`on_write: {value}` needs `keys`, and {what} has a fixed `hit_ratio`"),
                    if value == "update" {
                        "an update installs the written key, and a fixed hit ratio has no keys; \
                         declare `keys` instead of `hit_ratio`"
                    } else {
                        "a fixed hit ratio has no keys to invalidate; declare `keys` instead of \
                         `hit_ratio`"
                    },
                );
            } else if no_writes {
                ok = false;
                self.error_hint(
                    n.span,
                    format!("`on_write` applies only to a cache with `writes` ({what})"),
                    "list the request types that write their key: `writes: [update_profile]`",
                );
            }
        }
        ok.then_some(())
    }

    /// A fixed hit ratio, or a key space whose hits emerge from popularity and capacity.
    fn cache_hits(&mut self, what: &str, f: &Fields<'_>) -> Option<CacheHits> {
        let key_space_only = ["zipf", "capacity", "ttl", "coalesce", "writes"];
        match (f.get("hit_ratio"), f.get("keys")) {
            (Some(_), Some(_)) => {
                self.error_hint(
                    f.key_span("keys"),
                    format!("{what} has both `hit_ratio` and `keys`"),
                    "give a fixed `hit_ratio`, or a key space (`keys`, `zipf`, `capacity`) whose \
                     hits emerge as the run goes",
                );
                None
            }
            (None, None) => {
                self.error_hint(
                    f.span,
                    format!("{what} says nothing of its hits"),
                    "give `hit_ratio: 80%`, or a key space: `keys: 100000, zipf: 0.9, capacity: \
                     10000`",
                );
                None
            }
            (Some(n), None) => {
                let ratio = self.parsed(n, "hit_ratio", parse_fraction);
                let mut ok = true;
                for k in key_space_only {
                    if f.get(k).is_some() {
                        ok = false;
                        self.error_hint(
                            f.key_span(k),
                            format!("`{k}` applies only to a cache with `keys`"),
                            "a fixed `hit_ratio` has no keys to evict, expire, coalesce or \
                             invalidate; declare `keys` instead of `hit_ratio`",
                        );
                    }
                }
                ok.then_some(())?;
                ratio.map(CacheHits::Fixed)
            }
            (None, Some(n)) => {
                let keys = self.int_u32(n, "keys", 1).and_then(|k| {
                    if k > MAX_CACHE_KEYS {
                        self.error_hint(
                            n.span,
                            format!("keys: `{k}` is above the limit of {MAX_CACHE_KEYS}"),
                            "model the hottest keys only: the tail of a Zipf popularity rarely \
                             hits anyway",
                        );
                        return None;
                    }
                    Some(k)
                });
                let zipf = match f.get("zipf") {
                    None => Some(0.0),
                    Some(z) => self.zipf(z),
                };
                let capacity = match f.get("capacity") {
                    None => Some(None),
                    Some(c) => self.int_u32(c, "capacity", 1).map(Some),
                };
                let ttl = match f.get("ttl") {
                    None => Some(None),
                    Some(t) => self.positive_duration(t, "ttl").map(Some),
                };
                let (keys, zipf, capacity, ttl) = (keys?, zipf?, capacity?, ttl?);
                Some(CacheHits::Keys(KeySpace {
                    keys,
                    zipf,
                    capacity: capacity.unwrap_or(keys).min(keys),
                    ttl,
                }))
            }
        }
    }

    fn workloads(&mut self, node: &Node) -> Option<Vec<Workload>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.error_hint(
                node.span,
                format!("`workloads` should be a list, not {}", node.shape()),
                "write `workloads: [ { name: users, target: web, rate: 100/s, request: browse } ]`",
            );
            return None;
        };
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

    fn workload(&mut self, node: &Node) -> Option<Workload> {
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

    fn arrivals(&mut self, what: &str, f: &Fields<'_>) -> Option<Arrivals> {
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

    fn rate_schedule(&mut self, node: &Node) -> Option<Vec<(SimTime, f64)>> {
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

    fn mix(&mut self, what: &str, f: &Fields<'_>) -> Option<Vec<(RequestTypeId, f64)>> {
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

    fn links(&mut self, node: &Node) -> Option<Links> {
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

    fn link_override(&mut self, node: &Node) -> Option<LinkOverride> {
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
