//! Databases (`kind: database`): a service whose replicas are nodes holding the same rows.
//! Writes commit on a primary and are shipped to the other nodes, each applying them one at
//! a time; reads are served where `read_from` sends them and are stale when the node has not
//! applied the latest acknowledged write to the row read (with `sync` replication a write
//! is acknowledged only once every replica up has applied it, so none is stale but on a
//! replica still catching up after a restart). A primary that stays down is
//! replaced by the most up-to-date replica, and the acknowledged writes that replica never
//! received are lost. With several primaries, each one's writes form their own log, and a
//! write to a row whose previous write, made elsewhere, had not reached it yet conflicts.
//!
//! Rows are drawn from the database's own key stream, so a database never changes what the
//! rest of the model draws.

use std::collections::{HashSet, VecDeque};

use super::balancers::pick_eligible;
use super::components::{KindRt, scale};
use super::id32;
use super::services::Instance;
use super::{Ev, NONE, Simulation};
use crate::model::{Backup, Database, Dist, Failover, KeySpace, Model, ReadFrom, Replication};
use crate::observe::DatabaseState;
use crate::observe::report::{BackupReport, DatabaseNode, DatabaseReport, FailoverReport};
use crate::sim::cache::Popularity;
use crate::sim::random::Stream;
use crate::sim::time::SimTime;

/// Commits between attempts to drop log entries every node has applied.
const TRIM_EVERY: u64 = 1024;

/// Log entries kept for nodes that are down (24 bytes each).
const MAX_LOG: usize = 2_000_000;

/// Something that happens to one database at a set time.
#[derive(Clone, Copy)]
pub(super) enum DbEvent {
    /// Writes of log `origin` up to `upto` reach `node`, sent while the log's owner was in
    /// generation `sender` and the node in generation `receiver`.
    Receive {
        db: u32,
        node: u32,
        origin: u32,
        upto: u64,
        sender: u32,
        receiver: u32,
    },
    /// `node` finished applying the write at the head of its apply queue.
    Applied { db: u32, node: u32, generation: u32 },
    /// The primary hears that `node` has received (semi-sync) or applied (sync) up to `upto`.
    Ack {
        db: u32,
        node: u32,
        upto: u64,
        applied: bool,
        epoch: u32,
    },
    /// The heartbeat timeout after the primary went down has passed.
    Detect { db: u32, attempt: u32 },
    /// The chosen replica has been promoted.
    Promoted { db: u32, attempt: u32, node: u32 },
}

/// One committed write.
#[derive(Clone, Copy)]
struct Entry {
    key: u32,
    commit: SimTime,
    /// Its caller has been told it succeeded.
    acked: bool,
}

/// The writes of one primary (or, with a single primary, of whichever node is primary).
struct Log {
    /// Sequence number of the entry before `entries[0]`: those up to it are applied
    /// everywhere and forgotten.
    base: u64,
    entries: VecDeque<Entry>,
    committed: u64,
    /// The node that writes it.
    owner: u32,
    /// Bumped when the owner crashes: what it had sent and was still on the way is lost.
    generation: u32,
}

impl Log {
    fn entry_mut(&mut self, lsn: u64) -> Option<&mut Entry> {
        let i = lsn.checked_sub(self.base + 1)?;
        self.entries.get_mut(usize::try_from(i).ok()?)
    }

    /// Commit time of the write after `applied`, if there is one.
    fn next_after(&self, applied: u64) -> Option<SimTime> {
        let i = usize::try_from(applied.checked_sub(self.base)?).ok()?;
        self.entries.get(i).map(|e| e.commit)
    }
}

/// The latest acknowledged write to a row: which log, and where in it.
#[derive(Clone, Copy, Default)]
struct Version {
    origin: u32,
    /// 0: never written.
    lsn: u64,
}

struct Node {
    /// Per log: the last write this node has received, and applied.
    received: Vec<u64>,
    applied: Vec<u64>,
    /// Per log: when the last write shipped to this node arrives (shipping keeps order).
    last_arrival: Vec<SimTime>,
    /// Ranges (log, up to) received and waiting to be applied, in arrival order.
    to_apply: VecDeque<(u32, u64)>,
    applying: bool,
    /// Bumped when the node crashes: its pending applies and arrivals are void.
    generation: u32,
    /// The primary's view of this replica: received and applied, from its acks.
    acked_received: u64,
    acked_applied: u64,
    lag_max_s: f64,
    lag_series: Vec<f64>,
}

/// A failover under way: the primary is down.
struct Failing {
    down_at: SimTime,
    primary: u32,
    detected_at: Option<SimTime>,
    /// The replica being promoted; `NONE` while there is none to promote.
    candidate: u32,
    /// The candidate is promoted but must first apply what it received.
    waiting_apply: bool,
}

pub(super) struct DbRt {
    comp: u32,
    name: String,
    first_instance: u32,
    nodes: u32,
    /// Nodes `0..primaries` write when there are several; otherwise only `primary` does.
    primaries: u32,
    primary: u32,
    read_from: ReadFrom,
    replication: Replication,
    ship: Dist,
    apply: Dist,
    failover: Option<Failover>,
    rng: Stream,
    popularity: Popularity,
    /// Per request type: it writes.
    writes: Vec<bool>,
    logs: Vec<Log>,
    latest: Vec<Version>,
    node: Vec<Node>,
    /// Writes waiting for replica acknowledgements (task, sequence number), in order.
    waiting: VecDeque<(u32, u64)>,
    /// Bumped at each promotion: acknowledgements sent to an earlier primary are void.
    epoch: u32,
    /// Bumped when a failover starts or is called off: its timers are then void.
    attempt: u32,
    failing: Option<Failing>,
    backup: Option<BackupRt>,
    reads: u64,
    write_count: u64,
    stale_reads: u64,
    conflicts: u64,
    lost_writes: u64,
    failovers: Vec<FailoverReport>,
    since_trim: u64,
}

struct BackupRt {
    config: Backup,
    /// The restore point the writes in `in_period` were committed after.
    point: SimTime,
    in_period: u64,
    max_at_risk: u64,
}

impl BackupRt {
    /// The latest instant a restore could return to: the last full backup or the last
    /// archived piece of the log, whichever is later (both are taken from time 0).
    fn restore_point(&self, now: SimTime) -> SimTime {
        let floor = |period: Option<SimTime>| {
            period.map_or(SimTime::ZERO, |p| {
                let p = p.as_nanos().max(1);
                SimTime::from_nanos(now.as_nanos() / p * p)
            })
        };
        floor(self.config.every).max(floor(self.config.log_shipping))
    }
}

impl DbRt {
    pub(super) fn new(
        model: &Model,
        comp: usize,
        db: &Database,
        first_instance: u32,
        nodes: u32,
        seed: u64,
    ) -> Self {
        let name = model.components[comp].name.clone();
        let logs_count = if db.primaries > 1 { db.primaries } else { 1 };
        let n_logs = logs_count as usize;
        let mut writes = vec![false; model.request_types.len().max(1)];
        for t in &db.writes {
            writes[t.0 as usize] = true;
        }
        DbRt {
            comp: id32(comp),
            first_instance,
            nodes,
            primaries: db.primaries,
            primary: 0,
            read_from: db.read_from,
            replication: db.replication,
            ship: db
                .ship
                .clone()
                .unwrap_or_else(|| model.links.default.clone()),
            apply: db.apply.clone(),
            failover: db.failover,
            rng: Stream::derive(seed, &name, "rows"),
            popularity: Popularity::new(&KeySpace {
                keys: db.keys,
                zipf: db.zipf,
                capacity: db.keys,
                ttl: None,
            }),
            writes,
            logs: (0..logs_count)
                .map(|owner| Log {
                    base: 0,
                    entries: VecDeque::new(),
                    committed: 0,
                    owner,
                    generation: 0,
                })
                .collect(),
            latest: vec![Version::default(); db.keys as usize],
            node: (0..nodes)
                .map(|_| Node {
                    received: vec![0; n_logs],
                    applied: vec![0; n_logs],
                    last_arrival: vec![SimTime::ZERO; n_logs],
                    to_apply: VecDeque::new(),
                    applying: false,
                    generation: 0,
                    acked_received: 0,
                    acked_applied: 0,
                    lag_max_s: 0.0,
                    lag_series: Vec::new(),
                })
                .collect(),
            waiting: VecDeque::new(),
            epoch: 0,
            attempt: 0,
            failing: None,
            backup: db.backup.map(|config| BackupRt {
                config,
                point: SimTime::ZERO,
                in_period: 0,
                max_at_risk: 0,
            }),
            reads: 0,
            write_count: 0,
            stale_reads: 0,
            conflicts: 0,
            lost_writes: 0,
            failovers: Vec::new(),
            since_trim: 0,
            name,
        }
    }

    fn up(&self, node: u32, instances: &[Instance]) -> bool {
        instances[(self.first_instance + node) as usize].up
    }

    pub(super) fn first_instance(&self) -> u32 {
        self.first_instance
    }

    /// The write's caller is told it succeeded: from now on it is the row's latest
    /// version, and a node that has not applied it serves stale reads of the row.
    fn acknowledge(&mut self, origin: u32, lsn: u64) {
        if let Some(e) = self.logs[origin as usize].entry_mut(lsn) {
            e.acked = true;
            let key = e.key as usize;
            if self.latest[key].origin != origin || self.latest[key].lsn < lsn {
                self.latest[key] = Version { origin, lsn };
            }
        }
    }

    fn multi(&self) -> bool {
        self.primaries > 1
    }

    fn is_writer(&self, node: u32) -> bool {
        if self.multi() {
            node < self.primaries
        } else {
            node == self.primary
        }
    }

    fn node_name(&self, node: u32) -> String {
        format!("{}[{node}]", self.name)
    }

    /// How far `node` is behind: the age of the oldest write it has not applied among those
    /// it can still get (while a log's owner is down, those it has received).
    fn lag(&self, node: u32, now: SimTime, instances: &[Instance]) -> SimTime {
        let up = |n: u32| self.up(n, instances);
        let n = &self.node[node as usize];
        self.logs
            .iter()
            .enumerate()
            .filter_map(|(o, log)| {
                let reachable = if up(log.owner) {
                    log.committed
                } else {
                    n.received[o]
                };
                let applied = n.applied[o];
                (applied < reachable)
                    .then(|| log.next_after(applied))
                    .flatten()
            })
            .map(|commit| now - commit)
            .max()
            .unwrap_or(SimTime::ZERO)
    }

    /// The latest write every replica acknowledgement needed by the replication mode covers.
    fn acknowledged_upto(&self, instances: &[Instance]) -> u64 {
        let up = |n: u32| self.up(n, instances);
        let replicas = (0..self.nodes).filter(|&n| n != self.primary);
        match self.replication {
            Replication::Async => u64::MAX,
            Replication::SemiSync { acks } => {
                let mut received: Vec<u64> = replicas
                    .map(|n| self.node[n as usize].acked_received)
                    .collect();
                received.sort_unstable_by(|a, b| b.cmp(a));
                received
                    .get(acks.saturating_sub(1) as usize)
                    .copied()
                    .unwrap_or(0)
            }
            Replication::Sync => replicas
                .filter(|&n| up(n))
                .map(|n| self.node[n as usize].acked_applied)
                .min()
                .unwrap_or(u64::MAX),
        }
    }
}

impl Simulation {
    #[inline]
    pub(super) fn db_index(&self, comp: usize) -> Option<usize> {
        let d = self.comps.get(comp)?.db;
        (d != NONE).then_some(d as usize)
    }

    fn db_node_up(&self, d: usize, node: u32) -> bool {
        self.dbs[d].up(node, &self.instances)
    }

    /// The node a request of this type goes to: a writer for writes, one that `read_from`
    /// allows for reads, among those up (a down one when none is, to be turned away).
    #[inline(never)]
    pub(super) fn db_choose(&mut self, d: usize, request_type: u16) -> u32 {
        let db = &self.dbs[d];
        let first = db.first_instance;
        let write = db.writes[request_type as usize];
        if !db.multi() && (write || db.read_from == ReadFrom::Primary) {
            return first + db.primary;
        }
        let (primary, primaries, read_from, n) = (db.primary, db.primaries, db.read_from, db.nodes);
        let multi = db.multi();
        let allowed = |i: u32| {
            let writer = if multi { i < primaries } else { i == primary };
            if write {
                writer
            } else {
                match read_from {
                    ReadFrom::Primary => writer,
                    ReadFrom::Replicas => !writer,
                    ReadFrom::Any => true,
                }
            }
        };
        let ci = db.comp as usize;
        let c = &mut self.comps[ci];
        let KindRt::Service { balance, .. } = c.kind else {
            return first;
        };
        let instances = &self.instances[first as usize..(first + n) as usize];
        let chosen = pick_eligible(balance, n, &mut c.next_rr, &mut c.route_rng, |i| {
            (allowed(i) && instances[i as usize].up).then(|| instances[i as usize].in_system)
        });
        // Nothing up that may serve it: send it to an allowed node, which turns it away.
        first + chosen.unwrap_or_else(|| (0..n).find(|&i| allowed(i)).unwrap_or(0))
    }

    /// A query's work is done on a database node: a write commits, a read looks at its row.
    /// Returns true when the task has been taken care of (it waits for acknowledgements, or
    /// was answered meanwhile); otherwise it goes on as a service task.
    #[inline(never)]
    pub(super) fn db_work_done(&mut self, d: usize, task: u32) -> bool {
        let t = &self.tasks.items[task as usize];
        let node = t.instance - self.dbs[d].first_instance;
        let request_type = t.request_type as usize;
        let db = &mut self.dbs[d];
        let key = db.popularity.key(db.rng.unit());
        if !db.writes[request_type] {
            db.reads += 1;
            let v = db.latest[key as usize];
            if v.lsn > db.node[node as usize].applied[v.origin as usize] {
                db.stale_reads += 1;
            }
            return false;
        }
        if !db.is_writer(node) {
            // Sent to the primary before a failover made this node a replica: read-only now.
            self.tasks.items[task as usize].failed = Some(crate::observe::Cause::Unavailable);
            return false;
        }
        let lsn = self.db_commit(d, node, key);
        let db = &mut self.dbs[d];
        if db.multi() || db.replication == Replication::Async {
            db.acknowledge(origin_of(db, node), lsn);
            return false;
        }
        db.waiting.push_back((task, lsn));
        self.db_release(d);
        true
    }

    fn db_commit(&mut self, d: usize, node: u32, key: u32) -> u64 {
        let now = self.now;
        let db = &mut self.dbs[d];
        let origin = origin_of(db, node);
        let previous = db.latest[key as usize];
        if db.multi()
            && previous.lsn > 0
            && previous.origin != origin
            && db.node[node as usize].received[previous.origin as usize] < previous.lsn
        {
            // The row's previous write, made on another primary, had not reached this one:
            // two concurrent versions, and the later commit overwrites the earlier.
            db.conflicts += 1;
        }
        let log = &mut db.logs[origin as usize];
        log.committed += 1;
        let lsn = log.committed;
        log.entries.push_back(Entry {
            key,
            commit: now,
            acked: false,
        });
        let sender = log.generation;
        db.write_count += 1;
        let n = &mut db.node[node as usize];
        n.received[origin as usize] = lsn;
        n.applied[origin as usize] = lsn;
        if let Some(b) = &mut db.backup {
            let point = b.restore_point(now);
            if point != b.point {
                b.point = point;
                b.in_period = 0;
            }
            b.in_period += 1;
            b.max_at_risk = b.max_at_risk.max(b.in_period);
        }
        for other in 0..self.dbs[d].nodes {
            if other != node && self.db_node_up(d, other) {
                self.db_ship(d, origin, other, lsn, sender);
            }
        }
        let db = &mut self.dbs[d];
        db.since_trim += 1;
        if db.since_trim >= TRIM_EVERY {
            db.since_trim = 0;
            let first = db.first_instance as usize;
            let instances = &self.instances;
            for (o, log) in db.logs.iter_mut().enumerate() {
                // A node that is down keeps the entries it has not applied, for its catch-up
                // and for counting what a failover loses; beyond `MAX_LOG` entries it is no
                // longer waited for, and is rebuilt from a copy when it returns (see
                // `db_nodes_changed`), so that memory stays bounded.
                let bounded = log.entries.len() > MAX_LOG;
                let everywhere = db
                    .node
                    .iter()
                    .enumerate()
                    .filter(|(n, _)| !bounded || instances[first + n].up)
                    .map(|(_, n)| n.applied[o])
                    .min()
                    .unwrap_or(0);
                while log.base < everywhere && !log.entries.is_empty() {
                    log.entries.pop_front();
                    log.base += 1;
                }
            }
        }
        lsn
    }

    /// Sends the writes of log `origin` up to `upto` to `node`, behind what was sent before.
    fn db_ship(&mut self, d: usize, origin: u32, node: u32, upto: u64, sender: u32) {
        let now = self.now;
        let ci = self.dbs[d].comp as usize;
        let slow = self.comps[ci].slow;
        let db = &mut self.dbs[d];
        let delay = scale(db.rng.sample(&db.ship), slow);
        let n = &mut db.node[node as usize];
        let arrival = n.last_arrival[origin as usize].max(now + delay);
        n.last_arrival[origin as usize] = arrival;
        let receiver = n.generation;
        let ev = self.db_events.insert(DbEvent::Receive {
            db: id32(d),
            node,
            origin,
            upto,
            sender,
            receiver,
        });
        self.at(arrival - now, Ev::Db(ev));
    }

    /// Brings `node` up to date with every log whose owner is up.
    fn db_catch_up(&mut self, d: usize, node: u32) {
        for origin in 0..u32::try_from(self.dbs[d].logs.len()).unwrap_or(0) {
            let log = &self.dbs[d].logs[origin as usize];
            let (owner, committed, sender) = (log.owner, log.committed, log.generation);
            if owner != node
                && self.db_node_up(d, owner)
                && committed > self.dbs[d].node[node as usize].received[origin as usize]
            {
                self.db_ship(d, origin, node, committed, sender);
            }
        }
    }

    pub(super) fn db_event(&mut self, ev: u32) {
        let e = self.db_events.items[ev as usize];
        self.db_events.remove(ev);
        match e {
            DbEvent::Receive {
                db,
                node,
                origin,
                upto,
                sender,
                receiver,
            } => self.db_received(db as usize, node, origin, upto, sender, receiver),
            DbEvent::Applied {
                db,
                node,
                generation,
            } => self.db_applied(db as usize, node, generation),
            DbEvent::Ack {
                db,
                node,
                upto,
                applied,
                epoch,
            } => {
                let d = db as usize;
                let rt = &mut self.dbs[d];
                if epoch != rt.epoch {
                    return;
                }
                let n = &mut rt.node[node as usize];
                if applied {
                    n.acked_applied = n.acked_applied.max(upto);
                } else {
                    n.acked_received = n.acked_received.max(upto);
                }
                self.db_release(d);
            }
            DbEvent::Detect { db, attempt } => {
                let d = db as usize;
                if attempt == self.dbs[d].attempt {
                    if let Some(f) = &mut self.dbs[d].failing {
                        f.detected_at = Some(self.now);
                    }
                    self.db_choose_candidate(d);
                }
            }
            DbEvent::Promoted { db, attempt, node } => {
                let d = db as usize;
                if attempt != self.dbs[d].attempt {
                    return;
                }
                if !self.db_node_up(d, node) {
                    self.db_choose_candidate(d);
                    return;
                }
                let n = &self.dbs[d].node[node as usize];
                if n.applied[0] < n.received[0] {
                    // It must first apply what it received, however far behind it is.
                    if let Some(f) = &mut self.dbs[d].failing {
                        f.waiting_apply = true;
                    }
                    return;
                }
                self.db_promote(d, node);
            }
        }
    }

    fn db_received(
        &mut self,
        d: usize,
        node: u32,
        origin: u32,
        upto: u64,
        sender: u32,
        receiver: u32,
    ) {
        let db = &self.dbs[d];
        let n = &db.node[node as usize];
        if db.logs[origin as usize].generation != sender
            || n.generation != receiver
            || !self.db_node_up(d, node)
        {
            return;
        }
        let db = &mut self.dbs[d];
        let n = &mut db.node[node as usize];
        if upto > n.received[origin as usize] {
            n.received[origin as usize] = upto;
            n.to_apply.push_back((origin, upto));
        }
        if !db.multi() && matches!(db.replication, Replication::SemiSync { .. }) {
            self.db_ack(d, node, upto, false);
        }
        self.db_apply_next(d, node);
    }

    fn db_ack(&mut self, d: usize, node: u32, upto: u64, applied: bool) {
        let slow = self.comps[self.dbs[d].comp as usize].slow;
        let db = &mut self.dbs[d];
        let delay = scale(db.rng.sample(&db.ship), slow);
        let ev = self.db_events.insert(DbEvent::Ack {
            db: id32(d),
            node,
            upto,
            applied,
            epoch: db.epoch,
        });
        self.at(delay, Ev::Db(ev));
    }

    fn db_apply_next(&mut self, d: usize, node: u32) {
        let ci = self.dbs[d].comp as usize;
        let slow = self.comps[ci].slow;
        let db = &mut self.dbs[d];
        let n = &mut db.node[node as usize];
        if n.applying {
            return;
        }
        while let Some(&(origin, upto)) = n.to_apply.front() {
            if n.applied[origin as usize] >= upto {
                n.to_apply.pop_front();
                continue;
            }
            n.applying = true;
            let generation = n.generation;
            let delay = scale(db.rng.sample(&db.apply), slow);
            let ev = self.db_events.insert(DbEvent::Applied {
                db: id32(d),
                node,
                generation,
            });
            self.at(delay, Ev::Db(ev));
            return;
        }
    }

    fn db_applied(&mut self, d: usize, node: u32, generation: u32) {
        let db = &mut self.dbs[d];
        let n = &mut db.node[node as usize];
        if n.generation != generation {
            return;
        }
        n.applying = false;
        let Some(&(origin, upto)) = n.to_apply.front() else {
            return;
        };
        if n.applied[origin as usize] >= upto {
            // Rewound meanwhile: nothing of this range is left to apply.
            n.to_apply.pop_front();
            self.db_apply_next(d, node);
            return;
        }
        n.applied[origin as usize] += 1;
        let applied = n.applied[origin as usize];
        let caught_up = n.applied[origin as usize] >= n.received[origin as usize];
        if !db.multi() && db.replication == Replication::Sync {
            self.db_ack(d, node, applied, true);
        }
        let promote = self.dbs[d]
            .failing
            .as_ref()
            .is_some_and(|f| f.waiting_apply && f.candidate == node);
        if promote && caught_up {
            self.db_promote(d, node);
        }
        self.db_apply_next(d, node);
    }

    /// Answers the writes whose acknowledgements have all come in.
    pub(super) fn db_release(&mut self, d: usize) {
        let first = self.dbs[d].first_instance;
        let primary = self.dbs[d].primary;
        let paused = self.comps[self.dbs[d].comp as usize].pauses > 0;
        // A paused primary answers nothing: the acknowledgements wait with its writes.
        if paused || !self.instances[(first + primary) as usize].up {
            return;
        }
        let instances = &self.instances;
        let upto = self.dbs[d].acknowledged_upto(instances);
        while let Some(&(task, lsn)) = self.dbs[d].waiting.front() {
            if lsn > upto {
                break;
            }
            self.dbs[d].waiting.pop_front();
            self.dbs[d].acknowledge(0, lsn);
            self.next_step(task);
        }
    }

    /// Nodes of a database went down or came back.
    #[inline(never)]
    pub(super) fn db_nodes_changed(&mut self, d: usize, nodes: &[u32], down: bool) {
        let now = self.now;
        for &node in nodes {
            if down {
                let db = &mut self.dbs[d];
                let n = &mut db.node[node as usize];
                n.generation += 1;
                n.applying = false;
                for log in &mut db.logs {
                    if log.owner == node {
                        log.generation += 1;
                    }
                }
                if db.failing.as_ref().is_some_and(|f| f.candidate == node) {
                    // The replica being promoted crashed: promote another.
                    self.db_choose_candidate(d);
                    continue;
                }
                if !db.multi() && node == db.primary {
                    // Its waiting writes were lost with it (their callers told `dropped`).
                    db.waiting.clear();
                    if let Some(failover) = db.failover
                        && db.failing.is_none()
                    {
                        db.attempt += 1;
                        db.failing = Some(Failing {
                            down_at: now,
                            primary: node,
                            detected_at: None,
                            candidate: NONE,
                            waiting_apply: false,
                        });
                        let ev = self.db_events.insert(DbEvent::Detect {
                            db: id32(d),
                            attempt: self.dbs[d].attempt,
                        });
                        self.at(failover.detect, Ev::Db(ev));
                    }
                }
                continue;
            }
            let db = &mut self.dbs[d];
            for (o, log) in db.logs.iter().enumerate() {
                let n = &mut db.node[node as usize];
                if n.applied[o] < log.base {
                    // Away longer than the log is kept: rebuilt from a copy of the others.
                    n.applied[o] = log.base;
                    n.received[o] = n.received[o].max(log.base);
                }
            }
            self.db_apply_next(d, node);
            let db = &self.dbs[d];
            let returning_primary = !db.multi() && node == db.primary;
            if returning_primary {
                if let Some(f) = self.dbs[d].failing.take() {
                    // Back before a replica was promoted: the failover is called off. Only
                    // a detected failure started one worth reporting; a blip did not.
                    let db = &mut self.dbs[d];
                    db.attempt += 1;
                    if f.detected_at.is_some() {
                        db.failovers.push(FailoverReport {
                            primary: db.node_name(f.primary),
                            down_s: f.down_at.as_secs_f64(),
                            detected_s: f.detected_at.map(SimTime::as_secs_f64),
                            promoted: None,
                            promoted_s: None,
                            writes_unavailable_s: Some((now - f.down_at).as_secs_f64()),
                            lost_writes: 0,
                            data_loss_window_s: None,
                            outcome: "primary back before promotion".to_string(),
                        });
                    }
                }
            } else if self.dbs[d]
                .failing
                .as_ref()
                .is_some_and(|f| f.detected_at.is_some() && f.candidate == NONE)
            {
                self.db_choose_candidate(d);
            }
            // Whatever was written while it was away, and it to the others if it writes.
            self.db_catch_up(d, node);
            let writes_a_log = self.dbs[d].logs.iter().any(|l| l.owner == node);
            if writes_a_log {
                for other in 0..self.dbs[d].nodes {
                    if other != node && self.db_node_up(d, other) {
                        self.db_catch_up(d, other);
                    }
                }
            }
        }
        // A replica that left or came back changes which acknowledgements a write needs.
        self.db_release(d);
    }

    /// Picks the up replica that has received the most and starts promoting it; waits for
    /// one to come back when none is up.
    fn db_choose_candidate(&mut self, d: usize) {
        let db = &self.dbs[d];
        let Some(f) = &db.failing else {
            return;
        };
        let old = f.primary;
        let best = (0..db.nodes)
            .filter(|&n| n != old && self.db_node_up(d, n))
            .max_by_key(|&n| (db.node[n as usize].received[0], std::cmp::Reverse(n)));
        let promote = db.failover.map_or(SimTime::ZERO, |f| f.promote);
        let db = &mut self.dbs[d];
        // A promotion started before is void.
        db.attempt += 1;
        let attempt = db.attempt;
        let Some(f) = &mut db.failing else {
            return;
        };
        f.waiting_apply = false;
        match best {
            None => f.candidate = NONE,
            Some(node) => {
                f.candidate = node;
                let ev = self.db_events.insert(DbEvent::Promoted {
                    db: id32(d),
                    attempt,
                    node,
                });
                self.at(promote, Ev::Db(ev));
            }
        }
    }

    /// `node` becomes the primary. Writes it never received are gone: the others rewind to
    /// its log, and the acknowledged ones among them are lost writes.
    fn db_promote(&mut self, d: usize, node: u32) {
        let now = self.now;
        let db = &mut self.dbs[d];
        let Some(f) = db.failing.take() else {
            return;
        };
        let upto = db.node[node as usize].received[0];
        let log = &mut db.logs[0];
        let mut lost_keys = HashSet::new();
        let mut lost = 0;
        let mut first_lost: Option<SimTime> = None;
        for lsn in upto + 1..=log.committed {
            if let Some(e) = log.entry_mut(lsn) {
                lost_keys.insert(e.key);
                if e.acked {
                    lost += 1;
                    first_lost.get_or_insert(e.commit);
                }
            }
        }
        let keep = usize::try_from(upto.saturating_sub(log.base)).unwrap_or(usize::MAX);
        log.entries.truncate(keep);
        log.committed = upto;
        log.owner = node;
        log.generation += 1;
        // Each row a lost write touched now holds its last surviving write: the latest one
        // still in the log, or one every node has applied long ago.
        for key in &lost_keys {
            db.latest[*key as usize] = Version::default();
        }
        for (i, e) in log.entries.iter().enumerate() {
            if e.acked && lost_keys.contains(&e.key) {
                db.latest[e.key as usize] = Version {
                    origin: 0,
                    lsn: log.base + 1 + i as u64,
                };
            }
        }
        for n in &mut db.node {
            // Whatever a node was applying may be gone: its pending apply is void.
            n.generation += 1;
            n.applying = false;
            n.received[0] = n.received[0].min(upto);
            n.applied[0] = n.applied[0].min(upto);
            n.acked_received = n.acked_received.min(upto);
            n.acked_applied = n.acked_applied.min(upto);
            for range in &mut n.to_apply {
                range.1 = range.1.min(upto);
            }
        }
        db.primary = node;
        db.epoch += 1;
        db.lost_writes += lost;
        db.failovers.push(FailoverReport {
            primary: db.node_name(f.primary),
            down_s: f.down_at.as_secs_f64(),
            detected_s: f.detected_at.map(SimTime::as_secs_f64),
            promoted: Some(db.node_name(node)),
            promoted_s: Some(now.as_secs_f64()),
            writes_unavailable_s: Some((now - f.down_at).as_secs_f64()),
            lost_writes: lost,
            data_loss_window_s: first_lost.map(|t| (f.down_at - t).as_secs_f64()),
            outcome: "replica promoted".to_string(),
        });
        let message = format!(
            "{} promoted after {} went down; {lost} acknowledged write(s) lost",
            db.node_name(node),
            db.node_name(f.primary),
        );
        self.recorder.log(now, "failover", message);
        for other in 0..self.dbs[d].nodes {
            if self.db_node_up(d, other) {
                self.db_apply_next(d, other);
                if other != node {
                    self.db_catch_up(d, other);
                }
            }
        }
    }

    /// Each node's lag at a bucket's end, for the series.
    pub(super) fn db_bucket_closed(&mut self) {
        let now = self.now;
        let instances = &self.instances;
        for db in &mut self.dbs {
            for node in 0..db.nodes {
                let lag = db.lag(node, now, instances).as_secs_f64();
                let n = &mut db.node[node as usize];
                n.lag_series.push(lag);
                n.lag_max_s = n.lag_max_s.max(lag);
            }
        }
    }

    /// Every node's replication lag now, per database component (empty for the others).
    pub(super) fn db_live_lags(&self, comp: usize) -> Vec<f64> {
        let Some(d) = self.db_index(comp) else {
            return Vec::new();
        };
        let db = &self.dbs[d];
        (0..db.nodes)
            .map(|n| db.lag(n, self.now, &self.instances).as_secs_f64())
            .collect()
    }

    /// The node taking writes (the first primary of a multi-primary database).
    pub(super) fn db_primary(&self, comp: usize) -> Option<u32> {
        let d = self.db_index(comp)?;
        Some(self.dbs[d].primary)
    }

    pub(super) fn db_states(&self) -> Vec<DatabaseState> {
        let now = self.now;
        self.dbs
            .iter()
            .map(|db| {
                let nodes = (0..db.nodes)
                    .map(|n| {
                        let lag = db.lag(n, now, &self.instances).as_secs_f64();
                        let node = &db.node[n as usize];
                        DatabaseNode {
                            node: db.node_name(n),
                            role: if db.is_writer(n) {
                                "primary"
                            } else {
                                "replica"
                            }
                            .to_string(),
                            up: db.up(n, &self.instances),
                            lag_s: lag,
                            lag_max_s: node.lag_max_s.max(lag),
                            behind: db
                                .logs
                                .iter()
                                .zip(&node.applied)
                                .map(|(l, &a)| l.committed.saturating_sub(a))
                                .sum(),
                        }
                    })
                    .collect();
                let mut failovers = db.failovers.clone();
                if let Some(f) = &db.failing {
                    failovers.push(FailoverReport {
                        primary: db.node_name(f.primary),
                        down_s: f.down_at.as_secs_f64(),
                        detected_s: f.detected_at.map(SimTime::as_secs_f64),
                        promoted: None,
                        promoted_s: None,
                        writes_unavailable_s: None,
                        lost_writes: 0,
                        data_loss_window_s: None,
                        outcome: "under way at the end".to_string(),
                    });
                }
                let backup = db.backup.as_ref().map(|b| {
                    let latest = b.restore_point(now);
                    BackupReport {
                        full_every_s: b.config.every.map(SimTime::as_secs_f64),
                        log_shipping_s: b.config.log_shipping.map(SimTime::as_secs_f64),
                        latest_restore_point_s: latest.as_secs_f64(),
                        writes_at_risk: if latest == b.point { b.in_period } else { 0 },
                        max_writes_at_risk: b.max_at_risk,
                    }
                });
                DatabaseState {
                    component: db.comp as usize,
                    report: DatabaseReport {
                        primaries: db.primaries,
                        replicas: db.nodes - db.primaries,
                        replication: db.replication.to_string(),
                        reads: db.reads,
                        writes: db.write_count,
                        stale_reads: db.stale_reads,
                        stale_read_ratio: (db.reads > 0)
                            .then(|| db.stale_reads as f64 / db.reads as f64),
                        conflicts: db.conflicts,
                        lost_writes: db.lost_writes,
                        failovers,
                        nodes,
                        backup,
                    },
                    lag_series: (0..db.nodes)
                        .map(|n| (db.node_name(n), db.node[n as usize].lag_series.clone()))
                        .collect(),
                }
            })
            .collect()
    }
}

/// The log a write on `node` goes to.
fn origin_of(db: &DbRt, node: u32) -> u32 {
    if db.multi() { node } else { 0 }
}
