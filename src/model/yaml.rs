//! A YAML document as a tree of nodes that remember where they came from.
//!
//! The model reader walks this tree instead of deserialising with serde so that it can report
//! every problem at once, each at its own line and column; serde stops at the first.

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::diag::{Diagnostic, Span};

/// YAML aliases can expand exponentially ("billion laughs"); no real model comes near this.
const MAX_NODES: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar and whether it was quoted (a quoted `"5"` is text, never a number).
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

impl Node {
    #[must_use]
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, quoted: false } if text.is_empty() || text == "~" || text == "null")
    }

    /// A short name of the node's shape, for "expected X, found Y" messages.
    #[must_use]
    pub fn shape(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { .. } if self.is_null() => "nothing",
            NodeKind::Scalar { .. } => "a single value",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

fn span_of(span: saphyr_parser::Span) -> Span {
    let to_u32 = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    Span {
        line: to_u32(span.start.line()),
        col: to_u32(span.start.col() + 1),
        end_line: to_u32(span.end.line()),
        end_col: to_u32(span.end.col() + 1),
    }
}

/// Parses the first document of `text`. An empty file is an empty mapping.
///
/// # Errors
/// A YAML syntax error, with its position; the parser cannot resume after one, so it is the
/// only diagnostic.
pub fn parse(text: &str) -> Result<Node, Diagnostic> {
    let mut builder = Builder::default();
    for item in Parser::new_from_str(text) {
        match item {
            Ok((event, span)) => {
                let done = builder.event(event, span_of(span))?;
                if done {
                    break;
                }
            }
            Err(e) => {
                let m = e.marker();
                let line = u32::try_from(m.line()).unwrap_or(u32::MAX);
                let col = u32::try_from(m.col() + 1).unwrap_or(u32::MAX);
                return Err(Diagnostic::error(
                    Span::point(line, col),
                    format!("YAML syntax: {}", e.info()),
                )
                .with_hint("check the indentation and the brackets around this point"));
            }
        }
    }
    Ok(builder.root.unwrap_or(Node {
        kind: NodeKind::Map(Vec::new()),
        span: Span::point(1, 1),
    }))
}

enum Open {
    Seq(Vec<Node>, Span, usize),
    Map(Vec<(Node, Node)>, Option<Node>, Span, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: Vec<(usize, Node)>,
    root: Option<Node>,
    nodes: usize,
}

impl Builder {
    /// Feeds one event; returns true once the first document is complete.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<bool, Diagnostic> {
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                let node = Node {
                    kind: NodeKind::Scalar {
                        text: text.into_owned(),
                        quoted: !matches!(style, ScalarStyle::Plain),
                    },
                    span,
                };
                self.remember(anchor, &node);
                self.push(node)
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Open::Seq(Vec::new(), span, anchor));
                Ok(false)
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Open::Map(Vec::new(), None, span, anchor));
                Ok(false)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (kind, start, anchor) = match self.stack.pop() {
                    Some(Open::Seq(items, start, anchor)) => (NodeKind::Seq(items), start, anchor),
                    Some(Open::Map(entries, _, start, anchor)) => {
                        (NodeKind::Map(entries), start, anchor)
                    }
                    None => return Ok(false),
                };
                let node = Node {
                    kind,
                    span: Span {
                        end_line: span.end_line,
                        end_col: span.end_col,
                        ..start
                    },
                };
                self.remember(anchor, &node);
                self.push(node)
            }
            Event::Alias(id) => {
                let Some((_, target)) = self.anchors.iter().rev().find(|(a, _)| *a == id) else {
                    return Err(Diagnostic::error(span, "YAML alias to an unknown anchor"));
                };
                let mut node = target.clone();
                node.span = span;
                self.nodes += count_nodes(&node);
                self.push(node)
            }
            Event::DocumentEnd => Ok(self.root.is_some()),
            _ => Ok(false),
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
    }

    fn push(&mut self, node: Node) -> Result<bool, Diagnostic> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::error(
                node.span,
                format!("the document expands to more than {MAX_NODES} values"),
            )
            .with_hint("YAML aliases that refer to each other multiply; expand fewer of them"));
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(true)
            }
            Some(Open::Seq(items, ..)) => {
                items.push(node);
                Ok(false)
            }
            Some(Open::Map(entries, pending_key, ..)) => {
                match pending_key.take() {
                    None => *pending_key = Some(node),
                    Some(key) => entries.push((key, node)),
                }
                Ok(false)
            }
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn positions_are_one_based() {
        let doc = parse("a: 1\nb:\n  c: [x, 'y']\n").expect("valid yaml");
        let NodeKind::Map(entries) = &doc.kind else {
            panic!("expected a map")
        };
        assert_eq!(entries[1].0.span.line, 2);
        let NodeKind::Map(inner) = &entries[1].1.kind else {
            panic!("expected a map")
        };
        let NodeKind::Seq(items) = &inner[0].1.kind else {
            panic!("expected a seq")
        };
        assert_eq!((items[1].span.line, items[1].span.col), (3, 10));
        assert_eq!(
            items[1].kind,
            NodeKind::Scalar {
                text: "y".into(),
                quoted: true
            }
        );
    }

    #[test]
    fn syntax_error_has_a_position() {
        let err = parse("a: [1, 2\nb: 3\n").expect_err("unclosed bracket");
        assert!(err.message.starts_with("YAML syntax"), "{}", err.message);
        assert!(err.span.line >= 1);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            let refs = vec![format!("*a{p}"); 10].join(", ");
            let _ = writeln!(text, "a{i}: &a{i} [{refs}]");
        }
        let err = parse(&text).expect_err("too many nodes");
        assert!(err.message.contains("more than"));
    }
}
