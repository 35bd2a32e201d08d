//! The architecture as a picture without the GUI: clients and components laid out in
//! layers (the app's layout), an arrow per call; for the HTML review and `archsim diagram`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::chart::{Unit, escape};
use super::review::trim;
use crate::model::layout::{LAYER_GAP, ROW_GAP, layered};
use crate::model::{Arrivals, ComponentKind, Model, Policy, Step};
use crate::observe::Report;
use crate::sim::{LiveComponent, LiveState};

/// The architecture as SVG: clients and components laid out in layers, an arrow per call.
#[must_use]
pub fn diagram_svg(model: &Model, report: &Report) -> String {
    draw(model, report, None)
}

/// The architecture at one instant of a run, as a self-contained SVG file: each component
/// with its health (replicas up, a fault slowing, pausing or failing it), how busy it is
/// and its queue; links cut by a network fault dashed red.
#[must_use]
pub fn live_diagram_svg(model: &Model, report: &Report, live: &LiveState) -> String {
    draw(model, report, Some(live))
}

const DOWN: &str = "#c62828";
const DEGRADED: &str = "#ef6c00";

/// What the live state adds to a component's box: its border colour and width, a tag
/// (`down`, `2/3 up`, `slowed`), its busy share and its queue.
fn live_marks(c: &LiveComponent) -> (&'static str, f64, String, f64, u32) {
    let mut tags = Vec::new();
    let (stroke, width) = if c.replicas > 0 && c.replicas_up == 0 {
        tags.push("down".to_owned());
        (DOWN, 2.5)
    } else if c.replicas_up < c.replicas {
        tags.push(format!("{}/{} up", c.replicas_up, c.replicas));
        (DEGRADED, 2.5)
    } else if c.slow || c.paused || c.failing {
        ("#f9a825", 2.5)
    } else {
        ("#888888", 1.0)
    };
    for (on, what) in [
        (c.slow, "slowed"),
        (c.paused, "paused"),
        (c.failing, "failing"),
    ] {
        if on {
            tags.push(what.to_owned());
        }
    }
    let busy = if c.capacity > 0 {
        (f64::from(c.busy) / f64::from(c.capacity)).min(1.0)
    } else {
        0.0
    };
    (stroke, width, tags.join(", "), busy, c.queued)
}

fn busy_colour(busy: f64) -> &'static str {
    if busy >= 0.95 {
        DOWN
    } else if busy >= 0.8 {
        DEGRADED
    } else {
        "#43a047"
    }
}

fn draw(model: &Model, report: &Report, live: Option<&LiveState>) -> String {
    const BOX_W: f64 = 168.0;
    const BOX_H: f64 = 62.0;
    const MARGIN: f64 = 20.0;
    // A standalone picture of an instant says which instant, above the boxes.
    let top = if live.is_some() { 30.0 } else { 0.0 };
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
                MARGIN + top + f64::from(p[1]) * scale_y,
            )
        })
        .collect();
    let title = live.map(|l| {
        format!(
            "{} at {}",
            model.name.as_deref().unwrap_or("model"),
            crate::observe::explain::clock(l.now)
        )
    });
    // Wide enough for the title too, at about 8 pixels a character of 15-pixel text.
    let title_width = title
        .as_ref()
        .map_or(0.0, |t| 2.0 * MARGIN + 8.0 * t.chars().count() as f64);
    let width = (at.iter().map(|p| p.0).fold(0.0, f64::max) + BOX_W + MARGIN).max(title_width);
    let height = at.iter().map(|p| p.1).fold(0.0, f64::max) + BOX_H + MARGIN;
    let standalone = if live.is_some() {
        "xmlns=\"http://www.w3.org/2000/svg\" "
    } else {
        ""
    };
    let mut out = format!(
        "<svg {standalone}width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         style=\"max-width: 100%; height: auto\" font-family=\"Helvetica, Arial, sans-serif\" \
         font-size=\"12\" role=\"img\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" \
         fill=\"#777777\"/></marker></defs>\n"
    );
    if let Some(title) = &title {
        let _ = writeln!(
            out,
            "<rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\
             <text x=\"{MARGIN}\" y=\"{:.1}\" font-size=\"15\" font-weight=\"bold\">{}</text>",
            MARGIN + 8.0,
            escape(title)
        );
    }
    let name_of = |i: usize| {
        if i < clients {
            model.workloads[i].name.as_str()
        } else {
            model.components[i - clients].name.as_str()
        }
    };
    for &(a, b) in &edges {
        let cut = live.is_some_and(|l| {
            l.links
                .iter()
                .any(|k| k.cut && k.from == name_of(a) && k.to == name_of(b))
        });
        let stroke = if cut {
            "stroke=\"#c62828\" stroke-dasharray=\"6 4\""
        } else {
            "stroke=\"#999999\""
        };
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
             fill=\"none\" {stroke} stroke-width=\"1.4\" marker-end=\"url(#arrow)\"/>"
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
        let marks = live
            .filter(|_| i >= clients)
            .and_then(|l| l.components.get(i - clients))
            .map(live_marks);
        let (fill, stroke, stroke_width, detail) = match &marks {
            Some((stroke, w, tags, busy, queued)) => {
                let mut now = format!("{:.0}% busy · q {queued}", busy * 100.0);
                if !tags.is_empty() {
                    now = format!("{tags} · {now}");
                }
                let fill = if *stroke == DOWN { "#fde0e0" } else { fill };
                (fill, *stroke, *w, now)
            }
            None => (fill, "#888888", 1.0, detail),
        };
        let _ = write!(
            out,
            "<g class=\"node\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"8\" \
             fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{stroke_width}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\" font-size=\"13\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444444\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#666666\" font-size=\"11\">{}</text>",
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
        if let Some((_, _, _, busy, _)) = marks {
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"4\" fill=\"#dddddd\"/>\
                 <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"4\" fill=\"{}\"/>",
                x + 10.0,
                y + BOX_H - 7.0,
                BOX_W - 20.0,
                x + 10.0,
                y + BOX_H - 7.0,
                (BOX_W - 20.0) * busy,
                busy_colour(busy)
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}
