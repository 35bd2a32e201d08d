//! Painting one node: its box, health border, icon, utilisation ring, queue bar and replica
//! dots, and the colours the diagram shares with the plots and the inspector. Reads the
//! diagram and the live state; must never change either.

use std::fmt::Write as _;

use eframe::egui::{
    self, Align2, Color32, CornerRadius, FontId, Pos2, Rect, Shape, Stroke, StrokeKind, Vec2,
};

use crate::sim::{LiveState, MessageKind};

use super::{Diagram, Health, NodeKind};

impl Diagram {
    #[expect(
        clippy::many_single_char_names,
        reason = "r, z and c (rect, zoom, component) recur on every line of the drawing"
    )]
    pub(super) fn paint_node(
        &self,
        painter: &egui::Painter,
        r: Rect,
        node: usize,
        live: &LiveState,
        selected: bool,
    ) {
        let n = &self.nodes[node];
        let z = self.zoom;
        let health = self.health(node, live);
        if self.highlight.contains(&n.name) {
            painter.rect_stroke(
                r.expand(6.0 * z),
                CornerRadius::same((12.0 * z) as u8),
                Stroke::new(3.0 * z.max(0.6), Color32::from_rgb(120, 190, 255)),
                StrokeKind::Outside,
            );
        }
        let visuals_bg = Color32::from_rgb(38, 42, 50);
        painter.rect(
            r,
            CornerRadius::same((8.0 * z) as u8),
            visuals_bg,
            Stroke::new(
                if selected { 3.5 } else { 2.0 } * z.max(0.6),
                health.color(),
            ),
            StrokeKind::Inside,
        );
        // The icon in a circle, ringed by utilisation.
        let centre = Pos2::new(r.left() + 26.0 * z, r.center().y);
        let ring = 19.0 * z;
        painter.circle_filled(centre, ring, Color32::from_rgb(52, 58, 68));
        let util = self.node_measured[node].utilization.clamp(0.0, 1.0) as f32;
        // Only services have workers to be busy; a balancer or an outside dependency has no
        // utilisation to show.
        if matches!(n.kind, NodeKind::Service | NodeKind::Database) && util > 0.002 {
            let steps = 24;
            let end = util * std::f32::consts::TAU;
            let points: Vec<Pos2> = (0..=steps)
                .map(|k| {
                    let a = -std::f32::consts::FRAC_PI_2 + end * k as f32 / steps as f32;
                    centre + Vec2::angled(a) * ring
                })
                .collect();
            painter.add(Shape::line(
                points,
                Stroke::new(4.0 * z, utilization_color(util)),
            ));
        }
        paint_icon(painter, n.kind, centre, 9.0 * z, Color32::from_gray(225));
        let text_left = r.left() + 52.0 * z;
        painter.text(
            Pos2::new(text_left, r.top() + 8.0 * z),
            Align2::LEFT_TOP,
            &n.name,
            FontId::proportional(15.0 * z),
            Color32::WHITE,
        );
        let Some(c) = n.component else {
            let rate: f64 = self
                .edges
                .iter()
                .filter(|e| e.from == node)
                .map(|e| self.link_measured[e.link].rate)
                .sum();
            painter.text(
                Pos2::new(text_left, r.top() + 28.0 * z),
                Align2::LEFT_TOP,
                format!("{} /s", short(rate)),
                FontId::proportional(12.0 * z),
                Color32::from_gray(190),
            );
            return;
        };
        let Some(lc) = live.components.get(c) else {
            return;
        };
        // Replica dots: green up, red down; a database's replicas turn amber while they lag
        // a second or more, and its primary is ringed.
        let shown = lc.replica_up.len().min(10);
        for (k, up) in lc.replica_up.iter().take(shown).enumerate() {
            let p = Pos2::new(
                text_left + 4.0 * z + k as f32 * 11.0 * z,
                r.top() + 34.0 * z,
            );
            let lagging = lc.replica_lag_s.get(k).is_some_and(|&lag| lag >= 1.0);
            let color = if !*up {
                Health::Down.color()
            } else if lagging {
                Health::Degraded.color()
            } else {
                Health::Ok.color()
            };
            painter.circle_filled(p, 4.0 * z, color);
            if lc.primary == Some(u32::try_from(k).unwrap_or(u32::MAX)) {
                painter.circle_stroke(p, 5.5 * z, Stroke::new(1.2 * z, Color32::WHITE));
            }
        }
        let mut status = String::new();
        let worst_lag = lc
            .replica_lag_s
            .iter()
            .zip(&lc.replica_up)
            .filter(|(_, up)| **up)
            .map(|(lag, _)| *lag)
            .fold(0.0_f64, f64::max);
        if worst_lag >= 0.1 {
            let _ = write!(status, "lag {worst_lag:.1}s ");
        }
        if lc.replica_up.len() > shown {
            let _ = write!(status, "+{} ", lc.replica_up.len() - shown);
        }
        for (on, what) in [
            (lc.slow, "slow"),
            (lc.paused, "paused"),
            (lc.failing, "failing"),
        ] {
            if on {
                status.push_str(what);
                status.push(' ');
            }
        }
        if !status.is_empty() {
            painter.text(
                Pos2::new(
                    text_left + shown as f32 * 11.0 * z + 2.0 * z,
                    r.top() + 28.0 * z,
                ),
                Align2::LEFT_TOP,
                status.trim_end(),
                FontId::proportional(11.0 * z),
                Health::Degraded.color(),
            );
        }
        // Queue depth: a bar that fills against the queue's limit (or four times the
        // workers when the queue is unbounded), with the count beside it.
        let limit = self.queue_limits.get(c).copied().unwrap_or(1.0);
        let bar = Rect::from_min_size(
            Pos2::new(text_left, r.bottom() - 16.0 * z),
            Vec2::new(70.0 * z, 7.0 * z),
        );
        painter.rect_filled(bar, CornerRadius::same(2), Color32::from_rgb(60, 66, 76));
        let fill = (f64::from(lc.queued) / limit.max(1.0)).clamp(0.0, 1.0) as f32;
        if fill > 0.0 {
            let mut full = bar;
            full.set_width(bar.width() * fill);
            painter.rect_filled(full, CornerRadius::same(2), queue_color(fill));
        }
        painter.text(
            Pos2::new(bar.right() + 5.0 * z, bar.center().y),
            Align2::LEFT_CENTER,
            format!("q {}", lc.queued),
            FontId::proportional(11.0 * z),
            Color32::from_gray(190),
        );
    }
}

/// A small drawn icon per kind (fonts may lack symbol glyphs): a person for clients, a
/// fan-out for balancers, a stack of servers for services, a cloud for outside services.
fn paint_icon(painter: &egui::Painter, kind: NodeKind, c: Pos2, s: f32, color: Color32) {
    let stroke = Stroke::new((s / 6.0).max(1.0), color);
    match kind {
        NodeKind::Client => {
            painter.circle_stroke(c + Vec2::new(0.0, -0.45 * s), 0.38 * s, stroke);
            let shoulders: Vec<Pos2> = (0..=12)
                .map(|k| {
                    let a = std::f32::consts::PI * (1.0 + k as f32 / 12.0);
                    c + Vec2::new(0.0, 0.85 * s) + Vec2::angled(a) * (0.75 * s)
                })
                .collect();
            painter.add(Shape::line(shoulders, stroke));
        }
        NodeKind::Balancer => {
            let from = c + Vec2::new(-0.8 * s, 0.0);
            painter.circle_filled(from, 0.2 * s, color);
            for dy in [-0.7, 0.0, 0.7] {
                let to = c + Vec2::new(0.8 * s, dy * s);
                painter.line_segment([from, to], stroke);
                painter.circle_filled(to, 0.16 * s, color);
            }
        }
        NodeKind::Service => {
            for dy in [-0.55, 0.0, 0.55] {
                let r = Rect::from_center_size(
                    c + Vec2::new(0.0, dy * s),
                    Vec2::new(1.6 * s, 0.42 * s),
                );
                painter.rect_stroke(r, CornerRadius::same(1), stroke, StrokeKind::Middle);
                painter.circle_filled(r.right_center() - Vec2::new(0.3 * s, 0.0), 0.07 * s, color);
            }
        }
        NodeKind::Cache => {
            // A lightning bolt: the fast path.
            let points = vec![
                c + Vec2::new(0.2 * s, -0.95 * s),
                c + Vec2::new(-0.45 * s, 0.1 * s),
                c + Vec2::new(0.05 * s, 0.1 * s),
                c + Vec2::new(-0.2 * s, 0.95 * s),
                c + Vec2::new(0.45 * s, -0.15 * s),
                c + Vec2::new(-0.05 * s, -0.15 * s),
                c + Vec2::new(0.2 * s, -0.95 * s),
            ];
            painter.add(Shape::line(points, stroke));
        }
        NodeKind::Queue => {
            // Messages lined up in a pipe.
            let pipe = Rect::from_center_size(c, Vec2::new(1.8 * s, 0.9 * s));
            painter.rect_stroke(pipe, CornerRadius::same(2), stroke, StrokeKind::Middle);
            for dx in [-0.5, 0.0, 0.5] {
                let m =
                    Rect::from_center_size(c + Vec2::new(dx * s, 0.0), Vec2::new(0.3 * s, 0.5 * s));
                painter.rect_filled(m, CornerRadius::ZERO, color);
            }
        }
        NodeKind::Database => {
            // A cylinder: the classic disk.
            let (half_width, half_height) = (0.8 * s, 0.28 * s);
            let top = c + Vec2::new(0.0, -0.7 * s);
            let bottom = c + Vec2::new(0.0, 0.7 * s);
            let ellipse = |centre: Pos2, from: f32, to: f32| -> Vec<Pos2> {
                (0..=16)
                    .map(|k| {
                        let a = from + (to - from) * k as f32 / 16.0;
                        centre + Vec2::new(half_width * a.cos(), half_height * a.sin())
                    })
                    .collect()
            };
            painter.add(Shape::closed_line(
                ellipse(top, 0.0, std::f32::consts::TAU),
                stroke,
            ));
            painter.add(Shape::line(ellipse(c, 0.0, std::f32::consts::PI), stroke));
            painter.add(Shape::line(
                ellipse(bottom, 0.0, std::f32::consts::PI),
                stroke,
            ));
            let side = Vec2::new(half_width, 0.0);
            painter.line_segment([top - side, bottom - side], stroke);
            painter.line_segment([top + side, bottom + side], stroke);
        }
        NodeKind::External => {
            for (dx, dy, r) in [(-0.45, 0.15, 0.42), (0.05, -0.2, 0.55), (0.5, 0.15, 0.4)] {
                painter.circle_filled(c + Vec2::new(dx * s, dy * s), r * s, color);
            }
            let base = Rect::from_min_max(
                c + Vec2::new(-0.85 * s, 0.1 * s),
                c + Vec2::new(0.88 * s, 0.55 * s),
            );
            painter.rect_filled(base, CornerRadius::same(2), color);
        }
    }
}

/// Grey-blue when all is well, through amber to red at 10% failed answers.
#[must_use]
pub fn error_color(share: f64) -> Color32 {
    let t = (share / 0.1).clamp(0.0, 1.0) as f32;
    let ok = Color32::from_rgb(120, 140, 170);
    let bad = Color32::from_rgb(225, 60, 60);
    lerp(ok, bad, t)
}

fn utilization_color(u: f32) -> Color32 {
    if u < 0.7 {
        Color32::from_rgb(80, 160, 230)
    } else if u < 0.9 {
        Color32::from_rgb(235, 170, 40)
    } else {
        Color32::from_rgb(225, 60, 60)
    }
}

fn queue_color(fill: f32) -> Color32 {
    lerp(
        Color32::from_rgb(80, 160, 230),
        Color32::from_rgb(225, 60, 60),
        fill,
    )
}

#[must_use]
pub fn message_color(kind: MessageKind) -> Color32 {
    match kind {
        MessageKind::Request => Color32::from_rgb(120, 200, 255),
        MessageKind::Answer => Color32::from_rgb(110, 220, 140),
        MessageKind::Retry => Color32::from_rgb(245, 180, 50),
        MessageKind::Failure => Color32::from_rgb(240, 70, 70),
    }
}

fn lerp(a: Color32, b: Color32, t: f32) -> Color32 {
    let mix = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t).round() as u8;
    Color32::from_rgb(mix(a.r(), b.r()), mix(a.g(), b.g()), mix(a.b(), b.b()))
}

/// A rate in a few characters: 3.2, 45, 1.2k, 3.4M.
#[must_use]
pub fn short(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}
