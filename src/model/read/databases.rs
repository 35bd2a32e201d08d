//! Reads a `database`: primaries and replicas, replication mode and acknowledgements, ship
//! and apply times, where reads go, rows, failover and backups; and a scenario's change of
//! its replica count, checked against the rest of its configuration.

use crate::model::diag::Span;
use crate::model::yaml::Node;
use crate::model::{
    Backup, Change, ComponentId, Database, Dist, Failover, Io, MAX_CACHE_KEYS, MAX_DATABASE_NODES,
    MAX_PRIMARIES, MULTI_PRIMARY_ROWS, ReadFrom, Replication, Service, schema,
};
use crate::shared::time::SimTime;

use super::Reader;
use super::values::Fields;

impl Reader {
    pub(super) fn database(&mut self, what: &str, span: Span, f: &Fields<'_>) -> Option<Service> {
        let replicas = f
            .get("replicas")
            .map_or(Some(0), |n| self.int_u32(n, "replicas", 0));
        let primaries = f.get("primaries").map_or(Some(1), |n| {
            let p = self.int_u32(n, "primaries", 1)?;
            if p > MAX_PRIMARIES {
                self.error_hint(
                    n.span,
                    format!("primaries: `{p}` is above the limit of {MAX_PRIMARIES}"),
                    "multi-primary clusters beyond a handful of nodes conflict on nearly every \
                     hot row; model the nodes that take writes",
                );
                return None;
            }
            Some(p)
        });
        let workers = f
            .get("workers")
            .map_or(Some(1), |n| self.int_u32(n, "workers", 1));
        let queue = self.waiting_room(f);
        let balance = self.policy(f.get("balance"), "balance");
        let handlers = f.get("handlers").and_then(|n| self.handlers(what, n));
        let mut calls_ok = true;
        if let Some(hs) = &handlers
            && let Some(h) = hs.iter().find(|h| !h.steps.is_empty())
        {
            self.error_hint(
                h.span,
                format!("{what} is a database: its handlers cannot make calls"),
                "give each query type only its `work`; put the calls in the service that \
                 queries the database",
            );
            calls_ok = false;
        }
        let writes = match f.get("writes") {
            None => Some(Vec::new()),
            Some(n) => self.cache_writes(n),
        };
        let read_from = match f.get("read_from") {
            None => Some(ReadFrom::Primary),
            Some(n) => self
                .choice(n, "read_from", schema::READ_FROM)
                .map(|r| match r {
                    "replicas" => ReadFrom::Replicas,
                    "any" => ReadFrom::Any,
                    _ => ReadFrom::Primary,
                }),
        };
        let acks = match f.get("acks") {
            None => Some(None),
            Some(n) => self.int_u32(n, "acks", 1).map(Some),
        };
        let replication = match f.get("replication") {
            None => Some(Replication::Async),
            Some(n) => self
                .choice(n, "replication", schema::REPLICATION)
                .map(|r| match r {
                    "sync" => Replication::Sync,
                    "semi_sync" => Replication::SemiSync {
                        acks: acks.flatten().unwrap_or(1),
                    },
                    _ => Replication::Async,
                }),
        };
        let ship = match f.get("ship") {
            None => Some(None),
            Some(n) => self.dist(n, "ship").map(Some),
        };
        let apply = match f.get("apply") {
            None => Some(None),
            Some(n) => self.dist(n, "apply").map(Some),
        };
        let keys = f.get("keys").map_or(Some(1), |n| {
            let k = self.int_u32(n, "keys", 1)?;
            if k > MAX_CACHE_KEYS {
                self.error_hint(
                    n.span,
                    format!("keys: `{k}` is above the limit of {MAX_CACHE_KEYS}"),
                    "model the rows that are read and written often: the others never go stale",
                );
                return None;
            }
            Some(k)
        });
        let zipf = match f.get("zipf") {
            None => Some(0.0),
            Some(z) => self.zipf(z),
        };
        let failover = match f.get("failover") {
            None => Some(None),
            Some(n) => self
                .fields(n, "`failover`", schema::FAILOVER)
                .and_then(|ff| {
                    let detect = ff
                        .get("detect")
                        .and_then(|d| self.positive_duration(d, "failover.detect"));
                    let promote = ff
                        .get("promote")
                        .and_then(|d| self.duration(d, "failover.promote"));
                    Some(Some(Failover {
                        detect: detect?,
                        promote: promote?,
                    }))
                }),
        };
        let backup = match f.get("backup") {
            None => Some(None),
            Some(n) => self.fields(n, "`backup`", schema::BACKUP).and_then(|bf| {
                let every = match bf.get("every") {
                    None => Some(None),
                    Some(d) => self.positive_duration(d, "backup.every").map(Some),
                };
                let log_shipping = match bf.get("log_shipping") {
                    None => Some(None),
                    Some(d) => self.positive_duration(d, "backup.log_shipping").map(Some),
                };
                let (every, log_shipping) = (every?, log_shipping?);
                if every.is_none() && log_shipping.is_none() {
                    self.error_hint(
                        bf.span,
                        "`backup` gives no restore points",
                        "add `every: 1h` (full backups), `log_shipping: 5m` (archived log), or both",
                    );
                    return None;
                }
                Some(Some(Backup {
                    every,
                    log_shipping,
                }))
            }),
        };
        let (replicas, primaries, workers, queue, balance, handlers) =
            (replicas?, primaries?, workers?, queue?, balance?, handlers?);
        let (writes, read_from, acks, replication, ship, apply, keys, zipf, failover, backup) = (
            writes?,
            read_from?,
            acks?,
            replication?,
            ship?,
            apply?,
            keys?,
            zipf?,
            failover?,
            backup?,
        );
        let nodes = primaries + replicas;
        let mut ok = calls_ok;
        let mut refuse = |this: &mut Self, key: &str, message: String, hint: &str| {
            this.error_hint(f.key_span(key), message, hint);
            ok = false;
        };
        if nodes > MAX_DATABASE_NODES {
            refuse(
                self,
                "replicas",
                format!("{what} has {nodes} nodes, above the limit of {MAX_DATABASE_NODES}"),
                "model fewer replicas: beyond a few dozen they add nothing a student could see",
            );
        }
        if acks.is_some() && !matches!(replication, Replication::SemiSync { .. }) {
            refuse(
                self,
                "acks",
                format!("{what} has `acks` without `replication: semi_sync`"),
                "`acks` counts the replicas a semi-synchronous write waits for; add \
                 `replication: semi_sync` or remove `acks`",
            );
        }
        if let Replication::SemiSync { acks } = replication
            && acks > replicas
        {
            refuse(
                self,
                "replication",
                format!(
                    "{what} waits for {acks} replica acknowledgement(s) but has {replicas} \
                     replica(s)"
                ),
                "add replicas, or lower `acks`",
            );
        }
        if replication != Replication::Async && replicas == 0 && primaries == 1 {
            refuse(
                self,
                "replication",
                format!("{what} replicates synchronously but has no replicas"),
                "add `replicas: 1` or more, or leave `replication` out",
            );
        }
        if primaries > 1 && replication != Replication::Async {
            refuse(
                self,
                "replication",
                format!("{what} has several primaries: they replicate asynchronously"),
                "leave `replication` out (or `async`); synchronous multi-primary (certification) \
                 is not modelled",
            );
        }
        if read_from == ReadFrom::Replicas && replicas == 0 {
            refuse(
                self,
                "read_from",
                format!("{what} reads from replicas but has none"),
                "add `replicas: 1` or more, or read from `primary`",
            );
        }
        if failover.is_some() && (primaries > 1 || replicas == 0) {
            refuse(
                self,
                "failover",
                format!(
                    "{what} has `failover` but {}",
                    if primaries > 1 {
                        "several primaries: writes simply go to the others"
                    } else {
                        "no replica to promote"
                    }
                ),
                "remove `failover`, or give a single primary `replicas: 1` or more",
            );
        }
        if nodes > 1 && apply.is_none() {
            refuse(
                self,
                "kind",
                format!("{what} replicates but says nothing of `apply`"),
                "add `apply: exp 2ms`, the time a replica takes to apply one write: it sets how \
                 fast replicas can keep up",
            );
        }
        if primaries > 1 && u64::from(keys) * u64::from(nodes) > MULTI_PRIMARY_ROWS {
            refuse(
                self,
                "keys",
                format!("{what}: {keys} keys on {nodes} nodes is too many to track per node"),
                "multi-primary keeps each row's version on every node; use fewer keys",
            );
        }
        if !ok {
            return None;
        }
        Some(Service {
            replicas: nodes,
            workers,
            queue,
            io: Io::Blocking,
            balance,
            queue_timeout: None,
            lifo: false,
            autoscale: None,
            handlers,
            database: Some(Box::new(Database {
                primaries,
                writes,
                read_from,
                replication,
                ship,
                apply: apply.unwrap_or(Dist::Const(SimTime::ZERO)),
                keys,
                zipf,
                failover,
                backup,
                span,
            })),
        })
    }

    /// A scenario's `replicas` of a database: its read replicas, beside the primaries; the
    /// count must still suit its replication, reads and failover.
    pub(super) fn database_replicas(
        &mut self,
        v: &Node,
        path: &str,
        id: ComponentId,
        db: &Database,
    ) -> Option<Change> {
        let n = self.int_u32(v, path, 0)?;
        let problem = match db.replication {
            Replication::SemiSync { acks } if acks > n => Some(format!(
                "{path}: semi-synchronous writes wait for {acks} replica acknowledgement(s), \
                 more than {n} replica(s)"
            )),
            Replication::Sync if n == 0 => {
                Some(format!("{path}: synchronous replication needs a replica"))
            }
            _ if n == 0 && db.read_from == ReadFrom::Replicas => {
                Some(format!("{path}: the database reads from replicas"))
            }
            _ if n == 0 && db.failover.is_some() => {
                Some(format!("{path}: failover needs a replica to promote"))
            }
            _ if db.primaries + n > MAX_DATABASE_NODES => Some(format!(
                "{path}: {} nodes is above the limit of {MAX_DATABASE_NODES}",
                db.primaries + n
            )),
            _ => None,
        };
        if let Some(message) = problem {
            self.error_hint(
                v.span,
                message,
                "a database's `replicas` counts its read replicas, beside the primaries",
            );
            return None;
        }
        Some(Change::Replicas(id, db.primaries + n))
    }
}
