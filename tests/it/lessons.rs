//! Lessons: every bundled lesson's story holds (its checks, run headless as CI runs them),
//! a broken story fails naming the step and the check, and a malformed lesson gets
//! positioned errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use archsim::lesson::{self, Next, Verdict};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn archsim(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("archsim runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh directory of this test's own under the system's temporary one.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("archsim-lesson-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn bundled_lessons() -> Vec<String> {
    lesson::bundled_in(&root().join("lessons"))
        .iter()
        .filter_map(|p| p.file_name())
        .map(|name| format!("lessons/{}", name.to_string_lossy()))
        .collect()
}

/// What CI relies on: `archsim lesson check` over every bundled lesson, every step of every
/// branch, with every check holding.
#[test]
fn every_bundled_lesson_tells_a_true_story() {
    let files = bundled_lessons();
    assert!(!files.is_empty(), "no bundled lessons");
    let mut args = vec!["lesson", "check"];
    args.extend(files.iter().map(String::as_str));
    let out = archsim(&args, &root());
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    for f in &files {
        assert!(
            said.contains(&format!("{f}: ")),
            "{f} not reported:\n{said}"
        );
    }
    assert!(!said.contains("FAILED"), "{said}");
}

#[test]
fn the_growing_up_lesson_branches_and_each_branch_is_reachable() {
    let l = lesson::load(&root().join("lessons/1_growing_up.yaml")).unwrap();
    let database = l.step_index("database").unwrap();
    let Next::Branches(branches) = &l.steps[database].next else {
        panic!("the database step should offer a choice");
    };
    let to: Vec<&str> = branches.iter().map(|b| l.steps[b.to].id.as_str()).collect();
    assert_eq!(to, ["more-replicas", "task-queue"]);
    assert_eq!(l.reachable().len(), l.steps.len());
    // A step that builds on another without a patch shares its model: the app continues
    // the run instead of starting over.
    let (one, newsletter) = (
        l.step_index("one-server").unwrap(),
        l.step_index("newsletter").unwrap(),
    );
    assert!(std::sync::Arc::ptr_eq(
        &l.steps[one].model,
        &l.steps[newsletter].model
    ));
    let detour = l.step_index("more-replicas").unwrap();
    let app = |m: &archsim::model::Model| {
        m.components
            .iter()
            .find(|c| c.name == "app")
            .and_then(|c| match &c.kind {
                archsim::model::ComponentKind::Service(s) => Some(s.replicas),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(app(&l.steps[database].model), 2);
    assert_eq!(
        app(&l.steps[detour].model),
        4,
        "the patch applies to its base"
    );
}

/// A lesson whose story the engine does not bear out fails, naming the step, the check with
/// its position, and what the run showed.
#[test]
fn a_check_the_run_does_not_show_fails_the_lesson() {
    let dir = scratch("wrong");
    let models = root().join("models");
    let file = dir.as_path().join("wrong.yaml");
    std::fs::write(
        &file,
        format!(
            "title: Wrong
steps:
  - id: calm
    title: Calm
    text: Nothing happens.
    model: {}/growing_up_1_one_server.yaml
    pause_at: 60s
    checks:
      - components.server.utilization < 10%
      - requests.page.failed == 0
",
            models.display()
        ),
    )
    .unwrap();
    let out = archsim(&["lesson", "check", file.to_str().unwrap()], dir.as_path());
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("wrong.yaml:9:9: FAILED check of step `calm`: components.server.utilization < 10% (saw 0.7"),
        "{said}"
    );
    assert!(said.contains("✓ requests.page.failed == 0"), "{said}");

    let l = lesson::load(&file).unwrap();
    let outcome = l.run_step(0).unwrap();
    assert!(matches!(outcome.verdicts[0], Verdict::Fails { seen } if seen > 0.6 && seen < 0.9));
    assert!(outcome.verdicts[1].holds());
}

#[test]
fn a_malformed_lesson_gets_positioned_errors() {
    let dir = scratch("bad");
    let model = root().join("models/growing_up_2_reverse_proxy.yaml");
    let broken_model = dir.as_path().join("broken.yaml");
    std::fs::write(
        &broken_model,
        "duration: 5m\nworkloads: []\ncomponents:\n  app: { kind: servise }\n",
    )
    .unwrap();
    let file = dir.as_path().join("bad.yaml");
    std::fs::write(
        &file,
        format!(
            "title: Bad
steps:
  - id: one
    title: One
    text: The first.
    model: {m}
    pause_at: 9m
    highlight: [prxy]
    colour: blue
    checks:
      - components.ap.utilization < 1
      - components.app.utilization ~ 1
    question:
      ask: Which?
      choices:
        - {{ answer: This, why: Because }}
        - {{ answer: That, why: Because }}
  - id: two
    title: Two
    text: The second.
    base: none
    next: three
  - id: three
    title: Three
    text: The third.
    model: {b}
",
            m = model.display(),
            b = broken_model.display()
        ),
    )
    .unwrap();
    let err = lesson::load(&file).unwrap_err().to_string();
    for expected in [
        "bad.yaml:7:15: error: `pause_at: 9m00s` is outside the model's run (0 to 5m00s)",
        "bad.yaml:8:17: error: no component `prxy` in this step's model",
        "did you mean `proxy`?",
        "bad.yaml:9:5: error: unknown key `colour` in step 1",
        "bad.yaml:11:9: error: the check names `ap`, which is not among this step's components",
        "bad.yaml:12:9: error: no comparison",
        "bad.yaml:16:9: error: no choice of the question of step `one` is right",
        "bad.yaml:21:11: error: `base: none` names no step before this one",
        "bad.yaml:26:12: error: the model `",
        "broken.yaml:4:16: error: the kind of component `app`: unknown value `servise`",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    let out = archsim(&["lesson", "check", file.to_str().unwrap()], dir.as_path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no step was run"), "{}", text(&out));
}

/// The lesson in the app: the panel shows the step, the run plays to the pause point and
/// the checks turn green, the question holds the run until answered, and the learner's
/// place is kept for the next session.
#[cfg(feature = "gui")]
#[test]
fn the_app_walks_a_lesson_and_remembers_where_the_learner_was() {
    use archsim::app::{Options, Source};
    use egui_kittest::kittest::Queryable as _;

    use crate::app::{app_with_options, frames_until, fresh_state_dir};

    let state = fresh_state_dir();
    let open = |state: std::path::PathBuf| {
        let l = lesson::load(&root().join("lessons/1_growing_up.yaml")).unwrap();
        app_with_options(Options {
            source: Source::Embedded,
            screenshot: None,
            play: false,
            frame_stats: None,
            state_dir: Some(state),
            lesson: Some(l),
            requests: false,
            record: None,
        })
    };
    let mut h = open(state.clone());
    frames_until(&mut h, "the first step's model", |a| a.snapshot().is_some());
    h.run_steps(2);
    h.get_by_label("One server does everything");
    h.get_by_label("… No visitor sees an error");
    // As fast as the machine allows, to keep the test short.
    h.state().set_speed(archsim::app::worker::Speed::Max);
    h.run_steps(2);
    h.get_by_label("Run to 1m50s").click();
    frames_until(&mut h, "the pause point", |a| {
        a.snapshot()
            .is_some_and(|s| !s.playing && s.live.now == archsim::sim::SimTime::from_secs(110))
    });
    h.run_steps(2);
    h.get_by_label("✓ The server is busy but keeps up (under 85% busy)");
    h.get_by_label("✓ No visitor sees an error");

    h.get_by_label("Next →").click();
    h.run_steps(3);
    assert_eq!(h.state().lesson().unwrap().step, 1);
    h.get_by_label("What happens to the pages once the visitors grow by half?");
    assert!(
        !h.state().lesson().unwrap().may_run(),
        "the question holds the run"
    );
    h.get_by_label("The queue grows without end and requests time out after 2 s.")
        .click();
    h.run_steps(2);
    assert_eq!(h.state().lesson().unwrap().answer, Some(1));
    h.get_by_label("✓ The queue grows without end and requests time out after 2 s.");
    drop(h);

    let mut again = open(state);
    frames_until(&mut again, "the model", |a| a.snapshot().is_some());
    let view = again.state().lesson().unwrap();
    assert_eq!(
        (view.step, view.answer),
        (1, Some(1)),
        "the learner's place is kept"
    );
}

/// The Open dialog lists the bundled lessons, and picking one starts it; opening a model
/// afterwards leaves the lesson.
#[cfg(feature = "gui")]
#[test]
fn the_open_dialog_lists_and_starts_the_bundled_lessons() {
    use egui_kittest::kittest::Queryable as _;

    use crate::app::{app, frames_until};

    let mut h = app(archsim::app::Source::Embedded);
    frames_until(&mut h, "the built-in model", |a| a.snapshot().is_some());
    h.get_by_label("Open…").click();
    h.run_steps(3);
    h.get_by_label("lessons/1_growing_up.yaml").click();
    h.run_steps(3);
    assert_eq!(
        h.state().lesson().map(|l| l.lesson.title.as_str()),
        Some("A web app growing up")
    );
    h.get_by_label("One server does everything");
    h.get_by_label("Open…").click();
    h.run_steps(3);
    h.get_by_label("Built-in example").click();
    h.run_steps(3);
    assert!(
        h.state().lesson().is_none(),
        "a model opened ends the lesson"
    );
}
