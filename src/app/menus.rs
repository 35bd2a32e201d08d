//! The diagram's context menus: the live changes a right-click on a component or a link
//! offers (crash, slow down, cut, pause, …), sent to the running simulation.
//!
//! Owns which changes each kind of target offers. Must never change the model itself: a
//! live change is an intervention of the run, kept apart from the model's text.

use eframe::egui::{self, RichText};

use super::diagram::Target;
use super::worker::{Action, Command};
use super::{ArchsimApp, active_on};
use crate::model::{self, Fault, FaultAction, Span};
use crate::sim::SimTime;

impl ArchsimApp {
    pub(super) fn context_menu(&mut self, ui: &mut egui::Ui, target: &Target) {
        let Some(snap) = self.snapshot.clone() else {
            return;
        };
        let Some(diagram) = &self.diagram else {
            return;
        };
        let mut action: Option<Action> = None;
        match target {
            Target::Node(n) => {
                let node = &diagram.nodes[*n];
                let Some(comp) = node.component else {
                    ui.label("Clients cannot be broken; change their rate in the model.");
                    return;
                };
                let id = model::ComponentId(u32::try_from(comp).unwrap_or(u32::MAX));
                ui.label(RichText::new(&node.name).strong());
                let active = active_on(&snap, Some(id));
                if active.is_empty() {
                    let fault = |a: FaultAction, replica: Option<u32>| Fault {
                        at: SimTime::ZERO,
                        duration: None,
                        target: Some(id),
                        replica,
                        action: a,
                        flap: None,
                        count: None,
                        span: Span::default(),
                    };
                    if ui.button("Crash").clicked() {
                        action = Some(Action::Start(fault(FaultAction::Crash, None)));
                    }
                    let replicas = snap.live.components.get(comp).map_or(1, |c| c.replicas);
                    if replicas > 1 && ui.button("Crash one replica").clicked() {
                        action = Some(Action::Start(fault(FaultAction::Crash, Some(0))));
                    }
                    if ui.button("Slow down ×10").clicked() {
                        action = Some(Action::Start(fault(
                            FaultAction::Slow {
                                factor: 10.0,
                                delay: SimTime::ZERO,
                            },
                            None,
                        )));
                    }
                    if ui.button("Fail half of its requests").clicked() {
                        action = Some(Action::Start(fault(
                            FaultAction::Error { fraction: 0.5 },
                            None,
                        )));
                    }
                    if ui.button("Pause (stop-the-world)").clicked() {
                        action = Some(Action::Start(fault(FaultAction::Pause, None)));
                    }
                    if ui.button("Partition from its callers").clicked() {
                        let callers: Vec<String> = diagram
                            .edges
                            .iter()
                            .filter(|e| e.to == *n)
                            .map(|e| diagram.nodes[e.from].name.clone())
                            .collect();
                        action = Some(Action::Start(Fault {
                            target: None,
                            action: FaultAction::Partition {
                                groups: vec![vec![node.name.clone()], callers],
                            },
                            ..fault(FaultAction::Crash, None)
                        }));
                    }
                } else {
                    for index in active {
                        let label = match snap.faults[index].action {
                            FaultAction::Crash => "Restart".to_string(),
                            ref a => format!("End {}", a.verb()),
                        };
                        if ui.button(label).clicked() {
                            action = Some(Action::End(index));
                        }
                    }
                }
            }
            Target::Edge(link) => {
                let Some(l) = snap.live.links.get(*link) else {
                    return;
                };
                ui.label(RichText::new(format!("{} → {}", l.from, l.to)).strong());
                let active: Vec<usize> = snap
                    .live
                    .active_faults
                    .iter()
                    .copied()
                    .filter(|&i| match &snap.faults[i].action {
                        FaultAction::Link { a, b, .. } => {
                            (a == &l.from && b == &l.to) || (a == &l.to && b == &l.from)
                        }
                        _ => false,
                    })
                    .collect();
                if active.is_empty() {
                    let link_fault = |latency: Option<&str>, loss: f64, blackhole: bool| Fault {
                        at: SimTime::ZERO,
                        duration: None,
                        target: None,
                        replica: None,
                        action: FaultAction::Link {
                            a: l.from.clone(),
                            b: l.to.clone(),
                            latency: latency.and_then(|d| crate::model::dist::parse_dist(d).ok()),
                            loss,
                            reset: false,
                            bandwidth: None,
                            blackhole,
                        },
                        flap: None,
                        count: None,
                        span: Span::default(),
                    };
                    if ui.button("Cut (black hole)").clicked() {
                        action = Some(Action::Start(link_fault(None, 0.0, true)));
                    }
                    if ui.button("Add 100 ms latency").clicked() {
                        action = Some(Action::Start(link_fault(Some("100ms"), 0.0, false)));
                    }
                    if ui.button("Lose 10% of messages").clicked() {
                        action = Some(Action::Start(link_fault(None, 0.1, false)));
                    }
                } else {
                    for index in active {
                        if ui.button("Heal the link").clicked() {
                            action = Some(Action::End(index));
                        }
                    }
                }
            }
        }
        if let Some(a) = action {
            self.send(Command::Intervene(a));
            ui.close();
        }
    }
}
