//! The live architecture diagram: nodes, edges and travelling messages, painted with
//! egui's painter from the latest snapshot.
//!
//! What is drawn is derived from the simulation only: a node's colour from its replicas and
//! faults and the failures it answers with, its ring from its measured utilisation, an
//! edge's thickness from its measured request rate and its colour from the share of failed
//! answers. Dots are a sample of real messages (one per link and direction at most every
//! few frames), slowed down to be seen; the thickness carries the rate.

use std::collections::BTreeMap;

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Shape, Stroke, Vec2};

use crate::model::{ComponentKind, Model};
use crate::observe::recent::Recent;
use crate::sim::{LiveState, MessageKind, SimTime};

use super::layout;

mod paint;

pub use paint::{error_color, message_color, short};

pub const NODE_SIZE: Vec2 = Vec2::new(168.0, 70.0);
/// The connect handle on a node's right edge, in screen points.
const PORT_SIZE: f32 = 14.0;
/// Wall-clock seconds a dot takes to cross its edge.
pub const DOT_TRAVEL_S: f64 = 0.9;
/// At most this many dots start per link and direction per second of wall time, so that
/// a busy link shows a steady stream rather than a smear.
const DOTS_PER_LINK_PER_S: f64 = 6.0;
pub const MAX_DOTS: usize = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Client,
    Balancer,
    Service,
    External,
    Cache,
    Queue,
    Database,
}

impl NodeKind {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            NodeKind::Client => "clients",
            NodeKind::Balancer => "load balancer",
            NodeKind::Service => "service",
            NodeKind::External => "external",
            NodeKind::Cache => "cache",
            NodeKind::Queue => "message queue",
            NodeKind::Database => "database",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Ok,
    Degraded,
    Down,
}

impl Health {
    #[must_use]
    pub fn color(self) -> Color32 {
        match self {
            Health::Ok => Color32::from_rgb(70, 180, 110),
            Health::Degraded => Color32::from_rgb(235, 170, 40),
            Health::Down => Color32::from_rgb(220, 60, 60),
        }
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Degraded => "degraded",
            Health::Down => "down",
        }
    }
}

/// A node of the diagram: a workload (clients) or a component.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    /// Index among the model's components; `None` for clients.
    pub component: Option<usize>,
    /// Diagram coordinates of its centre.
    pub pos: Pos2,
}

/// An edge: one link of the simulation, between two nodes.
#[derive(Debug, Clone)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    /// Index among the live state's links.
    pub link: usize,
}

/// The recent figures of a link or node, from the snapshot.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    pub rate: f64,
    pub error_share: f64,
    pub utilization: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Dot {
    pub link: usize,
    pub kind: MessageKind,
    pub lost: bool,
    /// egui time (seconds) when it started.
    pub born: f64,
}

pub struct Diagram {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub by_name: BTreeMap<String, usize>,
    pub pan: Vec2,
    pub zoom: f32,
    /// Whether the view still follows the automatic fit (until the user pans or zooms).
    pub fitted: bool,
    pub link_measured: Vec<Measured>,
    pub node_measured: Vec<Measured>,
    pub dots: Vec<Dot>,
    /// Components drawn with a halo to draw the eye (a lesson step's `highlight`).
    pub highlight: Vec<String>,
    /// The clock of the latest snapshot seen, to notice a seek back.
    last_now: Option<SimTime>,
    /// The newest message already turned into a dot (its send instant), per link.
    last_message: Vec<SimTime>,
    /// When each link and direction last started a dot (egui time).
    last_dot_at: Vec<[f64; 2]>,
    /// The node a connection is being drawn from.
    connecting: Option<usize>,
    /// Where the diagram was last drawn, to place new nodes in view.
    view: Rect,
    /// Per component: the queue length that fills its bar.
    queue_limits: Vec<f64>,
}

/// What a click or right-click landed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Node(usize),
    Edge(usize),
}

impl Diagram {
    /// The diagram of a model and the links of its simulation, laid out automatically.
    #[must_use]
    pub fn new(model: &Model, live: &LiveState) -> Self {
        let mut nodes: Vec<Node> = model
            .workloads
            .iter()
            .map(|w| Node {
                name: w.name.clone(),
                kind: NodeKind::Client,
                component: None,
                pos: Pos2::ZERO,
            })
            .collect();
        for (i, c) in model.components.iter().enumerate() {
            nodes.push(Node {
                name: c.name.clone(),
                kind: match c.kind {
                    ComponentKind::Service(ref s) if s.database.is_some() => NodeKind::Database,
                    ComponentKind::Service(_) => NodeKind::Service,
                    ComponentKind::LoadBalancer(_) => NodeKind::Balancer,
                    ComponentKind::External(_) => match c.kind.label() {
                        "cache" => NodeKind::Cache,
                        "queue" => NodeKind::Queue,
                        _ => NodeKind::External,
                    },
                },
                component: Some(i),
                pos: Pos2::ZERO,
            });
        }
        // Two workloads may share a name with nothing else; the first one wins the label.
        let mut by_name = BTreeMap::new();
        for (i, n) in nodes.iter().enumerate() {
            by_name.entry(n.name.clone()).or_insert(i);
        }
        let edges: Vec<Edge> = live
            .links
            .iter()
            .enumerate()
            .filter_map(|(link, l)| {
                Some(Edge {
                    from: *by_name.get(&l.from)?,
                    to: *by_name.get(&l.to)?,
                    link,
                })
            })
            .collect();
        let pairs: Vec<(usize, usize)> = edges.iter().map(|e| (e.from, e.to)).collect();
        let positions = layout::layered(nodes.len(), &pairs);
        for (node, p) in nodes.iter_mut().zip(positions) {
            let saved = model.layout.iter().find(|(name, _)| *name == node.name);
            node.pos = match saved {
                Some((_, [x, y])) => Pos2::new(*x as f32, *y as f32),
                None => Pos2::new(p[0], p[1]),
            };
        }
        let n_links = live.links.len();
        let n_nodes = nodes.len();
        Diagram {
            nodes,
            edges,
            by_name,
            pan: Vec2::ZERO,
            zoom: 1.0,
            fitted: true,
            link_measured: vec![Measured::default(); n_links],
            node_measured: vec![Measured::default(); n_nodes],
            dots: Vec::new(),
            highlight: Vec::new(),
            last_now: None,
            last_message: vec![live.now; n_links],
            last_dot_at: vec![[f64::NEG_INFINITY; 2]; n_links],
            connecting: None,
            view: Rect::NOTHING,
            queue_limits: model.components.iter().map(queue_limit).collect(),
        }
    }

    /// Takes a new snapshot: its recent figures, and dots for its new messages.
    pub fn observe(&mut self, live: &LiveState, recent: &Recent, time: f64) {
        if let Some(t0) = self.last_now
            && live.now < t0
        {
            // The run was recomputed from its start (a seek back).
            self.dots.clear();
            self.last_message.fill(live.now);
        }
        self.last_now = Some(live.now);
        for (i, m) in self.link_measured.iter_mut().enumerate() {
            m.rate = recent.link_rate.get(i).copied().unwrap_or(0.0);
            m.error_share = recent
                .link_failed_share
                .get(i)
                .copied()
                .flatten()
                .unwrap_or(0.0);
        }
        for (node, m) in self.node_measured.iter_mut().enumerate() {
            if let Some(c) = self.nodes[node].component {
                m.utilization = recent.utilization.get(c).copied().flatten().unwrap_or(0.0);
            }
        }
        self.start_dots(live, time);
    }

    fn start_dots(&mut self, live: &LiveState, time: f64) {
        let min_gap = 1.0 / DOTS_PER_LINK_PER_S;
        for m in &live.messages {
            let link = m.link as usize;
            if link >= self.last_message.len() || m.sent <= self.last_message[link] {
                continue;
            }
            self.last_message[link] = m.sent;
            let direction =
                usize::from(matches!(m.kind, MessageKind::Answer | MessageKind::Failure));
            // Failures and retries always show: they are what a viewer looks for.
            let notable = !matches!(m.kind, MessageKind::Request | MessageKind::Answer);
            if !notable && time - self.last_dot_at[link][direction] < min_gap {
                continue;
            }
            self.last_dot_at[link][direction] = time;
            if self.dots.len() < MAX_DOTS {
                self.dots.push(Dot {
                    link,
                    kind: m.kind,
                    lost: m.arrives.is_none(),
                    born: time,
                });
            }
        }
        self.dots.retain(|d| time - d.born < DOT_TRAVEL_S);
    }

    /// Health of a node from its live state and the answers it sends back.
    #[must_use]
    pub fn health(&self, node: usize, live: &LiveState) -> Health {
        let Some(c) = self.nodes[node].component else {
            return Health::Ok;
        };
        let Some(lc) = live.components.get(c) else {
            return Health::Ok;
        };
        if lc.replicas_up == 0 {
            return Health::Down;
        }
        let failing_answers = self
            .edges
            .iter()
            .filter(|e| e.to == node)
            .any(|e| self.link_measured[e.link].error_share > 0.01);
        let queue_nearly_full =
            f64::from(lc.queued) >= 0.8 * self.queue_limits.get(c).copied().unwrap_or(f64::MAX);
        if lc.replicas_up < lc.replicas
            || queue_nearly_full
            || lc.slow
            || lc.paused
            || lc.failing
            || lc.lost_workers > 0
            || failing_answers
        {
            Health::Degraded
        } else {
            Health::Ok
        }
    }

    fn to_screen(&self, origin: Pos2, p: Pos2) -> Pos2 {
        origin + (p.to_vec2() * self.zoom) + self.pan
    }

    /// Fits the whole diagram in `rect`.
    pub fn fit(&mut self, rect: Rect) {
        if self.nodes.is_empty() {
            return;
        }
        let mut bounds = Rect::NOTHING;
        for n in &self.nodes {
            bounds.extend_with(n.pos);
        }
        let bounds = bounds.expand2(NODE_SIZE * 0.5 + Vec2::splat(24.0));
        let zoom = (rect.width() / bounds.width())
            .min(rect.height() / bounds.height())
            .clamp(0.3, 1.4);
        self.zoom = zoom;
        // origin + p*zoom + pan = centre of rect for p = centre of bounds.
        self.pan = rect.center() - rect.min - bounds.center().to_vec2() * zoom;
    }

    fn node_rect(&self, origin: Pos2, node: usize) -> Rect {
        Rect::from_center_size(
            self.to_screen(origin, self.nodes[node].pos),
            NODE_SIZE * self.zoom,
        )
    }

    fn edge_curve(&self, origin: Pos2, edge: &Edge) -> [Pos2; 4] {
        let a = self.node_rect(origin, edge.from);
        let b = self.node_rect(origin, edge.to);
        let (start, end) = if b.center().x > a.center().x + 1.0 {
            (a.right_center(), b.left_center())
        } else if b.center().x < a.center().x - 1.0 {
            (a.left_center(), b.right_center())
        } else if b.center().y > a.center().y {
            (a.center_bottom(), b.center_top())
        } else {
            (a.center_top(), b.center_bottom())
        };
        let pull = ((end - start).length() * 0.4).max(20.0);
        let dir = if (end.x - start.x).abs() > 1.0 {
            Vec2::new(pull * (end.x - start.x).signum(), 0.0)
        } else {
            Vec2::new(0.0, pull * (end.y - start.y).signum())
        };
        [start, start + dir, end - dir, end]
    }

    /// Paints the diagram and handles its interactions; returns what was clicked and what
    /// was right-clicked, if anything.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        live: &LiveState,
        selected: Option<&Target>,
        time: f64,
        playing: bool,
    ) -> DiagramResponse {
        let (rect, background) =
            ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
        if self.fitted {
            self.fit(rect);
        }
        let origin = rect.min;
        self.view = rect;
        let mut out = DiagramResponse {
            background: Some(background.clone()),
            ..DiagramResponse::default()
        };
        // Pan with a drag on the background, zoom with the wheel about the pointer.
        if background.dragged() {
            self.pan += background.drag_delta();
            self.fitted = false;
        }
        if let Some(pointer) = background.hover_pos() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            if scroll.abs() > 0.0 {
                let factor = (scroll / 300.0).exp();
                let new_zoom = (self.zoom * factor).clamp(0.2, 3.0);
                let anchor = pointer - origin - self.pan;
                self.pan += anchor - anchor * (new_zoom / self.zoom);
                self.zoom = new_zoom;
                self.fitted = false;
            }
        }
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);

        // Edges first, under the nodes.
        let mut curves = Vec::with_capacity(self.edges.len());
        let mut lines: Vec<Vec<Pos2>> = Vec::with_capacity(self.edges.len());
        for edge in &self.edges {
            let curve = self.edge_curve(origin, edge);
            let m = self.link_measured[edge.link];
            let link = &live.links[edge.link];
            let width =
                (1.0 + 1.6 * (1.0 + m.rate).log10() as f32).clamp(1.0, 9.0) * self.zoom.sqrt();
            let color = if link.cut {
                Color32::from_rgb(220, 60, 60)
            } else {
                error_color(m.error_share)
            };
            let is_selected = selected == Some(&Target::Edge(edge.link));
            let stroke = Stroke::new(if is_selected { width + 2.5 } else { width }, color);
            // A polyline of a few segments: smooth enough at any zoom that fits on a
            // screen, and far cheaper to tessellate than a finely flattened curve.
            let points: Vec<Pos2> = (0..=EDGE_SEGMENTS)
                .map(|k| bezier(&curve, k as f32 / EDGE_SEGMENTS as f32))
                .collect();
            if link.cut || link.troubled {
                painter.extend(Shape::dashed_line(&points, stroke, 8.0, 6.0));
            } else {
                painter.add(Shape::line(points.clone(), stroke));
            }
            // Arrow head at the callee.
            let tip = curve[3];
            let back = (curve[3] - curve[2]).normalized() * 9.0 * self.zoom.sqrt();
            let side = back.rot90() * 0.5;
            painter.add(Shape::convex_polygon(
                vec![tip, tip - back + side, tip - back - side],
                color,
                Stroke::NONE,
            ));
            curves.push(curve);
            lines.push(points);
        }

        // Dots along their edges: requests towards the callee, answers back.
        let radius = 3.5 * self.zoom.sqrt();
        let edge_index: BTreeMap<usize, usize> = self
            .edges
            .iter()
            .enumerate()
            .map(|(i, e)| (e.link, i))
            .collect();
        if !playing {
            // Paused: every traced message still crossing, where it really is.
            for m in &live.messages {
                let (Some(arrives), Some(&i)) = (m.arrives, edge_index.get(&(m.link as usize)))
                else {
                    continue;
                };
                if m.sent > live.now || arrives <= live.now {
                    continue;
                }
                let span = (arrives - m.sent).as_secs_f64().max(1e-12);
                let along = ((live.now - m.sent).as_secs_f64() / span) as f32;
                let answer = matches!(m.kind, MessageKind::Answer | MessageKind::Failure);
                let p = bezier(&curves[i], if answer { 1.0 - along } else { along });
                painter.circle_filled(p, radius, message_color(m.kind));
            }
        }
        for dot in &self.dots {
            let Some(&i) = edge_index.get(&dot.link) else {
                continue;
            };
            let progress = ((time - dot.born) / DOT_TRAVEL_S).clamp(0.0, 1.0) as f32;
            let answer = matches!(dot.kind, MessageKind::Answer | MessageKind::Failure);
            // A lost message stops halfway and fades: nobody receives it.
            let along = if dot.lost { progress * 0.5 } else { progress };
            let t = if answer { 1.0 - along } else { along };
            let p = bezier(&curves[i], t);
            let mut color = message_color(dot.kind);
            if dot.lost {
                color = color.gamma_multiply(1.0 - progress);
            }
            painter.circle_filled(p, radius, color);
        }

        // The middle of each edge is a small target of its own, named for tests and screen
        // readers; a click anywhere near the line selects it too (below).
        for (i, edge) in self.edges.iter().enumerate() {
            let middle = bezier(&curves[i], 0.5);
            let id = ui.scope_id().with(("edge", edge.link));
            let response = ui.interact(
                Rect::from_center_size(middle, Vec2::splat(12.0)),
                id,
                Sense::click(),
            );
            let name = format!(
                "link {} → {}",
                self.nodes[edge.from].name, self.nodes[edge.to].name
            );
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
            if response.clicked() {
                out.clicked = Some(Target::Edge(edge.link));
            }
            if response.secondary_clicked() {
                out.right_clicked = Some(Target::Edge(edge.link));
            }
            out.edge_responses.push((edge.link, response));
        }

        // Nodes, each an interactive area named for tests and screen readers.
        let mut ports = Vec::with_capacity(self.nodes.len());
        for node in 0..self.nodes.len() {
            let r = self.node_rect(origin, node);
            let id = ui.scope_id().with(("node", node));
            let response = ui.interact(r, id, Sense::click_and_drag());
            let name = self.nodes[node].name.clone();
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
            let shift = ui.input(|i| i.modifiers.shift);
            // The half of the handle inside the node can lose egui's hit test to the node
            // itself (seen in a real window, not in the test harness): a drag that starts on
            // the handle connects, whichever of the two egui gave it to.
            let port = Rect::from_center_size(r.right_center(), Vec2::splat(PORT_SIZE));
            let from_port = ui
                .input(|i| i.pointer.press_origin())
                .is_some_and(|p| port.contains(p));
            if response.drag_started() && (shift || from_port) {
                self.connecting = Some(node);
            }
            if response.dragged() && self.connecting.is_none() {
                self.nodes[node].pos += response.drag_delta() / self.zoom;
            }
            if response.drag_stopped() && self.connecting.is_none() {
                out.moved = true;
            }
            if response.clicked() {
                out.clicked = Some(Target::Node(node));
            }
            if response.secondary_clicked() {
                out.right_clicked = Some(Target::Node(node));
            }
            if response.hovered() {
                out.hovered = Some(Target::Node(node));
            }
            out.node_responses.push(response);
            self.paint_node(
                &painter,
                r,
                node,
                live,
                selected == Some(&Target::Node(node)),
            );
        }
        // The handles to connect from: a dot on each node's right edge, dragged onto another
        // node. Above every node, so that a neighbour drawn later never covers one.
        for node in 0..self.nodes.len() {
            let r = self.node_rect(origin, node);
            let id = ui.scope_id().with(("node", node));
            let port = Rect::from_center_size(r.right_center(), Vec2::splat(PORT_SIZE));
            let port_response = ui.interact(port, id.with("port"), Sense::drag());
            let name = &self.nodes[node].name;
            port_response.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::Button, true, format!("connect {name}"))
            });
            if port_response.drag_started() {
                self.connecting = Some(node);
            }
            ports.push((port, port_response.hovered() || port_response.dragged()));
        }
        for (port, hot) in ports {
            let color = if hot {
                Color32::from_rgb(120, 200, 255)
            } else {
                Color32::from_rgb(90, 100, 120)
            };
            painter.circle_filled(port.center(), PORT_SIZE * 0.3, color);
        }
        // A connection being drawn: a line to the pointer, made when released on a node.
        if let Some(from) = self.connecting {
            let pointer = ui.input(|i| i.pointer.latest_pos());
            if let Some(p) = pointer {
                let start = self.node_rect(origin, from).right_center();
                painter.line_segment(
                    [start, p],
                    Stroke::new(2.0, Color32::from_rgb(120, 200, 255)),
                );
            }
            if ui.input(|i| i.pointer.any_down()) {
                ui.ctx().request_repaint();
            } else {
                self.connecting = None;
                let onto = pointer.and_then(|p| {
                    (0..self.nodes.len()).find(|&n| self.node_rect(origin, n).contains(p))
                });
                if let Some(to) = onto.filter(|&to| to != from) {
                    out.connected = Some((from, to));
                }
            }
        }

        // Clicks on the background select the nearest edge, if near enough.
        let pick = |pos: Pos2| -> Option<usize> {
            let mut best: Option<(f32, usize)> = None;
            for (i, line) in lines.iter().enumerate() {
                for w in line.windows(2) {
                    let d = distance_to_segment(pos, w[0], w[1]);
                    if d < 8.0 && best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, i));
                    }
                }
            }
            best.map(|(_, i)| self.edges[i].link)
        };
        if background.clicked()
            && let Some(pos) = background.interact_pointer_pos()
        {
            out.clicked = Some(pick(pos).map_or(Target::Node(usize::MAX), Target::Edge));
        }
        if background.secondary_clicked()
            && let Some(pos) = background.interact_pointer_pos()
        {
            out.right_clicked = pick(pos).map(Target::Edge);
        }
        out
    }

    /// The diagram position at a point of the screen (the middle of the view when `None`).
    #[must_use]
    pub fn position_at(&self, screen: Option<Pos2>) -> [f64; 2] {
        let at = screen.unwrap_or_else(|| self.view.center());
        let world = (at - self.view.min - self.pan) / self.zoom;
        [f64::from(world.x), f64::from(world.y)]
    }

    /// The place nearest `near` (diagram units) where a new node overlaps none: rings of
    /// places around it, one node apart, tried from the inside out.
    #[must_use]
    pub fn free_spot(&self, near: [f64; 2]) -> [f64; 2] {
        let (w, h) = (f64::from(NODE_SIZE.x) * 1.25, f64::from(NODE_SIZE.y) * 1.6);
        let free = |[x, y]: [f64; 2]| {
            self.nodes
                .iter()
                .all(|n| (f64::from(n.pos.x) - x).abs() >= w || (f64::from(n.pos.y) - y).abs() >= h)
        };
        for ring in 0..40_i32 {
            for dy in -ring..=ring {
                for dx in -ring..=ring {
                    if dx.abs() != ring && dy.abs() != ring {
                        continue;
                    }
                    let spot = [near[0] + f64::from(dx) * w, near[1] + f64::from(dy) * h];
                    if free(spot) {
                        return spot;
                    }
                }
            }
        }
        near
    }

    /// Shows what `old` showed: its pan, zoom and whether it follows the automatic fit.
    pub fn keep_view_of(&mut self, old: &Diagram) {
        self.pan = old.pan;
        self.zoom = old.zoom;
        self.fitted = old.fitted;
        self.view = old.view;
    }

    /// Every node's position, for saving in the model.
    #[must_use]
    pub fn positions(&self) -> Vec<(String, [f64; 2])> {
        self.nodes
            .iter()
            .map(|n| (n.name.clone(), [f64::from(n.pos.x), f64::from(n.pos.y)]))
            .collect()
    }

    /// Moves nodes named in `positions` there (positions kept across a reload).
    pub fn place(&mut self, positions: &[(String, [f64; 2])]) {
        for (name, [x, y]) in positions {
            if let Some(&i) = self.by_name.get(name) {
                self.nodes[i].pos = Pos2::new(*x as f32, *y as f32);
            }
        }
    }

    /// Which node or edge a target names, for the inspector.
    #[must_use]
    pub fn edge_of_link(&self, link: usize) -> Option<&Edge> {
        self.edges.iter().find(|e| e.link == link)
    }
}

#[derive(Default)]
pub struct DiagramResponse {
    pub clicked: Option<Target>,
    pub right_clicked: Option<Target>,
    pub hovered: Option<Target>,
    pub background: Option<egui::Response>,
    pub node_responses: Vec<egui::Response>,
    /// The middle of each edge, by link: its context menu opens there.
    pub edge_responses: Vec<(usize, egui::Response)>,
    /// A node's drag ended: its new place is to be kept.
    pub moved: bool,
    /// A connection drawn from one node onto another.
    pub connected: Option<(usize, usize)>,
}

/// Segments of an edge's polyline.
const EDGE_SEGMENTS: usize = 16;

/// A point of a cubic Bézier curve.
fn bezier(c: &[Pos2; 4], t: f32) -> Pos2 {
    let u = 1.0 - t;
    let w = [u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t];
    Pos2::new(
        w[0] * c[0].x + w[1] * c[1].x + w[2] * c[2].x + w[3] * c[3].x,
        w[0] * c[0].y + w[1] * c[1].y + w[2] * c[2].y + w[3] * c[3].y,
    )
}

fn distance_to_segment(p: Pos2, a: Pos2, b: Pos2) -> f32 {
    let ab = b - a;
    let t = ((p - a).dot(ab) / ab.length_sq().max(f32::EPSILON)).clamp(0.0, 1.0);
    p.distance(a + ab * t)
}

/// The queue length that fills a component's bar: its queue limit over all replicas, or
/// four waiting requests per worker when its queue is unbounded.
fn queue_limit(c: &crate::model::Component) -> f64 {
    match &c.kind {
        ComponentKind::Service(s) => {
            let per_replica = s.queue.unwrap_or(4 * s.workers);
            f64::from(per_replica) * f64::from(s.replicas.max(1))
        }
        _ => 1.0,
    }
}
