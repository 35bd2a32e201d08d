//! Generated YAML that is not an edit of a document: the `layout:` block put in place of
//! the old one, and a scenario's `set:` block.

use std::fmt::Write as _;

use super::scalar;

/// The top-level `layout:` block holding `positions`, rounded to whole diagram units, in
/// place of the one `text` has (or after the rest when it has none); everything else stays.
#[must_use]
pub fn with_layout(text: &str, positions: &[(String, [f64; 2])]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| {
        l.strip_prefix("layout")
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    });
    let mut out = String::with_capacity(text.len() + 40 * positions.len());
    let block = layout_block(positions);
    if let Some(s) = start {
        // The block runs on while lines are indented, blank or comments, then stops at
        // the next top-level line; trailing blank lines and comments stay after it.
        let mut end = s + 1;
        let mut last_content = s + 1;
        while end < lines.len() {
            let l = lines[end];
            let top_level = !l.is_empty() && !l.starts_with([' ', '\t', '#']);
            if top_level {
                break;
            }
            if l.starts_with([' ', '\t'])
                && !l.trim().is_empty()
                && !l.trim_start().starts_with('#')
            {
                last_content = end + 1;
            }
            end += 1;
        }
        for l in &lines[..s] {
            out.push_str(l);
            out.push('\n');
        }
        out.push_str(&block);
        for l in &lines[last_content..] {
            out.push_str(l);
            out.push('\n');
        }
    } else {
        out.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&block);
    }
    out
}

fn layout_block(positions: &[(String, [f64; 2])]) -> String {
    let mut b = String::from("layout:\n");
    for (name, [x, y]) in positions {
        let _ = writeln!(b, "  {}: [{}, {}]", scalar(name), x.round(), y.round());
    }
    b
}

/// A scenario's `set:` block of dotted paths and values, as the reader takes it.
#[must_use]
pub fn set_block(set: &[(String, String)]) -> String {
    let mut text = String::from("set:\n");
    for (path, value) in set {
        let _ = writeln!(text, "  {path}: {value}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(name: &str, x: f64, y: f64) -> (String, [f64; 2]) {
        (name.to_string(), [x, y])
    }

    #[test]
    fn appends_a_layout_block_when_there_is_none() {
        let text = "# a shop\nname: x\ncomponents: {}";
        let out = with_layout(text, &[pos("db", 10.4, -3.6)]);
        assert_eq!(
            out,
            "# a shop\nname: x\ncomponents: {}\nlayout:\n  db: [10, -4]\n"
        );
    }

    #[test]
    fn replaces_only_the_layout_block_and_keeps_the_rest() {
        let text = "name: x\nlayout:\n  db: [1, 2]\n  # old\n  app: [3, 4]\n\n# faults follow\nfaults: []\n";
        let out = with_layout(text, &[pos("db", 5.0, 6.0)]);
        assert_eq!(
            out,
            "name: x\nlayout:\n  db: [5, 6]\n\n# faults follow\nfaults: []\n"
        );
    }

    #[test]
    fn odd_names_are_quoted() {
        let out = with_layout("", &[pos("my db", 0.0, 0.0)]);
        assert_eq!(out, "layout:\n  \"my db\": [0, 0]\n");
    }

    #[test]
    fn scalars_that_read_back_differently_are_quoted() {
        assert_eq!(scalar("db"), "db");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("12"), "\"12\"");
        assert_eq!(scalar("a b"), "\"a b\"");
    }
}
