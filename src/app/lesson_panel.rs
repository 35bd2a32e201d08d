//! The lesson panel: a lesson's narrative, its question (answered before the run goes on),
//! the run played to the step's pause point, the checks turning green or red as the run
//! shows them, and back, next or a choice of branches. Progress (the step reached and the
//! answers given) is kept between sessions in the state directory.
//!
//! The panel only sends commands (load a step's model, pause at its instant, play) and
//! judges the snapshot's report with the same checks `archsim lesson check` uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui::{self, Color32, RichText};
use serde::{Deserialize, Serialize};

use super::ArchsimApp;
use super::worker::{Command, Snapshot};
use crate::lesson::{self, Lesson, Next, Verdict};
use crate::observe::Report;

const RIGHT: Color32 = Color32::from_rgb(110, 200, 120);
const WRONG: Color32 = Color32::from_rgb(235, 110, 110);
const PENDING: Color32 = Color32::from_rgb(150, 150, 150);

/// A lesson in progress.
pub struct LessonView {
    pub lesson: Lesson,
    pub step: usize,
    /// The choice picked for this step's question, once answered.
    pub answer: Option<usize>,
    /// Steps visited, so that Back retraces the learner's own path through branches.
    trail: Vec<usize>,
    /// The step's model is loaded and its run under way.
    started: bool,
    /// Verdicts and the report they were judged on, so that a frame without a new
    /// snapshot does not judge again.
    verdicts: Option<(Arc<Report>, Vec<Verdict>)>,
}

/// What is kept of a lesson between sessions.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    pub step: String,
    /// Answers given, by step id.
    pub answers: BTreeMap<String, usize>,
}

fn progress_file(state_dir: &Path) -> PathBuf {
    state_dir.join("lessons.json")
}

/// Every lesson's progress, by lesson file.
fn read_all(state_dir: Option<&Path>) -> BTreeMap<String, Progress> {
    state_dir
        .and_then(|d| std::fs::read_to_string(progress_file(d)).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn key(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

impl LessonView {
    /// Opens a lesson where the learner left it.
    #[must_use]
    pub fn new(lesson: Lesson, state_dir: Option<&Path>) -> Self {
        let kept = read_all(state_dir).remove(&key(&lesson.path));
        let step = kept
            .as_ref()
            .and_then(|p| lesson.step_index(&p.step))
            .unwrap_or(0);
        let answer = kept.as_ref().and_then(|p| {
            p.answers.get(&lesson.steps[step].id).copied().filter(|&a| {
                lesson.steps[step]
                    .question
                    .as_ref()
                    .is_some_and(|q| a < q.choices.len())
            })
        });
        LessonView {
            lesson,
            step,
            answer,
            trail: Vec::new(),
            started: false,
            verdicts: None,
        }
    }

    fn save(&self, state_dir: Option<&Path>) {
        let Some(dir) = state_dir else { return };
        let mut all = read_all(Some(dir));
        let entry = all.entry(key(&self.lesson.path)).or_default();
        entry.step.clone_from(&self.lesson.steps[self.step].id);
        if let Some(a) = self.answer {
            entry.answers.insert(entry.step.clone(), a);
        }
        if std::fs::create_dir_all(dir).is_ok()
            && let Ok(text) = serde_json::to_string_pretty(&all)
        {
            let _ = super::editor::write_atomic(&progress_file(dir), &text);
        }
    }

    /// The run may go on: the question (if any) is answered.
    #[must_use]
    pub fn may_run(&self) -> bool {
        self.lesson.steps[self.step].question.is_none() || self.answer.is_some()
    }

    fn go_to(&mut self, to: usize, state_dir: Option<&Path>, forward: bool) {
        if forward {
            self.trail.push(self.step);
        }
        self.step = to;
        self.answer = read_all(state_dir)
            .get(&key(&self.lesson.path))
            .and_then(|p| p.answers.get(&self.lesson.steps[to].id).copied());
        self.started = false;
        self.verdicts = None;
        self.save(state_dir);
    }

    fn verdicts(&mut self, snap: &Snapshot) -> Vec<Verdict> {
        let s = &self.lesson.steps[self.step];
        if let Some((judged, v)) = &self.verdicts
            && Arc::ptr_eq(judged, &snap.report)
        {
            return v.clone();
        }
        let v = lesson::judge_all(&s.checks, &snap.report, snap.live.now, s.pause);
        self.verdicts = Some((Arc::clone(&snap.report), v.clone()));
        v
    }
}

impl ArchsimApp {
    /// Starts a lesson (`archsim lesson FILE`, or one picked from the list).
    pub fn start_lesson(&mut self, lesson: Lesson) {
        let view = LessonView::new(lesson, self.state_dir.as_deref());
        self.lesson = Some(view);
        self.load_lesson_step(false);
    }

    /// `archsim lesson FILE --screenshot`: the step played to its pause point at once, so
    /// that the picture shows its checks judged.
    pub(super) fn run_lesson_for_screenshot(&mut self) {
        let Some(view) = &self.lesson else { return };
        let pause = view.lesson.steps[view.step].pause;
        if let Some(plan) = &mut self.screenshot {
            plan.at = pause;
        }
        if view.may_run() {
            self.load_lesson_step(true);
            self.send(Command::Speed(super::worker::Speed::Max));
        }
    }

    /// A lesson picked in the Open dialog. Edits not saved are never dropped for it: the
    /// learner is asked to save or undo them first.
    pub(super) fn open_lesson_file(&mut self, path: &Path) {
        if self.has_unsaved_changes() {
            self.status = Some(
                "Save or undo your changes first: a lesson replaces the model on screen".into(),
            );
            return;
        }
        match lesson::load(path) {
            Ok(l) => self.start_lesson(l),
            Err(e) => {
                self.errors = e.to_string().lines().map(str::to_string).collect();
            }
        }
    }

    /// The lesson shown, if one is open.
    #[must_use]
    pub fn lesson(&self) -> Option<&LessonView> {
        self.lesson.as_ref()
    }

    /// Loads the current step's model, or keeps the run going when the step shares the
    /// running model (a step that only moves the pause point on). With `play`, plays to the
    /// step's pause point.
    fn load_lesson_step(&mut self, play: bool) {
        let Some(view) = &mut self.lesson else { return };
        let step = &view.lesson.steps[view.step];
        let model = Arc::clone(&step.model);
        let pause = step.pause;
        let same = self
            .snapshot
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(&s.model, &model) && s.live.now <= pause);
        view.started = play;
        view.verdicts = None;
        self.editor = None;
        self.watch = None;
        self.running_text = None;
        self.errors.clear();
        self.selected = None;
        if !same {
            // A step of a few simulated minutes is watched in under half a minute at first;
            // a speed the learner chose carries over to the next step's run.
            let speed = self
                .snapshot
                .as_ref()
                .map_or(super::worker::Speed::Times(20.0), |s| s.speed);
            self.base_model = Some(Arc::clone(&model));
            self.overrides.clear();
            if let Some(w) = &self.worker {
                w.send(Command::Load(model));
            } else {
                let ctx = self.ctx.clone();
                self.worker = Some(super::worker::Worker::start(
                    model,
                    Box::new(move || ctx.request_repaint()),
                ));
            }
            self.send(Command::Speed(speed));
        }
        if play {
            self.send(Command::PauseAt(Some(pause)));
            self.send(Command::Play);
        }
    }

    /// The lesson panel, at the window's left.
    pub(super) fn lesson_panel(&mut self, ui: &mut egui::Ui) {
        let Some(mut view) = self.lesson.take() else {
            return;
        };
        let state_dir = self.state_dir.clone();
        let mut action: Option<Step> = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            let l = &view.lesson;
            let s = &l.steps[view.step];
            ui.label(RichText::new(&l.title).small().color(PENDING));
            ui.heading(&s.title);
            ui.label(
                RichText::new(format!("step {} of {}", view.step + 1, l.steps.len()))
                    .small()
                    .color(PENDING),
            );
            ui.add_space(4.0);
            markdown(ui, &s.text);
            if let Some(q) = &s.question {
                ui.separator();
                ui.label(RichText::new(&q.ask).strong());
                for (i, c) in q.choices.iter().enumerate() {
                    match view.answer {
                        None => {
                            if ui.button(&c.answer).clicked() {
                                action = Some(Step::Answer(i));
                            }
                        }
                        Some(a) => {
                            let mark = if c.right { "✓" } else { "✗" };
                            let colour = if c.right { RIGHT } else { WRONG };
                            let text = RichText::new(format!("{mark} {}", c.answer)).color(colour);
                            ui.label(if a == i { text.strong() } else { text });
                            ui.label(RichText::new(&c.why).small());
                        }
                    }
                }
            }
            ui.separator();
            let now = self.snapshot.as_ref().map(|s| s.live.now);
            let paused = now.is_some_and(|t| t >= s.pause);
            ui.horizontal(|ui| {
                let label = format!("Run to {}", s.pause);
                if ui
                    .add_enabled(view.may_run() && !paused, egui::Button::new(label))
                    .on_disabled_hover_text(if paused {
                        "the run has reached this step's pause point"
                    } else {
                        "answer the question first"
                    })
                    .clicked()
                {
                    action = Some(Step::Run);
                }
                if ui.button("Restart step").clicked() {
                    action = Some(Step::Restart);
                }
            });
            if !s.checks.is_empty() {
                ui.label(RichText::new("What the run should show").strong());
                let verdicts = match self.snapshot.clone() {
                    Some(snap) if view.started => view.verdicts(&snap),
                    _ => vec![Verdict::NotYet; s.checks.len()],
                };
                let s = &view.lesson.steps[view.step];
                for (c, v) in s.checks.iter().zip(&verdicts) {
                    let (mark, colour) = match v {
                        Verdict::Holds { .. } => ("✓", RIGHT),
                        Verdict::Fails { .. } | Verdict::Missing(_) => ("✗", WRONG),
                        Verdict::NotYet => ("…", PENDING),
                    };
                    ui.label(RichText::new(format!("{mark} {}", c.says)).color(colour))
                        .on_hover_text(&c.text);
                }
            }
            ui.separator();
            let s = &view.lesson.steps[view.step];
            ui.horizontal_wrapped(|ui| {
                if ui
                    .add_enabled(
                        !view.trail.is_empty() || view.step > 0,
                        egui::Button::new("← Back"),
                    )
                    .clicked()
                {
                    action = Some(Step::Back);
                }
                match &s.next {
                    Next::Step(Some(to)) => {
                        if ui
                            .add_enabled(view.may_run(), egui::Button::new("Next →"))
                            .clicked()
                        {
                            action = Some(Step::Go(*to));
                        }
                    }
                    Next::Step(None) => {
                        ui.label(RichText::new("The end of the lesson.").color(PENDING));
                    }
                    Next::Branches(_) => {}
                }
            });
            if let Next::Branches(branches) = &s.next {
                ui.label(RichText::new("What would you do next?").strong());
                for b in branches {
                    if ui
                        .add_enabled(view.may_run(), egui::Button::new(&b.choice).wrap())
                        .clicked()
                    {
                        action = Some(Step::Go(b.to));
                    }
                }
            }
        });
        match action {
            Some(Step::Answer(i)) => {
                view.answer = Some(i);
                view.save(state_dir.as_deref());
            }
            Some(Step::Go(to)) => view.go_to(to, state_dir.as_deref(), true),
            Some(Step::Back) => {
                let to = view.trail.pop().unwrap_or(view.step.saturating_sub(1));
                view.go_to(to, state_dir.as_deref(), false);
            }
            Some(Step::Run | Step::Restart) | None => {}
        }
        let reload = matches!(action, Some(Step::Go(_) | Step::Back | Step::Restart));
        let run = matches!(action, Some(Step::Run));
        self.lesson = Some(view);
        if matches!(action, Some(Step::Restart)) {
            // Start over on the step's model even when it is the one running.
            if let (Some(w), Some(v)) = (&self.worker, &self.lesson) {
                let speed = self.snapshot.as_ref().map(|s| s.speed);
                w.send(Command::Load(Arc::clone(&v.lesson.steps[v.step].model)));
                if let Some(speed) = speed {
                    w.send(Command::Speed(speed));
                }
            }
        }
        if reload {
            self.load_lesson_step(false);
        }
        if run {
            self.load_lesson_step(true);
        }
    }
}

enum Step {
    Answer(usize),
    Run,
    Restart,
    Go(usize),
    Back,
}

/// A step's text: paragraphs, with `**strong**` and `*emphasis*` shown as such. (Lists,
/// links and code are shown as written.)
fn markdown(ui: &mut egui::Ui, text: &str) {
    for paragraph in text.split("\n\n") {
        let joined = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        if joined.is_empty() {
            continue;
        }
        let mut job = egui::text::LayoutJob::default();
        let style = ui.style();
        let body = egui::TextStyle::Body.resolve(style);
        let colour = style.visuals.text_color();
        let strong = style.visuals.strong_text_color();
        for (i, part) in joined.split("**").enumerate() {
            for (j, piece) in part.split('*').enumerate() {
                let format = egui::TextFormat {
                    font_id: body.clone(),
                    color: if i % 2 == 1 { strong } else { colour },
                    italics: j % 2 == 1,
                    ..Default::default()
                };
                job.append(piece, 0.0, format);
            }
        }
        job.wrap.max_width = ui.available_width();
        ui.label(job);
        ui.add_space(4.0);
    }
}
