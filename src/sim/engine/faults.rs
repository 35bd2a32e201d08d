//! Faults: scripted and injected ones (crash, slow, error, capacity, pause, with flapping),
//! random crashes drawn from `mtbf` and `mttr`, and what a crash does to the work inside a
//! component. Network faults live with the links.
//!
//! Invariant: a task lost in a crash has its caller answered `dropped` at once through a
//! stand-in, and stays as a zombie until its own pending events have passed, so no event
//! ever refers to a reused slot.

use crate::model::{Fault, FaultAction};
use crate::observe::Cause;
use crate::observe::trace::NoteKind;
use crate::sim::random::Stream;
use crate::sim::time::SimTime;

use super::components::KindRt;
use super::id32;
use super::links::Crossing;
use super::tasks::Task;
use super::{Ev, NONE, Simulation};

/// The faults in progress on one component, combined.
struct CombinedFaults {
    slow: Option<(f64, SimTime)>,
    error_fraction: f64,
    error_counts: Vec<u32>,
    lost_workers: u32,
}

pub(super) struct RandomTarget {
    pub(super) comp: usize,
    pub(super) replica: Option<u32>,
    pub(super) stream: Stream,
    /// A crash or a repair of this target is pending. A replica an autoscaler stopped
    /// sending to lets its clock lapse at the next crash, and is armed again when it is
    /// ready once more, so that one replica never has two clocks.
    pub(super) armed: bool,
}

impl Simulation {
    /// Every fault: the model's, then the injected ones, in order.
    #[must_use]
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Starts a fault now (its `at` is ignored and set to now), as if it had been scripted
    /// for this instant; it ends after its `duration`, at [`Simulation::end_fault`], or at
    /// the end of the run. Returns its index among [`Simulation::faults`].
    ///
    /// Replaying the same injections at the same instants reproduces the run exactly.
    pub fn inject(&mut self, mut fault: Fault) -> usize {
        fault.at = self.now;
        let index = self.faults.len();
        let id = id32(index);
        if let Some(d) = fault.duration
            && self.now + d <= self.end
        {
            self.queue.push(self.now + d, Ev::FaultEnd(id));
        }
        self.faults.push(fault);
        self.fault_active.push(false);
        self.queue.push(self.now, Ev::FaultStart(id));
        index
    }

    /// Ends a fault now (a restart, a healed partition); nothing if it is not on.
    pub fn end_fault(&mut self, index: usize) {
        if self.fault_active.get(index).copied().unwrap_or(false) {
            // A flapping fault keeps toggling until its window ends; ending it by hand
            // ends the window too.
            self.faults[index].flap = None;
            let id = id32(index);
            self.queue.push(self.now, Ev::FaultEnd(id));
        }
    }

    /// A `capacity` fault: each replica now has `lost` fewer workers (0 restores them). The
    /// work in progress goes on; freed workers beyond the new count stay idle, and restored
    /// ones take queued requests at once.
    pub(super) fn lose_capacity(&mut self, comp: usize, lost: u32) {
        let now = self.now;
        let c = &mut self.comps[comp];
        let KindRt::Service {
            first_instance,
            replicas,
            allocated,
            workers,
            queue_timeout,
            lifo,
            ..
        } = c.kind
        else {
            return;
        };
        c.touch(now);
        c.lost_workers = lost.min(workers);
        let effective = workers - c.lost_workers;
        c.capacity = replicas * effective;
        // Replicas scaled in but still draining their queues get their workers back too.
        for inst in first_instance..first_instance + allocated {
            self.start_queued(comp, inst as usize, queue_timeout, lifo, effective);
        }
    }

    pub(super) fn fault(&mut self, index: u32, starts: bool) {
        let i = index as usize;
        if self.fault_active[i] == starts {
            // A flapping fault's own toggles and its scheduled end can meet; once is enough.
            return;
        }
        self.fault_active[i] = starts;
        let f: Fault = self.faults[i].clone();
        if let Some(flap) = f.flap {
            let window_end = f.duration.map_or(self.end, |d| f.at + d);
            let (next, ev) = if starts {
                (self.now + flap.down, Ev::FaultEnd(index))
            } else {
                (self.now + flap.up, Ev::FaultStart(index))
            };
            if next < window_end {
                self.queue.push(next, ev);
            }
        }
        let Some(target) = f.target else {
            self.network_fault(&f.action, starts);
            return;
        };
        let comp = target.0 as usize;
        let name = self.model.components[comp].name.clone();
        let place = match f.replica {
            Some(r) => format!("{name} replica {r}"),
            None => name,
        };
        let message = match (f.action.clone(), starts) {
            (FaultAction::Crash, true) => format!("crash {place}"),
            (FaultAction::Crash, false) => format!("restart {place}"),
            (FaultAction::Slow { factor, delay }, true) => {
                if delay == SimTime::ZERO {
                    format!("slow {place} ×{factor}")
                } else {
                    format!("slow {place} ×{factor} +{delay}")
                }
            }
            (FaultAction::Capacity { workers }, true) => {
                format!("{place} loses {workers} workers per replica")
            }
            (FaultAction::Capacity { .. }, false) => format!("{place} back to full capacity"),
            (FaultAction::Pause, true) => format!("{place} pauses (stop-the-world)"),
            (FaultAction::Pause, false) => format!("{place} resumes"),
            (FaultAction::Slow { .. }, false) => format!("{place} back to normal speed"),
            (FaultAction::Error { fraction }, true) => {
                format!("{place} fails {:.1}% of requests", fraction * 100.0)
            }
            (FaultAction::Error { .. }, false) => format!("{place} stops failing requests"),
            (FaultAction::Partition { .. } | FaultAction::Link { .. }, _) => return,
        };
        let kind = if starts { "fault" } else { "recovery" };
        self.recorder.log(self.now, kind, message);
        // Each fault ends only its own effect: those of one kind on one component combine
        // while they overlap (see `combined_faults`).
        match f.action {
            FaultAction::Crash => self.set_down(comp, f.replica, starts),
            FaultAction::Pause => self.pause(comp, starts),
            FaultAction::Capacity { .. } => {
                let lost = self.combined_faults(comp).lost_workers;
                self.lose_capacity(comp, lost);
            }
            FaultAction::Slow { .. } | FaultAction::Error { .. } => {
                if starts && let Some(count) = f.count {
                    self.fault_left[i] = count;
                }
                let combined = self.combined_faults(comp);
                let c = &mut self.comps[comp];
                c.slow = combined.slow;
                c.fault_errors = combined.error_fraction;
                c.error_counts = combined.error_counts;
            }
            FaultAction::Partition { .. } | FaultAction::Link { .. } => {}
        }
    }

    /// What the faults in progress on a component do together: `slow` factors multiply and
    /// their delays add; `error` fractions combine as independent chances, 1 − Π(1 − p),
    /// while each `error` with a `count` fails requests until its own count is spent;
    /// `capacity` losses add up, to at most every worker.
    fn combined_faults(&self, comp: usize) -> CombinedFaults {
        let mut combined = CombinedFaults {
            slow: None,
            error_fraction: 0.0,
            error_counts: Vec::new(),
            lost_workers: 0,
        };
        for (i, f) in self.faults.iter().enumerate() {
            if !self.fault_active[i] || f.target.is_none_or(|t| t.0 as usize != comp) {
                continue;
            }
            match f.action {
                FaultAction::Slow { factor, delay } => {
                    let (f0, d0) = combined.slow.unwrap_or((1.0, SimTime::ZERO));
                    combined.slow = Some((f0 * factor, d0 + delay));
                }
                FaultAction::Error { fraction } => {
                    if f.count.is_some() {
                        combined.error_counts.push(id32(i));
                    } else {
                        // 1 − (1 − a)(1 − b), written so that one fault's chance is kept
                        // exactly.
                        let p = combined.error_fraction;
                        combined.error_fraction = p + fraction - p * fraction;
                    }
                }
                FaultAction::Capacity { workers } => {
                    combined.lost_workers = combined.lost_workers.saturating_add(workers);
                }
                _ => {}
            }
        }
        combined
    }

    /// Starts a target's failure clock: its first crash comes after a draw from `mtbf`.
    /// Does nothing if the clock already runs.
    pub(super) fn arm_random_failure(&mut self, index: u32) {
        let r = &mut self.random[index as usize];
        if r.armed {
            return;
        }
        let Some(rf) = &self.model.components[r.comp].random_failures else {
            return;
        };
        r.armed = true;
        let first = r.stream.sample(&rf.mtbf);
        self.queue.push(self.now + first, Ev::RandomDown(index));
    }

    /// The failure clock of one replica of an autoscaled service, when it becomes ready.
    pub(super) fn arm_replica_failures(&mut self, comp: usize, replica: u32) {
        if let Some(i) = self
            .random
            .iter()
            .position(|r| r.comp == comp && r.replica == Some(replica))
        {
            self.arm_random_failure(id32(i));
        }
    }

    /// A random crash (from `mtbf`) or its repair (after `mttr`), then the next one drawn.
    pub(super) fn random_failure(&mut self, index: u32, down: bool) {
        let r = &mut self.random[index as usize];
        let (comp, replica) = (r.comp, r.replica);
        let (mtbf, mttr) = match &self.model.components[comp].random_failures {
            Some(rf) => (rf.mtbf.clone(), rf.mttr.clone()),
            None => return,
        };
        if down
            && let (
                Some(i),
                KindRt::Service {
                    replicas,
                    scale: Some(_),
                    ..
                },
            ) = (replica, &self.comps[comp].kind)
            && i >= *replicas
        {
            // Scaled in: a replica that serves nothing does not crash, and its clock starts
            // again if it is ever ready.
            self.random[index as usize].armed = false;
            return;
        }
        let r = &mut self.random[index as usize];
        let next = if down {
            r.stream.sample(&mttr)
        } else {
            r.stream.sample(&mtbf)
        };
        let name = &self.model.components[comp].name;
        let several =
            matches!(self.comps[comp].kind, KindRt::Service { allocated, .. } if allocated > 1);
        let place = match replica {
            Some(i) if several => format!("{name} replica {i}"),
            _ => name.clone(),
        };
        let message = if down {
            format!("random crash of {place}")
        } else {
            format!("{place} repaired")
        };
        self.recorder
            .log(self.now, if down { "fault" } else { "recovery" }, message);
        self.set_down(comp, replica, down);
        let ev = if down {
            Ev::RandomUp(index)
        } else {
            Ev::RandomDown(index)
        };
        self.queue.push(self.now + next, ev);
    }

    /// One crash of a component (or one replica) begins or ends, scripted or random.
    /// Crashes that overlap act as their union: a replica is down while any crash holds
    /// it, and comes back only when the last one ends.
    pub(super) fn set_down(&mut self, comp: usize, replica: Option<u32>, down: bool) {
        let held: Vec<u32> = match self.comps[comp].kind {
            KindRt::Service {
                first_instance,
                allocated,
                ..
            } => match replica {
                Some(r) if r < allocated => vec![first_instance + r],
                // A scenario or sweep left fewer replicas than the fault names: nothing to
                // crash.
                Some(_) => return,
                None => (first_instance..first_instance + allocated).collect(),
            },
            _ => Vec::new(),
        };
        let changes = |crashes: &mut u32| {
            let was_up = *crashes == 0;
            *crashes = if down {
                *crashes + 1
            } else {
                crashes.checked_sub(1).unwrap_or_else(|| {
                    panic!(
                        "a crash ended that never began; reproduce with --seed {}",
                        self.seed
                    )
                })
            };
            was_up != (*crashes == 0)
        };
        let replicas: Vec<u32> = held
            .iter()
            .copied()
            .filter(|&i| changes(&mut self.instances[i as usize].crashes))
            .collect();
        if held.is_empty() {
            if !changes(&mut self.comps[comp].crashes) {
                return;
            }
            self.comps[comp].up = !down;
        } else if replicas.is_empty() {
            return;
        }
        self.apply_crash(comp, &replicas, down);
    }

    /// A component (with no replicas) or some replicas of it go down or come back. Going
    /// down loses what is inside: queued requests and those in service fail with `dropped`,
    /// their callers told at once, as by a connection reset.
    fn apply_crash(&mut self, comp: usize, replicas: &[u32], down: bool) {
        for &i in replicas {
            self.instances[i as usize].up = !down;
        }
        if let Some(d) = self.db_index(comp)
            && !down
        {
            let first = self.dbs[d].first_instance();
            let nodes: Vec<u32> = replicas.iter().map(|i| i - first).collect();
            self.db_nodes_changed(d, &nodes, false);
        }
        if !down {
            // A broker back up, or a consumer replica back: messages can flow again.
            for b in 0..self.brokers.len() {
                self.dispatch(self.brokers[b] as usize);
            }
            return;
        }
        let now = self.now;
        for &i in replicas {
            let queued: Vec<u32> = self.instances[i as usize].queue.drain(..).collect();
            let c = &mut self.comps[comp];
            c.touch(now);
            c.queued -= u32::try_from(queued.len()).unwrap_or(0);
            for task in queued {
                self.instances[i as usize].in_system -= 1;
                self.leave(task);
                self.tasks.items[task as usize].failed = Some(Cause::Dropped);
                self.answer_later(task);
            }
        }
        // Whatever else is inside — working, or waiting for its own calls — is lost too, in
        // the order the tasks were made so that the run does not depend on the list's order.
        let mut victims: Vec<u32> = self.comps[comp]
            .inside
            .iter()
            .copied()
            .filter(|&task| {
                let t = &self.tasks.items[task as usize];
                debug_assert!(t.live && t.comp as usize == comp);
                !t.zombie && (replicas.is_empty() || replicas.contains(&t.instance))
            })
            .collect();
        victims.sort_unstable();
        for task in victims {
            // Answers go through the queues during a crash (see `answer_later`), but check
            // again all the same: nothing must be lost twice.
            let t = &self.tasks.items[task as usize];
            if t.live && t.inside_at != NONE && !t.zombie {
                self.lose(task);
            }
        }
        if let KindRt::Queue(_) = self.comps[comp].kind {
            self.broker_crashed(comp);
        }
        if let Some(d) = self.db_index(comp) {
            // After the tasks inside were lost: writes waiting for acknowledgements are gone.
            let first = self.dbs[d].first_instance();
            let nodes: Vec<u32> = replicas.iter().map(|i| i - first).collect();
            self.db_nodes_changed(d, &nodes, true);
        }
        if let KindRt::Cache(cache) = &mut self.comps[comp].kind {
            // A cache keeps its entries in memory: it restarts empty. Those waiting for a
            // fetch were lost above; a cache-aside caller still reading the store fills the
            // cache when it comes back, as a real client would.
            if let Some((lru, _)) = &mut cache.keys {
                lru.clear();
            }
            cache.inflight.clear();
        }
    }

    /// Sends a task's answer over its link through the event queues, never by a direct
    /// call: during a crash the caller may itself be among the tasks being lost, and must
    /// not run before the crash has been applied to all of them.
    pub(super) fn answer_later(&mut self, task: u32) {
        let link = self.tasks.items[task as usize].link;
        let crossing = self.cross(link, false);
        self.count_answer(task, link, &crossing);
        match crossing {
            Crossing::After(delay) => self.at(delay, Ev::Reply(task)),
            Crossing::Lost | Crossing::Refused => self.lost_in_network(task),
        }
    }

    /// A task lost in a crash: its caller is answered `dropped` now through a stand-in, and
    /// the task itself lingers as a zombie until its pending events have passed.
    pub(super) fn lose(&mut self, task: u32) {
        let now = self.now;
        let t = &self.tasks.items[task as usize];
        let (ci, holds) = (t.comp as usize, t.holds_worker);
        let stand_in = Task {
            failed: Some(Cause::Dropped),
            degraded: false,
            inside_at: NONE,
            working: false,
            holds_worker: false,
            pending: 0,
            record: false,
            zombie: false,
            live: true,
            ..*t
        };
        let call = t.call;
        let stand_in = self.tasks.insert(stand_in);
        if self.traces.is_some() {
            self.trace_note(task, NoteKind::Crashed);
            self.trace_stand_in(task, stand_in);
        }
        if call != NONE {
            let cs = &mut self.calls.items[call as usize];
            if cs.child == task {
                cs.child = stand_in;
            } else if cs.hedge == task {
                cs.hedge = stand_in;
            }
        }
        if holds {
            self.release_worker(task);
        }
        match &mut self.comps[ci].kind {
            KindRt::Service { .. } => {
                let inst = self.tasks.items[task as usize].instance;
                self.instances[inst as usize].in_system -= 1;
            }
            KindRt::Balancer { outstanding, .. } => {
                let slot = self.tasks.items[task as usize].instance;
                outstanding[slot as usize] -= 1;
                let c = &mut self.comps[ci];
                c.touch(now);
                c.busy -= 1;
            }
            KindRt::External { .. } => {
                let c = &mut self.comps[ci];
                c.touch(now);
                c.busy -= 1;
            }
            KindRt::Cache(_) | KindRt::Queue(_) => {}
        }
        self.leave(task);
        let t = &mut self.tasks.items[task as usize];
        t.zombie = true;
        t.parent = NONE;
        t.call = NONE;
        t.root = NONE;
        let idle = !t.working && t.pending == 0;
        if idle {
            self.free_task(task);
        }
        self.answer_later(stand_in);
    }
}
