//! Request traces: their spans account for every instant of a request, retries show each
//! attempt, the explanation names what was slow, tracing changes nothing the run does, and
//! what is kept stays bounded however long the run.

use std::process::Command;
use std::sync::Arc;

use archsim::model::{Cause, Model};
use archsim::observe::Answer;
use archsim::observe::explain::explain;
use archsim::observe::trace::{NoteKind, Segment, SpanEnd, Trace, TraceOptions};
use archsim::sim::{RunOptions, SimTime, Simulation};

use crate::support::{bundled, model, seeded, timed};

fn traced(m: &Arc<Model>, options: RunOptions) -> (Vec<Arc<Trace>>, archsim::observe::Report) {
    let mut sim = Simulation::new(Arc::clone(m), options);
    sim.record_traces(TraceOptions::default());
    sim.run_until(sim.end());
    let traces = sim.traces();
    let report = sim
        .finish()
        .unwrap_or_else(|e| panic!("the run failed: {e}"));
    (traces, report)
}

/// Every span's parts follow each other without a gap from its sending to its end, and a
/// span lies within its caller's.
fn assert_spans_account_for_their_time(t: &Trace) {
    for (i, s) in t.spans.iter().enumerate() {
        let until = s.until(t.end);
        let parts = s.segments(until);
        let mut at = s.sent;
        for &(from, to, _) in &parts {
            assert_eq!(
                from, at,
                "trace #{} span {i}: a gap before {from}",
                t.serial
            );
            at = to;
        }
        if s.replied.is_some() && s.given_up.is_none() {
            assert_eq!(
                at, until,
                "trace #{} span {i} ends at {at}, not {until}",
                t.serial
            );
        }
        if let Some(p) = s.parent {
            let p = &t.spans[p as usize];
            assert!(
                s.sent >= p.sent && until <= p.until(t.end),
                "trace #{} span {i} lies outside its caller",
                t.serial
            );
        }
    }
}

#[test]
fn a_trace_s_spans_add_up_to_the_request_s_latency() {
    let m = bundled("checkout.yaml");
    let (traces, _) = traced(&m, timed(3, 1, 60));
    let answered: Vec<&Arc<Trace>> = traces.iter().filter(|t| t.outcome.is_ok()).collect();
    assert!(
        answered.len() > 100,
        "only {} answered traces",
        answered.len()
    );
    let mut multi_level = 0;
    for t in &answered {
        let root = &t.spans[0];
        assert_eq!(root.parent, None);
        assert_eq!(root.sent, t.start, "trace #{}", t.serial);
        assert_eq!(root.replied, Some(t.end), "trace #{}", t.serial);
        let total: u64 = root
            .segments(root.until(t.end))
            .iter()
            .map(|&(a, b, _)| (b - a).as_nanos())
            .sum();
        assert_eq!(total, t.latency().as_nanos(), "trace #{}", t.serial);
        assert_spans_account_for_their_time(t);
        multi_level += usize::from(t.depths().iter().any(|&d| d >= 2));
    }
    assert!(
        multi_level > 10,
        "only {multi_level} traces reach two calls deep"
    );
}

/// Every attempt times out: three per request, each after 100 ms (also the app's test).
pub(crate) const RETRIES: &str = "
name: retries that all time out
duration: 20s
seed: 1
workloads:
  - { name: users, target: api, rate: 10/s, request: get, timeout: 5s }
components:
  api:
    kind: service
    workers: 100
    timeout: 100ms
    retry: { attempts: 3, backoff: constant 10ms }
    handlers: { get: { work: 1ms, calls: [ { to: db } ] } }
  db:
    kind: service
    workers: 100
    handlers: { get: { work: 150ms } }
";

#[test]
fn a_retried_call_shows_each_attempt() {
    let (traces, report) = traced(&model(RETRIES), seeded(1));
    assert!(report.totals.failed > 100);
    let failed: Vec<&Arc<Trace>> = traces.iter().filter(|t| t.outcome.is_err()).collect();
    assert!(
        failed.len() >= 10,
        "only {} failed traces kept",
        failed.len()
    );
    for t in failed {
        assert_eq!(t.outcome, Err(Cause::Timeout), "trace #{}", t.serial);
        assert!(
            !t.client_gave_up,
            "the call's timeouts failed it, not the client"
        );
        let attempts: Vec<_> = t.children(0).map(|c| &t.spans[c]).collect();
        assert_eq!(
            attempts.iter().map(|s| s.attempt).collect::<Vec<_>>(),
            [1, 2, 3],
            "trace #{}",
            t.serial
        );
        for a in &attempts {
            assert_eq!(a.end, SpanEnd::TimedOut);
            assert_eq!(
                a.given_up.map(|g| g - a.sent),
                Some(SimTime::from_millis(100))
            );
            assert_eq!(
                a.segments(a.until(t.end)).last().map(|p| p.2),
                Some(Segment::Work)
            );
        }
        let notes = &t.spans[0].notes;
        let timeouts = notes
            .iter()
            .filter(|n| matches!(n.kind, NoteKind::TimedOut { .. }))
            .count();
        let retries = notes
            .iter()
            .filter(|n| matches!(n.kind, NoteKind::RetryScheduled { .. }))
            .count();
        assert_eq!((timeouts, retries), (3, 2), "trace #{}", t.serial);
        assert_spans_account_for_their_time(t);
    }
}

const SLOW_PAYMENTS: &str = "
name: a slow payment service
duration: 30s
seed: 4
series_buckets: 30
workloads:
  - { name: shoppers, target: web, rate: 100/s, request: buy, timeout: 500ms }
components:
  web:
    kind: service
    workers: 200
    handlers: { buy: { work: 2ms, calls: [ { to: stock }, { to: pay } ] } }
  stock:
    kind: service
    workers: 10
    handlers: { buy: { work: exp 1ms } }
  pay:
    kind: service
    workers: 2
    handlers: { buy: { work: exp 10ms } }
faults:
  - { at: 10s, for: 10s, slow: pay, factor: 20 }
";

#[test]
fn a_timed_out_request_s_explanation_names_the_slow_component() {
    let m = model(SLOW_PAYMENTS);
    let mut sim = Simulation::new(Arc::clone(&m), seeded(4));
    sim.record_traces(TraceOptions::default());
    sim.run_until(sim.end());
    let traces = sim.traces();
    let faults = sim.faults().to_vec();
    let report = sim.finish().unwrap_or_else(|e| panic!("{e}"));
    let t = traces
        .iter()
        .find(|t| t.outcome == Err(Cause::Timeout))
        .unwrap_or_else(|| panic!("no timed-out trace was kept"));
    assert!(t.client_gave_up);
    let chain = explain(t, &m, Some(&report.series), &faults);
    let text = chain.join("\n");
    assert!(chain.len() >= 3, "{text}");
    assert!(chain[0].contains("the client gave up"), "{text}");
    assert!(
        chain[1].contains("web waited") && chain[1].contains("for pay"),
        "{text}"
    );
    assert!(chain[2].contains("pay's"), "{text}");
    assert!(chain[2].contains("slowdown ×20 from 0:10.000"), "{text}");
    // Before the fault every request is answered, and says so.
    let early = traces
        .iter()
        .find(|t| t.start < SimTime::from_secs(9))
        .unwrap_or_else(|| panic!("no trace before the fault"));
    assert_eq!(early.outcome, Ok(Answer::Full));
    assert!(explain(early, &m, Some(&report.series), &faults)[0].contains("buy answered in"));
}

#[test]
fn tracing_changes_nothing_and_repeats_exactly() {
    for name in [
        "checkout.yaml",
        "retry_storm.yaml",
        "database_failover.yaml",
    ] {
        let m = bundled(name);
        let options = timed(7, 1, 40);
        let plain = Simulation::new(Arc::clone(&m), options)
            .run()
            .unwrap_or_else(|e| panic!("{e}"));
        let (a, with_traces) = traced(&m, options);
        let (b, _) = traced(&m, options);
        assert_eq!(
            plain.to_json(),
            with_traces.to_json(),
            "{name}: tracing changed the run"
        );
        assert!(!a.is_empty(), "{name}: no traces kept");
        assert_eq!(a, b, "{name}: traces differ between two runs on one seed");
    }
}

#[test]
fn what_tracing_keeps_stays_bounded_and_spread_over_the_run() {
    let m = model(
        "
name: many requests, some failing
duration: 100s
seed: 2
workloads:
  - { name: users, target: api, rate: 8000/s, request: get }
components:
  api:
    kind: service
    workers: 20
    queue: 5
    handlers: { get: { work: exp 2.4ms } }
",
    );
    let (traces, report) = traced(&m, seeded(2));
    let o = TraceOptions::default();
    assert!(report.totals.generated > 700_000);
    assert!(
        report.totals.failed > 1000,
        "{} failed",
        report.totals.failed
    );
    let bound = o.sampled + Cause::ALL.len() * (o.first_failed + o.failed) + 1;
    assert!(
        traces.len() <= bound,
        "{} traces kept, more than {bound}",
        traces.len()
    );
    // Thinning halves the sample whenever it overflows, so at least half the cap is kept.
    let sampled: Vec<&Arc<Trace>> = traces
        .iter()
        .filter(|t| t.serial.is_multiple_of(o.every))
        .collect();
    assert!(sampled.len() >= o.sampled / 2, "{} sampled", sampled.len());
    let first = sampled.first().map_or(f64::MAX, |t| t.start.as_secs_f64());
    let last = sampled.last().map_or(0.0, |t| t.start.as_secs_f64());
    assert!(
        first < 5.0 && last > 95.0,
        "sampled from {first} s to {last} s only"
    );
    let rejected = traces
        .iter()
        .filter(|t| t.outcome == Err(Cause::Rejected))
        .count();
    assert!(
        rejected >= o.first_failed + o.failed / 2,
        "{rejected} rejected kept"
    );
}

#[test]
fn archsim_trace_prints_a_failed_request_s_waterfall_and_why() {
    let out = Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args([
            "trace",
            "models/retry_storm.yaml",
            "--failed",
            "timeout",
            "--at",
            "90s",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run archsim: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("get #"), "{text}");
    assert!(text.contains("timeout after"), "{text}");
    assert!(text.contains("because its call to db timed out"), "{text}");
    assert!(text.contains("in db's queue"), "{text}");
    assert!(
        text.contains("db (4th attempt)") && text.contains("timed out"),
        "{text}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args(["trace", "models/retry_storm.yaml", "--failed", "slow"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run archsim: {e}"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--failed slow: not a cause; use one of timeout"),
        "{err}"
    );
}

#[test]
fn archsim_diagram_draws_the_live_state_as_svg_and_png() {
    let dir = std::env::temp_dir().join(format!("archsim-diagram-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["storm.svg", "storm.png"] {
        let out = Command::new(env!("CARGO_BIN_EXE_archsim"))
            .args(["diagram", "models/retry_storm.yaml", "--at", "65s", "-o"])
            .arg(dir.join(file))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let svg = std::fs::read_to_string(dir.join("storm.svg")).unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.contains("at 1:05.000"), "{svg}");
    assert!(svg.contains("slowed · 100% busy · q "), "{svg}");
    let png = std::fs::read(dir.join("storm.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let _ = std::fs::remove_dir_all(&dir);
}

const REFUSED_SHED_ASIDE: &str = "
name: a refused link, a shedding queue and a cache-aside read
duration: 20s
seed: 2
workloads:
  - { name: users, target: app, rate: 200/s, request: read, timeout: 5s }
  - { name: reports, target: batch, rate: 60/s, request: report, timeout: 5s }
components:
  app:
    kind: service
    workers: 50
    handlers: { read: { work: 1ms, calls: [ { to: cache }, { to: profile } ] } }
  cache:
    kind: cache
    latency: 1ms
    keys: 1000
    capacity: 100
    on_miss: { to: db }
  db:
    kind: service
    workers: 10
    handlers: { read: { work: 5ms } }
  profile:
    kind: service
    workers: 10
    handlers: { read: { work: 1ms } }
  batch:
    kind: service
    workers: 1
    queue_timeout: 50ms
    handlers: { report: { work: exp 20ms } }
faults:
  - { at: 5s, for: 5s, link: [app, profile], reset: true }
";

#[test]
fn each_failure_is_explained_by_what_its_trace_shows() {
    let m = model(REFUSED_SHED_ASIDE);
    let mut sim = Simulation::new(Arc::clone(&m), seeded(2));
    sim.record_traces(TraceOptions::default());
    sim.run_until(sim.end());
    let traces = sim.traces();
    let faults = sim.faults().to_vec();
    let report = sim.finish().unwrap_or_else(|e| panic!("{e}"));
    let why = |t: &Trace| explain(t, &m, Some(&report.series), &faults).join("\n");
    let comp = |name: &str| {
        m.components
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or_else(|| panic!("no component {name}"))
    };

    // A refused connection: the callee's span ends unavailable without ever arriving.
    let refused = traces
        .iter()
        .find(|t| t.outcome == Err(Cause::Unavailable))
        .unwrap_or_else(|| panic!("no unavailable trace was kept"));
    let profile = refused
        .spans
        .iter()
        .find(|s| s.component == comp("profile"))
        .unwrap_or_else(|| panic!("no profile span"));
    assert_eq!(profile.end, SpanEnd::Failed(Cause::Unavailable));
    assert_eq!(profile.arrived, None);
    assert!(
        why(refused).contains("the connection to profile was refused at 0:0"),
        "{}",
        why(refused)
    );

    // A request shed by a queue timeout waited longer than the limit, and is said to have.
    let shed = traces
        .iter()
        .find(|t| t.outcome == Err(Cause::Rejected))
        .unwrap_or_else(|| panic!("no rejected trace was kept"));
    let batch = &shed.spans[0];
    let waited = batch.answered.zip(batch.arrived).map(|(a, b)| a - b);
    assert!(
        waited.is_some_and(|w| w > SimTime::from_millis(50)),
        "{waited:?}"
    );
    assert!(
        why(shed).contains("batch turned it away") && why(shed).contains("shed it after"),
        "{}",
        why(shed)
    );

    // Cache-aside: the caller reads the store after the miss came back, so the store's span
    // sits beside the cache's, not inside it.
    let missed: Vec<&Arc<Trace>> = traces
        .iter()
        .filter(|t| t.spans.iter().any(|s| s.component == comp("db")))
        .collect();
    assert!(
        missed.len() > 10,
        "only {} traces with a miss",
        missed.len()
    );
    for t in missed {
        let cache = t.spans.iter().position(|s| s.component == comp("cache"));
        let db = t.spans.iter().position(|s| s.component == comp("db"));
        let (Some(cache), Some(db)) = (cache, db) else {
            panic!("trace #{} lacks the cache or db span", t.serial);
        };
        assert_eq!(t.spans[db].parent, Some(0), "trace #{}", t.serial);
        assert!(
            t.spans[cache].until(t.end) <= t.spans[db].sent,
            "trace #{}: the miss had not reached app when db was asked",
            t.serial
        );
        assert_spans_account_for_their_time(t);
    }
}
