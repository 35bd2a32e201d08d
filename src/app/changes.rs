//! The changes made to a run in the app: live interventions (faults started and ended while
//! it runs) and what-if parameters (the run recomputed from its start with a service's
//! replicas, workers or retries changed), and both written out as YAML for the model.
//!
//! Owns the "Changes made in this run" part of the inspector and the what-if fields. Must
//! never: change the model's text (that is the editor's), only the run.

use std::fmt::Write as _;
use std::sync::Arc;

use eframe::egui::{self, RichText};

use super::worker::{Action, Command, Snapshot};
use super::{ArchsimApp, clock};
use crate::model::{self, Fault, FaultAction};

impl ArchsimApp {
    /// What-if parameters of a service: the run is recomputed from its start with them.
    pub(super) fn parameters(&mut self, ui: &mut egui::Ui, c: usize, snap: &Snapshot) {
        let model::ComponentKind::Service(s) = &snap.model.components[c].kind else {
            return;
        };
        let attempts_now = first_retry_attempts(s);
        let edit = match self.param_edit {
            Some(e) if e.0 == c => e,
            _ => (c, s.replicas, s.workers, attempts_now),
        };
        let (_, mut replicas, mut workers, mut attempts) = edit;
        ui.add_space(4.0);
        ui.label(RichText::new("What if…").strong())
            .on_hover_text("Recomputes the run from its start with these parameters, up to the current instant, keeping your live changes");
        // A database's node count must suit its replication and failover: it is changed
        // in the model (or a scenario's `replicas`), where it is checked.
        let is_database = s.database.is_some();
        egui::Grid::new("params").show(ui, |ui| {
            if !is_database {
                ui.label("replicas");
                ui.add(egui::DragValue::new(&mut replicas).range(1..=256));
                ui.end_row();
            }
            ui.label("workers per replica");
            ui.add(egui::DragValue::new(&mut workers).range(1..=4096));
            ui.end_row();
            ui.label("retry attempts of its calls");
            ui.add(egui::DragValue::new(&mut attempts).range(1..=20));
            ui.end_row();
        });
        self.param_edit = Some((c, replicas, workers, attempts));
        let changed = replicas != s.replicas || workers != s.workers || attempts != attempts_now;
        if ui
            .add_enabled(changed, egui::Button::new("Re-run with these"))
            .clicked()
        {
            use model::scenario::{CallSel, Change};
            let id = model::ComponentId(u32::try_from(c).unwrap_or(u32::MAX));
            let name = &snap.model.components[c].name;
            if replicas != s.replicas {
                self.overrides
                    .push((format!("{name}.replicas"), Change::Replicas(id, replicas)));
            }
            if workers != s.workers {
                self.overrides
                    .push((format!("{name}.workers"), Change::Workers(id, workers)));
            }
            if attempts != attempts_now {
                let sel = CallSel {
                    component: id,
                    handler: None,
                    to: None,
                };
                self.overrides.push((
                    format!("{name}.retry.attempts"),
                    Change::CallAttempts(sel, attempts),
                ));
            }
            self.reconfigure();
        }
    }

    /// Sends the base model with every parameter what-if applied.
    pub(super) fn reconfigure(&self) {
        let Some(base) = &self.base_model else {
            return;
        };
        let mut m = (**base).clone();
        for (_, change) in &self.overrides {
            model::scenario::apply(change, &mut m.components, &mut m.workloads);
        }
        self.send(Command::Reconfigure(Arc::new(m)));
    }

    pub(super) fn changes(&mut self, ui: &mut egui::Ui, snap: &Snapshot) {
        ui.label(RichText::new("Changes made in this run").strong());
        if !self.overrides.is_empty() {
            ui.label(RichText::new("Parameters (for the whole run):").weak());
            for (path, change) in &self.overrides {
                ui.label(format!("  {path}: {}", change_value(change)));
            }
            ui.horizontal(|ui| {
                if ui
                    .button("Copy as a scenario (YAML)")
                    .on_hover_text("Paste under `scenarios:` in the model, for `archsim compare`")
                    .clicked()
                {
                    ui.ctx().copy_text(scenario_yaml(&self.overrides, snap));
                }
                if ui.button("Undo parameters").clicked() {
                    self.overrides.clear();
                    self.param_edit = None;
                    self.reconfigure();
                }
            });
        }
        if snap.interventions.is_empty() && self.overrides.is_empty() {
            ui.label(RichText::new("None yet: right-click a component or link.").weak());
            return;
        }
        for i in &snap.interventions {
            ui.label(format!(
                "{}  {}",
                clock(i.at.as_secs_f64()),
                describe_action(&i.action, &snap.faults)
            ));
        }
        if ui
            .button("Copy as faults (YAML)")
            .on_hover_text("Paste under `faults:` in the model to replay these changes")
            .clicked()
        {
            ui.ctx().copy_text(interventions_yaml(snap));
        }
    }
}

fn describe_action(action: &Action, faults: &[Fault]) -> String {
    match action {
        Action::Start(f) => fault_text(f),
        Action::End(i) => faults
            .get(*i)
            .map_or("end a fault".into(), |f| format!("end: {}", fault_text(f))),
    }
}

fn fault_text(f: &Fault) -> String {
    match &f.action {
        FaultAction::Link { a, b, .. } => format!("link trouble {a} ↔ {b}"),
        FaultAction::Partition { groups } => format!("partition {groups:?}"),
        a => format!("{} #{}", a.verb(), f.target.map_or(0, |t| t.0)),
    }
}

/// The retry attempts of a service's first call that has a policy (1 when none has).
fn first_retry_attempts(s: &model::Service) -> u32 {
    s.handlers
        .iter()
        .flat_map(|h| &h.steps)
        .flat_map(|step| match step {
            model::Step::Call(c) => std::slice::from_ref(c).iter(),
            model::Step::Parallel(cs) => cs.iter(),
        })
        .find_map(|c| c.retry.as_ref().map(|r| r.attempts))
        .unwrap_or(1)
}

fn change_value(change: &model::scenario::Change) -> String {
    use model::scenario::Change;
    match change {
        Change::Replicas(_, n) | Change::Workers(_, n) | Change::CallAttempts(_, n) => {
            n.to_string()
        }
        other => format!("{other:?}"),
    }
}

/// The parameter what-ifs and live changes as a named scenario for the model.
fn scenario_yaml(overrides: &[(String, model::scenario::Change)], snap: &Snapshot) -> String {
    let mut out = String::from("  what_if:\n    description: Changes made in the app\n");
    if !overrides.is_empty() {
        out.push_str("    set:\n");
        for (path, change) in overrides {
            let _ = writeln!(out, "      {path}: {}", change_value(change));
        }
    }
    let faults = interventions_yaml(snap);
    if !faults.is_empty() {
        out.push_str("    faults:\n");
        for line in faults.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// The run's interventions as scripted faults: start instants, and durations where they
/// were ended.
pub(super) fn interventions_yaml(snap: &Snapshot) -> String {
    let mut out = String::new();
    let first_injected = snap.faults.len()
        - snap
            .interventions
            .iter()
            .filter(|i| matches!(i.action, Action::Start(_)))
            .count();
    let mut index = first_injected;
    for i in &snap.interventions {
        let Action::Start(f) = &i.action else {
            continue;
        };
        let ended = snap.interventions.iter().find_map(|j| match j.action {
            Action::End(k) if k == index => Some(j.at),
            _ => None,
        });
        index += 1;
        let mut line = format!("  - {{ at: {}", i.at);
        if let Some(end) = ended {
            let _ = write!(line, ", for: {}", end - i.at);
        }
        let name = |id: Option<model::ComponentId>| {
            id.map_or(String::new(), |c| snap.model.component(c).name.clone())
        };
        match &f.action {
            FaultAction::Crash => {
                let _ = write!(line, ", crash: {}", name(f.target));
            }
            FaultAction::Slow { factor, .. } => {
                let _ = write!(line, ", slow: {}, factor: {factor}", name(f.target));
            }
            FaultAction::Error { fraction } => {
                let _ = write!(
                    line,
                    ", error: {}, fraction: {}%",
                    name(f.target),
                    fraction * 100.0
                );
            }
            FaultAction::Pause => {
                let _ = write!(line, ", pause: {}", name(f.target));
            }
            FaultAction::Capacity { workers } => {
                let _ = write!(line, ", capacity: {}, workers: {workers}", name(f.target));
            }
            FaultAction::Partition { groups } => {
                let gs: Vec<String> = groups
                    .iter()
                    .map(|g| format!("[{}]", g.join(", ")))
                    .collect();
                let _ = write!(line, ", partition: [{}]", gs.join(", "));
            }
            FaultAction::Link {
                a,
                b,
                latency,
                loss,
                blackhole,
                ..
            } => {
                let _ = write!(line, ", link: [{a}, {b}]");
                if let Some(l) = latency {
                    let _ = write!(line, ", latency: {l}");
                }
                if *loss > 0.0 {
                    let _ = write!(line, ", loss: {}%", loss * 100.0);
                }
                if *blackhole {
                    line.push_str(", blackhole: true");
                }
            }
        }
        if let Some(r) = f.replica {
            let _ = write!(line, ", replica: {r}");
        }
        line.push_str(" }\n");
        out.push_str(&line);
    }
    out
}
