//! A flow mapping that an edit makes too long for one line is rewritten in block style, as
//! the bundled models write a component that has grown: `app: { kind: service, ... }` with
//! a handler and two calls becomes `app:` over indented `kind: service`, `handlers:` lines.
//!
//! Only a line the edit pushed past [`MAX_LINE`] is rewritten: one that was already longer
//! is the author's choice and stays as it is. Inner values that fit stay in flow style
//! (`retry: { attempts: 3 }`, `calls: [ { to: db } ]`). Must never change what the model
//! says: the rewritten text is kept only if it parses to the same values.

use std::fmt::Write as _;

use super::{Document, Seg, child};
use crate::model::yaml::{Node, NodeKind};

/// The longest line an edit may leave in flow style; the bundled models keep to about this.
pub(super) const MAX_LINE: usize = 100;

impl Document {
    /// After an edit at `path` that turned `before` into the current text: the outermost
    /// flow collection on `path`, rewritten in block style if the edit made its line too long.
    pub(super) fn reflow(&mut self, before: &str, path: &[Seg]) {
        let Some(flow_depth) = self.outermost_flow(path) else {
            return;
        };
        let at = &path[..flow_depth];
        let Some(node) = self.node(at) else {
            return;
        };
        let start = self.start(node);
        let end = self.end(node);
        let line_start = self.line_start(start);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line = &self.text[line_start..line_end];
        let line_no = self.text[..line_start].matches('\n').count();
        let was = before.lines().nth(line_no).map_or(0, |l| l.chars().count());
        let flow = &self.text[start..end];
        if line.chars().count() <= MAX_LINE
            || was > MAX_LINE
            || flow.contains('\n')
            || flow.contains('#')
            || end > line_end
            || !matches!(node.kind, NodeKind::Map(_))
        {
            return;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let (range, written) = match at.last() {
            // `key: { ... }`: the entries go under the key, two columns in.
            Some(Seg::Key(_)) => {
                let after_colon = self.text[..start].trim_end_matches(' ').len();
                let mut block = String::from("\n");
                self.block(node, indent + 2, &mut block);
                block.pop();
                (after_colon..end, block)
            }
            // `- { ... }`: the first entry stays on the dash's line, the rest line up under it.
            Some(Seg::Index(_)) => {
                let col = start - line_start;
                let mut block = String::new();
                self.block(node, col, &mut block);
                block.pop();
                (start..end, block[col..].to_string())
            }
            None => return,
        };
        let mut text = String::with_capacity(self.text.len() + written.len());
        text.push_str(&self.text[..range.start]);
        text.push_str(&written);
        text.push_str(&self.text[range.end..]);
        if let Ok(d) = Document::parse(&text)
            && same_values(&d.root, &self.root)
        {
            *self = d;
        }
    }

    /// How many segments of `path` lead to its outermost flow collection.
    fn outermost_flow(&self, path: &[Seg]) -> Option<usize> {
        let mut node = &self.root;
        for (depth, seg) in path.iter().enumerate() {
            node = child(node, seg)?;
            if self.is_flow(node) {
                return Some(depth + 1);
            }
        }
        None
    }

    /// `node`'s entries as block lines at column `col`, each ending in a line break; a
    /// value that fits on its key's line stays as written.
    fn block(&self, node: &Node, col: usize, out: &mut String) {
        let NodeKind::Map(entries) = &node.kind else {
            return;
        };
        let pad = " ".repeat(col);
        for (key, value) in entries {
            let key_text = &self.text[self.start(key)..self.end(key)];
            let value_text = &self.text[self.start(value)..self.end(value)];
            let one_line = format!("{pad}{key_text}: {value_text}");
            let fits = one_line.chars().count() <= MAX_LINE;
            match &value.kind {
                NodeKind::Map(_) if !fits => {
                    let _ = writeln!(out, "{pad}{key_text}:");
                    self.block(value, col + 2, out);
                }
                NodeKind::Seq(items) if !fits => {
                    let _ = writeln!(out, "{pad}{key_text}:");
                    let item_pad = " ".repeat(col + 2);
                    for item in items {
                        let item_text = &self.text[self.start(item)..self.end(item)];
                        let line = format!("{item_pad}- {item_text}");
                        if line.chars().count() <= MAX_LINE
                            || !matches!(item.kind, NodeKind::Map(_))
                        {
                            out.push_str(&line);
                            out.push('\n');
                        } else {
                            let mut inner = String::new();
                            self.block(item, col + 4, &mut inner);
                            let _ = write!(out, "{item_pad}- {}", &inner[col + 4..]);
                        }
                    }
                }
                _ => {
                    out.push_str(&one_line);
                    out.push('\n');
                }
            }
        }
    }
}

/// Whether two trees hold the same values, wherever they are written.
fn same_values(left: &Node, right: &Node) -> bool {
    match (&left.kind, &right.kind) {
        (
            NodeKind::Scalar { text, quoted },
            NodeKind::Scalar {
                text: other,
                quoted: other_quoted,
            },
        ) => text == other && quoted == other_quoted,
        (NodeKind::Seq(items), NodeKind::Seq(others)) => {
            items.len() == others.len() && items.iter().zip(others).all(|(i, o)| same_values(i, o))
        }
        (NodeKind::Map(entries), NodeKind::Map(others)) => {
            entries.len() == others.len()
                && entries
                    .iter()
                    .zip(others)
                    .all(|((key, value), (other_key, other_value))| {
                        same_values(key, other_key) && same_values(value, other_value)
                    })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKETCH: &str = "\
components:
  app: { kind: service, workers: 4, handlers: { \"*\": { work: exp 10ms } } }
  db: { kind: database, workers: 8 }
layout:
  app: [0, 0]
";

    #[test]
    fn a_component_that_outgrows_its_line_is_written_in_block_style() {
        let mut d = Document::parse(SKETCH).unwrap();
        d.add_call("app", "*", "db").unwrap();
        d.set("components.app.handlers.*.calls.0.timeout", "1s")
            .unwrap();
        assert!(
            d.text().lines().all(|l| l.len() <= MAX_LINE),
            "{}",
            d.text()
        );
        d.set(
            "components.app.handlers.*.calls.0.retry",
            "{ attempts: 3, backoff: exponential 50ms, jitter: full }",
        )
        .unwrap();
        assert_eq!(
            d.text(),
            "\
components:
  app:
    kind: service
    workers: 4
    handlers:
      \"*\":
        work: exp 10ms
        calls:
          - { to: db, timeout: 1s, retry: { attempts: 3, backoff: exponential 50ms, jitter: full } }
  db: { kind: database, workers: 8 }
layout:
  app: [0, 0]
"
        );
        // Edits go on in the new style, and the call's line in turn goes block when full.
        d.set("components.app.workers", "6").unwrap();
        assert!(d.text().contains("    workers: 6\n"));
        d.set(
            "components.app.handlers.*.calls.0.breaker",
            "{ failures: 5, open_for: 10s }",
        )
        .unwrap();
        assert!(
            d.text().contains(
                "          - to: db\n            timeout: 1s\n            retry: { attempts: 3, backoff: exponential 50ms, jitter: full }\n            breaker: { failures: 5, open_for: 10s }\n"
            ),
            "{}",
            d.text()
        );
    }

    #[test]
    fn a_list_item_that_outgrows_its_line_keeps_its_first_entry_on_the_dash() {
        let text = "workloads:\n  - { name: users, target: app, rate: 100/s, request: get }\n";
        let mut d = Document::parse(text).unwrap();
        d.set(
            "workloads.0.mix",
            "{ browse: 0.85, buy: 0.1, search: 0.05 }",
        )
        .unwrap();
        assert_eq!(
            d.text(),
            "workloads:\n  - name: users\n    target: app\n    rate: 100/s\n    request: get\n    mix: { browse: 0.85, buy: 0.1, search: 0.05 }\n"
        );
    }

    #[test]
    fn a_line_already_long_stays_as_its_author_wrote_it() {
        let long = "components:\n  web: { kind: service, workers: 16, queue: 100, handlers: { \"*\": { work: exp 3ms, calls: [ { to: catalog, timeout: 1s } ] } } }\n  catalog: { kind: service }\n";
        assert!(long.lines().nth(1).unwrap().len() > MAX_LINE);
        let mut d = Document::parse(long).unwrap();
        d.set("components.web.workers", "17").unwrap();
        assert_eq!(d.text(), long.replace("workers: 16", "workers: 17"));
    }
}
