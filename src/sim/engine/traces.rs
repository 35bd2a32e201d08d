//! Request traces as the run goes: every request started while tracing is on gets an open
//! trace, each of its tasks a span; when the request ends its trace is kept if it is
//! sampled, among the failed ones of its cause, or the slowest of its type so far, and
//! dropped otherwise. Off (no cost beyond one branch per hook) unless asked for.
//!
//! Invariants: a task's span reference is rewritten whenever its slot gets a new task, so
//! a reference never outlives its task; a reference counts only while its request's trace
//! is open with the same generation, so the work that goes on after a request ended (a
//! client that gave up, an abandoned attempt) never touches a kept trace. Memory is
//! bounded: the kept sets have fixed caps, and past a budget of open spans only sampled
//! requests are traced.

use std::sync::Arc;

use crate::observe::trace::{Note, NoteKind, Span, SpanEnd, Trace, TraceOptions};
use crate::observe::{Answer, Cause};
use crate::sim::time::SimTime;

use super::components::KindRt;
use super::{LOST, MESSAGE, NONE, Simulation, id32};

/// Spans held by the traces of requests still in flight, past which only sampled requests
/// are traced: about 150 MB, far more than any sensible model holds at once.
const OPEN_SPAN_BUDGET: usize = 1_000_000;

/// Spans one trace keeps; a request that fans out further (a retry storm inside one
/// request) keeps its first spans and counts the rest.
const MAX_SPANS_PER_TRACE: usize = 2_000;

#[derive(Clone, Copy)]
struct SpanRef {
    root: u32,
    generation: u32,
    span: u32,
}

const UNTRACED: SpanRef = SpanRef {
    root: NONE,
    generation: 0,
    span: NONE,
};

struct OpenTrace {
    generation: u32,
    trace: Trace,
}

/// Keeps every `step`-th of the items offered, doubling the step (and dropping every other
/// kept item) whenever more than `cap` are kept: an even spread over however many come.
struct Thinned {
    step: u64,
    cap: usize,
    offered: u64,
    items: Vec<(u64, Arc<Trace>)>,
}

impl Thinned {
    fn new(step: u64, cap: usize) -> Self {
        Thinned {
            step: step.max(1),
            cap,
            offered: 0,
            items: Vec::new(),
        }
    }

    /// Whether the next item offered (number `k`) would be kept.
    fn wants(&self, k: u64) -> bool {
        self.cap > 0 && k.is_multiple_of(self.step)
    }

    fn keep(&mut self, k: u64, trace: Arc<Trace>) {
        self.items.push((k, trace));
        if self.items.len() > self.cap {
            self.step *= 2;
            let step = self.step;
            self.items.retain(|(k, _)| k.is_multiple_of(step));
        }
    }
}

pub(super) struct Traces {
    options: TraceOptions,
    started: u64,
    open: Vec<Option<OpenTrace>>,
    span_of: Vec<SpanRef>,
    open_spans: usize,
    sampled: Thinned,
    first_failed: Vec<Vec<Arc<Trace>>>,
    failed: Vec<Thinned>,
    slowest: Vec<Option<Arc<Trace>>>,
}

impl Traces {
    fn new(options: TraceOptions, request_types: usize) -> Self {
        Traces {
            options,
            started: 0,
            open: Vec::new(),
            span_of: Vec::new(),
            open_spans: 0,
            sampled: Thinned::new(options.every, options.sampled),
            first_failed: vec![Vec::new(); Cause::ALL.len()],
            failed: Cause::ALL
                .iter()
                .map(|_| Thinned::new(1, options.failed))
                .collect(),
            slowest: vec![None; request_types],
        }
    }

    fn span_mut(&mut self, task: u32) -> Option<&mut Span> {
        let r = *self.span_of.get(task as usize)?;
        let open = self.open.get_mut(r.root as usize)?.as_mut()?;
        if open.generation != r.generation {
            return None;
        }
        open.trace.spans.get_mut(r.span as usize)
    }

    fn set_ref(&mut self, task: u32, r: SpanRef) {
        let i = task as usize;
        if self.span_of.len() <= i {
            self.span_of.resize(i + 1, UNTRACED);
        }
        self.span_of[i] = r;
    }
}

impl Simulation {
    /// Records request traces from now on (see [`TraceOptions`] for which are kept).
    pub fn record_traces(&mut self, options: TraceOptions) {
        self.traces = Some(Box::new(Traces::new(
            options,
            self.model.request_types.len(),
        )));
    }

    /// The traces kept so far, each once, in the order their requests started.
    #[must_use]
    pub fn traces(&self) -> Vec<Arc<Trace>> {
        let Some(t) = self.traces.as_deref() else {
            return Vec::new();
        };
        let mut all: Vec<Arc<Trace>> = t
            .sampled
            .items
            .iter()
            .map(|(_, tr)| tr)
            .chain(t.first_failed.iter().flatten())
            .chain(
                t.failed
                    .iter()
                    .flat_map(|f| f.items.iter().map(|(_, tr)| tr)),
            )
            .chain(t.slowest.iter().flatten())
            .cloned()
            .collect();
        all.sort_by_key(|tr| tr.serial);
        all.dedup_by_key(|tr| tr.serial);
        all
    }

    pub(super) fn trace_root_started(&mut self, root: u32, workload: u16, request_type: u16) {
        let generation = self.roots.items[root as usize].generation;
        let now = self.now;
        let Some(t) = self.traces.as_deref_mut() else {
            return;
        };
        let serial = t.started;
        t.started += 1;
        let i = root as usize;
        if t.open.len() <= i {
            t.open.resize_with(i + 1, || None);
        }
        debug_assert!(t.open[i].is_none(), "root {root} started with a trace open");
        if t.open_spans > OPEN_SPAN_BUDGET && !t.sampled.wants(serial) {
            return;
        }
        t.open[i] = Some(OpenTrace {
            generation,
            trace: Trace {
                serial,
                workload,
                request_type,
                start: now,
                end: now,
                outcome: Ok(Answer::Full),
                client_gave_up: false,
                spans_dropped: 0,
                spans: Vec::new(),
            },
        });
    }

    /// A new task: a span in its request's trace, under its parent's span.
    pub(super) fn trace_task(&mut self, task: u32) {
        let tk = &self.tasks.items[task as usize];
        let (parent, root, root_gen, comp, request_type) =
            (tk.parent, tk.root, tk.root_gen, tk.comp, tk.request_type);
        let now = self.now;
        let has_workers = matches!(self.comps[comp as usize].kind, KindRt::Service { .. });
        let Some(t) = self.traces.as_deref_mut() else {
            return;
        };
        t.set_ref(task, UNTRACED);
        if root == MESSAGE || root == NONE {
            return;
        }
        let parent_span = if parent == NONE {
            None
        } else {
            match t.span_of.get(parent as usize) {
                Some(r) if r.root == root && r.generation == root_gen => Some(r.span),
                _ => {
                    // Its caller's span was dropped at the cap: so is this one.
                    if let Some(Some(open)) = t.open.get_mut(root as usize)
                        && open.generation == root_gen
                    {
                        open.trace.spans_dropped += 1;
                    }
                    return;
                }
            }
        };
        let Some(Some(open)) = t.open.get_mut(root as usize) else {
            return;
        };
        if open.generation != root_gen {
            return;
        }
        if open.trace.spans.len() >= MAX_SPANS_PER_TRACE {
            open.trace.spans_dropped += 1;
            return;
        }
        let span = id32(open.trace.spans.len());
        open.trace.spans.push(Span {
            parent: parent_span,
            component: comp,
            request_type,
            has_workers,
            attempt: 1,
            hedge: false,
            sent: now,
            arrived: None,
            work_start: None,
            work_end: None,
            answered: None,
            replied: None,
            given_up: None,
            end: SpanEnd::InFlight,
            notes: Vec::new(),
        });
        t.open_spans += 1;
        t.set_ref(
            task,
            SpanRef {
                root,
                generation: root_gen,
                span,
            },
        );
    }

    /// A task that stands in for another (a crash's answer) continues its span.
    pub(super) fn trace_stand_in(&mut self, task: u32, stand_in: u32) {
        if let Some(t) = self.traces.as_deref_mut() {
            let r = t.span_of.get(task as usize).copied().unwrap_or(UNTRACED);
            t.set_ref(stand_in, r);
            // The zombie left behind must not write onto the span its stand-in now owns.
            t.set_ref(task, UNTRACED);
        }
    }

    /// Moves a task's span from under its parent's span to beside it, under the
    /// grandparent's.
    pub(super) fn trace_beside_parent(&mut self, task: u32, parent: u32) {
        let Some(t) = self.traces.as_deref_mut() else {
            return;
        };
        let grandparent = t.span_mut(parent).and_then(|s| s.parent);
        if let Some(grandparent) = grandparent
            && let Some(s) = t.span_mut(task)
        {
            s.parent = Some(grandparent);
        }
    }

    pub(super) fn trace_attempt(&mut self, task: u32, attempt: u32, hedge: bool) {
        if let Some(s) = self.traces.as_deref_mut().and_then(|t| t.span_mut(task)) {
            s.attempt = attempt;
            s.hedge = hedge;
        }
    }

    /// Sets one instant of a task's span; `when` picks which.
    pub(super) fn trace_instant(&mut self, task: u32, when: fn(&mut Span) -> &mut Option<SimTime>) {
        let now = self.now;
        if let Some(s) = self.traces.as_deref_mut().and_then(|t| t.span_mut(task)) {
            let slot = when(s);
            if slot.is_none() {
                *slot = Some(now);
            }
        }
    }

    pub(super) fn trace_answered(&mut self, task: u32) {
        let now = self.now;
        let tk = &self.tasks.items[task as usize];
        let end = match (tk.failed, tk.degraded) {
            (Some(cause), _) => SpanEnd::Failed(cause),
            (None, true) => SpanEnd::Degraded,
            (None, false) => SpanEnd::Ok,
        };
        if let Some(s) = self.traces.as_deref_mut().and_then(|t| t.span_mut(task)) {
            if s.replied.is_some() {
                // A cache-aside miss already reached its caller; the rest is the caller's.
                return;
            }
            s.answered = Some(now);
            // What its caller saw was the timeout; the late answer is only a fact about the
            // callee.
            if s.end != SpanEnd::TimedOut {
                s.end = end;
            }
        }
    }

    pub(super) fn trace_end(&mut self, task: u32, end: SpanEnd) {
        if let Some(s) = self.traces.as_deref_mut().and_then(|t| t.span_mut(task)) {
            // A late answer to a timed-out attempt stays a timeout: that is what its caller saw.
            if !(end == SpanEnd::Abandoned && s.end == SpanEnd::TimedOut) {
                s.end = end;
            }
        }
    }

    pub(super) fn trace_note(&mut self, task: u32, kind: NoteKind) {
        let at = self.now;
        if let Some(s) = self.traces.as_deref_mut().and_then(|t| t.span_mut(task)) {
            s.notes.push(Note { at, kind });
        }
    }

    /// A call's timeout went off: its caller stops waiting for the current attempt.
    pub(super) fn trace_call_timed_out(&mut self, call: u32) {
        let cs = &self.calls.items[call as usize];
        let (parent, attempt, child, hedge) = (cs.parent, cs.attempts, cs.child, cs.hedge);
        let to = self.handlers[cs.handler as usize].steps[cs.step as usize][cs.index as usize].to;
        self.trace_note(parent, NoteKind::TimedOut { to, attempt });
        let now = self.now;
        for task in [child, hedge] {
            if task == NONE || task == LOST {
                continue;
            }
            if let Some(s) = self.traces.as_deref_mut().and_then(|t| t.span_mut(task)) {
                s.given_up = Some(now);
                if s.replied.is_none() {
                    s.end = SpanEnd::TimedOut;
                }
            }
        }
    }

    /// The request has ended: keep its trace or drop it.
    pub(super) fn trace_root_ended(&mut self, root: u32, outcome: Result<Answer, Cause>) {
        let now = self.now;
        let Some(t) = self.traces.as_deref_mut() else {
            return;
        };
        let Some(open) = t.open.get_mut(root as usize).and_then(Option::take) else {
            return;
        };
        let mut trace = open.trace;
        t.open_spans -= trace.spans.len();
        trace.end = now;
        trace.outcome = outcome;
        trace.client_gave_up = outcome == Err(Cause::Timeout)
            && trace.spans.first().is_some_and(|s| s.replied.is_none());
        let serial = trace.serial;
        let latency = trace.latency();
        let sampled = t.sampled.wants(serial);
        let (first, thinned) = match outcome {
            Err(cause) => {
                let c = cause.index();
                let first = t.first_failed[c].len() < t.options.first_failed;
                let f = &t.failed[c];
                (first, (!first).then_some(f.offered).filter(|&k| f.wants(k)))
            }
            Ok(_) => (false, None),
        };
        if let Err(cause) = outcome
            && !first
        {
            t.failed[cause.index()].offered += 1;
        }
        let slot = &t.slowest[trace.request_type as usize];
        let slowest = slot.as_ref().is_none_or(|s| latency > s.latency());
        if !(sampled || first || thinned.is_some() || slowest) {
            return;
        }
        let trace = Arc::new(trace);
        if sampled {
            t.sampled.keep(serial, Arc::clone(&trace));
        }
        if let Err(cause) = outcome {
            if first {
                t.first_failed[cause.index()].push(Arc::clone(&trace));
            } else if let Some(k) = thinned {
                t.failed[cause.index()].keep(k, Arc::clone(&trace));
            }
        }
        if slowest {
            let request_type = trace.request_type as usize;
            t.slowest[request_type] = Some(trace);
        }
    }
}
