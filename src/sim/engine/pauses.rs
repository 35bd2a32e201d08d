//! Pauses (stop-the-world: a long garbage collection, a frozen VM): a paused component takes
//! requests into its queue but starts nothing, its work in progress stands still, the
//! answers it is waiting for wait in its inbox, and its own timers (call timeouts, hedges,
//! retries, health checks, visibility timeouts) go off only once it resumes. Overlapping
//! pauses act as their union: it resumes when the last one ends.
//!
//! Work is delayed exactly by the paused time it overlapped. A task remembers the
//! component's paused time when its work was timed (`pause_mark`); when its work is due, it
//! owes the paused time added since. Still paused, it is parked with what it owes; resumed,
//! it is timed again for what it owes. This costs nothing to components that never pause.
//!
//! Invariant: `pauses` counts the pause faults in progress, and `parked` holds events only
//! while it is above zero.

use crate::sim::time::SimTime;

use super::components::KindRt;
use super::id32;
use super::{Ev, Simulation};

impl Simulation {
    /// One pause of a component begins or ends.
    pub(super) fn pause(&mut self, comp: usize, starts: bool) {
        let now = self.now;
        let c = &mut self.comps[comp];
        if starts {
            c.pauses += 1;
            if c.pauses == 1 {
                c.paused_since = now;
            }
            return;
        }
        assert!(
            c.pauses > 0,
            "a pause ended that never began; reproduce with --seed {}",
            self.seed
        );
        c.pauses -= 1;
        if c.pauses > 0 {
            return;
        }
        c.paused_before += now - c.paused_since;
        self.resume(comp);
    }

    /// The last pause of a component has ended: queued requests start on free workers, and
    /// what was held goes on, in the order it was held.
    fn resume(&mut self, comp: usize) {
        let now = self.now;
        if let Some(d) = self.db_index(comp) {
            // Acknowledgements that came in during the pause answer their writes now.
            self.db_release(d);
        }
        let c = &self.comps[comp];
        if let KindRt::Service {
            first_instance,
            allocated,
            workers,
            queue_timeout,
            lifo,
            ..
        } = c.kind
        {
            let effective = workers.saturating_sub(c.lost_workers);
            self.comps[comp].touch(now);
            for inst in first_instance..first_instance + allocated {
                self.start_queued(comp, inst as usize, queue_timeout, lifo, effective);
            }
        }
        let mark = self.comps[comp].paused_time(now);
        for (ev, owed) in std::mem::take(&mut self.comps[comp].parked) {
            if let Ev::WorkDone(task) = ev {
                self.tasks.items[task as usize].pause_mark = mark;
            }
            self.queue.push(now + owed, ev);
        }
        if !self.comps[comp].parked_timers.is_empty() {
            // After the answers released above: an answer that came in during the pause is
            // seen before the timeout that would have abandoned it.
            let id = id32(comp);
            self.queue.push(now, Ev::ResumeTimers(id));
        }
    }

    /// The timers a pause held go off, those still guarding something, in the order they
    /// came due; if the component paused again meanwhile they wait for that pause too.
    pub(super) fn resume_timers(&mut self, comp: usize) {
        if self.comps[comp].pauses > 0 {
            return;
        }
        for due in std::mem::take(&mut self.comps[comp].parked_timers) {
            if self.timer_is_current(&due) {
                self.timer_due(due);
            }
        }
    }

    /// Whether a pause holds back the end of a task's work that is due now: while paused it
    /// is parked, and after a pause it overlapped it is timed again for the paused time.
    #[inline]
    pub(super) fn work_held_by_pause(&mut self, task: u32) -> bool {
        let t = &self.tasks.items[task as usize];
        let c = &self.comps[t.comp as usize];
        if c.pauses == 0 && c.paused_before == t.pause_mark {
            return false;
        }
        self.hold_work(task)
    }

    #[inline(never)]
    fn hold_work(&mut self, task: u32) -> bool {
        let now = self.now;
        let t = &mut self.tasks.items[task as usize];
        let c = &mut self.comps[t.comp as usize];
        let paused = c.paused_time(now);
        let owed = paused - t.pause_mark;
        if c.pauses > 0 {
            c.parked.push((Ev::WorkDone(task), owed));
            return true;
        }
        if owed == SimTime::ZERO {
            return false;
        }
        t.pause_mark = paused;
        self.at(owed, Ev::WorkDone(task));
        true
    }

    /// A call's backoff is over; a paused caller sends the next attempt when it resumes.
    pub(super) fn retry_due(&mut self, id: u32) {
        let parent = self.calls.items[id as usize].parent;
        let caller = self.tasks.items[parent as usize].comp as usize;
        if self.comps[caller].pauses > 0 {
            self.comps[caller]
                .parked
                .push((Ev::Retry(id), SimTime::ZERO));
            return;
        }
        self.start_attempt(id);
    }
}
