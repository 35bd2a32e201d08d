//! Why a request went as it did: a chain of sentences derived from its trace, each link
//! one span and the part of its time (or its failure) that decided the outcome, with the
//! figures the run recorded for that component at that instant (its queue, utilisation,
//! arrival rate) and the faults active on it. Nothing is stated that the trace, the series
//! or the fault list does not show.

use crate::model::{Cause, Fault, FaultAction, Model};
use crate::shared::time::SimTime;

use super::Answer;
use super::report::SeriesReport;
use super::trace::{NoteKind, Span, SpanEnd, Trace, outcome_label};

/// How many links of the chain are followed: deeper call trees than this are read in the
/// waterfall.
const MAX_LINKS: usize = 8;

/// `4:03.120`: an instant of a run as minutes, seconds and milliseconds.
#[must_use]
pub fn clock(t: SimTime) -> String {
    let ms = t.as_nanos() / 1_000_000;
    format!("{}:{:02}.{:03}", ms / 60_000, (ms / 1000) % 60, ms % 1000)
}

/// A span of time for a sentence: `1.23 s`, `45.6 ms`, `120 us`.
#[must_use]
pub fn took(t: SimTime) -> String {
    let s = t.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} us", s * 1e6)
    }
}

/// The chain for a trace: the first sentence says what happened to the request, each next
/// one why the previous happened.
#[must_use]
pub fn explain(
    trace: &Trace,
    model: &Model,
    series: Option<&SeriesReport>,
    faults: &[Fault],
) -> Vec<String> {
    let request = &model.request_types[trace.request_type as usize];
    let latency = took(trace.latency());
    let mut chain = vec![match trace.outcome {
        Ok(Answer::Full) => format!("{request} answered in {latency}"),
        Ok(Answer::Degraded) => format!("{request} answered degraded in {latency}"),
        Err(Cause::Timeout) if trace.client_gave_up => {
            format!("{request} failed (timeout: the client gave up after {latency})")
        }
        Err(cause) => format!("{request} failed ({} after {latency})", cause.as_str()),
    }];
    let ctx = Context {
        trace,
        model,
        series,
        faults,
    };
    let mut span = 0;
    for _ in 0..MAX_LINKS {
        let Some(s) = trace.spans.get(span) else {
            break;
        };
        let (sentence, next) = ctx.why(span, s);
        chain.push(sentence);
        match next {
            Some(n) => span = n,
            None => break,
        }
    }
    chain
}

struct Context<'a> {
    trace: &'a Trace,
    model: &'a Model,
    series: Option<&'a SeriesReport>,
    faults: &'a [Fault],
}

impl Context<'_> {
    fn name(&self, comp: u32) -> &str {
        &self.model.components[comp as usize].name
    }

    /// What decided this span's outcome, and the span to ask next.
    fn why(&self, index: usize, s: &Span) -> (String, Option<usize>) {
        let comp = self.name(s.component);
        let end = s.until(self.trace.end);
        let faults = self.faults_on(s.component, s.sent, end);
        match s.end {
            SpanEnd::Failed(Cause::Rejected)
                if s.work_start.is_none() && !self.has_failed_child(index, Cause::Rejected) =>
            {
                let arrived = s.arrived.unwrap_or(s.sent);
                let waited = s.answered.map_or(SimTime::ZERO, |a| a - arrived);
                let why = if !s.has_workers {
                    "it was full".to_owned()
                } else if waited > SimTime::ZERO {
                    // Only a queue timeout answers a queued task without serving it.
                    format!(
                        "it shed it after {} in its queue (its queue timeout)",
                        took(waited)
                    )
                } else {
                    "its queue was full".to_owned()
                };
                return (
                    format!(
                        "because {comp} turned it away at {}: {why}{}{faults}",
                        clock(s.answered.unwrap_or(arrived)),
                        self.figures(s.component, arrived)
                    ),
                    None,
                );
            }
            SpanEnd::Failed(Cause::Unavailable) if s.arrived.is_none() => {
                return (
                    format!(
                        "because the connection to {comp} was refused at {}{faults}",
                        clock(s.sent)
                    ),
                    None,
                );
            }
            SpanEnd::Failed(Cause::Unavailable)
                if s.work_end.is_none() && !self.has_failed_child(index, Cause::Unavailable) =>
            {
                return (
                    format!(
                        "because {comp} was not there to serve it at {}{faults}",
                        clock(s.arrived.unwrap_or(s.sent))
                    ),
                    None,
                );
            }
            SpanEnd::Failed(Cause::Dropped)
                if s.notes.iter().any(|n| n.kind == NoteKind::Crashed) =>
            {
                return (
                    format!("because {comp} crashed with it inside{faults}"),
                    None,
                );
            }
            SpanEnd::Failed(Cause::Error) if !self.has_failed_child(index, Cause::Error) => {
                return (
                    format!("because {comp} answered with an error{faults}"),
                    None,
                );
            }
            SpanEnd::Lost => {
                return (
                    format!("because the network lost the message to or from {comp}{faults}"),
                    None,
                );
            }
            _ => {}
        }
        // A call that timed out: the attempt that was waited for, and why it was slow. A
        // span that failed otherwise failed for another reason than its timeouts.
        let failed_otherwise = matches!(s.end, SpanEnd::Failed(c) if c != Cause::Timeout);
        if !failed_otherwise
            && let Some(at) = s
                .notes
                .iter()
                .rposition(|n| matches!(n.kind, NoteKind::TimedOut { .. }))
            && let NoteKind::TimedOut { to, attempt } = s.notes[at].kind
        {
            let n = &s.notes[at];
            let retries = s.notes[..at]
                .iter()
                .filter(|n| matches!(n.kind, NoteKind::RetryScheduled { to: t, .. } if t == to))
                .count();
            let tried = if retries > 0 {
                format!(
                    " (after {retries} retr{})",
                    if retries == 1 { "y" } else { "ies" }
                )
            } else {
                String::new()
            };
            let child = self.trace.children(index).find(|&c| {
                let cs = &self.trace.spans[c];
                cs.component == to && cs.attempt == attempt && !cs.hedge
            });
            return (
                format!(
                    "because its call to {} timed out at {}{tried}",
                    self.name(to),
                    clock(n.at)
                ),
                child,
            );
        }
        // A call refused by its own protection, when that refusal is the failure the span
        // passed up (and no callee failed the same way after it).
        if let SpanEnd::Failed(cause) = s.end
            && let Some(n) = s.notes.iter().rev().find(|n| match n.kind {
                NoteKind::ShortCircuited { .. } => cause == Cause::Unavailable,
                NoteKind::BulkheadFull { .. } => cause == Cause::Rejected,
                _ => false,
            })
            && !self.trace.children(index).any(|c| {
                let cs = &self.trace.spans[c];
                cs.end == SpanEnd::Failed(cause) && cs.until(self.trace.end) > n.at
            })
        {
            let (to, what) = match n.kind {
                NoteKind::ShortCircuited { to } => (to, "its circuit breaker was open"),
                NoteKind::BulkheadFull { to } => (to, "its bulkhead was full"),
                _ => unreachable!("filtered above"),
            };
            return (
                format!(
                    "because its call to {} was refused at {}: {what}",
                    self.name(to),
                    clock(n.at)
                ),
                None,
            );
        }
        // A failure passed up from a call: follow the call that failed.
        if let SpanEnd::Failed(cause) = s.end
            && let Some(c) = self
                .trace
                .children(index)
                .filter(|&c| self.trace.spans[c].end == SpanEnd::Failed(cause))
                .last()
        {
            let cs = &self.trace.spans[c];
            return (
                format!(
                    "because its call to {} failed ({})",
                    self.name(cs.component),
                    outcome_label(Err(cause))
                ),
                Some(c),
            );
        }
        // Otherwise: where its time went.
        let network = s.arrived.map_or(SimTime::ZERO, |a| a - s.sent)
            + match (s.answered, s.replied) {
                (Some(a), Some(r)) => r - a,
                _ => SimTime::ZERO,
            };
        let queue = s.queue_wait(end);
        let work = s.work(end);
        let slowest_child = self.trace.children(index).max_by_key(|&c| {
            let cs = &self.trace.spans[c];
            cs.until(self.trace.end) - cs.sent
        });
        let calls = match (s.work_end, s.answered) {
            (Some(w), Some(a)) => a - w,
            (Some(w), None) => end - w,
            _ => SimTime::ZERO,
        };
        let biggest = network.max(queue).max(work).max(calls);
        if biggest == SimTime::ZERO {
            return (format!("{comp} took no time"), None);
        }
        if biggest == queue {
            (
                format!(
                    "because it waited {} in {comp}'s queue{}{faults}",
                    took(queue),
                    self.figures(s.component, s.arrived.unwrap_or(s.sent))
                ),
                None,
            )
        } else if biggest == work {
            (
                format!("because {comp}'s own work took {}{faults}", took(work)),
                None,
            )
        } else if biggest == calls
            && let Some(c) = slowest_child
        {
            let cs = &self.trace.spans[c];
            (
                format!(
                    "because {comp} waited {} for {}",
                    took(cs.until(self.trace.end) - cs.sent),
                    self.name(cs.component)
                ),
                Some(c),
            )
        } else if biggest == calls {
            // Waiting with no call of its own to wait for: what the kind waits on.
            let what = match self.model.components[s.component as usize].kind.label() {
                "database" => " (for its replicas' acknowledgements)",
                "cache" => " (for a read of the same key already on its way)",
                _ => "",
            };
            (
                format!(
                    "because {comp} waited {} before answering{what}{faults}",
                    took(calls)
                ),
                None,
            )
        } else {
            (
                format!(
                    "because the network to and from {comp} took {}{faults}",
                    took(network)
                ),
                None,
            )
        }
    }

    fn has_failed_child(&self, index: usize, cause: Cause) -> bool {
        self.trace
            .children(index)
            .any(|c| self.trace.spans[c].end == SpanEnd::Failed(cause))
    }

    /// The recorded figures of a component in the time bucket holding `at`: its queue and
    /// utilisation, and its arrival rate against the run's first bucket when it had risen.
    fn figures(&self, comp: u32, at: SimTime) -> String {
        let Some(series) = self.series else {
            return String::new();
        };
        let Some(cs) = series.components.get(self.name(comp)) else {
            return String::new();
        };
        let Some(b) = bucket_of(series, at) else {
            return String::new();
        };
        let mut parts = Vec::new();
        if let Some(Some(q)) = cs.queue_mean.get(b) {
            parts.push(format!("it held {q:.0} waiting on average then"));
        }
        if let Some(Some(u)) = cs.utilization.get(b) {
            parts.push(format!("{:.0}% busy", u * 100.0));
        }
        if let (Some(&now), Some(&first)) =
            (cs.throughput_per_s.get(b), cs.throughput_per_s.first())
            && b > 0
            && first > 0.0
            && now > 1.5 * first
        {
            parts.push(format!(
                "serving {now:.0}/s against {first:.0}/s at the start"
            ));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }

    /// The faults on a component active during `[from, to]`, as a clause.
    fn faults_on(&self, comp: u32, from: SimTime, to: SimTime) -> String {
        let active: Vec<String> = self
            .faults
            .iter()
            .filter(|f| f.target.is_some_and(|t| t.0 == comp))
            .filter(|f| f.at <= to && f.duration.is_none_or(|d| f.at + d >= from))
            .map(|f| {
                let what = match &f.action {
                    FaultAction::Slow { factor, delay } if *delay == SimTime::ZERO => {
                        format!("a slowdown ×{factor}")
                    }
                    FaultAction::Slow { factor, delay } => {
                        format!("a slowdown ×{factor} + {delay}")
                    }
                    FaultAction::Crash => "a crash".to_owned(),
                    FaultAction::Capacity { workers } => format!("a loss of {workers} workers"),
                    FaultAction::Pause => "a pause".to_owned(),
                    FaultAction::Error { fraction } => {
                        format!("errors injected into {:.0}% of requests", fraction * 100.0)
                    }
                    FaultAction::Partition { .. } | FaultAction::Link { .. } => {
                        format!("a {} fault", f.action.verb())
                    }
                };
                let until = f
                    .duration
                    .map_or(String::new(), |d| format!(" to {}", clock(f.at + d)));
                format!("{what} from {}{until}", clock(f.at))
            })
            .collect();
        if active.is_empty() {
            String::new()
        } else {
            format!(", during {}", active.join(" and "))
        }
    }
}

fn bucket_of(series: &SeriesReport, at: SimTime) -> Option<usize> {
    let t = at.as_secs_f64();
    let b = series.t_s.partition_point(|&start| start <= t);
    (b > 0).then(|| b - 1)
}
