//! Message queues: what a broker crash keeps and loses, what a consumer crash redelivers,
//! dead letters, and the duplicates of at-least-once delivery. The expected counts are
//! taken independently, from the same model stopped just before the fault.

use std::sync::Arc;

use archsim::model::Model;
use archsim::observe::{QueueReport, Report};
use archsim::sim::{RunOptions, SimTime, Simulation};

use crate::support::model;

fn run_to(m: &Arc<Model>, seed: u64, end: SimTime) -> Report {
    let options = RunOptions {
        seed: Some(seed),
        duration: Some(end),
        warmup: Some(SimTime::ZERO),
    };
    Simulation::new(Arc::clone(m), options)
        .run()
        .unwrap_or_else(|e| panic!("the run failed: {e}"))
}

fn queue<'r>(r: &'r Report, name: &str) -> &'r QueueReport {
    r.components[name].queue.as_ref().expect("a queue")
}

/// Producers outrun the consumer (200/s against 80/s), so a backlog builds; the broker
/// crashes at 10s for 2s.
fn broker_crash(durable: bool) -> String {
    format!(
        "duration: 30s
workloads: [ {{ name: users, target: web, rate: 200/s, request: signup }} ]
components:
  web: {{ kind: service, workers: 32, handlers: {{ signup: {{ work: exp 1ms, calls: [ {{ to: tasks, request: email }} ] }} }} }}
  tasks: {{ kind: queue, latency: 1ms, consumers: mailer, durable: {durable} }}
  mailer: {{ kind: service, workers: 4, handlers: {{ email: {{ work: exp 50ms }} }} }}
faults:
  - {{ at: 10s, for: 2s, crash: tasks }}
"
    )
}

#[test]
fn a_broker_crash_loses_a_non_durable_backlog_and_keeps_a_durable_one() {
    let just_before = SimTime::from_secs(10) - SimTime::from_nanos(1);
    for durable in [false, true] {
        let m = model(&broker_crash(durable));
        // What the broker held at the crash: the same run, stopped just before it.
        let before = run_to(&m, 41, just_before);
        let held = queue(&before, "tasks");
        assert!(held.backlog > 500, "the backlog should have built up");
        assert_eq!(
            held.unacked, 4,
            "the consumer holds its prefetch (its workers)"
        );
        let after = run_to(&m, 41, SimTime::from_secs(30));
        let q = queue(&after, "tasks");
        assert_eq!(
            q.enqueued,
            q.acked + q.dead_lettered + q.lost + q.backlog + q.unacked,
            "messages are conserved"
        );
        if durable {
            assert_eq!(q.lost, 0, "a durable queue loses nothing");
            // The four unacknowledged at the crash are delivered again after the restart;
            // their consumer finished them meanwhile, but the acknowledgements found the
            // broker down, so each is processed twice.
            assert_eq!(q.redelivered, held.unacked);
            assert_eq!(q.duplicates, held.unacked);
        } else {
            assert_eq!(
                q.lost,
                held.backlog + held.unacked,
                "a non-durable queue loses everything it held"
            );
            assert_eq!(q.redelivered, 0);
        }
    }
}

#[test]
fn a_consumer_crash_redelivers_what_it_held_after_the_visibility_timeout() {
    let text = "duration: 30s
workloads: [ { name: users, target: tasks, rate: 400/s, request: job } ]
components:
  tasks: { kind: queue, consumers: worker, prefetch: 3, visibility_timeout: 2s }
  worker: { kind: service, replicas: 2, workers: 3, handlers: { job: { work: exp 20ms } } }
faults:
  - { at: 10s, for: 1s, crash: worker, replica: 0 }
";
    let m = model(text);
    let before = run_to(&m, 43, SimTime::from_secs(10) - SimTime::from_nanos(1));
    // 400/s offered to 2 × 3 / 20ms = 300/s: a backlog builds, so each replica holds its
    // full prefetch of 3 whenever the broker looks. What replica 0 held at the crash is
    // delivered again once its visibility timeout passes; nothing else is (the work takes
    // 20ms, far below the 2s timeout).
    let held = queue(&before, "tasks");
    assert!(held.backlog > 0);
    assert_eq!(held.unacked, 6, "both replicas hold their prefetch");
    let r = run_to(&m, 43, SimTime::from_secs(30));
    let q = queue(&r, "tasks");
    assert_eq!(q.redelivered, 3, "replica 0's three messages come again");
    assert_eq!(
        q.duplicates, 0,
        "work lost in a crash never finished, so nothing ran twice"
    );
    assert_eq!(q.lost, 0);
    assert_eq!(q.dead_lettered, 0);
    assert_eq!(q.enqueued, q.acked + q.backlog + q.unacked);
}

#[test]
fn a_message_that_always_fails_is_dead_lettered_after_max_deliveries() {
    let text = "duration: 10s
workloads: [ { name: users, target: tasks, rate: 50/s, request: job } ]
components:
  tasks: { kind: queue, consumers: worker, max_deliveries: 3 }
  worker: { kind: service, workers: 4, handlers: { job: { work: exp 5ms } } }
faults:
  - { at: 0s, error: worker, fraction: 100% }
";
    let r = run_to(&model(text), 45, SimTime::from_secs(10));
    let q = queue(&r, "tasks");
    assert_eq!(q.acked, 0);
    assert!(q.dead_lettered > 400, "{} dead-lettered", q.dead_lettered);
    // Each dead letter was delivered exactly 3 times; those still in the system fewer.
    let live = q.backlog + q.unacked;
    assert!(
        q.delivered >= 3 * q.dead_lettered && q.delivered <= 3 * (q.dead_lettered + live),
        "{} deliveries for {} dead letters and {live} live messages",
        q.delivered,
        q.dead_lettered
    );
    assert_eq!(q.redelivered, q.delivered - (q.dead_lettered + live));
}

/// A visibility timeout shorter than the work: every message becomes visible again while
/// its consumer is still on it, is processed again and again and never acknowledged — the
/// classic misconfiguration of at-least-once queues, shown as duplicates and dead letters.
#[test]
fn a_visibility_timeout_shorter_than_the_work_makes_duplicates() {
    let text = "duration: 20s
workloads: [ { name: users, target: tasks, rate: 2/s, request: job } ]
components:
  tasks: { kind: queue, consumers: worker, visibility_timeout: 200ms, max_deliveries: 4 }
  worker: { kind: service, replicas: 2, workers: 2, handlers: { job: { work: 300ms } } }
";
    let r = run_to(&model(text), 47, SimTime::from_secs(20));
    let q = queue(&r, "tasks");
    assert_eq!(q.acked, 0, "no acknowledgement ever comes in time");
    assert!(q.duplicates > 0);
    assert!(q.dead_lettered > 0);
    // Four processings of each dead letter, three of them duplicates.
    assert!(q.duplicates >= 3 * q.dead_lettered - 3 * (q.backlog + q.unacked));
}

/// A sign-up sends `create_user` then `send_message` through the same bus. Processing a
/// `send_message` before its user exists is a causal violation. Consumers in parallel
/// commit them (creating a user takes longer), per-key partitions and causal ordering
/// each prevent them, at a cost in throughput for partitions.
fn bus(ordering: &str) -> String {
    format!(
        "duration: 20s
workloads: [ {{ name: users, target: web, rate: 100/s, request: signup }} ]
components:
  web:
    kind: service
    workers: 16
    handlers:
      signup: {{ calls: [ {{ to: bus, request: create_user }}, {{ to: bus, request: send_message }} ] }}
  bus: {{ kind: queue, consumers: app, depends: {{ send_message: create_user }}, {ordering} }}
  app: {{ kind: service, replicas: 4, workers: 4, handlers: {{ create_user: {{ work: exp 20ms }}, send_message: {{ work: exp 5ms }} }} }}
"
    )
}

#[test]
fn causal_ordering_removes_causal_violations_that_parallel_consumers_commit() {
    let end = SimTime::from_secs(20);
    let none = run_to(&model(&bus("ordering: none")), 49, end);
    let causal = run_to(&model(&bus("ordering: causal")), 49, end);
    let per_key = run_to(&model(&bus("ordering: per_key, partitions: 64")), 49, end);
    let (n, c, p) = (
        queue(&none, "bus"),
        queue(&causal, "bus"),
        queue(&per_key, "bus"),
    );
    // Without ordering a `send_message` usually overtakes its `create_user`: it is
    // delivered at the same time to another worker and takes a quarter of the time.
    assert!(
        n.causal_violations > 1000,
        "{} violations",
        n.causal_violations
    );
    assert_eq!(c.causal_violations, 0);
    assert_eq!(p.causal_violations, 0);
    for q in [n, c, p] {
        assert_eq!(q.enqueued, q.acked + q.backlog + q.unacked);
    }
}

/// Per-key ordering processes a partition one message at a time: with 2 partitions the
/// bus can process at most 2 messages at once whatever the consumers, about
/// 2 / 12.5ms = 160 messages a second against the 200 sent, so the backlog grows; causal
/// ordering only holds back what must wait and keeps up.
#[test]
fn few_partitions_cost_throughput_that_causal_ordering_does_not() {
    let end = SimTime::from_secs(20);
    let causal = run_to(&model(&bus("ordering: causal")), 51, end);
    let per_key = run_to(&model(&bus("ordering: per_key, partitions: 2")), 51, end);
    let (c, p) = (queue(&causal, "bus"), queue(&per_key, "bus"));
    assert!(
        c.backlog < 50,
        "causal ordering keeps up: {} waiting",
        c.backlog
    );
    assert!(
        p.backlog > 300,
        "two partitions cannot keep up: {} waiting",
        p.backlog
    );
    assert!(p.acked < c.acked);
}

/// One queue of a random model with several: its ordering, its consumer and what may go
/// wrong with that consumer.
#[derive(Debug, Clone)]
struct OrderedQueueSpec {
    /// 0: none, 1: per key, 2: causal.
    ordering: usize,
    partitions: u32,
    durable: bool,
    rate: u32,
    replicas: u32,
    workers: u32,
    create_ms: f64,
    visibility_ms: u32,
    /// 0: nothing, 1: the consumer crashes for a while, 2: it fails some messages, 3: its
    /// link from the broker loses some deliveries, 4: the broker crashes.
    trouble: usize,
    trouble_at_ms: u32,
}

fn ordered_queue() -> impl proptest::strategy::Strategy<Value = OrderedQueueSpec> {
    use proptest::prelude::*;
    (
        (0usize..3, 1u32..5, any::<bool>(), 20u32..250),
        (1u32..4, 1u32..5, 1.0f64..25.0, 30u32..500),
        (0usize..5, 200u32..3500),
    )
        .prop_map(
            |(
                (ordering, partitions, durable, rate),
                (replicas, workers, create_ms, visibility_ms),
                (trouble, trouble_at_ms),
            )| OrderedQueueSpec {
                ordering,
                partitions,
                durable,
                rate,
                replicas,
                workers,
                create_ms,
                visibility_ms,
                trouble,
                trouble_at_ms,
            },
        )
}

/// Each queue `qI` carries `createI` then `sendI` from its producer `pI` (the second
/// depends on the first, with the same key) to its consumer `cI`.
fn ordered_queues_yaml(queues: &[OrderedQueueSpec]) -> String {
    use std::fmt::Write as _;
    let mut workloads = String::new();
    let mut components = String::new();
    let mut faults = String::new();
    for (i, q) in queues.iter().enumerate() {
        let _ = writeln!(
            workloads,
            "  - {{ name: w{i}, target: p{i}, rate: {}/s, request: signup{i} }}",
            q.rate
        );
        let ordering = match q.ordering {
            0 => "none".to_string(),
            1 => format!("per_key, partitions: {}", q.partitions),
            _ => "causal".to_string(),
        };
        let _ = writeln!(
            components,
            "  p{i}: {{ kind: service, workers: 64, handlers: {{ signup{i}: {{ work: exp 1ms, calls: [ {{ to: q{i}, request: create{i} }}, {{ to: q{i}, request: send{i} }} ] }} }} }}
  q{i}: {{ kind: queue, latency: exp 300us, consumers: c{i}, durable: {}, visibility_timeout: {}ms, depends: {{ send{i}: create{i} }}, ordering: {ordering} }}
  c{i}: {{ kind: service, replicas: {}, workers: {}, handlers: {{ create{i}: {{ work: exp {:.2}ms }}, send{i}: {{ work: exp 2ms }} }} }}",
            q.durable, q.visibility_ms, q.replicas, q.workers, q.create_ms
        );
        let at = q.trouble_at_ms;
        let _ = match q.trouble {
            1 => writeln!(faults, "  - {{ at: {at}ms, for: 400ms, crash: c{i} }}"),
            2 => writeln!(
                faults,
                "  - {{ at: {at}ms, for: 600ms, error: c{i}, fraction: 30% }}"
            ),
            3 => writeln!(
                faults,
                "  - {{ at: {at}ms, for: 500ms, link: [q{i}, c{i}], loss: 20% }}"
            ),
            4 => writeln!(faults, "  - {{ at: {at}ms, for: 200ms, crash: q{i} }}"),
            _ => Ok(()),
        };
    }
    let faults = if faults.is_empty() {
        String::new()
    } else {
        format!("faults:\n{faults}")
    };
    format!("duration: 5s\nworkloads:\n{workloads}components:\n{components}\n{faults}")
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 40, ..proptest::prelude::ProptestConfig::default() })]

    /// Whatever shares the model and whatever goes wrong, a causal queue never lets a
    /// message be processed before the one it depends on, and neither does a per-key queue
    /// for messages of one key (the dependent message carries its dependency's key).
    #[test]
    fn ordered_queues_keep_their_order_beside_others(
        queues in proptest::collection::vec(ordered_queue(), 2..5),
        seed in 1u64..1000,
    ) {
        let text = ordered_queues_yaml(&queues);
        let m = model(&text);
        let r = run_to(&m, seed, SimTime::from_secs(5));
        for (i, spec) in queues.iter().enumerate() {
            let q = queue(&r, &format!("q{i}"));
            proptest::prop_assert_eq!(
                q.enqueued,
                q.acked + q.dead_lettered + q.lost + q.backlog + q.unacked
            );
            if spec.ordering > 0 {
                proptest::prop_assert_eq!(
                    q.causal_violations, 0,
                    "queue q{} (seed {}): {:?}\n{}", i, seed, q, text
                );
            }
        }
    }
}
