//! Line charts as SVG text, for the sweep's plot and the HTML review.
//!
//! Hand-written SVG keeps the pictures free of any font, script or stylesheet from outside
//! the file, and keeps the dependency list short: a chart here is axes, a few polylines,
//! optional error bars and vertical markers. Must never: refer to anything outside the
//! picture.

use std::fmt::Write as _;

/// One line of a chart: points `(x, y, half-width of y's interval)`; a missing `y` breaks
/// the line.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, Option<f64>, Option<f64>)>,
}

/// A vertical marker at `x` (a fault starting, say), with a short label.
#[derive(Debug, Clone)]
pub struct Marker {
    pub x: f64,
    pub label: String,
    /// A CSS colour.
    pub colour: String,
}

/// Beyond this many markers a chart draws only their lines, and leaves the labels (which
/// would overlap) to a hover title and the event list beside it.
const MAX_MARKER_LABELS: usize = 8;

/// How the numbers on an axis are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Plain numbers.
    Plain,
    /// Seconds, shown as milliseconds.
    Seconds,
    /// A fraction, shown as a percentage.
    Fraction,
}

impl Unit {
    /// The unit a figure's name implies: `_s` seconds, `availability` a fraction.
    #[must_use]
    pub fn of_figure(name: &str) -> Unit {
        if name.ends_with("_s") {
            Unit::Seconds
        } else if name.ends_with("availability") || name.ends_with("utilization") {
            Unit::Fraction
        } else {
            Unit::Plain
        }
    }

    #[must_use]
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Plain => trim(v),
            Unit::Seconds => format!("{}ms", trim(v * 1e3)),
            Unit::Fraction => format!("{}%", trim(v * 100.0)),
        }
    }
}

fn trim(v: f64) -> String {
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else if v.abs() >= 1.0 {
        2
    } else {
        3
    };
    let t = format!("{v:.digits$}");
    if t.contains('.') {
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        t
    }
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub x_unit: Unit,
    pub y_unit: Unit,
    /// Labels of the x values when they are names rather than numbers; the points' x are
    /// then the labels' indices.
    pub x_names: Option<Vec<String>>,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
}

/// Line colours, distinct for the colour-blind (Okabe–Ito).
pub const PALETTE: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442",
];

/// About three to six round ticks covering `lo..hi`.
#[must_use]
pub fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let mut out = Vec::new();
    let mut t = (lo / step).ceil() * step;
    // A bound on the count guards against a step lost in rounding.
    while t <= hi + step * 1e-9 && out.len() < 20 {
        out.push(t);
        t += step;
    }
    out
}

#[must_use]
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Chart {
    /// The chart as an `<svg>` element of `width` × `height` at (`x`, `y`) of its parent (a
    /// nested `<svg>` is a valid child of another, and of an HTML page).
    #[must_use]
    pub fn to_svg(&self, x: f64, y: f64, width: f64, height: f64) -> String {
        let mut out = String::new();
        let (left, right, top, bottom) = (64.0, 16.0, 30.0, 64.0);
        let (pw, ph) = (width - left - right, height - top - bottom);
        let _ = writeln!(
            out,
            "<svg x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
             font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">"
        );
        let _ = writeln!(
            out,
            "<text x=\"{left}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{}</text>",
            escape(&self.title)
        );
        let xs: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .chain(self.markers.iter().map(|m| m.x))
            .collect();
        let ys: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| {
                s.points
                    .iter()
                    .filter_map(|p| p.1.map(|y| y + p.2.unwrap_or(0.0)))
            })
            .collect();
        let (mut x0, mut x1) = bounds(&xs);
        if let Some(names) = &self.x_names {
            x0 = -0.5;
            x1 = names.len() as f64 - 0.5;
        } else if x1 <= x0 {
            x0 -= 1.0;
            x1 += 1.0;
        }
        let (y_lo, y_hi) = bounds(&ys);
        // Figures here are rates, times and fractions: zero is the honest bottom.
        let y0 = y_lo.min(0.0);
        let mut y1 = if y_hi > y0 { y_hi * 1.05 } else { y0 + 1.0 };
        if self.y_unit == Unit::Fraction && y_hi <= 1.0 && y_hi > 0.9 {
            y1 = 1.0;
        }
        let sx = |v: f64| left + (v - x0) / (x1 - x0) * pw;
        let sy = |v: f64| top + ph - (v - y0) / (y1 - y0) * ph;
        let _ = writeln!(
            out,
            "<rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"#fbfbfb\" stroke=\"#bbbbbb\"/>"
        );
        for t in ticks(y0, y1) {
            let yy = sy(t);
            let _ = writeln!(
                out,
                "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e4e4e4\"/>\
                 <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#444444\">{}</text>",
                left + pw,
                left - 4.0,
                yy + 4.0,
                escape(&self.y_unit.format(t))
            );
        }
        let x_ticks: Vec<(f64, String)> = match &self.x_names {
            Some(names) => names
                .iter()
                .enumerate()
                .map(|(i, n)| (i as f64, n.clone()))
                .collect(),
            None => ticks(x0, x1)
                .into_iter()
                .map(|t| (t, self.x_unit.format(t)))
                .collect(),
        };
        for (t, label) in &x_ticks {
            let xx = sx(*t);
            let _ = writeln!(
                out,
                "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#999999\"/>\
                 <text x=\"{xx:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444444\">{}</text>",
                top + ph,
                top + ph + 4.0,
                top + ph + 16.0,
                escape(label)
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#222222\">{}</text>",
            left + pw / 2.0,
            top + ph + 32.0,
            escape(&self.x_label)
        );
        let labelled = self.markers.len() <= MAX_MARKER_LABELS;
        // Labels go on top of every line, drawn after the series.
        let mut labels = String::new();
        for (i, m) in self.markers.iter().enumerate() {
            let xx = sx(m.x);
            let colour = escape(&m.colour);
            let _ = writeln!(
                out,
                "<line class=\"marker\" x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{top}\" y2=\"{}\" stroke=\"{colour}\" stroke-dasharray=\"4 3\"><title>{}</title></line>",
                top + ph,
                escape(&m.label)
            );
            if labelled {
                // Labels step down so that markers close together stay readable.
                let _ = writeln!(
                    labels,
                    "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{colour}\" font-size=\"10\" \
                     stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
                    xx + 3.0,
                    top + 11.0 + 11.0 * (i % 4) as f64,
                    escape(&m.label)
                );
            }
        }
        for (i, s) in self.series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for &(px, py, hw) in &s.points {
                match py {
                    Some(v) => {
                        if let Some(r) = runs.last_mut() {
                            r.push((sx(px), sy(v)));
                        }
                        if let Some(h) = hw.filter(|h| *h > 0.0) {
                            let _ = writeln!(
                                out,
                                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"{colour}\"/>",
                                sx(px),
                                sy(v - h),
                                sy(v + h)
                            );
                        }
                    }
                    None => runs.push(Vec::new()),
                }
            }
            for run in runs.iter().filter(|r| !r.is_empty()) {
                let points: Vec<String> =
                    run.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
                let _ = writeln!(
                    out,
                    "<polyline class=\"series\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\" points=\"{}\"/>",
                    points.join(" ")
                );
                if s.points.len() <= 40 {
                    for (a, b) in run {
                        let _ = writeln!(
                            out,
                            "<circle cx=\"{a:.1}\" cy=\"{b:.1}\" r=\"2.5\" fill=\"{colour}\"/>"
                        );
                    }
                }
            }
        }
        out.push_str(&labels);
        // The legend under the axis title, wrapping when it is wide.
        let (mut lx, mut ly) = (left, top + ph + 50.0);
        for (i, s) in self.series.iter().enumerate() {
            if s.label.is_empty() {
                continue;
            }
            let w = 24.0 + 6.5 * s.label.chars().count() as f64;
            if lx + w > width && lx > left {
                lx = left;
                ly += 14.0;
            }
            let colour = PALETTE[i % PALETTE.len()];
            let _ = writeln!(
                out,
                "<line x1=\"{lx}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{colour}\" stroke-width=\"2\"/>\
                 <text x=\"{}\" y=\"{ly}\" fill=\"#222222\">{}</text>",
                lx + 14.0,
                ly - 4.0,
                ly - 4.0,
                lx + 18.0,
                escape(&s.label)
            );
            lx += w;
        }
        out.push_str("</svg>\n");
        out
    }
}

fn bounds(values: &[f64]) -> (f64, f64) {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        let shown = |lo, hi| -> Vec<String> {
            ticks(lo, hi)
                .iter()
                .map(|t| Unit::Plain.format(*t))
                .collect()
        };
        assert_eq!(shown(0.0, 1.0), ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
        assert_eq!(
            shown(0.0, 0.05),
            ["0", "0.01", "0.02", "0.03", "0.04", "0.05"]
        );
        assert_eq!(shown(3.0, 97.0), ["20", "40", "60", "80"]);
    }

    #[test]
    fn units_follow_the_figure_name() {
        assert_eq!(Unit::of_figure("p99_s").format(0.0125), "12.5ms");
        assert_eq!(Unit::of_figure("availability").format(0.995), "99.5%");
        assert_eq!(Unit::of_figure("failed").format(3.0), "3");
    }
}
