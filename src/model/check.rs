//! Checks that need the whole model: every request that can be sent has a handler where it
//! lands, every handler can be reached, and no request can call itself forever.
//!
//! The graph walked here has one node per (component, request type) pair that traffic can
//! reach, because a `"*"` handler forwards whatever type it receives: the same component can
//! be part of a cycle for one type and not for another.

use super::diag::{Diagnostic, Severity, Span};
use super::{CacheMode, ComponentId, ComponentKind, Model, RequestTypeId, Step};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Unseen,
    OnPath,
    Done,
}

struct Edge {
    to: usize,
    site: Span,
}

pub fn check(model: &Model) -> Vec<Diagnostic> {
    let mut diags = check_graph(model);
    diags.extend(balanced_caches(model));
    if !diags.iter().any(|d| d.severity == Severity::Error) {
        diags.extend(timeout_warnings(model));
        diags.extend(super::effort::effort_warnings(model));
    }
    diags
}

/// A cache-aside cache's callers read the store themselves on a miss, and a database routes
/// writes and reads to its own nodes; a load balancer only passes answers on, so it can be
/// in front of neither. A queue's consumers must be services.
fn balanced_caches(model: &Model) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for comp in &model.components {
        let ComponentKind::LoadBalancer(lb) = &comp.kind else {
            continue;
        };
        for &b in &lb.backends {
            let backend = model.component(b);
            let refused = if backend
                .kind
                .cache()
                .is_some_and(|c| c.mode == CacheMode::CacheAside)
            {
                Some((
                    "the cache-aside cache",
                    "with cache-aside the caller reads the store on a miss, which a balancer \
                     cannot do; give the cache `mode: read_through`, or call it from a service",
                ))
            } else if backend.kind.database().is_some() {
                Some((
                    "the database",
                    "a database sends writes to its primary and reads where `read_from` says, \
                     which a balancer would bypass; call the database directly (its `balance` \
                     spreads reads over its nodes)",
                ))
            } else {
                None
            };
            if let Some((what, hint)) = refused {
                diags.push(
                    Diagnostic::error(
                        comp.span,
                        format!("`{}` balances over {what} `{}`", comp.name, backend.name),
                    )
                    .with_hint(hint),
                );
            }
        }
    }
    for comp in &model.components {
        if let Some(q) = comp.kind.queue() {
            for &c in &q.consumers {
                let consumer = model.component(c);
                if !matches!(consumer.kind, ComponentKind::Service(_))
                    || consumer.kind.database().is_some()
                {
                    diags.push(
                        Diagnostic::error(
                            q.span,
                            format!(
                                "`{}` cannot consume from queue `{}`: it is `kind: {}`, not a \
                                 service",
                                consumer.name,
                                comp.name,
                                consumer.kind.label()
                            ),
                        )
                        .with_hint("consumers pull with their workers: name a service"),
                    );
                }
            }
        }
    }
    diags
}

fn check_graph(model: &Model) -> Vec<Diagnostic> {
    let n_types = model.request_types.len().max(1);
    let node = |c: ComponentId, t: RequestTypeId| c.0 as usize * n_types + t.0 as usize;
    let n_nodes = model.components.len() * n_types;
    let mut marks = vec![Mark::Unseen; n_nodes];
    let mut diags = Vec::new();
    let mut reported_missing = std::collections::BTreeSet::new();
    // Handlers actually used, by (component, handler index).
    let mut used = std::collections::BTreeSet::new();

    let edges_of = |n: usize,
                    diags: &mut Vec<Diagnostic>,
                    used: &mut std::collections::BTreeSet<(usize, usize)>,
                    reported: &mut std::collections::BTreeSet<usize>|
     -> Vec<Edge> {
        let c = n / n_types;
        let t = RequestTypeId(u16::try_from(n % n_types).unwrap_or(u16::MAX));
        let comp = &model.components[c];
        match &comp.kind {
            ComponentKind::Service(s) => {
                let chosen = s
                    .handlers
                    .iter()
                    .position(|h| h.request == Some(t))
                    .or_else(|| s.handlers.iter().position(|h| h.request.is_none()));
                let Some(hi) = chosen else {
                    // Reported at the sender; nothing to walk.
                    let _ = reported;
                    return Vec::new();
                };
                used.insert((c, hi));
                let mut out = Vec::new();
                for step in &s.handlers[hi].steps {
                    let calls = match step {
                        Step::Call(call) => std::slice::from_ref(call),
                        Step::Parallel(calls) => calls.as_slice(),
                    };
                    for call in calls {
                        let sent = call.request.unwrap_or(t);
                        if !accepts(model, call.to, sent) && reported.insert(node(call.to, sent)) {
                            diags.push(missing_handler(model, call.to, sent, call.span));
                        }
                        out.push(Edge {
                            to: node(call.to, sent),
                            site: call.span,
                        });
                    }
                }
                out
            }
            ComponentKind::LoadBalancer(lb) => lb
                .backends
                .iter()
                .map(|&b| {
                    if !accepts(model, b, t) && reported.insert(node(b, t)) {
                        diags.push(missing_handler(model, b, t, comp.span));
                    }
                    Edge {
                        to: node(b, t),
                        site: comp.span,
                    }
                })
                .collect(),
            ComponentKind::External(_) => match comp.kind.cache() {
                // A write is answered by the cache itself (it invalidates or updates its
                // key), except that a write-through cache passes it on with its own type.
                Some(cache) if cache.writes.contains(&t) => {
                    if cache.mode != CacheMode::WriteThrough {
                        return Vec::new();
                    }
                    if !accepts(model, cache.backing, t) && reported.insert(node(cache.backing, t))
                    {
                        diags.push(missing_handler(model, cache.backing, t, cache.on_miss_span));
                    }
                    vec![Edge {
                        to: node(cache.backing, t),
                        site: cache.on_miss_span,
                    }]
                }
                // Misses are read from the backing store: by the cache (read-through) or by
                // its caller (cache-aside); either way the store receives that type.
                Some(cache) => {
                    let sent = cache.backing_request.unwrap_or(t);
                    if !accepts(model, cache.backing, sent)
                        && reported.insert(node(cache.backing, sent))
                    {
                        diags.push(missing_handler(
                            model,
                            cache.backing,
                            sent,
                            cache.on_miss_span,
                        ));
                    }
                    vec![Edge {
                        to: node(cache.backing, sent),
                        site: cache.on_miss_span,
                    }]
                }
                // A queue delivers each message, with its type, to its consumers.
                None => match comp.kind.queue() {
                    Some(q) => q
                        .consumers
                        .iter()
                        .map(|&b| {
                            if !accepts(model, b, t) && reported.insert(node(b, t)) {
                                diags.push(missing_handler(model, b, t, q.span));
                            }
                            Edge {
                                to: node(b, t),
                                site: q.span,
                            }
                        })
                        .collect(),
                    None => Vec::new(),
                },
            },
        }
    };

    for w in &model.workloads {
        for &(t, _) in &w.mix {
            if !accepts(model, w.target, t) && reported_missing.insert(node(w.target, t)) {
                diags.push(missing_handler(model, w.target, t, w.span));
            }
            let start = node(w.target, t);
            if marks[start] != Mark::Unseen {
                continue;
            }
            // Iterative depth-first search: a long chain of components must not overflow the
            // stack of the thread that validates it.
            let mut path: Vec<(usize, Vec<Edge>, usize)> = Vec::new();
            marks[start] = Mark::OnPath;
            let first = edges_of(start, &mut diags, &mut used, &mut reported_missing);
            path.push((start, first, 0));
            while let Some((_, edges, next)) = path.last_mut() {
                if *next >= edges.len() {
                    let (done, _, _) = path.pop().unwrap_or_default();
                    marks[done] = Mark::Done;
                    continue;
                }
                let Edge { to, site } = edges[*next];
                *next += 1;
                match marks[to] {
                    Mark::Done => {}
                    Mark::OnPath => {
                        let start_at = path.iter().position(|(n, _, _)| *n == to).unwrap_or(0);
                        let mut names: Vec<String> = path[start_at..]
                            .iter()
                            .map(|(n, _, _)| describe(model, *n, n_types))
                            .collect();
                        names.push(describe(model, to, n_types));
                        diags.push(
                            Diagnostic::error(site, format!("call cycle: {}", names.join(" → ")))
                                .with_hint("a request on this path would call itself forever; remove one of these calls or send a different request type"),
                        );
                    }
                    Mark::Unseen => {
                        marks[to] = Mark::OnPath;
                        let e = edges_of(to, &mut diags, &mut used, &mut reported_missing);
                        path.push((to, e, 0));
                    }
                }
            }
        }
    }

    for (ci, comp) in model.components.iter().enumerate() {
        let reached = (0..n_types).any(|t| marks[ci * n_types + t] != Mark::Unseen);
        if !reached {
            diags.push(Diagnostic {
                severity: Severity::Warning,
                span: comp.span,
                message: format!("component `{}` receives no requests", comp.name),
                hint: Some("no workload, call or load balancer sends anything to it".into()),
            });
            continue;
        }
        if let ComponentKind::Service(s) = &comp.kind {
            for (hi, h) in s.handlers.iter().enumerate() {
                if let Some(t) = h.request
                    && !used.contains(&(ci, hi))
                {
                    diags.push(
                        Diagnostic::error(
                            h.span,
                            format!(
                                "unreachable handler: nothing sends `{}` to `{}`",
                                model.request_type_name(t),
                                comp.name
                            ),
                        )
                        .with_hint("remove the handler, or send this request type here from a workload or a call"),
                    );
                }
            }
        }
    }
    diags
}

fn accepts(model: &Model, c: ComponentId, t: RequestTypeId) -> bool {
    match &model.component(c).kind {
        ComponentKind::Service(s) => s
            .handlers
            .iter()
            .any(|h| h.request.is_none() || h.request == Some(t)),
        ComponentKind::LoadBalancer(_) | ComponentKind::External(_) => true,
    }
}

fn missing_handler(model: &Model, c: ComponentId, t: RequestTypeId, site: Span) -> Diagnostic {
    let comp = model.component(c);
    let type_name = model.request_type_name(t);
    Diagnostic::error(
        site,
        format!(
            "`{}` has no handler for request type `{type_name}`",
            comp.name
        ),
    )
    .with_hint(format!(
        "add a `{type_name}:` handler (or a `\"*\"` handler) to `{}`, or send another type",
        comp.name
    ))
}

fn describe(model: &Model, n: usize, n_types: usize) -> String {
    let c = &model.components[n / n_types];
    let t = &model.request_types[n % n_types];
    format!("{} ({t})", c.name)
}

/// The longest a caller can wait on a call: every attempt up to its timeout, plus the
/// longest backoffs between them. `None` when an attempt has no timeout (it may wait for
/// ever, bounded only by the caller's own deadline).
fn worst_wait(call: &super::Call) -> Option<crate::shared::time::SimTime> {
    use crate::shared::time::SimTime;
    let per_attempt = call.timeout?;
    let Some(retry) = &call.retry else {
        return Some(per_attempt);
    };
    let mut total = SimTime::ZERO;
    for k in 0..retry.attempts {
        total += per_attempt;
        if k + 1 < retry.attempts {
            let base = retry.base.as_nanos();
            let wait = match retry.backoff {
                super::Backoff::Constant => base,
                super::Backoff::Exponential => base.saturating_mul(1u64 << k.min(40)),
                super::Backoff::Decorrelated => base.saturating_mul(3u64.saturating_pow(k + 1)),
            };
            total += SimTime::from_nanos(wait).min(retry.max_backoff);
        }
    }
    Some(total)
}

/// The rule "time out before your caller does", as warnings: a call whose attempts and
/// backoffs can take longer than the wait of whoever is waiting for its caller — the
/// client's deadline, or the caller's own call timeout — keeps working (and retrying) for
/// nobody.
pub fn timeout_warnings(model: &Model) -> Vec<Diagnostic> {
    use crate::shared::time::SimTime;
    use std::collections::BTreeSet;
    let mut out = Vec::new();
    let mut seen: BTreeSet<(u32, u16, u64)> = BTreeSet::new();
    let mut reported: BTreeSet<Span> = BTreeSet::new();
    // (component, request type, the wait of whoever waits for it, who that is)
    let mut stack: Vec<(ComponentId, RequestTypeId, SimTime, String)> = Vec::new();
    for w in &model.workloads {
        if let Some(deadline) = w.timeout {
            for &(t, _) in &w.mix {
                stack.push((
                    w.target,
                    t,
                    deadline,
                    format!("the clients of `{}`", w.name),
                ));
            }
        }
    }
    while let Some((c, t, budget, waiter)) = stack.pop() {
        if !seen.insert((c.0, t.0, budget.as_nanos())) {
            continue;
        }
        let comp = model.component(c);
        match &comp.kind {
            ComponentKind::LoadBalancer(lb) => {
                for &b in &lb.backends {
                    stack.push((b, t, budget, waiter.clone()));
                }
            }
            ComponentKind::External(_) => {}
            ComponentKind::Service(s) => {
                let handler = s
                    .handlers
                    .iter()
                    .find(|h| h.request == Some(t))
                    .or_else(|| s.handlers.iter().find(|h| h.request.is_none()));
                let Some(h) = handler else { continue };
                for step in &h.steps {
                    let calls = match step {
                        Step::Call(call) => std::slice::from_ref(call),
                        Step::Parallel(calls) => calls.as_slice(),
                    };
                    for call in calls {
                        let sent = call.request.unwrap_or(t);
                        if let Some(worst) = worst_wait(call)
                            && worst > budget
                            && reported.insert(call.span)
                        {
                            let attempts = call.retry.as_ref().map_or(1, |r| r.attempts);
                            out.push(Diagnostic {
                                severity: Severity::Warning,
                                span: call.span,
                                message: format!(
                                    "`{}` may wait up to {worst} for `{}` ({attempts} attempt{} of {}), longer than the {budget} {waiter} wait",
                                    comp.name,
                                    model.component(call.to).name,
                                    if attempts == 1 { "" } else { "s" },
                                    call.timeout.unwrap_or_default(),
                                ),
                                hint: Some(
                                    "time out before your caller does: shorten the timeout or the attempts, so that the work is not done for nobody".into(),
                                ),
                            });
                        }
                        // The callee's own calls must fit in what this call waits per attempt.
                        let inner = call.timeout.unwrap_or(budget).min(budget);
                        stack.push((
                            call.to,
                            sent,
                            inner,
                            format!(
                                "callers of `{}` (`{}`)",
                                model.component(call.to).name,
                                comp.name
                            ),
                        ));
                    }
                }
            }
        }
    }
    out
}
