//! The inspector's read-only panels: what a selected component or link is doing now, a
//! database's nodes and replication, and the diagram's legend.

use std::fmt::Write as _;

use eframe::egui::{self, RichText};

use super::diagram::{self, Diagram};
use super::worker::Snapshot;
use crate::model;

pub(super) fn inspect_node(ui: &mut egui::Ui, diagram: &Diagram, n: usize, snap: &Snapshot) {
    let node = &diagram.nodes[n];
    let health = diagram.health(n, &snap.live);
    ui.horizontal(|ui| {
        ui.heading(&node.name);
        ui.label(RichText::new(health.label()).color(health.color()).strong());
    });
    ui.label(RichText::new(node.kind.label()).weak());
    let Some(c) = node.component else {
        let out: Vec<&diagram::Edge> = diagram.edges.iter().filter(|e| e.from == n).collect();
        for e in out {
            ui.label(format!(
                "sends {} req/s to {}",
                diagram::short(diagram.link_measured[e.link].rate),
                diagram.nodes[e.to].name
            ));
        }
        return;
    };
    let comp = &snap.model.components[c];
    if let Some(d) = &comp.description {
        ui.label(d);
    }
    let lc = &snap.live.components[c];
    let m = diagram.node_measured[n];
    egui::Grid::new("live").striped(true).show(ui, |ui| {
        let mut row = |k: &str, v: String| {
            ui.label(k);
            ui.label(v);
            ui.end_row();
        };
        row(
            "replicas up",
            format!("{} of {}", lc.replicas_up, lc.replicas),
        );
        row("workers busy", format!("{} of {}", lc.busy, lc.capacity));
        row("queued", lc.queued.to_string());
        row(
            "utilisation (recent)",
            format!("{:.0}%", m.utilization * 100.0),
        );
        if let Some(r) = snap.report.components.get(&node.name) {
            row(
                "throughput",
                format!("{}/s", diagram::short(r.throughput_per_s)),
            );
            if let Some(p) = r.response_s.p99 {
                row("response p99", format!("{:.1} ms", p * 1e3));
            }
            row("retries sent", r.retries_sent.to_string());
            row("rejected", r.rejected.to_string());
            row("abandoned work", r.abandoned.to_string());
            if r.short_circuited > 0 {
                row("short-circuited", r.short_circuited.to_string());
            }
        }
    });
    ui.add_space(4.0);
    ui.label(RichText::new("Configuration").strong());
    match &comp.kind {
        model::ComponentKind::Service(s) => {
            if let Some(db) = &s.database {
                inspect_database(ui, node, c, db, snap);
            }
            ui.label(format!(
                "{} replica(s) × {} workers, queue {}",
                s.replicas,
                s.workers,
                s.queue.map_or("unbounded".to_string(), |q| q.to_string())
            ));
            for h in &s.handlers {
                let name = h.request.map_or("*", |t| snap.model.request_type_name(t));
                ui.label(format!("• {name}: work {}", h.work));
                for step in &h.steps {
                    let calls: Vec<&model::Call> = match step {
                        model::Step::Call(c) => vec![c],
                        model::Step::Parallel(cs) => cs.iter().collect(),
                    };
                    for call in calls {
                        let mut text = format!("    → {}", snap.model.component(call.to).name);
                        if let Some(t) = call.timeout {
                            let _ = write!(text, ", timeout {t}");
                        }
                        if let Some(r) = &call.retry {
                            let _ = write!(text, ", {} attempts", r.attempts);
                        }
                        if call.breaker.is_some() {
                            text.push_str(", breaker");
                        }
                        if call.fallback {
                            text.push_str(", fallback");
                        }
                        ui.label(text);
                    }
                }
            }
        }
        model::ComponentKind::LoadBalancer(lb) => {
            ui.label(format!("policy {:?}", lb.policy));
            if lb.health_check.is_some() {
                ui.label("health-checked backends");
            }
        }
        model::ComponentKind::External(_) => {
            // The cache's and queue's own figures, as the report names them.
            let figures = |section: &str| -> String {
                snap.report
                    .components
                    .get(&node.name)
                    .and_then(|r| serde_json::to_value(r).ok())
                    .and_then(|v| v.get(section).cloned())
                    .and_then(|v| v.as_object().cloned())
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| format!("{k}: {v}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default()
            };
            if comp.kind.cache().is_some() {
                ui.label("a cache in front of a store; so far:");
                ui.label(RichText::new(figures("cache")).monospace());
            } else if comp.kind.queue().is_some() {
                ui.label("a message broker; so far:");
                ui.label(RichText::new(figures("queue")).monospace());
            } else {
                ui.label("an outside dependency: a latency and an error rate");
            }
        }
    }
}

/// A database's nodes (role, up, lag now) and its figures so far.
fn inspect_database(
    ui: &mut egui::Ui,
    node: &diagram::Node,
    c: usize,
    db: &model::Database,
    snap: &Snapshot,
) {
    let replication = match db.replication {
        model::Replication::Async => "async".to_string(),
        model::Replication::SemiSync { acks } => format!("semi_sync ({acks} acks)"),
        model::Replication::Sync => "sync".to_string(),
    };
    ui.label(format!(
        "a database: {} primary(ies), {} replication, reads from {:?}",
        db.primaries, replication, db.read_from
    ));
    if let Some(lc) = snap.live.components.get(c) {
        egui::Grid::new("db-nodes").striped(true).show(ui, |ui| {
            for (k, up) in lc.replica_up.iter().enumerate() {
                let writer = if db.primaries > 1 {
                    k < db.primaries as usize
                } else {
                    lc.primary == Some(u32::try_from(k).unwrap_or(u32::MAX))
                };
                ui.label(format!("{}[{k}]", node.name));
                ui.label(if writer { "primary" } else { "replica" });
                ui.label(if *up { "up" } else { "down" });
                let lag = lc.replica_lag_s.get(k).copied().unwrap_or(0.0);
                ui.label(format!("lag {lag:.2} s"));
                ui.end_row();
            }
        });
    }
    if let Some(d) = snap
        .report
        .components
        .get(&node.name)
        .and_then(|r| r.database.as_ref())
    {
        let mut text = format!(
            "writes: {}\nreads: {}\nstale reads: {}\nconflicts: {}\nlost writes: {}",
            d.writes, d.reads, d.stale_reads, d.conflicts, d.lost_writes
        );
        for f in &d.failovers {
            let _ = write!(
                text,
                "\nfailover at {:.1} s: {}, {} lost",
                f.down_s, f.outcome, f.lost_writes
            );
        }
        ui.label(RichText::new(text).monospace());
    }
}

pub(super) fn inspect_edge(ui: &mut egui::Ui, diagram: &Diagram, link: usize, snap: &Snapshot) {
    let Some(l) = snap.live.links.get(link) else {
        return;
    };
    ui.heading(format!("{} → {}", l.from, l.to));
    ui.label(RichText::new("link").weak());
    let m = diagram.link_measured.get(link).copied().unwrap_or_default();
    egui::Grid::new("edge").striped(true).show(ui, |ui| {
        let mut row = |k: &str, v: String| {
            ui.label(k);
            ui.label(v);
            ui.end_row();
        };
        row(
            "requests (last 2 s)",
            format!("{}/s", diagram::short(m.rate)),
        );
        row(
            "failed answers (recent)",
            format!("{:.1}%", m.error_share * 100.0),
        );
        row("requests sent", l.sent.to_string());
        row("failed answers", l.failed.to_string());
        row(
            "latency (one way)",
            snap.model.link_latency(&l.from, &l.to).to_string(),
        );
        if l.cut {
            row("state", "cut".into());
        } else if l.troubled {
            row("state", "degraded by a fault".into());
        }
    });
}

pub(super) fn legend(ui: &mut egui::Ui) {
    ui.label(RichText::new("Reading the diagram").strong());
    ui.label("Border: green ok, amber degraded, red down. Ring: utilisation. Bar: queue.");
    ui.label("Edge thickness: request rate. Edge colour: share of failed answers.");
    ui.label("Dots: a sample of messages, slowed down to be seen while running, and where they really are when paused:");
    ui.horizontal_wrapped(|ui| {
        for (kind, name) in [
            (crate::sim::MessageKind::Request, "request"),
            (crate::sim::MessageKind::Retry, "retry"),
            (crate::sim::MessageKind::Answer, "answer"),
            (crate::sim::MessageKind::Failure, "failure"),
        ] {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter()
                .circle_filled(rect.center(), 4.0, diagram::message_color(kind));
            ui.label(RichText::new(name).color(diagram::message_color(kind)));
        }
    });
}
