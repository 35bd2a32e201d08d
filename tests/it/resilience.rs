//! Timeouts, retries and scripted faults, checked against what they must do: the retry
//! formulas, exact amplification through layers, timeouts that abandon work, and faults at
//! their scheduled times — with every request still accounted for.

use std::sync::Arc;

use archsim::experiment::stats::Summary;
use archsim::model::Model;
use archsim::observe::Report;

use crate::support::{self, bundled_text, model, run_model, seeded};

/// Eight replications with consecutive seeds, for figures checked against theory.
fn replicate(m: &Arc<Model>, seed: u64) -> Vec<Report> {
    support::replicate(m, seeded(seed), 8)
}

/// Answered requests over ended ones.
fn answered_share(r: &archsim::observe::RequestReport) -> f64 {
    (r.ok + r.ok_degraded) as f64 / (r.ok + r.ok_degraded + r.failed) as f64
}

fn run(m: &Arc<Model>, seed: u64) -> Report {
    run_model(m, seeded(seed))
}

/// Independent failures with probability p and n attempts: a call succeeds with probability
/// 1 − pⁿ and makes (1 − pⁿ)/(1 − p) attempts on average.
#[test]
fn retries_follow_the_geometric_formulas() {
    let (p, n) = (0.3_f64, 3_i32);
    let m = model(
        "
duration: 200s
warmup: 1s
workloads:
  - { name: users, target: app, rate: 500/s, request: a }
components:
  app:
    kind: service
    workers: 100
    retry: { attempts: 3, on: [error] }
    handlers: { a: { work: 0.1ms, calls: [ { to: flaky } ] } }
  flaky: { kind: external, latency: 1ms, errors: 30% }
",
    );
    let reports = replicate(&m, 100);
    let success: Vec<f64> = reports
        .iter()
        .map(|r| answered_share(&r.requests["a"]))
        .collect();
    let attempts: Vec<f64> = reports
        .iter()
        .map(|r| r.components["flaky"].arrivals as f64 / r.components["app"].arrivals as f64)
        .collect();
    let want_success = 1.0 - p.powi(n);
    let want_attempts = (1.0 - p.powi(n)) / (1.0 - p);
    let (s, a) = (Summary::of(&success), Summary::of(&attempts));
    eprintln!(
        "retry | success {:.5} ± {:.5} (theory {want_success:.5}); attempts {:.5} ± {:.5} (theory {want_attempts:.5})",
        s.mean, s.half_width_95, a.mean, a.half_width_95
    );
    // Tolerance: the 99.9% interval over 8 replications of ~100,000 calls each (t = 5.408
    // for 7 degrees of freedom). Power: the interval must be narrower than 0.5% of the value.
    for (got, want, name) in [(s, want_success, "success"), (a, want_attempts, "attempts")] {
        let hw = got.half_width(5.408);
        assert!(
            (got.mean - want).abs() <= hw,
            "{name}: {} vs {want} (± {hw})",
            got.mean
        );
        assert!(
            got.half_width_95 < 0.005 * want,
            "{name}: too noisy to test"
        );
    }
    // Every failure is the leaf's error, surfacing after all attempts failed.
    let r = &reports[0];
    assert_eq!(
        r.requests["a"].failed,
        r.requests["a"].failed_by_cause["error"]
    );
    assert_eq!(
        r.components["app"].retries_sent,
        r.components["flaky"].arrivals - r.components["app"].arrivals
    );
}

/// Two layers that each retry 3 times over a leaf that always fails: 9 attempts reach the
/// leaf for every request, exactly.
#[test]
fn retries_multiply_through_layers() {
    let m = model(
        "
duration: 20s
workloads:
  - { name: users, target: front, rate: 100/s, request: a }
components:
  front:
    kind: service
    workers: 50
    retry: { attempts: 3 }
    handlers: { a: { work: 1ms, calls: [ { to: middle } ] } }
  middle:
    kind: service
    workers: 50
    retry: { attempts: 3 }
    handlers: { a: { work: 1ms, calls: [ { to: leaf } ] } }
  leaf: { kind: external, latency: 1ms, errors: 100% }
",
    );
    let r = run(&m, 1);
    let front = r.components["front"].arrivals;
    // Requests still in flight at the end have made only some of their attempts.
    let finished = r.requests["a"].ok + r.requests["a"].failed;
    assert_eq!(r.requests["a"].ok, 0);
    assert!(finished > 1900);
    assert_eq!(
        r.components["middle"].arrivals,
        3 * finished + in_flight_share(&r, 3)
    );
    assert_eq!(
        r.components["leaf"].arrivals,
        9 * finished + in_flight_share(&r, 9)
    );
    assert_eq!(front, finished + r.requests["a"].in_flight);
}

/// Attempts made so far by the requests still in flight at the end, read off the report as
/// what is left over; bounded by the full count per request.
fn in_flight_share(r: &Report, per_request: u64) -> u64 {
    let finished = r.requests["a"].ok + r.requests["a"].failed;
    let layer = if per_request == 3 { "middle" } else { "leaf" };
    let extra = r.components[layer].arrivals - per_request * finished;
    assert!(
        extra <= per_request * r.requests["a"].in_flight,
        "{layer}: {extra} extra attempts"
    );
    extra
}

/// With a partly failing leaf, the leaf's attempts per request are the product of the two
/// layers' expected attempts: the inner call fails with q = p³, so the outer layer makes
/// (1 − q³)/(1 − q) attempts, each making (1 − p³)/(1 − p) at the leaf.
#[test]
fn amplification_matches_its_expectation() {
    let p = 0.5_f64;
    let m = model(
        "
duration: 300s
warmup: 1s
workloads:
  - { name: users, target: front, rate: 300/s, request: a }
components:
  front:
    kind: service
    workers: 100
    retry: { attempts: 3 }
    handlers: { a: { work: 0.1ms, calls: [ { to: middle } ] } }
  middle:
    kind: service
    workers: 100
    retry: { attempts: 3 }
    handlers: { a: { work: 0.1ms, calls: [ { to: leaf } ] } }
  leaf: { kind: external, latency: 0.5ms, errors: 50% }
",
    );
    let q = p.powi(3);
    let outer = (1.0 - q.powi(3)) / (1.0 - q);
    let inner = (1.0 - p.powi(3)) / (1.0 - p);
    let want = outer * inner;
    let reports = replicate(&m, 7);
    let per_request: Vec<f64> = reports
        .iter()
        .map(|r| r.components["leaf"].arrivals as f64 / r.components["front"].arrivals as f64)
        .collect();
    let s = Summary::of(&per_request);
    eprintln!(
        "amplification | leaf attempts per request {:.5} ± {:.5} (theory {want:.5})",
        s.mean, s.half_width_95
    );
    assert!(
        (s.mean - want).abs() <= s.half_width(5.408),
        "{} vs {want}",
        s.mean
    );
    assert!(s.half_width_95 < 0.005 * want);
}

/// A call timeout shorter than the callee's latency: every attempt times out, the caller
/// answers after exactly the timeout, and the callee's work is counted as abandoned.
#[test]
fn a_call_timeout_abandons_the_attempt() {
    let m = model(
        "
duration: 10s
workloads:
  - { name: users, target: app, request: a, rate: [ { at: 0s, rate: 50/s }, { at: 9s, rate: 0/s } ] }
components:
  app:
    kind: service
    workers: 100
    handlers: { a: { calls: [ { to: slow, timeout: 50ms } ] } }
  slow: { kind: external, latency: 100ms }
",
    );
    let r = run(&m, 3);
    let a = &r.requests["a"];
    assert_eq!(a.ok, 0);
    assert_eq!(a.failed, a.failed_by_cause["timeout"]);
    assert!(a.failed > 400);
    // Arrivals stop at 9s, so by the end every attempt has finished: the external did all of
    // them, 100ms each, for nothing.
    assert_eq!(a.in_flight, 0);
    let slow = &r.components["slow"];
    assert_eq!(slow.response_s.p50, Some(0.1));
    assert_eq!(slow.abandoned, slow.arrivals);
    assert_eq!(r.components["app"].response_s.p50, Some(0.05));
}

/// A non-idempotent call is never retried, whatever its service's default policy.
#[test]
fn non_idempotent_calls_are_not_retried() {
    let m = model(
        "
duration: 10s
workloads:
  - { name: users, target: app, rate: 100/s, request: pay }
components:
  app:
    kind: service
    workers: 20
    retry: { attempts: 5 }
    handlers: { pay: { calls: [ { to: bank, idempotent: false } ] } }
  bank: { kind: external, latency: 1ms, errors: 50% }
",
    );
    let r = run(&m, 2);
    assert_eq!(r.components["app"].retries_sent, 0);
    assert_eq!(r.components["bank"].arrivals, r.components["app"].arrivals);
}

/// A crash at 10s for 5s: requests fail `unavailable` only inside the window, the event log
/// has the crash and the restart at their times, and service resumes.
#[test]
fn a_crash_happens_at_its_time_and_ends() {
    let m = model(
        "
duration: 30s
series_buckets: 30
workloads:
  - { name: users, target: app, rate: 200/s, request: a }
components:
  app: { kind: service, workers: 4, handlers: { a: { work: exp 5ms } } }
faults:
  - { at: 10s, for: 5s, crash: app }
",
    );
    let r = run(&m, 4);
    let kinds: Vec<(f64, &str, &str)> = r
        .events
        .iter()
        .map(|e| (e.t_s, e.kind.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (10.0, "fault", "crash app"),
            (15.0, "recovery", "restart app")
        ]
    );
    let failed = &r.series.failed_per_s;
    let ok = &r.series.throughput_per_s;
    for (second, (f, o)) in failed.iter().zip(ok).enumerate() {
        if (10..15).contains(&second) {
            assert!(
                *o == 0.0 || second == 10,
                "second {second}: {o} ok/s while down"
            );
            assert!(
                *f > 150.0,
                "second {second}: only {f} failures/s while down"
            );
        } else if second > 10 {
            assert_eq!(*f, 0.0, "second {second}: failures after the restart");
            assert!(*o > 150.0, "second {second}: {o} ok/s after the restart");
        }
    }
    let a = &r.requests["a"];
    // Those inside at the crash are dropped; everything else in the window is unavailable.
    assert!(a.failed_by_cause["dropped"] <= 4 + 50);
    assert!(a.failed_by_cause["unavailable"] > 900);
    assert_eq!(a.count, a.ok + a.ok_degraded + a.failed + a.in_flight);
}

/// Retries across a short crash of one of two replicas turn most failures into successes.
#[test]
fn retries_ride_out_a_replica_crash() {
    let base = "
duration: 60s
workloads:
  - { name: users, target: app, rate: 200/s, request: a }
components:
  app:
    kind: service
    workers: 10
    RETRY
    handlers: { a: { work: 1ms, calls: [ { to: db } ] } }
  db: { kind: service, replicas: 2, balance: random, workers: 8, handlers: { a: { work: exp 2ms } } }
faults:
  - { at: 20s, for: 10s, crash: db, replica: 1 }
";
    let without = run(&model(&base.replace("RETRY", "")), 5);
    let with = run(&model(&base.replace("RETRY", "retry: { attempts: 4 }")), 5);
    let lost = |r: &Report| r.requests["a"].failed;
    // Without retries, about half the requests of the 10 s window fail (~1000).
    assert!(lost(&without) > 800, "{}", lost(&without));
    // With 4 attempts, a request fails only if all four pick the dead replica: 1/16 of them.
    assert!(
        lost(&with) < lost(&without) / 8,
        "{} vs {}",
        lost(&with),
        lost(&without)
    );
}

/// Slow and error faults change what they should, only while they last.
#[test]
fn slow_and_error_faults_apply_in_their_window() {
    let m = model(
        "
duration: 30s
series_buckets: 30
workloads:
  - { name: users, target: app, rate: 100/s, request: a }
components:
  app: { kind: service, workers: 50, handlers: { a: { work: 10ms } } }
faults:
  - { at: 5s, for: 5s, slow: app, factor: 10 }
  - { at: 20s, for: 5s, error: app, fraction: 100% }
",
    );
    let r = run(&m, 6);
    let p50 = &r.series.latency_p50_s;
    assert_eq!(p50[2], Some(0.01));
    assert_eq!(p50[7], Some(0.1));
    assert_eq!(p50[12], Some(0.01));
    let failed = &r.series.failed_per_s;
    assert_eq!(failed[15], 0.0);
    assert!(failed[22] > 80.0);
    assert_eq!(failed[27], 0.0);
    assert_eq!(
        r.requests["a"].failed,
        r.requests["a"].failed_by_cause["error"]
    );
    assert_eq!(r.events.len(), 4);
}

/// Faults, retries and timeouts keep runs deterministic.
#[test]
fn runs_with_faults_are_deterministic() {
    let m = model(
        "
duration: 30s
workloads:
  - { name: users, target: lb, rate: 300/s, mix: { a: 0.5, b: 0.5 }, timeout: 300ms }
components:
  lb: { kind: load_balancer, policy: least_connections, backends: app }
  app:
    kind: service
    replicas: 3
    workers: 4
    queue: 20
    timeout: 50ms
    retry: { attempts: 3, backoff: exponential 5ms, jitter: full }
    handlers: { \"*\": { work: exp 3ms, calls: [ { to: db } ] } }
  db: { kind: service, workers: 4, handlers: { \"*\": { work: exp 4ms } } }
faults:
  - { at: 5s, for: 3s, crash: app, replica: 0 }
  - { at: 12s, for: 4s, slow: db, factor: 8 }
  - { at: 20s, for: 2s, crash: db }
",
    );
    let a = run(&m, 9);
    let b = run(&m, 9);
    assert_eq!(a.to_json(), b.to_json());
    let t = a.totals;
    assert_eq!(t.generated, t.ok + t.ok_degraded + t.failed + t.in_flight);
    assert!(a.components["app"].retries_sent > 0);
}

/// The bundled retry storm: after a 10 s slowdown ends, the overload goes on (metastable);
/// the same model with a bounded database queue recovers within seconds.
#[test]
fn a_retry_storm_outlives_its_trigger_unless_load_is_shed() {
    let storm = run(&model(&bundled_text("retry_storm.yaml")), 1);
    let shed = run(&model(&bundled_text("retry_storm_shed.yaml")), 1);
    // One-second buckets; the slowdown is from 60 s to 70 s. Look at 100 s to 180 s.
    let late = |r: &Report| -> (f64, f64) {
        let ok: f64 = r.series.throughput_per_s[100..].iter().sum();
        let failed: f64 = r.series.failed_per_s[100..].iter().sum();
        (ok, failed)
    };
    let (storm_ok, storm_failed) = late(&storm);
    let (shed_ok, shed_failed) = late(&shed);
    assert!(
        storm_failed > 0.95 * (storm_ok + storm_failed),
        "the storm subsided: {storm_ok} ok, {storm_failed} failed"
    );
    assert!(storm.components["db"].abandoned > storm.components["db"].arrivals / 4);
    assert_eq!(
        shed_failed, 0.0,
        "the shedding model still fails after recovery"
    );
    // 80 s at 700/s; Poisson noise on 56,000 requests is about 0.4%.
    assert!(shed_ok > 0.97 * 700.0 * 80.0, "{shed_ok}");
}

/// A partition cuts only the links between its groups: calls across it vanish (callers
/// time out), calls within a group go on.
#[test]
fn a_partition_blocks_only_the_named_pairs() {
    let m = model(
        "
duration: 30s
workloads:
  - { name: users, target: app, rate: 100/s, mix: { a: 0.5, b: 0.5 } }
components:
  app:
    kind: service
    workers: 100
    timeout: 200ms
    handlers:
      a: { calls: [ { to: db } ] }
      b: { calls: [ { to: cache } ] }
  db: { kind: service, workers: 10, handlers: { a: { work: 1ms } } }
  cache: { kind: service, workers: 10, handlers: { b: { work: 1ms } } }
links:
  default: { latency: 0.1ms }
faults:
  - { at: 10s, for: 10s, partition: [[app, cache], [db]] }
",
    );
    let r = run(&m, 8);
    let (a, b) = (&r.requests["a"], &r.requests["b"]);
    assert_eq!(b.failed, 0, "calls within a group must not fail");
    // About a third of the `a` requests fall in the 10 s window; each times out.
    let share = a.failed as f64 / a.count as f64;
    assert!((share - 1.0 / 3.0).abs() < 0.05, "{share}");
    assert_eq!(a.failed, a.failed_by_cause["timeout"]);
    assert_eq!(
        r.events
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>(),
        vec![
            "partition [app, cache] | [db]",
            "partition healed [app, cache] | [db]"
        ]
    );
}

/// Link faults: added latency shows in the latency, a reset fails at once with
/// `unavailable`, a black hole leaves callers waiting for their timeout.
#[test]
fn link_faults_delay_refuse_or_swallow() {
    let text = "
duration: 20s
series_buckets: 20
workloads:
  - { name: users, target: app, rate: 100/s, request: a }
components:
  app:
    kind: service
    workers: 100
    handlers: { a: { calls: [ { to: db, timeout: 500ms } ] } }
  db: { kind: service, workers: 10, handlers: { a: { work: 1ms } } }
links:
  default: { latency: 1ms }
faults:
  - { at: 5s, for: 5s, link: [app, db], FAULT }
";
    let run_with = |fault: &str| run(&model(&text.replace("FAULT", fault)), 10);
    let slow = run_with("latency: 20ms");
    // 4 crossings of 1ms normally; the app-db link adds 20ms each way during the fault.
    assert_eq!(slow.series.latency_p50_s[2], Some(0.005));
    assert_eq!(slow.series.latency_p50_s[7], Some(0.045));
    assert_eq!(slow.requests["a"].failed, 0);

    let reset = run_with("reset: true");
    let a = &reset.requests["a"];
    assert_eq!(a.failed, a.failed_by_cause["unavailable"]);
    assert!(a.failed > 400 && a.failed < 600, "{}", a.failed);
    // Refused at once: the failures land in the fault's buckets, not 500ms later.
    assert!(reset.series.failed_per_s[5] > 80.0);

    let hole = run_with("blackhole: true");
    let h = &hole.requests["a"];
    assert_eq!(h.failed, h.failed_by_cause["timeout"]);
    assert!(h.failed > 400 && h.failed < 600, "{}", h.failed);
}

/// A breaker stops calls to a dead dependency within its threshold, probes it while it is
/// down, and closes again soon after it returns.
#[test]
fn a_breaker_stops_calls_to_a_dead_dependency_and_recovers() {
    let text = "
duration: 40s
series_buckets: 40
workloads:
  - { name: users, target: app, rate: 200/s, request: a }
components:
  app:
    kind: service
    workers: 50
    timeout: 100ms
    BREAKER
    handlers: { a: { calls: [ { to: db } ] } }
  db: { kind: service, workers: 8, handlers: { a: { work: exp 2ms } } }
faults:
  - { at: 10s, for: 10s, crash: db }
";
    let guarded = run(
        &model(&text.replace("BREAKER", "breaker: { failures: 5, open_for: 2s }")),
        11,
    );
    let bare = run(&model(&text.replace("BREAKER", "")), 11);
    // Without a breaker every request of the 10 s crash reaches the dead database (~2000);
    // with one, 5 failures open it and then only one probe every 2 s gets through.
    let reached = |r: &Report| r.components["db"].arrivals;
    let extra_bare = reached(&bare) - 6000;
    let refused = guarded.components["app"].short_circuited;
    assert!(refused > 1900, "only {refused} calls refused");
    assert!(reached(&guarded) + refused >= reached(&bare) - 100);
    assert!(extra_bare > 1800);
    let log: Vec<&str> = guarded.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(log.first(), Some(&"crash db"));
    assert_eq!(log[1], "breaker app → db opens");
    let opened_at = guarded.events[1].t_s;
    assert!((10.0..10.1).contains(&opened_at), "opened at {opened_at}");
    // It closes at the first probe after the restart at 20 s: within one `open_for`.
    let closed = guarded
        .events
        .iter()
        .find(|e| e.message == "breaker app → db closes")
        .expect("it closes");
    assert!(
        closed.t_s >= 20.0 && closed.t_s <= 22.1,
        "closed at {}",
        closed.t_s
    );
    assert_eq!(guarded.series.failed_per_s[25], 0.0);
    assert!(guarded.series.throughput_per_s[25] > 150.0);
}

/// The same storm with a 10% retry budget: retries cannot feed the overload, the backlog of
/// abandoned work drains, and the system recovers (later than with load shedding, since
/// the database first works off what piled up during the slowdown).
#[test]
fn a_retry_budget_ends_the_storm() {
    let text = bundled_text("retry_storm.yaml");
    let budgeted = text.replace(
        "retry: { attempts: 4 }",
        "retry: { attempts: 4, budget: 10% }",
    );
    assert_ne!(text, budgeted);
    let r = run(&model(&budgeted), 1);
    let failed_late: f64 = r.series.failed_per_s[100..].iter().sum();
    assert_eq!(failed_late, 0.0, "still failing after 100 s");
    // Retries stay within the budget: 10% of first attempts plus the initial burst of 10.
    let api = &r.components["api"];
    let first_attempts = r.components["db"].arrivals - api.retries_sent;
    assert!(api.retries_sent as f64 <= 0.1 * first_attempts as f64 + 10.0);
}

/// Over a dependency that always fails, a budget of 20% lets through retries worth 20% of
/// the first attempts, however many attempts the policy allows.
#[test]
fn a_retry_budget_bounds_the_extra_load() {
    let m = model(
        "
duration: 100s
workloads:
  - { name: users, target: app, rate: 100/s, request: a }
components:
  app:
    kind: service
    workers: 20
    retry: { attempts: 5, budget: 20%, burst: 5 }
    handlers: { a: { calls: [ { to: down } ] } }
  down: { kind: external, latency: 1ms, errors: 100% }
",
    );
    let r = run(&m, 12);
    let first = r.components["app"].arrivals;
    let retries = r.components["app"].retries_sent;
    let ratio = retries as f64 / first as f64;
    // Tokens earned: 0.2 per first attempt, plus the 5 the bucket starts with.
    assert!(
        retries as f64 <= 0.2 * first as f64 + 5.0,
        "{retries} retries for {first}"
    );
    assert!(ratio > 0.19, "the budget was not used: {ratio}");
}

/// A fallback turns a failed optional call into a degraded answer: requests end
/// `ok_degraded` in the proportion the dependency fails, and none fail.
#[test]
fn a_fallback_degrades_instead_of_failing() {
    let m = model(
        "
duration: 100s
workloads:
  - { name: users, target: app, rate: 200/s, request: page }
components:
  app:
    kind: service
    workers: 20
    handlers:
      page: { work: 1ms, calls: [ { to: recommendations, fallback: true }, { to: db } ] }
  recommendations: { kind: external, latency: 2ms, errors: 25% }
  db: { kind: service, workers: 8, handlers: { page: { work: exp 1ms } } }
",
    );
    let r = run(&m, 13);
    let p = &r.requests["page"];
    assert_eq!(p.failed, 0);
    let answered = (p.ok + p.ok_degraded) as f64;
    let share = p.ok_degraded as f64 / answered;
    // 20,000 requests: the standard error of a 25% share is 0.3%; 4 of them is 1.2%.
    assert!((share - 0.25).abs() < 0.012, "degraded share {share}");
    let t = r.totals;
    // Each degraded request used one fallback; requests still in flight may have used one.
    let fallbacks = r.components["app"].fallbacks;
    assert!(fallbacks >= t.ok_degraded && fallbacks <= t.ok_degraded + t.in_flight);
    assert_eq!(t.generated, t.ok + t.ok_degraded + t.failed + t.in_flight);
    // The degraded series is part of throughput.
    let degraded: f64 = r.series.degraded_per_s.iter().sum::<f64>() * r.series.bucket_s;
    assert!((degraded - t.ok_degraded as f64).abs() < 0.5);
}

/// A bulkhead caps the attempts outstanding to a slow dependency: the rest fail at once
/// with `rejected`, and the dependency sees at most `concurrency / latency` per second.
#[test]
fn a_bulkhead_caps_calls_to_a_slow_dependency() {
    let m = model(
        "
duration: 60s
workloads:
  - { name: users, target: app, rate: 100/s, request: a }
components:
  app:
    kind: service
    workers: 200
    handlers: { a: { calls: [ { to: slow, concurrency: 5 } ] } }
  slow: { kind: external, latency: 100ms }
",
    );
    let r = run(&m, 14);
    let a = &r.requests["a"];
    let through = r.components["slow"].arrivals as f64 / 60.0;
    assert!(
        through <= 50.0 + 0.5,
        "{through}/s got through a bulkhead of 5 × 100ms"
    );
    assert!(
        through > 40.0,
        "the bulkhead let too few through: {through}/s"
    );
    assert_eq!(a.failed, a.failed_by_cause["rejected"]);
    assert_eq!(r.components["app"].bulkhead_rejected, a.failed);
    // Refused at once: their latency is not counted, and the answered ones take 100ms.
    assert_eq!(a.latency_s.max, Some(0.1));
}

/// Overload with a queue time limit: requests that waited too long are shed, so those
/// served are served fast; without the limit, everyone waits longer and longer.
#[test]
fn a_queue_timeout_sheds_stale_requests() {
    let text = "
duration: 60s
workloads:
  - { name: users, target: app, rate: 1200/s, request: a }
components:
  app: { kind: service, workers: 1, LIMIT handlers: { a: { work: exp 1ms } } }
";
    let shed = run(&model(&text.replace("LIMIT", "queue_timeout: 50ms,")), 15);
    let bare = run(&model(&text.replace("LIMIT", "")), 15);
    let s = &shed.requests["a"];
    assert!(
        s.failed_by_cause["rejected"] > 5000,
        "{}",
        s.failed_by_cause["rejected"]
    );
    assert!(s.latency_s.max.expect("answered") < 0.05 + 0.02);
    assert!(bare.requests["a"].latency_s.p50.expect("answered") > 1.0);
}

/// Under overload with impatient clients, LIFO serves the requests whose clients still
/// wait; FIFO serves requests that have already timed out.
#[test]
fn lifo_keeps_goodput_under_overload() {
    let text = "
duration: 60s
workloads:
  - { name: users, target: app, rate: 1300/s, request: a, timeout: 200ms }
components:
  app: { kind: service, workers: 1, ORDER handlers: { a: { work: exp 1ms } } }
";
    let lifo = run(&model(&text.replace("ORDER", "queue_order: lifo,")), 16);
    let fifo = run(&model(&text.replace("ORDER", "")), 16);
    let good = |r: &Report| r.requests["a"].ok;
    assert!(
        good(&lifo) > 3 * good(&fifo),
        "lifo {} vs fifo {}",
        good(&lifo),
        good(&fifo)
    );
}

/// A health-checked balancer stops sending to a crashed replica once its probes fail, and
/// sends to it again once it answers them.
#[test]
fn a_health_checked_balancer_avoids_a_crashed_replica() {
    let text = "
duration: 60s
workloads:
  - { name: users, target: lb, rate: 300/s, request: a }
components:
  lb: { kind: load_balancer, policy: round_robin, backends: app CHECK }
  app: { kind: service, replicas: 3, workers: 8, handlers: { a: { work: exp 2ms } } }
faults:
  - { at: 10s, for: 20s, crash: app, replica: 1 }
";
    let checked = run(
        &model(&text.replace(
            "CHECK",
            ", health_check: { interval: 1s, unhealthy: 2, healthy: 2 }",
        )),
        17,
    );
    let blind = run(&model(&text.replace("CHECK", "")), 17);
    // Blind: a third of 20 s × 300/s fail (≈ 2000). Checked: only until the second failed
    // probe, at most 2 s of a third of the traffic (≈ 200).
    let failed = |r: &Report| r.requests["a"].failed;
    assert!(failed(&blind) > 1800, "{}", failed(&blind));
    assert!(failed(&checked) <= 220, "{}", failed(&checked));
    let log: Vec<(f64, &str)> = checked
        .events
        .iter()
        .map(|e| (e.t_s, e.message.as_str()))
        .collect();
    assert_eq!(log[0], (10.0, "crash app replica 1"));
    assert_eq!(log[1], (11.0, "lb ejects app replica 1"));
    assert_eq!(log[2], (30.0, "restart app replica 1"));
    // Probes at 30 s (just after the restart, which was scheduled first) and 31 s succeed.
    assert_eq!(log[3], (31.0, "lb re-admits app replica 1"));
    // Back in rotation: the restarted replica serves again, so the others' share drops.
    assert_eq!(checked.series.failed_per_s[45], 0.0);
}

/// Outlier ejection leaves out a replica whose answers keep failing, for a while.
#[test]
fn outlier_ejection_leaves_out_a_failing_replica() {
    let text = "
duration: 40s
workloads:
  - { name: users, target: lb, rate: 200/s, request: a }
components:
  lb: { kind: load_balancer, policy: random, backends: app OUTLIER }
  app: { kind: service, replicas: 2, workers: 8, handlers: { a: { work: exp 2ms } } }
faults:
  - { at: 10s, for: 20s, error: app, fraction: 100% }
";
    // An error fault applies to every replica: both fail while it lasts, outlier ejection
    // leaves each out in turn, and with both out requests fail at once (`unavailable`).

    let ejecting = run(
        &model(&text.replace("OUTLIER", ", outlier: { failures: 5, eject_for: 5s }")),
        18,
    );
    let a = &ejecting.requests["a"];
    // While both are ejected, requests fail at once with `unavailable` instead of `error`.
    assert!(
        a.failed_by_cause["unavailable"] > 1000,
        "{:?}",
        a.failed_by_cause
    );
    assert!(a.failed_by_cause["error"] > 0);
    assert!(
        ejecting
            .events
            .iter()
            .any(|e| e.message == "lb ejects app replica 0 (outlier)")
    );
}

/// Random crashes: a replica that fails every `exp 10s` and takes `exp 2s` to repair is up
/// a fraction mtbf / (mtbf + mttr) = 10/12 of the time, so that share of requests succeeds.
#[test]
fn random_crashes_give_the_expected_availability() {
    let m = model(
        "
duration: 2000s
workloads:
  - { name: users, target: app, rate: 50/s, request: a }
components:
  app: { kind: service, workers: 4, mtbf: exp 10s, mttr: exp 2s, handlers: { a: { work: 1ms } } }
",
    );
    let reports = replicate(&m, 30);
    let availability: Vec<f64> = reports
        .iter()
        .map(|r| answered_share(&r.requests["a"]))
        .collect();
    let s = Summary::of(&availability);
    let want = 10.0 / 12.0;
    eprintln!(
        "availability | {:.4} ± {:.4} (theory {want:.4})",
        s.mean, s.half_width_95
    );
    // 99.9% interval over 8 replications of ~170 failure cycles each; power: the 95%
    // half-width must be under 1.5% of the value.
    assert!(
        (s.mean - want).abs() <= s.half_width(5.408),
        "{} vs {want}",
        s.mean
    );
    assert!(s.half_width_95 < 0.015 * want);
    assert!(
        reports[0]
            .events
            .iter()
            .any(|e| e.message == "random crash of app")
    );
}

/// A flapping fault toggles within its window and stops with it.
#[test]
fn a_flapping_fault_toggles_within_its_window() {
    let m = model(
        "
duration: 100s
workloads:
  - { name: users, target: app, rate: 10/s, request: a }
components:
  app: { kind: service, workers: 4, handlers: { a: { work: 1ms } } }
faults:
  - { at: 10s, for: 60s, crash: app, flap: { down: 5s, up: 15s } }
",
    );
    let r = run(&m, 19);
    let times: Vec<(f64, &str)> = r.events.iter().map(|e| (e.t_s, e.kind.as_str())).collect();
    assert_eq!(
        times,
        vec![
            (10.0, "fault"),
            (15.0, "recovery"),
            (30.0, "fault"),
            (35.0, "recovery"),
            (50.0, "fault"),
            (55.0, "recovery"),
        ]
    );
}

/// "Fail the first N requests": exactly N fail.
#[test]
fn an_error_fault_with_a_count_fails_exactly_that_many() {
    let m = model(
        "
duration: 30s
workloads:
  - { name: users, target: app, rate: 100/s, request: a }
components:
  app: { kind: service, workers: 4, handlers: { a: { work: 1ms } } }
faults:
  - { at: 5s, error: app, fraction: 100%, count: 123 }
",
    );
    let r = run(&m, 20);
    assert_eq!(r.requests["a"].failed, 123);
    assert_eq!(r.requests["a"].failed_by_cause["error"], 123);
}

/// Hedging cuts the tail: a callee that takes 1s one time in twenty, hedged after 50ms,
/// makes a slow answer rare (both copies must be slow: 0.25%), at the cost of about 5%
/// extra load.
#[test]
fn hedged_requests_cut_the_tail_for_a_little_extra_load() {
    let text = "
duration: 200s
workloads:
  - { name: users, target: app, rate: 100/s, request: a }
components:
  app:
    kind: service
    workers: 200
    handlers: { a: { calls: [ { to: backend HEDGE } ] } }
  backend: { kind: external, latency: { empirical: [EMPIRICAL] } }
";
    // One sample in twenty is slow.
    let samples = format!("{}1s", "10ms, ".repeat(19));
    let text = text.replace("EMPIRICAL", &samples);
    let hedged = run(&model(&text.replace("HEDGE", ", hedge: 50ms")), 21);
    let plain = run(&model(&text.replace("HEDGE", "")), 21);
    let (h, p) = (&hedged.requests["a"], &plain.requests["a"]);
    // Percentiles are read from histograms with 3 significant digits: within 0.1%.
    let near = |got: Option<f64>, want: f64| {
        let got = got.expect("answered requests");
        assert!((got - want).abs() <= 0.001 * want, "{got} vs {want}");
    };
    near(p.latency_s.p50, 0.01);
    near(p.latency_s.p99, 1.0);
    // Hedged: 95% answer in 10ms; of the rest, 95% are rescued at 50 + 10 = 60ms.
    near(h.latency_s.p50, 0.01);
    near(h.latency_s.p99, 0.06);
    let app = &hedged.components["app"];
    let extra = app.hedges_sent as f64 / h.count as f64;
    // 20,000 requests: the standard error of a 5% share is 0.15%.
    assert!((extra - 0.05).abs() < 0.006, "extra load {extra}");
    // Every hedge has a loser, whose answer is abandoned (or still out at the end).
    let abandoned = hedged.components["backend"].abandoned;
    assert!(
        abandoned + 100 >= app.hedges_sent && abandoned <= app.hedges_sent,
        "{abandoned} vs {}",
        app.hedges_sent
    );
    assert_eq!(h.failed, 0);
}

/// The autoscaler adds replicas after a spike (each serving only after its cold start),
/// and removes them once the load falls and the cooldown has passed.
#[test]
fn autoscaling_follows_a_spike_with_cold_starts() {
    let text = bundled_text("autoscale_spike.yaml");
    let r = run(&model(&text), 4);
    let replicas = &r.series.components["app"].replicas;
    // 10 s buckets: one replica before the spike, six at its height, one at the end.
    assert_eq!(replicas[5], 1);
    assert_eq!(replicas.iter().copied().max(), Some(6));
    assert_eq!(replicas[59], 1);
    // Every "ready" comes exactly one cold start (20 s) after a scale-out decision.
    let outs: Vec<f64> = r
        .events
        .iter()
        .filter(|e| e.message.contains("scales out"))
        .map(|e| e.t_s)
        .collect();
    let readies: Vec<f64> = r
        .events
        .iter()
        .filter(|e| e.message.ends_with("ready"))
        .map(|e| e.t_s)
        .collect();
    assert!(outs.first().is_some_and(|t| *t > 120.0), "{outs:?}");
    assert!(
        readies
            .iter()
            .all(|t| outs.iter().any(|o| (t - o - 20.0).abs() < 1e-9)),
        "{readies:?} vs {outs:?}"
    );
    assert_eq!(readies.len(), 5);
    // Without autoscaling the single replica never catches up: 4 min at 300/s over its
    // capacity, then 4 min draining at 100/s, leave about 48,000 waiting.
    // Its scenarios set the autoscaler, so they go with it.
    let without_scenarios = &text[..text.find("scenarios:").expect("the bundled scenarios")];
    let fixed = run(
        &model(&without_scenarios.replace(
            "    autoscale: { min: 1, max: 6, target: 70%, window: 15s, cold_start: 20s, cooldown: 1m }\n",
            "",
        )),
        4,
    );
    assert!(
        fixed.totals.in_flight > 40_000,
        "{}",
        fixed.totals.in_flight
    );
    assert!(r.totals.in_flight < 100);
}

/// Time to recover: zero buckets for the shedding model, never for the storm; per-type
/// availability over time dips only during the slowdown.
#[test]
fn recovery_time_and_availability_over_time() {
    let shed = run(&model(&bundled_text("retry_storm_shed.yaml")), 1);
    let storm = run(&model(&bundled_text("retry_storm.yaml")), 1);
    assert_eq!(shed.recoveries.len(), 1);
    assert_eq!(shed.recoveries[0].ended_s, 70.0);
    assert!(
        shed.recoveries[0]
            .time_to_recover_s
            .is_some_and(|t| t <= 2.0)
    );
    assert_eq!(storm.recoveries[0].recovered_s, None);
    let availability = &shed.series.requests["get"].availability;
    assert_eq!(availability[30], Some(1.0));
    assert!(availability[65].is_some_and(|a| a < 0.5));
    assert_eq!(availability[100], Some(1.0));
}

/// Capacity loss: three of four workers gone for 20 s caps throughput at one worker's
/// rate, and the backlog is served once they return. A `slow` fault with a delay adds it
/// to every piece of work.
#[test]
fn capacity_loss_and_added_delay() {
    let m = model(
        "
duration: 60s
series_buckets: 60
workloads:
  - { name: users, target: app, rate: 200/s, request: a }
components:
  app: { kind: service, workers: 4, handlers: { a: { work: 10ms } } }
faults:
  - { at: 20s, for: 20s, capacity: app, workers: 3 }
  - { at: 50s, for: 5s, slow: app, delay: 5ms }
",
    );
    let r = run(&m, 22);
    let done = &r.series.components["app"].throughput_per_s;
    // One worker, 10ms a request: 100/s at most during the loss.
    assert!(done[25] <= 100.0 && done[25] >= 95.0, "{}", done[25]);
    assert!(done[10] > 190.0 && done[10] < 210.0);
    // After the loss, four workers (400/s) work off the 2,000 queued requests.
    assert!(done[41] > 300.0, "{}", done[41]);
    let p50 = &r.series.latency_p50_s;
    // The backlog of the loss (20 s × 100/s) drains at 200/s: gone by 50 s.
    assert!(p50[15].is_some_and(|v| v < 0.0105), "{:?}", p50[15]);
    assert!(p50[58].is_some_and(|v| v < 0.0105), "{:?}", p50[58]);
    assert!(p50[52].is_some_and(|v| v >= 0.0149), "{:?}", p50[52]);
    assert_eq!(r.totals.failed, 0);
}

/// An error-rate breaker opens when the failed share of its window crosses the threshold,
/// and not below it.
#[test]
fn an_error_rate_breaker_opens_on_the_share_of_failures() {
    let text = "
duration: 40s
workloads:
  - { name: users, target: app, rate: 100/s, request: a }
components:
  app:
    kind: service
    workers: 20
    breaker: { error_rate: 50%, window: 5s, min_calls: 20, open_for: 3s }
    handlers: { a: { calls: [ { to: dep } ] } }
  dep: { kind: service, workers: 4, handlers: { a: { work: 2ms } } }
faults:
  - { at: 10s, for: 20s, error: dep, fraction: SHARE }
";
    let high = run(&model(&text.replace("SHARE", "70%")), 23);
    let low = run(&model(&text.replace("SHARE", "30%")), 23);
    let opened: Vec<f64> = high
        .events
        .iter()
        .filter(|e| e.message == "breaker app → dep opens")
        .map(|e| e.t_s)
        .collect();
    // 70% failing: the 5 s window (500 attempts) holds 50% failures once 250 of the 70/s
    // have come in: about 3.6 s into the fault.
    assert!(
        opened.first().is_some_and(|t| *t > 13.0 && *t < 14.5),
        "{opened:?}"
    );
    assert!(high.components["app"].short_circuited > 500);
    assert!(
        !low.events.iter().any(|e| e.message.contains("opens")),
        "{:?}",
        low.events
    );
}

/// Scaling on queue depth reacts to saturation in one step, where utilisation (capped at
/// 100%) at most multiplies the fleet by 1/target per decision.
#[test]
fn queue_depth_scaling_reacts_faster_than_utilisation() {
    let text = bundled_text("autoscale_spike.yaml");
    let by_util = run(&model(&text), 4);
    let by_queue = run(&model(&text.replace("target: 70%", "queue_target: 4")), 4);
    let first_out = |r: &Report| {
        r.events
            .iter()
            .find(|e| e.message.contains("scales out"))
            .map(|e| e.message.clone())
            .expect("it scales out")
    };
    assert!(
        first_out(&by_util).contains("1 → 2"),
        "{}",
        first_out(&by_util)
    );
    assert!(
        first_out(&by_queue).contains("1 → 6"),
        "{}",
        first_out(&by_queue)
    );
    let mean = |r: &Report| r.requests["get"].latency_s.mean.expect("answered");
    assert!(
        mean(&by_queue) < 0.6 * mean(&by_util),
        "{} vs {}",
        mean(&by_queue),
        mean(&by_util)
    );
}

/// A stop-the-world pause: work in progress ends later by the pause's length, nothing
/// completes during it, arrivals queue and are served once it ends.
#[test]
fn a_pause_stops_the_world() {
    let m = model(
        "
duration: 30s
series_buckets: 30
workloads:
  - { name: users, target: app, rate: 100/s, request: a }
components:
  app: { kind: service, workers: 50, handlers: { a: { work: 20ms } } }
faults:
  - { at: 10s, for: 2s, pause: app }
",
    );
    let r = run(&m, 24);
    let done = &r.series.components["app"].throughput_per_s;
    assert_eq!(done[10], 0.0);
    assert_eq!(done[11], 0.0);
    // The 200 arrivals of the pause, and the two in progress, are served when it ends.
    assert!(done[12] > 250.0, "{}", done[12]);
    let max = r.requests["a"].latency_s.max.expect("answered");
    // Served 2 s after arriving at the latest: the first arrivals of the pause wait for all
    // of it, and work in progress at its start ends 2 s late.
    assert!((max - 2.02).abs() < 0.001, "{max}");
    assert_eq!(r.totals.failed, 0);
    let log: Vec<&str> = r.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(log, vec!["app pauses (stop-the-world)", "app resumes"]);
}

/// A bandwidth limit: each message takes its size over the bandwidth, and messages queue
/// for the link (a deterministic server: M/D/1 waiting on top).
#[test]
fn a_bandwidth_limit_serialises_messages() {
    let text = "
duration: 200s
workloads:
  - { name: users, target: app, rate: RATE, request: a }
components:
  app: { kind: service, workers: 1000, handlers: { a: { calls: [ { to: db } ] } } }
  db: { kind: service, workers: 1000, handlers: { a: { work: 1ms } } }
links:
  overrides: [ { between: [app, db], size: 1KB, response_size: 10KB } ]
faults:
  - { at: 0s, link: [app, db], bandwidth: 8Mbit/s }
";
    // 1 MB/s: a 1KB request takes 1ms, a 10KB answer 10ms; with 1ms of work, 12ms.
    let sparse = run(&model(&text.replace("RATE", "1/s")), 25);
    let p50 = sparse.requests["a"].latency_s.p50.expect("answered");
    assert!((p50 - 0.012).abs() < 0.00002, "{p50}");
    // At 50/s the answers keep the link half busy: M/D/1 with ρ = 0.5 adds a mean wait of
    // ρ / (2μ(1 − ρ)) = 5ms for the answers (and about 0.26ms for the requests).
    let busy = run(&model(&text.replace("RATE", "50/s")), 25);
    let mean = busy.requests["a"].latency_s.mean.expect("answered");
    let want = 0.012 + 0.005 + 0.000_26;
    // 10,000 requests: the sample mean's standard error is about 0.15ms.
    assert!((mean - want).abs() < 0.0008, "{mean} vs {want}");
}

/// Erlang B: the share of arrivals that find all `c` servers busy under `a` Erlangs, with no
/// waiting room. Insensitive to the service-time distribution.
fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, k| a * b / (f64::from(k) + a * b))
}

/// `shared_pool.yaml` with its report call given a bulkhead of 4, written into the file.
fn with_report_bulkhead(shared_pool: &str) -> String {
    let split = shared_pool.replacen(
        "report: { work: 0.1ms, calls: [ { to: app } ] }",
        "report: { work: 0.1ms, calls: [ { to: app, concurrency: 4 } ] }",
        1,
    );
    assert_ne!(split, shared_pool, "the bundled model changed");
    split
}

#[test]
fn a_bulkhead_per_type_keeps_a_long_job_from_starving_a_short_one() {
    let shared = bundled_text("shared_pool.yaml");
    let split = with_report_bulkhead(&shared);
    let hour = |text: &str| {
        let m = model(&text.replacen("duration: 10m", "duration: 1h", 1));
        run(&m, 1)
    };
    let (shared, split) = (hour(&shared), hour(&split));
    let pay = |r: &Report| r.requests["pay"].clone();
    // The shared pool: payments wait behind reports, some past their 2 s deadline.
    assert!(
        pay(&shared).failed > 100,
        "{} payments failed",
        pay(&shared).failed
    );
    assert!(pay(&shared).latency_s.p99.is_some_and(|p| p > 0.5));
    // With the bulkhead two workers are always free for payments (1 Erlang of 5 ms work):
    // none fail, and the p99 is that of a short queue.
    assert_eq!(pay(&split).failed, 0);
    assert!(pay(&split).latency_s.p99.is_some_and(|p| p < 0.05));
    // Reports pay for it: those finding 4 outstanding are refused, as Erlang B says. 3
    // Erlangs on 4 slots (an outstanding report is its 2 s of work plus a wait for a worker
    // that is at most a payment's few ms). Over an hour about 5,400 reports: the binomial
    // standard error of the share is 0.0055; 4 of them (0.022) bounds it.
    let report = &split.requests["report"];
    let refused = report.failed_by_cause.get("rejected").copied().unwrap_or(0);
    let share = refused as f64 / report.count as f64;
    let expected = erlang_b(4, 3.0);
    assert!(
        (share - expected).abs() < 0.022,
        "{share:.4} of reports refused; Erlang B says {expected:.4}"
    );
    assert_eq!(shared.requests["report"].failed, 0);
}

#[test]
fn a_scenario_setting_a_calls_concurrency_is_the_model_with_it_written() {
    let text = bundled_text("shared_pool.yaml");
    let written = with_report_bulkhead(&text);
    let m = model(&text);
    let scenario = m.scenario("bulkhead").expect("the bundled scenario");
    let json = |r: &Report| serde_json::to_value(r).expect("a report serialises");
    let by_scenario = run(&std::sync::Arc::new(m.with_scenario(scenario)), 1);
    assert!(
        by_scenario.requests["report"].failed > 0,
        "nothing was refused"
    );
    assert_eq!(json(&by_scenario), json(&run(&model(&written), 1)));
}
