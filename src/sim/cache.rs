//! A cache's contents: which keys it holds, which it evicts, and how keys are drawn.
//!
//! Keys are whole numbers `0..keys`, key 0 the most popular. Entries live in a slab-backed
//! doubly linked list in recency order, with a key-indexed table pointing into it, so a
//! lookup, a fill, an eviction and an invalidation are each O(1) without hashing. Must never
//! draw random numbers itself: the engine passes in uniform draws from the cache's stream.

use super::time::SimTime;
use crate::model::KeySpace;

const NIL: u32 = u32::MAX;

/// What a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Hit,
    Miss,
    /// Present but older than the TTL: a miss, and the entry is gone.
    Expired,
}

#[derive(Clone, Copy)]
struct Entry {
    key: u32,
    prev: u32,
    next: u32,
    filled: SimTime,
}

/// Least recently used eviction over a fixed key space.
pub struct Lru {
    /// Per key: its entry, or `NIL`.
    index: Vec<u32>,
    entries: Vec<Entry>,
    free: Vec<u32>,
    /// Most recently used first.
    head: u32,
    tail: u32,
    len: u32,
    capacity: u32,
    ttl: Option<SimTime>,
}

impl Lru {
    #[must_use]
    pub fn new(keys: u32, capacity: u32, ttl: Option<SimTime>) -> Self {
        Lru {
            index: vec![NIL; keys as usize],
            entries: Vec::with_capacity((capacity as usize).min(1 << 16)),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            len: 0,
            capacity: capacity.max(1),
            ttl,
        }
    }

    #[must_use]
    pub fn len(&self) -> u32 {
        self.len
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Looks a key up; a hit becomes the most recently used.
    pub fn get(&mut self, key: u32, now: SimTime) -> Lookup {
        let e = self.index[key as usize];
        if e == NIL {
            return Lookup::Miss;
        }
        if let Some(ttl) = self.ttl
            && now - self.entries[e as usize].filled >= ttl
        {
            self.unlink(e);
            return Lookup::Expired;
        }
        self.touch(e);
        Lookup::Hit
    }

    /// Puts a key in as the most recently used, fresh from the store; true when that evicted
    /// another key.
    pub fn fill(&mut self, key: u32, now: SimTime) -> bool {
        let e = self.index[key as usize];
        if e != NIL {
            self.entries[e as usize].filled = now;
            self.touch(e);
            return false;
        }
        let evicted = self.len == self.capacity;
        if evicted {
            self.unlink(self.tail);
        }
        let entry = Entry {
            key,
            prev: NIL,
            next: self.head,
            filled: now,
        };
        let e = if let Some(i) = self.free.pop() {
            self.entries[i as usize] = entry;
            i
        } else {
            self.entries.push(entry);
            u32::try_from(self.entries.len() - 1).unwrap_or(NIL)
        };
        if self.head == NIL {
            self.tail = e;
        } else {
            self.entries[self.head as usize].prev = e;
        }
        self.head = e;
        self.index[key as usize] = e;
        self.len += 1;
        evicted
    }

    /// Drops a key (a write invalidated it); true when it was there.
    pub fn remove(&mut self, key: u32) -> bool {
        let e = self.index[key as usize];
        if e == NIL {
            return false;
        }
        self.unlink(e);
        true
    }

    /// Forgets everything, as a restart does.
    pub fn clear(&mut self) {
        let mut e = self.head;
        while e != NIL {
            let entry = self.entries[e as usize];
            self.index[entry.key as usize] = NIL;
            e = entry.next;
        }
        self.entries.clear();
        self.free.clear();
        self.head = NIL;
        self.tail = NIL;
        self.len = 0;
    }

    fn unlink(&mut self, e: u32) {
        let Entry {
            key, prev, next, ..
        } = self.entries[e as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        self.index[key as usize] = NIL;
        self.free.push(e);
        self.len -= 1;
    }

    fn touch(&mut self, e: u32) {
        if self.head == e {
            return;
        }
        let Entry { prev, next, .. } = self.entries[e as usize];
        // Not the head, so it has a predecessor.
        self.entries[prev as usize].next = next;
        if next == NIL {
            self.tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        self.entries[e as usize].prev = NIL;
        self.entries[e as usize].next = self.head;
        self.entries[self.head as usize].prev = e;
        self.head = e;
    }
}

/// Key popularity: Zipf over `0..keys` (key i drawn with probability ∝ (i+1)^-s), or
/// uniform.
pub struct Popularity {
    keys: u32,
    /// Cumulative probabilities, the last exactly 1; empty for uniform keys.
    cdf: Vec<f64>,
}

impl Popularity {
    #[must_use]
    pub fn new(space: &KeySpace) -> Self {
        if space.zipf == 0.0 {
            return Popularity {
                keys: space.keys,
                cdf: Vec::new(),
            };
        }
        let weights = zipf_weights(space.keys, space.zipf);
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        if let Some(last) = cdf.last_mut() {
            *last = 1.0;
        }
        Popularity {
            keys: space.keys,
            cdf,
        }
    }

    /// The key a uniform draw `u` in [0, 1) selects (inversion: a binary search of the
    /// cumulative table).
    #[must_use]
    pub fn key(&self, u: f64) -> u32 {
        if self.cdf.is_empty() {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "u is in [0, 1), so the product is in [0, keys)"
            )]
            let k = (u * f64::from(self.keys)) as u32;
            return k.min(self.keys - 1);
        }
        let i = self.cdf.partition_point(|&c| c <= u);
        u32::try_from(i).unwrap_or(u32::MAX).min(self.keys - 1)
    }
}

/// Unnormalised Zipf weights (i+1)^-s of keys `0..keys`.
#[must_use]
pub fn zipf_weights(keys: u32, s: f64) -> Vec<f64> {
    (1..=keys).map(|i| libm::pow(f64::from(i), -s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut lru = Lru::new(10, 2, None);
        let t = SimTime::ZERO;
        assert!(!lru.fill(1, t));
        assert!(!lru.fill(2, t));
        assert_eq!(lru.get(1, t), Lookup::Hit);
        assert!(lru.fill(3, t), "a full cache evicts");
        assert_eq!(lru.get(2, t), Lookup::Miss, "2 was least recently used");
        assert_eq!(lru.get(1, t), Lookup::Hit);
        assert_eq!(lru.get(3, t), Lookup::Hit);
        assert_eq!(lru.len(), 2);
        assert!(lru.remove(1));
        assert!(!lru.remove(1));
        assert_eq!(lru.len(), 1);
        lru.clear();
        assert!(lru.is_empty());
        assert_eq!(lru.get(3, t), Lookup::Miss);
        assert!(!lru.fill(3, t));
        assert_eq!(lru.get(3, t), Lookup::Hit);
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let mut lru = Lru::new(4, 4, Some(SimTime::from_secs(1)));
        lru.fill(0, SimTime::ZERO);
        assert_eq!(lru.get(0, SimTime::from_millis(999)), Lookup::Hit);
        assert_eq!(lru.get(0, SimTime::from_secs(1)), Lookup::Expired);
        assert_eq!(lru.get(0, SimTime::from_secs(1)), Lookup::Miss);
    }

    #[test]
    fn zipf_draws_follow_the_cumulative_table() {
        let p = Popularity::new(&KeySpace {
            keys: 3,
            zipf: 1.0,
            capacity: 3,
            ttl: None,
        });
        // Weights 1, 1/2, 1/3 over 11/6: cumulative 6/11, 9/11, 1.
        assert_eq!(p.key(0.0), 0);
        assert_eq!(p.key(0.545), 0);
        assert_eq!(p.key(0.546), 1);
        assert_eq!(p.key(0.818), 1);
        assert_eq!(p.key(0.819), 2);
        assert_eq!(p.key(0.999_999), 2);
        let uniform = Popularity::new(&KeySpace {
            keys: 4,
            zipf: 0.0,
            capacity: 4,
            ttl: None,
        });
        assert_eq!(uniform.key(0.0), 0);
        assert_eq!(uniform.key(0.26), 1);
        assert_eq!(uniform.key(0.999), 3);
    }
}
