//! The app as an editor of models, driven as a person uses it: a three-tier model drawn
//! from an empty sketch, run, saved and undone; property edits that leave the rest of a file
//! byte-identical; an invalid value shown beside its field while the last good model runs;
//! and a recovery file that outlives a killed app.

use std::time::Duration;

use archsim::app::ArchsimApp;
use archsim::app::Source;
use archsim::app::editor::Editor;
use archsim::app::palette::NEW_SKETCH;
use archsim::model::{self, ComponentKind, Step};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use crate::app::{app, app_with_state, frames_until, fresh_state_dir, temp_model};

/// Drags from the node `from`'s connect handle onto the node `to`.
fn connect(h: &mut Harness<'_, ArchsimApp>, from: &str, to: &str) {
    let start = h.get_by_label(&format!("connect {from}")).rect().center();
    let end = h.get_by_label(to).rect().center();
    h.hover_at(start);
    h.step();
    h.drag_at(start);
    h.step();
    for k in 1..=6 {
        h.hover_at(start + (end - start) * (k as f32 / 6.0));
        h.step();
    }
    h.drop_at(end);
    h.run_steps(2);
}

/// Selects everything in the focused field and types `text` over it, then Enter.
fn retype(h: &mut Harness<'_, ArchsimApp>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.step();
    h.get_by_label(label).type_text(text);
    h.step();
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
}

fn has_component(a: &ArchsimApp, name: &str) -> bool {
    a.snapshot()
        .is_some_and(|s| s.model.components.iter().any(|c| c.name == name))
}

/// The first call of `from`'s handlers to `to` in the running model.
fn call_to(a: &ArchsimApp, from: &str, to: &str) -> Option<model::Call> {
    let s = a.snapshot()?;
    let m = &s.model;
    let ComponentKind::Service(svc) = &m.components.iter().find(|c| c.name == from)?.kind else {
        return None;
    };
    svc.handlers
        .iter()
        .flat_map(|h| &h.steps)
        .find_map(|step| match step {
            Step::Call(c) if m.component(c.to).name == to => Some(c.clone()),
            _ => None,
        })
}

#[test]
fn a_three_tier_model_is_drawn_from_an_empty_sketch_run_saved_and_undone() {
    let mut h = app_with_state(Source::Sketch(None), fresh_state_dir());
    frames_until(&mut h, "the sketch runs", |a| a.snapshot().is_some());
    h.run_steps(2);
    assert!(h.state().has_unsaved_changes(), "a new sketch is not saved");

    h.get_by_label("Load balancer").click();
    h.run_steps(2);
    frames_until(&mut h, "the balancer runs", |a| has_component(a, "lb"));
    h.run_steps(2);
    h.get_by_label("Database").click();
    frames_until(&mut h, "the database runs", |a| has_component(a, "db"));
    h.run_steps(2);
    connect(&mut h, "users", "lb");
    frames_until(&mut h, "the users send to the balancer", |a| {
        a.snapshot().is_some_and(|s| {
            let w = &s.model.workloads[0];
            s.model.component(w.target).name == "lb"
        })
    });
    h.run_steps(2);
    connect(&mut h, "app", "db");
    frames_until(&mut h, "app calls db", |a| {
        call_to(a, "app", "db").is_some()
    });
    h.run_steps(2);

    // The link's call shows in the inspector: give it a timeout.
    h.get_by_label("link app → db").click();
    h.run_steps(3);
    h.get_by_label("add a property…").click();
    h.run_steps(2);
    h.get_by_label("timeout").click();
    h.run_steps(3);
    retype(&mut h, "timeout", "250ms");
    frames_until(&mut h, "the call has the timeout", |a| {
        call_to(a, "app", "db").and_then(|c| c.timeout)
            == Some(archsim::sim::SimTime::from_millis(250))
    });

    // Run: requests go through the balancer and the service to the database, answered.
    h.get_by_label("Play").click();
    frames_until(&mut h, "requests are answered", |a| {
        a.snapshot().is_some_and(|s| {
            s.report.totals.ok > 50
                && s.live
                    .links
                    .iter()
                    .any(|l| l.from == "app" && l.to == "db" && l.sent > 0)
        })
    });
    h.get_by_label("Pause").click();
    h.run_steps(2);

    // Save (a sketch has no file: Save asks where).
    let dir = std::env::temp_dir().join(format!("archsim-sketch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("three-tier.yaml");
    let _ = std::fs::remove_file(&path);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run_steps(2);
    retype(&mut h, "Save as:", &path.display().to_string());
    h.run_steps(2);
    let saved = std::fs::read_to_string(&path).expect("the model was saved");
    assert_eq!(Some(saved.as_str()), h.state().model_text());
    assert!(
        !h.state().has_unsaved_changes()
            || h.state()
                .snapshot()
                .is_some_and(|s| !s.interventions.is_empty())
    );
    // It reads back to the model that ran.
    let (read, _) = model::load_file(&path).unwrap();
    let running = h.state().snapshot().unwrap().model.clone();
    assert_eq!(
        read.components.iter().map(|c| &c.name).collect::<Vec<_>>(),
        running
            .components
            .iter()
            .map(|c| &c.name)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        format!("{:?}", read.components),
        format!("{:?}", running.components)
    );
    assert_eq!(
        format!("{:?}", read.workloads),
        format!("{:?}", running.workloads)
    );

    // Undo every edit back to the empty sketch, then redo them all.
    let mut undone = 0;
    while h.state().model_text() != Some(NEW_SKETCH) {
        assert!(undone < 20, "undo did not reach the empty sketch");
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
        h.run_steps(2);
        undone += 1;
    }
    assert!(undone >= 6, "six edits were made, {undone} undone");
    frames_until(&mut h, "the sketch runs again", |a| {
        !has_component(a, "lb") && !has_component(a, "db")
    });
    for _ in 0..undone {
        h.key_press_modifiers(
            egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
            egui::Key::Z,
        );
        h.run_steps(2);
    }
    assert_eq!(h.state().model_text(), Some(saved.as_str()));
    frames_until(&mut h, "the three tiers run again", |a| {
        has_component(a, "lb") && call_to(a, "app", "db").is_some()
    });
}

/// The line numbers (1-based) where two texts differ, for texts of the same line count.
fn differing_lines(a: &str, b: &str) -> Vec<usize> {
    assert_eq!(
        a.lines().count(),
        b.lines().count(),
        "lines were added or removed:\n{b}"
    );
    a.lines()
        .zip(b.lines())
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, _)| i + 1)
        .collect()
}

#[test]
fn one_property_edit_of_every_bundled_model_changes_only_its_line() {
    let dir = std::env::temp_dir().join(format!("archsim-bundled-edit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut edited = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/models")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let (m, _) = model::parse(&path.display().to_string(), &text).unwrap();
        // The workers of the first component that sets them, one more.
        let mut editor = Editor::new(Some(path.clone()), text.clone(), true);
        let doc = editor.document().unwrap().clone();
        let Some((name, workers)) = doc.keys("components").into_iter().find_map(|c| {
            let n: u32 = doc
                .get(&format!("components.{c}.workers"))?
                .as_scalar()?
                .parse()
                .ok()?;
            Some((c, n))
        }) else {
            panic!("{}: no component sets its workers", path.display());
        };
        let value_path = format!("components.{name}.workers");
        let changed = editor
            .edit("set workers", |d| {
                d.set(&value_path, &(workers + 1).to_string())
            })
            .unwrap();
        assert!(changed);
        let out = dir.join(path.file_name().unwrap());
        editor.save_to(&out).unwrap();
        let after = std::fs::read_to_string(&out).unwrap();
        let lines = differing_lines(&text, &after);
        assert_eq!(
            lines.len(),
            1,
            "{}: lines {lines:?} changed",
            path.display()
        );
        let line = lines[0] - 1;
        let (was, now) = (
            text.lines().nth(line).unwrap(),
            after.lines().nth(line).unwrap(),
        );
        assert_eq!(
            was.replacen(&workers.to_string(), "", 1).len(),
            now.replacen(&(workers + 1).to_string(), "", 1).len(),
            "{}: more than the value changed:\n{was}\n{now}",
            path.display()
        );
        // The saved file reads back with exactly that change.
        let (back, _) = model::load_file(&out).unwrap();
        let c = back.components.iter().position(|c| c.name == name).unwrap();
        let workers_of = |k: &ComponentKind| match k {
            ComponentKind::Service(s) => s.workers,
            _ => 0,
        };
        assert_eq!(workers_of(&back.components[c].kind), workers + 1);
        assert_eq!(workers_of(&m.components[c].kind), workers);
        edited += 1;
    }
    assert!(edited >= 20, "only {edited} bundled models were edited");
}

const SMALL: &str = "duration: 60s\nseed: 3\nworkloads: [ { name: users, target: api, rate: 50/s, request: get } ]\ncomponents:\n  api: { kind: service, workers: 2, handlers: { \"*\": { work: exp 5ms } } }\n";

#[test]
fn an_invalid_value_shows_the_readers_message_while_the_last_good_model_runs() {
    let path = temp_model("invalid-value", SMALL);
    let mut h = app(Source::File(path.clone()));
    frames_until(&mut h, "the model runs", |a| a.snapshot().is_some());
    h.run_steps(2);
    let generation = h.state().snapshot().unwrap().model_generation;
    h.get_by_label("api").click();
    h.run_steps(3);
    retype(&mut h, "workers", "-3");
    h.run_steps(3);
    let edited = h.state().model_text().unwrap().to_string();
    assert!(edited.contains("workers: -3"), "{edited}");
    // The message shown is the reader's, for the same text.
    let expected = model::parse("model", &edited).expect_err("the reader refuses it");
    let message = &expected.items[0].message;
    // Once in the error panel above the diagram, once beside the field.
    assert_eq!(
        h.query_all_by_label_contains(message).count(),
        2,
        "the reader's message `{message}` is not shown beside the field"
    );
    assert!(!h.state().errors().is_empty());
    // The last good model keeps running, untouched.
    for _ in 0..20 {
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    let snap = h.state().snapshot().unwrap();
    assert_eq!(snap.model_generation, generation);
    let ComponentKind::Service(s) = &snap.model.components[0].kind else {
        panic!("api is a service");
    };
    assert_eq!(s.workers, 2);
    // Fixing the value runs the model with it.
    retype(&mut h, "workers", "3");
    frames_until(&mut h, "the fixed model runs", |a| {
        a.errors().is_empty()
            && a.snapshot()
                .is_some_and(|s| match &s.model.components[0].kind {
                    ComponentKind::Service(s) => s.workers == 3,
                    _ => false,
                })
    });
}

#[test]
fn an_edit_survives_a_killed_app_in_its_recovery_file() {
    let path = temp_model("recovery", SMALL);
    let state = fresh_state_dir();
    let mut h = app_with_state(Source::File(path.clone()), state.clone());
    frames_until(&mut h, "the model runs", |a| a.snapshot().is_some());
    h.run_steps(2);
    h.get_by_label("api").click();
    h.run_steps(3);
    retype(&mut h, "workers", "7");
    assert!(h.state().model_text().unwrap().contains("workers: 7"));
    // Killed: nothing of the app runs after this, no destructor, no exit handler.
    std::mem::forget(h);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        SMALL,
        "the file was written"
    );

    let mut h = app_with_state(Source::File(path.clone()), state);
    frames_until(&mut h, "the model runs again", |a| a.snapshot().is_some());
    h.run_steps(2);
    h.get_by_label("Restore the edits").click();
    h.run_steps(2);
    let restored = h.state().model_text().unwrap().to_string();
    assert_eq!(restored, SMALL.replace("workers: 2", "workers: 7"));
    assert!(h.state().has_unsaved_changes());
    frames_until(&mut h, "the restored model runs", |a| {
        a.snapshot()
            .is_some_and(|s| match &s.model.components[0].kind {
                ComponentKind::Service(s) => s.workers == 7,
                _ => false,
            })
    });
}

#[test]
fn a_sketch_named_on_the_command_line_saves_there_and_save_as_asks_before_replacing() {
    let dir = std::env::temp_dir().join(format!("archsim-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let named = dir.join("shop.yaml");
    let mut h = app_with_state(Source::Sketch(Some(named.clone())), fresh_state_dir());
    frames_until(&mut h, "the sketch runs", |a| a.snapshot().is_some());
    h.run_steps(2);
    h.get_by_label("Cache").click();
    frames_until(&mut h, "the cache runs", |a| has_component(a, "cache"));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run_steps(2);
    let saved = std::fs::read_to_string(&named).expect("Save wrote the named file");
    assert_eq!(Some(saved.as_str()), h.state().model_text());
    assert!(!h.state().has_unsaved_changes());

    // Save as onto someone else's file: nothing is written until "Replace".
    let other = dir.join("other.yaml");
    std::fs::write(&other, SMALL).unwrap();
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::S,
    );
    h.run_steps(2);
    retype(&mut h, "Save as:", &other.display().to_string());
    assert!(
        h.query_by_label("Replace").is_some(),
        "asks before replacing"
    );
    assert_eq!(std::fs::read_to_string(&other).unwrap(), SMALL);
    h.get_by_label("Choose another name").click();
    h.run_steps(2);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), SMALL);
    retype(&mut h, "Save as:", &other.display().to_string());
    h.get_by_label("Replace").click();
    h.run_steps(2);
    assert_eq!(
        Some(std::fs::read_to_string(&other).unwrap().as_str()),
        h.state().model_text()
    );
    assert!(h.state().status().is_some_and(|s| s.contains("other.yaml")));
}

#[test]
fn archsim_new_refuses_a_file_that_exists() {
    let path = temp_model("new-exists", SMALL);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_archsim"))
        .arg("new")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("already exists") && stderr.contains("archsim open"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), SMALL);
}

#[test]
fn save_as_from_the_unsaved_question_goes_on_with_what_waited() {
    let mut h = app_with_state(Source::Sketch(None), fresh_state_dir());
    frames_until(&mut h, "the sketch runs", |a| a.snapshot().is_some());
    h.run_steps(2);
    h.get_by_label("Cache").click();
    frames_until(&mut h, "the cache runs", |a| has_component(a, "cache"));
    let drawn = h.state().model_text().unwrap().to_string();
    // New, with a drawn sketch unsaved: asked first; Save as… then a name.
    h.get_by_label("New").click();
    h.run_steps(2);
    // The question's own button, after the top bar's (which the modal covers).
    h.get_all_by_label("Save as…").last().unwrap().click();
    // A frame to answer, one for the dialog to size itself unseen, one to show it.
    h.run_steps(3);
    let path = temp_model("save-then-new", "").with_file_name("drawn.yaml");
    let _ = std::fs::remove_file(&path);
    retype(&mut h, "Save as:", &path.display().to_string());
    h.run_steps(2);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), drawn);
    // ... and the new sketch it waited for is open.
    assert_eq!(h.state().model_text(), Some(NEW_SKETCH));
    assert!(h.query_by_label("Unsaved changes").is_none());
}

#[test]
fn edits_made_while_a_recovery_is_offered_do_not_overwrite_it() {
    let path = temp_model("recovery-ignored", SMALL);
    let state = fresh_state_dir();
    let mut h = app_with_state(Source::File(path.clone()), state.clone());
    frames_until(&mut h, "the model runs", |a| a.snapshot().is_some());
    h.run_steps(2);
    h.get_by_label("api").click();
    h.run_steps(3);
    retype(&mut h, "workers", "7");
    std::mem::forget(h);

    // The next session ignores the offer and edits something else.
    let mut h = app_with_state(Source::File(path.clone()), state.clone());
    frames_until(&mut h, "the model runs again", |a| a.snapshot().is_some());
    h.run_steps(2);
    assert!(h.query_by_label("Restore the edits").is_some());
    h.get_by_label("api").click();
    h.run_steps(3);
    retype(&mut h, "workers", "9");
    h.run_steps(2);
    // Both sessions' edits are on disk: a crash now would lose neither.
    let on_disk: Vec<String> = std::fs::read_dir(state.join("recovery"))
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .collect();
    assert!(
        on_disk.iter().any(|t| t.contains("workers: 7")),
        "{on_disk:?}"
    );
    assert!(
        on_disk.iter().any(|t| t.contains("workers: 9")),
        "{on_disk:?}"
    );
    // The first session's edit is still there to restore, and restoring it works.
    h.get_by_label("Restore the edits").click();
    h.run_steps(2);
    assert_eq!(
        h.state().model_text(),
        Some(SMALL.replace("workers: 2", "workers: 7").as_str())
    );
}

#[test]
fn export_writes_the_live_diagram_as_svg_and_png_and_asks_before_replacing() {
    let path = temp_model("export", SMALL);
    let dir = path.parent().expect("a folder").to_path_buf();
    let mut h = app(Source::File(path.clone()));
    frames_until(&mut h, "the run is shown", |a| a.snapshot().is_some());
    let svg = dir.join("export-picture.svg");
    h.get_by_label("Export…").click();
    h.run_steps(3);
    retype(&mut h, "Export to:", &svg.display().to_string());
    let text = std::fs::read_to_string(&svg).expect("Export wrote the SVG");
    assert!(
        text.starts_with("<svg") && text.contains("</svg>"),
        "{text}"
    );
    assert!(
        h.state().status().is_some_and(
            |s| s.contains("Exported the diagram at") && s.contains("export-picture.svg")
        ),
        "{:?}",
        h.state().status()
    );

    let png = dir.join("export-picture.png");
    h.get_by_label("Export…").click();
    h.run_steps(3);
    retype(&mut h, "Export to:", &png.display().to_string());
    let bytes = std::fs::read(&png).expect("Export wrote the PNG");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");

    // Over an existing picture: nothing is written until "Replace".
    std::fs::write(&svg, "mine").unwrap();
    h.get_by_label("Export…").click();
    h.run_steps(3);
    retype(&mut h, "Export to:", &svg.display().to_string());
    assert!(
        h.query_by_label("Replace").is_some(),
        "asks before replacing"
    );
    assert_eq!(std::fs::read_to_string(&svg).unwrap(), "mine");
    h.get_by_label("Replace").click();
    h.run_steps(2);
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));

    // A name that is neither: said, nothing written.
    let gif = dir.join("export-picture.gif");
    h.get_by_label("Export…").click();
    h.run_steps(3);
    retype(&mut h, "Export to:", &gif.display().to_string());
    assert!(!gif.exists());
    assert!(
        h.state()
            .status()
            .is_some_and(|s| s.contains("name a .svg or .png")),
        "{:?}",
        h.state().status()
    );
}
