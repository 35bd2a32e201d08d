//! The CPU side of drawing one frame of the live diagram: building its shapes with egui's
//! painter and tessellating them into triangles, with no GPU (a real GPU then only
//! rasterises), for 200 nodes and 5,000 travelling dots (`benches/diagram_200.yaml`).
//!
//! Run by hand: `cargo bench --bench frame`. Figures go to docs/PERFORMANCE.md.

#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use archsim::app::diagram::{DOT_TRAVEL_S, Diagram, Dot};
use archsim::model;
use archsim::observe::recent::RecentWindow;
use archsim::sim::{MessageKind, RunOptions, SimTime, Simulation};
use criterion::{Criterion, criterion_group, criterion_main};
use eframe::egui;

fn frame(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/diagram_200.yaml");
    let (m, _) = model::load_file(&path).expect("benches/diagram_200.yaml is valid");
    let model = Arc::new(m);
    let mut sim = Simulation::new(Arc::clone(&model), RunOptions::default());
    let mut recent = RecentWindow::new(SimTime::from_secs(2));
    for k in 1..=40 {
        sim.run_until(SimTime::from_millis(k * 250));
        recent.sample(sim.now(), sim.counters());
    }
    let live = sim.live();
    let mut diagram = Diagram::new(&model, &live);
    assert_eq!(diagram.nodes.len(), 200, "the model should have 200 nodes");
    let time = 100.0;
    diagram.observe(&live, &recent.figures(), time);
    let links: Vec<usize> = diagram.edges.iter().map(|e| e.link).collect();
    let kinds = [
        MessageKind::Request,
        MessageKind::Answer,
        MessageKind::Retry,
        MessageKind::Failure,
    ];
    diagram.dots = (0..5000)
        .map(|k| Dot {
            link: links[k % links.len()],
            kind: kinds[k % 4],
            lost: k % 97 == 0,
            born: time - DOT_TRAVEL_S * (k as f64 / 5000.0),
        })
        .collect();
    let ctx = egui::Context::default();
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1600.0, 1000.0),
        )),
        time: Some(time),
        ..egui::RawInput::default()
    };
    let draw = |diagram: &mut Diagram| {
        let output = ctx.run_ui(input(), |ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                diagram.show(ui, &live, None, time, true);
            });
        });
        let primitives = ctx.tessellate(output.shapes, output.pixels_per_point);
        black_box(primitives.len())
    };
    // Fonts and layout caches warm up on the first frames, as in the app.
    for _ in 0..3 {
        draw(&mut diagram);
    }
    c.bench_function("frame/diagram_200_nodes_5000_dots", |b| {
        b.iter(|| draw(&mut diagram));
    });
    diagram.dots.clear();
    c.bench_function("frame/diagram_200_nodes_no_dots", |b| {
        b.iter(|| draw(&mut diagram));
    });
}

criterion_group!(benches, frame);
criterion_main!(benches);
