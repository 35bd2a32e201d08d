//! Reads a lesson file: every problem at once, each at its line and column, as the model
//! reader does. Step models are read here too, so that a lesson that loads is one whose
//! every step can run.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::{Branch, Check, Choice, Lesson, LoadError, Next, Question, Step, check};
use crate::model::diag::suggestion;
use crate::model::units::parse_duration;
use crate::model::yaml::{self, Node, NodeKind};
use crate::model::{self, Diagnostic, Diagnostics, Model, Severity, Span};

pub(super) const LESSON_KEYS: [&str; 3] = ["title", "summary", "steps"];
pub(super) const STEP_KEYS: [&str; 11] = [
    "id",
    "title",
    "text",
    "model",
    "base",
    "patch",
    "pause_at",
    "question",
    "checks",
    "highlight",
    "next",
];
pub(super) const QUESTION_KEYS: [&str; 2] = ["ask", "choices"];
pub(super) const CHOICE_KEYS: [&str; 3] = ["answer", "right", "why"];
pub(super) const BRANCH_KEYS: [&str; 2] = ["choice", "step"];
pub(super) const CHECK_KEYS: [&str; 2] = ["expect", "says"];

/// A step before the other steps are known: its links to them still by name.
struct Draft {
    step: Step,
    next: Option<NextDraft>,
}

enum NextDraft {
    Step(String, Span),
    End,
    Branches(Vec<(String, String, Span)>),
}

struct Reader<'a> {
    diags: Vec<Diagnostic>,
    /// Problems in the model files the steps name, each in its own file.
    model_errors: Vec<Diagnostics>,
    dir: &'a Path,
}

pub(super) fn read(path: &Path, text: &str) -> Result<Lesson, LoadError> {
    let file = path.display().to_string();
    let fail = |items: Vec<Diagnostic>, mut others: Vec<Diagnostics>| {
        let mut all = vec![Diagnostics {
            file: file.clone(),
            source: text.to_string(),
            items,
        }];
        all.append(&mut others);
        all.retain(|d| !d.items.is_empty());
        LoadError(all)
    };
    let root = yaml::parse(text).map_err(|d| fail(vec![d], Vec::new()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut r = Reader {
        diags: Vec::new(),
        model_errors: Vec::new(),
        dir,
    };
    let lesson = r.lesson(path, &root);
    let errors = r.diags.iter().any(|d| d.severity == Severity::Error);
    match lesson {
        Some(l) if !errors && r.model_errors.is_empty() => Ok(l),
        _ => {
            let mut items = r.diags;
            items.sort_by(|a, b| (a.span, &a.message).cmp(&(b.span, &b.message)));
            Err(fail(items, r.model_errors))
        }
    }
}

impl Reader<'_> {
    fn error(&mut self, span: Span, message: impl Into<String>, hint: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(span, message).with_hint(hint));
    }

    /// The entries of a mapping, by key, after refusing unknown and repeated keys.
    fn mapping<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        keys: &[&str],
    ) -> Option<BTreeMap<&'n str, &'n Node>> {
        let NodeKind::Map(raw) = &node.kind else {
            self.error(
                node.span,
                format!("{what} should be a mapping, not {}", node.shape()),
                format!("write its keys: {}", keys.join(", ")),
            );
            return None;
        };
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            let Some(key) = k.as_scalar() else {
                self.error(k.span, format!("a key of {what} should be a name"), "");
                continue;
            };
            if !keys.contains(&key) {
                self.error(
                    k.span,
                    format!("unknown key `{key}` in {what}"),
                    suggestion(key, "keys", keys),
                );
            } else if out.insert(key, v).is_some() {
                self.error(
                    k.span,
                    format!("`{key}` appears twice in {what}"),
                    "keep one",
                );
            }
        }
        Some(out)
    }

    fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.as_scalar() {
            Some(t) if !t.trim().is_empty() => Some(t.trim_end().to_string()),
            _ => {
                self.error(
                    node.span,
                    format!("{what} should be text, not {}", node.shape()),
                    "write a sentence (quote it if it holds `: ` or starts with a symbol)",
                );
                None
            }
        }
    }

    fn required<'n>(
        &mut self,
        map: &BTreeMap<&str, &'n Node>,
        key: &str,
        span: Span,
        what: &str,
    ) -> Option<&'n Node> {
        let found = map.get(key).copied();
        if found.is_none() {
            self.error(
                span,
                format!("{what} has no `{key}`"),
                format!("add `{key}:`"),
            );
        }
        found
    }

    fn lesson(&mut self, path: &Path, root: &Node) -> Option<Lesson> {
        let map = self.mapping(root, "the lesson", &LESSON_KEYS)?;
        let title = self
            .required(&map, "title", root.span, "the lesson")
            .and_then(|n| self.text(n, "`title`"));
        let summary = match map.get("summary") {
            Some(n) => self.text(n, "`summary`"),
            None => Some(String::new()),
        };
        let steps_node = self.required(&map, "steps", root.span, "the lesson")?;
        let NodeKind::Seq(items) = &steps_node.kind else {
            self.error(
                steps_node.span,
                format!("`steps` should be a list, not {}", steps_node.shape()),
                "write `steps:` and then each step as `- id: ...`",
            );
            return None;
        };
        if items.is_empty() {
            self.error(
                steps_node.span,
                "a lesson needs at least one step",
                "add a step",
            );
            return None;
        }
        // The ids as written, of steps that read and of those that did not: a link to a step
        // with errors of its own is not an error of its own.
        let ids: Vec<Option<String>> = items.iter().map(written_id).collect();
        let mut drafts: Vec<Option<Draft>> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let draft = self.step(item, i, &drafts, &ids[..i]);
            drafts.push(draft);
        }
        let known: Vec<&str> = ids.iter().flatten().map(String::as_str).collect();
        let index = |id: &str| ids.iter().position(|x| x.as_deref() == Some(id));
        let mut steps = Vec::with_capacity(drafts.len());
        for (i, d) in drafts.into_iter().enumerate() {
            let Some(mut d) = d else { continue };
            d.step.next = match d.next.take() {
                None => Next::Step((i + 1 < items.len()).then_some(i + 1)),
                Some(NextDraft::End) => Next::Step(None),
                Some(NextDraft::Step(id, span)) => {
                    let Some(to) = index(&id) else {
                        self.unknown_step(&id, span, &known);
                        continue;
                    };
                    Next::Step(Some(to))
                }
                Some(NextDraft::Branches(list)) => {
                    let mut out = Vec::with_capacity(list.len());
                    for (choice, id, span) in list {
                        match index(&id) {
                            Some(to) => out.push(Branch { choice, to }),
                            None => self.unknown_step(&id, span, &known),
                        }
                    }
                    Next::Branches(out)
                }
            };
            steps.push(d.step);
        }
        let lesson = Lesson {
            path: path.to_path_buf(),
            title: title?,
            summary: summary?,
            steps,
        };
        (lesson.steps.len() == items.len()).then_some(lesson)
    }

    fn unknown_step(&mut self, id: &str, span: Span, known: &[&str]) {
        self.error(
            span,
            format!("no step has the id `{id}`"),
            suggestion(id, "step ids", known),
        );
    }

    fn step(
        &mut self,
        node: &Node,
        i: usize,
        before: &[Option<Draft>],
        earlier_ids: &[Option<String>],
    ) -> Option<Draft> {
        let what = format!("step {}", i + 1);
        let map = self.mapping(node, &what, &STEP_KEYS)?;
        let id = self
            .required(&map, "id", node.span, &what)
            .and_then(|n| self.text(n, "a step's `id`"));
        if let (Some(id), Some(n)) = (&id, map.get("id"))
            && before.iter().flatten().any(|d| &d.step.id == id)
        {
            self.error(
                n.span,
                format!("two steps have the id `{id}`"),
                "rename one",
            );
        }
        let what = id.as_ref().map_or(what, |id| format!("step `{id}`"));
        let title = self
            .required(&map, "title", node.span, &what)
            .and_then(|n| self.text(n, "a step's `title`"));
        let text = self
            .required(&map, "text", node.span, &what)
            .and_then(|n| self.text(n, "a step's `text`"));
        // Each part is read even when another has failed, so that one pass names every
        // problem of the step.
        let model = self.step_model(&map, node.span, &what, i, before, earlier_ids);
        let pause = match (map.get("pause_at"), &model) {
            (None, Some((m, _))) => Some(m.duration),
            (Some(n), Some((m, _))) => self.pause_at(n, m),
            (_, None) => None,
        };
        let question = match map.get("question") {
            Some(n) => self.question(n, &what).map(Some),
            None => Some(None),
        };
        let checks = match (map.get("checks"), &model) {
            (Some(n), Some((m, _))) => self.checks(n, m),
            (None, _) => Some(Vec::new()),
            (Some(_), None) => None,
        };
        let highlight = match (map.get("highlight"), &model) {
            (Some(n), Some((m, _))) => self.highlight(n, m),
            (None, _) => Some(Vec::new()),
            (Some(_), None) => None,
        };
        let next = match map.get("next") {
            Some(n) => self.next(n).map(Some),
            None => Some(None),
        };
        let (model, model_source) = model?;
        Some(Draft {
            step: Step {
                id: id?,
                title: title?,
                text: text?,
                model,
                model_source,
                pause: pause?,
                question: question?,
                checks: checks?,
                highlight: highlight?,
                next: Next::Step(None),
                span: node.span,
            },
            next: next?,
        })
    }

    fn pause_at(&mut self, n: &Node, m: &Model) -> Option<crate::sim::SimTime> {
        match n.as_scalar().map(parse_duration) {
            Some(Ok(t)) if t > crate::sim::SimTime::ZERO && t <= m.duration => Some(t),
            Some(Ok(t)) => {
                self.error(
                    n.span,
                    format!(
                        "`pause_at: {t}` is outside the model's run (0 to {})",
                        m.duration
                    ),
                    "pause within the run, or lengthen the model's `duration`",
                );
                None
            }
            Some(Err(e)) => {
                self.error(n.span, e, model::units::DURATION_HELP);
                None
            }
            None => {
                self.error(
                    n.span,
                    "`pause_at` should be a duration",
                    "write `pause_at: 4m`",
                );
                None
            }
        }
    }

    /// The step's model: its own file, or the model of another step (the one before by
    /// default) with a patch applied.
    fn step_model(
        &mut self,
        map: &BTreeMap<&str, &Node>,
        span: Span,
        what: &str,
        i: usize,
        before: &[Option<Draft>],
        earlier_ids: &[Option<String>],
    ) -> Option<(Arc<Model>, String)> {
        let base = if let Some(file) = map.get("model") {
            if map.contains_key("base") {
                self.error(
                    file.span,
                    format!("{what} has both `model` and `base`"),
                    "a step builds on its own file or on another step's model: keep one",
                );
                return None;
            }
            let name = self.text(file, "`model`")?;
            let path = self.dir.join(&name);
            match model::load_file(&path) {
                Ok((m, _)) => (Arc::new(m), name),
                Err(d) => {
                    self.model_errors.push(d);
                    // Said at the step too, so that the lesson's own file points at it.
                    self.error(
                        file.span,
                        format!("the model `{name}` of {what} has errors (below)"),
                        "fix the model file, or name another",
                    );
                    return None;
                }
            }
        } else {
            let from = match map.get("base") {
                Some(n) => {
                    let id = self.text(n, "`base`")?;
                    let found = before
                        .iter()
                        .flatten()
                        .find(|d| d.step.id == id)
                        .map(|d| (Arc::clone(&d.step.model), d.step.id.clone()));
                    // A step that exists but did not read has said why already.
                    let exists = earlier_ids.iter().flatten().any(|e| *e == id);
                    if found.is_none() && !exists {
                        let known: Vec<&str> =
                            earlier_ids.iter().flatten().map(String::as_str).collect();
                        self.error(
                            n.span,
                            format!("`base: {id}` names no step before this one"),
                            suggestion(&id, "earlier steps", &known),
                        );
                    }
                    found
                }
                None if i == 0 => {
                    self.error(
                        span,
                        format!("{what} has no `model`"),
                        "the first step names its model file: `model: ../models/NAME.yaml`",
                    );
                    return None;
                }
                None => before[i - 1]
                    .as_ref()
                    .map(|d| (Arc::clone(&d.step.model), d.step.id.clone())),
            }?;
            (from.0, format!("step `{}`", from.1))
        };
        let Some(patch) = map.get("patch") else {
            return Some(base);
        };
        let (scenario, diags) = model::scenario_from_node(what, patch, &base.0);
        let failed = diags.iter().any(|d| d.severity == Severity::Error);
        self.diags.extend(diags);
        let scenario = scenario.filter(|_| !failed)?;
        let patched = base.0.with_scenario(&scenario);
        Some((Arc::new(patched), format!("{}, patched", base.1)))
    }

    fn question(&mut self, node: &Node, what: &str) -> Option<Question> {
        let map = self.mapping(node, "a question", &QUESTION_KEYS)?;
        let ask = self
            .required(&map, "ask", node.span, "the question")
            .and_then(|n| self.text(n, "`ask`"));
        let list = self.required(&map, "choices", node.span, "the question")?;
        let NodeKind::Seq(items) = &list.kind else {
            self.error(
                list.span,
                "`choices` should be a list",
                "write each as `- answer: ...`",
            );
            return None;
        };
        let mut choices = Vec::new();
        for item in items {
            let Some(c) = self.mapping(item, "a choice", &CHOICE_KEYS) else {
                continue;
            };
            let answer = self
                .required(&c, "answer", item.span, "a choice")
                .and_then(|n| self.text(n, "`answer`"));
            let why = self
                .required(&c, "why", item.span, "a choice")
                .and_then(|n| self.text(n, "`why`"));
            let right = match c.get("right").map(|n| (n, n.as_scalar())) {
                Some((_, Some("true"))) => true,
                None | Some((_, Some("false"))) => false,
                Some((n, _)) => {
                    self.error(n.span, "`right` should be true or false", "");
                    false
                }
            };
            if let (Some(answer), Some(why)) = (answer, why) {
                choices.push(Choice { answer, right, why });
            }
        }
        if choices.len() < 2 {
            self.error(
                list.span,
                format!("the question of {what} needs at least two choices"),
                "add the answers a learner might give",
            );
        } else if !choices.iter().any(|c| c.right) {
            self.error(
                list.span,
                format!("no choice of the question of {what} is right"),
                "mark the right one(s) with `right: true`",
            );
        }
        Some(Question { ask: ask?, choices })
    }

    fn checks(&mut self, node: &Node, m: &Model) -> Option<Vec<Check>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.error(
                node.span,
                "`checks` should be a list",
                "write each as `- expect: ...`",
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            let (text_node, says) = if item.as_scalar().is_some() {
                (item, None)
            } else {
                let Some(c) = self.mapping(item, "a check", &CHECK_KEYS) else {
                    ok = false;
                    continue;
                };
                let says = c.get("says").and_then(|n| self.text(n, "`says`"));
                let Some(e) = self.required(&c, "expect", item.span, "a check") else {
                    ok = false;
                    continue;
                };
                (e, says)
            };
            let Some(text) = self.text(text_node, "a check") else {
                ok = false;
                continue;
            };
            match check::parse(&text) {
                Ok(expr) => {
                    if let Some(problem) = unknown_name(&expr, m) {
                        self.error(text_node.span, problem.0, problem.1);
                        ok = false;
                        continue;
                    }
                    out.push(Check {
                        says: says.unwrap_or_else(|| text.clone()),
                        text,
                        expr,
                        span: text_node.span,
                    });
                }
                Err(e) => {
                    self.error(text_node.span, e, check::HELP);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn highlight(&mut self, node: &Node, m: &Model) -> Option<Vec<String>> {
        let items: Vec<&Node> = match &node.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            NodeKind::Scalar { .. } => vec![node],
            NodeKind::Map(_) => {
                self.error(
                    node.span,
                    "`highlight` should be a list of components",
                    "write `highlight: [db, app]`",
                );
                return None;
            }
        };
        let names: Vec<&str> = m.components.iter().map(|c| c.name.as_str()).collect();
        let mut out = Vec::new();
        for n in items {
            let name = self.text(n, "a component to highlight")?;
            if names.contains(&name.as_str()) {
                out.push(name);
            } else {
                self.error(
                    n.span,
                    format!("no component `{name}` in this step's model"),
                    suggestion(&name, "components", &names),
                );
                return None;
            }
        }
        Some(out)
    }

    fn next(&mut self, node: &Node) -> Option<NextDraft> {
        match &node.kind {
            NodeKind::Scalar { text, .. } if text == "end" => Some(NextDraft::End),
            NodeKind::Scalar { text, .. } => Some(NextDraft::Step(text.clone(), node.span)),
            NodeKind::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    let b = self.mapping(item, "a branch", &BRANCH_KEYS)?;
                    let choice = self
                        .required(&b, "choice", item.span, "a branch")
                        .and_then(|n| self.text(n, "`choice`"));
                    let step = self.required(&b, "step", item.span, "a branch")?;
                    let id = self.text(step, "`step`")?;
                    out.push((choice?, id, step.span));
                }
                if out.len() < 2 {
                    self.error(
                        node.span,
                        "a choice of next steps needs at least two branches",
                        "or write `next: STEP_ID`",
                    );
                    return None;
                }
                Some(NextDraft::Branches(out))
            }
            NodeKind::Map(_) => {
                self.error(
                    node.span,
                    "`next` should be a step id, `end`, or a list of branches",
                    "write `next: replicas` or `next: [ { choice: Add replicas, step: replicas }, ... ]`",
                );
                None
            }
        }
    }
}

/// A component or request type the check names that the step's model does not have.
/// A step's `id` as written, whether or not the step reads.
fn written_id(item: &Node) -> Option<String> {
    match &item.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_scalar() == Some("id"))
            .and_then(|(_, v)| v.as_scalar())
            .map(str::to_string),
        _ => None,
    }
}

fn unknown_name(expr: &check::Expr, m: &Model) -> Option<(String, String)> {
    let path: &[String] = if expr.path[0] == "series" {
        &expr.path[1..]
    } else {
        &expr.path
    };
    let (section, name) = (path.first()?, path.get(1)?);
    let known: Vec<&str> = match section.as_str() {
        "components" => m.components.iter().map(|c| c.name.as_str()).collect(),
        "requests" => m.request_types.iter().map(String::as_str).collect(),
        _ => return None,
    };
    (!known.contains(&name.as_str())).then(|| {
        (
            format!("the check names `{name}`, which is not among this step's {section}"),
            suggestion(name, section, &known),
        )
    })
}
