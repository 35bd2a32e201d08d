//! Databases against theory and against independent counts: replication lag growing at
//! 1 − μ/λ when replicas apply slower than the primary writes, stale reads at the rate a
//! constant shipping delay implies, none under `sync`, the writes a failover loses counted
//! from the workload's own answers, none lost under `semi_sync`, and multi-primary
//! conflicts at the rate concurrent writes imply.
//!
//! Each statistical check states its tolerance and where it comes from; the seeds are
//! fixed, so a failure is reproducible with `archsim run --seed`.

use archsim::observe::Report;
use archsim::observe::report::DatabaseReport;
use archsim::sim::{RunOptions, Simulation};

use crate::support::{model, run};

fn db<'r>(r: &'r Report, name: &str) -> &'r DatabaseReport {
    r.components[name]
        .database
        .as_ref()
        .unwrap_or_else(|| panic!("`{name}` has no database figures"))
}

/// One primary and one replica; writes at 100/s, applied by the replica in `apply` each.
pub(crate) fn lagging(apply: &str) -> String {
    format!(
        "
duration: 600s
seed: 3
workloads:
  - {{ name: writer, target: db, rate: 100/s, request: write }}
components:
  db:
    kind: database
    replicas: 1
    workers: 8
    writes: [write]
    ship: 1ms
    apply: {apply}
    handlers: {{ write: {{ work: 1ms }} }}
"
    )
}

#[test]
fn async_lag_grows_linearly_when_the_replica_applies_slower_than_writes_arrive() {
    // Applying one write takes 20 ms: μ = 50/s against λ = 100/s. After t seconds the
    // replica has applied μ·t writes (it is never idle), and the next one was committed at
    // about μ·t/λ, so the lag is t·(1 − μ/λ) = t/2: linear, not a fixed delay. The commit
    // time of the n-th write of a Poisson stream has standard deviation √n/λ; the
    // tolerance is 4 of those (plus the 1 ms ship and 1 ms work).
    let r = run(&lagging("20ms"), 3);
    let d = db(&r, "db");
    let series = &r.series.components["db"].replica_lag_s.as_ref().unwrap()["db[1]"];
    let width = r.series.bucket_s;
    let (lambda, mu) = (100.0_f64, 50.0_f64);
    let mut checked = 0;
    for (k, &lag) in series.iter().enumerate() {
        let t = (k + 1) as f64 * width;
        if t < 60.0 || k % 20 != 19 {
            continue;
        }
        let expected = t * (1.0 - mu / lambda);
        let tolerance = 4.0 * (mu * t).sqrt() / lambda + 0.002;
        assert!(
            (lag - expected).abs() <= tolerance,
            "lag at {t:.0}s: {lag:.3}s, expected {expected:.3}s ± {tolerance:.3}s"
        );
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} points checked");
    assert!(d.stale_reads == 0 && d.reads == 0, "no reads in this model");
    assert_eq!(d.nodes[1].role, "replica");
    assert!(
        d.nodes[1].behind > 25_000,
        "{} writes behind",
        d.nodes[1].behind
    );

    // With μ = 200/s the replica keeps up: the writes it has not applied form an M/D/1
    // queue at load 0.5, whose wait exceeds 1 s with a probability far below 10⁻¹⁰.
    let r = run(&lagging("5ms"), 3);
    let max = db(&r, "db").nodes[1].lag_max_s;
    assert!(max < 1.0, "a replica that keeps up lags {max:.3}s at most");
}

/// One primary, `replicas` replicas reading from replicas only; one row written at 100/s
/// and read at 200/s.
fn stale(replication: &str, replicas: u32) -> String {
    format!(
        "
duration: 300s
seed: 5
workloads:
  - {{ name: writer, target: db, rate: 100/s, request: write }}
  - {{ name: reader, target: db, rate: 200/s, request: read }}
components:
  db:
    kind: database
    replicas: {replicas}
    workers: 64
    read_from: replicas
    {replication}
    writes: [write]
    ship: 10ms
    apply: 0ms
    keys: 1
    handlers:
      write: {{ work: 1ms }}
      read: {{ work: 1ms }}
"
    )
}

#[test]
fn async_stale_reads_match_the_shipping_delay_and_sync_has_none() {
    // Async, one row: a write reaches the replica 10 ms after it is acknowledged, so a read
    // there is stale exactly when the row was written in the last 10 ms. Writes are
    // Poisson at λ = 100/s and reads see time averages (PASTA), so the stale share is
    // 1 − e^(−λ·d) = 1 − e^(−1). Reads are Poisson and the windows they fall in nearly
    // independent; 4 binomial standard deviations.
    let r = run(&stale("", 1), 5);
    let d = db(&r, "db");
    let p = 1.0 - (-1.0_f64).exp();
    let n = d.reads as f64;
    let measured = d.stale_reads as f64 / n;
    let tolerance = 4.0 * (p * (1.0 - p) / n).sqrt();
    assert!(n > 50_000.0, "{n} reads");
    assert!(
        (measured - p).abs() <= tolerance,
        "stale share {measured:.4}, expected {p:.4} ± {tolerance:.4}"
    );
    let async_write = r.requests["write"].latency_s.mean.unwrap();

    // Sync: a write is acknowledged once every replica up has applied it (10 ms there, 10
    // back), so no acknowledged write is missing anywhere: not one stale read, and every
    // write takes at least the 1 ms work and the 20 ms round trip.
    let r = run(&stale("replication: sync", 2), 5);
    let d = db(&r, "db");
    assert!(d.reads > 50_000, "{} reads", d.reads);
    assert_eq!(d.stale_reads, 0, "sync replication served stale reads");
    let write = &r.requests["write"];
    assert_eq!(write.failed, 0);
    let (mean, min_expected) = (write.latency_s.mean.unwrap(), 0.021);
    assert!(
        mean >= min_expected && mean > async_write + 0.019,
        "sync writes take {mean:.4}s on average, async {async_write:.4}s"
    );
}

/// A primary and one replica; writes early (until 45 s) and late (50–59 s, while the replica
/// is down); the primary crashes at 60 s for good, the replica comes back at 61 s and is
/// promoted after a 5 s heartbeat timeout and 1 s of promotion.
fn failover(replication: &str, replicas: u32) -> String {
    format!(
        "
duration: 90s
seed: 7
workloads:
  - name: early
    target: db
    request: write
    rate: [ {{ at: 0s, rate: 50/s }}, {{ at: 45s, rate: 0/s }} ]
  - name: late
    target: db
    request: late_write
    timeout: 20s
    rate: [ {{ at: 50s, rate: 100/s }}, {{ at: 59s, rate: 0/s }} ]
components:
  db:
    kind: database
    replicas: {replicas}
    workers: 200
    {replication}
    writes: [write, late_write]
    ship: 1ms
    apply: 1ms
    keys: 1000
    failover: {{ detect: 5s, promote: 1s }}
    handlers: {{ write: {{ work: 1ms }}, late_write: {{ work: 1ms }} }}
faults:
  - {{ at: 50s, crash: db, replica: 1, for: 11s }}
  - {{ at: 60s, crash: db, replica: 0 }}
"
    )
}

#[test]
fn an_async_failover_loses_exactly_the_acknowledged_writes_the_replica_missed() {
    // The replica is down while the late writes are acknowledged, and the primary dies
    // before it comes back: every late write that succeeded is lost, and no early one (all
    // shipped 1 ms after their commit, 5 s before the replica's crash). The expected count
    // comes from the workload's own answers, not from the database.
    let r = run(&failover("", 1), 7);
    let d = db(&r, "db");
    let acknowledged_late = r.requests["late_write"].ok;
    assert!(acknowledged_late > 700, "{acknowledged_late} late writes");
    assert_eq!(d.lost_writes, acknowledged_late);
    assert_eq!(d.failovers.len(), 1);
    let f = &d.failovers[0];
    assert_eq!(f.promoted.as_deref(), Some("db[1]"));
    assert_eq!(f.detected_s, Some(65.0));
    assert_eq!(f.promoted_s, Some(66.0));
    assert_eq!(f.writes_unavailable_s, Some(6.0));
    let window = f.data_loss_window_s.unwrap();
    assert!(
        (9.9..=10.0).contains(&window),
        "the lost writes span the 10 s before the crash: {window}"
    );
    assert_eq!(d.nodes[1].role, "primary");
}

#[test]
fn semi_sync_with_one_ack_loses_no_acknowledged_write() {
    // Two replicas, one of them down during the late writes: with `semi_sync` and one ack,
    // a write is acknowledged only once the other replica has received it, and the
    // failover promotes the replica that received the most. Nothing acknowledged is lost.
    let r = run(&failover("replication: semi_sync\n    acks: 1", 2), 7);
    let d = db(&r, "db");
    assert!(r.requests["late_write"].ok > 700);
    assert_eq!(d.lost_writes, 0);
    assert_eq!(d.failovers[0].promoted.as_deref(), Some("db[2]"));
    // The same failure under async replication loses none either here (the other replica
    // received everything 1 ms later), so lengthen the shipping and write until the crash:
    // async then loses the writes of the last `ship` before it, semi-sync still none.
    let slow = |replication: &str| {
        failover(replication, 2)
            .replace("ship: 1ms", "ship: 500ms")
            .replace("for: 11s", "for: 1s")
            .replace("at: 59s, rate: 0/s", "at: 60s, rate: 0/s")
    };
    let async_run = run(&slow(""), 7);
    let lost = db(&async_run, "db").lost_writes;
    // Late writes arrive at 100/s, so about 50 fall in the last 500 ms; Poisson count, 4σ.
    assert!(
        (50.0_f64 - lost as f64).abs() <= 4.0 * 50.0_f64.sqrt(),
        "async lost {lost}"
    );
    let semi = run(&slow("replication: semi_sync\n    acks: 1"), 7);
    assert_eq!(db(&semi, "db").lost_writes, 0);
}

#[test]
fn multi_primary_conflicts_match_the_chance_of_concurrent_writes() {
    // Two primaries, one row, writes Poisson at Λ = 100/s split at random between them,
    // shipped in a constant d = 10 ms. A write conflicts when the row's previous write came
    // from the other primary (probability 1/2, independent of timing) less than d earlier
    // (1 − e^(−Λd)): p = (1 − e^(−1))/2. The indicators of successive writes are pairwise
    // independent (the origins are), so the count is binomial; 4 standard deviations.
    let text = "
duration: 300s
seed: 11
workloads:
  - { name: writer, target: db, rate: 100/s, request: write }
components:
  db:
    kind: database
    primaries: 2
    balance: random
    workers: 32
    writes: [write]
    ship: 10ms
    apply: 0ms
    keys: 1
    handlers: { write: { work: 1ms } }
";
    let r = run(text, 11);
    let d = db(&r, "db");
    let n = d.writes as f64;
    let p = 0.5 * (1.0 - (-1.0_f64).exp());
    let measured = d.conflicts as f64 / n;
    let tolerance = 4.0 * (p * (1.0 - p) / n).sqrt();
    assert!(
        (measured - p).abs() <= tolerance,
        "conflict share {measured:.4}, expected {p:.4} ± {tolerance:.4}"
    );
    assert_eq!(d.nodes.iter().filter(|n| n.role == "primary").count(), 2);
}

#[test]
fn databases_are_deterministic_and_conserve_requests() {
    let text = failover("replication: semi_sync\n    acks: 1\n    read_from: any", 2)
        .replace(
            "  - name: early",
            "  - { name: reader, target: db, rate: 100/s, request: read }\n  - name: early",
        )
        .replace(
            "late_write: { work: 1ms } }",
            "late_write: { work: 1ms }, read: { work: 2ms } }",
        );
    let a = run(&text, 21);
    let b = run(&text, 21);
    assert_eq!(a.to_json(), b.to_json());
    let d = db(&a, "db");
    assert!(d.reads > 5000 && d.writes > 2000);
    let t = a.totals;
    assert_eq!(t.generated, t.ok + t.ok_degraded + t.failed + t.in_flight);
}

#[test]
fn a_scenario_sets_the_read_replicas_of_a_database_beside_its_primary() {
    let text = "
duration: 20s
workloads:
  - { name: w, target: db, rate: 100/s, mix: { read: 80%, write: 20% } }
components:
  db:
    kind: database
    replicas: 1
    read_from: replicas
    replication: semi_sync
    apply: 1ms
    writes: [write]
    handlers: { \"*\": { work: exp 1ms } }
scenarios:
  more: { set: { db.replicas: 3 } }
";
    let m = model(text);
    let variant = m.with_scenario(&m.scenarios[0]);
    let r = Simulation::new(std::sync::Arc::new(variant), RunOptions::default())
        .run()
        .unwrap();
    let d = db(&r, "db");
    assert_eq!((d.primaries, d.replicas), (1, 3));
    assert_eq!(d.nodes.len(), 4);
    // None left for the semi-synchronous acknowledgement: refused where it is written.
    let broken = text.replace("{ db.replicas: 3 }", "{ db.replicas: 0 }");
    let errors = archsim::model::parse("m.yaml", &broken)
        .unwrap_err()
        .render();
    assert!(
        errors.contains("m.yaml:15:31: error: db.replicas: semi-synchronous writes wait for 1"),
        "{errors}"
    );
}
