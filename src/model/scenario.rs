//! What-if scenarios and service level objectives: the parts of a model that experiments
//! read.
//!
//! A scenario is a named set of extra faults and parameter overrides (`set:`), written with
//! dotted paths such as `app.replicas` or `app.calls.db.retry.attempts`. Paths are resolved
//! against the model when it is read, so applying a scenario cannot fail: a [`Scenario`]
//! that exists names only things that exist. Overrides apply to the resolved model, after a
//! service's call defaults have been copied into its calls, so `app.timeout` sets the
//! timeout of every call `app` makes, whatever each call said before.

use super::diag::suggestion;
use super::{
    Arrivals, Backoff, Component, ComponentId, ComponentKind, Dist, Fault, Jitter, Model,
    RequestTypeId, Retry, Span, Step, Workload,
};
use crate::shared::time::SimTime;

/// The name SLOs use for the model as written, which no scenario may take.
pub const BASELINE: &str = "baseline";

/// A named what-if: faults added to the model's own, and parameters changed.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    /// Added after the model's own faults.
    pub faults: Vec<Fault>,
    /// Applied in the order written.
    pub set: Vec<Override>,
    pub span: Span,
}

/// One `path: value` of a scenario's `set`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The path as written, for reports.
    pub path: String,
    pub change: Change,
    pub span: Span,
}

/// Which calls a call override reaches: every call of a service, those of one handler, or
/// those to one callee (or both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSel {
    pub component: ComponentId,
    /// Index into the service's handlers.
    pub handler: Option<usize>,
    pub to: Option<ComponentId>,
}

/// A resolved override. Workloads are indexed in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Replicas(ComponentId, u32),
    Workers(ComponentId, u32),
    Queue(ComponentId, Option<u32>),
    Work(ComponentId, usize, Dist),
    Latency(ComponentId, Dist),
    Errors(ComponentId, f64),
    CallTimeout(CallSel, SimTime),
    CallAttempts(CallSel, u32),
    /// `None` removes the bulkhead.
    CallConcurrency(CallSel, Option<u32>),
    /// A utilisation target, which also stops scaling on queue depth.
    AutoscaleTarget(ComponentId, f64),
    AutoscaleQueueTarget(ComponentId, f64),
    AutoscaleColdStart(ComponentId, SimTime),
    AutoscaleMax(ComponentId, u32),
    /// Raises the starting replicas to the new minimum when they were below it.
    AutoscaleMin(ComponentId, u32),
    Rate(usize, f64),
    Users(usize, u32),
}

/// What a path names, before its value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Replicas(ComponentId),
    Workers(ComponentId),
    Queue(ComponentId),
    Work(ComponentId, usize),
    Latency(ComponentId),
    Errors(ComponentId),
    CallTimeout(CallSel),
    CallAttempts(CallSel),
    CallConcurrency(CallSel),
    AutoscaleTarget(ComponentId),
    AutoscaleQueueTarget(ComponentId),
    AutoscaleColdStart(ComponentId),
    AutoscaleMax(ComponentId),
    AutoscaleMin(ComponentId),
    Rate(usize),
    Users(usize),
}

/// Why a path does not resolve, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub message: String,
    pub hint: String,
}

fn path_error(message: impl Into<String>, hint: impl Into<String>) -> PathError {
    PathError {
        message: message.into(),
        hint: hint.into(),
    }
}

const SERVICE_PATHS: &[&str] = &[
    "replicas",
    "workers",
    "queue",
    "timeout",
    "retry.attempts",
    "concurrency",
    "calls",
    "handlers",
    "autoscale",
];
const CALL_PATHS: &[&str] = &["timeout", "retry.attempts", "concurrency"];
const AUTOSCALE_PATHS: &[&str] = &["target", "queue_target", "cold_start", "min", "max"];

/// Resolves a dotted path against the components (sorted by name, as in a [`Model`]), the
/// workloads and the request types.
///
/// # Errors
/// What in the path does not exist, with the closest names as a hint.
pub fn resolve(
    path: &str,
    components: &[Component],
    workloads: &[Workload],
    request_types: &[String],
) -> Result<Target, PathError> {
    let segments: Vec<&str> = path.split('.').collect();
    let Some((&head, rest)) = segments.split_first() else {
        return Err(path_error("an empty path", "write `app.replicas`"));
    };
    if let Some(w) = workloads.iter().position(|w| w.name == head) {
        let closed = matches!(workloads[w].arrivals, Arrivals::Closed { .. });
        return match (rest, closed) {
            (["rate"], false) => Ok(Target::Rate(w)),
            (["users"], true) => Ok(Target::Users(w)),
            (["rate"], true) => Err(path_error(
                format!("workload `{head}` is closed-loop: it has `users`, not a `rate`"),
                format!("write `{head}.users`"),
            )),
            (["users"], false) => Err(path_error(
                format!("workload `{head}` is open-loop: it has a `rate`, not `users`"),
                format!("write `{head}.rate`"),
            )),
            _ => Err(path_error(
                format!("`{path}` cannot be set"),
                suggestion(
                    &rest.join("."),
                    "settable keys of a workload",
                    &[if closed { "users" } else { "rate" }],
                ),
            )),
        };
    }
    let Some(id) = components
        .binary_search_by(|c| c.name.as_str().cmp(head))
        .ok()
    else {
        let mut names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
        names.extend(workloads.iter().map(|w| w.name.as_str()));
        return Err(path_error(
            format!("unknown component or workload `{head}` in `{path}`"),
            suggestion(head, "components and workloads", &names),
        ));
    };
    let cid = ComponentId(u32::try_from(id).unwrap_or(u32::MAX));
    let component = &components[id];
    match &component.kind {
        ComponentKind::External(e) if e.data.is_some() => match rest {
            ["latency"] => Ok(Target::Latency(cid)),
            _ => Err(path_error(
                format!(
                    "`{path}` cannot be set: `{head}` is a {}",
                    component.kind.label()
                ),
                suggestion(&rest.join("."), "settable keys", &["latency"]),
            )),
        },
        ComponentKind::External(_) => match rest {
            ["latency"] => Ok(Target::Latency(cid)),
            ["errors"] => Ok(Target::Errors(cid)),
            _ => Err(path_error(
                format!("`{path}` cannot be set: `{head}` is an external"),
                suggestion(
                    &rest.join("."),
                    "settable keys of an external",
                    &["errors", "latency"],
                ),
            )),
        },
        ComponentKind::LoadBalancer(_) => Err(path_error(
            format!("`{path}` cannot be set: `{head}` is a load balancer"),
            "set the replicas, workers or queue of the services behind it",
        )),
        ComponentKind::Service(s) => {
            let handler_names: Vec<&str> = s
                .handlers
                .iter()
                .map(|h| {
                    h.request
                        .map_or("*", |t| request_types[t.0 as usize].as_str())
                })
                .collect();
            match rest {
                ["replicas"] => Ok(Target::Replicas(cid)),
                ["workers"] => Ok(Target::Workers(cid)),
                ["queue"] => Ok(Target::Queue(cid)),
                ["autoscale", key] if s.autoscale.is_some() => match *key {
                    "target" => Ok(Target::AutoscaleTarget(cid)),
                    "queue_target" => Ok(Target::AutoscaleQueueTarget(cid)),
                    "cold_start" => Ok(Target::AutoscaleColdStart(cid)),
                    "max" => Ok(Target::AutoscaleMax(cid)),
                    "min" => Ok(Target::AutoscaleMin(cid)),
                    _ => Err(path_error(
                        format!("`{path}` cannot be set"),
                        suggestion(key, "settable keys of `autoscale`", AUTOSCALE_PATHS),
                    )),
                },
                ["autoscale", ..] => Err(path_error(
                    format!("`{path}` cannot be set: `{head}` has no `autoscale`"),
                    format!("give `{head}` an `autoscale:` in the model, or set `{head}.replicas`"),
                )),
                call if is_call_path(call) => {
                    call_target(path, call, CallSel::every(cid), components, s)
                }
                ["calls", to, call @ ..] => {
                    let sel = CallSel {
                        to: Some(callee(path, to, components, s, None)?),
                        ..CallSel::every(cid)
                    };
                    call_target(path, call, sel, components, s)
                }
                ["handlers", handler, more @ ..] => {
                    let Some(h) = handler_names.iter().position(|n| n == handler) else {
                        return Err(path_error(
                            format!("`{head}` has no `{handler}` handler (in `{path}`)"),
                            suggestion(handler, "handlers", &handler_names),
                        ));
                    };
                    let sel = CallSel {
                        handler: Some(h),
                        ..CallSel::every(cid)
                    };
                    match more {
                        ["work"] => Ok(Target::Work(cid, h)),
                        ["calls", to, call @ ..] => {
                            let sel = CallSel {
                                to: Some(callee(path, to, components, s, Some(h))?),
                                ..sel
                            };
                            call_target(path, call, sel, components, s)
                        }
                        call => call_target(path, call, sel, components, s),
                    }
                }
                _ => Err(path_error(
                    format!("`{path}` cannot be set"),
                    format!(
                        "{}; a call's keys: `{head}.calls.CALLEE.timeout`, \
                         `{head}.handlers.TYPE.calls.CALLEE.retry.attempts`",
                        suggestion(&rest.join("."), "settable keys of a service", SERVICE_PATHS)
                    ),
                )),
            }
        }
    }
}

fn is_call_path(rest: &[&str]) -> bool {
    matches!(rest, ["timeout" | "concurrency"] | ["retry", "attempts"])
}

impl CallSel {
    fn every(component: ComponentId) -> Self {
        CallSel {
            component,
            handler: None,
            to: None,
        }
    }

    fn matches(&self, handler: usize, to: ComponentId) -> bool {
        self.handler.is_none_or(|h| h == handler) && self.to.is_none_or(|t| t == to)
    }
}

fn callee(
    path: &str,
    name: &str,
    components: &[Component],
    service: &super::Service,
    handler: Option<usize>,
) -> Result<ComponentId, PathError> {
    let mut called: Vec<&str> = Vec::new();
    for (i, h) in service.handlers.iter().enumerate() {
        if handler.is_some_and(|only| only != i) {
            continue;
        }
        for call in calls_of(&h.steps) {
            called.push(components[call.to.0 as usize].name.as_str());
        }
    }
    if called.contains(&name) {
        let i = components
            .binary_search_by(|c| c.name.as_str().cmp(name))
            .unwrap_or(0);
        return Ok(ComponentId(u32::try_from(i).unwrap_or(u32::MAX)));
    }
    Err(path_error(
        format!("no call to `{name}` there (in `{path}`)"),
        suggestion(name, "components called there", &called),
    ))
}

fn call_target(
    path: &str,
    rest: &[&str],
    sel: CallSel,
    components: &[Component],
    service: &super::Service,
) -> Result<Target, PathError> {
    let selected: Vec<&super::Call> = service
        .handlers
        .iter()
        .enumerate()
        .flat_map(|(i, h)| calls_of(&h.steps).map(move |c| (i, c)))
        .filter(|(i, c)| sel.matches(*i, c.to))
        .map(|(_, c)| c)
        .collect();
    let owner = &components[sel.component.0 as usize].name;
    match rest {
        ["timeout" | "concurrency"] | ["retry", "attempts"] if selected.is_empty() => {
            Err(path_error(
                format!("`{path}` selects no call: `{owner}` makes none there"),
                "set the calls of a handler that makes calls",
            ))
        }
        ["timeout"] => Ok(Target::CallTimeout(sel)),
        ["concurrency"] => Ok(Target::CallConcurrency(sel)),
        ["retry", "attempts"] => {
            if selected.iter().all(|c| !c.idempotent) {
                return Err(path_error(
                    format!("`{path}` selects only calls marked `idempotent: false`"),
                    "a non-idempotent call is never retried",
                ));
            }
            Ok(Target::CallAttempts(sel))
        }
        _ => Err(path_error(
            format!("`{path}` cannot be set"),
            suggestion(&rest.join("."), "settable keys of a call", CALL_PATHS),
        )),
    }
}

fn calls_of(steps: &[Step]) -> impl Iterator<Item = &super::Call> {
    steps.iter().flat_map(|s| match s {
        Step::Call(c) => std::slice::from_ref(c),
        Step::Parallel(cs) => cs.as_slice(),
    })
}

fn calls_of_mut(steps: &mut [Step]) -> impl Iterator<Item = &mut super::Call> {
    steps.iter_mut().flat_map(|s| match s {
        Step::Call(c) => std::slice::from_mut(c),
        Step::Parallel(cs) => cs.as_mut_slice(),
    })
}

/// The retry policy `retry: { attempts: N }` would give: no backoff, every cause retried.
fn plain_retry(attempts: u32) -> Retry {
    Retry {
        attempts,
        backoff: Backoff::Constant,
        base: SimTime::ZERO,
        max_backoff: SimTime::from_secs(10),
        jitter: Jitter::None,
        on: [true; 5],
        budget: None,
    }
}

/// Applies one override. Paths were resolved when the model was read, so every id is valid.
pub fn apply(change: &Change, components: &mut [Component], workloads: &mut [Workload]) {
    match change {
        Change::Replicas(id, n) => with_service(components, *id, |s| s.replicas = *n),
        Change::Workers(id, n) => with_service(components, *id, |s| s.workers = *n),
        Change::Queue(id, q) => with_service(components, *id, |s| s.queue = *q),
        Change::Work(id, h, work) => {
            with_service(components, *id, |s| s.handlers[*h].work = work.clone());
        }
        Change::Latency(id, latency) => {
            if let ComponentKind::External(e) = &mut components[id.0 as usize].kind {
                e.latency = latency.clone();
            }
        }
        Change::Errors(id, fraction) => {
            if let ComponentKind::External(e) = &mut components[id.0 as usize].kind {
                e.error_fraction = *fraction;
            }
        }
        Change::CallTimeout(sel, timeout) => with_calls(components, *sel, |c| {
            c.timeout = Some(*timeout);
        }),
        Change::CallAttempts(sel, attempts) => with_calls(components, *sel, |c| {
            if c.idempotent {
                match &mut c.retry {
                    Some(r) => r.attempts = *attempts,
                    // One attempt is what a call without a policy makes already.
                    None if *attempts == 1 => {}
                    None => c.retry = Some(plain_retry(*attempts)),
                }
            }
        }),
        Change::CallConcurrency(sel, limit) => with_calls(components, *sel, |c| {
            c.concurrency = *limit;
        }),
        Change::AutoscaleTarget(id, target) => with_autoscale(components, *id, |a| {
            a.target = *target;
            a.queue_target = None;
        }),
        Change::AutoscaleQueueTarget(id, target) => {
            with_autoscale(components, *id, |a| a.queue_target = Some(*target));
        }
        Change::AutoscaleColdStart(id, delay) => {
            with_autoscale(components, *id, |a| a.cold_start = *delay);
        }
        Change::AutoscaleMax(id, max) => with_autoscale(components, *id, |a| a.max = *max),
        Change::AutoscaleMin(id, min) => with_service(components, *id, |s| {
            if let Some(a) = &mut s.autoscale {
                a.min = *min;
                s.replicas = s.replicas.max(*min);
            }
        }),
        Change::Rate(w, rate) => {
            workloads[*w].arrivals = Arrivals::Open {
                steps: vec![(SimTime::ZERO, *rate)],
            };
        }
        Change::Users(w, users) => {
            if let Arrivals::Closed { users: u, .. } = &mut workloads[*w].arrivals {
                *u = *users;
            }
        }
    }
}

fn with_service(
    components: &mut [Component],
    id: ComponentId,
    f: impl FnOnce(&mut super::Service),
) {
    if let ComponentKind::Service(s) = &mut components[id.0 as usize].kind {
        f(s);
    }
}

fn with_autoscale(
    components: &mut [Component],
    id: ComponentId,
    f: impl FnOnce(&mut super::Autoscale),
) {
    with_service(components, id, |s| {
        if let Some(a) = &mut s.autoscale {
            f(a);
        }
    });
}

fn with_calls(components: &mut [Component], sel: CallSel, mut f: impl FnMut(&mut super::Call)) {
    with_service(components, sel.component, |s| {
        for (i, h) in s.handlers.iter_mut().enumerate() {
            for call in calls_of_mut(&mut h.steps) {
                if sel.matches(i, call.to) {
                    f(call);
                }
            }
        }
    });
}

/// A latency figure an SLO can bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LatencyFigure {
    Mean,
    P50,
    P90,
    P99,
    P999,
}

impl LatencyFigure {
    pub const ALL: [LatencyFigure; 5] = [
        LatencyFigure::Mean,
        LatencyFigure::P50,
        LatencyFigure::P90,
        LatencyFigure::P99,
        LatencyFigure::P999,
    ];

    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            LatencyFigure::Mean => "mean",
            LatencyFigure::P50 => "p50",
            LatencyFigure::P90 => "p90",
            LatencyFigure::P99 => "p99",
            LatencyFigure::P999 => "p999",
        }
    }
}

/// Where an SLO applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SloScope {
    /// Under the baseline and under every scenario.
    Everywhere,
    /// Under the model as written only.
    Baseline,
    /// Under this scenario only (index into [`Model::scenarios`]).
    Scenario(usize),
}

/// A service level objective for one request type (user flow), over the measured window.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub request: RequestTypeId,
    pub scope: SloScope,
    /// Answered over ended, at least this fraction.
    pub availability: Option<f64>,
    /// End-to-end latency of answered requests, at most these.
    pub latency: Vec<(LatencyFigure, SimTime)>,
    pub span: Span,
}

impl Model {
    /// The model with a scenario's overrides applied and its faults added.
    #[must_use]
    pub fn with_scenario(&self, scenario: &Scenario) -> Model {
        let mut m = self.clone();
        for o in &scenario.set {
            apply(&o.change, &mut m.components, &mut m.workloads);
        }
        m.faults.extend(scenario.faults.iter().cloned());
        m
    }

    #[must_use]
    pub fn scenario(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.name == name)
    }
}
