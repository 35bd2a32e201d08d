//! What-if experiments: scenarios and their overrides, baseline against scenario on common
//! random numbers, the resiliency matrix, and SLO checks (library and binary).

use std::process::Command;
use std::sync::Arc;

use archsim::experiment::compare::compare;
use archsim::experiment::matrix::{MatrixFault, matrix};
use archsim::experiment::slo::check;
use archsim::model::{self, Arrivals, ComponentKind, Model, Step};
use archsim::sim::{RunOptions, SimTime};

use crate::support::{bundled, bundled_path, model};

fn spof() -> Arc<Model> {
    bundled("single_point_of_failure.yaml")
}

/// The bundled model with its SLOs replaced (the reader resolves scenario names).
fn spof_with_slos(slos: &str) -> Arc<Model> {
    let text = std::fs::read_to_string(bundled_path("single_point_of_failure.yaml"))
        .expect("bundled model");
    let cut = text.find("slos:").expect("the model has slos");
    model(&format!("{}slos:\n{slos}", &text[..cut]))
}

fn options(seed: u64) -> RunOptions {
    RunOptions {
        seed: Some(seed),
        ..RunOptions::default()
    }
}

fn service<'m>(m: &'m Model, name: &str) -> &'m archsim::model::Service {
    match &m.component(m.component_id(name).expect("component")).kind {
        ComponentKind::Service(s) => s,
        _ => panic!("{name} is not a service"),
    }
}

#[test]
fn overrides_change_exactly_what_their_paths_name() {
    let m = model(
        "
workloads:
  - { name: users, target: app, rate: 100/s, mix: { browse: 0.5, buy: 0.5 } }
components:
  app:
    kind: service
    workers: 4
    handlers:
      browse: { work: exp 4ms, calls: [ { to: db }, { to: cache } ] }
      buy: { work: exp 4ms, calls: [ { to: db, idempotent: false } ] }
  db: { kind: service, handlers: { \"*\": { work: exp 2ms } } }
  cache: { kind: external, latency: 1ms }
scenarios:
  tuned:
    set:
      app.replicas: 3
      app.queue: 20
      app.calls.db.timeout: 250ms
      app.retry.attempts: 4
      app.handlers.buy.work: 7ms
      cache.errors: 1%
      users.rate: 300/s
",
    );
    let s = m.with_scenario(m.scenario("tuned").expect("declared"));
    let app = service(&s, "app");
    assert_eq!((app.replicas, app.workers, app.queue), (3, 4, Some(20)));
    let browse = &app.handlers[0];
    let buy = &app.handlers[1];
    let (Step::Call(to_db), Step::Call(to_cache)) = (&browse.steps[0], &browse.steps[1]) else {
        panic!("two calls")
    };
    assert_eq!(to_db.timeout, Some(SimTime::from_millis(250)));
    assert_eq!(to_cache.timeout, None, "only calls to db get the timeout");
    assert_eq!(to_db.retry.as_ref().map(|r| r.attempts), Some(4));
    assert_eq!(to_cache.retry.as_ref().map(|r| r.attempts), Some(4));
    let Step::Call(buy_db) = &buy.steps[0] else {
        panic!("a call")
    };
    assert!(
        buy_db.retry.is_none(),
        "a non-idempotent call is never retried"
    );
    assert_eq!(buy_db.timeout, Some(SimTime::from_millis(250)));
    assert_eq!(buy.work.mean_ns(), Some(7e6));
    let Arrivals::Open { steps } = &s.workloads[0].arrivals else {
        panic!("open loop")
    };
    assert_eq!(steps, &vec![(SimTime::ZERO, 300.0)]);
    // The original is untouched.
    assert_eq!(service(&m, "app").replicas, 1);
}

#[test]
fn a_scenario_that_outwaits_the_client_is_warned_about() {
    let (m, warnings) = model::parse(
        "m.yaml",
        "
workloads:
  - { name: users, target: app, rate: 10/s, request: get, timeout: 1s }
components:
  app: { kind: service, handlers: { get: { calls: [ { to: db, timeout: 200ms } ] } } }
  db: { kind: service, handlers: { get: { work: exp 2ms } } }
scenarios:
  patient:
    set: { app.calls.db.timeout: 3s }
",
    )
    .expect("valid");
    assert_eq!(m.scenarios.len(), 1);
    let messages: Vec<String> = warnings
        .iter()
        .map(|d| format!("{}:{} {}", d.span.line, d.span.col, d.message))
        .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].starts_with("8:3 under scenario `patient`, `app` may wait up to 3s for `db`"),
        "{messages:?}"
    );
    assert!(messages[0].ends_with("(line 5)"), "{messages:?}");
}

#[test]
fn a_scenario_file_is_read_against_the_model_with_positioned_errors() {
    let m = spof();
    let s = model::parse_scenario(
        "db_slow.yaml",
        "db_slow",
        "faults: [ { at: 0s, slow: db, factor: 10 } ]\nset: { app.workers: 16 }\n",
        &m,
    )
    .expect("valid scenario");
    assert_eq!(
        (s.name.as_str(), s.faults.len(), s.set.len()),
        ("db_slow", 1, 1)
    );
    let err = model::parse_scenario("bad.yaml", "bad", "set: { app.wrokers: 16 }\n", &m)
        .expect_err("misspelt path");
    let rendered = err.render();
    assert!(
        rendered.starts_with("bad.yaml:1:8: error: `app.wrokers` cannot be set"),
        "{rendered}"
    );
    assert!(rendered.contains("did you mean `workers`?"), "{rendered}");
}

/// With common random numbers a scenario that changes nothing gives the same runs, so
/// every difference is exactly 0, not merely inside its interval.
#[test]
fn compare_with_an_identical_scenario_gives_exactly_zero() {
    let m = model(
        &std::fs::read_to_string(bundled_path("single_point_of_failure.yaml"))
            .expect("bundled")
            .replace(
                "scenarios:\n",
                "scenarios:\n  same: { set: { app.workers: 8, app.replicas: 3 } }\n  nothing: {}\n",
            ),
    );
    for name in ["same", "nothing"] {
        let c = compare(&m, m.scenario(name).expect("declared"), options(3), 4).expect("runs");
        assert_eq!(c.seeds, vec![3, 4, 5, 6]);
        assert_eq!(c.flows.len(), 2);
        for (flow, figures) in &c.flows {
            assert_eq!(figures.len(), 6);
            for (figure, p) in figures {
                assert_eq!(p.n, 4, "{flow} {figure}");
                assert_eq!(p.difference, Some(0.0), "{flow} {figure}: {p:?}");
                assert_eq!(p.half_width, Some(0.0), "{flow} {figure}: {p:?}");
                assert!(!p.significant);
                assert_eq!(p.baseline, p.scenario);
            }
        }
    }
}

/// The database is down for 30 s of the 100 s window: `buy` loses 30% of its requests,
/// and the paired interval is narrow enough to say so; `browse` does not use the database.
#[test]
fn compare_finds_a_crash_of_a_needed_component_significant() {
    let m = spof();
    let c = compare(&m, m.scenario("db_down").expect("declared"), options(1), 8).expect("runs");
    let buy = &c.flows["buy"]["availability"];
    let (d, h) = (
        buy.difference.expect("a difference"),
        buy.half_width.expect("an interval"),
    );
    assert!(buy.significant && d < 0.0, "{buy:?}");
    // Requests that arrive while it is down fail: 30 s out of 100 s. The 95% interval of
    // the paired difference should cover that.
    assert!((d - -0.30).abs() <= h, "{d} ± {h} does not cover -0.30");
    assert!(c.flows["buy"]["failed"].significant);
    assert!(c.flows["buy"]["throughput_per_s"].significant);
    let browse = &c.flows["browse"]["availability"];
    assert_eq!(browse.difference, Some(0.0), "{browse:?}");
}

#[test]
fn the_matrix_marks_the_single_points_of_failure_and_nothing_else() {
    let m = spof();
    let mx = matrix(&m, MatrixFault::OneReplica, options(1), 1, true).expect("runs");
    assert_eq!(mx.flows, vec!["browse".to_string(), "buy".to_string()]);
    for (flow, cell) in &mx.baseline {
        assert_eq!(cell.breach, Some(false), "baseline {flow}: {cell:?}");
    }
    let mut breaching: Vec<(String, String)> = Vec::new();
    for (row, cells) in &mx.rows {
        for (flow, cell) in cells {
            if cell.breach == Some(true) {
                breaching.push((row.clone(), flow.clone()));
            }
        }
    }
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    // `db` and the balancer are one instance each; `app` (health-checked) and `cache`
    // (retried) have spare replicas.
    assert_eq!(
        breaching,
        vec![pair("db", "buy"), pair("lb", "browse"), pair("lb", "buy")]
    );
    assert_eq!(mx.rows["db"]["buy"].availability, Some(0.0));
    assert_eq!(mx.rows["db"]["buy"].p99_s, None);
    assert_eq!(mx.rows["app"]["buy"].availability, Some(1.0));
    assert_eq!(mx.rows["cache"]["browse"].availability, Some(1.0));

    // Crashing every replica, the cache is needed by browse (and only browse).
    let crash = matrix(&m, MatrixFault::Crash, options(1), 1, true).expect("runs");
    assert_eq!(crash.rows["cache"]["browse"].breach, Some(true));
    assert_eq!(crash.rows["cache"]["buy"].breach, Some(false));
    assert_eq!(crash.rows["app"]["browse"].availability, Some(0.0));
}

#[test]
fn the_matrix_json_has_the_documented_shape() {
    let m = spof();
    let mx = matrix(&m, MatrixFault::Slow(10.0), options(2), 2, true).expect("runs");
    let v = serde_json::to_value(&mx).expect("serialises");
    assert_eq!(v["fault"], "slow:10x");
    assert_eq!(v["seeds"], serde_json::json!([2, 3]));
    let a = v["baseline"]["buy"]["availability"]
        .as_f64()
        .expect("a fraction");
    assert!((0.99..=1.0).contains(&a), "{a}");
    assert!(v["baseline"]["browse"]["p99_s"].as_f64().expect("seconds") < 0.05);
    // Ten times slower database work: buy is slower, browse is not.
    let slow = v["rows"]["db"]["buy"]["p99_s"].as_f64().expect("seconds");
    let base = v["baseline"]["buy"]["p99_s"].as_f64().expect("seconds");
    assert!(slow > base * 1.5, "{slow} vs {base}");
    assert_eq!(v["rows"]["db"]["browse"], v["baseline"]["browse"]);
}

#[test]
fn parallel_matrix_runs_equal_serial_ones() {
    let m = spof();
    let parallel = matrix(&m, MatrixFault::Partition, options(5), 2, true).expect("runs");
    let serial = matrix(&m, MatrixFault::Partition, options(5), 2, false).expect("runs");
    assert_eq!(parallel, serial);
    // Cut off from everything, the database fails every `buy` (the client's 2 s deadline).
    assert_eq!(parallel.rows["db"]["buy"].availability, Some(0.0));
    assert_eq!(parallel.rows.len(), m.components.len());
}

#[test]
fn check_holds_and_breaks_naming_the_bound() {
    let holding = spof_with_slos(
        "  - { request: browse, p99: 50ms, availability: 99.9% }\n  \
         - { request: browse, availability: 99%, scenario: app_replica_down }\n  \
         - { request: buy, availability: 60%, scenario: db_down }\n",
    );
    let o = check(&holding, options(1), 2).expect("runs");
    assert!(o.holds(), "{:?}", o.breaches());
    // browse's two bounds under the baseline and under each of the three scenarios (the
    // relaxed availability replacing the general one under app_replica_down), and buy's
    // one bound under db_down.
    assert_eq!(o.verdicts.len(), 2 * 4 + 1);

    let m = spof();
    let o = check(&m, options(1), 2).expect("runs");
    let broken: Vec<String> = o
        .breaches()
        .iter()
        .map(|v| format!("{} under {}", v.objective(), v.under))
        .collect();
    assert_eq!(broken, vec!["buy availability ≥ 75% under db_down"]);
    // The scenario's own bound replaces the general 99.9% there, and only there.
    assert!(
        o.verdicts
            .iter()
            .any(|v| v.under == "baseline" && v.request == "buy" && (v.bound - 0.999).abs() < 1e-9)
    );
    assert!(
        !o.verdicts
            .iter()
            .any(|v| v.under == "db_down" && v.request == "buy" && (v.bound - 0.999).abs() < 1e-9)
    );
}

fn archsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn check_exit_codes_and_junit_from_the_binary() {
    let dir = std::env::temp_dir().join(format!("archsim-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = bundled_path("single_point_of_failure.yaml");
    let junit = dir.join("junit.xml");
    let out = archsim(&[
        "check",
        path.to_str().expect("utf-8 path"),
        "--junit",
        junit.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 of 16 SLO bounds broken: buy availability ≥ 75% under db_down"),
        "{stderr}"
    );
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    assert_well_formed(&xml);
    assert!(xml.contains("tests=\"16\" failures=\"1\""), "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 1);

    let text = std::fs::read_to_string(&path).expect("bundled");
    let relaxed = dir.join("relaxed.yaml");
    std::fs::write(
        &relaxed,
        text.replace(
            "{ request: buy, availability: 75%, scenario: db_down }",
            "{ request: buy, availability: 60%, scenario: db_down }",
        ),
    )
    .expect("write");
    let out = archsim(&["check", relaxed.to_str().expect("utf-8 path")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("holds  buy availability ≥ 60%"));

    let out = archsim(&[
        "compare",
        relaxed.to_str().expect("utf-8 path"),
        "--scenario",
        "db_dwn",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `db_down`?"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A strict check of XML well-formedness for what the JUnit writer emits: one root,
/// properly nested and closed elements, quoted attributes, known entities only.
fn assert_well_formed(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .unwrap_or(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        let close = rest[open..].find('>').expect("a closed tag") + open;
        let tag = &rest[open + 1..close];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().expect("a tag name");
            assert!(name.chars().all(xml_name_char), "{name}");
            check_attributes(&tag[name.len()..]);
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name.to_string());
            }
        }
        rest = &rest[close + 1..];
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(roots, 1, "one root element");
}

fn xml_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.')
}

fn check_attributes(mut attrs: &str) {
    loop {
        attrs = attrs.trim_start();
        if attrs.is_empty() {
            return;
        }
        let eq = attrs.find("=\"").expect("name=\"value\"");
        assert!(attrs[..eq].chars().all(xml_name_char), "{}", &attrs[..eq]);
        let end = attrs[eq + 2..].find('"').expect("a closing quote") + eq + 2;
        check_text(&attrs[eq + 2..end]);
        attrs = &attrs[end + 1..];
    }
}

fn check_text(text: &str) {
    assert!(!text.contains('<') && !text.contains('>'), "{text}");
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        let semi = rest[amp..].find(';').expect("a terminated entity") + amp;
        assert!(
            ["amp", "lt", "gt", "quot", "apos"].contains(&&rest[amp + 1..semi]),
            "unknown entity in {text}"
        );
        rest = &rest[semi + 1..];
    }
}

#[test]
fn compare_and_matrix_from_the_binary_with_a_scenario_file() {
    let dir = std::env::temp_dir().join(format!("archsim-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let scenario = dir.join("cache_slow.yaml");
    std::fs::write(
        &scenario,
        "description: The cache answers ten times slower.\nfaults: [ { at: 0s, slow: cache, factor: 10 } ]\n",
    )
    .expect("write");
    let path = bundled_path("single_point_of_failure.yaml");
    let path = path.to_str().expect("utf-8 path");
    let out = archsim(&[
        "compare",
        path,
        "--scenario",
        scenario.to_str().expect("utf-8 path"),
        "--replications",
        "3",
        "--duration",
        "40s",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["scenario"], "cache_slow");
    assert_eq!(v["seeds"], serde_json::json!([1, 2, 3]));
    let p99 = &v["flows"]["browse"]["p99_s"];
    assert_eq!(p99["significant"], true, "{p99}");
    assert!(p99["difference"].as_f64().expect("a number") > 0.0);
    // buy never calls the cache, and app has idle workers enough that the slower browse
    // requests never make a buy wait: its draws, and so its figures, are the same.
    assert_eq!(v["flows"]["buy"]["p99_s"]["difference"], 0.0);

    let out = archsim(&["matrix", path, "--csv", "--duration", "40s"]);
    assert_eq!(out.status.code(), Some(0));
    let csv = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "failed,flow,availability,p99_s,in_flight,breach");
    // The baseline and four components, two flows each.
    assert_eq!(lines.len(), 1 + 5 * 2);
    assert!(lines.iter().any(|l| l.starts_with("db,buy,0,,")), "{csv}");

    let out = archsim(&["matrix", path, "--fault", "melt"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a command line that cannot be understood"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fault `melt`"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_matrix_svg_is_standalone_and_colours_each_breach() {
    let m = spof();
    let mx = matrix(&m, MatrixFault::OneReplica, options(1), 1, true).expect("runs");
    let svg = mx.to_svg();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_well_formed(&svg);
    // Self-contained: the namespace is the only URL, and nothing is linked or loaded.
    assert_eq!(svg.matches("http").count(), 1);
    assert!(!svg.contains("href") && !svg.contains("url("));
    let cells = |class: &str| svg.matches(&format!("class=\"{class}\"")).count();
    // (db, buy), (lb, browse), (lb, buy) break an SLO; the other 7 of 10 cells hold.
    assert_eq!((cells("breach"), cells("holds")), (3, 7));
    for name in ["baseline", "app", "cache", "db", "lb", "browse", "buy"] {
        assert!(svg.contains(&format!(">{name}</text>")), "{name}");
    }
}

#[test]
fn the_json_schema_describes_scenarios_and_slos() {
    let schema = archsim::model::schema::json_schema();
    for key in ["scenarios", "slos"] {
        assert!(schema["properties"][key].is_object(), "{key}");
    }
    let slo = &schema["definitions"]["slo"];
    assert_eq!(slo["required"], serde_json::json!(["request"]));
    for key in ["availability", "p99", "scenario"] {
        assert!(slo["properties"][key].is_object(), "{key}");
    }
    let scenario = &schema["definitions"]["scenario"]["properties"];
    assert!(scenario["faults"].is_object() && scenario["set"].is_object());
}
