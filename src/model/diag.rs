//! Diagnostics: what is wrong with a model, where, and what to do about it.
//!
//! A diagnostic is plain data (no terminal colours, no GUI types) so that the CLI, the app's
//! error panel and the tests all read the same thing. Positions are 1-based lines and
//! columns counted in characters, as editors show them.

use std::fmt::{self, Write as _};

/// A position range in a model's text. Lines and columns are 1-based; `end_*` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    pub end_line: u32,
    pub end_col: u32,
}

impl Span {
    #[must_use]
    pub fn point(line: u32, col: u32) -> Self {
        Span {
            line,
            col,
            end_line: line,
            end_col: col + 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub span: Span,
    /// What is wrong, in one sentence without a trailing period.
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    #[must_use]
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span,
            message: message.into(),
            hint: None,
        }
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Every diagnostic of one model file, sorted by position, with the text they point into so
/// that they can be rendered with an excerpt.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub file: String,
    pub source: String,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    #[must_use]
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Renders every diagnostic as `file:line:col: error: message`, followed by the source
    /// line with the span underlined and the hint, in the style of compilers.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.items {
            render_one(&mut out, &self.file, &self.source, d);
        }
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

/// The most characters of a source line an excerpt shows, and of a value a message echoes:
/// a line's worth.
pub const EXCERPT_CHARS: usize = 80;

/// Shortens every value quoted in backticks that is longer than a line's worth to its start,
/// saying how long it was: a 200,000-digit number must not make a 400 KB message.
#[must_use]
pub fn shorten_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * EXCERPT_CHARS));
    // Parts alternate: outside the quotes, inside, outside, ...
    let mut note = None;
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if let Some(n) = note.take() {
            let _ = write!(out, " ({n} characters)");
        }
        let n = part.chars().count();
        if i % 2 == 1 && n > EXCERPT_CHARS {
            out.extend(part.chars().take(EXCERPT_CHARS));
            out.push('…');
            note = Some(n);
        } else {
            out.push_str(part);
        }
    }
    out
}

fn render_one(out: &mut String, file: &str, source: &str, d: &Diagnostic) {
    let label = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(
        out,
        "{file}:{}:{}: {label}: {}",
        d.span.line, d.span.col, d.message
    );
    if let Some(text) = source.lines().nth(d.span.line.saturating_sub(1) as usize) {
        let number = d.span.line.to_string();
        let pad = " ".repeat(number.len());
        let start = d.span.col.max(1) as usize;
        let line_len = text.chars().count() + 1;
        let end = if d.span.end_line == d.span.line && d.span.end_col as usize > start {
            (d.span.end_col as usize).min(line_len.max(start + 1))
        } else {
            line_len.max(start + 1)
        };
        // A long line is shown as a window of it around the span, so that a huge value
        // gives a line's worth of excerpt, not a copy of itself.
        let (text, start, end) = if line_len > EXCERPT_CHARS + 1 {
            let from = start.saturating_sub(EXCERPT_CHARS / 4 + 1);
            let to = (from + EXCERPT_CHARS).min(line_len - 1);
            let mut shown: String = text.chars().skip(from).take(to - from).collect();
            let lead = usize::from(from > 0);
            if from > 0 {
                shown.insert(0, '…');
            }
            if to < line_len - 1 {
                shown.push('…');
            }
            let start = start - from + lead;
            let end = (end - from + lead).min(to - from + lead + 1).max(start + 1);
            (shown, start, end)
        } else {
            (text.to_string(), start, end)
        };
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{number} | {text}");
        let _ = writeln!(
            out,
            "{pad} | {}{}",
            " ".repeat(start - 1),
            "^".repeat(end - start)
        );
    }
    if let Some(hint) = &d.hint {
        let _ = writeln!(out, "  = hint: {hint}");
    }
}

/// Suggests the closest of `candidates` to a misspelt `word`, for "did you mean" hints.
#[must_use]
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(distance, c)| distance <= (c.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

/// A hint that names the closest candidate if there is one, and otherwise lists them all.
#[must_use]
pub fn suggestion(word: &str, what: &str, candidates: &[&str]) -> String {
    let mut sorted: Vec<&str> = candidates.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let list = if sorted.is_empty() {
        "none are defined".to_string()
    } else {
        sorted.join(", ")
    };
    match closest(word, sorted.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? The {what} are: {list}"),
        None => format!("the {what} are: {list}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_long_quotes_are_shortened() {
        assert_eq!(shorten_quotes("`abc` is not `x`"), "`abc` is not `x`");
        let long = "a".repeat(81);
        assert_eq!(
            shorten_quotes(&format!("rate: `{long}` is wrong; `b`")),
            format!("rate: `{}…` (81 characters) is wrong; `b`", "a".repeat(80))
        );
        // An unclosed quote is shortened all the same.
        assert_eq!(
            shorten_quotes(&format!("`{long}")),
            format!("`{}…", "a".repeat(80))
        );
    }
}
