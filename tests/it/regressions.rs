//! Regression tests, each named after the bug it pins.

use archsim::sim::{RunOptions, Simulation};

use crate::support::model;

fn run_seeds(text: &str, seeds: std::ops::Range<u64>) -> Vec<archsim::observe::Report> {
    let m = model(text);
    seeds
        .map(|seed| {
            Simulation::new(
                std::sync::Arc::clone(&m),
                RunOptions {
                    seed: Some(seed),
                    ..RunOptions::default()
                },
            )
            .run()
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
        })
        .collect()
}

/// A crash that catches a caller and its callee in the same component: answering the
/// callee's caller at once let the caller finish and be freed, and the crash then "lost"
/// the freed slot — counters underflowed or a stale slot panicked.
#[test]
fn crash_with_caller_and_callee_inside_the_same_component() {
    let self_call = "
duration: 10s
workloads:
  - { name: u, target: a, rate: 100/s, request: x }
components:
  a:
    kind: service
    workers: 20
    handlers:
      x: { calls: [ { to: a, request: y } ] }
      y: { work: exp 50ms }
faults:
  - { at: 5s, crash: a }
";
    let chain = "
duration: 20s
workloads:
  - { name: u, target: a, rate: 200/s, request: x }
components:
  a:
    kind: service
    workers: 50
    handlers:
      x: { work: exp 1ms, calls: [ { to: b } ] }
      y: { work: exp 20ms }
  b: { kind: service, workers: 50, handlers: { x: { work: exp 1ms, calls: [ { to: a, request: y } ] } } }
faults:
  - { at: 5s, for: 1s, crash: a }
  - { at: 8s, for: 1s, crash: a }
";
    for text in [self_call, chain] {
        for r in run_seeds(text, 1..9) {
            let t = r.totals;
            assert_eq!(t.generated, t.ok + t.ok_degraded + t.failed + t.in_flight);
            assert!(r.requests["x"].failed_by_cause["dropped"] > 0);
        }
    }
}

/// Shedding a stale request answered its caller at once; the caller's next call could
/// start on the freed worker, and the shedding loop then started another request on top:
/// more requests in service than workers.
#[test]
fn shedding_never_oversubscribes_workers() {
    let text = "
duration: 60s
workloads:
  - { name: u, target: front, rate: 150/s, request: x }
components:
  front:
    kind: service
    workers: 100000
    handlers:
      x: { calls: [ { to: a, fallback: true }, { to: a, request: y } ] }
  a:
    kind: service
    workers: 2
    queue_timeout: 5ms
    handlers:
      x: { work: exp 10ms }
      y: { work: exp 10ms }
";
    for r in run_seeds(text, 1..4) {
        let a = &r.components["a"];
        assert!(
            a.utilization.is_some_and(|u| u <= 1.0),
            "{:?}",
            a.utilization
        );
        let worst = r.series.components["a"]
            .utilization
            .iter()
            .flatten()
            .fold(0.0_f64, |m, u| m.max(*u));
        assert!(worst <= 1.0 + 1e-9, "a bucket at {worst}");
    }
}
