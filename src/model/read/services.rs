//! Reads a `service` (and the service part of a database): replicas, workers, queue,
//! balancing between replicas, I/O mode, load shedding, autoscaling and handlers.

use std::collections::BTreeSet;

use crate::model::dist::Dist;
use crate::model::units::{parse_fraction, parse_positive_number};
use crate::model::yaml::{Node, NodeKind};
use crate::model::{Autoscale, Handler, Io, MAX_REPLICAS, MAX_WORKERS, Policy, Service, schema};
use crate::shared::time::SimTime;

use super::Reader;
use super::values::Fields;

impl Reader {
    pub(super) fn policy(&mut self, node: Option<&Node>, what: &str) -> Option<Policy> {
        match node {
            None => Some(Policy::RoundRobin),
            Some(n) => self
                .choice(n, what, schema::POLICIES)
                .and_then(Policy::parse),
        }
    }

    pub(super) fn service(&mut self, what: &str, f: &Fields<'_>) -> Option<Service> {
        let replicas = f.get("replicas").map_or(Some(1), |n| {
            let r = self.int_u32(n, "replicas", 1)?;
            if r > MAX_REPLICAS {
                self.error_hint(
                    n.span,
                    format!("replicas: `{r}` is above the limit of {MAX_REPLICAS}"),
                    "a fleet this large queues as fewer replicas with more workers each when the \
                     balancer spreads evenly: model it so",
                );
                return None;
            }
            Some(r)
        });
        let workers = f.get("workers").map_or(Some(1), |n| {
            let w = self.int_u32(n, "workers", 1)?;
            if w > MAX_WORKERS {
                self.error_hint(
                    n.span,
                    format!("workers: `{w}` is above the limit of {MAX_WORKERS} per replica"),
                    "no process runs this many at once; for work that never waits for a \
                     worker, give the component the workers it can really run",
                );
                return None;
            }
            Some(w)
        });
        let queue = self.waiting_room(f);
        let io = match f.get("io") {
            None => Some(Io::Blocking),
            Some(n) => self.choice(n, "io", schema::IO_MODES).map(|m| {
                if m == "async" {
                    Io::Async
                } else {
                    Io::Blocking
                }
            }),
        };
        let balance = self.policy(f.get("balance"), "balance");
        let queue_timeout = match f.get("queue_timeout") {
            None => Some(None),
            Some(n) => self.positive_duration(n, "queue_timeout").map(Some),
        };
        let autoscale = match f.get("autoscale") {
            None => Some(None),
            Some(n) => self
                .fields(n, "`autoscale`", schema::AUTOSCALE)
                .and_then(|a| {
                    let min = a.get("min").and_then(|n| self.int_u32(n, "min", 1));
                    let max = a.get("max").and_then(|n| self.int_u32(n, "max", 1));
                    let target = a
                        .get("target")
                        .map_or(Some(0.7), |n| self.parsed(n, "target", parse_fraction));
                    let queue_target = match a.get("queue_target") {
                        None => Some(None),
                        Some(n) => self
                            .parsed(n, "queue_target", parse_positive_number)
                            .map(Some),
                    };
                    let window = a.get("window").map_or(Some(SimTime::from_secs(30)), |n| {
                        self.positive_duration(n, "window")
                    });
                    let cold_start = a
                        .get("cold_start")
                        .map_or(Some(SimTime::from_secs(30)), |n| {
                            self.duration(n, "cold_start")
                        });
                    let cooldown = a
                        .get("cooldown")
                        .map_or(Some(SimTime::from_secs(120)), |n| {
                            self.duration(n, "cooldown")
                        });
                    let (min, max, target) = (min?, max?, target?);
                    if min > max {
                        self.error(
                            a.span,
                            format!("autoscale: `min` ({min}) is above `max` ({max})"),
                        );
                        return None;
                    }
                    if max > MAX_REPLICAS {
                        self.error(
                            a.key_span("max"),
                            format!("autoscale: `max` is above {MAX_REPLICAS}"),
                        );
                        return None;
                    }
                    if target <= 0.0 {
                        self.error(a.key_span("target"), "autoscale: `target` must be above 0%");
                        return None;
                    }
                    Some(Some(Autoscale {
                        min,
                        max,
                        target,
                        queue_target: queue_target?,
                        window: window?,
                        cold_start: cold_start?,
                        cooldown: cooldown?,
                    }))
                }),
        };
        if let (Some(Some(a)), Some(r)) = (
            &autoscale,
            f.get("replicas").map_or(Some(1), |n| {
                n.as_scalar().and_then(|t| t.parse::<u32>().ok())
            }),
        ) && (r < a.min || r > a.max)
        {
            self.error_hint(
                f.key_span("replicas"),
                format!("{r} replicas is outside autoscale's {}..{}", a.min, a.max),
                "with `autoscale`, `replicas` is the starting count, between `min` and `max`",
            );
        }
        let lifo = match f.get("queue_order") {
            None => Some(false),
            Some(n) => self
                .choice(n, "queue_order", &["fifo", "lifo"])
                .map(|o| o == "lifo"),
        };
        let timeout = f
            .get("timeout")
            .map(|n| self.positive_duration(n, "timeout"));
        let retry = f.get("retry").map(|n| self.retry(n));
        let breaker = f.get("breaker").map(|n| self.breaker(n));
        self.call_defaults = (timeout.flatten(), retry.flatten(), breaker.flatten());
        let handlers = f.get("handlers").and_then(|n| self.handlers(what, n));
        self.call_defaults = (None, None, None);
        Some(Service {
            replicas: replicas?,
            workers: workers?,
            queue: queue?,
            io: io?,
            balance: balance?,
            queue_timeout: queue_timeout?,
            lifo: lifo?,
            autoscale: autoscale?,
            handlers: handlers?,
            database: None,
        })
    }

    /// A replica's waiting room: `Some(None)` is unbounded, `None` an error reported.
    #[expect(
        clippy::option_option,
        reason = "the reader's convention: the outer `None` is an error already reported"
    )]
    pub(super) fn waiting_room(&mut self, f: &Fields<'_>) -> Option<Option<u32>> {
        match f.get("queue") {
            None => Some(None),
            Some(n) if n.as_scalar() == Some("unbounded") => Some(None),
            Some(n) => self
                .int_u32(n, "queue (a number of requests, or `unbounded`)", 0)
                .map(Some),
        }
    }

    pub(super) fn handlers(&mut self, what: &str, node: &Node) -> Option<Vec<Handler>> {
        let NodeKind::Map(raw) = &node.kind else {
            self.error_hint(
                node.span,
                format!(
                    "the handlers of {what} should be a mapping from request types to handlers"
                ),
                "write `handlers: { browse: { work: exp 4ms } }`",
            );
            return None;
        };
        if raw.is_empty() {
            self.error_hint(
                node.span,
                format!("{what} has no handlers"),
                "add at least one, e.g. `\"*\": { work: exp 4ms }`",
            );
            return None;
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut ok = true;
        let mut seen = BTreeSet::new();
        for (k, v) in raw {
            let Some(type_name) = self.key_text(k) else {
                ok = false;
                continue;
            };
            if !seen.insert(type_name) {
                self.error(
                    k.span,
                    format!("the handler for `{type_name}` is given twice in {what}"),
                );
                ok = false;
                continue;
            }
            let request = if type_name == "*" {
                None
            } else {
                self.request_type(type_name)
            };
            let hwhat = format!("the `{type_name}` handler of {what}");
            let handler = if v.is_null() {
                Some(Handler {
                    request,
                    work: Dist::Const(SimTime::ZERO),
                    steps: Vec::new(),
                    span: k.span,
                })
            } else {
                self.fields(v, &hwhat, schema::HANDLER).and_then(|hf| {
                    let work = hf
                        .get("work")
                        .map_or(Some(Dist::Const(SimTime::ZERO)), |n| self.dist(n, "work"));
                    let steps = hf
                        .get("calls")
                        .map_or(Some(Vec::new()), |n| self.steps(n, &hwhat));
                    Some(Handler {
                        request,
                        work: work?,
                        steps: steps?,
                        span: k.span,
                    })
                })
            };
            match handler {
                Some(h) => out.push(h),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}
