//! The model: what a team writes in a YAML file, read, validated and resolved.
//!
//! Owns the format (`schema`), the reader that turns text into a [`Model`] with every problem
//! reported at its line and column (`read`), and the checks that need the whole graph
//! (`check`: reachability, handlers, call cycles). A [`Model`] that exists is valid: the
//! simulation never re-checks it.
//!
//! Must never: run anything, touch the wall clock, or know that a GUI exists. It reads no
//! files itself except through [`load_file`], so the app can feed it an unsaved buffer.

mod check;
pub mod diag;
pub mod dist;
pub mod effort;
pub mod layout;
mod read;
pub mod scenario;
pub mod schema;
pub mod units;
pub mod write;
pub mod yaml;

use std::path::Path;

pub use diag::{Diagnostic, Diagnostics, Severity, Span};
pub use dist::Dist;
pub use scenario::{
    CallSel, Change, LatencyFigure, Override, PathError, Scenario, Slo, SloScope, Target,
};

use crate::shared::time::SimTime;
pub use crate::shared::{ComponentId, RequestTypeId};

#[derive(Debug, Clone)]
pub struct Model {
    pub name: Option<String>,
    pub duration: SimTime,
    pub warmup: SimTime,
    pub seed: u64,
    pub series_buckets: u32,
    /// Sorted by name, so ids do not depend on the order things appear in the file.
    pub request_types: Vec<String>,
    /// Sorted by name, for the same reason.
    pub components: Vec<Component>,
    pub workloads: Vec<Workload>,
    pub links: Links,
    /// Scripted faults, in the order written.
    pub faults: Vec<Fault>,
    /// Diagram positions the app saved, by component or workload name.
    pub layout: Vec<(String, [f64; 2])>,
    /// Named what-ifs, in the order written.
    pub scenarios: Vec<Scenario>,
    /// Service level objectives, in the order written.
    pub slos: Vec<Slo>,
    /// How much a run may hold at once before it stops with an error.
    pub limits: Limits,
}

/// Bounds on what a run holds at once. A run that crosses one stops with an error saying
/// where work piles up, instead of taking the machine's memory: the defaults are far beyond
/// any sensible model and keep a run well under a gigabyte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Users' requests in flight.
    pub requests: u64,
    /// Calls in flight: the work of one component for one request, queued or in progress.
    pub calls: u64,
    /// Messages held by the model's queues, waiting or delivered.
    pub messages: u64,
}

impl Limits {
    pub const DEFAULT_REQUESTS: u64 = 2_000_000;
    pub const DEFAULT_CALLS: u64 = 4_000_000;
    pub const DEFAULT_MESSAGES: u64 = 4_000_000;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            requests: Self::DEFAULT_REQUESTS,
            calls: Self::DEFAULT_CALLS,
            messages: Self::DEFAULT_MESSAGES,
        }
    }
}

impl Model {
    #[must_use]
    pub fn component(&self, id: ComponentId) -> &Component {
        &self.components[id.0 as usize]
    }

    #[must_use]
    pub fn component_id(&self, name: &str) -> Option<ComponentId> {
        self.components
            .binary_search_by(|c| c.name.as_str().cmp(name))
            .ok()
            .map(|i| ComponentId(u32::try_from(i).unwrap_or(u32::MAX)))
    }

    #[must_use]
    pub fn request_type_id(&self, name: &str) -> Option<RequestTypeId> {
        self.request_types
            .binary_search_by(|t| t.as_str().cmp(name))
            .ok()
            .map(|i| RequestTypeId(u16::try_from(i).unwrap_or(u16::MAX)))
    }

    #[must_use]
    pub fn request_type_name(&self, id: RequestTypeId) -> &str {
        &self.request_types[id.0 as usize]
    }

    /// The request types some workload sends: the user flows that reports and SLOs describe.
    #[must_use]
    pub fn flows(&self) -> Vec<RequestTypeId> {
        let mut out: Vec<RequestTypeId> = self
            .workloads
            .iter()
            .flat_map(|w| w.mix.iter().map(|(t, _)| *t))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Bytes of a message sent from `from` to `to`.
    #[must_use]
    pub fn message_bytes(&self, from: &str, to: &str) -> u64 {
        self.links
            .overrides
            .iter()
            .rev()
            .find_map(|o| {
                if o.a == from && o.b == to {
                    Some(o.size_ab)
                } else if o.a == to && o.b == from {
                    Some(o.size_ba)
                } else {
                    None
                }
            })
            .unwrap_or(DEFAULT_MESSAGE_BYTES)
    }

    /// The one-way latency of the link between two named endpoints (components or workloads).
    #[must_use]
    pub fn link_latency(&self, a: &str, b: &str) -> &Dist {
        self.links
            .overrides
            .iter()
            .rev()
            .find(|o| (o.a == a && o.b == b) || (o.a == b && o.b == a))
            .map_or(&self.links.default, |o| &o.latency)
    }
}

#[derive(Debug, Clone)]
pub struct Component {
    pub name: String,
    pub description: Option<String>,
    pub kind: ComponentKind,
    /// Random crashes: time between failures and time to repair, per replica.
    pub random_failures: Option<RandomFailures>,
    /// Where the component's name is in the file, for messages and the editor.
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum ComponentKind {
    Service(Service),
    LoadBalancer(LoadBalancer),
    External(External),
}

impl ComponentKind {
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            ComponentKind::Service(s) if s.database.is_some() => "database",
            ComponentKind::Service(_) => "service",
            ComponentKind::LoadBalancer(_) => "load_balancer",
            ComponentKind::External(e) => match e.data.as_deref() {
                None => "external",
                Some(Data::Cache(_)) => "cache",
                Some(Data::Queue(_)) => "queue",
            },
        }
    }

    /// The cache this component is, if it is one.
    #[must_use]
    pub fn cache(&self) -> Option<&Cache> {
        match self {
            ComponentKind::External(e) => match e.data.as_deref() {
                Some(Data::Cache(c)) => Some(c),
                _ => None,
            },
            _ => None,
        }
    }

    /// The database this component is, if it is one.
    #[must_use]
    pub fn database(&self) -> Option<&Database> {
        match self {
            ComponentKind::Service(s) => s.database.as_deref(),
            _ => None,
        }
    }

    /// The message queue this component is, if it is one.
    #[must_use]
    pub fn queue(&self) -> Option<&Broker> {
        match self {
            ComponentKind::External(e) => match e.data.as_deref() {
                Some(Data::Queue(q)) => Some(q),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Scaling on utilisation, as autoscaling groups and serverless platforms do.
#[derive(Debug, Clone, PartialEq)]
pub struct Autoscale {
    pub min: u32,
    pub max: u32,
    /// Target utilisation of the ready replicas' workers, 0..1 (when `queue_target` is
    /// `None`).
    pub target: f64,
    /// Scale on queue depth instead: the target mean number of waiting requests per ready
    /// replica.
    pub queue_target: Option<f64>,
    /// The utilisation is measured over this window, and decisions are taken at its end.
    pub window: SimTime,
    /// A new replica serves only after this delay.
    pub cold_start: SimTime,
    /// No scale-in sooner than this after the last change.
    pub cooldown: SimTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RandomFailures {
    pub mtbf: Dist,
    pub mttr: Dist,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    Blocking,
    Async,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    RoundRobin,
    Random,
    LeastConnections,
    PowerOfTwo,
}

impl Policy {
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "round_robin" => Some(Policy::RoundRobin),
            "random" => Some(Policy::Random),
            "least_connections" => Some(Policy::LeastConnections),
            "power_of_two" => Some(Policy::PowerOfTwo),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Service {
    pub replicas: u32,
    pub workers: u32,
    /// Waiting room per replica; `None` is unbounded.
    pub queue: Option<u32>,
    pub io: Io,
    pub balance: Policy,
    /// Requests that waited longer than this are dropped when a worker would take them.
    pub queue_timeout: Option<SimTime>,
    /// Last in, first out: under overload the newest requests (whose callers still wait)
    /// are served first.
    pub lifo: bool,
    /// Replicas added and removed with the load; `replicas` is then the starting count.
    pub autoscale: Option<Autoscale>,
    pub handlers: Vec<Handler>,
    /// A database (`kind: database`): its replicas are the nodes, the first `primaries` of
    /// them taking writes. Boxed: large, and read only for databases.
    pub database: Option<Box<Database>>,
}

impl Service {
    /// The most replicas it can ever run: its autoscaler's maximum, or its starting count.
    #[must_use]
    pub fn most_replicas(&self) -> u32 {
        self.autoscale
            .as_ref()
            .map_or(self.replicas, |a| a.max.max(self.replicas))
    }
}

/// What makes a service a database: which queries write, where reads go, and how writes
/// replicate and fail over.
#[derive(Debug, Clone)]
pub struct Database {
    /// Nodes `0..primaries` accept writes; the rest are read replicas.
    pub primaries: u32,
    /// Per request type: it writes (the others read).
    pub writes: Vec<RequestTypeId>,
    pub read_from: ReadFrom,
    pub replication: Replication,
    /// From commit on one node to arrival at another (and back, for an acknowledgement);
    /// `None`: the model's default link latency.
    pub ship: Option<Dist>,
    /// A node's time to apply one write it received; writes are applied one at a time.
    pub apply: Dist,
    /// Rows reads and writes draw from: stale reads and conflicts are per row.
    pub keys: u32,
    /// Zipf exponent of row popularity; 0 is uniform.
    pub zipf: f64,
    pub failover: Option<Failover>,
    pub backup: Option<Backup>,
    pub span: Span,
}

impl Database {
    /// Whether requests of this type write.
    #[must_use]
    pub fn writes(&self, request_type: RequestTypeId) -> bool {
        self.writes.contains(&request_type)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    Primary,
    Replicas,
    Any,
}

/// When a write is acknowledged to its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replication {
    /// Once the primary has committed it.
    Async,
    /// Once this many replicas have received it (`MySQL`'s semi-synchronous replication).
    SemiSync { acks: u32 },
    /// Once every replica that is up has applied it (`PostgreSQL`'s `remote_apply`).
    Sync,
}

impl std::fmt::Display for Replication {
    /// As the report and the app name it: `async`, `semi_sync (2 acks)`, `sync`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Replication::Async => f.write_str("async"),
            Replication::SemiSync { acks } => write!(f, "semi_sync ({acks} acks)"),
            Replication::Sync => f.write_str("sync"),
        }
    }
}

/// Automatic failover of a single primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failover {
    /// The primary must be down this long before a replica is chosen.
    pub detect: SimTime,
    /// Then the chosen replica serves writes after this long.
    pub promote: SimTime,
}

/// Restore points: what restoring the database would give back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backup {
    /// Full backups this often, the first at time 0.
    pub every: Option<SimTime>,
    /// The write log archived this often.
    pub log_shipping: Option<SimTime>,
}

#[derive(Debug, Clone)]
pub struct Handler {
    /// The request type served, or `None` for `"*"` (any type).
    pub request: Option<RequestTypeId>,
    pub work: Dist,
    pub steps: Vec<Step>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Step {
    Call(Call),
    Parallel(Vec<Call>),
}

#[derive(Debug, Clone)]
pub struct Call {
    pub to: ComponentId,
    /// The type sent, or `None` to forward the type being handled.
    pub request: Option<RequestTypeId>,
    /// The caller gives up on an attempt after this long (the call's own, or its service's
    /// default).
    pub timeout: Option<SimTime>,
    /// How failed attempts are retried; `None` for a single attempt (and always for a call
    /// marked `idempotent: false`).
    pub retry: Option<Retry>,
    /// A circuit breaker guarding this call (the call's own, or its service's default).
    pub breaker: Option<Breaker>,
    /// When the call fails for good, the caller goes on with a degraded answer instead.
    pub fallback: bool,
    /// Hedging: if an attempt has not answered after this long, a second copy is sent and
    /// the first success wins.
    pub hedge: Option<SimTime>,
    /// Bulkhead: at most this many attempts of this call outstanding at once (across the
    /// service's replicas); more fail at once with `rejected`.
    pub concurrency: Option<u32>,
    /// `false`: never retried, even when a scenario sets the service's retry attempts.
    pub idempotent: bool,
    pub span: Span,
}

/// A circuit breaker: opens after consecutive failures, refuses calls while open, then lets
/// probes through to decide whether to close again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaker {
    /// Consecutive failed attempts that open it (`u32::MAX`: only the error rate does).
    pub failures: u32,
    /// Opens when the failed share of the attempts in the sliding window reaches this,
    /// once the window holds at least `min_calls` attempts.
    pub error_rate: Option<ErrorRate>,
    /// How long it stays open before letting probes through.
    pub open_for: SimTime,
    /// Attempts let through at once while half-open.
    pub probes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorRate {
    pub threshold: f64,
    pub window: SimTime,
    pub min_calls: u32,
}

impl Eq for ErrorRate {}

/// Why a request or a call failed. Every request that does not end `ok` ends with exactly
/// one cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    /// The caller's deadline passed first.
    Timeout,
    /// A full queue turned it away.
    Rejected,
    /// Nothing was there to serve it: the component or replica is down.
    Unavailable,
    /// Lost on the way or inside: the replica holding it crashed.
    Dropped,
    /// The component answered with an error.
    Error,
}

impl Cause {
    pub const ALL: [Cause; 5] = [
        Cause::Timeout,
        Cause::Rejected,
        Cause::Unavailable,
        Cause::Dropped,
        Cause::Error,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Timeout => "timeout",
            Cause::Rejected => "rejected",
            Cause::Unavailable => "unavailable",
            Cause::Dropped => "dropped",
            Cause::Error => "error",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Cause::ALL.into_iter().find(|c| c.as_str() == text)
    }

    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// The same wait before every retry.
    Constant,
    /// The wait doubles with each retry, up to `max_backoff`.
    Exponential,
    /// AWS's "decorrelated jitter": a random wait between the base and three times the
    /// previous wait, up to `max_backoff`.
    Decorrelated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    /// A uniform wait between 0 and the computed backoff.
    Full,
    /// Half the backoff plus a uniform wait up to the other half.
    Equal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub backoff: Backoff,
    pub base: SimTime,
    pub max_backoff: SimTime,
    pub jitter: Jitter,
    /// Which causes are retried, indexed by [`Cause::index`].
    pub on: [bool; 5],
    /// A retry budget: retries may add at most this share of extra attempts, with a burst
    /// of `burst` retries saved up (a token bucket).
    pub budget: Option<RetryBudget>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBudget {
    pub ratio: f64,
    pub burst: f64,
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub at: SimTime,
    /// `None`: until the end of the run.
    pub duration: Option<SimTime>,
    /// The component a crash, slow or error fault applies to; `None` for network faults.
    pub target: Option<ComponentId>,
    /// One replica of a service (0-based), or all of them.
    pub replica: Option<u32>,
    pub action: FaultAction,
    /// Within the fault's window: on for `down`, off for `up`, repeatedly.
    pub flap: Option<Flap>,
    /// For an `error` fault: only the first this many requests fail.
    pub count: Option<u64>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flap {
    pub down: SimTime,
    pub up: SimTime,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Down: requests inside are lost (`dropped`), new ones fail at once (`unavailable`).
    Crash,
    /// Every piece of work (or latency) takes `factor` times as long, plus `delay`.
    Slow { factor: f64, delay: SimTime },
    /// Each replica loses this many workers (capacity loss); the work they held goes on.
    Capacity { workers: u32 },
    /// Stop-the-world (a long garbage collection, a VM migration): nothing in the component
    /// progresses until the fault ends.
    Pause,
    /// This fraction of requests fail with `error` after their work.
    Error { fraction: f64 },
    /// Messages between different groups vanish: callers wait until their timeout.
    Partition { groups: Vec<Vec<String>> },
    /// Trouble on the link between two endpoints (either direction), in the spirit of
    /// Toxiproxy.
    Link {
        a: String,
        b: String,
        /// Added to every crossing.
        latency: Option<Dist>,
        /// Share of messages that vanish.
        loss: f64,
        /// New requests fail at once with `unavailable` (connection refused or reset).
        reset: bool,
        /// Bytes per second; messages queue to cross (serialisation delay).
        bandwidth: Option<f64>,
        /// Every message vanishes: no answer until the caller's timeout.
        blackhole: bool,
    },
}

impl FaultAction {
    #[must_use]
    pub fn verb(&self) -> &'static str {
        match self {
            FaultAction::Crash => "crash",
            FaultAction::Slow { .. } => "slow",
            FaultAction::Capacity { .. } => "capacity",
            FaultAction::Pause => "pause",
            FaultAction::Error { .. } => "error",
            FaultAction::Partition { .. } => "partition",
            FaultAction::Link { .. } => "link",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoadBalancer {
    pub policy: Policy,
    pub backends: Vec<ComponentId>,
    pub latency: Dist,
    pub health_check: Option<HealthCheck>,
    pub outlier: Option<Outlier>,
}

/// Active health checks: a probe of every backend replica each `interval`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub interval: SimTime,
    /// Consecutive failed probes that eject a replica.
    pub unhealthy: u32,
    /// Consecutive successful probes that bring it back.
    pub healthy: u32,
}

/// Passive outlier ejection: a replica whose answers fail this many times in a row is left
/// out for `eject_for`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outlier {
    pub failures: u32,
    pub eject_for: SimTime,
}

#[derive(Debug, Clone)]
pub struct External {
    /// The time to answer; for a cache, the time a lookup takes.
    pub latency: Dist,
    pub error_fraction: f64,
    /// A data-layer component (`kind: cache`). It shares the external's shape — one
    /// latency, no workers, any request type — which is how front ends that do not know
    /// the kind yet draw it.
    pub data: Option<Box<Data>>,
}

/// What a data-layer component is.
#[derive(Debug, Clone)]
pub enum Data {
    Cache(Cache),
    Queue(Broker),
}

/// A message queue (`kind: queue`): producers' calls return once the broker has the
/// message; consumer services pull the messages and acknowledge them by finishing.
#[derive(Debug, Clone)]
pub struct Broker {
    /// Services whose replicas pull the messages.
    pub consumers: Vec<ComponentId>,
    /// Unacknowledged messages each consumer replica holds at once; `None`: its workers.
    pub prefetch: Option<u32>,
    /// A crash keeps the messages (`true`) or loses them.
    pub durable: bool,
    /// A delivered message not acknowledged within this is delivered again.
    pub visibility_timeout: SimTime,
    /// A message delivered this many times without an acknowledgement is dead-lettered
    /// instead of being delivered again.
    pub max_deliveries: u32,
    /// Waiting messages at most; more are rejected. `None`: unbounded.
    pub capacity: Option<u32>,
    pub ordering: MessageOrdering,
    /// (dependent type, type it depends on): a message of the first type depends on the
    /// latest message of the second type with the same key sent before it.
    pub depends: Vec<(RequestTypeId, RequestTypeId)>,
    pub span: Span,
}

/// The order in which a queue delivers messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageOrdering {
    /// Any order: as many at once as the consumers take.
    None,
    /// Messages are hashed by key to `partitions`; each partition delivers one message at a
    /// time, in the order sent (as Kafka's partitions or SQS FIFO message groups).
    PerKey { partitions: u32 },
    /// A message waits until the messages it `depends` on have been processed.
    Causal,
}

/// A cache in front of a backing store (`kind: cache`).
#[derive(Debug, Clone)]
pub struct Cache {
    pub hits: CacheHits,
    pub mode: CacheMode,
    /// What a write does to its key in a cache-aside or read-through cache; a write-through
    /// cache always updates.
    pub on_write: OnWrite,
    /// Where a miss is read from, and the type sent there (`None`: the type received).
    /// A write-through cache writes there too, with the write's own type.
    pub backing: ComponentId,
    pub backing_request: Option<RequestTypeId>,
    /// Single-flight per key: a miss for a key already being fetched waits for that fetch.
    pub coalesce: bool,
    /// Request types that write their key instead of reading it.
    pub writes: Vec<RequestTypeId>,
    /// Where `on_miss` is written, for messages.
    pub on_miss_span: Span,
}

/// Who talks to the backing store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// The caller reads the store on a miss and fills the cache; writes go to the store
    /// from the caller, never through the cache.
    CacheAside,
    /// The cache reads the store on a miss and fills itself.
    ReadThrough,
    /// As read-through, and the cache also forwards writes to the store, installing the
    /// key once the store has it.
    WriteThrough,
}

impl CacheMode {
    /// Whether the cache itself talks to the store (over its own link).
    #[must_use]
    pub fn cache_reads_store(self) -> bool {
        self != CacheMode::CacheAside
    }
}

/// What a write does to the entry of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnWrite {
    /// Removes it: the next read misses and fetches the new value.
    Invalidate,
    /// Installs the new value: the next read hits.
    Update,
}

/// Whether a lookup hits.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheHits {
    /// Each lookup hits with this probability, whatever was read before.
    Fixed(f64),
    /// Hits emerge from a key space: keys drawn by popularity, kept by LRU.
    Keys(KeySpace),
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeySpace {
    pub keys: u32,
    /// Zipf exponent of key popularity: key i (from 1) is drawn with probability
    /// proportional to i^-zipf; 0 is uniform.
    pub zipf: f64,
    /// Entries held at once; the least recently used is evicted beyond it.
    pub capacity: u32,
    /// An entry older than this (since it was filled) is a miss.
    pub ttl: Option<SimTime>,
}

/// Most replicas a service may have (and autoscale up to): each is a queue and counters
/// of its own, and a balancer looks over all of them on every request.
pub const MAX_REPLICAS: u32 = 10_000;
/// Most workers one replica may have: far beyond any real process, and low enough that
/// replicas × workers (a service's capacity) fits the engine's counters.
pub const MAX_WORKERS: u32 = 100_000;
/// Most nodes (primaries and replicas) a database may have.
pub const MAX_DATABASE_NODES: u32 = 64;
/// Most primaries of a multi-primary database.
pub const MAX_PRIMARIES: u32 = 8;
/// Most rows × nodes a multi-primary database may track: each node keeps every row's
/// version (16 bytes).
pub const MULTI_PRIMARY_ROWS: u64 = 16_000_000;

/// Largest key space a cache may declare: its popularity table and index take 12 bytes a
/// key.
pub const MAX_CACHE_KEYS: u32 = 10_000_000;

#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    pub target: ComponentId,
    pub arrivals: Arrivals,
    /// Request types with cumulative probabilities, the last one exactly 1.
    pub mix: Vec<(RequestTypeId, f64)>,
    pub timeout: Option<SimTime>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Arrivals {
    /// Poisson arrivals; the rate (per second) changes at each step's time.
    Open { steps: Vec<(SimTime, f64)> },
    /// A fixed population cycling between thinking and waiting for an answer.
    Closed { users: u32, think: Dist },
}

#[derive(Debug, Clone)]
pub struct Links {
    pub default: Dist,
    pub overrides: Vec<LinkOverride>,
}

/// Bytes of a message when nothing says otherwise; matters only under a bandwidth limit.
pub const DEFAULT_MESSAGE_BYTES: u64 = 1000;

#[derive(Debug, Clone)]
pub struct LinkOverride {
    pub a: String,
    pub b: String,
    pub latency: Dist,
    /// Bytes of a message from `a` to `b`, and from `b` to `a`.
    pub size_ab: u64,
    pub size_ba: u64,
}

/// Reads a model from text. `file` is only used in messages.
///
/// # Errors
/// Every problem found, each with its position, when there is at least one error.
pub fn parse(file: &str, text: &str) -> Result<(Model, Vec<Diagnostic>), Diagnostics> {
    let outcome = read::read(text);
    let mut items = outcome.diagnostics;
    let model = outcome.model.inspect(|m| {
        let base = check::check(m);
        // Overrides change timeouts and retries, and so what the "time out before your
        // caller does" check finds: a scenario can introduce a warning of its own.
        for s in &m.scenarios {
            for d in check::check(&m.with_scenario(s)) {
                if d.severity == Severity::Warning && !base.contains(&d) {
                    items.push(Diagnostic {
                        severity: Severity::Warning,
                        span: s.span,
                        message: format!(
                            "under scenario `{}`, {} (line {})",
                            s.name, d.message, d.span.line
                        ),
                        hint: d.hint,
                    });
                }
            }
        }
        items.extend(base);
    });
    items.sort_by(|a, b| (a.span, &a.message).cmp(&(b.span, &b.message)));
    items.dedup();
    shorten_echoes(&mut items);
    let has_errors = items.iter().any(|d| d.severity == Severity::Error);
    match model {
        Some(m) if !has_errors => Ok((m, items)),
        _ => Err(Diagnostics {
            file: file.to_string(),
            source: text.to_string(),
            items,
        }),
    }
}

/// Messages quote the text they are about; a huge value is quoted by its start only.
fn shorten_echoes(items: &mut [Diagnostic]) {
    for d in items {
        d.message = diag::shorten_quotes(&d.message);
        d.hint = d.hint.as_deref().map(diag::shorten_quotes);
    }
}

/// Reads a scenario kept in a file of its own, against `model`. `file` is only used in
/// messages; `name` is the scenario's name in reports.
///
/// # Errors
/// Every problem found, each with its position, when there is at least one error.
pub fn parse_scenario(
    file: &str,
    name: &str,
    text: &str,
    model: &Model,
) -> Result<Scenario, Diagnostics> {
    let (scenario, mut items) = read::read_scenario(name, text, model);
    items.sort_by(|a, b| (a.span, &a.message).cmp(&(b.span, &b.message)));
    items.dedup();
    shorten_echoes(&mut items);
    match scenario {
        Some(s) if !items.iter().any(|d| d.severity == Severity::Error) => Ok(s),
        _ => Err(Diagnostics {
            file: file.to_string(),
            source: text.to_string(),
            items,
        }),
    }
}

/// Reads a scenario written inside another file (a lesson step's `patch:`) against
/// `model`; the diagnostics carry positions in that file.
#[must_use]
pub fn scenario_from_node(
    name: &str,
    node: &yaml::Node,
    model: &Model,
) -> (Option<Scenario>, Vec<Diagnostic>) {
    read::read_scenario_node(name, node, model)
}

/// The largest model, scenario, job or result file archsim reads: far beyond any real one
/// (the largest bundled model is a few kilobytes), and small enough that a wrong path such
/// as `/dev/zero` or a log file is refused at once instead of filling memory.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Reads a text file of at most [`MAX_FILE_BYTES`], never more than one byte past the
/// limit, and checks that it is UTF-8.
///
/// # Errors
/// A single diagnostic, at the first byte that is not UTF-8 when that is the problem.
pub fn read_text(path: &Path) -> Result<String, Diagnostics> {
    use std::io::Read as _;
    let file = path.display().to_string();
    let one = |span: Span, message: String, hint: &str, source: String| Diagnostics {
        file: file.clone(),
        source,
        items: vec![Diagnostic::error(span, message).with_hint(hint)],
    };
    let mut bytes = Vec::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return Err(one(
            Span::point(1, 1),
            format!("cannot read the file: {e}"),
            "check the path and that the file is readable",
            String::new(),
        ));
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(one(
            Span::point(1, 1),
            format!(
                "the file is larger than {} MB, the most archsim reads",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            "a model, scenario, job or result file is a few kilobytes: check the path",
            String::new(),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // Valid up to here by construction, so the lossy conversion loses nothing.
        let before = String::from_utf8_lossy(good);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let bad = e.as_bytes()[good.len()];
        let shown = String::from_utf8_lossy(e.as_bytes()).into_owned();
        one(
            Span::point(
                u32::try_from(line).unwrap_or(u32::MAX),
                u32::try_from(col).unwrap_or(u32::MAX),
            ),
            format!("the file is not UTF-8: byte 0x{bad:02X} at line {line}, column {col}"),
            "save the file as UTF-8 (in most editors: \"Save with encoding\" → UTF-8)",
            shown,
        )
    })
}

/// Reads a model file from disk.
///
/// # Errors
/// The diagnostics of the model, or a single diagnostic when the file cannot be read, is
/// too large or is not UTF-8.
pub fn load_file(path: &Path) -> Result<(Model, Vec<Diagnostic>), Diagnostics> {
    parse(&path.display().to_string(), &read_text(path)?)
}
