//! Request traces: the story of one request as a tree of spans, one span per task (the work
//! one component did for it), with the instants that divide its time into network, queue
//! wait, work and waiting for its own calls, and notes for what happened to its calls
//! (an attempt timed out, a retry was sent, a breaker refused, a fallback answered).
//!
//! A trace names components and request types by their index in the model, so that keeping
//! one costs no strings; [`Trace::to_json`] resolves the names.

use serde_json::{Value, json};

use crate::model::{Cause, Model};
use crate::shared::time::SimTime;

use super::Answer;

/// One request from a workload, as its user saw it, and the work it caused.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The request's place among those started since tracing began (0 is the first).
    pub serial: u64,
    pub workload: u16,
    pub request_type: u16,
    pub start: SimTime,
    pub end: SimTime,
    pub outcome: Result<Answer, Cause>,
    /// The user's deadline passed before the answer came.
    pub client_gave_up: bool,
    /// Spans past the per-trace cap, counted but not kept.
    pub spans_dropped: u32,
    /// The root span (the task at the workload's target) comes first; a span's parent comes
    /// before it.
    pub spans: Vec<Span>,
}

impl Trace {
    #[must_use]
    pub fn latency(&self) -> SimTime {
        self.end - self.start
    }

    pub fn children(&self, span: usize) -> impl Iterator<Item = usize> + '_ {
        let parent = u32::try_from(span).ok();
        self.spans
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.parent.is_some() && s.parent == parent)
            .map(|(i, _)| i)
    }

    /// Depth of each span in the tree (the root span is 0).
    #[must_use]
    pub fn depths(&self) -> Vec<usize> {
        let mut depth = vec![0; self.spans.len()];
        for (i, s) in self.spans.iter().enumerate() {
            if let Some(p) = s.parent {
                depth[i] = depth[p as usize] + 1;
            }
        }
        depth
    }

    /// Each span's label in a waterfall: its component, indented by depth, and which
    /// attempt (or hedge) of its call it was when not the first.
    #[must_use]
    pub fn span_labels(&self, model: &Model) -> Vec<String> {
        self.spans
            .iter()
            .zip(self.depths())
            .map(|(s, depth)| {
                let name = &model.components[s.component as usize].name;
                let indent = "  ".repeat(depth);
                if s.attempt > 1 || s.hedge {
                    let hedge = if s.hedge { "hedge of " } else { "" };
                    format!("{indent}{name} ({hedge}{} attempt)", ordinal(s.attempt))
                } else {
                    format!("{indent}{name}")
                }
            })
            .collect()
    }

    /// The trace with the model's names, for `--json` and export.
    #[must_use]
    pub fn to_json(&self, model: &Model) -> Value {
        let name = |c: u32| model.components[c as usize].name.clone();
        let at = |t: SimTime| (t - self.start).as_secs_f64();
        let spans: Vec<Value> = self
            .spans
            .iter()
            .map(|s| {
                let notes: Vec<Value> = s
                    .notes
                    .iter()
                    .map(|n| {
                        let mut v = json!({ "at_s": at(n.at), "what": n.kind.label() });
                        match n.kind {
                            NoteKind::TimedOut { to, attempt }
                            | NoteKind::RetryScheduled { to, attempt, .. } => {
                                v["to"] = json!(name(to));
                                v["attempt"] = json!(attempt);
                            }
                            NoteKind::ShortCircuited { to }
                            | NoteKind::BulkheadFull { to }
                            | NoteKind::FellBack { to }
                            | NoteKind::Hedged { to } => v["to"] = json!(name(to)),
                            NoteKind::CacheHit | NoteKind::CacheMiss | NoteKind::Crashed => {}
                        }
                        if let NoteKind::RetryScheduled { wait, .. } = n.kind {
                            v["wait_s"] = json!(wait.as_secs_f64());
                        }
                        v
                    })
                    .collect();
                json!({
                    "parent": s.parent,
                    "component": name(s.component),
                    "request": model.request_types[s.request_type as usize],
                    "attempt": s.attempt,
                    "hedge": s.hedge,
                    "sent_s": at(s.sent),
                    "arrived_s": s.arrived.map(at),
                    "work_start_s": s.work_start.map(at),
                    "work_end_s": s.work_end.map(at),
                    "answered_s": s.answered.map(at),
                    "replied_s": s.replied.map(at),
                    "given_up_s": s.given_up.map(at),
                    "end": s.end.label(),
                    "notes": notes,
                })
            })
            .collect();
        json!({
            "serial": self.serial,
            "workload": model.workloads[self.workload as usize].name,
            "request": model.request_types[self.request_type as usize],
            "start_s": self.start.as_secs_f64(),
            "latency_s": self.latency().as_secs_f64(),
            "outcome": outcome_label(self.outcome),
            "client_gave_up": self.client_gave_up,
            "spans_dropped": self.spans_dropped,
            "spans": spans,
        })
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[must_use]
pub fn outcome_label(outcome: Result<Answer, Cause>) -> &'static str {
    match outcome {
        Ok(Answer::Full) => "ok",
        Ok(Answer::Degraded) => "degraded",
        Err(cause) => cause.as_str(),
    }
}

/// The work one component did for a request: one attempt of one call (or the root's first
/// task). The instants it has not reached are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Index of the calling span in the trace; `None` for the root span.
    pub parent: Option<u32>,
    pub component: u32,
    pub request_type: u16,
    /// Its component has workers and a queue (a service or database): between arrival and
    /// `work_start` it waited for a worker.
    pub has_workers: bool,
    /// 1 for the first attempt of a call; retries count up.
    pub attempt: u32,
    /// The hedged copy of an attempt.
    pub hedge: bool,
    /// Sent by its caller.
    pub sent: SimTime,
    /// Reached its component (after the network).
    pub arrived: Option<SimTime>,
    /// A worker took it (services; other kinds work from arrival).
    pub work_start: Option<SimTime>,
    /// Its own work was done; what follows until `answered` is waiting for its calls.
    pub work_end: Option<SimTime>,
    /// Its component sent its answer.
    pub answered: Option<SimTime>,
    /// The answer reached its caller.
    pub replied: Option<SimTime>,
    /// Its caller stopped waiting for it (the call's timeout).
    pub given_up: Option<SimTime>,
    pub end: SpanEnd,
    pub notes: Vec<Note>,
}

impl Span {
    /// Until when it lasted, as its request saw it: the answer's arrival; for work still
    /// going on when the request ended, that end (`request_end`); otherwise the last instant
    /// it reached (a message the network lost).
    #[must_use]
    pub fn until(&self, request_end: SimTime) -> SimTime {
        if let Some(g) = self.given_up {
            return g;
        }
        if let Some(r) = self.replied {
            return r;
        }
        if matches!(self.end, SpanEnd::InFlight | SpanEnd::Abandoned) {
            return request_end.max(self.sent);
        }
        self.answered
            .or(self.work_end)
            .or(self.work_start)
            .or(self.arrived)
            .map_or(self.sent, |t| t.max(self.sent))
    }

    /// Time from its arrival until a worker took it (or until `until` while it waited).
    #[must_use]
    pub fn queue_wait(&self, until: SimTime) -> SimTime {
        if !self.has_workers {
            return SimTime::ZERO;
        }
        match (self.arrived, self.work_start) {
            (Some(a), Some(w)) => w - a,
            (Some(a), None) if self.answered.is_none() => until.max(a) - a,
            _ => SimTime::ZERO,
        }
    }

    /// Its time cut into what it was doing, in order, up to `until` (see [`Span::until`]):
    /// what a waterfall draws. Empty parts are left out.
    #[must_use]
    pub fn segments(&self, until: SimTime) -> Vec<(SimTime, SimTime, Segment)> {
        let mut parts = Vec::with_capacity(5);
        let mut push = |from: SimTime, to: SimTime, what: Segment| {
            let to = to.min(until);
            if to > from {
                parts.push((from, to, what));
            }
        };
        let arrived = self.arrived.unwrap_or(until);
        push(self.sent, arrived, Segment::Network);
        let Some(arrived) = self.arrived else {
            return parts;
        };
        let began = self.work_began();
        if self.has_workers {
            push(arrived, began.unwrap_or(until), Segment::Queue);
        }
        let Some(began) = began else {
            return parts;
        };
        push(began, self.work_end.unwrap_or(until), Segment::Work);
        let Some(work_end) = self.work_end else {
            return parts;
        };
        push(work_end, self.answered.unwrap_or(until), Segment::Calls);
        if let Some(answered) = self.answered {
            push(answered, self.replied.unwrap_or(until), Segment::Network);
        }
        parts
    }

    /// When its own work began: a worker took it, or (kinds without workers) it arrived.
    #[must_use]
    pub fn work_began(&self) -> Option<SimTime> {
        if self.has_workers {
            self.work_start
        } else {
            self.arrived
        }
    }

    /// Its own work (a service's handler, a balancer's, cache's or external's delay), up
    /// to `until` while it was still working.
    #[must_use]
    pub fn work(&self, until: SimTime) -> SimTime {
        match (self.work_began(), self.work_end) {
            (Some(s), Some(e)) => e - s,
            (Some(s), None) if self.answered.is_none() => until.max(s) - s,
            _ => SimTime::ZERO,
        }
    }
}

/// What a span was doing in one part of its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// Crossing a link, either way.
    Network,
    /// Waiting for a worker.
    Queue,
    /// Its own work.
    Work,
    /// Waiting for the answers of its calls.
    Calls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanEnd {
    /// Not answered when its request ended (or when the run stopped).
    InFlight,
    Ok,
    Degraded,
    Failed(Cause),
    /// Its caller's timeout went off first; any answer after it counted for nothing.
    TimedOut,
    /// Its caller had stopped waiting (the other hedged copy won, or the request ended):
    /// the answer came, but counted for nothing.
    Abandoned,
    /// The network lost the request or its answer.
    Lost,
}

impl SpanEnd {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            SpanEnd::InFlight => "in flight",
            SpanEnd::Ok => "ok",
            SpanEnd::Degraded => "degraded",
            SpanEnd::Failed(cause) => cause.as_str(),
            SpanEnd::TimedOut => "timed out",
            SpanEnd::Abandoned => "abandoned",
            SpanEnd::Lost => "lost in the network",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    pub at: SimTime,
    pub kind: NoteKind,
}

/// What happened to a span's calls, or to the span itself. `to` is the callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// The caller stopped waiting for attempt `attempt` of its call.
    TimedOut {
        to: u32,
        attempt: u32,
    },
    /// Attempt `attempt` (the next) will be sent after `wait`.
    RetryScheduled {
        to: u32,
        attempt: u32,
        wait: SimTime,
    },
    /// The call's open breaker refused an attempt.
    ShortCircuited {
        to: u32,
    },
    /// The call's bulkhead was full.
    BulkheadFull {
        to: u32,
    },
    /// The call failed and the caller answered from its fallback.
    FellBack {
        to: u32,
    },
    /// A second copy of the attempt was sent.
    Hedged {
        to: u32,
    },
    CacheHit,
    CacheMiss,
    /// Its replica crashed with it inside.
    Crashed,
}

impl NoteKind {
    /// A sentence for a waterfall, with the callee's name.
    #[must_use]
    pub fn describe(self, model: &Model) -> String {
        let name = |c: u32| model.components[c as usize].name.as_str();
        match self {
            NoteKind::TimedOut { to, attempt } => {
                format!("attempt {attempt} of its call to {} timed out", name(to))
            }
            NoteKind::RetryScheduled { to, attempt, wait } => format!(
                "attempt {attempt} to {} in {}",
                name(to),
                super::explain::took(wait)
            ),
            NoteKind::ShortCircuited { to } => {
                format!("the breaker on its call to {} refused an attempt", name(to))
            }
            NoteKind::BulkheadFull { to } => {
                format!("the bulkhead on its call to {} was full", name(to))
            }
            NoteKind::FellBack { to } => format!("answered from its fallback for {}", name(to)),
            NoteKind::Hedged { to } => format!("sent a hedged copy to {}", name(to)),
            NoteKind::CacheHit => "cache hit".to_owned(),
            NoteKind::CacheMiss => "cache miss".to_owned(),
            NoteKind::Crashed => "its replica crashed with it inside".to_owned(),
        }
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            NoteKind::TimedOut { .. } => "timed out",
            NoteKind::RetryScheduled { .. } => "retry",
            NoteKind::ShortCircuited { .. } => "breaker open",
            NoteKind::BulkheadFull { .. } => "bulkhead full",
            NoteKind::FellBack { .. } => "fallback",
            NoteKind::Hedged { .. } => "hedged",
            NoteKind::CacheHit => "cache hit",
            NoteKind::CacheMiss => "cache miss",
            NoteKind::Crashed => "crashed",
        }
    }
}

/// Which requests a run keeps the traces of. Every choice is by count or by outcome, never
/// by a random draw, so tracing never changes what the simulation does.
#[derive(Debug, Clone, Copy)]
pub struct TraceOptions {
    /// Keep one request in this many (thinned as the run goes so at most `sampled` stay,
    /// spread evenly over the run).
    pub every: u64,
    pub sampled: usize,
    /// The first failed requests of each cause kept, whatever the sampling.
    pub first_failed: usize,
    /// Failed requests of each cause kept beyond the first, spread evenly over the run.
    pub failed: usize,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            every: 100,
            sampled: 2000,
            first_failed: 10,
            failed: 200,
        }
    }
}
