//! Message queues (brokers): producers' messages wait in a backlog and are delivered to
//! consumer replicas within their prefetch, acknowledged or delivered again after the
//! visibility timeout, dead-lettered after `max_deliveries`, and lost in a crash unless the
//! queue is durable. Ordering `per_key` serialises each partition; `causal` holds a message
//! back until the one it depends on has been processed.
//!
//! A delivery is a task whose `root` is `MESSAGE` and whose `root_gen` is the delivery's id.
//! Invariant: every message enqueued ends acknowledged, dead-lettered, lost, waiting or
//! unacknowledged (checked at the end of the run).

use std::collections::{BTreeMap, VecDeque};

use crate::model::{Dist, MessageOrdering};
use crate::observe::{Cause, QueueState};
use crate::sim::time::SimTime;

use super::components::KindRt;
use super::id32;
use super::limits::Limit;
use super::tasks::Slab;
use super::timers::TimerKind;
use super::{MESSAGE, NONE, Simulation};

/// A message broker's state. Messages and deliveries live in the simulation's slabs.
pub(super) struct BrokerRt {
    pub(super) latency: Dist,
    pub(super) durable: bool,
    pub(super) visibility_lane: u16,
    pub(super) max_deliveries: u32,
    pub(super) capacity: u32,
    /// One per consumer replica, in the order of `consumers`, then of replicas.
    pub(super) slots: Vec<ConsumerSlot>,
    pub(super) next_slot: usize,
    /// Messages waiting to be delivered, oldest first (a message delivered again joins the
    /// back).
    pub(super) backlog: VecDeque<u32>,
    /// Messages delivered and neither acknowledged nor waiting again.
    pub(super) unacked: u32,
    pub(super) ordering: MessageOrdering,
    /// Per partition (`ordering: per_key`): its messages delivered and neither acknowledged
    /// nor waiting again. A delivery lost on its way, or whose consumer crashed, holds its
    /// partition until its visibility timeout, as a FIFO queue's message group is held.
    pub(super) partition_busy: Vec<u32>,
    /// Per request type: the type its messages depend on, or `u16::MAX`.
    pub(super) depends_on: Vec<u16>,
    /// Per request type: some type depends on it, so its latest message per key is kept.
    pub(super) is_dependency: Vec<bool>,
    /// (key, type) → the latest message of that type sent with that key: (id, serial).
    pub(super) latest: BTreeMap<(u64, u16), (u32, u64)>,
}

impl BrokerRt {
    /// A delivered message was acknowledged or waits again: it no longer holds its place
    /// among the unacknowledged, nor its partition.
    fn no_longer_delivered(&mut self, partition: u32) {
        self.unacked -= 1;
        if let MessageOrdering::PerKey { .. } = self.ordering {
            self.partition_busy[partition as usize] -= 1;
        }
    }
}

/// How far past the head of the backlog an ordered queue looks for a message it may
/// deliver; beyond it, the head blocks the rest (head-of-line blocking), which bounds the
/// cost of a dispatch.
pub(super) const ORDERED_LOOKAHEAD: usize = 256;

pub(super) struct ConsumerSlot {
    pub(super) comp: u32,
    /// The replica, counted from 0, and its global instance.
    pub(super) replica: u32,
    pub(super) instance: u32,
    pub(super) link: u32,
    pub(super) prefetch: u32,
    /// Deliveries to it not answered yet.
    pub(super) outstanding: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum MessageState {
    Waiting,
    Delivered,
    Acked,
    DeadLettered,
    Lost,
}

pub(super) struct Message {
    pub(super) queue: u32,
    pub(super) request_type: u16,
    pub(super) enqueued: SimTime,
    pub(super) deliveries: u32,
    /// Bumped at every delivery and whenever a delivery stops being the current one, so that
    /// stale visibility timers and acknowledgements are recognised.
    pub(super) generation: u32,
    pub(super) state: MessageState,
    /// Deliveries whose consumer has not answered yet: the record is kept until then.
    pub(super) outstanding: u32,
    /// Times a consumer finished it successfully.
    pub(super) processed: u32,
    /// The request that sent it (a consumer's message passes its own key on).
    pub(super) key: u64,
    /// Unique over the run, so that a dependency on a freed and reused record is seen.
    pub(super) serial: u64,
    pub(super) partition: u32,
    /// The message it depends on, as (id, serial).
    pub(super) dep: Option<(u32, u64)>,
}

#[derive(Clone, Copy)]
pub(super) struct Delivery {
    pub(super) message: u32,
    pub(super) slot: u32,
    pub(super) generation: u32,
}

/// Puts a message back to be delivered again: at the head for a per-key queue, so that it
/// keeps its place before the later messages of its partition; at the back otherwise.
pub(super) fn requeue(b: &mut BrokerRt, m: u32) {
    if let MessageOrdering::PerKey { .. } = b.ordering {
        b.backlog.push_front(m);
    } else {
        b.backlog.push_back(m);
    }
}

/// The finaliser of the `SplitMix64` generator: spreads request keys evenly over
/// partitions.
pub(super) fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Slab<Message> {
    /// Like `insert`, but a reused slot keeps counting generations, so that a stale timer of
    /// the message that held it never matches the new one.
    pub(super) fn insert_message(&mut self, message: Message) -> u32 {
        if let Some(i) = self.free.pop() {
            let slot = &mut self.items[i as usize];
            let generation = slot.generation;
            *slot = Message {
                generation,
                ..message
            };
            i
        } else {
            self.items.push(message);
            id32(self.items.len() - 1)
        }
    }
}

impl Simulation {
    /// The broker has taken a producer's message (after its latency): the producer's call
    /// is answered at once, and the message waits for a consumer.
    pub(super) fn enqueue(&mut self, task: u32, injected: bool) {
        let t = &self.tasks.items[task as usize];
        let (ci, request_type) = (t.comp as usize, t.request_type);
        if injected {
            self.tasks.items[task as usize].failed = Some(Cause::Error);
            self.finish_task(task);
            return;
        }
        let KindRt::Queue(b) = &self.comps[ci].kind else {
            return;
        };
        if b.backlog.len() >= b.capacity as usize {
            self.recorder.rejected(ci);
            self.tasks.items[task as usize].failed = Some(Cause::Rejected);
            self.finish_task(task);
            return;
        }
        let key = self.message_key(task);
        let (serial, dep, partition) = match &mut self.comps[ci].kind {
            KindRt::Queue(b) => {
                let dep = match b.depends_on[request_type as usize] {
                    u16::MAX => None,
                    d => b.latest.get(&(key, d)).copied(),
                };
                let partition = match b.ordering {
                    MessageOrdering::PerKey { partitions } => {
                        u32::try_from(mix64(key) % u64::from(partitions)).unwrap_or(0)
                    }
                    _ => 0,
                };
                (self.message_serials + 1, dep, partition)
            }
            _ => return,
        };
        self.message_serials = serial;
        let m = self.messages.insert_message(Message {
            queue: id32(ci),
            request_type,
            enqueued: self.now,
            deliveries: 0,
            generation: 0,
            state: MessageState::Waiting,
            outstanding: 0,
            processed: 0,
            key,
            serial,
            partition,
            dep,
        });
        self.check_limit(Limit::Messages);
        if let KindRt::Queue(b) = &mut self.comps[ci].kind {
            b.backlog.push_back(m);
            if b.is_dependency[request_type as usize] {
                b.latest.insert((key, request_type), (m, serial));
            }
        }
        self.recorder.message_enqueued(ci);
        self.finish_task(task);
        self.dispatch(ci);
    }

    /// Delivers waiting messages while some consumer replica has room in its prefetch,
    /// taking the replicas in turn. A message delivered `max_deliveries` times already is
    /// dead-lettered instead.
    pub(super) fn dispatch(&mut self, ci: usize) {
        loop {
            let c = &self.comps[ci];
            let KindRt::Queue(b) = &c.kind else {
                return;
            };
            if !c.up || b.backlog.is_empty() {
                return;
            }
            let n = b.slots.len();
            let ready = |s: &ConsumerSlot| {
                let replicas = match self.comps[s.comp as usize].kind {
                    KindRt::Service { replicas, .. } => replicas,
                    _ => 0,
                };
                s.outstanding < s.prefetch
                    && s.replica < replicas
                    && self.instances[s.instance as usize].up
            };
            let Some(slot) = (0..n)
                .map(|k| (b.next_slot + k) % n)
                .find(|&i| ready(&b.slots[i]))
            else {
                return;
            };
            let KindRt::Queue(b) = &mut self.comps[ci].kind else {
                return;
            };
            let m = if b.ordering == MessageOrdering::None {
                b.backlog.pop_front()
            } else {
                let KindRt::Queue(b) = &self.comps[ci].kind else {
                    return;
                };
                let found = b
                    .backlog
                    .iter()
                    .take(ORDERED_LOOKAHEAD)
                    .position(|&m| self.may_deliver(b, m));
                let KindRt::Queue(b) = &mut self.comps[ci].kind else {
                    return;
                };
                match found {
                    Some(i) => b.backlog.remove(i),
                    None => return,
                }
            };
            let KindRt::Queue(b) = &mut self.comps[ci].kind else {
                return;
            };
            b.next_slot = (slot + 1) % n;
            let Some(m) = m else {
                return;
            };
            let max = b.max_deliveries;
            let msg = &mut self.messages.items[m as usize];
            if msg.deliveries >= max {
                msg.state = MessageState::DeadLettered;
                self.recorder.message_dead_lettered(ci);
                self.free_message_if_done(m);
                continue;
            }
            self.deliver_message(ci, slot, m);
        }
    }

    pub(super) fn deliver_message(&mut self, ci: usize, slot: usize, m: u32) {
        let msg = &mut self.messages.items[m as usize];
        msg.state = MessageState::Delivered;
        msg.deliveries += 1;
        msg.generation = msg.generation.wrapping_add(1);
        msg.outstanding += 1;
        let (generation, request_type, again) =
            (msg.generation, msg.request_type, msg.deliveries > 1);
        let KindRt::Queue(b) = &mut self.comps[ci].kind else {
            return;
        };
        b.unacked += 1;
        if let MessageOrdering::PerKey { .. } = b.ordering {
            b.partition_busy[self.messages.items[m as usize].partition as usize] += 1;
        }
        let s = &mut b.slots[slot];
        s.outstanding += 1;
        let (to, instance, link, lane) = (s.comp, s.instance, s.link, b.visibility_lane);
        let d = self.deliveries.insert(Delivery {
            message: m,
            slot: id32(slot),
            generation,
        });
        self.recorder.message_delivered(ci, again);
        self.arm_timer(lane, m, generation, TimerKind::Visibility);
        let task = self.new_task(NONE, MESSAGE, d, to, instance, request_type, link);
        self.send(task);
    }

    /// A consumer's answer reached the broker: an acknowledgement when it succeeded, a
    /// rejection otherwise. Only the current delivery's answer settles the message; a
    /// consumer that crashed answers nothing, and the visibility timeout delivers the
    /// message again.
    pub(super) fn message_answered(&mut self, d: u32, failed: Option<Cause>) {
        let Delivery {
            message: m,
            generation,
            ..
        } = self.deliveries.items[d as usize];
        self.release_delivery(d);
        let msg = &mut self.messages.items[m as usize];
        let ci = msg.queue as usize;
        if failed.is_none() {
            msg.processed += 1;
            let (first, dep) = (msg.processed == 1, msg.dep);
            if !first {
                self.recorder.message_duplicated(ci);
            }
            if first && dep.is_some_and(|d| self.unapplied(d, ci)) {
                self.recorder.causal_violation(ci);
            }
        }
        let msg = &mut self.messages.items[m as usize];
        let current = msg.generation == generation && msg.state == MessageState::Delivered;
        if current && self.comps[ci].up && failed != Some(Cause::Dropped) {
            msg.generation = msg.generation.wrapping_add(1);
            let partition = msg.partition;
            let KindRt::Queue(b) = &mut self.comps[ci].kind else {
                return;
            };
            b.no_longer_delivered(partition);
            if failed.is_none() {
                msg.state = MessageState::Acked;
                self.recorder.message_acked(ci);
            } else {
                msg.state = MessageState::Waiting;
                requeue(b, m);
            }
        }
        self.free_message_if_done(m);
        self.dispatch(ci);
    }

    /// The key of a message a task sends: the user request it belongs to, or for a
    /// consumer's own messages, the key of the message it is processing.
    pub(super) fn message_key(&self, task: u32) -> u64 {
        let t = &self.tasks.items[task as usize];
        if t.root == MESSAGE {
            let d = &self.deliveries.items[t.root_gen as usize];
            return self.messages.items[d.message as usize].key;
        }
        (u64::from(t.root) << 32) | u64::from(t.root_gen)
    }

    /// Whether the message `(id, serial)` of queue `queue` still exists and has not been
    /// processed. Serials are unique over the run, not per queue: message records are shared
    /// by every queue, so a record freed by one queue may hold another queue's message next.
    pub(super) fn unapplied(&self, (id, serial): (u32, u64), queue: usize) -> bool {
        let d = &self.messages.items[id as usize];
        if d.serial != serial {
            return false;
        }
        assert_eq!(
            d.queue as usize, queue,
            "a message depends on another queue's message; reproduce with --seed {}",
            self.seed
        );
        d.processed == 0 && matches!(d.state, MessageState::Waiting | MessageState::Delivered)
    }

    /// Whether an ordered queue may deliver this waiting message now.
    pub(super) fn may_deliver(&self, b: &BrokerRt, m: u32) -> bool {
        let msg = &self.messages.items[m as usize];
        match b.ordering {
            MessageOrdering::None => true,
            MessageOrdering::PerKey { .. } => b.partition_busy[msg.partition as usize] == 0,
            MessageOrdering::Causal => !msg
                .dep
                .is_some_and(|d| self.unapplied(d, msg.queue as usize)),
        }
    }

    /// A delivery vanished on its way, or its answer did: the consumer's place is free.
    /// Nothing is delivered at once in its place, so that a link losing everything cannot
    /// recurse through the whole backlog; the next enqueue, answer or visibility timeout
    /// does it.
    pub(super) fn delivery_ended(&mut self, d: u32) {
        let m = self.release_delivery(d);
        self.free_message_if_done(m);
    }

    /// Frees a delivery and its consumer's place; the message's record stays for the
    /// caller to settle and free.
    pub(super) fn release_delivery(&mut self, d: u32) -> u32 {
        let Delivery {
            message: m, slot, ..
        } = self.deliveries.items[d as usize];
        self.deliveries.remove(d);
        let msg = &mut self.messages.items[m as usize];
        msg.outstanding -= 1;
        let ci = msg.queue as usize;
        if let KindRt::Queue(b) = &mut self.comps[ci].kind {
            b.slots[slot as usize].outstanding -= 1;
        }
        m
    }

    /// The delivered message was not acknowledged in time: it waits to be delivered again.
    pub(super) fn visibility_expired(&mut self, m: u32) {
        let msg = &mut self.messages.items[m as usize];
        let ci = msg.queue as usize;
        msg.generation = msg.generation.wrapping_add(1);
        msg.state = MessageState::Waiting;
        let partition = msg.partition;
        if let KindRt::Queue(b) = &mut self.comps[ci].kind {
            b.no_longer_delivered(partition);
            requeue(b, m);
        }
        self.dispatch(ci);
    }

    /// A broker crash: a durable queue keeps its messages, and those delivered but not yet
    /// acknowledged wait to be delivered again after the restart; a non-durable queue loses
    /// them all.
    pub(super) fn broker_crashed(&mut self, ci: usize) {
        let KindRt::Queue(b) = &mut self.comps[ci].kind else {
            return;
        };
        let durable = b.durable;
        // Every message delivered is waiting again or lost: none is out any more.
        b.unacked = 0;
        b.partition_busy.fill(0);
        let queue = id32(ci);
        // A scan of every message, but only when a broker crashes; in id order, so the
        // order of the requeued messages is deterministic.
        let delivered: Vec<u32> = (0..self.messages.items.len())
            .filter(|&i| {
                let msg = &self.messages.items[i];
                msg.queue == queue && msg.state == MessageState::Delivered
            })
            .map(id32)
            .collect();
        let mut lost = Vec::new();
        if let KindRt::Queue(b) = &mut self.comps[ci].kind {
            if durable {
                b.backlog.extend(delivered.iter().copied());
            } else {
                lost = b.backlog.drain(..).collect();
            }
        }
        for &m in &delivered {
            let msg = &mut self.messages.items[m as usize];
            msg.generation = msg.generation.wrapping_add(1);
            msg.state = if durable {
                MessageState::Waiting
            } else {
                MessageState::Lost
            };
        }
        if !durable {
            lost.extend(delivered);
            for &m in &lost {
                self.messages.items[m as usize].state = MessageState::Lost;
                self.recorder.message_lost(ci);
                self.free_message_if_done(m);
            }
        }
    }

    pub(super) fn free_message_if_done(&mut self, m: u32) {
        let msg = &self.messages.items[m as usize];
        let settled = matches!(
            msg.state,
            MessageState::Acked | MessageState::DeadLettered | MessageState::Lost
        );
        if settled && msg.outstanding == 0 {
            let (ci, key, request_type, serial) =
                (msg.queue as usize, msg.key, msg.request_type, msg.serial);
            if let KindRt::Queue(b) = &mut self.comps[ci].kind
                && b.latest.get(&(key, request_type)) == Some(&(m, serial))
            {
                b.latest.remove(&(key, request_type));
            }
            self.messages.remove(m);
        }
    }

    /// Each queue's waiting and unacknowledged messages, and the age of the oldest waiting.
    pub(super) fn queue_states(&self) -> Vec<QueueState> {
        self.brokers
            .iter()
            .filter_map(|&ci| match &self.comps[ci as usize].kind {
                KindRt::Queue(b) => Some(QueueState {
                    component: ci as usize,
                    backlog: u64::try_from(b.backlog.len()).unwrap_or(u64::MAX),
                    unacked: u64::from(b.unacked),
                    // The head of the backlog: the oldest message, but for those delivered
                    // again, which join the back.
                    head_age_s: b.backlog.front().map(|&m| {
                        (self.now - self.messages.items[m as usize].enqueued).as_secs_f64()
                    }),
                }),
                _ => None,
            })
            .collect()
    }
}
