//! The desktop app: a live diagram of the running model, plots, a timeline and an
//! inspector, on top of the same core the CLI drives.
//!
//! Owns the window and what the user does in it. The simulation runs on its own thread
//! ([`worker`]); the UI reads the latest snapshot each frame and sends commands, so it never
//! waits for the simulation and the simulation never waits for it. Must never: compute a
//! figure of the run itself (every number shown comes from the core).

// Screen geometry is f32 and colour channels u8: values are clamped to small ranges before
// they are cast, so nothing is truncated that a person could see.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

mod changes;
pub mod diagram;
mod editing;
pub mod editor;
pub mod export;
mod file_dialog;
mod files;
mod inspector;
pub mod layout;
mod lesson_panel;
mod menus;
pub mod palette;
mod panels;
pub mod plots;
mod properties;
pub mod record;
mod requests;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use eframe::egui::{self, Color32, RichText};

use crate::model::{self, Diagnostic, Model};
use crate::sim::SimTime;

use diagram::{Diagram, Target};
use files::{Watch, watch};
use worker::{Command, Snapshot, Worker};

/// The window's icon, 128 pixels square.
pub const APP_ICON: &[u8] = include_bytes!("../../assets/icon.png");

/// The model the app opens with when given no file.
pub const DEFAULT_MODEL: &str = include_str!("../../models/default.yaml");
const DEFAULT_MODEL_NAME: &str = "default.yaml (built in)";

/// Where the open model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Embedded,
    /// A new model drawn in the app, not saved yet; with the file Save writes it to
    /// (`archsim new FILE`).
    Sketch(Option<PathBuf>),
    File(PathBuf),
}

impl Source {
    fn label(&self) -> String {
        match self {
            Source::Embedded => DEFAULT_MODEL_NAME.to_string(),
            Source::Sketch(None) => "new sketch (unsaved)".to_string(),
            Source::Sketch(Some(p)) => format!("{} (new, unsaved)", p.display()),
            Source::File(p) => p.display().to_string(),
        }
    }

    fn path(&self) -> Option<&Path> {
        match self {
            Source::File(p) => Some(p),
            Source::Embedded | Source::Sketch(_) => None,
        }
    }

    /// The model's text. A file too large or not UTF-8 is refused with the same positioned
    /// error as on the command line.
    fn text(&self) -> Result<String, Vec<String>> {
        match self {
            Source::Embedded => Ok(DEFAULT_MODEL.to_string()),
            Source::Sketch(_) => Ok(palette::NEW_SKETCH.to_string()),
            Source::File(p) => model::read_text(p).map_err(|d| {
                let name = p.display().to_string();
                d.items.iter().map(|d| describe(&name, d)).collect()
            }),
        }
    }
}

fn describe(file: &str, d: &Diagnostic) -> String {
    let mut text = format!("{file}:{}:{}: {}", d.span.line, d.span.col, d.message);
    if let Some(h) = &d.hint {
        text.push_str(" — ");
        text.push_str(h);
    }
    text
}

/// `archsim open MODEL --screenshot FILE --at T`: run to T, save the window, exit.
#[derive(Debug, Clone)]
pub struct ScreenshotPlan {
    pub path: PathBuf,
    pub at: SimTime,
}

/// How the app was asked to start.
#[derive(Debug, Clone)]
pub struct Options {
    pub source: Source,
    pub screenshot: Option<ScreenshotPlan>,
    /// Start playing at once (the default for the desktop; tests start paused).
    pub play: bool,
    /// Run this many seconds of wall time, then print the frame rate and the CPU time per
    /// frame to standard error and close.
    pub frame_stats: Option<f64>,
    /// Where recovery files and the recent files live; `None` for the user's state
    /// directory (`$XDG_STATE_HOME/archsim`, or `~/.local/state/archsim`).
    pub state_dir: Option<PathBuf>,
    /// A lesson to open instead of a model (`archsim lesson FILE`).
    pub lesson: Option<crate::lesson::Lesson>,
    /// Open the Requests window at start (`archsim open --requests`).
    pub requests: bool,
    /// Record the window as a GIF, then exit (`archsim open --record`).
    pub record: Option<record::RecordPlan>,
}

/// Frames drawn and the CPU time they took, for `--frame-stats`.
#[derive(Debug, Default)]
struct FrameStats {
    seconds: f64,
    started: Option<f64>,
    frames: u64,
    cpu_s: f64,
    done: bool,
}

/// Opens the window and runs until it is closed.
///
/// # Errors
/// When no window can be created (no display, no OpenGL).
pub fn run(options: Options) -> Result<(), String> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([640.0, 400.0])
        .with_title("archsim")
        .with_app_id("archsim");
    // Drawn by scripts/icon.py; a PNG that does not decode leaves the desktop's default icon.
    if let Ok(icon) = eframe::icon_data::from_png_bytes(APP_ICON) {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    let native = eframe::NativeOptions {
        viewport,
        ..eframe::NativeOptions::default()
    };
    let outcome: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let shared = Arc::clone(&outcome);
    eframe::run_native(
        "archsim",
        native,
        Box::new(move |cc| Ok(Box::new(ArchsimApp::new(&cc.egui_ctx, options, shared)))),
    )
    .map_err(|e| format!("cannot open the window: {e}"))?;
    match outcome
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

pub struct ArchsimApp {
    /// The window's context, to wake the UI from the simulation thread.
    ctx: egui::Context,
    source: Source,
    worker: Option<Worker>,
    snapshot: Option<Arc<Snapshot>>,
    diagram: Option<Diagram>,
    diagram_generation: u64,
    selected: Option<Target>,
    context_target: Option<Target>,
    /// Errors of the model on disk; the last good model keeps running meanwhile.
    errors: Vec<String>,
    warnings: Vec<String>,
    watch: Option<Watch>,
    /// When a change on disk was noticed (egui time), to let a burst of writes settle.
    reload_at: Option<f64>,
    file_dialog: Option<file_dialog::FileDialog>,
    /// Recently opened or saved models, newest first.
    recent: Vec<PathBuf>,
    state_dir: Option<PathBuf>,
    /// The open model's text, its edits and their history.
    editor: Option<editor::Editor>,
    /// The text of the model the simulation runs (its last valid state).
    running_text: Option<String>,
    /// The reader's errors for the text in the editor, for the inspector's fields.
    error_items: Vec<Diagnostic>,
    /// What to select once the diagram is rebuilt after an edit.
    reselect: Option<Reselect>,
    /// The next diagram keeps this one's view and places (an edit, not another model).
    carry_view: bool,
    /// A delete waiting for confirmation: the component and what else would go.
    confirm_delete: Option<(String, Vec<String>)>,
    /// The inspector's field buffers and its rename field.
    fields: properties::Fields,
    /// The file changed on disk while the app held unsaved edits: its text, to reload or
    /// keep the app's.
    disk_conflict: Option<String>,
    /// The window title last set, to set it only on change.
    title: String,
    screenshot: Option<ScreenshotPlan>,
    recording: Option<record::Recording>,
    /// Frames drawn since the screenshot instant was reached.
    settled_frames: u32,
    screenshot_taken: Arc<AtomicBool>,
    screenshot_requested: bool,
    outcome: Arc<Mutex<Option<String>>>,
    /// The slider's value while it is being dragged (seconds).
    scrub: Option<f64>,
    status: Option<String>,
    /// The text this app last wrote to the model file, so that its own save does not
    /// reload (and restart) the run.
    written: Option<String>,
    /// What to do once the user has dealt with unsaved changes.
    pending: Option<Pending>,
    /// What waits for the Save as dialog that the unsaved-changes question opened.
    after_save: Option<Pending>,
    /// The user chose to discard unsaved changes and close.
    closing: bool,
    /// What was last written to the recovery file, to write only on change.
    recovered: Option<String>,
    /// A recovery file from an earlier session, offered for restoring: its path and the
    /// model text it keeps.
    recovery_offer: Option<(PathBuf, String)>,
    recovery_checked_at: f64,
    /// The model as read from its source; parameter what-ifs apply to a copy of it.
    base_model: Option<Arc<Model>>,
    /// Parameter what-ifs applied to the running model, as `path: value`.
    overrides: Vec<(String, model::scenario::Change)>,
    /// The inspector's parameter fields: component, replicas, workers, retry attempts.
    param_edit: Option<(usize, u32, u32, u32)>,
    frame_stats: Option<FrameStats>,
    /// The lesson being followed, if any: its panel replaces the palette.
    lesson: Option<lesson_panel::LessonView>,
    /// The Requests window: kept traces and the chosen one's waterfall.
    requests: requests::RequestsView,
}

/// A selection to restore by name, since an edit renumbers nodes and links.
#[derive(Debug, Clone)]
enum Reselect {
    Node(String),
    Edge(String, String),
}

/// An action held back by the unsaved-changes question.
#[derive(Debug, Clone)]
enum Pending {
    Open(Source),
    Close,
}

/// The window's title: the model, a mark when it has unsaved edits, and the program.
fn window_title(source: &Source, unsaved: bool) -> String {
    let name = match source {
        Source::File(p) => p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        other => other.label(),
    };
    let folder = source
        .path()
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| format!(" — {}", d.display()))
        .unwrap_or_default();
    format!(
        "{}{name}{folder} — archsim",
        if unsaved { "● " } else { "" }
    )
}

impl ArchsimApp {
    /// Builds the app; the simulation thread starts at once.
    #[must_use]
    pub fn new(ctx: &egui::Context, options: Options, outcome: Arc<Mutex<Option<String>>>) -> Self {
        ctx.set_visuals(egui::Visuals::dark());
        // Arrows, bullets and symbols the default font lacks, so that they never show as
        // boxes on a machine without system fonts.
        ctx.add_font(egui::epaint::text::FontInsert::new(
            "DejaVuSans-symbols",
            egui::FontData::from_static(include_bytes!(
                "../../assets/fonts/DejaVuSans-symbols.ttf"
            )),
            vec![
                egui::epaint::text::InsertFontFamily {
                    family: egui::FontFamily::Proportional,
                    priority: egui::epaint::text::FontPriority::Lowest,
                },
                egui::epaint::text::InsertFontFamily {
                    family: egui::FontFamily::Monospace,
                    priority: egui::epaint::text::FontPriority::Lowest,
                },
            ],
        ));
        let mut app = ArchsimApp {
            ctx: ctx.clone(),
            source: options.source.clone(),
            worker: None,
            snapshot: None,
            diagram: None,
            diagram_generation: 0,
            selected: None,
            context_target: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            watch: None,
            reload_at: None,
            file_dialog: None,
            recent: Vec::new(),
            state_dir: options.state_dir.clone().or_else(files::default_state_dir),
            editor: None,
            running_text: None,
            error_items: Vec::new(),
            reselect: None,
            carry_view: false,
            confirm_delete: None,
            fields: properties::Fields::default(),
            disk_conflict: None,
            title: String::new(),
            screenshot: options.screenshot.clone(),
            recording: options.record.clone().map(record::Recording::new),
            settled_frames: 0,
            screenshot_taken: Arc::new(AtomicBool::new(false)),
            screenshot_requested: false,
            outcome,
            scrub: None,
            status: None,
            written: None,
            pending: None,
            after_save: None,
            closing: false,
            recovered: None,
            recovery_offer: None,
            recovery_checked_at: f64::NEG_INFINITY,
            base_model: None,
            overrides: Vec::new(),
            param_edit: None,
            frame_stats: options.frame_stats.map(|seconds| FrameStats {
                seconds,
                ..FrameStats::default()
            }),
            lesson: None,
            requests: requests::RequestsView::opened(options.requests),
        };
        app.recent = files::read_recent(app.state_dir.as_deref());
        match options.lesson {
            Some(lesson) => {
                app.start_lesson(lesson);
                if app.screenshot.is_some() {
                    app.run_lesson_for_screenshot();
                }
            }
            None => app.open(ctx, options.source),
        }
        if let Some(w) = app.worker.as_ref().filter(|_| app.lesson.is_none()) {
            if let Some(plan) = &app.screenshot {
                w.send(Command::RunTo(plan.at));
            } else if options.play && app.recording.is_none() {
                w.send(Command::Play);
            }
        }
        app
    }

    /// Whether there is something the user would lose: edits of the model not saved, or
    /// live changes of the run.
    #[must_use]
    pub fn has_unsaved_changes(&self) -> bool {
        self.has_unsaved_edits()
            || self
                .snapshot
                .as_ref()
                .is_some_and(|s| !s.interventions.is_empty())
            || !self.overrides.is_empty()
    }

    /// Opens a model, asking first when there are unsaved changes.
    fn request_open(&mut self, ctx: &egui::Context, source: Source) {
        if self.has_unsaved_changes() {
            self.pending = Some(Pending::Open(source));
        } else {
            self.open(ctx, source);
        }
    }

    /// Opens a model: on success it replaces the running one; on failure the errors show
    /// and whatever ran before keeps running.
    fn open(&mut self, ctx: &egui::Context, source: Source) {
        let text = match source.text() {
            Ok(t) => t,
            Err(errors) => {
                self.errors = errors;
                return;
            }
        };
        self.recovery_offer =
            files::recovery_path(self.state_dir.as_deref(), &source).and_then(|p| {
                let kept = files::recovered_text(&std::fs::read_to_string(&p).ok()?);
                (!kept.is_empty() && kept != text).then_some((p, kept))
            });
        self.watch = source.path().and_then(|p| watch(p, ctx));
        if let Some(p) = source.path() {
            files::remember_recent(&mut self.recent, self.state_dir.as_deref(), p);
        }
        let saved = !matches!(source, Source::Sketch(_));
        self.editor = Some(editor::Editor::new(
            source.path().map(Path::to_path_buf),
            text,
            saved,
        ));
        self.source = source;
        self.lesson = None;
        self.disk_conflict = None;
        self.confirm_delete = None;
        self.fields = properties::Fields::default();
        self.after_text_change(true);
    }

    /// The simulated clock as the UI last saw it.
    #[must_use]
    pub fn now(&self) -> Option<SimTime> {
        self.snapshot.as_ref().map(|s| s.live.now)
    }

    /// The latest snapshot the UI drew from.
    #[must_use]
    pub fn snapshot(&self) -> Option<&Arc<Snapshot>> {
        self.snapshot.as_ref()
    }

    /// The status line: what the last edit did, or why it could not be made.
    #[must_use]
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    /// Errors shown in the error panel.
    #[must_use]
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// Sets how fast simulated time goes (what the speed menu does).
    pub fn set_speed(&self, speed: worker::Speed) {
        self.send(Command::Speed(speed));
    }

    /// Opens another model (what the Open dialog does).
    pub fn open_path(&mut self, ctx: &egui::Context, path: PathBuf) {
        self.open(ctx, Source::File(path));
    }

    /// The open model's text as the app holds it, edits included.
    #[must_use]
    pub fn model_text(&self) -> Option<&str> {
        self.editor.as_ref().map(editor::Editor::text)
    }

    fn send(&self, command: Command) {
        if let Some(w) = &self.worker {
            w.send(command);
        }
    }

    fn refresh(&mut self, time: f64) {
        let Some(w) = &self.worker else {
            return;
        };
        let snap = w.latest();
        if self
            .snapshot
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, &snap))
        {
            if let Some(d) = &mut self.diagram {
                d.observe(&snap.live, &snap.recent, time);
            }
            return;
        }
        if self.diagram.is_none() || self.diagram_generation != snap.model_generation {
            let mut d = Diagram::new(&snap.model, &snap.live);
            // After an edit, what was on screen stays there: the view, and the places of
            // nodes the model gives none.
            if let Some(old) = self.diagram.as_ref().filter(|_| self.carry_view) {
                let unplaced: Vec<(String, [f64; 2])> = old
                    .positions()
                    .into_iter()
                    .filter(|(name, _)| !snap.model.layout.iter().any(|(n, _)| n == name))
                    .collect();
                d.place(&unplaced);
                d.keep_view_of(old);
            }
            self.carry_view = false;
            self.diagram = Some(d);
            self.diagram_generation = snap.model_generation;
            if let (Some(again), Some(d)) = (self.reselect.take(), &self.diagram) {
                self.selected = match again {
                    Reselect::Node(name) => d.by_name.get(&name).map(|&n| Target::Node(n)),
                    Reselect::Edge(from, to) => snap
                        .live
                        .links
                        .iter()
                        .position(|l| l.from == from && l.to == to)
                        .map(Target::Edge),
                };
            }
        }
        if let Some(d) = &mut self.diagram {
            d.observe(&snap.live, &snap.recent, time);
        }
        self.snapshot = Some(snap);
    }

    fn screenshot_step(&mut self, ctx: &egui::Context) {
        let Some(plan) = self.screenshot.clone() else {
            return;
        };
        if self.screenshot_taken.load(Ordering::SeqCst) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        let reached = self
            .snapshot
            .as_ref()
            .is_some_and(|s| !s.playing && (s.live.now >= plan.at || s.live.now >= s.end));
        let failed = self.worker.is_none() && !self.errors.is_empty();
        if failed {
            *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(self.errors.join("\n"));
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if !reached {
            ctx.request_repaint();
            return;
        }
        // A few frames after arriving, so that dots and measured rates are on screen.
        self.settled_frames += 1;
        if self.settled_frames < 20 || self.screenshot_requested {
            ctx.request_repaint();
            return;
        }
        self.screenshot_requested = true;
        let done = Arc::clone(&self.screenshot_taken);
        let outcome = Arc::clone(&self.outcome);
        let ctx2 = ctx.clone();
        ctx.request_screenshot(move |image| {
            let [w, h] = image.size;
            let bytes: Vec<u8> = image.pixels.iter().flat_map(Color32::to_array).collect();
            let saved = u32::try_from(w)
                .ok()
                .zip(u32::try_from(h).ok())
                .and_then(|(w, h)| image::RgbaImage::from_raw(w, h, bytes))
                .ok_or_else(|| "the screenshot had an unexpected size".to_string())
                .and_then(|img| {
                    img.save(&plan.path)
                        .map_err(|e| format!("{}: {e}", plan.path.display()))
                });
            if let Err(e) = saved {
                *outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
            }
            done.store(true, Ordering::SeqCst);
            ctx2.request_repaint();
        });
    }
}

impl eframe::App for ArchsimApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let time = ui.input(|i| i.time);
        if let Some(stats) = &mut self.frame_stats
            && !stats.done
        {
            let started = *stats.started.get_or_insert(time);
            stats.frames += 1;
            stats.cpu_s += f64::from(frame.info().cpu_usage.unwrap_or(0.0));
            if time - started >= stats.seconds {
                stats.done = true;
                let span = time - started;
                eprintln!(
                    "frames: {} in {span:.1} s = {:.1} fps; CPU per frame (egui and the app, before the GPU or rasteriser): {:.2} ms",
                    stats.frames,
                    stats.frames as f64 / span,
                    stats.cpu_s / stats.frames as f64 * 1e3
                );
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
        self.poll_files(&ctx, time);
        self.refresh(time);
        self.shortcuts(&ctx);
        self.update_title(&ctx);

        if ui.input(|i| i.viewport().close_requested())
            && !self.closing
            && self.screenshot.is_none()
            && self.has_unsaved_changes()
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.pending = Some(Pending::Close);
        }
        if self.screenshot.is_none() && (time - self.recovery_checked_at).abs() >= 1.0 {
            self.recovery_checked_at = time;
            self.write_recovery(false);
        }
        egui::Panel::top("timeline").show(ui, |ui| {
            self.top_bar(ui);
            self.recovery_banner(ui);
            self.disk_conflict_banner(ui);
        });
        if !self.errors.is_empty() {
            egui::Panel::top("errors")
                .frame(
                    egui::Frame::default()
                        .fill(Color32::from_rgb(60, 20, 24))
                        .inner_margin(6.0),
                )
                .show(ui, |ui| self.error_panel(ui));
        }
        if let Some(why) = self.snapshot.as_ref().and_then(|s| s.error.clone()) {
            egui::Panel::top("stopped")
                .frame(
                    egui::Frame::default()
                        .fill(Color32::from_rgb(60, 20, 24))
                        .inner_margin(6.0),
                )
                .show(ui, |ui| {
                    ui.label(
                        RichText::new("The run stopped before its end. Change the model, or move back in time to look at it before this.")
                            .color(Color32::from_rgb(240, 120, 120))
                            .strong(),
                    );
                    ui.label(RichText::new(why).color(Color32::from_rgb(240, 170, 170)));
                });
        }
        if let Some(s) = self.snapshot.clone() {
            egui::Panel::bottom("plots")
                .resizable(true)
                .default_size(250.0)
                .show(ui, |ui| {
                    let selected = match &self.selected {
                        Some(Target::Node(n)) => self
                            .diagram
                            .as_ref()
                            .and_then(|d| d.nodes.get(*n))
                            .filter(|n| n.component.is_some())
                            .map(|n| n.name.clone()),
                        _ => None,
                    };
                    if let Some(at) = plots::show(ui, &s.report, selected.as_deref()) {
                        self.requests.show_near(SimTime::from_secs_f64(at.max(0.0)));
                    }
                });
            egui::Panel::right("inspector")
                .resizable(true)
                .default_size(330.0)
                .show(ui, |ui| self.inspector(ui));
        }
        if self.lesson.is_some() {
            egui::Panel::left("lesson")
                .resizable(true)
                .default_size(340.0)
                .show(ui, |ui| self.lesson_panel(ui));
        } else if self.snapshot.is_some() {
            egui::Panel::left("palette")
                .resizable(false)
                .default_size(120.0)
                .show(ui, |ui| self.palette(ui));
        }
        egui::CentralPanel::default().show(ui, |ui| {
            let (Some(snap), Some(diagram)) = (self.snapshot.clone(), self.diagram.as_mut()) else {
                ui.centered_and_justified(|ui| ui.label("No model is running. Open one (Ctrl+O)."));
                return;
            };
            let view = ui.max_rect();
            diagram.highlight = self
                .lesson
                .as_ref()
                .map(|v| v.lesson.steps[v.step].highlight.clone())
                .unwrap_or_default();
            diagram.highlight.extend(self.requests.hovered.clone());
            let response = diagram.show(ui, &snap.live, self.selected.as_ref(), time, snap.playing);
            if let Some(t) = response.clicked {
                self.selected = match t {
                    Target::Node(n) if n == usize::MAX => None,
                    t => Some(t),
                };
            }
            if let Some(t) = response.right_clicked {
                self.context_target = Some(t);
            }
            let menu_on = match &self.context_target {
                Some(Target::Node(n)) => response.node_responses.get(*n).cloned(),
                Some(Target::Edge(link)) => response
                    .edge_responses
                    .iter()
                    .find(|(l, r)| l == link && (r.secondary_clicked() || r.context_menu_opened()))
                    .map(|(_, r)| r.clone())
                    .or_else(|| response.background.clone()),
                None => None,
            };
            if let (Some(r), Some(target)) = (menu_on, self.context_target.clone()) {
                r.context_menu(|ui| self.context_menu(ui, &target));
            }
            if response.moved {
                self.keep_moved_nodes();
            }
            self.take_dropped_part(view);
            if let Some((from, to)) = response.connected {
                self.connect_nodes(from, to);
            }
            if let Some(d) = self.diagram.as_mut() {
                let fit = egui::Button::new("Fit");
                let at = ui.max_rect().right_top() + egui::vec2(-48.0, 8.0);
                if ui
                    .put(egui::Rect::from_min_size(at, egui::vec2(40.0, 22.0)), fit)
                    .clicked()
                {
                    d.fitted = true;
                }
            }
            if let Some(status) = &self.status {
                ui.label(status);
            }
        });
        self.file_dialog_window(&ctx);
        self.requests_window(&ctx);
        self.delete_dialog(&ctx);
        self.unsaved_dialog(&ctx);
        if self.diagram.as_ref().is_some_and(|d| !d.dots.is_empty())
            || self.snapshot.as_ref().is_some_and(|s| s.playing)
        {
            ctx.request_repaint();
        }
        self.screenshot_step(&ctx);
        self.record_step(&ctx);
    }
}

/// The faults on now that apply to a component (by target), or to the network (`None`).
fn active_on(snap: &Snapshot, target: Option<model::ComponentId>) -> Vec<usize> {
    snap.live
        .active_faults
        .iter()
        .copied()
        .filter(|&i| {
            snap.faults
                .get(i)
                .is_some_and(|f| f.target == target && target.is_some())
        })
        .collect()
}

/// Seconds as m:ss.mmm (or h:mm:ss for long runs).
fn clock(s: f64) -> String {
    let total_ms = (s * 1e3).round().max(0.0) as u64;
    let (h, rest) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (sec, ms) = (rest / 1000, rest % 1000);
    if h > 0 {
        format!("{h}:{m:02}:{sec:02}")
    } else {
        format!("{m}:{sec:02}.{ms:03}")
    }
}
