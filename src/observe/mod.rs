//! Observation: what a run measured, recorded as it happens and summed up into a [`Report`].
//!
//! The engine pushes facts into a [`Recorder`] (a request ended, a component finished a task,
//! a time bucket closed); the recorder keeps counters, HDR histograms and fixed-width time
//! buckets, so its memory stays flat however long the run. It never reads the engine's state
//! and never decides anything about the simulation.

pub mod explain;
pub mod histogram;
pub mod recent;
pub mod report;
pub mod trace;
pub mod waterfall;

use std::collections::BTreeMap;

pub use histogram::LatencyHistogram;
pub use report::{
    CacheReport, ComponentReport, ComponentSeries, LatencySummary, LogEntry, QueueReport, Recovery,
    Report, RequestReport, RequestSeries, ResponseSummary, SeriesReport, Totals,
};

use crate::model::{ComponentKind, Model};
use crate::shared::time::SimTime;

pub use crate::model::Cause;

/// How a request that did not fail was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Full,
    /// Some part of it came from a fallback.
    Degraded,
}

/// Time integrals of one component up to an instant: worker-nanoseconds busy and
/// request-nanoseconds waiting, summed over its replicas.
#[derive(Debug, Clone, Copy, Default)]
pub struct Integrals {
    pub busy_ns: f64,
    pub queue_ns: f64,
    /// Worker-nanoseconds of ready replicas: the denominator of utilisation, which changes
    /// when a service scales.
    pub capacity_ns: f64,
}

#[derive(Debug)]
struct TypeStats {
    count: u64,
    ok: u64,
    ok_degraded: u64,
    failed: [u64; 5],
    latency: LatencyHistogram,
}

#[derive(Debug)]
struct ComponentStats {
    completions: u64,
    arrivals: u64,
    retries: u64,
    abandoned: u64,
    short_circuited: u64,
    fallbacks: u64,
    hedges: u64,
    bulkhead_rejected: u64,
    rejected: u64,
    queue_max: u32,
    response: LatencyHistogram,
    at_warmup: Integrals,
    cache: CacheStats,
    queue: QueueStats,
}

/// A message queue's counts over the whole run, so that they add up with its state at the
/// end.
#[derive(Debug, Default, Clone, Copy)]
struct QueueStats {
    enqueued: u64,
    delivered: u64,
    redelivered: u64,
    acked: u64,
    duplicates: u64,
    dead_lettered: u64,
    lost: u64,
    causal_violations: u64,
}

/// A message queue's state at an instant, from the engine.
#[derive(Debug, Clone, Copy)]
pub struct QueueState {
    pub component: usize,
    /// Messages waiting to be delivered.
    pub backlog: u64,
    /// Messages delivered and not yet acknowledged.
    pub unacked: u64,
    /// How long the message at the head of the backlog has been in the queue.
    pub head_age_s: Option<f64>,
}

/// A cache's counts over the window.
#[derive(Debug, Default, Clone, Copy)]
struct CacheStats {
    hits: u64,
    misses: u64,
    coalesced: u64,
    evictions: u64,
    invalidations: u64,
    writes: u64,
    updates: u64,
}

#[derive(Debug, Default, Clone)]
struct Bucket {
    ok: u64,
    degraded: u64,
    failed: [u64; 5],
    p50_s: Option<f64>,
    p99_s: Option<f64>,
    /// Per component: completions in the bucket, the integrals and ready replicas at its end.
    completions: Vec<u64>,
    integrals: Vec<Integrals>,
    replicas: Vec<u32>,
    /// Per circuit breaker: its state at the bucket's end.
    breakers: Vec<&'static str>,
    /// Per request type: answered and failed in the bucket.
    answered_by_type: Vec<u64>,
    failed_by_type: Vec<u64>,
    /// Per component, when the model has caches: lookups that hit and that missed.
    cache_lookups: Vec<(u64, u64)>,
    /// Each message queue's state at the bucket's end.
    queues: Vec<QueueState>,
}

/// Entries of the event log a run keeps; later ones are only counted.
pub const MAX_LOG: usize = 10_000;

#[derive(Debug)]
pub struct Recorder {
    warmup: SimTime,
    bucket_width: SimTime,
    measuring: bool,
    generated: u64,
    ok: u64,
    ok_degraded: u64,
    failed: [u64; 5],
    types: Vec<TypeStats>,
    components: Vec<ComponentStats>,
    buckets: Vec<Bucket>,
    open: Bucket,
    bucket_latency: LatencyHistogram,
    log: Vec<LogEntry>,
    /// Entries beyond `MAX_LOG` that were counted and not kept.
    log_not_kept: u64,
    breaker_names: Vec<String>,
    /// Components in a bucket's `cache_lookups`: all of them when the model has a cache,
    /// none otherwise, so models without caches pay nothing per bucket.
    cache_slots: usize,
}

impl Recorder {
    #[must_use]
    pub fn new(model: &Model, end: SimTime, warmup: SimTime) -> Self {
        let n_buckets = model.series_buckets.max(1);
        let bucket_width = SimTime::from_nanos((end.as_nanos() / u64::from(n_buckets)).max(1));
        let n_comp = model.components.len();
        let cache_slots = if model.components.iter().any(|c| c.kind.cache().is_some()) {
            n_comp
        } else {
            0
        };
        Recorder {
            warmup,
            bucket_width,
            measuring: warmup == SimTime::ZERO,
            generated: 0,
            ok: 0,
            ok_degraded: 0,
            failed: [0; 5],
            types: model
                .request_types
                .iter()
                .map(|_| TypeStats {
                    count: 0,
                    ok: 0,
                    ok_degraded: 0,
                    failed: [0; 5],
                    latency: LatencyHistogram::new(3),
                })
                .collect(),
            components: (0..n_comp)
                .map(|_| ComponentStats {
                    completions: 0,
                    arrivals: 0,
                    retries: 0,
                    abandoned: 0,
                    short_circuited: 0,
                    fallbacks: 0,
                    hedges: 0,
                    bulkhead_rejected: 0,
                    rejected: 0,
                    queue_max: 0,
                    response: LatencyHistogram::new(3),
                    at_warmup: Integrals::default(),
                    cache: CacheStats::default(),
                    queue: QueueStats::default(),
                })
                .collect(),
            buckets: Vec::with_capacity(n_buckets as usize),
            open: Bucket {
                completions: vec![0; n_comp],
                answered_by_type: vec![0; model.request_types.len()],
                failed_by_type: vec![0; model.request_types.len()],
                cache_lookups: vec![(0, 0); cache_slots],
                ..Bucket::default()
            },
            bucket_latency: LatencyHistogram::new(2),
            log: Vec::new(),
            log_not_kept: 0,
            breaker_names: Vec::new(),
            cache_slots,
        }
    }

    #[must_use]
    pub fn bucket_width(&self) -> SimTime {
        self.bucket_width
    }

    /// Whether the warm-up is over, so that what happens now counts in the statistics.
    #[must_use]
    #[inline]
    pub fn measuring(&self) -> bool {
        self.measuring
    }

    #[inline]
    pub fn request_started(&mut self, request_type: usize, counted: bool) {
        self.generated += 1;
        if counted {
            self.types[request_type].count += 1;
        }
    }

    /// A top-level request ended. `counted` says whether it started after the warm-up.
    #[inline]
    pub fn request_ended(
        &mut self,
        request_type: usize,
        counted: bool,
        latency: SimTime,
        outcome: Result<Answer, Cause>,
    ) {
        match outcome {
            Ok(answer) => {
                let degraded = answer == Answer::Degraded;
                if degraded {
                    self.ok_degraded += 1;
                    self.open.degraded += 1;
                } else {
                    self.ok += 1;
                    self.open.ok += 1;
                }
                self.bucket_latency.record(latency.as_nanos());
                self.open.answered_by_type[request_type] += 1;
                if counted {
                    let t = &mut self.types[request_type];
                    if degraded {
                        t.ok_degraded += 1;
                    } else {
                        t.ok += 1;
                    }
                    t.latency.record(latency.as_nanos());
                }
            }
            Err(cause) => {
                let i = cause.index();
                self.failed[i] += 1;
                self.open.failed[i] += 1;
                self.open.failed_by_type[request_type] += 1;
                if counted {
                    self.types[request_type].failed[i] += 1;
                }
            }
        }
    }

    /// A component finished a task; `response` is its arrival-to-answer time when the task
    /// arrived after the warm-up.
    #[inline]
    pub fn task_finished(&mut self, component: usize, response: Option<SimTime>) {
        self.open.completions[component] += 1;
        let c = &mut self.components[component];
        if self.measuring {
            c.completions += 1;
        }
        if let Some(r) = response {
            c.response.record(r.as_nanos());
        }
    }

    /// A request (or one attempt of a call) reached the component.
    #[inline]
    pub fn arrived(&mut self, component: usize) {
        if self.measuring {
            self.components[component].arrivals += 1;
        }
    }

    /// The component sent a retry of one of its calls.
    #[inline]
    pub fn retried(&mut self, component: usize) {
        if self.measuring {
            self.components[component].retries += 1;
        }
    }

    /// The component served a fallback for a call that failed for good.
    #[inline]
    pub fn fell_back(&mut self, component: usize) {
        if self.measuring {
            self.components[component].fallbacks += 1;
        }
    }

    /// The component sent a hedged copy of one of its calls.
    #[inline]
    pub fn hedged(&mut self, component: usize) {
        if self.measuring {
            self.components[component].hedges += 1;
        }
    }

    /// One of the component's calls was refused at once by its full bulkhead.
    #[inline]
    pub fn bulkhead_rejected(&mut self, component: usize) {
        if self.measuring {
            self.components[component].bulkhead_rejected += 1;
        }
    }

    /// One of the component's calls was refused at once by its open circuit breaker.
    #[inline]
    pub fn short_circuited(&mut self, component: usize) {
        if self.measuring {
            self.components[component].short_circuited += 1;
        }
    }

    /// The component finished work whose caller had already stopped waiting for it.
    #[inline]
    pub fn abandoned(&mut self, component: usize) {
        if self.measuring {
            self.components[component].abandoned += 1;
        }
    }

    /// A cache lookup found its key (or, with a fixed hit ratio, was drawn a hit) or not.
    pub fn cache_lookup(&mut self, component: usize, hit: bool) {
        let b = &mut self.open.cache_lookups[component];
        if hit {
            b.0 += 1;
        } else {
            b.1 += 1;
        }
        if self.measuring {
            let c = &mut self.components[component].cache;
            if hit {
                c.hits += 1;
            } else {
                c.misses += 1;
            }
        }
    }

    /// A cache miss waited for a fetch of the same key already under way.
    pub fn cache_coalesced(&mut self, component: usize) {
        if self.measuring {
            self.components[component].cache.coalesced += 1;
        }
    }

    /// A fill pushed the least recently used entry out of a full cache.
    pub fn cache_evicted(&mut self, component: usize) {
        if self.measuring {
            self.components[component].cache.evictions += 1;
        }
    }

    pub fn message_enqueued(&mut self, component: usize) {
        self.components[component].queue.enqueued += 1;
    }

    /// A message went to a consumer; `again` when it had been delivered before.
    pub fn message_delivered(&mut self, component: usize, again: bool) {
        let q = &mut self.components[component].queue;
        q.delivered += 1;
        q.redelivered += u64::from(again);
    }

    pub fn message_acked(&mut self, component: usize) {
        self.components[component].queue.acked += 1;
    }

    /// A consumer finished a message that had already been processed successfully.
    pub fn message_duplicated(&mut self, component: usize) {
        self.components[component].queue.duplicates += 1;
    }

    pub fn message_dead_lettered(&mut self, component: usize) {
        self.components[component].queue.dead_lettered += 1;
    }

    /// A message was processed before a message it depends on.
    pub fn causal_violation(&mut self, component: usize) {
        self.components[component].queue.causal_violations += 1;
    }

    /// A message vanished with a non-durable queue's crash.
    pub fn message_lost(&mut self, component: usize) {
        self.components[component].queue.lost += 1;
    }

    /// A write removed its key from a cache.
    pub fn cache_invalidated(&mut self, component: usize) {
        if self.measuring {
            self.components[component].cache.invalidations += 1;
        }
    }

    /// A write reached a cache.
    pub fn cache_write(&mut self, component: usize) {
        if self.measuring {
            self.components[component].cache.writes += 1;
        }
    }

    /// A write installed its key in a cache.
    pub fn cache_updated(&mut self, component: usize) {
        if self.measuring {
            self.components[component].cache.updates += 1;
        }
    }

    #[inline]
    pub fn rejected(&mut self, component: usize) {
        if self.measuring {
            self.components[component].rejected += 1;
        }
    }

    #[inline]
    pub fn queue_length(&mut self, component: usize, len: u32) {
        if self.measuring {
            let c = &mut self.components[component];
            c.queue_max = c.queue_max.max(len);
        }
    }

    pub fn log(&mut self, at: SimTime, kind: &str, message: String) {
        if self.log.len() >= MAX_LOG {
            // A fault flapping every millisecond for an hour would log millions of lines:
            // the first ones tell the story, the rest are counted.
            self.log_not_kept += 1;
            return;
        }
        self.log.push(LogEntry {
            t_s: at.as_secs_f64(),
            kind: kind.to_string(),
            message,
        });
    }

    /// The warm-up ended: statistics start from here.
    pub fn warmup_reached(&mut self, integrals: &[Integrals], queue_lengths: &[u32]) {
        self.measuring = true;
        for ((c, i), &q) in self.components.iter_mut().zip(integrals).zip(queue_lengths) {
            c.at_warmup = *i;
            c.queue_max = q;
        }
    }

    /// Names the circuit breakers whose states `bucket_closed` will report.
    pub fn set_breakers(&mut self, names: Vec<String>) {
        self.breaker_names = names;
    }

    /// Closes the time bucket that ends now, with each component's integrals and ready
    /// replicas and each breaker's state at this moment.
    pub fn bucket_closed(
        &mut self,
        integrals: &[Integrals],
        replicas: &[u32],
        breakers: Vec<&'static str>,
        queues: &[QueueState],
    ) {
        self.open.breakers = breakers;
        let mut closed = std::mem::replace(
            &mut self.open,
            Bucket {
                completions: vec![0; self.components.len()],
                answered_by_type: vec![0; self.types.len()],
                failed_by_type: vec![0; self.types.len()],
                cache_lookups: vec![(0, 0); self.cache_slots],
                ..Bucket::default()
            },
        );
        closed.p50_s = self.bucket_latency.quantile_s(0.5);
        closed.p99_s = self.bucket_latency.quantile_s(0.99);
        closed.integrals = integrals.to_vec();
        closed.replicas = replicas.to_vec();
        closed.queues = queues.to_vec();
        self.bucket_latency.reset();
        self.buckets.push(closed);
    }

    /// Builds the report at the end of the run.
    #[must_use]
    pub fn finish(self, end: &Finish<'_>) -> Report {
        self.report(end)
    }

    /// Builds the report of the run so far; the series hold the closed time buckets.
    #[must_use]
    pub fn report(&self, end: &Finish<'_>) -> Report {
        let &Finish {
            model,
            seed,
            now,
            integrals,
            in_flight_by_type,
            in_flight,
            sim_events,
            queues: queue_states,
            databases,
        } = end;
        let window_s = (now - self.warmup).as_secs_f64().max(f64::MIN_POSITIVE);
        let requests = model
            .request_types
            .iter()
            .zip(&self.types)
            .zip(in_flight_by_type)
            .map(|((name, t), &in_flight)| {
                let failed: u64 = t.failed.iter().sum();
                let h = &t.latency;
                (
                    name.clone(),
                    RequestReport {
                        count: t.count,
                        ok: t.ok,
                        ok_degraded: t.ok_degraded,
                        failed,
                        in_flight,
                        failed_by_cause: causes(&t.failed),
                        throughput_per_s: (t.ok + t.ok_degraded) as f64 / window_s,
                        latency_s: LatencySummary {
                            mean: h.mean_s(),
                            p50: h.quantile_s(0.5),
                            p90: h.quantile_s(0.9),
                            p99: h.quantile_s(0.99),
                            p999: h.quantile_s(0.999),
                            max: h.max_s(),
                        },
                    },
                )
            })
            .collect();

        let width_s = self.bucket_width.as_secs_f64();
        let mut components = BTreeMap::new();
        let mut comp_series = BTreeMap::new();
        for (ci, (comp, stats)) in model.components.iter().zip(&self.components).enumerate() {
            let (replicas, is_service) = match &comp.kind {
                ComponentKind::Service(s) => (s.replicas, true),
                ComponentKind::LoadBalancer(_) | ComponentKind::External(_) => (1, false),
            };
            let queues = is_service;
            let end_i = integrals[ci];
            let busy = end_i.busy_ns - stats.at_warmup.busy_ns;
            let capacity_ns = end_i.capacity_ns - stats.at_warmup.capacity_ns;
            let queued = end_i.queue_ns - stats.at_warmup.queue_ns;
            let window_ns = window_s * 1e9;
            let h = &stats.response;
            components.insert(
                comp.name.clone(),
                ComponentReport {
                    kind: comp.kind.label().to_string(),
                    replicas,
                    throughput_per_s: stats.completions as f64 / window_s,
                    arrivals: stats.arrivals,
                    retries_sent: stats.retries,
                    abandoned: stats.abandoned,
                    short_circuited: stats.short_circuited,
                    fallbacks: stats.fallbacks,
                    hedges_sent: stats.hedges,
                    bulkhead_rejected: stats.bulkhead_rejected,
                    utilization: is_service.then(|| busy / capacity_ns.max(f64::MIN_POSITIVE)),
                    queue_mean: queues.then(|| queued / window_ns),
                    queue_max: queues.then_some(stats.queue_max),
                    rejected: stats.rejected,
                    response_s: ResponseSummary {
                        mean: h.mean_s(),
                        p50: h.quantile_s(0.5),
                        p99: h.quantile_s(0.99),
                    },
                    cache: comp.kind.cache().map(|_| {
                        let c = stats.cache;
                        CacheReport {
                            hits: c.hits,
                            misses: c.misses,
                            hit_ratio: ratio(c.hits, c.misses),
                            coalesced: c.coalesced,
                            evictions: c.evictions,
                            invalidations: c.invalidations,
                            writes: c.writes,
                            updates: c.updates,
                        }
                    }),
                    queue: queue_states.iter().find(|q| q.component == ci).map(|end| {
                        let q = stats.queue;
                        QueueReport {
                            enqueued: q.enqueued,
                            delivered: q.delivered,
                            redelivered: q.redelivered,
                            acked: q.acked,
                            duplicates: q.duplicates,
                            dead_lettered: q.dead_lettered,
                            lost: q.lost,
                            causal_violations: q.causal_violations,
                            backlog: end.backlog,
                            unacked: end.unacked,
                        }
                    }),
                    database: databases
                        .iter()
                        .find(|db| db.component == ci)
                        .map(|db| db.report.clone()),
                },
            );
            let mut previous = Integrals::default();
            let mut series = ComponentSeries::default();
            for b in &self.buckets {
                let i = b.integrals[ci];
                let width_ns = width_s * 1e9;
                series
                    .throughput_per_s
                    .push(b.completions[ci] as f64 / width_s);
                let capacity = i.capacity_ns - previous.capacity_ns;
                series.utilization.push(
                    is_service
                        .then(|| (i.busy_ns - previous.busy_ns) / capacity.max(f64::MIN_POSITIVE)),
                );
                series.replicas.push(b.replicas[ci]);
                series
                    .queue_mean
                    .push(queues.then(|| (i.queue_ns - previous.queue_ns) / width_ns));
                previous = i;
            }
            if comp.kind.cache().is_some() {
                series.hit_ratio = Some(
                    self.buckets
                        .iter()
                        .map(|b| {
                            let (hits, misses) = b.cache_lookups[ci];
                            ratio(hits, misses)
                        })
                        .collect(),
                );
            }
            if comp.kind.queue().is_some() {
                let at = |b: &Bucket| b.queues.iter().find(|q| q.component == ci).copied();
                series.backlog = Some(
                    self.buckets
                        .iter()
                        .map(|b| at(b).map_or(0, |q| q.backlog))
                        .collect(),
                );
                series.backlog_age_s = Some(
                    self.buckets
                        .iter()
                        .map(|b| at(b).and_then(|q| q.head_age_s))
                        .collect(),
                );
            }
            if let Some(db) = databases.iter().find(|db| db.component == ci) {
                series.replica_lag_s = Some(db.lag_series.clone());
            }
            comp_series.insert(comp.name.clone(), series);
        }

        let mut failed_by_cause = BTreeMap::new();
        for cause in Cause::ALL {
            if self.buckets.iter().any(|b| b.failed[cause.index()] > 0) {
                failed_by_cause.insert(
                    cause.as_str().to_string(),
                    self.buckets
                        .iter()
                        .map(|b| b.failed[cause.index()] as f64 / width_s)
                        .collect(),
                );
            }
        }
        let series = SeriesReport {
            bucket_s: width_s,
            t_s: (0..self.buckets.len())
                .map(|k| k as f64 * width_s)
                .collect(),
            throughput_per_s: self
                .buckets
                .iter()
                .map(|b| (b.ok + b.degraded) as f64 / width_s)
                .collect(),
            degraded_per_s: self
                .buckets
                .iter()
                .map(|b| b.degraded as f64 / width_s)
                .collect(),
            failed_per_s: self
                .buckets
                .iter()
                .map(|b| b.failed.iter().sum::<u64>() as f64 / width_s)
                .collect(),
            failed_by_cause,
            latency_p50_s: self.buckets.iter().map(|b| b.p50_s).collect(),
            latency_p99_s: self.buckets.iter().map(|b| b.p99_s).collect(),
            components: comp_series,
            breakers: self
                .breaker_names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    (
                        name.clone(),
                        self.buckets
                            .iter()
                            .map(|b| b.breakers.get(i).copied().unwrap_or("closed").to_string())
                            .collect(),
                    )
                })
                .collect(),
            requests: model
                .request_types
                .iter()
                .enumerate()
                .map(|(t, name)| {
                    let per_s = |v: u64| v as f64 / width_s;
                    (
                        name.clone(),
                        RequestSeries {
                            answered_per_s: self
                                .buckets
                                .iter()
                                .map(|b| per_s(b.answered_by_type[t]))
                                .collect(),
                            failed_per_s: self
                                .buckets
                                .iter()
                                .map(|b| per_s(b.failed_by_type[t]))
                                .collect(),
                            availability: self
                                .buckets
                                .iter()
                                .map(|b| {
                                    let done = b.answered_by_type[t] + b.failed_by_type[t];
                                    (done > 0).then(|| b.answered_by_type[t] as f64 / done as f64)
                                })
                                .collect(),
                        },
                    )
                })
                .collect(),
        };

        let recoveries = self.recoveries(width_s);
        Report {
            recoveries,
            model: model.name.clone(),
            seed,
            duration_s: now.as_secs_f64(),
            warmup_s: self.warmup.as_secs_f64(),
            totals: Totals {
                generated: self.generated,
                ok: self.ok,
                ok_degraded: self.ok_degraded,
                failed: self.failed.iter().sum(),
                in_flight,
            },
            requests,
            components,
            series,
            events: self.log.clone(),
            events_not_kept: self.log_not_kept,
            sim_events,
        }
    }
}

impl Recorder {
    /// Time to recover after each fault's end, from the time buckets: the first bucket
    /// starting at or after the end whose failed share is within one percentage point of
    /// the share before the first fault. Its resolution is one bucket.
    fn recoveries(&self, width_s: f64) -> Vec<Recovery> {
        let share = |b: &Bucket| {
            let failed: u64 = b.failed.iter().sum();
            let done = b.ok + b.degraded + failed;
            (done > 0).then(|| failed as f64 / done as f64)
        };
        let first_fault = self
            .log
            .iter()
            .find(|e| e.kind == "fault")
            .map_or(f64::INFINITY, |e| e.t_s);
        let (mut failed, mut done) = (0u64, 0u64);
        for (k, b) in self.buckets.iter().enumerate() {
            if (k + 1) as f64 * width_s > first_fault {
                break;
            }
            let f: u64 = b.failed.iter().sum();
            failed += f;
            done += b.ok + b.degraded + f;
        }
        let baseline = if done > 0 {
            failed as f64 / done as f64
        } else {
            0.0
        };
        self.log
            .iter()
            .filter(|e| e.kind == "recovery")
            .map(|e| {
                // The first bucket starting at or after the end (a bucket index: small,
                // non-negative).
                let first = self
                    .buckets
                    .iter()
                    .enumerate()
                    .find(|(k, _)| *k as f64 * width_s >= e.t_s - 1e-9)
                    .map_or(self.buckets.len(), |(k, _)| k);
                let recovered_s = self
                    .buckets
                    .iter()
                    .enumerate()
                    .skip(first)
                    .find(|(_, b)| share(b).is_some_and(|s| s <= baseline + 0.01))
                    .map(|(k, _)| k as f64 * width_s);
                Recovery {
                    after: e.message.clone(),
                    ended_s: e.t_s,
                    recovered_s,
                    time_to_recover_s: recovered_s.map(|r| (r - e.t_s).max(0.0)),
                }
            })
            .collect()
    }
}

/// What the engine knows at the end of a run that the recorder does not.
pub struct Finish<'a> {
    pub model: &'a Model,
    pub seed: u64,
    pub now: SimTime,
    pub integrals: &'a [Integrals],
    pub in_flight_by_type: &'a [u64],
    pub in_flight: u64,
    pub sim_events: u64,
    /// The message queues' state at the end.
    pub queues: &'a [QueueState],
    /// The databases' figures.
    pub databases: &'a [DatabaseState],
}

/// What the report needs of one database at the end of a run.
pub struct DatabaseState {
    pub component: usize,
    pub report: report::DatabaseReport,
    /// Per node name: its replication lag at the end of each time bucket.
    pub lag_series: BTreeMap<String, Vec<f64>>,
}

/// Hits over lookups; `None` without any.
fn ratio(hits: u64, misses: u64) -> Option<f64> {
    let lookups = hits + misses;
    (lookups > 0).then(|| hits as f64 / lookups as f64)
}

fn causes(counts: &[u64; 5]) -> BTreeMap<String, u64> {
    Cause::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), counts[c.index()]))
        .collect()
}
