//! Tasks and roots: the slabs that hold them, creating and freeing a task, the end of a
//! task's work at its component, its answer, and the answer's arrival at its caller (a call
//! state, a parent task, a message delivery or the root itself).
//!
//! Invariants: every root ends exactly once (`end_root` asserts it is still live); a slot
//! is freed once and reused only after, and generation counters make events and timers of
//! a slot's previous owner recognisable.

use crate::observe::trace::SpanEnd;
use crate::observe::{Answer, Cause};
use crate::sim::time::SimTime;

use super::components::KindRt;
use super::id32;
use super::limits::Limit;
use super::links::Crossing;
use super::{Ev, MESSAGE, NONE, Simulation};

#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts about one task, read on the hot path; flags in a bitset would only hide them"
)]
pub(super) struct Task {
    /// Parent task, or `NONE` when the parent is the root itself.
    pub(super) parent: u32,
    pub(super) root: u32,
    pub(super) root_gen: u32,
    pub(super) comp: u32,
    /// The service replica serving it; for a balancer, the backend slot it chose.
    pub(super) instance: u32,
    pub(super) handler: u32,
    /// The link the request came over; the answer goes back over it.
    pub(super) link: u32,
    pub(super) arrived: SimTime,
    pub(super) request_type: u16,
    pub(super) step: u16,
    pub(super) pending: u16,
    pub(super) failed: Option<Cause>,
    /// The call (with a timeout or retries) this task is an attempt of, or `NONE`.
    pub(super) call: u32,
    /// Some part of its answer came from a fallback.
    pub(super) degraded: bool,
    pub(super) holds_worker: bool,
    pub(super) record: bool,
    /// While it is accepted by its component and not finished (what a crash there loses),
    /// its place in the component's [`CompRt::inside`] list; otherwise `NONE`.
    pub(super) inside_at: u32,
    /// A `WorkDone` event for it is pending.
    pub(super) working: bool,
    /// Its replica crashed with it inside: its caller was answered already, and the slot is
    /// freed once its pending events have passed.
    pub(super) zombie: bool,
    /// The paused time of its component when its work was timed: a pause since then delays
    /// the end of its work by as much.
    pub(super) pause_mark: SimTime,
    pub(super) live: bool,
}

pub(super) struct Root {
    pub(super) generation: u32,
    pub(super) live: bool,
    pub(super) counted: bool,
    pub(super) workload: u16,
    pub(super) request_type: u16,
    pub(super) start: SimTime,
}

/// A vector with a free list, so task and root slots are reused and memory stays flat.
pub(super) struct Slab<T> {
    pub(super) items: Vec<T>,
    pub(super) free: Vec<u32>,
}

impl<T> Slab<T> {
    pub(super) fn new() -> Self {
        Slab {
            items: Vec::with_capacity(1024),
            free: Vec::new(),
        }
    }

    #[inline]
    pub(super) fn insert(&mut self, item: T) -> u32 {
        if let Some(i) = self.free.pop() {
            self.items[i as usize] = item;
            i
        } else {
            self.items.push(item);
            id32(self.items.len() - 1)
        }
    }

    #[inline]
    pub(super) fn remove(&mut self, i: u32) {
        self.free.push(i);
    }

    pub(super) fn live(&self) -> usize {
        self.items.len() - self.free.len()
    }
}

impl Slab<Root> {
    pub(super) fn insert_root(&mut self, root: Root) -> u32 {
        if let Some(i) = self.free.pop() {
            let slot = &mut self.items[i as usize];
            let generation = slot.generation;
            *slot = Root { generation, ..root };
            i
        } else {
            self.items.push(root);
            id32(self.items.len() - 1)
        }
    }
}

impl Simulation {
    pub(super) fn end_root(&mut self, root: u32, outcome: Result<Answer, Cause>) {
        let r = &mut self.roots.items[root as usize];
        debug_assert!(
            r.live,
            "a request ended twice; reproduce with --seed {}",
            self.seed
        );
        r.live = false;
        r.generation = r.generation.wrapping_add(1);
        if self.traces.is_some() {
            self.trace_root_ended(root, outcome);
        }
        let r = &self.roots.items[root as usize];
        let (request_type, counted, start, w) = (r.request_type, r.counted, r.start, r.workload);
        self.roots.remove(root);
        self.recorder
            .request_ended(request_type as usize, counted, self.now - start, outcome);
        if self.workloads[w as usize].think.is_some() {
            self.schedule_user(w);
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "a task's identity; a struct would only rename them"
    )]
    pub(super) fn new_task(
        &mut self,
        parent: u32,
        root: u32,
        root_gen: u32,
        comp: u32,
        instance: u32,
        request_type: u16,
        link: u32,
    ) -> u32 {
        let handler = self.handler_of[comp as usize * self.n_types + request_type as usize];
        let task = self.tasks.insert(Task {
            parent,
            root,
            root_gen,
            comp,
            instance,
            handler,
            link,
            arrived: SimTime::ZERO,
            request_type,
            step: 0,
            pending: 0,
            failed: None,
            call: NONE,
            degraded: false,
            holds_worker: false,
            record: false,
            inside_at: NONE,
            working: false,
            zombie: false,
            pause_mark: SimTime::ZERO,
            live: true,
        });
        self.check_limit(Limit::Calls);
        if self.traces.is_some() {
            self.trace_task(task);
        }
        task
    }

    /// The task is accepted by its component: a crash there now loses it. Each component
    /// keeps its own list so that a crash finds its victims without scanning every task.
    #[inline]
    pub(super) fn enter(&mut self, task: u32) {
        let t = &mut self.tasks.items[task as usize];
        debug_assert!(
            t.inside_at == NONE,
            "task {task} entered its component twice"
        );
        let inside = &mut self.comps[t.comp as usize].inside;
        t.inside_at = id32(inside.len());
        inside.push(task);
    }

    /// The task is no longer the component's to lose (done, shed, or lost already).
    #[inline]
    pub(super) fn leave(&mut self, task: u32) {
        let t = &mut self.tasks.items[task as usize];
        let at = std::mem::replace(&mut t.inside_at, NONE);
        if at == NONE {
            return;
        }
        let inside = &mut self.comps[t.comp as usize].inside;
        debug_assert_eq!(inside[at as usize], task, "inside list out of step");
        inside.swap_remove(at as usize);
        if let Some(&moved) = inside.get(at as usize) {
            self.tasks.items[moved as usize].inside_at = at;
        }
    }

    #[inline]
    pub(super) fn free_task(&mut self, task: u32) {
        debug_assert!(
            self.tasks.items[task as usize].inside_at == NONE,
            "task {task} freed while its component holds it"
        );
        self.tasks.items[task as usize].live = false;
        self.tasks.remove(task);
    }

    /// Fails a task that its component could not take, and answers its caller at once.
    pub(super) fn turn_away(&mut self, task: u32, cause: Cause) {
        self.tasks.items[task as usize].failed = Some(cause);
        self.answer(task);
    }

    /// The component is done with the task: free what it holds and answer the parent.
    pub(super) fn finish_task(&mut self, task: u32) {
        self.leave(task);
        let t = &self.tasks.items[task as usize];
        let (ci, inst, holds, record, arrived) = (
            t.comp as usize,
            t.instance,
            t.holds_worker,
            t.record,
            t.arrived,
        );
        if holds {
            self.release_worker(task);
        }
        if let KindRt::Service { .. } = self.comps[ci].kind {
            self.instances[inst as usize].in_system -= 1;
        }
        self.recorder
            .task_finished(ci, record.then(|| self.now - arrived));
        self.answer(task);
    }

    /// Sends the task's answer back over its link.
    #[inline]
    pub(super) fn answer(&mut self, task: u32) {
        let link = self.tasks.items[task as usize].link;
        let crossing = self.cross(link, false);
        self.count_answer(task, link, &crossing);
        match crossing {
            Crossing::After(delay) => self.now_or_later(delay, Ev::Reply(task)),
            Crossing::Lost | Crossing::Refused => self.lost_in_network(task),
        }
    }

    pub(super) fn reply_arrived(&mut self, child: u32) {
        let c = &self.tasks.items[child as usize];
        // An abandoned attempt's caller may be gone, its slot reused: only a reply still
        // awaited can be held back by its caller's pause.
        let awaited = c.call == NONE || {
            let cs = &self.calls.items[c.call as usize];
            cs.child == child || cs.hedge == child
        };
        if c.parent != NONE && awaited {
            let caller = self.tasks.items[c.parent as usize].comp as usize;
            if self.comps[caller].pauses > 0 {
                // The caller is paused: the answer waits in its inbox until it resumes.
                self.comps[caller]
                    .parked
                    .push((Ev::Reply(child), SimTime::ZERO));
                return;
            }
        }
        let c = &self.tasks.items[child as usize];
        let (parent, failed, root, root_gen, call, comp, degraded) = (
            c.parent, c.failed, c.root, c.root_gen, c.call, c.comp, c.degraded,
        );
        if self.traces.is_some() {
            self.trace_instant(child, |s| &mut s.replied);
            if !awaited {
                self.trace_end(child, SpanEnd::Abandoned);
            }
        }
        self.free_task(child);
        if call != NONE {
            let cs = &mut self.calls.items[call as usize];
            let (is_primary, is_hedge) = (cs.child == child, cs.hedge == child);
            if !is_primary && !is_hedge {
                // Its caller stopped waiting for this attempt (a timeout, or the other copy
                // of a hedged call won): the work was for nothing.
                self.recorder.abandoned(comp as usize);
                return;
            }
            let other = if is_primary { cs.hedge } else { cs.child };
            if failed.is_some() && other != NONE {
                // One copy failed; the other may still succeed.
                if is_primary {
                    cs.child = NONE;
                } else {
                    cs.hedge = NONE;
                }
                return;
            }
            self.attempt_ended(call, failed, true, degraded);
            return;
        }
        if parent == NONE {
            if root == MESSAGE {
                self.message_answered(root_gen, failed);
                return;
            }
            let r = &self.roots.items[root as usize];
            // A root that timed out has moved on; its late answer is wasted work.
            if r.live && r.generation == root_gen {
                let answer = if degraded {
                    Answer::Degraded
                } else {
                    Answer::Full
                };
                self.end_root(root, failed.map_or(Ok(answer), Err));
            } else {
                if self.traces.is_some() {
                    self.trace_end(child, SpanEnd::Abandoned);
                }
                self.recorder.abandoned(comp as usize);
            }
            return;
        }
        self.child_done(parent, failed, degraded);
    }
}
