//! Load balancers: choosing a backend by policy (round robin, random, least connections,
//! power of two choices), active health checks, passive outlier ejection, and the
//! balancer's own count of requests outstanding at each target.
//!
//! Invariant: a target's `outstanding` is incremented when a request is forwarded to it and
//! decremented exactly once when that request's answer (or its loss in a crash) comes back;
//! `ejected_count` and `not_serving` count the `true`s of `ejected` and the `false`s of
//! `serving`.

use crate::model::{HealthCheck, Outlier, Policy};
use crate::sim::random::Stream;
use crate::sim::time::SimTime;

use super::components::KindRt;
use super::id32;
use super::{Ev, NONE, Simulation};

pub(super) struct LbTarget {
    pub(super) comp: u32,
    pub(super) instance: u32,
    pub(super) link: u32,
}

/// A balancer's view of which targets it may use: active health checks and passive
/// outlier ejection.
pub(super) struct Health {
    pub(super) check: Option<HealthCheck>,
    pub(super) outlier: Option<Outlier>,
    /// Per target: ejected by health checks.
    pub(super) ejected: Vec<bool>,
    /// Per target: left out by outlier ejection until then.
    pub(super) out_until: Vec<SimTime>,
    pub(super) probe_fails: Vec<u32>,
    pub(super) probe_oks: Vec<u32>,
    pub(super) failures_in_row: Vec<u32>,
    /// Targets ejected by health checks, and the latest outlier ejection's end: when both
    /// are nil, every target is eligible and the plain pick runs.
    pub(super) ejected_count: u32,
    pub(super) latest_out_until: SimTime,
    /// Per target: a ready replica (autoscaled services have replicas that are not).
    pub(super) serving: Vec<bool>,
    pub(super) not_serving: u32,
}

impl Health {
    pub(super) fn new(n: usize, check: Option<HealthCheck>, outlier: Option<Outlier>) -> Self {
        Health {
            check,
            outlier,
            ejected: vec![false; n],
            out_until: vec![SimTime::ZERO; n],
            probe_fails: vec![0; n],
            probe_oks: vec![0; n],
            failures_in_row: vec![0; n],
            ejected_count: 0,
            latest_out_until: SimTime::ZERO,
            serving: vec![true; n],
            not_serving: 0,
        }
    }

    #[inline]
    pub(super) fn restricted(&self, now: SimTime) -> bool {
        self.ejected_count > 0 || self.not_serving > 0 || now < self.latest_out_until
    }

    #[inline]
    pub(super) fn eligible(&self, i: usize, now: SimTime) -> bool {
        self.serving[i] && !self.ejected[i] && now >= self.out_until[i]
    }
}

/// Chooses one of `n` places by `policy`; `load` gives each place's outstanding requests.
#[inline]
pub(super) fn pick(
    policy: Policy,
    n: u32,
    next_rr: &mut u32,
    rng: &mut Stream,
    load: impl Fn(u32) -> u32,
) -> u32 {
    match policy {
        Policy::RoundRobin => {
            let i = *next_rr % n;
            *next_rr = (i + 1) % n;
            i
        }
        Policy::Random => rng.below(n),
        Policy::LeastConnections => {
            // Scanning from a rotating start spreads ties instead of piling them on place 0.
            let start = *next_rr % n;
            *next_rr = (start + 1) % n;
            let mut best = start;
            let mut best_load = load(start);
            for k in 1..n {
                let i = (start + k) % n;
                let l = load(i);
                if l < best_load {
                    best = i;
                    best_load = l;
                }
            }
            best
        }
        Policy::PowerOfTwo => {
            if n == 1 {
                return 0;
            }
            let a = rng.below(n);
            let mut b = rng.below(n - 1);
            if b >= a {
                b += 1;
            }
            if load(b) < load(a) { b } else { a }
        }
    }
}

/// Like [`pick`], among the places `load` returns a load for (the eligible ones); `None`
/// when there is none.
#[inline]
pub(super) fn pick_eligible(
    policy: Policy,
    n: u32,
    next_rr: &mut u32,
    rng: &mut Stream,
    load: impl Fn(u32) -> Option<u32>,
) -> Option<u32> {
    let eligible = (0..n).filter(|&i| load(i).is_some()).count();
    let count = u32::try_from(eligible).unwrap_or(0);
    if count == 0 {
        return None;
    }
    // The k-th eligible place, without allocating a list of them.
    let nth = |k: u32| (0..n).filter(|&i| load(i).is_some()).nth(k as usize);
    match policy {
        Policy::RoundRobin => {
            let start = *next_rr % n;
            let found = (0..n).map(|k| (start + k) % n).find(|&i| load(i).is_some());
            if let Some(i) = found {
                *next_rr = (i + 1) % n;
            }
            found
        }
        Policy::Random => nth(rng.below(count)),
        Policy::LeastConnections => {
            let start = *next_rr % n;
            *next_rr = (start + 1) % n;
            (0..n)
                .map(|k| (start + k) % n)
                .filter_map(|i| load(i).map(|l| (l, i)))
                .min_by_key(|&(l, _)| l)
                .map(|(_, i)| i)
        }
        Policy::PowerOfTwo => {
            if count == 1 {
                return nth(0);
            }
            let a = rng.below(count);
            let mut b = rng.below(count - 1);
            if b >= a {
                b += 1;
            }
            let (a, b) = (nth(a)?, nth(b)?);
            if load(b) < load(a) { Some(b) } else { Some(a) }
        }
    }
}

impl Simulation {
    pub(super) fn balancer_done(&mut self, task: u32, from_backend: bool) {
        let t = &self.tasks.items[task as usize];
        let (ci, slot, failed) = (t.comp as usize, t.instance, t.failed.is_some());
        let now = self.now;
        let c = &mut self.comps[ci];
        let mut ejected = false;
        if let KindRt::Balancer {
            outstanding,
            health,
            ..
        } = &mut c.kind
        {
            outstanding[slot as usize] -= 1;
            if from_backend && let Some(o) = &health.outlier {
                let s = slot as usize;
                if failed {
                    health.failures_in_row[s] += 1;
                    if health.failures_in_row[s] >= o.failures {
                        health.failures_in_row[s] = 0;
                        health.out_until[s] = now + o.eject_for;
                        health.latest_out_until = health.latest_out_until.max(health.out_until[s]);
                        ejected = true;
                    }
                } else {
                    health.failures_in_row[s] = 0;
                }
            }
        }
        if ejected {
            let message = format!(
                "{} ejects {} (outlier)",
                self.model.components[ci].name,
                self.target_label(ci, slot)
            );
            self.recorder.log(now, "balancer", message);
        }
        let c = &mut self.comps[ci];
        c.touch(now);
        c.busy -= 1;
        self.finish_task(task);
    }

    /// A name for a balancer's target in the event log: `app replica 1`, or `app`.
    pub(super) fn target_label(&self, lb: usize, slot: u32) -> String {
        let KindRt::Balancer { targets, .. } = &self.comps[lb].kind else {
            return String::new();
        };
        let t = &targets[slot as usize];
        let name = &self.model.components[t.comp as usize].name;
        match self.comps[t.comp as usize].kind {
            KindRt::Service {
                first_instance,
                replicas,
                ..
            } if replicas > 1 => format!("{name} replica {}", t.instance - first_instance),
            _ => name.clone(),
        }
    }

    /// A balancer probes each backend replica: a probe fails when the replica (or the
    /// component) is down or the link to it is cut.
    pub(super) fn health_check(&mut self, lb: u32) {
        if self.comps[lb as usize].pauses > 0 {
            // A paused balancer probes nothing; it probes again as it resumes.
            self.comps[lb as usize]
                .parked
                .push((Ev::HealthCheck(lb), SimTime::ZERO));
            return;
        }
        let now = self.now;
        let li = lb as usize;
        let KindRt::Balancer {
            targets, health, ..
        } = &self.comps[li].kind
        else {
            return;
        };
        let Some(check) = health.check.clone() else {
            return;
        };
        let alive: Vec<bool> = targets
            .iter()
            .map(|t| {
                let up = if t.instance == NONE {
                    self.comps[t.comp as usize].up
                } else {
                    self.instances[t.instance as usize].up
                };
                up && !self.links[t.link as usize].trouble.cut
            })
            .collect();
        let mut changes = Vec::new();
        if let KindRt::Balancer { health, .. } = &mut self.comps[li].kind {
            for (i, ok) in alive.into_iter().enumerate() {
                if ok {
                    health.probe_fails[i] = 0;
                    health.probe_oks[i] += 1;
                    if health.ejected[i] && health.probe_oks[i] >= check.healthy {
                        health.ejected[i] = false;
                        health.ejected_count -= 1;
                        changes.push((i, false));
                    }
                } else {
                    health.probe_oks[i] = 0;
                    health.probe_fails[i] += 1;
                    if !health.ejected[i] && health.probe_fails[i] >= check.unhealthy {
                        health.ejected[i] = true;
                        health.ejected_count += 1;
                        changes.push((i, true));
                    }
                }
            }
        }
        for (i, ejected) in changes {
            let slot = id32(i);
            let verb = if ejected { "ejects" } else { "re-admits" };
            let message = format!(
                "{} {verb} {}",
                self.model.components[li].name,
                self.target_label(li, slot)
            );
            self.recorder.log(now, "balancer", message);
        }
        self.queue.push(now + check.interval, Ev::HealthCheck(lb));
    }
}
