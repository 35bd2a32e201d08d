//! The inspector's property editor: every key of the selected part as it stands in the
//! model's text, each value in a field typed as in YAML (`5ms`, `250/s`, `99.9%`,
//! `exp 10ms`), the keys the format allows to add, and the reader's message beside the
//! field it is about.
//!
//! Owns the fields and what was typed into them; it only reads the [`Document`] and says
//! which edit the user asked for ([`FieldEdit`]), which the app makes and re-reads. Must
//! never: decide whether a value is valid (that is the reader's, on the edited text).

use std::collections::HashMap;

use eframe::egui::{self, Color32, RichText};

use crate::model::schema::{self, Key};
use crate::model::write::Document;
use crate::model::yaml::{Node, NodeKind};
use crate::model::{Diagnostic, Span};

/// What was typed and not applied yet, by the dotted path of the value.
#[derive(Debug, Default)]
pub struct Fields {
    typed: HashMap<String, String>,
    /// A value the writer refused (not valid YAML there), with why.
    refused: HashMap<String, String>,
    /// The rename field: the part it was opened on and the name typed.
    rename: Option<(String, String)>,
}

impl Fields {
    /// The edit at `path` was made: the field shows the document's value again.
    pub fn applied(&mut self, path: &str) {
        self.typed.remove(path);
        self.refused.remove(path);
    }

    /// The edit at `path` could not be made: what was typed stays, with the reason.
    pub fn refuse(&mut self, path: &str, why: String) {
        self.refused.insert(path.to_string(), why);
    }
}

/// An edit the user asked for in the inspector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldEdit {
    /// Set (or add) the value at a dotted path, written as in the file.
    Set {
        path: String,
        value: String,
    },
    Remove {
        path: String,
    },
    Rename {
        from: String,
        to: String,
    },
    /// Delete a component (after the app's confirmation).
    Delete {
        name: String,
    },
}

/// What the editor draws from.
pub struct Shown<'a> {
    pub document: &'a Document,
    /// The reader's errors for the text as it is, to show beside their fields.
    pub errors: &'a [Diagnostic],
}

/// A component's name, kind and every property, with rename and delete.
pub fn component(
    ui: &mut egui::Ui,
    fields: &mut Fields,
    shown: &Shown<'_>,
    name: &str,
) -> Option<FieldEdit> {
    let mut edit = None;
    ui.horizontal(|ui| {
        let label = ui.label("name");
        if fields.rename.as_ref().is_none_or(|(of, _)| of != name) {
            fields.rename = Some((name.to_string(), name.to_string()));
        }
        let Some((_, typed)) = fields.rename.as_mut() else {
            return;
        };
        let field = ui
            .add(egui::TextEdit::singleline(typed).desired_width(140.0))
            .labelled_by(label.id)
            .on_hover_text("Rename: every reference to it in the model follows");
        let new = typed.trim().to_string();
        if field.lost_focus() && !new.is_empty() && new != name {
            edit = Some(FieldEdit::Rename {
                from: name.to_string(),
                to: new,
            });
        }
        if ui
            .button("Delete…")
            .on_hover_text("Remove it and its calls (asks first, naming what else goes)")
            .clicked()
        {
            edit = Some(FieldEdit::Delete {
                name: name.to_string(),
            });
        }
    });
    let path = format!("components.{name}");
    edit.or_else(|| map(ui, fields, shown, &path, 0))
}

/// Every property of the mapping at `path` (a workload, a call, a handler).
pub fn part(
    ui: &mut egui::Ui,
    fields: &mut Fields,
    shown: &Shown<'_>,
    path: &str,
) -> Option<FieldEdit> {
    map(ui, fields, shown, path, 0)
}

/// The rows of a mapping: a field per value, a section per nested mapping or list of
/// mappings, and the keys that may be added.
fn map(
    ui: &mut egui::Ui,
    fields: &mut Fields,
    shown: &Shown<'_>,
    path: &str,
    depth: usize,
) -> Option<FieldEdit> {
    let node = shown.document.get(path)?;
    let NodeKind::Map(entries) = &node.kind else {
        return None;
    };
    let allowed = keys_at(shown.document, path);
    let mut edit = None;
    egui::Grid::new(("props", path))
        .num_columns(3)
        .striped(true)
        .show(ui, |ui| {
            for (key_node, value) in entries {
                let Some(key) = key_node.as_scalar() else {
                    continue;
                };
                if is_field(value) {
                    let doc = allowed.and_then(|ks| ks.iter().find(|k| k.name == key));
                    if let Some(e) = row(ui, fields, shown, path, key, key_node, value, doc) {
                        edit = Some(e);
                    }
                    ui.end_row();
                }
            }
        });
    for (key_node, value) in entries {
        let Some(key) = key_node.as_scalar() else {
            continue;
        };
        if is_field(value) {
            continue;
        }
        let child = format!("{path}.{key}");
        let header = egui::CollapsingHeader::new(RichText::new(key).strong())
            .id_salt(("section", &child))
            .default_open(depth < 3)
            .show(ui, |ui| {
                messages(ui, shown, key_node.span, None);
                match &value.kind {
                    NodeKind::Seq(items) => {
                        let mut edit = None;
                        for (i, item) in items.iter().enumerate() {
                            let item_path = format!("{child}.{i}");
                            let title = item_title(item, i);
                            let inner = egui::CollapsingHeader::new(title)
                                .id_salt(("item", &item_path))
                                .default_open(true)
                                .show(ui, |ui| {
                                    let e = map(ui, fields, shown, &item_path, depth + 1);
                                    if ui
                                        .small_button("remove")
                                        .on_hover_text("Remove this item from the list")
                                        .clicked()
                                    {
                                        return Some(FieldEdit::Remove {
                                            path: item_path.clone(),
                                        });
                                    }
                                    e
                                });
                            if let Some(e) = inner.body_returned.flatten() {
                                edit = Some(e);
                            }
                        }
                        edit
                    }
                    _ => map(ui, fields, shown, &child, depth + 1),
                }
            });
        if let Some(e) = header.body_returned.flatten() {
            edit = Some(e);
        }
        header.header_response.context_menu(|ui| {
            if ui.button(format!("Remove `{key}`")).clicked() {
                ui.close();
                edit = Some(FieldEdit::Remove {
                    path: child.clone(),
                });
            }
        });
    }
    if let Some(keys) = allowed
        && let Some(e) = add_key(ui, path, keys, entries)
    {
        edit = Some(e);
    }
    edit
}

/// Whether a value is edited in one field: a scalar, or a list of scalars.
fn is_field(value: &Node) -> bool {
    match &value.kind {
        NodeKind::Scalar { .. } => true,
        NodeKind::Seq(items) => items
            .iter()
            .all(|i| matches!(i.kind, NodeKind::Scalar { .. })),
        NodeKind::Map(_) => false,
    }
}

/// A list item's heading: what it names (`to: db`, `name: users`) or its place.
fn item_title(item: &Node, i: usize) -> String {
    let NodeKind::Map(entries) = &item.kind else {
        return format!("{}", i + 1);
    };
    for key in ["to", "name", "at"] {
        if let Some(v) = entries
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .and_then(|(_, v)| v.as_scalar())
        {
            return format!("{} ({key} {v})", i + 1);
        }
    }
    format!("{}", i + 1)
}

/// One key and its value's field; applied when the field loses focus (Enter or a click
/// elsewhere), which is when the reader checks it.
#[allow(clippy::too_many_arguments)]
fn row(
    ui: &mut egui::Ui,
    fields: &mut Fields,
    shown: &Shown<'_>,
    parent: &str,
    key: &str,
    key_node: &Node,
    value: &Node,
    doc: Option<&Key>,
) -> Option<FieldEdit> {
    let path = format!("{parent}.{key}");
    let written = shown.document.source(&path).unwrap_or_default().to_string();
    let mut label = ui.label(key);
    if let Some(k) = doc {
        label = label.on_hover_text(format!("{}\n\nWritten as: {}", k.doc, k.ty.hint()));
    }
    let mut edit = None;
    ui.vertical(|ui| {
        // A grid cell is as wide as it was last frame; without a floor a field would
        // shrink to its first value and cut off every longer one.
        ui.set_min_width(FIELD_WIDTH);
        let typed = fields
            .typed
            .entry(path.clone())
            .or_insert_with(|| written.clone());
        let field = ui
            .add(egui::TextEdit::singleline(typed).desired_width(FIELD_WIDTH))
            .labelled_by(label.id);
        let typed_now = typed.trim().to_string();
        if field.lost_focus() && typed_now != written && !typed_now.is_empty() {
            // Kept until the app says whether the edit was made.
            edit = Some(FieldEdit::Set {
                path: path.clone(),
                value: typed_now,
            });
        } else if !field.has_focus() && !fields.refused.contains_key(&path) {
            // Follows the document (an undo, an edit elsewhere) while not typed in.
            fields.typed.remove(&path);
        }
        if let Some(why) = fields.refused.get(&path) {
            ui.label(RichText::new(why).color(ERROR).small());
        }
        messages(ui, shown, value.span, Some(key_node.span));
    });
    if ui
        .small_button("×")
        .on_hover_text(format!("Remove `{key}` (its default applies)"))
        .clicked()
    {
        edit = Some(FieldEdit::Remove { path });
    }
    edit
}

const FIELD_WIDTH: f32 = 170.0;

const ERROR: Color32 = Color32::from_rgb(240, 130, 130);

/// The reader's messages that point into `span` (or at the key).
fn messages(ui: &mut egui::Ui, shown: &Shown<'_>, span: Span, key: Option<Span>) {
    for d in shown.errors {
        if within(d.span, span) || key.is_some_and(|k| within(d.span, k)) {
            let mut text = d.message.clone();
            if let Some(h) = &d.hint {
                text.push_str(" — ");
                text.push_str(h);
            }
            ui.label(RichText::new(text).color(ERROR).small());
        }
    }
}

fn within(point: Span, span: Span) -> bool {
    let at = (point.line, point.col);
    at >= (span.line, span.col) && at <= (span.end_line, span.end_col)
}

/// The keys the format allows at `path`, for help and the add menu.
fn keys_at(document: &Document, path: &str) -> Option<&'static [Key]> {
    let segments: Vec<&str> = path.split('.').collect();
    schema::keys_at(&segments, |prefix| {
        document
            .get(&format!("{}.kind", prefix.join(".")))
            .and_then(|n| n.as_scalar().map(str::to_string))
    })
}

/// A menu of the keys not set yet; choosing one writes it with an example value to edit.
fn add_key(
    ui: &mut egui::Ui,
    path: &str,
    keys: &[Key],
    entries: &[(Node, Node)],
) -> Option<FieldEdit> {
    let missing: Vec<&Key> = keys
        .iter()
        .filter(|k| !entries.iter().any(|(e, _)| e.as_scalar() == Some(k.name)))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut edit = None;
    ui.menu_button("add a property…", |ui| {
        for k in missing {
            if ui
                .button(k.name)
                .on_hover_text(format!("{}\n\nWritten as: {}", k.doc, k.ty.hint()))
                .clicked()
            {
                edit = Some(FieldEdit::Set {
                    path: format!("{path}.{}", k.name),
                    value: k.ty.example(),
                });
            }
        }
    });
    edit
}
