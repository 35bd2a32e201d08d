//! The window's panels around the diagram: the top bar (timeline, speed, files), the panel
//! of a model's errors, the inspector on the right with the run's changes, and the event
//! log. They read the latest snapshot and send commands; the run is the worker's.

use eframe::egui::{self, Color32, RichText};

use super::diagram::{self, Target};
use super::file_dialog;
use super::inspector::{inspect_edge, inspect_node, legend};
use super::worker::{Command, Snapshot, Speed};
use super::{ArchsimApp, clock};
use crate::sim::SimTime;

/// The speeds offered, in simulated seconds per second.
const SPEEDS: [(Speed, &str); 8] = [
    (Speed::Times(0.1), "0.1×"),
    (Speed::Times(0.25), "0.25×"),
    (Speed::Times(1.0), "1×"),
    (Speed::Times(5.0), "5×"),
    (Speed::Times(20.0), "20×"),
    (Speed::Times(100.0), "100×"),
    (Speed::Times(1000.0), "1000×"),
    (Speed::Max, "max"),
];

impl ArchsimApp {
    pub(super) fn top_bar(&mut self, ui: &mut egui::Ui) {
        let Some(snap) = self.snapshot.clone() else {
            ui.horizontal(|ui| {
                ui.label("No model is running.");
                if ui.button("Open…").clicked() {
                    self.show_file_dialog(file_dialog::Mode::Open);
                }
            });
            return;
        };
        ui.horizontal(|ui| {
            if snap.playing {
                if ui.button("Pause").clicked() {
                    self.send(Command::Pause);
                }
            } else if ui.button("Play").clicked() {
                self.send(Command::Play);
            }
            if ui
                .button("Step")
                .on_hover_text("Process one event")
                .clicked()
            {
                self.send(Command::Step);
            }
            let current = SPEEDS
                .iter()
                .find(|(s, _)| *s == snap.speed)
                .map_or("?", |(_, l)| l);
            egui::ComboBox::from_label("speed")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (speed, label) in SPEEDS {
                        if ui.selectable_label(snap.speed == speed, label).clicked() {
                            self.send(Command::Speed(speed));
                        }
                    }
                });
            ui.separator();
            let now = snap.live.now.as_secs_f64();
            let end = snap.end.as_secs_f64();
            ui.label(RichText::new(format!("t = {} / {}", clock(now), clock(end))).monospace());
            let mut value = self.scrub.unwrap_or(now);
            let slider = ui.add(
                egui::Slider::new(&mut value, 0.0..=end)
                    .text("time")
                    .show_value(false)
                    .trailing_fill(true),
            );
            if slider.dragged() {
                self.scrub = Some(value);
            }
            if slider.drag_stopped() || (slider.changed() && !slider.dragged()) {
                self.scrub = None;
                self.send(Command::Seek(SimTime::from_secs_f64(value)));
            }
            ui.separator();
            ui.label(format!("seed {}", snap.seed));
            ui.label(format!("{} events", snap.live.events));
            if snap.playing {
                ui.label(format!("×{}", diagram::short(snap.sim_rate)));
            }
            if ui
                .button("Requests")
                .on_hover_text(
                    "Traces of single requests: where their time went and why they failed",
                )
                .clicked()
            {
                self.requests.open = !self.requests.open;
            }
            ui.separator();
            self.file_buttons(ui);
            let source = match &self.lesson {
                Some(v) => format!("lesson step: {}", v.lesson.steps[v.step].model_source),
                None => self.source.label(),
            };
            ui.label(RichText::new(source).weak());
            if !self.warnings.is_empty() {
                ui.label(
                    RichText::new(format!("{} warning(s)", self.warnings.len()))
                        .color(Color32::from_rgb(235, 170, 40)),
                )
                .on_hover_text(self.warnings.join("\n"));
            }
        });
    }

    pub(super) fn error_panel(&self, ui: &mut egui::Ui) {
        ui.label(
            RichText::new(if self.snapshot.is_some() {
                "The model on disk has errors; the last good model keeps running. Fix the file and save: it reloads by itself."
            } else {
                "The model has errors. Fix the file and save: it reloads by itself."
            })
            .color(Color32::from_rgb(240, 120, 120))
            .strong(),
        );
        for e in &self.errors {
            ui.label(
                RichText::new(e)
                    .monospace()
                    .color(Color32::from_rgb(240, 170, 170)),
            );
        }
    }

    pub(super) fn inspector(&mut self, ui: &mut egui::Ui) {
        let Some(snap) = self.snapshot.clone() else {
            return;
        };
        // Held outside `self` while the inspector may change parameters.
        let Some(held) = self.diagram.take() else {
            return;
        };
        let diagram = &held;
        // With nothing selected there is no property editor below: the overview may use
        // the room it would take.
        let share = if self.selected.is_some() { 0.4 } else { 0.7 };
        egui::ScrollArea::vertical()
            .id_salt("inspector")
            .max_height(ui.available_height() * share)
            .show(ui, |ui| match self.selected.clone() {
                Some(Target::Node(n)) if n < diagram.nodes.len() => {
                    inspect_node(ui, diagram, n, &snap);
                    if let Some(c) = diagram.nodes[n].component {
                        self.parameters(ui, c, &snap);
                    }
                }
                Some(Target::Edge(link)) => inspect_edge(ui, diagram, link, &snap),
                _ => {
                    ui.heading(snap.model.name.clone().unwrap_or_else(|| "Model".into()));
                    ui.label(
                        "Click a component or a link to inspect it; right-click it to break it.",
                    );
                    ui.add_space(6.0);
                    legend(ui);
                    let r = &snap.report;
                    ui.add_space(6.0);
                    ui.label(RichText::new("So far (after warm-up)").strong());
                    egui::Grid::new("totals").striped(true).show(ui, |ui| {
                        for (label, v) in [
                            ("requests", r.totals.generated),
                            ("ok", r.totals.ok),
                            ("ok, degraded", r.totals.ok_degraded),
                            ("failed", r.totals.failed),
                            ("in flight", r.totals.in_flight),
                        ] {
                            ui.label(label);
                            ui.label(v.to_string());
                            ui.end_row();
                        }
                    });
                }
            });
        self.diagram = Some(held);
        if self.selected.is_some() {
            ui.separator();
            egui::ScrollArea::vertical()
                .id_salt("properties")
                .max_height(ui.available_height() * 0.6)
                .show(ui, |ui| self.property_editor(ui));
        }
        ui.separator();
        self.changes(ui, &snap);
        ui.separator();
        self.event_log(ui, &snap);
    }

    pub(super) fn event_log(&self, ui: &mut egui::Ui, snap: &Snapshot) {
        ui.label(RichText::new("Event log").strong());
        egui::ScrollArea::vertical()
            .id_salt("events")
            .stick_to_bottom(true)
            .show(ui, |ui| {
                if snap.report.events.is_empty() {
                    ui.label(
                        RichText::new(
                            "Faults, recoveries, breaker trips and failovers appear here.",
                        )
                        .weak(),
                    );
                }
                for e in &snap.report.events {
                    let color = match e.kind.as_str() {
                        "fault" => Color32::from_rgb(240, 120, 120),
                        "recovery" => Color32::from_rgb(120, 210, 150),
                        "breaker" => Color32::from_rgb(240, 190, 90),
                        _ => ui.visuals().text_color(),
                    };
                    let text =
                        RichText::new(format!("{}  {}", clock(e.t_s), e.message)).color(color);
                    if ui
                        .add(egui::Label::new(text).sense(egui::Sense::click()))
                        .on_hover_text("Jump to this instant")
                        .clicked()
                    {
                        self.send(Command::Seek(SimTime::from_secs_f64(e.t_s)));
                    }
                }
            });
    }
}
