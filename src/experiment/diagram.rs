//! The architecture as a picture without the GUI: clients and components laid out in
//! layers (the app's layout), an arrow per call; for the HTML review and `archsim diagram`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::chart::{Unit, escape};
use super::review::trim;
use crate::model::layout::{LAYER_GAP, ROW_GAP, layered};
use crate::model::{Arrivals, ComponentKind, Model, Policy, Step};
use crate::observe::Report;

/// The architecture as SVG: clients and components laid out in layers, an arrow per call.
#[must_use]
pub fn diagram_svg(model: &Model, report: &Report) -> String {
    const BOX_W: f64 = 168.0;
    const BOX_H: f64 = 62.0;
    const MARGIN: f64 = 20.0;
    let clients = model.workloads.len();
    let n = clients + model.components.len();
    let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
    for (i, w) in model.workloads.iter().enumerate() {
        edges.insert((i, clients + w.target.0 as usize));
    }
    for (i, c) in model.components.iter().enumerate() {
        let from = clients + i;
        match &c.kind {
            ComponentKind::LoadBalancer(lb) => {
                for b in &lb.backends {
                    edges.insert((from, clients + b.0 as usize));
                }
            }
            ComponentKind::Service(s) => {
                for h in &s.handlers {
                    for step in &h.steps {
                        let calls = match step {
                            Step::Call(c) => std::slice::from_ref(c),
                            Step::Parallel(cs) => cs.as_slice(),
                        };
                        for call in calls {
                            edges.insert((from, clients + call.to.0 as usize));
                        }
                    }
                }
            }
            ComponentKind::External(_) => {}
        }
    }
    let edges: Vec<(usize, usize)> = edges.into_iter().collect();
    let positions = layered(n, &edges);
    let scale_x = (BOX_W + 70.0) / f64::from(LAYER_GAP);
    let scale_y = (BOX_H + 26.0) / f64::from(ROW_GAP);
    let at: Vec<(f64, f64)> = positions
        .iter()
        .map(|p| {
            (
                MARGIN + f64::from(p[0]) * scale_x,
                MARGIN + f64::from(p[1]) * scale_y,
            )
        })
        .collect();
    let width = at.iter().map(|p| p.0).fold(0.0, f64::max) + BOX_W + MARGIN;
    let height = at.iter().map(|p| p.1).fold(0.0, f64::max) + BOX_H + MARGIN;
    let mut out = format!(
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         style=\"max-width: 100%; height: auto\" font-family=\"Helvetica, Arial, sans-serif\" \
         font-size=\"12\" role=\"img\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" \
         fill=\"#777777\"/></marker></defs>\n"
    );
    for &(a, b) in &edges {
        let (ax, ay) = at[a];
        let (bx, by) = at[b];
        let (x1, y1, x2, y2) = if bx > ax {
            (ax + BOX_W, ay + BOX_H / 2.0, bx, by + BOX_H / 2.0)
        } else {
            // A call within a layer (rare): from the bottom of one box to the top of the other.
            (ax + BOX_W / 2.0, ay + BOX_H, bx + BOX_W / 2.0, by)
        };
        let mid = f64::midpoint(x1, x2);
        let _ = writeln!(
            out,
            "<path class=\"edge\" d=\"M {x1:.1} {y1:.1} C {mid:.1} {y1:.1}, {mid:.1} {y2:.1}, {x2:.1} {y2:.1}\" \
             fill=\"none\" stroke=\"#999999\" stroke-width=\"1.4\" marker-end=\"url(#arrow)\"/>"
        );
    }
    for (i, &(x, y)) in at.iter().enumerate() {
        let (name, kind, detail, fill) = if i < clients {
            let w = &model.workloads[i];
            let load = match &w.arrivals {
                Arrivals::Open { steps } => steps
                    .first()
                    .map_or(String::new(), |(_, r)| format!("{}/s", trim(*r))),
                Arrivals::Closed { users, .. } => format!("{users} users"),
            };
            (w.name.as_str(), "client".to_string(), load, "#e8f0fe")
        } else {
            let c = &model.components[i - clients];
            let figures = report.components.get(&c.name);
            match &c.kind {
                ComponentKind::Service(s) => (
                    c.name.as_str(),
                    format!("service · {}×{} workers", s.replicas, s.workers),
                    figures
                        .and_then(|f| f.utilization)
                        .map_or(String::new(), |u| {
                            format!("utilisation {}", Unit::Fraction.format(u))
                        }),
                    "#e9f5ea",
                ),
                ComponentKind::LoadBalancer(lb) => (
                    c.name.as_str(),
                    "load balancer".to_string(),
                    match lb.policy {
                        Policy::RoundRobin => "round robin",
                        Policy::Random => "random",
                        Policy::LeastConnections => "least connections",
                        Policy::PowerOfTwo => "power of two choices",
                    }
                    .to_string(),
                    "#fff4e0",
                ),
                ComponentKind::External(_) => (
                    c.name.as_str(),
                    "external".to_string(),
                    figures
                        .and_then(|f| f.response_s.mean)
                        .map_or(String::new(), |m| {
                            format!("mean {}", Unit::Seconds.format(m))
                        }),
                    "#f3e8f7",
                ),
            }
        };
        let _ = writeln!(
            out,
            "<g class=\"node\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"8\" \
             fill=\"{fill}\" stroke=\"#888888\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\" font-size=\"13\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444444\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#666666\" font-size=\"11\">{}</text></g>",
            x + BOX_W / 2.0,
            y + 19.0,
            escape(name),
            x + BOX_W / 2.0,
            y + 36.0,
            escape(&kind),
            x + BOX_W / 2.0,
            y + 52.0,
            escape(&detail)
        );
    }
    out.push_str("</svg>\n");
    out
}
