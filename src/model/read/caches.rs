//! Reads a `cache`: its store, mode (cache-aside, read- or write-through), hits (a fixed
//! ratio or a key space with capacity, TTL and Zipf popularity), which request types write,
//! and what a write does to the entry.

use crate::model::diag::suggestion;
use crate::model::units::parse_fraction;
use crate::model::yaml::{Node, NodeKind};
use crate::model::{
    Cache, CacheHits, CacheMode, Data, External, KeySpace, MAX_CACHE_KEYS, OnWrite, RequestTypeId,
    schema,
};

use super::Reader;
use super::values::Fields;

impl Reader {
    pub(super) fn cache(&mut self, name: &str, what: &str, f: &Fields<'_>) -> Option<External> {
        let latency = f.get("latency").and_then(|n| self.dist(n, "latency"));
        let mode = match f.get("mode") {
            None => Some(CacheMode::CacheAside),
            Some(n) => self
                .choice(n, "mode", schema::CACHE_MODES)
                .map(|m| match m {
                    "read_through" => CacheMode::ReadThrough,
                    "write_through" => CacheMode::WriteThrough,
                    _ => CacheMode::CacheAside,
                }),
        };
        let on_write = match f.get("on_write") {
            None => Some(OnWrite::Invalidate),
            Some(n) => self
                .choice(n, "on_write", schema::ON_WRITES)
                .map(|w| match w {
                    "update" => OnWrite::Update,
                    _ => OnWrite::Invalidate,
                }),
        };
        let on_miss = f.get("on_miss").and_then(|n| {
            let m = self.fields(n, "`on_miss`", schema::ON_MISS)?;
            let to = m
                .get("to")
                .and_then(|t| self.component_ref(t, "on_miss.to"));
            if let (Some(id), Some(t)) = (to, m.get("to"))
                && self.components[id.0 as usize] == name
            {
                self.error_hint(
                    t.span,
                    format!("{what} reads its misses from itself"),
                    "name the backing store, e.g. `on_miss: { to: db }`",
                );
                return None;
            }
            let request = match m.get("request") {
                None => Some(None),
                Some(r) => self.request_type_ref(r, "on_miss.request").map(Some),
            };
            Some((to?, request?, n.span))
        });
        let coalesce = f
            .get("coalesce")
            .map_or(Some(false), |n| self.boolean(n, "coalesce"));
        let writes = match f.get("writes") {
            None => Some(Vec::new()),
            Some(n) => self.cache_writes(n),
        };
        let hits = self.cache_hits(what, f);
        let policy = mode.and_then(|m| self.cache_write_policy(what, f, m, writes.as_deref()));
        let (latency, mode, on_write, on_miss, coalesce, writes, hits, ()) = (
            latency?, mode?, on_write?, on_miss?, coalesce?, writes?, hits?, policy?,
        );
        Some(External {
            latency,
            error_fraction: 0.0,
            data: Some(Box::new(Data::Cache(Cache {
                hits,
                mode,
                on_write: if mode == CacheMode::WriteThrough {
                    OnWrite::Update
                } else {
                    on_write
                },
                backing: on_miss.0,
                backing_request: on_miss.1,
                coalesce,
                writes,
                on_miss_span: on_miss.2,
            }))),
        })
    }

    pub(super) fn cache_writes(&mut self, node: &Node) -> Option<Vec<RequestTypeId>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.error_hint(
                node.span,
                format!("`writes` should be a list, not {}", node.shape()),
                "write `writes: [update_profile]`",
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let t = self.text(item, "writes")?;
            let Some(id) = self.request_type(t) else {
                let names: Vec<&str> = self.request_types.iter().map(String::as_str).collect();
                let hint = suggestion(t, "request types", &names);
                self.error_hint(
                    item.span,
                    format!("writes: `{t}` is not a request type that anything sends"),
                    hint,
                );
                return None;
            };
            out.push(id);
        }
        Some(out)
    }

    /// What writes do must be something the cache can do: installing a written key needs
    /// keys, and a write policy needs writes to apply to. `writes` is `None` when it could
    /// not be read (that is reported already).
    pub(super) fn cache_write_policy(
        &mut self,
        what: &str,
        f: &Fields<'_>,
        mode: CacheMode,
        writes: Option<&[RequestTypeId]>,
    ) -> Option<()> {
        let fixed = f.get("hit_ratio").is_some() && f.get("keys").is_none();
        let no_writes = writes.is_some_and(<[RequestTypeId]>::is_empty);
        let mut ok = true;
        if mode == CacheMode::WriteThrough {
            let at = f.get("mode").map_or(f.span, |n| n.span);
            if fixed {
                ok = false;
                self.error_hint(
                    at,
                    format!(
                        "`mode: write_through` needs `keys`, and {what} has a fixed `hit_ratio`"
                    ),
                    "a write-through cache installs the key each write goes to, and a fixed \
                     hit ratio has no keys; declare `keys` (and `writes`) instead of \
                     `hit_ratio`, or use `mode: read_through`",
                );
            } else if no_writes {
                ok = false;
                self.error_hint(
                    at,
                    format!("`mode: write_through` needs `writes`, and {what} has none"),
                    "list the request types that the cache writes through to the store: \
                     `writes: [update_profile]`; without writes it is `mode: read_through`",
                );
            }
            if let Some(n) = f.get("on_write") {
                ok = false;
                self.error_hint(
                    n.span,
                    "`on_write` does not apply to `mode: write_through`",
                    "a write-through cache always installs what it writes; remove `on_write`, \
                     or choose `mode: cache_aside` or `read_through`",
                );
            }
        } else if let Some(n) = f.get("on_write")
            && let Some(value) = n.as_scalar().filter(|v| schema::ON_WRITES.contains(v))
        {
            if fixed {
                ok = false;
                self.error_hint(
                    n.span,
                    format!("`on_write: {value}` needs `keys`, and {what} has a fixed `hit_ratio`"),
                    if value == "update" {
                        "an update installs the written key, and a fixed hit ratio has no keys; \
                         declare `keys` instead of `hit_ratio`"
                    } else {
                        "a fixed hit ratio has no keys to invalidate; declare `keys` instead of \
                         `hit_ratio`"
                    },
                );
            } else if no_writes {
                ok = false;
                self.error_hint(
                    n.span,
                    format!("`on_write` applies only to a cache with `writes` ({what})"),
                    "list the request types that write their key: `writes: [update_profile]`",
                );
            }
        }
        ok.then_some(())
    }

    /// A fixed hit ratio, or a key space whose hits emerge from popularity and capacity.
    pub(super) fn cache_hits(&mut self, what: &str, f: &Fields<'_>) -> Option<CacheHits> {
        let key_space_only = ["zipf", "capacity", "ttl", "coalesce", "writes"];
        match (f.get("hit_ratio"), f.get("keys")) {
            (Some(_), Some(_)) => {
                self.error_hint(
                    f.key_span("keys"),
                    format!("{what} has both `hit_ratio` and `keys`"),
                    "give a fixed `hit_ratio`, or a key space (`keys`, `zipf`, `capacity`) whose \
                     hits emerge as the run goes",
                );
                None
            }
            (None, None) => {
                self.error_hint(
                    f.span,
                    format!("{what} says nothing of its hits"),
                    "give `hit_ratio: 80%`, or a key space: `keys: 100000, zipf: 0.9, capacity: \
                     10000`",
                );
                None
            }
            (Some(n), None) => {
                let ratio = self.parsed(n, "hit_ratio", parse_fraction);
                let mut ok = true;
                for k in key_space_only {
                    if f.get(k).is_some() {
                        ok = false;
                        self.error_hint(
                            f.key_span(k),
                            format!("`{k}` applies only to a cache with `keys`"),
                            "a fixed `hit_ratio` has no keys to evict, expire, coalesce or \
                             invalidate; declare `keys` instead of `hit_ratio`",
                        );
                    }
                }
                ok.then_some(())?;
                ratio.map(CacheHits::Fixed)
            }
            (None, Some(n)) => {
                let keys = self.int_u32(n, "keys", 1).and_then(|k| {
                    if k > MAX_CACHE_KEYS {
                        self.error_hint(
                            n.span,
                            format!("keys: `{k}` is above the limit of {MAX_CACHE_KEYS}"),
                            "model the hottest keys only: the tail of a Zipf popularity rarely \
                             hits anyway",
                        );
                        return None;
                    }
                    Some(k)
                });
                let zipf = match f.get("zipf") {
                    None => Some(0.0),
                    Some(z) => self.zipf(z),
                };
                let capacity = match f.get("capacity") {
                    None => Some(None),
                    Some(c) => self.int_u32(c, "capacity", 1).map(Some),
                };
                let ttl = match f.get("ttl") {
                    None => Some(None),
                    Some(t) => self.positive_duration(t, "ttl").map(Some),
                };
                let (keys, zipf, capacity, ttl) = (keys?, zipf?, capacity?, ttl?);
                Some(CacheHits::Keys(KeySpace {
                    keys,
                    zipf,
                    capacity: capacity.unwrap_or(keys).min(keys),
                    ttl,
                }))
            }
        }
    }
}
