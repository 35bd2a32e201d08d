//! Edits of whole components: add one, add a call to it, rename it with every reference
//! following, delete it with what depends on it. References are found by walking the
//! document for every place the format names a component (calls, backends, consumers,
//! targets, faults, links, scenarios, layout).

use std::fmt::Write as _;

use super::{Document, EditError, Removed, Seg, child, describe, map_key, scalar};
use crate::model::yaml::{Node, NodeKind};

impl Document {
    /// Renames a component and every reference to it: calls, balancer backends, queue
    /// consumers, workloads' targets, faults' targets, links, scenarios and the layout.
    ///
    /// # Errors
    /// No such component, or the new name already taken.
    pub fn rename_component(&mut self, old: &str, new: &str) -> Result<(), EditError> {
        let components = vec![Seg::Key("components".into())];
        let node = self.node_at(&components)?;
        if map_key(node, old).is_none() {
            return Err(EditError::NotFound(format!("components.{old}")));
        }
        if map_key(node, new).is_some() {
            return Err(EditError::Exists(format!("components.{new}")));
        }
        let mut spots = Vec::new();
        references(&self.root, &mut Vec::new(), old, &mut spots);
        let mut edits: Vec<(usize, usize, String)> = spots
            .iter()
            .filter_map(|r| {
                let n = r.node(&self.root)?;
                let text = n.as_scalar()?;
                let renamed = match text.strip_prefix(old) {
                    Some("") => new.to_string(),
                    Some(rest) => format!("{new}{rest}"),
                    None => return None,
                };
                Some((self.start(n), self.end(n), scalar(&renamed)))
            })
            .collect();
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        edits.dedup_by_key(|e| e.0);
        let mut text = self.text.clone();
        for (s, e, with) in edits {
            text.replace_range(s..e, &with);
        }
        *self = Document::parse(&text).map_err(|e| EditError::Invalid {
            path: format!("components.{old}"),
            message: e.to_string(),
        })?;
        Ok(())
    }

    /// Adds a component at the end of `components:`, as one flow mapping line like the
    /// bundled models' small components: `cache: { kind: cache, hit_ratio: 0.8 }`.
    ///
    /// # Errors
    /// The name already taken, or a value that would not be valid YAML.
    pub fn add_component(
        &mut self,
        kind: &str,
        name: &str,
        defaults: &[(&str, &str)],
    ) -> Result<(), EditError> {
        let mut body = format!("{{ kind: {}", scalar(kind));
        for (k, v) in defaults {
            let _ = write!(body, ", {}: {v}", scalar(k));
        }
        body.push_str(" }");
        self.insert_mapping_entry("components", name, &body)
    }

    /// Adds a call to `to` at the end of the calls of `component`'s handler `handler`,
    /// creating its `calls:` list when it has none.
    ///
    /// # Errors
    /// No such handler.
    pub fn add_call(&mut self, component: &str, handler: &str, to: &str) -> Result<(), EditError> {
        let handler_path = vec![
            Seg::Key("components".into()),
            Seg::Key(component.into()),
            Seg::Key("handlers".into()),
            Seg::Key(handler.into()),
        ];
        let node = self.node_at(&handler_path)?;
        let call = format!("{{ to: {} }}", scalar(to));
        if map_key(node, "calls").is_some() {
            let mut p = handler_path;
            p.push(Seg::Key("calls".into()));
            return self.push_at(&p, &call);
        }
        if node.is_null() {
            return self.replace_value(&handler_path, &format!("{{ calls: [ {call} ] }}"));
        }
        self.insert_entry(&handler_path, "calls", &format!("[ {call} ]"))
    }

    /// Deletes a component and what cannot stay without it: the calls to it, the workloads
    /// sending to it, the faults and link overrides naming it, its place in balancers'
    /// backends, queues' consumers, partitions, scenarios' `set:` and the layout.
    ///
    /// # Errors
    /// No such component.
    pub fn delete_component(&mut self, name: &str) -> Result<Removed, EditError> {
        let own = vec![Seg::Key("components".into()), Seg::Key(name.into())];
        self.node_at(&own)?;
        let mut removed = Removed::default();
        // One removal at a time, re-finding the rest in the re-parsed text, since each
        // removal moves what follows it; every round removes something, so it ends.
        for _ in 0..10_000 {
            let mut spots = Vec::new();
            references(&self.root, &mut Vec::new(), name, &mut spots);
            let Some(target) = spots
                .iter()
                .filter(|r| !r.path.starts_with(&own))
                .find_map(|r| r.goes(&self.root))
            else {
                break;
            };
            removed.also.push(describe(&target));
            self.remove_at(&target)?;
        }
        self.remove_at(&own)?;
        Ok(removed)
    }
}

/// Where a reference to a component sits, and what it is.
struct Ref {
    /// The path to the scalar naming the component (for a key, the path of its entry).
    path: Vec<Seg>,
    /// For a mapping key, the key's own path; the key node is found through its parent.
    is_key: bool,
    kind: RefKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RefKind {
    /// The component's own entry, or a layout position: the entry goes.
    Entry,
    /// A call's `to`: the call goes (or `on_miss` as a whole).
    Call,
    /// A workload's target: the workload goes.
    Workload,
    /// A fault's target: the fault goes.
    Fault,
    /// A member of a list (backends, consumers, a link's or a partition's endpoints, a
    /// link override's `between`).
    Member,
    /// A scenario's `set:` key that starts with the component's name.
    SetKey,
}

impl Ref {
    fn node<'a>(&self, root: &'a Node) -> Option<&'a Node> {
        let mut node = root;
        if self.is_key {
            let (last, parent) = self.path.split_last()?;
            for seg in parent {
                node = child(node, seg)?;
            }
            let Seg::Key(k) = last else { return None };
            return map_key(node, k);
        }
        for seg in &self.path {
            node = child(node, seg)?;
        }
        Some(node)
    }

    /// The path of what goes when the component goes.
    fn goes(&self, root: &Node) -> Option<Vec<Seg>> {
        let p = &self.path;
        let up_to = |name: &str| {
            p.iter()
                .rposition(|s| *s == Seg::Key(name.into()))
                .map(|i| p[..i + 2.min(p.len() - i)].to_vec())
        };
        match self.kind {
            RefKind::Entry | RefKind::SetKey => Some(p.clone()),
            RefKind::Call => {
                // The call itself, or a cache's `on_miss` as a whole.
                Some(p[..p.len() - 1].to_vec())
            }
            RefKind::Workload => up_to("workloads"),
            RefKind::Fault => up_to("faults"),
            RefKind::Member => {
                // A link override goes with its `between`; a single backend or consumer
                // written as a name takes its key with it.
                if let Some(i) = p.iter().position(|s| *s == Seg::Key("between".into())) {
                    return Some(p[..i].to_vec());
                }
                let n = self.node(root)?;
                n.as_scalar()?;
                Some(p.clone())
            }
        }
    }
}

/// Collects every place under `node` (at `path`) that names the component `name`.
fn references(node: &Node, path: &mut Vec<Seg>, name: &str, out: &mut Vec<Ref>) {
    let under =
        |path: &[Seg], i: usize, key: &str| matches!(path.get(i), Some(Seg::Key(k)) if k == key);
    match &node.kind {
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                let Some(key) = k.as_scalar() else { continue };
                path.push(Seg::Key(key.to_string()));
                let top = path.len() == 2;
                let in_set = path.len() >= 2
                    && matches!(path.get(path.len() - 2), Some(Seg::Key(s)) if s == "set");
                if (top
                    && (under(path, 0, "components") || under(path, 0, "layout"))
                    && key == name)
                    || (in_set && key.split('.').next() == Some(name))
                {
                    out.push(Ref {
                        path: path.clone(),
                        is_key: true,
                        kind: if in_set {
                            RefKind::SetKey
                        } else {
                            RefKind::Entry
                        },
                    });
                }
                let kind = match key {
                    "to" => Some(RefKind::Call),
                    "target" if under(path, 0, "workloads") && path.len() == 3 => {
                        Some(RefKind::Workload)
                    }
                    "crash" | "slow" | "error" | "capacity" | "pause"
                        if path.iter().any(|s| *s == Seg::Key("faults".into())) =>
                    {
                        Some(RefKind::Fault)
                    }
                    "backends" | "consumers" | "between" | "partition" | "link" => {
                        Some(RefKind::Member)
                    }
                    _ => None,
                };
                if let Some(kind) = kind {
                    scalars(v, path, name, kind, out);
                }
                references(v, path, name, out);
                path.pop();
            }
        }
        NodeKind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                references(item, path, name, out);
                path.pop();
            }
        }
        NodeKind::Scalar { .. } => {}
    }
}

/// The scalars under a reference key (one name, a list, or a list of lists) naming `name`,
/// or a replica of it (`db.primary`).
fn scalars(node: &Node, path: &mut Vec<Seg>, name: &str, kind: RefKind, out: &mut Vec<Ref>) {
    match &node.kind {
        NodeKind::Scalar { text, .. } => {
            let matches = text == name
                || (kind == RefKind::Fault
                    && text.strip_prefix(name).is_some_and(|r| r.starts_with('.')));
            if matches {
                out.push(Ref {
                    path: path.clone(),
                    is_key: false,
                    kind,
                });
            }
        }
        NodeKind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                scalars(item, path, name, kind, out);
                path.pop();
            }
        }
        NodeKind::Map(_) => {}
    }
}
