//! `archsim open` (and `archsim` alone): the desktop app, when this build has it.

use std::path::PathBuf;
use std::process::ExitCode;

use super::duration_arg;
use crate::sim::SimTime;

/// The flags of `archsim open`.
#[derive(Default, clap::Args)]
pub(super) struct OpenFlags {
    /// Run to `--at`, save a screenshot of the window to this PNG file, and exit.
    #[arg(long, value_name = "FILE")]
    pub screenshot: Option<PathBuf>,
    /// The simulated instant of the screenshot, e.g. 30s [default: 30s].
    #[arg(long, value_parser = duration_arg, requires = "screenshot")]
    pub at: Option<SimTime>,
    /// Start paused instead of playing.
    #[arg(long)]
    pub paused: bool,
    /// Run SECONDS of wall time, print the frame rate and CPU time per frame, and exit.
    #[arg(long, value_name = "SECONDS")]
    pub frame_stats: Option<f64>,
    /// Open the Requests window (traces of single requests, the failed ones first).
    #[arg(long)]
    pub requests: bool,
    /// Record the window as an animated GIF from `--from` to `--to`, then exit.
    #[arg(long, value_name = "FILE.gif", conflicts_with = "screenshot")]
    pub record: Option<PathBuf>,
    /// The simulated instant the recording starts [default: 0s].
    #[arg(long, value_parser = duration_arg, requires = "record")]
    pub from: Option<SimTime>,
    /// The simulated instant the recording ends [default: 30 s after `--from`].
    #[arg(long, value_parser = duration_arg, requires = "record")]
    pub to: Option<SimTime>,
    /// Frames per simulated second (and per second of the GIF) [default: 10].
    #[arg(long, requires = "record", value_parser = clap::value_parser!(u32).range(1..=50))]
    pub fps: Option<u32>,
}

#[cfg(feature = "gui")]
pub(super) fn open(model: Option<PathBuf>, flags: OpenFlags) -> ExitCode {
    let OpenFlags {
        screenshot,
        at,
        paused,
        frame_stats,
        requests,
        record,
        from,
        to,
        fps,
    } = flags;
    let record = match record {
        None => None,
        Some(path) => {
            if !path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("gif"))
            {
                super::print_stderr(&format!(
                    "error: --record {}: name a .gif file\n",
                    path.display()
                ));
                return ExitCode::from(1);
            }
            let from = from.unwrap_or(SimTime::ZERO);
            let to = to.unwrap_or(from + SimTime::from_secs(30));
            if to <= from {
                super::print_stderr(&format!(
                    "error: --to {to} is not after --from {from}; nothing was recorded\n"
                ));
                return ExitCode::from(1);
            }
            Some(crate::app::record::RecordPlan {
                path,
                from,
                to,
                fps: fps.unwrap_or(10),
            })
        }
    };
    let source = match model {
        Some(path) => {
            if !path.exists() {
                super::print_stderr(&format!(
                    "error: {}: no such file; `archsim new {}` starts a model there\n",
                    path.display(),
                    path.display()
                ));
                return ExitCode::from(1);
            }
            crate::app::Source::File(path)
        }
        None => crate::app::Source::Embedded,
    };
    launch(crate::app::Options {
        source,
        screenshot: screenshot.map(|path| crate::app::ScreenshotPlan {
            path,
            at: at.unwrap_or(SimTime::from_secs(30)),
        }),
        play: !paused,
        frame_stats,
        state_dir: None,
        lesson: None,
        requests,
        record,
    })
}

/// `archsim new [FILE]`: a sketch that Save writes to FILE. An existing FILE is refused
/// rather than replaced: the user may have meant `open`.
#[cfg(feature = "gui")]
pub(super) fn new_sketch(file: Option<PathBuf>) -> ExitCode {
    if let Some(path) = &file
        && path.exists()
    {
        super::print_stderr(&format!(
            "error: {}: already exists; open it with `archsim open {}`, or name a new file\n",
            path.display(),
            path.display()
        ));
        return ExitCode::from(1);
    }
    launch(crate::app::Options {
        source: crate::app::Source::Sketch(file),
        screenshot: None,
        play: true,
        frame_stats: None,
        state_dir: None,
        lesson: None,
        requests: false,
        record: None,
    })
}

/// `archsim lesson FILE`: the app on a lesson, where the learner left it.
#[cfg(feature = "gui")]
pub(super) fn open_lesson(lesson: crate::lesson::Lesson, screenshot: Option<PathBuf>) -> ExitCode {
    launch(crate::app::Options {
        source: crate::app::Source::Embedded,
        screenshot: screenshot.map(|path| crate::app::ScreenshotPlan {
            path,
            at: SimTime::ZERO,
        }),
        play: false,
        frame_stats: None,
        state_dir: None,
        lesson: Some(lesson),
        requests: false,
        record: None,
    })
}

#[cfg(feature = "gui")]
fn launch(options: crate::app::Options) -> ExitCode {
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
pub(super) fn open(_model: Option<PathBuf>, _flags: OpenFlags) -> ExitCode {
    no_window()
}

#[cfg(not(feature = "gui"))]
pub(super) fn open_lesson(
    _lesson: crate::lesson::Lesson,
    _screenshot: Option<PathBuf>,
) -> ExitCode {
    no_window()
}

#[cfg(not(feature = "gui"))]
pub(super) fn new_sketch(_file: Option<PathBuf>) -> ExitCode {
    no_window()
}

#[cfg(not(feature = "gui"))]
fn no_window() -> ExitCode {
    super::print_stderr(
        "error: this archsim was built without the app (the `gui` feature); build it with the \
         default features (`cargo build --release`) to open a window, or use `archsim run`\n",
    );
    ExitCode::from(1)
}
