//! The desktop app, driven as a person uses it: egui_kittest finds widgets by their labels,
//! clicks them and runs frames, with no display. The simulation runs on its own thread, so
//! each test waits (with a deadline) for the snapshot that shows the effect.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use archsim::app::worker::{Action, Command, Worker};
use archsim::app::{ArchsimApp, Options, Source};
use archsim::model::{Fault, FaultAction, Span};
use archsim::observe::explain::{clock, took};
use archsim::sim::{RunOptions, SimTime, Simulation};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use crate::support;

pub(crate) fn app(source: Source) -> Harness<'static, ArchsimApp> {
    app_with_state(source, fresh_state_dir())
}

/// A state directory of its own per test, so that recovery files and recent files of one
/// test never reach another (or the user's).
pub(crate) fn fresh_state_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("archsim-state-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub(crate) fn app_with_state(source: Source, state_dir: PathBuf) -> Harness<'static, ArchsimApp> {
    app_with_options(Options {
        source,
        screenshot: None,
        play: false,
        frame_stats: None,
        state_dir: Some(state_dir),
        lesson: None,
        requests: false,
        record: None,
    })
}

/// The app in a window of the size the screenshots use.
pub(crate) fn app_with_options(options: Options) -> Harness<'static, ArchsimApp> {
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| ArchsimApp::new(&cc.egui_ctx, options, Arc::new(Mutex::new(None))))
}

/// Runs frames until `done` holds; the simulation thread needs wall time, so this sleeps
/// between frames. Ten seconds is far beyond what any of these needs on a loaded machine.
pub(crate) fn frames_until(
    h: &mut Harness<'_, ArchsimApp>,
    what: &str,
    done: impl Fn(&ArchsimApp) -> bool,
) {
    #[expect(
        clippy::disallowed_methods,
        reason = "a deadline for a test that waits on a thread"
    )]
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        h.step();
        if done(h.state()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting until {what}");
}

pub(crate) fn temp_model(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("archsim-app-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn play_advances_the_clock() {
    let mut h = app(Source::Embedded);
    frames_until(&mut h, "the first snapshot arrives", |a| a.now().is_some());
    assert_eq!(
        h.state().now(),
        Some(SimTime::ZERO),
        "starts paused at zero"
    );
    h.get_by_label("Play").click();
    frames_until(&mut h, "the clock moves", |a| {
        a.now().is_some_and(|t| t > SimTime::ZERO)
    });
    h.get_by_label("Pause").click();
    frames_until(&mut h, "it pauses", |a| {
        a.snapshot().is_some_and(|s| !s.playing)
    });
}

#[test]
fn step_processes_exactly_one_event() {
    let mut h = app(Source::Embedded);
    frames_until(&mut h, "the first snapshot arrives", |a| a.now().is_some());
    let before = h.state().snapshot().unwrap().live.events;
    h.get_by_label("Step").click();
    frames_until(&mut h, "the step shows", |a| {
        a.snapshot().is_some_and(|s| s.live.events != before)
    });
    assert_eq!(h.state().snapshot().unwrap().live.events, before + 1);
}

#[test]
fn right_click_crash_takes_a_component_down_and_logs_it() {
    let mut h = app(Source::Embedded);
    frames_until(&mut h, "the diagram is drawn", |a| a.snapshot().is_some());
    h.step();
    h.get_by_label("sessions").click_secondary();
    h.run_steps(3);
    h.get_by_label("Crash").click();
    frames_until(&mut h, "sessions is down", |a| {
        a.snapshot().is_some_and(|s| {
            let c = s.model.component_id("sessions").unwrap().0 as usize;
            s.live.components[c].replicas_up == 0
                && s.report
                    .events
                    .iter()
                    .any(|e| e.message == "crash sessions")
        })
    });
    // The event log shows the entry, and the change is recorded for replay.
    h.step();
    h.get_by_label_contains("crash sessions");
    let snap = h.state().snapshot().unwrap().clone();
    assert_eq!(snap.interventions.len(), 1);
    // Restart from the same menu.
    h.get_by_label("sessions").click_secondary();
    h.run_steps(3);
    h.get_by_label("Restart").click();
    frames_until(&mut h, "sessions is back", |a| {
        a.snapshot().is_some_and(|s| {
            let c = s.model.component_id("sessions").unwrap().0 as usize;
            s.live.components[c].replicas_up == 1
        })
    });
}

#[test]
fn a_broken_model_shows_its_errors_with_positions() {
    let path = temp_model("broken", "name: x\ncomponents:\n  a: { kind: servce }\n");
    let mut h = app(Source::File(path.clone()));
    h.step();
    let errors = h.state().errors().to_vec();
    assert!(!errors.is_empty(), "no errors shown");
    let expected = format!("{}:3:", path.display());
    assert!(
        errors.iter().any(|e| e.starts_with(&expected)),
        "{errors:?}"
    );
    h.get_by_label_contains(&expected);
}

#[test]
fn edits_on_disk_reload_and_errors_keep_the_last_good_model() {
    let good = "workloads: [ { name: users, target: api, rate: 10/s, request: get } ]\ncomponents:\n  api: { kind: service, handlers: { \"*\": { work: exp 1ms } } }\n";
    let path = temp_model("reload", good);
    let mut h = app(Source::File(path.clone()));
    frames_until(&mut h, "the model runs", |a| a.snapshot().is_some());
    let first = h.state().snapshot().unwrap().model_generation;

    std::fs::write(
        &path,
        "workloads: [ { name: users, target: apx, rate: 10/s, request: get } ]\n",
    )
    .unwrap();
    frames_until(&mut h, "the error panel shows", |a| !a.errors().is_empty());
    assert!(
        h.state().snapshot().is_some(),
        "the last good model is gone"
    );
    assert_eq!(h.state().snapshot().unwrap().model_generation, first);

    let fixed = good.replace("10/s", "20/s");
    std::fs::write(&path, fixed).unwrap();
    frames_until(&mut h, "the fixed model loads", |a| {
        a.errors().is_empty() && a.snapshot().is_some_and(|s| s.model_generation > first)
    });
}

fn wait_for(worker: &Worker, what: &str, done: impl Fn(&archsim::app::worker::Snapshot) -> bool) {
    #[expect(
        clippy::disallowed_methods,
        reason = "a deadline for a test that waits on a thread"
    )]
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if done(&worker.latest()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("timed out waiting until {what}");
}

fn report_json(r: &archsim::observe::Report) -> serde_json::Value {
    serde_json::to_value(r).unwrap()
}

#[test]
fn live_changes_replay_exactly_when_seeking_back() {
    let model = support::model(
        "duration: 60s\nseed: 5\nworkloads: [ { name: users, target: api, rate: 200/s, request: get } ]\n\
         components:\n  api: { kind: service, replicas: 2, workers: 2, handlers: { \"*\": { work: exp 4ms, calls: [ { to: db } ] } } }\n  \
         db: { kind: service, workers: 4, handlers: { \"*\": { work: exp 3ms } } }\n",
    );
    let worker = Worker::start(Arc::clone(&model), Box::new(|| {}));
    let at = |s: f64| SimTime::from_secs_f64(s);
    worker.send(Command::RunTo(at(10.1)));
    wait_for(&worker, "10.1 s", |s| s.live.now >= at(10.1) && !s.playing);
    let db = model.component_id("db").unwrap();
    worker.send(Command::Intervene(Action::Start(Fault {
        at: SimTime::ZERO,
        duration: None,
        target: Some(db),
        replica: None,
        action: FaultAction::Slow {
            factor: 3.0,
            delay: SimTime::ZERO,
        },
        flap: None,
        count: None,
        span: Span::default(),
    })));
    worker.send(Command::RunTo(at(20.3)));
    wait_for(&worker, "20.3 s", |s| s.live.now >= at(20.3));
    worker.send(Command::Intervene(Action::End(0)));
    worker.send(Command::RunTo(at(40.0)));
    wait_for(&worker, "40 s", |s| s.live.now >= at(40.0));
    let live = report_json(&worker.latest().report);

    // Back to 5 s and forward again: the recorded changes replay at their instants.
    worker.send(Command::Seek(at(5.0)));
    wait_for(&worker, "the seek back", |s| s.live.now == at(5.0));
    worker.send(Command::RunTo(at(40.0)));
    wait_for(&worker, "40 s again", |s| s.live.now >= at(40.0));
    let replayed = report_json(&worker.latest().report);
    assert_eq!(live, replayed, "a replay differs from the live run");

    // And the same run with the slowdown scripted in the model gives the same figures.
    let mut scripted = (*model).clone();
    scripted.faults.push(Fault {
        at: at(10.1),
        duration: Some(at(20.3) - at(10.1)),
        target: Some(db),
        replica: None,
        action: FaultAction::Slow {
            factor: 3.0,
            delay: SimTime::ZERO,
        },
        flap: None,
        count: None,
        span: Span::default(),
    });
    let mut sim = Simulation::new(Arc::new(scripted), RunOptions::default());
    sim.run_until(at(40.0));
    let from_script = report_json(&sim.report_now().unwrap());
    assert_eq!(live["totals"], from_script["totals"]);
    assert_eq!(live["series"], from_script["series"]);
}

#[test]
fn the_plotted_series_are_the_reports_series_so_far() {
    let model = support::model(
        "duration: 100s\nseed: 9\nworkloads: [ { name: users, target: api, rate: 100/s, request: get } ]\n\
         components:\n  api: { kind: service, workers: 1, handlers: { \"*\": { work: exp 8ms } } }\n",
    );
    let full = Simulation::new(Arc::clone(&model), RunOptions::default())
        .run()
        .unwrap();
    let mut partial = Simulation::new(Arc::clone(&model), RunOptions::default());
    partial.run_until(SimTime::from_secs(37));
    let so_far = partial.report_now().unwrap();
    let k = so_far.series.t_s.len();
    // 200 buckets of 0.5 s: 74 closed by 37 s (the one ending at 37 s included).
    assert_eq!(k, 74);
    assert_eq!(
        so_far.series.throughput_per_s[..],
        full.series.throughput_per_s[..k]
    );
    assert_eq!(
        so_far.series.latency_p99_s[..],
        full.series.latency_p99_s[..k]
    );
    assert_eq!(
        so_far.series.components["api"].queue_mean[..],
        full.series.components["api"].queue_mean[..k]
    );
}

#[test]
fn a_dragged_node_is_saved_into_the_model_without_restarting_the_run() {
    let text = "# kept as written\nworkloads: [ { name: users, target: api, rate: 10/s, request: get } ]\ncomponents:\n  api: { kind: service, handlers: { \"*\": { work: exp 1ms } } }\n";
    let path = temp_model("layout", text);
    let mut h = app(Source::File(path.clone()));
    frames_until(&mut h, "the model runs", |a| a.snapshot().is_some());
    h.run_steps(2);
    let generation = h.state().snapshot().unwrap().model_generation;
    let from = h.get_by_label("api").rect().center();
    h.hover_at(from);
    h.step();
    h.drag_at(from);
    h.step();
    for k in 1..=5 {
        h.hover_at(from + egui::vec2(0.0, 12.0 * k as f32));
        h.step();
    }
    h.drop_at(from + egui::vec2(0.0, 60.0));
    h.step();
    assert!(
        h.state().has_unsaved_changes(),
        "the drag did not move the node"
    );
    assert_eq!(
        h.state().snapshot().unwrap().model_generation,
        generation,
        "a move restarted the run"
    );
    h.get_by_label("Save").click();
    h.run_steps(2);
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.starts_with("# kept as written\n"), "{saved}");
    assert!(saved.contains("\nlayout:\n  users: ["), "{saved}");
    assert!(saved.contains("\n  api: ["), "{saved}");
    assert!(!h.state().has_unsaved_changes());
    // The watcher sees the app's own write and leaves the run alone.
    for _ in 0..40 {
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(h.state().snapshot().unwrap().model_generation, generation);
    // The saved file reads back, with the positions in the model.
    let (m, _) = archsim::model::load_file(&path).unwrap();
    assert_eq!(m.layout.len(), 2);
}

#[test]
fn opening_another_model_asks_before_discarding_live_changes() {
    let mut h = app(Source::Embedded);
    frames_until(&mut h, "the diagram is drawn", |a| a.snapshot().is_some());
    h.step();
    h.get_by_label("db").click_secondary();
    h.run_steps(3);
    h.get_by_label("Crash").click();
    frames_until(&mut h, "the change is recorded", |a| {
        a.has_unsaved_changes()
    });
    h.get_by_label("Open…").click();
    h.run_steps(2);
    h.get_by_label("Built-in example").click();
    h.run_steps(2);
    h.get_by_label("Unsaved changes");
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(h.state().has_unsaved_changes(), "cancel lost the changes");
}

#[test]
fn a_parameter_what_if_recomputes_the_run_with_the_live_changes_kept() {
    let text = "duration: 60s\nseed: 3\nworkloads: [ { name: users, target: api, rate: 150/s, request: get } ]\n\
         components:\n  api: { kind: service, workers: 2, handlers: { \"*\": { work: exp 10ms, calls: [ { to: db } ] } } }\n  \
         db: { kind: service, workers: 4, handlers: { \"*\": { work: exp 3ms } } }\n";
    let model = support::model(text);
    let at = |s: f64| SimTime::from_secs_f64(s);
    let worker = Worker::start(Arc::clone(&model), Box::new(|| {}));
    worker.send(Command::RunTo(at(5.0)));
    wait_for(&worker, "5 s", |s| s.live.now >= at(5.0) && !s.playing);
    let db = model.component_id("db").unwrap();
    worker.send(Command::Intervene(Action::Start(Fault {
        at: SimTime::ZERO,
        duration: None,
        target: Some(db),
        replica: None,
        action: FaultAction::Slow {
            factor: 2.0,
            delay: SimTime::ZERO,
        },
        flap: None,
        count: None,
        span: Span::default(),
    })));
    worker.send(Command::RunTo(at(20.0)));
    wait_for(&worker, "20 s", |s| s.live.now >= at(20.0) && !s.playing);

    // Two more workers for `api`, for the whole run.
    let mut changed = (*model).clone();
    let api = model.component_id("api").unwrap();
    archsim::model::scenario::apply(
        &archsim::model::Change::Workers(api, 4),
        &mut changed.components,
        &mut changed.workloads,
    );
    let changed = Arc::new(changed);
    worker.send(Command::Reconfigure(Arc::clone(&changed)));
    wait_for(&worker, "the recomputed run", |s| {
        s.live.now == at(20.0)
            && s.model.components[api.0 as usize].name == "api"
            && s.model_generation > 1
    });
    let snap = worker.latest();
    assert_eq!(snap.interventions.len(), 1, "the live change was dropped");
    assert_eq!(snap.live.components[api.0 as usize].capacity, 4);

    // The same as running the changed model with the change scripted at 5 s.
    let mut scripted = (*changed).clone();
    scripted.faults.push(Fault {
        at: at(5.0),
        duration: None,
        target: Some(db),
        replica: None,
        action: FaultAction::Slow {
            factor: 2.0,
            delay: SimTime::ZERO,
        },
        flap: None,
        count: None,
        span: Span::default(),
    });
    let mut sim = Simulation::new(Arc::new(scripted), RunOptions::default());
    sim.run_until(at(20.0));
    let expected = report_json(&sim.report_now().unwrap());
    let got = report_json(&snap.report);
    assert_eq!(got["totals"], expected["totals"]);
    assert_eq!(got["series"], expected["series"]);
}

/// A lagging replica, live: the snapshot carries each node's lag and which one is primary,
/// and the inspector lists the nodes with their roles and lags.
#[test]
fn a_database_shows_its_primary_and_its_lagging_replica() {
    let path = temp_model("database", &crate::databases::lagging("20ms"));
    let mut h = app(Source::File(path));
    frames_until(&mut h, "the diagram is drawn", |a| a.snapshot().is_some());
    h.get_by_label("Play").click();
    // The replica applies 50 writes a second against 100 written: half a second of lag
    // for every second simulated.
    frames_until(&mut h, "the replica lags a second", |a| {
        a.snapshot().is_some_and(|s| {
            let c = &s.live.components[0];
            c.primary == Some(0) && c.replica_lag_s.get(1).is_some_and(|&l| l > 1.0)
        })
    });
    let lag = h.state().snapshot().unwrap().live.components[0]
        .replica_lag_s
        .clone();
    assert_eq!(lag[0], 0.0, "the primary has applied everything it wrote");
    h.get_by_label("db").click();
    h.run_steps(3);
    h.get_by_label("db[0]");
    h.get_by_label("db[1]");
    h.get_by_label("primary");
    h.get_by_label("replica");
    h.get_by_label_contains("a database: 1 primary(ies), async replication");
}

#[test]
fn the_window_icon_decodes() {
    let icon = eframe::icon_data::from_png_bytes(archsim::app::APP_ICON).expect("a PNG");
    assert_eq!((icon.width, icon.height), (128, 128));
    // Not blank: the rounded square's corners are clear, its middle is drawn.
    let alpha = |x: u32, y: u32| icon.rgba[((y * icon.width + x) * 4 + 3) as usize];
    assert_eq!(alpha(0, 0), 0);
    assert_eq!(alpha(64, 64), 255);
}

#[test]
fn the_requests_window_lists_failed_requests_and_explains_the_one_chosen() {
    let path = temp_model("requests.yaml", crate::traces::RETRIES);
    let mut h = app(Source::File(path));
    frames_until(&mut h, "the model runs", |a| a.snapshot().is_some());
    h.state().set_speed(archsim::app::worker::Speed::Max);
    h.get_by_label("Play").click();
    frames_until(&mut h, "failed requests are traced", |a| {
        a.snapshot()
            .is_some_and(|s| s.traces.iter().filter(|t| t.outcome.is_err()).count() >= 5)
    });
    h.get_by_label("Requests").click();
    h.run_steps(3);
    h.get_by_label_contains("because its call to db timed out");
    h.get_by_label_contains("get failed (timeout after");
    // Picking an older request in the list shows that one.
    if let Some(pause) = h.query_by_label("Pause") {
        pause.click();
    }
    frames_until(&mut h, "the run stops", |a| {
        a.snapshot().is_some_and(|s| !s.playing)
    });
    let older = {
        let snap = h.state().snapshot().unwrap();
        let failed: Vec<_> = snap.traces.iter().filter(|t| t.outcome.is_err()).collect();
        Arc::clone(failed[failed.len() - 3])
    };
    let row = format!(
        "{}  {:<8} {:<10} {}",
        clock(older.start),
        "get",
        "timeout",
        took(older.latency())
    );
    h.get_by_label(&row).click();
    h.run_steps(3);
    h.get_by_label_contains(&format!("get #{} ", older.serial));
}
