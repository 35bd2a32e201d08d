//! Kernel speed: completed requests per second, single-threaded, with everything a real run
//! does (typed requests, HDR metrics, time series, client deadlines armed and cancelled,
//! the conservation check at the end).
//!
//! Run by hand: `cargo bench --bench kernel`. Figures go to docs/PERFORMANCE.md.

// A benchmark that meets the unexpected should stop with a message.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use archsim::model::{self, Model};
use archsim::sim::{RunOptions, SimTime, Simulation};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn load(name: &str) -> Arc<Model> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name);
    match model::load_file(&path) {
        Ok((m, _)) => Arc::new(m),
        Err(d) => panic!("{}", d.render()),
    }
}

fn options(duration_s: u64) -> RunOptions {
    RunOptions {
        seed: Some(1),
        duration: Some(SimTime::from_secs(duration_s)),
        warmup: Some(SimTime::ZERO),
    }
}

/// Whole runs of the two reference models: (a) M/M/1 at 90% and (b) a balancer over four
/// async M/M/4 services calling an M/M/8 database.
fn whole_runs(c: &mut Criterion) {
    let mut group = c.benchmark_group("completed_requests");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(15));
    for (label, file, duration_s) in [
        ("a_mm1_rho0.9", "mm1.yaml", 200),
        ("b_lb_4xMM4_MM8", "lb_async_db.yaml", 200),
    ] {
        let m = load(file);
        let completed = Simulation::new(Arc::clone(&m), options(duration_s))
            .run()
            .expect("run")
            .totals
            .ok;
        group.throughput(Throughput::Elements(completed));
        group.bench_function(label, |b| {
            b.iter(|| {
                let r = Simulation::new(Arc::clone(&m), options(duration_s))
                    .run()
                    .expect("run");
                black_box(r.totals.ok)
            });
        });
    }
    group.finish();
}

/// Cost per event with 10^3, 10^5 and 10^6 requests in flight, each holding a long client
/// deadline: the future-event list and the deadline lanes must not degrade with size.
fn pending_scale(c: &mut Criterion) {
    const EVENTS: u64 = 200_000;
    let mut group = c.benchmark_group("pending_requests");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for in_flight in [1_000u64, 100_000, 1_000_000] {
        // Little's law: in flight = rate × mean time in system. An infinite-server station
        // (more workers than could ever be busy) keeps every request in service for 10s.
        let rate = in_flight / 10;
        let text = format!(
            "duration: 60s\nworkloads:\n  - {{ name: users, target: pool, rate: {rate}/s, request: a, timeout: 1h }}\ncomponents:\n  pool: {{ kind: service, workers: 10000000, handlers: {{ a: {{ work: exp 10s }} }} }}\n"
        );
        let (m, _) = model::parse("pending.yaml", &text).expect("valid");
        // A run far longer than the benchmark will ever reach, so every step is a real event
        // (set here: the reader would rightly refuse a file asking for it).
        let mut sim = Simulation::new(Arc::new(m), options(100_000_000));
        // Fill the system to its steady state before measuring.
        sim.run_until(SimTime::from_secs(40));
        group.throughput(Throughput::Elements(EVENTS));
        group.bench_with_input(BenchmarkId::new("events", in_flight), &in_flight, |b, _| {
            b.iter_custom(|iters| {
                #[expect(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
                let start = Instant::now();
                for _ in 0..iters {
                    for _ in 0..EVENTS {
                        black_box(sim.step());
                    }
                }
                start.elapsed()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, whole_runs, pending_scale);
criterion_main!(benches);
