//! The app's files: opening a model, watching it for changes made in an editor, saving the
//! layout into it, and keeping unsaved changes in a recovery file so that a crash or a kill
//! loses nothing.
//!
//! Owns every read and write of the file system the app does. Must never: write the model
//! file other than atomically (a temporary file renamed over it), or drop a change the user
//! has not saved or discarded.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};

use eframe::egui::{self, Color32, RichText};

use super::changes::interventions_yaml;
use super::{ArchsimApp, Pending, Source};
use crate::model;

impl ArchsimApp {
    pub(super) fn poll_files(&mut self, ctx: &egui::Context, time: f64) {
        if let Some(w) = &self.watch
            && w.changes.try_iter().count() > 0
        {
            self.reload_at = Some(time + 0.2);
        }
        if let Some(at) = self.reload_at {
            if time >= at {
                self.reload_at = None;
                let own_save = match (&self.source, &self.written) {
                    (Source::File(p), Some(w)) => std::fs::read_to_string(p).is_ok_and(|t| t == *w),
                    _ => false,
                };
                if !own_save {
                    self.load(ctx);
                }
            } else {
                ctx.request_repaint_after(std::time::Duration::from_millis(50));
            }
        }
    }

    pub(super) fn open_window(&mut self, ctx: &egui::Context) {
        let Some(mut path) = self.open_dialog.take() else {
            return;
        };
        let mut keep = true;
        let mut chosen: Option<PathBuf> = None;
        egui::Window::new("Open a model")
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label("Path of a model file (YAML):");
                let field = ui.text_edit_singleline(&mut path);
                if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    chosen = Some(PathBuf::from(path.trim()));
                }
                let bundled = bundled_models();
                if !bundled.is_empty() {
                    ui.label("Bundled models:");
                    for p in bundled {
                        if ui.link(p.display().to_string()).clicked() {
                            chosen = Some(p);
                        }
                    }
                }
                ui.horizontal(|ui| {
                    if ui.button("Open").clicked() {
                        chosen = Some(PathBuf::from(path.trim()));
                    }
                    if ui.button("Built-in example").clicked() {
                        keep = false;
                        self.request_open(ui.ctx(), Source::Embedded);
                    }
                    if ui.button("Cancel").clicked() {
                        keep = false;
                    }
                });
            });
        if let Some(p) = chosen {
            self.request_open(ctx, Source::File(p));
            keep = false;
        }
        if keep {
            self.open_dialog = Some(path);
        }
    }

    pub(super) fn save_layout(&mut self, path: &Path) {
        let Some(d) = &self.diagram else {
            return;
        };
        let positions = d.positions();
        let result = std::fs::read_to_string(path).and_then(|text| {
            let new = model::write::with_layout(&text, &positions);
            // Write beside it and rename over it, so a crash mid-write never leaves half a
            // model.
            let tmp = path.with_extension("yaml.archsim-tmp");
            std::fs::write(&tmp, &new)?;
            std::fs::rename(&tmp, path)?;
            Ok(new)
        });
        match result {
            Ok(new) => {
                self.written = Some(new);
                if let Some(d) = &mut self.diagram {
                    d.positions_edited = false;
                }
                self.status = Some(format!("Layout saved to {}", path.display()));
                self.write_recovery(true);
            }
            Err(e) => {
                self.status = Some(format!(
                    "Could not save the layout: {}: {e}",
                    path.display()
                ));
            }
        }
    }

    /// Keeps a copy of unsaved changes (moved nodes, live changes) outside the model, so
    /// that a crash or a kill loses nothing; removed once nothing is unsaved.
    pub(super) fn write_recovery(&mut self, saved: bool) {
        let Some(path) = recovery_path(&self.source) else {
            return;
        };
        let unsaved = !saved && self.has_unsaved_changes();
        if !unsaved {
            if self.recovered.take().is_some() {
                let _ = std::fs::remove_file(&path);
            }
            return;
        }
        let mut text = format!(
            "# Unsaved changes to {} kept by archsim.\n# The layout can be restored in the app; the faults are the live changes, to paste under `faults:`.\n",
            self.source.label()
        );
        if let Some(d) = self.diagram.as_ref().filter(|d| d.positions_edited) {
            text = model::write::with_layout(&text, &d.positions());
        }
        if let Some(s) = &self.snapshot
            && !s.interventions.is_empty()
        {
            text.push_str("faults:\n");
            text.push_str(&interventions_yaml(s));
        }
        if self.recovered.as_deref() != Some(text.as_str()) {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if std::fs::write(&path, &text).is_ok() {
                self.recovered = Some(text);
            }
        }
    }

    pub(super) fn unsaved_dialog(&mut self, ctx: &egui::Context) {
        let Some(pending) = self.pending.clone() else {
            return;
        };
        let mut decided: Option<bool> = None;
        egui::Modal::new(egui::Id::unique("unsaved-changes")).show(ctx, |ui| {
            ui.heading("Unsaved changes");
            let moved = self.diagram.as_ref().is_some_and(|d| d.positions_edited);
            let changes = self.snapshot.as_ref().map_or(0, |s| s.interventions.len());
            if moved {
                ui.label("You moved nodes of the diagram.");
            }
            if changes > 0 {
                ui.label(format!("You made {changes} change(s) to this run."));
            }
            ui.horizontal(|ui| {
                if let Source::File(path) = self.source.clone()
                    && moved
                    && ui.button("Save layout").clicked()
                {
                    self.save_layout(&path);
                }
                if changes > 0
                    && let Some(s) = &self.snapshot
                    && ui.button("Copy changes as faults (YAML)").clicked()
                {
                    ui.ctx().copy_text(interventions_yaml(s));
                }
                if ui.button("Discard").clicked() {
                    decided = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    decided = Some(false);
                }
            });
        });
        match decided {
            Some(true) => {
                self.pending = None;
                if let Some(d) = &mut self.diagram {
                    d.positions_edited = false;
                }
                self.write_recovery(true);
                match pending {
                    Pending::Open(source) => self.open(ctx, source),
                    Pending::Close => {
                        self.closing = true;
                        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    }
                }
            }
            Some(false) => self.pending = None,
            None => {}
        }
    }

    pub(super) fn recovery_banner(&mut self, ui: &mut egui::Ui) {
        let Some((path, positions)) = self.recovery_offer.clone() else {
            return;
        };
        ui.horizontal(|ui| {
            ui.label(
                RichText::new(format!(
                    "Unsaved changes from an earlier session are kept in {}",
                    path.display()
                ))
                .color(Color32::from_rgb(235, 170, 40)),
            );
            if !positions.is_empty() && ui.button("Restore layout").clicked() {
                if let Some(d) = &mut self.diagram {
                    d.place(&positions);
                    d.positions_edited = true;
                }
                self.recovery_offer = None;
            }
            if ui.button("Dismiss").clicked() {
                self.recovery_offer = None;
            }
        });
    }
}

pub(super) struct Watch {
    // Kept alive for as long as the file is watched.
    _watcher: notify::RecommendedWatcher,
    changes: Receiver<()>,
}

pub(super) fn watch(path: &Path, ctx: &egui::Context) -> Option<Watch> {
    use notify::Watcher as _;
    let (tx, changes) = channel();
    let file_name = path.file_name()?.to_owned();
    let ctx = ctx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event
            && e.paths.iter().any(|p| p.file_name() == Some(&file_name))
            && (e.kind.is_modify() || e.kind.is_create())
        {
            let _ = tx.send(());
            ctx.request_repaint();
        }
    })
    .ok()?;
    // Editors often save by writing a new file and renaming it over the old one: watch the
    // directory, not the file.
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    watcher
        .watch(dir, notify::RecursiveMode::NonRecursive)
        .ok()?;
    Some(Watch {
        _watcher: watcher,
        changes,
    })
}

/// Where unsaved changes to a model file are kept: the user's state directory, one file per
/// model path. `None` for the built-in model, or with no home directory.
pub(super) fn recovery_path(source: &Source) -> Option<PathBuf> {
    let Source::File(path) = source else {
        return None;
    };
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
    // FNV-1a of the full path: stable across runs and platforms, unlike std's hasher.
    let hash = full
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let stem = path
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().into_owned());
    Some(
        state
            .join("archsim")
            .join("recovery")
            .join(format!("{stem}-{hash:016x}.yaml")),
    )
}

/// The `layout:` positions in a recovery file (empty when it has none or is unreadable).
pub(super) fn recovered_layout(text: &str) -> Vec<(String, [f64; 2])> {
    let Ok(root) = model::yaml::parse(text) else {
        return Vec::new();
    };
    let model::yaml::NodeKind::Map(top) = &root.kind else {
        return Vec::new();
    };
    let Some((_, layout)) = top.iter().find(|(k, _)| k.as_scalar() == Some("layout")) else {
        return Vec::new();
    };
    let model::yaml::NodeKind::Map(entries) = &layout.kind else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(k, v)| {
            let model::yaml::NodeKind::Seq(xy) = &v.kind else {
                return None;
            };
            let n: Vec<f64> = xy
                .iter()
                .filter_map(|i| i.as_scalar()?.parse().ok())
                .collect();
            let name = k.as_scalar()?.to_string();
            (n.len() == 2).then(|| (name, [n[0], n[1]]))
        })
        .collect()
}

/// The bundled models beside the working directory, if there are any.
pub(super) fn bundled_models() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("models")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}
