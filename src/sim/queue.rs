//! The future-event list: a 4-ary min-heap ordered by (time, sequence).
//!
//! Equal times keep insertion order through the sequence number, so the run is one total
//! order of events. Entries are 24 bytes (time, sequence and a small event payload); a
//! 4-ary heap is shallower than a binary one and touches fewer cache lines when hundreds of
//! thousands of events are pending.

use std::cmp::Ordering;

use dary_heap::QuaternaryHeap;

use super::time::SimTime;

#[derive(Debug, Clone, Copy)]
struct Entry<E> {
    time: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed, because the heap pops its greatest element and we want the earliest.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

pub struct EventQueue<E> {
    heap: QuaternaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E: Copy> EventQueue<E> {
    #[must_use]
    pub fn new() -> Self {
        EventQueue {
            heap: QuaternaryHeap::with_capacity(1024),
            next_seq: 0,
        }
    }

    /// Takes the next sequence number, for timers kept outside the heap that must still
    /// fall into the same total order.
    #[inline]
    pub fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.take_seq();
        self.heap.push(Entry {
            time: time.as_nanos(),
            seq,
            event,
        });
    }

    /// Pushes with a sequence number taken earlier by [`EventQueue::take_seq`].
    #[inline]
    pub fn push_with_seq(&mut self, time: SimTime, seq: u64, event: E) {
        self.heap.push(Entry {
            time: time.as_nanos(),
            seq,
            event,
        });
    }

    #[inline]
    #[must_use]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| SimTime::from_nanos(e.time))
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap
            .pop()
            .map(|e| (SimTime::from_nanos(e.time), e.event))
    }
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_ties_in_insertion_order() {
        let mut q = EventQueue::new();
        q.push(SimTime::from_nanos(5), 'a');
        q.push(SimTime::from_nanos(1), 'b');
        q.push(SimTime::from_nanos(5), 'c');
        q.push(SimTime::from_nanos(1), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }
}
