//! The engine: components' behaviour driven by one ordered stream of events.
//!
//! A *root* is one request from a workload, as the user sees it; a *task* is the work one
//! component does for one request (the root's first task at the workload's target, then one
//! task per call). A task at a service waits for a worker, works, makes its calls step by
//! step and answers its parent over the link it came by. Every root ends exactly once: `ok`,
//! failed with a cause, or still in flight when the run stops — the end of the run checks it.
//!
//! Ordering: events pop in (time, sequence) order. Consequences that take no time (a call
//! over a zero-latency link, zero work) go to an *immediate* FIFO that is drained before the
//! next timed event; they happen at the same instant, in the order they were caused.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::cache::{Lookup, Lru, Popularity};
use super::queue::EventQueue;
use super::random::{Stream, ns_to_time};
use super::time::SimTime;
use crate::model::{
    Arrivals, Backoff, CacheHits, CacheMode, ComponentKind, Dist, Fault, FaultAction, HealthCheck,
    Io, Jitter, MessageOrdering, Model, OnWrite, Outlier, Policy, Retry, Step,
};
use crate::observe::{Answer, Cause, Finish, Integrals, QueueState, Recorder, Report};

/// Marks "no task" in a parent field, and "no instance" for components without replicas.
mod database;

pub use database::DatabaseState;
use database::{DbEvent, DbRt};

const NONE: u32 = u32::MAX;

/// In a call state: the attempt (or hedged copy) whose message was lost in the network. It
/// never answers, but the call still waits for it until its timeout.
const LOST: u32 = u32::MAX - 1;

/// In a task's `root`: the task is a delivery of a message to a consumer, not part of a
/// user's request; its `root_gen` is then the delivery's id.
const MESSAGE: u32 = u32::MAX - 2;

/// How deep zero-delay hops may be handled by direct calls before they go through the
/// immediate queue instead: deep enough for any real call tree, shallow enough that a
/// pathological chain of thousands of components cannot overflow the stack.
const MAX_INLINE_DEPTH: u32 = 32;

/// How a run is set up; `None` fields take the model's values.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    pub seed: Option<u64>,
    pub duration: Option<SimTime>,
    pub warmup: Option<SimTime>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The engine broke one of its own rules: a bug, never the user's fault.
    #[error("internal error (a bug in archsim): {message}; reproduce with --seed {seed}")]
    Invariant { seed: u64, message: String },
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    /// The next open-loop arrival of a workload.
    Arrival(u16),
    /// A closed-loop user of a workload finished thinking.
    UserReady(u16),
    /// A task reaches its component.
    Deliver(u32),
    /// A task's own work (or a balancer's or external's delay) is done.
    WorkDone(u32),
    /// A finished task's answer reaches its parent.
    Reply(u32),
    /// The earliest deadline of a timer lane is due.
    Timers(u16),
    /// A call's backoff is over: send its next attempt.
    Retry(u32),
    /// A balancer probes its backends.
    HealthCheck(u32),
    /// An autoscaled service decides whether to scale.
    Autoscale(u32),
    /// A replica started by the autoscaler is ready.
    ReplicaReady(u32),
    FaultStart(u16),
    FaultEnd(u16),
    /// A random crash of the replica (or component) in the `random` table, or its repair.
    RandomDown(u32),
    RandomUp(u32),
    /// Something happens to a database (an index into the simulation's database events).
    Db(u32),
    BucketEnd,
    WarmupEnd,
}

#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts about one task, read on the hot path; flags in a bitset would only hide them"
)]
struct Task {
    /// Parent task, or `NONE` when the parent is the root itself.
    parent: u32,
    root: u32,
    root_gen: u32,
    comp: u32,
    /// The service replica serving it; for a balancer, the backend slot it chose.
    instance: u32,
    handler: u32,
    /// The link the request came over; the answer goes back over it.
    link: u32,
    arrived: SimTime,
    request_type: u16,
    step: u16,
    pending: u16,
    failed: Option<Cause>,
    /// The call (with a timeout or retries) this task is an attempt of, or `NONE`.
    call: u32,
    /// Some part of its answer came from a fallback.
    degraded: bool,
    holds_worker: bool,
    record: bool,
    /// Accepted by its component and not finished: what a crash there loses.
    inside: bool,
    /// A `WorkDone` event for it is pending.
    working: bool,
    /// Its replica crashed with it inside: its caller was answered already, and the slot is
    /// freed once its pending events have passed.
    zombie: bool,
    /// Working when its component paused: its work ends later by the pause's length.
    frozen: bool,
    live: bool,
}

/// A call that has a timeout or retries: which attempt is current, so that the answer of an
/// abandoned attempt is recognised as wasted work.
struct CallState {
    parent: u32,
    handler: u32,
    step: u16,
    index: u16,
    request_type: u16,
    attempts: u32,
    /// The current attempt's task, or `NONE` while waiting to retry.
    child: u32,
    /// Bumped whenever an attempt ends, so that its timer is recognised as stale.
    generation: u32,
    last_backoff: SimTime,
    /// The current attempt went through a half-open breaker as a probe.
    probe: bool,
    /// The current attempt holds a place in the call's bulkhead.
    in_bulkhead: bool,
    /// The hedged copy of the current attempt, or `NONE`.
    hedge: u32,
}

struct Root {
    generation: u32,
    live: bool,
    counted: bool,
    workload: u16,
    request_type: u16,
    start: SimTime,
}

struct Instance {
    up: bool,
    busy: u32,
    in_system: u32,
    queue: VecDeque<u32>,
}

struct CallRt {
    to: u32,
    request: Option<u16>,
    link: u32,
    timeout_lane: Option<u16>,
    retry: Option<Retry>,
    fallback: bool,
    hedge_lane: Option<u16>,
    /// Index into the simulation's bulkheads (limit, attempts outstanding).
    bulkhead: Option<u32>,
    /// Index into the simulation's breakers.
    breaker: Option<u32>,
    /// Index into the simulation's retry budgets (token counts).
    budget: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

struct BreakerRt {
    config: crate::model::Breaker,
    /// `caller → callee`, for the event log.
    name: String,
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: SimTime,
    probes_out: u32,
    /// The sliding window of an error-rate breaker: (calls, failures) per tenth of it.
    window: [(u32, u32); 10],
    /// The tenth of the window the last outcome fell in, counted from the start of the run.
    window_slot: u64,
}

impl BreakerRt {
    /// Records an outcome in the sliding window; true when the error rate trips it.
    fn rate_trips(&mut self, now: SimTime, success: bool) -> bool {
        let Some(rate) = self.config.error_rate else {
            return false;
        };
        let tenth = (rate.window.as_nanos() / 10).max(1);
        let slot = now.as_nanos() / tenth;
        // Clear the tenths that slid out since the last outcome.
        let stale = (slot - self.window_slot.min(slot)).min(10);
        for k in 0..stale {
            let i = usize::try_from((self.window_slot + k + 1) % 10).unwrap_or(0);
            self.window[i] = (0, 0);
        }
        self.window_slot = slot;
        let i = usize::try_from(slot % 10).unwrap_or(0);
        self.window[i].0 += 1;
        if !success {
            self.window[i].1 += 1;
        }
        let (calls, failures) = self
            .window
            .iter()
            .fold((0u32, 0u32), |(c, f), &(dc, df)| (c + dc, f + df));
        calls >= rate.min_calls && f64::from(failures) >= rate.threshold * f64::from(calls)
    }
}

struct HandlerRt {
    work: Dist,
    steps: Vec<Vec<CallRt>>,
}

struct LbTarget {
    comp: u32,
    instance: u32,
    link: u32,
}

enum KindRt {
    Service {
        first_instance: u32,
        /// Replicas ready to serve: the first `replicas` of the allocated ones.
        replicas: u32,
        /// Instances allocated: `replicas`, or the autoscaler's maximum.
        allocated: u32,
        workers_per_replica: u32,
        scale: Option<Box<ScaleRt>>,
        workers: u32,
        queue_cap: u32,
        io_async: bool,
        balance: Policy,
        queue_timeout: Option<SimTime>,
        lifo: bool,
    },
    Balancer {
        policy: Policy,
        targets: Vec<LbTarget>,
        /// Requests forwarded to each target and not yet answered: the balancer's own view.
        outstanding: Vec<u32>,
        latency: Dist,
        /// Boxed: large, and read only by balancers.
        health: Box<Health>,
    },
    External {
        latency: Dist,
        error_fraction: f64,
    },
    /// Boxed: large, and read only by caches.
    Cache(Box<CacheRt>),
    /// Boxed: large, and read only by message queues.
    Queue(Box<BrokerRt>),
}

/// A message broker's state. Messages and deliveries live in the simulation's slabs.
struct BrokerRt {
    latency: Dist,
    durable: bool,
    visibility_lane: u16,
    max_deliveries: u32,
    capacity: u32,
    /// One per consumer replica, in the order of `consumers`, then of replicas.
    slots: Vec<ConsumerSlot>,
    next_slot: usize,
    /// Messages waiting to be delivered, oldest first (a message delivered again joins the
    /// back).
    backlog: VecDeque<u32>,
    /// Messages delivered and neither acknowledged nor waiting again.
    unacked: u32,
    ordering: MessageOrdering,
    /// Per partition (`ordering: per_key`): deliveries out.
    partition_busy: Vec<u32>,
    /// Per request type: the type its messages depend on, or `u16::MAX`.
    depends_on: Vec<u16>,
    /// Per request type: some type depends on it, so its latest message per key is kept.
    is_dependency: Vec<bool>,
    /// (key, type) → the latest message of that type sent with that key: (id, serial).
    latest: BTreeMap<(u64, u16), (u32, u64)>,
    next_serial: u64,
}

/// How far past the head of the backlog an ordered queue looks for a message it may
/// deliver; beyond it, the head blocks the rest (head-of-line blocking), which bounds the
/// cost of a dispatch.
const ORDERED_LOOKAHEAD: usize = 256;

struct ConsumerSlot {
    comp: u32,
    /// The replica, counted from 0, and its global instance.
    replica: u32,
    instance: u32,
    link: u32,
    prefetch: u32,
    /// Deliveries to it not answered yet.
    outstanding: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MessageState {
    Waiting,
    Delivered,
    Acked,
    DeadLettered,
    Lost,
}

struct Message {
    queue: u32,
    request_type: u16,
    enqueued: SimTime,
    deliveries: u32,
    /// Bumped at every delivery and whenever a delivery stops being the current one, so that
    /// stale visibility timers and acknowledgements are recognised.
    generation: u32,
    state: MessageState,
    /// Deliveries whose consumer has not answered yet: the record is kept until then.
    outstanding: u32,
    /// Times a consumer finished it successfully.
    processed: u32,
    /// The request that sent it (a consumer's message passes its own key on).
    key: u64,
    /// Unique over the run, so that a dependency on a freed and reused record is seen.
    serial: u64,
    partition: u32,
    /// The message it depends on, as (id, serial).
    dep: Option<(u32, u64)>,
}

#[derive(Clone, Copy)]
struct Delivery {
    message: u32,
    slot: u32,
    generation: u32,
}

/// Phases of a task at a cache, kept in its `step` (unused there otherwise).
const CACHE_LOOKUP: u16 = 0;
/// Cache-aside: the miss is travelling back to the caller, or the caller is reading the
/// store; the task then stands for the caller's read and is no longer inside the cache.
const CACHE_ASIDE: u16 = 1;
/// Waiting for another task's fetch of the same key (single flight).
const CACHE_WAIT: u16 = 2;
/// Read-through: the cache is reading the store.
const CACHE_FETCH: u16 = 3;
/// Write-through: the cache is writing to the store.
const CACHE_WRITE: u16 = 4;

/// A cache's contents and configuration. A task at a cache keeps its key in `instance`,
/// which only services and balancers use otherwise.
struct CacheRt {
    latency: Dist,
    mode: CacheMode,
    on_write: OnWrite,
    backing: u32,
    backing_request: Option<u16>,
    /// Read- and write-through: the cache's own link to the store.
    backing_link: u32,
    /// Cache-aside: (link a caller reaches the cache by, that caller's link to the store).
    aside: Vec<(u32, u32)>,
    hit_ratio: f64,
    keys: Option<(Lru, Popularity)>,
    coalesce: bool,
    /// Per request type: it writes its key instead of reading it.
    writes: Vec<bool>,
    /// Keys being fetched: the task fetching each, and the tasks waiting for it.
    inflight: BTreeMap<u32, (u32, Vec<u32>)>,
    key_rng: Stream,
}

/// A balancer's view of which targets it may use: active health checks and passive
/// outlier ejection.
struct Health {
    check: Option<HealthCheck>,
    outlier: Option<Outlier>,
    /// Per target: ejected by health checks.
    ejected: Vec<bool>,
    /// Per target: left out by outlier ejection until then.
    out_until: Vec<SimTime>,
    probe_fails: Vec<u32>,
    probe_oks: Vec<u32>,
    failures_in_row: Vec<u32>,
    /// Targets ejected by health checks, and the latest outlier ejection's end: when both
    /// are nil, every target is eligible and the plain pick runs.
    ejected_count: u32,
    latest_out_until: SimTime,
    /// Per target: a ready replica (autoscaled services have replicas that are not).
    serving: Vec<bool>,
    not_serving: u32,
}

impl Health {
    fn new(n: usize, check: Option<HealthCheck>, outlier: Option<Outlier>) -> Self {
        Health {
            check,
            outlier,
            ejected: vec![false; n],
            out_until: vec![SimTime::ZERO; n],
            probe_fails: vec![0; n],
            probe_oks: vec![0; n],
            failures_in_row: vec![0; n],
            ejected_count: 0,
            latest_out_until: SimTime::ZERO,
            serving: vec![true; n],
            not_serving: 0,
        }
    }

    #[inline]
    fn restricted(&self, now: SimTime) -> bool {
        self.ejected_count > 0 || self.not_serving > 0 || now < self.latest_out_until
    }

    #[inline]
    fn eligible(&self, i: usize, now: SimTime) -> bool {
        self.serving[i] && !self.ejected[i] && now >= self.out_until[i]
    }
}

struct CompRt {
    kind: KindRt,
    /// Its index among the simulation's databases, or `NONE`: read on the service path,
    /// so kept beside the kind rather than in a table of its own.
    db: u32,
    work_rng: Stream,
    route_rng: Stream,
    retry_rng: Stream,
    /// False while a crash fault holds a balancer or an external down (services go down
    /// replica by replica, in [`Instance::up`]).
    up: bool,
    /// Work and latency multiplier and added delay of a `slow` fault in progress.
    slow: Option<(f64, SimTime)>,
    /// Workers each replica has lost to a `capacity` fault.
    lost_workers: u32,
    /// While a `pause` fault holds the component: when it ends, and how long it lasts.
    paused: Option<(SimTime, SimTime)>,
    /// Share of requests failed by an `error` fault.
    fault_errors: f64,
    /// For an `error` fault with a `count`: how many more requests it fails.
    fault_error_count: Option<u64>,
    next_rr: u32,
    busy: u32,
    queued: u32,
    last_change: SimTime,
    busy_area: f64,
    queue_area: f64,
    /// Workers of the ready replicas (services); changes when the service scales.
    capacity: u32,
    capacity_area: f64,
}

impl CompRt {
    /// Adds the time since the last change to the busy, waiting and capacity integrals;
    /// called before every change of `busy`, `queued` or `capacity`.
    #[inline]
    fn touch(&mut self, now: SimTime) {
        let dt = nanos_f64(now - self.last_change);
        self.busy_area += f64::from(self.busy) * dt;
        self.queue_area += f64::from(self.queued) * dt;
        // A lost or retired worker still finishing its request counts while it works, so
        // utilisation never exceeds 1.
        self.capacity_area += f64::from(self.capacity.max(self.busy)) * dt;
        self.last_change = now;
    }

    fn integrals(&self, now: SimTime) -> Integrals {
        let dt = nanos_f64(now - self.last_change);
        Integrals {
            busy_ns: self.busy_area + f64::from(self.busy) * dt,
            queue_ns: self.queue_area + f64::from(self.queued) * dt,
            capacity_ns: self.capacity_area + f64::from(self.capacity.max(self.busy)) * dt,
        }
    }

    /// Replicas ready to serve (1 for balancers and externals).
    fn ready_replicas(&self) -> u32 {
        match self.kind {
            KindRt::Service { replicas, .. } => replicas,
            _ => 1,
        }
    }
}

/// An autoscaled service's scaling state.
struct ScaleRt {
    config: crate::model::Autoscale,
    /// Replicas started and not ready yet.
    starting: u32,
    last_change: SimTime,
    at_last_decision: Integrals,
}

/// A span of simulated time as `f64` nanoseconds. Through `i64` this is one instruction on
/// x86-64; any span of a run (under 292 years) fits.
#[inline]
fn nanos_f64(t: SimTime) -> f64 {
    #[expect(
        clippy::cast_possible_wrap,
        reason = "spans of a run are far below 2^63 ns"
    )]
    let signed = t.as_nanos() as i64;
    signed as f64
}

struct RandomTarget {
    comp: usize,
    replica: Option<u32>,
    stream: Stream,
}

struct LinkRt {
    latency: Dist,
    /// No latency and no fault: crossing it takes no time and no draw.
    zero: bool,
    rng: Stream,
    from: String,
    to: String,
    trouble: LinkTrouble,
    /// Bytes of a request (from → to) and of its answer (to → from).
    bytes: [u64; 2],
    /// Under a bandwidth limit: when each direction is free to send the next message.
    free_at: [SimTime; 2],
    /// Requests sent over it, and answers that came back failed: what a diagram draws.
    sent: u64,
    failed: u64,
    answers: u64,
}

/// What network faults currently do to a link.
#[derive(Default)]
struct LinkTrouble {
    extra: Option<Dist>,
    loss: f64,
    reset: bool,
    /// Black-holed, by a `blackhole` link fault or a partition.
    cut: bool,
    /// Bytes per second, under a bandwidth limit.
    bandwidth: Option<f64>,
}

impl LinkTrouble {
    fn any(&self) -> bool {
        self.extra.is_some()
            || self.loss > 0.0
            || self.reset
            || self.cut
            || self.bandwidth.is_some()
    }
}

/// What happens to a message sent over a link.
enum Crossing {
    After(SimTime),
    /// It vanishes: nobody hears of it.
    Lost,
    /// The connection is refused at once.
    Refused,
}

struct WorkloadRt {
    /// The current rate step: its mean gap in nanoseconds (infinite at rate 0) and when the
    /// next step starts, cached so the common single-rate case does no search.
    mean_gap_ns: f64,
    step_ends: SimTime,
    target: u32,
    link: u32,
    /// Open loop: (start, rate per second) steps. Empty for closed loop.
    steps: Vec<(SimTime, f64)>,
    think: Option<Dist>,
    mix: Vec<(u16, f64)>,
    lane: Option<u16>,
    arrival_rng: Stream,
    mix_rng: Stream,
}

/// Deadlines of one fixed timeout. They expire in the order they were armed, so a FIFO holds
/// them and only its front sits in the event heap: O(1) per timer however many are pending.
/// A request that ends first leaves its entry behind; the generation check skips it then
/// (lazy cancellation).
struct Lane {
    timeout: SimTime,
    entries: VecDeque<LaneEntry>,
}

#[derive(Clone, Copy)]
struct LaneEntry {
    due: SimTime,
    seq: u64,
    /// A root (a client deadline) or a call state (its timeout, or its hedge).
    id: u32,
    generation: u32,
    kind: TimerKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TimerKind {
    Deadline,
    CallTimeout,
    Hedge,
    /// A delivered message's visibility timeout.
    Visibility,
}

fn lane_for(lanes: &mut Vec<Lane>, timeout: SimTime) -> u16 {
    let i = lanes
        .iter()
        .position(|l| l.timeout == timeout)
        .unwrap_or_else(|| {
            lanes.push(Lane {
                timeout,
                entries: VecDeque::new(),
            });
            lanes.len() - 1
        });
    u16::try_from(i).unwrap_or(u16::MAX)
}

/// A vector with a free list, so task and root slots are reused and memory stays flat.
struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    fn new() -> Self {
        Slab {
            items: Vec::with_capacity(1024),
            free: Vec::new(),
        }
    }

    #[inline]
    fn insert(&mut self, item: T) -> u32 {
        if let Some(i) = self.free.pop() {
            self.items[i as usize] = item;
            i
        } else {
            self.items.push(item);
            u32::try_from(self.items.len() - 1).unwrap_or(NONE)
        }
    }

    #[inline]
    fn remove(&mut self, i: u32) {
        self.free.push(i);
    }

    fn live(&self) -> usize {
        self.items.len() - self.free.len()
    }
}

pub struct Simulation {
    model: Arc<Model>,
    seed: u64,
    now: SimTime,
    end: SimTime,
    queue: EventQueue<Ev>,
    immediate: VecDeque<Ev>,
    events: u64,
    /// Direct calls in progress for zero-delay hops (see [`Simulation::now_or_later`]).
    inline_depth: u32,
    n_types: usize,
    comps: Vec<CompRt>,
    instances: Vec<Instance>,
    handlers: Vec<HandlerRt>,
    handler_of: Vec<u32>,
    links: Vec<LinkRt>,
    workloads: Vec<WorkloadRt>,
    lanes: Vec<Lane>,
    /// The model's scripted faults, then those injected while running.
    faults: Vec<Fault>,
    /// Whether each fault is on.
    fault_active: Vec<bool>,
    /// Per component: the length of its latest pause, for work frozen in it.
    last_pause: Vec<SimTime>,
    /// Replicas (or components) with random crashes, each with its own stream.
    random: Vec<RandomTarget>,
    tasks: Slab<Task>,
    roots: Slab<Root>,
    calls: Slab<CallState>,
    messages: Slab<Message>,
    deliveries: Slab<Delivery>,
    /// Components that are message queues.
    brokers: Vec<u32>,
    breakers: Vec<BreakerRt>,
    /// Each bulkhead's limit and the attempts it has outstanding.
    bulkheads: Vec<(u32, u32)>,
    /// Tokens left in each call's retry budget.
    budgets: Vec<f64>,
    recorder: Recorder,
    buckets_left: u32,
    /// Sampled messages for an animated diagram; `None` (no cost) unless asked for.
    trace: Option<Box<Tracer>>,
    dbs: Vec<DbRt>,
    db_events: Slab<DbEvent>,
}

/// Keeps every `every`-th message of each link and direction, without touching any random
/// stream, so that tracing never changes what the simulation does.
struct Tracer {
    every: u64,
    capacity: usize,
    messages: VecDeque<TracedMessage>,
}

impl Tracer {
    fn keep(&mut self, m: TracedMessage) {
        if self.messages.len() == self.capacity {
            self.messages.pop_front();
        }
        self.messages.push_back(m);
    }
}

/// A sampled message crossing a link, for drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracedMessage {
    pub link: u32,
    pub kind: MessageKind,
    pub sent: SimTime,
    /// When it arrives; `None` when the network lost it.
    pub arrives: Option<SimTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Request,
    /// A request that is a retry of an earlier attempt.
    Retry,
    Answer,
    /// An answer carrying a failure.
    Failure,
}

/// What is happening right now, for a live view: the state of each component and link.
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    pub now: SimTime,
    pub events: u64,
    pub components: Vec<LiveComponent>,
    pub links: Vec<LiveLink>,
    /// The latest sampled messages, oldest first.
    pub messages: Vec<TracedMessage>,
    /// Faults on now (scripted or injected), by index into [`Simulation::faults`].
    pub active_faults: Vec<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct LiveComponent {
    /// Replicas in total, and those up (not crashed) among the ready ones.
    pub replicas: u32,
    pub replicas_up: u32,
    /// Whether each replica (by index) is up; one entry for balancers and externals.
    pub replica_up: Vec<bool>,
    pub busy: u32,
    pub capacity: u32,
    pub queued: u32,
    pub integrals: Integrals,
    pub slow: bool,
    pub paused: bool,
    pub failing: bool,
    /// Workers lost to a capacity fault, per replica.
    pub lost_workers: u32,
    /// Databases: each node's replication lag in seconds (0 for a primary); empty otherwise.
    pub replica_lag_s: Vec<f64>,
    /// Databases: which node takes writes (the primary); `None` for the others.
    pub primary: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct LiveLink {
    pub from: String,
    pub to: String,
    pub sent: u64,
    pub answers: u64,
    pub failed: u64,
    /// Cut by a partition or black hole, or suffering another network fault.
    pub cut: bool,
    pub troubled: bool,
}

impl Simulation {
    #[must_use]
    pub fn new(model: Arc<Model>, options: RunOptions) -> Self {
        let seed = options.seed.unwrap_or(model.seed);
        let end = options.duration.unwrap_or(model.duration);
        let warmup = options.warmup.unwrap_or(model.warmup).min(end);
        let n_types = model.request_types.len().max(1);
        let mut links = LinkTable::new(&model, seed);

        let mut lanes: Vec<Lane> = Vec::new();
        let mut breakers: Vec<BreakerRt> = Vec::new();
        let mut budgets: Vec<f64> = Vec::new();
        let mut bulkheads: Vec<(u32, u32)> = Vec::new();
        let mut comps = Vec::with_capacity(model.components.len());
        let mut instances = Vec::new();
        let mut handlers = Vec::new();
        let mut handler_of = vec![NONE; model.components.len() * n_types];
        for (ci, comp) in model.components.iter().enumerate() {
            let kind = match &comp.kind {
                ComponentKind::Service(s) => {
                    let first_instance = u32::try_from(instances.len()).unwrap_or(NONE);
                    let allocated = s
                        .autoscale
                        .as_ref()
                        .map_or(s.replicas, |a| a.max.max(s.replicas));
                    for _ in 0..allocated {
                        instances.push(Instance {
                            up: true,
                            busy: 0,
                            in_system: 0,
                            queue: VecDeque::new(),
                        });
                    }
                    for h in &s.handlers {
                        let id = u32::try_from(handlers.len()).unwrap_or(NONE);
                        handlers.push(HandlerRt {
                            work: h.work.clone(),
                            steps: h
                                .steps
                                .iter()
                                .map(|step| {
                                    let calls = match step {
                                        Step::Call(c) => std::slice::from_ref(c),
                                        Step::Parallel(cs) => cs.as_slice(),
                                    };
                                    calls
                                        .iter()
                                        .map(|c| CallRt {
                                            to: c.to.0,
                                            request: c.request.map(|t| t.0),
                                            link: links.id(&comp.name, &model.component(c.to).name),
                                            timeout_lane: c
                                                .timeout
                                                .map(|t| lane_for(&mut lanes, t)),
                                            retry: c.retry.clone(),
                                            fallback: c.fallback,
                                            hedge_lane: c.hedge.map(|t| lane_for(&mut lanes, t)),
                                            bulkhead: c.concurrency.map(|limit| {
                                                bulkheads.push((limit, 0));
                                                u32::try_from(bulkheads.len() - 1).unwrap_or(NONE)
                                            }),
                                            breaker: c.breaker.clone().map(|config| {
                                                breakers.push(BreakerRt {
                                                    config,
                                                    name: format!(
                                                        "{} → {}",
                                                        comp.name,
                                                        model.component(c.to).name
                                                    ),
                                                    state: BreakerState::Closed,
                                                    consecutive_failures: 0,
                                                    opened_at: SimTime::ZERO,
                                                    probes_out: 0,
                                                    window: [(0, 0); 10],
                                                    window_slot: 0,
                                                });
                                                u32::try_from(breakers.len() - 1).unwrap_or(NONE)
                                            }),
                                            budget: c.retry.as_ref().and_then(|r| r.budget).map(
                                                |b| {
                                                    budgets.push(b.burst);
                                                    u32::try_from(budgets.len() - 1).unwrap_or(NONE)
                                                },
                                            ),
                                        })
                                        .collect()
                                })
                                .collect(),
                        });
                        match h.request {
                            Some(t) => handler_of[ci * n_types + t.0 as usize] = id,
                            None => {
                                for slot in &mut handler_of[ci * n_types..(ci + 1) * n_types] {
                                    if *slot == NONE {
                                        *slot = id;
                                    }
                                }
                            }
                        }
                    }
                    KindRt::Service {
                        first_instance,
                        replicas: s.replicas,
                        allocated,
                        workers_per_replica: s.workers,
                        scale: s.autoscale.clone().map(|config| {
                            Box::new(ScaleRt {
                                config,
                                starting: 0,
                                last_change: SimTime::ZERO,
                                at_last_decision: Integrals::default(),
                            })
                        }),
                        workers: s.workers,
                        queue_cap: s.queue.unwrap_or(u32::MAX),
                        io_async: s.io == Io::Async,
                        balance: s.balance,
                        queue_timeout: s.queue_timeout,
                        lifo: s.lifo,
                    }
                }
                ComponentKind::LoadBalancer(lb) => {
                    let mut targets = Vec::new();
                    for b in &lb.backends {
                        let link = links.id(&comp.name, &model.component(*b).name);
                        match &model.component(*b).kind {
                            ComponentKind::Service(s) => {
                                // Instances of later components are not created yet; their
                                // numbers are fixed up below.
                                let allocated = s
                                    .autoscale
                                    .as_ref()
                                    .map_or(s.replicas, |a| a.max.max(s.replicas));
                                for r in 0..allocated {
                                    targets.push(LbTarget {
                                        comp: b.0,
                                        instance: r,
                                        link,
                                    });
                                }
                            }
                            _ => targets.push(LbTarget {
                                comp: b.0,
                                instance: NONE,
                                link,
                            }),
                        }
                    }
                    KindRt::Balancer {
                        policy: lb.policy,
                        outstanding: vec![0; targets.len()],
                        health: Box::new(Health::new(
                            targets.len(),
                            lb.health_check.clone(),
                            lb.outlier.clone(),
                        )),
                        targets,
                        latency: lb.latency.clone(),
                    }
                }
                ComponentKind::External(e) => match (comp.kind.cache(), comp.kind.queue()) {
                    (None, Some(q)) => KindRt::Queue(Box::new(BrokerRt {
                        latency: e.latency.clone(),
                        durable: q.durable,
                        visibility_lane: lane_for(&mut lanes, q.visibility_timeout),
                        max_deliveries: q.max_deliveries,
                        capacity: q.capacity.unwrap_or(u32::MAX),
                        slots: q
                            .consumers
                            .iter()
                            .flat_map(|&c| {
                                let (replicas, workers) = match &model.component(c).kind {
                                    ComponentKind::Service(s) => (
                                        s.autoscale
                                            .as_ref()
                                            .map_or(s.replicas, |a| a.max.max(s.replicas)),
                                        s.workers,
                                    ),
                                    _ => (0, 0),
                                };
                                let link = links.id(&comp.name, &model.component(c).name);
                                (0..replicas).map(move |r| ConsumerSlot {
                                    comp: c.0,
                                    replica: r,
                                    instance: NONE,
                                    link,
                                    prefetch: q.prefetch.unwrap_or(workers),
                                    outstanding: 0,
                                })
                            })
                            .collect(),
                        next_slot: 0,
                        backlog: VecDeque::new(),
                        unacked: 0,
                        ordering: q.ordering,
                        partition_busy: match q.ordering {
                            MessageOrdering::PerKey { partitions } => {
                                vec![0; partitions as usize]
                            }
                            _ => Vec::new(),
                        },
                        depends_on: {
                            let mut v = vec![u16::MAX; n_types];
                            for (a, b) in &q.depends {
                                v[a.0 as usize] = b.0;
                            }
                            v
                        },
                        is_dependency: {
                            let mut v = vec![false; n_types];
                            for (_, b) in &q.depends {
                                v[b.0 as usize] = true;
                            }
                            v
                        },
                        latest: BTreeMap::new(),
                        next_serial: 0,
                    })),
                    (None, None) => KindRt::External {
                        latency: e.latency.clone(),
                        error_fraction: e.error_fraction,
                    },
                    (Some(cache), _) => {
                        let mut writes = vec![false; n_types];
                        for t in &cache.writes {
                            writes[t.0 as usize] = true;
                        }
                        let backing = &model.component(cache.backing).name;
                        KindRt::Cache(Box::new(CacheRt {
                            latency: e.latency.clone(),
                            mode: cache.mode,
                            on_write: cache.on_write,
                            backing: cache.backing.0,
                            backing_request: cache.backing_request.map(|t| t.0),
                            backing_link: if cache.mode.cache_reads_store() {
                                links.id(&comp.name, backing)
                            } else {
                                NONE
                            },
                            aside: Vec::new(),
                            hit_ratio: match &cache.hits {
                                CacheHits::Fixed(p) => *p,
                                CacheHits::Keys(_) => 0.0,
                            },
                            keys: match &cache.hits {
                                CacheHits::Fixed(_) => None,
                                CacheHits::Keys(space) => Some((
                                    Lru::new(space.keys, space.capacity, space.ttl),
                                    Popularity::new(space),
                                )),
                            },
                            coalesce: cache.coalesce,
                            writes,
                            inflight: BTreeMap::new(),
                            key_rng: Stream::derive(seed, &comp.name, "keys"),
                        }))
                    }
                },
            };
            comps.push(CompRt {
                kind,
                db: NONE,
                work_rng: Stream::derive(seed, &comp.name, "work"),
                route_rng: Stream::derive(seed, &comp.name, "route"),
                retry_rng: Stream::derive(seed, &comp.name, "retry"),
                up: true,
                slow: None,
                lost_workers: 0,
                paused: None,
                fault_errors: 0.0,
                fault_error_count: None,
                next_rr: 0,
                busy: 0,
                queued: 0,
                last_change: SimTime::ZERO,
                busy_area: 0.0,
                queue_area: 0.0,
                capacity: match &comp.kind {
                    ComponentKind::Service(s) => s.replicas * s.workers,
                    _ => 0,
                },
                capacity_area: 0.0,
            });
        }
        aside_links(&model, &mut comps, &mut links);
        // Balancer targets were recorded as replica numbers; make them global instances.
        let firsts: Vec<u32> = comps
            .iter()
            .map(|c| match c.kind {
                KindRt::Service { first_instance, .. } => first_instance,
                _ => NONE,
            })
            .collect();
        for c in &mut comps {
            if let KindRt::Balancer { targets, .. } = &mut c.kind {
                for t in targets.iter_mut().filter(|t| t.instance != NONE) {
                    t.instance += firsts[t.comp as usize];
                }
            }
            if let KindRt::Queue(b) = &mut c.kind {
                for s in &mut b.slots {
                    s.instance = firsts[s.comp as usize] + s.replica;
                }
            }
        }
        let brokers: Vec<u32> = comps
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.kind, KindRt::Queue(_)))
            .map(|(i, _)| u32::try_from(i).unwrap_or(NONE))
            .collect();

        let workloads = model
            .workloads
            .iter()
            .map(|w| {
                let lane = w.timeout.map(|timeout| lane_for(&mut lanes, timeout));
                let (steps, think) = match &w.arrivals {
                    Arrivals::Open { steps } => (steps.clone(), None),
                    Arrivals::Closed { think, .. } => (Vec::new(), Some(think.clone())),
                };
                WorkloadRt {
                    mean_gap_ns: f64::INFINITY,
                    step_ends: SimTime::ZERO,
                    target: w.target.0,
                    link: links.id(&w.name, &model.component(w.target).name),
                    steps,
                    think,
                    mix: w.mix.iter().map(|&(t, p)| (t.0, p)).collect(),
                    lane,
                    arrival_rng: Stream::derive(seed, &w.name, "arrivals"),
                    mix_rng: Stream::derive(seed, &w.name, "mix"),
                }
            })
            .collect();

        let mut random = Vec::new();
        for (ci, comp) in model.components.iter().enumerate() {
            if comp.random_failures.is_some() {
                let replicas = match &comp.kind {
                    ComponentKind::Service(s) => (0..s.replicas).map(Some).collect(),
                    _ => vec![None],
                };
                for replica in replicas {
                    let owner = match replica {
                        Some(r) => format!("{}[{r}]", comp.name),
                        None => comp.name.clone(),
                    };
                    random.push(RandomTarget {
                        comp: ci,
                        replica,
                        stream: Stream::derive(seed, &owner, "failures"),
                    });
                }
            }
        }
        let mut dbs = Vec::new();
        for (ci, comp) in model.components.iter().enumerate() {
            if let (
                Some(db),
                KindRt::Service {
                    first_instance,
                    allocated,
                    ..
                },
            ) = (comp.kind.database(), &comps[ci].kind)
            {
                let rt = DbRt::new(&model, ci, db, *first_instance, *allocated, seed);
                comps[ci].db = u32::try_from(dbs.len()).unwrap_or(NONE);
                dbs.push(rt);
            }
        }
        let mut recorder = Recorder::new(&model, end, warmup);
        recorder.set_breakers(breakers.iter().map(|b| b.name.clone()).collect());
        let mut sim = Simulation {
            seed,
            now: SimTime::ZERO,
            end,
            queue: EventQueue::new(),
            immediate: VecDeque::with_capacity(64),
            events: 0,
            inline_depth: 0,
            n_types,
            comps,
            instances,
            handlers,
            handler_of,
            links: links.finish(),
            workloads,
            lanes,
            faults: model.faults.clone(),
            fault_active: vec![false; model.faults.len()],
            trace: None,
            last_pause: vec![SimTime::ZERO; model.components.len()],
            random,
            tasks: Slab::new(),
            roots: Slab::new(),
            calls: Slab::new(),
            messages: Slab::new(),
            deliveries: Slab::new(),
            brokers,
            breakers,
            bulkheads,
            budgets,
            recorder,
            buckets_left: model.series_buckets.max(1),
            dbs,
            db_events: Slab::new(),
            model,
        };
        sim.schedule_start(warmup);
        sim
    }

    fn schedule_start(&mut self, warmup: SimTime) {
        if warmup > SimTime::ZERO {
            self.queue.push(warmup, Ev::WarmupEnd);
        }
        for ci in 0..self.comps.len() {
            if let KindRt::Service { scale: Some(_), .. } = &self.comps[ci].kind {
                self.refresh_serving(ci);
            }
        }
        for (ci, c) in self.comps.iter().enumerate() {
            if let KindRt::Service { scale: Some(s), .. } = &c.kind {
                self.queue.push(
                    s.config.window,
                    Ev::Autoscale(u32::try_from(ci).unwrap_or(NONE)),
                );
            }
            if let KindRt::Balancer { health, .. } = &c.kind
                && let Some(check) = &health.check
            {
                self.queue.push(
                    check.interval,
                    Ev::HealthCheck(u32::try_from(ci).unwrap_or(NONE)),
                );
            }
        }
        for i in 0..self.random.len() {
            let comp = self.random[i].comp;
            if let Some(rf) = &self.model.components[comp].random_failures {
                let first = self.random[i].stream.sample(&rf.mtbf);
                self.queue
                    .push(first, Ev::RandomDown(u32::try_from(i).unwrap_or(NONE)));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            let i = u16::try_from(i).unwrap_or(u16::MAX);
            if f.at <= self.end {
                self.queue.push(f.at, Ev::FaultStart(i));
                if let Some(d) = f.duration
                    && f.at + d <= self.end
                {
                    self.queue.push(f.at + d, Ev::FaultEnd(i));
                }
            }
        }
        self.schedule_next_bucket();
        for wi in 0..self.workloads.len() {
            let w = u16::try_from(wi).unwrap_or(u16::MAX);
            match &self.model.workloads[wi].arrivals {
                Arrivals::Open { .. } => self.schedule_arrival(w, SimTime::ZERO),
                Arrivals::Closed { users, .. } => {
                    for _ in 0..*users {
                        self.schedule_user(w);
                    }
                }
            }
        }
    }

    fn schedule_next_bucket(&mut self) {
        let total = self.model.series_buckets.max(1);
        if self.buckets_left == 0 {
            return;
        }
        let k = total - self.buckets_left + 1;
        // The last bucket is closed by `finish`, after every event at the final instant.
        if k < total {
            let at = SimTime::from_nanos(self.recorder.bucket_width().as_nanos() * u64::from(k));
            self.queue.push(at, Ev::BucketEnd);
        }
    }

    #[must_use]
    pub fn now(&self) -> SimTime {
        self.now
    }

    #[must_use]
    pub fn end(&self) -> SimTime {
        self.end
    }

    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    #[must_use]
    pub fn events_processed(&self) -> u64 {
        self.events
    }

    #[must_use]
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Keeps every `every`-th message of each link and direction (at most `capacity` of
    /// them) for [`Simulation::live`]. What the simulation does is unchanged.
    pub fn trace_messages(&mut self, every: u64, capacity: usize) {
        self.trace = Some(Box::new(Tracer {
            every: every.max(1),
            capacity: capacity.max(1),
            messages: VecDeque::with_capacity(capacity.max(1)),
        }));
    }

    /// Every fault: the model's, then the injected ones, in order.
    #[must_use]
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Starts a fault now (its `at` is ignored and set to now), as if it had been scripted
    /// for this instant; it ends after its `duration`, at [`Simulation::end_fault`], or at
    /// the end of the run. Returns its index among [`Simulation::faults`].
    ///
    /// Replaying the same injections at the same instants reproduces the run exactly.
    pub fn inject(&mut self, mut fault: Fault) -> usize {
        fault.at = self.now;
        let index = self.faults.len();
        let id = u16::try_from(index).unwrap_or(u16::MAX);
        if let Some(d) = fault.duration
            && self.now + d <= self.end
        {
            self.queue.push(self.now + d, Ev::FaultEnd(id));
        }
        self.faults.push(fault);
        self.fault_active.push(false);
        self.queue.push(self.now, Ev::FaultStart(id));
        index
    }

    /// Ends a fault now (a restart, a healed partition); nothing if it is not on.
    pub fn end_fault(&mut self, index: usize) {
        if self.fault_active.get(index).copied().unwrap_or(false) {
            // A flapping fault keeps toggling until its window ends; ending it by hand
            // ends the window too.
            self.faults[index].flap = None;
            let id = u16::try_from(index).unwrap_or(u16::MAX);
            self.queue.push(self.now, Ev::FaultEnd(id));
        }
    }

    /// The state of every component and link now, and the latest sampled messages.
    #[must_use]
    pub fn live(&self) -> LiveState {
        let now = self.now;
        let components = self
            .comps
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                let replica_up: Vec<bool> = match &c.kind {
                    KindRt::Service {
                        first_instance,
                        replicas,
                        ..
                    } => (0..*replicas)
                        .map(|r| self.instances[(first_instance + r) as usize].up)
                        .collect(),
                    _ => vec![c.up],
                };
                LiveComponent {
                    replicas: c.ready_replicas(),
                    replicas_up: u32::try_from(replica_up.iter().filter(|u| **u).count())
                        .unwrap_or(0),
                    replica_up,
                    busy: c.busy,
                    capacity: c.capacity,
                    queued: c.queued,
                    integrals: c.integrals(now),
                    slow: c.slow.is_some(),
                    paused: c.paused.is_some(),
                    failing: c.fault_errors > 0.0,
                    lost_workers: c.lost_workers,
                    replica_lag_s: self.db_live_lags(ci),
                    primary: self.db_primary(ci),
                }
            })
            .collect();
        let links = self
            .links
            .iter()
            .map(|l| LiveLink {
                from: l.from.clone(),
                to: l.to.clone(),
                sent: l.sent,
                answers: l.answers,
                failed: l.failed,
                cut: l.trouble.cut,
                troubled: l.trouble.any(),
            })
            .collect();
        let messages = self
            .trace
            .as_ref()
            .map_or_else(Vec::new, |t| t.messages.iter().copied().collect());
        LiveState {
            now,
            events: self.events,
            components,
            links,
            messages,
            active_faults: self
                .fault_active
                .iter()
                .enumerate()
                .filter_map(|(i, on)| on.then_some(i))
                .collect(),
        }
    }

    /// The cumulative counters a live view measures recent figures from
    /// ([`crate::observe::recent::RecentWindow`]).
    #[must_use]
    pub fn counters(&self) -> crate::observe::recent::Counters {
        let now = self.now;
        let integrals: Vec<Integrals> = self.comps.iter().map(|c| c.integrals(now)).collect();
        crate::observe::recent::Counters {
            links: self
                .links
                .iter()
                .map(|l| [l.sent, l.answers, l.failed])
                .collect(),
            busy_ns: integrals.iter().map(|i| i.busy_ns).collect(),
            capacity_ns: integrals.iter().map(|i| i.capacity_ns).collect(),
        }
    }

    /// The report of the run so far, without ending it: the series hold the time buckets
    /// closed so far, which are the same as those of the finished run.
    ///
    /// # Errors
    /// When the engine broke an invariant (a bug).
    pub fn report_now(&self) -> Result<Report, SimError> {
        let (in_flight_by_type, live) = self.in_flight()?;
        let integrals: Vec<Integrals> = self.comps.iter().map(|c| c.integrals(self.now)).collect();
        Ok(self.recorder.report(&Finish {
            model: &self.model,
            seed: self.seed,
            now: self.now,
            integrals: &integrals,
            in_flight_by_type: &in_flight_by_type,
            in_flight: live,
            sim_events: self.events,
            queues: &self.queue_states(),
            databases: &self.db_states(),
        }))
    }

    fn in_flight(&self) -> Result<(Vec<u64>, u64), SimError> {
        let live = self.roots.live() as u64;
        let mut in_flight_by_type = vec![0u64; self.model.request_types.len()];
        let free: std::collections::BTreeSet<u32> = self.roots.free.iter().copied().collect();
        for (i, r) in self.roots.items.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(NONE);
            if !free.contains(&i) {
                if !r.live {
                    return Err(self.invariant(format!("root {i} is allocated but not live")));
                }
                if r.counted {
                    in_flight_by_type[r.request_type as usize] += 1;
                }
            }
        }
        Ok((in_flight_by_type, live))
    }

    /// Processes every event up to and including `until` (capped at the run's end), then
    /// sets the clock to it.
    pub fn run_until(&mut self, until: SimTime) {
        let until = until.min(self.end);
        while self.step_before(until) {}
        self.now = self.now.max(until);
    }

    /// Processes one event if there is one at or before the end; otherwise moves the clock
    /// to the end and returns false.
    pub fn step(&mut self) -> bool {
        if self.step_before(self.end) {
            return true;
        }
        self.now = self.end;
        false
    }

    #[inline]
    fn step_before(&mut self, until: SimTime) -> bool {
        if let Some(ev) = self.immediate.pop_front() {
            self.events += 1;
            self.handle(ev);
            return true;
        }
        match self.queue.peek_time() {
            Some(t) if t <= until => {
                if let Some((t, ev)) = self.queue.pop() {
                    assert!(
                        t >= self.now,
                        "time went backwards from {} to {t}; reproduce with --seed {}",
                        self.now,
                        self.seed
                    );
                    self.now = t;
                    self.events += 1;
                    self.handle(ev);
                }
                true
            }
            _ => false,
        }
    }

    /// Runs to the end and returns the report.
    ///
    /// # Errors
    /// When the engine broke an invariant (a bug): the message says which and the seed.
    pub fn run(mut self) -> Result<Report, SimError> {
        self.run_until(self.end);
        self.finish()
    }

    /// Ends the run at the current instant and builds the report.
    ///
    /// # Errors
    /// When a request was lost or counted twice (a bug).
    pub fn finish(mut self) -> Result<Report, SimError> {
        let (in_flight_by_type, live) = self.in_flight()?;
        if self.buckets_left > 0 {
            self.close_bucket();
        }
        let integrals: Vec<Integrals> = self.comps.iter().map(|c| c.integrals(self.now)).collect();
        let queues = self.queue_states();
        let databases = self.db_states();
        let report = self.recorder.finish(&Finish {
            model: &self.model,
            seed: self.seed,
            now: self.now,
            integrals: &integrals,
            in_flight_by_type: &in_flight_by_type,
            in_flight: live,
            sim_events: self.events,
            queues: &queues,
            databases: &databases,
        });
        for (name, c) in &report.components {
            if let Some(q) = &c.queue
                && q.enqueued != q.acked + q.dead_lettered + q.lost + q.backlog + q.unacked
            {
                return Err(SimError::Invariant {
                    seed: self.seed,
                    message: format!(
                        "messages not conserved at `{name}`: {} enqueued but {} acknowledged + \
                         {} dead-lettered + {} lost + {} waiting + {} unacknowledged",
                        q.enqueued, q.acked, q.dead_lettered, q.lost, q.backlog, q.unacked
                    ),
                });
            }
        }
        let t = report.totals;
        if t.generated != t.ok + t.ok_degraded + t.failed + t.in_flight {
            return Err(SimError::Invariant {
                seed: self.seed,
                message: format!(
                    "requests not conserved: {} generated but {} ok + {} degraded + {} failed + {} in flight",
                    t.generated, t.ok, t.ok_degraded, t.failed, t.in_flight
                ),
            });
        }
        for (name, r) in &report.requests {
            if r.count != r.ok + r.ok_degraded + r.failed + r.in_flight {
                return Err(SimError::Invariant {
                    seed: self.seed,
                    message: format!(
                        "requests of type `{name}` not conserved: {} counted but {} ok + {} degraded + {} failed + {} in flight",
                        r.count, r.ok, r.ok_degraded, r.failed, r.in_flight
                    ),
                });
            }
        }
        Ok(report)
    }

    fn invariant(&self, message: String) -> SimError {
        SimError::Invariant {
            seed: self.seed,
            message,
        }
    }

    #[inline]
    fn at(&mut self, delay: SimTime, ev: Ev) {
        if delay == SimTime::ZERO {
            self.immediate.push_back(ev);
        } else {
            self.queue.push(self.now + delay, ev);
        }
    }

    /// A hop that takes no time (a zero-latency link, a balancer with no delay) is handled at
    /// once by a direct call: the same instant and the same causal order as going through
    /// the immediate queue, without its cost. Past a small depth it is queued instead.
    #[inline]
    fn now_or_later(&mut self, delay: SimTime, ev: Ev) {
        if delay == SimTime::ZERO && self.inline_depth < MAX_INLINE_DEPTH {
            self.inline_depth += 1;
            self.events += 1;
            self.handle(ev);
            self.inline_depth -= 1;
        } else {
            self.at(delay, ev);
        }
    }

    #[inline]
    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Arrival(w) => self.arrival(w),
            Ev::UserReady(w) => self.start_request(w),
            Ev::Deliver(t) => self.deliver(t),
            Ev::WorkDone(t) => self.work_done(t),
            Ev::Reply(t) => self.reply_arrived(t),
            Ev::Timers(l) => self.timers(l),
            Ev::Retry(c) => self.start_attempt(c),
            Ev::HealthCheck(c) => self.health_check(c),
            Ev::Autoscale(c) => self.autoscale(c),
            Ev::ReplicaReady(c) => self.replica_ready(c),
            Ev::FaultStart(i) => self.fault(i, true),
            Ev::FaultEnd(i) => self.fault(i, false),
            Ev::RandomDown(i) => self.random_failure(i, true),
            Ev::RandomUp(i) => self.random_failure(i, false),
            Ev::Db(e) => self.db_event(e),
            Ev::BucketEnd => {
                self.close_bucket();
                self.buckets_left = self.buckets_left.saturating_sub(1);
                self.schedule_next_bucket();
            }
            Ev::WarmupEnd => {
                let integrals: Vec<Integrals> =
                    self.comps.iter().map(|c| c.integrals(self.now)).collect();
                let queues: Vec<u32> = self.comps.iter().map(|c| c.queued).collect();
                self.recorder.warmup_reached(&integrals, &queues);
            }
        }
    }

    // ---- workloads ----------------------------------------------------------------------

    /// Draws the next arrival after `from`. Poisson arrivals are memoryless, so restarting
    /// the draw at each rate change is exact.
    fn schedule_arrival(&mut self, w: u16, from: SimTime) {
        let end = self.end;
        let wl = &mut self.workloads[w as usize];
        let mut t = from;
        loop {
            if t >= wl.step_ends {
                let seg = wl
                    .steps
                    .partition_point(|&(at, _)| at <= t)
                    .saturating_sub(1);
                let rate = wl.steps[seg].1;
                wl.mean_gap_ns = if rate > 0.0 {
                    1e9 / rate
                } else {
                    f64::INFINITY
                };
                wl.step_ends = wl.steps.get(seg + 1).map_or(SimTime::MAX, |s| s.0);
            }
            if wl.mean_gap_ns.is_infinite() {
                if wl.step_ends == SimTime::MAX {
                    return;
                }
                t = wl.step_ends;
                continue;
            }
            let candidate = t + ns_to_time(wl.arrival_rng.exp(wl.mean_gap_ns));
            if candidate < wl.step_ends {
                if candidate <= end {
                    self.queue.push(candidate, Ev::Arrival(w));
                }
                return;
            }
            t = wl.step_ends;
        }
    }

    fn schedule_user(&mut self, w: u16) {
        let wl = &mut self.workloads[w as usize];
        let think = match &wl.think {
            Some(d) => wl.arrival_rng.sample(d),
            None => SimTime::ZERO,
        };
        self.at(think, Ev::UserReady(w));
    }

    fn arrival(&mut self, w: u16) {
        self.schedule_arrival(w, self.now);
        self.start_request(w);
    }

    fn start_request(&mut self, w: u16) {
        let wl = &mut self.workloads[w as usize];
        let request_type = if wl.mix.len() == 1 {
            wl.mix[0].0
        } else {
            let u = wl.mix_rng.unit();
            wl.mix
                .iter()
                .find(|&&(_, cum)| u < cum)
                .map_or(wl.mix[wl.mix.len() - 1].0, |&(t, _)| t)
        };
        let (target, link, lane) = (wl.target, wl.link, wl.lane);
        let counted = self.recorder.measuring();
        let root = self.roots.insert_root(Root {
            generation: 0,
            live: true,
            counted,
            workload: w,
            request_type,
            start: self.now,
        });
        let generation = self.roots.items[root as usize].generation;
        self.recorder
            .request_started(request_type as usize, counted);
        if let Some(l) = lane {
            self.arm_timer(l, root, generation, TimerKind::Deadline);
        }
        let instance = self.choose_instance(target, request_type);
        let task = self.new_task(NONE, root, generation, target, instance, request_type, link);
        self.send(task);
    }

    /// Arms a timer in a lane: for a root (its client deadline) or a call state (its
    /// timeout per attempt).
    fn arm_timer(&mut self, lane: u16, id: u32, generation: u32, kind: TimerKind) {
        let seq = self.queue.take_seq();
        let l = &mut self.lanes[lane as usize];
        let due = self.now + l.timeout;
        let was_empty = l.entries.is_empty();
        l.entries.push_back(LaneEntry {
            due,
            seq,
            id,
            generation,
            kind,
        });
        if was_empty {
            self.queue.push_with_seq(due, seq, Ev::Timers(lane));
        }
    }

    /// Whether a timer still guards something: its root or its call's attempt is current.
    fn timer_is_current(&self, e: &LaneEntry) -> bool {
        match e.kind {
            TimerKind::Visibility => {
                let m = &self.messages.items[e.id as usize];
                m.generation == e.generation && m.state == MessageState::Delivered
            }
            TimerKind::Deadline => {
                let r = &self.roots.items[e.id as usize];
                r.live && r.generation == e.generation
            }
            TimerKind::CallTimeout => {
                let c = &self.calls.items[e.id as usize];
                c.generation == e.generation && (c.child != NONE || c.hedge != NONE)
            }
            TimerKind::Hedge => {
                let c = &self.calls.items[e.id as usize];
                c.generation == e.generation && c.child != NONE && c.hedge == NONE
            }
        }
    }

    fn timers(&mut self, lane: u16) {
        let Some(due) = self.lanes[lane as usize].entries.pop_front() else {
            return;
        };
        // Timers of requests and attempts that have already ended are dropped now rather
        // than each at its own time: most end long before their deadline, and this keeps a
        // lane's cost to one heap event per live timer instead of one per request.
        while let Some(front) = self.lanes[lane as usize].entries.front().copied() {
            if self.timer_is_current(&front) {
                break;
            }
            self.lanes[lane as usize].entries.pop_front();
        }
        if let Some(front) = self.lanes[lane as usize].entries.front() {
            self.queue
                .push_with_seq(front.due, front.seq, Ev::Timers(lane));
        }
        if !self.timer_is_current(&due) {
            return;
        }
        match due.kind {
            // The caller stops waiting for this attempt; the callee's work goes on, wasted.
            TimerKind::CallTimeout => self.attempt_ended(due.id, Some(Cause::Timeout), true, false),
            // The work already under way goes on: only the client has given up.
            TimerKind::Deadline => self.end_root(due.id, Err(Cause::Timeout)),
            TimerKind::Hedge => self.send_hedge(due.id),
            TimerKind::Visibility => self.visibility_expired(due.id),
        }
    }

    fn end_root(&mut self, root: u32, outcome: Result<Answer, Cause>) {
        let r = &mut self.roots.items[root as usize];
        debug_assert!(
            r.live,
            "a request ended twice; reproduce with --seed {}",
            self.seed
        );
        r.live = false;
        r.generation = r.generation.wrapping_add(1);
        let (request_type, counted, start, w) = (r.request_type, r.counted, r.start, r.workload);
        self.roots.remove(root);
        self.recorder
            .request_ended(request_type as usize, counted, self.now - start, outcome);
        if self.workloads[w as usize].think.is_some() {
            self.schedule_user(w);
        }
    }

    // ---- tasks --------------------------------------------------------------------------

    /// Picks the replica of a service that a direct call lands on; `NONE` for other kinds.
    fn choose_instance(&mut self, comp: u32, request_type: u16) -> u32 {
        if let Some(d) = self.db_index(comp as usize) {
            return self.db_choose(d, request_type);
        }
        let c = &mut self.comps[comp as usize];
        match &c.kind {
            KindRt::Service {
                first_instance,
                replicas,
                balance,
                ..
            } => {
                let (first, n, policy) = (*first_instance, *replicas, *balance);
                if n == 1 {
                    return first;
                }
                let instances = &self.instances[first as usize..(first + n) as usize];
                first
                    + pick(policy, n, &mut c.next_rr, &mut c.route_rng, |i| {
                        instances[i as usize].in_system
                    })
            }
            _ => NONE,
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "a task's identity; a struct would only rename them"
    )]
    fn new_task(
        &mut self,
        parent: u32,
        root: u32,
        root_gen: u32,
        comp: u32,
        instance: u32,
        request_type: u16,
        link: u32,
    ) -> u32 {
        let handler = self.handler_of[comp as usize * self.n_types + request_type as usize];
        self.tasks.insert(Task {
            parent,
            root,
            root_gen,
            comp,
            instance,
            handler,
            link,
            arrived: SimTime::ZERO,
            request_type,
            step: 0,
            pending: 0,
            failed: None,
            call: NONE,
            degraded: false,
            holds_worker: false,
            record: false,
            inside: false,
            working: false,
            zombie: false,
            frozen: false,
            live: true,
        })
    }

    #[inline]
    fn free_task(&mut self, task: u32) {
        self.tasks.items[task as usize].live = false;
        self.tasks.remove(task);
    }

    /// Sends a task to its component over its link.
    #[inline]
    fn send(&mut self, task: u32) {
        let link = self.tasks.items[task as usize].link;
        self.links[link as usize].sent += 1;
        let crossing = self.cross(link, true);
        if self.trace.is_some() {
            self.trace_request(task, link, &crossing);
        }
        match crossing {
            Crossing::After(delay) => self.now_or_later(delay, Ev::Deliver(task)),
            // The caller hears nothing; only its timeout (if any) ends the wait.
            Crossing::Lost => self.lost_in_network(task),
            Crossing::Refused => {
                self.tasks.items[task as usize].failed = Some(Cause::Unavailable);
                self.now_or_later(SimTime::ZERO, Ev::Reply(task));
            }
        }
    }

    /// What happens to a message on a link. The common case (no latency, no trouble) is
    /// inlined; the rest is not.
    #[inline]
    fn cross(&mut self, link: u32, request: bool) -> Crossing {
        if self.links[link as usize].zero {
            return Crossing::After(SimTime::ZERO);
        }
        self.cross_slow(link, request)
    }

    #[inline(never)]
    fn cross_slow(&mut self, link: u32, request: bool) -> Crossing {
        let l = &mut self.links[link as usize];
        let mut delay = l.rng.sample(&l.latency);
        let t = &l.trouble;
        if t.any() {
            if t.cut || (t.loss > 0.0 && l.rng.unit() < t.loss) {
                return Crossing::Lost;
            }
            if t.reset && request {
                return Crossing::Refused;
            }
            if let Some(extra) = &t.extra {
                delay += l.rng.sample(extra);
            }
            if let Some(bytes_per_s) = t.bandwidth {
                // Messages cross one after another: wait for the link, then take the
                // message's size over the bandwidth.
                let dir = usize::from(!request);
                let transmit = ns_to_time(l.bytes[dir] as f64 / bytes_per_s * 1e9);
                let start = l.free_at[dir].max(self.now);
                l.free_at[dir] = start + transmit;
                delay += (start - self.now) + transmit;
            }
        }
        Crossing::After(delay)
    }

    #[inline]
    fn count_answer(&mut self, task: u32, link: u32, crossing: &Crossing) {
        let failed = self.tasks.items[task as usize].failed.is_some();
        let l = &mut self.links[link as usize];
        l.answers += 1;
        l.failed += u64::from(failed);
        if let Some(trace) = &mut self.trace
            && l.answers.is_multiple_of(trace.every)
        {
            trace.keep(TracedMessage {
                link,
                kind: if failed {
                    MessageKind::Failure
                } else {
                    MessageKind::Answer
                },
                sent: self.now,
                arrives: arrival(self.now, crossing),
            });
        }
    }

    #[inline(never)]
    fn trace_request(&mut self, task: u32, link: u32, crossing: &Crossing) {
        let call = self.tasks.items[task as usize].call;
        let retry = call != NONE && self.calls.items[call as usize].attempts > 1;
        let sent = self.links[link as usize].sent;
        if let Some(trace) = &mut self.trace
            && sent.is_multiple_of(trace.every)
        {
            trace.keep(TracedMessage {
                link,
                kind: if retry {
                    MessageKind::Retry
                } else {
                    MessageKind::Request
                },
                sent: self.now,
                arrives: arrival(self.now, crossing),
            });
        }
    }

    /// Fails a task that its component could not take, and answers its caller at once.
    fn turn_away(&mut self, task: u32, cause: Cause) {
        self.tasks.items[task as usize].failed = Some(cause);
        self.answer(task);
    }

    fn deliver(&mut self, task: u32) {
        let now = self.now;
        let record = self.recorder.measuring();
        let t = &mut self.tasks.items[task as usize];
        t.arrived = now;
        t.record = record;
        let (ci, inst) = (t.comp as usize, t.instance);
        self.recorder.arrived(ci);
        let c = &mut self.comps[ci];
        match &mut c.kind {
            KindRt::Service {
                workers, queue_cap, ..
            } => {
                let (workers, cap) = (workers.saturating_sub(c.lost_workers), *queue_cap);
                let instance = &mut self.instances[inst as usize];
                if !instance.up {
                    self.turn_away(task, Cause::Unavailable);
                } else if instance.busy < workers && c.paused.is_none() {
                    instance.in_system += 1;
                    self.tasks.items[task as usize].inside = true;
                    self.start_work(task);
                } else if (instance.queue.len() as u64) < u64::from(cap) {
                    instance.in_system += 1;
                    instance.queue.push_back(task);
                    c.touch(now);
                    c.queued += 1;
                    self.recorder.queue_length(ci, c.queued);
                    self.tasks.items[task as usize].inside = true;
                } else {
                    self.recorder.rejected(ci);
                    self.turn_away(task, Cause::Rejected);
                }
            }
            KindRt::Cache(_) => self.cache_arrived(task),
            _ if !c.up => self.turn_away(task, Cause::Unavailable),
            KindRt::Queue(b) => {
                let delay = scale(c.work_rng.sample(&b.latency), c.slow)
                    + c.paused.map_or(SimTime::ZERO, |(until, _)| until - now);
                let t = &mut self.tasks.items[task as usize];
                t.inside = true;
                t.working = true;
                self.at(delay, Ev::WorkDone(task));
            }
            KindRt::Balancer {
                policy,
                targets,
                outstanding,
                latency,
                health,
            } => {
                let n = u32::try_from(targets.len()).unwrap_or(NONE);
                let slot = if health.restricted(now) {
                    pick_eligible(*policy, n, &mut c.next_rr, &mut c.route_rng, |i| {
                        health
                            .eligible(i as usize, now)
                            .then(|| outstanding[i as usize])
                    })
                } else {
                    Some(pick(*policy, n, &mut c.next_rr, &mut c.route_rng, |i| {
                        outstanding[i as usize]
                    }))
                };
                let Some(slot) = slot else {
                    // Every backend is ejected: nothing is left to send to.
                    self.turn_away(task, Cause::Unavailable);
                    return;
                };
                outstanding[slot as usize] += 1;
                let delay = if latency.is_zero() && c.slow.is_none() {
                    SimTime::ZERO
                } else {
                    scale(c.work_rng.sample(latency), c.slow)
                };
                c.touch(now);
                c.busy += 1;
                let t = &mut self.tasks.items[task as usize];
                t.instance = slot;
                t.inside = true;
                t.working = true;
                let delay = delay + c.paused.map_or(SimTime::ZERO, |(until, _)| until - now);
                self.now_or_later(delay, Ev::WorkDone(task));
            }
            KindRt::External { latency, .. } => {
                let delay = scale(c.work_rng.sample(latency), c.slow)
                    + c.paused.map_or(SimTime::ZERO, |(until, _)| until - now);
                c.touch(now);
                c.busy += 1;
                let t = &mut self.tasks.items[task as usize];
                t.inside = true;
                t.working = true;
                self.at(delay, Ev::WorkDone(task));
            }
        }
    }

    fn start_work(&mut self, task: u32) {
        let now = self.now;
        let t = &mut self.tasks.items[task as usize];
        t.holds_worker = true;
        t.working = true;
        let (ci, inst, handler) = (t.comp as usize, t.instance as usize, t.handler as usize);
        self.instances[inst].busy += 1;
        let c = &mut self.comps[ci];
        c.touch(now);
        c.busy += 1;
        let work = scale(c.work_rng.sample(&self.handlers[handler].work), c.slow);
        self.at(work, Ev::WorkDone(task));
    }

    fn release_worker(&mut self, task: u32) {
        let now = self.now;
        let t = &mut self.tasks.items[task as usize];
        t.holds_worker = false;
        let (ci, inst) = (t.comp as usize, t.instance as usize);
        self.instances[inst].busy -= 1;
        let c = &mut self.comps[ci];
        c.touch(now);
        c.busy -= 1;
        if self.instances[inst].queue.is_empty() {
            return;
        }
        let (queue_timeout, lifo, workers) = match c.kind {
            KindRt::Service {
                queue_timeout,
                lifo,
                workers,
                ..
            } => (queue_timeout, lifo, workers.saturating_sub(c.lost_workers)),
            _ => (None, false, 0),
        };
        self.start_queued(ci, inst, queue_timeout, lifo, workers);
    }

    /// Starts queued requests on a replica while it has free workers, shedding those that
    /// waited too long.
    fn start_queued(
        &mut self,
        ci: usize,
        inst: usize,
        queue_timeout: Option<SimTime>,
        lifo: bool,
        workers: u32,
    ) {
        let now = self.now;
        while self.instances[inst].busy < workers {
            let queue = &mut self.instances[inst].queue;
            let next = if lifo {
                queue.pop_back()
            } else {
                queue.pop_front()
            };
            let Some(next) = next else {
                return;
            };
            self.comps[ci].queued -= 1;
            if let Some(limit) = queue_timeout
                && now - self.tasks.items[next as usize].arrived > limit
            {
                // Shed: serving it now would be work for a caller that has likely gone.
                self.instances[inst].in_system -= 1;
                self.tasks.items[next as usize].inside = false;
                self.recorder.rejected(ci);
                self.turn_away(next, Cause::Rejected);
                continue;
            }
            self.start_work(next);
        }
    }

    /// Starts or ends a pause. Starting freezes the work in progress; ending lets queued
    /// requests start on free workers.
    fn pause(&mut self, comp: usize, window: Option<(SimTime, SimTime)>) {
        self.comps[comp].paused = window;
        if let Some((_, length)) = window {
            self.last_pause[comp] = length;
            for t in &mut self.tasks.items {
                if t.live && t.working && !t.zombie && t.comp as usize == comp {
                    t.frozen = true;
                }
            }
            return;
        }
        if let Some(d) = self.db_index(comp) {
            // Acknowledgements that came in during the pause answer their writes now.
            self.db_release(d);
        }
        let c = &self.comps[comp];
        if let KindRt::Service {
            first_instance,
            allocated,
            workers,
            queue_timeout,
            lifo,
            ..
        } = c.kind
        {
            let effective = workers.saturating_sub(c.lost_workers);
            let now = self.now;
            self.comps[comp].touch(now);
            for inst in first_instance..first_instance + allocated {
                self.start_queued(comp, inst as usize, queue_timeout, lifo, effective);
            }
        }
    }

    /// A `capacity` fault: each replica now has `lost` fewer workers (0 restores them). The
    /// work in progress goes on; freed workers beyond the new count stay idle, and restored
    /// ones take queued requests at once.
    fn lose_capacity(&mut self, comp: usize, lost: u32) {
        let now = self.now;
        let c = &mut self.comps[comp];
        let KindRt::Service {
            first_instance,
            replicas,
            allocated,
            workers,
            queue_timeout,
            lifo,
            ..
        } = c.kind
        else {
            return;
        };
        c.touch(now);
        c.lost_workers = lost.min(workers);
        let effective = workers - c.lost_workers;
        c.capacity = replicas * effective;
        // Replicas scaled in but still draining their queues get their workers back too.
        for inst in first_instance..first_instance + allocated {
            self.start_queued(comp, inst as usize, queue_timeout, lifo, effective);
        }
    }

    fn work_done(&mut self, task: u32) {
        let t = &mut self.tasks.items[task as usize];
        if t.frozen {
            // Frozen for the whole pause: its work ends that much later.
            t.frozen = false;
            let length = self.last_pause[t.comp as usize];
            self.at(length, Ev::WorkDone(task));
            return;
        }
        t.working = false;
        if t.zombie {
            if t.pending == 0 {
                self.free_task(task);
            }
            return;
        }
        let (ci, slot) = (t.comp as usize, t.instance);
        let (root, root_gen, request_type) = (t.root, t.root_gen, t.request_type);
        let now = self.now;
        let c = &mut self.comps[ci];
        let injected = match &mut c.fault_error_count {
            Some(left) => {
                let hit = *left > 0;
                *left = left.saturating_sub(1);
                hit
            }
            None => c.fault_errors > 0.0 && c.route_rng.unit() < c.fault_errors,
        };
        match &c.kind {
            KindRt::Service { io_async, .. } => {
                if *io_async {
                    self.release_worker(task);
                }
                if injected {
                    self.tasks.items[task as usize].failed = Some(Cause::Error);
                } else if let Some(d) = self.db_index(ci)
                    && self.db_work_done(d, task)
                {
                    return;
                }
                self.next_step(task);
            }
            KindRt::Balancer { targets, .. } => {
                if injected {
                    self.tasks.items[task as usize].failed = Some(Cause::Error);
                    self.balancer_done(task, false);
                    return;
                }
                let target = &targets[slot as usize];
                let (to, instance, link) = (target.comp, target.instance, target.link);
                let child = self.new_task(task, root, root_gen, to, instance, request_type, link);
                self.tasks.items[task as usize].pending = 1;
                self.send(child);
            }
            KindRt::Cache(_) => self.cache_work_done(task, injected),
            KindRt::Queue(_) => self.enqueue(task, injected),
            KindRt::External { error_fraction, .. } => {
                let p = *error_fraction;
                c.touch(now);
                c.busy -= 1;
                if injected || (p > 0.0 && c.route_rng.unit() < p) {
                    self.tasks.items[task as usize].failed = Some(Cause::Error);
                }
                self.finish_task(task);
            }
        }
    }

    /// Runs a service task's next step of calls, or finishes it when none is left or one
    /// has failed.
    fn next_step(&mut self, task: u32) {
        let t = &mut self.tasks.items[task as usize];
        let handler = &self.handlers[t.handler as usize];
        if t.failed.is_some() || t.step as usize >= handler.steps.len() {
            self.finish_task(task);
            return;
        }
        let step = t.step as usize;
        t.step += 1;
        let (root, root_gen, incoming, h) = (t.root, t.root_gen, t.request_type, t.handler);
        let n = handler.steps[step].len();
        t.pending = u16::try_from(n).unwrap_or(u16::MAX);
        for i in 0..n {
            let call = &self.handlers[h as usize].steps[step][i];
            let request_type = call.request.unwrap_or(incoming);
            if call.timeout_lane.is_some()
                || call.retry.is_some()
                || call.breaker.is_some()
                || call.fallback
                || call.bulkhead.is_some()
                || call.hedge_lane.is_some()
            {
                let id = self.calls.insert_call(CallState {
                    parent: task,
                    handler: h,
                    step: u16::try_from(step).unwrap_or(u16::MAX),
                    index: u16::try_from(i).unwrap_or(u16::MAX),
                    request_type,
                    attempts: 0,
                    child: NONE,
                    generation: 0,
                    last_backoff: SimTime::ZERO,
                    probe: false,
                    in_bulkhead: false,
                    hedge: NONE,
                });
                self.start_attempt(id);
            } else {
                let (to, link) = (call.to, call.link);
                let instance = self.choose_instance(to, request_type);
                let child = self.new_task(task, root, root_gen, to, instance, request_type, link);
                self.send(child);
            }
        }
    }

    /// Sends the next attempt of a call that has a timeout or retries.
    fn start_attempt(&mut self, id: u32) {
        let cs = &self.calls.items[id as usize];
        let (parent, request_type, attempts) = (cs.parent, cs.request_type, cs.attempts);
        if self.tasks.items[parent as usize].zombie {
            // The caller was lost in a crash: nobody is left to send this attempt for.
            self.attempt_ended(id, Some(Cause::Dropped), false, false);
            return;
        }
        let call = &self.handlers[cs.handler as usize].steps[cs.step as usize][cs.index as usize];
        let (to, link, lane, breaker, bulkhead, hedge_lane) = (
            call.to,
            call.link,
            call.timeout_lane,
            call.breaker,
            call.bulkhead,
            call.hedge_lane,
        );
        if attempts == 0
            && let (Some(b), Some(budget)) =
                (call.budget, call.retry.as_ref().and_then(|r| r.budget))
        {
            let tokens = &mut self.budgets[b as usize];
            *tokens = (*tokens + budget.ratio).min(budget.burst);
        }
        let p = &self.tasks.items[parent as usize];
        let (root, root_gen, caller) = (p.root, p.root_gen, p.comp);
        if attempts > 0 {
            self.recorder.retried(caller as usize);
        }
        let mut probe = false;
        if let Some(b) = breaker {
            if let Some(is_probe) = self.breaker_admits(b) {
                probe = is_probe;
            } else {
                // Refused by the open breaker: fails at once, without reaching the callee.
                self.recorder.short_circuited(caller as usize);
                let cs = &mut self.calls.items[id as usize];
                cs.attempts += 1;
                cs.child = NONE;
                self.attempt_ended(id, Some(Cause::Unavailable), false, false);
                return;
            }
        }
        if let Some(b) = bulkhead {
            let (limit, outstanding) = &mut self.bulkheads[b as usize];
            if *outstanding >= *limit {
                // The bulkhead is full: fail at once rather than queue behind a slow callee.
                self.recorder.bulkhead_rejected(caller as usize);
                if probe && let Some(b) = breaker {
                    let br = &mut self.breakers[b as usize];
                    br.probes_out = br.probes_out.saturating_sub(1);
                }
                let cs = &mut self.calls.items[id as usize];
                cs.attempts += 1;
                cs.probe = probe;
                self.attempt_ended(id, Some(Cause::Rejected), false, false);
                return;
            }
            *outstanding += 1;
        }
        let instance = self.choose_instance(to, request_type);
        let child = self.new_task(parent, root, root_gen, to, instance, request_type, link);
        self.tasks.items[child as usize].call = id;
        let cs = &mut self.calls.items[id as usize];
        cs.attempts += 1;
        cs.child = child;
        cs.probe = probe;
        cs.in_bulkhead = bulkhead.is_some();
        let generation = cs.generation;
        if let Some(lane) = lane {
            self.arm_timer(lane, id, generation, TimerKind::CallTimeout);
        }
        if let Some(lane) = hedge_lane {
            self.arm_timer(lane, id, generation, TimerKind::Hedge);
        }
        self.send(child);
    }

    /// An attempt has not answered in the hedging delay: send a second copy.
    fn send_hedge(&mut self, id: u32) {
        let cs = &self.calls.items[id as usize];
        let (parent, request_type) = (cs.parent, cs.request_type);
        if self.tasks.items[parent as usize].zombie {
            return;
        }
        let call = &self.handlers[cs.handler as usize].steps[cs.step as usize][cs.index as usize];
        let (to, link) = (call.to, call.link);
        let p = &self.tasks.items[parent as usize];
        let (root, root_gen, caller) = (p.root, p.root_gen, p.comp);
        self.recorder.hedged(caller as usize);
        let instance = self.choose_instance(to, request_type);
        let copy = self.new_task(parent, root, root_gen, to, instance, request_type, link);
        self.tasks.items[copy as usize].call = id;
        self.calls.items[id as usize].hedge = copy;
        self.send(copy);
    }

    /// The current attempt of a call ended (answered, or timed out): retry it, or hand the
    /// outcome to the caller.
    fn attempt_ended(
        &mut self,
        id: u32,
        outcome: Option<Cause>,
        reached_callee: bool,
        degraded: bool,
    ) {
        let cs = &mut self.calls.items[id as usize];
        cs.generation = cs.generation.wrapping_add(1);
        cs.child = NONE;
        cs.hedge = NONE;
        let probe = std::mem::take(&mut cs.probe);
        let in_bulkhead = std::mem::take(&mut cs.in_bulkhead);
        let call = &self.handlers[cs.handler as usize].steps[cs.step as usize][cs.index as usize];
        let (breaker, bulkhead) = (call.breaker, call.bulkhead);
        if in_bulkhead && let Some(b) = bulkhead {
            self.bulkheads[b as usize].1 -= 1;
        }
        if reached_callee && let Some(b) = breaker {
            self.breaker_saw(b, outcome.is_none(), probe);
        }
        let cs = &mut self.calls.items[id as usize];
        let call = &self.handlers[cs.handler as usize].steps[cs.step as usize][cs.index as usize];
        // A caller lost in a crash has no one left to retry for.
        let caller_alive = !self.tasks.items[cs.parent as usize].zombie;
        if let (Some(cause), Some(retry)) = (outcome, &call.retry)
            && caller_alive
            && retry.on[cause.index()]
            && cs.attempts < retry.attempts
            && spend_token(&mut self.budgets, call.budget)
        {
            let caller = self.tasks.items[cs.parent as usize].comp as usize;
            let wait = backoff(
                retry,
                cs.attempts,
                cs.last_backoff,
                &mut self.comps[caller].retry_rng,
            );
            cs.last_backoff = wait;
            // Through the queues even when the wait is zero: a chain of instant retries must
            // not recurse.
            self.at(wait, Ev::Retry(id));
            return;
        }
        let parent = cs.parent;
        let fallback = call.fallback && outcome.is_some();
        self.calls.remove(id);
        if fallback {
            // The caller serves a degraded answer instead of failing.
            let caller = self.tasks.items[parent as usize].comp as usize;
            self.recorder.fell_back(caller);
            self.child_done(parent, None, true);
        } else {
            self.child_done(parent, outcome, degraded);
        }
    }

    /// Hands the recorder what it needs to close the current time bucket.
    fn close_bucket(&mut self) {
        let integrals: Vec<Integrals> = self.comps.iter().map(|c| c.integrals(self.now)).collect();
        let replicas: Vec<u32> = self.comps.iter().map(CompRt::ready_replicas).collect();
        let states = self.breaker_states();
        let queues = self.queue_states();
        self.recorder
            .bucket_closed(&integrals, &replicas, states, &queues);
        self.db_bucket_closed();
    }

    fn breaker_states(&self) -> Vec<&'static str> {
        self.breakers
            .iter()
            .map(|b| match b.state {
                BreakerState::Closed => "closed",
                BreakerState::Open => "open",
                BreakerState::HalfOpen => "half_open",
            })
            .collect()
    }

    /// Whether a breaker lets an attempt through now: `Some(true)` as a half-open probe,
    /// `Some(false)` while closed, `None` when it refuses.
    fn breaker_admits(&mut self, b: u32) -> Option<bool> {
        let now = self.now;
        let br = &mut self.breakers[b as usize];
        if br.state == BreakerState::Open && now >= br.opened_at + br.config.open_for {
            br.state = BreakerState::HalfOpen;
            br.probes_out = 0;
            let message = format!("breaker {} half-open", br.name);
            self.recorder.log(now, "breaker", message);
        }
        let br = &mut self.breakers[b as usize];
        match br.state {
            BreakerState::Closed => Some(false),
            BreakerState::HalfOpen if br.probes_out < br.config.probes => {
                br.probes_out += 1;
                Some(true)
            }
            BreakerState::Open | BreakerState::HalfOpen => None,
        }
    }

    /// A breaker learns the outcome of an attempt that went through it.
    fn breaker_saw(&mut self, b: u32, success: bool, probe: bool) {
        let now = self.now;
        let br = &mut self.breakers[b as usize];
        if probe {
            br.probes_out = br.probes_out.saturating_sub(1);
        }
        let before = br.state;
        match (br.state, success) {
            (BreakerState::HalfOpen, true) if probe => {
                br.state = BreakerState::Closed;
                br.consecutive_failures = 0;
            }
            (BreakerState::HalfOpen, false) if probe => {
                br.state = BreakerState::Open;
                br.opened_at = now;
            }
            (BreakerState::Closed, _) => {
                let tripped_by_rate = br.rate_trips(now, success);
                if success {
                    br.consecutive_failures = 0;
                } else {
                    br.consecutive_failures += 1;
                }
                if tripped_by_rate || br.consecutive_failures >= br.config.failures {
                    br.state = BreakerState::Open;
                    br.opened_at = now;
                    br.window = [(0, 0); 10];
                    br.consecutive_failures = 0;
                }
            }
            // Answers to attempts sent before it opened, or non-probes while half-open,
            // change nothing.
            _ => {}
        }
        if br.state != before {
            let word = match br.state {
                BreakerState::Open => "opens",
                BreakerState::Closed => "closes",
                BreakerState::HalfOpen => "half-open",
            };
            let message = format!("breaker {} {word}", br.name);
            self.recorder.log(now, "breaker", message);
        }
    }

    /// The component is done with the task: free what it holds and answer the parent.
    fn finish_task(&mut self, task: u32) {
        let t = &mut self.tasks.items[task as usize];
        t.inside = false;
        let (ci, inst, holds, record, arrived) = (
            t.comp as usize,
            t.instance,
            t.holds_worker,
            t.record,
            t.arrived,
        );
        if holds {
            self.release_worker(task);
        }
        if let KindRt::Service { .. } = self.comps[ci].kind {
            self.instances[inst as usize].in_system -= 1;
        }
        self.recorder
            .task_finished(ci, record.then(|| self.now - arrived));
        self.answer(task);
    }

    /// Sends the task's answer back over its link.
    #[inline]
    fn answer(&mut self, task: u32) {
        let link = self.tasks.items[task as usize].link;
        let crossing = self.cross(link, false);
        self.count_answer(task, link, &crossing);
        match crossing {
            Crossing::After(delay) => self.now_or_later(delay, Ev::Reply(task)),
            Crossing::Lost | Crossing::Refused => self.lost_in_network(task),
        }
    }

    /// A request or an answer vanished on its link. The task is freed; a call waiting for
    /// it keeps waiting (its timeout ends the wait) but no longer holds the freed id, which
    /// another task may soon reuse.
    fn lost_in_network(&mut self, task: u32) {
        let t = &self.tasks.items[task as usize];
        if t.root == MESSAGE && t.parent == NONE {
            // A delivery or its acknowledgement vanished: the consumer's place is free
            // again, and the visibility timeout will deliver the message again.
            let d = t.root_gen;
            self.delivery_ended(d);
        }
        let call = self.tasks.items[task as usize].call;
        if call != NONE {
            let cs = &mut self.calls.items[call as usize];
            if cs.child == task {
                cs.child = LOST;
            } else if cs.hedge == task {
                cs.hedge = LOST;
            }
        }
        self.free_task(task);
    }

    fn reply_arrived(&mut self, child: u32) {
        let c = &self.tasks.items[child as usize];
        // An abandoned attempt's caller may be gone, its slot reused: only a reply still
        // awaited can be held back by its caller's pause.
        let awaited = c.call == NONE || {
            let cs = &self.calls.items[c.call as usize];
            cs.child == child || cs.hedge == child
        };
        if c.parent != NONE
            && awaited
            && let Some((until, _)) =
                self.comps[self.tasks.items[c.parent as usize].comp as usize].paused
            && until > self.now
        {
            // The caller is paused: the answer waits in its inbox until the pause ends.
            let wait = until - self.now;
            self.at(wait, Ev::Reply(child));
            return;
        }
        let c = &self.tasks.items[child as usize];
        let (parent, failed, root, root_gen, call, comp, degraded) = (
            c.parent, c.failed, c.root, c.root_gen, c.call, c.comp, c.degraded,
        );
        self.free_task(child);
        if call != NONE {
            let cs = &mut self.calls.items[call as usize];
            let (is_primary, is_hedge) = (cs.child == child, cs.hedge == child);
            if !is_primary && !is_hedge {
                // Its caller stopped waiting for this attempt (a timeout, or the other copy
                // of a hedged call won): the work was for nothing.
                self.recorder.abandoned(comp as usize);
                return;
            }
            let other = if is_primary { cs.hedge } else { cs.child };
            if failed.is_some() && other != NONE {
                // One copy failed; the other may still succeed.
                if is_primary {
                    cs.child = NONE;
                } else {
                    cs.hedge = NONE;
                }
                return;
            }
            self.attempt_ended(call, failed, true, degraded);
            return;
        }
        if parent == NONE {
            if root == MESSAGE {
                self.message_answered(root_gen, failed);
                return;
            }
            let r = &self.roots.items[root as usize];
            // A root that timed out has moved on; its late answer is wasted work.
            if r.live && r.generation == root_gen {
                let answer = if degraded {
                    Answer::Degraded
                } else {
                    Answer::Full
                };
                self.end_root(root, failed.map_or(Ok(answer), Err));
            } else {
                self.recorder.abandoned(comp as usize);
            }
            return;
        }
        self.child_done(parent, failed, degraded);
    }

    /// One of a task's calls has its final outcome.
    fn child_done(&mut self, parent: u32, failed: Option<Cause>, degraded: bool) {
        let p = &mut self.tasks.items[parent as usize];
        if p.failed.is_none() {
            p.failed = failed;
        }
        p.degraded |= degraded;
        p.pending -= 1;
        if p.pending > 0 {
            return;
        }
        if p.zombie {
            if !p.working {
                self.free_task(parent);
            }
            return;
        }
        match self.comps[p.comp as usize].kind {
            KindRt::Service { .. } => self.next_step(parent),
            KindRt::Balancer { .. } => self.balancer_done(parent, true),
            KindRt::Cache(_) => self.cache_read(parent),
            KindRt::External { .. } | KindRt::Queue(_) => {}
        }
    }

    fn balancer_done(&mut self, task: u32, from_backend: bool) {
        let t = &self.tasks.items[task as usize];
        let (ci, slot, failed) = (t.comp as usize, t.instance, t.failed.is_some());
        let now = self.now;
        let c = &mut self.comps[ci];
        let mut ejected = false;
        if let KindRt::Balancer {
            outstanding,
            health,
            ..
        } = &mut c.kind
        {
            outstanding[slot as usize] -= 1;
            if from_backend && let Some(o) = &health.outlier {
                let s = slot as usize;
                if failed {
                    health.failures_in_row[s] += 1;
                    if health.failures_in_row[s] >= o.failures {
                        health.failures_in_row[s] = 0;
                        health.out_until[s] = now + o.eject_for;
                        health.latest_out_until = health.latest_out_until.max(health.out_until[s]);
                        ejected = true;
                    }
                } else {
                    health.failures_in_row[s] = 0;
                }
            }
        }
        if ejected {
            let message = format!(
                "{} ejects {} (outlier)",
                self.model.components[ci].name,
                self.target_label(ci, slot)
            );
            self.recorder.log(now, "balancer", message);
        }
        let c = &mut self.comps[ci];
        c.touch(now);
        c.busy -= 1;
        self.finish_task(task);
    }

    /// A name for a balancer's target in the event log: `app replica 1`, or `app`.
    fn target_label(&self, lb: usize, slot: u32) -> String {
        let KindRt::Balancer { targets, .. } = &self.comps[lb].kind else {
            return String::new();
        };
        let t = &targets[slot as usize];
        let name = &self.model.components[t.comp as usize].name;
        match self.comps[t.comp as usize].kind {
            KindRt::Service {
                first_instance,
                replicas,
                ..
            } if replicas > 1 => format!("{name} replica {}", t.instance - first_instance),
            _ => name.clone(),
        }
    }

    /// A balancer probes each backend replica: a probe fails when the replica (or the
    /// component) is down or the link to it is cut.
    fn health_check(&mut self, lb: u32) {
        let now = self.now;
        let li = lb as usize;
        let KindRt::Balancer {
            targets, health, ..
        } = &self.comps[li].kind
        else {
            return;
        };
        let Some(check) = health.check.clone() else {
            return;
        };
        let alive: Vec<bool> = targets
            .iter()
            .map(|t| {
                let up = if t.instance == NONE {
                    self.comps[t.comp as usize].up
                } else {
                    self.instances[t.instance as usize].up
                };
                up && !self.links[t.link as usize].trouble.cut
            })
            .collect();
        let mut changes = Vec::new();
        if let KindRt::Balancer { health, .. } = &mut self.comps[li].kind {
            for (i, ok) in alive.into_iter().enumerate() {
                if ok {
                    health.probe_fails[i] = 0;
                    health.probe_oks[i] += 1;
                    if health.ejected[i] && health.probe_oks[i] >= check.healthy {
                        health.ejected[i] = false;
                        health.ejected_count -= 1;
                        changes.push((i, false));
                    }
                } else {
                    health.probe_oks[i] = 0;
                    health.probe_fails[i] += 1;
                    if !health.ejected[i] && health.probe_fails[i] >= check.unhealthy {
                        health.ejected[i] = true;
                        health.ejected_count += 1;
                        changes.push((i, true));
                    }
                }
            }
        }
        for (i, ejected) in changes {
            let slot = u32::try_from(i).unwrap_or(NONE);
            let verb = if ejected { "ejects" } else { "re-admits" };
            let message = format!(
                "{} {verb} {}",
                self.model.components[li].name,
                self.target_label(li, slot)
            );
            self.recorder.log(now, "balancer", message);
        }
        self.queue.push(now + check.interval, Ev::HealthCheck(lb));
    }

    // ---- autoscaling --------------------------------------------------------------------

    /// At the end of each window: the wanted replica count is ceil(ready × utilisation /
    /// target), within min and max. More than ready + starting: start the difference (ready
    /// after the cold start). Fewer than ready, nothing starting and the cooldown over:
    /// stop sending to the last replicas (they finish what they hold).
    fn autoscale(&mut self, comp: u32) {
        let now = self.now;
        let ci = comp as usize;
        let integrals = self.comps[ci].integrals(now);
        let KindRt::Service {
            replicas,
            workers_per_replica,
            scale: Some(scale),
            ..
        } = &mut self.comps[ci].kind
        else {
            return;
        };
        let busy = integrals.busy_ns - scale.at_last_decision.busy_ns;
        let capacity = integrals.capacity_ns - scale.at_last_decision.capacity_ns;
        let waiting = integrals.queue_ns - scale.at_last_decision.queue_ns;
        scale.at_last_decision = integrals;
        let utilization = if capacity > 0.0 { busy / capacity } else { 0.0 };
        let c = &scale.config;
        let ready_f = f64::from(*replicas);
        let wanted_f = match c.queue_target {
            None => (ready_f * utilization / c.target).ceil(),
            Some(per_replica) => {
                let depth = waiting / nanos_f64(c.window) / ready_f.max(1.0);
                // Requests waiting at all: never fewer than now.
                let by_depth = (ready_f * depth / per_replica).ceil();
                if depth > 0.0 {
                    by_depth.max(ready_f)
                } else {
                    (ready_f * utilization / c.target).ceil()
                }
            }
        };
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to min..max just after"
        )]
        let wanted = (wanted_f.max(0.0).min(f64::from(c.max)) as u32).clamp(c.min, c.max);
        let (ready, starting) = (*replicas, scale.starting);
        let window = c.window;
        let mut message = None;
        if wanted > ready + starting {
            let more = wanted - ready - starting;
            scale.starting += more;
            scale.last_change = now;
            for _ in 0..more {
                self.queue
                    .push(now + scale.config.cold_start, Ev::ReplicaReady(comp));
            }
            message = Some(format!(
                "scales out {ready} → {wanted} (utilisation {:.0}%)",
                utilization * 100.0
            ));
        } else if wanted < ready && starting == 0 && now >= scale.last_change + c.cooldown {
            scale.last_change = now;
            let workers = *workers_per_replica;
            *replicas = wanted;
            let comp_rt = &mut self.comps[ci];
            comp_rt.touch(now);
            comp_rt.capacity = wanted * workers.saturating_sub(comp_rt.lost_workers);
            self.refresh_serving(ci);
            message = Some(format!(
                "scales in {ready} → {wanted} (utilisation {:.0}%)",
                utilization * 100.0
            ));
        }
        if let Some(m) = message {
            let text = format!("{} {m}", self.model.components[ci].name);
            self.recorder.log(now, "autoscale", text);
        }
        self.queue.push(now + window, Ev::Autoscale(comp));
    }

    fn replica_ready(&mut self, comp: u32) {
        let now = self.now;
        let ci = comp as usize;
        let c = &mut self.comps[ci];
        c.touch(now);
        let KindRt::Service {
            replicas,
            workers_per_replica,
            scale: Some(scale),
            ..
        } = &mut c.kind
        else {
            return;
        };
        scale.starting -= 1;
        *replicas += 1;
        let (ready, cap) = (
            *replicas,
            *replicas * workers_per_replica.saturating_sub(c.lost_workers),
        );
        c.capacity = cap;
        self.refresh_serving(ci);
        let text = format!(
            "{} replica {} ready",
            self.model.components[ci].name,
            ready - 1
        );
        self.recorder.log(now, "autoscale", text);
    }

    /// Tells the balancers in front of a scaled service which of its replicas serve.
    fn refresh_serving(&mut self, service: usize) {
        let KindRt::Service {
            first_instance: first,
            replicas: ready,
            ..
        } = self.comps[service].kind
        else {
            return;
        };
        for c in &mut self.comps {
            if let KindRt::Balancer {
                targets, health, ..
            } = &mut c.kind
            {
                for (i, t) in targets.iter().enumerate() {
                    if t.comp as usize == service {
                        health.serving[i] = t.instance - first < ready;
                    }
                }
                health.not_serving =
                    u32::try_from(health.serving.iter().filter(|s| !**s).count()).unwrap_or(0);
            }
        }
    }

    // ---- caches -------------------------------------------------------------------------

    /// A request reaches a cache: the lookup takes the cache's latency. A cache-aside cache
    /// that is down refuses the connection, and its caller reads the store instead; a write
    /// to it is over at once, since a cache that restarts empty holds nothing stale.
    #[inline(never)]
    fn cache_arrived(&mut self, task: u32) {
        let now = self.now;
        let (ci, request_type) = {
            let t = &self.tasks.items[task as usize];
            (t.comp as usize, t.request_type as usize)
        };
        let c = &mut self.comps[ci];
        let KindRt::Cache(cache) = &mut c.kind else {
            return;
        };
        if !c.up {
            if cache.mode.cache_reads_store() {
                self.turn_away(task, Cause::Unavailable);
            } else if cache.writes[request_type] {
                self.recorder.cache_write(ci);
                self.answer(task);
            } else {
                self.recorder.cache_lookup(ci, false);
                let t = &mut self.tasks.items[task as usize];
                // No key: nothing to fill, nothing to coalesce.
                t.instance = NONE;
                t.step = CACHE_ASIDE;
                self.cache_miss_answered(task);
            }
            return;
        }
        let delay = scale(c.work_rng.sample(&cache.latency), c.slow)
            + c.paused.map_or(SimTime::ZERO, |(until, _)| until - now);
        let t = &mut self.tasks.items[task as usize];
        t.inside = true;
        t.working = true;
        t.step = CACHE_LOOKUP;
        self.at(delay, Ev::WorkDone(task));
    }

    /// The lookup is done (or, cache-aside, the miss has reached the caller).
    fn cache_work_done(&mut self, task: u32, injected: bool) {
        let now = self.now;
        let t = &self.tasks.items[task as usize];
        let (ci, step, request_type) = (t.comp as usize, t.step, t.request_type as usize);
        if step == CACHE_ASIDE {
            let link = self.tasks.items[task as usize].link;
            let KindRt::Cache(cache) = &self.comps[ci].kind else {
                return;
            };
            let to_store = cache
                .aside
                .iter()
                .find(|(from, _)| *from == link)
                .map_or(NONE, |(_, to)| *to);
            debug_assert!(
                to_store != NONE,
                "a cache-aside caller without a link to the store; reproduce with --seed {}",
                self.seed
            );
            self.cache_fetch(task, to_store);
            return;
        }
        if injected {
            self.tasks.items[task as usize].failed = Some(Cause::Error);
            self.finish_task(task);
            return;
        }
        let KindRt::Cache(cache) = &mut self.comps[ci].kind else {
            return;
        };
        let u = cache.key_rng.unit();
        let (mode, backing_link) = (cache.mode, cache.backing_link);
        let (hit, key) = match &mut cache.keys {
            None => (u < cache.hit_ratio, NONE),
            Some((lru, popularity)) => {
                let key = popularity.key(u);
                if cache.writes[request_type] {
                    self.recorder.cache_write(ci);
                    if mode == CacheMode::WriteThrough {
                        // The entry changes only once the store has the write, so that a
                        // failed write leaves the cache as it was.
                        let t = &mut self.tasks.items[task as usize];
                        t.instance = key;
                        t.working = false;
                        t.step = CACHE_WRITE;
                        self.cache_fetch(task, backing_link);
                        return;
                    }
                    match cache.on_write {
                        OnWrite::Update => {
                            if lru.fill(key, now) {
                                self.recorder.cache_evicted(ci);
                            }
                            self.recorder.cache_updated(ci);
                        }
                        OnWrite::Invalidate => {
                            if lru.remove(key) {
                                self.recorder.cache_invalidated(ci);
                            }
                        }
                    }
                    self.finish_task(task);
                    return;
                }
                (lru.get(key, now) == Lookup::Hit, key)
            }
        };
        self.recorder.cache_lookup(ci, hit);
        if hit {
            self.finish_task(task);
            return;
        }
        if cache.coalesce {
            if let Some((_, waiting)) = cache.inflight.get_mut(&key) {
                waiting.push(task);
                self.recorder.cache_coalesced(ci);
                let t = &mut self.tasks.items[task as usize];
                t.instance = key;
                t.working = false;
                t.step = CACHE_WAIT;
                return;
            }
            cache.inflight.insert(key, (task, Vec::new()));
        }
        let t = &mut self.tasks.items[task as usize];
        t.instance = key;
        t.working = false;
        if mode.cache_reads_store() {
            t.step = CACHE_FETCH;
            self.cache_fetch(task, backing_link);
        } else {
            // The cache's part is done: it answered "miss".
            let (record, arrived) = (t.record, t.arrived);
            t.inside = false;
            t.step = CACHE_ASIDE;
            self.recorder
                .task_finished(ci, record.then(|| now - arrived));
            self.cache_miss_answered(task);
        }
    }

    /// Cache-aside: the miss travels back to the caller over the link it came by.
    fn cache_miss_answered(&mut self, task: u32) {
        let link = self.tasks.items[task as usize].link;
        let crossing = self.cross(link, false);
        self.count_answer(task, link, &crossing);
        match crossing {
            Crossing::After(delay) => self.now_or_later(delay, Ev::WorkDone(task)),
            Crossing::Lost | Crossing::Refused => {
                let t = &self.tasks.items[task as usize];
                let (ci, key) = (t.comp as usize, t.instance);
                self.cache_release(ci, key, task, Some(Cause::Dropped));
                self.lost_in_network(task);
            }
        }
    }

    /// Reads a missed key from the store over `link`: the cache's own (read-through) or the
    /// caller's (cache-aside). A write-through write goes the same way, with its own type:
    /// `on_miss.request` names the store's read.
    fn cache_fetch(&mut self, task: u32, link: u32) {
        let t = &mut self.tasks.items[task as usize];
        t.pending = 1;
        let (ci, root, root_gen, request_type, step) =
            (t.comp, t.root, t.root_gen, t.request_type, t.step);
        let KindRt::Cache(cache) = &self.comps[ci as usize].kind else {
            return;
        };
        let sent = if step == CACHE_WRITE {
            request_type
        } else {
            cache.backing_request.unwrap_or(request_type)
        };
        let to = cache.backing;
        let instance = self.choose_instance(to, sent);
        let child = self.new_task(task, root, root_gen, to, instance, sent, link);
        self.send(child);
    }

    /// The store answered a missed read (or a write-through write): fill the cache, answer
    /// those waiting for the key, then the reader (or writer) itself.
    fn cache_read(&mut self, task: u32) {
        let now = self.now;
        let t = &self.tasks.items[task as usize];
        let (ci, key, failed, step) = (t.comp as usize, t.instance, t.failed, t.step);
        let c = &mut self.comps[ci];
        if failed.is_none()
            && c.up
            && key != NONE
            && let KindRt::Cache(cache) = &mut c.kind
            && let Some((lru, _)) = &mut cache.keys
        {
            if lru.fill(key, now) {
                self.recorder.cache_evicted(ci);
            }
            if step == CACHE_WRITE {
                self.recorder.cache_updated(ci);
            }
        }
        self.cache_release(ci, key, task, failed);
        if step == CACHE_FETCH || step == CACHE_WRITE {
            self.finish_task(task);
        } else {
            // Cache-aside: the caller read the store itself, so the answer is already there.
            self.now_or_later(SimTime::ZERO, Ev::Reply(task));
        }
    }

    /// Ends the single flight of `key` led by `owner`: those waiting for it get its outcome.
    fn cache_release(&mut self, ci: usize, key: u32, owner: u32, failed: Option<Cause>) {
        let KindRt::Cache(cache) = &mut self.comps[ci].kind else {
            return;
        };
        if key == NONE || cache.inflight.get(&key).is_none_or(|(o, _)| *o != owner) {
            return;
        }
        let waiting = cache
            .inflight
            .remove(&key)
            .map(|(_, w)| w)
            .unwrap_or_default();
        for w in waiting {
            self.tasks.items[w as usize].failed = failed;
            self.finish_task(w);
        }
    }

    // ---- message queues -----------------------------------------------------------------

    /// The broker has taken a producer's message (after its latency): the producer's call
    /// is answered at once, and the message waits for a consumer.
    fn enqueue(&mut self, task: u32, injected: bool) {
        let t = &self.tasks.items[task as usize];
        let (ci, request_type) = (t.comp as usize, t.request_type);
        if injected {
            self.tasks.items[task as usize].failed = Some(Cause::Error);
            self.finish_task(task);
            return;
        }
        let KindRt::Queue(b) = &self.comps[ci].kind else {
            return;
        };
        if b.backlog.len() >= b.capacity as usize {
            self.recorder.rejected(ci);
            self.tasks.items[task as usize].failed = Some(Cause::Rejected);
            self.finish_task(task);
            return;
        }
        let key = self.message_key(task);
        let (serial, dep, partition) = match &mut self.comps[ci].kind {
            KindRt::Queue(b) => {
                b.next_serial += 1;
                let dep = match b.depends_on[request_type as usize] {
                    u16::MAX => None,
                    d => b.latest.get(&(key, d)).copied(),
                };
                let partition = match b.ordering {
                    MessageOrdering::PerKey { partitions } => {
                        u32::try_from(mix64(key) % u64::from(partitions)).unwrap_or(0)
                    }
                    _ => 0,
                };
                (b.next_serial, dep, partition)
            }
            _ => return,
        };
        let m = self.messages.insert_message(Message {
            queue: u32::try_from(ci).unwrap_or(NONE),
            request_type,
            enqueued: self.now,
            deliveries: 0,
            generation: 0,
            state: MessageState::Waiting,
            outstanding: 0,
            processed: 0,
            key,
            serial,
            partition,
            dep,
        });
        if let KindRt::Queue(b) = &mut self.comps[ci].kind {
            b.backlog.push_back(m);
            if b.is_dependency[request_type as usize] {
                b.latest.insert((key, request_type), (m, serial));
            }
        }
        self.recorder.message_enqueued(ci);
        self.finish_task(task);
        self.dispatch(ci);
    }

    /// Delivers waiting messages while some consumer replica has room in its prefetch,
    /// taking the replicas in turn. A message delivered `max_deliveries` times already is
    /// dead-lettered instead.
    fn dispatch(&mut self, ci: usize) {
        loop {
            let c = &self.comps[ci];
            let KindRt::Queue(b) = &c.kind else {
                return;
            };
            if !c.up || b.backlog.is_empty() {
                return;
            }
            let n = b.slots.len();
            let ready = |s: &ConsumerSlot| {
                let replicas = match self.comps[s.comp as usize].kind {
                    KindRt::Service { replicas, .. } => replicas,
                    _ => 0,
                };
                s.outstanding < s.prefetch
                    && s.replica < replicas
                    && self.instances[s.instance as usize].up
            };
            let Some(slot) = (0..n)
                .map(|k| (b.next_slot + k) % n)
                .find(|&i| ready(&b.slots[i]))
            else {
                return;
            };
            let KindRt::Queue(b) = &mut self.comps[ci].kind else {
                return;
            };
            let m = if b.ordering == MessageOrdering::None {
                b.backlog.pop_front()
            } else {
                let KindRt::Queue(b) = &self.comps[ci].kind else {
                    return;
                };
                let found = b
                    .backlog
                    .iter()
                    .take(ORDERED_LOOKAHEAD)
                    .position(|&m| self.may_deliver(b, m));
                let KindRt::Queue(b) = &mut self.comps[ci].kind else {
                    return;
                };
                match found {
                    Some(i) => b.backlog.remove(i),
                    None => return,
                }
            };
            let KindRt::Queue(b) = &mut self.comps[ci].kind else {
                return;
            };
            b.next_slot = (slot + 1) % n;
            let Some(m) = m else {
                return;
            };
            let max = b.max_deliveries;
            let msg = &mut self.messages.items[m as usize];
            if msg.deliveries >= max {
                msg.state = MessageState::DeadLettered;
                self.recorder.message_dead_lettered(ci);
                self.free_message_if_done(m);
                continue;
            }
            self.deliver_message(ci, slot, m);
        }
    }

    fn deliver_message(&mut self, ci: usize, slot: usize, m: u32) {
        let msg = &mut self.messages.items[m as usize];
        msg.state = MessageState::Delivered;
        msg.deliveries += 1;
        msg.generation = msg.generation.wrapping_add(1);
        msg.outstanding += 1;
        let (generation, request_type, again) =
            (msg.generation, msg.request_type, msg.deliveries > 1);
        let KindRt::Queue(b) = &mut self.comps[ci].kind else {
            return;
        };
        b.unacked += 1;
        if let MessageOrdering::PerKey { .. } = b.ordering {
            b.partition_busy[self.messages.items[m as usize].partition as usize] += 1;
        }
        let s = &mut b.slots[slot];
        s.outstanding += 1;
        let (to, instance, link, lane) = (s.comp, s.instance, s.link, b.visibility_lane);
        let d = self.deliveries.insert(Delivery {
            message: m,
            slot: u32::try_from(slot).unwrap_or(NONE),
            generation,
        });
        self.recorder.message_delivered(ci, again);
        self.arm_timer(lane, m, generation, TimerKind::Visibility);
        let task = self.new_task(NONE, MESSAGE, d, to, instance, request_type, link);
        self.send(task);
    }

    /// A consumer's answer reached the broker: an acknowledgement when it succeeded, a
    /// rejection otherwise. Only the current delivery's answer settles the message; a
    /// consumer that crashed answers nothing, and the visibility timeout delivers the
    /// message again.
    fn message_answered(&mut self, d: u32, failed: Option<Cause>) {
        let Delivery {
            message: m,
            generation,
            ..
        } = self.deliveries.items[d as usize];
        self.release_delivery(d);
        let msg = &mut self.messages.items[m as usize];
        let ci = msg.queue as usize;
        if failed.is_none() {
            msg.processed += 1;
            let (first, dep) = (msg.processed == 1, msg.dep);
            if !first {
                self.recorder.message_duplicated(ci);
            }
            if first && dep.is_some_and(|d| self.unapplied(d)) {
                self.recorder.causal_violation(ci);
            }
        }
        let msg = &mut self.messages.items[m as usize];
        let current = msg.generation == generation && msg.state == MessageState::Delivered;
        if current && self.comps[ci].up && failed != Some(Cause::Dropped) {
            msg.generation = msg.generation.wrapping_add(1);
            let KindRt::Queue(b) = &mut self.comps[ci].kind else {
                return;
            };
            b.unacked -= 1;
            if failed.is_none() {
                msg.state = MessageState::Acked;
                self.recorder.message_acked(ci);
            } else {
                msg.state = MessageState::Waiting;
                requeue(b, m);
            }
        }
        self.free_message_if_done(m);
        self.dispatch(ci);
    }

    /// The key of a message a task sends: the user request it belongs to, or for a
    /// consumer's own messages, the key of the message it is processing.
    fn message_key(&self, task: u32) -> u64 {
        let t = &self.tasks.items[task as usize];
        if t.root == MESSAGE {
            let d = &self.deliveries.items[t.root_gen as usize];
            return self.messages.items[d.message as usize].key;
        }
        (u64::from(t.root) << 32) | u64::from(t.root_gen)
    }

    /// Whether the message `(id, serial)` still exists and has not been processed.
    fn unapplied(&self, (id, serial): (u32, u64)) -> bool {
        let d = &self.messages.items[id as usize];
        d.serial == serial
            && d.processed == 0
            && matches!(d.state, MessageState::Waiting | MessageState::Delivered)
    }

    /// Whether an ordered queue may deliver this waiting message now.
    fn may_deliver(&self, b: &BrokerRt, m: u32) -> bool {
        let msg = &self.messages.items[m as usize];
        match b.ordering {
            MessageOrdering::None => true,
            MessageOrdering::PerKey { .. } => b.partition_busy[msg.partition as usize] == 0,
            MessageOrdering::Causal => !msg.dep.is_some_and(|d| self.unapplied(d)),
        }
    }

    /// A delivery vanished on its way, or its answer did: the consumer's place is free.
    /// Nothing is delivered at once in its place, so that a link losing everything cannot
    /// recurse through the whole backlog; the next enqueue, answer or visibility timeout
    /// does it.
    fn delivery_ended(&mut self, d: u32) {
        let m = self.release_delivery(d);
        self.free_message_if_done(m);
    }

    /// Frees a delivery and its consumer's place; the message's record stays for the
    /// caller to settle and free.
    fn release_delivery(&mut self, d: u32) -> u32 {
        let Delivery {
            message: m, slot, ..
        } = self.deliveries.items[d as usize];
        self.deliveries.remove(d);
        let msg = &mut self.messages.items[m as usize];
        msg.outstanding -= 1;
        let (ci, partition) = (msg.queue as usize, msg.partition);
        if let KindRt::Queue(b) = &mut self.comps[ci].kind {
            b.slots[slot as usize].outstanding -= 1;
            if let MessageOrdering::PerKey { .. } = b.ordering {
                b.partition_busy[partition as usize] -= 1;
            }
        }
        m
    }

    /// The delivered message was not acknowledged in time: it waits to be delivered again.
    fn visibility_expired(&mut self, m: u32) {
        let msg = &mut self.messages.items[m as usize];
        let ci = msg.queue as usize;
        msg.generation = msg.generation.wrapping_add(1);
        msg.state = MessageState::Waiting;
        if let KindRt::Queue(b) = &mut self.comps[ci].kind {
            b.unacked -= 1;
            requeue(b, m);
        }
        self.dispatch(ci);
    }

    /// A broker crash: a durable queue keeps its messages, and those delivered but not yet
    /// acknowledged wait to be delivered again after the restart; a non-durable queue loses
    /// them all.
    fn broker_crashed(&mut self, ci: usize) {
        let KindRt::Queue(b) = &mut self.comps[ci].kind else {
            return;
        };
        let durable = b.durable;
        b.unacked = 0;
        let queue = u32::try_from(ci).unwrap_or(NONE);
        // A scan of every message, but only when a broker crashes; in id order, so the
        // order of the requeued messages is deterministic.
        let delivered: Vec<u32> = (0..self.messages.items.len())
            .filter(|&i| {
                let msg = &self.messages.items[i];
                msg.queue == queue && msg.state == MessageState::Delivered
            })
            .map(|i| u32::try_from(i).unwrap_or(NONE))
            .collect();
        let mut lost = Vec::new();
        if let KindRt::Queue(b) = &mut self.comps[ci].kind {
            if durable {
                b.backlog.extend(delivered.iter().copied());
            } else {
                lost = b.backlog.drain(..).collect();
            }
        }
        for &m in &delivered {
            let msg = &mut self.messages.items[m as usize];
            msg.generation = msg.generation.wrapping_add(1);
            msg.state = if durable {
                MessageState::Waiting
            } else {
                MessageState::Lost
            };
        }
        if !durable {
            lost.extend(delivered);
            for &m in &lost {
                self.messages.items[m as usize].state = MessageState::Lost;
                self.recorder.message_lost(ci);
                self.free_message_if_done(m);
            }
        }
    }

    fn free_message_if_done(&mut self, m: u32) {
        let msg = &self.messages.items[m as usize];
        let settled = matches!(
            msg.state,
            MessageState::Acked | MessageState::DeadLettered | MessageState::Lost
        );
        if settled && msg.outstanding == 0 {
            let (ci, key, request_type, serial) =
                (msg.queue as usize, msg.key, msg.request_type, msg.serial);
            if let KindRt::Queue(b) = &mut self.comps[ci].kind
                && b.latest.get(&(key, request_type)) == Some(&(m, serial))
            {
                b.latest.remove(&(key, request_type));
            }
            self.messages.remove(m);
        }
    }

    /// Each queue's waiting and unacknowledged messages, and the age of the oldest waiting.
    fn queue_states(&self) -> Vec<QueueState> {
        self.brokers
            .iter()
            .filter_map(|&ci| match &self.comps[ci as usize].kind {
                KindRt::Queue(b) => Some(QueueState {
                    component: ci as usize,
                    backlog: u64::try_from(b.backlog.len()).unwrap_or(u64::MAX),
                    unacked: u64::from(b.unacked),
                    // The head of the backlog: the oldest message, but for those delivered
                    // again, which join the back.
                    head_age_s: b.backlog.front().map(|&m| {
                        (self.now - self.messages.items[m as usize].enqueued).as_secs_f64()
                    }),
                }),
                _ => None,
            })
            .collect()
    }

    // ---- faults -------------------------------------------------------------------------

    fn fault(&mut self, index: u16, starts: bool) {
        let i = index as usize;
        if self.fault_active[i] == starts {
            // A flapping fault's own toggles and its scheduled end can meet; once is enough.
            return;
        }
        self.fault_active[i] = starts;
        let f: Fault = self.faults[i].clone();
        if let Some(flap) = f.flap {
            let window_end = f.duration.map_or(self.end, |d| f.at + d);
            let (next, ev) = if starts {
                (self.now + flap.down, Ev::FaultEnd(index))
            } else {
                (self.now + flap.up, Ev::FaultStart(index))
            };
            if next < window_end {
                self.queue.push(next, ev);
            }
        }
        let Some(target) = f.target else {
            self.network_fault(&f.action, starts);
            return;
        };
        let comp = target.0 as usize;
        let name = self.model.components[comp].name.clone();
        let place = match f.replica {
            Some(r) => format!("{name} replica {r}"),
            None => name,
        };
        let message = match (f.action.clone(), starts) {
            (FaultAction::Crash, true) => format!("crash {place}"),
            (FaultAction::Crash, false) => format!("restart {place}"),
            (FaultAction::Slow { factor, delay }, true) => {
                if delay == SimTime::ZERO {
                    format!("slow {place} ×{factor}")
                } else {
                    format!("slow {place} ×{factor} +{delay}")
                }
            }
            (FaultAction::Capacity { workers }, true) => {
                format!("{place} loses {workers} workers per replica")
            }
            (FaultAction::Capacity { .. }, false) => format!("{place} back to full capacity"),
            (FaultAction::Pause, true) => format!("{place} pauses (stop-the-world)"),
            (FaultAction::Pause, false) => format!("{place} resumes"),
            (FaultAction::Slow { .. }, false) => format!("{place} back to normal speed"),
            (FaultAction::Error { fraction }, true) => {
                format!("{place} fails {:.1}% of requests", fraction * 100.0)
            }
            (FaultAction::Error { .. }, false) => format!("{place} stops failing requests"),
            (FaultAction::Partition { .. } | FaultAction::Link { .. }, _) => return,
        };
        let kind = if starts { "fault" } else { "recovery" };
        self.recorder.log(self.now, kind, message);
        match f.action {
            FaultAction::Crash => self.set_down(comp, f.replica, starts),
            FaultAction::Slow { factor, delay } => {
                self.comps[comp].slow = starts.then_some((factor, delay));
            }
            FaultAction::Pause => {
                let length = f.duration.unwrap_or(SimTime::ZERO);
                self.pause(comp, starts.then_some((self.now + length, length)));
            }
            FaultAction::Capacity { workers } => {
                self.lose_capacity(comp, if starts { workers } else { 0 });
            }
            FaultAction::Error { fraction } => {
                let c = &mut self.comps[comp];
                c.fault_errors = if starts { fraction } else { 0.0 };
                c.fault_error_count = if starts { f.count } else { None };
            }
            FaultAction::Partition { .. } | FaultAction::Link { .. } => {}
        }
    }

    /// A random crash (from `mtbf`) or its repair (after `mttr`), then the next one drawn.
    fn random_failure(&mut self, index: u32, down: bool) {
        let r = &mut self.random[index as usize];
        let (comp, replica) = (r.comp, r.replica);
        let (mtbf, mttr) = match &self.model.components[comp].random_failures {
            Some(rf) => (rf.mtbf.clone(), rf.mttr.clone()),
            None => return,
        };
        let next = if down {
            r.stream.sample(&mttr)
        } else {
            r.stream.sample(&mtbf)
        };
        let name = &self.model.components[comp].name;
        let several = matches!(&self.model.components[comp].kind, ComponentKind::Service(s) if s.replicas > 1);
        let place = match replica {
            Some(i) if several => format!("{name} replica {i}"),
            _ => name.clone(),
        };
        let message = if down {
            format!("random crash of {place}")
        } else {
            format!("{place} repaired")
        };
        self.recorder
            .log(self.now, if down { "fault" } else { "recovery" }, message);
        self.set_down(comp, replica, down);
        let ev = if down {
            Ev::RandomUp(index)
        } else {
            Ev::RandomDown(index)
        };
        self.queue.push(self.now + next, ev);
    }

    /// Starts or ends a partition or a link fault: every link between the named endpoints
    /// (in either direction) gets the trouble, or loses it.
    fn network_fault(&mut self, action: &FaultAction, starts: bool) {
        let message = match action {
            FaultAction::Partition { groups } => {
                let text: Vec<String> = groups
                    .iter()
                    .map(|g| format!("[{}]", g.join(", ")))
                    .collect();
                for l in &mut self.links {
                    let group_of =
                        |name: &str| groups.iter().position(|g| g.iter().any(|m| m == name));
                    if let (Some(a), Some(b)) = (group_of(&l.from), group_of(&l.to))
                        && a != b
                    {
                        l.trouble.cut = starts;
                    }
                }
                if starts {
                    format!("partition {}", text.join(" | "))
                } else {
                    format!("partition healed {}", text.join(" | "))
                }
            }
            FaultAction::Link {
                a,
                b,
                latency,
                loss,
                reset,
                blackhole,
                bandwidth,
            } => {
                for l in &mut self.links {
                    if (l.from == *a && l.to == *b) || (l.from == *b && l.to == *a) {
                        l.trouble = if starts {
                            LinkTrouble {
                                extra: latency.clone(),
                                loss: *loss,
                                reset: *reset,
                                cut: *blackhole,
                                bandwidth: *bandwidth,
                            }
                        } else {
                            LinkTrouble::default()
                        };
                    }
                }
                let mut what = Vec::new();
                if let Some(d) = latency {
                    what.push(format!("+{d} latency"));
                }
                if *loss > 0.0 {
                    what.push(format!("{:.1}% loss", loss * 100.0));
                }
                if *reset {
                    what.push("connections reset".to_string());
                }
                if *blackhole {
                    what.push("black hole".to_string());
                }
                if let Some(bw) = bandwidth {
                    what.push(format!("{:.0} KB/s", bw / 1e3));
                }
                if starts {
                    format!("link {a}–{b}: {}", what.join(", "))
                } else {
                    format!("link {a}–{b} repaired")
                }
            }
            _ => return,
        };
        for l in &mut self.links {
            l.zero = l.latency.is_zero() && !l.trouble.any();
        }
        let kind = if starts { "fault" } else { "recovery" };
        self.recorder.log(self.now, kind, message);
    }

    /// Takes a component (or one replica) down or brings it back. Going down loses what is
    /// inside: queued requests and those in service fail with `dropped`, their callers told
    /// at once, as by a connection reset.
    fn set_down(&mut self, comp: usize, replica: Option<u32>, down: bool) {
        let replicas: Vec<u32> = match self.comps[comp].kind {
            KindRt::Service {
                first_instance,
                allocated,
                ..
            } => match replica {
                Some(r) if r < allocated => vec![first_instance + r],
                // A scenario or sweep left fewer replicas than the fault names: nothing to
                // crash.
                Some(_) => return,
                None => (first_instance..first_instance + allocated).collect(),
            },
            _ => Vec::new(),
        };
        if replicas.is_empty() {
            self.comps[comp].up = !down;
        }
        for &i in &replicas {
            self.instances[i as usize].up = !down;
        }
        if let Some(d) = self.db_index(comp)
            && !down
        {
            let first = self.dbs[d].first_instance();
            let nodes: Vec<u32> = replicas.iter().map(|i| i - first).collect();
            self.db_nodes_changed(d, &nodes, false);
        }
        if !down {
            // A broker back up, or a consumer replica back: messages can flow again.
            for b in 0..self.brokers.len() {
                self.dispatch(self.brokers[b] as usize);
            }
            return;
        }
        let now = self.now;
        for &i in &replicas {
            let queued: Vec<u32> = self.instances[i as usize].queue.drain(..).collect();
            let c = &mut self.comps[comp];
            c.touch(now);
            c.queued -= u32::try_from(queued.len()).unwrap_or(0);
            for task in queued {
                self.instances[i as usize].in_system -= 1;
                self.tasks.items[task as usize].inside = false;
                self.tasks.items[task as usize].failed = Some(Cause::Dropped);
                self.answer_later(task);
            }
        }
        // Whatever else is inside — working, or waiting for its own calls — is lost too.
        // A scan of all tasks costs O(tasks) but happens only when something crashes.
        let victims: Vec<u32> = (0..self.tasks.items.len())
            .filter_map(|i| {
                let t = &self.tasks.items[i];
                let here = t.comp as usize == comp
                    && (replicas.is_empty() || replicas.contains(&t.instance));
                (t.live && t.inside && !t.zombie && here).then(|| u32::try_from(i).unwrap_or(NONE))
            })
            .collect();
        for task in victims {
            // Answers go through the queues during a crash (see `answer_later`), but check
            // again all the same: nothing must be lost twice.
            let t = &self.tasks.items[task as usize];
            if t.live && t.inside && !t.zombie {
                self.lose(task);
            }
        }
        if let KindRt::Queue(_) = self.comps[comp].kind {
            self.broker_crashed(comp);
        }
        if let Some(d) = self.db_index(comp) {
            // After the tasks inside were lost: writes waiting for acknowledgements are gone.
            let first = self.dbs[d].first_instance();
            let nodes: Vec<u32> = replicas.iter().map(|i| i - first).collect();
            self.db_nodes_changed(d, &nodes, true);
        }
        if let KindRt::Cache(cache) = &mut self.comps[comp].kind {
            // A cache keeps its entries in memory: it restarts empty. Those waiting for a
            // fetch were lost above; a cache-aside caller still reading the store fills the
            // cache when it comes back, as a real client would.
            if let Some((lru, _)) = &mut cache.keys {
                lru.clear();
            }
            cache.inflight.clear();
        }
    }

    /// Sends a task's answer over its link through the event queues, never by a direct
    /// call: during a crash the caller may itself be among the tasks being lost, and must
    /// not run before the crash has been applied to all of them.
    fn answer_later(&mut self, task: u32) {
        let link = self.tasks.items[task as usize].link;
        let crossing = self.cross(link, false);
        self.count_answer(task, link, &crossing);
        match crossing {
            Crossing::After(delay) => self.at(delay, Ev::Reply(task)),
            Crossing::Lost | Crossing::Refused => self.lost_in_network(task),
        }
    }

    /// A task lost in a crash: its caller is answered `dropped` now through a stand-in, and
    /// the task itself lingers as a zombie until its pending events have passed.
    fn lose(&mut self, task: u32) {
        let now = self.now;
        let t = &self.tasks.items[task as usize];
        let (ci, holds) = (t.comp as usize, t.holds_worker);
        let stand_in = Task {
            failed: Some(Cause::Dropped),
            degraded: false,
            inside: false,
            working: false,
            holds_worker: false,
            pending: 0,
            record: false,
            zombie: false,
            live: true,
            ..*t
        };
        let call = t.call;
        let stand_in = self.tasks.insert(stand_in);
        if call != NONE {
            let cs = &mut self.calls.items[call as usize];
            if cs.child == task {
                cs.child = stand_in;
            } else if cs.hedge == task {
                cs.hedge = stand_in;
            }
        }
        if holds {
            self.release_worker(task);
        }
        match &mut self.comps[ci].kind {
            KindRt::Service { .. } => {
                let inst = self.tasks.items[task as usize].instance;
                self.instances[inst as usize].in_system -= 1;
            }
            KindRt::Balancer { outstanding, .. } => {
                let slot = self.tasks.items[task as usize].instance;
                outstanding[slot as usize] -= 1;
                let c = &mut self.comps[ci];
                c.touch(now);
                c.busy -= 1;
            }
            KindRt::External { .. } => {
                let c = &mut self.comps[ci];
                c.touch(now);
                c.busy -= 1;
            }
            KindRt::Cache(_) | KindRt::Queue(_) => {}
        }
        let t = &mut self.tasks.items[task as usize];
        t.inside = false;
        t.zombie = true;
        t.parent = NONE;
        t.call = NONE;
        t.root = NONE;
        let idle = !t.working && t.pending == 0;
        if idle {
            self.free_task(task);
        }
        self.answer_later(stand_in);
    }
}

/// Gives each cache-aside cache the links its callers read the store by: the callers are
/// the services that call it and the workloads that target it (the graph check refuses a
/// balancer in front of one).
fn aside_links(model: &Model, comps: &mut [CompRt], links: &mut LinkTable<'_>) {
    for (ci, comp) in model.components.iter().enumerate() {
        let Some(cache) = comp
            .kind
            .cache()
            .filter(|c| c.mode == CacheMode::CacheAside)
        else {
            continue;
        };
        let store = &model.component(cache.backing).name;
        let target = u32::try_from(ci).unwrap_or(NONE);
        let mut callers: Vec<&str> = model
            .workloads
            .iter()
            .filter(|w| w.target.0 == target)
            .map(|w| w.name.as_str())
            .collect();
        for caller in &model.components {
            if let ComponentKind::Service(s) = &caller.kind {
                let calls_it = s
                    .handlers
                    .iter()
                    .flat_map(|h| &h.steps)
                    .any(|step| match step {
                        Step::Call(c) => c.to.0 == target,
                        Step::Parallel(cs) => cs.iter().any(|c| c.to.0 == target),
                    });
                if calls_it {
                    callers.push(&caller.name);
                }
            }
        }
        let aside: Vec<(u32, u32)> = callers
            .into_iter()
            .map(|caller| (links.id(caller, &comp.name), links.id(caller, store)))
            .collect();
        if let KindRt::Cache(rt) = &mut comps[ci].kind {
            rt.aside = aside;
        }
    }
}

/// Puts a message back to be delivered again: at the head for a per-key queue, so that it
/// keeps its place before the later messages of its partition; at the back otherwise.
fn requeue(b: &mut BrokerRt, m: u32) {
    if let MessageOrdering::PerKey { .. } = b.ordering {
        b.backlog.push_front(m);
    } else {
        b.backlog.push_back(m);
    }
}

/// The finaliser of the `SplitMix64` generator: spreads request keys evenly over
/// partitions.
fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A duration multiplied by a `slow` fault's factor.
#[inline]
fn scale(t: SimTime, slow: Option<(f64, SimTime)>) -> SimTime {
    match slow {
        None => t,
        Some((factor, delay)) => ns_to_time(nanos_f64(t) * factor) + delay,
    }
}

/// Takes one token from a retry budget if it has one; a call without a budget may always
/// retry.
fn spend_token(budgets: &mut [f64], budget: Option<u32>) -> bool {
    match budget {
        None => true,
        Some(b) => {
            let tokens = &mut budgets[b as usize];
            if *tokens >= 1.0 {
                *tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }
}

/// The wait before retry number `done` (attempts made so far, at least 1).
fn backoff(retry: &Retry, done: u32, last: SimTime, rng: &mut Stream) -> SimTime {
    let base = nanos_f64(retry.base);
    let cap = nanos_f64(retry.max_backoff);
    let raw = match retry.backoff {
        Backoff::Constant => base,
        Backoff::Exponential => {
            base * f64::from(2u32.saturating_pow(done.saturating_sub(1).min(62)))
        }
        Backoff::Decorrelated => {
            let upper = (3.0 * nanos_f64(last)).max(base);
            base + (upper - base) * rng.unit()
        }
    };
    let capped = raw.min(cap);
    let waited = match retry.jitter {
        Jitter::None => capped,
        Jitter::Full => capped * rng.unit(),
        Jitter::Equal => capped / 2.0 + capped / 2.0 * rng.unit(),
    };
    ns_to_time(waited)
}

impl Slab<CallState> {
    /// Keeps the slot's generation across reuse, so a stale timer never matches a new call.
    fn insert_call(&mut self, call: CallState) -> u32 {
        if let Some(i) = self.free.pop() {
            let slot = &mut self.items[i as usize];
            let generation = slot.generation.wrapping_add(1);
            *slot = CallState { generation, ..call };
            i
        } else {
            self.items.push(call);
            u32::try_from(self.items.len() - 1).unwrap_or(NONE)
        }
    }
}

impl Slab<Message> {
    /// Like `insert`, but a reused slot keeps counting generations, so that a stale timer of
    /// the message that held it never matches the new one.
    fn insert_message(&mut self, message: Message) -> u32 {
        if let Some(i) = self.free.pop() {
            let slot = &mut self.items[i as usize];
            let generation = slot.generation;
            *slot = Message {
                generation,
                ..message
            };
            i
        } else {
            self.items.push(message);
            u32::try_from(self.items.len() - 1).unwrap_or(NONE)
        }
    }
}

impl Slab<Root> {
    fn insert_root(&mut self, root: Root) -> u32 {
        if let Some(i) = self.free.pop() {
            let slot = &mut self.items[i as usize];
            let generation = slot.generation;
            *slot = Root { generation, ..root };
            i
        } else {
            self.items.push(root);
            u32::try_from(self.items.len() - 1).unwrap_or(NONE)
        }
    }
}

/// Chooses one of `n` places by `policy`; `load` gives each place's outstanding requests.
#[inline]
fn pick(
    policy: Policy,
    n: u32,
    next_rr: &mut u32,
    rng: &mut Stream,
    load: impl Fn(u32) -> u32,
) -> u32 {
    match policy {
        Policy::RoundRobin => {
            let i = *next_rr % n;
            *next_rr = (i + 1) % n;
            i
        }
        Policy::Random => rng.below(n),
        Policy::LeastConnections => {
            // Scanning from a rotating start spreads ties instead of piling them on place 0.
            let start = *next_rr % n;
            *next_rr = (start + 1) % n;
            let mut best = start;
            let mut best_load = load(start);
            for k in 1..n {
                let i = (start + k) % n;
                let l = load(i);
                if l < best_load {
                    best = i;
                    best_load = l;
                }
            }
            best
        }
        Policy::PowerOfTwo => {
            if n == 1 {
                return 0;
            }
            let a = rng.below(n);
            let mut b = rng.below(n - 1);
            if b >= a {
                b += 1;
            }
            if load(b) < load(a) { b } else { a }
        }
    }
}

/// Like [`pick`], among the places `load` returns a load for (the eligible ones); `None`
/// when there is none.
#[inline]
fn pick_eligible(
    policy: Policy,
    n: u32,
    next_rr: &mut u32,
    rng: &mut Stream,
    load: impl Fn(u32) -> Option<u32>,
) -> Option<u32> {
    let eligible = (0..n).filter(|&i| load(i).is_some()).count();
    let count = u32::try_from(eligible).unwrap_or(0);
    if count == 0 {
        return None;
    }
    // The k-th eligible place, without allocating a list of them.
    let nth = |k: u32| (0..n).filter(|&i| load(i).is_some()).nth(k as usize);
    match policy {
        Policy::RoundRobin => {
            let start = *next_rr % n;
            let found = (0..n).map(|k| (start + k) % n).find(|&i| load(i).is_some());
            if let Some(i) = found {
                *next_rr = (i + 1) % n;
            }
            found
        }
        Policy::Random => nth(rng.below(count)),
        Policy::LeastConnections => {
            let start = *next_rr % n;
            *next_rr = (start + 1) % n;
            (0..n)
                .map(|k| (start + k) % n)
                .filter_map(|i| load(i).map(|l| (l, i)))
                .min_by_key(|&(l, _)| l)
                .map(|(_, i)| i)
        }
        Policy::PowerOfTwo => {
            if count == 1 {
                return nth(0);
            }
            let a = rng.below(count);
            let mut b = rng.below(count - 1);
            if b >= a {
                b += 1;
            }
            let (a, b) = (nth(a)?, nth(b)?);
            if load(b) < load(a) { Some(b) } else { Some(a) }
        }
    }
}

fn arrival(now: SimTime, crossing: &Crossing) -> Option<SimTime> {
    match crossing {
        Crossing::After(delay) => Some(now + *delay),
        Crossing::Refused => Some(now),
        Crossing::Lost => None,
    }
}

/// Links by (from, to) name pair, each with its own random stream.
struct LinkTable<'m> {
    model: &'m Model,
    seed: u64,
    ids: BTreeMap<(String, String), u32>,
    links: Vec<LinkRt>,
}

impl<'m> LinkTable<'m> {
    fn new(model: &'m Model, seed: u64) -> Self {
        LinkTable {
            model,
            seed,
            ids: BTreeMap::new(),
            links: Vec::new(),
        }
    }

    fn id(&mut self, from: &str, to: &str) -> u32 {
        let key = (from.to_string(), to.to_string());
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let latency = self.model.link_latency(from, to).clone();
        let id = u32::try_from(self.links.len()).unwrap_or(NONE);
        self.links.push(LinkRt {
            zero: latency.is_zero(),
            sent: 0,
            failed: 0,
            answers: 0,
            latency,
            rng: Stream::derive(self.seed, &format!("{from}->{to}"), "latency"),
            from: from.to_string(),
            to: to.to_string(),
            trouble: LinkTrouble::default(),
            bytes: [
                self.model.message_bytes(from, to),
                self.model.message_bytes(to, from),
            ],
            free_at: [SimTime::ZERO; 2],
        });
        self.ids.insert(key, id);
        id
    }

    fn finish(self) -> Vec<LinkRt> {
        self.links
    }
}
