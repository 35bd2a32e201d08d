//! Caches: a lookup that hits or misses (a fixed ratio, or an LRU over a key space with Zipf
//! popularity), read-through and write-through caches that read or write their store
//! themselves, cache-aside caches whose caller reads the store on a miss, invalidation or
//! update on writes, and single flight (coalescing of concurrent misses of one key).
//!
//! A task at a cache keeps its key in `instance` and its phase (`CACHE_*`) in `step`.
//! Invariant: a key has at most one fetch in flight when `coalesce` is on, and every task
//! waiting for it is answered when that fetch ends or its owner is lost.

use std::collections::BTreeMap;

use crate::model::{CacheMode, ComponentKind, Dist, Model, OnWrite, Step};
use crate::observe::Cause;
use crate::observe::trace::NoteKind;
use crate::sim::cache::{Lookup, Lru, Popularity};
use crate::sim::random::Stream;
use crate::sim::time::SimTime;

use super::components::{CompRt, KindRt, scale};
use super::id32;
use super::links::{Crossing, LinkTable};
use super::{Ev, NONE, Simulation};

/// Phases of a task at a cache, kept in its `step` (unused there otherwise).
pub(super) const CACHE_LOOKUP: u16 = 0;

/// Cache-aside: the miss is travelling back to the caller, or the caller is reading the
/// store; the task then stands for the caller's read and is no longer inside the cache.
pub(super) const CACHE_ASIDE: u16 = 1;

/// Waiting for another task's fetch of the same key (single flight).
pub(super) const CACHE_WAIT: u16 = 2;

/// Read-through: the cache is reading the store.
pub(super) const CACHE_FETCH: u16 = 3;

/// Write-through: the cache is writing to the store.
pub(super) const CACHE_WRITE: u16 = 4;

/// A cache's contents and configuration. A task at a cache keeps its key in `instance`,
/// which only services and balancers use otherwise.
pub(super) struct CacheRt {
    pub(super) latency: Dist,
    pub(super) mode: CacheMode,
    pub(super) on_write: OnWrite,
    pub(super) backing: u32,
    pub(super) backing_request: Option<u16>,
    /// Read- and write-through: the cache's own link to the store.
    pub(super) backing_link: u32,
    /// Cache-aside: (link a caller reaches the cache by, that caller's link to the store).
    pub(super) aside: Vec<(u32, u32)>,
    pub(super) hit_ratio: f64,
    pub(super) keys: Option<(Lru, Popularity)>,
    pub(super) coalesce: bool,
    /// Per request type: it writes its key instead of reading it.
    pub(super) writes: Vec<bool>,
    /// Keys being fetched: the task fetching each, and the tasks waiting for it.
    pub(super) inflight: BTreeMap<u32, (u32, Vec<u32>)>,
    pub(super) key_rng: Stream,
}

/// Gives each cache-aside cache the links its callers read the store by: the callers are
/// the services that call it and the workloads that target it (the graph check refuses a
/// balancer in front of one).
pub(super) fn aside_links(model: &Model, comps: &mut [CompRt], links: &mut LinkTable<'_>) {
    for (ci, comp) in model.components.iter().enumerate() {
        let Some(cache) = comp
            .kind
            .cache()
            .filter(|c| c.mode == CacheMode::CacheAside)
        else {
            continue;
        };
        let store = &model.component(cache.backing).name;
        let target = id32(ci);
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

impl Simulation {
    /// A request reaches a cache: the lookup takes the cache's latency. A cache-aside cache
    /// that is down refuses the connection, and its caller reads the store instead; a write
    /// to it is over at once, since a cache that restarts empty holds nothing stale.
    #[inline(never)]
    pub(super) fn cache_arrived(&mut self, task: u32) {
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
        let delay = scale(c.work_rng.sample(&cache.latency), c.slow);
        let mark = c.paused_time(now);
        let t = &mut self.tasks.items[task as usize];
        t.working = true;
        t.pause_mark = mark;
        t.step = CACHE_LOOKUP;
        self.enter(task);
        self.at(delay, Ev::WorkDone(task));
    }

    /// The lookup is done (or, cache-aside, the miss has reached the caller).
    pub(super) fn cache_work_done(&mut self, task: u32, injected: bool) {
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
            if self.traces.is_some() {
                // The miss has reached the caller: the cache's part ends here.
                self.trace_instant(task, |s| &mut s.replied);
            }
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
            if self.traces.is_some() {
                self.trace_note(task, NoteKind::CacheHit);
            }
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
        if self.traces.is_some() {
            self.trace_note(task, NoteKind::CacheMiss);
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
            t.step = CACHE_ASIDE;
            self.leave(task);
            self.recorder
                .task_finished(ci, record.then(|| now - arrived));
            self.cache_miss_answered(task);
        }
    }

    /// Cache-aside: the miss travels back to the caller over the link it came by.
    pub(super) fn cache_miss_answered(&mut self, task: u32) {
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
    pub(super) fn cache_fetch(&mut self, task: u32, link: u32) {
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
        if step == CACHE_ASIDE && self.traces.is_some() {
            // The caller reads the store itself: its read sits beside the cache's miss.
            self.trace_beside_parent(child, task);
        }
        self.send(child);
    }

    /// The store answered a missed read (or a write-through write): fill the cache, answer
    /// those waiting for the key, then the reader (or writer) itself.
    pub(super) fn cache_read(&mut self, task: u32) {
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
    pub(super) fn cache_release(&mut self, ci: usize, key: u32, owner: u32, failed: Option<Cause>) {
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
}
