//! The app in a real window: under Xvfb (a virtual X display with software OpenGL), open a
//! bundled model, run it to an instant, save a screenshot of the window and check that the
//! picture is the app. `scripts/test` (and CI) install Xvfb first; without it this fails
//! and says what to install.

use std::path::Path;
use std::process::Command;

fn xvfb_run() -> &'static str {
    let found = Command::new("sh")
        .args(["-c", "command -v xvfb-run"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "xvfb-run is missing: run `scripts/test` (it installs xvfb, xauth, libxcursor1, libxi6 and libxkbcommon-x11-0), or install them by hand"
    );
    "xvfb-run"
}

fn screenshot(model: &str, at: &str, out: &Path) {
    let runtime = std::env::temp_dir().join(format!("archsim-xdg-{}", std::process::id()));
    std::fs::create_dir_all(&runtime).unwrap();
    let output = Command::new(xvfb_run())
        .args(["-a", "-s", "-screen 0 1280x800x24"])
        .arg(env!("CARGO_BIN_EXE_archsim"))
        .args(["open", model, "--screenshot"])
        .arg(out)
        .args(["--at", at])
        .env("XDG_RUNTIME_DIR", &runtime)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the app failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_app_opens_a_real_window_and_saves_a_screenshot() {
    let out = std::env::temp_dir().join(format!("archsim-window-{}.png", std::process::id()));
    screenshot("models/default.yaml", "150s", &out);
    let image = image::open(&out).unwrap().to_rgba8();
    assert_eq!(image.dimensions(), (1280, 800), "the window's size");

    // Not blank: a drawn diagram, panels and plots have many colours.
    let mut colours = std::collections::BTreeSet::new();
    for p in image.pixels() {
        colours.insert(p.0);
    }
    assert!(
        colours.len() > 200,
        "only {} colours: blank?",
        colours.len()
    );

    // The app's own marks: the green border of healthy nodes and the dark diagram canvas.
    let near =
        |p: &image::Rgba<u8>, c: [u8; 3]| p.0.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= 12);
    let green = image.pixels().filter(|p| near(p, [70, 180, 110])).count();
    assert!(green > 500, "only {green} pixels of the healthy-node green");
    let _ = std::fs::remove_file(&out);
}
