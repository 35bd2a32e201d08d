//! Figures over the last few simulated seconds, for a live view: request rate and share of
//! failed answers per link, utilisation per component.
//!
//! A live view is drawn at its own pace, which at high simulation speeds can be many
//! simulated seconds apart; measuring between the frames it happens to draw would mix
//! whatever happened in between. So the simulation's thread samples the cumulative counters
//! every few tenths of a simulated second, and the figures are differences over a fixed
//! simulated window, whatever the frame rate.

use std::collections::VecDeque;

use crate::shared::time::SimTime;

/// Cumulative counters at an instant.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Per link: requests sent, answers sent back, failed answers.
    pub links: Vec<[u64; 3]>,
    /// Per component: worker-nanoseconds busy, and of capacity.
    pub busy_ns: Vec<f64>,
    pub capacity_ns: Vec<f64>,
}

/// Figures over the window ending now.
#[derive(Debug, Clone, Default)]
pub struct Recent {
    /// The simulated span they cover (shorter than the window early in a run).
    pub span_s: f64,
    pub link_rate: Vec<f64>,
    /// `None` when no answer came back over the link in the span.
    pub link_failed_share: Vec<Option<f64>>,
    /// `None` when the component had no capacity in the span.
    pub utilization: Vec<Option<f64>>,
}

#[derive(Debug, Clone)]
pub struct RecentWindow {
    window: SimTime,
    samples: VecDeque<(SimTime, Counters)>,
}

impl RecentWindow {
    #[must_use]
    pub fn new(window: SimTime) -> Self {
        RecentWindow {
            window,
            samples: VecDeque::new(),
        }
    }

    /// How far apart samples need to be: an eighth of the window.
    #[must_use]
    pub fn sample_every(&self) -> SimTime {
        SimTime::from_nanos((self.window.as_nanos() / 8).max(1))
    }

    /// Whether a sample is due at `now`.
    #[must_use]
    pub fn due(&self, now: SimTime) -> bool {
        self.samples
            .back()
            .is_none_or(|(t, _)| now >= *t + self.sample_every() || now < *t)
    }

    /// Adds a sample; a clock that went back (a run recomputed from its start) starts over.
    pub fn sample(&mut self, now: SimTime, counters: Counters) {
        if self.samples.back().is_some_and(|(t, _)| now < *t) {
            self.samples.clear();
        }
        if self.samples.back().is_some_and(|(t, _)| *t == now) {
            self.samples.pop_back();
        }
        self.samples.push_back((now, counters));
        // Keep the newest sample at or before the window's start, as its left edge.
        while self.samples.len() > 2 && self.samples[1].0 + self.window <= now {
            self.samples.pop_front();
        }
    }

    pub fn clear(&mut self) {
        self.samples.clear();
    }

    /// Figures between the oldest kept sample and the newest.
    #[must_use]
    pub fn figures(&self) -> Recent {
        let (Some((t0, a)), Some((t1, b))) = (self.samples.front(), self.samples.back()) else {
            return Recent::default();
        };
        let span_s = (*t1 - *t0).as_secs_f64();
        if span_s <= 0.0 {
            return Recent {
                span_s: 0.0,
                link_rate: vec![0.0; b.links.len()],
                link_failed_share: vec![None; b.links.len()],
                utilization: vec![None; b.busy_ns.len()],
            };
        }
        let link_rate = a
            .links
            .iter()
            .zip(&b.links)
            .map(|(x, y)| (y[0] - x[0]) as f64 / span_s)
            .collect();
        let link_failed_share = a
            .links
            .iter()
            .zip(&b.links)
            .map(|(x, y)| {
                let answers = y[1] - x[1];
                (answers > 0).then(|| (y[2] - x[2]) as f64 / answers as f64)
            })
            .collect();
        let utilization = (0..b.busy_ns.len())
            .map(|c| {
                let capacity = b.capacity_ns[c] - a.capacity_ns[c];
                (capacity > 0.0).then(|| (b.busy_ns[c] - a.busy_ns[c]) / capacity)
            })
            .collect();
        Recent {
            span_s,
            link_rate,
            link_failed_share,
            utilization,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, sent: u64, busy: f64) -> (SimTime, Counters) {
        (
            SimTime::from_millis(ms),
            Counters {
                links: vec![[sent, sent, 0]],
                busy_ns: vec![busy],
                capacity_ns: vec![ms as f64 * 1e6],
            },
        )
    }

    #[test]
    fn figures_cover_the_window_not_the_whole_history() {
        let mut w = RecentWindow::new(SimTime::from_secs(2));
        // 10 requests per second for 10 s, then 100 per second.
        let mut sent = 0;
        for k in 0..=60u64 {
            let ms = k * 250;
            sent += if ms <= 10_000 { 2 } else { 25 };
            let (t, c) = at(ms, sent, 0.0);
            w.sample(t, c);
        }
        let f = w.figures();
        assert!((f.span_s - 2.0).abs() < 0.26, "{}", f.span_s);
        assert!((f.link_rate[0] - 100.0).abs() < 1e-9, "{}", f.link_rate[0]);
    }

    #[test]
    fn a_clock_going_back_starts_over() {
        let mut w = RecentWindow::new(SimTime::from_secs(2));
        let (t, c) = at(5000, 50, 0.0);
        w.sample(t, c);
        let (t, c) = at(1000, 10, 0.0);
        w.sample(t, c);
        assert!(
            w.figures().span_s.abs() < 1e-12,
            "a sample from before the seek remained"
        );
    }
}
