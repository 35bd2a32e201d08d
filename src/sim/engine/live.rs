//! What a live view reads: the state of every component and link now, cumulative counters
//! to measure recent rates from, and a sample of the messages crossing links.
//!
//! Reading it never changes the run: the tracer keeps every n-th message by count, without
//! touching any random stream.

use std::collections::VecDeque;

use crate::observe::Integrals;
use crate::sim::time::SimTime;

use super::Simulation;
use super::components::KindRt;

/// Keeps every `every`-th message of each link and direction, without touching any random
/// stream, so that tracing never changes what the simulation does.
pub(super) struct Tracer {
    pub(super) every: u64,
    pub(super) capacity: usize,
    pub(super) messages: VecDeque<TracedMessage>,
}

impl Tracer {
    pub(super) fn keep(&mut self, m: TracedMessage) {
        if self.messages.len() == self.capacity {
            self.messages.pop_front();
        }
        self.messages.push_back(m);
    }
}

/// A sampled message crossing a link, for drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracedMessage {
    pub link: u32,
    pub kind: MessageKind,
    pub sent: SimTime,
    /// When it arrives; `None` when the network lost it.
    pub arrives: Option<SimTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Request,
    /// A request that is a retry of an earlier attempt.
    Retry,
    Answer,
    /// An answer carrying a failure.
    Failure,
}

/// What is happening right now, for a live view: the state of each component and link.
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    pub now: SimTime,
    pub events: u64,
    pub components: Vec<LiveComponent>,
    pub links: Vec<LiveLink>,
    /// The latest sampled messages, oldest first.
    pub messages: Vec<TracedMessage>,
    /// Faults on now (scripted or injected), by index into [`Simulation::faults`].
    pub active_faults: Vec<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct LiveComponent {
    /// Replicas in total, and those up (not crashed) among the ready ones.
    pub replicas: u32,
    pub replicas_up: u32,
    /// Whether each replica (by index) is up; one entry for balancers and externals.
    pub replica_up: Vec<bool>,
    pub busy: u32,
    pub capacity: u32,
    pub queued: u32,
    pub integrals: Integrals,
    pub slow: bool,
    pub paused: bool,
    pub failing: bool,
    /// Workers lost to a capacity fault, per replica.
    pub lost_workers: u32,
    /// Databases: each node's replication lag in seconds (0 for a primary); empty otherwise.
    pub replica_lag_s: Vec<f64>,
    /// Databases: which node takes writes (the primary); `None` for the others.
    pub primary: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct LiveLink {
    pub from: String,
    pub to: String,
    pub sent: u64,
    pub answers: u64,
    pub failed: u64,
    /// Cut by a partition or black hole, or suffering another network fault.
    pub cut: bool,
    pub troubled: bool,
}

impl Simulation {
    /// Keeps every `every`-th message of each link and direction (at most `capacity` of
    /// them) for [`Simulation::live`]. What the simulation does is unchanged.
    pub fn trace_messages(&mut self, every: u64, capacity: usize) {
        self.trace = Some(Box::new(Tracer {
            every: every.max(1),
            capacity: capacity.max(1),
            messages: VecDeque::with_capacity(capacity.max(1)),
        }));
    }

    /// The state of every component and link now, and the latest sampled messages.
    #[must_use]
    pub fn live(&self) -> LiveState {
        let now = self.now;
        let components = self
            .comps
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                let replica_up: Vec<bool> = match &c.kind {
                    KindRt::Service {
                        first_instance,
                        replicas,
                        ..
                    } => (0..*replicas)
                        .map(|r| self.instances[(first_instance + r) as usize].up)
                        .collect(),
                    _ => vec![c.up],
                };
                LiveComponent {
                    replicas: c.ready_replicas(),
                    replicas_up: u32::try_from(replica_up.iter().filter(|u| **u).count())
                        .unwrap_or(0),
                    replica_up,
                    busy: c.busy,
                    capacity: c.capacity,
                    queued: c.queued,
                    integrals: c.integrals(now),
                    slow: c.slow.is_some(),
                    paused: c.pauses > 0,
                    failing: c.fault_errors > 0.0,
                    lost_workers: c.lost_workers,
                    replica_lag_s: self.db_live_lags(ci),
                    primary: self.db_primary(ci),
                }
            })
            .collect();
        let links = self
            .links
            .iter()
            .map(|l| LiveLink {
                from: l.from.clone(),
                to: l.to.clone(),
                sent: l.sent,
                answers: l.answers,
                failed: l.failed,
                cut: l.trouble.cut,
                troubled: l.trouble.any(),
            })
            .collect();
        let messages = self
            .trace
            .as_ref()
            .map_or_else(Vec::new, |t| t.messages.iter().copied().collect());
        LiveState {
            now,
            events: self.events,
            components,
            links,
            messages,
            active_faults: self
                .fault_active
                .iter()
                .enumerate()
                .filter_map(|(i, on)| on.then_some(i))
                .collect(),
        }
    }

    /// The cumulative counters a live view measures recent figures from
    /// ([`crate::observe::recent::RecentWindow`]).
    #[must_use]
    pub fn counters(&self) -> crate::observe::recent::Counters {
        let now = self.now;
        let integrals: Vec<Integrals> = self.comps.iter().map(|c| c.integrals(now)).collect();
        crate::observe::recent::Counters {
            links: self
                .links
                .iter()
                .map(|l| [l.sent, l.answers, l.failed])
                .collect(),
            busy_ns: integrals.iter().map(|i| i.busy_ns).collect(),
            capacity_ns: integrals.iter().map(|i| i.capacity_ns).collect(),
        }
    }
}
