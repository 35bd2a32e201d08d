//! Conservation on random topologies: whatever the architecture — chains, fan-out, balancers,
//! bounded queues that reject, client deadlines that abandon work, erroring externals — every
//! request ends exactly once or is still in flight at the end. The engine checks this itself
//! at the end of every run; these tests make it face many shapes, and check the report too
//! (and that each shape runs the same twice on one seed).

use std::fmt::Write as _;
use std::sync::Arc;

use archsim::model;
use archsim::sim::{RunOptions, Simulation};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct ServiceSpec {
    replicas: u32,
    workers: u32,
    queue: Option<u32>,
    io_async: bool,
    balance: &'static str,
    work_ms: f64,
    /// Calls to later services (indices are offsets to the right), or to the external.
    calls: Vec<(usize, bool)>,
    parallel: bool,
    call_timeout_ms: Option<u32>,
    retry_attempts: Option<u32>,
}

#[derive(Debug, Clone)]
struct FaultSpec {
    kind: usize,
    service: usize,
    at_ms: u32,
    for_ms: Option<u32>,
    one_replica: bool,
}

#[derive(Debug, Clone)]
struct Topology {
    services: Vec<ServiceSpec>,
    front_balancer: Option<&'static str>,
    external_errors: f64,
    open_rate: Option<u32>,
    users: u32,
    timeout_ms: Option<u32>,
    link_latency_us: Option<u32>,
    two_types: bool,
    faults: Vec<FaultSpec>,
    cache: Option<CacheSpec>,
    queue: Option<QueueSpec>,
    database: Option<DatabaseSpec>,
}

/// A database the first service queries last: `mode` 0–2 is async, semi-sync or sync with
/// failover, 3 is two primaries; its first node may crash, and its nodes crash at random.
#[derive(Debug, Clone)]
struct DatabaseSpec {
    mode: usize,
    crash_at_ms: Option<u32>,
}

/// A queue the first service sends to, consumed by the last (with more than one service).
#[derive(Debug, Clone)]
struct QueueSpec {
    durable: bool,
    visibility_ms: u32,
    crash_at_ms: Option<u32>,
}

/// A cache that the first service reads first, with its misses read from the last service
/// (or the external).
#[derive(Debug, Clone)]
struct CacheSpec {
    /// 0: cache-aside, 1: read-through, 2: write-through (with writes; read-through
    /// without).
    mode: usize,
    /// With writes, outside write-through: they install their key instead of removing it.
    update: bool,
    coalesce: bool,
    fixed: bool,
    crash_at_ms: Option<u32>,
}

const POLICIES: [&str; 4] = ["round_robin", "random", "least_connections", "power_of_two"];

fn service() -> impl Strategy<Value = ServiceSpec> {
    (
        1u32..4,
        1u32..5,
        prop::option::of(0u32..8),
        any::<bool>(),
        0usize..4,
        0.05f64..8.0,
        prop::collection::vec((1usize..4, any::<bool>()), 0..3),
        any::<bool>(),
        prop::option::of(1u32..60),
        prop::option::of(1u32..5),
    )
        .prop_map(
            |(
                replicas,
                workers,
                queue,
                io_async,
                policy,
                work_ms,
                calls,
                parallel,
                call_timeout_ms,
                retry_attempts,
            )| ServiceSpec {
                replicas,
                workers,
                queue,
                io_async,
                balance: POLICIES[policy],
                work_ms,
                calls,
                parallel,
                call_timeout_ms,
                retry_attempts,
            },
        )
}

fn fault() -> impl Strategy<Value = FaultSpec> {
    (
        0usize..6,
        0usize..6,
        0u32..3000,
        prop::option::of(1u32..1500),
        any::<bool>(),
    )
        .prop_map(|(kind, service, at_ms, for_ms, one_replica)| FaultSpec {
            kind,
            service,
            at_ms,
            for_ms,
            one_replica,
        })
}

fn topology() -> impl Strategy<Value = Topology> {
    (
        prop::collection::vec(service(), 1..6),
        prop::option::of(0usize..4),
        0.0f64..0.3,
        prop::option::of(20u32..3000),
        1u32..30,
        prop::option::of(1u32..300),
        prop::option::of(1u32..2000),
        any::<bool>(),
        prop::collection::vec(fault(), 0..3),
        prop::option::of((
            (0usize..3, any::<bool>()),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(0u32..2500),
        )),
        prop::option::of((any::<bool>(), 5u32..400, prop::option::of(0u32..2500))),
        prop::option::of((0usize..4, prop::option::of(0u32..2500))),
    )
        .prop_map(
            |(
                services,
                lb,
                external_errors,
                open_rate,
                users,
                timeout_ms,
                link,
                two_types,
                faults,
                cache,
                queue,
                database,
            )| {
                Topology {
                    services,
                    front_balancer: lb.map(|i| POLICIES[i]),
                    external_errors,
                    open_rate,
                    users,
                    timeout_ms,
                    link_latency_us: link,
                    two_types,
                    faults,
                    cache: cache.map(|((mode, update), coalesce, fixed, crash_at_ms)| CacheSpec {
                        mode,
                        update,
                        coalesce,
                        fixed,
                        crash_at_ms,
                    }),
                    queue: queue.map(|(durable, visibility_ms, crash_at_ms)| QueueSpec {
                        durable,
                        visibility_ms,
                        crash_at_ms,
                    }),
                    database: database
                        .map(|(mode, crash_at_ms)| DatabaseSpec { mode, crash_at_ms }),
                }
            },
        )
}

fn yaml(t: &Topology) -> String {
    let n = t.services.len();
    let mut y = String::from("duration: 3s\nwarmup: 300ms\nseed: 9\nworkloads:\n  - name: users\n");
    let target = if t.front_balancer.is_some() {
        "lb"
    } else {
        "s0"
    };
    let _ = writeln!(y, "    target: {target}");
    match t.open_rate {
        Some(r) => {
            let _ = writeln!(y, "    rate: {r}/s");
        }
        None => {
            let _ = writeln!(y, "    users: {}\n    think: exp 5ms", t.users);
        }
    }
    if t.two_types {
        y.push_str("    mix: { read: 0.7, write: 0.3 }\n");
    } else {
        y.push_str("    request: read\n");
    }
    if let Some(ms) = t.timeout_ms {
        let _ = writeln!(y, "    timeout: {ms}ms");
    }
    y.push_str("components:\n");
    if let Some(policy) = t.front_balancer {
        let backends: Vec<String> = (0..n.min(2)).map(|i| format!("s{i}")).collect();
        let _ = writeln!(
            y,
            "  lb: {{ kind: load_balancer, policy: {policy}, backends: [{}], health_check: {{ interval: 200ms, unhealthy: 1, healthy: 1 }}, outlier: {{ failures: 3, eject_for: 300ms }} }}",
            backends.join(", ")
        );
    }
    let mut external_used = false;
    for (i, s) in t.services.iter().enumerate() {
        let mut calls = Vec::new();
        for &(offset, to_external) in &s.calls {
            if to_external || i + offset >= n {
                // Calls to the flaky external sometimes have a fallback.
                calls.push(
                    if offset == 2 {
                        "{ to: ext, fallback: true }"
                    } else {
                        "{ to: ext, hedge: 3ms }"
                    }
                    .to_string(),
                );
                external_used = true;
            } else {
                // Some calls go through a small bulkhead.
                calls.push(if s.parallel {
                    format!("{{ to: s{}, concurrency: 2 }}", i + offset)
                } else {
                    format!("{{ to: s{} }}", i + offset)
                });
            }
        }
        if i == 0 && t.cache.is_some() {
            calls.insert(0, "{ to: c }".to_string());
        }
        if i == 0 && n > 1 && t.queue.is_some() {
            calls.push("{ to: q }".to_string());
        }
        if i == 0 && t.database.is_some() {
            calls.push("{ to: d }".to_string());
        }
        let steps = if s.parallel && calls.len() > 1 {
            format!("[ {{ parallel: [ {} ] }} ]", calls.join(", "))
        } else {
            format!("[ {} ]", calls.join(", "))
        };
        let queue = s.queue.map_or("unbounded".to_string(), |q| q.to_string());
        let mut policy = String::new();
        if s.io_async && s.parallel {
            policy.push_str("mtbf: exp 700ms, mttr: exp 150ms, ");
        }
        if !s.io_async && s.parallel {
            let _ = write!(
                policy,
                "autoscale: {{ min: 1, max: {}, target: 60%, window: 200ms, cold_start: 100ms, cooldown: 300ms }}, ",
                s.replicas + 2
            );
        }
        if let Some(ms) = s.call_timeout_ms {
            let _ = write!(policy, "timeout: {ms}ms, ");
            // Services with call timeouts also shed stale requests, newest first.
            let _ = write!(
                policy,
                "queue_timeout: {}ms, queue_order: lifo, ",
                ms / 2 + 1
            );
        }
        if let Some(n) = s.retry_attempts {
            let _ = write!(
                policy,
                "retry: {{ attempts: {n}, backoff: exponential 1ms, jitter: full }}, "
            );
            // Services that retry also guard their calls with a breaker that opens fast, so
            // that all its states occur in a short run.
            let _ = write!(
                policy,
                "breaker: {{ failures: {}, open_for: 50ms, probes: {n} }}, ",
                n + 1
            );
        }
        // Some services also call themselves with another type: a crash then catches a
        // caller and its callee inside the same component.
        let (inner, steps) = if s.work_ms < 2.0 {
            let with_self = if steps == "[  ]" {
                format!("[ {{ to: s{i}, request: inner }} ]")
            } else {
                steps.replacen('[', &format!("[ {{ to: s{i}, request: inner }}, "), 1)
            };
            ("inner: { work: exp 3ms }, ".to_string(), with_self)
        } else {
            (String::new(), steps)
        };
        let _ = writeln!(
            y,
            "  s{i}: {{ kind: service, replicas: {}, workers: {}, queue: {queue}, io: {}, balance: {}, {policy}handlers: {{ {inner}\"*\": {{ work: exp {:.3}ms, calls: {steps} }} }} }}",
            s.replicas,
            s.workers,
            if s.io_async { "async" } else { "blocking" },
            s.balance,
            s.work_ms
        );
    }
    if let Some(c) = &t.cache {
        let store = if n > 1 {
            format!("s{}", n - 1)
        } else {
            external_used = true;
            "ext".to_string()
        };
        let writes = t.two_types && !c.fixed;
        let hits = if c.fixed {
            "hit_ratio: 70%".to_string()
        } else {
            let policy = match (writes, c.mode, c.update) {
                (false, _, _) => "",
                (true, 2, _) | (true, _, false) => ", writes: [write]",
                (true, _, true) => ", writes: [write], on_write: update",
            };
            format!(
                "keys: 200, zipf: 0.9, capacity: 50, ttl: 400ms, coalesce: {}{policy}",
                c.coalesce
            )
        };
        let mode = match c.mode {
            0 => "cache_aside",
            2 if writes => "write_through",
            _ => "read_through",
        };
        let _ = writeln!(
            y,
            "  c: {{ kind: cache, latency: exp 300us, mode: {mode}, {hits}, on_miss: {{ to: {store} }} }}"
        );
    }
    if let Some(q) = t.queue.as_ref().filter(|_| n > 1) {
        let _ = writeln!(
            y,
            "  q: {{ kind: queue, latency: exp 200us, consumers: s{}, durable: {}, visibility_timeout: {}ms, max_deliveries: 2, capacity: 500, depends: {{ read: read }}, {} }}",
            n - 1,
            q.durable,
            q.visibility_ms,
            // The visibility timeout also picks the ordering, all three of them.
            [
                "ordering: none",
                "ordering: per_key, partitions: 3",
                "ordering: causal"
            ][q.visibility_ms as usize % 3]
        );
    }
    if let Some(d) = &t.database {
        let writes = if t.two_types { "writes: [write], " } else { "" };
        let mode = [
            "replicas: 2, replication: async, failover: { detect: 300ms, promote: 100ms }",
            "replicas: 2, replication: semi_sync, acks: 1, failover: { detect: 200ms, promote: 0ms }",
            "replicas: 1, replication: sync, failover: { detect: 250ms, promote: 50ms }",
            "primaries: 2, replicas: 1",
        ][d.mode];
        let _ = writeln!(
            y,
            "  d: {{ kind: database, {mode}, workers: 3, queue: 40, read_from: any, {writes}ship: exp 2ms, apply: exp 1ms, keys: 30, mtbf: exp 900ms, mttr: exp 200ms, handlers: {{ \"*\": {{ work: exp 1ms }} }} }}"
        );
    }
    if external_used {
        let _ = writeln!(
            y,
            "  ext: {{ kind: external, latency: lognormal 2ms p99 20ms, errors: {:.3} }}",
            t.external_errors
        );
    }
    let cache_crash = t.cache.as_ref().and_then(|c| c.crash_at_ms);
    let queue_crash = t
        .queue
        .as_ref()
        .filter(|_| n > 1)
        .and_then(|q| q.crash_at_ms);
    let database_crash = t.database.as_ref().and_then(|d| d.crash_at_ms);
    if !t.faults.is_empty()
        || cache_crash.is_some()
        || queue_crash.is_some()
        || database_crash.is_some()
    {
        y.push_str("faults:\n");
        if let Some(at) = database_crash {
            let _ = writeln!(y, "  - {{ at: {at}ms, for: 600ms, crash: d, replica: 0 }}");
        }
        if let Some(at) = queue_crash {
            let _ = writeln!(y, "  - {{ at: {at}ms, for: 200ms, crash: q }}");
        }
        if let Some(at) = cache_crash {
            let _ = writeln!(y, "  - {{ at: {at}ms, for: 300ms, crash: c }}");
        }
        for f in &t.faults {
            let target = f.service % n;
            let other = (target + 1) % n;
            let (what, per_replica) = match f.kind {
                0 => (format!("crash: s{target}"), true),
                1 if f.one_replica => (format!("capacity: s{target}, workers: 1"), false),
                1 => (format!("slow: s{target}, factor: 7, delay: 1ms"), false),
                2 if f.one_replica && f.for_ms.is_some() => (format!("pause: s{target}"), false),
                2 => (format!("error: s{target}, fraction: 40%"), false),
                3 => (
                    format!(
                        "link: [s{target}, s{other}], latency: exp 2ms, loss: 30%, bandwidth: 2Mbit/s"
                    ),
                    false,
                ),
                4 => (format!("link: [users, s{target}], reset: true"), false),
                _ if other == target => (format!("partition: [[s{target}], [users]]"), false),
                _ => (
                    format!("partition: [[s{target}], [users, s{other}]]"),
                    false,
                ),
            };
            let replica = if per_replica && f.one_replica && t.services[target].replicas > 1 {
                ", replica: 1"
            } else {
                ""
            };
            // Faults with a window sometimes flap inside it.
            let duration = f.for_ms.map_or(String::new(), |ms| {
                if f.one_replica {
                    format!(", for: {ms}ms, flap: {{ down: 97ms, up: 131ms }}")
                } else {
                    format!(", for: {ms}ms")
                }
            });
            let _ = writeln!(y, "  - {{ at: {}ms{duration}, {what}{replica} }}", f.at_ms);
        }
    }
    if let Some(us) = t.link_latency_us {
        let _ = writeln!(y, "links:\n  default: {{ latency: exp {us}us }}");
    }
    y
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_request_is_accounted_for(t in topology()) {
        let text = yaml(&t);
        let (m, _) = match model::parse("random.yaml", &text) {
            Ok(ok) => ok,
            // Services no one reaches are only warned about; any error is a generator bug.
            Err(d) => panic!("generated model is invalid:\n{}\n{text}", d.render()),
        };
        let m = Arc::new(m);
        let run = |seed: u64| {
            Simulation::new(Arc::clone(&m), RunOptions { seed: Some(seed), ..RunOptions::default() })
                .run()
                .unwrap_or_else(|e| panic!("{e}\n{text}"))
        };
        let write_through = t.two_types && t.cache.as_ref().is_some_and(|c| c.mode == 2 && !c.fixed);
        // The same seed gives the same report, byte for byte, whatever the shape.
        prop_assert_eq!(run(1).to_json(), run(1).to_json(), "{}", text);
        for seed in [1u64, 2] {
            let r = run(seed);
            let tot = r.totals;
            prop_assert_eq!(tot.generated, tot.ok + tot.ok_degraded + tot.failed + tot.in_flight, "{}", text);
            prop_assert!(tot.generated > 0);
            for (name, q) in &r.requests {
                prop_assert_eq!(q.count, q.ok + q.ok_degraded + q.failed + q.in_flight, "type {}", name);
                prop_assert_eq!(q.failed, q.failed_by_cause.values().sum::<u64>());
            }
            for (name, c) in &r.components {
                if let Some(q) = &c.queue {
                    prop_assert_eq!(
                        q.enqueued,
                        q.acked + q.dead_lettered + q.lost + q.backlog + q.unacked,
                        "queue {}", name
                    );
                }
                if let Some(k) = &c.cache {
                    prop_assert!(k.coalesced <= k.misses, "cache {}", name);
                    // Each write removes or installs its key at most once. A write-through
                    // write installs it when the store answers, which can be after the
                    // warm-up while the write was seen before it: only a bound on writes.
                    if write_through {
                        prop_assert!(k.invalidations == 0, "cache {}", name);
                    } else {
                        prop_assert!(k.updates + k.invalidations <= k.writes, "cache {}", name);
                    }
                }
                if let Some(u) = c.utilization {
                    prop_assert!((0.0..=1.0 + 1e-9).contains(&u), "{} utilisation {}", name, u);
                }
            }
        }
    }
}

/// Requests that outlive their deadline still hold their worker: the abandoned work is
/// counted as served by the component, and the user counts a timeout.
#[test]
fn a_timeout_abandons_the_request_but_not_the_work() {
    let m = crate::support::model(
        "
duration: 10s
workloads:
  - { name: users, target: slow, rate: 5/s, request: a, timeout: 50ms }
components:
  slow: { kind: service, workers: 100, handlers: { a: { work: 200ms } } }
",
    );
    let r = Simulation::new(m, RunOptions::default())
        .run()
        .expect("run");
    let a = &r.requests["a"];
    assert_eq!(a.ok, 0);
    assert_eq!(a.failed_by_cause["timeout"], a.failed);
    assert!(a.failed > 30, "{} timeouts", a.failed);
    // Every timed-out request's work still completed at the service, 200ms after it began.
    let served = r.components["slow"].throughput_per_s * 10.0;
    assert!(
        (served - a.count as f64).abs() <= 2.0,
        "served {served}, sent {}",
        a.count
    );
    assert_eq!(r.components["slow"].response_s.p50, Some(0.2));
}

#[test]
fn a_full_queue_rejects() {
    let m = crate::support::model(
        "
duration: 20s
workloads:
  - { name: users, target: one, rate: 1000/s, request: a }
components:
  one: { kind: service, workers: 1, queue: 0, handlers: { a: { work: 1ms } } }
",
    );
    let r = Simulation::new(m, RunOptions::default())
        .run()
        .expect("run");
    let a = &r.requests["a"];
    // M/D/1/1: the blocking probability is ρ/(1+ρ) = 0.5 for ρ = 1, within a few percent
    // over 20,000 arrivals (the standard error is about 0.4%).
    let blocked = a.failed_by_cause["rejected"] as f64 / a.count as f64;
    assert!((blocked - 0.5).abs() < 0.02, "blocked {blocked}");
    assert_eq!(r.components["one"].rejected, a.failed_by_cause["rejected"]);
}
