//! Building a run from a model: the runtime state of every component, handler, call, link
//! and workload, indexed by the model's ids, and the first events (arrivals, faults, health
//! checks, autoscaling windows, random crashes, time buckets).
//!
//! Everything a run needs is allocated or decided here, once, so that the event handlers
//! never look anything up by name.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::model::{Arrivals, CacheHits, ComponentKind, Io, MessageOrdering, Model, Step};
use crate::observe::{Integrals, Recorder};
use crate::sim::cache::{Lru, Popularity};
use crate::sim::queue::EventQueue;
use crate::sim::random::Stream;
use crate::sim::time::SimTime;

use super::autoscale::ScaleRt;
use super::balancers::{Health, LbTarget};
use super::breakers::{BreakerRt, BreakerState};
use super::caches::{CacheRt, aside_links};
use super::calls::CallRt;
use super::components::{CompRt, KindRt};
use super::database::DbRt;
use super::faults::RandomTarget;
use super::links::LinkTable;
use super::message_queues::{BrokerRt, ConsumerSlot};
use super::services::{HandlerRt, Instance};
use super::tasks::Slab;
use super::timers::{Lane, lane_for};
use super::workloads::WorkloadRt;
use super::{Ev, NONE, RunOptions, Simulation};
use super::{id16, id32};

impl Simulation {
    #[must_use]
    pub fn new(model: Arc<Model>, options: RunOptions) -> Self {
        let seed = options.seed.unwrap_or(model.seed);
        let end = options.duration.unwrap_or(model.duration);
        let warmup = options.warmup.unwrap_or(model.warmup).min(end);
        let n_types = model.request_types.len().max(1);
        let mut links = LinkTable::new(&model, seed);

        let mut lanes: Vec<Lane> = Vec::new();
        let mut breakers: Vec<BreakerRt> = Vec::new();
        let mut budgets: Vec<f64> = Vec::new();
        let mut bulkheads: Vec<(u32, u32)> = Vec::new();
        let mut comps = Vec::with_capacity(model.components.len());
        let mut instances = Vec::new();
        let mut handlers = Vec::new();
        let mut handler_of = vec![NONE; model.components.len() * n_types];
        for (ci, comp) in model.components.iter().enumerate() {
            let kind = match &comp.kind {
                ComponentKind::Service(s) => {
                    let first_instance = id32(instances.len());
                    let allocated = s.most_replicas();
                    for _ in 0..allocated {
                        instances.push(Instance {
                            up: true,
                            crashes: 0,
                            busy: 0,
                            in_system: 0,
                            queue: VecDeque::new(),
                        });
                    }
                    for h in &s.handlers {
                        let id = id32(handlers.len());
                        handlers.push(HandlerRt {
                            work: h.work.clone(),
                            steps: h
                                .steps
                                .iter()
                                .map(|step| {
                                    let calls = match step {
                                        Step::Call(c) => std::slice::from_ref(c),
                                        Step::Parallel(cs) => cs.as_slice(),
                                    };
                                    calls
                                        .iter()
                                        .map(|c| CallRt {
                                            to: c.to.0,
                                            request: c.request.map(|t| t.0),
                                            link: links.id(&comp.name, &model.component(c.to).name),
                                            timeout_lane: c
                                                .timeout
                                                .map(|t| lane_for(&mut lanes, t)),
                                            retry: c.retry.clone(),
                                            fallback: c.fallback,
                                            hedge_lane: c.hedge.map(|t| lane_for(&mut lanes, t)),
                                            bulkhead: c.concurrency.map(|limit| {
                                                bulkheads.push((limit, 0));
                                                id32(bulkheads.len() - 1)
                                            }),
                                            breaker: c.breaker.clone().map(|config| {
                                                breakers.push(BreakerRt {
                                                    config,
                                                    name: format!(
                                                        "{} → {}",
                                                        comp.name,
                                                        model.component(c.to).name
                                                    ),
                                                    state: BreakerState::Closed,
                                                    consecutive_failures: 0,
                                                    opened_at: SimTime::ZERO,
                                                    probes_out: 0,
                                                    window: [(0, 0); 10],
                                                    window_slot: 0,
                                                });
                                                id32(breakers.len() - 1)
                                            }),
                                            budget: c.retry.as_ref().and_then(|r| r.budget).map(
                                                |b| {
                                                    budgets.push(b.burst);
                                                    id32(budgets.len() - 1)
                                                },
                                            ),
                                        })
                                        .collect()
                                })
                                .collect(),
                        });
                        match h.request {
                            Some(t) => handler_of[ci * n_types + t.0 as usize] = id,
                            None => {
                                for slot in &mut handler_of[ci * n_types..(ci + 1) * n_types] {
                                    if *slot == NONE {
                                        *slot = id;
                                    }
                                }
                            }
                        }
                    }
                    KindRt::Service {
                        first_instance,
                        replicas: s.replicas,
                        allocated,
                        workers_per_replica: s.workers,
                        scale: s.autoscale.clone().map(|config| {
                            Box::new(ScaleRt {
                                config,
                                starting: 0,
                                last_change: SimTime::ZERO,
                                at_last_decision: Integrals::default(),
                            })
                        }),
                        workers: s.workers,
                        queue_cap: s.queue.unwrap_or(u32::MAX),
                        io_async: s.io == Io::Async,
                        balance: s.balance,
                        queue_timeout: s.queue_timeout,
                        lifo: s.lifo,
                    }
                }
                ComponentKind::LoadBalancer(lb) => {
                    let mut targets = Vec::new();
                    for b in &lb.backends {
                        let link = links.id(&comp.name, &model.component(*b).name);
                        match &model.component(*b).kind {
                            ComponentKind::Service(s) => {
                                // Instances of later components are not created yet; their
                                // numbers are fixed up below.
                                let allocated = s.most_replicas();
                                for r in 0..allocated {
                                    targets.push(LbTarget {
                                        comp: b.0,
                                        instance: r,
                                        link,
                                    });
                                }
                            }
                            _ => targets.push(LbTarget {
                                comp: b.0,
                                instance: NONE,
                                link,
                            }),
                        }
                    }
                    KindRt::Balancer {
                        policy: lb.policy,
                        outstanding: vec![0; targets.len()],
                        health: Box::new(Health::new(
                            targets.len(),
                            lb.health_check.clone(),
                            lb.outlier.clone(),
                        )),
                        targets,
                        latency: lb.latency.clone(),
                    }
                }
                ComponentKind::External(e) => match (comp.kind.cache(), comp.kind.queue()) {
                    (None, Some(q)) => KindRt::Queue(Box::new(BrokerRt {
                        latency: e.latency.clone(),
                        durable: q.durable,
                        visibility_lane: lane_for(&mut lanes, q.visibility_timeout),
                        max_deliveries: q.max_deliveries,
                        capacity: q.capacity.unwrap_or(u32::MAX),
                        slots: q
                            .consumers
                            .iter()
                            .flat_map(|&c| {
                                let (replicas, workers) = match &model.component(c).kind {
                                    ComponentKind::Service(s) => (s.most_replicas(), s.workers),
                                    _ => (0, 0),
                                };
                                let link = links.id(&comp.name, &model.component(c).name);
                                (0..replicas).map(move |r| ConsumerSlot {
                                    comp: c.0,
                                    replica: r,
                                    instance: NONE,
                                    link,
                                    prefetch: q.prefetch.unwrap_or(workers),
                                    outstanding: 0,
                                })
                            })
                            .collect(),
                        next_slot: 0,
                        backlog: VecDeque::new(),
                        unacked: 0,
                        ordering: q.ordering,
                        partition_busy: match q.ordering {
                            MessageOrdering::PerKey { partitions } => {
                                vec![0; partitions as usize]
                            }
                            _ => Vec::new(),
                        },
                        depends_on: {
                            let mut v = vec![u16::MAX; n_types];
                            for (a, b) in &q.depends {
                                v[a.0 as usize] = b.0;
                            }
                            v
                        },
                        is_dependency: {
                            let mut v = vec![false; n_types];
                            for (_, b) in &q.depends {
                                v[b.0 as usize] = true;
                            }
                            v
                        },
                        latest: BTreeMap::new(),
                    })),
                    (None, None) => KindRt::External {
                        latency: e.latency.clone(),
                        error_fraction: e.error_fraction,
                    },
                    (Some(cache), _) => {
                        let mut writes = vec![false; n_types];
                        for t in &cache.writes {
                            writes[t.0 as usize] = true;
                        }
                        let backing = &model.component(cache.backing).name;
                        KindRt::Cache(Box::new(CacheRt {
                            latency: e.latency.clone(),
                            mode: cache.mode,
                            on_write: cache.on_write,
                            backing: cache.backing.0,
                            backing_request: cache.backing_request.map(|t| t.0),
                            backing_link: if cache.mode.cache_reads_store() {
                                links.id(&comp.name, backing)
                            } else {
                                NONE
                            },
                            aside: Vec::new(),
                            hit_ratio: match &cache.hits {
                                CacheHits::Fixed(p) => *p,
                                CacheHits::Keys(_) => 0.0,
                            },
                            keys: match &cache.hits {
                                CacheHits::Fixed(_) => None,
                                CacheHits::Keys(space) => Some((
                                    Lru::new(space.keys, space.capacity, space.ttl),
                                    Popularity::new(space),
                                )),
                            },
                            coalesce: cache.coalesce,
                            writes,
                            inflight: BTreeMap::new(),
                            key_rng: Stream::derive(seed, &comp.name, "keys"),
                        }))
                    }
                },
            };
            comps.push(CompRt {
                kind,
                db: NONE,
                work_rng: Stream::derive(seed, &comp.name, "work"),
                route_rng: Stream::derive(seed, &comp.name, "route"),
                retry_rng: Stream::derive(seed, &comp.name, "retry"),
                up: true,
                crashes: 0,
                slow: None,
                lost_workers: 0,
                pauses: 0,
                paused_before: SimTime::ZERO,
                paused_since: SimTime::ZERO,
                parked: Vec::new(),
                parked_timers: Vec::new(),
                inside: Vec::new(),
                fault_errors: 0.0,
                error_counts: Vec::new(),
                next_rr: 0,
                busy: 0,
                queued: 0,
                last_change: SimTime::ZERO,
                busy_area: 0.0,
                queue_area: 0.0,
                capacity: match &comp.kind {
                    ComponentKind::Service(s) => s.replicas * s.workers,
                    _ => 0,
                },
                capacity_area: 0.0,
            });
        }
        aside_links(&model, &mut comps, &mut links);
        // Balancer targets were recorded as replica numbers; make them global instances.
        let firsts: Vec<u32> = comps
            .iter()
            .map(|c| match c.kind {
                KindRt::Service { first_instance, .. } => first_instance,
                _ => NONE,
            })
            .collect();
        for c in &mut comps {
            if let KindRt::Balancer { targets, .. } = &mut c.kind {
                for t in targets.iter_mut().filter(|t| t.instance != NONE) {
                    t.instance += firsts[t.comp as usize];
                }
            }
            if let KindRt::Queue(b) = &mut c.kind {
                for s in &mut b.slots {
                    s.instance = firsts[s.comp as usize] + s.replica;
                }
            }
        }
        let brokers: Vec<u32> = comps
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.kind, KindRt::Queue(_)))
            .map(|(i, _)| id32(i))
            .collect();

        let workloads = model
            .workloads
            .iter()
            .map(|w| {
                let lane = w.timeout.map(|timeout| lane_for(&mut lanes, timeout));
                let (steps, think) = match &w.arrivals {
                    Arrivals::Open { steps } => (steps.clone(), None),
                    Arrivals::Closed { think, .. } => (Vec::new(), Some(think.clone())),
                };
                WorkloadRt {
                    mean_gap_ns: f64::INFINITY,
                    step_ends: SimTime::ZERO,
                    target: w.target.0,
                    link: links.id(&w.name, &model.component(w.target).name),
                    steps,
                    think,
                    mix: w.mix.iter().map(|&(t, p)| (t.0, p)).collect(),
                    lane,
                    arrival_rng: Stream::derive(seed, &w.name, "arrivals"),
                    mix_rng: Stream::derive(seed, &w.name, "mix"),
                }
            })
            .collect();

        let mut random = Vec::new();
        for (ci, comp) in model.components.iter().enumerate() {
            if comp.random_failures.is_some() {
                // An autoscaled service gets a failure clock for every replica it may
                // start: each runs from when that replica becomes ready.
                let replicas = match &comp.kind {
                    ComponentKind::Service(s) => (0..s.most_replicas()).map(Some).collect(),
                    _ => vec![None],
                };
                for replica in replicas {
                    let owner = match replica {
                        Some(r) => format!("{}[{r}]", comp.name),
                        None => comp.name.clone(),
                    };
                    random.push(RandomTarget {
                        comp: ci,
                        replica,
                        stream: Stream::derive(seed, &owner, "failures"),
                        armed: false,
                    });
                }
            }
        }
        let mut dbs = Vec::new();
        for (ci, comp) in model.components.iter().enumerate() {
            if let (
                Some(db),
                KindRt::Service {
                    first_instance,
                    allocated,
                    ..
                },
            ) = (comp.kind.database(), &comps[ci].kind)
            {
                let rt = DbRt::new(&model, ci, db, *first_instance, *allocated, seed);
                comps[ci].db = id32(dbs.len());
                dbs.push(rt);
            }
        }
        let mut recorder = Recorder::new(&model, end, warmup);
        recorder.set_breakers(breakers.iter().map(|b| b.name.clone()).collect());
        let mut sim = Simulation {
            seed,
            now: SimTime::ZERO,
            end,
            queue: EventQueue::new(),
            immediate: VecDeque::with_capacity(64),
            events: 0,
            inline_depth: 0,
            n_types,
            comps,
            instances,
            handlers,
            handler_of,
            links: links.finish(),
            workloads,
            lanes,
            faults: model.faults.clone(),
            fault_active: vec![false; model.faults.len()],
            fault_left: vec![0; model.faults.len()],
            trace: None,
            traces: None,
            random,
            tasks: Slab::new(),
            roots: Slab::new(),
            calls: Slab::new(),
            messages: Slab::new(),
            message_serials: 0,
            stopped: None,
            deliveries: Slab::new(),
            brokers,
            breakers,
            bulkheads,
            budgets,
            recorder,
            buckets_left: model.series_buckets.max(1),
            dbs,
            db_events: Slab::new(),
            model,
        };
        sim.schedule_start(warmup);
        sim
    }

    pub(super) fn schedule_start(&mut self, warmup: SimTime) {
        if warmup > SimTime::ZERO {
            self.queue.push(warmup, Ev::WarmupEnd);
        }
        for ci in 0..self.comps.len() {
            if let KindRt::Service { scale: Some(_), .. } = &self.comps[ci].kind {
                self.refresh_serving(ci);
            }
        }
        for (ci, c) in self.comps.iter().enumerate() {
            if let KindRt::Service { scale: Some(s), .. } = &c.kind {
                self.queue.push(s.config.window, Ev::Autoscale(id32(ci)));
            }
            if let KindRt::Balancer { health, .. } = &c.kind
                && let Some(check) = &health.check
            {
                self.queue.push(check.interval, Ev::HealthCheck(id32(ci)));
            }
        }
        for i in 0..self.random.len() {
            let target = &self.random[i];
            let starting = match (&self.model.components[target.comp].kind, target.replica) {
                (ComponentKind::Service(s), Some(r)) => r < s.replicas,
                _ => true,
            };
            if starting {
                self.arm_random_failure(id32(i));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            let i = id32(i);
            // A fault that starts as the run ends changes nothing: the run stops at its
            // duration, and what is in flight then is reported in flight.
            if f.at < self.end {
                self.queue.push(f.at, Ev::FaultStart(i));
                if let Some(d) = f.duration
                    && f.at + d <= self.end
                {
                    self.queue.push(f.at + d, Ev::FaultEnd(i));
                }
            }
        }
        self.schedule_next_bucket();
        for wi in 0..self.workloads.len() {
            let w = id16(wi);
            match &self.model.workloads[wi].arrivals {
                Arrivals::Open { .. } => self.schedule_arrival(w, SimTime::ZERO),
                Arrivals::Closed { users, .. } => {
                    for _ in 0..*users {
                        self.schedule_user(w);
                    }
                }
            }
        }
    }
}
