//! The report of one run: the JSON that `archsim run --json` prints, and its text table.
//!
//! Units are in the key names (`_s`, `_per_s`). Maps are `BTreeMap`s so that the output is
//! sorted and byte-identical for the same model and seed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub model: Option<String>,
    pub seed: u64,
    pub duration_s: f64,
    pub warmup_s: f64,
    /// Over the whole run, warm-up included: these always add up.
    pub totals: Totals,
    /// Requests that started after the warm-up, by type.
    pub requests: BTreeMap<String, RequestReport>,
    pub components: BTreeMap<String, ComponentReport>,
    pub series: SeriesReport,
    /// Faults, failovers and other moments worth a marker, in time order: the first
    /// `observe::MAX_LOG` of them.
    pub events: Vec<LogEntry>,
    /// Events beyond those kept, counted only.
    #[serde(skip_serializing_if = "is_zero")]
    pub events_not_kept: u64,
    /// For each fault that ended: how long until requests failed no more than before it.
    pub recoveries: Vec<Recovery>,
    /// Simulation events processed: the engine's unit of work.
    pub sim_events: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub generated: u64,
    /// Answered in full.
    pub ok: u64,
    /// Answered, with some part from a fallback.
    pub ok_degraded: u64,
    pub failed: u64,
    pub in_flight: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestReport {
    pub count: u64,
    pub ok: u64,
    pub ok_degraded: u64,
    pub failed: u64,
    pub in_flight: u64,
    pub failed_by_cause: BTreeMap<String, u64>,
    /// Answered requests (full or degraded) per second of the measured window.
    pub throughput_per_s: f64,
    /// End-to-end latency of answered requests (full or degraded).
    pub latency_s: LatencySummary,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LatencySummary {
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ComponentReport {
    pub kind: String,
    pub replicas: u32,
    /// Tasks finished per second (served or failed after being accepted).
    pub throughput_per_s: f64,
    /// Requests and call attempts that reached it, retries included: divided by the
    /// requests sent, this is the retry amplification at this layer.
    pub arrivals: u64,
    /// Retries this component sent for its own calls.
    pub retries_sent: u64,
    /// Answers it produced after their caller had stopped waiting (a call timeout or the
    /// client's deadline): wasted work.
    pub abandoned: u64,
    /// Calls this component's open circuit breakers refused at once.
    pub short_circuited: u64,
    /// Calls of this component that failed for good and were served by a fallback.
    pub fallbacks: u64,
    /// Hedged copies this component sent: the extra load hedging costs.
    pub hedges_sent: u64,
    /// Calls of this component refused at once by a full bulkhead (`concurrency`).
    pub bulkhead_rejected: u64,
    /// Busy workers over available workers; services only.
    pub utilization: Option<f64>,
    /// Mean number of requests waiting (all replicas together); services only.
    pub queue_mean: Option<f64>,
    pub queue_max: Option<u32>,
    pub rejected: u64,
    /// From arrival at the component to its answer: waiting, work and its own calls.
    pub response_s: ResponseSummary,
    /// Caches only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheReport>,
    /// Message queues only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueReport>,
    /// Databases only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseReport>,
}

/// What a database did over the whole run, warm-up included (like a queue's figures: lost
/// writes and failovers are events, not rates).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DatabaseReport {
    pub primaries: u32,
    pub replicas: u32,
    /// `async`, `semi_sync (k acks)` or `sync`.
    pub replication: String,
    /// Reads served (their work done), on any node.
    pub reads: u64,
    /// Writes committed.
    pub writes: u64,
    /// Reads served by a node that had not applied the latest acknowledged write to the row.
    pub stale_reads: u64,
    /// `stale_reads / reads`; `null` without reads.
    pub stale_read_ratio: Option<f64>,
    /// Multi-primary: writes to a row whose previous write, made on another primary, had
    /// not reached this one yet. Last writer wins: one of the two versions is overwritten.
    pub conflicts: u64,
    /// Acknowledged writes the promoted replica never received, all failovers together.
    pub lost_writes: u64,
    pub failovers: Vec<FailoverReport>,
    /// Every node (primaries first), at the end of the run.
    pub nodes: Vec<DatabaseNode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupReport>,
}

/// One primary crash and what followed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FailoverReport {
    /// The node that went down (`db[0]`).
    pub primary: String,
    pub down_s: f64,
    /// When the heartbeat timeout ran out; `null` if it did not before the primary came back.
    pub detected_s: Option<f64>,
    /// The replica promoted, and when it took writes.
    pub promoted: Option<String>,
    pub promoted_s: Option<f64>,
    /// From the crash to the first moment writes were taken again (recovery time); `null`
    /// while still unavailable at the end.
    pub writes_unavailable_s: Option<f64>,
    /// Acknowledged writes lost in this failover.
    pub lost_writes: u64,
    /// From the commit of the first lost acknowledged write to the crash; `null` when none
    /// was lost.
    pub data_loss_window_s: Option<f64>,
    /// `replica promoted`, `primary back before promotion`, or `under way at the end`.
    pub outcome: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DatabaseNode {
    /// `db[1]`: the replica index faults and `random` name.
    pub node: String,
    /// `primary` (takes writes) or `replica`, at the end.
    pub role: String,
    pub up: bool,
    /// Age of the oldest committed write the node had not applied at the end.
    pub lag_s: f64,
    /// The largest lag seen at the end of a time bucket (or at the end).
    pub lag_max_s: f64,
    /// Committed writes it had not applied at the end.
    pub behind: u64,
}

/// What restoring from backups would give back.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BackupReport {
    pub full_every_s: Option<f64>,
    pub log_shipping_s: Option<f64>,
    /// The latest point a restore could return to, at the end.
    pub latest_restore_point_s: f64,
    /// Writes committed after that point: lost if the database were restored now.
    pub writes_at_risk: u64,
    /// The most writes ever at risk at once during the run.
    pub max_writes_at_risk: u64,
}

/// What a message queue did over the whole run, warm-up included, and what it held at the
/// end: `enqueued = acked + dead_lettered + lost + backlog + unacked`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueReport {
    /// Messages the broker accepted (rejected ones are in the component's `rejected`).
    pub enqueued: u64,
    /// Deliveries to consumers, first ones and repeated ones.
    pub delivered: u64,
    /// Deliveries of a message delivered before: after a consumer failed it, crashed with
    /// it, or held it past the visibility timeout.
    pub redelivered: u64,
    /// Messages acknowledged: a consumer finished the current delivery successfully.
    pub acked: u64,
    /// Successful processings of a message beyond its first: at-least-once delivery's cost.
    pub duplicates: u64,
    /// Messages given up after `max_deliveries` deliveries.
    pub dead_lettered: u64,
    /// Messages a non-durable queue lost in a crash, waiting or delivered.
    pub lost: u64,
    /// Messages processed (for the first time) before a message they `depend` on had been.
    pub causal_violations: u64,
    /// Messages waiting at the end.
    pub backlog: u64,
    /// Messages delivered and not acknowledged at the end.
    pub unacked: u64,
}

/// What a cache did in the window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CacheReport {
    /// Lookups (not writes) that found their key.
    pub hits: u64,
    /// Lookups that did not, the coalesced ones included; while a cache-aside cache is
    /// down, every lookup is a miss.
    pub misses: u64,
    /// hits / (hits + misses); `null` without lookups.
    pub hit_ratio: Option<f64>,
    /// Misses that waited for a fetch of the same key already under way instead of reading
    /// the store.
    pub coalesced: u64,
    /// Entries pushed out of a full cache.
    pub evictions: u64,
    /// Entries removed by writes.
    pub invalidations: u64,
    /// Writes that reached the cache, whatever they did to it.
    pub writes: u64,
    /// Entries installed by writes (`on_write: update`, or a write-through write the store
    /// accepted).
    pub updates: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ResponseSummary {
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SeriesReport {
    pub bucket_s: f64,
    /// Start of each bucket.
    pub t_s: Vec<f64>,
    /// Answered requests (full or degraded) per second.
    pub throughput_per_s: Vec<f64>,
    /// The degraded share of `throughput_per_s`.
    pub degraded_per_s: Vec<f64>,
    pub failed_per_s: Vec<f64>,
    /// Only the causes that occurred.
    pub failed_by_cause: BTreeMap<String, Vec<f64>>,
    pub latency_p50_s: Vec<Option<f64>>,
    pub latency_p99_s: Vec<Option<f64>>,
    pub components: BTreeMap<String, ComponentSeries>,
    /// Per request type (user flow): how it fared bucket by bucket.
    pub requests: BTreeMap<String, RequestSeries>,
    /// Per circuit breaker (`caller → callee`): `closed`, `open` or `half_open` at the end
    /// of each bucket.
    pub breakers: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestSeries {
    /// Answered (in full or degraded) per second.
    pub answered_per_s: Vec<f64>,
    pub failed_per_s: Vec<f64>,
    /// Answered over ended in the bucket; `null` when none ended.
    pub availability: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ComponentSeries {
    pub throughput_per_s: Vec<f64>,
    /// Ready replicas at the end of each bucket (1 for balancers and externals).
    pub replicas: Vec<u32>,
    pub utilization: Vec<Option<f64>>,
    pub queue_mean: Vec<Option<f64>>,
    /// Caches only: hits over lookups in each bucket (`null` for a bucket without any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hit_ratio: Option<Vec<Option<f64>>>,
    /// Databases only: per node, its replication lag at the end of each bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_lag_s: Option<BTreeMap<String, Vec<f64>>>,
    /// Message queues only: messages waiting at the end of each bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog: Option<Vec<u64>>,
    /// Message queues only: how long the message at the head of the backlog had been in the
    /// queue at the end of each bucket; `null` when nothing waited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog_age_s: Option<Vec<Option<f64>>>,
}

/// The time from a fault's end to the first time bucket whose share of failed requests is
/// back within one percentage point of the share before the first fault.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Recovery {
    /// The event that ended the fault (`restart db`, ...).
    pub after: String,
    pub ended_s: f64,
    /// Start of the first bucket back to normal; `null` if none before the end of the run.
    pub recovered_s: Option<f64>,
    pub time_to_recover_s: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LogEntry {
    pub t_s: f64,
    pub kind: String,
    pub message: String,
}

impl Report {
    /// JSON with every figure: byte-identical for equal runs.
    ///
    /// # Panics
    /// Never: every field serialises.
    #[must_use]
    pub fn to_json(&self) -> String {
        #[expect(
            clippy::expect_used,
            reason = "plain data with string keys always serialises"
        )]
        serde_json::to_string_pretty(self).expect("report serialises")
    }

    /// The readable summary `archsim run` prints.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let title = self.model.as_deref().unwrap_or("model");
        let _ = writeln!(
            out,
            "{title} — {} simulated (warm-up {}), seed {}, {} events",
            secs(self.duration_s),
            secs(self.warmup_s),
            self.seed,
            self.sim_events,
        );
        let t = &self.totals;
        let _ = writeln!(
            out,
            "requests: {} generated, {} ok, {} ok degraded, {} failed, {} in flight\n",
            t.generated, t.ok, t.ok_degraded, t.failed, t.in_flight
        );

        let mut rows = vec![vec![
            "request".to_string(),
            "count".into(),
            "ok/s".into(),
            "failed".into(),
            "mean".into(),
            "p50".into(),
            "p90".into(),
            "p99".into(),
            "p99.9".into(),
            "max".into(),
        ]];
        for (name, r) in &self.requests {
            let causes: Vec<String> = r
                .failed_by_cause
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(c, n)| format!("{n} {c}"))
                .collect();
            let failed = if causes.is_empty() {
                "0".to_string()
            } else {
                causes.join(", ")
            };
            let l = &r.latency_s;
            rows.push(vec![
                name.clone(),
                r.count.to_string(),
                format!("{:.1}", r.throughput_per_s),
                failed,
                dur(l.mean),
                dur(l.p50),
                dur(l.p90),
                dur(l.p99),
                dur(l.p999),
                dur(l.max),
            ]);
        }
        table(&mut out, &rows);
        out.push('\n');

        // Retry and waste columns only when something retried or was abandoned.
        let resilience = self.components.values().any(|c| {
            c.retries_sent > 0
                || c.abandoned > 0
                || c.short_circuited > 0
                || c.hedges_sent > 0
                || c.fallbacks > 0
                || c.bulkhead_rejected > 0
        });
        let mut header = vec![
            "component".to_string(),
            "kind".into(),
            "done/s".into(),
            "util".into(),
            "queue".into(),
            "max q".into(),
            "rejected".into(),
            "resp mean".into(),
            "resp p99".into(),
        ];
        if resilience {
            header.extend([
                "arrivals".into(),
                "retries".into(),
                "abandoned".into(),
                "refused".into(),
                "hedges".into(),
                "fallbacks".into(),
                "bulkhead".into(),
            ]);
        }
        let mut rows = vec![header];
        for (name, c) in &self.components {
            let mut row = vec![
                if c.replicas > 1 {
                    format!("{name} ×{}", c.replicas)
                } else {
                    name.clone()
                },
                c.kind.clone(),
                format!("{:.1}", c.throughput_per_s),
                c.utilization
                    .map_or("-".into(), |u| format!("{:.1}%", u * 100.0)),
                c.queue_mean.map_or("-".into(), |q| format!("{q:.2}")),
                c.queue_max.map_or("-".into(), |q| q.to_string()),
                c.rejected.to_string(),
                dur(c.response_s.mean),
                dur(c.response_s.p99),
            ];
            if resilience {
                row.extend([
                    c.arrivals.to_string(),
                    c.retries_sent.to_string(),
                    c.abandoned.to_string(),
                    c.short_circuited.to_string(),
                    c.hedges_sent.to_string(),
                    c.fallbacks.to_string(),
                    c.bulkhead_rejected.to_string(),
                ]);
            }
            rows.push(row);
        }
        table(&mut out, &rows);
        let caches: Vec<(&String, &CacheReport)> = self
            .components
            .iter()
            .filter_map(|(name, c)| c.cache.as_ref().map(|k| (name, k)))
            .collect();
        if !caches.is_empty() {
            out.push('\n');
            let mut rows = vec![vec![
                "cache".to_string(),
                "hits".into(),
                "misses".into(),
                "hit ratio".into(),
                "coalesced".into(),
                "evictions".into(),
                "invalidations".into(),
                "writes".into(),
                "updates".into(),
            ]];
            for (name, k) in caches {
                rows.push(vec![
                    name.clone(),
                    k.hits.to_string(),
                    k.misses.to_string(),
                    k.hit_ratio
                        .map_or("-".into(), |r| format!("{:.1}%", r * 100.0)),
                    k.coalesced.to_string(),
                    k.evictions.to_string(),
                    k.invalidations.to_string(),
                    k.writes.to_string(),
                    k.updates.to_string(),
                ]);
            }
            table(&mut out, &rows);
        }
        let queues: Vec<(&String, &QueueReport)> = self
            .components
            .iter()
            .filter_map(|(name, c)| c.queue.as_ref().map(|q| (name, q)))
            .collect();
        if !queues.is_empty() {
            out.push_str("\nmessages over the whole run:\n");
            let mut rows = vec![vec![
                "queue".to_string(),
                "enqueued".into(),
                "acked".into(),
                "waiting".into(),
                "unacked".into(),
                "lost".into(),
                "dead".into(),
                "redelivered".into(),
                "duplicates".into(),
                "causal violations".into(),
            ]];
            for (name, q) in queues {
                rows.push(vec![
                    name.clone(),
                    q.enqueued.to_string(),
                    q.acked.to_string(),
                    q.backlog.to_string(),
                    q.unacked.to_string(),
                    q.lost.to_string(),
                    q.dead_lettered.to_string(),
                    q.redelivered.to_string(),
                    q.duplicates.to_string(),
                    q.causal_violations.to_string(),
                ]);
            }
            table(&mut out, &rows);
        }
        self.databases_text(&mut out);
        if !self.events.is_empty() {
            out.push_str("\nevents:\n");
            for e in &self.events {
                let _ = writeln!(out, "  {:>10}  {:<10} {}", secs(e.t_s), e.kind, e.message);
            }
        }
        if !self.recoveries.is_empty() {
            out.push_str("\nrecovery (failures back within 1 point of before the first fault):\n");
            for r in &self.recoveries {
                let when = match r.time_to_recover_s {
                    Some(t) => format!("recovered {} later", secs(t)),
                    None => "not recovered by the end of the run".to_string(),
                };
                let _ = writeln!(out, "  {:>10}  {}: {when}", secs(r.ended_s), r.after);
            }
        }
        out
    }
}

impl Report {
    fn databases_text(&self, out: &mut String) {
        let dbs: Vec<(&String, &DatabaseReport)> = self
            .components
            .iter()
            .filter_map(|(name, c)| c.database.as_ref().map(|d| (name, d)))
            .collect();
        if dbs.is_empty() {
            return;
        }
        out.push_str("\ndatabases over the whole run:\n");
        let mut rows = vec![vec![
            "database".to_string(),
            "replication".into(),
            "writes".into(),
            "reads".into(),
            "stale reads".into(),
            "conflicts".into(),
            "failovers".into(),
            "lost writes".into(),
        ]];
        for (name, d) in &dbs {
            rows.push(vec![
                (*name).clone(),
                d.replication.clone(),
                d.writes.to_string(),
                d.reads.to_string(),
                match d.stale_read_ratio {
                    Some(r) => format!("{} ({:.1}%)", d.stale_reads, r * 100.0),
                    None => "-".into(),
                },
                d.conflicts.to_string(),
                d.failovers.len().to_string(),
                d.lost_writes.to_string(),
            ]);
        }
        table(out, &rows);
        let mut rows = vec![vec![
            "node".to_string(),
            "role".into(),
            "up".into(),
            "lag at end".into(),
            "max lag".into(),
            "writes behind".into(),
        ]];
        for (_, d) in &dbs {
            for n in &d.nodes {
                rows.push(vec![
                    n.node.clone(),
                    n.role.clone(),
                    if n.up { "yes" } else { "no" }.into(),
                    dur(Some(n.lag_s)),
                    dur(Some(n.lag_max_s)),
                    n.behind.to_string(),
                ]);
            }
        }
        table(out, &rows);
        for (name, d) in &dbs {
            for f in &d.failovers {
                let detected = f
                    .detected_s
                    .map_or(String::new(), |t| format!(", detected at {}", secs(t)));
                let promoted = match (&f.promoted, f.promoted_s) {
                    (Some(node), Some(t)) => format!(", {node} promoted at {}", secs(t)),
                    _ => String::new(),
                };
                let unavailable = f
                    .writes_unavailable_s
                    .map_or("until the end".to_string(), |t| format!("for {}", secs(t)));
                let window = f.data_loss_window_s.map_or(String::new(), |w| {
                    format!(" (written in the last {} before the crash)", secs(w))
                });
                let _ = writeln!(
                    out,
                    "  failover of {name}: {} down at {}{detected}{promoted}; writes unavailable \
                     {unavailable}; {} acknowledged write(s) lost{window}; {}",
                    f.primary,
                    secs(f.down_s),
                    f.lost_writes,
                    f.outcome
                );
            }
            if let Some(b) = &d.backup {
                let _ = writeln!(
                    out,
                    "  restore of {name}: latest restore point {}, {} write(s) since it would be \
                     lost (at most {} during the run)",
                    secs(b.latest_restore_point_s),
                    b.writes_at_risk,
                    b.max_writes_at_risk
                );
            }
        }
    }
}

fn secs(s: f64) -> String {
    crate::shared::time::SimTime::from_secs_f64(s).to_string()
}

fn dur(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(s) if s < 1e-3 => format!("{:.1}us", s * 1e6),
        Some(s) if s < 1.0 => format!("{:.2}ms", s * 1e3),
        Some(s) => format!("{s:.3}s"),
    }
}

/// Left-aligns the first column and right-aligns the others.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let n = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..n)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}
