//! Same model + same seed = the same report, byte for byte; different seeds differ; runs in
//! parallel give what the same runs give one after another; every bundled model runs.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use archsim::experiment;
use archsim::model::Model;
use archsim::observe::Report;
use archsim::sim::{RunOptions, SimTime, Simulation};

use crate::support::{bundled, model as inline_model, run_model, timed};

fn run(m: &Arc<Model>, seed: u64, duration_s: u64) -> Report {
    run_model(m, timed(seed, 1, duration_s))
}

#[test]
fn same_seed_gives_identical_json() {
    let m = bundled("checkout.yaml");
    let a = run(&m, 11, 60).to_json();
    let b = run(&m, 11, 60).to_json();
    assert!(a.len() > 10_000, "the report is suspiciously small");
    assert_eq!(a, b, "two runs with seed 11 differ");
}

#[test]
fn different_seeds_give_different_results() {
    let m = bundled("checkout.yaml");
    let a = run(&m, 1, 30);
    let b = run(&m, 2, 30);
    assert_ne!(a.totals.generated, b.totals.generated);
    assert_ne!(
        a.requests["browse"].latency_s.mean,
        b.requests["browse"].latency_s.mean
    );
}

#[test]
fn parallel_replications_equal_serial_runs() {
    let m = bundled("lb_async_db.yaml");
    let options = RunOptions {
        seed: Some(40),
        duration: Some(SimTime::from_secs(20)),
        warmup: Some(SimTime::from_secs(1)),
    };
    let parallel = experiment::run_replications(&m, options, 4).expect("runs");
    for (i, p) in parallel.iter().enumerate() {
        let seed = 40 + i as u64;
        assert_eq!(p.seed, seed);
        let p = p.clone();
        assert_eq!(p.to_json(), run(&m, seed, 20).to_json(), "seed {seed}");
    }
}

/// Stepping event by event, or in slices of simulated time, reaches the same state as
/// running straight to the end: the app will drive the engine that way.
#[test]
fn stepping_and_slicing_match_a_straight_run() {
    let m = bundled("checkout.yaml");
    let options = RunOptions {
        seed: Some(5),
        duration: Some(SimTime::from_secs(10)),
        warmup: Some(SimTime::ZERO),
    };
    let straight = Simulation::new(Arc::clone(&m), options).run().expect("run");

    let mut sliced = Simulation::new(Arc::clone(&m), options);
    let mut t = SimTime::ZERO;
    while t < sliced.end() {
        t += SimTime::from_millis(137);
        sliced.run_until(t);
    }
    let sliced = sliced.finish().expect("finish");

    let mut stepped = Simulation::new(Arc::clone(&m), options);
    while stepped.step() {}
    let stepped = stepped.finish().expect("finish");

    for r in [&sliced, &stepped] {
        assert_eq!(r.totals, straight.totals);
        assert_eq!(r.sim_events, straight.sim_events);
        assert_eq!(r.to_json(), straight.to_json());
    }
}

/// Adding a component elsewhere leaves the other components' random streams alone, so a
/// baseline and a variant are compared on common random numbers.
#[test]
fn an_unrelated_component_does_not_change_the_others_draws() {
    let base = "
duration: 30s
workloads:
  - { name: users, target: app, rate: 200/s, request: a }
  - { name: batch, target: other, rate: 50/s, request: b }
components:
  app: { kind: service, workers: 2, handlers: { a: { work: exp 5ms } } }
  other: { kind: service, handlers: { b: { work: exp 2ms } } }
";
    let with_extra =
        format!("{base}  extra: {{ kind: service, handlers: {{ b: {{ work: 1ms }} }} }}\n");
    let with_extra = with_extra.replace(
        "other: { kind: service, handlers: { b: { work: exp 2ms } } }",
        "other: { kind: service, handlers: { b: { work: exp 2ms, calls: [ { to: extra } ] } } }",
    );
    let a = run(&inline_model(base), 3, 30);
    let b = run(&inline_model(&with_extra), 3, 30);
    assert_eq!(a.requests["a"].count, b.requests["a"].count);
    assert_eq!(
        a.requests["a"].latency_s.mean,
        b.requests["a"].latency_s.mean
    );
    assert_eq!(a.requests["a"].latency_s.p99, b.requests["a"].latency_s.p99);
}

/// Every bundled model is valid, runs, conserves its requests, and its headline figures
/// are pinned by a snapshot so any change to what a model shows is visible in review.
#[test]
fn bundled_models_run_and_match_their_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("models directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&path).expect("readable");
        assert!(
            text.starts_with('#'),
            "{name}.yaml should open with a comment saying what to look at"
        );
        let m = bundled(&format!("{name}.yaml"));
        let r = run(&m, m.seed, 60);
        let t = r.totals;
        assert!(t.generated > 0, "{name} generated nothing");
        assert_eq!(t.generated, t.ok + t.ok_degraded + t.failed + t.in_flight);
        insta::assert_snapshot!(format!("model_{name}"), headline(&r));
    }
}

/// A compact, stable summary: counts and rounded latencies per request type.
fn headline(r: &Report) -> String {
    let mut out = format!(
        "generated {} ok {} failed {} in_flight {}\n",
        r.totals.generated, r.totals.ok, r.totals.failed, r.totals.in_flight
    );
    for (name, q) in &r.requests {
        let ms = |v: Option<f64>| v.map_or("-".to_string(), |s| format!("{:.3}", s * 1e3));
        let _ = writeln!(
            out,
            "{name}: count {} ok {} failed {:?} mean_ms {} p99_ms {}",
            q.count,
            q.ok,
            q.failed_by_cause
                .iter()
                .filter(|(_, n)| **n > 0)
                .collect::<Vec<_>>(),
            ms(q.latency_s.mean),
            ms(q.latency_s.p99)
        );
    }
    out
}
