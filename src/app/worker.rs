//! The simulation thread behind the app.
//!
//! Owns the running [`Simulation`]; takes commands (play, pause, step, speed, seek, inject a
//! fault) over a channel and publishes snapshots that the UI reads without waiting. A run is
//! a function of (model, seed, interventions): an intervention made live is recorded with its
//! instant, so seeking back rebuilds the run from the start and replays the interventions
//! exactly, and the same list can be saved as a scenario.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::model::{Fault, Model};
use crate::observe::Report;
use crate::observe::recent::{Recent, RecentWindow};
use crate::observe::trace::{Trace, TraceOptions};
use crate::sim::{LiveState, RunOptions, SimTime, Simulation};

/// How fast simulated time goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Simulated seconds per wall-clock second.
    Times(f64),
    /// As fast as the machine allows.
    Max,
}

/// A change made to a running simulation, at an instant.
#[derive(Debug, Clone)]
pub struct Intervention {
    pub at: SimTime,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub enum Action {
    /// Starts a fault; its `at` is replaced by the intervention's instant.
    Start(Fault),
    /// Ends the fault with this index among the simulation's faults.
    End(usize),
}

pub enum Command {
    Play,
    Pause,
    /// Processes one event.
    Step,
    Speed(Speed),
    /// Applies now and records the change.
    Intervene(Action),
    /// Recomputes the run from its start up to this instant (backwards or forwards).
    Seek(SimTime),
    /// Runs as fast as possible to this instant, then pauses.
    RunTo(SimTime),
    /// Pauses when the run reaches this instant, at whatever speed it plays (a lesson's
    /// pause point); `None` forgets it.
    PauseAt(Option<SimTime>),
    /// Starts over on this model (same seed), forgetting interventions.
    Load(Arc<Model>),
    /// Recomputes the run from its start with this model (the same one with parameters
    /// changed) up to the current instant, keeping the interventions.
    Reconfigure(Arc<Model>),
    /// As `Reconfigure`, for a model edited in the app: its components may have moved, so
    /// the interventions come along, renumbered for it.
    Rebase(Arc<Model>, Vec<Intervention>),
    Quit,
}

/// What the UI draws: the latest state of the run.
#[derive(Clone)]
pub struct Snapshot {
    pub model: Arc<Model>,
    /// Bumped when a new model is loaded, so the UI knows to lay out again.
    pub model_generation: u64,
    pub seed: u64,
    pub end: SimTime,
    pub playing: bool,
    pub speed: Speed,
    pub live: LiveState,
    /// The report so far; its series hold the closed time buckets.
    pub report: Arc<Report>,
    /// Every fault: the model's, then injected ones.
    pub faults: Vec<Fault>,
    pub interventions: Vec<Intervention>,
    /// Rates, failed shares and utilisation over the last [`RECENT_WINDOW`] of simulated
    /// time.
    pub recent: Recent,
    /// Simulated seconds per wall-clock second in the latest stretch.
    pub sim_rate: f64,
    /// A broken invariant, if the engine hit one (a bug): the run stops.
    pub error: Option<String>,
    /// The request traces kept so far, in the order their requests started.
    pub traces: Arc<Vec<Arc<Trace>>>,
}

/// How often a new snapshot is published while running: about one per displayed frame.
const PUBLISH_EVERY: Duration = Duration::from_millis(15);
/// The simulated span the live figures (rates, utilisation) are measured over.
pub const RECENT_WINDOW: SimTime = SimTime::from_secs(2);
/// Every message is traced; the UI samples what it draws.
const TRACE_CAPACITY: usize = 4096;

pub struct Worker {
    commands: Sender<Command>,
    latest: Arc<Mutex<Arc<Snapshot>>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the thread on `model`. `wake` is called after each publication (the UI asks
    /// for a repaint there).
    #[must_use]
    pub fn start(model: Arc<Model>, wake: Box<dyn Fn() + Send>) -> Self {
        let (commands, inbox) = channel();
        let mut state = State::new(model, 1);
        let latest = Arc::new(Mutex::new(Arc::new(state.snapshot())));
        let shared = Arc::clone(&latest);
        let thread = std::thread::Builder::new()
            .name("simulation".into())
            .spawn(move || state.run(&inbox, &shared, &*wake))
            .ok();
        Worker {
            commands,
            latest,
            thread,
        }
    }

    pub fn send(&self, command: Command) {
        // A closed channel means the thread has gone (it only ends on Quit): nothing to do.
        let _ = self.commands.send(command);
    }

    /// The latest snapshot; never waits for the simulation.
    #[must_use]
    pub fn latest(&self) -> Arc<Snapshot> {
        Arc::clone(&self.latest.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.send(Command::Quit);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct State {
    model: Arc<Model>,
    model_generation: u64,
    sim: Simulation,
    interventions: Vec<Intervention>,
    /// Interventions already applied to `sim`.
    applied: usize,
    playing: bool,
    speed: Speed,
    run_to: Option<SimTime>,
    pause_at: Option<SimTime>,
    /// Pacing anchor: the wall instant and simulated instant the current stretch started.
    anchor: Option<(Instant, SimTime)>,
    sim_rate: f64,
    error: Option<String>,
    recent: RecentWindow,
}

fn new_simulation(model: &Arc<Model>) -> Simulation {
    let mut sim = Simulation::new(Arc::clone(model), RunOptions::default());
    sim.trace_messages(1, TRACE_CAPACITY);
    sim.record_traces(TraceOptions::default());
    sim
}

impl State {
    fn new(model: Arc<Model>, model_generation: u64) -> Self {
        State {
            sim: new_simulation(&model),
            model,
            model_generation,
            interventions: Vec::new(),
            applied: 0,
            playing: false,
            speed: Speed::Times(1.0),
            run_to: None,
            pause_at: None,
            anchor: None,
            sim_rate: 0.0,
            error: None,
            recent: RecentWindow::new(RECENT_WINDOW),
        }
    }

    /// Samples the counters for the recent figures, when a sample is due.
    fn sample(&mut self) {
        let now = self.sim.now();
        if self.recent.due(now) {
            self.recent.sample(now, self.sim.counters());
        }
    }

    fn snapshot(&self) -> Snapshot {
        let (report, error) = match self.sim.report_now() {
            Ok(r) => (r, self.error.clone()),
            Err(e) => (Report::default(), Some(e.to_string())),
        };
        Snapshot {
            model: Arc::clone(&self.model),
            model_generation: self.model_generation,
            seed: self.sim.seed(),
            end: self.sim.end(),
            playing: self.playing,
            speed: self.speed,
            live: self.sim.live(),
            report: Arc::new(report),
            faults: self.sim.faults().to_vec(),
            interventions: self.interventions.clone(),
            recent: self.recent.figures(),
            sim_rate: self.sim_rate,
            error,
            traces: Arc::new(self.sim.traces()),
        }
    }

    fn run(&mut self, inbox: &Receiver<Command>, latest: &Mutex<Arc<Snapshot>>, wake: &dyn Fn()) {
        loop {
            let busy = (self.playing || self.run_to.is_some()) && self.error.is_none();
            let command = if busy {
                inbox.try_recv().ok()
            } else {
                match inbox.recv_timeout(Duration::from_millis(100)) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            };
            if let Some(command) = command {
                if !self.apply(command) {
                    return;
                }
                // Drain whatever else is waiting before running on.
                while let Ok(c) = inbox.try_recv() {
                    if !self.apply(c) {
                        return;
                    }
                }
                self.publish(latest, wake);
                continue;
            }
            if busy {
                self.advance();
                self.publish(latest, wake);
            }
        }
    }

    fn publish(&mut self, latest: &Mutex<Arc<Snapshot>>, wake: &dyn Fn()) {
        self.sample();
        let snapshot = Arc::new(self.snapshot());
        *latest.lock().unwrap_or_else(PoisonError::into_inner) = snapshot;
        wake();
    }

    /// Returns false on Quit.
    fn apply(&mut self, command: Command) -> bool {
        match command {
            Command::Quit => return false,
            Command::Play => {
                if self.sim.now() >= self.sim.end() {
                    // Playing a finished run starts it again, as a player would.
                    self.seek(SimTime::ZERO);
                }
                self.playing = true;
                self.anchor = None;
            }
            Command::Pause => {
                self.playing = false;
                self.run_to = None;
            }
            Command::Step => {
                self.playing = false;
                self.run_to = None;
                self.step_one();
            }
            Command::Speed(s) => {
                self.speed = s;
                self.anchor = None;
            }
            Command::Intervene(action) => {
                let at = self.sim.now();
                // Everything due at this instant happens first, exactly as on a replay.
                self.sim.run_until(at);
                self.interventions.truncate(self.applied);
                self.interventions.push(Intervention { at, action });
                self.apply_due();
            }
            Command::Seek(t) => {
                self.run_to = None;
                self.seek(t);
            }
            Command::RunTo(t) => {
                self.playing = false;
                self.run_to = Some(t.min(self.sim.end()));
            }
            Command::PauseAt(t) => self.pause_at = t,
            Command::Load(model) => {
                let generation = self.model_generation + 1;
                *self = State::new(model, generation);
            }
            Command::Rebase(model, interventions) => {
                self.interventions = interventions;
                return self.apply(Command::Reconfigure(model));
            }
            Command::Reconfigure(model) => {
                let now = self.sim.now();
                self.model = model;
                self.model_generation += 1;
                self.sim = new_simulation(&self.model);
                self.applied = 0;
                self.recent.clear();
                self.run_to = None;
                self.error = None;
                self.seek(now);
            }
        }
        true
    }

    /// Applies the recorded interventions whose instant has come.
    fn apply_due(&mut self) {
        while let Some(i) = self.interventions.get(self.applied) {
            if i.at > self.sim.now() {
                break;
            }
            match i.action.clone() {
                Action::Start(f) => {
                    self.sim.inject(f);
                }
                Action::End(index) => self.sim.end_fault(index),
            }
            self.applied += 1;
            // Takes effect now, even while paused: the fault's own event is due now.
            let now = self.sim.now();
            self.sim.run_until(now);
        }
    }

    /// Runs to `until`, stopping at each recorded intervention to apply it. A run that
    /// crosses one of the model's limits stops where it is, and says why.
    fn run_until(&mut self, until: SimTime) {
        loop {
            let next = self.interventions.get(self.applied).map(|i| i.at);
            match next {
                Some(at) if at <= until => {
                    self.sim.run_until(at);
                    if self.stopped() {
                        return;
                    }
                    self.sample();
                    self.apply_due();
                }
                _ => {
                    self.sim.run_until(until);
                    if !self.stopped() {
                        self.sample();
                    }
                    return;
                }
            }
        }
    }

    /// Whether the run has stopped at a limit; if so, playing stops and the reason is kept
    /// for the window to show.
    fn stopped(&mut self) -> bool {
        let Some(why) = self.sim.stopped() else {
            return false;
        };
        self.error = Some(why.to_string());
        self.playing = false;
        self.run_to = None;
        true
    }

    fn step_one(&mut self) {
        self.apply_due();
        if !self.sim.step() {
            self.playing = false;
        }
        self.stopped();
    }

    fn seek(&mut self, t: SimTime) {
        let target = t.min(self.sim.end());
        if target < self.sim.now() {
            self.sim = new_simulation(&self.model);
            self.applied = 0;
            self.recent.clear();
            self.error = None;
        }
        // The last stretch in steps, so the recent figures have their samples.
        let window_start = target.saturating_sub(RECENT_WINDOW);
        if self.sim.now() < window_start {
            self.run_until(window_start);
        }
        while self.sim.now() < target && self.error.is_none() {
            let next = (self.sim.now() + self.recent.sample_every()).min(target);
            self.run_until(next);
        }
        self.anchor = None;
    }

    /// One stretch of running: as much simulated time as the speed allows, in at most about
    /// one frame of wall time so that snapshots keep coming.
    fn advance(&mut self) {
        #[expect(
            clippy::disallowed_methods,
            reason = "the app paces simulated time against the wall clock"
        )]
        let wall_now = Instant::now();
        let started_at = self.sim.now();
        let target = if let Some(t) = self.run_to {
            t
        } else {
            match self.speed {
                Speed::Max => self.sim.end(),
                Speed::Times(factor) => {
                    let (wall0, sim0) = *self.anchor.get_or_insert((wall_now, started_at));
                    let elapsed = wall_now.duration_since(wall0).as_secs_f64() * factor;
                    sim0 + SimTime::from_secs_f64(elapsed)
                }
            }
        };
        let target = match self.pause_at {
            Some(p) if p > started_at => target.min(p),
            _ => target,
        };
        // Run in slices so one stretch never takes much longer than a frame.
        let deadline = wall_now + PUBLISH_EVERY;
        let slice = SimTime::from_millis(1);
        let mut now = self.sim.now();
        let mut slice_len = slice;
        while now < target && self.error.is_none() {
            let next = (now + slice_len).min(target);
            self.run_until(next);
            now = self.sim.now();
            #[expect(
                clippy::disallowed_methods,
                reason = "the app paces simulated time against the wall clock"
            )]
            let t = Instant::now();
            if t >= deadline {
                break;
            }
            // Longer slices when the simulation runs ahead, but never so long that the
            // recent figures miss their samples.
            slice_len = (slice_len + slice_len).min(self.recent.sample_every());
        }
        let spent = wall_now.elapsed().as_secs_f64();
        if spent > 0.0 {
            self.sim_rate = (self.sim.now() - started_at).as_secs_f64() / spent.max(1e-3);
        }
        if let Speed::Times(_) = self.speed
            && self.run_to.is_none()
            && self.sim.now() < target
        {
            // Cannot keep up: go on from here rather than owe the lost time.
            self.anchor = None;
        }
        if self.run_to.is_some_and(|t| self.sim.now() >= t) {
            self.run_to = None;
        }
        if self.sim.now() >= self.sim.end() {
            self.playing = false;
            self.run_to = None;
        }
        if self
            .pause_at
            .is_some_and(|p| p > started_at && self.sim.now() >= p)
        {
            self.playing = false;
            self.pause_at = None;
        }
        if self.playing && matches!(self.speed, Speed::Times(_)) && self.sim.now() >= target {
            // Ahead of the wall clock: wait for it rather than spin.
            std::thread::sleep(Duration::from_millis(8));
        }
    }
}
