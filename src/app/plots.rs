//! Plots of the run over simulated time, drawn from the report's series: the same figures,
//! bucket for bucket, that `archsim run --json` prints for the same seed.

use eframe::egui::{self, Color32};
use egui_plot::{Corner, Legend, Line, Plot, PlotPoints, VLine};

use crate::observe::Report;

/// Lines in the queue plot when no component is selected.
const MAX_QUEUE_LINES: usize = 6;

/// Which component's queue and utilisation the third plot shows (`None`: every service).
/// Returns the instant (seconds) where the latency plot was clicked: the app shows the
/// request traced nearest it.
pub fn show(ui: &mut egui::Ui, report: &Report, component: Option<&str>) -> Option<f64> {
    let series = &report.series;
    let t = &series.t_s;
    // Plot each bucket at its middle, so a value sits over the span it measured.
    let mid = |k: usize| t[k] + series.bucket_s / 2.0;
    let points = |values: &[f64]| -> PlotPoints<'static> {
        values
            .iter()
            .enumerate()
            .map(|(k, v)| [mid(k), *v])
            .collect()
    };
    let some_points = |values: &[Option<f64>], scale: f64| -> PlotPoints<'static> {
        values
            .iter()
            .enumerate()
            .filter_map(|(k, v)| v.map(|v| [mid(k), v * scale]))
            .collect()
    };
    let markers: Vec<(f64, bool)> = report
        .events
        .iter()
        .filter(|e| e.kind == "fault" || e.kind == "recovery")
        .map(|e| (e.t_s, e.kind == "fault"))
        .collect();
    let add_markers = |plot_ui: &mut egui_plot::PlotUi<'_>| {
        for (at, fault) in &markers {
            // Unnamed, so the markers stay out of the legend.
            let (name, color) = if *fault {
                ("", Color32::from_rgb(220, 60, 60))
            } else {
                ("", Color32::from_rgb(70, 180, 110))
            };
            plot_ui.vline(VLine::new(name, *at).color(color).width(1.0));
        }
    };
    let link = ui.make_persistent_id("run-plots");
    let height = ui.available_height().max(80.0);
    let width = (ui.available_width() / 3.0 - 8.0).max(120.0);
    let mut clicked = None;
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.label("Requests per second");
            Plot::new("throughput")
                .height(height - 22.0)
                .legend(
                    Legend::default()
                        .position(Corner::LeftTop)
                        .background_alpha(0.6),
                )
                .link_axis(link, [true, false])
                .include_y(0.0)
                .show(ui, |plot_ui| {
                    plot_ui.line(
                        Line::new("answered", points(&series.throughput_per_s))
                            .color(Color32::from_rgb(110, 220, 140)),
                    );
                    for (cause, values) in &series.failed_by_cause {
                        plot_ui.line(Line::new(format!("failed: {cause}"), points(values)));
                    }
                    add_markers(plot_ui);
                });
        });
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.label("Latency (ms): click for a request traced then");
            let latency = Plot::new("latency")
                .height(height - 22.0)
                .legend(
                    Legend::default()
                        .position(Corner::LeftTop)
                        .background_alpha(0.6),
                )
                .link_axis(link, [true, false])
                .include_y(0.0)
                .show(ui, |plot_ui| {
                    plot_ui.line(
                        Line::new("p50", some_points(&series.latency_p50_s, 1e3))
                            .color(Color32::from_rgb(120, 200, 255)),
                    );
                    plot_ui.line(
                        Line::new("p99", some_points(&series.latency_p99_s, 1e3))
                            .color(Color32::from_rgb(245, 180, 50)),
                    );
                    add_markers(plot_ui);
                    plot_ui.pointer_coordinate().map(|p| p.x)
                });
            if latency.response.clicked() {
                clicked = latency.inner;
            }
        });
        ui.vertical(|ui| {
            ui.set_width(width);
            let title = component.map_or_else(
                || format!("Queues and backlogs (the {MAX_QUEUE_LINES} longest)"),
                |c| format!("{c}: queue, utilisation and hit ratio (%), replica lag (s)"),
            );
            ui.label(title);
            // The longest queues only: a plot of two hundred lines shows nothing (and costs
            // more than the rest of the frame).
            let mut shown: Vec<(&String, &crate::observe::report::ComponentSeries)> = series
                .components
                .iter()
                .filter(|(name, s)| {
                    component.is_none_or(|c| c == name.as_str())
                        && (s.queue_mean.iter().any(Option::is_some)
                            || s.backlog.is_some()
                            || s.hit_ratio.is_some())
                })
                .collect();
            // A broker's backlog counts as its queue.
            let peak = |s: &crate::observe::report::ComponentSeries| {
                let backlog = s.backlog.iter().flatten().map(|b| *b as f64);
                s.queue_mean
                    .iter()
                    .flatten()
                    .copied()
                    .chain(backlog)
                    .fold(0.0_f64, f64::max)
            };
            shown.sort_by(|a, b| peak(b.1).total_cmp(&peak(a.1)).then(a.0.cmp(b.0)));
            shown.truncate(MAX_QUEUE_LINES);
            Plot::new("queues")
                .height(height - 22.0)
                .legend(
                    Legend::default()
                        .position(Corner::LeftTop)
                        .background_alpha(0.6),
                )
                .link_axis(link, [true, false])
                .include_y(0.0)
                .show(ui, |plot_ui| {
                    for (name, s) in &shown {
                        if let Some(backlog) = &s.backlog {
                            let values: Vec<f64> = backlog.iter().map(|b| *b as f64).collect();
                            plot_ui.line(Line::new(format!("{name} backlog"), points(&values)));
                        } else if s.queue_mean.iter().any(Option::is_some) {
                            plot_ui.line(Line::new(
                                format!("{name} queue"),
                                some_points(&s.queue_mean, 1.0),
                            ));
                        }
                        if let (Some(hits), Some(_)) = (&s.hit_ratio, component) {
                            plot_ui.line(Line::new(
                                format!("{name} hit ratio %"),
                                some_points(hits, 100.0),
                            ));
                        }
                        if component.is_some() {
                            plot_ui.line(Line::new(
                                format!("{name} utilisation %"),
                                some_points(&s.utilization, 100.0),
                            ));
                        }
                        if let (Some(lags), Some(_)) = (&s.replica_lag_s, component) {
                            for (node, lag) in lags {
                                if lag.iter().any(|&l| l > 0.0) {
                                    plot_ui.line(Line::new(format!("{node} lag (s)"), points(lag)));
                                }
                            }
                        }
                    }
                    add_markers(plot_ui);
                });
        });
    });
    clicked
}
