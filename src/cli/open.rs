//! `archsim open` (and `archsim` alone): the desktop app, when this build has it.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::sim::SimTime;

#[cfg(feature = "gui")]
pub(super) fn open(
    model: Option<PathBuf>,
    screenshot: Option<PathBuf>,
    at: Option<SimTime>,
    paused: bool,
    frame_stats: Option<f64>,
) -> ExitCode {
    let source = match model {
        Some(path) => {
            if !path.exists() {
                super::print_stderr(&format!("error: {}: no such file\n", path.display()));
                return ExitCode::from(1);
            }
            crate::app::Source::File(path)
        }
        None => crate::app::Source::Embedded,
    };
    let options = crate::app::Options {
        source,
        screenshot: screenshot.map(|path| crate::app::ScreenshotPlan {
            path,
            at: at.unwrap_or(SimTime::from_secs(30)),
        }),
        play: !paused,
        frame_stats,
        state_dir: None,
    };
    match crate::app::run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            super::print_stderr(&format!("error: {e}\n"));
            ExitCode::from(1)
        }
    }
}

/// A build without the `gui` feature has no window to open: say so and how to get one.
#[cfg(not(feature = "gui"))]
pub(super) fn open(
    _model: Option<PathBuf>,
    _screenshot: Option<PathBuf>,
    _at: Option<SimTime>,
    _paused: bool,
    _frame_stats: Option<f64>,
) -> ExitCode {
    super::print_stderr(
        "error: this archsim was built without the app (the `gui` feature); build it with the \
         default features (`cargo build --release`) to open a window, or use `archsim run`\n",
    );
    ExitCode::from(1)
}
