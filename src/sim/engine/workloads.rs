//! Workloads: open-loop Poisson arrivals with rate steps, closed-loop users who think
//! between requests, the request mix, and the start of each root with its client deadline.

use crate::model::Dist;
use crate::sim::random::{Stream, ns_to_time};
use crate::sim::time::SimTime;

use super::limits::Limit;
use super::tasks::Root;
use super::timers::TimerKind;
use super::{Ev, NONE, Simulation};

pub(super) struct WorkloadRt {
    /// The current rate step: its mean gap in nanoseconds (infinite at rate 0) and when the
    /// next step starts, cached so the common single-rate case does no search.
    pub(super) mean_gap_ns: f64,
    pub(super) step_ends: SimTime,
    pub(super) target: u32,
    pub(super) link: u32,
    /// Open loop: (start, rate per second) steps. Empty for closed loop.
    pub(super) steps: Vec<(SimTime, f64)>,
    pub(super) think: Option<Dist>,
    pub(super) mix: Vec<(u16, f64)>,
    pub(super) lane: Option<u16>,
    pub(super) arrival_rng: Stream,
    pub(super) mix_rng: Stream,
}

impl Simulation {
    /// Draws the next arrival after `from`. Poisson arrivals are memoryless, so restarting
    /// the draw at each rate change is exact.
    pub(super) fn schedule_arrival(&mut self, w: u16, from: SimTime) {
        let end = self.end;
        let wl = &mut self.workloads[w as usize];
        let mut t = from;
        loop {
            if t >= wl.step_ends {
                let seg = wl
                    .steps
                    .partition_point(|&(at, _)| at <= t)
                    .saturating_sub(1);
                let rate = wl.steps[seg].1;
                wl.mean_gap_ns = if rate > 0.0 {
                    1e9 / rate
                } else {
                    f64::INFINITY
                };
                wl.step_ends = wl.steps.get(seg + 1).map_or(SimTime::MAX, |s| s.0);
            }
            if wl.mean_gap_ns.is_infinite() {
                if wl.step_ends == SimTime::MAX {
                    return;
                }
                t = wl.step_ends;
                continue;
            }
            let candidate = t + ns_to_time(wl.arrival_rng.exp(wl.mean_gap_ns));
            if candidate < wl.step_ends {
                if candidate <= end {
                    self.queue.push(candidate, Ev::Arrival(w));
                }
                return;
            }
            t = wl.step_ends;
        }
    }

    pub(super) fn schedule_user(&mut self, w: u16) {
        let wl = &mut self.workloads[w as usize];
        let think = match &wl.think {
            Some(d) => wl.arrival_rng.sample(d),
            None => SimTime::ZERO,
        };
        self.at(think, Ev::UserReady(w));
    }

    pub(super) fn arrival(&mut self, w: u16) {
        self.schedule_arrival(w, self.now);
        self.start_request(w);
    }

    pub(super) fn start_request(&mut self, w: u16) {
        let wl = &mut self.workloads[w as usize];
        let request_type = if wl.mix.len() == 1 {
            wl.mix[0].0
        } else {
            let u = wl.mix_rng.unit();
            wl.mix
                .iter()
                .find(|&&(_, cum)| u < cum)
                .map_or(wl.mix[wl.mix.len() - 1].0, |&(t, _)| t)
        };
        let (target, link, lane) = (wl.target, wl.link, wl.lane);
        let counted = self.recorder.measuring();
        let root = self.roots.insert_root(Root {
            generation: 0,
            live: true,
            counted,
            workload: w,
            request_type,
            start: self.now,
        });
        self.check_limit(Limit::Requests);
        if self.traces.is_some() {
            self.trace_root_started(root, w, request_type);
        }
        let generation = self.roots.items[root as usize].generation;
        self.recorder
            .request_started(request_type as usize, counted);
        if let Some(l) = lane {
            self.arm_timer(l, root, generation, TimerKind::Deadline);
        }
        let instance = self.choose_instance(target, request_type);
        let task = self.new_task(NONE, root, generation, target, instance, request_type, link);
        self.send(task);
    }
}
