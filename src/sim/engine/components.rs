//! A component's runtime state, whatever its kind, and the dispatch of a task's arrival, the
//! end of its work and the end of its calls to the behaviour of its kind.
//!
//! Invariant: `busy`, `queued` and `capacity` change only after [`CompRt::touch`] has added
//! the time since the last change to their integrals, so utilisation and queue lengths are
//! exact time averages.

use crate::model::{Dist, Policy};
use crate::observe::{Cause, Integrals};
use crate::sim::random::{Stream, ns_to_time};
use crate::sim::time::SimTime;

use super::autoscale::ScaleRt;
use super::balancers::{Health, LbTarget, pick, pick_eligible};
use super::caches::CacheRt;
use super::id32;
use super::message_queues::BrokerRt;
use super::timers::LaneEntry;
use super::{Ev, Simulation, nanos_f64};

pub(super) enum KindRt {
    Service {
        first_instance: u32,
        /// Replicas ready to serve: the first `replicas` of the allocated ones.
        replicas: u32,
        /// Instances allocated: `replicas`, or the autoscaler's maximum.
        allocated: u32,
        workers_per_replica: u32,
        scale: Option<Box<ScaleRt>>,
        workers: u32,
        queue_cap: u32,
        io_async: bool,
        balance: Policy,
        queue_timeout: Option<SimTime>,
        lifo: bool,
    },
    Balancer {
        policy: Policy,
        targets: Vec<LbTarget>,
        /// Requests forwarded to each target and not yet answered: the balancer's own view.
        outstanding: Vec<u32>,
        latency: Dist,
        /// Boxed: large, and read only by balancers.
        health: Box<Health>,
    },
    External {
        latency: Dist,
        error_fraction: f64,
    },
    /// Boxed: large, and read only by caches.
    Cache(Box<CacheRt>),
    /// Boxed: large, and read only by message queues.
    Queue(Box<BrokerRt>),
}

pub(super) struct CompRt {
    pub(super) kind: KindRt,
    /// Its index among the simulation's databases, or `NONE`: read on the service path,
    /// so kept beside the kind rather than in a table of its own.
    pub(super) db: u32,
    pub(super) work_rng: Stream,
    pub(super) route_rng: Stream,
    pub(super) retry_rng: Stream,
    /// False while a crash holds a balancer, a cache, a queue or an external down (services
    /// go down replica by replica, in [`Instance::up`]).
    pub(super) up: bool,
    /// Crashes holding it down now, scripted and random: it is up again when the last ends.
    pub(super) crashes: u32,
    /// Work and latency multiplier and added delay of the `slow` faults in progress,
    /// combined: factors multiply, delays add.
    pub(super) slow: Option<(f64, SimTime)>,
    /// Workers each replica has lost to the `capacity` faults in progress, together.
    pub(super) lost_workers: u32,
    /// Pauses holding the component now: it resumes when the last one ends.
    pub(super) pauses: u32,
    /// Time spent paused before the current pause, and when the current one began: a task
    /// remembers the paused time when its work was timed, and owes what was added since.
    pub(super) paused_before: SimTime,
    pub(super) paused_since: SimTime,
    /// Events of the component held while it is paused (the end of a task's work, with the
    /// work still owed; an answer for it; its own timers), released in order when it resumes.
    pub(super) parked: Vec<(Ev, SimTime)>,
    pub(super) parked_timers: Vec<LaneEntry>,
    /// The tasks it holds (queued, working, or waiting for their own calls), in no order:
    /// what a crash of it loses. A task knows its place here (`Task::inside_at`).
    pub(super) inside: Vec<u32>,
    /// Share of requests failed by the `error` faults without a `count` in progress,
    /// combined as independent chances.
    pub(super) fault_errors: f64,
    /// The `error` faults with a `count` in progress (indices into the faults): each fails
    /// every request until its count is spent.
    pub(super) error_counts: Vec<u32>,
    pub(super) next_rr: u32,
    pub(super) busy: u32,
    pub(super) queued: u32,
    pub(super) last_change: SimTime,
    pub(super) busy_area: f64,
    pub(super) queue_area: f64,
    /// Workers of the ready replicas (services); changes when the service scales.
    pub(super) capacity: u32,
    pub(super) capacity_area: f64,
}

impl CompRt {
    /// Adds the time since the last change to the busy, waiting and capacity integrals;
    /// called before every change of `busy`, `queued` or `capacity`.
    #[inline]
    pub(super) fn touch(&mut self, now: SimTime) {
        let dt = nanos_f64(now - self.last_change);
        self.busy_area += f64::from(self.busy) * dt;
        self.queue_area += f64::from(self.queued) * dt;
        // A lost or retired worker still finishing its request counts while it works, so
        // utilisation never exceeds 1.
        self.capacity_area += f64::from(self.capacity.max(self.busy)) * dt;
        self.last_change = now;
    }

    pub(super) fn integrals(&self, now: SimTime) -> Integrals {
        let dt = nanos_f64(now - self.last_change);
        Integrals {
            busy_ns: self.busy_area + f64::from(self.busy) * dt,
            queue_ns: self.queue_area + f64::from(self.queued) * dt,
            capacity_ns: self.capacity_area + f64::from(self.capacity.max(self.busy)) * dt,
        }
    }

    /// The time it has spent paused up to `now`.
    #[inline]
    pub(super) fn paused_time(&self, now: SimTime) -> SimTime {
        if self.pauses == 0 {
            self.paused_before
        } else {
            self.paused_before + (now - self.paused_since)
        }
    }

    /// Replicas ready to serve (1 for balancers and externals).
    pub(super) fn ready_replicas(&self) -> u32 {
        match self.kind {
            KindRt::Service { replicas, .. } => replicas,
            _ => 1,
        }
    }
}

/// A duration multiplied by a `slow` fault's factor.
#[inline]
pub(super) fn scale(t: SimTime, slow: Option<(f64, SimTime)>) -> SimTime {
    match slow {
        None => t,
        Some((factor, delay)) => ns_to_time(nanos_f64(t) * factor) + delay,
    }
}

impl Simulation {
    pub(super) fn deliver(&mut self, task: u32) {
        let now = self.now;
        let record = self.recorder.measuring();
        let t = &mut self.tasks.items[task as usize];
        t.arrived = now;
        t.record = record;
        if self.traces.is_some() {
            self.trace_instant(task, |s| &mut s.arrived);
        }
        let t = &self.tasks.items[task as usize];
        let (ci, inst) = (t.comp as usize, t.instance);
        self.recorder.arrived(ci);
        let c = &mut self.comps[ci];
        match &mut c.kind {
            KindRt::Service {
                workers, queue_cap, ..
            } => {
                let (workers, cap) = (workers.saturating_sub(c.lost_workers), *queue_cap);
                let instance = &mut self.instances[inst as usize];
                if !instance.up {
                    self.turn_away(task, Cause::Unavailable);
                } else if instance.busy < workers && c.pauses == 0 {
                    instance.in_system += 1;
                    self.enter(task);
                    self.start_work(task);
                } else if (instance.queue.len() as u64) < u64::from(cap) {
                    instance.in_system += 1;
                    instance.queue.push_back(task);
                    c.touch(now);
                    c.queued += 1;
                    self.recorder.queue_length(ci, c.queued);
                    self.enter(task);
                } else {
                    self.recorder.rejected(ci);
                    self.turn_away(task, Cause::Rejected);
                }
            }
            KindRt::Cache(_) => self.cache_arrived(task),
            _ if !c.up => self.turn_away(task, Cause::Unavailable),
            KindRt::Queue(b) => {
                let delay = scale(c.work_rng.sample(&b.latency), c.slow);
                let mark = c.paused_time(now);
                let t = &mut self.tasks.items[task as usize];
                t.working = true;
                t.pause_mark = mark;
                self.enter(task);
                self.at(delay, Ev::WorkDone(task));
            }
            KindRt::Balancer {
                policy,
                targets,
                outstanding,
                latency,
                health,
            } => {
                let n = id32(targets.len());
                let slot = if health.restricted(now) {
                    pick_eligible(*policy, n, &mut c.next_rr, &mut c.route_rng, |i| {
                        health
                            .eligible(i as usize, now)
                            .then(|| outstanding[i as usize])
                    })
                } else {
                    Some(pick(*policy, n, &mut c.next_rr, &mut c.route_rng, |i| {
                        outstanding[i as usize]
                    }))
                };
                let Some(slot) = slot else {
                    // Every backend is ejected: nothing is left to send to.
                    self.turn_away(task, Cause::Unavailable);
                    return;
                };
                outstanding[slot as usize] += 1;
                let delay = if latency.is_zero() && c.slow.is_none() {
                    SimTime::ZERO
                } else {
                    scale(c.work_rng.sample(latency), c.slow)
                };
                c.touch(now);
                c.busy += 1;
                let mark = c.paused_time(now);
                let t = &mut self.tasks.items[task as usize];
                t.instance = slot;
                t.working = true;
                t.pause_mark = mark;
                self.enter(task);
                self.now_or_later(delay, Ev::WorkDone(task));
            }
            KindRt::External { latency, .. } => {
                let delay = scale(c.work_rng.sample(latency), c.slow);
                c.touch(now);
                c.busy += 1;
                let mark = c.paused_time(now);
                let t = &mut self.tasks.items[task as usize];
                t.working = true;
                t.pause_mark = mark;
                self.enter(task);
                self.at(delay, Ev::WorkDone(task));
            }
        }
    }

    pub(super) fn work_done(&mut self, task: u32) {
        let t = &self.tasks.items[task as usize];
        if t.working && !t.zombie && self.work_held_by_pause(task) {
            return;
        }
        let t = &mut self.tasks.items[task as usize];
        t.working = false;
        if t.zombie {
            if t.pending == 0 {
                self.free_task(task);
            }
            return;
        }
        if self.traces.is_some() {
            self.trace_instant(task, |s| &mut s.work_end);
        }
        let t = &self.tasks.items[task as usize];
        let (ci, slot) = (t.comp as usize, t.instance);
        let (root, root_gen, request_type) = (t.root, t.root_gen, t.request_type);
        let now = self.now;
        let c = &mut self.comps[ci];
        let injected = if c.error_counts.is_empty() {
            c.fault_errors > 0.0 && c.route_rng.unit() < c.fault_errors
        } else {
            // Every counted fault sees the request; the chance of the others is drawn only
            // when none of them fails it.
            let mut hit = false;
            for &f in &c.error_counts {
                let left = &mut self.fault_left[f as usize];
                hit |= *left > 0;
                *left = left.saturating_sub(1);
            }
            hit || (c.fault_errors > 0.0 && c.route_rng.unit() < c.fault_errors)
        };
        match &c.kind {
            KindRt::Service { io_async, .. } => {
                if *io_async {
                    self.release_worker(task);
                }
                if injected {
                    self.tasks.items[task as usize].failed = Some(Cause::Error);
                } else if let Some(d) = self.db_index(ci)
                    && self.db_work_done(d, task)
                {
                    return;
                }
                self.next_step(task);
            }
            KindRt::Balancer { targets, .. } => {
                if injected {
                    self.tasks.items[task as usize].failed = Some(Cause::Error);
                    self.balancer_done(task, false);
                    return;
                }
                let target = &targets[slot as usize];
                let (to, instance, link) = (target.comp, target.instance, target.link);
                let child = self.new_task(task, root, root_gen, to, instance, request_type, link);
                self.tasks.items[task as usize].pending = 1;
                self.send(child);
            }
            KindRt::Cache(_) => self.cache_work_done(task, injected),
            KindRt::Queue(_) => self.enqueue(task, injected),
            KindRt::External { error_fraction, .. } => {
                let p = *error_fraction;
                c.touch(now);
                c.busy -= 1;
                if injected || (p > 0.0 && c.route_rng.unit() < p) {
                    self.tasks.items[task as usize].failed = Some(Cause::Error);
                }
                self.finish_task(task);
            }
        }
    }

    /// One of a task's calls has its final outcome.
    pub(super) fn child_done(&mut self, parent: u32, failed: Option<Cause>, degraded: bool) {
        let p = &mut self.tasks.items[parent as usize];
        if p.failed.is_none() {
            p.failed = failed;
        }
        p.degraded |= degraded;
        p.pending -= 1;
        if p.pending > 0 {
            return;
        }
        if p.zombie {
            if !p.working {
                self.free_task(parent);
            }
            return;
        }
        match self.comps[p.comp as usize].kind {
            KindRt::Service { .. } => self.next_step(parent),
            KindRt::Balancer { .. } => self.balancer_done(parent, true),
            KindRt::Cache(_) => self.cache_read(parent),
            KindRt::External { .. } | KindRt::Queue(_) => {}
        }
    }
}
