//! Overlapping faults: each fault ends only its own effect. Crashes, pauses, partitions,
//! black holes and resets act as the union of their intervals, so a copy nested inside
//! another changes nothing; faults with a magnitude combine by the documented rules (slow
//! factors multiply and delays add, error chances combine as independent ones, capacity
//! losses add, added latencies add), checked on models whose figures are exact.

use std::sync::Arc;

use archsim::model::Model;
use archsim::observe::Report;
use archsim::sim::{RunOptions, SimTime, Simulation};
use proptest::prelude::*;

use crate::support::model;

fn run(m: &Arc<Model>, seed: u64) -> Report {
    Simulation::new(
        Arc::clone(m),
        RunOptions {
            seed: Some(seed),
            ..RunOptions::default()
        },
    )
    .run()
    .unwrap_or_else(|e| panic!("{e}"))
}

/// What users and components saw: everything but the event log, the recoveries (one per
/// fault) and the engine's event count, which a fault that changes nothing still adds to.
fn seen(r: &Report) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}",
        r.totals, r.requests, r.components, r.series
    )
}

/// 100 requests a second through `app` to `db`, one-second buckets.
fn two_tier(faults: &str) -> String {
    format!(
        "duration: 12s
warmup: 0s
series_buckets: 12
seed: 3
workloads: [ {{ name: users, target: app, rate: 100/s, request: get, timeout: 1s }} ]
components:
  app: {{ kind: service, replicas: 2, workers: 16, handlers: {{ get: {{ work: exp 1ms, calls: [ {{ to: db }} ] }} }} }}
  db: {{ kind: service, replicas: 2, workers: 8, handlers: {{ get: {{ work: exp 2ms }} }} }}
faults:
{faults}"
    )
}

/// The example of the report: a short crash inside a long one used to restart the
/// database when the short one ended, two seconds into an eight-second crash.
#[test]
fn a_crash_inside_a_longer_crash_does_not_end_it() {
    let long = "  - { at: 1s, for: 8s, crash: db }\n";
    let nested = "  - { at: 2s, for: 1s, crash: db }\n";
    let alone = run(&model(&two_tier(long)), 3);
    for both in [format!("{long}{nested}"), format!("{nested}{long}")] {
        let r = run(&model(&two_tier(&both)), 3);
        assert_eq!(r.series.failed_per_s, alone.series.failed_per_s);
        assert_eq!(seen(&r), seen(&alone));
        // Down from 1 s to 9 s: every bucket in between fails nearly everything.
        for (k, failed) in r.series.failed_per_s.iter().enumerate().take(9).skip(2) {
            assert!(*failed > 80.0, "bucket {k}: {failed} failures a second");
        }
        assert!(r.series.failed_per_s[10] == 0.0);
    }
}

/// For each fault of the kinds that act as the union of their intervals, a copy nested
/// inside it changes nothing anyone sees.
#[test]
fn a_nested_copy_of_a_union_fault_changes_nothing() {
    let outer_and_nested = [
        (
            "{ at: 1s, for: 8s, crash: db }",
            "{ at: 2s, for: 1s, crash: db }",
        ),
        (
            "{ at: 1s, for: 8s, crash: db, replica: 1 }",
            "{ at: 3s, for: 2s, crash: db, replica: 1 }",
        ),
        (
            "{ at: 1s, for: 8s, crash: db, flap: { down: 700ms, up: 900ms } }",
            "{ at: 1s, for: 4s, crash: db, flap: { down: 700ms, up: 900ms } }",
        ),
        (
            "{ at: 1s, for: 8s, pause: db }",
            "{ at: 4s, for: 1s, pause: db }",
        ),
        (
            "{ at: 1s, for: 8s, partition: [[app], [db]] }",
            "{ at: 2s, for: 3s, partition: [[app], [db]] }",
        ),
        (
            "{ at: 1s, for: 8s, link: [app, db], blackhole: true }",
            "{ at: 2s, for: 3s, link: [app, db], blackhole: true }",
        ),
        (
            "{ at: 1s, for: 8s, link: [app, db], loss: 100% }",
            "{ at: 2s, for: 3s, link: [app, db], loss: 100% }",
        ),
        (
            "{ at: 1s, for: 8s, link: [app, db], reset: true }",
            "{ at: 2s, for: 3s, link: [app, db], reset: true }",
        ),
    ];
    for (outer, nested) in outer_and_nested {
        let alone = run(&model(&two_tier(&format!("  - {outer}\n"))), 3);
        let both = run(
            &model(&two_tier(&format!("  - {outer}\n  - {nested}\n"))),
            3,
        );
        assert!(alone.totals.failed > 0, "{outer} fails something");
        assert_eq!(seen(&both), seen(&alone), "{outer} with {nested}");
    }
}

/// A service with constant work and far more workers than it needs: a request's latency is
/// its work scaled by the slow faults on, plus their delays.
fn constant_work(faults: &str) -> String {
    format!(
        "duration: 10s
warmup: 0s
series_buckets: 10
workloads: [ {{ name: users, target: app, rate: 50/s, request: get }} ]
components:
  app: {{ kind: service, workers: 64, handlers: {{ get: {{ work: 10ms }} }} }}
faults:
{faults}"
    )
}

/// Median latency of each bucket, to HDR's three significant digits.
fn p50s(r: &Report) -> Vec<f64> {
    r.series
        .latency_p50_s
        .iter()
        .map(|p| p.unwrap_or(f64::NAN))
        .collect()
}

fn assert_close(got: f64, want: f64, what: &str) {
    // HDR histograms keep three significant digits: a recorded value is within 0.1% of
    // the true one.
    assert!(
        (got - want).abs() <= want * 1e-3,
        "{what}: {got} s, expected {want} s"
    );
}

#[test]
fn overlapping_slow_faults_multiply_their_factors_and_add_their_delays() {
    let r = run(
        &model(&constant_work(
            "  - { at: 2s, for: 6s, slow: app, factor: 2, delay: 1ms }
  - { at: 4s, for: 2s, slow: app, factor: 3, delay: 2ms }
",
        )),
        1,
    );
    let p = p50s(&r);
    // Buckets are one second; the nested fault covers buckets 4 and 5 only. A bucket just
    // after a fault ends also holds the last slow requests, which finish in it: those are
    // left out.
    for (k, want) in [
        (1, 0.010),
        (2, 0.021),
        (3, 0.021),
        (4, 0.063),
        (5, 0.063),
        (7, 0.021),
        (9, 0.010),
    ] {
        assert_close(p[k], want, &format!("bucket {k}"));
    }
}

#[test]
fn overlapping_link_latencies_add() {
    let r = run(
        &model(&constant_work(
            "  - { at: 2s, for: 6s, link: [users, app], latency: 5ms }
  - { at: 4s, for: 2s, link: [users, app], latency: 7ms }
",
        )),
        1,
    );
    let p = p50s(&r);
    // The added latency delays the request and its answer alike.
    for (k, want) in [
        (1, 0.010),
        (3, 0.020),
        (4, 0.034),
        (5, 0.034),
        (7, 0.020),
        (9, 0.010),
    ] {
        assert_close(p[k], want, &format!("bucket {k}"));
    }
}

#[test]
fn overlapping_capacity_losses_add_up() {
    // Four workers, 10 ms each: 400 answers a second at most, against 600 arriving.
    let text = "duration: 10s
warmup: 0s
series_buckets: 10
workloads: [ { name: users, target: app, rate: 600/s, request: get } ]
components:
  app: { kind: service, workers: 4, handlers: { get: { work: 10ms } } }
faults:
  - { at: 2s, for: 6s, capacity: app, workers: 1 }
  - { at: 4s, for: 2s, capacity: app, workers: 2 }
  - { at: 4s, for: 1s, capacity: app, workers: 3 }
";
    let r = run(&model(text), 1);
    let served = &r.series.throughput_per_s;
    // Buckets away from the fault boundaries serve exactly workers / 10 ms (give or take the
    // one request in flight across a boundary).
    for (k, workers) in [(1, 4.0), (3, 3.0), (4, 0.0), (5, 1.0), (7, 3.0), (9, 4.0)] {
        let want = workers * 100.0;
        assert!(
            (served[k] - want).abs() <= 4.0,
            "bucket {k}: {} answered a second, expected {want}",
            served[k]
        );
    }
}

/// Two error faults at 40% and 50% fail 70% of requests while both are on: independent
/// chances, 1 − 0.6 × 0.5.
#[test]
fn overlapping_error_fractions_combine_as_independent_chances() {
    let text = "duration: 40s
warmup: 0s
series_buckets: 40
workloads: [ { name: users, target: app, rate: 1000/s, request: get } ]
components:
  app: { kind: service, workers: 64, handlers: { get: { work: 1ms } } }
faults:
  - { at: 5s, for: 30s, error: app, fraction: 40% }
  - { at: 15s, for: 10s, error: app, fraction: 50% }
";
    let r = run(&model(text), 5);
    let share = |from: usize, to: usize| {
        let failed: f64 = r.series.failed_per_s[from..to].iter().sum();
        let answered: f64 = r.series.throughput_per_s[from..to].iter().sum();
        (failed / (failed + answered), failed + answered)
    };
    // About 10,000 requests in each window: the binomial standard error of a share p is
    // sqrt(p(1 − p)/n) ≈ 0.005; 4σ bounds the check (false alarm below 1e-4).
    for ((from, to), p) in [((6, 14), 0.4), ((16, 24), 0.7), ((26, 34), 0.4)] {
        let (got, n) = share(from, to);
        let tolerance = 4.0 * (p * (1.0 - p) / n).sqrt();
        assert!(
            (got - p).abs() <= tolerance,
            "{from}..{to} s: {got:.4} failed, expected {p} ± {tolerance:.4}"
        );
    }
}

/// Counted error faults each fail requests until their own count is spent: 5 and 10 at
/// once fail the first 10.
#[test]
fn overlapping_counted_errors_each_spend_their_own_count() {
    let text = "duration: 10s
warmup: 0s
workloads: [ { name: users, target: app, rate: 100/s, request: get } ]
components:
  app: { kind: service, workers: 8, handlers: { get: { work: 1ms } } }
faults:
  - { at: 2s, error: app, fraction: 100%, count: 5 }
  - { at: 2s, error: app, fraction: 100%, count: 10 }
";
    let r = run(&model(text), 1);
    assert_eq!(r.totals.failed, 10);
}

/// A random crash and a scripted one of the same replica: down while either holds it.
#[test]
fn a_random_repair_does_not_end_a_scripted_crash() {
    let text = "duration: 60s
warmup: 0s
workloads: [ { name: users, target: db, rate: 10/s, request: get } ]
components:
  db: { kind: service, workers: 8, mtbf: exp 3s, mttr: exp 1s, handlers: { get: { work: 1ms } } }
faults:
  - { at: 10s, for: 40s, crash: db }
";
    let mut sim = Simulation::new(model(text), RunOptions::default());
    let mut repairs_seen = 0;
    let mut t = SimTime::from_millis(10_100);
    while t < SimTime::from_secs(50) {
        sim.run_until(t);
        assert_eq!(
            sim.live().components[0].replicas_up,
            0,
            "up at {t} inside the scripted crash"
        );
        t += SimTime::from_millis(100);
    }
    let r = sim.finish().unwrap();
    for e in &r.events {
        if e.message.contains("repaired") && (10.0..50.0).contains(&e.t_s) {
            repairs_seen += 1;
        }
    }
    assert!(
        repairs_seen > 3,
        "random repairs happened inside: {repairs_seen}"
    );
}

/// A fault at exactly the end of the run does not act.
#[test]
fn a_fault_at_the_end_of_the_run_changes_nothing() {
    let none = run(&model(&two_tier("  - { at: 1h, crash: db }\n")), 3);
    let at_end = run(&model(&two_tier("  - { at: 12s, crash: db }\n")), 3);
    assert_eq!(seen(&at_end), seen(&none));
    assert!(at_end.events.is_empty());
}

/// Two pauses that overlap stop the world for their union, and nothing finishes inside it.
#[test]
fn overlapping_pauses_extend_each_other() {
    let r = run(
        &model(&constant_work(
            "  - { at: 2s, for: 3s, pause: app }
  - { at: 4s, for: 3s, pause: app }
",
        )),
        1,
    );
    let served = &r.series.throughput_per_s;
    for (k, answered) in served.iter().enumerate().take(7).skip(2) {
        assert!(
            *answered == 0.0,
            "bucket {k}: {answered} answered while paused"
        );
    }
    // Everything that waited is answered as the second pause ends; the request in progress
    // when the first began waited all five seconds, then finished its 10 ms of work.
    assert!(served[7] > 250.0, "bucket 7: {}", served[7]);
    assert_close(
        r.requests["get"].latency_s.max.unwrap(),
        5.010,
        "the longest wait",
    );
}

/// A paused caller's own clock stops: the timeout of a call it made does not go off while
/// it is paused, and the answer that came in meanwhile is seen first when it resumes.
#[test]
fn a_paused_callers_timeouts_wait_for_it_to_resume() {
    let text = "duration: 10s
warmup: 0s
workloads: [ { name: users, target: app, rate: 100/s, request: get } ]
components:
  app: { kind: service, workers: 64, handlers: { get: { work: 1ms, calls: [ { to: db, timeout: 100ms } ] } } }
  db: { kind: service, workers: 64, handlers: { get: { work: 50ms } } }
faults:
  - { at: 2s, for: 2s, pause: app }
";
    let r = run(&model(text), 1);
    assert_eq!(
        r.totals.failed, 0,
        "{:?}",
        r.requests["get"].failed_by_cause
    );
    assert!(r.totals.ok > 900);
}

/// A random small architecture: a client, an optional balancer, a chain of services.
#[derive(Debug, Clone)]
struct Shape {
    services: Vec<(u32, u32, f64)>,
    balancer: bool,
    rate: u32,
    timeout_ms: Option<u32>,
    retries: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        prop::collection::vec((1u32..4, 1u32..6, 0.2f64..6.0), 1..4),
        any::<bool>(),
        20u32..400,
        prop::option::of(20u32..400),
        any::<bool>(),
    )
        .prop_map(|(services, balancer, rate, timeout_ms, retries)| Shape {
            services,
            balancer,
            rate,
            timeout_ms,
            retries,
        })
}

fn shape_yaml(s: &Shape, faults: &[String]) -> String {
    use std::fmt::Write as _;
    let mut y = String::from("duration: 6s\nwarmup: 0s\nseries_buckets: 30\nworkloads:\n");
    let target = if s.balancer { "lb" } else { "s0" };
    let timeout = s
        .timeout_ms
        .map_or(String::new(), |ms| format!(", timeout: {ms}ms"));
    let _ = writeln!(
        y,
        "  - {{ name: users, target: {target}, rate: {}/s, request: get{timeout} }}",
        s.rate
    );
    y.push_str("components:\n");
    if s.balancer {
        let _ = writeln!(
            y,
            "  lb: {{ kind: load_balancer, backends: s0, health_check: {{ interval: 100ms, unhealthy: 1, healthy: 1 }} }}"
        );
    }
    let n = s.services.len();
    for (i, &(replicas, workers, work_ms)) in s.services.iter().enumerate() {
        let calls = if i + 1 < n {
            let protection = if s.retries {
                ", timeout: 50ms, retry: { attempts: 3, backoff: exponential 5ms }"
            } else {
                ""
            };
            format!(", calls: [ {{ to: s{}{protection} }} ]", i + 1)
        } else {
            String::new()
        };
        let _ = writeln!(
            y,
            "  s{i}: {{ kind: service, replicas: {replicas}, workers: {workers}, queue: 50, handlers: {{ get: {{ work: exp {work_ms:.2}ms{calls} }} }} }}"
        );
    }
    if !faults.is_empty() {
        y.push_str("faults:\n");
        for f in faults {
            let _ = writeln!(y, "  - {f}");
        }
    }
    y
}

/// A fault of kind `kind` on service `s{target}` (or its links) over `window`.
fn fault_line(kind: usize, target: usize, n: usize, (at, length): (u32, u32)) -> String {
    let window = format!("at: {at}ms, for: {length}ms");
    let other = if target + 1 < n {
        format!("s{}", target + 1)
    } else {
        "users".to_string()
    };
    match kind {
        0 => format!("{{ {window}, crash: s{target} }}"),
        1 => format!("{{ {window}, crash: s{target}, replica: 0 }}"),
        2 => format!("{{ {window}, pause: s{target} }}"),
        3 => format!("{{ {window}, partition: [[s{target}], [{other}]] }}"),
        4 => format!("{{ {window}, link: [s{target}, {other}], blackhole: true }}"),
        5 => format!("{{ {window}, link: [s{target}, {other}], reset: true }}"),
        6 => format!("{{ {window}, link: [s{target}, {other}], loss: 100% }}"),
        7 => format!("{{ {window}, slow: s{target}, factor: 4, delay: 1ms }}"),
        8 => format!("{{ {window}, error: s{target}, fraction: 30% }}"),
        9 => format!("{{ {window}, capacity: s{target}, workers: 1 }}"),
        _ => format!("{{ {window}, link: [s{target}, {other}], latency: 3ms, loss: 10% }}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A copy of a fault nested inside it: for the kinds that act as a union nothing anyone
    /// sees changes; for the kinds with a magnitude, once the copy has ended the component
    /// is in exactly the state the outer fault alone puts it in, and once the outer one has
    /// ended, in none.
    #[test]
    fn a_nested_copy_ends_only_its_own_effect(
        s in shape(),
        kind in 0usize..11,
        target in 0usize..3,
        outer in (200u32..2000, 1500u32..3500),
        nested in (0u32..1000, 100u32..1000),
        seed in 1u64..500,
    ) {
        let n = s.services.len();
        let target = target % n;
        let (at, length) = outer;
        let inner_at = at + nested.0.min(length - 100);
        let inner_length = nested.1.min(at + length - inner_at);
        let alone = vec![fault_line(kind, target, n, outer)];
        let both = vec![alone[0].clone(), fault_line(kind, target, n, (inner_at, inner_length))];
        let (m_alone, m_both) = (model(&shape_yaml(&s, &alone)), model(&shape_yaml(&s, &both)));
        if kind <= 6 {
            let (a, b) = (run(&m_alone, seed), run(&m_both, seed));
            prop_assert_eq!(seen(&a), seen(&b), "{}", shape_yaml(&s, &both));
        } else {
            let live_at = |m: &Arc<Model>, ms: u32| {
                let mut sim = Simulation::new(
                    Arc::clone(m),
                    RunOptions { seed: Some(seed), ..RunOptions::default() },
                );
                sim.run_until(SimTime::from_millis(u64::from(ms)));
                let live = sim.live();
                let c = &live.components[target + usize::from(s.balancer)];
                let links: Vec<(bool, bool)> = live.links.iter().map(|l| (l.cut, l.troubled)).collect();
                (c.slow, c.failing, c.lost_workers, c.paused, links)
            };
            let after_inner = inner_at + inner_length + 1;
            if after_inner < at + length {
                prop_assert_eq!(live_at(&m_alone, after_inner), live_at(&m_both, after_inner));
            }
            let after_outer = at + length + 1;
            let clear = live_at(&m_both, after_outer);
            prop_assert_eq!(&clear, &live_at(&m_alone, after_outer));
            prop_assert!(!clear.0 && !clear.1 && clear.2 == 0, "{:?}", clear);
            prop_assert!(clear.4.iter().all(|&(cut, troubled)| !cut && !troubled));
        }
    }
}

/// Random crashes of an autoscaled service: every replica the autoscaler starts fails
/// like the first one, on its own clock from when it is ready, and a replica that never
/// serves never crashes.
#[test]
fn autoscaled_replicas_crash_like_the_starting_ones() {
    let scaled = |rate: &str| {
        model(&format!(
            "duration: 2000s
workloads: [ {{ name: users, target: app, rate: {rate}, request: a }} ]
components:
  app:
    kind: service
    workers: 1
    autoscale: {{ min: 1, max: 3, target: 60%, window: 5s, cold_start: 5s }}
    mtbf: exp 20s
    mttr: exp 1s
    handlers: {{ a: {{ work: exp 10ms }} }}
"
        ))
    };
    let crashes = |r: &Report, replica: u32| {
        let name = format!("random crash of app replica {replica}");
        r.events.iter().filter(|e| e.message == name).count()
    };
    // 250/s of 10 ms on three one-worker replicas is 83% busy, above the 60% target, so
    // the fleet reaches its maximum within the first windows and stays there.
    let busy = run(&scaled("250/s"), 7);
    assert!(
        busy.events
            .iter()
            .all(|e| !e.message.starts_with("app scales in")),
        "the fleet stays at three"
    );
    // Crash-and-repair cycles of mean 21 s and variance 20² + 1² s² over ~1,990 s: a
    // renewal count of mean T/21 ≈ 95 and variance T·401/21³ ≈ 86 (sd 9.3); 4 sd either
    // side.
    let want = 1990.0 / 21.0;
    let sd = (1990.0_f64 * 401.0 / 21.0_f64.powi(3)).sqrt();
    for replica in 0..3 {
        #[expect(clippy::cast_precision_loss, reason = "a count of about 100")]
        let n = crashes(&busy, replica) as f64;
        eprintln!("replica {replica} | {n} crashes (theory {want:.1} ± {sd:.1})");
        assert!(
            (n - want).abs() <= 4.0 * sd,
            "replica {replica}: {n} crashes, want {want:.0} ± {:.0}",
            4.0 * sd
        );
    }
    // 20/s keeps one replica under its target: the others never start, so never crash.
    let quiet = run(&scaled("20/s"), 7);
    assert!(crashes(&quiet, 0) > 50);
    assert_eq!(crashes(&quiet, 1) + crashes(&quiet, 2), 0);
}
