//! Caches against theory and against themselves: LRU under Zipf popularity against Che's
//! approximation, a fixed hit ratio within confidence, the miss storm after a restart,
//! single-flight coalescing bounding the load on the store, and writes — invalidated,
//! updated or written through — against the hit ratios and latencies they must give.
//!
//! The statistical checks follow theory.rs (R replications on consecutive fixed seeds,
//! agreement within the 99.9% half-width, a power rule on the 95% half-width); the others
//! are exact bounds, with the reasoning beside them.

use archsim::observe::Report;

use crate::support::{self, model, run, timed};
use crate::theory::{check, each};

const R: u32 = 20;

fn replicate(text: &str, seed: u64, warmup_s: u64, measured_s: u64) -> Vec<Report> {
    support::replicate(
        &model(text),
        timed(seed, warmup_s, warmup_s + measured_s),
        R,
    )
}

fn hit_ratio(r: &Report, cache: &str) -> Option<f64> {
    r.components.get(cache)?.cache.as_ref()?.hit_ratio
}

/// Che, Tung and Wang (2002): an LRU cache of `capacity` entries under independent
/// requests with popularities `p` keeps a key requested within the last T requests, where
/// the characteristic time T solves Σ (1 − e^(−p_i T)) = capacity; the hit ratio is then
/// Σ p_i (1 − e^(−p_i T)).
fn che_hit_ratio(keys: u32, zipf: f64, capacity: u32) -> f64 {
    let weights: Vec<f64> = (1..=keys).map(|i| f64::from(i).powf(-zipf)).collect();
    let total: f64 = weights.iter().sum();
    let p: Vec<f64> = weights.iter().map(|w| w / total).collect();
    let held = |t: f64| p.iter().map(|pi| 1.0 - (-pi * t).exp()).sum::<f64>();
    let (mut lo, mut hi) = (0.0, 1.0);
    while held(hi) < f64::from(capacity) {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if held(mid) < f64::from(capacity) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t = 0.5 * (lo + hi);
    p.iter().map(|pi| pi * (1.0 - (-pi * t).exp())).sum()
}

/// With no latency anywhere, a miss fills the cache at the instant of the request, so the
/// cache sees exactly the independent reference model that Che's approximation describes.
///
/// Tolerance: the 99.9% half-width of the mean over 20 replications, plus 0.5% of the value
/// for the approximation itself. Che's approximation is asymptotically exact as the cache
/// grows (Fricker, Robert and Roberts, 2012); at these three points a separate plain LRU
/// simulation (an ordered dictionary, 5 × 400,000 requests each) agreed with it within
/// −0.07%, +0.003% and −0.03%, each inside that simulation's own 95% interval of about
/// ±0.2%. 0.5% therefore covers the approximation's error with room, and is small next to
/// the effects a wrong LRU would have (evicting the wrong entry, or none, moves the hit
/// ratio by percents).
#[test]
fn lru_hit_ratio_under_zipf_matches_che_approximation() {
    // (keys, exponent, capacity, seed): a small cache of a small space, a heavy-tailed
    // popularity, and a space much larger than the cache.
    let points = [
        (1_000, 0.8, 100, 700),
        (10_000, 1.0, 1_000, 720),
        (50_000, 0.9, 2_000, 740),
    ];
    for (keys, zipf, capacity, seed) in points {
        let text = format!(
            "workloads: [ {{ name: users, target: cache, rate: 10000/s, request: get }} ]\n\
             components:\n\
             \x20 cache: {{ kind: cache, latency: 0, keys: {keys}, zipf: {zipf}, capacity: {capacity}, on_miss: {{ to: store }} }}\n\
             \x20 store: {{ kind: external, latency: 0 }}\n"
        );
        // Warm-up: 30,000 requests, at least nine characteristic times (T is 134, 2,352
        // and 3,221 requests at these points), so the empty start leaves no trace.
        let reports = replicate(&text, seed, 3, 12);
        let theory = che_hit_ratio(keys, zipf, capacity);
        let case = format!("LRU keys {keys}, zipf {zipf}, capacity {capacity}");
        check(
            &case,
            "hit ratio (Che)",
            &each(&reports, |r| hit_ratio(r, "cache")),
            theory,
            0.01,
            0.005,
        );
    }
}

#[test]
fn fixed_hit_ratio_is_met_and_every_miss_reads_the_store() {
    let text = "workloads: [ { name: users, target: app, rate: 2000/s, request: get } ]\n\
                components:\n\
                \x20 app: { kind: service, workers: 100, handlers: { get: { calls: [ { to: cache } ] } } }\n\
                \x20 cache: { kind: cache, latency: 0, hit_ratio: 80%, on_miss: { to: store } }\n\
                \x20 store: { kind: external, latency: 0 }\n";
    let reports = replicate(text, 760, 1, 20);
    check(
        "fixed hit ratio 80%",
        "hit ratio",
        &each(&reports, |r| hit_ratio(r, "cache")),
        0.8,
        0.01,
        0.0,
    );
    for r in &reports {
        let misses = r.components["cache"].cache.as_ref().map_or(0, |c| c.misses);
        // Nothing takes time, so no miss straddles the end of the warm-up or of the run.
        assert_eq!(
            r.components["store"].arrivals, misses,
            "seed {}: cache-aside reads the store once per miss",
            r.seed
        );
    }
}

/// Cache-aside in front of a database: the cache crashes at 20s for 2s. While it is down
/// every lookup falls through to the database; it comes back empty, so the misses go on
/// until the hot keys are back. The database's series shows the storm and the cache's hit
/// ratio series shows the cold start.
const STORM: &str = "
duration: 40s
series_buckets: 40
workloads: [ { name: users, target: app, rate: 2000/s, request: get } ]
components:
  app: { kind: service, workers: 200, handlers: { get: { calls: [ { to: cache } ] } } }
  cache: { kind: cache, latency: 200us, keys: 100000, zipf: 1.0, capacity: 10000, on_miss: { to: db } }
  db: { kind: service, workers: 8, handlers: { get: { work: exp 2ms } } }
faults:
  - { at: 20s, for: 2s, crash: cache }
";

#[test]
fn a_restarted_cache_is_cold_and_the_database_sees_the_miss_storm() {
    let r = run(STORM, 780);
    let db = &r.series.components["db"].throughput_per_s;
    let hits = r.series.components["cache"]
        .hit_ratio
        .as_ref()
        .expect("a cache has a hit ratio series");
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // Buckets of 1s: 10s to 20s is the steady state (the cache warmed for 10s).
    let steady_db = mean(&db[10..20]);
    let steady_hits = mean(
        &hits[10..20]
            .iter()
            .map(|h| h.unwrap_or(0.0))
            .collect::<Vec<_>>(),
    );
    assert!(
        steady_hits > 0.6,
        "seed 780: the warm cache should hit most lookups, hit {steady_hits:.3}"
    );
    // Down: every lookup is a miss, and the whole load reaches the database (up to its
    // capacity of 8 workers / 2ms = 4000/s, above the 2000/s offered).
    for (k, h) in hits.iter().enumerate().take(22).skip(20) {
        assert_eq!(*h, Some(0.0), "seed 780: bucket {k}: the cache is down");
        assert!(
            db[k] > 0.95 * 2000.0,
            "seed 780: bucket {k}: the database should take the whole load, took {:.0}/s",
            db[k]
        );
    }
    // Back, but empty: the first second after the restart misses far more than the steady
    // state did, and the database's load stays above its steady level.
    let cold = hits[22].expect("lookups in the bucket after the restart");
    assert!(
        cold < steady_hits - 0.1,
        "seed 780: the restarted cache should be cold: {cold:.3} against {steady_hits:.3}"
    );
    assert!(
        db[22] > 1.3 * steady_db,
        "seed 780: no miss storm: {:.0}/s after the restart, {steady_db:.0}/s before",
        db[22]
    );
    // And it warms again: the last five seconds are back near the steady state.
    let late = mean(
        &hits[35..40]
            .iter()
            .map(|h| h.unwrap_or(0.0))
            .collect::<Vec<_>>(),
    );
    assert!(
        (late - steady_hits).abs() < 0.03,
        "seed 780: the cache should warm up again: {late:.3} against {steady_hits:.3}"
    );
}

/// Hot keys that expire with a slow store: without coalescing, every request for a key in
/// the 100ms while it is being fetched reads the store too (a stampede). With single flight,
/// a key is fetched at most once per `ttl + 100ms` — after a fill its entry lives `ttl`, and
/// the next fetch takes 100ms — so the store sees at most keys / (ttl + 100ms) =
/// 100 / 1.1s ≈ 91 reads a second, whatever the request rate. Without it, the same requests
/// break that bound many times over.
#[test]
fn coalescing_bounds_the_store_reads_that_a_stampede_multiplies() {
    let text = |coalesce: bool| {
        format!(
            "duration: 20s\nwarmup: 2s\n\
             workloads: [ {{ name: users, target: cache, rate: 5000/s, request: get }} ]\n\
             components:\n\
             \x20 cache: {{ kind: cache, latency: 0, keys: 100, zipf: 1.0, ttl: 1s, coalesce: {coalesce}, on_miss: {{ to: store }} }}\n\
             \x20 store: {{ kind: external, latency: 100ms }}\n"
        )
    };
    let window_s = 18.0;
    let plain = run(&text(false), 800);
    let single = run(&text(true), 800);
    let reads = |r: &Report| r.components["store"].arrivals as f64 / window_s;
    let bound = 100.0 / 1.1;
    let c = single.components["cache"].cache.as_ref().expect("a cache");
    assert!(c.coalesced > 0, "seed 800: nothing was coalesced");
    assert!(
        reads(&single) <= bound,
        "seed 800: with single flight the store reads {:.0}/s, above the bound {bound:.0}/s",
        reads(&single)
    );
    assert!(
        reads(&plain) > 4.0 * bound,
        "seed 800: no stampede without coalescing: {:.0}/s, the single-flight bound is \
         {bound:.0}/s",
        reads(&plain)
    );
    // Every miss either read the store or waited for a read of its key. Nothing but the
    // store takes time, so a miss and its read happen at the same instant, on the same side
    // of the warm-up.
    assert_eq!(
        c.misses - c.coalesced,
        single.components["store"].arrivals,
        "seed 800: misses that led a fetch against the store's reads"
    );
}

fn cache_figures(r: &Report, cache: &str) -> archsim::observe::CacheReport {
    r.components[cache]
        .cache
        .clone()
        .unwrap_or_else(|| panic!("`{cache}` has no cache figures"))
}

/// Writers write every key of a small key space first; readers start once they have
/// stopped. Nothing is random but the keys drawn and the arrival times, and every latency
/// is a constant, so each figure below is exact.
fn writes_then_reads(cache: &str) -> String {
    format!(
        "duration: 12s\nwarmup: 0s\n\
         workloads:\n\
         \x20 - {{ name: writers, target: cache, request: write, rate: [ {{ at: 0s, rate: 2000/s }}, {{ at: 5s, rate: 0/s }} ] }}\n\
         \x20 - {{ name: readers, target: cache, request: read, rate: [ {{ at: 6s, rate: 2000/s }} ] }}\n\
         components:\n\
         \x20 cache: {{ kind: cache, latency: 1ms, keys: 200, writes: [write], on_miss: {{ to: store }}, {cache} }}\n\
         \x20 store: {{ kind: external, latency: 4ms }}\n\
         links:\n\
         \x20 overrides: [ {{ between: [cache, store], latency: 2ms }} ]\n"
    )
}

/// Write-through: the cache passes each write to the store over its own link and installs
/// the key when the store has it, so a later read of any written key hits. 10,000 writes
/// over 200 keys leave a given key unwritten with probability (1 − 1/200)^10000 ≈ e^−50:
/// every key is written, and then every read hits — exactly, not on average.
#[test]
fn write_through_installs_every_written_key_and_writes_take_the_stores_time() {
    let r = run(&writes_then_reads("mode: write_through"), 820);
    let c = cache_figures(&r, "cache");
    let (writes, reads) = (&r.requests["write"], &r.requests["read"]);
    assert!(
        writes.count > 9_000 && reads.count > 9_000,
        "seed 820: too few requests"
    );
    assert_eq!(writes.ok, writes.count, "seed 820: every write is answered");
    assert_eq!(
        c.writes, writes.count,
        "seed 820: every write reached the cache"
    );
    assert_eq!(
        c.updates, c.writes,
        "seed 820: every write installed its key"
    );
    assert_eq!(c.invalidations, 0);
    assert_eq!(c.misses, 0, "seed 820: a read missed a written key");
    assert_eq!(c.hits, reads.ok, "seed 820: every answered read was a hit");
    // The store saw the writes, with their own type, and nothing else.
    assert_eq!(r.components["store"].arrivals, c.writes);
    // A write: the lookup (1ms), the link to the store (2ms), the store (4ms) and back
    // (2ms); links to the clients take no time. A read: the lookup only.
    let ms = |v: Option<f64>| v.expect("answered requests") * 1e3;
    assert!((ms(writes.latency_s.mean) - 9.0).abs() < 1e-9);
    assert!((ms(writes.latency_s.max) - 9.0).abs() < 1e-9);
    assert!((ms(reads.latency_s.max) - 1.0).abs() < 1e-9);
    // The cache's own response time covers the store's part of a write too.
    let share = writes.ok as f64 / (writes.ok + reads.ok) as f64;
    assert!((ms(r.components["cache"].response_s.mean) - (1.0 + 8.0 * share)).abs() < 1e-6);
}

/// The same writes, then reads, against the other write policies. Invalidating leaves
/// every key out of the cache, so the first read of each of the 200 keys reads the store
/// (12,000 reads leave a key unread with probability e^−60), and nothing after it does:
/// other reads of the key during that read wait for it (single flight), so they are
/// `coalesced` misses, not reads of the store. Updating installs every key, as
/// write-through does, but the cache writes nothing to the store: with cache-aside its
/// callers do that themselves.
#[test]
fn invalidating_writes_leave_one_miss_per_key_and_updates_none() {
    for (policy, fetches) in [
        ("mode: read_through", 200),
        ("mode: cache_aside", 200),
        ("mode: read_through, on_write: update", 0),
        ("on_write: update", 0),
    ] {
        let r = run(
            &writes_then_reads(&format!("{policy}, coalesce: true")),
            840,
        );
        let c = cache_figures(&r, "cache");
        let writes = &r.requests["write"];
        assert_eq!(c.writes, writes.count, "{policy}");
        assert_eq!(
            c.misses - c.coalesced,
            fetches,
            "seed 840, {policy}: misses that read the store"
        );
        assert_eq!(
            r.components["store"].arrivals, fetches,
            "seed 840, {policy}: the store reads only the misses"
        );
        let updating = policy.contains("update");
        assert_eq!(c.updates, if updating { c.writes } else { 0 }, "{policy}");
        // A write is answered after the lookup alone.
        assert!(
            (writes.latency_s.max.expect("answered writes") - 0.001).abs() < 1e-12,
            "{policy}"
        );
        if !updating {
            // The first write of a key finds nothing to remove; those after it find
            // nothing either, since only reads fill the cache and none came yet.
            assert_eq!(c.invalidations, 0, "{policy}");
        }
    }
}

/// A write the store refuses changes nothing in a write-through cache: with a store that
/// fails half its requests, the entries installed are exactly the writes answered ok.
#[test]
fn a_failed_write_through_write_installs_nothing() {
    let text = writes_then_reads("mode: write_through")
        .replace("latency: 4ms }", "latency: 4ms, errors: 50% }");
    let r = run(&text, 860);
    let c = cache_figures(&r, "cache");
    let writes = &r.requests["write"];
    assert!(
        writes.failed_by_cause["error"] > 4_000,
        "seed 860: {writes:?}"
    );
    assert_eq!(
        c.updates, writes.ok,
        "seed 860: installed only what the store took"
    );
    assert_eq!(c.writes, writes.count);
}

/// Uniform keys over a cache that holds them all, reads with probability r = 0.8, no
/// latency anywhere (so a miss fills at the instant of the read). Keys and types are drawn
/// independently, so the access before a read of key k is a read with probability r.
/// - Invalidate: a read hits exactly when that previous access was a read (a read leaves
///   the key in, a write takes it out), so the steady-state hit ratio is r.
/// - Update: every access leaves the key in, so a read hits once its key has been touched
///   at all. A 2s warm-up is 4,000 accesses over 100 keys: a key is still untouched after
///   it with probability e^−40, so every read in the window hits, exactly.
///
/// Both hold for either mode; the invalidate figure is checked by the rule of theory.rs
/// (20 replications, agreement within the 99.9% half-width, 95% half-width below 1%) with
/// no allowance for approximation, since the theory is exact.
#[test]
fn updating_writes_keep_every_key_while_invalidating_ones_hit_the_read_ratio() {
    let r = 0.8;
    for (mode, seed) in [("cache_aside", 880), ("read_through", 900)] {
        let text = |on_write: &str| {
            format!(
                "workloads: [ {{ name: users, target: cache, rate: 2000/s, mix: {{ read: {r}, write: {w:.1} }} }} ]\n\
                 components:\n\
                 \x20 cache: {{ kind: cache, mode: {mode}, latency: 0, keys: 100, writes: [write], on_write: {on_write}, on_miss: {{ to: store }} }}\n\
                 \x20 store: {{ kind: external, latency: 0 }}\n",
                w = 1.0 - r
            )
        };
        let invalidate = replicate(&text("invalidate"), seed, 2, 10);
        let e = check(
            &format!("{mode}, on_write: invalidate, uniform keys, r = {r}"),
            "hit ratio",
            &each(&invalidate, |x| hit_ratio(x, "cache")),
            r,
            0.01,
            0.0,
        );
        let update = replicate(&text("update"), seed, 2, 10);
        for u in &update {
            let c = cache_figures(u, "cache");
            assert!(c.hits > 10_000, "seed {}: {c:?}", u.seed);
            assert_eq!(
                c.misses, 0,
                "seed {}, {mode}: an updated key missed",
                u.seed
            );
            assert_eq!(c.updates, c.writes, "seed {}", u.seed);
        }
        assert!(e.mean < 1.0);
    }
}

/// A cache-aside cache that is down for the whole run: its callers' lookups are refused
/// at once and they read the store themselves; its writes are over at once too, and never
/// reach the store (which has no handler for them: the graph check must not ask for one).
/// Every latency is a constant, so the figures are exact.
#[test]
fn a_down_cache_aside_cache_answers_writes_at_once() {
    let text = |faults: &str| {
        format!(
            "duration: 10s\nwarmup: 0s\n\
             workloads: [ {{ name: users, target: app, rate: 500/s, mix: {{ read: 0.8, write: 0.2 }} }} ]\n\
             components:\n\
             \x20 app: {{ kind: service, workers: 100, handlers: {{ read: {{ calls: [ {{ to: cache }} ] }}, write: {{ calls: [ {{ to: primary }}, {{ to: cache }} ] }} }} }}\n\
             \x20 cache: {{ kind: cache, latency: 1ms, keys: 100, writes: [write], on_miss: {{ to: replica }} }}\n\
             \x20 primary: {{ kind: external, latency: 4ms }}\n\
             \x20 replica: {{ kind: service, workers: 100, handlers: {{ read: {{ work: 3ms }} }} }}\n\
             {faults}"
        )
    };
    let down = run(&text("faults: [ { at: 0s, crash: cache } ]\n"), 920);
    let up = run(&text(""), 920);
    let ms = |r: &Report, t: &str| r.requests[t].latency_s.max.expect("answered") * 1e3;
    // Down: a write is the primary's 4ms and nothing more; a read is the replica's 3ms.
    assert!(
        (ms(&down, "write") - 4.0).abs() < 1e-9,
        "{}",
        ms(&down, "write")
    );
    assert!(
        (ms(&down, "read") - 3.0).abs() < 1e-9,
        "{}",
        ms(&down, "read")
    );
    // Up: the write adds the lookup; a read is a hit (1ms) or a miss (1ms + 3ms).
    assert!(
        (ms(&up, "write") - 5.0).abs() < 1e-9,
        "{}",
        ms(&up, "write")
    );
    assert!((ms(&up, "read") - 4.0).abs() < 1e-9, "{}", ms(&up, "read"));
    let c = cache_figures(&down, "cache");
    let (reads, writes) = (&down.requests["read"], &down.requests["write"]);
    assert_eq!((c.hits, c.updates, c.invalidations), (0, 0, 0));
    assert_eq!(
        down.totals.failed, 0,
        "seed 920: nothing fails while the cache is down"
    );
    // Each read reaches the replica once, and no write ever does; requests still in
    // flight at the end may or may not have.
    let replica = down.components["replica"].arrivals;
    assert!(
        replica >= reads.ok && replica <= reads.count,
        "seed 920: the replica saw {replica} requests for {} reads",
        reads.count
    );
    assert!(c.writes >= writes.ok && c.writes <= writes.count);
    assert!(c.misses >= reads.ok && c.misses <= reads.count);
}
