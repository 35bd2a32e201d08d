//! The model format's keys, described once.
//!
//! The reader takes the allowed keys of each mapping from these tables (so an unknown key is
//! always caught), and `archsim schema` turns the same tables into a JSON Schema for editors.
//! A key added here is accepted, documented in the schema and offered by autocompletion at
//! once; a key the reader reads but this table lacks is refused as unknown, which the tests
//! would catch.

use serde_json::{Map, Value, json};

use super::dist::DIST_HELP;

/// The shape of a value, enough to produce JSON Schema draft-07.
#[derive(Debug)]
pub enum Ty {
    Str,
    Bool,
    /// A number above 0.
    Positive,
    /// Any number.
    Number,
    /// An empty value (`browse:` with nothing after it).
    Null,
    /// A whole number at or above `min`.
    Int {
        min: i64,
    },
    Duration,
    Rate,
    Dist,
    Fraction,
    Enum(&'static [&'static str]),
    /// A definition in `$defs`, for recursive and shared shapes.
    Ref(&'static str),
    List(&'static Ty),
    /// A mapping from names the user chooses to values of one shape.
    MapOf(&'static Ty),
    Object(&'static [Key]),
    /// An object whose `kind` selects its keys.
    Tagged(&'static [(&'static str, &'static [Key])]),
    AnyOf(&'static [Ty]),
}

#[derive(Debug)]
pub struct Key {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub doc: &'static str,
}

const fn key(name: &'static str, ty: Ty, doc: &'static str) -> Key {
    Key {
        name,
        ty,
        required: false,
        doc,
    }
}

const fn required(name: &'static str, ty: Ty, doc: &'static str) -> Key {
    Key {
        name,
        ty,
        required: true,
        doc,
    }
}

pub const POLICIES: &[&str] = &["round_robin", "random", "least_connections", "power_of_two"];
pub const IO_MODES: &[&str] = &["blocking", "async"];
pub const KINDS: &[&str] = &[
    "service",
    "load_balancer",
    "external",
    "cache",
    "queue",
    "database",
];
pub const READ_FROM: &[&str] = &["primary", "replicas", "any"];
pub const REPLICATION: &[&str] = &["async", "semi_sync", "sync"];
pub const CACHE_MODES: &[&str] = &["cache_aside", "read_through", "write_through"];
pub const ON_WRITES: &[&str] = &["invalidate", "update"];
pub const ORDERINGS: &[&str] = &["none", "per_key", "causal"];
pub const CAUSES: &[&str] = &["timeout", "rejected", "unavailable", "dropped", "error"];
pub const JITTERS: &[&str] = &["none", "full", "equal"];

pub static TOP: &[Key] = &[
    key("name", Ty::Str, "A title for the model, shown in reports."),
    key(
        "duration",
        Ty::Duration,
        "Simulated length of a run, e.g. `10m`. Default 1m; `archsim run --duration` overrides it.",
    ),
    key(
        "warmup",
        Ty::Duration,
        "Initial time excluded from statistics, e.g. `30s`. Default 0.",
    ),
    key(
        "seed",
        Ty::Int { min: 0 },
        "Seed of the run's random streams. Default 1; `--seed` overrides it.",
    ),
    key(
        "series_buckets",
        Ty::Int { min: 1 },
        "Number of fixed-width time buckets in the report's time series. Default 200.",
    ),
    required(
        "workloads",
        Ty::List(&Ty::Ref("workload")),
        "Who sends requests, to which component, how often.",
    ),
    required(
        "components",
        Ty::MapOf(&Ty::Ref("component")),
        "The architecture's parts, by name.",
    ),
    key(
        "links",
        Ty::Ref("links"),
        "Network latency between components. Omitted: zero latency.",
    ),
    key(
        "faults",
        Ty::List(&Ty::Ref("fault")),
        "Failures scripted at given times: `{ at: 2m, for: 30s, crash: db }`.",
    ),
    key(
        "scenarios",
        Ty::MapOf(&Ty::Ref("scenario")),
        "Named what-ifs for `archsim compare` and `archsim check`: extra faults and parameter \
         overrides, e.g. `{ db_down: { faults: [ { at: 1m, crash: db } ] } }`.",
    ),
    key(
        "limits",
        Ty::Ref("limits"),
        "How much a run may hold at once before it stops with an error naming where work \
         piles up: `{ requests: 2000000, calls: 4000000, messages: 4000000 }` by default.",
    ),
    key(
        "slos",
        Ty::List(&Ty::Ref("slo")),
        "Service level objectives per request type, checked by `archsim check`: \
         `- { request: browse, p99: 200ms, availability: 99.9% }`.",
    ),
    key(
        "layout",
        Ty::MapOf(&Ty::List(&Ty::Number)),
        "Where the app draws each component or workload: `{ db: [690, 120] }`, in diagram \
         units (x to the right, y down). The app writes it on `Save layout`; nodes not listed \
         are placed automatically.",
    ),
];

pub static SCENARIO: &[Key] = &[
    key(
        "description",
        Ty::Str,
        "A sentence saying what this scenario asks.",
    ),
    key(
        "faults",
        Ty::List(&Ty::Ref("fault")),
        "Faults added to the model's own: `[ { at: 1m, for: 2m, crash: db } ]`.",
    ),
    key(
        "set",
        Ty::MapOf(&Ty::AnyOf(&[Ty::Str, Ty::Int { min: 0 }, Ty::Positive])),
        "Parameters changed, by dotted path: `app.replicas`, `app.workers`, `app.queue`, \
         `app.timeout` and `app.retry.attempts` (every call of `app`), \
         `app.calls.db.timeout`, `app.handlers.browse.calls.db.retry.attempts`, \
         `app.calls.reports.concurrency`, `app.autoscale.queue_target` (also `target`, \
         `cold_start`, `min`, `max`), \
         `app.handlers.browse.work`, `payments.latency`, `payments.errors`, \
         `shoppers.rate`, `analysts.users`.",
    ),
];

pub static SLO: &[Key] = &[
    required(
        "request",
        Ty::Str,
        "The request type (user flow) bound, as a workload sends it.",
    ),
    key(
        "availability",
        Ty::Fraction,
        "At least this share of the requests that ended were answered, e.g. `99.9%`.",
    ),
    key(
        "mean",
        Ty::Duration,
        "Mean end-to-end latency at most this.",
    ),
    key(
        "p50",
        Ty::Duration,
        "Median end-to-end latency at most this.",
    ),
    key("p90", Ty::Duration, "90th percentile latency at most this."),
    key(
        "p99",
        Ty::Duration,
        "99th percentile latency at most this, e.g. `200ms`.",
    ),
    key(
        "p999",
        Ty::Duration,
        "99.9th percentile latency at most this.",
    ),
    key(
        "scenario",
        Ty::Str,
        "Apply only under this scenario (or `baseline`: only under the model as written). \
         Omitted: under the baseline and every scenario.",
    ),
];

pub static AUTOSCALE: &[Key] = &[
    required("min", Ty::Int { min: 1 }, "Fewest replicas."),
    required("max", Ty::Int { min: 1 }, "Most replicas."),
    key(
        "target",
        Ty::Fraction,
        "Target utilisation of the ready replicas, e.g. `70%`: the wanted count is \
         ceil(ready × utilisation / target), as Kubernetes' horizontal autoscaler computes it. \
         Default 70%.",
    ),
    key(
        "queue_target",
        Ty::Positive,
        "Scale on queue depth instead of utilisation: the target mean number of requests \
         waiting per ready replica, e.g. `5`; the wanted count is ceil(ready × depth / \
         queue_target), at least the ready count while requests wait.",
    ),
    key(
        "window",
        Ty::Duration,
        "Utilisation is measured over this window; a decision is taken at its end. Default 30s.",
    ),
    key(
        "cold_start",
        Ty::Duration,
        "A new replica serves only after this delay. Default 30s.",
    ),
    key(
        "cooldown",
        Ty::Duration,
        "No scale-in sooner than this after the last change. Default 2m.",
    ),
];

pub static FLAP: &[Key] = &[
    required("down", Ty::Duration, "How long the fault is on each time."),
    required("up", Ty::Duration, "How long it is off in between."),
];

pub static BREAKER: &[Key] = &[
    key(
        "failures",
        Ty::Int { min: 1 },
        "Consecutive failed attempts that open the breaker.",
    ),
    key(
        "error_rate",
        Ty::Fraction,
        "Opens when this share of the attempts in the last `window` failed, e.g. `50%` \
         (with at least `min_calls` attempts in it). Give `failures`, `error_rate` or both.",
    ),
    key(
        "window",
        Ty::Duration,
        "With `error_rate`: the sliding window. Default 10s.",
    ),
    key(
        "min_calls",
        Ty::Int { min: 1 },
        "With `error_rate`: attempts the window must hold before the rate counts. Default 20.",
    ),
    key(
        "open_for",
        Ty::Duration,
        "How long it stays open, refusing calls at once, before letting probes through. \
         Default 10s.",
    ),
    key(
        "probes",
        Ty::Int { min: 1 },
        "Attempts let through at once while half-open; one success closes it, one failure \
         opens it again. Default 1.",
    ),
];

pub static FAULT: &[Key] = &[
    required("at", Ty::Duration, "When the fault starts."),
    key(
        "for",
        Ty::Duration,
        "How long it lasts; omitted, it lasts to the end of the run.",
    ),
    key(
        "crash",
        Ty::Str,
        "The component that goes down: requests inside it are lost (`dropped`), new ones \
         fail at once (`unavailable`); it restarts empty when the fault ends.",
    ),
    key(
        "slow",
        Ty::Str,
        "The component whose work (or latency) takes `factor` times as long.",
    ),
    key(
        "error",
        Ty::Str,
        "The component that fails `fraction` of its requests with `error`.",
    ),
    key(
        "pause",
        Ty::Str,
        "The component that stops the world for `for` (a long GC pause): work in progress \
         freezes, nothing starts, answers to it wait; arrivals queue.",
    ),
    key(
        "capacity",
        Ty::Str,
        "The component that loses `workers` workers on each replica (capacity loss).",
    ),
    key(
        "workers",
        Ty::Int { min: 1 },
        "For `capacity`: workers lost on each replica.",
    ),
    key(
        "delay",
        Ty::Duration,
        "For `slow`: time added to every piece of work (with or instead of `factor`).",
    ),
    key(
        "partition",
        Ty::List(&Ty::AnyOf(&[Ty::Str, Ty::List(&Ty::Str)])),
        "Groups of components (or workloads) that can no longer reach each other: \
         `[[app], [db, cache]]`. Messages between groups vanish; callers wait for their timeout.",
    ),
    key(
        "link",
        Ty::List(&Ty::Str),
        "The two endpoints of a troubled link, either direction: `[app, db]`. Say what \
         happens with `latency`, `loss`, `reset` or `blackhole`.",
    ),
    key(
        "latency",
        Ty::Dist,
        "For `link`: delay added to every crossing, e.g. `exp 50ms`.",
    ),
    key(
        "loss",
        Ty::Fraction,
        "For `link`: share of messages that vanish, e.g. `10%`.",
    ),
    key(
        "bandwidth",
        Ty::Str,
        "For `link`: a bandwidth limit, e.g. `10Mbit/s`; messages queue to cross, each \
         taking its size over the bandwidth (sizes from `links.overrides`, default 1KB).",
    ),
    key(
        "reset",
        Ty::Bool,
        "For `link`: new requests fail at once with `unavailable`, as on a refused or reset \
         connection.",
    ),
    key(
        "blackhole",
        Ty::Bool,
        "For `link`: every message vanishes, with no error: callers wait for their timeout.",
    ),
    key(
        "factor",
        Ty::Positive,
        "For `slow`: the multiplier, e.g. `10`.",
    ),
    key(
        "fraction",
        Ty::Fraction,
        "For `error`: the share of requests that fail, e.g. `50%`.",
    ),
    key(
        "flap",
        Ty::Ref("flap"),
        "Within the window (`at`, `for`): the fault is on for `down`, off for `up`, again \
         and again.",
    ),
    key(
        "count",
        Ty::Int { min: 1 },
        "For `error`: only the first this many requests fail.",
    ),
    key(
        "replica",
        Ty::Int { min: 0 },
        "Only this replica of a service (counted from 0); omitted, all of them.",
    ),
];

pub static RETRY: &[Key] = &[
    required(
        "attempts",
        Ty::Int { min: 1 },
        "Attempts in all, the first included: `3` means up to 2 retries.",
    ),
    key(
        "backoff",
        Ty::Str,
        "The wait before a retry: `constant 10ms`, `exponential 50ms` (doubling) or \
         `decorrelated 50ms`. Default: no wait.",
    ),
    key(
        "max_backoff",
        Ty::Duration,
        "The longest wait between attempts. Default 10s.",
    ),
    key(
        "jitter",
        Ty::Enum(JITTERS),
        "Randomises the wait: `full` (0 to the wait), `equal` (half to all of it) or `none` \
         (default).",
    ),
    key(
        "on",
        Ty::List(&Ty::Enum(CAUSES)),
        "Which failures are retried. Default: all of them.",
    ),
    key(
        "budget",
        Ty::Fraction,
        "A retry budget: retries add at most this share of extra attempts, e.g. `10%` \
         (a token bucket per call: each first attempt earns this much of a token, each \
         retry spends one). Default: no budget.",
    ),
    key(
        "burst",
        Ty::Int { min: 1 },
        "With `budget`: tokens the bucket holds (and starts with): retries allowed in a \
         burst. Default 10.",
    ),
];

pub static WORKLOAD: &[Key] = &[
    required("name", Ty::Str, "Name of the workload, e.g. `shoppers`."),
    required(
        "target",
        Ty::Str,
        "The component that receives the requests.",
    ),
    key(
        "rate",
        Ty::AnyOf(&[Ty::Rate, Ty::List(&Ty::Ref("rate_step"))]),
        "Open loop: Poisson arrivals at this rate (`250/s`), or a schedule of rates \
         `[ { at: 0s, rate: 100/s }, { at: 5m, rate: 400/s } ]`.",
    ),
    key(
        "users",
        Ty::Int { min: 1 },
        "Closed loop: this many users, each sending a request, waiting for the answer, then thinking.",
    ),
    key(
        "think",
        Ty::Dist,
        "Closed loop: each user's think time between an answer and the next request. Default 0.",
    ),
    key(
        "mix",
        Ty::MapOf(&Ty::Fraction),
        "Request types and their probabilities, summing to 1: `{ browse: 0.9, buy: 0.1 }`.",
    ),
    key(
        "request",
        Ty::Str,
        "The single request type of this workload (instead of `mix`).",
    ),
    key(
        "timeout",
        Ty::Duration,
        "The client's deadline: a request not answered by then fails with cause `timeout`.",
    ),
];

pub static RATE_STEP: &[Key] = &[
    required("at", Ty::Duration, "When this rate starts."),
    required(
        "rate",
        Ty::Rate,
        "The arrival rate from then on (may be `0/s`).",
    ),
];

pub static SERVICE: &[Key] = &[
    required(
        "kind",
        Ty::Enum(&["service"]),
        "A pool of workers with a waiting queue.",
    ),
    key(
        "description",
        Ty::Str,
        "A sentence saying what this component is for.",
    ),
    key(
        "mtbf",
        Ty::Dist,
        "Random crashes: time between failures of each replica, e.g. `exp 2h` (with `mttr`).",
    ),
    key(
        "mttr",
        Ty::Dist,
        "Random crashes: time to repair, e.g. `exp 5m`; the replica restarts empty.",
    ),
    key(
        "replicas",
        Ty::Int { min: 1 },
        "Identical instances, each with its own workers and queue, at most 10000. Default 1.",
    ),
    key(
        "workers",
        Ty::Int { min: 1 },
        "Requests each replica serves at once. Default 1.",
    ),
    key(
        "queue",
        Ty::AnyOf(&[Ty::Int { min: 0 }, Ty::Enum(&["unbounded"])]),
        "Waiting room per replica; a request that finds it full is rejected. Default `unbounded`.",
    ),
    key(
        "io",
        Ty::Enum(IO_MODES),
        "`blocking` (default): a worker stays busy while its calls are outstanding, as in a \
         thread-per-request server. `async`: the worker is released while it waits, as in an \
         event-loop server.",
    ),
    key(
        "balance",
        Ty::Enum(POLICIES),
        "How callers spread requests over this service's replicas when they call it directly \
         (not through a load balancer). Default `round_robin`.",
    ),
    key(
        "autoscale",
        Ty::Ref("autoscale"),
        "Add and remove replicas with the load: `{ min: 2, max: 10, target: 70% }`; \
         `replicas` is then the starting count.",
    ),
    key(
        "queue_timeout",
        Ty::Duration,
        "Load shedding: a request that has waited longer than this in the queue is turned \
         away (`rejected`) when a worker would take it, instead of being served late.",
    ),
    key(
        "queue_order",
        Ty::Enum(&["fifo", "lifo"]),
        "`fifo` (default) or `lifo`: serve the newest waiting request first, so that under \
         overload the requests whose callers still wait are served.",
    ),
    key(
        "timeout",
        Ty::Duration,
        "Default timeout of this service's calls: an attempt not answered by then fails \
         with `timeout` (the callee's work goes on, wasted).",
    ),
    key(
        "retry",
        Ty::Ref("retry"),
        "Default retry policy of this service's calls.",
    ),
    key(
        "breaker",
        Ty::Ref("breaker"),
        "Default circuit breaker of this service's calls (one per call, shared by the \
         service's replicas).",
    ),
    required(
        "handlers",
        Ty::MapOf(&Ty::AnyOf(&[Ty::Ref("handler"), Ty::Null])),
        "What the service does for each request type; `\"*\"` serves any type.",
    ),
];

pub static LOAD_BALANCER: &[Key] = &[
    required(
        "kind",
        Ty::Enum(&["load_balancer"]),
        "Spreads requests over the replicas of its backends.",
    ),
    key(
        "description",
        Ty::Str,
        "A sentence saying what this component is for.",
    ),
    key(
        "mtbf",
        Ty::Dist,
        "Random crashes: time between failures of each replica, e.g. `exp 2h` (with `mttr`).",
    ),
    key(
        "mttr",
        Ty::Dist,
        "Random crashes: time to repair, e.g. `exp 5m`; the replica restarts empty.",
    ),
    key(
        "policy",
        Ty::Enum(POLICIES),
        "How a backend replica is chosen. Default `round_robin`.",
    ),
    required(
        "backends",
        Ty::AnyOf(&[Ty::Str, Ty::List(&Ty::Str)]),
        "A component, or a list of components, whose replicas receive the requests.",
    ),
    key(
        "latency",
        Ty::Dist,
        "Time the balancer adds to each request, e.g. `50us`. Default 0.",
    ),
    key(
        "health_check",
        Ty::Ref("health_check"),
        "Active health checks: probe every backend replica each `interval`, eject it after \
         `unhealthy` failed probes in a row, bring it back after `healthy` good ones.",
    ),
    key(
        "outlier",
        Ty::Ref("outlier"),
        "Outlier ejection: leave out a replica whose answers fail `failures` times in a row, \
         for `eject_for`.",
    ),
];

pub static HEALTH_CHECK: &[Key] = &[
    key(
        "interval",
        Ty::Duration,
        "Time between probes of each replica. Default 5s.",
    ),
    key(
        "unhealthy",
        Ty::Int { min: 1 },
        "Failed probes in a row that eject a replica. Default 3.",
    ),
    key(
        "healthy",
        Ty::Int { min: 1 },
        "Good probes in a row that bring an ejected replica back. Default 2.",
    ),
];

pub static OUTLIER: &[Key] = &[
    required(
        "failures",
        Ty::Int { min: 1 },
        "Failed answers in a row from one replica that eject it.",
    ),
    key(
        "eject_for",
        Ty::Duration,
        "How long it is left out. Default 30s.",
    ),
];

pub static EXTERNAL: &[Key] = &[
    required(
        "kind",
        Ty::Enum(&["external"]),
        "A third-party API: a latency and a failure rate, with no capacity limit of its own.",
    ),
    key(
        "description",
        Ty::Str,
        "A sentence saying what this component is for.",
    ),
    key(
        "mtbf",
        Ty::Dist,
        "Random crashes: time between failures of each replica, e.g. `exp 2h` (with `mttr`).",
    ),
    key(
        "mttr",
        Ty::Dist,
        "Random crashes: time to repair, e.g. `exp 5m`; the replica restarts empty.",
    ),
    required(
        "latency",
        Ty::Dist,
        "Time to answer, e.g. `lognormal 80ms p99 400ms`.",
    ),
    key(
        "errors",
        Ty::Fraction,
        "Fraction of requests that fail with cause `error`, e.g. `1%`. Default 0.",
    ),
];

pub static CACHE: &[Key] = &[
    required(
        "kind",
        Ty::Enum(&["cache"]),
        "A cache in front of a backing store: a hit answers after `latency`, a miss goes to \
         `on_miss`.",
    ),
    key(
        "description",
        Ty::Str,
        "A sentence saying what this component is for.",
    ),
    key(
        "mtbf",
        Ty::Dist,
        "Random crashes: time between failures, e.g. `exp 2h` (with `mttr`); it restarts \
         empty.",
    ),
    key(
        "mttr",
        Ty::Dist,
        "Random crashes: time to repair, e.g. `exp 5m`.",
    ),
    required(
        "latency",
        Ty::Dist,
        "Time a lookup takes, hit or miss, e.g. `exp 300us`.",
    ),
    required(
        "on_miss",
        Ty::Ref("on_miss"),
        "Where a miss is read from: `{ to: db }`, optionally with the `request` type sent.",
    ),
    key(
        "mode",
        Ty::Enum(CACHE_MODES),
        "`cache_aside` (default): the caller reads `on_miss` itself and fills the cache; \
         `read_through`: the cache does; `write_through`: the cache also forwards `writes` \
         to the store and installs their keys when it answers (needs `keys` and `writes`).",
    ),
    key(
        "hit_ratio",
        Ty::Fraction,
        "A fixed share of lookups that hit, e.g. `80%` (instead of `keys`).",
    ),
    key(
        "keys",
        Ty::Int { min: 1 },
        "Hits emerge from a key space of this many keys, kept by LRU (instead of `hit_ratio`).",
    ),
    key(
        "zipf",
        Ty::Positive,
        "With `keys`: Zipf exponent of key popularity, e.g. `0.9`. Default: uniform.",
    ),
    key(
        "capacity",
        Ty::Int { min: 1 },
        "With `keys`: entries held at once; the least recently used is evicted. Default: all \
         keys.",
    ),
    key(
        "ttl",
        Ty::Duration,
        "With `keys`: an entry expires this long after it was filled, e.g. `5m`.",
    ),
    key(
        "coalesce",
        Ty::Bool,
        "With `keys`: single-flight per key; a miss for a key already being fetched waits \
         for that fetch. Default false.",
    ),
    key(
        "writes",
        Ty::List(&Ty::Str),
        "With `keys`: request types that write their key instead of reading it; what that \
         does follows `mode` and `on_write`.",
    ),
    key(
        "on_write",
        Ty::Enum(ON_WRITES),
        "With `writes`, for `cache_aside` and `read_through`: `invalidate` (default) \
         removes the written key; `update` installs it, so the next read hits.",
    ),
];

pub static QUEUE: &[Key] = &[
    required(
        "kind",
        Ty::Enum(&["queue"]),
        "A message broker: producers' calls return once it has the message; consumer \
         services pull and acknowledge.",
    ),
    key(
        "description",
        Ty::Str,
        "A sentence saying what this component is for.",
    ),
    key(
        "mtbf",
        Ty::Dist,
        "Random crashes of the broker: time between failures, e.g. `exp 2h` (with `mttr`).",
    ),
    key(
        "mttr",
        Ty::Dist,
        "Random crashes: time to repair, e.g. `exp 5m`.",
    ),
    key(
        "latency",
        Ty::Dist,
        "Time to accept a message before the producer's call returns. Default 0.",
    ),
    required(
        "consumers",
        Ty::AnyOf(&[Ty::Str, Ty::List(&Ty::Str)]),
        "The service (or list of services) whose replicas pull the messages.",
    ),
    key(
        "prefetch",
        Ty::Int { min: 1 },
        "Unacknowledged messages each consumer replica holds at once. Default: its workers.",
    ),
    key(
        "durable",
        Ty::Bool,
        "Whether the messages survive a crash of the broker. Default true.",
    ),
    key(
        "visibility_timeout",
        Ty::Duration,
        "A delivered message not acknowledged within this is delivered again. Default 30s.",
    ),
    key(
        "max_deliveries",
        Ty::Int { min: 1 },
        "Deliveries without an acknowledgement before a message is dead-lettered. Default 5.",
    ),
    key(
        "capacity",
        Ty::Int { min: 1 },
        "Waiting messages at most; more are rejected. Default unbounded.",
    ),
    key(
        "ordering",
        Ty::Enum(ORDERINGS),
        "`none` (default): any order; `per_key`: one message at a time per partition, in the \
         order sent; `causal`: a message waits for the messages it `depends` on.",
    ),
    key(
        "partitions",
        Ty::Int { min: 1 },
        "With `ordering: per_key`: partitions the keys are hashed to. Default 16.",
    ),
    key(
        "depends",
        Ty::MapOf(&Ty::Str),
        "Causal dependencies between message types, e.g. `{ send_message: create_user }`: a \
         message depends on the latest message of that type sent before it by the same \
         request.",
    ),
];

pub static ON_MISS: &[Key] = &[
    required(
        "to",
        Ty::Str,
        "The backing store a miss is read from (and a write-through cache writes to).",
    ),
    key(
        "request",
        Ty::Str,
        "The request type sent there. Default: the type the cache received.",
    ),
];

pub static DATABASE: &[Key] = &[
    required(
        "kind",
        Ty::Enum(&["database"]),
        "A primary and its replicas, each with its own workers and queue; writes replicate from \
         the primary.",
    ),
    key(
        "description",
        Ty::Str,
        "A sentence saying what this component is for.",
    ),
    key(
        "mtbf",
        Ty::Dist,
        "Random crashes: time between failures of each node, e.g. `exp 2h` (with `mttr`).",
    ),
    key(
        "mttr",
        Ty::Dist,
        "Random crashes: time to repair a node, e.g. `exp 5m`.",
    ),
    key(
        "replicas",
        Ty::Int { min: 0 },
        "Read replicas besides the primary (or primaries). Default 0.",
    ),
    key(
        "primaries",
        Ty::Int { min: 1 },
        "Nodes that accept writes. Above 1 the database is multi-primary: writes go to any of \
         them, replicate asynchronously to all the others, and concurrent writes to a key \
         conflict. Default 1.",
    ),
    key(
        "workers",
        Ty::Int { min: 1 },
        "Queries each node serves at once (its connection pool). Default 1.",
    ),
    key(
        "queue",
        Ty::AnyOf(&[Ty::Int { min: 0 }, Ty::Enum(&["unbounded"])]),
        "Waiting room per node; a query that finds it full is rejected. Default `unbounded`.",
    ),
    key(
        "balance",
        Ty::Enum(POLICIES),
        "How reads are spread over the nodes they may go to (and writes over the primaries). \
         Default `round_robin`.",
    ),
    required(
        "handlers",
        Ty::MapOf(&Ty::Ref("handler")),
        "The work of each query type, e.g. `{ \"*\": { work: exp 2ms }, place_order: { work: \
         exp 6ms } }`. A database makes no calls.",
    ),
    key(
        "writes",
        Ty::List(&Ty::Str),
        "Request types that write; every other type reads. Default none.",
    ),
    key(
        "read_from",
        Ty::Enum(READ_FROM),
        "Where reads go: `primary` (default), `replicas` (only replicas), or `any` node.",
    ),
    key(
        "replication",
        Ty::Enum(REPLICATION),
        "`async` (default): a write is acknowledged once the primary commits it. `semi_sync`: \
         once `acks` replicas have received it. `sync`: once every replica that is up has \
         applied it.",
    ),
    key(
        "acks",
        Ty::Int { min: 1 },
        "With `replication: semi_sync`: replicas that must have received a write before it is \
         acknowledged. Default 1.",
    ),
    key(
        "ship",
        Ty::Dist,
        "Time a committed write takes to reach a replica (and an acknowledgement to come back). \
         Default: the model's default link latency.",
    ),
    key(
        "apply",
        Ty::Dist,
        "Time a replica takes to apply one write; it applies them one at a time, in order, so \
         its lag grows when writes come faster. Required with replicas or several primaries.",
    ),
    key(
        "keys",
        Ty::Int { min: 1 },
        "Rows that reads and writes draw from, to tell stale reads and conflicts. Default 1 \
         (the whole database as one row).",
    ),
    key(
        "zipf",
        Ty::Positive,
        "With `keys`: row popularity; row i (from 1) is drawn with probability proportional to \
         i^-zipf. Left out, every row is equally likely.",
    ),
    key(
        "failover",
        Ty::Ref("failover"),
        "Automatic failover: `{ detect: 10s, promote: 20s }`. Left out, writes wait for the \
         primary to restart.",
    ),
    key(
        "backup",
        Ty::Ref("backup"),
        "Restore points: `{ every: 1h }` (snapshots) and `log_shipping: 5m` (archived log), to \
         show what a restore would lose.",
    ),
];

pub static FAILOVER: &[Key] = &[
    required(
        "detect",
        Ty::Duration,
        "Heartbeat timeout: how long the primary must be down before failover starts.",
    ),
    required(
        "promote",
        Ty::Duration,
        "Time to promote the chosen replica and point writes at it.",
    ),
];

pub static BACKUP: &[Key] = &[
    key(
        "every",
        Ty::Duration,
        "Interval between full backups (snapshots), the first at time 0.",
    ),
    key(
        "log_shipping",
        Ty::Duration,
        "Interval at which the write log is archived; a restore replays it up to the last \
         archive.",
    ),
];

pub static HANDLER: &[Key] = &[
    key(
        "work",
        Ty::Dist,
        "Time a worker spends on the request before its calls. Default 0.",
    ),
    key(
        "calls",
        Ty::List(&Ty::Ref("step")),
        "Calls made in order after the work; `{ parallel: [...] }` fans out and waits for all.",
    ),
];

pub static CALL: &[Key] = &[
    required("to", Ty::Str, "The component called."),
    key(
        "request",
        Ty::Str,
        "The request type sent. Default: the type being handled.",
    ),
    key(
        "timeout",
        Ty::Duration,
        "This call's timeout per attempt (overrides the service's `timeout`).",
    ),
    key(
        "retry",
        Ty::Ref("retry"),
        "This call's retry policy (overrides the service's `retry`).",
    ),
    key(
        "breaker",
        Ty::Ref("breaker"),
        "This call's circuit breaker (overrides the service's `breaker`).",
    ),
    key(
        "concurrency",
        Ty::Int { min: 1 },
        "A bulkhead: at most this many attempts of this call outstanding at once (across \
         the service's replicas); more fail at once with `rejected`.",
    ),
    key(
        "hedge",
        Ty::Duration,
        "Hedged requests: if an attempt has not answered after this long (e.g. the callee's \
         p95), send a second copy; the first success wins and the other is abandoned.",
    ),
    key(
        "fallback",
        Ty::Bool,
        "`true`: when this call fails for good (after its retries), the caller carries on \
         with a degraded answer (a default, a stale value, a skipped optional part) and the \
         request ends `ok_degraded` instead of failing.",
    ),
    key(
        "idempotent",
        Ty::Bool,
        "`false` forbids retrying this call (a payment, say). Default `true`.",
    ),
];

pub static PARALLEL: &[Key] = &[required(
    "parallel",
    Ty::List(&Ty::Ref("call")),
    "Calls sent at once; the step ends when all have answered.",
)];

pub static LIMITS: &[Key] = &[
    key(
        "requests",
        Ty::Int { min: 1 },
        "Users' requests in flight at once. Default 2000000.",
    ),
    key(
        "calls",
        Ty::Int { min: 1 },
        "Calls in flight at once (one component's work for one request, queued or in \
         progress). Default 4000000.",
    ),
    key(
        "messages",
        Ty::Int { min: 1 },
        "Messages held by the model's queues at once, waiting or delivered. Default 4000000.",
    ),
];

pub static LINKS: &[Key] = &[
    key(
        "default",
        Ty::Ref("link"),
        "The link every call uses unless overridden.",
    ),
    key(
        "overrides",
        Ty::List(&Ty::Ref("link_override")),
        "Links between specific pairs of components (either direction).",
    ),
];

pub static LINK: &[Key] = &[key(
    "latency",
    Ty::Dist,
    "One-way network delay, paid by the request and again by the response.",
)];

pub static LINK_OVERRIDE: &[Key] = &[
    required(
        "between",
        Ty::List(&Ty::Str),
        "Two components (a workload's name stands for its clients).",
    ),
    key(
        "latency",
        Ty::Dist,
        "One-way network delay, paid by the request and again by the response.",
    ),
    key(
        "size",
        Ty::Str,
        "Bytes of a message from the first endpoint to the second, e.g. `2KB`. Default 1KB; \
         it matters only under a bandwidth limit.",
    ),
    key(
        "response_size",
        Ty::Str,
        "Bytes of a message from the second endpoint to the first, e.g. `40KB`. Default 1KB.",
    ),
];

static DEFS: &[(&str, Ty)] = &[
    ("workload", Ty::Object(WORKLOAD)),
    ("rate_step", Ty::Object(RATE_STEP)),
    (
        "component",
        Ty::Tagged(&[
            ("service", SERVICE),
            ("load_balancer", LOAD_BALANCER),
            ("external", EXTERNAL),
            ("cache", CACHE),
            ("queue", QUEUE),
            ("database", DATABASE),
        ]),
    ),
    ("on_miss", Ty::Object(ON_MISS)),
    ("failover", Ty::Object(FAILOVER)),
    ("backup", Ty::Object(BACKUP)),
    ("handler", Ty::Object(HANDLER)),
    ("step", Ty::AnyOf(&[Ty::Ref("call"), Ty::Object(PARALLEL)])),
    ("call", Ty::Object(CALL)),
    ("retry", Ty::Object(RETRY)),
    ("breaker", Ty::Object(BREAKER)),
    ("flap", Ty::Object(FLAP)),
    ("autoscale", Ty::Object(AUTOSCALE)),
    ("health_check", Ty::Object(HEALTH_CHECK)),
    ("outlier", Ty::Object(OUTLIER)),
    ("fault", Ty::Object(FAULT)),
    ("scenario", Ty::Object(SCENARIO)),
    ("slo", Ty::Object(SLO)),
    ("limits", Ty::Object(LIMITS)),
    ("links", Ty::Object(LINKS)),
    ("link", Ty::Object(LINK)),
    ("link_override", Ty::Object(LINK_OVERRIDE)),
];

/// The keys a mapping at `path` (dotted keys and list positions from the top of a model)
/// may hold, for the app's editor to offer; `kind_at` gives the `kind` of the component at
/// a prefix of the path, which selects its keys. `None` where the path leads to no mapping
/// the format describes.
#[must_use]
pub fn keys_at<'p>(
    path: &[&'p str],
    kind_at: impl Fn(&[&'p str]) -> Option<String>,
) -> Option<&'static [Key]> {
    let mut keys: &'static [Key] = TOP;
    let mut depth = 0;
    while depth < path.len() {
        let key = keys.iter().find(|k| k.name == path[depth])?;
        depth += 1;
        let mut ty = &key.ty;
        // Steps into lists, maps and references until the next mapping's keys.
        loop {
            match ty {
                Ty::Ref(name) => ty = &DEFS.iter().find(|(n, _)| n == name)?.1,
                Ty::AnyOf(options) => {
                    ty = options
                        .iter()
                        .find(|t| !matches!(t, Ty::Null | Ty::Rate | Ty::Str))?;
                }
                Ty::List(inner) | Ty::MapOf(inner) if depth < path.len() => {
                    ty = inner;
                    depth += 1;
                }
                Ty::Object(k) => {
                    keys = k;
                    break;
                }
                Ty::Tagged(kinds) => {
                    let kind = kind_at(&path[..depth])?;
                    keys = kinds.iter().find(|(n, _)| *n == kind)?.1;
                    break;
                }
                _ => return None,
            }
        }
    }
    Some(keys)
}

impl Ty {
    /// How a value of this shape is written, for the editor's hints.
    #[must_use]
    pub fn hint(&self) -> String {
        match self {
            Ty::Str => "text".into(),
            Ty::Bool => "true or false".into(),
            Ty::Positive => "a number above 0".into(),
            Ty::Number => "a number".into(),
            Ty::Null => "empty".into(),
            Ty::Int { min } => format!("a whole number ≥ {min}"),
            Ty::Duration => "a duration, e.g. 250ms".into(),
            Ty::Rate => "a rate, e.g. 100/s".into(),
            Ty::Dist => "a distribution, e.g. exp 5ms".into(),
            Ty::Fraction => "a fraction, e.g. 1% or 0.01".into(),
            Ty::Enum(values) => values.join(", "),
            Ty::Ref(name) => format!("a {}", name.replace('_', " ")),
            Ty::List(inner) => format!("a list of {}", inner.hint()),
            Ty::MapOf(_) | Ty::Object(_) | Ty::Tagged(_) => "a mapping".into(),
            Ty::AnyOf(options) => options
                .iter()
                .map(Ty::hint)
                .collect::<Vec<_>>()
                .join(", or "),
        }
    }

    /// A value that reads, to fill in when the key is added.
    #[must_use]
    pub fn example(&self) -> String {
        match self {
            Ty::Str => "\"\"".into(),
            Ty::Bool => "true".into(),
            Ty::Positive | Ty::Number => "1".into(),
            Ty::Null => String::new(),
            Ty::Int { min } => (*min).max(1).to_string(),
            Ty::Duration => "1s".into(),
            Ty::Rate => "10/s".into(),
            Ty::Dist => "exp 5ms".into(),
            Ty::Fraction => "1%".into(),
            Ty::Enum(values) => values.first().map_or(String::new(), |v| (*v).to_string()),
            Ty::List(_) => "[]".into(),
            Ty::AnyOf(options) => options.first().map_or(String::new(), Ty::example),
            Ty::Ref(name) => match *name {
                "retry" => "{ attempts: 3 }".into(),
                "breaker" => "{ failures: 5, open_for: 10s }".into(),
                "autoscale" => "{ min: 1, max: 4 }".into(),
                "health_check" => "{ interval: 5s }".into(),
                _ => "{}".into(),
            },
            Ty::MapOf(_) | Ty::Object(_) | Ty::Tagged(_) => "{}".into(),
        }
    }
}

/// The JSON Schema (draft-07, which the YAML language server reads) of the model format.
#[must_use]
pub fn json_schema() -> Value {
    let defs: Map<String, Value> = DEFS
        .iter()
        .map(|(name, ty)| ((*name).to_string(), ty_schema(ty)))
        .collect();
    let mut root = object_schema(TOP);
    if let Value::Object(m) = &mut root {
        m.insert(
            "$schema".into(),
            json!("http://json-schema.org/draft-07/schema#"),
        );
        m.insert("title".into(), json!("archsim model"));
        m.insert("definitions".into(), Value::Object(defs));
    }
    root
}

fn object_schema(keys: &[Key]) -> Value {
    let properties: Map<String, Value> = keys
        .iter()
        .map(|k| {
            let mut s = ty_schema(&k.ty);
            if let Value::Object(m) = &mut s {
                m.insert("description".into(), json!(k.doc));
            }
            (k.name.to_string(), s)
        })
        .collect();
    let required: Vec<&str> = keys.iter().filter(|k| k.required).map(|k| k.name).collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn ty_schema(ty: &Ty) -> Value {
    match ty {
        Ty::Str => json!({ "type": "string" }),
        Ty::Bool => json!({ "type": "boolean" }),
        Ty::Positive => json!({ "type": "number", "exclusiveMinimum": 0 }),
        Ty::Number => json!({ "type": "number" }),
        Ty::Int { min } => json!({ "type": "integer", "minimum": min }),
        Ty::Duration => json!({
            "type": ["string", "integer"],
            "minimum": 0,
            "maximum": 0,
            "pattern": r"^\s*(0|[0-9.]+\s*(ns|us|µs|ms|s|m|min|h))\s*$",
            "examples": ["5ms", "1.5s", "10m"],
        }),
        Ty::Rate => json!({
            "type": "string",
            "pattern": r"^\s*[0-9.]+\s*/\s*(ns|us|µs|ms|s|m|min|h|d)\s*$",
            "examples": ["250/s", "30/min"],
        }),
        Ty::Dist => json!({
            "type": ["string", "integer", "object"],
            "minimum": 0,
            "maximum": 0,
            "description": DIST_HELP,
            "examples": ["exp 5ms", "lognormal 10ms p99 80ms"],
        }),
        Ty::Fraction => json!({
            "type": ["number", "string"],
            "examples": [0.9, "99.9%"],
        }),
        Ty::Enum(values) => json!({ "enum": values }),
        Ty::Ref(name) => json!({ "$ref": format!("#/definitions/{name}") }),
        Ty::List(item) => json!({ "type": "array", "items": ty_schema(item) }),
        Ty::MapOf(value) => json!({ "type": "object", "additionalProperties": ty_schema(value) }),
        Ty::Null => json!({ "type": "null" }),
        Ty::Object(keys) => object_schema(keys),
        Ty::Tagged(variants) => {
            let one_of: Vec<Value> = variants
                .iter()
                .map(|(_, keys)| object_schema(keys))
                .collect();
            json!({ "oneOf": one_of })
        }
        Ty::AnyOf(options) => {
            let any_of: Vec<Value> = options.iter().map(ty_schema).collect();
            json!({ "anyOf": any_of })
        }
    }
}

/// Names of a key table, for "did you mean" hints.
#[must_use]
pub fn names(keys: &[Key]) -> Vec<&'static str> {
    keys.iter().map(|k| k.name).collect()
}
