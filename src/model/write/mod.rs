//! The one YAML writer: every piece of YAML the program emits, and edits of a model's text
//! that leave everything they do not touch byte-identical.
//!
//! Owns [`Document`], a model's source text with operations on it (set a value, insert or
//! remove an entry, rename, add or delete a component, add a call), and the emitters of
//! generated YAML (layout blocks, faults, scenarios, `set:` overrides). Must never build a
//! [`super::Model`] itself or decide what is valid: an edit is checked by re-reading the
//! edited text with the same reader as a file.
//!
//! Edits are splices at the positions the project's own parser records (`yaml.rs`), and the
//! text is re-parsed after each one, so positions never go stale. A lossless YAML editing
//! crate was the first choice, but the one available (`yaml-edit`) is young, rebuilds the
//! tree on a rowan syntax tree the reader does not use, and would add a second YAML parser
//! to the core; splicing at recorded spans edits flow mappings such as `{ at: 1s, crash: db }`
//! as easily as block ones and adds no dependency.

use std::fmt;

use super::yaml::{self, Node, NodeKind};

mod components;
mod emit;
mod reflow;

pub use emit::{set_block, with_layout};

/// Why an edit could not be made. The document is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the text is not valid YAML: {0}")]
    Syntax(String),
    #[error("nothing at `{0}`")]
    NotFound(String),
    #[error("`{path}` is {found}, not {expected}")]
    Shape {
        path: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error("`{0}` already exists")]
    Exists(String),
    #[error(
        "the edit at `{path}` would not be valid YAML ({message}); write the value as it would appear in the file"
    )]
    Invalid { path: String, message: String },
}

/// One step of a path: a mapping key, or the position of a list item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seg::Key(k) => f.write_str(k),
            Seg::Index(i) => write!(f, "{i}"),
        }
    }
}

fn path_text(path: &[Seg]) -> String {
    path.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A model's text, parsed, with format-preserving edits.
#[derive(Debug, Clone)]
pub struct Document {
    text: String,
    root: Node,
    /// The byte offset where each line starts, to turn the parser's line and column into a
    /// place in the text.
    line_starts: Vec<usize>,
}

/// What deleting a component took with it besides its own entry, each as a path in the text
/// before the deletion and a sentence, in the order of the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Removed {
    pub also: Vec<String>,
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Document {
    /// Parses `text`; only YAML syntax is checked here, the model's rules by the reader.
    ///
    /// # Errors
    /// A YAML syntax error, with its line and column.
    pub fn parse(text: &str) -> Result<Self, EditError> {
        let root = yaml::parse(text).map_err(|d| {
            EditError::Syntax(format!("{}:{}: {}", d.span.line, d.span.col, d.message))
        })?;
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Ok(Document {
            text: text.to_string(),
            root,
            line_starts,
        })
    }

    /// The parsed node at a dotted path (`components.api.handlers`), if there is one.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.node(&self.resolve(path).ok()?)
    }

    /// The keys of the mapping at `path`, in the order of the file (empty for anything else).
    #[must_use]
    pub fn keys(&self, path: &str) -> Vec<String> {
        match self.get(path).map(|n| &n.kind) {
            Some(NodeKind::Map(entries)) => entries
                .iter()
                .filter_map(|(k, _)| k.as_scalar().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The value at `path` as it is written in the file (`{ to: db, timeout: 1s }`, `5ms`).
    #[must_use]
    pub fn source(&self, path: &str) -> Option<&str> {
        let node = self.get(path)?;
        Some(&self.text[self.start(node)..self.end(node)])
    }

    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Splits a dotted path; a number steps into a list, anything else names a key.
    fn resolve(&self, path: &str) -> Result<Vec<Seg>, EditError> {
        let mut node = &self.root;
        let mut out = Vec::new();
        if path.is_empty() {
            return Ok(out);
        }
        for part in path.split('.') {
            let seg = match (&node.kind, part.parse::<usize>()) {
                (NodeKind::Seq(_), Ok(i)) => Seg::Index(i),
                _ => Seg::Key(part.to_string()),
            };
            out.push(seg);
            node = self
                .node(&out)
                .ok_or_else(|| EditError::NotFound(path_text(&out)))?;
        }
        Ok(out)
    }

    fn node(&self, path: &[Seg]) -> Option<&Node> {
        let mut node = &self.root;
        for seg in path {
            node = child(node, seg)?;
        }
        Some(node)
    }

    fn node_at(&self, path: &[Seg]) -> Result<&Node, EditError> {
        self.node(path)
            .ok_or_else(|| EditError::NotFound(path_text(path)))
    }

    /// The byte offset of a 1-based line and character column.
    fn offset(&self, line: u32, col: u32) -> usize {
        let line = (line as usize).saturating_sub(1);
        let Some(&start) = self.line_starts.get(line) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        let skip = (col as usize).saturating_sub(1);
        rest.char_indices()
            .nth(skip)
            .map_or(self.text.len(), |(i, _)| start + i)
    }

    fn start(&self, node: &Node) -> usize {
        self.offset(node.span.line, node.span.col)
    }

    fn end(&self, node: &Node) -> usize {
        let end = self.offset(node.span.end_line, node.span.end_col);
        // A plain scalar's span can run over the spaces before a comment or a line break;
        // what belongs to the value stops at its last visible character.
        let start = self.start(node);
        let mut e = end.max(start);
        while e > start && self.text.as_bytes()[e - 1].is_ascii_whitespace() {
            e -= 1;
        }
        e
    }

    fn is_flow(&self, node: &Node) -> bool {
        matches!(
            self.text.as_bytes().get(self.start(node)),
            Some(b'{' | b'[')
        )
    }

    /// Replaces `range` with `with`, keeping the document unchanged unless the result parses.
    fn splice(
        &mut self,
        range: std::ops::Range<usize>,
        with: &str,
        path: &[Seg],
    ) -> Result<(), EditError> {
        let mut text = String::with_capacity(self.text.len() + with.len());
        text.push_str(&self.text[..range.start]);
        text.push_str(with);
        text.push_str(&self.text[range.end..]);
        match Document::parse(&text) {
            Ok(d) => {
                let before = std::mem::replace(self, d);
                self.reflow(&before.text, path);
                Ok(())
            }
            Err(EditError::Syntax(message)) => Err(EditError::Invalid {
                path: path_text(path),
                message,
            }),
            Err(e) => Err(e),
        }
    }

    /// The column (0-based, in bytes) where the line holding `offset` starts its content.
    fn indent_of_line(&self, offset: usize) -> usize {
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line = &self.text[line_start..];
        line.len() - line.trim_start_matches(' ').len()
    }

    fn line_start(&self, offset: usize) -> usize {
        self.text[..offset].rfind('\n').map_or(0, |i| i + 1)
    }

    /// The end (after its line break) of the block element whose first line starts at
    /// `first` with content at column `indent`: it runs on while lines are indented deeper
    /// or are blank; blank lines and comments after its last content stay outside it.
    fn block_end(&self, first: usize, indent: usize) -> usize {
        let mut pos = self.text[first..]
            .find('\n')
            .map_or(self.text.len(), |i| first + i + 1);
        let mut end = pos;
        while pos < self.text.len() {
            let next = self.text[pos..]
                .find('\n')
                .map_or(self.text.len(), |i| pos + i + 1);
            let line = &self.text[pos..next];
            let content = line.trim_start_matches(' ');
            let depth = line.len() - content.len();
            let blank = content.trim().is_empty();
            if !blank && depth <= indent {
                break;
            }
            if !blank && !content.starts_with('#') {
                end = next;
            }
            pos = next;
        }
        end
    }

    /// Sets the value at `path` to `value`, written as it appears in a file (`5ms`,
    /// `{ to: db }`, `"a b"`). A missing last key is added to its mapping.
    ///
    /// # Errors
    /// No such place, or a value that would not be valid YAML there.
    pub fn set(&mut self, path: &str, value: &str) -> Result<(), EditError> {
        let (parent, last) = match path.rsplit_once('.') {
            Some((p, l)) => (p, l),
            None => ("", path),
        };
        let parent_path = self.resolve(parent)?;
        let parent_node = self.node_at(&parent_path)?;
        let seg = match (&parent_node.kind, last.parse::<usize>()) {
            (NodeKind::Seq(_), Ok(i)) => Seg::Index(i),
            _ => Seg::Key(last.to_string()),
        };
        if child(parent_node, &seg).is_none() {
            return match seg {
                Seg::Key(k) => self.insert_mapping_entry(parent, &k, value),
                Seg::Index(_) => Err(EditError::NotFound(path.to_string())),
            };
        }
        let mut full = parent_path;
        full.push(seg);
        let node = self.node_at(&full)?;
        if !matches!(node.kind, NodeKind::Scalar { .. }) || node.is_null() {
            return self.replace_value(&full, value);
        }
        let range = self.start(node)..self.end(node);
        self.splice(range, value, &full)
    }

    /// Replaces a whole value (a mapping, a list or nothing) after its key.
    fn replace_value(&mut self, path: &[Seg], value: &str) -> Result<(), EditError> {
        let node = self.node_at(path)?;
        if self.is_flow(node)
            || !value.contains('\n')
                && !node.is_null()
                && !matches!(node.kind, NodeKind::Map(_) | NodeKind::Seq(_))
        {
            let range = self.start(node)..self.end(node);
            return self.splice(range, value, path);
        }
        // A block value (or nothing) sits after `key:`: rewrite from just after the colon
        // to the end of the block.
        let parent = self.node_at(&path[..path.len() - 1])?;
        let Some(Seg::Key(k)) = path.last() else {
            let range = self.start(node)..self.end(node);
            return self.splice(range, value, path);
        };
        let Some(key) = map_key(parent, k) else {
            return Err(EditError::NotFound(path_text(path)));
        };
        let key_start = self.start(key);
        let indent = self.indent_of_line(key_start);
        let key_col = key_start - self.line_start(key_start);
        let colon = self.end(key) + self.text[self.end(key)..].find(':').unwrap_or(0) + 1;
        let end = if self.is_flow(parent) {
            self.end(node)
        } else {
            self.block_end(self.line_start(key_start), key_col.max(indent))
                .saturating_sub(1)
                .max(colon)
        };
        let written = value_after_colon(value, key_col);
        self.splice(colon..end, &written, path)
    }

    /// Adds `key: value` at the end of the mapping at `path`, in that mapping's style.
    ///
    /// # Errors
    /// No mapping there, the key already present, or a value that would not be valid YAML.
    pub fn insert_mapping_entry(
        &mut self,
        path: &str,
        key: &str,
        value: &str,
    ) -> Result<(), EditError> {
        let at = self.resolve(path)?;
        self.insert_entry(&at, key, value)
    }

    fn insert_entry(&mut self, at: &[Seg], key: &str, value: &str) -> Result<(), EditError> {
        let node = self.node_at(at)?;
        let NodeKind::Map(entries) = &node.kind else {
            return Err(EditError::Shape {
                path: path_text(at),
                found: node.shape(),
                expected: "a mapping",
            });
        };
        if map_key(node, key).is_some() {
            let mut p = at.to_vec();
            p.push(Seg::Key(key.to_string()));
            return Err(EditError::Exists(path_text(&p)));
        }
        let key_text = scalar(key);
        if self.is_flow(node) {
            let written = value.replace('\n', " ");
            if let Some((_, v)) = entries.last() {
                let e = self.end(v);
                return self.splice(e..e, &format!(", {key_text}: {written}"), at);
            }
            let range = self.start(node)..self.end(node);
            return self.splice(range, &format!("{{ {key_text}: {written} }}"), at);
        }
        let Some((first, _)) = entries.first() else {
            return Err(EditError::NotFound(path_text(at)));
        };
        let first_start = self.start(first);
        let indent = first_start - self.line_start(first_start);
        let (last_key, _) = &entries[entries.len() - 1];
        let last_start = self.start(last_key);
        let mut end = self.block_end(self.line_start(last_start), indent);
        let mut line = format!(
            "{}{key_text}:{}\n",
            " ".repeat(indent),
            value_after_colon(value, indent)
        );
        if end == self.text.len() && !self.text.ends_with('\n') {
            line.insert(0, '\n');
            end = self.text.len();
        }
        self.splice(end..end, &line, at)
    }

    /// Appends `item` to the list at `path`, in that list's style.
    ///
    /// # Errors
    /// No list there, or an item that would not be valid YAML.
    pub fn push_item(&mut self, path: &str, item: &str) -> Result<(), EditError> {
        let at = self.resolve(path)?;
        self.push_at(&at, item)
    }

    fn push_at(&mut self, at: &[Seg], item: &str) -> Result<(), EditError> {
        let node = self.node_at(at)?;
        let NodeKind::Seq(items) = &node.kind else {
            return Err(EditError::Shape {
                path: path_text(at),
                found: node.shape(),
                expected: "a list",
            });
        };
        if self.is_flow(node) {
            if let Some(v) = items.last() {
                let e = self.end(v);
                return self.splice(e..e, &format!(", {item}"), at);
            }
            let range = self.start(node)..self.end(node);
            return self.splice(range, &format!("[ {item} ]"), at);
        }
        let Some(last) = items.last() else {
            return Err(EditError::NotFound(path_text(at)));
        };
        let dash = self.dash_before(self.start(last));
        let indent = dash - self.line_start(dash);
        let end = self.block_end(self.line_start(dash), indent);
        let mut line = format!("{}- {item}\n", " ".repeat(indent));
        if end == self.text.len() && !self.text.ends_with('\n') {
            line.insert(0, '\n');
        }
        self.splice(end..end, &line, at)
    }

    /// The `-` that introduces the block list item starting at `offset`.
    fn dash_before(&self, offset: usize) -> usize {
        self.text[..offset]
            .rfind('-')
            .filter(|&d| {
                d >= self.line_start(offset)
                    || self.text[d..offset]
                        .trim_start_matches('-')
                        .trim()
                        .is_empty()
            })
            .unwrap_or(offset)
    }

    /// Removes the entry or list item at `path`, with its comments-free lines in block style
    /// and its separating comma in flow style.
    ///
    /// # Errors
    /// Nothing at `path`.
    pub fn remove(&mut self, path: &str) -> Result<(), EditError> {
        let at = self.resolve(path)?;
        self.remove_at(&at)
    }

    fn remove_at(&mut self, at: &[Seg]) -> Result<(), EditError> {
        let Some((last, parent_path)) = at.split_last() else {
            return Err(EditError::NotFound(String::new()));
        };
        let parent = self.node_at(parent_path)?;
        // Each element as (start, end) of its text: key to value for entries.
        let elements: Vec<(usize, usize)> = match &parent.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .map(|(k, v)| (self.start(k), self.end(v).max(self.end(k))))
                .collect(),
            NodeKind::Seq(items) => items.iter().map(|v| (self.start(v), self.end(v))).collect(),
            NodeKind::Scalar { .. } => Vec::new(),
        };
        let index = match (&parent.kind, last) {
            (NodeKind::Map(entries), Seg::Key(k)) => entries
                .iter()
                .position(|(key, _)| key.as_scalar() == Some(k.as_str())),
            (NodeKind::Seq(items), Seg::Index(i)) => (*i < items.len()).then_some(*i),
            _ => None,
        }
        .ok_or_else(|| EditError::NotFound(path_text(at)))?;
        let (start, end) = elements[index];
        if self.is_flow(parent) {
            let range = if index + 1 < elements.len() {
                start..elements[index + 1].0
            } else if index > 0 {
                elements[index - 1].1..end
            } else {
                let open = self.start(parent);
                let close = self.end(parent).saturating_sub(1);
                let range = open + 1..close.max(open + 1);
                return self.splice(range, "", at);
            };
            return self.splice(range, "", at);
        }
        if elements.len() == 1 && !parent_path.is_empty() {
            // An emptied block list or mapping would read as nothing; `[]` and `{}` keep
            // its shape.
            let empty = if matches!(parent.kind, NodeKind::Seq(_)) {
                "[]"
            } else {
                "{}"
            };
            return self.replace_value(parent_path, empty);
        }
        let first = if matches!(parent.kind, NodeKind::Seq(_)) {
            self.dash_before(start)
        } else {
            start
        };
        let line = self.line_start(first);
        if !self.text[line..first].trim().is_empty() {
            // The first entry of a mapping that is itself a list item (`- a: 1`): its line
            // also holds the dash, which the next entry moves up to.
            let next = elements.get(index + 1).map_or(end, |e| e.0);
            return self.splice(first..next, "", at);
        }
        let e = self.block_end(line, first - line);
        self.splice(line..e, "", at)
    }
}

fn describe(path: &[Seg]) -> String {
    path_text(path)
}

fn child<'a>(node: &'a Node, seg: &Seg) -> Option<&'a Node> {
    match (&node.kind, seg) {
        (NodeKind::Map(entries), Seg::Key(k)) => entries
            .iter()
            .find(|(key, _)| key.as_scalar() == Some(k.as_str()))
            .map(|(_, v)| v),
        (NodeKind::Seq(items), Seg::Index(i)) => items.get(*i),
        _ => None,
    }
}

fn map_key<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .map(|(k, _)| k),
        _ => None,
    }
}

/// A value as written after `key:` in a block mapping whose keys sit at `indent`: a single
/// line after a space, several lines below the key, indented two more.
fn value_after_colon(value: &str, indent: usize) -> String {
    if !value.contains('\n') {
        return format!(" {value}");
    }
    let pad = " ".repeat(indent + 2);
    let mut out = String::new();
    for line in value.trim_end_matches('\n').lines() {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

/// A name written as a YAML scalar: plain where YAML reads it back as the same text,
/// double-quoted otherwise.
#[must_use]
pub fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !text.starts_with(['-', '.'])
        && !matches!(
            text,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
        )
        && text.parse::<f64>().is_err();
    if plain {
        text.to_string()
    } else {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    }
}
