//! The app's files: opening a model, watching it for changes made in an editor, the
//! recent files, and keeping unsaved edits in a recovery file so that a crash or a kill
//! loses nothing.
//!
//! Owns every read and write of the file system the app does besides saving (the
//! editor's). Must never: write other than atomically (a temporary file renamed over the
//! old one), or drop a change the user has not saved or discarded.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};

use eframe::egui::{self, Color32, RichText};

use super::changes::interventions_yaml;
use super::editor::write_atomic;
use super::{ArchsimApp, Pending, Source};

/// The line after which a recovery file holds the run's live changes, as comments: what
/// is above it is the model's text as it was being edited.
const LIVE_CHANGES_MARKER: &str =
    "# archsim: the live changes of this run, to paste under `faults:` to replay them:";

/// How many recent files the Open dialog lists.
const RECENT_KEPT: usize = 10;

impl ArchsimApp {
    pub(super) fn poll_files(&mut self, ctx: &egui::Context, time: f64) {
        if let Some(w) = &self.watch
            && w.changes.try_iter().count() > 0
        {
            self.reload_at = Some(time + 0.2);
        }
        let Some(at) = self.reload_at else {
            return;
        };
        if time < at {
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
            return;
        }
        self.reload_at = None;
        let Some(path) = self.source.path().map(Path::to_path_buf) else {
            return;
        };
        let Ok(on_disk) = std::fs::read_to_string(&path) else {
            return;
        };
        let own_save = self.written.as_deref() == Some(on_disk.as_str());
        let same = self.editor.as_ref().is_some_and(|e| e.text() == on_disk);
        if own_save || same {
            return;
        }
        if self.has_unsaved_edits() {
            self.disk_conflict = Some(on_disk);
            return;
        }
        if let Some(e) = &mut self.editor {
            e.changed_on_disk(on_disk);
        }
        self.after_text_change(false);
    }

    /// Keeps a copy of unsaved edits (the model's text as edited, and the run's live
    /// changes) outside the model, so that a crash or a kill loses nothing; removed once
    /// nothing is unsaved, or when `discard`.
    pub(super) fn write_recovery(&mut self, discard: bool) {
        let Some(path) = recovery_path(self.state_dir.as_deref(), &self.source) else {
            return;
        };
        if discard || !self.has_unsaved_changes() {
            if self.recovered.take().is_some() {
                let _ = std::fs::remove_file(&path);
            }
            return;
        }
        let mut text = self
            .editor
            .as_ref()
            .map_or_else(String::new, |e| e.text().to_string());
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        if let Some(s) = &self.snapshot
            && !s.interventions.is_empty()
        {
            let _ = writeln!(text, "{LIVE_CHANGES_MARKER}");
            for line in interventions_yaml(s).lines() {
                let _ = writeln!(text, "#{line}");
            }
        }
        if self.recovered.as_deref() != Some(text.as_str()) {
            self.keep_offered_recovery(&path);
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if write_atomic(&path, &text).is_ok() {
                self.recovered = Some(text);
            }
        }
    }

    /// Edits made while an earlier session's recovery is still offered would write over
    /// it: that file moves aside first (`NAME.earlier.yaml`), and the offer follows it.
    fn keep_offered_recovery(&mut self, path: &Path) {
        let Some((offered, kept)) = self.recovery_offer.clone() else {
            return;
        };
        if offered != path || !path.exists() {
            return;
        }
        let earlier = path.with_extension("earlier.yaml");
        if std::fs::rename(path, &earlier).is_ok() {
            self.recovery_offer = Some((earlier, kept));
        }
    }

    /// Does what waited on the unsaved-changes question, once it is answered.
    pub(super) fn carry_out(&mut self, ctx: &egui::Context, pending: Pending) {
        self.write_recovery(true);
        match pending {
            Pending::Open(source) => self.open(ctx, source),
            Pending::Close => {
                self.closing = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
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
            let edited = self.has_unsaved_edits();
            let changes = self.snapshot.as_ref().map_or(0, |s| s.interventions.len());
            if edited {
                ui.label(format!(
                    "{} has edits that are not saved.",
                    self.source.label()
                ));
            }
            if changes > 0 {
                ui.label(format!("You made {changes} live change(s) to this run."));
            }
            ui.horizontal(|ui| {
                if edited {
                    let label = if self.source.path().is_some() {
                        "Save"
                    } else {
                        "Save as…"
                    };
                    if ui.button(label).clicked() {
                        if self.save() {
                            decided = Some(!self.has_unsaved_changes());
                        } else {
                            // The Save as dialog takes over, and goes on with what waited
                            // once it has saved.
                            self.after_save = Some(pending.clone());
                            decided = Some(false);
                        }
                    }
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
                self.carry_out(ctx, pending);
            }
            Some(false) => self.pending = None,
            None => {}
        }
    }

    pub(super) fn recovery_banner(&mut self, ui: &mut egui::Ui) {
        let Some((path, kept)) = self.recovery_offer.clone() else {
            return;
        };
        let differs = self.editor.as_ref().is_some_and(|e| e.text() != kept);
        ui.horizontal(|ui| {
            ui.label(
                RichText::new(if differs {
                    format!(
                        "Edits from an earlier session that were not saved are kept in {}",
                        path.display()
                    )
                } else {
                    format!(
                        "Live changes of an earlier run are kept in {} (as faults to paste)",
                        path.display()
                    )
                })
                .color(Color32::from_rgb(235, 170, 40)),
            );
            if differs
                && ui
                    .button("Restore the edits")
                    .on_hover_text("Undo (Ctrl+Z) goes back to the file as saved")
                    .clicked()
            {
                if let Some(e) = &mut self.editor {
                    e.replace("restore the unsaved edits", kept);
                }
                self.recovery_offer = None;
                self.after_text_change(false);
                self.write_recovery(false);
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

/// Where the app keeps its state: `$XDG_STATE_HOME/archsim`, or `~/.local/state/archsim`.
pub(super) fn default_state_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("archsim"))
}

/// Where unsaved edits of a model are kept: one file per model path in the state
/// directory, and one each for the built-in model and a new sketch.
pub(super) fn recovery_path(state: Option<&Path>, source: &Source) -> Option<PathBuf> {
    let dir = state?.join("recovery");
    let path = match source {
        Source::Embedded => return Some(dir.join("built-in-default.yaml")),
        Source::Sketch(_) => return Some(dir.join("untitled-sketch.yaml")),
        Source::File(p) => p,
    };
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
    Some(dir.join(format!("{stem}-{hash:016x}.yaml")))
}

/// The model's text kept in a recovery file: everything above the live changes.
pub(super) fn recovered_text(file: &str) -> String {
    match file.find(LIVE_CHANGES_MARKER) {
        Some(at) => file[..at].to_string(),
        None => file.to_string(),
    }
}

fn recent_path(state: Option<&Path>) -> Option<PathBuf> {
    Some(state?.join("recent.txt"))
}

/// The recently opened models that still exist, newest first.
pub(super) fn read_recent(state: Option<&Path>) -> Vec<PathBuf> {
    let Some(text) = recent_path(state).and_then(|p| std::fs::read_to_string(p).ok()) else {
        return Vec::new();
    };
    text.lines()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .take(RECENT_KEPT)
        .collect()
}

/// Puts `path` first among the recent files, and keeps the list.
pub(super) fn remember_recent(recent: &mut Vec<PathBuf>, state: Option<&Path>, path: &Path) {
    let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    recent.retain(|p| *p != full);
    recent.insert(0, full);
    recent.truncate(RECENT_KEPT);
    if let Some(file) = recent_path(state) {
        let mut text = String::new();
        for p in recent.iter() {
            let _ = writeln!(text, "{}", p.display());
        }
        if let Some(dir) = file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = write_atomic(&file, &text);
    }
}
