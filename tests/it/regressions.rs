//! Regression tests, each named after the bug it pins.

use archsim::sim::{RunOptions, Simulation};

use crate::support::{model, within};

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

/// A pause ending at the very instant its component's callee crashed: the held-back reply
/// re-queued itself with no wait, forever, and the run never ended. (A database behind a
/// call timeout reached it too: the pause check read a caller already freed.)
#[test]
fn a_pause_ending_as_the_callee_crashes_lets_the_run_end() {
    let text = "
duration: 40s
workloads:
  - { name: w, target: app, rate: 100/s, request: get }
components:
  app: { kind: service, workers: 64, handlers: { get: { work: exp 0.5ms, calls: [ { to: db } ] } } }
  db: { kind: service, workers: 4, handlers: { get: { work: 1s } } }
faults:
  - { at: 33s, crash: db }
  - { at: 30s, for: 3s, pause: app }
";
    let r = within(BOUND, "the paused caller's run", move || {
        run_seeds(text, 1..2)
    });
    assert!(r[0].totals.failed > 0);
    let behind_timeout = "
duration: 40s
workloads:
  - { name: w, target: app, rate: 10/s, request: get }
components:
  app: { kind: service, workers: 64, handlers: { get: { work: exp 0.5ms, calls: [ { to: db, timeout: 20ms } ] } } }
  db: { kind: database, handlers: { get: { work: exp 1ms } } }
faults:
  - { at: 33s, crash: db }
  - { at: 30s, for: 3s, pause: db }
";
    within(BOUND, "the paused database's runs", move || {
        run_seeds(behind_timeout, 1..4)
    });
}

/// Far longer than any of these runs takes (well under a second each), short enough that a
/// run which never ends fails the suite in reasonable time.
const BOUND: std::time::Duration = std::time::Duration::from_mins(2);

/// A scenario lowering a service's (or a database's) replicas below the one a scripted
/// crash names: the crash indexed past the replicas and panicked. Now it crashes nothing.
#[test]
fn a_crash_of_a_replica_a_scenario_removed_does_nothing() {
    let text = "
duration: 30s
workloads:
  - { name: w, target: db, rate: 100/s, request: put, timeout: 2s }
components:
  db:
    kind: database
    replicas: 2
    writes: [put]
    ship: 1ms
    apply: 1ms
    handlers: { put: { work: 1ms } }
faults:
  - { at: 10s, for: 5s, crash: db, replica: 2 }
scenarios:
  fewer:
    set: { db.replicas: 0 }
";
    let m = model(text);
    let variant = std::sync::Arc::new(m.with_scenario(&m.scenarios[0]));
    let r = Simulation::new(variant, RunOptions::default())
        .run()
        .unwrap();
    assert_eq!(r.totals.failed, 0);
    assert_eq!(r.components["db"].database.as_ref().unwrap().nodes.len(), 1);
}

/// Message records are shared by every queue of a model while the serials that tell a
/// reused record from the one it replaced were counted per queue: a causal queue checking a
/// dependency found another queue's message with the same serial in the freed record and
/// counted a violation (and could have held back a delivery that was free to go).
#[test]
fn a_causal_queue_is_not_confused_by_the_queues_beside_it() {
    let causal_alone = "
duration: 300s
workloads:
  - { name: visitors, target: accounts, rate: 100/s, request: signup }
components:
  accounts:
    kind: service
    workers: 16
    handlers:
      signup:
        work: exp 2ms
        calls: [ { to: bus, request: create_user }, { to: bus, request: send_message } ]
  bus: { kind: queue, consumers: inbox, depends: { send_message: create_user }, ordering: causal }
  inbox:
    kind: service
    replicas: 4
    workers: 4
    handlers:
      create_user: { work: exp 20ms }
      send_message: { work: exp 5ms }
";
    // Two busy unordered queues with their own producers and consumers, one of them a chain.
    let neighbours = "
  - { name: jobs_in, target: jobs_producer, rate: 150/s, request: job }
  - { name: events_in, target: events_producer, rate: 120/s, request: event }
";
    let neighbour_components = "
  jobs_producer: { kind: service, workers: 8, handlers: { job: { work: exp 1ms, calls: [ { to: jobs, request: job } ] } } }
  jobs: { kind: queue, consumers: jobs_worker }
  jobs_worker: { kind: service, workers: 8, handlers: { job: { work: exp 30ms, calls: [ { to: events, request: event } ] } } }
  events_producer: { kind: service, workers: 8, handlers: { event: { work: exp 1ms, calls: [ { to: events, request: event } ] } } }
  events: { kind: queue, consumers: events_worker }
  events_worker: { kind: service, workers: 16, handlers: { event: { work: exp 10ms } } }
";
    let crowded = causal_alone
        .replacen(
            "request: signup }\n",
            &format!("request: signup }}{neighbours}"),
            1,
        )
        .replacen(
            "components:\n",
            &format!("components:{neighbour_components}"),
            1,
        );
    for seed in 1..4 {
        let alone = crate::support::run(causal_alone, seed);
        let beside = crate::support::run(&crowded, seed);
        let bus = |r: &archsim::observe::Report| {
            format!("{:?}", r.components["bus"].queue.as_ref().unwrap())
        };
        let q = beside.components["bus"].queue.as_ref().unwrap();
        assert_eq!(q.causal_violations, 0, "seed {seed}: {q:?}");
        assert!(q.acked > 50_000, "seed {seed}: the bus carried its load");
        for neighbour in ["jobs", "events"] {
            let n = beside.components[neighbour].queue.as_ref().unwrap();
            assert!(n.acked > 30_000, "seed {seed}: {neighbour} was busy: {n:?}");
        }
        // The neighbours draw from their own streams: the causal queue's deliveries and its
        // consumer's times are exactly those of the run without them.
        assert_eq!(bus(&alone), bus(&beside), "seed {seed}");
        assert_eq!(
            format!("{:?}", alone.components["inbox"]),
            format!("{:?}", beside.components["inbox"]),
            "seed {seed}"
        );
    }
}

/// A slipped digit in a rate (a billion a second with a 2 s timeout) kept two billion
/// requests in flight and aborted with an allocation failure after eating several
/// gigabytes. The run now stops at the in-flight limit, saying where and what to change.
#[test]
fn a_rate_far_too_high_stops_at_the_in_flight_limit() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/cache_placement.yaml");
    let text = std::fs::read_to_string(path).unwrap().replace(
        "rate: 1000/s, request: view_item",
        "rate: 1000000000/s, request: view_item",
    );
    assert!(text.contains("1000000000/s"), "the bundled model changed");
    let err = Simulation::new(model(&text), RunOptions::default())
        .run()
        .expect_err("the run must stop");
    assert_eq!(
        err.to_string(),
        "the run stopped: 2000001 requests in flight at 1.919ms, above `limits.requests` \
         (2000000). Work piles up at `lb`: it holds 1999998 calls, queued, in progress or on \
         their way to it. Workload `browsers` sends 1000000000/s and waits up to 2s for each: \
         about 2000000000 would be in flight. Lower the load, add capacity where work piles \
         up, or shorten the timeouts; or raise `limits.requests` if this machine has the \
         memory (about 128 bytes each, and more for what each holds)."
    );
}

/// Requests that end long before their deadline left their timers in the deadline's
/// lane until it came due: at 100,000 requests a second with a one-hour timeout, a lane
/// would have held 360 million timers. Lanes are compacted as they grow.
#[test]
fn timers_of_finished_requests_do_not_pile_up() {
    let text = "
duration: 60s
workloads: [ { name: u, target: a, rate: 100000/s, request: x, timeout: 1h } ]
components:
  a: { kind: service, workers: 64, handlers: { x: { work: exp 100us } } }
";
    let mut sim = Simulation::new(model(text), RunOptions::default());
    let mut most = 0;
    for s in 1..=60 {
        sim.run_until(archsim::sim::SimTime::from_secs(s));
        let held = sim.held();
        // Twice the live ones, plus the size at which compaction starts.
        assert!(
            held.timers <= 2 * held.requests + 65_536 + 1,
            "at {s}s: {held:?}"
        );
        most = most.max(held.timers);
    }
    assert!(
        most > 60_000,
        "the lane did fill up before compaction: {most}"
    );
}

// Issue 19: replications, writes, inputs

use crate::support::bundled as bundled_model;

fn combined(
    m: &std::sync::Arc<archsim::model::Model>,
    options: RunOptions,
    n: u32,
) -> (Vec<archsim::observe::Report>, serde_json::Value) {
    let reports = archsim::experiment::run_replications(m, options, n).expect("runs");
    let combined = archsim::experiment::combine(&reports);
    (reports, combined)
}

fn means(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("a series")
        .iter()
        .map(|x| x["mean"].as_f64().unwrap_or(0.0))
        .collect()
}

/// Causes were taken from the first seed's report and each averaged over the seeds that
/// had it: on checkout, `error` showed 5.0/s in buckets whose failures were 2.5/s.
#[test]
fn combined_causes_count_zero_where_a_seed_had_none() {
    let m = bundled_model("checkout.yaml");
    let options = RunOptions {
        seed: None,
        duration: Some(archsim::sim::SimTime::from_secs(20)),
        warmup: Some(archsim::sim::SimTime::from_secs(2)),
    };
    let (reports, c) = combined(&m, options, 4);
    let with_errors: Vec<u64> = reports
        .iter()
        .filter(|r| r.series.failed_by_cause.contains_key("error"))
        .map(|r| r.seed)
        .collect();
    assert!(
        with_errors.len() < 4,
        "some seed must lack the cause: {with_errors:?}"
    );
    let causes = c["series"]["failed_by_cause"].as_object().expect("causes");
    assert_eq!(causes.keys().collect::<Vec<_>>(), ["error"]);
    let failed = means(&c["series"]["failed_per_s"]);
    let error = means(&causes["error"]);
    assert_eq!(failed.len(), 200);
    assert_eq!(failed[31], 2.5);
    assert_eq!(error[31], 2.5);
    assert_eq!(error, failed);
}

/// With seeds 1 and 2 both free of failures a report had no cause at all; a seed that
/// first fails later must still bring its cause in.
#[test]
fn combined_causes_are_the_union_over_seeds() {
    let text = "
duration: 4s
warmup: 0s
series_buckets: 4
workloads: [ { name: u, target: a, rate: 50/s, request: x } ]
components:
  a: { kind: service, workers: 4, handlers: { x: { work: exp 1ms } } }
  b: { kind: external, latency: 1ms, errors: 0.2% }
";
    // `b` is never called: add a call so that failures are rare and seed-dependent.
    let text = text.replace(
        "handlers: { x: { work: exp 1ms } }",
        "handlers: { x: { work: exp 1ms, calls: [ { to: b } ] } }",
    );
    let reports = run_seeds(&text, 1..9);
    let failing: Vec<u64> = reports
        .iter()
        .filter(|r| r.totals.failed > 0)
        .map(|r| r.seed)
        .collect();
    let quiet: Vec<u64> = reports
        .iter()
        .filter(|r| r.totals.failed == 0)
        .map(|r| r.seed)
        .collect();
    assert!(!failing.is_empty() && !quiet.is_empty(), "{failing:?}");
    // The first seed fails nothing; a later one does.
    let first = quiet[0];
    let ordered: Vec<archsim::observe::Report> = std::iter::once(first)
        .chain(failing.iter().copied())
        .map(|s| reports.iter().find(|r| r.seed == s).expect("seed").clone())
        .collect();
    let c = archsim::experiment::combine(&ordered);
    let causes = c["series"]["failed_by_cause"].as_object().expect("causes");
    assert_eq!(causes.keys().collect::<Vec<_>>(), ["error"]);
    let n = ordered.len() as f64;
    for k in 0..4 {
        let expected: f64 = ordered
            .iter()
            .map(|r| r.series.failed_per_s[k])
            .sum::<f64>()
            / n;
        assert!((means(&causes["error"])[k] - expected).abs() < 1e-12);
        assert!((means(&c["series"]["failed_per_s"])[k] - expected).abs() < 1e-12);
    }
}

/// Events were cut to the shortest run and their times averaged index by index, so that a
/// "repaired" marker averaged a repair with two crashes of other replicas.
#[test]
fn combined_events_are_kept_per_seed() {
    let m = bundled_model("crashes_behind_health_checks.yaml");
    let options = RunOptions {
        seed: None,
        duration: Some(archsim::sim::SimTime::from_secs(60)),
        warmup: None,
    };
    let (reports, c) = combined(&m, options, 3);
    assert_eq!(c["seeds"], serde_json::json!([2, 3, 4]));
    let events = c["events"].as_array().expect("events");
    assert_eq!(
        reports.iter().map(|r| r.events.len()).collect::<Vec<_>>(),
        [6, 8, 8]
    );
    assert_eq!(events.len(), 22);
    let mut i = 0;
    for r in &reports {
        for e in &r.events {
            assert_eq!(
                events[i],
                serde_json::json!({ "seed": r.seed, "t_s": e.t_s, "kind": e.kind, "message": e.message })
            );
            i += 1;
        }
    }
    assert_eq!(
        events[2],
        serde_json::json!({ "seed": 2, "t_s": 25.993_499_166, "kind": "recovery", "message": "api replica 2 repaired" })
    );
    let recoveries = c["recoveries"].as_array().expect("recoveries");
    assert_eq!(
        recoveries.len(),
        reports.iter().map(|r| r.recoveries.len()).sum::<usize>()
    );
    assert_eq!(recoveries[0]["seed"], 2);
    assert_eq!(recoveries[0]["after"], "api replica 2 repaired");
    assert_eq!(recoveries[0]["ended_s"], 25.993_499_166);
}

/// A random small architecture whose failures vary by seed: random crashes, an external's
/// errors, a small queue and a client deadline, over two request types.
fn replicated_yaml(
    (replicas, workers, queue, work_ms, errors, mtbf_s, timeout_ms): (
        u32,
        u32,
        u32,
        f64,
        f64,
        u32,
        u32,
    ),
) -> String {
    format!(
        "duration: 3s
warmup: 0s
series_buckets: 12
workloads:
  - {{ name: u, target: a, rate: 300/s, mix: {{ x: 0.7, y: 0.3 }}, timeout: {timeout_ms}ms }}
components:
  a:
    kind: service
    replicas: {replicas}
    workers: {workers}
    queue: {queue}
    mtbf: exp {mtbf_s}s
    mttr: exp 300ms
    handlers:
      x: {{ work: exp {work_ms:.2}ms, calls: [ {{ to: b }} ] }}
      y: {{ work: exp {work_ms:.2}ms }}
  b: {{ kind: external, latency: exp 2ms, errors: {errors:.1}% }}
"
    )
}

/// Every sum that holds in each report, bucket by bucket: causes to failures, and request
/// types to the answered and failed totals.
fn assert_series_sums(series: &serde_json::Value, number: &dyn Fn(&serde_json::Value) -> f64) {
    let at = |v: &serde_json::Value, k: usize| number(&v[k]);
    let buckets = series["failed_per_s"].as_array().expect("series").len();
    for k in 0..buckets {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        let failed = at(&series["failed_per_s"], k);
        let causes: f64 = series["failed_by_cause"]
            .as_object()
            .expect("causes")
            .values()
            .map(|v| at(v, k))
            .sum();
        assert!(
            close(causes, failed),
            "bucket {k}: causes {causes}, failed {failed}"
        );
        let types = series["requests"].as_object().expect("types");
        let answered: f64 = types.values().map(|t| at(&t["answered_per_s"], k)).sum();
        let type_failed: f64 = types.values().map(|t| at(&t["failed_per_s"], k)).sum();
        let throughput = at(&series["throughput_per_s"], k);
        assert!(
            close(answered, throughput),
            "bucket {k}: {answered} vs {throughput}"
        );
        assert!(
            close(type_failed, failed),
            "bucket {k}: {type_failed} vs {failed}"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..proptest::prelude::ProptestConfig::default() })]

    /// A combined `--replications` report keeps every sum each single report keeps, per
    /// bucket, and keeps each seed's events as they were.
    #[test]
    fn combined_replications_keep_every_sum(
        shape in (1u32..3, 1u32..5, 1u32..20, 0.5f64..8.0, 0.0f64..5.0, 1u32..6, 20u32..300),
        seed in 1u64..1000,
        n in 2u32..5,
    ) {
        let m = model(&replicated_yaml(shape));
        let options = RunOptions { seed: Some(seed), ..RunOptions::default() };
        let (reports, c) = combined(&m, options, n);
        for r in &reports {
            let v = serde_json::to_value(r).expect("JSON");
            assert_series_sums(&v["series"], &|x| x.as_f64().unwrap_or(0.0));
        }
        assert_series_sums(&c["series"], &|x| x["mean"].as_f64().unwrap_or(0.0));
        let events = c["events"].as_array().expect("events");
        let expected: Vec<serde_json::Value> = reports
            .iter()
            .flat_map(|r| r.events.iter().map(move |e| serde_json::json!({
                "seed": r.seed, "t_s": e.t_s, "kind": e.kind, "message": e.message
            })))
            .collect();
        proptest::prop_assert_eq!(events, &expected);
    }
}

fn bundled_file(name: &str) -> String {
    crate::support::bundled_path(name)
        .to_str()
        .expect("a UTF-8 path")
        .to_string()
}

/// The binary with standard output sent to `/dev/full`, a file every write to fails.
fn archsim_to_full(args: &[&str]) -> std::process::Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    std::process::Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args(args)
        .stdout(full)
        .output()
        .expect("the binary runs")
}

/// `archsim run M --json > /dev/full` exited 0: a report that could not be written passed
/// for a success, and so did every other command's.
#[test]
fn a_report_that_cannot_be_written_is_a_failure() {
    let dir = std::env::temp_dir().join(format!("archsim-full-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spof = bundled_file("single_point_of_failure.yaml");
    let mm1 = bundled_file("mm1.yaml");
    let jobs = dir.join("jobs");
    let jobs = jobs.to_str().expect("UTF-8");
    let commands: Vec<Vec<&str>> = vec![
        vec!["run", &mm1, "--duration", "40s", "--json"],
        vec!["run", &mm1, "--duration", "40s"],
        vec![
            "run",
            &mm1,
            "--duration",
            "40s",
            "--replications",
            "2",
            "--json",
        ],
        vec!["validate", &mm1],
        vec!["schema"],
        vec![
            "compare",
            &spof,
            "--scenario",
            "db_down",
            "--replications",
            "2",
            "--duration",
            "40s",
        ],
        vec!["matrix", &spof, "--duration", "40s"],
        vec!["matrix", &spof, "--duration", "40s", "--csv"],
        vec!["check", &spof, "--duration", "40s"],
        vec![
            "sweep",
            &mm1,
            "--set",
            "server.workers=1,2",
            "--duration",
            "40s",
        ],
        vec![
            "jobs",
            &mm1,
            "--out",
            jobs,
            "sweep",
            "--set",
            "server.workers=1,2",
        ],
    ];
    for args in &commands {
        let out = archsim_to_full(args);
        assert_eq!(out.status.code(), Some(1), "archsim {}", args.join(" "));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.ends_with(
                "cannot write to standard output: No space left on device (os error 28)\n"
            ),
            "archsim {}: {stderr}",
            args.join(" ")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A diagnostic written to a standard error whose reader had gone panicked (exit 101).
#[test]
fn a_closed_standard_error_does_not_panic() {
    let dir = std::env::temp_dir().join(format!("archsim-epipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "workloads: [ { name: u, target: a, rate: 10/s, request: x } ]\n\
         components: { a: { kind: service, wrkers: 3, handlers: { x: {} } } }\n",
    )
    .expect("write");
    let bad = bad.to_str().expect("UTF-8");
    for args in [vec!["validate", bad], vec!["run", bad]] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_archsim"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(writer)
            .status()
            .expect("the binary runs");
        assert_eq!(status.code(), Some(1), "archsim {}", args.join(" "));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn archsim_bin(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// `validate /dev/zero` read until memory ran out (4 GB after 10 s), and so did `run`, `job
/// run` and `merge`: a file above the limit is refused after reading just past it.
#[test]
fn a_file_above_the_size_limit_is_refused_without_reading_it_all() {
    #[expect(
        clippy::disallowed_methods,
        reason = "the test checks that the refusal is quick in wall time"
    )]
    let started = std::time::Instant::now();
    let out = archsim_bin(&["validate", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "/dev/zero:1:1: error: the file is larger than 8 MB, the most archsim reads\n  \
         = hint: a model, scenario, job or result file is a few kilobytes: check the path\n\
         /dev/zero: 1 error\n"
    );
    for args in [
        vec!["run", "/dev/zero"],
        vec!["job", "run", "/dev/zero", "--out", "/dev/null"],
        vec!["merge", "/dev/zero"],
    ] {
        let out = archsim_bin(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with(
                "/dev/zero:1:1: error: the file is larger than 8 MB, the most archsim reads\n"
            ),
            "{args:?}"
        );
    }
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    assert_eq!(archsim::model::MAX_FILE_BYTES, 8 * 1024 * 1024);
}

/// A 200,000-character number gave a 400 KB message: it now quotes a line's worth and says
/// how long the value was, and the excerpt shows a window of the line.
#[test]
fn an_error_echoes_at_most_a_line_of_a_huge_value() {
    let digits = "9".repeat(200_000);
    let text = format!(
        "workloads: [ {{ name: u, target: a, rate: 10/s, request: x }} ]\n\
         components:\n  a: {{ kind: service, workers: {digits}, handlers: {{ x: {{ work: 1ms }} }} }}\n"
    );
    let err = archsim::model::parse("big.yaml", &text).expect_err("invalid");
    let rendered = err.render();
    let nines = "9".repeat(80);
    assert_eq!(
        rendered,
        format!(
            "big.yaml:3:32: error: workers: `{nines}…` (200000 characters) is not a whole number\n  \
             |\n3 | …: service, workers: {}…\n  |                      {}\n",
            "9".repeat(60),
            "^".repeat(60)
        )
    );
    assert!(rendered.len() < 400, "{} bytes", rendered.len());
}

/// A file that is not UTF-8 said `1:1: cannot read the file … check the path`.
#[test]
fn a_file_that_is_not_utf8_names_the_first_bad_byte() {
    let dir = std::env::temp_dir().join(format!("archsim-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("latin1.yaml");
    std::fs::write(&path, b"duration: 10s\nname: caf\xe9 \xe9\n").expect("write");
    let err = archsim::model::load_file(&path).expect_err("not UTF-8");
    assert_eq!(
        err.render(),
        format!(
            "{}:2:10: error: the file is not UTF-8: byte 0xE9 at line 2, column 10\n  |\n\
             2 | name: caf\u{fffd} \u{fffd}\n  |          ^\n  \
             = hint: save the file as UTF-8 (in most editors: \"Save with encoding\" → UTF-8)\n",
            path.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A job file with an unknown key ran as if the key were absent.
#[test]
fn a_job_file_with_an_unknown_key_is_refused_with_its_position() {
    let dir = std::env::temp_dir().join(format!("archsim-jobkey-{}", std::process::id()));
    let jobs = dir.join("jobs");
    let jobs_dir = jobs.to_str().expect("UTF-8");
    let mm1 = bundled_file("mm1.yaml");
    let out = archsim_bin(&[
        "jobs",
        &mm1,
        "--out",
        jobs_dir,
        "sweep",
        "--set",
        "server.workers=1,2",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let good = std::fs::read_to_string(jobs.join("job-00000.json")).expect("a job");
    assert!(good.starts_with("{\n"));
    let bad = dir.join("bad.json");
    std::fs::write(&bad, good.replacen("{\n", "{\n  \"sead\": 7,\n", 1)).expect("write");
    let bad = bad.to_str().expect("UTF-8");
    let out = archsim_bin(&["job", "run", bad, "--out", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{bad}:2:3: error: unknown key `sead` in the job file\n  |\n2 |   \"sead\": 7,\n  \
             |   ^^^^^^\n  = hint: did you mean `seed`? The keys allowed here are: duration_ns, \
             fail, format, index, model, model_file, of, seed, seeds, set, study, warmup_ns\n"
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Five hundred years with a balancer probing every 5 s ran for tens of minutes without a
/// word. The reader now says what the run would cost before it starts.
#[test]
fn a_run_of_centuries_is_warned_about_before_it_starts() {
    let text = "
duration: 4380000h
workloads:
  - { name: v, target: lb, rate: 1/d, request: x }
components:
  lb: { kind: load_balancer, backends: [a], health_check: { interval: 5s } }
  a: { kind: service, handlers: { x: { work: 1ms } } }
";
    let (_, warnings) = archsim::model::parse("century.yaml", text).expect("valid");
    let messages: Vec<&str> = warnings.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "this run would simulate at least 6.3e9 events over its 4380000h00m00s — about 21 \
             minutes of computing — mostly from `lb` probing its backends every 5s"
        ]
    );
}

/// A duration given on the command line is held to the same estimate as one in the file.
#[test]
fn a_duration_on_the_command_line_cannot_slip_past_the_estimate() {
    let out = archsim_bin(&[
        "run",
        &bundled_file("lb_async_db.yaml"),
        "--duration",
        "5000000h",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "--duration 5000000h00m00s: this run would simulate at least 5.8e13 events over its \
         5000000h00m00s — about 133 days of computing — mostly from workload `clients` at up \
         to 800/s; nothing was run"
    );
    // The experiments, which run it many times, hold it to the same estimate per run.
    for command in ["matrix", "check"] {
        let out = archsim_bin(&[
            command,
            &bundled_file("lb_async_db.yaml"),
            "--duration",
            "5000000h",
        ]);
        assert_eq!(out.status.code(), Some(1), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("about 133 days of computing") && stderr.contains("nothing was run"),
            "{command}: {stderr}"
        );
    }
}

/// Workloads are numbered in 16 bits inside a run: the 65,536th once aliased the last one
/// and would now trip the engine's id assertion, so the reader refuses such a model.
#[test]
fn more_workloads_than_a_run_can_number_are_refused() {
    use std::fmt::Write as _;
    let mut text = String::from("workloads:\n");
    for i in 0..=u32::from(u16::MAX) {
        writeln!(
            text,
            "  - {{ name: w{i}, target: a, rate: 1/s, request: x }}"
        )
        .unwrap();
    }
    text.push_str("components:\n  a: { kind: service, handlers: { x: { work: 1ms } } }\n");
    let err = archsim::model::parse("many.yaml", &text).expect_err("refused");
    let messages: Vec<&str> = err.items.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        ["65536 workloads, more than the 65535 a model may have"]
    );
}

/// Found by `archsim fuzz --seed 2` (case 6932): a service with a billion replicas was read
/// without a word, and building the run asked for a 3 GB allocation and aborted. Replicas
/// are bounded when the model is read, with the error at the value.
#[test]
fn a_billion_replicas_are_refused_where_they_are_written() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.yaml");
    let original = std::fs::read_to_string(path).unwrap();
    let text = original.replacen("replicas: 2", "replicas: 1000000000", 1);
    assert_ne!(text, original, "the bundled model changed");
    let line = 1 + text[..text.find("replicas: 1000000000").unwrap()]
        .matches('\n')
        .count();
    let err = archsim::model::parse("default.yaml", &text).expect_err("refused");
    let first = &err.items[0];
    assert_eq!(
        (
            first.span.line as usize,
            first.span.col,
            first.message.as_str()
        ),
        (
            line,
            15,
            "replicas: `1000000000` is above the limit of 10000"
        )
    );
}

/// Found by `archsim fuzz --seed 2` (case 8866): a valid model asking for about 2e12 events
/// (the reader warns: about five days) held a fuzz case past its time bound. A case now runs
/// the share of the model that its event budget allows, and this one ends cleanly.
#[test]
fn a_fuzz_case_of_days_of_computing_runs_within_its_budget() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mm1.yaml");
    let text = std::fs::read_to_string(path)
        .unwrap()
        // Enough workers for 9×10⁸ arrivals a second (at most 100000 per replica).
        .replacen("workers: 1", "workers: 100000\n    replicas: 10", 1)
        .replacen("/s,", "/us,", 1);
    assert!(text.contains("/us,") && text.contains("replicas: 10"));
    assert_eq!(
        archsim::experiment::fuzz::check_case("mm1.yaml", &text),
        archsim::experiment::fuzz::Outcome::Ran
    );
}

/// Fuzz finding (`archsim fuzz --seed 3`, five cases): a crash flapping every millisecond
/// beside a backlog elsewhere. Each crash looked for its victims among every task of the
/// run, so the run's cost grew with backlog × crashes and it never ended in practice (over
/// 30 s of a release build for 10 simulated minutes). A component now keeps the list of the
/// tasks it holds; half this run (30 simulated seconds) took 18 s before, 0.11 s after.
#[test]
fn a_crash_flapping_every_millisecond_beside_a_backlog_ends() {
    let text = "
duration: 60s
workloads:
  - { name: users, target: front, rate: 20000/s, request: get }
components:
  front: { kind: service, workers: 1, handlers: { get: { work: exp 1ms, calls: [ { to: flaky } ] } } }
  flaky: { kind: service, workers: 8, handlers: { get: { work: exp 1ms } } }
faults:
  - { at: 0s, crash: flaky, flap: { down: 1ms, up: 1ms } }
";
    // Eighty times what it takes in a debug build, and about what half of it took before.
    let r = within(
        std::time::Duration::from_secs(20),
        "the flapping crash's run",
        move || run_seeds(text, 1..2),
    );
    let flaky = &r[0].components["flaky"];
    assert!(
        r[0].totals.failed > 0 && flaky.throughput_per_s > 0.0,
        "the flapping service both served and lost work: {:?}",
        r[0].totals
    );
}

/// Found by `archsim fuzz --seed 7` (case 47162): `workers: 1000000000` on a service of 7
/// replicas was read, and building the run panicked multiplying them (a capacity past
/// 2³²). Workers per replica are now bounded where they are written.
#[test]
fn a_billion_workers_are_refused_where_they_are_written() {
    let text = "
workloads:
  - { name: users, target: s0, rate: 50/s, request: get }
components:
  s0: { kind: service, workers: 1000000000, replicas: 7, handlers: { '*': { work: 5ms } } }
";
    let err = archsim::model::parse("workers.yaml", text).expect_err("refused");
    let first = &err.items[0];
    assert_eq!(
        (first.span.line, first.span.col, first.message.as_str()),
        (
            5,
            33,
            "workers: `1000000000` is above the limit of 100000 per replica"
        )
    );
    // The largest fleet the reader takes builds and runs.
    let largest = text
        .replace("workers: 1000000000", "workers: 100000")
        .replace("replicas: 7", "replicas: 10000");
    let r =
        archsim::experiment::fuzz::check_case("workers.yaml", &format!("duration: 2s\n{largest}"));
    assert_eq!(r, archsim::experiment::fuzz::Outcome::Ran);
}

/// Ctrl-C during a long `archsim run` ends it with the report so far, marked incomplete
/// in the text and in the JSON, with exit code 130; every request it counts is accounted for.
#[cfg(unix)]
#[test]
fn an_interrupted_run_prints_the_report_so_far_marked_incomplete() {
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/platform_30.yaml");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args([
            "run",
            model.to_str().unwrap(),
            "--duration",
            "100h",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = within(BOUND, "the interrupted run", move || {
        child.wait_with_output().unwrap()
    });
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at = report["incomplete"]["interrupted_at_s"].as_f64().unwrap();
    assert!(at > 0.0 && at < 100.0 * 3600.0, "stopped at {at} s");
    assert_eq!(report["duration_s"].as_f64(), Some(at));
    let t = &report["totals"];
    let n = |k: &str| t[k].as_u64().unwrap();
    assert!(n("generated") > 0);
    assert_eq!(
        n("generated"),
        n("ok") + n("ok_degraded") + n("failed") + n("in_flight")
    );
}
