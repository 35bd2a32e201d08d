//! The simulator's numbers against queueing theory.
//!
//! Every case is a model whose answer is known in closed form: M/M/1 (also with a client
//! deadline), M/M/c (Erlang C), M/M/c/K (blocking), M/D/1, M/G/1 through a blocking call and
//! with a mix of request types (Pollaczek–Khinchine), a Jackson tandem with link delays, a
//! closed network solved by exact Mean Value Analysis, and a load balancer splitting at random
//! (M/M/1 per replica) and round robin (E_k/M/1). docs/VALIDATION.md lists the cases, the
//! formulas and the figures of a real run; `cargo test --test it theory -- --nocapture`
//! prints them.
//!
//! Method, the same for every figure:
//! - `R = 20` independent replications (consecutive fixed seeds, so the tests are
//!   deterministic), each with a warm-up of 10 simulated seconds removed — at least 25
//!   relaxation times of the slowest case, so the initial empty state leaves no trace.
//! - The figure is the mean of the 20 replication values; its confidence interval comes from
//!   their spread with Student's t on 19 degrees of freedom.
//! - **Agreement**: |measured − theory| ≤ the half-width of the 99.9% confidence interval
//!   (t = 3.883), plus the resolution of the figure where it has one (a percentile read from
//!   an HDR histogram with 3 significant digits is reported at the top of its bucket, up to
//!   0.1% high). If the simulator is right, each such check fails by chance about once in a
//!   thousand seeds.
//! - **Power**: the half-width of the 95% interval must be below a small fraction of the
//!   theoretical value (2% unless a case says otherwise), so that a check cannot pass merely
//!   because the estimate is noisy: the 99.9% half-width is then at most 3.7% (2% × 3.883 /
//!   2.093), and any larger bias fails.
//!
//! Time is scaled so that service takes about a millisecond: what sets the precision is the
//! number of completed requests (millions per case), not the simulated duration.

use archsim::experiment::stats::Summary;
use archsim::observe::Report;

use crate::support::{self, model, timed};

/// Replications per case.
const R: u32 = 20;
/// Simulated seconds removed at the start of every replication.
const WARMUP_S: u64 = 10;

/// Two-sided 99.9% quantiles of Student's t (the 0.9995 quantile) for 1 to 30 degrees of
/// freedom, from the standard table. (The Cornish–Fisher expansion in `stats` is a little
/// low this far in the tail at few degrees of freedom: 3.875 instead of 3.883 at 19.)
const T_9995: [f64; 30] = [
    636.619, 31.599, 12.924, 8.610, 6.869, 5.959, 5.408, 5.041, 4.781, 4.587, 4.437, 4.318, 4.221,
    4.140, 4.073, 4.015, 3.965, 3.922, 3.883, 3.850, 3.819, 3.792, 3.768, 3.745, 3.725, 3.707,
    3.690, 3.674, 3.659, 3.646,
];

/// Beyond 30 degrees of freedom, the value at 30 (slightly conservative).
pub(crate) fn t_9995(df: usize) -> f64 {
    T_9995[df.clamp(1, T_9995.len()) - 1]
}

/// Runs `R` replications of an inline model, seeds `seed..seed+R`, each `measured_s`
/// simulated seconds after the warm-up.
fn replicate(text: &str, seed: u64, measured_s: u64) -> Vec<Report> {
    support::replicate(
        &model(text),
        timed(seed, WARMUP_S, WARMUP_S + measured_s),
        R,
    )
}

/// One figure taken from every replication.
pub(crate) fn each(reports: &[Report], figure: impl Fn(&Report) -> Option<f64>) -> Vec<f64> {
    reports
        .iter()
        .map(|r| match figure(r) {
            Some(v) => v,
            None => panic!("seed {}: the figure is missing from the report", r.seed),
        })
        .collect()
}

/// The estimate of one figure over the replications.
pub(crate) struct Estimate {
    pub mean: f64,
    pub hw95: f64,
    pub hw999: f64,
}

fn estimate(values: &[f64]) -> Estimate {
    let s = Summary::of(values);
    Estimate {
        mean: s.mean,
        hw95: s.half_width_95,
        hw999: s.half_width(t_9995(s.n - 1)),
    }
}

/// Checks one figure: it must agree with `theory` within the 99.9% half-width plus
/// `resolution` (relative), and its 95% half-width must be below `max_rel_hw95` of `theory`.
/// Prints the figures (for docs/VALIDATION.md) before asserting.
pub(crate) fn check(
    case: &str,
    figure: &str,
    values: &[f64],
    theory: f64,
    max_rel_hw95: f64,
    resolution: f64,
) -> Estimate {
    let e = estimate(values);
    let rel_hw95 = e.hw95 / theory.abs();
    let slack = e.hw999 + resolution * theory.abs();
    eprintln!(
        "theory | {case} | {figure} | theory {theory:.6} | measured {:.6} ± {:.6} (95%) | \
         error {:+.2}% | 99.9% half-width {:.2}% | 95% half-width {:.2}%",
        e.mean,
        e.hw95,
        100.0 * (e.mean - theory) / theory.abs(),
        100.0 * e.hw999 / theory.abs(),
        100.0 * rel_hw95,
    );
    assert!(
        rel_hw95 <= max_rel_hw95,
        "{case}, {figure}: the estimate is too noisy to test anything: 95% half-width {:.2}% \
         of the theoretical value, allowed {:.2}%",
        100.0 * rel_hw95,
        100.0 * max_rel_hw95
    );
    assert!(
        (e.mean - theory).abs() <= slack,
        "{case}, {figure}: measured {:.6} ± {:.6} (99.9%), theory {theory:.6}: off by {:.6}, \
         more than the 99.9% half-width (+ resolution) {slack:.6}",
        e.mean,
        e.hw999,
        (e.mean - theory).abs()
    );
    e
}

fn latency_mean(r: &Report, ty: &str) -> Option<f64> {
    r.requests.get(ty)?.latency_s.mean
}

fn latency_p99(r: &Report, ty: &str) -> Option<f64> {
    r.requests.get(ty)?.latency_s.p99
}

fn response_mean(r: &Report, comp: &str) -> Option<f64> {
    r.components.get(comp)?.response_s.mean
}

// ---- closed forms -----------------------------------------------------------------------

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load
/// `a = λ/μ` (requires a < c).
pub(crate) fn erlang_c(c: u32, a: f64) -> f64 {
    // Σ_{k<c} a^k/k!, and a^c/c! · c/(c−a).
    let mut term = 1.0;
    let mut below = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        below += term;
    }
    let top = term * a / f64::from(c) * f64::from(c) / (f64::from(c) - a);
    top / (below + top)
}

/// M/M/c mean waiting time in the queue: C(c, a) / (cμ − λ).
pub(crate) fn mmc_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda)
}

/// M/M/c/K (K places in all, c of them servers): the stationary distribution of the number
/// in the system, p_n ∝ a^n/n! for n ≤ c and a^c/c! · (a/c)^(n−c) above.
fn mmck_distribution(c: u32, k: u32, a: f64) -> Vec<f64> {
    let mut p = Vec::with_capacity(k as usize + 1);
    let mut term = 1.0;
    for n in 0..=k {
        if n > 0 {
            term *= a / f64::from(n.min(c));
        }
        p.push(term);
    }
    let total: f64 = p.iter().sum();
    p.iter().map(|x| x / total).collect()
}

/// Exact Mean Value Analysis of a closed network: `users` customers, a delay station (think
/// time, mean `think`) and single-server FCFS stations with exponential service of mean
/// `demands[k]`, visited once each per cycle. Returns throughput X(N) and response R(N)
/// (the time from sending a request to its answer, think excluded).
///
/// R_k(n) = D_k (1 + Q_k(n−1)),  R(n) = Σ R_k(n),  X(n) = n / (Z + R(n)),  Q_k(n) = X(n) R_k(n).
fn mva(users: u32, think: f64, demands: &[f64]) -> (f64, f64) {
    let mut queue = vec![0.0; demands.len()];
    let (mut x, mut r) = (0.0, 0.0);
    for n in 1..=users {
        let residence: Vec<f64> = demands
            .iter()
            .zip(&queue)
            .map(|(d, q)| d * (1.0 + q))
            .collect();
        r = residence.iter().sum();
        x = f64::from(n) / (think + r);
        for (q, rk) in queue.iter_mut().zip(&residence) {
            *q = x * rk;
        }
    }
    (x, r)
}

/// GI/M/1 with Erlang-`k` interarrival times whose phases have rate `phase_rate` (what one of
/// `k` servers sees when a Poisson stream of rate `phase_rate` is dealt round robin): σ is
/// the root in (0, 1) of σ = A*(μ(1 − σ)), with A*(s) = (λ/(λ + s))^k; the sojourn time is
/// exponential with mean 1/(μ(1 − σ)).
fn ek_m1_sojourn(k: i32, phase_rate: f64, mu: f64) -> f64 {
    let mut sigma: f64 = 0.5;
    for _ in 0..100_000 {
        let next = (phase_rate / (phase_rate + mu * (1.0 - sigma))).powi(k);
        let done = (next - sigma).abs() < 1e-15;
        sigma = next;
        if done {
            break;
        }
    }
    1.0 / (mu * (1.0 - sigma))
}

#[test]
fn closed_forms_agree_with_hand_values() {
    // Erlang C for c = 4, a = 3.2 (worked by hand: 21.845 / 36.627).
    assert!((erlang_c(4, 3.2) - 0.596_42).abs() < 1e-4);
    // c = 1 reduces to M/M/1: P(wait) = ρ.
    assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
    // M/M/2/5 at a = 2: weights 1, 2, 2, 2, 2, 2, so p_0 = 1/11 and p_1..p_5 = 2/11.
    let p = mmck_distribution(2, 5, 2.0);
    assert!((p[0] - 1.0 / 11.0).abs() < 1e-12, "{p:?}");
    assert!(
        p[1..].iter().all(|x| (x - 2.0 / 11.0).abs() < 1e-12),
        "{p:?}"
    );
    // MVA with one user: no queueing, R = ΣD.
    let (x, r) = mva(1, 0.010, &[0.001, 0.0005]);
    assert!((r - 0.0015).abs() < 1e-15 && (x - 1.0 / 0.0115).abs() < 1e-9);
    // E_1/M/1 is M/M/1.
    assert!((ek_m1_sojourn(1, 800.0, 1000.0) - 0.005).abs() < 1e-12);
}

// ---- 1. M/M/1 ---------------------------------------------------------------------------

/// M/M/1 with μ = 1000/s: mean sojourn 1/(μ−λ); the sojourn time is exponential, so its p99
/// is ln(100)/(μ−λ); utilisation ρ.
fn mm1(rate: u32, measured_s: u64, seed: u64, max_rel_hw95_p99: f64) {
    let case = format!("M/M/1, rho = {:.1}", f64::from(rate) / 1000.0);
    let reports = replicate(
        &format!(
            "
workloads: [ {{ name: clients, target: server, rate: {rate}/s, request: job }} ]
components:
  server: {{ kind: service, workers: 1, handlers: {{ job: {{ work: exp 1ms }} }} }}
"
        ),
        seed,
        measured_s,
    );
    let (lambda, mu) = (f64::from(rate), 1000.0);
    let sojourn = 1.0 / (mu - lambda);
    check(
        &case,
        "mean sojourn (s)",
        &each(&reports, |r| latency_mean(r, "job")),
        sojourn,
        0.02,
        0.0,
    );
    check(
        &case,
        "p99 sojourn (s)",
        &each(&reports, |r| latency_p99(r, "job")),
        100f64.ln() * sojourn,
        max_rel_hw95_p99,
        0.001,
    );
    check(
        &case,
        "utilisation",
        &each(&reports, |r| r.components.get("server")?.utilization),
        lambda / mu,
        0.02,
        0.0,
    );
}

#[test]
fn mm1_at_half_load() {
    // 50k requests per replication, 1M in all.
    mm1(500, 100, 100, 0.02);
}

#[test]
fn mm1_at_ninety_percent() {
    // At ρ = 0.9 successive sojourns are strongly correlated (relaxation time ~0.4 s here):
    // 720k requests per replication, 14.4M in all, give a 95% half-width near 1.3% of the
    // mean. The p99 is noisier still; it is allowed a 95% half-width of 3%.
    mm1(900, 800, 200, 0.03);
}

#[test]
fn mm1_client_deadline() {
    // M/M/1 at ρ = 0.8 (λ = 800/s, μ = 1000/s) whose clients give up after T = 5ms. The
    // server goes on with a request whose client has left, so the queue is still exactly
    // M/M/1 and its sojourn S is exponential with rate θ = μ − λ = 200/s:
    //   fraction timed out            P(S > T) = e^(−θT) = e^(−1) ≈ 0.368
    //   mean latency of the answered  E[S | S ≤ T] = 1/θ − T e^(−θT) / (1 − e^(−θT))
    let case = "M/M/1 with a 5ms client deadline, rho = 0.8";
    let reports = replicate(
        "
workloads: [ { name: clients, target: server, rate: 800/s, request: job, timeout: 5ms } ]
components:
  server: { kind: service, workers: 1, handlers: { job: { work: exp 1ms } } }
",
        250,
        200,
    );
    let (theta, deadline): (f64, f64) = (1000.0 - 800.0, 0.005);
    let late = (-theta * deadline).exp();
    check(
        case,
        "fraction timed out",
        &each(&reports, |r| {
            let t = r.requests.get("job")?;
            Some(*t.failed_by_cause.get("timeout")? as f64 / (t.ok + t.failed) as f64)
        }),
        late,
        0.02,
        0.0,
    );
    check(
        case,
        "mean latency of answered requests (s)",
        &each(&reports, |r| latency_mean(r, "job")),
        1.0 / theta - deadline * late / (1.0 - late),
        0.02,
        0.0,
    );
}

// ---- 2. M/M/c (Erlang C) ----------------------------------------------------------------

#[test]
fn mmc_erlang_c() {
    // c = 4 workers at μ = 250/s each, λ = 800/s: a = 3.2, ρ = 0.8.
    // W_q = C(4, 3.2)/(cμ − λ) ≈ 2.98ms; W = W_q + 1/μ ≈ 6.98ms; L_q = λ W_q.
    // The mean wait is measured as the time-average queue length over λ (Little's law).
    let case = "M/M/4, rho = 0.8";
    let reports = replicate(
        "
workloads: [ { name: clients, target: server, rate: 800/s, request: job } ]
components:
  server: { kind: service, workers: 4, handlers: { job: { work: exp 4ms } } }
",
        300,
        300,
    );
    let (c, lambda, mu) = (4, 800.0, 250.0);
    let wq = mmc_wait(c, lambda, mu);
    check(
        case,
        "mean sojourn (s)",
        &each(&reports, |r| latency_mean(r, "job")),
        wq + 1.0 / mu,
        0.02,
        0.0,
    );
    check(
        case,
        "mean wait in queue (s), L_q / lambda",
        &each(&reports, |r| {
            Some(r.components.get("server")?.queue_mean? / lambda)
        }),
        wq,
        0.02,
        0.0,
    );
    check(
        case,
        "utilisation",
        &each(&reports, |r| r.components.get("server")?.utilization),
        lambda / (f64::from(c) * mu),
        0.02,
        0.0,
    );
}

// ---- 3. M/M/c/K (blocking) --------------------------------------------------------------

#[test]
fn mmck_blocking() {
    // c = 2 workers at μ = 1000/s, 3 waiting places (K = 5 in all), λ = 2000/s: a = 2, so
    // p_0 = 1/11 and p_1..p_5 = 2/11: P_K = 2/11 ≈ 0.18. By PASTA the fraction of
    // arrivals rejected is P_K; throughput λ(1 − P_K); mean sojourn of the accepted
    // L / (λ(1 − P_K)) (Little).
    let case = "M/M/2/5, a = 2";
    let reports = replicate(
        "
workloads: [ { name: clients, target: server, rate: 2000/s, request: job } ]
components:
  server: { kind: service, workers: 2, queue: 3, handlers: { job: { work: exp 1ms } } }
",
        400,
        100,
    );
    let (c, k, lambda, mu) = (2, 5, 2000.0, 1000.0);
    let p = mmck_distribution(c, k, lambda / mu);
    let p_k = p[k as usize];
    let l: f64 = p.iter().enumerate().map(|(n, x)| n as f64 * x).sum();
    let accepted = lambda * (1.0 - p_k);
    check(
        case,
        "fraction rejected",
        &each(&reports, |r| {
            let t = r.requests.get("job")?;
            Some(*t.failed_by_cause.get("rejected")? as f64 / t.count as f64)
        }),
        p_k,
        0.02,
        0.0,
    );
    check(
        case,
        "throughput (/s)",
        &each(&reports, |r| Some(r.requests.get("job")?.throughput_per_s)),
        accepted,
        0.02,
        0.0,
    );
    check(
        case,
        "mean sojourn of accepted (s)",
        &each(&reports, |r| latency_mean(r, "job")),
        l / accepted,
        0.02,
        0.0,
    );
}

// ---- 4. M/D/1 (Pollaczek–Khinchine) -----------------------------------------------------

#[test]
fn md1_pollaczek_khinchine() {
    // Constant service 1ms, λ = 900/s, ρ = 0.9: W_q = ρ / (2μ(1 − ρ)) = 4.5ms, half the
    // M/M/1 wait. Every request's service is exactly 1ms, so each request's wait is its
    // sojourn minus 1ms, exactly.
    let case = "M/D/1, rho = 0.9";
    let reports = replicate(
        "
workloads: [ { name: clients, target: server, rate: 900/s, request: job } ]
components:
  server: { kind: service, workers: 1, handlers: { job: { work: 1ms } } }
",
        500,
        200,
    );
    let (lambda, mu) = (900.0, 1000.0);
    let rho = lambda / mu;
    check(
        case,
        "mean wait in queue (s)",
        &each(&reports, |r| Some(latency_mean(r, "job")? - 1.0 / mu)),
        rho / (2.0 * mu * (1.0 - rho)),
        0.02,
        0.0,
    );
}

#[test]
fn mg1_blocking_io_pollaczek_khinchine() {
    // A thread-per-request server (`io: blocking`, one worker) that works exp 0.5ms and then
    // calls an external API answering in exactly 0.5ms: the worker is held through the call,
    // so the service time is S = exp(0.5ms) + 0.5ms, and the server is an M/G/1 queue with
    // E[S] = 1ms, E[S²] = Var + E[S]² = 0.25 + 1 = 1.25 ms². At λ = 800/s (ρ = 0.8),
    // Pollaczek–Khinchine: W_q = λ E[S²] / (2(1 − ρ)) = 2.5ms, sojourn W_q + E[S] = 3.5ms.
    // (Were the worker released during the call, the server would be M/M/1 at ρ = 0.4 and
    // the sojourn 0.83ms + 0.5ms.)
    let case = "M/G/1 via blocking io, rho = 0.8";
    let reports = replicate(
        "
workloads: [ { name: clients, target: server, rate: 800/s, request: job } ]
components:
  server: { kind: service, io: blocking, workers: 1, handlers: { job: { work: exp 0.5ms, calls: [ { to: api } ] } } }
  api: { kind: external, latency: 0.5ms }
",
        550,
        200,
    );
    let (lambda, m, d) = (800.0, 0.0005, 0.0005);
    let (es, es2) = (m + d, m * m + (m + d) * (m + d));
    let rho = lambda * es;
    check(
        case,
        "mean sojourn (s)",
        &each(&reports, |r| latency_mean(r, "job")),
        lambda * es2 / (2.0 * (1.0 - rho)) + es,
        0.02,
        0.0,
    );
    check(
        case,
        "utilisation",
        &each(&reports, |r| r.components.get("server")?.utilization),
        rho,
        0.02,
        0.0,
    );
}

#[test]
fn mg1_two_request_types() {
    // One FCFS worker serving a mix of two request types, λ = 700/s: 75% `small` (exp 0.5ms)
    // and 25% `large` (exp 2.5ms). The service time is hyperexponential: E[S] = 1ms (ρ = 0.7),
    // E[S²] = 0.75 × 2 × 0.5² + 0.25 × 2 × 2.5² = 3.5 ms². Pollaczek–Khinchine:
    // W_q = λ E[S²] / (2(1 − ρ)) ≈ 4.08ms, the same for both types (FCFS, Poisson
    // arrivals), so each type's mean latency is W_q plus its own mean service.
    let case = "M/H2/1, two request types, rho = 0.7";
    let reports = replicate(
        "
workloads: [ { name: clients, target: server, rate: 700/s, mix: { small: 0.75, large: 0.25 } } ]
components:
  server:
    kind: service
    workers: 1
    handlers: { small: { work: exp 0.5ms }, large: { work: exp 2.5ms } }
",
        580,
        200,
    );
    let lambda = 700.0;
    let (p, m1, m2) = (0.75, 0.0005, 0.0025);
    let es = p * m1 + (1.0 - p) * m2;
    let es2 = p * 2.0 * m1 * m1 + (1.0 - p) * 2.0 * m2 * m2;
    let wq = lambda * es2 / (2.0 * (1.0 - lambda * es));
    check(
        case,
        "share of `small` requests",
        &each(&reports, |r| {
            let small = r.requests.get("small")?.count as f64;
            Some(small / (small + r.requests.get("large")?.count as f64))
        }),
        p,
        0.02,
        0.0,
    );
    check(
        case,
        "mean latency of `small` (s)",
        &each(&reports, |r| latency_mean(r, "small")),
        wq + m1,
        0.02,
        0.0,
    );
    check(
        case,
        "mean latency of `large` (s)",
        &each(&reports, |r| latency_mean(r, "large")),
        wq + m2,
        0.02,
        0.0,
    );
}

// ---- 5. Jackson tandem ------------------------------------------------------------------

#[test]
fn jackson_tandem() {
    // a → b → c, all `io: async` (a worker is released when its own work is done, before
    // its call), λ = 600/s. By Burke's theorem each station sees Poisson arrivals (a constant
    // link delay shifts a Poisson stream without changing it) and the sojourns add up:
    //   a: M/M/1, μ = 1000/s   → 1/(μ − λ) = 2.5ms
    //   b: M/M/2, μ = 400/s    → C(2, 1.5)/(2μ − λ) + 1/μ ≈ 5.71ms
    //   c: M/M/1, μ = 800/s    → 5ms
    // Every link (clients → a, a → b, b → c) takes a constant 0.25ms each way. A component's
    // response time runs from a request's arrival to its answer leaving, so it includes its
    // downstream calls and their links: c's is its own sojourn, b's is b + 2 links + c, and
    // the end-to-end latency adds the clients' link: a + b + c + 6 × 0.25ms.
    let case = "Jackson tandem a -> b -> c";
    let reports = replicate(
        "
workloads: [ { name: clients, target: a, rate: 600/s, request: job } ]
components:
  a: { kind: service, io: async, workers: 1, handlers: { job: { work: exp 1ms, calls: [ { to: b } ] } } }
  b: { kind: service, io: async, workers: 2, handlers: { job: { work: exp 2.5ms, calls: [ { to: c } ] } } }
  c: { kind: service, io: async, workers: 1, handlers: { job: { work: exp 1.25ms } } }
links: { default: { latency: 0.25ms } }
",
        600,
        200,
    );
    let (lambda, link) = (600.0, 0.000_25);
    let w_a = 1.0 / (1000.0 - lambda);
    let w_b = mmc_wait(2, lambda, 400.0) + 1.0 / 400.0;
    let w_c = 1.0 / (800.0 - lambda);
    check(
        case,
        "c response (s)",
        &each(&reports, |r| response_mean(r, "c")),
        w_c,
        0.02,
        0.0,
    );
    check(
        case,
        "b response, b + c + 2 links (s)",
        &each(&reports, |r| response_mean(r, "b")),
        w_b + w_c + 2.0 * link,
        0.02,
        0.0,
    );
    check(
        case,
        "end-to-end mean, a + b + c + 6 links (s)",
        &each(&reports, |r| latency_mean(r, "job")),
        w_a + w_b + w_c + 6.0 * link,
        0.02,
        0.0,
    );
}

// ---- 6. Closed network, exact MVA -------------------------------------------------------

#[test]
fn closed_network_mva() {
    // N = 10 users thinking exp 10ms, each request served by s1 (exp 1ms) then s2
    // (exp 0.5ms), single workers, `io: async` so that s1's worker is free while s2 serves:
    // a product-form network (two FCFS exponential stations and a delay station), solved
    // exactly by MVA. N = 10 sits just below the knee N* = (Z + ΣD)/D_max = 11.5, where
    // queueing is strongly non-linear in N.
    let case = "closed network, N = 10, Z = 10ms";
    let reports = replicate(
        "
workloads: [ { name: users, target: s1, users: 10, think: exp 10ms, request: job } ]
components:
  s1: { kind: service, io: async, workers: 1, handlers: { job: { work: exp 1ms, calls: [ { to: s2 } ] } } }
  s2: { kind: service, io: async, workers: 1, handlers: { job: { work: exp 0.5ms } } }
",
        700,
        200,
    );
    let demands = [0.001, 0.0005];
    let (x, resp) = mva(10, 0.010, &demands);
    check(
        case,
        "throughput X(N) (/s)",
        &each(&reports, |r| Some(r.requests.get("job")?.throughput_per_s)),
        x,
        0.02,
        0.0,
    );
    check(
        case,
        "response R(N) (s)",
        &each(&reports, |r| latency_mean(r, "job")),
        resp,
        0.02,
        0.0,
    );
    check(
        case,
        "s1 utilisation X D_1",
        &each(&reports, |r| r.components.get("s1")?.utilization),
        x * demands[0],
        0.02,
        0.0,
    );
}

// ---- 7. Load balancer over replicas -----------------------------------------------------

fn lb_model(policy: &str) -> String {
    format!(
        "
workloads: [ {{ name: clients, target: lb, rate: 3200/s, request: job }} ]
components:
  lb: {{ kind: load_balancer, policy: {policy}, backends: app }}
  app: {{ kind: service, replicas: 4, workers: 1, handlers: {{ job: {{ work: exp 1ms }} }} }}
"
    )
}

#[test]
fn lb_random_and_queue_aware_policies() {
    // λ = 3200/s split at random over 4 replicas of one worker at μ = 1000/s: each replica is
    // an M/M/1 queue at λ/4 = 800/s, ρ = 0.8, mean sojourn 1/(μ − λ/4) = 5ms.
    let case = "LB random over 4 x M/M/1, rho = 0.8";
    let random = replicate(&lb_model("random"), 800, 100);
    let w = 1.0 / (1000.0 - 3200.0 / 4.0);
    let r = check(
        case,
        "mean sojourn (s)",
        &each(&random, |r| latency_mean(r, "job")),
        w,
        0.02,
        0.0,
    );
    // least_connections sends each request to the replica with the fewest outstanding
    // requests: join-the-shortest-queue, which beats random splitting by a wide margin (for
    // identical exponential servers it is the optimal policy). No closed form; the check is
    // qualitative: the least_connections interval (99.9%) must lie wholly below the random
    // one, and below the round-robin figure of the next test (≈3.1ms).
    let lc_reports = replicate(&lb_model("least_connections"), 900, 100);
    let lc = estimate(&each(&lc_reports, |r| latency_mean(r, "job")));
    eprintln!(
        "theory | LB least_connections over 4 x M/M/1, rho = 0.8 | mean sojourn (s) | \
         measured {:.6} ± {:.6} (95%) | random {:.6} ± {:.6} (95%)",
        lc.mean, lc.hw95, r.mean, r.hw95
    );
    assert!(
        lc.mean + lc.hw999 < r.mean - r.hw999,
        "least_connections ({:.6} ± {:.6}) is not clearly better than random ({:.6} ± {:.6})",
        lc.mean,
        lc.hw999,
        r.mean,
        r.hw999
    );
    // power_of_two (the less loaded of two replicas drawn at random) must fall strictly
    // between the two, clear of both intervals.
    let p2_reports = replicate(&lb_model("power_of_two"), 950, 100);
    let p2 = estimate(&each(&p2_reports, |r| latency_mean(r, "job")));
    eprintln!(
        "theory | LB power_of_two over 4 x M/M/1, rho = 0.8 | mean sojourn (s) | \
         measured {:.6} ± {:.6} (95%)",
        p2.mean, p2.hw95
    );
    assert!(
        lc.mean + lc.hw999 < p2.mean - p2.hw999 && p2.mean + p2.hw999 < r.mean - r.hw999,
        "power_of_two ({:.6} ± {:.6}) is not between least_connections ({:.6} ± {:.6}) and \
         random ({:.6} ± {:.6})",
        p2.mean,
        p2.hw999,
        lc.mean,
        lc.hw999,
        r.mean,
        r.hw999
    );
    let rr = ek_m1_sojourn(4, 3200.0, 1000.0);
    assert!(
        lc.mean + lc.hw999 < rr,
        "least_connections ({:.6} ± {:.6}) is not better than round robin's theory {rr:.6}",
        lc.mean,
        lc.hw999
    );
}

#[test]
fn lb_round_robin_erlang_arrivals() {
    // Dealing a Poisson stream of 3200/s round robin over 4 replicas gives each replica
    // Erlang-4 interarrival times (mean 1.25ms): an E_4/M/1 queue, a GI/M/1 queue whose
    // sojourn time is exponential with mean 1/(μ(1 − σ)), σ = (λ/(λ + μ(1 − σ)))^4.
    let case = "LB round_robin over 4 x M/M/1 = E4/M/1, rho = 0.8";
    let reports = replicate(&lb_model("round_robin"), 1000, 100);
    let w = ek_m1_sojourn(4, 3200.0, 1000.0);
    check(
        case,
        "mean sojourn (s)",
        &each(&reports, |r| latency_mean(r, "job")),
        w,
        0.02,
        0.0,
    );
    check(
        case,
        "p99 sojourn (s)",
        &each(&reports, |r| latency_p99(r, "job")),
        100f64.ln() * w,
        0.02,
        0.001,
    );
}
