//! Limits on what a run holds at once (`limits:` in the model): users' requests in flight,
//! calls in flight, messages in queues. Crossing one stops the run with an error that says
//! when, where work piles up, what the model would need, and what to change, so that a
//! model with a slipped digit ends with a message rather than with the machine's memory.
//!
//! The checks are one comparison where a root, a task or a message is created. Timer lanes
//! are compacted as they grow, so that timers of requests long finished never outnumber the
//! live ones by more than a constant factor.
//!
//! Invariant: once `stopped` is set, no further event is processed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::Arrivals;

use super::Simulation;
use super::id32;
use super::tasks::{Root, Task};
use super::timers::LaneEntry;

/// What a run holds at one instant (see [`Simulation::held`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    pub requests: u64,
    pub calls: u64,
    pub messages: u64,
    /// Timers armed, those of requests already finished included until they are dropped.
    pub timers: u64,
    /// Events waiting to be processed.
    pub events: u64,
}

/// Which limit a run crossed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Limit {
    Requests,
    Calls,
    Messages,
}

/// A lane is compacted once it holds this many timers, and then once it has doubled.
pub(super) const FIRST_COMPACTION: usize = 1 << 16;

impl Simulation {
    /// Whether creating one more root, task or message crossed a limit; if so the run
    /// stops after the current event.
    #[inline]
    pub(super) fn check_limit(&mut self, limit: Limit) {
        let (live, max) = match limit {
            Limit::Requests => (self.roots.live(), self.model.limits.requests),
            Limit::Calls => (self.tasks.live(), self.model.limits.calls),
            Limit::Messages => (self.messages.live(), self.model.limits.messages),
        };
        if live as u64 > max && self.stopped.is_none() {
            self.stop_at_limit(limit, live as u64, max);
        }
    }

    #[cold]
    #[inline(never)]
    fn stop_at_limit(&mut self, limit: Limit, live: u64, max: u64) {
        let (what, key) = match limit {
            Limit::Requests => ("requests in flight", "requests"),
            Limit::Calls => ("calls in flight", "calls"),
            Limit::Messages => ("messages in queues", "messages"),
        };
        let mut text = format!(
            "{live} {what} at {}, above `limits.{key}` ({max}).",
            self.now
        );
        let piles = match limit {
            Limit::Messages => self.fullest_queue(),
            Limit::Requests | Limit::Calls => self.busiest_component(),
        };
        if let Some((name, n)) = piles {
            let held = match limit {
                Limit::Messages => "messages",
                Limit::Requests | Limit::Calls => {
                    "calls, queued, in progress or on their way to it"
                }
            };
            let _ = write!(text, " Work piles up at `{name}`: it holds {n} {held}.");
        }
        if let Some(need) = self.heaviest_workload() {
            text.push(' ');
            text.push_str(&need);
        }
        let bytes = match limit {
            Limit::Requests => {
                std::mem::size_of::<Root>()
                    + std::mem::size_of::<Task>()
                    + std::mem::size_of::<LaneEntry>()
            }
            Limit::Calls => std::mem::size_of::<Task>() + std::mem::size_of::<LaneEntry>(),
            Limit::Messages => 96,
        };
        let _ = write!(
            text,
            " Lower the load, add capacity where work piles up, or shorten the timeouts; or \
             raise `limits.{key}` if this machine has the memory (about {bytes} bytes each, \
             and more for what each holds)."
        );
        self.stopped = Some(text);
    }

    /// The component holding the most live tasks, and how many.
    fn busiest_component(&self) -> Option<(String, u64)> {
        let mut per = vec![0u64; self.comps.len()];
        let free: std::collections::BTreeSet<u32> = self.tasks.free.iter().copied().collect();
        for (i, t) in self.tasks.items.iter().enumerate() {
            let id = id32(i);
            if t.live && !t.zombie && !free.contains(&id) {
                per[t.comp as usize] += 1;
            }
        }
        // The first of the busiest, in name order: ties never depend on anything but the
        // model.
        let (ci, &n) = per.iter().enumerate().rev().max_by_key(|&(_, n)| *n)?;
        (n > 0).then(|| (self.model.components[ci].name.clone(), n))
    }

    /// The queue holding the most messages, and how many.
    fn fullest_queue(&self) -> Option<(String, u64)> {
        let mut per: BTreeMap<u32, u64> = BTreeMap::new();
        let free: std::collections::BTreeSet<u32> = self.messages.free.iter().copied().collect();
        for (i, m) in self.messages.items.iter().enumerate() {
            if !free.contains(&id32(i)) {
                *per.entry(m.queue).or_default() += 1;
            }
        }
        let (&ci, &n) = per.iter().rev().max_by_key(|&(_, n)| *n)?;
        Some((self.model.components[ci as usize].name.clone(), n))
    }

    /// What the workload with the most requests in flight asks for: its rate now and how
    /// long each request may last, and so how many it would keep in flight.
    fn heaviest_workload(&self) -> Option<String> {
        let mut per = vec![0u64; self.workloads.len()];
        let free: std::collections::BTreeSet<u32> = self.roots.free.iter().copied().collect();
        for (i, r) in self.roots.items.iter().enumerate() {
            if r.live && !free.contains(&id32(i)) {
                per[r.workload as usize] += 1;
            }
        }
        let (wi, &n) = per.iter().enumerate().rev().max_by_key(|&(_, n)| *n)?;
        if n == 0 {
            return None;
        }
        let w = &self.model.workloads[wi];
        let Arrivals::Open { steps } = &w.arrivals else {
            return Some(format!(
                "Workload `{}` holds {n} of them in flight.",
                w.name
            ));
        };
        let rate = steps
            .iter()
            .rev()
            .find(|(at, _)| *at <= self.now)
            .map_or(0.0, |(_, r)| *r);
        Some(match w.timeout {
            Some(timeout) => format!(
                "Workload `{}` sends {rate}/s and waits up to {timeout} for each: about {:.0} \
                 would be in flight.",
                w.name,
                rate * timeout.as_secs_f64()
            ),
            None => format!(
                "Workload `{}` sends {rate}/s with no timeout: what is not answered stays in \
                 flight for the rest of the run.",
                w.name
            ),
        })
    }

    /// What the run holds now: the figures its limits bound, and the timers and events
    /// pending that those bound in turn.
    #[must_use]
    pub fn held(&self) -> Held {
        Held {
            requests: self.roots.live() as u64,
            calls: self.tasks.live() as u64,
            messages: self.messages.live() as u64,
            timers: self.lanes.iter().map(|l| l.entries.len() as u64).sum(),
            events: (self.queue.len() + self.immediate.len()) as u64,
        }
    }

    /// Why the run stopped before its end, if it crossed a limit.
    #[must_use]
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// Drops the timers of a lane that no longer guard anything, keeping the head (whose
    /// event is in the heap) and the order of the rest. Called as the lane doubles, so the
    /// cost per timer is constant.
    #[inline(never)]
    pub(super) fn compact_lane(&mut self, lane: u16) {
        let entries = std::mem::take(&mut self.lanes[lane as usize].entries);
        let before = entries.len();
        let kept: std::collections::VecDeque<LaneEntry> = entries
            .into_iter()
            .enumerate()
            .filter(|(i, e)| *i == 0 || self.timer_is_current(e))
            .map(|(_, e)| e)
            .collect();
        assert!(
            kept.len() <= before,
            "a compaction added timers; reproduce with --seed {}",
            self.seed
        );
        let l = &mut self.lanes[lane as usize];
        l.compact_at = (2 * kept.len()).max(FIRST_COMPACTION);
        l.entries = kept;
    }
}
