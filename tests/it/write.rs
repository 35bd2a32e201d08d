//! The YAML writer: edits change only what they should, and the result reads back.

use archsim::model::{self, Model, write::Document};

const SMALL: &str = "# A small shop.
name: small

workloads:
  - { name: users, target: web, rate: 10/s, request: get }
components:
  # The front door.
  web: { kind: load_balancer, backends: [app] }
  app:
    kind: service
    workers: 4   # enough for now
    handlers:
      get: { work: exp 1ms, calls: [ { to: db } ] }

  db: { kind: external, latency: 2ms }
faults:
  - { at: 1s, for: 2s, crash: db }
layout:
  db: [10, 20]
";

fn read(text: &str) -> Model {
    match model::parse("edited.yaml", text) {
        Ok((m, _)) => m,
        Err(d) => panic!("the edited text does not read:\n{}\n{text}", d.render()),
    }
}

fn doc(text: &str) -> Document {
    Document::parse(text).expect("valid YAML")
}

fn bundled() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir("models")
        .expect("models/")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "yaml").then(|| {
                let text = std::fs::read_to_string(&p).expect("readable");
                (p.display().to_string(), text)
            })
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_no_op_round_trip_is_byte_identical_for_every_bundled_model() {
    for (path, text) in bundled() {
        assert_eq!(doc(&text).to_string(), text, "{path}");
    }
}

#[test]
fn set_a_block_scalar_keeps_its_comment() {
    let mut d = doc(SMALL);
    d.set("components.app.workers", "8").expect("set");
    assert_eq!(
        d.to_string(),
        SMALL.replace("workers: 4   # enough", "workers: 8   # enough")
    );
    assert_eq!(read(&d.to_string()).components.len(), 3);
}

#[test]
fn set_in_a_flow_mapping_and_a_list_item() {
    let mut d = doc(SMALL);
    d.set("faults.0.at", "1500ms").expect("set");
    d.set("components.db.latency", "exp 3ms").expect("set");
    d.set("layout.db.1", "25").expect("set");
    let expected = SMALL
        .replace("{ at: 1s, for", "{ at: 1500ms, for")
        .replace("latency: 2ms }", "latency: exp 3ms }")
        .replace("db: [10, 20]", "db: [10, 25]");
    assert_eq!(d.to_string(), expected);
    read(&d.to_string());
}

#[test]
fn set_of_a_missing_key_adds_it() {
    let mut d = doc(SMALL);
    d.set("components.app.queue", "50").expect("set");
    d.set("components.db.errors", "1%").expect("set");
    let expected = SMALL
        .replace(
            "      get: { work: exp 1ms, calls: [ { to: db } ] }\n",
            "      get: { work: exp 1ms, calls: [ { to: db } ] }\n    queue: 50\n",
        )
        .replace("latency: 2ms }", "latency: 2ms, errors: 1% }");
    assert_eq!(d.to_string(), expected);
    read(&d.to_string());
}

#[test]
fn an_invalid_value_leaves_the_document_unchanged() {
    let mut d = doc(SMALL);
    assert!(d.set("components.db.latency", "2ms }").is_err());
    assert!(d.set("components.nothing.workers", "2").is_err());
    assert_eq!(d.to_string(), SMALL);
}

#[test]
fn insert_and_remove_entries() {
    let mut d = doc(SMALL);
    d.insert_mapping_entry("", "limits", "{ requests: 1000 }")
        .expect("insert");
    assert_eq!(
        d.to_string(),
        format!("{SMALL}limits: {{ requests: 1000 }}\n")
    );
    read(&d.to_string());
    d.remove("limits").expect("remove");
    assert_eq!(d.to_string(), SMALL);
    d.remove("components.db.latency")
        .expect("remove flow entry");
    assert_eq!(
        d.to_string(),
        SMALL.replace(
            "db: { kind: external, latency: 2ms }",
            "db: { kind: external }"
        )
    );
    let mut d = doc(SMALL);
    d.remove("faults.0").expect("remove list item");
    assert_eq!(
        d.to_string(),
        SMALL.replace(
            "faults:\n  - { at: 1s, for: 2s, crash: db }\n",
            "faults: []\n"
        )
    );
}

#[test]
fn add_a_component_and_a_call() {
    let mut d = doc(SMALL);
    d.add_component(
        "external",
        "search",
        &[("latency", "exp 1ms"), ("errors", "1%")],
    )
    .expect("add");
    d.add_call("app", "get", "search").expect("call");
    let expected = SMALL
        .replace(
            "  db: { kind: external, latency: 2ms }\n",
            "  db: { kind: external, latency: 2ms }\n  search: { kind: external, latency: exp 1ms, errors: 1% }\n",
        )
        .replace("calls: [ { to: db } ]", "calls: [ { to: db }, { to: search } ]");
    assert_eq!(d.to_string(), expected);
    let m = read(&d.to_string());
    assert_eq!(m.components.len(), 4);
    assert!(d.add_component("service", "app", &[]).is_err());
}

#[test]
fn rename_follows_every_reference() {
    let mut d = doc(SMALL);
    d.rename_component("db", "store").expect("rename");
    let expected = SMALL
        .replace("  db: { kind: external", "  store: { kind: external")
        .replace("{ to: db }", "{ to: store }")
        .replace("crash: db }", "crash: store }")
        .replace("  db: [10, 20]", "  store: [10, 20]");
    assert_eq!(d.to_string(), expected);
    read(&d.to_string());
    d.rename_component("app", "api").expect("rename");
    d.rename_component("web", "lb").expect("rename");
    let m = read(&d.to_string());
    let names: Vec<&str> = m.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["api", "lb", "store"]);
    assert!(d.to_string().contains("backends: [api]"));
    assert!(d.to_string().contains("target: lb,"));
}

#[test]
fn delete_reports_what_else_goes() {
    let mut d = doc(SMALL);
    let removed = d.delete_component("db").expect("delete");
    assert_eq!(
        removed.also,
        [
            "components.app.handlers.get.calls.0",
            "faults.0",
            "layout.db"
        ]
    );
    let text = d.to_string();
    assert!(!text.contains("db"), "{text}");
    read(&text);
}

#[test]
fn the_layout_block_is_written_here() {
    let out = model::write::with_layout(SMALL, &[("db".to_string(), [1.0, 2.0])]);
    assert_eq!(out, SMALL.replace("db: [10, 20]", "db: [1, 2]"));
}
