//! Calls and the protections on the caller's side: timeouts per attempt, retries with
//! backoff, jitter and budgets, bulkheads (a limit on attempts outstanding), hedged
//! requests and fallbacks. A *call state* exists only for calls that have one of these; a
//! plain call is a child task and nothing more.
//!
//! Invariant: a call state's `child` and `hedge` are the only attempts whose answers count;
//! every other answer is wasted work. A bulkhead's count is taken when an attempt is sent
//! and given back exactly once, when that attempt ends.

use crate::model::{Backoff, Jitter, Retry};
use crate::observe::Cause;
use crate::observe::trace::NoteKind;
use crate::sim::random::{Stream, ns_to_time};
use crate::sim::time::SimTime;

use super::id32;
use super::tasks::Slab;
use super::timers::TimerKind;
use super::{Ev, NONE, Simulation, nanos_f64};

/// A call that has a timeout or retries: which attempt is current, so that the answer of an
/// abandoned attempt is recognised as wasted work.
pub(super) struct CallState {
    pub(super) parent: u32,
    pub(super) handler: u32,
    pub(super) step: u16,
    pub(super) index: u16,
    pub(super) request_type: u16,
    pub(super) attempts: u32,
    /// The current attempt's task, or `NONE` while waiting to retry.
    pub(super) child: u32,
    /// Bumped whenever an attempt ends, so that its timer is recognised as stale.
    pub(super) generation: u32,
    pub(super) last_backoff: SimTime,
    /// The current attempt went through a half-open breaker as a probe.
    pub(super) probe: bool,
    /// The current attempt holds a place in the call's bulkhead.
    pub(super) in_bulkhead: bool,
    /// The hedged copy of the current attempt, or `NONE`.
    pub(super) hedge: u32,
}

pub(super) struct CallRt {
    pub(super) to: u32,
    pub(super) request: Option<u16>,
    pub(super) link: u32,
    pub(super) timeout_lane: Option<u16>,
    pub(super) retry: Option<Retry>,
    pub(super) fallback: bool,
    pub(super) hedge_lane: Option<u16>,
    /// Index into the simulation's bulkheads (limit, attempts outstanding).
    pub(super) bulkhead: Option<u32>,
    /// Index into the simulation's breakers.
    pub(super) breaker: Option<u32>,
    /// Index into the simulation's retry budgets (token counts).
    pub(super) budget: Option<u32>,
}

/// Takes one token from a retry budget if it has one; a call without a budget may always
/// retry.
pub(super) fn spend_token(budgets: &mut [f64], budget: Option<u32>) -> bool {
    match budget {
        None => true,
        Some(b) => {
            let tokens = &mut budgets[b as usize];
            if *tokens >= 1.0 {
                *tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }
}

/// The wait before retry number `done` (attempts made so far, at least 1).
pub(super) fn backoff(retry: &Retry, done: u32, last: SimTime, rng: &mut Stream) -> SimTime {
    let base = nanos_f64(retry.base);
    let cap = nanos_f64(retry.max_backoff);
    let raw = match retry.backoff {
        Backoff::Constant => base,
        Backoff::Exponential => {
            base * f64::from(2u32.saturating_pow(done.saturating_sub(1).min(62)))
        }
        Backoff::Decorrelated => {
            let upper = (3.0 * nanos_f64(last)).max(base);
            base + (upper - base) * rng.unit()
        }
    };
    let capped = raw.min(cap);
    let waited = match retry.jitter {
        Jitter::None => capped,
        Jitter::Full => capped * rng.unit(),
        Jitter::Equal => capped / 2.0 + capped / 2.0 * rng.unit(),
    };
    ns_to_time(waited)
}

impl Slab<CallState> {
    /// Keeps the slot's generation across reuse, so a stale timer never matches a new call.
    pub(super) fn insert_call(&mut self, call: CallState) -> u32 {
        if let Some(i) = self.free.pop() {
            let slot = &mut self.items[i as usize];
            let generation = slot.generation.wrapping_add(1);
            *slot = CallState { generation, ..call };
            i
        } else {
            self.items.push(call);
            id32(self.items.len() - 1)
        }
    }
}

impl Simulation {
    /// Sends the next attempt of a call that has a timeout or retries.
    pub(super) fn start_attempt(&mut self, id: u32) {
        let cs = &self.calls.items[id as usize];
        let (parent, request_type, attempts) = (cs.parent, cs.request_type, cs.attempts);
        if self.tasks.items[parent as usize].zombie {
            // The caller was lost in a crash: nobody is left to send this attempt for.
            self.attempt_ended(id, Some(Cause::Dropped), false, false);
            return;
        }
        let call = &self.handlers[cs.handler as usize].steps[cs.step as usize][cs.index as usize];
        let (to, link, lane, breaker, bulkhead, hedge_lane) = (
            call.to,
            call.link,
            call.timeout_lane,
            call.breaker,
            call.bulkhead,
            call.hedge_lane,
        );
        if attempts == 0
            && let (Some(b), Some(budget)) =
                (call.budget, call.retry.as_ref().and_then(|r| r.budget))
        {
            let tokens = &mut self.budgets[b as usize];
            *tokens = (*tokens + budget.ratio).min(budget.burst);
        }
        let p = &self.tasks.items[parent as usize];
        let (root, root_gen, caller) = (p.root, p.root_gen, p.comp);
        if attempts > 0 {
            self.recorder.retried(caller as usize);
        }
        let mut probe = false;
        if let Some(b) = breaker {
            if let Some(is_probe) = self.breaker_admits(b) {
                probe = is_probe;
            } else {
                // Refused by the open breaker: fails at once, without reaching the callee.
                self.recorder.short_circuited(caller as usize);
                if self.traces.is_some() {
                    self.trace_note(parent, NoteKind::ShortCircuited { to });
                }
                let cs = &mut self.calls.items[id as usize];
                cs.attempts += 1;
                cs.child = NONE;
                self.attempt_ended(id, Some(Cause::Unavailable), false, false);
                return;
            }
        }
        if let Some(b) = bulkhead {
            let (limit, outstanding) = &mut self.bulkheads[b as usize];
            if *outstanding >= *limit {
                // The bulkhead is full: fail at once rather than queue behind a slow callee.
                self.recorder.bulkhead_rejected(caller as usize);
                if self.traces.is_some() {
                    self.trace_note(parent, NoteKind::BulkheadFull { to });
                }
                if probe && let Some(b) = breaker {
                    let br = &mut self.breakers[b as usize];
                    br.probes_out = br.probes_out.saturating_sub(1);
                }
                let cs = &mut self.calls.items[id as usize];
                cs.attempts += 1;
                cs.probe = probe;
                self.attempt_ended(id, Some(Cause::Rejected), false, false);
                return;
            }
            *outstanding += 1;
        }
        let instance = self.choose_instance(to, request_type);
        let child = self.new_task(parent, root, root_gen, to, instance, request_type, link);
        self.tasks.items[child as usize].call = id;
        let cs = &mut self.calls.items[id as usize];
        cs.attempts += 1;
        cs.child = child;
        cs.probe = probe;
        cs.in_bulkhead = bulkhead.is_some();
        let (generation, attempt) = (cs.generation, cs.attempts);
        if self.traces.is_some() {
            self.trace_attempt(child, attempt, false);
        }
        if let Some(lane) = lane {
            self.arm_timer(lane, id, generation, TimerKind::CallTimeout);
        }
        if let Some(lane) = hedge_lane {
            self.arm_timer(lane, id, generation, TimerKind::Hedge);
        }
        self.send(child);
    }

    /// An attempt has not answered in the hedging delay: send a second copy.
    pub(super) fn send_hedge(&mut self, id: u32) {
        let cs = &self.calls.items[id as usize];
        let (parent, request_type) = (cs.parent, cs.request_type);
        if self.tasks.items[parent as usize].zombie {
            return;
        }
        let call = &self.handlers[cs.handler as usize].steps[cs.step as usize][cs.index as usize];
        let (to, link) = (call.to, call.link);
        let p = &self.tasks.items[parent as usize];
        let (root, root_gen, caller) = (p.root, p.root_gen, p.comp);
        self.recorder.hedged(caller as usize);
        let instance = self.choose_instance(to, request_type);
        let copy = self.new_task(parent, root, root_gen, to, instance, request_type, link);
        self.tasks.items[copy as usize].call = id;
        let cs = &mut self.calls.items[id as usize];
        cs.hedge = copy;
        let attempt = cs.attempts;
        if self.traces.is_some() {
            self.trace_note(parent, NoteKind::Hedged { to });
            self.trace_attempt(copy, attempt, true);
        }
        self.send(copy);
    }

    /// The current attempt of a call ended (answered, or timed out): retry it, or hand the
    /// outcome to the caller.
    pub(super) fn attempt_ended(
        &mut self,
        id: u32,
        outcome: Option<Cause>,
        reached_callee: bool,
        degraded: bool,
    ) {
        let cs = &mut self.calls.items[id as usize];
        cs.generation = cs.generation.wrapping_add(1);
        cs.child = NONE;
        cs.hedge = NONE;
        let probe = std::mem::take(&mut cs.probe);
        let in_bulkhead = std::mem::take(&mut cs.in_bulkhead);
        let call = &self.handlers[cs.handler as usize].steps[cs.step as usize][cs.index as usize];
        let (breaker, bulkhead) = (call.breaker, call.bulkhead);
        if in_bulkhead && let Some(b) = bulkhead {
            self.bulkheads[b as usize].1 -= 1;
        }
        if reached_callee && let Some(b) = breaker {
            self.breaker_saw(b, outcome.is_none(), probe);
        }
        let cs = &mut self.calls.items[id as usize];
        let call = &self.handlers[cs.handler as usize].steps[cs.step as usize][cs.index as usize];
        // A caller lost in a crash has no one left to retry for.
        let caller_alive = !self.tasks.items[cs.parent as usize].zombie;
        if let (Some(cause), Some(retry)) = (outcome, &call.retry)
            && caller_alive
            && retry.on[cause.index()]
            && cs.attempts < retry.attempts
            && spend_token(&mut self.budgets, call.budget)
        {
            let caller = self.tasks.items[cs.parent as usize].comp as usize;
            let wait = backoff(
                retry,
                cs.attempts,
                cs.last_backoff,
                &mut self.comps[caller].retry_rng,
            );
            cs.last_backoff = wait;
            if self.traces.is_some() {
                let (parent, attempt, to) = (cs.parent, cs.attempts + 1, call.to);
                self.trace_note(parent, NoteKind::RetryScheduled { to, attempt, wait });
            }
            // Through the queues even when the wait is zero: a chain of instant retries must
            // not recurse.
            self.at(wait, Ev::Retry(id));
            return;
        }
        let (parent, to) = (cs.parent, call.to);
        let fallback = call.fallback && outcome.is_some();
        self.calls.remove(id);
        if fallback {
            // The caller serves a degraded answer instead of failing.
            let caller = self.tasks.items[parent as usize].comp as usize;
            self.recorder.fell_back(caller);
            if self.traces.is_some() {
                self.trace_note(parent, NoteKind::FellBack { to });
            }
            self.child_done(parent, None, true);
        } else {
            self.child_done(parent, outcome, degraded);
        }
    }
}
