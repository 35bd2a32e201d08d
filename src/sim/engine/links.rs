//! Links between components: latency, and network faults (loss, black holes, partitions,
//! refused connections, added latency, bandwidth limits), the counts a diagram draws, and
//! sending requests and answers across them.
//!
//! Invariant: a link whose `zero` is set has no latency and no fault: crossing it takes no
//! time and draws nothing, so the common path never touches its random stream.

use std::collections::BTreeMap;

use crate::model::{Dist, FaultAction, Model};
use crate::observe::Cause;
use crate::observe::trace::SpanEnd;
use crate::sim::random::{Stream, ns_to_time};
use crate::sim::time::SimTime;

use super::id32;
use super::live::{MessageKind, TracedMessage};
use super::{Ev, LOST, MESSAGE, NONE, Simulation};

pub(super) struct LinkRt {
    pub(super) latency: Dist,
    /// No latency and no fault: crossing it takes no time and no draw.
    pub(super) zero: bool,
    pub(super) rng: Stream,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) trouble: LinkTrouble,
    /// Bytes of a request (from → to) and of its answer (to → from).
    pub(super) bytes: [u64; 2],
    /// Under a bandwidth limit: when each direction is free to send the next message.
    pub(super) free_at: [SimTime; 2],
    /// Requests sent over it, and answers that came back failed: what a diagram draws.
    pub(super) sent: u64,
    pub(super) failed: u64,
    pub(super) answers: u64,
}

/// What network faults currently do to a link.
#[derive(Default)]
pub(super) struct LinkTrouble {
    /// Latency added by each link fault in progress, drawn one after another.
    pub(super) extra: Vec<Dist>,
    pub(super) loss: f64,
    pub(super) reset: bool,
    /// Black-holed, by a `blackhole` link fault or a partition.
    pub(super) cut: bool,
    /// Bytes per second, under a bandwidth limit.
    pub(super) bandwidth: Option<f64>,
}

impl LinkTrouble {
    pub(super) fn any(&self) -> bool {
        !self.extra.is_empty()
            || self.loss > 0.0
            || self.reset
            || self.cut
            || self.bandwidth.is_some()
    }
}

/// What happens to a message sent over a link.
pub(super) enum Crossing {
    After(SimTime),
    /// It vanishes: nobody hears of it.
    Lost,
    /// The connection is refused at once.
    Refused,
}

pub(super) fn arrival(now: SimTime, crossing: &Crossing) -> Option<SimTime> {
    match crossing {
        Crossing::After(delay) => Some(now + *delay),
        Crossing::Refused => Some(now),
        Crossing::Lost => None,
    }
}

/// Links by (from, to) name pair, each with its own random stream.
pub(super) struct LinkTable<'m> {
    pub(super) model: &'m Model,
    pub(super) seed: u64,
    pub(super) ids: BTreeMap<(String, String), u32>,
    pub(super) links: Vec<LinkRt>,
}

impl<'m> LinkTable<'m> {
    pub(super) fn new(model: &'m Model, seed: u64) -> Self {
        LinkTable {
            model,
            seed,
            ids: BTreeMap::new(),
            links: Vec::new(),
        }
    }

    pub(super) fn id(&mut self, from: &str, to: &str) -> u32 {
        let key = (from.to_string(), to.to_string());
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let latency = self.model.link_latency(from, to).clone();
        let id = id32(self.links.len());
        self.links.push(LinkRt {
            zero: latency.is_zero(),
            sent: 0,
            failed: 0,
            answers: 0,
            latency,
            rng: Stream::derive(self.seed, &format!("{from}->{to}"), "latency"),
            from: from.to_string(),
            to: to.to_string(),
            trouble: LinkTrouble::default(),
            bytes: [
                self.model.message_bytes(from, to),
                self.model.message_bytes(to, from),
            ],
            free_at: [SimTime::ZERO; 2],
        });
        self.ids.insert(key, id);
        id
    }

    pub(super) fn finish(self) -> Vec<LinkRt> {
        self.links
    }
}

impl Simulation {
    /// Sends a task to its component over its link.
    #[inline]
    pub(super) fn send(&mut self, task: u32) {
        let link = self.tasks.items[task as usize].link;
        self.links[link as usize].sent += 1;
        let crossing = self.cross(link, true);
        if self.trace.is_some() {
            self.trace_request(task, link, &crossing);
        }
        match crossing {
            Crossing::After(delay) => self.now_or_later(delay, Ev::Deliver(task)),
            // The caller hears nothing; only its timeout (if any) ends the wait.
            Crossing::Lost => self.lost_in_network(task),
            Crossing::Refused => {
                self.tasks.items[task as usize].failed = Some(Cause::Unavailable);
                if self.traces.is_some() {
                    self.trace_end(task, SpanEnd::Failed(Cause::Unavailable));
                }
                self.now_or_later(SimTime::ZERO, Ev::Reply(task));
            }
        }
    }

    /// What happens to a message on a link. The common case (no latency, no trouble) is
    /// inlined; the rest is not.
    #[inline]
    pub(super) fn cross(&mut self, link: u32, request: bool) -> Crossing {
        if self.links[link as usize].zero {
            return Crossing::After(SimTime::ZERO);
        }
        self.cross_slow(link, request)
    }

    #[inline(never)]
    pub(super) fn cross_slow(&mut self, link: u32, request: bool) -> Crossing {
        let l = &mut self.links[link as usize];
        let mut delay = l.rng.sample(&l.latency);
        let t = &l.trouble;
        if t.any() {
            if t.cut || (t.loss > 0.0 && l.rng.unit() < t.loss) {
                return Crossing::Lost;
            }
            if t.reset && request {
                return Crossing::Refused;
            }
            for extra in &t.extra {
                delay += l.rng.sample(extra);
            }
            if let Some(bytes_per_s) = t.bandwidth {
                // Messages cross one after another: wait for the link, then take the
                // message's size over the bandwidth.
                let dir = usize::from(!request);
                let transmit = ns_to_time(l.bytes[dir] as f64 / bytes_per_s * 1e9);
                let start = l.free_at[dir].max(self.now);
                l.free_at[dir] = start + transmit;
                delay += (start - self.now) + transmit;
            }
        }
        Crossing::After(delay)
    }

    #[inline]
    pub(super) fn count_answer(&mut self, task: u32, link: u32, crossing: &Crossing) {
        if self.traces.is_some() {
            self.trace_answered(task);
        }
        let failed = self.tasks.items[task as usize].failed.is_some();
        let l = &mut self.links[link as usize];
        l.answers += 1;
        l.failed += u64::from(failed);
        if let Some(trace) = &mut self.trace
            && l.answers.is_multiple_of(trace.every)
        {
            trace.keep(TracedMessage {
                link,
                kind: if failed {
                    MessageKind::Failure
                } else {
                    MessageKind::Answer
                },
                sent: self.now,
                arrives: arrival(self.now, crossing),
            });
        }
    }

    #[inline(never)]
    pub(super) fn trace_request(&mut self, task: u32, link: u32, crossing: &Crossing) {
        let call = self.tasks.items[task as usize].call;
        let retry = call != NONE && self.calls.items[call as usize].attempts > 1;
        let sent = self.links[link as usize].sent;
        if let Some(trace) = &mut self.trace
            && sent.is_multiple_of(trace.every)
        {
            trace.keep(TracedMessage {
                link,
                kind: if retry {
                    MessageKind::Retry
                } else {
                    MessageKind::Request
                },
                sent: self.now,
                arrives: arrival(self.now, crossing),
            });
        }
    }

    /// A request or an answer vanished on its link. The task is freed; a call waiting for
    /// it keeps waiting (its timeout ends the wait) but no longer holds the freed id, which
    /// another task may soon reuse.
    pub(super) fn lost_in_network(&mut self, task: u32) {
        if self.traces.is_some() {
            self.trace_end(task, SpanEnd::Lost);
        }
        let t = &self.tasks.items[task as usize];
        if t.root == MESSAGE && t.parent == NONE {
            // A delivery or its acknowledgement vanished: the consumer's place is free
            // again, and the visibility timeout will deliver the message again.
            let d = t.root_gen;
            self.delivery_ended(d);
        }
        let call = self.tasks.items[task as usize].call;
        if call != NONE {
            let cs = &mut self.calls.items[call as usize];
            if cs.child == task {
                cs.child = LOST;
            } else if cs.hedge == task {
                cs.hedge = LOST;
            }
        }
        self.free_task(task);
    }

    /// Starts or ends a partition or a link fault: every link between the named endpoints
    /// (in either direction) gets the trouble, or loses it, while the other faults on it
    /// stay.
    pub(super) fn network_fault(&mut self, action: &FaultAction, starts: bool) {
        let message = match action {
            FaultAction::Partition { groups } => {
                let text: Vec<String> = groups
                    .iter()
                    .map(|g| format!("[{}]", g.join(", ")))
                    .collect();
                if starts {
                    format!("partition {}", text.join(" | "))
                } else {
                    format!("partition healed {}", text.join(" | "))
                }
            }
            FaultAction::Link {
                a,
                b,
                latency,
                loss,
                reset,
                blackhole,
                bandwidth,
            } => {
                let mut what = Vec::new();
                if let Some(d) = latency {
                    what.push(format!("+{d} latency"));
                }
                if *loss > 0.0 {
                    what.push(format!("{:.1}% loss", loss * 100.0));
                }
                if *reset {
                    what.push("connections reset".to_string());
                }
                if *blackhole {
                    what.push("black hole".to_string());
                }
                if let Some(bw) = bandwidth {
                    what.push(format!("{:.0} KB/s", bw / 1e3));
                }
                if starts {
                    format!("link {a}–{b}: {}", what.join(", "))
                } else {
                    format!("link {a}–{b} repaired")
                }
            }
            _ => return,
        };
        self.combine_network_faults();
        let kind = if starts { "fault" } else { "recovery" };
        self.recorder.log(self.now, kind, message);
    }

    /// Sets each link's trouble from every network fault in progress, in the order of the
    /// faults: a link is cut while any partition or black hole cuts it; loss chances combine
    /// as independent ones, 1 − Π(1 − p); added latencies add (each drawn in turn); a
    /// connection is refused while any fault resets it; the narrowest bandwidth limit holds.
    fn combine_network_faults(&mut self) {
        for l in &mut self.links {
            l.trouble = LinkTrouble::default();
        }
        for (i, f) in self.faults.iter().enumerate() {
            if !self.fault_active[i] || f.target.is_some() {
                continue;
            }
            for l in &mut self.links {
                match &f.action {
                    FaultAction::Partition { groups } => {
                        let group_of =
                            |name: &str| groups.iter().position(|g| g.iter().any(|m| m == name));
                        if let (Some(a), Some(b)) = (group_of(&l.from), group_of(&l.to))
                            && a != b
                        {
                            l.trouble.cut = true;
                        }
                    }
                    FaultAction::Link {
                        a,
                        b,
                        latency,
                        loss,
                        reset,
                        blackhole,
                        bandwidth,
                    } if (l.from == *a && l.to == *b) || (l.from == *b && l.to == *a) => {
                        let t = &mut l.trouble;
                        t.extra.extend(latency.iter().cloned());
                        // 1 − (1 − a)(1 − b), written so that one fault's chance is kept
                        // exactly.
                        t.loss = t.loss + loss - t.loss * loss;
                        t.reset |= *reset;
                        t.cut |= *blackhole;
                        if let Some(bw) = *bandwidth {
                            t.bandwidth = Some(t.bandwidth.map_or(bw, |old: f64| old.min(bw)));
                        }
                    }
                    _ => {}
                }
            }
        }
        for l in &mut self.links {
            l.zero = l.latency.is_zero() && !l.trouble.any();
        }
    }
}
