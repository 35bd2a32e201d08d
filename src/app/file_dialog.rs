//! The Open and Save as dialog: a folder's sub-folders and model files to click through, a
//! path to type, the bundled models and the recently opened ones.
//!
//! Drawn with egui itself: `egui-file-dialog` 0.15 is built for egui 0.36, and a native
//! dialog (`rfd`) needs the desktop portal or GTK, which a machine without a desktop lacks.
//! Owns only the choice of a path; opening and saving are the caller's. Must never: touch a
//! file.

use std::path::{Path, PathBuf};

use eframe::egui::{self, RichText};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Open,
    SaveAs,
    /// A picture of the diagram (`.svg` or `.png`).
    Export,
}

/// What the user did in the dialog this frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Path(PathBuf),
    /// A lesson file to follow.
    Lesson(PathBuf),
    BuiltIn,
    NewSketch,
    Cancel,
}

#[derive(Debug, Clone)]
pub struct FileDialog {
    pub mode: Mode,
    folder: PathBuf,
    /// The path typed (or the file name, to save).
    typed: String,
    /// The model's own file, which Save as may write without asking.
    current: Option<PathBuf>,
    /// Another file chosen to save over, waiting for "Replace".
    replace: Option<PathBuf>,
}

impl FileDialog {
    /// Opens in the folder of `current` (or the working directory), with its name typed in.
    #[must_use]
    pub fn new(mode: Mode, current: Option<&Path>) -> Self {
        let folder = current
            .and_then(Path::parent)
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(
                || std::env::current_dir().unwrap_or_default(),
                Path::to_path_buf,
            );
        let typed = match (mode, current) {
            (_, Some(p)) => p.display().to_string(),
            (Mode::SaveAs, None) => folder.join("sketch.yaml").display().to_string(),
            (Mode::Open | Mode::Export, None) => String::new(),
        };
        FileDialog {
            mode,
            folder,
            typed,
            current: current.map(Path::to_path_buf),
            replace: None,
        }
    }

    /// Exports a picture: opens in `suggested`'s folder with its name typed in. Writing over
    /// any existing file asks first.
    #[must_use]
    pub fn export(suggested: &Path) -> Self {
        let mut dialog = Self::new(Mode::Export, Some(suggested));
        dialog.current = None;
        dialog
    }

    /// Draws the dialog; `Some` when the user has chosen.
    pub fn show(&mut self, ctx: &egui::Context, recent: &[PathBuf]) -> Option<Choice> {
        if let Some(target) = self.replace.clone() {
            return self.confirm_replace(ctx, &target);
        }
        let mut choice = None;
        let title = match self.mode {
            Mode::Open => "Open a model",
            Mode::SaveAs => "Save the model as",
            Mode::Export => "Export the diagram as SVG or PNG",
        };
        egui::Window::new(title)
            .collapsible(false)
            .resizable(true)
            .default_width(520.0)
            .show(ctx, |ui| {
                ui.label(RichText::new(self.folder.display().to_string()).weak());
                egui::ScrollArea::vertical()
                    .max_height(220.0)
                    .id_salt("folder")
                    .show(ui, |ui| {
                        if let Some(up) = self.folder.parent()
                            && ui.link("..  (the folder above)").clicked()
                        {
                            self.folder = up.to_path_buf();
                        }
                        let (folders, files) = entries(&self.folder);
                        for f in folders {
                            let name = f
                                .file_name()
                                .map_or(String::new(), |n| n.to_string_lossy().into_owned());
                            if ui.link(format!("{name}/")).clicked() {
                                self.folder = f;
                            }
                        }
                        for f in files {
                            let name = f
                                .file_name()
                                .map_or(String::new(), |n| n.to_string_lossy().into_owned());
                            let r = ui.link(name);
                            if r.clicked() {
                                self.typed = f.display().to_string();
                                if self.mode == Mode::Open {
                                    choice = Some(Choice::Path(f.clone()));
                                }
                            }
                        }
                    });
                ui.horizontal(|ui| {
                    let label = ui.label(match self.mode {
                        Mode::Open => "Path:",
                        Mode::SaveAs => "Save as:",
                        Mode::Export => "Export to:",
                    });
                    let field = ui
                        .add(
                            egui::TextEdit::singleline(&mut self.typed)
                                .desired_width(360.0)
                                .id_salt("file path"),
                        )
                        .labelled_by(label.id);
                    if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                        choice = self.typed_path().map(Choice::Path);
                    }
                });
                if self.mode == Mode::Open {
                    let bundled = bundled_models();
                    if !recent.is_empty() {
                        ui.label(RichText::new("Recent:").strong());
                        for p in recent {
                            if ui.link(p.display().to_string()).clicked() {
                                choice = Some(Choice::Path(p.clone()));
                            }
                        }
                    }
                    let lessons = crate::lesson::bundled();
                    if !lessons.is_empty() {
                        ui.label(RichText::new("Lessons:").strong());
                        for p in lessons {
                            if ui.link(p.display().to_string()).clicked() {
                                choice = Some(Choice::Lesson(p));
                            }
                        }
                    }
                    if !bundled.is_empty() {
                        ui.collapsing("Bundled models", |ui| {
                            for p in bundled {
                                if ui.link(p.display().to_string()).clicked() {
                                    choice = Some(Choice::Path(p));
                                }
                            }
                        });
                    }
                }
                ui.horizontal(|ui| {
                    let label = match self.mode {
                        Mode::Open => "Open",
                        Mode::SaveAs => "Save",
                        Mode::Export => "Export",
                    };
                    if ui.button(label).clicked() {
                        choice = self.typed_path().map(Choice::Path);
                    }
                    if self.mode == Mode::Open {
                        if ui.button("Built-in example").clicked() {
                            choice = Some(Choice::BuiltIn);
                        }
                        if ui.button("New sketch").clicked() {
                            choice = Some(Choice::NewSketch);
                        }
                    }
                    if ui.button("Cancel").clicked() {
                        choice = Some(Choice::Cancel);
                    }
                });
            });
        match choice {
            Some(Choice::Path(p))
                if matches!(self.mode, Mode::SaveAs | Mode::Export)
                    && p.exists()
                    && self.current.as_deref() != Some(p.as_path()) =>
            {
                self.replace = Some(p);
                None
            }
            other => other,
        }
    }

    /// Saving over another file asks first: it may be someone's model, and it has no undo.
    fn confirm_replace(&mut self, ctx: &egui::Context, target: &Path) -> Option<Choice> {
        let mut choice = None;
        egui::Modal::new(egui::Id::unique("replace-a-file")).show(ctx, |ui| {
            ui.heading("Replace the file?");
            ui.label(format!(
                "{} already exists. Saving replaces what it holds.",
                target.display()
            ));
            ui.horizontal(|ui| {
                if ui.button("Replace").clicked() {
                    choice = Some(Choice::Path(target.to_path_buf()));
                }
                if ui.button("Choose another name").clicked() {
                    self.replace = None;
                }
            });
        });
        choice
    }

    /// The typed path, relative to the folder shown; a name to save gets `.yaml`.
    fn typed_path(&self) -> Option<PathBuf> {
        let typed = self.typed.trim();
        if typed.is_empty() {
            return None;
        }
        let mut p = self.folder.join(typed);
        if self.mode == Mode::SaveAs && p.extension().is_none() {
            p.set_extension("yaml");
        }
        Some(p)
    }
}

/// A folder's sub-folders and YAML files, sorted, hidden ones left out.
fn entries(folder: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut folders = Vec::new();
    let mut files = Vec::new();
    if let Ok(dir) = std::fs::read_dir(folder) {
        for e in dir.filter_map(Result::ok) {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                folders.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(p);
            }
        }
    }
    folders.sort();
    files.sort();
    (folders, files)
}

/// The bundled models beside the working directory, if there are any.
#[must_use]
pub fn bundled_models() -> Vec<PathBuf> {
    entries(Path::new("models")).1
}
