//! The engine: components' behaviour driven by one ordered stream of events.
//!
//! A *root* is one request from a workload, as the user sees it; a *task* is the work one
//! component does for one request (the root's first task at the workload's target, then one
//! task per call). A task at a service waits for a worker, works, makes its calls step by
//! step and answers its parent over the link it came by. Every root ends exactly once: `ok`,
//! failed with a cause, or still in flight when the run stops — the end of the run checks it.
//!
//! Ordering: events pop in (time, sequence) order. Consequences that take no time (a call
//! over a zero-latency link, zero work) go to an *immediate* FIFO that is drained before the
//! next timed event; they happen at the same instant, in the order they were caused.

mod autoscale;
mod balancers;
mod breakers;
mod build;
mod caches;
mod calls;
mod components;
mod database;
mod faults;
mod limits;
mod links;
mod live;
mod message_queues;
mod pauses;
mod services;
mod tasks;
mod timers;
mod traces;
mod workloads;

pub use limits::Held;
pub use live::{LiveComponent, LiveLink, LiveState, MessageKind, TracedMessage};

use std::collections::VecDeque;
use std::sync::Arc;

use crate::model::{Fault, Model};
use crate::observe::{Finish, Integrals, Recorder, Report};

use super::queue::EventQueue;
use super::time::SimTime;
use breakers::BreakerRt;
use calls::CallState;
use components::CompRt;
use database::{DbEvent, DbRt};
use faults::RandomTarget;
use links::LinkRt;
use live::Tracer;
use message_queues::{Delivery, Message};
use services::{HandlerRt, Instance};
use tasks::{Root, Slab, Task};
use timers::Lane;
use workloads::WorkloadRt;

const NONE: u32 = u32::MAX;

/// An index into one of the engine's tables as the 32-bit id events and tasks carry. The
/// limits keep every table far below 2^32 entries, so an index that does not fit is a bug:
/// asserted here, never turned into a sentinel that would alias [`NONE`] or another entry.
fn id32(index: usize) -> u32 {
    match u32::try_from(index) {
        Ok(id) if id != NONE => id,
        _ => panic!("index {index} does not fit an engine id"),
    }
}

/// An index into a table the model bounds to 16 bits (workloads, timer lanes, a handler's
/// steps and calls), asserted like [`id32`].
fn id16(index: usize) -> u16 {
    u16::try_from(index).unwrap_or_else(|_| panic!("index {index} does not fit a 16-bit engine id"))
}

/// In a call state: the attempt (or hedged copy) whose message was lost in the network. It
/// never answers, but the call still waits for it until its timeout.
const LOST: u32 = u32::MAX - 1;

/// In a task's `root`: the task is a delivery of a message to a consumer, not part of a
/// user's request; its `root_gen` is then the delivery's id.
const MESSAGE: u32 = u32::MAX - 2;

/// How deep zero-delay hops may be handled by direct calls before they go through the
/// immediate queue instead: deep enough for any real call tree, shallow enough that a
/// pathological chain of thousands of components cannot overflow the stack.
const MAX_INLINE_DEPTH: u32 = 32;

/// How a run is set up; `None` fields take the model's values.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    pub seed: Option<u64>,
    pub duration: Option<SimTime>,
    pub warmup: Option<SimTime>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The engine broke one of its own rules: a bug, never the user's fault.
    #[error("internal error (a bug in archsim): {message}; reproduce with --seed {seed}")]
    Invariant { seed: u64, message: String },
    /// The run crossed one of the model's `limits`; the message says where and what to do.
    #[error("the run stopped: {message}")]
    Limit { message: String },
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    /// The next open-loop arrival of a workload.
    Arrival(u16),
    /// A closed-loop user of a workload finished thinking.
    UserReady(u16),
    /// A task reaches its component.
    Deliver(u32),
    /// A task's own work (or a balancer's or external's delay) is done.
    WorkDone(u32),
    /// A finished task's answer reaches its parent.
    Reply(u32),
    /// The earliest deadline of a timer lane is due.
    Timers(u16),
    /// A call's backoff is over: send its next attempt.
    Retry(u32),
    /// A balancer probes its backends.
    HealthCheck(u32),
    /// An autoscaled service decides whether to scale.
    Autoscale(u32),
    /// A replica started by the autoscaler is ready.
    ReplicaReady(u32),
    FaultStart(u32),
    FaultEnd(u32),
    /// A random crash of the replica (or component) in the `random` table, or its repair.
    RandomDown(u32),
    RandomUp(u32),
    /// A component has resumed: its timers that came due while it was paused go off, after
    /// the answers that reached it meanwhile.
    ResumeTimers(u32),
    /// Something happens to a database (an index into the simulation's database events).
    Db(u32),
    BucketEnd,
    WarmupEnd,
}

/// A span of simulated time as `f64` nanoseconds. Through `i64` this is one instruction on
/// x86-64; any span of a run (under 292 years) fits.
#[inline]
fn nanos_f64(t: SimTime) -> f64 {
    #[expect(
        clippy::cast_possible_wrap,
        reason = "spans of a run are far below 2^63 ns"
    )]
    let signed = t.as_nanos() as i64;
    signed as f64
}

pub struct Simulation {
    model: Arc<Model>,
    seed: u64,
    now: SimTime,
    end: SimTime,
    queue: EventQueue<Ev>,
    immediate: VecDeque<Ev>,
    events: u64,
    /// Direct calls in progress for zero-delay hops (see [`Simulation::now_or_later`]).
    inline_depth: u32,
    n_types: usize,
    comps: Vec<CompRt>,
    instances: Vec<Instance>,
    handlers: Vec<HandlerRt>,
    handler_of: Vec<u32>,
    links: Vec<LinkRt>,
    workloads: Vec<WorkloadRt>,
    lanes: Vec<Lane>,
    /// The model's scripted faults, then those injected while running.
    faults: Vec<Fault>,
    /// Whether each fault is on.
    fault_active: Vec<bool>,
    /// For each `error` fault with a `count` in progress: the requests it has left to fail.
    fault_left: Vec<u64>,
    /// Replicas (or components) with random crashes, each with its own stream.
    random: Vec<RandomTarget>,
    tasks: Slab<Task>,
    roots: Slab<Root>,
    calls: Slab<CallState>,
    messages: Slab<Message>,
    /// Why the run stopped before its end: a limit it crossed.
    stopped: Option<String>,
    /// Messages enqueued so far, in every queue: the last message's serial.
    message_serials: u64,
    deliveries: Slab<Delivery>,
    /// Components that are message queues.
    brokers: Vec<u32>,
    breakers: Vec<BreakerRt>,
    /// Each bulkhead's limit and the attempts it has outstanding.
    bulkheads: Vec<(u32, u32)>,
    /// Tokens left in each call's retry budget.
    budgets: Vec<f64>,
    recorder: Recorder,
    buckets_left: u32,
    /// Sampled messages for an animated diagram; `None` (no cost) unless asked for.
    trace: Option<Box<Tracer>>,
    /// Request traces; `None` (no cost) unless asked for.
    traces: Option<Box<traces::Traces>>,
    dbs: Vec<DbRt>,
    db_events: Slab<DbEvent>,
}

impl Simulation {
    fn schedule_next_bucket(&mut self) {
        let total = self.model.series_buckets.max(1);
        if self.buckets_left == 0 {
            return;
        }
        let k = total - self.buckets_left + 1;
        // The last bucket is closed by `finish`, after every event at the final instant.
        if k < total {
            let at = SimTime::from_nanos(self.recorder.bucket_width().as_nanos() * u64::from(k));
            self.queue.push(at, Ev::BucketEnd);
        }
    }

    #[must_use]
    pub fn now(&self) -> SimTime {
        self.now
    }

    #[must_use]
    pub fn end(&self) -> SimTime {
        self.end
    }

    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    #[must_use]
    pub fn events_processed(&self) -> u64 {
        self.events
    }

    #[must_use]
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// The report of the run so far, without ending it: the series hold the time buckets
    /// closed so far, which are the same as those of the finished run.
    ///
    /// # Errors
    /// When the engine broke an invariant (a bug).
    pub fn report_now(&self) -> Result<Report, SimError> {
        let (in_flight_by_type, live) = self.in_flight()?;
        let integrals: Vec<Integrals> = self.comps.iter().map(|c| c.integrals(self.now)).collect();
        Ok(self.recorder.report(&Finish {
            model: &self.model,
            seed: self.seed,
            now: self.now,
            integrals: &integrals,
            in_flight_by_type: &in_flight_by_type,
            in_flight: live,
            sim_events: self.events,
            queues: &self.queue_states(),
            databases: &self.db_states(),
        }))
    }

    fn in_flight(&self) -> Result<(Vec<u64>, u64), SimError> {
        let live = self.roots.live() as u64;
        let mut in_flight_by_type = vec![0u64; self.model.request_types.len()];
        let free: std::collections::BTreeSet<u32> = self.roots.free.iter().copied().collect();
        for (i, r) in self.roots.items.iter().enumerate() {
            let i = id32(i);
            if !free.contains(&i) {
                if !r.live {
                    return Err(self.invariant(format!("root {i} is allocated but not live")));
                }
                if r.counted {
                    in_flight_by_type[r.request_type as usize] += 1;
                }
            }
        }
        Ok((in_flight_by_type, live))
    }

    /// Processes every event up to and including `until` (capped at the run's end), then
    /// sets the clock to it.
    pub fn run_until(&mut self, until: SimTime) {
        let until = until.min(self.end);
        while self.step_before(until) {}
        if self.stopped.is_none() {
            self.now = self.now.max(until);
        }
    }

    /// Processes one event if there is one at or before the end; otherwise moves the clock
    /// to the end and returns false.
    pub fn step(&mut self) -> bool {
        if self.step_before(self.end) {
            return true;
        }
        if self.stopped.is_none() {
            self.now = self.end;
        }
        false
    }

    #[inline]
    fn step_before(&mut self, until: SimTime) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        if let Some(ev) = self.immediate.pop_front() {
            self.events += 1;
            self.handle(ev);
            return true;
        }
        match self.queue.peek_time() {
            Some(t) if t <= until => {
                if let Some((t, ev)) = self.queue.pop() {
                    assert!(
                        t >= self.now,
                        "time went backwards from {} to {t}; reproduce with --seed {}",
                        self.now,
                        self.seed
                    );
                    self.now = t;
                    self.events += 1;
                    self.handle(ev);
                }
                true
            }
            _ => false,
        }
    }

    /// Runs to the end and returns the report.
    ///
    /// # Errors
    /// When the engine broke an invariant (a bug): the message says which and the seed.
    pub fn run(mut self) -> Result<Report, SimError> {
        self.run_until(self.end);
        self.finish()
    }

    /// Ends the run at the current instant and builds the report.
    ///
    /// # Errors
    /// When a request was lost or counted twice (a bug).
    pub fn finish(mut self) -> Result<Report, SimError> {
        if let Some(message) = self.stopped.take() {
            return Err(SimError::Limit { message });
        }
        let (in_flight_by_type, live) = self.in_flight()?;
        if self.buckets_left > 0 {
            self.close_bucket();
        }
        let integrals: Vec<Integrals> = self.comps.iter().map(|c| c.integrals(self.now)).collect();
        let queues = self.queue_states();
        let databases = self.db_states();
        let report = self.recorder.finish(&Finish {
            model: &self.model,
            seed: self.seed,
            now: self.now,
            integrals: &integrals,
            in_flight_by_type: &in_flight_by_type,
            in_flight: live,
            sim_events: self.events,
            queues: &queues,
            databases: &databases,
        });
        for (name, c) in &report.components {
            if let Some(q) = &c.queue
                && q.enqueued != q.acked + q.dead_lettered + q.lost + q.backlog + q.unacked
            {
                return Err(SimError::Invariant {
                    seed: self.seed,
                    message: format!(
                        "messages not conserved at `{name}`: {} enqueued but {} acknowledged + \
                         {} dead-lettered + {} lost + {} waiting + {} unacknowledged",
                        q.enqueued, q.acked, q.dead_lettered, q.lost, q.backlog, q.unacked
                    ),
                });
            }
        }
        let t = report.totals;
        if t.generated != t.ok + t.ok_degraded + t.failed + t.in_flight {
            return Err(SimError::Invariant {
                seed: self.seed,
                message: format!(
                    "requests not conserved: {} generated but {} ok + {} degraded + {} failed + {} in flight",
                    t.generated, t.ok, t.ok_degraded, t.failed, t.in_flight
                ),
            });
        }
        for (name, r) in &report.requests {
            if r.count != r.ok + r.ok_degraded + r.failed + r.in_flight {
                return Err(SimError::Invariant {
                    seed: self.seed,
                    message: format!(
                        "requests of type `{name}` not conserved: {} counted but {} ok + {} degraded + {} failed + {} in flight",
                        r.count, r.ok, r.ok_degraded, r.failed, r.in_flight
                    ),
                });
            }
        }
        Ok(report)
    }

    fn invariant(&self, message: String) -> SimError {
        SimError::Invariant {
            seed: self.seed,
            message,
        }
    }

    #[inline]
    fn at(&mut self, delay: SimTime, ev: Ev) {
        if delay == SimTime::ZERO {
            self.immediate.push_back(ev);
        } else {
            self.queue.push(self.now + delay, ev);
        }
    }

    /// A hop that takes no time (a zero-latency link, a balancer with no delay) is handled at
    /// once by a direct call: the same instant and the same causal order as going through
    /// the immediate queue, without its cost. Past a small depth it is queued instead.
    #[inline]
    fn now_or_later(&mut self, delay: SimTime, ev: Ev) {
        if delay == SimTime::ZERO && self.inline_depth < MAX_INLINE_DEPTH {
            self.inline_depth += 1;
            self.events += 1;
            self.handle(ev);
            self.inline_depth -= 1;
        } else {
            self.at(delay, ev);
        }
    }

    #[inline]
    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Arrival(w) => self.arrival(w),
            Ev::UserReady(w) => self.start_request(w),
            Ev::Deliver(t) => self.deliver(t),
            Ev::WorkDone(t) => self.work_done(t),
            Ev::Reply(t) => self.reply_arrived(t),
            Ev::Timers(l) => self.timers(l),
            Ev::Retry(c) => self.retry_due(c),
            Ev::HealthCheck(c) => self.health_check(c),
            Ev::Autoscale(c) => self.autoscale(c),
            Ev::ReplicaReady(c) => self.replica_ready(c),
            Ev::FaultStart(i) => self.fault(i, true),
            Ev::FaultEnd(i) => self.fault(i, false),
            Ev::RandomDown(i) => self.random_failure(i, true),
            Ev::RandomUp(i) => self.random_failure(i, false),
            Ev::ResumeTimers(c) => self.resume_timers(c as usize),
            Ev::Db(e) => self.db_event(e),
            Ev::BucketEnd => {
                self.close_bucket();
                self.buckets_left = self.buckets_left.saturating_sub(1);
                self.schedule_next_bucket();
            }
            Ev::WarmupEnd => {
                let integrals: Vec<Integrals> =
                    self.comps.iter().map(|c| c.integrals(self.now)).collect();
                let queues: Vec<u32> = self.comps.iter().map(|c| c.queued).collect();
                self.recorder.warmup_reached(&integrals, &queues);
            }
        }
    }

    /// Hands the recorder what it needs to close the current time bucket.
    fn close_bucket(&mut self) {
        let integrals: Vec<Integrals> = self.comps.iter().map(|c| c.integrals(self.now)).collect();
        let replicas: Vec<u32> = self.comps.iter().map(CompRt::ready_replicas).collect();
        let states = self.breaker_states();
        let queues = self.queue_states();
        self.recorder
            .bucket_closed(&integrals, &replicas, states, &queues);
        self.db_bucket_closed();
    }
}
