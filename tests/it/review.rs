//! The HTML review: well-formed, self-contained, with every section, from the library and
//! from the binary.

use std::path::Path;
use std::process::Command;

use archsim::experiment::matrix::{MatrixFault, matrix};
use archsim::experiment::review::Review;
use archsim::experiment::{run_traced, slo};
use archsim::sim::{RunOptions, SimTime};

use crate::support::model;

/// HTML elements that never have a closing tag.
const VOID: [&str; 6] = ["meta", "br", "img", "input", "link", "hr"];

/// Checks that every tag is closed in order (HTML's void elements aside, and SVG's `/>`),
/// that attribute quotes pair up, and returns the tags' names in order.
fn balanced_tags(html: &str) -> Result<Vec<String>, String> {
    let mut open: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        if rest.starts_with("<!DOCTYPE") || rest.starts_with("<!--") {
            let end = rest.find('>').ok_or("an unclosed declaration")?;
            rest = &rest[end + 1..];
            continue;
        }
        let end = rest.find('>').ok_or("an unclosed tag")?;
        let tag = &rest[1..end];
        if !tag.matches('"').count().is_multiple_of(2) {
            return Err(format!("unpaired quotes in <{tag}>"));
        }
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(o) if o == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        if name.is_empty() {
            return Err(format!(
                "a stray `<` before `{}`",
                &tag[..tag.len().min(20)]
            ));
        }
        seen.push(name.clone());
        if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            open.push(name);
        }
    }
    if open.is_empty() {
        Ok(seen)
    } else {
        Err(format!("never closed: {open:?}"))
    }
}

/// Every `src` and `href` value in the page, and whether the page names any address.
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attribute in [" src=\"", " href=\""] {
        for (i, _) in html.match_indices(attribute) {
            let value = &html[i + attribute.len()..];
            out.push(value[..value.find('"').unwrap_or(0)].to_string());
        }
    }
    out
}

#[test]
fn the_review_is_well_formed_self_contained_and_complete() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/single_point_of_failure.yaml"),
    )
    .expect("bundled model");
    let m = model(&text);
    let options = RunOptions {
        seed: Some(3),
        duration: Some(SimTime::from_secs(60)),
        warmup: Some(SimTime::from_secs(10)),
    };
    let shown = m.with_scenario(m.scenario("db_down").expect("declared"));
    let traced = run_traced(&std::sync::Arc::new(shown), options).expect("runs");
    let report = &traced.report;
    let mx = matrix(&m, MatrixFault::Crash, options, 1, true).expect("runs");
    let check = slo::check(&m, options, 1).expect("runs");
    let html = Review {
        model: &m,
        file: "models/single_point_of_failure.yaml",
        scenario: Some("db_down"),
        report,
        matrix: Some(&mx),
        check: Some(&check),
        traces: &traced.traces,
        faults: &traced.faults,
    }
    .to_html();

    let tags = balanced_tags(&html).unwrap_or_else(|e| panic!("malformed HTML: {e}"));
    assert_eq!(tags.first().map(String::as_str), Some("html"));
    assert!(tags.iter().any(|t| t == "svg") && tags.iter().any(|t| t == "table"));

    // Offline: no address anywhere, and links only within the page.
    assert!(!html.contains("://"), "the page names an address");
    let refs = references(&html);
    assert!(!refs.is_empty());
    for r in &refs {
        assert!(r.starts_with('#'), "a reference outside the page: {r}");
    }
    for tag in ["<script", "<link", "<img", "@import", "url(http"] {
        assert!(!html.contains(tag), "the page has {tag}");
    }

    for section in [
        "architecture",
        "figures",
        "plots",
        "requests",
        "events",
        "matrix",
        "slos",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{section}\">")),
            "no {section} section"
        );
    }
    // The diagram has a box per client and component, the plots mark the fault, the matrix
    // and the verdicts are there, the broken bound marked.
    let nodes = html.matches("<g class=\"node\">").count();
    assert_eq!(nodes, m.workloads.len() + m.components.len());
    assert!(html.contains("crash db") && html.contains("class=\"marker\""));
    assert!(html.contains("resiliency matrix (crash)"));
    assert_eq!(
        html.matches("<tr class=\"broken\">").count(),
        check.breaches().len()
    );
    assert!(
        check
            .breaches()
            .iter()
            .any(|v| v.under == "db_down" && v.request == "buy")
    );
    // Under db_down, buy fails: the page shows its first failure with the reason, and its
    // slowest request.
    assert!(
        html.contains("<h3>buy · first failed</h3>"),
        "no failed buy shown"
    );
    assert!(
        html.contains("<h3>buy · slowest</h3>"),
        "no slowest buy shown"
    );
    assert!(
        html.contains("because"),
        "a request shown without its explanation"
    );
}

#[test]
fn report_from_the_binary_writes_the_page() {
    let dir = std::env::temp_dir().join(format!("archsim-review-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("review.html");
    let status = Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args([
            "report",
            concat!(env!("CARGO_MANIFEST_DIR"), "/models/checkout.yaml"),
            "--duration",
            "20s",
            "--warmup",
            "5s",
            "-o",
            out.to_str().expect("utf-8 path"),
        ])
        .status()
        .expect("the binary runs");
    assert!(status.success());
    let html = std::fs::read_to_string(&out).expect("written");
    balanced_tags(&html).unwrap_or_else(|e| panic!("malformed HTML: {e}"));
    assert!(html.contains("<h1>Checkout, v1</h1>"));
    assert!(html.contains("declares no SLOs"));
    let _ = std::fs::remove_dir_all(&dir);
}
