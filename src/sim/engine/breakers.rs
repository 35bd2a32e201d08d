//! Circuit breakers on calls: closed, open for `open_for` after enough consecutive failures
//! (or too high an error rate over a sliding window), then half-open to let a few probes
//! through. Each breaker belongs to one call of one handler; the call path asks it before an
//! attempt and tells it the outcome.
//!
//! Invariant: `probes_out` never exceeds `config.probes`, and counts probes whose outcome
//! the breaker has not yet seen.

use crate::sim::time::SimTime;

use super::Simulation;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

pub(super) struct BreakerRt {
    pub(super) config: crate::model::Breaker,
    /// `caller → callee`, for the event log.
    pub(super) name: String,
    pub(super) state: BreakerState,
    pub(super) consecutive_failures: u32,
    pub(super) opened_at: SimTime,
    pub(super) probes_out: u32,
    /// The sliding window of an error-rate breaker: (calls, failures) per tenth of it.
    pub(super) window: [(u32, u32); 10],
    /// The tenth of the window the last outcome fell in, counted from the start of the run.
    pub(super) window_slot: u64,
}

impl BreakerRt {
    /// Records an outcome in the sliding window; true when the error rate trips it.
    pub(super) fn rate_trips(&mut self, now: SimTime, success: bool) -> bool {
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

impl Simulation {
    pub(super) fn breaker_states(&self) -> Vec<&'static str> {
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
    pub(super) fn breaker_admits(&mut self, b: u32) -> Option<bool> {
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
    pub(super) fn breaker_saw(&mut self, b: u32, success: bool, probe: bool) {
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
}
