//! Editing the open model in the app: adding parts from the palette, connecting, the
//! inspector's property edits, rename, delete, moves, undo and redo, saving, and the keys
//! that do them.
//!
//! Every change is an edit of the model's YAML text ([`super::editor`]), re-read by the same
//! reader as a file: a valid result re-runs from its start with the run's live changes kept
//! (renumbered for the edited model), an invalid one shows the reader's messages while the
//! last valid model keeps running. Must never: change the running model other than through
//! its text, or lose an edit (each is also kept in the recovery file at once).

use std::path::Path;
use std::sync::Arc;

use eframe::egui::{self, Color32, RichText};

use super::diagram::{Diagram, Target};
use super::editor::{Editor, only_layout_differs, renumber};
use super::file_dialog::{Choice, FileDialog, Mode};
use super::palette::{self, Part};
use super::properties::{self, FieldEdit, Shown};
use super::worker::{Command, Worker};
use super::{ArchsimApp, Reselect, Source, describe, files, window_title};
use crate::model::write::{Document, EditError, with_layout};
use crate::model::{self, Severity};

/// How far below the new part the parts it brought along (a balancer's service, a cache's
/// store) are placed, in diagram units.
const COMPANION_OFFSET: f64 = 120.0;

impl ArchsimApp {
    /// Whether the model's text differs from its file (a new sketch always does).
    pub(super) fn has_unsaved_edits(&self) -> bool {
        self.editor.as_ref().is_some_and(Editor::is_unsaved)
    }

    /// Re-reads the editor's text and runs what it describes: from its start when `fresh`
    /// (a model just opened); otherwise as an edit of the running model, keeping its live
    /// changes, or only moving nodes when nothing but the layout changed.
    pub(super) fn after_text_change(&mut self, fresh: bool) {
        let Some(text) = self.editor.as_ref().map(|e| e.text().to_string()) else {
            return;
        };
        let label = self.source.label();
        let (model, warnings) = match model::parse(&label, &text) {
            Ok(read) => read,
            Err(d) => {
                let errors: Vec<_> = d
                    .items
                    .into_iter()
                    .filter(|d| d.severity == Severity::Error)
                    .collect();
                self.errors = errors.iter().map(|d| describe(&label, d)).collect();
                self.error_items = errors;
                return;
            }
        };
        self.errors.clear();
        self.error_items.clear();
        self.warnings = warnings.iter().map(|d| describe(&label, d)).collect();
        let model = Arc::new(model);
        let layout_only = self
            .running_text
            .as_deref()
            .is_some_and(|r| only_layout_differs(r, &text));
        self.running_text = Some(text);
        let running = self
            .snapshot
            .clone()
            .filter(|_| !fresh && self.worker.is_some());
        let Some(snap) = running else {
            self.overrides.clear();
            self.param_edit = None;
            self.base_model = Some(Arc::clone(&model));
            self.selected = None;
            self.reselect = None;
            self.carry_view = false;
            if let Some(w) = &self.worker {
                w.send(Command::Load(model));
            } else {
                let ctx = self.ctx.clone();
                self.worker = Some(Worker::start(
                    model,
                    Box::new(move || ctx.request_repaint()),
                ));
            }
            return;
        };
        if layout_only {
            if let Some(d) = &mut self.diagram {
                // Nodes the layout no longer names go back to their automatic places.
                d.place(&Diagram::new(&model, &snap.live).positions());
            }
            self.base_model = Some(model);
            return;
        }
        let (interventions, dropped) = renumber(&snap.model, &model, &snap.interventions);
        let same_parts = self.base_model.as_ref().is_some_and(|b| {
            b.components
                .iter()
                .map(|c| &c.name)
                .eq(model.components.iter().map(|c| &c.name))
        });
        let mut notes = Vec::new();
        if !same_parts && !self.overrides.is_empty() {
            notes.push("the what-if parameters were dropped (the parts changed)".to_string());
            self.overrides.clear();
            self.param_edit = None;
        }
        if dropped > 0 {
            notes.push(format!(
                "{dropped} live change(s) dropped: their part is gone or changed kind"
            ));
        }
        let mut run = (*model).clone();
        for (_, change) in &self.overrides {
            model::scenario::apply(change, &mut run.components, &mut run.workloads);
        }
        self.send(Command::Rebase(Arc::new(run), interventions));
        self.base_model = Some(model);
        self.carry_view = true;
        if self.reselect.is_none() {
            self.reselect = self.selection_by_name();
        }
        if !notes.is_empty() {
            self.status = Some(format!("Re-run from the start; {}.", notes.join("; ")));
        }
    }

    /// The selection, by name, to find again in the rebuilt diagram.
    fn selection_by_name(&self) -> Option<Reselect> {
        let d = self.diagram.as_ref()?;
        match self.selected.as_ref()? {
            Target::Node(n) => d.nodes.get(*n).map(|n| Reselect::Node(n.name.clone())),
            Target::Edge(link) => {
                let l = self.snapshot.as_ref()?.live.links.get(*link)?;
                Some(Reselect::Edge(l.from.clone(), l.to.clone()))
            }
        }
    }

    /// Makes an edit of the model's text and runs the result. Returns whether the text
    /// changed; an edit that cannot be made says why in the status line.
    pub(super) fn edit(
        &mut self,
        what: &str,
        change: impl FnOnce(&mut Document) -> Result<(), EditError>,
    ) -> Result<bool, EditError> {
        let Some(editor) = &mut self.editor else {
            return Ok(false);
        };
        let changed = editor.edit(what, change)?;
        if changed {
            self.status = Some(format!("{} (Ctrl+Z undoes it)", capitalised(what)));
            self.after_text_change(false);
            self.write_recovery(false);
        }
        Ok(changed)
    }

    /// [`Self::edit`], with a refusal shown in the status line.
    fn edit_or_say(
        &mut self,
        what: &str,
        change: impl FnOnce(&mut Document) -> Result<(), EditError>,
    ) -> bool {
        match self.edit(what, change) {
            Ok(changed) => changed,
            Err(e) => {
                self.status = Some(format!("Could not {what}: {e}"));
                false
            }
        }
    }

    /// The selected component's or workload's name.
    fn selected_name(&self) -> Option<String> {
        match self.selected.as_ref()? {
            Target::Node(n) => self.diagram.as_ref()?.nodes.get(*n).map(|n| n.name.clone()),
            Target::Edge(_) => None,
        }
    }

    /// Adds a part at `at` (diagram units; the middle of the view when `None`), wired to
    /// the selected part where that makes sense, and selects it.
    pub(super) fn add_part(&mut self, part: Part, at: Option<[f64; 2]>) {
        let Some(diagram) = &self.diagram else {
            return;
        };
        let place = at.unwrap_or_else(|| diagram.free_spot(diagram.position_at(None)));
        let mut positions = diagram.positions();
        // A part may bring others along (a balancer its service): their places, below it.
        let spots: Vec<[f64; 2]> = (1..=2)
            .map(|k| diagram.free_spot([place[0], place[1] + COMPANION_OFFSET * f64::from(k)]))
            .collect();
        let near = self.selected_name();
        let mut added = String::new();
        let made = self.edit_or_say(&format!("add a {}", part.label()), |d| {
            let before: Vec<String> = palette::components(d);
            added = palette::add(d, part, near.as_deref())?;
            positions.push((added.clone(), place));
            let companions = palette::components(d)
                .into_iter()
                .filter(|c| *c != added && !before.contains(c));
            for (c, spot) in companions.zip(spots) {
                positions.push((c, spot));
            }
            *d = Document::parse(&with_layout(d.text(), &positions))?;
            Ok(())
        });
        if made {
            self.reselect = Some(Reselect::Node(added));
        }
    }

    /// Connects two nodes of the diagram (a drag from one's handle onto the other).
    pub(super) fn connect_nodes(&mut self, from: usize, to: usize) {
        let Some(d) = &self.diagram else {
            return;
        };
        let (Some(a), Some(b)) = (d.nodes.get(from), d.nodes.get(to)) else {
            return;
        };
        let (a, b) = (a.name.clone(), b.name.clone());
        let mut said = String::new();
        if self.edit_or_say(&format!("connect {a} to {b}"), |d| {
            said = palette::connect(d, &a, &b)?;
            Ok(())
        }) {
            self.status = Some(format!("{said} (Ctrl+Z undoes it)"));
            self.reselect = Some(Reselect::Edge(a, b));
        }
    }

    /// A node's drag ended: its place goes into the model's layout, as an edit.
    pub(super) fn keep_moved_nodes(&mut self) {
        let Some(d) = &self.diagram else {
            return;
        };
        let positions = d.positions();
        let Some(text) = self
            .editor
            .as_ref()
            .map(|e| with_layout(e.text(), &positions))
        else {
            return;
        };
        let changed = self
            .editor
            .as_mut()
            .is_some_and(|e| e.replace("move a node", text));
        if changed {
            self.after_text_change(false);
            self.write_recovery(false);
        }
    }

    /// Makes what the inspector asked for.
    pub(super) fn apply_field_edit(&mut self, edit: FieldEdit) {
        match edit {
            FieldEdit::Set { path, value } => {
                let key = path.rsplit('.').next().unwrap_or(&path).to_string();
                match self.edit(&format!("set {key} to {value}"), |d| d.set(&path, &value)) {
                    Ok(_) => self.fields.applied(&path),
                    Err(e) => self.fields.refuse(&path, e.to_string()),
                }
            }
            FieldEdit::Remove { path } => {
                let key = path.rsplit('.').next().unwrap_or(&path).to_string();
                self.edit_or_say(&format!("remove {key}"), |d| d.remove(&path));
            }
            FieldEdit::Rename { from, to } => {
                if self.edit_or_say(&format!("rename {from} to {to}"), |d| {
                    d.rename_component(&from, &to)
                }) {
                    self.reselect = Some(Reselect::Node(to));
                }
            }
            FieldEdit::Delete { name } => self.ask_to_delete(&name),
        }
    }

    /// Asks before deleting, naming what else would go (found by deleting on a copy).
    pub(super) fn ask_to_delete(&mut self, name: &str) {
        let Some(mut copy) = self.editor.as_ref().and_then(|e| e.document().cloned()) else {
            return;
        };
        match copy.delete_component(name) {
            Ok(removed) => self.confirm_delete = Some((name.to_string(), removed.also)),
            Err(e) => self.status = Some(format!("Could not delete {name}: {e}")),
        }
    }

    pub(super) fn delete_dialog(&mut self, ctx: &egui::Context) {
        let Some((name, also)) = self.confirm_delete.clone() else {
            return;
        };
        let mut decided = None;
        egui::Modal::new(egui::Id::unique("confirm-delete")).show(ctx, |ui| {
            ui.heading(format!("Delete {name}?"));
            if also.is_empty() {
                ui.label("Nothing else refers to it.");
            } else {
                ui.label("These go with it:");
                for a in &also {
                    ui.label(RichText::new(format!("  {a}")).monospace());
                }
            }
            ui.horizontal(|ui| {
                if ui.button("Delete").clicked() {
                    decided = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    decided = Some(false);
                }
            });
        });
        match decided {
            Some(true) => {
                self.confirm_delete = None;
                if self.edit_or_say(&format!("delete {name}"), |d| {
                    d.delete_component(&name).map(|_| ())
                }) {
                    self.selected = None;
                }
            }
            Some(false) => self.confirm_delete = None,
            None => {}
        }
    }

    pub(super) fn undo(&mut self) {
        if let Some(what) = self.editor.as_mut().and_then(Editor::undo) {
            self.status = Some(format!("Undone: {what}"));
            self.after_text_change(false);
            self.write_recovery(false);
        }
    }

    pub(super) fn redo(&mut self) {
        if let Some(what) = self.editor.as_mut().and_then(Editor::redo) {
            self.status = Some(format!("Redone: {what}"));
            self.after_text_change(false);
            self.write_recovery(false);
        }
    }

    /// Saves to the model's file, or asks where when it has none. Returns whether it saved.
    pub(super) fn save(&mut self) -> bool {
        if let Some(p) = self.source.path().map(Path::to_path_buf) {
            self.save_to(&p)
        } else if let Source::Sketch(Some(p)) = &self.source
            && !p.exists()
        {
            // `archsim new FILE` named the file; one made since is not overwritten unasked.
            let p = p.clone();
            self.save_to(&p)
        } else {
            self.show_file_dialog(Mode::SaveAs);
            false
        }
    }

    /// Writes the model's text to `path` atomically; the path becomes the model's file.
    pub(super) fn save_to(&mut self, path: &Path) -> bool {
        let Some(editor) = &mut self.editor else {
            return false;
        };
        if let Err(e) = editor.save_to(path) {
            self.status = Some(format!("Could not save {}: {e}", path.display()));
            return false;
        }
        self.written = Some(editor.text().to_string());
        if self.source.path() != Some(path) {
            // What was kept for the unsaved sketch (or the old name) is saved now.
            self.write_recovery(true);
            self.source = Source::File(path.to_path_buf());
            self.watch = files::watch(path, &self.ctx);
        }
        files::remember_recent(&mut self.recent, self.state_dir.as_deref(), path);
        self.disk_conflict = None;
        self.status = Some(format!("Saved to {}", path.display()));
        self.write_recovery(false);
        true
    }

    pub(super) fn show_file_dialog(&mut self, mode: Mode) {
        let current = match &self.source {
            Source::Sketch(Some(p)) => Some(p.as_path()),
            other => other.path(),
        };
        self.file_dialog = Some(FileDialog::new(mode, current));
    }

    /// Suggests `<model>-<m>m<s>s.png` beside the model (or in the working directory).
    pub(super) fn show_export_dialog(&mut self) {
        let current = match &self.source {
            Source::Sketch(Some(p)) => Some(p.clone()),
            other => other.path().map(Path::to_path_buf),
        };
        let now = self
            .snapshot
            .as_ref()
            .map_or(0, |s| s.live.now.as_nanos() / 1_000_000_000);
        let stem = current
            .as_deref()
            .and_then(Path::file_stem)
            .map_or("diagram".into(), |s| s.to_string_lossy().into_owned());
        let name = format!("{stem}-{}m{:02}s.png", now / 60, now % 60);
        let folder = current
            .as_deref()
            .and_then(Path::parent)
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(
                || std::env::current_dir().unwrap_or_default(),
                Path::to_path_buf,
            );
        self.file_dialog = Some(FileDialog::export(&folder.join(name)));
    }

    pub(super) fn file_dialog_window(&mut self, ctx: &egui::Context) {
        let Some(mut dialog) = self.file_dialog.take() else {
            return;
        };
        match dialog.show(ctx, &self.recent) {
            None => self.file_dialog = Some(dialog),
            Some(Choice::Cancel) => self.after_save = None,
            Some(Choice::Path(p)) => match dialog.mode {
                Mode::Open => self.request_open(ctx, Source::File(p)),
                Mode::Export => self.export_diagram(&p),
                Mode::SaveAs => {
                    let waiting = self.after_save.take();
                    if self.save_to(&p)
                        && let Some(pending) = waiting
                    {
                        if self.has_unsaved_changes() {
                            // Live changes of the run are still to be decided on.
                            self.pending = Some(pending);
                        } else {
                            self.carry_out(ctx, pending);
                        }
                    }
                }
            },
            Some(Choice::Lesson(p)) => self.open_lesson_file(&p),
            Some(Choice::BuiltIn) => self.request_open(ctx, Source::Embedded),
            Some(Choice::NewSketch) => self.request_open(ctx, Source::Sketch(None)),
        }
    }

    /// New, Open, Save, Save as, Undo and Redo, in the top bar.
    pub(super) fn file_buttons(&mut self, ui: &mut egui::Ui) {
        if ui
            .button("New")
            .on_hover_text("A new sketch to draw (Ctrl+N)")
            .clicked()
        {
            self.request_open(&self.ctx.clone(), Source::Sketch(None));
        }
        if ui.button("Open…").on_hover_text("Ctrl+O").clicked() {
            self.show_file_dialog(Mode::Open);
        }
        let unsaved = self.has_unsaved_edits();
        if ui
            .add_enabled(unsaved, egui::Button::new("Save"))
            .on_hover_text("Write the model file (Ctrl+S)")
            .clicked()
        {
            self.save();
        }
        if ui
            .button("Save as…")
            .on_hover_text("Ctrl+Shift+S")
            .clicked()
        {
            self.show_file_dialog(Mode::SaveAs);
        }
        if ui
            .add_enabled(self.snapshot.is_some(), egui::Button::new("Export…"))
            .on_hover_text("The diagram as it is now, as an SVG or PNG picture")
            .clicked()
        {
            self.show_export_dialog();
        }
        let undo = self
            .editor
            .as_ref()
            .and_then(Editor::undo_label)
            .map(str::to_string);
        if ui
            .add_enabled(undo.is_some(), egui::Button::new("Undo"))
            .on_hover_text(undo.map_or("Nothing to undo".into(), |w| format!("Undo: {w} (Ctrl+Z)")))
            .clicked()
        {
            self.undo();
        }
        let redo = self
            .editor
            .as_ref()
            .and_then(Editor::redo_label)
            .map(str::to_string);
        if ui
            .add_enabled(redo.is_some(), egui::Button::new("Redo"))
            .on_hover_text(redo.map_or("Nothing to redo".into(), |w| {
                format!("Redo: {w} (Ctrl+Shift+Z)")
            }))
            .clicked()
        {
            self.redo();
        }
    }

    /// The parts to add: click one to put it in the middle of the view, or drag it to
    /// where it goes.
    pub(super) fn palette(&mut self, ui: &mut egui::Ui) {
        ui.label(RichText::new("Add").strong());
        for part in Part::ALL {
            let button = egui::Button::new(part.label()).sense(egui::Sense::click_and_drag());
            let r = ui
                .add_sized([104.0, 24.0], button)
                .on_hover_text(part.hint());
            if r.clicked() {
                self.add_part(part, None);
            }
            if r.drag_started() {
                egui::DragAndDrop::set_payload(ui.ctx(), part);
            }
            if r.dragged()
                && let Some(at) = ui.ctx().pointer_interact_pos()
            {
                // What is being carried, under the pointer, until it is dropped.
                let painter = ui.ctx().layer_painter(egui::LayerId::new(
                    egui::Order::Tooltip,
                    egui::Id::unique("palette-drag"),
                ));
                painter.text(
                    at + egui::vec2(12.0, 0.0),
                    egui::Align2::LEFT_CENTER,
                    format!("+ {}", part.label()),
                    egui::FontId::proportional(14.0),
                    ui.visuals().strong_text_color(),
                );
            }
        }
        ui.add_space(8.0);
        ui.label(
            RichText::new("Connect: drag from a part's handle (its right edge) onto another.")
                .weak()
                .small(),
        );
    }

    /// A part dropped from the palette onto the diagram at `pointer`.
    pub(super) fn take_dropped_part(&mut self, view: egui::Rect) {
        let released = self.ctx.input(|i| i.pointer.any_released());
        let at = self.ctx.input(|i| i.pointer.interact_pos());
        if !released {
            return;
        }
        let Some(at) = at.filter(|p| view.contains(*p)) else {
            return;
        };
        if let Some(part) = egui::DragAndDrop::take_payload::<Part>(&self.ctx) {
            let place = self.diagram.as_ref().map(|d| d.position_at(Some(at)));
            self.add_part(*part, place);
        }
    }

    /// The selected part's properties, editable; an edge shows the calls it stands for.
    pub(super) fn property_editor(&mut self, ui: &mut egui::Ui) {
        let Some(document) = self.editor.as_ref().and_then(|e| e.document().cloned()) else {
            ui.label(
                RichText::new("The file is not valid YAML: fix it on disk, or undo.")
                    .color(Color32::from_rgb(240, 130, 130)),
            );
            return;
        };
        let shown = Shown {
            document: &document,
            errors: &self.error_items,
        };
        let edit = match self.selected.clone() {
            Some(Target::Node(n)) => {
                let Some(node) = self.diagram.as_ref().and_then(|d| d.nodes.get(n)) else {
                    return;
                };
                let name = node.name.clone();
                ui.label(RichText::new("Properties").strong());
                if node.component.is_some() {
                    properties::component(ui, &mut self.fields, &shown, &name)
                } else if let Some(i) = palette::workload_index(&document, &name) {
                    properties::part(ui, &mut self.fields, &shown, &format!("workloads.{i}"))
                } else {
                    None
                }
            }
            Some(Target::Edge(link)) => {
                let Some(l) = self.snapshot.as_ref().and_then(|s| s.live.links.get(link)) else {
                    return;
                };
                let places = palette::calls_between(&document, &l.from, &l.to);
                ui.label(RichText::new("What this connection is in the model").strong());
                if places.is_empty() {
                    ui.label(RichText::new("Nothing to set here: select either end.").weak());
                }
                let mut edit = None;
                for place in places {
                    ui.label(RichText::new(&place).monospace().weak());
                    if let Some(e) = properties::part(ui, &mut self.fields, &shown, &place) {
                        edit = Some(e);
                    }
                }
                edit
            }
            None => None,
        };
        if let Some(e) = edit {
            self.apply_field_edit(e);
        }
    }

    /// Keys that act on the whole app; the single keys only while no field is typed in.
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, Modifiers};
        let typing = ctx.memory(|m| m.focused().is_some());
        let shift = Modifiers::COMMAND | Modifiers::SHIFT;
        let pressed = |m: Modifiers, k: Key| ctx.input_mut(|i| i.consume_key(m, k));
        if pressed(shift, Key::S) {
            self.show_file_dialog(Mode::SaveAs);
        }
        if pressed(Modifiers::COMMAND, Key::S) {
            self.save();
        }
        if pressed(Modifiers::COMMAND, Key::O) {
            self.show_file_dialog(Mode::Open);
        }
        if pressed(Modifiers::COMMAND, Key::N) {
            self.request_open(ctx, Source::Sketch(None));
        }
        if typing {
            return;
        }
        if pressed(shift, Key::Z) || pressed(Modifiers::COMMAND, Key::Y) {
            self.redo();
        }
        if pressed(Modifiers::COMMAND, Key::Z) {
            self.undo();
        }
        if pressed(Modifiers::NONE, Key::Delete)
            && let Some(name) = self.selected_name()
            && self.selected_component().is_some()
        {
            self.ask_to_delete(&name);
        }
        if pressed(Modifiers::NONE, Key::F)
            && let Some(d) = &mut self.diagram
        {
            d.fitted = true;
        }
        if pressed(Modifiers::NONE, Key::Space)
            && let Some(s) = &self.snapshot
        {
            self.send(if s.playing {
                Command::Pause
            } else {
                Command::Play
            });
        }
    }

    fn selected_component(&self) -> Option<usize> {
        match self.selected.as_ref()? {
            Target::Node(n) => self.diagram.as_ref()?.nodes.get(*n)?.component,
            Target::Edge(_) => None,
        }
    }

    pub(super) fn update_title(&mut self, ctx: &egui::Context) {
        let title = match &self.lesson {
            Some(v) => format!("{} — lesson — archsim", v.lesson.title),
            None => window_title(&self.source, self.has_unsaved_edits()),
        };
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    /// The file changed on disk while the app holds unsaved edits: which to keep.
    pub(super) fn disk_conflict_banner(&mut self, ui: &mut egui::Ui) {
        let Some(on_disk) = self.disk_conflict.clone() else {
            return;
        };
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("The file changed on disk, and you have unsaved edits here.")
                    .color(Color32::from_rgb(235, 170, 40)),
            );
            if ui
                .button("Take the file's")
                .on_hover_text("Your edits stay in the history: Ctrl+Z brings them back")
                .clicked()
            {
                if let Some(e) = &mut self.editor {
                    e.changed_on_disk(on_disk);
                }
                self.disk_conflict = None;
                self.after_text_change(false);
                self.write_recovery(false);
            }
            if ui
                .button("Keep mine")
                .on_hover_text("Saving writes your version over the file's")
                .clicked()
            {
                self.disk_conflict = None;
            }
        });
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
