//! Broken models: each file in `bad_models/` states the errors it must produce, as
//! `# expect: LINE:COL message | hint` lines, and the reader must report exactly those — all
//! of them at once, at those positions. Then: no input, however mangled, makes it panic.

use std::path::Path;

use archsim::model::{self, Severity};
use proptest::prelude::*;

struct Expected {
    line: u32,
    col: u32,
    message: String,
    hint: Option<String>,
}

fn expectations(text: &str) -> Vec<Expected> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|rest| {
            let (pos, tail) = rest.split_once(' ').expect("`LINE:COL message`");
            let (line, col) = pos.split_once(':').expect("LINE:COL");
            let (message, hint) = match tail.split_once(" | ") {
                Some((m, h)) => (m, Some(h.trim_end().to_string())),
                None => (tail, None),
            };
            Expected {
                line: line.parse().expect("line number"),
                col: col.parse().expect("column number"),
                message: message.trim_end().to_string(),
                hint,
            }
        })
        .collect()
}

#[test]
fn each_broken_model_reports_exactly_its_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/bad_models");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "the corpus shrank to {} files",
        files.len()
    );
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let expected = expectations(&text);
        let name = path.file_name().expect("file name").to_string_lossy();
        assert!(!expected.is_empty(), "{name} states no expectation");
        let Err(diags) = model::parse(&name, &text) else {
            panic!("{name} was accepted but should fail")
        };
        let errors: Vec<_> = diags
            .items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        let rendered = diags.render();
        assert_eq!(
            errors.len(),
            expected.len(),
            "{name}: expected {} errors, got:\n{rendered}",
            expected.len()
        );
        for (got, want) in errors.iter().zip(&expected) {
            assert_eq!(
                (got.span.line, got.span.col),
                (want.line, want.col),
                "{name}: position of `{}`:\n{rendered}",
                want.message
            );
            assert!(
                got.message.contains(&want.message),
                "{name}: `{}` does not contain `{}`",
                got.message,
                want.message
            );
            if let Some(h) = &want.hint {
                let hint = got.hint.as_deref().unwrap_or_default();
                assert!(
                    hint.contains(h.as_str()),
                    "{name}: hint `{hint}` lacks `{h}`"
                );
            }
            // The rendering names the file and position and underlines the source line.
            assert!(rendered.contains(&format!("{name}:{}:{}: error: ", want.line, want.col)));
        }
    }
}

#[test]
fn rendering_shows_the_line_and_underlines_the_span() {
    let text = "workloads:\n  - { name: u, target: app, rate: 10/s, request: a }\ncomponents:\n  app: { kind: service, handlers: { a: { work: exp 4 parsecs } } }\n";
    let diags = model::parse("m.yaml", text).expect_err("bad unit");
    let r = diags.render();
    assert!(r.starts_with("m.yaml:4:48: error: work: "), "{r}");
    assert!(r.contains("4 |   app: { kind: service"), "{r}");
    assert!(
        r.contains(&format!("  | {}^^^^^^^^^^^^^", " ".repeat(47))),
        "{r}"
    );
}

/// Valid models to mangle: a plain one, and one with scenarios and SLOs.
const SEED_MODEL: &str = include_str!("../../models/checkout.yaml");
const SEED_SCENARIOS: &str = include_str!("../../models/single_point_of_failure.yaml");

/// Cuts out `len` characters at `start`, or repeats them.
fn mangle(text: &str, start: usize, len: usize, repeat: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let start = start.min(chars.len());
    let end = (start + len).min(chars.len());
    let mut mangled: String = chars[..start].iter().collect();
    if repeat {
        mangled.extend(&chars[start..end]);
        mangled.extend(&chars[start..end]);
    }
    mangled.extend(&chars[end..]);
    mangled
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// Arbitrary text never panics the reader; it is a model or a list of diagnostics.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = model::parse("fuzz.yaml", &text);
    }

    /// A valid model with a slice cut out, or a slice repeated, never panics either, and
    /// every diagnostic points inside the text.
    #[test]
    fn mangled_models_never_panic(
        start in 0usize..3000,
        len in 0usize..80,
        repeat in any::<bool>(),
        scenarios in any::<bool>(),
    ) {
        let seed = if scenarios { SEED_SCENARIOS } else { SEED_MODEL };
        let mangled = mangle(seed, start, len, repeat);
        if let Err(d) = model::parse("mangled.yaml", &mangled) {
            let lines = u32::try_from(mangled.lines().count()).unwrap_or(u32::MAX).max(1);
            for item in &d.items {
                prop_assert!(item.span.line >= 1 && item.span.line <= lines + 1, "{:?}", item);
            }
            let _ = d.render();
        }
    }
}
