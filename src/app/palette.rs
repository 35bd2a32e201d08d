//! What the editor can add to a model and how two parts connect: the palette of kinds with
//! defaults that run at once, a new sketch, and what dragging from one component to another
//! writes into the model.
//!
//! Owns the defaults of each kind and the meaning of "connect A to B" per kind of A. Every
//! edit goes through [`Document`]; whether the result is a valid model is the reader's
//! decision. Must never: write YAML text of its own beyond the values it passes to the
//! document.

use crate::model::write::{Document, EditError, scalar};

/// The text a new sketch starts from: one workload sending to one service, so that it runs
/// at once and shows requests answered.
pub const NEW_SKETCH: &str = "\
# A new sketch. Add components from the palette (left), drag from a component's handle
# (the dot on its right edge) to another to connect them, and set any value in the
# inspector (right). Save with Ctrl+S.
name: New sketch
duration: 5m
seed: 1
workloads:
  - { name: users, target: app, rate: 100/s, request: get, timeout: 2s }
components:
  app: { kind: service, workers: 4, handlers: { \"*\": { work: exp 10ms } } }
";

/// A kind the palette offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Workload,
    LoadBalancer,
    Service,
    Cache,
    Database,
    Queue,
    External,
}

impl Part {
    pub const ALL: [Part; 7] = [
        Part::Workload,
        Part::LoadBalancer,
        Part::Service,
        Part::Cache,
        Part::Database,
        Part::Queue,
        Part::External,
    ];

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Part::Workload => "Clients (workload)",
            Part::LoadBalancer => "Load balancer",
            Part::Service => "Service",
            Part::Cache => "Cache",
            Part::Database => "Database",
            Part::Queue => "Message queue",
            Part::External => "External API",
        }
    }

    /// The name a new one gets (numbered when taken).
    fn base_name(self) -> &'static str {
        match self {
            Part::Workload => "clients",
            Part::LoadBalancer => "lb",
            Part::Service => "service",
            Part::Cache => "cache",
            Part::Database => "db",
            Part::Queue => "queue",
            Part::External => "api",
        }
    }

    #[must_use]
    pub fn hint(self) -> &'static str {
        match self {
            Part::Workload => "Users sending requests: 100/s of `get`, to the selected component",
            Part::LoadBalancer => "Spreads requests over its backends (the selected service)",
            Part::Service => "Workers and a queue; one handler that serves every request type",
            Part::Cache => "Hits answer fast, misses read its store (the selected component)",
            Part::Database => "A primary with workers; add replicas in the inspector",
            Part::Queue => "A broker: producers return at once, a consumer service pulls",
            Part::External => "A third-party API: a latency and an error rate",
        }
    }
}

/// A name not yet used by a component or a workload.
#[must_use]
pub fn free_name(document: &Document, base: &str) -> String {
    let taken = |n: &str| {
        document.get(&format!("components.{n}")).is_some() || workload_index(document, n).is_some()
    };
    if !taken(base) {
        return base.to_string();
    }
    // A model holds at most 65,535 workloads and far fewer components.
    (2..100_000)
        .map(|i| format!("{base}{i}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| base.to_string())
}

/// The position of the workload named `name` in `workloads:`.
#[must_use]
pub fn workload_index(document: &Document, name: &str) -> Option<usize> {
    (0..10_000)
        .map_while(|i| document.get(&format!("workloads.{i}")).map(|_| i))
        .find(|i| {
            document
                .get(&format!("workloads.{i}.name"))
                .and_then(|n| n.as_scalar())
                == Some(name)
        })
}

/// The `kind:` of a component, as written.
#[must_use]
pub fn kind_of(document: &Document, name: &str) -> Option<String> {
    document
        .get(&format!("components.{name}.kind"))
        .and_then(|n| n.as_scalar())
        .map(str::to_string)
}

/// The components, in the order of the file.
#[must_use]
pub fn components(document: &Document) -> Vec<String> {
    document.keys("components")
}

/// Adds a part; `near` (the selected component, if any) is what a balancer spreads over, a
/// cache reads on a miss, a queue is consumed by and clients send to. Returns the new
/// part's name.
///
/// # Errors
/// An edit that cannot be made.
pub fn add(document: &mut Document, part: Part, near: Option<&str>) -> Result<String, EditError> {
    let name = free_name(document, part.base_name());
    let all = components(document);
    let of_kind = |kinds: &[&str]| {
        near.filter(|n| kind_of(document, n).is_some_and(|k| kinds.contains(&k.as_str())))
            .map(str::to_string)
            .or_else(|| {
                all.iter()
                    .find(|c| kind_of(document, c).is_some_and(|k| kinds.contains(&k.as_str())))
                    .cloned()
            })
    };
    match part {
        Part::Workload => {
            let target = near
                .map(str::to_string)
                .or_else(|| all.first().cloned())
                .ok_or_else(|| {
                    EditError::NotFound("a component for the clients to send to".into())
                })?;
            let item = format!(
                "{{ name: {}, target: {}, rate: 100/s, request: get, timeout: 2s }}",
                scalar(&name),
                scalar(&target)
            );
            if document.get("workloads").is_some() {
                document.push_item("workloads", &item)?;
            } else {
                document.insert_mapping_entry("", "workloads", &format!("[ {item} ]"))?;
            }
        }
        Part::Service => document.add_component(
            "service",
            &name,
            &[
                ("workers", "4"),
                ("handlers", "{ \"*\": { work: exp 10ms } }"),
            ],
        )?,
        Part::Database => document.add_component(
            "database",
            &name,
            &[
                ("workers", "8"),
                ("handlers", "{ \"*\": { work: exp 4ms } }"),
            ],
        )?,
        Part::External => document.add_component(
            "external",
            &name,
            &[("latency", "lognormal 80ms p99 400ms"), ("errors", "0.5%")],
        )?,
        Part::LoadBalancer => {
            let backend = match of_kind(&["service", "external"]) {
                Some(b) => b,
                None => add(document, Part::Service, None)?,
            };
            let backends = format!("[{}]", scalar(&backend));
            document.add_component("load_balancer", &name, &[("backends", &backends)])?;
        }
        Part::Cache => {
            let store = match of_kind(&["database", "service", "external"]) {
                Some(s) => s,
                None => add(document, Part::Database, None)?,
            };
            let on_miss = format!("{{ to: {} }}", scalar(&store));
            document.add_component(
                "cache",
                &name,
                &[
                    ("latency", "exp 300us"),
                    ("hit_ratio", "80%"),
                    ("on_miss", &on_miss),
                ],
            )?;
        }
        Part::Queue => {
            let consumer = match of_kind(&["service"]) {
                Some(s) => s,
                None => add(document, Part::Service, None)?,
            };
            document.add_component("queue", &name, &[("consumers", &scalar(&consumer))])?;
        }
    }
    Ok(name)
}

/// Connects `from` (a workload or a component) to the component `to`: a workload sends to
/// it, a service calls it from every handler, a balancer adds it to its backends, a queue
/// to its consumers, a cache reads it on a miss. Returns a sentence saying what was done.
///
/// # Errors
/// `from` cannot call anything (a database, an external API), or the edit cannot be made.
pub fn connect(document: &mut Document, from: &str, to: &str) -> Result<String, EditError> {
    if from == to {
        return Err(EditError::Invalid {
            path: format!("components.{from}"),
            message: "a component cannot be connected to itself".into(),
        });
    }
    if let Some(i) = workload_index(document, from) {
        document.set(&format!("workloads.{i}.target"), &scalar(to))?;
        return Ok(format!("{from} now send to {to}"));
    }
    let base = format!("components.{from}");
    let kind = kind_of(document, from).ok_or_else(|| EditError::NotFound(base.clone()))?;
    match kind.as_str() {
        "service" => {
            let handlers = document.keys(&format!("{base}.handlers"));
            if handlers.is_empty() {
                document.set(
                    &format!("{base}.handlers"),
                    &format!(
                        "{{ \"*\": {{ work: exp 10ms, calls: [ {{ to: {} }} ] }} }}",
                        scalar(to)
                    ),
                )?;
                return Ok(format!("{from} calls {to}"));
            }
            let mut added = 0;
            for h in &handlers {
                let calls = format!("{base}.handlers.{h}.calls");
                let already = (0..1000)
                    .map_while(|i| document.get(&format!("{calls}.{i}")))
                    .any(|c| child_scalar(c, "to") == Some(to));
                if !already {
                    document.add_call(from, h, to)?;
                    added += 1;
                }
            }
            if added == 0 {
                return Err(EditError::Exists(format!("{base}: a call to {to}")));
            }
            Ok(format!("{from} calls {to} (from {added} handler(s))"))
        }
        "load_balancer" | "queue" => {
            let key = if kind == "queue" {
                "consumers"
            } else {
                "backends"
            };
            let path = format!("{base}.{key}");
            match document
                .get(&path)
                .map(|n| n.as_scalar().map(str::to_string))
            {
                Some(Some(one)) => {
                    if one == to {
                        return Err(EditError::Exists(format!("{path}: {to}")));
                    }
                    document.set(&path, &format!("[{}, {}]", scalar(&one), scalar(to)))?;
                }
                Some(None) => document.push_item(&path, &scalar(to))?,
                None => document.set(&path, &format!("[{}]", scalar(to)))?,
            }
            Ok(format!(
                "{from} {} {to}",
                if kind == "queue" {
                    "is consumed by"
                } else {
                    "spreads over"
                }
            ))
        }
        "cache" => {
            let path = format!("{base}.on_miss");
            if document.get(&path).is_some() {
                document.set(&format!("{path}.to"), &scalar(to))?;
            } else {
                document.set(&path, &format!("{{ to: {} }}", scalar(to)))?;
            }
            Ok(format!("{from} reads {to} on a miss"))
        }
        other => Err(EditError::Invalid {
            path: base,
            message: format!(
                "a component of kind `{other}` makes no calls; connect from its callers instead"
            ),
        }),
    }
}

/// Where the model says `from` reaches `to`, as dotted paths for the inspector: a
/// workload's entry, each call (in a parallel group too) of a service's handlers, a cache's
/// `on_miss`, a balancer's or queue's own entry.
#[must_use]
pub fn calls_between(document: &Document, from: &str, to: &str) -> Vec<String> {
    if let Some(i) = workload_index(document, from) {
        return vec![format!("workloads.{i}")];
    }
    let base = format!("components.{from}");
    let mut places = Vec::new();
    match kind_of(document, from).as_deref() {
        Some("service") => {
            for h in document.keys(&format!("{base}.handlers")) {
                let calls = format!("{base}.handlers.{h}.calls");
                for (i, call) in (0..10_000)
                    .map_while(|i| document.get(&format!("{calls}.{i}")))
                    .enumerate()
                {
                    if child_scalar(call, "to") == Some(to) {
                        places.push(format!("{calls}.{i}"));
                    }
                    let group = format!("{calls}.{i}.parallel");
                    for (j, member) in (0..10_000)
                        .map_while(|j| document.get(&format!("{group}.{j}")))
                        .enumerate()
                    {
                        if child_scalar(member, "to") == Some(to) {
                            places.push(format!("{group}.{j}"));
                        }
                    }
                }
            }
        }
        Some("cache") if document.get(&format!("{base}.on_miss")).is_some() => {
            places.push(format!("{base}.on_miss"));
        }
        Some(_) => places.push(base),
        None => {}
    }
    places
}

fn child_scalar<'a>(node: &'a crate::model::yaml::Node, key: &str) -> Option<&'a str> {
    match &node.kind {
        crate::model::yaml::NodeKind::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .and_then(|(_, v)| v.as_scalar()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(text: &str) {
        if let Err(d) = crate::model::parse("sketch.yaml", text) {
            panic!(
                "{text}\n{}",
                d.items
                    .iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }

    #[test]
    fn every_part_added_to_a_new_sketch_reads_as_a_model() {
        for part in Part::ALL {
            let mut d = Document::parse(NEW_SKETCH).unwrap();
            add(&mut d, part, None).unwrap();
            reads(d.text());
        }
    }

    #[test]
    fn a_three_tier_sketch_is_drawn_by_adding_and_connecting() {
        let mut d = Document::parse(NEW_SKETCH).unwrap();
        let lb = add(&mut d, Part::LoadBalancer, Some("app")).unwrap();
        let db = add(&mut d, Part::Database, None).unwrap();
        connect(&mut d, "users", &lb).unwrap();
        connect(&mut d, "app", &db).unwrap();
        reads(d.text());
        assert!(d.text().contains("target: lb"), "{}", d.text());
        assert!(d.text().contains("calls: [ { to: db } ]"), "{}", d.text());
        assert!(
            connect(&mut d, "app", &db).is_err(),
            "a second identical call"
        );
        assert!(
            connect(&mut d, &db, "app").is_err(),
            "a database calls nothing"
        );
    }

    #[test]
    fn balancers_and_queues_gain_a_list_entry() {
        let mut d = Document::parse(NEW_SKETCH).unwrap();
        let lb = add(&mut d, Part::LoadBalancer, None).unwrap();
        let s2 = add(&mut d, Part::Service, None).unwrap();
        connect(&mut d, &lb, &s2).unwrap();
        assert!(
            d.text().contains("backends: [app, service]"),
            "{}",
            d.text()
        );
        let q = add(&mut d, Part::Queue, None).unwrap();
        connect(&mut d, &q, &s2).unwrap();
        assert!(
            d.text().contains("consumers: [app, service]"),
            "{}",
            d.text()
        );
        reads(d.text());
    }
}
