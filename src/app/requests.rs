//! The Requests window: the kept request traces of the run so far (the failed ones, the
//! slowest, or all), and the chosen one's waterfall with the chain of reasons for its
//! outcome. Hovering a span haloes its component in the diagram.

use eframe::egui::{self, Align2, Color32, FontId, RichText, Sense, Stroke};

use crate::observe::explain::{clock, explain, took};
use crate::observe::trace::{NoteKind, Segment, Span, Trace, outcome_label};
use crate::sim::SimTime;

use super::ArchsimApp;
use super::worker::Snapshot;

/// Rows the list shows at most: the newest of those kept.
const MAX_ROWS: usize = 500;
const ROW: f32 = 18.0;
const NAME_WIDTH: f32 = 190.0;
const END_WIDTH: f32 = 140.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Filter {
    #[default]
    Failed,
    Slowest,
    All,
}

#[derive(Default)]
pub(super) struct RequestsView {
    pub(super) open: bool,
    filter: Filter,
    /// The trace shown, by its request's serial.
    selected: Option<u64>,
    /// The user picked it: until then the newest listed is shown, as the run goes.
    picked: bool,
    /// The component under the pointer in the waterfall, haloed in the diagram.
    pub(super) hovered: Option<String>,
    /// Show the kept request that started nearest this instant (a click on a plot).
    near: Option<SimTime>,
}

impl RequestsView {
    pub(super) fn opened(open: bool) -> Self {
        RequestsView {
            open,
            ..RequestsView::default()
        }
    }

    /// Opens the window on the request kept nearest `at`.
    pub(super) fn show_near(&mut self, at: SimTime) {
        self.open = true;
        self.filter = Filter::All;
        self.near = Some(at);
    }
}

fn segment_color(s: Segment) -> Color32 {
    match s {
        Segment::Network => Color32::from_rgb(140, 140, 150),
        Segment::Queue => Color32::from_rgb(235, 170, 40),
        Segment::Work => Color32::from_rgb(90, 160, 255),
        Segment::Calls => Color32::from_rgb(55, 75, 105),
    }
}

fn note_color(kind: NoteKind) -> Color32 {
    match kind {
        NoteKind::TimedOut { .. } | NoteKind::Crashed => Color32::from_rgb(240, 80, 80),
        NoteKind::RetryScheduled { .. } | NoteKind::Hedged { .. } => {
            Color32::from_rgb(245, 200, 80)
        }
        NoteKind::ShortCircuited { .. } | NoteKind::BulkheadFull { .. } => {
            Color32::from_rgb(200, 120, 240)
        }
        NoteKind::FellBack { .. } | NoteKind::CacheHit | NoteKind::CacheMiss => {
            Color32::from_rgb(110, 220, 140)
        }
    }
}

fn outcome_color(t: &Trace) -> Color32 {
    match t.outcome {
        Ok(crate::observe::Answer::Full) => Color32::from_rgb(110, 220, 140),
        Ok(crate::observe::Answer::Degraded) => Color32::from_rgb(235, 170, 40),
        Err(_) => Color32::from_rgb(240, 110, 110),
    }
}

impl ArchsimApp {
    pub(super) fn requests_window(&mut self, ctx: &egui::Context) {
        let Some(snap) = self.snapshot.clone() else {
            return;
        };
        let mut open = self.requests.open;
        if !open {
            self.requests.hovered = None;
            return;
        }
        let view = &mut self.requests;
        view.hovered = None;
        egui::Window::new("Requests")
            .open(&mut open)
            .resizable(true)
            .default_size([980.0, 420.0])
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut view.filter, Filter::Failed, "Failed");
                    ui.selectable_value(&mut view.filter, Filter::Slowest, "Slowest");
                    ui.selectable_value(&mut view.filter, Filter::All, "All kept");
                    ui.separator();
                    ui.label(
                        RichText::new(format!(
                            "{} requests traced so far: one in a hundred, the failed ones of each cause, and the slowest of each type",
                            snap.traces.len()
                        ))
                        .weak(),
                    );
                });
                ui.separator();
                let listed = listed(&snap, view.filter);
                if let Some(at) = view.near.take() {
                    view.selected = listed
                        .iter()
                        .min_by_key(|t| (t.start.max(at) - t.start.min(at), t.serial))
                        .map(|t| t.serial);
                    view.picked = true;
                }
                if !view.picked {
                    view.selected = listed.first().map(|t| t.serial);
                }
                ui.horizontal_top(|ui| {
                    ui.vertical(|ui| {
                        ui.set_width(290.0);
                        let names = &snap.model.request_types;
                        if list(ui, &listed, names, &mut view.selected) {
                            view.picked = true;
                        }
                    });
                    ui.separator();
                    ui.vertical(|ui| {
                        let shown = view
                            .selected
                            .and_then(|s| snap.traces.iter().find(|t| t.serial == s));
                        match shown {
                            Some(t) => view.hovered = details(ui, &snap, t),
                            None if listed.is_empty() => {
                                ui.label(match view.filter {
                                    Filter::Failed => "No request has failed so far.",
                                    _ => "No request has ended so far.",
                                });
                            }
                            None => {
                                ui.label("That request's trace is no longer kept: pick another.");
                            }
                        }
                    });
                });
            });
        self.requests.open = open;
    }
}

/// The traces the list shows for a filter: newest first, or slowest first.
fn listed(snap: &Snapshot, filter: Filter) -> Vec<&Trace> {
    let mut listed: Vec<&Trace> = snap
        .traces
        .iter()
        .map(AsRef::as_ref)
        .filter(|t| filter != Filter::Failed || t.outcome.is_err())
        .collect();
    match filter {
        Filter::Slowest => listed.sort_by_key(|t| (std::cmp::Reverse(t.latency()), t.serial)),
        Filter::Failed | Filter::All => listed.reverse(),
    }
    listed.truncate(MAX_ROWS);
    listed
}

/// Returns whether the user picked a row.
fn list(
    ui: &mut egui::Ui,
    listed: &[&Trace],
    names: &[String],
    selected: &mut Option<u64>,
) -> bool {
    let mut picked = false;
    ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
    egui::ScrollArea::vertical()
        .id_salt("request-list")
        .auto_shrink([false, false])
        .show_rows(ui, ROW, listed.len(), |ui, rows| {
            for t in &listed[rows] {
                let text = RichText::new(format!(
                    "{}  {:<8} {:<10} {}",
                    clock(t.start),
                    names[t.request_type as usize],
                    outcome_label(t.outcome),
                    took(t.latency())
                ))
                .monospace()
                .color(outcome_color(t));
                if ui
                    .selectable_label(*selected == Some(t.serial), text)
                    .clicked()
                {
                    *selected = Some(t.serial);
                    picked = true;
                }
            }
        });
    picked
}

/// The heading, the explanation and the waterfall of one trace; returns the component of
/// the span under the pointer.
fn details(ui: &mut egui::Ui, snap: &Snapshot, t: &Trace) -> Option<String> {
    let m = &snap.model;
    ui.label(
        RichText::new(format!(
            "{} #{} · {} · started {} · {} after {}",
            m.request_types[t.request_type as usize],
            t.serial,
            m.workloads[t.workload as usize].name,
            clock(t.start),
            outcome_label(t.outcome),
            took(t.latency())
        ))
        .strong()
        .color(outcome_color(t)),
    );
    for (i, line) in explain(t, m, Some(&snap.report.series), &snap.faults)
        .iter()
        .enumerate()
    {
        let text = RichText::new(line);
        ui.label(if i == 0 { text.strong() } else { text });
    }
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        for (s, label) in [
            (Segment::Network, "network"),
            (Segment::Queue, "queue wait"),
            (Segment::Work, "work"),
            (Segment::Calls, "waiting for calls"),
        ] {
            let (r, _) = ui.allocate_exact_size(egui::vec2(12.0, 10.0), Sense::hover());
            ui.painter().rect_filled(r, 1.0, segment_color(s));
            ui.label(RichText::new(label).small());
        }
    });
    let mut hovered = None;
    egui::ScrollArea::vertical()
        .id_salt("waterfall")
        .auto_shrink([false, true])
        .show(ui, |ui| {
            let names = t.span_labels(m);
            let width = ui.available_width().max(NAME_WIDTH + END_WIDTH + 100.0);
            let bars = width - NAME_WIDTH - END_WIDTH;
            let total = t.latency().as_secs_f64().max(1e-9);
            for (i, s) in t.spans.iter().enumerate() {
                let (row, response) =
                    ui.allocate_exact_size(egui::vec2(width, ROW), Sense::hover());
                let painter = ui.painter_at(row);
                let x_of = |at: SimTime| {
                    let off = (at - t.start).as_secs_f64() / total;
                    row.left() + NAME_WIDTH + bars * off.clamp(0.0, 1.0) as f32
                };
                if response.hovered() {
                    painter.rect_filled(row, 0.0, ui.visuals().faint_bg_color);
                }
                painter.text(
                    row.left_center() + egui::vec2(4.0, 0.0),
                    Align2::LEFT_CENTER,
                    &names[i],
                    FontId::proportional(13.0),
                    ui.visuals().text_color(),
                );
                let until = s.until(t.end);
                for (from, to, segment) in s.segments(until) {
                    let left = x_of(from);
                    let right = x_of(to).max(left + 1.0);
                    let bar = egui::Rect::from_min_max(
                        egui::pos2(left, row.top() + 4.0),
                        egui::pos2(right, row.bottom() - 4.0),
                    );
                    painter.rect_filled(bar, 1.0, segment_color(segment));
                }
                for n in &s.notes {
                    let at = x_of(n.at);
                    painter.line_segment(
                        [
                            egui::pos2(at, row.top() + 1.0),
                            egui::pos2(at, row.bottom() - 1.0),
                        ],
                        Stroke::new(2.0, note_color(n.kind)),
                    );
                }
                painter.text(
                    row.right_center() - egui::vec2(4.0, 0.0),
                    Align2::RIGHT_CENTER,
                    format!("{} {}", took(until - s.sent), s.end.label()),
                    FontId::proportional(12.0),
                    ui.visuals().weak_text_color(),
                );
                if response.hovered() {
                    hovered = Some(m.components[s.component as usize].name.clone());
                }
                response.on_hover_text(span_details(t, s, m));
            }
            if t.spans_dropped > 0 {
                ui.label(format!("({} more spans not kept)", t.spans_dropped));
            }
        });
    hovered
}

/// A span's instants and notes, for its tooltip.
fn span_details(t: &Trace, s: &Span, m: &crate::model::Model) -> String {
    let at = |x: SimTime| format!("+{}", took(x - t.start));
    let mut lines = vec![format!(
        "{} · {} · attempt {}{}",
        m.components[s.component as usize].name,
        m.request_types[s.request_type as usize],
        s.attempt,
        if s.hedge { " (hedged copy)" } else { "" }
    )];
    let until = s.until(t.end);
    for (from, to, segment) in s.segments(until) {
        let what = match segment {
            Segment::Network => "network",
            Segment::Queue => "queue wait",
            Segment::Work => "work",
            Segment::Calls => "waiting for calls",
        };
        lines.push(format!("{} {what}: {}", at(from), took(to - from)));
    }
    for n in &s.notes {
        lines.push(format!("{} {}", at(n.at), n.kind.describe(m)));
    }
    lines.push(format!("ended: {}", s.end.label()));
    lines.join("\n")
}
