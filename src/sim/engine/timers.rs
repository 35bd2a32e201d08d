//! Timers of a fixed length (client deadlines, call timeouts, hedging delays, visibility
//! timeouts): each length has a lane, a FIFO of deadlines with only its head in the event
//! heap, so a timer costs O(1) however many are pending. Timers are cancelled lazily: a
//! stale entry is recognised by its generation and skipped.
//!
//! Invariant: the entries of a lane are in the order they are due, since all have the same
//! length and were armed in time order.

use std::collections::VecDeque;

use crate::observe::Cause;
use crate::sim::time::SimTime;

use super::id16;
use super::limits::FIRST_COMPACTION;
use super::message_queues::MessageState;
use super::{Ev, NONE, Simulation};

/// Deadlines of one fixed timeout. They expire in the order they were armed, so a FIFO holds
/// them and only its front sits in the event heap: O(1) per timer however many are pending.
/// A request that ends first leaves its entry behind; the generation check skips it then
/// (lazy cancellation).
pub(super) struct Lane {
    pub(super) timeout: SimTime,
    pub(super) entries: VecDeque<LaneEntry>,
    /// The length at which the lane is next compacted (see `compact_lane`).
    pub(super) compact_at: usize,
}

#[derive(Clone, Copy)]
pub(super) struct LaneEntry {
    pub(super) due: SimTime,
    pub(super) seq: u64,
    /// A root (a client deadline) or a call state (its timeout, or its hedge).
    pub(super) id: u32,
    pub(super) generation: u32,
    pub(super) kind: TimerKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TimerKind {
    Deadline,
    CallTimeout,
    Hedge,
    /// A delivered message's visibility timeout.
    Visibility,
}

pub(super) fn lane_for(lanes: &mut Vec<Lane>, timeout: SimTime) -> u16 {
    let i = lanes
        .iter()
        .position(|l| l.timeout == timeout)
        .unwrap_or_else(|| {
            lanes.push(Lane {
                timeout,
                entries: VecDeque::new(),
                compact_at: FIRST_COMPACTION,
            });
            lanes.len() - 1
        });
    id16(i)
}

impl Simulation {
    /// Arms a timer in a lane: for a root (its client deadline) or a call state (its
    /// timeout per attempt).
    pub(super) fn arm_timer(&mut self, lane: u16, id: u32, generation: u32, kind: TimerKind) {
        let seq = self.queue.take_seq();
        let l = &mut self.lanes[lane as usize];
        let due = self.now + l.timeout;
        let was_empty = l.entries.is_empty();
        l.entries.push_back(LaneEntry {
            due,
            seq,
            id,
            generation,
            kind,
        });
        if was_empty {
            self.queue.push_with_seq(due, seq, Ev::Timers(lane));
        }
        if l.entries.len() > l.compact_at {
            // Requests that end long before their deadline leave their timers behind; at a
            // high rate with a long timeout they would outnumber the live ones without end.
            self.compact_lane(lane);
        }
    }

    /// Whether a timer still guards something: its root or its call's attempt is current.
    pub(super) fn timer_is_current(&self, e: &LaneEntry) -> bool {
        match e.kind {
            TimerKind::Visibility => {
                let m = &self.messages.items[e.id as usize];
                m.generation == e.generation && m.state == MessageState::Delivered
            }
            TimerKind::Deadline => {
                let r = &self.roots.items[e.id as usize];
                r.live && r.generation == e.generation
            }
            TimerKind::CallTimeout => {
                let c = &self.calls.items[e.id as usize];
                c.generation == e.generation && (c.child != NONE || c.hedge != NONE)
            }
            TimerKind::Hedge => {
                let c = &self.calls.items[e.id as usize];
                c.generation == e.generation && c.child != NONE && c.hedge == NONE
            }
        }
    }

    pub(super) fn timers(&mut self, lane: u16) {
        let Some(due) = self.lanes[lane as usize].entries.pop_front() else {
            return;
        };
        // Timers of requests and attempts that have already ended are dropped now rather
        // than each at its own time: most end long before their deadline, and this keeps a
        // lane's cost to one heap event per live timer instead of one per request.
        while let Some(front) = self.lanes[lane as usize].entries.front().copied() {
            if self.timer_is_current(&front) {
                break;
            }
            self.lanes[lane as usize].entries.pop_front();
        }
        if let Some(front) = self.lanes[lane as usize].entries.front() {
            self.queue
                .push_with_seq(front.due, front.seq, Ev::Timers(lane));
        }
        if !self.timer_is_current(&due) {
            return;
        }
        if let Some(owner) = self.timer_owner(&due)
            && self.comps[owner].pauses > 0
        {
            // A paused component's own clock stops with it: its timer goes off when it
            // resumes.
            self.comps[owner].parked_timers.push(due);
            return;
        }
        self.timer_due(due);
    }

    /// The component whose timer this is: the caller of a call, the broker of a delivered
    /// message; a client's deadline belongs to no component.
    fn timer_owner(&self, e: &LaneEntry) -> Option<usize> {
        match e.kind {
            TimerKind::Deadline => None,
            TimerKind::CallTimeout | TimerKind::Hedge => {
                let parent = self.calls.items[e.id as usize].parent;
                Some(self.tasks.items[parent as usize].comp as usize)
            }
            TimerKind::Visibility => Some(self.messages.items[e.id as usize].queue as usize),
        }
    }

    /// A timer that still guards something goes off.
    pub(super) fn timer_due(&mut self, due: LaneEntry) {
        match due.kind {
            // The caller stops waiting for this attempt; the callee's work goes on, wasted.
            TimerKind::CallTimeout => {
                if self.traces.is_some() {
                    self.trace_call_timed_out(due.id);
                }
                self.attempt_ended(due.id, Some(Cause::Timeout), true, false);
            }
            // The work already under way goes on: only the client has given up.
            TimerKind::Deadline => self.end_root(due.id, Err(Cause::Timeout)),
            TimerKind::Hedge => self.send_hedge(due.id),
            TimerKind::Visibility => self.visibility_expired(due.id),
        }
    }
}
