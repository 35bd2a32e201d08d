//! A hand-written event loop of reference model (b) — Poisson 800/s → a random choice of 4
//! async M/M/4 services → one M/M/8 database — with nothing but what that network needs: a
//! binary heap of (time, sequence) events, a FIFO and a busy count per station, the same
//! random generator and exponential sampler as archsim, and the end-to-end latency in one
//! HDR histogram (what any simulator reporting p99 must keep). It is the floor archsim's
//! general engine is measured against: same model, same machine, same run.
//!
//! Run by hand: `cargo bench --bench hand_loop`. It prints both engines' completed requests
//! per CPU-second and their ratio; figures go to docs/PERFORMANCE.md.

#![allow(clippy::expect_used)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use archsim::model;
use archsim::sim::random::Stream;
use archsim::sim::{RunOptions, SimTime, Simulation};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SERVICES: usize = 4;
const SERVICES_U32: u32 = 4;
const SERVICE_WORKERS: u32 = 4;
const DB_WORKERS: u32 = 8;
const RATE_PER_S: f64 = 800.0;
const SERVICE_MEAN_NS: f64 = 16_666_667.0;
const DB_MEAN_NS: f64 = 8_333_333.0;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrival,
    ServiceDone { service: u8, request: u32 },
    DbDone { request: u32 },
}

struct Station {
    busy: u32,
    workers: u32,
    waiting: VecDeque<u32>,
}

/// Runs the network for `duration_ns` and returns the requests completed.
fn hand_loop(duration_ns: u64, seed: u64) -> u64 {
    let mut heap: BinaryHeap<Reverse<(u64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<Reverse<(u64, u64, Ev)>>, t: u64, e: Ev| {
        seq += 1;
        heap.push(Reverse((t, seq, e)));
    };
    let mut arrivals = Stream::derive(seed, "clients", "arrivals");
    let mut route = Stream::derive(seed, "lb", "route");
    let mut work: Vec<Stream> = (0..=SERVICES)
        .map(|i| Stream::derive(seed, &format!("s{i}"), "work"))
        .collect();
    let mut services: Vec<Station> = (0..SERVICES)
        .map(|_| Station {
            busy: 0,
            workers: SERVICE_WORKERS,
            waiting: VecDeque::new(),
        })
        .collect();
    let mut db = Station {
        busy: 0,
        workers: DB_WORKERS,
        waiting: VecDeque::new(),
    };
    // Request slots, reused: the start time of each request in flight.
    let mut start: Vec<u64> = Vec::new();
    let mut free: Vec<u32> = Vec::new();
    let mut latency =
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("bounds");
    let mut completed = 0u64;
    let gap = |s: &mut Stream| ns(s.exp(1e9 / RATE_PER_S));
    push(&mut heap, gap(&mut arrivals), Ev::Arrival);
    while let Some(Reverse((now, _, ev))) = heap.pop() {
        if now > duration_ns {
            break;
        }
        match ev {
            Ev::Arrival => {
                push(&mut heap, now + gap(&mut arrivals), Ev::Arrival);
                let request = if let Some(r) = free.pop() {
                    start[r as usize] = now;
                    r
                } else {
                    start.push(now);
                    u32::try_from(start.len() - 1).expect("fits")
                };
                let service = u8::try_from(route.below(SERVICES_U32)).expect("4 services");
                let st = &mut services[service as usize];
                if st.busy < st.workers {
                    st.busy += 1;
                    let done = now + ns(work[service as usize].exp(SERVICE_MEAN_NS));
                    push(&mut heap, done, Ev::ServiceDone { service, request });
                } else {
                    st.waiting.push_back(request);
                }
            }
            Ev::ServiceDone { service, request } => {
                // Async: the worker is free as soon as the work is done.
                let st = &mut services[service as usize];
                if let Some(next) = st.waiting.pop_front() {
                    let done = now + ns(work[service as usize].exp(SERVICE_MEAN_NS));
                    push(
                        &mut heap,
                        done,
                        Ev::ServiceDone {
                            service,
                            request: next,
                        },
                    );
                } else {
                    st.busy -= 1;
                }
                if db.busy < db.workers {
                    db.busy += 1;
                    let done = now + ns(work[SERVICES].exp(DB_MEAN_NS));
                    push(&mut heap, done, Ev::DbDone { request });
                } else {
                    db.waiting.push_back(request);
                }
            }
            Ev::DbDone { request } => {
                if let Some(next) = db.waiting.pop_front() {
                    let done = now + ns(work[SERVICES].exp(DB_MEAN_NS));
                    push(&mut heap, done, Ev::DbDone { request: next });
                } else {
                    db.busy -= 1;
                }
                latency.saturating_record(now - start[request as usize]);
                free.push(request);
                completed += 1;
            }
        }
    }
    black_box(latency.value_at_quantile(0.99));
    completed
}

fn ns(x: f64) -> u64 {
    archsim::sim::random::ns_to_time(x).as_nanos()
}

fn side_by_side(c: &mut Criterion) {
    const DURATION_S: u64 = 200;
    let mut group = c.benchmark_group("model_b_side_by_side");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    let completed = hand_loop(DURATION_S * 1_000_000_000, 1);
    group.throughput(Throughput::Elements(completed));
    group.bench_function("hand_written_loop", |b| {
        b.iter(|| black_box(hand_loop(DURATION_S * 1_000_000_000, 1)));
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/lb_async_db.yaml");
    let (m, _) = model::load_file(&path).expect("valid");
    let m = Arc::new(m);
    let options = RunOptions {
        seed: Some(1),
        duration: Some(SimTime::from_secs(DURATION_S)),
        warmup: Some(SimTime::ZERO),
    };
    let completed = Simulation::new(Arc::clone(&m), options)
        .run()
        .expect("run")
        .totals
        .ok;
    group.throughput(Throughput::Elements(completed));
    group.bench_function("archsim", |b| {
        b.iter(|| {
            let r = Simulation::new(Arc::clone(&m), options).run().expect("run");
            black_box(r.totals.ok)
        });
    });
    group.finish();
}

criterion_group!(benches, side_by_side);
criterion_main!(benches);
