//! Parameter sweeps: the M/M/c curve over the number of workers, and the same sweep run
//! serially and in parallel.

use archsim::experiment::stats::t_975;
use archsim::experiment::sweep::{Plan, Sweep, sweep};
use archsim::sim::{RunOptions, SimTime};

use crate::support::model;
use crate::theory::{mmc_wait, t_9995};

/// λ = 400/s into `workers` servers of μ = 250/s sharing one queue: M/M/c.
const MMC: &str = "
workloads: [ { name: clients, target: server, rate: 400/s, request: job } ]
components:
  server: { kind: service, workers: 2, handlers: { job: { work: exp 4ms } } }
";

fn mmc_sweep(replications: u32, measured_s: u64, parallel: bool) -> Sweep {
    let m = model(MMC);
    let plan = Plan::new(
        &m,
        vec!["server.workers=2..5".parse().expect("valid")],
        &["job.mean_s".to_string(), "server.queue_mean".to_string()],
    )
    .expect("valid sweep");
    let options = RunOptions {
        seed: Some(500),
        duration: Some(SimTime::from_secs(10 + measured_s)),
        warmup: Some(SimTime::from_secs(10)),
    };
    sweep(&m, &plan, options, replications, parallel, &|| {}).expect("runs")
}

/// The sweep over c = 2..5 follows Erlang C: at each point the mean sojourn W = W_q + 1/μ
/// and the mean wait W_q = L_q/λ (Little) agree with theory within the 99.9% confidence
/// interval of the replications (its half-width derived from the sweep's 95% one), and the
/// 95% interval is narrow enough that agreement means something.
#[test]
fn sweep_over_workers_follows_the_erlang_c_curve() {
    let (lambda, mu) = (400.0, 250.0);
    let sw = mmc_sweep(20, 100, true);
    assert_eq!(sw.points.len(), 4);
    for p in &sw.points {
        let c: u32 = p.values[0].parse().expect("a number of workers");
        let wq = mmc_wait(c, lambda, mu);
        let sojourn = p.figures["job.mean_s"];
        let queue = p.figures["server.queue_mean"];
        for (figure, e, scale, theory, max_rel_hw95) in [
            ("mean sojourn (s)", sojourn, 1.0, wq + 1.0 / mu, 0.02),
            // The wait is a sliver of the sojourn at low load; its interval is judged on
            // its own scale, with power required only where waiting is a real share.
            (
                "mean wait L_q/λ (s)",
                queue,
                1.0 / lambda,
                wq,
                if c <= 3 { 0.05 } else { f64::INFINITY },
            ),
        ] {
            let n = e.n;
            let mean = e.mean.expect("a value") * scale;
            let hw95 = e.half_width.expect("replicated") * scale;
            let hw999 = hw95 * t_9995(n - 1) / t_975(n - 1);
            eprintln!(
                "sweep | M/M/{c} | {figure} | theory {theory:.6} | measured {mean:.6} ± {hw95:.6} (95%) | error {:+.2}%",
                100.0 * (mean - theory) / theory
            );
            assert_eq!(n, 20);
            assert!(
                hw95 <= max_rel_hw95 * theory,
                "M/M/{c}, {figure}: too noisy to test: 95% half-width {hw95:.6} for {theory:.6}"
            );
            assert!(
                (mean - theory).abs() <= hw999,
                "M/M/{c}, {figure}: measured {mean:.6} ± {hw999:.6} (99.9%), theory {theory:.6}; \
                 reproduce with seed 500"
            );
        }
    }
    // The curve falls with every worker added.
    let waits: Vec<f64> = sw
        .points
        .iter()
        .map(|p| p.figures["job.mean_s"].mean.expect("a value"))
        .collect();
    assert!(waits.windows(2).all(|w| w[1] < w[0]), "{waits:?}");
}

#[test]
fn a_parallel_sweep_equals_the_serial_one() {
    let m = model(
        "
workloads: [ { name: users, target: app, rate: 300/s, request: a, timeout: 1s } ]
components:
  app:
    kind: service
    workers: 2
    queue: 20
    handlers: { a: { work: exp 5ms, calls: [ { to: db, timeout: 50ms } ] } }
  db: { kind: service, workers: 2, handlers: { a: { work: exp 4ms } } }
",
    );
    let plan = Plan::new(
        &m,
        vec![
            "app.workers=1..3".parse().expect("valid"),
            "app.retry.attempts=1,3".parse().expect("valid"),
        ],
        &[],
    )
    .expect("valid sweep");
    let options = RunOptions {
        seed: Some(9),
        duration: Some(SimTime::from_secs(12)),
        warmup: Some(SimTime::from_secs(2)),
    };
    let serial = sweep(&m, &plan, options, 2, false, &|| {}).expect("runs");
    let parallel = sweep(&m, &plan, options, 2, true, &|| {}).expect("runs");
    assert_eq!(serial.points.len(), 6);
    assert_eq!(serial, parallel);
    // The points differ: one worker at 300/s of 5ms work is overloaded, three are not.
    let mean = |i: usize| serial.points[i].figures["a.mean_s"].mean.expect("a value");
    assert!(mean(0) > 2.0 * mean(4), "{} vs {}", mean(0), mean(4));
}
