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

#[test]
fn the_app_records_its_window_as_a_gif_whose_frames_move() {
    use image::AnimationDecoder as _;
    let out = std::env::temp_dir().join(format!("archsim-record-{}.gif", std::process::id()));
    let runtime = std::env::temp_dir().join(format!("archsim-xdg-rec-{}", std::process::id()));
    std::fs::create_dir_all(&runtime).unwrap();
    let output = Command::new(xvfb_run())
        .args(["-a", "-s", "-screen 0 1280x800x24"])
        .arg(env!("CARGO_BIN_EXE_archsim"))
        .args(["open", "models/default.yaml", "--record"])
        .arg(&out)
        .args(["--from", "20s", "--to", "22s", "--fps", "5"])
        .env("XDG_RUNTIME_DIR", &runtime)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the app failed: {stderr}");
    assert!(
        stderr.contains("11 frames, 20s to 22s at 5 a second"),
        "{stderr}"
    );
    let file = std::io::BufReader::new(std::fs::File::open(&out).unwrap());
    let frames = image::codecs::gif::GifDecoder::new(file)
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    // One frame per fifth of a simulated second, both ends included, each shown 200 ms.
    assert_eq!(frames.len(), 11);
    assert_eq!(frames[0].buffer().dimensions(), (1280, 800));
    assert_eq!(frames[0].delay().numer_denom_ms(), (200, 1));
    // The run moves: the clock, the dots and the plots change from frame to frame.
    let moved = frames
        .windows(2)
        .filter(|w| w[0].buffer() != w[1].buffer())
        .count();
    assert_eq!(moved, 10, "only {moved} frames differ from the one before");
    let _ = std::fs::remove_file(&out);

    // Names that cannot be a recording are refused before a window opens.
    let refused = Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args(["open", "models/default.yaml", "--record", "x.png"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("name a .gif file"));
    let backwards = Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args(["open", "models/default.yaml", "--record", "x.gif"])
        .args(["--from", "30s", "--to", "10s"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(backwards.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&backwards.stderr).contains("--to 10s is not after --from 30s")
    );
}
