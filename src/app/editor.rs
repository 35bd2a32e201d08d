//! The open model's text, as the one source of truth of what the app shows and runs, with
//! every edit made in the app on it, undo and redo, and saving.
//!
//! Owns the history of the text and what counts as saved. Edits are made by
//! [`crate::model::write::Document`], which keeps every untouched byte of the file; whether
//! the text is a valid model is decided by the same reader as a file's, by the caller. Must
//! never: lose a step of the history, or write the model file other than atomically.

use std::path::{Path, PathBuf};

use super::worker::{Action, Intervention};
use crate::model::write::{Document, EditError};
use crate::model::{ComponentId, FaultAction, Model};

/// One state of the text in the history, with what the edit that left it did.
#[derive(Debug, Clone)]
struct Step {
    text: String,
    what: String,
}

/// The open model's text and its history.
#[derive(Debug, Clone)]
pub struct Editor {
    /// Where Save writes; `None` for the built-in model and a new sketch (Save asks where).
    path: Option<PathBuf>,
    text: String,
    /// The text parsed as YAML; `None` while it is not valid YAML (edited outside the app),
    /// when only undo and edits on disk can change it.
    document: Option<Document>,
    /// The text as last read from or written to `path`.
    saved: Option<String>,
    undo: Vec<Step>,
    redo: Vec<Step>,
}

impl Editor {
    /// The text of a file (or the built-in model, with no path), as saved.
    #[must_use]
    pub fn new(path: Option<PathBuf>, text: String, saved: bool) -> Self {
        Editor {
            path,
            document: Document::parse(&text).ok(),
            saved: saved.then(|| text.clone()),
            text,
            undo: Vec::new(),
            redo: Vec::new(),
        }
    }

    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    #[must_use]
    pub fn document(&self) -> Option<&Document> {
        self.document.as_ref()
    }

    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether the text differs from what is on disk (a new sketch is never saved).
    #[must_use]
    pub fn is_unsaved(&self) -> bool {
        self.saved.as_deref() != Some(self.text.as_str())
    }

    /// Makes an edit on a copy of the document and keeps it when it succeeds and changes the
    /// text; the history gains one step.
    ///
    /// # Errors
    /// The text is not valid YAML, or the edit cannot be made (the text stays as it was).
    pub fn edit(
        &mut self,
        what: &str,
        change: impl FnOnce(&mut Document) -> Result<(), EditError>,
    ) -> Result<bool, EditError> {
        let mut document = self
            .document
            .clone()
            .ok_or_else(|| EditError::Syntax("fix the file's YAML first".into()))?;
        change(&mut document)?;
        let text = document.text().to_string();
        Ok(self.replace(what, text))
    }

    /// Replaces the whole text as one step of the history (a layout move, a restored
    /// recovery file, a change on disk). Returns whether the text changed.
    pub fn replace(&mut self, what: &str, text: String) -> bool {
        if text == self.text {
            return false;
        }
        let before = std::mem::replace(&mut self.text, text);
        self.undo.push(Step {
            text: before,
            what: what.to_string(),
        });
        self.redo.clear();
        self.document = Document::parse(&self.text).ok();
        true
    }

    /// What the next undo would take back.
    #[must_use]
    pub fn undo_label(&self) -> Option<&str> {
        self.undo.last().map(|s| s.what.as_str())
    }

    #[must_use]
    pub fn redo_label(&self) -> Option<&str> {
        self.redo.last().map(|s| s.what.as_str())
    }

    /// Takes back the last edit; returns what it did.
    pub fn undo(&mut self) -> Option<String> {
        let step = self.undo.pop()?;
        let after = std::mem::replace(&mut self.text, step.text);
        self.redo.push(Step {
            text: after,
            what: step.what.clone(),
        });
        self.document = Document::parse(&self.text).ok();
        Some(step.what)
    }

    /// Makes the last undone edit again; returns what it did.
    pub fn redo(&mut self) -> Option<String> {
        let step = self.redo.pop()?;
        let before = std::mem::replace(&mut self.text, step.text);
        self.undo.push(Step {
            text: before,
            what: step.what.clone(),
        });
        self.document = Document::parse(&self.text).ok();
        Some(step.what)
    }

    /// Writes the text to `path` (atomically), which becomes where Save writes.
    ///
    /// # Errors
    /// The file cannot be written; nothing changes then.
    pub fn save_to(&mut self, path: &Path) -> std::io::Result<()> {
        write_atomic(path, &self.text)?;
        self.path = Some(path.to_path_buf());
        self.saved = Some(self.text.clone());
        Ok(())
    }

    /// The text of the file changed on disk and is taken as saved: as an undoable step when
    /// it differs from what the app holds.
    pub fn changed_on_disk(&mut self, text: String) {
        self.replace("the change made on disk", text.clone());
        self.saved = Some(text);
    }
}

/// Writes beside the file and renames over it, so that a crash mid-write never leaves half a
/// model, and a reader (the file watcher, an editor) sees the old text or the new one.
///
/// # Errors
/// The directory is not writable, or the disk is full.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map_or("model".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.archsim-tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Whether two texts differ only in their `layout:` block, so that the run goes on.
#[must_use]
pub fn only_layout_differs(a: &str, b: &str) -> bool {
    use crate::model::write::with_layout;
    with_layout(a, &[]) == with_layout(b, &[])
}

/// The live changes of a run, renumbered for an edited model: components are found by name
/// (the reader numbers them by name, so adding one moves others), ended faults by their new
/// place. A change to a component that is gone, or is now of another kind, is dropped, and
/// so is the end of a dropped fault. Returns the changes kept and how many were dropped.
#[must_use]
pub fn renumber(
    old: &Model,
    new: &Model,
    interventions: &[Intervention],
) -> (Vec<Intervention>, usize) {
    let same_faults = old.faults.len() == new.faults.len();
    let map_component = |id: ComponentId| -> Option<ComponentId> {
        let was = old.components.get(id.0 as usize)?;
        let (i, now) = new
            .components
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == was.name)?;
        if now.kind.label() != was.kind.label() {
            return None;
        }
        Some(ComponentId(u32::try_from(i).ok()?))
    };
    let names_exist = |names: &[&String]| {
        names.iter().all(|n| {
            new.components.iter().any(|c| &c.name == *n)
                || new.workloads.iter().any(|w| &w.name == *n)
        })
    };
    // Where each injected fault of the old run is among the new run's faults.
    let mut injected: Vec<Option<usize>> = Vec::new();
    let mut kept = Vec::new();
    let mut dropped = 0;
    for i in interventions {
        let action = match &i.action {
            Action::Start(f) => {
                let mut f = f.clone();
                let target_ok = match f.target {
                    Some(t) => map_component(t).map(|n| f.target = Some(n)).is_some(),
                    None => true,
                };
                let names_ok = match &f.action {
                    FaultAction::Partition { groups } => {
                        names_exist(&groups.iter().flatten().collect::<Vec<_>>())
                    }
                    FaultAction::Link { a, b, .. } => names_exist(&[a, b]),
                    _ => true,
                };
                if target_ok && names_ok {
                    injected.push(Some(new.faults.len() + injected.iter().flatten().count()));
                    Some(Action::Start(f))
                } else {
                    injected.push(None);
                    None
                }
            }
            Action::End(index) => {
                if *index < old.faults.len() {
                    same_faults.then_some(Action::End(*index))
                } else {
                    injected
                        .get(index - old.faults.len())
                        .copied()
                        .flatten()
                        .map(Action::End)
                }
            }
        };
        match action {
            Some(action) => kept.push(Intervention { at: i.at, action }),
            None => dropped += 1,
        }
    }
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_and_redo_walk_the_history_both_ways() {
        let mut e = Editor::new(None, "a: 1\n".into(), true);
        assert!(e.edit("set a", |d| d.set("a", "2")).unwrap());
        assert!(e.edit("set a", |d| d.set("a", "3")).unwrap());
        assert!(e.is_unsaved());
        assert_eq!(e.undo().as_deref(), Some("set a"));
        assert_eq!(e.text(), "a: 2\n");
        e.undo();
        assert_eq!(e.text(), "a: 1\n");
        assert!(!e.is_unsaved());
        assert!(e.undo().is_none());
        e.redo();
        e.redo();
        assert_eq!(e.text(), "a: 3\n");
        // A new edit after an undo forgets what could be redone.
        e.undo();
        e.edit("set a", |d| d.set("a", "4")).unwrap();
        assert!(e.redo().is_none());
    }

    #[test]
    fn a_failed_edit_leaves_the_text_and_history_alone() {
        let mut e = Editor::new(None, "a: 1\n".into(), true);
        assert!(e.edit("set b.c", |d| d.set("b.c", "2")).is_err());
        assert_eq!(e.text(), "a: 1\n");
        assert!(e.undo_label().is_none());
    }

    #[test]
    fn layout_moves_are_told_apart_from_model_edits() {
        let a = "x: 1\nlayout:\n  db: [1, 2]\n";
        assert!(only_layout_differs(a, "x: 1\nlayout:\n  db: [5, 2]\n"));
        assert!(only_layout_differs("x: 1\n", a));
        assert!(!only_layout_differs(a, "x: 2\nlayout:\n  db: [1, 2]\n"));
    }
}
