//! Autoscaling: at the end of each window an autoscaled service compares its utilisation (or
//! queue depth) with its target and starts replicas, ready after a cold start, or stops
//! sending to its last ones. Instances for the maximum are allocated when the run is built,
//! so scaling never moves a task; balancers in front learn which replicas serve through
//! [`Simulation::refresh_serving`].
//!
//! Invariant: `starting` counts exactly the `ReplicaReady` events still pending, and the
//! ready replicas are always the first `replicas` of the allocated ones.

use crate::observe::Integrals;
use crate::sim::time::SimTime;

use super::components::KindRt;
use super::{Ev, Simulation, nanos_f64};

/// An autoscaled service's scaling state.
pub(super) struct ScaleRt {
    pub(super) config: crate::model::Autoscale,
    /// Replicas started and not ready yet.
    pub(super) starting: u32,
    pub(super) last_change: SimTime,
    pub(super) at_last_decision: Integrals,
}

impl Simulation {
    /// At the end of each window: the wanted replica count is ceil(ready × utilisation /
    /// target), within min and max. More than ready + starting: start the difference (ready
    /// after the cold start). Fewer than ready, nothing starting and the cooldown over:
    /// stop sending to the last replicas (they finish what they hold).
    pub(super) fn autoscale(&mut self, comp: u32) {
        let now = self.now;
        let ci = comp as usize;
        let integrals = self.comps[ci].integrals(now);
        let KindRt::Service {
            replicas,
            workers_per_replica,
            scale: Some(scale),
            ..
        } = &mut self.comps[ci].kind
        else {
            return;
        };
        let busy = integrals.busy_ns - scale.at_last_decision.busy_ns;
        let capacity = integrals.capacity_ns - scale.at_last_decision.capacity_ns;
        let waiting = integrals.queue_ns - scale.at_last_decision.queue_ns;
        scale.at_last_decision = integrals;
        let utilization = if capacity > 0.0 { busy / capacity } else { 0.0 };
        let c = &scale.config;
        let ready_f = f64::from(*replicas);
        let wanted_f = match c.queue_target {
            None => (ready_f * utilization / c.target).ceil(),
            Some(per_replica) => {
                let depth = waiting / nanos_f64(c.window) / ready_f.max(1.0);
                // Requests waiting at all: never fewer than now.
                let by_depth = (ready_f * depth / per_replica).ceil();
                if depth > 0.0 {
                    by_depth.max(ready_f)
                } else {
                    (ready_f * utilization / c.target).ceil()
                }
            }
        };
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to min..max just after"
        )]
        let wanted = (wanted_f.max(0.0).min(f64::from(c.max)) as u32).clamp(c.min, c.max);
        let (ready, starting) = (*replicas, scale.starting);
        let window = c.window;
        let mut message = None;
        if wanted > ready + starting {
            let more = wanted - ready - starting;
            scale.starting += more;
            scale.last_change = now;
            for _ in 0..more {
                self.queue
                    .push(now + scale.config.cold_start, Ev::ReplicaReady(comp));
            }
            message = Some(format!(
                "scales out {ready} → {wanted} (utilisation {:.0}%)",
                utilization * 100.0
            ));
        } else if wanted < ready && starting == 0 && now >= scale.last_change + c.cooldown {
            scale.last_change = now;
            let workers = *workers_per_replica;
            *replicas = wanted;
            let comp_rt = &mut self.comps[ci];
            comp_rt.touch(now);
            comp_rt.capacity = wanted * workers.saturating_sub(comp_rt.lost_workers);
            self.refresh_serving(ci);
            message = Some(format!(
                "scales in {ready} → {wanted} (utilisation {:.0}%)",
                utilization * 100.0
            ));
        }
        if let Some(m) = message {
            let text = format!("{} {m}", self.model.components[ci].name);
            self.recorder.log(now, "autoscale", text);
        }
        self.queue.push(now + window, Ev::Autoscale(comp));
    }

    pub(super) fn replica_ready(&mut self, comp: u32) {
        let now = self.now;
        let ci = comp as usize;
        let c = &mut self.comps[ci];
        c.touch(now);
        let KindRt::Service {
            replicas,
            workers_per_replica,
            scale: Some(scale),
            ..
        } = &mut c.kind
        else {
            return;
        };
        scale.starting -= 1;
        *replicas += 1;
        let (ready, cap) = (
            *replicas,
            *replicas * workers_per_replica.saturating_sub(c.lost_workers),
        );
        c.capacity = cap;
        self.refresh_serving(ci);
        self.arm_replica_failures(ci, ready - 1);
        let text = format!(
            "{} replica {} ready",
            self.model.components[ci].name,
            ready - 1
        );
        self.recorder.log(now, "autoscale", text);
    }

    /// Tells the balancers in front of a scaled service which of its replicas serve.
    pub(super) fn refresh_serving(&mut self, service: usize) {
        let KindRt::Service {
            first_instance: first,
            replicas: ready,
            ..
        } = self.comps[service].kind
        else {
            return;
        };
        for c in &mut self.comps {
            if let KindRt::Balancer {
                targets, health, ..
            } = &mut c.kind
            {
                for (i, t) in targets.iter().enumerate() {
                    if t.comp as usize == service {
                        health.serving[i] = t.instance - first < ready;
                    }
                }
                health.not_serving =
                    u32::try_from(health.serving.iter().filter(|s| !**s).count()).unwrap_or(0);
            }
        }
    }
}
