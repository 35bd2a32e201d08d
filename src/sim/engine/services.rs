//! Services: replicas with a pool of workers and a bounded queue (FIFO or LIFO, with an
//! optional queue timeout), handlers that work and then make their calls step by step, and
//! the choice of the replica a direct call lands on.
//!
//! Invariant: a replica's `busy` counts the tasks holding one of its workers and never
//! exceeds its workers but while a capacity fault drains; `in_system` counts the tasks
//! queued or inside it.

use std::collections::VecDeque;

use crate::model::Dist;
use crate::observe::Cause;
use crate::sim::time::SimTime;

use super::balancers::pick;
use super::calls::{CallRt, CallState};
use super::components::{KindRt, scale};
use super::id16;
use super::{Ev, NONE, Simulation};

pub(super) struct Instance {
    pub(super) up: bool,
    /// Crashes holding it down now, scripted and random: it is up again when the last ends.
    pub(super) crashes: u32,
    pub(super) busy: u32,
    pub(super) in_system: u32,
    pub(super) queue: VecDeque<u32>,
}

pub(super) struct HandlerRt {
    pub(super) work: Dist,
    pub(super) steps: Vec<Vec<CallRt>>,
}

impl Simulation {
    /// Picks the replica of a service that a direct call lands on; `NONE` for other kinds.
    pub(super) fn choose_instance(&mut self, comp: u32, request_type: u16) -> u32 {
        if let Some(d) = self.db_index(comp as usize) {
            return self.db_choose(d, request_type);
        }
        let c = &mut self.comps[comp as usize];
        match &c.kind {
            KindRt::Service {
                first_instance,
                replicas,
                balance,
                ..
            } => {
                let (first, n, policy) = (*first_instance, *replicas, *balance);
                if n == 1 {
                    return first;
                }
                let instances = &self.instances[first as usize..(first + n) as usize];
                first
                    + pick(policy, n, &mut c.next_rr, &mut c.route_rng, |i| {
                        instances[i as usize].in_system
                    })
            }
            _ => NONE,
        }
    }

    pub(super) fn start_work(&mut self, task: u32) {
        let now = self.now;
        let t = &mut self.tasks.items[task as usize];
        t.holds_worker = true;
        t.working = true;
        let (ci, inst, handler) = (t.comp as usize, t.instance as usize, t.handler as usize);
        self.instances[inst].busy += 1;
        let c = &mut self.comps[ci];
        c.touch(now);
        c.busy += 1;
        let work = scale(c.work_rng.sample(&self.handlers[handler].work), c.slow);
        self.tasks.items[task as usize].pause_mark = c.paused_time(now);
        if self.traces.is_some() {
            self.trace_instant(task, |s| &mut s.work_start);
        }
        self.at(work, Ev::WorkDone(task));
    }

    pub(super) fn release_worker(&mut self, task: u32) {
        let now = self.now;
        let t = &mut self.tasks.items[task as usize];
        t.holds_worker = false;
        let (ci, inst) = (t.comp as usize, t.instance as usize);
        self.instances[inst].busy -= 1;
        let c = &mut self.comps[ci];
        c.touch(now);
        c.busy -= 1;
        if self.instances[inst].queue.is_empty() {
            return;
        }
        let (queue_timeout, lifo, workers) = match c.kind {
            KindRt::Service {
                queue_timeout,
                lifo,
                workers,
                ..
            } => (queue_timeout, lifo, workers.saturating_sub(c.lost_workers)),
            _ => (None, false, 0),
        };
        self.start_queued(ci, inst, queue_timeout, lifo, workers);
    }

    /// Starts queued requests on a replica while it has free workers, shedding those that
    /// waited too long.
    pub(super) fn start_queued(
        &mut self,
        ci: usize,
        inst: usize,
        queue_timeout: Option<SimTime>,
        lifo: bool,
        workers: u32,
    ) {
        let now = self.now;
        while self.instances[inst].busy < workers {
            let queue = &mut self.instances[inst].queue;
            let next = if lifo {
                queue.pop_back()
            } else {
                queue.pop_front()
            };
            let Some(next) = next else {
                return;
            };
            self.comps[ci].queued -= 1;
            if let Some(limit) = queue_timeout
                && now - self.tasks.items[next as usize].arrived > limit
            {
                // Shed: serving it now would be work for a caller that has likely gone.
                self.instances[inst].in_system -= 1;
                self.leave(next);
                self.recorder.rejected(ci);
                self.turn_away(next, Cause::Rejected);
                continue;
            }
            self.start_work(next);
        }
    }

    /// Runs a service task's next step of calls, or finishes it when none is left or one
    /// has failed.
    pub(super) fn next_step(&mut self, task: u32) {
        let t = &mut self.tasks.items[task as usize];
        let handler = &self.handlers[t.handler as usize];
        if t.failed.is_some() || t.step as usize >= handler.steps.len() {
            self.finish_task(task);
            return;
        }
        let step = t.step as usize;
        t.step += 1;
        let (root, root_gen, incoming, h) = (t.root, t.root_gen, t.request_type, t.handler);
        let n = handler.steps[step].len();
        t.pending = id16(n);
        for i in 0..n {
            let call = &self.handlers[h as usize].steps[step][i];
            let request_type = call.request.unwrap_or(incoming);
            if call.timeout_lane.is_some()
                || call.retry.is_some()
                || call.breaker.is_some()
                || call.fallback
                || call.bulkhead.is_some()
                || call.hedge_lane.is_some()
            {
                let id = self.calls.insert_call(CallState {
                    parent: task,
                    handler: h,
                    step: id16(step),
                    index: id16(i),
                    request_type,
                    attempts: 0,
                    child: NONE,
                    generation: 0,
                    last_backoff: SimTime::ZERO,
                    probe: false,
                    in_bulkhead: false,
                    hedge: NONE,
                });
                self.start_attempt(id);
            } else {
                let (to, link) = (call.to, call.link);
                let instance = self.choose_instance(to, request_type);
                let child = self.new_task(task, root, root_gen, to, instance, request_type, link);
                self.send(child);
            }
        }
    }
}
