//! Reads a `load_balancer`: its policy, backends, latency, health checks and outlier
//! ejection.

use crate::model::dist::Dist;
use crate::model::yaml::{Node, NodeKind};
use crate::model::{ComponentId, HealthCheck, LoadBalancer, Outlier, schema};
use crate::shared::time::SimTime;

use super::Reader;
use super::values::Fields;

impl Reader {
    pub(super) fn load_balancer(&mut self, what: &str, f: &Fields<'_>) -> Option<LoadBalancer> {
        let policy = self.policy(f.get("policy"), "policy");
        let latency = f
            .get("latency")
            .map_or(Some(Dist::Const(SimTime::ZERO)), |n| {
                self.dist(n, "latency")
            });
        let backends = f.get("backends").and_then(|n| {
            let list: Vec<&Node> = match &n.kind {
                NodeKind::Seq(items) => items.iter().collect(),
                _ => vec![n],
            };
            if list.is_empty() {
                self.error(n.span, format!("{what} has no backends"));
                return None;
            }
            let ids: Vec<ComponentId> = list
                .iter()
                .filter_map(|b| self.component_ref(b, "backend"))
                .collect();
            (ids.len() == list.len()).then_some(ids)
        });
        let health_check = match f.get("health_check") {
            None => Some(None),
            Some(n) => self
                .fields(n, "a health check", schema::HEALTH_CHECK)
                .and_then(|h| {
                    let interval = h
                        .get("interval")
                        .map_or(Some(SimTime::from_secs(5)), |n| self.period(n, "interval"));
                    let unhealthy = h
                        .get("unhealthy")
                        .map_or(Some(3), |n| self.int_u32(n, "unhealthy", 1));
                    let healthy = h
                        .get("healthy")
                        .map_or(Some(2), |n| self.int_u32(n, "healthy", 1));
                    Some(Some(HealthCheck {
                        interval: interval?,
                        unhealthy: unhealthy?,
                        healthy: healthy?,
                    }))
                }),
        };
        let outlier = match f.get("outlier") {
            None => Some(None),
            Some(n) => self
                .fields(n, "outlier ejection", schema::OUTLIER)
                .and_then(|o| {
                    let failures = o
                        .get("failures")
                        .and_then(|n| self.int_u32(n, "failures", 1));
                    let eject_for = o
                        .get("eject_for")
                        .map_or(Some(SimTime::from_secs(30)), |n| {
                            self.positive_duration(n, "eject_for")
                        });
                    Some(Some(Outlier {
                        failures: failures?,
                        eject_for: eject_for?,
                    }))
                }),
        };
        Some(LoadBalancer {
            policy: policy?,
            backends: backends?,
            latency: latency?,
            health_check: health_check?,
            outlier: outlier?,
        })
    }
}
